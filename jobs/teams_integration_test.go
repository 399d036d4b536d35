package jobs_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// teamsFromGroups configures teams from team-* groups.
func teamsFromGroups(c *okta.Config) {
	c.Mapping.Team = okta.TeamMapping{Source: okta.TeamFromGroups, Groups: okta.TeamGroups{Patterns: []string{`^team-(.+)$`}}}
}

// wantTeams is each simulated user's team, computed from the simulator's
// groups by the documented rule: of the team-* groups the user is in, the
// longest name, then the first; the team is the name after "team-".
func wantTeams(sim *oktasim.Server) map[string]string {
	re := regexp.MustCompile(`^team-(.+)$`)
	best := map[string]string{}
	for _, g := range sim.Groups() {
		if !re.MatchString(g.Name) {
			continue
		}
		for _, id := range g.Members {
			if cur, ok := best[id]; !ok || len(g.Name) > len(cur) || len(g.Name) == len(cur) && g.Name < cur {
				best[id] = g.Name
			}
		}
	}
	out := map[string]string{}
	for _, u := range sim.Users() {
		out[u.Id] = strings.TrimPrefix(best[u.Id], "team-")
	}
	return out
}

// checkTeams compares every synced user's team_name with the groups'.
func (e *env) checkTeams(t *testing.T, when string) {
	t.Helper()
	want := wantTeams(e.sim)
	rows := e.query(t, `MATCH (u:User) WHERE u.okta_id IS NOT NULL RETURN u.okta_id AS id, u.team_name AS team`, nil)
	if len(rows) < len(want)/2 {
		t.Fatalf("%s: %d synced users for %d simulated", when, len(rows), len(want))
	}
	wrong := 0
	for _, r := range rows {
		if id := r["id"].(string); r["team"] != want[id] {
			if wrong++; wrong <= 5 {
				t.Errorf("%s: %s has team %q, want %q", when, id, r["team"], want[id])
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%s: %d of %d users have the wrong team", when, wrong, len(rows))
	}
}

// TestTeamsFromGroupsIntegration (issue 22): with teams from groups, every
// synced user's team_name is the one the simulator's groups give; a user
// moved between team groups (which moves no user's lastUpdated) gets the
// new team from the next incremental sync, and from a hook.
func TestTeamsFromGroupsIntegration(t *testing.T) {
	clock := newSimClock()
	e := newEnv(t, oktasim.Config{Users: 400, Seed: 31, Groups: 40, Now: clock.now})
	first := e.mustSync(t, run{okta: teamsFromGroups})
	e.checkTeams(t, "full sync")
	if first.Created == 0 {
		t.Fatalf("first sync: %+v", first)
	}

	// pick finds an active user in a team group other than team, and a
	// team group they are not in.
	var teamGroups []oktasim.Group
	for _, g := range e.sim.Groups() {
		if strings.HasPrefix(g.Name, "team-") && !strings.HasPrefix(g.Name, "team-archived") {
			teamGroups = append(teamGroups, g)
		}
	}
	move := func(u oktasim.User) (from, to oktasim.Group) {
		t.Helper()
		for _, g := range e.sim.Groups() {
			if strings.HasPrefix(g.Name, "team-") && slices.Contains(g.Members, u.Id) {
				if err := e.sim.RemoveGroupMember(g.ID, u.Id); err != nil {
					t.Fatal(err)
				}
				from = g
			}
		}
		for _, g := range teamGroups {
			if g.ID != from.ID {
				if err := e.sim.AddGroupMember(g.ID, u.Id); err != nil {
					t.Fatal(err)
				}
				return from, g
			}
		}
		t.Fatal("no other team group")
		return
	}
	users := activeUsers(e, 2)
	moved, hooked := users[0], users[1]
	from, to := move(moved)
	t.Logf("moved %s from %s to %s", moved.Id, from.Name, to.Name)

	sum := e.mustSync(t, run{mode: jobs.Incremental, okta: teamsFromGroups})
	if sum.Kind != string(jobs.Incremental) || sum.Updated != 1 || sum.Seen < len(e.sim.Users())/2 {
		t.Errorf("incremental sync after a membership change: %s, %d read, %d updated; want incremental, everyone read, 1 updated",
			sum.Kind, sum.Seen, sum.Updated)
	}
	e.checkTeams(t, "incremental sync")
	// Reading everyone stops once the watermark passes the change by the
	// overlap: in a quiet org, within two more incremental syncs, each a
	// scheduled interval longer than the overlap later.
	overlap := jobs.DefaultSyncConfig().Overlap
	var reads []int
	for range 3 {
		clock.add(overlap + 5*time.Second)
		again := e.mustSync(t, run{mode: jobs.Incremental, okta: teamsFromGroups})
		if again.Updated != 0 {
			t.Errorf("a later incremental sync updated %d users; want 0", again.Updated)
		}
		reads = append(reads, again.Seen)
	}
	t.Logf("users read by the incremental syncs after the first: %v", reads)
	if reads[len(reads)-1] != 0 || reads[len(reads)-2] != 0 {
		t.Errorf("users read by the incremental syncs after it: %v; want the reads of everyone to stop within two", reads)
	}

	// A hook: the worker re-reads the user the membership event names.
	move(hooked)
	ocfg := e.oktaConfig("token")
	teamsFromGroups(&ocfg)
	src, err := okta.New(ocfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	hcfg := jobs.DefaultHookWorkerConfig()
	hcfg.Coalesce = 10 * time.Millisecond
	w, err := jobs.NewHookWorker(hcfg, src, pub, nil, nil, nil, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Enqueue([]string{hooked.Id}) {
		t.Fatal("the hook worker's queue refused one user")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	cancel() // drains what is queued
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.checkTeams(t, "hook")
}
