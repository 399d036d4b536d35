package csv

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
)

// goldenScenario mirrors testdata/golden_users.json, the input that
// testdata/gen_golden.py runs through databuilder to make the goldens.
type goldenScenario struct {
	Name    string       `json:"name"`
	GoCalls string       `json:"go_calls"`
	Users   []goldenUser `json:"users"`
}

type goldenUser struct {
	Email          string              `json:"email"`
	FirstName      string              `json:"first_name"`
	LastName       string              `json:"last_name"`
	FullName       string              `json:"full_name"`
	GithubUsername string              `json:"github_username"`
	TeamName       string              `json:"team_name"`
	EmployeeType   string              `json:"employee_type"`
	ManagerEmail   string              `json:"manager_email"`
	SlackID        string              `json:"slack_id"`
	IsActive       *bool               `json:"is_active"` // databuilder's default is True
	ProfileURL     string              `json:"profile_url"`
	UpdatedAt      int64               `json:"updated_at"`
	RoleName       string              `json:"role_name"`
	OktaID         string              `json:"okta_id"`
	Extras         [][]json.RawMessage `json:"extras"`
}

// user converts g the way the Python side builds its databuilder User: JSON
// numbers without '.' or an exponent are ints, others floats.
func (g goldenUser) user(t *testing.T) extractor.User {
	t.Helper()
	u := extractor.User{
		Key: g.Email, Email: g.Email, FirstName: g.FirstName, LastName: g.LastName,
		FullName: g.FullName, GithubUsername: g.GithubUsername, TeamName: g.TeamName,
		EmployeeType: g.EmployeeType, SlackID: g.SlackID, IsActive: g.IsActive == nil || *g.IsActive,
		ProfileURL: g.ProfileURL, UpdatedAt: g.UpdatedAt, RoleName: g.RoleName, SourceID: g.OktaID,
	}
	if g.ManagerEmail != "" {
		u.Manager = extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: g.ManagerEmail}
	}
	for _, kv := range g.Extras {
		var name string
		if len(kv) != 2 || json.Unmarshal(kv[0], &name) != nil {
			t.Fatalf("bad extra %s", kv)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(kv[1]))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if n, ok := v.(json.Number); ok {
			if strings.ContainsAny(n.String(), ".eE") {
				f, err := n.Float64()
				if err != nil {
					t.Fatal(err)
				}
				v = f
			} else {
				i, err := n.Int64()
				if err != nil {
					t.Fatal(err)
				}
				v = i
			}
		}
		u.Extra = append(u.Extra, extractor.Attr{Name: name, Value: v})
	}
	return u
}

func csvGoldenScenarios(t *testing.T) []goldenScenario {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden_users.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Scenarios []goldenScenario `json:"scenarios"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if len(in.Scenarios) == 0 {
		t.Fatal("no scenarios")
	}
	return in.Scenarios
}

// listFiles returns the files under dir as slash paths relative to it.
func csvListFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestCSVWriterMatchesDatabuilder compares CSVWriter's output, byte for byte,
// with the files databuilder's own FsNeo4jCSVLoader wrote for the same users
// (testdata/databuilder, made by testdata/gen_golden.py).
func TestCSVWriterMatchesDatabuilder(t *testing.T) {
	for _, sc := range csvGoldenScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			users := make([]extractor.User, len(sc.Users))
			for i, g := range sc.Users {
				users[i] = g.user(t)
			}
			edge := func(u extractor.User) Edge { return Edge{UserKey: u.Key, ManagerKey: u.Manager.Value} }

			dir := t.TempDir()
			w := NewCSVWriter(dir)
			switch sc.GoCalls {
			case "per_user": // databuilder's Loader.load order: a user's node, then its relationship
				for _, u := range users {
					if err := w.WriteNodes([]loader.NodeRow{loader.Node(u)}); err != nil {
						t.Fatal(err)
					}
					if u.Manager.Value != "" {
						if err := w.WriteEdges([]Edge{edge(u)}); err != nil {
							t.Fatal(err)
						}
					}
				}
			case "batched": // oktasync's order: node pages, then all edges
				var rows []loader.NodeRow
				var edges []Edge
				for _, u := range users {
					rows = append(rows, loader.Node(u))
					if u.Manager.Value != "" {
						edges = append(edges, edge(u))
					}
				}
				half := len(rows) / 2
				for _, batch := range [][]loader.NodeRow{rows[:half], rows[half:]} {
					if err := w.WriteNodes(batch); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.WriteEdges(edges); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("unknown go_calls %q", sc.GoCalls)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			golden := filepath.Join("testdata", "databuilder", sc.Name)
			want := csvListFiles(t, golden)
			got := csvListFiles(t, dir)
			if !slices.Equal(got, want) {
				t.Fatalf("files = %q, databuilder wrote %q", got, want)
			}
			var reported []string
			for _, p := range w.Files() {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					t.Fatal(err)
				}
				reported = append(reported, filepath.ToSlash(rel))
			}
			slices.Sort(reported)
			if !slices.Equal(reported, want) {
				t.Errorf("Files() = %q, want %q", reported, want)
			}
			for _, f := range want {
				wb, err := os.ReadFile(filepath.Join(golden, filepath.FromSlash(f)))
				if err != nil {
					t.Fatal(err)
				}
				gb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(gb, wb) {
					t.Errorf("%s differs from databuilder's\n got: %q\nwant: %q", f, gb, wb)
				}
			}
		})
	}
}

func TestFormatProp(t *testing.T) {
	for _, tc := range []struct {
		name       string
		value      any
		wantHeader string
		wantCell   string
	}{
		{"s", "plain", "s", `"plain"`},
		{"s", "", "s", `""`},
		{"s", `say "hi"`, "s", `"say ""hi"""`},
		{"s", `"`, "s", `""""`},
		{"s", "a,b", "s", `"a,b"`},
		{"s", "line1\nline2", "s", "\"line1\nline2\""},
		{"s", "a\r\nb\rc", "s", "\"a\r\nb\rc\""},
		{"s", "tab\there", "s", "\"tab\there\""},
		{"s", " padded ", "s", `" padded "`},
		{"s", "Zoë Łukasz 李 ☃", "s", `"Zoë Łukasz 李 ☃"`},
		{"s", "12345", "s", `"12345"`},
		{"s", "True", "s", `"True"`},
		{"s", `back\slash`, "s", `"back\slash"`},
		{"b", true, "b:UNQUOTED", "True"},
		{"b", false, "b:UNQUOTED", "False"},
		{"i", int64(0), "i:UNQUOTED", "0"},
		{"i", int64(-17), "i:UNQUOTED", "-17"},
		{"i", int64(math.MaxInt64), "i:UNQUOTED", "9223372036854775807"},
		{"i", 42, "i:UNQUOTED", "42"},
		{"f", 0.5, "f", "0.5"},
		{"f", 3.0, "f", "3.0"},
		{"f", 1e16, "f", "1e+16"},
		{"odd \"name\"", "v", "odd \"name\"", `"v"`},
	} {
		h, c, err := formatProp(loader.Prop{Name: tc.name, Value: tc.value})
		if err != nil {
			t.Errorf("formatProp(%q, %#v): %v", tc.name, tc.value, err)
			continue
		}
		if h != tc.wantHeader || c != tc.wantCell {
			t.Errorf("formatProp(%q, %#v) = %q, %q; want %q, %q", tc.name, tc.value, h, c, tc.wantHeader, tc.wantCell)
		}
	}
	for _, bad := range []loader.Prop{
		{Name: "x", Value: nil}, {Name: "x", Value: int32(1)}, {Name: "x", Value: math.NaN()}, {Name: "x", Value: math.Inf(1)}, {Name: "x", Value: math.Inf(-1)}, {Name: "x", Value: float32(1)}, {Name: "x", Value: []string{"a"}},
		{Name: "", Value: "v"}, {Name: "x", Value: "bad \xff utf8"}, {Name: "bad\xff", Value: "v"},
	} {
		if _, _, err := formatProp(bad); err == nil {
			t.Errorf("formatProp(%#v) succeeded, want error", bad)
		}
	}
}

// TestPyFloatRepr checks values whose repr() was taken from CPython 3.11.
func TestPyFloatRepr(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0.5, "0.5"},
		{3.0, "3.0"},
		{100.0, "100.0"},
		{-2.5, "-2.5"},
		{0.1, "0.1"},
		{0.30000000000000004, "0.30000000000000004"}, // 0.1 + 0.2 at run time
		{1.0 / 3, "0.3333333333333333"},
		{123.456, "123.456"},
		{12345678.9, "12345678.9"},
		{0.0001, "0.0001"},
		{1e-05, "1e-05"},
		{1e-07, "1e-07"},
		{1e15, "1000000000000000.0"},
		{9999999999999998.0, "9999999999999998.0"},
		{9007199254740992.0, "9007199254740992.0"},
		{1e16, "1e+16"},
		{1.2345678901234568e+16, "1.2345678901234568e+16"},
		{1e21, "1e+21"},
		{1e22, "1e+22"},
		{1e100, "1e+100"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	} {
		if got := pyFloatRepr(tc.f); got != tc.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func csvReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCSVWriterRows(t *testing.T) {
	dir := t.TempDir()
	w := NewCSVWriter(dir)
	if _, err := os.Stat(filepath.Join(dir, "nodes")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("constructor did I/O: %v", err)
	}
	rows := []loader.NodeRow{
		{Key: "a", Props: []loader.Prop{{Name: "s", Value: "x,\"y\"\nz"}, {Name: "n", Value: int64(1)}, {Name: "f", Value: 1.5}, {Name: "b", Value: true}}},
		{Key: "b", Props: []loader.Prop{{Name: "b", Value: false}, {Name: "f", Value: 2.0}, {Name: "s", Value: ""}, {Name: "n", Value: int64(-2)}}}, // same set, other order
		{Key: "c", Props: []loader.Prop{{Name: "s", Value: "only"}}},
		{Key: "d", Props: []loader.Prop{{Name: "s", Value: int64(7)}}}, // s:UNQUOTED is another header set
	}
	if err := w.WriteNodes(rows[:2]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEdges([]Edge{{"b", "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNodes(rows[2:]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteNodes(nil); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEdges([]Edge{{"c", "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	want := map[string]string{
		"nodes/User_0.csv": "\"LABEL\",\"KEY\",\"s\",\"n:UNQUOTED\",\"f\",\"b:UNQUOTED\"\r\n" +
			"\"User\",\"a\",\"x,\"\"y\"\"\nz\",1,1.5,True\r\n" +
			"\"User\",\"b\",\"\",-2,2.0,False\r\n",
		"relationships/User_User_MANAGE_BY_1.csv": "\"START_KEY\",\"START_LABEL\",\"END_KEY\",\"END_LABEL\",\"TYPE\",\"REVERSE_TYPE\"\r\n" +
			"\"b\",\"User\",\"a\",\"User\",\"MANAGE_BY\",\"MANAGE\"\r\n" +
			"\"c\",\"User\",\"a\",\"User\",\"MANAGE_BY\",\"MANAGE\"\r\n",
		"nodes/User_2.csv": "\"LABEL\",\"KEY\",\"s\"\r\n\"User\",\"c\",\"only\"\r\n",
		"nodes/User_3.csv": "\"LABEL\",\"KEY\",\"s:UNQUOTED\"\r\n\"User\",\"d\",7\r\n",
	}
	var wantNames []string
	for name, content := range want {
		wantNames = append(wantNames, name)
		if got := csvReadFile(t, filepath.Join(dir, filepath.FromSlash(name))); got != content {
			t.Errorf("%s:\n got %q\nwant %q", name, got, content)
		}
	}
	slices.Sort(wantNames)
	if got := csvListFiles(t, dir); !slices.Equal(got, wantNames) {
		t.Errorf("files = %q, want %q", got, wantNames)
	}
	wantOrder := []string{"nodes/User_0.csv", "relationships/User_User_MANAGE_BY_1.csv", "nodes/User_2.csv", "nodes/User_3.csv"}
	files := w.Files()
	if len(files) != len(wantOrder) {
		t.Fatalf("Files() = %q, want %q", files, wantOrder)
	}
	for i, p := range files {
		if p != filepath.Join(dir, filepath.FromSlash(wantOrder[i])) {
			t.Errorf("Files()[%d] = %q, want %q", i, p, wantOrder[i])
		}
	}
	if err := w.WriteNodes(rows[:1]); err == nil {
		t.Error("WriteNodes after Close succeeded")
	}
	if err := w.WriteEdges([]Edge{{"a", "b"}}); err == nil {
		t.Error("WriteEdges after Close succeeded")
	}
}

func TestCSVWriterDirectories(t *testing.T) {
	t.Run("nothing written", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "run")
		w := NewCSVWriter(dir)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"nodes", "relationships"} {
			if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
				t.Errorf("%s not created: %v", sub, err)
			}
		}
		if len(w.Files()) != 0 {
			t.Errorf("Files() = %q", w.Files())
		}
	})
	t.Run("empty dirs exist", func(t *testing.T) {
		dir := t.TempDir()
		for _, sub := range []string{"nodes", "relationships"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		w := NewCSVWriter(dir)
		if err := w.WriteEdges([]Edge{{"u", "m"}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := csvListFiles(t, dir); !slices.Equal(got, []string{"relationships/User_User_MANAGE_BY_0.csv"}) {
			t.Errorf("files = %q", got)
		}
	})
	for _, sub := range []string{"nodes", "relationships"} {
		t.Run("refuses non-empty "+sub, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(dir, sub, "User_0.csv")
			if err := os.WriteFile(old, []byte("old run\r\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			w := NewCSVWriter(dir)
			err := w.WriteNodes([]loader.NodeRow{{Key: "a", Props: []loader.Prop{{Name: "email", Value: "a"}}}})
			if err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("WriteNodes = %v, want a not-empty error", err)
			}
			if err := w.WriteEdges([]Edge{{"a", "b"}}); err == nil {
				t.Error("WriteEdges after failed setup succeeded")
			}
			if err := w.Close(); err == nil {
				t.Error("Close after failed setup returned nil")
			}
			if got := csvReadFile(t, old); got != "old run\r\n" {
				t.Errorf("old file changed: %q", got)
			}
			if len(w.Files()) != 0 {
				t.Errorf("Files() = %q", w.Files())
			}
		})
	}
}

func TestCSVWriterRejectsBadRows(t *testing.T) {
	for name, write := range map[string]func(*CSVWriter) error{
		"empty node key": func(w *CSVWriter) error { return w.WriteNodes([]loader.NodeRow{{Key: ""}}) },
		"bad value type": func(w *CSVWriter) error {
			return w.WriteNodes([]loader.NodeRow{{Key: "a", Props: []loader.Prop{{Name: "x", Value: uint8(1)}}}})
		},
		"duplicate prop": func(w *CSVWriter) error {
			return w.WriteNodes([]loader.NodeRow{{Key: "a", Props: []loader.Prop{{Name: "x", Value: "1"}, {Name: "x", Value: "2"}}}})
		},
		"prop named KEY": func(w *CSVWriter) error {
			return w.WriteNodes([]loader.NodeRow{{Key: "a", Props: []loader.Prop{{Name: "KEY", Value: "1"}}}})
		},
		"invalid utf8":    func(w *CSVWriter) error { return w.WriteNodes([]loader.NodeRow{{Key: "a\xff"}}) },
		"empty edge user": func(w *CSVWriter) error { return w.WriteEdges([]Edge{{"", "m"}}) },
		"empty manager":   func(w *CSVWriter) error { return w.WriteEdges([]Edge{{"u", ""}}) },
	} {
		t.Run(name, func(t *testing.T) {
			w := NewCSVWriter(t.TempDir())
			if err := write(w); err == nil {
				t.Fatal("write succeeded, want error")
			}
			// The first error sticks: a half-written run must not look complete.
			if err := w.WriteEdges([]Edge{{"u", "m"}}); err == nil {
				t.Error("write after error succeeded")
			}
			if err := w.Close(); err == nil {
				t.Error("Close after error returned nil")
			}
		})
	}
}

func TestCSVWriterConcurrent(t *testing.T) {
	dir := t.TempDir()
	w := NewCSVWriter(dir)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				key := string(rune('a'+g)) + strings.Repeat("x", i)
				if err := w.WriteNodes([]loader.NodeRow{{Key: key, Props: []loader.Prop{{Name: "email", Value: key}}}}); err != nil {
					t.Error(err)
					return
				}
				if err := w.WriteEdges([]Edge{{key, "m"}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range w.Files() {
		if n := strings.Count(csvReadFile(t, p), "\r\n"); n != 1+8*50 {
			t.Errorf("%s has %d lines, want %d", p, n, 1+8*50)
		}
	}
}
