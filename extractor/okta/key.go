package okta

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the one definition of a user key: an email, a login or a
// manager reference becomes Python 3.11's
//
//	unicodedata.normalize("NFC", s.strip()).lower()
//
// which is what Amundsen computes on its side: databuilder lowercases owner
// and usage keys with str.lower(), and the frontend config oktasync ships
// (compat/amundsen/signin/oktasync_oidc_config.py) builds the signed-in
// user_id exactly so. Python 3.11 (Unicode 14.0) is the Amundsen harness's
// interpreter.
//
//   - strip removes what Python's str.isspace() calls space: Go's
//     unicode.IsSpace plus U+001C..U+001F.
//   - NFC makes one key of the composed and decomposed forms of one name.
//   - lower is Python's full lowercase mapping, not strings.ToLower: İ
//     (U+0130) becomes "i\u0307", and a capital sigma becomes final ς when
//     CPython's handle_capital_sigma says so (see finalSigma).
//   - Go's tables are Unicode 15.0. A code point added since 14.0 is
//     unassigned to Python 3.11: it has no case and neither composes nor
//     reorders under NFC, so Normalize treats it so (addedAfter14).
//
// Lowercasing comes last and the result is not normalised again, as in
// Python: for NFC input (what Okta returns, as a rule) the key is exactly
// s.strip().lower(), what databuilder writes. The price is that the key is
// not always NFC ("J\u030c" lowercases to "j\u030c", whose NFC is "ǰ"), so
// Normalize(Normalize(s)) can differ from Normalize(s) for such text.
//
// One known difference from Python, refused rather than matched: a run of
// more than 30 combining marks, where x/text's NFC inserts U+034F (the
// stream-safe text format). The key then holds that invisible character, and
// Transform skips the user (SkipInvisible).
//
// testdata/pylower.py prints Python's answers; TestNormalizeGolden and
// TestNormalizeMatchesPython check every code point against them.
func Normalize(s string) string {
	s = strings.TrimFunc(s, pythonSpace)
	if ascii(s) {
		return strings.ToLower(s) // ASCII is NFC, and lowercases in Go as in Python
	}
	return lower(nfc(s))
}

// ascii reports whether s is all ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// pythonSpace reports what Python's str.isspace() accepts: Go's
// unicode.IsSpace plus the information separators U+001C..U+001F.
func pythonSpace(r rune) bool { return unicode.IsSpace(r) || ('\x1c' <= r && r <= '\x1f') }

// nfc is Python 3.11's unicodedata.normalize("NFC", s). A code point added
// after Unicode 14.0 is, to Python 3.11, an unassigned starter that neither
// composes nor reorders; Go's Unicode 15.0 tables give ten of them a
// combining class. So each one splits s, and the parts between are
// normalised alone.
func nfc(s string) string {
	i := strings.IndexFunc(s, addedAfter14)
	if i < 0 {
		return norm.NFC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for ; i >= 0; i = strings.IndexFunc(s, addedAfter14) {
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(norm.NFC.String(s[:i]))
		b.WriteString(s[i : i+n])
		s = s[i+n:]
	}
	b.WriteString(norm.NFC.String(s))
	return b.String()
}

// lower is Python 3.11's str.lower(): the full lowercase mapping, with the
// Final_Sigma context for the capital sigma.
func lower(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		switch {
		case r == 'İ': // U+0130: SpecialCasing.txt's lowercase is two code points
			b.WriteString("i\u0307")
		case r == 'Σ':
			if finalSigma(s, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		case addedAfter14(r):
			b.WriteRune(r) // no case in Python 3.11
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether the capital sigma at byte i of s lowercases to
// the final ς, as CPython's handle_capital_sigma decides: the nearest
// character before it that is not case-ignorable is cased, and the nearest
// after it that is not case-ignorable is not cased (or there is none).
func finalSigma(s string, i int) bool {
	r, n := utf8.DecodeLastRuneInString(strings.TrimRightFunc(s[:i], caseIgnorable))
	if n == 0 || !cased(r) {
		return false
	}
	r, n = utf8.DecodeRuneInString(strings.TrimLeftFunc(s[i+len("Σ"):], caseIgnorable))
	return n == 0 || !cased(r)
}

// cased is Unicode's Cased property (Lowercase, Uppercase or Lt), as
// Python 3.11 knows it.
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase) &&
		!addedAfter14(r)
}

// caseIgnorable is Unicode's Case_Ignorable property (Mn, Me, Cf, Lm, Sk,
// or Word_Break MidLetter, MidNumLet or Single_Quote), as Python 3.11 knows
// it.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027',
		'\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) && !addedAfter14(r)
}

// addedAfter14 reports a code point assigned in Unicode 15.0, the version
// of Go's unicode package and of x/text's norm, and so unassigned to Python
// 3.11 (Unicode 14.0). TestNormalizeGolden keeps these ranges true to both.
func addedAfter14(r rune) bool {
	switch {
	case r < 0x0CF3:
		return false
	case r == 0x0CF3, r == 0x0ECE, 0x10EFD <= r && r <= 0x10EFF, 0x1123F <= r && r <= 0x11241,
		0x11B00 <= r && r <= 0x11B09, 0x11F00 <= r && r <= 0x11F10, 0x11F12 <= r && r <= 0x11F3A,
		0x11F3E <= r && r <= 0x11F59, r == 0x1342F, 0x13439 <= r && r <= 0x13455, r == 0x1B132,
		r == 0x1B155, 0x1D2C0 <= r && r <= 0x1D2D3, 0x1DF25 <= r && r <= 0x1DF2A,
		0x1E030 <= r && r <= 0x1E06D, r == 0x1E08F, 0x1E4D0 <= r && r <= 0x1E4F9, r == 0x1F6DC,
		0x1F774 <= r && r <= 0x1F776, 0x1F77B <= r && r <= 0x1F77F, r == 0x1F7D9,
		0x1FA75 <= r && r <= 0x1FA77, 0x1FA87 <= r && r <= 0x1FA88, 0x1FAAD <= r && r <= 0x1FAAF,
		0x1FABB <= r && r <= 0x1FABD, r == 0x1FABF, 0x1FACE <= r && r <= 0x1FACF,
		0x1FADA <= r && r <= 0x1FADB, r == 0x1FAE8, 0x1FAF7 <= r && r <= 0x1FAF8, r == 0x2B739,
		0x31350 <= r && r <= 0x323AF:
		return true
	}
	return false
}

// invisible reports a character that shows nothing, or changes how its
// neighbours show, or is a control: Cc, Cf (U+00AD soft hyphen, U+200B..U+200F
// zero-width and direction marks, U+202A..U+202E and U+2066..U+2069 bidi
// embeddings, overrides and isolates, U+2060..U+2064, U+FEFF, tags),
// variation selectors and the other default-ignorable code points (U+034F,
// the Hangul fillers, …). Two keys that differ only in such characters look
// the same on screen, so a key holding one is refused (SkipInvisible), never
// silently stripped.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// hasInvisible reports whether s holds an invisible character.
func hasInvisible(s string) bool { return strings.IndexFunc(s, invisible) >= 0 }
