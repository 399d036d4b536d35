package oktasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// touch returns the timestamp for a change to a user whose lastUpdated was
// prev (zero for a new user): now at millisecond precision, or 1ms after
// prev if the clock has not moved past it. Other users changed in the same
// millisecond get the same timestamp, as in Okta. Callers hold mu for
// writing.
func (s *Server) touch(prev time.Time) time.Time {
	t := s.now().UTC().Truncate(time.Millisecond)
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	if t.After(s.maxUpdated) {
		s.maxUpdated = t
	}
	return t
}

// normalizeProfile deep-copies m through JSON, so stored values have the
// types a JSON client sees (numbers become float64).
func normalizeProfile(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: profile is not representable as JSON: %v", ErrInvalid, err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: profile: %v", ErrInvalid, err)
	}
	return out, nil
}

// checkLogin validates a new login for user id ("" for a new user).
// Callers hold mu.
func (s *Server) checkLogin(v any, id string) (string, error) {
	login, ok := v.(string)
	if !ok || strings.TrimSpace(login) == "" {
		return "", fmt.Errorf("%w: profile.login must be a non-empty string", ErrInvalid)
	}
	if other, taken := s.logins[strings.ToLower(login)]; taken && other != id {
		return "", fmt.Errorf("%w: login %q is already used by %s", ErrInvalid, login, other)
	}
	return login, nil
}

// mustFind returns the user with the given id or login. Callers hold mu.
func (s *Server) mustFind(idOrLogin string) (*user, error) {
	if u := s.lookup(idOrLogin); u != nil {
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, idOrLogin)
}

// UpdateProfile merges changes into the profile of the user with the given
// id (or login). A nil value sets the attribute to null. Changing login is
// allowed if the new login is unique.
func (s *Server) UpdateProfile(id string, changes map[string]any) error {
	norm, err := normalizeProfile(changes)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.mustFind(id)
	if err != nil {
		return err
	}
	if v, ok := norm["login"]; ok {
		login, err := s.checkLogin(v, u.id)
		if err != nil {
			return err
		}
		delete(s.logins, lowerLogin(u.profile))
		s.logins[strings.ToLower(login)] = u.id
	}
	if len(norm) == 0 {
		return nil
	}
	for k, v := range norm {
		u.profile[k] = v
	}
	u.lastUpdated = s.touch(u.lastUpdated)
	s.indexed(u.id, u)
	s.emitEvents(u, u.lastUpdated, EventUserUpdateProfile)
	return nil
}

// SetManager points the user's managerId at managerID and sets manager to
// the manager's display name. An empty managerID clears both (they become
// null). The manager must exist; cycles are not prevented (Okta does not
// prevent them either).
func (s *Server) SetManager(id, managerID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.mustFind(id)
	if err != nil {
		return err
	}
	if managerID == "" {
		u.profile["managerId"] = nil
		u.profile["manager"] = nil
	} else {
		m, err := s.mustFind(managerID)
		if err != nil {
			return fmt.Errorf("manager: %w", err)
		}
		u.profile["managerId"] = m.id
		u.profile["manager"] = managerName(m.profile, nil)
	}
	u.lastUpdated = s.touch(u.lastUpdated)
	s.indexed(u.id, u)
	s.emitEvents(u, u.lastUpdated, EventUserUpdateProfile)
	return nil
}

// SetStatus changes the user's status (any Okta status; DEPROVISIONED
// deactivates). statusChanged and lastUpdated move to now; activated is set
// when a never-activated user leaves STAGED. Setting the current status is
// a no-op.
func (s *Server) SetStatus(id, status string) error {
	if !validStatus(status) {
		return fmt.Errorf("%w: unknown status %q (want one of %s)", ErrInvalid, status, strings.Join(Statuses(), ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.mustFind(id)
	if err != nil {
		return err
	}
	if u.status == status {
		return nil
	}
	t := s.touch(u.lastUpdated)
	from := u.status
	u.status = status
	u.statusChanged = ptr(t)
	u.lastUpdated = t
	if u.activated == nil && status != StatusStaged {
		u.activated = ptr(t)
	}
	s.indexed(u.id, u)
	s.emitEvents(u, t, statusEventTypes(from, status)...)
	if from == StatusActive {
		s.oidc.revokeUser(id)
	}
	return nil
}

// Delete hard-deletes the user. Okta only deletes DEPROVISIONED users; for
// any other status this performs both steps (deactivate, then delete).
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.mustFind(id)
	if err != nil {
		return err
	}
	s.emitEvents(u, s.eventTime(), deleteEventTypes(u.status)...)
	s.oidc.revokeUser(u.id)
	delete(s.users, u.id)
	delete(s.logins, lowerLogin(u.profile))
	if i, ok := slices.BinarySearch(s.ids, u.id); ok {
		s.ids = slices.Delete(s.ids, i, i+1)
	}
	s.indexed(u.id, nil)
	s.forgetMember(u.id)
	return nil
}

// Create adds a user with the given profile and status ("" means ACTIVE).
// profile.login is required and must be unique (case-insensitively). If
// profile.managerId names an existing user and profile.manager is absent,
// manager is filled in.
func (s *Server) Create(profile map[string]any, status string) (User, error) {
	if status == "" {
		status = StatusActive
	}
	if !validStatus(status) {
		return User{}, fmt.Errorf("%w: unknown status %q", ErrInvalid, status)
	}
	p, err := normalizeProfile(profile)
	if err != nil {
		return User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	login, err := s.checkLogin(p["login"], "")
	if err != nil {
		return User{}, err
	}
	if mid, ok := p["managerId"].(string); ok && mid != "" {
		if _, has := p["manager"]; !has {
			if m := s.users[mid]; m != nil {
				p["manager"] = managerName(m.profile, nil)
			}
		}
	}
	userType, _ := p["userType"].(string)
	t := s.touch(time.Time{})
	u := &user{
		id:               newID(s.idRNG, func(id string) bool { _, ok := s.users[id]; return ok }),
		status:           status,
		created:          t,
		lastUpdated:      t,
		typeID:           userTypeID(userType),
		recoveryQuestion: recoveryQuestions[0],
		profile:          p,
	}
	if status != StatusStaged {
		u.activated, u.statusChanged = ptr(t), ptr(t)
		if status != StatusProvisioned {
			u.passwordChanged = ptr(t)
		}
	}
	s.users[u.id] = u
	s.logins[strings.ToLower(login)] = u.id
	i, _ := slices.BinarySearch(s.ids, u.id)
	s.ids = slices.Insert(s.ids, i, u.id)
	s.indexed(u.id, u)
	s.emitEvents(u, t, createEventTypes(status)...)
	return u.snapshot(), nil
}

// --- HTTP admin API ---------------------------------------------------

// faultsJSON is the wire form of Faults in the admin API.
type faultsJSON struct {
	ErrorRate     float64 `json:"error_rate"`
	ResetRate     float64 `json:"reset_rate"`
	MalformedRate float64 `json:"malformed_rate"`
	LatencyMS     int64   `json:"latency_ms"`
	FailAfter     int     `json:"fail_after"`
	RateLimitRate float64 `json:"rate_limit_rate"`
	HangRate      float64 `json:"hang_rate"`
	BodyResetRate float64 `json:"body_reset_rate"`
	StallRate     float64 `json:"stall_rate"`
	GarbageRate   float64 `json:"garbage_rate"`
	NextLink      string  `json:"next_link"`
	NextHost      string  `json:"next_host"`
}

func toFaultsJSON(f Faults) faultsJSON {
	return faultsJSON{f.ErrorRate, f.ResetRate, f.MalformedRate, f.Latency.Milliseconds(), f.FailAfter,
		f.RateLimitRate, f.HangRate, f.BodyResetRate, f.StallRate, f.GarbageRate, f.NextLink, f.NextHost}
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.st.admin.Add(1)
			if err := h(w, r); err != nil {
				writeJSON(w, statusFor(err), map[string]string{"error": err.Error()})
			}
		})
	}
	handle("GET /admin/users", s.adminListUsers)
	handle("POST /admin/users", s.adminCreate)
	handle("GET /admin/users/{id}", s.adminGetUser)
	handle("PATCH /admin/users/{id}", s.adminPatch)
	handle("DELETE /admin/users/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Delete(r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	handle("PUT /admin/users/{id}/manager", s.adminSetManager)
	handle("PUT /admin/users/{id}/status", s.adminSetStatus)
	handle("POST /admin/users/{id}/deactivate", func(w http.ResponseWriter, r *http.Request) error {
		return s.adminRespondUser(w, r, r.PathValue("id"), s.SetStatus(r.PathValue("id"), StatusDeprovisioned))
	})
	handle("GET /admin/groups", s.adminListGroups)
	handle("GET /admin/stats", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, s.Stats())
		return nil
	})
	handle("GET /admin/faults", func(w http.ResponseWriter, r *http.Request) error {
		f := s.Faults()
		writeJSON(w, http.StatusOK, toFaultsJSON(f))
		return nil
	})
	handle("PUT /admin/faults", s.adminSetFaults)
	handle("POST /admin/ratelimits/reset", func(w http.ResponseWriter, r *http.Request) error {
		s.ResetRateLimits()
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.adminHookRoutes(handle)
	s.adminOIDCRoutes(handle)
	handle("/admin/", func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: no admin route for %s %s", ErrNotFound, r.Method, r.URL.Path)
	})
}

// statusFor maps admin errors to HTTP statuses.
func statusFor(err error) int {
	if errors.Is(err, ErrNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// decodeBody strictly decodes a JSON request body of at most 1 MiB.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return fmt.Errorf("%w: reading body: %v", ErrInvalid, err)
	}
	if len(b) > 1<<20 {
		return fmt.Errorf("%w: body larger than 1 MiB", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	return nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	base := baseURL(r)
	var buf bytes.Buffer
	s.mu.RLock()
	all := make([]userJSON, 0, len(s.ids))
	for _, id := range s.ids {
		all = append(all, renderUser(s.users[id], base, false))
	}
	err := encodeJSON(&buf, all)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// adminGroupJSON is a group in GET /admin/groups: what the Groups API
// spreads over a group and its member pages, in one object.
type adminGroupJSON struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Members     []string `json:"members"` // user ids, sorted; every user for Everyone
}

// adminListGroups answers {"groups": [...]}: every group, ordered by id,
// with its members.
func (s *Server) adminListGroups(w http.ResponseWriter, r *http.Request) error {
	groups := s.Groups()
	out := make([]adminGroupJSON, 0, len(groups))
	for _, g := range groups {
		members := g.Members
		if members == nil {
			members = []string{}
		}
		out = append(out, adminGroupJSON{ID: g.ID, Type: g.Type, Name: g.Name, Description: g.Description, Members: members})
	}
	writeJSON(w, http.StatusOK, map[string][]adminGroupJSON{"groups": out})
	return nil
}

// adminRespondUser answers with the user's current JSON, or with err.
func (s *Server) adminRespondUser(w http.ResponseWriter, r *http.Request, idOrLogin string, err error) error {
	if err != nil {
		return err
	}
	return s.writeAdminUser(w, r, idOrLogin, http.StatusOK)
}

func (s *Server) writeAdminUser(w http.ResponseWriter, r *http.Request, idOrLogin string, status int) error {
	var buf bytes.Buffer
	s.mu.RLock()
	u, err := s.mustFind(idOrLogin)
	if err == nil {
		err = encodeJSON(&buf, renderUser(u, baseURL(r), true))
	}
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	return s.writeAdminUser(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) adminCreate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Profile map[string]any `json:"profile"`
		Status  string         `json:"status"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	u, err := s.Create(body.Profile, body.Status)
	if err != nil {
		return err
	}
	return s.writeAdminUser(w, r, u.Id, http.StatusCreated)
}

func (s *Server) adminPatch(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Profile map[string]any `json:"profile"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	// Resolve the id first: the path may name the user by a login that
	// this very change replaces.
	id := s.lookupID(r.PathValue("id"))
	if id == "" {
		return fmt.Errorf("%w: %s", ErrNotFound, r.PathValue("id"))
	}
	return s.adminRespondUser(w, r, id, s.UpdateProfile(id, body.Profile))
}

// lookupID returns the id of the user with the given id or login, or "".
func (s *Server) lookupID(idOrLogin string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.lookup(idOrLogin); u != nil {
		return u.id
	}
	return ""
}

func (s *Server) adminSetManager(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ManagerID *string `json:"managerId"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	mid := ""
	if body.ManagerID != nil {
		mid = *body.ManagerID
	}
	id := r.PathValue("id")
	return s.adminRespondUser(w, r, id, s.SetManager(id, mid))
}

func (s *Server) adminSetStatus(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status string `json:"status"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	id := r.PathValue("id")
	return s.adminRespondUser(w, r, id, s.SetStatus(id, strings.ToUpper(body.Status)))
}

func (s *Server) adminSetFaults(w http.ResponseWriter, r *http.Request) error {
	var f faultsJSON
	if err := decodeBody(r, &f); err != nil {
		return err
	}
	var errs []error
	for name, v := range map[string]float64{"error_rate": f.ErrorRate, "reset_rate": f.ResetRate, "malformed_rate": f.MalformedRate,
		"rate_limit_rate": f.RateLimitRate, "hang_rate": f.HangRate, "body_reset_rate": f.BodyResetRate, "stall_rate": f.StallRate, "garbage_rate": f.GarbageRate} {
		if !(v >= 0 && v <= 1) { // NaN fails too
			errs = append(errs, fmt.Errorf("%s must be within [0, 1], got %g", name, v))
		}
	}
	if f.ErrorRate+f.ResetRate+f.RateLimitRate+f.HangRate > 1 {
		errs = append(errs, fmt.Errorf("error_rate + reset_rate + rate_limit_rate + hang_rate must not exceed 1"))
	}
	if f.MalformedRate+f.GarbageRate+f.BodyResetRate+f.StallRate > 1 {
		errs = append(errs, fmt.Errorf("malformed_rate + garbage_rate + body_reset_rate + stall_rate must not exceed 1"))
	}
	switch f.NextLink {
	case "", NextRepeat, NextCycle:
	default:
		errs = append(errs, fmt.Errorf("next_link must be %q, %q or empty, got %q", NextRepeat, NextCycle, f.NextLink))
	}
	if f.NextHost != "" {
		if u, err := url.Parse(f.NextHost); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("next_host must be scheme://host[:port], got %q", f.NextHost))
		}
	}
	if f.LatencyMS < 0 {
		errs = append(errs, fmt.Errorf("latency_ms must not be negative"))
	}
	if f.FailAfter < 0 {
		errs = append(errs, fmt.Errorf("fail_after must not be negative"))
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	s.SetFaults(Faults{
		ErrorRate:     f.ErrorRate,
		ResetRate:     f.ResetRate,
		MalformedRate: f.MalformedRate,
		Latency:       time.Duration(f.LatencyMS) * time.Millisecond,
		FailAfter:     f.FailAfter,
		RateLimitRate: f.RateLimitRate,
		HangRate:      f.HangRate,
		BodyResetRate: f.BodyResetRate,
		StallRate:     f.StallRate,
		GarbageRate:   f.GarbageRate,
		NextLink:      f.NextLink,
		NextHost:      f.NextHost,
	})
	writeJSON(w, http.StatusOK, f)
	return nil
}
