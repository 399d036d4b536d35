package okta

import (
	"context"
	"crypto/rsa"
	"regexp"
	"strings"
	"testing"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

func group(name, typ string) *okta.Group {
	return &okta.Group{Id: "00g" + name, Type: typ, Profile: &okta.GroupProfile{Name: name}}
}

func TestTeamRules(t *testing.T) {
	teams := TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^lead-(.+)$`, `^team-(.+)$`, `^Squad `}}}
	if errs := teams.validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	r := newTeamRules(teams)
	okType := newTeamRules(TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^team-(.+)$`}, Type: GroupTypeOkta}})
	for _, tc := range []struct {
		name   string
		rules  *teamRules
		groups []*okta.Group
		want   string
	}{
		{name: "no groups", rules: r},
		{name: "no team group", rules: r, groups: []*okta.Group{group("Everyone", "BUILT_IN"), group("vpn-users", "OKTA_GROUP")}},
		{name: "one team", rules: r, groups: []*okta.Group{group("Everyone", "BUILT_IN"), group("team-data", "OKTA_GROUP")}, want: "data"},
		{name: "the more specific of one pattern", rules: r,
			groups: []*okta.Group{group("team-data", "OKTA_GROUP"), group("team-data-platform", "OKTA_GROUP")}, want: "data-platform"},
		{name: "the same length: the first name", rules: r,
			groups: []*okta.Group{group("team-web", "OKTA_GROUP"), group("team-api", "OKTA_GROUP")}, want: "api"},
		{name: "the earlier pattern wins over a more specific group", rules: r,
			groups: []*okta.Group{group("team-data-platform-ingest", "OKTA_GROUP"), group("lead-data", "OKTA_GROUP")}, want: "data"},
		{name: "no capture: the whole name", rules: r, groups: []*okta.Group{group("Squad Falcon", "OKTA_GROUP")}, want: "Squad Falcon"},
		{name: "patterns are case-sensitive", rules: r, groups: []*okta.Group{group("TEAM-data", "OKTA_GROUP")}},
		{name: "type limits teams", rules: okType,
			groups: []*okta.Group{group("team-ad-imported", "APP_GROUP"), group("team-okta", "OKTA_GROUP")}, want: "okta"},
		{name: "only the wrong type", rules: okType, groups: []*okta.Group{group("team-ad-imported", "APP_GROUP")}},
		{name: "a group without a profile", rules: r, groups: []*okta.Group{{Id: "00gx"}, nil, group("team-x", "OKTA_GROUP")}, want: "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rules.best(tc.groups); got != tc.want {
				t.Errorf("team %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTeamMappingValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		team TeamMapping
		want []string
	}{
		{name: "default", team: DefaultMapping().Team},
		{name: "groups", team: TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^team-(.+)$`}, Type: "APP_GROUP"}}},
		{name: "no attribute", team: TeamMapping{Source: TeamFromAttribute}, want: []string{"mapping.team.attribute: required"}},
		{name: "no patterns", team: TeamMapping{Source: TeamFromGroups}, want: []string{"mapping.team.groups.patterns: required"}},
		{name: "bad pattern", team: TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^ok$`, `(`}}},
			want: []string{"mapping.team.groups.patterns[1]", "missing closing )"}},
		{name: "two captures", team: TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^(a)-(b)$`}}},
			want: []string{"mapping.team.groups.patterns[0]: at most one capture group"}},
		{name: "bad type", team: TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`x`}, Type: "BUILT_IN"}},
			want: []string{"mapping.team.groups.type"}},
		{name: "bad source", team: TeamMapping{Source: "ldap"}, want: []string{`mapping.team.source: must be "attribute" or "groups", got "ldap"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.team.validate()
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("invalid: %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one with %q", errs, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("error %q does not contain %q", errs[0], w)
				}
			}
		})
	}
	// Patterns imply the groups source, as a manager attribute implies its.
	m := DefaultMapping()
	m.Team.Groups.Patterns = []string{`^team-(.+)$`}
	m.Team.Groups.Type = " okta_group "
	m.Normalize()
	if m.Team.Source != TeamFromGroups || m.Team.Groups.Type != GroupTypeOkta || m.Validate() != nil {
		t.Errorf("normalised: %+v (%v)", m.Team, m.Validate())
	}
}

// expectedTeams is each simulated user's team by the rule, computed here
// from the simulator's groups: the longest team-* group name, then the
// first.
func expectedTeams(sim *oktasim.Server) map[string]string {
	re := regexp.MustCompile(`^team-(.+)$`)
	best := map[string]string{}
	for _, g := range sim.Groups() {
		m := re.FindStringSubmatch(g.Name)
		if m == nil {
			continue
		}
		for _, id := range g.Members {
			cur, ok := best[id]
			if !ok || len(g.Name) > len(cur) || len(g.Name) == len(cur) && g.Name < cur {
				best[id] = g.Name
			}
		}
	}
	out := map[string]string{}
	for id, name := range best {
		out[id] = strings.TrimPrefix(name, "team-")
	}
	return out
}

// TestTeamsFromGroupsAgainstSimulator: with teams from groups, a read gives
// every user the team the simulator's groups say, reading membership by
// group: ⌈groups/200⌉ + ⌈members/1000⌉ per team group requests, not one per
// user; a hook's one user gets its team from its own groups; a service app
// asks for okta.groups.read too.
func TestTeamsFromGroupsAgainstSimulator(t *testing.T) {
	key, _, _ := testKeys(t)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 2500, Seed: 11, Groups: 250,
		Clients: map[string]*rsa.PublicKey{"0oa-sync": &key.PublicKey}})
	cfg := testCfg(url)
	cfg.Token, cfg.ClientID, cfg.PrivateKey = "", "0oa-sync", pkcs8PEM(t, key)
	cfg.Mapping.Team = TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{`^team-(.+)$`}}}
	e := newExtractor(t, cfg)
	if got := e.client.GetConfig().Okta.Client.Scopes; len(got) != 2 || got[1] != ScopeGroupsRead {
		t.Errorf("scopes %v, want okta.users.read and okta.groups.read", got)
	}
	before := sim.Stats()
	var c collector
	if err := e.Extract(testCtx(t), c.fn); err != nil {
		t.Fatal(err)
	}
	want := expectedTeams(sim)
	withTeam := 0
	for _, u := range c.users {
		if u.TeamName != want[u.SourceID] {
			t.Errorf("%s: team %q, want %q", u.SourceID, u.TeamName, want[u.SourceID])
		}
		if u.TeamName != "" {
			withTeam++
		}
	}
	if withTeam < len(c.users)/2 || withTeam == len(c.users) {
		t.Errorf("%d of %d users have a team: the org should have people in teams and people in none", withTeam, len(c.users))
	}
	// Requests: the groups' pages, each team group's members' pages, and
	// the users' pages.
	groupPages, memberPages := 0, 0
	for i, g := range sim.Groups() {
		if i%200 == 0 {
			groupPages++
		}
		if strings.HasPrefix(g.Name, "team-") {
			memberPages += max(1, (len(g.Members)+999)/1000)
			if len(g.Members) > 0 && len(g.Members)%1000 == 0 {
				memberPages++ // the trailing empty page
			}
		}
	}
	st := e.Stats()
	const token = 1 // the service app's access token
	if teamRequests := st.Requests - st.Pages - token; teamRequests != int64(groupPages+memberPages) {
		t.Errorf("%d requests for teams, want %d (%d pages of groups, %d of members)", teamRequests, groupPages+memberPages, groupPages, memberPages)
	}
	if after := sim.Stats(); after.GetUserRequests != before.GetUserRequests {
		t.Errorf("%d requests for single users: membership must be read by group", after.GetUserRequests-before.GetUserRequests)
	}

	// A hook's user: its team from its own groups.
	for _, u := range c.users[:20] {
		got, reason, err := e.MappedUser(context.Background(), u.SourceID)
		if err != nil || reason != "" || got.TeamName != want[u.SourceID] {
			t.Errorf("MappedUser %s: team %q (%q, %v), want %q", u.SourceID, got.TeamName, reason, err, want[u.SourceID])
		}
	}
}
