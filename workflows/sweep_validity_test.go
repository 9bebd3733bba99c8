package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/rulebook"
)

// TestInputValidityAgreesWithTheRulebook: the inputs the README refuses, refused by billing's
// validation (what the workflow runs) and by the rulebook's own rules, naming the same field. The
// sweep checks the valid side on every timeline it generates.
func TestInputValidityAgreesWithTheRulebook(t *testing.T) {
	good := func() billing.SubscriptionInput {
		return billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "key-1",
			Plan: billing.Plan{Name: "Plan", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	}
	neg := billing.Duration(-time.Hour)
	for _, tc := range []struct {
		name   string
		change func(*billing.SubscriptionInput)
	}{
		{"valid", func(*billing.SubscriptionInput) {}},
		{"no customer_uid", func(in *billing.SubscriptionInput) { in.CustomerUID = "" }},
		{"amount below NaverPay's minimum", func(in *billing.SubscriptionInput) { in.Plan.Amount = 9 }},
		{"amount below V2's minimum", func(in *billing.SubscriptionInput) {
			in.Gateway, in.Plan.Amount = billing.GatewayPortOneV2, billing.MinAmountKRWV2-1
		}},
		{"an introductory price below V2's minimum", func(in *billing.SubscriptionInput) {
			in.Gateway, in.Plan.Trial = billing.GatewayPortOneV2, &billing.Trial{Cycles: 2, Amount: billing.MinAmountKRWV2 - 1}
		}},
		{"an introductory price of V2's minimum", func(in *billing.SubscriptionInput) {
			in.Gateway, in.Plan.Trial = billing.GatewayPortOneV2, &billing.Trial{Cycles: 2, Amount: billing.MinAmountKRWV2}
		}},
		{"V2's minimum", func(in *billing.SubscriptionInput) {
			in.Gateway, in.Plan.Amount = billing.GatewayPortOneV2, billing.MinAmountKRWV2
		}},
		{"amount above the maximum", func(in *billing.SubscriptionInput) { in.Plan.Amount = 100_000_001 }},
		{"tax_free above the amount", func(in *billing.SubscriptionInput) { in.Plan.TaxFree = 9901 }},
		{"negative tax_free", func(in *billing.SubscriptionInput) { in.Plan.TaxFree = -1 }},
		{"a unit that does not exist", func(in *billing.SubscriptionInput) { in.Plan.Interval.Unit = "fortnight" }},
		// (Outside demo mode the workflow refuses it at start, not billing's validation.)
		{"a demo unit in demo mode", func(in *billing.SubscriptionInput) { in.Plan.Interval.Unit = calendar.Second }},
		{"count 0", func(in *billing.SubscriptionInput) { in.Plan.Interval.Count = -1 }},
		{"anchor day 32", func(in *billing.SubscriptionInput) { in.Plan.AnchorDay = 32 }},
		{"charge time 25:00", func(in *billing.SubscriptionInput) { in.Plan.ChargeTime = "25:00" }},
		{"charge time 9h", func(in *billing.SubscriptionInput) { in.Plan.ChargeTime = "9h" }},
		{"a negative retry", func(in *billing.SubscriptionInput) {
			in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{neg}}
		}},
		{"a negative grace", func(in *billing.SubscriptionInput) { in.Dunning = &billing.DunningPolicy{Grace: &neg} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.change(&in)
			raw := rulebookInput(in)
			in.Normalize()
			berr, rerr := in.Validate(), rulebook.CheckInput(raw, true)
			if (berr == nil) != (rerr == nil) {
				t.Fatalf("billing says %v, the rulebook %v", berr, rerr)
			}
			if berr == nil {
				return
			}
			var ie *billing.InputError
			if !errors.As(berr, &ie) {
				t.Fatalf("billing's refusal %v names no field", berr)
			}
			if field := strings.SplitN(rerr.Error(), ":", 2)[0]; !strings.HasPrefix(ie.Field, field) && !strings.HasPrefix(field, ie.Field) {
				t.Errorf("billing refuses %q (%v), the rulebook %q (%v)", ie.Field, berr, field, rerr)
			}
		})
	}
}
