package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// ScheduleConfig says when `serve` runs syncs on its own.
type ScheduleConfig struct {
	// Incremental and Full are cron specs: 5 fields or descriptors such as
	// "@every 15m" and "@daily". "off" disables that schedule.
	Incremental string `yaml:"incremental"`
	Full        string `yaml:"full"`
	// AtStart runs one sync when serve starts: "incremental" (falls back to
	// full without a watermark), "full" or "none".
	AtStart string `yaml:"at_start"`
}

// DefaultScheduleConfig is the documented default: incremental every 15
// minutes, full nightly, an incremental one at start.
func DefaultScheduleConfig() ScheduleConfig {
	return ScheduleConfig{Incremental: "@every 15m", Full: "0 2 * * *", AtStart: "incremental"}
}

// Validate parses the specs and reports every problem.
func (c ScheduleConfig) Validate() error {
	var errs []error
	for name, spec := range map[string]string{"serve.schedule.incremental": c.Incremental, "serve.schedule.full": c.Full} {
		if spec == "off" {
			continue
		}
		if _, err := cron.ParseStandard(spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a cron spec (5 fields or @every/@daily…): %w", name, spec, err))
		}
	}
	switch c.AtStart {
	case "incremental", "full", "none":
	default:
		errs = append(errs, fmt.Errorf("serve.schedule.at_start: must be incremental, full or none, got %q", c.AtStart))
	}
	return errors.Join(errs...)
}

// RunFunc performs one sync of the given mode.
type RunFunc func(ctx context.Context, mode Mode) (Summary, error)

// Scheduler runs syncs on cron schedules and on request, never two at once.
// A tick that finds a run in progress is skipped and counted — except that a
// full sync, or a requested run (hook overflow), is kept pending and runs
// as soon as the current one ends: those carry work nothing else does.
type Scheduler struct {
	cfg     ScheduleConfig
	run     RunFunc
	log     *zap.Logger
	metrics *Metrics

	busy     sync.Mutex
	requests chan Mode

	mu      sync.Mutex
	pending Mode // run next, once the current run ends; Full beats Incremental
}

// NewScheduler validates cfg.
func NewScheduler(cfg ScheduleConfig, run RunFunc, log *zap.Logger, metrics *Metrics) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Scheduler{cfg: cfg, run: run, log: log.With(zap.String("component", "scheduler")), metrics: metrics, requests: make(chan Mode, 1)}, nil
}

// Request asks for a run soon (without blocking); requests made while one
// is pending are merged.
func (s *Scheduler) Request(mode Mode) {
	select {
	case s.requests <- mode:
	default:
	}
}

// Run starts the schedules and blocks until ctx is done, then waits for a
// run in progress to end (it sees the cancelled ctx).
func (s *Scheduler) Run(ctx context.Context) error {
	c := cron.New()
	for mode, spec := range map[Mode]string{Incremental: s.cfg.Incremental, Full: s.cfg.Full} {
		if spec == "off" {
			continue
		}
		if _, err := c.AddFunc(spec, func() { s.tick(ctx, mode) }); err != nil {
			return fmt.Errorf("schedule %s sync %q: %w", mode, spec, err)
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	switch s.cfg.AtStart {
	case "incremental":
		s.Request(Incremental)
	case "full":
		s.Request(Full)
	}
	c.Start()
	defer func() { <-c.Stop().Done() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case mode := <-s.requests:
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.tickOrDefer(ctx, mode, true)
			}()
		}
	}
}

// tick runs one sync unless another is in progress.
func (s *Scheduler) tick(ctx context.Context, mode Mode) {
	if ctx.Err() != nil {
		return
	}
	s.tickOrDefer(ctx, mode, false)
}

// tickOrDefer runs mode now, or when keep is set (or mode is Full) leaves
// it pending for when the current run ends.
func (s *Scheduler) tickOrDefer(ctx context.Context, mode Mode, keep bool) {
	if !s.busy.TryLock() {
		if keep || mode == Full {
			s.mu.Lock()
			if s.pending != Full {
				s.pending = mode
			}
			s.mu.Unlock()
			s.log.Info("a run is in progress: this sync will follow it", zap.String("kind", string(mode)))
			return
		}
		s.log.Info("skipping a scheduled sync: another run is in progress", zap.String("kind", string(mode)))
		s.metrics.ScheduleSkipped(string(mode))
		return
	}
	defer s.busy.Unlock()
	for ctx.Err() == nil {
		sum, err := s.run(ctx, mode)
		s.metrics.ObserveRun(sum.Kind, sum)
		if err != nil {
			s.log.Error("scheduled sync failed", append(sum.Fields(), zap.Error(err))...)
		} else {
			s.log.Info("sync finished", sum.Fields()...)
		}
		s.mu.Lock()
		mode, s.pending = s.pending, ""
		s.mu.Unlock()
		if mode == "" {
			return
		}
	}
}
