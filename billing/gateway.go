package billing

import "strings"

// GatewayName names the payment gateway generation a subscription charges through. The zero
// value is PortOne V1: every subscription started before V2 existed is a V1 one, and its input
// and state, which carry no gateway, keep meaning exactly that.
type GatewayName string

// Gateways a subscription may name in its input's "gateway" field.
const (
	// GatewayPortOneV1 is PortOne's V1 (iamport) REST API: customer_uid, merchant_uid, imp_uid.
	GatewayPortOneV1 GatewayName = "portone_v1"
	// GatewayPortOneV2 is PortOne's V2 REST API: billingKey, paymentId, transactionId.
	GatewayPortOneV2 GatewayName = "portone_v2"
)

// MinAmountKRWV2 is the smallest charge on PortOne V2's NaverPay channel: its integration guide
// states 100 KRW (V1's NaverPay documentation states 10, MinAmountKRW). Each subscription is held
// to the minimum of the gateway it charges through, the one its own documentation promises.
const MinAmountKRWV2 = 100

// Resolved is the gateway g stands for: V1 when empty.
func (g GatewayName) Resolved() GatewayName {
	if g == "" {
		return GatewayPortOneV1
	}
	return g
}

// IsV2 reports whether g is PortOne V2.
func (g GatewayName) IsV2() bool { return g.Resolved() == GatewayPortOneV2 }

// MinAmountKRW is the smallest charge the gateway takes through NaverPay.
func (g GatewayName) MinAmountKRW() int64 {
	if g.IsV2() {
		return MinAmountKRWV2
	}
	return MinAmountKRW
}

// Validate refuses a gateway paycycle does not speak.
func (g GatewayName) Validate(field string) error {
	switch g {
	case "", GatewayPortOneV1, GatewayPortOneV2:
		return nil
	}
	return inputErr(field, "must be %q (default) or %q, got %q", GatewayPortOneV1, GatewayPortOneV2, string(g))
}

// ValidateGatewayPlan holds a plan to the minimum of gateway g (a V1 plan is held to V1's by
// Plan.Validate already).
func ValidateGatewayPlan(g GatewayName, p Plan) error {
	if !g.IsV2() {
		return nil
	}
	return validateGatewayMinimum(g, p, "")
}

// validateGatewayMinimum holds a V2 subscription's amounts to V2's minimum (V1's is checked by
// Plan.Validate for every plan).
func validateGatewayMinimum(g GatewayName, p Plan, prefix string) error {
	least := g.MinAmountKRW()
	if p.Amount < least {
		return inputErr(strings.TrimPrefix(prefix+".amount", "."), "must be at least %d KRW on %s (NaverPay's minimum there), got %d", least, g, p.Amount)
	}
	if t := p.Trial; t != nil && t.Amount > 0 && t.Amount < least {
		return inputErr(strings.TrimPrefix(prefix+".trial.amount", "."), "must be at least %d KRW on %s (NaverPay's minimum there), got %d", least, g, t.Amount)
	}
	return nil
}

// String is the gateway's name as the input spells it.
func (g GatewayName) String() string { return string(g.Resolved()) }
