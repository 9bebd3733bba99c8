// Package billing is the vocabulary that the workflow, the activities, the starter CLI and the
// HTTP edge share: the subscription workflow's input, its statuses and state, the names and
// payloads of its messages, the search attributes it maintains, and the merchant_uid codec.
//
// Everything here is part of a public contract: backend services in any language send these
// message names and JSON payloads, the billing team types the input into the Temporal Web UI,
// and operators query these search attributes. Change field names and message names only in a
// backwards-compatible way.
//
// The package is deterministic (no clock, no I/O), so workflow code may use all of it.
package billing

import "strings"

// TaskQueue is the Temporal task queue the billing worker polls.
const TaskQueue = "billing"

// WorkflowType is the registered name of the subscription workflow, as typed into the Web UI's
// "Start Workflow" form.
const WorkflowType = "Subscription"

// WorkflowIDPrefix starts every subscription's workflow ID, so that one subscription maps to
// exactly one workflow ID and a second start for the same subscription is refused.
const WorkflowIDPrefix = "subscription/"

// WorkflowID returns the workflow ID of a subscription.
func WorkflowID(subscriptionID string) string { return WorkflowIDPrefix + subscriptionID }

// SubscriptionIDFromWorkflowID returns the subscription ID a workflow ID names, and false when
// the workflow ID does not follow the subscription convention.
func SubscriptionIDFromWorkflowID(workflowID string) (string, bool) {
	id, ok := strings.CutPrefix(workflowID, WorkflowIDPrefix)
	return id, ok && id != ""
}
