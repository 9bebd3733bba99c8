package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// Issue 20 item 2: a customer in a long free trial who wants to start paying today can, with the
// consent to a conversion dated today carried by end_trial.
func TestEndTrialEarlyWithItsConsent(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	askAt := kst(2025, time.March, 13, 11, 0)
	today := date(2025, time.March, 13)
	tests := []struct {
		name    string
		consent *billing.ConsentRequest
		// refusedWith is the refusal of end_trial, if it must be refused.
		refusedWith string
	}{
		{"with its consent", ptr(consentRequest(true, 0, 9900, today, askAt.Add(-10*time.Minute))), ""},
		{"no consent", nil, "consent: the customer's consent to be charged 9900 KRW from today"},
		{"consent for the trial's end", ptr(consentRequest(true, 0, 9900, date(2025, time.September, 26), askAt)), "consent.change_date: the change takes effect now, on 2025-03-13"},
		{"other amounts", ptr(consentRequest(true, 0, 12900, today, askAt)), "consent.amount_before/amount_after"},
		{"a refusal", ptr(consentRequest(false, 0, 9900, today, askAt)), "consent.granted: must be true"},
		{"incomplete evidence", &billing.ConsentRequest{Granted: ptr(true), At: askAt, Channel: "app", ShownText: "x", AmountAfter: 9900, ChangeDate: today}, "consent.record_id"},
		{"given at sign-up", ptr(consentRequest(true, 0, 9900, today, start)), "consent.at: a consent given at or before sign-up"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			in := monthly()
			in.Plan.Trial = &billing.Trial{Days: 200}
			var consent, end updateResult
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgConsent, consentRequest(true, 0, 9900, today, env.Now()), &consent)
			}, askAt.Add(-time.Hour).Sub(start))
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgEndTrial, billing.EndTrialRequest{Reason: "지금 시작할래요", Consent: tc.consent}, &end)
			}, askAt.Sub(start))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.April, 20, 0, 0).Sub(start))
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			// The consent update alone cannot be given: its window opens 30 days before the
			// trial's end; the refusal says when, and how to start paying now.
			require.ErrorContains(t, firstErr(consent.rejected, consent.err), "at: the consent window for the rise 0 → 9,900 KRW on 2025-09-26 opens at 2025-08-27 10:00 KST")
			require.ErrorContains(t, firstErr(consent.rejected, consent.err), "send end_trial with this consent")
			require.True(t, end.done)
			if tc.refusedWith != "" {
				require.ErrorContains(t, firstErr(end.rejected, end.err), tc.refusedWith)
				require.Empty(t, b.paid(), "still in the trial: nothing charged")
				return
			}
			require.NoError(t, firstErr(end.rejected, end.err))
			require.Equal(t, []string{"2025-03-13 11:00", "2025-04-13 10:00"}, b.paidDates(), "paid from today, then on the new anchor")
			require.Empty(t, auditOf(st, "conversion_notice"), "no 7-day notice for a conversion the customer started")
			closed := auditOf(st, "consent_closed")
			require.NotEmpty(t, closed)
			require.Contains(t, closed[0].Detail, "early_conversion")
			require.Contains(t, closed[0].Detail, "took effect")
			require.Equal(t, "test over", st.StatusReason)
			requireNoRiseWithoutConsent(t, b, st, true)
			b.checkInvariants(st)
		})
	}
}
