package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
)

// newAliasedEnv is newEnv for an org reached under two URLs: e.orgURL
// (its okta.com URL) and the returned custom domain.
func newAliasedEnv(t *testing.T, cfg oktasim.Config) (*env, string) {
	t.Helper()
	d := neo4jtest.Driver(t)
	neo4jtest.Reset(t, d)
	sim, orgURL, customURL := oktasimtest.StartAliased(t, cfg)
	return &env{sim: sim, orgURL: orgURL, driver: d, uri: neo4jtest.URI(t)}, customURL
}

// state is the graph's sync state: one row per :OktasyncState node.
func (e *env) state(t *testing.T) []map[string]any {
	t.Helper()
	return e.query(t, `MATCH (s:OktasyncState) RETURN s.org AS url, s.org_id AS id, s.watermark AS watermark,
		s.last_full_sync AS full ORDER BY url`, nil)
}

// An org that moves to its custom domain keeps its graph: no flag, the
// watermark carries over, nobody is deactivated, and the state is kept
// under the org's id from then on.
func TestOrgMovesToCustomDomainIntegration(t *testing.T) {
	e, customURL := newAliasedEnv(t, oktasim.Config{Users: 60, Seed: 31})
	e.mustSync(t, run{})
	st := e.state(t)
	if len(st) != 1 || st[0]["id"] != e.sim.OrgID() || st[0]["url"] != e.orgURL {
		t.Fatalf("state after the first sync = %v, want org %s at %s", st, e.sim.OrgID(), e.orgURL)
	}
	watermark := st[0]["watermark"]
	inactive := strings.Join(e.inactiveKeys(t), ",")

	incr := e.mustSync(t, run{mode: jobs.Incremental, orgURL: customURL})
	if incr.FellBack || stateStamp(incr.WatermarkBefore) != watermark {
		t.Errorf("incremental through the custom domain: fell back %v, watermark before %s; want the stored %v", incr.FellBack, stateStamp(incr.WatermarkBefore), watermark)
	}
	if r := incr.Rehomed; r == nil || !r.Kept || !strings.Contains(r.To, customURL) || r.Reason != "same org id" {
		t.Errorf("Rehomed = %+v, want a kept re-home to %s by org id", r, customURL)
	}
	full := e.mustSync(t, run{orgURL: customURL})
	if full.DeactivatedMissing != 0 || full.Missing != 0 || full.Rehomed != nil {
		t.Errorf("full sync through the custom domain: %d missing, %d deactivated, rehomed %+v", full.Missing, full.DeactivatedMissing, full.Rehomed)
	}
	if got := strings.Join(e.inactiveKeys(t), ","); got != inactive {
		t.Errorf("inactive users changed: %s, was %s", got, inactive)
	}
	st = e.state(t)
	if len(st) != 1 || st[0]["id"] != e.sim.OrgID() || st[0]["url"] != customURL || st[0]["watermark"] != watermark {
		t.Errorf("state = %v, want one, org %s at %s, watermark %v", st, e.sim.OrgID(), customURL, watermark)
	}
	// And back: the okta.com URL still reaches the same graph.
	if sum := e.mustSync(t, run{}); sum.DeactivatedMissing != 0 || sum.Rehomed == nil {
		t.Errorf("back on the okta.com URL: %d deactivated, rehomed %+v", sum.DeactivatedMissing, sum.Rehomed)
	}
}

// A graph synced before org ids were recorded (its state has a URL only)
// is adopted: when the configured org names that URL as its own, and when
// that URL answers with the configured org's id.
func TestOrgAdoptsStateWithoutIDIntegration(t *testing.T) {
	e, customURL := newAliasedEnv(t, oktasim.Config{Users: 40, Seed: 32})
	e.mustSync(t, run{})
	e.query(t, `MATCH (s:OktasyncState) REMOVE s.org_id`, nil)
	watermark := e.state(t)[0]["watermark"]
	sum := e.mustSync(t, run{mode: jobs.Incremental, orgURL: customURL})
	if sum.FellBack || stateStamp(sum.WatermarkBefore) != watermark || sum.Rehomed == nil || !sum.Rehomed.Kept ||
		!strings.Contains(sum.Rehomed.Reason, "as its own URL") {
		t.Errorf("old state named by the org: fell back %v, watermark %s (want %v), rehomed %+v", sum.FellBack, stateStamp(sum.WatermarkBefore), watermark, sum.Rehomed)
	}
	if st := e.state(t); len(st) != 1 || st[0]["id"] != e.sim.OrgID() || st[0]["url"] != customURL {
		t.Errorf("state = %v", st)
	}

	// The org no longer names the custom domain, but it still answers.
	e.sim.SetDomains(e.orgURL, "")
	e.query(t, `MATCH (s:OktasyncState) REMOVE s.org_id`, nil)
	sum = e.mustSync(t, run{mode: jobs.Incremental})
	if sum.FellBack || sum.Rehomed == nil || !strings.Contains(sum.Rehomed.Reason, "answers with the same org id") {
		t.Errorf("old state whose URL answers: fell back %v, rehomed %+v", sum.FellBack, sum.Rehomed)
	}
	if sum.DeactivatedMissing != 0 {
		t.Errorf("%d deactivated", sum.DeactivatedMissing)
	}
}

// A graph whose old URL no longer answers cannot be shown to be the
// configured org's: refused, unless re-homed on purpose; the dry run says
// it would re-home and writes nothing, the real run starts the state afresh.
func TestOrgRehomeFlagIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 40, Seed: 33})
	e.mustSync(t, run{})
	const gone = "http://127.0.0.1:1"
	e.query(t, `MATCH (s:OktasyncState) SET s.org = $gone REMOVE s.org_id`, map[string]any{"gone": gone})
	before := e.state(t)

	_, err := e.syncWith(t, run{mode: jobs.Incremental})
	var oe *jobs.OrgError
	if !errors.As(err, &oe) || !oe.Unknown || !strings.Contains(err.Error(), gone+" did not say which org it is") ||
		!strings.Contains(err.Error(), "--rehome-org") {
		t.Fatalf("old URL gone: err = %v", err)
	}

	dry := e.mustSync(t, run{dryRun: true, rehome: true})
	if r := dry.Rehomed; r == nil || r.Kept || r.Reason != "--rehome-org" || !strings.Contains(dry.Text(), "would re-home the graph from "+gone) {
		t.Errorf("dry run: rehomed %+v; plan:\n%s", r, dry.Text())
	}
	if after := e.state(t); len(after) != 1 || after[0]["url"] != before[0]["url"] || after[0]["id"] != nil {
		t.Errorf("the dry run wrote the state: %v, was %v", after, before)
	}

	sum := e.mustSync(t, run{mode: jobs.Incremental, rehome: true})
	if !sum.FellBack || sum.Rehomed == nil || sum.Rehomed.Kept || sum.DeactivatedMissing != 0 {
		t.Errorf("re-homed: fell back %v (want a full sync, the state starts afresh), rehomed %+v, %d deactivated", sum.FellBack, sum.Rehomed, sum.DeactivatedMissing)
	}
	if st := e.state(t); len(st) != 1 || st[0]["id"] != e.sim.OrgID() || st[0]["url"] != e.orgURL {
		t.Errorf("state = %v", st)
	}
	// From then on, no flag is needed.
	if sum := e.mustSync(t, run{mode: jobs.Incremental}); sum.FellBack || sum.Rehomed != nil {
		t.Errorf("next run: fell back %v, rehomed %+v", sum.FellBack, sum.Rehomed)
	}
}

// A different org (another id) is refused, naming both; --rehome-org makes
// the graph follow it.
func TestOrgDifferentIDIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 20, Seed: 34})
	e.mustSync(t, run{})
	otherSim, other := oktasimtest.Start(t, oktasim.Config{Users: 25, Seed: 35})
	inactive := strings.Join(e.inactiveKeys(t), ",")
	_, err := e.syncWith(t, run{orgURL: other})
	var oe *jobs.OrgError
	if !errors.As(err, &oe) || oe.Unknown || !strings.Contains(err.Error(), e.sim.OrgID()+" ("+e.orgURL+")") ||
		!strings.Contains(err.Error(), otherSim.OrgID()+" ("+other+")") {
		t.Fatalf("a different org: err = %v", err)
	}
	if got := strings.Join(e.inactiveKeys(t), ","); got != inactive {
		t.Error("the refused run deactivated users")
	}
	sum := e.mustSync(t, run{orgURL: other, rehome: true, force: true})
	if sum.Rehomed == nil || sum.Rehomed.Kept || !strings.Contains(sum.Rehomed.From, e.sim.OrgID()) {
		t.Errorf("rehomed %+v", sum.Rehomed)
	}
	if st := e.state(t); len(st) != 1 || st[0]["id"] != otherSim.OrgID() {
		t.Errorf("state = %v", st)
	}
}

// stateStamp is t as the sync state stores it (nil for zero).
func stateStamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
