package neo4j_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// holdUser write-locks the user with key as another client would, a
// transaction that SET a property and stays open until release.
func holdUser(t *testing.T, d neo4jdriver.DriverWithContext, key string) (release func()) {
	t.Helper()
	return neo4jtest.Lock(t, d, `MATCH (u:User {key: $key}) SET u.foreign_writer = true RETURN count(u) AS n`, map[string]any{"key": key})
}

// lockTestTimeouts: a transaction may run 1 s; a write is retried while
// 8 s have not passed since its first attempt (room for one retry
// after a first attempt the server ends 1-3 s in, on every version).
const (
	lockTestTxTimeout = time.Second
	lockTestRetry     = 8 * time.Second
)

// TestUpsertBlockedByAForeignLockFailsInBoundIntegration: another client
// holds a write transaction on one user (an open transaction that SET a
// property on it). An upsert of that user does not wait for it without
// bound: the server ends each attempt at neo4j.transaction_timeout, the
// batch is retried while neo4j.max_transaction_retry_time lasts (each
// retry logged), and then fails with an error that names the cause — not
// "unreachable". Once the lock is released the same upsert succeeds, and
// the other client's write is gone with its rollback.
func TestUpsertBlockedByAForeignLockFailsInBoundIntegration(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	core, logs := observer.New(zap.DebugLevel)
	cfg := config(neo4jtest.URI(t))
	cfg.TransactionTimeout, cfg.MaxTransactionRetryTime = lockTestTxTimeout, lockTestRetry
	p, err := neo4j.New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	ann, bob := user("ann@example.com", "00uann", "Ann", true), user("bob@example.com", "00ubob", "Bob", true)
	if _, err := p.PublishNodes(ctx, testRun(t, p), nodes(ann, bob)); err != nil {
		t.Fatal(err)
	}

	release := holdUser(t, d, "ann@example.com")
	ann.FirstName, ann.FullName = "Annabel", "Annabel Doe"
	start := time.Now()
	_, err = p.PublishNodes(ctx, testRun(t, p), nodes(bob, ann))
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatal("the hang guard expired: the upsert waited for the lock without bound")
	}
	var te *neo4j.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("upsert under a foreign lock: %v, want a *neo4j.TimeoutError", err)
	}
	// A transaction ended while it waited for the lock says so (every
	// version answers LockClientStopped then); one the server ends between
	// statements (TransactionTimedOut…) names the lock as the likely cause.
	msg := err.Error()
	for _, want := range []string{"neo4j.transaction_timeout (1s)", "a lock another client holds on the graph (Neo.ClientError.Transaction.", "gave up after "} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "unreachable") {
		t.Errorf("the error %q calls the server unreachable", msg)
	}
	retries := logs.FilterMessage("a write timed out; retrying it").Len()
	if retries < 1 {
		t.Errorf("the batch was not retried within max_transaction_retry_time (%s)", lockTestRetry)
	}
	// Each attempt lasts the timeout plus up to the server's check
	// interval (2 s); no attempt starts after the retry budget.
	if bound := lockTestRetry + lockTestTxTimeout + 2*time.Second + 5*time.Second; took < lockTestTxTimeout || took > bound {
		t.Errorf("the upsert failed after %s, want between %s and %s", took, lockTestTxTimeout, bound)
	}
	t.Logf("blocked upsert failed after %s, %d retries: %v", took.Round(time.Millisecond), retries, err)

	release()
	st, err := p.PublishNodes(ctx, testRun(t, p), nodes(bob, ann))
	if err != nil || st.Updated != 1 {
		t.Fatalf("upsert after the release: %+v, %v", st, err)
	}
	got := neo4jtest.Exec(t, d, `MATCH (u:User {key: 'ann@example.com'}) RETURN u.first_name AS first, u.foreign_writer AS foreign`, nil)[0].AsMap()
	if got["first"] != "Annabel" || got["foreign"] != nil {
		t.Errorf("after the release: %v, want first_name Annabel and no foreign_writer", got)
	}
}

// TestDryRunBlockedByAForeignLockEndsIntegration: a dry run's one
// transaction lasts the run, so the server cannot bound one of its
// statements; the client does, at neo4j.transaction_timeout. A dry run
// whose statement waits for another client's lock fails with the cause
// named, and nothing it did stays.
func TestDryRunBlockedByAForeignLockEndsIntegration(t *testing.T) {
	_, d := newPublisher(t, 0)                                              // prepared
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard
	defer cancel()
	neo4jtest.Exec(t, d, `CREATE (:User {key: 'ann@example.com', okta_id: '00uann', first_name: 'Ann'})`, nil)
	cfg := config(neo4jtest.URI(t))
	cfg.DryRun, cfg.TransactionTimeout = true, 2*time.Second
	p, err := neo4j.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	run, err := p.BeginRun(ctx, publisher.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	holdUser(t, d, "ann@example.com")
	ann := user("ann@example.com", "00uann", "Annabel", true)
	start := time.Now()
	_, err = p.PublishNodes(ctx, run, nodes(ann))
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatal("the hang guard expired: the dry run waited for the lock without bound")
	}
	var te *neo4j.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "a statement of the dry run took more than neo4j.transaction_timeout (2s)") {
		t.Fatalf("dry run under a foreign lock: %v, want a *neo4j.TimeoutError", err)
	}
	if took < cfg.TransactionTimeout || took > cfg.TransactionTimeout+5*time.Second {
		t.Errorf("the dry run's statement ended after %s, want about %s", took, cfg.TransactionTimeout)
	}
	t.Logf("blocked dry-run statement failed after %s: %v", took.Round(time.Millisecond), err)
	if err := p.Close(context.Background()); err != nil {
		t.Logf("close after the abandoned statement: %v", err)
	}
	if n := count(t, d, `MATCH (u:User) WHERE u.first_name = 'Annabel' RETURN count(u) AS n`, nil); n != 0 {
		t.Error("the dry run wrote")
	}
}
