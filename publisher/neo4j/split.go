package neo4j

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"
)

// MemoryError means the server refused a transaction for want of memory:
// it would exceed db.memory.transaction.max, or the server's pool for all
// transactions. Neo4j calls these transient and the driver would retry the
// same transaction until its retry time is spent (30 s), only to fail the
// same way; a write that gets one returns it at once instead
// (writeRetried), and a batch write splits its batch (splitOnMemory).
type MemoryError struct {
	Code    string // e.g. Neo.TransientError.General.MemoryPoolOutOfMemoryError (5.x)
	Message string
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("neo4j: out of transaction memory (%s): %s", e.Code, firstLine(e.Message))
}

// memoryCode reports whether a Neo4j status code is a memory refusal: a
// transient error on 5.x, a client error on 4.4
// (Neo.ClientError.General.TransactionOutOfMemoryError).
func memoryCode(code string) bool {
	return (strings.HasPrefix(code, "Neo.TransientError.General.") || strings.HasPrefix(code, "Neo.ClientError.General.")) &&
		(strings.Contains(code, "OutOfMemory") || strings.Contains(code, "MemoryLimit"))
}

// notRetried turns a memory refusal into a *MemoryError.
func notRetried(err error) error {
	var ne *neo4j.Neo4jError
	if errors.As(err, &ne) && memoryCode(ne.Code) {
		return &MemoryError{Code: ne.Code, Message: ne.Msg}
	}
	return err
}

func outOfMemory(err error) bool {
	var me *MemoryError
	return errors.As(err, &me)
}

// CommitError means the connection failed while a transaction's COMMIT was
// under way: the server may have committed it or not. It is never
// retried, because a second attempt would find the first one's writes in
// place and report them as unchanged; the run fails, and the next one
// converges (every write is idempotent).
type CommitError struct{ Err error }

func (e *CommitError) Error() string { return "neo4j: commit outcome unknown: " + e.Err.Error() }
func (e *CommitError) Unwrap() error { return e.Err }

// retryable reports whether err, or any error it wraps, is one write
// retries: one the driver retries, or a transaction timeout. The driver
// checks its connectivity errors by type, not with errors.As, so a wrapped
// lost connection would otherwise fail at once.
func retryable(err error) bool {
	var ce *CommitError
	if errors.As(err, &ce) || outOfMemory(err) {
		return false
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if neo4j.IsRetryable(e) {
			return true
		}
	}
	return false
}

// splitOnMemory writes rows with write, one transaction; if the server has
// not the memory for it, it writes each half the same way, down to single
// rows. A row alone that still does not fit fails the call. The stats add
// up what committed, also when a later part fails.
func splitOnMemory[R any, S any, PS interface {
	*S
	Add(S)
}](ctx context.Context, log *zap.Logger, rows []R, write func(context.Context, []R) (S, error)) (S, error) {
	st, err := write(ctx, rows)
	if err == nil || !outOfMemory(err) || len(rows) < 2 {
		return st, err
	}
	log.Debug("splitting a batch the server has no transaction memory for", zap.Int("rows", len(rows)), zap.Error(err))
	half := len(rows) / 2
	a, err := splitOnMemory[R, S, PS](ctx, log, rows[:half], write)
	if err != nil {
		return a, err
	}
	b, err := splitOnMemory[R, S, PS](ctx, log, rows[half:], write)
	PS(&a).Add(b)
	return a, err
}

// writeRetried runs work in a write transaction bounded by the timeout
// and commits it, retrying like the driver's managed transactions
// (transient errors and lost connections, with exponential backoff and
// jitter, while maxRetry has not passed since the first attempt began)
// and also when the transaction timed out (a *TimeoutError: another
// client held a lock too long, say), except for a memory refusal, be it a
// statement's or the commit's: the same transaction would fail the same
// way, so it returns at once as a *MemoryError. (A managed transaction
// cannot tell: a commit's refusal reaches only its retry loop.)
func (r *txRunner) writeRetried(ctx context.Context, database string, work func(runner) (any, error)) (any, error) {
	start := time.Now()
	delay := time.Second
	for attempt := 1; ; attempt++ {
		v, err := r.writeOnce(ctx, database, work)
		if err == nil {
			return v, nil
		}
		err = notRetried(err)
		if ctx.Err() != nil {
			// The driver words a cancelled statement its own way: callers
			// must still see the cancellation.
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if !retryable(err) {
			return nil, err
		}
		// As the driver does: no new attempt once maxRetry has passed.
		if time.Since(start) > r.maxRetry {
			return nil, fmt.Errorf("gave up after %s in %s: %w", attempts(attempt), time.Since(start).Round(time.Millisecond), err)
		}
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		var te *TimeoutError
		if errors.As(err, &te) {
			// A run that waits this long says so: it is not stuck.
			r.log.Warn("a write timed out; retrying it", zap.Error(err), zap.Int("attempt", attempt),
				zap.Duration("elapsed", time.Since(start).Round(time.Millisecond)), zap.Duration("retry_budget", r.maxRetry))
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (after %d attempts; last: %v)", ctx.Err(), attempt, err)
		}
		delay *= 2
	}
}

// attempts is "1 attempt" or "N attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func (r *txRunner) writeOnce(ctx context.Context, database string, work func(runner) (any, error)) (any, error) {
	began := time.Now()
	sess := r.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: database, AccessMode: neo4j.AccessModeWrite})
	// Closing the session rolls back a transaction left open; the outcome
	// is decided by then, and a close error changes nothing.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = sess.Close(cctx)
	}()
	tx, err := sess.BeginTransaction(ctx, r.txTimeout())
	if err != nil {
		return nil, timedOut(err, r.timeout, time.Since(began))
	}
	v, err := work(tx)
	if err != nil {
		return nil, timedOut(err, r.timeout, time.Since(began))
	}
	// Once COMMIT is sent the server may commit whatever the client does;
	// wait for its answer even if ctx ends meanwhile (bounded), so that a
	// write reports exactly what committed and an interrupted run counts
	// every batch it left behind. Before this point, ctx aborts the work.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The commit outlives ctx by commitWait at most: the bound starts when
	// ctx ends, not when the commit starts, so a slow commit of a live run
	// is not cut short.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptibleBound) // a deadline: see interruptible
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(commitWait, cancel)
		context.AfterFunc(cctx, func() { t.Stop() })
	})
	defer stop()
	if err := tx.Commit(cctx); err != nil {
		var ne *neo4j.Neo4jError
		if errors.As(err, &ne) {
			return nil, timedOut(err, r.timeout, time.Since(began)) // the server answered: it did not commit
		}
		return nil, &CommitError{Err: err}
	}
	return v, nil
}

// commitWait bounds the wait for a commit's answer after the run's context
// has ended.
const commitWait = 15 * time.Second
