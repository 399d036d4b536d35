package main

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/oktasync/oktasync/extractor/okta"
)

// fileEnv completes a valid configuration, so that the problems of a test
// file are the only problems of its run.
var fileEnv = map[string]string{
	"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "file-test-token-0123",
	"OKTASYNC_HOOK_SECRETS": "file-test-hook-secret-0123456789",
}

// loadFile loads body as the --config file c.yaml of sync (serve: of
// serve) and returns the config and each problem of the refusal.
func loadFile(t *testing.T, body string, serve bool) (config, []string) {
	t.Helper()
	fl := newSyncFlags(&bytes.Buffer{})
	if serve {
		fl = newServeFlags(&bytes.Buffer{})
	}
	if err := fl.fs.Parse([]string{"--config", "c.yaml"}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(fl, envOf(fileEnv), func(name string) ([]byte, error) {
		if name == "c.yaml" {
			return []byte(body), nil
		}
		return nil, os.ErrNotExist
	})
	return c, problems(err)
}

// problems lists the problems joined in err, one per line, as configError
// prints them.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimPrefix(configError(err), "invalid configuration:\n"), "\n") {
		out = append(out, strings.TrimPrefix(line, "  - "))
	}
	return out
}

// TestConfigFileProblemMessages: each mistake in the file is reported by its
// YAML path and line, with what is expected or the nearest valid key; each
// table entry is the complete refusal of its file.
func TestConfigFileProblemMessages(t *testing.T) {
	const oktaKeys = "org_url, client_id, key_id, scopes, page_size, request_timeout, max_retries, retry_backoff, " +
		"rate_limit_reserve, max_rate_limit_waits, max_rate_limit_wait, scope"
	cases := []struct {
		name, body string
		want       []string
	}{
		// Misspelt keys and sections.
		{"misspelt_key", "okta:\n  page_sise: 100\n",
			[]string{"--config c.yaml:2: okta.page_sise: unknown key; did you mean page_size?"}},
		{"misspelt_key_no_underscore", "sync:\n  batchsize: 500\n",
			[]string{"--config c.yaml:2: sync.batchsize: unknown key; did you mean batch_size?"}},
		{"swapped_letters", "okta:\n  org_ulr: https://acme.okta.com\n",
			[]string{"--config c.yaml:2: okta.org_ulr: unknown key; did you mean org_url?"}},
		{"wrong_case_and_dash", "okta:\n  Page-Size: 100\n",
			[]string{"--config c.yaml:2: okta.Page-Size: unknown key; did you mean page_size?"}},
		{"misspelt_section", "nee4j:\n  uri: bolt://x:7687\n",
			[]string{"--config c.yaml:1: nee4j: unknown section; did you mean neo4j?"}},
		{"misspelt_top_level_key", "pushgatway: http://pg:9091\n",
			[]string{"--config c.yaml:1: pushgatway: unknown key; did you mean pushgateway?"}},
		{"misspelt_nested_key", "serve:\n  hook_worker:\n    queu: 5\n  schedule:\n    ful: off\nmapping:\n  manager:\n    sorce: attribute\n",
			[]string{
				"--config c.yaml:3: serve.hook_worker.queu: unknown key; did you mean queue?",
				"--config c.yaml:5: serve.schedule.ful: unknown key; did you mean full?",
				"--config c.yaml:8: mapping.manager.sorce: unknown key; did you mean source?",
			}},
		{"misspelt_inline_key", "serve:\n  hook_max_bdy: 4096\n",
			[]string{"--config c.yaml:2: serve.hook_max_bdy: unknown key; did you mean hook_max_body?"}},
		{"part_of_a_key", "okta:\n  retries: 3\n",
			[]string{"--config c.yaml:2: okta.retries: unknown key; did you mean max_retries?"}},
		{"key_in_the_wrong_section", "okta:\n  batch_size: 500\n",
			[]string{"--config c.yaml:2: okta.batch_size: unknown key; did you mean sync.batch_size?"}},
		{"top_level_key_of_a_section", "page_size: 100\n",
			[]string{"--config c.yaml:1: page_size: unknown key; did you mean okta.page_size?"}},
		{"path_as_a_key", "okta.page_size: 100\nserve:\n  hook_worker.queue: 5\n",
			[]string{
				`--config c.yaml:1: "okta.page_size": unknown key; sections nest: write okta: and, indented under it, page_size:`,
				`--config c.yaml:3: serve."hook_worker.queue": unknown key; sections nest: write hook_worker: and, indented under it, queue:`,
			}},
		{"no_close_match", "okta:\n  frobnicate: 1\n",
			[]string{"--config c.yaml:2: okta.frobnicate: unknown key; okta takes " + oktaKeys}},
		{"no_close_match_top_level", "frobnicate:\n  x: 1\n",
			[]string{"--config c.yaml:1: frobnicate: unknown section; the file takes okta, mapping, neo4j, search, sync, csv_dir, log, serve, pushgateway"}},
		{"not_settable_from_the_file", "neo4j:\n  dry_run: true\nserve:\n  dedupsize: 10\n",
			[]string{
				"--config c.yaml:2: neo4j.dry_run: unknown key; neo4j takes uri, username, database, published_tag, run_metadata, connect_timeout, max_transaction_retry_time, transaction_timeout",
				"--config c.yaml:4: serve.dedupsize: unknown key; serve takes listen, hook_path, hook_auth_header, hook_max_body, hook_worker, schedule, shutdown_timeout, ready_cache_ttl",
			}},
		{"environment_only", "search:\n  username: elastic\n",
			[]string{"--config c.yaml:2: search.username: read from OKTASYNC_SEARCH_USERNAME only, not from the file"}},
		{"secret", "okta:\n  token: file-secret-canary\n",
			[]string{"--config c.yaml:2: okta.token: secrets are never read from the file; set OKTA_API_TOKEN"}},
		{"secret_through_an_alias", "log: &l\n  password: file-secret-canary\nneo4j: *l\n",
			[]string{
				"--config c.yaml:2: log.password: unknown key; log takes level, format",
				"--config c.yaml:2: neo4j.password: secrets are never read from the file; set NEO4J_PASSWORD",
			}},
		{"set_twice", "okta:\n  page_size: 5\n  page_size: 6\n",
			[]string{"--config c.yaml:3: okta.page_size: set twice, first on line 2"}},

		// Wrong types, one of each kind.
		{"duration_bare_number", "okta:\n  request_timeout: 30\n",
			[]string{"--config c.yaml:2: okta.request_timeout: expected a duration such as 30s or 1m30s, got 30; a number needs a unit: 30s for seconds"}},
		{"duration_in_days", "sync:\n  incremental_overlap: 1d\n",
			[]string{`--config c.yaml:2: sync.incremental_overlap: expected a duration such as 30s or 1m30s, got "1d"; the largest unit is h: 24h for 1d`}},
		{"duration_in_words", "neo4j:\n  connect_timeout: ten seconds\n",
			[]string{`--config c.yaml:2: neo4j.connect_timeout: expected a duration such as 30s or 1m30s, got "ten seconds"; units are ms, s, m and h`}},
		{"nested_duration", "serve:\n  hook_worker:\n    coalesce: 300\n",
			[]string{"--config c.yaml:3: serve.hook_worker.coalesce: expected a duration such as 30s or 1m30s, got 300; a number needs a unit: 300s for seconds"}},
		{"int_word", "okta:\n  page_size: lots\n",
			[]string{`--config c.yaml:2: okta.page_size: expected a whole number, got "lots"`}},
		{"int_fraction", "okta:\n  page_size: 2.5\n",
			[]string{"--config c.yaml:2: okta.page_size: expected a whole number, got 2.5"}},
		{"int64_with_unit", "serve:\n  hook_max_body: 1MB\n",
			[]string{`--config c.yaml:2: serve.hook_max_body: expected a whole number, got "1MB"`}},
		{"float_percentage", "sync:\n  max_deactivate: 10%\n",
			[]string{`--config c.yaml:2: sync.max_deactivate: expected a number such as 0.1, got "10%"; a share, not a percentage: 0.1 for 10%`}},
		{"float_list", "okta:\n  rate_limit_reserve: [0.1]\n",
			[]string{"--config c.yaml:2: okta.rate_limit_reserve: expected a number such as 0.1, got a list"}},
		{"bool", "search:\n  take_over: maybe\n",
			[]string{`--config c.yaml:2: search.take_over: expected true or false, got "maybe"`}},
		{"list_scalar", "okta:\n  scopes: okta.users.read\n",
			[]string{`--config c.yaml:2: okta.scopes: expected a list of strings such as [a, b], got "okta.users.read"`}},
		{"list_item", "okta:\n  scopes: [okta.users.read, {a: b}]\n",
			[]string{"--config c.yaml:2: okta.scopes[1]: expected a string, got a mapping"}},
		{"map_scalar", "mapping:\n  status: active\n",
			[]string{`--config c.yaml:2: mapping.status: expected name: value lines, each value a string, got "active"`}},
		{"map_value", "mapping:\n  status:\n    ACTIVE: [active]\n",
			[]string{"--config c.yaml:3: mapping.status.ACTIVE: expected a string, got a list"}},
		{"string_mapping", "neo4j:\n  uri: {host: x}\n",
			[]string{"--config c.yaml:2: neo4j.uri: expected a string, got a mapping"}},
		{"section_scalar", "okta: 5\n",
			[]string{"--config c.yaml:1: okta: expected a section of key: value lines, got 5"}},
		{"nested_section_scalar", "serve:\n  schedule: daily\n",
			[]string{`--config c.yaml:2: serve.schedule: expected a section of key: value lines, got "daily"`}},
		{"file_a_list", "- okta\n- neo4j\n",
			[]string{"--config c.yaml:1: expected sections such as okta: and neo4j:, got a list"}},
		{"odd_key", "okta:\n  \"page size\\n\": 5\n",
			[]string{`--config c.yaml:2: okta."page size\n": unknown key; did you mean page_size?`}},
		{"empty_key", "okta:\n  ~: 5\nmapping:\n  status:\n    ~: active\n",
			[]string{
				"--config c.yaml:2: okta: a key is empty; write its name before the colon",
				"--config c.yaml:5: mapping.status: a key is empty; write its name before the colon",
			}},
		{"merge_of_a_scalar", "sync:\n  <<: 5\n",
			[]string{"--config c.yaml:2: sync.\"<<\": merges a mapping or a list of mappings, got 5"}},

		// The checks of the whole config run beside the file's problems.
		{"decode_and_validate", "okta:\n  request_timeout: 30\n  max_retries: -1\nlog:\n  level: verbose\nmapping:\n  key: upn\n",
			[]string{
				"--config c.yaml:2: okta.request_timeout: expected a duration such as 30s or 1m30s, got 30; a number needs a unit: 30s for seconds",
				"okta.max_retries: must be between 0 and 20, got -1",
				`mapping.key: must be "email" or "login", got "upn"`,
				`log.level: must be debug, info, warn or error, got "verbose"`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, got := loadFile(t, c.body, false)
			if !slices.Equal(got, c.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestConfigFileFiveMistakesFiveMessages: five mistakes of five kinds (a
// misspelt key, a misspelt section, a duration without a unit, a
// percentage for a share, a value out of range) give five messages in one
// run, each naming its YAML path, and exit 2.
func TestConfigFileFiveMistakesFiveMessages(t *testing.T) {
	body := "okta:\n  page_sise: 100\n  request_timeout: 30\n  max_retries: -1\nsync:\n  max_deactivate: 10%\nnee4j:\n  uri: bolt://x:7687\n"
	_, got := loadFile(t, body, false)
	want := []string{
		"--config c.yaml:2: okta.page_sise: unknown key; did you mean page_size?",
		"--config c.yaml:3: okta.request_timeout: expected a duration such as 30s or 1m30s, got 30; a number needs a unit: 30s for seconds",
		`--config c.yaml:6: sync.max_deactivate: expected a number such as 0.1, got "10%"; a share, not a percentage: 0.1 for 10%`,
		"--config c.yaml:7: nee4j: unknown section; did you mean neo4j?",
		"okta.max_retries: must be between 0 and 20, got -1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	code, _, stderr := runCmd(t, refusalEnv, "sync", "--config", configFile(t, body))
	if code != exitConfig || strings.Count(stderr, "invalid configuration") != 1 || strings.Count(stderr, "\n  - ") != 5 {
		t.Errorf("exit %d, want %d, with one message of five problems:\n%s", code, exitConfig, stderr)
	}
	for _, path := range []string{"okta.page_sise", "okta.request_timeout", "sync.max_deactivate", "nee4j", "okta.max_retries"} {
		if !strings.Contains(stderr, path+": ") {
			t.Errorf("%s is not named:\n%s", path, stderr)
		}
	}
}

// TestConfigFileReads: what the walker keeps from yaml.v3's strict decode:
// the file is read over the defaults, an explicit zero stays zero, a null
// keeps the default, lists are replaced and maps merged, inline and nested
// sections, aliases and merge keys (the mapping's own keys win), an empty
// file.
func TestConfigFileReads(t *testing.T) {
	cases := []struct {
		name, body string
		check      func(c config) bool
	}{
		{"empty", "", func(c config) bool { return reflect.DeepEqual(c.Sync, defaultConfig().Sync) }},
		{"comments_only", "# nothing\n", func(c config) bool { return c.Okta.PageSize == 200 }},
		{"leading_marker", "---\nsync:\n  batch_size: 10\n", func(c config) bool { return c.Sync.BatchSize == 10 }},
		{"explicit_zeros", "okta:\n  max_retries: 0\n  rate_limit_reserve: 0\nsync:\n  incremental_overlap: 0s\nserve:\n  hook_worker:\n    coalesce: 0s\n",
			func(c config) bool {
				return c.Okta.MaxRetries == 0 && c.Okta.RateLimitReserve == 0 && c.Sync.Overlap == 0 && c.Serve.HookWorker.Coalesce == 0
			}},
		{"null_keeps_the_default", "okta:\n  page_size:\n  request_timeout: ~\n", func(c config) bool {
			return c.Okta.PageSize == 200 && c.Okta.RequestTimeout == 30*time.Second
		}},
		{"over_the_defaults", "okta:\n  page_size: 50\n", func(c config) bool {
			return c.Okta.PageSize == 50 && c.Okta.MaxRetries == 4 && c.Neo4j.URI == "bolt://127.0.0.1:7687"
		}},
		{"every_kind", "okta:\n  scopes: [a.read, b.read]\n  retry_backoff: 2s\nsync:\n  max_stub_merges: 0.25\nsearch:\n  keep_inactive: true\n" +
			"csv_dir: /tmp/out\npushgateway: http://pg:9091\nserve:\n  hook_max_body: 2048\n",
			func(c config) bool {
				return slices.Equal(c.Okta.Scopes, []string{"a.read", "b.read"}) && c.Okta.RetryBackoff == 2*time.Second &&
					c.Sync.MaxStubMerges == 0.25 && c.Search.KeepInactive && c.CSVDir == "/tmp/out" &&
					c.Pushgateway == "http://pg:9091" && c.Serve.Hook.MaxBody == 2048
			}},
		{"inline_and_nested", "serve:\n  hook_auth_header: X-Okta-Secret\n  hook_worker:\n    queue: 5\n  schedule:\n    full: \"0 3 * * *\"\n" +
			"mapping:\n  manager:\n    source: attribute\n    attribute: managerEmail\n",
			func(c config) bool {
				return c.Serve.Hook.AuthHeader == "X-Okta-Secret" && c.Serve.HookWorker.Queue == 5 && c.Serve.HookWorker.MaxBatch == 500 &&
					c.Serve.Schedule.Full == "0 3 * * *" && c.Serve.Schedule.Incremental == "@every 15m" &&
					c.Okta.Mapping.Manager == okta.ManagerMapping{Source: "attribute", Attribute: "managerEmail"}
			}},
		{"map_merged_over_the_defaults", "mapping:\n  status:\n    STAGED: active\n  extra_attributes:\n    cost_center: costCenter\n",
			func(c config) bool {
				return c.Okta.Mapping.Status["STAGED"] == "active" && c.Okta.Mapping.Status["ACTIVE"] == "active" &&
					c.Okta.Mapping.ExtraAttributes["cost_center"] == "costCenter"
			}},
		{"alias", "okta: &o\n  page_size: 5\nsync:\n  batch_size: &n 7\n  writers: 3\nsearch:\n  bulk_size: *n\n", func(c config) bool {
			return c.Okta.PageSize == 5 && c.Sync.BatchSize == 7 && c.Search.BulkSize == 7
		}},
		{"merge_keys", "sync:\n  <<: [{batch_size: 7, writers: 3}, {writers: 5, prefetch: 2}]\n  writers: 4\n", func(c config) bool {
			return c.Sync.BatchSize == 7 && c.Sync.Writers == 4 && c.Sync.Prefetch == 2
		}},
		{"merge_of_itself", "sync: &s\n  <<: *s\n  writers: 4\n", func(c config) bool { return c.Sync.Writers == 4 }},
		{"example", mustRead(t, "../../config.example.yaml"), func(c config) bool {
			return c.Okta.Mapping.ExtraAttributes["cost_center"] == "costCenter" && c.Serve.HookWorker.Coalesce == 300*time.Millisecond
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, problems := loadFile(t, c.body, false)
			if len(problems) > 0 {
				t.Fatalf("refused:\n%s", strings.Join(problems, "\n"))
			}
			if !c.check(got) {
				t.Errorf("not read as written: %+v", got)
			}
			// The strict yaml.v3 decode the walker replaced reads it alike.
			if err := sameAsStrictDecode([]byte(c.body)); err != nil {
				t.Error(err)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// strictDecode is the decode the walker replaced: yaml.v3 with unknown
// fields refused, over c, one document only. The tests hold the walker to its meaning.
func strictDecode(data []byte, c *config) error {
	f := fileConfig{Okta: &c.Okta, Mapping: &c.Okta.Mapping, Neo4j: &c.Neo4j, Search: &c.Search, Sync: &c.Sync, CSVDir: &c.CSVDir,
		Log: &c.Log, Serve: &c.Serve, Pushgateway: &c.Pushgateway}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one document")
	}
	return nil
}

// sameAsStrictDecode reports whether decodeFile and strictDecode read data
// over the defaults alike, when strictDecode accepts it.
func sameAsStrictDecode(data []byte) error {
	want := defaultConfig()
	if err := strictDecode(data, &want); err != nil {
		return nil
	}
	got := defaultConfig()
	if problems, err := decodeFile("c.yaml", data, &got); err != nil || len(problems) > 0 {
		return fmt.Errorf("yaml.v3 reads it, decodeFile refuses it: %v %v", err, problems)
	}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) { // not DeepEqual: NaN is a value here
		return fmt.Errorf("read unlike yaml.v3:\n got %+v\nwant %+v", got, want)
	}
	return nil
}

// TestConfigFileSchema: every field the file can reach has a type the
// walker reads itself (no yaml.Unmarshaler or TextUnmarshaler it would
// bypass) and says in words what it expects.
func TestConfigFileSchema(t *testing.T) {
	unmarshaler := reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	var walk func(t reflect.Type, path string)
	seen := 0
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if reflect.PointerTo(typ).Implements(unmarshaler) || reflect.PointerTo(typ).Implements(textUnmarshaler) {
			t.Errorf("%s: %s unmarshals itself; the walker would not call it", path, typ)
		}
		switch typ.Kind() {
		case reflect.Struct:
			fs := fileFields(typ)
			for _, k := range sortedKeys(fs) {
				walk(typ.FieldByIndex(fs[k].index).Type, joinPath(path, k))
			}
			return
		case reflect.Slice, reflect.Map:
			if typ.Kind() == reflect.Map && typ.Key().Kind() != reflect.String {
				t.Errorf("%s: map keys of %s", path, typ.Key())
			}
			walk(typ.Elem(), path+"[]")
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		default:
			t.Errorf("%s: %s is a type the walker was not tested with", path, typ)
		}
		if e := expect(typ); strings.HasPrefix(e, "a "+typ.Kind().String()) && typ.Kind() != reflect.String {
			t.Errorf("%s: no words for %s: %q", path, typ, e)
		}
		seen++
	}
	walk(reflect.TypeFor[fileConfig](), "")
	if seen < 60 {
		t.Errorf("walked %d leaves; the schema is larger", seen)
	}
}

// TestNearestKey: the suggestion for a misspelt key.
func TestNearestKey(t *testing.T) {
	keys := []string{"org_url", "page_size", "request_timeout", "max_retries", "max_rate_limit_waits", "max_rate_limit_wait", "scopes"}
	cases := []struct {
		key  string
		want []string
	}{
		{"page_sise", []string{"page_size"}},
		{"pagesize", []string{"page_size"}},
		{"org_ulr", []string{"org_url"}},
		{"scope", []string{"scopes"}},
		{"max_rate_limit_wiat", []string{"max_rate_limit_wait"}},
		{"max_rate_limit_waitss", []string{"max_rate_limit_waits"}},
		{"timeout", []string{"request_timeout"}},
		{"retries", []string{"max_retries"}},
		{"url", nil},
		{"frobnicate", nil},
		{"", nil},
		{strings.Repeat("page_size", 10), nil},
	}
	for _, c := range cases {
		if got := nearest(c.key, keys); !slices.Equal(got, c.want) {
			t.Errorf("nearest(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}

// TestEditDistance: the optimal string alignment distance.
func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0},
		{"page_sise", "page_size", 1}, {"batchsize", "batch_size", 1}, {"org_ulr", "org_url", 1},
		{"ca", "abc", 3}, {"kitten", "sitting", 3}, {"nee4j", "neo4j", 1}, {"über", "uber", 1},
	}
	for _, c := range cases {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := editDistance(c.b, c.a); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}
