package neo4j

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/publisher"
)

// LoadState reads the sync state of org (by its id when known, else by its
// URL); a zero State if there is none.
func (p *Publisher) LoadState(ctx context.Context, org publisher.Org) (publisher.State, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	st := publisher.State{Org: org}
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return collect(ctx, tx, cypherLoadState, map[string]any{"id": orNull(org.ID), "url": org.URL})
	})
	if err != nil {
		return st, fmt.Errorf("load sync state: %w", err)
	}
	recs := out.([]*neo4j.Record)
	if len(recs) == 0 {
		return st, nil
	}
	m := recs[0].AsMap()
	st.Watermark = parseTime(m["watermark"])
	st.LastFullSync = parseTime(m["full"])
	st.LastIncremental = parseTime(m["incr"])
	st.ReconcileOwed = parseTime(m["owed"])
	return st, nil
}

// Orgs lists the Okta orgs this graph holds sync state for.
func (p *Publisher) Orgs(ctx context.Context) ([]publisher.Org, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return collect(ctx, tx, cypherOrgs, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("read sync state: %w", err)
	}
	var orgs []publisher.Org
	for _, rec := range out.([]*neo4j.Record) {
		url, _, _ := neo4j.GetRecordValue[string](rec, "org")
		id, _, _ := neo4j.GetRecordValue[string](rec, "id")
		if url != "" || id != "" {
			orgs = append(orgs, publisher.Org{ID: id, URL: url})
		}
	}
	return orgs, nil
}

// SaveState writes the sync state of st.Org: zero times leave the stored
// value, and the watermark never moves back.
func (p *Publisher) SaveState(ctx context.Context, st publisher.State) error {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	stmt := cypherSaveStateByURL
	if st.Org.ID != "" {
		stmt = cypherSaveStateByID
	}
	_, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return tx.Run(ctx, stmt, map[string]any{
			"id": st.Org.ID, "url": st.Org.URL, "watermark": formatTime(st.Watermark),
			"full": formatTime(st.LastFullSync), "incr": formatTime(st.LastIncremental),
			"reconciled": formatTime(st.Reconciled),
		})
	})
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

// OweReconciliation records, in every org's state, that a full
// reconciliation is owed since at.
func (p *Publisher) OweReconciliation(ctx context.Context, at time.Time) (int, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, cypherOweReconciliation, map[string]any{"at": formatTime(at)})
		if err != nil {
			return nil, err
		}
		return intValue(rec, "n"), nil
	})
	if err != nil {
		return 0, fmt.Errorf("record that a full reconciliation is owed: %w", err)
	}
	return out.(int), nil
}

// RehomeState replaces the state stored under from by st, stored under
// st.Org from then on.
func (p *Publisher) RehomeState(ctx context.Context, from publisher.Org, st publisher.State) error {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return collect(ctx, tx, cypherRehomeState, map[string]any{
			"fromID": orNull(from.ID), "fromURL": from.URL, "id": orNull(st.Org.ID), "url": st.Org.URL,
			"watermark": formatTime(st.Watermark), "full": formatTime(st.LastFullSync), "incr": formatTime(st.LastIncremental),
		})
	})
	if err != nil {
		return fmt.Errorf("re-home sync state from %s to %s: %w", from, st.Org, err)
	}
	recs := out.([]*neo4j.Record)
	if n, _, _ := neo4j.GetRecordValue[int64](recs[0], "n"); n == 0 {
		return fmt.Errorf("re-home sync state: no state is stored for %s", from)
	}
	return nil
}

// orNull is s, or nil (a Cypher null) for "".
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// State times are stored as RFC 3339 strings with milliseconds, the form
// Okta's filters take.
const stateTime = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(stateTime)
}

func parseTime(v any) time.Time {
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
