package okta

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"go.uber.org/zap"
)

// Teams from Okta groups (mapping.team.source: groups).
//
// Membership is read by group, never per user: a full or incremental read
// first lists the org's groups (⌈groups/200⌉ requests), keeps those whose
// name a pattern matches, and reads each one's members (⌈members/1000⌉
// requests per team group). It keeps, for each member, the best team by
// the rule of TeamGroups.Patterns, in a sorted index of 24 bytes per person
// in a team group (2.4 MB for 100,000 people), which it drops when the read
// ends. A hook reads the groups of the one user it concerns.
//
// A membership change does not move the user's lastUpdated, so an
// incremental read whose groups changed after its since (a team group's
// members, or any group's name) reads every user, as a full read does
// (⌈users/200⌉ requests more), and writes only the teams that moved. A
// deleted team group is seen by the next full sync.

// ScopeGroupsRead is the scope a service app needs to read groups.
const ScopeGroupsRead = "okta.groups.read"

// Group types a team may be limited to.
const (
	GroupTypeOkta = "OKTA_GROUP"
	GroupTypeApp  = "APP_GROUP"
)

// Paging of the Groups API: Okta answers at most 200 groups a page for
// most orgs, and at most 1,000 members.
const (
	groupsPageSize  = 200
	membersPageSize = 1000
)

// validate reports the problems of a team mapping, each naming its field.
func (t TeamMapping) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch t.Source {
	case TeamFromAttribute:
		if strings.TrimSpace(t.Attribute) == "" {
			add("mapping.team.attribute: required with mapping.team.source: attribute")
		}
	case TeamFromGroups:
		if len(t.Groups.Patterns) == 0 {
			add("mapping.team.groups.patterns: required with mapping.team.source: groups, e.g. [\"^team-(.+)$\"]")
		}
		for i, p := range t.Groups.Patterns {
			re, err := regexp.Compile(p)
			switch {
			case err != nil:
				add("mapping.team.groups.patterns[%d]: %w", i, err)
			case re.NumSubexp() > 1:
				add("mapping.team.groups.patterns[%d]: at most one capture group (the team's name), got %d", i, re.NumSubexp())
			}
		}
		switch t.Groups.Type {
		case "", GroupTypeOkta, GroupTypeApp:
		default:
			add("mapping.team.groups.type: must be %s or %s, got %q", GroupTypeOkta, GroupTypeApp, t.Groups.Type)
		}
	default:
		add("mapping.team.source: must be %q or %q, got %q", TeamFromAttribute, TeamFromGroups, t.Source)
	}
	return errs
}

// teamRules decide which groups are teams, a team's name, and the team of
// a person in several: the one home of that rule.
type teamRules struct {
	patterns []*regexp.Regexp
	typ      string
}

// newTeamRules compiles a validated team mapping's patterns; nil without
// teams from groups.
func newTeamRules(t TeamMapping) *teamRules {
	if t.Source != TeamFromGroups {
		return nil
	}
	r := &teamRules{typ: t.Groups.Type}
	for _, p := range t.Groups.Patterns {
		r.patterns = append(r.patterns, regexp.MustCompile(p))
	}
	return r
}

// teamGroup is a group that is a team, with what ranks it.
type teamGroup struct {
	id, name, team string
	pattern        int
}

// match reports whether a group is a team, and which.
func (r *teamRules) match(id, name, typ string) (teamGroup, bool) {
	if r.typ != "" && typ != r.typ {
		return teamGroup{}, false
	}
	for i, re := range r.patterns {
		m := re.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		team := name
		if len(m) > 1 && m[1] != "" {
			team = m[1]
		}
		return teamGroup{id: id, name: name, team: team, pattern: i}, true
	}
	return teamGroup{}, false
}

// better orders team groups best first: the earlier pattern, then the more
// specific (longer) name, then the first name.
func better(a, b teamGroup) int {
	return cmp.Or(cmp.Compare(a.pattern, b.pattern), cmp.Compare(len(b.name), len(a.name)), strings.Compare(a.name, b.name))
}

// best returns the team of a person in the given groups ("" for none).
func (r *teamRules) best(groups []*okta.Group) string {
	var top teamGroup
	found := false
	for _, g := range groups {
		if g == nil || g.Profile == nil {
			continue
		}
		if tg, ok := r.match(g.Id, g.Profile.Name, g.Type); ok && (!found || better(tg, top) < 0) {
			top, found = tg, true
		}
	}
	return top.team
}

// teamIndex maps a user id to the best team of the team groups the user is
// in. Okta's ids are 20 characters: those take 24 bytes each in a sorted
// slice; any other id goes in a small map.
type teamIndex struct {
	teams []string // by rank (best first)
	ids   []indexEntry
	other map[string]uint32
}

type indexEntry struct {
	id   [20]byte
	rank uint32
}

// team returns the user's team, or "" if the user is in no team group.
func (x *teamIndex) team(id string) string {
	if x == nil {
		return ""
	}
	if len(id) != 20 {
		if r, ok := x.other[id]; ok {
			return x.teams[r]
		}
		return ""
	}
	var key [20]byte
	copy(key[:], id)
	i, ok := slices.BinarySearchFunc(x.ids, key, func(e indexEntry, k [20]byte) int { return strings.Compare(string(e.id[:]), string(k[:])) })
	if !ok {
		return ""
	}
	return x.teams[x.ids[i].rank]
}

// clockRead is what a read by group or by app learnt of time, by Okta's
// clock: the newest change it saw (a group's name or members, an
// assignment), which no user's lastUpdated records, and when it began.
type clockRead struct{ newest, from time.Time }

func (c *clockRead) saw(t *time.Time) {
	if t != nil && t.After(c.newest) {
		c.newest = *t
	}
}

// began notes a request sent at sent and answered with resp.
func (c *clockRead) began(resp *okta.Response, sent time.Time) {
	from, _ := readWindow(resp, sent, time.Now())
	if c.from.IsZero() || from.Before(c.from) {
		c.from = from
	}
}

func (c *clockRead) merge(o clockRead) {
	c.saw(&o.newest)
	if !o.from.IsZero() && (c.from.IsZero() || o.from.Before(c.from)) {
		c.from = o.from
	}
}

// readTeams builds the team index: the org's groups, then the members of
// each team group. It returns nil without teams from groups. The clock
// read's newest is the latest change of a group's name, or of a team
// group's members.
func (e *Extractor) readTeams(ctx context.Context) (x *teamIndex, cr clockRead, err error) {
	if e.teams == nil {
		return nil, cr, nil
	}
	var groups []teamGroup
	qp := query.NewQueryParams(query.WithLimit(groupsPageSize))
	if e.teams.typ != "" {
		qp.Filter = fmt.Sprintf("type eq %q", e.teams.typ)
	}
	keep := func(page []*okta.Group) {
		for _, g := range page {
			if g == nil || g.Profile == nil {
				continue
			}
			tg, ok := e.teams.match(g.Id, g.Profile.Name, g.Type)
			cr.saw(g.LastUpdated)
			if ok {
				groups = append(groups, tg)
				cr.saw(g.LastMembershipUpdated)
			}
		}
	}
	if err = e.listGroups(ctx, qp, &cr, keep); err != nil {
		return nil, cr, err
	}
	slices.SortFunc(groups, better)
	x = &teamIndex{other: map[string]uint32{}}
	sdk := make([]*okta.Group, len(groups))
	for rank, g := range groups {
		x.teams = append(x.teams, g.team)
		sdk[rank] = &okta.Group{Id: g.id, Profile: &okta.GroupProfile{Name: g.name}}
	}
	err = e.readMembersOf(ctx, sdk, func(rank int, ids []string) {
		for _, id := range ids {
			if len(id) != 20 {
				if cur, ok := x.other[id]; !ok || uint32(rank) < cur {
					x.other[id] = uint32(rank)
				}
				continue
			}
			en := indexEntry{rank: uint32(rank)}
			copy(en.id[:], id)
			x.ids = append(x.ids, en)
		}
	})
	if err != nil {
		return nil, cr, err
	}
	// Best rank first for each id: keep the first of each id.
	slices.SortFunc(x.ids, func(a, b indexEntry) int {
		return cmp.Or(strings.Compare(string(a.id[:]), string(b.id[:])), cmp.Compare(a.rank, b.rank))
	})
	x.ids = slices.CompactFunc(x.ids, func(a, b indexEntry) bool { return a.id == b.id })
	x.ids = slices.Clip(x.ids)
	e.log.Debug("teams read from groups", zap.Int("team_groups", len(groups)), zap.Int("people", len(x.ids)+len(x.other)),
		zap.Time("newest_change", cr.newest))
	return x, cr, nil
}

// userGroups reads one user's groups, for hooks: for its team, and
// whether it is in scope.
func (e *Extractor) userGroups(ctx context.Context, id string) ([]*okta.Group, error) {
	groups, resp, err := e.client.User.ListUserGroups(ctx, url.PathEscape(id))
	if err != nil {
		return nil, fmt.Errorf("list groups of user %s: %w", id, e.cfg.classify(err, resp))
	}
	return groups, nil
}
