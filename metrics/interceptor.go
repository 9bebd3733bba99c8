package metrics

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// WorkerInterceptor returns a worker interceptor that records, for each first attempt of a
// (non-local) activity, the wait between its scheduling and its start: on the PortOne task
// queue that is the time spent behind the task-queue-wide rate limit and the workers' slots.
// Retries are left out because their scheduled time is the first attempt's, so their wait would
// include the retry backoff.
func (r *Registry) WorkerInterceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{r: r}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	r *Registry
}

func (w *workerInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &activityInbound{r: w.r}
	a.Next = next
	return a
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	r *Registry
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	if !info.IsLocalActivity && info.Attempt == 1 && !info.ScheduledTime.IsZero() && !info.StartedTime.IsZero() {
		a.r.ActivityStarted(info.ActivityType.Name, info.StartedTime.Sub(info.ScheduledTime))
	}
	return a.Next.ExecuteActivity(ctx, in)
}
