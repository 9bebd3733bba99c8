package activities_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// loseV2Answers passes every charge through to PortOne V2 but throws the answer of the first n
// away, as a connection that breaks after PortOne answered.
type loseV2Answers struct {
	gateway.Gateway
	mu sync.Mutex
	n  int
}

func (g *loseV2Answers) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.Payment, error) {
	p, err := g.Gateway.Charge(ctx, req)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n > 0 {
		g.n--
		return gateway.Payment{}, gateway.UnknownOutcome("POST /payments/{paymentId}/billing-key", req.PaymentID, errors.New("answer lost (test)"))
	}
	return p, err
}

// TestARetryLooksFirstOnV2 is TestARetryLooksFirst on PortOne V2's pay
// (POST /payments/{paymentId}/billing-key): PortOne commits and the connection drops, answers
// after the client gave up, or the answer of a payment or a decline is lost; or PortOne fails
// with a 5xx or is too slow before storing anything. Temporal's retry looks the paymentId up
// first and settles from what it finds: the V2 ledger holds exactly one approved transaction,
// or one declined one and no second try; the result names the transaction PortOne holds, and
// internal/ledgercheck's invariants hold.
func TestARetryLooksFirstOnV2(t *testing.T) {
	tests := []struct {
		name     string
		fault    *portonetest.Fault
		lose     int
		wantOut  billing.Outcome
		adopted  bool
		wantPaid int
		wantTxs  int // V2 transactions under the paymentId
	}{
		{name: "PortOne commits, then the connection drops",
			fault:   &portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultCommitThenDrop, Times: 1},
			wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTxs: 1},
		{name: "PortOne commits and answers after the client timed out",
			fault:   &portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultLatencyAfterCommit, Latency: 3 * time.Second, Times: 1},
			wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTxs: 1},
		{name: "a paid answer is lost", lose: 1, wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTxs: 1},
		{name: "a decline's answer is lost: the decline stands, nothing is charged again", lose: 1,
			fault:   &portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1},
			wantOut: billing.OutcomeDeclined, adopted: true, wantPaid: 0, wantTxs: 1},
		{name: "a 5xx before anything was stored: the retry finds nothing and charges",
			fault:   &portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 503, Times: 1},
			wantOut: billing.OutcomePaid, wantPaid: 1, wantTxs: 1},
		{name: "slow PortOne: the client gives up before anything was stored",
			fault:   &portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultLatency, Latency: 3 * time.Second, Times: 1},
			wantOut: billing.OutcomePaid, wantPaid: 1, wantTxs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := portonetest.New(portonetest.Options{})
			srv := httptest.NewServer(emu.V2Handler())
			t.Cleanup(func() { emu.Close(); srv.Close() })
			v2, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: time.Second})
			require.NoError(t, err)
			k, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-1", IssueName: "월 구독", NaverAccount: "naver-1"})
			require.NoError(t, err)
			if tt.fault != nil {
				emu.AddFault(*tt.fault)
			}
			v1, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret}, portone.WithBaseURL(srv.URL))
			require.NoError(t, err)
			acts := &activities.Activities{Gateway: portonev1.New(v1), GatewayV2: &loseV2Answers{Gateway: v2, n: tt.lose}}
			in := activities.ChargeInput{SubscriptionID: "sub-1", Cycle: 1, Attempt: 1, CustomerUID: k.BillingKey, MerchantUID: "sub-1-abcd-1-1",
				Amount: 9900, Name: "Premium", Gateway: billing.GatewayPortOneV2}
			res, tries := chargeWithRetriesOn(t, acts, in)
			require.Equal(t, tt.wantOut, res.Outcome)
			require.Equal(t, tt.adopted, res.Adopted)
			require.Equal(t, in.MerchantUID, res.MerchantUID)
			require.Equal(t, 2, tries, "one retry settles it")
			require.Equal(t, tt.wantPaid, emu.PaidCount(in.MerchantUID))
			require.Len(t, emu.V2Attempts(in.MerchantUID), tt.wantTxs, "transactions under the paymentId")
			for _, e := range emu.Ledger() {
				if e.Usage != "issue" {
					require.Equal(t, portonetest.VersionV2, e.Version)
					require.Equal(t, res.ImpUID, e.ImpUID, "the result names the transaction PortOne holds")
				}
			}
			problems := ledgercheck.Check(emu.Ledger(), ledgercheck.Subscription{ID: "sub-1", Gateway: billing.GatewayPortOneV2,
				Charges: []billing.ChargeRecord{{Cycle: 1, Attempt: 1, MerchantUID: res.MerchantUID, ImpUID: res.ImpUID, Amount: res.Amount, Outcome: res.Outcome}}})
			require.Empty(t, problems)
		})
	}
}

// chargeWithRetriesOn runs Charge on acts as the subscription workflow does (Temporal retries
// it, up to five tries) and returns the result and the number of tries.
func chargeWithRetriesOn(t *testing.T, acts *activities.Activities, in activities.ChargeInput) (activities.ChargeResult, int) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second})
	tries := 0
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { tries++ })
	env.RegisterActivity(acts)
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in activities.ChargeInput) (activities.ChargeResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5,
				NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
		})
		var res activities.ChargeResult
		err := workflow.ExecuteActivity(ctx, acts.Charge, in).Get(ctx, &res)
		return res, err
	}, workflow.RegisterOptions{Name: "ChargeWithRetriesOn"})
	env.ExecuteWorkflow("ChargeWithRetriesOn", in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res activities.ChargeResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, tries
}
