package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func runCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, envOf(env), &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadConfigurationListsEveryProblem(t *testing.T) {
	code, _, stderr := runCmd(t, map[string]string{
		"OKTA_ORG_URL": "http://acme.okta.com",
		"NEO4J_URI":    "ftp://graph",
	}, "sync", "--okta-page-size", "500", "--batch-size", "lots", "--log-level", "loud")
	if code != exitConfig {
		t.Fatalf("exit %d, want %d (bad configuration)\n%s", code, exitConfig, stderr)
	}
	for _, want := range []string{"okta.org_url", "http:// is only allowed for loopback", "no credentials", "okta.page_size", "--batch-size", "neo4j.uri", "log.level"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message does not mention %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "invalid configuration"); n != 1 {
		t.Errorf("want one message, got %d:\n%s", n, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"sync", "extra"}, {"sync", "--no-such-flag"}} {
		if code, _, _ := runCmd(t, nil, args...); code != exitConfig {
			t.Errorf("%v: exit %d, want %d", args, code, exitConfig)
		}
	}
	if code, out, _ := runCmd(t, nil, "version"); code != exitOK || !strings.Contains(out, "oktasync") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("okta:\n  org_url: https://file.okta.com\n  page_size: 50\nneo4j:\n  uri: bolt://file:7687\n  database: filedb\nsync:\n  batch_size: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newSyncFlags(&bytes.Buffer{})
	if err := f.fs.Parse([]string{"--config", file, "--okta-org-url", "https://flag.okta.com", "--batch-size", "7"}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f, envOf(map[string]string{
		"OKTA_ORG_URL": "https://env.okta.com", "OKTA_API_TOKEN": "tok",
		"NEO4J_URI": "bolt://env:7687", "NEO4J_PASSWORD": "pw", "NEO4J_USERNAME": "neo",
	}), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"flag beats env and file": {c.Okta.OrgURL, "https://flag.okta.com"},
		"env beats file":          {c.Neo4j.URI, "bolt://env:7687"},
		"file beats default":      {c.Neo4j.Database, "filedb"},
		"file page size":          {c.Okta.PageSize, 50},
		"flag batch size":         {c.Sync.BatchSize, 7},
		"default":                 {c.Neo4j.ConnectTimeout, 10 * time.Second},
		"token from env":          {c.Okta.Token, "tok"},
		"password from env":       {c.Neo4j.Password, "pw"},
	}
	for name, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s: got %v, want %v", name, v[0], v[1])
		}
	}
}

func TestConfigFileProblems(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("okta:\n  org_ulr: https://x.okta.com\n"), 0o600)
	code, _, stderr := runCmd(t, map[string]string{"OKTA_API_TOKEN": "t"}, "sync", "--config", typo)
	if code != exitConfig || !strings.Contains(stderr, typo+":2: okta.org_ulr: unknown key; did you mean org_url?") {
		t.Errorf("unknown field: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd(t, nil, "sync", "--config", filepath.Join(dir, "missing.yaml"))
	if code != exitConfig || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing file: exit %d\n%s", code, stderr)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	f := newSyncFlags(&bytes.Buffer{})
	if err := f.fs.Parse([]string{"--config", "../../config.example.yaml"}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(f, envOf(map[string]string{"OKTA_API_TOKEN": "t"}), os.ReadFile)
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if c.Okta.Mapping.ExtraAttributes["cost_center"] != "costCenter" || c.Okta.Mapping.Key != "email" {
		t.Errorf("example mapping not loaded: %+v", c.Okta.Mapping)
	}
}

func TestPrivateKeyFileAndPEMChecks(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "key.pem")
	os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"), 0o600)
	code, _, stderr := runCmd(t, map[string]string{
		"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_CLIENT_ID": "0oa1", "OKTA_PRIVATE_KEY_FILE": bad,
	}, "sync", "--csv-dir", dir)
	if code != exitConfig || !strings.Contains(stderr, "okta.private_key") {
		t.Errorf("bad key: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "c2VjcmV0") {
		t.Errorf("key material in the message:\n%s", stderr)
	}
}

func TestCSVOnlyNeedsNoNeo4j(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 120, Seed: 7})
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCmd(t, map[string]string{
		"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "token", "NEO4J_URI": "bolt://127.0.0.1:1",
	}, "sync", "--csv-dir", dir, "--summary", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var sum jobs.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
	}
	nodes, _ := filepath.Glob(filepath.Join(dir, "nodes", "*.csv"))
	rels, _ := filepath.Glob(filepath.Join(dir, "relationships", "*.csv"))
	if len(nodes) != 1 || len(rels) != 1 {
		t.Fatalf("csv files: nodes %v rels %v", nodes, rels)
	}
	data, _ := os.ReadFile(nodes[0])
	lines := strings.Count(string(data), "\r\n")
	if lines != sum.Created+1 || sum.Created == 0 || sum.Created+sum.Skipped != len(sim.Users()) {
		t.Errorf("node file has %d lines for %d users (summary %+v)", lines, sum.Created, sum)
	}
	if !strings.HasPrefix(string(data), `"LABEL","KEY","email","is_active:UNQUOTED"`) {
		t.Errorf("header: %.80s", data)
	}
}

func TestSyncCommandIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 8, Token: "good-token"})
	// A key Python lowercases differently from strings.ToLower (issue 20, D9).
	if _, err := sim.Create(map[string]any{"login": "inci@example.com", "email": "\u0130nci@Example.com", "firstName": "İnci"}, ""); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "good-token", "NEO4J_URI": neo4jtest.URI(t)}

	code, stdout, stderr := runCmd(t, env, "sync", "--summary", "json", "--published-tag", "run-1")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var sum jobs.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Created == 0 {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	if !strings.Contains(stderr, `"msg":"sync finished"`) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("want exactly one INFO log line, got:\n%s", stderr)
	}
	if strings.Contains(stderr, "good-token") {
		t.Errorf("token in the log")
	}
	if n := neo4jtest.Exec(t, d, `MATCH (u:User {published_tag: 'run-1'}) RETURN count(u) AS n`, nil)[0].AsMap()["n"]; n != int64(sum.Created) {
		t.Errorf("%v nodes tagged run-1, want %d", n, sum.Created)
	}

	// Lookup answers like Amundsen's metadata service.
	key := neo4jtest.Exec(t, d, `MATCH (u:User)-[:MANAGE_BY]->(m) RETURN u.key AS k LIMIT 1`, nil)[0].AsMap()["k"].(string)
	code, stdout, _ = runCmd(t, env, "lookup", key)
	if code != exitOK || !strings.Contains(stdout, `"manager_fullname"`) || !strings.Contains(stdout, key) {
		t.Errorf("lookup: %d %s", code, stdout)
	}
	code, _, stderr = runCmd(t, env, "lookup", "nobody@example.com")
	if code != exitFailed || !strings.Contains(stderr, "HTTP 500") || !strings.Contains(stderr, "lowercased email") {
		t.Errorf("lookup of an unknown user: exit %d\n%s", code, stderr)
	}
	// A key in another case: not found (Amundsen's lookup is
	// case-sensitive), with the key that is there offered.
	mixed := strings.ToUpper(key[:1]) + key[1:]
	code, _, stderr = runCmd(t, env, "lookup", mixed)
	if code != exitFailed || !strings.Contains(stderr, "oktasync lookup "+key+" ") || !strings.Contains(stderr, "HTTP 500") {
		t.Errorf("lookup %s: exit %d, want %d and the lowercased key %s offered\n%s", mixed, code, exitFailed, key, stderr)
	}
	code, _, stderr = runCmd(t, env, "lookup", "Nobody@Example.com")
	if code != exitFailed || !strings.Contains(stderr, "nobody@example.com is not in the graph either") {
		t.Errorf("lookup of an unknown mixed-case user: exit %d\n%s", code, stderr)
	}
	// İnci's key is Python's "İnci@Example.com".lower(), and lookup offers
	// it for the email as Okta holds it.
	code, stdout, _ = runCmd(t, env, "lookup", "i\u0307nci@example.com")
	if code != exitOK || !strings.Contains(stdout, `"first_name": "İnci"`) {
		t.Errorf("lookup of Python's key for İnci: exit %d\n%s", code, stdout)
	}
	code, _, stderr = runCmd(t, env, "lookup", "\u0130nci@Example.com")
	if code != exitFailed || !strings.Contains(stderr, "oktasync lookup i\u0307nci@example.com ") {
		t.Errorf("lookup of İnci's email: exit %d, want %d and Python's key offered\n%s", code, exitFailed, stderr)
	}

	// A wrong token: clear message, non-zero exit, nothing written.
	neo4jtest.Reset(t, d)
	bad := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "bad-token", "NEO4J_URI": neo4jtest.URI(t)}
	code, _, stderr = runCmd(t, bad, "sync")
	if code != exitFailed || !strings.Contains(stderr, "Okta refused the credentials") || strings.Contains(stderr, "bad-token") {
		t.Errorf("wrong token: exit %d\n%s", code, stderr)
	}
	if n := neo4jtest.Exec(t, d, `MATCH (n) RETURN count(n) AS n`, nil)[0].AsMap()["n"]; n != int64(0) {
		t.Errorf("%v nodes written with a wrong token", n)
	}

	// An unreachable Neo4j: clear message, non-zero exit.
	down := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "good-token", "NEO4J_URI": "bolt://127.0.0.1:1"}
	code, _, stderr = runCmd(t, down, "sync")
	if code != exitFailed || !strings.Contains(stderr, "unreachable") || !strings.Contains(stderr, "NEO4J_URI") {
		t.Errorf("unreachable neo4j: exit %d\n%s", code, stderr)
	}
}

func TestSyncPushesMetricsToPushgateway(t *testing.T) {
	type push struct{ method, path, body string }
	got := make(chan push, 4)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- push{r.Method, r.URL.Path, string(b)}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gw.Close()
	_, url := oktasimtest.Start(t, oktasim.Config{Users: 50, Seed: 9})
	code, _, stderr := runCmd(t, map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "t", "OKTASYNC_PUSHGATEWAY_URL": gw.URL},
		"sync", "--csv-dir", filepath.Join(t.TempDir(), "out"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	select {
	case p := <-got:
		if p.method != http.MethodPost || p.path != "/metrics/job/oktasync/mode/full" {
			t.Errorf("push %s %s, want POST /metrics/job/oktasync/mode/full", p.method, p.path)
		}
		if !strings.Contains(p.body, "oktasync_runs_total") {
			t.Errorf("pushed body lacks oktasync_runs_total (%d bytes)", len(p.body))
		}
	default:
		t.Fatalf("nothing was pushed: %s", stderr)
	}
}

func TestRefusalAndDryRunCommandIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 100, Seed: 10})
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "t", "NEO4J_URI": neo4jtest.URI(t)}
	if code, _, stderr := runCmd(t, env, "sync"); code != exitOK {
		t.Fatalf("first sync: %d %s", code, stderr)
	}
	inactive := func() any {
		return neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.is_active = false RETURN count(u) AS n`, nil)[0].AsMap()["n"]
	}
	before := inactive()
	for i, u := range sim.Users() {
		if i%3 == 0 {
			sim.Delete(u.Id)
		}
	}
	code, stdout, stderr := runCmd(t, env, "sync", "--dry-run")
	if code != exitRefused || !strings.Contains(stdout, "dry run") {
		t.Errorf("dry run of a mass deletion: exit %d, stdout:\n%s", code, stdout)
	}
	code, _, stderr = runCmd(t, env, "sync")
	if code != exitRefused {
		t.Fatalf("mass deletion: exit %d, want %d\n%s", code, exitRefused, stderr)
	}
	for _, want := range []string{"refusing to deactivate", "nobody was deactivated", "--force", "max_deactivate"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, stderr)
		}
	}
	if after := inactive(); after != before {
		t.Errorf("inactive users %v -> %v after a refused run", before, after)
	}
	code, _, stderr = runCmd(t, env, "sync", "--max-deactivate", "0.5")
	if code != exitOK {
		t.Errorf("with a higher limit: exit %d\n%s", code, stderr)
	}
}

// TestStubMergeRefusalCommandIntegration: above --max-stub-merges the
// command exits 3, says why and how to proceed, and merges nothing;
// --force merges.
func TestStubMergeRefusalCommandIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	_, url := oktasimtest.Start(t, oktasim.Config{Users: 20, Seed: 10})
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "t", "NEO4J_URI": neo4jtest.URI(t)}
	if code, _, stderr := runCmd(t, env, "sync"); code != exitOK {
		t.Fatalf("first sync: %d %s", code, stderr)
	}
	// Case variants of every synced user's key: far above 10%.
	neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.okta_id IS NOT NULL
		CREATE (:User {key: toUpper(u.key), email: toUpper(u.key)})-[:FOLLOW]->(:Table {key: 'table of ' + u.key})`, nil)
	stubs := func() any {
		return neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.okta_id IS NULL RETURN count(u) AS n`, nil)[0].AsMap()["n"]
	}
	before := stubs()
	code, stdout, stderr := runCmd(t, env, "sync", "--summary", "json")
	if code != exitRefused || !strings.Contains(stdout, `"outcome": "refused"`) {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitRefused, stdout, stderr)
	}
	for _, want := range []string{"refusing to merge", "no stub was merged", "--force", "max_stub_merges", " -> "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, stderr)
		}
	}
	if after := stubs(); after != before || before == int64(0) {
		t.Errorf("stubs %v -> %v after a refused run", before, after)
	}
	if code, _, stderr := runCmd(t, env, "sync", "--force"); code != exitOK {
		t.Fatalf("--force: exit %d\n%s", code, stderr)
	}
	if after := stubs(); after != int64(0) {
		t.Errorf("%v stubs left after --force", after)
	}
}

func TestSyncWithOAuthServiceApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "service-app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 60, Seed: 11, Clients: map[string]*rsa.PublicKey{"0oaService": &key.PublicKey}})
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_CLIENT_ID": "0oaService", "OKTA_PRIVATE_KEY_FILE": keyFile, "OKTA_KEY_ID": "kid-1"}
	code, _, stderr := runCmd(t, env, "sync", "--csv-dir", filepath.Join(t.TempDir(), "out"))
	if code != exitOK {
		t.Fatalf("OAuth sync: exit %d\n%s", code, stderr)
	}
	if st := sim.Stats(); st.TokensIssued != 1 || st.Unauthorized != 0 {
		t.Errorf("simulator stats %+v: want one access token for the whole run", st)
	}
	// A client the org does not know: clear message, exit 1, no key material.
	env["OKTA_CLIENT_ID"] = "0oaUnknown"
	code, _, stderr = runCmd(t, env, "sync", "--csv-dir", filepath.Join(t.TempDir(), "out2"))
	if code != exitFailed || !strings.Contains(stderr, "Okta refused the credentials") || strings.Contains(stderr, "client_assertion=ey") {
		t.Errorf("unknown client: exit %d\n%s", code, stderr)
	}
}
