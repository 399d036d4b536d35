package oktasim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// wantInsufficientScope checks that path refuses auth as Okta refuses an
// access token without the scope the endpoint requires: 403, no body, and
// the reason in WWW-Authenticate.
func wantInsufficientScope(t *testing.T, base, path, auth, scope string) {
	t.Helper()
	resp, body := do(t, http.MethodGet, base+path, auth, nil)
	want := fmt.Sprintf(`Bearer authorization_uri="%s/oauth2/v1/authorize", realm="%s", scope="%s", error="insufficient_scope", `+
		`error_description="The access token provided does not contain the required scopes.", resource="%s"`, base, base, scope, path)
	if resp.StatusCode != http.StatusForbidden || len(body) != 0 || resp.Header.Get("WWW-Authenticate") != want {
		t.Errorf("GET %s: %d %q, WWW-Authenticate %q; want 403, no body, %q", path, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"), want)
	}
}

// TestScopesPerEndpoint (issue 23, item 1): each endpoint requires its own
// Okta API scope of an access token, a manage scope allows what its read
// scope does, and the token endpoint grants the requested scopes the app
// has, whatever they are, refusing only when it has none of them.
func TestScopesPerEndpoint(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub := &key.PublicKey
	_, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 1, Token: "ssws-token",
		Clients: map[string]*rsa.PublicKey{"0oasync": pub, "0oahooks": pub, "0oaany": pub},
		Grants:  map[string][]string{"0oasync": {"okta.users.read"}, "0oahooks": {"okta.eventHooks.manage"}}})
	tokenURL := base + "/oauth2/v1/token"
	// token asks for scope as client; it returns the access token and the
	// granted scope, or the OAuth error.
	token := func(client, scope string) (tok, granted, oauthErr string) {
		t.Helper()
		now := time.Now()
		v := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {signJWT(t, key, map[string]any{"iss": client, "sub": client, "aud": tokenURL,
				"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})}}
		resp, err := http.Post(tokenURL+"?"+v.Encode(), "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out struct {
			AccessToken string `json:"access_token"`
			Scope       string `json:"scope"`
			Error       string `json:"error"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("token: %d %s", resp.StatusCode, b)
		}
		return out.AccessToken, out.Scope, out.Error
	}
	status := func(method, path, auth string) int {
		t.Helper()
		resp, _ := do(t, method, base+path, auth, strings.NewReader("{}"))
		return resp.StatusCode
	}

	// The sync's app: users only, even when it asks for more.
	tok, granted, _ := token("0oasync", "okta.users.read okta.eventHooks.manage")
	if granted != "okta.users.read" {
		t.Fatalf("granted %q, want only okta.users.read", granted)
	}
	if got := status(http.MethodGet, "/api/v1/users", "Bearer "+tok); got != http.StatusOK {
		t.Errorf("users with okta.users.read: %d", got)
	}
	wantInsufficientScope(t, base, "/api/v1/eventHooks", "Bearer "+tok, "okta.eventHooks.read")
	wantInsufficientScope(t, base, "/api/v1/groups", "Bearer "+tok, "okta.groups.read")
	wantInsufficientScope(t, base, "/api/v1/groups/00gnone/users", "Bearer "+tok, "okta.groups.read")
	wantInsufficientScope(t, base, "/api/v1/apps/0oanone/users", "Bearer "+tok, "okta.apps.read")
	if got := status(http.MethodPost, "/api/v1/eventHooks", "Bearer "+tok); got != http.StatusForbidden {
		t.Errorf("creating an event hook with okta.users.read only: %d, want 403", got)
	}
	if _, _, e := token("0oasync", "okta.eventHooks.manage"); e != "consent_required" {
		t.Errorf("asking only for a scope the app lacks: %q, want consent_required", e)
	}
	if _, _, e := token("0oaany", "okta.users.read okta.nothing.read"); e != "invalid_scope" {
		t.Errorf("asking for an unknown scope: %q, want invalid_scope", e)
	}

	// The hooks app asks for okta.eventHooks.manage alone: it may manage
	// and read hooks, and not read users.
	tok, granted, e := token("0oahooks", "okta.eventHooks.manage")
	if granted != "okta.eventHooks.manage" || e != "" {
		t.Fatalf("hooks app: granted %q, error %q", granted, e)
	}
	if got := status(http.MethodGet, "/api/v1/eventHooks", "Bearer "+tok); got != http.StatusOK {
		t.Errorf("listing hooks with okta.eventHooks.manage: %d, want 200", got)
	}
	wantInsufficientScope(t, base, "/api/v1/users", "Bearer "+tok, "okta.users.read")
	wantInsufficientScope(t, base, "/api/v1/users/00u1", "Bearer "+tok, "okta.users.read")

	// A read scope does not allow writes.
	tok, _, _ = token("0oaany", "okta.eventHooks.read")
	if got := status(http.MethodGet, "/api/v1/eventHooks", "Bearer "+tok); got != http.StatusOK {
		t.Errorf("listing hooks with okta.eventHooks.read: %d", got)
	}
	if got := status(http.MethodPost, "/api/v1/eventHooks", "Bearer "+tok); got != http.StatusForbidden {
		t.Errorf("creating a hook with okta.eventHooks.read: %d, want 403", got)
	}
	// An SSWS token has its admin's rights: no scope applies.
	if got := status(http.MethodGet, "/api/v1/org", "SSWS ssws-token"); got != http.StatusOK {
		t.Errorf("org settings with SSWS: %d", got)
	}
}
