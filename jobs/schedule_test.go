package jobs

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestScheduleConfigValidate(t *testing.T) {
	tests := []struct {
		cfg   ScheduleConfig
		wants []string
	}{
		{ScheduleConfig{Incremental: "@every 15m", Full: "@daily", AtStart: "none"}, nil},
		{ScheduleConfig{Incremental: "*/15 * * * *", Full: "0 2 * * *", AtStart: "full"}, nil},
		{ScheduleConfig{Incremental: "off", Full: "off", AtStart: "incremental"}, nil},
		{ScheduleConfig{Incremental: "every 15m", Full: "0 2 * *", AtStart: "later"},
			[]string{"serve.schedule.incremental", "serve.schedule.full", "serve.schedule.at_start"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if len(tt.wants) == 0 && err != nil {
			t.Errorf("%+v: %v", tt.cfg, err)
		}
		for _, w := range tt.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %v does not name %s", tt.cfg, err, w)
			}
		}
	}
}

func TestSchedulerNeverOverlaps(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	var running, maxRunning, runs atomic.Int32
	release := make(chan struct{})
	run := func(ctx context.Context, mode Mode) (Summary, error) {
		n := running.Add(1)
		defer running.Add(-1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		runs.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return Summary{Kind: string(mode), Outcome: "success"}, nil
	}
	s, err := NewScheduler(ScheduleConfig{Incremental: "@every 1s", Full: "off", AtStart: "full"}, run, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	// The start-up full run holds the lock; ticks and requests meanwhile are skipped.
	time.Sleep(2500 * time.Millisecond)
	s.Request(Incremental)
	time.Sleep(200 * time.Millisecond)
	if got := runs.Load(); got != 1 {
		t.Errorf("%d runs started while one was in progress, want 1", got)
	}
	skipped := testutil.ToFloat64(m.skipped.WithLabelValues("incremental"))
	if skipped < 1 {
		t.Errorf("skipped ticks counted: %v, want at least the one at 1s", skipped)
	}
	close(release)
	time.Sleep(1500 * time.Millisecond)
	if runs.Load() < 2 {
		t.Errorf("no run after the first ended")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if maxRunning.Load() != 1 {
		t.Errorf("max concurrent runs %d", maxRunning.Load())
	}
	if got := testutil.ToFloat64(m.runs.WithLabelValues("full", "success")); got != 1 {
		t.Errorf("runs_total{full,success} = %v", got)
	}
}

func TestSchedulerRequestRuns(t *testing.T) {
	var mu sync.Mutex
	var modes []Mode
	run := func(ctx context.Context, mode Mode) (Summary, error) {
		mu.Lock()
		modes = append(modes, mode)
		mu.Unlock()
		return Summary{Kind: string(mode), Outcome: "success"}, nil
	}
	s, err := NewScheduler(ScheduleConfig{Incremental: "off", Full: "off", AtStart: "none"}, run, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	s.Request(Incremental)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(modes)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(modes) != 1 || modes[0] != Incremental {
		t.Errorf("runs %v, want one incremental", modes)
	}
}
