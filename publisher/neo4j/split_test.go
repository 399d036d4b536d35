package neo4j

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/publisher"
)

// TestMemoryRefusalIsNotRetried: the driver would retry Neo4j's memory
// refusals (transient errors) unchanged; notRetried turns them, and only
// them, into a *MemoryError the driver's retry test rejects.
func TestMemoryRefusalIsNotRetried(t *testing.T) {
	for _, c := range []struct {
		code   string
		memory bool
	}{
		{"Neo.TransientError.General.MemoryPoolOutOfMemoryError", true},
		{"Neo.TransientError.General.TransactionMemoryLimit", true},
		{"Neo.ClientError.General.TransactionOutOfMemoryError", true}, // 4.4
		{"Neo.TransientError.Transaction.DeadlockDetected", false},
		{"Neo.TransientError.General.DatabaseUnavailable", false},
		{"Neo.ClientError.Statement.SyntaxError", false},
	} {
		orig := fmt.Errorf("upsert: %w", &neo4j.Neo4jError{Code: c.code, Msg: "details"})
		got := notRetried(orig)
		if outOfMemory(got) != c.memory {
			t.Errorf("%s: outOfMemory %v, want %v", c.code, outOfMemory(got), c.memory)
		}
		if c.memory && neo4j.IsRetryable(got) {
			t.Errorf("%s: still retryable after notRetried", c.code)
		}
		if !c.memory && got != orig {
			t.Errorf("%s: changed to %v", c.code, got)
		}
	}
}

// TestSplitOnMemoryHalvesDownToOneRow: a write that fails for memory above
// a size is split in halves until every part fits; stats add up what
// committed, also when a single row cannot fit.
func TestSplitOnMemoryHalvesDownToOneRow(t *testing.T) {
	mem := &MemoryError{Code: "Neo.TransientError.General.MemoryPoolOutOfMemoryError"}
	for _, c := range []struct {
		rows, fits, bad int // bad: a row index that never fits (-1: none)
		calls, created  int
		fails           bool
	}{
		{rows: 10, fits: 10, bad: -1, calls: 1, created: 10},
		{rows: 10, fits: 3, bad: -1, calls: 1 + 2 + 4, created: 10},
		{rows: 8, fits: 1, bad: -1, calls: 15, created: 8},
		{rows: 8, fits: 8, bad: 5, calls: 6, created: 5, fails: true}, // [0-7] [0-3] [4-7] [4 5] [4] [5]: stops at the row that cannot fit
	} {
		calls := 0
		var committed []int
		write := func(_ context.Context, rows []int) (publisher.NodeStats, error) {
			calls++
			for _, r := range rows {
				if r == c.bad {
					return publisher.NodeStats{}, mem
				}
			}
			if len(rows) > c.fits {
				return publisher.NodeStats{}, mem
			}
			committed = append(committed, rows...)
			return publisher.NodeStats{Created: len(rows)}, nil
		}
		rows := make([]int, c.rows)
		for i := range rows {
			rows[i] = i
		}
		st, err := splitOnMemory(context.Background(), zap.NewNop(), rows, write)
		if (err != nil) != c.fails || (err != nil && !errors.Is(err, mem)) {
			t.Errorf("%+v: error %v", c, err)
		}
		if calls != c.calls || st.Created != c.created || len(committed) != c.created {
			t.Errorf("%+v: %d calls, %d created, committed %v", c, calls, st.Created, committed)
		}
	}
}

// TestRetryable: a lost connection is retried also when a statement's
// error wraps it (the driver checks its type without errors.As); a commit
// whose outcome is unknown, a memory refusal and a client error are not; a
// transaction the server ended at its timeout is.
func TestRetryable(t *testing.T) {
	lost := &neo4j.ConnectivityError{Inner: errors.New("EOF")}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"lost connection", lost, true},
		{"wrapped lost connection", fmt.Errorf("resolve 3 manager ids: %w", lost), true},
		{"deadlock", fmt.Errorf("link: %w", &neo4j.Neo4jError{Code: "Neo.TransientError.Transaction.DeadlockDetected"}), true},
		{"lock wait past the transaction timeout", fmt.Errorf("upsert: %w", timedOut(&neo4j.Neo4jError{Code: codeLockClientStopped}, time.Second, 2*time.Second)), true},
		{"transaction past its timeout", timedOut(&neo4j.Neo4jError{Code: codeTimedOutClient}, time.Second, 2*time.Second), true},
		{"commit outcome unknown", &CommitError{Err: lost}, false},
		{"memory refusal", notRetried(&neo4j.Neo4jError{Code: "Neo.TransientError.General.MemoryPoolOutOfMemoryError"}), false},
		{"syntax error", &neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError"}, false},
		{"plain error", errors.New("boom"), false},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("%s: retryable = %v, want %v", c.name, got, c.want)
		}
	}
}
