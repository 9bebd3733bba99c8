package workflows

import (
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// startBilling builds the billing calendar once the billing key is verified and takes the first
// charge when the subscription charges at once.
func (r *runner) startBilling() error {
	r.setStatus(billing.StatusActive, "billing key verified")
	return r.startCalendar()
}

// startCalendar builds the billing calendar from today (the sign-up, or a free trial's end) and
// sets the first charge: now, on the anchor date, or a pro-rata stub now.
func (r *runner) startCalendar() error {
	now := r.now()
	plan := r.s.Plan
	if plan.Interval.Unit.IsShort() {
		rec, err := calendar.NewShortRecurrence(plan.Interval, now)
		if err != nil {
			return invalidInput(&billing.InputError{Field: "plan.interval", Reason: err.Error()})
		}
		r.s.Recurrence, r.s.NextIndex, r.s.NextChargeAt = &rec, 0, rec.ChargeAt(0)
		return nil
	}
	rec, start, err := newCalendarRecurrence(plan, calendar.DateOf(now))
	if err != nil {
		return invalidInput(&billing.InputError{Field: "plan", Reason: err.Error()})
	}
	r.s.Recurrence, r.s.NextIndex = &rec, 0
	today := calendar.DateOf(now)
	switch {
	case r.firstCharge == billing.FirstChargeAnchor:
		r.s.NextChargeAt = rec.ChargeAt(0)
	case start == today:
		// Charge the first full cycle now; its service period starts today.
		r.s.NextChargeAt = now
	default:
		// Sign-up before the anchor day: charge the stub from today to the anchor pro rata now.
		r.s.NextChargeAt = rec.ChargeAt(0)
		return r.chargeStub(today, start)
	}
	return nil
}

// newCalendarRecurrence makes the recurrence of a calendar-unit plan starting on its first anchor
// date on or after today.
func newCalendarRecurrence(plan billing.Plan, today calendar.Date) (calendar.Recurrence, calendar.Date, error) {
	tod, err := calendar.ParseTimeOfDay(plan.ChargeTime)
	if err != nil {
		return calendar.Recurrence{}, calendar.Date{}, err
	}
	anchor := int(plan.AnchorDay)
	start := today
	switch plan.Interval.Unit {
	case calendar.Month, calendar.Year:
		if anchor == 0 {
			anchor = today.Day
		} else {
			start = calendar.FirstAnchorDate(today, anchor)
		}
	default:
		anchor = 0
	}
	rec, err := calendar.NewRecurrence(plan.Interval, start, anchor, tod)
	return rec, start, err
}

// chargeStub charges the pro-rata first period from today up to the first anchor date.
func (r *runner) chargeStub(today, anchor calendar.Date) error {
	rec := r.recurrence()
	amount, err := rec.FirstStubCharge(r.price(r.s.Plan, r.s.Cycle+1), today)
	if err != nil {
		return invalidInput(&billing.InputError{Field: "plan", Reason: err.Error()})
	}
	period := billing.Period{
		Cycle: r.s.Cycle + 1, Start: r.now(), End: rec.ChargeAt(0),
		FirstDay: today, LastDay: anchor.AddDays(-1), Stub: true,
	}
	return r.chargePartial(period, amount, "pro-rata first period")
}

// chargePartial charges a prorated period (a first stub, the rest of a period on resume), or
// records that it is below NaverPay's minimum and not charged.
func (r *runner) chargePartial(period billing.Period, amount int64, what string) error {
	if amount < r.s.Gateway.MinAmount() { // V1 10 KRW, V2 100
		if period.Credit > 0 {
			// Paid by credit (versionNoDayTwice): say so, not that it was too small to charge.
			detail := fmt.Sprintf("cycle %d (%s..%s) paid by %s KRW of credit from %s; nothing charged",
				period.Cycle, period.FirstDay, period.LastDay, textfmt.FormatKRW(period.Credit), period.CreditFrom)
			if amount > 0 {
				detail += fmt.Sprintf(" (the %d KRW left is below NaverPay's minimum)", amount)
			}
			r.event("paid_by_credit", "", detail)
		} else {
			r.event("stub_not_charged", "", fmt.Sprintf("%s %s..%s is %d KRW, below NaverPay's minimum; not charged",
				what, period.FirstDay, period.LastDay, amount))
		}
		r.s.Cycle++
		r.s.CurrentPeriod = &period
		r.s.PaidThrough = period.End
		return nil
	}
	return r.beginCycleWith(period, amount, nil)
}

// applyPendingPlan makes a pending plan change the plan: it applies from the next cycle.
func (r *runner) applyPendingPlan() {
	if r.s.PendingPlan == nil {
		return
	}
	r.event("plan_changed", "", fmt.Sprintf("plan %q %d KRW → %q %d KRW from cycle %d",
		r.s.Plan.Name, r.s.Plan.Amount, r.s.PendingPlan.Name, r.s.PendingPlan.Amount, r.s.Cycle+1))
	r.s.Plan = *r.s.PendingPlan
	r.s.PendingPlan = nil
}

// beginCycle starts the next regular cycle, which is due now: it applies a pending plan change,
// moves the calendar on and charges (or settles PortOne's scheduled charge for it).
func (r *runner) beginCycle(scheduled *chargeOutcome) error {
	r.applyPendingPlan()
	rec := r.recurrence()
	idx := r.s.NextIndex
	p := rec.Period(idx)
	period := billing.Period{Cycle: r.s.Cycle + 1, Start: p.Start, End: p.End, FirstDay: p.FirstDay, LastDay: p.LastDay}
	if now := r.now(); now.Before(period.Start) && r.atLeast(changePeriodStartsAtCharge, versionPeriodStartsAtCharge) {
		// Charged before the day's charge time (a sign-up at 00:30): the service starts now.
		period.Start = now
	}
	r.s.NextIndex = idx + 1
	r.s.NextChargeAt = rec.ChargeAt(idx + 1)
	amount := r.price(r.s.Plan, period.Cycle)
	if credit := r.s.Credit; credit > 0 && scheduled == nil && r.features.noDayTwice {
		// A restart's credit for unused paid days (see resumeRestart), or a decrease made now
		// (changenow.go), lowers this cycle's charge; what this cycle cannot take is kept for
		// the next ones, never dropped (the days it stands for were given back).
		applied := min(credit, amount)
		period.Credit, period.CreditFrom = applied, r.s.CreditFrom
		r.s.Credit = credit - applied
		msg := fmt.Sprintf("%s KRW of unused paid days credited on cycle %d", textfmt.FormatKRW(applied), period.Cycle)
		if r.s.Credit > 0 {
			msg += fmt.Sprintf("; %s KRW kept for the next charges", textfmt.FormatKRW(r.s.Credit))
		} else {
			r.s.CreditFrom = ""
		}
		r.event("credit_applied", "", msg)
		return r.chargePartial(period, amount-applied, "cycle after credit")
	}
	if credit := r.s.Credit; credit > 0 && scheduled == nil {
		// A restart's credit for unused paid days (see resumeRestart) lowers this cycle's
		// charge; before versionNoDayTwice (which versionChangeNow's runs always have), what
		// this charge could not take was lost.
		r.s.Credit = 0
		amount -= min(credit, amount)
		r.event("credit_applied", "", fmt.Sprintf("%s KRW of unused paid days credited on cycle %d", textfmt.FormatKRW(min(credit, r.s.Plan.Amount)), period.Cycle))
		return r.chargePartial(period, amount, "cycle after credit")
	}
	return r.beginCycleWith(period, amount, scheduled)
}

// beginCycleWith records a new cycle and charges it, unless its charge is already settled.
func (r *runner) beginCycleWith(period billing.Period, amount int64, settled *chargeOutcome) error {
	r.s.Cycle = period.Cycle
	r.cyclesThisRun++
	r.s.CurrentPeriod = &period
	if r.features.consentGate {
		r.s.CyclePrice = r.s.Plan.Price(period.Cycle)
	}
	dueAt := period.Start
	if settled != nil {
		r.settle(period, *settled, dueAt)
		return nil
	}
	if hit, ok := r.ceilingGate(period.Cycle); ok {
		r.withhold(period, dueAt, amount, fmt.Sprintf("charge of cycle %d", period.Cycle), hit)
		return nil
	}
	out, err := r.charge(period, amount, dueAt)
	if err != nil {
		return err
	}
	r.settle(period, out, dueAt)
	return nil
}

// price is the plan's price of cycle: from versionConsentGate on, introductory prices count.
func (r *runner) price(plan billing.Plan, cycle int) int64 {
	if r.features.consentGate {
		return plan.Price(cycle)
	}
	return plan.Amount
}

// seedPaidPrice gives a subscription that paid before versionConsentGate its baseline: the
// amount last paid, as the law words it (a prorated stub makes it lower, never higher).
func (r *runner) seedPaidPrice() {
	if !r.features.consentGate || r.s.PaidPrice > 0 {
		return
	}
	for i := len(r.s.Charges) - 1; i >= 0; i-- {
		if c := r.s.Charges[i]; c.Outcome == billing.OutcomePaid {
			r.s.PaidPrice = c.Amount
			return
		}
	}
}

// dueNow reports whether t has come.
func (r *runner) dueNow(t time.Time) bool { return !t.IsZero() && !r.now().Before(t) }
