package readmodel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/readmodel"
)

// benchSubscriptions is the store size issue 23 measures: 100,000 subscriptions.
const benchSubscriptions = 100_000

// fleet makes n subscriptions' events: most active monthly plans with charges spread over a
// month, every 20th past due, every 50th waiting for a new billing key, every 30th canceled,
// every 100th with a consent pending; and the next day's renewals (a bill day) separately.
func fleet(n int) (history, billDay []billing.MerchantEvent) {
	for i := range n {
		at := t0.Add(time.Duration(i%30) * day).Add(time.Duration(i%1440) * time.Minute)
		x := newSub(fmt.Sprintf("sub-%06d", i), at, fmt.Sprintf("Plan %d", i%7), int64(5000+(i%7)*1000), []string{"1 month", "1 year", "1 week", "3 months"}[i%4])
		next := at.Add(30 * day)
		x.start(next)
		switch {
		case i%20 == 0:
			x.advance(30*day).declined(next.Add(2*day), "잔액부족")
		case i%50 == 1:
			x.advance(30*day).declined(time.Time{}, "카드 정지")
			x.emit(billing.EventDunningRetryScheduled, billing.EventData{Dunning: &billing.EventDunning{Cycle: 2, Attempts: 1, Hard: true}},
				func(v *billing.EventSubscription) { v.Status = billing.StatusPaymentMethodRequired })
		case i%30 == 2:
			x.advance(time.Hour).canceled("customer")
		case i%100 == 3:
			x.emit(billing.EventConsentRequired, billing.EventData{Consent: &billing.ConsentState{Status: billing.ConsentRequired, ChangeAt: next, AmountAfter: 20000, Why: "plan_change"}}, nil)
		}
		history = append(history, x.out...)
		if i < 10_000 && x.sum.Status == billing.StatusActive {
			x.advance(30 * day).paid(next.Add(30 * day))
			billDay = append(billDay, x.out[len(x.out)-1])
		}
	}
	return history, billDay
}

// BenchmarkReadModel measures issue 23's figures on SQLite with 100,000 subscriptions: the
// overview, a page of every queue, a subscription, the upcoming week, and projecting a bill
// day's renewals (each event its own transaction, as the receiver applies them).
func BenchmarkReadModel(b *testing.B) {
	ctx := context.Background()
	s := openSQLite(b)
	history, billDay := fleet(benchSubscriptions)
	start := time.Now()
	if err := s.Rebuild(ctx, readmodel.Source{Events: seq(history)}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d subscriptions (%d events) projected by one rebuild in %s", benchSubscriptions, len(history), time.Since(start).Round(time.Millisecond))
	now := t0.Add(45 * day)
	b.Run("overview", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Overview(ctx, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, q := range readmodel.Queues {
		for _, p := range []readmodel.Page{{}, {Offset: 1000, Limit: 50, Sort: "next_retry_at", Desc: true}} {
			b.Run(fmt.Sprintf("queue %s offset %d sort %q", q, p.Offset, p.Sort), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.Queue(ctx, q, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("subscription", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Subscription(ctx, fmt.Sprintf("sub-%06d", (i*7919)%benchSubscriptions)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("events of a subscription", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.Events(ctx, "sub-000020", readmodel.Page{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("upcoming 7 days", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Upcoming(ctx, now, 7); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gauges", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Gauges(ctx, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("revenue 12 months", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Revenue(ctx, "2026-01", "2026-12"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The bill day once, after the queries (projecting it twice would apply nothing): the parent
	// of sub-benchmarks runs once.
	start = time.Now()
	for _, e := range billDay {
		if _, err := s.Apply(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	took := time.Since(start)
	b.Logf("bill day: %d renewals projected one transaction each in %s (%.0f events/s)", len(billDay), took.Round(time.Millisecond), float64(len(billDay))/took.Seconds())
}

// BenchmarkApply projects 2,000 subscriptions' events (about 6,500), each in its own
// transaction as the receiver applies them; ns/op is per event.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	history, _ := fleet(2000)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		b.StopTimer()
		s := openSQLite(b)
		b.StartTimer()
		for _, e := range history {
			if _, err := s.Apply(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		n += len(history)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
