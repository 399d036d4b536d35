package jobs_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// env is one simulated org and one empty graph.
type env struct {
	sim    *oktasim.Server
	orgURL string
	driver neo4jdriver.DriverWithContext
	uri    string
}

func newEnv(t *testing.T, cfg oktasim.Config) *env {
	t.Helper()
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, cfg)
	return &env{sim: sim, orgURL: url, driver: d, uri: neo4jtest.URI(t)}
}

func (e *env) oktaConfig(token string) okta.Config {
	c := okta.DefaultConfig()
	c.OrgURL, c.Token, c.RetryBackoff, c.RequestTimeout = e.orgURL, token, 5*time.Millisecond, 5*time.Second
	return c
}

// neo4jConfig is the default Neo4j configuration for the test server.
func (e *env) neo4jConfig(dryRun bool) neo4j.Config {
	c := neo4j.DefaultConfig()
	c.URI, c.DryRun = e.uri, dryRun
	return c
}

// syncConfig is the default sync policy with batches of size.
func syncConfig(size int) jobs.SyncConfig {
	c := jobs.DefaultSyncConfig()
	c.BatchSize = size
	return c
}

func (e *env) sync(t *testing.T, ocfg okta.Config, opts ...okta.Option) (jobs.Summary, error) {
	t.Helper()
	return e.syncPolicy(t, syncConfig(300), ocfg, opts...)
}

// syncPolicy runs a full sync with the sync policy cfg.
func (e *env) syncPolicy(t *testing.T, cfg jobs.SyncConfig, ocfg okta.Config, opts ...okta.Option) (jobs.Summary, error) {
	t.Helper()
	src, err := okta.New(ocfg, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	job := &jobs.Sync{Config: cfg, Source: src, Publisher: pub}
	return job.Run(context.Background())
}

func (e *env) query(t *testing.T, cypher string, params map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range neo4jtest.Exec(t, e.driver, cypher, params) {
		out = append(out, r.AsMap())
	}
	return out
}

// expected is what Amundsen must show for one simulated user, derived
// independently of the product's mapping code from the simulator's export.
type expected struct {
	key, email, first, last, full, team, role, typ, profileURL, github, slack, oktaID string
	active                                                                            bool
	updated                                                                           int64
	managerID                                                                         string
}

func pstr(p map[string]any, k string) string {
	s, _ := p[k].(string)
	return s
}

func expectations(users []oktasim.User) map[string]expected {
	out := map[string]expected{}
	for _, u := range users {
		email := strings.ToLower(strings.TrimSpace(pstr(u.Profile, "email")))
		if u.Status == "STAGED" || strings.Count(email, "@") != 1 || strings.ContainsAny(email, " \t") {
			continue
		}
		first, last := pstr(u.Profile, "firstName"), pstr(u.Profile, "lastName")
		full := pstr(u.Profile, "displayName")
		if full == "" {
			full = strings.TrimSpace(first + " " + last)
		}
		out[email] = expected{
			key: email, email: email, first: first, last: last, full: full,
			team: pstr(u.Profile, "department"), role: pstr(u.Profile, "title"), typ: pstr(u.Profile, "userType"),
			profileURL: pstr(u.Profile, "profileUrl"), github: pstr(u.Profile, "githubUsername"), slack: pstr(u.Profile, "slackId"),
			oktaID: u.Id, active: u.Status != "SUSPENDED" && u.Status != "DEPROVISIONED",
			updated: u.LastUpdated.Unix(), managerID: pstr(u.Profile, "managerId"),
		}
	}
	return out
}

// checkGraph asserts the graph holds exactly the expected users and the
// simulator's manager tree, with Amundsen's property types.
func (e *env) checkGraph(t *testing.T) {
	t.Helper()
	want := expectations(e.sim.Users())
	idToKey := map[string]string{}
	for k, x := range want {
		idToKey[x.oktaID] = k
	}
	rows := e.query(t, `MATCH (u:User) RETURN u.key AS key, properties(u) AS p,
		u.is_active AS active, u.updated_at AS updated, u.full_name AS full`, nil)
	if len(rows) != len(want) {
		t.Errorf("graph has %d users, want %d (non-STAGED simulated users with an email)", len(rows), len(want))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		key := r["key"].(string)
		if seen[key] {
			t.Errorf("two nodes for key %s", key)
		}
		seen[key] = true
		x, ok := want[key]
		if !ok {
			t.Errorf("unexpected user %s", key)
			continue
		}
		if at, ut, ft := neo4jtest.CypherType(r["active"]), neo4jtest.CypherType(r["updated"]), neo4jtest.CypherType(r["full"]); at != "BOOLEAN NOT NULL" || ut != "INTEGER NOT NULL" || ft != "STRING NOT NULL" {
			t.Errorf("%s: types is_active=%v updated_at=%v full_name=%v", key, at, ut, ft)
		}
		p := r["p"].(map[string]any)
		got := expected{
			key: key, email: p["email"].(string), first: p["first_name"].(string), last: p["last_name"].(string),
			full: p["full_name"].(string), team: p["team_name"].(string), role: p["role_name"].(string),
			typ: p["employee_type"].(string), profileURL: p["profile_url"].(string), github: p["github_username"].(string),
			slack: p["slack_id"].(string), oktaID: p["okta_id"].(string), active: p["is_active"].(bool),
			updated: p["updated_at"].(int64), managerID: x.managerID,
		}
		if got != x {
			t.Errorf("user %s:\n got %+v\nwant %+v", key, got, x)
		}
		if got.full == "" {
			t.Errorf("%s: empty full_name", key)
		}
	}
	// MANAGE_BY/MANAGE pairs equal the manager tree among synced users.
	wantEdges := map[string]string{}
	for k, x := range want {
		if m, ok := idToKey[x.managerID]; ok && x.managerID != "" {
			wantEdges[k] = m
		}
	}
	gotEdges := map[string]string{}
	for _, r := range e.query(t, `MATCH (u:User)-[:MANAGE_BY]->(m:User) RETURN u.key AS u, m.key AS m`, nil) {
		u := r["u"].(string)
		if _, dup := gotEdges[u]; dup {
			t.Errorf("%s has more than one MANAGE_BY", u)
		}
		gotEdges[u] = r["m"].(string)
	}
	if len(gotEdges) != len(wantEdges) {
		t.Errorf("MANAGE_BY edges = %d, want %d", len(gotEdges), len(wantEdges))
	}
	for u, m := range wantEdges {
		if gotEdges[u] != m {
			t.Errorf("%s: manager %q, want %q", u, gotEdges[u], m)
		}
	}
	mirror := e.query(t, `MATCH (u:User)-[:MANAGE_BY]->(m:User)
		RETURN count(*) AS pairs, sum(CASE WHEN (m)-[:MANAGE]->(u) THEN 1 ELSE 0 END) AS mirrored`, nil)[0]
	if mirror["pairs"] != mirror["mirrored"] {
		t.Errorf("MANAGE_BY edges %v but only %v mirrored by MANAGE", mirror["pairs"], mirror["mirrored"])
	}
	if n := e.query(t, `MATCH ()-[r:MANAGE]->() RETURN count(r) AS n`, nil)[0]["n"]; n != int64(len(wantEdges)) {
		t.Errorf("MANAGE edges = %v, want %d", n, len(wantEdges))
	}
}

func TestFullSyncIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 1000, Seed: 1})
	// Okta requires an email, but imported service accounts can carry an
	// unusable one: they are skipped and counted, never fatal.
	for _, email := range []string{"", "not-an-email", "two@at@example.com"} {
		if _, err := e.sim.Create(map[string]any{"login": "svc" + strings.ReplaceAll(email, "@", "") + "x@example.com", "email": email,
			"firstName": "Service", "lastName": "Account"}, "ACTIVE"); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := e.sync(t, e.oktaConfig("token"))
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	e.checkGraph(t)
	want := expectations(e.sim.Users())
	if sum.Created != len(want) || sum.Updated != 0 || sum.Seen != len(want) {
		t.Errorf("first run: seen %d created %d updated %d, want %d created", sum.Seen, sum.Created, sum.Updated, len(want))
	}
	if sum.Skipped != 1003-len(want) || sum.SkipReason["no usable email"] != 3 {
		t.Errorf("skipped %d (%v), want %d with 3 without a usable email", sum.Skipped, sum.SkipReason, 1003-len(want))
	}
	if sum.Pages < 6 || sum.OktaRequests != sum.Pages {
		t.Errorf("pages %d, requests %d: want ≥6 pages (5 list-all + DEPROVISIONED pass) and one request each", sum.Pages, sum.OktaRequests)
	}
	if sum.ManagersLinked == 0 || sum.ManagersMissing+sum.ManagersLinked == 0 {
		t.Errorf("managers: %+v", sum)
	}

	// A second run changes no user property.
	sum2, err := e.sync(t, e.oktaConfig("token"))
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Updated != 0 || sum2.Created != 0 || sum2.Unchanged != len(want) || sum2.ManagersLinked != 0 || sum2.ManagersUnlinked != 0 {
		t.Errorf("second run is not a no-op: %+v", sum2)
	}

	// A manager change, a profile edit and a suspension are picked up; the
	// user ends with exactly one manager.
	users := e.sim.Users()
	var who, newBoss oktasim.User
	for _, u := range users {
		if u.Status == "ACTIVE" && pstr(u.Profile, "managerId") != "" && who.Id == "" && strings.Contains(pstr(u.Profile, "email"), "@") {
			who = u
		}
	}
	for _, u := range users {
		if u.Status == "ACTIVE" && u.Id != who.Id && u.Id != pstr(who.Profile, "managerId") && strings.Contains(pstr(u.Profile, "email"), "@") {
			newBoss = u
			break
		}
	}
	if err := e.sim.SetManager(who.Id, newBoss.Id); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.UpdateProfile(who.Id, map[string]any{"title": "Staff Engineer", "department": "Søk & Analyse"}); err != nil {
		t.Fatal(err)
	}
	sum3, err := e.sync(t, e.oktaConfig("token"))
	if err != nil {
		t.Fatal(err)
	}
	if sum3.Updated != 1 || sum3.ManagersLinked != 1 || sum3.ManagersUnlinked != 1 {
		t.Errorf("after one edit: %+v", sum3)
	}
	e.checkGraph(t)
	key := strings.ToLower(strings.TrimSpace(pstr(who.Profile, "email")))
	rows := e.query(t, `MATCH (user:User {key: $user_id}) OPTIONAL MATCH (user)-[:MANAGE_BY]->(manager:User) RETURN user, manager`, map[string]any{"user_id": key})
	if len(rows) != 1 {
		t.Fatalf("Amundsen's get_user query returns %d rows for %s, want 1", len(rows), key)
	}
	u := rows[0]["user"].(neo4jdriver.Node).Props
	m := rows[0]["manager"].(neo4jdriver.Node).Props
	if u["role_name"] != "Staff Engineer" || u["team_name"] != "Søk & Analyse" || u["is_active"] != true {
		t.Errorf("user after edit: %v", u)
	}
	if m["okta_id"] != newBoss.Id {
		t.Errorf("manager is %v, want %s", m["okta_id"], newBoss.Id)
	}
}

func TestSyncWrongTokenWritesNothingIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 50, Seed: 2, Token: "right"})
	_, err := e.sync(t, e.oktaConfig("wrong-secret"))
	var ae *okta.APIError
	if !errors.As(err, &ae) || !ae.Auth() || ae.Code != "E0000011" {
		t.Fatalf("err = %v, want an Okta auth error", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error leaks the token: %v", err)
	}
	if n := e.query(t, `MATCH (n) RETURN count(n) AS n`, nil)[0]["n"]; n != int64(0) {
		t.Errorf("%v nodes written after an auth failure", n)
	}
	if schema := neo4jtest.Schema(t, e.driver); len(schema) != 0 {
		t.Errorf("schema was written after an auth failure: %q", schema)
	}
}

func TestSyncSurvivesFaultsIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 600, Seed: 3})
	e.sim.SetFaults(oktasim.Faults{ErrorRate: 0.2, ResetRate: 0.1, MalformedRate: 0.2})
	cfg := e.oktaConfig("token")
	cfg.PageSize = 50
	cfg.MaxRetries = 8
	sum, err := e.sync(t, cfg)
	if err != nil {
		t.Fatalf("sync under faults: %v", err)
	}
	if sum.Retries == 0 {
		t.Errorf("no retries recorded under a 50%% fault rate: %+v", sum)
	}
	st := e.sim.Stats()
	if st.ServerErrors+st.Resets+st.MalformedPages == 0 {
		t.Fatalf("the simulator injected no faults: %+v", st)
	}
	e.sim.SetFaults(oktasim.Faults{})
	e.checkGraph(t)
}

func TestSyncPacesRateLimitIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 200, Seed: 4, RateLimit: 10, RateWindow: time.Second})
	cfg := e.oktaConfig("token")
	cfg.PageSize = 20 // 10+ pages against 10 requests a second
	cfg.RateLimitReserve = 0.2
	sum, err := e.sync(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pauses == 0 {
		t.Errorf("expected pauses before hitting the limit: %+v", sum)
	}
	if got := e.sim.Stats().RateLimited; got != sum.RateLimited {
		t.Errorf("simulator sent %d 429s, summary says %d", got, sum.RateLimited)
	}
	if sum.RateLimited > 2 {
		t.Errorf("pacing should avoid most 429s, got %d", sum.RateLimited)
	}
	e.checkGraph(t)
}

// greedyNeighbour is another Okta client sharing the rate-limit bucket: it
// spends requests between ours, so pacing alone cannot avoid 429s.
type greedyNeighbour struct {
	base   http.RoundTripper
	orgURL string
}

func (g greedyNeighbour) RoundTrip(r *http.Request) (*http.Response, error) {
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, g.orgURL+"/api/v1/users?limit=1", nil)
		req.Header.Set("Authorization", "SSWS neighbour")
		if resp, err := g.base.RoundTrip(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	return g.base.RoundTrip(r)
}

func TestSyncWaitsOut429Integration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 60, Seed: 5, RateLimit: 4, RateWindow: time.Second})
	cfg := e.oktaConfig("token")
	cfg.PageSize = 30
	sum, err := e.sync(t, cfg, okta.WithRoundTripper(greedyNeighbour{base: http.DefaultTransport, orgURL: e.orgURL}))
	if err != nil {
		t.Fatal(err)
	}
	if sum.RateLimited == 0 {
		t.Errorf("expected 429s: %+v", sum)
	}
	e.checkGraph(t)
}

func TestSyncFailsOnPersistentErrorsIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 600, Seed: 6})
	e.sim.SetFaults(oktasim.Faults{FailAfter: 2})
	cfg := e.oktaConfig("token")
	cfg.PageSize = 100
	cfg.MaxRetries = 2
	// Batches of 50: the users read before the failure are written, and
	// their managers linked during the node pass where possible.
	sum, err := e.syncPolicy(t, syncConfig(50), cfg)
	var ae *okta.APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("err = %v, want an HTTP 500 APIError", err)
	}
	if !strings.Contains(err.Error(), "page 3") {
		t.Errorf("error does not say where it failed: %v", err)
	}
	if sum.Outcome != "failure" || sum.Timings.ManagerPass != 0 {
		t.Errorf("summary = %+v; the manager pass must not run after a failed read", sum)
	}
	// What was linked during the node pass is right: each edge mirrored, and
	// to the user's manager in Okta.
	managerOf := map[string]any{}
	for _, u := range e.sim.Users() {
		managerOf[u.Id] = u.Profile["managerId"]
	}
	edges := e.query(t, `MATCH (u:User)-[:MANAGE_BY]->(m:User) RETURN u.okta_id AS u, m.okta_id AS m, size([(m)-[:MANAGE]->(u) | 1]) > 0 AS mirrored`, nil)
	for _, r := range edges {
		if r["mirrored"] != true || managerOf[r["u"].(string)] != r["m"] {
			t.Errorf("edge %v: want a mirrored edge to the user's manager %v", r, managerOf[r["u"].(string)])
		}
	}
	if len(edges) != sum.ManagersLinked {
		t.Errorf("%d edges in the graph, %d linked by the run", len(edges), sum.ManagersLinked)
	}
	if sum.Retries != 2 {
		t.Errorf("retries = %d, want exactly max_retries (2)", sum.Retries)
	}
}
