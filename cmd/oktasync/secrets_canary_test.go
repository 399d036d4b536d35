package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// Canary secrets: distinctive values that must never appear in any output.
const (
	canaryToken       = "canary-okta-api-token-7f3a9c21"
	canaryNeo4jPass   = "canary-neo4j-password-5d1e88"
	canaryHookSecret1 = "canary-hook-secret-one-0a9b8c"
	canaryHookSecret2 = "canary-hook-secret-two-4e5f6a"
)

// captured collects every output of the canary runs, by name.
type captured struct {
	mu  sync.Mutex
	out map[string]string
}

func (c *captured) add(name, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out[name] += s
}

// TestSecretCanaries runs oktasync end to end — sync with an API token and
// with an OAuth service app, text and JSON summaries, debug logging, a
// Pushgateway, errors from Okta and Neo4j, a bad configuration, serve with
// event hooks, /metrics and /readyz, and a goroutine dump (SIGQUIT, what a
// panic prints) — with canary secrets, and greps every captured output for
// them and for pieces of the private key.
//
// The shared Neo4j runs without authentication (the password still goes
// through the driver configuration of those runs); a private server with
// native auth on, whose password is the canary, takes syncs with the right
// and a wrong password and a lookup.
func TestSecretCanaries(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	authSrv := neo4jtest.StartServer(t, neo4jtest.ServerOptions{Auth: "neo4j/" + canaryNeo4jPass})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	keyFile := filepath.Join(t.TempDir(), "service-app.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 40, Seed: 77, Token: canaryToken,
		Clients: map[string]*rsa.PublicKey{"0oaCanary": &key.PublicKey}})

	out := &captured{out: map[string]string{}}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		out.add("pushgateway body", r.URL.String()+"\n"+string(b))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gw.Close()

	base := map[string]string{
		"OKTA_ORG_URL": url, "NEO4J_URI": neo4jtest.URI(t), "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": canaryNeo4jPass,
		"OKTASYNC_HOOK_SECRETS": canaryHookSecret1 + "," + canaryHookSecret2, "OKTASYNC_PUSHGATEWAY_URL": gw.URL,
	}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(env, kv[i])
			} else {
				env[kv[i]] = kv[i+1]
			}
		}
		return env
	}
	token := with("OKTA_API_TOKEN", canaryToken)
	oauth := with("OKTA_CLIENT_ID", "0oaCanary", "OKTA_PRIVATE_KEY_FILE", keyFile, "OKTA_KEY_ID", "kid-canary")
	inlineKey := with("OKTA_CLIENT_ID", "0oaCanary", "OKTA_PRIVATE_KEY", string(keyPEM))
	cfg := writeConfig(t, fastRetries)

	runs := []struct {
		name string
		env  map[string]string
		code int
		args []string
	}{
		{"sync token json summary", token, exitOK, []string{"sync", "--log-level", "debug", "--summary", "json"}},
		{"sync token text summary", token, exitOK, []string{"sync", "--log-level", "debug", "--log-format", "console", "--summary", "text"}},
		{"sync oauth key file", oauth, exitOK, []string{"sync", "--log-level", "debug", "--summary", "json"}},
		{"sync oauth inline key dry run", inlineKey, exitOK, []string{"sync", "--log-level", "debug", "--dry-run"}},
		{"sync wrong token", with("OKTA_API_TOKEN", canaryToken+"-wrong"), exitFailed, []string{"sync", "--log-level", "debug", "--summary", "json"}},
		{"sync unknown oauth client", with("OKTA_CLIENT_ID", "0oaUnknown", "OKTA_PRIVATE_KEY_FILE", keyFile), exitFailed, []string{"sync", "--log-level", "debug", "--summary", "text"}},
		{"sync neo4j unreachable", with("OKTA_API_TOKEN", canaryToken, "NEO4J_URI", "bolt://127.0.0.1:1"), exitFailed, []string{"sync", "--log-level", "debug", "--summary", "json"}},
		{"sync bad configuration", token, exitConfig, []string{"sync", "--log-level", "debug", "--okta-page-size", "900", "--batch-size", "x"}},
		{"sync both credentials", with("OKTA_API_TOKEN", canaryToken, "OKTA_PRIVATE_KEY", string(keyPEM), "OKTA_CLIENT_ID", "0oaCanary"), exitConfig, []string{"sync"}},
		{"sync help", token, exitOK, []string{"sync", "-h"}},
	}
	for _, r := range runs {
		code, stdout, stderr := runBinary(t, r.env, r.args...)
		out.add(r.name+" stdout", stdout)
		out.add(r.name+" stderr", stderr)
		if code != r.code {
			t.Errorf("%s: exit %d, want %d\n%s", r.name, code, r.code, stderr)
		}
	}
	// Against the server that checks the password: the right one syncs and
	// looks up, a wrong one is refused (and neither is printed).
	authed := with("OKTA_API_TOKEN", canaryToken, "NEO4J_URI", authSrv.URI)
	wrongPass := with("OKTA_API_TOKEN", canaryToken, "NEO4J_URI", authSrv.URI, "NEO4J_PASSWORD", canaryNeo4jPass+"-wrong")
	noPass := with("OKTA_API_TOKEN", canaryToken, "NEO4J_URI", authSrv.URI, "NEO4J_USERNAME", "", "NEO4J_PASSWORD", "")
	authRuns := []struct {
		name string
		env  map[string]string
		code int
		args []string
		want string
	}{
		{"auth sync", authed, exitOK, []string{"sync", "--log-level", "debug", "--summary", "json"}, ""},
		{"auth sync text", authed, exitOK, []string{"sync", "--log-level", "debug", "--log-format", "console", "--summary", "text"}, ""},
		{"auth lookup", authed, exitOK, []string{"lookup", strings.ToLower(fmt.Sprint(activeSimUser(sim, 0).Profile["email"]))}, ""},
		// One wrong attempt per run: Neo4j locks out a client after a few in a row.
		{"auth wrong password", wrongPass, exitFailed, []string{"sync", "--log-level", "debug", "--summary", "json"}, "authentication failed: "},
		{"auth wrong password lookup", wrongPass, exitFailed, []string{"lookup", "x@example.com"}, "unauthorized"},
		{"auth no password", noPass, exitFailed, []string{"sync", "--log-level", "debug", "--summary", "text"}, "authentication failed"},
	}
	for _, r := range authRuns {
		code, stdout, stderr := runBinary(t, r.env, r.args...)
		out.add(r.name+" stdout", stdout)
		out.add(r.name+" stderr", stderr)
		if code != r.code {
			t.Errorf("%s: exit %d, want %d\n%s", r.name, code, r.code, stderr)
		}
		if r.want != "" && !strings.Contains(stderr, r.want) {
			t.Errorf("%s: stderr does not say %q:\n%s", r.name, r.want, stderr)
		}
		if r.want == "authentication failed: " && !strings.Contains(stderr, "Check NEO4J_USERNAME and NEO4J_PASSWORD; nothing was read or written.") {
			t.Errorf("%s: stderr does not name the credentials:\n%s", r.name, stderr)
		}
	}
	ad := authSrv.Driver(t, neo4jdriver.BasicAuth("neo4j", canaryNeo4jPass, ""))
	if n := neo4jtest.Exec(t, ad, `MATCH (u:User) RETURN count(u) AS n`, nil)[0].AsMap()["n"].(int64); n == 0 {
		t.Error("the sync with the right password wrote nothing to the server with auth")
	}

	// A forced failure in the middle of a read: Okta starts failing after
	// one page (debug logs of every retry).
	sim.SetFaults(oktasim.Faults{FailAfter: 1})
	code, stdout, stderr := runBinary(t, token, "sync", "--config", cfg, "--log-level", "debug", "--summary", "json")
	sim.SetFaults(oktasim.Faults{})
	out.add("sync forced failure stdout", stdout)
	out.add("sync forced failure stderr", stderr)
	if code != exitFailed {
		t.Errorf("forced failure: exit %d\n%s", code, stderr)
	}

	// serve: hooks (good, wrong secret, missing secret), /metrics, /readyz,
	// then a goroutine dump, which prints what a panic prints.
	addr := freePort(t)
	serveCfg := writeConfig(t, fmt.Sprintf("serve:\n  listen: %q\n  schedule: {incremental: \"off\", full: \"off\", at_start: none}\n  hook_worker: {coalesce: 50ms}\n", addr))
	p := startBinary(t, with("OKTA_API_TOKEN", canaryToken), "serve", "--config", serveCfg, "--log-level", "debug")
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) string {
		for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(50 * time.Millisecond) {
			resp, err := client.Get("http://" + addr + path)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		t.Fatalf("serve did not answer %s\n%s", path, p.stderr.String())
		return ""
	}
	out.add("serve /healthz", get("/healthz"))
	u := activeSimUser(sim, 0)
	_ = sim.UpdateProfile(u.Id, map[string]any{"title": "Canary"})
	for _, secret := range []string{canaryHookSecret2, canaryHookSecret1 + "x", ""} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/okta/events",
			strings.NewReader(hookBody(hookEv{"canary-" + secret, "user.account.update_profile", u.Id})))
		if secret != "" {
			req.Header.Set("Authorization", secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.add("serve hook answers", fmt.Sprintf("%d %s %v\n", resp.StatusCode, b, resp.Header))
	}
	for start := time.Now(); userProp(t, u.Id, "role_name") != "Canary"; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("hook delivery did not reach the graph\n%s", p.stderr.String())
		}
	}
	out.add("serve /readyz", get("/readyz"))
	out.add("serve /metrics", get("/metrics"))
	if err := p.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	dump := p.stderr.String()
	out.add("serve stdout", p.stdout.String())
	out.add("serve stderr and goroutine dump", dump)
	if !strings.Contains(dump, "goroutine ") {
		t.Errorf("SIGQUIT printed no goroutine dump:\n%s", tail(dump, 2000))
	}

	// What must never appear: each secret, and pieces of the key.
	canaries := map[string]string{
		"API token": canaryToken, "Neo4j password": canaryNeo4jPass,
		"hook secret 1": canaryHookSecret1, "hook secret 2": canaryHookSecret2,
		"PEM header":           "PRIVATE KEY-----",
		"JWT client assertion": "client_assertion=ey",
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	for i := 0; i+24 <= len(b64); i += 97 {
		canaries[fmt.Sprintf("key base64 at %d", i)] = b64[i : i+24]
	}
	canaries["key private exponent (decimal prefix)"] = key.D.String()[:24]
	canaries["key private exponent (hex prefix)"] = fmt.Sprintf("%x", key.D)[:24]

	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.out["pushgateway body"]) == 0 || !strings.Contains(out.out["serve /metrics"], "oktasync_") {
		t.Errorf("the Pushgateway or /metrics captured nothing: the check would be empty")
	}
	total := 0
	for where, text := range out.out {
		total += len(text)
		for what, canary := range canaries {
			if strings.Contains(text, canary) {
				t.Errorf("%s found in %s", what, where)
			}
		}
	}
	t.Logf("checked %d canaries in %d outputs (%d KiB)", len(canaries), len(out.out), total>>10)
}
