// Package kubernetes holds oktasync's Kubernetes manifests; it has only this
// test, which decodes every manifest strictly into the Kubernetes API types
// (as `kubectl apply --validate=strict` would), so that a misspelt or
// misplaced field fails CI instead of being silently dropped by the API
// server, and checks the invariants the deployment relies on.
package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

const (
	secretExampleFile = "secret.example.yaml"
	kustomizationFile = "kustomization.yaml"

	// What the image and the product expect.
	imageUID       = 65532
	configMapName  = "oktasync-config"
	configPath     = "/etc/oktasync/config.yaml"
	hookSecretsEnv = "OKTASYNC_HOOK_SECRETS"
	placeholder    = "REPLACE_ME"
)

// decoder decodes the kinds oktasync deploys, strictly: unknown fields,
// fields in the wrong case and duplicate fields are errors, and so is an
// apiVersion/kind these types do not serve.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// kustomization is the part of kustomize's Kustomization these manifests
// use. It is decoded strictly too: a field used here for the first time must
// be added to this struct.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// document is one decoded YAML document of a manifest file.
type document struct {
	file string // slash-separated, relative to this directory
	obj  runtime.Object
}

// objects are all manifests of the directory, by kind and name.
type objects struct {
	docs           []document
	cronJobs       map[string]*batchv1.CronJob
	deployments    map[string]*appsv1.Deployment
	services       map[string]*corev1.Service
	configMaps     map[string]*corev1.ConfigMap
	secrets        map[string]*corev1.Secret
	kustomizations map[string]*kustomization // by directory ("." for this one)
	byFile         map[string][]string       // file → "Kind/name" of its documents
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocuments splits a multi-document YAML file, dropping documents that
// hold nothing but comments and blank lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		empty := true
		for _, line := range strings.Split(d, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func decodeManifest(doc []byte) (runtime.Object, error) {
	obj, _, err := decoder.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

func decodeKustomization(data []byte) (*kustomization, error) {
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, err
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("apiVersion/kind %q/%q, want kustomize.config.k8s.io/v1beta1/Kustomization", k.APIVersion, k.Kind)
	}
	return &k, nil
}

// yamlFiles lists every *.yaml below this directory, slash-separated.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.yaml manifests found")
	}
	sort.Strings(files)
	return files
}

// load decodes every manifest; any decoding error fails the test.
func load(t *testing.T) *objects {
	t.Helper()
	o := &objects{
		cronJobs:       map[string]*batchv1.CronJob{},
		deployments:    map[string]*appsv1.Deployment{},
		services:       map[string]*corev1.Service{},
		configMaps:     map[string]*corev1.ConfigMap{},
		secrets:        map[string]*corev1.Secret{},
		kustomizations: map[string]*kustomization{},
		byFile:         map[string][]string{},
	}
	for _, file := range yamlFiles(t) {
		data, err := os.ReadFile(filepath.FromSlash(file))
		if err != nil {
			t.Fatal(err)
		}
		if path.Base(file) == kustomizationFile {
			k, err := decodeKustomization(data)
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			o.kustomizations[path.Dir(file)] = k
			continue
		}
		docs := splitDocuments(data)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", file)
		}
		for i, doc := range docs {
			obj, err := decodeManifest(doc)
			if err != nil {
				t.Errorf("%s, document %d: %v", file, i+1, err)
				continue
			}
			o.add(t, file, obj)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return o
}

func (o *objects) add(t *testing.T, file string, obj runtime.Object) {
	t.Helper()
	meta, ok := obj.(metav1.Object)
	if !ok {
		t.Fatalf("%s: %T has no metadata", file, obj)
	}
	name := meta.GetName()
	if name == "" {
		t.Errorf("%s: %T without metadata.name", file, obj)
	}
	if meta.GetNamespace() != "" {
		t.Errorf("%s: %s sets metadata.namespace; the namespace is chosen at apply time (-n)", file, name)
	}
	if meta.GetLabels()["app.kubernetes.io/name"] != "oktasync" {
		t.Errorf("%s: %s lacks the label app.kubernetes.io/name: oktasync", file, name)
	}
	var kind string
	var dup bool
	switch v := obj.(type) {
	case *batchv1.CronJob:
		kind, dup = "CronJob", o.cronJobs[name] != nil
		o.cronJobs[name] = v
	case *appsv1.Deployment:
		kind, dup = "Deployment", o.deployments[name] != nil
		o.deployments[name] = v
	case *corev1.Service:
		kind, dup = "Service", o.services[name] != nil
		o.services[name] = v
	case *corev1.ConfigMap:
		kind, dup = "ConfigMap", o.configMaps[name] != nil
		o.configMaps[name] = v
	case *corev1.Secret:
		kind, dup = "Secret", o.secrets[name] != nil
		o.secrets[name] = v
	default:
		t.Errorf("%s: unexpected kind %T: extend this test for it", file, obj)
		return
	}
	if dup {
		t.Errorf("%s: a second %s named %q", file, kind, name)
	}
	o.docs = append(o.docs, document{file: file, obj: obj})
	o.byFile[file] = append(o.byFile[file], kind+"/"+name)
}

// podSpecs are the pod templates of every workload, by "Kind/name".
func (o *objects) podSpecs() map[string]*corev1.PodSpec {
	specs := map[string]*corev1.PodSpec{}
	for name, cj := range o.cronJobs {
		specs["CronJob/"+name] = &cj.Spec.JobTemplate.Spec.Template.Spec
	}
	for name, d := range o.deployments {
		specs["Deployment/"+name] = &d.Spec.Template.Spec
	}
	return specs
}

func TestManifestsDecodeStrictly(t *testing.T) {
	o := load(t)
	want := map[string][]string{
		"base/configmap.yaml":               {"ConfigMap/oktasync-config"},
		"cronjobs/cronjob-full.yaml":        {"CronJob/oktasync-full"},
		"cronjobs/cronjob-incremental.yaml": {"CronJob/oktasync-incremental"},
		"serve/deployment.yaml":             {"Deployment/oktasync"},
		"serve/service.yaml":                {"Service/oktasync"},
		secretExampleFile:                   {"Secret/oktasync", "Secret/oktasync-okta-key", "Secret/oktasync-hook"},
	}
	for file, objs := range want {
		if got := o.byFile[file]; !slices.Equal(got, objs) {
			t.Errorf("%s holds %v, want %v", file, got, objs)
		}
	}
	for file := range o.byFile {
		if _, ok := want[file]; !ok {
			t.Errorf("%s: a manifest this test does not know; add it to the table above", file)
		}
	}
	for _, dir := range []string{"base", "cronjobs", "serve"} {
		if o.kustomizations[dir] == nil {
			t.Errorf("%s/%s is missing", dir, kustomizationFile)
		}
	}
}

// TestStrictDecodingRejectsTypos proves the decoding above is strict: a
// copy of a real manifest with one mistake must fail to decode.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("cronjobs", "cronjob-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeManifest(data); err != nil {
		t.Fatalf("the unchanged manifest does not decode: %v", err)
	}
	for _, tc := range []struct{ name, old, new, wantErr string }{
		{"misspelt field", "concurrencyPolicy: Forbid", "concurrencyPolicyy: Forbid", "concurrencyPolicyy"},
		{"field in the wrong case", "restartPolicy: Never", "restartpolicy: Never", "restartpolicy"},
		{"field at the wrong level", "      backoffLimit: 2", "      backoffLimit: 2\n      schedule: \"0 3 * * *\"", "spec.jobTemplate.spec.schedule"},
		{"duplicate field", "  concurrencyPolicy: Forbid", "  concurrencyPolicy: Forbid\n  concurrencyPolicy: Allow", "concurrencyPolicy"},
		{"unknown apiVersion", "apiVersion: batch/v1", "apiVersion: batch/v1beta1", "batch/v1beta1"},
		{"wrong value type", "backoffLimit: 2", "backoffLimit: two", "backoffLimit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tc.old)) {
				t.Fatalf("cronjob-full.yaml no longer contains %q: update this test", tc.old)
			}
			bad := bytes.Replace(data, []byte(tc.old), []byte(tc.new), 1)
			_, err := decodeManifest(bad)
			if err == nil {
				t.Fatalf("decoding with %q instead of %q succeeded", tc.new, tc.old)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not name %q", err, tc.wantErr)
			}
		})
	}

	k, err := os.ReadFile(filepath.Join("serve", kustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeKustomization(bytes.Replace(k, []byte("resources:"), []byte("resource:"), 1)); err == nil {
		t.Error("a kustomization with `resource:` instead of `resources:` decoded")
	}
}

func TestSplitDocuments(t *testing.T) {
	in := "# header only\n---\na: 1\n--- # second\nb: 2\n---\n\n# trailing comment\n"
	docs := splitDocuments([]byte(in))
	if len(docs) != 2 || !strings.Contains(string(docs[0]), "a: 1") || !strings.Contains(string(docs[1]), "b: 2") {
		t.Errorf("splitDocuments = %q, want the documents a and b", docs)
	}
}

func TestPodsAreLockedDown(t *testing.T) {
	o := load(t)
	specs := o.podSpecs()
	if len(specs) != 3 {
		t.Errorf("%d workloads, want 3 (two CronJobs, one Deployment)", len(specs))
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) { checkPodSpec(t, o, spec) })
	}
}

func checkPodSpec(t *testing.T, o *objects, spec *corev1.PodSpec) {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false (oktasync never calls the Kubernetes API)")
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks is not false (Service variables such as OKTASYNC_SERVICE_HOST would enter the environment)")
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
			if o.secrets[s.SecretName] == nil {
				t.Errorf("volume %s: Secret %q is not defined in %s", v.Name, s.SecretName, secretExampleFile)
			}
			if s.DefaultMode == nil || *s.DefaultMode&0o007 != 0 {
				t.Errorf("volume %s: Secret files must not be world-readable (defaultMode)", v.Name)
			}
		}
		if c := v.ConfigMap; c != nil && o.configMaps[c.Name] == nil {
			t.Errorf("volume %s: ConfigMap %q is not defined", v.Name, c.Name)
		}
	}

	c := spec.Containers[0]
	if c.Name != "oktasync" {
		t.Errorf("container %q, want oktasync (podFailurePolicy names it)", c.Name)
	}
	if i := strings.LastIndex(c.Image, ":"); i < 0 || strings.Contains(c.Image[i:], "/") || c.Image[i+1:] == "latest" {
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

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("no %s request", r)
		}
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || limit.IsZero() {
		t.Error("no memory limit")
	} else if req := c.Resources.Requests[corev1.ResourceMemory]; limit.Cmp(req) < 0 {
		t.Errorf("memory limit %s below the request %s", limit.String(), req.String())
	}

	// Every Secret the container reads is one secret.example.yaml defines
	// (with that key, for single keys).
	for _, ef := range c.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			if o.secrets[ef.SecretRef.Name] == nil {
				t.Errorf("envFrom: Secret %q is not defined in %s", ef.SecretRef.Name, secretExampleFile)
			}
		case ef.ConfigMapRef != nil:
			if o.configMaps[ef.ConfigMapRef.Name] == nil {
				t.Errorf("envFrom: ConfigMap %q is not defined", ef.ConfigMapRef.Name)
			}
		}
	}
	if refs := envFromSecrets(c); !slices.Contains(refs, "oktasync") {
		t.Errorf("envFrom Secrets %v lack the credentials Secret oktasync", refs)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if s := o.secrets[ref.Name]; s == nil {
				t.Errorf("env %s: Secret %q is not defined in %s", e.Name, ref.Name, secretExampleFile)
			} else if _, ok := s.StringData[ref.Key]; !ok {
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

	// With a read-only root filesystem, the manager spool needs a writable
	// $TMPDIR=/tmp.
	if m, ok := mounts["/tmp"]; !ok || volumes[m.Name].EmptyDir == nil {
		t.Error("no emptyDir mounted at /tmp (the manager spool, TMPDIR)")
	}

	// --config names a file of the mounted ConfigMap.
	cfg := flagValue(c.Args, "--config")
	if cfg != configPath {
		t.Errorf("args %q: --config %q, want %q", c.Args, cfg, configPath)
	}
	m, ok := mounts[path.Dir(configPath)]
	if !ok || volumes[m.Name].ConfigMap == nil || volumes[m.Name].ConfigMap.Name != configMapName {
		t.Errorf("the ConfigMap %s is not mounted at %s", configMapName, path.Dir(configPath))
	} else if cm := o.configMaps[configMapName]; cm != nil {
		if _, ok := cm.Data[path.Base(configPath)]; !ok {
			t.Errorf("ConfigMap %s has no key %s", configMapName, path.Base(configPath))
		}
	}
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

func TestCronJobs(t *testing.T) {
	o := load(t)
	if len(o.cronJobs) != 2 || o.cronJobs["oktasync-full"] == nil || o.cronJobs["oktasync-incremental"] == nil {
		t.Fatalf("CronJobs %v, want oktasync-full and oktasync-incremental", o.byFile)
	}
	for name, cj := range o.cronJobs {
		t.Run(name, func(t *testing.T) {
			// The CronJob controller appends 11 characters to Job names.
			if len(name) > 52 {
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
			if j.ActiveDeadlineSeconds == nil || *j.ActiveDeadlineSeconds <= 0 {
				t.Error("activeDeadlineSeconds unset")
			} else if n := scheduleIntervalMinutes(s.Schedule); n > 0 && *j.ActiveDeadlineSeconds >= int64(n*60) {
				t.Errorf("activeDeadlineSeconds %d reaches into the next run, %d minutes later", *j.ActiveDeadlineSeconds, n)
			} else if *j.ActiveDeadlineSeconds > 24*3600 {
				t.Errorf("activeDeadlineSeconds %d exceeds a day", *j.ActiveDeadlineSeconds)
			}
			if j.TTLSecondsAfterFinished == nil || *j.TTLSecondsAfterFinished < 3600 {
				t.Error("ttlSecondsAfterFinished unset or under an hour (too short to read a failure)")
			}
			pod := j.Template.Spec
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never (podFailurePolicy requires it)", pod.RestartPolicy)
			}

			p := j.PodFailurePolicy
			if p == nil {
				t.Fatal("no podFailurePolicy")
			}
			for _, r := range p.Rules {
				if e := r.OnExitCodes; e != nil {
					if !slices.IsSorted(e.Values) || len(slices.Compact(slices.Clone(e.Values))) != len(e.Values) || slices.Contains(e.Values, 0) {
						t.Errorf("onExitCodes values %v: the API wants them sorted, unique, without 0", e.Values)
					}
					if e.ContainerName != nil && *e.ContainerName != pod.Containers[0].Name {
						t.Errorf("onExitCodes containerName %q names no container", *e.ContainerName)
					}
				}
			}
			container := pod.Containers[0].Name
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
			for _, r := range p.Rules {
				for _, c := range r.OnPodConditions {
					if c.Type == corev1.DisruptionTarget && r.Action == batchv1.PodFailurePolicyActionIgnore {
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
			if got, want := slices.Contains(args, "--incremental"), name == "oktasync-incremental"; got != want {
				t.Errorf("args %q: --incremental is %v, want %v", args, got, want)
			}
			if slices.Contains(envFromSecrets(pod.Containers[0]), "oktasync-hook") {
				t.Error("the CronJobs do not need the event hook secrets")
			}
		})
	}
}

func TestDeployment(t *testing.T) {
	o := load(t)
	d := o.deployments["oktasync"]
	if d == nil || len(o.deployments) != 1 {
		t.Fatal("want exactly one Deployment, oktasync")
	}
	s := d.Spec
	if s.Replicas == nil || *s.Replicas != 1 {
		t.Error("replicas must be 1: the schedules run in the process")
	}
	if s.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %q, want Recreate (a rolling update runs two schedulers)", s.Strategy.Type)
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(s.Template.Labels)) {
		t.Errorf("selector %v does not select the pod template's labels %v (%v)", s.Selector, s.Template.Labels, err)
	}
	pod := s.Template.Spec
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 30 {
		t.Error("terminationGracePeriodSeconds unset or under 30 (serve drains for up to 25 s)")
	}
	if pod.RestartPolicy != "" && pod.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("args %q: want the serve command", c.Args)
	}
	var http *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "http" {
			http = &c.Ports[i]
		}
	}
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
		if port := p.probe.HTTPGet.Port; port.String() != http.Name && port.IntValue() != int(http.ContainerPort) {
			t.Errorf("%s: port %s is not the http port", p.name, port.String())
		}
	}

	a := s.Template.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != strconv.Itoa(int(http.ContainerPort)) {
		t.Errorf("Prometheus scrape annotations %v do not point at /metrics on port %d", a, http.ContainerPort)
	}

	hook := false
	for _, name := range envFromSecrets(c) {
		if sec := o.secrets[name]; sec != nil {
			if _, ok := sec.StringData[hookSecretsEnv]; ok {
				hook = true
			}
		}
	}
	if !hook {
		t.Errorf("no envFrom Secret provides %s", hookSecretsEnv)
	}
}

func TestService(t *testing.T) {
	o := load(t)
	svc, d := o.services["oktasync"], o.deployments["oktasync"]
	if svc == nil || d == nil || len(o.services) != 1 {
		t.Fatal("want exactly one Service, oktasync, and the Deployment oktasync")
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not select the Deployment's pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	ports := map[string]bool{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		ports[p.Name] = true
	}
	if len(svc.Spec.Ports) == 0 {
		t.Error("no ports")
	}
	for _, p := range svc.Spec.Ports {
		if p.Name != "http" || !ports[p.TargetPort.String()] {
			t.Errorf("port %q: targetPort %q is not a named container port", p.Name, p.TargetPort.String())
		}
	}
}

// TestSecretsAreExamples keeps real credentials out of secret.example.yaml
// and checks it provides the keys the product reads.
func TestSecretsAreExamples(t *testing.T) {
	o := load(t)
	for _, doc := range o.docs {
		if _, ok := doc.obj.(*corev1.Secret); ok && doc.file != secretExampleFile {
			t.Errorf("%s: Secrets belong only in %s", doc.file, secretExampleFile)
		}
	}
	for name, s := range o.secrets {
		if len(s.Data) != 0 {
			t.Errorf("Secret %s: use stringData with placeholders, not data", name)
		}
		if s.Type != corev1.SecretTypeOpaque {
			t.Errorf("Secret %s: type %q, want Opaque", name, s.Type)
		}
	}
	wantKeys := map[string][]string{
		"oktasync":          {"OKTA_ORG_URL", "OKTA_API_TOKEN", "NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"},
		"oktasync-okta-key": {"okta-private-key.pem"},
		"oktasync-hook":     {hookSecretsEnv},
	}
	secretValues := map[string]bool{"OKTA_API_TOKEN": true, "NEO4J_PASSWORD": true, hookSecretsEnv: true, "okta-private-key.pem": true}
	for name, keys := range wantKeys {
		s := o.secrets[name]
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

	// The private key file the Secret's comment points at is where the
	// workloads mount it.
	data, err := os.ReadFile(secretExampleFile)
	if err != nil {
		t.Fatal(err)
	}
	const keyFile = "/var/run/secrets/oktasync/okta-private-key.pem"
	if !bytes.Contains(data, []byte("OKTA_PRIVATE_KEY_FILE: "+keyFile)) {
		t.Errorf("%s does not show OKTA_PRIVATE_KEY_FILE: %s", secretExampleFile, keyFile)
	}
	for name, spec := range o.podSpecs() {
		found := false
		for _, m := range spec.Containers[0].VolumeMounts {
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "oktasync-okta-key" && m.MountPath == path.Dir(keyFile) {
					found = true
					if v.Secret.Optional == nil || !*v.Secret.Optional {
						t.Errorf("%s: the private key volume must be optional (API-token setups have no key)", name)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: Secret oktasync-okta-key is not mounted at %s", name, path.Dir(keyFile))
		}
	}
}

// TestConfigFile checks the ConfigMap's config.yaml against the documented
// configuration (config.example.yaml at the repository root): oktasync
// rejects unknown keys, so a key the example lacks would fail every run.
func TestConfigFile(t *testing.T) {
	o := load(t)
	cm := o.configMaps[configMapName]
	if cm == nil {
		t.Fatalf("no ConfigMap %s", configMapName)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[path.Base(configPath)]), &cfg); err != nil {
		t.Fatalf("ConfigMap %s: config.yaml: %v", configMapName, err)
	}
	if len(cfg) == 0 {
		t.Fatal("config.yaml is empty")
	}
	exampleData, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(exampleData, &example); err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	// Maps whose keys are the user's (Okta statuses, property names).
	freeForm := map[string]bool{"mapping.status": true, "mapping.extra_attributes": true}
	var walk func(prefix string, got, want map[string]any)
	walk = func(prefix string, got, want map[string]any) {
		for k, v := range got {
			key := strings.TrimPrefix(prefix+"."+k, ".")
			w, ok := want[k]
			if !ok {
				t.Errorf("config.yaml: %s is not a documented key (config.example.yaml)", key)
				continue
			}
			if freeForm[key] {
				continue
			}
			gm, gIsMap := v.(map[string]any)
			wm, wIsMap := w.(map[string]any)
			if gIsMap != wIsMap {
				t.Errorf("config.yaml: %s has the wrong shape", key)
			} else if gIsMap {
				walk(key, gm, wm)
			}
		}
	}
	walk("", cfg, example)

	if s, ok := cfg["mapping"].(map[string]any)["status"].(map[string]any); ok {
		for status, v := range s {
			if v != "active" && v != "inactive" && v != "skip" {
				t.Errorf("config.yaml: mapping.status.%s = %v, want active, inactive or skip", status, v)
			}
		}
	}
	for _, secret := range []string{"password", "api_token", "token", "private_key"} {
		if strings.Contains(cm.Data[path.Base(configPath)], secret+":") {
			t.Errorf("config.yaml sets %s: secrets come only from the Secret", secret)
		}
	}
}

// TestKustomizations checks that the two ways of running oktasync
// (cronjobs/ and serve/) together list every manifest except the Secret
// example, that every listed resource exists, and that no overlay mixes the
// CronJobs with the Deployment.
func TestKustomizations(t *testing.T) {
	o := load(t)

	manifestFiles := map[string]bool{}
	for _, f := range yamlFiles(t) {
		if path.Base(f) != kustomizationFile {
			manifestFiles[f] = true
		}
	}

	listed := map[string]string{} // manifest file → the kustomization listing it
	for dir, k := range o.kustomizations {
		if len(k.Resources) == 0 {
			t.Errorf("%s/%s lists no resources", dir, kustomizationFile)
		}
		for _, r := range k.Resources {
			p := path.Join(dir, r)
			fi, err := os.Stat(filepath.FromSlash(p))
			switch {
			case err != nil:
				t.Errorf("%s/%s: resource %s does not exist", dir, kustomizationFile, r)
			case fi.IsDir():
				if o.kustomizations[p] == nil {
					t.Errorf("%s/%s: resource %s is a directory without %s", dir, kustomizationFile, r, kustomizationFile)
				}
			default:
				if strings.Contains(r, "..") || strings.Contains(r, "/") {
					t.Errorf("%s/%s: file %s is outside the kustomization's directory (kustomize refuses it)", dir, kustomizationFile, r)
				}
				if !manifestFiles[p] {
					t.Errorf("%s/%s: resource %s is not a manifest", dir, kustomizationFile, r)
				}
				if prev, ok := listed[p]; ok {
					t.Errorf("%s is listed by both %s and %s", p, prev, dir)
				}
				listed[p] = dir
			}
		}
	}
	for f := range manifestFiles {
		dir := path.Dir(f)
		switch {
		case f == secretExampleFile:
			if _, ok := listed[f]; ok {
				t.Errorf("%s is listed by a kustomization: it holds placeholders only", f)
			}
		case o.kustomizations[dir] == nil:
			t.Errorf("%s is in a directory without %s", f, kustomizationFile)
		case listed[f] == "":
			t.Errorf("%s is not listed by %s/%s", f, dir, kustomizationFile)
		}
	}

	// What each overlay applies, following directory resources.
	var expand func(dir string, seen map[string]bool) []string
	expand = func(dir string, seen map[string]bool) []string {
		if seen[dir] {
			t.Fatalf("kustomization cycle through %s", dir)
		}
		seen[dir] = true
		var objs []string
		for _, r := range o.kustomizations[dir].Resources {
			p := path.Join(dir, r)
			if o.kustomizations[p] != nil {
				objs = append(objs, expand(p, seen)...)
			} else {
				objs = append(objs, o.byFile[p]...)
			}
		}
		return objs
	}
	overlays := map[string]struct{ want, never []string }{
		"cronjobs": {
			want:  []string{"ConfigMap/" + configMapName, "CronJob/oktasync-full", "CronJob/oktasync-incremental"},
			never: []string{"Deployment/oktasync", "Service/oktasync"},
		},
		"serve": {
			want:  []string{"ConfigMap/" + configMapName, "Deployment/oktasync", "Service/oktasync"},
			never: []string{"CronJob/oktasync-full", "CronJob/oktasync-incremental"},
		},
	}
	reached := map[string]bool{}
	for dir, o2 := range overlays {
		if o.kustomizations[dir] == nil {
			t.Errorf("no %s/%s", dir, kustomizationFile)
			continue
		}
		got := expand(dir, map[string]bool{})
		for _, obj := range got {
			reached[obj] = true
			if strings.HasPrefix(obj, "Secret/") {
				t.Errorf("%s applies %s: Secrets are created out of band", dir, obj)
			}
		}
		for _, w := range o2.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s does not apply %s", dir, w)
			}
		}
		for _, n := range o2.never {
			if slices.Contains(got, n) {
				t.Errorf("%s applies %s: the CronJobs and serve are alternatives", dir, n)
			}
		}
	}
	for file, objs := range o.byFile {
		for _, obj := range objs {
			if file != secretExampleFile && !reached[obj] {
				t.Errorf("%s (%s) is applied by neither cronjobs nor serve", obj, file)
			}
		}
	}
}
