package oktasim_test

// The conformance test of issue 23: for each Okta endpoint oktasync calls,
// the simulator answers with what Okta's management API spec declares and
// the product reads.
//
// The expectations are our own restatement of the spec's facts, not a copy
// of it. The spec is Okta's management OpenAPI document as the Go SDK
// vendors it: okta/okta-sdk-golang,
// .generator/okta-management-APIs-oasv3-noEnums-inheritance.yaml (read at
// commit cf104e7f, 2026-04-01). From its components.schemas (User,
// UserProfile, UserCredentials, AuthenticationProvider, EventHook and the
// schemas it refers to, Error, ErrorCause, HrefObject, TokenResponse,
// WellKnownOrgMetadata) come each property's JSON type, whether it is
// nullable, required or write-only, and the documented values of
// enumerations (enum and x-okta-known-values); from its paths come the
// response codes of each operation. Facts from elsewhere say where they
// come from.
//
// Every check reports the endpoint (the spec's operationId, method and
// path) and the field or header it is about.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// oktaDateTime is how Okta writes a date-time: UTC, milliseconds, "Z"
// (okta.md §4.3; the spec says only "format: date-time").
const oktaDateTime = "2006-01-02T15:04:05.000Z"

// jsonKind is a JSON type as the spec declares a value.
type jsonKind int

const (
	jsonAny      jsonKind = iota // any value (additionalProperties: true)
	jsonString                   // type: string
	jsonDateTime                 // type: string, format: date-time, as oktaDateTime
	jsonInteger                  // type: integer
	jsonBoolean                  // type: boolean
	jsonObject                   // type: object
	jsonArray                    // type: array
)

// presence says whether an object's property must be in an answer.
type presence int

const (
	optional  presence = iota
	required           // in the schema's required list
	read               // the product reads it from every object, so Okta's answers carry it
	writeOnly          // writeOnly in the spec: never in an answer
)

// prop is what the spec says of one value.
type prop struct {
	kind     jsonKind
	need     presence // as a property of its object
	nullable bool
	// enum lists the documented values of a string.
	enum []string
	// minLen and maxLen bound a string's length in characters (maxLen 0:
	// unbounded); email is format: email; pattern is a regular expression
	// the whole string matches.
	minLen, maxLen int
	email          bool
	pattern        string
	// props are an object's declared properties. An object holds no other
	// property unless open (additionalProperties: true): one the spec does
	// not declare is one the simulator made up.
	props map[string]prop
	open  bool
	// items is an array's element.
	items *prop
}

// conform returns how v (decoded with json.Decoder.UseNumber) departs from
// p, one line per problem, each naming the field by its path from at.
func conform(at string, v any, p prop) []string {
	if v == nil {
		if p.nullable || p.kind == jsonAny {
			return nil
		}
		return []string{at + ": null, but the spec does not make it nullable"}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, at+": "+fmt.Sprintf(format, args...)) }
	switch p.kind {
	case jsonAny:
	case jsonString, jsonDateTime:
		s, ok := v.(string)
		if !ok {
			bad("%s, want a string", describe(v))
			break
		}
		if p.kind == jsonDateTime {
			if d, err := time.Parse(oktaDateTime, s); err != nil || d.Format(oktaDateTime) != s {
				bad("%q is not a date-time as Okta writes it (%s)", s, oktaDateTime)
			}
		}
		if len(p.enum) > 0 && !slices.Contains(p.enum, s) {
			bad("%q is not one of the documented values %s", s, strings.Join(p.enum, ", "))
		}
		if n := utf8.RuneCountInString(s); n < p.minLen || p.maxLen > 0 && n > p.maxLen {
			bad("%d characters, want %d to %d", n, p.minLen, p.maxLen)
		}
		if p.email {
			if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
				bad("%q is not an email address", s)
			}
		}
		if p.pattern != "" && !regexp.MustCompile(`^(?:`+p.pattern+`)$`).MatchString(s) {
			bad("%q does not match %s", s, p.pattern)
		}
	case jsonInteger:
		n, ok := v.(json.Number)
		if !ok {
			bad("%s, want an integer", describe(v))
		} else if _, err := n.Int64(); err != nil {
			bad("%s is not an integer", n)
		}
	case jsonBoolean:
		if _, ok := v.(bool); !ok {
			bad("%s, want a boolean", describe(v))
		}
	case jsonObject:
		m, ok := v.(map[string]any)
		if !ok {
			bad("%s, want an object", describe(v))
			break
		}
		for _, name := range slices.Sorted(maps.Keys(p.props)) {
			sub := p.props[name]
			val, present := m[name]
			switch {
			case present && sub.need == writeOnly:
				problems = append(problems, at+"."+name+": present, but the spec makes it write-only")
			case present:
				problems = append(problems, conform(at+"."+name, val, sub)...)
			case sub.need == required:
				problems = append(problems, at+"."+name+": missing, but the spec requires it")
			case sub.need == read:
				problems = append(problems, at+"."+name+": missing, but the product reads it")
			}
		}
		if !p.open {
			for _, name := range slices.Sorted(maps.Keys(m)) {
				if _, declared := p.props[name]; !declared {
					problems = append(problems, at+"."+name+": not a property the spec declares")
				}
			}
		}
	case jsonArray:
		a, ok := v.([]any)
		if !ok {
			bad("%s, want an array", describe(v))
			break
		}
		for i, e := range a {
			problems = append(problems, conform(fmt.Sprintf("%s[%d]", at, i), e, *p.items)...)
		}
	}
	return problems
}

// describe names the JSON type of a decoded value.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number so
// that integers can be told from other numbers.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode %.200q: %w", raw, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode %.200q: more than one JSON value", raw)
	}
	return v, nil
}

// str is a string property.
func str(need presence) prop { return prop{kind: jsonString, need: need} }

// nullableStr is a nullable string of at most maxLen characters (0: any).
func nullableStr(maxLen int) prop { return prop{kind: jsonString, nullable: true, maxLen: maxLen} }

// dateTime is a date-time property that need not be present.
func dateTime(nullable bool) prop { return prop{kind: jsonDateTime, nullable: nullable} }

// object is an object declaring exactly props.
func object(need presence, props map[string]prop) prop {
	return prop{kind: jsonObject, need: need, props: props}
}

// arrayOf is an array of item.
func arrayOf(need presence, item prop) prop { return prop{kind: jsonArray, need: need, items: &item} }

// hrefObject is HrefObject: href is required, hints.allow lists HttpMethod
// values, and other properties may follow (additionalProperties: true).
func hrefObject() prop {
	return prop{kind: jsonObject, open: true, props: map[string]prop{
		"href":      str(required),
		"name":      str(optional),
		"templated": {kind: jsonBoolean},
		"type":      str(optional),
		"hints": object(optional, map[string]prop{
			"allow": arrayOf(optional, prop{kind: jsonString, enum: []string{"DELETE", "GET", "POST", "PUT"}}),
		}),
	}}
}

// links is a _links object declaring rels, each an HrefObject.
func links(rels ...string) prop {
	p := object(optional, map[string]prop{})
	for _, r := range rels {
		p.props[r] = hrefObject()
	}
	return p
}

// userStatuses are UserStatus's known values.
func userStatuses() []string {
	return []string{"ACTIVE", "DEPROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED", "PROVISIONED", "RECOVERY", "STAGED", "SUSPENDED"}
}

// providerTypes are AuthenticationProviderType's known values.
func providerTypes() []string {
	return []string{"ACTIVE_DIRECTORY", "FEDERATION", "IMPORT", "LDAP", "OKTA", "SOCIAL"}
}

// userSchema is User. A user in a list carries only the self link (the
// description of User._links); a single user may carry every relation
// User._links declares. The product reads id, status, lastUpdated and the
// profile.
func userSchema(single bool) prop {
	rels := []string{"self"}
	if single {
		rels = append(rels, "activate", "resetPassword", "resetFactors", "expirePassword", "forgotPassword",
			"changeRecoveryQuestion", "deactivate", "reactivate", "changePassword", "schema", "suspend",
			"unsuspend", "unlock", "type")
	}
	return object(optional, map[string]prop{
		"id":     str(read),
		"status": {kind: jsonString, need: read, enum: userStatuses()},
		"transitioningToStatus": {kind: jsonString, nullable: true,
			enum: []string{"ACTIVE", "DEPROVISIONED", "PROVISIONED"}},
		"created":         dateTime(false),
		"activated":       dateTime(true),
		"statusChanged":   dateTime(true),
		"lastLogin":       dateTime(true),
		"lastUpdated":     {kind: jsonDateTime, need: read},
		"passwordChanged": dateTime(true),
		"realmId":         str(optional),
		"type":            object(optional, map[string]prop{"id": str(optional)}),
		"profile":         profileSchema(),
		"credentials":     credentialsSchema(),
		"_embedded":       {kind: jsonObject, open: true},
		"_links":          links(rels...),
	})
}

// profileSchema is UserProfile: the default attributes, all strings, with
// their nullability and lengths; custom attributes may be anything
// (additionalProperties: true). The product keys users on email or login;
// it reads firstName, lastName, displayName, title, department, userType,
// profileUrl, managerId and configured custom attributes when present.
func profileSchema() prop {
	return prop{kind: jsonObject, need: read, open: true, props: map[string]prop{
		"login":             {kind: jsonString, need: read, minLen: 5, maxLen: 100},
		"email":             {kind: jsonString, need: read, email: true, minLen: 5, maxLen: 100},
		"secondEmail":       {kind: jsonString, nullable: true, email: true, maxLen: 100},
		"firstName":         {kind: jsonString, nullable: true, minLen: 1, maxLen: 50},
		"lastName":          {kind: jsonString, nullable: true, minLen: 1, maxLen: 50},
		"department":        str(optional),
		"employeeNumber":    str(optional),
		"locale":            str(optional),
		"city":              nullableStr(128),
		"state":             nullableStr(128),
		"countryCode":       nullableStr(2),
		"zipCode":           nullableStr(50),
		"streetAddress":     nullableStr(1024),
		"postalAddress":     nullableStr(4096),
		"mobilePhone":       nullableStr(100),
		"primaryPhone":      nullableStr(100),
		"costCenter":        nullableStr(0),
		"displayName":       nullableStr(0),
		"division":          nullableStr(0),
		"honorificPrefix":   nullableStr(0),
		"honorificSuffix":   nullableStr(0),
		"manager":           nullableStr(0),
		"managerId":         nullableStr(0),
		"middleName":        nullableStr(0),
		"nickName":          nullableStr(0),
		"organization":      nullableStr(0),
		"preferredLanguage": nullableStr(0),
		"profileUrl":        nullableStr(0),
		"timezone":          nullableStr(0),
		"title":             nullableStr(0),
		"userType":          nullableStr(0),
	}}
}

// credentialsSchema is UserCredentials: the password (PasswordCredential,
// whose value is write-only), the recovery question (whose answer is
// write-only) and the AuthenticationProvider.
func credentialsSchema() prop {
	return object(optional, map[string]prop{
		"password": object(optional, map[string]prop{
			"value": str(writeOnly),
			"hash":  {kind: jsonObject, open: true},
			"hook":  {kind: jsonObject, open: true},
		}),
		"recovery_question": object(optional, map[string]prop{
			"question": str(optional),
			"answer":   str(writeOnly),
		}),
		"provider": object(optional, map[string]prop{
			"type": {kind: jsonString, enum: providerTypes()},
			"name": str(optional),
		}),
	})
}

// eventHookSchema is EventHook with EventSubscriptions, EventHookChannel,
// its config and auth scheme. Required: name, events (type, items) and
// channel (type, version, config with uri). The product reads id, status
// and verificationStatus too.
func eventHookSchema() prop {
	return object(optional, map[string]prop{
		"id":                 str(read),
		"name":               str(required),
		"description":        nullableStr(0),
		"status":             {kind: jsonString, need: read, enum: []string{"ACTIVE", "INACTIVE"}},
		"verificationStatus": {kind: jsonString, need: read, enum: []string{"UNVERIFIED", "VERIFIED"}},
		"created":            dateTime(false),
		"createdBy":          str(optional),
		"lastUpdated":        dateTime(false),
		"events": object(required, map[string]prop{
			"type":  {kind: jsonString, need: required, enum: []string{"EVENT_TYPE"}},
			"items": arrayOf(required, str(optional)),
			"filter": {kind: jsonObject, nullable: true, props: map[string]prop{
				"type": str(optional),
				"eventFilterMap": arrayOf(optional, object(optional, map[string]prop{
					"event": str(optional),
					"condition": object(optional, map[string]prop{
						"expression": str(optional),
						"version":    nullableStr(0),
					}),
				})),
			}},
		}),
		"channel": object(required, map[string]prop{
			"type":    {kind: jsonString, need: required, enum: []string{"HTTP"}},
			"version": str(required),
			"config": object(required, map[string]prop{
				"uri":    str(required),
				"method": str(optional),
				"headers": arrayOf(optional, prop{kind: jsonObject, nullable: true, props: map[string]prop{
					"key": str(optional), "value": str(optional),
				}}),
				"authScheme": object(optional, map[string]prop{
					"type":  {kind: jsonString, enum: []string{"HEADER"}},
					"key":   str(optional),
					"value": str(writeOnly),
				}),
			}),
		}),
		"_links": links("self", "deactivate", "verify"),
	})
}

// oktaErrorSchema is Error with its ErrorCauses. The product reads
// errorCode and errorSummary; Okta's codes are E and seven digits (Okta's
// error-code catalog).
func oktaErrorSchema() prop {
	return object(optional, map[string]prop{
		"errorCode":    {kind: jsonString, need: read, pattern: `E[0-9]{7}`},
		"errorSummary": str(read),
		"errorLink":    str(optional),
		"errorId":      str(optional),
		"errorCauses":  arrayOf(optional, object(optional, map[string]prop{"errorSummary": str(optional)})),
	})
}

// tokenSchema is TokenResponse. The SDK reads token_type, access_token and
// expires_in (it caches the token for that long).
func tokenSchema() prop {
	return object(optional, map[string]prop{
		"token_type":    {kind: jsonString, need: read, enum: []string{"Bearer", "N_A"}},
		"access_token":  str(read),
		"expires_in":    {kind: jsonInteger, need: read},
		"scope":         str(optional),
		"id_token":      str(optional),
		"refresh_token": str(optional),
		"device_secret": str(optional),
		"issued_token_type": {kind: jsonString, enum: []string{
			"urn:ietf:params:oauth:token-type:access_token", "urn:ietf:params:oauth:token-type:id_token",
			"urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:refresh_token",
			"urn:ietf:params:oauth:token-type:saml1", "urn:ietf:params:oauth:token-type:saml2"}},
	})
}

// oauthErrorSchema is the token endpoint's error, which the management
// spec does not describe: RFC 6749 §5.2 (error, error_description,
// error_uri), with the codes of §5.2 and those Okta adds that the product
// knows (APIError.Auth).
func oauthErrorSchema() prop {
	return object(optional, map[string]prop{
		"error": {kind: jsonString, need: read, enum: []string{
			"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
			"invalid_scope", "consent_required", "access_denied", "invalid_dpop_proof", "server_error"}},
		"error_description": str(read),
		"error_uri":         str(optional),
	})
}

// wellKnownOrgSchema is WellKnownOrgMetadata (pipeline is PipelineType).
// The product reads id and _links.organization.
func wellKnownOrgSchema() prop {
	orgLinks := links("organization", "alternate")
	orgLinks.need = read
	org := orgLinks.props["organization"]
	org.need = read
	orgLinks.props["organization"] = org
	return object(optional, map[string]prop{
		"id":       str(read),
		"pipeline": {kind: jsonString, enum: []string{"idx", "v1"}},
		"_links":   orgLinks,
	})
}

// groupTypes are GroupType's known values.
func groupTypes() []string { return []string{"APP_GROUP", "BUILT_IN", "OKTA_GROUP"} }

// oktaGroupSchema is Group, whose profile is an OktaUserGroupProfile or an
// OktaActiveDirectoryGroupProfile (x-okta-extensible: custom properties
// may follow). The product reads id, type and profile.name.
func oktaGroupSchema() prop {
	return object(optional, map[string]prop{
		"id":                    str(read),
		"type":                  {kind: jsonString, need: read, enum: groupTypes()},
		"created":               dateTime(false),
		"lastUpdated":           dateTime(false),
		"lastMembershipUpdated": dateTime(false),
		"objectClass":           arrayOf(optional, str(optional)),
		"profile": {kind: jsonObject, need: read, open: true, props: map[string]prop{
			"name":                       str(read),
			"description":                str(optional),
			"dn":                         str(optional),
			"externalId":                 str(optional),
			"samAccountName":             str(optional),
			"windowsDomainQualifiedName": str(optional),
		}},
		"_embedded": object(optional, map[string]prop{
			"stats": object(optional, map[string]prop{
				"usersCount":             {kind: jsonInteger},
				"appsCount":              {kind: jsonInteger},
				"groupPushMappingsCount": {kind: jsonInteger},
				"hasAdminPrivlege":       {kind: jsonBoolean},
			}),
			"app": object(optional, map[string]prop{
				"id": str(optional), "name": str(optional), "label": str(optional), "signOnMode": str(optional),
			}),
		}),
		"_links": object(optional, map[string]prop{
			"self":   hrefObject(),
			"apps":   hrefObject(),
			"source": hrefObject(),
			"users":  hrefObject(),
			"logo":   arrayOf(optional, hrefObject()),
		}),
	})
}

// endpoint is one operation the product calls, as the spec declares it.
type endpoint struct {
	op, method, path string // the spec's operationId and path template
	// statuses are the response codes the spec documents for it. Every
	// /api/v1 operation may also answer 401 to a token Okta did not issue
	// (the security schemes; the spec's ErrorInvalidToken401).
	statuses []int
	// limited: the answer carries Okta's rate-limit headers, which the
	// product's transport reads (okta.md §4.7).
	limited bool
	// ok is the body of a 200; failed that of any other answer.
	ok, failed prop
}

func (e endpoint) String() string { return e.op + " (" + e.method + " " + e.path + ")" }

// oktaSpec holds the endpoints the product calls: the extractor's (users,
// teams from groups, org identity, the token endpoint in PrivateKey mode)
// and HookAdmin's (event hooks), plus deactivateEventHook, which the test
// needs to reach activateEventHook.
type oktaSpec struct {
	token, wellKnownOrg, listUsers, getUser                 endpoint
	listGroups, listGroupUsers, listUserGroups              endpoint
	listEventHooks, createEventHook, replaceEventHook       endpoint
	activateEventHook, deactivateEventHook, verifyEventHook endpoint
}

// newOktaSpec returns the endpoints with the response codes the spec
// documents for each.
func newOktaSpec() oktaSpec {
	const (
		ok, bad, auth, forbidden, notFound, limited = 200, 400, 401, 403, 404, 429
		hooks, hook                                 = "/api/v1/eventHooks", "/api/v1/eventHooks/{eventHookId}"
	)
	hookOp := func(op, method, path string, statuses ...int) endpoint {
		return endpoint{op: op, method: method, path: path, statuses: append(statuses, auth), limited: true,
			ok: eventHookSchema(), failed: oktaErrorSchema()}
	}
	return oktaSpec{
		// The org authorization server's token endpoint (securitySchemes
		// oauth2's tokenUrl; answers per RFC 6749 §5.1 and §5.2).
		token: endpoint{op: "token", method: http.MethodPost, path: "/oauth2/v1/token",
			statuses: []int{ok, bad, auth, limited}, limited: true, ok: tokenSchema(), failed: oauthErrorSchema()},
		wellKnownOrg: endpoint{op: "getWellknownOrgMetadata", method: http.MethodGet, path: "/.well-known/okta-organization",
			statuses: []int{ok, limited}, ok: wellKnownOrgSchema(), failed: oktaErrorSchema()},
		listUsers: endpoint{op: "listUsers", method: http.MethodGet, path: "/api/v1/users",
			statuses: []int{ok, forbidden, limited, auth}, limited: true,
			ok: arrayOf(optional, userSchema(false)), failed: oktaErrorSchema()},
		getUser: endpoint{op: "getUser", method: http.MethodGet, path: "/api/v1/users/{id}",
			statuses: []int{ok, forbidden, notFound, limited, auth}, limited: true,
			ok: userSchema(true), failed: oktaErrorSchema()},
		listGroups: endpoint{op: "listGroups", method: http.MethodGet, path: "/api/v1/groups",
			statuses: []int{ok, forbidden, limited, auth}, limited: true,
			ok: arrayOf(optional, oktaGroupSchema()), failed: oktaErrorSchema()},
		listGroupUsers: endpoint{op: "listGroupUsers", method: http.MethodGet, path: "/api/v1/groups/{groupId}/users",
			statuses: []int{ok, forbidden, notFound, limited, auth}, limited: true,
			ok: arrayOf(optional, userSchema(false)), failed: oktaErrorSchema()},
		listUserGroups: endpoint{op: "listUserGroups", method: http.MethodGet, path: "/api/v1/users/{id}/groups",
			statuses: []int{ok, forbidden, notFound, limited, auth}, limited: true,
			ok: arrayOf(optional, oktaGroupSchema()), failed: oktaErrorSchema()},
		listEventHooks: endpoint{op: "listEventHooks", method: http.MethodGet, path: hooks,
			statuses: []int{ok, forbidden, limited, auth}, limited: true,
			ok: arrayOf(optional, eventHookSchema()), failed: oktaErrorSchema()},
		createEventHook:     hookOp("createEventHook", http.MethodPost, hooks, ok, bad, forbidden, limited),
		replaceEventHook:    hookOp("replaceEventHook", http.MethodPut, hook, ok, bad, forbidden, notFound, limited),
		activateEventHook:   hookOp("activateEventHook", http.MethodPost, hook+"/lifecycle/activate", ok, forbidden, notFound, limited),
		deactivateEventHook: hookOp("deactivateEventHook", http.MethodPost, hook+"/lifecycle/deactivate", ok, forbidden, notFound, limited),
		verifyEventHook:     hookOp("verifyEventHook", http.MethodPost, hook+"/lifecycle/verify", ok, bad, forbidden, notFound, limited),
	}
}

// check checks one answer of e against the spec, reporting each problem
// with e and the field or header, and returns the decoded body (nil if it
// is not the wanted answer or not JSON). want is the status the test
// provoked.
func (e endpoint) check(t *testing.T, resp *http.Response, raw []byte, want int) any {
	t.Helper()
	if !slices.Contains(e.statuses, resp.StatusCode) {
		t.Errorf("%s: status %d is not one the spec documents for it %v", e, resp.StatusCode, e.statuses)
	}
	if resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d (body %.300s)", e, resp.StatusCode, want, raw)
		return nil
	}
	// Every answer's content is application/json in the spec.
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("%s: header Content-Type %q, want application/json", e, resp.Header.Get("Content-Type"))
	}
	// The product places Okta's rate-limit resets and its read windows
	// with Date; the SDK needs it on a 429.
	date, err := time.Parse(http.TimeFormat, resp.Header.Get("Date"))
	if err != nil {
		t.Errorf("%s: header Date %q is not an HTTP date (%s)", e, resp.Header.Get("Date"), http.TimeFormat)
	}
	if e.limited {
		checkRateLimitHeaders(t, e, resp.Header, date)
	}
	body, err := decodeJSON(raw)
	if err != nil {
		t.Errorf("%s: body: %v", e, err)
		return nil
	}
	schema := e.failed
	if resp.StatusCode == http.StatusOK {
		schema = e.ok
	}
	problems := conform("body", body, schema)
	const most = 10
	for _, p := range problems[:min(len(problems), most)] {
		t.Errorf("%s: %s", e, p)
	}
	if len(problems) > most {
		t.Errorf("%s: and %d more problems in this answer", e, len(problems)-most)
	}
	return body
}

// checkRateLimitHeaders checks X-Rate-Limit-Limit, -Remaining and -Reset
// as Okta documents them (okta.md §4.7): non-negative integers, no more
// remaining than the limit, and the reset an epoch second not before the
// answer's Date and within the hour after it (not milliseconds).
func checkRateLimitHeaders(t *testing.T, e endpoint, h http.Header, date time.Time) {
	t.Helper()
	num := func(name string) (int64, bool) {
		vs := h.Values(name)
		if len(vs) != 1 {
			t.Errorf("%s: header %s given %d times, want once", e, name, len(vs))
			return 0, false
		}
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < 0 {
			t.Errorf("%s: header %s %q, want a non-negative integer", e, name, vs[0])
			return 0, false
		}
		return n, true
	}
	limit, okLimit := num("X-Rate-Limit-Limit")
	remaining, okRemaining := num("X-Rate-Limit-Remaining")
	reset, okReset := num("X-Rate-Limit-Reset")
	if okLimit && okRemaining && remaining > limit {
		t.Errorf("%s: header X-Rate-Limit-Remaining %d is more than X-Rate-Limit-Limit %d", e, remaining, limit)
	}
	if okReset && !date.IsZero() && (reset < date.Unix() || reset > date.Add(time.Hour).Unix()) {
		t.Errorf("%s: header X-Rate-Limit-Reset %d is not an epoch second within the hour after Date (%d)", e, reset, date.Unix())
	}
}

// pageLinks returns the URL of each relation of a page's Link header: one
// value per relation, each "<url>; rel="name"" (okta.md §4.1).
func pageLinks(t *testing.T, e endpoint, h http.Header) map[string]*url.URL {
	t.Helper()
	out := map[string]*url.URL{}
	for _, v := range h.Values("Link") {
		target, params, _ := strings.Cut(v, ";")
		rel, relOK := strings.CutPrefix(strings.TrimSpace(params), `rel="`)
		rel, quoted := strings.CutSuffix(rel, `"`)
		raw, open := strings.CutPrefix(strings.TrimSpace(target), "<")
		raw, closed := strings.CutSuffix(raw, ">")
		u, err := url.Parse(raw)
		switch {
		case !relOK || !quoted || !open || !closed || err != nil || !u.IsAbs():
			t.Errorf(`%s: header Link value %q is not <absolute URL>; rel="name"`, e, v)
		case out[rel] != nil:
			t.Errorf("%s: header Link: rel=%q given twice", e, rel)
		default:
			out[rel] = u
		}
	}
	return out
}

// pages reads a list from first to its end, following rel="next", checks
// each page (e.check) and its Link header, and returns the items of every
// page. Each page has a self link; a next link stays on the org and the
// list's path, carries an after cursor and keeps the query's other
// parameters (the product follows it as it is); no item comes twice.
func pages(t *testing.T, e endpoint, first string) []any {
	t.Helper()
	start, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	origin := start.Scheme + "://" + start.Host
	var items []any
	seen := map[string]bool{}
	for page, next := 1, first; next != ""; page++ {
		if page > 20 {
			t.Fatalf(`%s: header Link: rel="next" still there after %d pages`, e, page-1)
		}
		resp, raw := do(t, http.MethodGet, next, ssws, nil)
		body, _ := e.check(t, resp, raw, http.StatusOK).([]any)
		for i, item := range body {
			id, _ := field(item, "id")
			if seen[fmt.Sprint(id)] {
				t.Errorf("%s: page %d: body[%d].id %v: already on an earlier page", e, page, i, id)
			}
			seen[fmt.Sprint(id)] = true
		}
		items = append(items, body...)
		links := pageLinks(t, e, resp.Header)
		if self := links["self"]; self == nil || self.Scheme+"://"+self.Host != origin || self.Path != start.Path {
			t.Errorf(`%s: page %d: header Link: rel="self" %v, want the page's URL`, e, page, self)
		}
		next = ""
		n := links["next"]
		if n == nil {
			break
		}
		q, kept := n.Query(), true
		for k, v := range start.Query() {
			if k != "after" && q.Get(k) != v[0] {
				kept = false
			}
		}
		if n.Scheme+"://"+n.Host != origin || n.Path != start.Path || q.Get("after") == "" || !kept {
			t.Errorf(`%s: page %d: header Link: rel="next" %s, want %s%s with an after cursor and the query of %s`,
				e, page, n, origin, start.Path, first)
			break
		}
		next = n.String()
	}
	return items
}

// coverage counts the user statuses, credential providers and transitions
// the answers of an endpoint showed, so that a test can tell it checked
// every documented value the simulator generates.
type coverage struct {
	statuses, providers map[string]int
	transitioning       int
}

// newCoverage returns an empty coverage.
func newCoverage() *coverage {
	return &coverage{statuses: map[string]int{}, providers: map[string]int{}}
}

// add counts one decoded user.
func (c *coverage) add(user any) {
	u, _ := user.(map[string]any)
	if s, ok := u["status"].(string); ok {
		c.statuses[s]++
	}
	cred, _ := u["credentials"].(map[string]any)
	prov, _ := cred["provider"].(map[string]any)
	if p, ok := prov["type"].(string); ok {
		c.providers[p]++
	}
	if s, _ := u["transitioningToStatus"].(string); s != "" {
		c.transitioning++
	}
}

// want reports the documented values the answers of e never showed: every
// status, the providers generated orgs of 200 or more hold (the simulator
// generates no SOCIAL or IMPORT user), and a transition in progress.
func (c *coverage) want(t *testing.T, e endpoint) {
	t.Helper()
	for _, s := range userStatuses() {
		if c.statuses[s] == 0 {
			t.Errorf("%s: body[].status: no user had %s, so it went unchecked", e, s)
		}
	}
	for _, p := range []string{"OKTA", "ACTIVE_DIRECTORY", "LDAP", "FEDERATION"} {
		if c.providers[p] == 0 {
			t.Errorf("%s: body[].credentials.provider.type: no user had %s, so it went unchecked", e, p)
		}
	}
	if c.transitioning == 0 {
		t.Errorf("%s: body[].transitioningToStatus: no user had one, so it went unchecked", e)
	}
}

// fetch sends a request as okta-sdk-golang v2 does (JSON in and out) and
// returns the answer with its body.
func fetch(t *testing.T, method, rawURL, auth string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	return do(t, method, rawURL, auth, rd)
}

// askToken asks the token endpoint for scope as the SDK's PrivateKey mode
// does: the parameters in the URL query, an empty form body.
func askToken(t *testing.T, base, client string, key *rsa.PrivateKey, scope string) (*http.Response, []byte) {
	t.Helper()
	tokenURL := base + "/oauth2/v1/token"
	now := time.Now()
	v := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {signJWT(t, key, map[string]any{"iss": client, "sub": client, "aud": tokenURL,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})},
	}
	req, err := http.NewRequest(http.MethodPost, tokenURL+"?"+v.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", tokenURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", tokenURL, err)
	}
	return resp, raw
}

// asArray is v as a decoded array, nil if it is not one.
func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

// field returns the value at a dotted path of a decoded object.
func field(v any, path string) (any, bool) {
	for _, name := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestConformanceToOktaSpec calls every Okta endpoint the product calls
// against a generated org large enough to hold every user status,
// credential provider and group type, and more than a page of groups, and checks each answer against the spec: status
// codes, required and read fields present, JSON types and formats,
// documented enumeration values, write-only fields absent, no undeclared
// fields, the error body of a 400, 401, 403, 404 and 429, the Link header
// of list pages and the rate-limit headers.
func TestConformanceToOktaSpec(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const client = "0oaconformance"
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 450, Groups: 250, Seed: 23, RateLimit: 10_000,
		Clients: map[string]*rsa.PublicKey{client: &key.PublicKey},
		Grants:  map[string][]string{client: {"okta.users.read", "okta.eventHooks.manage"}}})
	t.Cleanup(sim.CloseEventHooks)
	spec := newOktaSpec()

	t.Run("token", func(t *testing.T) {
		e := spec.token
		resp, raw := askToken(t, base, client, key, "okta.users.read okta.eventHooks.manage")
		body := e.check(t, resp, raw, http.StatusOK)
		if scope, _ := field(body, "scope"); scope != "okta.users.read okta.eventHooks.manage" {
			t.Errorf("%s: body.scope %v, want the granted scopes asked for", e, scope)
		}
		// RFC 6749 §5.1: a token answer is not cached.
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: header Cache-Control %q, want no-store", e, cc)
		}
		tok, _ := field(body, "access_token")
		resp, raw = do(t, http.MethodGet, base+"/api/v1/users?limit=1", fmt.Sprintf("Bearer %v", tok), nil)
		spec.listUsers.check(t, resp, raw, http.StatusOK)

		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			key    *rsa.PrivateKey
			scope  string
			status int
			code   string
		}{
			{"assertion signed with another key", other, "okta.users.read", http.StatusUnauthorized, "invalid_client"},
			{"unknown scope", key, "okta.users.read okta.nothing.read", http.StatusBadRequest, "invalid_scope"},
		} {
			resp, raw := askToken(t, base, client, tc.key, tc.scope)
			if code, _ := field(e.check(t, resp, raw, tc.status), "error"); code != tc.code {
				t.Errorf("%s, %s: body.error %v, want %s", e, tc.name, code, tc.code)
			}
		}
	})

	t.Run("getWellknownOrgMetadata", func(t *testing.T) {
		e := spec.wellKnownOrg
		org, orgURL, customURL := oktasimtest.StartAliased(t, oktasim.Config{Users: 1, Seed: 23})
		for _, host := range []string{orgURL, customURL} {
			// Okta serves it without authentication (security: []).
			resp, raw := do(t, http.MethodGet, host+"/.well-known/okta-organization", "", nil)
			body := e.check(t, resp, raw, http.StatusOK)
			if id, _ := field(body, "id"); id != org.OrgID() {
				t.Errorf("%s at %s: body.id %v, want %s", e, host, id, org.OrgID())
			}
			if href, _ := field(body, "_links.organization.href"); href != orgURL {
				t.Errorf("%s at %s: body._links.organization.href %v, want %s", e, host, href, orgURL)
			}
			if href, _ := field(body, "_links.alternate.href"); href != customURL {
				t.Errorf("%s at %s: body._links.alternate.href %v, want %s", e, host, href, customURL)
			}
		}
	})

	t.Run("listUsers", func(t *testing.T) {
		e := spec.listUsers
		cov := newCoverage()
		read := 0
		// The product's two passes: the plain list, which the spec says
		// omits DEPROVISIONED users, then those through a filter.
		for _, filter := range []string{"", `status eq "DEPROVISIONED"`} {
			q := url.Values{"limit": {"200"}}
			if filter != "" {
				q.Set("filter", filter)
			}
			for i, u := range pages(t, e, base+"/api/v1/users?"+q.Encode()) {
				cov.add(u)
				if status, _ := field(u, "status"); (filter == "") == (status == "DEPROVISIONED") {
					t.Errorf("%s (filter %q): body[%d].status %v: the plain list omits DEPROVISIONED users, the filter asks for them only",
						e, filter, i, status)
				}
				read++
			}
		}
		if read != len(sim.Users()) {
			t.Errorf("%s: the two passes read %d users, want the org's %d", e, read, len(sim.Users()))
		}
		cov.want(t, e)
	})

	t.Run("getUser", func(t *testing.T) {
		e := spec.getUser
		cov := newCoverage()
		for _, u := range sim.Users() {
			resp, raw := do(t, http.MethodGet, base+"/api/v1/users/"+url.PathEscape(u.Id), ssws, nil)
			body := e.check(t, resp, raw, http.StatusOK)
			cov.add(body)
			if id, _ := field(body, "id"); id != u.Id {
				t.Errorf("%s: body.id %v, want the %s asked for", e, id, u.Id)
			}
		}
		cov.want(t, e)
	})

	t.Run("listGroups", func(t *testing.T) {
		e := spec.listGroups
		types := map[string]bool{}
		groups := pages(t, e, base+"/api/v1/groups?limit=200")
		for _, g := range groups {
			typ, _ := field(g, "type")
			types[fmt.Sprint(typ)] = true
		}
		for _, typ := range groupTypes() {
			if !types[typ] {
				t.Errorf("%s: body[].type: no group had %s, so it went unchecked", e, typ)
			}
		}
		if len(groups) != len(sim.Groups()) {
			t.Errorf("%s: read %d groups, want the org's %d", e, len(groups), len(sim.Groups()))
		}
		// The product can ask for one type of group.
		for i, g := range pages(t, e, base+"/api/v1/groups?"+url.Values{"limit": {"200"}, "filter": {`type eq "OKTA_GROUP"`}}.Encode()) {
			if typ, _ := field(g, "type"); typ != "OKTA_GROUP" {
				t.Errorf(`%s (filter type eq "OKTA_GROUP"): body[%d].type %v`, e, i, typ)
			}
		}
	})

	t.Run("listGroupUsers", func(t *testing.T) {
		e := spec.listGroupUsers
		for _, g := range sim.Groups() {
			members := pages(t, e, base+"/api/v1/groups/"+g.ID+"/users?limit=1000")
			if len(members) != len(g.Members) {
				t.Errorf("%s: group %s: read %d members, want %d", e, g.ID, len(members), len(g.Members))
			}
		}
	})

	t.Run("listUserGroups", func(t *testing.T) {
		e := spec.listUserGroups
		for _, u := range sim.Users()[:50] {
			resp, raw := do(t, http.MethodGet, base+"/api/v1/users/"+url.PathEscape(u.Id)+"/groups", ssws, nil)
			if groups, _ := e.check(t, resp, raw, http.StatusOK).([]any); len(groups) == 0 {
				t.Errorf("%s: user %s: no group, not even Everyone", e, u.Id)
			}
		}
	})

	t.Run("eventHooks", func(t *testing.T) {
		rc := newReceiver(t)
		const header, secret = "X-Oktasync-Secret", "conformance-secret-0123"
		created := hookBody(rc.url(), header, secret)
		// hookCall makes one call of e and checks the hook it returns,
		// with what HookAdmin reads and what Okta sends on every hook.
		hookCall := func(e endpoint, path string, body any, status, verification string) string {
			t.Helper()
			resp, raw := fetch(t, e.method, base+path, ssws, body)
			h := e.check(t, resp, raw, http.StatusOK)
			if h == nil {
				return ""
			}
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s: the body holds the secret (channel.config.authScheme.value is write-only)", e)
			}
			want := map[string]any{
				"status": status, "verificationStatus": verification,
				"channel.config.uri": rc.url(), "channel.config.authScheme.key": header,
				// Okta's Event Hooks reference shows method on every hook.
				"channel.config.method": http.MethodPost,
			}
			for _, path := range slices.Sorted(maps.Keys(want)) {
				if got, _ := field(h, path); got != want[path] {
					t.Errorf("%s: body.%s %v, want %v", e, path, got, want[path])
				}
			}
			items, _ := field(h, "events.items")
			if fmt.Sprint(items) != fmt.Sprint(created["events"].(map[string]any)["items"]) {
				t.Errorf("%s: body.events.items %v, want the types registered", e, items)
			}
			// Declared by EventHook and present on Okta's hooks, though
			// not required: issue 23, item 5.
			for _, path := range []string{"createdBy", "description", "_links.self.href", "_links.verify.href"} {
				if _, ok := field(h, path); !ok {
					t.Errorf("%s: body.%s: missing", e, path)
				}
			}
			switch _, ok := field(h, "_links.deactivate.href"); {
			case !ok && status == "ACTIVE":
				t.Errorf("%s: body._links.deactivate: missing on an ACTIVE hook", e)
			case ok && status != "ACTIVE":
				t.Errorf("%s: body._links.deactivate: present on an %s hook", e, status)
			}
			id, _ := field(h, "id")
			return fmt.Sprint(id)
		}

		// Register's order: list, create, update, activate, verify.
		resp, raw := do(t, http.MethodGet, base+"/api/v1/eventHooks", ssws, nil)
		if list, _ := spec.listEventHooks.check(t, resp, raw, http.StatusOK).([]any); len(list) != 0 {
			t.Errorf("%s: %d hooks in a new org", spec.listEventHooks, len(list))
		}
		id := hookCall(spec.createEventHook, "/api/v1/eventHooks", created, "ACTIVE", "UNVERIFIED")
		if id == "" {
			t.FailNow()
		}
		resp, raw = do(t, http.MethodGet, base+"/api/v1/eventHooks", ssws, nil)
		if list, _ := spec.listEventHooks.check(t, resp, raw, http.StatusOK).([]any); len(list) != 1 {
			t.Errorf("%s: %d hooks, want the one created", spec.listEventHooks, len(list))
		}
		hookCall(spec.replaceEventHook, "/api/v1/eventHooks/"+id, created, "ACTIVE", "UNVERIFIED")
		hookCall(spec.deactivateEventHook, "/api/v1/eventHooks/"+id+"/lifecycle/deactivate", nil, "INACTIVE", "UNVERIFIED")
		hookCall(spec.activateEventHook, "/api/v1/eventHooks/"+id+"/lifecycle/activate", nil, "ACTIVE", "UNVERIFIED")
		hookCall(spec.verifyEventHook, "/api/v1/eventHooks/"+id+"/lifecycle/verify", nil, "ACTIVE", "VERIFIED")

		// A failed verification is the spec's 400.
		wrong := newReceiver(t)
		wrong.mu.Lock()
		wrong.verifyFn = func(string) (int, string) { return http.StatusOK, `{"verification":"wrong"}` }
		wrong.mu.Unlock()
		resp, raw = fetch(t, http.MethodPost, base+"/api/v1/eventHooks", ssws, hookBody(wrong.url(), header, secret))
		other, _ := field(spec.createEventHook.check(t, resp, raw, http.StatusOK), "id")
		resp, raw = do(t, http.MethodPost, fmt.Sprintf("%s/api/v1/eventHooks/%v/lifecycle/verify", base, other), ssws, nil)
		spec.verifyEventHook.check(t, resp, raw, http.StatusBadRequest)
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			e         endpoint
			path      string
			auth      string
			body      any
			status    int
			code      string // Okta's error-code catalog
			hasCauses bool   // a validation failure lists its causes
		}{
			{"unknown user", spec.getUser, "/api/v1/users/00unotauser000000000", ssws, nil, http.StatusNotFound, "E0000007", false},
			{"no credential", spec.listUsers, "/api/v1/users", "", nil, http.StatusForbidden, "E0000005", false},
			{"token Okta did not issue", spec.listUsers, "/api/v1/users", "Bearer not-issued", nil, http.StatusUnauthorized, "E0000011", false},
			{"invalid hook", spec.createEventHook, "/api/v1/eventHooks", ssws, map[string]any{"name": ""}, http.StatusBadRequest, "E0000001", true},
			{"unknown hook", spec.replaceEventHook, "/api/v1/eventHooks/whonotahook000000000", ssws,
				hookBody("https://hooks.example.com/okta", "Authorization", "secret-0123456789"), http.StatusNotFound, "E0000007", false},
			{"unknown group", spec.listGroupUsers, "/api/v1/groups/00gnotagroup00000000/users", ssws, nil, http.StatusNotFound, "E0000007", false},
			{"unknown user", spec.listUserGroups, "/api/v1/users/00unotauser000000000/groups", ssws, nil, http.StatusNotFound, "E0000007", false},
			{"unknown hook", spec.activateEventHook, "/api/v1/eventHooks/whonotahook000000000/lifecycle/activate", ssws, nil, http.StatusNotFound, "E0000007", false},
		} {
			resp, raw := fetch(t, tc.e.method, base+tc.path, tc.auth, tc.body)
			body := tc.e.check(t, resp, raw, tc.status)
			if code, _ := field(body, "errorCode"); body != nil && code != tc.code {
				t.Errorf("%s, %s: body.errorCode %v, want %s", tc.e, tc.name, code, tc.code)
			}
			if causes, _ := field(body, "errorCauses"); tc.hasCauses && len(asArray(causes)) == 0 {
				t.Errorf("%s, %s: body.errorCauses empty, want the failed validations", tc.e, tc.name)
			}
		}
	})

	t.Run("rateLimited", func(t *testing.T) {
		e := spec.listUsers
		limited, limitedBase := oktasimtest.Start(t, oktasim.Config{Users: 3, Seed: 23, RateLimit: 1})
		for _, tc := range []struct {
			name   string
			fresh  bool // in a new window
			faults oktasim.Faults
			status int
		}{
			{"the window's last request", true, oktasim.Faults{}, http.StatusOK},
			{"window spent", false, oktasim.Faults{}, http.StatusTooManyRequests},
			{"429 storm", true, oktasim.Faults{RateLimitRate: 1}, http.StatusTooManyRequests},
		} {
			if tc.fresh {
				limited.ResetRateLimits()
			}
			limited.SetFaults(tc.faults)
			resp, raw := do(t, http.MethodGet, limitedBase+"/api/v1/users", ssws, nil)
			body := e.check(t, resp, raw, tc.status)
			if rem := resp.Header.Get("X-Rate-Limit-Remaining"); rem != "0" {
				t.Errorf("%s, %s: header X-Rate-Limit-Remaining %q, want 0", e, tc.name, rem)
			}
			if code, _ := field(body, "errorCode"); tc.status == http.StatusTooManyRequests && code != "E0000047" {
				t.Errorf("%s, %s: body.errorCode %v, want E0000047", e, tc.name, code)
			}
		}
	})
}

// TestConformChecksWhatItClaims: conform finds each kind of departure from
// a schema and names the field.
func TestConformChecksWhatItClaims(t *testing.T) {
	schema := object(optional, map[string]prop{
		"id":      str(read),
		"name":    str(required),
		"when":    dateTime(true),
		"status":  {kind: jsonString, enum: []string{"ACTIVE", "INACTIVE"}},
		"short":   {kind: jsonString, minLen: 1, maxLen: 3},
		"email":   {kind: jsonString, email: true},
		"code":    {kind: jsonString, pattern: `E[0-9]{7}`},
		"n":       {kind: jsonInteger},
		"flag":    {kind: jsonBoolean},
		"secret":  str(writeOnly),
		"list":    arrayOf(optional, str(optional)),
		"free":    {kind: jsonObject, open: true},
		"profile": {kind: jsonObject, open: true, props: map[string]prop{"title": nullableStr(0)}},
	})
	for _, tc := range []struct {
		name, body, want string
	}{
		{"conforming", `{"id": "a", "name": "b", "when": "2024-01-02T03:04:05.000Z", "status": "ACTIVE", "short": "abc",
			"email": "a.b@example.com", "code": "E0000001", "n": 3, "flag": true, "list": ["x"], "free": {"any": 1},
			"profile": {"title": null, "custom": [1]}}`, ""},
		{"read field missing", `{"name": "b"}`, "body.id: missing, but the product reads it"},
		{"required field missing", `{"id": "a"}`, "body.name: missing, but the spec requires it"},
		{"wrong type", `{"id": 1, "name": "b"}`, "body.id: a number, want a string"},
		{"null not allowed", `{"id": null, "name": "b"}`, "body.id: null"},
		{"date-time without milliseconds", `{"id": "a", "name": "b", "when": "2024-01-02T03:04:05Z"}`, "body.when: \"2024-01-02T03:04:05Z\" is not a date-time"},
		{"date-time not in UTC", `{"id": "a", "name": "b", "when": "2024-01-02T03:04:05.000+01:00"}`, "body.when"},
		{"undocumented value", `{"id": "a", "name": "b", "status": "active"}`, `body.status: "active" is not one of the documented values`},
		{"too long", `{"id": "a", "name": "b", "short": "abcd"}`, "body.short: 4 characters"},
		{"not an email", `{"id": "a", "name": "b", "email": "nobody"}`, "body.email"},
		{"not an Okta code", `{"id": "a", "name": "b", "code": "404"}`, "body.code"},
		{"not an integer", `{"id": "a", "name": "b", "n": 1.5}`, "body.n: 1.5 is not an integer"},
		{"not a boolean", `{"id": "a", "name": "b", "flag": "true"}`, "body.flag: a string, want a boolean"},
		{"write-only returned", `{"id": "a", "name": "b", "secret": "s"}`, "body.secret: present, but the spec makes it write-only"},
		{"undeclared field", `{"id": "a", "name": "b", "extra": 1}`, "body.extra: not a property the spec declares"},
		{"bad array element", `{"id": "a", "name": "b", "list": ["x", 2]}`, "body.list[1]: a number"},
		{"declared field of an open object", `{"id": "a", "name": "b", "profile": {"title": 7}}`, "body.profile.title: a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(conform("body", v, schema), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("conform: %q, want %q", got, tc.want)
			}
		})
	}
}
