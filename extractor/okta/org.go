package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/oktasync/oktasync/extractor"
)

// The org's identity comes from GET /.well-known/okta-organization, which
// Okta serves without authentication, under the org's okta.com URL and its
// custom domain alike: {"id": "00o...", "_links": {"organization": {"href":
// ...}, "alternate": {"href": ...}}}. The Org API (GET /api/v1/org) says
// the same but needs okta.orgs.read, which a service app that reads users
// is not granted; it is not used.

// wellKnownOrg is the part of the well-known org document oktasync reads.
type wellKnownOrg struct {
	ID    string `json:"id"`
	Links struct {
		Organization struct {
			Href string `json:"href"`
		} `json:"organization"`
		Alternate struct {
			Href string `json:"href"`
		} `json:"alternate"`
	} `json:"_links"`
}

// Org reads the identity of the configured org.
func (e *Extractor) Org(ctx context.Context) (extractor.Org, error) {
	return e.OrgAt(ctx, e.cfg.OrgURL)
}

// OrgAt reads the identity of the org served at baseURL (an https URL, or
// http on loopback, like okta.org_url), with one unauthenticated request
// that follows no redirect.
func (e *Extractor) OrgAt(ctx context.Context, baseURL string) (extractor.Org, error) {
	if err := ValidateOrgURL(baseURL); err != nil {
		return extractor.Org{}, fmt.Errorf("okta: org identity at %q: %w", baseURL, err)
	}
	target := strings.TrimSuffix(baseURL, "/") + "/.well-known/okta-organization"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return extractor.Org{}, fmt.Errorf("okta: org identity: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "oktasync")
	resp, err := e.plain.Do(req)
	if err != nil {
		return extractor.Org{}, fmt.Errorf("okta: read %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return extractor.Org{}, fmt.Errorf("okta: read %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return extractor.Org{}, fmt.Errorf("okta: read %s: HTTP %d", target, resp.StatusCode)
	}
	return parseWellKnownOrg(body)
}

func parseWellKnownOrg(body []byte) (extractor.Org, error) {
	var doc wellKnownOrg
	if err := json.Unmarshal(body, &doc); err != nil {
		return extractor.Org{}, fmt.Errorf("okta: the org identity document does not decode: %w", err)
	}
	if doc.ID == "" {
		return extractor.Org{}, errors.New("okta: the org identity document has no id")
	}
	org := extractor.Org{ID: doc.ID, URL: strings.TrimSuffix(doc.Links.Organization.Href, "/")}
	if alt := strings.TrimSuffix(doc.Links.Alternate.Href, "/"); alt != "" {
		org.Aliases = []string{alt}
	}
	return org, nil
}
