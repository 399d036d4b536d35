package neo4jtest

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// The helpers here hide what differs between the supported Neo4j versions
// (3.5, 4.4, 5.x) from the tests: schema listing and dropping, and the
// statements a test uses to set up a schema or watch transactions.

// Version returns the major and minor version of the server d talks to.
func Version(t testing.TB, d neo4j.DriverWithContext) (major, minor int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	major, minor, err := version(ctx, d)
	if err != nil {
		t.Fatalf("neo4jtest: %v", err)
	}
	return major, minor
}

func version(ctx context.Context, d neo4j.DriverWithContext) (major, minor int, err error) {
	res, err := neo4j.ExecuteQuery(ctx, d, `CALL dbms.components() YIELD name, versions
		WHERE name = 'Neo4j Kernel' RETURN versions[0] AS v`, nil,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
	if err != nil {
		return 0, 0, fmt.Errorf("read the server version: %w", err)
	}
	if len(res.Records) == 0 {
		return 0, 0, fmt.Errorf("read the server version: no Neo4j Kernel component")
	}
	v, _, _ := neo4j.GetRecordValue[string](res.Records[0], "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("unreadable server version %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("unreadable server version %q", v)
	}
	return major, minor, nil
}

// Schema lists the server's constraints and indexes, the built-in token
// lookup indexes and the indexes that back a constraint left out, each
// written the same way on every version: "constraint User(key) unique",
// "constraint User(a,b) node_key", "index User(okta_id)", "index
// fulltext User(name)", "index REPORTS_TO(since)". It is sorted.
func Schema(t testing.TB, d neo4j.DriverWithContext) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	major, _, err := version(ctx, d)
	if err != nil {
		t.Fatalf("neo4jtest: %v", err)
	}
	var out []string
	entry := func(kind string, tokens, props []any, suffix string) {
		e := fmt.Sprintf("%s %s(%s)", kind, join(tokens), join(props))
		if suffix != "" {
			e += " " + suffix
		}
		out = append(out, e)
	}
	switch {
	case major < 4:
		for _, r := range Exec(t, d, `CALL db.constraints() YIELD description RETURN description`, nil) {
			desc, _ := r.AsMap()["description"].(string)
			label, props, kind, ok := parseConstraint35(desc)
			if !ok {
				t.Fatalf("neo4jtest: unreadable constraint %q", desc)
			}
			out = append(out, fmt.Sprintf("constraint %s(%s) %s", label, props, kind))
		}
		for _, r := range Exec(t, d, `CALL db.indexes() YIELD tokenNames, properties, type
			WHERE type <> 'node_unique_property' RETURN tokenNames, properties, type`, nil) {
			m := r.AsMap()
			if strings.Contains(m["type"].(string), "fulltext") {
				out = append(out, fmt.Sprintf("index fulltext %s(%s)", join(m["tokenNames"].([]any)), join(m["properties"].([]any))))
				continue
			}
			entry("index", m["tokenNames"].([]any), m["properties"].([]any), "")
		}
	default:
		for _, r := range Exec(t, d, `SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties RETURN type, labelsOrTypes, properties`, nil) {
			m := r.AsMap()
			kind := map[string]string{"UNIQUENESS": "unique", "NODE_KEY": "node_key"}[m["type"].(string)]
			if kind == "" {
				kind = strings.ToLower(m["type"].(string))
			}
			entry("constraint", m["labelsOrTypes"].([]any), m["properties"].([]any), kind)
		}
		backing := `uniqueness = 'NONUNIQUE'` // 4.x: an index backing a constraint is UNIQUE
		if major >= 5 {
			backing = `owningConstraint IS NULL`
		}
		for _, r := range Exec(t, d, `SHOW INDEXES YIELD type, labelsOrTypes, properties, `+strings.Fields(backing)[0]+`
			WHERE type <> 'LOOKUP' AND `+backing+` RETURN type, labelsOrTypes, properties`, nil) {
			m := r.AsMap()
			if typ := m["type"].(string); typ == "FULLTEXT" {
				out = append(out, fmt.Sprintf("index fulltext %s(%s)", join(m["labelsOrTypes"].([]any)), join(m["properties"].([]any))))
				continue
			}
			entry("index", m["labelsOrTypes"].([]any), m["properties"].([]any), "")
		}
	}
	sort.Strings(out)
	return out
}

// constraint35 reads a Neo4j 3.5 constraint description, such as
// "CONSTRAINT ON ( user:User ) ASSERT user.key IS UNIQUE" or
// "CONSTRAINT ON ( user:User ) ASSERT (user.a, user.b) IS NODE KEY".
var constraint35 = regexp.MustCompile(`^CONSTRAINT ON \( *\w+:(\w+) *\) ASSERT \(?([\w., ]+?)\)? IS (UNIQUE|NODE KEY)$`)

func parseConstraint35(desc string) (label, props, kind string, ok bool) {
	m := constraint35.FindStringSubmatch(strings.TrimSpace(desc))
	if m == nil {
		return "", "", "", false
	}
	var ps []string
	for _, p := range strings.Split(m[2], ",") {
		p = strings.TrimSpace(p)
		if _, after, found := strings.Cut(p, "."); found {
			p = after
		}
		ps = append(ps, p)
	}
	kind = "unique"
	if m[3] == "NODE KEY" {
		kind = "node_key"
	}
	return m[1], strings.Join(ps, ","), kind, true
}

func join(xs []any) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// UniqueConstraint returns the statement that creates a uniqueness
// constraint on label(prop) on the server's version, in databuilder's
// words where databuilder has any (3.5 and 4.x).
func UniqueConstraint(t testing.TB, d neo4j.DriverWithContext, label, prop string) string {
	t.Helper()
	if major, _ := Version(t, d); major < 5 {
		return fmt.Sprintf("CREATE CONSTRAINT ON (node:%s) ASSERT node.%s IS UNIQUE", quote(label), quote(prop))
	}
	return fmt.Sprintf("CREATE CONSTRAINT FOR (node:%s) REQUIRE node.%s IS UNIQUE", quote(label), quote(prop))
}

// PlainIndex returns the statement that creates a plain (not unique) index
// on label(prop) on the server's version.
func PlainIndex(t testing.TB, d neo4j.DriverWithContext, label, prop string) string {
	t.Helper()
	if major, _ := Version(t, d); major < 4 {
		return fmt.Sprintf("CREATE INDEX ON :%s(%s)", quote(label), quote(prop))
	}
	return fmt.Sprintf("CREATE INDEX FOR (n:%s) ON (n.%s)", quote(label), quote(prop))
}

// CanListTransactions reports whether the server lists its transactions:
// from 4.4 on (SHOW TRANSACTIONS); 3.5 Community has no way to.
func CanListTransactions(t testing.TB, d neo4j.DriverWithContext) bool {
	t.Helper()
	major, minor := Version(t, d)
	return major > 4 || major == 4 && minor >= 4
}

// Transactions counts the server's open transactions whose query contains
// query and whose status starts with status ("" for any). Only where
// CanListTransactions.
func Transactions(t testing.TB, d neo4j.DriverWithContext, query, status string) int {
	t.Helper()
	recs := Exec(t, d, `SHOW TRANSACTIONS YIELD currentQuery, status WHERE currentQuery CONTAINS $q AND status STARTS WITH $s RETURN count(*) AS n`,
		map[string]any{"q": query, "s": status})
	n, _, _ := neo4j.GetRecordValue[int64](recs[0], "n")
	return int(n)
}

// dropSchema drops every constraint, then every index but the built-in
// token lookup ones.
func dropSchema(ctx context.Context, d neo4j.DriverWithContext) error {
	major, _, err := version(ctx, d)
	if err != nil {
		return err
	}
	if major < 4 {
		// 3.5 has no names for these: DROP takes the description.
		constraints, err := names(ctx, d, "CALL db.constraints() YIELD description RETURN description AS name")
		if err != nil {
			return fmt.Errorf("listing constraints: %w", err)
		}
		for _, c := range constraints {
			if err := run(ctx, d, "DROP "+c, nil); err != nil {
				return fmt.Errorf("dropping %s: %w", c, err)
			}
		}
		res, err := neo4j.ExecuteQuery(ctx, d, `CALL db.indexes() YIELD description, indexName, type
			RETURN description, indexName, type`, nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
		if err != nil {
			return fmt.Errorf("listing indexes: %w", err)
		}
		for _, r := range res.Records {
			m := r.AsMap()
			stmt, params := "DROP "+m["description"].(string), map[string]any(nil)
			if strings.Contains(m["type"].(string), "fulltext") {
				stmt, params = "CALL db.index.fulltext.drop($name)", map[string]any{"name": m["indexName"]}
			}
			if err := run(ctx, d, stmt, params); err != nil {
				return fmt.Errorf("dropping index %s: %w", m["description"], err)
			}
		}
		return nil
	}
	// Constraints first: a constraint owns its backing index, which cannot be
	// dropped on its own.
	constraints, err := names(ctx, d, "SHOW CONSTRAINTS YIELD name RETURN name")
	if err != nil {
		return fmt.Errorf("listing constraints: %w", err)
	}
	for _, name := range constraints {
		if err := run(ctx, d, "DROP CONSTRAINT "+quote(name)+" IF EXISTS", nil); err != nil {
			return fmt.Errorf("dropping constraint %s: %w", name, err)
		}
	}
	indexes, err := names(ctx, d, "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name")
	if err != nil {
		return fmt.Errorf("listing indexes: %w", err)
	}
	for _, name := range indexes {
		if err := run(ctx, d, "DROP INDEX "+quote(name)+" IF EXISTS", nil); err != nil {
			return fmt.Errorf("dropping index %s: %w", name, err)
		}
	}
	return nil
}

// CypherType names the Cypher type of a value the driver returned, in the
// words of valueType() (a Neo4j 5 function), on every version.
func CypherType(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN NOT NULL"
	case int64:
		return "INTEGER NOT NULL"
	case float64:
		return "FLOAT NOT NULL"
	case string:
		return "STRING NOT NULL"
	case []any:
		return "LIST NOT NULL"
	}
	return fmt.Sprintf("%T", v)
}
