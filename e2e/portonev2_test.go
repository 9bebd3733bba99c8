package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestV2SubscriptionChargesRefundsAndDeletesItsKey is a subscription on PortOne V2 end to end
// (issue 22): a V2 NaverPay key found by the first key check, cycles charged through
// POST /payments/{paymentId}/billing-key, a cancel with a full refund through the
// compare-and-set cancel, and the key deleted with reason and requester, every payment in the
// emulator's ledger made through V2 and the money invariants held.
func TestV2SubscriptionChargesRefundsAndDeletesItsKey(t *testing.T) {
	s := newStack(t, stackOptions{})
	key, err := s.st.IssueV2Key("e2e-v2-issue-1")
	require.NoError(t, err)
	in := demoInput("e2e-v2", key, 2*time.Second)
	in.Gateway = billing.GatewayPortOneV2
	in.Plan.DeleteBillingKeyOnEnd = true
	run := s.start(in)

	eventually(t, 30*time.Second, "two paid cycles", func() bool { return len(s.paid("e2e-v2-")) >= 2 })
	receipt, err := s.update("e2e-v2", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "E2E 종료",
		Requester: billing.RequesterCustomer, Refund: billing.RefundFull})
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, receipt.Status)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	require.Equal(t, billing.GatewayPortOneV2, final.Gateway)

	paid := s.paid("e2e-v2-")
	require.GreaterOrEqual(t, len(paid), 2)
	refunded := 0
	for _, p := range paid {
		require.Equal(t, portonetest.VersionV2, p.Version, "%s went through V2", p.MerchantUID)
		require.Equal(t, key, p.CustomerUID)
		require.EqualValues(t, 9900, p.Amount)
		if p.CancelAmount > 0 {
			refunded++
			require.EqualValues(t, p.Amount, p.CancelAmount, "the last cycle refunded in full")
		}
	}
	require.Equal(t, 1, refunded, "one refund, made once")
	require.NotEmpty(t, final.Refunds)
	s.checkMoneyInvariants(final)

	k, ok := s.emu.BillingKeyV2(key)
	require.True(t, ok)
	require.Equal(t, "DELETED", k.Status)
	require.NotEmpty(t, k.DeleteReason)
	require.Equal(t, "CUSTOMER", k.DeleteRequester)
}

// TestV2ScheduleMode: PortOne V2's scheduler charges each cycle at timeToPay on the emulator's
// clock; the workflow finds each schedule by its key and settles it from the payment.
func TestV2ScheduleMode(t *testing.T) {
	s := newStack(t, stackOptions{settleDelay: time.Second})
	key, err := s.st.IssueV2Key("e2e-v2-issue-2")
	require.NoError(t, err)
	in := demoInput("e2e-v2s", key, 3*time.Second)
	in.Gateway = billing.GatewayPortOneV2
	in.Plan.ChargeMode = billing.ChargeModeSchedule
	run := s.start(in)

	eventually(t, 40*time.Second, "three paid cycles", func() bool { return len(s.paid("e2e-v2s-")) >= 3 })
	_, err = s.update("e2e-v2s", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "E2E 종료", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	scheduled := 0
	for _, p := range s.paid("e2e-v2s-") {
		require.Equal(t, portonetest.VersionV2, p.Version)
		if p.ScheduleID != "" {
			scheduled++
		}
	}
	// The first cycle is charged at once, and a cycle due too soon after a schedule could be
	// registered is charged by the workflow (as on V1): at least one is V2's scheduler's.
	require.GreaterOrEqual(t, scheduled, 1, "a cycle charged by V2's scheduler and settled by the workflow")
	s.checkMoneyInvariants(final)
}
