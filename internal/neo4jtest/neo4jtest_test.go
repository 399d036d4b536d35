package neo4jtest

import (
	"slices"
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
	major, _ := Version(t, d)

	// More nodes than one delete batch, with relationships between them.
	defer func(b int64) { deleteBatch = b }(deleteBatch)
	deleteBatch = 100
	n := 2*deleteBatch + 7
	Exec(t, d, UniqueConstraint(t, d, "User", "key"), nil)
	Exec(t, d, PlainIndex(t, d, "User", "email"), nil)
	wantSchema := []string{"constraint User(key) unique", "index User(email)", "index fulltext User(name)"}
	if major < 4 {
		Exec(t, d, "CALL db.index.fulltext.createNodeIndex('user_names', ['User'], ['name'])", nil)
	} else {
		Exec(t, d, "CREATE FULLTEXT INDEX user_names IF NOT EXISTS FOR (u:User) ON EACH [u.name]", nil)
		// Named oddly, and on a relationship: both exist from 4.x on.
		Exec(t, d, "CREATE INDEX `odd``index` IF NOT EXISTS FOR ()-[r:REPORTS_TO]-() ON (r.since)", nil)
		wantSchema = append(wantSchema, "index REPORTS_TO(since)")
	}
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
	slices.Sort(wantSchema)
	if got := Schema(t, d); !slices.Equal(got, wantSchema) {
		t.Fatalf("before reset: schema %q, want %q", got, wantSchema)
	}

	Reset(t, d)

	for what, q := range map[string]string{
		"nodes":         "MATCH (n) RETURN count(n) AS c",
		"relationships": "MATCH ()-[r]->() RETURN count(r) AS c",
	} {
		if got := count(t, d, q); got != 0 {
			t.Errorf("after reset: %d %s, want 0", got, what)
		}
	}
	if got := Schema(t, d); len(got) != 0 {
		t.Errorf("after reset: schema %q, want none", got)
	}

	// The database is usable again: the constraint can be recreated.
	Exec(t, d, UniqueConstraint(t, d, "User", "key"), nil)
	Reset(t, d)
}

// TestParseConstraint35 reads Neo4j 3.5's constraint descriptions.
func TestParseConstraint35(t *testing.T) {
	for desc, want := range map[string]string{
		"CONSTRAINT ON ( user:User ) ASSERT user.key IS UNIQUE":            "User key unique",
		"CONSTRAINT ON ( node:Table ) ASSERT (node.a, node.b) IS NODE KEY": "Table a,b node_key",
		"CONSTRAINT ON ( u:User ) ASSERT exists(u.key)":                    "",
	} {
		label, props, kind, ok := parseConstraint35(desc)
		got := ""
		if ok {
			got = label + " " + props + " " + kind
		}
		if got != want {
			t.Errorf("parseConstraint35(%q) = %q, want %q", desc, got, want)
		}
	}
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
