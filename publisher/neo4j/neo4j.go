// Package neo4j is the Neo4j sink: it makes Amundsen's graph match the rows
// the loader staged — the User.key constraint and okta_id index, UNWIND
// upserts of :User nodes that skip unchanged users, and the MANAGE_BY/MANAGE
// pass after all nodes. Every Cypher statement is in cypher.go and runs in a
// managed, retried transaction with parameters only.
package neo4j

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// Publisher writes users to one Neo4j database.
type Publisher struct {
	cfg    Config
	log    *zap.Logger
	driver neo4j.DriverWithContext

	autoTag  bool  // PublishedTag is the run's start time, renewed by BeginRun
	hinted   bool  // the schema exists: index hints are safe (see cypher.go)
	prepared bool  // Prepare succeeded; the schema need not be checked again
	run      int64 // run marker: server time at BeginRun, in ms
	dryRun   neo4j.SessionWithContext
	dryTx    neo4j.ExplicitTransaction
	exMu     sync.Mutex // examples is filled by concurrent writers
	examples map[string][]string
}

// MaxWriters is how many goroutines may publish at once: any number, but
// one in a dry run, whose statements share one transaction.
func (p *Publisher) MaxWriters() int {
	if p.cfg.DryRun {
		return 1
	}
	return 16
}

var _ publisher.Publisher = (*Publisher)(nil)

// New validates cfg (after defaults) and creates the driver. It does no
// network I/O; call Verify to check the server.
func New(cfg Config, log *zap.Logger) (*Publisher, error) {
	cfg.Defaults()
	autoTag := cfg.PublishedTag == ""
	if autoTag {
		cfg.PublishedTag = time.Now().UTC().Format(time.RFC3339)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	auth := neo4j.NoAuth()
	if cfg.Username != "" {
		auth = neo4j.BasicAuth(cfg.Username, cfg.Password, "")
	}
	d, err := neo4j.NewDriverWithContext(cfg.URI, auth, func(c *config.Config) {
		c.MaxConnectionPoolSize = 8
		c.SocketConnectTimeout = cfg.ConnectTimeout
		c.ConnectionAcquisitionTimeout = cfg.ConnectTimeout + 20*time.Second
		c.MaxTransactionRetryTime = cfg.MaxTransactionRetryTime
		c.TelemetryDisabled = true
	})
	if err != nil {
		return nil, fmt.Errorf("neo4j.uri %s: %w", redactURI(cfg.URI), err)
	}
	return &Publisher{
		cfg:      cfg,
		log:      log.With(zap.String("stage", "publisher"), zap.String("sink", "neo4j")),
		driver:   d,
		autoTag:  autoTag,
		examples: map[string][]string{},
	}, nil
}

// Verify checks that the server answers and accepts the credentials.
func (p *Publisher) Verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := p.driver.VerifyConnectivity(ctx); err != nil {
		return fmt.Errorf("neo4j %s unreachable: %w", redactURI(p.cfg.URI), err)
	}
	return nil
}

// Close rolls back a dry run's transaction and releases the driver. It is
// safe to call more than once.
func (p *Publisher) Close(ctx context.Context) error {
	var errs []error
	if p.dryTx != nil {
		errs = append(errs, p.dryTx.Rollback(ctx))
		p.dryTx = nil
	}
	if p.dryRun != nil {
		errs = append(errs, p.dryRun.Close(ctx))
		p.dryRun = nil
	}
	errs = append(errs, p.driver.Close(ctx))
	return errors.Join(errs...)
}

// runner is what both a managed transaction and a dry run's explicit
// transaction offer.
type runner interface {
	Run(ctx context.Context, cypher string, params map[string]any) (neo4j.ResultWithContext, error)
}

// BeginRun starts a run: it reads the server clock as the run marker and,
// for a dry run, opens the one transaction every statement of the run goes
// through and Close rolls back, so a dry run writes nothing.
func (p *Publisher) BeginRun(ctx context.Context) error {
	if p.cfg.DryRun && p.dryTx == nil {
		p.dryRun = p.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: p.cfg.Database, AccessMode: neo4j.AccessModeWrite})
		tx, err := p.dryRun.BeginTransaction(ctx)
		if err != nil {
			return fmt.Errorf("begin dry-run transaction: %w", err)
		}
		p.dryTx = tx
		if err := p.detectSchema(ctx); err != nil {
			return err
		}
	}
	now, err := p.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, cypherServerTime, nil)
		if err != nil {
			return nil, err
		}
		return intValue(rec, "now"), nil
	})
	if err != nil {
		return fmt.Errorf("read server time: %w", err)
	}
	p.run = int64(now.(int))
	if p.autoTag {
		p.cfg.PublishedTag = time.UnixMilli(p.run).UTC().Format(time.RFC3339)
	}
	return nil
}

// write runs work in a managed, retried write transaction, or in the dry
// run's transaction.
func (p *Publisher) write(ctx context.Context, work func(runner) (any, error)) (any, error) {
	if p.dryTx != nil {
		return work(p.dryTx)
	}
	sess := p.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: p.cfg.Database, AccessMode: neo4j.AccessModeWrite})
	defer sess.Close(ctx)
	return sess.ExecuteWrite(ctx, func(tx neo4j.ManagedTransaction) (any, error) { return work(tx) })
}

// Examples returns up to five keys per kind of change seen so far
// (created, updated, reactivated, deactivated, renamed, conflicts), for
// dry-run plans.
func (p *Publisher) Examples() map[string][]string {
	p.exMu.Lock()
	defer p.exMu.Unlock()
	return p.examples
}

func (p *Publisher) example(kind string, keys ...string) {
	p.exMu.Lock()
	defer p.exMu.Unlock()
	for _, k := range keys {
		if len(p.examples[kind]) < 5 {
			p.examples[kind] = append(p.examples[kind], k)
		}
	}
}

// Prepare creates the User.key uniqueness constraint and the okta_id index,
// each in its own transaction. A constraint databuilder already created
// under another name is equivalent and accepted.
func (p *Publisher) Prepare(ctx context.Context) error {
	if p.cfg.DryRun || p.prepared {
		return nil // a dry run's schema statements could not share its transaction
	}
	for _, stmt := range []string{cypherConstraint, cypherOktaIDIndex} {
		_, err := neo4j.ExecuteQuery(ctx, p.driver, stmt, nil, neo4j.EagerResultTransformer, p.db())
		if err != nil && !equivalentSchema(err) {
			return fmt.Errorf("create schema (%s): %w", firstLine(stmt), err)
		}
	}
	if _, err := neo4j.ExecuteQuery(ctx, p.driver, cypherAwait, nil, neo4j.EagerResultTransformer, p.db()); err != nil {
		return fmt.Errorf("wait for indexes: %w", err)
	}
	// A plain index on :User(key) blocks the constraint with an error that
	// reads like "already exists": check that uniqueness really holds, or
	// concurrent writers could create two nodes for one key.
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherKeyConstraint, nil, neo4j.EagerResultTransformer, p.db(), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	if intValue(res.Records[0], "n") == 0 {
		return errors.New("no uniqueness constraint on :User(key): drop the plain index on :User(key) " +
			"(SHOW INDEXES) so that oktasync can create it; without it concurrent writers could create two nodes for one user")
	}
	if err := p.detectSchema(ctx); err != nil {
		return err
	}
	p.prepared = true
	return nil
}

// detectSchema turns index hints on when the User.key and User.okta_id
// indexes are online.
func (p *Publisher) detectSchema(ctx context.Context) error {
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherSchema, nil, neo4j.EagerResultTransformer, p.db(), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	found := map[string]bool{}
	for _, rec := range res.Records {
		prop, _, _ := neo4j.GetRecordValue[string](rec, "prop")
		found[prop] = true
	}
	p.hinted = found["key"] && found["okta_id"]
	return nil
}

// q expands the index hints of stmt when the schema allows them.
func (p *Publisher) q(stmt string) string {
	if !p.hinted {
		return stmt
	}
	var b strings.Builder
	for {
		i := strings.Index(stmt, "/*hint:")
		if i < 0 {
			b.WriteString(stmt)
			return b.String()
		}
		j := strings.Index(stmt[i:], "*/")
		v, prop, _ := strings.Cut(stmt[i+len("/*hint:"):i+j], ":")
		b.WriteString(stmt[:i])
		b.WriteString("USING INDEX SEEK " + v + ":User(" + prop + ")")
		stmt = stmt[i+j+2:]
	}
}

func equivalentSchema(err error) bool {
	var ne *neo4j.Neo4jError
	if !errors.As(err, &ne) {
		return false
	}
	switch ne.Code {
	case "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
		"Neo.ClientError.Schema.ConstraintAlreadyExists",
		"Neo.ClientError.Schema.IndexAlreadyExists":
		return true
	}
	return false
}

func (p *Publisher) db() neo4j.ExecuteQueryConfigurationOption {
	return neo4j.ExecuteQueryWithDatabase(p.cfg.Database)
}

// PublishNodes upserts rows in batches of BatchSize.
func (p *Publisher) PublishNodes(ctx context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
	var total publisher.NodeStats
	for start := 0; start < len(rows); start += p.cfg.BatchSize {
		end := min(start+p.cfg.BatchSize, len(rows))
		s, err := p.upsert(ctx, rows[start:end])
		if err != nil {
			return total, err
		}
		total.Add(s)
	}
	return total, nil
}

// upsert writes one batch: renames first, then the upsert, in one
// transaction. It halves the batch when the server runs out of transaction
// memory (which the driver would otherwise retry unchanged).
func (p *Publisher) upsert(ctx context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
	out, err := p.write(ctx, func(tx runner) (any, error) { return p.upsertTx(ctx, tx, rows) })
	if err != nil {
		if outOfMemory(err) && len(rows) > 1 && p.dryTx == nil {
			p.log.Debug("splitting node batch after a memory error", zap.Int("rows", len(rows)))
			a, err := p.upsert(ctx, rows[:len(rows)/2])
			if err != nil {
				return a, err
			}
			b, err := p.upsert(ctx, rows[len(rows)/2:])
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

func (p *Publisher) upsertTx(ctx context.Context, tx runner, rows []loader.NodeRow) (upsertResult, error) {
	res := upsertResult{examples: map[string][]string{}}
	params := make([]any, len(rows))
	for i, r := range rows {
		params[i] = map[string]any{"key": r.Key, "props": r.Map()}
	}
	// Renames, and the rows whose new key another node holds.
	renamed, err := tx.Run(ctx, p.q(cypherRename), map[string]any{"rows": params})
	if err != nil {
		return res, err
	}
	recs, err := renamed.Collect(ctx)
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
		if _, err := tx.Run(ctx, p.q(cypherMarkSeen), map[string]any{"ids": seen, "run": p.run}); err != nil {
			return res, err
		}
	}
	if len(params) == 0 {
		return res, nil
	}
	rec, err := single(ctx, tx, p.q(cypherUpsertNodes), map[string]any{"rows": params, "tag": p.cfg.PublishedTag, "run": p.run})
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

func outOfMemory(err error) bool {
	var ne *neo4j.Neo4jError
	return errors.As(err, &ne) && strings.Contains(ne.Code, "MemoryPoolOutOfMemoryError")
}

// PublishManagers makes each user's MANAGE_BY/MANAGE pair match its row:
// stale pairs are removed first, then the current pair is ensured, so every
// user ends with at most one manager. Managers named by Okta id are resolved
// through the okta_id index.
func (p *Publisher) PublishManagers(ctx context.Context, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var total publisher.ManagerStats
	for start := 0; start < len(rows); start += p.cfg.BatchSize {
		end := min(start+p.cfg.BatchSize, len(rows))
		s, err := p.managers(ctx, rows[start:end])
		if err != nil {
			return total, err
		}
		total.Add(s)
	}
	return total, nil
}

type managersResult struct {
	stats            publisher.ManagerStats
	unlinked, linked []string
}

func (p *Publisher) managers(ctx context.Context, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var stats publisher.ManagerStats
	keys, err := p.resolveOktaIDs(ctx, rows)
	if err != nil {
		return stats, err
	}
	all := make([]any, 0, len(rows))
	link := make([]any, 0, len(rows))
	wanted := 0
	for _, r := range rows {
		var manager any
		switch r.Manager.Kind {
		case extractor.ManagerByOktaID:
			wanted++
			if k, ok := keys[r.Manager.Value]; ok {
				manager = k
			}
		case extractor.ManagerByKey:
			wanted++
			manager = r.Manager.Value
		}
		row := map[string]any{"key": r.UserKey, "id": r.UserID, "manager": manager}
		all = append(all, row)
		if manager != nil {
			link = append(link, row)
		}
	}
	out, err := p.write(ctx, func(tx runner) (any, error) {
		var s publisher.ManagerStats
		rec, err := single(ctx, tx, p.q(cypherUnlinkStale), map[string]any{"rows": all})
		if err != nil {
			return nil, err
		}
		s.Unlinked = intValue(rec, "removed")
		unlinked := stringList(rec, "examples")
		if _, err := single(ctx, tx, p.q(cypherUnlinkStaleMirror), map[string]any{"rows": all}); err != nil {
			return nil, err
		}
		if len(link) == 0 {
			return managersResult{s, unlinked, nil}, nil
		}
		if rec, err = single(ctx, tx, p.q(cypherLink), map[string]any{"rows": link, "tag": p.cfg.PublishedTag}); err != nil {
			return nil, err
		}
		s.Linked = intValue(rec, "linked")
		s.Kept = intValue(rec, "kept")
		return managersResult{s, unlinked, stringList(rec, "examples")}, nil
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

// resolveOktaIDs maps the Okta manager ids of rows to their users' keys.
func (p *Publisher) resolveOktaIDs(ctx context.Context, rows []loader.ManagerRow) (map[string]string, error) {
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
	out, err := p.write(ctx, func(tx runner) (any, error) {
		res, err := tx.Run(ctx, p.q(cypherResolveOktaIDs), map[string]any{"ids": ids})
		if err != nil {
			return nil, err
		}
		return res.Collect(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("resolve %d manager ids: %w", len(ids), err)
	}
	for _, rec := range out.([]*neo4j.Record) {
		id, _, _ := neo4j.GetRecordValue[string](rec, "id")
		key, _, _ := neo4j.GetRecordValue[string](rec, "key")
		if _, dup := keys[id]; !dup && key != "" {
			keys[id] = key
		}
	}
	return keys, nil
}

func single(ctx context.Context, tx runner, cypher string, params map[string]any) (*neo4j.Record, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	return res.Single(ctx)
}

func intValue(rec *neo4j.Record, field string) int {
	v, _, _ := neo4j.GetRecordValue[int64](rec, field)
	return int(v)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Lookup runs Amundsen's own get_user query for key and returns the user's
// and the manager's properties (nil when there is none). found is false
// when no such user exists.
func (p *Publisher) Lookup(ctx context.Context, key string) (user, manager map[string]any, found bool, err error) {
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherGetUser, map[string]any{"user_id": key},
		neo4j.EagerResultTransformer, p.db(), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return nil, nil, false, fmt.Errorf("look up %s: %w", key, err)
	}
	if len(res.Records) == 0 {
		return nil, nil, false, nil
	}
	rec := res.Records[0].AsMap()
	if n, ok := rec["user_record"].(neo4j.Node); ok {
		user = n.Props
	}
	if n, ok := rec["manager_record"].(neo4j.Node); ok {
		manager = n.Props
	}
	return user, manager, true, nil
}

// MarkSeen records that the source returned these users although the run
// wrote nothing for them (skipped users), so reconciliation leaves them.
func (p *Publisher) MarkSeen(ctx context.Context, oktaIDs []string) error {
	if len(oktaIDs) == 0 {
		return nil
	}
	ids := make([]any, len(oktaIDs))
	for i, id := range oktaIDs {
		ids[i] = id
	}
	_, err := p.write(ctx, func(tx runner) (any, error) {
		return single(ctx, tx, p.q(cypherMarkSeen), map[string]any{"ids": ids, "run": p.run})
	})
	if err != nil {
		return fmt.Errorf("mark %d skipped users seen: %w", len(ids), err)
	}
	return nil
}

// Stale reports the active managed users this run has not seen. Only
// meaningful after a complete read.
func (p *Publisher) Stale(ctx context.Context) (publisher.StaleReport, error) {
	out, err := p.write(ctx, func(tx runner) (any, error) {
		return single(ctx, tx, cypherStale, map[string]any{"run": p.run})
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
// has not seen, in batches. Nothing is deleted.
func (p *Publisher) Deactivate(ctx context.Context) (int, error) {
	total := 0
	for {
		out, err := p.write(ctx, func(tx runner) (any, error) {
			rec, err := single(ctx, tx, cypherDeactivateStale, map[string]any{"run": p.run, "limit": p.cfg.BatchSize, "tag": p.cfg.PublishedTag})
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

// LoadState reads the sync state of org; a zero State if there is none.
func (p *Publisher) LoadState(ctx context.Context, org string) (publisher.State, error) {
	st := publisher.State{Org: org}
	out, err := p.write(ctx, func(tx runner) (any, error) {
		res, err := tx.Run(ctx, cypherLoadState, map[string]any{"org": org})
		if err != nil {
			return nil, err
		}
		return res.Collect(ctx)
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
	out, err := p.write(ctx, func(tx runner) (any, error) {
		res, err := tx.Run(ctx, cypherOrgs, nil)
		if err != nil {
			return nil, err
		}
		return res.Collect(ctx)
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
	_, err := p.write(ctx, func(tx runner) (any, error) {
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

// stringList reads a list of strings from a record field.
func stringList(rec *neo4j.Record, field string) []string {
	list, _, _ := neo4j.GetRecordValue[[]any](rec, field)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// DeactivateIDs sets is_active = false on the users with these Okta ids:
// users Okta answered 404 for. Nothing is deleted.
func (p *Publisher) DeactivateIDs(ctx context.Context, oktaIDs []string) (int, error) {
	if len(oktaIDs) == 0 {
		return 0, nil
	}
	ids := make([]any, len(oktaIDs))
	for i, id := range oktaIDs {
		ids[i] = id
	}
	out, err := p.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, p.q(cypherDeactivateIDs), map[string]any{"ids": ids, "tag": p.cfg.PublishedTag})
		if err != nil {
			return nil, err
		}
		return intValue(rec, "n"), nil
	})
	if err != nil {
		return 0, fmt.Errorf("deactivate %d deleted users: %w", len(ids), err)
	}
	return out.(int), nil
}
