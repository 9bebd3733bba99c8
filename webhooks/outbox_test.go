package webhooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/webhooks/webhookstest"
)

const subID = "sub-1"

// event is the seq-th event of sub-1.
func event(seq int64, typ billing.EventType, at time.Time) billing.MerchantEvent {
	data, _ := json.Marshal(billing.EventData{Subscription: billing.EventSubscription{Status: billing.StatusActive, Plan: "Premium", Amount: 9900, Currency: "KRW"}})
	return billing.MerchantEvent{ID: billing.EventID(subID, "tag0000", seq), Type: typ, SubscriptionID: subID, Seq: seq, Timestamp: at, Data: data}
}

// outboxEnv runs the outbox workflow in the time-skipping test environment with the real
// delivery activity posting to a real receiver on loopback.
type outboxEnv struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	recv  *webhookstest.Receiver
	start time.Time
}

func newOutboxEnv(t *testing.T, signWith, verifyWith []string) *outboxEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second}) // a busy machine is not a deadlock (workflows/busy_test.go)
	start := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.SetTestTimeout(60 * time.Second)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.EventsWorkflowID(subID), TaskQueue: "billing"})
	recv, err := webhookstest.New(verifyWith...)
	require.NoError(t, err)
	url, closeFn := recv.Serve()
	t.Cleanup(closeFn)
	eps, err := webhooks.ParseEndpoints(url)
	require.NoError(t, err)
	signer, err := webhooks.ParseSecrets(strings.Join(signWith, " "))
	require.NoError(t, err)
	webhooks.RegisterWorkflow(env)
	webhooks.RegisterDelivery(env, &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 500 * time.Millisecond}})
	o := &outboxEnv{t: t, env: env, recv: recv, start: start}
	return o
}

// at runs fn after d of workflow time.
func (o *outboxEnv) at(d time.Duration, fn func()) { o.env.RegisterDelayedCallback(fn, d) }

// send signals a batch of events.
func (o *outboxEnv) send(evs ...billing.MerchantEvent) {
	o.env.SignalWorkflow(billing.SignalEvents, evs)
}

// deliveries queries the outbox's delivery state.
func (o *outboxEnv) deliveries() webhooks.OutboxState {
	o.t.Helper()
	v, err := o.env.QueryWorkflow(billing.QueryDeliveries)
	require.NoError(o.t, err)
	var st webhooks.OutboxState
	require.NoError(o.t, v.Get(&st))
	return st
}

// redeliver sends the redeliver update and returns its answer.
func (o *outboxEnv) redeliver(req webhooks.RedeliverRequest, res *webhooks.RedeliverResult, rejected *error) {
	o.env.UpdateWorkflow(billing.UpdateRedeliver, fmt.Sprintf("r-%d", time.Now().UnixNano()), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { *rejected = err },
		OnComplete: func(v any, err error) {
			if r, ok := v.(webhooks.RedeliverResult); ok {
				*res = r
			}
		},
	}, req)
}

// run starts the outbox and ends the test after d of workflow time by a final event.
func (o *outboxEnv) run(in webhooks.OutboxInput) webhooks.OutboxState {
	o.t.Helper()
	o.env.ExecuteWorkflow(billing.EventsWorkflowType, in)
	require.True(o.t, o.env.IsWorkflowCompleted())
	require.NoError(o.t, o.env.GetWorkflowError())
	var st webhooks.OutboxState
	require.NoError(o.t, o.env.GetWorkflowResult(&st))
	return st
}

func seqs(evs []billing.MerchantEvent) []int64 {
	var out []int64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func TestOutboxDeliversInOrderSignedAndOnce(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	t0 := o.start
	o.at(time.Minute, func() {
		o.send(event(1, billing.EventSubscriptionStarted, t0), event(2, billing.EventSubscriptionActivated, t0))
	})
	// The publisher retried after a lost answer: the same batch again, plus the next.
	o.at(2*time.Minute, func() {
		o.send(event(2, billing.EventSubscriptionActivated, t0), event(3, billing.EventChargeSucceeded, t0))
	})
	o.at(3*time.Minute, func() { o.send(event(4, billing.EventSubscriptionCanceled, t0)) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID})

	got := o.recv.Stats()
	require.Equal(t, []int64{1, 2, 3, 4}, seqs(got.Events))
	require.Zero(t, got.BadSignatures, "refused: %q", got.Refusals)
	require.Zero(t, got.Duplicates, "a re-sent batch is dropped by the outbox, not delivered twice")
	require.Empty(t, got.OutOfOrder)
	require.Len(t, st.Deliveries, 4)
	for _, d := range st.Deliveries {
		require.Equal(t, webhooks.StatusDelivered, d.Status, d.Event.ID)
		require.Len(t, d.Endpoints, 1)
	}
	require.False(t, st.EndedAt.IsZero())
}

func TestOutboxOutageAndRecoveryLosesNothing(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	t0 := o.start
	o.recv.FailNext(7) // down for the first seven requests: several retries of event 1
	o.at(time.Minute, func() {
		for i := int64(1); i <= 5; i++ {
			o.send(event(i, billing.EventChargeSucceeded, t0))
		}
	})
	var during webhooks.OutboxState
	o.at(90*time.Second, func() { during = o.deliveries() })
	o.at(10*time.Hour, func() { o.send(event(6, billing.EventSubscriptionCanceled, t0)) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID})

	got := o.recv.Stats()
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6}, seqs(got.Events), "everything arrives, in order, once the receiver is back")
	require.Empty(t, got.OutOfOrder)
	require.GreaterOrEqual(t, got.Requests, 6+7)
	require.Equal(t, webhooks.StatusPending, during.Deliveries[0].Status, "visible while it is retried")
	for _, d := range st.Deliveries {
		require.Equal(t, webhooks.StatusDelivered, d.Status)
	}
}

func TestOutboxLostAnswerIsDeliveredAgainAndDeduped(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	o.recv.LoseNext(1)
	o.at(time.Minute, func() {
		o.send(event(1, billing.EventChargeSucceeded, o.start), event(2, billing.EventSubscriptionCanceled, o.start))
	})
	o.run(webhooks.OutboxInput{SubscriptionID: subID})
	got := o.recv.Stats()
	require.Equal(t, 1, got.Duplicates, "the event whose answer was lost came again with the same webhook-id")
	require.Equal(t, []int64{1, 2}, seqs(got.Events))
}

func TestOutboxSecretRotation(t *testing.T) {
	oldS, newS := webhooks.NewSecret(), webhooks.NewSecret()
	for _, tc := range []struct {
		name     string
		signWith []string
		verify   []string
		ok       bool
	}{
		{"both sign, receiver still on the old secret", []string{newS, oldS}, []string{oldS}, true},
		{"both sign, receiver moved to the new secret", []string{newS, oldS}, []string{newS}, true},
		{"old removed, receiver on the new secret", []string{newS}, []string{newS}, true},
		{"old removed too early, receiver on the old secret", []string{newS}, []string{oldS}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOutboxEnv(t, tc.signWith, tc.verify)
			o.at(time.Minute, func() { o.send(event(1, billing.EventSubscriptionCanceled, o.start)) })
			st := o.run(webhooks.OutboxInput{SubscriptionID: subID, DeliveryWindow: billing.Duration(10 * time.Minute)})
			got := o.recv.Stats()
			if tc.ok {
				require.Len(t, got.Events, 1)
				require.Zero(t, got.BadSignatures, "refused: %q", got.Refusals)
				require.Equal(t, webhooks.StatusDelivered, st.Deliveries[0].Status)
				return
			}
			require.Empty(t, got.Events)
			require.Positive(t, got.BadSignatures)
			require.Equal(t, webhooks.StatusFailed, st.Deliveries[0].Status)
			require.Contains(t, st.Deliveries[0].LastError, "401")
		})
	}
}

func TestOutboxSlowReceiverIsRetried(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	o.recv.SetDelay(time.Second) // longer than the client's 500 ms timeout
	o.at(time.Minute, func() { o.send(event(1, billing.EventChargeSucceeded, o.start)) })
	o.at(5*time.Minute, func() { o.recv.SetDelay(0) })
	o.at(6*time.Hour, func() { o.send(event(2, billing.EventSubscriptionCanceled, o.start)) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID})
	require.Equal(t, []int64{1, 2}, seqs(o.recv.Stats().Events))
	require.Equal(t, webhooks.StatusDelivered, st.Deliveries[0].Status)
}

func TestOutboxFailedDeliveryMovesOnAndCanBeRedelivered(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	t0 := o.start
	o.recv.SetDown(true)
	o.at(time.Minute, func() {
		o.send(event(1, billing.EventChargeSucceeded, t0), event(2, billing.EventChargeRefunded, t0.Add(time.Hour)))
	})
	var failed webhooks.OutboxState
	var byID, byRange webhooks.RedeliverResult
	var rejectedUnknown, rejectedNone, rejected error
	// Down for longer than the (short) delivery window: both events fail, one after the other.
	o.at(3*time.Hour, func() {
		failed = o.deliveries()
		o.recv.SetDown(false)
		o.redeliver(webhooks.RedeliverRequest{EventIDs: []string{"evt_nope"}}, &webhooks.RedeliverResult{}, &rejectedUnknown)
		o.redeliver(webhooks.RedeliverRequest{From: t0.Add(48 * time.Hour)}, &webhooks.RedeliverResult{}, &rejectedNone)
		o.redeliver(webhooks.RedeliverRequest{EventIDs: []string{event(1, "", t0).ID}}, &byID, &rejected)
	})
	o.at(4*time.Hour, func() {
		o.redeliver(webhooks.RedeliverRequest{From: t0.Add(30 * time.Minute), To: t0.Add(2 * time.Hour)}, &byRange, &rejected)
	})
	o.at(5*time.Hour, func() { o.send(event(3, billing.EventSubscriptionCanceled, t0.Add(5*time.Hour))) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID, DeliveryWindow: billing.Duration(time.Hour)})

	require.Equal(t, webhooks.StatusFailed, failed.Deliveries[0].Status)
	require.Equal(t, webhooks.StatusFailed, failed.Deliveries[1].Status, "a failing event does not block the next for ever")
	require.Contains(t, failed.Deliveries[0].LastError, "503")
	require.ErrorContains(t, rejectedUnknown, "evt_nope")
	require.ErrorContains(t, rejectedNone, "no event")
	require.NoError(t, rejected)
	require.Equal(t, []string{event(1, "", t0).ID}, byID.Queued)
	require.Equal(t, []string{event(2, "", t0).ID}, byRange.Queued)
	require.Equal(t, []int64{1, 2, 3}, seqs(o.recv.Stats().Events))
	for _, d := range st.Deliveries {
		require.Equal(t, webhooks.StatusDelivered, d.Status, d.Event.ID)
	}
	require.Equal(t, 2, st.Deliveries[0].Queued)
}

func TestOutboxRefusesAForeignOrForgedStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   webhooks.OutboxInput
	}{
		{"another subscription's ID", webhooks.OutboxInput{SubscriptionID: "sub-2"}},
		{"a carried state on a start", webhooks.OutboxInput{SubscriptionID: subID, Carried: &webhooks.OutboxState{SubscriptionID: subID}}},
		{"no subscription", webhooks.OutboxInput{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := webhooks.NewSecret()
			o := newOutboxEnv(t, []string{secret}, []string{secret})
			o.env.ExecuteWorkflow(billing.EventsWorkflowType, tc.in)
			require.True(t, o.env.IsWorkflowCompleted())
			require.ErrorContains(t, o.env.GetWorkflowError(), "invalid outbox input")
		})
	}
}

// TestOutboxReusedSubscriptionIDStartsANewStream: a subscription ID reused after its end is a
// new incarnation (a new tag in its event IDs) whose events start again at Seq 1; the outbox,
// still keeping the old stream for redeliveries, must deliver them, not drop them as duplicates.
func TestOutboxReusedSubscriptionIDStartsANewStream(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	t0 := o.start
	second := func(seq int64, typ billing.EventType) billing.MerchantEvent {
		e := event(seq, typ, t0)
		e.ID = billing.EventID(subID, "tag1111", seq)
		return e
	}
	o.at(time.Minute, func() {
		o.send(event(1, billing.EventSubscriptionStarted, t0), event(2, billing.EventSubscriptionCanceled, t0))
	})
	o.at(24*time.Hour, func() { o.send(second(1, billing.EventSubscriptionStarted), second(2, billing.EventChargeSucceeded)) })
	// A late duplicate of the first incarnation's event changes nothing.
	o.at(25*time.Hour, func() { o.send(event(2, billing.EventSubscriptionCanceled, t0)) })
	o.at(26*time.Hour, func() { o.send(second(3, billing.EventSubscriptionCanceled)) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID})
	got := o.recv.Stats()
	var ids []string
	for _, e := range got.Events {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{
		event(1, "", t0).ID, event(2, "", t0).ID, second(1, "").ID, second(2, "").ID, second(3, "").ID,
	}, ids)
	require.Zero(t, got.Duplicates)
	require.Empty(t, got.OutOfOrder, "each stream in order")
	require.Len(t, st.Deliveries, 5)
}

// TestOutboxContinuesAsNewCarryingItsState: after deliveriesPerRun deliveries the outbox
// continues as new with its state (delivery records bounded, nothing queued, the sequence kept).
func TestOutboxContinuesAsNewCarryingItsState(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	o.at(time.Minute, func() {
		var batch []billing.MerchantEvent
		for i := int64(1); i <= 205; i++ {
			batch = append(batch, event(i, billing.EventChargeSucceeded, o.start))
		}
		o.send(batch...)
	})
	o.env.ExecuteWorkflow(billing.EventsWorkflowType, webhooks.OutboxInput{SubscriptionID: subID})
	require.True(t, o.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, o.env.GetWorkflowError(), &can)
	var next webhooks.OutboxInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.Carried)
	require.Equal(t, int64(205), next.Carried.LastSeq)
	require.Empty(t, next.Carried.Queue, "it closes the run only with nothing left to deliver")
	require.LessOrEqual(t, len(next.Carried.Deliveries), webhooks.MaxDeliveries)
	require.Len(t, o.recv.Stats().Events, 205, "every event delivered once before the run closed")
}
