package neo4j

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

var _ publisher.StubMerger = (*Publisher)(nil)

// CaseVariantStubs reports the stubs MergeStubs would merge: nodes without
// okta_id whose key is a synced user's key but for case.
func (p *Publisher) CaseVariantStubs(ctx context.Context, run publisher.Run) (publisher.StubReport, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	out, err := p.tx.write(ctx, func(tx runner) (any, error) {
		stubs, err := single(ctx, tx, p.q(cypherStubCount), nil)
		if err != nil {
			return nil, err
		}
		r := publisher.StubReport{Stubs: intValue(stubs, "stubs"), Examples: stringList(stubs, "examples")}
		if r.Stubs == 0 {
			return r, nil // the synced count is only for the cap: no second scan
		}
		synced, err := single(ctx, tx, cypherSyncedCount, nil)
		if err != nil {
			return nil, err
		}
		r.Synced = intValue(synced, "synced")
		return r, nil
	})
	if err != nil {
		return publisher.StubReport{}, fmt.Errorf("count case-variant stubs: %w", err)
	}
	return out.(publisher.StubReport), nil
}

// MergeStubs merges every case-variant stub into its synced user, up to
// batch stubs per transaction (at most maxStubsPerTx): each relationship
// moves to the user, the stub properties the user lacks are copied (but
// notCopied), and the stub is deleted. A stub with a relationship type that
// cannot be written safely (see validRelType) is left as it is and counted.
func (p *Publisher) MergeStubs(ctx context.Context, run publisher.Run, batch, limit int) (publisher.MergeStats, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	var total publisher.MergeStats
	skip := []any{}
	for taken := 0; taken < limit; {
		n := min(max(batch, 1), maxStubsPerTx, limit-taken)
		out, err := p.tx.write(ctx, func(tx runner) (any, error) {
			return p.mergeStubsTx(ctx, tx, run, n, skip)
		})
		if err != nil {
			return total, fmt.Errorf("merge case-variant stubs: %w", err)
		}
		res := out.(stubMerge)
		total.Merged += res.stats.Merged
		p.moved(run, res.stats.Merged) // the stubs' manager edges are on their users now
		total.Relationships += res.stats.Relationships
		total.Left += len(res.left)
		total.Writes.Add(res.stats.Writes)
		for _, ex := range res.examples {
			p.example("merged", ex)
		}
		for _, l := range res.left {
			p.log.Debug("case-variant stub left unmerged: a relationship type cannot be written safely",
				zap.String("stub", l.key), zap.String("type", l.relType))
			skip = append(skip, l.id)
		}
		if res.taken == 0 {
			return total, nil
		}
		taken += res.taken
	}
	return total, nil
}

// maxStubsPerTx bounds a merge transaction: every relationship of its
// stubs is held in memory at once.
const maxStubsPerTx = 200

// validRelType reports whether a relationship type may be written into a
// statement (backtick-quoted; types cannot be parameters): it must match
// ^[A-Za-z_][A-Za-z0-9_]*$.
func validRelType(t string) bool {
	for i, c := range []byte(t) {
		letter := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return t != ""
}

// notCopied reports the stub properties never copied to the user: its key
// and email (the case variant), user_id (Amundsen would show it as the
// user's id), the run metadata (the merge writes its own) and oktasync's
// own.
func notCopied(prop string) bool {
	switch prop {
	case "key", "email", "user_id", loader.OktaIDProperty,
		"published_tag", "publisher_last_updated_epoch_ms", "publisher_created_epoch_ms":
		return true
	}
	return strings.HasPrefix(prop, "oktasync_") // the seen marker, the version
}

// stubPair is one stub and the synced user it belongs to.
type stubPair struct {
	stub, user       int64
	stubKey, userKey string
	stubProps        map[string]any
	userProps        map[string]any
}

// stubRel is one relationship of a stub, as read.
type stubRel struct {
	id, start, end int64
	relType        string
	props          map[string]any
}

// leftStub is a stub left unmerged.
type leftStub struct {
	id      int64
	key     string
	relType string
}

type stubMerge struct {
	taken    int // stubs the transaction took (merged or left)
	left     []leftStub
	examples []string
	stats    publisher.MergeStats
}

func (p *Publisher) mergeStubsTx(ctx context.Context, tx runner, run publisher.Run, limit int, skip []any) (stubMerge, error) {
	var res stubMerge
	recs, err := counted(ctx, tx, &res.stats.Writes, allMeta, p.q(cypherStubsNext), map[string]any{"limit": limit, "skip": skip})
	if err != nil {
		return res, err
	}
	res.taken = len(recs)
	if len(recs) == 0 {
		return res, nil
	}
	pairs := make([]stubPair, 0, len(recs))
	ids := make([]any, 0, len(recs))
	for _, rec := range recs {
		m := rec.AsMap()
		sp := stubPair{stub: m["stub"].(int64), user: m["user"].(int64), stubKey: m["stubKey"].(string), userKey: m["userKey"].(string)}
		sp.stubProps, _ = m["stubProps"].(map[string]any)
		sp.userProps, _ = m["userProps"].(map[string]any)
		pairs = append(pairs, sp)
		ids = append(ids, sp.stub)
	}
	recs, err = collect(ctx, tx, cypherStubRelationships, map[string]any{"stubs": ids})
	if err != nil {
		return res, err
	}
	rels := make([]stubRel, 0, len(recs))
	for _, rec := range recs {
		m := rec.AsMap()
		r := stubRel{id: m["rel"].(int64), start: m["start"].(int64), end: m["end"].(int64), relType: m["type"].(string)}
		r.props, _ = m["props"].(map[string]any)
		rels = append(rels, r)
	}
	plan := planStubMerge(pairs, rels)
	res.left = plan.left
	if len(plan.rows) > 0 {
		existing, err := collect(ctx, tx, cypherStubExisting, map[string]any{"rows": plan.readRows()})
		if err != nil {
			return res, err
		}
		for _, rec := range existing {
			id, _, _ := neo4j.GetRecordValue[int64](rec, "rel")
			props, _, _ := neo4j.GetRecordValue[map[string]any](rec, "props")
			plan.existing(id, props)
		}
	}
	for _, relType := range plan.types() {
		recs, err := counted(ctx, tx, &res.stats.Writes, noMeta, cypherStubMove(relType), map[string]any{"rows": plan.moveRows(relType)})
		if err != nil {
			return res, fmt.Errorf("move %s relationships: %w", relType, err)
		}
		res.stats.Relationships += intValue(recs[0], "moved")
	}
	if len(plan.merge) > 0 {
		meta := func([]*neo4j.Record) int { return 2 * len(plan.merge) } // published_tag, publisher_last_updated_epoch_ms
		recs, err := counted(ctx, tx, &res.stats.Writes, meta, cypherStubDelete, map[string]any{"rows": plan.deleteRows(), "tag": run.Tag})
		if err != nil {
			return res, fmt.Errorf("delete merged stubs: %w", err)
		}
		res.stats.Merged = intValue(recs[0], "merged")
	}
	for _, sp := range plan.merge {
		if len(res.examples) < publisherExamples {
			res.examples = append(res.examples, sp.stubKey+" -> "+sp.userKey)
		}
	}
	return res, nil
}

// noMeta says no property a statement set is run metadata.
func noMeta([]*neo4j.Record) int { return 0 }

// stubPlan is what one merge transaction writes, decided in Go.
type stubPlan struct {
	merge []stubPair
	left  []leftStub
	rows  []*moveRow
	// copyProps is, per merged stub, the properties its user lacks.
	copyProps map[int64]map[string]any
}

// moveRow is one stub relationship to move: its copy joins start and end,
// with a stub end replaced by its user (startUser, endUser; -1 keeps it).
type moveRow struct {
	rel                stubRel
	startUser, endUser int64
	from, to           int64          // the copy's ends
	first              bool           // the first row of its (from, type, to) in the batch
	existing           map[string]any // the union of the properties of the user's same relationships, nil if none
	sameAs             *moveRow       // the first row of the same (from, type, to)
}

// planStubMerge decides what a transaction writes for pairs and the
// relationships of their stubs, as read: a stub with a relationship type
// that fails validRelType is left (with the relationships of the others
// to it kept as they are: it is an ordinary node for them); each
// relationship is moved once (one between two stubs, or a loop, is read
// twice); and each merged stub's properties the user lacks are copied,
// the first stub (by key) winning when two stubs of one user disagree.
func planStubMerge(pairs []stubPair, rels []stubRel) *stubPlan {
	pl := &stubPlan{copyProps: map[int64]map[string]any{}}
	bad := map[int64]string{}
	isStub := map[int64]bool{}
	for _, sp := range pairs {
		isStub[sp.stub] = true
	}
	for _, r := range rels {
		if validRelType(r.relType) {
			continue
		}
		for _, end := range []int64{r.start, r.end} {
			if _, done := bad[end]; isStub[end] && !done {
				bad[end] = r.relType
			}
		}
	}
	userOf := map[int64]int64{}
	userProps := map[int64]map[string]any{} // as they will be, copies included
	for _, sp := range pairs {
		if t, ok := bad[sp.stub]; ok {
			pl.left = append(pl.left, leftStub{id: sp.stub, key: sp.stubKey, relType: t})
			continue
		}
		pl.merge = append(pl.merge, sp)
		userOf[sp.stub] = sp.user
		up, ok := userProps[sp.user]
		if !ok {
			up = map[string]any{}
			for k, v := range sp.userProps {
				up[k] = v
			}
			userProps[sp.user] = up
		}
		cp := map[string]any{}
		for _, k := range sortedKeys(sp.stubProps) {
			if _, has := up[k]; !has && !notCopied(k) {
				cp[k] = sp.stubProps[k]
				up[k] = sp.stubProps[k]
			}
		}
		pl.copyProps[sp.stub] = cp
	}
	seen := map[int64]bool{}
	firstOf := map[[3]any]*moveRow{}
	for _, r := range rels {
		_, s := userOf[r.start]
		_, e := userOf[r.end]
		if seen[r.id] || !s && !e {
			continue // read twice, or joins a stub left alone to a node that is not merged
		}
		seen[r.id] = true
		row := &moveRow{rel: r, startUser: -1, endUser: -1, from: r.start, to: r.end}
		if u, ok := userOf[r.start]; ok {
			row.startUser, row.from = u, u
		}
		if u, ok := userOf[r.end]; ok {
			row.endUser, row.to = u, u
		}
		k := [3]any{row.from, r.relType, row.to}
		if f, ok := firstOf[k]; ok {
			row.sameAs = f
		} else {
			firstOf[k] = row
			row.first = true
		}
		pl.rows = append(pl.rows, row)
	}
	return pl
}

// readRows are the rows of cypherStubExisting: the first of each
// (from, type, to).
func (pl *stubPlan) readRows() []any {
	out := make([]any, 0, len(pl.rows))
	for _, r := range pl.rows {
		if r.first {
			out = append(out, r.params())
		}
	}
	return out
}

// existing records the properties of a relationship the user already has
// like the one moved as rel.
func (pl *stubPlan) existing(rel int64, props map[string]any) {
	for _, r := range pl.rows {
		if r.rel.id != rel {
			continue
		}
		if r.existing == nil {
			r.existing = map[string]any{}
		}
		for k, v := range props {
			r.existing[k] = v
		}
	}
}

func (r *moveRow) params() map[string]any {
	m := map[string]any{"rel": r.rel.id, "type": r.rel.relType, "startUser": nil, "endUser": nil}
	if r.startUser >= 0 {
		m["startUser"] = r.startUser
	}
	if r.endUser >= 0 {
		m["endUser"] = r.endUser
	}
	return m
}

// types lists the relationship types to move, sorted.
func (pl *stubPlan) types() []string {
	var out []string
	for _, r := range pl.rows {
		if !slices.Contains(out, r.rel.relType) {
			out = append(out, r.rel.relType)
		}
	}
	slices.Sort(out)
	return out
}

// moveRows are the rows of cypherStubMove for one type, in read order:
// each sets only the properties that neither the user's relationship of
// the same type to the same node nor an earlier row of the batch holds.
func (pl *stubPlan) moveRows(relType string) []any {
	has := map[*moveRow]map[string]any{} // per first row: properties already there
	var out []any
	for _, r := range pl.rows {
		if r.rel.relType != relType {
			continue
		}
		first := r
		if r.sameAs != nil {
			first = r.sameAs
		}
		h, ok := has[first]
		if !ok {
			h = map[string]any{}
			for k, v := range first.existing {
				h[k] = v
			}
			has[first] = h
		}
		add := map[string]any{}
		for _, k := range sortedKeys(r.rel.props) {
			if _, there := h[k]; !there {
				add[k] = r.rel.props[k]
				h[k] = r.rel.props[k]
			}
		}
		m := r.params()
		delete(m, "type")
		m["props"] = add
		out = append(out, m)
	}
	return out
}

// deleteRows are the rows of cypherStubDelete.
func (pl *stubPlan) deleteRows() []any {
	out := make([]any, 0, len(pl.merge))
	for _, sp := range pl.merge {
		out = append(out, map[string]any{"stub": sp.stub, "user": sp.user, "props": pl.copyProps[sp.stub]})
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
