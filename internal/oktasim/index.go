package oktasim

import (
	"maps"
	"slices"
	"time"
)

// Okta documents search as eventually consistent: a change shows up in
// search (and, a careful client assumes, in filter) results some time
// after it was made, and changes need not show up in the order they were
// made. The simulator models that with a search index that lags the users:
// Config.SearchLag, or SetSearchLag later, is the delay of each change made
// while it is set. A plain list, q and GET /api/v1/users/{id} read the users
// themselves, at once, as Okta's do.
//
// Without a lag the index is the users themselves (nil: no copy, no cost).

// searchIndex is what search and filter queries read: the users as they
// were when the changes now visible were made. Guarded by Server.mu.
type searchIndex struct {
	lag     time.Duration
	users   map[string]*user // frozen copies
	ids     []string         // sorted
	pending []indexChange    // made, not yet visible
	applied map[string]uint64
	seq     uint64
}

// indexChange is one change waiting to become visible: the user as the
// change left it, or nil for a deletion.
type indexChange struct {
	id      string
	u       *user
	visible time.Time
	seq     uint64
}

// SetSearchLag sets the delay after which the changes made from now on are
// visible to search and filter queries (0: at once). Changes already made
// keep the delay they were made with, so a test can make a later change
// visible before an earlier one, as an eventually consistent index can.
func (s *Server) SetSearchLag(lag time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setSearchLagLocked(lag)
}

func (s *Server) setSearchLagLocked(lag time.Duration) {
	if s.idx == nil {
		if lag <= 0 {
			return
		}
		s.idx = &searchIndex{users: make(map[string]*user, len(s.users)), ids: slices.Clone(s.ids), applied: map[string]uint64{}}
		for id, u := range s.users {
			s.idx.users[id] = u.frozen()
		}
	}
	s.idx.lag = max(lag, 0)
}

// indexed records a change to u (nil u: id was deleted) for the search
// index. Callers hold mu for writing.
func (s *Server) indexed(id string, u *user) {
	if s.idx == nil {
		return
	}
	s.idx.seq++
	c := indexChange{id: id, visible: s.now().Add(s.idx.lag), seq: s.idx.seq}
	if u != nil {
		c.u = u.frozen()
	}
	s.idx.pending = append(s.idx.pending, c)
}

// searchView returns the ids (sorted) and users search and filter queries
// see now, applying the changes that have become visible. A change older
// than one already applied to the same user is dropped: the index keeps
// the newest version it has seen. Callers hold mu for writing.
func (s *Server) searchView() ([]string, map[string]*user) {
	x := s.idx
	if x == nil {
		return s.ids, s.users
	}
	now := s.now()
	keep := x.pending[:0]
	for _, c := range x.pending {
		if c.visible.After(now) {
			keep = append(keep, c)
			continue
		}
		if c.seq < x.applied[c.id] {
			continue
		}
		x.applied[c.id] = c.seq
		i, found := slices.BinarySearch(x.ids, c.id)
		switch {
		case c.u == nil && found:
			x.ids = slices.Delete(x.ids, i, i+1)
			delete(x.users, c.id)
		case c.u != nil:
			if !found {
				x.ids = slices.Insert(x.ids, i, c.id)
			}
			x.users[c.id] = c.u
		}
	}
	clear(x.pending[len(keep):])
	x.pending = keep
	return x.ids, x.users
}

// frozen copies u, so that later changes to u do not show through.
func (u *user) frozen() *user {
	c := *u
	c.profile = maps.Clone(u.profile)
	return &c
}
