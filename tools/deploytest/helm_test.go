package deploytest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var chartDir = filepath.Join(repoRoot, "deploy", "helm", "oktasync")

// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml).
const kubeVersion = "v1.27.0"

// valuesCase is one values set the chart is rendered with: the defaults, or
// an example file (deploy/helm/oktasync/examples) over them.
type valuesCase struct {
	name   string
	values map[string]any // what the user passes (-f), without the defaults
}

func valuesCases(t *testing.T) []valuesCase {
	t.Helper()
	// The defaults need the least a values file must hold (the chart
	// refuses to render without it): ci/default-values.yaml.
	cases := []valuesCase{{name: "default", values: ciValues(t)}}
	files, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example values files (%v)", err)
	}
	sort.Strings(files)
	for _, f := range files {
		v, err := chartutil.ReadValuesFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, valuesCase{name: filepath.Base(f), values: v.AsMap()})
	}
	return cases
}

// ciValues is ci/default-values.yaml: the defaults plus what every install
// must set.
func ciValues(t *testing.T) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "ci", "default-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return v.AsMap()
}

// overCI is values set over ci/default-values.yaml, as `helm install -f
// ci/default-values.yaml -f values` would merge them.
func overCI(t *testing.T, values map[string]any) map[string]any {
	t.Helper()
	return mergeValues(ciValues(t), values)
}

func mergeValues(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// render renders the chart as `helm install --dry-run` would: values
// coalesced over the defaults and validated against values.schema.json,
// then every template through Helm's engine. It returns the manifests
// (template path → YAML) and NOTES.txt.
func render(c *chart.Chart, values map[string]any) (map[string]string, string, error) {
	caps := *chartutil.DefaultCapabilities
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, "", err
	}
	caps.KubeVersion = *kv
	opts := chartutil.ReleaseOptions{Name: "oktasync", Namespace: "oktasync", Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(c, values, opts, &caps)
	if err != nil {
		return nil, "", err
	}
	out, err := engine.Render(c, vals)
	if err != nil {
		return nil, "", err
	}
	manifests := map[string]string{}
	var notes string
	for name, text := range out {
		switch {
		case strings.HasSuffix(name, "NOTES.txt"):
			notes = text
		case strings.HasSuffix(name, ".yaml"):
			manifests[name] = text
		}
	}
	return manifests, notes, nil
}

// renderObjects renders and strictly decodes every object.
func renderObjects(t *testing.T, c *chart.Chart, values map[string]any) (*objects, string) {
	t.Helper()
	manifests, notes, err := render(c, values)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	dec := newDecoder(t)
	objs := newObjects()
	names := make([]string, 0, len(manifests))
	for name := range manifests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := objs.decodeAll(dec, name, manifests[name]); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return objs, notes
}

// lookup reads a dotted path of the values, "" / nil when absent.
func lookup(values map[string]any, dotted string) any {
	var cur any = values
	for _, k := range strings.Split(dotted, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestHelmRender(t *testing.T) {
	c := loadChart(t)
	for _, vc := range valuesCases(t) {
		t.Run(vc.name, func(t *testing.T) {
			objs, notes := renderObjects(t, c, vc.values)
			// The coalesced values decide what must be there.
			all, err := chartutil.CoalesceValues(c, vc.values)
			if err != nil {
				t.Fatal(err)
			}
			v := all.AsMap()
			cron, serve := lookup(v, "cronJobs.enabled") == true, lookup(v, "serve.enabled") == true
			wantCron := 0
			if cron {
				wantCron = 1
				if lookup(v, "cronJobs.incremental.enabled") == true {
					wantCron = 2
				}
			}
			if len(objs.cronJobs) != wantCron {
				t.Errorf("%d CronJobs, want %d", len(objs.cronJobs), wantCron)
			}
			if want := map[bool]int{true: 1}[serve]; len(objs.deployments) != want || len(objs.services) != want {
				t.Errorf("%d Deployments and %d Services, want %d", len(objs.deployments), len(objs.services), want)
			}
			if len(objs.configMaps) != 1 {
				t.Errorf("%d ConfigMaps, want 1", len(objs.configMaps))
			}
			checkOptional := func(key string, n int) {
				if want := map[bool]int{true: 1}[lookup(v, key) == true]; n != want {
					t.Errorf("%s: %d objects, want %d", key, n, want)
				}
			}
			checkOptional("ingress.enabled", len(objs.ingresses))
			checkOptional("metrics.serviceMonitor.enabled", len(objs.serviceMonitors))
			checkOptional("networkPolicy.enabled", len(objs.networkPolicies))

			external := map[string]*corev1.Secret{}
			for _, k := range []string{"secrets.existingSecret", "secrets.oktaPrivateKey.existingSecret"} {
				if name, _ := lookup(v, k).(string); name != "" {
					external[name] = nil
				}
			}
			checkRendering(t, rendering{objs: objs, external: external})

			// Both modes: serve takes hooks, the CronJobs run the schedules.
			if cron && serve {
				for _, cm := range objs.configMaps {
					var cfg map[string]any
					if err := yaml.Unmarshal([]byte(cm.Data[configFile]), &cfg); err != nil {
						t.Fatal(err)
					}
					for _, k := range []string{"incremental", "full"} {
						if got := lookup(cfg, "serve.schedule."+k); got != "off" {
							t.Errorf("with the CronJobs, serve's %s schedule is %v, want off", k, got)
						}
					}
				}
			}
			// People search's credentials reach every workload from the
			// chart's Secret, exactly as given.
			if lookup(v, "secrets.existingSecret") == "" {
				r := rendering{objs: objs}
				for _, kv := range [][2]string{{"secrets.searchUsername", searchUserEnv}, {"secrets.searchPassword", searchPassEnv}} {
					want, _ := lookup(v, kv[0]).(string)
					for wname, spec := range objs.podSpecs() {
						if got := envValue(r, spec.Containers[0], kv[1]); got != want {
							t.Errorf("%s: %s = %q, want %s %q", wname, kv[1], got, kv[0], want)
						}
					}
				}
			}
			if url, _ := lookup(v, "metrics.pushgateway.url").(string); url != "" {
				for name, cj := range objs.cronJobs {
					if envValue(rendering{objs: objs}, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0], "OKTASYNC_PUSHGATEWAY_URL") != url {
						t.Errorf("CronJob %s does not push to %s", name, url)
					}
				}
			}

			// The full sync's deadline follows the README's formula.
			if full := objs.cronJobs["oktasync-full"]; full != nil && lookup(v, "cronJobs.full.activeDeadlineSeconds") == nil {
				want := fullDeadlineSeconds(deadlineInputsOf(v))
				if got := *full.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; got != want {
					t.Errorf("full sync activeDeadlineSeconds %d, want %d from the formula", got, want)
				}
			}

			if strings.TrimSpace(notes) == "" {
				t.Error("NOTES.txt renders empty")
			}
			if serve && !strings.Contains(notes, "oktasync hooks register --url https://") {
				t.Errorf("NOTES.txt does not say how to register the event hook:\n%s", notes)
			}
			// Secrets typed on a command line end up in shell history and
			// in the process list.
			for _, env := range []string{"OKTA_API_TOKEN", hookSecretsEnv} {
				if strings.Contains(notes, env+"=<") {
					t.Errorf("NOTES.txt puts %s on the command line:\n%s", env, notes)
				}
			}
			// The image is the operator's own build: NOTES says which, and how to make the next.
			if img := lookup(v, "image.repository").(string); !strings.Contains(notes, img) || !strings.Contains(notes, "Dockerfile") {
				t.Errorf("NOTES.txt does not name the image %s and how it is built:\n%s", img, notes)
			}
			if !strings.Contains(notes, "etrics") {
				t.Errorf("NOTES.txt does not say where the metrics are:\n%s", notes)
			}
		})
	}
}

// TestHelmLintStrict is `helm lint --strict` for every values case: any
// warning or error fails.
func TestHelmLintStrict(t *testing.T) {
	for _, vc := range valuesCases(t) {
		t.Run(vc.name, func(t *testing.T) {
			kv, err := chartutil.ParseKubeVersion(kubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			res := lint.AllWithKubeVersion(chartDir, vc.values, "oktasync", kv)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// TestHelmSchemaRejectsTypos: values.schema.json refuses what the chart
// would otherwise ignore, so `helm install` fails on it.
func TestHelmSchemaRejectsTypos(t *testing.T) {
	c := loadChart(t)
	if _, _, err := render(c, ciValues(t)); err != nil {
		t.Fatalf("the defaults do not render: %v", err)
	}
	for _, tc := range []struct {
		name, values, wantErr string
	}{
		{"misspelt top-level key", "cronjobs: {enabled: true}", "cronjobs"},
		{"misspelt nested key", "cronJobs: {full: {schedul: '0 3 * * *'}}", "schedul"},
		{"misspelt config key", "config: {okta: {page_sise: 100}}", "page_sise"},
		{"unknown config section", "config: {neo4jj: {uri: bolt://x}}", "neo4jj"},
		{"secret in the config", "config: {neo4j: {password: hunter2}}", "password"},
		{"token in the config", "config: {okta: {api_token: abc}}", "api_token"},
		{"wrong type", "cronJobs: {full: {backoffLimit: two}}", "backoffLimit"},
		{"out of range", "config: {okta: {page_size: 500}}", "page_size"},
		{"bad enum", "config: {mapping: {key: mail}}", "key"},
		{"bad status mapping", "config: {mapping: {status: {STAGED: maybe}}}", "STAGED"},
		{"latest tag", "image: {tag: latest}", "tag"},
		{"no image", "image: {repository: ''}", "image.repository is not set: there is no public oktasync image. Build the repository's Dockerfile"},
		{"the placeholder image", "image: {repository: ghcr.io/oktasync/oktasync}", "image.repository is the documentation's placeholder"},
		{"short hook secret", "secrets: {hookSecrets: [short]}", "hookSecrets"},
		{"typo in a resource", "resources: {requests: {memroy: 1Gi}}", "memroy"},
		{"credentials in the Pushgateway URL", "metrics: {pushgateway: {url: 'http://u:p@pg:9091'}}", "url"},
		{"spool outside /tmp (read-only root filesystem)", "config: {sync: {spool_dir: /var/spool/oktasync}}", "spool_dir"},
		{"spool escaping /tmp", "config: {sync: {spool_dir: /tmp/../etc}}", "spool_dir"},
		{"spool in a /tmp look-alike", "config: {sync: {spool_dir: /tmpfoo}}", "spool_dir"},
		{"CSV output in the chart", "config: {csv_dir: /tmp/out}", "csv_dir"},
		{"the Pushgateway in the config", "config: {pushgateway: 'http://pg:9091'}", "pushgateway"},
		{"serve's address in the config", "config: {serve: {listen: ':9090'}}", "listen"},
		{"a comma in a hook secret", "secrets: {hookSecrets: ['first-part-0123456789,second-part-0123456789']}", "hookSecrets"},
		{"search password in the config", "config: {search: {password: hunter2}}", "password"},
		{"search user in the config", "config: {search: {username: elastic}}", "username"},
		{"credentials in the search URL", "config: {search: {url: 'https://elastic:pw@es:9200'}}", "url"},
		{"search URL without a scheme", "config: {search: {url: 'es:9200'}}", "url"},
		{"misspelt search key", "config: {search: {keep_inactives: true}}", "keep_inactives"},
		{"search CA path in the config (secrets.searchCA mounts it)", "config: {search: {ca_file: /etc/ssl/ca.pem}}", "ca_file"},
		{"search password without a user", "secrets: {searchPassword: pw}", "secrets.searchUsername"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var values map[string]any
			if err := yaml.Unmarshal([]byte(tc.values), &values); err != nil {
				t.Fatal(err)
			}
			_, _, err := render(c, overCI(t, values))
			if err == nil {
				t.Fatalf("values %s rendered", tc.values)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error does not name %q: %v", tc.wantErr, err)
			}
		})
	}
}

// TestHelmSchemaIsClosed: every object in values.schema.json says what else
// it accepts (additionalProperties), and the config section reaches every
// documented option of config.example.yaml.
func TestHelmSchemaIsClosed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(where string, s map[string]any)
	walk = func(where string, s map[string]any) {
		if props, ok := s["properties"].(map[string]any); ok {
			if s["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties is not false", where)
			}
			for k, p := range props {
				walk(where+"."+k, p.(map[string]any))
			}
		} else if s["type"] == "object" && s["additionalProperties"] == nil {
			t.Errorf("%s: an object schema without properties or additionalProperties", where)
		}
		for _, k := range []string{"items", "additionalProperties"} {
			if sub, ok := s[k].(map[string]any); ok {
				walk(where+"."+k, sub)
			}
		}
		if alts, ok := s["anyOf"].([]any); ok {
			for i, sub := range alts {
				walk(fmt.Sprintf("%s.anyOf[%d]", where, i), sub.(map[string]any))
			}
		}
	}
	walk("values", schema)

	example, err := os.ReadFile(filepath.Join(repoRoot, "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(example, &doc); err != nil {
		t.Fatal(err)
	}
	cfgSchema := schema["properties"].(map[string]any)["config"].(map[string]any)
	freeForm := map[string]bool{"mapping.status": true, "mapping.extra_attributes": true}
	// Options the chart sets elsewhere, or that make no sense in it: the
	// schema refuses them (TestHelmSchemaRejectsTypos).
	notInChart := map[string]string{
		"csv_dir":        "the chart's pods write to Neo4j; CSV output would vanish with the pod",
		"pushgateway":    "metrics.pushgateway.url",
		"serve.listen":   "serve.port (the chart passes --listen)",
		"search.ca_file": "secrets.searchCA (the chart mounts it and sets ca_file)",
	}
	seen := map[string]bool{}
	var cover func(prefix string, doc map[string]any, s map[string]any)
	cover = func(prefix string, doc map[string]any, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		for k, v := range doc {
			key := strings.TrimPrefix(prefix+"."+k, ".")
			p, ok := props[k].(map[string]any)
			if _, skip := notInChart[key]; skip {
				seen[key] = true
				if ok {
					t.Errorf("config.%s is in values.schema.json, but the chart sets it elsewhere or cannot use it: %s", key, notInChart[key])
				}
				continue
			}
			if !ok {
				t.Errorf("config.%s (config.example.yaml) is not reachable through values.schema.json", key)
				continue
			}
			if sub, ok := v.(map[string]any); ok && !freeForm[key] {
				cover(key, sub, p)
			}
		}
	}
	cover("", doc, cfgSchema)
	for key := range notInChart {
		if !seen[key] {
			t.Errorf("config.%s is no longer in config.example.yaml: drop it from notInChart", key)
		}
	}
}

// deadlineInputs are what the full sync's deadline depends on.
type deadlineInputs struct {
	users, pageSize, perMinute int
	share, reserve             float64
}

func deadlineInputsOf(v map[string]any) deadlineInputs {
	in := deadlineInputs{users: toInt(lookup(v, "deadlines.expectedUsers")), perMinute: toInt(lookup(v, "deadlines.listRequestsPerMinute")),
		share: toFloat(lookup(v, "deadlines.tokenShare")), pageSize: 200, reserve: 0.1}
	if p := lookup(v, "config.okta.page_size"); p != nil {
		in.pageSize = toInt(p)
	}
	if r := lookup(v, "config.okta.rate_limit_reserve"); r != nil {
		in.reserve = toFloat(r)
	}
	return in
}

// fullRequests is the Okta list requests of a full sync: the plain list and
// the DEPROVISIONED pass together read every user, one page boundary more.
func fullRequests(users, pageSize int) int { return (users+pageSize-1)/pageSize + 1 }

// floorSeconds is the least time those requests take at the rate oktasync
// allows itself: the token's share of the bucket minus the reserve.
func floorSeconds(in deadlineInputs) float64 {
	return float64(fullRequests(in.users, in.pageSize)) * 60 / (float64(in.perMinute) * in.share * (1 - in.reserve))
}

// fullDeadlineSeconds is the README's formula: twice the floor plus 30
// minutes, rounded up to 5 minutes.
func fullDeadlineSeconds(in deadlineInputs) int64 {
	return int64(math.Ceil((2*floorSeconds(in)+1800)/300)) * 300
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}

// TestDeadlineTable: the chart computes the README's table, and the table
// is the formula's.
func TestDeadlineTable(t *testing.T) {
	c := loadChart(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, users := range []int{10_000, 100_000, 1_000_000} {
		in := deadlineInputs{users: users, pageSize: 200, perMinute: 600, share: 0.5, reserve: 0.1}
		want := fullDeadlineSeconds(in)
		objs, _ := renderObjects(t, c, overCI(t, map[string]any{"deadlines": map[string]any{"expectedUsers": users}}))
		if got := *objs.cronJobs["oktasync-full"].Spec.JobTemplate.Spec.ActiveDeadlineSeconds; got != want {
			t.Errorf("%d users: the chart renders activeDeadlineSeconds %d, the formula says %d", users, got, want)
		}
		floor := fmt.Sprintf("%.0f s", floorSeconds(in))
		if floorSeconds(in) >= 600 {
			floor += fmt.Sprintf(" (%.1f min)", floorSeconds(in)/60)
		}
		row := fmt.Sprintf("| %s | %d | %s | %d s | 840 s |\n", groupThousands(users), fullRequests(users, 200), floor, want)
		if !strings.Contains(string(readme), row) {
			t.Errorf("README's deadline table lacks the row %q", row)
		}
	}
}

func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
