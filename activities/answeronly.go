package activities

// PortOne V2 charges answered by the approval alone (ChargeInput.AnswerOnly): PortOne's answer
// to a billing-key charge carries pgTxId and paidAt, not the transactionId nor the amount, so
// reading the payment back cost every charge a second request. The workflow records the charge
// paid for the amount asked and learns the rest from the Transaction.Paid webhook, which the
// edge verifies by reading the payment anyway. When that read shows another amount than the one
// asked, the mismatch rule still holds: SettleAnswered reads the payment itself and cancels it.

import (
	"context"

	"github.com/paycycle/paycycle/billing"
)

// SettleAnsweredInput names a charge answered by the approval alone whose payment, as a
// verified webhook showed it, holds another amount than the one asked.
type SettleAnsweredInput struct {
	Gateway     billing.GatewayName `json:"gateway,omitempty"`
	MerchantUID string              `json:"merchant_uid"`
	// PaymentID is the V2 paymentId the charge was made under.
	PaymentID string `json:"payment_id"`
	// Amount is the amount asked.
	Amount int64 `json:"amount"`
}

// SettleAnswered reads the payment of a charge answered by the approval alone and holds it to
// the mismatch rule: a paid amount that differs from the one asked is cancelled at once (what
// a cancel already asks is not asked again), and the result is OutcomeAmountMismatch. A payment
// whose amount agrees after all is reported paid, unchanged. The webhook only woke this up:
// the decision is made on PortOne's own read.
func (a *Activities) SettleAnswered(ctx context.Context, in SettleAnsweredInput) (ChargeResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return ChargeResult{}, gerr
	}
	p, err := a.paymentOf(ctx, in.PaymentID, "")
	if err != nil {
		return ChargeResult{}, gatewayError(err)
	}
	res := ChargeResult{Outcome: billing.OutcomePaid, MerchantUID: in.MerchantUID, PaymentID: in.PaymentID, ImpUID: p.TxID,
		Amount: p.Amount, ReceiptURL: p.ReceiptURL, At: p.PaidAt, Via: billing.ViaAgain}
	if p.Amount == in.Amount {
		return res, nil
	}
	return a.refundMismatch(ctx, res, in.Amount, p)
}
