package webhooks

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// DefaultDeliveryTaskQueue is the task queue of the delivery activity: a queue of its own, so
// that slow receivers never take the activity slots that charges need.
const DefaultDeliveryTaskQueue = "billing-webhooks"

// Register registers the outbox workflow and the Publisher local activity on the billing
// worker.
func Register(r worker.Registry, p *Publisher) {
	RegisterWorkflow(r)
	r.RegisterActivityWithOptions(p.Publish, activity.RegisterOptions{Name: PublishActivityName})
}

// RegisterWorkflow registers only the outbox workflow, as a replayer needs.
func RegisterWorkflow(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Outbox, workflow.RegisterOptions{Name: billing.EventsWorkflowType})
}

// RegisterDelivery registers the delivery activity on the delivery task queue's worker.
func RegisterDelivery(r worker.ActivityRegistry, d *Deliverer) {
	r.RegisterActivityWithOptions(d.Deliver, activity.RegisterOptions{Name: DeliverActivityName})
}

// Activity names, as the workflows call them.
const (
	PublishActivityName = "PublishEvents"
	DeliverActivityName = "DeliverEvent"
)
