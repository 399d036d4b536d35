package oktasim

import (
	"errors"
	"testing"
	"time"
)

func fixtureUser() *user {
	lu := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	act := time.Date(2023, 2, 3, 0, 0, 0, 0, time.UTC)
	return &user{
		id:          "00uAbCdEfGhIjKlMnOpQ",
		status:      StatusActive,
		created:     time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC),
		activated:   &act,
		lastUpdated: lu,
		typeID:      "oty1emp0yee5imUse7d7",
		profile: map[string]any{
			"login":          "jose.obrien1@example.com",
			"email":          "Jose.OBrien1@Example.com",
			"firstName":      "José",
			"lastName":       "O'Brien",
			"department":     "Engineering",
			"mobilePhone":    nil,
			"githubUsername": "jobrien",
			"level":          float64(5),
			"remote":         true,
			"tags":           []any{"a", "b"},
		},
	}
}

func TestParseQuery(t *testing.T) {
	u := fixtureUser()
	tests := []struct {
		mode    queryMode
		q       string
		want    bool
		wantErr bool
	}{
		// filter: the documented attributes, eq only, case-sensitive values.
		{modeFilter, `status eq "ACTIVE"`, true, false},
		{modeFilter, `status eq "active"`, false, false},
		{modeFilter, `status EQ "ACTIVE"`, true, false},
		{modeFilter, `STATUS eq "ACTIVE"`, false, true},
		{modeFilter, `id eq "00uAbCdEfGhIjKlMnOpQ"`, true, false},
		{modeFilter, `profile.login eq "jose.obrien1@example.com"`, true, false},
		{modeFilter, `profile.email eq "jose.obrien1@example.com"`, false, false},
		{modeFilter, `profile.email eq "Jose.OBrien1@Example.com"`, true, false},
		{modeFilter, `profile.firstName eq "José"`, true, false},
		{modeFilter, `profile.lastName eq "O'Brien"`, true, false},
		{modeFilter, `profile.lastName eq "O\"Brien"`, false, false},
		{modeFilter, `lastUpdated gt "2024-01-01T00:00:00.000Z"`, true, false},
		{modeFilter, `lastUpdated lt "2024-01-01T00:00:00.000Z"`, false, false},
		{modeFilter, `lastUpdated ge "2024-05-06T07:08:09.123Z"`, true, false},
		{modeFilter, `lastUpdated gt "2024-05-06T07:08:09.123Z"`, false, false},
		{modeFilter, `lastUpdated le "2024-05-06T07:08:09.123Z"`, true, false},
		{modeFilter, `lastUpdated eq "2024-05-06T07:08:09.123Z"`, true, false},
		{modeFilter, `lastUpdated gt "2024-05-06T07:08:09Z"`, true, false},
		{modeFilter, `lastUpdated gt "2024-01-01"`, false, true},
		{modeFilter, `lastUpdated gt 5`, false, true},
		{modeFilter, `lastUpdated gt "2013-06-01T00:00:00.000Z" and (status eq "LOCKED_OUT" or status eq "RECOVERY")`, false, false},
		{modeFilter, `lastUpdated gt "2013-06-01T00:00:00.000Z" and (status eq "LOCKED_OUT" or status eq "ACTIVE")`, true, false},
		{modeFilter, `status eq "DEPROVISIONED" and (lastUpdated ge "2024-05-06T00:00:00.000Z" and lastUpdated lt "2024-05-07T00:00:00.000Z")`, false, false},
		{modeFilter, `status eq "X" or status eq "ACTIVE"`, true, false},
		{modeFilter, `status eq "ACTIVE" and status eq "X"`, false, false},
		{modeFilter, `status eq "X" and status eq "Y" or status eq "ACTIVE"`, true, false},
		{modeFilter, `status eq "ACTIVE" or status eq "X" and status eq "Y"`, true, false},
		{modeFilter, `(status eq "ACTIVE" or status eq "X") and status eq "Y"`, false, false},
		{modeFilter, `((status eq "ACTIVE"))`, true, false},
		{modeFilter, `status eq "ACTIVE" AND id eq "00uAbCdEfGhIjKlMnOpQ"`, true, false},
		{modeFilter, `profile.department eq "Engineering"`, false, true},
		{modeFilter, `status sw "ACT"`, false, true},
		{modeFilter, `status gt "A"`, false, true},
		{modeFilter, `status ne "ACTIVE"`, false, true},
		{modeFilter, `not status eq "ACTIVE"`, false, true},
		{modeFilter, `status eq ACTIVE`, false, true},
		{modeFilter, `status eq`, false, true},
		{modeFilter, `status`, false, true},
		{modeFilter, `(status eq "ACTIVE"`, false, true},
		{modeFilter, `status eq "ACTIVE")`, false, true},
		{modeFilter, `status eq "ACTIVE" status eq "ACTIVE"`, false, true},
		{modeFilter, `status eq "ACTIVE" and`, false, true},
		{modeFilter, `status eq "ACTIVE`, false, true},
		{modeFilter, ``, false, true},
		{modeFilter, `   `, false, true},
		{modeFilter, `()`, false, true},

		// search: any profile attribute, more operators, case-insensitive values.
		{modeSearch, `status eq "active"`, true, false},
		{modeSearch, `profile.department eq "engineering"`, true, false},
		{modeSearch, `profile.department sw "Eng"`, true, false},
		{modeSearch, `profile.department sw "gin"`, false, false},
		{modeSearch, `profile.firstName co "OS"`, true, false},
		{modeSearch, `profile.email co "obrien"`, true, false},
		{modeSearch, `profile.department co "gin"`, false, true},
		{modeSearch, `profile.nope eq "x"`, false, false},
		{modeSearch, `profile.githubUsername pr`, true, false},
		{modeSearch, `profile.mobilePhone pr`, false, false},
		{modeSearch, `profile.nope pr`, false, false},
		{modeSearch, `profile.level gt 3`, true, false},
		{modeSearch, `profile.level eq 5`, true, false},
		{modeSearch, `profile.level lt 5`, false, false},
		{modeSearch, `profile.level eq "5"`, false, false},
		{modeSearch, `profile.remote eq true`, true, false},
		{modeSearch, `profile.remote eq false`, false, false},
		{modeSearch, `profile.tags eq "B"`, true, false},
		{modeSearch, `profile.tags eq "c"`, false, false},
		{modeSearch, `created lt "2024-01-01T00:00:00.000Z"`, true, false},
		{modeSearch, `activated pr`, true, false},
		{modeSearch, `statusChanged pr`, false, false},
		{modeSearch, `type.id eq "oty1emp0yee5imUse7d7"`, true, false},
		{modeSearch, `status lt "STAGED" or status gt "STAGED"`, true, false},
		{modeSearch, `profile.githubUsername pr and profile.department sw "eng"`, true, false},
		{modeSearch, `profile.firstName sw 5`, false, true},
		{modeSearch, `profile.bad-name eq "x"`, false, true},
		{modeSearch, `profile. eq "x"`, false, true},
		{modeSearch, `profile.level gt abc`, false, true},
		{modeSearch, `lastUpdated gt "yesterday"`, false, true},
	}
	for _, tt := range tests {
		name := map[queryMode]string{modeFilter: "filter", modeSearch: "search"}[tt.mode] + ":" + tt.q
		t.Run(name, func(t *testing.T) {
			e, err := parseQuery(tt.mode, tt.q)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseQuery(%q) succeeded, want error", tt.q)
				}
				if !errors.Is(err, errBadQuery) {
					t.Fatalf("error %v does not wrap errBadQuery", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseQuery(%q): %v", tt.q, err)
			}
			if got := e.match(u); got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}
