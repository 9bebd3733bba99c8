package workflows_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 20 item 2: change_plan with "when": "now".

// monthly31 is a 31,000 KRW monthly plan (15,500 tax-free) from 2025-01-10 10:00 KST: its first
// period Jan 10..Feb 9 has 31 days, so a day is 1,000 KRW.
func monthly31() billing.SubscriptionInput {
	in := monthly()
	in.Plan.Amount, in.Plan.TaxFree = 31000, 15500
	return in
}

func TestChangePlanNow(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	changeAt := kst(2025, time.January, 20, 15, 0) // day 11 of 31: 20 days left
	today := date(2025, time.January, 20)
	tests := []struct {
		name     string
		in       func() billing.SubscriptionInput
		prepare  func(b *bank)
		before   func(env testEnv) // messages before the change
		change   billing.ChangePlanRequest
		refused  string
		amounts  []int64
		taxFree  []int64
		credit   int64
		refunded int64
		planName string
		// credited: the charges after the change are lowered by a credit.
		credited bool
	}{
		{
			name:   "upgrade with consent",
			in:     monthly31,
			change: billing.ChangePlanRequest{Name: "Max", Amount: 62000, TaxFree: ptr(int64(31000)), When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, today, changeAt.Add(-time.Minute)))},
			// 20 of 31 days at 62,000 = 40,000, less the unused 20,000 of the 31,000 paid.
			amounts:  []int64{31000, 20000, 62000, 62000},
			taxFree:  []int64{15500, 10000, 31000, 31000},
			planName: "Max",
		},
		{
			name:    "upgrade without consent",
			in:      monthly31,
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now},
			refused: "consent: the change now raises the price from 31000 to 62000 KRW",
			amounts: []int64{31000, 31000, 31000},
		},
		{
			name:    "upgrade with a consent for another date",
			in:      monthly31,
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, date(2025, time.February, 10), changeAt))},
			refused: "consent.change_date",
			amounts: []int64{31000, 31000, 31000},
		},
		{
			name:   "decrease credits the next charge",
			in:     monthly31,
			change: billing.ChangePlanRequest{Amount: 15500, When: billing.Now},
			// unused 20,000 paid less 10,000 for 20 days at 15,500: 10,000 off Feb 10.
			amounts:  []int64{31000, 5500, 15500},
			planName: "Premium",
			credited: true,
		},
		{
			name: "a large decrease is credited over several charges",
			in:   monthly31,
			// unused 20,000 less floor(1,000 × 20/31) = 645: 19,355 credit, 1,000 a month.
			change: billing.ChangePlanRequest{Amount: 1000, TaxFree: ptr(int64(0)), When: billing.Now},
			// The stub's 645 and Feb 10's and Mar 10's 1,000 are paid by it; the 17,355 still
			// pending when the subscription ends is refunded.
			amounts:  []int64{31000},
			refunded: 19355 - 2000,
			credited: true,
		},
		{
			name: "in dunning",
			in: func() billing.SubscriptionInput {
				in := monthly31()
				grace := billing.Duration(20 * 24 * time.Hour)
				in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(15 * 24 * time.Hour)}, Grace: &grace}
				return in
			},
			prepare: func(b *bank) {
				b.decide = func(activities.ChargeInput) (billing.Outcome, string) { return billing.OutcomeDeclined, "잔액부족" }
			},
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now},
			refused: "when: a cycle is unpaid",
		},
		{
			name: "during introductory cycles",
			in: func() billing.SubscriptionInput {
				in := monthly31()
				in.Plan.Trial = &billing.Trial{Cycles: 3, Amount: 20000}
				return in
			},
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now},
			refused: "when: the introductory price runs until cycle 3",
			amounts: []int64{20000, 20000, 20000},
		},
		{
			name: "during a free trial",
			in: func() billing.SubscriptionInput {
				in := monthly31()
				in.Plan.Trial = &billing.Trial{Days: 60}
				return in
			},
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now},
			refused: "when: nothing is paid during a free trial",
		},
		{
			name:    "while paused",
			in:      monthly31,
			before:  func(env testEnv) { env.SignalWorkflow(billing.MsgPause, billing.PauseRequest{When: billing.Now}) },
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now},
			refused: "when: the subscription is paused",
			amounts: []int64{31000},
		},
		{
			name:    "the charge is declined",
			in:      monthly31,
			prepare: func(b *bank) { b.decide = declineAmount(20000) },
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, today, changeAt))},
			refused: "the plan was not changed",
			amounts: []int64{31000, 31000, 31000},
		},
		{
			// A change not made leaves the plan as it was, its pending period-end change too
			// (sweep seed 710204: the pending decrease was dropped before the charge).
			name:    "the charge is declined: a pending period-end change stays",
			in:      monthly31,
			prepare: func(b *bank) { b.decide = declineAmount(20000) },
			before: func(env testEnv) {
				env.SignalWorkflow(billing.MsgChangePlan, billing.ChangePlanRequest{Name: "Lite", Amount: 25000, Reason: "cheaper"})
			},
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, today, changeAt))},
			refused: "the plan was not changed",
			amounts: []int64{31000, 25000, 25000},
		},
		{
			// The next regular cycle reuses the cycle number; its retries ask its own amount.
			name: "the charge is declined, then the next cycle's first attempt",
			in:   monthly31,
			prepare: func(b *bank) {
				b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
					if in.Amount == 20000 || (in.Cycle == 2 && in.Attempt == 2) {
						return billing.OutcomeDeclined, "한도초과"
					}
					return billing.OutcomePaid, ""
				}
			},
			change:  billing.ChangePlanRequest{Amount: 62000, When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, today, changeAt))},
			refused: "the plan was not changed",
			amounts: []int64{31000, 31000, 31000},
		},
		{
			name: "schedule mode: a decrease's credit is charged through again",
			in: func() billing.SubscriptionInput {
				in := monthly31()
				in.Plan.ChargeMode = billing.ChargeModeSchedule
				return in
			},
			change:   billing.ChangePlanRequest{Amount: 15500, When: billing.Now},
			amounts:  []int64{31000, 5500, 15500},
			credited: true,
		},
		{
			name: "schedule mode revokes the scheduled charge first",
			in: func() billing.SubscriptionInput {
				in := monthly31()
				in.Plan.ChargeMode = billing.ChargeModeSchedule
				return in
			},
			change:  billing.ChangePlanRequest{Amount: 62000, TaxFree: ptr(int64(31000)), When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, today, changeAt))},
			amounts: []int64{31000, 20000, 62000, 62000},
			taxFree: []int64{15500, 10000, 31000, 31000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			if tc.prepare != nil {
				tc.prepare(b)
			}
			if tc.before != nil {
				env.RegisterDelayedCallback(func() { tc.before(env) }, changeAt.Add(-time.Hour).Sub(start))
			}
			var before, after billing.State
			var res updateResult
			env.RegisterDelayedCallback(func() { before = query(t, env) }, changeAt.Add(-time.Minute).Sub(start))
			env.RegisterDelayedCallback(func() { update(env, billing.MsgChangePlan, tc.change, &res) }, changeAt.Sub(start))
			env.RegisterDelayedCallback(func() { after = query(t, env) }, changeAt.Add(time.Minute).Sub(start))
			var next billing.State
			env.RegisterDelayedCallback(func() { next = query(t, env) }, kst(2025, time.February, 10, 12, 0).Sub(start))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.March, 15, 0, 0).Sub(start))
			env.ExecuteWorkflow(billing.WorkflowType, tc.in())
			st := result(t, env)
			require.True(t, res.done, "%v %s %v", st.Status, st.StatusReason, auditKinds(st))
			if tc.refused != "" {
				require.ErrorContains(t, firstErr(res.rejected, res.err), tc.refused)
			} else {
				require.NoError(t, firstErr(res.rejected, res.err))
			}
			if tc.amounts != nil {
				require.Equal(t, tc.amounts, bankPaidAmounts(b))
			}
			if tc.taxFree != nil {
				var tf []int64
				for _, p := range b.paid() {
					tf = append(tf, p.in.TaxFree)
				}
				require.Equal(t, tc.taxFree, tf, "tax_free in proportion")
			}
			if tc.planName != "" {
				require.Equal(t, tc.planName, after.Plan.Name, "the plan changed at once")
			}
			require.Equal(t, tc.credit, st.Credit)
			var refunded int64
			for _, f := range b.refunds {
				refunded += f.Amount
			}
			require.Equal(t, tc.refunded, refunded, "refunded")
			if tc.refused == "" {
				// An upgrade and a decrease both split the period at the change.
				requireNoDayInTwoPeriods(t, before, after, next, today)
			}
			if !tc.credited {
				requireNoRiseWithoutConsent(t, b, st, false)
			}
			b.checkInvariants(st)
		})
	}
}

// testEnv is what the table's callbacks use of the environment.
type testEnv interface{ SignalWorkflow(string, any) }

// declineAmount declines charges of exactly amount and pays the others.
func declineAmount(amount int64) func(activities.ChargeInput) (billing.Outcome, string) {
	return func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Amount == amount {
			return billing.OutcomeDeclined, "한도초과"
		}
		return billing.OutcomePaid, ""
	}
}

// requireNoDayInTwoPeriods checks the periods around an immediate change (an upgrade or a
// decrease, both split the period) on today: the old
// cycle keeps its days through today, the new one runs from tomorrow to the old period's last
// day, and the next regular cycle begins the day after: every KST day in exactly one period.
func requireNoDayInTwoPeriods(t *testing.T, before, after, next billing.State, today calendar.Date) {
	t.Helper()
	old, stub, reg := before.CurrentPeriod, after.CurrentPeriod, next.CurrentPeriod
	require.Equal(t, old.Cycle+1, stub.Cycle)
	require.Equal(t, stub.Cycle+1, reg.Cycle)
	require.True(t, stub.Stub)
	require.Equal(t, today.AddDays(1), stub.FirstDay, "the change day is the old price's")
	require.Equal(t, old.LastDay, stub.LastDay)
	require.Equal(t, stub.LastDay.AddDays(1), reg.FirstDay, "the next cycle follows the stub without a gap or an overlap")
	days := map[calendar.Date]int{}
	for d := old.FirstDay; !d.After(today); d = d.AddDays(1) {
		days[d]++
	}
	for _, p := range []*billing.Period{stub, reg} {
		for d := p.FirstDay; !d.After(p.LastDay); d = d.AddDays(1) {
			days[d]++
		}
	}
	for d, n := range days {
		require.Equal(t, 1, n, "%s is paid in %d periods", d, n)
	}
	require.Equal(t, calendar.DaysBetween(old.FirstDay, reg.LastDay)+1, len(days), "no day unbilled")
}

// For any day of the period and any new price, the charge of an immediate change is the new
// price's share of the days after today less the old payment's unused share (floor rule), and
// what was paid for the period never exceeds what its days cost at each price.
func TestChangePlanNowAmountsSeeded(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 20))
	start := kst(2025, time.January, 10, 10, 0)
	for i := range 6 {
		day := 1 + rng.IntN(29)                  // change on Jan 10+day (never the last day)
		amount := int64(31001 + rng.IntN(99000)) // a rise
		changeAt := start.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.IntN(13))*time.Hour)
		today := calendar.DateOf(changeAt)
		env := newEnv(t, start)
		b := newBank(t, env, "cust-1")
		var res updateResult
		env.RegisterDelayedCallback(func() {
			update(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: amount, When: billing.Now,
				Consent: ptr(consentRequest(true, 31000, amount, today, changeAt))}, &res)
		}, changeAt.Sub(start))
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
		}, kst(2025, time.February, 10, 12, 0).Sub(start))
		env.ExecuteWorkflow(billing.WorkflowType, monthly31())
		st := result(t, env)
		require.NoError(t, firstErr(res.rejected, res.err), "case %d", i)
		used := int64(calendar.DaysBetween(date(2025, time.January, 10), today) + 1)
		unused := 31 - used
		want := amount*unused/31 - 31000*unused/31
		paid := bankPaidAmounts(b)
		require.Equal(t, []int64{31000, want, amount}, paid, "case %d: day %d, %d KRW", i, day, amount)
		// The period Jan 10..Feb 9 cost at most its days at each price.
		require.LessOrEqual(t, paid[0]+paid[1], 1000*used+amount*unused/31+1, "case %d", i)
		b.checkInvariants(st)
	}
}

// A cancel after an immediate upgrade refunds the unused days at what they were paid: the
// upgrade's charge and the part of the earlier payment it netted.
func TestCancelAfterChangeNowRefundsTheUnusedDays(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	changeAt := kst(2025, time.January, 20, 15, 0)
	tests := []struct {
		name    string
		refund  billing.RefundPolicy
		want    []int64 // refunds in order
		wantSum int64
	}{
		// Jan 21..Feb 9 cost 40,000 (20,000 charged + 20,000 of the first payment); on Jan 25
		// 15 of its 20 days are unused: 30,000.
		{"prorata", billing.RefundProrata, []int64{20000, 10000}, 30000},
		{"full", billing.RefundFull, []int64{20000, 20000}, 40000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 62000, When: billing.Now,
					Consent: ptr(consentRequest(true, 31000, 62000, date(2025, time.January, 20), changeAt))})
			}, changeAt.Sub(start))
			var res updateResult
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: tc.refund, Reason: "그만", Requester: billing.RequesterCustomer}, &res)
			}, kst(2025, time.January, 25, 12, 0).Sub(start))
			env.ExecuteWorkflow(billing.WorkflowType, monthly31())
			st := result(t, env)
			require.NoError(t, firstErr(res.rejected, res.err))
			require.Equal(t, []int64{31000, 20000}, bankPaidAmounts(b))
			var got []int64
			for _, f := range b.refunds {
				got = append(got, f.Amount)
			}
			require.Equal(t, tc.want, got)
			require.NotNil(t, res.receipt.Refund)
			require.Equal(t, tc.wantSum, res.receipt.Refund.Amount)
			b.checkInvariants(st)
		})
	}
}

// Demo plans (seconds): the change now splits the period by whole seconds, the started second
// counting as used.
func TestChangePlanNowOnADemoPlan(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Amount = 10000
	in.Plan.Interval = calendar.Interval{Unit: calendar.Second, Count: 100}
	var res updateResult
	var after billing.State
	changeAt := start.Add(100*time.Second + 39500*time.Millisecond) // cycle 2, second 40 started
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 20000, When: billing.Now,
			Consent: ptr(consentRequest(true, 10000, 20000, date(2025, time.January, 10), changeAt))}, &res)
	}, changeAt.Sub(start))
	env.RegisterDelayedCallback(func() { after = query(t, env) }, changeAt.Add(time.Second).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 250*time.Second)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.NoError(t, firstErr(res.rejected, res.err))
	// 60 of 100 seconds left: 12,000 − 6,000.
	require.Equal(t, []int64{10000, 10000, 6000, 20000}, bankPaidAmounts(b))
	require.Equal(t, start.Add(140*time.Second).UTC(), after.CurrentPeriod.Start.UTC(), "the new period starts after the started second")
	require.Equal(t, start.Add(200*time.Second).UTC(), after.CurrentPeriod.End.UTC())
	b.checkInvariants(st)
}
