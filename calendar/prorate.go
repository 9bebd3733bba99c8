package calendar

import (
	"fmt"
	"math/bits"
	"time"
)

// Prorate returns floor(amount × part ÷ whole) in whole won: the one rounding
// rule of paycycle, for charges and refunds alike. Rounding down means a
// prorated charge never bills a fraction of a day that was not used and a
// refund never pays back more than the unused share. The product is computed
// in 128 bits, so any int64 amount and part are exact (amounts up to 10^12
// KRW times parts up to 10^7 overflow 64 bits). It returns an error if amount,
// part or whole is negative, if whole is 0, or if part exceeds whole.
func Prorate(amount, part, whole int64) (int64, error) {
	switch {
	case amount < 0:
		return 0, fmt.Errorf("calendar: prorate: negative amount %d", amount)
	case part < 0:
		return 0, fmt.Errorf("calendar: prorate: negative part %d", part)
	case whole <= 0:
		return 0, fmt.Errorf("calendar: prorate: whole %d must be positive", whole)
	case part > whole:
		return 0, fmt.Errorf("calendar: prorate: part %d exceeds whole %d", part, whole)
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(part))
	// part <= whole implies amount×part/whole <= amount < 2^63, so hi < whole
	// and Div64 cannot overflow.
	q, _ := bits.Div64(hi, lo, uint64(whole))
	return int64(q), nil
}

// Usage returns how much of the period is used at instant at, and the whole,
// in the period's unit of measure. For calendar units both are KST calendar
// days and the day of at counts as used: cancelling on the first day of a
// 30-day period uses 1 day and leaves 29 unused. For the short units both are
// whole seconds and the started second counts as used. Before Start nothing
// is used; at or after End everything is.
func (p Period) Usage(at time.Time) (used, total int64) {
	if p.Unit.IsShort() {
		total = int64(p.End.Sub(p.Start) / time.Second)
		switch {
		case at.Before(p.Start):
			return 0, total
		case !at.Before(p.End):
			return total, total
		}
		return min(int64(at.Sub(p.Start)/time.Second)+1, total), total
	}
	total = int64(p.Days())
	switch {
	case at.Before(p.Start):
		return 0, total
	case !at.Before(p.End):
		return total, total
	}
	// Between Start and End the date of at is FirstDay..LastDay, or the day
	// after LastDay before the charge time; the clamp covers the latter.
	used = int64(DaysBetween(p.FirstDay, DateOf(at))) + 1
	return max(1, min(used, total)), total
}

// UnusedFrom returns the share of amount for the part of period p from instant
// at on, the day (or second) of at included: floor(amount × rest ÷ total).
// It is what a period gives back when another period starts at at and pays for
// that day itself (a resume that restarts the anchor), so that the day is paid
// once; a cancel, which starts nothing, keeps the day as used (UnusedRefund).
// Before Start the whole amount comes back, at or after End nothing.
func UnusedFrom(amount int64, p Period, at time.Time) int64 {
	_, total := p.Usage(at)
	if total <= 0 {
		return 0
	}
	var rest int64
	switch {
	case at.Before(p.Start):
		rest = total
	case !at.Before(p.End):
		rest = 0
	case p.Unit.IsShort():
		rest = total - int64(at.Sub(p.Start)/time.Second)
	default:
		rest = total - int64(DaysBetween(p.FirstDay, DateOf(at)))
	}
	share, err := Prorate(amount, max(0, min(rest, total)), total)
	if err != nil {
		return 0
	}
	return share
}

// UnusedRefund returns the refund for cancelling period p at instant at:
// floor(amount × unused ÷ total) with usage measured by [Period.Usage]. It
// returns 0 for a negative amount or an empty period, never more than the
// unused share.
func UnusedRefund(amount int64, p Period, at time.Time) int64 {
	used, total := p.Usage(at)
	refund, err := Prorate(amount, total-used, total)
	if err != nil {
		return 0
	}
	return refund
}

// StubCharge returns the prorated charge for the stub [from, to) of local
// dates (to exclusive; normally sign-up date and first anchor date) measured
// against full, the regular period that the stub precedes:
// floor(amount × stub days ÷ full.Days()). The denominator is the length of
// that regular period because the stub is a part of it: sign-up 2025-02-10 on
// a monthly plan anchored on the 28th pays 18 days (Feb 10..27) over 31 days
// (Jan 28..Feb 27). It returns an error if the dates are invalid or reversed,
// if full is a short-unit period, or if the stub is longer than full.
func StubCharge(amount int64, from, to Date, full Period) (int64, error) {
	switch {
	case !from.Valid() || !to.Valid():
		return 0, fmt.Errorf("calendar: stub [%s, %s) has an invalid date", from, to)
	case to.Before(from):
		return 0, fmt.Errorf("calendar: stub end %s is before its start %s", to, from)
	case !full.Unit.IsCalendar():
		return 0, fmt.Errorf("calendar: stub proration needs a calendar period, got unit %q", string(full.Unit))
	}
	stub, whole := int64(DaysBetween(from, to)), int64(full.Days())
	if stub > whole {
		return 0, fmt.Errorf("calendar: stub [%s, %s) of %d days is longer than the full period %s..%s of %d days",
			from, to, stub, full.FirstDay, full.LastDay, whole)
	}
	return Prorate(amount, stub, whole)
}

// FirstStubCharge returns the prorated first charge for a customer who signs
// up on signUp and is then charged in full from ChargeDate(0) on: the stub is
// [signUp, ChargeDate(0)) and the denominator is Period(-1), the regular
// period ending the day before ChargeDate(0), computed backwards from the
// anchor. A sign-up on the anchor date itself gives 0 (no stub).
func (r Recurrence) FirstStubCharge(amount int64, signUp Date) (int64, error) {
	if !r.Interval.Unit.IsCalendar() {
		return 0, fmt.Errorf("calendar: stub proration needs a calendar unit, got %q", string(r.Interval.Unit))
	}
	return StubCharge(amount, signUp, r.ChargeDate(0), r.Period(-1))
}
