package okta

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

type recorder struct {
	mu         sync.Mutex
	ids        []string
	full       bool
	deliveries map[string]int
	events     map[string]int
}

func (r *recorder) enqueue(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.full {
		return false
	}
	r.ids = append(r.ids, ids...)
	return true
}
func (r *recorder) HookDelivery(result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliveries[result]++
}
func (r *recorder) HookEvents(result string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events[result] += n
}

const secretA, secretB = "first-secret-0123456789", "second-secret-0123456789"

func newHook(t *testing.T) (*HookHandler, *recorder) {
	t.Helper()
	rec := &recorder{deliveries: map[string]int{}, events: map[string]int{}}
	cfg := DefaultHookConfig()
	cfg.Secrets, cfg.AuthHeader, cfg.DedupSize = []string{secretA, secretB}, "X-Hook-Auth", 8
	h, err := NewHookHandler(cfg, rec.enqueue, rec)
	if err != nil {
		t.Fatal(err)
	}
	return h, rec
}

func delivery(events ...string) string {
	return fmt.Sprintf(`{"eventType":"com.okta.event_hook","eventId":"d1","data":{"events":[%s]}}`, strings.Join(events, ","))
}

func event(uuid, typ string, targets ...string) string {
	return fmt.Sprintf(`{"uuid":%q,"eventType":%q,"published":"2026-01-01T00:00:00.000Z","target":[%s]}`, uuid, typ, strings.Join(targets, ","))
}

func target(id, typ string) string {
	return fmt.Sprintf(`{"id":%q,"type":%q,"alternateId":"x@y.z","displayName":"X"}`, id, typ)
}

func post(h http.Handler, secret, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/okta/events", strings.NewReader(body))
	if secret != "" {
		req.Header.Set("X-Hook-Auth", secret)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHookVerification(t *testing.T) {
	h, _ := newHook(t)
	req := httptest.NewRequest(http.MethodGet, "/okta/events", nil)
	req.Header.Set("x-okta-verification-challenge", "abc-123")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var got map[string]string
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &got) != nil || got["verification"] != "abc-123" {
		t.Fatalf("verification: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/okta/events", nil))
	if w.Code != 400 {
		t.Errorf("GET without a challenge: %d", w.Code)
	}
}

func TestHookRejects(t *testing.T) {
	h, rec := newHook(t)
	ok := delivery(event("u1", "user.lifecycle.create", target("00u1", "User")))
	tests := []struct {
		name, secret, body string
		method             string
		want               int
	}{
		{"no secret", "", ok, http.MethodPost, 401},
		{"wrong secret", "wrong-secret-0123456789", ok, http.MethodPost, 401},
		{"prefix of a secret", secretA[:10], ok, http.MethodPost, 401},
		{"5 MiB body", secretA, `{"data":{"events":[` + strings.Repeat(" ", 5<<20) + `]}}`, http.MethodPost, 413},
		{"garbage", secretA, `{"data": nope`, http.MethodPost, 400},
		{"PUT", secretA, ok, http.MethodPut, 405},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "/okta/events", strings.NewReader(tt.body))
		if tt.secret != "" {
			req.Header.Set("X-Hook-Auth", tt.secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	if len(rec.ids) != 0 {
		t.Errorf("rejected requests enqueued %v", rec.ids)
	}
	if rec.deliveries["unauthorized"] != 3 || rec.deliveries["too_large"] != 1 || rec.deliveries["malformed"] != 1 {
		t.Errorf("counters: %v", rec.deliveries)
	}
	// Both secrets work (rotation).
	for _, s := range []string{secretA, secretB} {
		if w := post(h, s, ok); w.Code != 204 {
			t.Errorf("secret %q…: %d", s[:5], w.Code)
		}
	}
}

func TestHookPicksUserTargetsAndDeduplicates(t *testing.T) {
	h, rec := newHook(t)
	body := delivery(
		event("e1", "user.account.update_profile", target("00uA", "User")),
		event("e2", "application.user_membership.add", target("0oaApp", "AppInstance"), target("00uB", "User")),
		event("e3", "group.user_membership.add", target("00gG", "UserGroup"), target("00uC", "User")),
		event("e4", "user.lifecycle.deactivate", target("0ua1", "AppUser"), target("00uD", "User")),
		event("e5", "user.session.start", target("00uE", "User")),
		event("e6", "user.lifecycle.suspend", target("00uA", "User")),
	)
	if w := post(h, secretA, body); w.Code != 204 {
		t.Fatalf("status %d", w.Code)
	}
	// Group and app membership events re-read the user: teams and the
	// scope may come from them.
	if got := strings.Join(rec.ids, ","); got != "00uA,00uB,00uC,00uD" {
		t.Errorf("queued %s, want 00uA,00uB,00uC,00uD (user lifecycle, profile and membership events, User targets wherever they sit)", got)
	}
	if rec.events["ignored"] != 1 {
		t.Errorf("ignored %d, want 1", rec.events["ignored"])
	}
	// A redelivery (at-least-once) is dropped.
	post(h, secretA, delivery(event("e1", "user.account.update_profile", target("00uA", "User"))))
	if len(rec.ids) != 4 || rec.events["duplicate"] != 1 {
		t.Errorf("redelivery: ids %v, duplicates %d", rec.ids, rec.events["duplicate"])
	}
	// Memory is bounded: old uuids are forgotten.
	for i := 0; i < 20; i++ {
		post(h, secretA, delivery(event(fmt.Sprintf("n%d", i), "user.lifecycle.create", target("00uN", "User"))))
	}
	if len(h.seen) > 8 {
		t.Errorf("remembers %d uuids, bound is 8", len(h.seen))
	}
	// A full queue still acknowledges (the worker falls back to a sync).
	rec.full = true
	if w := post(h, secretA, delivery(event("z", "user.lifecycle.create", target("00uZ", "User")))); w.Code != 204 || rec.events["overflow"] != 1 {
		t.Errorf("overflow: %d %v", w.Code, rec.events)
	}
}

func TestNewHookHandlerValidates(t *testing.T) {
	if _, err := NewHookHandler(HookConfig{}, func([]string) bool { return true }, nil); err == nil {
		t.Error("no secrets accepted")
	}
	cfg := DefaultHookConfig()
	cfg.Secrets = []string{"short"}
	_, err := NewHookHandler(cfg, func([]string) bool { return true }, nil)
	if err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("short secret: %v", err)
	}
}
