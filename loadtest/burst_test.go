package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBurstAndOutage runs the load command's burst mode, built without the race detector: with
// -race the in-process Temporal server is itself instrumented and drains under one charge per
// second on this machine, so no rate limit could be measured. The command checks everything
// (drain within 10 % of the limit, no window above the token bucket's bound, every
// subscription charged exactly once on the emulator's ledger, backoff during the outage) and
// exits non-zero naming what failed. Half of the subscriptions are on PortOne V2. `make burst`
// runs the big version.
func TestBurstAndOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and drains a burst (about two minutes)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to build the load command without -race")
	}
	bin := filepath.Join(t.TempDir(), "loadtest")
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// v2Share is the share of the subscriptions on PortOne V2: the one rate limit covers both
	// generations, the outage's 5xx hit both, and each one's ledger entries are checked.
	tests := []struct {
		name    string
		args    []string
		v2Share string
	}{
		{"burst", []string{"-burst", "100", "-portone-rate", "10", "-timeout", "3m"}, "0.5"},
		{"outage", []string{"-burst", "40", "-portone-rate", "10", "-outage", "30s", "-timeout", "4m"}, "0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "-burst-v2-share", tt.v2Share)
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			t.Logf("loadtest %v:\n%s", args, tail(string(out), 3000))
			if err != nil {
				t.Fatalf("loadtest %v: %v", args, err)
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
