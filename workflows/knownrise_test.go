package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 20 item 1: every rise whose date is known opens its consent window 30 days before its
// date and gets its notice 7 days before, whatever the interval; a notice is late only when the
// worker was.

// auditOf returns the audit events of kind.
func auditOf(st billing.State, kind string) []billing.Event {
	var out []billing.Event
	for _, e := range st.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func bankPaidAmounts(b *bank) []int64 {
	var out []int64
	for _, p := range b.paid() {
		out = append(out, p.in.Amount)
	}
	return out
}

func TestKnownRiseOpensItsWindowThirtyDaysAhead(t *testing.T) {
	type check struct {
		at   time.Time
		want func(t *testing.T, st billing.State)
	}
	tests := []struct {
		name  string
		start time.Time
		in    func() billing.SubscriptionInput
		// change is a change_plan sent at changeAt (zero: none).
		change   *billing.ChangePlanRequest
		changeAt time.Time
		// consent is sent as an update at consentAt.
		consent   billing.ConsentRequest
		consentAt time.Time
		checks    []check
		end       time.Time
		amounts   []int64
		// noticeAt is when the 7-day notice must have been made, noticeWhy its kind.
		noticeAt  time.Time
		noticeWhy string
	}{
		{
			name:  "monthly, two introductory cycles",
			start: kst(2025, time.January, 10, 10, 0),
			in: func() billing.SubscriptionInput {
				in := monthly()
				in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
				return in
			},
			consent:   consentRequest(true, 4900, 9900, date(2025, time.March, 10), kst(2025, time.February, 9, 9, 0)),
			consentAt: kst(2025, time.February, 9, 9, 0),
			checks: []check{{kst(2025, time.February, 8, 12, 0), func(t *testing.T, st billing.State) {
				require.NotNil(t, st.Consent, "the window for the Mar 10 rise is open on Feb 8 (30 days before)")
				require.Equal(t, billing.ConsentRequired, st.Consent.Status)
				require.Equal(t, date(2025, time.March, 10), st.Consent.ChangeDate)
				require.Equal(t, int64(4900), st.Consent.AmountBefore)
				require.Equal(t, int64(9900), st.Consent.AmountAfter)
				require.Equal(t, "intro_end", st.Consent.Why)
				require.Equal(t, kst(2025, time.February, 8, 10, 0).UTC(), st.Consent.OpenedAt.UTC())
			}}},
			end:       kst(2025, time.April, 15, 0, 0),
			amounts:   []int64{4900, 4900, 9900, 9900},
			noticeAt:  kst(2025, time.March, 3, 10, 0),
			noticeWhy: "intro_end",
		},
		{
			name:  "daily, ten introductory cycles, consent on day 2",
			start: kst(2025, time.January, 10, 10, 0),
			in: func() billing.SubscriptionInput {
				in := monthly()
				in.Plan.Interval = calendar.Interval{Unit: calendar.Day, Count: 1}
				in.Plan.Trial = &billing.Trial{Cycles: 10, Amount: 4900}
				return in
			},
			consent:   consentRequest(true, 4900, 9900, date(2025, time.January, 20), kst(2025, time.January, 12, 11, 0)),
			consentAt: kst(2025, time.January, 12, 11, 0),
			checks: []check{{kst(2025, time.January, 10, 11, 0), func(t *testing.T, st billing.State) {
				require.NotNil(t, st.Consent, "the rise on day 10 is nearer than 30 days: its window opens at sign-up")
				require.Equal(t, date(2025, time.January, 20), st.Consent.ChangeDate)
			}}},
			end:       kst(2025, time.January, 23, 0, 0),
			amounts:   []int64{4900, 4900, 4900, 4900, 4900, 4900, 4900, 4900, 4900, 4900, 9900, 9900, 9900},
			noticeAt:  kst(2025, time.January, 13, 10, 0),
			noticeWhy: "intro_end",
		},
		{
			name:  "plan change during the introductory cycles",
			start: kst(2025, time.January, 10, 10, 0),
			in: func() billing.SubscriptionInput {
				in := monthly()
				in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
				return in
			},
			change:    &billing.ChangePlanRequest{Amount: 12900, Name: "Premium Plus"},
			changeAt:  kst(2025, time.January, 12, 12, 0),
			consent:   consentRequest(true, 4900, 12900, date(2025, time.March, 10), kst(2025, time.February, 9, 9, 0)),
			consentAt: kst(2025, time.February, 9, 9, 0),
			checks: []check{{kst(2025, time.February, 8, 12, 0), func(t *testing.T, st billing.State) {
				require.NotNil(t, st.Consent, "the changed plan's rise on Mar 10 opens its window on Feb 8")
				require.Equal(t, int64(12900), st.Consent.AmountAfter)
				require.Equal(t, date(2025, time.March, 10), st.Consent.ChangeDate)
			}}},
			end:       kst(2025, time.April, 15, 0, 0),
			amounts:   []int64{4900, 4900, 12900, 12900},
			noticeAt:  kst(2025, time.March, 3, 10, 0),
			noticeWhy: "intro_end",
		},
		{
			name:      "plan change on a monthly plan",
			start:     kst(2025, time.January, 10, 10, 0),
			in:        monthly,
			change:    &billing.ChangePlanRequest{Amount: 12900},
			changeAt:  kst(2025, time.January, 12, 12, 0),
			consent:   consentRequest(true, 9900, 12900, date(2025, time.February, 10), kst(2025, time.January, 20, 9, 0)),
			consentAt: kst(2025, time.January, 20, 9, 0),
			end:       kst(2025, time.March, 15, 0, 0),
			amounts:   []int64{9900, 12900, 12900},
			noticeAt:  kst(2025, time.February, 3, 10, 0),
			noticeWhy: "plan_change",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, tc.start)
			b := newBank(t, env, "cust-1")
			if tc.change != nil {
				env.RegisterDelayedCallback(func() { signal(env, billing.MsgChangePlan, *tc.change) }, tc.changeAt.Sub(tc.start))
			}
			var consent updateResult
			env.RegisterDelayedCallback(func() { update(env, billing.MsgConsent, tc.consent, &consent) }, tc.consentAt.Sub(tc.start))
			for _, c := range tc.checks {
				env.RegisterDelayedCallback(func() { c.want(t, query(t, env)) }, c.at.Sub(tc.start))
			}
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, tc.end.Sub(tc.start))
			env.ExecuteWorkflow(billing.WorkflowType, tc.in())
			st := result(t, env)
			require.True(t, consent.done)
			require.NoError(t, firstErr(consent.rejected, consent.err), "the consent inside the window is accepted")
			require.Equal(t, "test over", st.StatusReason)
			require.Equal(t, tc.amounts, bankPaidAmounts(b))
			notices := auditOf(st, "conversion_notice")
			require.Len(t, notices, 1)
			require.Equal(t, tc.noticeAt.UTC(), notices[0].At.UTC(), "the notice comes 7 days before the rise")
			require.Contains(t, notices[0].Detail, tc.noticeWhy)
			require.NotContains(t, notices[0].Detail, "late", "the worker was running: the notice is not late")
			closed := auditOf(st, "consent_closed")
			require.NotEmpty(t, closed)
			require.Contains(t, closed[len(closed)-1].Detail, "took effect", "the audit trail says the rise happened")
			requireNoRiseWithoutConsent(t, b, st, false)
			b.checkInvariants(st)
		})
	}
}

// A consent sent before its window opens is told when the window opens, naming the field.
func TestConsentBeforeItsWindowSaysWhenItOpens(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
	var early updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgConsent, consentRequest(true, 4900, 9900, date(2025, time.March, 10), env.Now()), &early)
	}, 5*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 6*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	result(t, env)
	err := firstErr(early.rejected, early.err)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "at: "), "the refusal names its field: %v", err)
	require.Contains(t, err.Error(), "opens at 2025-02-08 10:00 KST")
}

// A short-notice rise (a plan change on a daily plan) gets its notice at once, not labelled late.
func TestShortNoticeRiseIsNotLabelledLate(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Day, Count: 1}
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900}) }, 26*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 9900, 12900, date(2025, time.January, 12), env.Now()))
	}, 27*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 3*24*time.Hour+time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	notices := auditOf(st, "conversion_notice")
	require.Len(t, notices, 1)
	require.Contains(t, notices[0].Detail, "short notice")
	require.NotContains(t, notices[0].Detail, "late")
	require.Equal(t, []int64{9900, 9900, 12900, 12900}, bankPaidAmounts(b))
	b.checkInvariants(st)
}

// A notice held back by a pending cancel and made when the cancel is withdrawn is late, and says
// when it was due (not that the worker was down).
func TestNoticeHeldBackByAPendingCancelIsLate(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 4900, 9900, date(2025, time.March, 10), env.Now()))
	}, kst(2025, time.February, 9, 9, 0).Sub(start))
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgCancel, billing.CancelRequest{Reason: "고민 중"}) }, kst(2025, time.March, 1, 9, 0).Sub(start))
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgUndoCancel, billing.UndoCancelRequest{}) }, kst(2025, time.March, 4, 12, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.March, 12, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	notices := auditOf(st, "conversion_notice")
	require.Len(t, notices, 1)
	require.Equal(t, kst(2025, time.March, 4, 12, 0).UTC(), notices[0].At.UTC())
	require.Contains(t, notices[0].Detail, "late: it was due at 2025-03-03 10:00 KST")
	require.Equal(t, []int64{4900, 4900, 9900}, bankPaidAmounts(b))
	b.checkInvariants(st)
}

// A rise's window opens on its day even while an earlier cycle is being retried (dunning).
func TestKnownRiseWindowOpensDuringDunning(t *testing.T) {
	start := kst(2025, time.January, 6, 10, 0) // weekly: cycle 13 (the first at 9,900) on Mar 31
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Week, Count: 1}
	in.Plan.Trial = &billing.Trial{Cycles: 12, Amount: 4900}
	grace := billing.Duration(7 * 24 * time.Hour)
	in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(24 * time.Hour), billing.Duration(6 * 24 * time.Hour)}, Grace: &grace}
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Cycle == 8 && in.Attempt < 3 { // Feb 24 and 25 decline; the Mar 2 retry pays
			return billing.OutcomeDeclined, "잔액부족"
		}
		return billing.OutcomePaid, ""
	}
	var during billing.State
	var consent updateResult
	env.RegisterDelayedCallback(func() { during = query(t, env) }, kst(2025, time.March, 1, 12, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgConsent, consentRequest(true, 4900, 9900, date(2025, time.March, 31), env.Now()), &consent)
	}, kst(2025, time.March, 1, 13, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.April, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Equal(t, billing.StatusPastDue, during.Status)
	require.NotNil(t, during.Consent, "the window for Mar 31 opened on Mar 1 although cycle 8 was unpaid")
	require.Equal(t, kst(2025, time.March, 1, 10, 0).UTC(), during.Consent.OpenedAt.UTC())
	require.NoError(t, firstErr(consent.rejected, consent.err))
	amounts := bankPaidAmounts(b)
	require.Equal(t, []int64{9900, 9900}, amounts[len(amounts)-2:], "the rise went ahead with the consent given during dunning")
	requireNoRiseWithoutConsent(t, b, st, false)
	b.checkInvariants(st)
}

// The consented rise's own cycle in dunning keeps its consent until it is paid; then the consent
// closes as taken effect.
func TestRiseCycleInDunningKeepsItsConsent(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Cycle == 3 && in.Attempt == 1 {
			return billing.OutcomeDeclined, "잔액부족"
		}
		return billing.OutcomePaid, ""
	}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 4900, 9900, date(2025, time.March, 10), env.Now()))
	}, kst(2025, time.February, 9, 9, 0).Sub(start))
	var during billing.State
	env.RegisterDelayedCallback(func() { during = query(t, env) }, kst(2025, time.March, 10, 12, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.March, 20, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Equal(t, billing.StatusPastDue, during.Status)
	require.NotNil(t, during.Consent, "the rise is still being charged")
	require.Equal(t, billing.ConsentGranted, during.Consent.Status)
	require.Equal(t, []int64{4900, 4900, 9900}, bankPaidAmounts(b))
	closed := auditOf(st, "consent_closed")
	require.Len(t, closed, 1)
	require.Contains(t, closed[0].Detail, "took effect on 2025-03-10")
	b.checkInvariants(st)
}
