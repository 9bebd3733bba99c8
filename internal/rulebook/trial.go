package rulebook

import "time"

// A free trial (plan.trial.days): access from sign-up, nothing charged, billing from the trial's
// end by the same calendar rules as a sign-up then. Turning paid is a rise from 0: it needs the
// consent of the 30 days before the trial's end (consent.go), or the subscription ends there. No
// pause during the trial (a cancel costs nothing). end_trial starts paying now: with the consent
// on record for the trial's end, or with a consent to 0 → the first price dated today in its
// consent field, which works before the trial's own window opens.

// startTrial begins a free trial at sign-up.
func (s *sim) startTrial() {
	s.status = Active
	s.freeTrial = true
	s.trialEnd = s.now.Add(time.Duration(s.plan.TrialDays) * 24 * time.Hour)
	s.nextCharge = s.trialEnd
}

// trialChargeAt is when the first charge after the trial is made: at its end, or with
// first_charge "anchor" on the first anchor date from then on (at its charge time, never before
// the trial's end). The rise from 0 is dated then: its consent window and change_date.
func (s *sim) trialChargeAt() time.Time {
	if !s.firstAtAnchor || s.plan.Unit.short() {
		return s.trialEnd
	}
	today := DateOf(s.trialEnd)
	anchor, first := 0, today
	if (s.plan.Unit == Month || s.plan.Unit == Year) && s.plan.AnchorDay != 0 {
		anchor, first = s.plan.AnchorDay, firstAnchorDate(today, s.plan.AnchorDay)
	} else if s.plan.Unit == Month || s.plan.Unit == Year {
		anchor = today.Day
	}
	return later(s.trialEnd, newSchedule(s.plan, first, anchor, s.trialEnd).at(0))
}

// endTrial starts billing now, unless the rise from 0 is charged now and has no consent (a first
// charge that waits for the anchor date is gated then).
func (s *sim) endTrial() {
	if !s.trialChargeAt().After(s.now) && s.endsForNoConsent() {
		return
	}
	s.trialEnd = time.Time{}
	s.startCalendar()
}

// endTrialProblem: a consent carried by end_trial is a consent, not a refusal, to a rise.
func endTrialProblem(m Message, _ Plan) string {
	switch k := m.EndTrial; {
	case k == nil:
		return "payload"
	case k.Consent != nil && !k.Consent.Granted:
		return "consent.granted"
	case k.Consent != nil && (k.Consent.AmountBefore < 0 || k.Consent.AmountAfter <= k.Consent.AmountBefore):
		return "consent.amount_after"
	}
	return ""
}

// cannotEndTrial: only a free trial of an active subscription with no cancel pending ends early,
// and only with a consent to 0 → the first price: carried (dated today) or granted on record.
func cannotEndTrial(s *sim, m Message) bool {
	switch {
	case s.trialEnd.IsZero(), s.status != Active, s.cancelAt != nil:
		return true
	case m.EndTrial.Consent != nil:
		return !s.consentsNow(m.EndTrial.Consent, 0, s.nextPrice())
	}
	return s.consent == nil || !s.consent.granted
}

// applyEndTrial ends the trial now: the consent carried is recorded for today, or the one on
// record carries over to today.
func applyEndTrial(s *sim, m Message) {
	if m.EndTrial.Consent != nil {
		s.consent = &consentRec{before: 0, after: s.nextPrice(), changeAt: s.now, granted: true}
	} else {
		s.consent.changeAt = s.now
	}
	// The customer asked to pay from today: the first charge is made now whatever first_charge
	// says (pro rata up to the anchor when the anchor is not today).
	s.firstAtAnchor = false
	s.trialEnd, s.nextCharge = s.now, s.now
}
