// Package publisher defines the sink contract: a Publisher makes the graph
// match the rows the loader staged. Each subdirectory is one sink
// (publisher/neo4j is the only one). A publisher owns every statement it
// sends; no other package writes to the graph.
package publisher

import (
	"context"
	"time"

	"github.com/oktasync/oktasync/loader"
)

// NodeStats counts what a node upsert did.
type NodeStats struct {
	Created     int // new :User nodes
	Updated     int // existing nodes (including UI stubs) whose user properties changed
	Unchanged   int // nodes whose user properties already matched
	Reactivated int // of Updated: inactive users made active again
	Deactivated int // of Updated: active users whose source status is now inactive
	Renamed     int // nodes whose key changed in place (same source id, new email)
	Conflicts   int // rows left unwritten: their new key belongs to another node, or another source user holds the key
}

// Add accumulates o into s.
func (s *NodeStats) Add(o NodeStats) {
	s.Created += o.Created
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
	s.Reactivated += o.Reactivated
	s.Deactivated += o.Deactivated
	s.Renamed += o.Renamed
	s.Conflicts += o.Conflicts
}

// ManagerStats counts what the manager pass did.
type ManagerStats struct {
	Linked   int // MANAGE_BY/MANAGE pairs created
	Kept     int // pairs that already matched
	Unlinked int // stale pairs removed (manager changed or gone)
	Missing  int // users whose manager is not in the graph
}

// Add accumulates o into s.
func (s *ManagerStats) Add(o ManagerStats) {
	s.Linked += o.Linked
	s.Kept += o.Kept
	s.Unlinked += o.Unlinked
	s.Missing += o.Missing
}

// Publisher writes staged rows to a graph. Every method is idempotent:
// publishing the same rows twice leaves the graph as after the first time.
//
// Prepare creates the schema the upserts rely on and must run before the
// first PublishNodes. PublishManagers must run after the nodes of every user
// it names were published, so that managers exist.
type Publisher interface {
	Prepare(ctx context.Context) error
	PublishNodes(ctx context.Context, rows []loader.NodeRow) (NodeStats, error)
	PublishManagers(ctx context.Context, rows []loader.ManagerRow) (ManagerStats, error)
}

// State is what a sink remembers between runs for one source org.
type State struct {
	Org             string
	Watermark       time.Time // largest source lastUpdated seen; zero if none
	LastFullSync    time.Time // end of the last successful full sync; zero if none
	LastIncremental time.Time // end of the last successful incremental sync
}

// StaleReport describes the managed users a complete read did not return.
type StaleReport struct {
	Managed  int      // active managed users (with a source id) before deactivation
	Stale    int      // of those, users the run did not see
	Examples []string // a few of their keys
}
