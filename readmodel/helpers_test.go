package readmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/readmodel"
)

// openSQLite opens a fresh SQLite projection in the test's temp dir.
func openSQLite(t testing.TB) *readmodel.Store {
	t.Helper()
	s, err := readmodel.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "readmodel.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// sub writes one subscription's event stream as the workflow would: numbered from 1, each event
// carrying the summary as the step left it.
type sub struct {
	id, tag string
	// answerOnly makes the charges PortOne V2 approvals without a transactionId (imp_uid),
	// named by the cycle's paymentId, as a V2 subscription's charge.succeeded events are.
	answerOnly bool
	seq        int64
	at         time.Time
	sum        billing.EventSubscription
	out        []billing.MerchantEvent
}

func newSub(id string, at time.Time, plan string, amount int64, interval string) *sub {
	return &sub{id: id, tag: "ab12", at: at, sum: billing.EventSubscription{
		Status: billing.StatusAwaitingRegistration, Plan: plan, Amount: amount, Currency: "KRW", Interval: interval, CustomerUID: "****1234",
	}}
}

// emit makes the next event at the sub's clock, after change mutated the summary.
func (s *sub) emit(typ billing.EventType, data billing.EventData, change func(*billing.EventSubscription)) billing.MerchantEvent {
	if change != nil {
		change(&s.sum)
	}
	s.seq++
	data.Subscription = s.sum
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	e := billing.MerchantEvent{ID: billing.EventID(s.id, s.tag, s.seq), Type: typ, SubscriptionID: s.id, Seq: s.seq, Timestamp: s.at, Data: raw}
	s.out = append(s.out, e)
	return e
}

// advance moves the sub's clock.
func (s *sub) advance(d time.Duration) *sub { s.at = s.at.Add(d); return s }

// start makes subscription.started, activated and the first cycle's charge.succeeded.
func (s *sub) start(next time.Time) {
	s.emit(billing.EventSubscriptionStarted, billing.EventData{}, nil)
	s.emit(billing.EventSubscriptionActivated, billing.EventData{}, func(x *billing.EventSubscription) { x.Status = billing.StatusActive })
	s.paid(next)
}

// paid makes a successful charge of the next cycle, paid through next, next charge at next.
func (s *sub) paid(next time.Time) {
	cycle := s.sum.Cycle + 1
	c := &billing.EventCharge{
		Cycle: cycle, Attempt: 1, MerchantUID: fmt.Sprintf("%s_%d_1", s.id, cycle), ImpUID: fmt.Sprintf("imp_%s_%d", s.id, cycle),
		Amount: s.sum.Amount, Outcome: billing.OutcomePaid, At: s.at,
	}
	if s.answerOnly {
		c.ImpUID, c.PaymentID = "", fmt.Sprintf("%s-%s-c%d", s.id, s.tag, cycle)
	}
	s.emit(billing.EventChargeSucceeded, billing.EventData{Charge: c}, func(x *billing.EventSubscription) {
		x.Status, x.Cycle, x.PaidThrough, x.NextChargeAt = billing.StatusActive, cycle, next, next
	})
}

// declined makes a soft decline of the next cycle and the dunning it starts.
func (s *sub) declined(retry time.Time, reason string) {
	cycle := s.sum.Cycle + 1
	s.emit(billing.EventChargeDeclined, billing.EventData{Charge: &billing.EventCharge{
		Cycle: cycle, Attempt: 1, MerchantUID: fmt.Sprintf("%s_%d_1", s.id, cycle), Amount: s.sum.Amount, Outcome: billing.OutcomeDeclined,
		Reason: reason, DeclineClass: "insufficient_funds", At: s.at,
	}}, func(x *billing.EventSubscription) {
		x.Status, x.Cycle, x.NextChargeAt = billing.StatusPastDue, cycle, retry
	})
	d := &billing.EventDunning{Cycle: cycle, Attempts: 1, NextRetryAt: retry, GraceEndsAt: retry.Add(72 * time.Hour)}
	s.emit(billing.EventDunningStarted, billing.EventData{Dunning: d}, nil)
	s.emit(billing.EventDunningRetryScheduled, billing.EventData{Dunning: d}, nil)
}

// recovered makes the retry's success and dunning.recovered.
func (s *sub) recovered(next time.Time) {
	cycle := s.sum.Cycle
	s.emit(billing.EventChargeSucceeded, billing.EventData{Charge: &billing.EventCharge{
		Cycle: cycle, Attempt: 2, MerchantUID: fmt.Sprintf("%s_%d_2", s.id, cycle), ImpUID: fmt.Sprintf("imp_%s_%d_2", s.id, cycle),
		Amount: s.sum.Amount, Outcome: billing.OutcomePaid, At: s.at,
	}}, func(x *billing.EventSubscription) {
		x.Status, x.PaidThrough, x.NextChargeAt = billing.StatusActive, next, next
	})
	s.emit(billing.EventDunningRecovered, billing.EventData{Dunning: &billing.EventDunning{Cycle: cycle, Attempts: 2}}, nil)
}

// refunded makes a refund of the cycle's payment.
func (s *sub) refunded(cycle int, amount int64, impUID string) {
	s.emit(billing.EventChargeRefunded, billing.EventData{Refund: &billing.EventRefund{
		Cycle: cycle, MerchantUID: fmt.Sprintf("%s_%d_1", s.id, cycle), ImpUID: impUID, Amount: amount, Reason: "test", Requester: billing.RequesterCustomer, At: s.at,
	}}, nil)
}

func (s *sub) canceled(reason string) {
	s.emit(billing.EventSubscriptionCanceled, billing.EventData{Detail: reason}, func(x *billing.EventSubscription) {
		x.Status, x.StatusReason, x.NextChargeAt = billing.StatusCanceled, reason, time.Time{}
	})
}

func applyAll(t testing.TB, s *readmodel.Store, evs []billing.MerchantEvent) {
	t.Helper()
	for _, e := range evs {
		_, err := s.Apply(context.Background(), e)
		require.NoError(t, err, "%s", e.ID)
	}
}

// dump reads every projection table in key order, without the columns that record when this
// store received and applied an event (a rebuild or a replay receives them at other times).
func dump(t testing.TB, dsnStore *readmodel.Store) map[string][]string {
	t.Helper()
	out, err := readmodel.DumpForTest(context.Background(), dsnStore)
	require.NoError(t, err)
	return out
}

// diffDumps names the first differing rows of two dumps.
func diffDumps(a, b map[string][]string) string {
	var msg []string
	for table, rows := range a {
		other := b[table]
		if slices.Equal(rows, other) {
			continue
		}
		for i := range max(len(rows), len(other)) {
			var x, y string
			if i < len(rows) {
				x = rows[i]
			}
			if i < len(other) {
				y = other[i]
			}
			if x != y {
				msg = append(msg, fmt.Sprintf("%s row %d:\n  %s\n  %s", table, i, x, y))
				break
			}
		}
	}
	return strings.Join(msg, "\n")
}

func calendarUnit(s string) calendar.Unit { return calendar.Unit(s) }
