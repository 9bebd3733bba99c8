package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"
	"google.golang.org/protobuf/encoding/protojson"

	historypb "go.temporal.io/api/history/v1"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
)

// stack is one end-to-end environment: internal/stacktest's, with the e2e helpers below.
type stack struct {
	t        *testing.T
	st       *stacktest.Stack
	ts       *temporaltest.TestServer
	c        client.Client
	ns       string
	emu      *portonetest.Emulator
	emuURL   string
	gateway  *portone.Client
	codecKey string
}

type stackOptions struct {
	plain       bool // no payload encryption (for histories saved as replay fixtures)
	noWorker    bool
	workerOpts  worker.Options
	actTimeout  time.Duration
	settleDelay time.Duration
	noticeURL   string
	noticeURLV2 string
	// cancelSettleWait is how long a Refund attempt waits for a V2 cancel PortOne holds REQUESTED.
	cancelSettleWait time.Duration
	// deliverer turns the merchant event stream on (renewalNotice ahead of each renewal).
	deliverer     *webhooks.Deliverer
	renewalNotice time.Duration
	// emulator configures the PortOne emulator (e.g. the V2 webhook URL of a test's edge).
	emulator portonetest.Options
}

func (o stackOptions) activities() activities.Config {
	return activities.Config{ActivityTimeout: o.actTimeout, ScheduleSettleDelay: o.settleDelay, NoticeURL: o.noticeURL, NoticeURLV2: o.noticeURLV2, CancelSettleWait: o.cancelSettleWait,
		Events: o.deliverer != nil, RenewalNotice: o.renewalNotice}
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	testgate.Slow(t, "starts a Temporal server, the emulator and a worker")
	st := stacktest.New(t, stacktest.Options{Plain: o.plain, NoWorker: o.noWorker, Worker: o.workerOpts,
		Activities: o.activities(), PortOneTimeout: 3 * time.Second, Deliverer: o.deliverer, Emulator: o.emulator})
	return &stack{t: t, st: st, ts: st.Server, c: st.Client, ns: st.Namespace, emu: st.Emulator, emuURL: st.EmulatorURL,
		gateway: st.Gateway, codecKey: st.CodecKey}
}

// startWorker runs the real workflow and activity code in-process against the emulator.
func (s *stack) startWorker(o stackOptions) worker.Worker {
	w, err := s.st.StartWorker(o.workerOpts, o.activities())
	require.NoError(s.t, err)
	return w
}

// register seeds a NaverPay billing key in the emulator.
func (s *stack) register(customerUID string) portonetest.RegisteredCustomer {
	reg, err := s.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customerUID, CustomerTel: "010-9876-5432"})
	require.NoError(s.t, err)
	return reg
}

// demoInput is a subscription with a short demo interval.
func demoInput(id, customer string, every time.Duration) billing.SubscriptionInput {
	return billing.SubscriptionInput{
		SubscriptionID: id,
		CustomerUID:    customer,
		Plan: billing.Plan{
			Name: "E2E Plan", Code: "e2e-plan", Amount: 9900,
			Interval: calendar.Interval{Unit: calendar.Second, Count: int(every / time.Second)},
		},
		Buyer: billing.Buyer{Name: "홍길동", Tel: "010-5555-1234", Email: "buyer@example.com"},
	}
}

func (s *stack) start(in billing.SubscriptionInput) client.WorkflowRun {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: billing.WorkflowID(in.SubscriptionID), TaskQueue: billing.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, billing.WorkflowType, in)
	require.NoError(s.t, err)
	return run
}

func (s *stack) state(id string) billing.State {
	s.t.Helper()
	st, err := s.tryState(id)
	require.NoError(s.t, err)
	return st
}

// tryState queries the state; it fails while no worker can answer (e.g. right after a crash).
func (s *stack) tryState(id string) (billing.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st billing.State
	v, err := s.c.QueryWorkflow(ctx, billing.WorkflowID(id), "", billing.QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// update sends an update and waits for its answer; one the server aborted because it failed
// the workflow task carrying it for a timing reason is sent again (taskfailure_test.go).
func (s *stack) update(id, name string, payload any) (billing.Receipt, error) {
	for try := 1; ; try++ {
		r, err := s.updateOnce(id, name, payload)
		if try == updateTries || !isTaskFailureAbort(err) || !retryAfterTaskFailure(s.t, s.st.ServerLog, billing.WorkflowID(id), name, err) {
			return r, err
		}
	}
}

func (s *stack) updateOnce(id, name string, payload any) (billing.Receipt, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: billing.WorkflowID(id), UpdateName: name, Args: []any{payload},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return billing.Receipt{}, err
	}
	var r billing.Receipt
	err = h.Get(ctx, &r)
	return r, err
}

// eventually polls cond every 100 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// paid returns the emulator's paid charges (registrations excluded) whose merchant_uid starts
// with prefix.
func (s *stack) paid(prefix string) []portonetest.LedgerEntry {
	var out []portonetest.LedgerEntry
	for _, e := range s.emu.Ledger() {
		if e.Usage != "issue" && (e.Status == "paid" || e.CancelAmount > 0) && strings.HasPrefix(e.MerchantUID, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// checkMoneyInvariants asserts internal/ledgercheck's invariants on the emulator's ledger, V1
// and V2 alike: every payment through the subscription's own generation, at most one approved
// attempt per payment id and one kept payment per cycle (a second payment refunded in full, as
// the workflow does with one PortOne's 리커버리 made, is not kept), none created after the
// subscription ended, refunds never above what was paid, and every attempt the emulator saw
// recorded in the workflow state with its imp_uid (V2: transactionId under the cycle's
// paymentId), the state's paid charges approved at PortOne.
func (s *stack) checkMoneyInvariants(st billing.State) {
	s.t.Helper()
	require.Empty(s.t, ledgerProblems(s, st), "money invariants on the emulator's ledger")
}

// ledgerProblems is internal/ledgercheck's verdict on the subscription's ledger entries.
func ledgerProblems(s *stack, st billing.State) []string {
	return ledgercheck.Check(s.emu.Ledger(), ledgercheck.FromState(st, s.allCharges(st)))
}

// allCharges is every charge record of the subscription: continue-as-new carries only the
// recent ones, so when the final state omits some, each earlier run's state is queried (a
// closed run answers queries by replay on a worker).
func (s *stack) allCharges(st billing.State) []billing.ChargeRecord {
	s.t.Helper()
	if st.ChargesOmitted == 0 {
		return st.Charges
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns,
		Query: fmt.Sprintf("WorkflowId = '%s'", billing.WorkflowID(st.SubscriptionID))})
	require.NoError(s.t, err)
	out := append([]billing.ChargeRecord(nil), st.Charges...)
	for _, e := range res.GetExecutions() {
		v, err := s.c.QueryWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), billing.QueryState)
		require.NoError(s.t, err, "state of run %s", e.GetExecution().GetRunId())
		var runState billing.State
		require.NoError(s.t, v.Get(&runState))
		out = append(out, runState.Charges...)
	}
	return out
}

// historyJSON returns the workflow's history as the temporal CLI prints it (`workflow show
// --output json`), payloads as stored on the server.
func (s *stack) historyJSON(workflowID, runID string) []byte {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	require.NoError(s.t, err)
	return b
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, b, 0o644))
}
