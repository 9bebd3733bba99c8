package rulebook

// Changing the plan now (change_plan with "when": "now"), by the README's one proration rule over
// whole KST days, the day of the change counting as used by the old price:
//
//   - unused = the current period's days after today; credit = floor(what is left of the
//     period's payment × unused ÷ days); share = floor(new amount × unused ÷ days);
//   - upgrade (share − credit ≥ 10 KRW): a new cycle, a pro-rata period from tomorrow to the old
//     period's last day, is charged share − credit now, tax_free in proportion; the old cycle
//     keeps its days through today. Not paid: the plan stays, dunning does not retry it;
//   - decrease (credit > share): the plan changes now, credit − share off the next charges;
//   - otherwise the plan changes now and nothing is charged.
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
	case per == nil || per.stub || s.paidCharge(per.cycle) == nil || !s.now.Before(s.paidThrough):
		return true // a pro-rata period (a first stub, a resume's rest, an earlier change now)
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
	paid := s.paidCharge(per.cycle)
	refunded, _ := s.refunded(paid.Cycle)
	// What is left of the period's payment: a period paid partly by credit is worth its charge
	// plus that credit when it is credited in turn (the README's Resume rule), so that the credit
	// is exactly what a cancel now with prorata would refund.
	worth := paid.Amount + per.credit
	if s.tl.ChangeNowCreditsPaymentOnly {
		worth = paid.Amount
	}
	credit := unusedShare(worth-refunded, per, s.plan.Unit, s.now)
	share := unusedShare(next.Amount, per, s.plan.Unit, s.now)
	used, whole := usage(per, s.plan.Unit, s.now)
	old := s.plan
	switch diff := share - credit; {
	case diff >= MinCharge:
		// The period is split: the paid cycle keeps its days through today, a new pro-rata
		// cycle runs from tomorrow to the old last day.
		tomorrow := per.first.AddDays(int(used))
		stub := span{cycle: per.cycle + 1, start: tomorrow.at(0, 0), end: per.end, first: tomorrow, last: per.last,
			credit: credit, creditFrom: paid.Cycle, stub: true}
		s.plan = next
		outcome := s.charge(stub, diff)
		if outcome != OutcomePaid {
			s.plan = old
			s.unmade[Attempt{Cycle: stub.cycle, Attempt: s.nextAttempt(stub.cycle) - 1}] = true
			s.flushInFlight()
			return false
		}
		if p, ok := s.res.Periods[per.cycle]; ok {
			p.Last = tomorrow.AddDays(-1)
			s.res.Periods[per.cycle] = p
		}
		s.pendingPlan = nil
		s.given[per.cycle] += credit
		s.begin(stub, int(whole))
		s.settle(stub, outcome)
	case diff < 0:
		s.plan, s.pendingPlan = next, nil
		if s.credit == 0 {
			s.creditFrom = paid.Cycle
		}
		s.credit += -diff
		s.given[per.cycle] += -diff
	default:
		s.plan, s.pendingPlan = next, nil
	}
	// The new price is the one in effect: future rises are measured against it.
	s.cyclePrice, s.paidPrice = next.Amount, next.Amount
	return true
}
