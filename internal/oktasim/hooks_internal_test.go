package oktasim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStatusEventTypes(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{StatusActive, StatusActive, ""},
		{StatusActive, StatusSuspended, "user.lifecycle.suspend"},
		{StatusSuspended, StatusActive, "user.lifecycle.unsuspend"},
		{StatusActive, StatusDeprovisioned, "user.lifecycle.deactivate"},
		{StatusSuspended, StatusDeprovisioned, "user.lifecycle.deactivate"},
		{StatusLockedOut, StatusDeprovisioned, "user.lifecycle.deactivate"},
		{StatusStaged, StatusDeprovisioned, "user.lifecycle.deactivate"},
		{StatusDeprovisioned, StatusActive, "user.lifecycle.reactivate"},
		{StatusDeprovisioned, StatusSuspended, "user.lifecycle.reactivate user.lifecycle.suspend"},
		{StatusActive, StatusLockedOut, "user.account.lock"},
		{StatusLockedOut, StatusActive, "user.account.unlock"},
		{StatusLockedOut, StatusSuspended, "user.account.unlock user.lifecycle.suspend"},
		{StatusStaged, StatusActive, "user.lifecycle.activate"},
		{StatusStaged, StatusProvisioned, "user.lifecycle.activate"},
		{StatusProvisioned, StatusActive, "user.account.update_password"},
		{StatusActive, StatusRecovery, "user.account.reset_password"},
		{StatusRecovery, StatusActive, "user.account.update_password"},
		{StatusActive, StatusPasswordExpired, ""},
		{StatusPasswordExpired, StatusActive, "user.account.update_password"},
	} {
		if got := strings.Join(statusEventTypes(tc.from, tc.to), " "); got != tc.want {
			t.Errorf("%s -> %s: %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
	for status, want := range map[string]string{
		StatusActive:          "user.lifecycle.create user.lifecycle.activate",
		StatusProvisioned:     "user.lifecycle.create user.lifecycle.activate",
		StatusStaged:          "user.lifecycle.create",
		StatusSuspended:       "user.lifecycle.create user.lifecycle.activate user.lifecycle.suspend",
		StatusDeprovisioned:   "user.lifecycle.create user.lifecycle.activate user.lifecycle.deactivate",
		StatusLockedOut:       "user.lifecycle.create user.lifecycle.activate user.account.lock",
		StatusPasswordExpired: "user.lifecycle.create user.lifecycle.activate",
	} {
		if got := strings.Join(createEventTypes(status), " "); got != want {
			t.Errorf("create %s: %q, want %q", status, got, want)
		}
	}
	for _, status := range Statuses() {
		for _, typ := range deleteEventTypes(status) {
			if typ == "user.lifecycle.delete.completed" {
				t.Fatal("delete.completed is not hook-eligible")
			}
		}
	}
}

// TestShuffleHoldsDeliveriesAcrossRounds drives rounds directly (the
// delivery goroutine idles: Batch is an hour and nothing is flushed) to
// check that Shuffle delivers some events of an earlier round after events
// of a later one, that held events count as pending, and that Flush
// releases them.
func TestShuffleHoldsDeliveriesAcrossRounds(t *testing.T) {
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var d Delivery
		if err := json.Unmarshal(b, &d); err != nil {
			t.Error(err)
		}
		mu.Lock()
		for _, ev := range d.Data.Events {
			got = append(got, ev.Target[0].ID)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	s := mustNew(t, Config{Users: 20, Seed: 1})
	h, err := s.StartHooks(HookConfig{URL: recv.URL, Batch: time.Hour, MaxEvents: 1, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	users := s.Users()
	emit := func(us []User) {
		for _, u := range us {
			if err := s.UpdateProfile(u.Id, map[string]any{"title": "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	emit(users[:10])
	_ = h.round(ctx, false)
	st := h.Stats()
	if st.Pending == 0 || st.Pending == 10 || st.Events+st.Pending != 10 {
		t.Fatalf("after round 1: %+v", st)
	}
	emit(users[10:])
	_ = h.round(ctx, false)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Pending != 0 || st.Events != 20 {
		t.Fatalf("after Flush: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 20 {
		t.Fatalf("%d events delivered", len(got))
	}
	first := map[string]bool{}
	for _, u := range users[:10] {
		first[u.Id] = true
	}
	firstSecond := slices.IndexFunc(got, func(id string) bool { return !first[id] })
	lastFirst := -1
	for i, id := range got {
		if first[id] {
			lastFirst = i
		}
	}
	if lastFirst < firstSecond {
		t.Fatalf("no event of round 1 arrived after one of round 2: %v", got)
	}
}
