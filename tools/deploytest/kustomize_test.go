package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var kustomizeDir = filepath.Join(repoRoot, "deploy", "kubernetes")

const secretExampleFile = "secret.example.yaml"

// build is `kustomize build dir`.
func build(t *testing.T, dir string) string {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// exampleSecrets decodes secret.example.yaml strictly: the Secrets the user
// creates before applying an overlay.
func exampleSecrets(t *testing.T) map[string]*corev1.Secret {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kustomizeDir, secretExampleFile))
	if err != nil {
		t.Fatal(err)
	}
	objs := newObjects()
	if err := objs.decodeAll(newDecoder(t), secretExampleFile, string(data)); err != nil {
		t.Fatal(err)
	}
	if len(objs.all) != len(objs.secrets) {
		t.Fatalf("%s holds more than Secrets", secretExampleFile)
	}
	return objs.secrets
}

// overlays are the two ways to run oktasync with Kustomize, and what each
// must and must never apply.
var overlays = map[string]struct{ want, never []string }{
	"cronjobs": {
		want:  []string{"ConfigMap/oktasync-config", "CronJob/oktasync-full", "CronJob/oktasync-incremental"},
		never: []string{"Deployment/oktasync", "Service/oktasync"},
	},
	"serve": {
		want:  []string{"ConfigMap/oktasync-config", "Deployment/oktasync", "Service/oktasync"},
		never: []string{"CronJob/oktasync-full", "CronJob/oktasync-incremental"},
	},
}

func TestKustomizeOverlays(t *testing.T) {
	secrets := exampleSecrets(t)
	applied := map[string]bool{}
	for dir, want := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := newObjects()
			if err := objs.decodeAll(newDecoder(t), "kustomize build "+dir, build(t, filepath.Join(kustomizeDir, dir))); err != nil {
				t.Fatal(err)
			}
			got := objs.kindNames()
			for _, n := range got {
				applied[n] = true
			}
			for _, w := range want.want {
				if !slices.Contains(got, w) {
					t.Errorf("applies %v, not %s", got, w)
				}
			}
			for _, n := range want.never {
				if slices.Contains(got, n) {
					t.Errorf("applies %s: the CronJobs and serve are alternatives", n)
				}
			}
			if len(objs.secrets) != 0 {
				t.Error("applies Secrets: they are created out of band (secret.example.yaml)")
			}
			external := map[string]*corev1.Secret{}
			for n, s := range secrets {
				external[n] = s
			}
			checkRendering(t, rendering{objs: objs, external: external})
		})
	}

	// Every manifest file is applied by an overlay (or is the Secret
	// example): none is forgotten in a kustomization's resources.
	err := filepath.WalkDir(kustomizeDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		base := filepath.Base(p)
		if base == "kustomization.yaml" || base == secretExampleFile {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range splitDocuments(string(data)) {
			var m struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if !applied[m.Kind+"/"+m.Metadata.Name] {
				t.Errorf("%s: %s/%s is applied by no overlay", p, m.Kind, m.Metadata.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSecretExample keeps real credentials out of secret.example.yaml and
// checks it provides the keys the product reads.
func TestSecretExample(t *testing.T) {
	const placeholder = "REPLACE_ME"
	wantKeys := map[string][]string{
		"oktasync":          {"OKTA_ORG_URL", "OKTA_API_TOKEN", "NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD"},
		"oktasync-okta-key": {"okta-private-key.pem"},
		"oktasync-hook":     {hookSecretsEnv},
	}
	secretValues := map[string]bool{"OKTA_API_TOKEN": true, "NEO4J_PASSWORD": true, hookSecretsEnv: true, "okta-private-key.pem": true}
	secrets := exampleSecrets(t)
	for name, s := range secrets {
		if len(s.Data) != 0 {
			t.Errorf("Secret %s: use stringData with placeholders, not data", name)
		}
		if s.Type != corev1.SecretTypeOpaque {
			t.Errorf("Secret %s: type %q, want Opaque", name, s.Type)
		}
		if _, ok := wantKeys[name]; !ok {
			t.Errorf("unexpected Secret %s", name)
		}
	}
	for name, keys := range wantKeys {
		s := secrets[name]
		if s == nil {
			t.Errorf("%s does not define the Secret %s", secretExampleFile, name)
			continue
		}
		for _, k := range keys {
			v, ok := s.StringData[k]
			if !ok {
				t.Errorf("Secret %s: no key %s", name, k)
			}
			if secretValues[k] && !strings.Contains(v, placeholder) {
				t.Errorf("Secret %s: %s is not a %s placeholder", name, k, placeholder)
			}
		}
		for k := range s.StringData {
			if !slices.Contains(keys, k) {
				t.Errorf("Secret %s: unexpected key %s", name, k)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(kustomizeDir, secretExampleFile))
	if err != nil {
		t.Fatal(err)
	}
	// People search is optional: its variables are shown, commented out,
	// in the Secret every workload reads.
	for _, line := range []string{"# OKTASYNC_SEARCH_URL: https://", "# " + searchUserEnv + ": " + placeholder, "# " + searchPassEnv + ": " + placeholder} {
		if !strings.Contains(string(data), line) {
			t.Errorf("%s does not show %q", secretExampleFile, line)
		}
	}
	const keyFile = "/var/run/secrets/oktasync/okta-private-key.pem"
	if !strings.Contains(string(data), privateKeyEnv+": "+keyFile) {
		t.Errorf("%s does not show %s: %s", secretExampleFile, privateKeyEnv, keyFile)
	}
	// Where the workloads mount that key.
	for dir := range overlays {
		objs := newObjects()
		if err := objs.decodeAll(newDecoder(t), dir, build(t, filepath.Join(kustomizeDir, dir))); err != nil {
			t.Fatal(err)
		}
		for name, spec := range objs.podSpecs() {
			found := false
			for _, m := range spec.Containers[0].VolumeMounts {
				for _, v := range spec.Volumes {
					if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "oktasync-okta-key" && m.MountPath == filepath.Dir(keyFile) {
						found = true
						if v.Secret.Optional == nil || !*v.Secret.Optional {
							t.Errorf("%s: the private key volume must be optional (API-token setups have no key)", name)
						}
					}
				}
			}
			if !found {
				t.Errorf("%s: Secret oktasync-okta-key is not mounted at %s", name, filepath.Dir(keyFile))
			}
		}
	}
}

// TestStrictDecodingRejectsTypos proves the decoding is strict and that
// kustomize passes mistakes through to it: an overlay built from a copy of
// the manifests with one mistake must fail.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	for _, tc := range []struct{ name, old, new, wantErr string }{
		{"misspelt field", "concurrencyPolicy: Forbid", "concurrencyPolicyy: Forbid", "concurrencyPolicyy"},
		{"field in the wrong case", "restartPolicy: Never", "restartpolicy: Never", "restartpolicy"},
		{"field at the wrong level", "      backoffLimit: 2", "      backoffLimit: 2\n      schedule: \"0 3 * * *\"", "schedule"},
		{"unknown apiVersion", "apiVersion: batch/v1", "apiVersion: batch/v1beta1", "batch/v1beta1"},
		{"wrong value type", "backoffLimit: 2", "backoffLimit: two", "backoffLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, kustomizeDir)
			file := filepath.Join(dir, "cronjobs", "cronjob-full.yaml")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("cronjob-full.yaml no longer contains %q: update this test", tc.old)
			}
			if err := os.WriteFile(file, []byte(strings.Replace(string(data), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
			res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(dir, "cronjobs"))
			if err == nil {
				var out []byte
				if out, err = res.AsYaml(); err == nil {
					err = newObjects().decodeAll(newDecoder(t), "cronjobs", string(out))
				}
			}
			if err == nil {
				t.Fatalf("building and decoding with %q instead of %q succeeded", tc.new, tc.old)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not name %q", err, tc.wantErr)
			}
		})
	}
}

// copyTree copies the YAML files under src into a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
