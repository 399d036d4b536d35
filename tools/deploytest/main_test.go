package deploytest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// repoRoot is the oktasync repository, two levels up from this module.
const repoRoot = "../.."

// oktasyncBin is the oktasync binary built from this checkout by TestMain.
var oktasyncBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "deploytest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	oktasyncBin = filepath.Join(dir, "oktasync")
	// -trimpath as `make build`, which shares its build cache.
	build := exec.Command("go", "build", "-trimpath", "-o", oktasyncBin, "./cmd/oktasync")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build oktasync:", err)
		return 1
	}
	return m.Run()
}
