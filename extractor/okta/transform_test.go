package okta

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/extractor"
)

func oktaUser(id, status string, updated time.Time, profile okta.UserProfile) *okta.User {
	return &okta.User{Id: id, Status: status, LastUpdated: &updated, Profile: &profile}
}

func defaultMapping() Mapping { return DefaultMapping() }

// mastered sets u's credentials as Okta returns them for a user mastered by
// the given provider (no password or recovery question unless the provider
// is OKTA) and its transitioningToStatus ("" for none), and returns u.
func mastered(u *okta.User, providerType, providerName, transitioningTo string) *okta.User {
	u.Credentials = &okta.UserCredentials{Provider: &okta.AuthenticationProvider{Type: providerType, Name: providerName}}
	if providerType == "OKTA" {
		u.Credentials.Password = &okta.PasswordCredential{}
		u.Credentials.RecoveryQuestion = &okta.RecoveryQuestionCredential{Question: "What is the food you least liked as a child?"}
	}
	u.TransitioningToStatus = transitioningTo
	return u
}

func TestTransform(t *testing.T) {
	updated := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	full := okta.UserProfile{
		"login": "Zoe.Lopez@Example.com", "email": "  Zoë.López@Example.COM ",
		"firstName": "Zoë", "lastName": "López", "displayName": "Zoë L.",
		"title": "Data Engineer", "department": "Platform", "userType": "Employee",
		"profileUrl": "https://dir.example.com/zoe", "githubUsername": "zoel", "slackId": "U123",
		"managerId": "00umanager", "costCenter": "CC-7", "employeeNumber": float64(1234),
		"mobilePhone": nil,
	}
	// fullRow is the row of the user with profile full, by default mapping.
	fullRow := func(id, status string, active bool) extractor.User {
		return extractor.User{
			Key: "zoë.lópez@example.com", Email: "zoë.lópez@example.com",
			FirstName: "Zoë", LastName: "López", FullName: "Zoë L.",
			RoleName: "Data Engineer", TeamName: "Platform", EmployeeType: "Employee",
			ProfileURL: "https://dir.example.com/zoe", GithubUsername: "zoel", SlackID: "U123",
			IsActive: active, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: id, Status: status,
			Manager: extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: "00umanager"},
		}
	}
	tests := []struct {
		name    string
		mapping func(*Mapping)
		user    *okta.User
		want    extractor.User
		skip    string
	}{
		{
			name: "all fields",
			user: oktaUser("00u1", "ACTIVE", updated, full),
			want: extractor.User{
				Key: "zoë.lópez@example.com", Email: "zoë.lópez@example.com",
				FirstName: "Zoë", LastName: "López", FullName: "Zoë L.",
				RoleName: "Data Engineer", TeamName: "Platform", EmployeeType: "Employee",
				ProfileURL: "https://dir.example.com/zoe", GithubUsername: "zoel", SlackID: "U123",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00u1", Status: "ACTIVE",
				Manager: extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: "00umanager"},
			},
		},
		// Who masters a user (credentials.provider) and a lifecycle change in
		// progress (transitioningToStatus) change nothing: the row is the
		// Okta-mastered "all fields" row (issue 23).
		{
			name: "AD-mastered: as Okta-mastered",
			user: mastered(oktaUser("00u1", "ACTIVE", updated, full), "ACTIVE_DIRECTORY", "corp.example.com", ""),
			want: fullRow("00u1", "ACTIVE", true),
		},
		{
			name: "LDAP-mastered: as Okta-mastered",
			user: mastered(oktaUser("00u1", "ACTIVE", updated, full), "LDAP", "ldap.example.com", ""),
			want: fullRow("00u1", "ACTIVE", true),
		},
		{
			name: "federated: as Okta-mastered",
			user: mastered(oktaUser("00u1", "SUSPENDED", updated, full), "FEDERATION", "FEDERATION", ""),
			want: fullRow("00u1", "SUSPENDED", false),
		},
		{
			name: "transitioning to DEPROVISIONED: status decides",
			user: mastered(oktaUser("00u1", "ACTIVE", updated, full), "OKTA", "OKTA", "DEPROVISIONED"),
			want: fullRow("00u1", "ACTIVE", true),
		},
		{
			name: "AD-mastered, DEPROVISIONED transitioning to ACTIVE: status decides",
			user: mastered(oktaUser("00u1", "DEPROVISIONED", updated, full), "ACTIVE_DIRECTORY", "corp.example.com", "ACTIVE"),
			want: fullRow("00u1", "DEPROVISIONED", false),
		},
		{
			name: "STAGED transitioning to ACTIVE is still skipped",
			user: mastered(oktaUser("00u1", "STAGED", updated, full), "LDAP", "ldap.example.com", "ACTIVE"),
			skip: SkipStatus,
		},
		{
			name: "no displayName: first and last, nulls become empty",
			user: oktaUser("00u2", "SUSPENDED", updated, okta.UserProfile{
				"login": "a@b.co", "email": "a@b.co", "firstName": "Ann", "lastName": "Ng",
				"displayName": nil, "title": nil, "department": nil,
			}),
			want: extractor.User{
				Key: "a@b.co", Email: "a@b.co", FirstName: "Ann", LastName: "Ng", FullName: "Ann Ng",
				IsActive: false, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00u2", Status: "SUSPENDED",
			},
		},
		{
			name: "no names at all: full_name falls back to email",
			user: oktaUser("00u3", "DEPROVISIONED", updated, okta.UserProfile{"login": "svc@b.co", "email": "svc@b.co"}),
			want: extractor.User{Key: "svc@b.co", Email: "svc@b.co", FullName: "svc@b.co", UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00u3", Status: "DEPROVISIONED"},
		},
		{
			name: "login key, template profile url, attribute manager, extras",
			mapping: func(m *Mapping) {
				m.Key = KeyLogin
				m.ProfileURLTemplate = "https://people.example.com/{login}?id={id}"
				m.Manager = ManagerMapping{Source: ManagerFromAttribute, Attribute: "managerLogin"}
				m.ExtraAttributes = map[string]string{"cost_center": "costCenter", "employee_number": "employeeNumber", "phone": "mobilePhone"}
				m.GithubUsernameAttribute = "gh"
			},
			user: oktaUser("00u4", "LOCKED_OUT", updated, okta.UserProfile{
				"login": " Boss.Report@Example.com", "email": "br@example.com", "firstName": "B", "lastName": "R",
				"managerLogin": "THE.Boss@example.com", "costCenter": "CC-1", "employeeNumber": float64(42),
				"mobilePhone": nil, "gh": "brgh", "githubUsername": "ignored",
			}),
			want: extractor.User{
				Key: "boss.report@example.com", Email: "br@example.com", FirstName: "B", LastName: "R", FullName: "B R",
				ProfileURL: "https://people.example.com/boss.report@example.com?id=00u4", GithubUsername: "brgh",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00u4", Status: "LOCKED_OUT",
				Manager: extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: "the.boss@example.com"},
				Extra:   []extractor.Attr{{Name: "cost_center", Value: "CC-1"}, {Name: "employee_number", Value: int64(42)}, {Name: "phone", Value: ""}},
			},
		},
		{
			name: "STAGED is skipped by default",
			user: oktaUser("00u5", "STAGED", updated, okta.UserProfile{"email": "s@b.co"}),
			skip: SkipStatus,
		},
		{
			name:    "STAGED can be configured active",
			mapping: func(m *Mapping) { m.Status["staged"] = "active"; m.Normalize() },
			user:    oktaUser("00u6", "STAGED", updated, okta.UserProfile{"email": "s@b.co", "firstName": "S"}),
			want:    extractor.User{Key: "s@b.co", Email: "s@b.co", FirstName: "S", FullName: "S", IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00u6", Status: "STAGED"},
		},
		{
			name: "unknown status is skipped",
			user: oktaUser("00u7", "WEIRD", updated, okta.UserProfile{"email": "w@b.co"}),
			skip: SkipUnknownStatus,
		},
		{name: "empty email", user: oktaUser("00u8", "ACTIVE", updated, okta.UserProfile{"email": ""}), skip: SkipNoEmail},
		{name: "null email", user: oktaUser("00u9", "ACTIVE", updated, okta.UserProfile{"email": nil}), skip: SkipNoEmail},
		{name: "two @", user: oktaUser("00ua", "ACTIVE", updated, okta.UserProfile{"email": "a@b@c"}), skip: SkipNoEmail},
		{name: "inner space", user: oktaUser("00ub", "ACTIVE", updated, okta.UserProfile{"email": "a b@c.d"}), skip: SkipNoEmail},
		{name: "no id", user: &okta.User{Status: "ACTIVE"}, skip: SkipNoID},
		{
			name: "self manager is ignored",
			user: oktaUser("00uc", "ACTIVE", updated, okta.UserProfile{"email": "c@b.co", "firstName": "C", "managerId": "00uc"}),
			want: extractor.User{Key: "c@b.co", Email: "c@b.co", FirstName: "C", FullName: "C", IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00uc", Status: "ACTIVE"},
		},
		// Keys (issue 20, D9 and D10): Python 3.11's NFC(strip(s)).lower(),
		// each key as python3.11 computes it; invisible characters refused.
		{
			name: "NFD email: one key with its NFC form",
			user: oktaUser("00ue", "ACTIVE", updated, okta.UserProfile{"email": "Zoe\u0308.Lo\u0301pez@Example.com", "firstName": "Zoë"}),
			want: extractor.User{Key: "zo\u00eb.l\u00f3pez@example.com", Email: "zo\u00eb.l\u00f3pez@example.com", FirstName: "Zoë", FullName: "Zoë",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00ue", Status: "ACTIVE"},
		},
		{
			name: "dotted capital I: i and U+0307, as Python",
			user: oktaUser("00uf", "ACTIVE", updated, okta.UserProfile{"email": "\u0130nci@corp.example", "displayName": "İnci"}),
			want: extractor.User{Key: "i\u0307nci@corp.example", Email: "i\u0307nci@corp.example", FullName: "İnci",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00uf", Status: "ACTIVE"},
		},
		{
			name: "final sigma, as Python",
			user: oktaUser("00ug", "ACTIVE", updated, okta.UserProfile{"email": "\u0391\u039b\u0395\u039e\u0397\u03a3.\u03a0\u0391\u03a0\u0391\u03a3@corp.example", "displayName": "A"}),
			want: extractor.User{Key: "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3.\u03c0\u03b1\u03c0\u03b1\u03c2@corp.example",
				Email: "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3.\u03c0\u03b1\u03c0\u03b1\u03c2@corp.example", FullName: "A",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00ug", Status: "ACTIVE"},
		},
		{
			name: "login key and manager reference: İ and final sigma",
			mapping: func(m *Mapping) {
				m.Key = KeyLogin
				m.Manager = ManagerMapping{Source: ManagerFromAttribute, Attribute: "manager"}
			},
			user: oktaUser("00uh", "ACTIVE", updated, okta.UserProfile{"login": " \u0130NC\u0130 ", "email": "i@corp.example",
				"manager": "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", "displayName": "I"}),
			want: extractor.User{Key: "i\u0307nci\u0307", Email: "i@corp.example", FullName: "I",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00uh", Status: "ACTIVE",
				Manager: extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2"}},
		},
		{name: "zero-width space", user: oktaUser("00ui", "ACTIVE", updated, okta.UserProfile{"email": "ann\u200b@corp.example"}), skip: SkipInvisible},
		{name: "right-to-left override", user: oktaUser("00uj", "ACTIVE", updated, okta.UserProfile{"email": "\u202emoc.elpmaxe@nna"}), skip: SkipInvisible},
		{name: "soft hyphen", user: oktaUser("00uk", "ACTIVE", updated, okta.UserProfile{"email": "an\u00adn@corp.example"}), skip: SkipInvisible},
		{name: "byte order mark", user: oktaUser("00ul", "ACTIVE", updated, okta.UserProfile{"email": "\ufeffann@corp.example"}), skip: SkipInvisible},
		{name: "variation selector", user: oktaUser("00um", "ACTIVE", updated, okta.UserProfile{"email": "\u2764\ufe0f@corp.example"}), skip: SkipInvisible},
		{name: "NUL", user: oktaUser("00un", "ACTIVE", updated, okta.UserProfile{"email": "ann\x00@corp.example"}), skip: SkipInvisible},
		{name: "line separator: a space, no usable email", user: oktaUser("00uo", "ACTIVE", updated, okta.UserProfile{"email": "ann\u2028x@corp.example"}), skip: SkipNoEmail},
		{
			name: "31 combining marks: x-text inserts U+034F, Python does not",
			user: oktaUser("00up", "ACTIVE", updated, okta.UserProfile{"email": "a" + strings.Repeat("\u0301", 31) + "@corp.example"}),
			skip: SkipInvisible,
		},
		{
			name:    "zero-width joiner in the login key",
			mapping: func(m *Mapping) { m.Key = KeyLogin },
			user:    oktaUser("00uq", "ACTIVE", updated, okta.UserProfile{"login": "ann\u200d", "email": "ann@corp.example"}),
			skip:    SkipInvisible,
		},
		{
			// The reference names nobody: no manager, but the user is
			// synced (skipping them would freeze their node: a leaver
			// would stay active).
			name:    "bidi isolate in a manager reference",
			mapping: func(m *Mapping) { m.Manager = ManagerMapping{Source: ManagerFromAttribute, Attribute: "manager"} },
			user:    oktaUser("00ur", "ACTIVE", updated, okta.UserProfile{"email": "ann@corp.example", "manager": "\u2066boss@corp.example\u2069"}),
			want: extractor.User{Key: "ann@corp.example", Email: "ann@corp.example", FullName: "ann@corp.example",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00ur", Status: "ACTIVE"},
		},
		{
			name: "zero-width space in the login, not the key",
			user: oktaUser("00us", "ACTIVE", updated, okta.UserProfile{"login": "ann\u200b", "email": "Ann@corp.example", "displayName": "Ann"}),
			want: extractor.User{Key: "ann@corp.example", Email: "ann@corp.example", FullName: "Ann",
				IsActive: true, UpdatedAt: updated.Unix(), Version: updated.UnixMilli(), SourceID: "00us", Status: "ACTIVE"},
		},
		{
			name: "no lastUpdated gives 0",
			user: &okta.User{Id: "00ud", Status: "ACTIVE", Profile: &okta.UserProfile{"email": "d@b.co", "displayName": "D"}},
			want: extractor.User{Key: "d@b.co", Email: "d@b.co", FullName: "D", IsActive: true, SourceID: "00ud", Status: "ACTIVE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := defaultMapping()
			if tt.mapping != nil {
				tt.mapping(&m)
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("mapping invalid: %v", err)
			}
			got, skip := m.Transform(tt.user)
			if skip != tt.skip {
				t.Fatalf("skip = %q, want %q", skip, tt.skip)
			}
			if tt.skip != "" {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Transform =\n%#v\nwant\n%#v", got, tt.want)
			}
			if got.FullName == "" {
				t.Error("full_name must never be empty")
			}
		})
	}
}

// TestTransformIgnoresMastering: a user mastered by Active Directory, LDAP
// or a federation (credentials with no password, provider type and name
// set), or with a lifecycle change in progress (transitioningToStatus),
// decoded from the JSON Okta sends, maps exactly as the Okta-mastered user
// with the same profile and status.
func TestTransformIgnoresMastering(t *testing.T) {
	const profile = `{"login": "ann.ng@corp.example", "email": "Ann.Ng@Corp.example", "firstName": "Ann",
		"lastName": "Ng", "displayName": null, "title": "SRE", "department": "Platform", "userType": "Employee",
		"managerId": "00uboss", "managerLogin": "boss@corp.example", "costCenter": "CC-9", "githubUsername": "ann"}`
	const oktaCreds = `{"password": {}, "recovery_question": {"question": "Who?"}, "provider": {"type": "OKTA", "name": "OKTA"}}`
	byLogin := func(m *Mapping) {
		m.Key = KeyLogin
		m.Manager = ManagerMapping{Source: ManagerFromAttribute, Attribute: "managerLogin"}
		m.ExtraAttributes = map[string]string{"cost_center": "costCenter"}
	}
	tests := []struct {
		name        string
		status      string
		credentials string
		transition  string // transitioningToStatus, "" for none
		mapping     func(*Mapping)
	}{
		{name: "AD-mastered", status: "ACTIVE",
			credentials: `{"provider": {"type": "ACTIVE_DIRECTORY", "name": "corp.example.com"}}`},
		{name: "LDAP-mastered", status: "PASSWORD_EXPIRED",
			credentials: `{"provider": {"type": "LDAP", "name": "ldap.example.com"}}`},
		{name: "federated", status: "SUSPENDED",
			credentials: `{"provider": {"type": "FEDERATION", "name": "FEDERATION"}}`},
		{name: "transitioning to DEPROVISIONED", status: "ACTIVE", credentials: oktaCreds, transition: "DEPROVISIONED"},
		{name: "AD-mastered, transitioning to ACTIVE", status: "DEPROVISIONED",
			credentials: `{"provider": {"type": "ACTIVE_DIRECTORY", "name": "corp.example.com"}}`, transition: "ACTIVE"},
		{name: "federated, STAGED transitioning to ACTIVE", status: "STAGED",
			credentials: `{"provider": {"type": "FEDERATION", "name": "FEDERATION"}}`, transition: "ACTIVE"},
		{name: "LDAP-mastered, login key", status: "LOCKED_OUT", mapping: byLogin,
			credentials: `{"provider": {"type": "LDAP", "name": "ldap.example.com"}}`},
		{name: "federated, transitioning, login key", status: "ACTIVE", mapping: byLogin, transition: "DEPROVISIONED",
			credentials: `{"provider": {"type": "FEDERATION", "name": "FEDERATION"}}`},
	}
	decode := func(t *testing.T, status, credentials, transition string) *okta.User {
		t.Helper()
		tts := ""
		if transition != "" {
			tts = `"transitioningToStatus": "` + transition + `", `
		}
		body := `{"id": "00uann", "status": "` + status + `", ` + tts + `"created": "2024-01-02T03:04:05.000Z",
			"lastUpdated": "2025-03-04T05:06:07.890Z", "passwordChanged": null, "type": {"id": "oty1"},
			"profile": ` + profile + `, "credentials": ` + credentials + `, "_links": {}}`
		var u okta.User
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatalf("decode user: %v", err)
		}
		return &u
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := defaultMapping()
			if tt.mapping != nil {
				tt.mapping(&m)
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("mapping invalid: %v", err)
			}
			u := decode(t, tt.status, tt.credentials, tt.transition)
			if u.Credentials == nil || u.Credentials.Provider == nil || (tt.transition != "" && u.TransitioningToStatus != tt.transition) {
				t.Fatalf("decoded credentials %+v, transitioningToStatus %q: the fixture did not decode", u.Credentials, u.TransitioningToStatus)
			}
			got, gotSkip := m.Transform(u)
			want, wantSkip := m.Transform(decode(t, tt.status, oktaCreds, ""))
			if gotSkip != wantSkip {
				t.Fatalf("skip = %q, want %q (as Okta-mastered)", gotSkip, wantSkip)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Transform =\n%#v\nwant (as Okta-mastered)\n%#v", got, want)
			}
			if wantSkip == "" && want.Email != "ann.ng@corp.example" {
				t.Errorf("the Okta-mastered twin mapped to %q: the comparison proves nothing", want.Email)
			}
		})
	}
}

func TestDefaultStatusTable(t *testing.T) {
	m := defaultMapping()
	want := map[string]string{
		"ACTIVE": "active", "PROVISIONED": "active", "RECOVERY": "active", "LOCKED_OUT": "active",
		"PASSWORD_EXPIRED": "active", "SUSPENDED": "inactive", "DEPROVISIONED": "inactive", "STAGED": "skip",
	}
	if !reflect.DeepEqual(m.Status, want) {
		t.Errorf("default status table = %v, want %v", m.Status, want)
	}
}

func TestMappingValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Mapping)
		wants []string
	}{
		{"defaults are valid", func(*Mapping) {}, nil},
		{"bad key", func(m *Mapping) { m.Key = "id" }, []string{"mapping.key"}},
		{"bad status action", func(m *Mapping) { m.Status["SUSPENDED"] = "maybe" }, []string{"mapping.status.SUSPENDED"}},
		{"attribute manager without attribute", func(m *Mapping) { m.Manager = ManagerMapping{Source: ManagerFromAttribute} }, []string{"mapping.manager.attribute"}},
		{"unknown manager source", func(m *Mapping) { m.Manager.Source = "hr" }, []string{"mapping.manager.source"}},
		{"reserved and invalid extras, all reported", func(m *Mapping) {
			m.ExtraAttributes = map[string]string{"is_active": "x", "bad-name": "y", "ok": ""}
			m.ProfileURLTemplate = "ftp://x"
		}, []string{"mapping.extra_attributes.is_active", "mapping.extra_attributes.bad-name", "mapping.extra_attributes.ok", "mapping.profile_url_template"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := defaultMapping()
			tt.edit(&m)
			err := m.Validate()
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestValidateOrgURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://acme.okta.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:9", true},
		{"http://[::1]:9", true},
		{"http://acme.okta.com", false},
		{"ftp://acme.okta.com", false},
		{"acme.okta.com", false},
		{"", false},
		{"https://acme-admin.okta.com", false},
		{"https://acme.okta.com/api/v1", false},
		{"https://user:pw@acme.okta.com", false},
	}
	for _, tt := range tests {
		err := ValidateOrgURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateOrgURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
}
