package neo4j

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config configures the Neo4j sink. Password is set by cmd from the
// environment and never read from YAML or printed.
type Config struct {
	// URI is the Bolt URI: bolt://, bolt+s://, neo4j://, neo4j+s:// (and
	// the +ssc variants).
	URI string `yaml:"uri"`
	// Username and Password are optional: a server with auth off needs none.
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	// Database is the target database. Empty (the default) means the
	// server's default database, which is Amundsen's; Neo4j 3.5 takes no
	// name at all.
	Database string `yaml:"database"`
	// PublishedTag is written to published_tag on every node and edge this
	// run touches, as databuilder's job_publish_tag. Empty means the run's
	// start time, UTC, as a sortable RFC 3339 string.
	PublishedTag string `yaml:"published_tag"`
	// RunMetadata says which nodes and edges get the run's published_tag
	// and publisher_last_updated_epoch_ms: "changed" (those the run
	// creates or changes; unchanged users cost no write) or "all" (every
	// user the run sees, as databuilder refreshes them; set it when
	// Amundsen's search extractor filters users by job_publish_tag).
	RunMetadata string `yaml:"run_metadata"`
	// ConnectTimeout bounds connecting to the server.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// DryRun sends every statement of a run through one transaction that
	// is rolled back at Close: the run computes its plan and writes nothing.
	DryRun bool `yaml:"-"`
	// MaxTransactionRetryTime bounds the retries of a transaction that
	// failed for a transient reason (deadlocks, leader switches, a lost
	// connection, a transaction timeout): no new attempt starts once it has
	// passed since the first began. Zero means one attempt.
	MaxTransactionRetryTime time.Duration `yaml:"max_transaction_retry_time"`
	// TransactionTimeout bounds every transaction the sink runs, reads and
	// schema statements included, waits for another client's locks above
	// all: the server ends a transaction still open after it. It must be at
	// least a second (zero, no bound, is refused). A dry run's one
	// transaction lasts the run, so each of its statements is bounded by it
	// instead, on the client.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
}

// RunMetadata values.
const (
	RunMetadataChanged = "changed"
	RunMetadataAll     = "all"
)

// DefaultConfig is the documented default configuration, the one place
// defaults are set. Configuration is read over it, so an explicit zero in a
// file stays zero (and is refused where it makes no sense).
func DefaultConfig() Config {
	return Config{
		URI:                     "bolt://127.0.0.1:7687",
		RunMetadata:             RunMetadataChanged,
		ConnectTimeout:          10 * time.Second,
		MaxTransactionRetryTime: 30 * time.Second,
		TransactionTimeout:      60 * time.Second,
	}
}

// Validate reports every problem, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(c.URI); err != nil || u.Host == "" && u.Scheme != "bolt+unix" {
		add("neo4j.uri: %q is not a URI like bolt://host:7687 or neo4j+s://host", redactURI(c.URI))
	} else {
		switch u.Scheme {
		case "bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc", "bolt+unix":
		default:
			add("neo4j.uri: scheme %q is not one of bolt, bolt+s, bolt+ssc, neo4j, neo4j+s, neo4j+ssc", u.Scheme)
		}
		if u.User != nil {
			add("neo4j.uri: must not contain credentials; use NEO4J_USERNAME and NEO4J_PASSWORD")
		}
	}
	if c.Password != "" && c.Username == "" {
		add("neo4j.username: required when a password is set (NEO4J_USERNAME)")
	}
	if c.RunMetadata != RunMetadataChanged && c.RunMetadata != RunMetadataAll {
		add("neo4j.run_metadata: must be %q or %q, got %q", RunMetadataChanged, RunMetadataAll, c.RunMetadata)
	}
	if c.ConnectTimeout <= 0 {
		add("neo4j.connect_timeout: must be positive, got %s", c.ConnectTimeout)
	}
	if c.MaxTransactionRetryTime < 0 {
		add("neo4j.max_transaction_retry_time: must not be negative")
	}
	if c.TransactionTimeout < time.Second {
		add("neo4j.transaction_timeout: must be at least 1s, got %s (it bounds every transaction, waits for another client's locks included; there is no setting for none)", c.TransactionTimeout)
	}
	return errors.Join(errs...)
}

// redactURI drops any user info, query and fragment (either may carry a
// secret) so a URI can appear in an error.
func redactURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
