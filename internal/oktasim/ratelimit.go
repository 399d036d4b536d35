package oktasim

import (
	"sync"
	"time"
)

// Rate-limit buckets.
const (
	bucketListUsers = "list_users"
	bucketGetUser   = "get_user"
	bucketToken     = "token"
	bucketOther     = "other"
)

// rateLimiter implements Okta-style fixed windows: a bucket's window starts
// with its first request and lasts window; each bucket allows limit
// requests per window.
type rateLimiter struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	start time.Time
	count int
}

// rlDecision is what a request learns from the limiter; it becomes the
// X-Rate-Limit-* headers.
type rlDecision struct {
	limit, remaining int
	reset            int64 // epoch seconds, rounded up
	allowed          bool
}

func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, buckets: make(map[string]*bucket)}
}

// take consumes one request from the named bucket if the budget allows.
func (l *rateLimiter) take(name string, now time.Time) rlDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[name]
	if b == nil {
		b = &bucket{}
		l.buckets[name] = b
	}
	if b.start.IsZero() || !now.Before(b.start.Add(l.window)) {
		b.start, b.count = now, 0
	}
	end := b.start.Add(l.window)
	reset := end.Unix()
	if end.Nanosecond() > 0 {
		reset++
	}
	d := rlDecision{limit: l.limit, reset: reset}
	if b.count >= l.limit {
		return d
	}
	b.count++
	d.remaining = l.limit - b.count
	d.allowed = true
	return d
}

// resetAll forgets every window, restoring full budgets.
func (l *rateLimiter) resetAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.buckets)
}
