package oktasim

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// managerDepths returns each user's depth in the manager forest (by the
// profile's managerId), the number of roots and the largest number of
// direct reports of any user.
func managerDepths(t *testing.T, users []*user) (maxDepth, roots, maxReports int) {
	t.Helper()
	index := make(map[string]int, len(users))
	for i, u := range users {
		index[u.id] = i
	}
	depth := make([]int, len(users))
	reports := map[string]int{}
	for i, u := range users {
		m, ok := u.profile["managerId"].(string)
		if !ok {
			roots++
			continue
		}
		j, ok := index[m]
		if !ok || j >= i {
			t.Fatalf("user %d: manager %q is not an earlier user", i, m)
		}
		if name, _ := u.profile["manager"].(string); name == "" {
			t.Errorf("user %d has a managerId but no manager name", i)
		}
		depth[i] = depth[j] + 1
		reports[m]++
		maxDepth = max(maxDepth, depth[i])
		maxReports = max(maxReports, reports[m])
	}
	return maxDepth, roots, maxReports
}

func TestGenerateShapes(t *testing.T) {
	for _, tc := range []struct {
		shape                       string
		n                           int
		maxDepth, roots, maxReports int
		defaultLike                 bool // depth and roots as the default generator makes them
	}{
		{shape: ShapeFlat, n: 1, roots: 1},
		{shape: ShapeFlat, n: 500, roots: 500},
		{shape: ShapeDeep, n: 1, roots: 1},
		{shape: ShapeDeep, n: DeepChain, maxDepth: DeepChain - 1, roots: 1, maxReports: 1},
		{shape: ShapeDeep, n: DeepChain + 1, maxDepth: DeepChain - 1, roots: 2, maxReports: 1},
		{shape: ShapeDeep, n: 1000, maxDepth: DeepChain - 1, roots: 1000 / DeepChain, maxReports: 1},
		{shape: ShapeDeep, n: 1001, maxDepth: DeepChain - 1, roots: 1000/DeepChain + 1, maxReports: 1},
		{shape: ShapeDefault, n: 1000, defaultLike: true},
		{shape: "", n: 1000, defaultLike: true},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.shape, tc.n), func(t *testing.T) {
			users := generate(tc.n, 7, tc.shape)
			if len(users) != tc.n {
				t.Fatalf("%d users, want %d", len(users), tc.n)
			}
			depth, roots, reports := managerDepths(t, users)
			if tc.defaultLike {
				if roots < 1 || roots > 3 || depth < 2 || reports < 3 || reports > 10 {
					t.Errorf("default shape: %d roots, depth %d, at most %d reports; want 1-3 roots, teams of 3-10", roots, depth, reports)
				}
				return
			}
			if depth != tc.maxDepth || roots != tc.roots || reports != tc.maxReports {
				t.Errorf("depth %d, roots %d, max reports %d; want %d, %d, %d", depth, roots, reports, tc.maxDepth, tc.roots, tc.maxReports)
			}
		})
	}
}

// The default shape, named or not, is the generator as it was before
// shapes existed: the same seed gives the same users.
func TestGenerateDefaultShapeUnchanged(t *testing.T) {
	a, b := generate(2000, 5, ""), generate(2000, 5, ShapeDefault)
	if !reflect.DeepEqual(a, b) {
		t.Fatal(`generate with "" and "default" differ`)
	}
	for _, shape := range []string{ShapeFlat, ShapeDeep} {
		c := generate(2000, 5, shape)
		// Every shape keeps the statuses and email variants of an org of 200+.
		seen := map[string]bool{}
		for _, u := range c {
			seen[u.status] = true
		}
		for _, st := range Statuses() {
			if !seen[st] {
				t.Errorf("%s: no user with status %s", shape, st)
			}
		}
	}
}

func TestNewRejectsUnknownShape(t *testing.T) {
	if _, err := New(Config{Users: 10, Shape: "wide"}); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("New with shape %q: %v, want an error naming the shape", "wide", err)
	}
	for _, shape := range append(Shapes(), "") {
		if _, err := New(Config{Users: 10, Shape: shape}); err != nil {
			t.Errorf("shape %q: %v", shape, err)
		}
	}
}
