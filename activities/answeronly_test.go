package activities_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// countingV2 points b's V2 gateway at the emulator through a counter of the requests it serves.
func countingV2(t *testing.T, b *bothGateways) func() []string {
	t.Helper()
	var mu sync.Mutex
	var reqs []string
	h := b.emu.V2Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.Path)
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 5 * time.Second})
	require.NoError(t, err)
	b.acts.GatewayV2 = gw
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reqs...)
	}
}

// TestAV2ChargeAnsweredByTheApprovalAlone: a V2 cycle charge with AnswerOnly is one request to
// PortOne; its result is paid for the amount asked, without the transactionId, which PortOne's
// answer does not carry. Without AnswerOnly (runs before versionAnswerOnlyCharge) the payment
// is read back for it. A decline is read back either way, so that its transactionId is
// recorded: only an approval is the whole answer.
func TestAV2ChargeAnsweredByTheApprovalAlone(t *testing.T) {
	tests := []struct {
		name       string
		answerOnly bool
		decline    bool
		want       []string
		wantTx     bool
		wantOut    billing.Outcome
	}{
		{"approved, answer only", true, false, []string{"POST /payments/sub-2-t1-c1/billing-key"}, false, billing.OutcomePaid},
		{"approved, read back", false, false, []string{"POST /payments/sub-2-t1-c1/billing-key", "GET /payments/sub-2-t1-c1"}, true, billing.OutcomePaid},
		{"declined, answer only", true, true, []string{"POST /payments/sub-2-t1-c1/billing-key", "GET /payments/sub-2-t1-c1"}, true, billing.OutcomeDeclined},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBothGateways(t, true)
			reqs := countingV2(t, b)
			pid := "sub-2-t1-c1"
			if tc.decline {
				b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
			}
			res, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
				CustomerUID: b.v2Key, MerchantUID: "sub-2-t1-1-1", PaymentID: pid, Amount: 9900, Name: "월 구독",
				Gateway: billing.GatewayPortOneV2, AnswerOnly: tc.answerOnly})
			require.NoError(t, err)
			require.Equal(t, tc.wantOut, res.Outcome)
			require.Equal(t, tc.want, reqs())
			require.EqualValues(t, 9900, res.Amount)
			require.Equal(t, pid, res.PaymentID)
			var tx string
			for _, le := range b.emu.Ledger() {
				if le.MerchantUID == pid {
					tx = le.ImpUID
				}
			}
			if tc.wantTx {
				require.Equal(t, tx, res.ImpUID)
			} else {
				require.Empty(t, res.ImpUID, "PortOne's approval names no transaction")
				require.False(t, res.At.IsZero(), "paidAt is in the approval")
			}
		})
	}
}

// TestASettleAnswered: the read-back of a charge answered by the approval alone names its
// transaction, and holds a payment PortOne approved for another amount to the mismatch rule:
// cancelled at once, nothing kept.
func TestASettleAnswered(t *testing.T) {
	for _, mismatch := range []bool{false, true} {
		b := newBothGateways(t, true)
		pid := "sub-2-t1-c1"
		if mismatch {
			b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultAmountMismatch, PaidAmount: 10900, Times: 1})
		}
		in := activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1, CustomerUID: b.v2Key, MerchantUID: "sub-2-t1-1-1",
			PaymentID: pid, Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2, AnswerOnly: true}
		charged, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, in)
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, charged.Outcome, "the approval is all the charge sees")
		res, err := run[activities.ChargeResult](t, b.env, b.acts.SettleAnswered, activities.SettleAnsweredInput{
			Gateway: billing.GatewayPortOneV2, MerchantUID: in.MerchantUID, PaymentID: pid, Amount: 9900})
		require.NoError(t, err)
		le := b.emu.Ledger()[len(b.emu.Ledger())-1]
		require.Equal(t, pid, le.MerchantUID)
		require.Equal(t, le.ImpUID, res.ImpUID)
		if !mismatch {
			require.Equal(t, billing.OutcomePaid, res.Outcome)
			require.Zero(t, le.CancelAmount)
			continue
		}
		require.Equal(t, billing.OutcomeAmountMismatch, res.Outcome, "%+v", res)
		require.EqualValues(t, 10900, res.Amount)
		require.Equal(t, "cancelled", le.Status)
		require.EqualValues(t, 10900, le.CancelAmount, "nothing kept")
	}
}

// TestAV2RefundStatusNeverReadsAnotherPaymentsRefund: a refund's look names its payment and a
// transactionId. A transactionId that is not that payment's (a wrong one recorded, say from a
// signal nobody verified) must not make another payment's refund read as this one's: before,
// the search by transactionId answered with the other payment and its refund read succeeded.
func TestAV2RefundStatusNeverReadsAnotherPaymentsRefund(t *testing.T) {
	b := newBothGateways(t, true)
	charge := func(pid string) activities.ChargeResult {
		res, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
			CustomerUID: b.v2Key, MerchantUID: pid + "-1", PaymentID: pid, Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, res.Outcome)
		return res
	}
	charge("sub-2-t1-c1")
	other := charge("sub-2-t1-c2")
	_, err := run[activities.RefundResult](t, b.env, b.acts.Refund, activities.RefundInput{ImpUID: other.ImpUID, MerchantUID: "sub-2-t1-c2",
		Amount: 9900, PaymentAmount: 9900, Reason: "환불", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)

	st, err := run[activities.RefundStatusResult](t, b.env, b.acts.RefundStatus, activities.RefundStatusInput{ImpUID: other.ImpUID,
		MerchantUID: "sub-2-t1-c1", Amount: 9900, Gateway: billing.GatewayPortOneV2})
	require.Error(t, err, "the other payment's refund is not this one's: %+v", st)
}
