// Package searchtest connects integration tests to the real search server that
// `make test` starts: OpenSearch 2.19.6, the engine behind Amundsen's people
// search.
//
// The server is an embedded OpenSearch node run from Maven Central jars by
// scripts/search (no Docker), with the analysis-common and mapper-extras
// modules, so Amundsen's user index (custom analyzers, rank_features) is
// created exactly as databuilder creates it. It speaks plain HTTP on 127.0.0.1
// without auth. Run integration tests by hand with:
//
//	scripts/with-search go test ./...
//
// or start one to keep (scripts/search start, then
// SEARCH_TEST_URL=http://127.0.0.1:9250), or simply `make test`, which runs
// every test under scripts/with-search.
//
// Without SEARCH_TEST_URL the tests skip locally, but they fail when CI is set
// (or OKTASYNC_REQUIRE_SEARCH=1): integration tests never skip in CI.
//
// Tests share the one server, also across packages running at once. Each test
// therefore works under its own alias, from Alias: a unique name, whose
// indexes (those behind it, and those named after it) are deleted when the
// test ends.
package searchtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	// EnvURL names the environment variable holding the base URL of the test
	// server, e.g. http://127.0.0.1:9251.
	EnvURL = "SEARCH_TEST_URL"
	// EnvRequire, when "1", turns a missing EnvURL into a test failure (as CI does).
	EnvRequire = "OKTASYNC_REQUIRE_SEARCH"
	// AliasPrefix starts every alias Alias returns.
	AliasPrefix = "oktasync_test_"

	// opTimeout bounds every helper request; the server is local.
	opTimeout = 30 * time.Second
	// maxNameLen bounds the test-name part of an alias (index names may have
	// 255 bytes; the rest leaves room for a suffix and index names after it).
	maxNameLen = 80
)

// URL returns the base URL of the integration-test search server from
// SEARCH_TEST_URL, without a trailing slash. If it is unset the test is
// skipped, or fails when the environment variable CI is non-empty or
// OKTASYNC_REQUIRE_SEARCH=1.
func URL(t testing.TB) string {
	t.Helper()
	if u := strings.TrimSpace(os.Getenv(EnvURL)); u != "" {
		return strings.TrimRight(u, "/")
	}
	const how = "run the tests under `scripts/with-search` (e.g. `scripts/with-search go test ./...`), " +
		"or start a server with `scripts/search start` and set " + EnvURL +
		"=http://127.0.0.1:9250, or run `make test`, which does it all"
	if os.Getenv("CI") != "" || os.Getenv(EnvRequire) == "1" {
		t.Fatalf("searchtest: %s is not set; integration tests never skip in CI: %s", EnvURL, how)
	}
	t.Skipf("searchtest: skipping integration test, %s is not set: %s", EnvURL, how)
	return ""
}

// Alias returns an alias name of the test's own, unique on the shared server:
// AliasPrefix, the test's name (lowercased, every character but a-z, 0-9 and _
// replaced by _) and a random suffix. It gates like URL and checks that the
// server answers. When the test ends, the indexes behind the alias and those
// whose name starts with the alias and "_" (as a rebuild names its new
// index: alias_<date>_<uuid>) are deleted, and with them the alias.
func Alias(t testing.TB) string {
	t.Helper()
	base := URL(t)
	if status, body, err := do(base, http.MethodGet, "/", nil); err != nil || status != http.StatusOK {
		t.Fatalf("searchtest: no search server at %s (is `scripts/with-search` running it?): status %d, %v %s",
			base, status, err, truncate(body))
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("searchtest: random suffix: %v", err)
	}
	alias := AliasPrefix + sanitize(t.Name()) + "_" + hex.EncodeToString(suffix[:])
	t.Cleanup(func() {
		if err := cleanup(base, alias); err != nil {
			t.Errorf("searchtest: cleaning up alias %s: %v", alias, err)
		}
	})
	return alias
}

// sanitize turns a test name into the lowercase [a-z0-9_] part of an alias.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= maxNameLen {
			break
		}
	}
	if b.Len() == 0 {
		return "test"
	}
	return b.String()
}

// Indexes returns the sorted names of the indexes behind alias and of those
// named alias_*: what the cleanup of Alias deletes.
func Indexes(t testing.TB, alias string) []string {
	t.Helper()
	names, err := indexes(URL(t), alias)
	if err != nil {
		t.Fatalf("searchtest: listing indexes of %s: %v", alias, err)
	}
	return names
}

func indexes(base, alias string) ([]string, error) {
	seen := map[string]bool{}
	// Behind the alias: {"index": {"aliases": {...}}, ...}; 404 if there is none.
	status, body, err := do(base, http.MethodGet, "/_alias/"+url.PathEscape(alias), nil)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("GET /_alias/%s: %w", alias, err)
		}
		for name := range m {
			seen[name] = true
		}
	case http.StatusNotFound:
	default:
		return nil, fmt.Errorf("GET /_alias/%s: status %d: %s", alias, status, truncate(body))
	}
	// Named after it, whether the alias points at them or not.
	status, body, err = do(base, http.MethodGet,
		"/_cat/indices/"+url.PathEscape(alias)+"_*?format=json&h=index&expand_wildcards=all", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /_cat/indices/%s_*: status %d: %s", alias, status, truncate(body))
	}
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("GET /_cat/indices/%s_*: %w", alias, err)
	}
	for _, r := range rows {
		seen[r.Index] = true
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func cleanup(base, alias string) error {
	names, err := indexes(base, alias)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	// Deleting an index removes its aliases too. Names are listed explicitly:
	// a wildcard delete may be refused (action.destructive_requires_name).
	for _, name := range names {
		status, body, err := do(base, http.MethodDelete, "/"+url.PathEscape(name), nil)
		if err != nil {
			return err
		}
		if status != http.StatusOK && status != http.StatusNotFound {
			return fmt.Errorf("DELETE /%s: status %d: %s", name, status, truncate(body))
		}
	}
	return nil
}

// do sends one request with an optional JSON body to base+path and returns the
// status and the response body.
func do(base, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case string:
			rd = strings.NewReader(b)
		default:
			buf, err := json.Marshal(b)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(buf)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// No idle connection is kept: tests check that no goroutine outlives
	// them, an idle connection's included.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req) // bounded by ctx
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, out, fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

func truncate(b []byte) string {
	const max = 500
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
