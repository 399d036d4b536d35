package okta

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/extractor"
)

// FuzzHookDelivery feeds arbitrary bodies to the event hook endpoint, as an
// authenticated Okta would send them. Seeds: testdata/fuzz/FuzzHookDelivery.
// The endpoint never panics, answers 204 exactly when the body decodes as a
// delivery (400 otherwise, 413 over the cap), and hands on only distinct,
// non-empty ids of User targets named in the body.
func FuzzHookDelivery(f *testing.F) {
	f.Add([]byte(delivery(event("e1", "user.lifecycle.deactivate", target("00u1", "User")))))
	f.Add([]byte(`{"data":{"events":[{"uuid":"e2","eventType":"user.account.update_profile","target":[{"id":"00u2","type":"User"},{"id":"00u2","type":"User"},{"id":"","type":"User"},{"id":"g1","type":"UserGroup"}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, rec := newHook(t)
		w := post(h, secretA, string(body))
		var d hookDelivery
		decodes := json.Unmarshal(body, &d) == nil
		switch {
		case len(body) > 1<<20:
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d-byte body: %d, want 413", len(body), w.Code)
			}
			return
		case decodes && w.Code != http.StatusNoContent, !decodes && w.Code != http.StatusBadRequest:
			t.Fatalf("decodes=%v but answered %d", decodes, w.Code)
		}
		named := map[string]bool{}
		allUUIDs := true
		for _, ev := range d.Data.Events {
			allUUIDs = allUUIDs && ev.UUID != ""
			for _, tg := range ev.Target {
				if tg.Type == "User" && userEvent(ev.EventType) {
					named[tg.ID] = true
				}
			}
		}
		seen := map[string]bool{}
		for _, id := range rec.ids {
			if id == "" || seen[id] || !named[id] {
				t.Fatalf("enqueued ids %q: empty, repeated, or not a User target of a user event", rec.ids)
			}
			seen[id] = true
		}
		// A redelivery (every event has a uuid, and all fit in the
		// remembered window) enqueues nothing.
		before := len(rec.ids)
		post(h, secretA, string(body))
		if decodes && allUUIDs && len(d.Data.Events) <= 8 && len(rec.ids) != before {
			t.Fatalf("redelivery enqueued %q again", rec.ids[before:])
		}
	})
}

// FuzzTransform maps arbitrary Okta user JSON (what the SDK decodes from a
// page) with the default mapping and with key: login. Seeds:
// testdata/fuzz/FuzzTransform. Transform never panics, is deterministic,
// and a user it keeps has a usable key, a non-empty full name, its Okta id,
// and is active exactly when its status maps to active.
func FuzzTransform(f *testing.F) {
	f.Add([]byte(`{"id":"00u1","status":"ACTIVE","lastUpdated":"2026-01-02T03:04:05.000Z","profile":{"login":"a@x.io","email":"A@X.io ","firstName":"A","lastName":"B","managerId":"00u2"}}`))
	f.Add([]byte(`{"id":"00u4","status":"ACTIVE","profile":{"login":"İNCİ@x.io","email":"ΑΛΕΞΗΣ.Zoe\u0308@x.io","manager":"A\u200b@x.io"}}`))
	f.Add([]byte(`{"id":"00u3","status":"SUSPENDED","profile":{"login":"c@x.io","email":{"x":"c@x.io"},"displayName":null,"title":[1,"b"]}}`))
	byLogin := defaultMapping()
	byLogin.Key = KeyLogin
	byAttr := defaultMapping()
	byAttr.Manager = ManagerMapping{Source: ManagerFromAttribute, Attribute: "manager"}
	byAttr.ExtraAttributes = map[string]string{"cost_center": "costCenter"}
	mappings := map[string]Mapping{"default": defaultMapping(), "login": byLogin, "attribute": byAttr}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var u okta.User
		if err := json.Unmarshal(raw, &u); err != nil {
			return // the page is malformed: fetch retries and fails the run
		}
		for name, m := range mappings {
			got, reason := m.Transform(&u)
			again, reason2 := m.Transform(&u)
			if reason != reason2 || !reflect.DeepEqual(got, again) {
				t.Fatalf("%s: not deterministic", name)
			}
			if reason != "" {
				if !reflect.ValueOf(got).IsZero() {
					t.Fatalf("%s: skipped (%s) but returned %+v", name, reason, got)
				}
				continue
			}
			// Normalize need not be idempotent (it does not renormalise after
			// lowering, as Python does not), but a key is trimmed and lowercase.
			if !usableKey(got.Key) || got.Key != lower(strings.TrimFunc(got.Key, pythonSpace)) ||
				(m.Key == KeyEmail && !UsableEmail(got.Key)) {
				t.Fatalf("%s: kept with key %q", name, got.Key)
			}
			if strings.TrimSpace(got.FullName) == "" {
				t.Fatalf("%s: empty full name for %q", name, got.Key)
			}
			if got.SourceID != u.Id || u.Id == "" {
				t.Fatalf("%s: source id %q for Okta id %q", name, got.SourceID, u.Id)
			}
			if got.IsActive != (m.Status[u.Status] == StatusActive) {
				t.Fatalf("%s: status %q gave is_active %v", name, u.Status, got.IsActive)
			}
			if (got.Manager.Kind == extractor.ManagerByKey && got.Manager.Value == got.Key) ||
				(got.Manager.Kind == extractor.ManagerByOktaID && got.Manager.Value == u.Id) ||
				(got.Manager.Kind != "" && got.Manager.Value == "") {
				t.Fatalf("%s: manager %+v for %q", name, got.Manager, got.Key)
			}
		}
	})
}
