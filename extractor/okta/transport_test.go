package okta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rtFunc is a RoundTripper made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeClock is an injectable clock: sleeping advances it instantly and
// records the duration.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// transportCfg is a valid transport config with small retry numbers.
func transportCfg() Config {
	cfg := DefaultConfig()
	cfg.OrgURL, cfg.Token, cfg.MaxRetries, cfg.MaxRateLimitWaits = "https://acme.okta.com", "x", 2, 3
	return cfg
}

func newTestTransport(base http.RoundTripper, cfg Config, clock *fakeClock) (*transport, *Counters) {
	c := &Counters{}
	tr := newTransport(base, cfg, c)
	if clock != nil {
		tr.now = clock.Now
		tr.sleep = clock.Sleep
	}
	return tr, c
}

// canned builds a response for r with the given status, headers and body.
func canned(r *http.Request, status int, hdr map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// rlHeaders are Okta rate-limit headers; date is the server's clock.
func rlHeaders(limit, remaining int, reset, date time.Time) map[string]string {
	h := map[string]string{
		"X-Rate-Limit-Remaining": strconv.Itoa(remaining),
		"X-Rate-Limit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		"Date":                   date.UTC().Format(http.TimeFormat),
	}
	if limit >= 0 {
		h["X-Rate-Limit-Limit"] = strconv.Itoa(limit)
	}
	return h
}

func get(t *testing.T, ctx context.Context, rt http.RoundTripper, path string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://acme.okta.com"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func TestBucketOf(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/api/v1/users", "GET /api/v1/users"},
		{"GET", "/api/v1/users/", "GET /api/v1/users"},
		{"GET", "/api/v1/users?limit=200&after=x", "GET /api/v1/users"},
		{"GET", "/api/v1/users/00u1", "GET /api/v1/users/{id}"},
		{"GET", "/api/v1/users/jane%40example.com", "GET /api/v1/users/{id}"},
		{"POST", "/oauth2/v1/token?grant_type=client_credentials", "POST /oauth2/v1/token"},
		// Ids never make a bucket of their own.
		{"GET", "/api/v1/users/00u1/groups", "GET /api/v1/users/{id}"},
		{"GET", "/api/v1/groups", "GET /api/v1/groups"},
		{"GET", "/api/v1/groups/00g1", "GET /api/v1/groups/{id}"},
		{"GET", "/api/v1/groups/00g1/users", "GET /api/v1/groups"},
		{"GET", "/api/v1/groups/00g2/users?after=x", "GET /api/v1/groups"},
		{"GET", "/api/v1/apps/0oa1", "GET /api/v1/apps/{id}"},
		{"GET", "/api/v1/apps/0oa1/users", "GET /api/v1/apps/*"},
		{"GET", "/api/v1/apps/0oa1/users/00u1", "GET /api/v1/apps/*"},
		{"GET", "/api/v1/eventHooks", "GET /api/v1/eventHooks"},
		{"PUT", "/api/v1/eventHooks/who1", "PUT /api/v1/eventHooks/{id}"},
		{"POST", "/api/v1/eventHooks/who1/lifecycle/verify", "POST /api/v1/eventHooks/{id}"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "https://acme.okta.com"+tt.path, nil)
		if got := bucketOf(req); got != tt.want {
			t.Errorf("bucketOf(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	cfg := transportCfg()
	cfg.RetryBackoff = 100 * time.Millisecond
	tr, _ := newTestTransport(nil, cfg, nil)
	for n := 1; n <= 5; n++ {
		base := cfg.RetryBackoff << (n - 1)
		for range 50 {
			d := tr.backoff(n)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("backoff(%d) = %s, want within ±20%% of %s", n, d, base)
			}
		}
	}
	for _, n := range []int{11, 20, 40, 70} {
		if d := tr.backoff(n); d < 48*time.Second || d > 72*time.Second {
			t.Errorf("backoff(%d) = %s, want capped near one minute", n, d)
		}
	}
	for _, base := range []time.Duration{time.Second, 10 * time.Hour, time.Duration(1) << 62} {
		for _, n := range []int{21, 64, 200} {
			if d := backoffDelay(base, n); d < 48*time.Second || d > 72*time.Second {
				t.Errorf("backoffDelay(%s, %d) = %s, want capped near one minute (no overflow)", base, n, d)
			}
		}
	}
}

// TestTransportPacing: the transport waits for the window to reset once
// X-Rate-Limit-Remaining has fallen to the reserve, measured with a fake
// clock, and converts Okta's reset with the Date header.
func TestTransportPacing(t *testing.T) {
	local := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		reserve   float64
		limit     int // -1: no X-Rate-Limit-Limit header
		remaining int
		serverNow time.Time     // Date header
		resetIn   time.Duration // reset relative to serverNow
		maxWait   time.Duration
		second    string // path of the second request
		wantWait  time.Duration
	}{
		{name: "plenty left", reserve: 0.1, limit: 600, remaining: 61, serverNow: local, resetIn: 40 * time.Second, wantWait: 0},
		{name: "at reserve", reserve: 0.1, limit: 600, remaining: 60, serverNow: local, resetIn: 40 * time.Second, wantWait: 40*time.Second + resetMargin},
		{name: "below reserve", reserve: 0.1, limit: 600, remaining: 3, serverNow: local, resetIn: 20 * time.Second, wantWait: 20*time.Second + resetMargin},
		{name: "skewed local clock uses Date", reserve: 0.1, limit: 600, remaining: 0, serverNow: local.Add(-2 * time.Hour), resetIn: 30 * time.Second, wantWait: 30*time.Second + resetMargin},
		{name: "reset already passed", reserve: 0.1, limit: 600, remaining: 0, serverNow: local, resetIn: -5 * time.Second, wantWait: 0},
		{name: "no limit header", reserve: 0.1, limit: -1, remaining: 0, serverNow: local, resetIn: 30 * time.Second, wantWait: 0},
		{name: "concurrency 429 style limit 0", reserve: 0.1, limit: 0, remaining: 0, serverNow: local, resetIn: 30 * time.Second, wantWait: 0},
		{name: "zero reserve, one left", reserve: 0.0001, limit: 600, remaining: 1, serverNow: local, resetIn: 30 * time.Second, wantWait: 0},
		{name: "zero reserve, none left", reserve: 0.0001, limit: 600, remaining: 0, serverNow: local, resetIn: 30 * time.Second, wantWait: 30*time.Second + resetMargin},
		{name: "capped", reserve: 0.1, limit: 600, remaining: 0, serverNow: local, resetIn: 10 * time.Minute, maxWait: 90 * time.Second, wantWait: 90 * time.Second},
		{name: "other bucket unaffected", reserve: 0.1, limit: 600, remaining: 0, serverNow: local, resetIn: 30 * time.Second, second: "/api/v1/users/00u1", wantWait: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := transportCfg()
			cfg.RateLimitReserve = tt.reserve
			if tt.maxWait != 0 {
				cfg.MaxRateLimitWait = tt.maxWait
			}
			clock := newFakeClock(local)
			var calls atomic.Int32
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				if calls.Add(1) == 1 {
					return canned(r, 200, rlHeaders(tt.limit, tt.remaining, tt.serverNow.Add(tt.resetIn), tt.serverNow), "[]"), nil
				}
				return canned(r, 200, nil, "[]"), nil
			})
			tr, c := newTestTransport(base, cfg, clock)
			resp, err := get(t, context.Background(), tr, "/api/v1/users?limit=200")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := c.Remaining.Load(); got != int64(tt.remaining) {
				t.Errorf("Remaining = %d, want %d", got, tt.remaining)
			}
			second := tt.second
			if second == "" {
				second = "/api/v1/users?after=x&limit=200"
			}
			resp, err = get(t, context.Background(), tr, second)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			sleeps := clock.Sleeps()
			switch {
			case tt.wantWait == 0 && len(sleeps) != 0:
				t.Errorf("waited %v, want no wait", sleeps)
			case tt.wantWait != 0 && (len(sleeps) != 1 || sleeps[0] != tt.wantWait):
				t.Errorf("waits = %v, want [%s]", sleeps, tt.wantWait)
			}
			wantPauses := int64(0)
			if tt.wantWait != 0 {
				wantPauses = 1
			}
			if got := c.Pauses.Load(); got != wantPauses {
				t.Errorf("Pauses = %d, want %d", got, wantPauses)
			}
			if got := c.Requests.Load(); got != 2 {
				t.Errorf("Requests = %d, want 2", got)
			}
		})
	}
}

// TestTransportPacingOncePerWindow: after one pause (here capped short of
// the reset) the window is assumed fresh, so the next request does not
// pause again until a response says so.
func TestTransportPacingOncePerWindow(t *testing.T) {
	local := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(local)
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return canned(r, 200, nil, "[]"), nil // no rate-limit headers
	})
	cfg := transportCfg()
	cfg.MaxRateLimitWait = 5 * time.Second
	tr, c := newTestTransport(base, cfg, clock)
	tr.buckets["GET /api/v1/users"] = &bucket{limit: 100, remaining: 0, reset: local.Add(10 * time.Second)}
	for range 3 {
		resp, err := get(t, context.Background(), tr, "/api/v1/users")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := c.Pauses.Load(); got != 1 {
		t.Errorf("Pauses = %d, want 1", got)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 5*time.Second {
		t.Errorf("sleeps = %v, want [5s]", s)
	}
}

// TestTransport429 covers waiting out 429s until the reset and giving up
// after MaxRateLimitWaits.
func TestTransport429(t *testing.T) {
	local := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		tooMany   int // 429s before a 200
		noHeaders bool
		maxWaits  int
		wantErr   bool
		wantSleep time.Duration // each wait
	}{
		// After a 429 the reset is taken from that response alone, plus a second.
		{name: "one 429 then ok", tooMany: 1, maxWaits: 3, wantSleep: 31*time.Second + resetMargin},
		{name: "max waits then ok", tooMany: 3, maxWaits: 3, wantSleep: 31*time.Second + resetMargin},
		{name: "one too many", tooMany: 4, maxWaits: 3, wantErr: true, wantSleep: 31*time.Second + resetMargin},
		{name: "zero waits allowed", tooMany: 1, maxWaits: 0, wantErr: true},
		{name: "429 without headers waits a minute", tooMany: 1, noHeaders: true, maxWaits: 3, wantSleep: time.Minute + resetMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := transportCfg()
			cfg.MaxRateLimitWaits = tt.maxWaits
			clock := newFakeClock(local)
			var calls atomic.Int32
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				n := int(calls.Add(1))
				if n <= tt.tooMany {
					h := rlHeaders(600, 0, clock.Now().Add(30*time.Second), clock.Now())
					if tt.noHeaders {
						h = nil
					}
					return canned(r, 429, h, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`), nil
				}
				return canned(r, 200, nil, "[]"), nil
			})
			tr, c := newTestTransport(base, cfg, clock)
			resp, err := get(t, context.Background(), tr, "/api/v1/users")
			attempts := min(tt.tooMany+1, tt.maxWaits+1)
			if tt.wantErr {
				var rle *RateLimitError
				if !errors.As(err, &rle) {
					t.Fatalf("err = %v (%T), want *RateLimitError", err, err)
				}
				if rle.Waits != tt.maxWaits {
					t.Errorf("Waits = %d, want %d", rle.Waits, tt.maxWaits)
				}
				if !strings.Contains(err.Error(), "429") {
					t.Errorf("error %q does not mention 429", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 {
					t.Errorf("status = %d, want 200", resp.StatusCode)
				}
				resp.Body.Close()
				attempts = tt.tooMany + 1
			}
			if got := int(calls.Load()); got != attempts {
				t.Errorf("attempts = %d, want %d", got, attempts)
			}
			if got := c.RateLimited.Load(); got != int64(min(tt.tooMany, attempts)) {
				t.Errorf("RateLimited = %d, want %d", got, min(tt.tooMany, attempts))
			}
			if got := c.Retries.Load(); got != 0 {
				t.Errorf("Retries = %d, want 0 (429 waits are not retries)", got)
			}
			sleeps := clock.Sleeps()
			wantSleeps := attempts - 1
			if len(sleeps) != wantSleeps {
				t.Fatalf("sleeps = %v, want %d", sleeps, wantSleeps)
			}
			for _, s := range sleeps {
				if s != tt.wantSleep {
					t.Errorf("sleep %s, want %s", s, tt.wantSleep)
				}
			}
		})
	}
}

func TestTransport429WaitCappedAndCancellable(t *testing.T) {
	cfg := transportCfg()
	cfg.MaxRateLimitWait = time.Hour
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		now := time.Now()
		return canned(r, 429, rlHeaders(600, 0, now.Add(50*time.Minute), now), ""), nil
	})
	tr, c := newTestTransport(base, cfg, nil) // real sleep
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := get(t, ctx, tr, "/api/v1/users")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s after cancel, want prompt return", el)
	}
	if c.RateLimited.Load() != 1 {
		t.Errorf("RateLimited = %d, want 1", c.RateLimited.Load())
	}
}

func TestTransport5xx(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		failures  int // failing answers before a 200
		wantCalls int
		wantFinal int
		wantRetry int64
	}{
		{name: "500 once then ok", status: 500, failures: 1, wantCalls: 2, wantFinal: 200, wantRetry: 1},
		{name: "503 twice then ok", status: 503, failures: 2, wantCalls: 3, wantFinal: 200, wantRetry: 2},
		{name: "502 forever", status: 502, failures: 100, wantCalls: 3, wantFinal: 502, wantRetry: 2},
		{name: "500 forever", status: 500, failures: 100, wantCalls: 3, wantFinal: 500, wantRetry: 2},
		{name: "400 not retried", status: 400, failures: 100, wantCalls: 1, wantFinal: 400},
		{name: "401 not retried", status: 401, failures: 100, wantCalls: 1, wantFinal: 401},
		{name: "404 not retried", status: 404, failures: 100, wantCalls: 1, wantFinal: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := transportCfg()
			cfg.RetryBackoff = 10 * time.Millisecond
			clock := newFakeClock(time.Now())
			var calls atomic.Int32
			body := `{"errorCode":"E0000009","errorSummary":"Internal Server Error"}`
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				if int(calls.Add(1)) <= tt.failures {
					return canned(r, tt.status, nil, body), nil
				}
				return canned(r, 200, nil, "[]"), nil
			})
			tr, c := newTestTransport(base, cfg, clock)
			resp, err := get(t, context.Background(), tr, "/api/v1/users")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantFinal {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantFinal)
			}
			if tt.wantFinal != 200 {
				b, err := io.ReadAll(resp.Body)
				if err != nil || string(b) != body {
					t.Errorf("final body = %q, %v; want Okta's error body intact", b, err)
				}
			}
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if got := c.Retries.Load(); got != tt.wantRetry {
				t.Errorf("Retries = %d, want %d", got, tt.wantRetry)
			}
			if got := c.Requests.Load(); got != int64(tt.wantCalls) {
				t.Errorf("Requests = %d, want %d", got, tt.wantCalls)
			}
			sleeps := clock.Sleeps()
			if len(sleeps) != int(tt.wantRetry) {
				t.Fatalf("sleeps = %v, want %d backoffs", sleeps, tt.wantRetry)
			}
			for i, s := range sleeps {
				base := cfg.RetryBackoff << i
				if s < base*8/10 || s > base*12/10 {
					t.Errorf("backoff %d = %s, want about %s", i+1, s, base)
				}
			}
		})
	}
}

// TestTransportErrorDoesNotUnwrapToEOF: connection errors are retried a
// bounded number of times and then reported as *TransportError, which the
// SDK must not see as io.EOF (it would retry forever).
func TestTransportErrorDoesNotUnwrapToEOF(t *testing.T) {
	for _, maxRetries := range []int{0, 1, 3} {
		t.Run("max_retries="+strconv.Itoa(maxRetries), func(t *testing.T) {
			cfg := transportCfg()
			cfg.MaxRetries = maxRetries
			clock := newFakeClock(time.Now())
			var calls atomic.Int32
			base := rtFunc(func(*http.Request) (*http.Response, error) {
				calls.Add(1)
				return nil, io.EOF
			})
			tr, c := newTestTransport(base, cfg, clock)
			// Through an http.Client, as the SDK calls it.
			req, _ := http.NewRequest(http.MethodGet, "https://acme.okta.com/api/v1/users", nil)
			_, err := (&http.Client{Transport: tr}).Do(req)
			var te *TransportError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T), want *TransportError", err, err)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("errors.Is(err, io.EOF) is true: the SDK would retry forever")
			}
			if errors.Unwrap(te) != nil {
				t.Errorf("TransportError unwraps to %v", errors.Unwrap(te))
			}
			if te.Attempts != maxRetries+1 || int(calls.Load()) != maxRetries+1 {
				t.Errorf("attempts = %d (calls %d), want %d", te.Attempts, calls.Load(), maxRetries+1)
			}
			if !strings.Contains(te.Error(), "EOF") {
				t.Errorf("error %q does not name the cause", te)
			}
			if got := c.Retries.Load(); got != int64(maxRetries) {
				t.Errorf("Retries = %d, want %d", got, maxRetries)
			}
		})
	}
}

func TestTransportConnectionErrorThenOK(t *testing.T) {
	clock := newFakeClock(time.Now())
	var calls atomic.Int32
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("read: connection reset by peer")
		}
		return canned(r, 200, nil, "[]"), nil
	})
	tr, c := newTestTransport(base, transportCfg(), clock)
	resp, err := get(t, context.Background(), tr, "/api/v1/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls.Load() != 2 || c.Retries.Load() != 1 || len(clock.Sleeps()) != 1 {
		t.Errorf("calls=%d retries=%d sleeps=%v, want 2, 1, one backoff", calls.Load(), c.Retries.Load(), clock.Sleeps())
	}
}

func TestTransportCancelledContextIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		cancel()
		return nil, r.Context().Err()
	})
	tr, c := newTestTransport(base, transportCfg(), newFakeClock(time.Now()))
	_, err := get(t, ctx, tr, "/api/v1/users")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var te *TransportError
	if errors.As(err, &te) {
		t.Errorf("cancellation reported as %v", te)
	}
	if calls.Load() != 1 || c.Retries.Load() != 0 {
		t.Errorf("calls = %d, retries = %d; want 1, 0", calls.Load(), c.Retries.Load())
	}
}

// TestTransportRewindsBody: a retried request with a body sends it again.
func TestTransportRewindsBody(t *testing.T) {
	var bodies []string
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if len(bodies) == 1 {
			return canned(r, 503, nil, ""), nil
		}
		return canned(r, 200, nil, "{}"), nil
	})
	tr, _ := newTestTransport(base, transportCfg(), newFakeClock(time.Now()))
	req, _ := http.NewRequest(http.MethodPost, "https://acme.okta.com/oauth2/v1/token", strings.NewReader("grant_type=client_credentials"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[1] != "grant_type=client_credentials" {
		t.Errorf("bodies = %q, want the same body twice", bodies)
	}
}

// TestTransportAttemptTimeout: each attempt has its own deadline (headers
// and body); a hanging server is retried and then reported.
func TestTransportAttemptTimeout(t *testing.T) {
	var hits atomic.Int32
	slowFirst := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		switch r.URL.Path {
		case "/hang":
			<-r.Context().Done()
			return
		case "/slow-first":
			if n == 1 {
				slowFirst <- struct{}{}
				<-r.Context().Done()
				return
			}
		case "/stall-body":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `[{"id":"00u1"`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	}))
	defer srv.Close()
	newTr := func() (*transport, *Counters) {
		cfg := transportCfg()
		cfg.RequestTimeout = 100 * time.Millisecond
		cfg.RetryBackoff = time.Millisecond
		base := &http.Transport{}
		t.Cleanup(base.CloseIdleConnections)
		c := &Counters{}
		return newTransport(base, cfg, c), c
	}
	do := func(tr *transport, path string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		return tr.RoundTrip(req)
	}

	t.Run("hang", func(t *testing.T) {
		hits.Store(0)
		tr, c := newTr()
		start := time.Now()
		_, err := do(tr, "/hang")
		el := time.Since(start)
		var te *TransportError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v (%T), want *TransportError", err, err)
		}
		if te.Attempts != 3 || hits.Load() != 3 || c.Retries.Load() != 2 {
			t.Errorf("attempts=%d hits=%d retries=%d, want 3, 3, 2", te.Attempts, hits.Load(), c.Retries.Load())
		}
		if el < 300*time.Millisecond || el > 3*time.Second {
			t.Errorf("took %s, want about 3 × 100ms", el)
		}
	})
	t.Run("slow first attempt", func(t *testing.T) {
		hits.Store(0)
		tr, c := newTr()
		resp, err := do(tr, "/slow-first")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		<-slowFirst
		if resp.StatusCode != 200 || hits.Load() != 2 || c.Retries.Load() != 1 {
			t.Errorf("status=%d hits=%d retries=%d, want 200, 2, 1", resp.StatusCode, hits.Load(), c.Retries.Load())
		}
	})
	t.Run("stalled body", func(t *testing.T) {
		tr, _ := newTr()
		resp, err := do(tr, "/stall-body")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		start := time.Now()
		done := make(chan error, 1)
		go func() { _, err := io.ReadAll(resp.Body); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("reading a stalled body succeeded")
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("body read ended after %s", el)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("body read not bounded by the attempt deadline")
		}
	})
}

// hijackClose closes the client connection without answering.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// TestTransportPacingResetEstimate: Date has whole seconds, so one response
// places the reset up to a second late; the responses of a window narrow
// it down. The pause must never end before Okta's window has reset (a 429
// would follow), and after a window's worth of responses it ends within
// resetMargin and a few milliseconds of it.
func TestTransportPacingResetEstimate(t *testing.T) {
	local := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const skew = -2*time.Hour + 370*time.Millisecond // Okta's clock minus the local one
	tests := []struct {
		name     string
		requests int           // before the pause; the last one leaves the budget at the reserve
		step     time.Duration // local time between two responses
		undated  map[int]bool  // requests answered without a Date header
		maxLate  time.Duration // how late after the true reset the pause may end
	}{
		{name: "one response", requests: 1, step: 0, maxLate: time.Second + resetMargin},
		{name: "a window of responses", requests: 36, step: 97 * time.Millisecond, maxLate: resetMargin + 97*time.Millisecond},
		// A response without Date says nothing of Okta's clock (here two hours
		// behind the local one): it must not move a dated estimate.
		{name: "undated responses in the window", requests: 36, step: 97 * time.Millisecond, undated: map[int]bool{1: true, 17: true, 36: true},
			maxLate: resetMargin + 97*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(local)
			serverReset := local.Add(skew).Add(10 * time.Second).Truncate(time.Second).Add(time.Second) // a whole second on Okta's clock
			trueReset := serverReset.Add(-skew)                                                         // the same instant on the local clock
			var calls atomic.Int32
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				n := int(calls.Add(1))
				if n > 1 && n <= tt.requests {
					_ = clock.Sleep(r.Context(), tt.step) // time passes between responses
				}
				remaining := 40 - n
				if n == tt.requests {
					remaining = 4 // at the 10% reserve: the next request waits
				}
				if n > tt.requests {
					if now := clock.Now(); now.Before(trueReset) {
						t.Errorf("request sent at %s, %s before the window reset", now.Format("15:04:05.000"), trueReset.Sub(now))
					} else if late := now.Sub(trueReset); late > tt.maxLate {
						t.Errorf("request sent %s after the reset, want at most %s", late, tt.maxLate)
					}
					return canned(r, 200, nil, "[]"), nil
				}
				serverNow := clock.Now().Add(skew)
				h := rlHeaders(40, remaining, serverReset, serverNow.Truncate(time.Second))
				if tt.undated[n] {
					delete(h, "Date")
				}
				return canned(r, 200, h, "[]"), nil
			})
			tr, c := newTestTransport(base, transportCfg(), clock)
			for range tt.requests + 1 {
				resp, err := get(t, context.Background(), tr, "/api/v1/users?limit=200")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if got := c.Pauses.Load(); got != 1 {
				t.Errorf("Pauses = %d, want 1", got)
			}
		})
	}
}

// TestTransportSlowMarginAfter429: once Okta has answered 429, a later
// pause ends slowMargin after the reset instead of resetMargin.
func TestTransportSlowMarginAfter429(t *testing.T) {
	local := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := newFakeClock(local)
	var calls atomic.Int32
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		now := clock.Now()
		reset := now.Truncate(10 * time.Second).Add(10 * time.Second) // 10 s windows on whole seconds
		switch calls.Add(1) {
		case 1:
			return canned(r, 429, rlHeaders(40, 0, reset, now), `{"errorCode":"E0000047"}`), nil
		case 2:
			return canned(r, 200, rlHeaders(40, 4, reset, now), "[]"), nil // at the reserve
		}
		return canned(r, 200, nil, "[]"), nil
	})
	tr, _ := newTestTransport(base, transportCfg(), clock)
	for range 2 {
		resp, err := get(t, context.Background(), tr, "/api/v1/users?limit=200")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sleeps := clock.Sleeps()
	// The 429 waits for the reset (10 s) plus a second plus resetMargin; the
	// pause that follows, received at 11.25 s with Date 11 s, for the next
	// reset (20 s, 9 s after Date) plus slowMargin.
	want := []time.Duration{10*time.Second + time.Second + resetMargin, 9*time.Second + slowMargin}
	if !slices.Equal(sleeps, want) {
		t.Errorf("sleeps = %v, want %v", sleeps, want)
	}
}
