package okta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// faultBound is how long any fault case may take, success or failure.
const faultBound = 10 * time.Second

// simExtractor serves an org of n users (plus those created by setup) from
// the simulator with faults injected, and an extractor for it with 3
// attempts per request and page, 50 users per page, and short waits.
func simExtractor(t *testing.T, n int, faults oktasim.Faults, setup func(*oktasim.Server)) (*oktasim.Server, *Extractor) {
	t.Helper()
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: n, Seed: 42, RateWindow: time.Second})
	if setup != nil {
		setup(sim)
	}
	sim.SetFaults(faults)
	cfg := testCfg(url)
	cfg.PageSize = 50
	e := newExtractor(t, cfg)
	tr := transportOf(t, e)
	tr.cfg.RequestTimeout = 300 * time.Millisecond
	tr.cfg.MaxRateLimitWait = 50 * time.Millisecond
	return sim, e
}

// extractAll runs a full Extract within faultBound.
func extractAll(t *testing.T, e *Extractor) (*collector, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*faultBound)
	defer cancel()
	var c collector
	start := time.Now()
	err := e.Extract(ctx, c.fn)
	if el := time.Since(start); el > faultBound {
		t.Errorf("Extract took %s, want at most %s", el, faultBound)
	}
	if ctx.Err() != nil {
		t.Fatalf("Extract did not end by itself: %v", err)
	}
	return &c, err
}

// wantEveryUser checks a successful read returned each simulated user
// exactly once.
func wantEveryUser(t *testing.T, sim *oktasim.Server, c *collector, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	var want []string
	for _, u := range sim.Users() {
		want = append(want, u.Id)
	}
	got := c.ids()
	for _, s := range c.skips {
		got = append(got, s.SourceID)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("read %d users (+%d skipped), want each of the %d simulated users once", len(c.users), len(c.skips), len(want))
	}
}

// wantFailure checks a failed read: the error has type T and names every
// part of want.
func wantFailure[T error](t *testing.T, err error, want ...string) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("err = %v (%T), want %T", err, err, target)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	return target
}

// TestOktaFaults is the Okta fault matrix: each case is a fault injected by
// the simulator and read through the real SDK. Every case ends within
// faultBound, either with every user read after retries, or with a typed
// error that says what happened and how often it was tried.
func TestOktaFaults(t *testing.T) {
	const users = 230 // five pages of 50 and the DEPROVISIONED pass
	t.Run("429_storm/waited_out", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{RateLimitRate: 0.4}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if e.Stats().RateLimited == 0 || sim.Stats().RateLimited == 0 {
			t.Errorf("no 429 seen (stats %+v): the case tests nothing", e.Stats())
		}
	})
	t.Run("429_storm/outlasts_the_waits", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{RateLimitRate: 1}, nil)
		_, err := extractAll(t, e)
		re := wantFailure[*RateLimitError](t, err, "page 1", "rate limit", "after waiting 3 windows")
		if re.Waits != 3 {
			t.Errorf("waits = %d, want 3", re.Waits)
		}
	})
	t.Run("5xx_burst/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{ErrorRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().ServerErrors == 0 || e.Stats().Retries == 0 {
			t.Errorf("no 5xx retried (stats %+v)", e.Stats())
		}
	})
	t.Run("5xx_burst/persists", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{FailAfter: 2}, nil)
		c, err := extractAll(t, e)
		ae := wantFailure[*APIError](t, err, "page 3", "HTTP 500", "E0000009", "after 3 attempts")
		if ae.Attempts != 3 || ae.Auth() {
			t.Errorf("APIError %+v: want 3 attempts, not an auth error", ae)
		}
		if n := len(c.users) + len(c.skips); n != 100 || sim.Stats().ServerErrors != 3 {
			t.Errorf("read %d users and saw %d 5xx; want the two good pages, then 3 attempts", n, sim.Stats().ServerErrors)
		}
	})
	t.Run("connection_reset/before_response/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{ResetRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().Resets == 0 {
			t.Error("no reset injected")
		}
	})
	t.Run("connection_reset/before_response/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{ResetRate: 1}, nil)
		_, err := extractAll(t, e)
		te := wantFailure[*TransportError](t, err, "page 1", "unreachable after 3 attempts")
		if te.Attempts != 3 {
			t.Errorf("attempts = %d", te.Attempts)
		}
	})
	t.Run("connection_reset/mid_body/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{BodyResetRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().Resets == 0 {
			t.Error("no mid-body reset injected")
		}
	})
	t.Run("connection_reset/mid_body/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{BodyResetRate: 1}, nil)
		_, err := extractAll(t, e)
		wantFailure[*TransportError](t, err, "page 1", "after 3 attempts", "connection lost while reading the page body")
		if strings.Contains(err.Error(), "malformed") {
			t.Errorf("a lost connection reported as a malformed page: %v", err)
		}
	})
	t.Run("hang/before_headers/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{HangRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().Hangs == 0 {
			t.Error("no hang injected")
		}
	})
	t.Run("hang/before_headers/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{HangRate: 1}, nil)
		_, err := extractAll(t, e)
		wantFailure[*TransportError](t, err, "page 1", "after 3 attempts", "deadline exceeded")
	})
	t.Run("hang/mid_body/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{StallRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().Hangs == 0 {
			t.Error("no stall injected")
		}
	})
	t.Run("hang/mid_body/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{StallRate: 1}, nil)
		_, err := extractAll(t, e)
		wantFailure[*TransportError](t, err, "page 1", "after 3 attempts", "reading the page body")
	})
	t.Run("malformed/truncated_json/recovers", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{MalformedRate: 0.3}, nil)
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		if sim.Stats().MalformedPages == 0 {
			t.Error("no malformed page injected")
		}
	})
	t.Run("malformed/truncated_json/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{MalformedRate: 1}, nil)
		_, err := extractAll(t, e)
		me := wantFailure[*MalformedPageError](t, err, "page 1", "malformed page after 3 attempts")
		if me.Attempts != 3 {
			t.Errorf("attempts = %d", me.Attempts)
		}
	})
	t.Run("malformed/not_json/persists", func(t *testing.T) {
		t.Parallel()
		_, e := simExtractor(t, users, oktasim.Faults{GarbageRate: 1}, nil)
		_, err := extractAll(t, e)
		wantFailure[*MalformedPageError](t, err, "page 1", "malformed page after 3 attempts")
	})
	t.Run("next_link/repeats", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{NextLink: oktasim.NextRepeat}, nil)
		_, err := extractAll(t, e)
		wantFailure[*PagingError](t, err, "page 1", "leads back to page 1")
		if n := sim.Stats().ListUsersRequests; n != 1 {
			t.Errorf("%d list requests, want 1: the repeated page must not be fetched", n)
		}
	})
	t.Run("next_link/cycles", func(t *testing.T) {
		t.Parallel()
		sim, e := simExtractor(t, users, oktasim.Faults{NextLink: oktasim.NextCycle}, nil)
		_, err := extractAll(t, e)
		wantFailure[*PagingError](t, err, "page 2", "leads back to page")
		if n := sim.Stats().ListUsersRequests; n != 2 {
			t.Errorf("%d list requests, want 2", n)
		}
	})
	t.Run("next_link/other_host", func(t *testing.T) {
		t.Parallel()
		other := oktasimtest.StartOtherHost(t)
		sim, e := simExtractor(t, users, oktasim.Faults{NextHost: other.URL}, nil)
		_, err := extractAll(t, e)
		wantFailure[*PagingError](t, err, "page 1", "refusing to follow")
		if hits, withAuth := other.Requests(); hits != 0 || withAuth != 0 {
			t.Errorf("the other host got %d requests, %d with an Authorization header; want none", hits, withAuth)
		}
		if n := sim.Stats().ListUsersRequests; n != 1 {
			t.Errorf("%d list requests to the org, want 1", n)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Error("token in the error")
		}
	})
	t.Run("profiles/missing_null_and_unexpected_types", func(t *testing.T) {
		t.Parallel()
		profiles := map[string]map[string]any{
			// Missing everything but login and email.
			"bare": {"login": "bare@example.com", "email": "bare@example.com"},
			// JSON nulls where strings belong.
			"nulls": {"login": "nulls@example.com", "email": "nulls@example.com", "firstName": nil, "lastName": nil,
				"displayName": nil, "title": nil, "department": nil, "managerId": nil, "manager": nil},
			// Numbers, booleans, arrays and objects where strings belong.
			"types": {"login": "types@example.com", "email": "types@example.com", "firstName": 42, "lastName": true,
				"title": []any{"a", "b"}, "department": map[string]any{"x": 1}, "managerId": 7, "userType": 1.5},
			// An email that is not a string, or null, or absent: skipped.
			"email_number": {"login": "num@example.com", "email": 12345},
			"email_null":   {"login": "null@example.com", "email": nil},
			"email_object": {"login": "obj@example.com", "email": map[string]any{"a": "b@c.d"}},
			"email_absent": {"login": "absent@example.com"},
		}
		ids := map[string]string{}
		sim, e := simExtractor(t, 0, oktasim.Faults{}, func(s *oktasim.Server) {
			for name, p := range profiles {
				u, err := s.Create(p, "")
				if err != nil {
					t.Fatalf("create %s: %v", name, err)
				}
				ids[u.Id] = name
			}
		})
		c, err := extractAll(t, e)
		wantEveryUser(t, sim, c, err)
		got := map[string]extractor.User{}
		for _, u := range c.users {
			got[ids[u.SourceID]] = u
		}
		skipped := map[string]string{}
		for _, s := range c.skips {
			skipped[ids[s.SourceID]] = s.Reason
		}
		for _, name := range []string{"email_number", "email_null", "email_object", "email_absent"} {
			if skipped[name] != SkipNoEmail {
				t.Errorf("%s: skip reason %q, want %q", name, skipped[name], SkipNoEmail)
			}
		}
		for _, name := range []string{"bare", "nulls", "types"} {
			u, ok := got[name]
			if !ok {
				t.Errorf("%s: not read (skip reason %q)", name, skipped[name])
				continue
			}
			if u.Key != name+"@example.com" || u.FullName == "" || !u.IsActive || u.UpdatedAt == 0 {
				t.Errorf("%s: mapped to %+v", name, u)
			}
		}
		if n := got["nulls"]; n.FullName != "nulls@example.com" || n.FirstName != "" || n.Manager != (extractor.ManagerRef{}) {
			t.Errorf("nulls: %+v, want empty names, the email as full name, no manager", n)
		}
		if ty := got["types"]; ty.FirstName != "42" || ty.LastName != "true" || ty.FullName != "42 true" || ty.EmployeeType != "1.5" {
			t.Errorf("types: %+v, want scalars as text", ty)
		}
	})
}

// TestExtractTrailingEmptyPage: Okta links a full page to a next one, which
// may hold no user at all (okta-sdk-python#435). A pass whose users fill
// its pages exactly reads that empty page, and ends there with every user.
func TestExtractTrailingEmptyPage(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 0, Seed: 42})
	for i := range 4 {
		login := fmt.Sprintf("full.page.%d@example.com", i)
		if _, err := sim.Create(map[string]any{"login": login, "email": login, "firstName": "Full", "lastName": "Page"}, oktasim.StatusActive); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		login := fmt.Sprintf("gone.%d@example.com", i)
		if _, err := sim.Create(map[string]any{"login": login, "email": login, "firstName": "Gone", "lastName": "User"}, oktasim.StatusDeprovisioned); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testCfg(url)
	cfg.PageSize = 2
	e := newExtractor(t, cfg)
	c, err := extractAll(t, e)
	wantEveryUser(t, sim, c, err)
	// Plain pass: 2, 2, then []; DEPROVISIONED pass: 2, then [].
	if st := e.Stats(); st.Pages != 5 || st.Requests != 5 || st.Read != 6 {
		t.Errorf("stats = %+v, want 5 pages and requests (two of them empty), 6 read", st)
	}
	if c.pages != 5 {
		t.Errorf("callback pages = %d, want 5", c.pages)
	}
}
