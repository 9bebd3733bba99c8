// Package testlogs keeps the logs of what a test starts (a Temporal server, a worker, a child
// process) where CI can find them after a failure: in $ARTIFACTS_DIR/logs (make test exports
// ARTIFACTS_DIR=.artifacts), one file per test and log, named after the test binary's package and
// the test ("e2e.TestConcurrentSubscriptionsFoundByStatus.server.log"). A test that passes
// leaves nothing behind; one that fails keeps its files and says where they are; one the test
// binary's -timeout kills keeps them too (no cleanup runs then), which is when they matter most.
// .ci/run prints the tails of the kept files, since CI keeps only what it prints.
//
// Without ARTIFACTS_DIR (a plain go test) the files live in the test's temporary directory and
// a failure prints their tails into the test's output instead.
package testlogs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Subdir is the directory under $ARTIFACTS_DIR that holds the kept logs.
const Subdir = "logs"

// tailLines is how much of a log a failure prints when there is no artifacts directory.
const tailLines = 60

// File creates the empty log file what ("server", "worker", ...) of test t and returns its
// path; the caller opens it for appending (or hands the path to a logger that does). When t
// ends, the file is removed if t passed and kept (and named in t's output) if it failed.
func File(t testing.TB, what string) (string, error) {
	dir, artifacts := Dir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	base := fileBase(t.Name(), what)
	for i := 1; i < 100; i++ {
		name := base + ".log"
		if i > 1 {
			name = fmt.Sprintf("%s.%d.log", base, i)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if os.IsExist(err) {
			continue // the same test in another package, or a second stack in this test
		}
		if err != nil {
			return "", err
		}
		_ = f.Close()
		t.Cleanup(func() { settle(t, what, path, artifacts) })
		return path, nil
	}
	return "", fmt.Errorf("testlogs: no free file name for %s in %s", base, dir)
}

// Keep copies the log at src (a child process's log in a directory the test removes) to the
// artifacts when t fails. Call it before the directory's own cleanup is registered, or at any
// time after the directory exists: it copies on the way out, before t.TempDir is removed.
func Keep(t testing.TB, what, src string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Logf("testlogs: %s log %s not kept: %v", what, src, err)
			return
		}
		Save(t, what, b)
	})
}

// Save keeps b as t's log what now: in the artifacts when there are any, else its tail goes to
// t's output. For a cleanup that already knows t failed.
func Save(t testing.TB, what string, b []byte) {
	dir, artifacts := Dir(t)
	if !artifacts {
		t.Logf("%s log (last %d lines):\n%s", what, tailLines, Tail(string(b), tailLines))
		return
	}
	path := filepath.Join(dir, fileBase(t.Name(), what)+".log")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	t.Logf("%s log kept: %s (%v)", what, path, err)
}

// Dir is where t's logs go: $ARTIFACTS_DIR/logs when ARTIFACTS_DIR is set (artifacts true),
// else t's temporary directory.
func Dir(t testing.TB) (dir string, artifacts bool) {
	if d := os.Getenv("ARTIFACTS_DIR"); d != "" {
		return filepath.Join(d, Subdir), true
	}
	return t.TempDir(), false
}

// KeepEnv set to 1 keeps the logs of passing tests too (to look for a failed workflow task that
// a retry hid, say).
const KeepEnv = "PAYCYCLE_KEEP_TEST_LOGS"

// settle removes a passing test's log and names a failing one's.
func settle(t testing.TB, what, path string, artifacts bool) {
	if !t.Failed() {
		if os.Getenv(KeepEnv) == "1" && artifacts {
			return
		}
		_ = os.Remove(path)
		return
	}
	if artifacts {
		t.Logf("%s log kept: %s", what, path)
		return
	}
	b, _ := os.ReadFile(path)
	t.Logf("%s log %s (last %d lines):\n%s", what, path, tailLines, Tail(string(b), tailLines))
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileBase is "<package>.<test>.<what>": the package from the test binary's name (go test runs
// "<package>.test"), subtests' slashes and odd characters turned into "_".
func fileBase(test, what string) string {
	pkg := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	return unsafeChars.ReplaceAllString(pkg+"."+test+"."+what, "_")
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Writer opens path (from File) for appending. The file is closed when t ends, after every
// cleanup registered later (a server or worker stopped in a cleanup still logs its stop).
func Writer(t testing.TB, path string) (io.Writer, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = f.Close() })
	return f, nil
}
