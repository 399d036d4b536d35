// Command oktasim serves a simulated Okta org (Users API, OAuth token
// endpoint, OIDC sign-in, rate limits, injectable faults and an admin API)
// for tests, `make demo` and benchmarks. OIDC apps are registered through
// the admin API (POST /admin/oidc/apps; see package oktasim).
//
// Usage:
//
//	oktasim --users 10000 --seed 1 --addr 127.0.0.1:0
//
// Once listening it prints "OKTASIM_READY http://HOST:PORT" on stdout, so
// scripts can capture the org URL; a readable start line goes to stderr. It
// binds only to loopback addresses unless --allow-remote is given, and
// shuts down cleanly on SIGINT or SIGTERM.
//
// With --groups N it also generates N groups served by the Groups API:
// teams as groups (team-<department>, nested team-<department>-<sub>,
// empty team-archived-N), Everyone, an APP_GROUP and groups that are not
// teams; GET /admin/groups lists them with their members.
//
// With --hook-url it also acts as an Okta event hook: before printing the
// ready line it sends the verification GET (and logs the result; it
// delivers even if verification fails, which Okta would not), then POSTs
// the events of admin changes to the URL, authenticated with
// --hook-header: --hook-secret. On shutdown it stops serving, delivers
// what is pending (for at most 5s) and logs the hook's counters.
//
//	oktasim --users 100 --hook-url http://127.0.0.1:8080/okta/events \
//	        --hook-secret s3cret --hook-duplicates 0.1 --hook-shuffle
package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/oktasync/oktasync/internal/oktasim"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command-line flags.
type options struct {
	users         int
	groups        int
	seed          int64
	shape         string
	addr          string
	allowRemote   bool
	token         string
	rateLimit     int
	rateWindow    time.Duration
	latency       time.Duration
	errorRate     float64
	resetRate     float64
	malformedRate float64
	failAfter     int
	clientID      string
	clientKeyFile string

	hookURL        string
	hookHeader     string
	hookSecret     string
	hookBatch      time.Duration
	hookMaxEvents  int
	hookDuplicates float64
	hookShuffle    bool
	hookTimeout    time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("oktasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.users, "users", 1000, "number of generated users")
	fs.IntVar(&o.groups, "groups", 0, "number of generated groups: teams as groups, Everyone and non-team groups (0: none)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for deterministic generation and fault decisions")
	fs.StringVar(&o.shape, "shape", oktasim.ShapeDefault, "org shape: "+strings.Join(oktasim.Shapes(), ", ")+" (flat: no managers; deep: manager chains of "+strconv.Itoa(oktasim.DeepChain)+")")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow binding to a non-loopback address")
	fs.StringVar(&o.token, "token", "", "the only accepted SSWS API token (default: any non-empty token)")
	fs.IntVar(&o.rateLimit, "rate-limit", oktasim.DefaultRateLimit, "requests per window per rate-limit bucket")
	fs.DurationVar(&o.rateWindow, "rate-window", oktasim.DefaultRateWindow, "rate-limit window")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every API request")
	fs.Float64Var(&o.errorRate, "error-rate", 0, "fraction of API requests answered with 500")
	fs.Float64Var(&o.resetRate, "reset-rate", 0, "fraction of API requests whose connection is closed without a response")
	fs.Float64Var(&o.malformedRate, "malformed-rate", 0, "fraction of list pages served with truncated JSON")
	fs.IntVar(&o.failAfter, "fail-after", 0, "if > 0, fail every API request with 500 after this many list pages")
	fs.StringVar(&o.clientID, "client-id", "", "OAuth service-app client id (needs --client-public-key)")
	fs.StringVar(&o.clientKeyFile, "client-public-key", "", "PEM file with the service app's RSA public key (a private key is accepted too)")
	fs.StringVar(&o.hookURL, "hook-url", "", "deliver Okta event hooks for admin changes to this URL")
	fs.StringVar(&o.hookHeader, "hook-header", oktasim.DefaultHookAuthHeader, "name of the event hook auth header")
	fs.StringVar(&o.hookSecret, "hook-secret", "", "value of the event hook auth header (the shared secret)")
	fs.DurationVar(&o.hookBatch, "hook-batch", oktasim.DefaultHookBatch, "how long events are amalgamated into one delivery")
	fs.IntVar(&o.hookMaxEvents, "hook-max-events", oktasim.DefaultHookMaxEvents, "maximum events per delivery")
	fs.Float64Var(&o.hookDuplicates, "hook-duplicates", 0, "fraction of deliveries sent twice")
	fs.BoolVar(&o.hookShuffle, "hook-shuffle", false, "deliver events out of order")
	fs.DurationVar(&o.hookTimeout, "hook-timeout", oktasim.DefaultHookTimeout, "timeout of each delivery attempt")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	if (o.clientID == "") != (o.clientKeyFile == "") {
		errs = append(errs, errors.New("--client-id and --client-public-key must be given together"))
	}
	for name, v := range map[string]float64{"--error-rate": o.errorRate, "--reset-rate": o.resetRate, "--malformed-rate": o.malformedRate} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be within [0, 1], got %g", name, v))
		}
	}
	if o.latency < 0 {
		errs = append(errs, errors.New("--latency must not be negative"))
	}
	if o.failAfter < 0 {
		errs = append(errs, errors.New("--fail-after must not be negative"))
	}
	if err := checkLoopback(o.addr, o.allowRemote); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(o.hookURL); o.hookURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("--hook-url %q must be an absolute http(s) URL", o.hookURL))
	}
	if o.hookURL == "" {
		fs.Visit(func(f *flag.Flag) {
			if strings.HasPrefix(f.Name, "hook-") {
				errs = append(errs, fmt.Errorf("--%s needs --hook-url", f.Name))
			}
		})
	}
	if o.hookDuplicates < 0 || o.hookDuplicates > 1 {
		errs = append(errs, fmt.Errorf("--hook-duplicates must be within [0, 1], got %g", o.hookDuplicates))
	}
	if o.hookBatch <= 0 || o.hookTimeout <= 0 || o.hookMaxEvents <= 0 {
		errs = append(errs, errors.New("--hook-batch, --hook-timeout and --hook-max-events must be positive"))
	}
	return o, errors.Join(errs...)
}

// checkLoopback refuses addresses that would expose the simulator beyond
// this machine unless allowRemote is set.
func checkLoopback(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--addr %q is not a loopback address; pass --allow-remote to bind to it", addr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "oktasim: %v\n", err)
		return exitUsage
	}
	cfg := oktasim.Config{
		Users:      o.users,
		Groups:     o.groups,
		Seed:       o.seed,
		Shape:      o.shape,
		Token:      o.token,
		RateLimit:  o.rateLimit,
		RateWindow: o.rateWindow,
	}
	if o.clientID != "" {
		pemData, err := os.ReadFile(o.clientKeyFile)
		if err != nil {
			fmt.Fprintf(stderr, "oktasim: reading --client-public-key: %v\n", err)
			return exitUsage
		}
		key, err := oktasim.ParseRSAPublicKeyPEM(pemData)
		if err != nil {
			fmt.Fprintf(stderr, "oktasim: --client-public-key %s: %v\n", o.clientKeyFile, err)
			return exitUsage
		}
		cfg.Clients = map[string]*rsa.PublicKey{o.clientID: key}
	}
	sim, err := oktasim.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "oktasim: %v\n", err)
		return exitUsage
	}
	sim.SetFaults(oktasim.Faults{
		ErrorRate:     o.errorRate,
		ResetRate:     o.resetRate,
		MalformedRate: o.malformedRate,
		Latency:       o.latency,
		FailAfter:     o.failAfter,
	})

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "oktasim: %v\n", err)
		return exitError
	}
	base := "http://" + ln.Addr().String()
	hs := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      max(time.Minute, o.latency+time.Minute),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(stderr, "oktasim: http: ", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	fmt.Fprintf(stderr, "oktasim: %d users (seed %d) on %s\n", o.users, o.seed, base)
	var hooks *oktasim.Hooks
	if o.hookURL != "" {
		hooks, err = sim.StartHooks(oktasim.HookConfig{
			URL:           o.hookURL,
			AuthHeader:    o.hookHeader,
			AuthValue:     o.hookSecret,
			Batch:         o.hookBatch,
			MaxEvents:     o.hookMaxEvents,
			DuplicateRate: o.hookDuplicates,
			Shuffle:       o.hookShuffle,
			Timeout:       o.hookTimeout,
			Seed:          o.seed,
			OrgURL:        base,
		})
		if err != nil {
			fmt.Fprintf(stderr, "oktasim: %v\n", err)
			_ = hs.Close()
			return exitUsage
		}
		defer func() { _ = hooks.Close() }() // the process ends; nothing is pending once Run returned
		if err := hooks.Verify(ctx); err != nil {
			fmt.Fprintf(stderr, "oktasim: event hook %s: %v; delivering anyway (Okta would not)\n", o.hookURL, err)
		} else {
			fmt.Fprintf(stderr, "oktasim: event hook %s verified (id %s)\n", o.hookURL, hooks.ID())
		}
	}
	fmt.Fprintf(stdout, "OKTASIM_READY %s\n", base)

	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "oktasim: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "oktasim: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "oktasim: shutdown: %v\n", err)
		return exitError
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "oktasim: %v\n", err)
		return exitError
	}
	if hooks != nil {
		// No admin change can arrive any more: deliver what is pending.
		fctx, fcancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := hooks.Flush(fctx); err != nil {
			fmt.Fprintf(stderr, "oktasim: event hook: final flush: %v\n", err)
		}
		fcancel()
		_ = hooks.Close()
		st := hooks.Stats()
		fmt.Fprintf(stderr, "oktasim: event hook: %d deliveries (%d events), %d duplicates, %d retries, %d succeeded, %d failed %v, %d dropped, %d discarded\n",
			st.Deliveries, st.Events, st.Duplicates, st.Retries, st.Succeeded, st.Failed, st.FailuresByStatus, st.Dropped, st.Discarded)
	}
	return exitOK
}
