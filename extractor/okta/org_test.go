package okta

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

func TestParseWellKnownOrg(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       extractor.Org
		err        string
	}{
		{name: "okta domain and custom domain",
			body: `{"id":"00o1","pipeline":"idx","_links":{"organization":{"href":"https://acme.okta.com"},"alternate":{"href":"https://login.acme.com/"}}}`,
			want: extractor.Org{ID: "00o1", URL: "https://acme.okta.com", Aliases: []string{"https://login.acme.com"}}},
		{name: "no custom domain", body: `{"id":"00o2","_links":{"organization":{"href":"https://acme.okta-emea.com"}}}`,
			want: extractor.Org{ID: "00o2", URL: "https://acme.okta-emea.com"}},
		{name: "no id", body: `{"pipeline":"v1"}`, err: "has no id"},
		{name: "html", body: `<html>`, err: "does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWellKnownOrg([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.ID != tc.want.ID || got.URL != tc.want.URL || !slices.Equal(got.Aliases, tc.want.Aliases) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// Both URLs of one org give its one id; another org gives another; the
// request carries no credential.
func TestOrgThroughTheSimulator(t *testing.T) {
	sim, orgURL, customURL := oktasimtest.StartAliased(t, oktasim.Config{Users: 1, Seed: 3, Token: testToken})
	other, otherURL := oktasimtest.Start(t, oktasim.Config{Users: 1, Seed: 4, Token: testToken})
	e := newExtractor(t, testCfg(customURL))
	ctx := context.Background()
	got, err := e.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sim.OrgID() || got.URL != orgURL || !slices.Equal(got.Aliases, []string{customURL}) {
		t.Errorf("Org = %+v, want id %s at %s alias %s", got, sim.OrgID(), orgURL, customURL)
	}
	if at, err := e.OrgAt(ctx, orgURL); err != nil || at.ID != sim.OrgID() {
		t.Errorf("OrgAt(org URL) = %+v, %v", at, err)
	}
	if at, err := e.OrgAt(ctx, otherURL); err != nil || at.ID != other.OrgID() || at.ID == sim.OrgID() {
		t.Errorf("OrgAt(other org) = %+v, %v; want %s", at, err, other.OrgID())
	}
	if st := sim.Stats(); st.Unauthorized != 0 || st.OtherAPIRequests != 0 {
		t.Errorf("the identity read reached the API: %+v", st)
	}
}

func TestOrgAtFailures(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.URL.Path == "/.well-known/okta-organization" && r.Host != "" && strings.HasPrefix(r.Host, "localhost") {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	e := newExtractor(t, testCfg(srv.URL))
	ctx := context.Background()
	for _, tc := range []struct{ url, err string }{
		{srv.URL, "HTTP 404"},
		{strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), "HTTP 302"},
		{"http://acme.okta.com", "only allowed for loopback"},
		{"ftp://acme.okta.com", "scheme must be https"},
	} {
		if _, err := e.OrgAt(ctx, tc.url); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("OrgAt(%s) = %v, want %q", tc.url, err, tc.err)
		}
	}
	for _, a := range auth {
		if a != "" {
			t.Errorf("a credential was sent: %q", a)
		}
	}
	srv.Close()
	if _, err := e.OrgAt(ctx, srv.URL); err == nil {
		t.Error("OrgAt of a closed server succeeded")
	}
}
