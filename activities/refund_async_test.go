package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// TestV2RefundFinishedAsynchronouslyReportsWhatPortOneGaveBack: on V2 a cancel PortOne answers
// REQUESTED finishes later (an asynchronous cancel). Until then the refund is an unknown outcome
// and the workflow asks again later, with the refund recomputed for that day (a prorata refund
// shrinks by a day past midnight). When the first cancel has finished meanwhile, the refund is
// found done: it must report what PortOne gave back, not the smaller amount asked the second
// time, or the subscription's state under-reports the refund (found by the sweep, seed
// 253894157 on V2: PortOne refunded 33158, the state said 31776).
func TestV2RefundFinishedAsynchronouslyReportsWhatPortOneGaveBack(t *testing.T) {
	b := newBothGateways(t, true)
	b.emu.SetV2AsyncCancel(true, 2*time.Hour)
	paid, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
		CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: 34540, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, paid.Outcome)
	refund := func(amount int64) (activities.RefundResult, error) {
		return run[activities.RefundResult](t, b.env, b.acts.Refund, activities.RefundInput{ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1",
			Amount: amount, PaymentAmount: 34540, Reason: "중도 해지", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2})
	}
	_, err = refund(33158)
	require.Error(t, err, "REQUESTED has given nothing back yet")

	b.clk.Advance(2*time.Hour + time.Minute) // PortOne finishes the cancel
	res, err := refund(31776)                // asked again the next day
	require.NoError(t, err)
	require.True(t, res.AlreadyDone)
	require.EqualValues(t, 33158, res.CancelledTotal)
	require.EqualValues(t, 33158, res.Refunded, "what PortOne gave back for this refund")
}
