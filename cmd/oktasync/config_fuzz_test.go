package main

import (
	"bytes"
	"errors"
	"math"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzConfigFile feeds arbitrary bytes as the --config file of `sync` and
// `serve`. Seeds: testdata/fuzz/FuzzConfigFile (config.example.yaml is added
// too). The loader never panics, and whatever it accepts is a config the run
// may trust: the safety cap is a finite share in [0, 1], no secret came from
// the file, and loading is deterministic. A refusal lists its problems in
// the one "invalid configuration" message.
func FuzzConfigFile(f *testing.F) {
	if example, err := os.ReadFile("../../config.example.yaml"); err == nil {
		f.Add(example)
	}
	f.Add([]byte("sync:\n  max_deactivate: .nan\n"))
	f.Add([]byte("okta:\n  token: x\n"))
	f.Add([]byte("sync:\n  batch_size: 0\n---\nsync:\n  batch_size: 5\n"))
	f.Add([]byte("okta: &a\n  page_size: 5\nneo4j: *a\n"))
	f.Add([]byte("pushgateway: http://u:p@h:9091\n"))
	f.Add([]byte("{sync: {max_deactivate: 1e309}}"))
	f.Add([]byte("okta:\n  page_sise: 100\n  request_timeout: 30\n  max_retries: -1\nsync:\n  max_deactivate: 10%\nnee4j:\n  uri: x\n"))
	f.Add([]byte("sync:\n  <<: [{batch_size: 7}, {writers: 5}]\n  writers: 4\nokta:\n  scopes: [a, ~, {b: c}]\n"))
	f.Add([]byte("mapping:\n  status:\n    ACTIVE: ~\n    STAGED: [x]\n  extra_attributes: {a: b}\n"))
	f.Add([]byte("neo4j:\n  password: hunter2-secret\n  connect_timeout: hunter2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // a config file is small; yaml.v3 guards itself against aliases bombs
		}
		// The walker means what yaml.v3's strict decode meant, except
		// that it refuses what yaml.v3 drops or truncates silently: a
		// fraction for a whole number (page_size: 2.5), a null key.
		if err := sameAsStrictDecode(data); err != nil && !strings.Contains(err.Error(), "expected a whole number") &&
			!strings.Contains(err.Error(), "a key is empty") {
			t.Fatal(err)
		}
		readFile := func(name string) ([]byte, error) {
			if name == "fuzz.yaml" {
				return data, nil
			}
			return nil, os.ErrNotExist
		}
		env := envOf(map[string]string{
			"OKTA_ORG_URL": "https://acme.okta.com", "OKTA_API_TOKEN": "env-token",
			"OKTASYNC_HOOK_SECRETS": "env-hook-secret-0123456789",
		})
		for _, serve := range []bool{false, true} {
			load := func() (config, error) {
				fl := newSyncFlags(&bytes.Buffer{})
				if serve {
					fl = newServeFlags(&bytes.Buffer{})
				}
				if err := fl.fs.Parse([]string{"--config", "fuzz.yaml"}); err != nil {
					t.Fatal(err)
				}
				return loadConfig(fl, env, readFile)
			}
			c, err := load()
			c2, err2 := load()
			if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
				t.Fatalf("not deterministic: %v / %v", err, err2)
			}
			if err == nil && (c.Sync != c2.Sync || c.Neo4j != c2.Neo4j || c.Pushgateway != c2.Pushgateway) {
				t.Fatalf("not deterministic: %+v / %+v", c.Sync, c2.Sync)
			}
			if err != nil {
				msg := configError(err)
				if !strings.HasPrefix(msg, "invalid configuration:\n  - ") {
					t.Fatalf("refusal message %q", msg)
				}
				for _, p := range problems(err) {
					if !namesPathOrFile(p) {
						t.Fatalf("a problem names neither the file nor a path: %q", p)
					}
				}
				// The refusal is the same whatever the secrets in the file
				// are: none of them is repeated.
				if other, ok := secretsReplaced(data); ok {
					fl := newSyncFlags(&bytes.Buffer{})
					if serve {
						fl = newServeFlags(&bytes.Buffer{})
					}
					if err := fl.fs.Parse([]string{"--config", "fuzz.yaml"}); err != nil {
						t.Fatal(err)
					}
					_, err3 := loadConfig(fl, env, func(string) ([]byte, error) { return other, nil })
					if err3 == nil || err3.Error() != err.Error() {
						t.Fatalf("the refusal depends on the secrets in the file:\n%v\n---\n%v", err, err3)
					}
				}
				continue
			}
			if c.Okta.Token != "env-token" || c.Neo4j.Password != "" || c.Okta.PrivateKey != "" ||
				len(c.Serve.Hook.Secrets) != 1 || c.Serve.Hook.Secrets[0] != "env-hook-secret-0123456789" {
				t.Fatalf("a secret came from the file: %+v %+v", c.Okta, c.Serve.Hook)
			}
			m := c.Sync.MaxDeactivate
			if math.IsNaN(m) || math.IsInf(m, 0) || m < 0 || m > 1 {
				t.Fatalf("accepted sync.max_deactivate %v", m)
			}
			if err := errors.Join(c.Sync.Validate(), c.Okta.Validate()); err != nil {
				t.Fatalf("accepted a config its own validation refuses: %v", err)
			}
			if c.Pushgateway != "" {
				if u, err := url.Parse(c.Pushgateway); err != nil || u.User != nil {
					t.Fatalf("accepted pushgateway %q", c.Pushgateway)
				}
			}
		}
	})
}

// namesPathOrFile reports whether a problem starts with the file
// (--config fuzz.yaml) or a path in it (okta.page_size, serve: …).
func namesPathOrFile(p string) bool {
	if strings.HasPrefix(p, "--config fuzz.yaml") {
		return true
	}
	first, _, _ := strings.Cut(p, ":")
	first, _, _ = strings.Cut(first, ".")
	first, _, _ = strings.Cut(first, " ")
	_, ok := fileFields(reflect.TypeFor[fileConfig]())[first]
	return ok
}

// secretsReplaced returns data with the value of each secret in it
// (okta.token: …, as secretEnv knows them) replaced by as many x's, when
// each is written once and plainly enough to be found (ok).
func secretsReplaced(data []byte) (out []byte, ok bool) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	out = bytes.Clone(data)
	top := doc.Content[0].Content
	for i := 0; i+1 < len(top); i += 2 {
		sec := resolve(top[i+1])
		if sec.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(sec.Content); j += 2 {
			v := resolve(sec.Content[j+1])
			if secretEnv(top[i].Value+"."+sec.Content[j].Value) == "" || v.Kind != yaml.ScalarNode || v.Value == "" ||
				strings.Trim(v.Value, "x") == "" || bytes.Count(out, []byte(v.Value)) != 1 {
				continue
			}
			out = bytes.Replace(out, []byte(v.Value), bytes.Repeat([]byte("x"), len(v.Value)), 1)
			ok = true
		}
	}
	var check yaml.Node
	if !ok || yaml.Unmarshal(out, &check) != nil {
		return nil, false
	}
	return out, ok
}
