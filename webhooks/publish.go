package webhooks

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
)

// Publisher hands a subscription's new events to its outbox workflow, starting the outbox if it
// is not running. The subscription workflow runs it as a local activity after each step, so
// handing events over costs one marker in its history and never waits on a receiver.
type Publisher struct {
	Client client.Client
	// TaskQueue is where outbox workflows run (the billing task queue).
	TaskQueue string
	// DeliveryTaskQueue is the delivery activity's task queue; DeliveryWindow how long one
	// event is retried (see OutboxInput).
	DeliveryTaskQueue string
	DeliveryWindow    time.Duration
}

// PublishInput is a batch of one subscription's events, in Seq order.
type PublishInput struct {
	SubscriptionID string                  `json:"subscription_id"`
	Events         []billing.MerchantEvent `json:"events"`
}

// Publish signals the events to the subscription's outbox, starting it when needed. A batch
// handed over twice (the local activity retried after a lost answer) is harmless: the outbox
// ignores events whose Seq it already has.
func (p *Publisher) Publish(ctx context.Context, in PublishInput) error {
	if p.Client == nil {
		return errors.New("webhooks: Publisher has no Temporal client")
	}
	if len(in.Events) == 0 {
		return nil
	}
	_, err := p.Client.SignalWithStartWorkflow(ctx, billing.EventsWorkflowID(in.SubscriptionID), billing.SignalEvents, in.Events,
		client.StartWorkflowOptions{
			ID:        billing.EventsWorkflowID(in.SubscriptionID),
			TaskQueue: p.TaskQueue,
		}, billing.EventsWorkflowType, OutboxInput{
			SubscriptionID: in.SubscriptionID, DeliveryTaskQueue: p.DeliveryTaskQueue, DeliveryWindow: billing.Duration(p.DeliveryWindow),
		})
	return err
}
