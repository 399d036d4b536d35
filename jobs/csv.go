package jobs

import (
	"context"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

// CSVSink stages a run as databuilder-format CSV files instead of writing
// to Neo4j, so Amundsen's own publishers can load them. Managers named by
// Okta id are resolved to keys with an id→key index of the run's users
// (two short strings per user).
type CSVSink struct {
	w    *loader.CSVWriter
	keys map[string]string
}

var _ publisher.Publisher = (*CSVSink)(nil)

// NewCSVSink writes under dir. It does no I/O until the first write.
func NewCSVSink(dir string) *CSVSink {
	return &CSVSink{w: loader.NewCSVWriter(dir), keys: make(map[string]string)}
}

// Prepare does nothing: CSV files need no schema.
func (c *CSVSink) Prepare(context.Context) error { return nil }

// PublishNodes appends node rows; every row counts as created.
func (c *CSVSink) PublishNodes(_ context.Context, rows []loader.NodeRow) (publisher.NodeStats, error) {
	for _, r := range rows {
		for _, p := range r.Props {
			if p.Name == loader.OktaIDProperty {
				if id, ok := p.Value.(string); ok && id != "" {
					c.keys[id] = r.Key
				}
			}
		}
	}
	if err := c.w.WriteNodes(rows); err != nil {
		return publisher.NodeStats{}, err
	}
	return publisher.NodeStats{Created: len(rows)}, nil
}

// PublishManagers appends MANAGE_BY/MANAGE relationship rows.
func (c *CSVSink) PublishManagers(_ context.Context, rows []loader.ManagerRow) (publisher.ManagerStats, error) {
	var st publisher.ManagerStats
	edges := make([]loader.Edge, 0, len(rows))
	for _, r := range rows {
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
