package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// resetGraph empties the database: every node and relationship, and every
// constraint and index but Neo4j's token lookup indexes, so a run starts
// from an empty graph as a first sync does.
func resetGraph(ctx context.Context, d neo4j.DriverWithContext) error {
	for {
		res, err := neo4j.ExecuteQuery(ctx, d, `MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c`, nil, neo4j.EagerResultTransformer)
		if err != nil {
			return fmt.Errorf("empty the graph: %w", err)
		}
		if c, _, _ := neo4j.GetRecordValue[int64](res.Records[0], "c"); c == 0 {
			break
		}
	}
	for _, q := range []struct{ list, drop string }{
		{`SHOW CONSTRAINTS YIELD name RETURN name`, "DROP CONSTRAINT `%s` IF EXISTS"},
		{`SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name`, "DROP INDEX `%s` IF EXISTS"},
	} {
		res, err := neo4j.ExecuteQuery(ctx, d, q.list, nil, neo4j.EagerResultTransformer)
		if err != nil {
			return fmt.Errorf("list schema: %w", err)
		}
		for _, rec := range res.Records {
			name, _, _ := neo4j.GetRecordValue[string](rec, "name")
			if _, err := neo4j.ExecuteQuery(ctx, d, fmt.Sprintf(q.drop, name), nil, neo4j.EagerResultTransformer); err != nil {
				return fmt.Errorf("drop %s: %w", name, err)
			}
		}
	}
	return nil
}

// oktaUser is a user of the simulator's /admin/users export, in Okta's
// shape, with only the profile attributes the checks need (a value that is
// not a string counts as missing, as in the mapping).
type oktaUser struct {
	ID          string      `json:"id"`
	Status      string      `json:"status"`
	LastUpdated time.Time   `json:"lastUpdated"`
	Profile     oktaProfile `json:"profile"`
}

type oktaProfile struct {
	Email       any `json:"email"`
	DisplayName any `json:"displayName"`
	FirstName   any `json:"firstName"`
	LastName    any `json:"lastName"`
	ManagerID   any `json:"managerId"`
}

// expected is what the graph must hold for one user, computed from the
// simulator's export alone (the mapping documented in the README), never
// from the graph: the same expectation as compat/amundsen/okta_expect.py.
type expected struct {
	key, oktaID, fullName string
	active                bool
	updatedAt             int64
	manager               string // the manager's key, "" for none
}

func text(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

func usableEmail(e string) bool {
	if e == "" || len(e) > 320 || strings.Count(e, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || domain == "" {
		return false
	}
	for _, r := range e {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// statusActive says whether a status maps to an active user, and whether
// it maps to a node at all (STAGED and unknown statuses do not).
func statusActive(status string) (active, kept bool) {
	switch status {
	case "ACTIVE", "PROVISIONED", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED":
		return true, true
	case "SUSPENDED", "DEPROVISIONED":
		return false, true
	}
	return false, false
}

func isActive(status string) bool { a, _ := statusActive(status); return a }

// expectUsers maps the export to the users the graph must hold, by key.
func expectUsers(export []oktaUser) map[string]expected {
	winners := map[string]oktaUser{}
	rank := func(a, b oktaUser) bool { // a beats b: active, then newer, then the smaller id
		aa, ba := isActive(a.Status), isActive(b.Status)
		if aa != ba {
			return aa
		}
		if !a.LastUpdated.Truncate(time.Second).Equal(b.LastUpdated.Truncate(time.Second)) {
			return a.LastUpdated.After(b.LastUpdated)
		}
		return a.ID < b.ID
	}
	for _, u := range export {
		if _, kept := statusActive(u.Status); !kept {
			continue
		}
		key := strings.ToLower(text(u.Profile.Email))
		if !usableEmail(key) {
			continue
		}
		if w, ok := winners[key]; !ok || rank(u, w) {
			winners[key] = u
		}
	}
	byID := make(map[string]string, len(winners))
	for k, u := range winners {
		byID[u.ID] = k
	}
	out := make(map[string]expected, len(winners))
	for k, u := range winners {
		full := text(u.Profile.DisplayName)
		if full == "" {
			full = strings.TrimSpace(text(u.Profile.FirstName) + " " + text(u.Profile.LastName))
		}
		if full == "" {
			full = k
		}
		e := expected{key: k, oktaID: u.ID, fullName: full, active: isActive(u.Status), updatedAt: u.LastUpdated.Unix()}
		if m := text(u.Profile.ManagerID); m != "" && m != u.ID {
			if mk, ok := byID[m]; ok && mk != k {
				e.manager = mk
			}
		}
		out[k] = e
	}
	return out
}

// verify checks the graph is exactly what the export says: the same users
// (by key) with their okta_id, is_active, updated_at and full_name; at most
// one MANAGE_BY per user, pointing at the expected manager; every MANAGE_BY
// mirrored by exactly one MANAGE and no MANAGE without it. It returns a
// one-line description of what it checked, or the first problems found.
func verify(ctx context.Context, d neo4j.DriverWithContext, export []oktaUser) (string, error) {
	want := expectUsers(export)
	sess := d.NewSession(ctx, neo4j.SessionConfig{AccessMode: neo4j.AccessModeRead})
	defer func() { _ = sess.Close(ctx) }() // a read-only session: nothing to lose
	var problems []string
	bad := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// Two streamed reads, joined here: one aggregation over every user in
	// a single query runs out of transaction memory at a million users.
	by, mirror := map[string][]string{}, map[string][]string{}
	res, err := sess.Run(ctx, `MATCH (a:User)-[r:MANAGE_BY|MANAGE]->(b:User) RETURN a.key AS a, type(r) AS t, b.key AS b`, nil)
	if err != nil {
		return "", err
	}
	for res.Next(ctx) {
		m := res.Record().AsMap()
		a, _ := m["a"].(string)
		b, _ := m["b"].(string)
		if m["t"] == "MANAGE_BY" {
			by[a] = append(by[a], b)
		} else {
			mirror[b] = append(mirror[b], a)
		}
	}
	if err := res.Err(); err != nil {
		return "", err
	}
	res, err = sess.Run(ctx, `MATCH (u:User)
RETURN u.key AS key, u.okta_id AS id, u.is_active AS active, u.updated_at AS at, u.full_name AS name`, nil)
	if err != nil {
		return "", err
	}
	nodes, edges, active := 0, 0, 0
	seen := make(map[string]bool, len(want))
	for res.Next(ctx) {
		m := res.Record().AsMap()
		key, _ := m["key"].(string)
		nodes++
		if seen[key] {
			bad("two nodes for key %q", key)
		}
		seen[key] = true
		w, ok := want[key]
		if !ok {
			bad("unexpected node %q", key)
			continue
		}
		if id, _ := m["id"].(string); id != w.oktaID {
			bad("%s: okta_id %q, want %q", key, id, w.oktaID)
		}
		if a, ok := m["active"].(bool); !ok || a != w.active {
			bad("%s: is_active %v, want %v", key, m["active"], w.active)
		}
		if w.active {
			active++
		}
		if at, _ := m["at"].(int64); at != w.updatedAt {
			bad("%s: updated_at %v, want %d", key, m["at"], w.updatedAt)
		}
		if n, _ := m["name"].(string); n != w.fullName {
			bad("%s: full_name %q, want %q", key, n, w.fullName)
		}
		b, mi := by[key], mirror[key]
		switch {
		case w.manager == "" && (len(b) != 0 || len(mi) != 0):
			bad("%s: manager edges %v / mirror %v, want none", key, b, mi)
		case w.manager != "" && (len(b) != 1 || b[0] != w.manager || len(mi) != 1 || mi[0] != w.manager):
			bad("%s: MANAGE_BY %v, MANAGE from %v, want %s both", key, b, mi, w.manager)
		case w.manager != "":
			edges++
		}
	}
	if err := res.Err(); err != nil {
		return "", err
	}
	if nodes != len(want) {
		var missing []string
		for k := range want {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		bad("%d nodes, want %d (missing e.g. %v)", nodes, len(want), missing[:min(3, len(missing))])
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("the graph is wrong: %s", strings.Join(problems, "; "))
	}
	return fmt.Sprintf("ok: %d users (%d active), %d mirrored manager pairs, equal to the simulator's export", nodes, active, edges), nil
}
