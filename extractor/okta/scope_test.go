package okta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

func TestScopeValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scope Scope
		want  string
	}{
		{name: "off"},
		{name: "app and groups", scope: Scope{App: "0oa1amundsen", Groups: []string{"00g1", "Data people"}}},
		{name: "not an app id", scope: Scope{App: "amundsen"}, want: `okta.scope.app: must be an app id (0oa...), got "amundsen"`},
		{name: "an app id with a path", scope: Scope{App: "0oa1/users"}, want: "okta.scope.app"},
		{name: "an empty group", scope: Scope{Groups: []string{"ok", " "}}, want: "okta.scope.groups[1]: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.scope.validate()
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("invalid: %v", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Errorf("errors %v, want one with %q", errs, tc.want)
			}
		})
	}
	c := testCfg("https://acme.okta.com")
	c.Scope = Scope{App: "0oa1", Groups: []string{"g"}}
	if got := c.RequiredScopes(); !slices.Equal(got, []string{"okta.users.read", ScopeGroupsRead, ScopeAppsRead}) {
		t.Errorf("scopes %v", got)
	}
}

// TestScopeAgainstSimulator: a scoped read returns the users assigned to
// the app and the members of the scope's groups, nobody else, read by app
// and by group; a hook's user is checked by its own assignment and groups;
// a group that does not exist, and a scope that holds nobody, are errors.
func TestScopeAgainstSimulator(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 600, Seed: 13, Groups: 30})
	appID, err := sim.CreateApp("Amundsen")
	if err != nil {
		t.Fatal(err)
	}
	users := sim.Users()
	for _, u := range users[:40] {
		if err := sim.AssignApp(appID, u.Id); err != nil {
			t.Fatal(err)
		}
	}
	var vpn oktasim.Group
	for _, g := range sim.Groups() {
		if g.Name == "vpn-users" {
			vpn = g
		}
	}
	want := map[string]bool{}
	for _, id := range append(sim.AppUsers(appID), vpn.Members...) {
		want[id] = true
	}
	if len(want) < 100 || len(want) > 400 {
		t.Fatalf("%d users in scope: the test wants a scope that leaves many out", len(want))
	}

	cfg := testCfg(url)
	cfg.Scope = Scope{App: appID, Groups: []string{"vpn-users"}}
	e := newExtractor(t, cfg)
	var c collector
	outOfScope := 0
	err = e.Extract(testCtx(t), func(ctx context.Context, p extractor.Page) error {
		outOfScope += p.OutOfScope
		return c.fn(ctx, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, u := range c.users {
		got[u.SourceID] = true
	}
	for _, s := range c.skips {
		got[s.SourceID] = true
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s is in scope and was not read", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("%s is out of scope and was read", id)
		}
	}
	if outOfScope != len(users)-len(want) {
		t.Errorf("%d out of scope, want %d", outOfScope, len(users)-len(want))
	}
	// Requests: one page of app users, one of groups, one of members.
	if st := e.Stats(); st.Requests-st.Pages != 3 {
		t.Errorf("%d requests besides the users' pages, want 3", st.Requests-st.Pages)
	}

	// Hooks: one user at a time.
	for _, tc := range []struct {
		id   string
		want string
	}{
		{id: sim.AppUsers(appID)[0], want: ""},
		{id: vpn.Members[len(vpn.Members)-1], want: ""},
	} {
		if _, reason, err := e.MappedUser(context.Background(), tc.id); err != nil || reason != tc.want {
			t.Errorf("MappedUser(%s): reason %q, %v; want %q", tc.id, reason, err, tc.want)
		}
	}
	for _, u := range users {
		if !want[u.Id] && u.Status == oktasim.StatusActive {
			if _, reason, err := e.MappedUser(context.Background(), u.Id); err != nil || reason != SkipOutOfScope {
				t.Errorf("MappedUser(%s), out of scope: reason %q, %v", u.Id, reason, err)
			}
			break
		}
	}

	// A group Okta does not have.
	cfg.Scope = Scope{Groups: []string{"vpn-users", "no-such-group"}}
	err = newExtractor(t, cfg).Extract(testCtx(t), (&collector{}).fn)
	if err == nil || !strings.Contains(err.Error(), "okta.scope.groups: Okta has no group no-such-group") {
		t.Errorf("an unknown group: %v", err)
	}
	// A scope that holds nobody.
	empty, _ := sim.CreateApp("Nobody uses this")
	cfg.Scope = Scope{App: empty}
	var es *EmptyScopeError
	if err := newExtractor(t, cfg).Extract(testCtx(t), (&collector{}).fn); !errors.As(err, &es) {
		t.Errorf("an empty scope: %v, want an *EmptyScopeError", err)
	}
}

// nullPages answers the first n requests whose path has suffix with 200
// and the body "null", as a broken proxy might, and passes the rest on.
type nullPages struct {
	base   http.RoundTripper
	suffix string
	n      atomic.Int32
}

func (p *nullPages) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, p.suffix) && p.n.Add(-1) >= 0 {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader("null")), Request: r}, nil
	}
	return p.base.RoundTrip(r)
}

// TestEmptyMemberPageIsNotTheEnd: a group's member page answered 200 with
// no list at all is retried, never read as "no more members" (which would
// leave them out of scope, to be deactivated); after every attempt, the
// read fails.
func TestEmptyMemberPageIsNotTheEnd(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 13, Groups: 20})
	var vpn oktasim.Group
	for _, g := range sim.Groups() {
		if g.Name == "vpn-users" {
			vpn = g
		}
	}
	cfg := testCfg(url)
	cfg.Scope = Scope{Groups: []string{"vpn-users"}}
	for _, tc := range []struct {
		name  string
		nulls int32
		fails bool
	}{
		{name: "once, then the page", nulls: 1},
		{name: "on every attempt", nulls: 100, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &nullPages{base: http.DefaultTransport, suffix: "/api/v1/groups/" + vpn.ID + "/users"}
			rt.n.Store(tc.nulls)
			e := newExtractor(t, cfg, WithRoundTripper(rt))
			var c collector
			err := e.Extract(testCtx(t), c.fn)
			var mp *MalformedPageError
			switch {
			case tc.fails && !errors.As(err, &mp):
				t.Fatalf("err = %v, want a *MalformedPageError", err)
			case !tc.fails && err != nil:
				t.Fatal(err)
			case !tc.fails && len(c.users)+len(c.skips) != len(vpn.Members):
				t.Errorf("%d users read in scope, want the group's %d", len(c.users)+len(c.skips), len(vpn.Members))
			}
		})
	}
}
