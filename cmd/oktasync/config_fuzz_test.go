package main

import (
	"bytes"
	"errors"
	"math"
	"net/url"
	"os"
	"strings"
	"testing"
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
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // a config file is small; yaml.v3 guards itself against aliases bombs
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
