package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paycycle/paycycle/billing"
)

// TestFreeTrialConsentGateOnARealServer runs issue 14's main path on a real server with the
// real worker and the emulator: a free trial verifies the key and charges nothing, asks for
// consent at once (the change is nearer than 30 days) and lists it through the ConsentStatus
// search attribute; the consent is recorded with its evidence; billing starts at the trial's
// end; a later rise nobody consents to is never charged and ends the subscription (no_consent).
func TestFreeTrialConsentGateOnARealServer(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.register("cust-trial")
	in := demoInput("trial-1", "cust-trial", 5*time.Second)
	in.Plan.Trial = &billing.Trial{Days: 10} // demo: the law's days are seconds
	run := s.start(in)
	eventually(t, 20*time.Second, "consent required", func() bool {
		st, err := s.tryState("trial-1")
		return err == nil && st.Consent != nil && st.Consent.Status == billing.ConsentRequired
	})
	st := s.state("trial-1")
	require.Equal(t, "trial", st.Phase)
	require.Empty(t, s.paid("trial-1-"), "nothing is charged during a free trial")
	eventually(t, 20*time.Second, "listed by ConsentStatus", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns,
			Query: "ConsentStatus = 'required' AND BillingPhase = 'trial'"})
		return err == nil && len(res.GetExecutions()) == 1
	})

	c := st.Consent
	wrong := consentFor(c, c.AmountAfter+1000)
	_, err := s.update("trial-1", billing.MsgConsent, wrong)
	require.ErrorContains(t, err, "amount_before/amount_after", "a consent for other amounts is refused")
	_, err = s.update("trial-1", billing.MsgConsent, consentFor(c, c.AmountAfter))
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the first paid cycle", func() bool { return len(s.paid("trial-1-")) >= 1 })
	require.Equal(t, int64(9900), s.paid("trial-1-")[0].Amount)

	_, err = s.update("trial-1", billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900, Name: "E2E Plus"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	require.Equal(t, billing.ReasonNoConsent, final.StatusReason)
	for _, p := range s.paid("trial-1-") {
		require.LessOrEqual(t, p.Amount, int64(9900), "12,900 is never charged without consent")
	}
	require.NotEmpty(t, final.ConsentHistory)
	require.Equal(t, "rec-1", final.ConsentHistory[0].Evidence.RecordID)
	s.checkMoneyInvariants(final)
}

func consentFor(c *billing.ConsentState, after int64) billing.ConsentRequest {
	yes := true
	return billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app", ShownText: "체험 종료 후 정기결제가 시작됩니다",
		AmountBefore: c.AmountBefore, AmountAfter: after, ChangeDate: c.ChangeDate, RecordID: "rec-1"}
}
