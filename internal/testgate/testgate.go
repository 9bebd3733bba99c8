// Package testgate holds the project's one rule for which tests are slow: a test that starts a
// Temporal server, builds or runs a binary, drives a browser or starts another process calls
// Slow first, and `go test -short` (make test-short) skips it. There is no other switch: no
// build tag, no environment variable, no package list.
package testgate

import "testing"

// Slow skips t under -short, saying what it would have done, so that a skipped test is never
// mistaken for a passing one. what completes "skipped under -short: this test ...".
func Slow(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped under -short: this test %s (run it without -short, as make test does)", what)
	}
}
