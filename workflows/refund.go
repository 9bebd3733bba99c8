package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// refundForCancel refunds the current period as the cancel asks: in full, or pro rata for the
// unused whole days (floored to the won, see calendar.Prorate), by billing.State.CancelRefund,
// the rule the customer's page shows. A period paid partly by a restart's credit
// (versionNoDayTwice) is refunded on what it is worth, the rest from the payment the credit came
// from; without a credit it is the period's paid charge alone, as it always was. The answer is
// the refund made; drawn from two payments, the first one's record with the total amount.
// A period an immediate upgrade started (changenow.go) is credited the same way: the part of
// the previous payment the upgrade netted is its Credit, drawn from that payment.
func (r *runner) refundForCancel(req billing.CancelRequest) (*billing.RefundRecord, error) {
	if req.Refund == billing.RefundNone || r.s.CurrentPeriod == nil {
		return nil, nil
	}
	period := *r.s.CurrentPeriod
	paid := r.paidCharge(period.Cycle)
	if paid == nil && period.Credit == 0 {
		r.event("refund_skipped", string(req.Requester), fmt.Sprintf("cycle %d has no paid charge to refund", period.Cycle))
		return nil, nil
	}
	shares := r.s.CancelRefund(req.Refund, r.now())
	if len(shares) == 0 {
		what := fmt.Sprintf("cycle %d", period.Cycle)
		if paid != nil {
			what = paid.MerchantUID
		}
		r.event("refund_skipped", string(req.Requester), fmt.Sprintf("nothing left to refund on %s", what))
		return nil, nil
	}
	var answer *billing.RefundRecord
	for _, sh := range shares {
		rec, err := r.refundShare(req, sh)
		if err != nil {
			return nil, err
		}
		if answer == nil {
			answer = &rec
			continue
		}
		answer.Amount += rec.Amount
		answer.TaxFree += rec.TaxFree
		if rec.Outcome == billing.RefundRequested {
			answer.Outcome = rec.Outcome // a part not yet confirmed: the whole is not
		}
	}
	return answer, nil
}

// unpaidCycleCredit gives the credit an unpaid cycle took (a cycle in dunning when the
// subscription ends) back to the pending credit: the cycle was never paid, so the days of the
// earlier payment it stands for are not served by it (versionNoDayTwice).
func (r *runner) unpaidCycleCredit() {
	p, d := r.s.CurrentPeriod, r.s.DunningState
	if p == nil || d == nil || d.Cycle != p.Cycle || p.Credit <= 0 || r.paidCharge(p.Cycle) != nil {
		return
	}
	r.s.Credit += p.Credit
	if r.s.CreditFrom == "" {
		r.s.CreditFrom = p.CreditFrom
	}
	r.event("credit_returned", "", fmt.Sprintf("cycle %d was not paid: the %s KRW of credit it took are owed again", p.Cycle, textfmt.FormatKRW(p.Credit)))
	p.Credit, p.CreditFrom = 0, ""
}

// refundPendingCredit pays back, when the subscription ends, the credit still pending for the
// next charges (a decrease made now, a restart's credit larger than the next cycle, an unpaid
// cycle's): the customer paid for days that will not be served, and unused prepaid amounts are
// refunded. It is drawn from the payment the credit came from and along its chain
// (billing.State.PendingCreditRefund), each refund recorded as usual and a credit_refunded
// event as the evidence. Each share lowers the pending credit as it is made, so a retried
// cancel does not refund twice. The refunds are added to answer (the cancel's own refund).
func (r *runner) refundPendingCredit(req billing.CancelRequest, answer *billing.RefundRecord) (*billing.RefundRecord, error) {
	if r.s.Credit <= 0 {
		return answer, nil
	}
	owed := r.s.Credit
	creq := req
	creq.Reason = textfmt.Truncate("미사용 크레딧 환불 (credit for days not served): "+req.Reason, 200)
	var done int64
	var from []string
	for _, sh := range r.s.PendingCreditRefund() {
		rec, err := r.refundShare(creq, sh)
		if err != nil {
			return nil, err
		}
		r.s.Credit -= rec.Amount
		done += rec.Amount
		from = append(from, fmt.Sprintf("%s KRW of %s", textfmt.FormatKRW(rec.Amount), rec.MerchantUID))
		if answer == nil {
			a := rec
			answer = &a
			continue
		}
		answer.Amount += rec.Amount
		answer.TaxFree += rec.TaxFree
		if rec.Outcome == billing.RefundRequested {
			answer.Outcome = rec.Outcome
		}
	}
	detail := fmt.Sprintf("%s KRW of credit pending for the next charges refunded (the subscription ended; the days it stands for are not served): %v", textfmt.FormatKRW(done), from)
	if left := owed - done; left > 0 {
		detail += fmt.Sprintf("; %s KRW could not be placed on a payment on record", textfmt.FormatKRW(left))
	}
	r.event("credit_refunded", string(req.Requester), detail)
	r.s.Credit, r.s.CreditFrom = 0, ""
	return answer, nil
}

// refundShare refunds one payment's share of a cancel's refund and records it.
func (r *runner) refundShare(req billing.CancelRequest, sh billing.RefundShare) (billing.RefundRecord, error) {
	paid, refunded, amount := sh.Charge, sh.Before, sh.Amount
	taxFree := refundTaxFree(paid.Amount, paid.TaxFree, refunded, r.refundedTaxFree(paid.PaymentKey()), amount)
	var res activities.RefundResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.Refund, activities.RefundInput{
		ImpUID:         paid.ImpUID,
		Amount:         amount,
		PaymentAmount:  paid.Amount,
		PriorCancelled: refunded,
		Reason:         req.Reason,
		Requester:      req.Requester,
		TaxFree:        taxFree,
		PaymentTaxFree: paid.TaxFree,
		Gateway:        r.chargeGateway(paid),
		MerchantUID:    v2Only(r.chargeGateway(paid), paid.GatewayPaymentID()),
	}).Get(r.actx, &res)
	if err != nil {
		return billing.RefundRecord{}, err
	}
	rec := billing.RefundRecord{
		Cycle: paid.Cycle, ImpUID: paid.ImpUID, MerchantUID: paid.MerchantUID, Amount: res.Refunded, TaxFree: taxFree,
		Reason: req.Reason, Requester: req.Requester, At: r.now(), Outcome: "refunded", Via: sh.Via,
	}
	if res.Pending && r.followsRequestedRefunds() {
		rec.CancellationID = res.CancellationID
		// Asked for, not given back yet: followed (requestedrefund.go), published when made.
		return r.recordRequestedRefund(rec), nil
	}
	r.s.Refunds = append(r.s.Refunds, rec)
	r.publish(billing.EventChargeRefunded, billing.EventData{Refund: &billing.EventRefund{
		Cycle: rec.Cycle, MerchantUID: rec.MerchantUID, ImpUID: rec.ImpUID, PaymentID: paid.PaymentID, Amount: rec.Amount, TaxFree: rec.TaxFree,
		Reason: textfmt.Truncate(rec.Reason, 200), Requester: rec.Requester, At: rec.At,
	}})
	r.event("refunded", string(req.Requester), fmt.Sprintf("%d KRW of %s (%s)", res.Refunded, paid.MerchantUID, req.Refund))
	return rec, nil
}

// refundTaxFree is the tax-exempt part of a refund of amount from a payment of paid with
// taxFree exempt, of which refunded (refundedTaxFree exempt) was refunded before: the payment's
// own proportion, floor(taxFree × amount ÷ paid), and on the refund that empties the payment,
// whatever exempt part is left, so that partial refunds always add up to the payment's tax_free.
func refundTaxFree(paid, taxFree, refunded, refundedTaxFree, amount int64) int64 {
	if taxFree <= 0 || paid <= 0 {
		return 0
	}
	left := taxFree - refundedTaxFree
	if refunded+amount >= paid {
		return max(0, left)
	}
	tf, err := calendar.Prorate(taxFree, amount, paid)
	if err != nil {
		return 0
	}
	return max(0, min(tf, left, amount))
}

// refundedTaxFree sums the tax-exempt parts already refunded on a payment
// (ChargeRecord.PaymentKey).
func (r *runner) refundedTaxFree(key string) int64 {
	var sum int64
	for _, f := range r.s.Refunds {
		if f.PaymentKey() == key && f.Counts() {
			sum += f.TaxFree
		}
	}
	return sum
}

// paidCharge returns the paid charge record of a cycle.
func (r *runner) paidCharge(cycle int) *billing.ChargeRecord {
	for i := len(r.s.Charges) - 1; i >= 0; i-- {
		if c := &r.s.Charges[i]; c.Cycle == cycle && c.Outcome == billing.OutcomePaid {
			return c
		}
	}
	return nil
}

// refundedAmount sums what the workflow already refunded on a payment
// (ChargeRecord.PaymentKey).
func (r *runner) refundedAmount(key string) int64 {
	var sum int64
	for _, f := range r.s.Refunds {
		if f.PaymentKey() == key && f.Counts() {
			sum += f.Amount
		}
	}
	return sum
}

// v2Only returns s on gateway V2 (the gateway of the payment concerned) and "" on V1, for
// activity input fields V2 needs and V1's recorded histories do not carry (an empty omitempty
// field leaves V1's inputs unchanged).
func v2Only(gw billing.GatewayName, s string) string {
	if gw.IsV2() {
		return s
	}
	return ""
}

// chargeGateway is the gateway a charge was made through: its own (a V1 charge of a
// subscription that moved to V2) or the subscription's.
func (r *runner) chargeGateway(c billing.ChargeRecord) billing.GatewayName {
	if c.Gateway != "" {
		return c.Gateway
	}
	return r.s.Gateway
}

// deleteBillingKey deletes a billing key at PortOne with NaverPay's required reason and requester.
func (r *runner) deleteBillingKey(customerUID, reason string, requester billing.Requester) error {
	return r.deleteBillingKeyOn(r.s.Gateway, customerUID, reason, requester)
}

// deleteBillingKeyOn deletes a billing key on the gateway named (a subscription that moved to V2
// deletes its old V1 key at V1).
func (r *runner) deleteBillingKeyOn(gw billing.GatewayName, customerUID, reason string, requester billing.Requester) error {
	var res activities.DeleteBillingKeyResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.DeleteBillingKey, activities.DeleteBillingKeyInput{
		CustomerUID: customerUID, Reason: reason, Requester: requester, Gateway: gw,
	}).Get(r.actx, &res)
	if err != nil {
		return err
	}
	r.event("billing_key_deleted", string(requester), fmt.Sprintf("%s: %s", textfmt.MaskUID(customerUID), reason))
	return nil
}
