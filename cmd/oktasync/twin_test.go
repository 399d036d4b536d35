package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
)

// twin runs the same Okta org into two graphs: sut, the one a test
// interrupts, kills or races, and ref, which only ever gets clean runs.
// Both start empty and see the same runs, so after the test's faulty run
// and a clean re-run of sut, the two must export the same graph, run
// metadata aside.
type twin struct {
	sim     *oktasim.Server
	okta    *pagingGate // the org as the binary sees it
	cfg     string
	env     map[string]string // for sut
	sut     neo4jdriver.DriverWithContext
	ref     neo4jdriver.DriverWithContext
	refURI  string
	counter int
}

// twinConfig keeps runs small and phases long enough to catch: pages of
// 100, batches of 200, two writers, and Neo4j failures retried for 15 s
// (enough for the deadlocks two writers of manager edges can meet on a
// loaded machine, short enough for a killed server).
const twinConfig = `okta:
  page_size: 100
  max_retries: 1
  retry_backoff: 10ms
sync:
  batch_size: 200
neo4j:
  max_transaction_retry_time: 15s
`

// newTwin starts the simulator with users (plus staged users, skipped,
// more than one batch of them) and gives sut its URI; ref is the shared
// test server, emptied.
func newTwin(t *testing.T, users int, seed int64, sutURI string, sut neo4jdriver.DriverWithContext) *twin {
	t.Helper()
	ref := neo4jtest.Driver(t)
	neo4jtest.Reset(t, ref)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: users, Seed: seed})
	for i := range 250 {
		email := fmt.Sprintf("staged.%03d@example.com", i)
		if _, err := sim.Create(map[string]any{"login": email, "email": email, "firstName": "Staged", "lastName": fmt.Sprint(i)}, oktasim.StatusStaged); err != nil {
			t.Fatal(err)
		}
	}
	gate := startPagingGate(t, url)
	tw := &twin{sim: sim, okta: gate, cfg: writeConfig(t, twinConfig), sut: sut, ref: ref, refURI: neo4jtest.URI(t)}
	tw.env = map[string]string{"OKTA_ORG_URL": gate.URL, "OKTA_API_TOKEN": "twin-token-0123456789", "NEO4J_URI": sutURI}
	return tw
}

// syncClean runs a clean sync into uri and fails the test unless it succeeds.
func (tw *twin) syncClean(t *testing.T, uri string) jobs.Summary {
	t.Helper()
	env := map[string]string{}
	for k, v := range tw.env {
		env[k] = v
	}
	env["NEO4J_URI"] = uri
	code, stdout, stderr := runBinary(t, env, "sync", "--config", tw.cfg, "--summary", "json")
	if code != exitOK {
		t.Fatalf("clean sync into %s: exit %d\n%s", uri, code, tail(stderr, 4000))
	}
	var sum jobs.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	return sum
}

// syncBoth runs a clean sync into both graphs.
func (tw *twin) syncBoth(t *testing.T) {
	t.Helper()
	tw.syncClean(t, tw.refURI)
	tw.syncClean(t, tw.env["NEO4J_URI"])
}

// converge re-runs sut cleanly, runs ref once, and compares the graphs.
func (tw *twin) converge(t *testing.T) {
	t.Helper()
	tw.syncClean(t, tw.env["NEO4J_URI"])
	tw.syncClean(t, tw.refURI)
	got := neo4jtest.Export(t, tw.sut, neo4jtest.RunMetadata()...)
	want := neo4jtest.Export(t, tw.ref, neo4jtest.RunMetadata()...)
	if got != want {
		t.Fatalf("the re-run did not converge to a clean run's graph:\n%s", firstDiff(got, want))
	}
}

// change is what one round changes in Okta: profiles of moved users (to a
// department unique to the round), managers of reassigned users (moved to
// that department too), and deleted users (within the safety cap).
type change struct {
	dept                string
	moved, reassigned   []oktasim.User
	deleted             []oktasim.User
	newManagerOf        map[string]string
	inactiveBeforeInSUT int64
}

// mutate makes one round of changes in Okta.
func (tw *twin) mutate(t *testing.T, moved, reassigned, deleted int) change {
	t.Helper()
	tw.counter++
	c := change{dept: fmt.Sprintf("Moved-%d", tw.counter), newManagerOf: map[string]string{}}
	var pool []oktasim.User
	for _, u := range tw.sim.Users() {
		email, _ := u.Profile["email"].(string)
		if u.Status == oktasim.StatusActive && strings.Contains(email, "@") && !strings.HasPrefix(email, "staged.") {
			pool = append(pool, u)
		}
	}
	if len(pool) < moved+2*reassigned+deleted+1 {
		t.Fatalf("only %d active users", len(pool))
	}
	// Spread the picks over the org, so they fall in many batches.
	step := len(pool) / (moved + 2*reassigned + deleted + 1)
	pick := func(i int) oktasim.User { return pool[(i*step+tw.counter)%len(pool)] }
	i := 0
	for range moved {
		u := pick(i)
		i++
		if err := tw.sim.UpdateProfile(u.Id, map[string]any{"department": c.dept}); err != nil {
			t.Fatal(err)
		}
		c.moved = append(c.moved, u)
	}
	for range reassigned {
		u, m := pick(i), pick(i+1)
		i += 2
		if err := tw.sim.SetManager(u.Id, m.Id); err != nil {
			t.Fatal(err)
		}
		// Every user a round updates is in its department, so the graph
		// tells how many updates committed.
		if err := tw.sim.UpdateProfile(u.Id, map[string]any{"department": c.dept}); err != nil {
			t.Fatal(err)
		}
		c.reassigned = append(c.reassigned, u)
		c.newManagerOf[u.Id] = m.Id
	}
	for range deleted {
		u := pick(i)
		i++
		if err := tw.sim.Delete(u.Id); err != nil {
			t.Fatal(err)
		}
		c.deleted = append(c.deleted, u)
	}
	c.inactiveBeforeInSUT = tw.inactive(t)
	return c
}

// inactive counts sut's inactive users.
func (tw *twin) inactive(t *testing.T) int64 {
	t.Helper()
	return neo4jtest.Exec(t, tw.sut, `MATCH (u:User) WHERE u.is_active = false RETURN count(u) AS n`, nil)[0].AsMap()["n"].(int64)
}

// inDept counts sut's users in dept.
func (tw *twin) inDept(t *testing.T, dept string) int64 {
	t.Helper()
	return neo4jtest.Exec(t, tw.sut, `MATCH (u:User {team_name: $d}) RETURN count(u) AS n`, map[string]any{"d": dept})[0].AsMap()["n"].(int64)
}

// lockNode write-locks the node of Okta user id.
func lockNode(t *testing.T, d neo4jdriver.DriverWithContext, id string) func() {
	return neo4jtest.Lock(t, d, `MATCH (u:User {okta_id: $id}) SET u.oktasync_test_lock = true RETURN count(u) AS n`, map[string]any{"id": id})
}

// lockManagerEdge write-locks the MANAGE_BY relationship of Okta user id.
func lockManagerEdge(t *testing.T, d neo4jdriver.DriverWithContext, id string) func() {
	return neo4jtest.Lock(t, d, `MATCH (:User {okta_id: $id})-[r:MANAGE_BY]->() SET r.oktasync_test_lock = true RETURN count(r) AS n`, map[string]any{"id": id})
}

// waitForLog waits until the process's stderr holds s (a log message) and
// fails the test if it exits first or takes over two minutes.
func waitForLog(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.stderr.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("oktasync exited before logging %q\n%s", s, tail(p.stderr.String(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oktasync did not log %q in two minutes\n%s", s, tail(p.stderr.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log messages that mark the phases of a run (at debug level).
const (
	logNodeBatch   = `"msg":"published users"`
	logManagerPass = `"msg":"nodes published; writing manager edges"`
	logReconcile   = `"msg":"manager edges published; reconciling"`
)

// pagingGate is a reverse proxy in front of the simulator that can hold a
// list-users request: the binary is then pinned in the middle of paging.
type pagingGate struct {
	URL string

	mu      sync.Mutex
	lists   int // list requests so far
	holdAt  int // the list request to hold (1-based; 0 = none)
	seen    int
	held    chan struct{} // closed when the request is being held
	release chan struct{}
}

func startPagingGate(t *testing.T, target string) *pagingGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &pagingGate{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // a client that hung up is expected here
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/users" {
			g.mu.Lock()
			g.lists++
			g.seen++
			hold := g.holdAt != 0 && g.seen == g.holdAt
			held, release := g.held, g.release
			g.mu.Unlock()
			if hold {
				close(held)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// listRequests counts the list-users requests so far.
func (g *pagingGate) listRequests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lists
}

// holdNth makes the gate hold the nth list request from now on; it returns
// a channel closed when that request is held, and the release.
func (g *pagingGate) holdNth(n int) (held <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holdAt, g.seen = n, 0
	g.held, g.release = make(chan struct{}), make(chan struct{})
	rel := g.release
	var once sync.Once
	return g.held, func() {
		once.Do(func() {
			close(rel)
			g.mu.Lock()
			g.holdAt = 0
			g.mu.Unlock()
		})
	}
}

// firstDiff shows where two exports first differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			lo := max(0, i-8)
			return fmt.Sprintf("line %d (of %d and %d):\n--- got\n%s\n--- want\n%s", i+1, len(al), len(bl),
				strings.Join(al[lo:min(len(al), i+8)], "\n"), strings.Join(bl[lo:min(len(bl), i+8)], "\n"))
		}
	}
	return fmt.Sprintf("one export is a prefix of the other (%d and %d lines)", len(al), len(bl))
}
