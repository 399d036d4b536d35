package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// readmeInstall is one `helm install` of a README, with what the same code
// block builds and creates before it.
type readmeInstall struct {
	line    string                    // the command, as one line
	values  map[string]any            // -f files, then --set, as helm merges them
	secrets map[string]*corev1.Secret // kubectl create secret generic … --from-literal
	pushed  []string                  // docker push IMAGE
}

// TestHelmReadmeInstall renders every `helm install` of the chart's README
// and of the repository's README exactly as written (its -f and --set,
// the Secret the same block creates with kubectl) and checks the result
// like any other rendering, `oktasync check-config` included: the
// documented install must give pods that start.
func TestHelmReadmeInstall(t *testing.T) {
	c := loadChart(t)
	for _, readme := range []string{filepath.Join(chartDir, "README.md"), filepath.Join(repoRoot, "README.md")} {
		installs := readmeInstalls(t, readme)
		if len(installs) == 0 {
			t.Fatalf("%s: no helm install of the chart", readme)
		}
		for i, in := range installs {
			t.Run(filepath.Base(filepath.Dir(readme))+"/"+strings.Repeat("I", i+1), func(t *testing.T) {
				t.Logf("%s", in.line)
				objs, _ := renderObjects(t, c, in.values)
				external := map[string]*corev1.Secret{}
				for k, v := range in.secrets {
					external[k] = v
				}
				for _, k := range []string{"secrets.existingSecret", "secrets.oktaPrivateKey.existingSecret"} {
					if name, _ := lookup(in.values, k).(string); name != "" {
						if _, ok := external[name]; !ok {
							external[name] = nil // not created in the README: contents unknown
						}
					}
				}
				// The Secret the README creates is taken as it is: what it
				// lacks, check-config reports.
				checkRendering(t, rendering{objs: objs, external: external})
				if len(in.pushed) > 0 {
					for name, spec := range objs.podSpecs() {
						if img := spec.Containers[0].Image; !slices.Contains(in.pushed, img) {
							t.Errorf("%s runs %s, but the README pushes %v", name, img, in.pushed)
						}
					}
				}
			})
		}
	}
	// The chart's README builds and pushes the image it installs.
	for _, in := range readmeInstalls(t, filepath.Join(chartDir, "README.md")) {
		if len(in.pushed) == 0 {
			t.Errorf("the chart's README does not say how to build and push the image before %q", in.line)
		}
	}
}

// readmeInstalls finds the helm installs of the chart in the code blocks of
// a README.
func readmeInstalls(t *testing.T, readme string) []readmeInstall {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeInstall
	blocks := strings.Split(string(data), "```")
	for i := 1; i < len(blocks); i += 2 {
		block := strings.ReplaceAll(blocks[i], "\\\n", " ")
		secrets := map[string]*corev1.Secret{}
		var pushed []string
		for _, line := range strings.Split(block, "\n") {
			words := shellWords(line)
			switch {
			case len(words) >= 3 && words[0] == "docker" && words[1] == "push":
				pushed = append(pushed, words[2])
			case len(words) >= 1 && words[0] == "kubectl":
				if name, data, ok := kubectlSecret(words); ok {
					secrets[name] = &corev1.Secret{StringData: data}
				}
			case len(words) >= 2 && words[0] == "helm" && words[1] == "install":
				if len(words) < 4 || words[3] != "deploy/helm/oktasync" {
					continue
				}
				// What the block created so far (a later command may replace a Secret).
				created := make(map[string]*corev1.Secret, len(secrets))
				for k, v := range secrets {
					created[k] = v
				}
				out = append(out, readmeInstall{line: strings.Join(strings.Fields(line), " "),
					values: helmValues(t, words), secrets: created, pushed: slices.Clone(pushed)})
			}
		}
	}
	return out
}

// kubectlSecret reads `kubectl [-n ns] create secret generic NAME
// --from-literal=KEY=VALUE ...`. A value from a shell variable stands for a
// value the operator has: a placeholder of the test's.
func kubectlSecret(words []string) (string, map[string]string, bool) {
	var pos []string
	data := map[string]string{}
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-n" || w == "--namespace":
			i++
		case strings.HasPrefix(w, "--from-literal="):
			k, v, _ := strings.Cut(strings.TrimPrefix(w, "--from-literal="), "=")
			if strings.Contains(v, "$") {
				v = "readme-value-of-" + k
			}
			data[k] = v
		case !strings.HasPrefix(w, "-"):
			pos = append(pos, w)
		}
	}
	if len(pos) != 4 || pos[0] != "create" || pos[1] != "secret" || pos[2] != "generic" {
		return "", nil, false
	}
	return pos[3], data, true
}

// helmValues merges a helm install's -f files, then its --set values, as
// helm does.
func helmValues(t *testing.T, words []string) map[string]any {
	t.Helper()
	values := map[string]any{}
	var sets []string
	for i := 4; i < len(words); i++ { // helm install NAME CHART
		w := words[i]
		next := func() string {
			i++
			if i >= len(words) {
				t.Fatalf("helm install: %s without a value", w)
			}
			return words[i]
		}
		switch {
		case w == "-n" || w == "--namespace":
			next()
		case w == "-f" || w == "--values":
			f := next()
			v, err := chartutil.ReadValuesFile(filepath.Join(repoRoot, f))
			if err != nil {
				t.Fatalf("helm install -f %s: %v", f, err)
			}
			values = mergeValues(values, v.AsMap())
		case w == "--set":
			sets = append(sets, next())
		default:
			t.Fatalf("helm install: the test does not know %q: teach it", w)
		}
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, values); err != nil {
			t.Fatalf("helm install --set %s: %v", s, err)
		}
	}
	return values
}

// shellWords splits one shell command line into words: quotes removed, a
// comment (# after a blank) dropped. Enough for the READMEs' commands.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case ch == '#' && !in:
			return words
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestHelmNeo4jUsername: with a password (or a Secret that may hold one)
// the config names Neo4j's default user, unless the values name another;
// without, none (a server with auth off).
func TestHelmNeo4jUsername(t *testing.T) {
	c := loadChart(t)
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   any
	}{
		{"password in values", map[string]any{"secrets": map[string]any{"neo4jPassword": "pw"}}, "neo4j"},
		{"existing Secret", map[string]any{"secrets": map[string]any{"existingSecret": "mine", "oktaApiToken": ""}}, "neo4j"},
		{"explicit user kept", map[string]any{"secrets": map[string]any{"neo4jPassword": "pw"}, "config": map[string]any{"neo4j": map[string]any{"username": "graph"}}}, "graph"},
		{"no password", map[string]any{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, _ := renderObjects(t, c, overCI(t, tc.values))
			for name, cm := range objs.configMaps {
				var cfg map[string]any
				if err := yaml.Unmarshal([]byte(cm.Data[configFile]), &cfg); err != nil {
					t.Fatal(err)
				}
				if got := lookup(cfg, "neo4j.username"); got != tc.want {
					t.Errorf("ConfigMap %s: neo4j.username %v, want %v", name, got, tc.want)
				}
			}
		})
	}
}
