package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/billing"
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

// TestABBAFlags: the flags that choose what "ours" is, -cycle-search-attributes and -gateway,
// reach the configuration, and a bad value is refused naming its flag before anything starts.
func TestABBAFlags(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		wantGateway    billing.GatewayName
		wantNoCycleSAs bool
		wantErr        string
	}{
		{name: "defaults: V1, per-cycle search attributes on", args: nil, wantGateway: billing.GatewayPortOneV1},
		{name: "per-cycle search attributes off", args: []string{"-cycle-search-attributes=false"}, wantGateway: billing.GatewayPortOneV1, wantNoCycleSAs: true},
		{name: "V2", args: []string{"-gateway", "portone_v2"}, wantGateway: billing.GatewayPortOneV2},
		{name: "V2 without per-cycle search attributes", args: []string{"-gateway=portone_v2", "-cycle-search-attributes=false"},
			wantGateway: billing.GatewayPortOneV2, wantNoCycleSAs: true},
		{name: "V1 named", args: []string{"-gateway", "portone_v1"}, wantGateway: billing.GatewayPortOneV1},
		{name: "unknown gateway", args: []string{"-gateway", "portone_v3"}, wantErr: "-gateway"},
		{name: "empty gateway", args: []string{"-gateway", ""}, wantErr: "-gateway"},
		{name: "misspelt boolean", args: []string{"-cycle-search-attributes=flase"}, wantErr: "cycle-search-attributes"},
		{name: "unknown part", args: []string{"-parts", "loads,speed"}, wantErr: "-parts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			c, run, err := parseABBAArgs(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.gateway != tt.wantGateway || c.noCycleSAs != tt.wantNoCycleSAs {
				t.Errorf("gateway %q, no per-cycle SAs %v; want %q, %v", c.gateway, c.noCycleSAs, tt.wantGateway, tt.wantNoCycleSAs)
			}
			if !run["loads"] || len(c.loads) == 0 {
				t.Errorf("the default parts run no loads: %v, %v", run, c.loads)
			}
		})
	}
}

// TestPortOneV2RequestNames: the V2 requests are counted under the names the figures add up
// (v2pay and v2get are the charge path's, v2key the start's billing-key check).
func TestPortOneV2RequestNames(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{http.MethodPost, "/payments/load-1_t_c1_a1/billing-key", "v2pay"},
		{http.MethodGet, "/payments/load-1_t_c1_a1", "v2get"},
		{http.MethodGet, "/payments", "v2other"},
		{http.MethodGet, "/payments/load-1_t_c1_a1/transactions", "v2other"},
		{http.MethodPost, "/payments/load-1_t_c1_a1/cancel", "v2other"},
		{http.MethodGet, "/billing-keys/abba-v2-key-3", "v2key"},
		{http.MethodDelete, "/billing-keys/abba-v2-key-3", "v2other"},
		{http.MethodPost, "/login/api-secret", "token"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		if got := portoneV2Op(r); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
	r := &loadResult{charges: 4, reqs: map[string]int{"v2pay": 4, "v2get": 1, "v2key": 2, "token": 1}}
	if got := r.reqsPerCharge(); got != 1.25 {
		t.Errorf("requests per charge %v, want 1.25 (4 charges and 1 lookup over 4 charges)", got)
	}
	if got := r.lookupsPerCharge(); got != 0.25 {
		t.Errorf("lookups per charge %v, want 0.25", got)
	}
	if got := r.allReqsPerCharge(); got != 1.75 {
		t.Errorf("all requests per charge %v, want 1.75 (the token is not counted)", got)
	}
}

// TestPortOneV2ReadBacksAreNotTheChargePath: a payment read before its charge is the charge
// path's look-first (v2get); read after it, a read-back (v2readback), counted apart from the
// charge path's requests and in the "all" figure.
func TestPortOneV2ReadBacksAreNotTheChargePath(t *testing.T) {
	c := &opCounter{n: map[string]int{}}
	h := c.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), portoneV2Op)
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/payments/p-c2"}, // a retried attempt's look-first
		{http.MethodPost, "/payments/p-c2/billing-key"},
		{http.MethodGet, "/payments/p-c2"}, // the read-back of its transactionId
		{http.MethodPost, "/payments/p-c3/billing-key"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, "http://127.0.0.1"+req.path, nil))
	}
	got := c.snapshot()
	if got["v2get"] != 1 || got["v2readback"] != 1 || got["v2pay"] != 2 {
		t.Fatalf("counts %v, want one look-first, one read-back, two charges", got)
	}
	r := &loadResult{charges: 2, reqs: got}
	if r.reqsPerCharge() != 1.5 || r.readBacksPerCharge() != 0.5 || r.allReqsPerCharge() != 2 {
		t.Errorf("per charge: path %v, read-backs %v, all %v; want 1.5, 0.5, 2", r.reqsPerCharge(), r.readBacksPerCharge(), r.allReqsPerCharge())
	}
}

// TestABBAOnV2WithoutCycleSearchAttributes runs the loads part on PortOne V2 with ours' worker
// set to -cycle-search-attributes=false: both kinds charge through the emulator's V2 API (ours
// with its V2 billing keys, the baseline with one POST per charge) and the money invariants
// hold. Like TestABBAProducesEveryFigure it asserts no time and no ratio.
func TestABBAOnV2WithoutCycleSearchAttributes(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server and runs both workflows through a small ABBA load on PortOne V2 (about a minute)")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to build the load command without -race")
	}
	bin := filepath.Join(t.TempDir(), "loadtest")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := []string{"abba", "-loads", "10x2sx2@10", "-parts", "loads", "-gateway", "portone_v2", "-cycle-search-attributes=false", "-timeout", "4m"}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("loadtest %v:\n%s", args, tail(string(out), 6000))
	if err != nil {
		t.Fatalf("loadtest %v: %v", args, err)
	}
	s := string(out)
	for _, want := range []string{
		"ours: gateway portone_v2, per-cycle search attributes off",
		"FIGURE load1 PortOne requests/charge", "FIGURE load1 CPU ms/cycle (process)",
		"ABBA OK for the parts run (loads)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// Every phase charged through V2 (its requests are counted as v2pay), none through V1.
	phases := 0
	for line := range strings.SplitSeq(s, "\n") {
		if !strings.Contains(line, "  phase ") {
			continue
		}
		phases++
		if !strings.Contains(line, "v2pay:20") || strings.Contains(line, "again:") {
			t.Errorf("a phase did not charge its 20 cycles through V2 alone: %s", line)
		}
	}
	if phases != len(abbaOrder) {
		t.Errorf("%d phases printed, want %d", phases, len(abbaOrder))
	}
	// The naive baseline makes exactly one request per charge; a second would mean the V2
	// requests are miscounted.
	if !regexp.MustCompile(`FIGURE load1 PortOne requests/charge +ours=\S+ +baseline=1\.00 `).MatchString(s) {
		t.Error("the baseline's V2 requests per charge are not 1.00")
	}
}
