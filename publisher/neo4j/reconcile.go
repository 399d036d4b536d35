package neo4j

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/publisher"
)

// Reconciliation marks nothing while the run reads: the source ids the
// read returned are spooled on disk (read.Seen, sorted), and merge-joined,
// page by page, against the graph's managed users read in okta_id order.
// A run that changes nothing writes nothing, and a dry run only reads.

// reconcilePage is how many managed users one read of the join takes
// (Publisher.page; tests make it small).
const reconcilePage = 5000

// Stale reports the active managed users the complete read did not return.
// It only reads.
func (p *Publisher) Stale(ctx context.Context, run publisher.Run, read publisher.Read) (publisher.StaleReport, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	var r publisher.StaleReport
	err := p.unseen(ctx, read, func(managed int, stale []managedUser) error {
		r.Managed += managed
		r.Stale += len(stale)
		for _, u := range stale {
			if len(r.Examples) < 5 {
				r.Examples = append(r.Examples, u.key)
			}
		}
		return nil
	})
	if err != nil {
		return publisher.StaleReport{}, fmt.Errorf("count unseen users: %w", err)
	}
	return r, nil
}

// Deactivate sets is_active = false on every active managed user the
// complete read did not return, batch at a time. Nothing is deleted.
func (p *Publisher) Deactivate(ctx context.Context, run publisher.Run, read publisher.Read, batch int) (int, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	total := 0
	batch = max(batch, 1)
	err := p.unseen(ctx, read, func(_ int, stale []managedUser) error {
		// Nodes sharing an id (old data) come in a row: the id is sent
		// once, and deactivates all of them.
		var unique []any
		for i, u := range stale {
			if i == 0 || u.id != stale[i-1].id {
				unique = append(unique, u.id)
			}
		}
		for len(unique) > 0 {
			n := min(batch, len(unique))
			ids := unique[:n]
			unique = unique[n:]
			out, err := p.tx.write(ctx, func(tx runner) (any, error) {
				rec, err := single(ctx, tx, p.q(cypherDeactivateUnseen), map[string]any{"ids": ids, "from": read.From, "tag": run.Tag})
				if err != nil {
					return nil, err
				}
				return intValue(rec, "n"), nil
			})
			if err != nil {
				return err
			}
			total += out.(int)
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("deactivate unseen users: %w", err)
	}
	return total, nil
}

// managedUser is a managed user as the join reads it.
type managedUser struct {
	id, key string
	active  bool
	at      int64 // its version
}

// managedPageOf unpacks a cypherManagedPage record.
func managedPageOf(rec *neo4j.Record) []managedUser {
	users, _, _ := neo4j.GetRecordValue[[]any](rec, "users")
	page := make([]managedUser, 0, len(users))
	for _, x := range users {
		f, _ := x.([]any)
		if len(f) != 4 {
			continue
		}
		u := managedUser{}
		u.id, _ = f[0].(string)
		u.key, _ = f[1].(string)
		u.active, _ = f[2].(bool)
		u.at, _ = f[3].(int64)
		page = append(page, u)
	}
	return page
}

// unseen merge-joins the read's sorted source ids against the graph's
// managed users, in okta_id order, and calls fn once per page with the
// number of active managed users in it and those of them that are stale:
// not returned by the read, and recording no version at or after its
// start. Neo4j's order of the ids must be Go's byte order (Okta ids are
// ASCII): any id out of that order fails the join rather than misjudge a
// user.
func (p *Publisher) unseen(ctx context.Context, read publisher.Read, fn func(managed int, stale []managedUser) error) error {
	if read.Seen == nil {
		return fmt.Errorf("no seen ids: reconciliation needs the ids the read returned")
	}
	seen, err := read.Seen.Sorted()
	if err != nil {
		return err
	}
	next, more := seen.Next()
	after := ""
	for {
		out, err := p.tx.write(ctx, func(tx runner) (any, error) {
			return single(ctx, tx, p.q(cypherManagedPage), map[string]any{"after": after, "limit": p.page})
		})
		if err != nil {
			return err
		}
		page := managedPageOf(out.(*neo4j.Record))
		if len(page) == 0 {
			return seen.Err()
		}
		if len(page) == p.page {
			// Nodes sharing an okta_id (old data) may straddle the page's
			// end: the last id's nodes are read whole with the next page.
			last := page[len(page)-1].id
			keep := len(page)
			for keep > 0 && page[keep-1].id == last {
				keep--
			}
			if keep == 0 {
				return fmt.Errorf("%d or more nodes share okta_id %q: merge them, or raise the page", p.page, last)
			}
			page = page[:keep]
		}
		managed, stale := 0, []managedUser(nil)
		for _, u := range page {
			if u.id < after {
				return fmt.Errorf("the graph returned okta_id %q after %q: its string order is not the byte order the join needs", u.id, after)
			}
			after = u.id
			for more && next < u.id {
				next, more = seen.Next()
			}
			if !u.active {
				continue
			}
			managed++
			if (!more || next != u.id) && u.at < read.From {
				stale = append(stale, managedUser{id: u.id, key: u.key})
			}
		}
		if err := seen.Err(); err != nil {
			return err
		}
		if err := fn(managed, stale); err != nil {
			return err
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
