package okta

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
)

const (
	testToken    = "00SSWS-test-Zq9x7LmNwR3kT5yV"
	deprovFilter = `status eq "DEPROVISIONED"`
)

// testCfg is a config for a fake Okta at orgURL with tiny retry delays.
func testCfg(orgURL string) Config {
	return withDefaults(Config{
		OrgURL:            orgURL,
		Token:             testToken,
		MaxRetries:        2,
		RetryBackoff:      time.Millisecond,
		RequestTimeout:    5 * time.Second,
		MaxRateLimitWaits: 3,
		MaxRateLimitWait:  time.Second,
	})
}

func newExtractor(t *testing.T, cfg Config, opts ...Option) *Extractor {
	t.Helper()
	e, err := New(cfg, nil, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// transportOf returns the retry transport New installed in the SDK client.
func transportOf(t *testing.T, e *Extractor) *transport {
	t.Helper()
	tr, ok := e.client.GetConfig().HttpClient.Transport.(*transport)
	if !ok {
		t.Fatalf("SDK http client transport is %T, want *transport", e.client.GetConfig().HttpClient.Transport)
	}
	return tr
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// userJSON is an Okta user as the API returns it.
func userJSON(id, status string, extra ...string) map[string]any {
	profile := map[string]any{
		"login": id + "@example.com", "email": id + "@example.com",
		"firstName": "F" + id, "lastName": "L" + id,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		profile[extra[i]] = extra[i+1]
	}
	return map[string]any{
		"id": id, "status": status,
		"created": "2024-01-01T00:00:00.000Z", "lastUpdated": "2025-01-02T03:04:05.000Z",
		"profile": profile,
	}
}

func users(status string, ids ...string) []map[string]any {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, userJSON(id, status))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	writeJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oae123", "errorCauses": []any{}})
}

// writePage writes one page with a separate Link header per relation, as
// Okta does. next is the query of the next page ("" for the last page).
func writePage(w http.ResponseWriter, r *http.Request, page []map[string]any, next string) {
	w.Header().Add("Link", fmt.Sprintf(`<http://%s%s>; rel="self"`, r.Host, r.URL.RequestURI()))
	if next != "" {
		w.Header().Add("Link", fmt.Sprintf(`<http://%s/api/v1/users?%s>; rel="next"`, r.Host, next))
	}
	writeJSON(w, http.StatusOK, page)
}

// fakeOrg serves /api/v1/users from fixed pages: the plain list and the
// DEPROVISIONED filter. The cursor "cN" selects page N.
type fakeOrg struct {
	t      *testing.T
	plain  [][]map[string]any
	deprov [][]map[string]any
	// fail, if set, may answer a request instead (n counts requests from 1).
	fail func(w http.ResponseWriter, r *http.Request, n int) bool

	hits atomic.Int32
	mu   sync.Mutex
	reqs []url.Values
	auth []string
}

func (o *fakeOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(o.hits.Add(1))
	q := r.URL.Query()
	o.mu.Lock()
	o.reqs = append(o.reqs, q)
	o.auth = append(o.auth, r.Header.Get("Authorization"))
	o.mu.Unlock()
	if r.Header.Get("Authorization") != "SSWS "+testToken {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	if o.fail != nil && o.fail(w, r, n) {
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/users" {
		o.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		oktaError(w, http.StatusNotFound, "E0000007", "Not found")
		return
	}
	pages := o.plain
	switch f := q.Get("filter"); f {
	case "":
	case deprovFilter:
		pages = o.deprov
	default:
		o.t.Errorf("unexpected filter %q", f)
		oktaError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	}
	i := 0
	if a := q.Get("after"); a != "" {
		var err error
		if i, err = strconv.Atoi(strings.TrimPrefix(a, "c")); err != nil || i >= len(pages) {
			o.t.Errorf("bad cursor %q", a)
			oktaError(w, http.StatusBadRequest, "E0000001", "bad cursor")
			return
		}
	}
	if len(pages) == 0 {
		writePage(w, r, []map[string]any{}, "")
		return
	}
	next := ""
	if i+1 < len(pages) {
		// Like Okta: the cursor and limit; the SDK keeps the filter.
		next = fmt.Sprintf("after=c%d&limit=%s", i+1, q.Get("limit"))
	}
	writePage(w, r, pages[i], next)
}

func (o *fakeOrg) requests() []url.Values {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.reqs)
}

// collector records what Extract hands to its callback.
type collector struct {
	pages int
	users []extractor.User
	skips []extractor.Skip
}

func (c *collector) fn(_ context.Context, p extractor.Page) error {
	c.pages++
	c.users = append(c.users, p.Users...)
	c.skips = append(c.skips, p.Skipped...)
	return nil
}

func (c *collector) ids() []string {
	ids := make([]string, 0, len(c.users))
	for _, u := range c.users {
		ids = append(ids, u.SourceID)
	}
	return ids
}

func TestExtractPaging(t *testing.T) {
	page1 := []map[string]any{userJSON("u1", "ACTIVE", "githubUsername", "gh-u1", "costCenter", "CC1"), userJSON("u2", "STAGED")}
	org := &fakeOrg{
		plain:  [][]map[string]any{page1, users("SUSPENDED", "u3", "u4"), users("ACTIVE", "u5")},
		deprov: [][]map[string]any{users("DEPROVISIONED", "d1"), users("DEPROVISIONED", "d2")},
	}
	org.t = t
	srv := newServer(t, org)
	e := newExtractor(t, testCfg(srv.URL))
	var c collector
	if err := e.Extract(testCtx(t), c.fn); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if want := []string{"u1", "u3", "u4", "u5", "d1", "d2"}; !slices.Equal(c.ids(), want) {
		t.Errorf("users = %v, want %v", c.ids(), want)
	}
	if len(c.skips) != 1 || c.skips[0].SourceID != "u2" || c.skips[0].Reason != SkipStatus {
		t.Errorf("skips = %+v, want u2 (STAGED)", c.skips)
	}
	if c.pages != 5 {
		t.Errorf("callback pages = %d, want 5", c.pages)
	}
	for _, u := range c.users {
		wantActive := u.Status == "ACTIVE"
		if u.IsActive != wantActive {
			t.Errorf("%s (%s) IsActive = %v", u.SourceID, u.Status, u.IsActive)
		}
		// A fresh slice per page: page 2's users must not inherit page 1's
		// profile attributes (the SDK merges into reused elements).
		if u.SourceID != "u1" && u.GithubUsername != "" {
			t.Errorf("%s GithubUsername = %q: page slice reused", u.SourceID, u.GithubUsername)
		}
	}
	if c.users[0].GithubUsername != "gh-u1" {
		t.Errorf("u1 GithubUsername = %q, want gh-u1", c.users[0].GithubUsername)
	}

	reqs := org.requests()
	type want struct{ after, filter string }
	wants := []want{{"", ""}, {"c1", ""}, {"c2", ""}, {"", deprovFilter}, {"c1", deprovFilter}}
	if len(reqs) != len(wants) {
		t.Fatalf("requests = %v, want %d", reqs, len(wants))
	}
	for i, q := range reqs {
		if q.Get("limit") != "200" {
			t.Errorf("request %d limit = %q, want 200", i, q.Get("limit"))
		}
		if q.Get("after") != wants[i].after || q.Get("filter") != wants[i].filter {
			t.Errorf("request %d = after %q filter %q, want %+v", i, q.Get("after"), q.Get("filter"), wants[i])
		}
	}
	st := e.Stats()
	if st.Pages != 5 || st.Read != 7 || st.Requests != 5 || st.Retries != 0 || st.RateLimited != 0 || st.Pauses != 0 {
		t.Errorf("stats = %+v, want 5 pages, 7 read, 5 requests, nothing else", st)
	}
}

func TestExtractPageSize(t *testing.T) {
	org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1")}}
	org.t = t
	srv := newServer(t, org)
	cfg := testCfg(srv.URL + "/") // a trailing slash must not give //api
	cfg.PageSize = 50
	e := newExtractor(t, cfg)
	var c collector
	if err := e.Extract(testCtx(t), c.fn); err != nil {
		t.Fatal(err)
	}
	for _, q := range org.requests() {
		if q.Get("limit") != "50" {
			t.Errorf("limit = %q, want 50", q.Get("limit"))
		}
	}
}

// TestExtractBothPassesRequired: Extract returns nil only after the
// DEPROVISIONED pass has been read too.
func TestExtractBothPassesRequired(t *testing.T) {
	org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1", "u2")}}
	org.t = t
	org.fail = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Query().Get("filter") != "" {
			oktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
			return true
		}
		return false
	}
	srv := newServer(t, org)
	e := newExtractor(t, testCfg(srv.URL))
	var c collector
	err := e.Extract(testCtx(t), c.fn)
	if err == nil {
		t.Fatal("Extract = nil although the DEPROVISIONED pass failed")
	}
	if !strings.Contains(err.Error(), "DEPROVISIONED") {
		t.Errorf("error %q does not say which pass failed", err)
	}
	if !slices.Equal(c.ids(), []string{"u1", "u2"}) {
		t.Errorf("users = %v", c.ids())
	}
}

func TestExtractFilter(t *testing.T) {
	var got atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Query().Get("filter"))
		writePage(w, r, users("ACTIVE", "u9"), "")
	}))
	e := newExtractor(t, testCfg(srv.URL))
	filter := `lastUpdated gt "2025-01-01T00:00:00.000Z"`
	var c collector
	if err := e.ExtractFilter(testCtx(t), filter, c.fn); err != nil {
		t.Fatal(err)
	}
	if got.Load() != filter || !slices.Equal(c.ids(), []string{"u9"}) {
		t.Errorf("filter sent %q, users %v", got.Load(), c.ids())
	}
	if err := e.ExtractFilter(testCtx(t), "", c.fn); err == nil {
		t.Error("empty filter accepted")
	}
}

func TestExtractCallbackErrorStops(t *testing.T) {
	org := &fakeOrg{
		plain:  [][]map[string]any{users("ACTIVE", "u1"), users("ACTIVE", "u2"), users("ACTIVE", "u3")},
		deprov: [][]map[string]any{users("DEPROVISIONED", "d1")},
	}
	org.t = t
	srv := newServer(t, org)
	e := newExtractor(t, testCfg(srv.URL))
	errStop := errors.New("sink full")
	calls := 0
	err := e.Extract(testCtx(t), func(context.Context, extractor.Page) error {
		calls++
		if calls == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if calls != 2 || org.hits.Load() != 2 {
		t.Errorf("callback calls = %d, requests = %d; want 2, 2 (nothing after the error)", calls, org.hits.Load())
	}
}

func TestExtractContextCancelled(t *testing.T) {
	t.Run("during a request", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{})
		org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1"), users("ACTIVE", "u2")}}
		org.t = t
		org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 2 {
				close(arrived)
				select { // hang until the client goes away
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			}
			return false
		}
		srv := newServer(t, org)
		e := newExtractor(t, testCfg(srv.URL))
		ctx, cancel := context.WithCancel(testCtx(t))
		go func() { <-arrived; cancel() }()
		var c collector
		start := time.Now()
		err := e.Extract(ctx, c.fn)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var te *TransportError
		if errors.As(err, &te) {
			t.Errorf("cancellation reported as a transport failure: %v", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Extract took %s, want prompt return", el)
		}
		if !slices.Equal(c.ids(), []string{"u1"}) || org.hits.Load() != 2 {
			t.Errorf("users %v, hits %d; want [u1], 2", c.ids(), org.hits.Load())
		}
	})
	t.Run("during a rate-limit wait", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Rate-Limit-Limit", "600")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(50*time.Second).Unix(), 10))
			oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		}))
		cfg := testCfg(srv.URL)
		cfg.MaxRateLimitWait = time.Minute
		e := newExtractor(t, cfg)
		ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := e.Extract(ctx, (&collector{}).fn)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Extract took %s, want prompt return", el)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1")}}
		org.t = t
		srv := newServer(t, org)
		e := newExtractor(t, testCfg(srv.URL))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := e.Extract(ctx, (&collector{}).fn)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if org.hits.Load() != 0 {
			t.Errorf("server hit %d times with a cancelled context", org.hits.Load())
		}
	})
}

// bucketOrg emulates one Okta rate-limit bucket: `limit` requests per
// window, then 429 until the window is reset (by the test's sleep hook).
type bucketOrg struct {
	t      *testing.T
	pages  int
	limit  int
	mu     sync.Mutex
	used   int
	reset  time.Time
	served int
	tooMny int
}

func (b *bucketOrg) resetWindow() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used = 0
	b.reset = time.Now().Add(60 * time.Second)
}

func (b *bucketOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	if b.reset.IsZero() {
		b.reset = time.Now().Add(60 * time.Second)
	}
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(b.limit))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	if b.used >= b.limit {
		b.tooMny++
		b.mu.Unlock()
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	b.used++
	b.served++
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(b.limit-b.used))
	b.mu.Unlock()

	if r.URL.Query().Get("filter") != "" {
		writePage(w, r, []map[string]any{}, "")
		return
	}
	i := 0
	if a := r.URL.Query().Get("after"); a != "" {
		i, _ = strconv.Atoi(a)
	}
	next := ""
	if i+1 < b.pages {
		next = fmt.Sprintf("after=%d&limit=200", i+1)
	}
	writePage(w, r, users("ACTIVE", fmt.Sprintf("u%02d", i)), next)
}

// TestExtractPacing: with a 10-request bucket and the default 10% reserve,
// oktasync pauses until the window resets whenever one request is left,
// so 26 requests never see a 429.
func TestExtractPacing(t *testing.T) {
	org := &bucketOrg{t: t, pages: 25, limit: 10}
	srv := newServer(t, org)
	cfg := testCfg(srv.URL)
	cfg.MaxRateLimitWait = 2 * time.Minute
	e := newExtractor(t, cfg)
	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	tr := transportOf(t, e)
	tr.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		org.resetWindow() // the window has passed
		return ctx.Err()
	}
	var c collector
	if err := e.Extract(testCtx(t), c.fn); err != nil {
		t.Fatal(err)
	}
	if len(c.users) != 25 {
		t.Errorf("got %d users, want 25", len(c.users))
	}
	org.mu.Lock()
	tooMany, served := org.tooMny, org.served
	org.mu.Unlock()
	if tooMany != 0 {
		t.Errorf("server answered %d 429s; pacing should have prevented them", tooMany)
	}
	if served != 26 {
		t.Errorf("served %d requests, want 26", served)
	}
	st := e.Stats()
	// 9 requests per window (one left as reserve): pauses before the 10th and 19th.
	if st.Pauses != 2 || st.RateLimited != 0 {
		t.Errorf("Pauses = %d, RateLimited = %d; want 2, 0", st.Pauses, st.RateLimited)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	for _, d := range waits {
		// until the reset (60 s away, whole seconds) plus 1 s
		if d < 59*time.Second || d > 62*time.Second {
			t.Errorf("pause %s, want about 61s (until the reset)", d)
		}
	}
	if e.Counters().Remaining.Load() < 0 {
		t.Errorf("Remaining not recorded")
	}
}

func TestExtract429(t *testing.T) {
	t.Run("waits until the reset then succeeds", func(t *testing.T) {
		t.Parallel()
		org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1"), users("ACTIVE", "u2")}}
		org.t = t
		org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n != 2 {
				return false
			}
			w.Header().Set("X-Rate-Limit-Limit", "600")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
			oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
			return true
		}
		srv := newServer(t, org)
		e := newExtractor(t, testCfg(srv.URL)) // MaxRateLimitWait 1s
		var c collector
		start := time.Now()
		if err := e.Extract(testCtx(t), c.fn); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		if !slices.Equal(c.ids(), []string{"u1", "u2"}) {
			t.Errorf("users = %v, want each once", c.ids())
		}
		if el < 900*time.Millisecond || el > 6*time.Second {
			t.Errorf("took %s, want about the 1s wait", el)
		}
		st := e.Stats()
		if st.RateLimited != 1 || st.Requests != 4 || st.Retries != 0 {
			t.Errorf("stats = %+v, want RateLimited 1, Requests 4, Retries 0", st)
		}
	})
	t.Run("gives up after MaxRateLimitWaits", func(t *testing.T) {
		var hits atomic.Int32
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("X-Rate-Limit-Limit", "600")
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(60*time.Second).Unix(), 10))
			oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		}))
		cfg := testCfg(srv.URL)
		cfg.MaxRateLimitWait = 2 * time.Minute
		cfg.MaxRateLimitWaits = 3
		e := newExtractor(t, cfg)
		clock := newFakeClock(time.Now())
		tr := transportOf(t, e)
		tr.now, tr.sleep = clock.Now, clock.Sleep
		err := e.Extract(testCtx(t), (&collector{}).fn)
		var rle *RateLimitError
		if !errors.As(err, &rle) {
			t.Fatalf("err = %v (%T), want *RateLimitError", err, err)
		}
		if rle.Waits != 3 {
			t.Errorf("Waits = %d, want 3", rle.Waits)
		}
		if hits.Load() != 4 {
			t.Errorf("hits = %d, want 4 (first try + 3 waits, no page-level retry)", hits.Load())
		}
		st := e.Stats()
		if st.RateLimited != 4 || st.Pauses != 0 {
			t.Errorf("RateLimited = %d, Pauses = %d; want 4, 0", st.RateLimited, st.Pauses)
		}
		for _, d := range clock.Sleeps() {
			if d < 59*time.Second || d > 63*time.Second {
				t.Errorf("429 wait %s, want until the reset (about 61s)", d)
			}
		}
		if len(clock.Sleeps()) != 3 {
			t.Errorf("sleeps = %v, want 3", clock.Sleeps())
		}
	})
}

func TestExtract5xx(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		failures  int // failing answers before the server recovers
		failOn    int // request number of the first failure
		wantErr   bool
		wantHits  int32
		wantRetry int64
	}{
		{name: "persistent 500", status: 500, failures: 100, failOn: 1, wantErr: true, wantHits: 3, wantRetry: 2},
		{name: "persistent 503", status: 503, failures: 100, failOn: 1, wantErr: true, wantHits: 3, wantRetry: 2},
		{name: "transient 503", status: 503, failures: 1, failOn: 1, wantHits: 3, wantRetry: 1},
		{name: "transient 502 on page 2", status: 502, failures: 2, failOn: 2, wantHits: 5, wantRetry: 2},
		{name: "400 is not retried", status: 400, failures: 100, failOn: 1, wantErr: true, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1"), users("ACTIVE", "u2")}}
			org.t = t
			if tt.failOn == 1 {
				org.plain = org.plain[:1]
			}
			org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n >= tt.failOn && n < tt.failOn+tt.failures {
					w.Header().Set("X-Okta-Request-Id", "req-42")
					oktaError(w, tt.status, "E0000009", "Internal Server Error")
					return true
				}
				return false
			}
			srv := newServer(t, org)
			e := newExtractor(t, testCfg(srv.URL))
			var c collector
			err := e.Extract(testCtx(t), c.fn)
			if tt.wantErr {
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v (%T), want *APIError", err, err)
				}
				if ae.Status != tt.status || ae.Code != "E0000009" || !strings.Contains(ae.Summary, "Internal Server Error") {
					t.Errorf("APIError = %+v, want status %d, code E0000009", ae, tt.status)
				}
				if ae.Auth() || ae.NotFound() {
					t.Errorf("Auth() or NotFound() true for %d", tt.status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"u1"}
				if tt.failOn == 2 {
					want = []string{"u1", "u2"}
				}
				if !slices.Equal(c.ids(), want) {
					t.Errorf("users = %v, want %v", c.ids(), want)
				}
			}
			if org.hits.Load() != tt.wantHits {
				t.Errorf("hits = %d, want %d", org.hits.Load(), tt.wantHits)
			}
			if got := e.Stats().Retries; got != tt.wantRetry {
				t.Errorf("Retries = %d, want %d", got, tt.wantRetry)
			}
		})
	}
}

// TestExtractConnectionClosed: a server that closes every connection
// without answering gets MaxRetries+1 attempts, not the SDK's endless
// io.EOF loop.
func TestExtractConnectionClosed(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		hijackClose(w)
	}))
	e := newExtractor(t, testCfg(srv.URL))
	start := time.Now()
	err := e.Extract(testCtx(t), (&collector{}).fn)
	el := time.Since(start)
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *TransportError", err, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("error unwraps to io.EOF")
	}
	if te.Attempts != 3 || hits.Load() != 3 {
		t.Errorf("attempts = %d, hits = %d; want 3, 3", te.Attempts, hits.Load())
	}
	if got := e.Stats().Retries; got != 2 {
		t.Errorf("Retries = %d, want 2", got)
	}
	if el > 3*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestExtractConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	orgURL := srv.URL
	srv.Close()
	e := newExtractor(t, testCfg(orgURL))
	err := e.Extract(testCtx(t), (&collector{}).fn)
	var te *TransportError
	if !errors.As(err, &te) || te.Attempts != 3 {
		t.Fatalf("err = %v, want *TransportError after 3 attempts", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not name the cause", err)
	}
}

// TestExtractRequestTimeout: an attempt that outlives RequestTimeout is
// abandoned and retried.
func TestExtractRequestTimeout(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	t.Run("configured 1s, first attempt hangs", func(t *testing.T) {
		t.Parallel()
		org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1")}}
		org.t = t
		org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				hang(w, r)
				return true
			}
			return false
		}
		srv := newServer(t, org)
		cfg := testCfg(srv.URL)
		cfg.RequestTimeout = time.Second
		e := newExtractor(t, cfg)
		var c collector
		start := time.Now()
		if err := e.Extract(testCtx(t), c.fn); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < time.Second || el > 5*time.Second {
			t.Errorf("took %s, want about the 1s timeout", el)
		}
		if !slices.Equal(c.ids(), []string{"u1"}) || e.Stats().Retries != 1 {
			t.Errorf("users %v, retries %d; want [u1], 1", c.ids(), e.Stats().Retries)
		}
	})
	t.Run("always hangs", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int32
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			hang(w, r)
		}))
		e := newExtractor(t, testCfg(srv.URL))
		transportOf(t, e).cfg.RequestTimeout = 100 * time.Millisecond
		start := time.Now()
		err := e.Extract(testCtx(t), (&collector{}).fn)
		var te *TransportError
		if !errors.As(err, &te) || hits.Load() != 3 {
			t.Fatalf("err = %v, hits %d; want *TransportError after 3", err, hits.Load())
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %s", el)
		}
	})
	t.Run("body stalls", func(t *testing.T) {
		t.Parallel()
		org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1")}}
		org.t = t
		org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n != 1 {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4000")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `[{"id":"u1","status":"ACTIVE",`)
			w.(http.Flusher).Flush()
			hang(w, r)
			return true
		}
		srv := newServer(t, org)
		e := newExtractor(t, testCfg(srv.URL))
		transportOf(t, e).cfg.RequestTimeout = 200 * time.Millisecond
		var c collector
		if err := e.Extract(testCtx(t), c.fn); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		if !slices.Equal(c.ids(), []string{"u1"}) || org.hits.Load() != 3 || e.Stats().Retries != 1 {
			t.Errorf("users %v, hits %d, retries %d; want [u1], 3, 1", c.ids(), org.hits.Load(), e.Stats().Retries)
		}
	})
	t.Run("body always stalls", func(t *testing.T) {
		t.Parallel()
		var hits atomic.Int32
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4000")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `[{"id":"u1",`)
			w.(http.Flusher).Flush()
			hang(w, r)
		}))
		e := newExtractor(t, testCfg(srv.URL))
		transportOf(t, e).cfg.RequestTimeout = 100 * time.Millisecond
		ctx := testCtx(t)
		err := e.Extract(ctx, (&collector{}).fn)
		var te *TransportError
		if !errors.As(err, &te) || hits.Load() != 3 {
			t.Fatalf("err = %v (%T), hits %d; want *TransportError after 3", err, err, hits.Load())
		}
		// The run's own context is fine: the error must not look like it expired.
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			t.Errorf("attempt timeout reported as the caller's deadline: %v", err)
		}
	})
}

// TestExtractMalformedPage: a 200 whose body does not decode is retried at
// page level.
func TestExtractMalformedPage(t *testing.T) {
	bodies := []struct {
		name, ctype, body string
	}{
		{"truncated", "application/json", `[{"id":"u1","status":"ACT`},
		{"object", "application/json", `{"id":"u1"}`},
		{"html", "text/html", `<html>upstream error</html>`},
		{"empty", "application/json", ``},
		{"whitespace", "application/json", "  \n"},
		{"null", "application/json", `null`},
	}
	for _, b := range bodies {
		for _, persistent := range []bool{false, true} {
			name := b.name + "/transient"
			if persistent {
				name = b.name + "/persistent"
			}
			t.Run(name, func(t *testing.T) {
				org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1"), users("ACTIVE", "u2")}}
				org.t = t
				org.fail = func(w http.ResponseWriter, r *http.Request, n int) bool {
					// page 2 is malformed (once, or always)
					if r.URL.Query().Get("after") == "c1" && (persistent || n == 2) {
						w.Header().Set("Content-Type", b.ctype)
						_, _ = io.WriteString(w, b.body)
						return true
					}
					return false
				}
				srv := newServer(t, org)
				e := newExtractor(t, testCfg(srv.URL))
				var c collector
				err := e.Extract(testCtx(t), c.fn)
				if persistent {
					if err == nil {
						t.Fatal("Extract = nil with a malformed page")
					}
					var ae *APIError
					if errors.As(err, &ae) {
						t.Errorf("malformed body reported as %v", ae)
					}
					if !strings.Contains(err.Error(), "page 2") {
						t.Errorf("error %q does not name the page", err)
					}
					if org.hits.Load() != 4 || e.Stats().Retries != 2 {
						t.Errorf("hits %d, retries %d; want 4 (1 + 3 tries of page 2), 2", org.hits.Load(), e.Stats().Retries)
					}
					if !slices.Equal(c.ids(), []string{"u1"}) {
						t.Errorf("users = %v", c.ids())
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(c.ids(), []string{"u1", "u2"}) {
					t.Errorf("users = %v, want u1, u2 once each", c.ids())
				}
				if e.Stats().Retries != 1 || e.Stats().Pages != 3 {
					t.Errorf("stats = %+v, want 1 retry, 3 pages", e.Stats())
				}
			})
		}
	}
}

// TestExtractAuthErrors: 401/403 become *APIError with Auth() and Okta's
// code, the token never appears in the error, and they are not retried.
func TestExtractAuthErrors(t *testing.T) {
	tests := []struct {
		status   int
		code     string
		wantAuth bool
	}{
		{401, "E0000011", true},
		{403, "E0000006", true},
		{400, "E0000031", false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			var hits atomic.Int32
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Header.Get("Authorization") != "SSWS "+testToken {
					t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
				}
				oktaError(w, tt.status, tt.code, "Invalid token provided")
			}))
			e := newExtractor(t, testCfg(srv.URL))
			err := e.Extract(testCtx(t), (&collector{}).fn)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.Auth() != tt.wantAuth {
				t.Errorf("APIError = %+v Auth()=%v, want %d %s Auth()=%v", ae, ae.Auth(), tt.status, tt.code, tt.wantAuth)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(fmt.Sprintf("%+v %#v", err, ae), testToken) {
				t.Errorf("error text contains the token: %v", err)
			}
			if hits.Load() != 1 {
				t.Errorf("hits = %d, want 1 (no retry)", hits.Load())
			}
		})
	}
}

func TestUser(t *testing.T) {
	var gotPath atomic.Value
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.EscapedPath())
		if r.Header.Get("Authorization") != "SSWS "+testToken {
			oktaError(w, 401, "E0000011", "Invalid token provided")
			return
		}
		switch id := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v1/users/"); id {
		case "00uempty":
			w.Header().Set("Content-Type", "application/json")
		case "00u1", "jane@example.com":
			writeJSON(w, 200, userJSON("00u1", "ACTIVE"))
		default:
			oktaError(w, 404, "E0000007", "Not found: Resource not found: "+id+" (User)")
		}
	}))
	e := newExtractor(t, testCfg(srv.URL))
	for _, id := range []string{"00u1", "jane@example.com"} {
		u, err := e.User(testCtx(t), id)
		if err != nil {
			t.Fatalf("User(%s): %v", id, err)
		}
		if u.Id != "00u1" || u.Status != "ACTIVE" || (*u.Profile)["email"] != "00u1@example.com" {
			t.Errorf("User(%s) = %+v", id, u)
		}
	}
	for _, id := range []string{"00ugone", "a/b"} {
		gotPath.Store("")
		_, err := e.User(testCtx(t), id)
		var ae *APIError
		if !errors.As(err, &ae) || !ae.NotFound() || ae.Auth() || ae.Code != "E0000007" {
			t.Fatalf("User(%s) err = %v, want *APIError NotFound", id, err)
		}
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not name the id", err)
		}
		// An id with a slash stays one path segment.
		if p := gotPath.Load(); id == "a/b" && p != "/api/v1/users/a%2Fb" {
			t.Errorf("path = %v, want /api/v1/users/a%%2Fb", p)
		}
	}
	if u, err := e.User(testCtx(t), "00uempty"); err == nil || u != nil {
		t.Errorf("User with an empty body = %v, %v; want an error", u, err)
	}
}

// TestStatsConcurrent: Stats may be read while Extract runs (metrics).
func TestStatsConcurrent(t *testing.T) {
	plain := make([][]map[string]any, 20)
	for i := range plain {
		plain[i] = users("ACTIVE", fmt.Sprintf("u%d", i))
	}
	org := &fakeOrg{plain: plain}
	org.t = t
	srv := newServer(t, org)
	e := newExtractor(t, testCfg(srv.URL))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = e.Stats()
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	err := e.Extract(testCtx(t), (&collector{}).fn)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Pages != 21 || st.Read != 20 {
		t.Errorf("stats = %+v, want 21 pages, 20 read", st)
	}
}

// TestEnvironmentIgnored: OKTA_* variables the SDK would read must not
// change the server, the credentials or the cache.
func TestEnvironmentIgnored(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{name: "unparseable values", env: map[string]string{
			"OKTA_CLIENT_CACHE_ENABLED":          "",
			"OKTA_CLIENT_RATE_LIMIT_MAX_RETRIES": "notanumber",
			"OKTA_CLIENT_AUTHORIZATIONMODE":      "PrivateKey",
			"OKTA_CLIENT_REQUEST_TIMEOUT":        "soon",
		}},
		{name: "well-formed values", env: map[string]string{
			"OKTA_CLIENT_CACHE_ENABLED":          "true",
			"OKTA_CLIENT_CACHE_DEFAULT_TTL":      "600",
			"OKTA_CLIENT_RATE_LIMIT_MAX_RETRIES": "5",
			"OKTA_CLIENT_RATE_LIMIT_MAX_BACKOFF": "1",
			"OKTA_CLIENT_AUTHORIZATIONMODE":      "Bearer",
			"OKTA_CLIENT_REQUEST_TIMEOUT":        "1",
			"OKTA_CLIENT_CLIENTID":               "env-client",
			"OKTA_CLIENT_SCOPES":                 "okta.users.manage",
			"OKTA_CLIENT_PRIVATEKEY":             "not a key",
			"OKTA_CLIENT_CLIENTASSERTION":        "env.assertion.jwt",
			"OKTA_CLIENT_PROXY_HOST":             "127.0.0.1",
			"OKTA_CLIENT_PROXY_PORT":             "9",
			"OKTA_TESTING_DISABLE_HTTPS_CHECK":   "false",
			"OKTA_HTTPCLIENT_TIMEOUT":            "1ns",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var decoyHits atomic.Int32
			decoy := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				decoyHits.Add(1)
				writePage(w, r, users("ACTIVE", "decoy"), "")
			}))
			org := &fakeOrg{plain: [][]map[string]any{users("ACTIVE", "u1")}}
			org.t = t
			srv := newServer(t, org)
			t.Setenv("OKTA_CLIENT_ORGURL", decoy.URL)
			t.Setenv("OKTA_CLIENT_TOKEN", "env-token-should-not-be-used")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			e := newExtractor(t, testCfg(srv.URL))
			for run := 1; run <= 2; run++ {
				var c collector
				if err := e.Extract(testCtx(t), c.fn); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				if !slices.Equal(c.ids(), []string{"u1"}) {
					t.Errorf("run %d users = %v", run, c.ids())
				}
			}
			// Two runs × (plain + DEPROVISIONED): no response came from a cache.
			if org.hits.Load() != 4 {
				t.Errorf("server hits = %d, want 4 (cache must be off)", org.hits.Load())
			}
			if decoyHits.Load() != 0 {
				t.Errorf("OKTA_CLIENT_ORGURL was used")
			}
			org.mu.Lock()
			defer org.mu.Unlock()
			for _, a := range org.auth {
				if a != "SSWS "+testToken {
					t.Errorf("Authorization = %q, want the configured SSWS token", a)
				}
			}
		})
	}
}

// --- OAuth private_key_jwt ---

var (
	keysOnce         sync.Once
	rsaKey, rsaOther *rsa.PrivateKey
	ecKey            *ecdsa.PrivateKey
	keysErr          error
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if rsaKey, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if rsaOther, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		ecKey, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return rsaKey, rsaOther, ecKey
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func pkcs8PEM(t *testing.T, k any) string {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b}))
}

// verifyJWT checks an RS256 compact JWS with pub and returns its header and
// claims.
func verifyJWT(tok string, pub *rsa.PublicKey) (header, claims map[string]any, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("JWT has %d parts", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, nil, fmt.Errorf("claims: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, nil, fmt.Errorf("signature: %w", err)
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, nil, err
	}
	if header["alg"] != "RS256" {
		return nil, nil, fmt.Errorf("alg %v", header["alg"])
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, nil, fmt.Errorf("signature: %w", err)
	}
	return header, claims, nil
}

// oauthOrg is a fake org with an OAuth token endpoint for one service app.
type oauthOrg struct {
	t           *testing.T
	pub         *rsa.PublicKey
	clientID    string
	kid         string
	accessToken string

	tokenCalls, apiCalls atomic.Int32
}

func (o *oauthOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth2/v1/token":
		o.tokenCalls.Add(1)
		q := r.URL.Query()
		if r.Method != http.MethodPost || q.Get("grant_type") != "client_credentials" ||
			q.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			o.t.Errorf("token request %s %s", r.Method, r.URL)
		}
		if q.Get("scope") != "okta.users.read" {
			o.t.Errorf("scope = %q, want okta.users.read", q.Get("scope"))
		}
		header, claims, err := verifyJWT(q.Get("client_assertion"), o.pub)
		if err != nil {
			writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "The client_assertion signature is invalid."})
			return
		}
		aud := "http://" + r.Host + "/oauth2/v1/token"
		now := float64(time.Now().Unix())
		exp, _ := claims["exp"].(float64)
		iat, _ := claims["iat"].(float64)
		switch {
		case claims["iss"] != o.clientID || claims["sub"] != o.clientID:
			o.t.Errorf("iss/sub = %v/%v, want %s", claims["iss"], claims["sub"], o.clientID)
		case claims["aud"] != aud:
			o.t.Errorf("aud = %v, want %s", claims["aud"], aud)
		case exp <= now || exp > now+3700 || iat > now+5:
			o.t.Errorf("iat/exp = %v/%v, now %v", iat, exp, now)
		}
		if kid, ok := header["kid"]; o.kid != "" && kid != o.kid || o.kid == "" && ok {
			o.t.Errorf("kid header = %v, want %q", kid, o.kid)
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": o.accessToken, "scope": "okta.users.read"})
	case "/api/v1/users":
		o.apiCalls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+o.accessToken {
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="http://`+r.Host+`/oauth2/v1/authorize", realm="http://`+r.Host+`", scope="okta.users.read", error="invalid_token", error_description="The access token is invalid.", resource="/api/v1/users"`)
			oktaError(w, 401, "E0000011", "Invalid token provided")
			return
		}
		if r.URL.Query().Get("filter") != "" {
			writePage(w, r, users("DEPROVISIONED", "d1"), "")
			return
		}
		if r.URL.Query().Get("after") == "" {
			writePage(w, r, users("ACTIVE", "u1"), "after=c1&limit=200")
			return
		}
		writePage(w, r, users("ACTIVE", "u2"), "")
	default:
		http.NotFound(w, r)
	}
}

func TestOAuthPrivateKeyJWT(t *testing.T) {
	key, other, _ := testKeys(t)
	tests := []struct {
		name   string
		pem    string
		kid    string
		signer *rsa.PrivateKey // the key the org knows
	}{
		{name: "PKCS#1 with kid", pem: pkcs1PEM(key), kid: "kid-1", signer: key},
		{name: "PKCS#8 without kid", pem: pkcs8PEM(t, key), signer: key},
		{name: "PKCS#8 with escaped newlines", pem: strings.ReplaceAll(pkcs8PEM(t, key), "\n", `\n`), kid: "kid-2", signer: key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := &oauthOrg{t: t, pub: &tt.signer.PublicKey, clientID: "0oa-service-app", kid: tt.kid, accessToken: "at-" + strconv.Itoa(len(tt.name))}
			srv := newServer(t, org)
			// The SDK must not take the app from the environment either.
			t.Setenv("OKTA_CLIENT_CLIENTID", "0oa-env")
			t.Setenv("OKTA_CLIENT_SCOPES", "okta.users.manage")
			t.Setenv("OKTA_CLIENT_PRIVATEKEYID", "env-kid")
			cfg := testCfg(srv.URL)
			cfg.Token = ""
			cfg.ClientID, cfg.PrivateKey, cfg.KeyID = org.clientID, tt.pem, tt.kid
			e := newExtractor(t, cfg)
			var c collector
			if err := e.Extract(testCtx(t), c.fn); err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !slices.Equal(c.ids(), []string{"u1", "u2", "d1"}) {
				t.Errorf("users = %v", c.ids())
			}
			if org.tokenCalls.Load() != 1 || org.apiCalls.Load() != 3 {
				t.Errorf("token calls %d, api calls %d; want 1 (cached), 3", org.tokenCalls.Load(), org.apiCalls.Load())
			}
		})
	}
	t.Run("key the org does not know", func(t *testing.T) {
		org := &oauthOrg{t: t, pub: &other.PublicKey, clientID: "0oa-service-app", accessToken: "at-x"}
		srv := newServer(t, org)
		cfg := testCfg(srv.URL)
		cfg.Token = ""
		cfg.ClientID, cfg.PrivateKey = org.clientID, pkcs8PEM(t, key)
		e := newExtractor(t, cfg)
		err := e.Extract(testCtx(t), (&collector{}).fn)
		if err == nil {
			t.Fatal("Extract succeeded with an unknown key")
		}
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Auth() || ae.Code != "invalid_client" {
			t.Errorf("err = %v, want *APIError invalid_client with Auth()", err)
		}
		if !strings.Contains(err.Error(), "The client_assertion signature is invalid.") || strings.Contains(err.Error(), "HTTP 0") {
			t.Errorf("error text %q", err)
		}
		if org.apiCalls.Load() != 0 {
			t.Errorf("API called %d times without a token", org.apiCalls.Load())
		}
	})
	t.Run("token endpoint unreachable does not leak the assertion", func(t *testing.T) {
		srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hijackClose(w) }))
		cfg := testCfg(srv.URL)
		cfg.Token = ""
		cfg.ClientID, cfg.PrivateKey = "0oa-service-app", pkcs1PEM(key)
		e := newExtractor(t, cfg)
		err := e.Extract(testCtx(t), (&collector{}).fn)
		var te *TransportError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v (%T), want *TransportError", err, err)
		}
		if strings.Contains(err.Error(), "eyJ") {
			t.Errorf("error text contains the signed client assertion: %v", err)
		}
		if !strings.Contains(err.Error(), "/oauth2/v1/token") {
			t.Errorf("error %q does not say which request failed", err)
		}
	})
}

func TestOAuthBadKeys(t *testing.T) {
	_, _, ec := testKeys(t)
	ecPEM := pkcs8PEM(t, ec)
	tests := []struct {
		name, pem, want string
	}{
		{"EC PKCS#8", ecPEM, "RSA key"},
		{"garbage PEM body", "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ5dGVzLW5vdC1hLWtleQ==\n-----END RSA PRIVATE KEY-----\n", "PKCS#1 RSA private key does not parse"},
		{"garbage PKCS#8 body", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVzLW5vdC1hLWtleQ==\n-----END PRIVATE KEY-----\n", "PKCS#8 private key does not parse"},
		{"not PEM", "s3cr3t-not-a-pem-value", "not a PEM private key"},
		{"certificate", "-----BEGIN CERTIFICATE-----\nc2VjcmV0LWJ5dGVzLW5vdC1hLWtleQ==\n-----END CERTIFICATE-----\n", `"CERTIFICATE" is not a private key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCfg("https://acme.okta.com")
			cfg.Token = ""
			cfg.ClientID, cfg.PrivateKey = "0oa-app", tt.pem
			_, err := New(cfg, nil)
			if err == nil {
				t.Fatal("New accepted the key")
			}
			msg := err.Error()
			if !strings.Contains(msg, "okta.private_key") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want okta.private_key and %q", msg, tt.want)
			}
			// No key material: no line of the PEM body, no secret text.
			for _, line := range strings.Split(tt.pem, "\n") {
				if line != "" && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line) {
					t.Errorf("error contains key material %q", line)
				}
			}
			if strings.Contains(msg, "c2VjcmV0") || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error contains key material: %q", msg)
			}
		})
	}
}

// --- configuration ---

func validCfg() Config {
	c := DefaultConfig()
	c.OrgURL, c.Token = "https://acme.okta.com", testToken
	return c
}

// withDefaults fills the zero fields of c from DefaultConfig: test setup
// for the fields a test does not care about (the product never does this,
// since an explicit zero means zero).
func withDefaults(c Config) Config {
	d := DefaultConfig()
	if len(c.Scopes) == 0 {
		c.Scopes = d.Scopes
	}
	for _, f := range []struct {
		dst *int
		def int
	}{{&c.PageSize, d.PageSize}, {&c.MaxRetries, d.MaxRetries}, {&c.MaxRateLimitWaits, d.MaxRateLimitWaits}} {
		if *f.dst == 0 {
			*f.dst = f.def
		}
	}
	for _, f := range []struct {
		dst *time.Duration
		def time.Duration
	}{{&c.RequestTimeout, d.RequestTimeout}, {&c.RetryBackoff, d.RetryBackoff}, {&c.MaxRateLimitWait, d.MaxRateLimitWait}} {
		if *f.dst == 0 {
			*f.dst = f.def
		}
	}
	if c.RateLimitReserve == 0 {
		c.RateLimitReserve = d.RateLimitReserve
	}
	if c.Mapping.Key == "" {
		c.Mapping = d.Mapping
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	key, _, _ := testKeys(t)
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings; nil means valid
	}{
		{name: "valid token", mutate: func(*Config) {}},
		{name: "valid OAuth", mutate: func(c *Config) { c.Token, c.ClientID, c.PrivateKey = "", "0oa1", pkcs1PEM(key) }},
		{name: "valid loopback http", mutate: func(c *Config) { c.OrgURL = "http://127.0.0.1:8080" }},
		{name: "valid localhost", mutate: func(c *Config) { c.OrgURL = "http://localhost:8080" }},
		{name: "valid IPv6 loopback", mutate: func(c *Config) { c.OrgURL = "http://[::1]:8080" }},
		{name: "org url missing", mutate: func(c *Config) { c.OrgURL = "" }, want: []string{"okta.org_url: required"}},
		{name: "org url http", mutate: func(c *Config) { c.OrgURL = "http://acme.okta.com" }, want: []string{"okta.org_url", "only allowed for loopback"}},
		{name: "org url admin", mutate: func(c *Config) { c.OrgURL = "https://acme-admin.okta.com" }, want: []string{"okta.org_url", "-admin"}},
		{name: "org url path", mutate: func(c *Config) { c.OrgURL = "https://acme.okta.com/api/v1" }, want: []string{"okta.org_url", "just the org's scheme and host"}},
		{name: "org url no scheme", mutate: func(c *Config) { c.OrgURL = "acme.okta.com" }, want: []string{"okta.org_url", "absolute URL"}},
		{name: "org url ftp", mutate: func(c *Config) { c.OrgURL = "ftp://acme.okta.com" }, want: []string{"okta.org_url", "scheme must be https"}},
		{name: "org url credentials", mutate: func(c *Config) { c.OrgURL = "https://u:pw@acme.okta.com" }, want: []string{"okta.org_url", "credentials"}},
		{name: "both credentials", mutate: func(c *Config) { c.ClientID, c.PrivateKey = "0oa1", pkcs1PEM(key) }, want: []string{"not both"}},
		{name: "no credentials", mutate: func(c *Config) { c.Token = "" }, want: []string{"no credentials"}},
		{name: "client id without key", mutate: func(c *Config) { c.Token, c.ClientID = "", "0oa1" }, want: []string{"okta.private_key: required"}},
		{name: "key without client id", mutate: func(c *Config) { c.Token, c.PrivateKey = "", pkcs1PEM(key) }, want: []string{"okta.client_id: required"}},
		{name: "page size 0", mutate: func(c *Config) { c.PageSize = 0 }, want: []string{"okta.page_size", "got 0"}},
		{name: "page size 201", mutate: func(c *Config) { c.PageSize = 201 }, want: []string{"okta.page_size", "got 201"}},
		{name: "request timeout", mutate: func(c *Config) { c.RequestTimeout = 500 * time.Millisecond }, want: []string{"okta.request_timeout"}},
		{name: "max retries", mutate: func(c *Config) { c.MaxRetries = 21 }, want: []string{"okta.max_retries"}},
		{name: "negative retries", mutate: func(c *Config) { c.MaxRetries = -1 }, want: []string{"okta.max_retries"}},
		{name: "retry backoff", mutate: func(c *Config) { c.RetryBackoff = -time.Second }, want: []string{"okta.retry_backoff"}},
		{name: "reserve 1", mutate: func(c *Config) { c.RateLimitReserve = 1 }, want: []string{"okta.rate_limit_reserve"}},
		{name: "reserve negative", mutate: func(c *Config) { c.RateLimitReserve = -0.1 }, want: []string{"okta.rate_limit_reserve"}},
		{name: "rate limit waits", mutate: func(c *Config) { c.MaxRateLimitWaits = -1 }, want: []string{"okta.max_rate_limit_waits"}},
		{name: "rate limit wait", mutate: func(c *Config) { c.MaxRateLimitWait = time.Millisecond }, want: []string{"okta.max_rate_limit_wait:"}},
		{name: "mapping key", mutate: func(c *Config) { c.Mapping.Key = "upn" }, want: []string{"mapping.key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCfg()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "pw@") {
				t.Errorf("error contains a secret: %q", err)
			}
			// New reports the same problem: it fills nothing in.
			if _, nerr := New(c, nil); nerr == nil || !strings.Contains(nerr.Error(), tt.want[0]) {
				t.Errorf("New: %v, want %q", nerr, tt.want[0])
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := validCfg()
	c.OrgURL = "http://acme.okta.com"
	c.Token = ""
	c.PageSize = 500
	c.RequestTimeout = time.Millisecond
	c.MaxRetries = 99
	c.RetryBackoff = -1
	c.RateLimitReserve = 2
	c.MaxRateLimitWaits = -3
	c.MaxRateLimitWait = 0
	c.Mapping.Key = "nope"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	for _, w := range []string{"okta.org_url", "no credentials", "okta.page_size", "okta.request_timeout", "okta.max_retries",
		"okta.retry_backoff", "okta.rate_limit_reserve", "okta.max_rate_limit_waits", "okta.max_rate_limit_wait:", "mapping.key"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not report %q:\n%v", w, err)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 10 {
		t.Errorf("%d lines, want one per problem (10):\n%v", n, err)
	}
}

func TestDefaults(t *testing.T) {
	c := DefaultConfig()
	c.OrgURL, c.Token = " https://acme.okta.com/ ", "t"
	c.Normalize()
	if c.OrgURL != "https://acme.okta.com" || c.PageSize != 200 || c.RequestTimeout != 30*time.Second ||
		c.MaxRetries != 4 || c.RetryBackoff != time.Second || c.RateLimitReserve != 0.1 ||
		c.MaxRateLimitWaits != 10 || c.MaxRateLimitWait != 2*time.Minute || !slices.Equal(c.Scopes, []string{"okta.users.read"}) {
		t.Errorf("defaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestAPIErrorAuth(t *testing.T) {
	tests := []struct {
		err  APIError
		auth bool
	}{
		{APIError{Status: 401, Code: "E0000011"}, true},
		{APIError{Status: 403, Code: "E0000006"}, true},
		{APIError{Status: 404, Code: "E0000007"}, false},
		{APIError{Status: 500, Code: "E0000009"}, false},
		{APIError{Status: 0, Code: "invalid_client"}, true},
		{APIError{Status: 0, Code: "invalid_scope"}, true},
		{APIError{Status: 0, Code: "server_error"}, false},
		{APIError{Status: 400, Code: "invalid_client"}, false},
	}
	for _, tt := range tests {
		if got := tt.err.Auth(); got != tt.auth {
			t.Errorf("%+v Auth() = %v, want %v", tt.err, got, tt.auth)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://h/api/v1/users?limit=200", "http://h/api/v1/users?limit=200"},
		{"http://h/oauth2/v1/token?client_assertion=eyJx.eyJy.sig&grant_type=client_credentials",
			"http://h/oauth2/v1/token?client_assertion=REDACTED&grant_type=client_credentials"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"http://h/oauth2/v1/token?client_assertion=eyJ%zz&x=1", "http://h/oauth2/v1/token?a=%zz;client_assertion=eyJq", "::%zz?client_assertion=eyJq"} {
		if got := redactURL(in); strings.Contains(got, "eyJ") {
			t.Errorf("redactURL(%q) = %q leaks the assertion", in, got)
		}
	}
}
