package oktasim

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paging limits of GET /api/v1/users.
const (
	defaultListLimit = 200
	maxListLimit     = 200
	defaultQLimit    = 10
)

// oktaTimeLayout is how Okta renders timestamps: UTC, milliseconds, "Z".
const oktaTimeLayout = "2006-01-02T15:04:05.000Z"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/users", s.api(bucketListUsers, ScopeUsersRead, s.listUsers))
	mux.Handle("GET /api/v1/users/{idOrLogin}", s.api(bucketGetUser, ScopeUsersRead, s.getUser))
	s.eventHookRoutes(mux)
	s.orgRoutes(mux)
	s.groupRoutes(mux)
	mux.Handle("/api/v1/", s.api(bucketOther, "", s.apiFallback))
	mux.HandleFunc("/oauth2/v1/token", s.token)
	s.oidcRoutes(mux)
	s.adminRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Okta-Request-Id", s.requestID())
		// Okta's clock is the simulator's (Config.Now), in every Date.
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

// api wraps an /api/v1 handler with, in order: request counting, injected
// latency, the rate limiter, authentication, the OAuth scope the endpoint
// requires of an access token (scope; an SSWS token has its admin's
// rights) and injected faults.
func (s *Server) api(bucket, scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch bucket {
		case bucketListUsers:
			s.st.listUsers.Add(1)
		case bucketGetUser:
			s.st.getUser.Add(1)
		default:
			s.st.otherAPI.Add(1)
		}
		if lat := s.Faults().Latency; lat > 0 {
			t := time.NewTimer(lat)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if !s.rateLimit(w, bucket) {
			return
		}
		switch scopes, err := s.authorized(r); {
		case errors.Is(err, errNoCredential):
			s.st.unauthorized.Add(1)
			s.writeOktaError(w, http.StatusForbidden, "E0000005", "Invalid session")
			return
		case err != nil:
			s.st.unauthorized.Add(1)
			s.writeOktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return
		case scopes != nil && !allows(scopes, scope):
			s.st.unauthorized.Add(1)
			s.insufficientScope(w, r, scope)
			return
		}
		switch s.decideFault() {
		case faultReset:
			s.resetConn(w)
			return
		case faultError:
			s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
			return
		case faultRateLimit:
			s.stormRateLimit(w)
			return
		case faultHang:
			s.st.hangs.Add(1)
			waitForClient(r)
			return
		}
		h(w, r)
	})
}

// rateLimit takes one request from bucket, sets the X-Rate-Limit-* headers
// and answers 429 when the budget is exhausted. It reports whether the
// request may proceed.
func (s *Server) rateLimit(w http.ResponseWriter, bucket string) bool {
	d := s.limiter.take(bucket, s.now())
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(d.limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(d.remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(d.reset, 10))
	if !d.allowed {
		s.st.rateLimited.Add(1)
		s.writeOktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
	}
	return d.allowed
}

// ResetRateLimits forgets all rate-limit windows, restoring full budgets.
func (s *Server) ResetRateLimits() { s.limiter.resetAll() }

var (
	// errNoCredential: no Authorization, or not SSWS or Bearer (Okta: 403
	// E0000005, Invalid session).
	errNoCredential = errors.New("no credential")
	// errBadToken: an SSWS or access token Okta did not issue, or one that
	// expired (401 E0000011).
	errBadToken = errors.New("invalid token")
)

// authorized checks the request's credential. It returns the scopes of an
// access token, or nil for an SSWS token, which has its admin's rights.
func (s *Server) authorized(r *http.Request) ([]string, error) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "":
		return nil, errNoCredential
	case strings.EqualFold(scheme, "SSWS"):
		if s.cfg.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) == 1 {
			return nil, nil
		}
	case strings.EqualFold(scheme, "Bearer"):
		if scopes, ok := s.validAccessToken(tok); ok {
			return scopes, nil
		}
	default:
		return nil, errNoCredential
	}
	return nil, errBadToken
}

// insufficientScope answers a request whose access token lacks the scope
// the endpoint requires as Okta does: 403, no body, and the reason in
// WWW-Authenticate.
func (s *Server) insufficientScope(w http.ResponseWriter, r *http.Request, scope string) {
	org := baseURL(r)
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/oauth2/v1/authorize", realm="%s", `+
		`scope="%s", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="%s"`,
		org, org, scope, r.URL.Path))
	w.WriteHeader(http.StatusForbidden)
}

type fault int

// The order is that of the rates given to pick.
const (
	faultNone fault = iota
	faultReset
	faultError
	faultRateLimit
	faultHang
)

func (s *Server) decideFault() fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.faults
	if f.FailAfter > 0 && s.goodPages >= f.FailAfter {
		return faultError
	}
	return fault(s.pick(f.ResetRate, f.ErrorRate, f.RateLimitRate, f.HangRate))
}

// pick draws once from the fault RNG (only if some rate is positive) and
// returns i+1 when the draw falls in the i-th of the consecutive ranges
// rates mark out of [0, 1), else 0. Callers hold faultMu.
func (s *Server) pick(rates ...float64) int {
	any := false
	for _, r := range rates {
		any = any || r > 0
	}
	if !any {
		return 0
	}
	x, edge := s.faultRNG.Float64(), 0.0
	for i, r := range rates {
		edge += r
		if x < edge {
			return i + 1
		}
	}
	return 0
}

// pageFault is what goes wrong with the body of one list page, in the
// order of the rates given to pick.
type pageFault int

const (
	pageOK        pageFault = iota
	pageTruncated           // status 200, half the JSON, correct Content-Length
	pageGarbage             // status 200, not JSON at all
	pageReset               // status 200, half the body, then the connection closes
	pageStall               // status 200, half the body, then nothing
)

// listPageFault decides what happens to a list page's body, and counts
// well-formed pages toward FailAfter.
func (s *Server) listPageFault() pageFault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.faults
	if p := pageFault(s.pick(f.MalformedRate, f.GarbageRate, f.BodyResetRate, f.StallRate)); p != pageOK {
		return p
	}
	s.goodPages++
	return pageOK
}

// stormRateLimit answers 429 with an exhausted budget that resets at the
// end of the current window, as Okta does under a storm of other clients.
func (s *Server) stormRateLimit(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.cfg.RateLimit))
	h.Set("X-Rate-Limit-Remaining", "0")
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(s.now().Add(s.cfg.RateWindow).Add(time.Second-1).Unix(), 10))
	s.st.rateLimited.Add(1)
	s.writeOktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
}

// writeHalf announces the whole body, sends its first half and flushes.
func writeHalf(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// waitForClient blocks until the client gives up, or HangMax passes.
func waitForClient(r *http.Request) {
	t := time.NewTimer(HangMax)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// resetConn closes the connection without writing a response.
func (s *Server) resetConn(w http.ResponseWriter) {
	s.st.resets.Add(1)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (e.g. HTTP/2): abort the response instead.
	panic(http.ErrAbortHandler)
}

// listMode is how a list request selects users.
type listMode int

const (
	listAll listMode = iota // no filter/search/q: omits DEPROVISIONED
	listQuery
	listQ
)

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	mode := listAll
	var (
		e        expr
		err      error
		qPrefix  string
		keepKey  string
		keepExpr string
	)
	switch {
	case qv.Get("search") != "":
		mode, keepKey, keepExpr = listQuery, "search", qv.Get("search")
		e, err = parseQuery(modeSearch, keepExpr)
	case qv.Get("filter") != "":
		mode, keepKey, keepExpr = listQuery, "filter", qv.Get("filter")
		e, err = parseQuery(modeFilter, keepExpr)
	case qv.Get("q") != "":
		mode, qPrefix = listQ, strings.ToLower(qv.Get("q"))
	}
	if err != nil {
		s.writeOktaError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", err.Error())
		return
	}
	limit := defaultListLimit
	if mode == listQ {
		limit = defaultQLimit
	}
	if ls := qv.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil || n <= 0 {
			s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit",
				"limit: The limit must be a positive integer.")
			return
		}
		limit = min(n, maxListLimit)
	}
	after := ""
	if as := qv.Get("after"); as != "" && mode != listQ {
		b, err := base64.RawURLEncoding.DecodeString(as)
		if err != nil || len(b) == 0 {
			s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after",
				"after: The cursor is invalid; take it from the next link.")
			return
		}
		after = string(b)
	}

	match := func(u *user) bool {
		switch mode {
		case listQuery:
			return e.match(u)
		case listQ:
			if u.status == StatusDeprovisioned {
				return false
			}
			for _, k := range [...]string{"firstName", "lastName", "email"} {
				if v, ok := u.profile[k].(string); ok && strings.HasPrefix(strings.ToLower(v), qPrefix) {
					return true
				}
			}
			return false
		}
		return u.status != StatusDeprovisioned
	}

	base := baseURL(r)
	var (
		buf    bytes.Buffer
		lastID string
		more   bool
	)
	// search and filter read the search index, which may lag (index.go).
	s.mu.RLock()
	unlock := s.mu.RUnlock
	ids, users := s.ids, s.users
	if mode == listQuery && s.idx != nil {
		s.mu.RUnlock()
		s.mu.Lock()
		unlock = s.mu.Unlock
		ids, users = s.searchView()
	}
	start := sort.SearchStrings(ids, after)
	if start < len(ids) && ids[start] == after {
		start++
	}
	// As Okta does, a full page always links to a next one, which may be
	// the trailing empty page: the simulator does not look ahead.
	page := make([]userJSON, 0, min(limit, 64))
	for _, id := range ids[start:] {
		u := users[id]
		if !match(u) {
			continue
		}
		page = append(page, renderUser(u, base, false))
		lastID = id
		if len(page) == limit {
			more = true
			break
		}
	}
	err = encodeJSON(&buf, page)
	unlock()
	if err != nil {
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error", err.Error())
		return
	}

	h := w.Header()
	self := base + "/api/v1/users"
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	h.Add("Link", "<"+self+`>; rel="self"`)
	faults := s.Faults()
	nextBase := base
	if faults.NextHost != "" {
		nextBase = strings.TrimSuffix(faults.NextHost, "/")
	}
	switch {
	case faults.NextLink == NextRepeat && mode != listQ:
		h.Add("Link", "<"+nextBase+strings.TrimPrefix(self, base)+`>; rel="next"`)
	case faults.NextLink == NextCycle && mode != listQ && after != "":
		first := url.Values{}
		first.Set("limit", strconv.Itoa(limit))
		if keepKey != "" {
			first.Set(keepKey, keepExpr)
		}
		h.Add("Link", "<"+nextBase+"/api/v1/users?"+first.Encode()+`>; rel="next"`)
	case more && mode != listQ:
		next := url.Values{}
		next.Set("after", base64.RawURLEncoding.EncodeToString([]byte(lastID)))
		next.Set("limit", strconv.Itoa(limit))
		if keepKey != "" {
			next.Set(keepKey, keepExpr)
		}
		h.Add("Link", "<"+nextBase+"/api/v1/users?"+next.Encode()+`>; rel="next"`)
	}
	h.Set("Content-Type", "application/json")
	body := buf.Bytes()
	switch s.listPageFault() {
	case pageTruncated:
		s.st.malformed.Add(1)
		body = body[:max(1, len(body)/2)]
	case pageGarbage:
		s.st.malformed.Add(1)
		body = []byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n")
	case pageReset:
		s.st.resets.Add(1)
		writeHalf(w, body)
		panic(http.ErrAbortHandler) // closes the connection mid-body
	case pageStall:
		s.st.hangs.Add(1)
		writeHalf(w, body)
		waitForClient(r)
		return
	default:
		s.st.listPages.Add(1)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("idOrLogin")
	base := baseURL(r)
	var buf bytes.Buffer
	s.mu.RLock()
	u := s.lookup(key)
	var err error
	if u != nil {
		err = encodeJSON(&buf, renderUser(u, base, true))
	}
	s.mu.RUnlock()
	switch {
	case u == nil:
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+key+" (User)")
	case err != nil:
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error", err.Error())
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(buf.Bytes())
	}
}

// lookup finds a user by id or (case-insensitive) login. Callers hold mu.
func (s *Server) lookup(key string) *user {
	if u, ok := s.users[key]; ok {
		return u
	}
	if id, ok := s.logins[strings.ToLower(key)]; ok {
		return s.users[id]
	}
	return nil
}

func (s *Server) apiFallback(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	rest, ok := strings.CutPrefix(p, "/api/v1/users")
	if ok && (rest == "" || len(rest) > 1 && rest[0] == '/' && !strings.Contains(rest[1:], "/")) {
		s.writeOktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+p)
}

// baseURL is the org URL as the client addressed it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oktaError is the body of every Okta API error.
type oktaError struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

func (s *Server) writeOktaError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	if status >= 500 {
		s.st.serverErrors.Add(1)
	}
	body := oktaError{
		ErrorCode:    code,
		ErrorSummary: summary,
		ErrorLink:    code,
		ErrorID:      "oae" + s.randomChars(19),
		ErrorCauses:  []errorCause{},
	}
	for _, c := range causes {
		body.ErrorCauses = append(body.ErrorCauses, errorCause{c})
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// encodeJSON writes v without HTML escaping ("G&A" stays readable), as
// Okta does.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// requestID returns an Okta-like request id (27 chars), unique per server.
func (s *Server) requestID() string { return s.randomChars(27) }

// randomChars derives n base62 characters from a per-server sequence
// (splitmix64), so ids are unique without locking.
func (s *Server) randomChars(n int) string {
	x := s.reqSeq.Add(1) + uint64(s.cfg.Seed)<<32
	b := make([]byte, n)
	var z uint64
	for i := range b {
		if i%10 == 0 {
			x += 0x9e3779b97f4a7c15
			z = x
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			z ^= z >> 31
		}
		b[i] = base62[z%62]
		z /= 62
	}
	return string(b)
}

// jsonTime renders a time the way Okta does.
type jsonTime time.Time

// MarshalJSON implements json.Marshaler.
func (t jsonTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(oktaTimeLayout) + `"`), nil
}

func jt(t *time.Time) *jsonTime {
	if t == nil {
		return nil
	}
	v := jsonTime(*t)
	return &v
}

// userJSON is an Okta user object, fields in Okta's documented order.
// transitioningToStatus is present only while a lifecycle change is in
// progress.
type userJSON struct {
	ID                    string          `json:"id"`
	Status                string          `json:"status"`
	TransitioningToStatus string          `json:"transitioningToStatus,omitempty"`
	Created               jsonTime        `json:"created"`
	Activated             *jsonTime       `json:"activated"`
	StatusChanged         *jsonTime       `json:"statusChanged"`
	LastLogin             *jsonTime       `json:"lastLogin"`
	LastUpdated           jsonTime        `json:"lastUpdated"`
	PasswordChanged       *jsonTime       `json:"passwordChanged"`
	Type                  typeJSON        `json:"type"`
	Profile               map[string]any  `json:"profile"`
	Credentials           credentialsJSON `json:"credentials"`
	Links                 map[string]any  `json:"_links"`
}

type typeJSON struct {
	ID string `json:"id"`
}

// credentialsJSON is a user's credentials. Only users whose password Okta
// holds have password (always {}: Okta never returns the value) and
// recovery_question; directory-mastered and federated users have only
// provider.
type credentialsJSON struct {
	Password         *struct{}     `json:"password,omitempty"`
	RecoveryQuestion *questionJSON `json:"recovery_question,omitempty"`
	Provider         providerJSON  `json:"provider"`
}

type questionJSON struct {
	Question string `json:"question"`
}

// providerJSON is credentials.provider: its type (OKTA, ACTIVE_DIRECTORY,
// LDAP, FEDERATION, SOCIAL or IMPORT) and name (OKTA and FEDERATION repeat
// the type; a directory's is the directory's name).
type providerJSON struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type hrefJSON struct {
	Href   string `json:"href"`
	Method string `json:"method,omitempty"`
}

// renderUser builds the JSON form of u. The profile map is shared, so the
// result must be encoded while mu is held. full adds the lifecycle links
// Okta returns for a single user.
func renderUser(u *user, base string, full bool) userJSON {
	self := base + "/api/v1/users/" + u.id
	links := map[string]any{"self": hrefJSON{Href: self}}
	if full {
		post := func(rel, path string) { links[rel] = hrefJSON{Href: self + path, Method: "POST"} }
		switch u.status {
		case StatusDeprovisioned:
			post("activate", "/lifecycle/activate")
		case StatusSuspended:
			post("unsuspend", "/lifecycle/unsuspend")
			post("deactivate", "/lifecycle/deactivate")
		case StatusStaged, StatusProvisioned:
			post("activate", "/lifecycle/activate")
			post("deactivate", "/lifecycle/deactivate")
		case StatusLockedOut:
			post("unlock", "/lifecycle/unlock")
			post("deactivate", "/lifecycle/deactivate")
		default:
			post("suspend", "/lifecycle/suspend")
			post("resetPassword", "/lifecycle/reset_password")
			post("expirePassword", "/lifecycle/expire_password")
			post("deactivate", "/lifecycle/deactivate")
		}
		links["schema"] = hrefJSON{Href: base + "/api/v1/meta/schemas/user/osc" + u.typeID[3:]}
		links["type"] = hrefJSON{Href: base + "/api/v1/meta/types/user/" + u.typeID}
	}
	var cred credentialsJSON
	cred.Provider.Type, cred.Provider.Name = u.provider.typeName()
	if u.provider.hasPassword() {
		if u.passwordChanged != nil {
			cred.Password = &struct{}{}
		}
		if u.status != StatusStaged && u.status != StatusProvisioned {
			cred.RecoveryQuestion = &questionJSON{Question: u.recoveryQuestion}
		}
	}
	return userJSON{
		ID:                    u.id,
		Status:                u.status,
		TransitioningToStatus: u.transitioningToStatus(),
		Created:               jsonTime(u.created),
		Activated:             jt(u.activated),
		StatusChanged:         jt(u.statusChanged),
		LastLogin:             jt(u.lastLogin),
		LastUpdated:           jsonTime(u.lastUpdated),
		PasswordChanged:       jt(u.passwordChanged),
		Type:                  typeJSON{ID: u.typeID},
		Profile:               u.profile,
		Credentials:           cred,
		Links:                 links,
	}
}
