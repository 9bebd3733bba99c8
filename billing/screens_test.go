package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// NextCharge and PaidUntil on every ending path (issue 20, item 4), as the screens, the
// search attributes, the events and the receipts take them.
func TestNextChargeAndPaidUntil(t *testing.T) {
	kst := func(m time.Month, d, h int) time.Time { return time.Date(2025, m, d, h, 0, 0, 0, calendar.Seoul) }
	start, end, jan20 := kst(1, 10, 10), kst(2, 10, 10), kst(1, 20, 12)
	base := func() billing.State {
		return billing.State{
			Status: billing.StatusActive, Cycle: 1, PaidThrough: end, NextChargeAt: end,
			CurrentPeriod: &billing.Period{Cycle: 1, Start: start, End: end},
			Charges:       []billing.ChargeRecord{{Cycle: 1, ImpUID: "imp_1", Amount: 31000, Outcome: billing.OutcomePaid, At: start}},
		}
	}
	canceled := func(s *billing.State, refund int64) {
		s.Status, s.EndedAt, s.NextChargeAt = billing.StatusCanceled, jan20, time.Time{}
		if refund > 0 {
			s.Refunds = []billing.RefundRecord{{Cycle: 1, ImpUID: "imp_1", Amount: refund, At: jan20}}
		}
	}
	tests := []struct {
		name       string
		change     func(s *billing.State)
		next, paid time.Time
	}{
		{"active", func(*billing.State) {}, end, end},
		{"cancel at period end pending", func(s *billing.State) { s.PendingCancel = &billing.CancelRequest{When: billing.AtPeriodEnd} }, time.Time{}, end},
		{"undo of that cancel", func(s *billing.State) { s.PendingCancel = nil }, end, end},
		{"canceled at period end", func(s *billing.State) { canceled(s, 0); s.EndedAt = end }, time.Time{}, end},
		{"canceled now, no refund", func(s *billing.State) { canceled(s, 0) }, time.Time{}, jan20},
		{"canceled now, prorata refund", func(s *billing.State) { canceled(s, 21000) }, time.Time{}, jan20},
		{"canceled now, full refund", func(s *billing.State) { canceled(s, 31000) }, time.Time{}, start},
		{"pause at period end pending", func(s *billing.State) { s.Pause = &billing.PauseState{Pending: true} }, time.Time{}, end},
		{"paused now", func(s *billing.State) {
			s.Status, s.Pause, s.NextChargeAt = billing.StatusPaused, &billing.PauseState{PausedAt: jan20}, time.Time{}
		}, time.Time{}, end},
		{"past due, a retry planned", func(s *billing.State) {
			s.Status = billing.StatusPastDue
			s.DunningState = &billing.DunningState{Cycle: 2, NextRetryAt: kst(2, 11, 10), GraceEndsAt: kst(2, 13, 10)}
		}, kst(2, 11, 10), end},
		{"past due, no retry left", func(s *billing.State) {
			s.Status = billing.StatusPastDue
			s.DunningState = &billing.DunningState{Cycle: 2, GraceEndsAt: kst(2, 13, 10)}
		}, time.Time{}, end},
		{"waiting for a new billing key", func(s *billing.State) {
			s.Status = billing.StatusPaymentMethodRequired
			s.DunningState = &billing.DunningState{Cycle: 2, Hard: true}
		}, time.Time{}, end},
		{"dunning's final action: cancel", func(s *billing.State) {
			s.Status, s.EndedAt, s.NextChargeAt = billing.StatusCanceled, kst(2, 13, 10), time.Time{}
			s.CurrentPeriod = &billing.Period{Cycle: 2, Start: end, End: kst(3, 10, 10)}
		}, time.Time{}, end},
		{"dunning's final action: pause", func(s *billing.State) {
			s.Status, s.Pause, s.NextChargeAt = billing.StatusPaused, &billing.PauseState{ByDunning: true}, time.Time{}
		}, time.Time{}, end},
		{"consent refused", func(s *billing.State) {
			s.Consent = &billing.ConsentState{Status: billing.ConsentRefused, ChangeAt: end}
		}, time.Time{}, end},
		{"consent required, not refused", func(s *billing.State) {
			s.Consent = &billing.ConsentState{Status: billing.ConsentRequired, ChangeAt: end}
		}, end, end},
		{"no consent: ended", func(s *billing.State) { canceled(s, 0); s.EndedAt = end }, time.Time{}, end},
		{"never paid", func(s *billing.State) {
			*s = billing.State{Status: billing.StatusAwaitingRegistration}
		}, time.Time{}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.change(&s)
			require.Equal(t, tc.next, s.NextCharge(), "next charge")
			require.Equal(t, tc.paid, s.PaidUntil(), "paid through")
		})
	}
}

// A cycle the pending credit pays wholly (or to under 10 KRW) is charged nothing: the next
// charge shown is the first one that costs money.
func TestNextChargeSkipsCyclesPaidByCredit(t *testing.T) {
	rec, err := calendar.NewRecurrence(calendar.Interval{Unit: calendar.Month, Count: 1}, calendar.Date{Year: 2025, Month: time.January, Day: 10}, 10, calendar.TimeOfDay{Hour: 10})
	require.NoError(t, err)
	for _, tc := range []struct {
		credit int64
		index  int // of the charge shown
	}{
		{0, 1}, {500, 1}, {990, 1}, {991, 2}, {1000, 2}, {2500, 3}, {2990, 3}, {2991, 4},
	} {
		s := billing.State{Status: billing.StatusActive, Plan: billing.Plan{Amount: 1000, Interval: rec.Interval}, Cycle: 1,
			Recurrence: &rec, NextIndex: 1, NextChargeAt: rec.ChargeAt(1), Credit: tc.credit}
		require.Equal(t, rec.ChargeAt(tc.index), s.NextCharge(), "credit %d", tc.credit)
	}
}
