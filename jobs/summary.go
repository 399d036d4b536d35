package jobs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Summary is what a run did. It never holds secrets.
type Summary struct {
	Kind     string        `json:"kind"`
	Outcome  string        `json:"outcome"` // success or failure
	Duration time.Duration `json:"duration"`

	Pages        int64 `json:"pages"`
	OktaRequests int64 `json:"okta_requests"`
	RateLimited  int64 `json:"okta_429s"`
	Retries      int64 `json:"okta_retries"`
	Pauses       int64 `json:"okta_rate_pauses"`

	Seen       int            `json:"users_seen"`
	Created    int            `json:"users_created"`
	Updated    int            `json:"users_updated"`
	Unchanged  int            `json:"users_unchanged"`
	Skipped    int            `json:"users_skipped"`
	SkipReason map[string]int `json:"skip_reasons,omitempty"`
	Duplicates int            `json:"duplicate_keys"`
	Active     int            `json:"users_active"`
	Inactive   int            `json:"users_inactive"`

	ManagersLinked   int `json:"managers_linked"`
	ManagersKept     int `json:"managers_kept"`
	ManagersUnlinked int `json:"managers_unlinked"`
	ManagersMissing  int `json:"managers_missing"`

	CSVFiles []string `json:"csv_files,omitempty"`
}

// Fields renders the summary as zap fields for the one INFO line of a run.
func (s Summary) Fields() []zap.Field {
	f := []zap.Field{
		zap.String("kind", s.Kind), zap.String("outcome", s.Outcome), zap.Duration("duration", s.Duration),
		zap.Int64("pages", s.Pages), zap.Int64("okta_requests", s.OktaRequests), zap.Int64("okta_429s", s.RateLimited),
		zap.Int64("okta_retries", s.Retries), zap.Int64("okta_rate_pauses", s.Pauses),
		zap.Int("users_seen", s.Seen), zap.Int("users_created", s.Created), zap.Int("users_updated", s.Updated),
		zap.Int("users_unchanged", s.Unchanged), zap.Int("users_skipped", s.Skipped),
		zap.Int("users_active", s.Active), zap.Int("users_inactive", s.Inactive), zap.Int("duplicate_keys", s.Duplicates),
		zap.Int("managers_linked", s.ManagersLinked), zap.Int("managers_kept", s.ManagersKept),
		zap.Int("managers_unlinked", s.ManagersUnlinked), zap.Int("managers_missing", s.ManagersMissing),
	}
	if len(s.SkipReason) > 0 {
		f = append(f, zap.Any("skip_reasons", s.SkipReason))
	}
	if len(s.CSVFiles) > 0 {
		f = append(f, zap.Strings("csv_files", s.CSVFiles))
	}
	return f
}

// Text renders the summary for a terminal.
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oktasync %s sync: %s in %s\n", s.Kind, s.Outcome, s.Duration.Round(time.Millisecond))
	fmt.Fprintf(&b, "  okta      %d pages, %d requests, %d rate-limited (429), %d retries, %d rate-limit pauses\n",
		s.Pages, s.OktaRequests, s.RateLimited, s.Retries, s.Pauses)
	fmt.Fprintf(&b, "  users     %d seen: %d created, %d updated, %d unchanged; %d active, %d inactive\n",
		s.Seen, s.Created, s.Updated, s.Unchanged, s.Active, s.Inactive)
	if s.Skipped > 0 || s.Duplicates > 0 {
		reasons := make([]string, 0, len(s.SkipReason))
		for _, r := range slices.Sorted(maps.Keys(s.SkipReason)) {
			reasons = append(reasons, fmt.Sprintf("%d %s", s.SkipReason[r], r))
		}
		fmt.Fprintf(&b, "  skipped   %d (%s); %d duplicate keys\n", s.Skipped, strings.Join(reasons, ", "), s.Duplicates)
	}
	fmt.Fprintf(&b, "  managers  %d linked, %d kept, %d unlinked, %d missing\n",
		s.ManagersLinked, s.ManagersKept, s.ManagersUnlinked, s.ManagersMissing)
	for _, f := range s.CSVFiles {
		fmt.Fprintf(&b, "  csv       %s\n", f)
	}
	return b.String()
}
