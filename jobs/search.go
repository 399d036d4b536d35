package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oktasync/oktasync/publisher"
)

// People search follows the graph: a full sync rebuilds the people index
// from the graph once the graph is in sync, an incremental sync and a hook
// batch update the documents of the users they wrote. The index never
// decides anything about the graph: its failure leaves the graph as the
// run made it, and the next full sync repairs the index.

// SearchError means the graph is in sync but the people index was not
// brought into step with it.
type SearchError struct{ Err error }

func (e *SearchError) Error() string {
	return fmt.Sprintf("people search: %v (the graph is in sync; the next full sync rebuilds the people index)", e.Err)
}

func (e *SearchError) Unwrap() error { return e.Err }

// SearchSummary is what a run did to the people index.
type SearchSummary struct {
	Outcome  string        `json:"outcome"` // success, failure, or skipped (dry run; no index yet)
	Index    string        `json:"index,omitempty"`
	Indexed  int           `json:"indexed"`
	Removed  int           `json:"removed"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

// peopleSearch is a run's people index and where its documents come from.
type peopleSearch struct {
	index publisher.PeopleIndex
	docs  publisher.DocumentReader
	batch int
}

// newPeopleSearch pairs the index with the sink's document reader; nil
// when people search is off.
func newPeopleSearch(index publisher.PeopleIndex, caps publisher.Capabilities, batch int) (*peopleSearch, error) {
	if index == nil {
		return nil, nil
	}
	if caps.Documents == nil {
		return nil, errors.New("people search reads its documents from the graph: it needs the Neo4j sink, not CSV output")
	}
	return &peopleSearch{index: index, docs: caps.Documents, batch: batch}, nil
}

// maxCatchUp bounds the users a catch-up rewrites; beyond it, the next
// full sync repairs the rest.
const maxCatchUp = 50000

// rebuild fills a fresh index with every user's document from the graph.
// Writes of other runs to the graph while it read (a hook batch, say,
// whose update went to the previous index) are then caught up: the
// documents of the users written since it began are rewritten in the new
// index. The run's own writes all committed before it began, so none of
// them is rewritten; a write stamps the time its transaction began, so one
// in flight when the rebuild began is missed (until the next write of that
// user, or the next full sync).
func (s *peopleSearch) rebuild(ctx context.Context) (publisher.IndexStats, error) {
	var began int64
	st, err := s.index.Rebuild(ctx, func(add func([]publisher.Document) error) error {
		var err error
		began, err = s.docs.AllDocuments(ctx, s.batch, add)
		return err
	})
	if err != nil {
		return st, err
	}
	keys, err := s.docs.ChangedSince(ctx, began, maxCatchUp)
	if err != nil {
		return st, err
	}
	got, err := s.update(ctx, keys, nil)
	got.Indexed = 0 // rewritten, already counted
	st.Add(got)
	return st, err
}

// update rewrites the documents of the users with these keys or source
// ids (and of their direct reports), batch users at a time.
func (s *peopleSearch) update(ctx context.Context, keys, sourceIDs []string) (publisher.IndexStats, error) {
	var st publisher.IndexStats
	for len(keys) > 0 || len(sourceIDs) > 0 {
		k := min(len(keys), s.batch)
		i := min(len(sourceIDs), s.batch-k)
		docs, err := s.docs.Documents(ctx, keys[:k], sourceIDs[:i])
		if err != nil {
			return st, err
		}
		got, err := s.index.Update(ctx, docs)
		st.Add(got)
		if err != nil {
			return st, err
		}
		keys, sourceIDs = keys[k:], sourceIDs[i:]
	}
	return st, nil
}

// finish records a search step in the summary and turns its failure into
// a *SearchError.
func finishSearch(sum *SearchSummary, st publisher.IndexStats, start time.Time, err error) error {
	sum.Index, sum.Indexed, sum.Removed, sum.Duration = st.Index, st.Indexed, st.Removed, time.Since(start)
	if errors.Is(err, publisher.ErrNoIndex) {
		// Before the first full sync: nothing to update, nothing failed.
		sum.Outcome, sum.Error = "skipped", err.Error()
		return nil
	}
	if err != nil {
		sum.Outcome, sum.Error = "failure", err.Error()
		return &SearchError{Err: err}
	}
	sum.Outcome = "success"
	return nil
}
