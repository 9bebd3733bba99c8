package workflows_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Issue 20, item 4: "next charge" and "paid through" have one source (billing.State.NextCharge
// and PaidUntil), and the search attribute, the events' data.subscription and the update
// receipts say the same on every ending path. Every case but the plain active ones failed on the
// code before versionMoneyScreens (NextChargeAt kept after a cancel or pause at period end, a
// refunded period's paid_through in the last events, no paid_through in receipts).

// saTracker follows the NextChargeAt search attribute as the workflow upserts it.
type saTracker struct {
	next    time.Time
	written bool
}

func TestMoneyScreensAgreeOnEveryEndingPath(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	feb10 := kst(2025, time.February, 10, 10, 0)
	jan20 := kst(2025, time.January, 20, 12, 0)
	msg := func(at time.Time, name string, payload any) scriptedMsg {
		return scriptedMsg{at: at, name: name, payload: payload}
	}
	cancel := func(when billing.CancelWhen, refund billing.RefundPolicy) billing.CancelRequest {
		return billing.CancelRequest{When: when, Refund: refund, Reason: "그만", Requester: billing.RequesterCustomer}
	}
	oneRetry := func(final billing.FinalAction) *billing.DunningPolicy {
		grace := billing.Duration(3 * 24 * time.Hour)
		return &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(24 * time.Hour)}, Grace: &grace, FinalAction: final}
	}
	tests := []struct {
		name     string
		msgs     []scriptedMsg
		dunning  *billing.DunningPolicy
		decline  bool // cycle 2 (Feb 10) is declined
		checkAt  time.Time
		status   billing.Status
		next     time.Time // zero: no charge will come
		paidTill time.Time
	}{
		{"active", nil, nil, false, kst(2025, time.January, 21, 0, 0), billing.StatusActive, feb10, feb10},
		{"cancel at period end", []scriptedMsg{msg(jan20, billing.MsgCancel, cancel(billing.AtPeriodEnd, billing.RefundNone))}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusActive, time.Time{}, feb10},
		{"cancel at period end, taking effect", []scriptedMsg{msg(jan20, billing.MsgCancel, cancel(billing.AtPeriodEnd, billing.RefundNone))}, nil, false,
			kst(2025, time.February, 11, 0, 0), billing.StatusCanceled, time.Time{}, feb10},
		{"undo of that cancel", []scriptedMsg{
			msg(jan20, billing.MsgCancel, cancel(billing.AtPeriodEnd, billing.RefundNone)),
			msg(kst(2025, time.January, 22, 12, 0), billing.MsgUndoCancel, billing.UndoCancelRequest{Reason: "계속"}),
		}, nil, false, kst(2025, time.January, 23, 0, 0), billing.StatusActive, feb10, feb10},
		{"cancel now, no refund", []scriptedMsg{msg(jan20, billing.MsgCancel, cancel(billing.Now, billing.RefundNone))}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusCanceled, time.Time{}, jan20},
		{"cancel now, prorata refund (중도해지)", []scriptedMsg{msg(jan20, billing.MsgCancel, cancel(billing.Now, billing.RefundProrata))}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusCanceled, time.Time{}, jan20},
		{"cancel now, full refund", []scriptedMsg{msg(jan20, billing.MsgCancel, cancel(billing.Now, billing.RefundFull))}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusCanceled, time.Time{}, start},
		{"pause now", []scriptedMsg{msg(jan20, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusPaused, time.Time{}, feb10},
		{"pause at period end", []scriptedMsg{msg(jan20, billing.MsgPause, billing.PauseRequest{When: billing.AtPeriodEnd, Reason: "여행"})}, nil, false,
			kst(2025, time.January, 21, 0, 0), billing.StatusActive, time.Time{}, feb10},
		{"dunning, a retry left", nil, oneRetry(billing.FinalActionCancel), true,
			kst(2025, time.February, 10, 12, 0), billing.StatusPastDue, kst(2025, time.February, 11, 10, 0), feb10},
		{"dunning, no retry left", nil, oneRetry(billing.FinalActionCancel), true,
			kst(2025, time.February, 12, 0, 0), billing.StatusPastDue, time.Time{}, feb10},
		{"dunning's final action: cancel", nil, oneRetry(billing.FinalActionCancel), true,
			kst(2025, time.February, 14, 0, 0), billing.StatusCanceled, time.Time{}, feb10},
		{"dunning's final action: pause", nil, oneRetry(billing.FinalActionPause), true,
			kst(2025, time.February, 14, 0, 0), billing.StatusPaused, time.Time{}, feb10},
		{"consent refused", []scriptedMsg{
			msg(jan20, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 40000, Reason: "가격 인상"}),
			msg(kst(2025, time.January, 21, 12, 0), billing.MsgConsent,
				consentRequest(false, 31000, 40000, calendar.DateOf(feb10), kst(2025, time.January, 21, 11, 0))),
		}, nil, false, kst(2025, time.January, 22, 0, 0), billing.StatusActive, time.Time{}, feb10},
		{"no consent: ended", []scriptedMsg{
			msg(jan20, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 40000, Reason: "가격 인상"}),
		}, nil, false, kst(2025, time.February, 11, 0, 0), billing.StatusCanceled, time.Time{}, feb10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			sink := enableEvents(t, b, 0)
			if tc.decline {
				b.decide = declineCycle(2, 99, "잔액부족")
			}
			var sa saTracker
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				upd := args.Get(0).(temporal.SearchAttributes)
				if v, ok := upd.GetTime(billing.SANextChargeAt); ok {
					sa.written, sa.next = true, v
				}
				if unsetNames(upd)[billing.SANextChargeAt.GetName()] {
					sa.written, sa.next = true, time.Time{}
				}
			}).Return(nil)
			receipts := make([]updateResult, len(tc.msgs))
			for i, m := range tc.msgs {
				env.RegisterDelayedCallback(func() { update(env, m.name, m.payload, &receipts[i]) }, after(start, m.at))
			}
			var st billing.State
			var last billing.EventData
			var saNow saTracker
			check := func() {
				st = query(t, env)
				saNow = sa
				sink.mu.Lock()
				defer sink.mu.Unlock()
				require.NotEmpty(t, sink.got)
				require.NoError(t, json.Unmarshal(sink.got[len(sink.got)-1].Data, &last))
			}
			env.RegisterDelayedCallback(func() {
				check()
				env.CancelWorkflow()
			}, after(start, tc.checkAt))
			in := monthly31k()
			in.Dunning = tc.dunning
			env.ExecuteWorkflow(billing.WorkflowType, in)
			require.NoError(t, env.GetWorkflowError())
			if st.Status == "" {
				// The subscription ended before the check: its final state, attributes, events.
				st = result(t, env)
				saNow = sa
				require.NotEmpty(t, sink.got)
				require.NoError(t, json.Unmarshal(sink.got[len(sink.got)-1].Data, &last))
			}

			require.Equal(t, tc.status, st.Status, st.StatusReason)
			require.Equal(t, tc.next.UTC(), st.NextCharge().UTC(), "state: next charge")
			require.Equal(t, tc.paidTill.UTC(), st.PaidUntil().UTC(), "state: paid through")
			require.True(t, saNow.written)
			require.Equal(t, tc.next.UTC(), saNow.next.UTC(), "NextChargeAt search attribute (zero: unset)")
			if tc.name != "pause at period end" {
				// (No event announces a pause at period end; subscription.paused follows at the end.)
				require.Equal(t, tc.next.UTC(), last.Subscription.NextChargeAt.UTC(), "last event's next_charge_at")
			}
			require.Equal(t, tc.paidTill.UTC(), last.Subscription.PaidThrough.UTC(), "last event's paid_through")
			for i, r := range receipts {
				require.NoError(t, r.err, "update %d", i)
				require.NoError(t, r.rejected, "update %d", i)
			}
			if n := len(receipts); n > 0 && tc.checkAt.Before(kst(2025, time.January, 24, 0, 0)) {
				r := receipts[n-1].receipt
				require.Equal(t, tc.next.UTC(), r.NextChargeAt.UTC(), "receipt's next_charge_at")
				require.Equal(t, tc.paidTill.UTC(), r.PaidThrough.UTC(), "receipt's paid_through")
			}
		})
	}
}

// unsetNames are the search attributes an upsert unsets. The SDK's SearchAttributes hides an
// unset value (GetUntypedValues drops it), so the test reads the update's own map.
func unsetNames(sa temporal.SearchAttributes) map[string]bool {
	out := map[string]bool{}
	m := reflect.ValueOf(sa).FieldByName("untypedValue")
	for _, k := range m.MapKeys() {
		if v := m.MapIndex(k); v.IsNil() {
			out[k.Elem().FieldByName("name").String()] = true
		}
	}
	return out
}

// scriptedMsg is an update sent at an instant.
type scriptedMsg struct {
	at      time.Time
	name    string
	payload any
}
