package webhooks_test

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
	"github.com/paycycle/paycycle/webhooks"
)

// TestReplayRecordedOutboxHistories replays the outbox histories recorded on a real server by
// e2e.TestRecordReplayHistories: an outbox lives as long as its subscription, so a change to
// the commands it issues must go behind workflow.GetVersion like the subscription's.
func TestReplayRecordedOutboxHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "outbox replay fixtures are missing")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			webhooks.RegisterWorkflow(r)
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)
			// The outbox checks its workflow ID, so replay under the original IDs.
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			var in webhooks.OutboxInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in))
			exec := workflow.Execution{ID: billing.EventsWorkflowID(in.SubscriptionID), RunID: started.GetOriginalExecutionRunId()}
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}))
		})
	}
}
