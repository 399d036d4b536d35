package neo4j_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// rels lists the relationships of the node with key, as
// "OUT TYPE other-key {props}" strings, sorted.
func rels(t *testing.T, d neo4jdriver.DriverWithContext, key string) []string {
	t.Helper()
	var out []string
	for _, rec := range neo4jtest.Exec(t, d, `
		MATCH (n {key: $key})-[r]->(o) RETURN 'OUT ' + type(r) + ' ' + o.key AS k, properties(r) AS p
		UNION ALL
		MATCH (n {key: $key})<-[r]-(o) RETURN 'IN ' + type(r) + ' ' + o.key AS k, properties(r) AS p`, map[string]any{"key": key}) {
		m := rec.AsMap()
		out = append(out, m["k"].(string)+" "+fmtProps(m["p"].(map[string]any)))
	}
	slices.Sort(out)
	return out
}

func fmtProps(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := "{"
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		if v, ok := p[k].(string); ok {
			s += fmt.Sprintf("%s:%q", k, v)
		} else {
			s += fmt.Sprintf("%s:%v", k, p[k])
		}
	}
	return s + "}"
}

func TestMergeCaseVariantStubsIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	// Another tool's user with a key that is not a string: no stub, and no
	// reason for toLower to fail the count.
	neo4jtest.Exec(t, d, `CREATE (:User {key: 42})`, nil)
	t.Cleanup(func() {
		if n := count(t, d, `MATCH (u:User {key: 42}) RETURN count(u) AS n`, nil); n != 1 {
			t.Errorf("the node keyed 42: %d, want 1, untouched", n)
		}
	})
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(user("dana.lee@example.com", "00u1", "Dana", true),
		user("sam.roe@example.com", "00u2", "Sam", true))); err != nil {
		t.Fatal(err)
	}
	// Dana: two UI stubs (the sign-in email verbatim, and an upper-case
	// variant), one that owns a table and follows another, one that follows
	// a table Dana already follows, and a relationship between the two.
	neo4jtest.Exec(t, d, `
		MATCH (dana:User {key: 'dana.lee@example.com'})
		CREATE (s1:User {key: 'Dana.Lee@Example.com', email: 'Dana.Lee@Example.com', mode_user_id: 'm-7', user_id: 'Dana.Lee@Example.com'}),
		       (s2:User {key: 'DANA.LEE@EXAMPLE.COM', email: 'DANA.LEE@EXAMPLE.COM', mode_user_id: 'm-8', slack_id: 'U9'}),
		       (t1:Table {key: 'hive://gold/orders'}), (t2:Table {key: 'hive://gold/users'}),
		       (t1)-[:OWNER {published_tag: 'ui'}]->(s1), (s1)-[:OWNER_OF {published_tag: 'ui', since: 2021}]->(t1),
		       (s1)-[:FOLLOW {at: 1}]->(t2), (t2)-[:FOLLOWED_BY]->(s1),
		       (dana)-[:FOLLOW {published_tag: 'sync', at: 0}]->(t1),
		       (s2)-[:FOLLOW {at: 2, note: 'x'}]->(t1), (t1)-[:FOLLOWED_BY {n: 1}]->(s2),
		       (s1)-[:KNOWS {w: 1}]->(s2),
		       (:User {key: 'Other@Example.com', email: 'Other@Example.com'})-[:FOLLOW]->(t2),
		       (:User {key: 'Odd@Example.com'}),
		       (:Dashboard {key: 'Dana.Lee@Example.com'}),
		       (:User {key: 'odd@example.com', okta_id: '00u9', full_name: 'Odd'})`, nil)
	// A stub with a relationship type that cannot be written safely stays.
	neo4jtest.Exec(t, d, "MATCH (u:User {key: 'Odd@Example.com'}), (t:Table {key: 'hive://gold/users'}) CREATE (u)-[:`FOLLOW-ME`]->(t)", nil)
	untouched := []string{"Other@Example.com", "Odd@Example.com", "sam.roe@example.com", "odd@example.com"}
	before := map[string][]string{}
	for _, k := range untouched {
		before[k] = rels(t, d, k)
	}

	merger := p.Capabilities().StubMerger
	if merger == nil {
		t.Fatal("the Neo4j sink declares no StubMerger")
	}
	rep, err := merger.CaseVariantStubs(ctx, testRun(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stubs != 3 || rep.Synced != 3 || len(rep.Examples) != 3 {
		t.Errorf("report %+v, want 3 stubs (two of Dana, Odd's) of 3 synced users", rep)
	}
	st, err := merger.MergeStubs(ctx, testRun(t, p), 1, 100) // one stub per transaction: the relationship between the stubs crosses them
	if err != nil {
		t.Fatal(err)
	}
	if st.Merged != 2 || st.Left != 1 || st.Relationships != 8 || st.Writes.NodesDeleted != 2 {
		t.Errorf("stats %+v, want 2 merged, 1 left, 8 relationships moved", st)
	}
	want := []string{
		"IN FOLLOWED_BY hive://gold/orders {n:1}",
		"IN FOLLOWED_BY hive://gold/users {}",
		"IN KNOWS dana.lee@example.com {w:1}",
		"IN OWNER hive://gold/orders {published_tag:\"ui\"}",
		"OUT FOLLOW hive://gold/orders {at:0,note:\"x\",published_tag:\"sync\"}", // Dana's own wins, the stub's missing note added
		"OUT FOLLOW hive://gold/users {at:1}",
		"OUT KNOWS dana.lee@example.com {w:1}",
		"OUT OWNER_OF hive://gold/orders {published_tag:\"ui\",since:2021}",
	}
	if got := rels(t, d, "dana.lee@example.com"); !reflect.DeepEqual(got, want) {
		t.Errorf("Dana's relationships:\n got %q\nwant %q", got, want)
	}
	props := neo4jtest.Exec(t, d, `MATCH (u:User) WHERE CASE WHEN u.key STARTS WITH '' THEN toLower(u.key) END = 'dana.lee@example.com' RETURN properties(u) AS p`, nil)
	if len(props) != 1 {
		t.Fatalf("%d nodes for Dana, want 1", len(props))
	}
	pr := props[0].AsMap()["p"].(map[string]any)
	if pr["key"] != "dana.lee@example.com" || pr["email"] != "dana.lee@example.com" || pr["mode_user_id"] != "m-8" ||
		pr["slack_id"] != "" || pr["user_id"] != nil || pr["full_name"] != "Dana Doe" || pr["okta_id"] != "00u1" || pr["published_tag"] != testTag {
		t.Errorf("Dana's node: %v (want her synced properties, the mode_user_id of the first stub by key, no user_id)", pr)
	}
	for _, k := range untouched {
		if got := rels(t, d, k); !reflect.DeepEqual(got, before[k]) {
			t.Errorf("%s changed: %q -> %q", k, before[k], got)
		}
	}
	if n := count(t, d, `MATCH (n) WHERE n.key IN ['Other@Example.com', 'Odd@Example.com', 'Dana.Lee@Example.com', 'odd@example.com'] RETURN count(n) AS n`, nil); n != 4 {
		t.Errorf("%d of the unrelated nodes left, want 4 (two stubs, a dashboard, a synced user)", n)
	}
	ex := p.Examples()["merged"]
	slices.Sort(ex)
	if !reflect.DeepEqual(ex, []string{"DANA.LEE@EXAMPLE.COM -> dana.lee@example.com", "Dana.Lee@Example.com -> dana.lee@example.com"}) {
		t.Errorf("examples %q", ex)
	}

	// Again: nothing to do, nothing written.
	st, err = merger.MergeStubs(ctx, testRun(t, p), 10, 100)
	if err != nil || st.Merged != 0 || st.Writes != (publisher.Writes{}) {
		t.Errorf("second merge: %+v, %v; want nothing", st, err)
	}
}

// A relationship left on a stub (here: added between the read and the
// delete, as a concurrent writer could) makes the plain DELETE fail: the
// transaction rolls back and nothing is lost.
func TestMergeStubDeleteNeverDetachesIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(user("dana.lee@example.com", "00u1", "Dana", true))); err != nil {
		t.Fatal(err)
	}
	neo4jtest.Exec(t, d, `CREATE (:User {key: 'Dana.Lee@Example.com'})-[:FOLLOW]->(:Table {key: 't'})`, nil)
	err := neo4j.DeleteStubsForTest(ctx, p, "Dana.Lee@Example.com")
	if err == nil {
		t.Fatal("deleting a stub that still has a relationship succeeded")
	}
	if n := count(t, d, `MATCH (:User {key: 'Dana.Lee@Example.com'})-[:FOLLOW]->(:Table) RETURN count(*) AS n`, nil); n != 1 {
		t.Errorf("the stub or its relationship is gone")
	}
}
