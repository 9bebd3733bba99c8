package webhooks_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/replaytest"
	"github.com/paycycle/paycycle/webhooks"
)

// TestReplayRecordedOutboxHistories replays the outbox histories recorded on a real server by
// e2e.TestRecordReplayHistories: an outbox lives as long as its subscription, so a change to
// the commands it issues must go behind workflow.GetVersion like the subscription's.
func TestReplayRecordedOutboxHistories(t *testing.T) {
	replaytest.Dir(t, "testdata", func(r worker.WorkflowRegistry) { webhooks.RegisterWorkflow(r) },
		func(t *testing.T, input *commonpb.Payloads) string {
			var in webhooks.OutboxInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(input, &in))
			return billing.EventsWorkflowID(in.SubscriptionID)
		})
}
