package workflows_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// v2WebhookDelay is how long after an approval the relayed Transaction.Paid reaches the
// workflow in these tests: PortOne sends it at once, and the edge reads the payment back first.
const v2WebhookDelay = 2 * time.Second

// requestLog records the requests PortOne's emulator serves ("METHOD /path"), those whose path
// starts with prefix ("" for every one), for tests that count what a charge asks.
type requestLog struct {
	prefix string
	mu     sync.Mutex
	log    []string
}

// wrap is an emulatorBankV2Via wrapper that records each request before serving it.
func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, l.prefix) {
			l.mu.Lock()
			l.log = append(l.log, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// requests is what was recorded so far, in order.
func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// webhookRelay stands in for the edge in a test environment (edge/v2webhook.go): PortOne V2
// sends Transaction.Paid when it approves a charge, and the edge relays the payment it read
// back as a payment_notification. Here, when a Charge activity returns a charge answered by the
// approval alone, the emulator's payment of its paymentId is relayed v2WebhookDelay later,
// unless the relay is told the webhook is lost. A notification its run did not live to take
// (it continued as new first) is sent to the next run the relay is attached to, as the edge's
// signal reaches the subscription's current run.
type webhookRelay struct {
	emu *portonetest.Emulator
	mu  sync.Mutex
	// lost drops the webhooks of later approvals.
	lost bool
	// relayed counts the notifications sent; pending are the paymentIds still to relay.
	relayed int
	pending []string
}

// relayV2Webhooks installs a webhookRelay on env, whose activities charge emu's V2 API.
func relayV2Webhooks(env *testsuite.TestWorkflowEnvironment, emu *portonetest.Emulator) *webhookRelay {
	wr := &webhookRelay{emu: emu}
	wr.attach(env)
	return wr
}

// attach makes env's charges relayed, and relays there what an earlier environment did not.
func (wr *webhookRelay) attach(env *testsuite.TestWorkflowEnvironment) {
	env.SetOnActivityCompletedListener(func(info *activity.Info, result converter.EncodedValue, err error) {
		if err != nil || info.ActivityType.Name != "Charge" || result == nil {
			return
		}
		var res activities.ChargeResult
		if result.Get(&res) != nil || res.Outcome != billing.OutcomePaid || res.ImpUID != "" || res.PaymentID == "" {
			return
		}
		wr.mu.Lock()
		lost := wr.lost
		if !lost {
			wr.pending = append(wr.pending, res.PaymentID)
		}
		wr.mu.Unlock()
		if !lost {
			wr.relayLater(env, res.PaymentID, v2WebhookDelay)
		}
	})
	wr.mu.Lock()
	pending := slices.Clone(wr.pending)
	wr.mu.Unlock()
	for _, pid := range pending {
		wr.relayLater(env, pid, 0)
	}
}

func (wr *webhookRelay) relayLater(env *testsuite.TestWorkflowEnvironment, paymentID string, after time.Duration) {
	env.RegisterDelayedCallback(func() {
		wr.mu.Lock()
		i := slices.Index(wr.pending, paymentID)
		if i >= 0 {
			wr.pending = slices.Delete(wr.pending, i, i+1)
			wr.relayed++
		}
		wr.mu.Unlock()
		if n, ok := v2Notification(wr.emu, paymentID); ok && i >= 0 {
			signal(env, billing.SignalPaymentNotification, n)
		}
	}, after)
}

// setLost makes the relay lose (or, false, deliver) the webhooks of later approvals.
func (wr *webhookRelay) setLost(lost bool) {
	wr.mu.Lock()
	wr.lost = lost
	wr.mu.Unlock()
}

// v2Notification is what the edge relays for paymentID: PortOne's payment as it stands (its
// approved transaction, its amount, paid or cancelled).
func v2Notification(emu *portonetest.Emulator, paymentID string) (billing.PaymentNotification, bool) {
	for _, le := range emu.Ledger() {
		if le.Version == portonetest.VersionV2 && le.MerchantUID == paymentID && (le.Status == "paid" || le.Status == "cancelled") {
			return billing.PaymentNotification{ImpUID: le.ImpUID, MerchantUID: paymentID, Status: le.Status, Amount: le.Amount}, true
		}
	}
	return billing.PaymentNotification{}, false
}

// TestV2ChargeIsOneRequest: from versionAnswerOnlyCharge a V2 cycle's first attempt is one
// request to PortOne (the billing-key pay), where it was two (the pay, then a read of the
// payment for its transactionId); the transactionId is learned from the relayed webhook, and
// the state ends equal to the ledger.
func TestV2ChargeIsOneRequest(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	log := &requestLog{prefix: "/payments"}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, log.wrap, "cust-1")
	relay := relayV2Webhooks(env, emu)
	var before billing.State
	env.RegisterDelayedCallback(func() { before = query(t, env) }, time.Second) // charged, not yet relayed
	endAt(env, start, kst(2025, time.June, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	var pays []string
	for c := 1; c <= 3; c++ {
		pays = append(pays, "POST /payments/"+cyclePIDForTest(c, 1)+"/billing-key")
	}
	require.Equal(t, pays, log.requests(), "each cycle's first attempt is the pay alone, and nothing else asks PortOne")

	require.Len(t, before.Charges, 1)
	require.Equal(t, billing.OutcomePaid, before.Charges[0].Outcome)
	require.Empty(t, before.Charges[0].ImpUID, "not known before the webhook")
	require.EqualValues(t, 9900, before.Charges[0].Amount, "the amount asked, which PortOne approved")
	require.Equal(t, 3, relay.relayed)
	for c := 1; c <= 3; c++ {
		recs := cycleRecords(st, c)
		require.Len(t, recs, 1)
		require.NotEmpty(t, recs[0].ImpUID, "cycle %d's transactionId, from the webhook", c)
		require.Equal(t, v2Charges(emu)[cyclePIDForTest(c, 1)][0].ImpUID, recs[0].ImpUID)
	}
	ledgerInvariants(t, emu, st)
}

// TestV2RefundsBeforeTheWebhook: the webhook of cycle 1's charge is late, so the charge does not
// know its transactionId when the subscription is cancelled now with a full refund after a
// change to a cheaper plan (two refunds of the payment: the cancel's share and the pending
// credit, which this PG finishes later). The refunds are made by paymentId and tallied under
// the charge's own merchant_uid; when the webhook arrives, the charge and its refunds learn the
// transactionId together, the refunds are confirmed, and the state equals the ledger.
func TestV2RefundsBeforeTheWebhook(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	emu := asyncCancelBankVia(t, env, time.Millisecond, func(emu *portonetest.Emulator, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cancel") {
			emu.SetV2AsyncCancel(true, 3*time.Hour)
		}
	})
	relay := relayV2Webhooks(env, emu)
	relay.setLost(true)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 20000, When: billing.Now})
	}, after(start, kst(2025, time.January, 11, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull, Requester: billing.RequesterCustomer})
	}, after(start, kst(2025, time.January, 12, 12, 0)))
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, after(start, kst(2025, time.January, 12, 12, 30)))
	env.RegisterDelayedCallback(func() {
		// PortOne's retry of the webhook gets through.
		n, ok := v2Notification(emu, cyclePIDForTest(1, 1))
		require.True(t, ok)
		signal(env, billing.SignalPaymentNotification, n)
	}, after(start, kst(2025, time.January, 12, 13, 0)))
	in := monthly31()
	in.Gateway = billing.GatewayPortOneV2
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	c1 := cycleRecords(mid, 1)
	require.Len(t, c1, 1)
	require.Empty(t, c1[0].ImpUID)
	require.Len(t, mid.Refunds, 2, "the cancel's share and the pending credit: %v", eventKinds(mid))
	for _, f := range mid.Refunds {
		require.Empty(t, f.ImpUID)
		require.Equal(t, c1[0].MerchantUID, f.MerchantUID)
		require.Equal(t, billing.RefundRequested, f.Outcome)
	}
	paid1 := v2Charges(emu)[cyclePIDForTest(1, 1)][0]
	require.EqualValues(t, 29000, paid1.CancelAmount, "29 of its 31 days, given back once")
	require.Equal(t, paid1.ImpUID, cycleRecords(st, 1)[0].ImpUID)
	require.Len(t, st.Refunds, 2)
	for _, f := range st.Refunds {
		require.Equal(t, paid1.ImpUID, f.ImpUID, "the refund learned its payment's transactionId with the charge: %+v", f)
		require.Equal(t, billing.RefundMade, f.Outcome)
	}
	require.Nil(t, st.Attention)
	ledgerInvariants(t, emu, st)
}

// TestV2AmountThatDiffersLearnedFromTheWebhook: an approval is the whole answer from
// versionAnswerOnlyCharge, so a payment PortOne approved for another amount than the one asked
// is first recorded paid for the amount asked. The relayed webhook shows the difference; the
// workflow reads the payment itself and cancels it at once (the mismatch rule), records the
// mismatch and parks the subscription. PortOne keeps nothing.
func TestV2AmountThatDiffersLearnedFromTheWebhook(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	relayV2Webhooks(env, emu)
	pid := cyclePIDForTest(2, 1)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultAmountMismatch, PaidAmount: 10900, Times: 1})
	endAt(env, start, kst(2025, time.May, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 1)
	require.EqualValues(t, 10900, txs[0].Amount)
	require.Equal(t, "cancelled", txs[0].Status, "cancelled at once")
	require.EqualValues(t, 10900, txs[0].CancelAmount)
	recs := cycleRecords(st, 2)
	require.Len(t, recs, 1)
	require.Equal(t, billing.OutcomeAmountMismatch, recs[0].Outcome)
	require.EqualValues(t, 10900, recs[0].Amount)
	require.Equal(t, txs[0].ImpUID, recs[0].ImpUID)
	require.NotNil(t, st.Attention)
	require.Equal(t, billing.AttentionAmountMismatch, st.Attention.Kind)
	require.Empty(t, st.Refunds, "the mismatch rule's cancel is the charge's own outcome, as on V1")
}

// TestV2LostWebhookIsReadBackAfterTheNextCharge: PortOne never delivers the webhooks (the
// console's URL does not reach the edge). Each charge is still one request; once the next
// cycle is charged, the earlier one is read back for its transactionId, so the state lags
// PortOne by at most a cycle, and the last is read back as the run completes.
func TestV2LostWebhookIsReadBackAfterTheNextCharge(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	log := &requestLog{prefix: "/payments"}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, log.wrap, "cust-1")
	relayV2Webhooks(env, emu).setLost(true)
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.May, 2, 0, 0).Sub(start))
	endAt(env, start, kst(2025, time.May, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	c1, c2 := cyclePIDForTest(1, 1), cyclePIDForTest(2, 1)
	require.Equal(t, []string{"POST /payments/" + c1 + "/billing-key", "POST /payments/" + c2 + "/billing-key", "GET /payments/" + c1,
		"GET /payments/" + c2}, log.requests(), "each charge one request; read back after the next charge, and the last as the run completes")
	require.Equal(t, v2Charges(emu)[c1][0].ImpUID, cycleRecords(mid, 1)[0].ImpUID, "cycle 1 read back once cycle 2 was charged")
	require.Empty(t, cycleRecords(mid, 2)[0].ImpUID)
	require.Equal(t, v2Charges(emu)[c2][0].ImpUID, cycleRecords(st, 2)[0].ImpUID)
	ledgerInvariants(t, emu, st)
}

// TestV2RefusedReadBackIsHandedToAPerson: the relayed webhook shows a payment approved for
// another amount, and PortOne refuses the cancel the mismatch rule asks (for good: a
// compare-and-set it will not accept). The refusal is handed to a person (parked) instead of
// failing every step after a back-off, and a customer's cancel still goes through. Before, the
// read-back ran ahead of the subscription's messages and was retried for ever.
func TestV2RefusedReadBackIsHandedToAPerson(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	pid := cyclePIDForTest(2, 1)
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/payments/"+pid+"/cancel" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				_, _ = w.Write([]byte(`{"type":"CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN","message":"취소 가능 잔액 검증에 실패했습니다."}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, refuse, "cust-1")
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultAmountMismatch, PaidAmount: 10900, Times: 1})
	var res updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Requester: billing.RequesterCustomer}, &res)
	}, kst(2025, time.May, 3, 12, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	require.True(t, res.done)
	require.NoError(t, firstErr(res.rejected, res.err))
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.NotNil(t, st.Attention)
	require.Equal(t, billing.AttentionReconciliation, st.Attention.Kind)
	require.Equal(t, "transaction_unknown", st.Attention.Finding)
	require.Contains(t, st.Attention.Detail, pid)
}

// TestV2ScheduleModeWaitsForTheWebhook: in schedule mode the first cycle is charged at once
// (one request) and the next is handed to PortOne's scheduler at once, as a scheduled record of
// cycle 2. That record is no charge made: the first charge's transactionId comes with its
// webhook, and nobody reads the payment back before it.
func TestV2ScheduleModeWaitsForTheWebhook(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	log := &requestLog{}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, log.wrap, "cust-1")
	relay := relayV2Webhooks(env, emu)
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.April, 2, 0, 0).Sub(start))
	endAt(env, start, kst(2025, time.April, 10, 0, 0))
	in := scheduleMode()
	in.Gateway = billing.GatewayPortOneV2
	env.ExecuteWorkflow(billing.WorkflowType, in)
	result(t, env)

	c1 := cyclePIDForTest(1, 1)
	reqs := log.requests()
	require.Contains(t, reqs, "POST /payments/"+c1+"/billing-key")
	require.Contains(t, reqs, "POST /payments/"+cyclePIDForTest(2, 1)+"/schedule", "cycle 2 handed to PortOne's scheduler")
	require.NotContains(t, reqs, "GET /payments/"+c1, "the first charge is not read back: its webhook names it")
	require.Equal(t, 1, relay.relayed)
	require.Equal(t, v2Charges(emu)[c1][0].ImpUID, cycleRecords(mid, 1)[0].ImpUID)
}
