package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// run is one sync with options.
type run struct {
	mode   jobs.Mode
	dryRun bool
	force  bool
	ctx    context.Context
	faults *oktasim.Faults
	// policy, if set, replaces the sync policy (batches of 100).
	policy *jobs.SyncConfig
	// orgURL, if set, is the configured Okta URL instead of the env's.
	orgURL string
	rehome bool
	// okta, if set, changes the Okta source's configuration.
	okta func(*okta.Config)
}

func (e *env) syncWith(t *testing.T, r run) (jobs.Summary, error) {
	t.Helper()
	ocfg := e.oktaConfig("token")
	if r.orgURL != "" {
		ocfg.OrgURL = r.orgURL
	}
	if r.okta != nil {
		r.okta(&ocfg)
	}
	src, err := okta.New(ocfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(r.dryRun), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	cfg := syncConfig(100)
	if r.policy != nil {
		cfg = *r.policy
	}
	job := &jobs.Sync{Config: cfg, Source: src, Publisher: pub, Identity: src,
		Mode: r.mode, Org: ocfg.OrgURL, Force: r.force, Rehome: r.rehome}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return job.Run(ctx)
}

func (e *env) mustSync(t *testing.T, r run) jobs.Summary {
	t.Helper()
	sum, err := e.syncWith(t, r)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return sum
}

// activeUsers picks n ACTIVE simulated users with a usable email.
func activeUsers(e *env, n int) []oktasim.User {
	var out []oktasim.User
	for _, u := range e.sim.Users() {
		if u.Status == "ACTIVE" && strings.Contains(pstr(u.Profile, "email"), "@") && len(out) < n {
			out = append(out, u)
		}
	}
	return out
}

func keyOf(u oktasim.User) string {
	return strings.ToLower(strings.TrimSpace(pstr(u.Profile, "email")))
}

// addAmundsenEdges gives a user table ownership and usage, shaped as
// databuilder's TableOwner and Usage models publish them.
func (e *env) addAmundsenEdges(t *testing.T, key string) {
	t.Helper()
	e.query(t, `
		MATCH (u:User {key: $key})
		MERGE (tb:Table {key: 'hive://gold.sales/orders_' + $key})
		MERGE (tb)-[:OWNER {published_tag: 'db'}]->(u)
		MERGE (u)-[:OWNER_OF {published_tag: 'db'}]->(tb)
		MERGE (tb)-[:READ_BY {read_count: 42}]->(u)
		MERGE (u)-[:READ {read_count: 42}]->(tb)`, map[string]any{"key": key})
}

func (e *env) edgesOf(t *testing.T, key string) int64 {
	return e.query(t, `MATCH (:User {key: $key})-[r:OWNER_OF|READ]-(:Table) RETURN count(r) AS n`, map[string]any{"key": key})[0]["n"].(int64)
}

func (e *env) inactiveKeys(t *testing.T) []string {
	var out []string
	for _, r := range e.query(t, `MATCH (u:User) WHERE u.is_active = false RETURN u.key AS k ORDER BY k`, nil) {
		out = append(out, r["k"].(string))
	}
	return out
}

func TestDeletedUsersAreDeactivatedNotDeletedIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 300, Seed: 11})
	e.mustSync(t, run{})
	before := e.inactiveKeys(t)
	// Nodes oktasync does not manage: a UI stub and a user from another extractor.
	e.query(t, `CREATE (:User {key: 'stub@elsewhere.io', email: 'stub@elsewhere.io'}),
		(:User {key: 'bamboo@elsewhere.io', email: 'bamboo@elsewhere.io', is_active: true, published_tag: 'bamboohr'})`, nil)

	leavers := activeUsers(e, 5)
	for _, u := range leavers {
		e.addAmundsenEdges(t, keyOf(u))
		if err := e.sim.Delete(u.Id); err != nil {
			t.Fatal(err)
		}
	}
	sum := e.mustSync(t, run{})
	if sum.DeactivatedMissing != 5 || sum.Missing != 5 {
		t.Errorf("deactivated %d (missing %d), want exactly 5", sum.DeactivatedMissing, sum.Missing)
	}
	after := e.inactiveKeys(t)
	want := append([]string{}, before...)
	for _, u := range leavers {
		want = append(want, keyOf(u))
	}
	sort.Strings(want)
	if strings.Join(after, ",") != strings.Join(want, ",") {
		t.Errorf("inactive users:\n got %v\nwant %v", after, want)
	}
	for _, u := range leavers {
		if n := e.edgesOf(t, keyOf(u)); n != 2 {
			t.Errorf("%s lost ownership/usage edges: %d left, want 2", keyOf(u), n)
		}
	}
	if n := e.query(t, `MATCH (u:User) WHERE u.key IN ['stub@elsewhere.io', 'bamboo@elsewhere.io'] AND coalesce(u.is_active, true) RETURN count(u) AS n`, nil)[0]["n"]; n != int64(2) {
		t.Errorf("reconciliation touched nodes oktasync does not manage")
	}
	// A leaver who comes back (a rehire: a new Okta account, same email) is reactivated on the same node.
	back := leavers[0]
	if _, err := e.sim.Create(map[string]any{"login": pstr(back.Profile, "login"), "email": pstr(back.Profile, "email"),
		"firstName": pstr(back.Profile, "firstName"), "lastName": pstr(back.Profile, "lastName")}, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	sum = e.mustSync(t, run{})
	if sum.Reactivated != 1 || sum.DeactivatedMissing != 0 {
		t.Errorf("after the rehire: reactivated %d, deactivated %d", sum.Reactivated, sum.DeactivatedMissing)
	}
	r := e.query(t, `MATCH (u:User {key: $k}) RETURN u.is_active AS a, count(*) AS n`, map[string]any{"k": keyOf(back)})
	if len(r) != 1 || r[0]["a"] != true || e.edgesOf(t, keyOf(back)) != 2 {
		t.Errorf("rehired user: %v, edges %d", r, e.edgesOf(t, keyOf(back)))
	}
	// Suspension and unsuspension follow the status table.
	sus := activeUsers(e, 10)[9]
	e.sim.SetStatus(sus.Id, "SUSPENDED")
	if sum = e.mustSync(t, run{}); sum.DeactivatedByStatus != 1 {
		t.Errorf("suspension: deactivated by status %d, want 1", sum.DeactivatedByStatus)
	}
	e.sim.SetStatus(sus.Id, "ACTIVE")
	if sum = e.mustSync(t, run{}); sum.Reactivated != 1 {
		t.Errorf("unsuspension: reactivated %d, want 1", sum.Reactivated)
	}
}

func TestSafetyCapRefusesMassDeactivationIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 200, Seed: 12})
	e.mustSync(t, run{})
	before := e.inactiveKeys(t)
	users := e.sim.Users()
	for i, u := range users {
		if i%10 < 3 { // 30%
			e.sim.Delete(u.Id)
		}
	}
	sum, err := e.syncWith(t, run{})
	var refused *jobs.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want *jobs.RefusedError", err)
	}
	if !strings.Contains(err.Error(), "nobody was deactivated") || refused.Stale == 0 {
		t.Errorf("message: %v", err)
	}
	if sum.Outcome != "refused" || sum.DeactivatedMissing != 0 {
		t.Errorf("summary: %+v", sum)
	}
	if after := e.inactiveKeys(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("users were deactivated despite the refusal: %d → %d inactive", len(before), len(after))
	}
	// --force goes ahead.
	sum = e.mustSync(t, run{force: true})
	if sum.DeactivatedMissing != refused.Stale {
		t.Errorf("forced run deactivated %d, want %d", sum.DeactivatedMissing, refused.Stale)
	}
}

func TestFailedOrEmptyReadDeactivatesNobodyIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 600, Seed: 13})
	e.mustSync(t, run{})
	before := e.inactiveKeys(t)
	for _, u := range activeUsers(e, 5) {
		e.sim.Delete(u.Id)
	}
	// Persistent 5xx halfway.
	e.sim.SetFaults(oktasim.Faults{FailAfter: 1})
	if _, err := e.syncWith(t, run{}); err == nil {
		t.Fatal("sync succeeded against persistent 500s")
	}
	if after := e.inactiveKeys(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("a failed read deactivated users")
	}
	e.sim.SetFaults(oktasim.Faults{})
	// Cancelled (SIGTERM) mid-way.
	ctx, cancel := context.WithCancel(context.Background())
	e.sim.SetFaults(oktasim.Faults{Latency: 50e6})
	go func() { <-time.After(120 * time.Millisecond); cancel() }()
	if _, err := e.syncWith(t, run{ctx: ctx}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sync: err = %v", err)
	}
	e.sim.SetFaults(oktasim.Faults{})
	if after := e.inactiveKeys(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("a cancelled run deactivated users")
	}
	// An org that returns nobody at all.
	for _, u := range e.sim.Users() {
		e.sim.Delete(u.Id)
	}
	sum := e.mustSync(t, run{force: true})
	if sum.DeactivatedMissing != 0 || sum.ReconcileSkipped == "" {
		t.Errorf("empty read: %+v", sum)
	}
	if after := e.inactiveKeys(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("an empty read deactivated users")
	}
}

func TestEmailChangeRenamesInPlaceIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 150, Seed: 14})
	e.mustSync(t, run{})
	us := activeUsers(e, 3)
	mover, blocked := us[0], us[1]
	e.addAmundsenEdges(t, keyOf(mover))
	e.query(t, `CREATE (:User {key: 'taken@example.com', email: 'taken@example.com'})`, nil)

	e.sim.UpdateProfile(mover.Id, map[string]any{"email": "New.Name@Example.com", "login": "new.name@example.com"})
	e.sim.UpdateProfile(blocked.Id, map[string]any{"email": "taken@example.com", "login": "taken@example.com"})
	sum := e.mustSync(t, run{})
	if sum.Renamed != 1 || sum.Conflicts != 1 || sum.DeactivatedMissing != 0 {
		t.Errorf("renamed %d, conflicts %d, deactivated %d; want 1, 1, 0", sum.Renamed, sum.Conflicts, sum.DeactivatedMissing)
	}
	r := e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.key AS key, u.email AS email, u.is_active AS active`, map[string]any{"id": mover.Id})
	if len(r) != 1 || r[0]["key"] != "new.name@example.com" || r[0]["email"] != "new.name@example.com" || r[0]["active"] != true {
		t.Errorf("renamed node: %v", r)
	}
	if n := e.edgesOf(t, "new.name@example.com"); n != 2 {
		t.Errorf("renamed node has %d ownership/usage edges, want 2", n)
	}
	if n := e.query(t, `MATCH (u:User {key: $k}) RETURN count(u) AS n`, map[string]any{"k": keyOf(mover)})[0]["n"]; n != int64(0) {
		t.Errorf("the old key still exists")
	}
	// The conflict leaves both nodes as they were, and nobody deactivated.
	r = e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.key AS key, u.is_active AS active`, map[string]any{"id": blocked.Id})
	if len(r) != 1 || r[0]["key"] != keyOf(blocked) || r[0]["active"] != true {
		t.Errorf("conflicting user's node changed: %v", r)
	}
	if r = e.query(t, `MATCH (u:User {key: 'taken@example.com'}) RETURN u.okta_id AS id, keys(u) AS k`, nil); len(r) != 1 || r[0]["id"] != nil {
		t.Errorf("the stub holding the key changed: %v", r)
	}
}

func TestDuplicateKeysResolveByRuleIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 50, Seed: 15})
	sus, err := e.sim.Create(map[string]any{"login": "twin.old@example.com", "email": "Twin@Example.com", "firstName": "Old", "lastName": "Twin"}, "SUSPENDED")
	if err != nil {
		t.Fatal(err)
	}
	act, err := e.sim.Create(map[string]any{"login": "twin.new@example.com", "email": "twin@example.com ", "firstName": "New", "lastName": "Twin"}, "ACTIVE")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		sum := e.mustSync(t, run{})
		r := e.query(t, `MATCH (u:User {key: 'twin@example.com'}) RETURN u.okta_id AS id, u.is_active AS a`, nil)
		if len(r) != 1 || r[0]["id"] != act.Id || r[0]["a"] != true {
			t.Fatalf("run %d: twin node %v, want the active user %s", i+1, r, act.Id)
		}
		if sum.Duplicates+sum.Conflicts == 0 {
			t.Errorf("run %d: the losing user %s was not reported", i+1, sus.Id)
		}
	}
}

func TestIncrementalSyncIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 1000, Seed: 16})
	// No watermark yet: falls back to a full sync.
	first := e.mustSync(t, run{mode: jobs.Incremental})
	if !first.FellBack || first.Kind != "full" || first.WatermarkAfter.IsZero() {
		t.Fatalf("first incremental run: %+v", first)
	}
	var maxUpdated int64
	for _, u := range e.sim.Users() {
		maxUpdated = max(maxUpdated, u.LastUpdated.UnixMilli())
	}
	if first.WatermarkAfter.UnixMilli() != maxUpdated {
		t.Errorf("watermark %v, want the newest lastUpdated read %v", first.WatermarkAfter, maxUpdated)
	}
	edited := activeUsers(e, 10)
	for i, u := range edited {
		e.sim.UpdateProfile(u.Id, map[string]any{"title": "Title " + string(rune('A'+i))})
	}
	gone := activeUsers(e, 12)[11]
	e.sim.Delete(gone.Id)
	sum := e.mustSync(t, run{mode: jobs.Incremental})
	if sum.Kind != "incremental" || sum.Seen < 10 || sum.Seen > 20 || sum.OktaRequests > 3 {
		t.Errorf("incremental read %d users in %d requests; want about 10 in 1-2", sum.Seen, sum.OktaRequests)
	}
	if sum.Updated != 10 || sum.DeactivatedMissing != 0 {
		t.Errorf("incremental: updated %d, deactivated %d", sum.Updated, sum.DeactivatedMissing)
	}
	if !sum.WatermarkAfter.After(first.WatermarkAfter) {
		t.Errorf("watermark did not advance: %v → %v", first.WatermarkAfter, sum.WatermarkAfter)
	}
	// An incremental run never reconciles missing users: the deleted user is still active.
	if r := e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.is_active AS a`, map[string]any{"id": gone.Id}); r[0]["a"] != true {
		t.Errorf("an incremental sync deactivated a missing user")
	}
	// The result equals a full sync's, apart from the deleted user, which only a full sync finds.
	e.sim.Create(map[string]any{"login": "back.fill@example.com", "email": "back.fill@example.com", "firstName": "Back", "lastName": "Fill"}, "ACTIVE")
	e.mustSync(t, run{mode: jobs.Incremental})
	e.mustSync(t, run{})
	e.checkGraphWithGone(t, gone)
	// State lives in Neo4j itself.
	st := e.query(t, `MATCH (s:OktasyncState {org: $org}) RETURN s.watermark AS w, s.last_full_sync AS f`, map[string]any{"org": e.orgURL})
	if len(st) != 1 || st[0]["w"] == nil || st[0]["f"] == nil {
		t.Errorf("sync state: %v", st)
	}
}

// checkGraphWithGone is checkGraph for an org from which gone was deleted:
// gone's node must remain, inactive.
func (e *env) checkGraphWithGone(t *testing.T, gone oktasim.User) {
	t.Helper()
	r := e.query(t, `MATCH (u:User {okta_id: $id}) RETURN u.is_active AS a`, map[string]any{"id": gone.Id})
	if len(r) != 1 || r[0]["a"] != false {
		t.Fatalf("deleted user after a full sync: %v", r)
	}
	e.query(t, `MATCH (u:User {okta_id: $id}) DETACH DELETE u`, map[string]any{"id": gone.Id})
	e.checkGraph(t)
}

// export dumps the whole graph deterministically.
func (e *env) export(t *testing.T) string {
	t.Helper()
	nodes := e.query(t, `MATCH (n) RETURN labels(n) AS l, properties(n) AS p ORDER BY coalesce(n.key, n.org), l`, nil)
	rels := e.query(t, `MATCH (a)-[r]->(b) RETURN coalesce(a.key, a.org) AS a, type(r) AS t, properties(r) AS p, coalesce(b.key, b.org) AS b ORDER BY a, t, b`, nil)
	schema := neo4jtest.Schema(t, e.driver)
	b, err := json.Marshal([]any{nodes, rels, schema})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDryRunWritesNothingIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 300, Seed: 17})
	e.mustSync(t, run{})
	us := activeUsers(e, 8)
	for _, u := range us[:3] {
		e.sim.Delete(u.Id)
	}
	e.sim.UpdateProfile(us[3].Id, map[string]any{"department": "Moved"})
	e.sim.UpdateProfile(us[4].Id, map[string]any{"email": "renamed@example.com"})
	e.sim.SetStatus(us[5].Id, "SUSPENDED")
	e.sim.SetManager(us[6].Id, us[7].Id)
	e.sim.Create(map[string]any{"login": "new.hire@example.com", "email": "new.hire@example.com", "firstName": "New", "lastName": "Hire"}, "ACTIVE")

	before := e.export(t)
	plan := e.mustSync(t, run{dryRun: true})
	if after := e.export(t); after != before {
		t.Fatal("a dry run changed the graph")
	}
	if plan.DeactivatedMissing != 3 || plan.Created != 1 || plan.Renamed != 1 || plan.DeactivatedByStatus != 1 || plan.Updated < 2 || plan.ManagersLinked < 1 {
		t.Errorf("plan: %+v", plan)
	}
	for _, kind := range []string{"created", "updated", "renamed", "deactivated"} {
		if len(plan.Examples[kind]) == 0 {
			t.Errorf("plan has no %s examples: %v", kind, plan.Examples)
		}
	}
	// The real run does what the plan said.
	real := e.mustSync(t, run{})
	if real.DeactivatedMissing != plan.DeactivatedMissing || real.Created != plan.Created || real.Updated != plan.Updated ||
		real.Renamed != plan.Renamed || real.ManagersLinked != plan.ManagersLinked || real.ManagersUnlinked != plan.ManagersUnlinked {
		t.Errorf("real run differs from the plan:\nplan %+v\nreal %+v", plan, real)
	}

}

func TestKeyConflictsNeverMoveAnotherUsersManagerIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 40, Seed: 18})
	us := activeUsers(e, 6)
	m1, m2 := us[0], us[1]
	// A rehire: the old account (DEPROVISIONED, read in the second pass, so
	// in another batch) and the new one share an email, with different managers.
	old, _ := e.sim.Create(map[string]any{"login": "dup.old@example.com", "email": "dup@example.com", "firstName": "Old", "lastName": "Dup", "managerId": m1.Id}, "DEPROVISIONED")
	cur, _ := e.sim.Create(map[string]any{"login": "dup.new@example.com", "email": "dup@example.com", "firstName": "New", "lastName": "Dup", "managerId": m2.Id}, "ACTIVE")
	e.mustSync(t, run{})
	r := e.query(t, `MATCH (u:User {key: 'dup@example.com'}) OPTIONAL MATCH (u)-[:MANAGE_BY]->(m) RETURN u.okta_id AS id, collect(m.okta_id) AS ms`, nil)
	if len(r) != 1 || r[0]["id"] != cur.Id || len(r[0]["ms"].([]any)) != 1 || r[0]["ms"].([]any)[0] != m2.Id {
		t.Errorf("dup@example.com: %v; want the active user %s managed by %s (not %s's manager)", r, cur.Id, m2.Id, old.Id)
	}
	// A blocked rename must not hand its manager to the key's holder.
	a, b := us[2], us[3]
	e.sim.SetManager(a.Id, m1.Id)
	e.sim.SetManager(b.Id, m2.Id)
	e.mustSync(t, run{})
	e.sim.UpdateProfile(a.Id, map[string]any{"email": pstr(b.Profile, "email")})
	sum := e.mustSync(t, run{})
	if sum.DeactivatedMissing != 0 || sum.Conflicts+sum.Duplicates == 0 {
		t.Errorf("conflict run: %+v", sum)
	}
	r = e.query(t, `MATCH (u:User {okta_id: $id})-[:MANAGE_BY]->(m) RETURN collect(m.okta_id) AS ms, u.is_active AS active`, map[string]any{"id": b.Id})
	if len(r) != 1 || len(r[0]["ms"].([]any)) != 1 || r[0]["ms"].([]any)[0] != m2.Id || r[0]["active"] != true {
		t.Errorf("the key holder's manager or status changed: %v", r)
	}
	// Neither user of the conflict is deactivated: both are still in Okta.
	if got := e.inactiveKeys(t); strings.Contains(strings.Join(got, ","), keyOf(a)) || strings.Contains(strings.Join(got, ","), keyOf(b)) {
		t.Errorf("a user in a key conflict was deactivated: %v", got)
	}
}

func TestOneOktaOrgPerGraphIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 20, Seed: 19})
	e.mustSync(t, run{})
	before := strings.Join(e.inactiveKeys(t), ",")
	otherSim, other := oktasimtest.Start(t, oktasim.Config{Users: 30, Seed: 20})
	ocfg := e.oktaConfig("t")
	ocfg.OrgURL = other
	src, err := okta.New(ocfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	_, err = (&jobs.Sync{Config: jobs.DefaultSyncConfig(), Source: src, Publisher: pub, Org: other}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "one Okta org per graph") {
		t.Fatalf("a second org's sync: err = %v", err)
	}
	// With the org ids known, the refusal names both orgs.
	_, err = (&jobs.Sync{Config: jobs.DefaultSyncConfig(), Source: src, Publisher: pub, Org: other, Identity: src}).Run(context.Background())
	var oe *jobs.OrgError
	if !errors.As(err, &oe) || oe.Unknown || !strings.Contains(err.Error(), e.sim.OrgID()) || !strings.Contains(err.Error(), otherSim.OrgID()) ||
		!strings.Contains(err.Error(), "one Okta org per graph") {
		t.Fatalf("a second org's sync with org ids: err = %v", err)
	}
	if after := strings.Join(e.inactiveKeys(t), ","); after != before {
		t.Errorf("the first org's users were deactivated by the second org's run")
	}
	if n := e.query(t, `MATCH (u:User) RETURN count(u) AS n`, nil)[0]["n"]; n != int64(len(expectations(e.sim.Users()))) {
		t.Errorf("the second org's run wrote users: %v", n)
	}
}

// usersAsStored dumps every :User node and every relationship between
// users with all their properties, run metadata included: a run that
// writes nothing leaves it byte for byte.
func (e *env) usersAsStored(t *testing.T) string {
	t.Helper()
	nodes := e.query(t, `MATCH (u:User) RETURN properties(u) AS p ORDER BY u.key`, nil)
	rels := e.query(t, `MATCH (a:User)-[r]->(b:User) RETURN a.key AS a, type(r) AS t, properties(r) AS p, b.key AS b ORDER BY a, t, b`, nil)
	b, err := json.Marshal([]any{nodes, rels})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestResyncWritesNothingIntegration (issue 21): a full sync of an org
// that has not changed since the last one writes nothing to the users —
// not a property, not a marker — and takes no lock: a user held by
// another client's open write transaction does not stop it, or its dry
// run. Skipped users and the loser of a key conflict are still known to
// the read, so nobody is deactivated.
func TestResyncWritesNothingIntegration(t *testing.T) {
	e := newEnv(t, oktasim.Config{Users: 300, Seed: 25})
	if _, err := e.sim.Create(map[string]any{"login": "no.mail@example.com", "email": "not-an-address", "firstName": "No", "lastName": "Mail"}, "ACTIVE"); err != nil {
		t.Fatal(err)
	}
	for _, login := range []string{"twin.one@example.com", "twin.two@example.com"} {
		if _, err := e.sim.Create(map[string]any{"login": login, "email": "twin@example.com", "firstName": "Twin", "lastName": "Twin"}, "ACTIVE"); err != nil {
			t.Fatal(err)
		}
	}
	first := e.mustSync(t, run{})
	if first.Skipped == 0 || first.Duplicates == 0 || first.ManagersLinked == 0 {
		t.Fatalf("the org lacks the shapes under test: %d skipped, %d duplicate keys, %d managers", first.Skipped, first.Duplicates, first.ManagersLinked)
	}
	before := e.usersAsStored(t)
	var held string
	for _, r := range e.query(t, `MATCH (u:User)-[:MANAGE_BY]->(:User) RETURN u.key AS k ORDER BY k LIMIT 1`, nil) {
		held = r["k"].(string)
	}
	release := neo4jtest.Lock(t, e.driver, `MATCH (u:User {key: $k}) SET u.held = true RETURN count(u) AS n`, map[string]any{"k": held})
	defer release()

	for _, dry := range []bool{true, false} {
		sum := e.mustSync(t, run{dryRun: dry})
		if sum.Writes != (publisher.Writes{}) {
			t.Errorf("dry run %v: the re-sync wrote %+v, want nothing", dry, sum.Writes)
		}
		if sum.Created+sum.Updated+sum.Renamed+sum.DeactivatedMissing+sum.ManagersLinked+sum.ManagersUnlinked != 0 || sum.Unchanged == 0 {
			t.Errorf("dry run %v: summary %+v, want every user unchanged", dry, sum)
		}
	}
	release()
	if after := e.usersAsStored(t); after != before {
		t.Error("the re-sync changed the users' nodes or edges")
	}
}
