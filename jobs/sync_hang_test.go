package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// pagedSource streams pages of users and skipped users, as the Okta
// extractor does, until the run stops reading.
type pagedSource struct {
	pages, users, skipped int
}

func (s pagedSource) Extract(ctx context.Context, fn func(context.Context, extractor.Page) error) error {
	for p := 0; p < s.pages; p++ {
		var page extractor.Page
		for i := 0; i < s.users; i++ {
			id := fmt.Sprintf("00u%d-%d", p, i)
			page.Users = append(page.Users, extractor.User{Key: id + "@x.io", SourceID: id, FullName: id, IsActive: true})
		}
		for i := 0; i < s.skipped; i++ {
			page.Skipped = append(page.Skipped, extractor.Skip{SourceID: fmt.Sprintf("00us%d-%d", p, i), Reason: "status mapped to skip"})
		}
		if err := fn(ctx, page); err != nil {
			return fmt.Errorf("list users, page %d: %w", p+1, err)
		}
	}
	return nil
}

func (s pagedSource) ExtractSince(ctx context.Context, _ time.Time, fn func(context.Context, extractor.Page) error) error {
	return s.Extract(ctx, fn)
}

func (pagedSource) Stats() extractor.Stats { return extractor.Stats{Remaining: -1} }

// stuckPublisher is a sink on a failing graph: the first node batch hangs
// until its context ends (a writer in flight on an unresponsive server),
// and, when failErr is set, every later batch fails once it does.
type stuckPublisher struct {
	fakePublisher
	failErr  error
	calls    atomic.Int32
	inFlight chan struct{} // closed once the first node batch hangs
	once     sync.Once
}

func newStuckPublisher(failErr error) *stuckPublisher {
	return &stuckPublisher{failErr: failErr, inFlight: make(chan struct{})}
}

func (p *stuckPublisher) Capabilities() publisher.Capabilities {
	return publisher.Capabilities{MaxWriters: 16, Reconciler: p}
}

func (p *stuckPublisher) PublishNodes(ctx context.Context, run publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	if p.calls.Add(1) == 1 {
		p.once.Do(func() { close(p.inFlight) })
		<-ctx.Done()
		return publisher.NodeStats{}, fmt.Errorf("upsert %d users: %w", len(rows), ctx.Err())
	}
	if p.failErr != nil {
		// Fail only once the first writer is in flight: the state of the hang.
		select {
		case <-p.inFlight:
		case <-ctx.Done():
			return publisher.NodeStats{}, ctx.Err()
		}
		return publisher.NodeStats{}, fmt.Errorf("upsert %d users: %w", len(rows), p.failErr)
	}
	return p.fakePublisher.PublishNodes(ctx, run, rows)
}

// runBounded runs the sync and fails the test if it has not returned
// within limit: a run must end by itself, whatever fails.
func runBounded(t *testing.T, ctx context.Context, s *Sync, limit time.Duration) (Summary, error) {
	t.Helper()
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := s.Run(ctx)
		done <- result{sum, err}
	}()
	select {
	case r := <-done:
		return r.sum, r.err
	case <-time.After(limit):
		t.Fatalf("the sync did not return within %s: it hangs", limit)
		return Summary{}, nil
	}
}

// hangConfig is the reproduction's shape: batches of 200, more skipped
// users per page than one batch holds, two writers.
func hangConfig() SyncConfig {
	c := DefaultSyncConfig()
	c.BatchSize, c.Writers = 200, 2
	return c
}

func TestSyncWriterFailureWithWriterInFlightReturns(t *testing.T) {
	boom := errors.New("neo4j: connection refused")
	pub := newStuckPublisher(boom)
	s := &Sync{Config: hangConfig(), Source: pagedSource{pages: 50, users: 100, skipped: 250}, Publisher: pub}
	_, err := runBounded(t, context.Background(), s, 10*time.Second)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the second writer's failure", err)
	}
	if !strings.Contains(err.Error(), "upsert") {
		t.Errorf("err = %v: the cause should say what failed", err)
	}
}

func TestSyncInterruptedWithWriterInFlightReturns(t *testing.T) {
	pub := newStuckPublisher(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Sync{Config: hangConfig(), Source: pagedSource{pages: 50, users: 100, skipped: 250}, Publisher: pub}
	go func() {
		<-pub.inFlight
		time.Sleep(50 * time.Millisecond) // let the other writer and the stager fill up
		cancel()                          // SIGTERM
	}()
	sum, err := runBounded(t, ctx, s, 10*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the interruption", err)
	}
	if sum.Outcome != "failure" || sum.Missing != 0 || sum.DeactivatedMissing != 0 {
		t.Errorf("an interrupted run must not reconcile: %+v", sum)
	}
}

// failingPublisher fails its third node batch.
type failingPublisher struct {
	fakePublisher
	calls atomic.Int32
}

func (p *failingPublisher) PublishNodes(ctx context.Context, run publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	if p.calls.Add(1) == 3 {
		return publisher.NodeStats{}, errors.New("neo4j: database unavailable")
	}
	return p.fakePublisher.PublishNodes(ctx, run, rows)
}

// countingSource counts the pages it was allowed to hand over.
type countingSource struct {
	pagedSource
	read atomic.Int32
}

func (s *countingSource) Extract(ctx context.Context, fn func(context.Context, extractor.Page) error) error {
	return s.pagedSource.Extract(ctx, func(ctx context.Context, p extractor.Page) error {
		s.read.Add(1)
		return fn(ctx, p)
	})
}

func TestSyncWriterFailureStopsExtraction(t *testing.T) {
	pub := &failingPublisher{}
	src := &countingSource{pagedSource: pagedSource{pages: 10_000, users: 200}}
	s := &Sync{Config: hangConfig(), Source: src, Publisher: pub}
	_, err := runBounded(t, context.Background(), s, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "database unavailable") {
		t.Fatalf("err = %v, want the writer's failure", err)
	}
	if n := src.read.Load(); n >= 10_000 {
		t.Errorf("the source was read to the end (%d pages) after a writer failed", n)
	}
	if len(pub.managers) != 0 {
		t.Errorf("the manager pass ran after a failed node pass")
	}
}
