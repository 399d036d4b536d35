// Package publisher holds the whole sink contract: what jobs may ask of a
// sink, and nothing jobs has to discover. A Publisher makes its target match
// the batches the loader staged. Each subdirectory is one sink
// (publisher/neo4j, publisher/csv); every sink passes publisher/publishertest.
// A sink owns every statement it sends; no other package writes to its
// target.
package publisher

import (
	"context"
	"time"

	"github.com/oktasync/oktasync/loader"
)

// Publisher writes staged rows. Every method is idempotent: publishing the
// same rows twice leaves the target as after the first time.
//
// A run calls BeginRun once, then Prepare before the first PublishNodes, and
// passes the Run it got to every later call. A user's manager is part of
// its row (loader.NodeRow.Manager): the sink alone decides when and how the
// pair is written. LinkManagers, called once after the run's last
// PublishNodes (and its stub merge), settles every pair PublishNodes left,
// now that every manager the run read exists. EndRun releases what the
// run holds, whether it succeeded or not; no call of the run may follow it.
//
// Capabilities declares what else the sink offers: the optional parts of
// the contract are reached through it, never by type assertion.
type Publisher interface {
	BeginRun(ctx context.Context, opts RunOptions) (Run, error)
	Prepare(ctx context.Context) error
	PublishNodes(ctx context.Context, run Run, rows []loader.NodeRow) (NodeStats, error)
	LinkManagers(ctx context.Context, run Run) (ManagerStats, error)
	EndRun(run Run) error
	Capabilities() Capabilities
}

// RunOptions is what a run lets the sink use for the work it leaves to
// LinkManagers.
type RunOptions struct {
	// SpoolDir is where the sink may keep the run's pending manager pairs
	// on disk ("" = the system temp dir).
	SpoolDir string
	// BatchSize is the most pairs LinkManagers writes per transaction (at
	// least 1).
	BatchSize int
	// Writers is how many transactions LinkManagers may run at once (at
	// least 1, at most Capabilities().MaxWriters).
	Writers int
}

// Capabilities is what a sink declares about itself.
type Capabilities struct {
	// MaxWriters is how many goroutines may publish at once (at least 1).
	MaxWriters int
	// DryRun means the sink computes its plan and writes nothing.
	DryRun bool
	// Planner, if not nil, gives examples of the changes the run made (or,
	// in a dry run, would make), for the plan.
	Planner Planner
	// Reconciler is nil when the sink cannot deactivate users or keep sync
	// state (then only full syncs without reconciliation are possible).
	Reconciler Reconciler
	// StubMerger, if not nil, merges case-variant stubs into the synced
	// users they belong to (a full sync, after the node pass).
	StubMerger StubMerger
	// Documents, if not nil, reads people-search documents from the
	// target, for a PeopleIndex (search.go).
	Documents DocumentReader
}

// StubMerger is the optional part of the contract that adopts the stubs
// Amundsen's frontend made from a sign-in email verbatim: a node without a
// source id whose key equals a synced user's key but for case (the synced
// keys are lowercase) is merged into the synced user's node. Every
// relationship of the stub moves to the user, properties included; the
// stub is then deleted, and only if nothing is left on it. Nothing else is
// touched.
type StubMerger interface {
	// CaseVariantStubs reports the stubs MergeStubs would merge now.
	CaseVariantStubs(ctx context.Context, run Run) (StubReport, error)
	// MergeStubs merges them, at most batch stubs per transaction and at
	// most limit in all (the number the run's cap was checked against;
	// stubs that appear meanwhile wait for the next run).
	MergeStubs(ctx context.Context, run Run, batch, limit int) (MergeStats, error)
}

// StubReport describes the case-variant stubs of the target.
type StubReport struct {
	Synced   int      // nodes with a source id (counted only when there are stubs)
	Stubs    int      // stubs to merge into one of them
	Examples []string // a few, as "Stub.Key -> stub.key"
}

// MergeStats counts what MergeStubs did.
type MergeStats struct {
	Merged        int // stubs merged into their user and deleted
	Relationships int // relationships moved from the stubs (created, or merged into the user's same one)
	Left          int // stubs left as they were: a relationship type that cannot be written safely
	Writes        Writes
}

// Run is the per-run value a sink hands out at BeginRun: it travels with
// every call of the run, so one publisher can serve runs one after another
// (the hook worker) without mutable run state.
type Run struct {
	// Marker is the run marker, the target's clock at BeginRun in ms: a
	// user written at or after it was written by this run or a later one.
	Marker int64
	// Tag is written to published_tag on every node and edge the run
	// touches, as databuilder's job_publish_tag.
	Tag string
	// ID names the run to the sink that began it, which may keep state
	// for it until EndRun (the pending manager pairs); 0 for none.
	ID uint64
}

// Reconciler is the optional part of the contract for reconciliation and
// incremental syncs. No method ever deletes a user.
type Reconciler interface {
	// Stale reports the active managed users the complete read did not
	// return (read.Seen), reading only: users whose node records a
	// version at or after read.From are not stale (another writer saw
	// them after the read began).
	Stale(ctx context.Context, run Run, read Read) (StaleReport, error)
	// Deactivate sets is_active = false on them, batch at a time, and
	// records read.From as their version: a record read before the read
	// began is older than their absence; one read since may be of a user
	// the read missed while they changed, and repairs them.
	Deactivate(ctx context.Context, run Run, read Read, batch int) (int, error)
	// DeactivateIDs sets is_active = false on the users the source
	// answered "not found" for, and records each one's At as its version:
	// a node that records a newer version is left alone.
	DeactivateIDs(ctx context.Context, run Run, gone []Gone) (int, error)
	// OweReconciliation records, in the state of every org the target
	// holds, that a full reconciliation is owed since at: deletions may
	// have been missed (the latest debt is kept). It returns how many
	// states it was recorded in: 0 if the target holds none yet (a first
	// sync still running), and the caller must record it again later.
	OweReconciliation(ctx context.Context, at time.Time) (int, error)
	// LoadState reads the sync state of org (found by its id when it has
	// one, else by its URL); a zero State if there is none.
	LoadState(ctx context.Context, org Org) (State, error)
	// SaveState stores what a run owns under st.Org: zero times leave the
	// stored value, and the watermark never moves back.
	SaveState(ctx context.Context, st State) error
	// Orgs lists the orgs the target holds state for, as stored.
	Orgs(ctx context.Context) ([]Org, error)
	// RehomeState replaces the sync state stored under from (as Orgs
	// listed it) by st, stored under st.Org from then on, in one
	// transaction: the state's times are st's exactly, zero ones cleared.
	RehomeState(ctx context.Context, from Org, st State) error
}

// Read is a complete read of the source: when it began, by the source's
// clock in epoch ms (From, the first extractor.Page.ReadFrom), and the
// source ids of every user it returned, written or not (Seen). Nothing is
// marked on the target while reading: a run that changes nothing writes
// nothing.
type Read struct {
	From int64
	Seen *loader.IDSpool
}

// Gone is a user the source no longer has: At is, by the source's clock in
// epoch ms, no earlier than the source said so (extractor.GoneError).
type Gone struct {
	SourceID string
	At       int64
}

// Org names a source org in the sync state: the provider's immutable id,
// when known (a graph synced before ids were recorded has none), and the
// URL the org was last read through.
type Org struct {
	ID  string
	URL string
}

// String names the org for messages: its id and its URL.
func (o Org) String() string {
	if o.ID == "" {
		return o.URL + " (org id unknown)"
	}
	return o.ID + " (" + o.URL + ")"
}

// NodeStats counts what a node upsert did.
type NodeStats struct {
	Created     int // new :User nodes
	Updated     int // existing nodes (including UI stubs) whose user properties changed
	Unchanged   int // nodes whose user properties already matched
	Reactivated int // of Updated: inactive users made active again
	Deactivated int // of Updated: active users whose source status is now inactive
	Renamed     int // nodes whose key changed in place (same source id, new email)
	TakenOver   int // of Updated: nodes whose key passed from one source user to another (loader.Wins)
	Conflicts   int // rows left unwritten: their new key belongs to another node, or another source user holds the key
	Writes      Writes
}

// Add accumulates o into s.
func (s *NodeStats) Add(o NodeStats) {
	s.Created += o.Created
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
	s.Reactivated += o.Reactivated
	s.Deactivated += o.Deactivated
	s.Renamed += o.Renamed
	s.TakenOver += o.TakenOver
	s.Conflicts += o.Conflicts
	s.Writes.Add(o.Writes)
}

// ManagerStats counts what became of the manager pairs of a run's users,
// whether PublishNodes settled them or LinkManagers did.
type ManagerStats struct {
	Linked   int // MANAGE_BY/MANAGE pairs created
	Kept     int // pairs that already matched
	Unlinked int // stale pairs removed (manager changed or gone)
	Missing  int // users whose manager is not in the graph
	Writes   Writes
}

// Add accumulates o into s.
func (s *ManagerStats) Add(o ManagerStats) {
	s.Linked += o.Linked
	s.Kept += o.Kept
	s.Unlinked += o.Unlinked
	s.Missing += o.Missing
	s.Writes.Add(o.Writes)
}

// Writes counts what a sink wrote, as its target reports it (for Neo4j,
// the statements' query statistics), for the summary and benchmarks. A
// sink that cannot tell leaves it zero.
type Writes struct {
	UserProperties       int `json:"user_properties"`     // user properties set (key, email, names, is_active, ...)
	MetadataProperties   int `json:"metadata_properties"` // run metadata set: published_tag, publisher_last_updated_epoch_ms, versions
	NodesCreated         int `json:"nodes_created"`
	RelationshipsCreated int `json:"relationships_created"`
	RelationshipsDeleted int `json:"relationships_deleted"`
	NodesDeleted         int `json:"nodes_deleted"` // merged stubs
}

// Add accumulates o into w.
func (w *Writes) Add(o Writes) {
	w.UserProperties += o.UserProperties
	w.MetadataProperties += o.MetadataProperties
	w.NodesCreated += o.NodesCreated
	w.RelationshipsCreated += o.RelationshipsCreated
	w.RelationshipsDeleted += o.RelationshipsDeleted
	w.NodesDeleted += o.NodesDeleted
}

// Planner collects examples for a plan.
type Planner interface {
	// Examples returns up to five keys per kind of change (created,
	// updated, reactivated, deactivated, renamed, conflicts, managers
	// linked and unlinked) seen so far.
	Examples() map[string][]string
}

// State is what a sink remembers between runs for one source org.
type State struct {
	Org             Org
	Watermark       time.Time // largest source lastUpdated seen; zero if none
	LastFullSync    time.Time // end of the last successful full sync; zero if none
	LastIncremental time.Time // end of the last successful incremental sync
	// ReconcileOwed is when work that may have seen deletions was given
	// up (a hook worker's fallback, OweReconciliation): until a full
	// reconciliation pays it, incremental syncs run as full ones. Zero if
	// nothing is owed. Loaded only.
	ReconcileOwed time.Time
	// Reconciled, when saved, says a full reconciliation succeeded for a
	// read that began after the debt loaded as ReconcileOwed: a debt
	// recorded up to then is paid, a later one stays. Saved only.
	Reconciled time.Time
}

// StaleReport describes the managed users a complete read did not return.
type StaleReport struct {
	Managed  int      // active managed users (with a source id) before deactivation
	Stale    int      // of those, users the run did not see
	Examples []string // a few of their keys
}
