// Command loadtest measures the orchestrator end to end on one machine: it starts a fleet of
// subscriptions with a short demo interval at a fixed rate (open loop), lets each charge a number
// of cycles, cancels them, and then checks the money invariants against the PortOne emulator's
// ledger: every subscription charged exactly the expected cycles, no cycle twice, nothing after
// the cancel. It reports start latency, charge lag (due time → PortOne approval), throughput and
// the worker's memory.
//
// By default everything runs in this process: a real Temporal server (temporaltest, SQLite in
// memory, one shard), the real worker code and the emulator. It never times assertions: the
// figures are printed for the README and the issue notes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/workerset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type config struct {
	subscriptions int
	rate          float64
	interval      time.Duration
	cycles        int
	latency       time.Duration
	timeout       time.Duration
	maxActivities int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "abba" {
		return runABBA(ctx, args[1:], out)
	}
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.IntVar(&c.subscriptions, "subscriptions", 200, "subscriptions to start")
	fs.Float64Var(&c.rate, "rate", 50, "starts per second (open loop)")
	fs.DurationVar(&c.interval, "interval", 10*time.Second, "billing interval of every subscription (whole seconds)")
	fs.IntVar(&c.cycles, "cycles", 3, "cycles each subscription charges before it is canceled")
	fs.DurationVar(&c.latency, "gateway-latency", 0, "latency the emulator adds to every PortOne charge")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.IntVar(&c.maxActivities, "max-concurrent-activities", 200, "worker activity slots")
	fs.BoolVar(&explain, "explain", false, "print the history timeline of the most delayed charges")
	var b burstConfig
	fs.IntVar(&b.n, "burst", 0, "bill-day burst mode: this many subscriptions due at the same instant, drained through the rate-limited PortOne queue")
	fs.Float64Var(&b.rate, "portone-rate", workerset.DefaultPortOneRate, "burst mode: global PortOne activity rate per second")
	fs.DurationVar(&b.outage, "outage", 0, "burst mode: every PortOne request fails (HTTP 503) for this long from the due instant")
	fs.DurationVar(&b.initialWait, "burst-start-wait", 10*time.Second, "burst mode: the due instant is this far after the starts begin")
	fs.Float64Var(&b.v2Share, "burst-v2-share", 0, "burst mode: this share (0 to 1) of the subscriptions is on PortOne V2, spread among the V1 ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.n > 0 {
		if b.v2Share < 0 || b.v2Share > 1 {
			return fmt.Errorf("-burst-v2-share must be between 0 and 1, got %g", b.v2Share)
		}
		b.maxActs, b.timeout = c.maxActivities, c.timeout
		fmt.Fprintf(out, "machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
		return runBurst(ctx, out, b)
	}
	if c.interval < time.Second || c.interval%time.Second != 0 {
		return errors.New("-interval must be whole seconds, at least 1s")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	fmt.Fprintf(out, "machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	t0 := time.Now()
	st, err := stacktest.Start(stacktest.Options{
		Plain:  true, // the load is about scheduling, not encryption; and the ledger is read directly
		Worker: worker.Options{MaxConcurrentActivityExecutionSize: c.maxActivities},
		Activities: activities.Config{ActivityTimeout: activities.DefaultActivityTimeout,
			ScheduleSettleDelay: activities.DefaultScheduleSettleDelay},
	})
	if err != nil {
		return err
	}
	defer st.Close()
	cl, emu, ns := st.Client, st.Emulator, st.Namespace
	if c.latency > 0 {
		emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatency, Latency: c.latency})
	}
	fmt.Fprintf(out, "server, worker and emulator up in %s\n", time.Since(t0).Round(time.Millisecond))

	for i := range c.subscriptions {
		if _, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: fmt.Sprintf("load-cust-%d", i)}); err != nil {
			return err
		}
	}

	// Open-loop starts at the requested rate.
	starts := make([]time.Duration, c.subscriptions)
	var wg sync.WaitGroup
	var startErrs int
	var mu sync.Mutex
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.rate))
	defer tick.Stop()
	begin := time.Now()
	for i := range c.subscriptions {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := billing.SubscriptionInput{
				SubscriptionID: fmt.Sprintf("load-%d", i), CustomerUID: fmt.Sprintf("load-cust-%d", i),
				Plan: billing.Plan{Name: "Load", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Second, Count: int(c.interval / time.Second)}},
			}
			s := time.Now()
			_, err := cl.ExecuteWorkflow(ctx, billing.StartOptions(in, ""), billing.WorkflowType, in)
			mu.Lock()
			defer mu.Unlock()
			starts[i] = time.Since(s)
			if err != nil {
				startErrs++
			}
		}(i)
	}
	wg.Wait()
	startWall := time.Since(begin)
	fmt.Fprintf(out, "\nstarts: %d in %s (%.1f/s offered %.0f/s), errors %d, latency p50 %s p99 %s max %s\n",
		c.subscriptions, startWall.Round(time.Millisecond), float64(c.subscriptions)/startWall.Seconds(), c.rate, startErrs,
		pct(starts, 50), pct(starts, 99), pct(starts, 100))

	// Wait until every subscription charged its cycles, then cancel it.
	want := c.subscriptions * c.cycles
	chargeBegin := time.Now()
	for {
		paid := countPaid(emu, c.cycles)
		if paid >= want {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d charges after %s", paid, want, time.Since(chargeBegin))
		case <-time.After(200 * time.Millisecond):
		}
	}
	chargeWall := time.Since(begin)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	canceledAt := make([]time.Time, c.subscriptions)
	for i := range c.subscriptions {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := cl.SignalWorkflow(ctx, billing.WorkflowID(fmt.Sprintf("load-%d", i)), "", billing.MsgCancel,
				billing.CancelRequest{When: billing.Now, Reason: "load test over"}); err == nil {
				canceledAt[i] = time.Now() // the server accepted the cancel no later than this
			}
		}(i)
	}
	wg.Wait()
	if err := waitClosed(ctx, cl, ns, c.subscriptions); err != nil {
		return err
	}

	// Invariants and charge lag from the ledger.
	lags, total, problems := check(emu, c, canceledAt)
	fmt.Fprintf(out, "charges: %d paid in %s since the first start (%.1f/s overall)\n", total, chargeWall.Round(time.Millisecond), float64(total)/chargeWall.Seconds())
	fmt.Fprintf(out, "charge lag (timer due → paid at PortOne), cycles ≥ 2: p50 %s p99 %s max %s\n", pct(lags, 50), pct(lags, 99), pct(lags, 100))
	fmt.Fprintf(out, "process heap in use %.1f MiB, goroutines %d (server, worker and emulator together)\n", float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine())
	if explain {
		explainWorst(ctx, out, cl, emu, c, 3)
	}
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(out, "INVARIANT:", p)
		}
		return fmt.Errorf("%d invariant violations", len(problems))
	}
	fmt.Fprintf(out, "invariants: every subscription charged at least %d cycles, no cycle twice, no cycle due after its cancel charged\n", c.cycles)
	return nil
}

var explain bool

// explainWorst prints, for the n most delayed charges, the workflow events around them: when
// the timer fired, when the charge activity was scheduled, started (which attempt) and done.
func explainWorst(ctx context.Context, out io.Writer, cl client.Client, emu *portonetest.Emulator, c config, n int) {
	type lagged struct {
		sub string
		lag time.Duration
		at  time.Time
	}
	first := map[string]time.Time{}
	var all []lagged
	entries := emu.Ledger()
	for _, e := range entries {
		if p, err := billing.ParseMerchantUID(e.MerchantUID); err == nil && p.Charge.Cycle == 1 && !e.PaidAt.IsZero() {
			first[p.SubscriptionID] = e.CreatedAt
		}
	}
	for _, e := range entries {
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		if err != nil || p.Charge.Cycle < 2 || e.PaidAt.IsZero() {
			continue
		}
		due := first[p.SubscriptionID].Add(time.Duration(p.Charge.Cycle-1) * c.interval)
		all = append(all, lagged{p.SubscriptionID, e.CreatedAt.Sub(due), e.CreatedAt})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].lag > all[j].lag })
	for _, l := range all[:min(n, len(all))] {
		fmt.Fprintf(out, "\n%s: paid %s late\n", l.sub, l.lag.Round(time.Millisecond))
		var st billing.State
		if err := cl.GetWorkflow(ctx, billing.WorkflowID(l.sub), "").Get(ctx, &st); err == nil {
			for _, ch := range st.Charges {
				fmt.Fprintf(out, "  charge %s %s %s %s\n", ch.MerchantUID, ch.At.Format("15:04:05.000"), ch.Outcome, ch.Reason)
			}
			if st.Recurrence != nil {
				fmt.Fprintf(out, "  origin %s\n", st.Recurrence.Origin.Format("15:04:05.000"))
			}
		}
		it := cl.GetWorkflowHistory(ctx, billing.WorkflowID(l.sub), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			t := ev.GetEventTime().AsTime()
			if t.Before(l.at.Add(-c.interval)) || t.After(l.at.Add(5*time.Second)) {
				continue
			}
			extra := ""
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				extra = fmt.Sprintf(" attempt %d", a.GetAttempt())
				if f := a.GetLastFailure(); f != nil {
					extra += " last failure: " + f.GetMessage()
				}
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				extra = " " + a.GetActivityType().GetName()
			}
			fmt.Fprintf(out, "  %s %-40s%s\n", t.Format("15:04:05.000"), ev.GetEventType().String(), extra)
		}
	}
}

// countPaid counts paid charges, at most cycles per subscription.
func countPaid(emu *portonetest.Emulator, cycles int) int {
	per := map[string]int{}
	n := 0
	for _, e := range emu.Ledger() {
		if e.Usage == "issue" || e.PaidAt.IsZero() {
			continue
		}
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		if err != nil {
			continue
		}
		if per[p.SubscriptionID] < cycles {
			per[p.SubscriptionID]++
			n++
		}
	}
	return n
}

func waitClosed(ctx context.Context, cl client.Client, ns string, n int) error {
	for {
		res, err := cl.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: ns, Query: "WorkflowType='Subscription' AND ExecutionStatus='Completed'",
		})
		if err == nil && int(res.GetCount()) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("subscriptions still open: %w", ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// check verifies the money invariants and returns the charge lag of cycles ≥ 2: the time from a
// cycle's due instant to PortOne's approval. A subscription's calendar starts at its first
// charge (demo intervals run from the moment billing starts), so cycle k is due one interval
// per cycle after cycle 1 was approved.
func check(emu *portonetest.Emulator, c config, canceledAt []time.Time) (lags []time.Duration, total int, problems []string) {
	type key struct {
		sub   string
		cycle int
	}
	paidAt := map[key]time.Time{}
	count := map[key]int{}
	perSub := map[string]int{}
	for _, e := range emu.Ledger() {
		if e.Usage == "issue" || e.PaidAt.IsZero() {
			continue
		}
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		if err != nil {
			problems = append(problems, "foreign merchant_uid "+e.MerchantUID)
			continue
		}
		k := key{p.SubscriptionID, p.Charge.Cycle}
		count[k]++
		perSub[p.SubscriptionID]++
		total++
		if count[k] > 1 {
			problems = append(problems, fmt.Sprintf("%s cycle %d paid %d times", k.sub, k.cycle, count[k]))
		}
		paidAt[k] = e.CreatedAt // full resolution; PaidAt has PortOne's whole seconds
	}
	for k, at := range paidAt {
		first, ok := paidAt[key{k.sub, 1}]
		if !ok || k.cycle < 2 {
			continue
		}
		due := first.Add(time.Duration(k.cycle-1) * c.interval)
		lags = append(lags, at.Sub(due))
		// No cycle that fell due after its cancel was accepted may be charged. The due time is
		// estimated from cycle 1's approval (a little late), hence the one-second allowance.
		var i int
		if _, err := fmt.Sscanf(k.sub, "load-%d", &i); err == nil && i < len(canceledAt) && !canceledAt[i].IsZero() &&
			due.Add(-time.Second).After(canceledAt[i]) {
			problems = append(problems, fmt.Sprintf("%s cycle %d was due %s after its cancel was accepted, yet charged",
				k.sub, k.cycle, due.Sub(canceledAt[i]).Round(time.Millisecond)))
		}
	}
	for i := range c.subscriptions {
		id := fmt.Sprintf("load-%d", i)
		// More cycles than asked is no fault: a subscription keeps billing until its cancel lands
		// (the check above makes sure none was due after that).
		if n := perSub[id]; n < c.cycles {
			problems = append(problems, fmt.Sprintf("%s charged %d cycles, want at least %d", id, n, c.cycles))
		}
	}
	return lags, total, problems
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	if i > len(s) {
		i = len(s)
	}
	return s[i-1].Round(time.Millisecond)
}
