package oktasim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

const eventHooksToken = "event-hooks-token"

// hooksAPI calls the simulator's Event Hooks API with an SSWS token.
type hooksAPI struct {
	t    *testing.T
	base string
}

func (a hooksAPI) call(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+eventHooksToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, m
}

func hookBody(uri, header, secret string, types ...string) map[string]any {
	if len(types) == 0 {
		types = []string{oktasim.EventUserUpdateProfile, oktasim.EventUserDeactivate}
	}
	return map[string]any{
		"name":   "oktasync",
		"events": map[string]any{"type": "EVENT_TYPE", "items": types},
		"channel": map[string]any{"type": "HTTP", "version": "1.0.0", "config": map[string]any{
			"uri": uri, "authScheme": map[string]any{"type": "HEADER", "key": header, "value": secret},
		}},
	}
}

func TestEventHooksAPI(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 5, Seed: 7, Token: eventHooksToken})
	t.Cleanup(sim.CloseEventHooks)
	api := hooksAPI{t: t, base: base}
	rc := newReceiver(t)

	// Validation, with Okta's E0000001 and a cause naming the field.
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"plain http to a public host", hookBody("http://hooks.example.com/okta/events", "Authorization", "s"), "must begin with https://"},
		{"ineligible event type", hookBody(rc.url(), "Authorization", "s", "user.account.update_primary_email"), "not eligible"},
		{"no events", hookBody(rc.url(), "Authorization", "s", []string{}...), "events"},
		{"auth scheme without value", hookBody(rc.url(), "Authorization", ""), "authScheme"},
	} {
		if tc.name == "no events" {
			tc.body["events"] = map[string]any{"type": "EVENT_TYPE", "items": []string{}}
		}
		status, body := api.call("POST", "/api/v1/eventHooks", tc.body)
		causes, _ := json.Marshal(body["errorCauses"])
		if status != http.StatusBadRequest || body["errorCode"] != "E0000001" || !strings.Contains(string(causes), tc.want) {
			t.Errorf("%s: %d %v, want 400 E0000001 with a cause naming %q", tc.name, status, body, tc.want)
		}
	}
	if len(sim.EventHooks()) != 0 {
		t.Fatal("a refused hook was stored")
	}

	// Without credentials: 403, Invalid session.
	resp, err := http.Get(base + "/api/v1/eventHooks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unauthenticated list: %d, want 403", resp.StatusCode)
	}

	// Create: ACTIVE, UNVERIFIED, the secret never returned.
	status, created := api.call("POST", "/api/v1/eventHooks", hookBody(rc.url(), "X-Secret", "the-secret-value-0123"))
	if status != http.StatusOK || created["status"] != "ACTIVE" || created["verificationStatus"] != "UNVERIFIED" {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	raw, _ := json.Marshal(created)
	if strings.Contains(string(raw), "the-secret-value-0123") {
		t.Error("the secret came back")
	}
	// Not verified: no delivery yet.
	if err := sim.SetStatus(sim.Users()[0].Id, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}

	// Verify: the receiver gets the challenge with the auth header.
	status, verified := api.call("POST", "/api/v1/eventHooks/"+id+"/lifecycle/verify", nil)
	if status != http.StatusOK || verified["verificationStatus"] != "VERIFIED" {
		t.Fatalf("verify: %d %v", status, verified)
	}
	rc.mu.Lock()
	gets := rc.gets
	rc.mu.Unlock()
	if len(gets) != 1 || gets[0].Get("X-Secret") != "the-secret-value-0123" {
		t.Errorf("verification GETs %v, want one carrying the auth header", gets)
	}
	if n := len(rc.Posts()); n != 0 {
		t.Errorf("%d deliveries for a change made before verification", n)
	}
	// Verified and active: the admin changes of the types it subscribed to
	// are delivered with the secret, and no others (a suspension is not one).
	if err := sim.SetStatus(sim.Users()[1].Id, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	if err := sim.UpdateProfile(sim.Users()[2].Id, map[string]any{"title": "Subscribed"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(rc.Posts()) > 0 })
	if p := rc.Posts()[0]; p.header.Get("X-Secret") != "the-secret-value-0123" {
		t.Errorf("delivery without the registered secret: %v", p.header)
	}
	if resp, err := http.Post(api.base+"/admin/hooks/flush", "application/json", nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("flush: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, p := range rc.Posts() {
		for _, ev := range p.body.Data.Events {
			if ev.EventType != oktasim.EventUserUpdateProfile {
				t.Errorf("a %s event was delivered to a hook that did not subscribe to it", ev.EventType)
			}
		}
	}

	// An update with the same channel keeps the verification; any change
	// to the channel loses it: the secret, the header, the URI.
	if status, upd := api.call("PUT", "/api/v1/eventHooks/"+id, hookBody(rc.url(), "X-Secret", "the-secret-value-0123")); status != http.StatusOK || upd["verificationStatus"] != "VERIFIED" || upd["id"] != id {
		t.Errorf("update, same channel: %d %v", status, upd)
	}
	if status, upd := api.call("PUT", "/api/v1/eventHooks/"+id, hookBody(rc.url(), "X-Secret", "rotated-secret-0123456")); status != http.StatusOK || upd["verificationStatus"] != "UNVERIFIED" {
		t.Errorf("update, rotated secret: %d %v", status, upd)
	}
	if status, _ := api.call("POST", "/api/v1/eventHooks/"+id+"/lifecycle/verify", nil); status != http.StatusOK {
		t.Fatalf("verify again: %d", status)
	}
	if status, upd := api.call("PUT", "/api/v1/eventHooks/"+id, hookBody(rc.url(), "X-Other", "rotated-secret-0123456")); status != http.StatusOK || upd["verificationStatus"] != "UNVERIFIED" {
		t.Errorf("update, new header: %d %v", status, upd)
	}
	other := newReceiver(t)
	if status, upd := api.call("PUT", "/api/v1/eventHooks/"+id, hookBody(other.url(), "X-Secret", "rotated-secret-0123456")); status != http.StatusOK || upd["verificationStatus"] != "UNVERIFIED" {
		t.Errorf("update, new URI: %d %v", status, upd)
	}
	// A receiver that answers wrongly fails verification (Okta's 400).
	other.mu.Lock()
	other.verifyFn = func(string) (int, string) { return http.StatusOK, `{"verification":"nope"}` }
	other.mu.Unlock()
	if status, body := api.call("POST", "/api/v1/eventHooks/"+id+"/lifecycle/verify", nil); status != http.StatusBadRequest || !strings.Contains(body["errorSummary"].(string), "Verification failed") {
		t.Errorf("failed verification: %d %v", status, body)
	}
	if h := sim.EventHooks(); len(h) != 1 || h[0].VerificationStatus != oktasim.EventHookUnverified {
		t.Errorf("after a failed verification: %+v", h)
	}
	other.mu.Lock()
	tries := len(other.gets)
	other.mu.Unlock()
	if tries != 2 {
		t.Errorf("%d verification GETs for a failing endpoint, want 2 (Okta retries once)", tries)
	}

	// Delete needs INACTIVE.
	if status, _ := api.call("DELETE", "/api/v1/eventHooks/"+id, nil); status != http.StatusBadRequest {
		t.Errorf("delete an active hook: %d, want 400", status)
	}
	if status, body := api.call("POST", "/api/v1/eventHooks/"+id+"/lifecycle/deactivate", nil); status != http.StatusOK || body["status"] != "INACTIVE" {
		t.Errorf("deactivate: %d %v", status, body)
	}
	if status, _ := api.call("DELETE", "/api/v1/eventHooks/"+id, nil); status != http.StatusNoContent {
		t.Errorf("delete: %d, want 204", status)
	}
	if status, _ := api.call("GET", "/api/v1/eventHooks/"+id, nil); status != http.StatusNotFound {
		t.Errorf("get a deleted hook: %d, want 404", status)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
	}
}
