package okta

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

func TestEventHookTypesAreHandled(t *testing.T) {
	all := testCfg("https://acme.okta.com")
	all.Mapping.Team = TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{"x"}}}
	all.Scope = Scope{App: "0oa1"}
	types := all.EventHookTypes()
	if len(types) == 0 {
		t.Fatal("no event types")
	}
	for _, typ := range types {
		if !userEvent(typ) {
			t.Errorf("%s is registered, but the hook endpoint ignores it", typ)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(types)))) != len(types) {
		t.Errorf("duplicate event types in %v", types)
	}
	// Every event type the endpoint acts on is registered, except those
	// Okta does not let event hooks subscribe to.
	notEligible := []string{"user.account.update_primary_email"}
	for _, typ := range []string{
		"user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.deactivate", "user.lifecycle.suspend",
		"user.lifecycle.unsuspend", "user.lifecycle.reactivate", "user.lifecycle.delete.initiated",
		"user.account.update_profile", "user.account.lock", "user.account.unlock", "user.account.unlock_by_admin",
		"user.account.update_primary_email", "user.account.reset_password", "user.account.update_password",
	} {
		if userEvent(typ) && !slices.Contains(types, typ) && !slices.Contains(notEligible, typ) {
			t.Errorf("the endpoint acts on %s, but it is not registered", typ)
		}
	}
}

func TestEventHookSpecValidate(t *testing.T) {
	good := EventHookSpec{Name: "oktasync", URL: "https://oktasync.acme.com/okta/events", AuthHeader: "Authorization", Secret: "s3cret-0123456789abcdef"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid spec refused: %v", err)
	}
	for _, tc := range []struct {
		name    string
		change  func(*EventHookSpec)
		wantErr string
	}{
		{"http to a public host", func(s *EventHookSpec) { s.URL = "http://oktasync.acme.com/okta/events" }, "https://"},
		{"http to loopback is fine", func(s *EventHookSpec) { s.URL = "http://127.0.0.1:8080/okta/events" }, ""},
		{"relative URL", func(s *EventHookSpec) { s.URL = "/okta/events" }, "--url"},
		{"credentials in the URL", func(s *EventHookSpec) { s.URL = "https://u:p@h/okta/events" }, "--url"},
		{"empty name", func(s *EventHookSpec) { s.Name = " " }, "name"},
		{"bad header", func(s *EventHookSpec) { s.AuthHeader = "X Auth" }, "serve.hook_auth_header"},
		{"short secret", func(s *EventHookSpec) { s.Secret = "short" }, EnvHookSecrets},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.change(&s)
			err := s.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), s.Secret) {
				t.Error("the error quotes the secret")
			}
		})
	}
}

// hookReceiver is oktasync's real hook endpoint (HookHandler) on a loopback
// server, counting the verification GETs it answered and the user ids of
// the deliveries it accepted.
type hookReceiver struct {
	url           string
	verifications atomic.Int32
	mu            sync.Mutex
	ids           []string
}

func startHookReceiver(t *testing.T, header string, secrets ...string) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	cfg := DefaultHookConfig()
	cfg.AuthHeader, cfg.Secrets = header, secrets
	h, err := NewHookHandler(cfg, func(ids []string) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids = append(r.ids, ids...)
		return true
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && req.Header.Get("X-Okta-Verification-Challenge") != "" {
			r.verifications.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/okta/events"
	return r
}

func (r *hookReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func TestRegisterAgainstSimulator(t *testing.T) {
	sim, orgURL := oktasimtest.Start(t, oktasim.Config{Users: 20, Seed: 3, Token: testToken})
	t.Cleanup(sim.CloseEventHooks)
	const header, secret, rotated = "X-Oktasync-Hook", "hook-secret-0123456789abcdef", "hook-secret-rotated-0123456789"
	recv := startHookReceiver(t, header, secret, rotated) // serve accepts both while the secret rotates
	admin, err := NewHookAdmin(testCfg(orgURL), ScopeEventHooksManage, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := EventHookSpec{Name: DefaultEventHookName, URL: recv.url, AuthHeader: header, Secret: secret}

	first, err := admin.Register(testCtx(t), spec)
	if err != nil {
		t.Fatalf("first register: %v", err)
	}
	if !first.Created || !first.Verified || !first.Hook.Ready() {
		t.Errorf("first register: %+v, want a created, verified, active hook", first)
	}
	second, err := admin.Register(testCtx(t), spec)
	if err != nil {
		t.Fatalf("second register: %v", err)
	}
	if second.Created || second.Verified || second.Activated || second.Hook.ID != first.Hook.ID || !second.Hook.Ready() {
		t.Errorf("second register: %+v, want the same hook (%s), left as it was", second, first.Hook.ID)
	}

	hooks := sim.EventHooks()
	if len(hooks) != 1 {
		t.Fatalf("Okta holds %d event hooks, want 1: %+v", len(hooks), hooks)
	}
	h := hooks[0]
	if h.ID != first.Hook.ID || h.URI != recv.url || h.AuthHeader != header || h.VerificationStatus != oktasim.EventHookVerified || h.Status != oktasim.EventHookActive {
		t.Errorf("Okta holds %+v", h)
	}
	if want := testCfg(orgURL).EventHookTypes(); !slices.Equal(h.EventTypes, want) {
		t.Errorf("event types %v, want %v", h.EventTypes, want)
	}
	if n := recv.verifications.Load(); n != 1 {
		t.Errorf("the endpoint answered %d verification requests, want 1", n)
	}

	// The registered hook delivers: an admin change reaches the endpoint
	// with the registered secret.
	victim := sim.Users()[0]
	if err := sim.SetStatus(victim.Id, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(recv.received(), victim.Id) {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery for %s reached the endpoint (got %v)", victim.Id, recv.received())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Deactivated in Okta (by hand, say): register activates it again,
	// still the same hook, without another verification.
	req, err := http.NewRequest(http.MethodPost, orgURL+"/api/v1/eventHooks/"+first.Hook.ID+"/lifecycle/deactivate", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %s", resp.Status)
	}
	third, err := admin.Register(testCtx(t), spec)
	if err != nil || !third.Activated || third.Verified || third.Hook.ID != first.Hook.ID || !third.Hook.Ready() {
		t.Errorf("register after a deactivation: %+v, %v; want the same hook activated", third, err)
	}
	if n := recv.verifications.Load(); n != 1 {
		t.Errorf("the endpoint answered %d verification requests, want still 1", n)
	}

	listed, err := admin.List(testCtx(t))
	if err != nil || len(HooksAt(listed, recv.url)) != 1 || len(listed[0].MissingEventTypes(testCfg(orgURL).EventHookTypes())) != 0 {
		t.Errorf("List = %+v, %v", listed, err)
	}

	// A rotated secret changes the hook's channel, which Okta then holds
	// unverified: register verifies it again, the same hook.
	spec.Secret = rotated
	fourth, err := admin.Register(testCtx(t), spec)
	if err != nil || !fourth.Verified || fourth.Hook.ID != first.Hook.ID || !fourth.Hook.Ready() {
		t.Errorf("register with a rotated secret: %+v, %v; want the same hook verified again", fourth, err)
	}
	if n := recv.verifications.Load(); n != 2 {
		t.Errorf("the endpoint answered %d verification requests, want 2", n)
	}
}

func TestRegisterFailsWhenTheEndpointDoesNotVerify(t *testing.T) {
	sim, orgURL := oktasimtest.Start(t, oktasim.Config{Users: 1, Seed: 3, Token: testToken})
	t.Cleanup(sim.CloseEventHooks)
	const secret = "hook-secret-0123456789abcdef"
	// Not oktasync: it answers the challenge with something else.
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"verification":"not the challenge"}`))
	}))
	t.Cleanup(wrong.Close)
	admin, err := NewHookAdmin(testCfg(orgURL), ScopeEventHooksManage, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := admin.Register(testCtx(t), EventHookSpec{Name: "oktasync", URL: wrong.URL + "/okta/events", AuthHeader: "Authorization", Secret: secret})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "verify event hook") {
		t.Fatalf("Register = %v, want Okta's 400 from the verification", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Error("the error quotes the secret")
	}
	hooks := sim.EventHooks()
	if len(hooks) != 1 || hooks[0].VerificationStatus != "UNVERIFIED" || reg.Hook.ID != hooks[0].ID {
		t.Errorf("Okta holds %+v (registration %+v), want one UNVERIFIED hook", hooks, reg)
	}
}

// fakeHooksAPI serves canned Event Hooks API answers and records requests.
type fakeHooksAPI struct {
	mu       sync.Mutex
	requests []string
	list     string
	status   int
}

func (f *fakeHooksAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
		_ = json.NewEncoder(w).Encode(map[string]any{"errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action"})
		return
	}
	_, _ = w.Write([]byte(f.list))
}

func TestRegisterAgainstFakeOkta(t *testing.T) {
	const url = "https://oktasync.acme.com/okta/events"
	hook := func(id, uri string) string {
		return `{"id":"` + id + `","name":"oktasync","status":"ACTIVE","verificationStatus":"VERIFIED","events":{"type":"EVENT_TYPE","items":["user.lifecycle.create"]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"` + uri + `","authScheme":{"type":"HEADER","key":"Authorization"}}}}`
	}
	for _, tc := range []struct {
		name     string
		api      *fakeHooksAPI
		wantErr  string
		wantAuth bool
		wantReqs []string
	}{
		{
			name:     "two hooks with the URL: refuse to choose, write nothing",
			api:      &fakeHooksAPI{list: "[" + hook("who1", url) + "," + hook("who2", url) + "]"},
			wantErr:  "2 event hooks deliver to " + url + " (who1, who2)",
			wantReqs: []string{"GET /api/v1/eventHooks"},
		},
		{
			name:     "no permission to manage hooks",
			api:      &fakeHooksAPI{status: http.StatusForbidden},
			wantErr:  "E0000006",
			wantAuth: true,
			wantReqs: []string{"GET /api/v1/eventHooks"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.api)
			t.Cleanup(srv.Close)
			admin, err := NewHookAdmin(testCfg(srv.URL), ScopeEventHooksManage, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = admin.Register(testCtx(t), EventHookSpec{Name: "oktasync", URL: url, AuthHeader: "Authorization", Secret: "hook-secret-0123456789abcdef"})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Register = %v, want an error containing %q", err, tc.wantErr)
			}
			var ae *APIError
			if got := errors.As(err, &ae) && ae.Auth(); got != tc.wantAuth {
				t.Errorf("an auth error: %v, want %v", got, tc.wantAuth)
			}
			if !slices.Equal(tc.api.requests, tc.wantReqs) {
				t.Errorf("requests %v, want %v", tc.api.requests, tc.wantReqs)
			}
		})
	}
}

func TestNewHookAdminAsksForItsScopeOnly(t *testing.T) {
	cfg := testCfg("https://acme.okta.com")
	k, _, _ := testKeys(t)
	cfg.Token, cfg.ClientID, cfg.PrivateKey = "", "0oa-app", pkcs8PEM(t, k)
	for _, scope := range []string{ScopeEventHooksManage, ScopeEventHooksRead} {
		a, err := NewHookAdmin(cfg, scope, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.client.GetConfig().Okta.Client.Scopes; !slices.Equal(got, []string{scope}) {
			t.Errorf("scopes %v, want [%s]", got, scope)
		}
	}
	// Teams from groups and a scope do not widen the hook admin's token.
	cfg.Mapping.Team = TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{"^team-"}}}
	cfg.Scope = Scope{App: "0oa1", Groups: []string{"data"}}
	a, err := NewHookAdmin(cfg, ScopeEventHooksManage, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.client.GetConfig().Okta.Client.Scopes; !slices.Equal(got, []string{ScopeEventHooksManage}) {
		t.Errorf("with teams and a scope configured: scopes %v, want [%s]", got, ScopeEventHooksManage)
	}
	if _, err := NewHookAdmin(cfg, "okta.users.manage", nil); err == nil {
		t.Error("NewHookAdmin accepted a scope that is not an Event Hooks API scope")
	}
}

// lossyCreate stands between oktasync and the simulator: it spoils the
// answer to the first event hook create, after passing the create on to
// Okta (commit) or not, by answering 502 or by dropping the connection.
type lossyCreate struct {
	orgURL   string
	commit   bool
	drop     bool
	creates  atomic.Int32
	spoiled  atomic.Bool
	upstream http.Client
}

func (l *lossyCreate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isCreate := r.Method == http.MethodPost && r.URL.Path == "/api/v1/eventHooks"
	if isCreate {
		l.creates.Add(1)
	}
	spoil := isCreate && l.spoiled.CompareAndSwap(false, true)
	if !spoil || l.commit {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, l.orgURL+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := l.upstream.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !spoil {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(body)
			return
		}
	}
	if l.drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
}

// TestRegisterLostCreateAnswer: Register ends with exactly one hook when the
// answer to its create is lost, whether Okta created the hook or not.
func TestRegisterLostCreateAnswer(t *testing.T) {
	for _, tc := range []struct {
		name         string
		commit, drop bool
		wantCreates  int32
	}{
		{"created, answered 502", true, false, 1},
		{"created, connection dropped", true, true, 1},
		{"not created, answered 502", false, false, 2},
		{"not created, connection dropped", false, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, orgURL := oktasimtest.Start(t, oktasim.Config{Users: 1, Seed: 3, Token: testToken})
			t.Cleanup(sim.CloseEventHooks)
			lossy := &lossyCreate{orgURL: orgURL, commit: tc.commit, drop: tc.drop}
			front := httptest.NewServer(lossy)
			t.Cleanup(front.Close)
			const header, secret = "Authorization", "hook-secret-0123456789abcdef"
			recv := startHookReceiver(t, header, secret)
			admin, err := NewHookAdmin(testCfg(front.URL), ScopeEventHooksManage, nil)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := admin.Register(testCtx(t), EventHookSpec{Name: DefaultEventHookName, URL: recv.url, AuthHeader: header, Secret: secret})
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if !lossy.spoiled.Load() {
				t.Fatal("the create's answer was not spoiled: the test tests nothing")
			}
			hooks := sim.EventHooks()
			if len(hooks) != 1 {
				t.Fatalf("Okta holds %d event hooks, want 1: %+v", len(hooks), hooks)
			}
			if !reg.Created || reg.Hook.ID != hooks[0].ID || !reg.Hook.Ready() {
				t.Errorf("registration %+v, want the created hook %s, verified and active", reg, hooks[0].ID)
			}
			if got := lossy.creates.Load(); got != tc.wantCreates {
				t.Errorf("%d creates sent, want %d", got, tc.wantCreates)
			}
		})
	}
}

// TestRegisterThroughOAuthAgainstSimulator (issue 23, item 1): a service
// app granted okta.eventHooks.manage alone registers the hook (the token it
// asks for holds no okta.users.read, which Okta never requires), and the
// sync's app, granted okta.users.read alone, is refused with Okta's 403 and
// told which scope it lacks.
func TestRegisterThroughOAuthAgainstSimulator(t *testing.T) {
	key, _, _ := testKeys(t)
	sim, orgURL := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 3,
		Clients: map[string]*rsa.PublicKey{"0oa-hooks": &key.PublicKey, "0oa-sync": &key.PublicKey, "0oa-reader": &key.PublicKey},
		Grants: map[string][]string{"0oa-hooks": {ScopeEventHooksManage}, "0oa-sync": {"okta.users.read"},
			"0oa-reader": {ScopeEventHooksRead}}})
	t.Cleanup(sim.CloseEventHooks)
	const header, secret = "X-Oktasync-Hook", "hook-secret-0123456789abcdef"
	recv := startHookReceiver(t, header, secret)
	spec := EventHookSpec{Name: DefaultEventHookName, URL: recv.url, AuthHeader: header, Secret: secret}
	admin := func(client, scope string) *HookAdmin {
		cfg := testCfg(orgURL)
		cfg.Token, cfg.ClientID, cfg.PrivateKey = "", client, pkcs8PEM(t, key)
		a, err := NewHookAdmin(cfg, scope, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	res, err := admin("0oa-hooks", ScopeEventHooksManage).Register(testCtx(t), spec)
	if err != nil {
		t.Fatalf("register through OAuth: %v", err)
	}
	if !res.Created || !res.Verified || !res.Hook.Ready() || len(sim.EventHooks()) != 1 {
		t.Errorf("register through OAuth: %+v; Okta holds %d hooks", res, len(sim.EventHooks()))
	}
	// The hooks app is granted okta.eventHooks.manage alone: a token for
	// okta.eventHooks.read is refused it (hooks status asks for that one).
	if hooks, err := admin("0oa-hooks", ScopeEventHooksRead).List(testCtx(t)); err == nil {
		t.Errorf("the hooks app got a token for okta.eventHooks.read, which it is not granted: %d hooks", len(hooks))
	}

	_, err = admin("0oa-sync", ScopeEventHooksManage).Register(testCtx(t), spec)
	if err == nil {
		t.Fatal("the sync's app, without okta.eventHooks.manage, registered a hook")
	}
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Auth() || !strings.Contains(err.Error(), "asked for okta.eventHooks.manage") {
		t.Errorf("the token refusal is not an auth error naming the scope: %v", err)
	}
	// A token that holds okta.eventHooks.read only: Okta's 403, whose
	// WWW-Authenticate names the scope that was needed.
	_, err = admin("0oa-reader", ScopeEventHooksRead).Register(testCtx(t), spec)
	if !errors.As(err, &ae) || !ae.Auth() || ae.Missing != ScopeEventHooksManage || !strings.Contains(err.Error(), "lacks okta.eventHooks.manage") {
		t.Errorf("a read-only token's write: %v, want a 403 naming %s", err, ScopeEventHooksManage)
	}
}

// TestEventHookTypesFollowTheConfig: membership events are subscribed to
// only when they can change what oktasync writes.
func TestEventHookTypesFollowTheConfig(t *testing.T) {
	groups := []string{"group.user_membership.add", "group.user_membership.remove"}
	apps := []string{"application.user_membership.add", "application.user_membership.remove"}
	for _, tc := range []struct {
		name       string
		mutate     func(*Config)
		want, none []string
	}{
		{name: "users only", mutate: func(*Config) {}, none: append(slices.Clone(groups), apps...)},
		{name: "teams from groups", mutate: func(c *Config) {
			c.Mapping.Team = TeamMapping{Source: TeamFromGroups, Groups: TeamGroups{Patterns: []string{"^team-"}}}
		}, want: groups, none: apps},
		{name: "scope by group", mutate: func(c *Config) { c.Scope.Groups = []string{"data"} }, want: groups, none: apps},
		{name: "scope by app", mutate: func(c *Config) { c.Scope.App = "0oa1" }, want: apps, none: groups},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCfg("https://acme.okta.com")
			tc.mutate(&c)
			types := c.EventHookTypes()
			for _, w := range tc.want {
				if !slices.Contains(types, w) {
					t.Errorf("%s not subscribed to", w)
				}
			}
			for _, n := range tc.none {
				if slices.Contains(types, n) {
					t.Errorf("%s subscribed to, for nothing", n)
				}
			}
		})
	}
}
