package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// Bounds of the hook abuse load test: loopback only, a fixed number of
// requests (times soakScale under make soak), each phase bounded in time.
var (
	abuseRequests = 400 * soakScale() // per request-flood phase
	slowConns     = 100 * min(soakScale(), 5)
)

const (
	abuseWorkers = 8
	// rssHeadroom is how far the serve process's resident memory may grow
	// over its size after the first good delivery, whatever it is sent.
	// Request bodies are capped at 1 MiB and only read when authenticated.
	rssHeadroom = 64 << 20
)

// abuseTarget is a running `oktasync serve` process.
type abuseTarget struct {
	t      *testing.T
	p      *proc
	base   string
	client *http.Client
	sim    *oktasim.Server
}

func (a *abuseTarget) post(secret string, body io.Reader) (int, error) {
	req, err := http.NewRequest(http.MethodPost, a.base+"/okta/events", body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", secret)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// flood sends n requests from abuseWorkers goroutines and checks every
// answer is want. With cutOff, a request whose body the server refused to
// read may also end in a write error (the server closes the connection
// after answering, as it should).
func (a *abuseTarget) flood(n int, want int, cutOff bool, secret string, body func(i int) io.Reader) {
	a.t.Helper()
	var (
		wg           sync.WaitGroup
		wrong, fails atomic.Int32
		last         atomic.Value
		next         atomic.Int64
	)
	for range abuseWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				code, err := a.post(secret, body(i))
				switch {
				case err != nil && !cutOff:
					fails.Add(1)
					last.Store(err.Error())
				case err == nil && code != want:
					wrong.Add(1)
					last.Store(code)
				}
			}
		}()
	}
	wg.Wait()
	if f := fails.Load(); f > 0 {
		a.t.Errorf("%d of %d requests failed (e.g. %v)", f, n, last.Load())
	}
	if w := wrong.Load(); w > 0 {
		a.t.Errorf("%d of %d answers were not %d (e.g. %v)", w, n, want, last.Load())
	}
}

// goodDelivery edits a user in Okta, delivers the event, and waits for the
// edit to reach the graph.
func (a *abuseTarget) goodDelivery(round int) {
	a.t.Helper()
	u := activeSimUser(a.sim, round)
	title := fmt.Sprintf("Abuse survivor %d", round)
	if err := a.sim.UpdateProfile(u.Id, map[string]any{"title": title}); err != nil {
		a.t.Fatal(err)
	}
	code, err := a.post(hookSecret, strings.NewReader(hookBody(hookEv{fmt.Sprintf("good-%d", round), "user.account.update_profile", u.Id})))
	if err != nil || code != http.StatusNoContent {
		a.t.Fatalf("good delivery %d: %d %v", round, code, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for userProp(a.t, u.Id, "role_name") != title {
		if time.Now().After(deadline) {
			a.t.Fatalf("good delivery %d did not reach the graph within 60 s\nserve stderr:\n%s", round, tail(a.p.stderr.String(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (a *abuseTarget) healthy() {
	a.t.Helper()
	select {
	case <-a.p.done:
		a.t.Fatalf("serve exited: %v\n%s", a.p.err, tail(a.p.stderr.String(), 2000))
	default:
	}
	resp, err := a.client.Get(a.base + "/healthz")
	if err != nil {
		a.t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("/healthz %d", resp.StatusCode)
	}
}

// rss reads VmRSS of the serve process from /proc, in bytes.
func (a *abuseTarget) rss() int64 {
	a.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.p.cmd.Process.Pid))
	if err != nil {
		a.t.Fatalf("read /proc status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				a.t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	a.t.Fatal("no VmRSS in /proc status")
	return 0
}

// soakScale is OKTASYNC_SOAK_SCALE (make soak sets it), else 1: how many
// times more load the bounded load tests send.
func soakScale() int {
	n, err := strconv.Atoi(os.Getenv("OKTASYNC_SOAK_SCALE"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 100)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeHookAbuse is a bounded loopback load test of the event hook
// endpoint of a real `oktasync serve` process, built as it ships. Each phase abuses it one way;
// after each, a good delivery must still reach the graph. At the end the
// process is up and its resident memory stayed under a ceiling.
func TestServeHookAbuse(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 100, Seed: 23})
	env := map[string]string{
		"OKTA_ORG_URL": url, "OKTA_API_TOKEN": "abuse-token-0123", "NEO4J_URI": neo4jtest.URI(t),
		"OKTASYNC_HOOK_SECRETS": hookSecret,
	}
	if code, _, stderr := runBinary(t, env, "sync"); code != exitOK {
		t.Fatalf("initial sync: exit %d\n%s", code, stderr)
	}
	addr := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf(`serve:
  listen: %q
  schedule: {incremental: "off", full: "off", at_start: none}
  hook_worker: {coalesce: 50ms}
log: {level: warn}
`, addr))
	a := &abuseTarget{t: t, p: startExe(t, buildBinary(t), env, "serve", "--config", cfg), base: "http://" + addr, sim: sim,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: abuseWorkers}}}
	defer a.client.CloseIdleConnections()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := a.client.Get(a.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("serve did not come up\n%s", a.p.stderr.String())
		}
	}
	round := 0
	a.goodDelivery(round)
	baseline := a.rss()
	peak := baseline
	after := func() {
		t.Helper()
		a.healthy()
		round++
		a.goodDelivery(round)
		if r := a.rss(); r > peak {
			peak = r
		}
	}
	big := bytes.Repeat([]byte(" "), 512<<10)
	event := hookBody(hookEv{"victim", "user.account.update_profile", activeSimUser(sim, 30).Id})

	t.Run("unauthenticated", func(t *testing.T) {
		a.t = t
		a.flood(abuseRequests, http.StatusUnauthorized, true, "", func(int) io.Reader { return bytes.NewReader(big) })
		after()
	})
	t.Run("wrong_secret", func(t *testing.T) {
		a.t = t
		a.flood(abuseRequests, http.StatusUnauthorized, false, "wrong-"+hookSecret, func(int) io.Reader { return strings.NewReader(event) })
		after()
	})
	t.Run("oversized", func(t *testing.T) {
		a.t = t
		huge := bytes.Repeat([]byte("["), 3<<20)
		a.flood(abuseRequests/8, http.StatusRequestEntityTooLarge, true, hookSecret, func(int) io.Reader { return bytes.NewReader(huge) })
		after()
	})
	t.Run("deeply_nested", func(t *testing.T) {
		a.t = t
		depth := 200_000 // under the 1 MiB cap, far over encoding/json's nesting limit
		nested := `{"data":{"events":[` + strings.Repeat(`{"target":[`, depth/11) + `]}}`
		a.flood(abuseRequests/8, http.StatusBadRequest, false, hookSecret, func(int) io.Reader { return strings.NewReader(nested) })
		arrays := strings.Repeat("[", 1<<19) + strings.Repeat("]", 1<<19)
		a.flood(abuseRequests/8, http.StatusBadRequest, false, hookSecret, func(int) io.Reader { return strings.NewReader(arrays) })
		after()
	})
	t.Run("malformed", func(t *testing.T) {
		a.t = t
		bodies := []string{``, `{`, `{{{ not json`, `[]`, `"x"`, `{"data":{"events":"x"}}`, `{"data":{"events":[{"target":"x"}]}}`,
			`{"data":{"events":[{"uuid":5}]}}`, event[:len(event)/2], "\xff\xfe\x00garbage"}
		a.flood(abuseRequests, http.StatusBadRequest, false, hookSecret, func(i int) io.Reader { return strings.NewReader(bodies[i%len(bodies)]) })
		after()
	})
	t.Run("slowloris", func(t *testing.T) {
		a.t = t
		var conns []net.Conn
		for i := 0; i < slowConns; i++ {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			defer c.Close()
			// A request line and one header, then silence.
			if _, err := io.WriteString(c, "POST /okta/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		// The server still answers while the slow connections hang...
		after()
		// ...and closes them itself, after its header timeout (5 s).
		start := time.Now()
		var closed atomic.Int32
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
				_, err := io.Copy(io.Discard, c)
				var ne net.Error
				if err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
					closed.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := int(closed.Load()); n != slowConns {
			t.Errorf("server closed %d of %d slow connections within 15 s", n, slowConns)
		}
		t.Logf("slow connections closed after %s", time.Since(start).Round(100*time.Millisecond))
	})
	t.Run("duplicate_flood", func(t *testing.T) {
		a.t = t
		u := activeSimUser(sim, 40)
		// One event delivered abuseRequests times: one re-read of the user.
		dup := hookBody(hookEv{"dup-1", "user.account.update_profile", u.Id})
		before := sim.Stats().GetUserRequests
		a.flood(abuseRequests, http.StatusNoContent, false, hookSecret, func(int) io.Reader { return strings.NewReader(dup) })
		// Distinct uuids of events that change no user: remembered in a
		// bounded ring, never queued.
		a.flood(abuseRequests, http.StatusNoContent, false, hookSecret, func(i int) io.Reader {
			evs := make([]hookEv, 50)
			for j := range evs {
				// Sign-ins change no user (group membership events do
				// now: teams may come from groups).
				evs[j] = hookEv{fmt.Sprintf("flood-%d-%d", i, j), "user.session.start", u.Id}
			}
			return strings.NewReader(hookBody(evs...))
		})
		after()
		if got := sim.Stats().GetUserRequests - before; got > 3 {
			t.Errorf("%d Okta reads for one event delivered %d times, and ignored events; want at most 3", got, abuseRequests)
		}
	})

	a.t = t
	a.healthy()
	t.Logf("serve RSS: %d MiB after the first delivery, peak %d MiB after abuse (ceiling +%d MiB)", baseline>>20, peak>>20, rssHeadroom>>20)
	if peak > baseline+rssHeadroom {
		t.Errorf("serve RSS grew from %d MiB to %d MiB, over the %d MiB headroom", baseline>>20, peak>>20, rssHeadroom>>20)
	}
}
