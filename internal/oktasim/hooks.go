package oktasim

// Okta event hooks: the simulator POSTs System Log events caused by admin
// changes to a receiver, the way Okta delivers them (see the package doc).

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by StartHooks when the corresponding HookConfig field is
// zero.
const (
	DefaultHookBatch      = 200 * time.Millisecond
	DefaultHookMaxEvents  = 50
	DefaultHookTimeout    = 3 * time.Second // Okta's timeout
	DefaultHookQueueSize  = 10_000
	DefaultHookAuthHeader = "Authorization"
	// DefaultHookOrgURL is the org URL in the delivery "source" when
	// HookConfig.OrgURL is empty.
	DefaultHookOrgURL = "https://oktasim.invalid"
)

// ErrHooksClosed is returned by the methods of a closed *Hooks.
var ErrHooksClosed = errors.New("oktasim: event hooks closed")

// Event types the simulator emits for admin changes (and a few more that
// NewEvent knows how to shape).
const (
	EventUserCreate          = "user.lifecycle.create"
	EventUserActivate        = "user.lifecycle.activate"
	EventUserDeactivate      = "user.lifecycle.deactivate"
	EventUserReactivate      = "user.lifecycle.reactivate"
	EventUserSuspend         = "user.lifecycle.suspend"
	EventUserUnsuspend       = "user.lifecycle.unsuspend"
	EventUserDeleteInitiated = "user.lifecycle.delete.initiated"
	EventUserUpdateProfile   = "user.account.update_profile"
	EventUserLock            = "user.account.lock"
	EventUserUnlock          = "user.account.unlock"
	EventUserResetPassword   = "user.account.reset_password"
	EventUserUpdatePassword  = "user.account.update_password"
	EventGroupMemberAdd      = "group.user_membership.add"
	EventGroupMemberRemove   = "group.user_membership.remove"
	EventAppMemberAdd        = "application.user_membership.add"
	EventAppMemberRemove     = "application.user_membership.remove"
)

// HookConfig configures one event hook, as registered in Okta with
// POST /api/v1/eventHooks, plus knobs for Okta's delivery quirks.
type HookConfig struct {
	// URL is the receiver, e.g. http://127.0.0.1:PORT/okta/events. Okta
	// requires https; the simulator also accepts http.
	URL string
	// AuthHeader is the header name of channel.config.authScheme
	// (default "Authorization").
	AuthHeader string
	// AuthValue is the shared secret sent in AuthHeader; empty sends no
	// auth header.
	AuthValue string
	// Extra are static headers (channel.config.headers).
	Extra map[string]string
	// Batch is how long events are amalgamated into one delivery, counted
	// from the first event after an idle period (default 200ms).
	Batch time.Duration
	// MaxEvents bounds the events of one delivery (default 50).
	MaxEvents int
	// DuplicateRate is the fraction of deliveries sent twice (the identical
	// body, same eventId). With Shuffle the second copy goes out in a later
	// round, after newer deliveries.
	DuplicateRate float64
	// Shuffle delivers events out of order: the events of a round are
	// shuffled before being split into deliveries, deliveries are sent in
	// random order, and each delivery may be held back to a later round.
	Shuffle bool
	// Timeout bounds each HTTP attempt, including reading the response
	// (default 3s, Okta's).
	Timeout time.Duration
	// Seed makes duplicate, shuffle and hold-back decisions deterministic.
	Seed int64
	// OrgURL prefixes the delivery "source" (default DefaultHookOrgURL).
	OrgURL string
	// QueueSize bounds the events waiting for delivery (default 10000).
	// Events produced while the queue is full are dropped and counted, as
	// Okta drops events past its daily limit; admin changes never wait.
	QueueSize int
	// VerifyWithoutAuth omits the auth and extra headers from the
	// verification GET. Okta's docs do not say whether it sends them;
	// by default the simulator does.
	VerifyWithoutAuth bool
	// EventTypes, if not empty, are the only event types delivered: those
	// a hook registered through /api/v1/eventHooks subscribed to, as Okta
	// delivers. Empty delivers every event.
	EventTypes []string
}

// HookStats are the counters of one hook since StartHooks. A "send" is one
// delivery attempt cycle: the first POST and, on a 5xx, a timeout or a
// connection error, exactly one retry of the same body.
type HookStats struct {
	// ID is the hook id ("who..."), URL its receiver.
	ID  string `json:"id"`
	URL string `json:"url"`
	// Verified reports whether the last Verify succeeded; Verifications
	// counts Verify calls and VerifyError is the last failure.
	Verified      bool   `json:"verified"`
	Verifications int64  `json:"verifications"`
	VerifyError   string `json:"verify_error,omitempty"`
	// Deliveries counts distinct deliveries (eventIds) sent, Events the
	// events in them. Duplicates counts extra sends of a delivery already
	// sent (same eventId); their events are not counted again.
	Deliveries int64 `json:"deliveries"`
	Events     int64 `json:"events"`
	Duplicates int64 `json:"duplicates"`
	// Requests counts every POST (first attempts, retries, duplicates);
	// Retries the retry POSTs; Timeouts the attempts that timed out.
	Requests int64 `json:"requests"`
	Retries  int64 `json:"retries"`
	Timeouts int64 `json:"timeouts"`
	// Succeeded and Failed count sends by outcome (2xx or not, after the
	// retry). FailuresByStatus maps the final status of failed sends to
	// their number; 0 stands for a timeout or connection error.
	Succeeded        int64         `json:"succeeded"`
	Failed           int64         `json:"failed"`
	FailuresByStatus map[int]int64 `json:"failures_by_status"`
	// LastStatus is the final status of the last send (0: none or no
	// response); LastError the last send or verification failure.
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error,omitempty"`
	// Dropped counts events lost because the queue was full; Discarded the
	// events still waiting when Close was called; Pending the events
	// waiting now (queued or in held-back deliveries).
	Dropped   int64 `json:"dropped"`
	Discarded int64 `json:"discarded"`
	Pending   int64 `json:"pending"`
}

// Event is a System Log LogEvent as delivered in data.events[].
type Event struct {
	UUID                  string               `json:"uuid"`
	Published             time.Time            `json:"published"`
	EventType             string               `json:"eventType"`
	Version               string               `json:"version"`
	DisplayMessage        string               `json:"displayMessage"`
	Severity              string               `json:"severity"`
	Client                *EventClient         `json:"client"`
	Request               *EventRequest        `json:"request"`
	Device                any                  `json:"device"`
	Actor                 EventActor           `json:"actor"`
	Outcome               EventOutcome         `json:"outcome"`
	Target                []EventTarget        `json:"target"`
	Transaction           EventTransaction     `json:"transaction"`
	DebugContext          EventDebugContext    `json:"debugContext"`
	LegacyEventType       *string              `json:"legacyEventType"`
	AuthenticationContext EventAuthContext     `json:"authenticationContext"`
	SecurityContext       EventSecurityContext `json:"securityContext"`
	InsertionTimestamp    *string              `json:"insertionTimestamp"`
}

// MarshalJSON renders published the way Okta does (UTC, milliseconds).
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		Published jsonTime `json:"published"`
	}{plain(e), jsonTime(e.Published)})
}

// EventActor is who performed the action.
type EventActor struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	AlternateID string         `json:"alternateId"`
	DisplayName string         `json:"displayName"`
	DetailEntry map[string]any `json:"detailEntry"`
}

// EventTarget is an entity the action was performed on. Users have Type
// "User", id = Okta user id and alternateId = login.
type EventTarget struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	AlternateID string         `json:"alternateId"`
	DisplayName string         `json:"displayName"`
	DetailEntry map[string]any `json:"detailEntry"`
}

// EventOutcome is the result of the action.
type EventOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

// EventClient is the client that made the request.
type EventClient struct {
	UserAgent           *EventUserAgent `json:"userAgent"`
	Zone                string          `json:"zone"`
	Device              string          `json:"device"`
	ID                  *string         `json:"id"`
	IPAddress           string          `json:"ipAddress"`
	GeographicalContext *EventGeo       `json:"geographicalContext"`
}

// EventUserAgent describes the client's user agent.
type EventUserAgent struct {
	RawUserAgent string `json:"rawUserAgent"`
	OS           string `json:"os"`
	Browser      string `json:"browser"`
}

// EventRequest is the request that caused an event: the chain of
// addresses it came through.
type EventRequest struct {
	IPChain []EventIPAddress `json:"ipChain"`
}

// EventIPAddress is one address of a request's chain.
type EventIPAddress struct {
	IP                  string    `json:"ip"`
	GeographicalContext *EventGeo `json:"geographicalContext"`
	Version             string    `json:"version"`
	Source              *string   `json:"source"`
}

// EventGeo is a geographical context: the client's location.
type EventGeo struct {
	City        string            `json:"city"`
	State       string            `json:"state"`
	Country     string            `json:"country"`
	PostalCode  string            `json:"postalCode"`
	Geolocation *EventGeolocation `json:"geolocation"`
}

// EventGeolocation is a latitude and longitude.
type EventGeolocation struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// EventTransaction identifies the request that caused the event.
type EventTransaction struct {
	Type   string         `json:"type"`
	ID     string         `json:"id"`
	Detail map[string]any `json:"detail"`
}

// EventDebugContext holds free-form debug data.
type EventDebugContext struct {
	DebugData map[string]any `json:"debugData"`
}

// EventAuthContext is the actor's authentication context.
type EventAuthContext struct {
	AuthenticationProvider *string      `json:"authenticationProvider"`
	CredentialProvider     *string      `json:"credentialProvider"`
	CredentialType         *string      `json:"credentialType"`
	Issuer                 *EventIssuer `json:"issuer"`
	Interface              *string      `json:"interface"`
	AuthenticationStep     int          `json:"authenticationStep"`
	ExternalSessionID      string       `json:"externalSessionId"`
}

// EventIssuer issued the actor's credential.
type EventIssuer struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// EventSecurityContext describes the client's network.
type EventSecurityContext struct {
	ASNumber *int    `json:"asNumber"`
	ASOrg    *string `json:"asOrg"`
	ISP      *string `json:"isp"`
	Domain   *string `json:"domain"`
	IsProxy  *bool   `json:"isProxy"`
}

// Delivery is the body of an event hook POST.
type Delivery struct {
	EventType          string       `json:"eventType"`
	EventTypeVersion   string       `json:"eventTypeVersion"`
	CloudEventsVersion string       `json:"cloudEventsVersion"`
	Source             string       `json:"source"`
	EventID            string       `json:"eventId"`
	EventTime          time.Time    `json:"eventTime"`
	ContentType        string       `json:"contentType"`
	Data               DeliveryData `json:"data"`
}

// DeliveryData holds the events of a delivery.
type DeliveryData struct {
	Events []Event `json:"events"`
}

// MarshalJSON renders eventTime the way Okta does.
func (d Delivery) MarshalJSON() ([]byte, error) {
	type plain Delivery
	return json.Marshal(struct {
		plain
		EventTime jsonTime `json:"eventTime"`
	}{plain(d), jsonTime(d.EventTime)})
}

// eventInfo is what NewEvent knows about an event type.
type eventInfo struct {
	display, legacy string
	uri             string // requestUri; {id} is the user id
}

func eventInfoFor(eventType string) eventInfo {
	switch eventType {
	case EventUserCreate:
		return eventInfo{"Create Okta user", "core.user.config.user_creation.success", "/api/v1/users"}
	case EventUserActivate:
		return eventInfo{"Activate Okta user", "core.user.config.user_activated", "/api/v1/users/{id}/lifecycle/activate"}
	case EventUserDeactivate:
		return eventInfo{"Deactivate Okta user", "core.user.config.user_deactivated", "/api/v1/users/{id}/lifecycle/deactivate"}
	case EventUserReactivate:
		return eventInfo{"Reactivate Okta user", "core.user.config.user_reactivated", "/api/v1/users/{id}/lifecycle/reactivate"}
	case EventUserSuspend:
		return eventInfo{"Suspend Okta user", "core.user.config.user_suspended", "/api/v1/users/{id}/lifecycle/suspend"}
	case EventUserUnsuspend:
		return eventInfo{"Unsuspend Okta user", "core.user.config.user_unsuspended", "/api/v1/users/{id}/lifecycle/unsuspend"}
	case EventUserDeleteInitiated:
		return eventInfo{"Delete Okta user", "core.user.config.user_deleted", "/api/v1/users/{id}"}
	case EventUserUpdateProfile:
		return eventInfo{"Update user profile for Okta", "core.user.config.profile_update.success", "/api/v1/users/{id}"}
	case EventUserLock:
		return eventInfo{"Max sign in attempts exceeded", "core.user_auth.account_locked", "/api/v1/authn"}
	case EventUserUnlock:
		return eventInfo{"Unlock user account", "core.user.config.user_unlocked", "/api/v1/users/{id}/lifecycle/unlock"}
	case EventUserResetPassword:
		return eventInfo{"Fire password reset email", "core.user.config.password_reset", "/api/v1/users/{id}/lifecycle/reset_password"}
	case EventUserUpdatePassword:
		return eventInfo{"User update password for Okta", "core.user.config.password_update.success", "/api/v1/users/{id}/credentials/change_password"}
	case EventGroupMemberAdd:
		return eventInfo{"Add user to group membership", "core.user_group_member.user_add", "/api/v1/groups/{group}/users/{id}"}
	case EventGroupMemberRemove:
		return eventInfo{"Remove user from group membership", "core.user_group_member.user_remove", "/api/v1/groups/{group}/users/{id}"}
	case EventAppMemberAdd:
		return eventInfo{"Add user to application membership", "app.generic.provision.assign_user_to_app", "/api/v1/apps/{app}/users"}
	case EventAppMemberRemove:
		return eventInfo{"Remove user from application membership", "app.generic.unauth_app_access_attempt", "/api/v1/apps/{app}/users/{id}"}
	}
	return eventInfo{display: eventType, uri: "/api/v1/users/{id}"}
}

// simAdmin is the actor of admin changes.
var simAdmin = EventActor{
	ID:          "00uSimulatedAdmin001",
	Type:        "User",
	AlternateID: "admin@oktasim.invalid",
	DisplayName: "Oktasim Admin",
}

// NewEvent builds a LogEvent of the given type about target, with a fresh
// uuid, published now, an admin actor (the user itself for
// user.account.lock) and outcome SUCCESS. target[] holds the user as
// {id, type "User", alternateId login, displayName}; group.user_membership.*
// events add a UserGroup after it, application.user_membership.* events put
// an AppUser and an AppInstance before it, so consumers must pick the "User"
// target wherever it sits.
func NewEvent(eventType string, target User) Event {
	return newEvent(eventType, target, time.Now())
}

func newEvent(eventType string, u User, published time.Time) Event {
	info := eventInfoFor(eventType)
	login, _ := u.Profile["login"].(string)
	display := managerName(u.Profile, nil) // displayName, else first + last
	userTarget := EventTarget{ID: u.Id, Type: "User", AlternateID: login, DisplayName: display}
	targets := []EventTarget{userTarget}
	uri := strings.ReplaceAll(info.uri, "{id}", u.Id)
	switch {
	case strings.HasPrefix(eventType, "group.user_membership."):
		gid := "00g" + randomBase62(17)
		targets = append(targets, EventTarget{ID: gid, Type: "UserGroup", AlternateID: "Simulated Group", DisplayName: "Simulated Group"})
		uri = strings.ReplaceAll(uri, "{group}", gid)
	case strings.HasPrefix(eventType, "application.user_membership."):
		aid := "0oa" + randomBase62(17)
		targets = []EventTarget{
			{ID: "0ua" + randomBase62(17), Type: "AppUser", AlternateID: login, DisplayName: display},
			{ID: aid, Type: "AppInstance", AlternateID: "Simulated App", DisplayName: "Simulated App"},
			userTarget,
		}
		uri = strings.ReplaceAll(uri, "{app}", aid)
	}
	actor := simAdmin
	if eventType == EventUserLock {
		actor = EventActor{ID: u.Id, Type: "User", AlternateID: login, DisplayName: display}
	}
	tx := randomBase62(27)
	var legacy *string
	if info.legacy != "" {
		legacy = &info.legacy
	}
	geo := &EventGeo{City: "San Francisco", State: "California", Country: "United States", PostalCode: "94105",
		Geolocation: &EventGeolocation{Lat: 37.7852, Lon: -122.3874}}
	return Event{
		UUID:           newUUID(),
		Published:      published.UTC().Truncate(time.Millisecond),
		EventType:      eventType,
		Version:        "0",
		DisplayMessage: info.display,
		Severity:       "INFO",
		Client: &EventClient{
			UserAgent:           &EventUserAgent{RawUserAgent: "oktasim admin API", OS: "Unknown", Browser: "UNKNOWN"},
			Zone:                "null",
			Device:              "Unknown",
			IPAddress:           "127.0.0.1",
			GeographicalContext: geo,
		},
		Request:     &EventRequest{IPChain: []EventIPAddress{{IP: "127.0.0.1", GeographicalContext: geo, Version: "V4"}}},
		Actor:       actor,
		Outcome:     EventOutcome{Result: "SUCCESS"},
		Target:      targets,
		Transaction: EventTransaction{Type: "WEB", ID: tx, Detail: map[string]any{}},
		DebugContext: EventDebugContext{DebugData: map[string]any{
			"requestId":  tx,
			"requestUri": uri,
			"url":        uri + "?",
		}},
		LegacyEventType:       legacy,
		AuthenticationContext: EventAuthContext{ExternalSessionID: "trs" + randomBase62(22)},
		SecurityContext:       EventSecurityContext{},
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// randomBase62 returns n random base62 characters.
func randomBase62(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}

// --- which admin changes emit which events ---------------------------

// statusEventTypes lists the events of a status change: first the event of
// leaving from, then the event of entering to. Leaving SUSPENDED,
// LOCKED_OUT or STAGED for DEPROVISIONED is a plain deactivation.
// Entering PASSWORD_EXPIRED emits nothing: Okta's
// user.account.expire_password is not event-hook eligible.
func statusEventTypes(from, to string) []string {
	if from == to {
		return nil
	}
	var out []string
	switch from {
	case StatusDeprovisioned:
		out = append(out, EventUserReactivate)
	case StatusStaged:
		if to != StatusDeprovisioned {
			out = append(out, EventUserActivate)
		}
	case StatusSuspended:
		if to != StatusDeprovisioned {
			out = append(out, EventUserUnsuspend)
		}
	case StatusLockedOut:
		if to != StatusDeprovisioned {
			out = append(out, EventUserUnlock)
		}
	case StatusProvisioned, StatusRecovery, StatusPasswordExpired:
		if to == StatusActive {
			out = append(out, EventUserUpdatePassword)
		}
	}
	switch to {
	case StatusSuspended:
		out = append(out, EventUserSuspend)
	case StatusDeprovisioned:
		out = append(out, EventUserDeactivate)
	case StatusLockedOut:
		out = append(out, EventUserLock)
	case StatusRecovery:
		out = append(out, EventUserResetPassword)
	}
	return out
}

// createEventTypes lists the events of creating a user with status: create,
// then activate unless STAGED, then the change from ACTIVE to status.
func createEventTypes(status string) []string {
	out := []string{EventUserCreate}
	if status == StatusStaged {
		return out
	}
	out = append(out, EventUserActivate)
	if status != StatusProvisioned {
		out = append(out, statusEventTypes(StatusActive, status)...)
	}
	return out
}

// deleteEventTypes lists the events of deleting a user with status: Okta
// deactivates first, and user.lifecycle.delete.completed is not
// event-hook eligible.
func deleteEventTypes(status string) []string {
	if status == StatusDeprovisioned {
		return []string{EventUserDeleteInitiated}
	}
	return []string{EventUserDeactivate, EventUserDeleteInitiated}
}

// eventTime is the published time of an event not tied to a lastUpdated
// change: now, but never before the last change. Callers hold mu.
func (s *Server) eventTime() time.Time {
	t := s.now().UTC().Truncate(time.Millisecond)
	if t.Before(s.maxUpdated) {
		t = s.maxUpdated
	}
	return t
}

// emitEvents queues events of the given types about u (in its current
// state), published at t, on every running hook. It never blocks on
// delivery. Callers hold mu for writing, so events are queued in the order
// of the changes.
func (s *Server) emitEvents(u *user, t time.Time, types ...string) {
	if len(types) == 0 {
		return
	}
	// The System Log publishes in order: a user changed several times in
	// one millisecond has a lastUpdated ahead of the clock, and the events
	// of other users' changes after it are not published before it.
	if t.Before(s.maxUpdated) {
		t = s.maxUpdated
	}
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	if len(s.hooks) == 0 {
		return
	}
	target := u.snapshot()
	evs := make([]Event, len(types))
	for i, typ := range types {
		evs[i] = newEvent(typ, target, t)
	}
	for _, h := range s.hooks {
		h.enqueue(evs)
	}
}

// emitRelated queues an event of typ about u and another target (a group
// or an app), published at t: the user first, then the other (for a
// UserGroup), or the AppInstance before the user, as Okta lists them.
// Callers hold mu for writing.
func (s *Server) emitRelated(u *user, t time.Time, typ string, other EventTarget) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	if len(s.hooks) == 0 {
		return
	}
	ev := newEvent(typ, u.snapshot(), t)
	for i, tg := range ev.Target {
		if tg.Type == other.Type {
			uri, _ := ev.DebugContext.DebugData["requestUri"].(string)
			uri = strings.ReplaceAll(uri, tg.ID, other.ID)
			ev.DebugContext.DebugData["requestUri"], ev.DebugContext.DebugData["url"] = uri, uri+"?"
			ev.Target[i] = other
		}
	}
	for _, h := range s.hooks {
		h.enqueue([]Event{ev})
	}
}

// runningHooks returns the hooks started and not yet closed.
func (s *Server) runningHooks() []*Hooks {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	return slices.Clone(s.hooks)
}

func (s *Server) removeHooks(h *Hooks) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hooks = slices.DeleteFunc(s.hooks, func(x *Hooks) bool { return x == h })
}

// --- Hooks --------------------------------------------------------------

// Hooks delivers events to one receiver. Create it with Server.StartHooks
// and stop it with Close. Its methods are safe for concurrent use.
type Hooks struct {
	srv       *Server
	cfg       HookConfig
	id        string
	source    string
	transport *http.Transport
	client    *http.Client

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wake   chan struct{}   // an event was queued
	flushc chan chan error // Flush requests
	done   chan struct{}   // closed when the delivery goroutine returns

	mu       sync.Mutex
	pending  []Event
	closed   bool
	calls    map[uint64]context.CancelFunc // running Send and Verify calls
	nextCall uint64
	callWG   sync.WaitGroup

	// Owned by the delivery goroutine.
	rng        *rand.Rand
	held       []queuedDelivery
	heldEvents atomic.Int64

	stMu sync.Mutex
	st   HookStats
}

type delivery struct {
	eventID string
	events  int
	body    []byte
}

type queuedDelivery struct {
	d   *delivery
	dup bool // a second send of a delivery already sent
}

// StartHooks validates cfg and starts delivering the events of admin changes
// made from now on. Several hooks may run at once; each gets every event
// (with the same uuid). Call Close to stop it.
func (s *Server) StartHooks(cfg HookConfig) (*Hooks, error) {
	var errs []error
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("hook URL %q must be an absolute http(s) URL", cfg.URL))
	}
	if cfg.DuplicateRate < 0 || cfg.DuplicateRate > 1 {
		errs = append(errs, fmt.Errorf("duplicate rate must be within [0, 1], got %g", cfg.DuplicateRate))
	}
	if cfg.Batch < 0 || cfg.Timeout < 0 {
		errs = append(errs, errors.New("batch and timeout must not be negative"))
	}
	if cfg.MaxEvents < 0 || cfg.QueueSize < 0 {
		errs = append(errs, errors.New("max events and queue size must not be negative"))
	}
	for k := range cfg.Extra {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\r\n:") {
			errs = append(errs, fmt.Errorf("invalid extra header name %q", k))
		}
	}
	if strings.ContainsAny(cfg.AuthHeader, " \t\r\n:") {
		errs = append(errs, fmt.Errorf("invalid auth header name %q", cfg.AuthHeader))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: hook config: %w", ErrInvalid, errors.Join(errs...))
	}
	if cfg.AuthHeader == "" {
		cfg.AuthHeader = DefaultHookAuthHeader
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultHookBatch
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = DefaultHookMaxEvents
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultHookTimeout
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultHookQueueSize
	}
	if cfg.OrgURL == "" {
		cfg.OrgURL = DefaultHookOrgURL
	}
	cfg.Extra = maps.Clone(cfg.Extra)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	ctx, cancel := context.WithCancel(context.Background())
	id := "who" + randomBase62(17)
	h := &Hooks{
		srv:       s,
		cfg:       cfg,
		id:        id,
		source:    strings.TrimRight(cfg.OrgURL, "/") + "/api/v1/eventHooks/" + id,
		transport: tr,
		client: &http.Client{
			Transport: tr,
			// Okta does not follow redirects; a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		flushc: make(chan chan error),
		done:   make(chan struct{}),
		calls:  make(map[uint64]context.CancelFunc),
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x686f6f6b73000000)),
		st:     HookStats{ID: id, URL: cfg.URL, FailuresByStatus: map[int]int64{}},
	}
	go h.run()
	s.hookMu.Lock()
	s.hooks = append(s.hooks, h)
	s.hookMu.Unlock()
	return h, nil
}

// ID returns the hook id ("who..."), which ends the delivery source.
func (h *Hooks) ID() string { return h.id }

// Close stops delivering: admin changes no longer produce events for this
// hook, a delivery in flight is aborted, events still waiting are discarded
// (counted in Stats().Discarded), and Close waits for the delivery goroutine
// and for running Send and Verify calls. No request is sent after Close
// returns. It is idempotent and returns nil.
func (h *Hooks) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.done
		h.callWG.Wait()
		return nil
	}
	h.closed = true
	for _, cancel := range h.calls {
		cancel()
	}
	discarded := int64(len(h.pending))
	h.pending = nil
	h.mu.Unlock()

	h.srv.removeHooks(h)
	h.cancel()
	<-h.done
	h.callWG.Wait()
	discarded += h.heldEvents.Load()
	h.held = nil
	h.heldEvents.Store(0)
	h.count(func(st *HookStats) { st.Discarded += discarded })
	h.transport.CloseIdleConnections()
	return nil
}

// Stats returns a snapshot of the counters.
func (h *Hooks) Stats() HookStats {
	h.mu.Lock()
	pending := int64(len(h.pending))
	h.mu.Unlock()
	h.stMu.Lock()
	st := h.st
	st.FailuresByStatus = maps.Clone(h.st.FailuresByStatus)
	h.stMu.Unlock()
	st.Pending = pending + h.heldEvents.Load()
	return st
}

func (h *Hooks) count(f func(*HookStats)) {
	h.stMu.Lock()
	defer h.stMu.Unlock()
	f(&h.st)
}

// enqueue adds events without blocking; events beyond QueueSize are dropped.
func (h *Hooks) enqueue(evs []Event) {
	if len(h.cfg.EventTypes) > 0 {
		evs = slices.DeleteFunc(slices.Clone(evs), func(ev Event) bool { return !slices.Contains(h.cfg.EventTypes, ev.EventType) })
		if len(evs) == 0 {
			return
		}
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	n := max(0, min(len(evs), h.cfg.QueueSize-len(h.pending)))
	h.pending = append(h.pending, evs[:n]...)
	h.mu.Unlock()
	if dropped := len(evs) - n; dropped > 0 {
		h.count(func(st *HookStats) { st.Dropped += int64(dropped) })
	}
	if n > 0 {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// Flush delivers every event queued before the call, and every held-back
// delivery or duplicate, now, and waits until those sends are done. It
// returns an error describing failed sends, ctx's error if ctx ends first,
// or ErrHooksClosed.
func (h *Hooks) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case h.flushc <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrHooksClosed
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrHooksClosed
	}
}

// run is the delivery goroutine. A batch window opens at the first event
// after an idle period; when it ends, the queued events are delivered.
func (h *Hooks) run() {
	defer close(h.done)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var tc <-chan time.Time
		if timer != nil {
			tc = timer.C
		}
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
			if timer == nil {
				timer = time.NewTimer(h.cfg.Batch)
			}
		case <-tc:
			timer = nil
			_ = h.round(h.ctx, false)
			if len(h.held) > 0 {
				timer = time.NewTimer(h.cfg.Batch)
			}
		case reply := <-h.flushc:
			if timer != nil {
				timer.Stop()
				timer = nil
			}
			reply <- h.round(h.ctx, true)
		}
	}
}

// round delivers the queued events (and, with Shuffle, held-back
// deliveries). Unless flush, Shuffle may hold deliveries and duplicates
// back to a later round. Only the delivery goroutine calls it.
func (h *Hooks) round(ctx context.Context, flush bool) error {
	h.mu.Lock()
	evs := h.pending
	h.pending = nil
	h.mu.Unlock()
	if h.cfg.Shuffle {
		h.rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	}
	var errs []error
	var out []queuedDelivery
	for len(evs) > 0 {
		n := min(len(evs), h.cfg.MaxEvents)
		d, err := h.newDelivery(evs[:n])
		evs = evs[n:]
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, queuedDelivery{d: d})
	}
	if h.cfg.Shuffle {
		out = append(out, h.held...)
		h.setHeld(nil)
		h.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		if !flush {
			var now, later []queuedDelivery
			for _, q := range out {
				if h.rng.IntN(2) == 0 {
					later = append(later, q)
				} else {
					now = append(now, q)
				}
			}
			out = now
			h.setHeld(later)
		}
	}
	sends, failed, i := 0, 0, 0
	for ; i < len(out) && ctx.Err() == nil; i++ {
		q := out[i]
		sends++
		if _, err := h.send(ctx, q.d, q.dup); err != nil {
			failed++
			errs = append(errs, fmt.Errorf("delivery %s: %w", q.d.eventID, err))
		}
		if q.dup || h.cfg.DuplicateRate == 0 || h.rng.Float64() >= h.cfg.DuplicateRate {
			continue
		}
		dup := queuedDelivery{d: q.d, dup: true}
		switch {
		case !h.cfg.Shuffle:
			out = slices.Insert(out, i+1, dup) // right after the original
		case flush:
			out = append(out, dup)
		default:
			h.setHeld(append(h.held, dup))
		}
	}
	if ctx.Err() != nil { // closing: what was not sent is discarded
		var n int64
		for _, q := range out[i:] {
			if !q.dup {
				n += int64(q.d.events)
			}
		}
		h.count(func(st *HookStats) { st.Discarded += n })
		return ErrHooksClosed
	}
	if len(errs) > 0 {
		return fmt.Errorf("oktasim: %d of %d hook sends failed: %w", failed, sends, errors.Join(errs...))
	}
	return nil
}

func (h *Hooks) setHeld(q []queuedDelivery) {
	h.held = q
	var n int64
	for _, x := range q {
		if !x.dup {
			n += int64(x.d.events)
		}
	}
	h.heldEvents.Store(n)
}

func (h *Hooks) newDelivery(evs []Event) (*delivery, error) {
	d := Delivery{
		EventType:          "com.okta.event_hook",
		EventTypeVersion:   "1.0",
		CloudEventsVersion: "0.1",
		Source:             h.source,
		EventID:            newUUID(),
		EventTime:          time.Now().UTC(),
		ContentType:        "application/json",
		Data:               DeliveryData{Events: slices.Clone(evs)},
	}
	var buf bytes.Buffer
	if err := encodeJSON(&buf, d); err != nil {
		h.count(func(st *HookStats) { st.LastError = err.Error() })
		return nil, fmt.Errorf("encoding delivery: %w", err)
	}
	return &delivery{eventID: d.EventID, events: len(evs), body: buf.Bytes()}, nil
}

// Send POSTs one delivery with exactly these events (in this order, no
// duplicate, no shuffle) and applies Okta's retry rule: one retry of the
// same body after a 5xx, a timeout or a connection error, none after a 4xx.
// It returns the final status (0 if there was no response) and an error
// unless the receiver answered 2xx.
func (h *Hooks) Send(ctx context.Context, events []Event) (int, error) {
	ctx, done, err := h.beginCall(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	d, err := h.newDelivery(events)
	if err != nil {
		return 0, err
	}
	return h.send(ctx, d, false)
}

// beginCall registers a Send or Verify call so Close can abort and await it.
func (h *Hooks) beginCall(ctx context.Context) (context.Context, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrHooksClosed
	}
	cctx, cancel := context.WithCancel(ctx)
	h.nextCall++
	id := h.nextCall
	h.calls[id] = cancel
	h.callWG.Add(1)
	return cctx, func() {
		h.mu.Lock()
		delete(h.calls, id)
		h.mu.Unlock()
		cancel()
		h.callWG.Done()
	}, nil
}

// send performs one send of d (first attempt and at most one retry) and
// records it.
func (h *Hooks) send(ctx context.Context, d *delivery, dup bool) (int, error) {
	h.count(func(st *HookStats) {
		if dup {
			st.Duplicates++
		} else {
			st.Deliveries++
			st.Events += int64(d.events)
		}
	})
	status, err := h.post(ctx, d.body)
	if err != nil && (status == 0 || status >= 500) && ctx.Err() == nil {
		h.count(func(st *HookStats) { st.Retries++ })
		status, err = h.post(ctx, d.body)
	}
	h.count(func(st *HookStats) {
		st.LastStatus = status
		if err == nil {
			st.Succeeded++
			return
		}
		st.Failed++
		st.FailuresByStatus[status]++
		st.LastError = err.Error()
	})
	return status, err
}

// post is one HTTP attempt. It returns the status (0 without a response)
// and an error unless the status is 2xx.
func (h *Hooks) post(ctx context.Context, body []byte) (int, error) {
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	h.setAuth(req)
	h.count(func(st *HookStats) { st.Requests++ })
	resp, err := h.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			h.count(func(st *HookStats) { st.Timeouts++ })
			return 0, fmt.Errorf("no response within %s", h.cfg.Timeout)
		}
		return 0, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

func (h *Hooks) setAuth(req *http.Request) {
	for k, v := range h.cfg.Extra {
		req.Header.Set(k, v)
	}
	if h.cfg.AuthValue != "" {
		req.Header.Set(h.cfg.AuthHeader, h.cfg.AuthValue)
	}
}

// Verify performs Okta's one-time verification: a GET to the hook URL with
// an x-okta-verification-challenge header, which must be answered with
// status 200 and the JSON object {"verification": "<challenge>"}. It
// returns nil if the receiver answered correctly. Okta delivers only to
// verified hooks; the simulator delivers whatever the outcome, and records
// it in Stats.
func (h *Hooks) Verify(ctx context.Context) error {
	ctx, done, err := h.beginCall(ctx)
	if err != nil {
		return err
	}
	defer done()
	err = h.verify(ctx)
	h.count(func(st *HookStats) {
		st.Verifications++
		st.Verified = err == nil
		st.VerifyError = ""
		if err != nil {
			st.VerifyError = err.Error()
			st.LastError = err.Error()
		}
	})
	return err
}

func (h *Hooks) verify(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("oktasim: verification: %w", err)
	}
	challenge := randomBase62(40)
	req.Header["x-okta-verification-challenge"] = []string{challenge} // Okta's spelling
	req.Header.Set("Accept", "application/json")
	if !h.cfg.VerifyWithoutAuth {
		h.setAuth(req)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("oktasim: verification: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("oktasim: verification: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oktasim: verification: receiver answered %s, want 200", resp.Status)
	}
	var answer struct {
		Verification *string `json:"verification"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("oktasim: verification: answer is not a JSON object: %w", err)
	}
	if answer.Verification == nil {
		return fmt.Errorf("oktasim: verification: answer %.100q has no \"verification\" field", b)
	}
	if *answer.Verification != challenge {
		return fmt.Errorf("oktasim: verification: answer %q does not echo the challenge %q", *answer.Verification, challenge)
	}
	return nil
}

// --- admin API ------------------------------------------------------------

// adminHookRoutes serves:
//
//	GET  /admin/hooks         {"hooks": [HookStats...]}
//	POST /admin/hooks/flush   flush every hook, then {"hooks": [...], "errors": [...]}
//	POST /admin/hooks/verify  verify every hook, then {"hooks": [...], "errors": [...]}
func (s *Server) adminHookRoutes(handle func(string, func(http.ResponseWriter, *http.Request) error)) {
	answer := func(w http.ResponseWriter, hs []*Hooks, errs []string) {
		stats := make([]HookStats, 0, len(hs))
		for _, h := range hs {
			stats = append(stats, h.Stats())
		}
		body := map[string]any{"hooks": stats}
		if errs != nil {
			body["errors"] = errs
		}
		writeJSON(w, http.StatusOK, body)
	}
	each := func(f func(context.Context, *Hooks) error) func(http.ResponseWriter, *http.Request) error {
		return func(w http.ResponseWriter, r *http.Request) error {
			hs := s.runningHooks()
			errs := []string{}
			for _, h := range hs {
				if err := f(r.Context(), h); err != nil {
					errs = append(errs, h.id+": "+err.Error())
				}
			}
			answer(w, hs, errs)
			return nil
		}
	}
	handle("GET /admin/hooks", func(w http.ResponseWriter, r *http.Request) error {
		answer(w, s.runningHooks(), nil)
		return nil
	})
	handle("POST /admin/hooks/flush", each(func(ctx context.Context, h *Hooks) error { return h.Flush(ctx) }))
	handle("POST /admin/hooks/verify", each(func(ctx context.Context, h *Hooks) error { return h.Verify(ctx) }))
}
