package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
)

// TestReadmePlainCronJob decodes the README's plain CronJob strictly: a
// copied manifest must apply as it is.
func TestReadmePlainCronJob(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "apply -f - <<'YAML'\n")
	manifest, _, ok2 := strings.Cut(rest, "\nYAML\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no plain CronJob (kubectl apply -f - <<'YAML' ... YAML)")
	}
	obj, _, err := newDecoder(t).Decode([]byte(manifest), nil, nil)
	if err != nil {
		t.Fatalf("README's CronJob: %v", err)
	}
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		t.Fatalf("README's manifest is a %T, want a CronJob", obj)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	want := fullDeadlineSeconds(deadlineInputs{users: 100_000, pageSize: 200, perMinute: 600, share: 0.5, reserve: 0.1})
	if d := cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d == nil || *d != want {
		t.Errorf("activeDeadlineSeconds %v, want %d (the table's, 100,000 users)", d, want)
	}
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 {
		t.Error("the container is not locked down (read-only root, capabilities dropped)")
	}
}
