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

// PortOne's console 리커버리 executes a failed scheduled payment again every day, under the same
// merchant_uid, until it is paid. Our dunning retries the same cycle through again under a new
// merchant_uid; with both on, a cycle our retry paid can be paid a second time a day later, and
// the retry's look-first cannot see a payment that does not exist yet. So once a cycle whose
// scheduled attempt failed is paid by another attempt (versionRecoveryWatch), the workflow looks
// the failed schedule's merchant_uid up again recoveryWatchChecks times, recoveryWatchEvery
// apart, and refunds a payment found there in full: it is provably a second payment of a cycle
// that has its kept payment (same subscription, same cycle, another merchant_uid recorded as
// paid). That refund is always made, unlike reconciliation's opt-in one, because here the
// workflow holds the proof itself and the state stays equal to the ledger. After the last look,
// the nightly reconciliation reports a later one (finding "duplicate"); 리커버리 must be off.

const (
	// recoveryWatchChecks bounds the lookups of one failed schedule after its cycle was paid.
	recoveryWatchChecks = 3
	// recoveryWatchEvery is the time between them: PortOne's 리커버리 runs once a day at an
	// hour the merchant chose, over the previous day's failures, so the first re-execution after
	// our retry comes within two days; three daily looks, an hour after each day, cover it.
	recoveryWatchEvery = 25 * time.Hour
)

// recoveryWatchInterval is recoveryWatchEvery, or the error back-off for demo (second/minute)
// plans.
func (r *runner) recoveryWatchInterval() time.Duration {
	if r.s.Plan.Interval.Unit.IsShort() {
		return r.errorBackOff()
	}
	return recoveryWatchEvery
}

// watchForRecovery starts watching the failed scheduled attempts of a cycle that paid just
// settled, so that a payment PortOne's 리커버리 makes there later is found and refunded.
func (r *runner) watchForRecovery(cycle int, paid activities.ChargeResult) {
	if !r.features.recoveryWatch || paid.Outcome != billing.OutcomePaid || paid.ImpUID == "" {
		return
	}
	for _, c := range r.s.Charges {
		if c.Cycle != cycle || c.Via != billing.ViaSchedule || c.MerchantUID == paid.MerchantUID {
			continue
		}
		if c.Outcome != billing.OutcomeDeclined && c.Outcome != billing.OutcomeDeclinedHard && c.Outcome != billing.OutcomeRejected {
			continue // never executed (revoked), or not a failure
		}
		if sharedPaymentID(c.PaymentID) {
			// A cycle's V2 paymentId (versionCyclePayment): PortOne lets one of its
			// transactions succeed, so 리커버리 cannot pay it again while the cycle's success
			// stands under it; and the cycle moved off it only once PortOne closed it (its
			// attempt cap, or a refunded success), after which it takes no attempt at all.
			continue
		}
		if slices.ContainsFunc(r.s.RecoveryWatches, func(w billing.RecoveryWatch) bool { return w.MerchantUID == c.MerchantUID }) {
			continue
		}
		w := billing.RecoveryWatch{
			Cycle: cycle, MerchantUID: c.MerchantUID, Attempt: c.Attempt, Amount: c.Amount, TaxFree: c.TaxFree,
			KeptMerchantUID: paid.MerchantUID, KeptImpUID: paid.ImpUID, NextCheckAt: r.now().Add(r.recoveryWatchInterval()),
		}
		r.s.RecoveryWatches = append(r.s.RecoveryWatches, w)
		r.event("recovery_watch", "", fmt.Sprintf("cycle %d paid by %s (%s); PortOne's 리커버리 could still charge its failed schedule %s: looked up %d times, %s apart",
			cycle, paid.MerchantUID, paid.ImpUID, c.MerchantUID, recoveryWatchChecks, r.recoveryWatchInterval()))
	}
}

// nextRecoveryCheck is the earliest due lookup of a watched schedule.
func (r *runner) nextRecoveryCheck() time.Time {
	var at time.Time
	for _, w := range r.s.RecoveryWatches {
		if at.IsZero() || w.NextCheckAt.Before(at) {
			at = w.NextCheckAt
		}
	}
	return at
}

// checkRecoveryWatches makes the first due lookup of a watched schedule; it reports whether it
// did anything.
func (r *runner) checkRecoveryWatches() (bool, error) {
	i := slices.IndexFunc(r.s.RecoveryWatches, func(w billing.RecoveryWatch) bool { return r.dueNow(w.NextCheckAt) })
	if i < 0 {
		return false, nil
	}
	w := r.s.RecoveryWatches[i]
	var lr activities.LookupResult
	err := workflow.ExecuteActivity(r.activity(readOptions), acts.Lookup, activities.LookupInput{MerchantUIDs: []string{w.MerchantUID}, Gateway: r.s.Gateway}).Get(r.actx, &lr)
	if err != nil {
		return true, err
	}
	if lr.Found && lr.Charge.Outcome == billing.OutcomePaid && lr.Charge.ImpUID != w.KeptImpUID {
		return true, r.refundDuplicate(w, lr.Charge)
	}
	w.Checks++
	if w.Checks >= recoveryWatchChecks {
		r.endWatch(w.MerchantUID)
		r.event("recovery_watch_ended", "", fmt.Sprintf("cycle %d: %s not charged again after %d lookups; reconciliation reports a later payment (duplicate)",
			w.Cycle, w.MerchantUID, w.Checks))
		return true, nil
	}
	w.NextCheckAt = r.now().Add(r.recoveryWatchInterval())
	r.s.RecoveryWatches[i] = w
	return true, nil
}

func (r *runner) endWatch(merchantUID string) {
	r.s.RecoveryWatches = slices.DeleteFunc(r.s.RecoveryWatches, func(w billing.RecoveryWatch) bool { return w.MerchantUID == merchantUID })
	if len(r.s.RecoveryWatches) == 0 {
		r.s.RecoveryWatches = nil
	}
}

// refundDuplicate refunds in full a second payment of a watched cycle, and records it (a charge
// record with outcome duplicate and its refund) with the evidence: both payments' merchant_uids,
// imp_uids and amounts. A refund PortOne refuses (the payment was already partly cancelled by
// someone else) parks the subscription for a person instead of being tried for ever.
func (r *runner) refundDuplicate(w billing.RecoveryWatch, dup activities.ChargeResult) error {
	kept := fmt.Sprintf("%s (%s)", w.KeptMerchantUID, w.KeptImpUID)
	if c := r.chargeRecord(w.KeptMerchantUID); c != nil {
		kept = fmt.Sprintf("%s (%s, %s KRW)", w.KeptMerchantUID, w.KeptImpUID, textfmt.FormatKRW(c.Amount))
	}
	evidence := fmt.Sprintf("cycle %d paid twice: kept %s; second %s (%s, %s KRW, PortOne's 리커버리 re-ran the failed schedule)",
		w.Cycle, kept, w.MerchantUID, dup.ImpUID, textfmt.FormatKRW(dup.Amount))
	taxFree := min(w.TaxFree, dup.Amount)
	reason := "중복결제 환불 (PortOne 리커버리로 같은 이용기간이 두 번 결제됨)"
	var res activities.RefundResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.Refund, activities.RefundInput{
		ImpUID: dup.ImpUID, Amount: dup.Amount, PaymentAmount: dup.Amount, Reason: reason, Requester: billing.RequesterAdmin,
		TaxFree: taxFree, PaymentTaxFree: taxFree, Gateway: r.s.Gateway, MerchantUID: r.v2Only(w.MerchantUID),
	}).Get(r.actx, &res)
	var appErr *temporal.ApplicationError
	if err != nil && errors.As(err, &appErr) && appErr.NonRetryable() {
		r.endWatch(w.MerchantUID)
		r.recordDuplicate(w, dup, taxFree, evidence+"; not refunded: "+appErr.Message())
		r.park(billing.AttentionReconciliation, "duplicate", evidence+"; the refund was refused: "+appErr.Message())
		return nil
	}
	if err != nil {
		return err
	}
	r.endWatch(w.MerchantUID)
	r.recordDuplicate(w, dup, taxFree, evidence+"; refunded in full")
	rec := billing.RefundRecord{
		Cycle: w.Cycle, ImpUID: dup.ImpUID, MerchantUID: w.MerchantUID, Amount: res.Refunded, TaxFree: taxFree,
		Reason: reason, Requester: billing.RequesterAdmin, At: r.now(), Outcome: "refunded",
	}
	r.s.Refunds = append(r.s.Refunds, rec)
	r.publish(billing.EventChargeRefunded, billing.EventData{Refund: &billing.EventRefund{
		Cycle: rec.Cycle, MerchantUID: rec.MerchantUID, ImpUID: rec.ImpUID, Amount: rec.Amount, TaxFree: rec.TaxFree, Reason: rec.Reason,
		Requester: rec.Requester, At: rec.At,
	}})
	r.log.Warn("a second payment of a paid cycle was refunded; PortOne's 리커버리 must be off", "cycle", w.Cycle,
		"merchant_uid", w.MerchantUID, "imp_uid", dup.ImpUID, "kept_imp_uid", w.KeptImpUID)
	r.event("duplicate_refunded", string(billing.RequesterAdmin), evidence+"; refunded in full. Turn 리커버리 off in PortOne's console")
	return nil
}

// recordDuplicate appends the second payment's charge record. It shares the failed attempt's
// merchant_uid (PortOne re-executed it), so it is a record of its own, never an update of the
// failed one: every attempt stays recorded.
func (r *runner) recordDuplicate(w billing.RecoveryWatch, dup activities.ChargeResult, taxFree int64, reason string) {
	at := dup.At
	if at.IsZero() {
		at = r.now()
	}
	r.s.Charges = append(r.s.Charges, billing.ChargeRecord{
		Cycle: w.Cycle, Attempt: w.Attempt, MerchantUID: w.MerchantUID, ImpUID: dup.ImpUID, Amount: dup.Amount, TaxFree: taxFree,
		Outcome: billing.OutcomeDuplicate, Reason: textfmt.Truncate(reason, 300), Via: billing.ViaSchedule, At: at, ReceiptURL: dup.ReceiptURL,
	})
}
