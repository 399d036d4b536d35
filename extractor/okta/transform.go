package okta

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/oktasync/oktasync/extractor"
)

// Skip reasons, as counted in the run summary.
const (
	SkipNoEmail       = "no usable email"
	SkipNoKey         = "no usable key"
	SkipStatus        = "status mapped to skip"
	SkipUnknownStatus = "unknown status"
	SkipNoID          = "no okta id"
	// SkipInvisible: the email, the key or a manager reference by key holds
	// an invisible or control character (see invisible), refused rather
	// than stripped: two such keys would look the same on screen.
	SkipInvisible = "invisible or control character in email or key"
)

// Transform maps one Okta user to an Amundsen user. It is pure: the same
// user and mapping always give the same result. A non-empty reason means the
// user is skipped (counted, not fatal). The key, the email and a manager
// reference by key are Normalize'd; one holding an invisible or control
// character is refused (SkipInvisible).
func (m Mapping) Transform(u *okta.User) (extractor.User, string) {
	if u == nil || u.Id == "" {
		return extractor.User{}, SkipNoID
	}
	var p okta.UserProfile
	if u.Profile != nil {
		p = *u.Profile
	}
	action, known := m.Status[u.Status]
	switch {
	case !known:
		return extractor.User{}, SkipUnknownStatus
	case action == StatusSkip:
		return extractor.User{}, SkipStatus
	}
	email := Normalize(identity(p, "email"))
	if hasInvisible(email) {
		return extractor.User{}, SkipInvisible
	}
	if !UsableEmail(email) {
		return extractor.User{}, SkipNoEmail
	}
	login := Normalize(identity(p, "login"))
	key := email
	if m.Key == KeyLogin {
		key = login
		if hasInvisible(key) {
			return extractor.User{}, SkipInvisible
		}
		if !usableKey(key) {
			return extractor.User{}, SkipNoKey
		}
	}
	first := strings.TrimSpace(str(p, "firstName"))
	last := strings.TrimSpace(str(p, "lastName"))
	out := extractor.User{
		Key:            key,
		Email:          email,
		FirstName:      first,
		LastName:       last,
		FullName:       FullName(str(p, "displayName"), first, last, email),
		RoleName:       strings.TrimSpace(str(p, "title")),
		TeamName:       m.team(p),
		EmployeeType:   strings.TrimSpace(str(p, "userType")),
		GithubUsername: strings.TrimSpace(str(p, m.GithubUsernameAttribute)),
		SlackID:        strings.TrimSpace(str(p, m.SlackIDAttribute)),
		IsActive:       action == StatusActive,
		SourceID:       u.Id,
		Status:         u.Status,
	}
	if u.LastUpdated != nil {
		out.UpdatedAt = u.LastUpdated.Unix()
		out.Version = u.LastUpdated.UnixMilli()
	}
	if m.ProfileURLTemplate != "" {
		out.ProfileURL = strings.NewReplacer(
			"{id}", u.Id, "{login}", login, "{email}", email, "{key}", key,
		).Replace(m.ProfileURLTemplate)
	} else {
		out.ProfileURL = strings.TrimSpace(str(p, "profileUrl"))
	}
	switch m.Manager.Source {
	case ManagerFromManagerID:
		if id := strings.TrimSpace(identity(p, "managerId")); id != "" && id != u.Id {
			out.Manager = extractor.ManagerRef{Kind: extractor.ManagerByOktaID, Value: id}
		}
	case ManagerFromAttribute:
		// A reference with an invisible character names nobody's key: the
		// user has no manager (as with any unusable reference), but is
		// synced, so that their own changes, leaving included, still land.
		ref := Normalize(identity(p, m.Manager.Attribute))
		if usableKey(ref) && ref != key && !hasInvisible(ref) {
			out.Manager = extractor.ManagerRef{Kind: extractor.ManagerByKey, Value: ref}
		}
	}
	if len(m.ExtraAttributes) > 0 {
		names := slices.Sorted(maps.Keys(m.ExtraAttributes))
		out.Extra = make([]extractor.Attr, 0, len(names))
		for _, name := range names {
			out.Extra = append(out.Extra, extractor.Attr{Name: name, Value: value(p[m.ExtraAttributes[name]])})
		}
	}
	return out, ""
}

// UsableEmail reports whether s (normalised) looks like one email address:
// one @, a non-empty local part and a dotted or plain domain, no spaces or
// control characters.
func UsableEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return false
	}
	return usableKey(s)
}

func usableKey(s string) bool {
	if s == "" || len(s) > 320 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// FullName is displayName, else "first last", else the email: never empty.
func FullName(display, first, last, email string) string {
	if d := strings.TrimSpace(display); d != "" {
		return d
	}
	if n := strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last)); n != "" {
		return n
	}
	return email
}

// str reads a profile attribute as a string, coping with a missing key, a
// JSON null and non-string values (numbers arrive as float64).
func str(p okta.UserProfile, key string) string {
	if p == nil || key == "" {
		return ""
	}
	switch v := p[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// identity reads an attribute that identifies a user (email, login, a
// manager reference) only if it is a string: an object or a number there is
// bad data, and its JSON text could otherwise pass for an email address.
func identity(p okta.UserProfile, key string) string {
	v, _ := p[key].(string)
	return v
}

// value converts a profile value to a Neo4j- and CSV-friendly scalar: a
// string, bool, int64 or float64. Null becomes "", as databuilder writes
// empty attributes; lists become comma-separated strings.
func value(v any) any {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, str(okta.UserProfile{"v": e}, "v"))
		}
		return strings.Join(parts, ",")
	default:
		return str(okta.UserProfile{"v": v}, "v")
	}
}

// team is team_name from the profile attribute, with source: attribute;
// with source: groups the extractor sets it from the user's groups.
func (m Mapping) team(p okta.UserProfile) string {
	if m.Team.Source != TeamFromAttribute {
		return ""
	}
	return strings.TrimSpace(str(p, m.Team.Attribute))
}
