package rulebook

import "time"

// A rise is a cycle whose price is above the price of the latest paid cycle (전자상거래법 §13⑥):
// it needs the customer's consent, given inside the 30 days before the rise. Without a valid
// consent on record by the rise's charge, the subscription ends there (status canceled, reason
// no_consent). Prorated stubs, credits and retries are not rises.
//
// The rise is the first one ahead whose date is known: here (plans without an introductory
// price) a free trial's end, or a pending plan change that raises the price, charged at the next
// cycle. Its
// consent window opens 30 days before that charge, or at once when it is nearer; then the state
// records the consent required (the amounts before and after, the change date), and a `consent`
// message naming exactly that change is accepted. While a cycle is unpaid the rise after it is
// known all the same, measured against the unpaid cycle's price. Nothing is ahead while a cancel
// or pause at period end is pending, or while paused; a rise withdrawn drops its consent (a
// pending cancel keeps it), a new rise replaces it once its own window opens.

// consentWindow is the law's 30 days before a change; consentSkew the clock skew allowed for a
// consent's instant.
const (
	consentWindow = 30 * 24 * time.Hour
	consentSkew   = 5 * time.Minute
)

// consentRec is the consent the state records for a coming rise.
type consentRec struct {
	before, after int64
	changeAt      time.Time
	granted       bool // the customer consented (false: required, or refused)
	refused       bool
}

// nextPrice is the price the next cycle would be charged at.
func (s *sim) nextPrice() int64 { return s.base().price(s.cycle + 1) }

// rises reports whether charging at price would raise it above the last paid price (above 0
// after a free trial).
func (s *sim) rises(price int64) bool { return (s.paidPrice > 0 || s.freeTrial) && price > s.paidPrice }

// inDunning reports whether a cycle is unpaid and being retried or waiting for a new key.
func (s *sim) inDunning() bool {
	return s.dunning != nil && (s.status == PastDue || s.status == PaymentMethodRequired)
}

// knownRise is the coming rise: when, from which price, to which.
func (s *sim) knownRise() (at time.Time, before, after int64, ok bool) {
	if (s.status != Active && !s.inDunning()) || s.nextCharge.IsZero() || s.cancelAt != nil || (s.pause != nil && s.pause.pending) {
		return time.Time{}, 0, 0, false
	}
	if !s.trialEnd.IsZero() {
		if price := s.nextPrice(); price > 0 {
			return s.trialChargeAt(), 0, price, true // free → paid
		}
		return time.Time{}, 0, 0, false
	}
	// The coming cycles' prices, each against the one before it (the first against the price
	// last paid), as far as an introductory price can reach.
	next := s.base()
	first := s.cycle + 1
	prev, hasBase := s.paidPrice, s.paidPrice > 0 || s.freeTrial
	if s.inDunning() && s.cyclePrice > 0 {
		prev, hasBase = s.cyclePrice, true // the unpaid cycle is paid at its price, or the subscription ends
	}
	if !hasBase {
		prev, first = next.price(first), first+1 // the first charge, agreed to at sign-up
	}
	for c := first; c < s.cycle+1+maxRiseLookahead; c++ {
		price := next.price(c)
		if price <= prev {
			prev = price
			continue
		}
		at := s.nextCharge
		if c > s.cycle+1 {
			at = s.cal.at(s.nextIndex + c - s.cycle - 1)
		}
		return at, prev, price, true
	}
	return time.Time{}, 0, 0, false
}

// maxRiseLookahead bounds the walk: past the longest introductory price (36 cycles) prices no
// longer change by themselves.
const maxRiseLookahead = 38

// consentLive reports whether the state follows its coming rise now: while active or in dunning.
func (s *sim) consentLive() bool { return s.status == Active || s.inDunning() }

// consentOpensAt is when the window of a coming rise not yet on record opens (zero: none).
func (s *sim) consentOpensAt() time.Time {
	at, before, after, ok := s.knownRise()
	if !ok || s.consent.matches(before, after, DateOf(at)) {
		return time.Time{}
	}
	return at.Add(-consentWindow)
}

func (c *consentRec) matches(before, after int64, date Date) bool {
	return c != nil && c.before == before && c.after == after && DateOf(c.changeAt) == date
}

// updateConsent opens the window of the coming rise once it is 30 days away, drops the consent
// of a rise no longer coming, and leaves a consented rise whose own cycle is unpaid alone.
func (s *sim) updateConsent() {
	if !s.consentLive() {
		return
	}
	at, before, after, ok := s.knownRise()
	c := s.consent
	if !ok {
		if c != nil && s.inDunning() && !s.now.Before(c.changeAt) {
			return // the consented rise is the unpaid cycle's own
		}
		if c != nil && s.cancelAt == nil {
			s.consent = nil
		}
		return
	}
	if c.matches(before, after, DateOf(at)) || s.now.Before(at.Add(-consentWindow)) {
		return
	}
	s.consent = &consentRec{before: before, after: after, changeAt: at}
}

// endsForNoConsent ends the subscription, status canceled, reason no_consent, where a rise
// without a consent on record for exactly it would have been charged, and reports whether it
// did.
func (s *sim) endsForNoConsent() bool {
	price := s.nextPrice()
	if !s.rises(price) {
		return false
	}
	if c := s.consent; c != nil && c.granted && c.matches(s.paidPrice, price, DateOf(s.now)) {
		return false
	}
	s.cancelNow(Cancel{When: Now, Refund: RefundNone, Reason: "no_consent"})
	return true
}

// consentProblem: a consent message's own fields.
func consentProblem(m Message, _ Plan) string {
	c := m.Consent
	switch {
	case c == nil:
		return "payload"
	case c.At.IsZero():
		return "at"
	case c.ChangeDate == (Date{}):
		return "change_date"
	case c.AmountBefore < 0 || c.AmountAfter <= c.AmountBefore:
		return "amount_after"
	}
	return ""
}

// consentRefused: a consent names exactly the pending change, was given after sign-up, inside
// the window and not in the future; before the window opens there is nothing to consent to.
func consentRefused(s *sim, m Message) bool {
	s.updateConsent()
	c, k := s.consent, m.Consent
	return c == nil || !c.matches(k.AmountBefore, k.AmountAfter, k.ChangeDate) || !k.At.After(s.tl.Start) ||
		k.At.Before(c.changeAt.Add(-consentWindow)) || k.At.After(s.now.Add(consentSkew))
}

// applyConsent records the consent or the refusal: a refusal ends the subscription on the change
// date, as no consent does.
func applyConsent(s *sim, m Message) {
	s.consent.granted, s.consent.refused = m.Consent.Granted, !m.Consent.Granted
}
