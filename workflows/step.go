package workflows

import (
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// step carries out the first thing that is due, and reports whether it did anything. Requests
// from messages come first, then time-driven events; on a tie the current cycle's dunning is
// settled before the next cycle begins. A step that fails on an activity leaves the state as it
// was before the step (requests are put back), so the loop can simply try again later.
func (r *runner) step() (bool, error) {
	if i, ok := r.mailbox.nextIntent(); ok {
		_, err := r.carryOut(i)
		return true, err
	}
	// After the intents: a read-back that PortOne does not answer backs off without holding
	// a cancel or a change up.
	if acted, err := r.settleMismatched(); err != nil || acted {
		return acted, err
	}
	if acted, err := r.readBackOverdue(); err != nil || acted {
		return acted, err
	}
	if r.isScheduleMode() {
		if acted, err := r.maintainSchedule(); err != nil || acted {
			return acted, err
		}
	}
	if acted, err := r.checkRecoveryWatches(); err != nil || acted {
		return acted, err
	}
	if acted, err := r.checkRequestedRefunds(); err != nil || acted {
		return acted, err
	}
	switch r.s.Status {
	case billing.StatusPaused:
		if p := r.s.Pause; p != nil && r.dueNow(p.ResumeAt) {
			_, err := r.applyResume(billing.ResumeRequest{Anchor: billing.ResumeKeepAnchor, Reason: "scheduled resume"})
			return true, err
		}
	case billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		d := r.s.DunningState
		if d == nil {
			return false, nil
		}
		if r.inDunning() && (r.conversionNotice() || r.updateConsent()) {
			// A rise after the unpaid cycle is known all the same (versionKnownRises).
			return true, nil
		}
		if r.dueNow(d.NextRetryAt) {
			_, err := r.retry(true)
			return true, err
		}
		if d.NextRetryAt.IsZero() && r.dueNow(d.GraceEndsAt) {
			return true, r.finalAction()
		}
	case billing.StatusActive:
		if r.renewalNotice() || r.conversionNotice() || r.updateConsent() {
			return true, nil
		}
		if r.isScheduleMode() && r.s.Scheduled != nil {
			if !r.dueNow(r.scheduledSettleAt(r.s.Scheduled)) {
				return false, nil
			}
			return true, r.settleScheduledCycle()
		}
		if !r.dueNow(r.s.NextChargeAt) {
			return false, nil
		}
		if pc := r.s.PendingCancel; pc != nil {
			_, err := r.applyCancel(pc)
			return true, err
		}
		if p := r.s.Pause; p != nil && p.Pending {
			p.Pending = false
			p.PausedAt = r.now()
			r.s.NextChargeAt = time.Time{}
			r.setStatus(billing.StatusPaused, "paused at period end: "+p.Reason)
			return true, nil
		}
		if r.features.consentGate {
			// A trial whose first charge waits for the anchor date is gated on that date, not
			// at its end (versionTrialFirstCharge).
			deferred := !r.s.TrialEndsAt.IsZero() && r.trialChargeAt().After(r.now())
			if u, ok := r.upcoming(); ok && !deferred && r.risingWithoutConsent(u.at, u.price) {
				return true, r.endForNoConsent()
			}
			if !r.s.TrialEndsAt.IsZero() {
				return true, r.endTrial()
			}
		}
		return true, r.beginCycle(nil)
	}
	return false, nil
}

// nextEvent is the earliest instant at which step will have something to do.
func (r *runner) nextEvent() (nextEvent, bool) {
	var best nextEvent
	consider := func(t time.Time, reason string) {
		if t.IsZero() {
			return
		}
		if best.at.IsZero() || t.Before(best.at) {
			best = nextEvent{at: t, reason: reason}
		}
	}
	switch r.s.Status {
	case billing.StatusPaused:
		if p := r.s.Pause; p != nil {
			consider(p.ResumeAt, "scheduled resume")
		}
	case billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		if d := r.s.DunningState; d != nil {
			consider(d.NextRetryAt, fmt.Sprintf("cycle %d retry %d", d.Cycle, d.RetriesUsed+1))
			// The grace end matters when it is still ahead (access ends: entitlement and search
			// attributes change) or when no retry is left (the final action is due). A grace
			// end already passed while retries remain is nothing to wait for: waiting on it
			// would wake the loop at once, for ever.
			if d.GraceEndsAt.After(r.now()) || d.NextRetryAt.IsZero() {
				consider(d.GraceEndsAt, fmt.Sprintf("cycle %d grace ends", d.Cycle))
			}
			if r.inDunning() {
				consider(r.conversionNoticeAt(), "7-day notice before the price rises")
				consider(r.consentOpensAt(), "consent window opens")
			}
		}
	case billing.StatusActive:
		if sc := r.s.Scheduled; sc != nil && r.isScheduleMode() {
			consider(r.scheduledSettleAt(sc), fmt.Sprintf("cycle %d scheduled charge check", sc.Cycle))
			break
		}
		reason := fmt.Sprintf("cycle %d charge", r.s.Cycle+1)
		switch {
		case r.s.PendingCancel != nil:
			reason = "cancel at period end"
		case r.s.Pause != nil && r.s.Pause.Pending:
			reason = "pause at period end"
		}
		consider(r.s.NextChargeAt, reason)
		consider(r.renewalNoticeAt(), fmt.Sprintf("cycle %d renewal notice", r.s.Cycle+1))
		consider(r.conversionNoticeAt(), "7-day notice before the price turns paid")
		consider(r.consentOpensAt(), "consent window opens")
	}
	consider(r.nextRecoveryCheck(), "look for a second payment by PortOne's 리커버리")
	consider(r.nextRequestedRefundCheck(), "look up a refund PortOne has not finished")
	consider(r.nextPublishAt(), "hand merchant events to the outbox")
	return best, !best.at.IsZero()
}

// applyCancel ends the subscription now: it revokes PortOne's pending schedule (adopting it if it
// already ran), refunds as asked, deletes the billing key when the plan says so, and only then
// marks the subscription canceled. Each part is idempotent, so a failed try can be repeated. No
// charge attempt starts after this.
// The request is updated in place (an adopted schedule turns the refund to full), so that a
// retried cancel keeps that decision.
func (r *runner) applyCancel(req *billing.CancelRequest) (billing.Receipt, error) {
	r.cancelling = true
	defer func() { r.cancelling = false }()
	if req.RequestedAt.IsZero() {
		req.RequestedAt = r.now()
	}
	if sc := r.s.Scheduled; sc != nil {
		ran, err := r.revokeSchedule(sc)
		if err != nil {
			return billing.Receipt{}, err
		}
		if ran && !sc.ScheduleAt.Before(req.RequestedAt) {
			// PortOne charged after the cancel was asked for: that charge is refunded in full.
			req.Refund = billing.RefundFull
		}
	}
	if r.features.noDayTwice {
		r.unpaidCycleCredit()
	}
	refund, err := r.refundForCancel(*req)
	if err != nil {
		return billing.Receipt{}, err
	}
	if r.features.noDayTwice {
		if refund, err = r.refundPendingCredit(*req, refund); err != nil {
			return billing.Receipt{}, err
		}
	}
	if r.s.Plan.DeleteBillingKeyOnEnd {
		if err := r.deleteBillingKey(r.key(), req.Reason, req.Requester); err != nil {
			return billing.Receipt{}, err
		}
	}
	r.s.PendingCancel = nil
	r.s.Pause = nil
	r.s.DunningState = nil
	r.event("canceled", string(req.Requester), req.Reason)
	r.setStatus(billing.StatusCanceled, req.Reason)
	msg := "subscription canceled"
	if refund != nil && refund.Outcome == billing.RefundRequested {
		msg += "; refund requested, not yet confirmed by PortOne"
	}
	return billing.Receipt{Message: msg, Status: r.s.Status, Refund: refund}, nil
}

// answer hands the update waiting on an intent's token its result (every intent has one, from
// mailbox.enqueue).
func (r *runner) answer(token int, receipt billing.Receipt, err error) {
	if receipt.Status == "" {
		receipt.Status = r.s.Status
	}
	if receipt.NextChargeAt.IsZero() {
		receipt.NextChargeAt = r.nextChargeShown()
	}
	if receipt.PaidThrough.IsZero() && r.features.screens {
		receipt.PaidThrough = r.s.PaidUntil()
	}
	r.mailbox.post(token, receipt, err)
}

// applyPauseNow pauses at once: no charge until resumed, and no access (the rest of a paid
// period is not refunded). A pause asked while past due waits: only an active subscription
// pauses (the validator refused it otherwise, but the state may have moved since).
func (r *runner) applyPauseNow(req billing.PauseRequest) billing.Receipt {
	if r.s.Status != billing.StatusActive {
		return billing.Receipt{Message: fmt.Sprintf("not paused: the subscription is %s", r.s.Status)}
	}
	r.s.Pause = &billing.PauseState{RequestAt: r.now(), PausedAt: r.now(), ResumeAt: req.ResumeAt.UTC(), Reason: req.Reason}
	r.s.NextChargeAt = time.Time{}
	r.setStatus(billing.StatusPaused, "paused: "+req.Reason)
	return billing.Receipt{Message: "paused now"}
}

// applyChargeNow retries the unpaid cycle at once, unless the attempt ceiling forbids it: then
// the caller is refused (refusal), told until when, and dunning goes on as planned.
func (r *runner) applyChargeNow() (receipt billing.Receipt, refusal, err error) {
	if r.s.Status != billing.StatusPastDue || r.s.DunningState == nil {
		return billing.Receipt{Message: fmt.Sprintf("nothing to charge: the subscription is %s", r.s.Status)}, nil, nil
	}
	if hit, ok := r.ceilingGate(r.s.DunningState.Cycle); ok {
		return billing.Receipt{}, r.ceilingRefusal(billing.MsgChargeNow, hit), nil
	}
	r.event("charge_now", "", fmt.Sprintf("retrying cycle %d at once", r.s.DunningState.Cycle))
	if _, err := r.retry(false); err != nil {
		return billing.Receipt{}, nil, err
	}
	return billing.Receipt{Message: r.lastChargeSummary()}, nil, nil
}

// lastChargeSummary describes the latest charge attempt for an update's answer.
func (r *runner) lastChargeSummary() string {
	if len(r.s.Charges) == 0 {
		return "no charge attempted"
	}
	c := r.s.Charges[len(r.s.Charges)-1]
	msg := fmt.Sprintf("cycle %d attempt %d (%s): %s", c.Cycle, c.Attempt, c.MerchantUID, c.Outcome)
	if c.Reason != "" {
		msg += ": " + c.Reason
	}
	return msg
}

// applyResume ends a pause: keeping the anchor (access now, billing where it stopped) or
// restarting it (a full cycle charged now, today the new anchor). See resumeKeep and
// resumeRestart for what is charged.
func (r *runner) applyResume(req billing.ResumeRequest) (billing.Receipt, error) {
	if r.s.Status != billing.StatusPaused {
		return billing.Receipt{Message: "not paused"}, nil
	}
	if !r.atLeast(changeResumeBilling, versionResumeBilling) {
		return r.applyResumeV0(req)
	}
	if req.Anchor == billing.ResumeRestartAnchor {
		return r.resumeRestart(req)
	}
	return r.resumeKeep(req)
}

// resumeKeep resumes on the existing anchor. No period is ever billed twice:
//   - inside a period already paid (or already billed and given up by dunning): access now, the
//     next charge on the next anchor date;
//   - exactly on an anchor instant: that cycle is charged now, in full;
//   - inside a period nobody paid: its unused rest (today through the day before the next
//     anchor, the resume day counting) is charged now pro rata, as Stripe does, then billing
//     goes on at the anchor. Demo (second/minute) plans bill from the next boundary instead.
func (r *runner) resumeKeep(req billing.ResumeRequest) (billing.Receipt, error) {
	now := r.now()
	rec := r.recurrence()
	r.s.Pause = nil
	r.setStatus(billing.StatusActive, "resumed")
	i := rec.IndexAt(now)
	if now.Before(r.s.PaidThrough) || i < r.s.NextIndex {
		r.s.NextChargeAt = rec.ChargeAt(r.s.NextIndex)
		r.event("resumed", "", "resumed inside a period already billed; next charge on the anchor date: "+req.Reason)
		return billing.Receipt{Message: "resumed"}, nil
	}
	if rec.ChargeAt(i).Equal(now) {
		r.s.NextIndex, r.s.NextChargeAt = i, now
		r.event("resumed", "", "resumed on an anchor instant; that cycle is charged now: "+req.Reason)
		return billing.Receipt{Message: "resumed"}, nil
	}
	r.s.NextIndex, r.s.NextChargeAt = i+1, rec.ChargeAt(i+1)
	today, next := calendar.DateOf(now), rec.ChargeDate(i+1)
	if rec.Interval.Unit.IsShort() || !today.Before(next) {
		r.event("resumed", "", "resumed; next charge on the anchor date: "+req.Reason)
		return billing.Receipt{Message: "resumed"}, nil
	}
	if r.risingWithoutConsent(now, r.nextPlan().Price(r.s.Cycle+1)) {
		// The rest of the period would be charged at a higher price than last paid.
		if err := r.endForNoConsent(); err != nil {
			return billing.Receipt{}, err
		}
		return billing.Receipt{Message: "not resumed: the subscription ended, since its price rose without the customer's consent (no_consent)"}, nil
	}
	r.event("resumed", "", "resumed inside an unpaid period; its rest is charged pro rata now: "+req.Reason)
	r.applyPendingPlan()
	amount, err := calendar.StubCharge(r.price(r.s.Plan, r.s.Cycle+1), today, next, rec.Period(i))
	if err != nil {
		return billing.Receipt{}, err
	}
	period := billing.Period{Cycle: r.s.Cycle + 1, Start: now, End: rec.ChargeAt(i + 1), FirstDay: today, LastDay: next.AddDays(-1), Stub: true}
	if err := r.chargePartial(period, amount, "pro-rata rest of the period"); err != nil {
		return billing.Receipt{}, err
	}
	return billing.Receipt{Message: "resumed; " + r.lastChargeSummary()}, nil
}

// resumeRestart makes today the new anchor and charges a full cycle now, less the unused days
// the customer already paid for (the paused period's share from today on, floored to the won:
// today is paid by the new period, so the old one gives it back), so that no day is paid twice;
// Paddle makes no charge at all inside a paid period. Runs before versionNoDayTwice counted
// today as used by the old period too (unusedPaid).
func (r *runner) resumeRestart(req billing.ResumeRequest) (billing.Receipt, error) {
	now := r.now()
	rec, err := r.restartedRecurrence(now)
	if err != nil {
		return billing.Receipt{}, err
	}
	var credit int64
	if r.features.noDayTwice {
		var from string
		credit, from = r.unusedPaidFrom(now)
		if credit > 0 {
			r.s.Credit += credit
			r.s.CreditFrom = from
		}
	} else {
		credit = r.unusedPaid(now)
		r.s.Credit = credit
	}
	r.s.Recurrence = &rec
	r.s.NextIndex = 0
	r.s.NextChargeAt = now
	msg := "resumed with a new anchor today: " + req.Reason
	if credit > 0 {
		msg += fmt.Sprintf(" (the %s KRW of unused paid days are credited)", textfmt.FormatKRW(credit))
	}
	r.event("resumed", "", msg)
	r.s.Pause = nil
	r.setStatus(billing.StatusActive, "resumed")
	return billing.Receipt{Message: "resumed"}, nil
}

// restartedRecurrence is the calendar that a restart makes: today the anchor.
func (r *runner) restartedRecurrence(now time.Time) (calendar.Recurrence, error) {
	rec := r.recurrence()
	if rec.Interval.Unit.IsShort() {
		return calendar.NewShortRecurrence(rec.Interval, now)
	}
	plan := r.s.Plan
	plan.AnchorDay = 0
	rec, _, err := newCalendarRecurrence(plan, calendar.DateOf(now))
	return rec, err
}

// unusedPaid is the unused share at now of what is left (paid less refunded) of the current
// period's paid charge, by the one proration rule; 0 outside a paid period. Only runs before
// versionNoDayTwice use it (resumeRestart); changeNow runs always have noDayTwice, so a credited
// period never reaches it (unusedPaidFrom and periodUnused count the credit).
func (r *runner) unusedPaid(now time.Time) int64 {
	if r.s.CurrentPeriod == nil || !now.Before(r.s.PaidThrough) {
		return 0
	}
	period := *r.s.CurrentPeriod
	paid := r.paidCharge(period.Cycle)
	if paid == nil {
		return 0
	}
	left := paid.Amount - r.refundedAmount(paid.PaymentKey())
	cp := calendar.Period{Unit: r.s.Plan.Interval.Unit, Start: period.Start, End: period.End, FirstDay: period.FirstDay, LastDay: period.LastDay}
	return calendar.UnusedRefund(left, cp, now)
}

// unusedPaidFrom is what the current period gives back when a new period starts at now: the
// share from now's KST day on (that day included: the new period, charged now, pays for it) of
// what the period is worth (its paid charge plus the credit taken off it), less what was
// refunded of it, by the one floor rule; 0 outside a paid period. It also names the payment the
// credit is drawn from.
func (r *runner) unusedPaidFrom(now time.Time) (int64, string) {
	if r.s.CurrentPeriod == nil || !now.Before(r.s.PaidThrough) {
		return 0, ""
	}
	period := *r.s.CurrentPeriod
	worth, from := period.Credit, period.CreditFrom
	var refunded int64
	if paid := r.paidCharge(period.Cycle); paid != nil {
		worth += paid.Amount
		refunded = r.refundedAmount(paid.PaymentKey())
		from = paid.MerchantUID
	}
	if worth <= 0 {
		return 0, ""
	}
	cp := calendar.Period{Unit: r.s.Plan.Interval.Unit, Start: period.Start, End: period.End, FirstDay: period.FirstDay, LastDay: period.LastDay}
	return max(0, calendar.UnusedFrom(worth, cp, now)-refunded), from
}

// periodUnused is what a cancel now with prorata would refund of the current period at now
// (billing.State.CancelRefund: the unused whole KST days after today of what the period is
// worth, its payment less refunds plus the credit taken off it), and the payment a credit of it
// is drawn from: the period's own, or for a period paid wholly by credit, the one its credit
// came from (versionChangeNow).
func (r *runner) periodUnused(now time.Time) (int64, string) {
	p := r.s.CurrentPeriod
	if p == nil {
		return 0, ""
	}
	var sum int64
	for _, sh := range r.s.CancelRefund(billing.RefundProrata, now) {
		sum += sh.Amount
	}
	if paid := r.paidCharge(p.Cycle); paid != nil {
		return sum, paid.MerchantUID
	}
	return sum, p.CreditFrom
}

// applyResumeV0 is resume as it was before versionResumeBilling, kept for the runs that took it.
func (r *runner) applyResumeV0(req billing.ResumeRequest) (billing.Receipt, error) {
	now := r.now()
	rec := r.recurrence()
	if req.Anchor == billing.ResumeRestartAnchor {
		var err error
		if rec, err = r.restartedRecurrence(now); err != nil {
			return billing.Receipt{}, err
		}
		r.s.Recurrence = &rec
		r.s.NextIndex = 0
		r.s.NextChargeAt = now
		r.event("resumed", "", "resumed with a new anchor today: "+req.Reason)
	} else {
		r.s.NextIndex = rec.NextIndexAfter(now)
		r.s.NextChargeAt = rec.ChargeAt(r.s.NextIndex)
		r.event("resumed", "", "resumed; next charge on the anchor date: "+req.Reason)
	}
	r.s.Pause = nil
	r.setStatus(billing.StatusActive, "resumed")
	return billing.Receipt{Message: "resumed"}, nil
}

// applyReplaceKey verifies a new billing key and switches to it; when the subscription is past
// due it retries the unpaid cycle at once. refusal is set when the key does not exist.
func (r *runner) applyReplaceKey(req billing.ReplaceBillingKeyRequest) (receipt billing.Receipt, refusal, err error) {
	if req.ToV2() {
		return r.applyReplaceKeyV2(req)
	}
	key, err := r.checkBillingKey(req.CustomerUID)
	if err != nil {
		return billing.Receipt{}, nil, err
	}
	if !key.Exists {
		msg := fmt.Sprintf("billing key %s is not registered at PortOne; nothing changed", textfmt.MaskUID(req.CustomerUID))
		r.event("replace_billing_key_refused", "", msg)
		return billing.Receipt{Message: msg}, &billing.InputError{Field: "customer_uid", Reason: "is not registered at PortOne"}, nil
	}
	if r.s.Gateway.IsV2() && r.s.BillingKey != "" && r.atLeast(changeReplaceToV2, versionReplaceToV2) {
		return r.replaceRegisteredV2Key(req)
	}
	old := r.s.CustomerUID
	r.s.CustomerUID = req.CustomerUID
	r.event("billing_key_replaced", "", fmt.Sprintf("%s → %s %s", textfmt.MaskUID(old), textfmt.MaskUID(req.CustomerUID), req.Reason))
	r.publish(billing.EventBillingKeyReplaced, billing.EventData{Detail: fmt.Sprintf("%s → %s", textfmt.MaskUID(old), textfmt.MaskUID(req.CustomerUID))})
	return r.afterReplace(req, r.s.Gateway, old, req.CustomerUID, "결제수단 변경 (billing key replaced)")
}

// afterReplace finishes a key replacement once the subscription uses the new key (named
// newKey in the request): a subscription awaiting registration is verified; otherwise the old
// key (old, on gateway oldGateway) is deleted unless the request says not to or names it
// again, and a past-due cycle is retried at once on the new key.
func (r *runner) afterReplace(req billing.ReplaceBillingKeyRequest, oldGateway billing.GatewayName, old, newKey, defaultReason string) (receipt billing.Receipt, refusal, err error) {
	if r.s.Status == billing.StatusAwaitingRegistration {
		r.s.Registration.VerifiedAt = r.now()
		return billing.Receipt{Message: "billing key verified"}, nil, nil
	}
	if deleteOld := req.DeleteOld == nil || *req.DeleteOld; deleteOld && old != newKey {
		reason := req.Reason
		if reason == "" {
			reason = defaultReason
		}
		// Best effort: the new key is already in use, so a failure here only leaves an unused key.
		if derr := r.deleteBillingKeyOn(oldGateway, old, reason, billing.RequesterCustomer); derr != nil {
			r.event("old_billing_key_not_deleted", "", derr.Error())
		}
	}
	if d := r.s.DunningState; d != nil && (r.s.Status == billing.StatusPastDue || r.s.Status == billing.StatusPaymentMethodRequired) {
		d.Hard = false
		r.setStatus(billing.StatusPastDue, "new billing key: retrying at once")
		withheld, err := r.retry(false)
		if err != nil {
			return billing.Receipt{}, nil, err
		}
		if withheld != nil {
			return billing.Receipt{Message: "billing key replaced; the retry was not made: " + withheld.String()}, nil, nil
		}
		return billing.Receipt{Message: "billing key replaced; " + r.lastChargeSummary()}, nil, nil
	}
	return billing.Receipt{Message: "billing key replaced"}, nil, nil
}
