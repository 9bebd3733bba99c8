package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/temporalconn"
)

// inputFlag is one start flag: the input field it sets (its JSON path, as the workflow's
// validation messages name it) and how it parses its value.
type inputFlag struct {
	name   string
	field  string
	usage  string
	apply  func(in *billing.SubscriptionInput, v string) error
	isBool bool
}

// inputFlags lists the start flags in the order -h shows them. Every flag is parsed from its
// text only when it was given, so "-f input.json" plus a few flags overrides just those fields.
func inputFlags() []inputFlag {
	dunning := func(in *billing.SubscriptionInput) *billing.DunningPolicy {
		if in.Dunning == nil {
			in.Dunning = &billing.DunningPolicy{}
		}
		return in.Dunning
	}
	trial := func(in *billing.SubscriptionInput) *billing.Trial {
		if in.Plan.Trial == nil {
			in.Plan.Trial = &billing.Trial{}
		}
		return in.Plan.Trial
	}
	return []inputFlag{
		{name: "id", field: "subscription_id", usage: "subscription ID (1-24 of A-Z a-z 0-9 _ -); the workflow ID is subscription/<id>",
			apply: func(in *billing.SubscriptionInput, v string) error { in.SubscriptionID = v; return nil }},
		{name: "customer", field: "customer_uid", usage: "PortOne customer_uid of the NaverPay billing key (registered, or to be registered)",
			apply: func(in *billing.SubscriptionInput, v string) error { in.CustomerUID = v; return nil }},
		{name: "plan-name", field: "plan.name", usage: "order name the buyer sees (at most 40 characters)",
			apply: func(in *billing.SubscriptionInput, v string) error { in.Plan.Name = v; return nil }},
		{name: "plan-code", field: "plan.code", usage: "merchant product code (NaverPay naverProductCode); default: the plan name",
			apply: func(in *billing.SubscriptionInput, v string) error { in.Plan.Code = v; return nil }},
		{name: "amount", field: "plan.amount", usage: "price per cycle in whole KRW, e.g. 9900 or 9,900 (at least 10)",
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				in.Plan.Amount, err = parseAmount(v)
				return err
			}},
		{name: "tax-free", field: "plan.tax_free", usage: "tax-exempt part of the amount in KRW (default 0)",
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				in.Plan.TaxFree, err = parseAmount(v)
				return err
			}},
		{name: "interval", field: "plan.interval", usage: `billing interval: "1 month", "3 months", "1 year", "7 days", "1 week"; demo workers also take "30 seconds", "2 minutes"`,
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				in.Plan.Interval, err = parseInterval(v)
				return err
			}},
		{name: "anchor-day", field: "plan.anchor_day", usage: `billing day of month 1..31 (29-31 clamp to the month's end) or "today" (default); month and year intervals only`,
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				in.Plan.AnchorDay, err = parseAnchorDay(v)
				return err
			}},
		{name: "charge-time", field: "plan.charge_time", usage: `time of day of every charge in Asia/Seoul, "HH:MM" (default "10:00")`,
			apply: func(in *billing.SubscriptionInput, v string) error { in.Plan.ChargeTime = padTime(v); return nil }},
		{name: "first-charge", field: "first_charge", usage: `"now" (default; pro rata up to the anchor day) or "anchor" (first charge on the anchor date)`,
			apply: func(in *billing.SubscriptionInput, v string) error {
				in.FirstCharge = billing.FirstCharge(v)
				return nil
			}},
		{name: "mode", field: "plan.charge_mode", usage: `"again" (default: the workflow charges when due) or "schedule" (PortOne's scheduler charges)`,
			apply: func(in *billing.SubscriptionInput, v string) error {
				in.Plan.ChargeMode = billing.ChargeMode(v)
				return nil
			}},
		{name: "naver-use-cfm", field: "plan.naver_use_cfm", usage: `"none" (default) or "period_end": send the period's last day as NaverPay naverUseCfm`,
			apply: func(in *billing.SubscriptionInput, v string) error {
				in.Plan.NaverUseCfm = billing.NaverUseCfmMode(v)
				return nil
			}},
		{name: "delete-key-on-end", field: "plan.delete_billing_key_on_end", usage: "delete the billing key at PortOne when the subscription ends", isBool: true,
			apply: func(in *billing.SubscriptionInput, v string) error {
				in.Plan.DeleteBillingKeyOnEnd = v == "true"
				return nil
			}},
		{name: "buyer-name", field: "buyer.name", usage: "buyer name sent with charges (optional)",
			apply: func(in *billing.SubscriptionInput, v string) error { in.Buyer.Name = v; return nil }},
		{name: "buyer-tel", field: "buyer.tel", usage: "buyer phone sent with charges (optional)",
			apply: func(in *billing.SubscriptionInput, v string) error { in.Buyer.Tel = v; return nil }},
		{name: "buyer-email", field: "buyer.email", usage: "buyer e-mail sent with charges (optional)",
			apply: func(in *billing.SubscriptionInput, v string) error { in.Buyer.Email = v; return nil }},
		{name: "registration-timeout", field: "registration_timeout", usage: `how long to wait for the customer to register the billing key, e.g. "72h", "3d" (default 3d)`,
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				in.RegistrationTimeout, err = billing.ParseDuration(v)
				return err
			}},
		{name: "trial-days", field: "plan.trial.days", usage: "free trial days before billing starts (7-365; the customer's consent is needed before the first charge)",
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				trial(in).Days = n
				return err
			}},
		{name: "intro-cycles", field: "plan.trial.cycles", usage: "cycles charged at -intro-amount before -amount (consent needed before the regular price)",
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				trial(in).Cycles = n
				return err
			}},
		{name: "intro-amount", field: "plan.trial.amount", usage: "introductory price per cycle in KRW, below -amount",
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				trial(in).Amount, err = parseAmount(v)
				return err
			}},
		{name: "retry-after", field: "dunning.retry_after", usage: `retries after a failed charge, offsets from the due time, e.g. "1d,3d,5d,7d" (the default)`,
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				dunning(in).RetryAfter, err = parseRetryAfter(v)
				return err
			}},
		{name: "grace", field: "dunning.grace", usage: `how long access is kept while past due, e.g. "7d" (the default)`,
			apply: func(in *billing.SubscriptionInput, v string) (err error) {
				var g billing.Duration
				g, err = billing.ParseDuration(v)
				dunning(in).Grace = &g
				return err
			}},
		{name: "final-action", field: "dunning.final_action", usage: `what happens when every retry failed: "cancel" (default) or "pause"`,
			apply: func(in *billing.SubscriptionInput, v string) error {
				dunning(in).FinalAction = billing.FinalAction(v)
				return nil
			}},
	}
}

// padTime accepts "9:30" for "09:30": the workflow insists on two digits, people do not.
func padTime(v string) string {
	v = strings.TrimSpace(v)
	if len(v) == 4 && v[1] == ':' {
		return "0" + v
	}
	return v
}

// flagForField names the flag that sets an input field (a JSON path such as
// "dunning.retry_after[2]"), or "" when no flag does.
func flagForField(field string) string {
	for _, f := range inputFlags() {
		if field == f.field || strings.HasPrefix(field, f.field+"[") || strings.HasPrefix(field, f.field+".") {
			return "-" + f.name
		}
	}
	return ""
}

func startCommand() *command {
	return &command{
		name:    "start",
		summary: "start a subscription from flags or a JSON input file",
		usage:   "starter start (-f input.json | -id ID -customer UID -plan-name NAME -amount KRW -interval INTERVAL) [flags]",
		about: `Start one subscription workflow (type Subscription, ID subscription/<id>, task queue billing).

The input is validated here with the same rules and messages as the workflow before anything is
sent. Flags given together with -f override the file's fields. The workflow receives the
normalized input (defaults filled in), which -print-input shows: it is also exactly the JSON to
paste into the Web UI's "Start Workflow" form. A second start for a running subscription is
refused. Once started, the subscription waits for the customer's NaverPay registration if the
billing key does not exist yet, then charges the first cycle.`,
		examples: []string{
			`starter start -id sub-1001 -customer cust-1001 -plan-name "Pro monthly" -amount 9900 -interval "1 month"`,
			`starter start -id sub-1002 -customer cust-1002 -plan-name "Pro yearly" -amount 99,000 -interval "1 year" -anchor-day 1 -first-charge anchor`,
			`starter start -f sub.json                       # from a file (see 'starter example-input')`,
			`starter example-input | starter start -f - -id sub-1003 -customer cust-1003`,
			`starter start -id demo-1 -customer cust-demo -plan-name Demo -amount 1000 -interval "30 seconds"   # demo worker only`,
			`starter start -f sub.json -print-input          # show the JSON for the Web UI, start nothing`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			file := fs.String("f", "", `read the input JSON from this file ("-" for stdin)`)
			printInput := fs.Bool("print-input", false, "print the normalized input JSON and exit without starting")
			allowPlain := fs.Bool("allow-plaintext", false, "start even without PAYCYCLE_CODEC_KEYS, writing the input (buyer name, phone, e-mail) into workflow history in clear")
			for _, f := range inputFlags() {
				if f.isBool {
					fs.Bool(f.name, false, f.usage)
				} else {
					fs.String(f.name, "", f.usage)
				}
			}
			return func(ctx context.Context) error {
				in, err := buildInput(fs, *file, a.stdin)
				if err != nil {
					return err
				}
				if *printInput {
					return a.printInput(in)
				}
				if a.tc.CodecKeys == "" {
					if !*allowPlain {
						return refused("%s is not set: the input, buyer name, phone and e-mail included, would be written into workflow history in clear.\n"+
							"Set it to the worker's key (with make run: export %s=\"$(cat .data/codec.key)\"), or pass -allow-plaintext on a test server.",
							temporalconn.EnvCodecKeys, temporalconn.EnvCodecKeys)
					}
					fmt.Fprintf(a.stderr, "warning: %s is not set: this subscription's input, buyer data included, is stored in clear (-allow-plaintext)\n", temporalconn.EnvCodecKeys)
				}
				return a.start(ctx, in)
			}
		},
	}
}

// buildInput assembles the workflow input from -f and the flags that were given, then
// normalizes and validates it exactly as the workflow will.
func buildInput(fs *flag.FlagSet, file string, stdin io.Reader) (billing.SubscriptionInput, error) {
	var in billing.SubscriptionInput
	if file != "" {
		var err error
		if in, err = readInput(file, stdin); err != nil {
			return in, err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, f := range inputFlags() {
		if !set[f.name] {
			continue
		}
		if err := f.apply(&in, fs.Lookup(f.name).Value.String()); err != nil {
			return in, refused("-%s: %v", f.name, err)
		}
	}
	if file == "" && len(set) == 0 {
		return in, refused("give the input with -f FILE or with flags (at least -id, -customer, -plan-name, -amount, -interval); run 'starter start -h'")
	}
	in.Normalize()
	if err := in.Validate(); err != nil {
		return in, inputError(err, file, set)
	}
	return in, nil
}

// inputError reports a validation failure with the workflow's own message, plus where the value
// came from (the flag given, or the file's field and the flag that would set it), so a person
// knows what to fix.
func inputError(err error, file string, set map[string]bool) error {
	var ie *billing.InputError
	if !errors.As(err, &ie) {
		return refused("invalid input: %v", err)
	}
	msg := "invalid input: " + ie.Error()
	fl := flagForField(ie.Field)
	switch {
	case fl != "" && set[strings.TrimPrefix(fl, "-")]:
		msg += " (flag " + fl + ")"
	case file != "" && fl != "":
		msg += " (in " + displayFile(file) + "; or set it with " + fl + ")"
	case file != "":
		msg += " (in " + displayFile(file) + ")"
	case fl != "":
		msg += " (flag " + fl + ")"
	}
	return refused("%s", msg)
}

func displayFile(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// readInput decodes an input file strictly: a misspelt field would otherwise be ignored and its
// default used, which for money is the wrong kind of forgiving.
func readInput(file string, stdin io.Reader) (billing.SubscriptionInput, error) {
	var in billing.SubscriptionInput
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return in, refused("-f: %v", err)
	}
	if err := billing.DecodeStrict(data, &in); err != nil {
		return in, refused("-f %s: %v", displayFile(file), err)
	}
	if in.Continued != nil {
		return in, refused("-f %s: \"continued\" is set by the workflow on continue-as-new; remove it", displayFile(file))
	}
	return in, nil
}

func (a *app) printInput(in billing.SubscriptionInput) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return failed("encode input: %v", err)
	}
	fmt.Fprintf(a.stdout, "%s\n", b)
	fmt.Fprintf(a.stderr, "# Web UI \"Start Workflow\": Workflow ID %s, Task Queue %s, Workflow Type %s, input above (JSON).\n",
		billing.WorkflowID(in.SubscriptionID), billing.TaskQueue, billing.WorkflowType)
	return nil
}

func (a *app) start(ctx context.Context, in billing.SubscriptionInput) error {
	c, err := a.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	wfID := billing.WorkflowID(in.SubscriptionID)
	opts := billing.StartOptions(in, "")
	run, err := c.ExecuteWorkflow(ctx, opts, billing.WorkflowType, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return refused("subscription %s is already running (workflow %s, run %s); use `starter show -id %s`",
				in.SubscriptionID, wfID, started.RunId, in.SubscriptionID)
		}
		var invalid *serviceerror.InvalidArgument
		if errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Message), "search attribute") {
			return failed("Temporal refused the start: %s\nRegister the search attributes first (docs/operators.md, \"Namespace and search attributes\": bin/temporal operator search-attribute create ...).", invalid.Message)
		}
		return a.explain(err, in.SubscriptionID, "start")
	}
	w := a.stdout
	fmt.Fprintf(w, "Started subscription %s\n", in.SubscriptionID)
	fmt.Fprintf(w, "  Workflow ID: %s\n", run.GetID())
	fmt.Fprintf(w, "  Run ID:      %s\n", run.GetRunID())
	fmt.Fprintf(w, "  Namespace:   %s\n", a.tc.Namespace)
	fmt.Fprintf(w, "  Plan:        %s\n", planLine(in.Plan))
	fmt.Fprintf(w, "  Billing key: %s (first charge: %s)\n", in.CustomerUID, in.FirstCharge)
	if in.Plan.Interval.Unit.IsShort() {
		fmt.Fprintf(w, "  Note: %q intervals run only on a worker started in demo mode.\n", in.Plan.Interval.Unit)
	}
	fmt.Fprintf(w, "\nIf the customer has not registered NaverPay recurring payment for %s yet, the subscription\n", in.CustomerUID)
	fmt.Fprintf(w, "waits for it (up to %s) and then charges the first cycle.\n", in.RegistrationTimeout)
	fmt.Fprintf(w, "\nNext: starter show -id %s\n", in.SubscriptionID)
	return nil
}
