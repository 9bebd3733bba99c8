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

// endTrial starts billing now, unless the rise from 0 has no consent.
func (s *sim) endTrial() {
	if s.endsForNoConsent() {
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
	s.trialEnd, s.nextCharge = s.now, s.now
}
