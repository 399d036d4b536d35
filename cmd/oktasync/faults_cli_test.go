package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
)

// fastRetries keeps fault runs short: two attempts per request and page,
// 1 s attempt timeout, one rate-limit wait of at most 1 s.
const fastRetries = `okta:
  page_size: 20
  max_retries: 1
  retry_backoff: 10ms
  request_timeout: 1s
  max_rate_limit_waits: 1
  max_rate_limit_wait: 1s
`

// TestCLIOktaFaultsDeactivateNobody runs the oktasync binary against the
// simulator and a real Neo4j after users were deleted in Okta, with each
// Okta fault persisting: every run exits 1 within a bounded time, says what
// failed, and deactivates nobody. A last clean run deactivates the deleted
// users, which shows the faulty runs would have.
func TestCLIOktaFaultsDeactivateNobody(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 120 * soakScale(), Seed: 31, RateWindow: time.Second})
	other := oktasimtest.StartOtherHost(t)
	cfg := writeConfig(t, fastRetries)
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "cli-faults-token-0123", "NEO4J_URI": neo4jtest.URI(t)}
	if code, _, stderr := runBinary(t, env, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, stderr)
	}
	active := func() int64 {
		return neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.is_active = true RETURN count(u) AS n`, nil)[0].AsMap()["n"].(int64)
	}
	before := active()
	// Delete 5% of the users: within the 10% cap, so a successful
	// read would deactivate them.
	var gone []string
	plain := 0
	for _, u := range sim.Users() {
		if u.Status == oktasim.StatusActive && len(gone) < 6*soakScale() {
			if err := sim.Delete(u.Id); err != nil {
				t.Fatal(err)
			}
			gone = append(gone, u.Id)
			continue
		}
		if u.Status != oktasim.StatusDeprovisioned {
			plain++
		}
	}
	plainPages := (plain + 19) / 20

	cases := []struct {
		name   string
		faults oktasim.Faults
		want   []string
	}{
		{"5xx_burst", oktasim.Faults{FailAfter: 2}, []string{"page 3", "HTTP 500", "after 2 attempts"}},
		{"5xx_in_the_deprovisioned_pass", oktasim.Faults{FailAfter: plainPages}, []string{"DEPROVISIONED", "page 1", "HTTP 500"}},
		{"429_storm", oktasim.Faults{RateLimitRate: 1}, []string{"rate limit", "429"}},
		{"connection_reset_before_response", oktasim.Faults{ResetRate: 1}, []string{"unreachable after 2 attempts"}},
		{"connection_reset_mid_body", oktasim.Faults{BodyResetRate: 1}, []string{"after 2 attempts", "connection lost while reading the page body"}},
		{"hang_past_request_timeout", oktasim.Faults{HangRate: 1}, []string{"unreachable after 2 attempts"}},
		{"body_stalls_past_request_timeout", oktasim.Faults{StallRate: 1}, []string{"after 2 attempts", "reading the page body"}},
		{"truncated_json", oktasim.Faults{MalformedRate: 1}, []string{"malformed page after 2 attempts"}},
		{"not_json", oktasim.Faults{GarbageRate: 1}, []string{"malformed page after 2 attempts"}},
		{"next_link_repeats", oktasim.Faults{NextLink: oktasim.NextRepeat}, []string{"bad next link", "leads back to page 1"}},
		{"next_link_cycles", oktasim.Faults{NextLink: oktasim.NextCycle}, []string{"bad next link", "leads back to page"}},
		{"next_link_other_host", oktasim.Faults{NextHost: other.URL}, []string{"bad next link", "refusing to follow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim.SetFaults(c.faults)
			defer sim.SetFaults(oktasim.Faults{})
			start := time.Now()
			code, stdout, stderr := runBinary(t, env, "sync", "--config", cfg, "--summary", "json")
			if el := time.Since(start); el > 90*time.Second {
				t.Errorf("took %s", el)
			}
			if code != exitFailed {
				t.Fatalf("exit %d, want %d\n%s", code, exitFailed, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			var sum jobs.Summary
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Errorf("summary is not JSON: %v\n%s", err, stdout)
			}
			if sum.Outcome == "success" || sum.DeactivatedMissing != 0 {
				t.Errorf("summary says outcome %q, %d deactivated", sum.Outcome, sum.DeactivatedMissing)
			}
			if got := active(); got != before {
				t.Errorf("active users %d -> %d after a failed read", before, got)
			}
			if strings.Contains(stderr, env["OKTA_API_TOKEN"]) {
				t.Error("the API token is in the output")
			}
		})
	}
	if hits, withAuth := other.Requests(); hits != 0 || withAuth != 0 {
		t.Errorf("the other host got %d requests, %d with an Authorization header; want none", hits, withAuth)
	}

	code, _, stderr := runBinary(t, env, "sync", "--config", cfg)
	if code != exitOK {
		t.Fatalf("clean sync: exit %d\n%s", code, stderr)
	}
	if got := active(); got != before-int64(len(gone)) {
		t.Errorf("clean run: %d active, want %d - %d deleted", got, before, len(gone))
	}
}
