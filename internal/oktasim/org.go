package oktasim

import (
	"fmt"
	"net/http"
	"strings"
)

// Org identity, as Okta serves it:
//
//	GET /.well-known/okta-organization   no authentication, no rate-limit
//	    headers; {"id": "00o...", "pipeline": "idx", "_links": {"organization":
//	    {"href": <org URL>}, "alternate": {"href": <custom domain>}}} — the same
//	    answer whichever of the org's URLs is asked (alternate only when a
//	    custom domain is set)
//	GET /api/v1/org                      the Org Settings: id, subdomain,
//	    companyName, status, ...; the "other" rate-limit bucket; an SSWS token
//	    may read it (it has its admin's rights), an OAuth service app needs
//	    okta.orgs.read, which the simulated apps are granted only if
//	    Config.Grants says so: otherwise 403 insufficient_scope
//
// Every host reaches the same org: http://127.0.0.1:PORT and
// http://localhost:PORT are two URLs of it. SetDomains says which one is the
// org URL and which the custom domain.

// OrgID is the org's id: Config.OrgID, or one derived from the seed.
func (s *Server) OrgID() string { return s.oid }

// SetDomains sets the org URL and the custom domain the org reports
// ("" for the org URL means the URL the request came in on; "" for the
// custom domain means none).
func (s *Server) SetDomains(orgURL, customURL string) {
	s.domMu.Lock()
	defer s.domMu.Unlock()
	s.orgURL, s.customURL = strings.TrimSuffix(orgURL, "/"), strings.TrimSuffix(customURL, "/")
}

func (s *Server) domains(r *http.Request) (org, custom string) {
	s.domMu.Lock()
	defer s.domMu.Unlock()
	org, custom = s.orgURL, s.customURL
	if org == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		org = scheme + "://" + r.Host
	}
	return org, custom
}

// seedOrgID is an Okta-shaped org id (00o + 17 base62) derived from seed:
// the id OIDC tokens carry in their idp claim, too.
func seedOrgID(seed int64) string {
	b := make([]byte, 17)
	x := uint64(seed) ^ 0x6f72675f6964
	for i := range b {
		x = x*6364136223846793005 + 1442695040888963407
		b[i] = base62[(x>>33)%62]
	}
	return "00o" + string(b)
}

func (s *Server) orgRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/okta-organization", s.wellKnownOrg)
	mux.Handle("GET /api/v1/org", s.api(bucketOther, ScopeOrgsRead, s.orgSettings))
}

type hrefLink struct {
	Href string `json:"href"`
}

func (s *Server) wellKnownOrg(w http.ResponseWriter, r *http.Request) {
	s.st.wellKnown.Add(1)
	org, custom := s.domains(r)
	links := map[string]hrefLink{"organization": {org}}
	if custom != "" {
		links["alternate"] = hrefLink{custom}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": s.oid, "pipeline": "idx", "_links": links})
}

func (s *Server) orgSettings(w http.ResponseWriter, r *http.Request) {
	org, _ := s.domains(r)
	host := org[strings.Index(org, "://")+3:]
	sub, _, _ := strings.Cut(host, ".")
	created := genStart.UTC().Format(oktaTimeLayout)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.oid, "subdomain": sub, "companyName": fmt.Sprintf("Simulated Org %d", s.cfg.Seed),
		"status": "ACTIVE", "website": nil, "phoneNumber": nil, "endUserSupportHelpURL": nil,
		"supportPhoneNumber": nil, "address1": nil, "address2": nil, "city": nil, "state": nil,
		"country": nil, "postalCode": nil, "expiresAt": nil, "created": created, "lastUpdated": created,
		"_links": map[string]hrefLink{
			"preferences":       {org + "/api/v1/org/preferences"},
			"uploadLogo":        {org + "/api/v1/org/logo"},
			"oktaCommunication": {org + "/api/v1/org/privacy/oktaCommunication"},
			"logo":              {org + "/bc/image/fileStoreRecord?id=fs0"},
			"oktaSupport":       {org + "/api/v1/org/privacy/oktaSupport"},
			"contacts":          {org + "/api/v1/org/contacts"},
		},
	})
}
