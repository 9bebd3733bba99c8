package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/workflows"
)

// TestABBAProducesEveryFigure runs a small ABBA benchmark (`loadtest abba`), built without the
// race detector for the reason TestBurstAndOutage gives. It asserts no time and no ratio: only
// that the command measured every figure of the comparison and that the money invariants held
// in every phase, which the command checks itself (it exits non-zero naming what failed).
// `make bench-abba` runs the full ladder.
func TestABBAProducesEveryFigure(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server and runs both workflows through a small ABBA benchmark (about two minutes)")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to build the load command without -race")
	}
	bin := filepath.Join(t.TempDir(), "loadtest")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Two runs of history at least: one cycle past workflows.CyclesPerRun (about 50 s at a cycle
	// a second).
	ageCycles := strconv.Itoa(workflows.CyclesPerRun + 1)
	args := []string{"abba", "-loads", "20x2sx2@20", "-idle", "50", "-age-subs", "2", "-age-cycles", ageCycles, "-timeout", "6m"}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("loadtest %v:\n%s", args, tail(string(out), 6000))
	if err != nil {
		t.Fatalf("loadtest %v: %v", args, err)
	}
	for _, want := range []string{
		"FIGURE load1 charges/s", "FIGURE load1 lateness p50 s", "FIGURE load1 lateness p99 s", "FIGURE load1 lateness max s",
		"FIGURE load1 CPU ms/cycle (process)", "FIGURE load1 CPU ms/cycle server", "FIGURE load1 CPU ms/cycle worker",
		"FIGURE load1 PortOne requests/charge", "FIGURE history events/cycle, whole chains", "FIGURE history bytes/cycle, whole chains",
		"FIGURE history bytes/cycle, run 1", "FIGURE continue-as-new input bytes, end of run 1",
		"FIGURE KiB per cached idle subscription", "FIGURE goroutines per cached idle subscription",
		"ABBA OK",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}
