package rulebook

import "time"

// Changing the plan now (change_plan with "when": "now"), by the README's one proration rule over
// whole KST days, the day of the change counting as used by the old price:
//
//   - unused = the current period's days after today; credit = floor(what the period is worth ×
//     unused ÷ days) less what was refunded of it, exactly what a cancel now with prorata would
//     refund (worth = its paid charge plus the credit taken off it: a period paid wholly by
//     credit can change too); share = floor(new amount × unused ÷ days);
//   - upgrade (share − credit ≥ 10 KRW): a new cycle, a pro-rata period from tomorrow to the old
//     period's last day, is charged share − credit now, tax_free in proportion, and paid by that
//     charge plus credit drawn from the old payment; the old cycle keeps its days through today.
//     Not paid: the plan stays, dunning does not retry it;
//   - decrease (credit > share): the period is split the same way, the new cycle paid by share of
//     credit from the same payment (nothing charged), and credit − share off the next charges;
//   - otherwise the plan changes now and nothing is charged, without a split.
//
// A rise (above the price last paid) needs the customer's consent to the change dated today.

// cannotChangeNow refuses an immediate change (field when or consent): only an active
// subscription with a paid, full current period that has days left after today, nothing pending
// at period end, and a consent exactly when the change is a rise.
func cannotChangeNow(s *sim, m Message) bool {
	c := m.ChangePlan
	if c.When != Now {
		return false
	}
	per := s.current
	switch {
	case s.status != Active, s.cancelAt != nil, s.pause != nil && s.pause.pending:
		return true
	case s.plan.IntroCycles > 0 && s.cycle <= s.plan.IntroCycles:
		return true // introductory cycles
	case per == nil || per.stub || !s.now.Before(s.paidThrough):
		return true // a pro-rata period (a first stub, a resume's rest, an earlier change now)
	case s.paidCharge(per.cycle) == nil && per.credit == 0:
		return true // not paid (a period paid wholly by credit is paid all the same)
	}
	if used, whole := usage(*per, s.plan.Unit, s.now); used >= whole {
		return true // the period's last day
	}
	next, base := applyChange(s.plan, *c), s.changeBaseline()
	if next.Amount > base {
		return !s.consentsNow(c.Consent, base, next.Amount)
	}
	return c.Consent != nil // a change that is not a rise needs no consent
}

// changeBaseline is the price an immediate change is measured against: the price last paid.
func (s *sim) changeBaseline() int64 {
	if s.paidPrice > 0 {
		return s.paidPrice
	}
	return s.plan.price(s.cycle)
}

// consentsNow reports whether c is a consent to the rise from before to after dated today: the
// amounts and the date exactly, given after sign-up, within the 30 days before now and not in
// the future (a few minutes of clock skew allowed).
func (s *sim) consentsNow(c *Consent, before, after int64) bool {
	return c != nil && c.Granted && c.AmountBefore == before && c.AmountAfter == after && c.ChangeDate == DateOf(s.now) &&
		c.At.After(s.tl.Start) && !c.At.Before(s.now.Add(-consentWindow)) && !c.At.After(s.now.Add(consentSkew))
}

// attemptChangePlan records a change at period end, or carries out an immediate one.
func attemptChangePlan(s *sim, m Message) bool {
	if m.ChangePlan.When != Now {
		messageRules[MsgChangePlan].apply(s, m)
		return true
	}
	return s.changeNow(*m.ChangePlan)
}

// changeNow carries out an admitted immediate change and reports whether it was made.
func (s *sim) changeNow(c ChangePlan) bool {
	next := applyChange(s.plan, c)
	per := *s.current
	// The credit is what a cancel now with prorata would refund; it is drawn from the period's
	// own payment, or, for a period paid wholly by credit, from the payment that credit came from.
	var credit int64
	for _, sh := range s.cancelShares(RefundProrata, map[int]int64{}) {
		credit += sh.amount
	}
	from := per.creditFrom
	if paid := s.paidCharge(per.cycle); paid != nil {
		from = paid.Cycle
	}
	share := unusedShare(next.Amount, per, s.plan.Unit, s.now)
	used, whole := usage(per, s.plan.Unit, s.now)
	old := s.plan
	// The period is split: the old cycle keeps its days through today, a new pro-rata cycle runs
	// from tomorrow to the old last day.
	tomorrow := per.first.AddDays(int(used))
	stub := span{cycle: per.cycle + 1, start: tomorrow.at(0, 0), end: per.end, first: tomorrow, last: per.last, stub: true}
	if s.plan.Unit.short() {
		stub.start = per.start.Add(time.Duration(used) * time.Second)
		stub.first = DateOf(stub.start)
	}
	split := func() {
		if p, ok := s.res.Periods[per.cycle]; ok {
			p.Last = tomorrow.AddDays(-1)
			s.res.Periods[per.cycle] = p
		}
		s.given[per.cycle] += credit
	}
	switch diff := share - credit; {
	case diff >= s.plan.minimum():
		stub.credit, stub.creditFrom = credit, from
		s.plan = next
		outcome := s.charge(stub, diff)
		if outcome != OutcomePaid {
			s.plan = old
			s.unmade[Attempt{Cycle: stub.cycle, Attempt: s.nextAttempt(stub.cycle) - 1}] = true
			s.flushInFlight()
			return false
		}
		s.pendingPlan = nil
		split()
		s.begin(stub, int(whole))
		s.settle(stub, outcome)
	case diff < 0:
		s.plan, s.pendingPlan = next, nil
		if share > 0 {
			stub.credit, stub.creditFrom = share, from
		}
		split()
		s.begin(stub, int(whole))
		if s.credit == 0 {
			s.creditFrom = from
		}
		s.credit += -diff
	default:
		s.plan, s.pendingPlan = next, nil
	}
	// The new price is the one in effect: future rises are measured against it.
	s.cyclePrice, s.paidPrice = next.Amount, next.Amount
	return true
}
