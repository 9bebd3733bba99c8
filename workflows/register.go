package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// Register registers the subscription workflow and its activities on a worker or test
// environment, under the names the README documents.
func Register(r worker.Registry, a *activities.Activities) {
	RegisterWorkflow(r)
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{SkipInvalidStructFunctions: true})
}

// RegisterWorkflow registers only the workflow, as a replayer needs.
func RegisterWorkflow(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Subscription, workflow.RegisterOptions{Name: billing.WorkflowType})
}
