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
	// The Groups API's: listing groups, and one group (its members too);
	// and an app's users.
	bucketListGroups = "list_groups"
	bucketGroup      = "group"
	bucketApp        = "app"
)

// oktaLimits are Okta's per-minute limits of the buckets whose limit is not
// list users' (600): a bucket allows its share of the configured limit, so
// that the default (600) gives Okta's figures and a raised limit raises
// them all.
func oktaLimit(bucket string) int {
	switch bucket {
	case bucketListGroups:
		return 500
	case bucketGroup:
		return 1000
	case bucketApp:
		return 100
	}
	return 600
}

// rateLimiter implements Okta-style fixed windows: a bucket's window starts
// with its first request and lasts window; each bucket allows limit
// requests per window, scaled by oktaLimit.
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
	limit := max(1, (l.limit*oktaLimit(name)+599)/600)
	d := rlDecision{limit: limit, reset: reset}
	if b.count >= limit {
		return d
	}
	b.count++
	d.remaining = limit - b.count
	d.allowed = true
	return d
}

// resetAll forgets every window, restoring full budgets.
func (l *rateLimiter) resetAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.buckets)
}
