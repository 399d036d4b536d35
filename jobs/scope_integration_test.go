package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/oktasim"
)

// TestScopedSyncIntegration (issue 22, item 3): a sync scoped to an app's
// users writes only them; a user unassigned from the app is deactivated by
// the next full sync, as a leaver is, and the dry run says so first; a
// scope that holds nobody refuses the run and writes nothing.
func TestScopedSyncIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 300, Seed: 37, Groups: 20})
	appID, err := e.sim.CreateApp("Amundsen")
	if err != nil {
		t.Fatal(err)
	}
	var assigned []oktasim.User
	for _, u := range e.sim.Users() {
		if u.Status == oktasim.StatusActive && strings.Contains(pstr(u.Profile, "email"), "@") && len(assigned) < 60 {
			if err := e.sim.AssignApp(appID, u.Id); err != nil {
				t.Fatal(err)
			}
			assigned = append(assigned, u)
		}
	}
	scoped := func(c *okta.Config) { c.Scope = okta.Scope{App: appID} }
	sum := e.mustSync(t, run{okta: scoped})
	if sum.Created != len(assigned) || sum.OutOfScope != len(e.sim.Users())-len(assigned) {
		t.Errorf("scoped sync: %d created, %d out of scope; want %d and %d", sum.Created, sum.OutOfScope, len(assigned), len(e.sim.Users())-len(assigned))
	}
	if !strings.Contains(sum.Text(), "users outside okta.scope") {
		t.Errorf("the summary does not say it:\n%s", sum.Text())
	}
	rows := e.query(t, `MATCH (u:User) RETURN u.okta_id AS id`, nil)
	in := map[string]bool{}
	for _, u := range assigned {
		in[u.Id] = true
	}
	if len(rows) != len(assigned) {
		t.Errorf("the graph holds %d users, want the %d in scope", len(rows), len(assigned))
	}
	for _, r := range rows {
		if !in[r["id"].(string)] {
			t.Errorf("%v is out of scope and was written", r["id"])
		}
	}

	// Two leave the scope: the dry run shows them, the run deactivates them.
	for _, u := range assigned[:2] {
		if err := e.sim.UnassignApp(appID, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	plan := e.mustSync(t, run{okta: scoped, dryRun: true})
	if plan.DeactivatedMissing != 2 {
		t.Errorf("dry run: %d to deactivate, want the 2 who left the scope", plan.DeactivatedMissing)
	}
	sum = e.mustSync(t, run{okta: scoped})
	if sum.DeactivatedMissing != 2 {
		t.Errorf("run: %d deactivated, want 2", sum.DeactivatedMissing)
	}
	for i, u := range assigned[:3] {
		got := e.activeByID(t, u.Id)
		if want := i == 2; len(got) != 1 || got[0]["a"] != want {
			t.Errorf("%s: %v, want is_active %v", u.Id, got, want)
		}
	}

	// A scope that holds nobody: refused, nothing written.
	before := e.export(t)
	empty, _ := e.sim.CreateApp("Nobody")
	_, err = e.syncWith(t, run{okta: func(c *okta.Config) { c.Scope = okta.Scope{App: empty} }})
	var es *okta.EmptyScopeError
	if !errors.As(err, &es) {
		t.Errorf("a sync with an empty scope: %v, want an *okta.EmptyScopeError", err)
	}
	if e.export(t) != before {
		t.Error("a refused sync changed the graph")
	}
}
