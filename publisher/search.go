package publisher

import (
	"context"
	"errors"
)

// ErrNoIndex means the alias points at no index yet: there is nothing to
// update in place until a full sync has built one.
var ErrNoIndex = errors.New("no people index yet: the next full sync builds it")

// People search is a second destination: Amundsen's search service finds
// people in a search-engine index (the alias user_search_index_v2_1) that
// holds one document per user, exactly as databuilder's search job writes
// it. The documents are read from the graph after the Neo4j publish, where
// the usage counts and the manager edges live (DocumentReader, a
// capability of the graph sink), and written by a PeopleIndex
// (publisher/elasticsearch).

// Document is one person's people-search document.
type Document struct {
	// ID is the document's id in the index: the user's source id, or the
	// key for a user no source manages. A rename keeps the id, so the
	// document is replaced in place.
	ID string
	// Key is the user's key (the document's "key" field).
	Key string
	// Active is the user's is_active.
	Active bool
	// Fields is the document body, exactly databuilder's user document:
	// key, name, first_name, last_name, team_name, role_name,
	// employee_type, github_username, slack_id, is_active, manager_email,
	// usage and resource_type, with null values left out.
	Fields map[string]any
}

// DocumentReader is the optional part of the graph sink's contract that
// reads people-search documents from the graph, as databuilder's search
// extractor does: only users with a full_name.
type DocumentReader interface {
	// AllDocuments calls fn with every user's document, at most batch at
	// a time, in key order. fn's slice is not reused. It returns the
	// target's clock (ms) when it began reading.
	AllDocuments(ctx context.Context, batch int, fn func([]Document) error) (int64, error)
	// ChangedSince lists the keys of at most limit users whose node or
	// manager edge was written at or after since (the target's clock, ms):
	// the writes a rebuild that read before them may have missed.
	ChangedSince(ctx context.Context, since int64, limit int) ([]string, error)
	// Documents reads the documents of the users with these keys or
	// source ids, and of their direct reports (whose manager_email follows
	// a rename). Users without a full_name have none.
	Documents(ctx context.Context, keys, sourceIDs []string) ([]Document, error)
}

// PeopleIndex is the people-search sink. It never touches the graph, and
// its failures never undo a graph write.
type PeopleIndex interface {
	// Check verifies the settings before a run reads Okta: the server
	// answers, the credentials work, and the alias is absent or points at
	// an index this sink made.
	Check(ctx context.Context) error
	// Rebuild fills a fresh index through fill, then points the alias at
	// it and removes the previous index in one atomic step: the alias is
	// never missing in between, and a failure before the swap leaves the
	// previous index serving (the fresh one is removed).
	Rebuild(ctx context.Context, fill func(add func([]Document) error) error) (IndexStats, error)
	// Update writes these documents into the index the alias points at,
	// and removes those of inactive users (unless the index keeps them),
	// visible to search on return.
	Update(ctx context.Context, docs []Document) (IndexStats, error)
}

// IndexStats counts what a PeopleIndex did.
type IndexStats struct {
	Index   string // the index the alias points at afterwards
	Indexed int    // documents written
	Removed int    // documents removed (leavers)
}

// Add accumulates o into s (Index is the latest).
func (s *IndexStats) Add(o IndexStats) {
	if o.Index != "" {
		s.Index = o.Index
	}
	s.Indexed += o.Indexed
	s.Removed += o.Removed
}
