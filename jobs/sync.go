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
}

// Defaults fills unset fields.
func (c *SyncConfig) Defaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 2000
	}
	if c.Prefetch == 0 {
		c.Prefetch = 4
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
	return errors.Join(errs...)
}

// Sync is a full sync: every user of the source is published, then the
// manager edges.
type Sync struct {
	Config    SyncConfig
	Source    extractor.Source
	Publisher publisher.Publisher
	Log       *zap.Logger
}

// oktaStats is implemented by the Okta extractor.
type oktaStats interface{ Stats() okta.Stats }

// Run performs the full sync and returns its summary, also on failure.
func (s *Sync) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	sum := Summary{Kind: "full", Outcome: "failure", SkipReason: map[string]int{}}
	err := s.run(ctx, &sum)
	if st, ok := s.Source.(oktaStats); ok {
		o := st.Stats()
		sum.Pages, sum.OktaRequests, sum.RateLimited, sum.Retries, sum.Pauses = o.Pages, o.Requests, o.RateLimited, o.Retries, o.Pauses
	}
	sum.Duration = time.Since(start)
	if err == nil {
		sum.Outcome = "success"
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
		extractErr <- s.Source.Extract(ctx, func(ctx context.Context, p extractor.Page) error {
			select {
			case pages <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	b := newBatcher(cfg.BatchSize)
	prepared := false
	flush := func() error {
		users, dups := b.take()
		sum.Duplicates += dups
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
		st, err := s.Publisher.PublishNodes(ctx, rows)
		sum.Created += st.Created
		sum.Updated += st.Updated
		sum.Unchanged += st.Unchanged
		return err
	}
	var publishErr error
	for p := range pages {
		if publishErr != nil {
			continue // drain so the extractor can stop
		}
		for _, sk := range p.Skipped {
			sum.Skipped++
			sum.SkipReason[sk.Reason]++
		}
		for _, u := range p.Users {
			sum.Seen++
			if u.IsActive {
				sum.Active++
			} else {
				sum.Inactive++
			}
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
	switch {
	case publishErr != nil:
		return publishErr
	case eerr != nil:
		return fmt.Errorf("read okta: %w", eerr)
	}
	if err := flush(); err != nil {
		return err
	}
	log.Debug("nodes published; writing manager edges", zap.Int("users", spool.Len()))
	return spool.Batches(cfg.BatchSize, func(rows []loader.ManagerRow) error {
		st, err := s.Publisher.PublishManagers(ctx, rows)
		sum.ManagersLinked += st.Linked
		sum.ManagersKept += st.Kept
		sum.ManagersUnlinked += st.Unlinked
		sum.ManagersMissing += st.Missing
		return err
	})
}

// batcher collects users into node rows, one row per key: when two users of
// a batch share a key, the active one wins, then the most recently updated.
type batcher struct {
	size  int
	users []extractor.User
	index map[string]int
	dups  int
}

func newBatcher(size int) *batcher {
	return &batcher{size: size, users: make([]extractor.User, 0, size), index: make(map[string]int, size)}
}

// add stages u and reports whether the batch is full.
func (b *batcher) add(u extractor.User) bool {
	if i, ok := b.index[u.Key]; ok {
		b.dups++
		if wins(u, b.users[i]) {
			b.users[i] = u
		}
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

// take returns the staged users and the duplicate count, and resets the batch.
func (b *batcher) take() ([]extractor.User, int) {
	users, dups := b.users, b.dups
	b.users = make([]extractor.User, 0, b.size)
	clear(b.index)
	b.dups = 0
	return users, dups
}
