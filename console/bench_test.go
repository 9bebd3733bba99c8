package console_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"testing"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/readmodel"
)

// benchSubscriptions is the store size issue 23 measures the console's pages at.
const benchSubscriptions = 100_000

// benchFleet yields n subscriptions' events: monthly plans paid over the last month, every 20th
// past due after a decline, every 100th with a price rise waiting for consent, every 30th
// canceled.
func benchFleet(n int) iter.Seq2[billing.MerchantEvent, error] {
	return func(yield func(billing.MerchantEvent, error) bool) {
		for i := range n {
			id := fmt.Sprintf("sub-%06d", i)
			at := day(-float64(i%30) - 1).Add(time.Duration(i%1440) * time.Minute)
			next := at.AddDate(0, 1, 0)
			sub := monthly(billing.StatusActive, 1, next, next)
			sub.Amount = int64(5000 + (i%7)*1000)
			evs := []billing.MerchantEvent{
				ev(id, 1, billing.EventSubscriptionStarted, at.Add(-time.Minute), monthly(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), nil),
				ev(id, 2, billing.EventSubscriptionActivated, at, sub, nil),
				ev(id, 3, billing.EventChargeSucceeded, at, sub, func(d *billing.EventData) {
					d.Charge = &billing.EventCharge{Cycle: 1, Attempt: 1, MerchantUID: "m-" + id, ImpUID: "imp_" + id, Amount: sub.Amount, Outcome: billing.OutcomePaid, At: at}
				}),
			}
			switch {
			case i%20 == 0:
				pd := sub
				pd.Status, pd.Cycle, pd.NextChargeAt = billing.StatusPastDue, 2, day(float64(i%5))
				evs = append(evs,
					ev(id, 4, billing.EventChargeDeclined, at, pd, func(d *billing.EventData) {
						d.Charge = &billing.EventCharge{Cycle: 2, Attempt: 1, MerchantUID: "m2-" + id, Amount: sub.Amount, Outcome: billing.OutcomeDeclined, Reason: "잔액 부족", At: at}
					}),
					ev(id, 5, billing.EventDunningStarted, at, pd, func(d *billing.EventData) {
						d.Dunning = &billing.EventDunning{Cycle: 2, Attempts: 1, NextRetryAt: day(float64(i % 5)), GraceEndsAt: day(9)}
					}))
			case i%100 == 1:
				evs = append(evs, ev(id, 4, billing.EventConsentRequired, at, sub, func(d *billing.EventData) {
					d.Consent = &billing.ConsentState{Status: billing.ConsentRequired, ChangeAt: next, ChangeDate: calendar.DateOf(next), AmountBefore: sub.Amount, AmountAfter: sub.Amount + 2000, Why: "plan_change"}
				}))
			case i%30 == 2:
				c := sub
				c.Status = billing.StatusCanceled
				evs = append(evs, ev(id, 4, billing.EventSubscriptionCanceled, at.Add(time.Hour), c, nil))
			}
			for _, e := range evs {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// BenchmarkConsolePages measures the console's pages, end to end over HTTP (session, read
// model query, template), with 100,000 subscriptions in the read model on SQLite:
//
//	go test -run '^$' -bench BenchmarkConsolePages -benchtime 20x ./console/
func BenchmarkConsolePages(b *testing.B) {
	e := newTestEnv(b, nil)
	begin := time.Now()
	if err := e.store.Rebuild(context.Background(), readmodel.Source{Events: benchFleet(benchSubscriptions)}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d subscriptions projected by one rebuild in %s", benchSubscriptions, time.Since(begin).Round(time.Millisecond))
	st := activeState("sub-000003")
	e.wf.setState(st)
	br := e.browser()
	br.login("kim")
	for _, page := range []string{
		"/", "/upcoming", "/revenue",
		"/queues/past_due", "/queues/past_due?sort=decline_reason&desc=1&page=40",
		"/queues/payment_method_required", "/queues/needs_attention",
		"/queues/consent_pending", "/queues/consent_pending?sort=plan&page=10",
		"/subscriptions/sub-000003",
	} {
		b.Run(page, func(b *testing.B) {
			for b.Loop() {
				status, _, body := br.get(page)
				if status != http.StatusOK {
					b.Fatalf("%s: %d\n%s", page, status, body)
				}
			}
		})
	}
}
