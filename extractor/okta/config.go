package okta

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/oktasync/oktasync/extractor"
)

// Config configures the Okta source. Secrets (Token, PrivateKey) are set by
// cmd from the environment and never read from YAML or printed.
type Config struct {
	// OrgURL is the Okta org, e.g. https://acme.okta.com. http:// is accepted
	// only for loopback hosts (local development and tests).
	OrgURL string `yaml:"org_url"`
	// Token is an SSWS API token. Exactly one of Token or the OAuth service
	// app (ClientID + PrivateKey) must be set.
	Token string `yaml:"-"`
	// ClientID, PrivateKey (PEM, PKCS#1 or PKCS#8 RSA) and KeyID select an
	// OAuth 2.0 service app using private_key_jwt.
	ClientID   string   `yaml:"client_id"`
	PrivateKey string   `yaml:"-"`
	KeyID      string   `yaml:"key_id"`
	Scopes     []string `yaml:"scopes"`

	// PageSize is the users per page (Okta's maximum is 200).
	PageSize int `yaml:"page_size"`
	// RequestTimeout bounds one HTTP attempt, body included.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// MaxRetries is how often a 5xx, a timeout, a connection error or a
	// malformed page is retried before the run fails.
	MaxRetries int `yaml:"max_retries"`
	// RetryBackoff is the first retry delay; it doubles on each retry.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// RateLimitReserve is the share (0–1) of a rate-limit window left for
	// other Okta clients: when X-Rate-Limit-Remaining falls to it, oktasync
	// waits for the window to reset instead of spending it.
	RateLimitReserve float64 `yaml:"rate_limit_reserve"`
	// MaxRateLimitWaits is how many 429 responses in a row are waited out
	// before the run fails.
	MaxRateLimitWaits int `yaml:"max_rate_limit_waits"`
	// MaxRateLimitWait caps one wait for a rate-limit window to reset.
	MaxRateLimitWait time.Duration `yaml:"max_rate_limit_wait"`

	// Scope limits the sync to the users of an app and of groups
	// (scope.go); the zero value syncs every user.
	Scope Scope `yaml:"scope"`

	// Mapping turns an Okta profile into an Amundsen user.
	Mapping Mapping `yaml:"-"`

	// onlyScopes makes a service app ask for Scopes alone: the hook admin's
	// token manages hooks and reads neither groups nor apps.
	onlyScopes bool
}

// DefaultConfig is the documented default configuration, the one place
// defaults are set. Configuration is read over it, so an explicit zero in a
// file stays zero: okta.max_retries: 0 means no retries.
func DefaultConfig() Config {
	return Config{
		Scopes:            []string{"okta.users.read"},
		PageSize:          200,
		RequestTimeout:    30 * time.Second,
		MaxRetries:        4,
		RetryBackoff:      time.Second,
		RateLimitReserve:  0.1,
		MaxRateLimitWaits: 10,
		MaxRateLimitWait:  2 * time.Minute,
		Mapping:           DefaultMapping(),
	}
}

// Normalize tidies values read from the outside (the org URL's trailing
// slash, the case of status names); it sets no defaults.
func (c *Config) Normalize() {
	c.OrgURL = strings.TrimRight(strings.TrimSpace(c.OrgURL), "/")
	c.Mapping.Normalize()
}

// RequiredScopes are the scopes a service app asks for: okta.scopes, plus
// okta.groups.read when teams come from groups or the scope names groups,
// and okta.apps.read when the scope names an app.
func (c Config) RequiredScopes() []string {
	out := slices.Clone(c.Scopes)
	if c.onlyScopes {
		return out
	}
	need := func(scope string, on bool) {
		if on && !slices.Contains(out, scope) {
			out = append(out, scope)
		}
	}
	need(ScopeGroupsRead, c.Mapping.Team.Source == TeamFromGroups || len(c.Scope.Groups) > 0)
	need(ScopeAppsRead, c.Scope.App != "")
	return out
}

// OAuth reports whether the config selects an OAuth 2.0 service app.
func (c Config) OAuth() bool { return c.ClientID != "" || c.PrivateKey != "" }

// Validate reports every problem, each naming its field.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := ValidateOrgURL(c.OrgURL); err != nil {
		add("okta.org_url: %w", err)
	}
	if strings.IndexFunc(c.Token, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
		add("okta.token: OKTA_API_TOKEN holds a space, line break or control character; set the token alone")
	}
	switch {
	case c.Token != "" && c.OAuth():
		add("okta: set either an API token (OKTA_API_TOKEN) or an OAuth service app (OKTA_CLIENT_ID, OKTA_PRIVATE_KEY), not both")
	case c.Token == "" && !c.OAuth():
		add("okta: no credentials: set OKTA_API_TOKEN, or OKTA_CLIENT_ID with OKTA_PRIVATE_KEY or OKTA_PRIVATE_KEY_FILE")
	case c.OAuth():
		if c.ClientID == "" {
			add("okta.client_id: required with a private key (OKTA_CLIENT_ID)")
		}
		if c.PrivateKey == "" {
			add("okta.private_key: required with a client id (OKTA_PRIVATE_KEY or OKTA_PRIVATE_KEY_FILE)")
		} else if _, err := parseRSAKey(c.PrivateKey); err != nil {
			add("okta.private_key: %w", err)
		}
	}
	if c.PageSize < 1 || c.PageSize > 200 {
		add("okta.page_size: must be between 1 and 200, got %d", c.PageSize)
	}
	if c.RequestTimeout < time.Second {
		add("okta.request_timeout: must be at least 1s, got %s", c.RequestTimeout)
	}
	if c.MaxRetries < 0 || c.MaxRetries > 20 {
		add("okta.max_retries: must be between 0 and 20, got %d", c.MaxRetries)
	}
	if c.RetryBackoff < 0 {
		add("okta.retry_backoff: must not be negative")
	}
	if len(c.Scopes) == 0 {
		add("okta.scopes: must not be empty (okta.users.read is needed)")
	}
	if math.IsNaN(c.RateLimitReserve) || c.RateLimitReserve < 0 || c.RateLimitReserve >= 1 {
		add("okta.rate_limit_reserve: must be in [0, 1), got %g", c.RateLimitReserve)
	}
	if c.MaxRateLimitWaits < 0 {
		add("okta.max_rate_limit_waits: must not be negative")
	}
	if c.MaxRateLimitWait < time.Second {
		add("okta.max_rate_limit_wait: must be at least 1s, got %s", c.MaxRateLimitWait)
	}
	errs = append(errs, c.Scope.validate()...)
	if err := c.Mapping.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidateOrgURL accepts https:// URLs, and http:// only for loopback hosts.
func ValidateOrgURL(raw string) error {
	if raw == "" {
		return errors.New("required (OKTA_ORG_URL), e.g. https://acme.okta.com")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL like https://acme.okta.com")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	// Shown without its query and fragment, which may carry a secret.
	raw = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q with a query or fragment (not shown) must be just the org's scheme and host, like https://acme.okta.com", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%q must be just the org's scheme and host, like https://acme.okta.com", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q: http:// is only allowed for loopback hosts; use https://", raw)
		}
	default:
		return fmt.Errorf("%q: scheme must be https", raw)
	}
	if strings.Contains(u.Host, "-admin.okta") {
		return fmt.Errorf("%q: use the org URL, not the -admin console URL", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Status actions.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
	StatusSkip     = "skip"
)

// Key sources.
const (
	KeyEmail = "email"
	KeyLogin = "login"
)

// Manager sources.
const (
	ManagerFromManagerID = "managerId"
	ManagerFromAttribute = "attribute"
)

// Mapping configures how an Okta profile becomes an Amundsen User. The
// defaults are documented in the README and config.example.yaml.
type Mapping struct {
	// Key is the profile field that becomes the Amundsen key, trimmed and
	// lowercased: "email" (default) or "login". It must equal the user_id
	// Amundsen's OIDC login produces.
	Key string `yaml:"key"`
	// ProfileURLTemplate, if set, builds profile_url for every user from
	// {id}, {login}, {email} and {key}; otherwise profile.profileUrl is used.
	ProfileURLTemplate string `yaml:"profile_url_template"`
	// GithubUsernameAttribute and SlackIDAttribute name the profile
	// attributes (usually custom) holding those values.
	GithubUsernameAttribute string `yaml:"github_username_attribute"`
	SlackIDAttribute        string `yaml:"slack_id_attribute"`
	// Status maps an Okta status to active, inactive or skip. Entries are
	// merged over the defaults; unknown statuses are skipped.
	Status map[string]string `yaml:"status"`
	// Manager says where the manager comes from.
	Manager ManagerMapping `yaml:"manager"`
	// ExtraAttributes maps extra node properties to profile attributes,
	// e.g. cost_center: costCenter.
	ExtraAttributes map[string]string `yaml:"extra_attributes"`
	// Team says where team_name comes from.
	Team TeamMapping `yaml:"team"`
}

// Team sources.
const (
	// TeamFromAttribute: a profile attribute (department by default).
	TeamFromAttribute = "attribute"
	// TeamFromGroups: the user's Okta groups that are teams (teams.go).
	TeamFromGroups = "groups"
)

// TeamMapping selects the source of team_name.
type TeamMapping struct {
	// Source is "attribute" (default) or "groups".
	Source string `yaml:"source"`
	// Attribute is the profile attribute with source: attribute.
	Attribute string `yaml:"attribute"`
	// Groups selects the groups that are teams, with source: groups.
	Groups TeamGroups `yaml:"groups"`
}

// TeamGroups selects the Okta groups that are teams, and the team of a
// person in several of them.
type TeamGroups struct {
	// Patterns are regular expressions on a group's name, in priority
	// order. A group is a team if one matches; the team's name is the
	// first capture group, or the whole name without one. A person in
	// several team groups gets the team of the earliest pattern that
	// matches one of them; among groups of the same pattern, the most
	// specific (the longest name: team-data-platform over team-data), then
	// the first by name.
	Patterns []string `yaml:"patterns"`
	// Type, if set, limits teams to groups of that type: OKTA_GROUP or
	// APP_GROUP (groups imported from a directory).
	Type string `yaml:"type"`
}

// ManagerMapping selects the manager source.
type ManagerMapping struct {
	// Source is "managerId" (default: Okta's managerId holds the manager's
	// Okta user id) or "attribute".
	Source string `yaml:"source"`
	// Attribute names the profile attribute holding the manager's email
	// (with key: email) or login (with key: login); Source must be "attribute".
	Attribute string `yaml:"attribute"`
}

// DefaultStatus is the documented status table.
func DefaultStatus() map[string]string {
	return map[string]string{
		"ACTIVE":           StatusActive,
		"PROVISIONED":      StatusActive,
		"RECOVERY":         StatusActive,
		"LOCKED_OUT":       StatusActive,
		"PASSWORD_EXPIRED": StatusActive,
		"SUSPENDED":        StatusInactive,
		"DEPROVISIONED":    StatusInactive,
		"STAGED":           StatusSkip,
	}
}

// DefaultMapping is the documented default mapping.
func DefaultMapping() Mapping {
	return Mapping{
		Key:                     KeyEmail,
		GithubUsernameAttribute: "githubUsername",
		SlackIDAttribute:        "slackId",
		Status:                  DefaultStatus(),
		Manager:                 ManagerMapping{Source: ManagerFromManagerID},
		Team:                    TeamMapping{Source: TeamFromAttribute, Attribute: "department"},
	}
}

// Normalize upper-cases status names and lower-cases their actions (a file
// read over DefaultMapping merges its statuses over the defaults), and makes
// a manager attribute imply the attribute source.
func (m *Mapping) Normalize() {
	status := make(map[string]string, len(m.Status))
	// Names already in canonical form first (the defaults), so that a
	// file's "staged: active" overrides the default STAGED.
	for _, canonical := range []bool{true, false} {
		for k, v := range m.Status {
			name := strings.ToUpper(strings.TrimSpace(k))
			if (name == k) == canonical {
				status[name] = strings.ToLower(strings.TrimSpace(v))
			}
		}
	}
	m.Status = status
	if m.Manager.Attribute != "" && m.Manager.Source == ManagerFromManagerID {
		m.Manager.Source = ManagerFromAttribute
	}
	if len(m.Team.Groups.Patterns) > 0 && m.Team.Source == TeamFromAttribute {
		m.Team.Source = TeamFromGroups // patterns imply groups, as a manager attribute does
	}
	m.Team.Groups.Type = strings.ToUpper(strings.TrimSpace(m.Team.Groups.Type))
}

// Validate reports every mapping problem, each naming its field.
func (m Mapping) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Key != KeyEmail && m.Key != KeyLogin {
		add("mapping.key: must be %q or %q, got %q", KeyEmail, KeyLogin, m.Key)
	}
	statuses := make([]string, 0, len(m.Status))
	for s := range m.Status {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		switch m.Status[s] {
		case StatusActive, StatusInactive, StatusSkip:
		default:
			add("mapping.status.%s: must be active, inactive or skip, got %q", s, m.Status[s])
		}
	}
	switch m.Manager.Source {
	case ManagerFromManagerID:
		if m.Manager.Attribute != "" {
			add("mapping.manager.attribute: only used with mapping.manager.source: attribute")
		}
	case ManagerFromAttribute:
		if m.Manager.Attribute == "" {
			add("mapping.manager.attribute: required with mapping.manager.source: attribute")
		}
	default:
		add("mapping.manager.source: must be %q or %q, got %q", ManagerFromManagerID, ManagerFromAttribute, m.Manager.Source)
	}
	errs = append(errs, m.Team.validate()...)
	if t := m.ProfileURLTemplate; t != "" {
		if !strings.HasPrefix(t, "https://") && !strings.HasPrefix(t, "http://") {
			add("mapping.profile_url_template: must start with https:// or http://, got %q", t)
		}
	}
	names := make([]string, 0, len(m.ExtraAttributes))
	for n := range m.ExtraAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch {
		case !validPropertyName(n):
			add("mapping.extra_attributes.%s: not a valid property name (letters, digits, _)", n)
		case extractor.IsReserved(n):
			add("mapping.extra_attributes.%s: %q is a property oktasync or Amundsen already writes", n, n)
		case m.ExtraAttributes[n] == "":
			add("mapping.extra_attributes.%s: profile attribute name is empty", n)
		}
	}
	return errors.Join(errs...)
}

// validPropertyName reports whether n is a plain Neo4j property name
// (letters, digits and _, not starting with a digit).
func validPropertyName(n string) bool {
	for i, r := range n {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return n != ""
}
