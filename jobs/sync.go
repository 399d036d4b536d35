// Package jobs wires the stages — extractor, loader, publisher — into runs
// and holds a run's policy: what is read, in what order things are written,
// and what the run reports. It owns the goroutines of a run and waits for
// them. The Okta specifics stay in extractor/okta and every graph write in
// the publisher.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// SyncConfig is the run policy of a sync.
type SyncConfig struct {
	// BatchSize is the users per publish call.
	BatchSize int `yaml:"batch_size"`
	// Prefetch is how many Okta pages may wait for the publisher, so Okta
	// paging and graph writes overlap.
	Prefetch int `yaml:"prefetch"`
	// SpoolDir holds the manager spool ("" = the system temp dir).
	SpoolDir string `yaml:"spool_dir"`
	// MaxDeactivate is the largest share (0–1] of active managed users one
	// full sync may deactivate because Okta no longer returns them. Above
	// it the run deactivates nobody and fails with *RefusedError.
	MaxDeactivate float64 `yaml:"max_deactivate"`
	// Overlap is subtracted from the watermark of an incremental sync, to
	// absorb the lag of Okta's eventually consistent filter.
	Overlap time.Duration `yaml:"incremental_overlap"`
	// Writers is how many batches are written to the graph at once.
	Writers int `yaml:"writers"`
}

// Defaults fills unset fields.
func (c *SyncConfig) Defaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 2000
	}
	if c.Prefetch == 0 {
		c.Prefetch = 4
	}
	if c.MaxDeactivate == 0 {
		c.MaxDeactivate = 0.1
	}
	if c.Overlap == 0 {
		c.Overlap = 5 * time.Minute
	}
	if c.Writers == 0 {
		c.Writers = 2
	}
}

// Validate reports every problem, each naming its field.
func (c SyncConfig) Validate() error {
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > 50000 {
		errs = append(errs, fmt.Errorf("sync.batch_size: must be between 1 and 50000, got %d", c.BatchSize))
	}
	if c.Prefetch < 1 || c.Prefetch > 64 {
		errs = append(errs, fmt.Errorf("sync.prefetch: must be between 1 and 64, got %d", c.Prefetch))
	}
	if c.MaxDeactivate <= 0 || c.MaxDeactivate > 1 {
		errs = append(errs, fmt.Errorf("sync.max_deactivate: must be a share in (0, 1], got %g", c.MaxDeactivate))
	}
	if c.Writers < 1 || c.Writers > 16 {
		errs = append(errs, fmt.Errorf("sync.writers: must be between 1 and 16, got %d", c.Writers))
	}
	if c.Overlap < 0 || c.Overlap > 24*time.Hour {
		errs = append(errs, fmt.Errorf("sync.incremental_overlap: must be between 0 and 24h, got %s", c.Overlap))
	}
	return errors.Join(errs...)
}

// Mode is the kind of a sync.
type Mode string

// Modes.
const (
	Full        Mode = "full"
	Incremental Mode = "incremental"
)

// Reconciler is what a sink offers beyond publishing for reconciliation and
// incremental syncs (the Neo4j publisher does; CSV output does not).
type Reconciler interface {
	// BeginRun starts a run; the sink marks every user it writes or is
	// told about as seen by this run.
	BeginRun(ctx context.Context) error
	// MarkSeen marks users the source returned that were not written.
	MarkSeen(ctx context.Context, sourceIDs []string) error
	// Stale reports the active managed users this run has not seen.
	Stale(ctx context.Context) (publisher.StaleReport, error)
	// Deactivate sets is_active = false on them; it never deletes.
	Deactivate(ctx context.Context) (int, error)
	LoadState(ctx context.Context, org string) (publisher.State, error)
	SaveState(ctx context.Context, st publisher.State) error
	// Orgs lists the orgs the graph holds state for.
	Orgs(ctx context.Context) ([]string, error)
}

// IncrementalSource reads only the users changed after since.
type IncrementalSource interface {
	ExtractSince(ctx context.Context, since time.Time, fn func(context.Context, extractor.Page) error) error
}

// RefusedError means a full sync would have deactivated more managed users
// than allowed, and so deactivated none.
type RefusedError struct {
	Stale, Managed int
	Limit          float64
	Examples       []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to deactivate %d of %d managed users (%.1f%%), above sync.max_deactivate (%.1f%%); nobody was deactivated",
		e.Stale, e.Managed, 100*float64(e.Stale)/float64(max(e.Managed, 1)), 100*e.Limit)
}

// Sync reads users from the source and makes the graph match: nodes, then
// manager edges, then — for a full sync that read every user — the
// deactivation of managed users Okta no longer returns.
type Sync struct {
	Config    SyncConfig
	Source    extractor.Source
	Publisher publisher.Publisher
	Log       *zap.Logger
	// Mode is Full (the default) or Incremental.
	Mode Mode
	// Org names the source org in the sync state (the Okta org URL).
	Org string
	// DryRun reports the plan only; the publisher must be in dry-run mode.
	DryRun bool
	// Force deactivates even above Config.MaxDeactivate.
	Force bool
}

// oktaStats is implemented by the Okta extractor.
type oktaStats interface{ Stats() okta.Stats }

// Run performs the sync and returns its summary, also on failure.
func (s *Sync) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	sum := Summary{Kind: string(Full), Outcome: "failure", DryRun: s.DryRun, SkipReason: map[string]int{}}
	if s.Mode == Incremental {
		sum.Kind = string(Incremental)
	}
	err := s.run(ctx, &sum)
	if st, ok := s.Source.(oktaStats); ok {
		o := st.Stats()
		sum.Pages, sum.OktaRequests, sum.RateLimited, sum.Retries, sum.Pauses, sum.Remaining = o.Pages, o.Requests, o.RateLimited, o.Retries, o.Pauses, o.Remaining
	}
	if ex, ok := s.Publisher.(interface{ Examples() map[string][]string }); ok && s.DryRun {
		sum.Examples = ex.Examples()
	}
	sum.Duration = time.Since(start)
	var refused *RefusedError
	switch {
	case err == nil:
		sum.Outcome = "success"
	case errors.As(err, &refused):
		sum.Outcome = "refused"
	}
	return sum, err
}

func (s *Sync) run(ctx context.Context, sum *Summary) error {
	cfg := s.Config
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := s.Log
	if log == nil {
		log = zap.NewNop()
	}
	rec, _ := s.Publisher.(Reconciler)
	mode := s.Mode
	if mode == "" {
		mode = Full
	}
	if mode == Incremental && rec == nil {
		return errors.New("an incremental sync needs a sink that keeps sync state (Neo4j)")
	}
	var state publisher.State
	if rec != nil {
		if err := rec.BeginRun(ctx); err != nil {
			return err
		}
		// Reconciliation deactivates every managed user a run did not
		// see, so a graph must hold the users of one Okta org only.
		orgs, err := rec.Orgs(ctx)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if s.Org != "" && org != s.Org {
				return fmt.Errorf("this graph holds users synced from the Okta org %s, not %s: oktasync keeps one Okta org per graph "+
					"(a run would deactivate the other org's users)", org, s.Org)
			}
		}
		st, err := rec.LoadState(ctx, s.Org)
		if err != nil {
			return err
		}
		state = st
		sum.WatermarkBefore = st.Watermark
	}
	extract := s.Source.Extract
	if mode == Incremental {
		inc, ok := s.Source.(IncrementalSource)
		switch {
		case !ok:
			return errors.New("the source cannot read incremental changes")
		case state.Watermark.IsZero():
			log.Info("no watermark yet: running a full sync instead of an incremental one")
			mode, sum.Kind, sum.FellBack = Full, string(Full), true
		default:
			since := state.Watermark.Add(-cfg.Overlap)
			extract = func(ctx context.Context, fn func(context.Context, extractor.Page) error) error {
				return inc.ExtractSince(ctx, since, fn)
			}
		}
	}

	spool, err := loader.NewSpool(cfg.SpoolDir)
	if err != nil {
		return err
	}
	defer spool.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan extractor.Page, cfg.Prefetch)
	extractErr := make(chan error, 1)
	go func() {
		defer close(pages)
		extractErr <- extract(ctx, func(ctx context.Context, p extractor.Page) error {
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	writers := cfg.Writers
	if w, ok := s.Publisher.(interface{ MaxWriters() int }); ok {
		writers = min(writers, w.MaxWriters())
	}
	// Batches are written by up to `writers` goroutines; sumMu guards the
	// summary, which they update.
	var sumMu sync.Mutex
	pool := newPool(writers, cancel)
	defer pool.Wait() //nolint:errcheck // on early returns; the error was already taken
	b := newBatcher(cfg.BatchSize)
	var skipped []string // ids of users read but not written, marked seen in batches
	prepared := false
	flush := func() error {
		users, losers := b.take()
		sum.Duplicates += len(losers)
		// A user that lost its key to another is still in Okta: its own
		// node, if it has one, must not look unseen.
		if rec != nil {
			skipped = append(skipped, losers...)
		}
		if len(users) == 0 {
			return nil
		}
		// The schema is created with the first write, after Okta has
		// answered: a run that cannot read Okta writes nothing at all.
		if !prepared {
			if err := s.Publisher.Prepare(ctx); err != nil {
				return fmt.Errorf("prepare graph: %w", err)
			}
			prepared = true
		}
		rows := make([]loader.NodeRow, len(users))
		for i, u := range users {
			rows[i] = loader.Node(u)
			if err := spool.Add(loader.Manager(u)); err != nil {
				return err
			}
		}
		return pool.Go(ctx, func() error {
			t0 := time.Now()
			st, err := s.Publisher.PublishNodes(ctx, rows)
			sumMu.Lock()
			sum.addNodes(st)
			sumMu.Unlock()
			log.Debug("published users", zap.Int("rows", len(rows)), zap.Duration("took", time.Since(t0)),
				zap.Int("created", st.Created), zap.Int("updated", st.Updated))
			return err
		})
	}
	var (
		publishErr error
		maxSeen    time.Time
	)
	for p := range pages {
		if publishErr != nil {
			continue // drain so the extractor can stop
		}
		sumMu.Lock() // writers update the node counts concurrently
		if p.LastUpdated.After(maxSeen) {
			maxSeen = p.LastUpdated
		}
		for _, sk := range p.Skipped {
			sum.Skipped++
			sum.SkipReason[sk.Reason]++
			if sk.SourceID != "" && rec != nil {
				skipped = append(skipped, sk.SourceID)
			}
		}
		if len(skipped) >= cfg.BatchSize {
			if err := rec.MarkSeen(ctx, skipped); err != nil {
				publishErr = err
				cancel()
				continue
			}
			skipped = skipped[:0]
		}
		for _, u := range p.Users {
			sum.Seen++
			if u.IsActive {
				sum.Active++
			} else {
				sum.Inactive++
			}
		}
		sumMu.Unlock()
		for _, u := range p.Users {
			if b.add(u) {
				if err := flush(); err != nil {
					publishErr = err
					cancel()
					break
				}
			}
		}
	}
	eerr := <-extractErr
	werr := pool.Wait()
	switch {
	case publishErr != nil:
		return publishErr
	case werr != nil:
		return werr
	case eerr != nil:
		// Nothing is deactivated on the strength of a partial read.
		return fmt.Errorf("read okta: %w", eerr)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pool.Wait(); err != nil {
		return err
	}
	if len(skipped) > 0 {
		if err := rec.MarkSeen(ctx, skipped); err != nil {
			return err
		}
	}
	log.Debug("nodes published; writing manager edges", zap.Int("users", spool.Len()))
	err = spool.Batches(cfg.BatchSize, func(rows []loader.ManagerRow) error {
		rows = append([]loader.ManagerRow(nil), rows...) // the spool reuses its batch
		return pool.Go(ctx, func() error {
			t0 := time.Now()
			st, err := s.Publisher.PublishManagers(ctx, rows)
			log.Debug("published manager edges", zap.Int("rows", len(rows)), zap.Duration("took", time.Since(t0)))
			sumMu.Lock()
			sum.ManagersLinked += st.Linked
			sum.ManagersKept += st.Kept
			sum.ManagersUnlinked += st.Unlinked
			sum.ManagersMissing += st.Missing
			sumMu.Unlock()
			return err
		})
	})
	if werr := pool.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	if mode == Full {
		if err := s.reconcile(ctx, rec, cfg, sum, log); err != nil {
			return err
		}
	}
	// The watermark is the newest change actually read, never the clock,
	// and it never moves back. A run saves only what it owns.
	save := publisher.State{Org: s.Org, Watermark: maxSeen}
	if mode == Full {
		save.LastFullSync = time.Now().UTC()
	} else {
		save.LastIncremental = time.Now().UTC()
	}
	sum.WatermarkAfter = state.Watermark
	if maxSeen.After(state.Watermark) {
		sum.WatermarkAfter = maxSeen
	}
	return rec.SaveState(ctx, save)
}

// reconcile deactivates the managed users a complete full read did not
// return, unless there are too many of them.
func (s *Sync) reconcile(ctx context.Context, rec Reconciler, cfg SyncConfig, sum *Summary, log *zap.Logger) error {
	if sum.Seen+sum.Skipped == 0 {
		log.Warn("Okta returned no users at all: not deactivating anyone")
		sum.ReconcileSkipped = "okta returned no users"
		return nil
	}
	report, err := rec.Stale(ctx)
	if err != nil {
		return err
	}
	sum.Managed, sum.Missing, sum.MissingExamples = report.Managed, report.Stale, report.Examples
	if report.Stale == 0 {
		return nil
	}
	if float64(report.Stale) > cfg.MaxDeactivate*float64(report.Managed) && !s.Force {
		return &RefusedError{Stale: report.Stale, Managed: report.Managed, Limit: cfg.MaxDeactivate, Examples: report.Examples}
	}
	n, err := rec.Deactivate(ctx)
	sum.DeactivatedMissing = n
	return err
}

// batcher collects users into node rows, one row per key: when two users of
// a batch share a key, the active one wins, then the most recently updated.
type batcher struct {
	size   int
	users  []extractor.User
	index  map[string]int
	losers []string // source ids of users that lost their key
}

func newBatcher(size int) *batcher {
	return &batcher{size: size, users: make([]extractor.User, 0, size), index: make(map[string]int, size)}
}

// add stages u and reports whether the batch is full.
func (b *batcher) add(u extractor.User) bool {
	if i, ok := b.index[u.Key]; ok {
		loser := u
		if wins(u, b.users[i]) {
			loser, b.users[i] = b.users[i], u
		}
		b.losers = append(b.losers, loser.SourceID)
		return false
	}
	b.index[u.Key] = len(b.users)
	b.users = append(b.users, u)
	return len(b.users) >= b.size
}

// wins reports whether a should replace b for the same key.
func wins(a, b extractor.User) bool {
	if a.IsActive != b.IsActive {
		return a.IsActive
	}
	if a.UpdatedAt != b.UpdatedAt {
		return a.UpdatedAt > b.UpdatedAt
	}
	return a.SourceID < b.SourceID
}

// take returns the staged users and the source ids of the users that lost
// their key to another, and resets the batch.
func (b *batcher) take() ([]extractor.User, []string) {
	users, losers := b.users, b.losers
	b.users = make([]extractor.User, 0, b.size)
	clear(b.index)
	b.losers = nil
	return users, losers
}

// pool runs write calls on up to n goroutines and keeps the first error;
// a failure cancels the run. Its owner calls Wait before reading results.
type pool struct {
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

func newPool(n int, cancel context.CancelFunc) *pool {
	return &pool{sem: make(chan struct{}, n), cancel: cancel}
}

// Go runs fn once a slot is free. It returns the first error of an earlier
// call instead, so the caller stops producing work.
func (p *pool) Go(ctx context.Context, fn func() error) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		if err := p.firstErr(); err != nil {
			return err
		}
		return ctx.Err()
	}
	if err := p.firstErr(); err != nil {
		<-p.sem
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.sem }()
		if err := fn(); err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
				p.cancel()
			}
			p.mu.Unlock()
		}
	}()
	return nil
}

func (p *pool) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Wait waits for every call and returns the first error.
func (p *pool) Wait() error {
	p.wg.Wait()
	return p.firstErr()
}
