package main

import (
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

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/jobs"
	"github.com/oktasync/oktasync/publisher/elasticsearch"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// config is everything a run needs, assembled from defaults < YAML file <
// environment < flags. It is the only place the environment is read.
// Each package's config is defaulted by its Default function and read
// over: an explicit zero in the file or a flag stays zero.
type config struct {
	Okta   okta.Config
	Neo4j  neo4j.Config
	Search elasticsearch.Config
	Sync   jobs.SyncConfig
	CSVDir string
	Log    logConfig
	Serve  serveConfig
	// Pushgateway, if set, receives the run metrics of `sync`.
	Pushgateway string
}

// fileConfig is the layout of the YAML file: each section points into the
// config it sets, so that the mapping, say, has one home (okta.Config).
// decodeFile walks it by its yaml tags, key by key.
type fileConfig struct {
	Okta        *okta.Config          `yaml:"okta"`
	Mapping     *okta.Mapping         `yaml:"mapping"`
	Neo4j       *neo4j.Config         `yaml:"neo4j"`
	Search      *elasticsearch.Config `yaml:"search"`
	Sync        *jobs.SyncConfig      `yaml:"sync"`
	CSVDir      *string               `yaml:"csv_dir"`
	Log         *logConfig            `yaml:"log"`
	Serve       *serveConfig          `yaml:"serve"`
	Pushgateway *string               `yaml:"pushgateway"`
}

func defaultConfig() config {
	return config{
		Okta:   okta.DefaultConfig(),
		Neo4j:  neo4j.DefaultConfig(),
		Search: elasticsearch.DefaultConfig(),
		Sync:   jobs.DefaultSyncConfig(),
		Log:    logConfig{Level: "info", Format: "auto"},
		Serve:  defaultServeConfig(),
	}
}

// serveConfig configures `oktasync serve`.
type serveConfig struct {
	Listen          string                `yaml:"listen"`
	HookPath        string                `yaml:"hook_path"`
	Hook            okta.HookConfig       `yaml:",inline"` // hook_auth_header, hook_max_body; secrets from OKTASYNC_HOOK_SECRETS
	HookWorker      jobs.HookWorkerConfig `yaml:"hook_worker"`
	Schedule        jobs.ScheduleConfig   `yaml:"schedule"`
	ShutdownTimeout time.Duration         `yaml:"shutdown_timeout"`
	ReadyCacheTTL   time.Duration         `yaml:"ready_cache_ttl"`
}

func defaultServeConfig() serveConfig {
	return serveConfig{
		Listen:          ":8080",
		HookPath:        "/okta/events",
		Hook:            okta.DefaultHookConfig(),
		HookWorker:      jobs.DefaultHookWorkerConfig(),
		Schedule:        jobs.DefaultScheduleConfig(),
		ShutdownTimeout: 25 * time.Second,
		ReadyCacheTTL:   30 * time.Second,
	}
}

func (c serveConfig) validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("serve.listen: %q is not host:port or :port", c.Listen))
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
	if c.ShutdownTimeout < time.Second {
		errs = append(errs, fmt.Errorf("serve.shutdown_timeout: must be at least 1s, got %s", c.ShutdownTimeout))
	}
	errs = append(errs, c.Hook.Validate(), c.HookWorker.Validate(), c.Schedule.Validate())
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
	envHookSecrets    = okta.EnvHookSecrets
	envPushgateway    = "OKTASYNC_PUSHGATEWAY_URL"
	envSearchURL      = "OKTASYNC_SEARCH_URL"
	envSearchUser     = "OKTASYNC_SEARCH_USERNAME"
	envSearchPassword = "OKTASYNC_SEARCH_PASSWORD"
)

// envHelp lists the environment a command reads, for its usage text.
func envHelp() [][2]string {
	return [][2]string{
		{envOrgURL, "Okta org URL, e.g. https://acme.okta.com"},
		{envToken, "an Okta API token (SSWS); or an OAuth service app:"},
		{envClientID, "  the service app's client id"},
		{envPrivateKey, "  its private key (PEM), or"},
		{envPrivateKeyFile, "  a file holding it"},
		{envKeyID, "  the key's id (the JWT kid)"},
		{envNeo4jURI, "Neo4j Bolt URI"},
		{envNeo4jUser, "Neo4j user"},
		{envNeo4jPassword, "Neo4j password"},
		{envNeo4jDatabase, "Neo4j database"},
		{envHookSecrets, "serve: accepted event hook secrets, comma-separated"},
		{envPushgateway, "push run metrics to this Prometheus Pushgateway"},
		{envSearchURL, "people search: the search server's URL"},
		{envSearchUser, "people search: its basic-auth user"},
		{envSearchPassword, "people search: its password"},
	}
}

// flags are the command-line overrides of a sync.
type flags struct {
	fs          *flag.FlagSet
	command     string // in the usage text: "sync", "check-config [--serve]", ...
	about       string // what the command does, for its usage text
	serve       bool   // the serve command: its section is validated, sync-only checks are not
	configFile  string
	summary     string
	incremental bool
	dryRun      bool
	force       bool
	rehomeOrg   bool
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
		{"neo4j-database", "Neo4j database (env NEO4J_DATABASE; default: the server's default; none on Neo4j 3.5)"},
		{"batch-size", "users per Neo4j transaction (default 2000)"},
		{"published-tag", "published_tag written on nodes and edges (default: run start time, UTC)"},
		{"csv-dir", "write databuilder-format CSV files to this directory instead of Neo4j"},
		{"max-deactivate", "largest share [0, 1] of managed users a full sync may deactivate; 0: none (default 0.1)"},
		{"max-stub-merges", "largest number of case-variant stubs a full sync may merge, as a share [0, 1] of the synced users; 0: none (default 0.1)"},
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
	f := &flags{fs: flag.NewFlagSet("oktasync "+command, flag.ContinueOnError), command: command, about: about, values: map[string]*string{}}
	f.fs.SetOutput(out)
	f.fs.StringVar(&f.configFile, "config", "", "YAML config file")
	for _, h := range help {
		f.values[h[0]] = f.fs.String(h[0], "", h[1])
	}
	f.fs.Usage = func() {
		fmt.Fprintf(out, "Usage: oktasync %s [flags]\n\n%s\nPrecedence: flags > environment > --config file > defaults.\n\nFlags:\n", f.command, f.about)
		f.fs.PrintDefaults()
		fmt.Fprint(out, "\nEnvironment (credentials are read only from here, never from the file or a flag):\n")
		for _, e := range envHelp() {
			fmt.Fprintf(out, "  %-26s %s\n", e[0], e[1])
		}
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
	f.fs.BoolVar(&f.force, "force", false, "deactivate users gone from Okta, and merge case-variant stubs, even above --max-deactivate and --max-stub-merges")
	f.fs.BoolVar(&f.rehomeOrg, "rehome-org", false, "make the graph follow the configured Okta org even if it holds another org's users, or one not shown to be the same (its sync state starts afresh)")
	return f
}

// secretEnv says which environment variable carries the secret someone
// might try to put in the file under key ("" when key is no secret).
func secretEnv(key string) string {
	switch key {
	case "okta.token", "okta.api_token":
		return envToken
	case "okta.private_key", "okta.client_secret":
		return envPrivateKey
	case "neo4j.password":
		return envNeo4jPassword
	case "serve.hook_secrets", "serve.hook_secret":
		return envHookSecrets
	case "search.password":
		return envSearchPassword
	}
	return ""
}

// envOnly says which environment variable sets key, a setting that is no
// secret but is read from the environment only ("" for any other key).
func envOnly(key string) string {
	if key == "search.username" {
		return envSearchUser
	}
	return ""
}

// loadConfig builds the config and reports every problem in one error.
func loadConfig(f *flags, getenv func(string) string, readFile func(string) ([]byte, error)) (config, error) {
	c := defaultConfig()
	var errs []error
	if f.configFile != "" {
		data, err := readFile(f.configFile)
		if err != nil {
			return c, fmt.Errorf("--config: %w", err)
		}
		problems, err := decodeFile(f.configFile, data, &c)
		if err != nil {
			return c, err
		}
		// The keys that could not be set are reported beside the checks
		// below, which see the file's other keys and the defaults.
		errs = append(errs, problems...)
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
		} else if strings.Contains(path, "-----BEGIN") || strings.ContainsAny(path, "\r\n") {
			// The key itself, not its path: never echo it.
			errs = append(errs, fmt.Errorf("%s: holds key material, not a file path; put the key in %s, or its file's path here", envPrivateKeyFile, envPrivateKey))
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
	setStr(&c.Search.URL, envSearchURL)
	setStr(&c.Search.Username, envSearchUser)
	setStr(&c.Search.Password, envSearchPassword)
	if v := getenv(envHookSecrets); v != "" {
		c.Serve.Hook.Secrets = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.Serve.Hook.Secrets = append(c.Serve.Hook.Secrets, s)
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
	str("published-tag", &c.Neo4j.PublishedTag)
	str("csv-dir", &c.CSVDir)
	share := func(name string, dst *float64) {
		if !set[name] {
			return
		}
		// Validate refuses NaN and ±Inf, which ParseFloat accepts.
		v, err := strconv.ParseFloat(strings.TrimSpace(*f.values[name]), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %q is not a number", name, *f.values[name]))
			return
		}
		*dst = v
	}
	share("max-deactivate", &c.Sync.MaxDeactivate)
	share("max-stub-merges", &c.Sync.MaxStubMerges)
	str("log-level", &c.Log.Level)
	str("log-format", &c.Log.Format)
	str("pushgateway", &c.Pushgateway)
	str("listen", &c.Serve.Listen)
	c.Neo4j.DryRun = f.dryRun

	// One validation pass over everything.
	c.Okta.Normalize()
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
	if err := c.Search.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Search.Enabled() && c.CSVDir != "" {
		errs = append(errs, errors.New("search.url: people search reads its documents from the graph; it cannot run with csv_dir"))
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
		} else if u.User != nil {
			errs = append(errs, errors.New("pushgateway: must not contain credentials (they would end up in logs); "+
				"put an authenticating proxy in front of the Pushgateway, or reach it inside the cluster"))
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
