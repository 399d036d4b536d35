package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLISearchConfigRefusals: bad people-search settings end the command
// with exit 2 before any I/O, each named by its field; the password is
// never read from the file and never printed.
func TestCLISearchConfigRefusals(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		file string
		args []string
		want string
	}{
		{"not_a_url", []string{"OKTASYNC_SEARCH_URL", "elastic:9200"}, "", nil, "search.url: \"elastic:9200\" is not an http(s) URL"},
		{"credentials_in_url", []string{"OKTASYNC_SEARCH_URL", "http://admin:s3cret-in-url@es:9200"}, "", nil, "search.url: must not contain credentials"},
		{"password_without_user", []string{"OKTASYNC_SEARCH_URL", "http://es:9200", "OKTASYNC_SEARCH_PASSWORD", "s3cret-pw-0123"}, "", nil, "search.username: required"},
		{"password_in_file", nil, "search:\n  url: http://es:9200\n  password: s3cret-pw-0123\n", nil, "search.password: secrets are never read from the file; set OKTASYNC_SEARCH_PASSWORD"},
		{"bad_alias", []string{"OKTASYNC_SEARCH_URL", "http://es:9200"}, "search:\n  alias: Users\n", nil, "search.alias: \"Users\" is not a valid index alias"},
		{"zero_timeout", []string{"OKTASYNC_SEARCH_URL", "http://es:9200"}, "search:\n  timeout: 0s\n", nil, "search.timeout: must be positive"},
		{"bulk_size", []string{"OKTASYNC_SEARCH_URL", "http://es:9200"}, "search:\n  bulk_size: 0\n", nil, "search.bulk_size: must be between 1 and 50000"},
		{"missing_ca", []string{"OKTASYNC_SEARCH_URL", "https://es:9200"}, "search:\n  ca_file: /nonexistent/ca.pem\n", nil, "search.ca_file:"},
		{"ca_not_pem", []string{"OKTASYNC_SEARCH_URL", "https://es:9200"}, "search:\n  ca_file: " + notPEM(t) + "\n", nil, "holds no PEM certificate"},
		{"with_csv", []string{"OKTASYNC_SEARCH_URL", "http://es:9200"}, "", []string{"--csv-dir", "/tmp/x"}, "search.url: people search reads its documents from the graph"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sync"}, c.args...)
			if c.file != "" {
				args = append(args, "--config", configFile(t, c.file))
			}
			code, stdout, stderr := runCmd(t, withEnv(c.env...), args...)
			if code != exitConfig {
				t.Fatalf("exit %d, want %d: %s", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			for _, secret := range []string{"s3cret-pw-0123", "s3cret-in-url"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("a secret was printed:\n%s%s", stdout, stderr)
				}
			}
		})
	}
}

// TestSearchConfigFromEnvironmentAndFile: the URL from the environment
// wins over the file, credentials come from the environment, and the
// rest keeps its defaults unless the file sets it.
func TestSearchConfigFromEnvironmentAndFile(t *testing.T) {
	f := newSyncFlags(nil)
	path := configFile(t, "search:\n  url: http://from-file:9200\n  keep_inactive: true\n  take_over: true\n")
	if err := f.fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(f, envOf(withEnv("OKTASYNC_SEARCH_URL", "https://from-env:9200",
		"OKTASYNC_SEARCH_USERNAME", "oktasync", "OKTASYNC_SEARCH_PASSWORD", "pw-0123456789")), readFile)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Search
	if s.URL != "https://from-env:9200" || s.Username != "oktasync" || s.Password != "pw-0123456789" ||
		!s.KeepInactive || !s.TakeOver || s.Alias != "user_search_index_v2_1" || s.BulkSize != 5000 {
		t.Errorf("search config = %+v", s)
	}
}

// notPEM is a file that is not a PEM bundle.
func notPEM(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
