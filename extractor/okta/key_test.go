package okta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	pylowerScript = "testdata/pylower.py"
	pylowerGolden = "testdata/pylower.golden"
)

// pythonCases are keys Python 3.11 computes as
// unicodedata.normalize('NFC', s.strip()).lower(), each want copied from
// python3.11 (TestNormalizeMatchesPython asks it again).
func pythonCases() []struct{ name, in, want string } {
	return []struct{ name, in, want string }{
		{"dotted capital I", "\u0130nci@corp.example", "i\u0307nci@corp.example"},
		{"dotted capital I, all caps, spaces", "  \u0130NC\u0130@CORP.EXAMPLE ", "i\u0307nci\u0307@corp.example"},
		{"final sigma before @", "\u0391\u039b\u0395\u039e\u0397\u03a3@corp.example", "\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@corp.example"},
		{"sigma before a dot and a letter is not final", "\u0391\u039b\u0395\u039e\u0397\u03a3.\u03a0\u0391\u03a0\u0391\u03a3@corp.example", "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3.\u03c0\u03b1\u03c0\u03b1\u03c2@corp.example"},
		{"word-final and inner sigmas", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3@corp.example", "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2@corp.example"},
		{"lone sigma is not final", "\u03a3@corp.example", "\u03c3@corp.example"},
		{"sigma after a letter, at the end", "A\u03a3", "a\u03c2"},
		{"sigma between letters", "A\u03a3B", "a\u03c3b"},
		{"sigma seen through an apostrophe", "A'\u03a3", "a'\u03c2"},
		{"sigma before an apostrophe and a letter", "A\u03a3'B", "a\u03c3'b"},
		{"sigma after a combining mark", "A\u0301\u03a3", "\u00e1\u03c2"},
		{"sigma after a digit", "A1\u03a3", "a1\u03c3"},
		{"a Unicode 15 letter is not cased to Python 3.11", "\U0001df25\u03a3", "\U0001df25\u03c3"},
		{"a Unicode 15 modifier is not case-ignorable to Python 3.11", "A\U0001e030\u03a3", "a\U0001e030\u03c3"},
		{"nor after a sigma", "A\u03a3\U0001e030B", "a\u03c2\U0001e030b"},
		{"NFD composes", "Zoe\u0308.Lo\u0301pez@Example.com", "zo\u00eb.l\u00f3pez@example.com"},
		{"NFC unchanged", "Zo\u00eb.L\u00f3pez@Example.com", "zo\u00eb.l\u00f3pez@example.com"},
		// An IDN domain and its punycode are two strings to databuilder and
		// the frontend (str.lower()), so two keys: never folded (issue 20, D10).
		{"an IDN domain stays Unicode", "Ann@B\u00dcCHER.Example", "ann@b\u00fccher.example"},
		{"its punycode stays ASCII, another key", "Ann@XN--BCHER-KVA.Example", "ann@xn--bcher-kva.example"},
		{"Kelvin sign is K", "\u212aelvin@corp.example", "kelvin@corp.example"},
		{"titlecase digraph", "\u01c5ur\u0111a@corp.example", "\u01c6ur\u0111a@corp.example"},
		{"J with caron: lowered after NFC, not renormalised", "J\u030c@corp.example", "j\u030c@corp.example"},
		{"information separators are stripped", "\u001ca@corp.example\u001f", "a@corp.example"},
		{"no-break spaces are stripped", "\u00a0a@corp.example\u3000", "a@corp.example"},
		{"a Unicode 15 mark is a starter to Python 3.11", "a\U00010efd\u0301@corp.example", "a\U00010efd\u0301@corp.example"},
		{"Greek with prosgegrammeni", "\u1f88@corp.example", "\u1f80@corp.example"},
		{"Cherokee", "\u13a0@corp.example", "\uab70@corp.example"},
		{"Deseret", "\U00010400@corp.example", "\U00010428@corp.example"},
		{"ASCII", "John.Smith@Acme.COM", "john.smith@acme.com"},
	}
}

// TestNormalizePythonCases: Normalize gives Python's key for each of
// pythonCases. strings.ToLower fails the İ and final-sigma rows.
func TestNormalizePythonCases(t *testing.T) {
	for _, tt := range pythonCases() {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("%s: Normalize(%+q) = %+q, want %+q (Python 3.11)", tt.name, tt.in, got, tt.want)
		}
	}
}

// golden is testdata/pylower.golden, indexed by code point.
type golden struct {
	header     string
	lower      map[rune]string
	space      []bool
	cased      []bool // cased and not case-ignorable
	ignorable  []bool
	unassigned []bool
	ccc        []uint8
	nfd, nfc   map[rune]string
}

func readGolden(t *testing.T) golden {
	t.Helper()
	f, err := os.Open(pylowerGolden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = unicode.MaxRune + 1
	g := golden{lower: map[rune]string{}, space: make([]bool, n), cased: make([]bool, n), ignorable: make([]bool, n),
		unassigned: make([]bool, n), ccc: make([]uint8, n), nfd: map[rune]string{}, nfc: map[rune]string{}}
	hexRune := func(s string) rune {
		c, err := strconv.ParseUint(s, 16, 32)
		if err != nil {
			t.Fatalf("%s: %v", pylowerGolden, err)
		}
		return rune(c)
	}
	runes := func(fields []string) string {
		var b strings.Builder
		for _, f := range fields {
			b.WriteRune(hexRune(f))
		}
		return b.String()
	}
	sets := map[string][]bool{"cased": g.cased, "ignorable": g.ignorable, "unassigned": g.unassigned}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			g.header = line
			continue
		}
		fs := strings.Fields(line)
		switch kind := fs[0]; kind {
		case "lower":
			g.lower[hexRune(fs[1])] = runes(fs[2:])
		case "space":
			g.space[hexRune(fs[1])] = true
		case "nfd":
			g.nfd[hexRune(fs[1])] = runes(fs[2:])
		case "nfc":
			g.nfc[hexRune(fs[1])] = runes(fs[2:])
		case "cased", "ignorable", "unassigned", "ccc":
			for c := hexRune(fs[1]); c <= hexRune(fs[2]); c++ {
				if kind != "ccc" {
					sets[kind][c] = true
					continue
				}
				n, err := strconv.ParseUint(fs[3], 10, 8)
				if err != nil {
					t.Fatalf("%s: %q: %v", pylowerGolden, line, err)
				}
				g.ccc[c] = uint8(n)
			}
		default:
			t.Fatalf("%s: unknown line %q", pylowerGolden, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(g.lower) < 1400 || len(g.nfd) < 2000 || !strings.Contains(g.header, "Python 3.11 ") {
		t.Fatalf("%s looks truncated or not from Python 3.11: %q, %d lower, %d nfd", pylowerGolden, g.header, len(g.lower), len(g.nfd))
	}
	return g
}

// TestNormalizeGolden checks every code point against what Python 3.11
// answers (testdata/pylower.golden, from testdata/pylower.py): the key of
// the code point alone, and each table Normalize relies on — lowercase
// mapping, strip's spaces, the casing classes of the final-sigma rule, the
// code points Python 3.11 does not know, combining classes and NFD/NFC.
func TestNormalizeGolden(t *testing.T) {
	g := readGolden(t)
	assignedInGo := func(r rune) bool {
		return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
			unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
	}
	or := func(m map[rune]string, r rune) string {
		if s, ok := m[r]; ok {
			return s
		}
		return string(r)
	}
	failures := map[string]int{}
	show := func(v any) string {
		if s, ok := v.(string); ok {
			return strconv.QuoteToASCII(s)
		}
		return fmt.Sprint(v)
	}
	fail := func(what string, r rune, got, want any) {
		if failures[what]++; failures[what] <= 5 {
			t.Errorf("%s of U+%04X: Go %s, Python 3.11 %s", what, r, show(got), show(want))
		}
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue // surrogates
		}
		s := string(r)
		// The key of r alone: stripped, NFC, each code point lowercased.
		want := ""
		if !g.space[r] {
			for _, c := range or(g.nfc, r) {
				want += or(g.lower, c)
			}
		}
		key := Normalize(s)
		if key != want {
			fail("Normalize", r, key, want)
		}
		if pythonSpace(r) != g.space[r] {
			fail("strip", r, pythonSpace(r), g.space[r])
		}
		if caseIgnorable(r) != g.ignorable[r] {
			fail("case-ignorable", r, caseIgnorable(r), g.ignorable[r])
		}
		onlyCased := cased(r) && !caseIgnorable(r)
		if onlyCased != g.cased[r] {
			fail("cased (not case-ignorable)", r, onlyCased, g.cased[r])
		}
		added, wantAdded := addedAfter14(r), g.unassigned[r] && assignedInGo(r)
		if added != wantAdded {
			fail("added after Unicode 14.0", r, added, wantAdded)
		}
		if g.unassigned[r] && !assignedInGo(r) {
			continue // unassigned in both: no mapping, no combining class, no decomposition
		}
		low, wantLow := lower(s), or(g.lower, r)
		if low != wantLow {
			fail("lower", r, low, wantLow)
		}
		ccc := norm.NFC.PropertiesString(s).CCC()
		if added {
			ccc = 0 // a starter to Python 3.11, as nfc treats it
		}
		if ccc != g.ccc[r] {
			fail("combining class", r, ccc, g.ccc[r])
		}
		if (r < 0xAC00 || r > 0xD7A3) && !added { // Hangul syllables: algorithmic, see TestNormalizeMatchesPython
			d, wantD := norm.NFD.String(s), or(g.nfd, r)
			if d != wantD {
				fail("NFD", r, d, wantD)
			}
		}
		c, wantC := nfc(s), or(g.nfc, r)
		if c != wantC {
			fail("NFC", r, c, wantC)
		}
	}
	for what, n := range failures {
		t.Errorf("%s: %d code points differ from Python 3.11 (first 5 above)", what, n)
	}
}

// python311 finds CPython 3.11 as compat/amundsen/ensure-venv does
// (COMPAT_PYTHON, else python3.11, else python3). Without one the test is
// skipped, except in CI, which has one.
func python311(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("COMPAT_PYTHON"), "python3.11", "python3"} {
		if name == "" {
			continue
		}
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import sys; print(sys.version_info[:2] == (3, 11))").Output()
		if err == nil && strings.TrimSpace(string(out)) == "True" {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no CPython 3.11 (COMPAT_PYTHON, python3.11, python3): CI must check keys against Python")
	}
	t.Skip("no CPython 3.11 (COMPAT_PYTHON, python3.11, python3)")
	return ""
}

// TestNormalizeMatchesPython runs python3.11: the golden must be what
// testdata/pylower.py prints today (so a drift in either is caught), and
// Normalize must give Python's key for a corpus that puts every assigned
// code point in the contexts that matter (the sigma rule on either side,
// composition and reordering with marks, strip), plus Hangul syllables and
// pythonCases, whose wants it confirms.
func TestNormalizeMatchesPython(t *testing.T) {
	py := python311(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	got, err := exec.CommandContext(ctx, py, pylowerScript).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", py, pylowerScript, err)
	}
	want, err := os.ReadFile(pylowerGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what %s prints now; regenerate it (%s %s > %s) and read the diff",
			pylowerGolden, pylowerScript, py, pylowerScript, pylowerGolden)
	}

	var corpus []string
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) || unicode.Is(unicode.Co, r) ||
			!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf) {
			continue // surrogates, private use, unassigned
		}
		c := string(r)
		corpus = append(corpus, c, " A"+c+"Σ", "AΣ"+c+"B", c+"\u0323\u0301", "a"+c+"\u0301")
	}
	for r := rune(0xAC00); r <= 0xD7A3; r += 7 {
		corpus = append(corpus, string(r), norm.NFD.String(string(r)))
	}
	corpus = append(corpus, "\u1100\u1161\u11a8", "\u1100\u0301\u1161", "a"+strings.Repeat("\u0301", 30))
	cases := pythonCases()
	for _, tt := range cases {
		corpus = append(corpus, tt.in)
	}

	var in bytes.Buffer
	for _, s := range corpus {
		in.WriteString(hex.EncodeToString([]byte(s)))
		in.WriteByte('\n')
	}
	cmd := exec.CommandContext(ctx, py, pylowerScript, "--keys")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s --keys: %v", py, pylowerScript, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(corpus) {
		t.Fatalf("python answered %d keys for %d strings", len(lines), len(corpus))
	}
	bad := 0
	for i, s := range corpus {
		b, err := hex.DecodeString(lines[i])
		if err != nil {
			t.Fatal(err)
		}
		if j := i - (len(corpus) - len(cases)); j >= 0 && cases[j].want != string(b) {
			t.Errorf("pythonCases %q: want %+q, but Python 3.11 says %+q", cases[j].name, cases[j].want, b)
		}
		if got := Normalize(s); got != string(b) {
			if bad++; bad <= 20 {
				t.Errorf("Normalize(%+q) = %+q, Python 3.11 %+q", s, got, b)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys differ from Python 3.11", bad, len(corpus))
	}
	t.Logf("%d keys equal to Python 3.11's", len(corpus)-bad)
}

// TestNormalizeRefusesWhatItCannotMatch: past 30 combining marks in a row
// x/text inserts U+034F (stream-safe text), which Python does not; the key
// then holds an invisible character and is refused, never written.
func TestNormalizeRefusesWhatItCannotMatch(t *testing.T) {
	k := Normalize("a" + strings.Repeat("\u0301", 31) + "@corp.example")
	if !hasInvisible(k) {
		t.Errorf("Normalize(31 marks) = %+q: want U+034F, so that Transform refuses it", k)
	}
	if k := Normalize("a" + strings.Repeat("\u0301", 30) + "@corp.example"); hasInvisible(k) {
		t.Errorf("Normalize(30 marks) = %+q: nothing to refuse", k)
	}
}

// TestKeysRefuseInvisible: the characters refused in keys (issue 20, D10), and some
// that are not.
func TestKeysRefuseInvisible(t *testing.T) {
	refused := []rune{0x00, 0x1f, 0x7f, 0x9f, 0xad, 0x34f, 0x61c, 0x115f, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e,
		0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2067,
		0x2068, 0x2069, 0x3164, 0xfe00, 0xfe0f, 0xfeff, 0xffa0, 0xfff9, 0xe0001, 0xe0041, 0xe0100}
	for _, r := range refused {
		if !invisible(r) {
			t.Errorf("U+%04X is not refused", r)
		}
	}
	for _, r := range []rune{' ', 'a', '@', '.', '-', '_', 0xa0, 0x2028, 0x0301, 0x0130, 0x03a3, 0x2764, 0xfffd} {
		if invisible(r) {
			t.Errorf("U+%04X is refused", r)
		}
	}
}

func ExampleNormalize() {
	for _, email := range []string{" İnci@Corp.Example", "ΑΛΕΞΗΣ@corp.example", "Zoe\u0308@corp.example"} {
		fmt.Printf("%+q\n", Normalize(email))
	}
	// Output:
	// "i\u0307nci@corp.example"
	// "\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@corp.example"
	// "zo\u00eb@corp.example"
}

// BenchmarkNormalize: typical emails, ASCII and not, against the
// strings.ToLower that Normalize replaced.
func BenchmarkNormalize(b *testing.B) {
	emails := []string{"John.Smith@Acme.com", "zoe.lopez@example.com", "Zoë.López@Example.COM ", "İnci@corp.example", "ΑΛΕΞΗΣ@corp.example"}
	b.Run("Normalize", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Normalize(emails[i%len(emails)])
		}
	})
	b.Run("strings.ToLower", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = strings.ToLower(strings.TrimSpace(emails[i%len(emails)]))
		}
	})
}
