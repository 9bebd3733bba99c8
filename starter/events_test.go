package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// TestEventsFlags: everything the event commands refuse is refused before dialing (the
// address below answers nothing, so a refusal that dialed would exit 1, not 2).
func TestEventsFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"events"}, "-id is required"},
		{[]string{"events", "-id", "subscription/sub-1"}, "use -id sub-1"},
		{[]string{"events", "-id", "sub-1", "-status", "lost"}, `-status "lost": want pending, delivered or failed`},
		{[]string{"events", "-id", "sub-1", "-n", "-1"}, "-n must be 0 (all) or more"},
		{[]string{"events", "redeliver", "-id", "sub-1"}, "name the events to redeliver: -event ID[,ID...] or -from DATE|TIME"},
		{[]string{"events", "redeliver", "-event", "evt_sub-1_t_1"}, "-id is required"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-event", "evt_sub-1_t_1", "-from", "2026-11-01"}, "give -event or -from/-to, not both"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-event", "evt_sub-2_t_1"}, "is not an event of subscription sub-1 (its event IDs start with evt_sub-1_"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-event", " , "}, "-event: give one or more event IDs"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-to", "2026-11-02"}, "-to needs -from"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-from", "yesterday"}, "-from: want a KST date"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-from", "2026-11-03", "-to", "2026-11-01"}, "-to must be after -from"},
		{[]string{"events", "redeliver", "-id", "sub-1", "-from", "2026-11-01T10:00:00+09:00", "-to", "2026-11-01T10:00:00+09:00"}, "-to must be after -from"},
		{[]string{"events", "redeliver", "sub-1"}, `unexpected argument "sub-1" (did you mean -id sub-1?)`},
		{[]string{"webhook-secret", "-o", "json"}, "has no JSON output"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, append(tc.args, "-temporal-address", "127.0.0.1:1")...)
			require.Equal(t, exitRefused, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			require.Empty(t, r.stdout)
		})
	}

	ids := make([]string, webhooks.MaxDeliveries+1)
	for i := range ids {
		ids[i] = billing.EventID("sub-1", "t", int64(i+1))
	}
	r := runCLI(t, "events", "redeliver", "-id", "sub-1", "-event", strings.Join(ids, ","), "-temporal-address", "127.0.0.1:1")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, fmt.Sprintf("at most %d event IDs at once, got %d", webhooks.MaxDeliveries, webhooks.MaxDeliveries+1))

	// Well-formed requests get as far as dialing.
	for _, args := range [][]string{
		{"events", "-id", "sub-1", "-status", "failed", "-n", "0"},
		{"events", "redeliver", "-id", "sub-1", "-event", "evt_sub-1_t_1,evt_sub-1_t_2"},
		{"events", "redeliver", "-id", "sub-1", "-from", "2026-11-01", "-to", "2026-11-01"},
	} {
		r := runCLI(t, append(args, "-temporal-address", "127.0.0.1:1")...)
		require.Equal(t, exitFailure, r.code, args)
		require.Contains(t, r.stderr, "cannot reach Temporal at 127.0.0.1:1", args)
	}
}

func TestEventsHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "events"}, {"events", "-h"}} {
		r := runCLI(t, args...)
		require.Equal(t, exitOK, r.code)
		require.Contains(t, r.stdout, "Usage: starter events -id ID [-n N] [-status pending|delivered|failed]")
		require.Contains(t, r.stdout, "BILLING_WEBHOOK_URLS")
	}
	for _, args := range [][]string{{"events", "redeliver", "-h"}, {"help", "events", "redeliver"}} {
		r := runCLI(t, args...)
		require.Equal(t, exitOK, r.code)
		require.Contains(t, r.stdout, "Usage: starter events redeliver -id ID", args)
	}
	r := runCLI(t, "events", "redeliver", "-h")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "Usage: starter events redeliver -id ID (-event EVENT_ID[,EVENT_ID...] | -from DATE|TIME [-to DATE|TIME])")
	require.Contains(t, r.stdout, "-event string")
	r = runCLI(t, "help")
	require.Contains(t, r.stdout, "  events redeliver ")
	require.Contains(t, r.stdout, "  webhook-secret ")
}

// TestRedeliverRequestRange: a KST date as -from is that day's 00:00 KST and as -to the end of
// that day, the same reading as reconcile's window, sent in UTC.
func TestRedeliverRequestRange(t *testing.T) {
	req, err := redeliverRequest("sub-1", "", "2026-11-01", "2026-11-02")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC), req.From)
	require.Equal(t, time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC), req.To)
	require.Empty(t, req.EventIDs)

	req, err = redeliverRequest("sub-1", "", "2026-11-01T09:30:00+09:00", "")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 1, 0, 30, 0, 0, time.UTC), req.From)
	require.True(t, req.To.IsZero(), "no -to: up to the latest")

	req, err = redeliverRequest("sub-1", "evt_sub-1_t_2, evt_sub-1_t_1,evt_sub-1_t_2", "", "")
	require.NoError(t, err)
	require.Equal(t, []string{"evt_sub-1_t_2", "evt_sub-1_t_1"}, req.EventIDs, "trimmed and deduplicated, in the order given")
}

func TestWebhookSecretIsUsableAndFresh(t *testing.T) {
	r1 := runCLI(t, "webhook-secret")
	r2 := runCLI(t, "webhook-secret")
	require.Equal(t, exitOK, r1.code, r1.stderr)
	s1, s2 := strings.TrimSpace(r1.stdout), strings.TrimSpace(r2.stdout)
	require.True(t, strings.HasPrefix(s1, "whsec_"), s1)
	require.NotEqual(t, s1, s2, "a fresh secret each time")
	_, err := webhooks.ParseSecrets(s1 + " " + s2)
	require.NoError(t, err, "the worker accepts it")
	require.Equal(t, 1, strings.Count(r1.stdout, "\n"), "stdout is the secret alone, for $(...)")
	require.Contains(t, r1.stderr, "PAYCYCLE_WEBHOOK_SECRETS")
	require.Contains(t, r1.stderr, "remove the old one")
	require.NotContains(t, r1.stderr, s1, "the hint does not repeat the secret")
}

// outboxFixture is an outbox with one event of each status, a redelivered one, a gap and an
// omitted count.
func outboxFixture() webhooks.OutboxState {
	at := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC) // 10:00 KST
	ev := func(seq int64, typ billing.EventType) billing.MerchantEvent {
		return billing.MerchantEvent{ID: billing.EventID("sub-1", "k3x9", seq), Type: typ, SubscriptionID: "sub-1", Seq: seq,
			Timestamp: at.Add(time.Duration(seq) * time.Minute), Data: json.RawMessage(`{}`)}
	}
	return webhooks.OutboxState{
		SubscriptionID: "sub-1", LastSeq: 5, Gaps: 1, Omitted: 2, Runs: 2, Queue: []string{billing.EventID("sub-1", "k3x9", 5)},
		Deliveries: []webhooks.Delivery{
			{Event: ev(1, billing.EventSubscriptionStarted), Status: webhooks.StatusDelivered, Queued: 1, Attempts: 1, DeliveredAt: at.Add(61 * time.Second)},
			{Event: ev(2, billing.EventChargeSucceeded), Status: webhooks.StatusDelivered, Queued: 2, Attempts: 3, DeliveredAt: at.Add(5 * time.Minute)},
			{Event: ev(4, billing.EventChargeDeclined), Status: webhooks.StatusFailed, Queued: 1, LastError: "delivery window over; last: hooks.example.com/x: answered 503\nretry"},
			{Event: ev(5, billing.EventDunningStarted), Status: webhooks.StatusPending, Queued: 1},
		},
	}
}

func TestRenderOutbox(t *testing.T) {
	st := outboxFixture()
	var b bytes.Buffer
	renderOutbox(&b, st, workflowInfo{WorkflowID: "subscription-events/sub-1", Status: "Running"}, st.Deliveries, "")
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Events of subscription sub-1 (outbox subscription-events/sub-1, Running, run 2)",
		"SEQ  EVENT ID", "TIME (KST)", "DELIVERED (KST)",
		"evt_sub-1_k3x9_1", "subscription.started", "2026-11-01 10:01:00", "2026-11-01 10:01:01",
		"delivered (queued 2×)",
		"answered 503 retry", // one line
		"4 events in the outbox (last sequence 5): 2 delivered, 1 pending, 1 failed; 1 queued; gaps 1; omitted 2",
		"gaps: 1 events never reached the outbox", "omitted: 2 older settled events",
		"starter events redeliver -id sub-1 -event ID",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "listed ", "everything was listed")
	lines := strings.Split(out, "\n")
	header := lines[2]
	// Columns line up: each row's status starts where the header's STATUS does.
	col := strings.Index(header, "STATUS")
	for _, l := range lines[3:7] {
		require.Regexp(t, `^(delivered|failed|pending)`, l[col:], l)
	}

	b.Reset()
	renderOutbox(&b, st, workflowInfo{}, selectDeliveries(st.Deliveries, webhooks.StatusFailed, 0), webhooks.StatusFailed)
	out = b.String()
	require.Contains(t, out, "evt_sub-1_k3x9_4")
	require.NotContains(t, out, "evt_sub-1_k3x9_1")
	require.Contains(t, out, "listed 1 of them")

	b.Reset()
	renderOutbox(&b, st, workflowInfo{}, nil, webhooks.StatusFailed)
	require.Contains(t, b.String(), "No failed deliveries.")

	ended := webhooks.OutboxState{SubscriptionID: "sub-1", Deliveries: []webhooks.Delivery{}, EndedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	b.Reset()
	renderOutbox(&b, ended, workflowInfo{}, nil, "")
	require.Contains(t, b.String(), "No events yet.")
	require.Contains(t, b.String(), "until 2026-12-01 09:00:00 KST")
	require.NotContains(t, b.String(), "redeliver -id", "nothing failed")
}

func TestSelectDeliveries(t *testing.T) {
	ds := outboxFixture().Deliveries
	require.Len(t, selectDeliveries(ds, "", 0), 4)
	last := selectDeliveries(ds, "", 2)
	require.Equal(t, []int64{4, 5}, []int64{last[0].Event.Seq, last[1].Event.Seq}, "the latest, oldest first")
	require.Len(t, selectDeliveries(ds, webhooks.StatusDelivered, 0), 2)
	require.Len(t, selectDeliveries(ds, webhooks.StatusDelivered, 1), 1)
	require.Equal(t, int64(2), selectDeliveries(ds, webhooks.StatusDelivered, 1)[0].Event.Seq)
	require.Empty(t, selectDeliveries(nil, webhooks.StatusFailed, 5))
	require.NotNil(t, selectDeliveries(nil, "", 5), "JSON prints [] for none")
}

// TestInFlightFailureShowsWhyAnEventIsPending: while the outbox retries an event, its state holds
// no error (the outbox learns the answer when the delivery ends), so the delivery activity's last
// failure, a redirect here, is what `starter events` shows on that event's line.
func TestInFlightFailureShowsWhyAnEventIsPending(t *testing.T) {
	st := outboxFixture()
	st.Deliveries[3].StartedAt = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	redirect := "hooks.example.com/x: answered 302 Found, a redirect not followed (Location: https://new.example.com/x)"
	pending := []*workflowpb.PendingActivityInfo{{
		ActivityType: &commonpb.ActivityType{Name: webhooks.DeliverActivityName},
		Attempt:      4,
		LastFailure:  &failurepb.Failure{Message: redirect},
	}}
	got := withInFlightFailure(st, pending)
	require.Equal(t, "retrying, 3 attempts failed; last: "+redirect, got.Deliveries[3].LastError)
	require.Empty(t, st.Deliveries[3].LastError, "the fetched state is not changed in place")
	var b bytes.Buffer
	renderOutbox(&b, got, workflowInfo{}, got.Deliveries, "")
	require.Contains(t, b.String(), "pending")
	require.Contains(t, b.String(), "(Location: https://new.example.com/x)", "the table keeps the Location")

	for name, pa := range map[string][]*workflowpb.PendingActivityInfo{
		"no pending activity":         nil,
		"a first attempt, no failure": {{ActivityType: &commonpb.ActivityType{Name: webhooks.DeliverActivityName}, Attempt: 1}},
		"another activity's failure":  {{ActivityType: &commonpb.ActivityType{Name: "Other"}, Attempt: 2, LastFailure: &failurepb.Failure{Message: "x"}}},
	} {
		require.Equal(t, st, withInFlightFailure(st, pa), name)
	}
}
