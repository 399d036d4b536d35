package neo4j

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// PublishNodes makes the graph hold rows, in one transaction. It reads the
// batch's users first (by key, and by okta_id for renames), decides in Go
// with the loader's rules what differs, and writes only that: new users,
// changed properties and renames. Unchanged users cost a read and no
// write (a newer record that changes no property writes its version
// only, and counts as unchanged). It halves the
// batch when the server runs out of transaction memory (which the driver
// would otherwise retry unchanged).
func (p *Publisher) PublishNodes(ctx context.Context, run publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	if len(rows) == 0 {
		return publisher.NodeStats{}, nil
	}
	write := func(ctx context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
		return p.publishNodes(ctx, run, rows)
	}
	if p.tx.inDryRun() {
		return write(ctx, rows) // one shared transaction: a failed statement ends it
	}
	return splitOnMemory(ctx, p.log, rows, write)
}

func (p *Publisher) publishNodes(ctx context.Context, run publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	out, err := p.tx.write(ctx, func(tx runner) (any, error) { return p.upsertTx(ctx, tx, run, rows) })
	if err != nil {
		return publisher.NodeStats{}, fmt.Errorf("upsert %d users: %w", len(rows), err)
	}
	res := out.(upsertResult)
	for kind, keys := range res.examples {
		p.example(kind, keys...)
	}
	return res.stats, p.settle(run, rows, res)
}

// upsertResult is what one transaction of PublishNodes did.
type upsertResult struct {
	stats    publisher.NodeStats
	examples map[string][]string
	// The keys of the users it linked to their manager as it created them,
	// and of those whose pair it found in order (see managers.go).
	linked, inOrder map[string]bool
}

func (r *upsertResult) add(key string, o outcome, linked string) {
	r.stats.Add(o.stats)
	if linked != "" {
		r.linked[key] = true
		o.example("managers linked", key+" -> "+linked)
	} else if o.managerInOrder {
		r.inOrder[key] = true
	}
	for _, ex := range o.examples {
		if len(r.examples[ex[0]]) < publisherExamples {
			r.examples[ex[0]] = append(r.examples[ex[0]], ex[1])
		}
	}
}

// outcome is what one row did: counted once its write has held.
type outcome struct {
	stats    publisher.NodeStats
	examples [][2]string // kind, example
	// managerInOrder: the node the row leaves at its key already has the
	// manager pair the row states: settled (managers.go).
	managerInOrder bool
}

func (o *outcome) example(kind, key string) { o.examples = append(o.examples, [2]string{kind, key}) }

// publisherExamples is how many examples of each kind a batch reports.
const publisherExamples = 5

// held is what the graph holds for a key or a source id: the node's
// properties and, when read by key, its manager pair.
type held struct {
	key    string
	props  map[string]any
	byKeys []string // keys of its MANAGE_BY targets
	byIDs  []string // their okta_id ("" if none)
	mirror []string // keys of the users with a MANAGE edge to it
	pairs  bool     // the pair was read
}

// managerInOrder reports whether the node has exactly the pair ref states:
// one MANAGE_BY to the manager, mirrored by one MANAGE from it, or neither.
func (h *held) managerInOrder(ref extractor.ManagerRef) bool {
	if !h.pairs {
		return false
	}
	switch ref.Kind {
	case extractor.ManagerNone:
		return len(h.byKeys) == 0 && len(h.mirror) == 0
	case extractor.ManagerByOktaID:
		return len(h.byKeys) == 1 && h.byIDs[0] == ref.Value && len(h.mirror) == 1 && h.mirror[0] == h.byKeys[0]
	case extractor.ManagerByKey:
		return len(h.byKeys) == 1 && h.byKeys[0] == ref.Value && len(h.mirror) == 1 && h.mirror[0] == ref.Value
	}
	return false
}

// touchedBy reports whether the run (or a later one) had already written
// the node when it was read: the same user in another batch of the run,
// written concurrently, may link a manager after this read, so the pair
// this read showed cannot be trusted to be the one left in the end. Such
// rows go through the manager pass, which decides on the final node. A run
// without a marker (0) cannot tell.
func (h *held) touchedBy(run publisher.Run) bool {
	at, _ := h.props["publisher_last_updated_epoch_ms"].(int64)
	return run.Marker > 0 && at >= run.Marker
}

func (h *held) claim() loader.Claim {
	id, _ := h.props[loader.OktaIDProperty].(string)
	active, ok := h.props["is_active"].(bool)
	if !ok {
		active = true // a stub without is_active counts as active, as Amundsen shows it
	}
	return loader.Claim{SourceID: id, Active: active, Version: h.version()}
}

// version is the node's version (versionProperty), or, on a node written
// before versions were recorded, its updated_at in ms.
func (h *held) version() int64 {
	if v, ok := h.props[versionProperty].(int64); ok {
		return v
	}
	at, _ := h.props["updated_at"].(int64)
	return at * 1000
}

// plan is what one upsert round writes.
type plan struct {
	create, update []any // {key, props}
	renames        []any // {from, to, email}
	refresh        []any // keys of unchanged nodes whose run metadata is refreshed (run_metadata: all)
	// link holds, by the kind of reference, the created users that name a
	// manager: {key, manager}. They are linked in the same transaction
	// when the manager is in the graph (cypherLinkCreated).
	link map[extractor.ManagerKind][]any
}

func (p *Publisher) upsertTx(ctx context.Context, tx runner, run publisher.Run, rows []loader.NodeRow) (upsertResult, error) {
	res := upsertResult{examples: map[string][]string{}, linked: map[string]bool{}, inOrder: map[string]bool{}}
	pending := rows
	// A row is decided on what the read showed; a concurrent batch of the
	// same run may create its key in between, so rows whose guard fails
	// are read and decided again (a few rounds settle any race).
	for round := 0; len(pending) > 0; round++ {
		if round == 4 {
			return res, fmt.Errorf("%d users changed concurrently in every round", len(pending))
		}
		byKey, byID, err := p.readBatch(ctx, tx, pending)
		if err != nil {
			return res, err
		}
		pl, outcomes := p.decide(run, pending, byKey, byID)
		raced, linked, err := p.apply(ctx, tx, run, pl, &res.stats.Writes)
		if err != nil {
			return res, err
		}
		again := make(map[string]bool, len(raced))
		for _, k := range raced {
			again[k] = true
		}
		next := pending[:0:0]
		for _, r := range pending {
			if again[r.Key] {
				next = append(next, r) // decided again on what is there now
			} else {
				res.add(r.Key, outcomes[r.Key], linked[r.Key])
			}
		}
		pending = next
	}
	return res, nil
}

// readBatch reads the nodes holding the rows' keys and, for renames, the
// nodes holding their source ids under another key. It only reads.
func (p *Publisher) readBatch(ctx context.Context, tx runner, rows []loader.NodeRow) (map[string]*held, map[string]*held, error) {
	keys := make([]any, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	recs, err := collect(ctx, tx, p.q(cypherReadByKey), map[string]any{"keys": keys})
	if err != nil {
		return nil, nil, err
	}
	byKey := make(map[string]*held, len(recs))
	for _, rec := range recs {
		h := heldOf(rec)
		byKey[h.key] = h
	}
	// Only a row whose key another user (or nobody) holds may be a rename:
	// in the common case, every user already at its key, this read is empty.
	ids := make([]any, 0)
	for _, r := range rows {
		if h := byKey[r.Key]; r.Claim.SourceID != "" && (h == nil || h.claim().SourceID != r.Claim.SourceID) {
			ids = append(ids, r.Claim.SourceID)
		}
	}
	byID := make(map[string]*held)
	if len(ids) == 0 {
		return byKey, byID, nil
	}
	recs, err = collect(ctx, tx, p.q(cypherReadByID), map[string]any{"ids": ids})
	if err != nil {
		return nil, nil, err
	}
	for _, rec := range recs {
		h := heldOf(rec)
		id := h.claim().SourceID
		if prev, dup := byID[id]; !dup || h.key < prev.key {
			byID[id] = h // several nodes for one id (old data): the first key, deterministically
		}
	}
	return byKey, byID, nil
}

func heldOf(rec *neo4j.Record) *held {
	key, _, _ := neo4j.GetRecordValue[string](rec, "key")
	props, _, _ := neo4j.GetRecordValue[map[string]any](rec, "props")
	h := &held{key: key, props: props}
	rawBy, found := rec.Get("by")
	if !found {
		return h // read by okta_id, without the pair
	}
	by, _ := rawBy.([]any)
	rawMirror, _ := rec.Get("mirror")
	mirror, _ := rawMirror.([]any)
	h.pairs = true
	for _, b := range by {
		pair, _ := b.([]any)
		if len(pair) != 2 {
			h.pairs = false
			continue
		}
		k, _ := pair[0].(string)
		id, _ := pair[1].(string)
		h.byKeys, h.byIDs = append(h.byKeys, k), append(h.byIDs, id)
	}
	for _, m := range mirror {
		k, _ := m.(string)
		h.mirror = append(h.mirror, k)
	}
	return h
}

// decide compares each row with what the graph holds and plans the writes.
// The rules are the loader's: loader.Wins between two source users on one
// key, loader.Supersedes between two records of one user.
func (p *Publisher) decide(run publisher.Run, rows []loader.NodeRow, byKey, byID map[string]*held) (plan, map[string]outcome) {
	var pl plan
	outcomes := make(map[string]outcome, len(rows))
	for _, r := range rows {
		var res outcome
		p.decideRow(run, r, byKey[r.Key], byID[r.Claim.SourceID], &pl, &res)
		outcomes[r.Key] = res
	}
	return pl, outcomes
}

func (p *Publisher) decideRow(run publisher.Run, r loader.NodeRow, holder, old *held, pl *plan, res *outcome) {
	if holder != nil && holder.claim().SourceID == r.Claim.SourceID {
		old = nil // the user is at its key already
	}
	// Rename: the source user is in the graph under another key (the
	// email changed): the node moves to the new key, relationships stay.
	if old != nil && old.key != r.Key && !loader.Supersedes(r.Claim, old.claim()) {
		// The user's node is under another key with a newer record (a
		// hook renamed it after this row was read, or a later record of
		// the user in this run did): this older key is no longer theirs,
		// and no second node is made for them.
		res.stats.Unchanged++
		return
	}
	if old != nil && old.key != r.Key {
		if holder != nil {
			res.stats.Conflicts++
			res.example("conflicts", fmt.Sprintf("%s -> %s (key taken)", old.key, r.Key))
			return
		}
		res.stats.Renamed++
		res.example("renamed", old.key+" -> "+r.Key)
		pl.renames = append(pl.renames, map[string]any{"from": old.key, "to": r.Key, "email": r.Map()["email"],
			"id": r.Claim.SourceID, "at": r.Claim.Version})
		moved := *old
		moved.props = maps.Clone(old.props)
		moved.props["email"] = r.Map()["email"]
		holder = &moved
	}
	props := r.Map()
	switch {
	case holder == nil:
		res.stats.Created++
		res.example("created", r.Key)
		pl.create = append(pl.create, map[string]any{"key": r.Key, "props": props, "at": r.Claim.Version})
		res.managerInOrder = r.Manager.Kind == extractor.ManagerNone // a new node has no edges
		if !res.managerInOrder {
			if pl.link == nil {
				pl.link = map[extractor.ManagerKind][]any{}
			}
			pl.link[r.Manager.Kind] = append(pl.link[r.Manager.Kind], map[string]any{"key": r.Key, "manager": r.Manager.Value})
		}
		return
	case holder.claim().SourceID != "" && holder.claim().SourceID != r.Claim.SourceID && !loader.Wins(r.Claim, holder.claim()):
		res.stats.Conflicts++
		res.example("conflicts", fmt.Sprintf("%s (okta %s loses to %s)", r.Key, r.Claim.SourceID, holder.claim().SourceID))
		return
	case holder.claim().SourceID == r.Claim.SourceID && !loader.Supersedes(r.Claim, holder.claim()),
		!differs(props, holder.props) && !newerVersion(r.Claim, holder):
		res.stats.Unchanged++
		res.managerInOrder = holder.managerInOrder(r.Manager) && !holder.touchedBy(run)
		if p.cfg.RunMetadata == RunMetadataAll {
			pl.refresh = append(pl.refresh, r.Key)
		}
		return
	}
	if differs(props, holder.props) {
		res.stats.Updated++
		res.example("updated", r.Key)
	} else {
		// A newer record that changes nothing Amundsen shows: only its
		// version is written, and no user property changed.
		res.stats.Unchanged++
	}
	// An updated user's pair is always left to the manager pass: the
	// read took no lock, so another batch holding an older record of the
	// user may link its manager before this update commits, and the pair
	// read here would no longer be the one left.
	res.managerInOrder = false
	was, hasWas := holder.props["is_active"].(bool)
	switch {
	case hasWas && !was && r.Claim.Active:
		res.stats.Reactivated++
		res.example("reactivated", r.Key)
	case (!hasWas || was) && !r.Claim.Active:
		res.stats.Deactivated++
		res.example("deactivated", r.Key)
	}
	heldID, _ := holder.props[loader.OktaIDProperty].(string)
	if heldID != "" && heldID != r.Claim.SourceID {
		res.stats.TakenOver++
		res.example("taken over", fmt.Sprintf("%s (okta %s -> %s)", r.Key, heldID, r.Claim.SourceID))
	}
	pl.update = append(pl.update, map[string]any{"key": r.Key, "props": changed(props, holder.props), "holder": heldID,
		"id": r.Claim.SourceID, "at": r.Claim.Version})
}

// newerVersion reports whether the row is a newer record of the node's user
// than the one the node records, although no property differs (a change
// within the same second to something oktasync does not map): the version
// is written, so that a record read in between is refused. A node written
// before versions were recorded gets one with its next change.
func newerVersion(c loader.Claim, h *held) bool {
	v, ok := h.props[versionProperty].(int64)
	return ok && c.Version != v && c.SourceID == h.claim().SourceID
}

// differs reports whether any property of the row differs from the node's
// (properties the row does not set are left alone).
func differs(row, node map[string]any) bool {
	for k, v := range row {
		if !sameValue(v, node[k]) {
			return true
		}
	}
	return false
}

// changed returns the properties of the row that differ from the node's:
// an update writes only those.
func changed(row, node map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		if !sameValue(v, node[k]) {
			out[k] = v
		}
	}
	return out
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// apply runs the planned writes and returns the keys whose guard failed
// (another batch wrote them after the read), and the created users it
// linked to their manager (key -> manager reference), counting the writes
// into w.
func (p *Publisher) apply(ctx context.Context, tx runner, run publisher.Run, pl plan, w *publisher.Writes) ([]string, map[string]string, error) {
	meta := map[string]any{"tag": run.Tag}
	if len(pl.renames) > 0 {
		// Two properties of run metadata per renamed node.
		renamed := func([]*neo4j.Record) int { return 2 * len(pl.renames) }
		if _, err := counted(ctx, tx, w, renamed, p.q(cypherRenameKeys), with(meta, "rows", pl.renames)); err != nil {
			return nil, nil, err
		}
	}
	var raced []string
	// A created or updated node gets three properties of run metadata:
	// published_tag, publisher_last_updated_epoch_ms and the version.
	written := func(rows int) func([]*neo4j.Record) int {
		return func(recs []*neo4j.Record) int { return 3 * (rows - len(recs)) }
	}
	if len(pl.create) > 0 {
		recs, err := counted(ctx, tx, w, written(len(pl.create)), p.q(cypherCreateNodes), with(meta, "rows", pl.create))
		if err != nil {
			return nil, nil, err
		}
		for _, rec := range recs {
			k, _, _ := neo4j.GetRecordValue[string](rec, "raced")
			raced = append(raced, k)
		}
	}
	if len(pl.update) > 0 {
		recs, err := counted(ctx, tx, w, written(len(pl.update)), p.q(cypherUpdateNodes), with(meta, "rows", pl.update))
		if err != nil {
			return nil, nil, err
		}
		for _, rec := range recs {
			k, _, _ := neo4j.GetRecordValue[string](rec, "raced")
			raced = append(raced, k)
		}
	}
	// After the updates: a takeover in this batch may move the okta_id a
	// manager reference names.
	linked, err := p.linkCreated(ctx, tx, run, pl.link, raced, w)
	if err != nil {
		return nil, nil, err
	}
	if len(pl.refresh) > 0 {
		if _, err := counted(ctx, tx, w, allMeta, p.q(cypherRefreshKeys), with(meta, "keys", pl.refresh)); err != nil {
			return nil, nil, err
		}
	}
	return raced, linked, nil
}

// linkCreated links the users this transaction created (rows: by kind,
// {key, manager}; raced ones were not created) to their manager, where the
// manager is in the graph as exactly one node (cypherLinkCreated). It
// returns the users linked, with their manager reference.
func (p *Publisher) linkCreated(ctx context.Context, tx runner, run publisher.Run, rows map[extractor.ManagerKind][]any, raced []string, w *publisher.Writes) (map[string]string, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	skip := make(map[string]bool, len(raced))
	for _, k := range raced {
		skip[k] = true
	}
	linked := map[string]string{}
	for _, kind := range []extractor.ManagerKind{extractor.ManagerByOktaID, extractor.ManagerByKey} {
		send := make([]any, 0, len(rows[kind]))
		for _, r := range rows[kind] {
			if !skip[r.(map[string]any)["key"].(string)] {
				send = append(send, r)
			}
		}
		if len(send) == 0 {
			continue
		}
		// In the order of their manager: CREATE
		// locks the manager until commit, and two writers that take the
		// same managers' locks in the same order cannot deadlock on them.
		slices.SortStableFunc(send, func(a, b any) int {
			return strings.Compare(a.(map[string]any)["manager"].(string), b.(map[string]any)["manager"].(string))
		})
		stmt := cypherLinkCreatedByID
		if kind == extractor.ManagerByKey {
			stmt = cypherLinkCreatedByKey
		}
		recs, err := counted(ctx, tx, w, allMeta, p.q(stmt), map[string]any{"rows": send, "tag": run.Tag})
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			k, _, _ := neo4j.GetRecordValue[string](rec, "linked")
			m, _, _ := neo4j.GetRecordValue[string](rec, "manager")
			linked[k] = m
		}
	}
	return linked, nil
}

func with(m map[string]any, k string, v any) map[string]any {
	out := maps.Clone(m)
	out[k] = v
	return out
}
