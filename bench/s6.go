package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// S6: `oktasync serve`'s event hooks, on the graph of an S1 sync, with
// schedules off. (a) The handler's latency at s6HandlerRate deliveries per
// second, an open-loop schedule: request i is due at start + i/rate, and
// its latency runs from when it was due (not from when it was sent), so a
// slow answer cannot hold back the requests behind it and hide its cost.
// (b) Hook-to-visible latency at s6ChangeRate user changes per second:
// each change is a PATCH of the user's title through the simulator's admin
// API, then this harness delivers the event hook itself (not the
// simulator's hook sender, whose batching would add its own delay); the
// clock starts as the delivery is sent and stops when a poll of Neo4j
// (every s6Poll) sees the new title. The worker's coalescing window
// (serve.hook_worker.coalesce, default 300 ms) is part of what is measured.
const (
	s6Users       = 10000
	s6HandlerRate = 500
	s6Handler     = 5000
	s6ChangeRate  = 100
	s6Changes     = 1000
	s6Poll        = 20 * time.Millisecond
	s6Secret      = "bench-hook-secret-0123456789"
	s6Path        = "/okta/events"
)

// hooks is S6.
func (b *bench) hooks(ctx context.Context) error {
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	n, handler, changes := s6Users, s6Handler, s6Changes
	if len(b.o.users) > 0 {
		n = b.o.users[0]
	}
	if b.o.smoke {
		handler, changes = s6HandlerRate, s6ChangeRate // one second of each
	}
	return b.withSim(ctx, simOptions{users: n}, func(s *sim, export []oktaUser) error {
		if err := resetGraph(ctx, b.driver); err != nil {
			return err
		}
		if _, err := b.measure(ctx, "S6", fmt.Sprintf("S1 sync before serve, %d users", n), b.o.oktasync, s, export, false); err != nil {
			return err
		}
		srv, err := startServe(ctx, b, s.URL, "")
		if err != nil {
			return err
		}
		defer srv.stop()

		// The users the changes and deliveries are about: active users
		// that are nodes of the graph (winners of their key).
		var targets []expected
		for _, e := range expectUsers(export) {
			if e.active {
				targets = append(targets, e)
			}
		}
		slices.SortFunc(targets, func(a, c expected) int { return strings.Compare(a.oktaID, c.oktaID) })
		if len(targets) == 0 {
			return fmt.Errorf("the org of %d users has no active user to change", n)
		}
		changes = min(changes, len(targets))

		r, err := b.hookHandler(ctx, srv, targets, handler)
		if r.Label != "" {
			b.report.add("S6", r)
			b.report.note("S6", r.ExtraNotes)
			b.say("S6 %s", r.ExtraNotes)
		}
		if err != nil {
			return err
		}

		r, err = b.hookToVisible(ctx, s, srv, targets[:changes])
		if err != nil {
			if r.Label != "" {
				b.report.add("S6", r)
				b.report.note("S6", r.ExtraNotes)
			}
			return err
		}
		after, err := s.export(ctx, len(export))
		if err != nil {
			return err
		}
		if r.Verified, err = verify(ctx, b.driver, after); err != nil {
			r.Verified = "WRONG: " + err.Error()
		}
		b.report.add("S6", r)
		b.report.note("S6", r.ExtraNotes)
		b.say("S6 %s; graph %s", r.ExtraNotes, r.Verified)
		if err != nil {
			return fmt.Errorf("graph after the hooks: %w", err)
		}
		return nil
	})
}

// serveProc is `oktasync serve` in its own process.
type serveProc struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	log  string
}

// startServe starts bin/oktasync serve against the org and the graph, with
// schedules off, and waits for /healthz. extraCfg is YAML added to the
// config file (other top-level sections than serve), env is added to the
// environment.
func startServe(ctx context.Context, b *bench, orgURL, extraCfg string, env ...string) (*serveProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close() // a free port for serve; nothing else here binds ports
	cfgPath := filepath.Join(b.work, "serve.yaml")
	cfg := "serve:\n  schedule:\n    incremental: \"off\"\n    full: \"off\"\n    at_start: none\n" + extraCfg
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p := &serveProc{base: "http://" + addr, log: b.logPath("oktasync-serve")}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(b.o.oktasync, "serve", "--config", cfgPath, "--listen", addr, "--log-format", "json", "--log-level", "warn")
	p.cmd.Env = append(childEnv(), "OKTA_ORG_URL="+orgURL, "OKTA_API_TOKEN=bench-token",
		"NEO4J_URI="+b.o.neo4jURI, "OKTASYNC_HOOK_SECRETS="+s6Secret)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start oktasync serve: %w", err)
	}
	_ = logf.Close() // the child has its own descriptor
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			p.stop()
			return nil, ctx.Err()
		}
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("oktasync serve not healthy after a minute (log: %s)", p.log)
}

func (p *serveProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// hookDelivery is one Okta event hook delivery of one user event.
func hookDelivery(uuid, userID string, published time.Time) string {
	return fmt.Sprintf(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"bench","eventId":"d-%s",`+
		`"eventTime":%q,"contentType":"application/json","data":{"events":[{"uuid":%q,"published":%q,"eventType":"user.account.update_profile",`+
		`"version":"0","severity":"INFO","displayMessage":"Update user profile for Okta","actor":{"id":"00ubenchadmin","type":"User"},`+
		`"target":[{"id":%q,"type":"User","alternateId":"bench","displayName":"Bench"}]}]}}`,
		uuid, published.Format(time.RFC3339Nano), uuid, published.Format(time.RFC3339Nano), userID)
}

func (p *serveProc) client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}}
}

// post sends one delivery; an answer other than 2xx is an error.
func (p *serveProc) post(ctx context.Context, c *http.Client, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+s6Path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", s6Secret)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// openLoop calls fn(i) for i in [0, n) at rate per second, each in its own
// goroutine at its due time whether or not earlier calls have returned,
// and waits for all of them. fn gets the due time.
func openLoop(n, rate int, fn func(i int, due time.Time)) {
	var wg sync.WaitGroup
	start := time.Now().Add(20 * time.Millisecond)
	interval := time.Second / time.Duration(rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Go(func() { fn(i, due) })
	}
	wg.Wait()
}

// percentiles formats p50/p90/p99/max of ds (nearest rank) in ms.
func percentiles(ds []time.Duration, ps ...float64) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var parts []string
	for _, p := range ps {
		k := max(int(math.Ceil(p/100*float64(len(s))))-1, 0)
		parts = append(parts, fmt.Sprintf("p%g %.2f ms", p, ms(s[k])))
	}
	return strings.Join(append(parts, fmt.Sprintf("max %.2f ms", ms(s[len(s)-1]))), ", ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func quantile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(int(math.Ceil(p/100*float64(len(s))))-1, 0)]
}

// hookHandler is S6 (a).
func (b *bench) hookHandler(ctx context.Context, p *serveProc, targets []expected, n int) (runResult, error) {
	bodies := make([]string, n)
	now := time.Now().UTC()
	for i := range bodies {
		bodies[i] = hookDelivery(fmt.Sprintf("bench-a-%d-%d", now.UnixNano(), i), targets[i%len(targets)].oktaID, now)
	}
	c := p.client()
	lat, lag := make([]time.Duration, n), make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	load := loadAvg()
	start := time.Now()
	openLoop(n, s6HandlerRate, func(i int, due time.Time) {
		lag[i] = time.Since(due)
		if err := p.post(ctx, c, bodies[i]); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		lat[i] = time.Since(due)
	})
	wall := time.Since(start)
	if ctx.Err() != nil {
		return runResult{}, ctx.Err()
	}
	p99 := quantile(lat, 99)
	verdict := "meets"
	if p99 >= 10*time.Millisecond {
		verdict = "MISSES"
	}
	slow := 0
	for _, l := range lat {
		if l >= 10*time.Millisecond {
			slow++
		}
	}
	notes := fmt.Sprintf("handler, %d deliveries (1 user event each) at %d/s open loop on loopback: %s; %d errors; target p99 < 10 ms: %s "+
		"(%d answers took 10 ms or more; the harness's own lag from due time to sending: %s)",
		n, s6HandlerRate, percentiles(lat, 50, 90, 99), failed.Load(), verdict, slow, percentiles(lag, 50, 99))
	if e, ok := firstErr.Load().(string); ok {
		notes += " (first error: " + e + ")"
	}
	r := runResult{Label: fmt.Sprintf("hook handler, %d deliveries at %d/s", n, s6HandlerRate), Users: n, WallS: wall.Seconds(),
		UsersPerS: float64(n) / wall.Seconds(), LoadAvg: load, Verified: "n/a (latency only)", ExtraNotes: notes}
	if failed.Load() > 0 {
		return r, fmt.Errorf("%s", notes)
	}
	return r, nil
}

// hookToVisible is S6 (b).
func (b *bench) hookToVisible(ctx context.Context, s *sim, p *serveProc, targets []expected) (runResult, error) {
	n := len(targets)
	c := p.client()
	tag := time.Now().UTC().Format("150405")
	want := func(i int) string { return fmt.Sprintf("Bench S6 %s #%d", tag, i) }
	sent := make([]atomic.Int64, n) // unix nanos the delivery was sent, 0 before
	patched := make([]time.Time, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	visible := make([]time.Duration, n)
	sinceChange := make([]time.Duration, n)
	seen := make([]bool, n)
	pollErr := make(chan error, 1)
	stopPoll := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		pollErr <- b.pollVisible(ctx, targets, want, sent, patched, visible, sinceChange, seen, stopPoll)
	})
	load := loadAvg()
	start := time.Now()
	openLoop(n, s6ChangeRate, func(i int, _ time.Time) {
		t := targets[i]
		patched[i] = time.Now()
		body := map[string]any{"profile": map[string]any{"title": want(i)}}
		if err := s.admin(ctx, "PATCH", "/admin/users/"+t.oktaID, body, nil); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		at := time.Now()
		sent[i].Store(at.UnixNano())
		if err := p.post(ctx, c, hookDelivery(fmt.Sprintf("bench-b-%s-%d", tag, i), t.oktaID, at.UTC())); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	})
	close(stopPoll)
	wg.Wait()
	err := <-pollErr
	wall := time.Since(start)
	if err != nil {
		return runResult{}, err
	}
	var got, since []time.Duration
	for i := range n {
		if seen[i] {
			got = append(got, visible[i])
			since = append(since, sinceChange[i])
		}
	}
	verdict := "n/a"
	if len(got) > 0 {
		verdict = "meets"
		if quantile(got, 99) >= 2*time.Second || len(got) < n {
			verdict = "MISSES"
		}
	}
	notes := fmt.Sprintf("hook to visible, %d title changes at %d/s (admin PATCH, then the harness delivers the hook itself: no simulator batching; "+
		"Neo4j polled every %s): %d of %d visible; from delivery sent: %s; from PATCH sent: %s; %d errors; target p99 < 2 s: %s",
		n, s6ChangeRate, s6Poll, len(got), n, percentiles(got, 50, 99), percentiles(since, 50, 99), failed.Load(), verdict)
	if e, ok := firstErr.Load().(string); ok {
		notes += " (first error: " + e + ")"
	}
	r := runResult{Label: fmt.Sprintf("hook to visible, %d changes at %d/s", n, s6ChangeRate), Users: n, WallS: wall.Seconds(),
		UsersPerS: float64(len(got)) / wall.Seconds(), LoadAvg: load, ExtraNotes: notes}
	if failed.Load() > 0 || len(got) < n {
		return r, fmt.Errorf("%s", notes)
	}
	return r, nil
}

// pollVisible reads the title (role_name) of the changed users that are
// not yet seen, every s6Poll, until every change is seen or, once stop is
// closed, 30 s have passed without one.
func (b *bench) pollVisible(ctx context.Context, targets []expected, want func(int) string, sent []atomic.Int64,
	patched []time.Time, visible, sinceChange []time.Duration, seen []bool, stop <-chan struct{}) error {
	var stopped bool
	var lastSeen time.Time
	for {
		var keys []string
		var idx []int
		for i := range targets {
			if !seen[i] && sent[i].Load() != 0 {
				keys = append(keys, targets[i].key)
				idx = append(idx, i)
			}
		}
		if len(keys) > 0 {
			res, err := neo4j.ExecuteQuery(ctx, b.driver, `UNWIND $keys AS k MATCH (u:User {key: k}) RETURN k, u.role_name AS t`,
				map[string]any{"keys": keys}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithReadersRouting())
			if err != nil {
				return fmt.Errorf("poll the graph: %w", err)
			}
			now := time.Now()
			titles := make(map[string]string, len(res.Records))
			for _, rec := range res.Records {
				k, _ := rec.AsMap()["k"].(string)
				t, _ := rec.AsMap()["t"].(string)
				titles[k] = t
			}
			for j, i := range idx {
				if titles[keys[j]] == want(i) {
					seen[i] = true
					visible[i] = now.Sub(time.Unix(0, sent[i].Load()))
					sinceChange[i] = now.Sub(patched[i])
					lastSeen = now
				}
			}
		}
		if !stopped {
			select {
			case <-stop:
				stopped = true
				lastSeen = time.Now()
			default:
			}
		}
		if stopped {
			all := true
			for i := range seen {
				all = all && (seen[i] || sent[i].Load() == 0)
			}
			if all || time.Since(lastSeen) > 30*time.Second {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s6Poll):
		}
	}
}
