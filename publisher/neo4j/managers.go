package neo4j

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// PublishManagers makes each user's MANAGE_BY/MANAGE pair match its row, in
// one transaction. It reads the current pairs first and writes only the rows
// that differ: stale pairs are removed, then the current pair is ensured, so
// every user ends with at most one manager. Managers named by
// Okta id are resolved through the okta_id index.
func (p *Publisher) PublishManagers(ctx context.Context, run publisher.Run, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var stats publisher.ManagerStats
	if len(rows) == 0 {
		return stats, nil
	}
	wanted := 0
	for _, r := range rows {
		if r.Manager.Kind != loader.ManagerNone {
			wanted++
		}
	}
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		keys, err := p.resolveOktaIDs(ctx, tx, rows)
		if err != nil {
			return nil, err
		}
		all := make([]any, 0, len(rows))
		for _, r := range rows {
			var manager any
			switch r.Manager.Kind {
			case loader.ManagerBySourceID:
				if k, ok := keys[r.Manager.Value]; ok {
					manager = k
				}
			case loader.ManagerByKey:
				manager = r.Manager.Value
			}
			all = append(all, map[string]any{"key": r.UserKey, "id": r.UserID, "manager": manager})
		}
		// Read first: only the rows whose pair differs are written.
		recs, err := collect(ctx, tx, p.q(cypherReadManagers), map[string]any{"rows": all})
		if err != nil {
			return nil, err
		}
		var s publisher.ManagerStats
		changed := make([]any, 0, len(recs))
		changedLinks := make([]any, 0, len(recs))
		for _, rec := range recs {
			m := rec.AsMap()
			row, _ := m["row"].(map[string]any)
			by, _ := m["by"].([]any)
			mirror, _ := m["mirror"].([]any)
			want, _ := row["manager"].(string)
			exists, _ := m["exists"].(bool)
			if want != "" && !exists {
				want = "" // the manager is not in the graph: no pair, and any old one goes
				row = map[string]any{"key": row["key"], "id": row["id"], "manager": nil}
			}
			if want != "" && len(by) == 1 && len(mirror) == 1 && by[0] == want && mirror[0] == want {
				s.Kept++
				continue
			}
			if want == "" && len(by) == 0 && len(mirror) == 0 {
				continue
			}
			changed = append(changed, row)
			if want != "" {
				changedLinks = append(changedLinks, row)
			}
		}
		var unlinked, linked []string
		if len(changed) > 0 {
			recs, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherUnlinkStale), map[string]any{"rows": changed})
			if err != nil {
				return nil, err
			}
			rec := recs[0]
			s.Unlinked = intValue(rec, "removed")
			unlinked = stringList(rec, "examples")
			if _, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherUnlinkStaleMirror), map[string]any{"rows": changed}); err != nil {
				return nil, err
			}
		}
		if len(changedLinks) > 0 {
			// Edges carry run metadata only.
			recs, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherLink), map[string]any{"rows": changedLinks, "tag": run.Tag})
			if err != nil {
				return nil, err
			}
			rec := recs[0]
			s.Linked = intValue(rec, "linked")
			s.Kept += intValue(rec, "kept")
			linked = stringList(rec, "examples")
		}
		return managersResult{s, unlinked, linked}, nil
	})
	if err != nil {
		return stats, fmt.Errorf("write manager edges for %d users: %w", len(rows), err)
	}
	res := out.(managersResult)
	p.example("managers unlinked", res.unlinked...)
	p.example("managers linked", res.linked...)
	stats = res.stats
	stats.Missing = wanted - stats.Linked - stats.Kept
	return stats, nil
}

type managersResult struct {
	stats            publisher.ManagerStats
	unlinked, linked []string
}

// resolveOktaIDs maps the Okta manager ids of rows to their users' keys.
func (p *Publisher) resolveOktaIDs(ctx context.Context, tx runner, rows []loader.ManagerRow) (map[string]string, error) {
	ids := make([]any, 0)
	seen := make(map[string]bool)
	for _, r := range rows {
		if r.Manager.Kind == loader.ManagerBySourceID && !seen[r.Manager.Value] {
			seen[r.Manager.Value] = true
			ids = append(ids, r.Manager.Value)
		}
	}
	keys := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return keys, nil
	}
	recs, err := collect(ctx, tx, p.q(cypherResolveOktaIDs), map[string]any{"ids": ids})
	if err != nil {
		return nil, fmt.Errorf("resolve %d manager ids: %w", len(ids), err)
	}
	for _, rec := range recs {
		id, _, _ := neo4j.GetRecordValue[string](rec, "id")
		key, _, _ := neo4j.GetRecordValue[string](rec, "key")
		if _, dup := keys[id]; !dup && key != "" {
			keys[id] = key
		}
	}
	return keys, nil
}
