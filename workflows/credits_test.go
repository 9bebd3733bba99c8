package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// The credit model of bundle 3 (issue 20 items 2 and 3; the review of the merged credit logic):
// a period is worth its own payment plus the credit taken off it; an immediate change, a
// restart and a cancel all measure that worth by the one floor rule; a decrease now splits the
// period like an upgrade; a credit still pending when the subscription ends is refunded; a
// refund drawn through a credit follows the chain of payments the credit came from. Monthly
// 31,000 KRW from 2025-01-10 10:00 KST (31-day periods: 1,000 KRW a day).
func TestCreditModel(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	type msg struct {
		at      time.Time
		name    string
		payload any
	}
	pauseNow := billing.PauseRequest{When: billing.Now, Reason: "여행"}
	restart := billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"}
	cancelFull := billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "x"}
	decrease := billing.ChangePlanRequest{Amount: 15500, When: billing.Now}
	upgrade := func(before, after int64, d, hh int) billing.ChangePlanRequest {
		return billing.ChangePlanRequest{Amount: after, When: billing.Now,
			Consent: ptr(consentRequest(true, before, after, date(2025, time.January, d), kst(2025, time.January, d, hh-1, 0)))}
	}
	tests := []struct {
		name   string
		msgs   []msg
		in     func(*billing.SubscriptionInput)
		decide func(activities.ChargeInput) (billing.Outcome, string)
		// paid is every paid charge's amount, in order; refunded the sum of all refunds.
		paid     []int64
		refunded int64
		// creditRefunded: a credit_refunded event is on record; paidByCredit: a paid_by_credit
		// one (a cycle the credit paid wholly, never called "below NaverPay's minimum").
		creditRefunded, paidByCredit bool
		// endedBy is in the final status reason when set.
		endedBy string
	}{
		{
			// Restart Jan 15: 26,000 credit, 5,000 charged (worth 31,000 for Jan 15..Feb 14).
			// Upgrade on Jan 16: 29 of 31 days left; the period's worth gives back 29,000, the new
			// price's share is 58,000: 29,000 due. Cancel full on Jan 17: the upgrade's period is
			// worth 58,000 (29,000 paid, 29,000 drawn through the restart's period from Jan 10's
			// payment): all of it back.
			name: "restart then upgrade now, cancel full",
			msgs: []msg{
				{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 15, 12, 0), billing.MsgResume, restart},
				{kst(2025, time.January, 16, 12, 0), billing.MsgChangePlan, upgrade(31000, 62000, 16, 12)},
				{kst(2025, time.January, 17, 12, 0), billing.MsgCancel, cancelFull},
			},
			paid: []int64{31000, 5000, 29000}, refunded: 58000,
		},
		{
			// Decrease on Jan 11: Jan 12..Feb 9 (29 days) at 15,500 is a new period worth 14,500,
			// paid by credit from Jan 10's payment; 14,500 is pending. Restart on Jan 15: the
			// stub gives back 26 of its 29 days, 13,000: 27,500 pending. The new period
			// (Jan 15..Feb 14, 15,500) takes 15,500 of it, Feb 15's charge the other 12,000.
			name: "decrease now, pause, restart",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
				{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 15, 12, 0), billing.MsgResume, restart},
			},
			paid: []int64{31000, 3500, 15500, 15500}, paidByCredit: true,
		},
		{
			// As above, then an upgrade on Jan 16 of the period paid wholly by credit (worth
			// 15,500, 29 of 31 days left: 14,500 back, the new share 29,000: 14,500 due), and a
			// cancel full on Jan 17: 29,000 for the period and the 12,000 still pending.
			name: "decrease now, restart, upgrade a period paid by credit, cancel full",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
				{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 15, 12, 0), billing.MsgResume, restart},
				{kst(2025, time.January, 16, 12, 0), billing.MsgChangePlan, upgrade(15500, 31000, 16, 12)},
				{kst(2025, time.January, 17, 12, 0), billing.MsgCancel, cancelFull},
			},
			paid: []int64{31000, 14500}, refunded: 41000, creditRefunded: true, paidByCredit: true,
		},
		{
			// Upgrade on Jan 11 (935 charged, 29,000 credited), restart on Jan 13 (28,902 of the
			// 29,935 the period is worth come back, 3,098 charged), cancel full: 32,000.
			name: "upgrade now, pause, restart, cancel full",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, upgrade(31000, 32000, 11, 12)},
				{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 13, 12, 0), billing.MsgResume, restart},
				{kst(2025, time.January, 14, 12, 0), billing.MsgCancel, cancelFull},
			},
			paid: []int64{31000, 935, 3098}, refunded: 32000,
		},
		{
			// The 14,500 pending from the decrease is paid back when the subscription ends.
			name: "decrease now, cancel at period end",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
				{kst(2025, time.January, 12, 12, 0), billing.MsgCancel, billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "x"}},
			},
			paid: []int64{31000}, refunded: 14500, creditRefunded: true,
		},
		{
			// Cancel full inside the decrease's period: its worth (14,500) and the pending 14,500.
			name: "decrease now, cancel now full",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
				{kst(2025, time.January, 12, 12, 0), billing.MsgCancel, cancelFull},
			},
			paid: []int64{31000}, refunded: 29000, creditRefunded: true,
		},
		{
			// Feb 10's charge (15,500 less 14,500) is declined until dunning cancels: the credit
			// the unpaid cycle took is refunded.
			name: "decrease now, dunning ends",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
			},
			decide: declineAmount(1000),
			paid:   []int64{31000}, refunded: 14500, creditRefunded: true, endedBy: "미납으로 인한 해지",
		},
		{
			// Dunning pauses instead: the unpaid cycle's credit is owed again while paused, and
			// refunded when the test's cancel ends the subscription on May 5.
			name: "decrease now, dunning pauses",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
			},
			in: func(in *billing.SubscriptionInput) {
				in.Dunning = &billing.DunningPolicy{FinalAction: billing.FinalActionPause}
			},
			decide: declineAmount(1000),
			paid:   []int64{31000}, refunded: 14500, creditRefunded: true, endedBy: "test over",
		},
		{
			// A rise at period end never consented to ends the subscription on Feb 10 (no
			// consent): the credit pending from the decrease is refunded then.
			name: "decrease now, a rise without consent ends it",
			msgs: []msg{
				{kst(2025, time.January, 11, 12, 0), billing.MsgChangePlan, decrease},
				{kst(2025, time.January, 12, 12, 0), billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 40000, When: billing.AtPeriodEnd}},
			},
			paid: []int64{31000}, refunded: 14500, creditRefunded: true, endedBy: billing.ReasonNoConsent,
		},
		{
			// Restart Jan 15 (5,000 charged, 26,000 from Jan 10's payment), restart Jan 17 (2,000
			// charged, 29,000 through Jan 15's payment: 5,000 of it, 24,000 of Jan 10's), cancel
			// full: the whole 31,000.
			name: "restart twice, cancel full",
			msgs: []msg{
				{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 15, 12, 0), billing.MsgResume, restart},
				{kst(2025, time.January, 16, 12, 0), billing.MsgPause, pauseNow},
				{kst(2025, time.January, 17, 12, 0), billing.MsgResume, restart},
				{kst(2025, time.January, 17, 13, 0), billing.MsgCancel, cancelFull},
			},
			paid: []int64{31000, 5000, 2000}, refunded: 31000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			if tc.decide != nil {
				b.decide = tc.decide
			}
			for _, m := range tc.msgs {
				env.RegisterDelayedCallback(func() { signal(env, m.name, m.payload) }, after(start, m.at))
			}
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, after(start, kst(2025, time.May, 5, 0, 0)))
			in := monthly31()
			if tc.in != nil {
				tc.in(&in)
			}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			var paid []int64
			for _, c := range st.Charges {
				if c.Outcome == billing.OutcomePaid {
					paid = append(paid, c.Amount)
				}
			}
			var refunded, atBank int64
			for _, f := range st.Refunds {
				refunded += f.Amount
			}
			for _, f := range b.refunds {
				atBank += f.Amount
			}
			require.Equal(t, tc.paid, paid, "paid charges")
			require.Equal(t, tc.refunded, refunded, "refunded")
			require.Equal(t, tc.refunded, atBank, "refunded at the bank")
			require.Zero(t, st.Credit, "no credit is left when the subscription ended")
			require.Contains(t, st.StatusReason, tc.endedBy)
			kinds := map[string]bool{}
			for _, e := range st.Events {
				kinds[e.Kind] = true
			}
			require.Equal(t, tc.creditRefunded, kinds["credit_refunded"], "credit_refunded on record")
			require.Equal(t, tc.paidByCredit, kinds["paid_by_credit"], "paid_by_credit on record")
			require.False(t, kinds["stub_not_charged"], "nothing here is below NaverPay's minimum")
			b.checkInvariants(st)
		})
	}
}

// A continue-as-new keeps every payment the current period's credit is drawn from, however old,
// so that a cancel in the next run refunds the whole chain. Yearly 365,000 KRW from
// 2025-01-10; restarts on Mar 1 and May 1 draw through each other from Jan 10's payment; the
// run continues as new on May 2, months after Jan 10.
func TestCarriedStateKeepsTheCreditChain(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Amount = 365000
	in.Plan.Interval = calendar.Interval{Unit: calendar.Year, Count: 1}
	pauseNow := billing.PauseRequest{When: billing.Now, Reason: "여행"}
	restart := billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"}
	for _, m := range []struct {
		at      time.Time
		name    string
		payload any
	}{
		{kst(2025, time.February, 1, 12, 0), billing.MsgPause, pauseNow},
		{kst(2025, time.March, 1, 12, 0), billing.MsgResume, restart},
		{kst(2025, time.April, 1, 12, 0), billing.MsgPause, pauseNow},
		{kst(2025, time.May, 1, 12, 0), billing.MsgResume, restart},
	} {
		env.RegisterDelayedCallback(func() { signal(env, m.name, m.payload) }, after(start, m.at))
	}
	env.RegisterDelayedCallback(func() {
		env.SetContinueAsNewSuggested(true)
		signal(env, billing.MsgPause, billing.PauseRequest{When: billing.AtPeriodEnd, Reason: "wake"})
	}, after(start, kst(2025, time.May, 2, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := *continued(t, env).Continued
	require.Equal(t, 3, st.CurrentPeriod.Cycle)
	// A cancel now in full gives back all the current period is worth: its charge and its credit.
	at := kst(2025, time.May, 3, 12, 0)
	var sum int64
	for _, sh := range st.CancelRefund(billing.RefundFull, at) {
		sum += sh.Amount
	}
	var own int64
	for _, c := range st.Charges {
		if c.Cycle == 3 && c.Outcome == billing.OutcomePaid {
			own = c.Amount
		}
	}
	require.Positive(t, st.CurrentPeriod.Credit)
	require.Equal(t, own+st.CurrentPeriod.Credit, sum, "the whole worth is refundable from the carried state")
}
