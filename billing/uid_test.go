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

// A cycle's V2 paymentId parses back to its subscription, tag, cycle and generation, never as
// an attempt's merchant_uid: the tag "2345" is all digits (base32 has 2-7), so a form without
// the "c" would read "cust-abcd-2345-12" as attempt 12 of cycle 2345 of subscription "cust".
func TestCyclePaymentIDRoundTripAndLimits(t *testing.T) {
	longest := billing.CyclePaymentID{SubscriptionID: strings.Repeat("s", billing.MaxSubscriptionIDLen), Tag: "abcd",
		Cycle: billing.MaxCycle, Gen: billing.MaxPaymentGen}
	require.LessOrEqual(t, len(longest.String()), 40)
	tests := []struct {
		id   billing.CyclePaymentID
		want string
	}{
		{billing.CyclePaymentID{SubscriptionID: "sub-1", Tag: "k3xq", Cycle: 1, Gen: 1}, "sub-1-k3xq-c1"},
		{billing.CyclePaymentID{SubscriptionID: "cust-abcd", Tag: "2345", Cycle: 12, Gen: 1}, "cust-abcd-2345-c12"},
		{billing.CyclePaymentID{SubscriptionID: "x_y", Tag: "abcd", Cycle: 7, Gen: 2}, "x_y-abcd-c7p2"},
		{longest, longest.String()},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, tc.id.String())
		p, err := billing.ParseMerchantUID(tc.want)
		require.NoError(t, err, tc.want)
		require.Equal(t, billing.KindCyclePayment, p.Kind, tc.want)
		require.True(t, p.OfCycle())
		require.Equal(t, tc.id, p.Payment)
		require.Equal(t, billing.ChargeUID{SubscriptionID: tc.id.SubscriptionID, Tag: tc.id.Tag, Cycle: tc.id.Cycle}, p.Charge)
	}
	zero := billing.CyclePaymentID{SubscriptionID: "s", Tag: "abcd", Cycle: 3}
	require.Equal(t, "s-abcd-c3", zero.String(), "Gen 0 reads as the first paymentId")
	next, ok := zero.Next()
	require.True(t, ok)
	require.Equal(t, "s-abcd-c3p2", next.String())
	_, ok = longest.Next()
	require.False(t, ok, "no paymentId after MaxPaymentGen")
	for _, bad := range []string{"s-abcd-c0", "s-abcd-c1p1", "s-abcd-c1p0", "s-abcd-c1p100", "s-abcd-c", "s-ABCD-c1"} {
		p, err := billing.ParseMerchantUID(bad)
		require.Error(t, err, bad)
		require.False(t, p.OfCycle(), bad)
	}
	charge, err := billing.ParseMerchantUID("cust-abcd-2345-12")
	require.NoError(t, err)
	require.Equal(t, billing.KindCharge, charge.Kind, "the ambiguity the c avoids")
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
