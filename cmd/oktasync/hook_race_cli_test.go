package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestCLIFullSyncRacesHookBurst runs, after a first sync, `oktasync serve`
// whose start-up full sync is held in the middle of paging — four pages read and staged, not
// yet written — while Okta changes 200 users and delivers the events as a
// burst of event hooks (shuffled, some twice). The hook worker writes the
// newer data first; then the sync resumes with what it read before. When
// all is done, the graph must equal the graph a clean sync of Okta's final
// state builds from nothing (full export; run metadata and the watermark,
// which says what a run read, aside): nothing older overwrote newer, no
// user the hooks created was deactivated, and every change landed.
func TestCLIFullSyncRacesHookBurst(t *testing.T) {
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 1200 * soakScale(), Seed: 53})
	gate := startPagingGate(t, url)
	held, release := gate.holdNth(5)
	defer release()
	const secret = "race-hook-secret-0123456789"
	addr := freePort(t)
	cfg := writeConfig(t, fmt.Sprintf(`okta:
  page_size: 50
sync:
  batch_size: 500
serve:
  listen: %q
  schedule: {incremental: "off", full: "off", at_start: full}
  hook_worker: {coalesce: 50ms}
`, addr))
	env := map[string]string{"OKTA_ORG_URL": gate.URL, "OKTA_API_TOKEN": "race-token-0123456789",
		"NEO4J_URI": neo4jtest.URI(t), "OKTASYNC_HOOK_SECRETS": secret}
	release() // the first sync reads freely
	if code, _, stderr := runBinary(t, env, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(stderr, 4000))
	}
	held, release = gate.holdNth(5)
	p := startBinary(t, env, "serve", "--config", cfg, "--log-level", "debug")
	select {
	case <-held:
	case <-p.done:
		t.Fatalf("serve exited\n%s", tail(p.stderr.String(), 4000))
	case <-time.After(2 * time.Minute):
		t.Fatalf("the start-up sync never asked for its fifth page\n%s", tail(p.stderr.String(), 4000))
	}
	if strings.Contains(p.stderr.String(), logNodeBatch) {
		t.Fatal("a batch was written before the burst: the race is not set up (batch_size must exceed four pages)")
	}

	hooks, err := sim.StartHooks(oktasim.HookConfig{URL: "http://" + addr + "/okta/events", AuthValue: secret,
		DuplicateRate: 0.3, Shuffle: true, Seed: 5, Batch: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer hooks.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard
	defer cancel()
	if err := hooks.Verify(ctx); err != nil {
		t.Fatalf("Okta's verification of the endpoint: %v", err)
	}

	// The burst: changes spread over the whole org, so some users were read
	// (and are staged with their old data) and some are not read yet.
	var active []oktasim.User
	for _, u := range sim.Users() {
		if email, _ := u.Profile["email"].(string); u.Status == oktasim.StatusActive && strings.Contains(email, "@") {
			active = append(active, u)
		}
	}
	step := len(active) / 200
	var titled []string
	for i := range 200 {
		u := active[i*step]
		switch {
		case i%10 == 1:
			err = sim.SetStatus(u.Id, oktasim.StatusSuspended)
		case i%10 == 2:
			err = sim.SetManager(u.Id, active[(i*step+7)%len(active)].Id)
		case i%10 == 3:
			_, err = sim.Create(map[string]any{"login": fmt.Sprintf("race.new.%d@example.com", i), "email": fmt.Sprintf("race.new.%d@example.com", i),
				"firstName": "Race", "lastName": fmt.Sprint(i), "managerId": u.Id}, oktasim.StatusActive)
		default:
			err = sim.UpdateProfile(u.Id, map[string]any{"title": fmt.Sprintf("Burst %d", i)})
			titled = append(titled, u.Id)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := hooks.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The hook worker writes while the sync is held.
	for {
		n := neo4jtest.Exec(t, d, `MATCH (u:User) WHERE u.okta_id IN $ids AND u.role_name STARTS WITH 'Burst ' RETURN count(u) AS n`,
			map[string]any{"ids": titled})[0].AsMap()["n"].(int64)
		if n == int64(len(titled)) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d hook updates reached the graph\n%s", n, len(titled), tail(p.stderr.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := hooks.Stats(); st.Failed != 0 || st.Succeeded == 0 {
		t.Errorf("hook deliveries: %+v", st)
	}

	release() // the sync resumes with the pages it read before the burst
	waitForLog(t, p, `"msg":"sync finished"`)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code != exitOK {
		t.Fatalf("serve: exit %d\n%s", code, tail(p.stderr.String(), 4000))
	}
	if !strings.Contains(p.stderr.String(), `"msg":"hook batch published"`) {
		t.Fatal("no hook batch was published: the race did not happen")
	}
	omit := append(neo4jtest.RunMetadata(), "watermark")
	got := neo4jtest.Export(t, d, omit...)

	neo4jtest.Reset(t, d)
	if code, _, stderr := runBinary(t, env, "sync", "--config", cfg); code != exitOK {
		t.Fatalf("clean sync: exit %d\n%s", code, tail(stderr, 4000))
	}
	if want := neo4jtest.Export(t, d, omit...); got != want {
		t.Fatalf("after the race the graph differs from a clean sync of Okta's final state:\n%s", firstDiff(got, want))
	}
}
