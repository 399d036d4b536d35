// Package oktasim is an in-process simulator of Okta's Users API.
//
// It serves the subset of the Okta management API that oktasync reads
// (GET /api/v1/users with limit/after/filter/search/q, GET
// /api/v1/users/{idOrLogin}), the org authorization server's token endpoint
// for OAuth service apps (POST /oauth2/v1/token with private_key_jwt), Okta's
// rate-limit headers and 429s, and injectable faults (latency, 500s,
// connection resets, truncated pages, persistent failure). The org is
// generated deterministically from a seed: realistic names including
// non-ASCII ones, every user status, a manager tree, custom attributes and
// Okta-shaped timestamps.
//
// Tests and demos change the org through an admin API (under /admin/, no
// Okta authentication) or the equivalent Go methods on *Server. Every change
// moves the user's lastUpdated to the clock's millisecond, later than the
// user's previous one. As in Okta, two users changed in the same
// millisecond share a lastUpdated, and search and filter results may lag
// changes (Config.SearchLag, index.go).
//
// Okta API (Authorization: "SSWS <token>" or "Bearer <access token>"):
//
//	GET  /api/v1/users               limit (default and max 200), after, filter, search, q
//	GET  /api/v1/users/{idOrLogin}   by id, or by login (case-insensitive)
//	GET  /api/v1/org                 the Org Settings (SSWS only; org.go)
//	POST /oauth2/v1/token            client_credentials + private_key_jwt (RS256/384/512)
//	/api/v1/eventHooks               create, list, get, update, delete, lifecycle/activate,
//	                                 deactivate and verify (eventhooks.go); a verified, active
//	                                 hook receives the events of admin changes
//
// List pages are ordered by id; the opaque after cursor encodes the last id
// of the previous page, so paging stays consistent while users change. A
// plain list and q omit DEPROVISIONED users; filter and search include them.
// Like Okta (okta-sdk-python#435), a full page always has a rel="next"
// link, so a list whose size is a multiple of limit ends with an empty
// page ([]) without one.
//
// GET /.well-known/okta-organization (no authentication) tells the org's
// id and URLs; every host reaches the same org (org.go).
//
// OpenID Connect sign-in (the org authorization server's /.well-known,
// /oauth2/v1/authorize, keys, userinfo, logout and the authorization_code
// and refresh_token grants, plus custom authorization servers) is described
// in oidc.go.
//
// Admin API (no authentication, JSON in and out, errors as {"error": "..."}):
//
//	GET    /admin/users                 every user (DEPROVISIONED included) as Okta JSON
//	POST   /admin/users                 {"profile": {...}, "status": "ACTIVE"} -> 201
//	GET    /admin/users/{id}            one user
//	PATCH  /admin/users/{id}            {"profile": {...}} merged; null clears
//	PUT    /admin/users/{id}/manager    {"managerId": "00u..."}; "" or null removes
//	PUT    /admin/users/{id}/status     {"status": "SUSPENDED"}
//	POST   /admin/users/{id}/deactivate status DEPROVISIONED
//	DELETE /admin/users/{id}            hard delete -> 204
//	GET    /admin/groups                {"groups": [{"id", "type", "name", "description",
//	                                    "members": [user ids]}...]}, every group (groups.go)
//	GET    /admin/stats                 Stats
//	GET    /admin/faults, PUT /admin/faults
//	       {"error_rate", "reset_rate", "malformed_rate", "latency_ms", "fail_after",
//	        "rate_limit_rate", "hang_rate", "body_reset_rate", "stall_rate",
//	        "garbage_rate", "next_link", "next_host"}
//	POST   /admin/ratelimits/reset      restore every rate-limit budget -> 204
//	GET    /admin/hooks                 {"hooks": [HookStats...]}
//	POST   /admin/hooks/flush           deliver every pending event now; {"hooks", "errors"}
//	POST   /admin/hooks/verify          re-run the verification GET; {"hooks", "errors"}
//
// Wherever the admin API or a Go method takes an id, a login works too.
//
// Event hooks: Server.StartHooks registers a receiver and delivers the
// System Log events of admin changes (from then on) as Okta does: a
// one-time verification GET with an x-okta-verification-challenge header
// (Hooks.Verify), then POSTs with Accept and Content-Type application/json,
// the configured auth header and extra headers, and the body
// {"eventType": "com.okta.event_hook", ..., "eventId", "data": {"events":
// [LogEvent...]}}. Events close in time are amalgamated (HookConfig.Batch,
// MaxEvents); each attempt times out after 3s; a 5xx, a timeout or a
// connection error gets exactly one retry with the same body, a 4xx (or
// 3xx) none. Optional duplicates (same eventId) and shuffling (within and
// across deliveries) are seeded. Admin changes never wait for delivery:
// the queue is bounded and overflow is dropped and counted.
//
// Events of admin changes (target[] holds the user, type "User", as it is
// after the change; deleting shows it as it was):
//
//	Create                  user.lifecycle.create, + user.lifecycle.activate unless STAGED,
//	                        + the event of going from ACTIVE to the status (e.g. suspend)
//	UpdateProfile           user.account.update_profile (not for an empty change)
//	SetManager              user.account.update_profile
//	SetStatus -> SUSPENDED  user.lifecycle.suspend; SUSPENDED -> other: user.lifecycle.unsuspend first
//	SetStatus -> DEPROVISIONED  user.lifecycle.deactivate (only)
//	DEPROVISIONED -> other  user.lifecycle.reactivate first
//	SetStatus -> LOCKED_OUT user.account.lock; LOCKED_OUT -> other: user.account.unlock first
//	STAGED -> other         user.lifecycle.activate first
//	-> RECOVERY             user.account.reset_password
//	PROVISIONED, RECOVERY or PASSWORD_EXPIRED -> ACTIVE  user.account.update_password
//	-> PASSWORD_EXPIRED     nothing (user.account.expire_password is not hook-eligible)
//	Delete                  user.lifecycle.deactivate unless DEPROVISIONED, then
//	                        user.lifecycle.delete.initiated (delete.completed is not hook-eligible)
//
// The simulator is used by tests, `make demo` and benchmarks; product code
// must not import it. Tests start it with oktasimtest.Start.
package oktasim

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by New when the corresponding Config field is zero.
const (
	DefaultRateLimit  = 600
	DefaultRateWindow = 60 * time.Second
	// MaxUsers bounds Config.Users so a typo cannot exhaust memory.
	MaxUsers = 2_000_000
)

// Sentinel errors returned by the admin methods. They are wrapped with
// details; test them with errors.Is.
var (
	// ErrNotFound reports an unknown user (or manager) id.
	ErrNotFound = errors.New("oktasim: user not found")
	// ErrInvalid reports a rejected change: bad status, missing or
	// duplicate login, a value that cannot be represented as JSON.
	ErrInvalid = errors.New("oktasim: invalid request")
)

// Config describes the simulated org. The zero value of each optional field
// selects the documented default.
type Config struct {
	// Users is the number of users generated at start-up.
	Users int
	// Seed makes generation (and fault decisions) deterministic.
	Seed int64
	// Shape is the org's manager structure: ShapeDefault (also ""),
	// ShapeFlat or ShapeDeep.
	Shape string
	// Token, if non-empty, is the only accepted SSWS API token; otherwise
	// any non-empty SSWS token is accepted.
	Token string
	// RateLimit is the number of requests per window per bucket (0 means
	// 600). The buckets are: list users (GET /api/v1/users), get user
	// (GET /api/v1/users/{id}), the token endpoint, and everything else
	// under /api/v1/; and the Groups API's and apps' (groups.go), which
	// allow Okta's share of it: 500, 1,000 and 100 for 600.
	RateLimit int
	// RateWindow is the length of a rate-limit window (0 means 60s). A
	// bucket's window starts at its first request.
	RateWindow time.Duration
	// Clients maps OAuth service-app client ids to their RSA public keys,
	// for POST /oauth2/v1/token (client_credentials with private_key_jwt).
	Clients map[string]*rsa.PublicKey
	// Now is the clock (nil means time.Now). It is read for rate-limit
	// windows, token expiry and the timestamps of admin changes.
	Now func() time.Time
	// OrgID is the org's id (00o...); "" derives one from Seed (org.go).
	OrgID string
	// Grants lists, by service-app client id, the Okta API scopes the app
	// is granted; a client it does not list is granted every scope the
	// simulator knows but okta.orgs.read.
	Grants map[string][]string
	// Groups is the number of groups generated with the users: teams as
	// groups, nested, overlapping and empty ones (groups.go). 0: none.
	Groups int
	// SearchLag is how long after a change search and filter queries show
	// it (index.go); 0 means at once. SetSearchLag changes it later.
	SearchLag time.Duration
}

// Faults are injected into requests under /api/v1/ (never into the token
// endpoint or the admin API). The zero value injects nothing.
type Faults struct {
	// ErrorRate is the fraction of API requests answered with HTTP 500 and
	// an Okta E0000009 body.
	ErrorRate float64
	// ResetRate is the fraction of API requests whose connection is
	// hijacked and closed without any response. The client sees EOF (which
	// okta-sdk-golang v2 retries without limit); note that Go's
	// http.Transport may itself replay a GET that fails this way on a
	// reused keep-alive connection.
	ResetRate float64
	// MalformedRate is the fraction of list pages answered with status 200
	// and a truncated (invalid) JSON body.
	MalformedRate float64
	// Latency is added to every API request.
	Latency time.Duration
	// FailAfter, if > 0, makes every API request fail with 500 once this
	// many list pages have been served successfully since SetFaults.
	FailAfter int

	// RateLimitRate is the fraction of API requests answered with 429 (and
	// X-Rate-Limit-Remaining 0) whatever the bucket's budget: a 429 storm.
	RateLimitRate float64
	// HangRate is the fraction of API requests that never answer: the
	// handler waits until the client gives up (at most HangMax).
	HangRate float64

	// BodyResetRate is the fraction of list pages whose connection is
	// closed halfway through the body (status 200 and headers already sent).
	BodyResetRate float64
	// StallRate is the fraction of list pages that send half the body and
	// then stop sending until the client gives up (at most HangMax).
	StallRate float64
	// GarbageRate is the fraction of list pages answered 200 with a body
	// that is not JSON at all (an HTML error page labelled application/json).
	GarbageRate float64

	// NextLink corrupts the Link rel="next" of list pages: NextRepeat makes
	// every page's next link its own URL, NextCycle makes every page after
	// the first link back to the first page. "" is Okta's behaviour.
	NextLink string
	// NextHost, if set (scheme://host[:port]), is the base URL of every
	// next link instead of the org's.
	NextHost string
}

// NextLink modes of Faults.
const (
	NextRepeat = "repeat"
	NextCycle  = "cycle"
)

// HangMax bounds how long a hanging or stalled response waits for its
// client to give up.
const HangMax = time.Minute

// Stats are counters since New. Request counters count every request that
// reached the endpoint, whatever its outcome.
type Stats struct {
	ListUsersRequests int64 `json:"list_users_requests"`
	GetUserRequests   int64 `json:"get_user_requests"`
	TokenRequests     int64 `json:"token_requests"`
	OtherAPIRequests  int64 `json:"other_api_requests"`
	AdminRequests     int64 `json:"admin_requests"`
	// ListPages counts list responses served with status 200 and a
	// well-formed body; MalformedPages counts the truncated ones.
	ListPages      int64 `json:"list_pages"`
	MalformedPages int64 `json:"malformed_pages"`
	// RateLimited counts 429 responses.
	RateLimited int64 `json:"rate_limited"`
	// ServerErrors counts 5xx responses.
	ServerErrors int64 `json:"server_errors"`
	// Resets counts connections closed without a response or mid-body.
	Resets int64 `json:"resets"`
	// Hangs counts requests left hanging and list bodies stalled.
	Hangs int64 `json:"hangs"`
	// Unauthorized counts 401 responses from /api/v1/.
	Unauthorized int64 `json:"unauthorized"`
	// TokensIssued counts access tokens issued by the token endpoint.
	TokensIssued int64 `json:"tokens_issued"`
	// WellKnownOrgRequests counts GET /.well-known/okta-organization.
	WellKnownOrgRequests int64 `json:"well_known_org_requests"`
}

// User is an exported snapshot of one user. Nullable Okta timestamps are
// pointers. Profile values have JSON types: string, float64, bool, nil,
// []any or map[string]any.
type User struct {
	Id              string
	Status          string
	Created         time.Time
	Activated       *time.Time
	StatusChanged   *time.Time
	LastLogin       *time.Time
	LastUpdated     time.Time
	PasswordChanged *time.Time
	// TypeID is the id of the user type ("oty...").
	TypeID  string
	Profile map[string]any
}

// user is the internal, mutable record. All times are UTC with millisecond
// precision.
type user struct {
	id               string
	status           string
	created          time.Time
	activated        *time.Time
	statusChanged    *time.Time
	lastLogin        *time.Time
	lastUpdated      time.Time
	passwordChanged  *time.Time
	typeID           string
	recoveryQuestion string // "" for users without an Okta password
	profile          map[string]any
	// provider is credentials.provider: who masters the user (the zero
	// value is Okta). Only Okta-mastered users have an Okta password.
	provider provider
	// transitioningTo is transitioningToStatus while a lifecycle change
	// that began in status transitioningFrom is in progress; any status
	// change since ends it (see transitioningToStatus).
	transitioningTo, transitioningFrom string
}

// Server is a simulated Okta org. Create it with New; it is safe for
// concurrent use.
type Server struct {
	cfg     Config
	now     func() time.Time
	handler http.Handler

	mu         sync.RWMutex
	users      map[string]*user
	ids        []string          // sorted ascending; the paging order
	logins     map[string]string // lower-cased login -> id
	maxUpdated time.Time         // greatest lastUpdated ever assigned
	idRNG      *rand.Rand        // ids of created users (guarded by mu)
	idx        *searchIndex      // what search and filter see (index.go); nil: the users
	groups     map[string]*group // groups.go
	groupIDs   []string          // sorted
	apps       map[string]*app

	faultMu   sync.Mutex
	faults    Faults
	faultRNG  *rand.Rand
	goodPages int // successful list pages since SetFaults (for FailAfter)

	limiter *rateLimiter

	tokMu  sync.Mutex
	tokens map[string]accessToken
	jtis   map[string]time.Time // client assertion jti -> expiry (replay guard)

	oidc oidcState // OIDC sign-in (oidc.go)

	hookMu sync.Mutex // guards hooks; taken after mu, before Hooks.mu
	hooks  []*Hooks   // running event hooks

	eventHooks eventHookStore // registered through /api/v1/eventHooks (eventhooks.go)

	oid               string     // the org's id (org.go)
	domMu             sync.Mutex // guards orgURL and customURL
	orgURL, customURL string     // SetDomains

	reqSeq atomic.Uint64
	st     counters
}

type counters struct {
	listUsers, getUser, token, otherAPI, admin atomic.Int64
	listPages, malformed, rateLimited          atomic.Int64
	serverErrors, resets, unauthorized, issued atomic.Int64
	hangs, wellKnown                           atomic.Int64
}

// New validates cfg and generates the org. It performs no I/O.
func New(cfg Config) (*Server, error) {
	var errs []error
	if cfg.Users < 0 || cfg.Users > MaxUsers {
		errs = append(errs, fmt.Errorf("users must be between 0 and %d, got %d", MaxUsers, cfg.Users))
	}
	if cfg.Shape != "" && !slices.Contains(Shapes(), cfg.Shape) {
		errs = append(errs, fmt.Errorf("shape must be one of %v, got %q", Shapes(), cfg.Shape))
	}
	if cfg.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate limit must not be negative, got %d", cfg.RateLimit))
	}
	if cfg.RateWindow < 0 {
		errs = append(errs, fmt.Errorf("rate window must not be negative, got %s", cfg.RateWindow))
	}
	for id, g := range cfg.Grants {
		for _, sc := range g {
			if !knownScope(sc) {
				errs = append(errs, fmt.Errorf("grants of client %q: unknown scope %q", id, sc))
			}
		}
	}
	if cfg.Groups < 0 || cfg.Groups > MaxUsers {
		errs = append(errs, fmt.Errorf("groups must be between 0 and %d, got %d", MaxUsers, cfg.Groups))
	}
	if cfg.SearchLag < 0 {
		errs = append(errs, fmt.Errorf("search lag must not be negative, got %s", cfg.SearchLag))
	}
	for id, k := range cfg.Clients {
		if id == "" {
			errs = append(errs, errors.New("client id must not be empty"))
		}
		if k == nil || k.N == nil {
			errs = append(errs, fmt.Errorf("client %q has no public key", id))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("oktasim: invalid config: %w", errors.Join(errs...))
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	clients := make(map[string]*rsa.PublicKey, len(cfg.Clients))
	for id, k := range cfg.Clients {
		clients[id] = k
	}
	cfg.Clients = clients
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	seed := uint64(cfg.Seed)
	s := &Server{
		cfg:      cfg,
		now:      now,
		users:    make(map[string]*user, cfg.Users),
		logins:   make(map[string]string, cfg.Users),
		idRNG:    rand.New(rand.NewPCG(seed, 0x6964735f6f6b7461)),
		faultRNG: rand.New(rand.NewPCG(seed, 0x6661756c74730000)),
		limiter:  newRateLimiter(cfg.RateLimit, cfg.RateWindow),
		tokens:   make(map[string]accessToken),
		jtis:     make(map[string]time.Time),
		oid:      cfg.OrgID,
	}
	if s.oid == "" {
		s.oid = seedOrgID(cfg.Seed)
	}
	users := generate(cfg.Users, cfg.Seed, cfg.Shape)
	for _, u := range users {
		s.users[u.id] = u
		s.ids = append(s.ids, u.id)
		s.logins[lowerLogin(u.profile)] = u.id
		if u.lastUpdated.After(s.maxUpdated) {
			s.maxUpdated = u.lastUpdated
		}
	}
	sort.Strings(s.ids)
	for _, g := range generateGroups(users, cfg.Groups, cfg.Seed) {
		s.addGroupLocked(g)
	}
	s.setSearchLagLocked(cfg.SearchLag)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler serving the Okta API, the token endpoint
// and the admin API.
func (s *Server) Handler() http.Handler { return s.handler }

// SetFaults replaces the injected faults and restarts the FailAfter count.
func (s *Server) SetFaults(f Faults) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = f
	s.goodPages = 0
}

// Faults returns the faults currently injected.
func (s *Server) Faults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		ListUsersRequests:    s.st.listUsers.Load(),
		GetUserRequests:      s.st.getUser.Load(),
		TokenRequests:        s.st.token.Load(),
		OtherAPIRequests:     s.st.otherAPI.Load(),
		AdminRequests:        s.st.admin.Load(),
		ListPages:            s.st.listPages.Load(),
		MalformedPages:       s.st.malformed.Load(),
		RateLimited:          s.st.rateLimited.Load(),
		ServerErrors:         s.st.serverErrors.Load(),
		Resets:               s.st.resets.Load(),
		Hangs:                s.st.hangs.Load(),
		Unauthorized:         s.st.unauthorized.Load(),
		TokensIssued:         s.st.issued.Load(),
		WellKnownOrgRequests: s.st.wellKnown.Load(),
	}
}

// Users returns a deep copy of every user (DEPROVISIONED included, deleted
// users excluded), sorted by id.
func (s *Server) Users() []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]User, 0, len(s.ids))
	for _, id := range s.ids {
		out = append(out, s.users[id].snapshot())
	}
	return out
}

// User returns a deep copy of one user by id.
func (s *Server) User(id string) (User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return u.snapshot(), nil
}

func (u *user) snapshot() User {
	return User{
		Id:              u.id,
		Status:          u.status,
		Created:         u.created,
		Activated:       copyTime(u.activated),
		StatusChanged:   copyTime(u.statusChanged),
		LastLogin:       copyTime(u.lastLogin),
		LastUpdated:     u.lastUpdated,
		PasswordChanged: copyTime(u.passwordChanged),
		TypeID:          u.typeID,
		Profile:         deepCopyMap(u.profile),
	}
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
