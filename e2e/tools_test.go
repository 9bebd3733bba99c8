package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTemporalCLIReportsItsPinnedVersion: the CLI that `make tools` installs says the version
// the Makefile pins. A plain `go install` leaves the CLI's version at 0.0.0-DEV, which an
// operator then pastes into a bug report.
func TestTemporalCLIReportsItsPinnedVersion(t *testing.T) {
	cli := temporalCLI()
	if cli == "" {
		t.Skip("bin/temporal not found: run `make tools` (make test does)")
	}
	makefile, err := os.ReadFile(filepath.Join("..", "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^TEMPORAL_CLI_VERSION\s*:=\s*(\S+)$`).FindSubmatch(makefile)
	require.NotNil(t, m, "the Makefile pins TEMPORAL_CLI_VERSION")
	out, err := exec.Command(cli, "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	require.True(t, strings.HasPrefix(string(out), "temporal version "+string(m[1])+" "),
		"bin/temporal --version says %q, the Makefile pins %s (reinstall it: rm bin/temporal && make tools)", strings.TrimSpace(string(out)), m[1])
}
