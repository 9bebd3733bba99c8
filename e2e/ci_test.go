package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCIRunPrintsAFailedTestsLogs runs .ci/run with a stand-in `make` that fails the way a
// failed e2e test does (a server log kept in $ARTIFACTS_DIR/logs): CI keeps only what .ci/run
// prints, so it must run exactly `make test`, exit with its status, and print where the
// artifacts are and the kept log's failed-task line and tail. Stand-ins for chromium, promtool
// and fc-list keep it from installing anything; without PostgreSQL 15 (it would install it) the
// test skips.
func TestCIRunPrintsAFailedTestsLogs(t *testing.T) {
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/initdb"); err != nil {
		t.Skip(".ci/run would install PostgreSQL 15 here")
	}
	root := t.TempDir()
	repo, bin := filepath.Join(root, "repo"), filepath.Join(root, "bin")
	require.NoError(t, os.MkdirAll(filepath.Join(repo, ".ci"), 0o755))
	require.NoError(t, os.MkdirAll(bin, 0o755))
	script, err := os.ReadFile(filepath.Join("..", ".ci", "run"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(repo, ".ci", "run"), script, 0o755))
	stub := func(name, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	}
	stub("chromium", "exit 0")
	stub("promtool", "exit 0")
	stub("fc-list", "echo NanumGothic")
	stub("make", `echo "make called with: $*"
mkdir -p "$ARTIFACTS_DIR/logs"
printf 'first line\n2026-12-07T13:12:36Z	info	Failing the workflow task.	{"wf-id": "subscription/fl-a", "cause": "UnhandledCommand"}\nlast line\n' > "$ARTIFACTS_DIR/logs/e2e.TestX.server.log"
exit 2`)

	artifacts := filepath.Join(repo, ".artifacts")
	cmd := exec.Command("bash", filepath.Join(repo, ".ci", "run"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ARTIFACTS_DIR="+artifacts)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	require.Equal(t, 2, exit.ExitCode(), "make's status")
	s := string(out)
	require.Contains(t, s, "make called with: test\n", "the test command is exactly `make test`")
	require.Contains(t, s, "make test failed (exit 2); artifacts: "+artifacts)
	kept := filepath.Join(artifacts, "logs", "e2e.TestX.server.log")
	require.Contains(t, s, "=== "+kept+": warnings, errors and failed workflow tasks")
	require.Contains(t, s, `"cause": "UnhandledCommand"`)
	require.True(t, strings.HasSuffix(strings.TrimSpace(s), "last line"), "the log's tail ends the output:\n%s", s)
}
