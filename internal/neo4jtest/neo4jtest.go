// Package neo4jtest connects integration tests to the real Neo4j that `make test` starts.
//
// The server is a Neo4j 5.26 Community DBMS run from Maven Central jars by
// scripts/neo4j (no Docker). Bolt listens on 127.0.0.1 without TLS and without
// auth. Run integration tests by hand with:
//
//	scripts/neo4j start
//	NEO4J_TEST_URI=bolt://127.0.0.1:7687 go test -p 1 ./...
//
// or simply `make test`, which does both.
//
// Without NEO4J_TEST_URI the tests skip locally, but they fail when CI is set
// (or OKTASYNC_REQUIRE_NEO4J=1): integration tests never skip in CI.
//
// All integration tests, in every package, share the one server and its single
// "neo4j" database, and each test starts with Reset. Packages must therefore not
// run concurrently: `make test` runs `go test -p 1`. Within a package, tests that
// use this helper must not call t.Parallel.
//
// NEO4J_TEST_URI must point at a disposable server: Reset deletes everything in it.
//
// A test that must own its server — kill it, restart it, turn auth on or
// limit its transaction memory — starts a private one with StartServer (on
// a free port, gated like the shared one). Export dumps a whole graph for
// comparing two.
package neo4jtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

const (
	// EnvURI names the environment variable holding the Bolt URI of the test server.
	EnvURI = "NEO4J_TEST_URI"
	// EnvRequire, when "1", turns a missing EnvURI into a test failure (as CI does).
	EnvRequire = "OKTASYNC_REQUIRE_NEO4J"
	// Database is the database every helper runs in: the server's default,
	// named by no name, so that the helpers work on Neo4j 3.5 too.
	Database = ""

	// opTimeout bounds every helper call; the server is local, so this is generous.
	opTimeout = 2 * time.Minute
)

var (
	// deleteBatch is how many nodes one delete transaction removes in Reset
	// (a variable so the test can exercise several batches cheaply).
	deleteBatch int64 = 10_000

	logAgentOnce sync.Once
)

// URI returns the Bolt URI of the integration-test server from NEO4J_TEST_URI.
// If it is unset the test is skipped, or fails when the environment variable CI
// is non-empty or OKTASYNC_REQUIRE_NEO4J=1.
func URI(t testing.TB) string {
	t.Helper()
	if uri := strings.TrimSpace(os.Getenv(EnvURI)); uri != "" {
		return uri
	}
	const how = "start the server with `scripts/neo4j start` and set " + EnvURI +
		"=bolt://127.0.0.1:7687, or run `make test`, which does both"
	if os.Getenv("CI") != "" || os.Getenv(EnvRequire) == "1" {
		t.Fatalf("neo4jtest: %s is not set; integration tests never skip in CI: %s", EnvURI, how)
	}
	t.Skipf("neo4jtest: skipping integration test, %s is not set: %s", EnvURI, how)
	return ""
}

// Driver returns a driver for URI(t) without authentication, after checking
// connectivity. The driver is closed when the test ends.
func Driver(t testing.TB) neo4j.DriverWithContext {
	t.Helper()
	uri := URI(t)
	d, err := neo4j.NewDriverWithContext(uri, neo4j.NoAuth())
	if err != nil {
		t.Fatalf("neo4jtest: creating driver for %s: %v", uri, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("neo4jtest: closing driver: %v", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := d.VerifyConnectivity(ctx); err != nil {
		t.Fatalf("neo4jtest: no Neo4j at %s (is `scripts/neo4j start` running?): %v", uri, err)
	}
	logAgentOnce.Do(func() {
		info, err := d.GetServerInfo(ctx)
		if err != nil {
			t.Logf("neo4jtest: connected to %s (server info unavailable: %v)", uri, err)
			return
		}
		t.Logf("neo4jtest: connected to %s, server %s, Bolt %d.%d", uri, info.Agent(),
			info.ProtocolVersion().Major, info.ProtocolVersion().Minor)
	})
	return d
}

// Reset empties the database: it drops every constraint and every index except
// the built-in token LOOKUP indexes, then deletes all nodes and relationships in
// batches. Call it at the start of each integration test.
func Reset(t testing.TB, d neo4j.DriverWithContext) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := reset(ctx, d); err != nil {
		t.Fatalf("neo4jtest: reset: %v", err)
	}
}

func reset(ctx context.Context, d neo4j.DriverWithContext) error {
	if err := dropSchema(ctx, d); err != nil {
		return err
	}
	// Delete in bounded transactions so a large leftover graph cannot exhaust
	// the transaction memory pool.
	for {
		res, err := neo4j.ExecuteQuery(ctx, d,
			"MATCH (n) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted",
			map[string]any{"limit": deleteBatch},
			neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
		if err != nil {
			return fmt.Errorf("deleting nodes: %w", err)
		}
		deleted, _, err := neo4j.GetRecordValue[int64](res.Records[0], "deleted")
		if err != nil {
			return fmt.Errorf("deleting nodes: %w", err)
		}
		if deleted < deleteBatch {
			return nil
		}
	}
}

// Exec runs cypher with params in database "neo4j" in one retryable write
// transaction and returns all records. It fails the test on error.
func Exec(t testing.TB, d neo4j.DriverWithContext, cypher string, params map[string]any) []*neo4j.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	res, err := neo4j.ExecuteQuery(ctx, d, cypher, params,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
	if err != nil {
		t.Fatalf("neo4jtest: query failed: %v\n%s", err, cypher)
	}
	return res.Records
}

func run(ctx context.Context, d neo4j.DriverWithContext, cypher string, params map[string]any) error {
	_, err := neo4j.ExecuteQuery(ctx, d, cypher, params,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
	return err
}

func names(ctx context.Context, d neo4j.DriverWithContext, cypher string) ([]string, error) {
	res, err := neo4j.ExecuteQuery(ctx, d, cypher, nil,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(Database))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Records))
	for _, rec := range res.Records {
		name, _, err := neo4j.GetRecordValue[string](rec, "name")
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

// quote returns name as a Cypher backtick-quoted identifier.
func quote(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// Lock holds write locks in d as another client would, until release:
// cypher must SET something on what it matches and return how many as n,
// which must be 1. Writes that touch it wait, which pins a run in a phase
// or shows a bounded lock wait. Release rolls back (harmlessly failing on
// a killed server); the test's cleanup releases it too.
func Lock(t testing.TB, d neo4j.DriverWithContext, cypher string, params map[string]any) (release func()) {
	t.Helper()
	ctx := context.Background()
	sess := d.NewSession(ctx, neo4j.SessionConfig{DatabaseName: Database})
	tx, err := sess.BeginTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Run(ctx, cypher, params)
	var rec *neo4j.Record
	if err == nil {
		rec, err = res.Single(ctx)
	}
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	if n, _ := rec.Get("n"); n != int64(1) {
		t.Fatalf("lock matched %v, want 1", n)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_ = tx.Rollback(rctx)
			_ = sess.Close(rctx)
		})
	}
	t.Cleanup(release)
	return release
}
