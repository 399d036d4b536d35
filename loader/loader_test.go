package loader

import (
	"maps"
	"slices"
	"testing"

	"github.com/oktasync/oktasync/extractor"
)

func TestWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Claim
		want bool
	}{
		{"active beats inactive", Claim{"00ub", true, 1}, Claim{"00ua", false, 9}, true},
		{"inactive loses to active", Claim{"00ua", false, 9}, Claim{"00ub", true, 1}, false},
		{"newer of two active", Claim{"00ub", true, 9}, Claim{"00ua", true, 1}, true},
		{"smaller id on a tie", Claim{"00ua", true, 5}, Claim{"00ub", true, 5}, true},
		{"larger id on a tie", Claim{"00ub", true, 5}, Claim{"00ua", true, 5}, false},
		// One user read twice (the plain list, then the DEPROVISIONED
		// pass after a deprovisioning in between): the newer record wins,
		// whatever the statuses.
		{"same user: newer inactive beats older active", Claim{"00ua", false, 1_000_001}, Claim{"00ua", true, 1_000_000}, true},
		{"same user: older active loses to newer inactive", Claim{"00ua", true, 1_000_000}, Claim{"00ua", false, 1_000_001}, false},
		{"same user: same record", Claim{"00ua", true, 7}, Claim{"00ua", true, 7}, true},
	} {
		if got := Wins(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Wins(%+v, %+v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSupersedesToTheMillisecond(t *testing.T) {
	// Two changes 11 ms apart, in the same second: the older never
	// replaces the newer.
	older, newer := Claim{"00ua", true, 1_700_000_000_100}, Claim{"00ua", true, 1_700_000_000_111}
	if Supersedes(older, newer) {
		t.Error("a record 11 ms older supersedes the newer one")
	}
	if !Supersedes(newer, older) || !Supersedes(newer, newer) {
		t.Error("the newer record (or the same one again) does not supersede")
	}
}

func TestVersionFallsBackToSeconds(t *testing.T) {
	exact := extractor.User{Key: "a@x.io", SourceID: "00ua", UpdatedAt: 1_700_000_000, Version: 1_700_000_000_345}
	if got := Node(exact).Claim.Version; got != 1_700_000_000_345 {
		t.Errorf("Version = %d, want the exact 1700000000345", got)
	}
	coarse := exact
	coarse.Version = 0
	if got := Node(coarse).Claim.Version; got != 1_700_000_000_000 {
		t.Errorf("Version of a source without ms = %d, want updated_at in ms", got)
	}
	if got := Node(exact).ManagerRow().Version; got != 1_700_000_000_345 {
		t.Errorf("manager row Version = %d", got)
	}
}

func TestStagerKeepsTheNewerRecordOfOneUser(t *testing.T) {
	active := extractor.User{Key: "ann@x.io", SourceID: "00uann", IsActive: true, Version: 1000, Status: "ACTIVE"}
	deprov := extractor.User{Key: "ann@x.io", SourceID: "00uann", IsActive: false, Version: 2000, Status: "DEPROVISIONED"}
	other := extractor.User{Key: "ann@x.io", SourceID: "00uzed", IsActive: false, Version: 500}
	s := NewStager(10)
	s.Add(active)
	s.Add(deprov)
	s.Add(other)
	b := s.Take()
	if len(b.Nodes) != 1 {
		t.Fatalf("nodes = %d, want 1", len(b.Nodes))
	}
	if got := b.Nodes[0].Claim; got.SourceID != "00uann" || got.Active || got.Version != 2000 {
		t.Errorf("staged %+v, want ann's newer (deprovisioned) record", got)
	}
	// Ann's second record is not a duplicate key; zed's is.
	if b.Duplicates != 1 || len(b.Unwritten) != 1 || b.Unwritten[0] != "00uzed" {
		t.Errorf("duplicates = %d, unwritten = %v; want 1, [00uzed]", b.Duplicates, b.Unwritten)
	}
}

// TestIDSpoolSorted: ids added in any order, repeated within and across
// chunks, come back sorted and each once, from every iterator.
func TestIDSpoolSorted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int
		ids   []string
	}{
		{"empty", 3, nil},
		{"one chunk", 100, []string{"00uc", "00ua", "00ub", "00ua"}},
		{"runs of one", 1, []string{"b", "a", "c", "a", "b"}},
		{"across chunks", 3, []string{"00u9", "00u1", "00u5", "00u1", "00u7", "00u5", "00u2", "", "00u9", "00u0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewIDSpool(t.TempDir(), tc.chunk)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := map[string]bool{}
			for _, id := range tc.ids {
				if err := s.Add(id); err != nil {
					t.Fatal(err)
				}
				if id != "" {
					want[id] = true
				}
			}
			wantList := slices.Sorted(maps.Keys(want))
			for pass := range 2 {
				it, err := s.Sorted()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for id, ok := it.Next(); ok; id, ok = it.Next() {
					got = append(got, id)
				}
				if it.Err() != nil || !slices.Equal(got, wantList) {
					t.Errorf("pass %d: %q (err %v), want %q", pass, got, it.Err(), wantList)
				}
			}
		})
	}
}

func TestIDSpoolRefusesNewlines(t *testing.T) {
	s, err := NewIDSpool(t.TempDir(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Add("00u\n1"); err == nil {
		t.Error("an id with a newline was accepted")
	}
}
