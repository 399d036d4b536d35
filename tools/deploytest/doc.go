// Package deploytest tests oktasync's deployment files as a cluster would
// see them: the Helm chart (deploy/helm/oktasync) rendered by Helm's own
// engine for its default values and every example values file, linted, and
// checked against its values schema; the Kustomize overlays
// (deploy/kubernetes) built by kustomize. Every rendered object is decoded
// strictly into the Kubernetes API types, the same invariants are asserted
// on both outputs, and every rendered config file must pass
// `oktasync check-config`.
//
// It is a module of its own so that Helm, kustomize and the Kubernetes API
// types stay out of oktasync's go.mod; `make deploytest` runs it.
package deploytest
