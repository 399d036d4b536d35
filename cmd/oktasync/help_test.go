package main

import (
	"strings"
	"testing"
)

// TestHelpOfEveryCommand: --help (and -h) of every command exits 0 and
// names the command it documents.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the usage's first line starts with it
	}{
		{[]string{"--help"}, "oktasync keeps"},
		{[]string{"sync", "--help"}, "Usage: oktasync sync [flags]"},
		{[]string{"serve", "--help"}, "Usage: oktasync serve [flags]"},
		{[]string{"check-config", "--help"}, "Usage: oktasync check-config [--serve] [flags]"},
		{[]string{"check-config", "--serve", "-h"}, "Usage: oktasync check-config [--serve] [flags]"},
		{[]string{"lookup", "--help"}, "Usage: oktasync lookup"},
		{[]string{"hooks", "--help"}, "Usage:"},
		{[]string{"hooks", "-h"}, "Usage:"},
		{[]string{"hooks", "register", "--help"}, "Usage: oktasync hooks register [flags]"},
		{[]string{"hooks", "status", "-h"}, "Usage: oktasync hooks status [flags]"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, nil, tc.args...)
			if code != exitOK {
				t.Errorf("exit %d, want 0\n%s%s", code, stdout, stderr)
			}
			if out := stdout + stderr; !strings.HasPrefix(out, tc.want) {
				t.Errorf("the help does not start with %q:\n%s", tc.want, out)
			}
		})
	}
	// Without a subcommand, hooks is a usage error.
	if code, _, _ := runCmd(t, nil, "hooks"); code != exitConfig {
		t.Errorf("oktasync hooks: exit %d, want %d", code, exitConfig)
	}
}

// TestSyncHelpNamesTheEnvironment: sync's help lists every variable it
// reads, credentials included, and the safety caps' range as the README
// gives it.
func TestSyncHelpNamesTheEnvironment(t *testing.T) {
	_, stdout, stderr := runCmd(t, nil, "sync", "--help")
	help := stdout + stderr
	for _, env := range []string{envOrgURL, envToken, envClientID, envPrivateKey, envPrivateKeyFile, envKeyID,
		envNeo4jURI, envNeo4jUser, envNeo4jPassword, envNeo4jDatabase, envHookSecrets, envPushgateway,
		envSearchURL, envSearchUser, envSearchPassword} {
		if !strings.Contains(help, "\n  "+env+" ") {
			t.Errorf("sync --help does not list %s", env)
		}
	}
	for _, flag := range []string{"max-deactivate", "max-stub-merges"} {
		_, text, _ := strings.Cut(help, "-"+flag+" string\n")
		if line, _, _ := strings.Cut(text, "\n"); !strings.Contains(line, "[0, 1]") {
			t.Errorf("--%s's help %q does not give its range [0, 1]", flag, line)
		}
	}
}
