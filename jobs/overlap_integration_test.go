package jobs_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// pageGate holds the nth Okta list request that match accepts until
// release is closed: a run that is part-way through its read, on purpose.
type pageGate struct {
	base    http.RoundTripper
	match   func(*http.Request) bool
	n       int32
	count   atomic.Int32
	held    chan struct{} // closed when the nth request is held
	release chan struct{}
}

func newPageGate(n int32, match func(*http.Request) bool) *pageGate {
	return &pageGate{base: http.DefaultTransport, match: match, n: n, held: make(chan struct{}), release: make(chan struct{})}
}

func (g *pageGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.match(r) && g.count.Add(1) == g.n {
		close(g.held)
		select {
		case <-g.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}

// listRequests matches the user list requests (every page, both passes).
func listRequests(r *http.Request) bool { return r.URL.Path == "/api/v1/users" }

// deprovisionedPass matches the list requests of the DEPROVISIONED pass.
func deprovisionedPass(r *http.Request) bool {
	return listRequests(r) && strings.Contains(r.URL.Query().Get("filter"), "DEPROVISIONED")
}

// syncThrough starts a sync whose Okta requests go through rt, and returns
// its result on the channel.
func (e *env) syncThrough(t *testing.T, mode jobs.Mode, policy jobs.SyncConfig, rt http.RoundTripper) <-chan syncResult {
	t.Helper()
	return e.syncThroughAs(t, mode, policy, rt, false)
}

func (e *env) syncThroughAs(t *testing.T, mode jobs.Mode, policy jobs.SyncConfig, rt http.RoundTripper, dryRun bool) <-chan syncResult {
	t.Helper()
	ocfg := e.oktaConfig("token")
	// The held request must outlast what the test does meanwhile: a
	// request timeout would retry it, and the run would go on unheld.
	ocfg.PageSize, ocfg.RequestTimeout = 10, 5*time.Minute
	src, err := okta.New(ocfg, nil, okta.WithRoundTripper(rt))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(dryRun), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan syncResult, 1)
	go func() {
		defer pub.Close(context.Background())
		job := &jobs.Sync{Config: policy, Source: src, Publisher: pub, Identity: src, Mode: mode, Org: ocfg.OrgURL}
		sum, err := job.Run(context.Background())
		out <- syncResult{sum, err}
	}()
	return out
}

// activeByID reads is_active (as a) of the nodes of one Okta user.
func (e *env) activeByID(t *testing.T, id string) []map[string]any {
	t.Helper()
	return e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.is_active AS a`, map[string]any{"id": id})
}

type syncResult struct {
	sum jobs.Summary
	err error
}

// waitHeld waits, bounded, for the gate to hold its request.
func waitHeld(t *testing.T, g *pageGate, done <-chan syncResult) {
	t.Helper()
	select {
	case <-g.held:
	case r := <-done:
		t.Fatalf("the run ended before its request was held: %+v, %v", r.sum, r.err)
	case <-time.After(time.Minute):
		t.Fatal("the run never reached the held request")
	}
}

func finished(t *testing.T, done <-chan syncResult) jobs.Summary {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("held run: %v", r.err)
		}
		return r.sum
	case <-time.After(2 * time.Minute):
		t.Fatal("the held run did not finish")
		return jobs.Summary{}
	}
}

// TestDeletedUserStaysInactiveIntegration (issue 20, D1): run A reads a
// user, Okta deletes the user, run B deactivates them, and A then writes
// its older read. The deactivation carries the time B's read ended, by
// Okta's clock, so A's older record is refused: the user stays inactive.
func TestDeletedUserStaysInactiveIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 60, Seed: 20})
	e.mustSync(t, run{})
	// A stages every user in one batch (written at the end of its read),
	// and is held at its 5th page, the user already read.
	policy := syncConfig(1000)
	gate := newPageGate(5, listRequests)
	done := e.syncThrough(t, jobs.Full, policy, gate)
	waitHeld(t, gate, done)
	victim := activeUsers(e, 1)[0] // the smallest id: on A's first page
	if err := e.sim.Delete(victim.Id); err != nil {
		t.Fatal(err)
	}
	b := e.mustSync(t, run{})
	if b.DeactivatedMissing != 1 {
		t.Fatalf("run B deactivated %d, want the deleted user", b.DeactivatedMissing)
	}
	close(gate.release)
	a := finished(t, done)
	if a.Retries != 0 {
		t.Fatalf("run A retried a request (%d): it was not held while B ran", a.Retries)
	}
	if a.Reactivated != 0 {
		t.Errorf("run A reactivated %d users: its read of the deleted user is older than the deactivation", a.Reactivated)
	}
	if got := e.activeByID(t, victim.Id); len(got) != 1 || got[0]["a"] != false {
		t.Errorf("the deleted user's node: %v, want inactive", got)
	}
}

// TestIncrementalAfterALongReadMissesNothingIntegration (issue 20, D3): a
// user on an early page changes while a full sync reads later pages, then
// a user on the last page changes. The watermark is never past the read's
// start by Okta's clock, so the next incremental sync, even with no
// overlap at all, picks up the early change.
func TestIncrementalAfterALongReadMissesNothingIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 60, Seed: 21})
	e.mustSync(t, run{})
	policy := syncConfig(10)
	policy.Overlap = 0 // an explicit zero: no second chance
	gate := newPageGate(3, listRequests)
	done := e.syncThrough(t, jobs.Full, policy, gate)
	waitHeld(t, gate, done)
	users := e.sim.Users() // in id order, as Okta pages them
	early, late := users[0], users[len(users)-1]
	if err := e.sim.UpdateProfile(early.Id, map[string]any{"title": "Changed early"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.UpdateProfile(late.Id, map[string]any{"title": "Changed late"}); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	finished(t, done)
	role := func(id string) any {
		return e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.role_name AS r`, map[string]any{"id": id})[0]["r"]
	}
	if got := role(late.Id); got != "Changed late" {
		t.Fatalf("the held run did not read the late change: %v", got)
	}
	sum := e.mustSync(t, run{mode: jobs.Incremental, policy: &policy})
	if got := role(early.Id); got != "Changed early" {
		t.Errorf("the early-page change is still missing after the next incremental sync (watermark %s, read %d): role %v",
			sum.WatermarkBefore.Format(time.RFC3339Nano), sum.Seen, got)
	}
}

// TestUserReadTwiceKeepsTheNewerRecordIntegration (issue 20, D6): a user
// read active in the plain pass is deprovisioned before the DEPROVISIONED
// pass reads them again. The two records are one user's, so the newer
// wins, not the key rule's "active wins".
func TestUserReadTwiceKeepsTheNewerRecordIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 30, Seed: 22})
	gate := newPageGate(1, deprovisionedPass)
	done := e.syncThrough(t, jobs.Full, syncConfig(1000), gate)
	waitHeld(t, gate, done)
	u := activeUsers(e, 1)[0]
	if err := e.sim.SetStatus(u.Id, oktasim.StatusDeprovisioned); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	sum := finished(t, done)
	if sum.Duplicates != 0 {
		t.Errorf("duplicate keys = %d: two records of one user are not two users", sum.Duplicates)
	}
	if got := e.activeByID(t, u.Id); len(got) != 1 || got[0]["a"] != false {
		t.Errorf("the deprovisioned user's node: %v, want inactive (the newer record)", got)
	}
}

// TestHookFallbackOwesAFullReconciliationIntegration (issue 20, D7): a
// hook queue of 5 overflows with 40 deletions. Incremental reads cannot
// see deletions, so the worker records in the graph that a full
// reconciliation is owed; the next incremental sync finds the debt, runs
// as a full one, deactivates every deleted user and pays it.
func TestHookFallbackOwesAFullReconciliationIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 120, Seed: 23})
	e.mustSync(t, run{})
	src, err := okta.New(e.oktaConfig("token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	hcfg := jobs.DefaultHookWorkerConfig()
	hcfg.Queue, hcfg.Coalesce = 5, 10*time.Millisecond
	syncs := make(chan struct{}, 1)
	w, err := jobs.NewHookWorker(hcfg, src, pub, nil, nil, nil, func() {
		select {
		case syncs <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	gone := activeUsers(e, 40)
	ids := make([]string, len(gone))
	for i, u := range gone {
		ids[i] = u.Id
		if err := e.sim.Delete(u.Id); err != nil {
			t.Fatal(err)
		}
	}
	if w.Enqueue(ids) {
		t.Fatal("40 ids fit in a queue of 5")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-syncs:
	case <-time.After(20 * time.Second):
		t.Error("the overflow requested no sync within 20 s")
	}
	// The worker records the debt before it asks for the sync.
	owed := e.query(t, `MATCH (s:OktasyncState) RETURN s.reconcile_owed AS owed`, nil)
	if len(owed) != 1 || owed[0]["owed"] == nil {
		t.Errorf("sync state when the sync was asked for: %v, want a reconciliation owed", owed)
	}
	cancel() // drain what is queued
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if owed := e.query(t, `MATCH (s:OktasyncState) RETURN s.reconcile_owed AS owed`, nil); len(owed) != 1 || owed[0]["owed"] == nil {
		t.Fatalf("sync state after the overflow: %v, want a reconciliation owed", owed)
	}
	policy := syncConfig(100)
	policy.MaxDeactivate = 0.5
	sum := e.mustSync(t, run{mode: jobs.Incremental, policy: &policy})
	if sum.Kind != string(jobs.Full) || !sum.FellBack || sum.ReconcileOwed.IsZero() {
		t.Errorf("the incremental sync after the overflow ran as %s (fell back %v, owed %s), want a full one", sum.Kind, sum.FellBack, sum.ReconcileOwed)
	}
	for _, u := range gone {
		if got := e.activeByID(t, u.Id); len(got) != 1 || got[0]["a"] != false {
			t.Errorf("deleted user %s: %v, want inactive", u.Id, got)
		}
	}
	if owed := e.query(t, `MATCH (s:OktasyncState) RETURN s.reconcile_owed AS owed`, nil); owed[0]["owed"] != nil {
		t.Errorf("the debt was not paid: %v", owed)
	}
	if sum := e.mustSync(t, run{mode: jobs.Incremental, policy: &policy}); sum.Kind != string(jobs.Incremental) {
		t.Errorf("with nothing owed, an incremental sync ran as %s", sum.Kind)
	}
}

// TestRecycledAddressTakeoverIsReportedIntegration (issue 20, D11): a
// leaver's address given to a new hire passes the node, with its
// ownership, to the new Okta user. The dry run and the run both say so.
func TestRecycledAddressTakeoverIsReportedIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 20, Seed: 24})
	leaver, err := e.sim.Create(map[string]any{"login": "leaver@example.com", "email": "recycled@example.com", "firstName": "Lea", "lastName": "Ver"}, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	e.mustSync(t, run{})
	e.addAmundsenEdges(t, "recycled@example.com")
	if err := e.sim.SetStatus(leaver.Id, oktasim.StatusDeprovisioned); err != nil {
		t.Fatal(err)
	}
	hire, err := e.sim.Create(map[string]any{"login": "new.hire@example.com", "email": "recycled@example.com", "firstName": "New", "lastName": "Hire"}, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	plan := e.mustSync(t, run{dryRun: true})
	if plan.TakenOver != 1 || len(plan.Examples["taken over"]) != 1 || !strings.Contains(plan.Examples["taken over"][0], hire.Id) {
		t.Errorf("dry run: %d taken over, examples %v; want the recycled address", plan.TakenOver, plan.Examples["taken over"])
	}
	sum := e.mustSync(t, run{})
	if sum.TakenOver != 1 {
		t.Errorf("run: %d taken over, want 1", sum.TakenOver)
	}
	if !strings.Contains(sum.Text(), "taken over 1 keys") {
		t.Errorf("the summary does not say it:\n%s", sum.Text())
	}
	if got := e.query(t, `MATCH (u:User {key: 'recycled@example.com'}) RETURN u.okta_id AS id`, nil); len(got) != 1 || got[0]["id"] != hire.Id {
		t.Errorf("recycled node: %v, want the new hire's", got)
	}
}

// TestDryRunReadsWithoutLocksIntegration (issue 20, D8): while a dry run
// is part-way through its read, an Amundsen-style write to a user the dry
// run read and would leave as is commits at once: reading takes no lock,
// and no user gets a marker. A user the plan changes is written in the dry
// run's one transaction, and stays locked until it is rolled back.
func TestDryRunReadsWithoutLocksIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 60, Seed: 23})
	e.mustSync(t, run{})
	us := activeUsers(e, 2)
	changed, same := us[0], us[1]
	e.sim.UpdateProfile(changed.Id, map[string]any{"department": "Moved"})
	// Batches of one page: the plain pass's users are published (in the
	// dry run's transaction) while the DEPROVISIONED pass is held.
	gate := newPageGate(1, deprovisionedPass)
	done := e.syncThroughAs(t, jobs.Full, syncConfig(10), gate, true)
	waitHeld(t, gate, done)
	// set writes one property no mapping reads, as Amundsen's services
	// write theirs, in a transaction the server ends after timeout.
	set := func(key string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
		defer cancel()
		sess := e.driver.NewSession(ctx, neo4jdriver.SessionConfig{})
		defer sess.Close(ctx)
		tx, err := sess.BeginTransaction(ctx, neo4jdriver.WithTxTimeout(timeout))
		if err != nil {
			return err
		}
		defer tx.Close(ctx)
		res, err := tx.Run(ctx, `MATCH (u:User {key: $key}) SET u.amundsen_probe = timestamp() RETURN count(u) AS n`, map[string]any{"key": key})
		if err == nil {
			_, err = res.Consume(ctx)
		}
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	// The changed user's batch is published once its write holds the lock:
	// wait for that, bounded.
	deadline := time.Now().Add(time.Minute)
	for set(keyOf(changed), time.Second) == nil {
		if time.Now().After(deadline) {
			close(gate.release)
			t.Fatal("the dry run never wrote the changed user in its transaction")
		}
	}
	start := time.Now()
	err := set(keyOf(same), 5*time.Second)
	took := time.Since(start)
	close(gate.release)
	plan := finished(t, done)
	if err != nil {
		t.Fatalf("a write to a user the dry run only read failed after %s: %v", took, err)
	}
	t.Logf("a write to a user the dry run only read committed in %s", took)
	if plan.Updated != 1 || plan.Created+plan.Renamed+plan.DeactivatedMissing != 0 {
		t.Errorf("plan: %+v, want one user updated", plan)
	}
	if n := e.query(t, `MATCH (u:User) WHERE u.oktasync_seen_epoch_ms IS NOT NULL RETURN count(u) AS n`, nil)[0]["n"]; n != int64(0) {
		t.Errorf("%v users carry a seen marker", n)
	}
	if got := e.query(t, `MATCH (u:User {key: $key}) RETURN u.amundsen_probe IS NOT NULL AS probed, u.team_name AS team`, map[string]any{"key": keyOf(same)}); len(got) != 1 || got[0]["probed"] != true {
		t.Errorf("the other write did not land: %v", got)
	}
}
