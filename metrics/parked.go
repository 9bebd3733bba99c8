package metrics

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/paycycle/paycycle/billing"
)

// ParkedQuery is the visibility query that counts parked subscriptions: running subscription
// workflows whose NeedsAttention search attribute is true.
var ParkedQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = true", billing.WorkflowType, billing.SANeedsAttention.GetName())

// VisibilityCounter is the part of the Temporal client that WatchParked uses; client.Client satisfies it.
type VisibilityCounter interface {
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// CountParked counts parked subscriptions once and sets the gauge. On failure the gauge keeps
// its last value and paycycle_parked_count_errors_total grows, so an alert can tell "none
// parked" from "cannot count".
func (r *Registry) CountParked(ctx context.Context, c VisibilityCounter, namespace string) (int64, error) {
	res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: ParkedQuery})
	if err != nil {
		r.parkedErrors.Inc()
		return 0, fmt.Errorf("count parked subscriptions: %w", err)
	}
	r.parked.Set(float64(res.Count))
	r.parkedAt.SetToCurrentTime()
	return res.Count, nil
}

// WatchParked counts parked subscriptions every interval until ctx ends. A visibility count is
// cheap for the server but not free, so the interval should be a minute or more in production;
// every worker replica counts the same thing (the alert takes the max).
func (r *Registry) WatchParked(ctx context.Context, c VisibilityCounter, namespace string, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, min(interval, 30*time.Second))
		_, err := r.CountParked(cctx, c, namespace)
		cancel()
		if err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
