package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerignoreCoversGitignore: what git ignores (virtualenvs, server
// data, build output, caches, logs) stays out of the image's build context
// too, and every file the image is built from stays in it.
func TestDockerignoreCoversGitignore(t *testing.T) {
	patterns := readIgnoreFile(t, filepath.Join(repoRoot, ".dockerignore"))
	for _, g := range readIgnoreFile(t, filepath.Join(repoRoot, ".gitignore")) {
		for _, sample := range gitignoreSamples(g) {
			if !dockerignored(patterns, sample) {
				t.Errorf(".gitignore has %s, but .dockerignore lets %s into the build context", g, sample)
			}
		}
	}
	// What the Dockerfile builds from: the main module's sources.
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "go.mod", "go.sum", "*.go").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "tools/") && dockerignored(patterns, f) {
			t.Errorf(".dockerignore leaves out %s, which the image is built from", f)
		}
	}
}

func readIgnoreFile(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "!") {
				t.Fatalf("%s: %s: the test does not know exceptions (!): teach it", name, line)
			}
			out = append(out, line)
		}
	}
	return out
}

// gitignoreSamples are paths a .gitignore pattern ignores: a file (or a
// file inside the directory) at the top and, unless anchored, deeper down.
func gitignoreSamples(pattern string) []string {
	dir := strings.HasSuffix(pattern, "/")
	p := strings.TrimSuffix(pattern, "/")
	anchored := strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	p = strings.ReplaceAll(p, "*", "sample")
	if dir {
		p += "/file"
	}
	if anchored {
		return []string{p}
	}
	return []string{p, "compat/amundsen/" + p}
}

// dockerignored says whether Docker leaves path out of the build context:
// a pattern (filepath.Match syntax, ** for any number of directories)
// matches the path or one of its parent directories.
func dockerignored(patterns []string, path string) bool {
	for _, p := range patterns {
		re := dockerPatternRegexp(filepath.Clean(strings.TrimPrefix(p, "/")))
		for dir := path; dir != "." && dir != "/"; dir = filepath.Dir(dir) {
			if re.MatchString(dir) {
				return true
			}
		}
	}
	return false
}

func dockerPatternRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
