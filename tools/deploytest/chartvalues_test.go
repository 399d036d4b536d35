package deploytest

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"sigs.k8s.io/yaml"
)

// TestHelmRefusesIncompleteValues: without an image, Okta credentials or
// the org URL the chart fails with what to set, instead of rendering CronJobs that can
// never succeed; with a Secret the chart cannot see into, it trusts it.
func TestHelmRefusesIncompleteValues(t *testing.T) {
	c := loadChart(t)
	for _, tc := range []struct {
		name, values, wantErr string
	}{
		{"the defaults", "image: {repository: ''}", "image.repository is not set: there is no public oktasync image"},
		{"an image only", "{}", "no Okta credentials"},
		{"a token, no org URL", "secrets: {oktaApiToken: abc}", "config.okta.org_url"},
		{"an org URL, no credentials", "config: {okta: {org_url: 'https://acme.okta.com'}}", "no Okta credentials"},
		{"a Neo4j password is not an Okta credential", "secrets: {neo4jPassword: pw}\nconfig: {okta: {org_url: 'https://acme.okta.com'}}", "no Okta credentials"},
		{"a key without client id", "secrets: {oktaPrivateKey: {pem: x}}\nconfig: {okta: {org_url: 'https://acme.okta.com'}}", "config.okta.client_id"},
		{"an existing Secret", "secrets: {existingSecret: oktasync}", ""},
		{"a service app", "secrets: {oktaPrivateKey: {existingSecret: key}}\nconfig: {okta: {org_url: 'https://acme.okta.com', client_id: 0oa1}}", ""},
		{"a token and the org URL", "secrets: {oktaApiToken: abc}\nconfig: {okta: {org_url: 'https://acme.okta.com'}}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var values map[string]any
			if err := yaml.Unmarshal([]byte(tc.values), &values); err != nil {
				t.Fatal(err)
			}
			// An image of the operator's own, unless the case says otherwise.
			values = mergeValues(map[string]any{"image": map[string]any{"repository": "registry.example.com/oktasync"}}, values)
			_, _, err := render(c, values)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("values %s rendered", tc.values)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error does not name %q: %v", tc.wantErr, err)
			}
		})
	}
}

// podTemplateAnnotation renders the chart with serve on and returns an
// annotation of serve's pod template, and NOTES.txt.
func podTemplateAnnotation(t *testing.T, values map[string]any, key string) (string, string) {
	t.Helper()
	objs, notes := renderObjects(t, loadChart(t), overCI(t, values))
	d := objs.deployments["oktasync"]
	if d == nil {
		t.Fatal("no Deployment oktasync")
	}
	return d.Spec.Template.Annotations[key], notes
}

// TestHelmSecretChangeRollsServe: serve reads its Secrets once, so a change
// of a Secret the chart renders (a rotated hook secret, a new token) changes
// serve's pod template, and Kubernetes replaces the pod.
func TestHelmSecretChangeRollsServe(t *testing.T) {
	base := map[string]any{"serve": map[string]any{"enabled": true},
		"secrets": map[string]any{"hookSecrets": []any{"first-hook-secret-0123456789"}}}
	sum, notes := podTemplateAnnotation(t, base, "checksum/secret")
	if sum == "" {
		t.Fatal("serve's pod template has no checksum/secret annotation")
	}
	if strings.Contains(notes, "rollout restart") {
		t.Errorf("NOTES.txt asks for a restart although the chart rolls serve itself:\n%s", notes)
	}
	for _, change := range []map[string]any{
		{"secrets": map[string]any{"hookSecrets": []any{"second-hook-secret-0123456789", "first-hook-secret-0123456789"}}},
		{"secrets": map[string]any{"oktaApiToken": "another-token"}},
		{"secrets": map[string]any{"neo4jPassword": "another-password"}},
		{"secrets": map[string]any{"searchUsername": "search-user", "searchPassword": "another-password"}},
	} {
		if got, _ := podTemplateAnnotation(t, mergeValues(base, change), "checksum/secret"); got == sum {
			t.Errorf("changing %v leaves serve's pod template as it was", change)
		}
	}
	if got, _ := podTemplateAnnotation(t, mergeValues(base, map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "300Mi"}}}), "checksum/secret"); got != sum {
		t.Error("checksum/secret changes with values that are not in a Secret")
	}

	// A Secret the user manages: the chart cannot see it change; NOTES.txt
	// says how to restart serve.
	external := map[string]any{"serve": map[string]any{"enabled": true}, "secrets": map[string]any{"existingSecret": "oktasync"}}
	sum, notes = podTemplateAnnotation(t, external, "checksum/secret")
	if sum != "" {
		t.Errorf("checksum/secret %q over no rendered Secret", sum)
	}
	if !strings.Contains(notes, "kubectl -n oktasync rollout restart deployment/oktasync") {
		t.Errorf("NOTES.txt does not say to restart serve after changing secrets.existingSecret:\n%s", notes)
	}
}

// TestHelmHookSecretsExact: the rendered Secret holds the hook secrets
// exactly, whatever characters they have.
func TestHelmHookSecretsExact(t *testing.T) {
	secrets := []any{`quote"back\slash'single$dollar#hash`, "tab\tunicode-é-\u2028-0123456789", `{{ "braces" }} : colon- dash`}
	objs, _ := renderObjects(t, loadChart(t), overCI(t, map[string]any{"serve": map[string]any{"enabled": true},
		"secrets": map[string]any{"hookSecrets": secrets}}))
	s := objs.secrets["oktasync-hook"]
	if s == nil {
		t.Fatal("no Secret oktasync-hook")
	}
	want := make([]string, len(secrets))
	for i, v := range secrets {
		want[i] = v.(string)
	}
	if got := secretData(s)[hookSecretsEnv]; got != strings.Join(want, ",") {
		t.Errorf("%s = %q, want %q", hookSecretsEnv, got, strings.Join(want, ","))
	}
}

// checkSchedules: no two CronJobs of a rendering start in the same minute
// (the incremental sync would be skipped by the full one's lock, or run
// against it), checked over four years of the first one's runs.
func checkSchedules(t *testing.T, r rendering) {
	type sched struct {
		name string
		s    cron.Schedule
	}
	var all []sched
	for name, cj := range r.objs.cronJobs {
		s, err := cron.ParseStandard(cj.Spec.Schedule)
		if err != nil {
			t.Errorf("CronJob %s: schedule %q: %v", name, cj.Spec.Schedule, err)
			continue
		}
		all = append(all, sched{name, s})
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(4, 0, 0)
	for i, a := range all {
		for _, b := range all[i+1:] {
			for at := a.s.Next(start.Add(-time.Second)); at.Before(end); at = a.s.Next(at) {
				if b.s.Next(at.Add(-time.Second)).Equal(at) {
					t.Errorf("CronJobs %s and %s both start at %s", a.name, b.name, at.Format(time.RFC3339))
					break
				}
			}
		}
	}
}
