package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/metrics"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/workerset"
)

// The bill-day burst (-burst N): N subscriptions due at the same instant, charged through the
// real worker wiring (workerset: the billing queue and the rate-limited PortOne queue), the real
// Charge activity and PortOne client, a real Temporal server and the emulator. With -outage D
// every PortOne request fails with HTTP 503 from the due instant for D. With -burst-v2-share F
// that share of the subscriptions is on PortOne V2 (a V2 billing key, charged with POST
// /payments/{paymentId}/billing-key on the emulator's V2 API), spread evenly among the V1
// ones: both generations drain through the one rate-limited queue, the outage fails both, and
// the money invariants (internal/ledgercheck) are checked on each one's ledger entries.
//
// burstWorkflow stands in for the subscription workflow, because a subscription's cycles fall
// due at instants its calendar sets (a day's charge time, at least a second after its own
// start), so that N of them cannot be made due at one instant the benchmark picks without N
// rate-limited first charges beforehand. It does what the subscription workflow does at a due
// instant: it reads the Settings local activity, sleeps until the instant and runs the real
// Charge activity on Settings.PortOneTaskQueue with the write policy's backoff.

const (
	burstQueue        = "burst-billing"
	burstPortOneQueue = "burst-portone"
	burstWorkflowName = "BurstStandIn"
)

// burstMaxBackoff caps the stand-in's retry backoff (the subscription workflow's is 2 minutes).
const burstMaxBackoff = 30 * time.Second

type burstConfig struct {
	n           int
	rate        float64
	outage      time.Duration
	maxActs     int
	timeout     time.Duration
	initialWait time.Duration
	// v2Share is the share of subscriptions on PortOne V2 (0 to 1).
	v2Share float64
}

// onV2 reports whether subscription i of the burst is on V2: the shares are spread evenly.
func (c burstConfig) onV2(i int) bool {
	return int(float64(i+1)*c.v2Share) > int(float64(i)*c.v2Share)
}

func burstWorkflow(ctx workflow.Context, in activities.ChargeInput) (activities.ChargeResult, error) {
	var acts *activities.Activities
	var st activities.Settings
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, acts.Settings).Get(ctx, &st); err != nil {
		return activities.ChargeResult{}, err
	}
	if d := in.DueAt.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return activities.ChargeResult{}, err
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           st.PortOneTaskQueue, // empty: the workflow's own queue
		StartToCloseTimeout: 30 * time.Second,
		// The subscription workflow's write policy, with a shorter cap so an outage test ends.
		RetryPolicy: &sdktemporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: burstMaxBackoff,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	})
	var res activities.ChargeResult
	err := workflow.ExecuteActivity(actx, acts.Charge, in).Get(ctx, &res)
	return res, err
}

// onePartition is the server's dynamic configuration for the PortOne queue: one read and one
// write partition. Temporal splits a task queue's activity rate evenly between its partitions
// (four by default), and a partition no poller is waiting on leaves its share unused, so a
// rate-limited queue needs a single partition to drain at its rate; one partition's throughput
// (hundreds of tasks/s) is far above any PortOne limit. Production sets the same (README).
func onePartition(queue string) dynamicconfig.Client {
	one := []dynamicconfig.ConstrainedValue{{Constraints: dynamicconfig.Constraints{TaskQueueName: queue}, Value: 1}}
	return dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():      one,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():     one,
	}
}

// requestLog records the wall-clock time of every request the emulator receives.
type requestLog struct {
	mu    sync.Mutex
	again []time.Time
	all   []time.Time
}

// wrap logs the requests next receives; isCharge says which are charges.
func (l *requestLog) wrap(next http.Handler, isCharge func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		l.mu.Lock()
		l.all = append(l.all, now)
		if isCharge(r) {
			l.again = append(l.again, now)
		}
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *requestLog) snapshot() (again, all []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.again), slices.Clone(l.all)
}

// perSecond counts the times in consecutive one-second windows from from.
func perSecond(ts []time.Time, from time.Time) []int {
	var out []int
	for _, t := range ts {
		i := int(t.Sub(from) / time.Second)
		if i < 0 {
			continue
		}
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	return out
}

func after(ts []time.Time, from time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if !t.Before(from) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// runBurst runs the burst and returns an error naming every violated expectation.
func runBurst(ctx context.Context, out io.Writer, c burstConfig) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ts := temporaltest.NewServer(temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(onePartition(burstPortOneQueue))))
	defer ts.Stop()
	cl := ts.GetDefaultClient()
	emu := portonetest.New(portonetest.Options{})
	defer emu.Close()
	rl := &requestLog{}
	srv := httptest.NewServer(rl.wrap(emu, func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/subscribe/payments/again"
	}))
	defer srv.Close()
	srvV2 := httptest.NewServer(rl.wrap(emu.V2Handler(), func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/payments/") && strings.HasSuffix(r.URL.Path, "/billing-key")
	}))
	defer srvV2.Close()
	reg := metrics.New()
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(5*time.Second), portone.WithObserver(reg.ObservePortOne))
	if err != nil {
		return err
	}
	gwV2, err := portonev2.New(portonev2.Config{BaseURL: srvV2.URL, Secret: portonetest.DefaultV2Secret, StoreID: portonetest.DefaultStoreID,
		ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 5 * time.Second, Observer: reg.ObservePortOneV2})
	if err != nil {
		return err
	}
	keys := make([]string, c.n)
	gateways := make([]billing.GatewayName, c.n)
	nV2 := 0
	for i := range c.n {
		if c.onV2(i) {
			k, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: fmt.Sprintf("burst-issue-%d", i), IssueName: "Burst",
				NaverAccount: fmt.Sprintf("naver-burst-%d", i)})
			if err != nil {
				return err
			}
			keys[i], gateways[i] = k.BillingKey, billing.GatewayPortOneV2
			nV2++
			continue
		}
		keys[i], gateways[i] = fmt.Sprintf("burst-cust-%d", i), billing.GatewayPortOneV1
		if _, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: keys[i]}); err != nil {
			return err
		}
	}
	acts := &activities.Activities{Gateway: portonev1.New(gw), GatewayV2: gwV2, Observer: reg, Config: activities.Config{PortOneTaskQueue: burstPortOneQueue}}
	workers, err := workerset.Start(cl, workerset.Options{TaskQueue: burstQueue, PortOneTaskQueue: burstPortOneQueue, PortOneRate: c.rate,
		MaxConcurrentActivities: c.maxActs, StopTimeout: 5 * time.Second}, acts, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(burstWorkflow, workflow.RegisterOptions{Name: burstWorkflowName})
	})
	if err != nil {
		return err
	}
	defer func() {
		for _, w := range workers {
			w.Stop()
		}
	}()

	// Start everything well before the due instant so that the burst is the charges, not the starts.
	due := time.Now().Add(c.initialWait).Truncate(time.Second).Add(time.Second)
	runs := make([]client.WorkflowRun, c.n)
	for i := range c.n {
		sub := fmt.Sprintf("burst-%d", i)
		in := activities.ChargeInput{SubscriptionID: sub, Cycle: 1, Attempt: 1, CustomerUID: keys[i], Gateway: gateways[i],
			MerchantUID: billing.ChargeUID{SubscriptionID: sub, Tag: "bbbb", Cycle: 1, Attempt: 1}.String(), Amount: 9900, Name: "Burst", DueAt: due}
		run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "burst/" + sub, TaskQueue: burstQueue}, burstWorkflowName, in)
		if err != nil {
			return fmt.Errorf("start %s: %w", sub, err)
		}
		runs[i] = run
	}
	if time.Now().After(due) {
		return fmt.Errorf("starting %d workflows took past the due instant; raise -burst-start-wait", c.n)
	}
	fmt.Fprintf(out, "burst: %d subscriptions (%d on V1, %d on V2) due at %s, PortOne rate limit %.1f/s over both, outage %s\n",
		c.n, c.n-nV2, nV2, due.Format(time.TimeOnly), c.rate, c.outage)

	var back time.Time
	var duringOutage int
	if c.outage > 0 {
		id := emu.AddFault(portonetest.Fault{Op: portonetest.OpAny, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: http.StatusServiceUnavailable})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(due.Add(c.outage))):
		}
		_, during := rl.snapshot()
		duringOutage = len(after(during, due))
		emu.RemoveFault(id)
		back = time.Now()
	}

	var problems []string
	results := make([]activities.ChargeResult, c.n)
	for i, run := range runs {
		if err := run.Get(ctx, &results[i]); err != nil {
			again, _ := rl.snapshot()
			return fmt.Errorf("%s: %w (%d of %d charged so far)", run.GetID(), err, len(again), c.n)
		}
		if results[i].Outcome != billing.OutcomePaid {
			problems = append(problems, fmt.Sprintf("%s: outcome %s", run.GetID(), results[i].Outcome))
		}
	}
	// Money invariants on the emulator's ledger: each merchant_uid (V2: paymentId) paid exactly
	// once, through its subscription's generation, under the attempt the result names, nothing
	// else charged, every amount right.
	ledger := emu.Ledger()
	for i, res := range results {
		sub := ledgercheck.Subscription{ID: fmt.Sprintf("burst-%d", i), Gateway: gateways[i], Charges: []billing.ChargeRecord{{Cycle: 1, Attempt: 1,
			MerchantUID: res.MerchantUID, ImpUID: res.ImpUID, Amount: res.Amount, Outcome: res.Outcome}}}
		problems = append(problems, ledgercheck.Check(ledger, sub)...)
	}
	paidBy := map[string]int{}
	paidByVersion := map[string]int{}
	var total int64
	for _, le := range ledger {
		if le.Usage == "payment" && le.Status == "paid" {
			paidBy[le.MerchantUID]++
			paidByVersion[le.Version]++
			total += le.Amount
		}
	}
	if paidByVersion[portonetest.VersionV2] != nV2 {
		problems = append(problems, fmt.Sprintf("%d payments through V2, want %d", paidByVersion[portonetest.VersionV2], nV2))
	}
	for uid, k := range paidBy {
		if k != 1 {
			problems = append(problems, fmt.Sprintf("%s paid %d times", uid, k))
		}
	}
	if len(paidBy) != c.n || total != int64(c.n)*9900 {
		problems = append(problems, fmt.Sprintf("ledger: %d merchant_uids paid for %d KRW, want %d for %d KRW", len(paidBy), total, c.n, int64(c.n)*9900))
	}

	again, all := rl.snapshot()
	from := due
	if c.outage > 0 {
		from = back
	}
	charges := after(again, from)
	if len(charges) != c.n {
		problems = append(problems, fmt.Sprintf("%d charge requests after %s, want %d (one per subscription)", len(charges), from.Format(time.TimeOnly), c.n))
	}
	if len(charges) < 2 {
		return errors.Join(append([]error{errors.New("too few charges to measure")}, toErrs(problems)...)...)
	}
	first, last := charges[0], charges[len(charges)-1]
	achieved := float64(len(charges)-1) / last.Sub(first).Seconds()
	secs := perSecond(charges, first)
	late := make([]time.Duration, len(charges))
	for i, t := range charges {
		late[i] = t.Sub(due)
	}
	slices.Sort(late)
	fmt.Fprintf(out, "drain: %d charges in %s = %.2f/s (limit %.1f/s), busiest second %d; PortOne requests %d (%.2f per charge)\n",
		len(charges), last.Sub(first).Round(time.Millisecond), achieved, c.rate, slices.Max(secs), len(all), float64(len(all))/float64(c.n))
	fmt.Fprintf(out, "lateness (due → charge request): p50 %s p99 %s max %s\n",
		pct(late, 50).Round(time.Millisecond), pct(late, 99).Round(time.Millisecond), late[len(late)-1].Round(time.Millisecond))
	fmt.Fprintf(out, "charges per second: %v\n", secs)
	switch {
	case c.rate > 0 && c.outage > 0:
		// After an outage the charges come back as their retry backoffs end (up to the policy's
		// 30 s cap), so the drain is bounded by that wait plus the rate, and never faster.
		bound := burstMaxBackoff + time.Duration(float64(c.n)/c.rate*float64(time.Second)) + 5*time.Second
		fmt.Fprintf(out, "after the outage: last charge %s after PortOne returned (bound %s)\n", last.Sub(back).Round(time.Millisecond), bound)
		if last.Sub(back) > bound {
			problems = append(problems, fmt.Sprintf("the drain after the outage took %s, above %s", last.Sub(back).Round(time.Millisecond), bound))
		}
	case c.rate > 0:
		// The token bucket starts full (one second's worth), so the first second drains at up
		// to twice the rate; the limit is the rate of the rest.
		steady := achieved
		if extra := int(c.rate); len(charges)-1 > 2*extra {
			steady = float64(len(charges)-1-extra) / last.Sub(first).Seconds()
		}
		fmt.Fprintf(out, "steady drain (without the bucket's first second's worth): %.2f/s\n", steady)
		if math.Abs(steady-c.rate) > 0.1*c.rate {
			problems = append(problems, fmt.Sprintf("drained at %.2f/s past the bucket's first burst, not within 10%% of the limit %.1f/s", steady, c.rate))
		}
	}
	if c.rate > 0 {
		// Temporal's limiter is a token bucket holding one second's worth, so in any k seconds it
		// lets through at most (k+1)·rate: up to twice the rate in one second after a lull, the
		// rate itself over longer windows. Checked for k = 1 and 10 (+10 %, +1 for rounding).
		for _, k := range []int{1, 10} {
			bound := int(math.Floor(float64(k+1)*c.rate*1.1)) + 1
			if busiest := maxWindow(secs, k); busiest > bound {
				problems = append(problems, fmt.Sprintf("%d charges in %d s, above the token bucket's bound %d at %.1f/s", busiest, k, bound, c.rate))
			}
		}
		fmt.Fprintf(out, "busiest 1 s: %d, busiest 10 s: %d (the limiter allows %.0f and %.0f)\n", maxWindow(secs, 1), maxWindow(secs, 10), 2*c.rate, 11*c.rate)
		if achieved < 0.9*c.rate {
			fmt.Fprintln(out, "the drain was slower than the limit: the server or the worker, not the limit, bound it (see the charges per second)")
		}
	}
	if c.outage > 0 {
		// The write retry policy (2 s doubling to 30 s) allows about log2(outage/2s)+2 attempts per
		// subscription; each attempt makes one request (the charge on the first try, the lookup on
		// retries; refused) and, the first time, a token request.
		perSub := float64(duringOutage) / float64(c.n)
		bound := math.Log2(c.outage.Seconds()/2) + 3
		fmt.Fprintf(out, "outage: %d requests in %s (%.1f per subscription, backoff bound %.1f; the rate alone would allow %.0f in all)\n",
			duringOutage, c.outage, perSub, bound, c.rate*c.outage.Seconds())
		if perSub > bound {
			problems = append(problems, fmt.Sprintf("%.1f requests per subscription during the outage, above the backoff bound %.1f: hammering", perSub, bound))
		}
	}
	if len(problems) > 0 {
		return errors.Join(toErrs(problems)...)
	}
	fmt.Fprintln(out, "invariants hold: every subscription charged once, nothing lost, nothing doubled, the limit kept")
	return nil
}

func toErrs(ss []string) []error {
	out := make([]error, len(ss))
	for i, s := range ss {
		out[i] = errors.New(s)
	}
	return out
}

// maxWindow is the largest sum of k consecutive per-second counts.
func maxWindow(secs []int, k int) int {
	best := 0
	for i := range secs {
		sum := 0
		for j := i; j < len(secs) && j < i+k; j++ {
			sum += secs[j]
		}
		best = max(best, sum)
	}
	return best
}
