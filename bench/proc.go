package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sim is oktasim in its own process, with its admin API.
type sim struct {
	cmd  *exec.Cmd
	URL  string
	done chan struct{}
}

func (s *sim) pid() int { return s.cmd.Process.Pid }

// cpuWatch names the processes that share the machine with a measured run
// (0: not watched); a run reports the CPU time each spent during it.
type cpuWatch struct{ neo4j, sim, search int }

// cpuSnapshot is the CPU time the watched processes had used so far.
type cpuSnapshot struct{ neo4j, sim, search float64 }

func (w cpuWatch) snapshot() cpuSnapshot {
	return cpuSnapshot{procCPU(w.neo4j), procCPU(w.sim), procCPU(w.search)}
}

// since fills r's CPU columns from the time used after s.
func (w cpuWatch) since(s cpuSnapshot, r *runResult) {
	now := w.snapshot()
	if w.neo4j > 0 {
		r.Neo4jCPUS = now.neo4j - s.neo4j
	}
	if w.sim > 0 {
		r.SimCPUS = now.sim - s.sim
	}
	if w.search > 0 {
		r.SearchCPUS = now.search - s.search
	}
}

// procCPU is the user+system CPU time of a live process and all its
// threads, in seconds (/proc/PID/stat fields 14 and 15, in clock ticks of
// 1/100 s on Linux); 0 if it cannot be read.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its closing parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// simOptions are the simulator flags a scenario sets.
type simOptions struct {
	users      int
	seed       int64
	rateLimit  int           // 0: off (a limit no run reaches)
	rateWindow time.Duration // with rateLimit
	shape      string        // org shape ("" = the generator's default)
	groups     int           // generated groups (S9)
}

// startSim starts bin/oktasim and waits for its ready line.
func startSim(ctx context.Context, bin string, o simOptions, logPath string) (*sim, error) {
	args := []string{"--users", strconv.Itoa(o.users), "--seed", strconv.FormatInt(o.seed, 10), "--addr", "127.0.0.1:0"}
	if o.rateLimit > 0 {
		args = append(args, "--rate-limit", strconv.Itoa(o.rateLimit), "--rate-window", o.rateWindow.String())
	} else {
		args = append(args, "--rate-limit", "1000000000")
	}
	if o.shape != "" {
		args = append(args, "--shape", o.shape)
	}
	if o.groups > 0 {
		args = append(args, "--groups", strconv.Itoa(o.groups))
	}
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start oktasim: %w", err)
	}
	s := &sim{cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "OKTASIM_READY "); ok {
				ready <- u
			}
		}
		_ = logf.Close()
	}()
	select {
	case s.URL = <-ready:
		return s, nil
	case <-s.done:
		_ = cmd.Wait()
		return nil, fmt.Errorf("oktasim exited before it was ready (see %s)", logPath)
	case <-time.After(5 * time.Minute):
		s.stop()
		return nil, errors.New("oktasim not ready after 5 minutes")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

func (s *sim) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	<-s.done
	_ = s.cmd.Wait()
}

// admin calls the simulator's admin API; out may be nil.
func (s *sim) admin(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("oktasim %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("oktasim %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// export returns every user of the org, DEPROVISIONED included, in Okta's
// shape. Small orgs come from the admin export in one answer; from
// 200,000 users on, the simulator could not render that in time, so the
// users are read page by page from the Users API itself (the plain list,
// then the DEPROVISIONED filter, following the Link headers) — plain HTTP,
// not oktasync's code.
func (s *sim) export(ctx context.Context, users int) ([]oktaUser, error) {
	if users < 200000 {
		var out []oktaUser
		err := s.admin(ctx, "GET", "/admin/users", nil, &out)
		return out, err
	}
	out := make([]oktaUser, 0, users)
	for _, first := range []string{"/api/v1/users?limit=200", "/api/v1/users?limit=200&filter=" + url.QueryEscape(`status eq "DEPROVISIONED"`)} {
		next := s.URL + first
		for next != "" {
			req, err := http.NewRequestWithContext(ctx, "GET", next, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "SSWS bench-token")
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, fmt.Errorf("read users for the check: %w", err)
			}
			var page []oktaUser
			if resp.StatusCode != http.StatusOK {
				_ = resp.Body.Close()
				return nil, fmt.Errorf("read users for the check: %s: HTTP %d", next, resp.StatusCode)
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			_ = resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("read users for the check: %w", err)
			}
			out = append(out, page...)
			next = ""
			for _, l := range resp.Header.Values("Link") {
				if u, rel, ok := strings.Cut(l, ";"); ok && strings.Contains(rel, `rel="next"`) {
					next = strings.Trim(strings.TrimSpace(u), "<>")
				}
			}
		}
	}
	return out, nil
}

// runResult is one run of a child process: oktasync or a databuilder publisher.
type runResult struct {
	Label      string          `json:"label"`
	Binary     string          `json:"binary,omitempty"`
	Users      int             `json:"users"`
	WallS      float64         `json:"wall_s"`
	UsersPerS  float64         `json:"users_per_s,omitempty"`
	RSSMiB     float64         `json:"peak_rss_mib,omitempty"`
	CPUS       float64         `json:"cpu_s,omitempty"`        // user+system of the child
	Neo4jCPUS  float64         `json:"neo4j_cpu_s,omitempty"`  // CPU the Neo4j server used during the run
	SimCPUS    float64         `json:"sim_cpu_s,omitempty"`    // CPU the simulator used during the run
	SearchCPUS float64         `json:"search_cpu_s,omitempty"` // CPU the search server used during the run (S8)
	LoadAvg    string          `json:"loadavg"`
	Summary    *syncSummary    `json:"summary,omitempty"`
	Publisher  json.RawMessage `json:"publisher,omitempty"`
	Search     *searchPhase    `json:"search_phase,omitempty"` // S8: the people-index step of the run
	Verified   string          `json:"verified,omitempty"`
	ExtraNotes string          `json:"notes,omitempty"`
}

// syncSummary is the part of oktasync's --summary json the benchmark reads.
// Fields newer binaries add are simply absent (zero) for older ones.
type syncSummary struct {
	Outcome        string `json:"outcome"`
	OktaRequests   int    `json:"okta_requests"`
	RateLimited    int    `json:"okta_429s"`
	Pauses         int    `json:"okta_rate_pauses"`
	Seen           int    `json:"users_seen"`
	Created        int    `json:"users_created"`
	Updated        int    `json:"users_updated"`
	Unchanged      int    `json:"users_unchanged"`
	Active         int    `json:"users_active"`
	Inactive       int    `json:"users_inactive"`
	ManagersLinked int    `json:"managers_linked"`
	ManagersKept   int    `json:"managers_kept"`
	Writes         *struct {
		UserProperties       int `json:"user_properties"`
		MetadataProperties   int `json:"metadata_properties"`
		NodesCreated         int `json:"nodes_created"`
		RelationshipsCreated int `json:"relationships_created"`
		RelationshipsDeleted int `json:"relationships_deleted"`
	} `json:"writes,omitempty"`
	Timings *struct {
		NodePass    time.Duration `json:"node_pass"`
		ManagerPass time.Duration `json:"manager_pass"`
		Reconcile   time.Duration `json:"reconcile"`
		Publish     time.Duration `json:"publish"`
	} `json:"timings,omitempty"`
	Search *struct {
		Outcome  string        `json:"outcome"`
		Index    string        `json:"index"`
		Indexed  int           `json:"indexed"`
		Removed  int           `json:"removed"`
		Error    string        `json:"error"`
		Duration time.Duration `json:"duration"`
	} `json:"search,omitempty"`
}

// syncOptions is one oktasync run.
type syncOptions struct {
	bin         string
	orgURL      string
	neo4jURI    string // "" with csvDir
	csvDir      string
	incremental bool
	config      string // YAML read over the defaults ("" = none)
	logPath     string
	watch       cpuWatch
	env         []string     // added to the environment (OKTASYNC_SEARCH_* is removed from it first)
	samples     *[]cpuSample // if not nil, CPU sampled every 50 ms during the run (S8)
}

// runSync runs `oktasync sync` as a child process and measures it: wall
// time, peak RSS and CPU from the kernel's rusage of the child.
func runSync(ctx context.Context, o syncOptions) (runResult, error) {
	args := []string{"sync", "--summary", "json", "--log-format", "json", "--log-level", "warn"}
	if o.csvDir != "" {
		args = append(args, "--csv-dir", o.csvDir)
	} else {
		args = append(args, "--neo4j-uri", o.neo4jURI)
	}
	if o.incremental {
		args = append(args, "--incremental")
	}
	if o.config != "" {
		args = append(args, "--config", o.config)
	}
	cmd := exec.CommandContext(ctx, o.bin, args...)
	cmd.Env = append(childEnv(), "OKTA_ORG_URL="+o.orgURL, "OKTA_API_TOKEN=bench-token")
	cmd.Env = append(cmd.Env, o.env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	logf, err := os.Create(o.logPath)
	if err != nil {
		return runResult{}, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	load := loadAvg()
	before := o.watch.snapshot()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return runResult{}, err
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	var sampled chan []cpuSample
	stopSampling := make(chan struct{})
	if o.samples != nil {
		sampled = make(chan []cpuSample, 1)
		go func() { sampled <- sampleCPU(o.watch, cmd.Process.Pid, start, stopSampling) }()
	}
	err = cmd.Wait()
	wall := time.Since(start)
	close(stopSampling)
	if sampled != nil {
		*o.samples = <-sampled
	}
	res := runResult{Binary: filepath.Base(o.bin), WallS: wall.Seconds(), LoadAvg: load, RSSMiB: float64(<-peak) / 1024}
	o.watch.since(before, &res)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.CPUS = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if err != nil {
		return res, fmt.Errorf("%s sync: %w (log: %s)", o.bin, err, o.logPath)
	}
	var sum syncSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		return res, fmt.Errorf("read summary of %s: %w: %q", o.bin, err, stdout.String())
	}
	res.Summary = &sum
	res.Users = sum.Seen
	res.UsersPerS = float64(sum.Seen) / wall.Seconds()
	return res, nil
}

// childEnv is this process's environment without OKTASYNC_SEARCH_*: a
// stray OKTASYNC_SEARCH_URL would turn people search on in every run.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OKTASYNC_SEARCH_") {
			out = append(out, kv)
		}
	}
	return out
}

// cpuSample is the CPU time the watched processes and the child had used
// at one moment of a run.
type cpuSample struct {
	at                        time.Duration // since the child started
	child, neo4j, search, sim float64
}

// sampleCPU reads the CPU of the child and the watched processes every
// 50 ms until stop is closed.
func sampleCPU(w cpuWatch, child int, start time.Time, stop <-chan struct{}) []cpuSample {
	var out []cpuSample
	for {
		s := w.snapshot()
		out = append(out, cpuSample{at: time.Since(start), child: procCPU(child), neo4j: s.neo4j, search: s.search, sim: s.sim})
		select {
		case <-stop: // the run is over: one last sample of the servers
			s := w.snapshot()
			return append(out, cpuSample{at: time.Since(start), neo4j: s.neo4j, search: s.search, sim: s.sim})
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// watchPeakRSS reads the child's peak resident set (VmHWM of
// /proc/PID/status, in KiB) every 20 ms until the process is gone, and then
// sends the last value read. VmHWM only grows, so at most the last 20 ms of
// growth can be missed. (The rusage maxrss of a child cannot be used: Go
// starts children with vfork, and the kernel then counts the parent's —
// this harness's — resident set into the child's maxrss at exec.)
func watchPeakRSS(pid int) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				out <- peak
				return
			}
			kb, ok := statusField(string(b), "VmHWM:")
			if !ok { // a zombie has no memory fields left: the run is over
				out <- peak
				return
			}
			peak = max(peak, kb)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return out
}

func statusField(status, name string) (int64, bool) {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, name); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// runPublisher times one of databuilder's publishers on a CSV directory
// with compat/amundsen/publish_bench.py (publish() only, into an emptied
// graph).
func runPublisher(ctx context.Context, python, script, kind, csvDir, neo4jURI string, neo4jPID int) (runResult, error) {
	cmd := exec.CommandContext(ctx, python, script, "--csv-dir", csvDir, "--neo4j-uri", neo4jURI, "--publisher", kind, "--reset", "--json",
		"--neo4j-pid", strconv.Itoa(neo4jPID))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	load := loadAvg()
	if err := cmd.Run(); err != nil {
		return runResult{}, fmt.Errorf("publish_bench %s: %w: %s", kind, err, tail(stderr.String(), 2000))
	}
	out := stdout.String()
	i := strings.Index(out, "[")
	if i < 0 {
		return runResult{}, fmt.Errorf("publish_bench %s printed no JSON: %s", kind, out)
	}
	var rs []struct {
		Publisher string  `json:"publisher"`
		NodeRows  int     `json:"node_rows"`
		Seconds   float64 `json:"seconds"`
		CPU       float64 `json:"cpu_seconds"`
		Neo4jCPU  float64 `json:"neo4j_cpu_seconds"`
	}
	if err := json.Unmarshal([]byte(out[i:]), &rs); err != nil {
		return runResult{}, fmt.Errorf("publish_bench %s output %q: %w", kind, out, err)
	}
	if len(rs) != 1 {
		return runResult{}, fmt.Errorf("publish_bench %s: %d results, want 1: %s", kind, len(rs), out)
	}
	r := rs[0]
	return runResult{Binary: r.Publisher, Users: r.NodeRows, WallS: r.Seconds, UsersPerS: float64(r.NodeRows) / r.Seconds,
		CPUS: r.CPU, Neo4jCPUS: r.Neo4jCPU, LoadAvg: load, Publisher: json.RawMessage(out[i:])}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
