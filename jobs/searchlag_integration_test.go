package jobs_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/jobs"
)

// simClock is the simulator's clock in these tests: it stands still until
// moved, so what Okta's search index shows is decided by the test.
type simClock struct{ ns atomic.Int64 }

func newSimClock() *simClock {
	c := &simClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *simClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *simClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// TestIncrementalSyncSurvivesSearchLagIntegration (issue 23, item 4):
// Okta's search, and with it the lastUpdated filter an incremental sync
// reads, is eventually consistent, in no particular order. Two changes the
// index shows late (one almost a lag before a change it shows at once, one
// in the same millisecond) reach the graph by the next incremental sync
// when the overlap covers the lag. With an overlap shorter than the lag,
// or none, they are lost, which the simulator shows: it is no kinder than
// Okta.
func TestIncrementalSyncSurvivesSearchLagIntegration(t *testing.T) {
	for _, tc := range []struct {
		name          string
		overlap, lag  time.Duration
		wantDelivered bool
	}{
		{name: "lag equal to the default overlap", overlap: jobs.DefaultSyncConfig().Overlap, lag: jobs.DefaultSyncConfig().Overlap, wantDelivered: true},
		{name: "overlap 10 s shorter than the lag", overlap: jobs.DefaultSyncConfig().Overlap - 10*time.Second, lag: jobs.DefaultSyncConfig().Overlap, wantDelivered: false},
		{name: "no overlap", overlap: 0, lag: time.Minute, wantDelivered: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newSimClock()
			e := newEnv(t, oktasim.Config{Users: 60, Seed: 29, Now: clock.now})
			policy := syncConfig(100)
			policy.Overlap = tc.overlap
			e.mustSync(t, run{policy: &policy})
			us := activeUsers(e, 3)
			early, twin, shown := us[0], us[1], us[2]

			// The early change comes almost a whole lag before the change the
			// index shows at once, so only an overlap of the lag covers it.
			clock.add(time.Second)
			e.sim.SetSearchLag(tc.lag)
			if err := e.sim.UpdateProfile(early.Id, map[string]any{"title": "Indexed late"}); err != nil {
				t.Fatal(err)
			}
			clock.add(tc.lag - 3*time.Second)
			if err := e.sim.UpdateProfile(twin.Id, map[string]any{"title": "Same millisecond, indexed late"}); err != nil {
				t.Fatal(err)
			}
			e.sim.SetSearchLag(0)
			if err := e.sim.UpdateProfile(shown.Id, map[string]any{"title": "Indexed at once"}); err != nil {
				t.Fatal(err)
			}
			tw, err1 := e.sim.User(twin.Id)
			sh, err2 := e.sim.User(shown.Id)
			if err1 != nil || err2 != nil || !tw.LastUpdated.Equal(sh.LastUpdated) {
				t.Fatalf("the two changes have lastUpdated %s and %s, want the same millisecond", tw.LastUpdated, sh.LastUpdated)
			}
			clock.add(time.Second)
			first := e.mustSync(t, run{mode: jobs.Incremental, policy: &policy})
			if first.Kind != "incremental" || first.Updated != 1 {
				t.Fatalf("incremental run while two changes are not indexed: %+v", first)
			}
			clock.add(tc.lag)
			second := e.mustSync(t, run{mode: jobs.Incremental, policy: &policy})
			titles := map[string]any{}
			for _, u := range []oktasim.User{early, twin, shown} {
				r := e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.role_name AS title`, map[string]any{"id": u.Id})
				titles[u.Id] = r[0]["title"]
			}
			delivered := titles[early.Id] == "Indexed late" && titles[twin.Id] == "Same millisecond, indexed late"
			if delivered != tc.wantDelivered || titles[shown.Id] != "Indexed at once" {
				t.Errorf("after the lag (second run updated %d): titles %v; want the late changes delivered: %v", second.Updated, titles, tc.wantDelivered)
			}
			if !tc.wantDelivered {
				// Only a full sync repairs what an incremental one lost.
				e.mustSync(t, run{policy: &policy})
				e.checkGraph(t)
			}
		})
	}
}
