// Package testgate holds the project's one rule for which tests are slow: a test that starts a
// Temporal server, builds or runs one of the project's binaries, drives a browser or starts a
// long-running service (a database, a monitoring server) calls Slow first, and `go test -short`
// (make test-short) skips it. There is no other switch: no build tag, no environment variable,
// no package list.
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
