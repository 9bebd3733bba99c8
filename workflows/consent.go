package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// Trials, introductory prices and the consent gate (versionConsentGate).
//
// A price rise is any charge of a cycle whose price (Plan.Price: the per-cycle price, not a
// prorated stub or a credited amount) is above the price of the latest cycle paid, PaidPrice, or
// above zero after a free trial. Such a charge is made only with a matching consent on record;
// otherwise the subscription ends, canceled with reason no_consent, at the instant the higher
// price would first have been charged: the end of the last paid period. A subscription that never
// paid and had no free trial has no baseline: its first charge is the one consented to at sign-up.
// A decrease needs no consent; a rise withdrawn before its date (a plan change back down) drops
// its pending consent, which stays in the audit trail.

// maxConsentHistory bounds the settled consents kept in the state.
const maxConsentHistory = 12

// lawDays is n days of the law's time. With the demo second intervals a day is a second, so
// that a demo shows the 30-day window and the 7-day notice in a minute; with minute intervals
// it is a minute (versionMinuteLawDay), so that a demo trial lasts long enough to consent to,
// or to end early, by hand.
func (r *runner) lawDays(n int) time.Duration {
	if r.features.minuteLawDay && r.s.Plan.Interval.Unit == calendar.Minute {
		return time.Duration(n) * time.Minute
	}
	if r.s.Plan.Interval.Unit.IsShort() {
		return time.Duration(n) * time.Second
	}
	return time.Duration(n) * 24 * time.Hour
}

// startTrial starts a free trial once the billing key is verified: access now, nothing
// charged, billing from the trial's end.
func (r *runner) startTrial() {
	days := r.s.Plan.Trial.Days
	r.s.FreeTrial = true
	r.s.TrialEndsAt = r.now().Add(r.lawDays(days))
	r.s.NextChargeAt = r.s.TrialEndsAt
	r.event("trial_started", "", fmt.Sprintf("%d days free until %s", days, r.s.TrialEndsAt.In(seoul()).Format("2006-01-02 15:04 MST")))
	r.setStatus(billing.StatusActive, "free trial")
}

// trialChargeAt is when the first charge after a free trial is made (versionTrialFirstCharge):
// at the trial's end, or with first_charge "anchor" on the first anchor date from then on, at
// the charge time (never before the trial's end), as startCalendar will set it. The rise from 0
// is dated then: its consent window opens 30 days before, and the consent names that date.
func (r *runner) trialChargeAt() time.Time {
	end := r.s.TrialEndsAt
	if !r.features.trialFirstCharge || r.firstCharge != billing.FirstChargeAnchor || r.s.Plan.Interval.Unit.IsShort() {
		return end
	}
	rec, _, err := newCalendarRecurrence(r.s.Plan, calendar.DateOf(end))
	if err != nil {
		return end
	}
	if at := rec.ChargeAt(0); at.After(end) {
		return at
	}
	return end
}

// endTrial starts billing at the trial's end, by the same calendar rules as a sign-up then.
func (r *runner) endTrial() error {
	r.s.TrialEndsAt = time.Time{}
	r.s.FirstCharge = "" // the calendar now knows when the first charge is
	r.event("trial_ended", "", "billing starts")
	return r.startCalendar()
}

// baseline is the price a rise is measured against, and whether there is one.
func (r *runner) baseline() (int64, bool) {
	switch {
	case r.s.PaidPrice > 0:
		return r.s.PaidPrice, true
	case r.s.FreeTrial:
		return 0, true
	}
	return 0, false
}

// upcomingCharge is the next regular charge: when, at what price, and what sets the price.
type upcomingCharge struct {
	at    time.Time
	price int64
	why   string
	// cycle is the number of the cycle charged at at (set by knownRise).
	cycle int
}

func (r *runner) upcoming() (upcomingCharge, bool) {
	s := r.s
	if s.Status != billing.StatusActive || s.NextChargeAt.IsZero() || s.PendingCancel != nil || (s.Pause != nil && s.Pause.Pending) {
		return upcomingCharge{}, false
	}
	next := r.nextPlan()
	u := upcomingCharge{at: s.NextChargeAt, price: next.Price(s.Cycle + 1), why: "plan_change"}
	switch {
	case !s.TrialEndsAt.IsZero():
		u.why = "trial_end"
	case next.Trial != nil && next.Trial.Cycles > 0 && s.Cycle == next.Trial.Cycles:
		u.why = "intro_end"
	}
	return u, true
}

// maxRiseLookahead bounds how many cycles knownRise looks ahead: past the longest introductory
// price (36 cycles), the prices no longer change by themselves.
const maxRiseLookahead = 38

// knownRise is the first rise ahead whose date is known today (versionKnownRises): the end of a
// free trial, the end of an introductory price however many cycles away, a plan change (which
// applies from the next cycle, also when introductory cycles still come first). It is found by
// walking the coming cycles' prices, each against the price of the cycle before it (the first
// against the baseline, the price last paid): before is that price, u the rise. A subscription
// that has not paid yet and had no free trial measures from its first charge, which the customer
// agreed to at sign-up. Nothing is ahead while a cancel or pause at period end is pending.
func (r *runner) knownRise() (u upcomingCharge, before int64, ok bool) {
	s := r.s
	dunning := r.inDunning()
	if (s.Status != billing.StatusActive && !dunning) || s.NextChargeAt.IsZero() || s.PendingCancel != nil || (s.Pause != nil && s.Pause.Pending) {
		return upcomingCharge{}, 0, false
	}
	next := r.nextPlan()
	if !s.TrialEndsAt.IsZero() {
		if price := next.Price(s.Cycle + 1); price > 0 {
			return upcomingCharge{at: r.trialChargeAt(), price: price, why: "trial_end", cycle: s.Cycle + 1}, 0, true
		}
		return upcomingCharge{}, 0, false
	}
	if s.Recurrence == nil {
		return upcomingCharge{}, 0, false
	}
	rec := r.recurrence()
	// at is when cycle c will be charged: the next charge, then the calendar onwards.
	at := func(c int) time.Time {
		if c == s.Cycle+1 {
			return s.NextChargeAt
		}
		return rec.ChargeAt(s.NextIndex + c - s.Cycle - 1)
	}
	first := s.Cycle + 1
	prev, hasBase := r.baseline()
	if dunning && s.CyclePrice > 0 {
		// The unpaid cycle is paid at its price, or the subscription ends or pauses: the next
		// cycle is measured against it.
		prev, hasBase = s.CyclePrice, true
	}
	if !hasBase {
		prev = next.Price(first)
		first++
	}
	for c := first; c < s.Cycle+1+maxRiseLookahead; c++ {
		price := next.Price(c)
		if price <= prev {
			prev = price
			continue
		}
		why := "plan_change"
		if t := next.Trial; t != nil && t.Cycles > 0 && c == t.Cycles+1 {
			why = "intro_end"
		}
		return upcomingCharge{at: at(c), price: price, why: why, cycle: c}, prev, true
	}
	return upcomingCharge{}, 0, false
}

// inDunning reports whether a cycle is unpaid and being retried or waiting for a new key; the
// rises after it are known all the same (versionKnownRises).
func (r *runner) inDunning() bool {
	st := r.s.Status
	return r.features.knownRises && r.s.DunningState != nil && (st == billing.StatusPastDue || st == billing.StatusPaymentMethodRequired)
}

// risingWithoutConsent reports whether charging price at the instant at would raise the price
// without a matching consent on record.
func (r *runner) risingWithoutConsent(at time.Time, price int64) bool {
	base, ok := r.baseline()
	if !r.features.consentGate || !ok || price <= base {
		return false
	}
	c := r.s.Consent
	return c == nil || c.Status != billing.ConsentGranted || c.AmountBefore != base || c.AmountAfter != price ||
		c.ChangeDate != calendar.DateOf(at)
}

// pendingRise is the coming rise (the next charge above the baseline), if any, with its
// baseline, and whether the consent on record is for exactly that rise.
func (r *runner) pendingRise() (u upcomingCharge, base int64, recorded, ok bool) {
	if r.features.knownRises {
		u, base, ok = r.knownRise()
		if !ok {
			return upcomingCharge{}, 0, false, false
		}
	} else {
		u, ok = r.upcoming()
		var hasBase bool
		base, hasBase = r.baseline()
		if !ok || !hasBase || u.price <= base {
			return upcomingCharge{}, 0, false, false
		}
	}
	c := r.s.Consent
	recorded = c != nil && c.AmountBefore == base && c.AmountAfter == u.price && c.ChangeDate == calendar.DateOf(u.at)
	return u, base, recorded, true
}

// updateConsent opens a coming rise's consent window (30 days before it, or at once if it is
// nearer), and drops a pending consent whose rise was withdrawn. It reports whether it changed
// anything. It runs while the subscription is active: a pending cancel at period end keeps the
// consent (an undo brings the rise back).
func (r *runner) updateConsent() bool {
	if !r.features.consentGate {
		return false
	}
	u, base, recorded, rising := r.pendingRise()
	c := r.s.Consent
	if !rising {
		if c != nil && r.inDunning() && !r.now().Before(c.ChangeAt) {
			// The consented rise is the unpaid cycle's own: it is still being charged.
			return false
		}
		if c != nil && r.s.PendingCancel == nil {
			if r.features.knownRises && r.riseTookEffect(c) {
				r.settleConsent(fmt.Sprintf("the rise to %s KRW took effect on %s", textfmt.FormatKRW(c.AmountAfter), c.ChangeDate))
				return true
			}
			r.settleConsent(fmt.Sprintf("the rise to %s KRW is no longer coming", textfmt.FormatKRW(c.AmountAfter)))
			return true
		}
		return false
	}
	if recorded || r.now().Before(u.at.Add(-r.lawDays(billing.ConsentWindowDays))) {
		return false
	}
	if c != nil {
		r.settleConsent("superseded by another change")
	}
	r.s.Consent = &billing.ConsentState{
		Status: billing.ConsentRequired, ChangeAt: u.at, ChangeDate: calendar.DateOf(u.at), AmountBefore: base, AmountAfter: u.price,
		PaymentMethod: "NaverPay 정기결제 " + textfmt.MaskUID(r.s.CustomerUID), Why: u.why, OpenedAt: r.now(),
	}
	r.event("consent_required", "", fmt.Sprintf("%s: %s → %s KRW from %s", u.why, textfmt.FormatKRW(base), textfmt.FormatKRW(u.price), calendar.DateOf(u.at)))
	cp := *r.s.Consent
	r.publish(billing.EventConsentRequired, billing.EventData{Consent: &cp})
	return true
}

// riseTookEffect reports whether c's rise happened: consented, its date has come and the
// higher price was paid.
func (r *runner) riseTookEffect(c *billing.ConsentState) bool {
	return c.Status == billing.ConsentGranted && !r.now().Before(c.ChangeAt) && r.s.PaidPrice >= c.AmountAfter
}

// consentOpensAt is when updateConsent will open a window (zero: nothing to open).
func (r *runner) consentOpensAt() time.Time {
	if !r.features.consentGate {
		return time.Time{}
	}
	u, _, recorded, rising := r.pendingRise()
	if !rising || recorded {
		return time.Time{}
	}
	return u.at.Add(-r.lawDays(billing.ConsentWindowDays))
}

// settleConsent moves the current consent to the history.
func (r *runner) settleConsent(why string) {
	c := r.s.Consent
	if c == nil {
		return
	}
	r.event("consent_closed", "", fmt.Sprintf("%s (%s): %s", c.Why, c.Status, why))
	r.s.ConsentHistory = append(r.s.ConsentHistory, *c)
	if n := len(r.s.ConsentHistory); n > maxConsentHistory {
		r.s.ConsentHistory = append([]billing.ConsentState(nil), r.s.ConsentHistory[n-maxConsentHistory:]...)
	}
	r.s.Consent = nil
}

// endForNoConsent ends the subscription where the rise would have been charged.
func (r *runner) endForNoConsent() error {
	c := r.s.Consent
	detail := "no consent on record"
	if c != nil {
		detail = fmt.Sprintf("%s: consent %s for %s → %s KRW", c.Why, c.Status, textfmt.FormatKRW(c.AmountBefore), textfmt.FormatKRW(c.AmountAfter))
	}
	r.event("no_consent", "", detail+"; the higher price is never charged")
	req := billing.CancelRequest{When: billing.Now, Reason: billing.ReasonNoConsent, Requester: billing.RequesterAdmin, Refund: billing.RefundNone, RequestedAt: r.now()}
	if _, err := r.applyCancel(&req); err != nil {
		return err
	}
	r.settleConsent("the subscription ended without the rise")
	return nil
}

// conversionAt is when a free or discounted period turns paid (zero: none ahead); from
// versionKnownRises on, when the first known rise of any kind takes effect.
func (r *runner) conversionAt() time.Time {
	s := r.s
	if r.features.knownRises {
		if u, _, ok := r.knownRise(); ok {
			return u.at
		}
		return time.Time{}
	}
	if !r.features.consentGate || s.Status != billing.StatusActive || s.PendingCancel != nil {
		return time.Time{}
	}
	if !s.TrialEndsAt.IsZero() {
		return s.TrialEndsAt
	}
	if t := r.nextPlan().Trial; t != nil && t.Cycles > 0 && s.Cycle == t.Cycles {
		return s.NextChargeAt
	}
	return time.Time{}
}

// conversionNoticeAt is when the 7-day notice is due (zero: none, or made).
func (r *runner) conversionNoticeAt() time.Time {
	at := r.conversionAt()
	if at.IsZero() || r.s.ConversionNoticeFor.Equal(at) {
		return time.Time{}
	}
	return at.Add(-r.lawDays(7))
}

// conversionNotice makes the trial.ending notice when due.
func (r *runner) conversionNotice() bool {
	due := r.conversionNoticeAt()
	if due.IsZero() || !r.dueNow(due) {
		return false
	}
	if r.features.knownRises {
		return r.riseNotice(due)
	}
	at := r.conversionAt()
	r.s.ConversionNoticeFor = at
	next := r.nextPlan()
	price := next.Price(r.s.Cycle + 1)
	late := ""
	if r.now().After(due.Add(time.Minute)) {
		late = " (late: the worker was not running when it was due)"
	}
	r.event("conversion_notice", "", fmt.Sprintf("paid from %s at %s KRW%s", at.In(seoul()).Format("2006-01-02 15:04 MST"), textfmt.FormatKRW(price), late))
	r.publish(billing.EventTrialEnding, billing.EventData{Renewal: &billing.EventRenewal{ChargeAt: utc(at), Amount: price, Plan: next.Name, Cycle: r.s.Cycle + 1}})
	return true
}

// riseNotice makes the 7-day notice of the first known rise (versionKnownRises): trial.ending
// when a free trial or an introductory price ends, price.rising for any other rise. It names
// the rise's own cycle and price. It is labelled late (with its due time) only when the rise was
// known in time and the notice was made after it; a rise known less than 7 days ahead (a plan
// change on a short plan) gets its notice at once, labelled as short notice.
func (r *runner) riseNotice(due time.Time) bool {
	u, before, ok := r.knownRise()
	if !ok {
		return false
	}
	r.s.ConversionNoticeFor = u.at
	next := r.nextPlan()
	note := ""
	switch known := r.riseKnownSince(u); {
	case known.After(due):
		note = fmt.Sprintf(" (short notice: the change was made %s before it takes effect)", lawSpan(u.at.Sub(known)))
	case r.now().After(due.Add(time.Minute)):
		// Made after its time although the rise was known then: the worker was down, or a
		// pending cancel or pause held it back until it was withdrawn.
		note = fmt.Sprintf(" (late: it was due at %s)", due.In(seoul()).Format("2006-01-02 15:04 MST"))
	}
	r.event("conversion_notice", "", fmt.Sprintf("%s: %s → %s KRW from %s%s", u.why, textfmt.FormatKRW(before), textfmt.FormatKRW(u.price),
		u.at.In(seoul()).Format("2006-01-02 15:04 MST"), note))
	kind := billing.EventTrialEnding
	if u.why == "plan_change" {
		kind = billing.EventPriceRising
	}
	r.publish(kind, billing.EventData{Renewal: &billing.EventRenewal{ChargeAt: utc(u.at), Amount: u.price, Plan: next.Name, Cycle: u.cycle}})
	return true
}

// lawSpan says how long d is, in days when it is a day or more.
func lawSpan(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return d.Round(time.Second).String()
}

// riseKnownSince is when the rise u became known: a plan change when it was asked for, a trial's
// or introductory price's end at sign-up.
func (r *runner) riseKnownSince(u upcomingCharge) time.Time {
	if u.why == "plan_change" && !r.s.PlanChangedAt.IsZero() {
		return r.s.PlanChangedAt
	}
	return r.s.StartedAt
}

func (r *runner) onConsent(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ConsentRequest
	if dup, err := r.admit(raw, &req, req.Validate); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	c := r.s.Consent
	switch {
	case c == nil && r.features.knownRises:
		return reply{}, r.noConsentWaiting()
	case c == nil:
		return reply{}, refuse("no price rise is waiting for consent")
	case req.AmountBefore != c.AmountBefore || req.AmountAfter != c.AmountAfter:
		return reply{}, refuse("amount_before/amount_after: the pending change is %d → %d KRW, not %d → %d", c.AmountBefore, c.AmountAfter, req.AmountBefore, req.AmountAfter)
	case req.ChangeDate != c.ChangeDate:
		return reply{}, refuse("change_date: the pending change takes effect on %s, not %s", c.ChangeDate, req.ChangeDate)
	case !req.At.After(r.s.StartedAt):
		return reply{}, refuse("at: a consent given at or before sign-up does not count; the rise needs its own, separate consent")
	case req.At.Before(c.ChangeAt.Add(-r.lawDays(billing.ConsentWindowDays))):
		return reply{}, refuse("at: consent must be given within the %d days before the change (from %s)", billing.ConsentWindowDays,
			c.ChangeAt.Add(-r.lawDays(billing.ConsentWindowDays)).In(seoul()).Format("2006-01-02 15:04 MST"))
	case req.At.After(r.now().Add(5 * time.Minute)):
		return reply{}, refuse("at: %s is in the future", req.At.Format(time.RFC3339))
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	c.Evidence = &billing.ConsentEvidence{Granted: *req.Granted, At: req.At.UTC(), Channel: req.Channel, ShownSHA256: req.ShownHash(), RecordID: req.RecordID, RecordedAt: r.now()}
	cp := *c
	if *req.Granted {
		c.Status = billing.ConsentGranted
		cp.Status = c.Status
		r.event("consent_granted", "customer", fmt.Sprintf("%s → %s KRW from %s via %s (record %s)", textfmt.FormatKRW(c.AmountBefore), textfmt.FormatKRW(c.AmountAfter), c.ChangeDate, req.Channel, req.RecordID))
		r.publish(billing.EventConsentGranted, billing.EventData{Consent: &cp})
		return answered(r.receipt(fmt.Sprintf("consent recorded: %s KRW will be charged from %s", textfmt.FormatKRW(c.AmountAfter), c.ChangeDate))), nil
	}
	c.Status = billing.ConsentRefused
	cp.Status = c.Status
	r.event("consent_refused", "customer", fmt.Sprintf("via %s (record %s); the subscription ends on %s", req.Channel, req.RecordID, c.ChangeDate))
	r.publish(billing.EventConsentRefused, billing.EventData{Consent: &cp})
	return answered(r.receipt(fmt.Sprintf("refusal recorded: the subscription ends at %s without the rise", c.ChangeAt.In(seoul()).Format("2006-01-02 15:04 MST")))), nil
}

// noConsentWaiting is the refusal of a consent when no window is open: when a rise is coming,
// it names the field and says when its window opens.
func (r *runner) noConsentWaiting() error {
	u, before, ok := r.knownRise()
	if !ok {
		return refuse("no price rise is waiting for consent")
	}
	opens := u.at.Add(-r.lawDays(billing.ConsentWindowDays))
	hint := ""
	if u.why == "trial_end" && r.features.earlyConversion {
		hint = fmt.Sprintf("; to start paying now, send %s with this consent in its consent field", billing.MsgEndTrial)
	}
	return refuse("at: the consent window for the rise %s → %s KRW on %s opens at %s (%d days before it); a consent given earlier does not count%s",
		textfmt.FormatKRW(before), textfmt.FormatKRW(u.price), calendar.DateOf(u.at), opens.In(seoul()).Format("2006-01-02 15:04 MST"),
		billing.ConsentWindowDays, hint)
}

func (r *runner) onEndTrial(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.EndTrialRequest
	// Before versionEarlyConversion the payload had no "consent": decode treats it as that
	// version did (newerFields).
	if dup, err := r.admit(raw, &req, req.Validate); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	c := r.s.Consent
	price := r.nextPlan().Price(r.s.Cycle + 1)
	switch {
	case r.s.TrialEndsAt.IsZero():
		return reply{}, refuse("there is no free trial to end")
	case r.s.Status != billing.StatusActive || r.s.PendingCancel != nil:
		return reply{}, refuse("the trial ends with the subscription (%s)", r.s.Status)
	case req.Consent != nil:
		if err := r.checkImmediateConsent(req.Consent, 0, price); err != nil {
			return reply{}, err
		}
	case c == nil || c.Status != billing.ConsentGranted:
		if r.features.earlyConversion {
			return reply{}, refuse("consent: the customer's consent to be charged %d KRW from today must be on record first (the consent update) or come with this request (its consent field, change_date today)", price)
		}
		return reply{}, refuse("the customer's consent to be charged %d KRW must be on record first (the consent update)", price)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	now := r.now()
	if req.Consent != nil {
		r.recordImmediateConsent(*req.Consent, "early_conversion", 0, price)
	} else {
		// The customer asked to start paying now: the consent given for the trial's end carries over.
		c.ChangeAt, c.ChangeDate = now, calendar.DateOf(now)
	}
	r.s.TrialEndsAt, r.s.NextChargeAt = now, now
	if r.features.trialFirstCharge {
		// The customer asked to pay from today, with a consent dated today: the first charge
		// is made now (pro rata up to the anchor), whatever first_charge says.
		r.firstCharge, r.s.FirstCharge = billing.FirstChargeNow, ""
	}
	if r.features.earlyConversion {
		// The customer asked to be charged now: no 7-day notice of a conversion they started.
		r.s.ConversionNoticeFor = now
	}
	r.event("trial_ended_early", "customer", req.Reason)
	return answered(r.receipt("the trial ends now; the first charge follows")), nil
}

// checkImmediateConsent checks a consent carried by a request that raises the price now, from
// before to after KRW (versionEarlyConversion, versionChangeNow): it must name exactly that
// change dated today (KST), have been given after sign-up, within the 30 days before now and not
// in the future. Each refusal names its field.
func (r *runner) checkImmediateConsent(req *billing.ConsentRequest, before, after int64) error {
	now := r.now()
	today := calendar.DateOf(now)
	switch {
	case req.AmountBefore != before || req.AmountAfter != after:
		return refuse("consent.amount_before/amount_after: the change now is %d → %d KRW, not %d → %d", before, after, req.AmountBefore, req.AmountAfter)
	case req.ChangeDate != today:
		return refuse("consent.change_date: the change takes effect now, on %s, not %s", today, req.ChangeDate)
	case !req.At.After(r.s.StartedAt):
		return refuse("consent.at: a consent given at or before sign-up does not count; the rise needs its own, separate consent")
	case req.At.Before(now.Add(-r.lawDays(billing.ConsentWindowDays))):
		return refuse("consent.at: consent must be given within the %d days before the change (from %s)", billing.ConsentWindowDays,
			now.Add(-r.lawDays(billing.ConsentWindowDays)).In(seoul()).Format("2006-01-02 15:04 MST"))
	case req.At.After(now.Add(5 * time.Minute)):
		return refuse("consent.at: %s is in the future", req.At.Format(time.RFC3339))
	}
	return nil
}

// recordImmediateConsent records the consent to a rise from before to after KRW taking effect
// now, with its evidence; a consent pending for another rise is superseded.
func (r *runner) recordImmediateConsent(req billing.ConsentRequest, why string, before, after int64) {
	now := r.now()
	if r.s.Consent != nil {
		r.settleConsent("superseded by a change now")
	}
	r.s.Consent = &billing.ConsentState{
		Status: billing.ConsentGranted, ChangeAt: now, ChangeDate: calendar.DateOf(now), AmountBefore: before, AmountAfter: after,
		PaymentMethod: "NaverPay 정기결제 " + textfmt.MaskUID(r.s.CustomerUID), Why: why, OpenedAt: now,
		Evidence: &billing.ConsentEvidence{Granted: true, At: req.At.UTC(), Channel: req.Channel, ShownSHA256: req.ShownHash(), RecordID: req.RecordID, RecordedAt: now},
	}
	cp := *r.s.Consent
	r.event("consent_granted", "customer", fmt.Sprintf("%s: %s → %s KRW from now (%s) via %s (record %s)", why, textfmt.FormatKRW(before), textfmt.FormatKRW(after),
		cp.ChangeDate, req.Channel, req.RecordID))
	r.publish(billing.EventConsentGranted, billing.EventData{Consent: &cp})
}
