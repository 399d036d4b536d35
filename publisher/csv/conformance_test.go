package csv

import (
	stdcsv "encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/publisher"
	"github.com/oktasync/oktasync/publisher/publishertest"
)

func TestConformance(t *testing.T) {
	dirs := map[publisher.Publisher]string{}
	publishertest.Run(t, publishertest.Target{
		New: func(t *testing.T) publisher.Publisher {
			dir := t.TempDir()
			s := New(dir)
			dirs[s] = dir
			return s
		},
		Read: func(t *testing.T, p publisher.Publisher) publishertest.Graph {
			if err := p.(*Sink).Close(); err != nil {
				t.Fatal(err)
			}
			return apply(t, dirs[p])
		},
	})
}

// apply loads the files into a graph the way databuilder's CSV publishers
// do: node files, then relationship files, each row merged in file order
// (a later row's properties overwrite an earlier one's; an edge is merged).
func apply(t *testing.T, dir string) publishertest.Graph {
	t.Helper()
	g := publishertest.Graph{Nodes: map[string]map[string]any{}, Managers: map[string][]string{}}
	nodes, _ := filepath.Glob(filepath.Join(dir, "nodes", "*.csv"))
	rels, _ := filepath.Glob(filepath.Join(dir, "relationships", "*.csv"))
	for _, f := range nodes {
		for _, row := range readCSV(t, f) {
			key := row["KEY"].(string)
			if g.Nodes[key] == nil {
				g.Nodes[key] = map[string]any{}
			}
			for k, v := range row {
				if k != "KEY" && k != "LABEL" {
					g.Nodes[key][k] = v
				}
			}
		}
	}
	for _, f := range rels {
		for _, row := range readCSV(t, f) {
			if row["TYPE"] != "MANAGE_BY" || row["REVERSE_TYPE"] != "MANAGE" {
				t.Fatalf("%s: unexpected relationship %v", f, row)
			}
			u, m := row["START_KEY"].(string), row["END_KEY"].(string)
			if !slices.Contains(g.Managers[u], m) {
				g.Managers[u] = append(g.Managers[u], m)
				slices.Sort(g.Managers[u])
			}
		}
	}
	return g
}

// readCSV reads one file as databuilder does: a :UNQUOTED header means
// an int or a bool (True/False), any other cell is a string.
func readCSV(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := stdcsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]any
	for _, rec := range recs[1:] {
		row := map[string]any{}
		for i, h := range recs[0] {
			name, unquoted := strings.CutSuffix(h, ":UNQUOTED")
			var v any = rec[i]
			if unquoted {
				switch rec[i] {
				case "True":
					v = true
				case "False":
					v = false
				default:
					n, err := strconv.ParseInt(rec[i], 10, 64)
					if err != nil {
						t.Fatalf("%s: %s = %q: %v", path, h, rec[i], err)
					}
					v = n
				}
			}
			row[name] = v
		}
		out = append(out, row)
	}
	return out
}
