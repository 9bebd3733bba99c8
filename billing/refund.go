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
	// Via is the credits this share gives back on its way to Charge (RefundRecord.Via).
	Via []string
}

// CancelRefund is what a cancel now with policy refunds at now, payment by payment: the one rule
// the workflow carries out (workflows/refund.go) and the customer's page shows before anything
// is confirmed (edge/manage.go). The current period is worth its paid charge (if any) plus the
// credit taken off it (unused days of earlier payments that a restart, an immediate change or a
// decrease moved into it, see versionNoDayTwice and versionChangeNow); full gives back all of
// that, prorata its unused whole KST days (the cancel day counts as used), floor(worth ×
// unused ÷ days), less what was refunded of the period's own payment already. The share is
// taken from the period's own payment first, then along the credit's chain (CreditShares),
// never more than each payment has left. Without a credit this is the period's paid charge
// alone, as before credits existed. A credit still pending for the next charges is not part of
// it (PendingCreditRefund). It returns nil when nothing is to be refunded.
func (s *State) CancelRefund(policy RefundPolicy, now time.Time) []RefundShare {
	return s.cancelRefund(policy, now, map[string]int64{})
}

// EndRefund is everything a cancel now with policy refunds at now: CancelRefund and then the
// pending credit (PendingCreditRefund), drawn from the payments' rooms together. The customer's
// page shows its sum.
func (s *State) EndRefund(policy RefundPolicy, now time.Time) []RefundShare {
	taken := map[string]int64{}
	out := s.cancelRefund(policy, now, taken)
	return append(out, s.creditShares(s.CreditFrom, s.Credit, taken)...)
}

// PendingCreditRefund is how the credit still owed for the next charges (State.Credit) is paid
// back when the subscription ends: drawn from the payment it came from, along its chain
// (CreditShares). Nil when no credit is pending.
func (s *State) PendingCreditRefund() []RefundShare {
	return s.creditShares(s.CreditFrom, s.Credit, map[string]int64{})
}

func (s *State) cancelRefund(policy RefundPolicy, now time.Time, taken map[string]int64) []RefundShare {
	if (policy != RefundFull && policy != RefundProrata) || s.CurrentPeriod == nil {
		return nil
	}
	period := *s.CurrentPeriod
	paid := s.paidChargeOf(period.Cycle)
	var worth, before int64
	if paid != nil {
		before = s.refundedOn(paid.PaymentKey())
		worth = paid.Amount
	}
	if period.CreditFrom != "" {
		worth += period.Credit
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
	if rest <= 0 {
		return nil
	}
	var out []RefundShare
	if paid != nil {
		room := paid.Amount - before - taken[paid.PaymentKey()]
		if take := min(rest, room); take > 0 {
			out = append(out, RefundShare{Charge: *paid, Amount: take, Before: before + taken[paid.PaymentKey()]})
			taken[paid.PaymentKey()] += take
			rest -= take
		}
	}
	via := ViaCurrentPeriod
	if paid != nil {
		via = paid.MerchantUID
	}
	return append(out, s.creditShares(period.CreditFrom, min(rest, period.Credit), taken, via)...)
}

// maxCreditHops bounds the walk along a credit's chain of payments (each restart or immediate
// change adds one hop; a run carries few).
const maxCreditHops = 64

// creditShares is where amount of credit drawn from the payment from is refunded from: that
// payment's own money first, as much as it has left (after its refunds and what taken says
// this answer takes of it already); what it cannot give came from the credit that payment was
// itself paid with (its ChargeRecord.Credit, drawn from its CreditFrom), so the walk goes on
// there, never with more than that credit, and so on for at most maxCreditHops payments, each
// visited once. A chain that breaks (a payment not on record, not paid) ends the walk: what it
// could not place is not refunded. via is the credits the walk gives back before it reaches
// from (the period's charge, or ViaCurrentPeriod); each share names them (RefundShare.Via).
func (s *State) creditShares(from string, amount int64, taken map[string]int64, via ...string) []RefundShare {
	var out []RefundShare
	seen := map[string]bool{}
	for hop := 0; amount > 0 && from != "" && hop < maxCreditHops && !seen[from]; hop++ {
		seen[from] = true
		c := s.chargeByUID(from)
		if c == nil || c.Outcome != OutcomePaid {
			break
		}
		before := s.refundedOn(c.PaymentKey()) + taken[c.PaymentKey()]
		if take := min(amount, c.Amount-before); take > 0 {
			out = append(out, RefundShare{Charge: *c, Amount: take, Before: before, Via: append([]string(nil), via...)})
			taken[c.PaymentKey()] += take
			amount -= take
		}
		amount = min(amount, c.Credit)
		from = c.CreditFrom
		via = append(via, c.MerchantUID)
	}
	return out
}

// CreditChain is the merchant_uids of the payments a credit drawn from the payment from may be
// refunded from (creditShares' walk, without the amounts): the carried state keeps them.
func (s *State) CreditChain(from string) []string {
	var out []string
	seen := map[string]bool{}
	for hop := 0; from != "" && hop < maxCreditHops && !seen[from]; hop++ {
		seen[from] = true
		c := s.chargeByUID(from)
		if c == nil {
			break
		}
		out = append(out, from)
		from = c.CreditFrom
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

// refundedOn sums what was refunded of a payment (ChargeRecord.PaymentKey).
func (s *State) refundedOn(key string) int64 {
	var sum int64
	for _, f := range s.Refunds {
		if f.PaymentKey() == key && f.Counts() {
			sum += f.Amount
		}
	}
	return sum
}
