package oktasim

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
)

func mustNew(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := mustNew(t, Config{Users: 600, Seed: 7}).Users()
	b := mustNew(t, Config{Users: 600, Seed: 7}).Users()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed produced different orgs")
	}
	c := mustNew(t, Config{Users: 600, Seed: 8}).Users()
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds produced the same org")
	}
}

var idPattern = regexp.MustCompile(`^00u[0-9A-Za-z]{17}$`)

func TestGeneratedOrgProperties(t *testing.T) {
	for _, tc := range []struct {
		users int
		seed  int64
	}{{200, 1}, {200, 2}, {201, 3}, {3000, 42}} {
		users := mustNew(t, Config{Users: tc.users, Seed: tc.seed}).Users()
		checkOrg(t, tc.users, tc.seed, users)
	}
}

func checkOrg(t *testing.T, n int, seed int64, users []User) {
	t.Helper()
	if len(users) != n {
		t.Fatalf("seed %d: %d users, want %d", seed, len(users), n)
	}
	if !sort.SliceIsSorted(users, func(i, j int) bool { return users[i].Id < users[j].Id }) {
		t.Errorf("seed %d: Users() not sorted by id", seed)
	}
	byID := map[string]User{}
	logins := map[string]bool{}
	statuses := map[string]int{}
	var emptyEmail, mixedEmail, nonASCII, displayNames int
	for _, u := range users {
		if !idPattern.MatchString(u.Id) {
			t.Errorf("seed %d: id %q does not look like an Okta user id", seed, u.Id)
		}
		if _, dup := byID[u.Id]; dup {
			t.Errorf("seed %d: duplicate id %s", seed, u.Id)
		}
		byID[u.Id] = u
		statuses[u.Status]++
		login, _ := u.Profile["login"].(string)
		if login == "" || login != strings.ToLower(login) || !strings.HasSuffix(login, "@example.com") {
			t.Errorf("seed %d: bad login %q", seed, login)
		}
		if logins[login] {
			t.Errorf("seed %d: duplicate login %q", seed, login)
		}
		logins[login] = true
		switch email, ok := u.Profile["email"].(string); {
		case !ok:
			t.Errorf("seed %d: %s has no email key", seed, u.Id)
		case email == "":
			emptyEmail++ // Okta requires an email: the generated org must have none without one
		case email != login:
			if !strings.EqualFold(email, login) {
				t.Errorf("seed %d: email %q differs from login %q beyond case", seed, email, login)
			}
			mixedEmail++
		}
		for _, k := range []string{"firstName", "lastName"} {
			v, ok := u.Profile[k].(string)
			if !ok || v == "" {
				t.Errorf("seed %d: %s has no %s", seed, u.Id, k)
			}
			for _, r := range v {
				if r > unicode.MaxASCII {
					nonASCII++
					break
				}
			}
		}
		for _, k := range []string{"displayName", "mobilePhone", "secondEmail"} {
			if _, ok := u.Profile[k]; !ok {
				t.Errorf("seed %d: %s lacks the key %s (Okta sends null)", seed, u.Id, k)
			}
		}
		if _, ok := u.Profile["displayName"].(string); ok {
			displayNames++
		}
		checkTimes(t, u)
	}
	for _, st := range Statuses() {
		if statuses[st] == 0 {
			t.Errorf("seed %d: no user with status %s (counts %v)", seed, st, statuses)
		}
	}
	if emptyEmail != 0 || mixedEmail == 0 {
		t.Errorf("seed %d: %d empty and %d mixed-case emails, want none empty and some mixed-case", seed, emptyEmail, mixedEmail)
	}
	if nonASCII == 0 {
		t.Errorf("seed %d: no non-ASCII names", seed)
	}
	if n >= 1000 {
		if f := float64(statuses[StatusActive]) / float64(n); f < 0.80 || f > 0.90 {
			t.Errorf("seed %d: ACTIVE fraction %.3f, want about 0.85", seed, f)
		}
		if f := float64(displayNames) / float64(n); f < 0.6 || f > 0.8 {
			t.Errorf("seed %d: displayName fraction %.3f, want about 0.7", seed, f)
		}
	}
	checkManagerTree(t, seed, users, byID)
}

func checkTimes(t *testing.T, u User) {
	t.Helper()
	all := map[string]*time.Time{
		"created": &u.Created, "lastUpdated": &u.LastUpdated, "activated": u.Activated,
		"statusChanged": u.StatusChanged, "lastLogin": u.LastLogin, "passwordChanged": u.PasswordChanged,
	}
	for name, ts := range all {
		if ts == nil {
			continue
		}
		if ts.Before(genStart) || !ts.Before(genEnd.Add(time.Millisecond)) {
			t.Errorf("%s: %s %s outside 2023-2026", u.Id, name, ts)
		}
		if ts.Nanosecond()%int(time.Millisecond) != 0 || ts.Location() != time.UTC {
			t.Errorf("%s: %s %s is not UTC with millisecond precision", u.Id, name, ts)
		}
	}
	if u.LastUpdated.Before(u.Created) {
		t.Errorf("%s: lastUpdated %s before created %s", u.Id, u.LastUpdated, u.Created)
	}
	if u.StatusChanged != nil && u.LastUpdated.Before(*u.StatusChanged) {
		t.Errorf("%s: lastUpdated before statusChanged", u.Id)
	}
	if u.Status == StatusStaged && (u.Activated != nil || u.LastLogin != nil) {
		t.Errorf("%s: STAGED user was activated or logged in", u.Id)
	}
	if u.Status != StatusStaged && u.Activated == nil {
		t.Errorf("%s: %s user has no activated", u.Id, u.Status)
	}
}

func checkManagerTree(t *testing.T, seed int64, users []User, byID map[string]User) {
	t.Helper()
	reports := map[string]int{}
	roots := 0
	for _, u := range users {
		mid, has := u.Profile["managerId"]
		if !has {
			roots++
			continue
		}
		m, ok := byID[mid.(string)]
		if !ok {
			t.Errorf("seed %d: %s has unknown managerId %v", seed, u.Id, mid)
			continue
		}
		reports[m.Id]++
		want, _ := m.Profile["displayName"].(string)
		if want == "" {
			want = m.Profile["firstName"].(string) + " " + m.Profile["lastName"].(string)
		}
		if u.Profile["manager"] != want {
			t.Errorf("seed %d: %s manager = %v, want %q", seed, u.Id, u.Profile["manager"], want)
		}
	}
	if roots < 1 || roots > 3 {
		t.Errorf("seed %d: %d roots, want 1-3", seed, roots)
	}
	small := 0
	for id, n := range reports {
		if n > 10 {
			t.Errorf("seed %d: manager %s has %d reports, want at most 10", seed, id, n)
		}
		if n < 3 {
			small++
		}
	}
	if small > 1 {
		t.Errorf("seed %d: %d managers with fewer than 3 reports, want at most 1 (the last one filled)", seed, small)
	}
	// No cycles: every chain reaches a root within len(users) steps.
	for _, u := range users {
		cur, steps := u, 0
		for {
			mid, has := cur.Profile["managerId"]
			if !has {
				break
			}
			cur = byID[mid.(string)]
			if steps++; steps > len(users) {
				t.Fatalf("seed %d: manager cycle through %s", seed, u.Id)
			}
		}
	}
}

func TestGenerateSmallOrgs(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 49, 50} {
		users := mustNew(t, Config{Users: n, Seed: 3}).Users()
		if len(users) != n {
			t.Fatalf("Users: %d, want %d", len(users), n)
		}
		byID := map[string]User{}
		for _, u := range users {
			byID[u.Id] = u
		}
		if n > 0 {
			checkManagerTree(t, 3, users, byID)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative users":      {Users: -1},
		"too many users":      {Users: MaxUsers + 1},
		"negative rate limit": {RateLimit: -1},
		"negative window":     {RateWindow: -time.Second},
		"nil client key":      {Clients: map[string]*rsa.PublicKey{"0oa1": nil}},
		"empty client id":     {Clients: map[string]*rsa.PublicKey{"": {N: big.NewInt(3), E: 65537}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded, want error", name)
		}
	}
}

// TestGenerateMastering: a generated org holds AD- and LDAP-mastered and
// federated users and users in a lifecycle transition, in about the
// intended shares, and renders each as Okta documents the user object:
// credentials.provider names the master, only Okta-mastered users have a
// password and recovery question, and transitioningToStatus appears only
// while a transition is in progress.
func TestGenerateMastering(t *testing.T) {
	for _, tc := range []struct {
		n      int
		seed   int64
		shape  string
		shares bool // check the shares (large orgs only)
	}{
		{n: 2000, seed: 42, shares: true},
		{n: 2000, seed: 5, shape: ShapeFlat, shares: true},
		{n: 5000, seed: 9, shape: ShapeDeep, shares: true},
		{n: 200, seed: 1},
		{n: 201, seed: 3},
	} {
		t.Run(fmt.Sprintf("%d/%d/%s", tc.n, tc.seed, tc.shape), func(t *testing.T) {
			kinds := map[string]int{}
			transitions := map[string]int{}
			for _, u := range generate(tc.n, tc.seed, tc.shape) {
				typ, to := checkUserJSON(t, u)
				kinds[typ]++
				if to != "" {
					transitions[to]++
				}
			}
			for _, typ := range []string{providerOkta, providerActiveDirectory, providerLDAP, providerFederation} {
				if kinds[typ] == 0 {
					t.Errorf("no %s-mastered user (counts %v)", typ, kinds)
				}
			}
			for _, to := range []string{StatusActive, StatusDeprovisioned} {
				if transitions[to] == 0 {
					t.Errorf("no user transitioning to %s (counts %v)", to, transitions)
				}
			}
			if !tc.shares {
				return
			}
			share := func(k int) float64 { return float64(k) / float64(tc.n) }
			total := 0
			for _, k := range transitions {
				total += k
			}
			for _, c := range []struct {
				what     string
				got      float64
				min, max float64
			}{
				{"ACTIVE_DIRECTORY", share(kinds[providerActiveDirectory]), 0.12, 0.18},
				{"LDAP", share(kinds[providerLDAP]), 0.015, 0.045},
				{"FEDERATION", share(kinds[providerFederation]), 0.03, 0.07},
				{"transitioning", share(total), 0.002, 0.025},
			} {
				if c.got < c.min || c.got > c.max {
					t.Errorf("%s share %.3f, want within [%.3f, %.3f] (kinds %v, transitions %v)", c.what, c.got, c.min, c.max, kinds, transitions)
				}
			}
		})
	}
}

// checkUserJSON checks the rendered credentials and transitioningToStatus
// of u and returns its provider type and transitioningToStatus.
func checkUserJSON(t *testing.T, u *user) (providerType, transitioningTo string) {
	t.Helper()
	for _, full := range []bool{false, true} {
		b, err := json.Marshal(renderUser(u, "https://sim.example", full))
		if err != nil {
			t.Fatalf("%s: marshal: %v", u.id, err)
		}
		var got struct {
			Status                string     `json:"status"`
			TransitioningToStatus *string    `json:"transitioningToStatus"`
			PasswordChanged       *time.Time `json:"passwordChanged"`
			Credentials           struct {
				Password         *map[string]any `json:"password"`
				RecoveryQuestion *struct {
					Question string `json:"question"`
				} `json:"recovery_question"`
				Provider *struct {
					Type string `json:"type"`
					Name string `json:"name"`
				} `json:"provider"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: unmarshal: %v", u.id, err)
		}
		c := got.Credentials
		if c.Provider == nil {
			t.Fatalf("%s: no credentials.provider in %s", u.id, b)
		}
		providerType = c.Provider.Type
		wantName := map[string]string{
			providerOkta: providerOkta, providerFederation: providerFederation,
			providerActiveDirectory: adDomainName, providerLDAP: ldapDirectory,
		}
		if name, ok := wantName[c.Provider.Type]; !ok || c.Provider.Name != name {
			t.Errorf("%s: credentials.provider %+v, want a known type and its name", u.id, *c.Provider)
		}
		if c.Provider.Type == providerOkta {
			if (c.Password != nil) != (got.PasswordChanged != nil) {
				t.Errorf("%s: Okta-mastered: password %v with passwordChanged %v", u.id, c.Password, got.PasswordChanged)
			}
			noQuestion := got.Status == StatusStaged || got.Status == StatusProvisioned
			if (c.RecoveryQuestion == nil) != noQuestion || (c.RecoveryQuestion != nil && c.RecoveryQuestion.Question == "") {
				t.Errorf("%s: Okta-mastered %s user: recovery_question %+v", u.id, got.Status, c.RecoveryQuestion)
			}
		} else if c.Password != nil || c.RecoveryQuestion != nil || got.PasswordChanged != nil {
			t.Errorf("%s: %s-mastered user has an Okta password or recovery question: %s", u.id, c.Provider.Type, b)
		}
		if c.Provider.Type == providerFederation && !federable(got.Status) {
			t.Errorf("%s: federated user with status %s, which needs a password", u.id, got.Status)
		}
		transitioningTo = ""
		if p := got.TransitioningToStatus; p != nil {
			transitioningTo = *p
			switch {
			case *p != StatusProvisioned && *p != StatusActive && *p != StatusDeprovisioned:
				t.Errorf("%s: transitioningToStatus %q, want PROVISIONED, ACTIVE or DEPROVISIONED", u.id, *p)
			case *p == got.Status:
				t.Errorf("%s: transitioning to its own status %s", u.id, *p)
			}
		}
	}
	return providerType, transitioningTo
}

// A transition ends with any status change: the simulator's lifecycle
// operations need not know about it.
func TestTransitionEndsWithStatusChange(t *testing.T) {
	u := &user{status: StatusActive, transitioningFrom: StatusActive, transitioningTo: StatusDeprovisioned}
	if got := u.transitioningToStatus(); got != StatusDeprovisioned {
		t.Fatalf("transitioningToStatus = %q, want %s", got, StatusDeprovisioned)
	}
	u.status = StatusSuspended
	if got := u.transitioningToStatus(); got != "" {
		t.Errorf("after a status change, transitioningToStatus = %q, want none", got)
	}
}
