package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// chargeOutcome is a settled charge attempt, as recorded in state.
type chargeOutcome struct {
	res     activities.ChargeResult
	attempt int
	via     billing.Via
	// taxFree is the tax-exempt part the attempt asked for.
	taxFree int64
}

// chargeInput is the one builder of a charge's request, for again and schedule alike: the
// merchant_uid, the prorated tax_free and NaverPay's naverUseCfm (the period's last day, never
// before the payment day).
func (r *runner) chargeInput(cycle, attempt int, plan billing.Plan, amount int64, lastDay calendar.Date) activities.ChargeInput {
	in := activities.ChargeInput{
		SubscriptionID: r.s.SubscriptionID,
		Cycle:          cycle,
		Attempt:        attempt,
		CustomerUID:    r.key(),
		MerchantUID:    r.chargeUID(cycle, attempt),
		Amount:         amount,
		TaxFree:        r.taxFreeFor(plan, amount),
		Name:           plan.Name,
		Buyer:          r.s.Buyer,
		Gateway:        r.s.Gateway,
	}
	if plan.NaverUseCfm == billing.NaverUseCfmPeriodEnd {
		// NaverPay refuses a 이용완료일 before the payment day: a retry made after the period's
		// last day (on the next charge date before its charge time, or a short stub) sends the
		// payment day instead.
		if today := calendar.DateOf(r.now()); today.After(lastDay) {
			lastDay = today
		}
		in.NaverUseCfm = lastDay.NaverUseCfm()
	}
	r.setCyclePayment(&in)
	return in
}

// taxFreeFor is the tax-exempt part of a charge of amount on plan: the plan's tax_free for a
// full cycle, and the same proportion of a prorated one, floor(tax_free × amount ÷ plan amount),
// so the taxable part takes the rounding and tax_free never exceeds its share.
func (r *runner) taxFreeFor(plan billing.Plan, amount int64) int64 {
	if plan.TaxFree == 0 || amount >= plan.Amount || !r.atLeast(changeTaxFreeProrated, versionTaxFreeProrated) {
		return min(plan.TaxFree, amount)
	}
	tf, err := calendar.Prorate(plan.TaxFree, amount, plan.Amount)
	if err != nil {
		return min(plan.TaxFree, amount)
	}
	return tf
}

// chargeUID is the merchant_uid of an attempt of a cycle.
func (r *runner) chargeUID(cycle, attempt int) string {
	return billing.ChargeUID{SubscriptionID: r.s.SubscriptionID, Tag: r.s.Tag, Cycle: cycle, Attempt: attempt}.String()
}

// cycleAttempts returns the merchant_uids already used for a cycle (charged, declined or
// scheduled) and the next attempt number.
func (r *runner) cycleAttempts(cycle int) ([]string, int) {
	var uids []string
	next := 1
	for _, c := range r.s.Charges {
		if c.Cycle != cycle {
			continue
		}
		uids = append(uids, c.MerchantUID)
		if c.Attempt >= next {
			next = c.Attempt + 1
		}
	}
	return uids, next
}

// charge makes the next attempt of a cycle through PortOne's again, after confirming that none of
// the cycle's earlier merchant_uids was paid. It never returns a decline as an error; an error
// means the workflow cannot go on (it was canceled).
func (r *runner) charge(period billing.Period, amount int64, dueAt time.Time) (chargeOutcome, error) {
	prior, attempt := r.cycleAttempts(period.Cycle)
	if attempt > billing.MaxAttempt {
		return chargeOutcome{res: activities.ChargeResult{Outcome: billing.OutcomeRejected, Amount: amount,
			Reason: fmt.Sprintf("cycle %d reached the limit of %d attempts", period.Cycle, billing.MaxAttempt)}, attempt: attempt, via: billing.ViaAgain}, nil
	}
	in := r.chargeInput(period.Cycle, attempt, r.s.Plan, amount, period.LastDay)
	in.PriorMerchantUIDs, in.DueAt = prior, dueAt
	in.AnswerOnly = in.PaymentID != "" && r.answerOnlyCharges()
	var res activities.ChargeResult
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.Charge, in).Get(r.actx, &res)
	if err == nil {
		if res.MerchantUID == "" {
			res.MerchantUID = in.MerchantUID
		}
		if res.PaymentID == "" && res.MerchantUID == in.MerchantUID {
			res.PaymentID = in.PaymentID
		}
		return chargeOutcome{res: res, attempt: attempt, via: billing.ViaAgain, taxFree: in.TaxFree}, nil
	}
	if temporal.IsCanceledError(err) {
		return chargeOutcome{}, err
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		// PortOne refused the request itself (not a decline): record it; dunning goes on.
		return chargeOutcome{res: activities.ChargeResult{Outcome: billing.OutcomeRejected, MerchantUID: in.MerchantUID, PaymentID: in.PaymentID,
			Amount: amount, Reason: appErr.Message()}, attempt: attempt, via: billing.ViaAgain, taxFree: in.TaxFree}, nil
	}
	// The outcome is unknown (PortOne unreachable for the whole retry budget). Nothing else may
	// happen for this cycle until PortOne says whether any of its merchant_uids was charged.
	r.log.Warn("charge outcome unknown; reconciling before anything else", "merchant_uid", in.MerchantUID, "error", err)
	r.recordCharge(period.Cycle, attempt, activities.ChargeResult{Outcome: billing.OutcomeUnknown, MerchantUID: in.MerchantUID, PaymentID: in.PaymentID,
		Amount: amount, Reason: "no answer from PortOne: " + err.Error()}, billing.ViaAgain)
	if r.features.behaviour {
		// Unknown past the charge's whole retry budget: park it while reconciling.
		r.park(billing.AttentionUnknownOutcome, "", fmt.Sprintf("%s (%d KRW): %s", in.MerchantUID, amount, textfmt.Truncate(err.Error(), 200)))
		r.refresh()
	}
	out, err := r.reconcile(append(prior, in.MerchantUID), amount, in)
	out.attempt, out.taxFree = attempt, in.TaxFree
	return out, err
}

// reconcile asks PortOne until it answers whether any of merchantUIDs was charged (on V2 with
// cycle paymentIds: any of the cycle's paymentIds, in's).
func (r *runner) reconcile(merchantUIDs []string, amount int64, in activities.ChargeInput) (chargeOutcome, error) {
	var lr activities.LookupResult
	err := workflow.ExecuteActivity(r.activity(reconcileOptions), acts.Lookup,
		activities.LookupInput{MerchantUIDs: merchantUIDs, Gateway: r.s.Gateway,
			PaymentID: in.PaymentID, PriorPaymentIDs: in.PriorPaymentIDs, PriorTxIDs: in.PriorTxIDs}).Get(r.actx, &lr)
	if err != nil {
		return chargeOutcome{}, err
	}
	last := merchantUIDs[len(merchantUIDs)-1]
	if !lr.Found {
		return chargeOutcome{res: activities.ChargeResult{Outcome: billing.OutcomeRejected, MerchantUID: last, PaymentID: in.PaymentID, Amount: amount,
			Reason: "PortOne did not answer in time and holds no such payment: the charge was not made"}, via: billing.ViaAgain}, nil
	}
	return chargeOutcome{res: lr.Charge, via: billing.ViaAgain}, nil
}

// recordCharge appends or updates the charge record of an attempt.
func (r *runner) recordCharge(cycle, attempt int, res activities.ChargeResult, via billing.Via) {
	at := res.At
	if at.IsZero() {
		at = r.now()
	}
	// The activity says which attempt and operation made the charge (an adopted payment is an
	// earlier attempt's); results of older activities, and those the workflow makes itself,
	// leave them to the caller.
	if res.Attempt > 0 {
		attempt = res.Attempt
	}
	if res.Via != "" {
		via = res.Via
	}
	rec := billing.ChargeRecord{
		Cycle: cycle, Attempt: attempt, MerchantUID: res.MerchantUID, ImpUID: res.ImpUID, PaymentID: res.PaymentID, Amount: res.Amount,
		Outcome: res.Outcome, Reason: res.Reason, Via: via, At: at, ReceiptURL: res.ReceiptURL,
	}
	for i := len(r.s.Charges) - 1; i >= 0; i-- {
		c := &r.s.Charges[i]
		if c.MerchantUID == rec.MerchantUID {
			rec.ScheduledAt, rec.TaxFree = c.ScheduledAt, c.TaxFree
			if rec.PaymentID == "" {
				rec.PaymentID = c.PaymentID
			}
			if rec.Via == "" {
				rec.Via = c.Via
			}
			if rec.Attempt == 0 {
				rec.Attempt = c.Attempt
			}
			*c = rec
			return
		}
	}
	if rec.Attempt == 0 {
		_, rec.Attempt = r.cycleAttempts(cycle)
	}
	r.s.Charges = append(r.s.Charges, rec)
}

// count adds one to a workflow counter (replay-safe: a replayed task does not count again).
func (r *runner) count(name, tag, value string) {
	workflow.GetMetricsHandler(r.ctx).WithTags(map[string]string{tag: value}).Counter(name).Inc(1)
}

// chargeRecord returns the record of a merchant_uid.
func (r *runner) chargeRecord(merchantUID string) *billing.ChargeRecord {
	for i := len(r.s.Charges) - 1; i >= 0; i-- {
		if c := &r.s.Charges[i]; c.MerchantUID == merchantUID {
			return c
		}
	}
	return nil
}

// settle applies an attempt's outcome to the subscription: paid renews access; a soft decline
// enters (or continues) dunning; a hard decline waits for a new billing key.
func (r *runner) settle(period billing.Period, out chargeOutcome, dueAt time.Time) {
	res := out.res
	r.logAttempt(period.Cycle, out)
	if res.Adopted && res.MerchantUID != "" {
		// A payment found under an earlier merchant_uid settles the cycle; record it there.
		r.recordCharge(period.Cycle, 0, res, out.via)
	} else {
		r.recordCharge(period.Cycle, out.attempt, res, out.via)
	}
	if c := r.chargeRecord(res.MerchantUID); c != nil && c.TaxFree == 0 && c.Amount == res.Amount {
		c.TaxFree = out.taxFree
	}
	if c := r.chargeRecord(res.MerchantUID); c != nil && r.features.noDayTwice {
		// What the charge pays for, so that anyone can check that no day is paid twice.
		c.FirstDay, c.LastDay, c.Credit, c.CreditFrom = period.FirstDay, period.LastDay, period.Credit, period.CreditFrom
	}
	if c := r.chargeRecord(res.MerchantUID); c != nil {
		r.publishCharge(*c)
	}
	newDunning := res.Outcome != billing.OutcomePaid && (r.s.DunningState == nil || r.s.DunningState.Cycle != period.Cycle)
	if newDunning {
		r.count(billing.MetricDunningEntered, "decline_class", activities.DeclineClass(res.Outcome, res.Reason))
	}
	defer func() {
		if d := r.s.DunningState; d != nil && res.Outcome != billing.OutcomePaid {
			if newDunning {
				r.publish(billing.EventDunningStarted, billing.EventData{Dunning: eventDunning(d)})
			}
			if !d.NextRetryAt.IsZero() {
				r.publish(billing.EventDunningRetryScheduled, billing.EventData{Dunning: eventDunning(d)})
			}
		}
	}()
	switch res.Outcome {
	case billing.OutcomePaid:
		r.s.PaidThrough = period.End
		if r.features.consentGate && r.s.CyclePrice > 0 {
			r.s.PaidPrice = r.s.CyclePrice
		}
		r.count(billing.MetricCyclesCharged, "mode", string(r.s.Plan.ChargeMode))
		if r.s.DunningState != nil {
			r.event("recovered", "", fmt.Sprintf("cycle %d paid after %d attempts", period.Cycle, r.s.DunningState.Attempts+1))
			r.publish(billing.EventDunningRecovered, billing.EventData{Dunning: eventDunning(r.s.DunningState)})
			r.count(billing.MetricDunningRecovered, "via", string(out.via))
		}
		r.s.DunningState = nil
		r.watchForRecovery(period.Cycle, res)
		r.setStatus(billing.StatusActive, fmt.Sprintf("cycle %d paid", period.Cycle))
		return
	case billing.OutcomeDeclinedHard:
		d := r.dunning(period, dueAt)
		d.Attempts++
		d.Hard = true
		d.LastReason = res.Reason
		d.NextRetryAt = time.Time{}
		r.setStatus(billing.StatusPaymentMethodRequired, "hard decline: "+res.Reason)
		return
	default: // declined, rejected, amount mismatch, revoked
		if res.Outcome == billing.OutcomeAmountMismatch && r.features.behaviour {
			r.park(billing.AttentionAmountMismatch, "", fmt.Sprintf("%s: %s", res.MerchantUID, res.Reason))
		}
		d := r.dunning(period, dueAt)
		d.Attempts++
		d.Hard = false
		d.LastReason = res.Reason
		r.scheduleRetry(d)
		r.setStatus(billing.StatusPastDue, fmt.Sprintf("cycle %d unpaid: %s", period.Cycle, res.Reason))
	}
}

// dunning returns the dunning state of a cycle, starting it at the cycle's first failure.
func (r *runner) dunning(period billing.Period, dueAt time.Time) *billing.DunningState {
	if d := r.s.DunningState; d != nil && d.Cycle == period.Cycle {
		return d
	}
	grace := dueAt.Add(r.s.Dunning.GraceDuration())
	if next := r.s.NextChargeAt; !next.IsZero() && next.Before(grace) {
		grace = next // access never runs into the next cycle on credit
	}
	r.s.DunningState = &billing.DunningState{Cycle: period.Cycle, DueAt: dueAt, GraceEndsAt: grace}
	return r.s.DunningState
}

// scheduleRetry sets the next policy retry, dropping any that would reach the next cycle's charge.
func (r *runner) scheduleRetry(d *billing.DunningState) {
	d.NextRetryAt = time.Time{}
	if d.RetriesUsed >= len(r.s.Dunning.RetryAfter) {
		return
	}
	at := d.DueAt.Add(r.s.Dunning.RetryAfter[d.RetriesUsed].Std())
	if !at.After(r.now()) && r.atLeast(changeSkipPastRetries, versionSkipPastRetries) {
		// Retries whose instant passed while nothing could be charged (a hard decline waiting
		// for a new key, a worker down) are skipped: made late they would decline back to back
		// on one card, which card networks penalise.
		skipped := 0
		for d.RetriesUsed < len(r.s.Dunning.RetryAfter) && !d.DueAt.Add(r.s.Dunning.RetryAfter[d.RetriesUsed].Std()).After(r.now()) {
			d.RetriesUsed++
			skipped++
		}
		r.event("retry_skipped", "", fmt.Sprintf("%d retries of cycle %d were due while nothing could be charged; not made late", skipped, d.Cycle))
		if d.RetriesUsed >= len(r.s.Dunning.RetryAfter) {
			return
		}
		at = d.DueAt.Add(r.s.Dunning.RetryAfter[d.RetriesUsed].Std())
	}
	if next := r.s.NextChargeAt; !next.IsZero() && !at.Before(next) {
		r.event("retry_dropped", "", fmt.Sprintf("retry %d at %s would reach the next cycle's charge", d.RetriesUsed+1, at.Format(time.RFC3339)))
		d.RetriesUsed = len(r.s.Dunning.RetryAfter)
		return
	}
	d.NextRetryAt = at
}

// retry runs a dunning retry of the unpaid cycle. policy says whether it consumes one of the
// policy's retries (charge_now and a new billing key retry at once without consuming one; an
// attempt the ceiling held consumed its retry when it was withheld). withheld is set when the
// attempt ceiling withheld the retry (see withhold).
func (r *runner) retry(policy bool) (withheld *billing.CeilingHit, err error) {
	d := r.s.DunningState
	period := *r.s.CurrentPeriod
	if policy && !d.Held {
		d.RetriesUsed++
	}
	if hit, ok := r.ceilingGate(period.Cycle); ok {
		r.withhold(period, d.DueAt, 0, fmt.Sprintf("retry of cycle %d", period.Cycle), hit)
		return &hit, nil
	}
	d.Held = false
	due := d.NextRetryAt
	if due.IsZero() {
		due = r.now() // charge_now and a new key retry at once
	}
	d.NextRetryAt = time.Time{}
	fallback := r.s.Plan.Amount
	if d.HeldAmount > 0 {
		fallback = d.HeldAmount // the cycle's first charge was held: its own amount
	}
	out, err := r.charge(period, r.lastRequestedAmount(period.Cycle, fallback), due)
	if err != nil {
		return nil, err
	}
	r.settle(period, out, d.DueAt)
	return nil, nil
}

// lastRequestedAmount is the amount the cycle was first charged with, so that retries ask for the
// same amount even if the plan changed since.
func (r *runner) lastRequestedAmount(cycle int, fallback int64) int64 {
	for _, c := range r.s.Charges {
		if c.Cycle == cycle && c.Amount > 0 && !r.unmadeChangeNow(c) {
			return c.Amount
		}
	}
	return fallback
}

// finalAction ends dunning when every retry failed and the grace period is over.
func (r *runner) finalAction() error {
	d := r.s.DunningState
	reason := fmt.Sprintf("cycle %d unpaid after %d attempts: %s", d.Cycle, d.Attempts, d.LastReason)
	action := r.s.Dunning.FinalAction
	if r.s.PendingCancel != nil && r.atLeast(changeFinalActionPendingCancel, versionFinalActionPendingCancel) {
		// The customer already asked to leave at period end: end now rather than pause a
		// subscription nobody will resume.
		action = billing.FinalActionCancel
	}
	r.count(billing.MetricDunningFinalAction, "action", string(action))
	fd := eventDunning(d)
	fd.FinalAction = action
	r.publish(billing.EventDunningFinalAction, billing.EventData{Dunning: fd, Detail: reason})
	switch action {
	case billing.FinalActionPause:
		if r.features.noDayTwice {
			// The unpaid cycle is given up: the credit it took is owed again.
			r.unpaidCycleCredit()
		}
		r.s.DunningState = nil
		r.s.Pause = &billing.PauseState{RequestAt: r.now(), PausedAt: r.now(), Reason: reason, ByDunning: true}
		r.s.NextChargeAt = time.Time{}
		r.setStatus(billing.StatusPaused, reason)
		return nil
	default:
		_, err := r.applyCancel(&billing.CancelRequest{
			When: billing.Now, Reason: "미납으로 인한 해지 (" + reason + ")", Requester: billing.RequesterAdmin, Refund: billing.RefundNone,
			RequestedAt: r.now(),
		})
		return err
	}
}
