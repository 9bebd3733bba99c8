package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
)

// Activity options. Every activity sets StartToClose (the only way a worker crash is detected)
// and a bounded retry budget; definite refusals are non-retryable.
var (
	// readOptions are for lookups: cheap, safe to repeat.
	readOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
	// writeOptions are for charges, refunds, schedules and deletions: each activity looks before
	// it writes, so a retry after a lost answer is safe.
	writeOptions = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        2 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
		},
	}
	// reconcileOptions are for settling a charge whose outcome stayed unknown after the charge
	// activity gave up. No new charge for that cycle may start before this answers, so it retries
	// until PortOne answers; Temporal records no event per retry.
	reconcileOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeInvalidRequest},
		},
	}
	settingsOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}
)

// activity is the context of an activity with options o. From versionRunBehaviour on it is
// disconnected from the workflow's cancellation: a Temporal cancellation request must never
// abandon a charge or refund in flight at PortOne (its outcome would be unknown); the request
// is carried out as a billing cancel once the step in flight settled. Activities are routed to
// the worker's PortOne task queue when it has one (the global PortOne rate limit).
func (r *runner) activity(o workflow.ActivityOptions) workflow.Context {
	o = r.activityOptions(o)
	if r.features.lean && o.RetryPolicy != nil {
		// The activities raise every type of activities.NonRetryableErrorTypes as a
		// non-retryable error themselves (TestNonRetryableTypesAreNonRetryableAtTheSource), so
		// the list in the policy only repeated it, in every ActivityTaskScheduled event.
		p := *o.RetryPolicy
		p.NonRetryableErrorTypes = nil
		o.RetryPolicy = &p
	}
	if q := r.settings.PortOneTaskQueue; q != "" {
		o.TaskQueue = q
	}
	return workflow.WithActivityOptions(r.actx, o)
}

// activityOptions returns o with the worker's activity timeout applied: a crashed worker is
// noticed after that long, and its activity retried elsewhere.
func (r *runner) activityOptions(o workflow.ActivityOptions) workflow.ActivityOptions {
	if t := r.settings.ActivityTimeout; t > 0 {
		o.StartToCloseTimeout = t
	}
	return o
}

// cyclesPerRun is how many billing cycles one run handles before continuing as new, so that
// every run starts on recent code and its history stays small; leanCyclesPerRun with
// versionLeanRun: the carried state is written twice per run (the continue-as-new event and the
// next run's start), so a longer run cuts its share of the history bytes per cycle (issue 15).
// Forty-eight monthly cycles (four years) are about 600 events and 95 KB of history, replayed in
// tens of milliseconds after a cache eviction (BenchmarkReplayWholeRun); a new build still
// reaches a running subscription at its next cycle boundary (versionCANOnNewBuild), and
// GetContinueAsNewSuggested bounds a run in any case.
const (
	cyclesPerRun     = 12
	leanCyclesPerRun = 48
)

// CyclesPerRun is how many billing cycles a new run handles before continuing as new (runs
// recorded before versionLeanRun keep theirs).
const CyclesPerRun = leanCyclesPerRun

// cyclesPerRun is this run's number of cycles before continue-as-new.
func (r *runner) cyclesPerRun() int {
	if r.features.lean {
		return leanCyclesPerRun
	}
	return cyclesPerRun
}

// minRegistrationRecheck is the shortest interval between PortOne checks while awaiting
// registration.
const minRegistrationRecheck = 30 * time.Minute
