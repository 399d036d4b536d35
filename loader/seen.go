package loader

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// IDSpool collects strings on disk, sorted: the source ids a run read, so
// that reconciliation can tell who the source still has without a mark on
// every node (the sink merge-joins them, in order, against the users it
// holds), or the keys an incremental sync wrote, for people search.
// Ids are kept in memory a chunk at a time, sorted, and written out as one
// sorted run per chunk; Sorted merges the runs. Memory is one chunk, plus a
// 4 KiB read buffer per run while merging: about 250 KB at a million users
// (IDChunk ids per run).
type IDSpool struct {
	f     *os.File
	w     *bufio.Writer
	chunk []string
	size  int
	runs  []section
	end   int64 // bytes written
}

// section is one sorted run of the spool file.
type section struct{ off, n int64 }

// IDChunk is how many ids an IDSpool holds in memory (about 40 bytes each).
const IDChunk = 16384

// NewIDSpool creates an id spool in dir ("" means the system temp dir)
// that holds chunk ids in memory (at least 1).
func NewIDSpool(dir string, chunk int) (*IDSpool, error) {
	f, err := os.CreateTemp(dir, "oktasync-ids-*.txt")
	if err != nil {
		return nil, fmt.Errorf("create id spool: %w", err)
	}
	chunk = max(chunk, 1)
	return &IDSpool{f: f, w: bufio.NewWriterSize(f, 64<<10), size: chunk, chunk: make([]string, 0, chunk)}, nil
}

// Add records id; an empty id is ignored.
func (s *IDSpool) Add(id string) error {
	if id == "" {
		return nil
	}
	if strings.ContainsAny(id, "\n\r") {
		return fmt.Errorf("id spool: id %q contains a newline", id)
	}
	s.chunk = append(s.chunk, id)
	if len(s.chunk) >= s.size {
		return s.flushChunk()
	}
	return nil
}

// flushChunk writes the chunk as one sorted run, without repeats.
func (s *IDSpool) flushChunk() error {
	if len(s.chunk) == 0 {
		return nil
	}
	slices.Sort(s.chunk)
	ids := slices.Compact(s.chunk)
	start := s.end
	for _, id := range ids {
		n, err := s.w.WriteString(id + "\n")
		s.end += int64(n)
		if err != nil {
			return fmt.Errorf("write id spool: %w", err)
		}
	}
	s.runs = append(s.runs, section{off: start, n: s.end - start})
	s.chunk = s.chunk[:0]
	return nil
}

// Sorted returns the ids added so far in ascending byte order, each once.
// It may be called more than once; each iterator reads the spool afresh.
func (s *IDSpool) Sorted() (*SortedIDs, error) {
	if s.f == nil {
		return nil, errors.New("id spool: closed")
	}
	if err := s.flushChunk(); err != nil {
		return nil, err
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("flush id spool: %w", err)
	}
	it := &SortedIDs{}
	for _, r := range s.runs {
		c := &cursor{r: bufio.NewReaderSize(io.NewSectionReader(s.f, r.off, r.n), 4096)}
		if c.advance(); c.err != nil {
			return nil, c.err
		}
		if c.ok {
			it.h = append(it.h, c)
		}
	}
	heap.Init(&it.h)
	return it, nil
}

// Close removes the spool file. It is safe to call more than once.
func (s *IDSpool) Close() error { return removeFile(&s.f) }

// SortedIDs iterates over an IDSpool's ids in ascending byte order.
type SortedIDs struct {
	h    cursors
	last string
	any  bool
	err  error
}

// Next returns the next id, or false at the end or on a read error (Err).
func (it *SortedIDs) Next() (string, bool) {
	for it.err == nil && len(it.h) > 0 {
		c := it.h[0]
		id := c.id
		if c.advance(); c.err != nil {
			it.err = c.err
			return "", false
		}
		if c.ok {
			heap.Fix(&it.h, 0)
		} else {
			heap.Pop(&it.h)
		}
		if it.any && id == it.last {
			continue // in more than one run
		}
		it.last, it.any = id, true
		return id, true
	}
	return "", false
}

// Err reports a failure to read the spool.
func (it *SortedIDs) Err() error { return it.err }

// cursor is the head of one sorted run.
type cursor struct {
	r   *bufio.Reader
	id  string
	ok  bool
	err error
}

func (c *cursor) advance() {
	line, err := c.r.ReadString('\n')
	switch {
	case err == nil:
		c.id, c.ok = line[:len(line)-1], true
	case errors.Is(err, io.EOF) && line == "":
		c.id, c.ok = "", false
	default:
		c.ok, c.err = false, fmt.Errorf("read id spool: %w", err)
	}
}

// cursors is a min-heap of run heads.
type cursors []*cursor

func (h cursors) Len() int           { return len(h) }
func (h cursors) Less(i, j int) bool { return h[i].id < h[j].id }
func (h cursors) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
