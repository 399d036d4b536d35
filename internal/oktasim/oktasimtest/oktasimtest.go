// Package oktasimtest starts an Okta simulator for tests.
//
// It is kept apart from package oktasim so the simulator itself does not
// import "testing".
package oktasimtest

import (
	"net/http/httptest"
	"testing"

	"github.com/oktasync/oktasync/internal/oktasim"
)

// Start generates an org from cfg and serves it on a loopback httptest
// server that is closed when the test ends. It returns the simulator and
// its base URL (http://127.0.0.1:PORT, no trailing slash), which is the
// Okta org URL to give the SDK.
func Start(t testing.TB, cfg oktasim.Config) (*oktasim.Server, string) {
	t.Helper()
	s, err := oktasim.New(cfg)
	if err != nil {
		t.Fatalf("oktasim.New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}
