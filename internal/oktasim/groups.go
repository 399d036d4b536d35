package oktasim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The Groups API and app assignments, as Okta serves them:
//
//	GET /api/v1/groups                    q (name prefix), search, filter, after, limit
//	                                      (default and most 200, as for most orgs); ordered
//	                                      by id; okta.groups.read; the list_groups bucket
//	                                      (Okta's /api/v1/groups except /{id}: 500 a minute)
//	GET /api/v1/groups/{id}               one group; the group bucket (1,000)
//	GET /api/v1/groups/{id}/users         the members, full user objects, ordered by id,
//	                                      after, limit (default and most 1,000); the
//	                                      list_groups bucket
//	GET /api/v1/apps/{id}/users           the users assigned to an app (AppUser objects,
//	                                      _embedded.user with expand=user), after, limit
//	                                      (default 50, most 500); okta.apps.read; the app
//	                                      bucket (Okta's /api/v1/apps/*: 100)
//	GET /api/v1/users/{id}/groups         one user's groups, unpaged; okta.users.read;
//	                                      the get_user bucket
//
// Membership lives on the group: adding or removing a member moves the
// group's lastMembershipUpdated and leaves the user's lastUpdated as it was,
// and emits group.user_membership.add or .remove (targets: the User, then
// the UserGroup). Assigning a user to an app emits
// application.user_membership.add or .remove.
//
// Config.Groups generates teams as groups from the users' departments
// (generateGroups): a department group team-<department>, nested sub-teams
// team-<department>-<sub-team>, people in several groups and in none, empty
// groups, the BUILT_IN Everyone, an APP_GROUP and a few groups that are
// not teams.

// Group types.
const (
	GroupOkta    = "OKTA_GROUP"
	GroupApp     = "APP_GROUP"
	GroupBuiltIn = "BUILT_IN"
)

// Paging limits of the Groups API and app users.
const (
	defaultGroupsLimit  = 200
	maxGroupsLimit      = 200
	defaultMembersLimit = 1000
	maxMembersLimit     = 1000
	defaultAppUserLimit = 50
	maxAppUserLimit     = 500
)

// Group is a snapshot of a group, returned by the Go API.
type Group struct {
	ID, Type, Name, Description       string
	Created, LastUpdated, LastMembers time.Time // LastMembers: lastMembershipUpdated
	Members                           []string  // user ids, sorted (every user for Everyone)
}

// group is the internal, mutable record. Callers hold Server.mu.
type group struct {
	id, typ, name, description                  string
	created, lastUpdated, lastMembershipUpdated time.Time
	everyone                                    bool     // BUILT_IN Everyone: every user, not stored
	members                                     []string // sorted user ids
}

// app is an application users are assigned to.
type app struct {
	id, label, name string
	created         time.Time
	users           []string // sorted user ids
	assigned        map[string]time.Time
}

// field is a group's attribute for queries (record).
func (g *group) field(attr string) (any, bool) {
	switch attr {
	case "id":
		return g.id, true
	case "type":
		return g.typ, true
	case "profile.name":
		return g.name, true
	case "profile.description":
		return g.description, true
	case "created":
		return &g.created, true
	case "lastUpdated":
		return &g.lastUpdated, true
	case "lastMembershipUpdated":
		return &g.lastMembershipUpdated, true
	}
	return nil, false
}

// groupSchema is the Groups API's query language: filter takes id and type
// (eq) and the timestamps (eq, gt, ge, lt, le); search also takes the
// profile's name and description (eq, sw) and pr.
func groupSchema() schema {
	isTime := func(attr string) bool {
		return attr == "created" || attr == "lastUpdated" || attr == "lastMembershipUpdated"
	}
	return schema{
		timeAttr: isTime,
		validAttr: func(mode queryMode, attr string) bool {
			switch attr {
			case "id", "type", "lastUpdated", "lastMembershipUpdated":
				return true
			case "created", "profile.name", "profile.description":
				return mode == modeSearch
			}
			return false
		},
		validOp: func(mode queryMode, attr, op string) bool {
			switch op {
			case "eq":
				return true
			case "gt", "ge", "lt", "le":
				return isTime(attr)
			case "sw", "pr":
				return mode == modeSearch
			}
			return false
		},
	}
}

func (g *group) snapshot(allUsers []string) Group {
	members := g.members
	if g.everyone {
		members = allUsers
	}
	return Group{ID: g.id, Type: g.typ, Name: g.name, Description: g.description, Created: g.created,
		LastUpdated: g.lastUpdated, LastMembers: g.lastMembershipUpdated, Members: slices.Clone(members)}
}

// Groups returns every group, ordered by id.
func (s *Server) Groups() []Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Group, 0, len(s.groupIDs))
	for _, id := range s.groupIDs {
		out = append(out, s.groups[id].snapshot(s.ids))
	}
	return out
}

// CreateGroup adds an OKTA_GROUP with no members.
func (s *Server) CreateGroup(name, description string) (Group, error) {
	if strings.TrimSpace(name) == "" {
		return Group{}, fmt.Errorf("%w: a group needs a name", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if strings.EqualFold(g.name, name) {
			return Group{}, fmt.Errorf("%w: a group named %q exists", ErrInvalid, name)
		}
	}
	t := s.now().UTC().Truncate(time.Millisecond)
	g := &group{id: newPrefixedID("00g", s.idRNG, func(id string) bool { _, ok := s.groups[id]; return ok }),
		typ: GroupOkta, name: name, description: description, created: t, lastUpdated: t, lastMembershipUpdated: t}
	s.addGroupLocked(g)
	return g.snapshot(s.ids), nil
}

func (s *Server) addGroupLocked(g *group) {
	if s.groups == nil {
		s.groups = map[string]*group{}
	}
	s.groups[g.id] = g
	i, _ := slices.BinarySearch(s.groupIDs, g.id)
	s.groupIDs = slices.Insert(s.groupIDs, i, g.id)
}

// AddGroupMember adds a user to a group (a no-op if a member already). The
// group's lastMembershipUpdated moves; the user's lastUpdated does not.
func (s *Server) AddGroupMember(groupID, userID string) error {
	return s.changeMembership(groupID, userID, true)
}

// RemoveGroupMember removes a user from a group (a no-op if not a member).
func (s *Server) RemoveGroupMember(groupID, userID string) error {
	return s.changeMembership(groupID, userID, false)
}

func (s *Server) changeMembership(groupID, userID string, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		return fmt.Errorf("%w: group %s", ErrNotFound, groupID)
	}
	if g.typ != GroupOkta {
		return fmt.Errorf("%w: the members of a %s group are not managed in Okta", ErrInvalid, g.typ)
	}
	u, err := s.mustFind(userID)
	if err != nil {
		return err
	}
	i, member := slices.BinarySearch(g.members, u.id)
	switch {
	case add && !member:
		g.members = slices.Insert(g.members, i, u.id)
	case !add && member:
		g.members = slices.Delete(g.members, i, i+1)
	default:
		return nil
	}
	t := s.now().UTC().Truncate(time.Millisecond)
	if t.Before(g.lastMembershipUpdated) {
		t = g.lastMembershipUpdated
	}
	g.lastMembershipUpdated = t
	typ := EventGroupMemberRemove
	if add {
		typ = EventGroupMemberAdd
	}
	s.emitRelated(u, s.eventTime(), typ, EventTarget{ID: g.id, Type: "UserGroup", AlternateID: g.name, DisplayName: g.name})
	return nil
}

// CreateApp adds an application (an OIDC web app, say) with no users.
func (s *Server) CreateApp(label string) (string, error) {
	if strings.TrimSpace(label) == "" {
		return "", fmt.Errorf("%w: an app needs a label", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps == nil {
		s.apps = map[string]*app{}
	}
	a := &app{id: newPrefixedID("0oa", s.idRNG, func(id string) bool { _, ok := s.apps[id]; return ok }),
		label: label, name: "oidc_client", created: s.now().UTC().Truncate(time.Millisecond), assigned: map[string]time.Time{}}
	s.apps[a.id] = a
	return a.id, nil
}

// AssignApp assigns a user to an app directly (scope USER).
func (s *Server) AssignApp(appID, userID string) error {
	return s.changeAssignment(appID, userID, true)
}

// UnassignApp removes a user's assignment to an app.
func (s *Server) UnassignApp(appID, userID string) error {
	return s.changeAssignment(appID, userID, false)
}

// AppUsers returns the ids of the users assigned to an app, sorted.
func (s *Server) AppUsers(appID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.apps[appID]; a != nil {
		return slices.Clone(a.users)
	}
	return nil
}

func (s *Server) changeAssignment(appID, userID string, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return fmt.Errorf("%w: app %s", ErrNotFound, appID)
	}
	u, err := s.mustFind(userID)
	if err != nil {
		return err
	}
	i, assigned := slices.BinarySearch(a.users, u.id)
	switch {
	case add && !assigned:
		a.users = slices.Insert(a.users, i, u.id)
		a.assigned[u.id] = s.now().UTC().Truncate(time.Millisecond)
	case !add && assigned:
		a.users = slices.Delete(a.users, i, i+1)
		delete(a.assigned, u.id)
	default:
		return nil
	}
	typ := EventAppMemberRemove
	if add {
		typ = EventAppMemberAdd
	}
	s.emitRelated(u, s.eventTime(), typ, EventTarget{ID: a.id, Type: "AppInstance", AlternateID: a.label, DisplayName: a.label})
	return nil
}

// forgetMember removes a deleted user from every group and app. Callers
// hold mu for writing.
func (s *Server) forgetMember(id string) {
	for _, g := range s.groups {
		if i, ok := slices.BinarySearch(g.members, id); ok {
			g.members = slices.Delete(g.members, i, i+1)
		}
	}
	for _, a := range s.apps {
		if i, ok := slices.BinarySearch(a.users, id); ok {
			a.users = slices.Delete(a.users, i, i+1)
			delete(a.assigned, id)
		}
	}
}

// --- HTTP ------------------------------------------------------------------

func (s *Server) groupRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/groups", s.api(bucketListGroups, scopeGroupsRead, s.listGroups))
	mux.Handle("GET /api/v1/groups/{id}", s.api(bucketGroup, scopeGroupsRead, s.getGroup))
	mux.Handle("GET /api/v1/groups/{id}/users", s.api(bucketListGroups, scopeGroupsRead, s.listGroupUsers))
	mux.Handle("GET /api/v1/apps/{id}/users", s.api(bucketApp, scopeAppsRead, s.listAppUsers))
	mux.Handle("GET /api/v1/apps/{id}/users/{userId}", s.api(bucketApp, scopeAppsRead, s.getAppUser))
	mux.Handle("GET /api/v1/users/{idOrLogin}/groups", s.api(bucketGetUser, ScopeUsersRead, s.listUserGroups))
}

// getAppUser serves one user's assignment to an app, or 404.
func (s *Server) getAppUser(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	s.mu.RLock()
	a := s.apps[r.PathValue("id")]
	var (
		out   appUserJSON
		found bool
	)
	if a != nil {
		if _, found = slices.BinarySearch(a.users, r.PathValue("userId")); found {
			out = s.renderAppUser(a, s.users[r.PathValue("userId")], base, false)
		}
	}
	s.mu.RUnlock()
	switch {
	case a == nil:
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (AppInstance)")
	case !found:
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("userId")+" (AppUser)")
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// listUserGroups serves one user's groups (Everyone included), unpaged, as
// Okta does; okta.users.read.
func (s *Server) listUserGroups(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	s.mu.RLock()
	u := s.lookup(r.PathValue("idOrLogin"))
	out := []groupJSON{}
	if u != nil {
		for _, id := range s.groupIDs {
			g := s.groups[id]
			if _, member := slices.BinarySearch(g.members, u.id); member || g.everyone {
				out = append(out, renderGroup(g, base))
			}
		}
	}
	s.mu.RUnlock()
	if u == nil {
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("idOrLogin")+" (User)")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Scopes of the Groups API and of app assignments.
const (
	scopeGroupsRead = "okta.groups.read"
	scopeAppsRead   = "okta.apps.read"
)

type groupJSON struct {
	ID                    string         `json:"id"`
	Created               jsonTime       `json:"created"`
	LastUpdated           jsonTime       `json:"lastUpdated"`
	LastMembershipUpdated jsonTime       `json:"lastMembershipUpdated"`
	ObjectClass           []string       `json:"objectClass"`
	Type                  string         `json:"type"`
	Profile               map[string]any `json:"profile"`
	Links                 map[string]any `json:"_links"`
}

func renderGroup(g *group, base string) groupJSON {
	self := base + "/api/v1/groups/" + g.id
	class := "okta:user_group"
	if g.typ == GroupApp {
		class = "okta:windows_security_principal"
	}
	return groupJSON{
		ID: g.id, Created: jsonTime(g.created), LastUpdated: jsonTime(g.lastUpdated),
		LastMembershipUpdated: jsonTime(g.lastMembershipUpdated), ObjectClass: []string{class}, Type: g.typ,
		Profile: map[string]any{"name": g.name, "description": g.description},
		Links: map[string]any{
			"self": map[string]string{"href": self},
			"logo": []map[string]any{
				{"name": "medium", "href": base + "/assets/img/logos/groups/okta-medium.png", "type": "image/png"},
				{"name": "large", "href": base + "/assets/img/logos/groups/okta-large.png", "type": "image/png"},
			},
			"users": map[string]string{"href": self + "/users"},
			"apps":  map[string]string{"href": self + "/apps"},
		},
	}
}

// pageParams reads limit (default def, at most max) and the after cursor.
// It writes Okta's error and returns ok false for a bad one.
func (s *Server) pageParams(w http.ResponseWriter, r *http.Request, def, max int) (limit int, after string, ok bool) {
	qv := r.URL.Query()
	limit = def
	if ls := qv.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil || n <= 0 {
			s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit",
				"limit: The limit must be a positive integer.")
			return 0, "", false
		}
		limit = min(n, max)
	}
	if as := qv.Get("after"); as != "" {
		b, err := base64.RawURLEncoding.DecodeString(as)
		if err != nil || len(b) == 0 {
			s.writeOktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after",
				"after: The cursor is invalid; take it from the next link.")
			return 0, "", false
		}
		after = string(b)
	}
	return limit, after, true
}

// writePage writes a JSON array page with its Link headers: self, and next
// (after the last id) when the page is full, as Okta does.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, page any, n, limit int, lastID string) {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, page); err != nil {
		s.writeOktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error", err.Error())
		return
	}
	base := baseURL(r)
	h := w.Header()
	self := base + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	h.Add("Link", "<"+self+`>; rel="self"`)
	if n == limit {
		next := r.URL.Query()
		next.Set("after", base64.RawURLEncoding.EncodeToString([]byte(lastID)))
		next.Set("limit", strconv.Itoa(limit))
		h.Add("Link", "<"+base+r.URL.Path+"?"+next.Encode()+`>; rel="next"`)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var (
		e   expr
		err error
	)
	switch {
	case qv.Get("search") != "":
		e, err = groupSchema().parse(modeSearch, qv.Get("search"))
	case qv.Get("filter") != "":
		e, err = groupSchema().parse(modeFilter, qv.Get("filter"))
	}
	if err != nil {
		s.writeOktaError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", err.Error())
		return
	}
	prefix := strings.ToLower(qv.Get("q"))
	limit, after, ok := s.pageParams(w, r, defaultGroupsLimit, maxGroupsLimit)
	if !ok {
		return
	}
	base := baseURL(r)
	s.mu.RLock()
	start := sort.SearchStrings(s.groupIDs, after)
	if start < len(s.groupIDs) && s.groupIDs[start] == after {
		start++
	}
	page := make([]groupJSON, 0, min(limit, 64))
	last := ""
	for _, id := range s.groupIDs[start:] {
		g := s.groups[id]
		if e != nil && !e.match(g) || prefix != "" && !strings.HasPrefix(strings.ToLower(g.name), prefix) {
			continue
		}
		page = append(page, renderGroup(g, base))
		last = id
		if len(page) == limit {
			break
		}
	}
	s.mu.RUnlock()
	s.writePage(w, r, page, len(page), limit, last)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	g := s.groups[r.PathValue("id")]
	var out groupJSON
	if g != nil {
		out = renderGroup(g, baseURL(r))
	}
	s.mu.RUnlock()
	if g == nil {
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (UserGroup)")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listGroupUsers(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := s.pageParams(w, r, defaultMembersLimit, maxMembersLimit)
	if !ok {
		return
	}
	base := baseURL(r)
	s.mu.RLock()
	g := s.groups[r.PathValue("id")]
	if g == nil {
		s.mu.RUnlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (UserGroup)")
		return
	}
	members := g.members
	if g.everyone {
		members = s.ids
	}
	start := sort.SearchStrings(members, after)
	if start < len(members) && members[start] == after {
		start++
	}
	page := make([]userJSON, 0, min(limit, 64))
	last := ""
	for _, id := range members[start:] {
		page = append(page, renderUser(s.users[id], base, false))
		last = id
		if len(page) == limit {
			break
		}
	}
	s.mu.RUnlock()
	s.writePage(w, r, page, len(page), limit, last)
}

type appUserJSON struct {
	ID              string            `json:"id"`
	ExternalID      *string           `json:"externalId"`
	Created         jsonTime          `json:"created"`
	LastUpdated     jsonTime          `json:"lastUpdated"`
	Scope           string            `json:"scope"`
	Status          string            `json:"status"`
	StatusChanged   jsonTime          `json:"statusChanged"`
	PasswordChanged *jsonTime         `json:"passwordChanged"`
	SyncState       string            `json:"syncState"`
	Credentials     map[string]string `json:"credentials"`
	Profile         map[string]any    `json:"profile"`
	Embedded        map[string]any    `json:"_embedded,omitempty"`
	Links           map[string]any    `json:"_links"`
}

func (s *Server) listAppUsers(w http.ResponseWriter, r *http.Request) {
	limit, after, ok := s.pageParams(w, r, defaultAppUserLimit, maxAppUserLimit)
	if !ok {
		return
	}
	expand := r.URL.Query().Get("expand") == "user"
	base := baseURL(r)
	s.mu.RLock()
	a := s.apps[r.PathValue("id")]
	if a == nil {
		s.mu.RUnlock()
		s.writeOktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (AppInstance)")
		return
	}
	start := sort.SearchStrings(a.users, after)
	if start < len(a.users) && a.users[start] == after {
		start++
	}
	page := make([]appUserJSON, 0, min(limit, 64))
	last := ""
	for _, id := range a.users[start:] {
		page = append(page, s.renderAppUser(a, s.users[id], base, expand))
		last = id
		if len(page) == limit {
			break
		}
	}
	s.mu.RUnlock()
	s.writePage(w, r, page, len(page), limit, last)
}

// renderAppUser is u's assignment to a, with the user embedded if expand.
func (s *Server) renderAppUser(a *app, u *user, base string, expand bool) appUserJSON {
	at := jsonTime(a.assigned[u.id])
	login, _ := u.profile["login"].(string)
	au := appUserJSON{ID: u.id, Created: at, LastUpdated: at, Scope: "USER", Status: "ACTIVE", StatusChanged: at,
		SyncState: "DISABLED", Credentials: map[string]string{"userName": login}, Profile: map[string]any{},
		Links: map[string]any{
			"app":  map[string]string{"href": base + "/api/v1/apps/" + a.id},
			"user": map[string]string{"href": base + "/api/v1/users/" + u.id},
		}}
	if expand {
		au.Embedded = map[string]any{"user": renderUser(u, base, false)}
	}
	return au
}

// newPrefixedID returns a fresh Okta-style id with the given prefix
// ("00g" groups, "0oa" apps).
func newPrefixedID(prefix string, rng *rand.Rand, used func(string) bool) string {
	for {
		b := []byte(prefix + "00000000000000000")
		for i := len(prefix); i < len(b); i++ {
			b[i] = base62[rng.IntN(len(base62))]
		}
		if id := string(b); !used(id) {
			return id
		}
	}
}

// --- generation -------------------------------------------------------------

// subTeams name the nested teams of a department: team-<department>-<sub>.
var subTeams = [...]string{"platform", "core", "data-platform", "growth", "infra", "mobile", "web", "payments",
	"identity", "search", "analytics", "tools", "apac", "emea", "amer", "enterprise", "self-serve", "reliability"}

// slug lower-cases a department's name and joins its words with '-'.
func slug(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), "-") }

// generateGroups makes n groups for users, deterministically from seed
// (see the package comment of groups.go). Groups are created at genStart.
func generateGroups(users []*user, n int, seed int64) []*group {
	if n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x67726f7570730000))
	used := map[string]bool{}
	newGroup := func(typ, name, desc string) *group {
		id := newPrefixedID("00g", rng, func(id string) bool { return used[id] })
		used[id] = true
		t := genStart
		return &group{id: id, typ: typ, name: name, description: desc, created: t, lastUpdated: t, lastMembershipUpdated: t}
	}
	var out []*group
	add := func(g *group) *group {
		if len(out) < n {
			out = append(out, g)
		}
		return g
	}
	everyone := add(newGroup(GroupBuiltIn, "Everyone", "All users in your organization"))
	everyone.everyone = true
	employees := add(newGroup(GroupApp, "Workday: All Employees", "Imported from Workday"))
	admins := add(newGroup(GroupOkta, "okta-admins", "Okta administrators"))
	vpn := add(newGroup(GroupOkta, "vpn-users", ""))
	// Departments, then sub-teams spread over them by weight, then one
	// empty group in fifty.
	depts := map[string]*group{}
	var deptNames []string
	for _, d := range append([]department{executive}, departments[:]...) {
		deptNames = append(deptNames, d.name)
		depts[d.name] = add(newGroup(GroupOkta, "team-"+slug(d.name), d.name+" team"))
	}
	empty := max(1, n/50)
	subs := map[string][]*group{}
	for i := 0; len(out) < n-empty; i++ {
		d := departments[i%len(departments)]
		k := len(subs[d.name])
		name := "team-" + slug(d.name) + "-" + subTeams[k%len(subTeams)]
		if k >= len(subTeams) {
			name += "-" + strconv.Itoa(k/len(subTeams)+1)
		}
		subs[d.name] = append(subs[d.name], add(newGroup(GroupOkta, name, "")))
	}
	for i := 0; len(out) < n; i++ {
		add(newGroup(GroupOkta, "team-archived-"+strconv.Itoa(i+1), "No members: an archived team"))
	}
	join := func(g *group, id string) {
		if g != nil && g != everyone {
			g.members = append(g.members, id)
		}
	}
	for _, u := range users {
		dept, _ := u.profile["department"].(string)
		if rng.Float64() < 0.8 {
			join(depts[dept], u.id)
		}
		if ss := subs[dept]; len(ss) > 0 && rng.Float64() < 0.6 {
			join(ss[rng.IntN(len(ss))], u.id)
		}
		if rng.Float64() < 0.05 {
			join(depts[deptNames[rng.IntN(len(deptNames))]], u.id)
		}
		if ut, _ := u.profile["userType"].(string); ut == "Employee" {
			join(employees, u.id)
		}
		if rng.Float64() < 0.3 {
			join(vpn, u.id)
		}
		if rng.Float64() < 0.005 {
			join(admins, u.id)
		}
	}
	for _, g := range out {
		slices.Sort(g.members)
		g.members = slices.Compact(g.members)
	}
	return out
}
