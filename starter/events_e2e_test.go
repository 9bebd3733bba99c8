package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/webhooks/webhookstest"
)

// newEventsE2E is newE2E with the event stream on: subscriptions make events (as a worker with
// webhook endpoints does) and a delivery worker signs them to the reference receiver, which
// verifies every signature with the Standard Webhooks library.
func newEventsE2E(t *testing.T) (*e2e, *webhookstest.Receiver) {
	t.Helper()
	return newEventsE2EWindow(t, 0)
}

// newEventsE2EWindow is newEventsE2E with the outbox's delivery window (zero: the default).
func newEventsE2EWindow(t *testing.T, window time.Duration) (*e2e, *webhookstest.Receiver) {
	t.Helper()
	testgate.Slow(t, "starts a Temporal server")
	secret := webhooks.NewSecret()
	recv, err := webhookstest.New(secret)
	require.NoError(t, err)
	url, closeRecv := recv.Serve()
	t.Cleanup(closeRecv) // after the stack's own cleanup: the delivery worker stops first
	eps, err := webhooks.ParseEndpoints(url)
	require.NoError(t, err)
	signer, err := webhooks.ParseSecrets(secret)
	require.NoError(t, err)
	st := stacktest.New(t, stacktest.Options{
		SettleSearchAttributes: true,
		Activities:             activities.Config{Events: true, RenewalNotice: 5 * time.Second},
		Deliverer:              &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 5 * time.Second}},
		DeliveryWindow:         window,
	})
	t.Setenv("PAYCYCLE_CODEC_KEYS", st.CodecKey)
	return &e2e{t: t, st: st, addr: st.Server.GetFrontendHostPort(), ns: st.Namespace, c: st.Client, emu: st.Emulator}, recv
}

// outbox reads a subscription's outbox through 'starter events -o json'.
func (h *e2e) outbox(id string, args ...string) outboxAnswer {
	h.t.Helper()
	r := h.ok(append([]string{"events", "-id", id, "-o", "json", "-n", "0"}, args...)...)
	var ans outboxAnswer
	require.NoError(h.t, json.Unmarshal([]byte(r.stdout), &ans), r.stdout)
	return ans
}

// settled reports whether every delivery of the outbox is delivered and the receiver holds
// exactly its events.
func settled(ob outboxAnswer, got webhookstest.Stats) (bool, string) {
	if ob.Counts[webhooks.StatusDelivered] != len(ob.Deliveries) || len(ob.Queue) > 0 {
		return false, fmt.Sprintf("counts %v, queue %v", ob.Counts, ob.Queue)
	}
	return len(got.Events) == len(ob.Deliveries), fmt.Sprintf("receiver has %d events, outbox %d", len(got.Events), len(ob.Deliveries))
}

// TestEventsEndToEnd: a subscription's events reach the receiver; 'starter events' lists their
// delivery; 'starter events redeliver' sends one again by ID and a day's worth by range, and
// the receiver sees each as a duplicate of the same event ID; refusals and unknown
// subscriptions exit as documented. The events delivered are checked against the README's
// examples of their types.
func TestEventsEndToEnd(t *testing.T) {
	h, recv := newEventsE2E(t)
	const id, customer = "ev-e2e-1", "cust-ev-e2e-1"
	_, err := h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customer, CustomerTel: "010-1234-5678"})
	require.NoError(t, err)
	// A monthly plan: after the first charge nothing happens by itself while the test runs, so
	// every event below is one the test caused.
	h.ok("start", "-id", id, "-customer", customer, "-plan-name", "Events Demo", "-amount", "9,900", "-interval", "1 month", "-buyer-tel", "010-1234-5678")

	var ob outboxAnswer
	waitLong(t, "the first charge's events delivered", func() (bool, string) {
		if !slices.ContainsFunc(recv.Stats().Events, func(e billing.MerchantEvent) bool { return e.Type == billing.EventChargeSucceeded }) {
			return false, fmt.Sprintf("receiver has %d events", len(recv.Stats().Events))
		}
		r := h.cli("events", "-id", id, "-o", "json", "-n", "0")
		if r.code != exitOK {
			return false, r.stderr
		}
		ob = outboxAnswer{} // fresh: Unmarshal would merge into the previous poll's map and keep its queue
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &ob))
		return settled(ob, recv.Stats())
	})
	got := recv.Stats()
	require.Zero(t, got.BadSignatures, "refused: %q", got.Refusals)
	require.Empty(t, got.OutOfOrder)
	require.Zero(t, got.Duplicates, "nothing delivered twice before the test asks")
	require.Equal(t, int64(len(got.Events)), ob.LastSeq)
	var charge billing.MerchantEvent
	for i, d := range ob.Deliveries {
		require.Equal(t, got.Events[i].ID, d.Event.ID, "the outbox lists what the receiver got, in order")
		require.Equal(t, int64(i+1), d.Event.Seq)
		require.Equal(t, 1, d.Queued)
		if d.Event.Type == billing.EventChargeSucceeded {
			charge = d.Event
		}
	}
	require.NotEmpty(t, charge.ID)

	t.Run("the table lists every delivery and sums them up", func(t *testing.T) {
		r := h.ok("events", "-id", id)
		for _, want := range []string{
			"Events of subscription " + id + " (outbox subscription-events/" + id + ", Running)",
			"SEQ  EVENT ID", "TYPE", "TIME (KST)", "STATUS", "ATTEMPTS", "LAST ERROR", "DELIVERED (KST)",
			charge.ID, "charge.succeeded", "subscription.started", kstShort(charge.Timestamp),
			fmt.Sprintf("%d events in the outbox (last sequence %d): %d delivered, 0 pending, 0 failed; 0 queued; gaps 0; omitted 0",
				len(ob.Deliveries), ob.LastSeq, len(ob.Deliveries)),
		} {
			require.Contains(t, r.stdout, want)
		}
		require.Equal(t, len(ob.Deliveries), strings.Count(r.stdout, " delivered  "), "each row delivered")
		r = h.ok("events", "-id", id, "-n", "1")
		require.Contains(t, r.stdout, "listed 1 of them")
		r = h.ok("events", "-id", id, "-status", "failed")
		require.Contains(t, r.stdout, "No failed deliveries.")
		require.Empty(t, h.outbox(id, "-status", "pending").Deliveries)
	})

	t.Run("redeliver by ID: the receiver gets the same event again", func(t *testing.T) {
		before := recv.Stats()
		r := h.ok("events", "redeliver", "-id", id, "-event", charge.ID)
		require.Contains(t, r.stdout, "Queued 1 event(s) of subscription "+id)
		require.Contains(t, r.stdout, "  "+charge.ID+"\n")
		h.waitFor("the redelivery", func() (bool, string) {
			s := recv.Stats()
			return s.Duplicates == before.Duplicates+1, fmt.Sprintf("%d duplicates, %d requests", s.Duplicates, s.Requests)
		})
		after := recv.Stats()
		require.Len(t, after.Events, len(before.Events), "a duplicate, not a new event")
		require.Zero(t, after.BadSignatures, "the redelivery is signed like the first")
		var again webhooks.Delivery
		h.waitFor("the outbox to record it", func() (bool, string) {
			for _, d := range h.outbox(id).Deliveries {
				if d.Event.ID == charge.ID {
					again = d
				}
			}
			return again.Queued == 2 && again.Status == webhooks.StatusDelivered, fmt.Sprintf("queued %d, %s", again.Queued, again.Status)
		})
		require.Equal(t, charge, again.Event, "the same event: ID, sequence, timestamp and body")
		require.Contains(t, h.ok("events", "-id", id).stdout, "delivered (queued 2×)")
	})

	t.Run("redeliver by range: a KST day, every event of it in sequence order", func(t *testing.T) {
		before := recv.Stats()
		ob := h.outbox(id)
		day := ob.Deliveries[0].Event.Timestamp.In(calendar.Seoul).Format("2006-01-02")
		r := h.ok("events", "redeliver", "-id", id, "-from", day, "-to", day, "-o", "json")
		var res webhooks.RedeliverResult
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
		var want []string
		for _, d := range ob.Deliveries {
			if d.Event.Timestamp.In(calendar.Seoul).Format("2006-01-02") == day {
				want = append(want, d.Event.ID)
			}
		}
		require.Equal(t, want, res.Queued)
		h.waitFor("the range redelivered", func() (bool, string) {
			s := recv.Stats()
			return s.Duplicates == before.Duplicates+len(want), fmt.Sprintf("%d duplicates", s.Duplicates)
		})
		require.Empty(t, recv.Stats().OutOfOrder)
	})

	t.Run("refusals and unknown subscriptions", func(t *testing.T) {
		r := h.cli("events", "redeliver", "-id", id, "-event", "evt_"+id+"_nope_99")
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "refused by the event outbox of subscription "+id+`: event "evt_`+id+`_nope_99" is not in this outbox`)
		r = h.cli("events", "redeliver", "-id", id, "-from", "2020-01-01", "-to", "2020-01-02")
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "no event in this outbox matches")

		for _, args := range [][]string{{"events", "-id", "nobody"}, {"events", "redeliver", "-id", "nobody", "-event", "evt_nobody_x_1"}} {
			r = h.cli(args...)
			require.Equal(t, exitNotFound, r.code, r.stderr)
			require.Contains(t, r.stderr, "no subscription nobody (workflow subscription/nobody not found)")
		}

		// A subscription without an outbox (made before the worker had endpoints): here a
		// workflow that no worker runs under the subscription's ID.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID("quiet"), TaskQueue: "nobody-polls"}, billing.WorkflowType,
			billing.SubscriptionInput{SubscriptionID: "quiet"})
		require.NoError(t, err)
		for _, args := range [][]string{{"events", "-id", "quiet"}, {"events", "redeliver", "-id", "quiet", "-event", "evt_quiet_x_1"}} {
			r = h.cli(args...)
			require.Equal(t, exitNotFound, r.code, r.stderr)
			require.Contains(t, r.stderr, "subscription quiet has no event outbox (workflow subscription-events/quiet not found)")
			require.Contains(t, r.stderr, "BILLING_WEBHOOK_URLS")
		}
	})

	// A cancel now with a pro-rata refund ends the stream: charge.refunded, subscription.canceled.
	h.ok("cancel", "-id", id, "-now", "-refund", "prorata", "-requester", "customer", "-reason", "고객 요청 즉시 해지")
	waitLong(t, "the cancel's events", func() (bool, string) {
		evs := recv.Stats().Events
		return evs[len(evs)-1].Type == billing.EventSubscriptionCanceled, "last " + string(evs[len(evs)-1].Type)
	})
	got = recv.Stats()
	types := make([]billing.EventType, len(got.Events))
	for i, e := range got.Events {
		types[i] = e.Type
		require.NotContains(t, string(e.Data), customer, "customer_uid is masked")
		require.NotContains(t, string(e.Data), "010-1234-5678", "no buyer data")
	}
	require.Equal(t, []billing.EventType{billing.EventSubscriptionStarted, billing.EventRegistrationCompleted, billing.EventSubscriptionActivated,
		billing.EventChargeSucceeded, billing.EventChargeRefunded, billing.EventSubscriptionCanceled}, types)
	r := h.ok("events", "-id", id)
	require.Contains(t, r.stdout, "the subscription ended")

	// What was delivered has the shape the README documents for each type.
	// A 20-second demo plan whose second charge is declined once: renewal.upcoming before each
	// renewal, then charge.declined, dunning.started and dunning.retry_scheduled, and the retry
	// two seconds later recovers (charge.succeeded, dunning.recovered).
	const demo, demoCustomer = "ev-e2e-2", "cust-ev-e2e-2"
	_, err = h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: demoCustomer})
	require.NoError(t, err)
	h.emu.AddFault(portonetest.Fault{CustomerUID: demoCustomer, Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	h.ok("start", "-id", demo, "-customer", demoCustomer, "-plan-name", "Events Demo 20s", "-amount", "1,000", "-interval", "20 seconds")
	demoHas := func(typ billing.EventType) bool {
		return slices.ContainsFunc(recv.Stats().Events, func(e billing.MerchantEvent) bool { return e.SubscriptionID == demo && e.Type == typ })
	}
	waitLong(t, "the demo subscription to recover from its decline and announce its renewal", func() (bool, string) {
		return demoHas(billing.EventDunningRecovered) && demoHas(billing.EventRenewalUpcoming), fmt.Sprintf("%d events", len(recv.Stats().Events))
	})
	h.ok("cancel", "-id", demo, "-now", "-reason", "test over")
	waitLong(t, "the demo subscription's end", func() (bool, string) { return demoHas(billing.EventSubscriptionCanceled), "not yet" })
	got = recv.Stats()
	require.Zero(t, got.BadSignatures, "refused: %q", got.Refusals)
	require.Empty(t, got.OutOfOrder)

	if os.Getenv("PRINT_EVENTS") != "" {
		for _, e := range got.Events {
			b, _ := json.MarshalIndent(e, "", "  ")
			t.Logf("%s:\n%s", e.Type, b)
		}
	}
	examples := readmeEventExamples(t)
	compared := map[billing.EventType]bool{}
	for _, e := range got.Events {
		ex, ok := examples[e.Type]
		if !ok || compared[e.Type] {
			continue
		}
		compared[e.Type] = true
		body, err := json.Marshal(e)
		require.NoError(t, err)
		require.Equal(t, jsonShape(t, []byte(ex)), jsonShape(t, body), "the README's example of %s has the fields a real one has", e.Type)
	}
	for _, typ := range []billing.EventType{billing.EventSubscriptionCanceled, billing.EventChargeSucceeded, billing.EventChargeRefunded,
		billing.EventDunningRetryScheduled, billing.EventRenewalUpcoming} {
		require.True(t, compared[typ], "the README's %s example was compared with a real one", typ)
	}
}

// TestEventsFailedDeliveryIsRedelivered: an event the receiver refused for the whole delivery
// window is listed as failed with the endpoint's answer, the outbox goes on with the next ones,
// and 'starter events redeliver' of the failed IDs delivers them, after the later events (the
// order a receiver must expect: by sequence, not by arrival).
func TestEventsFailedDeliveryIsRedelivered(t *testing.T) {
	// Four seconds: the first retry (5 s after a refusal) never fits, so one refused request
	// fails its event, and a receiver that is up delivers well within it.
	h, recv := newEventsE2EWindow(t, 4*time.Second)
	const id, customer = "ev-e2e-fail", "cust-ev-e2e-fail"
	_, err := h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customer})
	require.NoError(t, err)
	recv.FailNext(1)
	h.ok("start", "-id", id, "-customer", customer, "-plan-name", "Events Demo", "-amount", "9,900", "-interval", "1 month")

	var ob outboxAnswer
	waitLong(t, "a failed event and the rest delivered", func() (bool, string) {
		r := h.cli("events", "-id", id, "-o", "json", "-n", "0")
		if r.code != exitOK {
			return false, r.stderr
		}
		ob = outboxAnswer{} // fresh: Unmarshal would merge into the previous poll's map and keep its queue
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &ob))
		done := len(ob.Queue) == 0 && ob.Counts[webhooks.StatusPending] == 0 && len(ob.Deliveries) >= 4
		return done && ob.Counts[webhooks.StatusFailed] > 0, fmt.Sprintf("counts %v, queue %v", ob.Counts, ob.Queue)
	})
	var failed []string
	for _, d := range ob.Deliveries {
		if d.Status == webhooks.StatusFailed {
			failed = append(failed, d.Event.ID)
			require.Contains(t, d.LastError, "answered 503", "%s: the endpoint's last answer", d.Event.ID)
		}
	}
	require.Equal(t, ob.Deliveries[0].Event.ID, failed[0], "the refused request was the first event's")
	require.Len(t, recv.Stats().Events, len(ob.Deliveries)-len(failed), "the outbox went on with the next events")

	r := h.ok("events", "-id", id, "-status", "failed")
	require.Contains(t, r.stdout, failed[0])
	require.Regexp(t, `/hooks/paycycle/[0-9a-f]+: answered 503`, r.stdout, "the endpoint named by host and path")
	require.Contains(t, r.stdout, fmt.Sprintf("%d failed", len(failed)))
	require.Contains(t, r.stdout, "failed events are not retried by themselves: starter events redeliver -id "+id)

	r = h.ok("events", "redeliver", "-id", id, "-event", strings.Join(failed, ","))
	require.Contains(t, r.stdout, fmt.Sprintf("Queued %d event(s)", len(failed)))
	waitLong(t, "the failed events redelivered", func() (bool, string) {
		ob = h.outbox(id)
		return ob.Counts[webhooks.StatusDelivered] == len(ob.Deliveries), fmt.Sprintf("counts %v", ob.Counts)
	})
	got := recv.Stats()
	require.Len(t, got.Events, len(ob.Deliveries), "every event reached the receiver once")
	require.Zero(t, got.Duplicates)
	require.Zero(t, got.BadSignatures, "refused: %q", got.Refusals)
	require.NotEmpty(t, got.OutOfOrder, "a redelivered event arrives after later ones")
	for _, o := range got.OutOfOrder {
		require.True(t, slices.ContainsFunc(failed, func(f string) bool { return strings.HasPrefix(o, f+" ") }), "only redelivered events are out of order: %s", o)
	}
	for _, d := range ob.Deliveries {
		if slices.Contains(failed, d.Event.ID) {
			require.Equal(t, 2, d.Queued, d.Event.ID)
			require.Empty(t, d.LastError, "a delivered event keeps no error")
		}
	}
}
