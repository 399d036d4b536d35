// Command bench is oktasync's benchmark harness (`make bench`): it runs the
// benchmark scenarios against a real Neo4j (NEO4J_TEST_URI, which it empties
// between runs) and the Okta simulator, each in its own process, checks the
// graph after every run, keeps the raw results as JSON under bench/results/
// and writes the table of BENCHMARKS.md. It is never part of the product
// binary, and it is not a test: nothing here asserts a speed.
//
//	go run ./bench --scenarios S1,S2,S5 --users 100000
//
// oktasync runs as the real binary (bin/oktasync) in a child process, so its
// peak RSS and CPU come from the kernel (rusage), not from Go's heap.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	scenarios  []string
	users      []int
	large      bool
	seed       int64
	neo4jURI   string
	neo4jPID   int // the server's pid, to measure its CPU (0: not measured)
	searchURL  string
	searchPID  int // the search server's pid (0: not measured)
	oktasync   string
	oktasim    string
	baseBin    string
	syncConfig string
	repeats    int
	python     string
	out        string
	resultsDir string
	command    string
	smoke      bool
	render     string // a raw results file to render into out, instead of running
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	scen := fs.String("scenarios", "S1,S2,S5", "scenarios to run, comma-separated: "+strings.Join(scenarioNames(), ","))
	users := fs.String("users", "", "org sizes, comma-separated (default: 10000,100000 for S1/S2, 100000 for the others)")
	fs.BoolVar(&o.large, "large", false, "add the 1,000,000-user runs of S1 and S2")
	fs.Int64Var(&o.seed, "seed", 3, "simulator seed")
	fs.StringVar(&o.neo4jURI, "neo4j-uri", os.Getenv("NEO4J_TEST_URI"), "Neo4j to benchmark against; it is EMPTIED between runs (default $NEO4J_TEST_URI)")
	pid, _ := strconv.Atoi(os.Getenv("NEO4J_TEST_PID"))
	fs.IntVar(&o.neo4jPID, "neo4j-pid", pid, "the Neo4j server's pid, to report its CPU time per run (default $NEO4J_TEST_PID, which scripts/with-neo4j sets)")
	fs.StringVar(&o.searchURL, "search-url", os.Getenv("SEARCH_TEST_URL"), "search server for S8 (OpenSearch/Elasticsearch); S8 deletes its own aliases' indexes on it (default $SEARCH_TEST_URL, which scripts/with-search sets)")
	spid, _ := strconv.Atoi(os.Getenv("SEARCH_TEST_PID"))
	fs.IntVar(&o.searchPID, "search-pid", spid, "the search server's pid, to report its CPU time in S8 (default $SEARCH_TEST_PID, which scripts/with-search sets)")
	fs.StringVar(&o.oktasync, "oktasync", "bin/oktasync", "the oktasync binary under test")
	fs.StringVar(&o.oktasim, "oktasim", "bin/oktasim", "the simulator binary")
	fs.StringVar(&o.baseBin, "base", "", "an older oktasync binary: S1 and S2 then run A-B-A (this, base, this) on the same server")
	fs.StringVar(&o.syncConfig, "sync-config", "", "a YAML config file for the oktasync under test (e.g. sync.writers)")
	fs.IntVar(&o.repeats, "repeats", 1, "runs of each measurement; with --base, runs of the base between runs of this build")
	fs.StringVar(&o.python, "python", "compat/amundsen/.venv/bin/python", "the compat venv's python (databuilder, for S5)")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "the report to update (its generated section), \"\" for none")
	fs.StringVar(&o.resultsDir, "results", "bench/results", "directory for the raw JSON results")
	fs.StringVar(&o.command, "command", "", "the command line to record (default: this one)")
	fs.BoolVar(&o.smoke, "smoke", false, "a small run for CI: checks the harness and the graph, records nothing")
	fs.StringVar(&o.render, "render", "", "render a raw results file (bench/results/*.json) into --out and print it, running nothing")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.neo4jURI == "" && o.render == "" {
		return o, fmt.Errorf("no Neo4j: set NEO4J_TEST_URI (make bench starts a private one) or --neo4j-uri")
	}
	known := map[string]bool{}
	for _, n := range scenarioNames() {
		known[n] = true
	}
	for _, s := range strings.Split(*scen, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if !known[s] {
			return o, fmt.Errorf("--scenarios: unknown scenario %q (known: %s)", s, strings.Join(scenarioNames(), ","))
		}
		o.scenarios = append(o.scenarios, s)
	}
	for _, u := range strings.Split(*users, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		n, err := strconv.Atoi(u)
		if err != nil || n < 1 {
			return o, fmt.Errorf("--users: %q is not a positive number", u)
		}
		o.users = append(o.users, n)
	}
	for _, s := range o.scenarios {
		if s == "S8" && o.searchURL == "" && o.render == "" {
			return o, fmt.Errorf("S8 needs a search server: set SEARCH_TEST_URL (make bench starts a private one with scripts/with-search) or --search-url")
		}
	}
	if o.repeats < 1 {
		return o, fmt.Errorf("--repeats must be at least 1")
	}
	if o.command == "" {
		o.command = "go run ./bench " + strings.Join(args, " ")
	}
	for _, p := range []*string{&o.oktasync, &o.oktasim, &o.baseBin, &o.python} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return o, err
			}
			*p = abs
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.render != "" {
		return render(o)
	}
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	defer b.close(ctx)
	return b.runAll(ctx)
}
