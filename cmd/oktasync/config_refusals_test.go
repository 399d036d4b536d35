package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refusalEnv is a complete, valid environment: every refusal below is the
// one problem of its run.
var refusalEnv = map[string]string{
	"OKTA_ORG_URL":   "https://acme.okta.com",
	"OKTA_API_TOKEN": "refusal-test-token-0123",
	"NEO4J_URI":      "bolt://127.0.0.1:1",
}

func withEnv(kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range refusalEnv {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func configFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oktasync.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIRefusesMalformedSafetyCap: the safety cap cannot be switched off
// by a value that fails every comparison. NaN and ±Inf, from the flag or
// from the file (YAML's .nan and .inf), end the command with exit 2 and
// name the field, before any I/O (NEO4J_URI points at a closed port, which
// a run that got that far would report instead). The cap has no
// environment variable: it is set by file or flag only.
func TestCLIRefusesMalformedSafetyCap(t *testing.T) {
	cases := []struct {
		name string
		args func(t *testing.T) []string
		want string
	}{
		{"flag_NaN", func(*testing.T) []string { return []string{"--max-deactivate", "NaN"} }, "got NaN"},
		{"flag_nan_lowercase", func(*testing.T) []string { return []string{"--max-deactivate", "nan"} }, "got NaN"},
		{"flag_Inf", func(*testing.T) []string { return []string{"--max-deactivate", "Inf"} }, "got +Inf"},
		{"flag_+Inf", func(*testing.T) []string { return []string{"--max-deactivate", "+Inf"} }, "got +Inf"},
		{"flag_-Inf", func(*testing.T) []string { return []string{"--max-deactivate", "-Inf"} }, "got -Inf"},
		{"flag_above_one", func(*testing.T) []string { return []string{"--max-deactivate", "1.5"} }, "got 1.5"},
		{"flag_negative", func(*testing.T) []string { return []string{"--max-deactivate", "-0.1"} }, "got -0.1"},
		{"yaml_.nan", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_deactivate: .nan\n")}
		}, "got NaN"},
		{"yaml_.NaN", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_deactivate: .NaN\n")}
		}, "got NaN"},
		{"yaml_.inf", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_deactivate: .inf\n")}
		}, "got +Inf"},
		{"yaml_-.inf", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_deactivate: -.inf\n")}
		}, "got -Inf"},
		{"flag_NaN_over_a_valid_file", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_deactivate: 0.2\n"), "--max-deactivate", "NaN"}
		}, "got NaN"},
		// The stub-merge cap is the same kind of share.
		{"stub_flag_NaN", func(*testing.T) []string { return []string{"--max-stub-merges", "NaN"} }, "got NaN"},
		{"stub_flag_above_one", func(*testing.T) []string { return []string{"--max-stub-merges", "2"} }, "got 2"},
		{"stub_yaml_.inf", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_stub_merges: .inf\n")}
		}, "got +Inf"},
		{"stub_yaml_negative", func(t *testing.T) []string {
			return []string{"--config", configFile(t, "sync:\n  max_stub_merges: -0.5\n")}
		}, "got -0.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cmd := range []string{"sync", "serve"} {
				args := append([]string{cmd}, c.args(t)...)
				if cmd == "serve" && strings.Contains(strings.Join(args, " "), "--max-") {
					continue // serve has no such flag; its caps come from the file
				}
				field := "sync.max_deactivate"
				if strings.HasPrefix(c.name, "stub_") {
					field = "sync.max_stub_merges"
				}
				code, stdout, stderr := runCmd(t, withEnv("OKTASYNC_HOOK_SECRETS", "refusal-hook-secret-0123456789"), args...)
				if code != exitConfig {
					t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", cmd, code, exitConfig, stdout, stderr)
				}
				if !strings.Contains(stderr, field+": must be a share between 0 and 1, "+c.want) {
					t.Errorf("%s: the message does not name the field and the value %q:\n%s", cmd, c.want, stderr)
				}
				if strings.Contains(stderr, "127.0.0.1:1") {
					t.Errorf("%s: got as far as connecting to Neo4j:\n%s", cmd, stderr)
				}
			}
		})
	}
}

// TestCLIRefusesUnboundedTransactionTimeout: neo4j.transaction_timeout
// bounds every wait for another client's lock, so a value that would not
// (zero, which Neo4j takes as no timeout, or less than a second) is
// refused by sync, serve and check-config (exit 2) with the field and the
// value named, before any I/O; one second is accepted.
func TestCLIRefusesUnboundedTransactionTimeout(t *testing.T) {
	env := withEnv("OKTASYNC_HOOK_SECRETS", "refusal-hook-secret-0123456789")
	for value, got := range map[string]string{"0s": "0s", "500ms": "500ms", "-1m": "-1m0s"} {
		file := configFile(t, "neo4j:\n  transaction_timeout: "+value+"\n")
		for _, args := range [][]string{{"sync"}, {"serve"}, {"check-config"}} {
			code, _, stderr := runCmd(t, env, append(args, "--config", file)...)
			if code != exitConfig {
				t.Fatalf("%s with %s: exit %d, want %d\n%s", args[0], value, code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, "neo4j.transaction_timeout: must be at least 1s, got "+got) {
				t.Errorf("%s with %s: the message does not name the field and the value:\n%s", args[0], value, stderr)
			}
			if strings.Contains(stderr, "127.0.0.1:1") {
				t.Errorf("%s with %s: got as far as connecting to Neo4j:\n%s", args[0], value, stderr)
			}
		}
	}
	if code, _, stderr := runCmd(t, env, "check-config", "--config", configFile(t, "neo4j:\n  transaction_timeout: 1s\n")); code != exitOK {
		t.Errorf("transaction_timeout: 1s: exit %d\n%s", code, stderr)
	}
}

// TestCLIRefusesMultiDocumentYAML: a file of several YAML documents is
// refused (exit 2) rather than read up to its first "---".
func TestCLIRefusesMultiDocumentYAML(t *testing.T) {
	for name, body := range map[string]string{
		"two_documents":          "sync:\n  batch_size: 10\n---\nsync:\n  max_deactivate: 1\n",
		"leading_marker":         "---\nsync:\n  batch_size: 10\n---\nokta:\n  page_size: 5\n",
		"empty_second_document":  "sync:\n  batch_size: 10\n---\n",
		"second_sets_the_cap_to": "sync:\n  max_deactivate: 0.1\n---\nsync:\n  max_deactivate: .nan\n",
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCmd(t, refusalEnv, "sync", "--config", configFile(t, body))
			if code != exitConfig {
				t.Fatalf("exit %d, want %d\n%s", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, "holds more than one YAML document (---); put everything in one") {
				t.Errorf("message:\n%s", stderr)
			}
		})
	}
	// One document with a leading "---" is one document.
	code, _, stderr := runCmd(t, withEnv("NEO4J_URI", "ftp://x"), "sync", "--config", configFile(t, "---\nsync:\n  batch_size: 10\n"))
	if code != exitConfig || strings.Contains(stderr, "more than one YAML document") || !strings.Contains(stderr, "neo4j.uri") {
		t.Errorf("a single document with a leading ---: exit %d\n%s", code, stderr)
	}
}

// TestCLIRefusesSecretsInFile: a secret in the YAML file is refused (exit
// 2) with a message naming the environment variable that carries it, and
// the secret itself is not repeated.
func TestCLIRefusesSecretsInFile(t *testing.T) {
	const secret = "file-secret-canary-9c8b7a"
	cases := []struct{ section, key, env string }{
		{"okta", "token", "OKTA_API_TOKEN"},
		{"okta", "api_token", "OKTA_API_TOKEN"},
		{"okta", "private_key", "OKTA_PRIVATE_KEY"},
		{"okta", "client_secret", "OKTA_PRIVATE_KEY"},
		{"neo4j", "password", "NEO4J_PASSWORD"},
		{"serve", "hook_secrets", "OKTASYNC_HOOK_SECRETS"},
		{"serve", "hook_secret", "OKTASYNC_HOOK_SECRETS"},
	}
	for _, c := range cases {
		t.Run(c.section+"."+c.key, func(t *testing.T) {
			path := configFile(t, c.section+":\n  "+c.key+": "+secret+"\n")
			for _, cmd := range []string{"sync", "serve"} {
				code, stdout, stderr := runCmd(t, refusalEnv, cmd, "--config", path)
				if code != exitConfig {
					t.Fatalf("%s: exit %d, want %d\n%s", cmd, code, exitConfig, stderr)
				}
				want := c.section + "." + c.key + ": secrets are never read from the file; set " + c.env
				if !strings.Contains(stderr, want) {
					t.Errorf("%s: message lacks %q:\n%s", cmd, want, stderr)
				}
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("%s: the secret is repeated in the output:\n%s", cmd, stderr)
				}
			}
		})
	}
	// Every secret of one file is reported at once.
	path := configFile(t, "okta:\n  token: "+secret+"\nneo4j:\n  password: "+secret+"\n")
	code, _, stderr := runCmd(t, refusalEnv, "sync", "--config", path)
	if code != exitConfig || !strings.Contains(stderr, "set OKTA_API_TOKEN") || !strings.Contains(stderr, "set NEO4J_PASSWORD") {
		t.Errorf("two secrets: exit %d\n%s", code, stderr)
	}
}

// TestCLIRefusesPushgatewayCredentials: a Pushgateway URL with a user or
// password in it is refused (exit 2) from the flag, the environment and
// the file, without repeating the password.
func TestCLIRefusesPushgatewayCredentials(t *testing.T) {
	const pass = "pushgw-password-canary-31f2"
	for _, u := range []string{
		"http://ops:" + pass + "@pushgateway:9091",
		"https://ops:" + pass + "@pushgateway.example.com",
		"http://" + pass + "@pushgateway:9091",
	} {
		runs := map[string]func(t *testing.T) (int, string, string){
			"flag": func(t *testing.T) (int, string, string) { return runCmd(t, refusalEnv, "sync", "--pushgateway", u) },
			"env": func(t *testing.T) (int, string, string) {
				return runCmd(t, withEnv("OKTASYNC_PUSHGATEWAY_URL", u), "sync")
			},
			"file": func(t *testing.T) (int, string, string) {
				return runCmd(t, refusalEnv, "sync", "--config", configFile(t, "pushgateway: "+u+"\n"))
			},
		}
		for from, run := range runs {
			t.Run(from, func(t *testing.T) {
				code, stdout, stderr := run(t)
				if code != exitConfig {
					t.Fatalf("exit %d, want %d\n%s", code, exitConfig, stderr)
				}
				if !strings.Contains(stderr, "pushgateway: must not contain credentials") {
					t.Errorf("message:\n%s", stderr)
				}
				if strings.Contains(stdout+stderr, pass) {
					t.Errorf("the password is in the output:\n%s", stderr)
				}
			})
		}
	}
	// Without credentials the same URL passes configuration (and the run
	// then fails on the closed Neo4j port, exit 1).
	code, _, stderr := runCmd(t, refusalEnv, "sync", "--pushgateway", "http://pushgateway:9091", "--summary", "none")
	if code != exitFailed || strings.Contains(stderr, "pushgateway:") {
		t.Errorf("plain URL: exit %d\n%s", code, stderr)
	}
}
