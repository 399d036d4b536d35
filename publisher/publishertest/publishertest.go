// Package publishertest is the conformance suite of the sink contract
// (publisher.Publisher). Every sink runs it from its own tests with a Target
// that builds the sink on a fresh, empty target and reads back what the
// target holds, as its consumer (Amundsen) would see it. It checks what the
// contract promises: idempotence, the duplicate-key rule, manager
// replacement, reconciliation where the sink declares it, and that older
// data never overwrites newer.
package publishertest

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// Graph is what a target holds: the :User nodes by key, with their
// properties less run metadata, and each user's managers by key.
type Graph struct {
	Nodes    map[string]map[string]any
	Managers map[string][]string // sorted
}

// Target is one sink under test.
type Target struct {
	// New returns the sink, writing to a fresh, empty target.
	New func(t *testing.T) publisher.Publisher
	// Read returns what the target holds after the sink's writes so far.
	// It may end the sink's run (a CSV sink closes its files).
	Read func(t *testing.T, p publisher.Publisher) Graph
	// Runs reports whether the sink keeps its target between runs: a later
	// run's rows then replace an earlier run's (Neo4j), instead of each
	// run being a fresh set of files (CSV).
	Runs bool
}

// Run runs every conformance test against target.
func Run(t *testing.T, target Target) {
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, target) })
	t.Run("KeyRule", func(t *testing.T) { testKeyRule(t, target) })
	t.Run("ManagerReplacement", func(t *testing.T) { testManagers(t, target) })
	t.Run("OlderNeverOverwritesNewer", func(t *testing.T) { testOlder(t, target) })
	// Reconciliation is an optional part of the contract: tested where the
	// sink declares it.
	t.Run("Reconciliation", func(t *testing.T) { testReconcile(t, target) })
	// So is linking managers during the node pass.
}

// User returns a synced user with every standard attribute set.
func User(key, id string, active bool, updated int64) extractor.User {
	return extractor.User{Key: key, Email: key, FirstName: "First " + id, LastName: "Last", FullName: "First " + id + " Last",
		TeamName: "Data", RoleName: "Engineer", EmployeeType: "Employee", IsActive: active, UpdatedAt: updated, SourceID: id}
}

func withManager(u extractor.User, managerID string) extractor.User {
	u.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: managerID}
	return u
}

// session is one run of a sink, as jobs drives it.
type session struct {
	t   *testing.T
	p   publisher.Publisher
	run publisher.Run
}

func begin(t *testing.T, p publisher.Publisher) *session {
	t.Helper()
	ctx := context.Background()
	run, err := p.BeginRun(ctx, publisher.RunOptions{SpoolDir: t.TempDir(), BatchSize: 100, Writers: 1})
	if err != nil {
		t.Fatalf("BeginRun: %v", err)
	}
	t.Cleanup(func() {
		if err := p.EndRun(run); err != nil {
			t.Errorf("EndRun: %v", err)
		}
	})
	if err := p.Prepare(ctx); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return &session{t: t, p: p, run: run}
}

// publish writes users as the run's one batch: nodes, then the pairs the
// sink left (LinkManagers ends the run's writes).
func (s *session) publish(users ...extractor.User) publisher.NodeStats {
	s.t.Helper()
	st := s.nodes(users...)
	s.link()
	return st
}

func (s *session) nodes(users ...extractor.User) publisher.NodeStats {
	s.t.Helper()
	rows := make([]loader.NodeRow, len(users))
	for i, u := range users {
		rows[i] = loader.Node(u)
	}
	st, err := s.p.PublishNodes(context.Background(), s.run, rows)
	if err != nil {
		s.t.Fatalf("PublishNodes: %v", err)
	}
	return st
}

func (s *session) link() publisher.ManagerStats {
	s.t.Helper()
	st, err := s.p.LinkManagers(context.Background(), s.run)
	if err != nil {
		s.t.Fatalf("LinkManagers: %v", err)
	}
	return st
}

func testIdempotent(t *testing.T, target Target) {
	boss := User("boss@x.io", "00uboss", true, 100)
	ann := withManager(User("ann@x.io", "00uann", true, 100), "00uboss")
	ann.Extra = []extractor.Attr{{Name: "cost_center", Value: "CC-7"}}
	bob := withManager(User("bob@x.io", "00ubob", false, 100), "00uboss")

	once := target.New(t)
	begin(t, once).publish(boss, ann, bob)
	want := target.Read(t, once)

	twice := target.New(t)
	s := begin(t, twice)
	s.nodes(boss, ann, bob)
	s.nodes(boss, ann, bob)
	s.link()
	if target.Runs {
		begin(t, twice).publish(boss, ann, bob)
	}
	if got := target.Read(t, twice); !reflect.DeepEqual(got, want) {
		t.Errorf("publishing twice differs from once:\n got %v\nwant %v", got, want)
	}
	if n := want.Nodes["ann@x.io"]["cost_center"]; n != "CC-7" {
		t.Errorf("ann's extra attribute = %v", n)
	}
	if m := want.Managers["ann@x.io"]; !slices.Equal(m, []string{"boss@x.io"}) {
		t.Errorf("ann's managers = %v, want [boss@x.io]", m)
	}
	if len(want.Nodes) != 3 {
		t.Errorf("nodes = %d, want 3", len(want.Nodes))
	}
}

// testKeyRule publishes two source users on one key, in both orders and in
// separate batches: the holder is the one loader.Wins picks.
func testKeyRule(t *testing.T, target Target) {
	cases := []struct {
		name string
		a, b extractor.User
	}{
		{"active beats inactive", User("k@x.io", "00ua", false, 900), User("k@x.io", "00ub", true, 100)},
		{"newer beats older", User("k@x.io", "00ua", true, 100), User("k@x.io", "00ub", true, 200)},
		{"smaller id breaks ties", User("k@x.io", "00ub", true, 100), User("k@x.io", "00ua", true, 100)},
	}
	for _, tc := range cases {
		want := tc.a
		if loader.Wins(loader.Node(tc.b).Claim, loader.Node(tc.a).Claim) {
			want = tc.b
		}
		for _, order := range [][2]extractor.User{{tc.a, tc.b}, {tc.b, tc.a}} {
			t.Run(fmt.Sprintf("%s/%s first", tc.name, order[0].SourceID), func(t *testing.T) {
				p := target.New(t)
				s := begin(t, p)
				s.nodes(order[0])
				s.nodes(order[1])
				g := target.Read(t, p)
				if len(g.Nodes) != 1 {
					t.Fatalf("nodes = %d, want 1 per key", len(g.Nodes))
				}
				if got := g.Nodes["k@x.io"]["okta_id"]; got != want.SourceID {
					t.Errorf("key held by %v, want %s", got, want.SourceID)
				}
			})
		}
	}
}

// testManagers: every user ends with at most one manager, the current one.
func testManagers(t *testing.T, target Target) {
	b1, b2 := User("b1@x.io", "00ub1", true, 100), User("b2@x.io", "00ub2", true, 100)
	ann := withManager(User("ann@x.io", "00uann", true, 100), "00ub1")
	p := target.New(t)
	s := begin(t, p)
	s.nodes(ann) // before her manager: the sink keeps her pair until LinkManagers
	s.nodes(b1, b2)
	if st := s.link(); st.Linked != 1 || st.Missing != 0 {
		t.Errorf("LinkManagers = %+v, want 1 linked, none missing", st)
	}
	if !target.Runs {
		if got := target.Read(t, p).Managers["ann@x.io"]; !slices.Equal(got, []string{"b1@x.io"}) {
			t.Errorf("ann's managers = %v, want [b1@x.io]", got)
		}
		return
	}
	if got := target.Read(t, p).Managers["ann@x.io"]; !slices.Equal(got, []string{"b1@x.io"}) {
		t.Fatalf("ann's managers = %v, want [b1@x.io]", got)
	}
	// A later run moves ann to b2, then removes her manager.
	s = begin(t, p)
	moved := withManager(User("ann@x.io", "00uann", true, 200), "00ub2")
	s.publish(b1, b2, moved)
	if got := target.Read(t, p).Managers["ann@x.io"]; !slices.Equal(got, []string{"b2@x.io"}) {
		t.Errorf("after the move: ann's managers = %v, want [b2@x.io]", got)
	}
	s = begin(t, p)
	s.publish(b1, b2, User("ann@x.io", "00uann", true, 300))
	if got := target.Read(t, p).Managers["ann@x.io"]; len(got) != 0 {
		t.Errorf("after the removal: ann's managers = %v, want none", got)
	}
}

// testOlder: a record of the same user older than what the target holds
// never overwrites it.
func testOlder(t *testing.T, target Target) {
	newer := User("ann@x.io", "00uann", true, 200)
	newer.RoleName = "Director"
	older := User("ann@x.io", "00uann", true, 100)
	older.RoleName = "Intern"
	p := target.New(t)
	s := begin(t, p)
	s.nodes(newer)
	if target.Runs {
		s = begin(t, p)
	}
	s.nodes(older)
	g := target.Read(t, p)
	if got := g.Nodes["ann@x.io"]["role_name"]; got != "Director" {
		t.Errorf("role_name = %v: the older record overwrote the newer one", got)
	}
	if got := g.Nodes["ann@x.io"]["updated_at"]; got != int64(200) {
		t.Errorf("updated_at = %v (%T), want 200", got, got)
	}
}

// testReconcile: where the sink reconciles, a full run deactivates the
// managed users its read did not return, never deletes them, and leaves
// every user the read returned, written or not (cyd: read, not written).
func testReconcile(t *testing.T, target Target) {
	p := target.New(t)
	rec := p.Capabilities().Reconciler
	if rec == nil {
		t.Log("the sink declares no reconciliation (Capabilities().Reconciler is nil)")
		return
	}
	ctx := context.Background()
	ann, bob, cyd := User("ann@x.io", "00uann", true, 100), User("bob@x.io", "00ubob", true, 100), User("cyd@x.io", "00ucyd", true, 100)
	begin(t, p).publish(ann, bob, cyd)

	s := begin(t, p)
	s.publish(ann)
	// The read happened now, long after the records' versions (100 s).
	now := time.Now().UnixMilli()
	read := publisher.Read{From: now - 1000, Seen: Seen(t, "00ucyd", "00uann")}
	report, err := rec.Stale(ctx, s.run, read)
	if err != nil {
		t.Fatal(err)
	}
	if report.Managed != 3 || report.Stale != 1 || !slices.Equal(report.Examples, []string{"bob@x.io"}) {
		t.Errorf("stale report = %+v, want bob of 3", report)
	}
	n, err := rec.Deactivate(ctx, s.run, read, 1)
	if err != nil || n != 1 {
		t.Fatalf("Deactivate = %d, %v; want 1", n, err)
	}
	g := target.Read(t, p)
	for key, active := range map[string]bool{"ann@x.io": true, "bob@x.io": false, "cyd@x.io": true} {
		if g.Nodes[key] == nil {
			t.Errorf("%s was deleted", key)
		} else if g.Nodes[key]["is_active"] != active {
			t.Errorf("%s is_active = %v, want %v", key, g.Nodes[key]["is_active"], active)
		}
	}
	if report, _ := rec.Stale(ctx, s.run, read); report.Stale != 0 || report.Managed != 2 {
		t.Errorf("after deactivation: %+v, want 0 stale of 2 active", report)
	}
	// A deactivation is a write with a version: a record of bob read
	// before it (a run still going) never makes him active again, a newer
	// one does.
	begin(t, p).publish(bob)
	if g := target.Read(t, p); g.Nodes["bob@x.io"]["is_active"] != false {
		t.Errorf("an older record of bob, written after his deactivation, made him active again")
	}
	// A record from after the read began: bob changed while the read went
	// on (say, reactivated between two passes), so its absence was not
	// proof; his record stands.
	mid := bob
	mid.UpdatedAt, mid.Version = (now-500)/1000, now-500
	begin(t, p).publish(mid)
	if g := target.Read(t, p); g.Nodes["bob@x.io"]["is_active"] != true {
		t.Errorf("a record of bob from after the read began did not make him active again")
	}
	newer := bob
	newer.UpdatedAt, newer.Version = now/1000+10, now+10_000
	begin(t, p).publish(newer)
	if g := target.Read(t, p); g.Nodes["bob@x.io"]["is_active"] != true {
		t.Errorf("a newer record of bob did not make him active again")
	}
	// The same for a user the source answered "not found" for.
	if n, err := rec.DeactivateIDs(ctx, begin(t, p).run, []publisher.Gone{{SourceID: "00ubob", At: now}}); err != nil || n != 0 {
		t.Errorf("DeactivateIDs with a time older than bob's record = %d, %v; want 0: his newer record stands", n, err)
	}
	if n, err := rec.DeactivateIDs(ctx, begin(t, p).run, []publisher.Gone{{SourceID: "00ucyd", At: now}}); err != nil || n != 1 {
		t.Errorf("DeactivateIDs(cyd) = %d, %v; want 1", n, err)
	}
	begin(t, p).publish(cyd)
	if g := target.Read(t, p); g.Nodes["cyd@x.io"]["is_active"] != false {
		t.Errorf("a record of cyd read before Okta said she was gone made her active again")
	}
	// State: saved per org, the watermark never moves back.
	if st, err := rec.LoadState(ctx, publisher.Org{URL: "https://a.okta.com"}); err != nil || !st.Watermark.IsZero() {
		t.Errorf("state of a new org = %+v, %v", st, err)
	}
	testState(ctx, t, rec)
}

// testState checks the sync state: a state saved by URL only (as before
// org ids were recorded) is listed, re-homed to an org id with its times,
// found by id from then on, and its watermark never moves back.
func testState(ctx context.Context, t *testing.T, rec publisher.Reconciler) {
	t.Helper()
	at := func(s string) time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(mustDuration(t, s)) }
	old := publisher.Org{URL: "https://acme.okta.com"}
	// No state yet: a debt is recorded nowhere, and the caller is told.
	if n, err := rec.OweReconciliation(ctx, at("1m")); err != nil || n != 0 {
		t.Errorf("OweReconciliation on a target without state = %d, %v; want 0", n, err)
	}
	if err := rec.SaveState(ctx, publisher.State{Org: old, Watermark: at("1h"), LastFullSync: at("2h")}); err != nil {
		t.Fatal(err)
	}
	if orgs, err := rec.Orgs(ctx); err != nil || !slices.Equal(orgs, []publisher.Org{old}) {
		t.Fatalf("Orgs = %v, %v; want %v", orgs, err, old)
	}
	moved := publisher.Org{ID: "00oACME", URL: "https://login.acme.com"}
	if err := rec.RehomeState(ctx, old, publisher.State{Org: moved, Watermark: at("1h"), LastFullSync: at("2h")}); err != nil {
		t.Fatal(err)
	}
	if orgs, err := rec.Orgs(ctx); err != nil || !slices.Equal(orgs, []publisher.Org{moved}) {
		t.Fatalf("after re-homing, Orgs = %v, %v; want %v", orgs, err, moved)
	}
	// Found by id whatever the URL asked.
	st, err := rec.LoadState(ctx, publisher.Org{ID: "00oACME", URL: "https://acme.okta.com"})
	if err != nil || !st.Watermark.Equal(at("1h")) || !st.LastFullSync.Equal(at("2h")) || !st.LastIncremental.IsZero() {
		t.Fatalf("re-homed state = %+v, %v", st, err)
	}
	if err := rec.SaveState(ctx, publisher.State{Org: moved, Watermark: at("30m"), LastIncremental: at("3h")}); err != nil {
		t.Fatal(err)
	}
	st, err = rec.LoadState(ctx, moved)
	if err != nil || !st.Watermark.Equal(at("1h")) || !st.LastIncremental.Equal(at("3h")) || !st.LastFullSync.Equal(at("2h")) {
		t.Errorf("after an older save: %+v, %v; want watermark kept and the incremental time set", st, err)
	}
	// Owed reconciliations (issue 20, D7): the latest debt is kept; a
	// full sync pays the debt it loaded before its read, not one recorded
	// during it.
	for _, d := range []string{"4h", "5h", "4h30m"} {
		if n, err := rec.OweReconciliation(ctx, at(d)); err != nil || n != 1 {
			t.Fatalf("OweReconciliation(%s) = %d, %v; want recorded in 1 state", d, n, err)
		}
	}
	if st, err = rec.LoadState(ctx, moved); err != nil || !st.ReconcileOwed.Equal(at("5h")) {
		t.Fatalf("owed = %v, %v; want the latest debt, %v", st.ReconcileOwed, err, at("5h"))
	}
	loaded := st.ReconcileOwed
	if _, err := rec.OweReconciliation(ctx, at("6h")); err != nil { // during the full sync's read
		t.Fatal(err)
	}
	if err := rec.SaveState(ctx, publisher.State{Org: moved, LastFullSync: at("7h"), Reconciled: loaded}); err != nil {
		t.Fatal(err)
	}
	if st, err = rec.LoadState(ctx, moved); err != nil || !st.ReconcileOwed.Equal(at("6h")) {
		t.Errorf("after paying %v: owed %v, %v; want the debt recorded since, %v", loaded, st.ReconcileOwed, err, at("6h"))
	}
	if err := rec.SaveState(ctx, publisher.State{Org: moved, LastFullSync: at("8h"), Reconciled: at("6h")}); err != nil {
		t.Fatal(err)
	}
	if st, err = rec.LoadState(ctx, moved); err != nil || !st.ReconcileOwed.IsZero() {
		t.Errorf("after paying every debt: owed %v, %v", st.ReconcileOwed, err)
	}
	// A re-home sets the state exactly: a zero watermark clears it.
	other := publisher.Org{ID: "00oOTHER", URL: "https://other.okta.com"}
	if err := rec.RehomeState(ctx, moved, publisher.State{Org: other}); err != nil {
		t.Fatal(err)
	}
	if st, err := rec.LoadState(ctx, other); err != nil || !st.Watermark.IsZero() || !st.LastFullSync.IsZero() {
		t.Errorf("state re-homed without times = %+v, %v", st, err)
	}
	if err := rec.RehomeState(ctx, moved, publisher.State{Org: other}); err == nil {
		t.Error("re-homing a state that is not stored succeeded")
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Seen returns an id spool holding ids, as a run's read fills it; the
// test removes it at the end.
func Seen(t *testing.T, ids ...string) *loader.IDSpool {
	t.Helper()
	s, err := loader.NewIDSpool(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, id := range ids {
		if err := s.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// StripRunMetadata removes what a sink writes per run (publisher metadata,
// the seen marker) and the key from props, for Read functions: the suite
// compares user properties.
func StripRunMetadata(props map[string]any) map[string]any {
	out := maps.Clone(props)
	for _, k := range []string{"published_tag", "publisher_last_updated_epoch_ms", "oktasync_seen_epoch_ms"} {
		delete(out, k)
	}
	delete(out, "key")
	return out
}
