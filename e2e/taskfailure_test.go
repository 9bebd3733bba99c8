package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// An update can come back with "Unable to perform workflow execution update due to unexpected
// workflow task failure." (a WorkflowNotReady; TestConcurrentSubscriptionsFoundByStatus got it
// once for a cancel in CI). The server answers so when it fails, on the worker's answer, the
// workflow task that delivered the update (history service, RespondWorkflowTaskCompleted:
// updateRegistry.Abort(AbortReasonWorkflowTaskFailed) for an update in state Sent). Nothing of
// that task is applied: its commands and the update's acceptance are discarded, the server
// schedules a new task and the worker replays, so the update did not happen and sending it
// again is correct (the edge's cancel page tells a person to retry for the same reason).
//
// The server logs why it failed the task ("Failing the workflow task." with a cause). One cause
// is timing alone: UnhandledCommand, the worker completed or continued the run as new while an
// event (a timer, an activity result) reached the workflow in the meantime; the slower the
// machine, the wider that window. Any other cause (bad search attributes, a bad command or
// message) is a bug in the workflow, and the test fails on it instead of retrying.

// updateTries bounds how many times the harness sends one update.
const updateTries = 3

// taskFailureLogWait bounds the wait for the server's log line of a failed task.
var taskFailureLogWait = 3 * time.Second

// timingCauses are the workflow-task failure causes that a retry may paper over.
var timingCauses = map[string]bool{"UnhandledCommand": true}

// isTaskFailureAbort reports whether err is the server's answer to an update whose workflow task
// it failed: a WorkflowNotReady with the history service's sentence (matched by the sentence
// too, in case the SDK hands it over wrapped in a type of its own).
func isTaskFailureAbort(err error) bool {
	if err == nil || !strings.Contains(err.Error(), "update due to unexpected workflow task failure") {
		return false
	}
	var nr *serviceerror.WorkflowNotReady
	return errors.As(err, &nr) || strings.Contains(err.Error(), "Unable to perform workflow execution update")
}

// failedTask is one "Failing the workflow task." line of the server's log.
type failedTask struct {
	WorkflowID string `json:"wf-id"`
	Cause      string `json:"cause"`
	Message    string `json:"value"`
}

// failedTasks reads the workflow tasks the server failed for workflowID from its log (console
// format: time, level, message, then the fields as JSON).
func failedTasks(logPath, workflowID string) ([]failedTask, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var out []failedTask
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "Failing the workflow task.")
		if i < 0 {
			continue
		}
		j := strings.Index(line[i:], "{")
		if j < 0 {
			continue
		}
		var ft failedTask
		if json.Unmarshal([]byte(line[i+j:]), &ft) == nil && ft.WorkflowID == workflowID {
			out = append(out, ft)
		}
	}
	return out, sc.Err()
}

// awaitFailedTasks is failedTasks once the server has logged at least one for workflowID, or
// after within: the server aborts the update before it logs the task's failure, so the
// update's answer can reach the test before the line reaches the file.
func awaitFailedTasks(logPath, workflowID string, within time.Duration) ([]failedTask, error) {
	deadline := time.Now().Add(within)
	for {
		tasks, err := failedTasks(logPath, workflowID)
		if err != nil || len(tasks) > 0 || time.Now().After(deadline) {
			return tasks, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retryAfterTaskFailure decides, after an update of workflowID came back with a task-failure
// abort, whether to send it again: yes when every task failure the server logged for the
// workflow has a timing cause (or there is no log to read); no, with t failed, when one has a
// cause that is a bug.
func retryAfterTaskFailure(t testing.TB, serverLog, workflowID, update string, err error) bool {
	t.Helper()
	if serverLog == "" {
		t.Logf("update %s of %s: %v; sending it again (no server log to read the cause from)", update, workflowID, err)
		return true
	}
	tasks, rerr := awaitFailedTasks(serverLog, workflowID, taskFailureLogWait)
	if rerr != nil {
		t.Logf("update %s of %s: %v; server log unreadable (%v); sending it again", update, workflowID, err, rerr)
		return true
	}
	for _, ft := range tasks {
		if !timingCauses[ft.Cause] {
			t.Errorf("update %s of %s: the server failed a workflow task of the workflow with cause %s (%s): a bug in the workflow, not load", update, workflowID, ft.Cause, ft.Message)
			return false
		}
	}
	t.Logf("update %s of %s: %v; the server failed the task that carried it (logged causes: %+v), nothing of it was applied: sending it again", update, workflowID, err, tasks)
	return true
}

// TestUpdateRetriedOnlyAfterATimingTaskFailure checks the harness's decision on the server's
// log lines (as the history service writes them, console format).
func TestUpdateRetriedOnlyAfterATimingTaskFailure(t *testing.T) {
	abort := serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	require.True(t, isTaskFailureAbort(abort))
	require.False(t, isTaskFailureAbort(serviceerror.NewWorkflowNotReady("Workflow is not ready to handle updates")))
	require.False(t, isTaskFailureAbort(errors.New("unexpected workflow task failure")))
	require.True(t, isTaskFailureAbort(fmt.Errorf("update: %w", errors.New(abort.Error()))))
	require.False(t, isTaskFailureAbort(nil))

	wait := taskFailureLogWait
	taskFailureLogWait = 100 * time.Millisecond // the lines are all written before the decision
	t.Cleanup(func() { taskFailureLogWait = wait })
	line := func(wf, cause string) string {
		return `2026-12-07T13:12:36.534Z	info	Failing the workflow task.	{"value": "UnhandledCommand", "wf-id": "` + wf +
			`", "wf-run-id": "r", "wf-namespace-id": "n", "attempt": 1, "cause": "` + cause + `", "logging-call-at": "x.go:1"}`
	}
	for _, tt := range []struct {
		name  string
		lines []string
		retry bool
	}{
		{"no failure logged", []string{"2026-12-07T13:12:36.534Z	info	Update worker pool size	{}"}, true},
		{"timing", []string{line("subscription/fl-a", "UnhandledCommand")}, true},
		{"bug", []string{line("subscription/fl-a", "UnhandledCommand"), line("subscription/fl-a", "BadSearchAttributes")}, false},
		{"another workflow's bug", []string{line("subscription/fl-b", "BadSearchAttributes")}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir() + "/server.log"
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o644))
			rec := &recordingT{TB: t}
			require.Equal(t, tt.retry, retryAfterTaskFailure(rec, path, "subscription/fl-a", "cancel", abort))
			require.Equal(t, !tt.retry, rec.failed)
		})
	}
}

// recordingT records Errorf instead of failing.
type recordingT struct {
	testing.TB
	failed bool
}

func (r *recordingT) Errorf(string, ...any) { r.failed = true }
func (r *recordingT) Helper()               {}

// signalDuringCancel is a worker interceptor that, the first time a cancel update runs (not on
// replay), has the client signal the workflow and waits (bounded, well under the deadlock
// detector's second) for the server to take the signal: an event that reaches the workflow
// while the worker is completing the task in which the cancel ends it, as a PortOne
// notification or another sender's message can at any moment, and as a timer or an activity
// result can when the machine is slow.
type signalDuringCancel struct {
	interceptor.WorkerInterceptorBase
	c    client.Client
	done atomic.Bool
	sent chan error
}

func (i *signalDuringCancel) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &signalDuringCancelWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, i: i}
}

type signalDuringCancelWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	i *signalDuringCancel
}

func (w *signalDuringCancelWorkflow) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	if in.Name == billing.MsgCancel && !workflow.IsReplaying(ctx) && w.i.done.CompareAndSwap(false, true) {
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		go func() {
			sctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			w.i.sent <- w.i.c.SignalWorkflow(sctx, id, "", "e2e-noise", nil)
		}()
		select { //workflowcheck:ignore the test's stand-in for an event arriving meanwhile
		case <-w.i.sent:
		case <-time.After(800 * time.Millisecond): //workflowcheck:ignore
		}
	}
	return w.WorkflowInboundInterceptorBase.ExecuteUpdate(ctx, in)
}

// TestCancelAnsweredDespiteATaskFailure reproduces CI's "unexpected workflow task failure" on a
// cancel: an event reaches the workflow while the worker completes the task in which a cancel
// update ends the subscription, the server fails that task (UnhandledCommand) and aborts the
// update. The update was not applied: the subscription is still active and carries on, and the
// same cancel sent again cancels it, with the money invariants intact.
func TestCancelAnsweredDespiteATaskFailure(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	ic := &signalDuringCancel{c: s.c, sent: make(chan error, 1)}
	s.startWorker(stackOptions{workerOpts: worker.Options{Interceptors: []interceptor.WorkerInterceptor{ic}}})
	s.register("tf-a")
	s.start(demoInput("tf-a", "tf-a", 60*time.Second))
	eventually(t, 30*time.Second, "first charge", func() bool { return len(s.paid("tf-a-")) == 1 })
	eventually(t, 10*time.Second, "active", func() bool { return s.state("tf-a").Status == billing.StatusActive })

	req := billing.CancelRequest{When: billing.Now, Reason: "e2e"}
	_, err := s.updateOnce("tf-a", billing.MsgCancel, req)
	require.Error(t, err, "the cancel's task was failed by the server")
	require.True(t, isTaskFailureAbort(err), "%v", err)
	tasks, err := awaitFailedTasks(s.st.ServerLog, billing.WorkflowID("tf-a"), 5*time.Second)
	require.NoError(t, err)
	require.NotEmpty(t, tasks)
	require.Equal(t, "UnhandledCommand", tasks[0].Cause)
	eventually(t, 10*time.Second, "the workflow over the failed task", func() bool {
		st, err := s.tryState("tf-a")
		return err == nil && slices.ContainsFunc(st.Events, func(e billing.Event) bool { return strings.Contains(e.Detail, "e2e-noise") })
	})
	st := s.state("tf-a")
	require.Equal(t, billing.StatusActive, st.Status, "the aborted cancel was not applied")

	r, err := s.update("tf-a", billing.MsgCancel, req)
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, r.Status)
	st = s.state("tf-a")
	require.Equal(t, billing.StatusCanceled, st.Status)
	s.checkMoneyInvariants(st)
	require.Len(t, s.paid("tf-a-"), 1)
}
