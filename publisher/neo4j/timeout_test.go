package neo4j

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// TestTimedOutNamesTheCause: the codes each server version answers a
// transaction ended at its timeout with (measured on 3.5.35, 4.4.44 and
// 5.26.30) become a *TimeoutError that says what happened; a lock wait
// ended before the timeout (an operator, a shutdown) and every other
// error stay as they are.
func TestTimedOutNamesTheCause(t *testing.T) {
	const timeout = 60 * time.Second
	for _, c := range []struct {
		name string
		code string
		took time.Duration
		want string // in the message; "" for no *TimeoutError
	}{
		{"lock wait, every version", codeLockClientStopped, 62 * time.Second,
			"neo4j: a write waited more than neo4j.transaction_timeout (1m0s) for a lock another client holds on the graph (Neo.ClientError.Transaction.LockClientStopped)"},
		{"lock wait, code as sent", "Neo.TransientError.Transaction.LockClientStopped", 61 * time.Second, "for a lock another client holds on the graph"},
		{"lock wait ended early: not the timeout", codeLockClientStopped, 3 * time.Second, ""},
		{"busy, 3.5 and 4.4", codeTimedOut, 61 * time.Second,
			"neo4j: a transaction outlasted neo4j.transaction_timeout (1m0s): it waited for a lock another client holds on the graph, or its work took that long (Neo.ClientError.Transaction.TransactionTimedOut)"},
		{"busy, 5.x", codeTimedOutClient, 61 * time.Second, "(Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration)"},
		{"deadlock", "Neo.TransientError.Transaction.DeadlockDetected", 61 * time.Second, ""},
		{"terminated", "Neo.ClientError.Transaction.Terminated", 61 * time.Second, ""},
	} {
		orig := fmt.Errorf("run statement: %w", &neo4j.Neo4jError{Code: c.code, Msg: "The transaction has been terminated."})
		got := timedOut(orig, timeout, c.took)
		var te *TimeoutError
		if !errors.As(got, &te) {
			if c.want != "" {
				t.Errorf("%s: %v, want a *TimeoutError", c.name, got)
			} else if got != orig {
				t.Errorf("%s: changed to %v", c.name, got)
			}
			continue
		}
		if c.want == "" {
			t.Errorf("%s: %v, want the error as it was", c.name, got)
			continue
		}
		if !strings.Contains(got.Error(), c.want) || strings.Contains(got.Error(), "unreachable") {
			t.Errorf("%s: %q, want it to contain %q", c.name, got, c.want)
		}
		var ne *neo4j.Neo4jError
		if !errors.As(got, &ne) || ne.Code != c.code {
			t.Errorf("%s: the server's error is not kept", c.name)
		}
	}
	if timedOut(nil, timeout, time.Hour) != nil {
		t.Error("nil became an error")
	}
}

// TestTransactionTimeoutConfig: the default bounds every transaction; zero
// (which the server would take as no bound), a negative value and anything
// under a second are refused, naming the field.
func TestTransactionTimeoutConfig(t *testing.T) {
	if got := DefaultConfig().TransactionTimeout; got != 60*time.Second {
		t.Errorf("default %s, want 1m0s", got)
	}
	for _, c := range []struct {
		timeout time.Duration
		ok      bool
	}{
		{0, false}, {-time.Second, false}, {999 * time.Millisecond, false}, {time.Second, true}, {2 * time.Second, true}, {10 * time.Minute, true},
	} {
		cfg := DefaultConfig()
		cfg.TransactionTimeout = c.timeout
		err := cfg.Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.timeout, err, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "neo4j.transaction_timeout: must be at least 1s, got "+c.timeout.String()) {
			t.Errorf("%s: %q does not name the field and the value", c.timeout, err)
		}
	}
}
