package activities

import "github.com/paycycle/paycycle/billing"

// attemptOf is the attempt number encoded in a charge's merchant_uid, 0 when it is not one of
// ours (the workflow then derives the attempt from its own records).
func attemptOf(merchantUID string) int {
	p, err := billing.ParseMerchantUID(merchantUID)
	if err != nil || p.Kind != billing.KindCharge {
		return 0
	}
	return p.Charge.Attempt
}

// stamp fills a result's Attempt and Via, so that the caller no longer recomputes them. attempt
// is the attempt that was made; an adopted payment (found under an earlier merchant_uid) takes
// the attempt encoded in its own merchant_uid instead.
func stamp(res ChargeResult, attempt int, via billing.Via) ChargeResult {
	res.Via = via
	res.Attempt = attempt
	if a := attemptOf(res.MerchantUID); a > 0 && (res.Adopted || attempt == 0) {
		res.Attempt = a
	}
	return res
}
