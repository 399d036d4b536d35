package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// asBinary, set in a child's environment, makes the test binary run main:
// the tests below start the real oktasync process (its own signals, exit
// code, stdout, stderr and memory) without a separate go build.
const asBinary = "OKTASYNC_TEST_RUN_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinary) == "1" {
		os.Unsetenv(asBinary)
		main()
		return
	}
	goleak.VerifyTestMain(m, oktasimtest.IgnoreSDKTokenCache)
}

// proc is an oktasync process started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// startBinary starts oktasync with exactly env (nothing inherited but PATH
// and HOME) and args. The process is killed when the test ends.
func startBinary(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startExe(t, exe, env, args...)
}

// buildBinary builds oktasync as it ships (no race detector, whose shadow
// memory would swamp a memory ceiling) and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "oktasync")
	out, err := exec.Command("go", "build", "-trimpath", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// startExe starts the executable exe like startBinary.
func startExe(t *testing.T, exe string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{asBinary + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("oktasync %s did not exit within %s\nstderr:\n%s", strings.Join(p.cmd.Args[1:], " "), d, p.stderr.String())
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		t.Fatalf("oktasync: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runBinary runs oktasync to completion. The 3-minute cap catches a hang;
// it is not a speed check (a loaded -race CI machine can be slow).
func runBinary(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startBinary(t, env, args...)
	code = p.wait(t, 3*time.Minute)
	return code, p.stdout.String(), p.stderr.String()
}

// writeConfig writes a YAML config file for one test.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oktasync.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ctxFor is a context that ends with the test or after d.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
