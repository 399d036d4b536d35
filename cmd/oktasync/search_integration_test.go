package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/searchtest"
)

// searchDoc reads one document of the people index behind alias; nil
// when there is none.
func searchDoc(t *testing.T, alias, id string) map[string]any {
	t.Helper()
	resp, err := searchClient.Get(searchtest.URL(t) + "/" + alias + "/_doc/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Found  bool           `json:"found"`
		Source map[string]any `json:"_source"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || !doc.Found {
		return nil
	}
	return doc.Source
}

// searchClient keeps no idle connection (TestMain checks for goroutines left).
var searchClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// TestServeHookReachesPeopleSearchIntegration: with people search on, a
// full sync builds the index, and a hook's change reaches people search
// (its latency, 2 s as a target, is measured by make bench's S8; here it is
// logged): a new name is found, a leaver is gone.
func TestServeHookReachesPeopleSearchIntegration(t *testing.T) {
	alias := searchtest.Alias(t)
	e := startServeWith(t, 150, map[string]string{"OKTASYNC_SEARCH_URL": searchtest.URL(t)}, func(c *config) { c.Search.Alias = alias })
	u, v := activeSimUser(e.sim, 0), activeSimUser(e.sim, 1)
	w, x := activeSimUser(e.sim, 2), activeSimUser(e.sim, 3)
	if searchDoc(t, alias, u.Id) == nil || searchDoc(t, alias, v.Id) == nil {
		t.Fatal("the initial full sync did not index the users")
	}
	// Neo4j plans a statement again for each new size of its list
	// parameters: the first batch of a size after start pays for planning
	// serve's statements (1–3 s here). A batch of the same shape first, so
	// that the time logged is the steady state's.
	e.sim.UpdateProfile(w.Id, map[string]any{"title": "Warm"})
	e.sim.SetStatus(x.Id, "DEPROVISIONED")
	e.post(hookSecret, hookBody(hookEv{"ev-s0", "user.account.update_profile", w.Id}, hookEv{"ev-s00", "user.lifecycle.deactivate", x.Id}))
	waitForDoc(t, 15*time.Second, func() bool {
		d := searchDoc(t, alias, w.Id)
		return d != nil && d["role_name"] == "Warm" && searchDoc(t, alias, x.Id) == nil
	})
	e.sim.UpdateProfile(u.Id, map[string]any{"displayName": "Octavian Brightwater"})
	e.sim.SetStatus(v.Id, "DEPROVISIONED")
	start := time.Now()
	if code := e.post(hookSecret, hookBody(hookEv{"ev-s1", "user.account.update_profile", u.Id}, hookEv{"ev-s2", "user.lifecycle.deactivate", v.Id})); code != 204 {
		t.Fatalf("delivery: %d", code)
	}
	for {
		d := searchDoc(t, alias, u.Id)
		if d != nil && d["name"] == "Octavian Brightwater" && searchDoc(t, alias, v.Id) == nil {
			break
		}
		if time.Since(start) > visibleWithin {
			t.Fatalf("not in people search within %s: %v, leaver %v", visibleWithin, d, searchDoc(t, alias, v.Id))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("hook to people search: %s", time.Since(start))
	// The batch is counted once it returns, just after its documents are
	// visible.
	waitForDoc(t, visibleWithin, func() bool {
		_, body := e.get("/metrics")
		return strings.Contains(body, `oktasync_search_updates_total{kind="hook",outcome="success"} 2`) &&
			strings.Contains(body, `oktasync_search_last_success_timestamp_seconds{kind="hook"}`)
	})
}

// waitForDoc polls until cond holds, at most for d.
func waitForDoc(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > d {
			t.Fatalf("not in people search within %s", d)
		}
	}
}

// TestCLIPeopleSearchFailureExits4Integration: the graph is synced when
// the search server cannot be reached; the run says so and exits 4.
func TestCLIPeopleSearchFailureExits4Integration(t *testing.T) {
	e := startServeEnvOnly(t, 60)
	e.env["OKTASYNC_SEARCH_URL"] = "http://127.0.0.1:1"
	code, stdout, stderr := runCmd(t, e.env, "sync", "--summary", "json")
	if code != exitSearch {
		t.Fatalf("exit %d, want %d: %s", code, exitSearch, stderr)
	}
	var sum struct {
		Outcome string `json:"outcome"`
		Created int    `json:"users_created"`
		Search  struct {
			Outcome string `json:"outcome"`
			Error   string `json:"error"`
		} `json:"search"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary: %v: %s", err, stdout)
	}
	if sum.Outcome != "success" || sum.Created == 0 || sum.Search.Outcome != "failure" || !strings.Contains(sum.Search.Error, "unreachable") {
		t.Errorf("summary = %+v", sum)
	}
	if !strings.Contains(stderr, "the graph is in sync") {
		t.Errorf("stderr does not say the graph is in sync: %s", stderr)
	}
}
