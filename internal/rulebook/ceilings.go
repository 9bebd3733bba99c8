package rulebook

import (
	"slices"
	"time"
)

// The attempt ceiling (README, Dunning): per billing key, every attempt that reached the card
// counts, on every path. An attempt is not made when the key had 10 declines in the last 24
// hours, or, for a reattempt (an attempt of a cycle already declined), when it had 20
// reattempts in the last 30 days. A new key starts its own count. What happens instead:
// charge_now is refused; a dunning retry, the retry after a new key and a cycle's charge wait on
// the dunning's timer until the ceiling allows them (a held retry consumes no further policy
// retry, a held charge keeps its amount), or, when that is only after the dunning's end, the
// subscription is parked and dunning runs its final action without the attempt.

// The README's default ceilings (worker settings -ceiling-declines-24h, -ceiling-reattempts-30d).
const (
	ceilingDeclines   = 10
	declineWindow     = 24 * time.Hour
	ceilingReattempts = 20
	reattemptWindow   = 30 * 24 * time.Hour
)

// cardAttempt is one attempt that reached the card.
type cardAttempt struct {
	at        time.Time
	key       string
	declined  bool
	reattempt bool
}

// reattempt reports whether an attempt of cycle now would be a reattempt: the cycle was declined.
// A declined upgrade now used the next cycle's number before that cycle began (changenow.go);
// once the cycle began, its renewal is another transaction than the upgrade, so the upgrade's
// attempts no longer make its attempts reattempts (before, a further upgrade is one).
func (s *sim) reattempt(cycle int) bool {
	for _, c := range s.res.Charges {
		if c.Cycle != cycle || c.Outcome == OutcomePaid {
			continue
		}
		began := s.current != nil && s.current.cycle == cycle && c.At.Before(s.current.start)
		if s.unmade[Attempt{c.Cycle, c.Attempt}] && began {
			continue
		}
		return true
	}
	return false
}

// logAttempt records an attempt on the card (before its charge is added to the result, so that
// reattempt sees the cycle as it was).
func (s *sim) logAttempt(c Charge) {
	s.attempts = append(s.attempts, cardAttempt{at: c.At, key: c.Customer, declined: c.Outcome != OutcomePaid, reattempt: s.reattempt(c.Cycle)})
}

// ceilingAt reports whether an attempt of cycle on the current key at at would pass a ceiling,
// and from when the attempt is allowed (the later of the ceilings hit).
func (s *sim) ceilingAt(cycle int, at time.Time) (time.Time, bool) {
	var next time.Time
	hit := false
	consider := func(limit int, window time.Duration, counts func(cardAttempt) bool) {
		var in []time.Time
		for _, a := range s.attempts {
			if a.key == s.customer && counts(a) && a.at.After(at.Add(-window)) && !a.at.After(at) {
				in = append(in, a.at)
			}
		}
		if len(in) < limit {
			return
		}
		// Allowed once all but limit−1 of them left the window.
		slices.SortFunc(in, func(a, b time.Time) int { return a.Compare(b) })
		if n := in[len(in)-limit].Add(window); !hit || n.After(next) {
			next = n
		}
		hit = true
	}
	consider(ceilingDeclines, declineWindow, func(a cardAttempt) bool { return a.declined })
	if s.reattempt(cycle) {
		consider(ceilingReattempts, reattemptWindow, func(a cardAttempt) bool { return a.reattempt })
	}
	return next, hit
}

// withhold holds back an attempt of per's cycle (of amount, for a cycle's first charge): dunning
// waits until allowed, or the subscription is parked when that is after the dunning's end.
func (s *sim) withhold(per span, amount int64, allowed time.Time) {
	fresh := s.dunning == nil || s.dunning.cycle != per.cycle
	d := s.dunningFor(per)
	if fresh {
		d.heldAmount = amount
	}
	d.nextRetry = time.Time{}
	if allowed.Before(s.dunningEnd(d)) {
		d.nextRetry, d.held = allowed, true
	} else {
		d.held = false
		d.retriesUsed = len(s.policy.retries)
		s.parked = true
	}
	if s.status != PaymentMethodRequired {
		s.status = PastDue
	}
}

// dunningEnd is when d ends at the latest: after its last policy retry and its grace, never at
// or after the next cycle's charge.
func (s *sim) dunningEnd(d *dunningState) time.Time {
	end := d.graceEnd
	if n := len(s.policy.retries); n > 0 {
		if last := d.dueAt.Add(s.policy.retries[n-1]); last.After(end) {
			end = last
		}
	}
	if !s.nextCharge.IsZero() && s.nextCharge.Before(end) {
		end = s.nextCharge
	}
	return end
}

// chargeCycle makes a cycle's first charge, unless the ceiling withholds it.
func (s *sim) chargeCycle(per span, amount int64) {
	if allowed, hit := s.ceilingAt(per.cycle, s.now); hit {
		s.withhold(per, amount, allowed)
		return
	}
	s.settle(per, s.charge(per, amount))
}
