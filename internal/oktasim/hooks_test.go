package oktasim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// post is one POST seen by a hookReceiver.
type post struct {
	header http.Header
	raw    []byte
	body   oktasim.Delivery
}

// hookReceiver is an httptest event-hook receiver that records requests.
// By default it answers verification correctly and POSTs with 204; respond
// overrides POST answers (n counts POSTs from 1).
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	posts    []post
	gets     []http.Header
	verifyFn func(challenge string) (int, string)
	respond  func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *hookReceiver) url() string { return rc.srv.URL + "/okta/events" }

func (rc *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		challenge := r.Header.Get("X-Okta-Verification-Challenge")
		rc.mu.Lock()
		rc.gets = append(rc.gets, r.Header.Clone())
		fn := rc.verifyFn
		rc.mu.Unlock()
		if fn != nil {
			status, body := fn(challenge)
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"verification": challenge})
	case http.MethodPost:
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var d oktasim.Delivery
		if err := json.Unmarshal(raw, &d); err != nil {
			rc.t.Errorf("undecodable delivery %s: %v", raw, err)
		}
		rc.mu.Lock()
		rc.posts = append(rc.posts, post{r.Header.Clone(), raw, d})
		n, respond := len(rc.posts), rc.respond
		rc.mu.Unlock()
		if respond != nil {
			respond(n, w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (rc *hookReceiver) setRespond(f func(n int, w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

func (rc *hookReceiver) Posts() []post {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.posts)
}

// events returns every delivered event, in arrival order.
func (rc *hookReceiver) events() []oktasim.Event {
	var out []oktasim.Event
	for _, p := range rc.Posts() {
		out = append(out, p.body.Data.Events...)
	}
	return out
}

func startHooks(t *testing.T, sim *oktasim.Server, cfg oktasim.HookConfig) *oktasim.Hooks {
	t.Helper()
	h, err := sim.StartHooks(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func flush(t *testing.T, h *oktasim.Hooks) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func userTarget(t *testing.T, ev oktasim.Event) oktasim.EventTarget {
	t.Helper()
	for _, tg := range ev.Target {
		if tg.Type == "User" {
			return tg
		}
	}
	t.Fatalf("event %s has no User target: %+v", ev.EventType, ev.Target)
	return oktasim.EventTarget{}
}

func newSim(t *testing.T, users int, seed int64) *oktasim.Server {
	t.Helper()
	sim, err := oktasim.New(oktasim.Config{Users: users, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func TestHookVerify(t *testing.T) {
	sim := newSim(t, 1, 1)
	rc := newReceiver(t)
	h := startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), AuthHeader: "X-Hook-Key", AuthValue: "s3cret"})
	ctx := context.Background()

	if err := h.Verify(ctx); err != nil {
		t.Fatalf("correct answer: %v", err)
	}
	if st := h.Stats(); !st.Verified || st.Verifications != 1 || st.VerifyError != "" {
		t.Fatalf("stats after a good verification: %+v", st)
	}
	rc.mu.Lock()
	g := rc.gets[0]
	rc.mu.Unlock()
	if len(g.Get("X-Okta-Verification-Challenge")) < 20 || g.Get("X-Hook-Key") != "s3cret" {
		t.Fatalf("verification headers %v", g)
	}

	for name, fn := range map[string]func(string) (int, string){
		"wrong value":   func(c string) (int, string) { return 200, `{"verification":"nope"}` },
		"no field":      func(c string) (int, string) { return 200, `{"challenge":"` + c + `"}` },
		"not JSON":      func(c string) (int, string) { return 200, c },
		"status 500":    func(c string) (int, string) { return 500, `{"verification":"` + c + `"}` },
		"status 204":    func(c string) (int, string) { return 204, "" },
		"wrong case":    func(c string) (int, string) { return 200, `{"verification":"` + strings.ToUpper(c) + `x"}` },
		"JSON non-echo": func(c string) (int, string) { return 200, `{"verification":""}` },
	} {
		rc.mu.Lock()
		rc.verifyFn = fn
		rc.mu.Unlock()
		if err := h.Verify(ctx); err == nil {
			t.Errorf("%s: verification passed", name)
		}
		if st := h.Stats(); st.Verified || st.VerifyError == "" {
			t.Errorf("%s: stats %+v", name, st)
		}
	}

	// Without auth on the GET.
	h2 := startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), AuthValue: "s3cret", VerifyWithoutAuth: true})
	rc.mu.Lock()
	rc.verifyFn = nil
	rc.mu.Unlock()
	if err := h2.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	last := rc.gets[len(rc.gets)-1]
	rc.mu.Unlock()
	if last.Get("Authorization") != "" {
		t.Fatalf("VerifyWithoutAuth sent Authorization %q", last.Get("Authorization"))
	}
	if len(rc.Posts()) != 0 {
		t.Fatal("verification caused POSTs")
	}
}

var oktaTime = regexp.MustCompile(`"(published|eventTime)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"`)

func TestHookAdminChangesEmitEvents(t *testing.T) {
	sim := newSim(t, 10, 2)
	rc := newReceiver(t)
	h := startHooks(t, sim, oktasim.HookConfig{
		URL: rc.url(), AuthValue: "Basic abc", Extra: map[string]string{"X-Env": "test"},
		Batch: time.Hour, OrgURL: "https://example.okta.com",
	})
	mgr := sim.Users()[0]

	u, err := sim.Create(map[string]any{"login": "neo@example.com", "firstName": "Thomas", "lastName": "Anderson", "displayName": "Neo"}, "")
	if err != nil {
		t.Fatal(err)
	}
	staged, err := sim.Create(map[string]any{"login": "staged@example.com", "firstName": "St", "lastName": "Aged"}, oktasim.StatusStaged)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do   func() error
		want []string
	}{
		{func() error { return sim.UpdateProfile(u.Id, map[string]any{"title": "The One"}) }, []string{"user.account.update_profile"}},
		{func() error { return sim.UpdateProfile(u.Id, map[string]any{"login": "the.one@example.com"}) }, []string{"user.account.update_profile"}},
		{func() error { return sim.SetManager(u.Id, mgr.Id) }, []string{"user.account.update_profile"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusSuspended) }, []string{"user.lifecycle.suspend"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusActive) }, []string{"user.lifecycle.unsuspend"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusLockedOut) }, []string{"user.account.lock"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusActive) }, []string{"user.account.unlock"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusDeprovisioned) }, []string{"user.lifecycle.deactivate"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusActive) }, []string{"user.lifecycle.reactivate"}},
		{func() error { return sim.SetStatus(u.Id, oktasim.StatusActive) }, nil}, // no change
		{func() error { return sim.UpdateProfile(u.Id, map[string]any{}) }, nil}, // no change
		{func() error { return sim.Delete(u.Id) }, []string{"user.lifecycle.deactivate", "user.lifecycle.delete.initiated"}},
		{func() error { return sim.SetStatus(staged.Id, oktasim.StatusDeprovisioned) }, []string{"user.lifecycle.deactivate"}},
		{func() error { return sim.Delete(staged.Id) }, []string{"user.lifecycle.delete.initiated"}},
	}
	want := []string{"user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.create"}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want = append(want, s.want...)
	}
	if got := rc.Posts(); len(got) != 0 {
		t.Fatalf("delivered before the batch window ended: %d posts", len(got))
	}
	if st := h.Stats(); st.Pending != int64(len(want)) {
		t.Fatalf("pending %d, want %d", st.Pending, len(want))
	}
	flush(t, h)

	posts := rc.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d deliveries, want the %d events amalgamated into 1", len(posts), len(want))
	}
	p := posts[0]
	for k, v := range map[string]string{"Accept": "application/json", "Content-Type": "application/json", "Authorization": "Basic abc", "X-Env": "test"} {
		if p.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, p.header.Get(k), v)
		}
	}
	d := p.body
	if d.EventType != "com.okta.event_hook" || d.EventTypeVersion != "1.0" || d.CloudEventsVersion != "0.1" ||
		d.ContentType != "application/json" || !strings.HasPrefix(d.Source, "https://example.okta.com/api/v1/eventHooks/who") ||
		d.Source != "https://example.okta.com/api/v1/eventHooks/"+h.ID() || len(d.EventID) != 36 || d.EventTime.IsZero() {
		t.Fatalf("envelope %+v", d)
	}
	if n := len(oktaTime.FindAll(p.raw, -1)); n != len(want)+1 {
		t.Errorf("%d Okta-formatted timestamps in %s", n, p.raw)
	}
	var types []string
	uuids := map[string]bool{}
	var prev time.Time
	for i, ev := range d.Data.Events {
		types = append(types, ev.EventType)
		if uuids[ev.UUID] || len(ev.UUID) != 36 {
			t.Errorf("event %d: uuid %q repeated or malformed", i, ev.UUID)
		}
		uuids[ev.UUID] = true
		if ev.Published.Before(prev) {
			t.Errorf("event %d published %s before the previous %s", i, ev.Published, prev)
		}
		prev = ev.Published
		if ev.Version != "0" || ev.Outcome.Result != "SUCCESS" || ev.Severity != "INFO" || ev.Actor.Type != "User" ||
			ev.DisplayMessage == "" || ev.Transaction.ID == "" || len(ev.Target) != 1 {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if !slices.Equal(types, want) {
		t.Fatalf("event types\n got %v\nwant %v", types, want)
	}
	evs := d.Data.Events
	// Targets carry the user's state at event time.
	checkTarget := func(i int, id, login, display string) {
		t.Helper()
		tg := userTarget(t, evs[i])
		if tg.ID != id || tg.AlternateID != login || tg.DisplayName != display {
			t.Errorf("event %d (%s) target %+v, want %s %s %s", i, evs[i].EventType, tg, id, login, display)
		}
	}
	checkTarget(0, u.Id, "neo@example.com", "Neo")
	checkTarget(2, staged.Id, "staged@example.com", "St Aged")
	checkTarget(3, u.Id, "neo@example.com", "Neo")
	checkTarget(4, u.Id, "the.one@example.com", "Neo")
	checkTarget(len(evs)-4, u.Id, "the.one@example.com", "Neo") // deactivate before delete
	checkTarget(len(evs)-3, u.Id, "the.one@example.com", "Neo") // delete.initiated
	if st := h.Stats(); st.Deliveries != 1 || st.Events != int64(len(want)) || st.Succeeded != 1 || st.Requests != 1 ||
		st.Failed != 0 || st.Pending != 0 || st.LastStatus != 204 {
		t.Fatalf("stats %+v", st)
	}

	// Each element decodes as the SDK's okta.LogEvent.
	var sdk struct {
		Data struct {
			Events []okta.LogEvent `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(p.raw, &sdk); err != nil {
		t.Fatalf("decoding with okta.LogEvent: %v", err)
	}
	e0 := sdk.Data.Events[0]
	if e0.Uuid != evs[0].UUID || e0.Published == nil || !e0.Published.Equal(evs[0].Published) || e0.Target[0].Type != "User" ||
		e0.Target[0].AlternateId != "neo@example.com" || e0.Actor.AlternateId == "" || e0.Outcome.Result != "SUCCESS" {
		t.Fatalf("SDK view %+v", e0)
	}
}

func TestHookAdminHTTP(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 3})
	rc := newReceiver(t)
	startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), Batch: time.Hour})
	id := sim.Users()[1].Id
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	call("PATCH", "/admin/users/"+id, `{"profile":{"title":"X"}}`)
	call("PUT", "/admin/users/"+id+"/status", `{"status":"SUSPENDED"}`)
	out := call("GET", "/admin/hooks", "")
	if hs := out["hooks"].([]any); len(hs) != 1 || hs[0].(map[string]any)["pending"] != 2.0 {
		t.Fatalf("GET /admin/hooks: %v", out)
	}
	out = call("POST", "/admin/hooks/verify", "")
	if errs := out["errors"].([]any); len(errs) != 0 || out["hooks"].([]any)[0].(map[string]any)["verified"] != true {
		t.Fatalf("verify: %v", out)
	}
	out = call("POST", "/admin/hooks/flush", "")
	if errs := out["errors"].([]any); len(errs) != 0 || out["hooks"].([]any)[0].(map[string]any)["events"] != 2.0 {
		t.Fatalf("flush: %v", out)
	}
	evs := rc.events()
	if len(evs) != 2 || evs[0].EventType != "user.account.update_profile" || evs[1].EventType != "user.lifecycle.suspend" || userTarget(t, evs[1]).ID != id {
		t.Fatalf("events %+v", evs)
	}
}

func TestHookBatching(t *testing.T) {
	sim := newSim(t, 20, 4)
	rc := newReceiver(t)
	h := startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), Batch: 100 * time.Millisecond})
	users := sim.Users()
	for _, u := range users[:5] {
		if err := sim.UpdateProfile(u.Id, map[string]any{"title": "Batched"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rc.events()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if posts := rc.Posts(); len(posts) != 1 || len(posts[0].body.Data.Events) != 5 {
		t.Fatalf("want the 5 events in one delivery by the batch timer, got %d deliveries", len(posts))
	}

	// MaxEvents splits a round into several deliveries.
	rc2 := newReceiver(t)
	h2 := startHooks(t, sim, oktasim.HookConfig{URL: rc2.url(), Batch: time.Hour, MaxEvents: 3})
	for _, u := range users[:7] {
		if err := sim.UpdateProfile(u.Id, map[string]any{"title": "Split"}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, h2)
	var sizes []int
	var ids []string
	for _, p := range rc2.Posts() {
		sizes = append(sizes, len(p.body.Data.Events))
		for _, ev := range p.body.Data.Events {
			ids = append(ids, userTarget(t, ev).ID)
		}
	}
	wantIDs := make([]string, 7)
	for i, u := range users[:7] {
		wantIDs[i] = u.Id
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) || !slices.Equal(ids, wantIDs) {
		t.Fatalf("sizes %v ids %v, want [3 3 1] in order", sizes, ids)
	}
	flush(t, h)
	if st := h.Stats(); st.Events != 12 || st.Deliveries < 2 {
		t.Fatalf("first hook sees the second batch too: %+v", st)
	}
}

func oneEvent(t *testing.T, sim *oktasim.Server) []oktasim.Event {
	return []oktasim.Event{oktasim.NewEvent("user.account.update_profile", sim.Users()[0])}
}

func TestHookRetries(t *testing.T) {
	sim := newSim(t, 3, 5)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		respond   func(n int, w http.ResponseWriter, r *http.Request)
		status    int
		posts     int
		ok        bool
		timeouts  int64
		failureAt int // key of FailuresByStatus when !ok
	}{
		{"500 then 200", func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.WriteHeader(500)
			}
		}, 200, 2, true, 0, 0},
		{"always 503", func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, 503, 2, false, 0, 503},
		{"timeout then 204", func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			w.WriteHeader(204)
		}, 204, 2, true, 1, 0},
		{"always slow", func(n int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 0, 2, false, 2, 0},
		{"401", func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, 401, 1, false, 0, 401},
		{"404", func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, 404, 1, false, 0, 404},
		{"302", func(n int, w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", 302) }, 302, 1, false, 0, 302},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			rc.setRespond(tc.respond)
			h := startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), Timeout: 150 * time.Millisecond, AuthValue: "k"})
			status, err := h.Send(ctx, oneEvent(t, sim))
			if status != tc.status || (err == nil) != tc.ok {
				t.Fatalf("Send = %d, %v; want %d ok=%v", status, err, tc.status, tc.ok)
			}
			posts := rc.Posts()
			if len(posts) != tc.posts {
				t.Fatalf("%d POSTs, want %d", len(posts), tc.posts)
			}
			for _, p := range posts {
				if p.body.EventID != posts[0].body.EventID || string(p.raw) != string(posts[0].raw) || p.header.Get("Authorization") != "k" {
					t.Fatalf("retry differs from the first attempt:\n%s\n%s", posts[0].raw, p.raw)
				}
			}
			st := h.Stats()
			want := oktasim.HookStats{Deliveries: 1, Events: 1, Requests: int64(tc.posts), Retries: int64(tc.posts - 1), Timeouts: tc.timeouts}
			if tc.ok {
				want.Succeeded = 1
			} else {
				want.Failed = 1
			}
			if st.Deliveries != want.Deliveries || st.Events != want.Events || st.Requests != want.Requests || st.Retries != want.Retries ||
				st.Timeouts != want.Timeouts || st.Succeeded != want.Succeeded || st.Failed != want.Failed || st.LastStatus != tc.status {
				t.Fatalf("stats %+v", st)
			}
			if !tc.ok && (st.FailuresByStatus[tc.failureAt] != 1 || len(st.FailuresByStatus) != 1 || st.LastError == "") {
				t.Fatalf("failures %v, last error %q", st.FailuresByStatus, st.LastError)
			}
		})
	}
}

func TestHookRetryOnConnectionError(t *testing.T) {
	sim := newSim(t, 1, 1)
	rc := newReceiver(t)
	url := rc.url()
	rc.srv.Close()
	h := startHooks(t, sim, oktasim.HookConfig{URL: url})
	status, err := h.Send(context.Background(), oneEvent(t, sim))
	if status != 0 || err == nil {
		t.Fatalf("Send to a closed port = %d, %v", status, err)
	}
	if st := h.Stats(); st.Retries != 1 || st.Requests != 2 || st.FailuresByStatus[0] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// runScenario makes one profile change on each of n users, flushes, and
// returns what the receiver got.
func runScenario(t *testing.T, n int, cfg oktasim.HookConfig) ([]post, *oktasim.Hooks) {
	sim := newSim(t, n, 9)
	rc := newReceiver(t)
	cfg.URL = rc.url()
	cfg.Batch = time.Hour
	h := startHooks(t, sim, cfg)
	for _, u := range sim.Users() {
		if err := sim.UpdateProfile(u.Id, map[string]any{"title": "T"}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, h)
	return rc.Posts(), h
}

func arrival(posts []post) []string {
	var out []string
	for _, p := range posts {
		for _, ev := range p.body.Data.Events {
			out = append(out, ev.Target[0].ID)
		}
	}
	return out
}

func TestHookDuplicatesAreDeterministic(t *testing.T) {
	const n = 200
	cfg := oktasim.HookConfig{MaxEvents: 1, DuplicateRate: 0.25, Seed: 42}
	posts, h := runScenario(t, n, cfg)
	st := h.Stats()
	if st.Deliveries != n || int64(len(posts)) != n+st.Duplicates || st.Duplicates < 25 || st.Duplicates > 75 {
		t.Fatalf("%d posts, stats %+v; want about %d duplicates", len(posts), st, n/4)
	}
	var pattern []bool
	for i, p := range posts {
		dup := i > 0 && p.body.EventID == posts[i-1].body.EventID
		if dup && string(p.raw) != string(posts[i-1].raw) {
			t.Fatal("a duplicate differs from its original")
		}
		pattern = append(pattern, dup)
	}
	posts2, _ := runScenario(t, n, cfg)
	var pattern2 []bool
	for i, p := range posts2 {
		pattern2 = append(pattern2, i > 0 && p.body.EventID == posts2[i-1].body.EventID)
	}
	if !slices.Equal(pattern, pattern2) {
		t.Fatal("the same seed gave different duplicates")
	}
	cfg.Seed = 43
	posts3, _ := runScenario(t, n, cfg)
	if slices.Equal(arrival(posts), arrival(posts3)) {
		t.Fatal("another seed gave the same duplicates")
	}
	// Rate 0 and 1.
	cfg.DuplicateRate = 1
	if posts, h := runScenario(t, 10, cfg); len(posts) != 20 || h.Stats().Duplicates != 10 {
		t.Fatalf("rate 1: %d posts", len(posts))
	}
	cfg.DuplicateRate = 0
	if posts, _ := runScenario(t, 10, cfg); len(posts) != 10 {
		t.Fatalf("rate 0: %d posts", len(posts))
	}
}

func TestHookShuffleIsDeterministic(t *testing.T) {
	const n = 40
	cfg := oktasim.HookConfig{MaxEvents: 4, Shuffle: true, Seed: 7}
	posts, h := runScenario(t, n, cfg)
	got := arrival(posts)
	sim := newSim(t, n, 9)
	var emitted []string
	for _, u := range sim.Users() {
		emitted = append(emitted, u.Id)
	}
	if len(got) != n || slices.Equal(got, emitted) {
		t.Fatalf("shuffled arrival %v", got)
	}
	sorted := slices.Sorted(slices.Values(got))
	if !slices.Equal(sorted, emitted) {
		t.Fatal("shuffle lost or duplicated events")
	}
	if st := h.Stats(); st.Deliveries != n/4 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
	posts2, _ := runScenario(t, n, cfg)
	if !slices.Equal(got, arrival(posts2)) {
		t.Fatal("the same seed gave a different order")
	}
	// Shuffle with duplicates: every event arrives, some twice, in order
	// neither of emission nor of first arrival.
	cfg.DuplicateRate = 0.5
	posts3, h3 := runScenario(t, n, cfg)
	seen := map[string]int{}
	for _, id := range arrival(posts3) {
		seen[id]++
	}
	if len(seen) != n || int64(len(posts3)) != int64(n/4)+h3.Stats().Duplicates || h3.Stats().Duplicates == 0 {
		t.Fatalf("%d distinct events in %d posts, stats %+v", len(seen), len(posts3), h3.Stats())
	}
}

func TestHookQueueOverflowDrops(t *testing.T) {
	sim := newSim(t, 10, 1)
	rc := newReceiver(t)
	h := startHooks(t, sim, oktasim.HookConfig{URL: rc.url(), Batch: time.Hour, QueueSize: 3})
	for _, u := range sim.Users()[:5] {
		if err := sim.UpdateProfile(u.Id, map[string]any{"title": "Q"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := h.Stats(); st.Dropped != 2 || st.Pending != 3 {
		t.Fatalf("stats %+v", st)
	}
	flush(t, h)
	if got := len(rc.events()); got != 3 {
		t.Fatalf("%d events delivered, want 3", got)
	}
}

func TestHookCloseStops(t *testing.T) {
	sim := newSim(t, 10, 1)
	rc := newReceiver(t)
	h, err := sim.StartHooks(oktasim.HookConfig{URL: rc.url(), Batch: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	users := sim.Users()
	if err := sim.UpdateProfile(users[0].Id, map[string]any{"title": "A"}); err != nil {
		t.Fatal(err)
	}
	flush(t, h)
	if err := sim.UpdateProfile(users[1].Id, map[string]any{"title": "B"}); err != nil { // pending at Close
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	before := len(rc.Posts())
	if err := sim.UpdateProfile(users[2].Id, map[string]any{"title": "C"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if after := len(rc.Posts()); after != before || before > 2 {
		t.Fatalf("posts: %d before, %d after Close", before, after)
	}
	ctx := context.Background()
	if err := h.Flush(ctx); !errors.Is(err, oktasim.ErrHooksClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	if _, err := h.Send(ctx, oneEvent(t, sim)); !errors.Is(err, oktasim.ErrHooksClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := h.Verify(ctx); !errors.Is(err, oktasim.ErrHooksClosed) {
		t.Fatalf("Verify after Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Events+st.Discarded != 2 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHookCloseAbortsInFlightDelivery(t *testing.T) {
	sim := newSim(t, 3, 1)
	rc := newReceiver(t)
	started := make(chan struct{}, 4)
	rc.setRespond(func(n int, w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done() // never answers
	})
	h, err := sim.StartHooks(oktasim.HookConfig{URL: rc.url(), Batch: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.UpdateProfile(sim.Users()[0].Id, map[string]any{"title": "A"}); err != nil {
		t.Fatal(err)
	}
	sendDone := make(chan error, 1)
	go func() {
		_, err := h.Send(context.Background(), oneEvent(t, sim))
		sendDone <- err
	}()
	<-started
	<-started
	t0 := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("Close took %s with a delivery in flight", d)
	}
	select {
	case err := <-sendDone:
		if err == nil {
			t.Fatal("aborted Send succeeded")
		}
	case <-time.After(time.Second):
		t.Fatal("Send still running after Close returned")
	}
	n := len(rc.Posts())
	time.Sleep(50 * time.Millisecond)
	if len(rc.Posts()) != n || n != 2 {
		t.Fatalf("%d posts, then %d after Close", n, len(rc.Posts()))
	}
}

func TestNewEventTargets(t *testing.T) {
	sim := newSim(t, 3, 1)
	u := sim.Users()[0]
	login := u.Profile["login"].(string)
	types := func(ev oktasim.Event) string {
		var s []string
		for _, tg := range ev.Target {
			s = append(s, tg.Type)
		}
		return strings.Join(s, ",")
	}
	for typ, want := range map[string]string{
		"user.lifecycle.create":              "User",
		"group.user_membership.add":          "User,UserGroup",
		"application.user_membership.remove": "AppUser,AppInstance,User",
	} {
		ev := oktasim.NewEvent(typ, u)
		if types(ev) != want || userTarget(t, ev).ID != u.Id || userTarget(t, ev).AlternateID != login {
			t.Errorf("%s: targets %+v", typ, ev.Target)
		}
		if time.Since(ev.Published) > time.Minute || ev.Actor.ID == u.Id {
			t.Errorf("%s: published %s, actor %+v", typ, ev.Published, ev.Actor)
		}
	}
	if a, b := oktasim.NewEvent("x", u), oktasim.NewEvent("x", u); a.UUID == b.UUID {
		t.Fatal("uuid reused")
	}
	if ev := oktasim.NewEvent("user.account.lock", u); ev.Actor.ID != u.Id {
		t.Fatalf("lock actor %+v", ev.Actor)
	}
}

func TestStartHooksRejectsBadConfig(t *testing.T) {
	sim := newSim(t, 1, 1)
	for i, cfg := range []oktasim.HookConfig{
		{},
		{URL: "ftp://x/y"},
		{URL: "/relative"},
		{URL: "http://x/", DuplicateRate: 1.5},
		{URL: "http://x/", Batch: -1},
		{URL: "http://x/", MaxEvents: -1},
		{URL: "http://x/", Extra: map[string]string{"Bad Name": "v"}},
	} {
		if _, err := sim.StartHooks(cfg); !errors.Is(err, oktasim.ErrInvalid) {
			t.Errorf("config %d: %v", i, err)
		}
	}
}

func Example_hooks() {
	sim, _ := oktasim.New(oktasim.Config{Users: 1, Seed: 1})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d oktasim.Delivery
		json.NewDecoder(r.Body).Decode(&d)
		for _, ev := range d.Data.Events {
			fmt.Println(ev.EventType, ev.Target[0].Type)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	h, _ := sim.StartHooks(oktasim.HookConfig{URL: recv.URL, AuthValue: "secret"})
	defer h.Close()
	u, _ := sim.Create(map[string]any{"login": "ada@example.com"}, "")
	_ = sim.SetStatus(u.Id, oktasim.StatusSuspended)
	_ = h.Flush(context.Background())
	// Output:
	// user.lifecycle.create User
	// user.lifecycle.activate User
	// user.lifecycle.suspend User
}
