package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// PortOne V2 charges answered by the approval alone (versionAnswerOnlyCharge): a cycle's charge
// is one request, POST /payments/{paymentId}/billing-key, whose answer carries pgTxId and
// paidAt only. The charge is recorded paid for the amount asked with an empty ImpUID, and the
// transactionId is learned from the Transaction.Paid webhook, which the edge verifies by
// reading the payment from PortOne and relays as a payment_notification. Until then the
// charge's refunds are tallied under its merchant_uid (ChargeRecord.PaymentKey); a refund goes
// to PortOne by paymentId, which is all V2 needs. A relayed payment whose amount differs from
// the one asked is settled by the workflow's own read (SettleAnswered), which cancels it under
// the mismatch rule.
//
// Where the state changes: the handler only queues what a notification taught; the queue is
// applied while the loop waits (idle) or between two steps, never while a step holds a copy of
// a charge or refund record across an activity, so that a record written back after an
// activity cannot undo a fill.

// answerOnlyCharges reports whether this V2 run's charges take PortOne's approval as the whole
// answer. It asks versionAnswerOnlyCharge once, the first time a V2 run under cycle paymentIds
// charges.
func (r *runner) answerOnlyCharges() bool {
	return r.cyclePayments() && r.askOnce(&r.answerOnly, changeAnswerOnlyCharge, versionAnswerOnlyCharge)
}

// learnFrom queues what a verified payment notification says about a charge answered by the
// approval alone: the transactionId of a cycle paymentId's paid (or since refunded) payment.
// Other notifications teach nothing here.
func (r *runner) learnFrom(n billing.PaymentNotification) {
	if n.ImpUID == "" || (n.Status != "paid" && n.Status != "cancelled") || !sharedPaymentID(n.MerchantUID) {
		return
	}
	r.mailbox.learned = append(r.mailbox.learned, n)
	if r.idle {
		r.applyLearned()
	}
}

// applyLearned fills the transactionId of every paid charge answered by the approval alone that
// a queued notification names, with its refunds, and queues for settlement those whose payment
// holds another amount than the one asked. What names no such charge is dropped: a charge
// recorded by the step in flight is matched when the step is over, the only time besides the
// loop's waits that this runs.
func (r *runner) applyLearned() {
	learned := r.mailbox.learned
	r.mailbox.learned = nil
	for _, n := range learned {
		for i := range r.s.Charges {
			c := &r.s.Charges[i]
			if c.ImpUID != "" || c.Outcome != billing.OutcomePaid || c.GatewayPaymentID() != n.MerchantUID {
				continue
			}
			if n.Amount != 0 && n.Amount != c.Amount {
				// Settled on PortOne's own read, which also names the transaction.
				if !slices.Contains(r.mailbox.mismatched, c.MerchantUID) {
					r.mailbox.mismatched = append(r.mailbox.mismatched, c.MerchantUID)
					r.mailbox.dirty = true
				}
				continue
			}
			r.fillTxID(c, n.ImpUID)
			r.log.Info("transactionId recorded from PortOne's verified webhook", "merchant_uid", c.MerchantUID, "payment_id", n.MerchantUID)
		}
	}
}

// fillTxID records c's transactionId, and on the refunds tallied under its merchant_uid, so that
// its PaymentKey and theirs change together.
func (r *runner) fillTxID(c *billing.ChargeRecord, txID string) {
	for j := range r.s.Refunds {
		if f := &r.s.Refunds[j]; f.ImpUID == "" && f.MerchantUID == c.MerchantUID {
			f.ImpUID = txID
		}
	}
	c.ImpUID = txID
}

// settleMismatched settles, one per step, a charge answered by the approval alone whose payment
// a notification showed holding another amount than the one asked (settleAnswered).
func (r *runner) settleMismatched() (bool, error) {
	if len(r.mailbox.mismatched) == 0 {
		return false, nil
	}
	if err := r.settleAnsweredOrPark(r.mailbox.mismatched[0]); err != nil {
		return true, err
	}
	r.mailbox.mismatched = r.mailbox.mismatched[1:]
	return true, nil
}

// settleAnsweredOrPark is settleAnswered, which a step retries after a back-off when PortOne
// could not be reached; PortOne's refusal (of the read, or of the mismatch's cancel) is not
// retried but handed to a person, so that the step does not fail on it for ever while the
// subscription's other work waits.
func (r *runner) settleAnsweredOrPark(uid string) error {
	err := r.settleAnswered(uid)
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || !appErr.NonRetryable() {
		return err
	}
	what := uid
	if c := r.chargeRecord(uid); c != nil {
		what = fmt.Sprintf("%s (paymentId %s, cycle %d)", uid, c.GatewayPaymentID(), c.Cycle)
	}
	r.park(billing.AttentionReconciliation, "transaction_unknown", fmt.Sprintf("%s: PortOne's payment could not be read back or its amount that differs cancelled (%s); settle it with PortOne",
		what, textfmt.Truncate(appErr.Message(), 200)))
	return nil
}

// readBackOverdue reads back, one per step, a paid charge answered by the approval alone whose
// webhook did not come before a later cycle was charged (PortOne gave up on it, or the console's
// webhook URL does not reach the edge): the state then never lags PortOne by more than a cycle.
// It runs after that later charge, never before it, so a missing webhook costs no charge any
// time. In a run whose webhooks come, it finds nothing and asks nothing.
func (r *runner) readBackOverdue() (bool, error) {
	last := 0
	for _, c := range r.s.Charges {
		if c.Outcome != billing.OutcomeScheduled && c.Outcome != billing.OutcomeRevoked {
			last = max(last, c.Cycle) // a charge made, not one PortOne's scheduler holds
		}
	}
	for _, c := range r.s.Charges {
		if c.Cycle < last && c.ImpUID == "" && c.Outcome == billing.OutcomePaid && sharedPaymentID(c.GatewayPaymentID()) && !r.readBack[c.MerchantUID] {
			if err := r.settleAnsweredOrPark(c.MerchantUID); err != nil {
				return true, err
			}
			// Read once a run: PortOne's answer is what it is (a payment it lists without a
			// transaction would otherwise be asked again at every step).
			if r.readBack == nil {
				r.readBack = map[string]bool{}
			}
			r.readBack[c.MerchantUID] = true
			return true, nil
		}
	}
	return false, nil
}

// settleUnknownTxIDs reads back, as the run completes, every paid charge answered by the
// approval alone whose webhook has not come (a subscription cancelled within seconds of its
// charge, or a webhook PortOne gave up on): no signal reaches a closed run, and its final state
// names every attempt's transactionId. Nothing is read in a run whose webhooks all came. A read
// that fails leaves the charge as it is, said in the audit trail, for reconciliation, which
// matches V2 charges by paymentId.
func (r *runner) settleUnknownTxIDs() {
	for i := 0; i < len(r.s.Charges); i++ {
		c := r.s.Charges[i]
		if c.ImpUID != "" || c.Outcome != billing.OutcomePaid || !sharedPaymentID(c.GatewayPaymentID()) {
			continue
		}
		if err := r.settleAnswered(c.MerchantUID); err != nil {
			r.event("transaction_unknown", "", fmt.Sprintf("%s: PortOne's transactionId could not be read as the run completed: %s",
				c.MerchantUID, textfmt.Truncate(err.Error(), 200)))
		}
	}
}

// settleAnswered reads back the payment of a paid charge answered by the approval alone
// (SettleAnswered) and records its transactionId. A payment PortOne approved for another amount
// than the one asked is cancelled at once by the activity (the mismatch rule); the charge is then
// recorded as the mismatch it was (the amount PortOne charged, cancelled) and the subscription
// parked for a person: the period it stood for is not taken back from the customer, whose money
// went back.
func (r *runner) settleAnswered(uid string) error {
	c := r.chargeRecord(uid)
	if c == nil || c.Outcome != billing.OutcomePaid {
		return nil
	}
	asked := c.Amount
	var res activities.ChargeResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.SettleAnswered, activities.SettleAnsweredInput{
		Gateway: r.chargeGateway(*c), MerchantUID: uid, PaymentID: c.GatewayPaymentID(), Amount: asked,
	}).Get(r.actx, &res)
	if err != nil {
		return err
	}
	if c = r.chargeRecord(uid); c == nil {
		return nil
	}
	if c.ImpUID == "" {
		r.fillTxID(c, res.ImpUID)
	}
	if res.Outcome == billing.OutcomePaid {
		return nil // PortOne's own read agrees with the amount asked
	}
	c.Outcome, c.Amount, c.Reason = res.Outcome, res.Amount, res.Reason
	r.event("amount_mismatch", "portone", fmt.Sprintf("%s: %s", uid, textfmt.Truncate(res.Reason, 300)))
	r.park(billing.AttentionAmountMismatch, "", fmt.Sprintf("%s (cycle %d, %d KRW asked): %s; the cycle's period is left paid for a person to settle",
		uid, c.Cycle, asked, res.Reason))
	return nil
}
