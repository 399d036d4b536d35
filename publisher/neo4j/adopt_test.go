package neo4j

import (
	"reflect"
	"testing"
)

func TestValidRelType(t *testing.T) {
	for typ, ok := range map[string]bool{
		"FOLLOW": true, "OWNER_OF": true, "_x1": true, "read_by": true,
		"": false, "1ST": false, "FOLLOW-ME": false, "A B": false, "A`B": false, "A`]->(x) DETACH DELETE x //": false, "É": false,
	} {
		if got := validRelType(typ); got != ok {
			t.Errorf("validRelType(%q) = %v, want %v", typ, got, ok)
		}
	}
}

// TestPlanStubMerge checks the decisions of a merge transaction: which
// stubs merge, which properties are copied, how each relationship moves,
// and which properties each move adds.
func TestPlanStubMerge(t *testing.T) {
	const (
		user, user2   = 1, 2
		stubA, stubB  = 10, 11 // two stubs of user
		stubC         = 12     // a stub of user2 with an odd relationship type
		table, table2 = 20, 21
	)
	pairs := []stubPair{
		{stub: stubA, user: user, stubKey: "A@x.io", userKey: "a@x.io",
			stubProps: map[string]any{"key": "A@x.io", "email": "A@x.io", "user_id": "A@x.io", "mode_user_id": "m1", "slack_id": "S"},
			userProps: map[string]any{"key": "a@x.io", "slack_id": "", "okta_id": "00u1"}},
		{stub: stubB, user: user, stubKey: "A@X.IO", userKey: "a@x.io",
			stubProps: map[string]any{"key": "A@X.IO", "mode_user_id": "m2", "github_username": "gh", "published_tag": "ui"},
			userProps: map[string]any{"key": "a@x.io", "slack_id": "", "okta_id": "00u1"}},
		{stub: stubC, user: user2, stubKey: "C@x.io", userKey: "c@x.io", stubProps: map[string]any{"note": "n"}},
	}
	rels := []stubRel{
		{id: 100, relType: "OWNER_OF", start: stubA, end: table, props: map[string]any{"published_tag": "ui"}},
		{id: 101, relType: "OWNER", start: table, end: stubA},
		{id: 102, relType: "FOLLOW", start: stubA, end: table2, props: map[string]any{"at": int64(1)}},
		{id: 103, relType: "FOLLOW", start: stubB, end: table2, props: map[string]any{"at": int64(2), "n": "b"}},
		{id: 104, relType: "KNOWS", start: stubA, end: stubB}, // between two stubs: read from both
		{id: 104, relType: "KNOWS", start: stubA, end: stubB},
		{id: 105, relType: "LOOP", start: stubA, end: stubA},
		{id: 105, relType: "LOOP", start: stubA, end: stubA},
		{id: 106, relType: "FOLLOW-ME", start: stubC, end: table},
		{id: 107, relType: "FOLLOW", start: stubC, end: table},
		{id: 108, relType: "SEES", start: stubA, end: stubC}, // to a stub left alone: it stays an ordinary node
	}
	pl := planStubMerge(pairs, rels)
	if len(pl.merge) != 2 || pl.merge[0].stub != stubA || pl.merge[1].stub != stubB {
		t.Errorf("merge %+v, want stubs A and B", pl.merge)
	}
	if !reflect.DeepEqual(pl.left, []leftStub{{id: stubC, key: "C@x.io", relType: "FOLLOW-ME"}}) {
		t.Errorf("left %+v", pl.left)
	}
	// Copied: what the user lacks, never key, email, user_id or run
	// metadata; the first stub wins.
	wantCopy := map[int64]map[string]any{stubA: {"mode_user_id": "m1"}, stubB: {"github_username": "gh"}}
	if !reflect.DeepEqual(pl.copyProps, wantCopy) {
		t.Errorf("copied %v, want %v", pl.copyProps, wantCopy)
	}
	type move struct {
		rel, from, to int64
		typ           string
	}
	var got []move
	for _, r := range pl.rows {
		got = append(got, move{r.rel.id, r.from, r.to, r.rel.relType})
	}
	want := []move{
		{100, user, table, "OWNER_OF"}, {101, table, user, "OWNER"}, {102, user, table2, "FOLLOW"}, {103, user, table2, "FOLLOW"},
		{104, user, user, "KNOWS"}, {105, user, user, "LOOP"}, {108, user, stubC, "SEES"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("moves:\n got %v\nwant %v", got, want)
	}
	if types := pl.types(); !reflect.DeepEqual(types, []string{"FOLLOW", "KNOWS", "LOOP", "OWNER", "OWNER_OF", "SEES"}) {
		t.Errorf("types %v", types)
	}
	// The user already follows table2 with {at: 0, by: "sync"}: the first
	// stub adds nothing it holds, the second only what neither has.
	if n := len(pl.readRows()); n != 6 {
		t.Errorf("%d rows read for existing relationships, want 6 (one per type, ends)", n)
	}
	pl.existing(102, map[string]any{"at": int64(0), "by": "sync"})
	follows := pl.moveRows("FOLLOW")
	wantFollows := []any{
		map[string]any{"rel": int64(102), "startUser": int64(user), "endUser": nil, "props": map[string]any{}},
		map[string]any{"rel": int64(103), "startUser": int64(user), "endUser": nil, "props": map[string]any{"n": "b"}},
	}
	if !reflect.DeepEqual(follows, wantFollows) {
		t.Errorf("FOLLOW rows:\n got %v\nwant %v", follows, wantFollows)
	}
	if knows := pl.moveRows("KNOWS"); !reflect.DeepEqual(knows, []any{map[string]any{"rel": int64(104), "startUser": int64(user), "endUser": int64(user), "props": map[string]any{}}}) {
		t.Errorf("KNOWS rows: %v", knows)
	}
}
