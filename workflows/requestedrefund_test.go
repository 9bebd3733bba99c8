package workflows_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
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
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}})
	h := emu.V2Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emu.RunDue()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); emu.Close() })
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second})
	require.NoError(t, err)
	_, err = emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-cust-1", IssueName: "Premium", NaverAccount: "naver-cust-1", BillingKey: "cust-1"})
	require.NoError(t, err)
	env.RegisterActivity(&activities.Activities{Gateway: v2Gateway{}, GatewayV2: gw,
		Config: activities.Config{ScheduleSettleDelay: time.Minute, CancelSettleWait: -1}, Now: env.Now})
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
