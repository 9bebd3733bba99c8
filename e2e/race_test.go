package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestCancelAcceptedBeforeTheDueTimeWinsInOneWorkflowTask reproduces what a load test showed:
// when the worker is busy (or down), a cancel accepted before the next charge was due and the
// timer of that charge reach the workflow in the same workflow task. The cancel was accepted
// first, so the cycle must not be charged. Here the worker is stopped after the first charge,
// the cancel is sent, the due time passes, and a new worker picks both up together.
func TestCancelAcceptedBeforeTheDueTimeWinsInOneWorkflowTask(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	w := s.startWorker(stackOptions{})
	s.register("race-cust")
	run := s.start(demoInput("race-1", "race-cust", 6*time.Second))
	eventually(t, 20*time.Second, "the first charge", func() bool { return len(s.paid("race-1-")) == 1 })
	var before billing.State
	eventually(t, 5*time.Second, "the timer of cycle 2", func() bool {
		st, err := s.tryState("race-1")
		before = st
		return err == nil && st.Cycle == 1 && !st.NextChargeAt.IsZero()
	})
	w.Stop()
	require.Greater(t, time.Until(before.NextChargeAt), time.Second, "the cancel must be accepted well before the due time")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("race-1"), "", billing.MsgCancel,
		billing.CancelRequest{When: billing.Now, Reason: "해지", Requester: billing.RequesterCustomer}))
	time.Sleep(time.Until(before.NextChargeAt) + 2*time.Second) // the timer fires while no worker runs
	s.startWorker(stackOptions{})

	var final billing.State
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	require.NoError(t, run.Get(rctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	require.Len(t, s.paid("race-1-"), 1, "cycle 2 fell due after the cancel was accepted: it must not be charged")
	s.checkMoneyInvariants(final)
}

// TestUndoWhileTheCancelTakesEffectIsRefused: once a period-end cancel is being carried out
// (here its billing-key deletion is slow at PortOne), an undo can no longer be honoured; it
// must be refused, not answered "withdrawn" while the subscription ends anyway.
func TestUndoWhileTheCancelTakesEffectIsRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.register("undo-cust")
	s.emu.AddFault(portonetest.Fault{CustomerUID: "undo-cust", Op: portonetest.OpDeleteCustomer, Action: portonetest.FaultLatency, Latency: 2 * time.Second, Times: 1})
	in := demoInput("undo-1", "undo-cust", 4*time.Second)
	in.Plan.DeleteBillingKeyOnEnd = true
	run := s.start(in)
	eventually(t, 20*time.Second, "the first charge", func() bool { return len(s.paid("undo-1-")) == 1 })
	_, err := s.update("undo-1", billing.MsgCancel, billing.CancelRequest{Reason: "기간 만료 후 해지", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the key deletion in flight", func() bool { return len(s.emu.FaultFirings()) == 1 })
	_, err = s.update("undo-1", billing.MsgUndoCancel, billing.UndoCancelRequest{Reason: "too late"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "already taking effect")
	var final billing.State
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	require.Len(t, s.paid("undo-1-"), 1)
}
