package e2e

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// listIDs returns the subscription IDs a visibility query finds.
func (s *stack) listIDs(query string) []string {
	res, err := s.c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns, Query: query})
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range res.Executions {
		if id, ok := billing.SubscriptionIDFromWorkflowID(e.GetExecution().GetWorkflowId()); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestConcurrentSubscriptionsFoundByStatus runs several subscriptions with demo intervals at once,
// each driven into a different status, and finds each through the BillingStatus search
// attribute, as an operator would with `temporal workflow list --query`.
func TestConcurrentSubscriptionsFoundByStatus(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, c := range []string{"fl-a", "fl-b", "fl-c", "fl-d", "fl-e", "fl-f"} {
		s.register(c)
	}
	s.emu.AddFault(portonetest.Fault{CustomerUID: "fl-c", Action: portonetest.FaultDecline, Reason: "잔액부족"})
	s.emu.AddFault(portonetest.Fault{CustomerUID: "fl-d", Action: portonetest.FaultDecline, Hard: true})

	s.start(demoInput("fl-a", "fl-a", 2*time.Second))
	s.start(demoInput("fl-b", "fl-b", 3*time.Second))
	s.start(demoInput("fl-c", "fl-c", 60*time.Second)) // declined: past due for a while
	s.start(demoInput("fl-d", "fl-d", 60*time.Second)) // hard decline: payment method required
	s.start(demoInput("fl-e", "fl-e", 2*time.Second))
	s.start(demoInput("fl-f", "fl-f", 2*time.Second))
	s.start(demoInput("fl-g", "fl-nobody", 2*time.Second)) // never registered

	eventually(t, 30*time.Second, "first charges", func() bool {
		return len(s.paid("fl-e-")) >= 1 && len(s.paid("fl-f-")) >= 1
	})
	_, err := s.update("fl-e", billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "e2e"})
	require.NoError(t, err)
	_, err = s.update("fl-f", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e"})
	require.NoError(t, err)

	want := map[billing.Status][]string{
		billing.StatusActive:                {"fl-a", "fl-b"},
		billing.StatusPastDue:               {"fl-c"},
		billing.StatusPaymentMethodRequired: {"fl-d"},
		billing.StatusPaused:                {"fl-e"},
		billing.StatusCanceled:              {"fl-f"},
		billing.StatusAwaitingRegistration:  {"fl-g"},
	}
	for status, ids := range want {
		q := "WorkflowType='Subscription' AND BillingStatus='" + string(status) + "'"
		eventually(t, 20*time.Second, q, func() bool { return equal(s.listIDs(q), ids) })
	}
	// Both active subscriptions kept billing side by side, one charge per cycle each.
	eventually(t, 20*time.Second, "several cycles each", func() bool { return len(s.paid("fl-a-")) >= 3 && len(s.paid("fl-b-")) >= 3 })
	for _, id := range []string{"fl-a", "fl-b", "fl-c", "fl-d"} {
		_, err := s.update(id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
		require.NoError(t, err, id)
		s.checkMoneyInvariants(s.state(id))
	}
	require.Empty(t, s.paid("fl-c-"))
	require.Empty(t, s.paid("fl-d-"))
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
