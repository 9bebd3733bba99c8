package workflows_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/webhooks"
)

// Issue 13, the workflow side of the merchant event stream: which events a subscription makes,
// numbered without gaps, and that handing them to the outbox never holds up billing.

// outboxSink stands in for the outbox workflow behind the PublishEvents local activity (the
// real hand-over, a signal-with-start, is tested on a real server in e2e).
type outboxSink struct {
	mu      sync.Mutex
	got     []billing.MerchantEvent
	calls   int
	failing func() bool
}

func (o *outboxSink) publish(_ context.Context, in webhooks.PublishInput) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.failing != nil && o.failing() {
		return context.DeadlineExceeded
	}
	for _, e := range in.Events {
		if e.Seq <= o.lastSeq() {
			continue // the outbox drops what it already has
		}
		o.got = append(o.got, e)
	}
	return nil
}

func (o *outboxSink) lastSeq() int64 {
	if len(o.got) == 0 {
		return 0
	}
	return o.got[len(o.got)-1].Seq
}

func (o *outboxSink) types() []billing.EventType {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []billing.EventType
	for _, e := range o.got {
		out = append(out, e.Type)
	}
	return out
}

// enableEvents turns the event stream on for env (after newBank) and returns the sink.
func enableEvents(t *testing.T, b *bank, notice time.Duration) *outboxSink {
	t.Helper()
	b.env.OnActivity(a.Settings, mock.Anything).Return(activities.Settings{
		DemoMode: true, ScheduleSettleDelay: time.Minute, ActivityTimeout: time.Minute, Events: true, RenewalNotice: notice,
	}, nil)
	b.outbox = &outboxSink{}
	return b.outbox
}

// requireWellNumbered checks the stream a receiver sees: Seq 1..n without gaps or repeats, and
// stable IDs of this subscription.
func requireWellNumbered(t *testing.T, st billing.State, got []billing.MerchantEvent) {
	t.Helper()
	for i, e := range got {
		require.Equal(t, int64(i+1), e.Seq, "event %d (%s) is out of sequence", i, e.Type)
		require.Equal(t, billing.EventID("sub-1", st.Tag, e.Seq), e.ID)
		require.Equal(t, "sub-1", e.SubscriptionID)
		var d billing.EventData
		require.NoError(t, json.Unmarshal(e.Data, &d), "event %s data", e.ID)
		require.NotEmpty(t, d.Subscription.Status)
		require.NotContains(t, string(e.Data), "cust-1", "the customer_uid is masked")
		if i > 0 {
			require.False(t, e.Timestamp.Before(got[i-1].Timestamp), "timestamps never go back")
		}
	}
	require.Equal(t, int64(len(got)), st.EventSeq)
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(want, got []billing.EventType) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestEventsOfASubscriptionsLife(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	sink := enableEvents(t, b, 72*time.Hour)
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Cycle == 2 && in.Attempt == 1 {
			return billing.OutcomeDeclined, "잔액 부족"
		}
		return billing.OutcomePaid, ""
	}
	var noticeSeen []billing.EventType
	// Before April's charge (Apr 10 10:00) the renewal notice has gone out, three days ahead.
	env.RegisterDelayedCallback(func() { noticeSeen = sink.types() }, kst(2025, time.April, 7, 11, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "이사"})
	}, kst(2025, time.April, 20, 9, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgUndoCancel, billing.UndoCancelRequest{Reason: "마음이 바뀜"})
	}, kst(2025, time.April, 21, 9, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "고객 요청", Requester: billing.RequesterCustomer})
	}, kst(2025, time.April, 25, 9, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)

	got := sink.got
	requireWellNumbered(t, st, got)
	want := []billing.EventType{
		billing.EventSubscriptionStarted, billing.EventRegistrationCompleted, billing.EventSubscriptionActivated,
		billing.EventChargeSucceeded, billing.EventRenewalUpcoming,
		billing.EventChargeDeclined, billing.EventDunningStarted, billing.EventDunningRetryScheduled,
		billing.EventChargeSucceeded, billing.EventDunningRecovered,
		billing.EventCancelScheduled, billing.EventCancelUndone,
		billing.EventChargeRefunded, billing.EventSubscriptionCanceled,
	}
	require.Equal(t, want, sink.types(), "the whole stream, in order")
	require.Contains(t, noticeSeen, billing.EventRenewalUpcoming)
	require.NotContains(t, noticeSeen, billing.EventChargeDeclined, "the notice comes before the charge")

	var notice billing.EventData
	require.NoError(t, json.Unmarshal(got[4].Data, &notice))
	require.Equal(t, kst(2025, time.April, 10, 10, 0).UTC(), notice.Renewal.ChargeAt.UTC())
	require.Equal(t, int64(9900), notice.Renewal.Amount)
	require.Equal(t, kst(2025, time.April, 7, 10, 0).UTC(), got[4].Timestamp.UTC(), "72 hours before the charge")

	var declined, refunded, canceled billing.EventData
	require.NoError(t, json.Unmarshal(got[5].Data, &declined))
	require.Equal(t, billing.OutcomeDeclined, declined.Charge.Outcome)
	require.Equal(t, "잔액 부족", declined.Charge.Reason)
	require.NotEmpty(t, declined.Charge.DeclineClass)
	require.Equal(t, billing.StatusPastDue, declined.Subscription.Status)
	require.NoError(t, json.Unmarshal(got[12].Data, &refunded))
	require.Equal(t, st.Refunds[0].Amount, refunded.Refund.Amount)
	require.Equal(t, billing.RequesterCustomer, refunded.Refund.Requester)
	require.NoError(t, json.Unmarshal(got[13].Data, &canceled))
	require.Equal(t, billing.StatusCanceled, canceled.Subscription.Status)
	require.True(t, got[13].Final())
	b.checkInvariants(st)
}

func TestEventsHandOverNeverHoldsUpBilling(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	sink := enableEvents(t, b, 0)
	// The outbox is unreachable for the first 40 days: every hand-over fails.
	backAt := start.Add(40 * 24 * time.Hour)
	sink.failing = func() bool { return env.Now().Before(backAt) }
	var during billing.State
	env.RegisterDelayedCallback(func() { during = query(t, env) }, 35*24*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 70*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	// March and April were charged on time although no event could be handed over.
	require.Len(t, during.Charges, 2)
	require.Equal(t, kst(2025, time.April, 10, 10, 0).UTC(), during.Charges[1].At.UTC())
	require.NotEmpty(t, during.PendingEvents, "the events wait in the state")
	// Once the outbox was back, everything reached it, in order, exactly once.
	requireWellNumbered(t, st, sink.got)
	require.Empty(t, st.PendingEvents)
	require.True(t, isSubsequence([]billing.EventType{
		billing.EventSubscriptionStarted, billing.EventChargeSucceeded, billing.EventChargeSucceeded, billing.EventChargeSucceeded, billing.EventSubscriptionCanceled,
	}, sink.types()), "got %v", sink.types())
	// Hand-overs backed off to an hour apart, not a spin: about one an hour over the 40 days,
	// each of up to three local-activity attempts.
	require.Less(t, sink.calls, 3*(40*24+20))
	b.checkInvariants(st)
}

func TestPendingEventsAreCarriedAcrossContinueAsNew(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	sink := enableEvents(t, b, 0)
	sink.failing = func() bool { return true }
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Week, Count: 1}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	c := continued(t, env).Continued
	require.NotEmpty(t, c.PendingEvents)
	require.Equal(t, c.EventSeq, c.PendingEvents[len(c.PendingEvents)-1].Seq)
	require.Equal(t, int64(1), c.PendingEvents[0].Seq, "nothing was handed over, nothing is lost")
	// The carried events pass the carried-state check the next run makes.
	require.NoError(t, c.ValidateCarried())
	forged := *c
	forged.PendingEvents = slices.Clone(c.PendingEvents)
	forged.PendingEvents[0].ID = "evt_other"
	require.Error(t, forged.ValidateCarried(), "an event that is not this subscription's is refused")
	b.checkInvariants(*c)
}

func TestNoEventsWithoutWebhookEndpoints(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 40*24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Zero(t, st.EventSeq)
	require.Empty(t, st.PendingEvents)
	b.checkInvariants(st)
}

// TestMoneyEventsCarryTheirTaxFreePart: a receiver that files the VAT return (the read model's
// revenue by month) needs the tax-exempt part of every charge and refund; the events carried
// only the amounts, so taxable and tax-free could not be told apart outside the workflow.
func TestMoneyEventsCarryTheirTaxFreePart(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	sink := enableEvents(t, b, 0)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "고객 요청", Requester: billing.RequesterCustomer})
	}, kst(2025, time.March, 20, 9, 0).Sub(start))
	in := monthly()
	in.Plan.TaxFree = 4950
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Len(t, st.Refunds, 1)
	var charged, refunded int
	for _, e := range sink.got {
		var d billing.EventData
		require.NoError(t, json.Unmarshal(e.Data, &d))
		switch e.Type {
		case billing.EventChargeSucceeded:
			charged++
			require.Equal(t, int64(4950), d.Charge.TaxFree, "charge.succeeded names its tax-free part")
		case billing.EventChargeRefunded:
			refunded++
			require.Positive(t, st.Refunds[0].TaxFree)
			require.Equal(t, st.Refunds[0].TaxFree, d.Refund.TaxFree, "charge.refunded names its tax-free part")
		}
	}
	require.Equal(t, 1, charged)
	require.Equal(t, 1, refunded)
}
