package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// exampleInput is a complete, valid subscription input with every field a person may set.
func exampleInput() billing.SubscriptionInput {
	day := billing.Duration(24 * time.Hour)
	grace := 7 * day
	return billing.SubscriptionInput{
		SubscriptionID: "sub-1001",
		CustomerUID:    "cust-1001",
		Plan: billing.Plan{
			Name:        "Pro monthly",
			Code:        "pro-monthly",
			Amount:      9900,
			TaxFree:     0,
			Interval:    calendar.Interval{Unit: calendar.Month, Count: 1},
			AnchorDay:   15,
			ChargeTime:  "10:00",
			NaverUseCfm: billing.NaverUseCfmNone,
			ChargeMode:  billing.ChargeModeAgain,
		},
		Buyer:       billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "buyer@example.com"},
		FirstCharge: billing.FirstChargeNow,
		Dunning: &billing.DunningPolicy{
			RetryAfter:  []billing.Duration{day, 3 * day, 5 * day, 7 * day},
			Grace:       &grace,
			FinalAction: billing.FinalActionCancel,
		},
		RegistrationTimeout: 3 * day,
	}
}

// exampleFields documents the example's fields; printed to stderr so that stdout stays one
// JSON object that can be redirected to a file.
const exampleFields = `Fields (flag in brackets; * required):
  subscription_id*        [-id] 1-24 of A-Z a-z 0-9 _ -; workflow ID is subscription/<id>
  customer_uid*           [-customer] PortOne billing key handle (NaverPay recurring registration)
  plan.name*              [-plan-name] order name the buyer sees, at most 40 characters
  plan.code               [-plan-code] product code (NaverPay naverProductCode); default: name
  plan.amount*            [-amount] KRW per cycle, integer, at least 10
  plan.tax_free           [-tax-free] tax-exempt part of amount, KRW
  plan.interval*          [-interval] {"unit": day|week|month|year (second|minute: demo workers), "count": n}
  plan.anchor_day         [-anchor-day] 1..31 (29-31 clamp to month end) or "today"; month/year only
  plan.charge_time        [-charge-time] "HH:MM" Asia/Seoul, default "10:00"
  plan.naver_use_cfm      [-naver-use-cfm] "none" or "period_end"
  plan.charge_mode        [-mode] "again" (workflow charges) or "schedule" (PortOne scheduler)
  plan.delete_billing_key_on_end [-delete-key-on-end] delete the billing key when the subscription ends
  plan.trial.days         [-trial-days] free trial days (7-365); consent needed before the first charge
  plan.trial.cycles/amount [-intro-cycles/-intro-amount] cycles at an introductory price below amount
  buyer.name/tel/email    [-buyer-name/-buyer-tel/-buyer-email] optional, sent with charges
  first_charge            [-first-charge] "now" (pro rata to the anchor) or "anchor"
  dunning.retry_after     [-retry-after] offsets from the due time, e.g. ["1d","3d","5d","7d"]
  dunning.grace           [-grace] access kept while past due, e.g. "7d"
  dunning.final_action    [-final-action] "cancel" or "pause" after the last failed retry
  registration_timeout    [-registration-timeout] wait for the billing key, e.g. "72h" or "3d"
Durations: Go syntax plus days ("7d", "36h", "90s").
Web UI "Start Workflow": Workflow ID subscription/<subscription_id>, Task Queue billing,
Workflow Type Subscription, Input: this JSON.`

func exampleInputCommand() *command {
	return &command{
		name:    "example-input",
		summary: "print a documented sample input JSON (for -f and the Web UI)",
		usage:   "starter example-input [flags]",
		about: `Print a complete, valid subscription input to stdout and its field reference to stderr, so that
'starter example-input > sub.json' writes just the JSON. Edit it, then 'starter start -f sub.json'
or paste it into the Web UI's "Start Workflow" form.`,
		examples: []string{
			`starter example-input > sub.json`,
			`starter example-input | starter start -f - -id sub-2001 -customer cust-2001`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			return func(context.Context) error {
				b, err := json.MarshalIndent(exampleInput(), "", "  ")
				if err != nil {
					return failed("encode example: %v", err)
				}
				fmt.Fprintf(a.stdout, "%s\n", b)
				fmt.Fprintln(a.stderr, exampleFields)
				return nil
			}
		},
	}
}
