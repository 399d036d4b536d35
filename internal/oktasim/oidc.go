package oktasim

// OpenID Connect sign-in, as Okta's org authorization server serves it to
// an OIDC web app (and, for orgs with API Access Management, a custom
// authorization server with custom claims).
//
// Org authorization server (issuer = the org URL):
//
//	GET  /.well-known/openid-configuration
//	GET  /oauth2/v1/authorize   response_type=code, scope with openid, state (required),
//	                            nonce, redirect_uri registered for client_id, optional PKCE (S256),
//	                            prompt=none|login; answers with the sign-in form
//	POST /oauth2/v1/authorize   the sign-in form: the same parameters plus username and password
//	POST /oauth2/v1/token       grant_type=authorization_code or refresh_token, client_secret_basic
//	                            or client_secret_post (client_credentials stays in token.go)
//	GET  /oauth2/v1/keys        the RS256 JWKS
//	GET  /oauth2/v1/userinfo    Bearer access token (POST too)
//	GET  /oauth2/v1/logout      id_token_hint, post_logout_redirect_uri, state
//
// A custom authorization server {id} serves the same under /oauth2/{id}/
// (discovery at /oauth2/{id}/.well-known/openid-configuration, issuer
// ORG/oauth2/{id}) and adds its custom claims to ID tokens and userinfo.
//
// Sign-in: the form takes the login (case-insensitive) and the password.
// The simulator keeps no passwords: every user's password is
// SignInPassword (a documented test shortcut). Only ACTIVE users may sign
// in, as in Okta. When a user leaves ACTIVE (deactivated, suspended,
// locked out, deleted), Okta revokes their sessions, codes, access and
// refresh tokens: so does the simulator (revokeUser), and reactivating
// the user does not bring them back. Every user is assigned to every app. The session is
// the "sid" cookie, so a second authorize signs in without the form (SSO).
//
// Admin API:
//
//	POST /admin/oidc/apps          {"name", "redirect_uris", "post_logout_redirect_uris",
//	                                "client_id", "client_secret"} -> 201 the app (ids and
//	                                secret generated when empty)
//	GET  /admin/oidc/apps          {"apps": [...]}
//	PUT  /admin/oidc/authservers/{id}  {"claims": [{"name", "value"}]} creates or replaces a
//	                                custom authorization server; value is user.ATTR or
//	                                String.toLowerCase(user.ATTR) (ATTR a profile attribute)
//	GET  /admin/oidc/stats         OIDCStats

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SignInPassword is the password of every simulated user on the sign-in
// form.
const SignInPassword = "oktasim-password"

// Lifetimes of what the OIDC endpoints issue, as Okta's defaults.
const (
	authCodeTTL     = 60 * time.Second
	idTokenTTL      = time.Hour
	oidcSessionTTL  = 2 * time.Hour
	refreshTokenTTL = 90 * 24 * time.Hour
	sessionCookie   = "sid"
)

// OIDCApp is an OIDC web app (client_secret authentication, authorization
// code grant) registered with the org.
type OIDCApp struct {
	Name                   string   `json:"name"`
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
}

// OIDCClaim is a custom claim of a custom authorization server, included
// in ID tokens and userinfo whatever the scope ("Always"). Value is
// user.ATTR or String.toLowerCase(user.ATTR).
type OIDCClaim struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// OIDCStats counts OIDC requests and outcomes since New.
type OIDCStats struct {
	DiscoveryRequests int64 `json:"discovery_requests"`
	AuthorizeRequests int64 `json:"authorize_requests"`
	SignIns           int64 `json:"sign_ins"`
	SignInsRefused    int64 `json:"sign_ins_refused"`
	CodesIssued       int64 `json:"codes_issued"`
	TokenRequests     int64 `json:"token_requests"`
	IDTokensIssued    int64 `json:"id_tokens_issued"`
	KeysRequests      int64 `json:"keys_requests"`
	UserinfoRequests  int64 `json:"userinfo_requests"`
	LogoutRequests    int64 `json:"logout_requests"`
}

// oidcState is the OIDC provider's state; its zero value is ready (maps
// are made on first use, the signing key on first signature).
type oidcState struct {
	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string
	keyErr  error

	mu       sync.Mutex
	apps     map[string]*OIDCApp    // client id -> app
	servers  map[string][]OIDCClaim // custom authorization server id -> claims
	codes    map[string]*authGrant  // authorization code -> grant (single use)
	access   map[string]*authGrant  // OIDC access token -> grant
	refresh  map[string]*authGrant  // refresh token -> grant
	sessions map[string]*oidcSession
	// epochs counts each user's revocations: a session or grant records
	// the count when issued and is dead once it differs.
	epochs map[string]uint64

	discovery, authorize, signIns, refused, codesIssued, tokenReqs, idTokens, keys, userinfo, logout atomic.Int64
}

type oidcSession struct {
	userID   string
	epoch    uint64
	authTime time.Time
	expires  time.Time
}

// authGrant is what a code, access token or refresh token stands for.
type authGrant struct {
	server        string // "" = org authorization server
	clientID      string
	redirectURI   string
	userID        string
	epoch         uint64
	scopes        []string
	nonce         string
	authTime      time.Time
	challenge     string
	expires       time.Time
	sessionCookie string
}

func (o *oidcState) init() {
	if o.apps == nil {
		o.apps = map[string]*OIDCApp{}
		o.servers = map[string][]OIDCClaim{}
		o.codes = map[string]*authGrant{}
		o.access = map[string]*authGrant{}
		o.refresh = map[string]*authGrant{}
		o.sessions = map[string]*oidcSession{}
		o.epochs = map[string]uint64{}
	}
}

// signingKey returns the RS256 key, generated on first use.
func (o *oidcState) signingKey() (*rsa.PrivateKey, string, error) {
	o.keyOnce.Do(func() {
		o.key, o.keyErr = rsa.GenerateKey(rand.Reader, 2048)
		if o.keyErr == nil {
			sum := sha256.Sum256(o.key.N.Bytes())
			o.kid = base64.RawURLEncoding.EncodeToString(sum[:16])
		}
	})
	return o.key, o.kid, o.keyErr
}

// revokeUser ends the user's sessions and revokes their codes, access
// and refresh tokens, as Okta does when a user leaves ACTIVE. The caller
// may hold s.mu (lock order: s.mu, then oidc.mu).
func (o *oidcState) revokeUser(userID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	o.epochs[userID]++
	for _, m := range []map[string]*authGrant{o.codes, o.access, o.refresh} {
		for k, g := range m {
			if g.userID == userID {
				delete(m, k)
			}
		}
	}
	for k, sess := range o.sessions {
		if sess.userID == userID {
			delete(o.sessions, k)
		}
	}
}

// userEpoch is the user's revocation count; read it before checking the
// user's status, so that a revocation in between makes what is issued
// with it dead.
func (s *Server) userEpoch(userID string) uint64 {
	s.oidc.mu.Lock()
	defer s.oidc.mu.Unlock()
	return s.oidc.epochs[userID]
}

// activeUser returns a copy of the profile of the user if they are ACTIVE
// and epoch is still their revocation count; ok is false otherwise.
func (s *Server) activeUser(userID string, epoch uint64) (profile map[string]any, updated time.Time, ok bool) {
	if s.userEpoch(userID) != epoch {
		return nil, time.Time{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.users[userID]
	if u == nil || u.status != StatusActive {
		return nil, time.Time{}, false
	}
	return deepCopyMap(u.profile), u.lastUpdated, true
}

// RegisterOIDCApp registers an OIDC web app. An empty client id or secret
// is generated; at least one absolute http(s) redirect URI is required.
func (s *Server) RegisterOIDCApp(app OIDCApp) (OIDCApp, error) {
	var errs []error
	if len(app.RedirectURIs) == 0 {
		errs = append(errs, errors.New("redirect_uris must not be empty"))
	}
	for _, u := range slices.Concat(app.RedirectURIs, app.PostLogoutRedirectURIs) {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" {
			errs = append(errs, fmt.Errorf("redirect URI %q must be an absolute http(s) URL without a fragment", u))
		}
	}
	if len(errs) > 0 {
		return OIDCApp{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	if app.ClientID == "" {
		app.ClientID = "0oa" + s.randomChars(17)
	}
	if app.ClientSecret == "" {
		secret, err := randomToken(30)
		if err != nil {
			return OIDCApp{}, err
		}
		app.ClientSecret = secret
	}
	if app.Name == "" {
		app.Name = "oidc_client"
	}
	app.RedirectURIs = slices.Clone(app.RedirectURIs)
	app.PostLogoutRedirectURIs = slices.Clone(app.PostLogoutRedirectURIs)
	o := &s.oidc
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	if _, taken := o.apps[app.ClientID]; taken {
		return OIDCApp{}, fmt.Errorf("%w: client_id %q is already registered", ErrInvalid, app.ClientID)
	}
	stored := app
	o.apps[app.ClientID] = &stored
	return app, nil
}

// OIDCApps returns the registered apps, sorted by client id.
func (s *Server) OIDCApps() []OIDCApp {
	o := &s.oidc
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OIDCApp, 0, len(o.apps))
	for _, a := range o.apps {
		c := *a
		c.RedirectURIs = slices.Clone(a.RedirectURIs)
		c.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClientID < out[j].ClientID })
	return out
}

var (
	authServerIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,40}$`)
	claimNamePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)
	claimValuePattern   = regexp.MustCompile(`^(?:String\.toLowerCase\(user\.([A-Za-z0-9_]+)\)|user\.([A-Za-z0-9_]+))$`)
)

// reservedClaims cannot be set by a custom claim, as in Okta.
var reservedClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "ver", "jti",
	"amr", "idp", "at_hash", "c_hash", "email", "name", "preferred_username", "given_name", "family_name"}

// SetAuthorizationServer creates or replaces the custom authorization
// server id ("default" is Okta's usual one) with its custom claims.
func (s *Server) SetAuthorizationServer(id string, claims []OIDCClaim) error {
	var errs []error
	if !authServerIDPattern.MatchString(id) || id == "v1" {
		errs = append(errs, fmt.Errorf("authorization server id %q must be 1-40 letters or digits (not v1)", id))
	}
	for _, c := range claims {
		if !claimNamePattern.MatchString(c.Name) || slices.Contains(reservedClaims, c.Name) {
			errs = append(errs, fmt.Errorf("claim name %q is not allowed", c.Name))
		}
		if !claimValuePattern.MatchString(c.Value) {
			errs = append(errs, fmt.Errorf("claim %q: value %q must be user.ATTR or String.toLowerCase(user.ATTR)", c.Name, c.Value))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	o := &s.oidc
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	o.servers[id] = slices.Clone(claims)
	return nil
}

// OIDCStats returns a snapshot of the OIDC counters.
func (s *Server) OIDCStats() OIDCStats {
	o := &s.oidc
	return OIDCStats{
		DiscoveryRequests: o.discovery.Load(),
		AuthorizeRequests: o.authorize.Load(),
		SignIns:           o.signIns.Load(),
		SignInsRefused:    o.refused.Load(),
		CodesIssued:       o.codesIssued.Load(),
		TokenRequests:     o.tokenReqs.Load(),
		IDTokensIssued:    o.idTokens.Load(),
		KeysRequests:      o.keys.Load(),
		UserinfoRequests:  o.userinfo.Load(),
		LogoutRequests:    o.logout.Load(),
	}
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// oidcRoutes registers the endpoints of the org authorization server and
// of custom authorization servers.
func (s *Server) oidcRoutes(mux *http.ServeMux) {
	org := func(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { h(w, r, "") }
	}
	custom := func(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("as")
			s.oidc.mu.Lock()
			_, ok := s.oidc.servers[id]
			s.oidc.mu.Unlock()
			if !ok {
				s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (AuthorizationServer)")
				return
			}
			h(w, r, id)
		}
	}
	mux.HandleFunc("GET /.well-known/openid-configuration", org(s.oidcDiscovery))
	mux.HandleFunc("/oauth2/v1/authorize", org(s.oidcAuthorize))
	mux.HandleFunc("GET /oauth2/v1/keys", org(s.oidcKeys))
	mux.HandleFunc("/oauth2/v1/userinfo", org(s.oidcUserinfo))
	mux.HandleFunc("GET /oauth2/v1/logout", org(s.oidcLogout))
	mux.HandleFunc("GET /oauth2/{as}/.well-known/openid-configuration", custom(s.oidcDiscovery))
	mux.HandleFunc("/oauth2/{as}/v1/authorize", custom(s.oidcAuthorize))
	mux.HandleFunc("/oauth2/{as}/v1/token", custom(s.oidcTokenEndpoint))
	mux.HandleFunc("GET /oauth2/{as}/v1/keys", custom(s.oidcKeys))
	mux.HandleFunc("/oauth2/{as}/v1/userinfo", custom(s.oidcUserinfo))
	mux.HandleFunc("GET /oauth2/{as}/v1/logout", custom(s.oidcLogout))
}

func issuer(r *http.Request, server string) string {
	if server == "" {
		return baseURL(r)
	}
	return baseURL(r) + "/oauth2/" + server
}

// endpoint is the URL of an endpoint of the authorization server.
func endpoint(r *http.Request, server, name string) string {
	if server == "" {
		return baseURL(r) + "/oauth2/v1/" + name
	}
	return issuer(r, server) + "/v1/" + name
}

var oidcScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access", "groups"}

func (s *Server) oidcDiscovery(w http.ResponseWriter, r *http.Request, server string) {
	s.oidc.discovery.Add(1)
	// What the token endpoint accepts: a custom server's only the OIDC
	// grants with a client secret; the org server's (token.go) also
	// client_credentials with a private_key_jwt assertion.
	grantTypes := []string{"authorization_code", "refresh_token"}
	authMethods := []string{"client_secret_basic", "client_secret_post"}
	if server == "" {
		grantTypes = append(grantTypes, "client_credentials")
		authMethods = append(authMethods, "private_key_jwt")
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer(r, server),
		"authorization_endpoint":                endpoint(r, server, "authorize"),
		"token_endpoint":                        endpoint(r, server, "token"),
		"userinfo_endpoint":                     endpoint(r, server, "userinfo"),
		"jwks_uri":                              endpoint(r, server, "keys"),
		"end_session_endpoint":                  endpoint(r, server, "logout"),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 grantTypes,
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      oidcScopes,
		"token_endpoint_auth_methods_supported": authMethods,
		"claims_supported": []string{"iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp",
			"nonce", "name", "given_name", "family_name", "preferred_username", "email", "email_verified",
			"locale", "zoneinfo", "updated_at", "at_hash"},
		"code_challenge_methods_supported": []string{"S256"},
		"request_parameter_supported":      false,
	})
}

// authzRequest is a validated authorization request.
type authzRequest struct {
	app                                          *OIDCApp
	redirectURI, state, nonce, prompt, challenge string
	scopes                                       []string
}

// oidcAuthorize serves the authorization endpoint: GET starts (or, with a
// live session, completes) the flow; POST is the sign-in form.
func (s *Server) oidcAuthorize(w http.ResponseWriter, r *http.Request, server string) {
	s.oidc.authorize.Add(1)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed request", http.StatusBadRequest)
		return
	}
	q := r.Form
	s.oidc.mu.Lock()
	s.oidc.init()
	app := s.oidc.apps[q.Get("client_id")]
	s.oidc.mu.Unlock()
	// Without a known client and one of its redirect URIs, Okta shows an
	// error page instead of redirecting.
	if app == nil {
		s.oidcErrorPage(w, http.StatusBadRequest, "invalid_client", "The client_id is not registered.")
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(app.RedirectURIs, redirect) {
		s.oidcErrorPage(w, http.StatusBadRequest, "invalid_request",
			"The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.")
		return
	}
	req := authzRequest{app: app, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		prompt: q.Get("prompt"), challenge: q.Get("code_challenge"), scopes: strings.Fields(q.Get("scope"))}
	fail := func(code, desc string) { redirectError(w, r, req, code, desc) }
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "The response type is not supported by the authorization server. Configured response types: [code].")
		return
	case !slices.Contains(req.scopes, "openid"):
		fail("invalid_scope", "The authentication request has an invalid 'scope' parameter: 'openid' is required.")
		return
	case req.state == "":
		fail("invalid_request", "The authentication request has an invalid 'state' parameter.")
		return
	case req.challenge != "" && q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "The 'code_challenge_method' parameter must be S256.")
		return
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		fail("invalid_request", "The 'response_mode' parameter must be query.")
		return
	}
	for _, sc := range req.scopes {
		if !slices.Contains(oidcScopes, sc) {
			fail("invalid_scope", "One or more scopes are not configured for the authorization server resource.")
			return
		}
	}
	now := s.now()
	if r.Method == http.MethodPost {
		s.signIn(w, r, server, req, now)
		return
	}
	if req.prompt != "login" {
		if sess, sid := s.liveSession(r, now); sess != nil {
			s.issueCode(w, r, server, req, sess, sid, now)
			return
		}
	}
	if req.prompt == "none" {
		fail("login_required", "The client specified not to prompt, but the user is not logged in.")
		return
	}
	s.signInForm(w, http.StatusOK, r, "")
}

// liveSession returns the request's session if it belongs to a user who
// is still ACTIVE; a dead session is forgotten.
func (s *Server) liveSession(r *http.Request, now time.Time) (*oidcSession, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	o := &s.oidc
	o.mu.Lock()
	sess := o.sessions[c.Value]
	o.mu.Unlock()
	if sess == nil {
		return nil, ""
	}
	if _, _, active := s.activeUser(sess.userID, sess.epoch); !active || !now.Before(sess.expires) {
		o.mu.Lock()
		delete(o.sessions, c.Value)
		o.mu.Unlock()
		return nil, ""
	}
	return sess, c.Value
}

// signIn checks the sign-in form and, for an ACTIVE user with the right
// password, starts a session and redirects with a code.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, server string, req authzRequest, now time.Time) {
	login := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	s.mu.RLock()
	userID, found := s.logins[strings.ToLower(login)]
	s.mu.RUnlock()
	var (
		epoch  uint64
		active bool
	)
	if found && login != "" {
		epoch = s.userEpoch(userID)
		_, _, active = s.activeUser(userID, epoch)
	} else {
		userID = ""
	}
	okPassword := subtle.ConstantTimeCompare([]byte(password), []byte(SignInPassword)) == 1
	if userID == "" || !active || !okPassword {
		// Okta says the same whatever the reason, so as not to tell which
		// logins exist.
		s.oidc.refused.Add(1)
		s.signInForm(w, http.StatusUnauthorized, r, "Unable to sign in")
		return
	}
	sid, err := randomToken(24)
	if err != nil {
		s.oidcErrorPage(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	sess := &oidcSession{userID: userID, epoch: epoch, authTime: now, expires: now.Add(oidcSessionTTL)}
	o := &s.oidc
	o.mu.Lock()
	for k, old := range o.sessions {
		if !now.Before(old.expires) {
			delete(o.sessions, k)
		}
	}
	o.sessions[sid] = sess
	o.mu.Unlock()
	s.oidc.signIns.Add(1)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s.issueCode(w, r, server, req, sess, sid, now)
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, server string, req authzRequest, sess *oidcSession, sid string, now time.Time) {
	code, err := randomToken(32)
	if err != nil {
		s.oidcErrorPage(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	o := &s.oidc
	o.mu.Lock()
	for k, g := range o.codes {
		if !now.Before(g.expires) {
			delete(o.codes, k)
		}
	}
	o.codes[code] = &authGrant{server: server, clientID: req.app.ClientID, redirectURI: req.redirectURI,
		userID: sess.userID, epoch: sess.epoch, scopes: req.scopes, nonce: req.nonce, authTime: sess.authTime,
		challenge: req.challenge, expires: now.Add(authCodeTTL), sessionCookie: sid}
	o.mu.Unlock()
	o.codesIssued.Add(1)
	v := url.Values{"code": {code}, "state": {req.state}}
	http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusFound)
}

func withQuery(u string, v url.Values) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + v.Encode()
}

func redirectError(w http.ResponseWriter, r *http.Request, req authzRequest, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, v), http.StatusFound)
}

var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>oktasim - Sign In</title></head>
<body><h1>Sign In</h1>{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}" id="form">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<input type="submit" value="Sign In">
</form></body></html>
`))

type hiddenField struct{ Name, Value string }

// signInForm renders the sign-in form; it posts the authorization
// request's parameters back to the authorization endpoint.
func (s *Server) signInForm(w http.ResponseWriter, status int, r *http.Request, msg string) {
	var hidden []hiddenField
	keys := make([]string, 0, len(r.Form))
	for k := range r.Form {
		if k != "username" && k != "password" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		hidden = append(hidden, hiddenField{k, r.Form.Get(k)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = signInPage.Execute(w, map[string]any{"Action": r.URL.Path, "Hidden": hidden, "Error": msg})
}

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>oktasim - Error</title></head>
<body><h1>{{.Code}}</h1><p id="error-description">{{.Desc}}</p></body></html>
`))

func (s *Server) oidcErrorPage(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, map[string]string{"Code": code, "Desc": desc})
}

// oidcTokenEndpoint serves a custom authorization server's token endpoint.
// The org server's is token.go's, which hands these grants to oidcToken.
func (s *Server) oidcTokenEndpoint(w http.ResponseWriter, r *http.Request, server string) {
	if s.tokenRequest(w, r) {
		s.oidcToken(w, r, server)
	}
}

type oidcTokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// oidcToken answers the authorization_code and refresh_token grants; the
// form is parsed.
func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request, server string) {
	s.oidc.tokenReqs.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	app := s.clientSecretAuth(r)
	if app == nil {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client",
			"Client authentication failed. Either the client or the client credentials are invalid."})
		return
	}
	now := s.now()
	invalidGrant := func(desc string) { writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", desc}) }
	o := &s.oidc
	var g *authGrant
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		code := r.Form.Get("code")
		o.mu.Lock()
		g = o.codes[code]
		delete(o.codes, code) // single use, whatever happens next
		o.mu.Unlock()
		switch {
		case g == nil || !now.Before(g.expires) || g.server != server:
			invalidGrant("The authorization code is invalid or has expired.")
			return
		case g.clientID != app.ClientID:
			invalidGrant("The authorization code was issued to another client.")
			return
		case r.Form.Get("redirect_uri") != g.redirectURI:
			invalidGrant("The 'redirect_uri' does not match the redirection URI used in the authorization request.")
			return
		case g.challenge != "" && !pkceMatches(g.challenge, r.Form.Get("code_verifier")):
			invalidGrant("PKCE verification failed.")
			return
		case g.challenge == "" && r.Form.Get("code_verifier") != "":
			invalidGrant("PKCE verification failed.")
			return
		}
	case "refresh_token":
		rt := r.Form.Get("refresh_token")
		o.mu.Lock()
		g = o.refresh[rt]
		o.mu.Unlock()
		if g == nil || !now.Before(g.expires) || g.server != server || g.clientID != app.ClientID {
			invalidGrant("The refresh token is invalid or expired.")
			return
		}
	default:
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "The authorization grant type is not supported by the authorization server."})
		return
	}
	profile, _, active := s.activeUser(g.userID, g.epoch)
	if !active {
		invalidGrant("The user is not active.")
		return
	}
	at, err := randomToken(32)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", err.Error()})
		return
	}
	grant := *g
	grant.expires = now.Add(accessTokenTTL)
	if r.Form.Get("grant_type") == "refresh_token" {
		// OIDC Core 12.2: a refreshed ID token carries no nonce.
		grant.nonce = ""
	}
	resp := oidcTokenResponse{TokenType: "Bearer", ExpiresIn: int(accessTokenTTL / time.Second),
		AccessToken: at, Scope: strings.Join(g.scopes, " ")}
	if slices.Contains(g.scopes, "offline_access") {
		if r.Form.Get("grant_type") == "refresh_token" {
			resp.RefreshToken = r.Form.Get("refresh_token")
		} else if resp.RefreshToken, err = randomToken(32); err != nil {
			writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", err.Error()})
			return
		}
	}
	claims := s.idTokenClaims(r, &grant, g.userID, profile, now, at)
	if resp.IDToken, err = s.signJWT(claims); err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", err.Error()})
		return
	}
	o.mu.Lock()
	for k, e := range o.access {
		if !now.Before(e.expires) {
			delete(o.access, k)
		}
	}
	o.access[at] = &grant
	if resp.RefreshToken != "" {
		for k, e := range o.refresh {
			if !now.Before(e.expires) {
				delete(o.refresh, k)
			}
		}
		rg := grant
		rg.expires = now.Add(refreshTokenTTL)
		o.refresh[resp.RefreshToken] = &rg
	}
	o.mu.Unlock()
	o.idTokens.Add(1)
	writeJSON(w, http.StatusOK, resp)
}

// clientSecretAuth authenticates the client by client_secret_basic or
// client_secret_post; nil means it failed.
func (s *Server) clientSecretAuth(r *http.Request) *OIDCApp {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: form-urlencoded before base64.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	o := &s.oidc
	o.mu.Lock()
	defer o.mu.Unlock()
	o.init()
	app := o.apps[id]
	if app == nil || id == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		return nil
	}
	if cid := r.PostForm.Get("client_id"); basic && cid != "" && cid != id {
		return nil
	}
	return app
}

func pkceMatches(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// idTokenClaims are the claims of an ID token for the grant, as Okta
// issues them: base claims, then the claims of the profile and email
// scopes, then the custom server's claims.
func (s *Server) idTokenClaims(r *http.Request, g *authGrant, userID string, profile map[string]any, now time.Time, accessToken string) map[string]any {
	c := map[string]any{
		"sub":       userID,
		"ver":       1,
		"iss":       issuer(r, g.server),
		"aud":       g.clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(idTokenTTL).Unix(),
		"jti":       "ID." + s.randomChars(43),
		"amr":       []string{"pwd"},
		"idp":       s.OrgID(),
		"auth_time": g.authTime.Unix(),
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	s.scopeClaims(c, g, profile, false)
	return c
}

// scopeClaims adds the claims of the granted scopes and of the custom
// authorization server to c (shared by ID tokens and userinfo). As Okta's
// code-flow ID tokens, an ID token carries the identity claims (name,
// preferred_username, email, and given_name and family_name, which the
// sign-in needs); locale, zoneinfo and email_verified come from userinfo.
func (s *Server) scopeClaims(c map[string]any, g *authGrant, profile map[string]any, userinfo bool) {
	str := func(k string) any {
		if v, ok := profile[k].(string); ok {
			return v
		}
		return nil
	}
	if slices.Contains(g.scopes, "profile") {
		first, last := str("firstName"), str("lastName")
		var parts []string
		for _, p := range []any{first, last} {
			if p, ok := p.(string); ok && p != "" {
				parts = append(parts, p)
			}
		}
		c["name"] = strings.Join(parts, " ")
		c["preferred_username"] = str("login")
		c["given_name"] = first
		c["family_name"] = last
		if userinfo {
			c["locale"] = orDefault(str("locale"), "en_US")
			c["zoneinfo"] = orDefault(str("timezone"), "America/Los_Angeles")
		}
	}
	if slices.Contains(g.scopes, "email") {
		c["email"] = str("email")
		if userinfo {
			c["email_verified"] = true
		}
	}
	if g.server != "" {
		s.oidc.mu.Lock()
		claims := slices.Clone(s.oidc.servers[g.server])
		s.oidc.mu.Unlock()
		for _, cl := range claims {
			m := claimValuePattern.FindStringSubmatch(cl.Value)
			if m == nil {
				continue
			}
			if m[1] != "" {
				if v, ok := profile[m[1]].(string); ok {
					c[cl.Name] = strings.ToLower(v)
				}
			} else if v, ok := profile[m[2]]; ok && v != nil {
				c[cl.Name] = v
			}
		}
	}
}

func orDefault(v any, d string) any {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return d
}

// signJWT signs claims with the RS256 key.
func (s *Server) signJWT(claims map[string]any) (string, error) {
	key, kid, err := s.oidc.signingKey()
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	hdr, err := json.Marshal(map[string]string{"kid": kid, "alg": "RS256"})
	if err != nil {
		return "", fmt.Errorf("encoding JWT header: %w", err)
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding JWT claims: %w", err)
	}
	signed := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing JWT: %w", err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *Server) oidcKeys(w http.ResponseWriter, r *http.Request, _ string) {
	s.oidc.keys.Add(1)
	key, kid, err := s.oidc.signingKey()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", err.Error()})
		return
	}
	e := big.NewInt(int64(key.E)).Bytes()
	w.Header().Set("Cache-Control", "max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "kid": kid, "use": "sig",
		"e": base64.RawURLEncoding.EncodeToString(e),
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
	}}})
}

func (s *Server) oidcUserinfo(w http.ResponseWriter, r *http.Request, server string) {
	s.oidc.userinfo.Add(1)
	unauthorized := func(code, desc string) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error=%q, error_description=%q`, code, desc))
		writeJSON(w, http.StatusUnauthorized, oauthError{code, desc})
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		unauthorized("invalid_request", "The access token is missing.")
		return
	}
	now := s.now()
	s.oidc.mu.Lock()
	g := s.oidc.access[strings.TrimSpace(tok)]
	s.oidc.mu.Unlock()
	if g == nil || !now.Before(g.expires) || g.server != server {
		unauthorized("invalid_token", "The access token is invalid.")
		return
	}
	// Only for a user still ACTIVE since the token was issued: leaving
	// ACTIVE revokes the token (revokeUser).
	profile, updated, active := s.activeUser(g.userID, g.epoch)
	if !active {
		unauthorized("invalid_token", "The access token is invalid.")
		return
	}
	c := map[string]any{"sub": g.userID}
	s.scopeClaims(c, g, profile, true)
	if slices.Contains(g.scopes, "profile") {
		c["updated_at"] = updated.Unix()
	}
	writeJSON(w, http.StatusOK, c)
}

// oidcLogout ends the Okta session and redirects to the app's registered
// post-logout URI (id_token_hint names the app).
func (s *Server) oidcLogout(w http.ResponseWriter, r *http.Request, server string) {
	s.oidc.logout.Add(1)
	q := r.URL.Query()
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.oidc.mu.Lock()
		delete(s.oidc.sessions, c.Value)
		s.oidc.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><p>Signed out.</p></body></html>\n"))
		return
	}
	aud, err := s.verifiedAudience(q.Get("id_token_hint"))
	s.oidc.mu.Lock()
	app := s.oidc.apps[aud]
	s.oidc.mu.Unlock()
	if err != nil || app == nil || !slices.Contains(app.PostLogoutRedirectURIs, target) {
		s.oidcErrorPage(w, http.StatusBadRequest, "invalid_request",
			"The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings, with a valid id_token_hint.")
		return
	}
	v := url.Values{}
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	if len(v) > 0 {
		target = withQuery(target, v)
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// verifiedAudience checks an ID token's signature (expiry is not checked,
// as Okta accepts an expired id_token_hint) and returns its aud.
func (s *Server) verifiedAudience(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	key, _, err := s.oidc.signingKey()
	if err != nil {
		return "", err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return "", fmt.Errorf("signature: %w", err)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	return c.Aud, nil
}

// adminOIDCRoutes registers the OIDC part of the admin API.
func (s *Server) adminOIDCRoutes(handle func(string, func(http.ResponseWriter, *http.Request) error)) {
	handle("POST /admin/oidc/apps", func(w http.ResponseWriter, r *http.Request) error {
		var app OIDCApp
		if err := decodeBody(r, &app); err != nil {
			return err
		}
		created, err := s.RegisterOIDCApp(app)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, created)
		return nil
	})
	handle("GET /admin/oidc/apps", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{"apps": s.OIDCApps()})
		return nil
	})
	handle("PUT /admin/oidc/authservers/{id}", func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Claims []OIDCClaim `json:"claims"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if err := s.SetAuthorizationServer(r.PathValue("id"), body.Claims); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "claims": body.Claims})
		return nil
	})
	handle("GET /admin/oidc/stats", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.OIDCStats())
		return nil
	})
}
