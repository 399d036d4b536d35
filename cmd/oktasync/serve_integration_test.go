package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

const hookSecret = "hook-secret-for-tests-0123"

type serveEnv struct {
	t      *testing.T
	sim    *oktasim.Server
	env    map[string]string
	base   string // http://127.0.0.1:PORT
	cancel context.CancelFunc
	done   chan error
}

func startServe(t *testing.T, users int) *serveEnv {
	t.Helper()
	return startServeWith(t, users, nil, nil)
}

// startServeEnvOnly is a simulated org of users and an empty graph, and
// the environment of a run against them.
func startServeEnvOnly(t *testing.T, users int) *serveEnv {
	t.Helper()
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: users, Seed: 21})
	return &serveEnv{t: t, sim: sim, env: map[string]string{
		"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "token", "NEO4J_URI": neo4jtest.URI(t), "OKTASYNC_HOOK_SECRETS": "old-secret-0123456789," + hookSecret,
	}}
}

// startServeWith runs a full sync, then serve, with env added to the
// environment and edit applied to the config (both of the sync and serve).
func startServeWith(t *testing.T, users int, env map[string]string, edit func(*config)) *serveEnv {
	t.Helper()
	e := startServeEnvOnly(t, users)
	for k, v := range env {
		e.env[k] = v
	}
	f := newServeFlags(io.Discard)
	if err := f.fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(f, envOf(e.env), readFile)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	first := &server{cfg: cfg, log: zap.NewNop()}
	if first.search, err = newPeopleIndex(cfg.Search, nil); err != nil {
		t.Fatal(err)
	}
	if first.search != nil {
		defer first.search.Close()
	}
	if sum, err := first.runSync(context.Background(), "full"); err != nil {
		t.Fatalf("initial sync: %v (%+v)", err, sum)
	}
	cfg.Serve.Schedule.Incremental, cfg.Serve.Schedule.Full, cfg.Serve.Schedule.AtStart = "off", "off", "none"
	cfg.Serve.HookWorker.Coalesce = 100 * time.Millisecond
	srv, err := newServer(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- srv.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-e.done
		srv.close()
	})
	return e
}

func (e *serveEnv) get(path string) (int, string) {
	resp, err := http.Get(e.base + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *serveEnv) post(secret, body string) int {
	req, _ := http.NewRequest(http.MethodPost, e.base+"/okta/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

type hookEv struct{ uuid, typ, userID string }

func hookBody(evs ...hookEv) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = fmt.Sprintf(`{"uuid":%q,"published":"2026-11-28T00:00:00.000Z","eventType":%q,"version":"0","severity":"INFO",
			"actor":{"id":"00uadmin","type":"User"},"target":[{"id":%q,"type":"User","alternateId":"x","displayName":"X"}]}`, ev.uuid, ev.typ, ev.userID)
	}
	return fmt.Sprintf(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","eventId":"d-%d","data":{"events":[%s]}}`,
		rand.IntN(1<<30), strings.Join(parts, ","))
}

// visibleWithin bounds waitFor. It is not the latency target: hook to
// visible is measured by benchmarks (make bench: S6 for the graph, S8 for
// people search) on a quiet machine, never by a timed test, which a busy
// CI machine would fail for no fault of the code.
const visibleWithin = 20 * time.Second

// waitFor polls the graph until cond holds or visibleWithin passes, and
// returns how long it took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < visibleWithin {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not visible in Neo4j within %s", what, visibleWithin)
	return 0
}

func userProp(t *testing.T, id, prop string) any {
	d := neo4jtest.Driver(t)
	recs := neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: $id}) RETURN u[$p] AS v`, map[string]any{"id": id, "p": prop})
	if len(recs) == 0 {
		return nil
	}
	return recs[0].AsMap()["v"]
}

func activeSimUser(sim *oktasim.Server, skip int) oktasim.User {
	for _, u := range sim.Users() {
		if u.Status == "ACTIVE" && strings.Contains(fmt.Sprint(u.Profile["email"]), "@") {
			if skip == 0 {
				return u
			}
			skip--
		}
	}
	panic("no active user")
}

func TestServeHookPathIntegration(t *testing.T) {
	e := startServe(t, 200)
	if code, _ := e.get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	if code, body := e.get("/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}

	// A profile edit reaches Neo4j through the hook path alone.
	u := activeSimUser(e.sim, 0)
	e.sim.UpdateProfile(u.Id, map[string]any{"title": "Hooked Title"})
	if code := e.post(hookSecret, hookBody(hookEv{"ev-1", "user.account.update_profile", u.Id})); code != 204 {
		t.Fatalf("delivery: %d", code)
	}
	took := waitFor(t, "profile edit", func() bool { return userProp(t, u.Id, "role_name") == "Hooked Title" })
	t.Logf("profile edit visible after %s", took)

	// Deactivation and deletion.
	v := activeSimUser(e.sim, 1)
	w := activeSimUser(e.sim, 2)
	e.sim.SetStatus(v.Id, "DEPROVISIONED")
	e.sim.Delete(w.Id)
	e.post(hookSecret, hookBody(hookEv{"ev-2", "user.lifecycle.deactivate", v.Id}, hookEv{"ev-3", "user.lifecycle.delete.initiated", w.Id}))
	waitFor(t, "deactivation", func() bool { return userProp(t, v.Id, "is_active") == false && userProp(t, w.Id, "is_active") == false })

	// Bad requests are rejected and change nothing; the process stays up.
	x := activeSimUser(e.sim, 3)
	e.sim.UpdateProfile(x.Id, map[string]any{"title": "Must Not Appear"})
	bad := hookBody(hookEv{"ev-4", "user.account.update_profile", x.Id})
	if code := e.post("", bad); code != 401 {
		t.Errorf("missing secret: %d", code)
	}
	if code := e.post("wrong-secret-0123456789", bad); code != 401 {
		t.Errorf("wrong secret: %d", code)
	}
	if code := e.post(hookSecret, `{"data":{"events":[`+strings.Repeat(" ", 5<<20)+`]}}`); code != 413 {
		t.Errorf("5 MiB body: %d", code)
	}
	if code := e.post(hookSecret, `{{{ not json`); code != 400 {
		t.Errorf("garbage: %d", code)
	}
	time.Sleep(500 * time.Millisecond)
	if got := userProp(t, x.Id, "role_name"); got == "Must Not Appear" {
		t.Error("a rejected delivery changed the graph")
	}
	if code, _ := e.get("/healthz"); code != 200 {
		t.Errorf("not healthy after bad requests")
	}
	// The old secret still works during rotation.
	if code := e.post("old-secret-0123456789", hookBody(hookEv{"ev-5", "user.account.update_profile", x.Id})); code != 204 {
		t.Errorf("rotated secret: %d", code)
	}
	waitFor(t, "edit after rotation", func() bool { return userProp(t, x.Id, "role_name") == "Must Not Appear" })
	// A redelivered event is deduplicated.
	e.post(hookSecret, hookBody(hookEv{"ev-1", "user.account.update_profile", u.Id}))

	// /metrics parses as Prometheus text and its counters match.
	code, body := e.get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics %d", code)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	counter := func(name, label, value string) float64 {
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	checks := map[string][2]float64{
		"accepted":     {counter("oktasync_hook_deliveries_total", "result", "accepted"), 4},
		"unauthorized": {counter("oktasync_hook_deliveries_total", "result", "unauthorized"), 2},
		"too_large":    {counter("oktasync_hook_deliveries_total", "result", "too_large"), 1},
		"malformed":    {counter("oktasync_hook_deliveries_total", "result", "malformed"), 1},
		"duplicate":    {counter("oktasync_hook_events_total", "result", "duplicate"), 1},
		"queued":       {counter("oktasync_hook_events_total", "result", "queued"), 4},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("metric %s = %v, want %v", name, c[0], c[1])
		}
	}
	for _, name := range []string{"oktasync_runs_total", "oktasync_hook_queue_depth", "oktasync_okta_rate_limit_remaining", "oktasync_last_success_timestamp_seconds", "oktasync_run_duration_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// graphState is every user's Amundsen properties and manager, without
// publisher metadata: what two equivalent syncs must agree on.
func graphState(t *testing.T) string {
	d := neo4jtest.Driver(t)
	var rows []string
	for _, r := range neo4jtest.Exec(t, d, `MATCH (u:User) OPTIONAL MATCH (u)-[:MANAGE_BY]->(m:User)
		OPTIONAL MATCH (u)<-[:MANAGE]-(m2:User)
		RETURN properties(u) AS p, collect(DISTINCT m.key) AS m, collect(DISTINCT m2.key) AS m2`, nil) {
		p := r.AsMap()["p"].(map[string]any)
		for k := range p {
			if k == "published_tag" || strings.HasSuffix(k, "_epoch_ms") {
				delete(p, k)
			}
		}
		b, _ := json.Marshal([]any{p, r.AsMap()["m"], r.AsMap()["m2"]})
		rows = append(rows, string(b))
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n")
}

func TestServeDuplicatesAndDisorderIntegration(t *testing.T) {
	e := startServe(t, 400)
	users := e.sim.Users()
	rng := rand.New(rand.NewPCG(1, 2))
	// Changes of every kind, each announced by an event.
	var evs []hookEv
	n := 0
	var deleted []string
	announce := func(typ, id string) {
		n++
		evs = append(evs, hookEv{fmt.Sprintf("ev-%d", n), typ, id})
	}
	for i, u := range users {
		if !strings.Contains(fmt.Sprint(u.Profile["email"]), "@") {
			continue
		}
		switch i % 9 {
		case 0:
			e.sim.UpdateProfile(u.Id, map[string]any{"title": fmt.Sprintf("T%d", rng.IntN(5)), "department": "Dept " + fmt.Sprint(i%3)})
			announce("user.account.update_profile", u.Id)
			e.sim.UpdateProfile(u.Id, map[string]any{"title": "Final " + u.Id})
			announce("user.account.update_profile", u.Id)
		case 1:
			e.sim.SetStatus(u.Id, "SUSPENDED")
			announce("user.lifecycle.suspend", u.Id)
		case 2:
			if m := users[rng.IntN(len(users))]; m.Id != u.Id {
				e.sim.SetManager(u.Id, m.Id)
				announce("user.account.update_profile", u.Id)
			}
		case 3:
			if i%27 == 3 && u.Status == "ACTIVE" {
				e.sim.Delete(u.Id)
				deleted = append(deleted, u.Id)
				announce("user.lifecycle.delete.initiated", u.Id)
			}
		}
	}
	for i := 0; i < 20; i++ {
		nu, err := e.sim.Create(map[string]any{"login": fmt.Sprintf("hook.new%d@example.com", i), "email": fmt.Sprintf("hook.new%d@example.com", i),
			"firstName": "Hook", "lastName": fmt.Sprint(i), "managerId": users[i].Id}, "ACTIVE")
		if err != nil {
			t.Fatal(err)
		}
		announce("user.lifecycle.create", nu.Id)
	}
	// 1,000 deliveries: every event at least once, half of them duplicates, shuffled.
	var deliveries []string
	for len(deliveries) < 1000 {
		for _, ev := range evs {
			if len(deliveries) >= 1000 {
				break
			}
			deliveries = append(deliveries, hookBody(ev))
			if len(deliveries) < 1000 {
				deliveries = append(deliveries, hookBody(ev)) // the duplicate
			}
		}
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	for _, body := range deliveries {
		if code := e.post(hookSecret, body); code != 204 {
			t.Fatalf("delivery: %d", code)
		}
	}
	// Wait for the worker to settle, then compare with a fresh full sync.
	deadline := time.Now().Add(20 * time.Second)
	var hooked string
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		s := graphState(t)
		if s == hooked {
			break
		}
		hooked = s
	}
	e.cancel()
	if err := <-e.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	e.done <- nil // for the cleanup
	// Users deleted from Okta stay, inactive, with their edges; a fresh
	// sync never saw them. Take them out before comparing.
	d := neo4jtest.Driver(t)
	for _, id := range deleted {
		if got := userProp(t, id, "is_active"); got != false {
			t.Errorf("deleted user %s: is_active %v, want false", id, got)
		}
	}
	neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.okta_id IN $ids DETACH DELETE u`, map[string]any{"ids": deleted})
	hooked = graphState(t)
	neo4jtest.Reset(t, d)
	if code, _, stderr := runCmd(t, e.env, "sync"); code != exitOK {
		t.Fatalf("fresh full sync: %d %s", code, stderr)
	}
	if fresh := graphState(t); hooked != fresh {
		t.Errorf("hook-driven graph differs from a fresh full sync:\n%s", diffLines(hooked, fresh))
	}
	if len(deleted) == 0 || len(deliveries) != 1000 {
		t.Fatalf("test setup: %d deleted, %d deliveries", len(deleted), len(deliveries))
	}
}

func diffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	inB := map[string]bool{}
	for _, l := range bs {
		inB[l] = true
	}
	inA := map[string]bool{}
	var out []string
	for _, l := range as {
		inA[l] = true
		if !inB[l] && len(out) < 10 {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bs {
		if !inA[l] && len(out) < 20 {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestServeShutdownDrainsIntegration(t *testing.T) {
	e := startServe(t, 150)
	var ids []string
	for i := 0; i < 30; i++ {
		u := activeSimUser(e.sim, i)
		e.sim.UpdateProfile(u.Id, map[string]any{"title": "Drained"})
		ids = append(ids, u.Id)
		e.post(hookSecret, hookBody(hookEv{fmt.Sprintf("dr-%d", i), "user.account.update_profile", u.Id}))
	}
	e.cancel() // SIGTERM right after the deliveries
	select {
	case err := <-e.done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	e.done <- nil
	for _, id := range ids {
		if got := userProp(t, id, "role_name"); got != "Drained" {
			t.Errorf("user %s not processed before shutdown: %v", id, got)
		}
	}
}

// TestServeSimulatorHooksIntegration drives the hook path the way Okta
// does: the simulator verifies the endpoint, then delivers the events its
// admin changes produce, with duplicates and out of order.
func TestServeSimulatorHooksIntegration(t *testing.T) {
	e := startServe(t, 200)
	hooks, err := e.sim.StartHooks(oktasim.HookConfig{
		URL: e.base + "/okta/events", AuthValue: hookSecret, DuplicateRate: 0.5, Shuffle: true, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hooks.Close()
	if err := hooks.Verify(context.Background()); err != nil {
		t.Fatalf("Okta's verification of the endpoint failed: %v", err)
	}
	u := activeSimUser(e.sim, 5)
	start := time.Now()
	e.sim.UpdateProfile(u.Id, map[string]any{"department": "Delivered By Okta"})
	took := waitFor(t, "profile edit via simulator hooks", func() bool { return userProp(t, u.Id, "team_name") == "Delivered By Okta" })
	t.Logf("simulator edit visible in Neo4j after %s (hook batch window included; %s since the edit)", took, time.Since(start))
	v := activeSimUser(e.sim, 6)
	e.sim.SetStatus(v.Id, "SUSPENDED")
	waitFor(t, "suspension via simulator hooks", func() bool { return userProp(t, v.Id, "is_active") == false })
	if err := hooks.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := hooks.Stats(); st.Failed != 0 || st.Succeeded == 0 {
		t.Errorf("hook deliveries: %+v", st)
	}
}
