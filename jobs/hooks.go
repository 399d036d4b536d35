package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// HookWorkerConfig tunes the hook worker.
type HookWorkerConfig struct {
	// Queue is how many user ids may wait; beyond it deliveries fall back
	// to an incremental sync.
	Queue int `yaml:"queue"`
	// Coalesce is how long the worker gathers events before reading users,
	// so bursts and duplicates about one user cost one Okta call.
	Coalesce time.Duration `yaml:"coalesce"`
	// MaxBatch caps the users handled in one batch.
	MaxBatch int `yaml:"max_batch"`
	// DrainTimeout bounds the work done after shutdown begins.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// SpoolDir is where a batch's pending manager pairs wait: the sync's
	// sync.spool_dir, which cmd copies here ("" = the system temp dir).
	SpoolDir string `yaml:"-"`
}

// DefaultHookWorkerConfig is the documented default, the one place
// defaults are set.
func DefaultHookWorkerConfig() HookWorkerConfig {
	return HookWorkerConfig{Queue: 10000, Coalesce: 300 * time.Millisecond, MaxBatch: 500, DrainTimeout: 20 * time.Second}
}

// Validate reports every problem, each naming its field.
func (c HookWorkerConfig) Validate() error {
	var errs []error
	if c.Queue < 1 {
		errs = append(errs, fmt.Errorf("serve.hook_worker.queue: must be positive, got %d", c.Queue))
	}
	if c.Coalesce < 0 || c.Coalesce > time.Minute {
		errs = append(errs, fmt.Errorf("serve.hook_worker.coalesce: must be between 0 and 1m, got %s", c.Coalesce))
	}
	if c.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("serve.hook_worker.max_batch: must be positive, got %d", c.MaxBatch))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, errors.New("serve.hook_worker.drain_timeout: must not be negative"))
	}
	return errors.Join(errs...)
}

// HookWorker turns event-hook notifications into targeted updates: it
// coalesces user ids, reads each user's current state from Okta (so order
// and duplicates of events do not matter), and publishes through the same
// loader and publisher as a sync. A user Okta answers 404 for becomes
// inactive. When the queue overflows, Okta keeps failing or shutdown cuts
// work short, it asks for an incremental sync instead of dropping work, and
// records in the graph that a full reconciliation is owed (incremental
// reads cannot see deletions): the next sync that finds the debt runs as a
// full one.
type HookWorker struct {
	cfg         HookWorkerConfig
	okta        extractor.UserReader
	pub         publisher.Publisher
	rec         publisher.Reconciler
	log         *zap.Logger
	metrics     *Metrics
	requestSync func()
	queue       chan string
	search      *peopleSearch   // nil when people search is off
	lastOkta    extractor.Stats // the reader's counters after the previous batch
	// debt is when work that may have held deletions was last given up
	// (epoch ms), until the graph records it; 0 if nothing is pending.
	debt       atomic.Int64
	debtc      chan struct{} // wakes Run to record the debt
	syncWanted atomic.Bool   // a fallback asks for a sync, once the debt is recorded
	inFlight   atomic.Int64  // users of the batch being processed
}

// debtBudget bounds recording a debt in the graph; at shutdown, after the
// drain, shutdownDebtBudget does (so that serve ends within its grace).
const (
	debtBudget         = 10 * time.Second
	shutdownDebtBudget = 5 * time.Second
	debtRetry          = 30 * time.Second // how often a debt not yet recorded is tried again
)

// NewHookWorker validates cfg; pub must be able to reconcile (deactivate
// users Okta no longer has). requestSync is called (never blocking) when
// work cannot be done here; metrics may be nil.
// hookSearchBudget bounds a hook batch's people-search update: past it the
// batch's documents wait for the next sync that writes them.
const hookSearchBudget = 10 * time.Second

func NewHookWorker(cfg HookWorkerConfig, reader extractor.UserReader, pub publisher.Publisher, index publisher.PeopleIndex, log *zap.Logger, metrics *Metrics, requestSync func()) (*HookWorker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	caps := pub.Capabilities()
	if caps.Reconciler == nil || caps.DryRun {
		return nil, errors.New("hook worker: the sink must write and reconcile (Neo4j, not a dry run)")
	}
	search, err := newPeopleSearch(index, caps, cfg.MaxBatch)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &HookWorker{cfg: cfg, okta: reader, pub: pub, rec: caps.Reconciler, log: log.With(zap.String("component", "hook-worker")),
		metrics: metrics, requestSync: requestSync, queue: make(chan string, cfg.Queue), search: search,
		debtc: make(chan struct{}, 1)}, nil
}

// Enqueue adds user ids without blocking. It returns false when the queue
// is full: Run then records that a full reconciliation is owed, and asks
// for a sync.
func (w *HookWorker) Enqueue(ids []string) bool {
	for i, id := range ids {
		select {
		case w.queue <- id:
		default:
			w.log.Warn("hook queue full: falling back to a sync; a full reconciliation is owed", zap.Int("dropped", len(ids)-i))
			w.owe(true)
			w.metrics.QueueDepth(len(w.queue))
			return false
		}
	}
	w.metrics.QueueDepth(len(w.queue))
	return true
}

// Depth is the number of queued ids.
func (w *HookWorker) Depth() int { return len(w.queue) }

// InFlight is the number of users in the batch being processed.
func (w *HookWorker) InFlight() int { return int(w.inFlight.Load()) }

// owe notes that work which may have held deletions was given up, and
// wakes Run to record it in the graph, then (if sync) to ask for a sync:
// in that order, so that the sync finds the debt. It never blocks.
func (w *HookWorker) owe(sync bool) {
	w.debt.Store(time.Now().UnixMilli())
	if sync {
		w.syncWanted.Store(true)
	}
	select {
	case w.debtc <- struct{}{}:
	default:
	}
}

// recordDebt records a pending debt in the graph, bounded. One that could
// not be recorded (Neo4j failing, or no sync state yet: a first sync still
// running) stays pending: Run tries again after each batch and every
// debtRetry.
func (w *HookWorker) recordDebt(ctx context.Context, budget time.Duration) {
	at := w.debt.Load()
	if at == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	n, err := w.rec.OweReconciliation(ctx, time.UnixMilli(at))
	switch {
	case err != nil:
		w.log.Error("could not record that a full reconciliation is owed (will try again): deletions may stay unseen until a full sync", zap.Error(err))
		return
	case n == 0:
		w.log.Warn("a full reconciliation is owed, but the graph has no sync state yet to record it in (will try again)")
		return
	}
	w.debt.CompareAndSwap(at, 0)
}

// settle records a pending debt, then asks for the sync a fallback wanted.
func (w *HookWorker) settle(ctx context.Context) {
	w.recordDebt(ctx, debtBudget)
	if w.syncWanted.Swap(false) {
		w.requestSync()
	}
}

// Run processes the queue until ctx is done, then drains what is queued
// (bounded by DrainTimeout) and returns nil.
//
// The batch in flight when ctx ends is finished, not abandoned: work runs
// on a context that ends DrainTimeout after ctx does.
func (w *HookWorker) Run(ctx context.Context) error {
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer wcancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.cfg.DrainTimeout, wcancel) })
	defer stop()
	retry := time.NewTicker(debtRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return w.drain(wctx)
		case <-w.debtc:
			w.settle(wctx)
		case <-retry.C:
			w.settle(wctx)
		case id := <-w.queue:
			ids := w.gather(ctx, id)
			w.process(wctx, ids)
			w.settle(wctx)
		}
	}
}

// gather collects ids for the coalescing window, deduplicated.
func (w *HookWorker) gather(ctx context.Context, first string) []string {
	set := map[string]bool{first: true}
	ids := []string{first}
	timer := time.NewTimer(w.cfg.Coalesce)
	defer timer.Stop()
	for len(ids) < w.cfg.MaxBatch {
		select {
		case <-ctx.Done():
			return ids
		case <-timer.C:
			return ids
		case id := <-w.queue:
			if !set[id] {
				set[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// drain processes what is queued until the queue is empty or dctx ends.
// What it could not do is logged as it is and owed to a full
// reconciliation, recorded in the graph (bounded, after dctx if need be).
func (w *HookWorker) drain(dctx context.Context) error {
	cut := 0 // users of batches that failed or were cut short
	defer func() {
		left := len(w.queue)
		if left > 0 || cut > 0 {
			w.log.Warn("shutdown: hook work not done in time; a full reconciliation is owed and the next sync will run one",
				zap.Int("left_in_queue", left), zap.Int("cut_short", cut))
			w.owe(false)
		}
		w.recordDebt(context.WithoutCancel(dctx), shutdownDebtBudget)
	}()
	for dctx.Err() == nil {
		var ids []string
		seen := map[string]bool{}
	collect:
		for len(ids) < w.cfg.MaxBatch {
			select {
			case id := <-w.queue:
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			default:
				break collect
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if !w.process(dctx, ids) {
			cut += len(ids)
		}
	}
	return nil
}

// process reads and publishes one batch of users, and reports whether it
// did. Failures are logged, handed to a sync and owed to a full
// reconciliation; the worker itself never stops on them.
func (w *HookWorker) process(ctx context.Context, ids []string) bool {
	w.inFlight.Store(int64(len(ids)))
	defer w.inFlight.Store(0)
	defer w.metrics.QueueDepth(len(w.queue))
	start := time.Now()
	sum := Summary{Kind: "hook", Outcome: "failure", SkipReason: map[string]int{}}
	err := w.publish(ctx, ids, &sum)
	sum.Duration = time.Since(start)
	// The batch's share of the reader's Okta traffic, for the metrics.
	o := w.okta.Stats()
	sum.OktaRequests, sum.RateLimited, sum.Remaining = o.Requests-w.lastOkta.Requests, o.RateLimited-w.lastOkta.RateLimited, o.Remaining
	w.lastOkta = o
	var searchErr *SearchError
	if err == nil || errors.As(err, &searchErr) {
		sum.Outcome = "success"
	}
	w.metrics.ObserveRun("hook", sum)
	switch {
	case searchErr != nil:
		// The graph has the users; their documents wait for the next
		// sync that touches them, or the next full sync.
		w.log.Error("hook batch: people search not updated", zap.Int("users", len(ids)), zap.Error(err))
	case err != nil:
		w.log.Error("hook batch failed; requesting a sync, and a full reconciliation is owed", zap.Int("users", len(ids)), zap.Error(err))
		w.owe(true) // Run records the debt, then asks for the sync
		return false
	}
	w.log.Debug("hook batch published", zap.Int("users", len(ids)), zap.Int("created", sum.Created),
		zap.Int("updated", sum.Updated), zap.Int("deactivated", sum.DeactivatedMissing), zap.Duration("duration", sum.Duration))
	return true
}

// publish reads the users and writes them through the one write path:
// the loader stages them, publishNodes writes the nodes, LinkManagers
// their pairs; users Okta no longer has become inactive.
func (w *HookWorker) publish(ctx context.Context, ids []string, sum *Summary) error {
	stager := loader.NewStager(len(ids))
	var gone []publisher.Gone
	for _, id := range ids {
		mu, reason, err := w.okta.MappedUser(ctx, id)
		var ge *extractor.GoneError
		switch {
		case errors.As(err, &ge):
			// Okta's time of the answer is the deactivation's version: a
			// record of the user read before it (by a sync still running)
			// cannot make the user active again.
			gone = append(gone, publisher.Gone{SourceID: id, At: ge.At.UnixMilli()})
			continue
		case errors.Is(err, extractor.ErrNotFound):
			// A reader that cannot tell when: this machine's clock.
			gone = append(gone, publisher.Gone{SourceID: id, At: time.Now().UnixMilli()})
			continue
		case err != nil:
			return fmt.Errorf("read user %s from okta: %w", id, err)
		}
		if reason != "" {
			sum.Skipped++
			sum.SkipReason[reason]++
			continue
		}
		sum.Seen++
		stager.Add(mu)
	}
	run, err := w.pub.BeginRun(ctx, publisher.RunOptions{SpoolDir: w.cfg.SpoolDir, BatchSize: max(len(ids), 1), Writers: 1})
	if err != nil {
		return err
	}
	defer func() {
		if err := w.pub.EndRun(run); err != nil {
			w.log.Warn("end the publisher's run", zap.Error(err))
		}
	}()
	b := stager.Take()
	if len(b.Nodes) > 0 {
		if err := w.pub.Prepare(ctx); err != nil {
			return err
		}
		sum.Duplicates = b.Duplicates
		st, err := publishNodes(ctx, w.pub, run, b)
		sum.addNodes(st)
		if err != nil {
			return err
		}
		ms, err := w.pub.LinkManagers(ctx, run)
		sum.addManagers(ms)
		if err != nil {
			return err
		}
	}
	n, err := w.rec.DeactivateIDs(ctx, run, gone)
	sum.DeactivatedMissing = n
	if err != nil || w.search == nil {
		return err
	}
	// Their documents follow, visible to search when this returns.
	keys := make([]string, len(b.Nodes))
	for i, n := range b.Nodes {
		keys[i] = n.Key
	}
	start := time.Now()
	sum.Search = &SearchSummary{}
	// A slow search server must not hold up the graph's next batches.
	sctx, cancel := context.WithTimeout(ctx, hookSearchBudget)
	defer cancel()
	goneIDs := make([]string, len(gone))
	for i, g := range gone {
		goneIDs[i] = g.SourceID
	}
	st, err := w.search.update(sctx, keys, goneIDs)
	return finishSearch(sum.Search, st, start, err)
}
