package jobs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/publisher"
)

// Summary is what a run did. It never holds secrets.
type Summary struct {
	Kind     string        `json:"kind"`    // full or incremental
	Outcome  string        `json:"outcome"` // success, failure or refused
	Duration time.Duration `json:"duration"`
	DryRun   bool          `json:"dry_run"`
	FellBack bool          `json:"fell_back_to_full,omitempty"` // incremental without a watermark, or with a reconciliation owed
	// ReconcileOwed is when a full reconciliation became owed (a hook
	// worker's fallback), if this run found one owed: an incremental run
	// then runs as a full one, which pays it.
	ReconcileOwed time.Time `json:"reconcile_owed,omitempty"`
	// Rehomed, if not nil, is the re-homing of the graph's sync state to
	// the configured org that the run did (or, in a dry run, would do).
	Rehomed *Rehome `json:"rehomed,omitempty"`

	Pages        int64 `json:"pages"`
	OktaRequests int64 `json:"okta_requests"`
	RateLimited  int64 `json:"okta_429s"`
	Retries      int64 `json:"okta_retries"`
	Pauses       int64 `json:"okta_rate_pauses"`
	Remaining    int64 `json:"okta_rate_remaining"` // at the end of the run; -1 unknown

	Seen       int            `json:"users_seen"`
	Created    int            `json:"users_created"`
	Updated    int            `json:"users_updated"`
	Unchanged  int            `json:"users_unchanged"`
	Skipped    int            `json:"users_skipped"`
	SkipReason map[string]int `json:"skip_reasons,omitempty"`
	// OutOfScope are the users okta.scope leaves out: not written, and a
	// managed one is missing, as a leaver is.
	OutOfScope int `json:"users_out_of_scope,omitempty"`
	Duplicates int `json:"duplicate_keys"`
	Active     int `json:"users_active"`
	Inactive   int `json:"users_inactive"`

	Reactivated         int `json:"users_reactivated"`
	DeactivatedByStatus int `json:"users_deactivated_by_status"`
	DeactivatedMissing  int `json:"users_deactivated_missing"`
	Renamed             int `json:"users_renamed"`
	// TakenOver counts keys that passed from one Okta user to another (a
	// recycled address: a leaver's email given to a new hire), with the
	// node and its ownership, bookmarks and usage (loader.Wins).
	TakenOver        int      `json:"users_taken_over"`
	Conflicts        int      `json:"key_conflicts"`
	Managed          int      `json:"managed_users"`
	Missing          int      `json:"users_missing_from_okta"`
	MissingExamples  []string `json:"missing_examples,omitempty"`
	ReconcileSkipped string   `json:"reconcile_skipped,omitempty"`

	// Case-variant stubs (full syncs): found, merged into their synced
	// user, left (a relationship type that cannot be written safely), and
	// the relationships moved.
	StubsFound        int `json:"case_variant_stubs"`
	StubsMerged       int `json:"stubs_merged"`
	StubsLeft         int `json:"stubs_left"`
	StubRelationships int `json:"stub_relationships_moved"`

	WatermarkBefore time.Time `json:"watermark_before"`
	WatermarkAfter  time.Time `json:"watermark_after"`

	Examples map[string][]string `json:"examples,omitempty"` // dry run: a few keys per change

	ManagersLinked   int `json:"managers_linked"`
	ManagersKept     int `json:"managers_kept"`
	ManagersUnlinked int `json:"managers_unlinked"`
	ManagersMissing  int `json:"managers_missing"`

	CSVFiles []string `json:"csv_files,omitempty"`

	// Search is what the run did to the people index (nil when off).
	Search *SearchSummary `json:"search,omitempty"`

	// Writes is what the sink reports it wrote (Neo4j's query statistics).
	Writes publisher.Writes `json:"writes"`
	// Timings says where the run's time went.
	Timings Timings `json:"timings"`
}

// Timings splits a run's wall time by pass. Publish is the time spent in
// the sink's node calls, summed over the writers (so it may exceed the node
// pass's wall time); the sink's manager pass is ManagerPass.
type Timings struct {
	NodePass    time.Duration `json:"node_pass"`
	ManagerPass time.Duration `json:"manager_pass"`
	StubMerge   time.Duration `json:"stub_merge"`
	Reconcile   time.Duration `json:"reconcile"`
	Publish     time.Duration `json:"publish"`
}

// addSource copies the source's traffic counters.
func (s *Summary) addSource(o extractor.Stats) {
	s.Pages, s.OktaRequests, s.RateLimited, s.Retries, s.Pauses, s.Remaining = o.Pages, o.Requests, o.RateLimited, o.Retries, o.Pauses, o.Remaining
}

func (s *Summary) addManagers(st publisher.ManagerStats) {
	s.ManagersLinked += st.Linked
	s.ManagersKept += st.Kept
	s.ManagersUnlinked += st.Unlinked
	s.ManagersMissing += st.Missing
	s.Writes.Add(st.Writes)
}

func (s *Summary) addNodes(st publisher.NodeStats) {
	s.Created += st.Created
	s.Updated += st.Updated
	s.Unchanged += st.Unchanged
	s.Reactivated += st.Reactivated
	s.DeactivatedByStatus += st.Deactivated
	s.Renamed += st.Renamed
	s.TakenOver += st.TakenOver
	s.Conflicts += st.Conflicts
	s.Writes.Add(st.Writes)
}

// Fields renders the summary as zap fields for the one INFO line of a run.
func (s Summary) Fields() []zap.Field {
	f := []zap.Field{
		zap.String("kind", s.Kind), zap.String("outcome", s.Outcome), zap.Duration("duration", s.Duration),
		zap.Int64("pages", s.Pages), zap.Int64("okta_requests", s.OktaRequests), zap.Int64("okta_429s", s.RateLimited),
		zap.Int64("okta_retries", s.Retries), zap.Int64("okta_rate_pauses", s.Pauses),
		zap.Int("users_seen", s.Seen), zap.Int("users_created", s.Created), zap.Int("users_updated", s.Updated),
		zap.Int("users_unchanged", s.Unchanged), zap.Int("users_skipped", s.Skipped), zap.Int("users_out_of_scope", s.OutOfScope),
		zap.Int("users_active", s.Active), zap.Int("users_inactive", s.Inactive), zap.Int("duplicate_keys", s.Duplicates),
		zap.Int("managers_linked", s.ManagersLinked), zap.Int("managers_kept", s.ManagersKept),
		zap.Int("managers_unlinked", s.ManagersUnlinked), zap.Int("managers_missing", s.ManagersMissing),
		zap.Int("users_reactivated", s.Reactivated), zap.Int("users_deactivated_by_status", s.DeactivatedByStatus),
		zap.Int("users_deactivated_missing", s.DeactivatedMissing), zap.Int("users_renamed", s.Renamed), zap.Int("users_taken_over", s.TakenOver),
		zap.Int("key_conflicts", s.Conflicts), zap.Int("managed_users", s.Managed), zap.Int("users_missing_from_okta", s.Missing),
		zap.Int("case_variant_stubs", s.StubsFound), zap.Int("stubs_merged", s.StubsMerged), zap.Int("stubs_left", s.StubsLeft),
		zap.Int("stub_relationships_moved", s.StubRelationships),
		zap.Bool("dry_run", s.DryRun), zap.String("watermark_before", stamp(s.WatermarkBefore)), zap.String("watermark_after", stamp(s.WatermarkAfter)),
	}
	if s.ReconcileSkipped != "" {
		f = append(f, zap.String("reconcile_skipped", s.ReconcileSkipped))
	}
	if s.Rehomed != nil {
		f = append(f, zap.Any("rehomed", s.Rehomed))
	}
	if len(s.SkipReason) > 0 {
		f = append(f, zap.Any("skip_reasons", s.SkipReason))
	}
	if len(s.CSVFiles) > 0 {
		f = append(f, zap.Strings("csv_files", s.CSVFiles))
	}
	if s.Search != nil {
		f = append(f, zap.String("search_outcome", s.Search.Outcome), zap.Int("search_indexed", s.Search.Indexed),
			zap.Int("search_removed", s.Search.Removed))
		if s.Search.Index != "" {
			f = append(f, zap.String("search_index", s.Search.Index))
		}
	}
	return f
}

// Text renders the summary for a terminal.
func (s Summary) Text() string {
	var b strings.Builder
	title := "sync"
	if s.DryRun {
		title = "sync (dry run: nothing was written; this is the plan)"
	}
	fmt.Fprintf(&b, "oktasync %s %s: %s in %s\n", s.Kind, title, s.Outcome, s.Duration.Round(time.Millisecond))
	if o := s.Rehomed; o != nil {
		verb, state := "re-homed", "watermark and sync times kept"
		if s.DryRun {
			verb = "would re-home"
		}
		if !o.Kept {
			state = "sync state starts afresh"
		}
		fmt.Fprintf(&b, "  org       %s the graph from %s to %s (%s; %s)\n", verb, o.From, o.To, o.Reason, state)
	}
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
	if s.OutOfScope > 0 {
		fmt.Fprintf(&b, "  scope     %d users outside okta.scope: not synced\n", s.OutOfScope)
	}
	fmt.Fprintf(&b, "  lifecycle %d reactivated, %d deactivated by status, %d deactivated (gone from Okta, of %d missing among %d managed), %d renamed, %d key conflicts\n",
		s.Reactivated, s.DeactivatedByStatus, s.DeactivatedMissing, s.Missing, s.Managed, s.Renamed, s.Conflicts)
	if s.TakenOver > 0 {
		fmt.Fprintf(&b, "  taken over %d keys passed to another Okta user (a recycled address), with the node and its ownership\n", s.TakenOver)
	}
	fmt.Fprintf(&b, "  managers  %d linked, %d kept, %d unlinked, %d missing\n",
		s.ManagersLinked, s.ManagersKept, s.ManagersUnlinked, s.ManagersMissing)
	if s.StubsFound > 0 || s.StubsMerged > 0 {
		fmt.Fprintf(&b, "  stubs     %d case-variant: %d merged into their synced users (%d relationships moved), %d left\n",
			s.StubsFound, s.StubsMerged, s.StubRelationships, s.StubsLeft)
	}
	fmt.Fprintf(&b, "  watermark %s -> %s\n", stamp(s.WatermarkBefore), stamp(s.WatermarkAfter))
	if !s.ReconcileOwed.IsZero() {
		fmt.Fprintf(&b, "  owed      a full reconciliation, since %s (a hook fallback may have missed deletions)\n", stamp(s.ReconcileOwed))
	}
	if s.ReconcileSkipped != "" {
		fmt.Fprintf(&b, "  no deactivation: %s\n", s.ReconcileSkipped)
	}
	if len(s.MissingExamples) > 0 {
		fmt.Fprintf(&b, "  missing   e.g. %s\n", strings.Join(s.MissingExamples, ", "))
	}
	for _, kind := range slices.Sorted(maps.Keys(s.Examples)) {
		if len(s.Examples[kind]) > 0 {
			fmt.Fprintf(&b, "  e.g. %-12s %s\n", kind+":", strings.Join(s.Examples[kind], ", "))
		}
	}
	for _, f := range s.CSVFiles {
		fmt.Fprintf(&b, "  csv       %s\n", f)
	}
	if q := s.Search; q != nil {
		fmt.Fprintf(&b, "  search    %s: %d documents written, %d removed", q.Outcome, q.Indexed, q.Removed)
		if q.Index != "" {
			fmt.Fprintf(&b, "; alias on %s", q.Index)
		}
		b.WriteString("\n")
		if q.Error != "" {
			fmt.Fprintf(&b, "  search    error: %s\n", q.Error)
		}
	}
	return b.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
