package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

func scheduleMode() billing.SubscriptionInput {
	in := monthly()
	in.Plan.ChargeMode = billing.ChargeModeSchedule
	return in
}

func vias(st billing.State) []string {
	var out []string
	for _, c := range st.Charges {
		out = append(out, "c"+itoa(c.Cycle)+"a"+itoa(c.Attempt)+" "+string(c.Via)+" "+string(c.Outcome))
	}
	return out
}

// notify relays a webhook for a merchant_uid, as the HTTP edge does after verifying it.
func notify(env interface {
	SignalWorkflow(string, any)
}, uid, status string) {
	env.SignalWorkflow(billing.SignalPaymentNotification, billing.PaymentNotification{MerchantUID: uid, Status: status, ImpUID: "imp_x"})
}

func TestScheduleModeThreeCycles(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var mid billing.State
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, 24*time.Hour)
	// The webhook of cycle 2 arrives right after PortOne ran it; cycle 3's is lost.
	env.RegisterDelayedCallback(func() { notify(env, "sub-1-"+tagForTest()+"-2-1", "paid") }, kst(2025, time.May, 1, 10, 0).Sub(start)+time.Second)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.June, 15, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)

	require.NotNil(t, mid.Scheduled, "cycle 2 is registered with PortOne ahead of time")
	require.Equal(t, kst(2025, time.May, 1, 10, 0).UTC(), mid.Scheduled.ScheduleAt.UTC())
	require.Equal(t, []string{"2025-04-01 10:00", "2025-05-01 10:00", "2025-06-01 10:00"}, b.paidDates())
	require.Equal(t, []string{
		"c1a1 again paid", // the first charge is taken at once
		"c2a1 schedule paid",
		"c3a1 schedule paid",
		"c4a1 schedule revoked", // the cancel revoked cycle 4's schedule before it ran
	}, vias(st))
	b.checkInvariants(st)
	// Cycle 2 was settled at the webhook; cycle 3 by the fallback lookup one settle delay later.
	var settled []string
	for _, e := range st.Events {
		if e.Kind == "status" {
			settled = append(settled, e.At.In(calendar.Seoul).Format("01-02 15:04:05"))
		}
	}
	require.Contains(t, settled, "05-01 10:00:01")
	require.Contains(t, settled, "06-01 10:01:00")
}

func TestScheduleModeLateWebhookChangesNothing(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	uid := "sub-1-" + tagForTest() + "-2-1"
	var before billing.State
	env.RegisterDelayedCallback(func() { before = query(t, env) }, kst(2025, time.May, 2, 0, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		notify(env, uid, "paid")
		notify(env, uid, "failed") // forged or out of order: the lookup already settled it
		notify(env, "sub-1-zzzz-2-1", "paid")
	}, kst(2025, time.May, 3, 0, 0).Sub(start))
	var after billing.State
	env.RegisterDelayedCallback(func() {
		after = query(t, env)
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 4, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)
	require.Equal(t, before.Charges, after.Charges)
	require.Equal(t, before.Status, after.Status)
	require.Equal(t, billing.StatusActive, after.Status)
	require.Len(t, b.paid(), 2)
	var ignored int
	for _, e := range after.Events {
		if e.Kind == "notification_ignored" {
			ignored++
		}
	}
	require.Equal(t, 1, ignored, "a notification for another incarnation's merchant_uid is ignored")
	b.checkInvariants(st)
}

func TestScheduleModeCancelBeforeExecutionRevokes(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{Reason: "해지", Requester: billing.RequesterCustomer}, &r)
	}, 10*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule revoked"}, vias(st))
	require.Len(t, b.paid(), 1, "nothing is charged after the cancel")
	require.Equal(t, "revoked", b.schedules["sub-1-"+tagForTest()+"-2-1"].status)
	b.checkInvariants(st)
}

func TestScheduleModePlanChangeReschedules(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 14900})
	}, 5*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 9900, 14900, calendar.Date{Year: 2025, Month: time.May, Day: 1}, env.Now()))
	}, 6*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 5, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)
	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule revoked", "c2a2 schedule paid", "c3a1 schedule revoked"}, vias(st))
	paid := b.paid()
	require.Equal(t, int64(14900), paid[1].in.Amount, "the new amount was scheduled")
	b.checkInvariants(st)
}

func TestScheduleModeDeclineRetriesThroughAgain(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 1, "잔액부족")
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)
	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule declined", "c2a2 again paid", "c3a1 schedule revoked"}, vias(st))
	require.Equal(t, []string{"2025-04-01 10:00", "2025-05-02 10:00"}, b.paidDates())
	b.checkInvariants(st)
}

func TestScheduleModeLateSchedulerIsRevokedThenChargedOnce(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	env.RegisterDelayedCallback(func() { b.schedulerStuck = true }, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 2, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, scheduleMode())
	st := result(t, env)
	// Five checks a minute apart found it pending; it was revoked, then charged through again.
	require.Equal(t, []string{"c1a1 again paid", "c2a1 schedule revoked", "c2a2 again paid"}, vias(st)[:3])
	require.Equal(t, []string{"2025-04-01 10:00", "2025-05-01 10:05"}, b.paidDates())
	b.checkInvariants(st)
}
