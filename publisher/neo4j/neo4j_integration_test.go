package neo4j_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/neo4j"
	"github.com/oktasync/oktasync/publisher/publishertest"
)

func newPublisher(t *testing.T, batch int) (*neo4j.Publisher, neo4jdriver.DriverWithContext) {
	t.Helper()
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	_ = batch // the caller's batches are written as given, each in one transaction
	p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	if err := p.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p, d
}

// testTag is the published_tag of the tests' runs.
const testTag = "2026-11-28T00:00:00Z"

// testRun is the run the tests publish in: marker 0, the test tag.
// testRun is a run of p with testTag and no marker, ended with the test.
func testRun(t *testing.T, p *neo4j.Publisher) publisher.Run { return runForTest(t, p, testTag, 0) }

func runForTest(t *testing.T, p *neo4j.Publisher, tag string, marker int64) publisher.Run {
	t.Helper()
	run := neo4j.RunForTest(p, tag, marker)
	t.Cleanup(func() {
		if err := p.EndRun(run); err != nil {
			t.Errorf("EndRun: %v", err)
		}
	})
	return run
}

// config is the default configuration for uri.
func config(uri string) neo4j.Config {
	c := neo4j.DefaultConfig()
	c.URI = uri
	return c
}

func user(key, id, first string, active bool) extractor.User {
	return extractor.User{
		Key: key, Email: key, FirstName: first, LastName: "Doe", FullName: first + " Doe",
		TeamName: "Data", RoleName: "Engineer", EmployeeType: "Employee", IsActive: active,
		UpdatedAt: 1700000000, SourceID: id, Status: "ACTIVE",
	}
}

// runPairs lists the keys the run's PublishNodes calls left pending for
// LinkManagers, and those they settled, in the order they got them.
func runPairs(t *testing.T, p *neo4j.Publisher, run publisher.Run) (pending, settled []string) {
	t.Helper()
	pending, settled, err := neo4j.PairsForTest(p, run)
	if err != nil {
		t.Fatal(err)
	}
	return pending, settled
}

func nodes(us ...extractor.User) []loader.NodeRow {
	rows := make([]loader.NodeRow, len(us))
	for i, u := range us {
		rows[i] = loader.Node(u)
	}
	return rows
}

func count(t *testing.T, d neo4jdriver.DriverWithContext, cypher string, params map[string]any) int64 {
	t.Helper()
	recs := neo4jtest.Exec(t, d, cypher, params)
	v, _, err := neo4jdriver.GetRecordValue[int64](recs[0], "n")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPrepareIntegration(t *testing.T) {
	_, d := newPublisher(t, 100)
	// Idempotent, and fine next to the constraint databuilder creates.
	neo4jtest.Reset(t, d)
	neo4jtest.Exec(t, d, neo4jtest.UniqueConstraint(t, d, "User", "key"), nil)
	p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for i := 0; i < 2; i++ {
		if err := p.Prepare(context.Background()); err != nil {
			t.Fatalf("Prepare #%d: %v", i+1, err)
		}
	}
	want := []string{"constraint User(key) unique", "index User(okta_id)"}
	if got := neo4jtest.Schema(t, d); !slices.Equal(got, want) {
		t.Errorf("schema = %q, want %q", got, want)
	}
}

// TestPrepareDoesNotWaitForWritersIntegration: on a prepared graph,
// Prepare sends no schema statement, which would wait for every open write
// transaction (3.5 does even when the constraint exists): a run starts while
// another client holds a write lock.
func TestPrepareDoesNotWaitForWritersIntegration(t *testing.T) {
	ctx := context.Background()
	_, d := newPublisher(t, 0) // prepared
	neo4jtest.Exec(t, d, `CREATE (:User {key: 'held@x.io'})`, nil)
	sess := d.NewSession(ctx, neo4jdriver.SessionConfig{DatabaseName: neo4jtest.Database})
	defer sess.Close(ctx)
	tx, err := sess.BeginTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	res, err := tx.Run(ctx, `MATCH (u:User {key: 'held@x.io'}) SET u.held = true`, nil)
	if err == nil {
		_, err = res.Consume(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second) // a hang guard, not a timing
	defer cancel()
	if err := p.Prepare(pctx); err != nil {
		t.Fatalf("Prepare with a write transaction open elsewhere: %v", err)
	}
}

// TestPrepareBesideDatabuilderIntegration: databuilder's publishers run
// their own constraint statement before every publish and accept only
// "an equivalent constraint already exists". After Prepare (and after an
// older oktasync's named constraint, which Prepare replaces on 4.x), that
// statement still succeeds on every version; and Prepare after it too.
func TestPrepareBesideDatabuilderIntegration(t *testing.T) {
	_, d := newPublisher(t, 100)
	databuilder := neo4jtest.UniqueConstraint(t, d, "User", "key")
	runDatabuilder := func(step string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := neo4jdriver.ExecuteQuery(ctx, d, databuilder, nil, neo4jdriver.EagerResultTransformer,
			neo4jdriver.ExecuteQueryWithDatabase(neo4jtest.Database))
		var ne *neo4jdriver.Neo4jError
		// databuilder's own test: the error must say the equivalent exists.
		if err != nil && !(errors.As(err, &ne) && strings.Contains(ne.Msg, "An equivalent constraint already exists")) {
			t.Fatalf("%s: databuilder's constraint statement fails: %v", step, err)
		}
	}
	want := []string{"constraint User(key) unique", "index User(okta_id)"}
	runDatabuilder("oktasync first") // newPublisher prepared already

	neo4jtest.Reset(t, d)
	runDatabuilder("databuilder first")
	p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Prepare(context.Background()); err != nil {
		t.Fatalf("Prepare after databuilder: %v", err)
	}
	runDatabuilder("databuilder again")
	if got := neo4jtest.Schema(t, d); !slices.Equal(got, want) {
		t.Errorf("schema = %q, want %q", got, want)
	}

	if major, _ := neo4jtest.Version(t, d); major == 4 {
		// A graph an older oktasync prepared holds the constraint under its
		// own name, which databuilder's statement refuses.
		neo4jtest.Reset(t, d)
		neo4jtest.Exec(t, d, `CREATE CONSTRAINT oktasync_user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE`, nil)
		p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		if err := p.Prepare(context.Background()); err != nil {
			t.Fatalf("Prepare over the named constraint: %v", err)
		}
		runDatabuilder("after the named constraint was replaced")
		if got := neo4jtest.Schema(t, d); !slices.Equal(got, want) {
			t.Errorf("schema = %q, want %q", got, want)
		}
	}
}

func TestPublishNodesIntegration(t *testing.T) {
	p, d := newPublisher(t, 2) // small batches exercise batching
	ctx := context.Background()
	// A bare stub as the Amundsen UI creates it, holding a bookmark.
	neo4jtest.Exec(t, d, `MERGE (u:User {key: 'ann@example.com'}) ON CREATE SET u = {email: 'ann@example.com', key: 'ann@example.com'}
		CREATE (t:Table {key: 'hive://gold.sales/orders'})-[:FOLLOWED_BY]->(u), (u)-[:FOLLOW]->(t)`, nil)

	ann, bob, cyd := user("ann@example.com", "00uann", "Ann", true), user("bob@example.com", "00ubob", "Bob", true), user("cyd@example.com", "00ucyd", "Cyd", false)
	ann.Extra = []extractor.Attr{{Name: "cost_center", Value: "CC-1"}}
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(ann, bob, cyd))
	if err != nil {
		t.Fatal(err)
	}
	if want := (publisher.NodeStats{Created: 2, Updated: 1,
		// Two new nodes: the key and 13 properties each, one extra (cost_center) on ann; the stub gets
		// the 12 it lacks (its email is right already);
		// three nodes get published_tag, publisher_last_updated_epoch_ms and the version.
		Writes: publisher.Writes{UserProperties: 2*14 + 1 + 12, MetadataProperties: 3 * 3, NodesCreated: 2}}); !reflect.DeepEqual(st, want) {
		t.Errorf("first publish = %+v, want %+v", st, want)
	}
	if n := count(t, d, `MATCH (u:User) RETURN count(u) AS n`, nil); n != 3 {
		t.Errorf("users = %d, want 3 (the stub must be enriched, not duplicated)", n)
	}
	if n := count(t, d, `MATCH (:User {key: 'ann@example.com'})-[:FOLLOW]->(:Table) RETURN count(*) AS n`, nil); n != 1 {
		t.Errorf("the stub's bookmark was lost")
	}
	// Types Amundsen relies on.
	recs := neo4jtest.Exec(t, d, `MATCH (u:User {key: 'cyd@example.com'})
		RETURN u.is_active AS active, u.updated_at AS updated, u.full_name AS full,
		       u.published_tag AS tag, u.publisher_last_updated_epoch_ms AS epoch, u.okta_id AS id, u.is_active AS isActive`, nil)
	r := recs[0].AsMap()
	for _, k := range []string{"active", "updated", "full", "epoch"} {
		r[k] = neo4jtest.CypherType(r[k])
	}
	for k, want := range map[string]any{"active": "BOOLEAN NOT NULL", "updated": "INTEGER NOT NULL", "full": "STRING NOT NULL",
		"tag": "2026-11-28T00:00:00Z", "epoch": "INTEGER NOT NULL", "id": "00ucyd", "isActive": false} {
		if r[k] != want {
			t.Errorf("%s = %v, want %v", k, r[k], want)
		}
	}
	if got := neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@example.com'}) RETURN u.cost_center AS c, u.first_name AS f`, nil)[0].AsMap(); got["c"] != "CC-1" || got["f"] != "Ann" {
		t.Errorf("ann = %v", got)
	}

	// Same rows again: nothing changes.
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(ann, bob, cyd)); err != nil {
		t.Fatal(err)
	}
	if want := (publisher.NodeStats{Unchanged: 3}); !reflect.DeepEqual(st, want) {
		t.Errorf("second publish = %+v, want %+v", st, want)
	}
	// One change.
	bob.TeamName = "Platform"
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(ann, bob, cyd)); err != nil {
		t.Fatal(err)
	}
	if want := (publisher.NodeStats{Updated: 1, Unchanged: 2,
		// The changed property and the user's run metadata; nothing on the unchanged ones.
		Writes: publisher.Writes{UserProperties: 1, MetadataProperties: 3}}); !reflect.DeepEqual(st, want) {
		t.Errorf("third publish = %+v, want %+v", st, want)
	}
	// A property of the wrong type written by someone else is corrected.
	neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@example.com'}) SET u.is_active = 'true'`, nil)
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(ann)); err != nil {
		t.Fatal(err)
	}
	if st.Updated != 1 {
		t.Errorf("string is_active not corrected: %+v", st)
	}
	if n := count(t, d, `MATCH (u:User) WHERE u.is_active = true RETURN count(u) AS n`, nil); n != 2 {
		t.Errorf("active users = %d, want 2", n)
	}
}

func TestPublishManagersIntegration(t *testing.T) {
	p, d := newPublisher(t, 100)
	ctx := context.Background()
	boss, vp, ann, bob := user("boss@x.io", "00uboss", "Boss", true), user("vp@x.io", "00uvp", "Vp", true), user("ann@x.io", "00uann", "Ann", true), user("bob@x.io", "00ubob", "Bob", true)
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(boss, vp, ann, bob)); err != nil {
		t.Fatal(err)
	}
	byID := func(id string) extractor.ManagerRef {
		return extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: id}
	}
	byKey := func(k string) extractor.ManagerRef {
		return extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: k}
	}
	rows := []loader.ManagerRow{
		{UserKey: "boss@x.io", UserID: "00uboss"},
		{UserKey: "vp@x.io", UserID: "00uvp", Manager: byID("00uboss")},
		{UserKey: "ann@x.io", UserID: "00uann", Manager: byKey("vp@x.io")},
		{UserKey: "bob@x.io", UserID: "00ubob", Manager: byID("00unobody")},
	}
	st, err := neo4j.LinkBatchForTest(ctx, p, testRun(t, p), rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := (publisher.ManagerStats{Linked: 2, Missing: 1,
		Writes: publisher.Writes{MetadataProperties: 2 * 4, RelationshipsCreated: 2 * 2}}); st != want {
		t.Errorf("first pass = %+v, want %+v", st, want)
	}
	managerOf := func(key string) []string {
		var out []string
		for _, r := range neo4jtest.Exec(t, d, `MATCH (u:User {key: $k})-[:MANAGE_BY]->(m:User) RETURN m.key AS m ORDER BY m`, map[string]any{"k": key}) {
			out = append(out, r.AsMap()["m"].(string))
		}
		return out
	}
	if got := managerOf("ann@x.io"); len(got) != 1 || got[0] != "vp@x.io" {
		t.Errorf("ann's managers = %v", got)
	}
	// Edges carry publisher metadata on both directions.
	if n := count(t, d, `MATCH ()-[r:MANAGE_BY|MANAGE]->() WHERE r.published_tag IS NOT NULL AND r.publisher_last_updated_epoch_ms IS NOT NULL RETURN count(r) AS n`, nil); n != 4 {
		t.Errorf("edges with publisher metadata = %d, want 4", n)
	}
	// Again: nothing new.
	if st, err = neo4j.LinkBatchForTest(ctx, p, testRun(t, p), rows); err != nil {
		t.Fatal(err)
	}
	if want := (publisher.ManagerStats{Kept: 2, Missing: 1}); st != want {
		t.Errorf("second pass = %+v, want %+v", st, want)
	}
	// Ann changes manager; vp loses his; a half pair left by another writer is repaired.
	neo4jtest.Exec(t, d, `MATCH (b:User {key:'bob@x.io'}), (m:User {key:'boss@x.io'}) CREATE (b)-[:MANAGE_BY]->(m)`, nil)
	rows = []loader.ManagerRow{
		{UserKey: "ann@x.io", UserID: "00uann", Manager: byKey("boss@x.io")},
		{UserKey: "vp@x.io", UserID: "00uvp"},
		{UserKey: "bob@x.io", UserID: "00ubob", Manager: byID("00uboss")},
	}
	if st, err = neo4j.LinkBatchForTest(ctx, p, testRun(t, p), rows); err != nil {
		t.Fatal(err)
	}
	if want := (publisher.ManagerStats{Linked: 2, Unlinked: 2,
		// ann's new pair, and the MANAGE that completes bob's half pair; ann's and vp's old pairs go.
		Writes: publisher.Writes{MetadataProperties: 2 * 4, RelationshipsCreated: 3, RelationshipsDeleted: 4}}); st != want {
		t.Errorf("change pass = %+v, want %+v", st, want)
	}
	if got := managerOf("ann@x.io"); len(got) != 1 || got[0] != "boss@x.io" {
		t.Errorf("ann's managers after change = %v", got)
	}
	if got := managerOf("vp@x.io"); len(got) != 0 {
		t.Errorf("vp still has managers %v", got)
	}
	if n := count(t, d, `MATCH (u:User)-[:MANAGE_BY]->(m:User) WHERE NOT (m)-[:MANAGE]->(u) RETURN count(*) AS n`, nil); n != 0 {
		t.Errorf("%d MANAGE_BY edges without their MANAGE mirror", n)
	}
	if n := count(t, d, `MATCH (m:User)-[:MANAGE]->(u:User) WHERE NOT (u)-[:MANAGE_BY]->(m) RETURN count(*) AS n`, nil); n != 0 {
		t.Errorf("%d MANAGE edges without their MANAGE_BY mirror", n)
	}
	if n := count(t, d, `MATCH (u:User)-[r:MANAGE_BY]->() WITH u, count(r) AS c WHERE c > 1 RETURN count(u) AS n`, nil); n != 0 {
		t.Errorf("%d users with more than one manager", n)
	}
	// Amundsen's own read query.
	recs := neo4jtest.Exec(t, d, `MATCH (user:User {key: $user_id}) OPTIONAL MATCH (user)-[:MANAGE_BY]->(manager:User) RETURN user, manager`, map[string]any{"user_id": "ann@x.io"})
	if len(recs) != 1 {
		t.Fatalf("Amundsen's get_user query returned %d rows, want 1", len(recs))
	}
	m := recs[0].AsMap()["manager"].(neo4jdriver.Node)
	if m.Props["full_name"] != "Boss Doe" {
		t.Errorf("manager full_name = %v", m.Props["full_name"])
	}
}

func TestVerifyUnreachableIntegration(t *testing.T) {
	neo4jtest.URI(t)
	p, err := neo4j.New(func() neo4j.Config { c := config("bolt://127.0.0.1:1"); c.ConnectTimeout = time.Second; return c }(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Verify(context.Background()); err == nil {
		t.Fatal("Verify succeeded against a closed port")
	}
}

func TestOlderDataNeverOverwritesNewerIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	newer := user("ann@x.io", "00uann", "Ann", false)
	newer.UpdatedAt = 200
	older := user("ann@x.io", "00uann", "Ann", true)
	older.UpdatedAt = 100
	older.TeamName = "Stale"
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(newer)); err != nil {
		t.Fatal(err)
	}
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(older))
	if err != nil {
		t.Fatal(err)
	}
	if st.Updated != 0 || st.Unchanged != 1 {
		t.Errorf("stale row counted as %+v", st)
	}
	got := neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@x.io'}) RETURN u.is_active AS a, u.updated_at AS up, u.team_name AS team`, nil)[0].AsMap()
	if got["a"] != false || got["up"] != int64(200) || got["team"] != "Data" {
		t.Errorf("older data overwrote newer: %v", got)
	}
}

// TestOlderDataWithinOneSecondIntegration (issue 20, D5): a hook wrote
// title T2; a sync that read T1 11 ms earlier, in the same second, comes
// later. Versions are Okta's lastUpdated to the millisecond, so T1 loses.
// A node an older oktasync wrote (no version) takes the second's record
// once, and records its version from then on.
func TestOlderDataWithinOneSecondIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	t1, t2 := user("ann@x.io", "00uann", "Ann", true), user("ann@x.io", "00uann", "Ann", true)
	t1.UpdatedAt, t1.Version, t1.RoleName = 1_700_000_000, 1_700_000_000_100, "T1"
	t2.UpdatedAt, t2.Version, t2.RoleName = 1_700_000_000, 1_700_000_000_111, "T2"
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(t2)); err != nil {
		t.Fatal(err)
	}
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(t1))
	if err != nil {
		t.Fatal(err)
	}
	role := func() map[string]any {
		return neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@x.io'}) RETURN u.role_name AS role, u.oktasync_version_epoch_ms AS v`, nil)[0].AsMap()
	}
	if got := role(); st.Updated != 0 || got["role"] != "T2" || got["v"] != int64(1_700_000_000_111) {
		t.Errorf("a record 11 ms older overwrote the newer one: %+v, node %v", st, got)
	}
	// The node of an older oktasync: no version, the same updated_at.
	neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@x.io'}) REMOVE u.oktasync_version_epoch_ms`, nil)
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(t1)); err != nil {
		t.Fatal(err)
	}
	if got := role(); st.Updated != 1 || got["role"] != "T1" || got["v"] != int64(1_700_000_000_100) {
		t.Errorf("on a node without a version: %+v, node %v; want T1 written with its version", st, got)
	}
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(t2)); err != nil {
		t.Fatal(err)
	}
	if got := role(); st.Updated != 1 || got["role"] != "T2" {
		t.Errorf("the newer record after it: %+v, node %v", st, got)
	}
	// A newer record that changes nothing Amundsen shows still records
	// its version, so the one before it cannot come back.
	t3 := t2
	t3.Version += 5
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(t3)); err != nil {
		t.Fatal(err)
	}
	if got := role(); st.Updated != 0 || st.Unchanged != 1 || got["v"] != int64(1_700_000_000_116) {
		t.Errorf("a version-only change (counted unchanged: no user property changed): %+v, node %v", st, got)
	}
	if st, err = p.PublishNodes(ctx, testRun(t, p), nodes(t1)); err != nil || st.Updated != 0 {
		t.Errorf("the oldest record again: %+v, %v", st, err)
	}
}

// TestOlderRecordOfARenamedUserMakesNoSecondNodeIntegration: a hook moved
// the user's node to a new key with a newer record; a sync's older record,
// still under the old key, arrives after. The user's node is elsewhere
// with a newer version: nothing is created at the old key, nothing moves.
func TestOlderRecordOfARenamedUserMakesNoSecondNodeIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	older, newer := user("a@x.io", "00uann", "Ann", true), user("b@x.io", "00uann", "Ann", true)
	older.UpdatedAt, newer.UpdatedAt = 100, 200
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(older)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(newer)); err != nil { // the rename
		t.Fatal(err)
	}
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(older))
	if err != nil {
		t.Fatal(err)
	}
	keys := neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: '00uann'}) RETURN collect(u.key) AS keys`, nil)[0].AsMap()["keys"]
	if st.Created != 0 || st.Renamed != 0 || fmt.Sprint(keys) != "[b@x.io]" {
		t.Errorf("the older record: %+v; the user's nodes %v, want only b@x.io", st, keys)
	}
}

func TestPrepareRefusesWithoutKeyConstraintIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	neo4jtest.Exec(t, d, neo4jtest.PlainIndex(t, d, "User", "key"), nil)
	p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	err = p.Prepare(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no uniqueness constraint on :User(key)") {
		t.Fatalf("Prepare with a plain index on :User(key): %v", err)
	}
}

// TestManagersInOrderIntegration: the node read tells which rows already
// have the manager pair they state, so that only the others go through the
// manager pass; a missing half, a changed manager, or a new node whose
// manager is not in the graph is never taken for in order. A new node
// whose manager is there (created before it, even in the same batch) is
// linked as it is created.
func TestManagersInOrderIntegration(t *testing.T) {
	ctx := context.Background()
	p, d := newPublisher(t, 0)
	boss, ann, bob := user("boss@x.io", "00uboss", "Boss", true), user("ann@x.io", "00uann", "Ann", true), user("bob@x.io", "00ubob", "Bob", true)
	ann.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: "00uboss"}
	bob.Manager = extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: "boss@x.io"}
	publishOf := func(step string, us []extractor.User, want ...string) {
		t.Helper()
		run := testRun(t, p)
		if _, err := p.PublishNodes(ctx, run, nodes(us...)); err != nil {
			t.Fatal(err)
		}
		_, got := runPairs(t, p, run)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: managers settled = %v, want %v", step, got, want)
		}
	}
	publish := func(step string, want ...string) {
		t.Helper()
		publishOf(step, []extractor.User{boss, ann, bob}, want...)
	}
	link := func() {
		t.Helper()
		rows := []loader.ManagerRow{loader.Node(boss).ManagerRow(), loader.Node(ann).ManagerRow(), loader.Node(bob).ManagerRow()}
		if _, err := neo4j.LinkBatchForTest(ctx, p, testRun(t, p), rows); err != nil {
			t.Fatal(err)
		}
	}
	publishOf("a new node whose manager is not in the graph", []extractor.User{ann})
	if n := count(t, d, `MATCH (:User {key: 'ann@x.io'})-[r]-() RETURN count(r) AS n`, nil); n != 0 {
		t.Errorf("ann has %d relationships, want none: her manager is not in the graph", n)
	}
	publish("new nodes", "bob@x.io", "boss@x.io") // bob is linked to boss, created before him
	if n := count(t, d, `MATCH (:User {key: 'bob@x.io'})-[:MANAGE_BY]->(:User {key: 'boss@x.io'})-[:MANAGE]->(:User {key: 'bob@x.io'}) RETURN count(*) AS n`, nil); n != 1 {
		t.Errorf("bob's pair: %d, want 1", n)
	}
	link()
	publish("after the manager pass", "ann@x.io", "bob@x.io", "boss@x.io")
	neo4jtest.Exec(t, d, `MATCH (:User {key: 'boss@x.io'})-[r:MANAGE]->(:User {key: 'ann@x.io'}) DELETE r`, nil)
	publish("ann's mirror gone", "bob@x.io", "boss@x.io")
	link()
	bob.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: "00uann"}
	publish("bob's manager changed", "ann@x.io", "boss@x.io")
	neo4jtest.Exec(t, d, `MATCH (a:User {key: 'ann@x.io'}), (b:User {key: 'bob@x.io'}) CREATE (b)-[:MANAGE_BY]->(a), (a)-[:MANAGE]->(b)`, nil)
	publish("bob with two managers", "ann@x.io", "boss@x.io")
}

// TestManagersInOrderWithinARunIntegration: a node the run already wrote
// (another batch held the same user) is never reported in order: a manager
// linked for that other batch after this read would otherwise stand.
func TestManagersInOrderWithinARunIntegration(t *testing.T) {
	ctx := context.Background()
	p, d := newPublisher(t, 0)
	ann := user("ann@x.io", "00uann", "Ann", true)
	run, err := p.BeginRun(ctx, publisher.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.EndRun(run) })
	inOrder := func(run publisher.Run) []string {
		t.Helper()
		_, before := runPairs(t, p, run)
		if _, err := p.PublishNodes(ctx, run, nodes(ann)); err != nil {
			t.Fatal(err)
		}
		_, after := runPairs(t, p, run)
		return after[len(before):]
	}
	if got := inOrder(run); !slices.Equal(got, []string{"ann@x.io"}) {
		t.Errorf("new node: in order = %v, want [ann@x.io] (a new node has no pair)", got)
	}
	if got := inOrder(run); len(got) != 0 {
		t.Errorf("again in the same run: in order = %v, want none", got)
	}
	// The next run begins after the write, by the server's clock (a run
	// that begins in the same millisecond counts the node as touched).
	written := count(t, d, `MATCH (u:User {key: 'ann@x.io'}) RETURN u.publisher_last_updated_epoch_ms AS n`, nil)
	next := run
	for i := 0; i < 1000 && next.Marker <= written; i++ {
		if next, err = p.BeginRun(ctx, publisher.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		p.EndRun(next)
	}
	next = runForTest(t, p, testTag, next.Marker)
	if got := inOrder(next); !slices.Equal(got, []string{"ann@x.io"}) {
		t.Errorf("next run: in order = %v, want [ann@x.io]", got)
	}
}

// TestRenameWritesRunMetadataIntegration: a user whose key moved, with
// nothing else changed (same updated_at), is written: the renamed node
// carries this run's metadata, and no per-run marker.
func TestRenameWritesRunMetadataIntegration(t *testing.T) {
	p, d := newPublisher(t, 10)
	ctx := context.Background()
	first := runForTest(t, p, "first", 1000)
	if _, err := p.PublishNodes(ctx, first, nodes(user("old.key@example.com", "00u-mover", "Mo", true))); err != nil {
		t.Fatal(err)
	}
	second := runForTest(t, p, "second", 2000)
	st, err := p.PublishNodes(ctx, second, nodes(user("new.key@example.com", "00u-mover", "Mo", true)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Renamed != 1 {
		t.Fatalf("stats %+v, want one rename", st)
	}
	r := neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: '00u-mover'}) RETURN u.key AS key, u.oktasync_seen_epoch_ms AS seen, u.published_tag AS tag`, nil)
	if len(r) != 1 {
		t.Fatalf("%d nodes for the mover", len(r))
	}
	m := r[0].AsMap()
	if m["key"] != "new.key@example.com" || m["seen"] != nil || m["tag"] != "second" {
		t.Errorf("renamed node %v, want key new.key@example.com, tag second, and no seen marker (reconciliation joins the read's ids)", m)
	}
}

// TestUnseenJoinAcrossPagesIntegration: reconciliation's join reads the
// managed users a page at a time in okta_id order; nodes sharing an
// okta_id (old data) that straddle a page's end are judged whole, stubs
// and inactive users are never counted, and a node that records a version
// from after the read began is not stale.
func TestUnseenJoinAcrossPagesIntegration(t *testing.T) {
	p, d := newPublisher(t, 0)
	ctx := context.Background()
	neo4j.SetReconcilePageForTest(p, 3)
	neo4jtest.Exec(t, d, `
UNWIND $rows AS r
CREATE (u:User {key: r[0], okta_id: r[1], is_active: r[2], updated_at: 100})`, map[string]any{"rows": []any{
		[]any{"a@x.io", "00ua", true}, []any{"b@x.io", "00ub", true}, []any{"c@x.io", "00uc", true},
		[]any{"d1@x.io", "00ud", true}, []any{"d2@x.io", "00ud", true}, // one Okta id, two nodes
		[]any{"e@x.io", "00ue", false}, []any{"f@x.io", "00uf", true}, []any{"g@x.io", "00ug", true},
		[]any{"h@x.io", "00uh", true},
	}})
	neo4jtest.Exec(t, d, `CREATE (:User {key: 'stub@x.io', email: 'stub@x.io'})`, nil)
	now := time.Now().UnixMilli()
	neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: '00uh'}) SET u.oktasync_version_epoch_ms = $v`, map[string]any{"v": now})
	run, err := p.BeginRun(ctx, publisher.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := publisher.Read{From: now - 1000, Seen: publishertest.Seen(t, "00ub", "00uf", "00uz", "00ua")}
	report, err := p.Stale(ctx, run, read)
	if err != nil {
		t.Fatal(err)
	}
	// Active managed: a b c d1 d2 f g h; unseen: c d1 d2 g h, of which h
	// records a version after the read began.
	slices.Sort(report.Examples) // nodes of one id come in any order
	if report.Managed != 8 || report.Stale != 4 || !slices.Equal(report.Examples, []string{"c@x.io", "d1@x.io", "d2@x.io", "g@x.io"}) {
		t.Errorf("stale report = %+v, want c, d1, d2, g of 8", report)
	}
	n, err := p.Deactivate(ctx, run, read, 2)
	if err != nil || n != 4 {
		t.Fatalf("Deactivate = %d, %v; want 4", n, err)
	}
	var inactive []string
	for _, r := range neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.is_active = false RETURN u.key AS k ORDER BY k`, nil) {
		inactive = append(inactive, r.AsMap()["k"].(string))
	}
	if want := []string{"c@x.io", "d1@x.io", "d2@x.io", "e@x.io", "g@x.io"}; !slices.Equal(inactive, want) {
		t.Errorf("inactive = %v, want %v", inactive, want)
	}

	// As many nodes of one id as a page holds cannot be judged: the join
	// fails rather than skip some of them.
	neo4jtest.Exec(t, d, `CREATE (:User {key: 'd3@x.io', okta_id: '00ud', is_active: true, updated_at: 100})`, nil)
	if _, err := p.Stale(ctx, run, read); err == nil || !strings.Contains(err.Error(), "00ud") {
		t.Errorf("three nodes of one id in pages of three: err = %v, want the id named", err)
	}
}

// TestLinkAtCreationAfterATakeoverIntegration: a batch in which one user
// takes over a leaver's key and a new user names the leaver as manager
// never links the new user to the key's new holder: linking at creation
// runs after the batch's updates, and finds no node of the leaver.
func TestLinkAtCreationAfterATakeoverIntegration(t *testing.T) {
	ctx := context.Background()
	p, d := newPublisher(t, 0)
	leaver := user("shared@x.io", "00uleaver", "Lea", false)
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(leaver)); err != nil {
		t.Fatal(err)
	}
	hire := user("shared@x.io", "00uhire", "Hi", true)
	hire.UpdatedAt++
	report := user("report@x.io", "00ureport", "Re", true)
	report.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: "00uleaver"}
	run := testRun(t, p)
	st, err := p.PublishNodes(ctx, run, nodes(hire, report))
	if err != nil {
		t.Fatal(err)
	}
	if pending, _ := runPairs(t, p, run); st.TakenOver != 1 || !slices.Contains(pending, "report@x.io") {
		t.Errorf("stats %+v, pending %v: want one takeover, and the report neither linked nor in order", st, pending)
	}
	if n := count(t, d, `MATCH (:User {key: 'report@x.io'})-[r:MANAGE_BY]->() RETURN count(r) AS n`, nil); n != 0 {
		t.Errorf("the report has %d MANAGE_BY edges, want none (the leaver is gone)", n)
	}
}
