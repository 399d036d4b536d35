package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// S8: people search. On one warmed Neo4j and one search server
// (--search-url, $SEARCH_TEST_URL), an org of n users is synced into the
// graph once with people search off; then, side by side on that graph,
// alternating (A-B-A, A-B-A-B-A with --repeats 2):
//
//   - A: `oktasync sync` with people search on (OKTASYNC_SEARCH_URL): a
//     re-sync of a graph already in sync (it writes little), then the
//     rebuild of the people index from the graph (a fresh index, bulk
//     loaded page by page, the alias swapped). Reported: the whole run, and
//     the rebuild alone (the summary's search.duration), with the CPU each
//     process used during the rebuild (sampled every 50 ms: the rebuild is
//     the last step of the run);
//   - B: databuilder's own people-search job (bench/search_bench.py:
//     SearchMetadatatoElasticasearchTask, Neo4jSearchDataExtractor,
//     DEFAULT_USER_QUERY) on the same graph and server, into another alias.
//
// Before A-B-A one oktasync rebuild warms the search server up (reported,
// left out of the ratios). Then (b) hook to searchable: `oktasync serve` with
// people search on; after a warm-up change, s8Changes title changes at
// s8ChangeRate per second (admin PATCH, then the harness delivers the hook
// itself, as in S6); the clock stops when a search of the alias (an ids
// query, every s8Poll) returns the document with the new role_name.
const (
	s8Users      = 100000
	s8Changes    = 200
	s8ChangeRate = 10
	s8Poll       = 20 * time.Millisecond
	// The aliases S8 builds: not Amundsen's default, so that a search
	// server shared with tests (make test) is left as it was. S8 deletes
	// every index whose name starts with them, before and after.
	s8Alias            = "bench_oktasync_user_search_index"
	s8DatabuilderAlias = "bench_databuilder_user_search_index"
)

// searchPhase is the people-index step of one S8 run.
type searchPhase struct {
	Seconds    float64 `json:"seconds"` // oktasync: search.duration; databuilder: the job
	Documents  int     `json:"documents"`
	Index      string  `json:"index,omitempty"`
	ReadS      float64 `json:"neo4j_read_s,omitempty"` // databuilder: its query, read whole before the first bulk
	CPUS       float64 `json:"cpu_s"`                  // the oktasync or Python process, during the step
	Neo4jCPUS  float64 `json:"neo4j_cpu_s,omitempty"`
	SearchCPUS float64 `json:"search_cpu_s,omitempty"`
	Expected   int     `json:"expected_documents"`
}

// peopleSearch is S8.
func (b *bench) peopleSearch(ctx context.Context) error {
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	n := s8Users
	if len(b.o.users) > 0 {
		n = b.o.users[len(b.o.users)-1]
	}
	es := searchServer{base: strings.TrimRight(b.o.searchURL, "/")}
	for _, a := range []string{s8Alias, s8DatabuilderAlias} {
		if err := es.deleteIndexes(ctx, a); err != nil {
			return err
		}
		defer func() { _ = es.deleteIndexes(context.WithoutCancel(ctx), a) }()
	}
	cfgPath := filepath.Join(b.work, "s8.yaml")
	cfg := "search:\n  alias: " + s8Alias + "\n"
	if b.o.syncConfig != "" {
		extra, err := os.ReadFile(b.o.syncConfig)
		if err != nil {
			return err
		}
		cfg = string(extra) + "\n" + cfg
	}
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	script, err := filepath.Abs("bench/search_bench.py")
	if err != nil {
		return err
	}
	return b.withSim(ctx, simOptions{users: n}, func(s *sim, export []oktaUser) error {
		if err := resetGraph(ctx, b.driver); err != nil {
			return err
		}
		if _, err := b.measure(ctx, "S8", fmt.Sprintf("sync into the graph (search off), %d users", n), b.o.oktasync, s, export, false); err != nil {
			return err
		}
		synced := time.Now()
		active, named, err := searchDocCounts(ctx, b.driver)
		if err != nil {
			return err
		}
		rebuild := func(label string) (runResult, error) {
			o := b.syncOpts(b.o.oktasync, s.URL)
			o.config = cfgPath
			o.env = []string{"OKTASYNC_SEARCH_URL=" + es.base}
			o.watch = cpuWatch{neo4j: b.o.neo4jPID, sim: s.pid(), search: b.o.searchPID}
			var samples []cpuSample
			o.samples = &samples
			r, err := runSync(ctx, o)
			r.Label = label
			if err != nil {
				return r, err
			}
			q := r.Summary.Search
			if q == nil || q.Outcome != "success" {
				return r, fmt.Errorf("%s: people search did not succeed: %+v", label, q)
			}
			p := &searchPhase{Seconds: q.Duration.Seconds(), Documents: q.Indexed, Index: q.Index, Expected: active}
			phaseCPU(samples, r, q.Duration, p)
			r.Search = p
			if r.Verified, err = verify(ctx, b.driver, export); err == nil {
				err = es.checkIndex(ctx, s8Alias, active, export)
			}
			if err != nil {
				r.Verified = "WRONG: " + err.Error()
				b.report.add("S8", r)
				return r, fmt.Errorf("S8 %s: %w", label, err)
			}
			r.Verified += fmt.Sprintf("; index ok: %d documents", q.Indexed)
			b.say("S8 %-36s %7.2f s (rebuild %.2f s, %d docs)  rss %5.1f MiB  load %s", label, r.WallS, p.Seconds, p.Documents, r.RSSMiB, r.LoadAvg)
			b.report.add("S8", r)
			return r, nil
		}
		databuilder := func(label string) (runResult, error) {
			r, err := runSearchJob(ctx, b.o.python, script, b.o.neo4jURI, es.base, s8DatabuilderAlias, b.o.neo4jPID, b.o.searchPID)
			r.Label = label
			if err != nil {
				return r, err
			}
			r.Search.Expected = named
			if r.Search.Documents != named {
				r.Verified = fmt.Sprintf("WRONG: %d documents, the graph has %d users with a full_name", r.Search.Documents, named)
				b.report.add("S8", r)
				return r, fmt.Errorf("S8 %s: %s", label, r.Verified)
			}
			r.Verified = fmt.Sprintf("ok: index of %d documents", named)
			b.say("S8 %-36s %7.2f s (read %.2f s, %d docs)  rss %5.1f MiB  load %s", label, r.WallS, r.Search.ReadS, r.Search.Documents, r.RSSMiB, r.LoadAvg)
			b.report.add("S8", r)
			return r, nil
		}

		// (a) rebuild against databuilder's job, A-B-A.
		var warm []runResult
		if !b.o.smoke {
			r, err := rebuild(fmt.Sprintf("oktasync re-sync + rebuild, warm-up, %d users", n))
			if err != nil {
				return err
			}
			warm = append(warm, r)
		}
		// A rebuild catches up what other runs wrote in the minute before
		// it began reading the graph (jobs/search.go, catchUp): the edges
		// the sync above wrote, up to 50,000 users, rewritten one batch
		// at a time. The warm-up pays for that if it starts within the
		// minute; the measured runs must not.
		if wait := time.Until(synced.Add(65 * time.Second)); wait > 0 && !b.o.smoke {
			b.say("S8 waiting %s: the measured rebuilds start more than a minute after the sync (catch-up window)", wait.Round(time.Second))
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var okta, db []runResult
		for i := range 1 + 2*b.o.repeats {
			if i%2 == 0 {
				r, err := rebuild(fmt.Sprintf("oktasync re-sync + rebuild #%d, %d users", i+1, n))
				if err != nil {
					return err
				}
				okta = append(okta, r)
			} else {
				r, err := databuilder(fmt.Sprintf("databuilder search job #%d, %d users", i+1, n))
				if err != nil {
					return err
				}
				db = append(db, r)
			}
		}
		for _, l := range s8Notes(warm, okta, db) {
			b.report.note("S8", l)
			b.say("S8 %s", l)
		}

		// (b) hook to searchable.
		srv, err := startServe(ctx, b, s.URL, "search:\n  alias: "+s8Alias+"\n", "OKTASYNC_SEARCH_URL="+es.base)
		if err != nil {
			return err
		}
		defer srv.stop()
		var targets []expected
		for _, e := range expectUsers(export) {
			if e.active && e.fullName != "" {
				targets = append(targets, e)
			}
		}
		slices.SortFunc(targets, func(a, c expected) int { return strings.Compare(a.oktaID, c.oktaID) })
		changes := s8Changes
		if b.o.smoke {
			changes = 2 * s8ChangeRate
		}
		if len(targets) < changes+3 {
			return fmt.Errorf("the org of %d users has %d active named users, %d needed", n, len(targets), changes+3)
		}
		// The first batch after serve starts plans its statements: warm up.
		if _, err := b.hookToSearchable(ctx, s, srv, es, targets[:3], "warm-up"); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		r, err := b.hookToSearchable(ctx, s, srv, es, targets[3:3+changes], "")
		if r.Label != "" {
			b.report.add("S8", r)
			b.report.note("S8", r.ExtraNotes)
			b.say("S8 %s", r.ExtraNotes)
		}
		return err
	})
}

// s8Notes are the ratios of S8's (a): databuilder's job against oktasync's
// rebuild (and whole run), RSS, and where each step's CPU went.
func s8Notes(warm, okta, db []runResult) []string {
	if len(okta) == 0 || len(db) == 0 {
		return nil
	}
	var reb, whole, dbs, orss, drss []float64
	for _, r := range okta {
		reb = append(reb, r.Search.Seconds)
		whole = append(whole, r.WallS)
		orss = append(orss, r.RSSMiB)
	}
	for _, r := range db {
		dbs = append(dbs, r.WallS)
		drss = append(drss, r.RSSMiB)
	}
	ratio := median(dbs) / median(reb)
	verdict := "meets"
	if ratio < 3 {
		verdict = "MISSES"
	}
	rssVerdict := "meets"
	if slices.Max(orss) > 100 {
		rssVerdict = "MISSES"
	}
	out := []string{
		fmt.Sprintf("databuilder search job / oktasync rebuild (search.duration): median(%s) s / median(%s) s = %.2f× (goal ≥ 3×: %s); "+
			"against oktasync's whole run (re-sync of an unchanged graph + rebuild, median(%s) s): %.2f×",
			join(dbs), join(reb), ratio, verdict, join(whole), median(dbs)/median(whole)),
		fmt.Sprintf("peak RSS: oktasync (whole run) %s MiB (goal ≤ 100 MB: %s); databuilder's Python process %s MiB",
			join1(orss), rssVerdict, join1(drss)),
	}
	for _, r := range append(warm, okta...) {
		p := r.Search
		out = append(out, fmt.Sprintf("%s: rebuild %.2f s of the %.2f s run, %d documents into %s (expected %d); during the rebuild oktasync %.1f CPU-s, Neo4j %.1f, search server %.1f",
			r.Label, p.Seconds, r.WallS, p.Documents, p.Index, p.Expected, p.CPUS, p.Neo4jCPUS, p.SearchCPUS))
	}
	for _, r := range db {
		p := r.Search
		out = append(out, fmt.Sprintf("%s: %.2f s, of which its Neo4j query (read whole before the first bulk) %.2f s, bulk load and alias swap %.2f s; %d documents; Python %.1f CPU-s, Neo4j %.1f, search server %.1f",
			r.Label, p.Seconds, p.ReadS, p.Seconds-p.ReadS, p.Documents, p.CPUS, p.Neo4jCPUS, p.SearchCPUS))
	}
	return out
}

func join1(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, ", ")
}

// phaseCPU fills p's CPU from the samples of a run: what each process used
// in the run's last d (the people-index step is the last of a run).
func phaseCPU(samples []cpuSample, r runResult, d time.Duration, p *searchPhase) {
	if len(samples) < 2 {
		return
	}
	from := time.Duration(r.WallS*float64(time.Second)) - d
	i := 0
	for j, s := range samples {
		if s.at <= from {
			i = j
		}
	}
	first, last := samples[i], samples[len(samples)-1]
	p.CPUS = r.CPUS - first.child // rusage at the end: the last sample may not see the child
	p.Neo4jCPUS = last.neo4j - first.neo4j
	p.SearchCPUS = last.search - first.search
}

// searchDocCounts is what a people index of the graph holds: oktasync's
// (active users with a full_name: leavers are left out by default) and
// databuilder's (every user with a full_name).
func searchDocCounts(ctx context.Context, d neo4j.DriverWithContext) (active, named int, err error) {
	res, err := neo4j.ExecuteQuery(ctx, d, `MATCH (u:User) WHERE u.full_name IS NOT NULL
RETURN count(u) AS named, count(CASE WHEN toBoolean(u.is_active) THEN 1 END) AS active`, nil, neo4j.EagerResultTransformer)
	if err != nil {
		return 0, 0, fmt.Errorf("count the users of the people index: %w", err)
	}
	a, _, _ := neo4j.GetRecordValue[int64](res.Records[0], "active")
	n, _, _ := neo4j.GetRecordValue[int64](res.Records[0], "named")
	return int(a), int(n), nil
}

// runSearchJob runs databuilder's people-search job (bench/search_bench.py)
// and measures its process from outside: wall, peak RSS (VmHWM), CPU.
func runSearchJob(ctx context.Context, python, script, neo4jURI, searchURL, alias string, neo4jPID, searchPID int) (runResult, error) {
	cmd := exec.CommandContext(ctx, python, script, "--neo4j-uri", neo4jURI, "--search-url", searchURL, "--alias", alias, "--json",
		"--neo4j-pid", strconv.Itoa(neo4jPID), "--search-pid", strconv.Itoa(searchPID))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	load := loadAvg()
	if err := cmd.Start(); err != nil {
		return runResult{}, err
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	rss := float64(<-peak) / 1024
	if err != nil {
		return runResult{}, fmt.Errorf("search_bench: %w: %s", err, tail(stderr.String(), 2000))
	}
	out := stdout.String()
	i := strings.Index(out, "{")
	if i < 0 {
		return runResult{}, fmt.Errorf("search_bench printed no JSON: %s", out)
	}
	var j struct {
		Index     string   `json:"index"`
		Documents int      `json:"documents"`
		Seconds   float64  `json:"seconds"`
		Extract   *float64 `json:"extract_seconds"`
		CPU       float64  `json:"cpu_seconds"`
		Neo4jCPU  float64  `json:"neo4j_cpu_seconds"`
		SearchCPU float64  `json:"search_cpu_seconds"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &j); err != nil {
		return runResult{}, fmt.Errorf("search_bench output %q: %w", out, err)
	}
	p := &searchPhase{Seconds: j.Seconds, Documents: j.Documents, Index: j.Index, CPUS: j.CPU, Neo4jCPUS: j.Neo4jCPU, SearchCPUS: j.SearchCPU}
	if j.Extract != nil {
		p.ReadS = *j.Extract
	}
	r := runResult{Binary: "databuilder SearchMetadatatoElasticasearchTask", Users: j.Documents, WallS: j.Seconds, RSSMiB: rss,
		CPUS: j.CPU, Neo4jCPUS: j.Neo4jCPU, SearchCPUS: j.SearchCPU, LoadAvg: load, Publisher: json.RawMessage(out[i:]), Search: p}
	if j.Seconds > 0 {
		r.UsersPerS = float64(j.Documents) / j.Seconds
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && r.CPUS == 0 {
		r.CPUS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return r, nil
}

// searchServer is the search server's REST API, plain HTTP.
type searchServer struct{ base string }

func (es searchServer) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, es.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("search %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("search %s %s: HTTP %d: %s", method, path, resp.StatusCode, tail(string(data), 500))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// deleteIndexes deletes every index whose name starts with prefix.
func (es searchServer) deleteIndexes(ctx context.Context, prefix string) error {
	var rows []struct {
		Index string `json:"index"`
	}
	if _, err := es.do(ctx, http.MethodGet, "/_cat/indices?format=json&h=index&expand_wildcards=open,closed", nil, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Index, prefix) {
			if _, err := es.do(ctx, http.MethodDelete, "/"+url.PathEscape(r.Index), nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkIndex checks the alias's index: want documents, and the documents
// of up to 500 active users of the export (spread over it) found by their
// Okta id with the export's key and full name.
func (es searchServer) checkIndex(ctx context.Context, alias string, want int, export []oktaUser) error {
	var c struct {
		Count int `json:"count"`
	}
	if _, err := es.do(ctx, http.MethodGet, "/"+alias+"/_count", nil, &c); err != nil {
		return err
	}
	if c.Count != want {
		return fmt.Errorf("%s holds %d documents, want %d (active users with a full name)", alias, c.Count, want)
	}
	var sample []expected
	all := expectUsers(export)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := 0; i < len(keys) && len(sample) < 500; i += max(1, len(keys)/500) {
		if e := all[keys[i]]; e.active && e.fullName != "" {
			sample = append(sample, e)
		}
	}
	ids := make([]string, len(sample))
	for i, e := range sample {
		ids[i] = e.oktaID
	}
	var got struct {
		Docs []struct {
			ID     string `json:"_id"`
			Found  bool   `json:"found"`
			Source struct {
				Key  string `json:"key"`
				Name string `json:"name"`
			} `json:"_source"`
		} `json:"docs"`
	}
	if _, err := es.do(ctx, http.MethodPost, "/"+alias+"/_mget", map[string]any{"ids": ids}, &got); err != nil {
		return err
	}
	for i, d := range got.Docs {
		e := sample[i]
		if !d.Found || d.Source.Key != e.key || d.Source.Name != e.fullName {
			return fmt.Errorf("document %s: found %v, key %q name %q, want key %q name %q", e.oktaID, d.Found, d.Source.Key, d.Source.Name, e.key, e.fullName)
		}
	}
	return nil
}

// roleNames searches the alias for these document ids and returns each
// found document's role_name: what a search sees now.
func (es searchServer) roleNames(ctx context.Context, alias string, ids []string) (map[string]string, error) {
	var res struct {
		Hits struct {
			Hits []struct {
				ID     string `json:"_id"`
				Source struct {
					RoleName string `json:"role_name"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	body := map[string]any{"size": len(ids), "query": map[string]any{"ids": map[string]any{"values": ids}}, "_source": []string{"role_name"}}
	if _, err := es.do(ctx, http.MethodPost, "/"+alias+"/_search", body, &res); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		out[h.ID] = h.Source.RoleName
	}
	return out, nil
}

// hookToSearchable is S8 (b): title changes at s8ChangeRate per second,
// each delivered as a hook, until a search of the alias returns the new
// role_name. With warm != "" it is the warm-up and records nothing.
func (b *bench) hookToSearchable(ctx context.Context, s *sim, p *serveProc, es searchServer, targets []expected, warm string) (runResult, error) {
	n := len(targets)
	c := p.client()
	tag := time.Now().UTC().Format("150405.000")
	want := func(i int) string { return fmt.Sprintf("Bench S8 %s %s #%d", warm, tag, i) }
	sent := make([]atomic.Int64, n)
	var failed atomic.Int64
	var firstErr atomic.Value
	visible := make([]time.Duration, n)
	seen := make([]bool, n)
	stop := make(chan struct{})
	pollErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		var stopped bool
		var lastSeen time.Time
		for {
			var ids []string
			var idx []int
			for i := range targets {
				if !seen[i] && sent[i].Load() != 0 {
					ids = append(ids, targets[i].oktaID)
					idx = append(idx, i)
				}
			}
			if len(ids) > 0 {
				got, err := es.roleNames(ctx, s8Alias, ids)
				if err != nil {
					pollErr <- err
					return
				}
				now := time.Now()
				for j, i := range idx {
					if got[ids[j]] == want(i) {
						seen[i], lastSeen = true, now
						visible[i] = now.Sub(time.Unix(0, sent[i].Load()))
					}
				}
			}
			if !stopped {
				select {
				case <-stop:
					stopped, lastSeen = true, time.Now()
				default:
				}
			}
			if stopped {
				all := true
				for i := range seen {
					all = all && (seen[i] || sent[i].Load() == 0)
				}
				if all || time.Since(lastSeen) > 60*time.Second {
					pollErr <- nil
					return
				}
			}
			select {
			case <-ctx.Done():
				pollErr <- ctx.Err()
				return
			case <-time.After(s8Poll):
			}
		}
	})
	load := loadAvg()
	start := time.Now()
	openLoop(n, s8ChangeRate, func(i int, _ time.Time) {
		t := targets[i]
		body := map[string]any{"profile": map[string]any{"title": want(i)}}
		if err := s.admin(ctx, "PATCH", "/admin/users/"+t.oktaID, body, nil); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			return
		}
		at := time.Now()
		sent[i].Store(at.UnixNano())
		if err := p.post(ctx, c, hookDelivery(fmt.Sprintf("bench-s8-%s-%s-%d", warm, tag, i), t.oktaID, at.UTC())); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	})
	close(stop)
	wg.Wait()
	err := <-pollErr
	wall := time.Since(start)
	if err != nil {
		return runResult{}, err
	}
	var got []time.Duration
	for i := range n {
		if seen[i] {
			got = append(got, visible[i])
		}
	}
	if warm != "" {
		if len(got) < n || failed.Load() > 0 {
			return runResult{}, fmt.Errorf("%d of %d warm-up changes searchable, %d errors (%v)", len(got), n, failed.Load(), firstErr.Load())
		}
		b.say("S8 warm-up: %d changes searchable, %s", n, percentiles(got, 50))
		return runResult{}, nil
	}
	notes := fmt.Sprintf("hook to searchable, %d title changes at %d/s (admin PATCH, then the harness delivers the hook itself, as in S6; "+
		"the alias searched with an ids query every %s until the document has the new role_name): %d of %d searchable; from delivery sent: %s; %d errors",
		n, s8ChangeRate, s8Poll, len(got), n, percentiles(got, 50, 99), failed.Load())
	if e, ok := firstErr.Load().(string); ok {
		notes += " (first error: " + e + ")"
	}
	r := runResult{Label: fmt.Sprintf("hook to searchable, %d changes at %d/s", n, s8ChangeRate), Users: n, WallS: wall.Seconds(),
		UsersPerS: float64(len(got)) / wall.Seconds(), LoadAvg: load, Verified: "n/a (latency only)", ExtraNotes: notes}
	if failed.Load() > 0 || len(got) < n {
		return r, fmt.Errorf("%s", notes)
	}
	return r, nil
}
