package oktasim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestSearchLagsChanges: search and filter show a change SearchLag after it
// was made (by the simulator's clock), in whatever order the lags give,
// while a plain list and GET by id show it at once.
func TestSearchLagsChanges(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 20, Seed: 4, Now: clock.now, SearchLag: 5 * time.Minute})
	users := sim.Users()
	changed, gone := users[0].Id, users[1].Id
	since := clock.now().Add(-time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	// query returns the ids and titles a filter or search answers.
	query := func(kind, expr string) map[string]string {
		t.Helper()
		resp, body := do(t, http.MethodGet, base+"/api/v1/users?"+url.Values{kind: {expr}, "limit": {"200"}}.Encode(), ssws, nil)
		var page []struct {
			ID      string         `json:"id"`
			Profile map[string]any `json:"profile"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("%s %s: %d %s", kind, expr, resp.StatusCode, body)
		}
		out := map[string]string{}
		for _, u := range page {
			out[u.ID], _ = u.Profile["title"].(string)
		}
		return out
	}
	changedSince := func() []string {
		t.Helper()
		var ids []string
		for id := range query("filter", `lastUpdated gt "`+since+`"`) {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return ids
	}

	if err := sim.UpdateProfile(changed, map[string]any{"title": "Lagged"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.Delete(gone); err != nil {
		t.Fatal(err)
	}
	created, err := sim.Create(map[string]any{"login": "late@example.com", "email": "late@example.com", "firstName": "L", "lastName": "Ate"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// A later change, made with no lag, shows first.
	sim.SetSearchLag(0)
	clock.add(time.Second)
	quick := users[2].Id
	if err := sim.UpdateProfile(quick, map[string]any{"title": "Quick"}); err != nil {
		t.Fatal(err)
	}

	if got := changedSince(); !slices.Equal(got, []string{quick}) {
		t.Errorf("filter right after the changes: %v, want only the unlagged change %s", got, quick)
	}
	if got := query("search", `profile.title eq "Lagged"`); len(got) != 0 {
		t.Errorf("search shows the lagged title already: %v", got)
	}
	if got := query("filter", `id eq "`+gone+`"`); len(got) != 1 {
		t.Errorf("filter no longer shows the deleted user before the lag: %v", got)
	}
	if u, err := sim.User(changed); err != nil || u.Profile["title"] != "Lagged" {
		t.Errorf("GET by id: %v %v, want the change at once", u.Profile["title"], err)
	}

	clock.add(5 * time.Minute)
	want := []string{changed, created.Id, quick}
	slices.Sort(want)
	if got := changedSince(); !slices.Equal(got, want) {
		t.Errorf("filter after the lag: %v, want %v", got, want)
	}
	if got := query("search", `profile.title eq "Lagged"`); got[changed] != "Lagged" || len(got) != 1 {
		t.Errorf("search after the lag: %v", got)
	}
	if got := query("filter", `id eq "`+gone+`"`); len(got) != 0 {
		t.Errorf("the deleted user is still found after the lag: %v", got)
	}
}
