package neo4j

import (
	"context"
	"slices"

	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

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

// RunForTest begins a run of p with tag and marker, without the server's
// clock, spooling to the system temp dir, one batch per LinkManagers
// transaction.
func RunForTest(p *Publisher, tag string, marker int64) publisher.Run {
	return publisher.Run{Tag: tag, Marker: marker, ID: p.beginPairs(publisher.RunOptions{BatchSize: 10000})}
}

// LinkBatchForTest decides the pairs of rows in one transaction (split on
// memory), as LinkManagers does for each batch it reads back.
func LinkBatchForTest(ctx context.Context, p *Publisher, run publisher.Run, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	return p.linkBatch(ctx, run, rows)
}

// PairsForTest lists the keys of the rows the run's PublishNodes calls have
// left pending for LinkManagers, and of those they settled (linked at
// creation, or found in order), in the order each spool got them.
func PairsForTest(p *Publisher, run publisher.Run) (pending, settled []string, err error) {
	r, err := p.pairsOf(run)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	all := slices.Clone(r.all)
	r.mu.Unlock()
	keys := func(to *[]string) func([]loader.ManagerRow) error {
		return func(rows []loader.ManagerRow) error {
			for _, m := range rows {
				*to = append(*to, m.UserKey)
			}
			return nil
		}
	}
	for _, s := range all {
		if err := s.pending.Batches(1000, keys(&pending)); err != nil {
			return nil, nil, err
		}
		if err := s.inOrder.Batches(1000, keys(&settled)); err != nil {
			return nil, nil, err
		}
	}
	return pending, settled, nil
}
