package oktasim

// Okta's Event Hooks API (/api/v1/eventHooks): registering a hook, listing,
// updating, activating, deactivating, deleting it, and its verification.
// A hook registered here is real: verifying it sends the one-time
// verification GET to its URI, and an ACTIVE, VERIFIED hook receives the
// System Log events of admin changes, delivered by a *Hooks (hooks.go) with
// the registered URI, auth header and secret.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Event hook statuses and verification statuses, as Okta spells them.
const (
	EventHookActive     = "ACTIVE"
	EventHookInactive   = "INACTIVE"
	EventHookVerified   = "VERIFIED"
	EventHookUnverified = "UNVERIFIED"
)

// EventHook is a hook registered through the Event Hooks API, as Okta
// returns it (the secret, channel.config.authScheme.value, is write-only
// and never returned).
type EventHook struct {
	ID                 string
	Name               string
	Status             string
	VerificationStatus string
	EventTypes         []string
	URI                string
	AuthHeader         string
	Created            time.Time
	LastUpdated        time.Time
}

// eventHookStore holds the registered hooks. Its lock is never held across
// the verification GET.
type eventHookStore struct {
	mu    sync.Mutex
	hooks []*registeredHook // in creation order, as Okta lists them
}

type registeredHook struct {
	EventHook
	secret      string
	description *string // as the client sent it; nil is Okta's null
	createdBy   string
	delivery    *Hooks // running while ACTIVE and VERIFIED
}

// eventHookJSON is the wire shape of an event hook. Description is always
// returned, null when unset; createdBy and channel.config.method are
// read-only, ignored in requests.
type eventHookJSON struct {
	ID                 string  `json:"id,omitempty"`
	Name               string  `json:"name"`
	Description        *string `json:"description"`
	Status             string  `json:"status,omitempty"`
	VerificationStatus string  `json:"verificationStatus,omitempty"`
	Events             *struct {
		Type  string   `json:"type"`
		Items []string `json:"items"`
	} `json:"events"`
	Channel *struct {
		Type    string `json:"type"`
		Version string `json:"version"`
		Config  *struct {
			URI        string `json:"uri"`
			Method     string `json:"method,omitempty"`
			Headers    []any  `json:"headers,omitempty"`
			AuthScheme *struct {
				Type  string `json:"type"`
				Key   string `json:"key"`
				Value string `json:"value,omitempty"`
			} `json:"authScheme"`
		} `json:"config"`
	} `json:"channel"`
	Created     string         `json:"created,omitempty"`
	CreatedBy   string         `json:"createdBy,omitempty"`
	LastUpdated string         `json:"lastUpdated,omitempty"`
	Links       map[string]any `json:"_links,omitempty"`
}

func (h *registeredHook) toJSON(base string) eventHookJSON {
	var j eventHookJSON
	raw, _ := json.Marshal(map[string]any{
		"events": map[string]any{"type": "EVENT_TYPE", "items": h.EventTypes},
		"channel": map[string]any{"type": "HTTP", "version": "1.0.0", "config": map[string]any{
			"uri": h.URI, "method": http.MethodPost, "authScheme": map[string]any{"type": "HEADER", "key": h.AuthHeader},
		}},
	})
	_ = json.Unmarshal(raw, &j)
	j.ID, j.Name, j.Status, j.VerificationStatus = h.ID, h.Name, h.Status, h.VerificationStatus
	j.Description, j.CreatedBy = h.description, h.createdBy
	j.Created = h.Created.UTC().Format(oktaTimeLayout)
	j.LastUpdated = h.LastUpdated.UTC().Format(oktaTimeLayout)
	// The links Okta's EventHook declares: self, verify, and deactivate
	// while the hook is ACTIVE, with the methods they allow.
	self := base + "/api/v1/eventHooks/" + h.ID
	link := func(href string, methods ...string) map[string]any {
		return map[string]any{"href": href, "hints": map[string]any{"allow": methods}}
	}
	j.Links = map[string]any{
		"self":   link(self, http.MethodGet, http.MethodPut, http.MethodDelete),
		"verify": link(self+"/lifecycle/verify", http.MethodPost),
	}
	if h.Status == EventHookActive {
		j.Links["deactivate"] = link(self+"/lifecycle/deactivate", http.MethodPost)
	}
	return j
}

// eventHookCreator is the createdBy of the hooks created through the API:
// the id of the admin whose API token, or whose grant to a service app,
// made them. The simulator has no admin accounts, so it is derived from
// the org's id and names no user of the org.
func (s *Server) eventHookCreator() string { return "00u" + strings.TrimPrefix(s.oid, "00o") }

// eventHookRoutes serves the Event Hooks API under Okta's authentication
// and rate limits.
func (s *Server) eventHookRoutes(mux *http.ServeMux) {
	const read, manage = "okta.eventHooks.read", "okta.eventHooks.manage"
	mux.Handle("GET /api/v1/eventHooks", s.api(bucketOther, read, s.listEventHooks))
	mux.Handle("POST /api/v1/eventHooks", s.api(bucketOther, manage, s.createEventHook))
	mux.Handle("GET /api/v1/eventHooks/{id}", s.api(bucketOther, read, s.getEventHook))
	mux.Handle("PUT /api/v1/eventHooks/{id}", s.api(bucketOther, manage, s.updateEventHook))
	mux.Handle("DELETE /api/v1/eventHooks/{id}", s.api(bucketOther, manage, s.deleteEventHook))
	mux.Handle("POST /api/v1/eventHooks/{id}/lifecycle/{action}", s.api(bucketOther, manage, s.eventHookLifecycle))
}

// EventHooks returns the registered event hooks.
func (s *Server) EventHooks() []EventHook {
	s.eventHooks.mu.Lock()
	defer s.eventHooks.mu.Unlock()
	out := make([]EventHook, 0, len(s.eventHooks.hooks))
	for _, h := range s.eventHooks.hooks {
		e := h.EventHook
		e.EventTypes = slices.Clone(e.EventTypes)
		out = append(out, e)
	}
	return out
}

// CloseEventHooks stops the deliveries of every registered hook (for the
// end of a test); the hooks stay registered but INACTIVE.
func (s *Server) CloseEventHooks() {
	s.eventHooks.mu.Lock()
	var running []*Hooks
	for _, h := range s.eventHooks.hooks {
		if h.delivery != nil {
			running = append(running, h.delivery)
			h.delivery = nil
		}
		h.Status = EventHookInactive
	}
	s.eventHooks.mu.Unlock()
	for _, d := range running {
		_ = d.Close()
	}
}

func (s *Server) listEventHooks(w http.ResponseWriter, r *http.Request) {
	s.eventHooks.mu.Lock()
	out := make([]eventHookJSON, 0, len(s.eventHooks.hooks))
	for _, h := range s.eventHooks.hooks {
		out = append(out, h.toJSON(baseURL(r)))
	}
	s.eventHooks.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findEventHook(id string) *registeredHook {
	for _, h := range s.eventHooks.hooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func (s *Server) getEventHook(w http.ResponseWriter, r *http.Request) {
	s.eventHooks.mu.Lock()
	h := s.findEventHook(r.PathValue("id"))
	var j eventHookJSON
	if h != nil {
		j = h.toJSON(baseURL(r))
	}
	s.eventHooks.mu.Unlock()
	if h == nil {
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (EventHook)")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// maxEventHooks is Okta's limit of hooks per org.
const maxEventHooks = 25

// decodeEventHook reads and validates a create or update body. Its causes
// are Okta's errorCauses for E0000001.
func decodeEventHook(r *http.Request) (name, uri, header, secret string, desc *string, types []string, causes []string) {
	var j eventHookJSON
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&j); err != nil {
		return "", "", "", "", nil, nil, []string{"The request body was not well-formed."}
	}
	if strings.TrimSpace(j.Name) == "" {
		causes = append(causes, "name: The field cannot be left blank.")
	}
	if j.Events == nil || j.Events.Type != "EVENT_TYPE" || len(j.Events.Items) == 0 {
		causes = append(causes, "events: type must be EVENT_TYPE with at least one item.")
	} else {
		if len(j.Events.Items) > 300 {
			causes = append(causes, "events.items: at most 300 event types.")
		}
		for _, t := range j.Events.Items {
			if !eventHookEligible(t) {
				causes = append(causes, fmt.Sprintf("events.items: %s is not eligible for event hooks.", t))
			}
		}
		types = slices.Clone(j.Events.Items)
	}
	switch c := j.Channel; {
	case c == nil || c.Type != "HTTP" || c.Version != "1.0.0" || c.Config == nil:
		causes = append(causes, "channel: type HTTP, version 1.0.0 and a config are required.")
	default:
		u, err := url.Parse(c.Config.URI)
		switch {
		case err != nil || u.Host == "":
			causes = append(causes, "channel.config.uri: not a URL.")
		case u.Scheme == "https", u.Scheme == "http" && isLoopback(u.Hostname()):
			// Okta requires https; the simulator also takes loopback http.
		default:
			causes = append(causes, "channel.config.uri: must begin with https://.")
		}
		uri = c.Config.URI
		if a := c.Config.AuthScheme; a != nil {
			if a.Type != "HEADER" || a.Key == "" || a.Value == "" {
				causes = append(causes, "channel.config.authScheme: type HEADER with a key and a value.")
			}
			header, secret = a.Key, a.Value
		}
	}
	return j.Name, uri, header, secret, j.Description, types, causes
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// eventHookEligible reports the event types Okta lets event hooks
// subscribe to (the subset of its catalog the simulator knows).
func eventHookEligible(t string) bool {
	switch t {
	case "user.lifecycle.delete.completed", "user.account.update_user_type", "user.account.update_primary_email",
		"user.account.update_secondary_email", "user.account.expire_password", "user.lifecycle.password_mass_expiry":
		return false
	}
	for _, p := range []string{"user.", "group.", "application.user_membership."} {
		if strings.HasPrefix(t, p) {
			return !strings.HasPrefix(t, "group.user_membership.rule.")
		}
	}
	return false
}

func (s *Server) createEventHook(w http.ResponseWriter, r *http.Request) {
	name, uri, header, secret, desc, types, causes := decodeEventHook(r)
	if len(causes) > 0 {
		s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: eventHook", causes...)
		return
	}
	now := s.now()
	h := &registeredHook{EventHook: EventHook{
		ID: "who" + randomBase62(17), Name: name, Status: EventHookActive, VerificationStatus: EventHookUnverified,
		EventTypes: types, URI: uri, AuthHeader: header, Created: now, LastUpdated: now,
	}, secret: secret, description: desc, createdBy: s.eventHookCreator()}
	s.eventHooks.mu.Lock()
	if len(s.eventHooks.hooks) >= maxEventHooks {
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: eventHook", "The maximum number of event hooks has been reached.")
		return
	}
	s.eventHooks.hooks = append(s.eventHooks.hooks, h)
	j := h.toJSON(baseURL(r))
	s.eventHooks.mu.Unlock()
	writeJSON(w, http.StatusOK, j)
}

// updateEventHook replaces name, events and channel. A changed channel
// (URI, header or secret) must be verified again, as Okta's replaceEventHook
// says ("Updating the channel property requires you to verify the hook
// again"); a running delivery restarts with the new settings.
func (s *Server) updateEventHook(w http.ResponseWriter, r *http.Request) {
	name, uri, header, secret, desc, types, causes := decodeEventHook(r)
	if len(causes) > 0 {
		s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: eventHook", causes...)
		return
	}
	s.eventHooks.mu.Lock()
	h := s.findEventHook(r.PathValue("id"))
	if h == nil {
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (EventHook)")
		return
	}
	if h.URI != uri || h.AuthHeader != header || h.secret != secret {
		h.VerificationStatus = EventHookUnverified
	}
	h.Name, h.URI, h.AuthHeader, h.secret, h.EventTypes, h.description = name, uri, header, secret, types, desc
	h.LastUpdated = s.now()
	old := h.delivery
	h.delivery = nil
	err := s.startDeliveryLocked(h)
	j := h.toJSON(baseURL(r))
	s.eventHooks.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if err != nil {
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) deleteEventHook(w http.ResponseWriter, r *http.Request) {
	s.eventHooks.mu.Lock()
	h := s.findEventHook(r.PathValue("id"))
	switch {
	case h == nil:
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (EventHook)")
		return
	case h.Status != EventHookInactive:
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: eventHook", "Only an INACTIVE event hook can be deleted.")
		return
	}
	s.eventHooks.hooks = slices.DeleteFunc(s.eventHooks.hooks, func(x *registeredHook) bool { return x == h })
	s.eventHooks.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// startDeliveryLocked starts delivering to an ACTIVE, VERIFIED hook that
// has no delivery running. The caller holds s.eventHooks.mu.
func (s *Server) startDeliveryLocked(h *registeredHook) error {
	if h.delivery != nil || h.Status != EventHookActive || h.VerificationStatus != EventHookVerified {
		return nil
	}
	d, err := s.StartHooks(HookConfig{URL: h.URI, AuthHeader: h.AuthHeader, AuthValue: h.secret, EventTypes: slices.Clone(h.EventTypes)})
	if err != nil {
		return err
	}
	h.delivery = d
	return nil
}

func (s *Server) eventHookLifecycle(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	s.eventHooks.mu.Lock()
	h := s.findEventHook(id)
	if h == nil {
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (EventHook)")
		return
	}
	var stop *Hooks
	var err error
	switch action {
	case "activate":
		h.Status = EventHookActive
		err = s.startDeliveryLocked(h)
	case "deactivate":
		h.Status = EventHookInactive
		stop, h.delivery = h.delivery, nil
	case "verify":
		cfg := HookConfig{URL: h.URI, AuthHeader: h.AuthHeader, AuthValue: h.secret}
		s.eventHooks.mu.Unlock()
		s.verifyEventHook(w, r, id, cfg)
		return
	default:
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
		return
	}
	h.LastUpdated = s.now()
	j := h.toJSON(baseURL(r))
	s.eventHooks.mu.Unlock()
	if stop != nil {
		_ = stop.Close()
	}
	if err != nil {
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// verifyEventHook sends the one-time verification GET (Hooks.Verify, with
// Okta's 3 s timeout, retried once as Okta does) outside the store's lock.
// Success makes the hook
// VERIFIED and, if ACTIVE, starts its deliveries; failure is Okta's 400
// and leaves the hook as it was.
func (s *Server) verifyEventHook(w http.ResponseWriter, r *http.Request, id string, cfg HookConfig) {
	probe, err := s.StartHooks(cfg)
	if err == nil {
		// The probe only verifies; it must not deliver events meanwhile.
		s.removeHooks(probe)
		// Okta retries once after a timeout or an error answer.
		if err = probe.Verify(r.Context()); err != nil && r.Context().Err() == nil {
			err = probe.Verify(r.Context())
		}
		_ = probe.Close()
	}
	s.eventHooks.mu.Lock()
	h := s.findEventHook(id)
	if h == nil || h.URI != cfg.URL {
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusConflict, "E0000001", "Api validation failed: eventHook", "The event hook changed during verification.")
		return
	}
	if err != nil {
		s.eventHooks.mu.Unlock()
		s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: Verification failed",
			"Event hook verification failed: "+verifyCause(err))
		return
	}
	h.VerificationStatus = EventHookVerified
	h.LastUpdated = s.now()
	serr := s.startDeliveryLocked(h)
	j := h.toJSON(baseURL(r))
	s.eventHooks.mu.Unlock()
	if serr != nil {
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// verifyCause shortens a verification error for the API answer.
func verifyCause(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the endpoint did not answer within 3 seconds"
	}
	return strings.TrimPrefix(err.Error(), "oktasim: verification: ")
}
