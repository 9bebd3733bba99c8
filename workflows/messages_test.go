package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

func TestCancelAtPeriodEndStopsTheNextCharge(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{Reason: "고객 해지 요청", Requester: billing.RequesterCustomer}, &r)
	}, 10*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Contains(t, r.receipt.Message, "end of the current period")
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.May, 1, 10, 0).UTC(), st.EndedAt.UTC(), "cancel takes effect when the paid period ends")
	require.Len(t, b.paid(), 1, "no charge after the cancel")
	require.Empty(t, b.refunds)
	b.checkInvariants(st)
}

func TestCancelNowWithProrataRefund(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata,
			Reason: "중도 해지", Requester: billing.RequesterCustomer}, &r)
	}, kst(2025, time.April, 10, 15, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	// April 1..30 is 30 days; April 1..10 used (the cancel day counts), 20 unused:
	// floor(9,900 × 20 / 30) = 6,600 KRW.
	require.NotNil(t, r.receipt.Refund)
	require.Equal(t, int64(6600), r.receipt.Refund.Amount)
	require.Len(t, b.refunds, 1)
	require.Equal(t, int64(6600), b.refunds[0].Amount)
	require.Equal(t, int64(9900), b.refunds[0].PaymentAmount)
	require.Equal(t, billing.RequesterCustomer, b.refunds[0].Requester)
	require.Equal(t, "중도 해지", b.refunds[0].Reason)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Len(t, st.Refunds, 1)
	b.checkInvariants(st)
}

func TestCancelNowFullRefundAndUndoCancel(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var undo, again, full updateResult
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{Reason: "해지", RequestID: "req-1"})
	}, 5*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgUndoCancel, billing.UndoCancelRequest{Reason: "마음이 바뀜"}, &undo)
	}, 6*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		// The same request ID again is harmless: it does not cancel a second time.
		update(env, billing.MsgCancel, billing.CancelRequest{Reason: "해지", RequestID: "req-1"}, &again)
	}, 7*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "오결제"}, &full)
	}, kst(2025, time.May, 3, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, undo.err)
	require.True(t, again.receipt.Duplicate)
	require.Len(t, b.paid(), 2, "the undo let May 1 be charged")
	require.Equal(t, int64(9900), full.receipt.Refund.Amount)
	require.Equal(t, b.paid()[1].impUID, b.refunds[0].ImpUID, "the current period's charge is refunded")
	b.checkInvariants(st)
}

func TestPauseAndResumeKeepAnchor(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var paused billing.State
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
	}, 3*24*time.Hour)
	env.RegisterDelayedCallback(func() { paused = query(t, env) }, 40*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgResume, billing.ResumeRequest{})
	}, kst(2025, time.June, 15, 12, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.July, 5, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusPaused, paused.Status)
	require.False(t, paused.Entitled)
	require.Equal(t, []string{"2025-04-01 10:00", "2025-06-15 12:00", "2025-07-01 10:00"}, b.paidDates(),
		"May skipped; the rest of June (15..30) billed at the resume; then on the anchor")
	require.Equal(t, int64(9900*16/30), b.paid()[1].in.Amount, "floor(9,900 × 16/30): the resume day counts")
	b.checkInvariants(st)
}

func TestPauseAtPeriodEndWithScheduledResume(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgPause, billing.PauseRequest{Reason: "휴면", ResumeAt: kst(2025, time.June, 20, 0, 0)}, &r)
	}, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.July, 5, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Equal(t, []string{"2025-04-01 10:00", "2025-06-20 00:00", "2025-07-01 10:00"}, b.paidDates())
	require.Equal(t, int64(9900*11/30), b.paid()[1].in.Amount, "June 20..30 of 30 days")
	b.checkInvariants(st)
}

func TestChangePlanAppliesFromNextCycle(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var r updateResult
	taxFree := int64(1000)
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgChangePlan, billing.ChangePlanRequest{Name: "Premium Plus", Amount: 12900, TaxFree: &taxFree}, &r)
	}, 5*24*time.Hour)
	// A rise needs the customer's consent (consent_test.go); here it is given.
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 9900, 12900, calendar.Date{Year: 2025, Month: time.May, Day: 1}, env.Now()))
	}, 6*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.June, 5, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Contains(t, r.receipt.Message, "cycle 2")
	paid := b.paid()
	require.Len(t, paid, 3)
	require.Equal(t, int64(9900), paid[0].in.Amount)
	require.Equal(t, int64(12900), paid[1].in.Amount)
	require.Equal(t, int64(1000), paid[1].in.TaxFree)
	require.Equal(t, "Premium Plus", paid[2].in.Name)
	require.Equal(t, "Premium Plus", st.Plan.Name)
	b.checkInvariants(st)
}

func TestRefusedMessages(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	tests := []struct {
		name    string
		msg     string
		payload any
		want    string
	}{
		{"charge now while active", billing.MsgChargeNow, billing.ChargeNowRequest{}, "nothing is due"},
		{"cancel without reason", billing.MsgCancel, billing.CancelRequest{}, "reason: is required"},
		{"cancel with bad when", billing.MsgCancel, map[string]any{"when": "tomorrow", "reason": "x"}, `when: must be "period_end" or "now"`},
		{"refund at period end", billing.MsgCancel, billing.CancelRequest{Reason: "x", Refund: billing.RefundFull}, "cancel with when=\"now\" to refund"},
		{"bad requester", billing.MsgCancel, billing.CancelRequest{Reason: "x", Requester: "bot"}, `requester: must be "customer" or "admin"`},
		{"undo without cancel", billing.MsgUndoCancel, billing.UndoCancelRequest{}, "no pending cancel"},
		{"resume when active", billing.MsgResume, billing.ResumeRequest{}, "not paused"},
		{"amount below minimum", billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 5}, "amount: must be at least 10 KRW"},
		{"empty change", billing.MsgChangePlan, billing.ChangePlanRequest{}, "nothing to change"},
		{"malformed payload", billing.MsgPause, "not an object", "malformed payload"},
		{"empty customer_uid", billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{}, "customer_uid: must not be empty"},
	}
	results := make([]updateResult, len(tests))
	for i, tt := range tests {
		env.RegisterDelayedCallback(func() { update(env, tt.msg, tt.payload, &results[i]) }, time.Hour)
	}
	env.RegisterDelayedCallback(func() {
		// The same refusals as signals are recorded in the audit trail and change nothing.
		signal(env, billing.MsgChargeNow, billing.ChargeNowRequest{})
		signal(env, billing.MsgCancel, "garbage")
	}, 2*time.Hour)
	var after billing.State
	env.RegisterDelayedCallback(func() {
		after = query(t, env)
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 3*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	for i, tt := range tests {
		require.True(t, results[i].done, tt.name)
		require.Error(t, results[i].rejected, tt.name)
		require.Contains(t, results[i].rejected.Error(), tt.want, tt.name)
	}
	require.Equal(t, billing.StatusActive, after.Status)
	var refused []string
	for _, e := range after.Events {
		if e.Kind == "refused" {
			refused = append(refused, e.Detail)
		}
	}
	require.Len(t, refused, 2)
	require.Contains(t, refused[0], "nothing is due")
	require.Contains(t, refused[1], "malformed payload")
	require.Len(t, b.paid(), 1)
	b.checkInvariants(st)
}

func TestCancelRacingAnInFlightCharge(t *testing.T) {
	for _, refund := range []billing.RefundPolicy{billing.RefundNone, billing.RefundFull} {
		t.Run(string(refund), func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			// While cycle 2's charge is in flight at PortOne, the customer cancels now, twice.
			b.chargeHook = func(in activities.ChargeInput) {
				if in.Cycle == 2 {
					req := billing.CancelRequest{When: billing.Now, Refund: refund, Reason: "해지", Requester: billing.RequesterCustomer}
					env.SignalWorkflow(billing.MsgCancel, req)
					env.SignalWorkflow(billing.MsgCancel, req)
				}
			}
			env.ExecuteWorkflow(billing.WorkflowType, monthly())
			st := result(t, env)
			require.Equal(t, billing.StatusCanceled, st.Status)
			require.Len(t, b.paid(), 2, "the charge due before the cancel completes once; nothing after")
			if refund == billing.RefundFull {
				require.Len(t, b.refunds, 1, "refunded once despite the duplicate cancel")
				require.Equal(t, b.paid()[1].impUID, b.refunds[0].ImpUID)
			} else {
				require.Empty(t, b.refunds)
			}
			b.checkInvariants(st)
		})
	}
}

func TestChargeNowRetriesAPastDueCycle(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 1, "한도초과")
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgChargeNow, billing.ChargeNowRequest{RequestID: "retry-1"}, &r)
	}, kst(2025, time.May, 1, 18, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Contains(t, r.receipt.Message, "paid")
	require.Equal(t, []string{"04-01 10:00 c1a1 paid", "05-01 10:00 c2a1 declined", "05-01 18:00 c2a2 paid"}, kstTimes(b))
	b.checkInvariants(st)
}

// TestPauseDuringAnInFlightChargeSticks: a pause that arrives while a charge is in flight takes
// effect once that charge has settled, and the settled charge does not turn the subscription
// back to active.
func TestPauseDuringAnInFlightChargeSticks(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.chargeHook = func(in activities.ChargeInput) {
		if in.Cycle == 2 {
			env.SignalWorkflow(billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
		}
	}
	var paused billing.State
	env.RegisterDelayedCallback(func() { paused = query(t, env) }, kst(2025, time.May, 10, 0, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.July, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusPaused, paused.Status, "the cycle-2 charge settled, then the pause took effect")
	require.Len(t, b.paid(), 2, "no charge while paused")
	b.checkInvariants(st)
}
