package neo4j_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	neo4jdriver "github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// TestBatchTooLargeForTransactionMemoryIsSplitIntegration runs a private
// Neo4j whose transactions may use 4 MiB (db.memory.transaction.max) and
// publishes batches that need more. Each is split in halves until the
// parts fit, and everything lands: nodes and manager edges, counted once.
// The driver may retry transient errors for an hour here, so a publisher
// that let it retry a memory refusal unchanged would run into the hang
// guard instead. A single row that cannot fit fails at once with a
// *neo4j.MemoryError.
func TestBatchTooLargeForTransactionMemoryIsSplitIntegration(t *testing.T) {
	srv := neo4jtest.StartServer(t, neo4jtest.ServerOptions{TxMemoryMax: "4m"})
	d := srv.Driver(t, neo4jdriver.NoAuth())
	core, logs := observer.New(zap.DebugLevel)
	cfg := config(srv.URI)
	cfg.MaxTransactionRetryTime = time.Hour
	p, err := neo4j.New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // hang guard
	defer cancel()
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}

	const n = 2500
	us := make([]extractor.User, n)
	for i := range us {
		u := user(fmt.Sprintf("user%05d@example.com", i), fmt.Sprintf("00u%05d", i), strings.Repeat("F", 200), true)
		// The manager is the last user: most are created before it, so
		// their pairs are left to the manager pass.
		if i < n-1 {
			u.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: fmt.Sprintf("00u%05d", n-1)}
		}
		us[i] = u
	}
	run := testRun(t, p)
	st, err := p.PublishNodes(ctx, run, nodes(us...))
	if err != nil {
		t.Fatalf("PublishNodes: %v", err)
	}
	if st.Created != n {
		t.Errorf("created %d, want %d (each user counted once)", st.Created, n)
	}
	splits := logs.FilterMessage("splitting a batch the server has no transaction memory for").All()
	if len(splits) == 0 {
		t.Fatal("the node batch was never split: raise n or lower the memory limit so that it needs splitting")
	}
	if first := splits[0].ContextMap(); first["rows"] != int64(n) || !strings.Contains(fmt.Sprint(first["error"]), "OutOfMemoryError") {
		t.Errorf("first split: %v", first)
	}
	t.Logf("node batch of %d split %d times", n, len(splits))
	if got := count(t, d, `MATCH (u:User) RETURN count(u) AS n`, nil); got != n {
		t.Errorf("%d users in the graph, want %d", got, n)
	}

	before := len(splits)
	ms, err := p.LinkManagers(ctx, run)
	if err != nil {
		t.Fatalf("LinkManagers: %v", err)
	}
	decided := 0
	for _, e := range logs.FilterMessage("decided manager pairs").All() {
		decided += int(e.ContextMap()["rows"].(int64))
	}
	if ms.Linked != n-1 || ms.Kept != 0 || ms.Missing != 0 || decided < n/2 {
		t.Errorf("LinkManagers = %+v after deciding %d rows, want %d linked, most of them decided after the nodes", ms, decided, n-1)
	}
	if got := count(t, d, `MATCH (:User)-[:MANAGE_BY]->(:User {okta_id: '00u02499'}) RETURN count(*) AS n`, nil); got != n-1 {
		t.Errorf("%d MANAGE_BY edges, want %d", got, n-1)
	}
	t.Logf("manager batch of %d split %d times", n, logs.FilterMessage("splitting a batch the server has no transaction memory for").Len()-before)

	// Idempotent after the split: nothing left to write.
	st, err = p.PublishNodes(ctx, testRun(t, p), nodes(us...))
	if err != nil || st.Unchanged != n {
		t.Errorf("second publish: %+v, %v", st, err)
	}

	// One row bigger than the limit cannot be split: a typed error, at once.
	big := user("big@example.com", "00ubig", strings.Repeat("x", 6<<20), true)
	_, err = p.PublishNodes(ctx, testRun(t, p), nodes(big))
	var me *neo4j.MemoryError
	if !errors.As(err, &me) || !strings.Contains(me.Code, "OutOfMemoryError") {
		t.Fatalf("a row over the limit: %v, want a *neo4j.MemoryError", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the hang guard expired")
	}
}
