// Package extractor defines what a user source hands to the sync job: the
// User record and the Source contract. Each subdirectory is one source
// (extractor/okta is the only one today). A source reads its provider's users
// and maps them onto User; it applies no graph policy (reconciliation,
// deactivation caps, batching) — that belongs to jobs.
package extractor

import (
	"context"
	"errors"
	"strings"
	"time"
)

// ManagerKind says how ManagerRef.Value identifies a user's manager.
type ManagerKind string

const (
	// ManagerNone means the user has no manager.
	ManagerNone ManagerKind = ""
	// ManagerByOktaID means Value is the manager's Okta user id (profile.managerId).
	ManagerByOktaID ManagerKind = "okta_id"
	// ManagerByKey means Value is the manager's Amundsen key, normalised the
	// same way as User.Key.
	ManagerByKey ManagerKind = "key"
)

// ManagerRef points at a user's manager.
type ManagerRef struct {
	Kind  ManagerKind
	Value string
}

// Attr is one extra node property configured by the operator. Value is a
// string, bool, int64 or float64.
type Attr struct {
	Name  string
	Value any
}

// User is one Amundsen user, independent of where it came from. Every string
// field is non-nil; unknown values are "" as Amundsen's databuilder writes them.
type User struct {
	Key            string // Amundsen's user key (normalised email or login)
	Email          string
	FirstName      string
	LastName       string
	FullName       string // never empty
	RoleName       string
	TeamName       string
	EmployeeType   string
	ProfileURL     string
	GithubUsername string
	SlackID        string
	IsActive       bool
	UpdatedAt      int64 // epoch seconds of the source's last change
	// Version is the source's last change exactly, in epoch ms (Okta's
	// lastUpdated): what orders two records of one user, so that older
	// data never overwrites newer.
	Version  int64
	SourceID string // the provider's immutable id (Okta user id)
	Status   string // the provider's raw status, for reports
	Manager  ManagerRef
	Extra    []Attr
}

// Skip is a source user that could not be mapped, with the reason.
type Skip struct {
	SourceID string
	Reason   string
}

// Page is one page of a source, already mapped.
type Page struct {
	Users   []User
	Skipped []Skip
	// OutOfScope counts the users the source's scope leaves out: neither
	// written nor seen, so a managed one is deactivated like a leaver.
	OutOfScope int
	// LastUpdated is the latest source change time on the page, skipped
	// users included: the watermark of incremental syncs.
	LastUpdated time.Time
	// ReadFrom is, by the source's own clock, no later than the instant
	// the page shows the source at: a change before it is on the page,
	// unless the user was on a page read earlier.
	ReadFrom time.Time
}

// Stats are a source's traffic counters since it was built.
type Stats struct {
	Pages       int64
	Requests    int64
	RateLimited int64 // answers that said "slow down" (HTTP 429)
	Retries     int64
	Pauses      int64 // waits for a rate-limit window to reset
	Read        int64 // users read
	Remaining   int64 // requests left in the current rate-limit window; -1 if unknown
}

// ErrNotFound is what UserReader.User wraps when the provider no longer has
// the user.
var ErrNotFound = errors.New("user not found")

// GoneError is how a source says it no longer has a user: it wraps
// ErrNotFound, and At is, by the source's clock, a time no earlier than its
// answer. Every record of the user read before is older than At: a
// deactivation carries At as its version (Version), so that none of them
// makes the user active again.
type GoneError struct {
	At  time.Time
	Err error
}

func (e *GoneError) Error() string { return e.Err.Error() }

// Unwrap returns ErrNotFound and the source's own error.
func (e *GoneError) Unwrap() []error { return []error{ErrNotFound, e.Err} }

// Source streams the users of one provider.
//
// Extract calls fn once per page, in order, and never concurrently. The page is
// owned by fn until it returns. Extract returns nil only when every user was
// read: a nil error is the only evidence on which jobs may deactivate users.
// Any failure, including a cancelled ctx or an error returned by fn, is
// returned wrapped.
//
// ExtractSince reads, the same way, only the users changed after since (for
// incremental syncs).
//
// Stats is safe to call while Extract runs.
type Source interface {
	Extract(ctx context.Context, fn func(context.Context, Page) error) error
	ExtractSince(ctx context.Context, since time.Time, fn func(context.Context, Page) error) error
	Stats() Stats
}

// UserReader reads one user by its source id, for event hooks. A non-empty
// reason means the mapping skips the user; a user the provider no longer
// has gives a *GoneError.
type UserReader interface {
	MappedUser(ctx context.Context, id string) (u User, reason string, err error)
	Stats() Stats
}

// Org is an org as its provider describes itself.
type Org struct {
	ID  string // the provider's immutable org id (Okta: 00o...)
	URL string // the org's own URL (Okta: _links.organization)
	// Aliases are the org's other URLs the provider names (Okta: its
	// custom domain, _links.alternate).
	Aliases []string
}

// OrgReader tells which org a source reads, by the provider's own account
// rather than by the URL it was configured with: an org keeps its id when
// it moves to another URL.
//
// Org describes the source's org. OrgAt describes the org served at
// baseURL (another URL of a provider, e.g. one a graph recorded); it sends
// no credential there.
type OrgReader interface {
	Org(ctx context.Context) (Org, error)
	OrgAt(ctx context.Context, baseURL string) (Org, error)
}

// IsReserved reports whether name is a property oktasync or Amundsen owns,
// which an extra attribute (User.Extra) must not use: the User model's
// attributes, publisher metadata, oktasync's bookkeeping (oktasync_*), and
// user_id, which Amundsen's metadata service prefers over the key when
// present.
func IsReserved(name string) bool {
	if strings.HasPrefix(name, "oktasync_") {
		return true
	}
	switch name {
	case "user_id", "manager_fullname", "manager_email":
		return true
	case "key", "email", "is_active", "profile_url", "first_name", "last_name", "full_name",
		"github_username", "team_name", "employee_type", "slack_id", "role_name", "updated_at",
		"okta_id", "published_tag", "publisher_last_updated_epoch_ms", "LABEL", "KEY":
		return true
	}
	return false
}
