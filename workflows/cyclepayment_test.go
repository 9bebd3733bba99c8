package workflows_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
)

// emulatorBankV2 makes the PortOne emulator's V2 API the bank of a test environment: the
// activities talk HTTP to it through the V2 gateway, on the environment's clock, and keys are
// V2 billing keys issued under the names given (as the sweep issues them).
func emulatorBankV2(t *testing.T, env *testsuite.TestWorkflowEnvironment, opts portonetest.V2Options, keys ...string) *portonetest.Emulator {
	t.Helper()
	return emulatorBankV2Via(t, env, opts, nil, keys...)
}

// emulatorBankV2Via is emulatorBankV2 with wrap (when not nil) in front of the V2 API.
func emulatorBankV2Via(t *testing.T, env *testsuite.TestWorkflowEnvironment, opts portonetest.V2Options, wrap func(http.Handler) http.Handler, keys ...string) *portonetest.Emulator {
	t.Helper()
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}, V2: opts})
	h := emu.V2Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second})
	require.NoError(t, err)
	for _, k := range keys {
		_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-" + k, IssueName: "Premium", NaverAccount: "naver-" + k, BillingKey: k})
		require.NoError(t, err)
	}
	env.RegisterActivity(&activities.Activities{Gateway: v2Gateway{}, GatewayV2: gw, Config: activities.Config{ScheduleSettleDelay: time.Minute}, Now: env.Now})
	relayV2Webhooks(env, emu) // the edge's part; a test that steers it installs its own
	return emu
}

func v2Monthly() billing.SubscriptionInput {
	in := monthly()
	in.Gateway = billing.GatewayPortOneV2
	in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(24 * time.Hour), billing.Duration(48 * time.Hour)}}
	return in
}

func cyclePIDForTest(cycle, gen int) string {
	return billing.CyclePaymentID{SubscriptionID: "sub-1", Tag: tagForTest(), Cycle: cycle, Gen: gen}.String()
}

// v2Charges is the emulator's V2 charge transactions, by paymentId, in order.
func v2Charges(emu *portonetest.Emulator) map[string][]portonetest.LedgerEntry {
	out := map[string][]portonetest.LedgerEntry{}
	for _, le := range emu.Ledger() {
		if le.Version == portonetest.VersionV2 && le.Usage != "issue" {
			out[le.MerchantUID] = append(out[le.MerchantUID], le)
		}
	}
	return out
}

// cycleRecords is the state's charge records of a cycle, in order.
func cycleRecords(st billing.State, cycle int) []billing.ChargeRecord {
	var out []billing.ChargeRecord
	for _, c := range st.Charges {
		if c.Cycle == cycle {
			out = append(out, c)
		}
	}
	return out
}

// endAt cancels the subscription at instant at.
func endAt(env *testsuite.TestWorkflowEnvironment, start, at time.Time) {
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, at.Sub(start))
}

// TestV2CycleDeclinedTwiceThenPaidIsOnePayment: on V2 a cycle declined twice and paid by its
// second dunning retry is ONE PortOne payment (the cycle's paymentId) with three transactions;
// the state records each attempt under its own merchant_uid with that paymentId and its own
// transactionId, and the ledger and the state agree.
func TestV2CycleDeclinedTwiceThenPaidIsOnePayment(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	pid := cyclePIDForTest(1, 1)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 2})
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.April, 5, 0, 0).Sub(start))
	endAt(env, start, kst(2025, time.April, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	payments := v2Charges(emu)
	require.Len(t, payments, 1, "one V2 payment for the cycle: %v", payments)
	txs := payments[pid]
	require.Len(t, txs, 3, "three transactions under %s", pid)
	require.Equal(t, []string{"failed", "failed", "paid"}, []string{txs[0].Status, txs[1].Status, txs[2].Status})

	recs := cycleRecords(st, 1)
	require.Len(t, recs, 3)
	for i, rec := range recs {
		require.Equal(t, billing.ChargeUID{SubscriptionID: "sub-1", Tag: tagForTest(), Cycle: 1, Attempt: i + 1}.String(), rec.MerchantUID,
			"each attempt keeps its own merchant_uid")
		require.Equal(t, pid, rec.PaymentID)
		require.Equal(t, pid, rec.GatewayPaymentID())
		require.Equal(t, txs[i].ImpUID, rec.ImpUID, "attempt %d records its transactionId", i+1)
	}
	require.Equal(t, []billing.Outcome{billing.OutcomeDeclined, billing.OutcomeDeclined, billing.OutcomePaid},
		[]billing.Outcome{recs[0].Outcome, recs[1].Outcome, recs[2].Outcome})
	require.NoError(t, mid.ValidateCarried(), "a carried state with cycle paymentIds passes the next run's check")
	forged := mid
	forged.Charges = slices.Clone(mid.Charges)
	forged.Charges[0].PaymentID = billing.CyclePaymentID{SubscriptionID: "sub-2", Tag: tagForTest(), Cycle: 1}.String()
	require.ErrorContains(t, forged.ValidateCarried(), "continued.charges[0].payment_id")
}

// TestV2LostAnswerIsAdoptedNeverPaidTwice: PortOne approves a cycle's charge and the answer is
// lost; the activity's retry looks the cycle's paymentId up and adopts the paid transaction.
// PortOne holds one paid transaction, and the state records it for the attempt that made it.
func TestV2LostAnswerIsAdoptedNeverPaidTwice(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	pid := cyclePIDForTest(2, 1)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultCommitThenDrop, Times: 1})
	endAt(env, start, kst(2025, time.May, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	fired := slices.IndexFunc(emu.FaultFirings(), func(f portonetest.FaultFiring) bool {
		return f.Action == portonetest.FaultCommitThenDrop && f.MerchantUID == pid
	})
	require.GreaterOrEqual(t, fired, 0, "the answer was lost")
	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 1, "the retry charged nothing: %v", txs)
	require.Equal(t, "paid", txs[0].Status)
	recs := cycleRecords(st, 2)
	require.Len(t, recs, 1)
	require.Equal(t, billing.OutcomePaid, recs[0].Outcome)
	require.Equal(t, txs[0].ImpUID, recs[0].ImpUID)
	require.Equal(t, pid, recs[0].PaymentID)
}

// TestV2LostAnswerThenAlreadyPaidIsAdopted: PortOne approves a cycle's charge and the answer is
// lost; the retry's look-first reads the payment before PortOne's read side has it (a stale
// read, played by answering that one GET /payments/{paymentId} with PAYMENT_NOT_FOUND), so the
// retry charges again and PortOne answers 409 ALREADY_PAID: the retry adopts the paid
// transaction, and PortOne holds one.
func TestV2LostAnswerThenAlreadyPaidIsAdopted(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	pid := cyclePIDForTest(2, 1)
	var mu sync.Mutex
	var dropped, stale bool
	var pays []int
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Method == http.MethodPost && r.URL.Path == "/payments/"+pid+"/billing-key":
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				pays = append(pays, rec.Code)
				if !dropped {
					dropped = true
					panic(http.ErrAbortHandler) // PortOne committed; the answer is lost
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			case r.Method == http.MethodGet && r.URL.Path == "/payments/"+pid && dropped && !stale:
				stale = true
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"type":"PAYMENT_NOT_FOUND","message":"결제 건이 존재하지 않습니다."}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, wrap, "cust-1")
	endAt(env, start, kst(2025, time.May, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	mu.Lock()
	require.Equal(t, []int{http.StatusOK, http.StatusConflict}, pays, "the retry's charge was refused as ALREADY_PAID")
	require.True(t, stale)
	mu.Unlock()
	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 1, "%v", txs)
	require.Equal(t, "paid", txs[0].Status)
	recs := cycleRecords(st, 2)
	require.Len(t, recs, 1)
	require.Equal(t, billing.OutcomePaid, recs[0].Outcome)
	require.Equal(t, txs[0].ImpUID, recs[0].ImpUID)
	require.Equal(t, pid, recs[0].PaymentID)
}

// TestV2LostDeclineIsTheAttemptsOwn: NaverPay declines a cycle's first attempt and the answer
// is lost; the retried try finds a transaction under the cycle's paymentId that no attempt
// recorded, takes it as its own decline and charges nothing. The dunning retry then sees that
// transaction recorded (an earlier attempt's) and makes its own. One payment, two transactions,
// each recorded once.
func TestV2LostDeclineIsTheAttemptsOwn(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	pid := cyclePIDForTest(1, 1)
	var mu sync.Mutex
	var dropped bool
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			drop := r.Method == http.MethodPost && r.URL.Path == "/payments/"+pid+"/billing-key" && !dropped
			dropped = dropped || drop
			mu.Unlock()
			if drop {
				next.ServeHTTP(httptest.NewRecorder(), r)
				panic(http.ErrAbortHandler) // NaverPay declined; the answer is lost
			}
			next.ServeHTTP(w, r)
		})
	}
	emu := emulatorBankV2Via(t, env, portonetest.V2Options{}, wrap, "cust-1")
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	endAt(env, start, kst(2025, time.April, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 2, "the retried try made no second transaction: %v", txs)
	require.Equal(t, []string{"failed", "paid"}, []string{txs[0].Status, txs[1].Status})
	recs := cycleRecords(st, 1)
	require.Len(t, recs, 2)
	require.Equal(t, []billing.Outcome{billing.OutcomeDeclined, billing.OutcomePaid}, []billing.Outcome{recs[0].Outcome, recs[1].Outcome})
	require.Equal(t, []string{txs[0].ImpUID, txs[1].ImpUID}, []string{recs[0].ImpUID, recs[1].ImpUID})
	require.Equal(t, 1, recs[0].Attempt)
}

// TestV2AttemptCapMovesTheCycleToItsNextPaymentID: when PortOne's attempt cap closes the
// cycle's paymentId, the next attempt confirms it holds no paid transaction and is made under
// the cycle's next paymentId, which the state records and later attempts start from.
func TestV2AttemptCapMovesTheCycleToItsNextPaymentID(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{MaxAttempts: 2}, "cust-1")
	pid, next := cyclePIDForTest(1, 1), cyclePIDForTest(1, 2)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 2})
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.April, 5, 0, 0).Sub(start))
	endAt(env, start, kst(2025, time.April, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	payments := v2Charges(emu)
	require.Len(t, payments[pid], 2)
	require.Len(t, payments[next], 1)
	require.Equal(t, "paid", payments[next][0].Status)
	recs := cycleRecords(st, 1)
	require.Len(t, recs, 3)
	require.Equal(t, []string{pid, pid, next}, []string{recs[0].PaymentID, recs[1].PaymentID, recs[2].PaymentID})
	require.Equal(t, billing.OutcomePaid, recs[2].Outcome)
	require.Equal(t, payments[next][0].ImpUID, recs[2].ImpUID)
	require.NoError(t, mid.ValidateCarried())
}

// TestV2ScheduledCycleRetriedUnderItsPaymentID: schedule mode on V2. The cycle's schedule is
// made under its paymentId; its execution declines; the dunning retry charges through again
// under the same paymentId and is paid. One payment, two transactions (the scheduler's and the
// retry's), and no recovery watch: PortOne cannot pay the failed schedule's paymentId again.
func TestV2ScheduledCycleRetriedUnderItsPaymentID(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	due := kst(2025, time.May, 1, 10, 0)
	pid := cyclePIDForTest(2, 1)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2ScheduleExecution, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	runSchedulerEvery(env, emu, due.Sub(start)+30*time.Second, due.Sub(start)+5*24*time.Hour, 30*time.Minute)
	var mid, pending billing.State
	env.RegisterDelayedCallback(func() { pending = query(t, env) }, kst(2025, time.April, 15, 0, 0).Sub(start))
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.May, 3, 0, 0).Sub(start))
	endAt(env, start, kst(2025, time.May, 10, 0, 0))
	in := scheduleMode()
	in.Gateway = billing.GatewayPortOneV2
	in.Dunning = v2Monthly().Dunning
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 2, "%v", txs)
	require.Equal(t, []string{"payment.scheduled", "payment"}, []string{txs[0].Usage, txs[1].Usage})
	require.Equal(t, []string{"failed", "paid"}, []string{txs[0].Status, txs[1].Status})
	recs := cycleRecords(st, 2)
	require.Len(t, recs, 2, "%+v", recs)
	require.Equal(t, billing.ViaSchedule, recs[0].Via)
	require.Equal(t, billing.OutcomeDeclined, recs[0].Outcome)
	require.Equal(t, billing.OutcomePaid, recs[1].Outcome)
	for i, rec := range recs {
		require.Equal(t, pid, rec.PaymentID)
		require.Equal(t, txs[i].ImpUID, rec.ImpUID)
	}
	require.Empty(t, mid.RecoveryWatches, "no 리커버리 can pay the cycle's paymentId twice")

	// While the schedule is pending the state names it by the cycle's paymentId, and a carried
	// state naming another subscription's is refused.
	require.NotNil(t, pending.Scheduled)
	require.Equal(t, pid, pending.Scheduled.PaymentID)
	require.NoError(t, pending.ValidateCarried())
	forged := pending
	sc := *pending.Scheduled
	sc.PaymentID = billing.CyclePaymentID{SubscriptionID: "sub-2", Tag: tagForTest(), Cycle: 2}.String()
	forged.Scheduled = &sc
	require.ErrorContains(t, forged.ValidateCarried(), "continued.scheduled.payment_id")
}

// TestV2RunsBeforeTheChangeKeepPerAttemptPaymentIDs: a V2 run that took the old branch of
// versionCyclePayment charges each attempt under its own merchant_uid, as before.
func TestV2RunsBeforeTheChangeKeepPerAttemptPaymentIDs(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	env.OnGetVersion("v2-cycle-payment", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	first := billing.ChargeUID{SubscriptionID: "sub-1", Tag: tagForTest(), Cycle: 1, Attempt: 1}.String()
	emu.AddFault(portonetest.Fault{MerchantUID: first, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	endAt(env, start, kst(2025, time.April, 10, 0, 0))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)

	payments := v2Charges(emu)
	second := billing.ChargeUID{SubscriptionID: "sub-1", Tag: tagForTest(), Cycle: 1, Attempt: 2}.String()
	require.Len(t, payments, 2, "%v", payments)
	require.Len(t, payments[first], 1)
	require.Len(t, payments[second], 1)
	for _, rec := range cycleRecords(st, 1) {
		require.Empty(t, rec.PaymentID)
		require.Equal(t, rec.MerchantUID, rec.GatewayPaymentID())
	}
}

// TestV2RescheduleUnderTheCyclesPaymentID: schedule mode on V2, a plan change revokes the
// cycle's schedule and schedules it again under the same paymentId: the look-first of the new
// schedule sees the revoked one as an earlier attempt's, not as its own, and the scheduler
// charges the new amount once.
func TestV2RescheduleUnderTheCyclesPaymentID(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	due := kst(2025, time.May, 1, 10, 0)
	runSchedulerEvery(env, emu, due.Sub(start)+30*time.Second, due.Sub(start)+2*24*time.Hour, 30*time.Minute)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 4900, Reason: "할인"})
	}, 5*24*time.Hour)
	endAt(env, start, kst(2025, time.May, 5, 0, 0))
	in := scheduleMode()
	in.Gateway = billing.GatewayPortOneV2
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule revoked", "c2a2 schedule paid", "c3a1 schedule revoked"}, vias(st))
	pid := cyclePIDForTest(2, 1)
	txs := v2Charges(emu)[pid]
	require.Len(t, txs, 1, "%v", txs)
	require.Equal(t, "payment.scheduled", txs[0].Usage)
	require.EqualValues(t, 4900, txs[0].Amount, "the new amount was scheduled")
	for _, rec := range cycleRecords(st, 2) {
		require.Equal(t, pid, rec.PaymentID)
	}
}

// TestV2WebhookOnTheCyclesPaymentIDSettlesAtOnce: the edge relays a V2 webhook under the
// paymentId PortOne names, the cycle's; the schedule-mode workflow takes it for its pending
// schedule and settles at once instead of a settle delay later.
func TestV2WebhookOnTheCyclesPaymentIDSettlesAtOnce(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV2(t, env, portonetest.V2Options{}, "cust-1")
	due := kst(2025, time.May, 1, 10, 0)
	env.RegisterDelayedCallback(func() { emu.RunDue() }, due.Sub(start))
	env.RegisterDelayedCallback(func() { notify(env, cyclePIDForTest(2, 1), "paid") }, due.Sub(start)+time.Second)
	endAt(env, start, kst(2025, time.May, 5, 0, 0))
	in := scheduleMode()
	in.Gateway = billing.GatewayPortOneV2
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule paid", "c3a1 schedule revoked"}, vias(st))
	var settled []string
	for _, e := range st.Events {
		if e.Kind == "status" {
			settled = append(settled, e.At.In(calendar.Seoul).Format("01-02 15:04:05"))
		}
	}
	require.Contains(t, settled, "05-01 10:00:01", "settled at the webhook, not a minute later")
}

// TestV1RunsNeverAskAboutCyclePayments: a V1 subscription that charges, declines, retries and
// schedules never asks versionCyclePayment, so its histories gain no marker and replay as
// recorded.
func TestV1RunsNeverAskAboutCyclePayments(t *testing.T) {
	for _, in := range []billing.SubscriptionInput{monthly(), scheduleMode()} {
		t.Run(string(in.Plan.ChargeMode), func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			env := newEnv(t, start)
			env.OnGetVersion("v2-cycle-payment", workflow.DefaultVersion, 1).Never()
			b := newBank(t, env, "cust-1")
			b.decide = declineCycle(2, 1, "잔액부족")
			endAt(env, start, kst(2025, time.June, 10, 0, 0))
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.GreaterOrEqual(t, len(st.Charges), 4)
			for _, c := range st.Charges {
				require.Empty(t, c.PaymentID, "V1 records no paymentId: %+v", c)
			}
		})
	}
}

// TestV2EventsNameTheCyclesPaymentID: a merchant's backend on PortOne V2 looks a payment up by
// its paymentId, which a cycle's attempts share and which is not their merchant_uid. The
// charge.succeeded, charge.declined and charge.refunded events of a V2 subscription carry it
// (payment_id), beside the attempt's merchant_uid and its transactionId (imp_uid) when known:
// a charge answered by the approval alone learns it after its event.
func TestV2EventsNameTheCyclesPaymentID(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}})
	srv := httptest.NewServer(emu.V2Handler())
	t.Cleanup(func() { srv.Close(); emu.Close() })
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second})
	require.NoError(t, err)
	_, err = emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-cust-1", IssueName: "Premium", NaverAccount: "naver-cust-1", BillingKey: "cust-1"})
	require.NoError(t, err)
	env.RegisterActivity(&activities.Activities{Gateway: v2Gateway{}, GatewayV2: gw, Now: env.Now,
		Config: activities.Config{ScheduleSettleDelay: time.Minute, Events: true, RenewalNotice: 72 * time.Hour}})
	sink := &outboxSink{}
	env.RegisterActivityWithOptions(sink.publish, activity.RegisterOptions{Name: webhooks.PublishActivityName})
	pid := cyclePIDForTest(1, 1)
	emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull})
	}, kst(2025, time.April, 3, 12, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)

	var charges, refunds int
	for _, e := range sink.got {
		var d billing.EventData
		require.NoError(t, json.Unmarshal(e.Data, &d))
		switch {
		case d.Charge != nil:
			charges++
			require.Equal(t, pid, d.Charge.PaymentID, "%s", e.Type)
			require.NotEqual(t, pid, d.Charge.MerchantUID, "the attempt's own merchant_uid")
			if e.Type == billing.EventChargeSucceeded {
				// Answered by the approval alone (versionAnswerOnlyCharge): PortOne's answer names
				// no transactionId, which the workflow learns from the webhook after the event.
				require.Empty(t, d.Charge.ImpUID)
			} else {
				require.NotEmpty(t, d.Charge.ImpUID, "the declined attempt's transactionId")
			}
		case d.Refund != nil:
			refunds++
			require.Equal(t, pid, d.Refund.PaymentID)
		}
	}
	require.Equal(t, 2, charges, "declined, then paid by the retry: %v", sink.types())
	require.Equal(t, 1, refunds)
}
