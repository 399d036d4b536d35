package oktasim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

type wellKnown struct {
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	Links    map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
}

// The well-known org document needs no credentials and is the same, id and
// links, whichever of the org's URLs is asked.
func TestWellKnownOrgSameUnderEveryURL(t *testing.T) {
	s, orgURL, customURL := oktasimtest.StartAliased(t, oktasim.Config{Users: 3, Seed: 7})
	if s.OrgID() == "" || s.OrgID()[:3] != "00o" || len(s.OrgID()) != 20 {
		t.Fatalf("OrgID = %q, want 00o + 17 characters", s.OrgID())
	}
	for _, base := range []string{orgURL, customURL} {
		resp, body := do(t, http.MethodGet, base+"/.well-known/okta-organization", "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", base, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Rate-Limit-Limit") != "" {
			t.Errorf("%s: rate-limit headers on the well-known document", base)
		}
		var doc wellKnown
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ID != s.OrgID() || doc.Pipeline != "idx" {
			t.Errorf("%s: id %q pipeline %q, want %q idx", base, doc.ID, doc.Pipeline, s.OrgID())
		}
		if doc.Links["organization"].Href != orgURL || doc.Links["alternate"].Href != customURL {
			t.Errorf("%s: links %+v, want organization %s and alternate %s", base, doc.Links, orgURL, customURL)
		}
	}
	if got := s.Stats().WellKnownOrgRequests; got != 2 {
		t.Errorf("WellKnownOrgRequests = %d, want 2", got)
	}
}

// Without SetDomains the org URL is the URL asked, with no alternate; two
// seeds are two orgs, and Config.OrgID names one.
func TestWellKnownOrgDefaults(t *testing.T) {
	a, aURL := oktasimtest.Start(t, oktasim.Config{Seed: 1})
	b, _ := oktasimtest.Start(t, oktasim.Config{Seed: 2})
	c, _ := oktasimtest.Start(t, oktasim.Config{Seed: 1, OrgID: "00oNAMED"})
	if a.OrgID() == b.OrgID() {
		t.Errorf("seeds 1 and 2 give the same org id %s", a.OrgID())
	}
	if c.OrgID() != "00oNAMED" {
		t.Errorf("Config.OrgID ignored: %s", c.OrgID())
	}
	_, body := do(t, http.MethodGet, aURL+"/.well-known/okta-organization", "", nil)
	var doc wellKnown
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Links["alternate"]; ok || doc.Links["organization"].Href != aURL {
		t.Errorf("links %+v, want organization %s only", doc.Links, aURL)
	}
}

// GET /api/v1/org is an authenticated API in the "other" bucket: an SSWS
// token reads it, no credential gets 401, and a service app (which is not
// granted okta.orgs.read) gets 403.
func TestOrgSettings(t *testing.T) {
	s, base := oktasimtest.Start(t, oktasim.Config{Seed: 3, Token: "tok"})
	resp, body := do(t, http.MethodGet, base+"/api/v1/org", "SSWS tok", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Rate-Limit-Limit") == "" {
		t.Fatalf("SSWS: status %d, rate limit %q: %s", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Limit"), body)
	}
	var org map[string]any
	if err := json.Unmarshal(body, &org); err != nil {
		t.Fatal(err)
	}
	if org["id"] != s.OrgID() || org["status"] != "ACTIVE" || org["subdomain"] == "" || org["_links"] == nil {
		t.Errorf("org settings %v", org)
	}
	if resp, body := do(t, http.MethodGet, base+"/api/v1/org", "", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "E0000005") {
		t.Errorf("no credential: status %d %s, want 403 E0000005", resp.StatusCode, body)
	}
}
