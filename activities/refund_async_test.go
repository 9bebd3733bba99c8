package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

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
	b.acts.Config.CancelSettleWait = -1 // the emulator's clock is moved by hand: no waiting inside an attempt
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

// TestV2RefundStillRequestedIsFoundAskedFor: a cancel PortOne keeps REQUESTED for long (here a
// day) has been asked for: the refund's retry must find it so (PortOne's pending amount) and
// report the refund made, not send it again. Sent again it carries an expected remainder the
// pending cancel has spoken for, PortOne refuses it (CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN) and
// the workflow, told the refund was refused, asked again for a day with the refund recomputed,
// then closed the subscription recording no refund while PortOne gave 10248 back (the sweep,
// seed 253894713 on V2 with cancels finished after 26 hours).
func TestV2RefundStillRequestedIsFoundAskedFor(t *testing.T) {
	b := newBothGateways(t, true)
	b.acts.Config.CancelSettleWait = -1 // the emulator's clock is moved by hand: no waiting inside an attempt
	b.emu.SetV2AsyncCancel(true, 26*time.Hour)
	paid, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
		CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: 35870, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	in := activities.RefundInput{ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: 10248, PaymentAmount: 35870,
		Reason: "중도 해지", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2}
	_, err = run[activities.RefundResult](t, b.env, b.acts.Refund, in)
	require.Error(t, err, "REQUESTED has given nothing back yet")

	b.clk.Advance(time.Minute) // the activity's retry, the cancel still REQUESTED
	res, err := run[activities.RefundResult](t, b.env, b.acts.Refund, in)
	require.NoError(t, err, "the refund is asked for: PortOne finishes it")
	require.True(t, res.AlreadyDone)
	require.EqualValues(t, 10248, res.Refunded)

	b.clk.Advance(26 * time.Hour)
	var cancelled int64
	for _, e := range b.emu.Ledger() {
		if e.MerchantUID == "sub-2-c1" {
			cancelled += e.CancelAmount
		}
	}
	require.EqualValues(t, 10248, cancelled, "asked for once, given back once")
}

// requireErrorType checks that err is a Temporal application error of type typ.
func requireErrorType(t *testing.T, err error, typ string, msg string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr, msg)
	require.Equal(t, typ, appErr.Type(), "%s: %v", msg, err)
}

// TestV2RefundSettlesAnAsynchronousCancel: the Refund activity waits, looking the payment up
// again, for a cancel PortOne answered REQUESTED to end: SUCCEEDED is the refund made; FAILED is
// a refusal (ErrTypeGatewayRejected, non-retryable, as a cancel answered FAILED at once: the
// workflow parks the subscription and tries the cancel again later) and nothing was refunded,
// so the next try sends it again and it is made once; still REQUESTED when the bounded wait is
// over, it is counted made as asked (as before the wait existed) and never sent again. PortOne
// finishes the cancel while the activity waits (the emulator's clock moved from another
// goroutine). Before the wait, a cancel PortOne later failed was counted made (the retry found
// it REQUESTED): the FAILED row fails there.
func TestV2RefundSettlesAnAsynchronousCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		// fail makes the cancel end FAILED; finishAfter is when PortOne finishes it (0: not
		// within the wait).
		fail        bool
		finishAfter time.Duration
		wantType    string // "" : made
	}{
		{name: "succeeded while waiting", finishAfter: 700 * time.Millisecond},
		{name: "failed while waiting", fail: true, finishAfter: 700 * time.Millisecond, wantType: activities.ErrTypeGatewayRejected},
		{name: "still requested when the wait is over: counted as asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBothGateways(t, true)
			b.acts.Config.CancelSettleWait = 4 * time.Second
			paid, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
				CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: 20000, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
			require.NoError(t, err)
			b.emu.SetV2AsyncCancel(true, time.Hour)
			b.emu.SetV2AsyncCancelFail(tc.fail)
			if tc.finishAfter > 0 {
				timer := time.AfterFunc(tc.finishAfter, func() {
					b.clk.Advance(time.Hour + time.Minute)
					b.emu.RunDue()
				})
				t.Cleanup(func() { timer.Stop() })
			}
			in := activities.RefundInput{ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: 8000, PaymentAmount: 20000,
				Reason: "중도 해지", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2}
			began := time.Now()
			res, err := run[activities.RefundResult](t, b.env, b.acts.Refund, in)
			require.Less(t, time.Since(began), 10*time.Second, "the wait is bounded")
			cancelled := func() int64 { return b.emu.V2Attempts("sub-2-c1")[0].CancelAmount }
			if tc.wantType == "" {
				require.NoError(t, err)
				require.EqualValues(t, 8000, res.Refunded)
				require.Equal(t, tc.finishAfter == 0, res.Pending, "pending only while PortOne holds it REQUESTED")
				if tc.finishAfter == 0 {
					require.Zero(t, cancelled(), "asked for, not given back yet")
					st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{
						ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: 8000, Gateway: billing.GatewayPortOneV2})
					require.NoError(t, err)
					require.Equal(t, activities.RefundRequested, st.Status)
					require.GreaterOrEqual(t, time.Since(began), 3*time.Second, "waited before counting it")
					b.clk.Advance(time.Hour + time.Minute)
					b.emu.RunDue()
				}
				require.EqualValues(t, 8000, cancelled(), "given back once")
				st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{
					ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: 8000, Gateway: billing.GatewayPortOneV2})
				require.NoError(t, err)
				require.Equal(t, activities.RefundSucceeded, st.Status)
				return
			}
			requireErrorType(t, err, tc.wantType, "not made")
			require.Zero(t, cancelled(), "nothing was given back")
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.True(t, appErr.NonRetryable(), "a failed cancel is a refusal, not retried as such")
			require.Contains(t, err.Error(), "ended FAILED: nothing was refunded")
			st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{
				ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: 8000, Gateway: billing.GatewayPortOneV2})
			require.NoError(t, err)
			require.Equal(t, activities.RefundFailed, st.Status, "FAILED: the amount is cancellable again")
			// The workflow's next try sends it again (and it is made: cancels are synchronous now).
			b.emu.SetV2AsyncCancel(false, 0)
			b.emu.SetV2AsyncCancelFail(false)
			res, err = run[activities.RefundResult](t, b.env, b.acts.Refund, in)
			require.NoError(t, err)
			require.EqualValues(t, 8000, res.Refunded)
			require.EqualValues(t, 8000, cancelled(), "given back once")
		})
	}
}

// TestV2RefundStatusTellsTwoRequestedRefundsApart: two refunds of one V2 payment held REQUESTED
// at once (a cancel's share and the credit refunded with it, or a refund asked while an earlier
// one is still asynchronous) finish on their own: one may succeed while the other is still
// REQUESTED or has FAILED. Read from the payment's totals alone, the later one was misread:
// succeeded said still requested (the charge.refunded event held back until the other
// settled), and still requested said FAILED, which made the workflow send it again with a
// stale expected remainder, PortOne refuse it, and the state record it failed while PortOne
// then gave it back. Each refund is now told by its own cancellation (its ID when the workflow
// has it, else the one cancellation of its amount).
func TestV2RefundStatusTellsTwoRequestedRefundsApart(t *testing.T) {
	const paymentAmount, first, second = 9900, 3000, 2000
	for _, tc := range []struct {
		name string
		// failFirst makes the first cancel end FAILED (after 2 hours); the second ends
		// SUCCEEDED after secondAfter.
		failFirst   bool
		secondAfter time.Duration
		lookAfter   time.Duration
		wantFirst   string
		wantSecond  string
	}{
		{name: "the first still requested, the second succeeded", secondAfter: time.Hour, lookAfter: 90 * time.Minute,
			wantFirst: activities.RefundRequested, wantSecond: activities.RefundSucceeded},
		{name: "the first failed, the second still requested", failFirst: true, secondAfter: 5 * time.Hour, lookAfter: 3 * time.Hour,
			wantFirst: activities.RefundFailed, wantSecond: activities.RefundRequested},
		{name: "both succeeded", secondAfter: time.Hour, lookAfter: 3 * time.Hour,
			wantFirst: activities.RefundSucceeded, wantSecond: activities.RefundSucceeded},
		{name: "the first failed, the second succeeded", failFirst: true, secondAfter: time.Hour, lookAfter: 3 * time.Hour,
			wantFirst: activities.RefundFailed, wantSecond: activities.RefundSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBothGateways(t, true)
			b.acts.Config.CancelSettleWait = -1 // the emulator's clock is moved by hand
			paid, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
				CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: paymentAmount, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
			require.NoError(t, err)
			ask := func(amount, prior int64) activities.RefundResult {
				t.Helper()
				in := activities.RefundInput{ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: amount, PaymentAmount: paymentAmount,
					PriorCancelled: prior, Reason: "중도 해지", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2}
				_, err := run[activities.RefundResult](t, b.env, b.acts.Refund, in)
				require.Error(t, err, "REQUESTED has given nothing back yet")
				res, err := run[activities.RefundResult](t, b.env, b.acts.Refund, in) // the activity's retry
				require.NoError(t, err)
				require.True(t, res.Pending, "asked for, not finished")
				return res
			}
			b.emu.SetV2AsyncCancel(true, 2*time.Hour)
			b.emu.SetV2AsyncCancelFail(tc.failFirst)
			ask(first, 0)
			b.emu.SetV2AsyncCancel(true, tc.secondAfter)
			b.emu.SetV2AsyncCancelFail(false)
			ask(second, first) // the first, requested, counts in what the workflow knows

			b.clk.Advance(tc.lookAfter)
			b.emu.RunDue()
			status := func(amount, prior int64) string {
				t.Helper()
				st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{
					ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: amount, PriorCancelled: prior, Gateway: billing.GatewayPortOneV2})
				require.NoError(t, err)
				return st.Status
			}
			require.Equal(t, tc.wantFirst, status(first, 0), "the first refund")
			require.Equal(t, tc.wantSecond, status(second, first), "the second refund")
		})
	}
}

// TestV2RefundFollowsItsOwnCancellation: two refunds of the same amount held REQUESTED on one
// payment cannot be told apart by amount; the cancellation ID PortOne answered each cancel with
// (RefundResult.CancellationID, recorded by the workflow and given back in
// RefundStatusInput.CancellationID) can. Without it the totals answer for both: the failed
// first one read as still requested and the requested second one as failed.
func TestV2RefundFollowsItsOwnCancellation(t *testing.T) {
	const paymentAmount, each = 9900, 3000
	b := newBothGateways(t, true)
	b.acts.Config.CancelSettleWait = time.Millisecond // one look, then answered as asked for
	paid, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
		CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: paymentAmount, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	ask := func(prior int64) activities.RefundResult {
		t.Helper()
		res, err := run[activities.RefundResult](t, b.env, b.acts.Refund, activities.RefundInput{ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1",
			Amount: each, PaymentAmount: paymentAmount, PriorCancelled: prior, Reason: "부분 환불", Requester: billing.RequesterAdmin, Gateway: billing.GatewayPortOneV2})
		require.NoError(t, err)
		require.True(t, res.Pending)
		require.NotEmpty(t, res.CancellationID, "PortOne named the cancellation in its answer")
		return res
	}
	b.emu.SetV2AsyncCancel(true, time.Hour)
	b.emu.SetV2AsyncCancelFail(true)
	first := ask(0)
	b.emu.SetV2AsyncCancel(true, 5*time.Hour)
	b.emu.SetV2AsyncCancelFail(false)
	second := ask(each)
	require.NotEqual(t, first.CancellationID, second.CancellationID)

	b.clk.Advance(2 * time.Hour) // the first ended FAILED; the second is still REQUESTED
	b.emu.RunDue()
	status := func(prior int64, id string) string {
		t.Helper()
		st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{
			ImpUID: paid.ImpUID, MerchantUID: "sub-2-c1", Amount: each, PriorCancelled: prior, Gateway: billing.GatewayPortOneV2, CancellationID: id})
		require.NoError(t, err)
		return st.Status
	}
	require.Equal(t, activities.RefundFailed, status(0, first.CancellationID))
	require.Equal(t, activities.RefundRequested, status(each, second.CancellationID))

	b.clk.Advance(4 * time.Hour)
	b.emu.RunDue()
	require.Equal(t, activities.RefundSucceeded, status(each, second.CancellationID))
}
