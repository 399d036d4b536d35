package csv

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oktasync/oktasync/loader"
)

// FuzzCSVWriter writes one user with arbitrary text, numbers and a manager
// edge, then reads the files back with a strict reader of databuilder's
// QUOTE_NONNUMERIC dialect (parseDatabuilderCSV). Seeds:
// testdata/fuzz/FuzzCSVWriter. The writer never panics; it refuses exactly
// what it documents (an empty or non-UTF-8 key or name, a non-finite float,
// a repeated column); and whatever it accepts reads back as the same
// header and values, whatever quotes, commas, CR or LF the text holds.
func FuzzCSVWriter(f *testing.F) {
	f.Add("alice@acme.com", "full_name", "Alice \"Al\" Smith, PhD", int64(1700000000), 0.5, true, "bob@acme.com")
	f.Add("x", "note", "line one\r\nline two\rthree\n", int64(-1), 1e16, false, "y")
	f.Add("ünï@ex.com", "LABEL", "", int64(0), math.Copysign(0, -1), true, "\"")
	f.Add("", "a", "b", int64(1), math.NaN(), false, "")
	f.Add("k", "n", "\xff", int64(math.MaxInt64), 5e-324, true, "m")
	f.Fuzz(func(t *testing.T, key, name, text string, n int64, fl float64, b bool, manager string) {
		row := loader.NodeRow{Key: key, Props: []loader.Prop{
			{Name: name, Value: text}, {Name: "n", Value: n}, {Name: "f", Value: fl}, {Name: "b", Value: b},
		}}
		dir := t.TempDir()
		w := NewCSVWriter(dir)
		nodeErr := w.WriteNodes([]loader.NodeRow{row})
		edgeErr := w.WriteEdges([]Edge{{UserKey: key, ManagerKey: manager}})
		closeErr := w.Close()

		badKey := key == "" || !utf8.ValidString(key)
		badNode := badKey || name == "" || !utf8.ValidString(name) || !utf8.ValidString(text) ||
			math.IsNaN(fl) || math.IsInf(fl, 0) || slices.Contains([]string{"f", "LABEL", "KEY", "n:UNQUOTED", "b:UNQUOTED"}, name)
		if (nodeErr != nil) != badNode {
			t.Fatalf("WriteNodes(key %q, name %q, text %q, f %v) = %v; refusal expected: %v", key, name, text, fl, nodeErr, badNode)
		}
		if nodeErr != nil {
			// A failed write is sticky: nothing more is written.
			if edgeErr == nil || closeErr == nil {
				t.Fatalf("after a refused row: WriteEdges %v, Close %v; want both to fail", edgeErr, closeErr)
			}
			return
		}
		badEdge := manager == "" || !utf8.ValidString(manager)
		if (edgeErr != nil) != badEdge {
			t.Fatalf("WriteEdges(%q -> %q) = %v; refusal expected: %v", key, manager, edgeErr, badEdge)
		}
		if badEdge {
			return
		}
		if closeErr != nil {
			t.Fatal(closeErr)
		}

		header, rows := readCSVFile(t, filepath.Join(dir, "nodes", "User_0.csv"))
		wantHeader := []string{"LABEL", "KEY", name, "n:UNQUOTED", "f", "b:UNQUOTED"}
		if !slices.Equal(header, wantHeader) {
			t.Fatalf("node header %q, want %q", header, wantHeader)
		}
		if len(rows) != 1 {
			t.Fatalf("%d node rows, want 1: %q", len(rows), rows)
		}
		r := rows[0]
		if r[0] != "User" || r[1] != key || r[2] != text {
			t.Fatalf("node row %q does not read back as User, %q, %q", r, key, text)
		}
		if got, err := strconv.ParseInt(r[3], 10, 64); err != nil || got != n {
			t.Fatalf("integer cell %q, want %d", r[3], n)
		}
		if got, err := strconv.ParseFloat(r[4], 64); err != nil || got != fl || math.Signbit(got) != math.Signbit(fl) {
			t.Fatalf("float cell %q, want %v", r[4], fl)
		}
		if want := map[bool]string{true: "True", false: "False"}[b]; r[5] != want {
			t.Fatalf("bool cell %q, want %q", r[5], want)
		}

		header, rows = readCSVFile(t, filepath.Join(dir, "relationships", "User_User_MANAGE_BY_1.csv"))
		if !slices.Equal(header, csvRelationHeader()) {
			t.Fatalf("relationship header %q", header)
		}
		want := []string{key, "User", manager, "User", "MANAGE_BY", "MANAGE"}
		if len(rows) != 1 || !slices.Equal(rows[0], want) {
			t.Fatalf("relationship rows %q, want [%q]", rows, want)
		}
	})
}

func readCSVFile(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := parseDatabuilderCSV(string(data))
	if err != nil {
		t.Fatalf("%s: %v\n%q", path, err, data)
	}
	if len(lines) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return lines[0], lines[1:]
}

// parseDatabuilderCSV reads what csv.DictWriter(quoting=QUOTE_NONNUMERIC)
// writes: rows end with \r\n; a cell is either quoted ("…", "" for a
// quote, anything else literal, CR and LF included) or bare (a number or
// True/False: no quote, comma, CR or LF). Anything else is an error, so a
// writer that forgot to quote or escape fails the fuzz target.
func parseDatabuilderCSV(s string) ([][]string, error) {
	var rows [][]string
	var row []string
	for len(s) > 0 {
		var cell string
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, fmt.Errorf("databuilder csv: unterminated quoted cell")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			cell, s = b.String(), s[i:]
		} else {
			end := strings.IndexAny(s, ",\r\n")
			if end < 0 {
				return nil, fmt.Errorf("databuilder csv: row does not end with CRLF")
			}
			cell, s = s[:end], s[end:]
			if cell == "" || strings.ContainsRune(cell, '"') {
				return nil, fmt.Errorf("databuilder csv: bare cell %q", cell)
			}
		}
		row = append(row, cell)
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, "\r\n"):
			rows, row, s = append(rows, row), nil, s[2:]
		default:
			return nil, fmt.Errorf("databuilder csv: cell followed by %.10q, want , or CRLF", s)
		}
	}
	if row != nil {
		return nil, fmt.Errorf("databuilder csv: last row does not end with CRLF")
	}
	return rows, nil
}
