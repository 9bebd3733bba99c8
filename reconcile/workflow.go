package reconcile

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Register registers the Reconcile workflow and its activities (under their own names).
func Register(r worker.Registry, a *Activities) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterActivityWithOptions(a.Gather, activity.RegisterOptions{Name: ActivityGather})
	r.RegisterActivityWithOptions(a.MarkAttention, activity.RegisterOptions{Name: ActivityMarkAttention})
	r.RegisterActivityWithOptions(a.RefundDuplicate, activity.RegisterOptions{Name: ActivityRefundDuplicate})
}

// scheduledStartTime is set by Temporal Schedules on the workflows they start.
var scheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// maxWindow is PortOne's widest status-list window.
const maxWindow = 90 * 24 * time.Hour

// Window returns the window a run covers: in.From/in.To when given, otherwise the KST day
// before base extended back by the overlap. Both ends are instants; To is exclusive.
func Window(in Input, base time.Time) (from, to time.Time, err error) {
	if in.From.IsZero() != in.To.IsZero() {
		return from, to, fmt.Errorf("from and to: give both or neither")
	}
	if !in.From.IsZero() {
		from, to = in.From, in.To
	} else {
		d := calendar.DateOf(base)
		to = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, calendar.Seoul)
		if in.EndAtFireTime {
			to = base.Truncate(time.Second).Add(time.Second)
		}
		overlap := in.Overlap
		if overlap == 0 {
			overlap = DefaultOverlap
		}
		from = to.Add(-24*time.Hour - max(overlap, 0))
	}
	switch {
	case !to.After(from):
		return from, to, fmt.Errorf("to: must be after from (%s .. %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > maxWindow:
		return from, to, fmt.Errorf("to: the window is at most 90 days (PortOne's limit), got %s", to.Sub(from))
	}
	return from, to, nil
}

// Workflow is the Reconcile workflow: gather and check (one activity, whose result records the
// evidence in history), then the opt-in duplicate refunds, then the attention marks. The report
// is the result and the answer of QueryReport throughout.
func Workflow(ctx workflow.Context, in Input) (Report, error) {
	base := workflow.Now(ctx)
	if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTime); ok && !t.IsZero() {
		base = t
	}
	from, to, err := Window(in, base)
	if err != nil {
		return Report{}, temporal.NewNonRetryableApplicationError("invalid reconcile input: "+err.Error(), "InvalidInput", nil)
	}
	report := Report{Phase: "gathering", From: from, To: to, AsOf: workflow.Now(ctx), Counts: map[string]int{}, Findings: []Finding{}}
	if err := workflow.SetQueryHandler(ctx, QueryReport, func() (Report, error) { return report, nil }); err != nil {
		return report, err
	}
	log := workflow.GetLogger(ctx)

	gctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Hour,
		ScheduleToCloseTimeout: 12 * time.Hour,
		HeartbeatTimeout:       2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: []string{"Config", "InvalidInput"}},
	})
	var gathered Report
	if err := workflow.ExecuteActivity(gctx, ActivityGather, GatherInput{
		From: from, To: to, AsOf: report.AsOf, Rate: cmpOr(in.Rate, DefaultRate), StopTolerance: cmpOr(in.StopTolerance, DefaultStopTolerance),
		RepairProjection: in.RepairProjection,
	}).Get(ctx, &gathered); err != nil {
		report.Phase = "failed"
		return report, err
	}
	report = gathered
	log.Info("reconcile gathered", "from", from, "to", to, "findings", len(report.Findings), "subscriptions", report.Subscriptions, "payments", report.Payments)

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute, MaximumAttempts: 20},
	})
	if in.AutoRefundDuplicates {
		report.Phase = "refunding"
		for i := range report.Findings {
			f := &report.Findings[i]
			if f.Name != FindingDuplicate {
				continue
			}
			rin, skip := refundCandidate(*f)
			if skip != "" {
				f.Refund = &RefundOutcome{Skipped: skip}
				continue
			}
			var out RefundOutcome
			if err := workflow.ExecuteActivity(actx, ActivityRefundDuplicate, rin).Get(ctx, &out); err != nil {
				out = RefundOutcome{ImpUID: rin.ImpUID, Amount: rin.Amount, Error: err.Error()}
			}
			f.Refund = &out
			if out.Refunded {
				report.Refunded++
			}
		}
	}
	if !in.NoMarks {
		report.Phase = "marking"
		var marks []Mark
		var idx []int
		for i, f := range report.Findings {
			if f.WorkflowID == "" {
				continue
			}
			detail := f.Detail
			if f.Refund != nil && f.Refund.Refunded {
				detail = fmt.Sprintf("refunded %s (%d KRW) automatically; %s", f.Refund.ImpUID, f.Refund.Amount, detail)
			}
			if len(detail) > 1000 {
				detail = detail[:997] + "..."
			}
			marks = append(marks, Mark{WorkflowID: f.WorkflowID, Request: billing.AttentionRequest{
				Kind: billing.AttentionReconciliation, Finding: f.Name, Detail: detail, RequestID: f.RequestID}})
			idx = append(idx, i)
		}
		for start := 0; start < len(marks); start += 100 {
			end := min(start+100, len(marks))
			var res []MarkResult
			if err := workflow.ExecuteActivity(actx, ActivityMarkAttention, marks[start:end]).Get(ctx, &res); err != nil {
				for _, i := range idx[start:end] {
					report.Findings[i].MarkError = err.Error()
				}
				continue
			}
			for j, r := range res {
				f := &report.Findings[idx[start+j]]
				f.Marked, f.MarkError = r.Marked, r.Error
				if r.Marked {
					report.Marked++
				}
			}
		}
	}
	report.Phase = "done"
	return report, nil
}

// refundCandidate picks the payment to refund for a duplicate: only when exactly one of the kept
// payments is the one the subscription recorded, so the state stays right after the refund
// (one paid charge for the cycle), and the others are untouched at PortOne.
func refundCandidate(f Finding) (RefundDuplicateInput, string) {
	var recorded, others []Evidence
	for _, e := range f.PortOne {
		if e.Recorded {
			recorded = append(recorded, e)
		} else {
			others = append(others, e)
		}
	}
	switch {
	case len(recorded) != 1:
		return RefundDuplicateInput{}, fmt.Sprintf("%d of the kept payments are recorded as paid: a person decides which to refund", len(recorded))
	case len(others) != 1:
		return RefundDuplicateInput{}, fmt.Sprintf("%d unrecorded kept payments: a person decides", len(others))
	case others[0].CancelAmount != 0:
		return RefundDuplicateInput{}, "the unrecorded payment is already partly refunded"
	}
	return RefundDuplicateInput{SubscriptionID: f.SubscriptionID, Cycle: f.Cycle, ImpUID: others[0].ImpUID, Amount: others[0].Amount, KeptImpUID: recorded[0].ImpUID}, ""
}
