// Package jobs wires the stages — extractor, loader, publisher — into runs
// and holds a run's policy: full or incremental, dry run, the safety cap,
// and when reconciliation may run. It produces the run summary, the cron
// schedules and the hook worker. It owns the goroutines of a run (through
// errgroup) and waits for them; no lock is held across I/O. The stages'
// rules stay in the stages: the Okta specifics in extractor/okta, staging
// and the key rule in loader, every write in the publisher.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// SyncConfig is the run policy of a sync.
type SyncConfig struct {
	// BatchSize is the users per batch: per node and manager transaction,
	// per seen-marking call, and per deactivation step.
	BatchSize int `yaml:"batch_size"`
	// Prefetch is how many Okta pages may wait for the publisher, so Okta
	// paging and graph writes overlap.
	Prefetch int `yaml:"prefetch"`
	// SpoolDir holds the run's spools on disk: the sink's pending manager
	// pairs, the Okta ids a full sync read, and the keys an incremental
	// sync wrote, for people search ("" = the system temp dir).
	SpoolDir string `yaml:"spool_dir"`
	// MaxDeactivate is the largest share [0–1] of active managed users one
	// full sync may deactivate because Okta no longer returns them. Above
	// it the run deactivates nobody and fails with *RefusedError; 0 refuses
	// any such deactivation without --force.
	MaxDeactivate float64 `yaml:"max_deactivate"`
	// MaxStubMerges is the largest number of case-variant stubs one full
	// sync may merge into the synced users, as a share [0–1] of the synced
	// users. Above it the run merges none (and deactivates nobody) and
	// fails with *MergeRefusedError; 0 refuses any merge without --force.
	MaxStubMerges float64 `yaml:"max_stub_merges"`
	// Overlap is subtracted from the watermark of an incremental sync, to
	// absorb the lag of Okta's eventually consistent filter.
	Overlap time.Duration `yaml:"incremental_overlap"`
	// Writers is how many batches are written to the graph at once.
	Writers int `yaml:"writers"`
}

// DefaultSyncConfig is the documented default, the one place defaults are
// set. Configuration is read over it, so an explicit zero stays zero.
func DefaultSyncConfig() SyncConfig {
	return SyncConfig{BatchSize: 2000, Prefetch: 4, MaxDeactivate: 0.1, MaxStubMerges: 0.1, Overlap: 5 * time.Minute, Writers: 2}
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
	// NaN and ±Inf fail every comparison: test for them first, or a cap
	// could be switched off by a malformed value.
	for _, limit := range []struct {
		field string
		share float64
	}{{"sync.max_deactivate", c.MaxDeactivate}, {"sync.max_stub_merges", c.MaxStubMerges}} {
		if math.IsNaN(limit.share) || math.IsInf(limit.share, 0) || limit.share < 0 || limit.share > 1 {
			errs = append(errs, fmt.Errorf("%s: must be a share between 0 and 1, got %g", limit.field, limit.share))
		}
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

// MergeRefusedError means a full sync found more case-variant stubs to
// merge than allowed, and so merged none and deactivated nobody.
type MergeRefusedError struct {
	Stubs, Synced int
	Limit         float64
	Examples      []string
}

func (e *MergeRefusedError) Error() string {
	return fmt.Sprintf("refusing to merge %d case-variant stubs into the %d synced users (%.1f%%), above sync.max_stub_merges (%.1f%%); no stub was merged and nobody was deactivated",
		e.Stubs, e.Synced, 100*float64(e.Stubs)/float64(max(e.Synced, 1)), 100*e.Limit)
}

// Refused reports whether err is a refusal of a safety cap: the run
// stopped before changing what the cap guards.
func Refused(err error) bool {
	var deactivate *RefusedError
	var merge *MergeRefusedError
	return errors.As(err, &deactivate) || errors.As(err, &merge)
}

// Sync reads users from the source and makes the graph match: nodes, then
// manager edges, then — for a full sync that read every user — the
// deactivation of managed users Okta no longer returns. A dry run is the
// publisher's (Capabilities().DryRun).
type Sync struct {
	Config    SyncConfig
	Source    extractor.Source
	Publisher publisher.Publisher
	Log       *zap.Logger
	// Mode is Full (the default) or Incremental.
	Mode Mode
	// Org is the configured URL of the source org (okta.org_url).
	Org string
	// Identity, if not nil, tells the source org's id: the graph's sync
	// state is kept under it, and follows the org to another URL (org.go).
	// Without it the org is known by its URL only.
	Identity extractor.OrgReader
	// Rehome re-homes the graph's sync state to the configured org even
	// when the graph holds another org's, or one that cannot be shown to
	// be the same: the state then starts afresh (--rehome-org).
	Rehome bool
	// Force deactivates and merges even above Config.MaxDeactivate and
	// Config.MaxStubMerges.
	Force bool
	// Search, if not nil, is the people index the run keeps in step with
	// the graph (search.go): its documents come from the publisher's
	// Documents capability.
	Search publisher.PeopleIndex
}

// Run performs the sync and returns its summary, also on failure.
func (s *Sync) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	caps := s.Publisher.Capabilities()
	sum := Summary{Kind: string(Full), Outcome: "failure", DryRun: caps.DryRun, SkipReason: map[string]int{}}
	if s.Mode == Incremental {
		sum.Kind = string(Incremental)
	}
	r := &syncRun{Sync: s, caps: caps, sum: &sum, log: s.Log}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	search, err := newPeopleSearch(s.Search, caps, s.Config.BatchSize)
	if err != nil {
		return sum, err
	}
	if search != nil {
		// The people index is checked before Okta is read, so that bad
		// settings are reported at once; the graph is synced regardless.
		r.search, sum.Search = search, &SearchSummary{Outcome: "skipped"}
		if r.searchCheck = search.index.Check(ctx); r.searchCheck != nil {
			r.log.Error("people search is not usable: the graph is synced, the people index is not", zap.Error(r.searchCheck))
		}
	}
	err = r.do(ctx)
	sum.addSource(s.Source.Stats())
	if caps.DryRun && caps.Planner != nil {
		sum.Examples = caps.Planner.Examples()
	}
	sum.Duration = time.Since(start)
	var searchErr *SearchError
	switch {
	case err == nil, errors.As(err, &searchErr):
		sum.Outcome = "success"
	case Refused(err):
		sum.Outcome = "refused"
	}
	return sum, err
}

// syncRun is one run of a Sync: its per-run values and its summary, which
// the writers update under mu (never across I/O).
type syncRun struct {
	*Sync
	caps   publisher.Capabilities
	log    *zap.Logger
	values publisher.Run // the publisher's values for this run

	search      *peopleSearch // nil when people search is off
	searchCheck error         // why the people index cannot be used

	mu  sync.Mutex
	sum *Summary
}

func (r *syncRun) update(fn func(*Summary)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r.sum)
}

func (r *syncRun) do(ctx context.Context) error {
	cfg := r.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	rec := r.caps.Reconciler
	mode := r.Mode
	if mode == "" {
		mode = Full
	}
	if mode == Incremental && rec == nil {
		return errors.New("an incremental sync needs a sink that keeps sync state (Neo4j)")
	}
	var err error
	if r.values, err = r.Publisher.BeginRun(ctx, publisher.RunOptions{SpoolDir: cfg.SpoolDir, BatchSize: cfg.BatchSize, Writers: r.writers()}); err != nil {
		return err
	}
	defer func() {
		if err := r.Publisher.EndRun(r.values); err != nil {
			r.log.Warn("end the publisher's run", zap.Error(err))
		}
	}()
	var (
		state publisher.State
		org   publisher.Org
	)
	if rec != nil {
		// One Okta org per graph (org.go).
		if org, err = r.adoptOrg(ctx, rec); err != nil {
			return err
		}
		if state, err = rec.LoadState(ctx, org); err != nil {
			return err
		}
		r.sum.WatermarkBefore = state.Watermark
	}
	extract := r.Source.Extract
	r.sum.ReconcileOwed = state.ReconcileOwed
	if mode == Incremental {
		switch {
		case state.Watermark.IsZero():
			r.log.Info("no watermark yet: running a full sync instead of an incremental one")
			mode, r.sum.Kind, r.sum.FellBack = Full, string(Full), true
		case !state.ReconcileOwed.IsZero():
			// Incremental reads cannot see deletions: what a hook fallback
			// gave up is only covered by a full read.
			r.log.Info("a full reconciliation is owed: running a full sync instead of an incremental one",
				zap.Time("owed_since", state.ReconcileOwed))
			mode, r.sum.Kind, r.sum.FellBack = Full, string(Full), true
		default:
			since := state.Watermark.Add(-cfg.Overlap)
			extract = func(ctx context.Context, fn func(context.Context, extractor.Page) error) error {
				return r.Source.ExtractSince(ctx, since, fn)
			}
		}
	}

	// The source ids the read returns, for reconciliation: the sink joins
	// them against the users it holds, so that reading marks nothing. An
	// incremental sync with people search keeps the keys it wrote instead,
	// whose documents it then rewrites.
	var seen, written *loader.IDSpool
	switch {
	case rec != nil && mode == Full:
		seen, err = loader.NewIDSpool(cfg.SpoolDir, loader.IDChunk)
	case mode == Incremental && r.search != nil:
		written, err = loader.NewIDSpool(cfg.SpoolDir, loader.IDChunk)
	}
	if err != nil {
		return err
	}
	for _, sp := range []*loader.IDSpool{seen, written} {
		if sp != nil {
			defer func() {
				if err := sp.Close(); err != nil {
					r.log.Warn("remove id spool", zap.Error(err))
				}
			}()
		}
	}

	t0 := time.Now()
	rd, err := r.nodePass(ctx, extract, loader.NewStager(cfg.BatchSize), seen, written)
	r.sum.Timings.NodePass = time.Since(t0)
	if err != nil {
		return err
	}
	// Case-variant stubs are merged once the synced nodes exist, and
	// before the manager pass, which then decides the pairs of users that
	// got a stub's manager edges. A refusal stops the run after the manager
	// pass: no merge and no deactivation.
	var refused error
	if mode == Full && r.caps.StubMerger != nil {
		t0 = time.Now()
		refused, err = r.mergeStubs(ctx, r.caps.StubMerger)
		r.sum.Timings.StubMerge = time.Since(t0)
		if err != nil {
			return err
		}
	}
	r.log.Debug("nodes published; writing manager edges")
	t0 = time.Now()
	ms, err := r.Publisher.LinkManagers(ctx, r.values)
	r.sum.addManagers(ms)
	r.sum.Timings.ManagerPass = time.Since(t0)
	if err != nil {
		return err
	}
	if refused != nil {
		return refused
	}
	if rec == nil {
		return nil
	}
	var paid time.Time
	if mode == Full {
		r.log.Debug("manager edges published; reconciling")
		t0 = time.Now()
		reconciled, err := r.reconcile(ctx, rec, publisher.Read{From: rd.from.UnixMilli(), Seen: seen})
		r.sum.Timings.Reconcile = time.Since(t0)
		if err != nil {
			return err
		}
		if reconciled {
			// The debt this run loaded before its read began is paid; one
			// recorded since is later, and stays for the next run. (Not the
			// read's start by Okta's clock: the debt is stamped by the clock
			// of the process that gave work up.)
			paid = state.ReconcileOwed
		}
	}
	// The watermark is the newest change actually read, never past the
	// read's start by Okta's clock, and it never moves back. A run saves
	// only what it owns.
	maxSeen := rd.watermark()
	save := publisher.State{Org: org, Watermark: maxSeen, Reconciled: paid}
	if mode == Full {
		save.LastFullSync = time.Now().UTC()
	} else {
		save.LastIncremental = time.Now().UTC()
	}
	r.sum.WatermarkAfter = state.Watermark
	if maxSeen.After(state.Watermark) {
		r.sum.WatermarkAfter = maxSeen
	}
	if err := rec.SaveState(ctx, save); err != nil {
		return err
	}
	return r.updateSearch(ctx, mode, written)
}

// updateSearch brings the people index into step with the graph the run
// left: a full sync rebuilds it, an incremental sync rewrites the
// documents of the users it wrote (written: every staged key). A dry run
// only checked it.
func (r *syncRun) updateSearch(ctx context.Context, mode Mode, written *loader.IDSpool) error {
	if r.search == nil || r.caps.DryRun && r.searchCheck == nil {
		return nil
	}
	start := time.Now()
	var st publisher.IndexStats
	err := r.searchCheck
	switch {
	case err != nil:
	case mode == Full:
		st, err = r.search.rebuild(ctx)
	default:
		err = searchBatches(written, r.Config.BatchSize, func(keys []string) error {
			got, err := r.search.update(ctx, keys, nil)
			st.Add(got)
			return err
		})
	}
	return finishSearch(r.sum.Search, st, start, err)
}

func (r *syncRun) writers() int { return max(1, min(r.Config.Writers, r.caps.MaxWriters)) }

// nodePass reads the source and writes every batch of nodes as it fills,
// on up to writers() goroutines, while the source reads on. Every source
// id read goes to seen, and every key staged to written, if not nil. It
// returns what it learnt of time. Any failure stops every goroutine of the
// pass, which returns only once all of them have.
func (r *syncRun) nodePass(ctx context.Context, extract func(context.Context, func(context.Context, extractor.Page) error) error, stager *loader.Stager, seen, written *loader.IDSpool) (reading, error) {
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	pages := make(chan extractor.Page, r.Config.Prefetch)
	g.Go(func() error {
		defer close(pages)
		err := extract(gctx, func(ctx context.Context, p extractor.Page) error {
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			// Nothing is deactivated on the strength of a partial read.
			return fmt.Errorf("read okta: %w", err)
		}
		return nil
	})
	var rd reading
	g.Go(func() error {
		w, wctx := errgroup.WithContext(gctx)
		w.SetLimit(r.writers())
		err := r.stage(wctx, pages, stager, seen, written, w, &rd)
		// Wait for the writers always. A staging failure of its own is the
		// cause; a cancelled stage was stopped by a writer's failure.
		werr := w.Wait()
		if err != nil && (werr == nil || !errors.Is(err, context.Canceled)) {
			return err
		}
		return werr
	})
	// g returns the first error, the cause: the cancellations it then
	// caused in the other goroutine come later.
	err := g.Wait()
	if rd.from.IsZero() { // a source without a clock: this machine's
		rd.from = start
	}
	return rd, err
}

// reading is what a node pass learnt of time from its pages, by the
// source's clock (extractor.Page).
type reading struct {
	newest time.Time // the newest change read (LastUpdated)
	from   time.Time // when the read began: the first page's ReadFrom
}

func (rd *reading) add(p extractor.Page) {
	if p.LastUpdated.After(rd.newest) {
		rd.newest = p.LastUpdated
	}
	if !p.ReadFrom.IsZero() && (rd.from.IsZero() || p.ReadFrom.Before(rd.from)) {
		rd.from = p.ReadFrom
	}
}

// watermark is where the next incremental sync starts reading: the newest
// change read, but never past the moment the read began. A user changed
// during a long read, on a page read before the change, has a lastUpdated
// later than that moment, so the next incremental reads it even when a
// later page showed a change newer still.
func (rd reading) watermark() time.Time {
	if rd.newest.After(rd.from) {
		return rd.from
	}
	return rd.newest
}

// stage turns pages into batches and hands each full batch to a writer,
// and spools every source id read to seen and every key staged to written
// (if not nil). It stops at the first failure of a writer (ctx is then
// done).
func (r *syncRun) stage(ctx context.Context, pages <-chan extractor.Page, stager *loader.Stager, seen, written *loader.IDSpool, w *errgroup.Group, rd *reading) error {
	prepared := false
	flush := func() error {
		b := stager.Take()
		// The schema is created with the first write, after Okta has
		// answered: a run that cannot read Okta writes nothing at all.
		if len(b.Nodes) > 0 && !prepared {
			if err := r.Publisher.Prepare(ctx); err != nil {
				return fmt.Errorf("prepare graph: %w", err)
			}
			prepared = true
		}
		if written != nil {
			for _, n := range b.Nodes {
				if err := written.Add(n.Key); err != nil {
					return err
				}
			}
		}
		w.Go(func() error { return r.writeBatch(ctx, b) })
		return nil
	}
	for {
		var p extractor.Page
		var ok bool
		select {
		case p, ok = <-pages:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		rd.add(p)
		r.update(func(s *Summary) {
			s.OutOfScope += p.OutOfScope
			for _, sk := range p.Skipped {
				s.Skipped++
				s.SkipReason[sk.Reason]++
			}
			for _, u := range p.Users {
				s.Seen++
				if u.IsActive {
					s.Active++
				} else {
					s.Inactive++
				}
			}
		})
		if seen != nil {
			// Skipped users are in the source too: never stale.
			for _, sk := range p.Skipped {
				if err := seen.Add(sk.SourceID); err != nil {
					return err
				}
			}
			for _, u := range p.Users {
				if err := seen.Add(u.SourceID); err != nil {
					return err
				}
			}
		}
		for _, u := range p.Users {
			if stager.Add(u) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !stager.Empty() {
		return flush()
	}
	return nil
}

// writeBatch writes one batch's nodes; the sink keeps their manager
// pairs. Counts are added once committed.
func (r *syncRun) writeBatch(ctx context.Context, b loader.Batch) error {
	t0 := time.Now()
	st, err := publishNodes(ctx, r.Publisher, r.values, b)
	took := time.Since(t0)
	r.update(func(s *Summary) {
		s.Timings.Publish += took
		s.addNodes(st)
		s.Duplicates += b.Duplicates
	})
	r.log.Debug("published users", zap.Int("rows", len(b.Nodes)), zap.Int("unwritten", len(b.Unwritten)),
		zap.Int("created", st.Created), zap.Int("updated", st.Updated))
	return err
}

// publishNodes is the node half of the one write path, for sync and the
// hook worker: the batch's nodes, if any (LinkManagers is the other).
func publishNodes(ctx context.Context, pub publisher.Publisher, run publisher.Run, b loader.Batch) (publisher.NodeStats, error) {
	if len(b.Nodes) == 0 {
		return publisher.NodeStats{}, nil
	}
	return pub.PublishNodes(ctx, run, b.Nodes)
}

// mergeStubs merges the case-variant stubs into their synced users, unless
// there are too many of them: then it merges none and returns the refusal.
func (r *syncRun) mergeStubs(ctx context.Context, m publisher.StubMerger) (refused, err error) {
	report, err := m.CaseVariantStubs(ctx, r.values)
	if err != nil {
		return nil, err
	}
	r.sum.StubsFound = report.Stubs
	if report.Stubs == 0 {
		return nil, nil
	}
	if float64(report.Stubs) > r.Config.MaxStubMerges*float64(report.Synced) && !r.Force {
		return &MergeRefusedError{Stubs: report.Stubs, Synced: report.Synced, Limit: r.Config.MaxStubMerges, Examples: report.Examples}, nil
	}
	st, err := m.MergeStubs(ctx, r.values, r.Config.BatchSize, report.Stubs)
	r.update(func(s *Summary) {
		s.StubsMerged, s.StubsLeft, s.StubRelationships = st.Merged, st.Left, st.Relationships
		s.Writes.Add(st.Writes)
	})
	return nil, err
}

// reconcile deactivates the managed users a complete full read did not
// return, unless there are too many of them.
// It reports whether the graph was reconciled with the read.
func (r *syncRun) reconcile(ctx context.Context, rec publisher.Reconciler, read publisher.Read) (bool, error) {
	sum := r.sum
	if sum.Seen+sum.Skipped == 0 {
		r.log.Warn("Okta returned no users at all: not deactivating anyone")
		sum.ReconcileSkipped = "okta returned no users"
		return false, nil
	}
	report, err := rec.Stale(ctx, r.values, read)
	if err != nil {
		return false, err
	}
	sum.Managed, sum.Missing, sum.MissingExamples = report.Managed, report.Stale, report.Examples
	if report.Stale == 0 {
		return true, nil
	}
	if float64(report.Stale) > r.Config.MaxDeactivate*float64(report.Managed) && !r.Force {
		return false, &RefusedError{Stale: report.Stale, Managed: report.Managed, Limit: r.Config.MaxDeactivate, Examples: report.Examples}
	}
	n, err := rec.Deactivate(ctx, r.values, read, r.Config.BatchSize)
	sum.DeactivatedMissing = n
	return err == nil, err
}

// searchBatches passes the keys of written, each once, batch at a time.
func searchBatches(written *loader.IDSpool, batch int, fn func([]string) error) error {
	if written == nil {
		return nil
	}
	it, err := written.Sorted()
	if err != nil {
		return err
	}
	keys := make([]string, 0, batch)
	for k, ok := it.Next(); ok; k, ok = it.Next() {
		if keys = append(keys, k); len(keys) == batch {
			if err := fn(keys); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(keys) > 0 {
		return fn(keys)
	}
	return nil
}
