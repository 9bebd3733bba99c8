package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// A V2 refund may come back pending: PortOne answered its cancel REQUESTED and had not finished
// it when the Refund activity's bounded wait was over (activities.RefundResult.Pending). From
// versionRequestedRefund on the workflow records it as requested (billing.RefundRequested),
// not made, and follows it here: every requestedRefundEvery it looks the payment up
// (activities.RefundStatus). SUCCEEDED confirms it (the charge.refunded event is published
// then). FAILED (nothing given back, the amount cancellable again) makes it again with the
// compare-and-set remainder the workflow knows, which PortOne refuses if anything else moved the
// balance: a refused one is recorded failed and the subscription parked for a person
// (needs_attention, reconciliation, refund_failed), so money is never given twice and never
// silently dropped. Still REQUESTED after requestedRefundLooks looks, it is handed to a person
// the same way (refund_requested). A subscription that ended (a cancel with a refund) does not
// complete while one is followed: the run waits for it (run's loop, followingRefunds).
const (
	// requestedRefundEvery is the time between looks on real plans: PGs finish asynchronous
	// cancels within hours (a bank's batch), and each look is one PortOne read.
	requestedRefundEvery = 6 * time.Hour
	// requestedRefundLooks bounds the looks: 12 of them every 6 hours, three days, after which
	// a person settles it with PortOne.
	requestedRefundLooks = 12
	// requestedRefundEveryDemo is the time between looks on demo (second/minute) plans.
	requestedRefundEveryDemo = 15 * time.Second
)

// requestedRefundInterval is the time between looks at a requested refund.
func (r *runner) requestedRefundInterval() time.Duration {
	if r.s.Plan.Interval.Unit.IsShort() {
		return requestedRefundEveryDemo
	}
	return requestedRefundEvery
}

// followsRequestedRefunds asks versionRequestedRefund, only where a refund came back pending,
// so that runs that never meet one record nothing.
func (r *runner) followsRequestedRefunds() bool {
	return r.atLeast(changeRequestedRefund, versionRequestedRefund)
}

// recordRequestedRefund records rec as requested at PortOne and to be looked up again.
func (r *runner) recordRequestedRefund(rec billing.RefundRecord) billing.RefundRecord {
	rec.Outcome = billing.RefundRequested
	rec.CheckAt = r.now().Add(r.requestedRefundInterval())
	r.s.Refunds = append(r.s.Refunds, rec)
	r.event("refund_requested", string(rec.Requester), fmt.Sprintf("%s KRW of %s asked for; PortOne has not finished it (REQUESTED): requested, not yet confirmed; looked up again at %s",
		textfmt.FormatKRW(rec.Amount), rec.MerchantUID, rec.CheckAt.In(time.UTC).Format(time.RFC3339)))
	return rec
}

// followingRefunds reports whether a requested refund is still being followed.
func (r *runner) followingRefunds() bool {
	return slices.ContainsFunc(r.s.Refunds, func(f billing.RefundRecord) bool {
		return f.Outcome == billing.RefundRequested && !f.CheckAt.IsZero()
	})
}

// nextRequestedRefundCheck is the earliest look due at a requested refund (zero: none).
func (r *runner) nextRequestedRefundCheck() time.Time {
	var at time.Time
	for _, f := range r.s.Refunds {
		if f.Outcome == billing.RefundRequested && !f.CheckAt.IsZero() && (at.IsZero() || f.CheckAt.Before(at)) {
			at = f.CheckAt
		}
	}
	return at
}

// refundedBefore is what the refunds recorded before the i-th one hold of its payment (made or
// requested): the balance PortOne knew of when it was asked.
func (r *runner) refundedBefore(i int) int64 {
	var sum int64
	for _, f := range r.s.Refunds[:i] {
		if f.PaymentKey() == r.s.Refunds[i].PaymentKey() && f.Counts() {
			sum += f.Amount
		}
	}
	return sum
}

// refundedBesides is what every other refund of the i-th one's payment holds (made or
// requested, recorded before it or after): the balance PortOne knows of when the i-th one,
// ended FAILED, is asked again. A later refund still REQUESTED holds its amount at PortOne too;
// left out, the compare-and-set remainder was stale and PortOne refused the refund made again.
func (r *runner) refundedBesides(i int) int64 {
	var sum int64
	for j, f := range r.s.Refunds {
		if j != i && f.PaymentKey() == r.s.Refunds[i].PaymentKey() && f.Counts() {
			sum += f.Amount
		}
	}
	return sum
}

// chargeOfRefund is the paid charge a refund was drawn from.
func (r *runner) chargeOfRefund(f billing.RefundRecord) *billing.ChargeRecord {
	for i := len(r.s.Charges) - 1; i >= 0; i-- {
		if c := &r.s.Charges[i]; c.PaymentKey() == f.PaymentKey() && (c.Outcome == billing.OutcomePaid || c.Outcome == billing.OutcomeDuplicate) {
			return c
		}
	}
	return nil
}

// checkRequestedRefunds makes the first due look at a requested refund; it reports whether it
// did anything. A look that fails on PortOne is backed off as any step (the record stays due).
func (r *runner) checkRequestedRefunds() (bool, error) {
	i := slices.IndexFunc(r.s.Refunds, func(f billing.RefundRecord) bool {
		return f.Outcome == billing.RefundRequested && r.dueNow(f.CheckAt)
	})
	if i < 0 {
		return false, nil
	}
	f := r.s.Refunds[i]
	paid := r.chargeOfRefund(f)
	if paid == nil {
		f.CheckAt = time.Time{}
		r.s.Refunds[i] = f
		r.park(billing.AttentionReconciliation, "refund_requested", fmt.Sprintf("%s KRW of %s (%s) requested at PortOne and not confirmed; its charge is no longer in the state: settle it with PortOne",
			textfmt.FormatKRW(f.Amount), f.MerchantUID, f.ImpUID))
		return true, nil
	}
	gw := r.chargeGateway(*paid)
	prior := r.refundedBefore(i)
	var st activities.RefundStatusResult
	err := workflow.ExecuteActivity(r.activity(readOptions), acts.RefundStatus, activities.RefundStatusInput{
		ImpUID: f.ImpUID, MerchantUID: v2Only(gw, paid.GatewayPaymentID()), Amount: f.Amount, PriorCancelled: prior, Gateway: gw,
		CancellationID: f.CancellationID,
	}).Get(r.actx, &st)
	if err != nil {
		return true, err
	}
	f.Looks++
	switch st.Status {
	case activities.RefundSucceeded:
		r.confirmRefund(i, f, "refund_confirmed", "PortOne gave it back (SUCCEEDED)")
	case activities.RefundRequested:
		if f.Looks >= requestedRefundLooks {
			f.CheckAt = time.Time{}
			r.s.Refunds[i] = f
			r.park(billing.AttentionReconciliation, "refund_requested", fmt.Sprintf("%s KRW of %s (%s) still REQUESTED at PortOne after %d looks: requested, not yet confirmed; settle it with PortOne",
				textfmt.FormatKRW(f.Amount), f.MerchantUID, f.ImpUID, f.Looks))
			return true, nil
		}
		f.CheckAt = r.now().Add(r.requestedRefundInterval())
		r.s.Refunds[i] = f
	default:
		return true, r.refundAgain(i, f, *paid, r.refundedBesides(i))
	}
	return true, nil
}

// confirmRefund marks the i-th refund made and publishes it (charge.refunded).
func (r *runner) confirmRefund(i int, f billing.RefundRecord, kind, how string) {
	f.Outcome, f.CheckAt = billing.RefundMade, time.Time{}
	r.s.Refunds[i] = f
	var paymentID string
	if c := r.chargeOfRefund(f); c != nil {
		paymentID = c.PaymentID
	}
	r.publish(billing.EventChargeRefunded, billing.EventData{Refund: &billing.EventRefund{
		Cycle: f.Cycle, MerchantUID: f.MerchantUID, ImpUID: f.ImpUID, PaymentID: paymentID, Amount: f.Amount, TaxFree: f.TaxFree,
		Reason: textfmt.Truncate(f.Reason, 200), Requester: f.Requester, At: f.At,
	}})
	r.event(kind, string(f.Requester), fmt.Sprintf("%s KRW of %s: %s", textfmt.FormatKRW(f.Amount), f.MerchantUID, how))
}

// refundAgain makes again a requested refund PortOne ended FAILED, against the balance the
// workflow knows (prior: every other refund of the payment): PortOne's compare-and-set refuses it if the balance
// moved, so it is never made twice. Refused, the refund is recorded failed and the subscription
// parked for a person. A PortOne error that is not a refusal is backed off and the next look
// starts over (the record stays due).
func (r *runner) refundAgain(i int, f billing.RefundRecord, paid billing.ChargeRecord, prior int64) error {
	gw := r.chargeGateway(paid)
	var res activities.RefundResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.Refund, activities.RefundInput{
		ImpUID: f.ImpUID, Amount: f.Amount, PaymentAmount: paid.Amount, PriorCancelled: prior, Reason: f.Reason, Requester: f.Requester,
		TaxFree: f.TaxFree, PaymentTaxFree: paid.TaxFree, Gateway: gw, MerchantUID: v2Only(gw, paid.GatewayPaymentID()),
	}).Get(r.actx, &res)
	var appErr *temporal.ApplicationError
	if err != nil && errors.As(err, &appErr) && appErr.NonRetryable() {
		f.Outcome, f.CheckAt = billing.RefundFailed, time.Time{}
		r.s.Refunds[i] = f
		r.park(billing.AttentionReconciliation, "refund_failed", fmt.Sprintf("%s KRW of %s (%s): PortOne ended the cancel FAILED and refused it again (%s): nothing was refunded; refund it by hand",
			textfmt.FormatKRW(f.Amount), f.MerchantUID, f.ImpUID, appErr.Message()))
		return nil
	}
	if err != nil {
		return err // the record stays due: the next look finds the refund made or FAILED again
	}
	if res.Pending {
		f.CheckAt, f.CancellationID = r.now().Add(r.requestedRefundInterval()), res.CancellationID
		r.s.Refunds[i] = f
		r.event("refund_asked_again", string(f.Requester), fmt.Sprintf("%s KRW of %s: PortOne ended the cancel FAILED; asked again, REQUESTED: not yet confirmed",
			textfmt.FormatKRW(f.Amount), f.MerchantUID))
		return nil
	}
	f.Amount = res.Refunded
	r.confirmRefund(i, f, "refund_made_again", "PortOne ended the first cancel FAILED; made again")
	return nil
}

// handOverRequestedRefunds stops following every requested refund and parks the subscription
// for a person, saying why.
func (r *runner) handOverRequestedRefunds(why string) {
	var what []string
	for i, f := range r.s.Refunds {
		if f.Outcome == billing.RefundRequested && !f.CheckAt.IsZero() {
			f.CheckAt = time.Time{}
			r.s.Refunds[i] = f
			what = append(what, fmt.Sprintf("%s KRW of %s (%s)", textfmt.FormatKRW(f.Amount), f.MerchantUID, f.ImpUID))
		}
	}
	r.park(billing.AttentionReconciliation, "refund_requested", fmt.Sprintf("%s while refunds were requested at PortOne and not confirmed: %v; settle them with PortOne", why, what))
}
