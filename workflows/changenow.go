package workflows

import (
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// An immediate plan change (change_plan with "when": "now", versionChangeNow), as Stripe, Kill
// Bill and Lago make it, by the README's one proration rule over whole KST days, with the day of
// the change counting as used by the old price (as the day of a cancel does):
//
//   - unused = the current period's days after today; credit = floor(what is left of the
//     period's payment × unused ÷ days), exactly the pro-rata refund a cancel now would make;
//     share = floor(new price × unused ÷ days).
//   - share − credit ≥ 10 KRW (an upgrade): the period is split. Cycle n keeps its days up to
//     and including today; a new cycle n+1, a pro-rata period from tomorrow to the old period's
//     last day, is charged share − credit now (tax_free in proportion), and the next cycle
//     follows on the old anchor at the new price. No KST day is in two periods, none unbilled.
//     A charge that is not paid leaves the plan as it was (the attempt stays on record; an
//     immediate change is never retried by dunning).
//   - credit > share (a decrease): the period is split the same way; the new cycle n+1 at the
//     new price is paid by share of the credit (its Credit, drawn from the same payment), and
//     credit − share is taken off the next charges (what one charge cannot take is kept for the
//     following one; what is still pending when the subscription ends is refunded).
//
// What the period is worth is its paid charge less refunds plus the credit taken off it (a
// restart's, or an earlier change's), so a period paid wholly by credit can change too.
//   - otherwise (no difference, or below NaverPay's 10 KRW minimum): the plan changes now,
//     nothing is charged.
//
// A rise needs the customer's consent to a change dated today, sent with the request. It is
// refused during a free trial (end_trial starts paying), during introductory cycles, while a
// cycle is unpaid (dunning: pay it first), while paused, with a cancel or pause at period end
// pending, and in a pro-rata period (a first stub or an earlier change now). In schedule mode the
// next cycle's pending schedule is revoked first; while a credit waits, the next charge is made
// through again (PortOne's scheduler would charge in full). A pending period-end change is
// replaced.

// onChangePlanNow admits an immediate change; the main loop carries it out.
func (r *runner) onChangePlanNow(req billing.ChangePlanRequest, dryRun bool) (reply, error) {
	next := req.Apply(r.s.Plan)
	if err := r.changeNowRefusal(next, req.Consent); err != nil {
		return reply{}, err
	}
	if r.mailbox.queued(intentChangeNow) {
		return reply{}, refuse("when: an immediate plan change is already being carried out")
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	r.event("plan_change_requested", "", fmt.Sprintf("now: %q %d KRW (tax free %d) %s", next.Name, next.Amount, next.TaxFree, req.Reason))
	return queued(r.mailbox.enqueue(intent{kind: intentChangeNow, change: req})), nil
}

// changeNowRefusal says why the plan cannot change to next now (nil: it can), naming the field.
func (r *runner) changeNowRefusal(next billing.Plan, consent *billing.ConsentRequest) error {
	s := r.s
	now := r.now()
	switch {
	case s.Status == billing.StatusPaused:
		return refuse(`when: the subscription is paused; resume it first, or change with when "period_end" (it applies from the next cycle billed)`)
	case s.Status == billing.StatusPastDue || s.Status == billing.StatusPaymentMethodRequired:
		return refuse(`when: a cycle is unpaid (%s); pay it first (charge_now, replace_billing_key) or change with when "period_end"`, s.Status)
	case s.Status != billing.StatusActive:
		return refuse("when: the subscription is %s", s.Status)
	case !s.TrialEndsAt.IsZero():
		return refuse(`when: nothing is paid during a free trial; change with when "period_end" (billing starts on the new plan) or send %s to start paying now`, billing.MsgEndTrial)
	case s.Plan.Trial != nil && s.Plan.Trial.Cycles > 0 && s.Cycle <= s.Plan.Trial.Cycles:
		return refuse(`when: the introductory price runs until cycle %d; change with when "period_end"`, s.Plan.Trial.Cycles)
	case s.PendingCancel != nil:
		return refuse("when: a cancel at period end is pending; send %s first", billing.MsgUndoCancel)
	case s.Pause != nil && s.Pause.Pending:
		return refuse("when: a pause at period end is pending; withdraw it (%s) first", billing.MsgResume)
	case s.CurrentPeriod == nil || s.CurrentPeriod.Stub || !now.Before(s.PaidThrough) ||
		(r.paidCharge(s.CurrentPeriod.Cycle) == nil && s.CurrentPeriod.Credit == 0):
		// A period paid wholly by credit (a restart's) is paid all the same: its worth is its credit.
		return refuse(`when: an immediate change needs a paid, full current period (not a pro-rata one); change with when "period_end"`)
	}
	if used, total := r.currentCalendarPeriod().Usage(now); used >= total {
		return refuse(`when: nothing of the current period is left after today; change with when "period_end"`)
	}
	base := r.changeNowBaseline()
	switch {
	case next.Amount > base && consent == nil:
		return refuse("consent: the change now raises the price from %d to %d KRW: it needs the customer's consent to that change dated today (%s), sent in this request's consent field",
			base, next.Amount, calendar.DateOf(now))
	case next.Amount > base:
		return r.checkImmediateConsent(consent, base, next.Amount)
	case consent != nil:
		return refuse("consent: the change now is not a rise (%d → %d KRW); it needs no consent", base, next.Amount)
	}
	return nil
}

// changeNowBaseline is the price an immediate change is measured against: the price last paid.
func (r *runner) changeNowBaseline() int64 {
	if r.s.PaidPrice > 0 {
		return r.s.PaidPrice
	}
	return r.s.Plan.Price(r.s.Cycle)
}

// currentCalendarPeriod is the current period in the calendar's terms.
func (r *runner) currentCalendarPeriod() calendar.Period {
	p := r.s.CurrentPeriod
	return calendar.Period{Unit: r.s.Plan.Interval.Unit, Start: p.Start, End: p.End, FirstDay: p.FirstDay, LastDay: p.LastDay}
}

// applyChangeNow carries out an admitted immediate change (see the comment at the top). refusal
// is set when the state moved since it was admitted, or when the charge was not paid.
func (r *runner) applyChangeNow(req billing.ChangePlanRequest) (receipt billing.Receipt, refusal, err error) {
	next := req.Apply(r.s.Plan)
	if refusal := r.changeNowRefusal(next, req.Consent); refusal != nil {
		// The state moved since the request was admitted; a signal's sender finds why here.
		r.event("plan_change_not_made", "", refusal.Error())
		return billing.Receipt{}, refusal, nil
	}
	if next.Amount > r.changeNowBaseline() {
		// A rise charges the card: gated before anything changes (the schedule is kept).
		if refusal := r.changeNowChargeGate(r.s.CurrentPeriod.Cycle + 1); refusal != nil {
			r.event("plan_change_not_made", "", refusal.Error())
			return billing.Receipt{}, refusal, nil
		}
	}
	if sc := r.s.Scheduled; sc != nil {
		// PortOne's schedule of the next cycle is at the old price: revoke it first.
		ran, err := r.revokeSchedule(sc)
		if err != nil {
			return billing.Receipt{}, nil, err
		}
		if ran {
			refusal := refuse("when: PortOne charged the next cycle meanwhile; the plan was not changed (send the change again)")
			r.event("plan_change_not_made", "", refusal.Error())
			return billing.Receipt{}, refusal, nil
		}
	}
	now := r.now()
	old := r.s.Plan
	base := r.changeNowBaseline()
	period := *r.s.CurrentPeriod
	cp := r.currentCalendarPeriod()
	// The credit is exactly what a cancel now with prorata would refund: the unused share of
	// what the period is worth (its payment, plus the credit taken off it, less refunds).
	credit, from := r.periodUnused(now)
	share := calendar.UnusedRefund(next.Amount, cp, now)
	used, total := cp.Usage(now)
	// A change that is not made leaves the plan as it was, the pending period-end change included.
	pending, changedAt := r.s.PendingPlan, r.s.PlanChangedAt
	restore := func() { r.s.Plan, r.s.PendingPlan, r.s.PlanChangedAt = old, pending, changedAt }
	r.s.Plan, r.s.PendingPlan, r.s.PlanChangedAt = next, nil, time.Time{}
	detail := fmt.Sprintf("%q %s → %q %s KRW now, %d of %d days left: the new price's share %s less the unused %s",
		old.Name, textfmt.FormatKRW(old.Amount), next.Name, textfmt.FormatKRW(next.Amount), total-used, total, textfmt.FormatKRW(share), textfmt.FormatKRW(credit))
	var msg string
	switch diff := share - credit; {
	case diff >= r.s.Gateway.MinAmount():
		stub := r.changeNowPeriod(period, used)
		stub.Credit, stub.CreditFrom = credit, from
		if refusal := r.changeNowChargeGate(stub.Cycle); refusal != nil {
			// Gated again at the charge: the revoke above took time, and a change that is
			// no rise can charge too.
			restore()
			r.event("plan_change_not_made", "", fmt.Sprintf("%s; %s", detail, refusal.Error()))
			return billing.Receipt{}, refusal, nil
		}
		out, err := r.charge(stub, diff, now)
		if err != nil {
			restore()
			return billing.Receipt{}, nil, err
		}
		if out.res.Outcome != billing.OutcomePaid {
			restore()
			r.logAttempt(stub.Cycle, out) // a declined upgrade counts towards the ceiling
			r.recordCharge(stub.Cycle, out.attempt, out.res, out.via)
			if c := r.chargeRecord(out.res.MerchantUID); c != nil {
				c.TaxFree = out.taxFree
				r.publishCharge(*c)
			}
			r.event("plan_change_not_made", "", fmt.Sprintf("%s; %s KRW not paid (%s): the plan stays %q", detail, textfmt.FormatKRW(diff), out.res.Reason, old.Name))
			return billing.Receipt{}, refuse("when: the charge of %d KRW for the rest of the period was not paid (%s %s); the plan was not changed", diff, out.res.Outcome, out.res.Reason), nil
		}
		r.s.Cycle = stub.Cycle
		r.cyclesThisRun++
		r.s.CurrentPeriod = &stub
		r.s.CyclePrice = next.Amount
		r.settle(stub, out, now)
		r.event("plan_changed", "", fmt.Sprintf("%s: cycle %d (%s..%s) charged %s KRW; cycle %d ends on %s", detail, stub.Cycle, stub.FirstDay, stub.LastDay,
			textfmt.FormatKRW(diff), period.Cycle, stub.FirstDay.AddDays(-1)))
		msg = fmt.Sprintf("plan changed now: %s KRW charged for %s..%s (%s)", textfmt.FormatKRW(diff), stub.FirstDay, stub.LastDay, r.lastChargeSummary())
	case diff < 0:
		// Split like an upgrade: the rest of the period is a new cycle at the new price, paid
		// by the part of the credit its days cost (drawn from the same payment); only the
		// difference waits for the next charges. A restart or cancel inside it then measures
		// what it is worth, and no day is credited twice.
		stub := r.changeNowPeriod(period, used)
		if share > 0 {
			stub.Credit, stub.CreditFrom = share, from
		}
		r.s.Cycle = stub.Cycle
		r.cyclesThisRun++
		r.s.CurrentPeriod = &stub
		r.s.Credit += -diff
		if r.s.CreditFrom == "" {
			r.s.CreditFrom = from
		}
		r.event("plan_changed", "", fmt.Sprintf("%s: cycle %d (%s..%s) paid by %s KRW of credit; %s KRW credited to the next charge; cycle %d ends on %s",
			detail, stub.Cycle, stub.FirstDay, stub.LastDay, textfmt.FormatKRW(share), textfmt.FormatKRW(-diff), period.Cycle, stub.FirstDay.AddDays(-1)))
		msg = fmt.Sprintf("plan changed now: %s..%s paid by credit, %s KRW credited to the next charge", stub.FirstDay, stub.LastDay, textfmt.FormatKRW(-diff))
	default:
		r.event("plan_changed", "", fmt.Sprintf("%s: %d KRW, nothing charged", detail, diff))
		msg = "plan changed now; nothing to charge for the rest of the period"
	}
	if pending != nil {
		r.event("plan_change_replaced", "", fmt.Sprintf("the change to %q %d KRW from cycle %d is replaced by the change now", pending.Name, pending.Amount, period.Cycle+1))
	}
	// The new price is the one in effect: future rises are measured against it.
	r.s.CyclePrice, r.s.PaidPrice = next.Amount, next.Amount
	if next.Amount > base {
		r.recordImmediateConsent(*req.Consent, "plan_change_now", base, next.Amount)
	}
	return r.receipt(msg), nil, nil
}

// changeNowPeriod is the period of the cycle an immediate upgrade starts: from the day after the
// change (the change day is the old price's) to the current period's last day.
func (r *runner) changeNowPeriod(period billing.Period, used int64) billing.Period {
	stub := billing.Period{Cycle: period.Cycle + 1, End: period.End, LastDay: period.LastDay, Stub: true}
	if r.s.Plan.Interval.Unit.IsShort() {
		stub.Start = period.Start.Add(time.Duration(used) * time.Second)
		stub.FirstDay = calendar.DateOf(stub.Start)
		return stub
	}
	stub.FirstDay = period.FirstDay.AddDays(int(used))
	stub.Start = stub.FirstDay.At(calendar.TimeOfDay{})
	return stub
}

// unmadeChangeNow reports whether c is the attempt of an immediate upgrade that was not paid:
// the plan stayed as it was and the cycle number it used is the next regular cycle's, whose
// retries must ask for that cycle's own amount. Such an attempt was made through again before
// the regular cycle's period began; the regular cycle's attempts are made from its start on.
func (r *runner) unmadeChangeNow(c billing.ChargeRecord) bool {
	p := r.s.CurrentPeriod
	return r.features.changeNow && p != nil && c.Cycle == p.Cycle && c.Via == billing.ViaAgain && c.Outcome != billing.OutcomePaid && c.At.Before(p.Start)
}
