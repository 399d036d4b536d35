package jobs_test

import (
	"testing"

	"github.com/oktasync/oktasync/internal/oktasim"
)

// TestManagerPairsFoundInOrderAreRecheckedAfterTakeoverIntegration: a
// batch's manager pairs are judged in order when the batch is read, but a
// takeover written later in the run (another user wins the manager's key)
// moves the source id the pair names. The run must end with the graph a
// clean sync of the same org gives: no pair to a person who is not the
// manager.
func TestManagerPairsFoundInOrderAreRecheckedAfterTakeoverIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 20, Seed: 21})
	report := activeUsers(e, 1)[0]
	boss, err := e.sim.Create(map[string]any{"login": "boss.old@example.com", "email": "boss@example.com", "firstName": "Old", "lastName": "Boss"}, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetManager(report.Id, boss.Id); err != nil {
		t.Fatal(err)
	}
	e.mustSync(t, run{})
	managerOf := func() []any {
		r := e.query(t, `MATCH (u:User {okta_id: $id}) OPTIONAL MATCH (u)-[:MANAGE_BY]->(m) RETURN collect(m.okta_id) AS ms`,
			map[string]any{"id": report.Id})
		if len(r) != 1 {
			t.Fatalf("report %s: %v", report.Id, r)
		}
		return r[0]["ms"].([]any)
	}
	if ms := managerOf(); len(ms) != 1 || ms[0] != boss.Id {
		t.Fatalf("first sync: the report's manager is %v, want %s", ms, boss.Id)
	}

	// The boss leaves and a new hire gets the same email: the new hire wins
	// the key (active wins) and takes the node over, in the same batch as
	// the report, whose profile still names the old boss.
	if err := e.sim.SetStatus(boss.Id, "DEPROVISIONED"); err != nil {
		t.Fatal(err)
	}
	hire, err := e.sim.Create(map[string]any{"login": "boss.new@example.com", "email": "boss@example.com", "firstName": "New", "lastName": "Boss"}, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	sum := e.mustSync(t, run{})
	holder := e.query(t, `MATCH (u:User {key: 'boss@example.com'}) RETURN u.okta_id AS id`, nil)
	if len(holder) != 1 || holder[0]["id"] != hire.Id {
		t.Fatalf("boss@example.com is held by %v, want the new hire %s", holder, hire.Id)
	}
	got := managerOf()

	// A clean sync of the same org, into an empty graph, is the reference.
	e.query(t, `MATCH (n) DETACH DELETE n`, nil)
	e.mustSync(t, run{})
	want := managerOf()
	if len(got) != len(want) || (len(got) == 1 && got[0] != want[0]) {
		t.Errorf("after the takeover the report is managed by %v; a clean sync gives %v (summary %+v)", got, want, sum)
	}
	for _, m := range got {
		if m == hire.Id {
			t.Errorf("the report is linked to the new hire %s, who is not their manager", hire.Id)
		}
	}
}
