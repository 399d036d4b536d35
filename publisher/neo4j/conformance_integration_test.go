package neo4j_test

import (
	"context"
	"slices"
	"testing"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/neo4j"
	"github.com/oktasync/oktasync/publisher/publishertest"
)

func TestConformanceIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	publishertest.Run(t, publishertest.Target{
		Runs: true,
		New: func(t *testing.T) publisher.Publisher {
			neo4jtest.Reset(t, d)
			p, err := neo4j.New(config(neo4jtest.URI(t)), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close(context.Background()) })
			return p
		},
		Read: func(t *testing.T, _ publisher.Publisher) publishertest.Graph {
			g := publishertest.Graph{Nodes: map[string]map[string]any{}, Managers: map[string][]string{}}
			for _, rec := range neo4jtest.Exec(t, d, `MATCH (u:User) RETURN u`, nil) {
				n := rec.Values[0].(neo4jdriver.Node)
				g.Nodes[n.Props["key"].(string)] = publishertest.StripRunMetadata(n.Props)
			}
			for _, rec := range neo4jtest.Exec(t, d, `MATCH (u:User)-[:MANAGE_BY]->(m:User) RETURN u.key AS u, m.key AS m`, nil) {
				u, m := rec.Values[0].(string), rec.Values[1].(string)
				g.Managers[u] = append(g.Managers[u], m)
			}
			// Every MANAGE_BY is mirrored by one MANAGE, and nothing else.
			if n := neo4jtest.Exec(t, d, `MATCH (u:User)-[r]->(m:User) WHERE type(r) IN ['MANAGE_BY', 'MANAGE']
				WITH CASE type(r) WHEN 'MANAGE_BY' THEN [u.key, m.key] ELSE [m.key, u.key] END AS pair, type(r) AS kind
				WITH pair, collect(kind) AS kinds WHERE size(kinds) <> 2 OR kinds[0] = kinds[1]
				RETURN count(*) AS n`, nil)[0].Values[0].(int64); n != 0 {
				t.Errorf("%d manager pairs are not exactly one MANAGE_BY mirrored by one MANAGE", n)
			}
			for _, ms := range g.Managers {
				slices.Sort(ms)
			}
			return g
		},
	})
}
