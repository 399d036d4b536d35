package okta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RateLimitError means Okta kept answering 429 after oktasync had waited
// out MaxRateLimitWaits windows.
type RateLimitError struct {
	Waits int
	Reset time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("okta rate limit: still 429 after waiting %d windows (next reset %s)", e.Waits, e.Reset.UTC().Format(time.RFC3339))
}

// TransportError means an Okta request could not complete (connection
// refused, reset, timeout) after every retry. It deliberately does not unwrap
// to the network error: SDK v2 retries io.EOF forever, without delay.
type TransportError struct {
	Attempts int
	Cause    string
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("okta unreachable after %d attempts: %s", e.Attempts, e.Cause)
}

// attemptsHeader carries the attempt count of a final 5xx from the
// transport, through the SDK, to the APIError (it is never sent anywhere).
const attemptsHeader = "X-Oktasync-Attempts"

// Counters are the Okta traffic numbers of a run. Safe for concurrent use.
type Counters struct {
	Requests    atomic.Int64 // HTTP attempts sent
	RateLimited atomic.Int64 // 429 responses
	Retries     atomic.Int64 // attempts repeated after a 5xx, timeout or connection error
	Pauses      atomic.Int64 // waits for a rate-limit window to reset before a 429
	Remaining   atomic.Int64 // X-Rate-Limit-Remaining of the latest response (-1 unknown)
}

// transport sits between the SDK and the network. It gives every attempt its
// own deadline, paces requests from Okta's X-Rate-Limit-* headers before a
// 429 happens, waits out 429s until the window resets, and retries 5xx,
// timeouts and connection errors a bounded number of times with backoff.
// The SDK's own retries are off.
type transport struct {
	base     http.RoundTripper
	cfg      Config
	counters *Counters
	sleep    func(context.Context, time.Duration) error
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	// margin is how long after the estimated reset a pause ends:
	// resetMargin, or slowMargin once Okta has answered 429 (its resets
	// may then not be what its headers say).
	margin time.Duration
}

// bucket is what Okta last said about one rate-limit bucket.
type bucket struct {
	limit, remaining int
	resetEpoch       int64 // the window's X-Rate-Limit-Reset
	// reset is the window's reset on the local clock: the earliest of the
	// estimates of the window's responses, none of which is early (see
	// observe). dated says it comes from a response with a Date header.
	reset time.Time
	dated bool
	// lastReset is the latest response's own estimate: up to a second
	// late, which is what a 429 calls for (the estimate that let it happen
	// is no longer trusted).
	lastReset time.Time
}

func newTransport(base http.RoundTripper, cfg Config, counters *Counters) *transport {
	counters.Remaining.Store(-1)
	return &transport{
		base:     base,
		cfg:      cfg,
		counters: counters,
		sleep:    sleepCtx,
		now:      time.Now,
		buckets:  make(map[string]*bucket),
		margin:   resetMargin,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bucketOf names the Okta rate-limit bucket of a request, as Okta groups
// paths: list users and one user (its groups too) are separate buckets;
// one group is a bucket of its own, while listing groups and their members
// share one ("/api/v1/groups except /api/v1/groups/{id}"); every path
// under /api/v1/apps/ but an app's own shares one. A path with an id is
// never a bucket of its own: that would leave Okta's shared budget unpaced.
func bucketOf(r *http.Request) string {
	p := strings.TrimSuffix(r.URL.Path, "/")
	segs := strings.Split(strings.TrimPrefix(p, "/api/v1/"), "/")
	switch {
	case !strings.HasPrefix(p, "/api/v1/") || len(segs) < 2:
		return r.Method + " " + p
	case segs[0] == "users":
		return r.Method + " /api/v1/users/{id}"
	case segs[0] == "groups" && len(segs) == 2:
		return r.Method + " /api/v1/groups/{id}"
	case segs[0] == "groups":
		return r.Method + " /api/v1/groups"
	case segs[0] == "apps" && len(segs) == 2:
		return r.Method + " /api/v1/apps/{id}"
	case segs[0] == "apps":
		return r.Method + " /api/v1/apps/*"
	}
	return r.Method + " /api/v1/" + segs[0] + "/{id}"
}

// noRetryKey marks a context whose requests the transport sends once:
// see withoutRetries.
type noRetryKey struct{}

// withoutRetries returns a context whose requests the transport does not
// repeat after a 5xx, timeout or connection error, for a request that is
// not idempotent (creating an event hook): Okta may have carried out an
// attempt whose answer was lost, and the caller must look before trying
// again. 429s are still waited out: Okta did nothing with those.
func withoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	name := bucketOf(req)
	maxRetries := t.cfg.MaxRetries
	if ctx.Value(noRetryKey{}) != nil {
		maxRetries = 0
	}
	var lastErr error
	failures, waits := 0, 0
	for {
		if err := t.pace(ctx, name); err != nil {
			return nil, err
		}
		attempt, err := rewind(req)
		if err != nil {
			return nil, err
		}
		actx, cancel := context.WithTimeout(ctx, t.cfg.RequestTimeout)
		t.counters.Requests.Add(1)
		resp, err := t.base.RoundTrip(attempt.WithContext(actx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			failures++
			if failures > maxRetries {
				return nil, &TransportError{Attempts: failures, Cause: lastErr.Error()}
			}
			t.counters.Retries.Add(1)
			if err := t.sleep(ctx, t.backoff(failures)); err != nil {
				return nil, err
			}
			continue
		}
		t.observe(name, resp)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			t.counters.RateLimited.Add(1)
			drain(resp)
			cancel()
			waits++
			reset := t.resetAfter429(name)
			if waits > t.cfg.MaxRateLimitWaits {
				return nil, &RateLimitError{Waits: waits - 1, Reset: reset}
			}
			if err := t.sleep(ctx, t.waitUntil(reset, resetMargin)); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode >= 500:
			failures++
			if failures > maxRetries {
				// Hand the buffered response to the SDK, which turns it
				// into an *okta.Error with Okta's errorCode.
				body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				cancel()
				if rerr != nil {
					return nil, &TransportError{Attempts: failures, Cause: "read error body: " + rerr.Error()}
				}
				resp.Body = io.NopCloser(bytes.NewReader(body))
				resp.Header.Set(attemptsHeader, strconv.Itoa(failures))
				return resp, nil
			}
			drain(resp)
			cancel()
			t.counters.Retries.Add(1)
			if err := t.sleep(ctx, t.backoff(failures)); err != nil {
				return nil, err
			}
			continue
		}
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
}

// rewind returns a request whose body can be sent again.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("rewind request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// backoff is RetryBackoff·2^(n-1) with ±20% jitter, capped at one minute.
func (t *transport) backoff(n int) time.Duration { return backoffDelay(t.cfg.RetryBackoff, n) }

// backoffDelay is base·2^(n-1) with ±20% jitter, capped at one minute. It
// is shared by the transport and the page-level retry of malformed bodies.
func backoffDelay(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d > 0 && d < time.Minute; i++ {
		d *= 2 // d < 1m here, so this cannot overflow
	}
	if d > time.Minute || d <= 0 {
		d = time.Minute
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// observe records the rate-limit headers of a response. Okta's reset is an
// epoch second on Okta's clock; it is placed on the local clock with the
// Date header, so a skewed local clock does not matter: local time of
// receipt + (reset - Date). Date has whole seconds and was written before
// the response arrived, so that estimate is never early, and up to a
// second (plus the latency) late; the earliest estimate of the window's
// responses is within a few milliseconds after a few dozen of them. Times
// from t.now keep the monotonic clock, so a step of the wall clock does not
// move the estimate either. Without a Date header the local clock is
// trusted, for that response only.
func (t *transport) observe(name string, resp *http.Response) {
	limit, err1 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining"))
	resetEpoch, err3 := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err2 != nil || err3 != nil {
		return
	}
	if err1 != nil {
		limit = 0
	}
	now := t.now()
	est, dated := time.Unix(resetEpoch, 0), false
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		est, dated = now.Add(time.Unix(resetEpoch, 0).Sub(d)), true
	}
	t.counters.Remaining.Store(int64(remaining))
	t.mu.Lock()
	defer t.mu.Unlock()
	b := &bucket{limit: limit, remaining: remaining, resetEpoch: resetEpoch, reset: est, dated: dated, lastReset: est}
	if prev, ok := t.buckets[name]; ok && prev.resetEpoch == resetEpoch {
		switch {
		case prev.dated && !dated:
			b.reset, b.dated = prev.reset, true // an undated guess never replaces a dated estimate
		case prev.dated == dated && prev.reset.Before(est):
			b.reset = prev.reset
		}
	}
	t.buckets[name] = b
}

// resetAfter429 is when the window of a 429 resets: the latest response's
// own estimate (up to a second late, see bucket.lastReset) plus a second.
// It also makes every later pause end slowMargin after the reset.
func (t *transport) resetAfter429(name string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.margin = slowMargin
	if b, ok := t.buckets[name]; ok {
		return b.lastReset.Add(time.Second)
	}
	return t.now().Add(time.Minute)
}

// resetMargin is how long after the estimated reset a pause ends: the
// estimate is never early (see observe), so it only absorbs timer jitter
// and Okta's own. After a 429 the transport no longer trusts that and
// waits slowMargin instead.
const (
	resetMargin = 250 * time.Millisecond
	slowMargin  = time.Second + resetMargin
)

// waitUntil is the time to sleep until reset, plus margin (at least
// margin), capped at MaxRateLimitWait.
func (t *transport) waitUntil(reset time.Time, margin time.Duration) time.Duration {
	d := reset.Sub(t.now()) + margin
	if d < margin {
		d = margin
	}
	if d > t.cfg.MaxRateLimitWait {
		d = t.cfg.MaxRateLimitWait
	}
	return d
}

// pace waits for the bucket's window to reset when the remaining budget has
// fallen to the configured reserve, so oktasync never spends the share other
// Okta clients need and rarely sees a 429.
func (t *transport) pace(ctx context.Context, name string) error {
	t.mu.Lock()
	b, ok := t.buckets[name]
	var wait time.Duration
	if ok && b.limit > 0 {
		reserve := int(float64(b.limit) * t.cfg.RateLimitReserve)
		if b.remaining <= reserve && t.now().Before(b.reset) {
			wait = t.waitUntil(b.reset, t.margin)
			// The window is assumed fresh after the wait; the next
			// response corrects the numbers.
			b.remaining = b.limit
		}
	}
	t.mu.Unlock()
	if wait == 0 {
		return nil
	}
	t.counters.Pauses.Add(1)
	return t.sleep(ctx, wait)
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// cancelBody releases the attempt's deadline when the SDK closes the body,
// and marks read errors as such: a connection lost mid-body must not be
// mistaken for a body that arrived whole but did not decode.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err: err}
	}
	return n, err
}

// bodyReadError is a failure to read a response body off the network.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
