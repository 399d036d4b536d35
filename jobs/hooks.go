package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// UserReader fetches and maps one Okta user by id (the Okta extractor).
type UserReader interface {
	MappedUser(ctx context.Context, id string) (extractor.User, string, error)
}

// HookPublisher is what the hook worker writes through: the same publisher
// as a sync, plus deactivation of users Okta no longer has.
type HookPublisher interface {
	publisher.Publisher
	BeginRun(ctx context.Context) error
	DeactivateIDs(ctx context.Context, sourceIDs []string) (int, error)
}

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
}

// Defaults fills unset fields.
func (c *HookWorkerConfig) Defaults() {
	if c.Queue == 0 {
		c.Queue = 10000
	}
	if c.Coalesce == 0 {
		c.Coalesce = 300 * time.Millisecond
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 500
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 20 * time.Second
	}
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
// inactive. When the queue overflows or Okta keeps failing, it asks for an
// incremental sync instead of dropping work.
type HookWorker struct {
	cfg         HookWorkerConfig
	okta        UserReader
	pub         HookPublisher
	log         *zap.Logger
	metrics     *Metrics
	requestSync func()
	queue       chan string
	lastOkta    okta.Stats // the reader's counters after the previous batch
}

// NewHookWorker validates cfg. requestSync is called (never blocking) when
// work cannot be done here; metrics may be nil.
func NewHookWorker(cfg HookWorkerConfig, reader UserReader, pub HookPublisher, log *zap.Logger, metrics *Metrics, requestSync func()) (*HookWorker, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &HookWorker{cfg: cfg, okta: reader, pub: pub, log: log.With(zap.String("component", "hook-worker")),
		metrics: metrics, requestSync: requestSync, queue: make(chan string, cfg.Queue)}, nil
}

// Enqueue adds user ids without blocking. It returns false, and asks for an
// incremental sync, when the queue is full.
func (w *HookWorker) Enqueue(ids []string) bool {
	for i, id := range ids {
		select {
		case w.queue <- id:
		default:
			w.log.Warn("hook queue full: falling back to an incremental sync", zap.Int("dropped", len(ids)-i))
			w.requestSync()
			w.metrics.QueueDepth(len(w.queue))
			return false
		}
	}
	w.metrics.QueueDepth(len(w.queue))
	return true
}

// Depth is the number of queued ids.
func (w *HookWorker) Depth() int { return len(w.queue) }

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
	for {
		select {
		case <-ctx.Done():
			return w.drain(wctx)
		case id := <-w.queue:
			ids := w.gather(ctx, id)
			w.process(wctx, ids)
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
func (w *HookWorker) drain(dctx context.Context) error {
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
		w.process(dctx, ids)
	}
	if n := len(w.queue); n > 0 {
		w.log.Warn("shutdown: hook queue not drained in time; the next sync will cover these users", zap.Int("left", n))
	}
	return nil
}

// process reads and publishes one batch of users. Failures are logged and
// handed to an incremental sync; the worker itself never stops on them.
func (w *HookWorker) process(ctx context.Context, ids []string) {
	defer w.metrics.QueueDepth(len(w.queue))
	start := time.Now()
	sum := Summary{Kind: "hook", Outcome: "failure", SkipReason: map[string]int{}}
	err := w.publish(ctx, ids, &sum)
	sum.Duration = time.Since(start)
	if st, ok := w.okta.(oktaStats); ok {
		// The batch's share of the reader's Okta traffic, for the metrics.
		o := st.Stats()
		sum.OktaRequests, sum.RateLimited, sum.Remaining = o.Requests-w.lastOkta.Requests, o.RateLimited-w.lastOkta.RateLimited, o.Remaining
		w.lastOkta = o
	}
	if err == nil {
		sum.Outcome = "success"
	}
	w.metrics.ObserveRun("hook", sum)
	if err != nil {
		w.log.Error("hook batch failed; requesting an incremental sync", zap.Int("users", len(ids)), zap.Error(err))
		w.requestSync()
		return
	}
	w.log.Debug("hook batch published", zap.Int("users", len(ids)), zap.Int("created", sum.Created),
		zap.Int("updated", sum.Updated), zap.Int("deactivated", sum.DeactivatedMissing), zap.Duration("duration", sum.Duration))
}

func (w *HookWorker) publish(ctx context.Context, ids []string, sum *Summary) error {
	var (
		users []extractor.User
		gone  []string
	)
	for _, id := range ids {
		mu, reason, err := w.okta.MappedUser(ctx, id)
		var ae *okta.APIError
		switch {
		case errors.As(err, &ae) && ae.NotFound():
			gone = append(gone, id)
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
		users = append(users, mu)
	}
	if err := w.pub.BeginRun(ctx); err != nil {
		return err
	}
	if len(users) > 0 {
		if err := w.pub.Prepare(ctx); err != nil {
			return err
		}
		b := newBatcher(len(users))
		for _, u := range users {
			b.add(u)
		}
		var losers []string
		users, losers = b.take()
		sum.Duplicates = len(losers)
		rows := make([]loader.NodeRow, len(users))
		mrows := make([]loader.ManagerRow, len(users))
		for i, u := range users {
			rows[i], mrows[i] = loader.Node(u), loader.Manager(u)
		}
		st, err := w.pub.PublishNodes(ctx, rows)
		sum.addNodes(st)
		if err != nil {
			return err
		}
		ms, err := w.pub.PublishManagers(ctx, mrows)
		sum.ManagersLinked, sum.ManagersKept, sum.ManagersUnlinked, sum.ManagersMissing = ms.Linked, ms.Kept, ms.Unlinked, ms.Missing
		if err != nil {
			return err
		}
	}
	n, err := w.pub.DeactivateIDs(ctx, gone)
	sum.DeactivatedMissing = n
	return err
}
