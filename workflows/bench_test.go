package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/workflows"
)

// BenchmarkReplayWholeRun measures what a worker pays to rebuild an evicted subscription from
// history: replaying one full run (its cycles, then continue-as-new), as after a cache eviction
// or a worker restart: a run of twelve cycles (before versionLeanRun) and one of forty-eight.
func BenchmarkReplayWholeRun(b *testing.B) {
	for _, bc := range []struct{ name, file string }{
		{"12_cycles", "messages-first-1/continue_as_new_first_run.json"},
		{"48_cycles", "paycycle-bundle-2026-12-2/continue_as_new_first_run.json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := os.Open(filepath.Join("testdata", bc.file))
			if err != nil {
				b.Fatal(err)
			}
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			started := hist.Events[0].GetWorkflowExecutionStartedEventAttributes()
			var in billing.SubscriptionInput
			if err := converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &in); err != nil {
				b.Fatal(err)
			}
			exec := workflow.Execution{ID: billing.WorkflowID(in.SubscriptionID), RunID: started.GetOriginalExecutionRunId()}
			for b.Loop() {
				r := worker.NewWorkflowReplayer()
				workflows.RegisterWorkflow(r)
				if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(hist.Events)), "events")
		})
	}
}
