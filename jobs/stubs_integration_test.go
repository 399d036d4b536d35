package jobs_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/jobs"
)

// syncStubs runs a full sync with a stub-merge cap (a share of the synced
// users).
func (e *env) syncStubs(t *testing.T, maxMerges float64, dryRun, force bool) (jobs.Summary, error) {
	t.Helper()
	cfg := syncConfig(100)
	cfg.MaxStubMerges = maxMerges
	return e.syncWith(t, run{dryRun: dryRun, force: force, policy: &cfg})
}

// caseVariant is key with its first letter of each part upper-cased, as
// the sign-in email may be spelt: dana.lee@example.com -> Dana.Lee@Example.com.
func caseVariant(key string) string {
	b := []byte(key)
	for i := range b {
		if i == 0 || strings.ContainsRune(".@", rune(b[i-1])) {
			b[i] = strings.ToUpper(string(b[i]))[0]
		}
	}
	return string(b)
}

// TestFullSyncMergesCaseVariantStubsIntegration: a UI stub keyed by the
// sign-in email verbatim, owning a table and following another as
// Amundsen's metadata service writes them, is merged into the synced user
// by a full sync; a dry run only reports it, the cap refuses it, and a
// stub or node that is no case variant of a synced user is never touched.
func TestFullSyncMergesCaseVariantStubsIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 120, Seed: 31})
	e.mustSync(t, run{})
	dana := activeUsers(e, 1)[0]
	key := keyOf(dana)
	stub := caseVariant(key)
	if stub == key {
		t.Fatalf("no case variant of %s", key)
	}
	// As the metadata service makes them: MERGE (u:User {key}) ON CREATE
	// SET u = {email, key}; owner: (table)-[:OWNER]->(u)-[:OWNER_OF]->(table);
	// bookmark: (table)-[:FOLLOWED_BY]->(u)-[:FOLLOW]->(table).
	e.query(t, `
		CREATE (s:User {key: $stub, email: $stub}),
		       (owned:Table {key: 'hive://gold.sales/orders'}), (followed:Table {key: 'hive://gold.sales/refunds'}),
		       (owned)-[:OWNER {published_tag: 'ui', since: 2023}]->(s), (s)-[:OWNER_OF {published_tag: 'ui'}]->(owned),
		       (followed)-[:FOLLOWED_BY]->(s), (s)-[:FOLLOW {published_tag: 'ui'}]->(followed),
		       (:User {key: 'Nobody.Here@Example.com', email: 'Nobody.Here@Example.com'})-[:FOLLOW]->(followed),
		       (:Dashboard {key: $stub})-[:OWNER]->(s)`, map[string]any{"stub": stub})
	// The stub of nobody synced, and a node of another label keyed like
	// the stub (its OWNER edge moves with the stub, checked below).
	unrelated := func() string {
		var out []string
		for _, r := range e.query(t, `MATCH (n) WHERE n.key = 'Nobody.Here@Example.com' OR n:Dashboard
			OPTIONAL MATCH (n)-[r:FOLLOW]->(o)
			RETURN labels(n)[0] + ' ' + n.key + ' ' + coalesce(type(r), '') + ' ' + coalesce(o.key, '') AS s`, nil) {
			out = append(out, r["s"].(string))
		}
		slices.Sort(out)
		return strings.Join(out, "\n")
	}
	unrelatedBefore := unrelated()
	before := neo4jtest.Export(t, e.driver)

	// A dry run writes nothing but reports the merge.
	plan, err := e.syncStubs(t, 0.1, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if after := neo4jtest.Export(t, e.driver); after != before {
		t.Fatal("the dry run changed the graph")
	}
	if plan.StubsFound != 1 || plan.StubsMerged != 1 || plan.StubRelationships != 5 ||
		!slices.Equal(plan.Examples["merged"], []string{stub + " -> " + key}) {
		t.Errorf("plan: found %d, merged %d, moved %d, examples %v", plan.StubsFound, plan.StubsMerged, plan.StubRelationships, plan.Examples["merged"])
	}
	t.Logf("the plan:\n%s", plan.Text())
	if !strings.Contains(plan.Text(), "1 case-variant: 1 merged") {
		t.Errorf("the plan's text does not count the merge:\n%s", plan.Text())
	}

	// The cap (0: any merge needs --force) refuses and merges nothing.
	before = neo4jtest.Export(t, e.driver, neo4jtest.RunMetadata()...)
	sum, err := e.syncStubs(t, 0, false, false)
	var refused *jobs.MergeRefusedError
	if !errors.As(err, &refused) || !jobs.Refused(err) || sum.Outcome != "refused" || sum.StubsMerged != 0 {
		t.Fatalf("cap 0: err %v, outcome %s, merged %d; want a refusal", err, sum.Outcome, sum.StubsMerged)
	}
	if refused.Stubs != 1 || !slices.Equal(refused.Examples, []string{stub + " -> " + key}) ||
		!strings.Contains(err.Error(), "no stub was merged") {
		t.Errorf("refusal: %+v: %v", refused, err)
	}
	if after := neo4jtest.Export(t, e.driver, neo4jtest.RunMetadata()...); after != before {
		t.Fatal("the refused run changed the graph")
	}

	// The real run merges it.
	sum, err = e.syncStubs(t, 0.1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.StubsFound != 1 || sum.StubsMerged != 1 || sum.StubRelationships != 5 || sum.Writes.NodesDeleted != 1 {
		t.Errorf("summary: found %d, merged %d, moved %d, deleted %d", sum.StubsFound, sum.StubsMerged, sum.StubRelationships, sum.Writes.NodesDeleted)
	}
	people := e.query(t, `MATCH (u:User) WHERE toLower(u.key) = $key RETURN u.key AS k, u.okta_id AS id`, map[string]any{"key": key})
	if len(people) != 1 || people[0]["k"] != key || people[0]["id"] != dana.Id {
		t.Fatalf("nodes for %s: %v, want the synced one only", key, people)
	}
	// Amundsen's owner query: the owner is the synced node, with its name.
	owners := e.query(t, `MATCH (owner:User)<-[r:OWNER]-(tbl:Table {key: 'hive://gold.sales/orders'})
		MATCH (owner)-[r2:OWNER_OF]->(tbl)
		RETURN owner.key AS k, owner.full_name AS name, r.published_tag AS tag, r.since AS since, r2.published_tag AS tag2`, nil)
	want := expectations(e.sim.Users())[key]
	if len(owners) != 1 || owners[0]["k"] != key || owners[0]["name"] != want.full || owners[0]["tag"] != "ui" ||
		owners[0]["since"] != int64(2023) || owners[0]["tag2"] != "ui" {
		t.Errorf("owner of the table: %v, want %s (%s) with the edges' properties", owners, key, want.full)
	}
	follows := e.query(t, `MATCH (t:Table {key: 'hive://gold.sales/refunds'})-[:FOLLOWED_BY]->(u:User {key: $key})-[f:FOLLOW]->(t)
		RETURN f.published_tag AS tag`, map[string]any{"key": key})
	if len(follows) != 1 || follows[0]["tag"] != "ui" {
		t.Errorf("bookmark: %v", follows)
	}
	if n := e.query(t, `MATCH (:Dashboard)-[:OWNER]->(u:User {key: $key}) RETURN count(*) AS n`, map[string]any{"key": key})[0]["n"]; n != int64(1) {
		t.Errorf("the dashboard's owner edge did not move")
	}
	if got := unrelated(); got != unrelatedBefore {
		t.Errorf("unrelated nodes changed:\n%s\nwas\n%s", got, unrelatedBefore)
	}
	e.checkUsersOnly(t)

	// A re-sync changes nothing.
	before = neo4jtest.Export(t, e.driver, neo4jtest.RunMetadata()...)
	sum = e.mustSync(t, run{})
	if sum.StubsFound != 0 || sum.StubsMerged != 0 {
		t.Errorf("re-sync: found %d, merged %d", sum.StubsFound, sum.StubsMerged)
	}
	if after := neo4jtest.Export(t, e.driver, neo4jtest.RunMetadata()...); after != before {
		t.Error("a re-sync changed the graph")
	}
}

// checkUsersOnly is checkGraph for the synced users only: the stub that is
// no case variant of a synced user stays beside them.
func (e *env) checkUsersOnly(t *testing.T) {
	t.Helper()
	e.query(t, `MATCH (u:User {key: 'Nobody.Here@Example.com'}) SET u:Hidden REMOVE u:User`, nil)
	defer e.query(t, `MATCH (u:Hidden {key: 'Nobody.Here@Example.com'}) SET u:User REMOVE u:Hidden`, nil)
	e.checkGraph(t)
}
