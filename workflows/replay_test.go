package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/replaytest"
	"github.com/paycycle/paycycle/workflows"
)

// TestReplayRecordedHistories replays every history in testdata/ (recorded from real runs on a
// real server by e2e.TestRecordReplayHistories) against the current workflow code. A change
// that alters the commands an existing run already issued fails here, before it can break
// subscriptions in production; guard such changes with workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	replaytest.Dir(t, "testdata", func(r worker.WorkflowRegistry) { workflows.RegisterWorkflow(r) },
		func(t *testing.T, input *commonpb.Payloads) string {
			var in billing.SubscriptionInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(input, &in))
			return billing.WorkflowID(in.SubscriptionID)
		})
}
