package deploytest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// newDecoder decodes the kinds oktasync deploys, strictly: unknown fields,
// fields in the wrong case and duplicate fields are errors, and so is an
// apiVersion/kind these types do not serve.
func newDecoder(t testing.TB) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocuments splits a YAML stream, dropping documents that hold nothing
// but comments and blank lines.
func splitDocuments(data string) []string {
	var docs []string
	for _, d := range docSeparator.Split(data, -1) {
		for _, line := range strings.Split(d, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				docs = append(docs, d)
				break
			}
		}
	}
	return docs
}

// objects are the decoded objects of one rendering, by kind and name.
type objects struct {
	all             []runtime.Object
	cronJobs        map[string]*batchv1.CronJob
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	ingresses       map[string]*networkingv1.Ingress
	networkPolicies map[string]*networkingv1.NetworkPolicy
	serviceMonitors map[string]*monitoringv1.ServiceMonitor
}

func newObjects() *objects {
	return &objects{
		cronJobs:        map[string]*batchv1.CronJob{},
		deployments:     map[string]*appsv1.Deployment{},
		services:        map[string]*corev1.Service{},
		configMaps:      map[string]*corev1.ConfigMap{},
		secrets:         map[string]*corev1.Secret{},
		ingresses:       map[string]*networkingv1.Ingress{},
		networkPolicies: map[string]*networkingv1.NetworkPolicy{},
		serviceMonitors: map[string]*monitoringv1.ServiceMonitor{},
	}
}

// decodeAll decodes every document of a YAML stream strictly into o; what
// names the stream (a file, a rendering) prefixes the errors.
func (o *objects) decodeAll(dec runtime.Decoder, what, stream string) error {
	var errs []string
	for i, doc := range splitDocuments(stream) {
		obj, _, err := dec.Decode([]byte(doc), nil, nil)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s, document %d: %v", what, i+1, err))
			continue
		}
		if err := o.add(obj); err != nil {
			errs = append(errs, fmt.Sprintf("%s, document %d: %v", what, i+1, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func (o *objects) add(obj runtime.Object) error {
	meta, ok := obj.(metav1.Object)
	if !ok {
		return fmt.Errorf("%T has no metadata", obj)
	}
	name := meta.GetName()
	if name == "" {
		return fmt.Errorf("%T without metadata.name", obj)
	}
	if meta.GetNamespace() != "" {
		return fmt.Errorf("%s sets metadata.namespace; the namespace is chosen at install time", name)
	}
	if meta.GetLabels()["app.kubernetes.io/name"] != "oktasync" {
		return fmt.Errorf("%s lacks the label app.kubernetes.io/name: oktasync", name)
	}
	dup := false
	switch v := obj.(type) {
	case *batchv1.CronJob:
		dup = putOnce(o.cronJobs, name, v)
	case *appsv1.Deployment:
		dup = putOnce(o.deployments, name, v)
	case *corev1.Service:
		dup = putOnce(o.services, name, v)
	case *corev1.ConfigMap:
		dup = putOnce(o.configMaps, name, v)
	case *corev1.Secret:
		dup = putOnce(o.secrets, name, v)
	case *networkingv1.Ingress:
		dup = putOnce(o.ingresses, name, v)
	case *networkingv1.NetworkPolicy:
		dup = putOnce(o.networkPolicies, name, v)
	case *monitoringv1.ServiceMonitor:
		dup = putOnce(o.serviceMonitors, name, v)
	default:
		return fmt.Errorf("unexpected kind %T: extend this test for it", obj)
	}
	if dup {
		return fmt.Errorf("a second %T named %q", obj, name)
	}
	o.all = append(o.all, obj)
	return nil
}

func putOnce[T any](m map[string]*T, name string, v *T) (dup bool) {
	_, dup = m[name]
	m[name] = v
	return dup
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

// podLabels are the pod template labels of every workload, by "Kind/name".
func (o *objects) podLabels() map[string]map[string]string {
	l := map[string]map[string]string{}
	for name, cj := range o.cronJobs {
		l["CronJob/"+name] = cj.Spec.JobTemplate.Spec.Template.Labels
	}
	for name, d := range o.deployments {
		l["Deployment/"+name] = d.Spec.Template.Labels
	}
	return l
}

// kindNames are "Kind/name" of every object, in decoding order.
func (o *objects) kindNames() []string {
	names := make([]string, 0, len(o.all))
	for _, obj := range o.all {
		names = append(names, obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.(metav1.Object).GetName())
	}
	return names
}

func TestSplitDocuments(t *testing.T) {
	in := "# header only\n---\na: 1\n--- # second\nb: 2\n---\n\n# trailing comment\n"
	docs := splitDocuments(in)
	if len(docs) != 2 || !strings.Contains(docs[0], "a: 1") || !strings.Contains(docs[1], "b: 2") {
		t.Errorf("splitDocuments = %q, want the documents a and b", docs)
	}
}
