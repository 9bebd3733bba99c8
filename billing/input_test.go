package billing_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// TestInputAsTypedInTheWebUI decodes the JSON a person types into the Temporal Web UI.
func TestInputAsTypedInTheWebUI(t *testing.T) {
	raw := `{
	  "subscription_id": "sub-1001",
	  "customer_uid": "naver-cust-1001",
	  "plan": {"name": "프리미엄 월간", "amount": 9900, "interval": {"unit": "month", "count": 1}, "anchor_day": "31"},
	  "buyer": {"name": "홍길동", "tel": "010-1234-5678"},
	  "dunning": {"retry_after": ["1d", "2d12h"], "grace": "5d"},
	  "registration_timeout": "48h"
	}`
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal([]byte(raw), &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Equal(t, billing.AnchorDay(31), in.Plan.AnchorDay)
	require.Equal(t, "10:00", in.Plan.ChargeTime)
	require.Equal(t, billing.ChargeModeAgain, in.Plan.ChargeMode)
	require.Equal(t, billing.FirstChargeNow, in.FirstCharge)
	require.Equal(t, "프리미엄 월간", in.Plan.Code, "the product code defaults to the plan name")
	require.Equal(t, []billing.Duration{billing.Duration(24 * time.Hour), billing.Duration(60 * time.Hour)}, in.Dunning.RetryAfter)
	require.Equal(t, billing.Duration(5*24*time.Hour), *in.Dunning.Grace)
	require.Equal(t, billing.FinalActionCancel, in.Dunning.FinalAction)
	require.Equal(t, 48*time.Hour, in.RegistrationTimeout.Std())
}

func TestDefaults(t *testing.T) {
	in := billing.SubscriptionInput{SubscriptionID: "s", CustomerUID: "c", Plan: billing.Plan{Name: "P", Amount: 100, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	in.Normalize()
	require.NoError(t, in.Validate())
	day := billing.Duration(24 * time.Hour)
	require.Equal(t, []billing.Duration{day, 3 * day, 5 * day, 7 * day}, in.Dunning.RetryAfter, "billing-anchors: D+1, D+3, D+5, D+7")
	require.Equal(t, 7*day, *in.Dunning.Grace)
	require.Equal(t, billing.DefaultRegistrationTimeout, in.RegistrationTimeout.Std())

	demo := billing.SubscriptionInput{SubscriptionID: "s", CustomerUID: "c", Plan: billing.Plan{Name: "P", Amount: 100, Interval: calendar.Interval{Unit: calendar.Second, Count: 30}}}
	demo.Normalize()
	require.Equal(t, []billing.Duration{billing.Duration(3 * time.Second), billing.Duration(9 * time.Second), billing.Duration(15 * time.Second), billing.Duration(21 * time.Second)},
		demo.Dunning.RetryAfter, "demo plans scale the default policy to a tenth of the interval per day")
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		give string
		want time.Duration
		err  bool
	}{
		{`"7d"`, 7 * 24 * time.Hour, false},
		{`"36h"`, 36 * time.Hour, false},
		{`"1d12h"`, 36 * time.Hour, false},
		{`"90s"`, 90 * time.Second, false},
		{`90`, 90 * time.Second, false},
		{`"soon"`, 0, true},
		{`"xd"`, 0, true},
		{`true`, 0, true},
	}
	for _, tt := range tests {
		var d billing.Duration
		err := json.Unmarshal([]byte(tt.give), &d)
		if tt.err {
			require.Error(t, err, tt.give)
			continue
		}
		require.NoError(t, err, tt.give)
		require.Equal(t, tt.want, d.Std(), tt.give)
	}
	b, err := json.Marshal(billing.Duration(7 * 24 * time.Hour))
	require.NoError(t, err)
	require.Equal(t, `"7d"`, string(b))
}

func TestAnchorDayJSON(t *testing.T) {
	for give, want := range map[string]billing.AnchorDay{`"today"`: 0, `31`: 31, `"15"`: 15, `null`: 0, `""`: 0} {
		var a billing.AnchorDay
		require.NoError(t, json.Unmarshal([]byte(give), &a), give)
		require.Equal(t, want, a, give)
	}
	var a billing.AnchorDay
	require.Error(t, json.Unmarshal([]byte(`"end"`), &a))
}

func TestMessageValidation(t *testing.T) {
	c := billing.CancelRequest{Reason: "x"}
	c.Normalize()
	require.NoError(t, c.Validate())
	require.Equal(t, billing.AtPeriodEnd, c.When)
	require.Equal(t, billing.RequesterAdmin, c.Requester)
	require.Equal(t, billing.RefundNone, c.Refund)

	plan := billing.Plan{Name: "P", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}
	plan.Normalize()
	free := int64(20000)
	ch := billing.ChangePlanRequest{TaxFree: &free}
	require.ErrorContains(t, ch.Validate(plan), "tax_free")
	ch = billing.ChangePlanRequest{Amount: 12900}
	require.NoError(t, ch.Validate(plan))
	require.Equal(t, int64(12900), ch.Apply(plan).Amount)

	r := billing.ReplaceBillingKeyRequest{CustomerUID: " new-key "}
	require.NoError(t, r.Validate())
	require.Equal(t, "new-key", r.CustomerUID)
}

func TestIntervalCountZeroIsRefusedNotTakenAsOne(t *testing.T) {
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal([]byte(`{"subscription_id":"s","customer_uid":"c","plan":{"name":"P","amount":100,"interval":{"unit":"month","count":0}}}`), &in))
	in.Normalize()
	var ie *billing.InputError
	require.ErrorAs(t, in.Validate(), &ie)
	require.Equal(t, "plan.interval.count", ie.Field)

	// An omitted count means every one unit.
	in = billing.SubscriptionInput{}
	require.NoError(t, json.Unmarshal([]byte(`{"subscription_id":"s","customer_uid":"c","plan":{"name":"P","amount":100,"interval":{"unit":"month"}}}`), &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Equal(t, 1, in.Plan.Interval.Count)

	// A misspelt count is refused, never defaulted.
	require.ErrorContains(t, json.Unmarshal([]byte(`{"plan":{"interval":{"unit":"month","cuont":3}}}`), &in), `unknown field "cuont"`)
}

func TestExplicitEmptyDunningIsKept(t *testing.T) {
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal([]byte(`{"subscription_id":"s","customer_uid":"c",
		"plan":{"name":"P","amount":100,"interval":{"unit":"month","count":1}},"dunning":{"grace":"0s","retry_after":[]}}`), &in))
	in.Normalize()
	require.NoError(t, in.Validate())
	require.Empty(t, in.Dunning.RetryAfter)
	require.NotNil(t, in.Dunning.RetryAfter, "an explicit [] is no retries, not the default")
	require.Equal(t, billing.Duration(0), *in.Dunning.Grace, "an explicit 0s is no grace, not 7 days")
	// The choice survives a Go client's JSON round trip (the starter, any SDK).
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var again billing.SubscriptionInput
	require.NoError(t, json.Unmarshal(b, &again))
	again.Normalize()
	require.Empty(t, again.Dunning.RetryAfter)
	require.Equal(t, billing.Duration(0), *again.Dunning.Grace)
}

func TestReasonsMustSayAnythingAndStayBounded(t *testing.T) {
	long := strings.Repeat("가", billing.MaxReasonRunes+1)
	tests := []struct {
		name string
		err  func() error
	}{
		{"cancel reason of a zero-width space and a BOM", func() error {
			r := billing.CancelRequest{Reason: "\u200b\ufeff"}
			r.Normalize()
			return r.Validate()
		}},
		{"cancel reason of control characters", func() error {
			r := billing.CancelRequest{Reason: "\x01\x02\x7f"}
			r.Normalize()
			return r.Validate()
		}},
		{"cancel reason with a control character inside", func() error {
			r := billing.CancelRequest{Reason: "고객\x00요청"}
			r.Normalize()
			return r.Validate()
		}},
		{"pause reason too long", func() error {
			r := billing.PauseRequest{Reason: long}
			r.Normalize()
			return r.Validate()
		}},
		{"resume reason too long", func() error {
			r := billing.ResumeRequest{Reason: long}
			r.Normalize()
			return r.Validate()
		}},
		{"undo reason too long", func() error { return (&billing.UndoCancelRequest{Reason: long}).Validate() }},
		{"replace-key reason too long", func() error {
			return (&billing.ReplaceBillingKeyRequest{CustomerUID: "c", Reason: long}).Validate()
		}},
		{"change-plan reason too long", func() error {
			return (&billing.ChangePlanRequest{Amount: 100, Reason: long}).Validate(billing.Plan{Name: "P", Amount: 10,
				Interval: calendar.Interval{Unit: calendar.Month, Count: 1}, ChargeTime: "10:00", NaverUseCfm: billing.NaverUseCfmNone, ChargeMode: billing.ChargeModeAgain})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ie *billing.InputError
			require.ErrorAs(t, tc.err(), &ie)
			require.Equal(t, "reason", ie.Field)
		})
	}
	ok := billing.CancelRequest{Reason: "고객 요청"}
	ok.Normalize()
	require.NoError(t, ok.Validate())
}

// TestV2MinimumOnEveryAmount: on PortOne V2 every amount the subscription charges is held to
// V2's NaverPay minimum (100 KRW): the plan's amount and an introductory price, each refused
// naming its field (docs/billing-team.md, gateway); V1 keeps its 10 KRW.
func TestV2MinimumOnEveryAmount(t *testing.T) {
	for _, tc := range []struct {
		name  string
		gw    billing.GatewayName
		plan  billing.Plan
		field string
	}{
		{"V2 amount below 100", billing.GatewayPortOneV2, billing.Plan{Amount: 99}, "plan.amount"},
		{"V2 introductory price below 100", billing.GatewayPortOneV2, billing.Plan{Amount: 9900, Trial: &billing.Trial{Cycles: 2, Amount: 50}}, "plan.trial.amount"},
		{"V2 introductory price of 100", billing.GatewayPortOneV2, billing.Plan{Amount: 9900, Trial: &billing.Trial{Cycles: 2, Amount: 100}}, ""},
		{"V1 introductory price of 50", "", billing.Plan{Amount: 9900, Trial: &billing.Trial{Cycles: 2, Amount: 50}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			p.Name, p.Interval = "Plan", calendar.Interval{Unit: calendar.Month, Count: 1}
			in := billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "key-1", Gateway: tc.gw, Plan: p}
			in.Normalize()
			err := in.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *billing.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("got %v, want a refusal naming %s", err, tc.field)
			}
		})
	}
}
