package neo4jtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Server is a private Neo4j a test may kill, restart or configure: its own
// process (scripts/neo4j), on a free port, with its data in the test's temp
// dir. It is stopped when the test ends. It exists only where integration
// tests run (URI(t) decides, so it skips or fails exactly like them).
type Server struct {
	URI     string
	Port    int
	DataDir string
	env     []string
	root    string
}

// ServerOptions configure a private server.
type ServerOptions struct {
	// Auth is "" (no auth) or USER/PASSWORD (scripts/neo4j NEO4J_AUTH).
	Auth string
	// TxMemoryMax is the transaction memory limit, e.g. "4m" ("" = Neo4j's
	// default): db.memory.transaction.max on 5.26, dbms.memory.transaction.max_size
	// on 4.4. Neo4j 3.5 has no such limit: there a test that sets it is skipped.
	TxMemoryMax string
}

// StartServer starts a private Neo4j with opts. Starting takes some
// seconds (a JVM and a fresh store): use it only where a test must own the
// server, and keep the shared one (Driver) for everything else.
//
// The server is of the version the caller's NEO4J_VERSION names (3.5, 4.4 or
// 5.26, the default), like the shared one scripts/with-neo4j starts: the
// script's environment is the test's, plus the server's own settings.
func StartServer(t testing.TB, opts ServerOptions) *Server {
	t.Helper()
	URI(t) // the integration-test gate
	if v := os.Getenv("NEO4J_VERSION"); v == "3.5" && opts.TxMemoryMax != "" {
		t.Skipf("neo4jtest: NEO4J_VERSION=%s: Neo4j 3.5 has no transaction memory limit (TxMemoryMax %q)", v, opts.TxMemoryMax)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("neo4jtest: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("neo4jtest: %v", err)
	}
	auth := opts.Auth
	if auth == "" {
		auth = "none"
	}
	s := &Server{
		URI: fmt.Sprintf("bolt://127.0.0.1:%d", port), Port: port, DataDir: filepath.Join(t.TempDir(), "neo4j"), root: root,
		env: []string{"NEO4J_PORT=" + strconv.Itoa(port), "NEO4J_AUTH=" + auth, "NEO4J_TX_MEMORY_MAX=" + opts.TxMemoryMax,
			"NEO4J_HEAP=512m", "NEO4J_PAGECACHE_MB=32"},
	}
	s.env = append(s.env, "NEO4J_DATA_DIR="+s.DataDir)
	t.Cleanup(func() {
		if out, err := s.script("stop"); err != nil {
			t.Errorf("neo4jtest: stopping the private server: %v\n%s", err, out)
		}
	})
	s.Start(t)
	return s
}

// Start starts the server (again), on its port and data.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if out, err := s.script("start"); err != nil {
		t.Fatalf("neo4jtest: starting a private Neo4j (NEO4J_VERSION=%q) on port %d: %v\n%s", os.Getenv("NEO4J_VERSION"), s.Port, err, out)
	}
}

// Kill sends SIGKILL to the server process, as an OOM killer or a node
// failure would, and waits until it is gone.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "neo4j.pid"))
	if err != nil {
		t.Fatalf("neo4jtest: reading the pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("neo4jtest: pid file holds %q", b)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("neo4jtest: SIGKILL %d: %v", pid, err)
	}
	deadline := time.Now().Add(time.Minute)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("neo4jtest: pid %d alive a minute after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Driver returns a driver for the server with auth (neo4j.NoAuth() for a
// server without), closed when the test ends.
func (s *Server) Driver(t testing.TB, auth neo4j.AuthToken) neo4j.DriverWithContext {
	t.Helper()
	d, err := neo4j.NewDriverWithContext(s.URI, auth)
	if err != nil {
		t.Fatalf("neo4jtest: %v", err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func (s *Server) script(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "scripts", "neo4j"), args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "neo4j")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no scripts/neo4j above the working directory")
		}
		dir = parent
	}
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// RunMetadata lists the properties that differ between two runs that
// leave the same graph: the run's tag and timestamps, the seen marker, the
// version (a deactivation's is the time Okta was read), and the sync
// state's clock times (the watermark is never past the read's start, so a
// run that raced changes records a clock time there too).
func RunMetadata() []string {
	return []string{"published_tag", "publisher_last_updated_epoch_ms", "oktasync_seen_epoch_ms", "oktasync_version_epoch_ms",
		"last_full_sync", "last_incremental_sync", "updated_epoch_ms", "watermark", "reconcile_owed"}
}

// Export dumps the whole graph deterministically as JSON: every node (its
// labels and properties), every relationship (its ends, type and
// properties) and the constraints and indexes, leaving out the properties
// named in omit. Two graphs are the same if their exports are equal.
func Export(t testing.TB, d neo4j.DriverWithContext, omit ...string) string {
	t.Helper()
	drop := map[string]bool{}
	for _, k := range omit {
		drop[k] = true
	}
	clean := func(v any) map[string]any {
		m, _ := v.(map[string]any)
		out := make(map[string]any, len(m))
		for k, x := range m {
			if !drop[k] {
				out[k] = x
			}
		}
		return out
	}
	type node struct {
		Labels []any          `json:"labels"`
		Props  map[string]any `json:"props"`
	}
	var nodes []node
	for _, r := range Exec(t, d, `MATCH (n) RETURN labels(n) AS l, properties(n) AS p`, nil) {
		m := r.AsMap()
		nodes = append(nodes, node{m["l"].([]any), clean(m["p"])})
	}
	type rel struct {
		From, Type, To string
		Props          map[string]any
	}
	var rels []rel
	for _, r := range Exec(t, d, `MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p,
		coalesce(a.key, a.org, toString(id(a))) AS ak, coalesce(b.key, b.org, toString(id(b))) AS bk`, nil) {
		m := r.AsMap()
		rels = append(rels, rel{m["ak"].(string), m["t"].(string), m["bk"].(string), clean(m["p"])})
	}
	schema := Schema(t, d)
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	sort.Slice(nodes, func(i, j int) bool { return enc(nodes[i]) < enc(nodes[j]) })
	sort.Slice(rels, func(i, j int) bool { return enc(rels[i]) < enc(rels[j]) })
	b, err := json.MarshalIndent(map[string]any{"nodes": nodes, "relationships": rels, "schema": schema}, "", " ")
	if err != nil {
		t.Fatalf("neo4jtest: export: %v", err)
	}
	return string(b)
}
