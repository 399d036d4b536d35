package main

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/jobs"
)

// interruptedHint is what an interrupted run tells the operator.
const interruptedHint = "Interrupted: batches already written are complete; run again to finish."

// pin holds a run in one phase: it sets up what makes the phase last and
// returns how to wait until the binary is in it, and the release.
type pin func(t *testing.T, tw *twin, c change) (wait func(*proc), release func())

// runPhases are the phases of a full sync, each pinned deterministically:
// paging by holding an Okta page; the node batches by a lock on a node a
// batch must write; the manager pass by a lock on a MANAGE_BY pair it must
// replace; reconciliation by a lock on a user it must deactivate.
func runPhases() []struct {
	name string
	pin  pin
} {
	return []struct {
		name string
		pin  pin
	}{
		{"paging", func(t *testing.T, tw *twin, c change) (func(*proc), func()) {
			held, release := tw.okta.holdNth(6)
			return func(p *proc) {
				select {
				case <-held:
				case <-p.done:
					t.Fatalf("oktasync exited before its sixth page\n%s", tail(p.stderr.String(), 4000))
				case <-time.After(2 * time.Minute):
					t.Fatal("oktasync did not ask for a sixth page in two minutes")
				}
			}, release
		}},
		{"node_batches", func(t *testing.T, tw *twin, c change) (func(*proc), func()) {
			release := lockNode(t, tw.sut, c.moved[len(c.moved)/2].Id)
			return func(p *proc) { waitForLog(t, p, logNodeBatch) }, release
		}},
		{"manager_pass", func(t *testing.T, tw *twin, c change) (func(*proc), func()) {
			for _, u := range c.reassigned {
				n := neo4jtest.Exec(t, tw.sut, `MATCH (:User {okta_id: $id})-[r:MANAGE_BY]->(m) WHERE m.okta_id <> $new RETURN count(r) AS n`,
					map[string]any{"id": u.Id, "new": c.newManagerOf[u.Id]})[0].AsMap()["n"].(int64)
				if n == 1 {
					release := lockManagerEdge(t, tw.sut, u.Id)
					return func(p *proc) { waitForLog(t, p, logManagerPass) }, release
				}
			}
			t.Fatal("no reassigned user has a manager edge to replace")
			return nil, nil
		}},
		{"reconciliation", func(t *testing.T, tw *twin, c change) (func(*proc), func()) {
			release := lockNode(t, tw.sut, c.deleted[0].Id)
			return func(p *proc) { waitForLog(t, p, logReconcile) }, release
		}},
	}
}

// TestCLIInterruptedRunsStopCleanly sends SIGTERM and SIGINT to the
// oktasync binary in each phase of a full sync — paging, node batches, the
// manager pass, reconciliation — with 250 staged (skipped) users, more than
// one batch (sync.batch_size: 200). Every run exits 1 in bounded time with
// the interrupted hint, deactivates nobody, and its summary counts exactly
// the updates the graph holds; a clean re-run converges to the graph of an
// uninterrupted twin.
func TestCLIInterruptedRunsStopCleanly(t *testing.T) {
	srv := neo4jtest.StartServer(t, neo4jtest.ServerOptions{})
	tw := newTwin(t, 600*soakScale(), 43, srv.URI, srv.Driver(t, neo4jdriver.NoAuth()))
	tw.syncBoth(t)
	for _, ph := range runPhases() {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(ph.name+"/"+strings.ToUpper(sigName(sig)), func(t *testing.T) {
				c := tw.mutate(t, 40, 20, 5)
				wait, release := ph.pin(t, tw, c)
				p := startBinary(t, tw.env, "sync", "--config", tw.cfg, "--log-level", "debug", "--summary", "json")
				wait(p)
				if err := p.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				code := p.wait(t, 2*time.Minute) // a hang guard
				release()
				stderr := p.stderr.String()
				if code != exitFailed {
					t.Fatalf("exit %d, want %d\n%s", code, exitFailed, tail(stderr, 4000))
				}
				if !strings.Contains(stderr, interruptedHint) || strings.Contains(stderr, `"msg":"sync finished"`) {
					t.Errorf("stderr lacks the interrupted hint or says finished:\n%s", tail(stderr, 3000))
				}
				var sum jobs.Summary
				if err := json.Unmarshal([]byte(p.stdout.String()), &sum); err != nil {
					t.Fatalf("summary: %v\n%s", err, p.stdout.String())
				}
				if sum.Outcome != "failure" || sum.DeactivatedMissing != 0 {
					t.Errorf("summary: outcome %q, %d deactivated", sum.Outcome, sum.DeactivatedMissing)
				}
				if got := tw.inactive(t); got != c.inactiveBeforeInSUT {
					t.Errorf("inactive users %d -> %d: an interrupted run deactivated someone", c.inactiveBeforeInSUT, got)
				}
				if inGraph := tw.inDept(t, c.dept); int64(sum.Updated) != inGraph {
					t.Errorf("the summary counts %d updated; the graph holds %d of the %d changed users", sum.Updated, inGraph, len(c.moved)+len(c.reassigned))
				}
				t.Logf("interrupted: %d of %d changed users updated, %d seen, %d skipped", sum.Updated, len(c.moved)+len(c.reassigned), sum.Seen, sum.Skipped)
				tw.converge(t)
			})
		}
	}
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "sigint"
	}
	return "sigterm"
}
