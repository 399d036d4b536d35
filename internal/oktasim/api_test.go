package oktasim_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, rawURL, auth string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, rawURL, err)
	}
	return resp, b
}

type errBody struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorLink    string `json:"errorLink"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []any  `json:"errorCauses"`
}

// wantOktaError checks an Okta error response.
func wantOktaError(t *testing.T, resp *http.Response, body []byte, status int, code string) errBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var e errBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if e.ErrorCode != code || e.ErrorLink != code || !strings.HasPrefix(e.ErrorID, "oae") || e.ErrorCauses == nil || e.ErrorSummary == "" {
		t.Fatalf("error body %s, want errorCode %s in Okta's shape", body, code)
	}
	return e
}

const ssws = "SSWS test-token"

func TestLinkHeadersArePerRelation(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 450, Seed: 6})
	filter := `lastUpdated gt "2000-01-01T00:00:00.000Z"`
	first := base + "/api/v1/users?" + url.Values{"filter": {filter}, "limit": {"200"}}.Encode()

	next, total := first, 0
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		resp, body := do(t, http.MethodGet, next, ssws, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var users []map[string]any
		if err := json.Unmarshal(body, &users); err != nil {
			t.Fatal(err)
		}
		total += len(users)
		links := resp.Header.Values("Link")
		self := "<" + next + `>; rel="self"`
		if len(links) == 0 || links[0] != self {
			t.Fatalf("Link values %q, want the first to be %q", links, self)
		}
		next = ""
		switch len(links) {
		case 1:
		case 2:
			u, ok := strings.CutSuffix(links[1], `>; rel="next"`)
			if !ok || !strings.HasPrefix(u, "<"+base+"/api/v1/users?") {
				t.Fatalf("next link %q", links[1])
			}
			next = strings.TrimPrefix(u, "<")
			pu, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			if q := pu.Query(); q.Get("filter") != filter || q.Get("limit") != "200" || q.Get("after") == "" {
				t.Fatalf("next link %s lost its parameters", next)
			}
			if len(users) != 200 {
				t.Fatalf("a page with a next link holds %d users", len(users))
			}
		default:
			t.Fatalf("%d Link values: %q", len(links), links)
		}
	}
	if want := len(sim.Users()); total != want {
		t.Fatalf("paged %d users, want %d", total, want)
	}
}

func TestListParameters(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 8})
	list := func(q url.Values) (*http.Response, []byte) {
		return do(t, http.MethodGet, base+"/api/v1/users?"+q.Encode(), ssws, nil)
	}
	count := func(body []byte) int {
		var users []json.RawMessage
		if err := json.Unmarshal(body, &users); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		return len(users)
	}

	resp, body := list(url.Values{"limit": {"500"}})
	if resp.StatusCode != http.StatusOK || count(body) != 200 {
		t.Fatalf("limit=500: %d, %d users; want 200 users", resp.StatusCode, count(body))
	}
	for _, bad := range []string{"abc", "0", "-5"} {
		resp, body = list(url.Values{"limit": {bad}})
		wantOktaError(t, resp, body, http.StatusBadRequest, "E0000001")
	}
	resp, body = list(url.Values{"after": {"not base64 !"}})
	wantOktaError(t, resp, body, http.StatusBadRequest, "E0000001")
	for _, bad := range []url.Values{
		{"filter": {`status eq "ACTIVE`}},
		{"filter": {`profile.title eq "x"`}},
		{"search": {`status ne "ACTIVE"`}},
	} {
		resp, body = list(bad)
		wantOktaError(t, resp, body, http.StatusBadRequest, "E0000031")
	}

	for _, p := range []struct{ first, status string }{{"Zyxwa", "DEPROVISIONED"}, {"Zyxwb", "ACTIVE"}, {"Zyxwc", "SUSPENDED"}} {
		login := strings.ToLower(p.first) + "@example.com"
		if _, err := sim.Create(map[string]any{"login": login, "email": login, "firstName": p.first, "lastName": "Q"}, p.status); err != nil {
			t.Fatal(err)
		}
	}
	resp, body = list(url.Values{"q": {"zyxw"}})
	if resp.StatusCode != http.StatusOK || count(body) != 2 || len(resp.Header.Values("Link")) != 1 {
		t.Fatalf("q=zyxw: %d, %d users, links %q; want the 2 non-DEPROVISIONED users and no next link",
			resp.StatusCode, count(body), resp.Header.Values("Link"))
	}
	resp, body = list(url.Values{"q": {"a"}})
	if n := count(body); n != 10 || len(resp.Header.Values("Link")) != 1 {
		t.Fatalf("q=a: %d users, want the default q limit of 10 and no next link", n)
	}
	_, body = list(url.Values{"search": {`profile.firstName sw "zyxw"`}})
	if count(body) != 3 {
		t.Fatalf("search: %d users, want 3 (search includes DEPROVISIONED)", count(body))
	}
	_, body = list(url.Values{"filter": {`profile.firstName eq "Zyxwa"`}})
	if count(body) != 1 {
		t.Fatalf("filter: %d users, want 1", count(body))
	}
	_, body = list(url.Values{"filter": {`profile.firstName eq "zyxwa"`}})
	if count(body) != 0 {
		t.Fatalf("filter values are case-sensitive, got %d users", count(body))
	}
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}
func (c *fakeClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func TestRateLimitHeaders(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 250e6, time.UTC)
	clock := newFakeClock(start)
	_, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 1, RateLimit: 2, RateWindow: time.Minute, Now: clock.now})
	wantReset := strconv.FormatInt(start.Add(time.Minute).Unix()+1, 10) // rounded up

	check := func(resp *http.Response, remaining string) {
		t.Helper()
		h := resp.Header
		if h.Get("X-Rate-Limit-Limit") != "2" || h.Get("X-Rate-Limit-Remaining") != remaining || h.Get("X-Rate-Limit-Reset") != wantReset {
			t.Fatalf("rate headers limit=%q remaining=%q reset=%q; want 2, %s, %s",
				h.Get("X-Rate-Limit-Limit"), h.Get("X-Rate-Limit-Remaining"), h.Get("X-Rate-Limit-Reset"), remaining, wantReset)
		}
		if _, err := http.ParseTime(h.Get("Date")); err != nil {
			t.Fatalf("Date header %q: %v", h.Get("Date"), err)
		}
	}
	resp, _ := do(t, http.MethodGet, base+"/api/v1/users", ssws, nil)
	check(resp, "1")
	clock.add(30 * time.Second)
	resp, body := do(t, http.MethodGet, base+"/api/v1/users", "", nil) // refusals count too
	wantOktaError(t, resp, body, http.StatusForbidden, "E0000005")
	check(resp, "0")
	resp, body = do(t, http.MethodGet, base+"/api/v1/users", ssws, nil)
	e := wantOktaError(t, resp, body, http.StatusTooManyRequests, "E0000047")
	check(resp, "0")
	if e.ErrorSummary != "API call exceeded rate limit due to too many requests." {
		t.Fatalf("429 summary %q", e.ErrorSummary)
	}
	// The window ends 60s after its first request.
	clock.set(start.Add(time.Minute))
	resp, _ = do(t, http.MethodGet, base+"/api/v1/users", ssws, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Rate-Limit-Remaining") != "1" {
		t.Fatalf("after the window: %d, remaining %q", resp.StatusCode, resp.Header.Get("X-Rate-Limit-Remaining"))
	}
	if got := resp.Header.Get("X-Rate-Limit-Reset"); got != strconv.FormatInt(start.Add(2*time.Minute).Unix()+1, 10) {
		t.Fatalf("new window reset %s", got)
	}
}

func TestCommonResponses(t *testing.T) {
	_, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 1})
	seen := map[string]bool{}
	for _, tc := range []struct {
		method, path, auth string
		status             int
		code               string
	}{
		{http.MethodGet, "/api/v1/users", ssws, http.StatusOK, ""},
		// No credential, or another scheme: Okta's "Invalid session".
		{http.MethodGet, "/api/v1/users", "", http.StatusForbidden, "E0000005"},
		{http.MethodGet, "/api/v1/users", "SSWS", http.StatusForbidden, "E0000005"},
		{http.MethodGet, "/api/v1/users", "Basic abc", http.StatusForbidden, "E0000005"},
		{http.MethodGet, "/api/v1/users", "Bearer not-issued", http.StatusUnauthorized, "E0000011"},
		{http.MethodPost, "/api/v1/users", ssws, http.StatusMethodNotAllowed, "E0000022"},
		{http.MethodDelete, "/api/v1/users/00u1", ssws, http.StatusMethodNotAllowed, "E0000022"},
		{http.MethodGet, "/api/v1/policies", ssws, http.StatusNotFound, "E0000007"},
		{http.MethodGet, "/nope", "", http.StatusNotFound, "E0000007"},
		{http.MethodGet, "/admin/stats", "", http.StatusOK, ""},
		{http.MethodGet, "/admin/nope", "", http.StatusNotFound, ""},
	} {
		resp, body := do(t, tc.method, base+tc.path, tc.auth, nil)
		if tc.code != "" {
			wantOktaError(t, resp, body, tc.status, tc.code)
		} else if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s: %d %q, want %d JSON", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
		}
		id := resp.Header.Get("X-Okta-Request-Id")
		if len(id) < 20 || seen[id] {
			t.Fatalf("%s %s: X-Okta-Request-Id %q missing or repeated", tc.method, tc.path, id)
		}
		seen[id] = true
	}
}

// signJWT builds an RS256 JWT the way a private_key_jwt client does.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "RS256", "kid": "k1"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenEndpoint(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 1, Token: "ssws-only",
		Clients: map[string]*rsa.PublicKey{"0oaapp": &key.PublicKey}})
	tokenURL := base + "/oauth2/v1/token"
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": "0oaapp", "sub": "0oaapp", "aud": tokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	form := func(assertion, scope string) url.Values {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion},
		}
	}
	post := func(v url.Values, inBody bool) (*http.Response, []byte) {
		t.Helper()
		var req *http.Request
		if inBody {
			req, err = http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(v.Encode()))
		} else {
			req, err = http.NewRequest(http.MethodPost, tokenURL+"?"+v.Encode(), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	for _, inBody := range []bool{false, true} {
		resp, body := post(form(signJWT(t, key, claims(nil)), "okta.users.read"), inBody)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("token (in body %v): %d %s", inBody, resp.StatusCode, body)
		}
		var tok struct {
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
			AccessToken string `json:"access_token"`
			Scope       string `json:"scope"`
		}
		if err := json.Unmarshal(body, &tok); err != nil {
			t.Fatal(err)
		}
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.AccessToken == "" || tok.Scope != "okta.users.read" {
			t.Fatalf("token response %s", body)
		}
		if resp, body := do(t, http.MethodGet, base+"/api/v1/users", "Bearer "+tok.AccessToken, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("API with the access token: %d %s", resp.StatusCode, body)
		}
		// The Org API needs okta.orgs.read, which a service app is not granted.
		wantInsufficientScope(t, base, "/api/v1/org", "Bearer "+tok.AccessToken, "okta.orgs.read")
	}

	replayed := signJWT(t, key, claims(func(c map[string]any) { c["jti"] = "once" }))
	if resp, body := post(form(replayed, "okta.users.read"), false); resp.StatusCode != http.StatusOK {
		t.Fatalf("first use of a jti: %d %s", resp.StatusCode, body)
	}
	for name, tc := range map[string]struct {
		v      url.Values
		status int
		err    string
	}{
		"expired":        {form(signJWT(t, key, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), "okta.users.read"), 401, "invalid_client"},
		"exp too far":    {form(signJWT(t, key, claims(func(c map[string]any) { c["exp"] = now.Add(3 * time.Hour).Unix() })), "okta.users.read"), 401, "invalid_client"},
		"no exp":         {form(signJWT(t, key, claims(func(c map[string]any) { delete(c, "exp") })), "okta.users.read"), 401, "invalid_client"},
		"wrong audience": {form(signJWT(t, key, claims(func(c map[string]any) { c["aud"] = "https://other.okta.com/oauth2/v1/token" })), "okta.users.read"), 401, "invalid_client"},
		"audience array": {form(signJWT(t, key, claims(func(c map[string]any) { c["aud"] = []string{tokenURL} })), "okta.users.read"), 200, ""},
		"sub differs":    {form(signJWT(t, key, claims(func(c map[string]any) { c["sub"] = "someone" })), "okta.users.read"), 401, "invalid_client"},
		"unknown client": {form(signJWT(t, key, claims(func(c map[string]any) { c["iss"], c["sub"] = "0oaother", "0oaother" })), "okta.users.read"), 401, "invalid_client"},
		"tampered":       {form(signJWT(t, key, claims(nil))+"x", "okta.users.read"), 401, "invalid_client"},
		"garbage":        {form("abc", "okta.users.read"), 401, "invalid_client"},
		"replayed jti":   {form(replayed, "okta.users.read"), 401, "invalid_client"},
		"no assertion":   {url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.users.read"}}, 401, "invalid_client"},
		"wrong grant":    {url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		"no scope":       {form(signJWT(t, key, claims(nil)), ""), 400, "invalid_scope"},
		"unknown scope":  {form(signJWT(t, key, claims(nil)), "okta.users.read okta.apps.manage"), 400, "invalid_scope"},
		// Okta has no rule that a token include okta.users.read.
		"users.read absent": {form(signJWT(t, key, claims(nil)), "okta.logs.read"), 200, ""},
		"none granted":      {form(signJWT(t, key, claims(nil)), "okta.orgs.read"), 400, "consent_required"},
	} {
		resp, body := post(tc.v, false)
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != tc.status || e.Error != tc.err || (tc.err != "" && e.Description == "") {
			t.Errorf("%s: %d %s, want %d %s", name, resp.StatusCode, body, tc.status, tc.err)
		}
	}
	if resp, _ := do(t, http.MethodGet, tokenURL, "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET token endpoint: %d", resp.StatusCode)
	}
	if st := sim.Stats(); st.TokensIssued != 5 {
		t.Fatalf("TokensIssued = %d, want 5", st.TokensIssued)
	}
}

func TestResetFault(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 1})
	sim.SetFaults(oktasim.Faults{ResetRate: 1})
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/users", nil)
	req.Header.Set("Authorization", ssws)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("request succeeded with status %d, want a transport error", resp.StatusCode)
	}
	if sim.Stats().Resets == 0 {
		t.Fatal("reset not counted")
	}
	// Faults never touch the admin API.
	if resp, _ := do(t, http.MethodGet, base+"/admin/stats", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin under faults: %d", resp.StatusCode)
	}
}

func TestFaultDecisionsAreDeterministic(t *testing.T) {
	statuses := func() string {
		sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 77})
		sim.SetFaults(oktasim.Faults{ErrorRate: 0.5})
		var sb strings.Builder
		for i := 0; i < 30; i++ {
			resp, _ := do(t, http.MethodGet, base+"/api/v1/users", ssws, nil)
			sb.WriteString(strconv.Itoa(resp.StatusCode / 100))
		}
		return sb.String()
	}
	a, b := statuses(), statuses()
	if a != b || !strings.Contains(a, "2") || !strings.Contains(a, "5") {
		t.Fatalf("status sequences %s and %s: want identical mixes of 2xx and 5xx", a, b)
	}
}

// TestFullLastPageLinksToATrailingEmptyPage: as Okta does, a full page has a
// next link even when no user follows; that page is [] and has none.
func TestFullLastPageLinksToATrailingEmptyPage(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 150, Seed: 6})
	total := len(sim.Users())
	filter := `lastUpdated gt "2000-01-01T00:00:00.000Z"`
	for _, limit := range []int{total, total / 3} {
		if total%limit != 0 {
			t.Fatalf("%d users do not fill pages of %d", total, limit)
		}
		next := base + "/api/v1/users?" + url.Values{"filter": {filter}, "limit": {strconv.Itoa(limit)}}.Encode()
		var sizes []int
		for next != "" {
			if len(sizes) > total/limit+1 {
				t.Fatalf("limit %d: too many pages: %v", limit, sizes)
			}
			resp, body := do(t, http.MethodGet, next, ssws, nil)
			var users []map[string]any
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &users) != nil {
				t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
			}
			sizes = append(sizes, len(users))
			next = ""
			for _, l := range resp.Header.Values("Link") {
				if u, ok := strings.CutSuffix(l, `>; rel="next"`); ok {
					next = strings.TrimPrefix(u, "<")
				}
			}
			if len(users) == 0 && strings.TrimSpace(string(body)) != "[]" {
				t.Fatalf("the trailing page's body is %q, want []", body)
			}
		}
		want := slices.Repeat([]int{limit}, total/limit)
		if want = append(want, 0); !slices.Equal(sizes, want) {
			t.Errorf("limit %d: page sizes %v, want %v", limit, sizes, want)
		}
	}
}
