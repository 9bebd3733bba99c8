package billing

import (
	"time"

	"github.com/paycycle/paycycle/calendar"
)

// RefundShare is one payment's part of a cancel's refund.
type RefundShare struct {
	// Charge is the paid charge refunded from.
	Charge ChargeRecord
	// Amount is what is refunded from it now; Before what was refunded from it earlier.
	Amount int64
	Before int64
}

// CancelRefund is what a cancel now with policy refunds at now, payment by payment: the one rule
// the workflow carries out (workflows/refund.go) and the customer's page shows before anything
// is confirmed (edge/manage.go). The current period is worth its paid charge plus the credit
// taken off it (unused days a resume that restarted the anchor moved from the period before,
// see versionNoDayTwice); full gives back all of that, prorata its unused whole KST days (the
// cancel day counts as used), floor(worth × unused ÷ days), less what was refunded already.
// The share is taken from the period's own payment first, then from the payment the credit came
// from, never more than each has left, nor more of the latter than the credit. Without a credit
// this is the period's paid charge alone, as before credits existed. It returns nil when
// nothing is to be refunded.
func (s *State) CancelRefund(policy RefundPolicy, now time.Time) []RefundShare {
	if (policy != RefundFull && policy != RefundProrata) || s.CurrentPeriod == nil {
		return nil
	}
	period := *s.CurrentPeriod
	var parts []RefundShare
	var worth, before int64
	if paid := s.paidChargeOf(period.Cycle); paid != nil {
		b := s.refundedOn(paid.ImpUID)
		parts = append(parts, RefundShare{Charge: *paid, Before: b})
		worth, before = worth+paid.Amount, before+b
	}
	var creditLeft int64
	src := -1
	if period.Credit > 0 && period.CreditFrom != "" {
		if from := s.chargeByUID(period.CreditFrom); from != nil && from.Outcome == OutcomePaid {
			b := s.refundedOn(from.ImpUID)
			src = len(parts)
			parts = append(parts, RefundShare{Charge: *from, Before: b})
			worth, before = worth+period.Credit, before+b
			creditLeft = period.Credit - b
		}
	}
	if worth <= 0 {
		return nil
	}
	target := worth
	if policy == RefundProrata {
		cp := calendar.Period{Unit: s.Plan.Interval.Unit, Start: period.Start, End: period.End, FirstDay: period.FirstDay, LastDay: period.LastDay}
		target = calendar.UnusedRefund(worth, cp, now)
	}
	rest := target - before
	var out []RefundShare
	for i, p := range parts {
		room := p.Charge.Amount - p.Before
		if i == src {
			room = min(room, creditLeft)
		}
		if take := min(rest, room); take > 0 {
			p.Amount = take
			out = append(out, p)
			rest -= take
		}
	}
	return out
}

// paidChargeOf returns the latest paid charge of a cycle.
func (s *State) paidChargeOf(cycle int) *ChargeRecord {
	for i := len(s.Charges) - 1; i >= 0; i-- {
		if c := &s.Charges[i]; c.Cycle == cycle && c.Outcome == OutcomePaid {
			return c
		}
	}
	return nil
}

// chargeByUID returns the charge record of a merchant_uid.
func (s *State) chargeByUID(merchantUID string) *ChargeRecord {
	for i := len(s.Charges) - 1; i >= 0; i-- {
		if c := &s.Charges[i]; c.MerchantUID == merchantUID {
			return c
		}
	}
	return nil
}

// refundedOn sums what was refunded of a payment.
func (s *State) refundedOn(impUID string) int64 {
	var sum int64
	for _, f := range s.Refunds {
		if f.ImpUID == impUID {
			sum += f.Amount
		}
	}
	return sum
}
