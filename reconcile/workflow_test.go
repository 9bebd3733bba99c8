package reconcile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
)

// TestWorkflowNightly runs the Reconcile workflow as a schedule would start it (no window:
// derived from TemporalScheduledStartTime), with the real activities against the emulator and
// auto refund on: every finding reported, every affected subscription marked once with its
// finding, the duplicate's unrecorded payment refunded and the recorded one kept.
func TestWorkflowNightly(t *testing.T) {
	l := seedLedger(t, 50)
	l.subs.ended[billing.WorkflowID("stray")] = true

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second}) // a busy machine is not a deadlock (workflows/busy_test.go)
	Register(env, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs})
	env.SetStartTime(asOf.Add(3 * time.Minute)) // the run starts a little after it was scheduled
	require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(scheduledStartTime.ValueSet(asOf))))
	env.ExecuteWorkflow(WorkflowType, Input{AutoRefundDuplicates: true, Rate: 1000})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r Report
	require.NoError(t, env.GetWorkflowResult(&r))

	require.Equal(t, "done", r.Phase)
	require.True(t, kstAt(1, 0, 0).Equal(r.From), "from %s", r.From)
	require.True(t, kstAt(3, 0, 0).Equal(r.To), "to %s", r.To)
	require.Equal(t, l.want, names(r))

	dup := find(r, FindingDuplicate, "dup")
	require.NotNil(t, dup.Refund)
	require.True(t, dup.Refund.Refunded, "%+v", dup.Refund)
	require.Equal(t, l.dupExtra, dup.Refund.ImpUID)
	require.Equal(t, 1, r.Refunded)
	for _, le := range l.b.emu.Ledger() {
		switch le.ImpUID {
		case l.dupExtra:
			require.Equal(t, "cancelled", le.Status)
		case l.dupRecorded:
			require.Equal(t, "paid", le.Status)
			require.Zero(t, le.CancelAmount)
		}
	}

	// One mark per finding with a subscription; the ended one is reported, not marked.
	wantMarks := map[string][]string{}
	for _, f := range r.Findings {
		if f.WorkflowID == "" {
			require.False(t, f.Marked)
			continue
		}
		if f.SubscriptionID == "stray" {
			require.False(t, f.Marked)
			require.Contains(t, f.MarkError, "ended")
			continue
		}
		require.True(t, f.Marked, "%s %s", f.Name, f.SubscriptionID)
		wantMarks[f.WorkflowID] = append(wantMarks[f.WorkflowID], f.Name)
	}
	require.Equal(t, len(r.Findings)-2, r.Marked)
	for wf, findings := range wantMarks {
		var got []string
		for _, m := range l.subs.marks[wf] {
			require.Equal(t, billing.AttentionReconciliation, m.Kind)
			require.NoError(t, m.Validate())
			require.Contains(t, m.RequestID, "reconcile:"+m.Finding+":")
			got = append(got, m.Finding)
		}
		require.ElementsMatch(t, findings, got, wf)
	}
	require.Contains(t, l.subs.marks[billing.WorkflowID("dup")][0].Detail+l.subs.marks[billing.WorkflowID("dup")][1].Detail, "refunded "+l.dupExtra)

	v, err := env.QueryWorkflow(QueryReport)
	require.NoError(t, err)
	var q Report
	require.NoError(t, v.Get(&q))
	require.Equal(t, r.Counts, q.Counts)
	require.Equal(t, "done", q.Phase)
}

// TestWorkflowDefaultIsNoRefund: without the opt-in, the duplicate is reported and marked,
// and PortOne is only read.
func TestWorkflowDefaultIsNoRefund(t *testing.T) {
	l := seedLedger(t, 0)
	before := l.b.emu.Ledger()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second}) // a busy machine is not a deadlock (workflows/busy_test.go)
	Register(env, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs})
	env.SetStartTime(asOf)
	env.ExecuteWorkflow(WorkflowType, Input{Rate: 1000})
	require.NoError(t, env.GetWorkflowError())
	var r Report
	require.NoError(t, env.GetWorkflowResult(&r))
	require.Nil(t, find(r, FindingDuplicate, "dup").Refund)
	require.Zero(t, r.Refunded)
	require.Equal(t, before, l.b.emu.Ledger())
}

func TestWorkflowRefusesABadWindow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second}) // a busy machine is not a deadlock (workflows/busy_test.go)
	Register(env, &Activities{})
	env.ExecuteWorkflow(WorkflowType, Input{From: kstAt(2, 0, 0), To: kstAt(1, 0, 0)})
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, "InvalidInput", appErr.Type())
	require.Contains(t, appErr.Error(), "to: must be after from")
}
