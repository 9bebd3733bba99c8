package activities_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// bothGateways is one emulator serving V1 and V2, and activities holding both gateways.
type bothGateways struct {
	emu   *portonetest.Emulator
	clk   *portonetest.ManualClock
	acts  *activities.Activities
	env   *testsuite.TestActivityEnvironment
	v1Key string
	v2Key string
}

func newBothGateways(t *testing.T, withV2 bool) *bothGateways {
	t.Helper()
	clk := portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))
	emu := portonetest.New(portonetest.Options{Clock: clk})
	v1srv, v2srv := httptest.NewServer(emu), httptest.NewServer(emu.V2Handler())
	t.Cleanup(func() {
		emu.Close()
		v1srv.Close()
		v2srv.Close()
	})
	c1, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(v1srv.URL), portone.WithTimeout(5*time.Second))
	require.NoError(t, err)
	_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-v1", CustomerTel: "010-1234-5678"})
	require.NoError(t, err)
	k, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-1", IssueName: "월 구독", NaverAccount: "naver-1"})
	require.NoError(t, err)
	acts := &activities.Activities{Gateway: portonev1.New(c1)}
	if withV2 {
		acts.GatewayV2, err = portonev2.New(portonev2.Config{BaseURL: v2srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 5 * time.Second})
		require.NoError(t, err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &bothGateways{emu: emu, clk: clk, acts: acts, env: env, v1Key: "cust-v1", v2Key: k.BillingKey}
}

func run[T any](t *testing.T, env *testsuite.TestActivityEnvironment, fn, in any) (T, error) {
	t.Helper()
	var out T
	v, err := env.ExecuteActivity(fn, in)
	if err != nil {
		return out, err
	}
	require.NoError(t, v.Get(&out))
	return out, nil
}

// TestActivitiesPickTheSubscriptionsGateway: each activity goes to the gateway its input names
// ("" is V1), and the ledger shows which generation made each payment.
func TestActivitiesPickTheSubscriptionsGateway(t *testing.T) {
	b := newBothGateways(t, true)
	v1, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-1", Cycle: 1, Attempt: 1,
		CustomerUID: b.v1Key, MerchantUID: "sub-1-c1-a1", Amount: 9900, Name: "월 구독"})
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, v1.Outcome)
	v2, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
		CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, v2.Outcome)
	require.NotEmpty(t, v2.ImpUID, "the V2 transactionId")

	versions := map[string]string{}
	for _, e := range b.emu.Ledger() {
		versions[e.MerchantUID] = e.Version
	}
	require.Equal(t, portonetest.VersionV2, versions["sub-2-c1"])
	require.NotEqual(t, portonetest.VersionV2, versions["sub-1-c1-a1"])

	// The V2 key is not a V1 customer_uid and the other way round.
	key, err := run[activities.BillingKeyResult](t, b.env, b.acts.CheckBillingKey, activities.BillingKeyInput{CustomerUID: b.v2Key})
	require.NoError(t, err)
	require.False(t, key.Exists, "V1 does not hold the V2 key")
	key, err = run[activities.BillingKeyResult](t, b.env, b.acts.CheckBillingKey, activities.BillingKeyInput{CustomerUID: b.v2Key, Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.True(t, key.Exists)
	require.Equal(t, "naverpay", key.PGProvider)

	reg, err := run[activities.VerifyRegistrationResult](t, b.env, b.acts.VerifyRegistration,
		activities.VerifyRegistrationInput{CustomerUID: b.v2Key, Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.True(t, reg.OK, reg.Reason)

	refund, err := run[activities.RefundResult](t, b.env, b.acts.Refund, activities.RefundInput{ImpUID: v2.ImpUID, Amount: 4000, PaymentAmount: 9900,
		Reason: "부분 환불", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.EqualValues(t, 4000, refund.CancelledTotal)
	// The same refund again (a retry after a lost answer) is found made, not made twice.
	refund, err = run[activities.RefundResult](t, b.env, b.acts.Refund, activities.RefundInput{ImpUID: v2.ImpUID, Amount: 4000, PaymentAmount: 9900,
		Reason: "부분 환불", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2})
	require.NoError(t, err)
	require.EqualValues(t, 4000, refund.CancelledTotal)

	s, err := b.acts.Settings(context.Background())
	require.NoError(t, err)
	require.True(t, s.PortOneV2)
}

// TestV2RefundsFindThePaymentByItsPaymentID: with the charge's merchant_uid (V2's paymentId) a
// refund and its "already made?" check read the payment by paymentId, among many payments.
func TestV2RefundsFindThePaymentByItsPaymentID(t *testing.T) {
	b := newBothGateways(t, true)
	var first activities.ChargeResult
	for i := range 15 {
		res, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: i + 1, Attempt: 1,
			CustomerUID: b.v2Key, MerchantUID: fmt.Sprintf("sub-2-c%d", i+1), Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, res.Outcome)
		if i == 0 {
			first = res
		}
	}
	in := activities.RefundInput{ImpUID: first.ImpUID, MerchantUID: "sub-2-c1", Amount: 9900, PaymentAmount: 9900,
		Reason: "해지", Requester: billing.RequesterCustomer, Gateway: billing.GatewayPortOneV2}
	res, err := run[activities.RefundResult](t, b.env, b.acts.Refund, in)
	require.NoError(t, err)
	require.EqualValues(t, 9900, res.CancelledTotal)
	require.False(t, res.AlreadyDone)
	res, err = run[activities.RefundResult](t, b.env, b.acts.Refund, in) // a retry after a lost answer
	require.NoError(t, err)
	require.True(t, res.AlreadyDone)
}

// TestV2SubscriptionOnAWorkerWithoutV2: refused as invalid input, not retried.
func TestV2SubscriptionOnAWorkerWithoutV2(t *testing.T) {
	b := newBothGateways(t, false)
	_, err := run[activities.ChargeResult](t, b.env, b.acts.Charge, activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 1, Attempt: 1,
		CustomerUID: b.v2Key, MerchantUID: "sub-2-c1", Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2})
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, billing.ErrorTypeInvalidInput, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, appErr.Error(), "PORTONE_V2_API_SECRET")
	for _, e := range b.emu.Ledger() {
		require.NotEqual(t, "sub-2-c1", e.MerchantUID, "nothing was charged")
	}
	s, err := b.acts.Settings(context.Background())
	require.NoError(t, err)
	require.False(t, s.PortOneV2)
}

// TestV2RegistrationIsTheIssuedKeyWithOurIssueID: a V2 registration reported with its key (the
// edge's signal) is trusted only when PortOne holds that key issued, for NaverPay, under this
// subscription's issueId (its customer_uid): a key issued for another registration, a deleted
// key and an unknown one are refused with the reason, never an error to retry.
func TestV2RegistrationIsTheIssuedKeyWithOurIssueID(t *testing.T) {
	b := newBothGateways(t, true)
	deleted, err := b.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-gone", IssueName: "월 구독", NaverAccount: "naver-2"})
	require.NoError(t, err)
	err = b.emu.DeleteBillingKeyV2(deleted.BillingKey)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, issueID, key, reason string
	}{
		{"our issueId", "issue-1", b.v2Key, ""},
		{"another registration's key", "issue-2", b.v2Key, "issued for another registration"},
		{"a deleted key", "issue-gone", deleted.BillingKey, "no issued billing key"},
		{"an unknown key", "issue-1", "billing-key-unknown", "no issued billing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := run[activities.VerifyRegistrationResult](t, b.env, b.acts.VerifyRegistration,
				activities.VerifyRegistrationInput{CustomerUID: tc.issueID, BillingKey: tc.key, Gateway: billing.GatewayPortOneV2})
			require.NoError(t, err)
			if tc.reason == "" {
				require.True(t, res.OK, res.Reason)
				return
			}
			require.False(t, res.OK)
			require.Contains(t, res.Reason, tc.reason)
		})
	}
}

// TestSchedulesNotifyTheirOwnGenerationsRoute: a schedule's noticeUrls are where PortOne sends
// its execution's webhook. V1's go to the edge's V1 route (Config.NoticeURL); a V2 schedule
// must never name that route, whose V1 handler refuses V2's Standard Webhooks bodies: the V2
// Transaction.Paid would be lost every cycle and every V2 scheduled charge settled late, by the
// fallback lookup. It gets Config.NoticeURLV2, or none (the V2 console's URL).
func TestSchedulesNotifyTheirOwnGenerationsRoute(t *testing.T) {
	const v1URL, v2URL = "http://edge.example/portone/webhook", "http://edge.example/portone/v2/webhook"
	tests := []struct {
		name        string
		noticeURLV2 string
		want        []string
	}{
		{"V2 route configured", v2URL, []string{v2URL}},
		{"V2 route not configured: the V2 console's URL", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBothGateways(t, true)
			b.acts.Config.NoticeURL, b.acts.Config.NoticeURLV2 = v1URL, tt.noticeURLV2
			at := b.clk.Now().Add(time.Hour)
			_, err := run[activities.ScheduleState](t, b.env, b.acts.ScheduleCharge, activities.ScheduleChargeInput{ScheduleAt: at,
				ChargeInput: activities.ChargeInput{SubscriptionID: "sub-2", Cycle: 2, Attempt: 1, CustomerUID: b.v2Key, MerchantUID: "sub-2-c2",
					Amount: 9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2}})
			require.NoError(t, err)
			scheds := b.emu.V2Schedules()
			require.Len(t, scheds, 1)
			require.NotContains(t, scheds[0].NoticeURLs, v1URL, "a V2 schedule notifies V1's route")
			require.ElementsMatch(t, tt.want, scheds[0].NoticeURLs)

			// V1's schedule keeps V1's route.
			_, err = run[activities.ScheduleState](t, b.env, b.acts.ScheduleCharge, activities.ScheduleChargeInput{ScheduleAt: at,
				ChargeInput: activities.ChargeInput{SubscriptionID: "sub-1", Cycle: 2, Attempt: 1, CustomerUID: b.v1Key, MerchantUID: "sub-1-c2-a1",
					Amount: 9900, Name: "월 구독"}})
			require.NoError(t, err)
			v1 := b.emu.Schedules()
			require.Len(t, v1, 1)
			require.Equal(t, v1URL, v1[0].NoticeURL)
		})
	}
}
