package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun runs the command in the background and returns its base URL
// and a function that stops it and returns the exit code.
func startRun(t *testing.T, args ...string) (string, func() int, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, args, pw, stderr)
		pw.Close()
		done <- code
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("no ready line; stderr: %s", stderr)
	}
	base, ok := strings.CutPrefix(line, "OKTASIM_READY ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("ready line %q; stderr: %s", line, stderr)
	}
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after cancellation")
			return -1
		}
	}
	return base, stop, stderr
}

func get(t *testing.T, url, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunServesAndShutsDown(t *testing.T) {
	base, stop, stderr := startRun(t, "--users", "250", "--seed", "3", "--addr", "127.0.0.1:0", "--token", "secret", "--rate-limit", "100", "--rate-window", "10s")
	if code := get(t, base+"/api/v1/users?limit=5", "SSWS secret"); code != http.StatusOK {
		t.Fatalf("list with the right token: %d", code)
	}
	if code := get(t, base+"/api/v1/users", "SSWS wrong"); code != http.StatusUnauthorized {
		t.Fatalf("list with a wrong token: %d", code)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	if want := "oktasim: 250 users (seed 3) on " + base; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q lacks %q", stderr, want)
	}
}

// getJSON GETs url with auth and decodes its JSON body into v.
func getJSON(t *testing.T, url, auth string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestRunGeneratesGroups(t *testing.T) {
	type group struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	var admin struct {
		Groups []group `json:"groups"`
	}
	var api []map[string]any

	base, stop, stderr := startRun(t, "--users", "40", "--groups", "25")
	getJSON(t, base+"/admin/groups", "", &admin)
	getJSON(t, base+"/api/v1/groups?limit=200", "SSWS x", &api)
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	if len(admin.Groups) != 25 || len(api) != 25 {
		t.Fatalf("--groups 25: %d admin groups, %d from the Groups API", len(admin.Groups), len(api))
	}
	teams := 0
	for _, g := range admin.Groups {
		if strings.HasPrefix(g.Name, "team-") && len(g.Members) > 0 {
			teams++
		}
	}
	if teams == 0 {
		t.Fatalf("no team group with members: %+v", admin.Groups)
	}

	// Without --groups the org has none.
	base, stop, stderr = startRun(t, "--users", "5")
	admin.Groups = nil
	getJSON(t, base+"/admin/groups", "", &admin)
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	if admin.Groups == nil || len(admin.Groups) != 0 {
		t.Fatalf("default: groups %v, want []", admin.Groups)
	}
}

func TestRunWithServiceAppKeyAndFaults(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "app.pub.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop, stderr := startRun(t, "--users", "10", "--client-id", "0oaapp", "--client-public-key", file, "--error-rate", "1")
	if code := get(t, base+"/api/v1/users", "SSWS x"); code != http.StatusInternalServerError {
		t.Fatalf("with --error-rate 1: %d", code)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, exitUsage, "--allow-remote"},
		{[]string{"--addr", ":8080"}, exitUsage, "--allow-remote"},
		{[]string{"--addr", "10.1.2.3:80"}, exitUsage, "not a loopback"},
		{[]string{"--addr", "nonsense"}, exitUsage, "--addr"},
		{[]string{"--error-rate", "2"}, exitUsage, "--error-rate"},
		{[]string{"--latency", "-1s"}, exitUsage, "--latency"},
		{[]string{"--client-id", "0oa1"}, exitUsage, "together"},
		{[]string{"--client-id", "0oa1", "--client-public-key", missing}, exitUsage, "client-public-key"},
		{[]string{"--client-id", "0oa1", "--client-public-key", notPEM}, exitUsage, "no PEM block"},
		{[]string{"--users", "-1"}, exitUsage, "users"},
		{[]string{"--groups", "-1"}, exitUsage, "groups"},
		{[]string{"--groups", "x"}, exitUsage, "-groups"},
		{[]string{"--bogus"}, exitUsage, "bogus"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
		{[]string{"--hook-secret", "x"}, exitUsage, "--hook-secret needs --hook-url"},
		{[]string{"--hook-shuffle"}, exitUsage, "--hook-shuffle needs --hook-url"},
		{[]string{"--hook-url", "nonsense"}, exitUsage, "--hook-url"},
		{[]string{"--hook-url", "http://127.0.0.1:1/x", "--hook-duplicates", "2"}, exitUsage, "--hook-duplicates"},
		{[]string{"--hook-url", "http://127.0.0.1:1/x", "--hook-batch", "0s"}, exitUsage, "--hook-batch"},
		{[]string{"--help"}, exitOK, "Usage"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.Len() != 0 {
			t.Errorf("run %q: code %d, stderr %q, stdout %q; want code %d mentioning %q",
				tc.args, code, stderr.String(), stdout.String(), tc.code, tc.msg)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:0": true, "127.1.2.3:80": true, "[::1]:0": true, "localhost:9000": true,
		"0.0.0.0:0": false, ":0": false, "[::]:0": false, "192.168.1.5:80": false, "example.com:80": false,
	} {
		if err := checkLoopback(addr, false); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
		if err := checkLoopback(addr, true); err != nil {
			t.Errorf("checkLoopback(%q, allowRemote) = %v", addr, err)
		}
	}
}

// hookRecorder is an event-hook receiver that answers verification with
// answer (nil: correctly) and records POSTs.
type hookRecorder struct {
	mu     sync.Mutex
	posts  []http.Header
	bodies []map[string]any
	gets   int
}

func (h *hookRecorder) handler(answer func(challenge string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Method == http.MethodGet {
			h.gets++
			c := r.Header.Get("X-Okta-Verification-Challenge")
			if answer != nil {
				c = answer(c)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"verification": c})
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.posts = append(h.posts, r.Header.Clone())
		h.bodies = append(h.bodies, body)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *hookRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.posts)
}

func TestRunDeliversEventHooks(t *testing.T) {
	rec := &hookRecorder{}
	recv := httptest.NewServer(rec.handler(nil))
	defer recv.Close()
	base, stop, stderr := startRun(t, "--users", "5", "--hook-url", recv.URL+"/okta/events",
		"--hook-header", "X-Hook-Secret", "--hook-secret", "s3cret", "--hook-batch", "10ms")
	rec.mu.Lock()
	gets := rec.gets
	rec.mu.Unlock()
	if gets != 1 || !strings.Contains(stderr.String(), "verified") {
		t.Fatalf("verification GETs %d; stderr %s", gets, stderr)
	}
	resp, err := http.Get(base + "/admin/users")
	if err != nil {
		t.Fatal(err)
	}
	var users []struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&users)
	resp.Body.Close()
	if err != nil || len(users) == 0 {
		t.Fatalf("admin users: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/admin/users/"+users[0].ID+"/status", strings.NewReader(`{"status":"SUSPENDED"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("suspend: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.posts) != 1 || rec.posts[0].Get("X-Hook-Secret") != "s3cret" {
		t.Fatalf("posts %v", rec.posts)
	}
	b := rec.bodies[0]
	ev := b["data"].(map[string]any)["events"].([]any)[0].(map[string]any)
	target := ev["target"].([]any)[0].(map[string]any)
	if b["eventType"] != "com.okta.event_hook" || !strings.HasPrefix(b["source"].(string), base+"/api/v1/eventHooks/who") ||
		ev["eventType"] != "user.lifecycle.suspend" || target["id"] != users[0].ID || target["type"] != "User" {
		t.Fatalf("delivery %v", b)
	}
	if !strings.Contains(stderr.String(), "event hook: 1 deliveries (1 events)") {
		t.Fatalf("stderr lacks the hook summary: %s", stderr)
	}
}

func TestRunReportsFailedHookVerification(t *testing.T) {
	rec := &hookRecorder{}
	recv := httptest.NewServer(rec.handler(func(string) string { return "wrong" }))
	defer recv.Close()
	_, stop, stderr := startRun(t, "--users", "1", "--hook-url", recv.URL)
	if code := stop(); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "delivering anyway") {
		t.Fatalf("stderr: %s", stderr)
	}
}
