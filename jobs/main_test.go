package jobs

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestMain fails the run if any goroutine outlives the tests: a writer or
// reader of a sync's errgroup, a scheduler or hook worker loop, a driver's
// or an HTTP transport's connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, oktasimtest.IgnoreSDKTokenCache)
}
