package jobs_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// peakHeap samples the heap while fn runs and returns the largest
// HeapInuse seen, in MiB.
func peakHeap(fn func()) float64 {
	var (
		peak uint64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return float64(peak) / (1 << 20)
}

// BenchmarkFullSync measures a full sync of OKTASYNC_BENCH_USERS simulated
// users (default 20,000) into the real Neo4j: the first sync into an empty
// graph, and a re-sync where nothing changed. Run with `make bench`.
func BenchmarkFullSync(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("OKTASYNC_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	d := neo4jtest.Driver(b)
	sim, url := oktasimtest.Start(b, oktasim.Config{Users: n, Seed: 1, RateLimit: 1 << 30})
	_ = sim
	sync := func(b *testing.B) jobs.Summary {
		src, err := okta.New(okta.Config{OrgURL: url, Token: "bench"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := neo4j.New(neo4j.Config{URI: neo4jtest.URI(b)}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer pub.Close(context.Background())
		sum, err := (&jobs.Sync{Source: src, Publisher: pub, Org: url}).Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		return sum
	}
	report := func(b *testing.B, sum jobs.Summary, elapsed time.Duration, heap float64) {
		b.ReportMetric(float64(sum.Seen)/elapsed.Seconds()*float64(b.N), "users/s")
		b.ReportMetric(heap, "peak-heap-MiB")
		b.ReportMetric(float64(sum.OktaRequests), "okta-requests")
	}
	b.Run("initial", func(b *testing.B) {
		var sum jobs.Summary
		var elapsed time.Duration
		var heap float64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			neo4jtest.Reset(b, d)
			b.StartTimer()
			start := time.Now()
			heap = max(heap, peakHeap(func() { sum = sync(b) }))
			elapsed += time.Since(start)
		}
		report(b, sum, elapsed, heap)
	})
	b.Run("unchanged", func(b *testing.B) {
		var sum jobs.Summary
		var elapsed time.Duration
		var heap float64
		for i := 0; i < b.N; i++ {
			start := time.Now()
			heap = max(heap, peakHeap(func() { sum = sync(b) }))
			elapsed += time.Since(start)
			if sum.Updated != 0 || sum.Created != 0 {
				b.Fatalf("re-sync changed users: %+v", sum)
			}
		}
		report(b, sum, elapsed, heap)
	})
}
