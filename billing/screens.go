package billing

import "time"

// The one source of truth for the two figures every screen shows (issue 20, item 4): the state
// query's readers (starter show, the customer's page), the search attributes, the merchant
// events' data.subscription and the update receipts all take them from here, so they agree
// with what the workflow will do.
//
// State.NextChargeAt is not that figure: it is the instant the workflow next acts on the
// billing calendar, which is also when a pending cancel or pause takes effect.

// NextCharge is when the subscription's next charge attempt will be made unless something
// changes, zero when none will come:
//   - active: the next cycle's charge (NextChargeAt), or, when the pending credit pays that
//     cycle wholly (to under NaverPay's 10 KRW minimum), the first one after it that costs
//     money; but none while a cancel or pause at period
//     end is pending (that instant ends or pauses instead) or after the customer refused the
//     consent the charge needs (the subscription ends then);
//   - past due or waiting for a new billing key: the next dunning retry, none when no retry is
//     left (only the final action remains) or a new key is awaited;
//   - paused, awaiting registration, canceled, expired: none.
func (s *State) NextCharge() time.Time {
	switch s.Status {
	case StatusActive:
		if s.PendingCancel != nil || (s.Pause != nil && s.Pause.Pending) {
			return time.Time{}
		}
		if c := s.Consent; c != nil && c.Status == ConsentRefused && !c.ChangeAt.After(s.NextChargeAt) {
			return time.Time{}
		}
		return s.pastCredit(s.NextChargeAt)
	case StatusPastDue, StatusPaymentMethodRequired:
		if d := s.DunningState; d != nil {
			return d.NextRetryAt
		}
	}
	return time.Time{}
}

// pastCredit is the first regular charge from at on that the pending credit (State.Credit)
// does not pay: a cycle the credit pays wholly, or down to less than NaverPay's minimum, is
// charged nothing (the workflow starts it paid by credit), so it is no next charge. The walk
// takes each cycle's price (Plan.Price: introductory prices count; a pending plan change
// applies from the next cycle) and stops after maxCreditCycles cycles.
func (s *State) pastCredit(at time.Time) time.Time {
	if s.Credit <= 0 || s.Recurrence == nil || at.IsZero() {
		return at
	}
	plan := s.Plan
	if s.PendingPlan != nil {
		plan = *s.PendingPlan
	}
	credit, idx, cycle := s.Credit, s.NextIndex, s.Cycle+1
	for range maxCreditCycles {
		price := plan.Price(cycle)
		applied := min(credit, price)
		if price-applied >= s.Gateway.MinAmount() {
			return at
		}
		credit -= applied
		idx, cycle = idx+1, cycle+1
		at = s.Recurrence.ChargeAt(idx)
	}
	return at
}

// maxCreditCycles bounds pastCredit's walk (a credit rarely spans more than a few cycles).
const maxCreditCycles = 120

// PaidUntil is the end of the service the customer paid for and keeps, zero before any paid
// period: PaidThrough while the subscription lives (a pause keeps the paid rest of its period,
// which a resume inside it uses). Once it ended, never after the end (a cancel now ends access
// then; the prorata refund gave back the days after the cancel day, no refund left them unused),
// and never after the start of a period whose charges were refunded in full.
func (s *State) PaidUntil() time.Time {
	t := s.PaidThrough
	if t.IsZero() || !s.Status.Terminal() {
		return t
	}
	if !s.EndedAt.IsZero() && s.EndedAt.Before(t) {
		t = s.EndedAt
	}
	if p := s.CurrentPeriod; p != nil && p.Start.Before(t) && s.refundedInFull(p.Cycle) {
		t = p.Start
	}
	return t
}

// refundedInFull reports whether a cycle was paid and everything paid for it was refunded.
func (s *State) refundedInFull(cycle int) bool {
	var paid, refunded int64
	for _, c := range s.Charges {
		if c.Cycle == cycle && c.Outcome == OutcomePaid {
			paid += c.Amount
		}
	}
	for _, f := range s.Refunds {
		if f.Cycle == cycle && f.Counts() {
			refunded += f.Amount
		}
	}
	return paid > 0 && refunded >= paid
}
