package neo4j

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/publisher"
)

// MarkSeen records that the source returned these users although the run
// wrote nothing for them (skipped users), so reconciliation leaves them.
func (p *Publisher) MarkSeen(ctx context.Context, run publisher.Run, oktaIDs []string) error {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	if len(oktaIDs) == 0 {
		return nil
	}
	_, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return single(ctx, tx, p.q(cypherMarkSeen), map[string]any{"ids": anyStrings(oktaIDs), "run": run.Marker})
	})
	if err != nil {
		return fmt.Errorf("mark %d skipped users seen: %w", len(oktaIDs), err)
	}
	return nil
}

// Stale reports the active managed users this run has not seen. Only
// meaningful after a complete read.
func (p *Publisher) Stale(ctx context.Context, run publisher.Run, read publisher.Read) (publisher.StaleReport, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return single(ctx, tx, cypherStale, map[string]any{"run": run.Marker, "from": read.From})
	})
	if err != nil {
		return publisher.StaleReport{}, fmt.Errorf("count unseen users: %w", err)
	}
	rec := out.(*neo4j.Record)
	r := publisher.StaleReport{Managed: intValue(rec, "managed"), Stale: intValue(rec, "stale")}
	r.Examples = stringList(rec, "examples")
	return r, nil
}

// Deactivate sets is_active = false on every active managed user this run
// has not seen, batch at a time. Nothing is deleted.
func (p *Publisher) Deactivate(ctx context.Context, run publisher.Run, read publisher.Read, batch int) (int, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	total := 0
	for {
		out, err := p.tx.write(ctx, func(tx runner) (any, error) {
			rec, err := single(ctx, tx, cypherDeactivateStale, map[string]any{"run": run.Marker, "from": read.From, "limit": max(batch, 1), "tag": run.Tag})
			if err != nil {
				return nil, err
			}
			return intValue(rec, "n"), nil
		})
		if err != nil {
			return total, fmt.Errorf("deactivate unseen users: %w", err)
		}
		n := out.(int)
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// DeactivateIDs sets is_active = false on the users Okta answered 404 for,
// unless their node records a newer version. Nothing is deleted.
func (p *Publisher) DeactivateIDs(ctx context.Context, run publisher.Run, gone []publisher.Gone) (int, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	if len(gone) == 0 {
		return 0, nil
	}
	rows := make([]any, len(gone))
	for i, g := range gone {
		rows[i] = map[string]any{"id": g.SourceID, "at": g.At}
	}
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, p.q(cypherDeactivateIDs), map[string]any{"rows": rows, "tag": run.Tag})
		if err != nil {
			return nil, err
		}
		return intValue(rec, "n"), nil
	})
	if err != nil {
		return 0, fmt.Errorf("deactivate %d deleted users: %w", len(gone), err)
	}
	return out.(int), nil
}
