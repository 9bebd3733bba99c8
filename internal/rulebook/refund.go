package rulebook

// refundPeriod refunds the current period on a cancel now: what the period is worth (its paid
// charge plus the credit taken off it), in full or its unused share (the day of the cancel counts
// as used), less what was refunded before, from the period's own payment first, then from the
// payment the credit came from (at most the credit).
func (s *sim) refundPeriod(policy string) {
	per := *s.current
	type part struct {
		cycle        int
		paid, paidTF int64
		before       int64
		beforeTF     int64
		room         int64
	}
	var parts []part
	var worth, before int64
	if paid := s.paidCharge(per.cycle); paid != nil {
		b, btf := s.refunded(paid.Cycle)
		parts = append(parts, part{paid.Cycle, paid.Amount, paid.TaxFree, b, btf, paid.Amount - b})
		worth, before = worth+paid.Amount, before+b
	}
	if per.credit > 0 {
		if from := s.paidCharge(per.creditFrom); from != nil {
			b, btf := s.refunded(from.Cycle)
			parts = append(parts, part{from.Cycle, from.Amount, from.TaxFree, b, btf, min(from.Amount-b, per.credit-b)})
			worth, before = worth+per.credit, before+b
		}
	}
	if worth <= 0 {
		return
	}
	target := worth
	if policy == RefundProrata {
		target = unusedShare(worth, per, s.plan.Unit, s.now)
	}
	rest := target - before
	for _, p := range parts {
		if take := min(rest, p.room); take > 0 {
			s.res.Refunds = append(s.res.Refunds, Refund{At: s.now, Cycle: p.cycle, Amount: take,
				TaxFree: refundTaxFree(p.paid, p.paidTF, p.before, p.beforeTF, take)})
			rest -= take
		}
	}
}
