package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/webhooks"
)

// The merchant event stream's commands: what an operator needs when a merchant says "we missed
// events". The outbox workflow (webhooks.Outbox) holds each event's delivery state and answers
// the deliveries query and the redeliver update; these commands are their readable front.

// defaultEventsShown is how many deliveries 'starter events' lists: a screenful, the latest.
const defaultEventsShown = 50

// deliveryStatuses are the values -status takes, in the order the summary counts them.
var deliveryStatuses = []webhooks.DeliveryStatus{webhooks.StatusDelivered, webhooks.StatusPending, webhooks.StatusFailed}

// noOutbox explains a subscription without an event outbox. Both "no subscription" and "no
// outbox" exit 3: there is nothing to show either way, and the message says which it is.
func noOutbox(id string) error {
	return &cliError{code: exitNotFound, msg: fmt.Sprintf(
		"subscription %s has no event outbox (workflow %s not found): an outbox exists only once the worker has webhook endpoints (BILLING_WEBHOOK_URLS) and the subscription made an event since",
		id, billing.EventsWorkflowID(id))}
}

// outboxMissing tells "no such subscription" from "a subscription without an outbox" once the
// outbox was not found, so that the person knows whether to check the ID or the worker.
func (a *app) outboxMissing(ctx context.Context, c client.Client, id string) error {
	_, err := c.DescribeWorkflowExecution(ctx, billing.WorkflowID(id), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return notFound(id)
	}
	if err != nil {
		return a.explain(err, id, "lookup")
	}
	return noOutbox(id)
}

// fetchOutbox reads a subscription's outbox state: from the deliveries query while the outbox
// runs, from its result once it completed (its retention after the subscription ended is over),
// so that an ended outbox is shown without a worker.
func (a *app) fetchOutbox(ctx context.Context, c client.Client, id string) (webhooks.OutboxState, workflowInfo, error) {
	var st webhooks.OutboxState
	wfID := billing.EventsWorkflowID(id)
	desc, err := c.DescribeWorkflowExecution(ctx, wfID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return st, workflowInfo{}, a.outboxMissing(ctx, c, id)
	}
	if err != nil {
		return st, workflowInfo{}, a.explain(err, id, "outbox lookup")
	}
	info := desc.GetWorkflowExecutionInfo()
	wf := workflowInfo{WorkflowID: wfID, RunID: info.GetExecution().GetRunId(), Status: info.GetStatus().String()}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := c.GetWorkflow(ctx, wfID, wf.RunID).Get(ctx, &st); err == nil {
			return st, wf, nil
		}
		// Fall through to the query, which replays the history on a worker.
	}
	v, err := c.QueryWorkflow(ctx, wfID, wf.RunID, billing.QueryDeliveries)
	if err != nil {
		return st, wf, a.explain(err, id, "deliveries query")
	}
	if err := v.Get(&st); err != nil {
		return st, wf, failed("decode the outbox state of %s: %v (is PAYCYCLE_CODEC_KEYS the worker's?)", id, err)
	}
	return withInFlightFailure(st, desc.GetPendingActivities()), wf, nil
}

// withInFlightFailure shows why the event being delivered has not arrived yet. The outbox learns
// an endpoint's answer only when the delivery ends (2xx, or the window is over), so a receiver
// that answers 503 or a redirect for hours would show a bare "pending"; the delivery activity's
// last failure (kept by Temporal between retries) becomes that event's LastError, marked as a
// retry in progress. The outbox delivers one event at a time: the pending one started last.
func withInFlightFailure(st webhooks.OutboxState, pending []*workflowpb.PendingActivityInfo) webhooks.OutboxState {
	var last *workflowpb.PendingActivityInfo
	for _, pa := range pending {
		if pa.GetActivityType().GetName() == webhooks.DeliverActivityName && pa.GetLastFailure() != nil {
			last = pa
		}
	}
	if last == nil {
		return st
	}
	in := -1
	for i, d := range st.Deliveries {
		if d.Status == webhooks.StatusPending && !d.StartedAt.IsZero() && (in < 0 || d.StartedAt.After(st.Deliveries[in].StartedAt)) {
			in = i
		}
	}
	if in < 0 {
		return st
	}
	ds := slices.Clone(st.Deliveries)
	ds[in].LastError = fmt.Sprintf("retrying, %d attempts failed; last: %s", max(last.GetAttempt()-1, 1), last.GetLastFailure().GetMessage())
	st.Deliveries = ds
	return st
}

// selectDeliveries keeps the deliveries of one status (all for "") and then the latest n of
// them (all for n <= 0), oldest first as the outbox keeps them.
func selectDeliveries(ds []webhooks.Delivery, status webhooks.DeliveryStatus, n int) []webhooks.Delivery {
	out := make([]webhooks.Delivery, 0, len(ds))
	for _, d := range ds {
		if status == "" || d.Status == status {
			out = append(out, d)
		}
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// deliveryCounts counts the state's deliveries by status.
func deliveryCounts(st webhooks.OutboxState) map[webhooks.DeliveryStatus]int {
	n := map[webhooks.DeliveryStatus]int{}
	for _, d := range st.Deliveries {
		n[d.Status]++
	}
	return n
}

// renderOutbox prints an outbox for a person: which workflow, the selected deliveries, and a
// summary over all of them, with what the gaps and omitted counts mean.
func renderOutbox(w io.Writer, st webhooks.OutboxState, wf workflowInfo, shown []webhooks.Delivery, status webhooks.DeliveryStatus) {
	head := fmt.Sprintf("Events of subscription %s", st.SubscriptionID)
	if wf.WorkflowID != "" {
		head += fmt.Sprintf(" (outbox %s, %s", wf.WorkflowID, wf.Status)
		if st.Runs > 1 {
			head += fmt.Sprintf(", run %d", st.Runs)
		}
		head += ")"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w)
	switch {
	case len(shown) == 0 && status != "":
		fmt.Fprintf(w, "No %s deliveries.\n", status)
	case len(shown) == 0:
		fmt.Fprintln(w, "No events yet.")
	default:
		tw := newTable(w)
		fmt.Fprintln(tw, "SEQ\tEVENT ID\tTYPE\tTIME (KST)\tSTATUS\tATTEMPTS\tLAST ERROR\tDELIVERED (KST)")
		for _, d := range shown {
			attempts := "-"
			if d.Attempts > 0 {
				attempts = fmt.Sprint(d.Attempts)
			}
			st := string(d.Status)
			if d.Queued > 1 {
				// Queued again by a redelivery: the count says how often it was sent on purpose.
				st += fmt.Sprintf(" (queued %d×)", d.Queued)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Event.Seq, d.Event.ID, d.Event.Type, kstShort(d.Event.Timestamp),
				st, attempts, dash(textfmt.Truncate(oneLine(d.LastError), 140)), kstShort(d.DeliveredAt))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	counts := deliveryCounts(st)
	parts := make([]string, 0, len(deliveryStatuses))
	for _, s := range deliveryStatuses {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	fmt.Fprintf(w, "%d events in the outbox (last sequence %d): %s; %d queued; gaps %d; omitted %d\n",
		len(st.Deliveries), st.LastSeq, strings.Join(parts, ", "), len(st.Queue), st.Gaps, st.Omitted)
	if len(shown) > 0 && len(shown) < len(st.Deliveries) {
		fmt.Fprintf(w, "  listed %d of them (-n 0 lists all; -status filters)\n", len(shown))
	}
	if st.Gaps > 0 {
		fmt.Fprintf(w, "  gaps: %d events never reached the outbox (the subscription could not hand them over and dropped the oldest); receivers see the missing sequence numbers\n", st.Gaps)
	}
	if st.Omitted > 0 {
		fmt.Fprintf(w, "  omitted: %d older settled events dropped from the state to bound it (the outbox keeps the latest %d); they are in earlier runs' histories and cannot be redelivered\n", st.Omitted, webhooks.MaxDeliveries)
	}
	if counts[webhooks.StatusFailed] > 0 {
		fmt.Fprintf(w, "  failed events are not retried by themselves: starter events redeliver -id %s -event ID[,ID...] (or -from/-to)\n", st.SubscriptionID)
	}
	if !st.EndedAt.IsZero() {
		fmt.Fprintf(w, "  the subscription ended %s; its outbox keeps its events for redelivery until %s\n", kst(st.EndedAt), kst(st.EndedAt.Add(webhooks.RedeliveryRetention)))
	}
}

// oneLine keeps a table cell on one line: an endpoint's error may carry newlines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// outboxAnswer is 'starter events -json' output: the deliveries query's answer with the same
// -status and -n selection the table applies, so that a script gets what it asked for.
type outboxAnswer struct {
	webhooks.OutboxState
	// Counts are over every delivery in the state, whatever was selected.
	Counts map[webhooks.DeliveryStatus]int `json:"counts"`
}

func eventsCommand() *command {
	return &command{
		name:    "events",
		summary: "list a subscription's merchant events and their webhook delivery (also: events redeliver)",
		usage:   "starter events -id ID [-n N] [-status pending|delivered|failed] [-json] [flags]",
		about: `Ask the subscription's event outbox (workflow subscription-events/ID, query "deliveries") for its
events and print, oldest first, each one's sequence number, event ID, type, time (KST), delivery
status, attempts, last error and when it was delivered, then a summary: how many are delivered,
pending and failed, the gaps (events that never reached the outbox) and how many older ones were
omitted to bound the state. An outbox exists only once the worker has webhook endpoints
(BILLING_WEBHOOK_URLS) and the subscription made an event since. A failed event is sent again with
'starter events redeliver'. -json prints the query's answer with the same selection.`,
		examples: []string{
			`starter events -id sub-1001`,
			`starter events -id sub-1001 -status failed -n 0`,
			`starter events -id sub-1001 -o json | jq -r '.deliveries[] | select(.status == "failed") | .event.id'`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			id := fs.String("id", "", "subscription ID (required)")
			n := fs.Int("n", defaultEventsShown, "list the latest N events (0: all the outbox keeps)")
			status := fs.String("status", "", "only events in this delivery status: pending, delivered or failed")
			asJSON := fs.Bool("json", false, "print the outbox state as JSON")
			return func(ctx context.Context) error {
				if err := checkID(*id); err != nil {
					return err
				}
				if *n < 0 {
					return refused("-n must be 0 (all) or more, got %d", *n)
				}
				want := webhooks.DeliveryStatus(*status)
				if want != "" && !slices.Contains(deliveryStatuses, want) {
					return refused("-status %q: want pending, delivered or failed", *status)
				}
				c, err := a.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				st, wf, err := a.fetchOutbox(ctx, c, *id)
				if err != nil {
					return err
				}
				shown := selectDeliveries(st.Deliveries, want, *n)
				if *asJSON {
					ans := outboxAnswer{OutboxState: st, Counts: deliveryCounts(st)}
					ans.Deliveries = shown
					return writeJSON(a.stdout, ans)
				}
				renderOutbox(a.stdout, st, wf, shown, want)
				return nil
			}
		},
	}
}

// parseEventIDs splits -event on commas and checks that every ID is one of the subscription's
// (billing.EventID: evt_<subscription>_<tag>_<seq>), so that an ID pasted from another
// subscription is refused with a reason before anything is sent.
func parseEventIDs(list, id string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.HasPrefix(f, "evt_"+id+"_") {
			return nil, refused("-event %q is not an event of subscription %s (its event IDs start with evt_%s_; 'starter events -id %s' lists them)", f, id, id, id)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, refused("-event: give one or more event IDs, comma-separated")
	}
	if len(out) > webhooks.MaxDeliveries {
		return nil, refused("-event: at most %d event IDs at once, got %d", webhooks.MaxDeliveries, len(out))
	}
	return out, nil
}

// redeliverRequest builds the update's payload from the flags, refusing what the outbox would.
func redeliverRequest(id, events, from, to string) (webhooks.RedeliverRequest, error) {
	var req webhooks.RedeliverRequest
	switch {
	case events != "" && (from != "" || to != ""):
		return req, refused("give -event or -from/-to, not both")
	case events != "":
		ids, err := parseEventIDs(events, id)
		if err != nil {
			return req, err
		}
		req.EventIDs = ids
		return req, nil
	case from == "" && to != "":
		return req, refused("-to needs -from: a time range starts somewhere")
	case from == "":
		return req, refused("name the events to redeliver: -event ID[,ID...] or -from DATE|TIME [-to DATE|TIME]")
	}
	f, err := parseWhen("from", from, false)
	if err != nil {
		return req, err
	}
	req.From = f.UTC()
	if to != "" {
		t, err := parseWhen("to", to, true)
		if err != nil {
			return req, err
		}
		if !f.Before(t) {
			return req, refused("-to must be after -from (a date as -to is the end of that KST day)")
		}
		req.To = t.UTC()
	}
	return req, nil
}

func eventsRedeliverCommand() *command {
	return &command{
		name:    "events redeliver",
		summary: "send a subscription's events to the webhook endpoints again, by ID or time range",
		usage:   "starter events redeliver -id ID (-event EVENT_ID[,EVENT_ID...] | -from DATE|TIME [-to DATE|TIME]) [-json] [flags]",
		about: `Queue events of the subscription's outbox for delivery again (update "redeliver"): the named
events, or every event whose timestamp is in [from, to). A date is a KST day (-from 2026-11-01
-to 2026-11-02 covers both days); an RFC 3339 time is an instant. They are delivered again in
sequence order, with the same event ID (webhook-id), so a receiver that already has one drops it
as a duplicate. Failed events stay failed until redelivered; the outbox keeps the latest 300
events, and an ended subscription's for 30 days. The outbox refuses an ID it does not hold or a
range that matches nothing (exit 2, with its reason).`,
		examples: []string{
			`starter events redeliver -id sub-1001 -event evt_sub-1001_k3x9_7`,
			`starter events redeliver -id sub-1001 -from 2026-11-01 -to 2026-11-02`,
			`starter events redeliver -id sub-1001 -from 2026-11-01T09:00:00+09:00`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			id := fs.String("id", "", "subscription ID (required)")
			events := fs.String("event", "", "event IDs to deliver again, comma-separated (from 'starter events')")
			from := fs.String("from", "", "deliver again the events from this KST date or RFC 3339 time")
			to := fs.String("to", "", "with -from: up to this KST date (inclusive) or RFC 3339 time (exclusive); default: the latest")
			asJSON := fs.Bool("json", false, "print the outbox's answer as JSON")
			return func(ctx context.Context) error {
				if err := checkID(*id); err != nil {
					return err
				}
				req, err := redeliverRequest(*id, *events, *from, *to)
				if err != nil {
					return err
				}
				c, err := a.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				res, err := a.redeliver(ctx, c, *id, req)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(a.stdout, res)
				}
				what := ""
				if !req.From.IsZero() {
					what = " with timestamps " + kstWindow(req.From, req.To)
				}
				fmt.Fprintf(a.stdout, "Queued %d event(s) of subscription %s%s for delivery again, in sequence order:\n", len(res.Queued), *id, what)
				for _, e := range res.Queued {
					fmt.Fprintf(a.stdout, "  %s\n", e)
				}
				fmt.Fprintf(a.stdout, "Receivers get them with the same webhook-id. Follow: starter events -id %s -status pending\n", *id)
				return nil
			}
		},
	}
}

// redeliver sends the redeliver update to the subscription's outbox. Each invocation is its own
// update (a fresh update ID): redelivering twice on purpose sends twice.
func (a *app) redeliver(ctx context.Context, c client.Client, id string, req webhooks.RedeliverRequest) (webhooks.RedeliverResult, error) {
	var res webhooks.RedeliverResult
	wfID := billing.EventsWorkflowID(id)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   wfID,
		UpdateName:   billing.UpdateRedeliver,
		UpdateID:     billing.UpdateRedeliver + ":" + uuid.NewString(),
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err == nil {
		return res, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// The outbox's validator said no: its message is the reason, verbatim.
		return res, refused("refused by the event outbox of subscription %s: %s", id, appErr.Message())
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		desc, derr := c.DescribeWorkflowExecution(ctx, wfID, "")
		if errors.As(derr, &nf) {
			return res, a.outboxMissing(ctx, c, id)
		}
		if derr == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return res, refused("the event outbox of subscription %s has ended (%s since %s): it keeps an ended subscription's events for %s, then nothing can be redelivered",
				id, desc.GetWorkflowExecutionInfo().GetStatus(), kst(desc.GetWorkflowExecutionInfo().GetCloseTime().AsTime()), webhooks.RedeliveryRetention)
		}
	}
	return res, a.explain(err, id, "update "+billing.UpdateRedeliver)
}

// webhookSecretCommand prints a fresh signing secret. It is the only way the project makes
// one, so that every secret has the Standard Webhooks form and enough entropy (32 random bytes).
func webhookSecretCommand() *command {
	return &command{
		name:    "webhook-secret",
		summary: "print a fresh Standard Webhooks signing secret (whsec_...) for PAYCYCLE_WEBHOOK_SECRETS",
		usage:   "starter webhook-secret",
		about: `Print a new random signing secret (32 bytes, "whsec_" and base64, the Standard Webhooks format)
on stdout. Give it to the worker in PAYCYCLE_WEBHOOK_SECRETS (environment only) and to the
merchant's receivers. Every configured secret signs, so a rotation adds the new secret beside the
old one, moves every receiver to the new one, then removes the old one. Temporal is not contacted.`,
		examples: []string{
			`starter webhook-secret`,
			`PAYCYCLE_WEBHOOK_SECRETS="$(starter webhook-secret) $PAYCYCLE_WEBHOOK_SECRETS"   # rotation, step 1`,
		},
		setup: func(_ *flag.FlagSet, a *app) func(ctx context.Context) error {
			return func(context.Context) error {
				fmt.Fprintln(a.stdout, webhooks.NewSecret())
				fmt.Fprintf(a.stderr, "rotation: add it to %s beside the current secret (space-separated; all sign), move receivers to it, then remove the old one\n", envWebhookSecrets)
				return nil
			}
		},
	}
}

// envWebhookSecrets is the worker's variable of signing secrets (worker.EnvWebhookSecrets; the
// worker is a main package, so the name is repeated here).
const envWebhookSecrets = "PAYCYCLE_WEBHOOK_SECRETS"

// kstWindow formats a redelivery range for messages.
func kstWindow(from, to time.Time) string {
	if to.IsZero() {
		return "from " + kst(from)
	}
	return kst(from) + " .. " + kst(to)
}
