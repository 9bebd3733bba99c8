package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/workflows"
)

// TestReplayRecordedHistories replays every history in testdata/ (recorded from real runs on a
// real server by e2e.TestRecordReplayHistories) against the current workflow code. A change
// that alters the commands an existing run already issued fails here, before it can break
// subscriptions in production; guard such changes with workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "replay fixtures are missing")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.RegisterWorkflow(r)
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)
			// The workflow checks that its ID matches its subscription, so replay under the
			// original ID (read from the input) and run IDs (from the started event).
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			var in billing.SubscriptionInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in))
			exec := workflow.Execution{ID: billing.WorkflowID(in.SubscriptionID), RunID: started.GetOriginalExecutionRunId()}
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}))
		})
	}
}
