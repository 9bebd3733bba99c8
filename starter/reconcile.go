package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/reconcile"
)

// subcommands are the words after a command's name that name a command of their own, so that
// "starter reconcile show -id X" and "starter events redeliver -id X" read as one would say them.
var subcommands = map[string][]string{
	"reconcile": {"show", "schedule"},
	"events":    {"redeliver"}, // events.go
}

// subcommandName maps "reconcile show" args to the command "reconcile show".
func subcommandName(args []string) (string, []string) {
	if len(args) > 1 && slices.Contains(subcommands[args[0]], args[1]) {
		return args[0] + " " + args[1], args[1:]
	}
	return args[0], args
}

// parseWhen reads a window bound: a KST date (yyyy-mm-dd, its 00:00 KST; as -to, the end of that
// day) or an RFC 3339 instant.
func parseWhen(flagName, s string, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, calendar.Seoul); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, refused("-%s: want a KST date (2026-11-02) or an RFC 3339 time (2026-11-02T04:00:00+09:00), got %q", flagName, s)
}

func reconcileCommand() *command {
	return &command{
		name:    "reconcile",
		summary: "reconcile a window against PortOne by hand (also: reconcile show, reconcile schedule)",
		usage:   "starter reconcile -from DATE|TIME -to DATE|TIME [-auto-refund-duplicates] [-dry-run] [-wait] [flags]",
		about: `Start a Reconcile workflow over [from, to) on the billing task queue and, with -wait, print
its report. A date is a KST day: -from 2026-11-01 -to 2026-11-02 covers both days. The window is
at most 90 days (PortOne's limit). Findings mark the affected subscriptions (needs_attention)
unless -dry-run. The nightly run needs none of this: the worker keeps a Temporal Schedule
(see 'starter reconcile schedule'). 'starter reconcile show -id ID' prints a report.`,
		examples: []string{
			`starter reconcile -from 2026-11-01 -to 2026-11-01 -wait`,
			`starter reconcile -from 2026-10-01 -to 2026-10-31 -dry-run -wait -timeout 30m`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			from := fs.String("from", "", "start of the window: KST date or RFC 3339 time (required)")
			to := fs.String("to", "", "end of the window: KST date (inclusive) or RFC 3339 time (exclusive) (required)")
			autoRefund := fs.Bool("auto-refund-duplicates", false, "refund the unrecorded payment of a proven duplicate")
			dry := fs.Bool("dry-run", false, "report only: do not mark subscriptions")
			repair := fs.Bool("repair-projection", false, "set the read model's row of each subscription the projection check finds differing from its workflow's state (money is never repaired)")
			rate := fs.Float64("rate", reconcile.DefaultRate, "PortOne requests per second")
			wait := fs.Bool("wait", false, "wait for the report and print it")
			asJSON := fs.Bool("json", false, "with -wait, print the raw report")
			queue := new(string)
			a.env.String(queue, "task-queue", "BILLING_TASK_QUEUE", reconcile.TaskQueue, "task queue of the billing worker")
			return func(ctx context.Context) error {
				if *from == "" || *to == "" {
					return refused("-from and -to are required")
				}
				f, err := parseWhen("from", *from, false)
				if err != nil {
					return err
				}
				t, err := parseWhen("to", *to, true)
				if err != nil {
					return err
				}
				in := reconcile.Input{From: f, To: t, AutoRefundDuplicates: *autoRefund, Rate: *rate, NoMarks: *dry, RepairProjection: *repair}
				if _, _, err := reconcile.Window(in, a.now()); err != nil {
					return refused("%v", err)
				}
				if *rate <= 0 {
					return refused("-rate: must be positive, got %g", *rate)
				}
				c, err := a.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				id := reconcile.ManualWorkflowID(f, t)
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID: id, TaskQueue: *queue, WorkflowExecutionErrorWhenAlreadyStarted: true,
					WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				}, reconcile.WorkflowType, in)
				var started *serviceerror.WorkflowExecutionAlreadyStarted
				if errors.As(err, &started) {
					return refused("a reconciliation of this window is already running: starter reconcile show -id %s", id)
				}
				if err != nil {
					return failed("start %s: %v", id, err)
				}
				fmt.Fprintf(a.stdout, "started %s (run %s) over %s .. %s\n", id, run.GetRunID(), kst(f), kst(t))
				if !*wait {
					fmt.Fprintf(a.stdout, "report: starter reconcile show -id %s\n", id)
					return nil
				}
				var r reconcile.Report
				if err := run.Get(ctx, &r); err != nil {
					return a.explain(err, "", "reconciliation")
				}
				if *asJSON {
					return writeJSON(a.stdout, r)
				}
				renderReport(a.stdout, id, r)
				return nil
			}
		},
	}
}

func reconcileShowCommand() *command {
	return &command{
		name:    "reconcile show",
		summary: "print a reconciliation report (findings, day totals)",
		usage:   "starter reconcile show [-id WORKFLOW_ID | -latest] [-json] [flags]",
		about: `Print a Reconcile workflow's report: while it runs, from its "report" query; once done, from its
result. -latest picks the most recently started reconciliation (nightly or by hand).`,
		examples: []string{`starter reconcile show -latest`, `starter reconcile show -id reconcile/20261031T150000Z_20261101T150000Z -json`},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			id := fs.String("id", "", "the reconciliation's workflow ID")
			latest := fs.Bool("latest", false, "the most recently started reconciliation")
			asJSON := fs.Bool("json", false, "print the raw report")
			return func(ctx context.Context) error {
				if (*id == "") == !*latest {
					return refused("give -id or -latest")
				}
				c, err := a.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				if *latest {
					if *id, err = latestReconcile(ctx, c); err != nil {
						return err
					}
				}
				r, err := fetchReport(ctx, c, *id)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(a.stdout, r)
				}
				renderReport(a.stdout, *id, r)
				return nil
			}
		},
	}
}

func latestReconcile(ctx context.Context, c client.Client) (string, error) {
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 100,
		Query: fmt.Sprintf("WorkflowType = '%s'", reconcile.WorkflowType)})
	if err != nil {
		return "", failed("list reconciliations: %v", err)
	}
	var best string
	var bestAt time.Time
	for _, e := range resp.GetExecutions() {
		if t := e.GetStartTime().AsTime(); best == "" || t.After(bestAt) {
			best, bestAt = e.GetExecution().GetWorkflowId(), t
		}
	}
	if best == "" {
		return "", &cliError{code: exitNotFound, msg: "no reconciliation has run yet: run one now with " +
			"`starter reconcile -from YYYY-MM-DD -to YYYY-MM-DD -wait` (KST dates), or start the nightly one with " +
			"`starter reconcile schedule -at 03:00 -trigger`"}
	}
	return best, nil
}

// fetchReport reads the report: the result once completed, the query otherwise.
func fetchReport(ctx context.Context, c client.Client, id string) (reconcile.Report, error) {
	var r reconcile.Report
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return r, &cliError{code: exitNotFound, msg: fmt.Sprintf("no reconciliation %s", id)}
	}
	if err != nil {
		return r, failed("describe %s: %v", id, err)
	}
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := c.GetWorkflow(ctx, id, runID).Get(ctx, &r); err != nil {
			return r, failed("read the result of %s: %v", id, err)
		}
		return r, nil
	}
	v, err := c.QueryWorkflow(ctx, id, runID, reconcile.QueryReport)
	if err != nil {
		return r, failed("query the report of %s (%s): %v", id, desc.GetWorkflowExecutionInfo().GetStatus(), rootCause(err))
	}
	if err := v.Get(&r); err != nil {
		return r, failed("decode the report of %s: %v", id, err)
	}
	return r, nil
}

// renderReport prints a report for a person: window, counts, day totals, then each finding.
func renderReport(w io.Writer, id string, r reconcile.Report) {
	fmt.Fprintf(w, "Reconciliation %s (%s)\n", id, r.Phase)
	fmt.Fprintf(w, "Window       %s .. %s\n", kst(r.From), kst(r.To))
	fmt.Fprintf(w, "Read         %d subscriptions, %d PortOne payments, %d pending schedules, %d PortOne requests\n",
		r.Subscriptions, r.Payments, r.Schedules, r.Requests)
	var counts []string
	for _, n := range reconcile.FindingNames {
		counts = append(counts, fmt.Sprintf("%s %d", n, r.Counts[n]))
	}
	fmt.Fprintf(w, "Findings     %d (%s); marked %d, refunded %d\n", len(r.Findings), strings.Join(counts, ", "), r.Marked, r.Refunded)
	if r.Truncated > 0 {
		fmt.Fprintf(w, "Truncated    %d more findings are counted and logged but not listed\n", r.Truncated)
	}
	if len(r.Unreadable) > 0 {
		fmt.Fprintf(w, "Unreadable   %s\n", strings.Join(r.Unreadable, ", "))
	}
	if r.Projection != nil || r.Phase == "done" {
		// A report made before the check has none: Summary says so rather than nothing.
		fmt.Fprintf(w, "Projection   %s\n", r.Projection.Summary())
	}
	switch {
	case len(r.Findings) == 0 && r.Truncated == 0 && r.Phase == "done":
		fmt.Fprintln(w, "No findings: PortOne's records and the subscriptions agree over the window.")
		if r.Projection != nil && r.Projection.Skipped == "" && r.Projection.Errors == 0 {
			fmt.Fprintln(w, "The read model agrees with every subscription's state.")
		}
	case len(r.Findings) == 0 && r.Truncated == 0:
		fmt.Fprintf(w, "No findings yet: the reconciliation is still %s (show it again when it is done).\n", r.Phase)
	}
	if len(r.Days) == 0 {
		fmt.Fprintln(w, "No day totals yet (they come with the gathered payments).")
	}
	if len(r.Days) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "day (KST)\tpaid\tfailed\tcancels\tgross\trefunds\tnet\tours\tforeign\t")
		for _, d := range r.Days {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", d.Day, d.Paid, d.Failed, d.Cancels, d.Gross, d.Refunds, d.Net, d.Ours, d.Foreign)
		}
		_ = tw.Flush()
	}
	for _, f := range r.Findings {
		sub := f.SubscriptionID
		if sub == "" {
			sub = "(no subscription)"
		}
		mark := "not marked"
		switch {
		case f.Name == reconcile.FindingProjection:
			mark = "the read model's (never marked)"
		case f.Marked:
			mark = "marked"
		case f.MarkError != "":
			mark = "not marked: " + f.MarkError
		}
		fmt.Fprintf(w, "\n%s  %s  cycle %d  %s\n  %s\n", f.Name, sub, f.Cycle, mark, f.Detail)
		if f.Refund != nil {
			switch {
			case f.Refund.Refunded:
				fmt.Fprintf(w, "  refunded %s (%d KRW)\n", f.Refund.ImpUID, f.Refund.Amount)
			case f.Refund.Skipped != "":
				fmt.Fprintf(w, "  not refunded: %s\n", f.Refund.Skipped)
			case f.Refund.Error != "":
				fmt.Fprintf(w, "  refund failed: %s\n", f.Refund.Error)
			}
		}
	}
}

func reconcileScheduleCommand() *command {
	return &command{
		name:    "reconcile schedule",
		summary: "create or update the nightly reconciliation schedule (or trigger it now)",
		usage:   "starter reconcile schedule [-at HH:MM|off] [-overlap D] [-auto-refund-duplicates] [-rate N] [-trigger] [flags]",
		about: `Create or update the Temporal Schedule "reconcile-nightly" that starts the Reconcile workflow every
night at -at (KST) over the previous KST day plus -overlap. The worker does the same at start from
its BILLING_RECONCILE_* settings, so a worker restart brings the schedule back to the worker's
settings. -at off deletes the schedule. -trigger also starts a run now.`,
		examples: []string{`starter reconcile schedule -at 04:00 -overlap 72h`, `starter reconcile schedule -trigger`},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			at := new(string)
			a.env.String(at, "at", "BILLING_RECONCILE_AT", reconcile.DefaultAt, "HH:MM in KST, or off")
			overlap := fs.Duration("overlap", reconcile.DefaultOverlap, "how far before the previous KST day the window starts")
			autoRefund := fs.Bool("auto-refund-duplicates", false, "refund the unrecorded payment of a proven duplicate")
			rate := fs.Float64("rate", reconcile.DefaultRate, "PortOne requests per second")
			trigger := fs.Bool("trigger", false, "also start a run now")
			queue := new(string)
			a.env.String(queue, "task-queue", "BILLING_TASK_QUEUE", reconcile.TaskQueue, "task queue of the billing worker")
			return func(ctx context.Context) error {
				cfg := reconcile.ScheduleConfig{At: *at, TaskQueue: *queue, Input: reconcile.Input{Overlap: *overlap, AutoRefundDuplicates: *autoRefund, Rate: *rate}}
				if err := cfg.Validate(); err != nil {
					return refused("%v", err)
				}
				if *rate <= 0 {
					return refused("-rate: must be positive, got %g", *rate)
				}
				c, err := a.dial(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				did, err := reconcile.EnsureSchedule(ctx, c, cfg)
				if err != nil {
					return failed("%v", err)
				}
				fmt.Fprintf(a.stdout, "schedule %s: %s (at %s KST, overlap %s, auto refund %t, rate %g/s)\n", reconcile.ScheduleID, did, *at, *overlap, *autoRefund, *rate)
				if *trigger {
					if did == "off" {
						return refused("-trigger with -at off: there is no schedule to trigger")
					}
					if err := c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
						return failed("trigger %s: %v", reconcile.ScheduleID, err)
					}
					fmt.Fprintln(a.stdout, "triggered: starter reconcile show -latest")
				}
				return nil
			}
		},
	}
}
