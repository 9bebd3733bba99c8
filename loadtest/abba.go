package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/workflows"
)

// loadtest abba: our subscription workflow against a minimal baseline (baseline.go) in one
// process and one server (temporaltest: SQLite in memory, one shard), each on its own task
// queue, the phases interleaved A B B A so that drift of the machine (other work, a warming
// server) falls on both alike. At every load it prints ours, the baseline's and the ratio of:
// achieved charges/s, charge lateness p50/p99/max, process CPU per cycle split by side (pprof
// labels: server, worker, emulator, driver), PortOne requests per charge; then, once each,
// history events and bytes per cycle over whole runs (start and continue-as-new included) and
// by the subscription's age, and worker memory per cached idle subscription (heap and
// goroutines). It checks the money invariants of every phase and exits non-zero when one is
// broken or a figure could not be measured; it never asserts a time.

// abbaLoad is one load of the ladder: n subscriptions started open-loop at rate per second,
// each billed every interval for cycles cycles.
type abbaLoad struct {
	n        int
	interval time.Duration
	cycles   int
	rate     float64
}

func (l abbaLoad) String() string {
	return fmt.Sprintf("%d subs × %s × %d cycles, starts %.0f/s", l.n, l.interval, l.cycles, l.rate)
}

// parseLoads reads "200x5sx3@100,1000x5sx3@500".
func parseLoads(s string) ([]abbaLoad, error) {
	var out []abbaLoad
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		spec, rate, ok := strings.Cut(f, "@")
		parts := strings.Split(spec, "x")
		if !ok || len(parts) != 3 {
			return nil, fmt.Errorf("load %q: want NxINTERVALxCYCLES@RATE, e.g. 200x5sx3@100", f)
		}
		var l abbaLoad
		var err error
		if l.n, err = strconv.Atoi(parts[0]); err != nil || l.n < 1 {
			return nil, fmt.Errorf("load %q: bad subscription count", f)
		}
		if l.interval, err = time.ParseDuration(parts[1]); err != nil || l.interval < time.Second || l.interval%time.Second != 0 {
			return nil, fmt.Errorf("load %q: the interval must be whole seconds, at least 1s", f)
		}
		if l.cycles, err = strconv.Atoi(parts[2]); err != nil || l.cycles < 2 {
			return nil, fmt.Errorf("load %q: at least 2 cycles (lateness is measured from cycle 2)", f)
		}
		if l.rate, err = strconv.ParseFloat(rate, 64); err != nil || l.rate <= 0 {
			return nil, fmt.Errorf("load %q: bad start rate", f)
		}
		out = append(out, l)
	}
	return out, nil
}

type abbaConfig struct {
	loads      []abbaLoad
	idle       int
	ageSubs    int
	ageCycles  int
	perRun     int
	maxActs    int
	timeout    time.Duration
	profileDir string
	// noCycleSAs runs ours with -cycle-search-attributes=false.
	noCycleSAs bool
	// gateway is the PortOne generation both kinds charge through (-gateway).
	gateway billing.GatewayName
}

// kind is one side of the comparison.
type kind int

const (
	ours kind = iota
	base
)

func (k kind) String() string { return [...]string{"ours", "baseline"}[k] }
func (k kind) letter() string { return [...]string{"o", "b"}[k] }

// abbaOrder is the interleaving of the phases at each load.
var abbaOrder = []kind{ours, base, base, ours}

// parseABBAArgs reads the abba command's flags (usage errors go to out) into its
// configuration and the parts to run; it starts nothing, so a bad flag is refused at once.
func parseABBAArgs(args []string, out io.Writer) (abbaConfig, map[string]bool, error) {
	var c abbaConfig
	fs := flag.NewFlagSet("loadtest abba", flag.ContinueOnError)
	fs.SetOutput(out)
	loads := fs.String("loads", "150x10sx3@50,300x6sx3@100,800x3sx3@400", "the load ladder, NxINTERVALxCYCLES@STARTS_PER_SECOND, comma-separated; the last should saturate both")
	fs.IntVar(&c.idle, "idle", 1000, "cached idle subscriptions for the memory figure")
	fs.IntVar(&c.ageSubs, "age-subs", 5, "subscriptions of each kind billed every second for the history-by-age figure")
	fs.IntVar(&c.ageCycles, "age-cycles", 250, "cycles of the history-by-age figure (workflows.CyclesPerRun per run)")
	fs.IntVar(&c.maxActs, "max-concurrent-activities", 200, "activity slots of each worker")
	cycleSAs := fs.Bool("cycle-search-attributes", true, "ours upserts NextChargeAt and BillingCycle every cycle (the worker's default); false: as a worker with -cycle-search-attributes=false")
	fs.DurationVar(&c.timeout, "timeout", 60*time.Minute, "give up after this long")
	gw := fs.String("gateway", string(billing.GatewayPortOneV1), "the PortOne generation both kinds charge through: portone_v1, or portone_v2 (ours' subscriptions name gateway portone_v2 and charge with V2 NaverPay billing keys; the baseline pays with one POST /payments/{paymentId}/billing-key)")
	parts := fs.String("parts", "loads,history,memory", "which parts to run, comma-separated: loads, history, memory (a part left out prints no figures)")
	fs.StringVar(&c.profileDir, "profile-dir", "", "write each phase's CPU profile here (go tool pprof -tagfocus side=worker FILE)")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	var err error
	if c.loads, err = parseLoads(*loads); err != nil {
		return c, nil, err
	}
	c.perRun = workflows.CyclesPerRun
	c.noCycleSAs = !*cycleSAs
	if c.gateway, err = parseGateway(*gw); err != nil {
		return c, nil, err
	}
	run := map[string]bool{}
	for p := range strings.SplitSeq(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "loads", "history", "memory":
			run[p] = true
		default:
			return c, nil, fmt.Errorf("-parts: unknown part %q (loads, history, memory)", p)
		}
	}
	if !run["loads"] {
		c.loads = nil
	}
	if c.idle < 1 || c.ageSubs < 1 || c.ageCycles < c.perRun+1 {
		return c, nil, fmt.Errorf("-idle and -age-subs must be positive and -age-cycles above %d (two runs at least)", c.perRun)
	}
	return c, run, nil
}

func runABBA(ctx context.Context, args []string, out io.Writer) error {
	c, run, err := parseABBAArgs(args, out)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	printMachine(out)
	fmt.Fprintf(out, "command: loadtest abba %s\n", strings.Join(args, " "))
	s, err := startABBAStack(c.maxActs, c.noCycleSAs, c.gateway)
	if err != nil {
		return err
	}
	defer s.close()
	maxN := c.idle
	for _, l := range c.loads {
		maxN = max(maxN, l.n)
	}
	if err := s.registerCustomers(maxN); err != nil {
		return err
	}
	fmt.Fprintf(out, "ours: gateway %s, per-cycle search attributes %s\n", c.gateway, onOff(!c.noCycleSAs))
	fmt.Fprintln(out, "one process: the Temporal server, both workers, the PortOne emulator and the load driver; CPU is split by pprof labels")

	var problems []string
	var figs figures
	for li, l := range c.loads {
		fmt.Fprintf(out, "\n== load %d: %s, phases %v\n", li+1, l, abbaOrder)
		var res [2][]*loadResult
		for pi, k := range abbaOrder {
			r, err := s.runLoad(ctx, k, l, fmt.Sprintf("l%dp%d%s", li+1, pi+1, k.letter()), c.profileDir)
			if err != nil {
				return fmt.Errorf("load %d phase %d (%s): %w", li+1, pi+1, k, err)
			}
			fmt.Fprintf(out, "  phase %d %-8s %s\n", pi+1, k, r.summary())
			problems = append(problems, r.problems...)
			res[k] = append(res[k], r)
		}
		figs.addLoad(out, li+1, l, res)
	}

	if run["history"] {
		fmt.Fprintf(out, "\n== history per cycle over whole runs, and by age (%d subscriptions of each kind, every 1s, %d cycles, continue-as-new every %d)\n", c.ageSubs, c.ageCycles, c.perRun)
		ages, agProblems, err := s.runAge(ctx, c)
		if err != nil {
			return fmt.Errorf("history by age: %w", err)
		}
		problems = append(problems, agProblems...)
		figs.addAge(out, ages)
	}

	if run["memory"] {
		fmt.Fprintf(out, "\n== worker memory per cached idle subscription (%d of each kind, waiting on their next cycle's timer)\n", c.idle)
		var mem [2]memResult
		for _, k := range []kind{ours, base} {
			m, err := s.runIdle(ctx, k, c.idle, c.profileDir)
			if err != nil {
				return fmt.Errorf("memory (%s): %w", k, err)
			}
			mem[k] = m
			fmt.Fprintf(out, "  %-8s %s\n", k, m.summary())
		}
		figs.addMemory(out, mem)
	}

	fmt.Fprintln(out, "\n== figures (machine-readable; ratio = ours / baseline)")
	for _, f := range figs {
		fmt.Fprintf(out, "FIGURE %-40s ours=%-12s baseline=%-12s ratio=%s\n", f.name, fmtFig(f.ours), fmtFig(f.base), fmtRatio(f.ours, f.base))
	}
	if missing := figs.missing(); len(missing) > 0 {
		problems = append(problems, "figures not measured: "+strings.Join(missing, ", "))
	}
	printLoad(out, "load average at the end")
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 30)] {
			fmt.Fprintln(out, "PROBLEM:", p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	if len(run) < 3 {
		var names []string
		for _, p := range []string{"loads", "history", "memory"} {
			if run[p] {
				names = append(names, p)
			}
		}
		fmt.Fprintf(out, "ABBA OK for the parts run (%s): their figures measured; money invariants hold in every phase\n", strings.Join(names, ","))
		return nil
	}
	fmt.Fprintln(out, "ABBA OK: every figure measured; money invariants hold in every phase (each cycle paid at most once, every subscription paid its cycles, every amount right)")
	return nil
}

func custUID(i int) string { return fmt.Sprintf("abba-cust-%d", i) }

// v2KeyOf is customer i's V2 NaverPay billing key (-gateway portone_v2).
func v2KeyOf(i int) string { return fmt.Sprintf("abba-v2-key-%d", i) }

// parseGateway reads -gateway: a generation both kinds charge through; "" is not accepted, so
// that a run's output always names it.
func parseGateway(s string) (billing.GatewayName, error) {
	switch g := billing.GatewayName(strings.TrimSpace(s)); g {
	case billing.GatewayPortOneV1, billing.GatewayPortOneV2:
		return g, nil
	}
	return "", fmt.Errorf("-gateway: must be %q or %q, got %q", billing.GatewayPortOneV1, billing.GatewayPortOneV2, s)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// registerCustomers gives customers 0..n-1 their billing key: a V1 customer_uid, or on V2 a
// NaverPay billing key issued as NaverPay's window would (one issueId per Naver account).
func (s *abbaStack) registerCustomers(n int) error {
	for i := range n {
		if s.gateway.IsV2() {
			if _, err := s.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: fmt.Sprintf("abba-issue-%d", i), IssueName: "ABBA",
				NaverAccount: fmt.Sprintf("abba-naver-%d", i), BillingKey: v2KeyOf(i)}); err != nil {
				return fmt.Errorf("issue the V2 billing key of customer %d: %w", i, err)
			}
			continue
		}
		if _, err := s.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: custUID(i)}); err != nil {
			return err
		}
	}
	return nil
}

// customer is customer i's billing key on the run's gateway.
func (s *abbaStack) customer(i int) string {
	if s.gateway.IsV2() {
		return v2KeyOf(i)
	}
	return custUID(i)
}

func printMachine(out io.Writer) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	fmt.Fprintf(out, "machine: %d CPUs (%s), %s/%s, %s\n", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
	printLoad(out, "load average at the start")
}

func printLoad(out io.Writer, what string) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			fmt.Fprintf(out, "%s: %s %s %s\n", what, f[0], f[1], f[2])
		}
	}
}

// abbaStack is the one process's server, emulator and workers. Each is created under its own
// pprof label ("side"), which the goroutines it starts inherit, so that a CPU profile says
// which side spent what.
type abbaStack struct {
	ts      *temporaltest.TestServer
	wc      client.Client // the workers'
	dc      client.Client // the load driver's
	ns      string
	emu     *portonetest.Emulator
	emuSrv  *httptest.Server
	reqs    *opCounter
	gw      *portone.Client
	maxActs int
	// noCycleSAs: ours' worker runs with -cycle-search-attributes=false.
	noCycleSAs bool
	// gateway is the generation both kinds charge through; the V2 API is served beside V1
	// either way (emuV2Srv, gwV2), as on a worker with V2 settings.
	gateway  billing.GatewayName
	emuV2Srv *httptest.Server
	gwV2     *portonev2.Gateway
	// edgeSrv is the HTTP edge (its PortOne V2 webhook route, as deployed): ours' V2 charges
	// ask PortOne to report them there (BILLING_V2_NOTICE_URL), and the edge verifies each
	// Transaction.Paid by reading the payment and relays it to the subscription, which learns
	// the charge's transactionId from it. The baseline asks for no webhook.
	edgeSrv *httptest.Server
	// hooks counts the edge's webhook verdicts (accepted: verified, read back and relayed).
	hooks   *opCounter
	workers []worker.Worker
}

func labelled(side string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) { f() })
}

func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

func startABBAStack(maxActs int, noCycleSAs bool, gw billing.GatewayName) (*abbaStack, error) {
	s := &abbaStack{maxActs: maxActs, noCycleSAs: noCycleSAs, gateway: gw, reqs: &opCounter{n: map[string]int{}}, hooks: &opCounter{n: map[string]int{}}}
	labelled("server", func() { s.ts = temporaltest.NewServer() })
	s.ns = s.ts.GetDefaultNamespace()
	labelled("worker", func() { s.wc = s.ts.NewClientWithOptions(client.Options{Logger: quietLogger()}) })
	labelled("driver", func() { s.dc = s.ts.NewClientWithOptions(client.Options{Logger: quietLogger()}) })
	if err := s.registerSearchAttributes(); err != nil {
		s.close()
		return nil, err
	}
	labelled("emulator", func() {
		s.emu = portonetest.New(portonetest.Options{})
		s.emuSrv = httptest.NewServer(s.reqs.wrap(s.emu, portoneOp))
		s.emuV2Srv = httptest.NewServer(s.reqs.wrap(s.emu.V2Handler(), portoneV2Op))
	})
	v1, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(s.emuSrv.URL), portone.WithTimeout(5*time.Second))
	if err != nil {
		s.close()
		return nil, err
	}
	s.gw = v1
	if s.gwV2, err = portonev2.New(portonev2.Config{BaseURL: s.emuV2Srv.URL, Secret: portonetest.DefaultV2Secret,
		StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 5 * time.Second}); err != nil {
		s.close()
		return nil, err
	}
	if err := s.startEdge(v1); err != nil {
		s.close()
		return nil, err
	}
	if err := s.startWorkers(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// startEdge starts the edge, its requests labelled "edge".
func (s *abbaStack) startEdge(v1 *portone.Client) error {
	keys, err := edge.ParseV2WebhookSecrets([]string{portonetest.DefaultV2WebhookSecret})
	if err != nil {
		return err
	}
	var h http.Handler
	s.edgeSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pprof.Do(r.Context(), pprof.Labels("side", "edge"), func(context.Context) { h.ServeHTTP(w, r) })
	}))
	e, err := edge.New(edge.Config{PublicURL: s.edgeSrv.URL, IMPCode: "imp00000000",
		V2: &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}},
		edge.Deps{Workflows: s.dc, PortOne: v1, PortOneV2: s.gwV2, Logger: zap.NewNop(), WebhookVerdict: func(v string) {
			s.hooks.mu.Lock()
			s.hooks.n[v]++
			s.hooks.mu.Unlock()
		}})
	if err != nil {
		return err
	}
	h = e.Handler()
	return nil
}

// startWorkers starts our billing worker (the real workflow and activities, demo mode, as the
// load command runs them) and the baseline's, with the same options.
func (s *abbaStack) startWorkers() error {
	var err error
	labelled("worker", func() {
		opts := worker.Options{MaxConcurrentActivityExecutionSize: s.maxActs}
		acts := &activities.Activities{Gateway: portonev1.New(s.gw), GatewayV2: s.gwV2, Config: activities.Config{DemoMode: true,
			ActivityTimeout: activities.DefaultActivityTimeout, ScheduleSettleDelay: activities.DefaultScheduleSettleDelay,
			NoCycleSearchAttributes: s.noCycleSAs, NoticeURLV2: s.edgeSrv.URL + edge.V2WebhookRoute}}
		ow := worker.New(s.wc, billing.TaskQueue, opts)
		workflows.Register(ow, acts)
		bw := worker.New(s.wc, baselineQueue, opts)
		registerBaseline(bw, &baselineActivities{gw: s.gw, v2: newBaselineV2(s.emuV2Srv.URL)})
		for _, w := range []worker.Worker{ow, bw} {
			if err = w.Start(); err != nil {
				return
			}
			s.workers = append(s.workers, w)
		}
	})
	return err
}

func (s *abbaStack) stopWorkers() {
	for _, w := range s.workers {
		w.Stop()
	}
	s.workers = nil
}

func (s *abbaStack) close() {
	s.stopWorkers()
	if s.emuSrv != nil {
		s.emuSrv.Close()
	}
	if s.emuV2Srv != nil {
		s.emuV2Srv.Close()
	}
	if s.edgeSrv != nil {
		s.edgeSrv.Close()
	}
	if s.emu != nil {
		s.emu.Close()
	}
	if s.ts != nil {
		s.ts.Stop()
	}
}

// registerSearchAttributes registers ours and waits until the server accepts queries on them
// and past the namespace caches' 2-second refresh (as stacktest does).
func (s *abbaStack) registerSearchAttributes() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := temporalconn.RegisterSearchAttributes(ctx, s.dc, s.ns); err != nil {
		return err
	}
	var last error
	for ctx.Err() == nil {
		_, last = s.dc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns, Query: "BillingStatus='active' AND AmountKRW > 0"})
		if last == nil {
			time.Sleep(2500 * time.Millisecond)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("search attributes not usable after 30s: %w", last)
}

// opCounter counts the PortOne requests the emulator receives, by operation. A V2 payment read
// after the payment's own charge is a read-back (v2readback: the workflow's, for the
// transactionId a V2 approval does not name, standing in here for the edge's verification of
// PortOne's Transaction.Paid, which the load runs without), not a lookup of the charge path
// (v2get: the look-first of a retried attempt, a decline's read).
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
	// charged are the V2 paymentIds charged so far.
	charged map[string]bool
}

// portoneOp names a V1 request.
func portoneOp(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/users/getToken":
		return "token"
	case p == "/subscribe/payments/again":
		return "again"
	case strings.HasPrefix(p, "/payments/findAll/"):
		return "findAll"
	case strings.HasPrefix(p, "/subscribe/customers/"):
		return "customer"
	}
	return "other"
}

// portoneV2Op names a V2 request: v2pay is the charge (POST /payments/{paymentId}/billing-key),
// v2get a payment's lookup, v2key a billing key's.
func portoneV2Op(r *http.Request) string {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodPost && p == "/login/api-secret":
		return "token"
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/payments/") && strings.HasSuffix(p, "/billing-key"):
		return "v2pay"
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/payments/") && strings.Count(p, "/") == 2:
		return "v2get"
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/billing-keys/"):
		return "v2key"
	}
	return "v2other"
}

// wrap counts each request to next under the name opOf gives it.
func (c *opCounter) wrap(next http.Handler, opOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := opOf(r)
		c.mu.Lock()
		op = c.readBack(op, r)
		c.n[op]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// readBack names a V2 read of a payment already charged v2readback, and remembers charges.
// Called with mu held.
func (c *opCounter) readBack(op string, r *http.Request) string {
	pid := strings.TrimPrefix(strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/billing-key"), "/payments/")
	switch op {
	case "v2pay":
		if c.charged == nil {
			c.charged = map[string]bool{}
		}
		c.charged[pid] = true
	case "v2get":
		if c.charged[pid] {
			return "v2readback"
		}
	}
	return op
}

func (c *opCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func diffCounts(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadResult is one phase at one load.
type loadResult struct {
	kind    kind
	charges int
	window  time.Duration // first start → last counted charge
	late    []time.Duration
	cpu     time.Duration
	sides   map[string]time.Duration
	reqs    map[string]int
	// hooks are the edge's webhook verdicts in the phase.
	hooks    map[string]int
	problems []string
	prof     profileFindings
}

func (r *loadResult) rate() float64 { return float64(r.charges) / r.window.Seconds() }

func (r *loadResult) cpuPerCycle() time.Duration { return r.cpu / time.Duration(max(r.charges, 1)) }

// reqsPerCharge is the PortOne requests of the charge path (V1: again and the lookups before
// it; V2: the charge and the lookups before it, not the read-backs after it) per charge: the
// issue's "requests per first-attempt charge".
func (r *loadResult) reqsPerCharge() float64 {
	return float64(r.reqs["again"]+r.reqs["findAll"]+r.reqs["v2pay"]+r.reqs["v2get"]) / float64(max(r.charges, 1))
}

// readBacksPerCharge is the V2 payments read after their charge per charge (opCounter).
func (r *loadResult) readBacksPerCharge() float64 {
	return float64(r.reqs["v2readback"]) / float64(max(r.charges, 1))
}

// lookupsPerCharge is the payment lookups (V1 findAll, V2 GET /payments/{paymentId}) per charge.
func (r *loadResult) lookupsPerCharge() float64 {
	return float64(r.reqs["findAll"]+r.reqs["v2get"]) / float64(max(r.charges, 1))
}

// allReqsPerCharge counts every PortOne request but the access token's per charge, the
// subscription's start (ours checks the billing key) included.
func (r *loadResult) allReqsPerCharge() float64 {
	n := 0
	for k, v := range r.reqs {
		if k != "token" {
			n += v
		}
	}
	return float64(n) / float64(max(r.charges, 1))
}

func (r *loadResult) summary() string {
	return fmt.Sprintf("%d charges in %s = %.1f/s; lateness p50 %s p99 %s max %s; CPU %.1f ms/cycle (%s); PortOne %v = %.2f charge requests/charge; edge webhooks %v; load %s",
		r.charges, r.window.Round(time.Millisecond), r.rate(), pct(r.late, 50), pct(r.late, 99), pct(r.late, 100),
		ms(r.cpuPerCycle()), sidesString(r.sides, r.charges), r.reqs, r.reqsPerCharge(), r.hooks, loadAvg())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:1], "")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sidesString(sides map[string]time.Duration, charges int) string {
	var parts []string
	for _, k := range []string{"server", "worker", "edge", "emulator", "driver", "other"} {
		if d, ok := sides[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, ms(d)/float64(max(charges, 1))))
		}
	}
	return strings.Join(parts, ", ")
}

// subIDs are the subscription IDs of one phase.
func subIDs(tag string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", tag, i)
	}
	return ids
}

// start starts subscription i of kind k billed every interval for cycles cycles (the
// baseline ends by itself after them; ours is canceled).
func (s *abbaStack) start(ctx context.Context, k kind, id string, i int, interval time.Duration, cycles int) error {
	switch k {
	case ours:
		in := billing.SubscriptionInput{SubscriptionID: id, CustomerUID: s.customer(i), Gateway: s.gateway,
			Plan: billing.Plan{Name: "Load", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Second, Count: int(interval / time.Second)}}}
		_, err := s.dc.ExecuteWorkflow(ctx, billing.StartOptions(in, ""), billing.WorkflowType, in)
		return err
	default:
		in := baselineInput{SubscriptionID: id, CustomerUID: s.customer(i), V2: s.gateway.IsV2(), Amount: 9900, Interval: interval, Cycles: cycles, PerRun: workflows.CyclesPerRun}
		_, err := s.dc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: baselineWorkflowID(id), TaskQueue: baselineQueue}, baselineWorkflowName, in)
		return err
	}
}

func baselineWorkflowID(id string) string { return "baseline/" + id }

func workflowID(k kind, id string) string {
	if k == ours {
		return billing.WorkflowID(id)
	}
	return baselineWorkflowID(id)
}

// paidOf returns, per subscription of the phase (by ID prefix), the ledger's paid charges by
// cycle (creation time, full resolution) and how often each cycle was paid.
type paidCharge struct {
	at     time.Time
	times  int
	amount int64
}

func (s *abbaStack) paidOf(prefix string) (map[string]map[int]*paidCharge, []string) {
	out := map[string]map[int]*paidCharge{}
	var problems []string
	for _, e := range s.emu.Ledger() {
		if e.Usage != "payment" || e.PaidAt.IsZero() {
			continue
		}
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		if err != nil {
			if strings.HasPrefix(e.MerchantUID, prefix) {
				problems = append(problems, "foreign merchant_uid "+e.MerchantUID)
			}
			continue
		}
		if !strings.HasPrefix(p.SubscriptionID, prefix) {
			continue
		}
		m := out[p.SubscriptionID]
		if m == nil {
			m = map[int]*paidCharge{}
			out[p.SubscriptionID] = m
		}
		c := m[p.Charge.Cycle]
		if c == nil {
			c = &paidCharge{at: e.CreatedAt}
			m[p.Charge.Cycle] = c
		}
		c.times++
		c.amount += e.Amount
	}
	return out, problems
}

func countCycles(paid map[string]map[int]*paidCharge, cycles int) (n int, last time.Time) {
	for _, m := range paid {
		for c, p := range m {
			if c <= cycles {
				n++
				if p.at.After(last) {
					last = p.at
				}
			}
		}
	}
	return n, last
}

// runLoad runs one phase: starts, waits for every cycle, ends the subscriptions, checks the
// ledger and measures.
func (s *abbaStack) runLoad(ctx context.Context, k kind, l abbaLoad, tag, profileDir string) (*loadResult, error) {
	ids := subIDs(tag, l.n)
	prefix := tag + "-"
	want := l.n * l.cycles
	r := &loadResult{kind: k}
	runtime.GC()
	reqs0, hooks0 := s.reqs.snapshot(), s.hooks.snapshot()
	prof, err := startProfile()
	if err != nil {
		return nil, err
	}
	cpu0 := processCPU()
	begin := time.Now()
	var startErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	labelled("driver", func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
		defer tick.Stop()
		for i, id := range ids {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.start(ctx, k, id, i, l.interval, l.cycles); err != nil {
					mu.Lock()
					startErr = errors.Join(startErr, fmt.Errorf("start %s: %w", id, err))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
	if startErr != nil {
		prof.stop()
		return nil, startErr
	}
	// Ours bills until it is canceled, so each subscription is canceled as soon as it has
	// paid its cycles: both kinds then do the same work (the baseline ends by itself).
	canceled := map[string]bool{}
	var cancelErr error
	var cwg sync.WaitGroup
	var last time.Time
	for {
		paid, _ := s.paidOf(prefix)
		n, _ := countCycles(paid, l.cycles)
		if k == ours {
			for id, m := range paid {
				if len(m) >= l.cycles && !canceled[id] {
					canceled[id] = true
					cwg.Add(1)
					labelled("driver", func() {
						go func() {
							defer cwg.Done()
							if err := s.cancelOurs(ctx, id); err != nil {
								mu.Lock()
								cancelErr = errors.Join(cancelErr, fmt.Errorf("cancel %s: %w", id, err))
								mu.Unlock()
							}
						}()
					})
				}
			}
		}
		if n >= want {
			r.charges, last = countCycles(paid, math.MaxInt)
			break
		}
		select {
		case <-ctx.Done():
			prof.stop()
			return nil, fmt.Errorf("only %d of %d charges: %w", n, want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	r.cpu = processCPU() - cpu0
	r.prof = prof.stop()
	r.sides = r.prof.sides
	if profileDir != "" {
		if err := os.WriteFile(fmt.Sprintf("%s/cpu-%s.pprof", profileDir, tag), r.prof.raw, 0o644); err != nil {
			return nil, err
		}
	}
	r.reqs = diffCounts(reqs0, s.reqs.snapshot())
	r.hooks = diffCounts(hooks0, s.hooks.snapshot())
	r.window = last.Sub(begin)
	cwg.Wait()
	if cancelErr != nil {
		return nil, cancelErr
	}

	// Every subscription has ended or is ending; read its calendar from the result.
	dues, err := s.finish(ctx, k, ids, l.interval, canceled)
	if err != nil {
		return nil, err
	}
	paid, problems := s.paidOf(prefix)
	r.problems = problems
	for _, id := range ids {
		m := paid[id]
		for c := 1; c <= l.cycles; c++ {
			p := m[c]
			switch {
			case p == nil:
				r.problems = append(r.problems, fmt.Sprintf("%s cycle %d never paid", id, c))
				continue
			case p.times > 1:
				r.problems = append(r.problems, fmt.Sprintf("%s cycle %d paid %d times", id, c, p.times))
			case p.amount != 9900:
				r.problems = append(r.problems, fmt.Sprintf("%s cycle %d paid %d KRW, want 9900", id, c, p.amount))
			}
		}
		for c, p := range m {
			if p.times > 1 && c > l.cycles {
				r.problems = append(r.problems, fmt.Sprintf("%s cycle %d paid %d times", id, c, p.times))
			}
			if c >= 2 && !p.at.After(last) {
				r.late = append(r.late, p.at.Sub(dues[id](c)))
			}
		}
	}
	return r, nil
}

// finish ends the phase's subscriptions (ours by the cancel message, the baseline by itself)
// and returns each one's calendar: the due instant of cycle c.
func (s *abbaStack) finish(ctx context.Context, k kind, ids []string, interval time.Duration, canceled map[string]bool) (map[string]func(int) time.Time, error) {
	dues := make(map[string]func(int) time.Time, len(ids))
	var mu sync.Mutex
	var errs error
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	labelled("driver", func() {
		for _, id := range ids {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				due, err := s.finishOne(ctx, k, id, interval, canceled[id])
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = errors.Join(errs, fmt.Errorf("%s: %w", id, err))
					return
				}
				dues[id] = due
			}()
		}
		wg.Wait()
	})
	return dues, errs
}

// cancelOurs cancels one of our subscriptions at once.
func (s *abbaStack) cancelOurs(ctx context.Context, id string) error {
	return s.dc.SignalWorkflow(ctx, billing.WorkflowID(id), "", billing.MsgCancel,
		billing.CancelRequest{When: billing.Now, Reason: "benchmark over"})
}

func (s *abbaStack) finishOne(ctx context.Context, k kind, id string, interval time.Duration, canceled bool) (func(int) time.Time, error) {
	if k == ours {
		if !canceled {
			if err := s.cancelOurs(ctx, id); err != nil {
				return nil, err
			}
		}
		var st billing.State
		if err := s.dc.GetWorkflow(ctx, billing.WorkflowID(id), "").Get(ctx, &st); err != nil {
			return nil, err
		}
		if st.Recurrence == nil {
			return nil, errors.New("no recurrence in the final state")
		}
		rec := *st.Recurrence
		return func(c int) time.Time { return rec.ChargeAt(c - 1) }, nil
	}
	var in baselineInput
	if err := s.dc.GetWorkflow(ctx, baselineWorkflowID(id), "").Get(ctx, &in); err != nil {
		return nil, err
	}
	origin := in.Origin
	return func(c int) time.Time { return origin.Add(time.Duration(c-1) * interval) }, nil
}

// figures are the comparison's named figures, in the order printed.
type figures []figure

type figure struct {
	name       string
	ours, base float64
	// lowerIsBetter is for the reader only; the ratio is always ours / baseline.
}

func (f *figures) add(name string, o, b float64) {
	*f = append(*f, figure{name: name, ours: o, base: b})
}

// missing names the figures that came out zero or not a number on either side, except those
// where zero is a true measurement (a baseline with no search-attribute upserts).
func (f figures) missing() []string {
	var out []string
	for _, x := range f {
		bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
		zeroOK := strings.Contains(x.name, "upserts") || strings.Contains(x.name, "lookups") || strings.Contains(x.name, "read-backs")
		if bad(x.ours) || bad(x.base) || (!zeroOK && (x.ours == 0 || x.base == 0)) {
			out = append(out, x.name)
		}
	}
	return out
}

func fmtFig(v float64) string {
	switch {
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtRatio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

func meanOf(rs []*loadResult, f func(*loadResult) float64) float64 {
	var sum float64
	for _, r := range rs {
		sum += f(r)
	}
	return sum / float64(len(rs))
}

func pooledLate(rs []*loadResult) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, r.late...)
	}
	return out
}

func secs(d time.Duration) float64 { return d.Seconds() }

// addLoad prints one load's comparison (the two phases of each kind averaged; lateness pooled).
func (f *figures) addLoad(out io.Writer, li int, l abbaLoad, res [2][]*loadResult) {
	p := fmt.Sprintf("load%d ", li)
	rows := []struct {
		name string
		get  func(rs []*loadResult) float64
	}{
		{"charges/s", func(rs []*loadResult) float64 { return meanOf(rs, (*loadResult).rate) }},
		{"lateness p50 s", func(rs []*loadResult) float64 { return secs(pct(pooledLate(rs), 50)) }},
		{"lateness p99 s", func(rs []*loadResult) float64 { return secs(pct(pooledLate(rs), 99)) }},
		{"lateness max s", func(rs []*loadResult) float64 { return secs(pct(pooledLate(rs), 100)) }},
		{"CPU ms/cycle (process)", func(rs []*loadResult) float64 {
			return meanOf(rs, func(r *loadResult) float64 { return ms(r.cpuPerCycle()) })
		}},
		{"CPU ms/cycle server", sideGetter("server")},
		{"CPU ms/cycle worker", sideGetter("worker")},
		{"PortOne requests/charge", func(rs []*loadResult) float64 { return meanOf(rs, (*loadResult).reqsPerCharge) }},
		{"PortOne requests/charge, all", func(rs []*loadResult) float64 { return meanOf(rs, (*loadResult).allReqsPerCharge) }},
		{"PortOne lookups/charge", func(rs []*loadResult) float64 { return meanOf(rs, (*loadResult).lookupsPerCharge) }},
		{"PortOne V2 read-backs/charge", func(rs []*loadResult) float64 { return meanOf(rs, (*loadResult).readBacksPerCharge) }},
	}
	fmt.Fprintf(out, "  %-28s %12s %12s %7s\n", "figure (ABBA mean)", "ours", "baseline", "ratio")
	for _, row := range rows {
		o, b := row.get(res[ours]), row.get(res[base])
		f.add(p+row.name, o, b)
		fmt.Fprintf(out, "  %-28s %12s %12s %7s\n", row.name, fmtFig(o), fmtFig(b), fmtRatio(o, b))
	}
	for _, k := range []kind{ours, base} {
		fmt.Fprintf(out, "  profile, %s (both phases): %s\n", k, mergeFindings(res[k]).String())
	}
}

func sideGetter(side string) func(rs []*loadResult) float64 {
	return func(rs []*loadResult) float64 {
		return meanOf(rs, func(r *loadResult) float64 { return ms(r.sides[side]) / float64(max(r.charges, 1)) })
	}
}
