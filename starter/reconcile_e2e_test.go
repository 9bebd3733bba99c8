package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/reconcile"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/workflows"
)

// newReconcileE2E is newE2E with the worker the binary runs: Subscription and Reconcile on the
// billing task queue, the reconciliation reading subscriptions through the worker's own
// (encrypting) client.
func newReconcileE2E(t *testing.T) (*e2e, *portone.Client) {
	t.Helper()
	testgate.Slow(t, "starts a Temporal server")
	st := stacktest.New(t, stacktest.Options{NoWorker: true, SettleSearchAttributes: true})
	t.Setenv("PAYCYCLE_CODEC_KEYS", st.CodecKey)
	h := &e2e{t: t, st: st, addr: st.Server.GetFrontendHostPort(), ns: st.Namespace, c: st.Client, emu: st.Emulator}
	acts := &activities.Activities{Gateway: portonev1.New(st.Gateway), Config: activities.Config{DemoMode: true}}
	rec := &reconcile.Activities{Gateway: portonev1.New(st.Gateway), Subscriptions: reconcile.TemporalSubscriptions{Client: h.c}}
	w := worker.New(h.c, billing.TaskQueue, worker.Options{})
	workflows.Register(w, acts)
	reconcile.Register(w, rec)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return h, st.Gateway
}

// marks returns the mark_attention signals in a subscription's history, decoded.
func (h *e2e) marks(id string) []billing.AttentionRequest {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	it := h.c.GetWorkflowHistory(ctx, billing.WorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	dc := h.dataConverter()
	var out []billing.AttentionRequest
	for n := 0; it.HasNext() && n < 10000; n++ {
		ev, err := it.Next()
		require.NoError(h.t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == billing.MsgMarkAttention {
			var req billing.AttentionRequest
			require.NoError(h.t, dc.FromPayloads(a.GetInput(), &req))
			out = append(out, req)
		}
	}
	return out
}

func (h *e2e) dataConverter() converter.DataConverter {
	copts, err := temporalconn.Config{CodecKeys: os.Getenv("PAYCYCLE_CODEC_KEYS")}.Options(nil)
	require.NoError(h.t, err)
	return copts.DataConverter
}

// waitLong polls cond every 200 ms for up to two minutes: this test runs five subscriptions and
// a reconciliation on a shared 2-core machine under -race.
func waitLong(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after 2m waiting for %s: %s", what, last)
}

// TestReconcileEndToEnd: real server, real worker code, emulator as the bank. Four subscriptions
// are charged; then a console duplicate, a console partial refund and a deleted billing key
// happen at PortOne. The worker's Temporal Schedule is created (idempotently) and fired by the
// engine; the report is read through the CLI; exactly the affected subscriptions got the
// mark_attention signal with their finding; the duplicate was refunded (opt-in).
func TestReconcileEndToEnd(t *testing.T) {
	h, gw := newReconcileE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// A fresh stack has no reconciliation yet: -latest says how to run the first one.
	fresh := h.cli("reconcile", "show", "-latest")
	require.Equal(t, exitNotFound, fresh.code, fresh.stderr)
	require.Contains(t, fresh.stderr, "no reconciliation has run yet")
	require.Contains(t, fresh.stderr, "starter reconcile -from")
	require.Contains(t, fresh.stderr, "starter reconcile schedule")

	ids := []string{"e2e-ok", "e2e-dup", "e2e-ref", "e2e-gone", "e2e-stray"}
	for _, id := range ids {
		_, err := h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-" + id})
		require.NoError(t, err)
		_, err = h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue}, billing.WorkflowType,
			billing.SubscriptionInput{SubscriptionID: id, CustomerUID: "cust-" + id,
				Plan: billing.Plan{Name: "E2E", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}})
		require.NoError(t, err)
	}
	states := map[string]billing.State{}
	for _, id := range ids {
		waitLong(t, id+" paid", func() (bool, string) {
			v, err := h.c.QueryWorkflow(ctx, billing.WorkflowID(id), "", billing.QueryState)
			if err != nil {
				return false, err.Error() // the first workflow task may not have run yet
			}
			var st billing.State
			require.NoError(t, v.Get(&st))
			states[id] = st
			return len(paidCharges(st)) == 1, "status " + string(st.Status)
		})
	}

	// PortOne-side anomalies.
	dup := billing.ChargeUID{SubscriptionID: "e2e-dup", Tag: states["e2e-dup"].Tag, Cycle: 1, Attempt: 2}.String()
	extra, err := h.emu.CreatePayment(portonetest.PaymentSeed{MerchantUID: dup, CustomerUID: "cust-e2e-dup", Amount: 9900})
	require.NoError(t, err)
	_, err = gw.CancelPayment(ctx, portone.CancelRequest{ImpUID: states["e2e-ref"].Charges[0].ImpUID, Amount: 1000, Reason: "콘솔 부분취소", Requester: portone.RequesterAdmin})
	require.NoError(t, err)
	require.NoError(t, h.emu.DeleteCustomer("", "cust-e2e-gone"))
	// A canceled (ended) subscription that PortOne would still charge: read from its result.
	h.ok("cancel", "-id", "e2e-stray", "-now", "-reason", "고객 요청", "-requester", "customer")
	waitLong(t, "e2e-stray to end", func() (bool, string) {
		d, err := h.c.DescribeWorkflowExecution(ctx, billing.WorkflowID("e2e-stray"), "")
		if err != nil {
			return false, err.Error()
		}
		return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, d.GetWorkflowExecutionInfo().GetStatus().String()
	})
	stray := billing.ChargeUID{SubscriptionID: "e2e-stray", Tag: states["e2e-stray"].Tag, Cycle: 2, Attempt: 1}.String()
	_, err = gw.Schedule(ctx, portone.ScheduleRequest{CustomerUID: "cust-e2e-stray", Schedules: []portone.ScheduleEntry{{
		MerchantUID: stray, ScheduleAt: time.Now().Add(48 * time.Hour), Amount: 9900, Name: "E2E"}}})
	require.NoError(t, err)

	cfg := reconcile.ScheduleConfig{At: "04:00", TaskQueue: billing.TaskQueue,
		Input: reconcile.Input{EndAtFireTime: true, AutoRefundDuplicates: true, Rate: 50}}
	did, err := reconcile.EnsureSchedule(ctx, h.c, cfg)
	require.NoError(t, err)
	require.Equal(t, "created", did)
	did, err = reconcile.EnsureSchedule(ctx, h.c, cfg) // a second worker start
	require.NoError(t, err)
	require.Equal(t, "updated", did)
	desc, err := h.c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, "Asia/Seoul", desc.Schedule.Spec.TimeZoneName)
	require.Equal(t, 4, desc.Schedule.Spec.Calendars[0].Hour[0].Start)
	require.NoError(t, h.c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}))

	waitLong(t, "the scheduled Reconcile to complete", func() (bool, string) {
		resp, err := h.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'Reconcile' AND ExecutionStatus = 'Completed'"})
		if err != nil {
			return false, err.Error()
		}
		return len(resp.GetExecutions()) == 1, "not yet"
	})

	r := h.ok("reconcile", "show", "-latest")
	for _, want := range []string{"Reconciliation reconcile-nightly-", "(done)",
		"duplicate  e2e-dup  cycle 1  marked", "orphan  e2e-dup  cycle 1  marked", "refunded " + extra.ImpUID,
		"state_drift  e2e-ref  cycle 1  marked", "cancel_amount: ours 0, PortOne 1000",
		"billing_key_gone  e2e-gone  cycle 1  marked",
		"schedule_drift  e2e-stray  cycle 2  not marked: the subscription's workflow has ended", "stray schedule for a canceled subscription"} {
		require.Contains(t, r.stdout, want)
	}
	require.NotContains(t, r.stdout, "e2e-ok")
	var rep reconcile.Report
	require.NoError(t, json.Unmarshal([]byte(h.ok("reconcile", "show", "-latest", "-json").stdout), &rep))
	require.Equal(t, 5, len(rep.Findings))
	require.Equal(t, 4, rep.Marked)
	require.Equal(t, 5, rep.Subscriptions)
	require.Equal(t, 1, rep.Refunded)

	wantMarks := map[string][]string{
		"e2e-ok": nil, "e2e-dup": {reconcile.FindingOrphan, reconcile.FindingDuplicate},
		"e2e-ref": {reconcile.FindingDrift}, "e2e-gone": {reconcile.FindingKeyGone}, "e2e-stray": nil,
	}
	for id, want := range wantMarks {
		var got []string
		for _, m := range h.marks(id) {
			require.Equal(t, billing.AttentionReconciliation, m.Kind)
			got = append(got, m.Finding)
		}
		require.ElementsMatch(t, want, got, id)
	}
	// The subscriptions the reconciliation marked are the ones operators list by the attribute.
	h.waitFor("the marked subscriptions listed by NeedsAttention", func() (bool, string) {
		ids := h.listIDs("NeedsAttention = true")
		return slices.Equal(ids, []string{"e2e-dup", "e2e-gone", "e2e-ref"}), fmt.Sprintf("listed %v", ids)
	})
	for _, le := range h.emu.Ledger() {
		if le.ImpUID == extra.ImpUID {
			require.Equal(t, "cancelled", le.Status, "the unrecorded duplicate was refunded")
		}
		if le.MerchantUID == states["e2e-dup"].Charges[0].MerchantUID {
			require.Equal(t, "paid", le.Status, "the recorded charge was kept")
		}
	}

	// By hand, as a dry run over today: the same drift and key findings (the duplicate is gone
	// now: refunded), and no new marks.
	today := time.Now().In(calendar.Seoul).Format("2006-01-02")
	r = h.ok("reconcile", "-from", today, "-to", today, "-dry-run", "-wait")
	require.Contains(t, r.stdout, "state_drift  e2e-ref")
	require.Contains(t, r.stdout, "billing_key_gone  e2e-gone")
	require.NotContains(t, r.stdout, "duplicate  e2e-dup")
	require.Len(t, h.marks("e2e-ref"), 1)
}

// listIDs lists the subscription IDs a visibility query finds, sorted.
func (h *e2e) listIDs(query string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(h.t, err)
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, strings.TrimPrefix(e.GetExecution().GetWorkflowId(), "subscription/"))
	}
	slices.Sort(ids)
	return ids
}
