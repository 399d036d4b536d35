// Package neo4j is the Neo4j sink: it makes Amundsen's graph match the rows
// the loader staged. Its files follow the ideas:
//
//   - neo4j.go: the publisher, its driver and its capabilities;
//   - tx.go: the transaction runner (managed and retried, or the one
//     transaction of a dry run) and the index-hint rewriting;
//   - split.go: the retries of a write, and the split of a batch the
//     server has no transaction memory for;
//   - timeout.go: the transaction timeout, on the server or, for a dry
//     run's statements, on the client, and its error;
//   - schema.go: the User.key constraint and the okta_id index;
//   - nodes.go: UNWIND upserts of :User nodes that skip unchanged users;
//   - managers.go: the MANAGE_BY/MANAGE pass after all nodes;
//   - reconcile.go: the join of the read's ids against the managed users,
//     and deactivation, which never deletes;
//   - state.go: the sync state of an Okta org;
//   - lookup.go: Amundsen's own get_user read;
//   - cypher.go: every statement, with parameters only.
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

	"github.com/oktasync/oktasync/publisher"
)

// Publisher writes users to one Neo4j database. Each run's values come
// from BeginRun and travel with the calls; what the sink keeps of a run
// (its pending manager pairs, managers.go) is found by the run's ID, until
// EndRun.
type Publisher struct {
	cfg    Config
	log    *zap.Logger
	driver neo4j.DriverWithContext
	tx     *txRunner
	schema schemaState
	page   int // managed users per read of reconciliation's join

	exMu     sync.Mutex // examples is filled by concurrent writers
	examples map[string][]string

	runMu   sync.Mutex // guards runs and lastRun
	runs    map[uint64]*runPairs
	lastRun uint64
}

var (
	_ publisher.Publisher  = (*Publisher)(nil)
	_ publisher.Reconciler = (*Publisher)(nil)
)

// New validates cfg and creates the driver. It does no network I/O; call
// Verify to check the server.
func New(cfg Config, log *zap.Logger) (*Publisher, error) {
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
	p := &Publisher{
		cfg:      cfg,
		log:      log.With(zap.String("stage", "publisher"), zap.String("sink", "neo4j")),
		driver:   d,
		examples: map[string][]string{},
		page:     reconcilePage,
		runs:     map[uint64]*runPairs{},
	}
	p.tx = &txRunner{driver: d, database: cfg.Database, dryRun: cfg.DryRun, maxRetry: cfg.MaxTransactionRetryTime,
		timeout: cfg.TransactionTimeout, log: p.log}
	return p, nil
}

// Capabilities: any number of writers, but one in a dry run, whose
// statements share one transaction; reconciliation and sync state; and the
// plan's examples.
func (p *Publisher) Capabilities() publisher.Capabilities {
	c := publisher.Capabilities{MaxWriters: 16, DryRun: p.cfg.DryRun, Reconciler: p, Planner: p, StubMerger: p, Documents: p}
	if p.cfg.DryRun {
		c.MaxWriters = 1
	}
	return c
}

// AuthFailed reports whether err is the server refusing the credentials.
func AuthFailed(err error) bool {
	var ne *neo4j.Neo4jError
	return errors.As(err, &ne) && strings.HasPrefix(ne.Code, "Neo.ClientError.Security.")
}

// Verify checks that the server answers, accepts the credentials and is a
// version the sink supports, whose dialect it then speaks.
func (p *Publisher) Verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := p.driver.VerifyConnectivity(ctx); err != nil {
		if AuthFailed(err) {
			return fmt.Errorf("neo4j %s: authentication failed: %w", redactURI(p.cfg.URI), err)
		}
		return fmt.Errorf("neo4j %s unreachable: %w", redactURI(p.cfg.URI), err)
	}
	if _, err := p.tx.server(ctx); err != nil {
		return fmt.Errorf("neo4j %s: %w", redactURI(p.cfg.URI), err)
	}
	return nil
}

// Close rolls back a dry run's transaction and releases the driver. It is
// safe to call more than once.
func (p *Publisher) Close(ctx context.Context) error {
	return errors.Join(p.tx.close(ctx), p.driver.Close(ctx))
}

// BeginRun starts a run: it reads the server clock as the run marker (so
// markers of runs from different machines compare correctly) and, for a
// dry run, opens the one transaction every statement goes through and
// Close rolls back, so a dry run writes nothing.
func (p *Publisher) BeginRun(ctx context.Context, opts publisher.RunOptions) (publisher.Run, error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	opened, err := p.tx.begin(ctx)
	if err != nil {
		return publisher.Run{}, err
	}
	if opened {
		if err := p.detectSchema(ctx); err != nil {
			return publisher.Run{}, err
		}
	}
	now, err := p.tx.write(ctx, func(tx runner) (any, error) {
		rec, err := single(ctx, tx, cypherServerTime, nil)
		if err != nil {
			return nil, err
		}
		return intValue(rec, "now"), nil
	})
	if err != nil {
		return publisher.Run{}, fmt.Errorf("read server time: %w", err)
	}
	run := publisher.Run{Marker: int64(now.(int)), Tag: p.cfg.PublishedTag}
	if run.Tag == "" {
		run.Tag = time.UnixMilli(run.Marker).UTC().Format(time.RFC3339)
	}
	run.ID = p.beginPairs(opts)
	return run, nil
}

// Examples returns up to five keys per kind of change seen so far
// (created, updated, reactivated, deactivated, renamed, conflicts, managers
// linked and unlinked), for dry-run plans.
func (p *Publisher) Examples() map[string][]string {
	p.exMu.Lock()
	defer p.exMu.Unlock()
	out := make(map[string][]string, len(p.examples))
	for k, v := range p.examples {
		out[k] = append([]string(nil), v...)
	}
	return out
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
