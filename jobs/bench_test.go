package jobs_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/neo4jtest"
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

// startSimProcess runs oktasim in its own process, so that the heap this
// benchmark reports is oktasync's alone.
func startSimProcess(b *testing.B, users int) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "oktasim")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/oktasync/oktasync/cmd/oktasim").CombinedOutput(); err != nil {
		b.Fatalf("build oktasim: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--users", strconv.Itoa(users), "--seed", "1", "--addr", "127.0.0.1:0", "--rate-limit", "100000000")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "OKTASIM_READY "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return url
		}
	}
	b.Fatalf("oktasim did not start: %v", sc.Err())
	return ""
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
	url := startSimProcess(b, n)
	sync := func(b *testing.B) jobs.Summary {
		ocfg := okta.DefaultConfig()
		ocfg.OrgURL, ocfg.Token = url, "bench"
		src, err := okta.New(ocfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		ncfg := neo4j.DefaultConfig()
		ncfg.URI = neo4jtest.URI(b)
		pub, err := neo4j.New(ncfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer pub.Close(context.Background())
		sum, err := (&jobs.Sync{Config: jobs.DefaultSyncConfig(), Source: src, Publisher: pub, Org: url}).Run(context.Background())
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
