// Package csv is the CSV sink: it stages a run as the CSV files of
// Amundsen databuilder's FsNeo4jCSVLoader (writer.go), byte for byte, so
// that databuilder's own publishers (Neo4jCsvPublisher,
// Neo4jCsvUnwindPublisher) can load them. It keeps no sync state and cannot
// reconcile; it supports full syncs only.
package csv

import (
	"context"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// Sink writes a run under one directory. It keeps a small index of the
// run's users (a few short strings each): source id → key, to resolve
// managers named by id, and key → the claim holding it, so that of two
// source users with one key only the winner by loader.Wins reaches the
// files, as in the graph.
type Sink struct {
	w       *CSVWriter
	keys    map[string]string
	holders map[string]loader.Claim
	// The run's manager rows wait on disk until LinkManagers, when every
	// key and its holder are known.
	opts     publisher.RunOptions
	managers *loader.Spool
}

var _ publisher.Publisher = (*Sink)(nil)

// New writes under dir. It does no I/O until the first write.
func New(dir string) *Sink {
	return &Sink{w: NewCSVWriter(dir), keys: make(map[string]string), holders: make(map[string]loader.Claim)}
}

// Capabilities: one writer (files are written in order), no reconciliation.
func (c *Sink) Capabilities() publisher.Capabilities { return publisher.Capabilities{MaxWriters: 1} }

// BeginRun has no run values (CSV rows carry no run metadata); it keeps
// opts for the manager spool.
func (c *Sink) BeginRun(_ context.Context, opts publisher.RunOptions) (publisher.Run, error) {
	c.opts = opts
	return publisher.Run{}, nil
}

// EndRun removes the manager spool.
func (c *Sink) EndRun(publisher.Run) error {
	if c.managers == nil {
		return nil
	}
	err := c.managers.Close()
	c.managers = nil
	return err
}

// Prepare does nothing: CSV files need no schema.
func (c *Sink) Prepare(context.Context) error { return nil }

// PublishNodes appends node rows. Databuilder's publishers apply rows in
// file order, so a row that loses its key to an earlier one is dropped; a
// later winner is written after it and prevails.
func (c *Sink) PublishNodes(_ context.Context, _ publisher.Run, rows []loader.NodeRow) (publisher.NodeStats, error) {
	var st publisher.NodeStats
	kept := rows[:0:0]
	for _, r := range rows {
		if prev, ok := c.holders[r.Key]; ok {
			switch {
			case prev.SourceID != r.Claim.SourceID:
				st.Conflicts++
				if !loader.Wins(r.Claim, prev) {
					continue
				}
			case !loader.Supersedes(r.Claim, prev):
				st.Unchanged++
				continue
			}
		}
		c.holders[r.Key] = r.Claim
		if r.Claim.SourceID != "" {
			c.keys[r.Claim.SourceID] = r.Key
		}
		kept = append(kept, r)
	}
	if err := c.w.WriteNodes(kept); err != nil {
		return st, err
	}
	st.Created = len(kept)
	if c.managers == nil && len(kept) > 0 {
		var err error
		if c.managers, err = loader.NewSpool(c.opts.SpoolDir); err != nil {
			return st, err
		}
	}
	for _, r := range kept {
		if err := c.managers.Add(r.ManagerRow()); err != nil {
			return st, err
		}
	}
	return st, nil
}

// LinkManagers appends the MANAGE_BY/MANAGE relationship rows of the
// users written, now that every key's holder is known.
func (c *Sink) LinkManagers(context.Context, publisher.Run) (publisher.ManagerStats, error) {
	var st publisher.ManagerStats
	if c.managers == nil {
		return st, nil
	}
	err := c.managers.Batches(max(c.opts.BatchSize, 1), func(rows []loader.ManagerRow) error {
		got, err := c.link(rows)
		st.Add(got)
		return err
	})
	return st, err
}

func (c *Sink) link(rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var st publisher.ManagerStats
	edges := make([]Edge, 0, len(rows))
	for _, r := range rows {
		if h, ok := c.holders[r.UserKey]; ok && r.UserID != "" && h.SourceID != r.UserID {
			continue // the user lost its key: its manager is not the holder's
		}
		var manager string
		switch r.Manager.Kind {
		case extractor.ManagerNone:
			continue
		case extractor.ManagerByOktaID:
			manager = c.keys[r.Manager.Value]
		case extractor.ManagerByKey:
			manager = r.Manager.Value
		}
		if manager == "" {
			st.Missing++
			continue
		}
		edges = append(edges, Edge{UserKey: r.UserKey, ManagerKey: manager})
	}
	if err := c.w.WriteEdges(edges); err != nil {
		return st, err
	}
	st.Linked = len(edges)
	return st, nil
}

// Close flushes the files.
func (c *Sink) Close() error { return c.w.Close() }

// Files lists the files written.
func (c *Sink) Files() []string { return c.w.Files() }
