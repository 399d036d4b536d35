// Package loader turns extractor.User records into Amundsen graph rows — a
// User node row with exactly the properties databuilder's User model writes,
// and a manager row per user — and stages them: as in-memory batches for a
// publisher, or as databuilder-format CSV files (csv.go). It does no network
// I/O and holds at most one batch in memory.
package loader

import (
	"strings"

	"github.com/oktasync/oktasync/extractor"
)

// Label and relationship types of Amundsen's User model.
const (
	UserLabel      = "User"
	ManageByType   = "MANAGE_BY" // (user)-[:MANAGE_BY]->(manager)
	ManageType     = "MANAGE"    // (manager)-[:MANAGE]->(user)
	OktaIDProperty = "okta_id"
)

// Prop is one node property. Value is a string, bool, int64 or float64.
type Prop struct {
	Name  string
	Value any
}

// NodeRow is one :User node. Props are in databuilder's column order and
// never include the key.
type NodeRow struct {
	Key   string
	Props []Prop
}

// Map returns the properties as a map, the form the Neo4j driver packs.
func (r NodeRow) Map() map[string]any {
	m := make(map[string]any, len(r.Props))
	for _, p := range r.Props {
		m[p.Name] = p.Value
	}
	return m
}

// ManagerRow states a user's current manager; an empty Manager means none,
// and any existing MANAGE_BY/MANAGE pair must go. UserID (the source id)
// makes sure the row only applies to the node that user actually holds.
type ManagerRow struct {
	UserKey string
	UserID  string
	Manager extractor.ManagerRef
}

// Node builds the node row of u, in the property order of databuilder's
// User.get_user_node(): the standard attributes, then okta_id, then extras
// (which never override a standard attribute).
func Node(u extractor.User) NodeRow {
	props := make([]Prop, 0, 13+len(u.Extra))
	props = append(props,
		Prop{"email", u.Email},
		Prop{"is_active", u.IsActive},
		Prop{"profile_url", u.ProfileURL},
		Prop{"first_name", u.FirstName},
		Prop{"last_name", u.LastName},
		Prop{"full_name", u.FullName},
		Prop{"github_username", u.GithubUsername},
		Prop{"team_name", u.TeamName},
		Prop{"employee_type", u.EmployeeType},
		Prop{"slack_id", u.SlackID},
		Prop{"role_name", u.RoleName},
		Prop{"updated_at", u.UpdatedAt},
		Prop{OktaIDProperty, u.SourceID},
	)
	for _, a := range u.Extra {
		if !IsReserved(a.Name) {
			props = append(props, Prop{a.Name, a.Value})
		}
	}
	return NodeRow{Key: u.Key, Props: props}
}

// Manager builds the manager row of u.
func Manager(u extractor.User) ManagerRow {
	return ManagerRow{UserKey: u.Key, UserID: u.SourceID, Manager: u.Manager}
}

// IsReserved reports whether name is a property oktasync or Amundsen owns,
// which an extra attribute must not use: the User model's attributes,
// publisher metadata, oktasync's bookkeeping (oktasync_*), and user_id,
// which Amundsen's metadata service prefers over the key when present.
func IsReserved(name string) bool {
	if strings.HasPrefix(name, "oktasync_") {
		return true
	}
	switch name {
	case "user_id", "manager_fullname", "manager_email":
		return true
	case "key", "email", "is_active", "profile_url", "first_name", "last_name", "full_name",
		"github_username", "team_name", "employee_type", "slack_id", "role_name", "updated_at",
		OktaIDProperty, "published_tag", "publisher_last_updated_epoch_ms", "LABEL", "KEY":
		return true
	}
	return false
}
