package neo4j

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// TimeoutError means a transaction outlasted neo4j.transaction_timeout:
// the server ended it, or, for a dry run's statement, the client gave up
// on it. Mostly it is a write waiting for a lock another client holds:
// Lock says the server ended it in that wait; a transaction the server
// ended between two statements (the work took long, or a statement about
// to wait for a lock) cannot tell. A write that gets one is retried like a
// transient error, within neo4j.max_transaction_retry_time (writeRetried).
type TimeoutError struct {
	Timeout time.Duration
	// Lock: the transaction was waiting for a lock when it was ended.
	Lock bool
	// Code is the server's status code; empty when the client abandoned
	// the statement (a dry run's).
	Code string
	Err  error
}

func (e *TimeoutError) Error() string {
	switch {
	case e.Lock:
		return fmt.Sprintf("neo4j: a write waited more than neo4j.transaction_timeout (%s) for a lock another client holds on the graph (%s)", e.Timeout, e.Code)
	case e.Code == "":
		return fmt.Sprintf("neo4j: a statement of the dry run took more than neo4j.transaction_timeout (%s) and was abandoned; most likely it waited for a lock another client holds on the graph", e.Timeout)
	}
	return fmt.Sprintf("neo4j: a transaction outlasted neo4j.transaction_timeout (%s): it waited for a lock another client holds on the graph, or its work took that long (%s)", e.Timeout, e.Code)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// The status codes of a transaction the server ended at its timeout,
// measured on 3.5.35, 4.4.44 and 5.26.30: a wait for a lock ends with
// LockClientStopped on all three (which the driver reclassifies from
// TransientError to ClientError), 1-2 s after the timeout (the server
// checks every 2 s); other work, or the next statement, with
// TransactionTimedOut (3.5, 4.4) or TransactionTimedOutClientConfiguration
// (5.x).
const (
	codeLockClientStopped = "Neo.ClientError.Transaction.LockClientStopped"
	codeTimedOut          = "Neo.ClientError.Transaction.TransactionTimedOut"
	codeTimedOutClient    = "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration"
)

// timedOut turns the server's ending a transaction at its timeout into a
// *TimeoutError and returns other errors as they are. took is how long
// the transaction (or the call that ran it) had run: LockClientStopped
// also ends a lock wait an operator or a shutdown cut short, which is not
// a timeout when the timeout has not passed.
func timedOut(err error, timeout, took time.Duration) error {
	var ne *neo4j.Neo4jError
	if err == nil || !errors.As(err, &ne) {
		return err
	}
	switch ne.Code {
	case codeLockClientStopped, "Neo.TransientError.Transaction.LockClientStopped":
		if took < timeout {
			return err
		}
		return &TimeoutError{Timeout: timeout, Lock: true, Code: ne.Code, Err: err}
	case codeTimedOut, codeTimedOutClient:
		return &TimeoutError{Timeout: timeout, Code: ne.Code, Err: err}
	}
	return err
}

// txTimeout is the transaction configuration of every managed
// transaction and query of the sink.
func (r *txRunner) txTimeout() func(*neo4j.TransactionConfig) { return neo4j.WithTxTimeout(r.timeout) }

// queryTimeout is txTimeout for neo4j.ExecuteQuery.
func (r *txRunner) queryTimeout() neo4j.ExecuteQueryConfigurationOption {
	return neo4j.ExecuteQueryWithTransactionConfig(r.txTimeout())
}

// boundedRunner runs the statements of a dry run's one transaction, which
// lasts the whole run: the server's timeout could bound only the run, so
// each statement gets timeout as a client deadline instead, from Run to
// the end of its result. A statement past it is abandoned (the driver
// closes the connection, and the server rolls the transaction back) and
// fails with a *TimeoutError; the dry run then ends.
type boundedRunner struct {
	tx      neo4j.ExplicitTransaction
	timeout time.Duration
}

func (b boundedRunner) Run(ctx context.Context, cypher string, params map[string]any) (neo4j.ResultWithContext, error) {
	r := &boundedResult{deadline: time.Now().Add(b.timeout), timeout: b.timeout}
	sctx, cancel := context.WithDeadline(ctx, r.deadline)
	defer cancel()
	res, err := b.tx.Run(sctx, cypher, params)
	if err != nil {
		return nil, r.check(ctx, sctx, err)
	}
	r.ResultWithContext = res
	return r, nil
}

// boundedResult is a dry-run statement's result, read within the
// statement's deadline.
type boundedResult struct {
	neo4j.ResultWithContext
	deadline time.Time
	timeout  time.Duration
	expired  bool // a read hit the deadline: Err reports it
}

// check reports err as a *TimeoutError when the statement's deadline
// (sctx's), not the caller's context, ended it.
func (r *boundedResult) check(ctx, sctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		r.expired = true
		return &TimeoutError{Timeout: r.timeout, Err: err}
	}
	return timedOut(err, r.timeout, time.Since(r.deadline.Add(-r.timeout)))
}

func (r *boundedResult) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, r.deadline)
}

func (r *boundedResult) Collect(ctx context.Context) ([]*neo4j.Record, error) {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	recs, err := r.ResultWithContext.Collect(sctx)
	return recs, r.check(ctx, sctx, err)
}

func (r *boundedResult) Single(ctx context.Context) (*neo4j.Record, error) {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	rec, err := r.ResultWithContext.Single(sctx)
	return rec, r.check(ctx, sctx, err)
}

func (r *boundedResult) Consume(ctx context.Context) (neo4j.ResultSummary, error) {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	sum, err := r.ResultWithContext.Consume(sctx)
	return sum, r.check(ctx, sctx, err)
}

func (r *boundedResult) Next(ctx context.Context) bool {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	ok := r.ResultWithContext.Next(sctx)
	_ = r.check(ctx, sctx, r.ResultWithContext.Err())
	return ok
}

func (r *boundedResult) NextRecord(ctx context.Context, rec **neo4j.Record) bool {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	ok := r.ResultWithContext.NextRecord(sctx, rec)
	_ = r.check(ctx, sctx, r.ResultWithContext.Err())
	return ok
}

func (r *boundedResult) Peek(ctx context.Context) bool {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	ok := r.ResultWithContext.Peek(sctx)
	_ = r.check(ctx, sctx, r.ResultWithContext.Err())
	return ok
}

func (r *boundedResult) PeekRecord(ctx context.Context, rec **neo4j.Record) bool {
	sctx, cancel := r.bound(ctx)
	defer cancel()
	ok := r.ResultWithContext.PeekRecord(sctx, rec)
	_ = r.check(ctx, sctx, r.ResultWithContext.Err())
	return ok
}

func (r *boundedResult) Records(ctx context.Context) func(yield func(*neo4j.Record, error) bool) {
	return func(yield func(*neo4j.Record, error) bool) {
		sctx, cancel := r.bound(ctx)
		defer cancel()
		for rec, err := range r.ResultWithContext.Records(sctx) {
			if !yield(rec, r.check(ctx, sctx, err)) {
				return
			}
		}
	}
}

func (r *boundedResult) Err() error {
	err := r.ResultWithContext.Err()
	if err != nil && r.expired {
		return &TimeoutError{Timeout: r.timeout, Err: err}
	}
	return err
}
