package workflows_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// asyncCancelBank makes the emulator's V2 API the bank, finishing due asynchronous cancels
// before every request (at the environment's clock, as PortOne would have by then: its own
// finishing runs on a real-time tick the skipped clock outruns). The Refund activity does not
// wait inside an attempt (CancelSettleWait -1): nothing finishes in real time here, so a
// REQUESTED cancel comes back pending after the activity's retry.
func asyncCancelBank(t *testing.T, env *testsuite.TestWorkflowEnvironment) *portonetest.Emulator {
	t.Helper()
	return asyncCancelBankVia(t, env, -1, nil)
}

// asyncCancelBankVia is asyncCancelBank with the Refund activity's CancelSettleWait and, when
// not nil, before(emu, r) called ahead of each request PortOne serves.
func asyncCancelBankVia(t *testing.T, env *testsuite.TestWorkflowEnvironment, settleWait time.Duration,
	before func(emu *portonetest.Emulator, r *http.Request)) *portonetest.Emulator {
	t.Helper()
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}})
	h := emu.V2Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emu.RunDue()
		if before != nil {
			before(emu, r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); emu.Close() })
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second})
	require.NoError(t, err)
	_, err = emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-cust-1", IssueName: "Premium", NaverAccount: "naver-cust-1", BillingKey: "cust-1"})
	require.NoError(t, err)
	env.RegisterActivity(&activities.Activities{Gateway: v2Gateway{}, GatewayV2: gw,
		Config: activities.Config{ScheduleSettleDelay: time.Minute, CancelSettleWait: settleWait}, Now: env.Now})
	relayV2Webhooks(env, emu)
	return emu
}

// cancelledAt is what PortOne gave back of a paymentId's payments.
func cancelledAt(emu *portonetest.Emulator, paymentID string) int64 {
	var n int64
	for _, le := range v2Charges(emu)[paymentID] {
		n += le.CancelAmount
	}
	return n
}

// TestV2RequestedRefundIsFollowedUntilPortOneSettlesIt: a cancel now with a full refund on V2
// whose cancel PortOne answers REQUESTED (an asynchronous cancel) is recorded as requested, not
// made: the receipt says "requested, not yet confirmed", the subscription is canceled at once but
// its run does not complete; the workflow looks the payment up every 6 hours. SUCCEEDED makes
// the record a refund made; FAILED makes the refund again (PortOne gives back exactly the
// amount, once) or, refused again, records it failed and parks the subscription for a person;
// still REQUESTED after 12 looks (three days), the run parks it and completes. Before the
// change the refund was counted made as soon as the activity's wait was over: the FAILED rows
// ended with the state saying 9,900 KRW refunded and PortOne having given back nothing.
func TestV2RequestedRefundIsFollowedUntilPortOneSettlesIt(t *testing.T) {
	const paid = 9900
	for _, tc := range []struct {
		name  string
		delay time.Duration // PortOne finishes the cancel after it
		fail  bool          // the asynchronous cancel ends FAILED
		// then, 3 hours after the cancel, cancels turn synchronous (and refused once, when
		// refuseAgain).
		thenSync, refuseAgain bool
		wantOutcome           string
		wantGiven             int64
		wantFinding           string
		wantEvent             string
		wantLooks             int
	}{
		{name: "succeeds after the activity's wait", delay: 2 * time.Hour, wantOutcome: billing.RefundMade, wantGiven: paid, wantEvent: "refund_confirmed", wantLooks: 1},
		{name: "fails later, made again once", delay: 2 * time.Hour, fail: true, thenSync: true, wantOutcome: billing.RefundMade, wantGiven: paid, wantEvent: "refund_made_again", wantLooks: 1},
		{name: "fails later, refused again: parked", delay: 2 * time.Hour, fail: true, thenSync: true, refuseAgain: true, wantOutcome: billing.RefundFailed, wantFinding: "refund_failed", wantLooks: 1},
		{name: "stays requested past the bound: parked", delay: 30 * 24 * time.Hour, wantOutcome: billing.RefundRequested, wantFinding: "refund_requested", wantLooks: 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			cancelAt := start.Add(3 * time.Hour)
			env := newEnv(t, start)
			emu := asyncCancelBank(t, env)
			pid := cyclePIDForTest(1, 1)
			emu.SetV2AsyncCancel(true, tc.delay)
			emu.SetV2AsyncCancelFail(tc.fail)
			var res updateResult
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull, Requester: billing.RequesterCustomer}, &res)
			}, cancelAt.Sub(start))
			var mid billing.State
			env.RegisterDelayedCallback(func() { mid = query(t, env) }, cancelAt.Add(time.Hour).Sub(start))
			if tc.thenSync {
				env.RegisterDelayedCallback(func() {
					emu.SetV2AsyncCancel(false, 0)
					emu.SetV2AsyncCancelFail(false)
					if tc.refuseAgain {
						emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Cancel, Action: portonetest.FaultDecline, Reason: "환불 불가", Times: 1})
					}
				}, cancelAt.Add(3*time.Hour).Sub(start))
			}
			env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
			st := result(t, env)

			require.True(t, res.done)
			require.NoError(t, firstErr(res.rejected, res.err))
			require.Contains(t, res.receipt.Message, "refund requested, not yet confirmed")
			require.NotNil(t, res.receipt.Refund)
			require.Equal(t, billing.RefundRequested, res.receipt.Refund.Outcome)
			require.EqualValues(t, paid, res.receipt.Refund.Amount)

			require.Equal(t, billing.StatusCanceled, mid.Status, "canceled at once")
			require.Len(t, mid.Refunds, 1)
			require.Equal(t, billing.RefundRequested, mid.Refunds[0].Outcome, "an hour later: requested, not yet confirmed")
			require.NotEmpty(t, mid.Refunds[0].CancellationID, "followed by its own cancellation")
			require.False(t, mid.Entitled)

			require.Equal(t, billing.StatusCanceled, st.Status)
			require.Len(t, st.Refunds, 1, "one record, settled in place: %+v", st.Refunds)
			f := st.Refunds[0]
			require.Equal(t, tc.wantOutcome, f.Outcome)
			require.Equal(t, tc.wantLooks, f.Looks)
			require.True(t, f.CheckAt.IsZero(), "not followed any more")
			require.EqualValues(t, paid, f.Amount)
			require.Equal(t, tc.wantGiven, cancelledAt(emu, pid), "what PortOne gave back")
			require.False(t, env.Now().Before(cancelAt.Add(time.Duration(tc.wantLooks)*6*time.Hour)),
				"the run completed after its last look, at %s", env.Now())
			if tc.wantEvent != "" {
				require.Contains(t, eventKinds(st), tc.wantEvent)
			}
			if tc.wantFinding == "" {
				require.Nil(t, st.Attention)
				return
			}
			require.NotNil(t, st.Attention, "parked for a person")
			require.Equal(t, billing.AttentionReconciliation, st.Attention.Kind)
			require.Equal(t, tc.wantFinding, st.Attention.Finding)
			require.Contains(t, st.Attention.Detail, "9,900")
		})
	}
}

// TestV2SynchronousRefundNeverAsksAboutRequestedRefunds: a V2 cancel PortOne finishes at once
// is a refund made, as before, and the run never asks versionRequestedRefund, so histories
// without an asynchronous cancel gain no marker.
func TestV2SynchronousRefundNeverAsksAboutRequestedRefunds(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	env.OnGetVersion("v2-requested-refund", workflow.DefaultVersion, 1).Never()
	emu := asyncCancelBank(t, env)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull})
	}, 3*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)
	require.Len(t, st.Refunds, 1)
	require.Equal(t, billing.RefundMade, st.Refunds[0].Outcome)
	require.EqualValues(t, 9900, cancelledAt(emu, cyclePIDForTest(1, 1)))
	require.False(t, slices.Contains(eventKinds(st), "refund_requested"))
}

// TestV2RequestedRefundHandedOverOnCancellationRequest: a Temporal cancellation request (the Web
// UI's Request Cancellation) while an ended subscription waits for a refund PortOne has not
// finished ends the wait: the run completes at once and parks the subscription for a person
// (refund_requested), the refund left requested, so that nobody believes it made.
func TestV2RequestedRefundHandedOverOnCancellationRequest(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	cancelAt := start.Add(3 * time.Hour)
	env := newEnv(t, start)
	emu := asyncCancelBank(t, env)
	emu.SetV2AsyncCancel(true, 30*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull})
	}, cancelAt.Sub(start))
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, cancelAt.Add(10*time.Hour).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, v2Monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Len(t, st.Refunds, 1)
	require.Equal(t, billing.RefundRequested, st.Refunds[0].Outcome)
	require.True(t, st.Refunds[0].CheckAt.IsZero(), "not followed any more")
	require.Equal(t, 1, st.Refunds[0].Looks, "one look at +6 h before the request at +10 h")
	require.NotNil(t, st.Attention)
	require.Equal(t, "refund_requested", st.Attention.Finding)
	require.Contains(t, st.Attention.Detail, "Temporal cancellation request")
	require.True(t, env.Now().Before(cancelAt.Add(11*time.Hour)), "completed at the request, at %s", env.Now())
	require.Zero(t, cancelledAt(emu, cyclePIDForTest(1, 1)), "PortOne has given nothing back yet")
}

// TestV2TwoRequestedRefundsOfOnePaymentSettleApart: a decrease now puts a period paid by
// credit and a pending credit on the first payment; a cancel now with a full refund then asks
// two refunds of different amounts of that one payment (the period's worth and the pending
// credit), both held REQUESTED. The first asked ends FAILED two hours later, the second
// SUCCEEDED after one. Each is followed by its own cancellation: the second is confirmed, the
// first made again against what PortOne still holds (the second counted), and PortOne gives
// back exactly 29,000 KRW once, with no one asked to step in. Read from the payment's totals,
// the first was taken for the second's success (confirmed while nothing of it came back) or,
// read as FAILED, made again with an expected remainder that left the second out, which PortOne
// refused and the subscription was parked for a person.
func TestV2TwoRequestedRefundsOfOnePaymentSettleApart(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	var cancels int
	// One look inside the attempt (no real-time wait): the cancel's answer names its
	// cancellation, and the refund comes back pending with its ID.
	emu := asyncCancelBankVia(t, env, time.Millisecond, func(emu *portonetest.Emulator, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/cancel") {
			return
		}
		cancels++
		switch cancels {
		case 1: // the first refund: REQUESTED, FAILED two hours later
			emu.SetV2AsyncCancel(true, 2*time.Hour)
			emu.SetV2AsyncCancelFail(true)
		case 2: // the second: REQUESTED, SUCCEEDED an hour later
			emu.SetV2AsyncCancel(true, time.Hour)
			emu.SetV2AsyncCancelFail(false)
		default: // made again: at once
			emu.SetV2AsyncCancel(false, 0)
			emu.SetV2AsyncCancelFail(false)
		}
	})

	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 20000, When: billing.Now})
	}, after(start, kst(2025, time.January, 11, 12, 0)))
	var res updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull, Requester: billing.RequesterCustomer}, &res)
	}, after(start, kst(2025, time.January, 12, 12, 0)))
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, after(start, kst(2025, time.January, 12, 13, 0)))
	in := monthly31()
	in.Gateway = billing.GatewayPortOneV2
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.True(t, res.done)
	require.NoError(t, firstErr(res.rejected, res.err))
	require.Len(t, mid.Refunds, 2, "two refunds asked: %+v", mid.Refunds)
	first, second := mid.Refunds[0], mid.Refunds[1]
	require.Equal(t, first.ImpUID, second.ImpUID, "both of the first payment")
	require.NotEqual(t, first.Amount, second.Amount)
	require.EqualValues(t, 29000, first.Amount+second.Amount, "29 of its 31 days")
	for _, f := range mid.Refunds {
		require.Equal(t, billing.RefundRequested, f.Outcome)
		require.NotEmpty(t, f.CancellationID)
	}
	require.NotEqual(t, first.CancellationID, second.CancellationID)

	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Nil(t, st.Attention, "nobody is asked to step in")
	require.Len(t, st.Refunds, 2, "%+v", st.Refunds)
	for _, f := range st.Refunds {
		require.Equal(t, billing.RefundMade, f.Outcome, "%+v", f)
	}
	require.EqualValues(t, first.Amount, st.Refunds[0].Amount)
	require.EqualValues(t, second.Amount, st.Refunds[1].Amount)
	kinds := eventKinds(st)
	require.Contains(t, kinds, "refund_confirmed", "the second")
	require.Contains(t, kinds, "refund_made_again", "the first")
	require.EqualValues(t, 29000, cancelledAt(emu, cyclePIDForTest(1, 1)), "what PortOne gave back, once")
	require.Equal(t, 3, cancels, "the two refunds and the first's remake")
}
