// Package okta is the Okta source: it pages through every Okta user with
// okta-sdk-golang v2, maps each profile to an extractor.User (transform.go,
// pure), and fetches single users by id for event hooks.
//
// It owns everything Okta-specific: credentials, the SDK's pitfalls (cache,
// missing timeouts, endless EOF retries, environment and ~/.okta surprises),
// rate-limit pacing and retries (transport.go). It never writes anywhere.
package okta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
)

// APIError is a non-2xx answer from the Okta API.
type APIError struct {
	Status  int
	Code    string // Okta errorCode, e.g. E0000011
	Summary string // Okta errorSummary
	// Attempts is how many times a 5xx was tried before giving up (0 for
	// answers that are not retried).
	Attempts int
	// Scopes are the scopes a refused token request asked for.
	Scopes []string
	// Missing is the scope Okta named when it refused an access token
	// without it (403 insufficient_scope).
	Missing string
}

func (e *APIError) Error() string {
	if e.Status == 0 {
		// The SDK drops the status of OAuth token-endpoint answers.
		msg := fmt.Sprintf("okta: token request refused: %s: %s", e.Code, e.Summary)
		if len(e.Scopes) > 0 {
			msg += fmt.Sprintf(" (asked for %s: the service app must be granted it in its Okta API Scopes tab)", strings.Join(e.Scopes, " "))
		}
		return msg
	}
	if e.Missing != "" {
		return fmt.Sprintf("okta: HTTP %d insufficient_scope: the access token lacks %s: grant it to the service app in its Okta API Scopes tab", e.Status, e.Missing)
	}
	if e.Attempts > 0 {
		return fmt.Sprintf("okta: HTTP %d %s: %s (after %d attempts)", e.Status, e.Code, e.Summary, e.Attempts)
	}
	return fmt.Sprintf("okta: HTTP %d %s: %s", e.Status, e.Code, e.Summary)
}

// Auth reports whether the credentials were refused: a 401/403 from the API,
// or an OAuth error from the token endpoint (whose status the SDK drops).
func (e *APIError) Auth() bool {
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return true
	case 0:
		switch e.Code {
		case "invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope", "consent_required", "access_denied", "invalid_dpop_proof":
			return true
		}
	}
	return false
}

// NotFound reports a 404.
func (e *APIError) NotFound() bool { return e.Status == http.StatusNotFound }

// Is makes a 404 match extractor.ErrNotFound.
func (e *APIError) Is(target error) bool { return target == extractor.ErrNotFound && e.NotFound() }

// Stats are the Okta numbers of one Extract; Remaining is
// X-Rate-Limit-Remaining of the latest response.
type Stats = extractor.Stats

// Extractor reads users from one Okta org.
type Extractor struct {
	cfg      Config
	orgURL   *url.URL // for checking next links
	log      *zap.Logger
	client   *okta.Client
	plain    *http.Client // unauthenticated requests (org.go)
	counters *Counters
	pages    atomic.Int64
	read     atomic.Int64
	teams    *teamRules // nil unless teams come from groups (teams.go)
}

var (
	_ extractor.Source     = (*Extractor)(nil)
	_ extractor.UserReader = (*Extractor)(nil)
	_ extractor.OrgReader  = (*Extractor)(nil)
)

// Option is a test seam.
type Option func(*options)

type options struct{ base http.RoundTripper }

// WithRoundTripper replaces the network transport under the retry layer.
func WithRoundTripper(rt http.RoundTripper) Option {
	return func(o *options) { o.base = rt }
}

// New validates cfg (start from DefaultConfig) and builds the SDK client. It
// does no network I/O. Every SDK setting is passed explicitly so that no
// OKTA_* environment variable or ~/.okta/okta.yaml changes behaviour.
func New(cfg Config, log *zap.Logger, opts ...Option) (*Extractor, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	o := options{base: defaultTransport()}
	for _, opt := range opts {
		opt(&o)
	}
	counters := &Counters{}
	httpClient := &http.Client{
		Transport: newTransport(o.base, cfg, counters),
		// Okta never redirects API calls; following one would leak the
		// Authorization header to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	setters := []okta.ConfigSetter{
		okta.WithOrgUrl(cfg.OrgURL),
		okta.WithCache(false),
		okta.WithHttpClientPtr(httpClient),
		okta.WithRequestTimeout(0),
		okta.WithRateLimitMaxRetries(0),
		okta.WithRateLimitMaxBackOff(int64(cfg.MaxRateLimitWait / time.Second)),
		okta.WithUserAgentExtra("oktasync"),
		okta.WithTestingDisableHttpsCheck(true), // ValidateOrgURL already enforced https
		okta.WithProxyHost(""), okta.WithProxyPort(0),
		okta.WithClientAssertion(""),
	}
	if cfg.OAuth() {
		s, err := signer(cfg.PrivateKey, cfg.KeyID)
		if err != nil {
			return nil, fmt.Errorf("okta.private_key: %w", err)
		}
		setters = append(setters,
			okta.WithAuthorizationMode("PrivateKey"),
			okta.WithClientId(cfg.ClientID),
			okta.WithScopes(cfg.RequiredScopes()),
			okta.WithPrivateKeySigner(s),
			okta.WithPrivateKeyId(cfg.KeyID),
			okta.WithToken(""),
		)
	} else {
		setters = append(setters,
			okta.WithAuthorizationMode("SSWS"),
			okta.WithToken(cfg.Token),
			okta.WithClientId(""),
			okta.WithPrivateKey(""),
		)
	}
	_, client, err := okta.NewClient(context.Background(), setters...)
	if err != nil {
		// The SDK's messages can quote the URL but never the token.
		return nil, fmt.Errorf("okta: configure client: %w", err)
	}
	orgURL, err := url.Parse(cfg.OrgURL)
	if err != nil {
		return nil, fmt.Errorf("okta.org_url: %w", err)
	}
	plain := &http.Client{Transport: o.base, Timeout: cfg.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Extractor{cfg: cfg, orgURL: orgURL, teams: newTeamRules(cfg.Mapping.Team), log: log.With(zap.String("stage", "extractor"), zap.String("source", "okta")),
		client: client, plain: plain, counters: counters}, nil
}

func defaultTransport() http.RoundTripper {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Stats returns the counters so far. Safe to call while Extract runs.
func (e *Extractor) Stats() Stats {
	return Stats{
		Pages:       e.pages.Load(),
		Read:        e.read.Load(),
		Requests:    e.counters.Requests.Load(),
		RateLimited: e.counters.RateLimited.Load(),
		Retries:     e.counters.Retries.Load(),
		Pauses:      e.counters.Pauses.Load(),
		Remaining:   e.counters.Remaining.Load(),
	}
}

// Counters exposes the live traffic counters (for metrics).
func (e *Extractor) Counters() *Counters { return e.counters }

// Extract reads every Okta user: the plain list (which Okta returns without
// DEPROVISIONED users) and then the DEPROVISIONED users through a filter.
// It returns nil only if both passes read every page.
func (e *Extractor) Extract(ctx context.Context, fn func(context.Context, extractor.Page) error) error {
	by, err := e.readBy(ctx)
	if err != nil {
		return err
	}
	return e.listAll(ctx, by, fn)
}

// listAll reads every user: the plain list (which Okta returns without
// DEPROVISIONED users), then the DEPROVISIONED users through a filter.
func (e *Extractor) listAll(ctx context.Context, by readBy, fn func(context.Context, extractor.Page) error) error {
	if err := e.list(ctx, "", by, fn); err != nil {
		return err
	}
	return e.list(ctx, `status eq "DEPROVISIONED"`, by, fn)
}

// readBy is what a read of users maps them with, read by group and by app
// first: the team index and the scope (each nil when not configured), and
// the clock of that read: its pages count from when it began (ReadFrom).
// movedSince says an incremental read reads everyone, because a group or
// an assignment changed after its since.
type readBy struct {
	teams      *teamIndex
	scope      *idSet
	clock      clockRead
	movedSince bool
}

// readBy reads the teams and the scope.
func (e *Extractor) readBy(ctx context.Context) (readBy, error) {
	teams, tc, err := e.readTeams(ctx)
	if err != nil {
		return readBy{}, err
	}
	scope, sc, err := e.readScope(ctx)
	if err != nil {
		return readBy{}, err
	}
	tc.merge(sc)
	return readBy{teams: teams, scope: scope, clock: tc}, nil
}

// ExtractSince reads the users Okta changed after since (DEPROVISIONED
// ones included), for incremental syncs. Okta's lastUpdated filter is
// eventually consistent: callers pass a since with some overlap.
func (e *Extractor) ExtractSince(ctx context.Context, since time.Time, fn func(context.Context, extractor.Page) error) error {
	by, err := e.readBy(ctx)
	if err != nil {
		return err
	}
	if by.clock.newest.After(since) {
		by.movedSince = true
		// Teams or the scope moved without moving any user's lastUpdated
		// (teams.go, scope.go).
		return e.listAll(ctx, by, fn)
	}
	return e.list(ctx, fmt.Sprintf(`lastUpdated gt "%s"`, since.UTC().Format("2006-01-02T15:04:05.000Z")), by, fn)
}

// ExtractFilter reads the users matching an Okta filter expression.
func (e *Extractor) ExtractFilter(ctx context.Context, filter string, fn func(context.Context, extractor.Page) error) error {
	if filter == "" {
		return errors.New("okta: empty filter")
	}
	by, err := e.readBy(ctx)
	if err != nil {
		return err
	}
	return e.list(ctx, filter, by, fn)
}

// list reads the users a filter selects ("": the plain list), page by
// page, mapped with by.
func (e *Extractor) list(ctx context.Context, filter string, by readBy, fn func(context.Context, extractor.Page) error) error {
	qp := query.NewQueryParams(query.WithLimit(int64(e.cfg.PageSize)))
	if filter != "" {
		qp.Filter = filter
	}
	what := "list users"
	if filter != "" {
		what = fmt.Sprintf("list users (filter %s)", filter)
	}
	// requested maps each page URL fetched in this pass to its page number,
	// so a next link that leads back is caught instead of paging forever.
	// One short string per page: 5,000 for a million users.
	requested := map[string]int{}
	var resp *okta.Response
	for page := 1; ; page++ {
		sent := time.Now()
		users, next, err := e.fetch(ctx, qp, resp)
		if err != nil {
			return fmt.Errorf("%s, page %d: %w", what, page, err)
		}
		p := e.mapPage(users, by)
		p.ReadFrom, _ = readWindow(next, sent, time.Now())
		if f := by.clock.from; !f.IsZero() && f.Before(p.ReadFrom) {
			p.ReadFrom = f // the teams and the scope were read first
		}
		if by.movedSince && by.clock.from.After(p.LastUpdated) {
			// Everyone was read because groups changed: the read stands for
			// every change before it began, as a full read does, so the
			// watermark may reach its start; otherwise the next incremental
			// sync, in a quiet org, would find the same group change newer
			// than its since again, and read everyone forever.
			p.LastUpdated = by.clock.from
		}
		e.pages.Add(1)
		e.read.Add(int64(len(users)))
		if next != nil && next.Response != nil && next.Request != nil {
			requested[pageKey(next.Request.URL)] = page
		}
		if err := fn(ctx, p); err != nil {
			return err
		}
		if next == nil || !next.HasNextPage() {
			return nil
		}
		if err := e.checkNext(next, requested, "/api/v1/users"); err != nil {
			return fmt.Errorf("%s, page %d: %w", what, page, err)
		}
		resp = next
	}
}

// PagingError means Okta's Link rel="next" could not be followed safely:
// it points away from the org, or back to a page already read. The read is
// incomplete, so nothing may be deactivated.
type PagingError struct{ Reason string }

func (e *PagingError) Error() string { return "okta: bad next link: " + e.Reason }

// checkNext refuses a next link to another host or to a path other than
// path (the SDK would send the credential with it) and one that repeats a
// page of this pass.
func (e *Extractor) checkNext(resp *okta.Response, requested map[string]int, path string) error {
	for _, link := range resp.Header.Values("Link") {
		target, params, _ := strings.Cut(link, ";")
		if !strings.Contains(params, `rel="next"`) {
			continue
		}
		raw := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
		u, err := url.Parse(raw)
		if err != nil {
			return &PagingError{Reason: "it does not parse as a URL"}
		}
		if u.IsAbs() && !sameOrigin(u, e.orgURL) {
			return &PagingError{Reason: fmt.Sprintf("it points to %s://%s, not the org %s://%s; refusing to follow it (the credential would go with it)",
				u.Scheme, u.Host, e.orgURL.Scheme, e.orgURL.Host)}
		}
		if p := strings.TrimSuffix(u.Path, "/"); p != path {
			return &PagingError{Reason: fmt.Sprintf("it points to path %q, not %s", u.Path, path)}
		}
	}
	u, err := url.Parse(resp.NextPage)
	if err != nil {
		return &PagingError{Reason: "it does not parse as a URL"}
	}
	if prev, seen := requested[pageKey(u)]; seen {
		return &PagingError{Reason: fmt.Sprintf("it leads back to page %d, so paging would never end", prev)}
	}
	return nil
}

// pageKey is a page URL's path and sorted query: the identity of a page.
func pageKey(u *url.URL) string { return u.Path + "?" + u.Query().Encode() }

// sameOrigin compares scheme and host, default ports made explicit.
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if strings.EqualFold(u.Scheme, "http") {
			return "80"
		}
		return "443"
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// fetch reads one page: the first with ListUsers, the next ones by
// following the previous page's Link rel="next". Every call gets a fresh
// slice (the SDK corrupts reused ones). Malformed bodies are retried like
// 5xx; HTTP errors were already retried by the transport.
func (e *Extractor) fetch(ctx context.Context, qp *query.Params, prev *okta.Response) ([]*okta.User, *okta.Response, error) {
	for attempt := 0; ; attempt++ {
		var (
			users []*okta.User
			resp  *okta.Response
			err   error
		)
		if prev == nil {
			users, resp, err = e.client.User.ListUsers(ctx, qp)
		} else {
			resp, err = prev.Next(ctx, &users)
		}
		if err == nil && users == nil {
			// An empty, blank or "null" body decodes to no slice at all (an
			// empty page is "[]"): never read that as "no more users".
			err = errEmptyPage
		}
		if err == nil {
			return users, resp, nil
		}
		err = e.cfg.classify(err, resp)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		// ctx is alive, so a context error is the attempt's own deadline
		// (RequestTimeout) expiring while the SDK read the body.
		bodyTimeout := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
		var readErr *bodyReadError
		lost := !bodyTimeout && errors.As(err, &readErr)
		if !(bodyTimeout || retryableBody(err)) || attempt >= e.cfg.MaxRetries {
			switch {
			case bodyTimeout:
				err = &TransportError{Attempts: attempt + 1, Cause: "reading the page body: " + err.Error()}
			case lost:
				err = &TransportError{Attempts: attempt + 1, Cause: "connection lost while reading the page body: " + err.Error()}
			case retryableBody(err):
				err = &MalformedPageError{Attempts: attempt + 1, Cause: err.Error()}
			}
			return nil, nil, err
		}
		e.counters.Retries.Add(1)
		e.log.Debug("retrying an unreadable Okta page", zap.Int("attempt", attempt+1), zap.Bool("connection_lost", lost), zap.Error(err))
		if err := sleepCtx(ctx, backoffDelay(e.cfg.RetryBackoff, attempt+1)); err != nil {
			return nil, nil, err
		}
	}
}

var errEmptyPage = errors.New("the page body is empty or null")

// readWindow bounds, by Okta's clock, when Okta answered a request sent at
// sent and answered at done (by this machine's clock): from the Date header
// (whole seconds, so the answer came within a second after it) less the
// request's round trip, to the Date header plus a second. Without a Date
// header it falls back to this machine's clock.
func readWindow(resp *okta.Response, sent, done time.Time) (from, to time.Time) {
	if resp != nil && resp.Response != nil {
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			return d.Add(-done.Sub(sent)), d.Add(time.Second)
		}
	}
	return sent, done
}

// MalformedPageError means Okta answered a page with 200 but a body that
// did not decode as a list of users, on every attempt.
type MalformedPageError struct {
	Attempts int
	Cause    string
}

func (e *MalformedPageError) Error() string {
	return fmt.Sprintf("okta returned a malformed page after %d attempts: %s", e.Attempts, e.Cause)
}

// Ping checks that Okta answers and accepts the credentials, with one
// one-user list request (readiness probes).
func (e *Extractor) Ping(ctx context.Context) error {
	_, resp, err := e.client.User.ListUsers(ctx, query.NewQueryParams(query.WithLimit(1)))
	if err != nil {
		return fmt.Errorf("okta: %w", e.cfg.classify(err, resp))
	}
	return nil
}

// User fetches one user by id (or login), for event hooks. A user Okta no
// longer has gives an *extractor.GoneError around an *APIError with
// NotFound() true.
func (e *Extractor) User(ctx context.Context, id string) (*okta.User, error) {
	sent := time.Now()
	u, resp, err := e.client.User.GetUser(ctx, url.PathEscape(id))
	if err != nil {
		err = e.cfg.classify(err, resp)
		if errors.Is(err, extractor.ErrNotFound) {
			_, to := readWindow(resp, sent, time.Now())
			err = &extractor.GoneError{At: to, Err: err}
		}
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	if u == nil {
		return nil, fmt.Errorf("get user %s: okta returned an empty body", id)
	}
	return u, nil
}

// MappedUser fetches one user by id and maps it. A non-empty reason means
// the mapping skips the user; a user Okta no longer has gives an
// *extractor.GoneError.
func (e *Extractor) MappedUser(ctx context.Context, id string) (extractor.User, string, error) {
	u, err := e.User(ctx, id)
	if err != nil {
		return extractor.User{}, "", err
	}
	mu, reason := e.cfg.Mapping.Transform(u)
	if reason != "" || e.teams == nil && !e.cfg.Scope.On() {
		return mu, reason, nil
	}
	var groups []*okta.Group
	if e.teams != nil || len(e.cfg.Scope.Groups) > 0 {
		if groups, err = e.userGroups(ctx, u.Id); err != nil {
			return extractor.User{}, "", err
		}
	}
	if e.cfg.Scope.On() {
		in, err := e.inScope(ctx, u.Id, groups)
		if err != nil {
			return extractor.User{}, "", err
		}
		if !in {
			return extractor.User{}, SkipOutOfScope, nil
		}
	}
	if e.teams != nil {
		mu.TeamName = e.teams.best(groups)
	}
	return mu, reason, nil
}

// classify turns SDK errors into the types callers branch on, and removes
// the signed client assertion from the token-request URL that net/http
// quotes in transport errors (it is a bearer credential for about an hour).
// classify turns the SDK's error for a request made with c into an
// *APIError where Okta answered: with the scopes asked for when the token
// endpoint refused them, and the scope Okta named when it refused a token
// without it.
func (c Config) classify(err error, resp *okta.Response) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	var oe *okta.Error
	if errors.As(err, &oe) {
		status, attempts := 0, 0
		if resp != nil && resp.Response != nil {
			status = resp.StatusCode
			attempts, _ = strconv.Atoi(resp.Header.Get(attemptsHeader))
		}
		summary := oe.ErrorSummary
		if summary == "" {
			summary = oe.ErrorDescription
		}
		code := oe.ErrorCode
		if code == "" {
			code = oe.ErrorMessage
		}
		ae := &APIError{Status: status, Code: code, Summary: summary, Attempts: attempts}
		if status == 0 && c.OAuth() && scopeRefusal(code) {
			ae.Scopes = c.RequiredScopes()
		}
		if status == http.StatusForbidden {
			ae.Missing = insufficientScope(resp.Header.Get("WWW-Authenticate"))
		}
		return ae
	}
	return err
}

// scopeRefusal reports whether a token endpoint's error is about the
// scopes asked for (not the client or its key).
func scopeRefusal(code string) bool {
	switch code {
	case "invalid_scope", "consent_required", "access_denied":
		return true
	}
	return false
}

// insufficientScope returns the scope a WWW-Authenticate challenge names
// with error="insufficient_scope", or "".
func insufficientScope(challenge string) string {
	if !strings.Contains(challenge, `error="insufficient_scope"`) {
		return ""
	}
	_, rest, ok := strings.Cut(challenge, `scope="`)
	if !ok {
		return ""
	}
	scope, _, _ := strings.Cut(rest, `"`)
	return scope
}

func redactURL(raw string) string {
	if !strings.Contains(raw, "client_assertion=") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		raw, _, _ = strings.Cut(raw, "?")
		return raw
	}
	q := u.Query()
	q.Set("client_assertion", "REDACTED")
	u.RawQuery = q.Encode()
	return u.String()
}

// retryableBody reports errors that come from a page body that did not
// decode: everything that is not an HTTP, transport, rate-limit or context
// error.
func retryableBody(err error) bool {
	var (
		ae *APIError
		te *TransportError
		re *RateLimitError
	)
	switch {
	case errors.As(err, &ae), errors.As(err, &te), errors.As(err, &re),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var ue *url.Error
	return !errors.As(err, &ue)
}

// mapPage maps one page of Okta users.
func (e *Extractor) mapPage(users []*okta.User, by readBy) extractor.Page {
	p := extractor.Page{Users: make([]extractor.User, 0, len(users))}
	for _, u := range users {
		if u != nil && u.LastUpdated != nil && u.LastUpdated.After(p.LastUpdated) {
			p.LastUpdated = *u.LastUpdated
		}
		if by.scope != nil && (u == nil || !by.scope.has(u.Id)) {
			p.OutOfScope++ // neither written nor seen (scope.go)
			continue
		}
		mu, reason := e.cfg.Mapping.Transform(u)
		if reason != "" {
			id := ""
			if u != nil {
				id = u.Id
			}
			p.Skipped = append(p.Skipped, extractor.Skip{SourceID: id, Reason: reason})
			e.log.Debug("skip user", zap.String("okta_id", id), zap.String("reason", reason))
			continue
		}
		if e.teams != nil {
			mu.TeamName = by.teams.team(mu.SourceID)
		}
		p.Users = append(p.Users, mu)
	}
	return p
}
