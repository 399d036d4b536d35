package neo4j_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/oktasync/oktasync/internal/neo4jtest"
	"github.com/oktasync/oktasync/publisher"
)

// TestDocumentsIntegration: the people-search documents are databuilder's
// (search_data_queries.DEFAULT_USER_QUERY): only users with a full_name,
// key = email, is_active through toBoolean, nulls left out, the manager's
// email, and the usage counts with databuilder's arithmetic — read_count
// summed over the product of the READ, OWNER_OF and FOLLOWED_BY rows.
func TestDocumentsIntegration(t *testing.T) {
	p, d := newPublisher(t, 100)
	neo4jtest.Exec(t, d, `
CREATE (ada:User {key: 'ada@x.io', email: 'ada@x.io', full_name: 'Ada L', first_name: 'Ada', last_name: 'L',
                  team_name: 'Data', role_name: 'Eng', employee_type: 'Employee', github_username: '', slack_id: 'U1',
                  is_active: true, okta_id: '00uada'})
CREATE (bob:User {key: 'bob@x.io', email: 'bob@x.io', full_name: 'Bob M', is_active: false, okta_id: '00ubob'})
CREATE (cy:User {key: 'cy@x.io', email: 'cy@x.io', full_name: 'Cy N', is_active: 'True'})
CREATE (stub:User {key: 'stub@x.io', email: 'stub@x.io'})
CREATE (ada)-[:MANAGE_BY]->(bob), (bob)-[:MANAGE]->(ada)
CREATE (t1:Table {key: 't1'}), (t2:Table {key: 't2'}), (t3:Table {key: 't3'})
CREATE (ada)-[:READ {read_count: 5}]->(t1), (ada)-[:READ {read_count: 7}]->(t2)
CREATE (ada)-[:OWNER_OF]->(t1), (ada)-[:OWNER_OF]->(t2), (ada)-[:OWNER_OF]->(t3)
CREATE (ada)-[:FOLLOWED_BY]->(t1), (ada)-[:FOLLOWED_BY]->(t2)
CREATE (bob)-[:READ {read_count: 3}]->(t3)`, nil)
	usage := func(read, own, follow any) map[string]any {
		return map[string]any{"total_read": read, "total_own": own, "total_follow": follow}
	}
	want := []publisher.Document{
		{ID: "00uada", Key: "ada@x.io", Active: true, Fields: map[string]any{
			"key": "ada@x.io", "name": "Ada L", "first_name": "Ada", "last_name": "L", "team_name": "Data", "role_name": "Eng",
			"employee_type": "Employee", "github_username": "", "slack_id": "U1", "is_active": true,
			"manager_email": "bob@x.io", "resource_type": "user",
			// (5+7) × 3 OWNER_OF rows × 2 FOLLOWED_BY rows, as databuilder computes it.
			"usage": usage(int64(72), int64(3), int64(2)),
		}},
		{ID: "00ubob", Key: "bob@x.io", Fields: map[string]any{
			"key": "bob@x.io", "name": "Bob M", "is_active": false, "resource_type": "user", "usage": usage(int64(3), nil, nil),
		}},
		{ID: "cy@x.io", Key: "cy@x.io", Active: true, Fields: map[string]any{
			"key": "cy@x.io", "name": "Cy N", "is_active": true, "resource_type": "user", "usage": usage(nil, nil, nil),
		}},
	}
	var all, got []publisher.Document
	pages := 0
	began, err := p.AllDocuments(context.Background(), 2, func(docs []publisher.Document) error {
		pages++
		all = append(all, docs...)
		return nil
	})
	if err != nil || began < 1700000000000 {
		t.Fatalf("AllDocuments: began %d, %v", began, err)
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("AllDocuments:\n got %+v\nwant %+v", all, want)
	}
	if pages != 2 {
		t.Errorf("%d pages of at most 2 users (4 users, one without a full_name), want 2", pages)
	}

	// By key or source id, with the direct reports: Bob's document and
	// Ada's, whose manager_email is Bob's.
	got, err = p.Documents(context.Background(), nil, []string{"00ubob"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(byID(got)["00ubob"], want[1]) || !reflect.DeepEqual(byID(got)["00uada"], want[0]) {
		t.Errorf("Documents(bob's id) = %+v", got)
	}
	got, err = p.Documents(context.Background(), []string{"cy@x.io", "stub@x.io", "nobody@x.io"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[2:]) {
		t.Errorf("Documents(cy, stub, nobody) = %+v", got)
	}

	// Written since 1000: Ada's and Bob's nodes, Cy's manager edge; not
	// the stub, written before.
	neo4jtest.Exec(t, d, `
MATCH (ada:User {key: 'ada@x.io'}), (bob:User {key: 'bob@x.io'}), (cy:User {key: 'cy@x.io'}), (stub:User {key: 'stub@x.io'})
MATCH (ada)-[r:MANAGE_BY]->(bob)
SET ada.publisher_last_updated_epoch_ms = 2000, ada.oktasync_seen_epoch_ms = 5,
    bob.publisher_last_updated_epoch_ms = 2000, bob.oktasync_seen_epoch_ms = 7,
    stub.publisher_last_updated_epoch_ms = 10,
    r.publisher_last_updated_epoch_ms = 2000, r.published_tag = 'mine'
CREATE (cy)-[:MANAGE_BY {publisher_last_updated_epoch_ms: 2000, published_tag: 'hook'}]->(bob)`, nil)
	changed, err := p.ChangedSince(context.Background(), 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(changed)
	if !slices.Equal(changed, []string{"ada@x.io", "bob@x.io", "cy@x.io"}) {
		t.Errorf("ChangedSince = %v, want [ada@x.io bob@x.io cy@x.io]", changed)
	}
}

func byID(docs []publisher.Document) map[string]publisher.Document {
	out := map[string]publisher.Document{}
	for _, d := range docs {
		out[d.ID] = d
	}
	return out
}
