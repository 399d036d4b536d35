package oktasim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// pageAll follows rel="next" from first and decodes every page's items
// into a list of raw objects.
func pageAll(t *testing.T, first, auth string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for next, pages := first, 0; next != ""; pages++ {
		if pages > 1000 {
			t.Fatal("too many pages")
		}
		resp, body := do(t, http.MethodGet, next, auth, nil)
		var page []map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
		}
		all = append(all, page...)
		next = ""
		for _, l := range resp.Header.Values("Link") {
			if u, ok := strings.CutSuffix(l, `>; rel="next"`); ok {
				next = strings.TrimPrefix(u, "<")
			}
		}
	}
	return all
}

func ids(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o["id"].(string))
	}
	return out
}

// TestGeneratedGroupsAreTeams: a generated org's groups are teams as
// groups, nested, overlapping and empty, beside groups that are not teams.
func TestGeneratedGroupsAreTeams(t *testing.T) {
	sim, err := oktasim.New(oktasim.Config{Users: 2000, Seed: 5, Groups: 120})
	if err != nil {
		t.Fatal(err)
	}
	groups := sim.Groups()
	if len(groups) != 120 {
		t.Fatalf("%d groups, want 120", len(groups))
	}
	teams := map[string][]string{} // user -> team groups
	var nested, empty, builtIn, appGroup int
	for _, g := range groups {
		switch {
		case g.Type == oktasim.GroupBuiltIn:
			builtIn++
			if len(g.Members) != len(sim.Users()) {
				t.Errorf("Everyone has %d members, want every user", len(g.Members))
			}
		case g.Type == oktasim.GroupApp:
			appGroup++
		case strings.HasPrefix(g.Name, "team-"):
			if strings.Count(g.Name, "-") > 1 && !strings.HasPrefix(g.Name, "team-archived") {
				nested++
			}
			if len(g.Members) == 0 {
				empty++
			}
			for _, m := range g.Members {
				teams[m] = append(teams[m], g.Name)
			}
		}
		if !slices.IsSorted(g.Members) || !strings.HasPrefix(g.ID, "00g") || len(g.ID) != 20 {
			t.Errorf("group %s %q: id or member order", g.ID, g.Name)
		}
	}
	several := 0
	for _, ts := range teams {
		if len(ts) > 1 {
			several++
		}
	}
	none := len(sim.Users()) - len(teams)
	if builtIn != 1 || appGroup != 1 || nested < 50 || empty == 0 || several < 200 || none < 50 {
		t.Errorf("built-in %d, app groups %d, nested teams %d, empty %d, people in several teams %d, in none %d",
			builtIn, appGroup, nested, empty, several, none)
	}
	again, _ := oktasim.New(oktasim.Config{Users: 2000, Seed: 5, Groups: 120})
	if !slices.EqualFunc(groups, again.Groups(), func(a, b oktasim.Group) bool { return a.ID == b.ID && slices.Equal(a.Members, b.Members) }) {
		t.Error("the same seed generated other groups")
	}
}

// TestGroupsAPI: groups are listed, searched, filtered and paged as Okta
// does, members are read by group, a membership change moves the group's
// lastMembershipUpdated and not the user's lastUpdated, app assignments are
// listed.
func TestGroupsAPI(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 8, Groups: 40, Now: clock.now})
	var teams []string
	for _, g := range sim.Groups() {
		if strings.HasPrefix(g.Name, "team-") {
			teams = append(teams, g.ID)
		}
	}
	got := ids(pageAll(t, base+"/api/v1/groups?"+url.Values{"search": {`profile.name sw "team-"`}, "limit": {"7"}}.Encode(), ssws))
	if !slices.Equal(got, teams) {
		t.Errorf("search for team- by pages of 7: %d groups, want %d", len(got), len(teams))
	}
	if got := pageAll(t, base+"/api/v1/groups?"+url.Values{"filter": {`type eq "BUILT_IN"`}}.Encode(), ssws); len(got) != 1 || got[0]["profile"].(map[string]any)["name"] != "Everyone" {
		t.Errorf("filter type eq BUILT_IN: %v", got)
	}
	resp, body := do(t, http.MethodGet, base+"/api/v1/groups?"+url.Values{"filter": {`profile.name sw "team"`}}.Encode(), ssws, nil)
	wantOktaError(t, resp, body, http.StatusBadRequest, "E0000031")

	g := sim.Groups()[len(sim.Groups())/2]
	members := ids(pageAll(t, base+"/api/v1/groups/"+g.ID+"/users?limit=5", ssws))
	if !slices.Equal(members, g.Members) || len(members) == 0 {
		t.Errorf("members of %s by pages of 5: %v, want %v", g.Name, members, g.Members)
	}

	// A membership change.
	before := clock.now()
	clock.add(time.Minute)
	var outsider oktasim.User
	for _, u := range sim.Users() {
		if !slices.Contains(g.Members, u.Id) {
			outsider = u
			break
		}
	}
	if err := sim.AddGroupMember(g.ID, outsider.Id); err != nil {
		t.Fatal(err)
	}
	changed := pageAll(t, base+"/api/v1/groups?"+url.Values{"filter": {`lastMembershipUpdated gt "` + before.Format("2006-01-02T15:04:05.000Z") + `"`}}.Encode(), ssws)
	if !slices.Equal(ids(changed), []string{g.ID}) {
		t.Errorf("groups whose membership changed: %v, want %s", ids(changed), g.ID)
	}
	if u, _ := sim.User(outsider.Id); !u.LastUpdated.Equal(outsider.LastUpdated) {
		t.Errorf("joining a group moved the user's lastUpdated: %s -> %s", outsider.LastUpdated, u.LastUpdated)
	}
	if members := ids(pageAll(t, base+"/api/v1/groups/"+g.ID+"/users", ssws)); !slices.Contains(members, outsider.Id) {
		t.Error("the new member is not listed")
	}

	// App assignments.
	appID, err := sim.CreateApp("Amundsen")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range sim.Users()[:3] {
		if err := sim.AssignApp(appID, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	assigned := pageAll(t, base+"/api/v1/apps/"+appID+"/users?expand=user&limit=2", ssws)
	if !slices.Equal(ids(assigned), sim.AppUsers(appID)) || len(assigned) != 3 {
		t.Errorf("app users: %v, want %v", ids(assigned), sim.AppUsers(appID))
	}
	for _, a := range assigned {
		emb, _ := a["_embedded"].(map[string]any)
		if user, _ := emb["user"].(map[string]any); user["id"] != a["id"] || a["scope"] != "USER" {
			t.Errorf("app user %v: no embedded user, or not scope USER", a["id"])
		}
	}

	// An unknown group (the scopes are tested in TestScopesPerEndpoint).
	if resp, _ := do(t, http.MethodGet, base+"/api/v1/groups/nope", ssws, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown group: %d, want 404", resp.StatusCode)
	}
}

// TestGroupsRateLimitBuckets: the Groups API and app users have Okta's
// own buckets: at the default 600 for users, 500 for listing groups and
// their members, 1,000 for one group, 100 for apps.
func TestGroupsRateLimitBuckets(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 20, Seed: 8, Groups: 10})
	g := sim.Groups()[0]
	appID, err := sim.CreateApp("Amundsen")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/api/v1/users":                     "600",
		"/api/v1/groups":                    "500",
		"/api/v1/groups/" + g.ID + "/users": "500",
		"/api/v1/groups/" + g.ID:            "1000",
		"/api/v1/apps/" + appID + "/users":  "100",
	} {
		resp, _ := do(t, http.MethodGet, base+path, ssws, nil)
		if got := resp.Header.Get("X-Rate-Limit-Limit"); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("GET %s: %d, X-Rate-Limit-Limit %s, want %s", path, resp.StatusCode, got, want)
		}
	}
	// Listing groups and their members draw on one budget.
	before := func() string {
		resp, _ := do(t, http.MethodGet, base+"/api/v1/groups", ssws, nil)
		return resp.Header.Get("X-Rate-Limit-Remaining")
	}()
	do(t, http.MethodGet, base+"/api/v1/groups/"+g.ID+"/users", ssws, nil)
	resp, _ := do(t, http.MethodGet, base+"/api/v1/groups", ssws, nil)
	if b, _ := strconv.Atoi(before); resp.Header.Get("X-Rate-Limit-Remaining") != strconv.Itoa(b-2) {
		t.Errorf("remaining %s after %s and a members page: the two do not share a bucket", resp.Header.Get("X-Rate-Limit-Remaining"), before)
	}
}
