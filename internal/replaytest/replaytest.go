// Package replaytest replays recorded workflow histories (saved as `temporal workflow show
// --output json` prints them) against today's workflow code, under their original workflow and
// run IDs: the replay gate of every long-lived workflow of the project.
package replaytest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Dir replays every *.json history in dir and in its folders, one level down: a folder is
// named after what its histories recorded (the version marker they carry, or "unversioned"),
// and its README.md says which. register registers the workflow on the replayer; workflowID
// names a history's workflow ID from its start input, because the workflows check that their ID
// matches their input.
func Dir(t *testing.T, dir string, register func(worker.WorkflowRegistry), workflowID func(t *testing.T, input *commonpb.Payloads) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	nested, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	require.NoError(t, err)
	files = append(files, nested...)
	require.NotEmpty(t, files, "replay fixtures are missing in %s", dir)
	for _, f := range files {
		name, err := filepath.Rel(dir, f)
		require.NoError(t, err)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			// The SDK's deadlock detector (1 s of wall time per workflow task) is off: replay
			// checks determinism, and under make test's -race on a busy machine a task can be
			// descheduled that long without spinning. A spin still fails the workflow tests,
			// whose environment detects one after 10 s.
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DisableDeadlockDetection: true})
			require.NoError(t, err)
			register(r)
			fh, err := os.Open(f)
			require.NoError(t, err)
			defer fh.Close()
			hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			require.NoError(t, err)
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			exec := workflow.Execution{ID: workflowID(t, started.GetInput()), RunID: started.GetOriginalExecutionRunId()}
			require.NoError(t, r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}))
		})
	}
}
