package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// config is everything a run needs, assembled from defaults < YAML file <
// environment < flags. It is the only place the environment is read.
type config struct {
	Okta    okta.Config     `yaml:"okta"`
	Mapping okta.Mapping    `yaml:"mapping"`
	Neo4j   neo4j.Config    `yaml:"neo4j"`
	Sync    jobs.SyncConfig `yaml:"sync"`
	CSVDir  string          `yaml:"csv_dir"`
	Log     logConfig       `yaml:"log"`
	Serve   serveConfig     `yaml:"serve"`
	// Pushgateway, if set, receives the run metrics of `sync`.
	Pushgateway string `yaml:"pushgateway"`
}

// serveConfig configures `oktasync serve`.
type serveConfig struct {
	Listen          string                `yaml:"listen"`
	HookPath        string                `yaml:"hook_path"`
	HookAuthHeader  string                `yaml:"hook_auth_header"`
	HookMaxBody     int64                 `yaml:"hook_max_body"`
	HookSecrets     []string              `yaml:"-"` // OKTASYNC_HOOK_SECRETS, comma-separated
	HookWorker      jobs.HookWorkerConfig `yaml:"hook_worker"`
	Schedule        jobs.ScheduleConfig   `yaml:"schedule"`
	ShutdownTimeout time.Duration         `yaml:"shutdown_timeout"`
	ReadyCacheTTL   time.Duration         `yaml:"ready_cache_ttl"`
}

func (c *serveConfig) defaults() {
	if c.Listen == "" {
		c.Listen = ":8080"
	}
	if c.HookPath == "" {
		c.HookPath = "/okta/events"
	}
	if c.HookAuthHeader == "" {
		c.HookAuthHeader = "Authorization"
	}
	if c.HookMaxBody == 0 {
		c.HookMaxBody = 1 << 20
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.ReadyCacheTTL == 0 {
		c.ReadyCacheTTL = 30 * time.Second
	}
	c.HookWorker.Defaults()
	c.Schedule.Defaults()
}

func (c serveConfig) validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("serve.listen: %q is not host:port or :port", c.Listen))
	}
	if !validHeaderName(c.HookAuthHeader) {
		errs = append(errs, fmt.Errorf("serve.hook_auth_header: %q is not an HTTP header name", c.HookAuthHeader))
	}
	if c.ReadyCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("serve.ready_cache_ttl: must not be negative, got %s", c.ReadyCacheTTL))
	}
	if !strings.HasPrefix(c.HookPath, "/") {
		errs = append(errs, fmt.Errorf("serve.hook_path: must start with /, got %q", c.HookPath))
	}
	switch c.HookPath {
	case "/healthz", "/readyz", "/metrics":
		errs = append(errs, fmt.Errorf("serve.hook_path: %s is taken", c.HookPath))
	}
	if len(c.HookSecrets) == 0 {
		errs = append(errs, fmt.Errorf("serve: no event hook secret: set %s (comma-separated, several allowed for rotation)", envHookSecrets))
	}
	for _, s := range c.HookSecrets {
		if len(s) < 16 {
			errs = append(errs, fmt.Errorf("%s: every secret must be at least 16 characters", envHookSecrets))
			break
		}
	}
	if c.HookMaxBody < 1024 {
		errs = append(errs, fmt.Errorf("serve.hook_max_body: must be at least 1024 bytes, got %d", c.HookMaxBody))
	}
	if c.ShutdownTimeout < time.Second {
		errs = append(errs, fmt.Errorf("serve.shutdown_timeout: must be at least 1s, got %s", c.ShutdownTimeout))
	}
	if err := c.HookWorker.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Schedule.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type logConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto, json, console
}

// env names, the documented interface.
const (
	envOrgURL         = "OKTA_ORG_URL"
	envToken          = "OKTA_API_TOKEN"
	envClientID       = "OKTA_CLIENT_ID"
	envPrivateKey     = "OKTA_PRIVATE_KEY"
	envPrivateKeyFile = "OKTA_PRIVATE_KEY_FILE"
	envKeyID          = "OKTA_KEY_ID"
	envNeo4jURI       = "NEO4J_URI"
	envNeo4jUser      = "NEO4J_USERNAME"
	envNeo4jPassword  = "NEO4J_PASSWORD"
	envNeo4jDatabase  = "NEO4J_DATABASE"
	envHookSecrets    = "OKTASYNC_HOOK_SECRETS"
	envPushgateway    = "OKTASYNC_PUSHGATEWAY_URL"
)

// flags are the command-line overrides of a sync.
type flags struct {
	fs          *flag.FlagSet
	serve       bool // the serve command: its section is validated, sync-only checks are not
	configFile  string
	summary     string
	incremental bool
	dryRun      bool
	force       bool
	values      map[string]*string
}

// syncFlagHelp lists the overriding flags of `oktasync sync` and their help.
func syncFlagHelp() [][2]string {
	return [][2]string{
		{"okta-org-url", "Okta org URL (env OKTA_ORG_URL)"},
		{"okta-client-id", "OAuth service app client id (env OKTA_CLIENT_ID)"},
		{"okta-key-id", "service app key id, the JWT kid (env OKTA_KEY_ID)"},
		{"okta-page-size", "users per Okta page, 1-200 (default 200)"},
		{"neo4j-uri", "Neo4j Bolt URI (env NEO4J_URI, default bolt://127.0.0.1:7687)"},
		{"neo4j-username", "Neo4j user (env NEO4J_USERNAME; none for a server with auth off)"},
		{"neo4j-database", "Neo4j database (env NEO4J_DATABASE, default neo4j)"},
		{"batch-size", "users per Neo4j transaction (default 2000)"},
		{"published-tag", "published_tag written on nodes and edges (default: run start time, UTC)"},
		{"csv-dir", "write databuilder-format CSV files to this directory instead of Neo4j"},
		{"max-deactivate", "largest share (0-1] of managed users a full sync may deactivate (default 0.1)"},
		{"log-level", "debug, info, warn or error (default info)"},
		{"log-format", "auto, json or console (default auto: console on a terminal)"},
		{"pushgateway", "push run metrics to this Prometheus Pushgateway URL (env OKTASYNC_PUSHGATEWAY_URL)"},
	}
}

// serveFlagHelp lists the overriding flags of `oktasync serve`.
func serveFlagHelp() [][2]string {
	return [][2]string{
		{"listen", "address of the HTTP server: hooks, /healthz, /readyz, /metrics (default :8080)"},
		{"okta-org-url", "Okta org URL (env OKTA_ORG_URL)"},
		{"neo4j-uri", "Neo4j Bolt URI (env NEO4J_URI, default bolt://127.0.0.1:7687)"},
		{"log-level", "debug, info, warn or error (default info)"},
		{"log-format", "auto, json or console (default auto: console on a terminal)"},
	}
}

// newFlags builds the flag set of one command: --config plus the string
// overrides in help, with a usage text saying what the command does.
func newFlags(out io.Writer, command, about string, help [][2]string) *flags {
	f := &flags{fs: flag.NewFlagSet("oktasync "+command, flag.ContinueOnError), values: map[string]*string{}}
	f.fs.SetOutput(out)
	f.fs.StringVar(&f.configFile, "config", "", "YAML config file")
	for _, h := range help {
		f.values[h[0]] = f.fs.String(h[0], "", h[1])
	}
	f.fs.Usage = func() {
		fmt.Fprintf(out, "Usage: oktasync %s [flags]\n\n%s\nPrecedence: flags > environment > --config file > defaults.\n\nFlags:\n", command, about)
		f.fs.PrintDefaults()
	}
	return f
}

func newServeFlags(out io.Writer) *flags {
	f := newFlags(out, "serve", "Receives Okta event hooks, runs scheduled syncs, serves /healthz, /readyz and /metrics.", serveFlagHelp())
	f.serve, f.summary = true, "none"
	return f
}

func newSyncFlags(out io.Writer) *flags {
	f := newFlags(out, "sync", "Reads every Okta user and makes Amundsen's :User nodes match.", syncFlagHelp())
	f.fs.StringVar(&f.summary, "summary", "auto", "print the run summary: auto (on a terminal), text, json or none")
	f.fs.BoolVar(&f.incremental, "incremental", false, "read only users changed since the last run's watermark (falls back to a full sync without one)")
	f.fs.BoolVar(&f.dryRun, "dry-run", false, "read Okta and the graph, print the plan, write nothing")
	f.fs.BoolVar(&f.force, "force", false, "deactivate users gone from Okta even above --max-deactivate")
	return f
}

// loadConfig builds the config and reports every problem in one error.
func loadConfig(f *flags, getenv func(string) string, readFile func(string) ([]byte, error)) (config, error) {
	var c config
	var errs []error
	if f.configFile != "" {
		data, err := readFile(f.configFile)
		if err != nil {
			return c, fmt.Errorf("--config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("--config %s: %w", f.configFile, err)
		}
	}
	// Environment.
	setStr := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	setStr(&c.Okta.OrgURL, envOrgURL)
	setStr(&c.Okta.Token, envToken)
	setStr(&c.Okta.ClientID, envClientID)
	setStr(&c.Okta.KeyID, envKeyID)
	setStr(&c.Okta.PrivateKey, envPrivateKey)
	if path := getenv(envPrivateKeyFile); path != "" {
		if c.Okta.PrivateKey != "" {
			errs = append(errs, fmt.Errorf("%s and %s: set only one", envPrivateKey, envPrivateKeyFile))
		} else if data, err := readFile(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envPrivateKeyFile, err))
		} else {
			c.Okta.PrivateKey = string(data)
		}
	}
	setStr(&c.Neo4j.URI, envNeo4jURI)
	setStr(&c.Neo4j.Username, envNeo4jUser)
	setStr(&c.Neo4j.Password, envNeo4jPassword)
	setStr(&c.Neo4j.Database, envNeo4jDatabase)
	setStr(&c.Pushgateway, envPushgateway)
	if v := getenv(envHookSecrets); v != "" {
		c.Serve.HookSecrets = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.Serve.HookSecrets = append(c.Serve.HookSecrets, s)
			}
		}
	}

	// Flags, only those given.
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	str := func(name string, dst *string) {
		if set[name] {
			*dst = *f.values[name]
		}
	}
	num := func(name string, dst *int) {
		if !set[name] {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(*f.values[name]))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %q is not a number", name, *f.values[name]))
			return
		}
		*dst = n
	}
	str("okta-org-url", &c.Okta.OrgURL)
	str("okta-client-id", &c.Okta.ClientID)
	str("okta-key-id", &c.Okta.KeyID)
	num("okta-page-size", &c.Okta.PageSize)
	str("neo4j-uri", &c.Neo4j.URI)
	str("neo4j-username", &c.Neo4j.Username)
	str("neo4j-database", &c.Neo4j.Database)
	num("batch-size", &c.Sync.BatchSize)
	if set["batch-size"] {
		c.Neo4j.BatchSize = c.Sync.BatchSize
	}
	str("published-tag", &c.Neo4j.PublishedTag)
	str("csv-dir", &c.CSVDir)
	if set["max-deactivate"] {
		v, err := strconv.ParseFloat(strings.TrimSpace(*f.values["max-deactivate"]), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--max-deactivate: %q is not a number", *f.values["max-deactivate"]))
		} else {
			c.Sync.MaxDeactivate = v
		}
	}
	str("log-level", &c.Log.Level)
	str("log-format", &c.Log.Format)
	str("pushgateway", &c.Pushgateway)
	str("listen", &c.Serve.Listen)

	// Defaults, then one validation pass over everything.
	c.Okta.Mapping = c.Mapping
	c.Okta.Defaults()
	c.Mapping = c.Okta.Mapping
	c.Neo4j.Defaults()
	c.Sync.Defaults()
	c.Serve.defaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "auto"
	}
	if err := c.Okta.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.CSVDir == "" {
		if err := c.Neo4j.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.CSVDir != "" && (f.incremental || f.dryRun) {
		errs = append(errs, errors.New("--csv-dir: CSV output supports full syncs only, not --incremental or --dry-run"))
	}
	if err := c.Sync.Validate(); err != nil {
		errs = append(errs, err)
	}
	if f.serve {
		if c.CSVDir != "" {
			errs = append(errs, errors.New("csv_dir: serve writes to Neo4j; remove csv_dir"))
		}
		if err := c.Serve.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Pushgateway != "" {
		if u, err := url.Parse(c.Pushgateway); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("pushgateway: not an http(s) URL like http://pushgateway:9091"))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("log.format: must be auto, json or console, got %q", c.Log.Format))
	}
	switch f.summary {
	case "auto", "text", "json", "none":
	default:
		errs = append(errs, fmt.Errorf("--summary: must be auto, text, json or none, got %q", f.summary))
	}
	return c, errors.Join(errs...)
}

// configError formats every problem, one per line.
func configError(err error) string {
	var lines []string
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		lines = append(lines, "  - "+e.Error())
	}
	walk(err)
	return "invalid configuration:\n" + strings.Join(lines, "\n")
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// validHeaderName reports whether s is an HTTP header field name (RFC 9110
// token characters).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}
