package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
)

// unreachableHint ends what `oktasync sync` prints when Neo4j does not
// answer at start, after "oktasync: neo4j URI unreachable: <driver error>".
const unreachableHint = "Check NEO4J_URI and that the server is running; nothing was read or written."

// checkUnreachable runs a sync against uri, where nothing answers: exit 1,
// the exact message, and not one request to Okta.
func checkUnreachable(t *testing.T, env map[string]string, cfg, uri string, oktaRequests func() int) {
	t.Helper()
	env = copyEnv(env)
	env["NEO4J_URI"] = uri
	before := oktaRequests()
	code, stdout, stderr := runBinary(t, env, "sync", "--config", cfg, "--summary", "text")
	if code != exitFailed {
		t.Fatalf("Neo4j down at start: exit %d, want %d\n%s", code, exitFailed, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if n := len(lines); n < 2 || !strings.HasPrefix(lines[n-2], "oktasync: neo4j "+uri+" unreachable: ") || lines[n-1] != unreachableHint {
		t.Errorf("Neo4j down at start: the message ends\n%s\nwant \"oktasync: neo4j %s unreachable: …\" then %q", tail(stderr, 1000), uri, unreachableHint)
	}
	if stdout != "" {
		t.Errorf("Neo4j down at start printed a summary:\n%s", stdout)
	}
	if got := oktaRequests() - before; got != 0 {
		t.Errorf("Neo4j down at start: %d requests to Okta, want none", got)
	}
}

func copyEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	return out
}

// TestCLINeo4jUnreachableAtStart: nothing listens at NEO4J_URI. The exact
// message and exit code, and Okta is never read.
func TestCLINeo4jUnreachableAtStart(t *testing.T) {
	_, url := oktasimtest.Start(t, oktasim.Config{Users: 20, Seed: 3})
	gate := startPagingGate(t, url)
	env := map[string]string{"OKTA_ORG_URL": gate.URL, "OKTA_API_TOKEN": "unreachable-token-0123"}
	cfg := writeConfig(t, "neo4j:\n  connect_timeout: 2s\n")
	port := freePort(t) // closed again: nothing listens there
	checkUnreachable(t, env, cfg, "bolt://"+port, gate.listRequests)
}

// TestCLINeo4jKilledMidPublish SIGKILLs a private Neo4j while the oktasync
// binary publishes — once in the node batches, once in the manager pass,
// each phase pinned by a lock — then restarts it (crash recovery). The run
// exits 1 within a bounded time and deactivates nobody; while the server is
// down a new run says it is unreachable and reads nothing; after the
// restart the summary's updates are in the graph, and a clean re-run
// converges to the graph of a twin that never saw a fault (full exports:
// nodes, properties but run metadata, relationships, schema).
func TestCLINeo4jKilledMidPublish(t *testing.T) {
	srv := neo4jtest.StartServer(t, neo4jtest.ServerOptions{})
	tw := newTwin(t, 800*soakScale(), 47, srv.URI, srv.Driver(t, neo4jdriver.NoAuth()))
	tw.syncBoth(t)
	phases := runPhases()
	for _, ph := range []int{1, 2} { // node_batches, manager_pass
		name, pin := phases[ph].name, phases[ph].pin
		t.Run(name, func(t *testing.T) {
			c := tw.mutate(t, 60, 30, 8)
			wait, release := pin(t, tw, c)
			p := startBinary(t, tw.env, "sync", "--config", tw.cfg, "--log-level", "debug", "--summary", "json")
			wait(p)
			killed := time.Now()
			srv.Kill(t)
			release()                        // its connection died with the server
			code := p.wait(t, 3*time.Minute) // a hang guard
			took := time.Since(killed)
			stderr := p.stderr.String()
			if code != exitFailed {
				t.Fatalf("exit %d, want %d\n%s", code, exitFailed, tail(stderr, 4000))
			}
			var sum jobs.Summary
			if err := json.Unmarshal([]byte(p.stdout.String()), &sum); err != nil {
				t.Fatalf("summary: %v\n%s", err, p.stdout.String())
			}
			if sum.Outcome != "failure" || sum.DeactivatedMissing != 0 || strings.Contains(stderr, logReconcile) {
				t.Errorf("summary: outcome %q, %d deactivated (reconciliation logged: %v)", sum.Outcome, sum.DeactivatedMissing, strings.Contains(stderr, logReconcile))
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			t.Logf("killed in the %s: exit %d %s later: %s", name, code, took.Round(time.Millisecond), lines[len(lines)-1])

			checkUnreachable(t, tw.env, tw.cfg, srv.URI, tw.okta.listRequests)

			srv.Start(t)
			if got := tw.inactive(t); got != c.inactiveBeforeInSUT {
				t.Errorf("inactive users %d -> %d after the kill: someone was deactivated", c.inactiveBeforeInSUT, got)
			}
			if inGraph := tw.inDept(t, c.dept); int64(sum.Updated) > inGraph {
				t.Errorf("the summary counts %d updated, the graph holds %d after recovery", sum.Updated, inGraph)
			}
			t.Logf("%d of %d changed users updated before the kill", sum.Updated, len(c.moved)+len(c.reassigned))
			tw.converge(t)
		})
	}
}

// lockTimeoutConfig makes a lock wait short: each transaction may run 1 s,
// and a failed write is retried while 6 s have not passed since its first
// attempt.
const lockTimeoutConfig = `okta:
  page_size: 50
sync:
  batch_size: 50
neo4j:
  transaction_timeout: 1s
  max_transaction_retry_time: 6s
`

// TestCLINeo4jForeignLockEndsTheRun: another client holds a write
// transaction on one user oktasync must update (an open transaction that
// SET a property on it, as issue 20's D2 did). `oktasync sync` ends by
// itself: the batch's write is ended at neo4j.transaction_timeout, retried
// (logged) within neo4j.max_transaction_retry_time, then the run fails with
// exit 1, the cause named (not "unreachable") and what to do; nobody is
// deactivated and no watermark is saved. Once the lock is released a sync
// succeeds and writes the change.
func TestCLINeo4jForeignLockEndsTheRun(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 29})
	env := map[string]string{"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "foreign-lock-token-0123", "NEO4J_URI": neo4jtest.URI(t)}
	cfg := writeConfig(t, lockTimeoutConfig)
	if code, _, stderr := runBinary(t, env, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(stderr, 4000))
	}
	var held oktasim.User
	for _, u := range sim.Users() {
		if u.Status == oktasim.StatusActive && neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: $id}) RETURN count(u) AS n`, map[string]any{"id": u.Id})[0].AsMap()["n"] == int64(1) {
			held = u
			break
		}
	}
	if err := sim.UpdateProfile(held.Id, map[string]any{"title": "Lock Holder's Victim"}); err != nil {
		t.Fatal(err)
	}
	inactive := func() int64 {
		return neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.is_active = false RETURN count(u) AS n`, nil)[0].AsMap()["n"].(int64)
	}
	inactiveBefore := inactive()
	state := func() any {
		return neo4jtest.Exec(t, d, `MATCH (s:OktasyncState) RETURN collect([s.watermark, s.last_full_sync]) AS w`, nil)[0].AsMap()["w"]
	}
	stateBefore := state()
	if reflect.DeepEqual(stateBefore, []any{}) {
		t.Fatal("the first sync saved no sync state")
	}

	release := lockNode(t, d, held.Id)
	start := time.Now()
	p := startBinary(t, env, "sync", "--config", cfg, "--summary", "json")
	code := p.wait(t, 2*time.Minute) // a hang guard: the lock is never released before the run ends
	took := time.Since(start)
	stderr := p.stderr.String()
	if code != exitFailed {
		t.Fatalf("sync under a foreign lock: exit %d, want %d\n%s", code, exitFailed, tail(stderr, 4000))
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	msg := strings.Join(lines[max(0, len(lines)-2):], "\n")
	for _, want := range []string{
		"oktasync: ", "neo4j.transaction_timeout (1s)", "a lock another client holds on the graph (Neo.ClientError.Transaction.", "gave up after ",
		"Another client kept a write transaction open", "SHOW TRANSACTIONS", "run again to finish",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "unreachable") {
		t.Errorf("the message calls Neo4j unreachable:\n%s", msg)
	}
	if !strings.Contains(stderr, `"msg":"a write timed out; retrying it"`) {
		t.Errorf("no retry was logged within neo4j.max_transaction_retry_time:\n%s", tail(stderr, 4000))
	}
	var sum jobs.Summary
	if err := json.Unmarshal([]byte(p.stdout.String()), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, p.stdout.String())
	}
	if sum.Outcome != "failure" || sum.DeactivatedMissing != 0 {
		t.Errorf("summary: outcome %q, %d deactivated", sum.Outcome, sum.DeactivatedMissing)
	}
	if got := inactive(); got != inactiveBefore {
		t.Errorf("inactive users %d -> %d: a failed run deactivated someone", inactiveBefore, got)
	}
	if got := state(); !reflect.DeepEqual(got, stateBefore) {
		t.Errorf("the failed run moved the watermark: %v -> %v", stateBefore, got)
	}
	t.Logf("sync under a foreign lock ended after %s: %s", took.Round(time.Millisecond), lines[len(lines)-2])

	release()
	if code, _, stderr := runBinary(t, env, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("sync after the release: exit %d\n%s", code, tail(stderr, 4000))
	}
	got := neo4jtest.Exec(t, d, `MATCH (u:User {okta_id: $id}) RETURN u.role_name AS role, u.oktasync_test_lock AS lock`, map[string]any{"id": held.Id})[0].AsMap()
	if got["role"] != "Lock Holder's Victim" || got["lock"] != nil {
		t.Errorf("after the release: %v, want the new title and no trace of the other client's write", got)
	}
}
