package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// starter show takes "Next charge" and "Paid through" from billing.State.NextCharge and
// PaidUntil (issue 20, item 4): after a cancel at period end it said "no further charge" and, on
// the next line, "Next charge … (in 29s)".
func TestShowAfterACancelAtPeriodEndPlansNoCharge(t *testing.T) {
	st := pastDueState()
	st.Status, st.StatusReason, st.DunningState = billing.StatusActive, "cycle 3 paid", nil
	st.PaidThrough = st.NextChargeAt
	st.PendingCancel = &billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "그만", Requester: billing.RequesterCustomer,
		RequestedAt: kstTime(2026, 1, 17, 9, 0)}
	var b bytes.Buffer
	renderState(&b, st, workflowInfo{WorkflowID: "subscription/sub-1001"}, kstTime(2026, 2, 15, 9, 59), showOptions{})
	out := b.String()
	require.Contains(t, out, "Next charge:     none: canceled at the end of the period (2026-02-15 10:00:00 KST)\n")
	require.Contains(t, out, "Paid through:    2026-02-15 10:00:00 KST\n")
	require.NotContains(t, out, "(in ")

	// Canceled now with a full refund: the refunded period is not paid through.
	st.PendingCancel = nil
	st.Status, st.EndedAt = billing.StatusCanceled, kstTime(2026, 1, 17, 9, 0)
	st.Charges[2].Outcome = billing.OutcomePaid
	st.Refunds = append(st.Refunds, billing.RefundRecord{Cycle: 3, ImpUID: st.Charges[2].ImpUID, Amount: 9900})
	b.Reset()
	renderState(&b, st, workflowInfo{WorkflowID: "subscription/sub-1001"}, kstTime(2026, 1, 17, 10, 0), showOptions{})
	require.Contains(t, b.String(), "Paid through:    2026-01-15 10:00:00 KST\n")
	require.Contains(t, b.String(), "Next charge:     none: the subscription ended\n")
}
