package oktasim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

func TestChangesMoveLastUpdatedForward(t *testing.T) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 123456789, time.UTC)
	clock := newFakeClock(now)
	sim, err := oktasim.New(oktasim.Config{Users: 50, Seed: 1, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	users := sim.Users()
	a, b := users[0].Id, users[1].Id
	base := now.Truncate(time.Millisecond)
	lastUpdated := func(id string) time.Time {
		t.Helper()
		u, err := sim.User(id)
		if err != nil {
			t.Fatal(err)
		}
		return u.LastUpdated
	}

	if err := sim.UpdateProfile(a, map[string]any{"title": "One"}); err != nil {
		t.Fatal(err)
	}
	if got := lastUpdated(a); !got.Equal(base) {
		t.Fatalf("first change: lastUpdated %s, want %s", got, base)
	}
	if err := sim.UpdateProfile(b, map[string]any{"title": "Two"}); err != nil {
		t.Fatal(err)
	}
	// Two users changed in the same millisecond share a lastUpdated.
	if got := lastUpdated(b); !got.Equal(base) {
		t.Fatalf("another user's change at the same instant: %s, want %s", got, base)
	}
	if err := sim.UpdateProfile(a, map[string]any{"title": "One and a half"}); err != nil {
		t.Fatal(err)
	}
	if got := lastUpdated(a); !got.Equal(base.Add(time.Millisecond)) {
		t.Fatalf("the same user's second change at the same instant: %s, want +1ms", got)
	}
	target := oktasim.StatusSuspended
	if users[0].Status == target {
		target = oktasim.StatusLockedOut
	}
	if err := sim.SetStatus(a, target); err != nil {
		t.Fatal(err)
	}
	u, _ := sim.User(a)
	if want := base.Add(2 * time.Millisecond); !u.LastUpdated.Equal(want) || u.StatusChanged == nil || !u.StatusChanged.Equal(want) {
		t.Fatalf("status change: lastUpdated %s statusChanged %v, want both %s", u.LastUpdated, u.StatusChanged, want)
	}
	if err := sim.SetStatus(a, target); err != nil || !lastUpdated(a).Equal(base.Add(2*time.Millisecond)) {
		t.Fatalf("setting the same status again changed lastUpdated (err %v)", err)
	}
	// A clock behind the user's last change still moves it forward.
	clock.set(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := sim.SetManager(b, a); err != nil {
		t.Fatal(err)
	}
	if got := lastUpdated(b); !got.Equal(base.Add(time.Millisecond)) {
		t.Fatalf("change with a clock in the past: %s, want %s", got, base.Add(time.Millisecond))
	}
	clock.set(now.Add(time.Second))
	created, err := sim.Create(map[string]any{"login": "fresh@example.com", "email": "fresh@example.com", "firstName": "F", "lastName": "R"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(time.Second); !created.Created.Equal(want) || !created.LastUpdated.Equal(want) || created.Status != oktasim.StatusActive {
		t.Fatalf("created %+v, want ACTIVE at %s", created, want)
	}
}

func TestMutationMethods(t *testing.T) {
	sim, err := oktasim.New(oktasim.Config{Users: 30, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	users := sim.Users()
	a, b := users[3], users[4]

	// Merge: other attributes stay, nil becomes null, numbers are JSON numbers.
	if err := sim.UpdateProfile(a.Id, map[string]any{"title": "Boss", "mobilePhone": nil, "level": 3}); err != nil {
		t.Fatal(err)
	}
	got, _ := sim.User(a.Id)
	if got.Profile["title"] != "Boss" || got.Profile["level"] != float64(3) || got.Profile["login"] != a.Profile["login"] {
		t.Fatalf("merged profile %v", got.Profile)
	}
	if v, ok := got.Profile["mobilePhone"]; !ok || v != nil {
		t.Fatalf("mobilePhone = %v (present %v), want null", v, ok)
	}
	// Snapshots are deep copies.
	got.Profile["title"] = "mutated"
	if again, _ := sim.User(a.Id); again.Profile["title"] != "Boss" {
		t.Fatal("mutating a snapshot changed the server")
	}

	// Login changes keep the login index right; duplicates are refused.
	if err := sim.UpdateProfile(a.Id, map[string]any{"login": "Renamed@Example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.UpdateProfile("renamed@example.com", map[string]any{"title": "By login"}); err != nil {
		t.Fatalf("lookup by the new login: %v", err)
	}
	if err := sim.UpdateProfile(b.Id, map[string]any{"login": "RENAMED@example.com"}); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("duplicate login: %v, want ErrInvalid", err)
	}
	if err := sim.UpdateProfile(b.Id, map[string]any{"login": ""}); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("empty login: %v, want ErrInvalid", err)
	}
	if err := sim.UpdateProfile(b.Id, map[string]any{"f": func() {}}); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("non-JSON value: %v, want ErrInvalid", err)
	}
	if _, err := sim.Create(map[string]any{"login": a.Profile["login"]}, ""); err != nil {
		t.Fatalf("the old login should be free again: %v", err)
	}

	if err := sim.SetManager(b.Id, a.Id); err != nil {
		t.Fatal(err)
	}
	got, _ = sim.User(b.Id)
	if got.Profile["managerId"] != a.Id || got.Profile["manager"] == nil {
		t.Fatalf("after SetManager: %v", got.Profile)
	}
	if err := sim.SetManager(b.Id, ""); err != nil {
		t.Fatal(err)
	}
	got, _ = sim.User(b.Id)
	if got.Profile["managerId"] != nil || got.Profile["manager"] != nil {
		t.Fatalf("after removing the manager: %v", got.Profile)
	}
	if err := sim.SetManager(b.Id, "00unknown"); !errors.Is(err, oktasim.ErrNotFound) {
		t.Fatalf("unknown manager: %v", err)
	}

	if err := sim.SetStatus(b.Id, "ASLEEP"); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("bad status: %v", err)
	}
	for _, err := range []error{
		sim.UpdateProfile("00unknown", map[string]any{"x": 1}),
		sim.SetStatus("00unknown", oktasim.StatusActive),
		sim.Delete("00unknown"),
	} {
		if !errors.Is(err, oktasim.ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
	}
	if _, err := sim.Create(map[string]any{"firstName": "No login"}, ""); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("create without login: %v", err)
	}
	if _, err := sim.Create(map[string]any{"login": "x@example.com"}, "BOGUS"); !errors.Is(err, oktasim.ErrInvalid) {
		t.Fatalf("create with a bad status: %v", err)
	}

	if err := sim.Delete(b.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.User(b.Id); !errors.Is(err, oktasim.ErrNotFound) {
		t.Fatalf("deleted user still there: %v", err)
	}
	if n := len(sim.Users()); n != 30 { // 30 - 1 deleted + 1 created
		t.Fatalf("%d users, want 30", n)
	}
}

func TestAdminHTTP(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 40, Seed: 3})
	admin := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		resp, raw := do(t, method, base+path, "", rd)
		var m map[string]any
		if len(raw) > 0 && raw[0] == '{' {
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s %s: %s: %v", method, path, raw, err)
			}
		}
		return resp, m
	}
	wantStatus := func(resp *http.Response, m map[string]any, status int) {
		t.Helper()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d %v, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, m, status)
		}
		if status >= 400 {
			if s, _ := m["error"].(string); s == "" {
				t.Fatalf("error response without an error message: %v", m)
			}
		}
	}

	resp, raw := do(t, http.MethodGet, base+"/admin/users", "", nil)
	var all []map[string]any
	if err := json.Unmarshal(raw, &all); err != nil || resp.StatusCode != 200 || len(all) != 40 {
		t.Fatalf("GET /admin/users: %d, %d users, %v", resp.StatusCode, len(all), err)
	}

	resp, m := admin(http.MethodPost, "/admin/users", `{"profile":{"login":"new.person@example.com","email":"new.person@example.com","firstName":"Néw","lastName":"Person"},"status":"STAGED"}`)
	wantStatus(resp, m, http.StatusCreated)
	id, _ := m["id"].(string)
	if m["status"] != "STAGED" || m["activated"] != nil || !strings.HasPrefix(id, "00u") {
		t.Fatalf("created %v", m)
	}
	resp, m = admin(http.MethodPost, "/admin/users", `{"profile":{"login":"NEW.person@example.com"}}`)
	wantStatus(resp, m, http.StatusBadRequest)
	resp, m = admin(http.MethodPost, "/admin/users", `{"profile":{"login":"z@example.com"},"colour":"red"}`)
	wantStatus(resp, m, http.StatusBadRequest)
	resp, m = admin(http.MethodPost, "/admin/users", `{not json`)
	wantStatus(resp, m, http.StatusBadRequest)

	resp, m = admin(http.MethodPatch, "/admin/users/"+id, `{"profile":{"title":"Tester","mobilePhone":null}}`)
	wantStatus(resp, m, http.StatusOK)
	if p := m["profile"].(map[string]any); p["title"] != "Tester" || p["firstName"] != "Néw" {
		t.Fatalf("patched profile %v", p)
	}
	resp, m = admin(http.MethodPatch, "/admin/users/new.person@example.com", `{"profile":{"login":"renamed@example.com"}}`)
	wantStatus(resp, m, http.StatusOK)
	if m["id"] != id {
		t.Fatalf("rename by login answered with %v", m["id"])
	}
	resp, m = admin(http.MethodPatch, "/admin/users/00unknown", `{"profile":{"title":"x"}}`)
	wantStatus(resp, m, http.StatusNotFound)

	mgr := sim.Users()[0].Id
	resp, m = admin(http.MethodPut, "/admin/users/"+id+"/manager", `{"managerId":"`+mgr+`"}`)
	wantStatus(resp, m, http.StatusOK)
	if p := m["profile"].(map[string]any); p["managerId"] != mgr || p["manager"] == nil {
		t.Fatalf("manager not set: %v", p)
	}
	resp, m = admin(http.MethodPut, "/admin/users/"+id+"/manager", `{"managerId":""}`)
	wantStatus(resp, m, http.StatusOK)
	if p := m["profile"].(map[string]any); p["managerId"] != nil {
		t.Fatalf("manager not removed: %v", p)
	}
	resp, m = admin(http.MethodPut, "/admin/users/"+id+"/manager", `{"managerId":"00unknown"}`)
	wantStatus(resp, m, http.StatusNotFound)

	resp, m = admin(http.MethodPut, "/admin/users/"+id+"/status", `{"status":"SUSPENDED"}`)
	wantStatus(resp, m, http.StatusOK)
	if m["status"] != "SUSPENDED" || m["activated"] == nil || m["statusChanged"] == nil {
		t.Fatalf("after suspend: %v", m)
	}
	resp, m = admin(http.MethodPut, "/admin/users/"+id+"/status", `{"status":"NAPPING"}`)
	wantStatus(resp, m, http.StatusBadRequest)

	resp, m = admin(http.MethodPost, "/admin/users/"+id+"/deactivate", "")
	wantStatus(resp, m, http.StatusOK)
	if m["status"] != "DEPROVISIONED" {
		t.Fatalf("after deactivate: %v", m["status"])
	}
	_, raw = do(t, http.MethodGet, base+"/api/v1/users?q=N", ssws, nil)
	if strings.Contains(string(raw), id) {
		t.Fatal("q returned a DEPROVISIONED user")
	}
	if resp, _ := do(t, http.MethodGet, base+"/api/v1/users/"+id, ssws, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("DEPROVISIONED user by id: %d", resp.StatusCode)
	}

	resp, m = admin(http.MethodDelete, "/admin/users/"+id, "")
	wantStatus(resp, m, http.StatusNoContent)
	resp, m = admin(http.MethodGet, "/admin/users/"+id, "")
	wantStatus(resp, m, http.StatusNotFound)
	resp, raw = do(t, http.MethodGet, base+"/api/v1/users/"+id, ssws, nil)
	wantOktaError(t, resp, raw, http.StatusNotFound, "E0000007")

	resp, m = admin(http.MethodPut, "/admin/faults", `{"error_rate":1,"latency_ms":1}`)
	wantStatus(resp, m, http.StatusOK)
	if f := sim.Faults(); f.ErrorRate != 1 || f.Latency != time.Millisecond {
		t.Fatalf("faults %+v", f)
	}
	resp, raw = do(t, http.MethodGet, base+"/api/v1/users", ssws, nil)
	wantOktaError(t, resp, raw, http.StatusInternalServerError, "E0000009")
	for _, bad := range []string{`{"error_rate":2}`, `{"reset_rate":-1}`, `{"latency_ms":-5}`, `{"fail_after":-1}`, `{"error_rate":0.7,"reset_rate":0.7}`, `{"latency":"1s"}`} {
		resp, m = admin(http.MethodPut, "/admin/faults", bad)
		wantStatus(resp, m, http.StatusBadRequest)
	}
	resp, m = admin(http.MethodGet, "/admin/faults", "")
	wantStatus(resp, m, http.StatusOK)
	if m["error_rate"] != float64(1) || m["latency_ms"] != float64(1) {
		t.Fatalf("GET /admin/faults: %v", m)
	}
	// The faults added for the fault matrix round-trip, and bad values are refused.
	resp, m = admin(http.MethodPut, "/admin/faults", `{"rate_limit_rate":0.1,"hang_rate":0.2,"body_reset_rate":0.3,"stall_rate":0.1,"garbage_rate":0.2,"next_link":"cycle","next_host":"http://127.0.0.1:9"}`)
	wantStatus(resp, m, http.StatusOK)
	if f := sim.Faults(); f.RateLimitRate != 0.1 || f.HangRate != 0.2 || f.BodyResetRate != 0.3 || f.StallRate != 0.1 ||
		f.GarbageRate != 0.2 || f.NextLink != oktasim.NextCycle || f.NextHost != "http://127.0.0.1:9" {
		t.Fatalf("faults %+v", f)
	}
	resp, m = admin(http.MethodGet, "/admin/faults", "")
	if m["next_link"] != "cycle" || m["body_reset_rate"] != 0.3 {
		t.Fatalf("GET /admin/faults: %v", m)
	}
	for _, bad := range []string{`{"hang_rate":1.5}`, `{"rate_limit_rate":0.6,"error_rate":0.6}`, `{"stall_rate":0.6,"malformed_rate":0.6}`,
		`{"next_link":"sideways"}`, `{"next_host":"ftp://x"}`, `{"next_host":"http://x/path"}`} {
		resp, m = admin(http.MethodPut, "/admin/faults", bad)
		wantStatus(resp, m, http.StatusBadRequest)
	}
	resp, m = admin(http.MethodPut, "/admin/faults", `{}`)
	wantStatus(resp, m, http.StatusOK)

	resp, m = admin(http.MethodPost, "/admin/ratelimits/reset", "")
	wantStatus(resp, m, http.StatusNoContent)
	resp, m = admin(http.MethodGet, "/admin/stats", "")
	wantStatus(resp, m, http.StatusOK)
	if m["admin_requests"].(float64) < 10 || m["server_errors"].(float64) < 1 || m["list_users_requests"].(float64) < 2 {
		t.Fatalf("stats %v", m)
	}
}

// TestConcurrentUse runs readers and writers together; run with -race.
func TestConcurrentUse(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 4})
	ids := make([]string, 0, 300)
	for _, u := range sim.Users() {
		ids = append(ids, u.Id)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				id := ids[(w*25+i)%len(ids)]
				if err := sim.UpdateProfile(id, map[string]any{"title": "T"}); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if _, err := sim.Create(map[string]any{"login": "c" + string(rune('a'+w)) + strings.Repeat("x", i+1) + "@example.com"}, ""); err != nil {
						errs <- err
					}
				}
				_ = sim.Users()
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for i := 0; i < 10; i++ {
				req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/users?limit=100", nil)
				req.Header.Set("Authorization", ssws)
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAdminGroups: GET /admin/groups lists every group with its members,
// as Server.Groups has them; an org without groups answers an empty list.
func TestAdminGroups(t *testing.T) {
	type adminGroup struct {
		ID, Type, Name, Description string
		Members                     []string
	}
	list := func(base string) []adminGroup {
		t.Helper()
		resp, raw := do(t, http.MethodGet, base+"/admin/groups", "", nil)
		var body struct {
			Groups []adminGroup `json:"groups"`
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Groups == nil {
			t.Fatalf("GET /admin/groups: %d %.300s: %v", resp.StatusCode, raw, err)
		}
		return body.Groups
	}

	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 80, Seed: 2, Groups: 30})
	got := list(base)
	want := sim.Groups()
	if len(got) != len(want) || len(got) != 30 {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	emptyTeam := false
	for i, g := range got {
		w := want[i]
		if g.ID != w.ID || g.Type != w.Type || g.Name != w.Name || g.Description != w.Description ||
			g.Members == nil || !slices.Equal(g.Members, w.Members) {
			t.Errorf("group %d: %+v, want %+v", i, g, w)
		}
		if g.Type == oktasim.GroupBuiltIn && len(g.Members) != 80 {
			t.Errorf("%s has %d members, want every user", g.Name, len(g.Members))
		}
		emptyTeam = emptyTeam || strings.HasPrefix(g.Name, "team-") && len(g.Members) == 0
	}
	if !emptyTeam {
		t.Error("no empty team group listed (members [] rather than null)")
	}

	_, base = oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 2})
	if got := list(base); len(got) != 0 {
		t.Fatalf("an org without groups lists %d", len(got))
	}
}
