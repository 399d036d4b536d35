// Package loader is the staging stage, for sync and for the hook worker
// alike. It turns extractor.User records into batches for a publisher:
//
//   - the User node row, with exactly the properties databuilder's User
//     model writes, in its column order, and the user's manager;
//   - the manager row a sink keeps of a node row until it links it;
//   - the source ids of users that lost their key to another user;
//   - the spool of every source id a run read, sorted on disk for
//     reconciliation, or of the keys it wrote (IDSpool);
//   - the rule for two source users on one key (Wins);
//   - batching, done once;
//   - the manager spool on disk between the node pass and the edge pass,
//     for the sinks that keep a run's pending pairs.
//
// It does no network I/O and holds at most one batch in memory.
package loader

import (
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

// Claim is what decides which of two source users holds a key.
type Claim struct {
	SourceID string
	Active   bool
	Version  int64 // the source's last change, in epoch ms (Version)
}

// Wins reports whether a takes the key from b. Two records of one source
// user are ordered by Supersedes alone (a user read twice in one run, say
// active and then deprovisioned, keeps the newer record). Between two
// source users, the active user wins, then the most recently updated, then
// the smaller source id. It is the one duplicate-key rule; every sink that
// decides between two users calls it.
func Wins(a, b Claim) bool {
	if a.SourceID == b.SourceID {
		return Supersedes(a, b)
	}
	if a.Active != b.Active {
		return a.Active
	}
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	return a.SourceID < b.SourceID
}

// Supersedes reports whether a, a record of the same source user as b, may
// replace b: unless b is newer, to the millisecond. Data read earlier (a
// page read before a hook or another run wrote a newer change, or before
// the user was deleted) never overwrites newer data.
func Supersedes(a, b Claim) bool { return a.Version >= b.Version }

// NodeRow is one :User node. Props are in databuilder's column order and
// never include the key; Claim repeats the source id, status and update time
// the props hold, for sinks that decide between users. Manager is the
// user's manager: the sink decides when and how the pair is written
// (publisher.Publisher).
type NodeRow struct {
	Key     string
	Claim   Claim
	Props   []Prop
	Manager extractor.ManagerRef
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
	// Version is the version (Claim.Version) of the record the row comes
	// from: a row never replaces the pair a newer record of the user wrote
	// (Supersedes, as for nodes). 0 means unknown.
	Version int64
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
		if !extractor.IsReserved(a.Name) {
			props = append(props, Prop{a.Name, a.Value})
		}
	}
	ref := u.Manager
	if ref.Kind == extractor.ManagerNone {
		ref = extractor.ManagerRef{}
	}
	return NodeRow{Key: u.Key, Claim: claim(u), Props: props, Manager: ref}
}

// ManagerRow is the row's manager row: what a sink keeps of a user until
// its pair is decided.
func (r NodeRow) ManagerRow() ManagerRow {
	return ManagerRow{UserKey: r.Key, UserID: r.Claim.SourceID, Manager: r.Manager, Version: r.Claim.Version}
}

func claim(u extractor.User) Claim {
	return Claim{SourceID: u.SourceID, Active: u.IsActive, Version: version(u)}
}

// version is the version of u's record: the source's exact change time,
// or, from a source that gives only seconds, UpdatedAt in ms.
func version(u extractor.User) int64 {
	if u.Version != 0 {
		return u.Version
	}
	return u.UpdatedAt * 1000
}

// IsReserved reports whether name is a property oktasync or Amundsen owns
// (see extractor.IsReserved, where the mapping checks it).
func IsReserved(name string) bool { return extractor.IsReserved(name) }
