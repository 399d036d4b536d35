package deploytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// What the image and the product expect, whichever way it is deployed.
const (
	imageUID       = 65532
	configDir      = "/etc/oktasync"
	configFile     = "config.yaml"
	hookSecretsEnv = "OKTASYNC_HOOK_SECRETS"
	privateKeyEnv  = "OKTA_PRIVATE_KEY_FILE"
	searchUserEnv  = "OKTASYNC_SEARCH_USERNAME"
	searchPassEnv  = "OKTASYNC_SEARCH_PASSWORD"
)

// secretEnvs are the environment variables that carry secrets; none of them,
// nor any value of a rendered Secret, may appear in a ConfigMap.
var secretEnvs = []string{"OKTA_API_TOKEN", "OKTA_PRIVATE_KEY", "NEO4J_PASSWORD", hookSecretsEnv, searchPassEnv}

// rendering is one way of deploying: the objects Helm or kustomize produced,
// plus the Secrets the user creates beside them (nil: contents unknown, as
// with the chart's secrets.existingSecret).
type rendering struct {
	objs     *objects
	external map[string]*corev1.Secret
}

func (r rendering) secret(name string) (s *corev1.Secret, known bool) {
	if s, ok := r.objs.secrets[name]; ok {
		return s, true
	}
	s, ok := r.external[name]
	return s, ok
}

// secretData is a Secret's keys and values, data and stringData alike.
func secretData(s *corev1.Secret) map[string]string {
	m := map[string]string{}
	for k, v := range s.Data {
		m[k] = string(v)
	}
	for k, v := range s.StringData {
		m[k] = v
	}
	return m
}

// checkRendering asserts every invariant of a deployment on r.
func checkRendering(t *testing.T, r rendering) {
	t.Helper()
	if len(r.objs.podSpecs()) == 0 {
		t.Fatal("no workload")
	}
	for name, spec := range r.objs.podSpecs() {
		t.Run(name, func(t *testing.T) { checkPodSpec(t, r, spec) })
	}
	for name, cj := range r.objs.cronJobs {
		t.Run("CronJob/"+name+"/job", func(t *testing.T) { checkCronJob(t, r, cj) })
	}
	for name := range r.objs.deployments {
		t.Run("Deployment/"+name+"/server", func(t *testing.T) { checkDeployment(t, r, name) })
	}
	t.Run("no secret in a ConfigMap", func(t *testing.T) { checkConfigMaps(t, r) })
	t.Run("config accepted by oktasync", func(t *testing.T) { checkConfigAccepted(t, r) })
	t.Run("exposure", func(t *testing.T) { checkExposure(t, r) })
	t.Run("schedules apart", func(t *testing.T) { checkSchedules(t, r) })
}

func checkPodSpec(t *testing.T, r rendering, spec *corev1.PodSpec) {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false (oktasync never calls the Kubernetes API)")
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks is not false (Service variables would enter the environment)")
	}
	psc := spec.SecurityContext
	if psc == nil {
		t.Fatal("no pod securityContext")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != imageUID {
		t.Errorf("pod: runAsUser is not %d (the distroless nonroot user)", imageUID)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccompProfile is not RuntimeDefault")
	}
	if len(spec.InitContainers)+len(spec.EphemeralContainers) != 0 {
		t.Error("init or ephemeral containers: extend this test to check them")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
		if s := v.Secret; s != nil {
			if _, known := r.secret(s.SecretName); !known {
				t.Errorf("volume %s: Secret %q is neither rendered nor one the user creates", v.Name, s.SecretName)
			}
			if s.DefaultMode == nil || *s.DefaultMode&0o007 != 0 {
				t.Errorf("volume %s: Secret files must not be world-readable (defaultMode)", v.Name)
			}
		}
		if c := v.ConfigMap; c != nil && r.objs.configMaps[c.Name] == nil {
			t.Errorf("volume %s: ConfigMap %q is not rendered", v.Name, c.Name)
		}
	}

	c := spec.Containers[0]
	if c.Name != "oktasync" {
		t.Errorf("container %q, want oktasync (podFailurePolicy names it)", c.Name)
	}
	if i := strings.LastIndex(c.Image, ":"); i < 0 || strings.Contains(c.Image[i:], "/") || c.Image[i+1:] == "latest" || c.Image[i+1:] == "" {
		t.Errorf("image %q: pin a version tag", c.Image)
	}
	if len(c.Command) != 0 {
		t.Errorf("command %q overrides the image's entrypoint; use args", c.Command)
	}

	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("no container securityContext")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("runAsNonRoot is not true")
	}
	if sc.RunAsUser != nil && *sc.RunAsUser != imageUID {
		t.Errorf("runAsUser %d, want %d", *sc.RunAsUser, imageUID)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Error("capabilities: want drop [ALL] and nothing added")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccompProfile is not RuntimeDefault")
	}

	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
			t.Errorf("no %s request", res)
		}
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || limit.IsZero() {
		t.Error("no memory limit")
	} else if req := c.Resources.Requests[corev1.ResourceMemory]; limit.Cmp(req) < 0 {
		t.Errorf("memory limit %s below the request %s", limit.String(), req.String())
	}

	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			if _, known := r.secret(ef.SecretRef.Name); !known {
				t.Errorf("envFrom: Secret %q is neither rendered nor one the user creates", ef.SecretRef.Name)
			}
		}
		if ef.ConfigMapRef != nil {
			t.Errorf("envFrom: ConfigMap %q: configuration comes from the config file, credentials from Secrets", ef.ConfigMapRef.Name)
		}
	}
	if len(envFromSecrets(c)) == 0 {
		t.Error("no envFrom Secret: where do the credentials come from?")
	}
	for _, e := range c.Env {
		if slices.Contains(secretEnvs, e.Name) && e.Value != "" {
			t.Errorf("env %s holds a literal value: secrets come from Secrets", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if s, known := r.secret(ref.Name); !known {
				t.Errorf("env %s: Secret %q is neither rendered nor one the user creates", e.Name, ref.Name)
			} else if _, ok := secretData(s)[ref.Key]; s != nil && !ok {
				t.Errorf("env %s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
			}
		}
		if e.Name == "TMPDIR" {
			t.Error("TMPDIR is set: the image sets TMPDIR=/tmp, where the emptyDir is")
		}
	}

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("volumeMount %s: no volume %q", m.MountPath, m.Name)
			continue
		}
		if (v.Secret != nil || v.ConfigMap != nil) && !m.ReadOnly {
			t.Errorf("volumeMount %s: mount Secrets and ConfigMaps readOnly", m.MountPath)
		}
		if m.SubPath != "" {
			t.Errorf("volumeMount %s: subPath mounts never see updates", m.MountPath)
		}
	}
	// With a read-only root filesystem, the manager spool needs /tmp.
	if m, ok := mounts["/tmp"]; !ok || volumes[m.Name].EmptyDir == nil {
		t.Error("no emptyDir mounted at /tmp (the manager spool, TMPDIR)")
	}
	// --config names the config file of a mounted ConfigMap.
	if got := flagValue(c.Args, "--config"); got != path.Join(configDir, configFile) {
		t.Errorf("args %q: --config %q, want %s", c.Args, got, path.Join(configDir, configFile))
	}
	if cm := mountedConfigMap(r, spec); cm == nil {
		t.Errorf("no ConfigMap with %s mounted at %s", configFile, configDir)
	}
	// A private key file is a mounted Secret file.
	if keyFile := envValue(r, c, privateKeyEnv); keyFile != "" {
		m, ok := mounts[path.Dir(keyFile)]
		if !ok || volumes[m.Name].Secret == nil {
			t.Errorf("%s=%s, but no Secret is mounted at %s", privateKeyEnv, keyFile, path.Dir(keyFile))
		}
	}
}

// secretMountedAt reports whether a Secret volume is mounted at dir.
func secretMountedAt(spec *corev1.PodSpec, dir string) bool {
	for _, m := range spec.Containers[0].VolumeMounts {
		if m.MountPath != dir {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return true
			}
		}
	}
	return false
}

// searchURLs are the people-search servers the rendered config files name.
func searchURLs(t *testing.T, r rendering) []string {
	var urls []string
	for name, cm := range r.objs.configMaps {
		data, ok := cm.Data[configFile]
		if !ok {
			continue
		}
		var cfg struct {
			Search struct {
				URL string `json:"url"`
			} `json:"search"`
		}
		if err := yaml.Unmarshal([]byte(data), &cfg); err != nil {
			t.Errorf("ConfigMap %s: %v", name, err)
			continue
		}
		if cfg.Search.URL != "" {
			urls = append(urls, cfg.Search.URL)
		}
	}
	return urls
}

// urlPort is the TCP port of an http(s) URL.
func urlPort(t *testing.T, raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		t.Errorf("search.url %q: %v", raw, err)
		return 0
	}
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// mountedConfigMap is the ConfigMap mounted at configDir with configFile.
func mountedConfigMap(r rendering, spec *corev1.PodSpec) *corev1.ConfigMap {
	for _, m := range spec.Containers[0].VolumeMounts {
		if m.MountPath != configDir {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				if cm := r.objs.configMaps[v.ConfigMap.Name]; cm != nil {
					if _, ok := cm.Data[configFile]; ok {
						return cm
					}
				}
			}
		}
	}
	return nil
}

// envValue is the value the container sees for name: a literal env entry,
// or a key of an envFrom Secret whose contents are known.
func envValue(r rendering, c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	for _, s := range envFromSecrets(c) {
		if sec, _ := r.secret(s); sec != nil {
			if v, ok := secretData(sec)[name]; ok {
				return v
			}
		}
	}
	return ""
}

func checkCronJob(t *testing.T, r rendering, cj *batchv1.CronJob) {
	// The CronJob controller appends 11 characters to Job names.
	if len(cj.Name) > 52 {
		t.Errorf("name longer than 52 characters")
	}
	s := cj.Spec
	if len(strings.Fields(s.Schedule)) != 5 {
		t.Errorf("schedule %q: want five fields", s.Schedule)
	}
	if s.TimeZone == nil || *s.TimeZone == "" {
		t.Error("no timeZone: the schedule would follow the controller's local time")
	}
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds < 10 {
		t.Error("startingDeadlineSeconds unset or under 10 s (which may never schedule)")
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil || *s.FailedJobsHistoryLimit < 1 {
		t.Error("successfulJobsHistoryLimit and failedJobsHistoryLimit (≥ 1) must be set")
	}
	if s.Suspend != nil && *s.Suspend {
		t.Error("suspended")
	}

	j := s.JobTemplate.Spec
	if j.BackoffLimit == nil || *j.BackoffLimit > 3 {
		t.Error("backoffLimit unset or over 3")
	}
	switch d := j.ActiveDeadlineSeconds; {
	case d == nil || *d <= 0:
		t.Error("activeDeadlineSeconds unset")
	case scheduleIntervalMinutes(s.Schedule) > 0 && *d >= int64(scheduleIntervalMinutes(s.Schedule)*60):
		t.Errorf("activeDeadlineSeconds %d reaches into the next run, %d minutes later", *d, scheduleIntervalMinutes(s.Schedule))
	case *d > 24*3600:
		t.Errorf("activeDeadlineSeconds %d exceeds a day", *d)
	}
	if j.TTLSecondsAfterFinished == nil || *j.TTLSecondsAfterFinished < 3600 {
		t.Error("ttlSecondsAfterFinished unset or under an hour (too short to read a failure)")
	}
	pod := j.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never (podFailurePolicy requires it)", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	if sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: j.Template.Labels}); err != nil || sel.Empty() {
		t.Error("the pod template has no labels (NetworkPolicies and logs select by them)")
	}

	p := j.PodFailurePolicy
	if p == nil {
		t.Fatal("no podFailurePolicy")
	}
	container := pod.Containers[0].Name
	for _, rule := range p.Rules {
		if e := rule.OnExitCodes; e != nil {
			if !slices.IsSorted(e.Values) || len(slices.Compact(slices.Clone(e.Values))) != len(e.Values) || slices.Contains(e.Values, 0) {
				t.Errorf("onExitCodes values %v: the API wants them sorted, unique, without 0", e.Values)
			}
			if e.ContainerName != nil && *e.ContainerName != container {
				t.Errorf("onExitCodes containerName %q names no container", *e.ContainerName)
			}
		}
	}
	for code, want := range map[int32]batchv1.PodFailurePolicyAction{
		2: batchv1.PodFailurePolicyActionFailJob, // bad configuration
		3: batchv1.PodFailurePolicyActionFailJob, // refused: needs a human
	} {
		if got, ok := firstExitCodeRule(p, container, code); !ok || got != want {
			t.Errorf("exit code %d: podFailurePolicy action %q, want %q", code, got, want)
		}
	}
	if got, ok := firstExitCodeRule(p, container, 1); ok {
		t.Errorf("exit code 1 (a failed run, maybe transient) has action %q; it should count against backoffLimit", got)
	}
	ignoresDisruption := false
	for _, rule := range p.Rules {
		for _, c := range rule.OnPodConditions {
			if c.Type == corev1.DisruptionTarget && rule.Action == batchv1.PodFailurePolicyActionIgnore {
				ignoresDisruption = true
			}
		}
	}
	if !ignoresDisruption {
		t.Error("no podFailurePolicy rule ignoring DisruptionTarget (evictions would use up retries)")
	}

	args := pod.Containers[0].Args
	if len(args) == 0 || args[0] != "sync" {
		t.Errorf("args %q: want the sync command", args)
	}
	if got, want := slices.Contains(args, "--incremental"), strings.HasSuffix(cj.Name, "-incremental"); got != want {
		t.Errorf("args %q: --incremental is %v, want %v", args, got, want)
	}
	if envValue(r, pod.Containers[0], hookSecretsEnv) != "" {
		t.Error("the CronJobs do not need the event hook secrets")
	}
}

func checkDeployment(t *testing.T, r rendering, name string) {
	d := r.objs.deployments[name]
	s := d.Spec
	if s.Replicas == nil || *s.Replicas != 1 {
		t.Error("replicas must be 1: the schedules run in the process")
	}
	if s.Strategy.Type != "Recreate" {
		t.Errorf("strategy %q, want Recreate (a rolling update runs two schedulers)", s.Strategy.Type)
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(s.Template.Labels)) {
		t.Errorf("selector %v does not select the pod template's labels %v (%v)", s.Selector, s.Template.Labels, err)
	}
	for cname, cj := range r.objs.cronJobs {
		if !sel.Empty() && sel.Matches(labels.Set(cj.Spec.JobTemplate.Spec.Template.Labels)) {
			t.Errorf("the selector also selects the pods of CronJob %s", cname)
		}
	}
	pod := s.Template.Spec
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 50 {
		t.Error("terminationGracePeriodSeconds unset or under 50 (serve drains for up to 20 s, then waits up to 15 s for an in-flight commit's answer and 10 s for its session to close)")
	}
	if pod.RestartPolicy != "" && pod.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want the serve command", c.Args)
	}
	http := containerPort(c, "http")
	if http == nil {
		t.Fatal("no container port named http")
	}
	if listen := flagValue(c.Args, "--listen"); listen != ":"+strconv.Itoa(int(http.ContainerPort)) {
		t.Errorf("--listen %q does not match containerPort %d", listen, http.ContainerPort)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"startupProbe", c.StartupProbe, "/healthz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe (the image has no shell)", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if !portIs(p.probe.HTTPGet.Port, http) {
			t.Errorf("%s: port %s is not the http port", p.name, p.probe.HTTPGet.Port.String())
		}
	}
	if a := s.Template.Annotations; a["prometheus.io/scrape"] != "" {
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(int(http.ContainerPort)) {
			t.Errorf("Prometheus scrape annotations %v do not point at /metrics on port %d", a, http.ContainerPort)
		}
	}

	// The hook secrets reach serve: from a Secret whose contents are known
	// to hold them, or from one the user creates.
	hook := false
	for _, n := range envFromSecrets(c) {
		if sec, known := r.secret(n); known && (sec == nil || secretData(sec)[hookSecretsEnv] != "") {
			hook = true
		}
	}
	if !hook {
		t.Errorf("no envFrom Secret provides %s", hookSecretsEnv)
	}

	// A Service selects the pods on the http port.
	served := false
	for sname, svc := range r.objs.services {
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(s.Template.Labels)) {
			t.Errorf("Service %s: selector %v does not select the Deployment's pods %v", sname, svc.Spec.Selector, s.Template.Labels)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == "http" && portIs(p.TargetPort, http) {
				served = true
			} else {
				t.Errorf("Service %s: port %q targets %s, not the http container port", sname, p.Name, p.TargetPort.String())
			}
		}
	}
	if !served {
		t.Error("no Service serves the http port")
	}
}

// checkConfigMaps: no ConfigMap holds a secret's name as a key or any value
// of a rendered Secret.
func checkConfigMaps(t *testing.T, r rendering) {
	var values []string
	for _, s := range r.objs.secrets {
		for _, v := range secretData(s) {
			if len(strings.TrimSpace(v)) >= 8 {
				values = append(values, strings.TrimSpace(v))
			}
		}
	}
	for name, cm := range r.objs.configMaps {
		for key, data := range cm.Data {
			lower := strings.ToLower(data)
			for _, word := range []string{"password", "api_token", "token:", "private_key", "secret", "-----begin"} {
				if strings.Contains(lower, word) {
					t.Errorf("ConfigMap %s, %s: contains %q: secrets come only from Secrets", name, key, word)
				}
			}
			for _, env := range secretEnvs {
				if strings.Contains(data, env) {
					t.Errorf("ConfigMap %s, %s: names %s", name, key, env)
				}
			}
			for _, v := range values {
				for _, line := range strings.Split(v, "\n") {
					if line = strings.TrimSpace(line); len(line) >= 8 && strings.Contains(data, line) {
						t.Errorf("ConfigMap %s, %s: holds a value of a Secret", name, key)
					}
				}
			}
		}
	}
}

// checkConfigAccepted runs `oktasync check-config` on each workload's config
// file with its arguments and the environment its Secrets would give it:
// oktasync refuses unknown keys and secrets in the file.
func checkConfigAccepted(t *testing.T, r rendering) {
	key := testKeyPEM(t)
	for name, spec := range r.objs.podSpecs() {
		cm := mountedConfigMap(r, spec)
		if cm == nil {
			continue // reported by checkPodSpec
		}
		c := spec.Containers[0]
		file := filepath.Join(t.TempDir(), configFile)
		if err := os.WriteFile(file, []byte(cm.Data[configFile]), 0o600); err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Okta struct {
				OrgURL   string `json:"org_url"`
				ClientID string `json:"client_id"`
			} `json:"okta"`
			Search struct {
				CAFile string `json:"ca_file"`
			} `json:"search"`
		}
		if err := yaml.Unmarshal([]byte(cm.Data[configFile]), &cfg); err != nil {
			t.Errorf("%s: config.yaml: %v", name, err)
			continue
		}
		// The search server's CA bundle is a file of a mounted Secret;
		// oktasync checks it exists, so a file of the test's own stands in
		// for it here.
		if ca := cfg.Search.CAFile; ca != "" {
			if !secretMountedAt(spec, path.Dir(ca)) {
				t.Errorf("%s: search.ca_file %s, but no Secret is mounted at %s", name, ca, path.Dir(ca))
			}
			local := filepath.Join(t.TempDir(), path.Base(ca))
			if err := os.WriteFile(local, []byte(testCertPEM(t)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(strings.ReplaceAll(cm.Data[configFile], ca, local)), 0o600); err != nil {
				t.Fatal(err)
			}
		}

		env := map[string]string{}
		unknown := false // an envFrom Secret the user creates, contents unknown
		for _, s := range envFromSecrets(c) {
			sec, known := r.secret(s)
			switch {
			case sec != nil:
				for k, v := range secretData(sec) {
					env[k] = v
				}
			case known:
				unknown = true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env[e.Name] = e.Value
			}
		}
		// What a real deployment adds: the key file's contents (the file
		// the pod mounts; a key of the test's own here), and what a Secret
		// of unknown contents holds. A Secret the rendering creates is
		// taken as it is: nothing is filled in for it.
		oauth := cfg.Okta.ClientID != "" || env["OKTA_CLIENT_ID"] != ""
		switch {
		case oauth && env[privateKeyEnv] == "":
			t.Errorf("%s: an OAuth service app is configured, but %s is not set", name, privateKeyEnv)
		case oauth:
			env["OKTA_PRIVATE_KEY"] = key
		case unknown && env["OKTA_API_TOKEN"] == "":
			env["OKTA_API_TOKEN"] = "test-token"
		}
		delete(env, privateKeyEnv)
		if unknown && cfg.Okta.OrgURL == "" && env["OKTA_ORG_URL"] == "" {
			env["OKTA_ORG_URL"] = "https://example.okta.com"
		}
		if unknown && c.Args[0] == "serve" && env[hookSecretsEnv] == "" {
			env[hookSecretsEnv] = "a-hook-secret-of-32-characters!!"
		}

		args := append([]string{"check-config"}, c.Args[1:]...)
		if c.Args[0] == "serve" {
			args = append(args, "--serve")
		}
		for i := range args {
			if args[i] == path.Join(configDir, configFile) {
				args[i] = file
			}
		}
		cmd := exec.Command(oktasyncBin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: oktasync %s: %v\n%s\nconfig.yaml:\n%s", name, strings.Join(c.Args, " "), err, out, cm.Data[configFile])
		}
	}
}

// checkExposure: the Ingress, ServiceMonitor and NetworkPolicy point at what
// the rendering runs.
func checkExposure(t *testing.T, r rendering) {
	for name, ing := range r.objs.ingresses {
		if len(ing.Spec.Rules) == 0 {
			t.Errorf("Ingress %s: no rules", name)
		}
		for _, rule := range ing.Spec.Rules {
			if rule.Host == "" {
				t.Errorf("Ingress %s: a rule without host", name)
			}
			if len(ing.Spec.TLS) == 0 {
				t.Errorf("Ingress %s: no TLS (Okta requires HTTPS)", name)
			}
			for _, p := range rule.HTTP.Paths {
				if p.PathType == nil || *p.PathType != "Exact" {
					t.Errorf("Ingress %s: path %s is not Exact: only the hook path is public", name, p.Path)
				}
				svc := r.objs.services[p.Backend.Service.Name]
				if svc == nil || p.Backend.Service.Port.Name != "http" {
					t.Errorf("Ingress %s: backend %v is not a rendered Service's http port", name, p.Backend.Service)
				}
			}
		}
	}
	for name, sm := range r.objs.serviceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		matched := false
		for _, svc := range r.objs.services {
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(svc.Labels)) {
				matched = true
			}
		}
		if !matched {
			t.Errorf("ServiceMonitor %s selects no rendered Service", name)
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port != "http" || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor %s: endpoint %s%s, want http /metrics", name, e.Port, e.Path)
			}
		}
	}
	for name, np := range r.objs.networkPolicies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || sel.Empty() {
			t.Errorf("NetworkPolicy %s: empty pod selector would cover the namespace", name)
			continue
		}
		if !slices.Contains(np.Spec.PolicyTypes, "Egress") || !slices.Contains(np.Spec.PolicyTypes, "Ingress") {
			t.Errorf("NetworkPolicy %s: policyTypes %v, want Ingress and Egress", name, np.Spec.PolicyTypes)
		}
		for wname, podLabels := range r.objs.podLabels() {
			if !sel.Matches(labels.Set(podLabels)) {
				t.Errorf("NetworkPolicy %s does not select %s", name, wname)
			}
		}
		egress := map[int]bool{}
		for _, e := range np.Spec.Egress {
			for _, p := range e.Ports {
				if p.Port != nil {
					egress[p.Port.IntValue()] = true
				}
			}
		}
		for _, port := range []int{53, 443} {
			if !egress[port] {
				t.Errorf("NetworkPolicy %s: no egress on port %d", name, port)
			}
		}
		for _, u := range searchURLs(t, r) {
			if port := urlPort(t, u); !egress[port] {
				t.Errorf("NetworkPolicy %s: no egress on port %d, the people-search server's (%s)", name, port, u)
			}
		}
		if len(r.objs.deployments) == 0 && len(np.Spec.Ingress) != 0 {
			t.Errorf("NetworkPolicy %s: the CronJobs take no connections, yet ingress is allowed", name)
		}
	}
}

// testKeyPEM is an RSA private key, PKCS#8 PEM, as the Okta console makes.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// testCertPEM is a self-signed CA certificate of the test's own, standing in
// for a mounted CA bundle (oktasync checks that the file holds one).
func testCertPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "deploytest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func containerPort(c corev1.Container, name string) *corev1.ContainerPort {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

func portIs(p intstr.IntOrString, port *corev1.ContainerPort) bool {
	return p.String() == port.Name || (p.Type == intstr.Int && p.IntValue() == int(port.ContainerPort))
}

// flagValue returns the value of a flag in args ("--f v" or "--f=v").
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func envFromSecrets(c corev1.Container) []string {
	var names []string
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			names = append(names, ef.SecretRef.Name)
		}
	}
	return names
}

// firstExitCodeRule returns the action of the first podFailurePolicy rule
// that matches a container exiting with code, as the Job controller
// evaluates them (in order, first match wins).
func firstExitCodeRule(p *batchv1.PodFailurePolicy, container string, code int32) (batchv1.PodFailurePolicyAction, bool) {
	for _, r := range p.Rules {
		e := r.OnExitCodes
		if e == nil || (e.ContainerName != nil && *e.ContainerName != container) {
			continue
		}
		in := slices.Contains(e.Values, code)
		if (e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
			(e.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
			return r.Action, true
		}
	}
	return "", false
}

// scheduleIntervalMinutes returns the step of a "*/N" or "a-b/N" minute
// field with every hour, day, month and weekday, or 0.
func scheduleIntervalMinutes(schedule string) int {
	f := strings.Fields(schedule)
	if len(f) != 5 || strings.Join(f[1:], " ") != "* * * *" {
		return 0
	}
	_, step, ok := strings.Cut(f[0], "/")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(step)
	if err != nil {
		return 0
	}
	return n
}
