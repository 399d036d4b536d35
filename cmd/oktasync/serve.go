package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/elasticsearch"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// runServe is `oktasync serve`: the event hook endpoint and its worker,
// scheduled syncs, and the health and metrics endpoints, in one process
// that shuts down cleanly on SIGTERM.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f := newServeFlags(stderr)
	cfg, log, code := setup(f, args, getenv, stderr)
	if log == nil {
		return code
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
	srv, err := newServer(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	defer srv.close()
	ln, err := net.Listen("tcp", cfg.Serve.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "oktasync: listen on %s: %v\n", cfg.Serve.Listen, err)
		return exitFailed
	}
	if err := srv.serve(ctx, ln); err != nil {
		log.Error("serve failed", zap.Error(err))
		fmt.Fprintln(stderr, "oktasync:", err)
		return exitFailed
	}
	return exitOK
}

// server is the long-running process: its parts and their owner.
type server struct {
	cfg       config
	log       *zap.Logger
	reg       *prometheus.Registry
	metrics   *jobs.Metrics
	okta      *okta.Extractor
	hookPub   *neo4j.Publisher
	worker    *jobs.HookWorker
	search    *elasticsearch.Index // nil when people search is off
	scheduler *jobs.Scheduler
	http      *http.Server

	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error
}

// newServer builds every part; it does no I/O.
func newServer(cfg config, log *zap.Logger) (*server, error) {
	s := &server{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = jobs.NewMetrics(s.reg)
	var err error
	if s.okta, err = okta.New(cfg.Okta, log); err != nil {
		return nil, err
	}
	if s.hookPub, err = neo4j.New(cfg.Neo4j, log); err != nil {
		return nil, err
	}
	if s.search, err = newPeopleIndex(cfg.Search, log); err != nil {
		return nil, err
	}
	s.scheduler, err = jobs.NewScheduler(cfg.Serve.Schedule, s.runSync, log, s.metrics)
	if err != nil {
		return nil, err
	}
	hookCfg := cfg.Serve.HookWorker
	hookCfg.SpoolDir = cfg.Sync.SpoolDir
	s.worker, err = jobs.NewHookWorker(hookCfg, s.okta, s.hookPub, peopleIndex(s.search), log, s.metrics,
		func() { s.scheduler.Request(jobs.Incremental) })
	if err != nil {
		return nil, err
	}
	hook, err := okta.NewHookHandler(cfg.Serve.Hook, s.worker.Enqueue, s.metrics)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Serve.HookPath, hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// runSync is one scheduled sync with fresh stages, so its counters and run
// marker are its own.
func (s *server) runSync(ctx context.Context, mode jobs.Mode) (jobs.Summary, error) {
	src, err := okta.New(s.cfg.Okta, s.log)
	if err != nil {
		return jobs.Summary{Kind: string(mode), Outcome: "failure"}, err
	}
	pub, err := neo4j.New(s.cfg.Neo4j, s.log)
	if err != nil {
		return jobs.Summary{Kind: string(mode), Outcome: "failure"}, err
	}
	defer func() {
		if err := pub.Close(context.WithoutCancel(ctx)); err != nil {
			s.log.Debug("close neo4j driver", zap.Error(err))
		}
	}()
	job := &jobs.Sync{Config: s.cfg.Sync, Source: src, Publisher: pub, Log: s.log, Mode: mode, Org: s.cfg.Okta.OrgURL, Identity: src, Search: peopleIndex(s.search)}
	return job.Run(ctx)
}

// serve runs until ctx is done, then shuts down: it stops accepting,
// drains the hook queue (bounded), lets a sync in progress see the
// cancellation, and returns nil on a clean shutdown.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The worker stops only after the HTTP server has: a delivery answered
	// 204 during shutdown is still in the queue the worker drains.
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		errc <- s.worker.Run(workerCtx)
	}()
	go func() {
		defer wg.Done()
		errc <- s.scheduler.Run(runCtx)
	}()
	s.log.Info("serving", zap.String("listen", ln.Addr().String()), zap.String("hook_path", s.cfg.Serve.HookPath),
		zap.String("incremental_schedule", s.cfg.Serve.Schedule.Incremental), zap.String("full_schedule", s.cfg.Serve.Schedule.Full))

	<-runCtx.Done()
	s.log.Info("shutting down: no new deliveries; draining the hook queue",
		zap.Int("queued", s.worker.Depth()), zap.Int("in_flight", s.worker.InFlight()))
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Serve.ShutdownTimeout)
	defer scancel()
	var errs []error
	if err := s.http.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	cancel()
	stopWorker()
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			errs = append(errs, err)
		}
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

func (s *server) close() {
	_ = s.hookPub.Close(context.Background())
	if s.search != nil {
		s.search.Close()
	}
}

// ready answers /readyz: Neo4j reachable and Okta accepting the
// credentials. Results are cached so probes cost Okta little.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if time.Since(s.readyAt) > s.cfg.Serve.ReadyCacheTTL || (s.readyErr != nil && time.Since(s.readyAt) > time.Second) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		s.readyErr = errors.Join(s.hookPub.Verify(ctx), s.okta.Ping(ctx))
		s.readyAt = time.Now()
	}
	if s.readyErr != nil {
		s.log.Warn("not ready", zap.Error(s.readyErr))
		http.Error(w, "not ready (see the logs)", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}
