package main

import (
	"strings"
	"testing"
)

// TestConfigErrorsNeverEchoSecrets: a configuration error never echoes a
// value that could be a secret: key material put in the variable meant
// for its path, a URL's query or fragment, a token with a line break.
func TestConfigErrorsNeverEchoSecrets(t *testing.T) {
	const canary = "canary-secret-9c1d7e"
	pemKey := "-----BEGIN PRIVATE KEY-----\nMIIEv" + canary + "\n-----END PRIVATE KEY-----\n"
	cases := []struct {
		name string
		env  []string
		code int
		want string
	}{
		{"key in OKTA_PRIVATE_KEY_FILE", []string{"OKTA_API_TOKEN", "", "OKTA_CLIENT_ID", "0oa1", "OKTA_PRIVATE_KEY_FILE", pemKey},
			exitConfig, "OKTA_PRIVATE_KEY_FILE: holds key material, not a file path; put the key in OKTA_PRIVATE_KEY"},
		{"org URL query", []string{"OKTA_ORG_URL", "https://acme.okta.com/?token=" + canary},
			exitConfig, `okta.org_url: "https://acme.okta.com/" with a query or fragment (not shown)`},
		{"org URL fragment", []string{"OKTA_ORG_URL", "https://acme.okta.com#" + canary},
			exitConfig, `okta.org_url: "https://acme.okta.com" with a query or fragment (not shown)`},
		{"token with a line break", []string{"OKTA_API_TOKEN", "00abc\n" + canary},
			exitConfig, "okta.token: OKTA_API_TOKEN holds a space, line break or control character"},
		{"neo4j URI query", []string{"NEO4J_URI", "bolt://127.0.0.1:1?password=" + canary},
			exitConfig, "neo4j.uri bolt://127.0.0.1:1: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, withEnv(c.env...), "sync")
			if code != c.code {
				t.Errorf("exit %d, want %d: %s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			if strings.Contains(stdout+stderr, canary) || strings.Contains(stdout+stderr, "BEGIN PRIVATE KEY") {
				t.Errorf("a secret was printed:\n%s%s", stdout, stderr)
			}
		})
	}
}
