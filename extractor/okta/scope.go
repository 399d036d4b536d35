package okta

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
)

// Scope (okta.scope) limits a sync to the users assigned to one Okta app
// and the members of listed groups: the people who matter to Amundsen, not
// the whole org.
//
// A read first gathers who is in scope, by app and by group, never per
// user: ⌈assigned/500⌉ requests for the app, ⌈groups/200⌉ to find the
// groups and ⌈members/1000⌉ per group; 20-byte ids, 24 bytes each in a
// sorted set for the read. Users out of scope are neither written nor
// seen: a managed user who leaves the scope is deactivated by the next full
// sync like a leaver, within the safety cap (sync.max_deactivate), and the
// dry run lists them. A scope that holds nobody refuses the run.
//
// As with teams from groups, an assignment or a membership change moves no
// user's lastUpdated: an incremental read whose scope changed after its
// since reads every user. A hook's user is checked by its own assignment
// and groups.

// Scope selects the users a sync reads.
type Scope struct {
	// App is the id (0oa...) of an app, e.g. the OIDC app people sign in
	// to Amundsen with: the users assigned to it, directly or through a
	// group, are in scope.
	App string `yaml:"app"`
	// Groups are groups, by id (00g...) or exact name: their members are
	// in scope.
	Groups []string `yaml:"groups"`
}

// SkipOutOfScope is the skip reason of a hook's user outside okta.scope.
const SkipOutOfScope = "outside okta.scope"

// ScopeAppsRead is the scope a service app needs to read app assignments.
const ScopeAppsRead = "okta.apps.read"

// appUsersPageSize is Okta's most app users a page.
const appUsersPageSize = 500

// On reports whether the scope limits the sync.
func (s Scope) On() bool { return s.App != "" || len(s.Groups) > 0 }

func (s Scope) validate() []error {
	var errs []error
	if s.App != "" && (!strings.HasPrefix(s.App, "0oa") || strings.ContainsAny(s.App, "/?# ")) {
		errs = append(errs, fmt.Errorf("okta.scope.app: must be an app id (0oa...), got %q", s.App))
	}
	for i, g := range s.Groups {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, fmt.Errorf("okta.scope.groups[%d]: empty", i))
		}
	}
	return errs
}

// idSet is a set of user ids: Okta's 20-character ids in a sorted slice,
// any other in a map.
type idSet struct {
	ids   [][20]byte
	other map[string]bool
}

func (s *idSet) add(id string) {
	if len(id) != 20 {
		s.other[id] = true
		return
	}
	var k [20]byte
	copy(k[:], id)
	s.ids = append(s.ids, k)
}

// seal sorts the set once it is complete.
func (s *idSet) seal() {
	slices.SortFunc(s.ids, func(a, b [20]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	s.ids = slices.Clip(slices.Compact(s.ids))
}

func (s *idSet) has(id string) bool {
	if len(id) != 20 {
		return s.other[id]
	}
	var k [20]byte
	copy(k[:], id)
	_, ok := slices.BinarySearchFunc(s.ids, k, func(a, b [20]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	return ok
}

func (s *idSet) len() int { return len(s.ids) + len(s.other) }

// readScope gathers who is in scope; nil without a scope. The clock
// read's newest is the latest assignment, or change of a scope group.
func (e *Extractor) readScope(ctx context.Context) (set *idSet, cr clockRead, err error) {
	sc := e.cfg.Scope
	if !sc.On() {
		return nil, cr, nil
	}
	set = &idSet{other: map[string]bool{}}
	if sc.App != "" {
		keep := func(page []*okta.AppUser) {
			for _, a := range page {
				if a == nil {
					continue
				}
				set.add(a.Id)
				cr.saw(a.Created)
				cr.saw(a.LastUpdated)
			}
		}
		qp := query.NewQueryParams(query.WithLimit(appUsersPageSize))
		err := e.readPages(ctx, "list users of app "+sc.App, "/api/v1/apps/"+sc.App+"/users",
			func(ctx context.Context) (*okta.Response, func() bool, error) {
				sent := time.Now()
				page, resp, err := e.client.Application.ListApplicationUsers(ctx, url.PathEscape(sc.App), qp)
				cr.began(resp, sent)
				return resp, func() bool { keep(page); return page != nil }, err
			},
			func(ctx context.Context, prev *okta.Response) (*okta.Response, func() bool, error) {
				var page []*okta.AppUser
				resp, err := prev.Next(ctx, &page)
				return resp, func() bool { keep(page); return page != nil }, err
			})
		if err != nil {
			return nil, cr, err
		}
	}
	if len(sc.Groups) > 0 {
		groups, err := e.scopeGroups(ctx, &cr)
		if err != nil {
			return nil, cr, err
		}
		for _, g := range groups {
			cr.saw(g.LastUpdated)
			cr.saw(g.LastMembershipUpdated)
		}
		err = e.readMembersOf(ctx, groups, func(_ int, ids []string) {
			for _, id := range ids {
				set.add(id)
			}
		})
		if err != nil {
			return nil, cr, err
		}
	}
	set.seal()
	if set.len() == 0 {
		return nil, cr, &EmptyScopeError{Scope: sc}
	}
	e.log.Debug("scope read", zap.Int("users", set.len()), zap.Time("newest_change", cr.newest))
	return set, cr, nil
}

// EmptyScopeError refuses a run whose okta.scope holds nobody, as an empty
// read is refused: a wrong app or group id looks exactly like this.
type EmptyScopeError struct{ Scope Scope }

func (e *EmptyScopeError) Error() string {
	var what []string
	if e.Scope.App != "" {
		what = append(what, "app "+e.Scope.App)
	}
	if len(e.Scope.Groups) > 0 {
		what = append(what, "groups "+strings.Join(e.Scope.Groups, ", "))
	}
	return fmt.Sprintf("okta.scope (%s) holds no user: refusing to sync nobody; check the app's assignments and the groups' members", strings.Join(what, "; "))
}

// scopeGroups finds the groups okta.scope.groups names, by id or exact
// name (every group of that name), in one listing of the org's groups. A
// name or id that is not there is an error: a typo must not shrink the
// scope.
func (e *Extractor) scopeGroups(ctx context.Context, cr *clockRead) ([]*okta.Group, error) {
	want := map[string]bool{}
	for _, g := range e.cfg.Scope.Groups {
		want[strings.TrimSpace(g)] = false // true once found
	}
	var found []*okta.Group
	keep := func(page []*okta.Group) {
		for _, g := range page {
			if g == nil {
				continue
			}
			name := ""
			if g.Profile != nil {
				name = g.Profile.Name
			}
			_, byID := want[g.Id]
			_, byName := want[name]
			if byID || byName {
				found = append(found, g)
				if byID {
					want[g.Id] = true
				}
				if byName {
					want[name] = true
				}
			}
		}
	}
	if err := e.listGroups(ctx, query.NewQueryParams(query.WithLimit(groupsPageSize)), cr, keep); err != nil {
		return nil, err
	}
	var missing []string
	for w, ok := range want {
		if !ok {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("okta.scope.groups: Okta has no group %s (give a group's id or its exact name)", strings.Join(missing, ", "))
	}
	return found, nil
}

// inScope checks one user, for hooks: its assignment to the app, or its
// groups (read once, and given to fn for its team too).
func (e *Extractor) inScope(ctx context.Context, id string, groups []*okta.Group) (bool, error) {
	sc := e.cfg.Scope
	for _, g := range groups {
		if g == nil {
			continue
		}
		for _, w := range sc.Groups {
			w = strings.TrimSpace(w)
			if g.Id == w || g.Profile != nil && g.Profile.Name == w {
				return true, nil
			}
		}
	}
	if sc.App == "" {
		return false, nil
	}
	_, resp, err := e.client.Application.GetApplicationUser(ctx, url.PathEscape(sc.App), url.PathEscape(id), nil)
	if err != nil {
		err = e.cfg.classify(err, resp)
		if errors.Is(err, extractor.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("check user %s's assignment to app %s: %w", id, sc.App, err)
	}
	return true, nil
}
