package rulebook

// Refunds, by the README's Credits rules. A period is worth its paid charge (less what was
// refunded of it) plus the credit taken off it, drawn from the payment of an earlier cycle. A
// refund of a credit comes from that payment's own money first, never more than it has left
// after its refunds; what it cannot give came from the credit that payment was itself paid with,
// so the refund follows that payment's own credit source, and so on (at most maxCreditHops
// payments).

// maxCreditHops bounds the walk along a credit's chain of payments (the README's 64).
const maxCreditHops = 64

// creditSource is the credit a cycle's period took and the cycle whose payment it came from.
type creditSource struct {
	amount int64
	from   int
}

// share is one payment's part of a refund.
type share struct {
	cycle  int
	amount int64
}

// creditShares places amount of credit drawn from the payment of cycle from on payments: that
// payment's own money first (what it has left after its refunds and what taken already places
// on it), then, with at most that payment's own credit, along its credit source, and so on.
// What cannot be placed (a chain that breaks) is not refunded.
func (s *sim) creditShares(from int, amount int64, taken map[int]int64) []share {
	var out []share
	seen := map[int]bool{}
	for hop := 0; amount > 0 && from != 0 && hop < maxCreditHops && !seen[from]; hop++ {
		seen[from] = true
		paid := s.paidCharge(from)
		if paid == nil {
			break
		}
		before, _ := s.refunded(from)
		if take := min(amount, paid.Amount-before-taken[from]); take > 0 {
			out = append(out, share{from, take})
			taken[from] += take
			amount -= take
		}
		src := s.sources[from]
		amount = min(amount, src.amount)
		from = src.from
	}
	return out
}

// cancelShares is what a cancel now with policy refunds of the current period: its worth in
// full, or its unused share (the day of the cancel counts as used), less what was refunded of
// its own payment, from that payment first, then along its credit's chain.
func (s *sim) cancelShares(policy string, taken map[int]int64) []share {
	if (policy != RefundFull && policy != RefundProrata) || s.current == nil {
		return nil
	}
	per := *s.current
	var worth, before int64
	paid := s.paidCharge(per.cycle)
	if paid != nil {
		before, _ = s.refunded(per.cycle)
		worth = paid.Amount
	}
	if per.creditFrom != 0 {
		worth += per.credit
	}
	if worth <= 0 {
		return nil
	}
	target := worth
	if policy == RefundProrata {
		target = unusedShare(worth, per, s.plan.Unit, s.now)
	}
	rest := target - before
	if rest <= 0 {
		return nil
	}
	var out []share
	if paid != nil {
		if take := min(rest, paid.Amount-before-taken[per.cycle]); take > 0 {
			out = append(out, share{per.cycle, take})
			taken[per.cycle] += take
			rest -= take
		}
	}
	return append(out, s.creditShares(per.creditFrom, min(rest, per.credit), taken)...)
}

// refund makes the shares' refunds, each with its payment's tax-free proportion.
func (s *sim) refund(shares []share) {
	for _, sh := range shares {
		paid := s.paidCharge(sh.cycle)
		b, btf := s.refunded(sh.cycle)
		s.res.Refunds = append(s.res.Refunds, Refund{At: s.now, Cycle: sh.cycle, Amount: sh.amount,
			TaxFree: refundTaxFree(paid.Amount, paid.TaxFree, b, btf, sh.amount)})
	}
}

// refundPeriod refunds the current period on a cancel now (cancelShares).
func (s *sim) refundPeriod(policy string) {
	s.refund(s.cancelShares(policy, map[int]int64{}))
}

// refundPendingCredit pays back, when the subscription ends, the credit still pending for the
// next charges, from the payment it came from and along its chain.
func (s *sim) refundPendingCredit() {
	if s.credit > 0 {
		s.refund(s.creditShares(s.creditFrom, s.credit, map[int]int64{}))
	}
	s.credit, s.creditFrom = 0, 0
}

// returnUnpaidCredit gives the credit an unpaid cycle in dunning took back to the pending
// credit when dunning gives the cycle up (or the subscription ends in it): its days are not
// served by it.
func (s *sim) returnUnpaidCredit() {
	per, d := s.current, s.dunning
	if per == nil || d == nil || d.cycle != per.cycle || per.credit <= 0 || s.paidCharge(per.cycle) != nil {
		return
	}
	if s.credit == 0 {
		s.creditFrom = per.creditFrom
	}
	s.credit += per.credit
	per.credit, per.creditFrom = 0, 0
	s.sources[per.cycle] = creditSource{}
	if p, ok := s.res.Periods[per.cycle]; ok {
		p.Credit, p.CreditFrom = 0, 0
		s.res.Periods[per.cycle] = p
	}
}
