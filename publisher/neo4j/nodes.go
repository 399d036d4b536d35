package neo4j

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// PublishNodes upserts rows in one transaction: renames first, then the
// upsert. It halves the batch when the server runs out of transaction
// memory (which the driver would otherwise retry unchanged).
func (p *Publisher) PublishNodes(ctx context.Context, run publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	if len(rows) == 0 {
		return publisher.NodeStats{}, nil
	}
	out, err := p.tx.write(ctx, func(tx runner) (any, error) { return p.upsertTx(ctx, tx, run, rows) })
	if err != nil {
		if outOfMemory(err) && len(rows) > 1 && !p.tx.inDryRun() {
			p.log.Debug("splitting node batch after a memory error", zap.Int("rows", len(rows)))
			a, err := p.PublishNodes(ctx, run, rows[:len(rows)/2])
			if err != nil {
				return a, err
			}
			b, err := p.PublishNodes(ctx, run, rows[len(rows)/2:])
			a.Add(b)
			return a, err
		}
		return publisher.NodeStats{}, fmt.Errorf("upsert %d users: %w", len(rows), err)
	}
	res := out.(upsertResult)
	for kind, keys := range res.examples {
		p.example(kind, keys...)
	}
	return res.stats, nil
}

type upsertResult struct {
	stats    publisher.NodeStats
	examples map[string][]string
}

func (p *Publisher) upsertTx(ctx context.Context, tx runner, run publisher.Run, rows []loader.NodeRow) (upsertResult, error) {
	res := upsertResult{examples: map[string][]string{}}
	params := make([]any, len(rows))
	for i, r := range rows {
		params[i] = map[string]any{"key": r.Key, "props": r.Map()}
	}
	// Renames, and the rows whose new key another node holds.
	recs, err := collect(ctx, tx, p.q(cypherRename), map[string]any{"rows": params})
	if err != nil {
		return res, err
	}
	var blocked map[string]bool
	var seen []any
	for _, rec := range recs {
		m := rec.AsMap()
		id, _ := m["id"].(string)
		from, _ := m["from"].(string)
		to, _ := m["to"].(string)
		if conflict, _ := m["conflict"].(bool); conflict {
			if blocked == nil {
				blocked = map[string]bool{}
			}
			blocked[to] = true
			seen = append(seen, id)
			res.stats.Conflicts++
			res.examples["conflicts"] = append(res.examples["conflicts"], fmt.Sprintf("%s -> %s (key taken)", from, to))
			continue
		}
		res.stats.Renamed++
		res.examples["renamed"] = append(res.examples["renamed"], from+" -> "+to)
	}
	if len(blocked) > 0 {
		kept := params[:0:0]
		for i, r := range rows {
			if !blocked[r.Key] {
				kept = append(kept, params[i])
			}
		}
		params = kept
	}
	if len(seen) > 0 {
		if _, err := tx.Run(ctx, p.q(cypherMarkSeen), map[string]any{"ids": seen, "run": run.Marker}); err != nil {
			return res, err
		}
	}
	if len(params) == 0 {
		return res, nil
	}
	rec, err := single(ctx, tx, p.q(cypherUpsertNodes), map[string]any{"rows": params, "tag": run.Tag, "run": run.Marker})
	if err != nil {
		return res, err
	}
	res.stats.Created = intValue(rec, "created")
	res.stats.Updated = intValue(rec, "updated")
	res.stats.Unchanged = intValue(rec, "unchanged")
	res.stats.Reactivated = intValue(rec, "reactivated")
	res.stats.Deactivated = intValue(rec, "deactivated")
	res.stats.Conflicts += intValue(rec, "conflicts")
	for kind, field := range map[string]string{"created": "exCreated", "updated": "exUpdated", "reactivated": "exReactivated", "deactivated": "exDeactivated", "conflicts": "exConflicts"} {
		res.examples[kind] = append(res.examples[kind], stringList(rec, field)...)
	}
	return res, nil
}
