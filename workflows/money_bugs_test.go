package workflows_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// The tests in this file reproduce the billing bugs of issue 8, one each; every one failed on the
// code before its fix. Times are KST.

// monthly31k is the plan: 31,000 KRW a month, first charge now.
func monthly31k() billing.SubscriptionInput {
	in := monthly()
	in.Plan.Amount = 31000
	in.Plan.NaverUseCfm = billing.NaverUseCfmPeriodEnd
	return in
}

// after returns the delay from start to t, for RegisterDelayedCallback.
func after(start, t time.Time) time.Duration { return t.Sub(start) }

func TestPauseNowThenResumeKeepBeforeTheFirstChargeTimeChargesOnce(t *testing.T) {
	start := kst(2025, time.March, 1, 0, 30)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var paused, resumed updateResult
	var afterResume billing.State
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"}, &paused)
	}, after(start, kst(2025, time.March, 1, 1, 0)))
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeKeepAnchor, Reason: "돌아옴"}, &resumed)
	}, after(start, kst(2025, time.March, 1, 2, 0)))
	env.RegisterDelayedCallback(func() { afterResume = query(t, env) }, after(start, kst(2025, time.March, 1, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, after(start, kst(2025, time.April, 2, 0, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
	st := result(t, env)

	require.NoError(t, paused.err)
	require.NoError(t, resumed.err)
	require.Equal(t, []string{"2025-03-01 00:30", "2025-04-01 10:00"}, b.paidDates(), "March is paid once, at sign-up")
	require.Equal(t, kst(2025, time.April, 1, 10, 0).UTC(), afterResume.NextChargeAt.UTC())
	require.Equal(t, 1, afterResume.Cycle)
	require.Equal(t, start.UTC(), afterResume.CurrentPeriod.Start.UTC(), "the first period starts at the real charge")
	b.checkInvariants(st)
}

func TestProrataRefundOnTheSignUpDayCountsTheDayAsUsed(t *testing.T) {
	start := kst(2025, time.March, 1, 0, 30)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var canceled updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "중도 해지",
			Requester: billing.RequesterCustomer}, &canceled)
	}, after(start, kst(2025, time.March, 1, 5, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
	st := result(t, env)

	require.NoError(t, canceled.err)
	require.Len(t, b.refunds, 1)
	require.Equal(t, int64(30000), b.refunds[0].Amount, "floor(31,000 × 30/31): the cancel day counts as used")
	b.checkInvariants(st)
}

func TestScheduledResumeOnTheBillingInstantCharges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resumeAt time.Time
	}{
		{"exactly at the anchor instant", kst(2025, time.March, 10, 10, 0)},
		{"one second earlier", kst(2025, time.March, 10, 10, 0).Add(-time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := kst(2025, time.February, 10, 10, 0)
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgPause, billing.PauseRequest{When: billing.AtPeriodEnd, ResumeAt: tc.resumeAt, Reason: "휴가"})
			}, after(start, kst(2025, time.February, 20, 0, 0)))
			var resumed billing.State
			env.RegisterDelayedCallback(func() { resumed = query(t, env) }, after(start, kst(2025, time.March, 11, 0, 0)))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, after(start, kst(2025, time.March, 20, 0, 0)))
			env.ExecuteWorkflow(billing.WorkflowType, monthly())
			st := result(t, env)

			require.Equal(t, billing.StatusActive, resumed.Status)
			require.Equal(t, []string{"2025-02-10 10:00", "2025-03-10 10:00"}, b.paidDates(), "March 10 is billed")
			require.Equal(t, kst(2025, time.April, 10, 10, 0).UTC(), resumed.NextChargeAt.UTC())
			b.checkInvariants(st)
		})
	}
}

func TestShortGraceWithLaterRetriesNeitherSpinsNorStops(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	var in billing.SubscriptionInput
	require.NoError(t, jsonUnmarshal(`{"subscription_id":"sub-1","customer_uid":"cust-1",
		"plan":{"name":"Premium","amount":9900,"interval":{"unit":"month","count":1}},"dunning":{"grace":"2d"}}`, &in))
	var afterGrace billing.State
	env.RegisterDelayedCallback(func() { afterGrace = query(t, env) }, after(start, kst(2025, time.April, 12, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, billing.StatusPastDue, afterGrace.Status)
	require.False(t, afterGrace.Entitled, "access ends with the 2-day grace")
	require.Equal(t, kst(2025, time.April, 13, 10, 0).UTC(), afterGrace.DunningState.NextRetryAt.UTC(), "retries go on after grace")
	require.Equal(t, billing.StatusCanceled, st.Status, "the final action runs after the last retry")
	require.Equal(t, kst(2025, time.April, 17, 10, 0).UTC(), st.EndedAt.UTC())
	require.Equal(t, []string{
		"03-10 10:00 c1a1 paid",
		"04-10 10:00 c2a1 declined",
		"04-11 10:00 c2a2 declined",
		"04-13 10:00 c2a3 declined",
		"04-15 10:00 c2a4 declined",
		"04-17 10:00 c2a5 declined",
	}, kstTimes(b))
	b.checkInvariants(st)
}

func TestUpdatesArrivingWhileTheSubscriptionEndsAreAnswered(t *testing.T) {
	type send func(env *testWorkflowEnv, out *updateResult)
	pause := func(env *testWorkflowEnv, out *updateResult) {
		update(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"}, out)
	}
	replace := func(env *testWorkflowEnv, out *updateResult) {
		update(env, billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{CustomerUID: "cust-2"}, out)
	}
	chargeNow := func(env *testWorkflowEnv, out *updateResult) {
		update(env, billing.MsgChargeNow, billing.ChargeNowRequest{}, out)
	}
	resume := func(env *testWorkflowEnv, out *updateResult) {
		update(env, billing.MsgResume, billing.ResumeRequest{}, out)
	}
	for _, tc := range []struct {
		name string
		// during: "refund" (cancel now with a refund in flight) or "delete" (dunning's final
		// cancel deleting the billing key).
		during string
		msg    send
	}{
		{"pause during cancel-now's refund", "refund", pause},
		{"replace_billing_key during cancel-now's refund", "refund", replace},
		{"charge_now during cancel-now's refund", "refund", chargeNow},
		{"resume during cancel-now's refund", "refund", resume},
		{"pause during the final cancel's key deletion", "delete", pause},
		{"replace_billing_key during the final cancel's key deletion", "delete", replace},
		{"charge_now during the final cancel's key deletion", "delete", chargeNow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := kst(2025, time.March, 10, 10, 0)
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1", "cust-2")
			in := monthly()
			in.Plan.DeleteBillingKeyOnEnd = true
			var out updateResult
			sent := false
			switch tc.during {
			case "refund":
				b.refundHook = func(activities.RefundInput) {
					if !sent {
						sent = true
						tc.msg(env, &out)
					}
				}
				env.RegisterDelayedCallback(func() {
					signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "해지"})
				}, after(start, kst(2025, time.March, 12, 0, 0)))
			case "delete":
				b.decide = declineCycle(2, 99, "잔액부족")
				b.deleteHook = func(activities.DeleteBillingKeyInput) {
					if !sent {
						sent = true
						tc.msg(env, &out)
					}
				}
			}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			require.True(t, sent)
			require.True(t, out.done, "the update was answered")
			require.Error(t, firstErr(out.rejected, out.err), "a command that arrives while the subscription ends is refused")
			require.Equal(t, billing.StatusCanceled, st.Status)
			b.checkInvariants(st)
		})
	}
}

// testFirstRunID is the first run ID the test environment gives every workflow (it sets none).
const testFirstRunID = ""

type testWorkflowEnv = testsuite.TestWorkflowEnvironment

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestNewKeyAfterAHardDeclineRetriesOnceThenFollowsTheSchedule(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1", "cust-2")
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		switch {
		case in.Cycle != 2:
			return billing.OutcomePaid, ""
		case in.CustomerUID == "cust-1":
			return billing.OutcomeDeclined, "카드 분실" // hard
		default:
			return billing.OutcomeDeclined, "한도초과" // soft
		}
	}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{CustomerUID: "cust-2"})
	}, after(start, kst(2025, time.February, 14, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, after(start, kst(2025, time.February, 20, 0, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.Equal(t, []string{
		"01-10 10:00 c1a1 paid",
		"02-10 10:00 c2a1 declined_hard",
		"02-14 12:00 c2a2 declined",
		"02-15 10:00 c2a3 declined",
		"02-17 10:00 c2a4 declined",
	}, kstTimes(b), "the missed Feb 11 and 13 retries are not made late, back to back")
	b.checkInvariants(st)
}

func TestExplicitZeroGraceAndNoRetries(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	var in billing.SubscriptionInput
	require.NoError(t, jsonUnmarshal(`{"subscription_id":"sub-1","customer_uid":"cust-1",
		"plan":{"name":"Premium","amount":9900,"interval":{"unit":"month","count":1}},
		"dunning":{"grace":"0s","retry_after":[]}}`, &in))
	var pastDue billing.State
	env.RegisterDelayedCallback(func() { pastDue = query(t, env) }, after(start, kst(2025, time.April, 10, 10, 1)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.False(t, pastDue.Entitled, "no grace: no unpaid access")
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.April, 10, 10, 0).UTC(), st.EndedAt.UTC(), "no retries: the final action runs at once")
	require.Equal(t, []string{"03-10 10:00 c1a1 paid", "04-10 10:00 c2a1 declined"}, kstTimes(b))
	b.checkInvariants(st)
}

func TestTaxFreeIsProratedWithTheAmount(t *testing.T) {
	start := kst(2025, time.March, 14, 10, 0) // 18 days to the anchor on the 1st of April
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly31k()
	in.Plan.TaxFree = 15500
	in.Plan.AnchorDay = 1
	var canceled updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "중도 해지"}, &canceled)
	}, after(start, kst(2025, time.April, 11, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.NoError(t, canceled.err)
	paid := b.paid()
	require.Len(t, paid, 2)
	require.Equal(t, int64(18000), paid[0].in.Amount, "floor(31,000 × 18/31)")
	require.Equal(t, int64(9000), paid[0].in.TaxFree, "tax_free in the same proportion: floor(15,500 × 18,000/31,000)")
	require.Equal(t, int64(15500), paid[1].in.TaxFree, "a full cycle carries the plan's tax_free")
	require.Len(t, b.refunds, 1)
	// April 11 of 30 days used: floor(31,000 × 19/30) = 19,633 refunded, with tax_free in the
	// payment's proportion: floor(15,500 × 19,633/31,000) = 9,816.
	require.Equal(t, int64(19633), b.refunds[0].Amount)
	require.Equal(t, int64(9816), b.refunds[0].TaxFree)
	require.Equal(t, int64(15500), b.refunds[0].PaymentTaxFree)
	b.checkInvariants(st)
}

func TestContinuedStateIsTrustedOnlyOnARealContinueAsNew(t *testing.T) {
	victim := func() *billing.State {
		rec, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, calendar.Date{Year: 2025, Month: 3, Day: 10}, 10, calendar.DefaultChargeTime)
		require.NoError(t, err)
		return &billing.State{SubscriptionID: "victim", CustomerUID: "cust-1", Status: billing.StatusActive, Tag: "k3xq",
			Plan:       billing.Plan{Name: "x", Amount: 500000000, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
			Recurrence: &rec, Cycle: 40, NextIndex: 40, Runs: 4}
	}
	for _, tc := range []struct {
		name string
		// continued makes the run a real continue-as-new (as the server marks it).
		continued bool
		in        func() billing.SubscriptionInput
	}{
		{"on a real continue-as-new, another subscription's state", true, func() billing.SubscriptionInput {
			return billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "cust-1", Continued: victim()}
		}},
		{"on a real continue-as-new, this ID but another incarnation's tag", true, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID = "sub-1"
			return billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "cust-1", Continued: s}
		}},
		{"on a real continue-as-new, an impossible state (no recurrence)", true, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID, s.Recurrence, s.Tag = "sub-1", nil, billing.IncarnationTag(testFirstRunID)
			return billing.SubscriptionInput{SubscriptionID: "sub-1", Continued: s}
		}},
		{"on a real continue-as-new, an impossible state (interval count 0)", true, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID, s.Tag = "sub-1", billing.IncarnationTag(testFirstRunID)
			s.Plan.Interval.Count, s.Plan.Amount = 0, 10
			return billing.SubscriptionInput{SubscriptionID: "sub-1", Continued: s}
		}},
		{"on a start, another subscription's state", false, func() billing.SubscriptionInput {
			return billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "cust-1", Continued: victim()}
		}},
		{"this subscription's ID but a made-up state", false, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID = "sub-1"
			return billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "cust-1", Continued: s}
		}},
		{"no recurrence", false, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID, s.Recurrence = "sub-1", nil
			return billing.SubscriptionInput{SubscriptionID: "sub-1", Continued: s}
		}},
		{"interval count 0", false, func() billing.SubscriptionInput {
			s := victim()
			s.SubscriptionID = "sub-1"
			s.Plan.Interval.Count, s.Plan.Amount = 0, 10
			return billing.SubscriptionInput{SubscriptionID: "sub-1", Continued: s}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, kst(2025, time.March, 10, 10, 0))
			b := newBank(t, env, "cust-1")
			if tc.continued {
				env.SetContinuedExecutionRunID("previous-run")
			}
			env.ExecuteWorkflow(billing.WorkflowType, tc.in())
			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.Equal(t, billing.ErrorTypeInvalidInput, appErr.Type())
			require.Contains(t, appErr.Error(), "continued")
			require.Empty(t, b.paid(), "nothing is charged")
		})
	}
}

// Found by the sweep: a retry made after its period's last day (here a one-day stub at resume,
// retried the next morning before the charge time) sent that last day as naverUseCfm, which
// NaverPay refuses ("이용완료일은 결제일 당일 또는 이후"), so the retry could never succeed.
func TestNaverUseCfmIsNeverBeforeThePaymentDay(t *testing.T) {
	start := kst(2025, time.June, 12, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 1, "잔액부족")
	var in billing.SubscriptionInput
	require.NoError(t, jsonUnmarshal(`{"subscription_id":"sub-1","customer_uid":"cust-1",
		"plan":{"name":"Premium","amount":30000,"interval":{"unit":"month","count":1},"naver_use_cfm":"period_end"},
		"dunning":{"retry_after":["12h","2d"]}}`, &in))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, ResumeAt: kst(2025, time.September, 11, 21, 0), Reason: "휴가"})
	}, after(start, kst(2025, time.June, 14, 0, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, after(start, kst(2025, time.September, 20, 0, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	b.mu.Lock()
	defer b.mu.Unlock()
	var got []string
	for _, at := range b.ledger {
		got = append(got, at.at.In(calendar.Seoul).Format("01-02 15:04")+" "+at.in.NaverUseCfm+" "+string(at.outcome))
	}
	require.Equal(t, []string{
		"06-12 10:00 20250711 paid",
		"09-11 21:00 20250911 declined", // the rest of Sep 11 (one day), charged at the resume
		"09-12 09:00 20250912 paid",     // retried the next morning: the payment day, not Sep 11
		"09-12 10:00 20251011 paid",
	}, got)
	_ = st
}
