package okta

import (
	"testing"

	"go.uber.org/goleak"
)

// ignoreSDKTokenCache: every okta-sdk-golang v2 client starts a go-cache
// janitor for its OAuth token cache. It is not a leak: go-cache stops it by
// finalizer once the client is garbage, which goleak does not wait for.
var ignoreSDKTokenCache = goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run")

// TestMain fails the run if any goroutine (an HTTP transport's connection
// loop, a retry timer, a test server handler) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, ignoreSDKTokenCache)
}
