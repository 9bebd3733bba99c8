package billing

import (
	"testing"

	"github.com/paycycle/paycycle/internal/docstest"
)

// TestDocsCreditChainIsTheCode: the money rules' "at most N payments" that a refund of a credit
// follows is the refund code's own bound (unexported, so checked here).
func TestDocsCreditChainIsTheCode(t *testing.T) {
	const money = "docs/money-rules.md"
	if got := docstest.Int(t, money, "own `credit_from`, and so on \\(at most (\\d+) payments\\)"); got != maxCreditHops {
		t.Errorf("%s: a refund follows at most %d payments, the code %d", money, got, maxCreditHops)
	}
}
