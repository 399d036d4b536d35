package neo4j

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/publisher"
)

// LoadState reads the sync state of org; a zero State if there is none.
func (p *Publisher) LoadState(ctx context.Context, org string) (publisher.State, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	st := publisher.State{Org: org}
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return collect(ctx, tx, cypherLoadState, map[string]any{"org": org})
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
	return st, nil
}

// Orgs lists the Okta orgs this graph holds sync state for.
func (p *Publisher) Orgs(ctx context.Context) ([]string, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return collect(ctx, tx, cypherOrgs, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("read sync state: %w", err)
	}
	var orgs []string
	for _, rec := range out.([]*neo4j.Record) {
		if org, _, _ := neo4j.GetRecordValue[string](rec, "org"); org != "" {
			orgs = append(orgs, org)
		}
	}
	return orgs, nil
}

// SaveState writes the sync state of st.Org: zero times leave the stored
// value, and the watermark never moves back.
func (p *Publisher) SaveState(ctx context.Context, st publisher.State) error {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	_, err := p.tx.write(ctx, func(tx runner) (any, error) {
		return tx.Run(ctx, cypherSaveState, map[string]any{
			"org": st.Org, "watermark": formatTime(st.Watermark),
			"full": formatTime(st.LastFullSync), "incr": formatTime(st.LastIncremental),
		})
	})
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
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
