package neo4j

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/publisher"
)

// AllDocuments reads every user's document, a page of batch users at a
// time, each page in its own short read transaction: no transaction stays
// open while fn writes the page elsewhere.
func (p *Publisher) AllDocuments(ctx context.Context, batch int, fn func([]publisher.Document) error) (int64, error) {
	if batch < 1 {
		return 0, fmt.Errorf("read search documents: batch must be positive, got %d", batch)
	}
	var began int64
	if err := p.read(ctx, func(tx runner) error {
		rec, err := single(ctx, tx, cypherClock, nil)
		if err == nil {
			began, _, _ = neo4j.GetRecordValue[int64](rec, "now")
		}
		return err
	}); err != nil {
		return 0, fmt.Errorf("read the server's clock: %w", err)
	}
	return began, p.allDocuments(ctx, batch, fn)
}

func (p *Publisher) allDocuments(ctx context.Context, batch int, fn func([]publisher.Document) error) error {
	after := ""
	for {
		var docs []publisher.Document
		var last string
		var n int64
		err := p.read(ctx, func(tx runner) error {
			rec, err := single(ctx, tx, p.q(cypherSearchPageEnd), map[string]any{"after": after, "limit": batch})
			if err != nil {
				return err
			}
			n, _, _ = neo4j.GetRecordValue[int64](rec, "n")
			last, _, _ = neo4j.GetRecordValue[string](rec, "last")
			if n == 0 {
				return nil
			}
			recs, err := collect(ctx, tx, p.q(cypherSearchPage), map[string]any{"after": after, "last": last})
			docs = documents(recs)
			return err
		})
		if err != nil {
			return fmt.Errorf("read search documents after %q: %w", after, err)
		}
		if n == 0 {
			return nil
		}
		if len(docs) > 0 {
			if err := fn(docs); err != nil {
				return err
			}
		}
		if n < int64(batch) {
			return nil
		}
		after = last
	}
}

// ChangedSince lists the users written since a time (ms, the server's
// clock).
func (p *Publisher) ChangedSince(ctx context.Context, since int64, limit int) ([]string, error) {
	var keys []string
	err := p.read(ctx, func(tx runner) error {
		recs, err := collect(ctx, tx, cypherChangedSince, map[string]any{"since": since, "limit": limit})
		for _, r := range recs {
			if k, ok := r.AsMap()["key"].(string); ok {
				keys = append(keys, k)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read users changed since %d: %w", since, err)
	}
	return keys, nil
}

// Documents reads the documents of the users with these keys or source
// ids, and of their direct reports.
func (p *Publisher) Documents(ctx context.Context, keys, sourceIDs []string) ([]publisher.Document, error) {
	if len(keys) == 0 && len(sourceIDs) == 0 {
		return nil, nil
	}
	var docs []publisher.Document
	err := p.read(ctx, func(tx runner) error {
		recs, err := collect(ctx, tx, p.q(cypherSearchUsers), map[string]any{"keys": anyStrings(keys), "ids": anyStrings(sourceIDs)})
		docs = documents(recs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read search documents: %w", err)
	}
	return docs, nil
}

// read runs work in one read transaction, bounded by the timeout.
func (p *Publisher) read(ctx context.Context, work func(runner) error) error {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	d, err := p.tx.server(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	sess := p.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: d.database, AccessMode: neo4j.AccessModeRead})
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = sess.Close(cctx)
	}()
	_, err = sess.ExecuteRead(ctx, func(tx neo4j.ManagedTransaction) (any, error) { return nil, work(tx) }, p.tx.txTimeout())
	return timedOut(err, p.tx.timeout, time.Since(began))
}

// documentFields are the document's fields read as they are, in
// databuilder's order; a null is left out, as databuilder's
// to_dict(skip_empty=True) leaves out None.
func documentFields() []string {
	return []string{"key", "first_name", "last_name", "name", "github_username", "team_name",
		"employee_type", "manager_email", "slack_id", "role_name"}
}

// documents turns records of searchTail into documents.
func documents(recs []*neo4j.Record) []publisher.Document {
	docs := make([]publisher.Document, 0, len(recs))
	fields := documentFields()
	for _, rec := range recs {
		m := rec.AsMap()
		f := make(map[string]any, len(fields)+3)
		for _, name := range fields {
			if v := m[name]; v != nil {
				f[name] = v
			}
		}
		active := toBoolean(m["is_active"])
		if active != nil {
			f["is_active"] = *active
		}
		f["usage"] = map[string]any{
			"total_read":   nonZero(times(m["reads"], m["readFactor"])),
			"total_own":    nonZero(m["owns"]),
			"total_follow": nonZero(m["follows"]),
		}
		f["resource_type"] = "user"
		key, _ := m["k"].(string)
		id, _ := m["id"].(string)
		if id == "" {
			id = key
		}
		// A user without is_active counts as active, as everywhere in the
		// sink (databuilder indexes it too).
		docs = append(docs, publisher.Document{ID: id, Key: key, Active: active == nil || *active, Fields: f})
	}
	return docs
}

// toBoolean is Cypher's toBoolean as databuilder applies it to is_active:
// a Boolean as it is, a string "true" or "false" in any case, else null.
func toBoolean(v any) *bool {
	var b bool
	switch x := v.(type) {
	case bool:
		b = x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			b = true
		case "false":
		default:
			return nil
		}
	case int64:
		b = x != 0
	default:
		return nil
	}
	return &b
}

// times multiplies a sum (Integer or Float) by an Integer factor.
func times(v, factor any) any {
	f, _ := factor.(int64)
	switch x := v.(type) {
	case int64:
		return x * f
	case float64:
		return x * float64(f)
	}
	return v
}

// nonZero is databuilder's CASE … WHEN 0 THEN null: zero becomes null.
func nonZero(v any) any {
	switch x := v.(type) {
	case int64:
		if x == 0 {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	}
	return v
}
