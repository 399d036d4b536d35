package oktasim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// OAuth constants of the org authorization server.
const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	accessTokenTTL      = time.Hour
	// maxAssertionTTL is how far in the future a client assertion may
	// expire (Okta: at most one hour), plus clock skew.
	maxAssertionTTL = time.Hour + 5*time.Minute
	clockSkew       = 5 * time.Minute
	// ScopeUsersRead is the scope a service app needs to read users.
	ScopeUsersRead = "okta.users.read"
	// ScopeOrgsRead is the Org API's scope, which the simulated service
	// apps are not granted unless Config.Grants says so.
	ScopeOrgsRead = "okta.orgs.read"
)

// knownScope reports whether scope is one of the Okta API scopes of the
// endpoints the simulator serves.
func knownScope(scope string) bool {
	switch scope {
	case ScopeUsersRead, "okta.users.manage", "okta.logs.read", "okta.eventHooks.read", "okta.eventHooks.manage",
		"okta.groups.read", "okta.apps.read", ScopeOrgsRead:
		return true
	}
	return false
}

// granted reports whether the service app client is granted scope: as
// Config.Grants lists, or, for a client it does not list, every known scope
// but okta.orgs.read.
func (s *Server) granted(client, scope string) bool {
	if g, ok := s.cfg.Grants[client]; ok {
		return slices.Contains(g, scope)
	}
	return knownScope(scope) && scope != ScopeOrgsRead
}

// allows reports whether a token with scopes may call an endpoint that
// requires scope: as Okta's scopes form a hierarchy, okta.X.manage allows
// what okta.X.read does.
func allows(scopes []string, scope string) bool {
	if scope == "" || slices.Contains(scopes, scope) {
		return true
	}
	base, ok := strings.CutSuffix(scope, ".read")
	return ok && slices.Contains(scopes, base+".manage")
}

// accessToken is what the simulator remembers of a token it issued.
type accessToken struct {
	expires time.Time
	scopes  []string
}

type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token serves POST /oauth2/v1/token: the client_credentials grant with a
// private_key_jwt client assertion. Parameters are read from the URL query
// (as okta-sdk-golang v2 sends them) and from a form body.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if !s.tokenRequest(w, r) {
		return
	}
	switch r.Form.Get("grant_type") {
	case "authorization_code", "refresh_token": // an OIDC web app's grants (oidc.go)
		s.oidcToken(w, r, "")
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type",
			fmt.Sprintf("The authorization grant type %q is not supported by the authorization server. Configured grant types: [client_credentials].", gt)})
		return
	}
	if r.Form.Get("client_assertion_type") != clientAssertionType || r.Form.Get("client_assertion") == "" {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client",
			"Client authentication failed. Either the client or the client credentials are invalid."})
		return
	}
	now := s.now()
	clientID, err := s.verifyAssertion(r.Form.Get("client_assertion"), baseURL(r)+"/oauth2/v1/token", now)
	if err == nil {
		if cid := r.Form.Get("client_id"); cid != "" && cid != clientID {
			err = descError("The client_id parameter does not match the client_assertion issuer.")
		}
	}
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", err.Error()})
		return
	}
	scopes := strings.Fields(r.Form.Get("scope"))
	if len(scopes) == 0 {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_scope",
			"The authorization server resource does not have any configured default scopes, 'scope' must be provided."})
		return
	}
	var bad, allowed []string
	for _, sc := range scopes {
		switch {
		case !knownScope(sc):
			bad = append(bad, sc)
		case s.granted(clientID, sc) && !slices.Contains(allowed, sc):
			allowed = append(allowed, sc)
		}
	}
	if len(bad) > 0 {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_scope",
			"The following scopes are not allowed: [" + strings.Join(bad, ", ") + "]"})
		return
	}
	// As Okta does, the token carries the requested scopes the app is
	// granted, and only none of them is refused.
	if len(allowed) == 0 {
		writeJSON(w, http.StatusBadRequest, oauthError{"consent_required", "You are not allowed any of the requested scopes."})
		return
	}
	scopes = allowed
	at, err := s.issueToken(now, scopes)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType:   "Bearer",
		ExpiresIn:   int(accessTokenTTL / time.Second),
		AccessToken: at,
		Scope:       strings.Join(scopes, " "),
	})
}

func (s *Server) issueToken(now time.Time, scopes []string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating access token: %w", err)
	}
	tok := "sim." + base64.RawURLEncoding.EncodeToString(b[:])
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	for k, at := range s.tokens {
		if !now.Before(at.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = accessToken{expires: now.Add(accessTokenTTL), scopes: scopes}
	s.st.issued.Add(1)
	return tok, nil
}

// validAccessToken returns the scopes of an access token the simulator
// issued and that has not expired.
func (s *Server) validAccessToken(tok string) ([]string, bool) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	at, ok := s.tokens[tok]
	return at.scopes, ok && s.now().Before(at.expires)
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Jti string          `json:"jti"`
}

// verifyAssertion checks a private_key_jwt client assertion and returns
// the client id. Error texts are the error_description sent to the client.
func (s *Server) verifyAssertion(a, audience string, now time.Time) (string, error) {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return "", descError("The client_assertion is not a well-formed JWT.")
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return "", descError("The client_assertion is not a well-formed JWT.")
		}
		raw[i] = b
	}
	var hdr jwtHeader
	var cl jwtClaims
	if json.Unmarshal(raw[0], &hdr) != nil || json.Unmarshal(raw[1], &cl) != nil {
		return "", descError("The client_assertion is not a well-formed JWT.")
	}
	var (
		h      crypto.Hash
		digest []byte
	)
	signed := []byte(parts[0] + "." + parts[1])
	switch hdr.Alg {
	case "RS256":
		d := sha256.Sum256(signed)
		h, digest = crypto.SHA256, d[:]
	case "RS384":
		d := sha512.Sum384(signed)
		h, digest = crypto.SHA384, d[:]
	case "RS512":
		d := sha512.Sum512(signed)
		h, digest = crypto.SHA512, d[:]
	default:
		return "", descErrorf("The client_assertion signature algorithm %q is not supported.", hdr.Alg)
	}
	key := s.cfg.Clients[cl.Iss]
	if cl.Iss == "" || key == nil {
		return "", descError("Invalid value for 'client_id' parameter.")
	}
	if err := rsa.VerifyPKCS1v15(key, h, digest, raw[2]); err != nil {
		return "", descError("The client_assertion signature is invalid.")
	}
	if cl.Sub != cl.Iss {
		return "", descError("The client_assertion token's 'sub' must equal its 'iss' (the client_id).")
	}
	if !audienceMatches(cl.Aud, audience) {
		return "", descErrorf("The audience of the client_assertion is invalid. Expected: %s", audience)
	}
	if cl.Exp == nil {
		return "", descError("The client_assertion token must have an 'exp' claim.")
	}
	exp := time.Unix(0, int64(*cl.Exp*float64(time.Second)))
	if !now.Before(exp) {
		return "", descError("The client_assertion token is expired.")
	}
	if exp.After(now.Add(maxAssertionTTL)) {
		return "", descError("The client_assertion token has an expiration too far into the future.")
	}
	if cl.Nbf != nil && time.Unix(0, int64(*cl.Nbf*float64(time.Second))).After(now.Add(clockSkew)) {
		return "", descError("The client_assertion token is not valid yet.")
	}
	if cl.Jti != "" {
		s.tokMu.Lock()
		defer s.tokMu.Unlock()
		for k, e := range s.jtis {
			if !now.Before(e) {
				delete(s.jtis, k)
			}
		}
		if _, seen := s.jtis[cl.Iss+"\x00"+cl.Jti]; seen {
			return "", descError("The client_assertion token has already been used.")
		}
		s.jtis[cl.Iss+"\x00"+cl.Jti] = exp
	}
	return cl.Iss, nil
}

// descError is an OAuth error_description; it reads as a sentence because
// it is shown to the client verbatim.
type descError string

func (e descError) Error() string { return string(e) }

func descErrorf(format string, args ...any) error { return descError(fmt.Sprintf(format, args...)) }

// audienceMatches accepts aud as a string or an array of strings.
func audienceMatches(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.Contains(many, want)
	}
	return false
}

// tokenRequest is what every token endpoint does first: count the request,
// apply the token bucket's rate limit, accept POST only and parse the form
// (64 KiB at most). It reports whether the request may go on; if not, the
// answer is written.
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request) bool {
	s.st.token.Add(1)
	if !s.rateLimit(w, bucketToken) {
		return false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, oauthError{"invalid_request", "The token endpoint only supports POST."})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "The request could not be parsed: " + err.Error()})
		return false
	}
	return true
}
