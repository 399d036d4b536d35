package loader

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/oktasync/oktasync/extractor"
)

// Spool stages manager rows on disk while the node pass runs, so that the
// manager pass can run after all nodes without holding the org in memory.
// Rows are written as tab-separated lines; keys never contain tabs or
// newlines (the mapping rejects whitespace in keys).
type Spool struct {
	f     *os.File
	w     *bufio.Writer
	count int
}

// NewSpool creates a spool file in dir ("" means the system temp dir).
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, "oktasync-managers-*.tsv")
	if err != nil {
		return nil, fmt.Errorf("create manager spool: %w", err)
	}
	return &Spool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Add appends one row.
func (s *Spool) Add(r ManagerRow) error {
	for _, v := range []string{r.UserKey, r.UserID, string(r.Manager.Kind), r.Manager.Value} {
		if strings.ContainsAny(v, "\t\n\r") {
			return fmt.Errorf("manager spool: value %q contains a tab or newline", v)
		}
	}
	if _, err := fmt.Fprintf(s.w, "%s\t%s\t%d\t%s\t%s\n", r.UserKey, r.UserID, r.Version, r.Manager.Kind, r.Manager.Value); err != nil {
		return fmt.Errorf("write manager spool: %w", err)
	}
	s.count++
	return nil
}

// Len is the number of rows added.
func (s *Spool) Len() int { return s.count }

// Batches reads the rows back in order, batchSize at a time. The slice
// passed to fn is reused: fn must copy what it keeps.
func (s *Spool) Batches(batchSize int, fn func([]ManagerRow) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("flush manager spool: %w", err)
	}
	if _, err := s.f.Seek(0, 0); err != nil {
		return fmt.Errorf("rewind manager spool: %w", err)
	}
	sc := bufio.NewScanner(bufio.NewReaderSize(s.f, 64<<10))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	batch := make([]ManagerRow, 0, batchSize)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "\t", 5)
		if len(parts) != 5 {
			return errors.New("manager spool: corrupt line")
		}
		at, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return errors.New("manager spool: corrupt line")
		}
		batch = append(batch, ManagerRow{UserKey: parts[0], UserID: parts[1], Version: at,
			Manager: extractor.ManagerRef{Kind: extractor.ManagerKind(parts[3]), Value: parts[4]}})
		if len(batch) == batchSize {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read manager spool: %w", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// Close removes the spool file.
func (s *Spool) Close() error { return removeFile(&s.f) }

// removeFile closes *f and removes its file, once: *f is nil afterwards,
// and a nil *f is already removed.
func removeFile(f **os.File) error {
	if *f == nil {
		return nil
	}
	name := (*f).Name()
	err := (*f).Close()
	*f = nil
	if rerr := os.Remove(name); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
