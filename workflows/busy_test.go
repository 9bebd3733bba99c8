package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
)

// busyMoment is how long a workflow task of TestWorkflowTestsTolerateABusyMachine is kept from
// running: more than the SDK's default deadlock timeout (1 s of wall time).
const busyMoment = 1500 * time.Millisecond

// TestWorkflowTestsTolerateABusyMachine: the workflow tests' environment (newEnv) does not
// mistake a busy machine for a deadlock. The SDK's detector fails a workflow task whose
// coroutine has not yielded after 1 s of wall time; under make test (-race, every package's
// tests at once, Temporal servers and browsers among them, on two cores) a coroutine can be
// descheduled that long without spinning, and a `go test ./workflows` run failed while another
// package ran beside it. The sleep below stands for that moment.
func TestWorkflowTestsTolerateABusyMachine(t *testing.T) {
	env := newEnv(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		time.Sleep(busyMoment) //workflowcheck:ignore a stand-in for a task descheduled by a loaded machine
		return workflow.Sleep(ctx, time.Hour)
	}, workflow.RegisterOptions{Name: "busy-moment"})
	env.ExecuteWorkflow("busy-moment")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
}
