package neo4j

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// This file is the one room for manager pairs: who is a user's manager in
// the graph, and why. A user's pair follows its node row's Manager, by one
// rule: the node at the user's key, if it holds the user's source id and
// no newer record, ends with exactly one MANAGE_BY to the manager named
// (resolved by okta_id, or by key), mirrored by one MANAGE, and no other
// pair; no pair if the manager is not in the graph. Where it is decided:
//
//   - PublishNodes reads each node's pair with the node (readBatch): a
//     pair already as the row states is in order, and needs no write. A
//     created user whose manager is in the graph is linked in the same
//     transaction (linkCreated). Both are settled.
//   - Every other row waits in the run's pending spool: LinkManagers
//     decides it once every node of the run exists (linkBatch). A user
//     with no pair at all yet is linked by a guarded write, without a read
//     (linkNew; on a race the batch rolls back to the read); the others
//     are read under their user's lock, and only what differs is written.
//     (Reading every row instead cost a 1M first sync 1.14x its wall time:
//     BENCHMARKS.md, "Issue 21, continued".)
//   - A rename, a takeover or a stub merge later in the run may move the
//     key or source id a settled pair was judged by: then LinkManagers
//     decides the settled rows again too.

// runPairs is one begun run's manager rows that PublishNodes did not settle
// (pending), and those it settled (inOrder), kept in case a later move
// makes that judgement stale. Each PublishNodes call takes a pair of spools
// of its own, so that no lock is held while a spool is written: a run has
// as many as it had concurrent writers.
type runPairs struct {
	opts publisher.RunOptions

	mu      sync.Mutex // guards the fields below; never held across I/O
	free    []*spools
	all     []*spools
	moved   int                    // renames, takeovers and stub merges written
	settled publisher.ManagerStats // pairs PublishNodes linked at creation or found in order
	ended   bool
}

type spools struct{ pending, inOrder *loader.Spool }

func (s *spools) close() error { return errors.Join(s.pending.Close(), s.inOrder.Close()) }

// take hands out spools no other call is writing.
func (r *runPairs) take() (*spools, error) {
	r.mu.Lock()
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free = r.free[:n-1]
		r.mu.Unlock()
		return s, nil
	}
	r.mu.Unlock()
	var s spools
	var err error
	if s.pending, err = loader.NewSpool(r.opts.SpoolDir); err != nil {
		return nil, err
	}
	if s.inOrder, err = loader.NewSpool(r.opts.SpoolDir); err != nil {
		return nil, errors.Join(err, s.pending.Close())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return nil, errors.Join(errRunEnded, s.close())
	}
	r.all = append(r.all, &s)
	return &s, nil
}

func (r *runPairs) put(s *spools) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.free = append(r.free, s)
}

var errRunEnded = errors.New("the run has ended")

// beginPairs registers a run's pairs under a new run id.
func (p *Publisher) beginPairs(opts publisher.RunOptions) uint64 {
	opts.BatchSize = max(opts.BatchSize, 1)
	opts.Writers = max(opts.Writers, 1)
	p.runMu.Lock()
	defer p.runMu.Unlock()
	p.lastRun++
	p.runs[p.lastRun] = &runPairs{opts: opts}
	return p.lastRun
}

func (p *Publisher) pairsOf(run publisher.Run) (*runPairs, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	r, ok := p.runs[run.ID]
	if !ok {
		return nil, fmt.Errorf("run %d was not begun by this publisher, or has ended", run.ID)
	}
	return r, nil
}

// EndRun removes the run's spools. Every other call of the run has
// returned.
func (p *Publisher) EndRun(run publisher.Run) error {
	p.runMu.Lock()
	r, ok := p.runs[run.ID]
	delete(p.runs, run.ID)
	p.runMu.Unlock()
	if !ok {
		return nil
	}
	r.mu.Lock()
	r.ended = true
	all := r.all
	r.all, r.free = nil, nil
	r.mu.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// settle records what a committed PublishNodes transaction left of rows'
// pairs: linked at creation (linked) or found in order (inOrder), both
// settled, and every other row pending for LinkManagers; moved counts its
// renames and takeovers.
func (p *Publisher) settle(run publisher.Run, rows []loader.NodeRow, res upsertResult) error {
	r, err := p.pairsOf(run)
	if err != nil {
		return err
	}
	s, err := r.take()
	if err != nil {
		return err
	}
	defer r.put(s)
	var settled publisher.ManagerStats
	for _, row := range rows {
		m := row.ManagerRow()
		to := s.pending
		switch {
		case res.linked[row.Key]:
			settled.Linked++
			to = s.inOrder
		case res.inOrder[row.Key]:
			if m.Manager.Kind != extractor.ManagerNone {
				settled.Kept++
			}
			to = s.inOrder
		}
		if err := to.Add(m); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settled.Add(settled)
	r.moved += res.stats.Renamed + res.stats.TakenOver
	return nil
}

// moved records nodes that a stub merge moved edges onto.
func (p *Publisher) moved(run publisher.Run, n int) {
	if n == 0 {
		return
	}
	if r, err := p.pairsOf(run); err == nil {
		r.mu.Lock()
		r.moved += n
		r.mu.Unlock()
	}
}

// LinkManagers decides the pairs PublishNodes left pending, batch by
// batch on up to the run's writers, and, if a rename, a takeover or a stub
// merge moved a key or source id in the run, the pairs it settled too. It
// returns what became of every pair of the run.
func (p *Publisher) LinkManagers(ctx context.Context, run publisher.Run) (publisher.ManagerStats, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	r, err := p.pairsOf(run)
	if err != nil {
		return publisher.ManagerStats{}, err
	}
	r.mu.Lock()
	st, moved, all := r.settled, r.moved, slices.Clone(r.all)
	r.mu.Unlock()
	pending, inOrder := make([]*loader.Spool, len(all)), make([]*loader.Spool, len(all))
	for i, s := range all {
		pending[i], inOrder[i] = s.pending, s.inOrder
	}
	got, err := p.linkSpools(ctx, run, r.opts, pending)
	st.Add(got)
	if err != nil || moved == 0 {
		return st, err
	}
	// A manager's key or source id moved in this run: a pair settled
	// before may now name the wrong node. The rows still in order cost a
	// read; they were counted once already.
	p.log.Debug("renames, takeovers or stub merges in this run: deciding the settled manager pairs again", zap.Int("moved", moved))
	got, err = p.linkSpools(ctx, run, r.opts, inOrder)
	got.Kept = 0
	st.Add(got)
	return st, err
}

// linkSpools runs linkBatch over the spools' rows, batch at a time, on up
// to opts.Writers transactions at once (one in a dry run).
func (p *Publisher) linkSpools(ctx context.Context, run publisher.Run, opts publisher.RunOptions, from []*loader.Spool) (publisher.ManagerStats, error) {
	var (
		mu sync.Mutex
		st publisher.ManagerStats
	)
	w, wctx := errgroup.WithContext(ctx)
	w.SetLimit(min(opts.Writers, p.Capabilities().MaxWriters))
	var err error
	for _, s := range from {
		err = s.Batches(opts.BatchSize, func(rows []loader.ManagerRow) error {
			if wctx.Err() != nil {
				return wctx.Err()
			}
			rows = slices.Clone(rows) // the spool reuses its batch
			w.Go(func() error {
				got, err := p.linkBatch(wctx, run, rows)
				p.log.Debug("decided manager pairs", zap.Int("rows", len(rows)), zap.Int("linked", got.Linked),
					zap.Int("unlinked", got.Unlinked), zap.Error(err))
				mu.Lock()
				defer mu.Unlock()
				st.Add(got)
				return err
			})
			return nil
		})
		if err != nil {
			break
		}
	}
	if werr := w.Wait(); werr != nil {
		return st, werr
	}
	return st, err
}

// linkBatch makes each user's MANAGE_BY/MANAGE pair match its row, in
// one transaction. Users with no pair at all yet (a first sync) are linked
// straight away, by a guarded write (linkNew); for the others it reads
// the current pairs first, under each user's lock (cypherReadManagers),
// and writes only the rows that differ: stale pairs are removed, then the
// current pair is ensured, so every user ends with at most one manager.
// Managers named by Okta id are resolved through the okta_id index. Like
// PublishNodes, it splits a batch the server has no transaction memory for.
func (p *Publisher) linkBatch(ctx context.Context, run publisher.Run, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	write := func(ctx context.Context, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
		return p.publishManagers(ctx, run, rows)
	}
	if p.tx.inDryRun() {
		return write(ctx, rows)
	}
	return splitOnMemory(ctx, p.log, rows, write)
}

func (p *Publisher) publishManagers(ctx context.Context, run publisher.Run, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var stats publisher.ManagerStats
	if len(rows) == 0 {
		return stats, nil
	}
	wanted := 0
	for _, r := range rows {
		if r.Manager.Kind != extractor.ManagerNone {
			wanted++
		}
	}
	rest, dropped := newestPerUser(rows)
	// In the order of their keys: the read locks each user, and two
	// writers that take the same users' locks in one order do not
	// deadlock on those. The link then locks managers, in any order: a
	// deadlock that happens there is transient, and the batch retried.
	rest = slices.Clone(rest)
	slices.SortStableFunc(rest, func(a, b loader.ManagerRow) int { return strings.Compare(a.UserKey, b.UserKey) })
	// Users without any pair yet are linked without a read (see
	// cypherLinkNewByID); the others, and any whose guard failed, are read
	// and decided below. If linking met a conflict (see errLinkRaced), the
	// transaction is rolled back and the batch decided on the read alone.
	// A dry run's one transaction cannot roll back: it always reads.
	withoutRead := !p.tx.inDryRun()
	work := func(tx runner) (any, error) {
		var s publisher.ManagerStats
		rest, linked := rest, []string(nil)
		if withoutRead {
			lr, ex, err := p.linkNew(ctx, tx, run, rest)
			if err != nil || len(lr.Left) == 0 {
				return managersResult{stats: lr.Stats, linked: ex}, err
			}
			s.Add(lr.Stats)
			rest, linked = lr.Left, ex
		}
		keys, err := p.resolveOktaIDs(ctx, tx, rest)
		if err != nil {
			return nil, err
		}
		all := make([]any, 0, len(rest))
		for _, r := range rest {
			var manager any
			switch r.Manager.Kind {
			case extractor.ManagerByOktaID:
				if k, ok := keys[r.Manager.Value]; ok {
					manager = k
				}
			case extractor.ManagerByKey:
				manager = r.Manager.Value
			}
			all = append(all, map[string]any{"key": r.UserKey, "id": r.UserID, "manager": manager, "at": r.Version})
		}
		// Read first: only the rows whose pair differs are written.
		recs, err := collect(ctx, tx, p.q(cypherReadManagers), map[string]any{"rows": all})
		if err != nil {
			return nil, err
		}
		// Rows with an edge to anyone but the wanted manager (either
		// direction) are unlinked; rows whose wanted pair is incomplete
		// are linked. What the read showed in order needs no write.
		unlink := make([]any, 0)
		link := make([]any, 0)
		for _, rec := range recs {
			m := rec.AsMap()
			row, _ := m["row"].(map[string]any)
			by, _ := m["by"].([]any)
			mirror, _ := m["mirror"].([]any)
			want, _ := row["manager"].(string)
			exists, _ := m["exists"].(bool)
			// The node holds a newer record of the user (a hook wrote it
			// after this row was read): its pair stands, as its node does.
			rowAt, _ := row["at"].(int64)
			if heldAt, ok := m["at"].(int64); ok && rowAt > 0 && !loader.Supersedes(loader.Claim{Version: rowAt}, loader.Claim{Version: heldAt}) {
				if want != "" {
					s.Kept++ // counted among the wanted pairs, so Missing stays exact
				}
				continue
			}
			if want != "" && !exists {
				want = "" // the manager is not in the graph: no pair, and any old one goes
				row = map[string]any{"key": row["key"], "id": row["id"], "manager": nil}
			}
			if others(by, want) || others(mirror, want) {
				unlink = append(unlink, row)
			}
			switch {
			case want == "":
			case contains(by, want) && contains(mirror, want):
				s.Kept++
			default:
				link = append(link, row)
				if len(linked) < publisherExamples {
					linked = append(linked, fmt.Sprintf("%v -> %s", row["key"], want))
				}
			}
		}
		var unlinked []string
		if len(unlink) > 0 {
			recs, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherUnlinkStale), map[string]any{"rows": unlink})
			if err != nil {
				return nil, err
			}
			s.Unlinked = intValue(recs[0], "removed")
			unlinked = stringList(recs[0], "examples")
			if _, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherUnlinkStaleMirror), map[string]any{"rows": unlink}); err != nil {
				return nil, err
			}
		}
		if len(link) > 0 {
			// Edges carry run metadata only.
			recs, err := counted(ctx, tx, &s.Writes, allMeta, p.q(cypherLink), map[string]any{"rows": link, "tag": run.Tag})
			if err != nil {
				return nil, err
			}
			s.Linked += intValue(recs[0], "linked") // rows whose user or manager went meanwhile link nothing
		}
		return managersResult{stats: s, unlinked: unlinked, linked: linked}, nil
	}
	out, err := p.tx.write(ctx, work)
	if errors.Is(err, errLinkRaced) {
		p.log.Debug("linking managers without a read met a conflict; deciding the batch on the read", zap.Int("rows", len(rows)))
		withoutRead = false
		out, err = p.tx.write(ctx, work)
	}
	if err != nil {
		return stats, fmt.Errorf("write manager edges for %d users: %w", len(rows), err)
	}
	res := out.(managersResult)
	p.example("managers unlinked", res.unlinked...)
	p.example("managers linked", res.linked...)
	stats = res.stats
	stats.Kept += dropped // their user's newer row in the batch decided the pair
	stats.Missing = wanted - stats.Linked - stats.Kept
	return stats, nil
}

// errLinkRaced means a row linked without a read found its user with
// another pair or a newer record after the MERGE (another writer, or two
// rows of one user naming different managers): the transaction must be
// rolled back (see cypherLinkNewByID).
var errLinkRaced = errors.New("linking managers without a read met a conflict")

// linkNew links, without reading them first, the rows that name a manager
// and whose user has no pair at all yet (the statements' guards check
// that), and returns the rows it linked and left, with examples. Rows are
// sent in the order of their manager, which makes two batches linking to
// the same managers less likely to lock them in opposite orders; a
// deadlock that still happens is transient, and the transaction retried.
func (p *Publisher) linkNew(ctx context.Context, tx runner, run publisher.Run, rows []loader.ManagerRow) (linkResult, []string, error) {
	res := linkResult{Left: slices.Clip(rows)}
	order := make([]int, 0, len(rows))
	for i, r := range rows {
		if r.Manager.Kind != extractor.ManagerNone {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return res, nil, nil
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(rows[a].Manager.Value, rows[b].Manager.Value) })
	byKind := map[extractor.ManagerKind][]any{}
	for _, i := range order {
		r := rows[i]
		byKind[r.Manager.Kind] = append(byKind[r.Manager.Kind],
			map[string]any{"i": int64(i), "key": r.UserKey, "id": r.UserID, "at": r.Version, "manager": r.Manager.Value})
	}
	done := make([]bool, len(rows))
	linked := false
	createdBefore := res.Stats.Writes.RelationshipsCreated
	for _, kind := range []extractor.ManagerKind{extractor.ManagerByOktaID, extractor.ManagerByKey} {
		if len(byKind[kind]) == 0 {
			continue
		}
		stmt := cypherLinkNewByID
		if kind == extractor.ManagerByKey {
			stmt = cypherLinkNewByKey
		}
		recs, err := counted(ctx, tx, &res.Stats.Writes, allMeta, p.q(stmt), map[string]any{"rows": byKind[kind], "tag": run.Tag})
		if err != nil {
			return res, nil, err
		}
		for _, rec := range recs {
			if ok, _, _ := neo4j.GetRecordValue[bool](rec, "ok"); !ok {
				return res, nil, errLinkRaced
			}
			i, _, _ := neo4j.GetRecordValue[int64](rec, "linked")
			if i >= 0 && int(i) < len(rows) {
				done[i], linked = true, true
			}
		}
	}
	if !linked {
		return res, nil, nil
	}
	// A row is done when its pair is in place; another writer (an
	// overlapping run) may have made it between the guards and the MERGE,
	// which then created nothing: those pairs count as kept, so that
	// overlapping runs never count one pair twice. A pair is two
	// relationships (the guards saw neither).
	created := (res.Stats.Writes.RelationshipsCreated - createdBefore) / 2
	var examples []string
	res.Left = make([]loader.ManagerRow, 0, len(rows))
	for i, r := range rows {
		if !done[i] {
			res.Left = append(res.Left, r)
			continue
		}
		if res.Stats.Linked < created {
			res.Stats.Linked++
		} else {
			res.Stats.Kept++
		}
		res.Linked = append(res.Linked, r)
		if len(examples) < publisherExamples {
			examples = append(examples, fmt.Sprintf("%s -> %s", r.UserKey, r.Manager.Value))
		}
	}
	return res, examples, nil
}

type managersResult struct {
	stats            publisher.ManagerStats
	unlinked, linked []string
}

// linkResult is what linkNew did: the rows it linked and those it left.
type linkResult struct {
	Linked, Left []loader.ManagerRow
	Stats        publisher.ManagerStats // Linked (pairs created), Kept (made meanwhile by another writer) and Writes only
}

// newestPerUser keeps one row per user and key: the newest record's (the
// later row on a tie). A batch read back from the spools may hold two rows
// of one user, read twice in the run; the older one's pair is the newer
// one's to decide. Rows of two users on one key both stay: the read
// decides only the row of the user who holds the key. It returns the rows
// kept, and how many rows naming a manager it dropped.
func newestPerUser(rows []loader.ManagerRow) ([]loader.ManagerRow, int) {
	type user struct{ key, id string }
	at := make(map[user]int, len(rows))
	for i, r := range rows {
		u := user{r.UserKey, r.UserID}
		if j, ok := at[u]; !ok || r.Version >= rows[j].Version {
			at[u] = i
		}
	}
	if len(at) == len(rows) {
		return rows, 0
	}
	kept, dropped := make([]loader.ManagerRow, 0, len(at)), 0
	for i, r := range rows {
		switch {
		case at[user{r.UserKey, r.UserID}] == i:
			kept = append(kept, r)
		case r.Manager.Kind != extractor.ManagerNone:
			dropped++
		}
	}
	return kept, dropped
}

// others reports whether keys hold any key but want.
func others(keys []any, want string) bool {
	for _, k := range keys {
		if k != want {
			return true
		}
	}
	return false
}

func contains(keys []any, want string) bool {
	for _, k := range keys {
		if k == want {
			return true
		}
	}
	return false
}

// resolveOktaIDs maps the Okta manager ids of rows to their users' keys.
func (p *Publisher) resolveOktaIDs(ctx context.Context, tx runner, rows []loader.ManagerRow) (map[string]string, error) {
	ids := make([]any, 0)
	seen := make(map[string]bool)
	for _, r := range rows {
		if r.Manager.Kind == extractor.ManagerByOktaID && !seen[r.Manager.Value] {
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
		if prev, dup := keys[id]; key != "" && (!dup || key < prev) {
			keys[id] = key // several nodes for one id (old data): the smallest key, as readBatch decides
		}
	}
	return keys, nil
}
