package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 20, item 3: no KST day is paid in two periods. Each test failed on the code before
// versionNoDayTwice; daysPaidTwice (daysPaid_test.go) is the invariant they all check.

// paidAmounts are the amounts of the paid charges in the state, in order.
func paidAmounts(st billing.State) []int64 {
	var out []int64
	for _, c := range st.Charges {
		if c.Outcome == billing.OutcomePaid {
			out = append(out, c.Amount)
		}
	}
	return out
}

func TestResumeRestartPaysTheRestartDayOnce(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
	}, after(start, kst(2025, time.January, 12, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"})
	}, after(start, kst(2025, time.January, 15, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "그만"})
	}, after(start, kst(2025, time.January, 20, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
	st := result(t, env)

	// 31,000 for Jan 10..Feb 9; the restart on Jan 15 gives back Jan 15..Feb 9 (26 days,
	// 26,000) and charges the month Jan 15..Feb 14 less that: 5,000. 36,000 for 36 days.
	require.Equal(t, []int64{31000, 5000}, paidAmounts(st))
	require.Empty(t, daysPaidTwice(st))
	last := st.Charges[len(st.Charges)-1]
	require.Equal(t, calendar.Date{Year: 2025, Month: time.January, Day: 15}, last.FirstDay)
	require.Equal(t, calendar.Date{Year: 2025, Month: time.February, Day: 14}, last.LastDay)
	require.Equal(t, int64(26000), last.Credit)
	require.Equal(t, st.Charges[0].MerchantUID, last.CreditFrom)
	b.checkInvariants(st)
}

func TestRestartCreditLargerThanTheNextChargeIsKeptForTheChargesAfterIt(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 10000, Reason: "downgrade"})
	}, after(start, kst(2025, time.January, 11, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
	}, after(start, kst(2025, time.January, 12, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"})
	}, after(start, kst(2025, time.January, 15, 12, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "그만"})
	}, after(start, kst(2025, time.March, 20, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
	st := result(t, env)

	// The 26,000 credit pays Jan 15 (10,000: nothing charged), Feb 15 (10,000) and 6,000 of
	// Mar 15, which charges 4,000. Dropping the rest would keep Jan 31..Feb 9 paid twice.
	require.Equal(t, []int64{31000, 4000}, paidAmounts(st))
	require.Empty(t, daysPaidTwice(st))
	require.Zero(t, st.Credit)
	b.checkInvariants(st)
}

func TestSecondRestartCreditsWhatTheCreditedPeriodIsWorth(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	for _, at := range []time.Time{kst(2025, time.January, 12, 12, 0), kst(2025, time.January, 16, 12, 0)} {
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
		}, after(start, at))
	}
	for _, at := range []time.Time{kst(2025, time.January, 15, 12, 0), kst(2025, time.January, 20, 12, 0)} {
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"})
		}, after(start, at))
	}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "그만"})
	}, after(start, kst(2025, time.January, 25, 12, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
	st := result(t, env)

	// Jan 15..Feb 14 is worth 31,000 (5,000 paid + 26,000 credit); from Jan 20 it gives back
	// 26 days, 26,000, not 26/31 of the 5,000 paid in cash.
	require.Equal(t, []int64{31000, 5000, 5000}, paidAmounts(st))
	require.Empty(t, daysPaidTwice(st))
	b.checkInvariants(st)
}

// The checker itself finds the overlap: 31,000 for Jan 10..Feb 9, then 6,000 for
// Jan 15..Feb 14 with 25,000 credited from the first payment.
func TestDaysPaidTwiceFindsTheRestartDay(t *testing.T) {
	d := func(m time.Month, day int) calendar.Date { return calendar.Date{Year: 2025, Month: m, Day: day} }
	st := billing.State{
		Plan: billing.Plan{Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
		Charges: []billing.ChargeRecord{
			{Cycle: 1, MerchantUID: "a", ImpUID: "imp_a", Amount: 31000, Outcome: billing.OutcomePaid, FirstDay: d(1, 10), LastDay: d(2, 9)},
			{Cycle: 2, MerchantUID: "b", ImpUID: "imp_b", Amount: 6000, Outcome: billing.OutcomePaid, FirstDay: d(1, 15), LastDay: d(2, 14), Credit: 25000, CreditFrom: "a"},
		},
	}
	require.Equal(t, []string{"2025-01-15 is paid twice: by a and by b"}, daysPaidTwice(st))
	st.Charges[1].Amount, st.Charges[1].Credit = 5000, 26000
	require.Empty(t, daysPaidTwice(st))
	// A credit still owed counts as given back; a refund likewise.
	st.Charges[1].Credit, st.Charges[1].CreditFrom, st.Credit, st.CreditFrom = 0, "", 26000, "a"
	require.Empty(t, daysPaidTwice(st))
	st.Credit, st.CreditFrom = 0, ""
	st.Refunds = []billing.RefundRecord{{ImpUID: "imp_a", Amount: 25999}}
	require.Len(t, daysPaidTwice(st), 1, "25,999 KRW gives back 25 days only")
}

// refundsByCycle sums the refunds in the state by the cycle of the payment refunded.
func refundsByCycle(st billing.State) map[int]int64 {
	out := map[int]int64{}
	for _, f := range st.Refunds {
		out[f.Cycle] += f.Amount
	}
	return out
}

// A cancel now of a period paid partly by a restart's credit refunds what the period is worth:
// it refunded only the unused share of the 5,000 paid in cash, keeping the 26,000 credit.
func TestCancelNowAfterARestartRefundsWhatThePeriodIsWorth(t *testing.T) {
	tests := []struct {
		refund billing.RefundPolicy
		want   map[int]int64
	}{
		// Jan 15..Feb 14 is worth 31,000; cancel on Jan 20: 25 unused days, 25,000: the 5,000 of
		// its own payment, then 20,000 of the Jan 10 payment the credit came from.
		{billing.RefundProrata, map[int]int64{2: 5000, 1: 20000}},
		{billing.RefundFull, map[int]int64{2: 5000, 1: 26000}},
	}
	for _, tc := range tests {
		t.Run(string(tc.refund), func(t *testing.T) {
			start := kst(2025, time.January, 10, 10, 0)
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
			}, after(start, kst(2025, time.January, 12, 12, 0)))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"})
			}, after(start, kst(2025, time.January, 15, 12, 0)))
			var canceled updateResult
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: tc.refund, Reason: "그만", Requester: billing.RequesterCustomer}, &canceled)
			}, after(start, kst(2025, time.January, 20, 12, 0)))
			env.ExecuteWorkflow(billing.WorkflowType, monthly31k())
			st := result(t, env)

			require.Equal(t, []int64{31000, 5000}, paidAmounts(st))
			require.Equal(t, tc.want, refundsByCycle(st))
			require.NoError(t, canceled.err)
			require.NotNil(t, canceled.receipt.Refund)
			require.Equal(t, tc.want[1]+tc.want[2], canceled.receipt.Refund.Amount, "the receipt says the total")
			require.Empty(t, daysPaidTwice(st))
			b.checkInvariants(st)
		})
	}
}

// Every other path that prorates or credits, checked with daysPaidTwice: none of these kept a day
// in two periods before versionNoDayTwice either (the restart paths above did); this keeps them so.
func TestNoDayPaidTwiceOnEveryPathThatProratesOrCredits(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	type msg struct {
		at      time.Time
		name    string
		payload any
	}
	pauseNow := billing.PauseRequest{When: billing.Now, Reason: "여행"}
	keep := billing.ResumeRequest{Anchor: billing.ResumeKeepAnchor, Reason: "돌아옴"}
	restart := billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "돌아옴"}
	tests := []struct {
		name    string
		plan    func(*billing.SubscriptionInput)
		decline bool
		msgs    []msg
		charges int // paid charges expected
	}{
		{"pro-rata first charge to an anchor", func(in *billing.SubscriptionInput) { in.Plan.AnchorDay = 28 }, false, nil, 3},
		{"resume keep inside an unpaid period", nil, false, []msg{
			{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
			{kst(2025, time.February, 20, 12, 0), billing.MsgResume, keep},
		}, 2},
		{"resume keep on an anchor instant", nil, false, []msg{
			{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
			{kst(2025, time.February, 10, 10, 0), billing.MsgResume, keep},
		}, 2},
		{"resume keep inside a paid period", nil, false, []msg{
			{kst(2025, time.January, 12, 12, 0), billing.MsgPause, pauseNow},
			{kst(2025, time.January, 15, 12, 0), billing.MsgResume, keep},
		}, 2},
		{"cancel now with a prorata refund", nil, false, []msg{
			{kst(2025, time.January, 20, 12, 0), billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "그만"}},
		}, 1},
		{"restart on the day of the charge", nil, false, []msg{
			{kst(2025, time.January, 10, 11, 0), billing.MsgPause, pauseNow},
			{kst(2025, time.January, 10, 12, 0), billing.MsgResume, restart},
		}, 2},
		{"restart after dunning paused an unpaid period", func(in *billing.SubscriptionInput) {
			in.Dunning = &billing.DunningPolicy{FinalAction: billing.FinalActionPause}
		}, true, []msg{{kst(2025, time.February, 25, 12, 0), billing.MsgResume, restart}}, 2},
		{"a plan change at the next cycle", nil, false, []msg{
			{kst(2025, time.January, 20, 12, 0), billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 20000, Reason: "downgrade"}},
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			if tc.decline {
				b.decide = declineCycle(2, 99, "잔액부족")
			}
			for _, m := range tc.msgs {
				env.RegisterDelayedCallback(func() {
					if m.name == billing.MsgResume && tc.decline {
						b.decide = declineCycle(0, 0, "")
					}
					signal(env, m.name, m.payload)
				}, after(start, m.at))
			}
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, after(start, kst(2025, time.March, 5, 0, 0)))
			in := monthly31k()
			if tc.plan != nil {
				tc.plan(&in)
			}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.Len(t, paidAmounts(st), tc.charges, "%v", paidAmounts(st))
			for _, c := range st.Charges {
				if c.Outcome == billing.OutcomePaid {
					require.False(t, c.FirstDay.IsZero(), "%s records its days", c.MerchantUID)
				}
			}
			require.Empty(t, daysPaidTwice(st))
			b.checkInvariants(st)
		})
	}
}
