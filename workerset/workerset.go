// Package workerset starts a worker process's Temporal workers: the one on the billing task
// queue (the subscription workflow and its Settings local activity) and the one on the
// dedicated PortOne task queue, whose task-queue-wide activity rate is the global limit on
// PortOne requests across all worker processes. The worker binary and the load command share it,
// so that what is measured is what runs.
package workerset

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

// Defaults of the PortOne task queue and its rate.
const (
	// DefaultPortOneTaskQueue is the task queue of the PortOne activities.
	DefaultPortOneTaskQueue = "billing-portone"
	// DefaultPortOneRate is the default global PortOne activity rate per second. A charge is
	// one activity making one request (two when it retries or follows an earlier attempt of
	// the cycle: a lookup, then the charge), so 20/s keeps PortOne at 20-40 requests/s, under
	// the ~50 non-auth payments/s one PG page suggests.
	DefaultPortOneRate = 20
)

// Options configure the workers of one process.
type Options struct {
	// TaskQueue is the billing task queue (workflow and Settings). Required.
	TaskQueue string
	// PortOneTaskQueue is the PortOne activities' queue; empty: no dedicated queue (the
	// PortOne activities are then served on TaskQueue only).
	PortOneTaskQueue string
	// PortOneRate is the task-queue-wide activity rate per second (0: unlimited). Temporal keeps
	// the value the latest poller sent, so every worker must use the same.
	PortOneRate float64
	// MaxConcurrentActivities bounds the activities this process runs at once on each queue.
	MaxConcurrentActivities int
	// StopTimeout is how long running activities get to finish on Stop.
	StopTimeout time.Duration
	// Interceptors are added to both workers (metrics).
	Interceptors []interceptor.WorkerInterceptor
	// Deployment is the billing worker's Worker Versioning identity (deployment name and build
	// ID); zero: unversioned. The PortOne activity worker stays unversioned: it runs no
	// workflow code.
	Deployment worker.DeploymentOptions
	// Webhooks configures the merchant event stream's delivery; zero: no delivery worker
	// (outboxes still run, and their deliveries wait for a worker that has one).
	Webhooks Webhooks
}

// Webhooks configures the delivery of merchant events.
type Webhooks struct {
	// Deliverer delivers to the merchant's endpoints; nil: this process delivers nothing.
	Deliverer *webhooks.Deliverer
	// TaskQueue is the delivery activity's queue (default webhooks.DefaultDeliveryTaskQueue).
	TaskQueue string
	// DeliveryWindow is how long one event is retried (default webhooks.DefaultDeliveryWindow).
	DeliveryWindow time.Duration
}

// Start starts the worker on the billing queue (the workflow, the Settings local activity, and
// the PortOne activities for runs that still schedule them on their own queue) and, unless
// PortOneTaskQueue is empty, a second one on the PortOne queue serving only the PortOne
// activities. Both carry the same task-queue-wide rate, so while runs change over to the new
// routing PortOne sees at most twice the rate, and once every run routes to the PortOne queue,
// the rate itself. extra registers more workflows on the billing worker (the load command's
// stand-in workflow).
func Start(c client.Client, o Options, acts *activities.Activities, extra ...func(worker.Registry)) ([]worker.Worker, error) {
	switch {
	case o.TaskQueue == "":
		return nil, errors.New("workerset: TaskQueue is required")
	case o.PortOneTaskQueue == o.TaskQueue:
		return nil, fmt.Errorf("workerset: the PortOne task queue %q must differ from the billing task queue: the rate limit needs a queue of its own", o.PortOneTaskQueue)
	case o.Webhooks.TaskQueue != "" && (o.Webhooks.TaskQueue == o.TaskQueue || o.Webhooks.TaskQueue == o.PortOneTaskQueue):
		return nil, fmt.Errorf("workerset: the webhook task queue %q must differ from the billing and PortOne task queues: slow receivers must never take a charge's activity slot", o.Webhooks.TaskQueue)
	case o.PortOneRate < 0:
		return nil, fmt.Errorf("workerset: PortOneRate must be 0 (unlimited) or positive, got %v", o.PortOneRate)
	}
	opts := worker.Options{
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		TaskQueueActivitiesPerSecond:       o.PortOneRate,
		WorkerStopTimeout:                  o.StopTimeout,
		Interceptors:                       o.Interceptors,
	}
	mainOpts := opts
	mainOpts.DeploymentOptions = o.Deployment
	main := worker.New(c, o.TaskQueue, mainOpts)
	workflows.Register(main, acts)
	whq := o.Webhooks.TaskQueue
	if whq == "" {
		whq = webhooks.DefaultDeliveryTaskQueue
	}
	webhooks.Register(main, &webhooks.Publisher{Client: c, TaskQueue: o.TaskQueue, DeliveryTaskQueue: whq, DeliveryWindow: o.Webhooks.DeliveryWindow})
	for _, register := range extra {
		register(main)
	}
	workers := []worker.Worker{main}
	if o.PortOneTaskQueue != "" {
		po := opts
		po.DisableWorkflowWorker = true
		pw := worker.New(c, o.PortOneTaskQueue, po)
		activities.RegisterPortOne(pw, acts)
		workers = append(workers, pw)
	}
	if d := o.Webhooks.Deliverer; d != nil {
		wo := worker.Options{
			DisableWorkflowWorker:              true,
			MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
			WorkerStopTimeout:                  o.StopTimeout,
			Interceptors:                       o.Interceptors,
		}
		ww := worker.New(c, whq, wo)
		webhooks.RegisterDelivery(ww, d)
		workers = append(workers, ww)
	}
	for i, w := range workers {
		if err := w.Start(); err != nil {
			for _, started := range workers[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("start worker: %w", err)
		}
	}
	return workers, nil
}
