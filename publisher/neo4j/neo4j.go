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
}

var _ publisher.Publisher = (*Publisher)(nil)

// New validates cfg (after defaults) and creates the driver. It does no
// network I/O; call Verify to check the server.
func New(cfg Config, log *zap.Logger) (*Publisher, error) {
	cfg.Defaults()
	if cfg.PublishedTag == "" {
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
	return &Publisher{cfg: cfg, log: log.With(zap.String("stage", "publisher"), zap.String("sink", "neo4j")), driver: d}, nil
}

// Tag is the published_tag this publisher writes.
func (p *Publisher) Tag() string { return p.cfg.PublishedTag }

// Verify checks that the server answers and accepts the credentials.
func (p *Publisher) Verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := p.driver.VerifyConnectivity(ctx); err != nil {
		return fmt.Errorf("neo4j %s unreachable: %w", redactURI(p.cfg.URI), err)
	}
	return nil
}

// Close releases the driver. It is safe to call more than once.
func (p *Publisher) Close(ctx context.Context) error {
	return p.driver.Close(ctx)
}

// Driver exposes the driver for read-only checks in tests and tools.
func (p *Publisher) Driver() neo4j.DriverWithContext { return p.driver }

// Prepare creates the User.key uniqueness constraint and the okta_id index,
// each in its own transaction. A constraint databuilder already created
// under another name is equivalent and accepted.
func (p *Publisher) Prepare(ctx context.Context) error {
	for _, stmt := range []string{cypherConstraint, cypherOktaIDIndex} {
		_, err := neo4j.ExecuteQuery(ctx, p.driver, stmt, nil, neo4j.EagerResultTransformer, p.db())
		if err != nil && !equivalentSchema(err) {
			return fmt.Errorf("create schema (%s): %w", firstLine(stmt), err)
		}
	}
	if _, err := neo4j.ExecuteQuery(ctx, p.driver, cypherAwait, nil, neo4j.EagerResultTransformer, p.db()); err != nil {
		return fmt.Errorf("wait for indexes: %w", err)
	}
	return nil
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

// upsert writes one batch, halving it when the server runs out of
// transaction memory (which the driver would otherwise retry unchanged).
func (p *Publisher) upsert(ctx context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
	params := make([]any, len(rows))
	for i, r := range rows {
		params[i] = map[string]any{"key": r.Key, "props": r.Map()}
	}
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherUpsertNodes,
		map[string]any{"rows": params, "tag": p.cfg.PublishedTag}, neo4j.EagerResultTransformer, p.db())
	if err != nil {
		if outOfMemory(err) && len(rows) > 1 {
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
	rec := res.Records[0]
	return publisher.NodeStats{
		Created:   intValue(rec, "created"),
		Updated:   intValue(rec, "updated"),
		Unchanged: intValue(rec, "unchanged"),
	}, nil
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
		all = append(all, map[string]any{"key": r.UserKey, "manager": manager})
		if manager != nil {
			link = append(link, map[string]any{"key": r.UserKey, "manager": manager})
		}
	}
	sess := p.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: p.cfg.Database, AccessMode: neo4j.AccessModeWrite})
	defer sess.Close(ctx)
	out, err := sess.ExecuteWrite(ctx, func(tx neo4j.ManagedTransaction) (any, error) {
		var s publisher.ManagerStats
		removed, err := single(ctx, tx, cypherUnlinkStale, map[string]any{"rows": all}, "removed")
		if err != nil {
			return nil, err
		}
		s.Unlinked = removed
		if _, err := single(ctx, tx, cypherUnlinkStaleMirror, map[string]any{"rows": all}, "removed"); err != nil {
			return nil, err
		}
		if len(link) == 0 {
			return s, nil
		}
		res, err := tx.Run(ctx, cypherLink, map[string]any{"rows": link, "tag": p.cfg.PublishedTag})
		if err != nil {
			return nil, err
		}
		rec, err := res.Single(ctx)
		if err != nil {
			return nil, err
		}
		s.Linked = intValue(rec, "linked")
		s.Kept = intValue(rec, "kept")
		return s, nil
	})
	if err != nil {
		return stats, fmt.Errorf("write manager edges for %d users: %w", len(rows), err)
	}
	stats = out.(publisher.ManagerStats)
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
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherResolveOktaIDs, map[string]any{"ids": ids},
		neo4j.EagerResultTransformer, p.db(), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return nil, fmt.Errorf("resolve %d manager ids: %w", len(ids), err)
	}
	for _, rec := range res.Records {
		id, _, _ := neo4j.GetRecordValue[string](rec, "id")
		key, _, _ := neo4j.GetRecordValue[string](rec, "key")
		if _, dup := keys[id]; !dup && key != "" {
			keys[id] = key
		}
	}
	return keys, nil
}

func single(ctx context.Context, tx neo4j.ManagedTransaction, cypher string, params map[string]any, field string) (int, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return 0, err
	}
	rec, err := res.Single(ctx)
	if err != nil {
		return 0, err
	}
	return intValue(rec, field), nil
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
