package neo4j_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: a driver
// connection left open, or a test's Bolt proxy.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
