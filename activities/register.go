package activities

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
)

// SettingsActivity is the name of the local activity that is not a PortOne call; every other
// exported method of Activities calls PortOne.
const SettingsActivity = "Settings"

// PortOneActivities returns every activity that calls PortOne, by its registered name (the method name,
// as workflows.Register registers the struct). These are what the dedicated PortOne task queue
// serves, so that its task-queue-wide rate limit bounds them all.
func PortOneActivities(a *Activities) map[string]any {
	return map[string]any{
		"CheckBillingKey":    a.CheckBillingKey,
		"VerifyRegistration": a.VerifyRegistration,
		"DeleteBillingKey":   a.DeleteBillingKey,
		"Charge":             a.Charge,
		"Lookup":             a.Lookup,
		"Refund":             a.Refund,
		"RefundStatus":       a.RefundStatus,
		"ScheduleCharge":     a.ScheduleCharge,
		"ScheduleStatus":     a.ScheduleStatus,
		"Unschedule":         a.Unschedule,
		"SettleAnswered":     a.SettleAnswered,
	}
}

// RegisterPortOne registers a's PortOne activities (and only them) on r. They are functions,
// not methods, because the SDK registers every method of the struct as an activity, under the same names
// as the workflow uses.
func RegisterPortOne(r worker.ActivityRegistry, a *Activities) {
	for name, fn := range PortOneActivities(a) {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
