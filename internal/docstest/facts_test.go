package docstest_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/docstest"
	"github.com/paycycle/paycycle/reconcile"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

// TestDocsNumbersAreTheCode: every figure below is printed in a page and lives in a constant;
// the page's number is parsed and compared with the constant. The README once said 24 cycles a
// run when the code had said 48 for a while.
func TestDocsNumbersAreTheCode(t *testing.T) {
	const (
		team  = "docs/billing-team.md"
		dev   = "docs/developers.md"
		ops   = "docs/operators.md"
		money = "docs/money-rules.md"
		arch  = "docs/architecture.md"
	)
	years := map[string]int64{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}
	cases := []struct {
		name    string
		page    string
		pattern string
		want    int64
	}{
		{"cycles per run", arch, "continues as new every (\\d+) cycles \\(`workflows.CyclesPerRun`", workflows.CyclesPerRun},
		{"cycles per run, pinned runs", ops, "continue as new \\(every (\\d+) cycles \\(`workflows.CyclesPerRun`\\)", workflows.CyclesPerRun},
		{"minimum amount", team, "whole KRW per cycle, ([\\d,]+) … [\\d,]+ \\|", billing.MinAmountKRW},
		{"maximum amount", team, "whole KRW per cycle, [\\d,]+ … ([\\d,]+) \\|", billing.MaxAmountKRW},
		{"minimum amount, the refusal", team, "plan.amount: must be at least (\\d+) KRW \\(NaverPay minimum\\)", billing.MinAmountKRW},
		{"minimum amount on V2", team, "held to the minimum its own NaverPay guide states: [\\d,]+ KRW on V1, ([\\d,]+) KRW on V2", billing.MinAmountKRWV2},
		{"minimum amount on V1, by gateway", team, "held to the minimum its own NaverPay guide states: ([\\d,]+) KRW on V1", billing.MinAmountKRW},
		{"minimum amount, pro rata", money, "below NaverPay's (\\d+) KRW minimum", billing.MinAmountKRW},
		{"declines ceiling", money, "An attempt is \\*\\*not made\\*\\* when the key had (\\d+) declines in the last 24 hours", billing.DefaultDeclines24h},
		{"reattempts ceiling", money, "\\(a reattempt\\) (\\d+) reattempts in the last 30 days", billing.DefaultReattempts30d},
		{"declines ceiling, configuration", ops, "`-ceiling-declines-24h` \\| worker \\| `(\\d+)`", billing.DefaultDeclines24h},
		{"reattempts ceiling, configuration", ops, "`-ceiling-reattempts-30d` \\| worker \\| `(\\d+)`", billing.DefaultReattempts30d},
		{"attempt log", money, "keeps only what the windows need, at most (\\d+) entries", billing.MaxCardAttempts},
		{"audit events in the state", dev, "refunds and the last (\\d+) audit events", billing.MaxEvents},
		{"events kept while the outbox is unreachable", dev, "the subscription keeps up to (\\d+) events in its state", billing.MaxPendingEvents},
		{"events dropped past the unreachable outbox", dev, "its outbox was unreachable for over (\\d+) events", billing.MaxPendingEvents},
		{"outbox deliveries kept", dev, "The outbox keeps the latest (\\d+) events of a subscription", webhooks.MaxDeliveries},
		{"outbox kept after the end, days", dev, "an ended subscription's for (\\d+) days after its last event", int64(webhooks.RedeliveryRetention / (24 * time.Hour))},
		{"consent window, days", money, "within the (\\d+) days before the change", billing.ConsentWindowDays},
		{"consent window, the team's view", team, "explicit consent within the (\\d+) days before it", billing.ConsentWindowDays},
		{"reconciliation rate", ops, "`-reconcile-rate` \\| worker \\| `(\\d+)`", int64(reconcile.DefaultRate)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := docstest.Int(t, tc.page, tc.pattern); got != tc.want {
				t.Errorf("%s says %d (%s), the code %d", tc.page, got, tc.pattern, tc.want)
			}
		})
	}
	// A pinned monthly run lasts CyclesPerRun months: the page says it in years.
	word := docstest.Match(t, ops, "— up to (\\w+) years for a monthly plan")
	if years[word]*12 != workflows.CyclesPerRun {
		t.Errorf("%s: up to %s years for a monthly plan, but a run is %d cycles", ops, word, workflows.CyclesPerRun)
	}
}

// TestDocsDefaultsAreTheCode: the defaults the pages print (durations and times of day) are the
// ones the code fills in.
func TestDocsDefaultsAreTheCode(t *testing.T) {
	const (
		team = "docs/billing-team.md"
		dev  = "docs/developers.md"
		ops  = "docs/operators.md"
	)
	in := billing.SubscriptionInput{Plan: billing.Plan{Name: "p", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	in.Normalize()

	var retries []billing.Duration
	if err := json.Unmarshal([]byte(docstest.Match(t, team, "\\| `dunning.retry_after` \\| `(\\[[^`]*\\])` \\|")), &retries); err != nil {
		t.Fatalf("dunning.retry_after's default: %v", err)
	}
	if !equalDurations(retries, in.Dunning.RetryAfter) {
		t.Errorf("%s: dunning.retry_after defaults to %v, the code to %v", team, retries, in.Dunning.RetryAfter)
	}
	durations := []struct {
		name, page, pattern string
		want                time.Duration
	}{
		{"dunning.grace", team, "\\| `dunning.grace` \\| `\"(\\w+)\"` \\|", in.Dunning.GraceDuration()},
		{"registration_timeout", team, "\\| `registration_timeout` \\| `\"(\\w+)\"` \\|", billing.DefaultRegistrationTimeout},
		{"delivery window, prose", dev, "for `BILLING_WEBHOOK_DELIVERY_WINDOW` \\(default (\\w+):", webhooks.DefaultDeliveryWindow},
		{"delivery window, configuration", ops, "`-webhook-delivery-window` \\| worker \\| `(\\w+)`", webhooks.DefaultDeliveryWindow},
		{"reconciliation overlap", ops, "`-reconcile-overlap` \\| worker \\| `(\\w+)`", reconcile.DefaultOverlap},
	}
	for _, tc := range durations {
		t.Run(tc.name, func(t *testing.T) {
			var d billing.Duration
			if err := json.Unmarshal([]byte(`"`+docstest.Match(t, tc.page, tc.pattern)+`"`), &d); err != nil {
				t.Fatalf("%s: %v", tc.page, err)
			}
			if d.Std() != tc.want {
				t.Errorf("%s says %s is %s, the code %s", tc.page, tc.name, d.Std(), tc.want)
			}
		})
	}
	times := []struct{ name, page, pattern, want string }{
		{"charge time", team, "\\| `plan.charge_time` \\| `\"([\\d:]+)\"` \\|", calendar.DefaultChargeTime.String()},
		{"charge time, as given", team, "\\| `plan.charge_time` \\| `\"([\\d:]+)\"` \\|", in.Plan.ChargeTime},
		{"reconciliation time, prose", ops, "\\(default ([\\d:]+) KST\\)", reconcile.DefaultAt},
		{"reconciliation time, configuration", ops, "`-reconcile-at` \\| worker \\| `([\\d:]+)`", reconcile.DefaultAt},
	}
	for _, tc := range times {
		if got := docstest.Match(t, tc.page, tc.pattern); got != tc.want {
			t.Errorf("%s: %s is %s, the code %s", tc.page, tc.name, got, tc.want)
		}
	}
}

func equalDurations(a, b []billing.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Std() != b[i].Std() {
			return false
		}
	}
	return true
}

// TestDocsSearchAttributesAreBillings: the team's table of search attributes and the operators'
// registration loop list billing.SearchAttributes, names and types, in its order.
func TestDocsSearchAttributesAreBillings(t *testing.T) {
	var want []string
	for _, sa := range billing.SearchAttributes {
		want = append(want, sa.Name+"="+sa.Type)
	}
	wantList := strings.Join(want, " ")

	team := docstest.Page(t, "docs/billing-team.md")
	var table []string
	for _, m := range regexp.MustCompile("\\| `([A-Za-z]+)` \\| (Keyword|Datetime|Int|Bool|Double|Text|KeywordList) \\|").FindAllStringSubmatch(team, -1) {
		table = append(table, m[1]+"="+m[2])
	}
	if got := strings.Join(table, " "); got != wantList {
		t.Errorf("docs/billing-team.md's search attribute table lists %s; billing.SearchAttributes is %s", got, wantList)
	}
	if loop := docstest.Match(t, "docs/operators.md", "for sa in ([A-Za-z=]+(?: [A-Za-z=]+)*); do"); loop != wantList {
		t.Errorf("docs/operators.md registers %s; billing.SearchAttributes is %s", loop, wantList)
	}
}
