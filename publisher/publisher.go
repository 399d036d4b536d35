// Package publisher defines the sink contract: a Publisher makes the graph
// match the rows the loader staged. Each subdirectory is one sink
// (publisher/neo4j is the only one). A publisher owns every statement it
// sends; no other package writes to the graph.
package publisher

import (
	"context"

	"github.com/oktasync/oktasync/loader"
)

// NodeStats counts what a node upsert did.
type NodeStats struct {
	Created   int // new :User nodes
	Updated   int // existing nodes (including UI stubs) whose user properties changed
	Unchanged int // nodes whose user properties already matched
}

// Add accumulates o into s.
func (s *NodeStats) Add(o NodeStats) {
	s.Created += o.Created
	s.Updated += o.Updated
	s.Unchanged += o.Unchanged
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
