package oktasim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// queryMode selects the dialect of a user query expression.
type queryMode int

const (
	// modeFilter is the `filter` parameter: a fixed set of attributes,
	// only eq (plus gt/ge/lt/le on lastUpdated), case-sensitive values.
	modeFilter queryMode = iota
	// modeSearch is the `search` parameter: any profile attribute and the
	// top-level timestamps, eq/sw/co/gt/ge/lt/le/pr, case-insensitive
	// string values.
	modeSearch
)

// errBadQuery wraps every parse error; the API maps it to E0000031.
var errBadQuery = errors.New("invalid search criteria")

// record is what a query expression is matched against: a user or a
// group. field returns an attribute's value (a *time.Time for timestamps,
// nil when unset) and whether the record has it.
type record interface {
	field(attr string) (any, bool)
}

// schema is what one resource's queries may name: its attributes, the
// operators each allows, and which attributes hold timestamps.
type schema struct {
	validAttr func(mode queryMode, attr string) bool
	validOp   func(mode queryMode, attr, op string) bool
	timeAttr  func(attr string) bool
}

// userSchema is the Users API's.
func userSchema() schema { return schema{validAttr: validAttr, validOp: validOp, timeAttr: timeAttr} }

// expr is a parsed query expression.
type expr interface {
	match(r record) bool
}

type andExpr struct{ l, r expr }
type orExpr struct{ l, r expr }

func (e andExpr) match(r record) bool { return e.l.match(r) && e.r.match(r) }
func (e orExpr) match(r record) bool  { return e.l.match(r) || e.r.match(r) }

// literal is a comparison value.
type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
	t    time.Time // set when kind == litString and the string is a timestamp
	isT  bool
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
)

// cmpExpr is `attr op value` or `attr pr`.
type cmpExpr struct {
	attr       string
	op         string // lower case
	val        literal
	ignoreCase bool
	time       bool // the attribute holds a timestamp
}

// Top-level user attributes that hold timestamps.
func timeAttr(attr string) bool {
	switch attr {
	case "created", "activated", "statusChanged", "lastUpdated", "lastLogin", "passwordChanged":
		return true
	}
	return false
}

// parseQuery parses a filter or search expression of the Users API.
func parseQuery(mode queryMode, src string) (expr, error) { return userSchema().parse(mode, src) }

// parse parses a filter or search expression over sc's attributes.
func (sc schema) parse(mode queryMode, src string) (expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, mode: mode, sc: sc}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q at offset %d", errBadQuery, p.toks[p.pos].text, p.toks[p.pos].off)
	}
	return e, nil
}

type tokKind int

const (
	tokWord tokKind = iota // attribute, operator, keyword, number, true/false
	tokString
	tokLParen
	tokRParen
)

type token struct {
	kind tokKind
	text string // for tokString: the unescaped value
	off  int
}

func lex(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case r == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case r == '"':
			start := i
			var sb strings.Builder
			i++
			closed := false
			for i < len(src) {
				c := src[i]
				if c == '\\' && i+1 < len(src) {
					sb.WriteByte(src[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				sb.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated string at offset %d", errBadQuery, start)
			}
			toks = append(toks, token{tokString, sb.String(), start})
		default:
			start := i
			for i < len(src) {
				r, w := utf8.DecodeRuneInString(src[i:])
				if unicode.IsSpace(r) || r == '(' || r == ')' || r == '"' {
					break
				}
				i += w
			}
			toks = append(toks, token{tokWord, src[start:i], start})
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty expression", errBadQuery)
	}
	return toks, nil
}

type parser struct {
	toks []token
	pos  int
	mode queryMode
	sc   schema
}

func (p *parser) peekKeyword(kw string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tokWord && strings.EqualFold(p.toks[p.pos].text, kw)
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peekKeyword("or") {
		p.pos++
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.peekKeyword("and") {
		p.pos++
		r, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) parsePrimary() (expr, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected end of expression", errBadQuery)
	}
	t := p.toks[p.pos]
	switch t.kind {
	case tokLParen:
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokRParen {
			return nil, fmt.Errorf("%w: missing ')' for '(' at offset %d", errBadQuery, t.off)
		}
		p.pos++
		return e, nil
	case tokWord:
		return p.parseComparison()
	}
	return nil, fmt.Errorf("%w: unexpected %q at offset %d", errBadQuery, t.text, t.off)
}

func (p *parser) parseComparison() (expr, error) {
	at := p.toks[p.pos]
	p.pos++
	if strings.EqualFold(at.text, "not") {
		return nil, fmt.Errorf("%w: the not operator is not supported", errBadQuery)
	}
	if !p.sc.validAttr(p.mode, at.text) {
		return nil, fmt.Errorf("%w: unsupported attribute %q", errBadQuery, at.text)
	}
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != tokWord {
		return nil, fmt.Errorf("%w: missing operator after %q", errBadQuery, at.text)
	}
	opTok := p.toks[p.pos]
	p.pos++
	op := strings.ToLower(opTok.text)
	if !p.sc.validOp(p.mode, at.text, op) {
		return nil, fmt.Errorf("%w: operator %q is not supported for %q", errBadQuery, opTok.text, at.text)
	}
	c := cmpExpr{attr: at.text, op: op, ignoreCase: p.mode == modeSearch, time: p.sc.timeAttr(at.text)}
	if op == "pr" {
		return c, nil
	}
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("%w: missing value after %q", errBadQuery, opTok.text)
	}
	vt := p.toks[p.pos]
	p.pos++
	switch {
	case vt.kind == tokString:
		c.val = literal{kind: litString, s: vt.text}
	case vt.kind == tokWord && p.mode == modeSearch && (strings.EqualFold(vt.text, "true") || strings.EqualFold(vt.text, "false")):
		c.val = literal{kind: litBool, b: strings.EqualFold(vt.text, "true")}
	case vt.kind == tokWord && p.mode == modeSearch:
		n, err := strconv.ParseFloat(vt.text, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid value %q", errBadQuery, vt.text)
		}
		c.val = literal{kind: litNumber, n: n}
	default:
		return nil, fmt.Errorf("%w: expected a quoted value after %q, got %q", errBadQuery, opTok.text, vt.text)
	}
	if c.time {
		if c.val.kind != litString {
			return nil, fmt.Errorf("%w: %s needs a quoted timestamp", errBadQuery, c.attr)
		}
		t, err := parseQueryTime(c.val.s)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid timestamp %q for %s", errBadQuery, c.val.s, c.attr)
		}
		c.val.t, c.val.isT = t, true
	}
	if (op == "sw" || op == "co") && c.val.kind != litString {
		return nil, fmt.Errorf("%w: %s needs a quoted string", errBadQuery, op)
	}
	return c, nil
}

// parseQueryTime accepts Okta's "2006-01-02T15:04:05.000Z" and other
// RFC 3339 forms.
func parseQueryTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func validAttr(mode queryMode, attr string) bool {
	switch attr {
	case "status", "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName", "profile.lastName":
		return true
	}
	if mode == modeFilter {
		return false
	}
	switch attr {
	case "created", "activated", "statusChanged", "lastLogin", "passwordChanged", "type.id":
		return true
	}
	name, ok := strings.CutPrefix(attr, "profile.")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func validOp(mode queryMode, attr, op string) bool {
	if mode == modeFilter {
		switch op {
		case "eq":
			return true
		case "gt", "ge", "lt", "le":
			return attr == "lastUpdated"
		}
		return false
	}
	switch op {
	case "eq", "sw", "gt", "ge", "lt", "le", "pr":
		return true
	case "co":
		switch attr {
		case "profile.firstName", "profile.lastName", "profile.email", "profile.login":
			return true
		}
	}
	return false
}

func (c cmpExpr) match(r record) bool {
	v, present := r.field(c.attr)
	if c.time {
		t, _ := v.(*time.Time)
		if c.op == "pr" {
			return t != nil
		}
		return t != nil && cmpOK(c.op, t.Compare(c.val.t))
	}
	if c.op == "pr" {
		return present && v != nil && v != ""
	}
	if arr, ok := v.([]any); ok { // SCIM array semantics: any element
		for _, e := range arr {
			if c.matchValue(e) {
				return true
			}
		}
		return false
	}
	return c.matchValue(v)
}

func (c cmpExpr) matchValue(v any) bool {
	switch c.val.kind {
	case litString:
		s, ok := v.(string)
		if !ok {
			return false
		}
		want := c.val.s
		if c.ignoreCase {
			s, want = strings.ToLower(s), strings.ToLower(want)
		}
		switch c.op {
		case "sw":
			return strings.HasPrefix(s, want)
		case "co":
			return strings.Contains(s, want)
		}
		return cmpOK(c.op, strings.Compare(s, want))
	case litNumber:
		n, ok := toFloat(v)
		if !ok {
			return false
		}
		switch {
		case n < c.val.n:
			return cmpOK(c.op, -1)
		case n > c.val.n:
			return cmpOK(c.op, 1)
		}
		return cmpOK(c.op, 0)
	case litBool:
		b, ok := v.(bool)
		return ok && c.op == "eq" && b == c.val.b
	}
	return false
}

func cmpOK(op string, cmp int) bool {
	switch op {
	case "eq":
		return cmp == 0
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// field is a user's attribute for queries (record).
func (u *user) field(attr string) (any, bool) {
	if timeAttr(attr) {
		return userTime(u, attr), true
	}
	switch attr {
	case "id":
		return u.id, true
	case "status":
		return u.status, true
	case "type.id":
		return u.typeID, true
	}
	v, ok := u.profile[strings.TrimPrefix(attr, "profile.")]
	return v, ok
}

func userTime(u *user, attr string) *time.Time {
	switch attr {
	case "created":
		return &u.created
	case "lastUpdated":
		return &u.lastUpdated
	case "activated":
		return u.activated
	case "statusChanged":
		return u.statusChanged
	case "lastLogin":
		return u.lastLogin
	case "passwordChanged":
		return u.passwordChanged
	}
	return nil
}
