package activities_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// TestDeclineClassesNeverRetried is the README's decline table ("Dunning: which declines are
// never retried"): PortOne V1 hands over the PG's (and NaverPay's) fail_reason as free text, so
// the class comes from fragments of it. Visa's category 1 (the issuer will never approve: lost,
// stolen, closed or invalid account, no such issuer, pick-up, revoked authorisation) and
// an unusable billing key are hard (never retried: a new key is needed); everything else, Visa's
// category 2 (do not honour, insufficient funds, limit, suspended, try later) included, is soft.
func TestDeclineClassesNeverRetried(t *testing.T) {
	tests := []struct {
		source string
		reason string
		hard   bool
	}{
		// Visa category 1 as Korean PGs word it (through PortOne's fail_reason).
		{"lost", "분실 신고된 카드입니다", true},
		{"lost/stolen", "분실도난 카드", true},
		{"stolen", "도난 카드입니다", true},
		{"lost or stolen (사고카드)", "사고카드입니다. 카드사에 문의하세요", true},
		{"lost or stolen (사고 카드)", "[F105] 사고 카드", true},
		{"closed card", "해지된 카드입니다", true},
		{"closed card", "카드 해지", true},
		{"closed card", "해지카드", true},
		{"closed account", "탈회한 회원의 카드입니다", true},
		{"closed account", "계좌 해지된 고객", true},
		{"invalid card number", "카드정보 인증에 실패하였습니다. [F113]거래거절 카드번호틀림", true},
		{"invalid card number", "카드번호 오류", true},
		{"invalid card number", "유효하지 않은 카드번호입니다", true},
		{"invalid card", "유효하지 않은 카드입니다", true},
		{"no such card", "존재하지 않는 카드입니다", true},
		{"destroyed card", "폐기된 카드", true},
		{"expired card", "유효기간이 만료된 카드", true},
		// Visa category 1 in the English a PG or an acquirer passes on.
		{"lost (41)", "Lost card", true},
		{"stolen (43)", "Stolen card, pick up", true},
		{"pick up (04)", "Pick up card", true},
		{"closed account (46)", "Closed account", true},
		{"closed account", "Account closed", true},
		{"invalid account (14)", "Invalid account number", true},
		{"invalid card number (14)", "Invalid card number", true},
		{"no such issuer (15)", "No such issuer", true},
		{"stop payment (R0/R1)", "Stop payment order", true},
		{"revocation (R1)", "Revocation of authorization order", true},
		// The billing key itself (PortOne and NaverPay's recurring registration).
		{"PortOne unknown customer", "등록되지 않은 구매자입니다.", true},
		{"PortOne unknown customer", "요청하신 customer_uid(c1)로 등록된 정보를 찾을 수 없습니다.", true},
		{"NaverPay recurring ended", "정기결제 해지된 건입니다", true},
		{"NaverPay recurring ended", "자동결제 해지", true},
		{"NaverPay payment method removed", "등록된 결제수단이 삭제되었습니다", true},
		{"NaverPay payment method removed", "결제수단이 삭제된 사용자입니다", true},
		// Soft: retried on the dunning policy (Visa category 2 and 3).
		{"insufficient funds (51)", "잔액부족", false},
		{"limit (61)", "한도초과", false},
		{"do not honor (05)", "Do not honor", false},
		{"PG refusal", "거래거절", false},
		{"suspended for now", "거래정지 카드 (연체)", false},
		{"temporary", "일시적인 오류입니다. 잠시 후 다시 시도하세요", false},
		{"issuer unavailable (91)", "카드사 시스템 점검중", false},
		{"network closed (not an account)", "connection closed by the PG", false},
	}
	for _, tt := range tests {
		t.Run(tt.source+": "+tt.reason, func(t *testing.T) {
			assert.Equal(t, tt.hard, activities.IsHardDecline(tt.reason), "hard")
			class := activities.DeclineClass(billing.OutcomeDeclined, tt.reason)
			if tt.hard {
				assert.Equal(t, "billing_key", class, "a never-retried decline is counted as a billing-key decline")
			} else {
				assert.NotEqual(t, "billing_key", class)
			}
		})
	}
}
