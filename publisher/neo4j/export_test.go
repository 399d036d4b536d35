package neo4j

import "context"

// DeleteStubsForTest runs the merge's last statement alone on the stub with
// key and the synced user of its lowercased key: the stub's relationships
// are not moved first.
func DeleteStubsForTest(ctx context.Context, p *Publisher, key string) error {
	_, err := p.tx.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, `MATCH (s:User {key: $key}), (u:User {key: toLower($key)}) RETURN id(s) AS s, id(u) AS u`, map[string]any{"key": key})
		if err != nil {
			return nil, err
		}
		row := map[string]any{"stub": rec.AsMap()["s"], "user": rec.AsMap()["u"], "props": map[string]any{}}
		return collect(ctx, tx, cypherStubDelete, map[string]any{"rows": []any{row}, "tag": "test"})
	})
	return err
}

// SetReconcilePageForTest sets how many managed users one read of
// reconciliation's join takes.
func SetReconcilePageForTest(p *Publisher, n int) { p.page = n }
