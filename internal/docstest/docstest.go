// Package docstest reads the project's documentation pages for tests that hold them to the code:
// a figure the docs print (cycles per run, limits, defaults) is parsed from the page and compared
// with the Go constant it describes, so that the prose cannot go stale without a test failing.
// The package that owns an unexported constant checks it in its own tests with these helpers;
// this package's own tests check the exported ones.
package docstest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Root returns the module's root directory (the nearest parent with a go.mod), so that a test in
// any package finds the pages.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // bounded: the module is a few levels deep
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatalf("no go.mod above %s", dir)
	return ""
}

// Page returns a page (a path relative to the module root, e.g. "docs/operators.md") with its
// whitespace runs folded into single spaces, so that a pattern matches across line breaks.
func Page(t testing.TB, page string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Root(t), page))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	return strings.Join(strings.Fields(string(raw)), " ")
}

// Match returns the first submatch of pattern on the page (see Page), failing the test when
// the page does not say it: a fact moved or reworded must be found again, not silently skipped.
func Match(t testing.TB, page, pattern string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	m := re.FindStringSubmatch(Page(t, page))
	if len(m) < 2 {
		t.Fatalf("%s no longer says %q: reword the check with the page", page, pattern)
	}
	return m[1]
}

// Int is Match read as a whole number; thousands separators ("100,000,000") are allowed.
func Int(t testing.TB, page, pattern string) int64 {
	t.Helper()
	s := Match(t, page, pattern)
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q (from %q) is not a whole number", page, s, pattern)
	}
	return n
}
