package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// makeVar returns the words of a `NAME := words` line of the Makefile.
func makeVar(t *testing.T, makefile []byte, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(.*)$`).FindSubmatch(makefile)
	require.NotNil(t, m, "the Makefile defines %s", name)
	return strings.Fields(string(m[1]))
}

// TestMakeRunBuildsWhatItStarts: `make run` builds only RUN_COMMANDS (a cold build of every
// command, loadtest's second embedded Temporal server included, took minutes longer), so that
// list must hold devserver, every child it starts from -bin-dir and every binary its banner tells
// the user to run; otherwise a fresh clone's `make run` fails ("not found: run make build
// first") or prints commands that do not exist yet.
func TestMakeRunBuildsWhatItStarts(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join("..", "Makefile"))
	require.NoError(t, err)
	all := makeVar(t, makefile, "COMMANDS")
	run := makeVar(t, makefile, "RUN_COMMANDS")

	require.Regexp(t, `(?m)^run: build-run\b`, string(makefile), "make run builds with build-run")
	require.Regexp(t, `(?m)^build-run:.*\n\t\$\(GO\) build -o \$\(BIN\)/ \$\(addprefix \./,\$\(RUN_COMMANDS\)\)$`, string(makefile),
		"build-run builds RUN_COMMANDS in one go build, so shared packages compile once")

	need := []string{"devserver"}
	need = append(need, childNames...)
	// The banner's commands name binaries as <bin-dir>/<name>; bin/temporal comes from make
	// tools and the banner says so when it is missing. -no-ui: no server is started here, and
	// the Web UI row is the only one that asks it for anything.
	binDir := filepath.Join(t.TempDir(), "bin")
	cfg, err := parseFlags([]string{"-bin-dir", binDir, "-data-dir", t.TempDir(), "-no-ui"}, &bytes.Buffer{})
	require.NoError(t, err)
	var banner bytes.Buffer
	printBanner(&syncWriter{w: &banner}, cfg, &stack{cfg: cfg}, 0)
	named := regexp.MustCompile(regexp.QuoteMeta(binDir+string(filepath.Separator))+`([a-z-]+)`).FindAllStringSubmatch(banner.String(), -1)
	require.NotEmpty(t, named, "the banner names no binary under -bin-dir:\n%s", banner.String())
	for _, m := range named {
		if m[1] != "temporal" && !slices.Contains(need, m[1]) {
			need = append(need, m[1])
		}
	}
	for _, n := range need {
		require.Contains(t, run, n, "make run starts or prints %s, so RUN_COMMANDS must build it", n)
	}
	for _, n := range run {
		require.Contains(t, all, n, "RUN_COMMANDS names %s, which COMMANDS (make build) does not", n)
		require.Contains(t, need, n, "RUN_COMMANDS builds %s, which make run neither starts nor prints: drop it (every extra binary costs a cold start)", n)
	}
}
