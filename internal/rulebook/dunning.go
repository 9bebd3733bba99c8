package rulebook

import "time"

// dunningFor is the dunning of an unpaid period: grace from its due time, never into the next
// cycle.
func (s *sim) dunningFor(per span) *dunningState {
	if d := s.dunning; d != nil && d.cycle == per.cycle {
		return d
	}
	grace := per.start.Add(s.policy.grace)
	if !s.nextCharge.IsZero() && s.nextCharge.Before(grace) {
		grace = s.nextCharge
	}
	s.dunning = &dunningState{cycle: per.cycle, dueAt: per.start, graceEnd: grace}
	return s.dunning
}

// scheduleRetry sets the next policy retry: retries already past are skipped (not made late
// and back to back), and a retry that would reach the next cycle's charge is dropped with all
// after it.
func (s *sim) scheduleRetry(d *dunningState) {
	d.nextRetry = time.Time{}
	r := s.policy.retries
	for d.retriesUsed < len(r) && !d.dueAt.Add(r[d.retriesUsed]).After(s.now) {
		d.retriesUsed++
	}
	if d.retriesUsed >= len(r) {
		return
	}
	at := d.dueAt.Add(r[d.retriesUsed])
	if !s.nextCharge.IsZero() && !at.Before(s.nextCharge) {
		d.retriesUsed = len(r)
		return
	}
	d.nextRetry = at
}

// retry charges the unpaid cycle again, for the amount it was first asked (a withheld first
// charge's own amount), unless the attempt ceiling withholds it.
func (s *sim) retry() {
	d := s.dunning
	per := *s.current
	if allowed, hit := s.ceilingAt(per.cycle, s.now); hit {
		s.withhold(per, 0, allowed)
		return
	}
	d.held = false
	d.nextRetry = time.Time{}
	amount := s.plan.Amount
	if d.heldAmount > 0 {
		amount = d.heldAmount
	}
	for _, c := range s.res.Charges {
		if c.Cycle == per.cycle && c.Amount > 0 && !s.unmade[Attempt{c.Cycle, c.Attempt}] {
			amount = c.Amount
			break
		}
	}
	s.settle(per, s.charge(per, amount))
}

// finalAction runs when every retry failed and grace is over: cancel (default) or pause; a
// pending cancel wins over the pause.
func (s *sim) finalAction() {
	if s.policy.finalPauses && s.cancelAt == nil {
		// The unpaid cycle is given up: the credit it took is owed again (a pause keeps it).
		s.returnUnpaidCredit()
		s.dunning = nil
		s.pauseNow(time.Time{})
		return
	}
	s.cancelNow(Cancel{When: Now, Refund: RefundNone, Requester: Admin})
}

// replaceKey switches to a verified key, deletes the old one unless told not to, and retries an
// unpaid cycle at once.
func (s *sim) replaceKey(req ReplaceKey) {
	old := s.customer
	s.customer = req.Customer
	if (req.DeleteOld == nil || *req.DeleteOld) && old != req.Customer {
		delete(s.keys, old)
	}
	if s.dunning != nil && (s.status == PastDue || s.status == PaymentMethodRequired) {
		s.dunning.hard = false
		s.status = PastDue
		s.retry()
	}
}
