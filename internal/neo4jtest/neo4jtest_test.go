package neo4jtest

import (
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"user_key":   "`user_key`",
		"odd`name":   "`odd``name`",
		"with space": "`with space`",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestResetIntegration(t *testing.T) {
	d := Driver(t)
	Reset(t, d)

	// More nodes than one delete batch, with relationships between them.
	defer func(b int64) { deleteBatch = b }(deleteBatch)
	deleteBatch = 100
	n := 2*deleteBatch + 7
	Exec(t, d, "CREATE CONSTRAINT user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE", nil)
	Exec(t, d, "CREATE INDEX `odd``index` IF NOT EXISTS FOR (u:User) ON (u.email)", nil)
	Exec(t, d, "CREATE FULLTEXT INDEX user_names IF NOT EXISTS FOR (u:User) ON EACH [u.name]", nil)
	Exec(t, d, "CREATE INDEX reports_since IF NOT EXISTS FOR ()-[r:REPORTS_TO]-() ON (r.since)", nil)
	Exec(t, d, `UNWIND range(1, $n) AS i
		CREATE (:User {key: 'u' + i, email: 'u' + i + '@example.com', name: 'User ' + i})`,
		map[string]any{"n": n})
	Exec(t, d, `MATCH (u:User) WHERE u.key <> 'u1'
		MATCH (m:User {key: 'u1'})
		CREATE (u)-[:REPORTS_TO {since: 2024}]->(m)`, nil)

	if got := count(t, d, "MATCH (n) RETURN count(n) AS c"); got != n {
		t.Fatalf("before reset: %d nodes, want %d", got, n)
	}
	if got := count(t, d, "MATCH ()-[r]->() RETURN count(r) AS c"); got != n-1 {
		t.Fatalf("before reset: %d relationships, want %d", got, n-1)
	}
	if got := count(t, d, "SHOW CONSTRAINTS YIELD name RETURN count(*) AS c"); got != 1 {
		t.Fatalf("before reset: %d constraints, want 1", got)
	}
	// user_key's backing index, odd`index, user_names, reports_since.
	if got := count(t, d, "SHOW INDEXES YIELD type WHERE type <> 'LOOKUP' RETURN count(*) AS c"); got != 4 {
		t.Fatalf("before reset: %d non-lookup indexes, want 4", got)
	}

	Reset(t, d)

	for what, q := range map[string]string{
		"nodes":              "MATCH (n) RETURN count(n) AS c",
		"relationships":      "MATCH ()-[r]->() RETURN count(r) AS c",
		"constraints":        "SHOW CONSTRAINTS YIELD name RETURN count(*) AS c",
		"non-lookup indexes": "SHOW INDEXES YIELD type WHERE type <> 'LOOKUP' RETURN count(*) AS c",
	} {
		if got := count(t, d, q); got != 0 {
			t.Errorf("after reset: %d %s, want 0", got, what)
		}
	}

	// The database is usable again: the constraint can be recreated.
	Exec(t, d, "CREATE CONSTRAINT user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE", nil)
	Reset(t, d)
}

func count(t *testing.T, d neo4j.DriverWithContext, cypher string) int64 {
	t.Helper()
	recs := Exec(t, d, cypher, nil)
	if len(recs) != 1 {
		t.Fatalf("%s: %d records, want 1", cypher, len(recs))
	}
	c, _, err := neo4j.GetRecordValue[int64](recs[0], "c")
	if err != nil {
		t.Fatalf("%s: %v", cypher, err)
	}
	return c
}
