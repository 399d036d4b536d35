package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/searchtest"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/elasticsearch"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// searchIndex is a people index on the test server under the test's own
// alias (or on url, a proxy in front of it).
func searchIndex(t *testing.T, url, alias string, edit func(*elasticsearch.Config)) *elasticsearch.Index {
	t.Helper()
	c := elasticsearch.DefaultConfig()
	c.URL, c.Alias, c.Timeout = url, alias, 10*time.Second
	if edit != nil {
		edit(&c)
	}
	x, err := elasticsearch.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return x
}

// syncSearch runs a sync of mode that keeps index.
func (e *env) syncSearch(t *testing.T, mode jobs.Mode, index *elasticsearch.Index) (jobs.Summary, error) {
	t.Helper()
	src, err := okta.New(e.oktaConfig("token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := neo4j.New(e.neo4jConfig(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	job := &jobs.Sync{Config: syncConfig(100), Source: src, Publisher: pub, Mode: mode, Org: e.orgURL}
	if index != nil {
		job.Search = index
	}
	return job.Run(context.Background())
}

// esClient keeps no idle connection (TestMain checks for goroutines left).
var esClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// esDo sends one request to the search server and decodes its answer.
func esDo(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, searchtest.URL(t)+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := esClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// docs reads every document behind alias, by id.
func docs(t *testing.T, alias string) map[string]map[string]any {
	t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if code := esDo(t, http.MethodGet, "/"+alias+"/_search?size=10000", nil, &res); code != 200 {
		t.Fatalf("search %s: %d", alias, code)
	}
	out := map[string]map[string]any{}
	for _, h := range res.Hits.Hits {
		out[h.ID] = h.Source
	}
	return out
}

// aliased lists the indexes behind alias.
func aliased(t *testing.T, alias string) []string {
	t.Helper()
	var got map[string]any
	if code := esDo(t, http.MethodGet, "/_alias/"+alias, nil, &got); code == 404 {
		return nil
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// wantDocs is what the index must hold: the graph's users with a
// full_name (active ones only unless all), by source id, with their
// name, key and manager's email.
func (e *env) wantDocs(t *testing.T, all bool) map[string][3]any {
	t.Helper()
	out := map[string][3]any{}
	for _, r := range e.query(t, `MATCH (u:User) WHERE u.full_name IS NOT NULL AND ($all OR u.is_active = true)
		OPTIONAL MATCH (u)-[:MANAGE_BY]->(m:User)
		RETURN u.okta_id AS id, u.email AS email, u.full_name AS name, m.email AS manager`, map[string]any{"all": all}) {
		out[r["id"].(string)] = [3]any{r["email"], r["name"], r["manager"]}
	}
	return out
}

func checkDocs(t *testing.T, alias string, want map[string][3]any) map[string]map[string]any {
	t.Helper()
	got := docs(t, alias)
	if len(got) != len(want) {
		t.Errorf("index holds %d documents, want %d (the graph's users with a full_name)", len(got), len(want))
	}
	for id, w := range want {
		d, ok := got[id]
		if !ok {
			t.Errorf("no document for %s (%v)", id, w[0])
			continue
		}
		if d["key"] != w[0] || d["name"] != w[1] || d["manager_email"] != w[2] || d["resource_type"] != "user" {
			t.Errorf("document %s = key %v name %v manager %v type %v, want %v", id, d["key"], d["name"], d["manager_email"], d["resource_type"], w)
		}
	}
	return got
}

// found runs a match query on a field, as people search does, and returns
// the ids it finds.
func found(t *testing.T, alias, field, text string) []string {
	t.Helper()
	var res struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	esDo(t, http.MethodPost, "/"+alias+"/_search", map[string]any{"query": map[string]any{"match": map[string]any{field: text}}}, &res)
	var ids []string
	for _, h := range res.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestPeopleSearchFollowsTheGraphIntegration(t *testing.T) {
	alias := searchtest.Alias(t)
	e := newEnv(t, oktasim.Config{Users: 300, Seed: 41})
	index := searchIndex(t, searchtest.URL(t), alias, nil)

	sum, err := e.syncSearch(t, jobs.Full, index)
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.Search; s == nil || s.Outcome != "success" || !strings.HasPrefix(s.Index, alias+"_oktasync_") {
		t.Fatalf("summary search = %+v", sum.Search)
	}
	first := aliased(t, alias)
	if len(first) != 1 || first[0] != sum.Search.Index {
		t.Fatalf("alias on %v, want [%s]", first, sum.Search.Index)
	}
	want := e.wantDocs(t, false)
	if all := e.wantDocs(t, true); len(all) == len(want) {
		t.Fatalf("the org has no leavers (%d users): the test proves nothing", len(all))
	}
	checkDocs(t, alias, want)
	if sum.Search.Indexed != len(want) {
		t.Errorf("summary: %d indexed, want %d", sum.Search.Indexed, len(want))
	}

	// A leaver and a new name, in the next full sync: a fresh index
	// replaces the first, which is gone.
	var users []oktasim.User
	for _, u := range e.sim.Users() {
		if u.Status == "ACTIVE" && strings.Contains(pstr(u.Profile, "email"), "@") {
			users = append(users, u)
		}
	}
	leaver, renamed := users[0], users[1]
	if err := e.sim.SetStatus(leaver.Id, "DEPROVISIONED"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.UpdateProfile(renamed.Id, map[string]any{"displayName": "Quillon Zephyrine"}); err != nil {
		t.Fatal(err)
	}
	if sum, err = e.syncSearch(t, jobs.Full, index); err != nil {
		t.Fatal(err)
	}
	second := aliased(t, alias)
	if len(second) != 1 || second[0] == first[0] {
		t.Fatalf("after the second full sync the alias is on %v (first index %s)", second, first[0])
	}
	if left := searchtest.Indexes(t, alias); len(left) != 1 {
		t.Errorf("indexes left: %v, want only %s", left, second[0])
	}
	got := checkDocs(t, alias, e.wantDocs(t, false))
	if _, ok := got[leaver.Id]; ok {
		t.Errorf("the leaver %s is still in people search", leaver.Id)
	}
	if ids := found(t, alias, "name", "zephyrine"); len(ids) != 1 || ids[0] != renamed.Id {
		t.Errorf("search for the new name found %v, want [%s]", ids, renamed.Id)
	}

	// An incremental sync updates in place: a manager's new email reaches
	// their reports' documents, a suspended user goes.
	var manager, suspended string
	for _, r := range e.query(t, `MATCH (r:User)-[:MANAGE_BY]->(m:User {is_active: true}) WITH m, count(r) AS n WHERE n > 1
		RETURN m.okta_id AS id ORDER BY id LIMIT 1`, nil) {
		manager = r["id"].(string)
	}
	for _, u := range users[2:] {
		if u.Id != manager {
			suspended = u.Id
			break
		}
	}
	if manager == "" {
		t.Fatal("no manager with several reports")
	}
	if err := e.sim.UpdateProfile(manager, map[string]any{"email": "moved.manager@example.com", "login": "moved.manager@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetStatus(suspended, "SUSPENDED"); err != nil {
		t.Fatal(err)
	}
	if sum, err = e.syncSearch(t, jobs.Incremental, index); err != nil {
		t.Fatal(err)
	}
	if sum.Kind != "incremental" || sum.Search.Index != second[0] {
		t.Fatalf("incremental: kind %s, index %s, want the index in place (%s)", sum.Kind, sum.Search.Index, second[0])
	}
	got = checkDocs(t, alias, e.wantDocs(t, false))
	if got[manager]["key"] != "moved.manager@example.com" {
		t.Errorf("the manager's document has key %v", got[manager]["key"])
	}
	reports := 0
	for _, d := range got {
		if d["manager_email"] == "moved.manager@example.com" {
			reports++
		}
	}
	if reports < 2 {
		t.Errorf("%d documents name the manager's new email, want their reports (at least 2)", reports)
	}
	if _, ok := got[suspended]; ok {
		t.Errorf("the suspended user %s is still in people search", suspended)
	}
	if sum.Search.Indexed > 20 || sum.Search.Removed != 1 {
		t.Errorf("incremental wrote %d and removed %d documents; want only the changed users' (and 1 removed)", sum.Search.Indexed, sum.Search.Removed)
	}

	// keep_inactive keeps leavers, with is_active false.
	keepAlias := searchtest.Alias(t)
	if _, err := e.syncSearch(t, jobs.Full, searchIndex(t, searchtest.URL(t), keepAlias, func(c *elasticsearch.Config) { c.KeepInactive = true })); err != nil {
		t.Fatal(err)
	}
	kept := checkDocs(t, keepAlias, e.wantDocs(t, true))
	if kept[leaver.Id]["is_active"] != false {
		t.Errorf("keep_inactive: the leaver's document is %v", kept[leaver.Id])
	}
}

// swapProxy stands in front of the search server and can fail or hold the
// alias swap (POST /_aliases).
type swapProxy struct {
	fail    bool
	drop    bool          // the swap takes effect, then the connection drops without an answer
	arrived chan struct{} // closed when a swap arrives (if hold)
	release chan struct{} // the held swap goes on when this is closed (let)
	once    sync.Once
}

// let releases the held swap (once; also when the test ends early, so
// that the proxy can close).
func (p *swapProxy) let() {
	if p.release != nil {
		p.once.Do(func() { close(p.release) })
	}
}

func (p *swapProxy) start(t *testing.T) string {
	t.Helper()
	target, _ := url.Parse(searchtest.URL(t))
	rp := httputil.NewSingleHostReverseProxy(target)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	rp.Transport = transport
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/_aliases" {
			if p.fail {
				http.Error(w, `{"error":{"type":"injected","reason":"the swap fails"}}`, http.StatusInternalServerError)
				return
			}
			if p.drop {
				rp.ServeHTTP(httptest.NewRecorder(), r)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			if p.release != nil {
				close(p.arrived)
				<-p.release
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { p.let(); srv.Close(); transport.CloseIdleConnections() })
	return srv.URL
}

func TestPeopleSearchFailuresLeaveTheGraphAndThePreviousIndexIntegration(t *testing.T) {
	alias := searchtest.Alias(t)
	e := newEnv(t, oktasim.Config{Users: 120, Seed: 42})

	// Unreachable: the graph is synced all the same, and the run says so.
	sum, err := e.syncSearch(t, jobs.Full, searchIndex(t, "http://127.0.0.1:1", alias, nil))
	var se *jobs.SearchError
	if !errors.As(err, &se) || sum.Outcome != "success" || sum.Search == nil || sum.Search.Outcome != "failure" {
		t.Fatalf("unreachable search: err %v, outcome %s, search %+v", err, sum.Outcome, sum.Search)
	}
	e.checkGraph(t)

	// A good rebuild, then one whose swap fails: the first index serves on,
	// and the unfinished one is removed.
	good := searchIndex(t, searchtest.URL(t), alias, nil)
	if _, err := e.syncSearch(t, jobs.Full, good); err != nil {
		t.Fatal(err)
	}
	before := aliased(t, alias)
	p := &swapProxy{fail: true}
	sum, err = e.syncSearch(t, jobs.Full, searchIndex(t, p.start(t), alias, nil))
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "the swap fails") {
		t.Fatalf("failed swap: %v", err)
	}
	if after := aliased(t, alias); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("alias on %v after a failed rebuild, want %v", after, before)
	}
	if left := searchtest.Indexes(t, alias); fmt.Sprint(left) != fmt.Sprint(before) {
		t.Errorf("indexes after a failed rebuild: %v, want %v", left, before)
	}
	checkDocs(t, alias, e.wantDocs(t, false))

	// While a rebuild holds its swap, the alias serves the previous index,
	// complete; the swap moves it in one step.
	p = &swapProxy{arrived: make(chan struct{}), release: make(chan struct{})}
	url := p.start(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.syncSearch(t, jobs.Full, searchIndex(t, url, alias, nil))
		done <- err
	}()
	select {
	case <-p.arrived:
	case err := <-done:
		t.Fatalf("the rebuild ended before its swap: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the rebuild never reached its swap")
	}
	if held := aliased(t, alias); fmt.Sprint(held) != fmt.Sprint(before) {
		t.Errorf("alias on %v during a rebuild, want %v", held, before)
	}
	checkDocs(t, alias, e.wantDocs(t, false))
	// Another run writes a user meanwhile, after the rebuild read the
	// graph: its update goes to the index still serving, and the rebuild
	// catches it up in the new one after the swap.
	var changed string
	for _, u := range e.sim.Users() {
		if u.Status == "ACTIVE" && strings.Contains(pstr(u.Profile, "email"), "@") {
			changed = u.Id
			break
		}
	}
	if err := e.sim.UpdateProfile(changed, map[string]any{"displayName": "Written Meanwhile"}); err != nil {
		t.Fatal(err)
	}
	if sum, err := e.syncSearch(t, jobs.Incremental, good); err != nil || sum.Search.Indexed == 0 {
		t.Fatalf("incremental during the rebuild: %v, %+v", err, sum.Search)
	}
	p.let()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if now := aliased(t, alias); len(now) != 1 || now[0] == before[0] {
		t.Errorf("alias on %v after the rebuild", now)
	}
	if got := checkDocs(t, alias, e.wantDocs(t, false)); got[changed]["name"] != "Written Meanwhile" {
		t.Errorf("the write made during the rebuild is lost: %v", got[changed]["name"])
	}

	// A swap that takes effect although its answer is lost: the run sees
	// the alias on its index, keeps the index and succeeds.
	before = aliased(t, alias)
	p = &swapProxy{drop: true}
	sum, err = e.syncSearch(t, jobs.Full, searchIndex(t, p.start(t), alias, nil))
	if err != nil || sum.Search.Outcome != "success" {
		t.Fatalf("swap with a lost answer: %v %+v", err, sum.Search)
	}
	if now := aliased(t, alias); len(now) != 1 || now[0] != sum.Search.Index || now[0] == before[0] {
		t.Errorf("after a swap with a lost answer the alias is on %v (run: %s, before: %v)", now, sum.Search.Index, before)
	}
	checkDocs(t, alias, e.wantDocs(t, false))

	// An alias on an index oktasync did not make is refused, and taken
	// over only when the settings say so.
	other := searchtest.Alias(t)
	esDo(t, http.MethodPut, "/"+other+"_2026_databuilder", map[string]any{"aliases": map[string]any{other: map[string]any{}}}, nil)
	sum, err = e.syncSearch(t, jobs.Full, searchIndex(t, searchtest.URL(t), other, nil))
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "did not make") {
		t.Fatalf("foreign alias: %v", err)
	}
	if _, err := e.syncSearch(t, jobs.Full, searchIndex(t, searchtest.URL(t), other, func(c *elasticsearch.Config) { c.TakeOver = true })); err != nil {
		t.Fatalf("take over: %v", err)
	}
	if now := aliased(t, other); len(now) != 1 || !strings.HasPrefix(now[0], other+"_oktasync_") {
		t.Errorf("after the take-over the alias is on %v", now)
	}
	if code := esDo(t, http.MethodHead, "/"+other+"_2026_databuilder", nil, nil); code != 404 {
		t.Errorf("the taken-over index is still there (%d)", code)
	}
}
