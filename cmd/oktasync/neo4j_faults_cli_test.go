package main

import (
	"encoding/json"
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
