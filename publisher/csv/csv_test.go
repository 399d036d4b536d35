package csv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/loader"
	"github.com/oktasync/oktasync/publisher"
)

func u(key, id string, active bool, updated int64, manager string) extractor.User {
	x := extractor.User{Key: key, Email: key, FullName: key, IsActive: active, UpdatedAt: updated, SourceID: id}
	if manager != "" {
		x.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: manager}
	}
	return x
}

func TestCSVSinkKeepsOneUserPerKeyAcrossBatches(t *testing.T) {
	dir := t.TempDir()
	c := New(dir)
	ctx := context.Background()
	boss1, boss2 := u("b1@x.io", "00ub1", true, 1, ""), u("b2@x.io", "00ub2", true, 1, "")
	winner := u("dup@x.io", "00unew", true, 50, "00ub2")
	loser := u("dup@x.io", "00uold", false, 90, "00ub1")
	run, err := c.BeginRun(ctx, publisher.RunOptions{SpoolDir: t.TempDir(), BatchSize: 2, Writers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range [][]extractor.User{{boss1, boss2, winner}, {loser}} {
		rows := make([]loader.NodeRow, len(batch))
		for i, x := range batch {
			rows[i] = loader.Node(x)
		}
		if _, err := c.PublishNodes(ctx, run, rows); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.LinkManagers(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := c.EndRun(run); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	nodes, _ := os.ReadFile(filepath.Join(dir, "nodes", "User_0.csv"))
	if n := strings.Count(string(nodes), `"dup@x.io","dup@x.io"`); n != 1 {
		t.Errorf("dup@x.io written %d times:\n%s", n, nodes)
	}
	if strings.Contains(string(nodes), "00uold") {
		t.Error("the losing (inactive) user reached the node file")
	}
	rels, _ := filepath.Glob(filepath.Join(dir, "relationships", "*.csv"))
	data, _ := os.ReadFile(rels[0])
	if strings.Contains(string(data), `"dup@x.io","User","b1@x.io"`) || !strings.Contains(string(data), `"dup@x.io","User","b2@x.io"`) {
		t.Errorf("manager rows:\n%s", data)
	}
}

func TestBatcherRule(t *testing.T) {
	tests := []struct {
		name     string
		a, b     extractor.User
		winnerID string
	}{
		{"active beats inactive", u("k", "1", false, 9, ""), u("k", "2", true, 1, ""), "2"},
		{"newer beats older", u("k", "1", true, 5, ""), u("k", "2", true, 6, ""), "2"},
		{"smaller id breaks ties", u("k", "2", true, 5, ""), u("k", "1", true, 5, ""), "1"},
	}
	for _, tt := range tests {
		for _, order := range [][2]extractor.User{{tt.a, tt.b}, {tt.b, tt.a}} {
			b := loader.NewStager(10)
			b.Add(order[0])
			b.Add(order[1])
			batch := b.Take()
			users, losers := batch.Nodes, batch.Unwritten
			if len(users) != 1 || users[0].Claim.SourceID != tt.winnerID || len(losers) != 1 || losers[0] == tt.winnerID {
				t.Errorf("%s: kept %v, losers %v", tt.name, users, losers)
			}
		}
	}
}
