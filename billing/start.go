package billing

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// StartOptions are the one way to start a subscription workflow, shared by the starter, the
// edge's demo page and the load command, so they cannot drift apart again (only the starter
// used to set search attributes at start). taskQueue "" means TaskQueue.
//
//   - ID is WorkflowID(in.SubscriptionID).
//   - A second start while the subscription runs is refused (WorkflowExecutionErrorWhenAlreadyStarted,
//     conflict policy Fail): without it the SDK quietly hands back the running workflow and
//     the caller would believe a second subscription had started.
//   - An ended subscription's ID may be started again (reuse policy AllowDuplicate): the new
//     run's merchant_uid tag comes from its own run ID, so it can never adopt the old run's
//     payments.
//   - The search attributes are set at start, so the subscription is listed by status,
//     customer and plan before the worker has run its first task.
func StartOptions(in SubscriptionInput, taskQueue string) client.StartWorkflowOptions {
	if taskQueue == "" {
		taskQueue = TaskQueue
	}
	return client.StartWorkflowOptions{
		ID:                                       WorkflowID(in.SubscriptionID),
		TaskQueue:                                taskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SABillingStatus.ValueSet(string(StatusAwaitingRegistration)),
			SACustomerUID.ValueSet(in.CustomerUID),
			SAPlanName.ValueSet(in.Plan.Name),
			SAAmountKRW.ValueSet(in.Plan.Amount),
		),
	}
}
