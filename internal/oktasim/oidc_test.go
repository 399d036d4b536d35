package oktasim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// rpCallback is the redirect URI of the test's relying party. Nothing
// listens there: the client stops at the redirect and reads its query.
const rpCallback = "http://127.0.0.1:1/auth"

// oidcOrg is a simulator with one registered web app and a few users of
// known status, and a browser-like client (cookies, no automatic redirects).
type oidcOrg struct {
	sim    *oktasim.Server
	base   string
	app    oktasim.OIDCApp
	client *http.Client
	users  map[string]oktasim.User // by short name
}

func newOIDCOrg(t *testing.T) *oidcOrg {
	t.Helper()
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 3})
	o := &oidcOrg{sim: sim, base: base, users: map[string]oktasim.User{}}
	for name, spec := range map[string]struct {
		profile map[string]any
		status  string
	}{
		"john":   {map[string]any{"login": "John.Smith@Acme.com", "email": "John.Smith@Acme.com", "firstName": "John", "lastName": "Smith"}, oktasim.StatusActive},
		"zoe":    {map[string]any{"login": "zoe@acme.com", "email": "zoe@acme.com", "firstName": "Zoë", "lastName": "Ångström"}, oktasim.StatusActive},
		"susp":   {map[string]any{"login": "susp@acme.com", "email": "susp@acme.com", "firstName": "Sus", "lastName": "Pended"}, oktasim.StatusSuspended},
		"gone":   {map[string]any{"login": "gone@acme.com", "email": "gone@acme.com", "firstName": "Gone", "lastName": "Away"}, oktasim.StatusDeprovisioned},
		"staged": {map[string]any{"login": "staged@acme.com", "email": "staged@acme.com", "firstName": "Sta", "lastName": "Ged"}, oktasim.StatusStaged},
		"locked": {map[string]any{"login": "locked@acme.com", "email": "locked@acme.com", "firstName": "Lock", "lastName": "Ed"}, oktasim.StatusLockedOut},
	} {
		u, err := sim.Create(spec.profile, spec.status)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		o.users[name] = u
	}
	// Register the app through the admin API, as the harness does.
	var app oktasim.OIDCApp
	o.adminJSON(t, http.MethodPost, "/admin/oidc/apps", map[string]any{
		"name": "amundsen", "redirect_uris": []string{rpCallback},
		"post_logout_redirect_uris": []string{"http://127.0.0.1:1/"},
	}, http.StatusCreated, &app)
	if !strings.HasPrefix(app.ClientID, "0oa") || len(app.ClientID) != 20 || len(app.ClientSecret) < 32 {
		t.Fatalf("registered app has ids unlike Okta's: %+v", app)
	}
	o.app = app
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	o.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return o
}

func (o *oidcOrg) adminJSON(t *testing.T, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, o.base+path, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	Algs                  []string `json:"id_token_signing_alg_values_supported"`
}

func (o *oidcOrg) discover(t *testing.T, path string) discovery {
	t.Helper()
	var d discovery
	getJSON(t, o.client, o.base+path, http.StatusOK, &d)
	return d
}

func getJSON(t *testing.T, c *http.Client, u string, want int, out any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: HTTP %d, want %d: %s", u, resp.StatusCode, want, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, raw)
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// authorize starts a code flow; it returns the response to the GET.
func (o *oidcOrg) authorize(t *testing.T, d discovery, extra url.Values) *http.Response {
	t.Helper()
	q := url.Values{"client_id": {o.app.ClientID}, "redirect_uri": {rpCallback}, "response_type": {"code"},
		"scope": {"openid email profile offline_access"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := o.client.Get(d.AuthorizationEndpoint + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// submitForm posts the sign-in form of resp (a 200 form page) with the
// given credentials.
func (o *oidcOrg) submitForm(t *testing.T, d discovery, resp *http.Response, username, password string) *http.Response {
	t.Helper()
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="password"`) {
		t.Fatalf("authorize: want the sign-in form, got HTTP %d: %s", resp.StatusCode, page)
	}
	form := url.Values{"username": {username}, "password": {password}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	post, err := o.client.PostForm(d.AuthorizationEndpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	return post
}

// codeFrom reads the redirect to the app; it fails unless it carries a code
// and the state.
func codeFrom(t *testing.T, resp *http.Response, state string) string {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("want a redirect to the app, got HTTP %d: %s", resp.StatusCode, body)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != rpCallback {
		t.Fatalf("redirected to %s, want %s", got, rpCallback)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s: want a code and state %q", loc, state)
	}
	return loc.Query().Get("code")
}

type tokens struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// exchange posts to the token endpoint with client_secret_basic.
func (o *oidcOrg) exchange(t *testing.T, d discovery, form url.Values, secret string) (int, tokens) {
	t.Helper()
	return o.exchangeAs(t, d, form, o.app.ClientID, secret)
}

// exchangeAs is exchange for the client clientID.
func (o *oidcOrg) exchangeAs(t *testing.T, d discovery, form url.Values, clientID, secret string) (int, tokens) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := o.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var tok tokens
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatalf("token endpoint: %v: %s", err, raw)
	}
	return resp.StatusCode, tok
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}}
}

// verifyIDToken checks the ID token's signature with go-jose against the
// JWKS the simulator publishes (an implementation independent of the
// simulator's signer) and returns its claims.
func verifyIDToken(t *testing.T, c *http.Client, d discovery, raw string) map[string]any {
	t.Helper()
	var jwks jose.JSONWebKeySet
	getJSON(t, c, d.JWKSURI, http.StatusOK, &jwks)
	jws, err := jose.ParseSigned(raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != "RS256" {
		t.Fatalf("ID token: want one RS256 signature, got %+v", jws.Signatures)
	}
	keys := jwks.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 || keys[0].Use != "sig" || keys[0].Algorithm != "RS256" {
		t.Fatalf("JWKS has no RS256 signing key %q: %+v", jws.Signatures[0].Header.KeyID, jwks)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestOIDCCodeFlow signs a mixed-case-email user in through the whole
// authorization code flow and checks the ID token Okta would issue for
// openid email profile, userinfo, SSO, refresh and logout.
func TestOIDCCodeFlow(t *testing.T) {
	o := newOIDCOrg(t)
	d := o.discover(t, "/.well-known/openid-configuration")
	if d.Issuer != o.base || d.AuthorizationEndpoint != o.base+"/oauth2/v1/authorize" ||
		d.TokenEndpoint != o.base+"/oauth2/v1/token" || d.JWKSURI != o.base+"/oauth2/v1/keys" ||
		d.UserinfoEndpoint != o.base+"/oauth2/v1/userinfo" || d.EndSessionEndpoint != o.base+"/oauth2/v1/logout" ||
		!slices.Equal(d.Algs, []string{"RS256"}) {
		t.Fatalf("discovery document: %+v", d)
	}
	john := o.users["john"]
	before := o.sim.Stats()

	// Okta matches the login case-insensitively.
	code := codeFrom(t, o.submitForm(t, d, o.authorize(t, d, nil), "john.smith@acme.com", oktasim.SignInPassword), "st-1")
	issuedAt := time.Now().Unix()
	status, tok := o.exchange(t, d, codeForm(code), o.app.ClientSecret)
	if status != http.StatusOK || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.AccessToken == "" ||
		tok.RefreshToken == "" || tok.Scope != "openid email profile offline_access" {
		t.Fatalf("token response: HTTP %d %+v", status, tok)
	}
	claims := verifyIDToken(t, o.client, d, tok.IDToken)
	want := map[string]any{
		"sub": john.Id, "email": "John.Smith@Acme.com", "name": "John Smith",
		"preferred_username": "John.Smith@Acme.com", "given_name": "John", "family_name": "Smith",
		"ver": 1.0, "iss": o.base, "aud": o.app.ClientID, "nonce": "n-1",
		"amr": []any{"pwd"},
	}
	for k, v := range want {
		got, _ := json.Marshal(claims[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("claim %s = %s, want %s", k, got, exp)
		}
	}
	if _, ok := claims["user_id"]; ok {
		t.Errorf("the org authorization server issued a user_id claim: %v", claims["user_id"])
	}
	// As Okta's code-flow ID tokens: these come from userinfo only.
	for _, k := range []string{"locale", "zoneinfo", "email_verified", "updated_at"} {
		if v, ok := claims[k]; ok {
			t.Errorf("the ID token has %s = %v; Okta returns it from userinfo", k, v)
		}
	}
	idp, _ := claims["idp"].(string)
	if !strings.HasPrefix(idp, "00o") || len(idp) != 20 {
		t.Errorf("idp = %q, want the org id", idp)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	authTime, _ := claims["auth_time"].(float64)
	if d := int64(iat) - issuedAt; d < -5 || d > 5 || exp-iat != 3600 || authTime > iat || iat-authTime > 5 {
		t.Errorf("iat %v exp %v auth_time %v (issued about %d)", iat, exp, authTime, issuedAt)
	}
	sum := sha256.Sum256([]byte(tok.AccessToken))
	if claims["at_hash"] != base64.RawURLEncoding.EncodeToString(sum[:16]) {
		t.Errorf("at_hash %v does not match the access token", claims["at_hash"])
	}

	// userinfo: the same person, with the profile scope's extras.
	req, _ := http.NewRequest(http.MethodGet, d.UserinfoEndpoint, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := o.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &info) != nil {
		t.Fatalf("userinfo: HTTP %d %s", resp.StatusCode, raw)
	}
	if info["sub"] != john.Id || info["email"] != "John.Smith@Acme.com" || info["preferred_username"] != "John.Smith@Acme.com" ||
		info["updated_at"] == nil || info["nonce"] != nil || info["email_verified"] != true ||
		info["locale"] != "en_US" || info["zoneinfo"] == nil || info["given_name"] != "John" {
		t.Errorf("userinfo = %v", info)
	}
	// The OIDC access token is not a management API token.
	req, _ = http.NewRequest(http.MethodGet, o.base+"/api/v1/users", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, err := o.client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Users API with an OIDC access token: %v %v, want 401", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	before = o.sim.Stats() // that probe was the one Users API request

	// The code is single use.
	if status, tok := o.exchange(t, d, codeForm(code), o.app.ClientSecret); status != http.StatusBadRequest || tok.Error != "invalid_grant" {
		t.Errorf("second use of a code: HTTP %d %+v", status, tok)
	}

	// SSO: the session cookie signs the next authorize in without the form.
	code2 := codeFrom(t, o.authorize(t, d, url.Values{"state": {"st-2"}, "nonce": {"n-2"}}), "st-2")
	status, tok2 := o.exchange(t, d, codeForm(code2), o.app.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("SSO code exchange: HTTP %d %+v", status, tok2)
	}
	claims2 := verifyIDToken(t, o.client, d, tok2.IDToken)
	if claims2["sub"] != john.Id || claims2["nonce"] != "n-2" || claims2["auth_time"] != claims["auth_time"] {
		t.Errorf("SSO ID token: %v", claims2)
	}

	// Refresh: a new ID token for the same user.
	status, tok3 := o.exchange(t, d, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, o.app.ClientSecret)
	if status != http.StatusOK || tok3.IDToken == "" || tok3.AccessToken == tok.AccessToken {
		t.Fatalf("refresh: HTTP %d %+v", status, tok3)
	}
	// OIDC Core 12.2: no nonce in a refreshed ID token.
	if c := verifyIDToken(t, o.client, d, tok3.IDToken); c["sub"] != john.Id || c["aud"] != o.app.ClientID {
		t.Errorf("refreshed ID token: %v", c)
	} else if n, ok := c["nonce"]; ok {
		t.Errorf("refreshed ID token repeats the nonce %v", n)
	}

	// Logout ends the session: the next authorize shows the form again.
	q := url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:1/"}, "state": {"bye"}}
	resp, err = o.client.Get(d.EndSessionEndpoint + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "http://127.0.0.1:1/?state=bye" {
		t.Fatalf("logout: HTTP %d to %q", resp.StatusCode, loc)
	}
	o.submitForm(t, d, o.authorize(t, d, nil), "zoe@acme.com", oktasim.SignInPassword).Body.Close()

	// Sign-in is not a Users API call.
	after := o.sim.Stats()
	if after.ListUsersRequests != before.ListUsersRequests || after.GetUserRequests != before.GetUserRequests {
		t.Errorf("the OIDC flow made Users API requests: %+v -> %+v", before, after)
	}
	st := o.sim.OIDCStats()
	if st.SignIns != 2 || st.CodesIssued != 3 || st.IDTokensIssued != 3 || st.SignInsRefused != 0 || st.UserinfoRequests != 1 {
		t.Errorf("OIDC stats: %+v", st)
	}
}

// TestOIDCRefusesUsersWhoAreNotActive: only ACTIVE users sign in, with the
// right password; a session ends when its user is deactivated, and so do
// its refresh tokens.
func TestOIDCRefusesUsersWhoAreNotActive(t *testing.T) {
	o := newOIDCOrg(t)
	d := o.discover(t, "/.well-known/openid-configuration")
	for _, tc := range []struct{ name, username, password string }{
		{"suspended", "susp@acme.com", oktasim.SignInPassword},
		{"deprovisioned", "gone@acme.com", oktasim.SignInPassword},
		{"staged", "staged@acme.com", oktasim.SignInPassword},
		{"locked out", "locked@acme.com", oktasim.SignInPassword},
		{"unknown login", "nobody@acme.com", oktasim.SignInPassword},
		{"wrong password", "zoe@acme.com", "guess"},
		{"empty username", "", oktasim.SignInPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := o.submitForm(t, d, o.authorize(t, d, nil), tc.username, tc.password)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "Unable to sign in") ||
				resp.Header.Get("Location") != "" {
				t.Fatalf("HTTP %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})
	}
	if st := o.sim.OIDCStats(); st.SignInsRefused != 7 || st.SignIns != 0 {
		t.Fatalf("OIDC stats: %+v", st)
	}

	// An active user signs in; once deactivated or suspended, the session
	// no longer signs them in, the form refuses them, and their access
	// token, refresh token and unredeemed code are dead. Okta revokes
	// them: reactivating the user does not bring them back.
	zoe := o.users["zoe"].Id
	for _, status := range []string{oktasim.StatusDeprovisioned, oktasim.StatusSuspended} {
		t.Run(status, func(t *testing.T) {
			code := codeFrom(t, o.submitForm(t, d, o.authorize(t, d, nil), "zoe@acme.com", oktasim.SignInPassword), "st-1")
			st, tok := o.exchange(t, d, codeForm(code), o.app.ClientSecret)
			if st != http.StatusOK {
				t.Fatalf("exchange: HTTP %d %+v", st, tok)
			}
			if got := userinfoStatus(t, o.client, d, tok.AccessToken); got != http.StatusOK {
				t.Fatalf("userinfo while active: HTTP %d", got)
			}
			pending := codeFrom(t, o.authorize(t, d, url.Values{"state": {"st-sso"}}), "st-sso") // SSO
			if err := o.sim.SetStatus(zoe, status); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				if got := userinfoStatus(t, o.client, d, tok.AccessToken); got != http.StatusUnauthorized {
					t.Errorf("%s: userinfo with the old access token: HTTP %d, want 401", when, got)
				}
				st, got := o.exchange(t, d, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, o.app.ClientSecret)
				if st != http.StatusBadRequest || got.Error != "invalid_grant" {
					t.Errorf("%s: refresh with the old refresh token: HTTP %d %+v", when, st, got)
				}
				st, got = o.exchange(t, d, codeForm(pending), o.app.ClientSecret)
				if st != http.StatusBadRequest || got.Error != "invalid_grant" {
					t.Errorf("%s: the code issued before: HTTP %d %+v", when, st, got)
				}
			}
			check("after " + status)
			resp := o.submitForm(t, d, o.authorize(t, d, nil), "zoe@acme.com", oktasim.SignInPassword)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s user signing in: HTTP %d", status, resp.StatusCode)
			}

			if err := o.sim.SetStatus(zoe, oktasim.StatusActive); err != nil {
				t.Fatal(err)
			}
			check("after reactivation")
			// The old session cookie is dead too: the form, not a code.
			resp = o.authorize(t, d, nil)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
				t.Errorf("after reactivation the old session signed in: HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// userinfoStatus calls userinfo with the access token and returns the
// HTTP status.
func userinfoStatus(t *testing.T, c *http.Client, d discovery, accessToken string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, d.UserinfoEndpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOIDCRequestErrors: what Okta refuses, and how (an error page when the
// client or redirect URI is unknown, else a redirect with error and state).
func TestOIDCRequestErrors(t *testing.T) {
	o := newOIDCOrg(t)
	d := o.discover(t, "/.well-known/openid-configuration")
	for _, tc := range []struct {
		name      string
		extra     url.Values
		wantPage  int    // an error page with this status, or
		wantError string // a redirect with this error
	}{
		{"unknown client", url.Values{"client_id": {"0oanotregistered0000"}}, http.StatusBadRequest, ""},
		{"unregistered redirect", url.Values{"redirect_uri": {"http://127.0.0.1:1/evil"}}, http.StatusBadRequest, ""},
		{"no state", url.Values{"state": {""}}, 0, "invalid_request"},
		{"no openid", url.Values{"scope": {"email profile"}}, 0, "invalid_scope"},
		{"unknown scope", url.Values{"scope": {"openid okta.users.read"}}, 0, "invalid_scope"},
		{"implicit", url.Values{"response_type": {"id_token"}}, 0, "unsupported_response_type"},
		{"plain PKCE", url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"plain"}}, 0, "invalid_request"},
		{"prompt=none without a session", url.Values{"prompt": {"none"}}, 0, "login_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := o.authorize(t, d, tc.extra)
			resp.Body.Close()
			if tc.wantPage != 0 {
				if resp.StatusCode != tc.wantPage || resp.Header.Get("Location") != "" {
					t.Fatalf("HTTP %d to %q, want an error page %d", resp.StatusCode, resp.Header.Get("Location"), tc.wantPage)
				}
				return
			}
			loc, err := resp.Location()
			if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("error") != tc.wantError {
				t.Fatalf("HTTP %d to %v, want a redirect with error=%s", resp.StatusCode, loc, tc.wantError)
			}
			if st := tc.extra.Get("state"); st == "" && tc.extra.Has("state") {
				if loc.Query().Has("state") {
					t.Fatalf("redirect %v carries a state the request did not have", loc)
				}
			} else if loc.Query().Get("state") != "st-1" {
				t.Fatalf("redirect %v lost the state", loc)
			}
		})
	}

	// Token endpoint: client authentication, redirect_uri binding, PKCE.
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	newCode := func(extra url.Values) string {
		t.Helper()
		resp := o.authorize(t, d, extra)
		if resp.StatusCode == http.StatusOK {
			return codeFrom(t, o.submitForm(t, d, resp, "john.smith@acme.com", oktasim.SignInPassword), "st-1")
		}
		return codeFrom(t, resp, "st-1")
	}
	for _, tc := range []struct {
		name       string
		authorize  url.Values
		form       func(code string) url.Values
		secret     string
		wantStatus int
		wantError  string
	}{
		{"wrong secret", nil, codeForm, "wrong", http.StatusUnauthorized, "invalid_client"},
		{"other redirect_uri", nil, func(c string) url.Values {
			f := codeForm(c)
			f.Set("redirect_uri", "http://127.0.0.1:1/other")
			return f
		}, "", http.StatusBadRequest, "invalid_grant"},
		{"unknown code", nil, func(string) url.Values { return codeForm("nope") }, "", http.StatusBadRequest, "invalid_grant"},
		{"PKCE without verifier", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}, codeForm, "", http.StatusBadRequest, "invalid_grant"},
		{"PKCE wrong verifier", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}, func(c string) url.Values {
			f := codeForm(c)
			f.Set("code_verifier", strings.Repeat("w", 50))
			return f
		}, "", http.StatusBadRequest, "invalid_grant"},
		{"PKCE right verifier", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}, func(c string) url.Values {
			f := codeForm(c)
			f.Set("code_verifier", verifier)
			return f
		}, "", http.StatusOK, ""},
		{"unsupported grant", nil, func(c string) url.Values {
			f := codeForm(c)
			f.Set("grant_type", "password")
			return f
		}, "", http.StatusBadRequest, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := tc.secret
			if secret == "" {
				secret = o.app.ClientSecret
			}
			status, tok := o.exchange(t, d, tc.form(newCode(tc.authorize)), secret)
			if status != tc.wantStatus || tok.Error != tc.wantError {
				t.Fatalf("HTTP %d %+v, want %d %q", status, tok, tc.wantStatus, tc.wantError)
			}
		})
	}

	// client_secret_post is accepted too.
	form := codeForm(newCode(nil))
	form.Set("client_id", o.app.ClientID)
	form.Set("client_secret", o.app.ClientSecret)
	resp, err := http.PostForm(d.TokenEndpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client_secret_post: HTTP %d", resp.StatusCode)
	}

	// Logout refuses a post-logout URI that is not registered.
	resp, err = o.client.Get(d.EndSessionEndpoint + "?" + url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:1/evil"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("logout to an unregistered URI: HTTP %d", resp.StatusCode)
	}
}

// TestOIDCCustomAuthorizationServer: a custom authorization server serves
// the flow under /oauth2/{id} and adds its custom claim, here the user_id
// Amundsen's frontend prefers, lowercased by an Okta expression.
func TestOIDCCustomAuthorizationServer(t *testing.T) {
	o := newOIDCOrg(t)
	resp, err := o.client.Get(o.base + "/oauth2/default/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unconfigured custom authorization server answered HTTP %d", resp.StatusCode)
	}
	o.adminJSON(t, http.MethodPut, "/admin/oidc/authservers/default", map[string]any{
		"claims": []map[string]string{{"name": "user_id", "value": "String.toLowerCase(user.email)"}, {"name": "login", "value": "user.login"}},
	}, http.StatusOK, nil)
	d := o.discover(t, "/oauth2/default/.well-known/openid-configuration")
	if d.Issuer != o.base+"/oauth2/default" || d.TokenEndpoint != o.base+"/oauth2/default/v1/token" || d.JWKSURI != o.base+"/oauth2/default/v1/keys" {
		t.Fatalf("custom discovery: %+v", d)
	}
	code := codeFrom(t, o.submitForm(t, d, o.authorize(t, d, nil), "John.Smith@Acme.com", oktasim.SignInPassword), "st-1")
	status, tok := o.exchange(t, d, codeForm(code), o.app.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("exchange: HTTP %d %+v", status, tok)
	}
	claims := verifyIDToken(t, o.client, d, tok.IDToken)
	if claims["user_id"] != "john.smith@acme.com" || claims["email"] != "John.Smith@Acme.com" ||
		claims["login"] != "John.Smith@Acme.com" || claims["iss"] != d.Issuer {
		t.Fatalf("custom server ID token: %v", claims)
	}
	// A code of one server is not redeemed at another.
	org := o.discover(t, "/.well-known/openid-configuration")
	code = codeFrom(t, o.authorize(t, d, nil), "st-1")
	if status, tok := o.exchange(t, org, codeForm(code), o.app.ClientSecret); status != http.StatusBadRequest || tok.Error != "invalid_grant" {
		t.Fatalf("custom server's code at the org server: HTTP %d %+v", status, tok)
	}

	for _, bad := range []map[string]any{
		{"claims": []map[string]string{{"name": "user_id", "value": "user.email + 1"}}},
		{"claims": []map[string]string{{"name": "sub", "value": "user.email"}}},
	} {
		o.adminJSON(t, http.MethodPut, "/admin/oidc/authservers/default", bad, http.StatusBadRequest, nil)
	}
	o.adminJSON(t, http.MethodPut, "/admin/oidc/authservers/v1", map[string]any{"claims": []any{}}, http.StatusBadRequest, nil)
}

func TestOIDCAdminApps(t *testing.T) {
	o := newOIDCOrg(t)
	for _, bad := range []map[string]any{
		{"name": "x"},
		{"redirect_uris": []string{"/relative"}},
		{"redirect_uris": []string{"ftp://host/cb"}},
		{"redirect_uris": []string{rpCallback}, "client_id": o.app.ClientID},
		{"redirect_uris": []string{rpCallback}, "unknown": 1},
	} {
		o.adminJSON(t, http.MethodPost, "/admin/oidc/apps", bad, http.StatusBadRequest, nil)
	}
	var fixed oktasim.OIDCApp
	o.adminJSON(t, http.MethodPost, "/admin/oidc/apps", map[string]any{
		"client_id": "0oafixedclientid0001", "client_secret": "s3cret", "redirect_uris": []string{rpCallback},
	}, http.StatusCreated, &fixed)
	var list struct {
		Apps []oktasim.OIDCApp `json:"apps"`
	}
	o.adminJSON(t, http.MethodGet, "/admin/oidc/apps", nil, http.StatusOK, &list)
	i := slices.IndexFunc(list.Apps, func(a oktasim.OIDCApp) bool { return a.ClientID == "0oafixedclientid0001" })
	if len(list.Apps) != 2 || i < 0 || list.Apps[i].ClientSecret != "s3cret" || list.Apps[1-i].ClientID != o.app.ClientID {
		t.Fatalf("apps: %+v", list.Apps)
	}
	var st oktasim.OIDCStats
	o.adminJSON(t, http.MethodGet, "/admin/oidc/stats", nil, http.StatusOK, &st)
}

// TestOIDCLogoutRedirectsOnlyWhereTheHintsAppAllows: logout redirects only
// to a post-logout URI registered for the app named by a genuine
// id_token_hint; anything else is an error page, not a redirect.
func TestOIDCLogoutRedirectsOnlyWhereTheHintsAppAllows(t *testing.T) {
	o := newOIDCOrg(t)
	d := o.discover(t, "/.well-known/openid-configuration")
	const ours, theirs = "http://127.0.0.1:1/", "http://127.0.0.1:2/"
	var other oktasim.OIDCApp
	o.adminJSON(t, http.MethodPost, "/admin/oidc/apps", map[string]any{
		"name": "other", "redirect_uris": []string{rpCallback}, "post_logout_redirect_uris": []string{theirs},
	}, http.StatusCreated, &other)

	code := codeFrom(t, o.submitForm(t, d, o.authorize(t, d, nil), "zoe@acme.com", oktasim.SignInPassword), "st-1")
	status, tok := o.exchange(t, d, codeForm(code), o.app.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("exchange: HTTP %d %+v", status, tok)
	}
	code = codeFrom(t, o.authorize(t, d, url.Values{"client_id": {other.ClientID}}), "st-1") // SSO
	status, otherTok := o.exchangeAs(t, d, codeForm(code), other.ClientID, other.ClientSecret)
	if status != http.StatusOK {
		t.Fatalf("exchange for the other app: HTTP %d %+v", status, otherTok)
	}
	if c := verifyIDToken(t, o.client, d, otherTok.IDToken); c["aud"] != other.ClientID {
		t.Fatalf("the other app's ID token: %v", c)
	}
	// A tampered signature: one byte in the middle of it changed.
	parts := strings.Split(tok.IDToken, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	for _, tc := range []struct {
		name, hint, target string
		wantRedirect       bool
	}{
		{"valid hint, registered URI", tok.IDToken, ours, true},
		{"valid hint, unregistered URI", tok.IDToken, "http://127.0.0.1:1/evil", false},
		{"valid hint, the other app's URI", tok.IDToken, theirs, false},
		{"the other app's hint, this app's URI", otherTok.IDToken, ours, false},
		{"the other app's hint, its URI", otherTok.IDToken, theirs, true},
		{"tampered signature, registered URI", tampered, ours, false},
		{"no hint, registered URI", "", ours, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"post_logout_redirect_uri": {tc.target}, "state": {"bye"}}
			if tc.hint != "" {
				q.Set("id_token_hint", tc.hint)
			}
			resp, err := o.client.Get(d.EndSessionEndpoint + "?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if tc.wantRedirect {
				if resp.StatusCode != http.StatusFound || loc != tc.target+"?state=bye" {
					t.Fatalf("HTTP %d to %q, want a redirect to %s", resp.StatusCode, loc, tc.target)
				}
			} else if resp.StatusCode != http.StatusBadRequest || loc != "" {
				t.Fatalf("HTTP %d to %q, want an error page", resp.StatusCode, loc)
			}
		})
	}
}

// TestOIDCDiscoveryAdvertisesWhatTheTokenEndpointAccepts: a custom
// server's token endpoint takes only client secrets and the OIDC grants,
// and says so; the org server's also takes client_credentials with a
// private_key_jwt assertion (the service app's grant).
func TestOIDCDiscoveryAdvertisesWhatTheTokenEndpointAccepts(t *testing.T) {
	o := newOIDCOrg(t)
	o.adminJSON(t, http.MethodPut, "/admin/oidc/authservers/default", map[string]any{"claims": []any{}}, http.StatusOK, nil)
	type doc struct {
		TokenEndpoint string   `json:"token_endpoint"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		GrantTypes    []string `json:"grant_types_supported"`
	}
	var org, custom doc
	getJSON(t, o.client, o.base+"/.well-known/openid-configuration", http.StatusOK, &org)
	getJSON(t, o.client, o.base+"/oauth2/default/.well-known/openid-configuration", http.StatusOK, &custom)
	if !slices.Equal(custom.AuthMethods, []string{"client_secret_basic", "client_secret_post"}) ||
		!slices.Equal(custom.GrantTypes, []string{"authorization_code", "refresh_token"}) {
		t.Errorf("custom server advertises auth methods %v, grant types %v", custom.AuthMethods, custom.GrantTypes)
	}
	if !slices.Equal(org.AuthMethods, []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}) ||
		!slices.Equal(org.GrantTypes, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Errorf("org server advertises auth methods %v, grant types %v", org.AuthMethods, org.GrantTypes)
	}
	// What the custom server does not advertise, it refuses.
	d := discovery{TokenEndpoint: custom.TokenEndpoint}
	if status, tok := o.exchange(t, d, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, o.app.ClientSecret); status != http.StatusBadRequest || tok.Error != "unsupported_grant_type" {
		t.Errorf("client_credentials at the custom server: HTTP %d %+v", status, tok)
	}
	resp, err := http.PostForm(custom.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.users.read"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("private_key_jwt at the custom server: HTTP %d, want 401", resp.StatusCode)
	}
}
