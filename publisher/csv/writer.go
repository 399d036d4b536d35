package csv

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/oktasync/oktasync/loader"
)

// This file writes the CSV files of Amundsen databuilder's FsNeo4jCSVLoader
// (databuilder 7.5.x, databuilder/loader/file_system_neo4j_csv_loader.py and
// databuilder/serializers/neo4_serializer.py), byte for byte as databuilder
// writes them on Linux for the equivalent databuilder.models.user.User
// records, so that Neo4jCsvPublisher and Neo4jCsvUnwindPublisher can publish
// them. The facts it reproduces, all checked against databuilder itself (see
// testdata/gen_golden.py):
//
//   - Layout: DIR/nodes/<label>_<n>.csv and
//     DIR/relationships/<start label>_<end label>_<type>_<n>.csv, i.e.
//     User_<n>.csv and User_User_MANAGE_BY_<n>.csv.
//   - <n> numbers the distinct header *sets* (column names, order ignored)
//     0, 1, 2, … in order of first appearance, with ONE counter shared by
//     nodes and relationships. A databuilder job loads record by record (a
//     user's node, then its MANAGE_BY relationship), so with a single header
//     set the files are User_0.csv and User_User_MANAGE_BY_1.csv. A later row
//     whose header set was already seen goes to that file, in its column order.
//   - Every file starts with its header row.
//   - Node columns: LABEL, KEY, then the properties in order. Relationship
//     columns: START_KEY, START_LABEL, END_KEY, END_LABEL, TYPE, REVERSE_TYPE.
//   - The header of a property whose value is an int or a bool gets the
//     suffix ":UNQUOTED"; a float's or a string's header gets none.
//   - Cells follow csv.DictWriter(quoting=csv.QUOTE_NONNUMERIC) with the
//     default dialect: every string (header names included) is quoted with
//     '"', an embedded '"' is doubled, and nothing else is escaped — commas,
//     \n and \r are written as they are inside the quotes. Ints and floats are
//     bare (floats as Python's repr: 0.5, 3.0, 1e+16), bools are
//     bare True / False. Text is UTF-8 without a BOM.
//   - Rows end with "\r\n": the csv module's default lineterminator, which
//     databuilder's text-mode open(path, 'w', encoding='utf8') leaves alone
//     on POSIX (it would turn every \n into \r\n on Windows).
//
// Where CSVWriter deliberately differs from databuilder, it returns an error:
//   - for NaN and ±Inf floats, which databuilder writes as nan/inf but pandas
//     reads back as strings (turning the whole column into strings);
//   - for invalid UTF-8, an empty key, an unsupported value type or a
//     duplicate column (Python would collapse duplicate dict keys);
//   - when DIR/nodes or DIR/relationships already holds anything, instead of
//     deleting it (force_create_directory) or failing on any existing
//     directory: a publisher reads every file there, so runs must never mix.

// Edge is one resolved manager relationship: (user)-[:MANAGE_BY]->(manager)
// and (manager)-[:MANAGE]->(user).
type Edge struct {
	UserKey, ManagerKey string
}

// Header names databuilder's Neo4j serializer gives the fixed columns.
const (
	csvNodeLabel     = "LABEL"
	csvNodeKey       = "KEY"
	csvUnquoted      = ":UNQUOTED"
	csvNodesDir      = "nodes"
	csvRelationsDir  = "relationships"
	csvFileExtension = ".csv"
)

// csvRelationHeader is the header of relationship files.
func csvRelationHeader() []string {
	return []string{"START_KEY", "START_LABEL", "END_KEY", "END_LABEL", "TYPE", "REVERSE_TYPE"}
}

// CSVWriter writes User nodes and MANAGE_BY relationships as databuilder's
// FsNeo4jCSVLoader does, under DIR/nodes and DIR/relationships. It streams:
// it keeps one buffered open file per header set and never the rows. It is
// safe for concurrent use, though rows are then written in no fixed order.
type CSVWriter struct {
	dir string

	mu      sync.Mutex
	started bool
	closed  bool
	err     error               // sticky: the first write or setup error
	sets    map[string]int      // sorted header set -> databuilder's counter
	byOrder map[string]*csvSink // prefix + header in row order -> sink
	files   map[string]*csvFile // path -> file
	paths   []string            // in creation order
}

// csvFile is one open output file.
type csvFile struct {
	f      *os.File
	w      *bufio.Writer
	header []string
}

// csvSink routes rows of one column order into a file whose header may list
// the same columns in another order: cell i of a row goes to column perm[i].
type csvSink struct {
	file *csvFile
	perm []int // nil when the row order is the file's order
}

// NewCSVWriter returns a writer for dir. It does no I/O: the directories are
// created by the first write, or by Close if nothing was written.
func NewCSVWriter(dir string) *CSVWriter {
	return &CSVWriter{
		dir:     dir,
		sets:    make(map[string]int),
		byOrder: make(map[string]*csvSink),
		files:   make(map[string]*csvFile),
	}
}

// WriteNodes appends one :User row per element of rows. Rows with a new set
// of property headers go to a new file, as in databuilder.
func (w *CSVWriter) WriteNodes(rows []loader.NodeRow) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ready(); err != nil {
		return err
	}
	header := make([]string, 0, 16)
	cells := make([]string, 0, 16)
	for i, r := range rows {
		if r.Key == "" {
			return w.fail(fmt.Errorf("csv: node row %d has an empty key", i))
		}
		if !utf8.ValidString(r.Key) {
			return w.fail(fmt.Errorf("csv: node key %q is not valid UTF-8", r.Key))
		}
		header = append(header[:0], csvNodeLabel, csvNodeKey)
		cells = append(cells[:0], quoteCSV(loader.UserLabel), quoteCSV(r.Key))
		for _, p := range r.Props {
			h, c, err := formatProp(p)
			if err != nil {
				return w.fail(fmt.Errorf("csv: node %q: %w", r.Key, err))
			}
			header = append(header, h)
			cells = append(cells, c)
		}
		if err := w.writeRow(csvNodesDir, loader.UserLabel, header, cells); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// WriteEdges appends one MANAGE_BY row (REVERSE_TYPE MANAGE) per edge.
func (w *CSVWriter) WriteEdges(edges []Edge) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.ready(); err != nil {
		return err
	}
	prefix := loader.UserLabel + "_" + loader.UserLabel + "_" + loader.ManageByType
	header := csvRelationHeader()
	cells := make([]string, len(header))
	for _, e := range edges {
		if e.UserKey == "" || e.ManagerKey == "" {
			return w.fail(fmt.Errorf("csv: edge %q -> %q has an empty key", e.UserKey, e.ManagerKey))
		}
		if !utf8.ValidString(e.UserKey) || !utf8.ValidString(e.ManagerKey) {
			return w.fail(fmt.Errorf("csv: edge %q -> %q is not valid UTF-8", e.UserKey, e.ManagerKey))
		}
		cells[0] = quoteCSV(e.UserKey)
		cells[1] = quoteCSV(loader.UserLabel)
		cells[2] = quoteCSV(e.ManagerKey)
		cells[3] = quoteCSV(loader.UserLabel)
		cells[4] = quoteCSV(loader.ManageByType)
		cells[5] = quoteCSV(loader.ManageType)
		if err := w.writeRow(csvRelationsDir, prefix, header, cells); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// Close flushes and closes every file. If nothing was written it still
// creates DIR/nodes and DIR/relationships, as databuilder's loader does on
// init, so that a publisher finds both. It is idempotent: later calls return
// the first call's result.
func (w *CSVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	var errs []error
	if w.err == nil && !w.started {
		errs = append(errs, w.setup())
	}
	for _, p := range w.paths {
		f := w.files[p]
		if err := f.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("csv: %w", err))
		}
		if err := f.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("csv: %w", err))
		}
	}
	w.files = nil
	if err := errors.Join(errs...); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// Files returns the paths of the files created so far, in creation order.
func (w *CSVWriter) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.paths)
}

var errCSVClosed = errors.New("csv: writer is closed")

// ready sets up the directories on first use and reports a sticky error.
func (w *CSVWriter) ready() error {
	if w.closed {
		return errCSVClosed
	}
	if w.err != nil {
		return w.err
	}
	if !w.started {
		if err := w.setup(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *CSVWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return err
}

// setup creates DIR/nodes and DIR/relationships, refusing either one if it
// already has entries.
func (w *CSVWriter) setup() error {
	w.started = true
	for _, sub := range []string{csvNodesDir, csvRelationsDir} {
		p := filepath.Join(w.dir, sub)
		entries, err := os.ReadDir(p)
		switch {
		case err == nil && len(entries) > 0:
			return fmt.Errorf("csv: %s is not empty (%s, …): refusing to mix CSV files of two runs; use a new or empty directory", p, entries[0].Name())
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("csv: %w", err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
	}
	return nil
}

// writeRow writes one row of quoted cells under sub/, choosing or creating the
// file for the header set as databuilder's _get_writer and _make_key do.
func (w *CSVWriter) writeRow(sub, prefix string, header, cells []string) error {
	orderKey := sub + "\x00" + prefix + "\x00" + strings.Join(header, "\x00")
	sink := w.byOrder[orderKey]
	if sink == nil {
		var err error
		if sink, err = w.newSink(sub, prefix, header); err != nil {
			return err
		}
		w.byOrder[orderKey] = sink
	}
	bw := sink.file.w
	if sink.perm != nil {
		ordered := make([]string, len(cells))
		for i, c := range cells {
			ordered[sink.perm[i]] = c
		}
		cells = ordered
	}
	return writeCSVLine(bw, cells)
}

func (w *CSVWriter) newSink(sub, prefix string, header []string) (*csvSink, error) {
	sorted := slices.Clone(header)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return nil, fmt.Errorf("csv: column %q appears twice", sorted[i])
		}
	}
	setKey := strings.Join(sorted, "\x00")
	n, ok := w.sets[setKey]
	if !ok {
		n = len(w.sets)
		w.sets[setKey] = n
	}
	path := filepath.Join(w.dir, sub, prefix+"_"+strconv.Itoa(n)+csvFileExtension)
	file := w.files[path]
	if file == nil {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		file = &csvFile{f: f, w: bufio.NewWriterSize(f, 64<<10), header: slices.Clone(header)}
		w.files[path] = file
		w.paths = append(w.paths, path)
		quoted := make([]string, len(header))
		for i, h := range header {
			quoted[i] = quoteCSV(h)
		}
		if err := writeCSVLine(file.w, quoted); err != nil {
			return nil, err
		}
	}
	sink := &csvSink{file: file}
	if !slices.Equal(file.header, header) {
		pos := make(map[string]int, len(file.header))
		for i, h := range file.header {
			pos[h] = i
		}
		sink.perm = make([]int, len(header))
		for i, h := range header {
			sink.perm[i] = pos[h]
		}
	}
	return sink, nil
}

func writeCSVLine(bw *bufio.Writer, cells []string) error {
	for i, c := range cells {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(c)
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// formatProp returns the header and the cell of p as databuilder's Neo4j
// serializer and csv.QUOTE_NONNUMERIC write them.
func formatProp(p loader.Prop) (header, cell string, err error) {
	if p.Name == "" {
		return "", "", errors.New("property with an empty name")
	}
	if !utf8.ValidString(p.Name) {
		return "", "", fmt.Errorf("property name %q is not valid UTF-8", p.Name)
	}
	switch v := p.Value.(type) {
	case string:
		if !utf8.ValidString(v) {
			return "", "", fmt.Errorf("property %s: value %q is not valid UTF-8", p.Name, v)
		}
		return p.Name, quoteCSV(v), nil
	case bool:
		if v {
			return p.Name + csvUnquoted, "True", nil
		}
		return p.Name + csvUnquoted, "False", nil
	case int64:
		return p.Name + csvUnquoted, strconv.FormatInt(v, 10), nil
	case int:
		return p.Name + csvUnquoted, strconv.Itoa(v), nil
	case float64:
		// databuilder would write nan/inf, but pandas reads them back as
		// strings (turning the whole column into strings): refuse instead.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", "", fmt.Errorf("property %s: non-finite float %v", p.Name, v)
		}
		return p.Name, pyFloatRepr(v), nil
	default:
		return "", "", fmt.Errorf("property %s: unsupported value type %T", p.Name, p.Value)
	}
}

// quoteCSV quotes s as Python's csv module does under QUOTE_NONNUMERIC with
// the default dialect: always, doubling embedded quotes.
func quoteCSV(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// pyFloatRepr formats f as Python's repr(float) (and so str(float), which the
// csv module writes): the shortest round-tripping digits, in positional
// notation with at least one fractional digit when the decimal exponent is
// in [-4, 16), otherwise as d[.ddd]e±XX.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // e.g. -1.2345e+16, 5e-324
	exp, err := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if err != nil {
		panic("loader: unexpected float format " + e)
	}
	if exp < -4 || exp >= 16 {
		return e // Go and Python agree here: sign, ≥2 exponent digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}
