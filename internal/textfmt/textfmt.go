// Package textfmt holds the small text helpers that several packages show to people: amounts in
// won, shortened messages and masked billing-key names. They live here once so that the copies
// cannot drift apart; each is pure, deterministic (safe in workflow code) and rune-safe, because
// the text they see is often Korean.
//
// portone and portone/portonetest keep private copies of MaskUID and of FormatKRW/Truncate
// respectively, because those two packages import nothing of the project (docs/architecture.md);
// their tests check that the copies agree with this package.
package textfmt

import (
	"strconv"
	"unicode/utf8"
)

// Ellipsis marks text that Truncate shortened.
const Ellipsis = "…"

// FormatKRW writes whole won with thousands separators: 9900 → "9,900", -1500 → "-1,500".
func FormatKRW(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	out := make([]byte, 0, len(sign)+len(s)+len(s)/3)
	out = append(out, sign...)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// Truncate keeps at most n characters (runes, not bytes, so that a Korean syllable is never cut
// in half and the result is valid UTF-8) and marks a cut with Ellipsis. A string of n characters
// or fewer comes back unchanged; n < 0 counts as 0.
func Truncate(s string, n int) string {
	n = max(n, 0)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + Ellipsis
}

// MaskUID keeps only the last four characters of a customer_uid (the billing key's name), which
// is enough to tell keys apart in an audit trail or an error without disclosing the name; four
// characters or fewer are masked entirely.
func MaskUID(uid string) string {
	n := utf8.RuneCountInString(uid)
	if n <= 4 {
		return "****"
	}
	r := []rune(uid)
	return "****" + string(r[n-4:])
}
