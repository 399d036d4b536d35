package main

import (
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	env := map[string]string{"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "t0k3n"}
	serveEnv := map[string]string{"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "t0k3n", "OKTASYNC_HOOK_SECRETS": "0123456789abcdef0123"}
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"valid", "okta: {page_size: 100}\n", env, nil, exitOK, "configuration is valid"},
		{"unknown key", "okta: {page_sise: 100}\n", env, nil, exitConfig, "page_sise"},
		{"secret in the file", "neo4j: {password: hunter2}\n", env, nil, exitConfig, "NEO4J_PASSWORD"},
		{"serve section checked only with --serve", "serve: {hook_path: nope}\n", env, nil, exitOK, "valid"},
		{"as serve", "serve: {hook_path: nope}\n", serveEnv, []string{"--serve"}, exitConfig, "serve.hook_path"},
		{"as serve needs the hook secrets", "{}\n", env, []string{"--serve"}, exitConfig, "OKTASYNC_HOOK_SECRETS"},
		{"a serve flag with --serve", "{}\n", serveEnv, []string{"--serve", "--listen", ":9090"}, exitOK, "valid"},
		{"a serve flag before --serve", "{}\n", serveEnv, []string{"--listen", ":9090", "--serve"}, exitOK, "valid"},
		{"--serve=true", "serve: {hook_path: nope}\n", serveEnv, []string{"--serve=true"}, exitConfig, "serve.hook_path"},
		{"--serve=false", "serve: {hook_path: nope}\n", env, []string{"--serve=false"}, exitOK, "valid"},
		{"--serve as another flag's value", "serve: {hook_path: nope}\n", env, []string{"--published-tag", "--serve"}, exitOK, "valid"},
		{"a serve flag without --serve", "{}\n", serveEnv, []string{"--listen", ":9090"}, exitConfig, "listen"},
		{"a bad private key", "{}\n", map[string]string{"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_CLIENT_ID": "0oa1", "OKTA_PRIVATE_KEY": "not a key"}, nil, exitConfig, "private"},
		// What the credential must be allowed.
		{"the scopes a sync needs", "{}\n", env, nil, exitOK, "scopes okta.users.read cover (a Read-only Administrator"},
		{"teams from groups and an app scope need more", "mapping: {team: {groups: {patterns: ['^team-(.+)$']}}}\nokta: {scope: {app: 0oa1amundsen}}\n", env, nil, exitOK,
			"scopes okta.users.read, okta.groups.read, okta.apps.read"},
		{"a bad team pattern", "mapping: {team: {groups: {patterns: ['(']}}}\n", env, nil, exitConfig, "mapping.team.groups.patterns[0]"},
		{"a bad scope", "okta: {scope: {app: amundsen}}\n", env, nil, exitConfig, "okta.scope.app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check-config", "--config", writeConfig(t, tc.yaml)}, tc.args...)
			code, out, errOut := runCmd(t, tc.env, args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, output %q; want exit %d naming %q", code, out+errOut, tc.code, tc.want)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Error("the secret was printed")
			}
		})
	}
}
