package rulebook

import "time"

// MinCharge is NaverPay's smallest charge in KRW on PortOne V1: a pro-rata charge below it is
// not made. MinChargeV2 is PortOne V2's (its NaverPay guide says 100 KRW); Input.MinCharge picks.
const (
	MinCharge   = 10
	MinChargeV2 = 100
)

// floorShare is the README's one rounding rule: floor(amount × part ÷ whole), in whole won.
// Amounts are at most 100,000,000 KRW and parts at most a few years of seconds, so the product
// fits in 64 bits.
func floorShare(amount, part, whole int64) int64 {
	if whole <= 0 || part <= 0 || amount <= 0 {
		return 0
	}
	return amount * min(part, whole) / whole
}

// usage is how much of a period is used at an instant, and its whole: KST days, the day of at
// counting as used (cancelling on the first day of a 30-day period uses 1 day). Before the period
// nothing is used, from its end everything. Demo units count seconds, the started one used.
func usage(p span, unit Unit, at time.Time) (used, whole int64) {
	if unit.short() {
		whole = int64(p.end.Sub(p.start) / time.Second)
	} else {
		whole = int64(p.days())
	}
	switch {
	case at.Before(p.start):
		return 0, whole
	case !at.Before(p.end):
		return whole, whole
	case unit.short():
		return min(int64(at.Sub(p.start)/time.Second)+1, whole), whole
	}
	// Before the charge time of the day after the last day, the date is past the period: the
	// period is used up, as it is at its end.
	return max(1, min(int64(DaysFrom(p.first, DateOf(at)))+1, whole)), whole
}

// unusedShare is what is left of amount paid for p when it stops at an instant: the refund of a
// pro-rata cancel and the credit of a restart.
func unusedShare(amount int64, p span, unit Unit, at time.Time) int64 {
	used, whole := usage(p, unit, at)
	return floorShare(amount, whole-used, whole)
}

// shareFrom is what is left of amount paid for p from an instant on, the day of at included:
// what a period gives back when a new period starts that day and pays for it itself (a restart).
// Before the period everything comes back, from its end nothing. Demo units count seconds.
func shareFrom(amount int64, p span, unit Unit, at time.Time) int64 {
	_, whole := usage(p, unit, at)
	var rest int64
	switch {
	case at.Before(p.start):
		rest = whole
	case !at.Before(p.end):
		rest = 0
	case unit.short():
		rest = whole - int64(at.Sub(p.start)/time.Second)
	default:
		rest = whole - int64(DaysFrom(p.first, DateOf(at)))
	}
	return floorShare(amount, rest, whole)
}

// stubAmount charges the days from..to−1 of a full period at the full period's price.
func stubAmount(price int64, from, to Date, full span) int64 {
	return floorShare(price, int64(DaysFrom(from, to)), int64(full.days()))
}

// chargeTaxFree is the tax-exempt part of a charge on a plan: all of it for a full price, the
// same proportion for a prorated amount (the taxable part takes the rounding).
func chargeTaxFree(p Plan, amount int64) int64 {
	if amount >= p.Amount {
		return min(p.TaxFree, amount)
	}
	return floorShare(p.TaxFree, amount, p.Amount)
}

// refundTaxFree is the tax-exempt part of a refund of amount from a payment: the payment's own
// proportion, and the refund that empties the payment takes whatever tax-free part is left, so
// refunds add up to the payment's tax_free.
func refundTaxFree(paid, paidTF, refundedBefore, refundedTFBefore, amount int64) int64 {
	if paidTF <= 0 {
		return 0
	}
	if refundedBefore+amount >= paid {
		return paidTF - refundedTFBefore
	}
	return min(floorShare(paidTF, amount, paid), paidTF-refundedTFBefore, amount)
}
