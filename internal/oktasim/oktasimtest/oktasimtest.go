// Package oktasimtest starts an Okta simulator for tests.
//
// It is kept apart from package oktasim so the simulator itself does not
// import "testing".
package oktasimtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

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

// IgnoreSDKTokenCache is a goleak option for packages that build
// okta-sdk-golang v2 clients: each client starts a go-cache janitor for its
// OAuth token cache. It is not a leak: go-cache stops it by finalizer once
// the client is garbage, which goleak does not wait for.
var IgnoreSDKTokenCache = goleak.IgnoreTopFunction("github.com/patrickmn/go-cache.(*janitor).Run")

// OtherHost is a server that is not the Okta org, for next links that
// point elsewhere. It answers every request with an empty user list and
// counts what it received.
type OtherHost struct {
	URL      string
	hits     atomic.Int32
	withAuth atomic.Int32
}

// StartOtherHost starts an OtherHost, closed when the test ends.
func StartOtherHost(t testing.TB) *OtherHost {
	t.Helper()
	o := &OtherHost{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			o.withAuth.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(ts.Close)
	o.URL = ts.URL
	return o
}

// Requests returns how many requests reached the host, and how many of
// them carried an Authorization header.
func (o *OtherHost) Requests() (total, withAuth int) {
	return int(o.hits.Load()), int(o.withAuth.Load())
}

// StartAliased is Start for an org reached under two URLs, as an org on
// its okta.com domain and on a custom domain: orgURL
// (http://127.0.0.1:PORT) is the org URL the org reports, customURL
// (http://localhost:PORT) its custom domain (_links.alternate).
func StartAliased(t testing.TB, cfg oktasim.Config) (s *oktasim.Server, orgURL, customURL string) {
	t.Helper()
	s, orgURL = Start(t, cfg)
	customURL = strings.Replace(orgURL, "127.0.0.1", "localhost", 1)
	s.SetDomains(orgURL, customURL)
	return s, orgURL, customURL
}
