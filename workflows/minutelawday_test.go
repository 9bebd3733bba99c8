package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 23: a 7-day demo trial started by hand ended no_consent 7 seconds later, before anyone
// could send its consent or end it early. On a minute plan a law day lasts a minute
// (versionMinuteLawDay); second plans keep a second a day.
func TestDemoTrialLawDays(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	tests := []struct {
		name string
		unit calendar.Unit
		// trialEnds is the trial's length on this unit's law days.
		trialEnds time.Duration
		// consentAt sends the consent to the trial's end this long after the start (0: none);
		// endTrialAt ends the trial early with a consent dated then (0: not).
		consentAt, endTrialAt time.Duration
		paidAt                []time.Duration
	}{
		{"minute plan, no consent: ends no_consent after 7 minutes", calendar.Minute, 7 * time.Minute, 0, 0, nil},
		{"minute plan, consent after 3 minutes: charged at the trial's end", calendar.Minute, 7 * time.Minute, 3 * time.Minute, 0, []time.Duration{7 * time.Minute}},
		{"minute plan, early conversion after 2 minutes", calendar.Minute, 7 * time.Minute, 0, 2 * time.Minute, []time.Duration{2 * time.Minute}},
		{"second plan keeps a second a day", calendar.Second, 7 * time.Second, 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			in := monthly()
			in.Plan.Interval = calendar.Interval{Unit: tc.unit, Count: 30}
			in.Plan.Trial = &billing.Trial{Days: 7}
			today := date(2025, time.March, 10)
			var during billing.State
			var consent, end updateResult
			env.RegisterDelayedCallback(func() { during = query(t, env) }, tc.trialEnds/7)
			if tc.consentAt > 0 {
				env.RegisterDelayedCallback(func() {
					update(env, billing.MsgConsent, consentRequest(true, 0, 9900, today, env.Now()), &consent)
				}, tc.consentAt)
			}
			if tc.endTrialAt > 0 {
				env.RegisterDelayedCallback(func() {
					c := consentRequest(true, 0, 9900, today, env.Now().Add(-time.Second))
					update(env, billing.MsgEndTrial, billing.EndTrialRequest{Reason: "지금 시작할래요", Consent: &c}, &end)
				}, tc.endTrialAt)
			}
			// Ends the paid runs after their first charge, before the second one.
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "demo over"})
			}, tc.trialEnds+10*time.Second)
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			require.Equal(t, "trial", during.Phase)
			require.Equal(t, start.Add(tc.trialEnds).UTC(), during.TrialEndsAt.UTC(), "the trial lasts 7 law days")
			require.NotNil(t, during.Consent, "the consent window is open during the trial")
			require.Equal(t, billing.ConsentRequired, during.Consent.Status)
			if tc.consentAt > 0 {
				require.NoError(t, firstErr(consent.rejected, consent.err))
			}
			if tc.endTrialAt > 0 {
				require.NoError(t, firstErr(end.rejected, end.err))
			}
			var want []string
			for _, d := range tc.paidAt {
				want = append(want, start.Add(d).In(calendar.Seoul).Format("2006-01-02 15:04"))
			}
			require.Equal(t, want, b.paidDates())
			if tc.paidAt == nil {
				require.Equal(t, billing.ReasonNoConsent, st.StatusReason)
				require.Equal(t, start.Add(tc.trialEnds).UTC(), st.EndedAt.UTC())
			} else {
				require.Equal(t, "demo over", st.StatusReason)
			}
			requireNoRiseWithoutConsent(t, b, st, true)
			b.checkInvariants(st)
		})
	}
}
