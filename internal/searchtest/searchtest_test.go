package searchtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"TestFoo":                 "testfoo",
		"TestFoo/sub_case#01":     "testfoo_sub_case_01",
		"Test Ü-ber, *x?":         "test___ber___x_",
		"":                        "test",
		strings.Repeat("A", 300):  strings.Repeat("a", maxNameLen),
		"TestX/with\"quote<and>|": "testx_with_quote_and__",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// mustDo sends a request and fails the test unless the status is want.
func mustDo(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	status, out, err := do(URL(t), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, truncate(out))
	}
	return out
}

// TestServerModulesIntegration proves the server has what Amundsen's user
// index needs: a pattern tokenizer, kstem and shingle (analysis-common) and a
// rank_features field (mapper-extras); and that an alias works as its
// rebuilds use it.
func TestServerModulesIntegration(t *testing.T) {
	alias := Alias(t)
	if !strings.HasPrefix(alias, AliasPrefix+"testservermodulesintegration_") {
		t.Fatalf("alias %q does not carry the test's name", alias)
	}
	if other := Alias(t); other == alias {
		t.Fatalf("two calls gave the same alias %q", alias)
	}
	index := alias + "_1"
	mustDo(t, http.MethodPut, "/"+index, map[string]any{
		"settings": map[string]any{
			"index": map[string]any{"max_shingle_diff": 10},
			"analysis": map[string]any{
				"tokenizer": map[string]any{"words": map[string]any{"type": "pattern", "pattern": `[\W_]+`}},
				"filter": map[string]any{"shingles": map[string]any{
					"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 3}},
				"analyzer": map[string]any{"people": map[string]any{
					"type": "custom", "tokenizer": "words",
					"filter": []string{"lowercase", "kstem", "shingles"}}},
			},
		},
		"mappings": map[string]any{"properties": map[string]any{
			"name":  map[string]any{"type": "text", "analyzer": "people"},
			"usage": map[string]any{"type": "rank_features"},
		}},
	}, http.StatusOK)

	out := mustDo(t, http.MethodPost, "/"+index+"/_analyze",
		map[string]any{"analyzer": "people", "text": "Ada_Lovelace engineers"}, http.StatusOK)
	var analyzed struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(out, &analyzed); err != nil {
		t.Fatalf("_analyze: %v: %s", err, out)
	}
	var tokens []string
	for _, tok := range analyzed.Tokens {
		tokens = append(tokens, tok.Token)
	}
	for _, want := range []string{"ada", "lovelace", "engineer", "ada lovelace", "lovelace engineer", "ada lovelace engineer"} {
		if !slices.Contains(tokens, want) {
			t.Errorf("_analyze: token %q missing from %q", want, tokens)
		}
	}
	if slices.Contains(tokens, "engineers") {
		t.Errorf("_analyze: kstem did not stem %q", tokens)
	}

	mustDo(t, http.MethodPost, "/_aliases", map[string]any{"actions": []any{
		map[string]any{"add": map[string]any{"index": index, "alias": alias}},
	}}, http.StatusOK)
	for id, doc := range map[string]any{
		"ada@example.com":  map[string]any{"name": "Ada Lovelace", "usage": map[string]any{"total_read": 40}},
		"alan@example.com": map[string]any{"name": "Alan Lovelace", "usage": map[string]any{"total_read": 2}},
	} {
		mustDo(t, http.MethodPut, "/"+index+"/_doc/"+url.PathEscape(id)+"?refresh=true", doc, http.StatusCreated)
	}
	out = mustDo(t, http.MethodPost, "/"+alias+"/_search", map[string]any{
		"query": map[string]any{"bool": map[string]any{
			"must":   map[string]any{"match": map[string]any{"name": "lovelace"}},
			"should": map[string]any{"rank_feature": map[string]any{"field": "usage.total_read"}},
		}},
	}, http.StatusOK)
	var found struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(out, &found); err != nil {
		t.Fatalf("_search: %v: %s", err, out)
	}
	var ids []string
	for _, h := range found.Hits.Hits {
		ids = append(ids, h.ID)
	}
	if want := []string{"ada@example.com", "alan@example.com"}; !slices.Equal(ids, want) {
		t.Errorf("_search via alias ranked %q, want %q (by usage)", ids, want)
	}
	if got := Indexes(t, alias); !slices.Equal(got, []string{index}) {
		t.Errorf("Indexes(%s) = %q, want [%s]", alias, got, index)
	}
}

// TestAliasCleanupIntegration checks that what a test creates under its alias
// is gone when it ends: the index behind the alias, one named after it that
// the alias does not point at, and the alias itself.
func TestAliasCleanupIntegration(t *testing.T) {
	base := URL(t)
	var alias string
	t.Run("inner", func(t *testing.T) {
		alias = Alias(t)
		mustDo(t, http.MethodPut, "/"+alias+"_old", nil, http.StatusOK)
		mustDo(t, http.MethodPut, "/"+alias+"_new", map[string]any{
			"aliases": map[string]any{alias: map[string]any{}},
		}, http.StatusOK)
		if got, want := Indexes(t, alias), []string{alias + "_new", alias + "_old"}; !slices.Equal(got, want) {
			t.Fatalf("Indexes = %q, want %q", got, want)
		}
	})
	if alias == "" {
		t.Fatal("the inner test did not run")
	}
	for _, path := range []string{"/_alias/" + alias, "/" + alias + "_old", "/" + alias + "_new"} {
		status, out, err := do(base, http.MethodGet, path, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if status != http.StatusNotFound {
			t.Errorf("GET %s after the test: status %d, want 404: %s", path, status, truncate(out))
		}
	}
}
