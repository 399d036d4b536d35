package jobs

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// fakeOkta answers MappedUser from a table; ids not in it are 404s, and
// ids in fail return a server error.
type fakeOkta struct {
	mu    sync.Mutex
	calls map[string]int
	users map[string]extractor.User
	fail  map[string]bool
}

func (f *fakeOkta) callCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

func (f *fakeOkta) MappedUser(_ context.Context, id string) (extractor.User, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[id]++
	if f.fail[id] {
		return extractor.User{}, "", &okta.APIError{Status: 500, Code: "E0000009"}
	}
	u, ok := f.users[id]
	if !ok {
		return extractor.User{}, "", &okta.APIError{Status: 404, Code: "E0000007"}
	}
	return u, "", nil
}

// fakePublisher records what the worker writes.
type fakePublisher struct {
	mu          sync.Mutex
	nodes       []string
	managers    []string // keys whose pairs LinkManagers settled
	pending     []string // keys PublishNodes left for LinkManagers
	deactivated []string
	owed        []time.Time
}

func (f *fakeOkta) Stats() extractor.Stats { return extractor.Stats{} }

func (p *fakePublisher) Prepare(context.Context) error { return nil }
func (p *fakePublisher) BeginRun(context.Context, publisher.RunOptions) (publisher.Run, error) {
	return publisher.Run{}, nil
}
func (p *fakePublisher) EndRun(publisher.Run) error { return nil }
func (p *fakePublisher) Capabilities() publisher.Capabilities {
	return publisher.Capabilities{MaxWriters: 1, Reconciler: p}
}
func (p *fakePublisher) Stale(context.Context, publisher.Run, publisher.Read) (publisher.StaleReport, error) {
	return publisher.StaleReport{}, nil
}
func (p *fakePublisher) Deactivate(context.Context, publisher.Run, publisher.Read, int) (int, error) {
	return 0, nil
}
func (p *fakePublisher) LoadState(context.Context, publisher.Org) (publisher.State, error) {
	return publisher.State{}, nil
}
func (p *fakePublisher) SaveState(context.Context, publisher.State) error { return nil }
func (p *fakePublisher) OweReconciliation(_ context.Context, at time.Time) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owed = append(p.owed, at)
	return 1, nil
}
func (p *fakePublisher) Orgs(context.Context) ([]publisher.Org, error) { return nil, nil }
func (p *fakePublisher) RehomeState(context.Context, publisher.Org, publisher.State) error {
	return nil
}
func (p *fakePublisher) PublishNodes(_ context.Context, _ publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rows {
		p.nodes = append(p.nodes, r.Key)
		p.pending = append(p.pending, r.Key)
	}
	return publisher.NodeStats{Updated: len(rows)}, nil
}
func (p *fakePublisher) LinkManagers(context.Context, publisher.Run) (publisher.ManagerStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.managers = append(p.managers, p.pending...)
	p.pending = nil
	return publisher.ManagerStats{}, nil
}
func (p *fakePublisher) DeactivateIDs(_ context.Context, _ publisher.Run, gone []publisher.Gone) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range gone {
		p.deactivated = append(p.deactivated, g.SourceID)
	}
	return len(gone), nil
}

// hookConfig is the default worker config, changed by set.
func hookConfig(set func(*HookWorkerConfig)) HookWorkerConfig {
	c := DefaultHookWorkerConfig()
	set(&c)
	return c
}

func newFakes() (*fakeOkta, *fakePublisher) {
	return &fakeOkta{calls: map[string]int{}, fail: map[string]bool{}, users: map[string]extractor.User{
		"00ua": {Key: "a@x.io", SourceID: "00ua", IsActive: true},
		"00ub": {Key: "b@x.io", SourceID: "00ub", IsActive: true},
	}}, &fakePublisher{}
}

func TestHookWorkerCoalescesAndDeactivatesGoneUsers(t *testing.T) {
	ok, pub := newFakes()
	var syncs atomic.Int32
	w, err := NewHookWorker(hookConfig(func(c *HookWorkerConfig) { c.Coalesce = 50 * time.Millisecond }), ok, pub, nil, nil, nil, func() { syncs.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	w.Enqueue([]string{"00ua", "00ub", "00ua"})
	w.Enqueue([]string{"00ua", "00ugone"})
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok.calls["00ua"] != 1 || ok.calls["00ub"] != 1 {
		t.Errorf("Okta calls %v: a burst about one user must cost one call", ok.calls)
	}
	sort.Strings(pub.nodes)
	if len(pub.nodes) != 2 || pub.nodes[0] != "a@x.io" || len(pub.managers) != 2 {
		t.Errorf("published nodes %v managers %v", pub.nodes, pub.managers)
	}
	if len(pub.deactivated) != 1 || pub.deactivated[0] != "00ugone" {
		t.Errorf("deactivated %v, want the 404 user", pub.deactivated)
	}
	if syncs.Load() != 0 || len(pub.owed) != 0 {
		t.Errorf("requested %d syncs and owed %d reconciliations without a reason", syncs.Load(), len(pub.owed))
	}
}

func TestHookWorkerFallsBackToSync(t *testing.T) {
	ok, pub := newFakes()
	ok.fail["00ub"] = true
	var syncs, owedAtSync atomic.Int32
	requestSync := func() {
		pub.mu.Lock()
		owedAtSync.Store(int32(len(pub.owed)))
		pub.mu.Unlock()
		syncs.Add(1)
	}
	w, err := NewHookWorker(hookConfig(func(c *HookWorkerConfig) { c.Queue, c.Coalesce = 2, 10*time.Millisecond }), ok, pub, nil, nil, nil, requestSync)
	if err != nil {
		t.Fatal(err)
	}
	// Overflow: the queue holds 2. The sync is asked for by Run, once the
	// debt is recorded, so that it finds the debt (issue 20, D7).
	if w.Enqueue([]string{"00ua", "00ub", "00uc"}) {
		t.Error("Enqueue beyond the queue reported success")
	}
	if syncs.Load() != 0 {
		t.Fatalf("overflow requested %d syncs before the debt was recorded", syncs.Load())
	}
	// A failing Okta call (00ub) hands the batch to a sync too.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second) // a bound, not a target
	for (syncs.Load() == 0 || ok.callCount("00ub") == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if syncs.Load() == 0 {
		t.Error("the fallbacks requested no sync")
	}
	if owedAtSync.Load() == 0 {
		t.Error("a sync was requested before the debt was recorded: it would not know a full reconciliation is owed")
	}
	// Both fallbacks may have lost deletions: the debt is in the graph,
	// and none is pending.
	if len(pub.owed) == 0 || w.debt.Load() != 0 {
		t.Errorf("owed reconciliations recorded %v, pending %d; want recorded", pub.owed, w.debt.Load())
	}
}

func TestHookWorkerDrainsOnShutdown(t *testing.T) {
	ok, pub := newFakes()
	for i := 0; i < 50; i++ {
		id := "00u" + string(rune('A'+i))
		ok.users[id] = extractor.User{Key: id + "@x.io", SourceID: id, IsActive: true}
	}
	w, err := NewHookWorker(hookConfig(func(c *HookWorkerConfig) { c.Coalesce, c.MaxBatch = time.Second, 7 }), ok, pub, nil, nil, nil, func() {})
	if err != nil {
		t.Fatal(err)
	}
	for id := range ok.users {
		w.Enqueue([]string{id})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM before the worker even started
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(pub.nodes) != len(ok.users) || w.Depth() != 0 {
		t.Errorf("published %d of %d queued users before stopping", len(pub.nodes), len(ok.users))
	}
}
