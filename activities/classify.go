package activities

import (
	"strings"

	"github.com/paycycle/paycycle/billing"
)

// hardDeclineMarkers are fragments of PortOne / PG fail reasons that mean the billing key itself
// is unusable (lost, stolen, expired, terminated or unknown), so retrying the same key cannot
// succeed and the customer must register a new one. Everything else (limit exceeded, insufficient
// balance, a temporary PG problem) is a soft decline, retried on the dunning schedule. PortOne
// publishes no catalogue of fail reasons; these cover the messages seen in PortOne's guides and
// the card-network categories Stripe and Recurly treat as hard, and Visa's category 1 (the
// issuer will never approve: lost, stolen, closed or invalid account, no such issuer, pick-up,
// revoked authorisation), which Visa forbids retrying since 18 April 2026. A suspended card
// (거래정지) and "do not honor" are Visa's category 2 and stay soft.
var hardDeclineMarkers = []string{
	"등록되지 않은 구매자", "등록된 고객정보가 없습니다", "등록된 정보를 찾을 수 없습니다",
	"유효하지 않은 빌링키", "유효하지않은 빌링키", "빌링키가 존재하지", "빌링키가 만료", "빌링키 만료",
	"정기결제 해지", "자동결제 해지", "해지된", "분실", "도난", "유효기간 만료", "유효기간이 만료",
	"카드번호틀림", "사용할 수 없는 카드",
	// Visa category 1 in Korean: an accident (lost/stolen) card, a closed card or membership, an
	// invalid or unknown card, a destroyed card; NaverPay's payment method removed.
	"사고카드", "사고 카드", "카드 해지", "해지카드", "해지 카드", "탈회", "카드번호 오류", "카드번호오류",
	"유효하지 않은 카드", "존재하지 않는 카드", "폐기된 카드", "결제수단이 삭제", "결제수단 삭제",
	"invalid billing key", "billing key not found", "expired card", "lost card", "stolen card", "revoked",
	// Visa category 1 in English (response codes 04, 14, 15, 41, 43, 46, R0, R1, R3).
	"pick up", "pick-up", "closed account", "account closed", "invalid account", "invalid card number",
	"no such issuer", "stop payment", "revocation of authorization",
}

// IsHardDecline reports whether a decline reason means the billing key is unusable.
func IsHardDecline(reason string) bool {
	r := strings.ToLower(reason)
	for _, m := range hardDeclineMarkers {
		if strings.Contains(r, strings.ToLower(m)) {
			return true
		}
	}
	return false
}

// Decline classes, the label values of the charges metric (the same strings as the metrics
// package's Decline* constants, which the metrics tests hold equal).
const (
	declineNone              = "none"
	declineInsufficientFunds = "insufficient_funds"
	declineLimitExceeded     = "limit_exceeded"
	declineBillingKey        = "billing_key"
	declinePGRefusal         = "pg_refusal"
	declineOther             = "other"
)

var (
	insufficientMarkers = []string{"잔액부족", "잔액이 부족", "잔고부족", "잔고 부족", "insufficient"}
	limitMarkers        = []string{"한도초과", "한도 초과", "한도를 초과", "limit exceeded", "over limit"}
	pgRefusalMarkers    = []string{"거절", "승인거부", "declined by", "refused"}
)

// DeclineClass is a bounded classification of a charge outcome's fail reason, for metrics: a
// fail reason is free text from the PG and must never become a label itself.
func DeclineClass(outcome billing.Outcome, reason string) string {
	switch outcome {
	case billing.OutcomeDeclined, billing.OutcomeDeclinedHard:
	default:
		return declineNone
	}
	r := strings.ToLower(reason)
	has := func(ms []string) bool {
		for _, m := range ms {
			if strings.Contains(r, strings.ToLower(m)) {
				return true
			}
		}
		return false
	}
	switch {
	case outcome == billing.OutcomeDeclinedHard || IsHardDecline(reason):
		return declineBillingKey
	case has(insufficientMarkers):
		return declineInsufficientFunds
	case has(limitMarkers):
		return declineLimitExceeded
	case has(pgRefusalMarkers):
		return declinePGRefusal
	}
	return declineOther
}
