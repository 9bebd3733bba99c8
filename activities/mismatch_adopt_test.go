package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestAPaidAmountThatDiffersIsNeverAdopted: a charge PortOne approved for another amount than
// the one asked is cancelled at once (the money rule). When that cancel does not finish inside
// the try (V2 answers it REQUESTED, an asynchronous cancel; or it fails before PortOne stored
// it), the retry's look-first finds the payment still paid. It used to adopt it as this
// attempt's payment: the state recorded 21,000 KRW paid for a 20,000 KRW cycle, and on V2
// PortOne then gave all of it back while the subscription counted the cycle paid. The look
// holds the found payment to the same rule: the outcome is amount_mismatch, the cancel is asked
// once (a second is not sent while one is REQUESTED), and PortOne ends with nothing kept.
func TestAPaidAmountThatDiffersIsNeverAdopted(t *testing.T) {
	const asked, approved = 20000, 21000
	cycle := billing.CyclePaymentID{SubscriptionID: "sub-2", Tag: "t1", Cycle: 1}.String()
	for _, tc := range []struct {
		name string
		v2   bool
		// paymentID is the cycle's shared V2 paymentId ("" : the attempt's own merchant_uid).
		paymentID string
		async     bool
		fault     *portonetest.Fault // on the mismatch's cancel
		firstErr  bool               // the first try ends in an error (retried)
		wantWord  string
	}{
		{name: "V2 cycle paymentId, the cancel answered REQUESTED", v2: true, paymentID: cycle, async: true, wantWord: "requested"},
		{name: "V2 attempt's own paymentId, the cancel answered REQUESTED", v2: true, async: true, wantWord: "requested"},
		{name: "V1, the cancel fails before PortOne stored it", firstErr: true, wantWord: "cancelled",
			fault: &portonetest.Fault{Op: portonetest.OpCancel, Action: portonetest.FaultErrorBeforeCommit, Times: 1}},
		{name: "V2, the cancel fails before PortOne stored it", v2: true, paymentID: cycle, firstErr: true, wantWord: "cancelled",
			fault: &portonetest.Fault{Op: portonetest.OpV2Cancel, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 503, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBothGateways(t, true)
			b.acts.Config.CancelSettleWait = -1
			in := activities.ChargeInput{SubscriptionID: "sub-1", Cycle: 1, Attempt: 1, CustomerUID: b.v1Key,
				MerchantUID: "sub-1-t1-1-1", Amount: asked, Name: "월 구독"}
			if tc.v2 {
				in.SubscriptionID, in.CustomerUID, in.MerchantUID, in.PaymentID, in.Gateway = "sub-2", b.v2Key, "sub-2-t1-1-1", tc.paymentID, billing.GatewayPortOneV2
			}
			id := in.MerchantUID
			if tc.paymentID != "" {
				id = tc.paymentID
			}
			b.emu.AddFault(portonetest.Fault{MerchantUID: id, Action: portonetest.FaultAmountMismatch, PaidAmount: approved, Times: 1})
			if tc.fault != nil {
				b.emu.AddFault(*tc.fault)
			}
			b.emu.SetV2AsyncCancel(tc.async, 2*time.Hour)
			first, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, in)
			if tc.firstErr {
				require.Error(t, err, "the cancel's failure is retried")
			} else {
				require.NoError(t, err)
				require.Equal(t, billing.OutcomeAmountMismatch, first.Outcome, "%+v", first)
			}
			b.clk.Advance(time.Minute)
			retry := in
			retry.Attempt = 2 // the look-first of a retried attempt
			again, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, retry)
			require.NoError(t, err)
			require.Equal(t, billing.OutcomeAmountMismatch, again.Outcome, "never adopted as paid: %+v", again)
			require.Contains(t, again.Reason, tc.wantWord)

			b.clk.Advance(3 * time.Hour)
			b.emu.RunDue()
			var charged, cancelled int64
			var payments int
			for _, le := range b.emu.Ledger() {
				if le.MerchantUID == id && le.Usage == "payment" {
					payments++
					charged += le.Amount
					cancelled += le.CancelAmount
					require.LessOrEqual(t, len(le.Cancels), 1, "the cancel is given back once")
				}
			}
			require.Equal(t, 1, payments, "charged once")
			require.EqualValues(t, approved, charged)
			require.EqualValues(t, approved, cancelled, "nothing kept")
		})
	}
}

// TestAV2ScheduledChargeOfAnotherAmountWhoseCancelIsRequested: PortOne V2's scheduler charges
// another amount than scheduled and the cancel the mismatch rule asks is held REQUESTED. The
// schedule's settling says amount_mismatch with the cancel requested, and settling it again (the
// activity's retry, a later look) neither adopts the payment nor asks the cancel a second time
// with a stale expected remainder (which PortOne refused, failing the settle).
func TestAV2ScheduledChargeOfAnotherAmountWhoseCancelIsRequested(t *testing.T) {
	const asked, approved = 20000, 21000
	b := newBothGateways(t, true)
	b.acts.Config.CancelSettleWait = -1
	pid := billing.CyclePaymentID{SubscriptionID: "sub-2", Tag: "t1", Cycle: 2}.String()
	in := activities.ScheduleChargeInput{ChargeInput: activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 2, Attempt: 1, CustomerUID: b.v2Key,
		MerchantUID: "sub-2-t1-2-1", PaymentID: pid, Amount: asked, Name: "월 구독", Gateway: billing.GatewayPortOneV2}, ScheduleAt: b.clk.Now().Add(time.Hour)}
	b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Action: portonetest.FaultAmountMismatch, PaidAmount: approved, Times: 1})
	b.emu.SetV2AsyncCancel(true, 2*time.Hour)
	_, err := b.env.ExecuteActivity(b.acts.ScheduleCharge, in)
	require.NoError(t, err)
	b.clk.Advance(time.Hour + time.Minute)
	b.emu.RunDue()
	settle := func() activities.ChargeResult {
		t.Helper()
		st, err := run[activities.ScheduleState](t, b.env, b.acts.ScheduleStatus, activities.SettleScheduleInput{CustomerUID: b.v2Key,
			MerchantUID: "sub-2-t1-2-1", PaymentID: pid, Amount: asked, Gateway: billing.GatewayPortOneV2})
		require.NoError(t, err)
		require.True(t, st.Executed())
		return *st.Charge
	}
	for i := range 2 {
		res := settle()
		require.Equal(t, billing.OutcomeAmountMismatch, res.Outcome, "settle %d: %+v", i+1, res)
		require.Contains(t, res.Reason, "requested")
		b.clk.Advance(time.Minute)
	}
	b.clk.Advance(3 * time.Hour)
	b.emu.RunDue()
	require.Equal(t, billing.OutcomeAmountMismatch, settle().Outcome)
	var cancelled int64
	for _, le := range b.emu.Ledger() {
		if le.MerchantUID == pid {
			cancelled += le.CancelAmount
			require.Len(t, le.Cancels, 1, "asked once")
		}
	}
	require.EqualValues(t, approved, cancelled, "nothing kept")
}
