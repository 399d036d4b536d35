package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestHooksRegisterWithServe registers the event hook of a real `oktasync
// serve` process in the simulated org, twice: Okta ends up holding exactly
// one hook, with the same id, that serve verified (the simulator marks it
// VERIFIED only if serve echoed its challenge), and `hooks status` agrees.
func TestHooksRegisterWithServe(t *testing.T) {
	const token, secret = "hooks-admin-token-0123", "serve-hook-secret-0123456789"
	sim, orgURL := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 11, Token: token})
	t.Cleanup(sim.CloseEventHooks)
	addr := freePort(t)
	env := map[string]string{
		"OKTA_ORG_URL": orgURL, "OKTA_API_TOKEN": token, "OKTASYNC_HOOK_SECRETS": secret,
		// serve needs no Neo4j until a delivery names a user; none does here.
		"NEO4J_URI": "bolt://127.0.0.1:1",
	}
	cfg := writeConfig(t, fmt.Sprintf(`serve:
  listen: %q
  hook_auth_header: X-Oktasync-Secret
  schedule: {incremental: "off", full: "off", at_start: none}
log: {level: warn}
`, addr))
	serve := startBinary(t, env, "serve", "--config", cfg)
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("serve did not come up\n%s", serve.stderr.String())
		}
	}

	hookURL := "http://" + addr + "/okta/events"
	code, out, errOut := runCmd(t, env, "hooks", "register", "--config", cfg, "--url", hookURL)
	if code != exitOK || !strings.Contains(out, "created; serve answered Okta's verification") {
		t.Fatalf("first register: exit %d\n%s%s", code, out, errOut)
	}
	first := sim.EventHooks()
	if len(first) != 1 || first[0].VerificationStatus != oktasim.EventHookVerified || first[0].Status != oktasim.EventHookActive ||
		first[0].URI != hookURL || first[0].AuthHeader != "X-Oktasync-Secret" {
		t.Fatalf("after the first register Okta holds %+v", first)
	}
	code, out, errOut = runCmd(t, env, "hooks", "register", "--config", cfg, "--url", hookURL)
	if code != exitOK || !strings.Contains(out, first[0].ID+" updated (same id)") || strings.Contains(out, "serve answered") {
		t.Fatalf("second register: exit %d\n%s%s", code, out, errOut)
	}
	second := sim.EventHooks()
	if len(second) != 1 || second[0].ID != first[0].ID || second[0].VerificationStatus != oktasim.EventHookVerified {
		t.Fatalf("after the second register Okta holds %+v, want the one hook %s, verified", second, first[0].ID)
	}
	for _, s := range []string{out, errOut, serve.stderr.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, token) {
			t.Error("a secret reached the output")
		}
	}

	code, out, _ = runCmd(t, env, "hooks", "status", "--url", hookURL)
	if code != exitOK || !strings.Contains(out, first[0].ID) || !strings.Contains(out, "VERIFIED") || strings.Contains(out, "missing") {
		t.Errorf("hooks status: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, env, "hooks", "status", "--url", "https://elsewhere.example.com/okta/events")
	if code != exitFailed || !strings.Contains(out, "no event hook delivering to https://elsewhere.example.com/okta/events") {
		t.Errorf("hooks status for another URL: exit %d\n%s", code, out)
	}
}

func TestHooksUsage(t *testing.T) {
	env := map[string]string{"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "t"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no subcommand", []string{"hooks"}, env, "Usage:"},
		{"unknown subcommand", []string{"hooks", "delete"}, env, "Usage:"},
		{"register without a secret", []string{"hooks", "register", "--url", "https://h/okta/events"}, env, "OKTASYNC_HOOK_SECRETS"},
		{"register without --url", []string{"hooks", "register"}, map[string]string{"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "t",
			"OKTASYNC_HOOK_SECRETS": "0123456789abcdef0123"}, "--url is required"},
		{"register to plain http", []string{"hooks", "register", "--url", "http://oktasync.acme.com/okta/events"}, map[string]string{"OKTA_ORG_URL": "https://acme.okta.com",
			"OKTA_API_TOKEN": "t", "OKTASYNC_HOOK_SECRETS": "0123456789abcdef0123"}, "https://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.env, tc.args...)
			if code == exitOK || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, output %q, want a failure naming %q", code, out+errOut, tc.want)
			}
		})
	}
}
