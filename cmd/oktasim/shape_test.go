package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// --shape reaches the generator: the admin export of each shape has the
// manager links that shape makes; an unknown shape is a usage error.
func TestRunShape(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--shape", "wide"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "shape") {
		t.Errorf("--shape wide: code %d, stderr %q; want %d mentioning the shape", code, stderr.String(), exitUsage)
	}
	for _, tc := range []struct {
		shape   string
		managed int // users with a managerId among 60
		exactly bool
	}{
		{"flat", 0, true},
		{"deep", 58, true},     // chains of 50: users 0 and 50 are roots
		{"default", 57, false}, // 1-3 roots: at least 57 managed
	} {
		t.Run(tc.shape, func(t *testing.T) {
			base, stop, stderr := startRun(t, "--users", "60", "--seed", "4", "--shape", tc.shape)
			defer func() {
				if code := stop(); code != exitOK {
					t.Errorf("exit code %d; stderr: %s", code, stderr)
				}
			}()
			resp, err := http.Get(base + "/admin/users")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var users []struct {
				Profile map[string]any `json:"profile"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&users); err != nil {
				t.Fatal(err)
			}
			managed := 0
			for _, u := range users {
				if m, _ := u.Profile["managerId"].(string); m != "" {
					managed++
				}
			}
			if len(users) != 60 || (tc.exactly && managed != tc.managed) || (!tc.exactly && managed < tc.managed) {
				t.Errorf("%d users, %d with a manager; want 60 and %d (exactly: %v)", len(users), managed, tc.managed, tc.exactly)
			}
		})
	}
}
