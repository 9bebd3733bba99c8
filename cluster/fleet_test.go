package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/workflows"
)

// EnvClusterTest turns the cluster tests on (`make cluster-test` sets it): they need
// PostgreSQL 15 and take minutes, so neither `go test -short` nor a plain `go test ./...`
// runs them.
const EnvClusterTest = "PAYCYCLE_CLUSTER_TEST"

func requireClusterTest(t *testing.T) {
	t.Helper()
	if testing.Short() || os.Getenv(EnvClusterTest) != "1" {
		t.Skipf("cluster test: run with `make cluster-test` (%s=1); it starts PostgreSQL 15 and a Temporal server process", EnvClusterTest)
	}
}

// binDir returns the directory with the project's binaries and the Temporal ones: bin/ when
// make passed it, else a fresh build (slow the first time: the Temporal server).
func binDir(t *testing.T) string {
	if d := os.Getenv("PAYCYCLE_BIN_DIR"); d != "" {
		return d
	}
	d := t.TempDir()
	for _, b := range [][2]string{
		{"worker", "../worker"}, {"edgeserver", "../edgeserver"}, {"emulator", "../emulator"},
		{cluster.ServerBinary, "go.temporal.io/server/cmd/server"}, {cluster.SQLToolBinary, "go.temporal.io/server/cmd/tools/sql"},
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(d, b[0]), b[1]).CombinedOutput()
		require.NoError(t, err, "go build %s: %s", b[1], out)
	}
	return d
}

func tool(t *testing.T, dir, name string) string {
	p, err := cluster.Tool(dir, name)
	require.NoError(t, err)
	return p
}

// phase times one step for the report at the end.
type phases struct {
	mu    sync.Mutex
	lines []string
}

func (p *phases) add(what string, d time.Duration, extra ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, fmt.Sprintf("%-44s %8.2fs %s", what, d.Seconds(), strings.Join(extra, " ")))
}

// fleetParams are the fleet's size and rhythm; the environment can scale it up for a load run.
type fleetParams struct {
	subs     int
	interval time.Duration
	run      time.Duration
	// slack: a cycle due this long before its cancel was sent must have been paid. Under an
	// overload (a load run) timers fire late, and a cycle whose timer had not fired when the
	// cancel came is legitimately not charged; such runs raise it.
	slack time.Duration
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestFleetOnPostgres is the production shape on one machine: PostgreSQL, the schema from
// Temporal's own tool, the Temporal server process with 4 history shards, two worker
// processes, the edge and the emulator. A fleet of demo subscriptions in both charge modes and
// on both PortOne generations (a third on V2) charges while one worker is SIGKILLed with
// charges in flight and the Temporal server is restarted; afterwards the emulator's ledger,
// every workflow's state and every history must agree: each due cycle paid exactly once,
// nothing paid after the cancel, every payment through its subscription's generation,
// refunds never above what was paid, every attempt recorded (internal/ledgercheck), every run
// replays.
func TestFleetOnPostgres(t *testing.T) {
	requireClusterTest(t)
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("PAYCYCLE_CLUSTER_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (PAYCYCLE_CLUSTER_SEED=%d reproduces the kill and restart times)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	fp := fleetParams{
		subs:     envInt("PAYCYCLE_CLUSTER_SUBS", 60),
		interval: time.Duration(envInt("PAYCYCLE_CLUSTER_INTERVAL_SECONDS", 5)) * time.Second,
		run:      time.Duration(envInt("PAYCYCLE_CLUSTER_RUN_SECONDS", 75)) * time.Second,
		slack:    time.Duration(envInt("PAYCYCLE_CLUSTER_CANCEL_SLACK_SECONDS", 2)) * time.Second,
	}
	ph := &phases{}
	total := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tc := startTestCluster(ctx, t, ph)
	c, emu, server := tc.client, tc.emulator, tc.server
	workers := []*cluster.Process{tc.startWorker(t, "worker-a"), tc.startWorker(t, "worker-b")}
	ph.add("start 2 workers", time.Since(tc.workersFrom))

	// The fleet: half again mode, half schedule mode, a third on PortOne V2 (of either mode),
	// one billing key each (V2: one issued by the emulator's NaverPay window).
	subs := make([]string, fp.subs)
	keys := map[string]string{}
	gateways := map[string]billing.GatewayName{}
	for i := range subs {
		subs[i] = fmt.Sprintf("pg-%03d", i)
		if onV2(i) {
			var k portonetest.V2BillingKey
			emuPostJSON(t, emu, "/__emulator/v2/billing-keys", portonetest.V2BillingKeySeed{IssueID: "issue-" + subs[i], IssueName: "PG Plan",
				NaverAccount: "naver-" + subs[i]}, &k)
			keys[subs[i]], gateways[subs[i]] = k.BillingKey, billing.GatewayPortOneV2
			continue
		}
		keys[subs[i]], gateways[subs[i]] = "cust-"+subs[i], billing.GatewayPortOneV1
		emuPost(t, emu, "/__emulator/customers", map[string]any{"customer_uid": "cust-" + subs[i]})
	}
	// Every charge, V1's and V2's, answers a second late until the kill, so the kill finds
	// charges in flight on both generations.
	emuPost(t, emu, "/__emulator/faults", map[string]any{"op": "again", "action": "latency", "latency": "1s"})
	emuPost(t, emu, "/__emulator/faults", map[string]any{"op": "v2_pay", "action": "latency", "latency": "1s"})
	t0 := time.Now()
	fleetStart := t0
	runParallel(t, subs, 8, func(id string, i int) error {
		mode := billing.ChargeModeAgain
		if i%2 == 1 {
			mode = billing.ChargeModeSchedule
		}
		in := billing.SubscriptionInput{
			SubscriptionID: id, CustomerUID: keys[id], Gateway: gateways[id],
			Plan: billing.Plan{Name: "PG Plan", Code: "pg-plan", Amount: 9900, ChargeMode: mode,
				Interval: calendar.Interval{Unit: calendar.Second, Count: int(fp.interval / time.Second)}},
			Buyer: billing.Buyer{Name: "홍길동", Tel: "010-5555-1234", Email: "buyer@example.com"},
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := c.ExecuteWorkflow(sctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue,
			WorkflowExecutionErrorWhenAlreadyStarted: true}, billing.WorkflowType, in)
		return err
	})
	ph.add(fmt.Sprintf("start %d subscriptions (every %s)", fp.subs, fp.interval), time.Since(t0))

	// One worker SIGKILLed mid-charge, at a seeded moment in the first third of the run.
	killAt := fp.run/6 + time.Duration(rng.Int64N(int64(fp.run/6)))
	time.Sleep(time.Until(fleetStart.Add(killAt)))
	victim := rng.IntN(2)
	inFlight := startedActivitiesOf(ctx, t, c, subs, workers[victim].Pid(), 30*time.Second)
	workers[victim].Kill()
	t.Logf("SIGKILLed %s at +%s with %d activities in flight on it: %v", workers[victim].Name, time.Since(fleetStart).Round(time.Millisecond), len(inFlight), inFlight)
	require.NotEmpty(t, inFlight, "the kill must hit charges in flight")
	emuDelete(t, emu, "/__emulator/faults")

	// The Temporal server restarted once, in the second third.
	restartAt := fp.run/2 + time.Duration(rng.Int64N(int64(fp.run/6)))
	time.Sleep(time.Until(fleetStart.Add(restartAt)))
	t0 = time.Now()
	require.NoError(t, server.Stop(60*time.Second), "graceful stop of the Temporal server")
	stopped := time.Since(t0)
	server, err := cluster.StartServer(ctx, tc.serverBin, tc.cfgFile, tc.sc.FrontendAddr(), tc.serverLog)
	require.NoError(t, err)
	tc.server = server
	ph.add("restart Temporal server (stop / total)", time.Since(t0), fmt.Sprintf("stop %.2fs", stopped.Seconds()))
	t.Logf("restarted the Temporal server at +%s", restartAt.Round(time.Millisecond))

	time.Sleep(time.Until(fleetStart.Add(fp.run)))

	// Cancel everything now, without refund, and note when each cancel was sent and answered.
	type window struct{ sent, answered time.Time }
	var mu sync.Mutex
	cancels := map[string]window{}
	t0 = time.Now()
	runParallel(t, subs, 8, func(id string, _ int) error {
		sent := time.Now()
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			var h client.WorkflowUpdateHandle
			h, err = c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{WorkflowID: billing.WorkflowID(id), UpdateName: billing.MsgCancel,
				Args:         []any{billing.CancelRequest{When: billing.Now, Reason: "cluster test end", Requester: billing.RequesterAdmin, Refund: billing.RefundNone, RequestID: "end-" + id}},
				WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				var r billing.Receipt
				err = h.Get(uctx, &r)
			}
			cancel()
			var done *serviceerror.NotFound
			if err == nil || errors.As(err, &done) {
				// Already ended (an earlier attempt's cancel landed after its client gave up):
				// the state check below says whether it ended canceled.
				err = nil
				break
			}
			time.Sleep(time.Second)
		}
		mu.Lock()
		cancels[id] = window{sent, time.Now()}
		mu.Unlock()
		return err
	})
	ph.add("cancel every subscription (update)", time.Since(t0))

	// Every subscription ends canceled and its run completes (a V2 run reads back, as it
	// completes, the transactionIds no webhook brought: this cluster runs no edge); then the
	// ledger stops moving.
	t0 = time.Now()
	states := map[string]billing.State{}
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range subs {
		for {
			st, err := queryState(ctx, c, id)
			if err == nil && st.Status == billing.StatusCanceled && st.Scheduled == nil && runClosed(ctx, c, id) {
				states[id] = st
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not canceled within 2 minutes: status %q, err %v", id, st.Status, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	ph.add("all subscriptions canceled", time.Since(t0))
	time.Sleep(2 * time.Second) // a webhook or schedule still in the emulator's hands would show now
	ledger := emuLedger(t, emu)

	// The money: per subscription, every cycle due well before the cancel paid exactly once,
	// nothing due after the cancel answered kept, and the state agreeing with the ledger
	// (internal/ledgercheck, keyed by payment id and attempt id, cycles parsed from the ids or
	// recorded by the workflow, so it holds for V2's payment ids whatever their shape).
	var paidTimes []time.Time
	var lags []time.Duration
	var charges, duesChecked int
	var v2Kept int
	for _, id := range subs {
		st := states[id]
		require.NotNil(t, st.Recurrence, "%s: state has its recurrence", id)
		require.Equal(t, gateways[id].IsV2(), st.Gateway.IsV2(), "%s: the state names its gateway", id)
		w := cancels[id]
		sub := ledgercheck.FromState(st, allRunCharges(ctx, t, c, id, st))
		keptBy := ledgercheck.KeptByCycle(ledger, sub)
		kept := map[int]int{}
		paidAt := map[int]time.Time{}
		settled := settledAt(st)
		var mine []portonetest.LedgerEntry
		for cycle, es := range keptBy {
			for _, e := range es {
				mine = append(mine, e)
				if uid, err := billing.ParseMerchantUID(e.MerchantUID); err == nil {
					require.Equal(t, st.Tag, uid.Charge.Tag, "%s: a payment of another run's tag %s", id, e.MerchantUID)
				}
				if e.Version == portonetest.VersionV2 {
					v2Kept++
				}
				kept[cycle]++
				paidAt[cycle] = e.PaidAt
				charges++
				paidTimes = append(paidTimes, e.PaidAt)
				if due := st.Recurrence.ChargeAt(cycle - 1); !due.IsZero() && e.PaidAt.After(due) {
					lags = append(lags, e.PaidAt.Sub(due))
				}
			}
		}
		for cycle := 1; ; cycle++ {
			due := st.Recurrence.ChargeAt(cycle - 1)
			// The slack is at least this subscription's own lag at the previous cycle (how late
			// PortOne got that charge): a workflow that far behind (a worker or server down, the
			// rate-limited PortOne queue backed up) had not begun this cycle when the cancel
			// came, and cancel-wins over a cycle not yet begun (README, "Messages").
			// Cycles are charged one after the other, so a cycle cannot have begun before the
			// previous one was paid: when that payment came after the cancel was sent (or never,
			// the workflow being more than a cycle behind), this cycle had not begun either.
			// The workflow learns of a payment after PortOne made it (a schedule's webhook or
			// lookup, settled by an activity on the rate-limited queue): under load that can
			// come after the cancel although PortOne's paid time came before it, and the cycle
			// after it had not begun either. The later of the two times counts.
			slack := fp.slack
			prev, prevPaid := paidAt[cycle-1]
			if prevPaid && cycle > 1 {
				slack = max(slack, prev.Sub(st.Recurrence.ChargeAt(cycle-2)))
				if at, ok := settled[cycle-1]; ok && at.After(prev) {
					prev = at
				}
			}
			begunBeforeCancel := cycle == 1 || (prevPaid && prev.Before(w.sent))
			switch {
			case due.Before(w.sent.Add(-slack)) && begunBeforeCancel:
				if kept[cycle] != 1 {
					dumpHistory(ctx, t, c, id, filepath.Join(tc.logDir, id+".history.json"))
				}
				require.Equal(t, 1, kept[cycle], "%s cycle %d (due %s, cancel sent %s) must be paid exactly once; kept %v; state %s",
					id, cycle, due.UTC().Format(time.StampMilli), w.sent.UTC().Format(time.StampMilli), mine, describeState(st))
				duesChecked++
			case due.Before(w.answered):
				require.LessOrEqual(t, kept[cycle], 1, "%s cycle %d, due while the cancel was on its way (or the workflow caught up), paid at most once", id, cycle)
			default:
				require.Zero(t, kept[cycle], "%s cycle %d fell due after the cancel was accepted: nothing may be kept", id, cycle)
			}
			if due.After(w.answered.Add(fp.interval)) {
				break
			}
		}
		// The state agrees with PortOne, through the subscription's own generation: every
		// attempt the ledger holds is in the state (approved ones with their imp_uid or
		// transactionId), every paid record of the state approved in the ledger, one approval
		// per payment id, one kept payment per cycle, refunds within what was paid.
		if problems := ledgercheck.Check(ledger, sub); len(problems) > 0 {
			dumpHistory(ctx, t, c, id, filepath.Join(tc.logDir, id+".history.json"))
			t.Fatalf("money invariants on the ledger:\n%s\nstate %s", strings.Join(problems, "\n"), describeState(st))
		}
	}
	require.Positive(t, v2Kept, "V2 subscriptions were charged through V2")
	require.Greater(t, duesChecked, fp.subs, "the fleet charged more than one cycle each")

	// Every run of every subscription replays on today's workflow code.
	t0 = time.Now()
	runs := replayAll(ctx, t, c, tc.dc, subs)
	ph.add(fmt.Sprintf("replay %d runs", runs), time.Since(t0))

	// Figures.
	sort.Slice(paidTimes, func(i, j int) bool { return paidTimes[i].Before(paidTimes[j]) })
	span := paidTimes[len(paidTimes)-1].Sub(paidTimes[0])
	slices.Sort(lags)
	pct := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))] }
	peak := peakRate(paidTimes, 5*time.Second)
	ph.add("total", time.Since(total))
	t.Logf("fleet on PostgreSQL: %d subscriptions × %s for %s, %d charges kept (%d through V2; %d due cycles checked) over %.1fs: %.1f charges/s mean, %.1f/s peak (5 s window); charge lag p50 %s, p99 %s, max %s",
		fp.subs, fp.interval, fp.run, charges, v2Kept, duesChecked, span.Seconds(), float64(charges)/span.Seconds(), peak,
		pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
	t.Logf("timings:\n%s", strings.Join(ph.lines, "\n"))
	_ = os.WriteFile(filepath.Join(tc.logDir, "figures.txt"), []byte(strings.Join(ph.lines, "\n")+"\n"), 0o644)
}

var cyclePaidRE = regexp.MustCompile(`\bcycle (\d+) paid\b`)

// settledAt is when the workflow recorded each cycle paid (its "status" audit events, the last
// billing.MaxEvents of the run): a cycle begins only after the previous one was settled.
func settledAt(st billing.State) map[int]time.Time {
	out := map[int]time.Time{}
	for _, e := range st.Events {
		if e.Kind != "status" {
			continue
		}
		if m := cyclePaidRE.FindStringSubmatch(e.Detail); m != nil {
			n, _ := strconv.Atoi(m[1])
			if _, seen := out[n]; !seen {
				out[n] = e.At
			}
		}
	}
	return out
}

// startedActivitiesOf polls the subscriptions' pending activities until some are running on
// the worker process pid (the SDK's default identity is pid@host), and returns them.
func startedActivitiesOf(ctx context.Context, t *testing.T, c client.Client, subs []string, pid int, within time.Duration) []string {
	prefix := strconv.Itoa(pid) + "@"
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var found []string
		for _, id := range subs {
			d, err := c.DescribeWorkflowExecution(ctx, billing.WorkflowID(id), "")
			if err != nil {
				continue
			}
			for _, pa := range d.GetPendingActivities() {
				if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(pa.GetLastWorkerIdentity(), prefix) {
					found = append(found, id+":"+pa.GetActivityType().GetName())
				}
			}
		}
		if len(found) > 0 {
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// dumpHistory writes a workflow's latest run's history as JSON, for a failure's post-mortem
// (the cluster is gone when the test ends).
func dumpHistory(ctx context.Context, t *testing.T, c client.Client, id, path string) {
	h := history(ctx, t, c, billing.WorkflowID(id), "")
	b, err := protojson.MarshalOptions{Indent: " "}.Marshal(h)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	t.Logf("history of %s in %s (%v)", id, path, err)
}

// describeState is what a failure needs from a state: status, cycles, charge records, the
// last audit events.
func describeState(st billing.State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status=%s reason=%q cycle=%d next_index=%d next_charge_at=%s runs=%d charges:", st.Status, st.StatusReason, st.Cycle, st.NextIndex,
		st.NextChargeAt.UTC().Format(time.StampMilli), st.Runs)
	for _, c := range st.Charges {
		fmt.Fprintf(&b, " [%d.%d %s %s via %s at %s]", c.Cycle, c.Attempt, c.Outcome, c.Reason, c.Via, c.At.UTC().Format(time.StampMilli))
	}
	b.WriteString(" events:")
	for _, e := range st.Events[max(0, len(st.Events)-8):] {
		fmt.Fprintf(&b, " %+v", e)
	}
	return b.String()
}

// peakRate is the largest number of charges in any window, per second.
func peakRate(ts []time.Time, window time.Duration) float64 {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) > window {
			j++
		}
		best = max(best, i-j+1)
	}
	return float64(best) / window.Seconds()
}

func artifactsDir(t *testing.T) string {
	if d := os.Getenv("ARTIFACTS_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func dataConverter(t *testing.T, key string) converter.DataConverter {
	keys, err := codec.ParseKeys(key)
	require.NoError(t, err)
	cd, err := codec.New(keys)
	require.NoError(t, err)
	return cd.DataConverter()
}

var (
	listeningRE   = regexp.MustCompile(`(?m)^listening on (http://127\.0\.0\.1:\d+)`)
	listeningV2RE = regexp.MustCompile(`(?m)^v2 listening on (http://127\.0\.0\.1:\d+)`)
)

// startEmulator starts the emulator binary and returns its V1 and V2 base URLs.
func startEmulator(t *testing.T, bins, logDir string) (v1, v2 string) {
	cmd := exec.Command(tool(t, bins, "emulator"), "-addr", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	p, err := cluster.StartProcess("emulator", cmd, filepath.Join(logDir, "emulator.log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
	require.NoError(t, p.WaitFor(20*time.Second, "emulator listening (V1 and V2)", func() bool {
		m, m2 := listeningRE.FindStringSubmatch(p.Output()), listeningV2RE.FindStringSubmatch(p.Output())
		if m != nil && m2 != nil {
			v1, v2 = m[1], m2[1]
		}
		return m != nil && m2 != nil
	}))
	return v1, v2
}

func startEdge(t *testing.T, bins, logDir string, env []string) string {
	cmd := exec.Command(tool(t, bins, "edgeserver"), "-addr", "127.0.0.1:0")
	cmd.Env = append(cleanEnv(), env...)
	p, err := cluster.StartProcess("edgeserver", cmd, filepath.Join(logDir, "edgeserver.log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(15 * time.Second) })
	re := regexp.MustCompile(`edge listening on (http://127\.0\.0\.1:\d+)`)
	var url string
	require.NoError(t, p.WaitFor(20*time.Second, "edge listening", func() bool {
		m := re.FindStringSubmatch(p.Output())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}))
	return url
}

func startWorker(t *testing.T, bins, logDir, name string, env []string, args ...string) *cluster.Process {
	cmd := exec.Command(tool(t, bins, "worker"), append([]string{"-stop-timeout", "10s"}, args...)...)
	cmd.Env = append(cleanEnv(), env...)
	p, err := cluster.StartProcess(name, cmd, filepath.Join(logDir, name+".log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(30 * time.Second) })
	require.NoError(t, p.WaitFor(30*time.Second, "worker polling", func() bool { return strings.Contains(p.Output(), "worker polling") }))
	return p
}

// cleanEnv is the test's environment without the project's own settings, so a developer's
// exported TEMPORAL_ADDRESS or PORTONE_* cannot leak into the processes.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "PORTONE_") || strings.HasPrefix(name, "BILLING_") || strings.HasPrefix(name, "PAYCYCLE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func emuPost(t *testing.T, base, path string, body any) {
	b, err := json.Marshal(body)
	require.NoError(t, err)
	res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Less(t, res.StatusCode, 300, "POST %s", path)
}

// onV2 says which of the fleet's subscriptions are on PortOne V2: two in six, one of each
// charge mode (the mode alternates with i).
func onV2(i int) bool { return i%6 >= 4 }

// emuPostJSON posts body to the emulator's control API and decodes the answer into out.
func emuPostJSON(t *testing.T, base, path string, body, out any) {
	b, err := json.Marshal(body)
	require.NoError(t, err)
	res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Less(t, res.StatusCode, 300, "POST %s", path)
	require.NoError(t, json.NewDecoder(res.Body).Decode(out))
}

func emuDelete(t *testing.T, base, path string) {
	req, err := http.NewRequest(http.MethodDelete, base+path, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Less(t, res.StatusCode, 300, "DELETE %s", path)
}

func emuLedger(t *testing.T, base string) []portonetest.LedgerEntry {
	res, err := http.Get(base + "/__emulator/ledger")
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct {
		Entries []portonetest.LedgerEntry `json:"entries"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return body.Entries
}

// runParallel runs f for every id with at most n at once and fails the test on the first error.
func runParallel(t *testing.T, ids []string, n int, f func(id string, i int) error) {
	sem := make(chan struct{}, n)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(id, i); err != nil {
				errs <- fmt.Errorf("%s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// runClosed reports whether the subscription's current run has completed.
func runClosed(ctx context.Context, c client.Client, id string) bool {
	d, err := c.DescribeWorkflowExecution(ctx, billing.WorkflowID(id), "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func queryState(ctx context.Context, c client.Client, id string) (billing.State, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st billing.State
	v, err := c.QueryWorkflow(qctx, billing.WorkflowID(id), "", billing.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// replayAll replays every run of every subscription (walking continue-as-new back to the
// first run) and returns how many runs it replayed.
// allRunCharges is every charge record of a subscription: continue-as-new carries only the
// recent ones (versionCompactCarry), so each earlier run's state is queried too (a closed run
// answers by replay on a worker), walking the chain of runs back from the current one.
func allRunCharges(ctx context.Context, t *testing.T, c client.Client, id string, st billing.State) []billing.ChargeRecord {
	t.Helper()
	out := append([]billing.ChargeRecord(nil), st.Charges...)
	if st.ChargesOmitted == 0 {
		return out
	}
	wid := billing.WorkflowID(id)
	desc, err := c.DescribeWorkflowExecution(ctx, wid, "")
	require.NoError(t, err)
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for hop := 0; hop < 100; hop++ {
		first := history(ctx, t, c, wid, runID).Events[0].GetWorkflowExecutionStartedEventAttributes()
		prev := first.GetContinuedExecutionRunId()
		if prev == "" {
			break
		}
		v, err := c.QueryWorkflow(ctx, wid, prev, billing.QueryState)
		require.NoError(t, err, "%s: state of run %s", id, prev)
		var runState billing.State
		require.NoError(t, v.Get(&runState))
		out = append(out, runState.Charges...)
		runID = prev
	}
	return out
}

func replayAll(ctx context.Context, t *testing.T, c client.Client, dc converter.DataConverter, subs []string) int {
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	require.NoError(t, err)
	workflows.RegisterWorkflow(r)
	runs := 0
	for _, id := range subs {
		wid := billing.WorkflowID(id)
		desc, err := c.DescribeWorkflowExecution(ctx, wid, "")
		require.NoError(t, err)
		runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		for hop := 0; hop < 100; hop++ {
			hist := history(ctx, t, c, wid, runID)
			first := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			require.NotNil(t, first, "%s: first event is the start", wid)
			exec := workflow.Execution{ID: wid, RunID: runID}
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}),
				"%s run %s does not replay", wid, runID)
			runs++
			if first.GetContinuedExecutionRunId() == "" {
				break
			}
			runID = first.GetContinuedExecutionRunId()
		}
	}
	return runs
}

func history(ctx context.Context, t *testing.T, c client.Client, wid, runID string) *historypb.History {
	it := c.GetWorkflowHistory(ctx, wid, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		h.Events = append(h.Events, e)
	}
	require.NotEmpty(t, h.Events, "%s %s: empty history", wid, runID)
	return h
}
