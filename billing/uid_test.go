package billing_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

func TestChargeUIDRoundTripAndLimits(t *testing.T) {
	longest := billing.ChargeUID{SubscriptionID: strings.Repeat("s", billing.MaxSubscriptionIDLen), Tag: billing.IncarnationTag("run"),
		Cycle: billing.MaxCycle, Attempt: billing.MaxAttempt}
	require.NoError(t, longest.Validate())
	require.LessOrEqual(t, len(longest.String()), 40, "PortOne's merchant_uid limit")
	tests := []billing.ChargeUID{
		{SubscriptionID: "sub-1", Tag: billing.IncarnationTag("a"), Cycle: 1, Attempt: 1},
		{SubscriptionID: "a-b-c-1-2", Tag: billing.IncarnationTag("b"), Cycle: 12, Attempt: 3},
		{SubscriptionID: "x_y", Tag: billing.IncarnationTag("c"), Cycle: 99999, Attempt: 99},
		longest,
	}
	for _, u := range tests {
		p, err := billing.ParseMerchantUID(u.String())
		require.NoError(t, err, u.String())
		require.Equal(t, billing.KindCharge, p.Kind)
		require.Equal(t, u, p.Charge)
		require.Equal(t, u.SubscriptionID, p.SubscriptionID)
	}
}

func TestIncarnationTag(t *testing.T) {
	a, b := billing.IncarnationTag("run-1"), billing.IncarnationTag("run-2")
	require.Len(t, a, billing.TagLen)
	require.Equal(t, a, billing.IncarnationTag("run-1"), "stable: the same first run gives the same tag")
	require.NotEqual(t, a, b, "a reused subscription ID gets different merchant_uids")
}

func TestParseMerchantUIDRejectsForeign(t *testing.T) {
	for _, s := range []string{"", "order_8237352", "sub-1-abcd-0-1", "sub-1-ABCD-1-1", "sub-1-abcd-1-100", "-x-abcd-1-1", "sub-1-reg-"} {
		p, err := billing.ParseMerchantUID(s)
		require.Error(t, err, s)
		require.Equal(t, billing.KindUnknown, p.Kind)
	}
	p, err := billing.ParseMerchantUID(billing.RegistrationMerchantUID("sub-9", "k3x9a2b1"))
	require.NoError(t, err)
	require.Equal(t, billing.KindRegistration, p.Kind)
	require.Equal(t, "sub-9", p.SubscriptionID)
}

func TestValidateSubscriptionID(t *testing.T) {
	require.NoError(t, billing.ValidateSubscriptionID("sub_2025-11-0001"))
	for _, bad := range []string{"", "-lead", "has space", "한글", strings.Repeat("x", 25), "a/b"} {
		require.Error(t, billing.ValidateSubscriptionID(bad), bad)
	}
}

func BenchmarkChargeUIDString(b *testing.B) {
	u := billing.ChargeUID{SubscriptionID: "sub-1001", Tag: "k3xq", Cycle: 12, Attempt: 1}
	for b.Loop() {
		_ = u.String()
	}
}

func BenchmarkParseMerchantUID(b *testing.B) {
	s := billing.ChargeUID{SubscriptionID: "sub-1001", Tag: "k3xq", Cycle: 12, Attempt: 1}.String()
	for b.Loop() {
		if _, err := billing.ParseMerchantUID(s); err != nil {
			b.Fatal(err)
		}
	}
}
