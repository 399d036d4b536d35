package jobs

import (
	"context"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// CSVSink stages a run as databuilder-format CSV files instead of writing
// to Neo4j, so Amundsen's own publishers can load them. It keeps a small
// index of the run's users (a few short strings each): Okta id → key, to
// resolve managers named by id, and key → the user holding it, so that of
// two Okta users with one key only the winner reaches the files (as the
// Neo4j publisher decides: active first, then the most recently updated).
type CSVSink struct {
	w       *loader.CSVWriter
	keys    map[string]string
	holders map[string]holder
	dropped int
}

type holder struct {
	id      string
	active  bool
	updated int64
}

var _ publisher.Publisher = (*CSVSink)(nil)

// NewCSVSink writes under dir. It does no I/O until the first write.
func NewCSVSink(dir string) *CSVSink {
	return &CSVSink{w: loader.NewCSVWriter(dir), keys: make(map[string]string), holders: make(map[string]holder)}
}

// MaxWriters is 1: the files are written in order.
func (c *CSVSink) MaxWriters() int { return 1 }

// Prepare does nothing: CSV files need no schema.
func (c *CSVSink) Prepare(context.Context) error { return nil }

// PublishNodes appends node rows. Databuilder's publishers apply rows in
// file order, so a row that loses its key to an earlier one is dropped; a
// later winner is written after it and prevails.
func (c *CSVSink) PublishNodes(_ context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
	var st publisher.NodeStats
	kept := rows[:0:0]
	for _, r := range rows {
		h := holder{}
		for _, p := range r.Props {
			switch p.Name {
			case loader.OktaIDProperty:
				h.id, _ = p.Value.(string)
			case "is_active":
				h.active, _ = p.Value.(bool)
			case "updated_at":
				h.updated, _ = p.Value.(int64)
			}
		}
		if prev, ok := c.holders[r.Key]; ok && prev.id != h.id && !h.beats(prev) {
			st.Conflicts++
			c.dropped++
			continue
		}
		if prev, ok := c.holders[r.Key]; ok && prev.id != h.id {
			st.Conflicts++
		}
		c.holders[r.Key] = h
		if h.id != "" {
			c.keys[h.id] = r.Key
		}
		kept = append(kept, r)
	}
	if err := c.w.WriteNodes(kept); err != nil {
		return st, err
	}
	st.Created = len(kept)
	return st, nil
}

// beats applies the duplicate-key rule of the Neo4j publisher.
func (h holder) beats(o holder) bool {
	if h.active != o.active {
		return h.active
	}
	if h.updated != o.updated {
		return h.updated > o.updated
	}
	return h.id < o.id
}

// PublishManagers appends MANAGE_BY/MANAGE relationship rows.
func (c *CSVSink) PublishManagers(_ context.Context, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var st publisher.ManagerStats
	edges := make([]loader.Edge, 0, len(rows))
	for _, r := range rows {
		if h, ok := c.holders[r.UserKey]; ok && r.UserID != "" && h.id != r.UserID {
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
		edges = append(edges, loader.Edge{UserKey: r.UserKey, ManagerKey: manager})
	}
	if err := c.w.WriteEdges(edges); err != nil {
		return st, err
	}
	st.Linked = len(edges)
	return st, nil
}

// Close flushes the files.
func (c *CSVSink) Close() error { return c.w.Close() }

// Files lists the files written.
func (c *CSVSink) Files() []string { return c.w.Files() }
