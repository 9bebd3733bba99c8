package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// parseStart parses start's flags and builds the input, as 'starter start' does before dialing.
func parseStart(t *testing.T, stdin io.Reader, args ...string) (billing.SubscriptionInput, error) {
	t.Helper()
	a := &app{stdin: stdin, stdout: io.Discard, stderr: io.Discard, now: time.Now}
	c := startCommand()
	fs := a.newFlagSet(c)
	c.setup(fs, a)
	require.NoError(t, fs.Parse(args))
	return buildInput(fs, fs.Lookup("f").Value.String(), stdin)
}

// base is the smallest valid set of start flags.
var base = []string{"-id", "sub-1", "-customer", "cust-1", "-plan-name", "Pro", "-amount", "9900", "-interval", "1 month"}

func with(extra ...string) []string { return append(append([]string{}, base...), extra...) }

func days(n int) billing.Duration { return billing.Duration(time.Duration(n) * 24 * time.Hour) }

func TestStartFlagsBuildInput(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, in billing.SubscriptionInput)
	}{
		{"defaults filled like the workflow does", base, func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, "sub-1", in.SubscriptionID)
			require.Equal(t, "cust-1", in.CustomerUID)
			require.Equal(t, billing.Plan{
				Name: "Pro", Code: "Pro", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1},
				ChargeTime: "10:00", NaverUseCfm: billing.NaverUseCfmNone, ChargeMode: billing.ChargeModeAgain,
			}, in.Plan)
			require.Equal(t, billing.FirstChargeNow, in.FirstCharge)
			require.Equal(t, billing.Duration(billing.DefaultRegistrationTimeout), in.RegistrationTimeout)
			require.Equal(t, &billing.DunningPolicy{
				RetryAfter: []billing.Duration{days(1), days(3), days(5), days(7)}, Grace: ptr(days(7)), FinalAction: billing.FinalActionCancel,
			}, in.Dunning)
		}},
		{"3 months", with("-interval", "3 months"), interval(calendar.Month, 3)},
		{"1 year", with("-interval", "1 year"), interval(calendar.Year, 1)},
		{"7 days", with("-interval", "7 days"), interval(calendar.Day, 7)},
		{"1 week", with("-interval", "1 week"), interval(calendar.Week, 1)},
		{"30 seconds", with("-interval", "30 seconds"), func(t *testing.T, in billing.SubscriptionInput) {
			interval(calendar.Second, 30)(t, in)
			// Demo plans get the default dunning scaled to the interval, as in the workflow.
			require.Equal(t, []billing.Duration{
				billing.Duration(3 * time.Second), billing.Duration(9 * time.Second),
				billing.Duration(15 * time.Second), billing.Duration(21 * time.Second),
			}, in.Dunning.RetryAfter)
		}},
		{"2 minutes", with("-interval", "2 minutes"), interval(calendar.Minute, 2)},
		{"bare unit", with("-interval", "week"), interval(calendar.Week, 1)},
		{"compact and capitalised", with("-interval", "6Months"), interval(calendar.Month, 6)},
		{"adverb", with("-interval", "yearly"), interval(calendar.Year, 1)},
		{"anchor day", with("-anchor-day", "31"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, billing.AnchorDay(31), in.Plan.AnchorDay)
		}},
		{"anchor today", with("-anchor-day", "today"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, billing.AnchorDay(0), in.Plan.AnchorDay)
		}},
		{"amount with separators, tax free", with("-amount", "99,000", "-tax-free", "9_000"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, int64(99000), in.Plan.Amount)
			require.Equal(t, int64(9000), in.Plan.TaxFree)
		}},
		{"retry list, grace, final action", with("-retry-after", "1d, 2d,60h10m", "-grace", "4d", "-final-action", "pause"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, []billing.Duration{days(1), days(2), billing.Duration(60*time.Hour + 10*time.Minute)}, in.Dunning.RetryAfter)
			require.Equal(t, days(4), *in.Dunning.Grace)
			require.Equal(t, billing.FinalActionPause, in.Dunning.FinalAction)
		}},
		{"charge time padded", with("-charge-time", "9:30"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, "09:30", in.Plan.ChargeTime)
		}},
		{"every other field", with("-plan-code", "pro-m", "-first-charge", "anchor", "-anchor-day", "15", "-mode", "schedule",
			"-naver-use-cfm", "period_end", "-delete-key-on-end", "-buyer-name", "홍길동", "-buyer-tel", "010-1234-5678",
			"-buyer-email", "a@example.com", "-registration-timeout", "36h"), func(t *testing.T, in billing.SubscriptionInput) {
			require.Equal(t, "pro-m", in.Plan.Code)
			require.Equal(t, billing.FirstChargeAnchor, in.FirstCharge)
			require.Equal(t, billing.ChargeModeSchedule, in.Plan.ChargeMode)
			require.Equal(t, billing.NaverUseCfmPeriodEnd, in.Plan.NaverUseCfm)
			require.True(t, in.Plan.DeleteBillingKeyOnEnd)
			require.Equal(t, billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "a@example.com"}, in.Buyer)
			require.Equal(t, billing.Duration(36*time.Hour), in.RegistrationTimeout)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := parseStart(t, nil, tt.args...)
			require.NoError(t, err)
			tt.check(t, in)
		})
	}
}

func interval(u calendar.Unit, n int) func(*testing.T, billing.SubscriptionInput) {
	return func(t *testing.T, in billing.SubscriptionInput) {
		t.Helper()
		require.Equal(t, calendar.Interval{Unit: u, Count: n}, in.Plan.Interval)
	}
}

func TestStartFlagsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"no input at all", nil, []string{"give the input with -f FILE or with flags"}},
		{"unknown unit", with("-interval", "1 fortnight"), []string{"-interval:", `unknown unit "fortnight"`}},
		{"not an interval", with("-interval", "every other day"), []string{"-interval:", "is not an interval"}},
		{"zero count", with("-interval", "0 months"), []string{"-interval:", "at least 1"}},
		{"count out of range", with("-interval", "200 months"), []string{"plan.interval", "out of range 1..120", "(flag -interval)"}},
		{"anchor day out of range", with("-anchor-day", "32"), []string{"plan.anchor_day", `1..31 or "today"`, "(flag -anchor-day)"}},
		{"anchor day not a number", with("-anchor-day", "first"), []string{"-anchor-day:", "not a day of month"}},
		{"anchor day on weekly plan", with("-interval", "1 week", "-anchor-day", "3"), []string{"applies to month and year intervals only", "(flag -anchor-day)"}},
		{"decimal amount", with("-amount", "9.9"), []string{"-amount:", "not a whole number of KRW"}},
		{"amount below minimum", with("-amount", "5"), []string{"plan.amount: must be at least 10 KRW (NaverPay minimum), got 5", "(flag -amount)"}},
		{"missing amount", []string{"-id", "s", "-customer", "c", "-plan-name", "P", "-interval", "1 month"}, []string{"plan.amount", "got 0", "(flag -amount)"}},
		{"tax free above amount", with("-tax-free", "20000"), []string{"plan.tax_free", "(flag -tax-free)"}},
		{"retries not increasing", with("-retry-after", "3d,1d"), []string{"dunning.retry_after[1]", "increasing", "(flag -retry-after)"}},
		{"empty retry", with("-retry-after", "1d,,3d"), []string{"-retry-after:", "entry 2 is empty"}},
		{"bad retry", with("-retry-after", "1d,soon"), []string{"-retry-after:", "entry 2", `"soon"`}},
		{"bad grace", with("-grace", "a week"), []string{"-grace:", "invalid duration"}},
		{"bad charge time", with("-charge-time", "25:00"), []string{"plan.charge_time", "(flag -charge-time)"}},
		{"bad mode", with("-mode", "auto"), []string{"plan.charge_mode", `"again" or "schedule"`, "(flag -mode)"}},
		{"bad first charge", with("-first-charge", "later"), []string{"first_charge", "(flag -first-charge)"}},
		{"bad naver use cfm", with("-naver-use-cfm", "always"), []string{"plan.naver_use_cfm", "(flag -naver-use-cfm)"}},
		{"bad final action", with("-final-action", "retry"), []string{"dunning.final_action", "(flag -final-action)"}},
		{"bad id", with("-id", "sub/1"), []string{"subscription_id", "(flag -id)"}},
		{"long id", with("-id", strings.Repeat("a", 25)), []string{"at most 24", "(flag -id)"}},
		{"missing customer", []string{"-id", "s", "-plan-name", "P", "-amount", "100", "-interval", "1 month"}, []string{"customer_uid: must not be empty", "(flag -customer)"}},
		{"bad email", with("-buyer-email", "nobody"), []string{"buyer.email", "(flag -buyer-email)"}},
		{"bad registration timeout", with("-registration-timeout", "-3d"), []string{"-registration-timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStart(t, nil, tt.args...)
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			var ce *cliError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, exitRefused, ce.code)
		})
	}
}

func TestStartFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	good := write("good.json", `{"subscription_id":"sub-9","customer_uid":"c9","plan":{"name":"Yearly","amount":99000,"interval":{"unit":"year"},"anchor_day":"1"},"dunning":{"retry_after":["2d","4d"]}}`)

	in, err := parseStart(t, nil, "-f", good)
	require.NoError(t, err)
	require.Equal(t, "sub-9", in.SubscriptionID)
	require.Equal(t, calendar.Interval{Unit: calendar.Year, Count: 1}, in.Plan.Interval)
	require.Equal(t, billing.AnchorDay(1), in.Plan.AnchorDay)
	require.Equal(t, []billing.Duration{days(2), days(4)}, in.Dunning.RetryAfter)

	// Flags override the file's fields, and only those.
	in, err = parseStart(t, nil, "-f", good, "-id", "sub-10", "-amount", "120,000")
	require.NoError(t, err)
	require.Equal(t, "sub-10", in.SubscriptionID)
	require.Equal(t, int64(120000), in.Plan.Amount)
	require.Equal(t, "Yearly", in.Plan.Name)

	// From stdin.
	in, err = parseStart(t, strings.NewReader(`{"subscription_id":"s","customer_uid":"c","plan":{"name":"P","amount":100,"interval":{"unit":"week","count":2}}}`), "-f", "-")
	require.NoError(t, err)
	require.Equal(t, calendar.Interval{Unit: calendar.Week, Count: 2}, in.Plan.Interval)

	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"misspelt field", `{"subscription_id":"s","plan":{"amout":100}}`, []string{`plan.amout: unknown field (did you mean "amount"?)`}},
		{"wrong type", `{"subscription_id":"s","plan":{"amount":true}}`, []string{"plan.amount"}},
		{"two objects", `{"subscription_id":"s"} {}`, []string{"more than one JSON value"}},
		{"continued set", `{"subscription_id":"s","continued":{}}`, []string{`"continued" is set by the workflow`}},
		{"invalid value", `{"subscription_id":"s","customer_uid":"c","plan":{"name":"P","amount":5,"interval":{"unit":"month"}}}`,
			[]string{"plan.amount: must be at least 10 KRW", "bad.json", "-amount"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseStart(t, nil, "-f", write("bad.json", tt.body))
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
	_, err = parseStart(t, nil, "-f", filepath.Join(dir, "missing.json"))
	require.ErrorContains(t, err, "-f:")
}

// TestPrintInputIsWhatTheWorkflowAccepts checks -print-input's JSON: it decodes into the
// workflow's input type unchanged, so pasting it into the Web UI starts the same subscription.
func TestPrintInputIsWhatTheWorkflowAccepts(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now}
	code := a.run(t.Context(), append([]string{"start", "-print-input"}, with("-retry-after", "1d,2d")...))
	require.Equal(t, exitOK, code, errb.String())
	var in billing.SubscriptionInput
	require.NoError(t, json.Unmarshal(out.Bytes(), &in))
	want, err := parseStart(t, nil, with("-retry-after", "1d,2d")...)
	require.NoError(t, err)
	require.Equal(t, want, in)
	require.Contains(t, errb.String(), "Workflow ID subscription/sub-1, Task Queue billing, Workflow Type Subscription")
}

// TestExampleInputIsValid keeps the documented example in step with the validation rules.
func TestExampleInputIsValid(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now}
	require.Equal(t, exitOK, a.run(t.Context(), []string{"example-input"}))
	require.Contains(t, errb.String(), "plan.amount*")

	in, err := parseStart(t, bytes.NewReader(out.Bytes()), "-f", "-")
	require.NoError(t, err)
	require.Equal(t, exampleInput(), in, "the example is already normalized")
	// Every field the example sets is documented, with its flag.
	for _, f := range inputFlags() {
		require.Contains(t, exampleFields, "-"+f.name, "field reference lists -%s", f.name)
	}
}

func TestParseResumeAt(t *testing.T) {
	got, err := parseResumeAt("2026-03-01")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 2, 28, 15, 0, 0, 0, time.UTC), got, "a date is 00:00 KST")
	got, err = parseResumeAt("2026-03-01T10:00:00+09:00")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC), got)
	_, err = parseResumeAt("next monday")
	require.ErrorContains(t, err, "neither RFC 3339")
}

func TestFormatIntervalRoundTrips(t *testing.T) {
	for _, s := range []string{"1 month", "3 months", "1 year", "7 days", "1 week", "30 seconds", "2 minutes"} {
		iv, err := parseInterval(s)
		require.NoError(t, err, s)
		require.Equal(t, s, formatInterval(iv))
	}
}
