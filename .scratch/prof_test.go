package scratch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

func TestProf(t *testing.T) {
	ctx := context.Background()
	d, _ := neo4j.NewDriverWithContext("bolt://127.0.0.1:7741", neo4j.NoAuth())
	defer d.Close(ctx)
	res, err := neo4j.ExecuteQuery(ctx, d, `MATCH (u:User) RETURN u.key AS k, u.okta_id AS id`, nil, neo4j.EagerResultTransformer)
	if err != nil {
		t.Fatal(err)
	}
	var keys []any
	var rows []any
	for _, r := range res.Records {
		k, _ := r.Get("k")
		id, _ := r.Get("id")
		keys = append(keys, k)
		rows = append(rows, map[string]any{"key": k, "id": id, "manager": nil})
	}
	stmts := map[string]string{
		"readByKey": `UNWIND $keys AS k MATCH (u:User {key: k}) USING INDEX SEEK u:User(key) RETURN u.key AS key, properties(u) AS props`,
		"readKeyOnly": `UNWIND $keys AS k MATCH (u:User {key: k}) USING INDEX SEEK u:User(key) RETURN u.key AS key, u.okta_id, u.is_active, u.updated_at`,
		"seen": `UNWIND $keys AS k MATCH (u:User {key: k}) USING INDEX SEEK u:User(key) WITH u WHERE coalesce(u.oktasync_seen_epoch_ms, 0) < $run SET u.oktasync_seen_epoch_ms = $run`,
		"readManagers": `UNWIND $rows AS row
MATCH (u:User {key: row.key}) USING INDEX SEEK u:User(key)
WHERE u.okta_id = row.id
OPTIONAL MATCH (u)-[:MANAGE_BY]->(m:User)
WITH row, u, collect(m.key) AS by
OPTIONAL MATCH (x:User)-[:MANAGE]->(u)
WITH row, by, collect(x.key) AS mirror
OPTIONAL MATCH (w:User {key: row.manager}) 
RETURN row, by, mirror, w IS NOT NULL AS exists`,
	}
	for _, name := range []string{"readByKey", "readKeyOnly", "seen", "readManagers", "readByKey", "seen"} {
		start := time.Now()
		run := time.Now().UnixMilli()
		for i := 0; i < len(keys); i += 2000 {
			j := min(i+2000, len(keys))
			s := d.NewSession(ctx, neo4j.SessionConfig{})
			_, err := s.ExecuteWrite(ctx, func(tx neo4j.ManagedTransaction) (any, error) {
				r, err := tx.Run(ctx, stmts[name], map[string]any{"keys": keys[i:j], "rows": rows[i:j], "run": run})
				if err != nil {
					return nil, err
				}
				return r.Collect(ctx)
			})
			s.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
		}
		fmt.Printf("%-14s %6.2f s for %d\n", name, time.Since(start).Seconds(), len(keys))
	}
}
