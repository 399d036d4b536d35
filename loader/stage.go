package loader

import (
	"github.com/oktasync/oktasync/extractor"
)

// Batch is one unit of work for a publisher.
type Batch struct {
	// Nodes holds one row per key.
	Nodes []NodeRow
	// Unwritten lists the source ids of users read but not in Nodes: they
	// lost their key to another user of the batch (Wins).
	Unwritten []string
	// Duplicates counts the users of Unwritten.
	Duplicates int
}

// Stager collects users into batches of at most Size nodes (and at most
// Size unwritten ids), one node per key, decided by Wins.
type Stager struct {
	size      int
	users     []extractor.User
	index     map[string]int
	unwritten []string
	dups      int
}

// NewStager returns a stager of batches of size (at least 1).
func NewStager(size int) *Stager {
	size = max(size, 1)
	return &Stager{size: size, users: make([]extractor.User, 0, size), index: make(map[string]int, size)}
}

// Add stages u and reports whether a batch is full and should be taken.
func (s *Stager) Add(u extractor.User) bool {
	if i, ok := s.index[u.Key]; ok {
		same := u.SourceID == s.users[i].SourceID
		loser := u
		if Wins(claim(u), claim(s.users[i])) {
			loser, s.users[i] = s.users[i], u
		}
		if same {
			return false // two records of one user: the newer is staged
		}
		s.unwritten = append(s.unwritten, loser.SourceID)
		s.dups++
		return len(s.unwritten) >= s.size
	}
	s.index[u.Key] = len(s.users)
	s.users = append(s.users, u)
	return len(s.users) >= s.size
}

// Empty reports whether nothing is staged.
func (s *Stager) Empty() bool { return len(s.users) == 0 && len(s.unwritten) == 0 }

// Take returns the staged batch and starts a new one. The batch is the
// caller's: the stager keeps no reference to it.
func (s *Stager) Take() Batch {
	b := Batch{Unwritten: s.unwritten, Duplicates: s.dups}
	if len(s.users) > 0 {
		b.Nodes = make([]NodeRow, len(s.users))
		for i, u := range s.users {
			b.Nodes[i] = Node(u)
		}
	}
	s.users = make([]extractor.User, 0, s.size)
	clear(s.index)
	s.unwritten, s.dups = nil, 0
	return b
}

// Size is the batch size.
func (s *Stager) Size() int { return s.size }
