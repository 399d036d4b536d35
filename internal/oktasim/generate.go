package oktasim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Generated timestamps fall in [genStart, genEnd). The range is fixed (not
// derived from the clock) so the same seed always yields the same org.
var (
	genStart = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	genEnd   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Okta user statuses.
const (
	StatusStaged          = "STAGED"
	StatusProvisioned     = "PROVISIONED"
	StatusActive          = "ACTIVE"
	StatusRecovery        = "RECOVERY"
	StatusLockedOut       = "LOCKED_OUT"
	StatusPasswordExpired = "PASSWORD_EXPIRED"
	StatusSuspended       = "SUSPENDED"
	StatusDeprovisioned   = "DEPROVISIONED"
)

// Statuses lists every Okta user status.
func Statuses() []string {
	return []string{StatusStaged, StatusProvisioned, StatusActive, StatusRecovery,
		StatusLockedOut, StatusPasswordExpired, StatusSuspended, StatusDeprovisioned}
}

func validStatus(s string) bool {
	for _, v := range Statuses() {
		if s == v {
			return true
		}
	}
	return false
}

// statusWeights are per-mille weights of the generated statuses.
var statusWeights = [...]struct {
	status string
	w      int
}{
	{StatusActive, 850}, {StatusStaged, 30}, {StatusProvisioned, 20}, {StatusRecovery, 10},
	{StatusLockedOut, 15}, {StatusPasswordExpired, 20}, {StatusSuspended, 25}, {StatusDeprovisioned, 30},
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns an Okta-like user id ("00u" + 17 base62 chars) not in used.
func newID(rng *rand.Rand, used func(string) bool) string {
	for {
		var b [20]byte
		copy(b[:], "00u")
		for i := 3; i < len(b); i++ {
			b[i] = base62[rng.IntN(len(base62))]
		}
		if id := string(b[:]); !used(id) {
			return id
		}
	}
}

// Email variants.
const (
	emailNormal = iota
	emailMixedCase
)

// draft is a user during generation.
type draft struct {
	first, last name
	manager     int // index of the manager, -1 for roots
	depth       int
	reports     int
	dept        department
	loc         location
	userType    string
	status      string
	email       int
}

// Org shapes of Config.Shape: the manager forest generate builds.
const (
	// ShapeDefault is breadth-first teams of 3-10 reports under 1-3 roots.
	ShapeDefault = "default"
	// ShapeFlat is an org without managers: every user is a root.
	ShapeFlat = "flat"
	// ShapeDeep is chains of DeepChain users, each reporting to the one
	// before it: every manager has one report, and the manager graph is
	// DeepChain levels deep.
	ShapeDeep = "deep"
)

// DeepChain is the length of ShapeDeep's manager chains.
const DeepChain = 50

// Shapes lists the org shapes.
func Shapes() []string { return []string{ShapeDefault, ShapeFlat, ShapeDeep} }

// generate builds n users deterministically from seed in the given shape
// ("" is ShapeDefault, whose output does not depend on the other shapes
// existing). Every manager is generated before its reports, so the
// manager graph is a forest.
func generate(n int, seed int64, shape string) []*user {
	if n == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6f6b746173796e63))
	ds := make([]draft, n)

	roots := 1
	if n >= 50 {
		roots = 1 + rng.IntN(3)
	}
	// Breadth-first manager assignment: the head of the queue takes reports
	// until its capacity (3-10) is used up; some candidates are individual
	// contributors (capacity 0). The newest user is never skipped, so a
	// manager is always available.
	head, capLeft := 0, 3+rng.IntN(8)
	for i := range ds {
		d := &ds[i]
		d.first = firstNames[rng.IntN(len(firstNames))]
		d.last = lastNames[rng.IntN(len(lastNames))]
		d.loc = locations[rng.IntN(len(locations))]
		d.manager = -1
		switch {
		case shape == ShapeFlat:
			d.dept = pickDepartment(rng)
		case shape == ShapeDeep && i%DeepChain == 0:
			d.dept = executive
		case shape == ShapeDeep:
			d.manager = i - 1
			d.depth = ds[i-1].depth + 1
			ds[i-1].reports++
			if d.depth == 1 {
				d.dept = pickDepartment(rng)
			} else {
				d.dept = ds[i-1].dept
			}
		case i < roots:
			d.dept = executive
		default:
			for capLeft == 0 {
				head++
				capLeft = 3 + rng.IntN(8)
				if head < i-1 && head >= roots && rng.IntN(10) < 3 {
					capLeft = 0
				}
			}
			capLeft--
			m := &ds[head]
			d.manager = head
			d.depth = m.depth + 1
			m.reports++
			if d.depth == 1 || rng.IntN(100) < 25 {
				d.dept = pickDepartment(rng)
			} else {
				d.dept = m.dept
			}
		}
		switch r := rng.IntN(100); {
		case i < roots || r < 85:
			d.userType = "Employee"
		case r < 97:
			d.userType = "Contractor"
		default:
			d.userType = "Intern"
		}
		d.status = StatusActive
		if i >= roots {
			r := rng.IntN(1000)
			for _, sw := range statusWeights {
				if r < sw.w {
					d.status = sw.status
					break
				}
				r -= sw.w
			}
		}
		// Okta requires an email on every user, so the generated org has
		// none without one; tests create such users through Create.
		if rng.IntN(1000) < 12 {
			d.email = emailMixedCase
		}
	}

	// Guarantee every status and email variant in orgs of 200 or more.
	if n >= 200 {
		for _, st := range Statuses() {
			if st != StatusActive && !hasDraft(ds, func(d *draft) bool { return d.status == st }) {
				pickDraft(rng, ds, roots, func(d *draft) bool { return d.status == StatusActive }).status = st
			}
		}
		if !hasDraft(ds, func(d *draft) bool { return d.email == emailMixedCase }) {
			pickDraft(rng, ds, roots, func(d *draft) bool { return d.email == emailNormal }).email = emailMixedCase
		}
	}

	ids := make(map[string]bool, n)
	users := make([]*user, n)
	for i := range ds {
		id := newID(rng, func(s string) bool { return ids[s] })
		ids[id] = true
		users[i] = &user{id: id}
	}
	for i := range ds {
		fillUser(rng, users, ds, i, roots)
	}
	assignMastering(users, seed)
	return users
}

// Credential provider types (credentials.provider.type): who masters a
// user's profile and authenticates them.
const (
	providerOkta            = "OKTA"
	providerActiveDirectory = "ACTIVE_DIRECTORY"
	providerLDAP            = "LDAP"
	providerFederation      = "FEDERATION"
	providerSocial          = "SOCIAL"
	providerImport          = "IMPORT"
)

// Provider names of the generated directory-mastered users: Okta names an
// AD provider after the AD domain and an LDAP provider after the directory.
const (
	adDomainName  = "corp.example.com"
	ldapDirectory = "ldap.example.com"
)

// provider is a user's credentials.provider. The zero value is
// Okta-mastered ({"type": "OKTA", "name": "OKTA"}), as are users created
// through the admin API.
type provider struct {
	typ, name string
}

// typeName returns the provider's type and name as Okta renders them.
func (p provider) typeName() (typ, name string) {
	if p.typ == "" {
		return providerOkta, providerOkta
	}
	return p.typ, p.name
}

// hasPassword reports whether Okta holds the user's password and recovery
// question: directory-mastered users authenticate against their directory
// (delegated authentication), and FEDERATION and SOCIAL users support
// neither credential.
func (p provider) hasPassword() bool {
	typ, _ := p.typeName()
	return typ == providerOkta || typ == providerImport
}

// Per-mille shares of the generated non-Okta masters and of users whose
// lifecycle change is in progress (transitioningToStatus).
const (
	shareActiveDirectory = 150
	shareLDAP            = 30
	shareFederation      = 50
	shareTransitioning   = 10
)

// federable reports whether a federated user can have status st: Okta
// creates them ACTIVE or STAGED, and without a password they can never be
// PROVISIONED, in RECOVERY, LOCKED_OUT or PASSWORD_EXPIRED.
func federable(st string) bool {
	switch st {
	case StatusActive, StatusStaged, StatusSuspended, StatusDeprovisioned:
		return true
	}
	return false
}

// transitionTarget is the transitioningToStatus of a user of status st
// whose lifecycle change is in progress: activation for STAGED,
// PROVISIONED and DEPROVISIONED users (an Okta-mastered user activated
// without a password lands in PROVISIONED), deactivation for the rest.
func transitionTarget(st string, p provider) string {
	switch st {
	case StatusStaged, StatusDeprovisioned:
		if p.hasPassword() {
			return StatusProvisioned
		}
		return StatusActive
	case StatusProvisioned:
		return StatusActive
	}
	return StatusDeprovisioned
}

// assignMastering makes about 15% of users AD-mastered, 3% LDAP-mastered
// and 5% federated (only users whose status a federated user can have), and
// puts about 1% in a lifecycle transition. Directory-mastered and federated
// users have no Okta password: no passwordChanged, no password and no
// recovery question. Orgs of 200 or more have at least one user of each
// provider, one transitioning to ACTIVE and one to DEPROVISIONED.
//
// The draws come from a second stream of seed, so that every other
// attribute of a generated user is what it was before providers existed.
func assignMastering(users []*user, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70726f7669646572))
	set := func(u *user, p provider) {
		u.provider = p
		if !p.hasPassword() {
			u.passwordChanged = nil
			u.recoveryQuestion = ""
		}
	}
	transition := func(u *user) {
		u.transitioningFrom = u.status
		u.transitioningTo = transitionTarget(u.status, u.provider)
	}
	ad := provider{providerActiveDirectory, adDomainName}
	ldap := provider{providerLDAP, ldapDirectory}
	fed := provider{providerFederation, providerFederation}
	for _, u := range users {
		switch r := rng.IntN(1000); {
		case r < shareActiveDirectory:
			set(u, ad)
		case r < shareActiveDirectory+shareLDAP:
			set(u, ldap)
		case r < shareActiveDirectory+shareLDAP+shareFederation && federable(u.status):
			set(u, fed)
		}
		if rng.IntN(1000) < shareTransitioning {
			transition(u)
		}
	}
	if len(users) < 200 {
		return
	}
	// pick returns a random user satisfying f; the callers' conditions
	// hold for most users of an org of 200 or more.
	pick := func(f func(*user) bool) *user {
		for {
			if u := users[rng.IntN(len(users))]; f(u) {
				return u
			}
		}
	}
	okta := func(u *user) bool { return u.provider == provider{} && u.transitioningTo == "" }
	for _, p := range []provider{ad, ldap, fed} {
		if !slices.ContainsFunc(users, func(u *user) bool { return u.provider == p }) {
			set(pick(func(u *user) bool { return okta(u) && (p != fed || federable(u.status)) }), p)
		}
	}
	for _, to := range []string{StatusActive, StatusDeprovisioned} {
		if !slices.ContainsFunc(users, func(u *user) bool { return u.transitioningTo == to }) {
			transition(pick(func(u *user) bool {
				return u.transitioningTo == "" && transitionTarget(u.status, u.provider) == to
			}))
		}
	}
}

// transitioningToStatus returns the user's transitioningToStatus: "" unless
// a lifecycle change is in progress. A status change since the transition
// began ends it.
func (u *user) transitioningToStatus() string {
	if u.transitioningFrom != u.status {
		return ""
	}
	return u.transitioningTo
}

// pickDepartment picks a department at random by weight.
func pickDepartment(rng *rand.Rand) department {
	total := 0
	for _, d := range departments {
		total += d.weight
	}
	r := rng.IntN(total)
	for _, d := range departments {
		if r < d.weight {
			return d
		}
		r -= d.weight
	}
	return departments[0]
}

func hasDraft(ds []draft, f func(*draft) bool) bool {
	for i := range ds {
		if f(&ds[i]) {
			return true
		}
	}
	return false
}

// pickDraft returns a random non-root draft satisfying f (there always is
// one in orgs of 200 or more: most users are ACTIVE with a normal email).
func pickDraft(rng *rand.Rand, ds []draft, roots int, f func(*draft) bool) *draft {
	for {
		d := &ds[roots+rng.IntN(len(ds)-roots)]
		if f(d) {
			return d
		}
	}
}

// randTime returns a millisecond-aligned time in [a, b] (a if b <= a).
func randTime(rng *rand.Rand, a, b time.Time) time.Time {
	span := b.Sub(a).Milliseconds()
	if span <= 0 {
		return a
	}
	return a.Add(time.Duration(rng.Int64N(span+1)) * time.Millisecond)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func ptr(t time.Time) *time.Time { return &t }

const day = 24 * time.Hour

// fillUser sets timestamps and the profile of users[i] from ds[i].
func fillUser(rng *rand.Rand, users []*user, ds []draft, i, roots int) {
	d, u := &ds[i], users[i]
	u.status = d.status
	u.typeID = userTypeID(d.userType)
	u.recoveryQuestion = recoveryQuestions[rng.IntN(len(recoveryQuestions))]

	// Timestamps.
	u.created = randTime(rng, genStart, genEnd.Add(-90*day))
	latest := u.created
	if d.status != StatusStaged {
		act := minTime(randTime(rng, u.created, u.created.Add(14*day)), genEnd)
		u.activated = ptr(act)
		u.statusChanged = ptr(act)
		latest = act
		if d.status != StatusProvisioned {
			end := genEnd
			if d.status != StatusActive {
				sc := randTime(rng, act, genEnd)
				u.statusChanged = ptr(sc)
				end = sc
			}
			pc := randTime(rng, act, end)
			u.passwordChanged = ptr(pc)
			if rng.IntN(100) < 93 {
				u.lastLogin = ptr(randTime(rng, act, end))
			}
			latest = maxTime(maxTime(latest, pc), *u.statusChanged)
		}
	}
	// Drawn below genEnd rather than clamped to it, so that no crowd of
	// users shares the newest timestamp (which an incremental sync's
	// overlap would then re-read every time).
	u.lastUpdated = randTime(rng, latest, minTime(latest.Add(60*day), genEnd))

	// Profile.
	local := fmt.Sprintf("%s.%s%d", d.first.ascii, d.last.ascii, i+1)
	login := local + "@example.com"
	email := login
	switch d.email {
	case emailMixedCase:
		email = fmt.Sprintf("%s.%s%d@Example.com", capitalize(d.first.ascii), capitalize(d.last.ascii), i+1)
	}
	p := map[string]any{
		"login":             login,
		"email":             email,
		"secondEmail":       nil,
		"firstName":         d.first.display,
		"lastName":          d.last.display,
		"displayName":       nil,
		"mobilePhone":       nil,
		"title":             title(rng, ds, i),
		"department":        d.dept.name,
		"division":          d.dept.division,
		"organization":      d.loc.org,
		"userType":          d.userType,
		"employeeNumber":    employeeNumber(d.userType, i),
		"costCenter":        d.dept.costCenter,
		"city":              d.loc.city,
		"countryCode":       d.loc.country,
		"timezone":          d.loc.timezone,
		"locale":            d.loc.locale,
		"preferredLanguage": d.loc.locale[:2],
	}
	if rng.IntN(100) < 10 {
		p["secondEmail"] = fmt.Sprintf("%s.%s@personal.example", d.first.ascii, d.last.ascii)
	}
	nick := nickname(d.first.display)
	if nick != "" {
		p["nickName"] = nick
	}
	if rng.IntN(100) < 70 {
		p["displayName"] = displayName(rng, d, nick)
	}
	if rng.IntN(100) < 60 {
		p["mobilePhone"] = fmt.Sprintf("%s %03d %04d", d.loc.phonePrefix, rng.IntN(1000), rng.IntN(10000))
	}
	if rng.IntN(100) < 30 {
		p["primaryPhone"] = fmt.Sprintf("%s %03d %04d", d.loc.phonePrefix, rng.IntN(1000), rng.IntN(10000))
	}
	if rng.IntN(100) < 30 {
		p["profileUrl"] = "https://directory.example.com/u/" + local
	}
	switch r := rng.IntN(100); {
	case r < 60:
		p["githubUsername"] = githubName(rng, d)
	case r < 80:
		p["githubUsername"] = nil
	}
	if rng.IntN(100) < 80 {
		var b [9]byte
		b[0], b[1] = 'U', '0'
		for k := 2; k < len(b); k++ {
			b[k] = base62[rng.IntN(36)]
		}
		p["slackId"] = string(b[:])
	}
	if d.manager >= 0 {
		m := users[d.manager]
		p["managerId"] = m.id
		p["manager"] = managerName(m.profile, &ds[d.manager])
	}
	u.profile = p
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// isCJK reports whether s starts with a Han, Hiragana or Katakana rune.
func isCJK(s string) bool {
	for _, r := range s {
		return r >= 0x3040 && r <= 0x9fff
	}
	return false
}

func displayName(rng *rand.Rand, d *draft, nick string) string {
	switch {
	case isCJK(d.first.display) && isCJK(d.last.display):
		return d.last.display + " " + d.first.display
	case nick != "" && rng.IntN(2) == 0:
		return nick + " " + d.last.display
	}
	return d.first.display + " " + d.last.display
}

// managerName is what Okta's "manager" attribute holds: the manager's
// displayName, or first and last name when it has none.
func managerName(p map[string]any, d *draft) string {
	if s, ok := p["displayName"].(string); ok && s != "" {
		return s
	}
	if d != nil {
		return d.first.display + " " + d.last.display
	}
	f, _ := p["firstName"].(string)
	l, _ := p["lastName"].(string)
	return strings.TrimSpace(f + " " + l)
}

func title(rng *rand.Rand, ds []draft, i int) string {
	d := &ds[i]
	switch {
	case d.manager < 0:
		return rootTitles[i%len(rootTitles)]
	case d.depth == 1:
		return "VP of " + d.dept.name
	case d.reports > 0:
		return d.dept.mgrTitle
	}
	t := d.dept.titles[rng.IntN(len(d.dept.titles))]
	if d.userType == "Intern" {
		return t + " Intern"
	}
	return seniority[rng.IntN(len(seniority))] + t
}

func employeeNumber(userType string, i int) string {
	switch userType {
	case "Contractor":
		return fmt.Sprintf("C%05d", 10000+i)
	case "Intern":
		return fmt.Sprintf("I%05d", 10000+i)
	}
	return fmt.Sprintf("%06d", 100000+i)
}

func githubName(rng *rand.Rand, d *draft) string {
	f, l := d.first.ascii, d.last.ascii
	switch rng.IntN(4) {
	case 0:
		return f[:1] + l
	case 1:
		return f + "-" + l
	case 2:
		return fmt.Sprintf("%s%s%d", f, l, rng.IntN(100))
	}
	return l + f[:1]
}

// lowerLogin returns the lower-cased login of a profile.
func lowerLogin(p map[string]any) string {
	s, _ := p["login"].(string)
	return strings.ToLower(s)
}
