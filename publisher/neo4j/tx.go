package neo4j

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/publisher"
)

// runner is what both a managed transaction and a dry run's explicit
// transaction offer.
type runner interface {
	Run(ctx context.Context, cypher string, params map[string]any) (neo4j.ResultWithContext, error)
}

// txRunner runs work in managed, retried write transactions, or, in a dry
// run, in one explicit transaction that close rolls back. A dry run has one
// writer (Capabilities), so its transaction is never shared concurrently.
type txRunner struct {
	driver   neo4j.DriverWithContext
	database string // configured; the dialect says what is sent
	srv      atomic.Pointer[dialect]
	dryRun   bool
	maxRetry time.Duration // how long write retries transient errors
	timeout  time.Duration // every transaction's, or a dry-run statement's
	log      *zap.Logger
	sess     neo4j.SessionWithContext
	dryTx    neo4j.ExplicitTransaction
}

// begin opens the dry run's transaction, once; it reports whether it did.
func (r *txRunner) begin(ctx context.Context) (bool, error) {
	if !r.dryRun || r.dryTx != nil {
		return false, nil
	}
	d, err := r.server(ctx)
	if err != nil {
		return false, err
	}
	r.sess = r.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: d.database, AccessMode: neo4j.AccessModeWrite})
	// No server timeout: the transaction lasts the run. Its statements are
	// bounded one by one (boundedRunner).
	tx, err := r.sess.BeginTransaction(ctx)
	if err != nil {
		return false, fmt.Errorf("begin dry-run transaction: %w", err)
	}
	r.dryTx = tx
	return true, nil
}

// write runs work in a retried write transaction (writeRetried), or in
// the dry run's, each statement bounded by the timeout.
func (r *txRunner) write(ctx context.Context, work func(runner) (any, error)) (any, error) {
	if r.dryTx != nil {
		return work(boundedRunner{tx: r.dryTx, timeout: r.timeout})
	}
	d, err := r.server(ctx)
	if err != nil {
		return nil, err
	}
	return r.writeRetried(ctx, d.database, work)
}

// interruptible gives ctx a deadline if it has none. The driver abandons a
// statement the server holds (waiting for a lock, say) when its context
// ends only if that context has a deadline: without one, a cancelled run
// on Neo4j 3.5 or 4.4 (Bolt 3 and 4) waited until the other writer let go
// (measured; 5.x answered at once either way). The deadline is far, so it
// bounds nothing in practice. Every exported method that talks to the
// server starts with it, because statements run on the caller's context.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, interruptibleBound)
}

// interruptible is interruptible(ctx) where it is needed: before 5.x, or
// before the server's version is known. With 5.x servers a statement ends
// at cancellation without a deadline, and the driver reads without a
// goroutine per read, as before 3.5 and 4.4 were supported.
func (p *Publisher) interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := p.tx.srv.Load(); d != nil && d.major >= 5 {
		return ctx, func() {}
	}
	return interruptible(ctx)
}

// interruptibleBound is the deadline interruptible sets.
const interruptibleBound = 24 * time.Hour

// server returns the server's dialect, read at the first call. Concurrent
// first calls may each read it; they read the same.
func (r *txRunner) server(ctx context.Context) (*dialect, error) {
	if d := r.srv.Load(); d != nil {
		return d, nil
	}
	d, err := detectDialect(ctx, r.driver, r.database, r.queryTimeout())
	if err != nil {
		return nil, err
	}
	r.srv.CompareAndSwap(nil, d)
	return r.srv.Load(), nil
}

// inDryRun reports whether statements go through the dry run's transaction.
func (r *txRunner) inDryRun() bool { return r.dryTx != nil }

// close rolls back the dry run's transaction, waiting for the server at
// most the timeout.
func (r *txRunner) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var errs []error
	if r.dryTx != nil {
		errs = append(errs, r.dryTx.Rollback(ctx))
		r.dryTx = nil
	}
	if r.sess != nil {
		errs = append(errs, r.sess.Close(ctx))
		r.sess = nil
	}
	return errors.Join(errs...)
}

// expandHints turns each /*hint:VAR:PROP*/ of stmt into USING INDEX SEEK
// VAR:User(PROP) when on is true (see cypher.go), and leaves the comments
// otherwise.
func expandHints(stmt string, on bool) string {
	if !on {
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

func single(ctx context.Context, tx runner, cypher string, params map[string]any) (*neo4j.Record, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	return res.Single(ctx)
}

func collect(ctx context.Context, tx runner, cypher string, params map[string]any) ([]*neo4j.Record, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	return res.Collect(ctx)
}

func intValue(rec *neo4j.Record, field string) int {
	v, _, _ := neo4j.GetRecordValue[int64](rec, field)
	return int(v)
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

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// counted runs a statement, reads its records and adds its query
// statistics to w: meta of the properties it set are run metadata (the
// caller knows how many per row it writes), the rest user properties.
func counted(ctx context.Context, tx runner, w *publisher.Writes, meta func(recs []*neo4j.Record) int, cypher string, params map[string]any) ([]*neo4j.Record, error) {
	res, err := tx.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	recs, err := res.Collect(ctx)
	if err != nil {
		return nil, err
	}
	sum, err := res.Consume(ctx)
	if err != nil {
		return nil, err
	}
	c := sum.Counters()
	m := min(c.PropertiesSet(), meta(recs))
	w.MetadataProperties += m
	w.UserProperties += c.PropertiesSet() - m
	w.NodesCreated += c.NodesCreated()
	w.RelationshipsCreated += c.RelationshipsCreated()
	w.RelationshipsDeleted += c.RelationshipsDeleted()
	w.NodesDeleted += c.NodesDeleted()
	return recs, nil
}

// allMeta says every property a statement set is run metadata.
func allMeta([]*neo4j.Record) int { return 1 << 62 }
