// Command oktasync syncs Okta users into Amundsen's Neo4j graph.
//
//	oktasync sync [flags]    one full sync (CLI, Kubernetes CronJob)
//	oktasync serve [flags]   event hooks, schedules, health and metrics
//	oktasync lookup USER_ID  show a user as Amundsen reads it
//	oktasync version
//
// Exit codes: 0 success; 1 the run failed (Okta or Neo4j error, interrupted);
// 2 bad configuration or usage; 3 refused: a full sync would have deactivated
// more users, or merged more case-variant stubs, than allowed, and did
// neither; 4 the graph is in sync but the people-search index could not be
// updated. See the README.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher"
	csvsink "github.com/oktasync/oktasync/publisher/csv"
	"github.com/oktasync/oktasync/publisher/elasticsearch"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitConfig  = 2
	exitRefused = 3
	exitSearch  = 4
)

// version, commit and date are set by the linker at build time: -ldflags
// "-X main.version=... -X main.commit=... -X main.date=..." (make build and
// the Dockerfile stamp them; a plain go build leaves "dev").
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionLine is what `oktasync version` prints.
func versionLine() string {
	s := "oktasync " + version
	switch {
	case commit != "" && date != "":
		s += fmt.Sprintf(" (commit %s, %s)", commit, date)
	case commit != "":
		s += fmt.Sprintf(" (commit %s)", commit)
	}
	return s
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: testable, and it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitConfig
	}
	switch args[0] {
	case "sync":
		return runSync(ctx, args[1:], getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "lookup":
		return runLookup(ctx, args[1:], getenv, stdout, stderr)
	case "hooks":
		return runHooks(ctx, args[1:], getenv, stdout, stderr)
	case "check-config":
		return runCheckConfig(args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "oktasync: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitConfig
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `oktasync keeps Amundsen's :User nodes in Neo4j in step with Okta.

Usage:
  oktasync sync [flags]   read every Okta user and update the graph (see oktasync sync -h)
  oktasync serve [flags]  receive Okta event hooks, run scheduled syncs, serve /healthz /readyz /metrics
  oktasync lookup USER_ID print a user as Amundsen's metadata service reads it
  oktasync hooks register --url URL  create or update the Okta event hook for serve, and verify it
  oktasync hooks status   show the event hook
  oktasync check-config   validate the configuration (--serve: as serve), no I/O
  oktasync version        print the version

Exit codes: 0 success, 1 run failed, 2 bad configuration or usage,
3 refused to deactivate more users, or merge more case-variant stubs, than
  allowed (nobody was deactivated, no stub was merged),
4 the graph is in sync but the people-search index could not be updated.
`)
}

// setup parses the command line, loads and validates the configuration and
// builds the logger. A nil logger means the command ends with code.
func setup(f *flags, args []string, getenv func(string) string, stderr io.Writer) (config, *zap.Logger, int) {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, nil, exitOK
		}
		return config{}, nil, exitConfig
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", f.fs.Name(), f.fs.Arg(0))
		return config{}, nil, exitConfig
	}
	cfg, err := loadConfig(f, getenv, readFile)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return config{}, nil, exitConfig
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", err)
		return config{}, nil, exitConfig
	}
	return cfg, log, exitOK
}

func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f := newSyncFlags(stderr)
	cfg, log, code := setup(f, args, getenv, stderr)
	if log == nil {
		return code
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable

	src, err := okta.New(cfg.Okta, log)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	search, err := newPeopleIndex(cfg.Search, log)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	if search != nil {
		defer search.Close()
	}
	var (
		sink  publisher.Publisher
		csv   *csvsink.Sink
		neo   *neo4j.Publisher
		where string
	)
	if cfg.CSVDir != "" {
		csv = csvsink.New(cfg.CSVDir)
		sink, where = csv, "csv:"+cfg.CSVDir
	} else {
		neo, err = neo4j.New(cfg.Neo4j, log)
		if err != nil {
			fmt.Fprintln(stderr, "oktasync:", configError(err))
			return exitConfig
		}
		defer func() {
			if err := neo.Close(context.WithoutCancel(ctx)); err != nil {
				log.Debug("close neo4j driver", zap.Error(err))
			}
		}()
		if err := neo.Verify(ctx); err != nil {
			log.Error("sync failed", zap.Error(err))
			hint := "Check NEO4J_URI and that the server is running"
			if neo4j.AuthFailed(err) {
				hint = "Check NEO4J_USERNAME and NEO4J_PASSWORD"
			}
			fmt.Fprintf(stderr, "oktasync: %v\n%s; nothing was read or written.\n", err, hint)
			return exitFailed
		}
		sink, where = neo, cfg.Neo4j.URI
	}

	mode := jobs.Full
	if f.incremental {
		mode = jobs.Incremental
	}
	job := &jobs.Sync{Config: cfg.Sync, Source: src, Publisher: sink, Log: log,
		Mode: mode, Org: cfg.Okta.OrgURL, Identity: src, Rehome: f.rehomeOrg, Force: f.force, Search: peopleIndex(search)}
	sum, runErr := job.Run(ctx)
	if runErr != nil && ctx.Err() != nil && !errors.Is(runErr, ctx.Err()) {
		// The driver says a cancelled read in its own words: name the cause.
		runErr = fmt.Errorf("%w (%w)", runErr, ctx.Err())
	}
	if csv != nil {
		if err := csv.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close csv files: %w", err)
		}
		sum.CSVFiles = csv.Files()
	}
	fields := append(sum.Fields(), zap.String("target", where))
	if runErr != nil {
		log.Error("sync failed", append(fields, zap.Error(runErr))...)
	} else {
		log.Info("sync finished", fields...)
	}
	if cfg.Pushgateway != "" {
		if err := pushMetrics(context.WithoutCancel(ctx), cfg.Pushgateway, sum); err != nil {
			// The client's errors quote the URL; keep any credentials in it out of the log.
			msg := err.Error()
			if u, perr := url.Parse(cfg.Pushgateway); perr == nil && u.User != nil {
				msg = strings.ReplaceAll(msg, u.User.String()+"@", "")
			}
			log.Warn("push metrics to the Pushgateway failed", zap.String("error", msg))
		}
	}
	summary := f.summary
	if summary == "auto" && f.dryRun {
		summary = "text" // the plan is the point of a dry run
	}
	printSummary(stdout, summary, sum, runErr)
	if runErr != nil {
		fmt.Fprintln(stderr, "oktasync:", explain(runErr))
		if jobs.Refused(runErr) {
			return exitRefused
		}
		if errors.As(runErr, new(*jobs.SearchError)) {
			return exitSearch
		}
		return exitFailed
	}
	return exitOK
}

// newPeopleIndex is the people-search sink the config asks for, or nil
// (people search off).
func newPeopleIndex(cfg elasticsearch.Config, log *zap.Logger) (*elasticsearch.Index, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	return elasticsearch.New(cfg, log)
}

// peopleIndex is x for a job: a nil interface when people search is off.
func peopleIndex(x *elasticsearch.Index) publisher.PeopleIndex {
	if x == nil {
		return nil
	}
	return x
}

// explain adds what to do to the errors an operator can fix.
func explain(err error) string {
	var ae *okta.APIError
	switch {
	case errors.As(err, &ae) && ae.Auth():
		scope := "okta.users.read"
		switch {
		case ae.Missing != "":
			scope = ae.Missing
		case len(ae.Scopes) > 0:
			scope = strings.Join(ae.Scopes, " ")
		}
		return fmt.Sprintf("%v\nOkta refused the credentials: check OKTA_API_TOKEN (or the service app's client id, key and %s grant) and that it has a read-only admin role. Nothing was written.", err, scope)
	case errors.As(err, new(*jobs.RefusedError)):
		r := new(*jobs.RefusedError)
		errors.As(err, r)
		return fmt.Sprintf("%v\nOkta no longer returns them (e.g. %s). If that is expected — a real reorganisation — run again with --force, or raise sync.max_deactivate (--max-deactivate). If not, check the Okta token's admin role and any group restrictions: a read that silently sees fewer users looks exactly like this.",
			err, strings.Join((*r).Examples, ", "))
	case errors.As(err, new(*jobs.MergeRefusedError)):
		r := new(*jobs.MergeRefusedError)
		errors.As(err, r)
		return fmt.Sprintf("%v\nThese are :User nodes without okta_id whose key is a synced user's but for case (e.g. %s), such as the stubs Amundsen's frontend makes from a sign-in email taken verbatim; each would be merged into the synced user, its relationships moved and the stub deleted. If that is expected — the first sync after switching the frontend to a lowercased user_id — run again with --force, or raise sync.max_stub_merges (--max-stub-merges). If not, find out which writer creates mixed-case keys first.",
			err, strings.Join((*r).Examples, ", "))
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("%v\nInterrupted: batches already written are complete; run again to finish.", err)
	case errors.As(err, new(*neo4j.TimeoutError)):
		return fmt.Sprintf("%v\nAnother client kept a write transaction open on users oktasync writes (an Amundsen service, a databuilder job, a session left open in a Neo4j console): end it (SHOW TRANSACTIONS lists them on Neo4j 4.4 and later), or raise neo4j.transaction_timeout or neo4j.max_transaction_retry_time. Batches already written are complete; run again to finish.", err)
	}
	return err.Error()
}

func newLogger(c logConfig, stderr io.Writer) (*zap.Logger, error) {
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	format := c.Format
	if format == "auto" {
		format = "json"
		if isTerminal(stderr) {
			format = "console"
		}
	}
	if format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(stderr), level)
	return zap.New(core).With(zap.String("app", "oktasync")), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, mode string, s jobs.Summary, err error) {
	if mode == "auto" {
		mode = "none"
		if isTerminal(w) {
			mode = "text"
		}
	}
	switch mode {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
	case "text":
		fmt.Fprint(w, s.Text())
	}
}

// pushMetrics sends the run's metrics to a Prometheus Pushgateway, grouped
// by job "oktasync" and the run mode (full or incremental: each keeps its
// own series), as batch jobs do.
func pushMetrics(ctx context.Context, url string, sum jobs.Summary) error {
	reg := prometheus.NewRegistry()
	jobs.NewMetrics(reg).ObserveRun(sum.Kind, sum)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// Add (POST), not Push (PUT): a failed run must not erase the last
	// success timestamp of an earlier run in the same group.
	return push.New(url, "oktasync").Gatherer(reg).Grouping("mode", sum.Kind).AddContext(ctx)
}
