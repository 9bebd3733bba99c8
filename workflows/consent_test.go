package workflows_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 14: free trials, introductory prices and the consent gate (전자상거래법 §13⑥).

// freeTrial is a monthly 9,900 KRW plan with a 14-day free trial.
func freeTrial() billing.SubscriptionInput {
	in := monthly()
	in.Plan.Trial = &billing.Trial{Days: 14}
	return in
}

func date(y int, m time.Month, d int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: d} }

// auditKinds lists the audit trail's kinds.
func auditKinds(st billing.State) []string {
	var out []string
	for _, e := range st.Events {
		out = append(out, e.Kind)
	}
	return out
}

// requireNoRiseWithoutConsent is the money invariant of issue 14: every paid charge above the
// price last paid (or above 0 after a free trial) has a granted consent for exactly that rise.
func requireNoRiseWithoutConsent(t *testing.T, b *bank, st billing.State, freeTrial bool) {
	t.Helper()
	granted := map[int64]bool{}
	for _, c := range append(slices.Clone(st.ConsentHistory), ptrOr(st.Consent)...) {
		if c.Status == billing.ConsentGranted {
			granted[c.AmountAfter] = true
		}
	}
	var last int64 = -1
	if freeTrial {
		last = 0
	}
	for _, p := range b.paid() {
		if last >= 0 && p.in.Amount > last {
			require.True(t, granted[p.in.Amount], "%d KRW charged above the %d last paid without a consent", p.in.Amount, last)
		}
		last = p.in.Amount
	}
}

func ptrOr(c *billing.ConsentState) []billing.ConsentState {
	if c == nil {
		return nil
	}
	return []billing.ConsentState{*c}
}

func TestFreeTrialConsentPaths(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	trialEnd := kst(2025, time.March, 24, 10, 0)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	tests := []struct {
		name    string
		consent *billing.ConsentRequest
		sendAt  time.Duration
		// refusedWith is the refusal of the consent update, if it must be refused.
		refusedWith string
		charged     bool
	}{
		{"consent early", ptr(consentRequest(true, 0, 9900, date(2025, time.March, 24), at(24*time.Hour))), 25 * time.Hour, "", true},
		{"consent on the last day", ptr(consentRequest(true, 0, 9900, date(2025, time.March, 24), at(13*24*time.Hour))), 13*24*time.Hour + time.Hour, "", true},
		{"refused", ptr(consentRequest(false, 0, 9900, date(2025, time.March, 24), at(2*24*time.Hour))), 2*24*time.Hour + time.Hour, "", false},
		{"wrong amount", ptr(consentRequest(true, 0, 12900, date(2025, time.March, 24), at(24*time.Hour))), 25 * time.Hour, "amount_before/amount_after", false},
		{"wrong date", ptr(consentRequest(true, 0, 9900, date(2025, time.March, 25), at(24*time.Hour))), 25 * time.Hour, "change_date", false},
		{"given at sign-up", ptr(consentRequest(true, 0, 9900, date(2025, time.March, 24), start)), time.Hour, "sign-up does not count", false},
		{"too late", ptr(consentRequest(true, 0, 9900, date(2025, time.March, 24), at(15*24*time.Hour))), 15 * 24 * time.Hour, "has ended", false},
		{"never", nil, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			var during billing.State
			var r updateResult
			env.RegisterDelayedCallback(func() { during = query(t, env) }, 12*time.Hour)
			if tc.consent != nil {
				env.RegisterDelayedCallback(func() { update(env, billing.MsgConsent, *tc.consent, &r) }, tc.sendAt)
			}
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, 40*24*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, freeTrial())
			st := result(t, env)

			// During the trial: active, entitled, nothing charged, consent asked for at once
			// (the change is nearer than 30 days).
			require.Equal(t, billing.StatusActive, during.Status)
			require.True(t, during.Entitled)
			require.Equal(t, "trial", during.Phase)
			require.Equal(t, trialEnd.UTC(), during.NextChargeAt.UTC())
			require.NotNil(t, during.Consent)
			require.Equal(t, billing.ConsentRequired, during.Consent.Status)
			require.Equal(t, date(2025, time.March, 24), during.Consent.ChangeDate)
			require.Equal(t, int64(0), during.Consent.AmountBefore)
			require.Equal(t, int64(9900), during.Consent.AmountAfter)
			require.Contains(t, auditKinds(st), "conversion_notice", "the 7-day notice was made")

			if tc.refusedWith != "" && r.done { // an update to an ended run gets no answer in the test environment
				require.ErrorContains(t, firstErr(r.rejected, r.err), tc.refusedWith)
			}
			if tc.refusedWith != "" && tc.sendAt < 14*24*time.Hour {
				require.True(t, r.done, "a consent that does not match is refused, not silently kept")
			}
			if tc.charged {
				require.Equal(t, []string{"2025-03-24 10:00"}, b.paidDates(), "billing starts at the trial's end")
				require.Equal(t, billing.StatusCanceled, st.Status)
				require.Equal(t, "test over", st.StatusReason)
			} else {
				require.Empty(t, b.paid(), "the higher price (9,900 after free) is never charged without consent")
				require.Equal(t, billing.StatusCanceled, st.Status)
				require.Equal(t, billing.ReasonNoConsent, st.StatusReason)
				require.Equal(t, trialEnd.UTC(), st.EndedAt.UTC(), "it ends where the paid period would have begun")
			}
			requireNoRiseWithoutConsent(t, b, st, true)
			b.checkInvariants(st)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTrialCancelCostsNothingAndCannotBePaused(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var pause updateResult
	env.RegisterDelayedCallback(func() { update(env, billing.MsgPause, billing.PauseRequest{When: billing.Now}, &pause) }, 2*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "안 쓸래요", Requester: billing.RequesterCustomer})
	}, 5*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, freeTrial())
	st := result(t, env)
	require.ErrorContains(t, firstErr(pause.rejected, pause.err), "free trial cannot be paused")
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Empty(t, b.paid())
	require.Empty(t, st.Refunds)
	b.checkInvariants(st)
}

func TestRaiseDuringTrialNeedsItsOwnConsent(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var stale updateResult
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 0, 9900, date(2025, time.March, 24), env.Now()))
	}, 24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900, Name: "Premium Plus"})
	}, 2*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgConsent, consentRequest(true, 0, 9900, date(2025, time.March, 24), env.Now()), &stale)
	}, 3*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgConsent, consentRequest(true, 0, 12900, date(2025, time.March, 24), env.Now()))
	}, 4*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 20*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, freeTrial())
	st := result(t, env)
	require.ErrorContains(t, firstErr(stale.rejected, stale.err), "not 0 → 9900", "the consent to 9,900 no longer covers the rise to 12,900")
	require.Len(t, b.paid(), 1)
	require.Equal(t, int64(12900), b.paid()[0].in.Amount)
	requireNoRiseWithoutConsent(t, b, st, true)
	b.checkInvariants(st)
}

func TestRaiseThenDecreaseNeedsNoConsent(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var mid billing.State
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900}) }, 5*24*time.Hour)
	env.RegisterDelayedCallback(func() { mid = query(t, env) }, 6*24*time.Hour)
	env.RegisterDelayedCallback(func() { signal(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 8900}) }, 10*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.June, 5, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.ConsentRequired, mid.Consent.Status, "the rise asked for consent")
	require.Equal(t, int64(9900), mid.Consent.AmountBefore)
	var amounts []int64
	for _, p := range b.paid() {
		amounts = append(amounts, p.in.Amount)
	}
	require.Equal(t, []int64{9900, 8900, 8900}, amounts, "the decrease went ahead; nothing was canceled")
	require.Nil(t, st.Consent)
	require.NotEmpty(t, st.ConsentHistory, "the withdrawn rise stays on record")
	require.Contains(t, auditKinds(st), "consent_closed")
	b.checkInvariants(st)
}

func TestIntroPriceThenRegularWithConsent(t *testing.T) {
	for _, consent := range []bool{true, false} {
		t.Run(map[bool]string{true: "consented", false: "no consent"}[consent], func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			in := monthly()
			in.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
			var intro billing.State
			env.RegisterDelayedCallback(func() { intro = query(t, env) }, 40*24*time.Hour)
			if consent {
				env.RegisterDelayedCallback(func() {
					signal(env, billing.MsgConsent, consentRequest(true, 4900, 9900, date(2025, time.June, 1), env.Now()))
				}, 45*24*time.Hour)
			}
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.July, 5, 0, 0).Sub(start))
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.Equal(t, "intro 2/2", intro.Phase)
			var amounts []int64
			for _, p := range b.paid() {
				amounts = append(amounts, p.in.Amount)
			}
			require.Contains(t, auditKinds(st), "conversion_notice")
			if consent {
				require.Equal(t, []int64{4900, 4900, 9900, 9900}, amounts)
				require.Equal(t, "regular", st.Phase)
			} else {
				require.Equal(t, []int64{4900, 4900}, amounts)
				require.Equal(t, billing.ReasonNoConsent, st.StatusReason)
				require.Equal(t, kst(2025, time.June, 1, 10, 0).UTC(), st.EndedAt.UTC())
			}
			requireNoRiseWithoutConsent(t, b, st, false)
			b.checkInvariants(st)
		})
	}
}

func TestConsentWindowIsCarriedAcrossContinueAsNew(t *testing.T) {
	start := kst(2025, time.January, 6, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Week, Count: 1}
	in.Plan.Trial = &billing.Trial{Cycles: 12, Amount: 4900}
	// The server suggests continue-as-new (history size) after cycle 11: the run continues at
	// the boundary after cycle 12, with the window for cycle 13's rise open.
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 11*7*24*time.Hour-time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	c := continued(t, env).Continued
	require.Equal(t, 12, c.Cycle)
	require.NotNil(t, c.Consent, "the window for cycle 13's rise opened 30 days ahead, in the first run")
	require.Equal(t, billing.ConsentRequired, c.Consent.Status)
	require.Equal(t, int64(4900), c.Consent.AmountBefore)
	require.Equal(t, int64(9900), c.Consent.AmountAfter)
	require.Equal(t, int64(4900), c.PaidPrice)
	require.NoError(t, c.ValidateCarried())
	b.checkInvariants(*c)
}

// TestFirstChargeIsCarriedAcrossContinueAsNew: a run that continues as new during a free trial
// carries first_charge "anchor" (versionTrialFirstCharge), which the next run needs at the
// trial's end; a carried value that is not one of the input's is refused naming its field.
func TestFirstChargeIsCarriedAcrossContinueAsNew(t *testing.T) {
	start := kst(2027, time.January, 6, 14, 21)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Year, Count: 1}
	in.Plan.AnchorDay = 8
	in.Plan.Trial = &billing.Trial{Days: 45}
	in.FirstCharge = billing.FirstChargeAnchor
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 10*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	c := continued(t, env).Continued
	require.False(t, c.TrialEndsAt.IsZero(), "the run continued during the trial")
	require.Equal(t, billing.FirstChargeAnchor, c.FirstCharge)
	require.NoError(t, c.ValidateCarried())
	b.checkInvariants(*c)
	forged := *c
	forged.FirstCharge = "later"
	require.ErrorContains(t, forged.ValidateCarried(), "continued.first_charge")
}

func TestTrialInputIsChecked(t *testing.T) {
	for _, tc := range []struct {
		trial billing.Trial
		want  string
	}{
		{billing.Trial{Days: 3}, "at least 7"},
		{billing.Trial{Days: 14, Cycles: 2, Amount: 100}, "not both"},
		{billing.Trial{Cycles: 2, Amount: 9900}, "below the plan's amount"},
		{billing.Trial{}, `needs "days"`},
	} {
		in := monthly()
		in.Plan.Trial = &tc.trial
		in.Normalize()
		require.ErrorContains(t, in.Validate(), tc.want)
	}
}
