package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paycycle/paycycle/billing"
)

// TestAgainModeThreeCyclesThenCancel is issue #3's end-to-end requirement: a subscription with a
// short interval charges three cycles, is canceled, and the emulator's ledger holds exactly the
// expected paid payments — with buyer data never stored in clear in the history.
func TestAgainModeThreeCyclesThenCancel(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.register("e2e-cust-1")
	in := demoInput("e2e-1", "e2e-cust-1", 2*time.Second)
	run := s.start(in)

	eventually(t, 30*time.Second, "three paid cycles", func() bool { return len(s.paid("e2e-1-")) >= 3 })
	receipt, err := s.update("e2e-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "E2E 종료", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, receipt.Status)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)

	paid := s.paid("e2e-1-")
	require.GreaterOrEqual(t, len(paid), 3)
	require.LessOrEqual(t, len(paid), 4, "the cancel may race the fourth cycle's due time, never more")
	tag := billing.IncarnationTag(run.GetRunID())
	for i, p := range paid {
		require.Equal(t, billing.ChargeUID{SubscriptionID: "e2e-1", Tag: tag, Cycle: i + 1, Attempt: 1}.String(), p.MerchantUID)
		require.Equal(t, int64(9900), p.Amount)
		require.Equal(t, "e2e-cust-1", p.CustomerUID)
	}
	require.Len(t, final.Charges, len(paid))
	s.checkMoneyInvariants(final)
	require.Never(t, func() bool { return len(s.paid("e2e-1-")) != len(paid) }, 3*time.Second, 200*time.Millisecond, "no charge after the cancel")

	// Visibility: the search attributes say canceled.
	eventually(t, 15*time.Second, "visibility to show the canceled subscription", func() bool {
		res, err := s.c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.ns, Query: "BillingStatus='canceled' AND CustomerUID='e2e-cust-1'",
		})
		return err == nil && len(res.Executions) == 1
	})

	// Personal data never reaches the history in clear.
	h := string(s.historyJSON(billing.WorkflowID("e2e-1"), run.GetRunID()))
	for _, secret := range []string{"010-5555-1234", "buyer@example.com", "홍길동", portonetest_secret()} {
		require.False(t, strings.Contains(h, secret), "history contains %q in clear", secret)
	}
}

func TestDuplicateStartIsRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.register("e2e-cust-2")
	s.start(demoInput("e2e-2", "e2e-cust-2", 5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.c.ExecuteWorkflow(ctx, clientStartOptions("e2e-2"), billing.WorkflowType, demoInput("e2e-2", "e2e-cust-2", 5*time.Second))
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	require.ErrorAs(t, err, &already, "a second start for the same subscription is refused, not duplicated")
	_, err = s.update("e2e-2", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "done"})
	require.NoError(t, err)
}
