package okta

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestMain fails the run if any goroutine (an HTTP transport's connection
// loop, a retry timer, a test server handler) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, oktasimtest.IgnoreSDKTokenCache)
}
