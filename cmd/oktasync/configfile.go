package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decodeFile reads the YAML file over c. A file that is not YAML, or holds
// several documents, is err: nothing of it is read. Otherwise each key is
// decoded on its own, against the config structs by their yaml tags, and
// every key that cannot be set is one of problems, named by its YAML path
// (okta.page_size) and its line, saying what it expects; the other keys are
// set, so that the checks of the whole config still run beside them.
// Unknown keys get the nearest valid key as a suggestion; secrets are
// refused, naming the variable that carries each, and never repeated.
func decodeFile(name string, data []byte, c *config) (problems []error, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file
		}
		return nil, fmt.Errorf("--config %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("--config %s: holds more than one YAML document (---); put everything in one", name)
	}
	f := fileConfig{Okta: &c.Okta, Mapping: &c.Okta.Mapping, Neo4j: &c.Neo4j, Search: &c.Search, Sync: &c.Sync, CSVDir: &c.CSVDir,
		Log: &c.Log, Serve: &c.Serve, Pushgateway: &c.Pushgateway}
	d := fileDecoder{name: name, everywhere: keyPaths(reflect.TypeFor[fileConfig]())}
	if len(doc.Content) > 0 {
		d.decode(doc.Content[0], reflect.ValueOf(&f).Elem(), "")
	}
	return d.problems, nil
}

// fileDecoder sets config fields from a yaml.Node tree, one key at a time,
// and collects a problem for each key it cannot set.
type fileDecoder struct {
	name     string
	problems []error
	// everywhere maps each key of the file, at any depth, to its paths:
	// a key in the wrong section is pointed to the right one.
	everywhere map[string][]string
}

// report records a problem at node at: --config FILE:LINE: PATH: msg.
func (d *fileDecoder) report(at *yaml.Node, path, msg string) {
	where := fmt.Sprintf("--config %s:%d: ", d.name, at.Line)
	if path != "" {
		where += path + ": "
	}
	d.problems = append(d.problems, errors.New(where+msg))
}

// decode sets v from node at and reports whether it could. A null leaves v
// as it is, except that it empties a list or a map, as yaml.v3 does; a
// value that cannot be read leaves v as it is too.
func (d *fileDecoder) decode(at *yaml.Node, v reflect.Value, path string) bool {
	n := resolve(at)
	null := n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if null {
			return true
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.decode(at, v.Elem(), path)
	case reflect.Struct:
		if null {
			return true
		}
		if n.Kind != yaml.MappingNode {
			d.wrongType(at, n, path, t)
			return false
		}
		return d.fields(n, v, path)
	case reflect.Slice:
		if null {
			v.Set(reflect.Zero(t))
			return true
		}
		if n.Kind != yaml.SequenceNode {
			d.wrongType(at, n, path, t)
			return false
		}
		out, ok := reflect.MakeSlice(t, 0, len(n.Content)), true
		for i, item := range n.Content {
			if r := resolve(item); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" {
				continue // yaml.v3 drops null items
			}
			e := reflect.New(t.Elem()).Elem()
			if d.decode(item, e, fmt.Sprintf("%s[%d]", path, i)) {
				out = reflect.Append(out, e)
			} else {
				ok = false
			}
		}
		if ok {
			v.Set(out)
		}
		return ok
	case reflect.Map:
		if null {
			v.Set(reflect.Zero(t))
			return true
		}
		if n.Kind != yaml.MappingNode {
			d.wrongType(at, n, path, t)
			return false
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, len(n.Content)/2))
		}
		ok := true
		for _, e := range d.entries(n, path) {
			if !d.plainKey(e.key, path) {
				ok = false
				continue
			}
			p := joinPath(path, e.key.Value)
			k, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if !d.decode(e.key, k, p) || !d.decode(e.value, val, p) {
				ok = false
				continue
			}
			if r := resolve(e.value); r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null" && v.MapIndex(k).IsValid() {
				continue // a null keeps the default, as yaml.v3 does
			}
			v.SetMapIndex(k, val)
		}
		return ok
	}
	// A scalar: yaml.v3 reads it, so that it means what it always meant.
	if null {
		return true
	}
	tmp := reflect.New(t)
	if n.Kind != yaml.ScalarNode || n.Decode(tmp.Interface()) != nil || !wholeEnough(n, t) {
		d.wrongType(at, n, path, t)
		return false
	}
	v.Set(tmp.Elem())
	return true
}

// wholeEnough refuses a fraction for an integer field, which yaml.v3 would
// truncate (page_size: 2.5 is not 2).
func wholeEnough(n *yaml.Node, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.ShortTag() == "!!float" {
			var f float64
			if err := n.Decode(&f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return false
			}
		}
	}
	return true
}

// fields sets the fields of struct v from mapping n.
func (d *fileDecoder) fields(n *yaml.Node, v reflect.Value, path string) bool {
	fs := fileFields(v.Type())
	ok := true
	for _, e := range d.entries(n, path) {
		if !d.plainKey(e.key, path) {
			ok = false
			continue
		}
		p := joinPath(path, e.key.Value)
		f, found := fs[e.key.Value]
		if !found {
			ok = false
			if env := secretEnv(p); env != "" {
				d.report(e.key, p, "secrets are never read from the file; set "+env)
				continue
			}
			if env := envOnly(p); env != "" {
				d.report(e.key, p, "read from "+env+" only, not from the file")
				continue
			}
			d.report(e.key, p, d.unknown(e, path, fs))
			continue
		}
		ok = d.decode(e.value, field(v, f.index), p) && ok
	}
	return ok
}

// plainKey reports whether key k of the mapping at path is a name, and
// reports it if not: a list, a mapping, or nothing at all (yaml.v3 would
// drop the key and its value without a word).
func (d *fileDecoder) plainKey(k *yaml.Node, path string) bool {
	switch {
	case k.Kind != yaml.ScalarNode:
		d.report(k, path, "a key must be a plain name, got "+describe(k))
	case k.ShortTag() == "!!null":
		d.report(k, path, "a key is empty; write its name before the colon")
	default:
		return true
	}
	return false
}

// unknown says what is wrong with key e in the section at path, with the
// nearest valid key if there is one.
func (d *fileDecoder) unknown(e entry, path string, fs map[string]fileField) string {
	what := "unknown key"
	if path == "" && resolve(e.value).Kind == yaml.MappingNode {
		what = "unknown section"
	}
	keys := sortedKeys(fs)
	key := strings.ToLower(e.key.Value)
	// okta.page_size: 5 is a path written as a key.
	if first, rest, dotted := strings.Cut(e.key.Value, "."); dotted {
		last := rest[strings.LastIndex(rest, ".")+1:]
		if slices.Contains(d.everywhere[last], joinPath(path, first)+"."+rest) {
			return what + "; sections nest: write " + first + ": and, indented under it, " + rest + ":"
		}
	}
	if near := nearest(key, keys); len(near) > 0 {
		return what + "; did you mean " + strings.Join(near, " or ") + "?"
	}
	// The right key in the wrong section: okta.batch_size is sync.batch_size.
	if elsewhere := d.everywhere[key]; len(elsewhere) > 0 {
		return what + "; did you mean " + strings.Join(elsewhere, " or ") + "?"
	}
	if path == "" {
		return what + "; the file takes " + strings.Join(keys, ", ")
	}
	return what + "; " + path + " takes " + strings.Join(keys, ", ")
}

// wrongType reports a value that is not what the field at path expects.
func (d *fileDecoder) wrongType(at, n *yaml.Node, path string, t reflect.Type) {
	if path == "" {
		d.report(at, "", "expected sections such as okta: and neo4j:, got "+describe(n))
		return
	}
	msg := "expected " + expect(t) + ", got " + describe(n)
	if h := hint(n, t); h != "" {
		msg += "; " + h
	}
	d.report(at, path, msg)
}

// expect says in words what a field of type t takes.
func expect(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 30s or 1m30s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number such as 0.1"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings such as [a, b]"
		}
		return "a list, each item " + expect(t.Elem())
	case reflect.Map:
		return "name: value lines, each value " + expect(t.Elem())
	case reflect.Struct:
		return "a section of key: value lines"
	case reflect.Pointer:
		return expect(t.Elem())
	}
	return "a " + t.Kind().String()
}

// hint guesses what was meant by a value of the wrong type, if it can.
func hint(n *yaml.Node, t reflect.Type) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	v := strings.TrimSpace(n.Value)
	switch {
	case t == reflect.TypeFor[time.Duration]():
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number needs a unit: " + clip(v) + "s for seconds"
		case "!!str":
			if days, err := strconv.Atoi(strings.TrimSuffix(v, "d")); err == nil && strings.HasSuffix(v, "d") {
				return fmt.Sprintf("the largest unit is h: %dh for %s", days*24, clip(v))
			}
			return "units are ms, s, m and h"
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		if pct, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "%")), 64); err == nil && strings.HasSuffix(v, "%") {
			return fmt.Sprintf("a share, not a percentage: %g for %s", pct/100, clip(v))
		}
	}
	return ""
}

// describe names a node's value for a message: a scalar as written (quoted
// unless plain), clipped; a list or a mapping by its kind.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		v := clip(n.Value)
		if n.ShortTag() == "!!str" || strings.IndexFunc(v, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-:", r))
		}) >= 0 {
			return strconv.Quote(v)
		}
		return v
	}
	return "nothing"
}

// clip shortens s for a message.
func clip(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "…"
}

// joinPath appends key to path, quoting a key that is not a plain name.
func joinPath(path, key string) string {
	if key == "" || strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		key = strconv.Quote(clip(key))
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows an alias to its anchored node.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// entry is one key and its value in a mapping.
type entry struct{ key, value *yaml.Node }

// entries lists mapping n's keys as yaml.v3 reads them: its own, then those
// its merge keys (<<) bring that it does not set itself, the first merged
// mapping winning. A key set twice in one mapping is reported.
func (d *fileDecoder) entries(n *yaml.Node, path string) []entry {
	var out []entry
	seen := map[string]bool{}
	done := map[*yaml.Node]bool{} // each merged mapping once: no cycles, no alias bombs
	var add func(m *yaml.Node, merged bool)
	add = func(m *yaml.Node, merged bool) {
		if done[m] {
			return
		}
		done[m] = true
		var merges []*yaml.Node
		lines := map[string]int{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge") {
				merges = append(merges, v)
				continue
			}
			if k.Kind == yaml.ScalarNode {
				if line, twice := lines[k.Value]; twice {
					if !merged {
						d.report(k, joinPath(path, k.Value), fmt.Sprintf("set twice, first on line %d", line))
					}
					continue
				}
				lines[k.Value] = k.Line
				if seen[k.Value] {
					continue
				}
				seen[k.Value] = true
			}
			out = append(out, entry{k, v})
		}
		for _, v := range merges {
			switch r := resolve(v); r.Kind {
			case yaml.MappingNode:
				add(r, true)
			case yaml.SequenceNode:
				for _, item := range r.Content {
					if ri := resolve(item); ri.Kind == yaml.MappingNode {
						add(ri, true)
					} else {
						d.report(item, joinPath(path, "<<"), "merges mappings only, got "+describe(ri))
					}
				}
			default:
				d.report(v, joinPath(path, "<<"), "merges a mapping or a list of mappings, got "+describe(r))
			}
		}
	}
	add(n, false)
	return out
}

// fileField is a field the file can set: its index from the struct that
// holds it (through inline structs) and its position among the keys.
type fileField struct {
	index []int
	order int
}

// fileFields lists the keys of struct t by yaml.v3's rules: the tag's name,
// else the lower-cased field name; "-" and unexported fields are never read;
// an ",inline" struct's keys are the struct's own.
func fileFields(t reflect.Type) map[string]fileField {
	out := map[string]fileField{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("yaml")
			if !sf.IsExported() || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if strings.Contains(","+opts+",", ",inline,") && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, index)
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			out[name] = fileField{index: index, order: len(out)}
		}
	}
	walk(t, nil)
	return out
}

// field is v's field at index, allocating nil pointers on the way.
func field(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v
}

// sortedKeys lists fs's keys in the order of the struct's fields.
func sortedKeys(fs map[string]fileField) []string {
	keys := make([]string, len(fs))
	for k, f := range fs {
		keys[f.order] = k
	}
	return keys
}

// keyPaths maps every key reachable from struct t to its full paths.
func keyPaths(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		fs := fileFields(t)
		for _, k := range sortedKeys(fs) {
			p := joinPath(path, k)
			out[k] = append(out[k], p)
			walk(t.FieldByIndex(fs[k].index).Type, p)
		}
	}
	walk(t, "")
	return out
}

// nearest returns the keys closest to key (lower-cased): by edit distance
// within a third of the key's length, else the keys it is part of or that
// are part of it (retries: max_retries).
func nearest(key string, keys []string) []string {
	if len(key) > 64 {
		return nil
	}
	var near []string
	best := math.MaxInt
	for _, k := range keys {
		dist := editDistance(key, k)
		if dist > max(1, utf8.RuneCountInString(k)/3) || dist > best {
			continue
		}
		if dist < best {
			best, near = dist, near[:0]
		}
		near = append(near, k)
	}
	if len(near) > 0 || utf8.RuneCountInString(key) < 4 {
		return near
	}
	for _, k := range keys {
		if len(k) >= 4 && (strings.Contains(k, key) || strings.Contains(key, k)) {
			near = append(near, k)
		}
	}
	return near
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of neighbours that turn
// one into the other (org_ulr is one swap from org_url).
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
