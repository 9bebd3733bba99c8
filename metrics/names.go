package metrics

import "github.com/paycycle/paycycle/billing"

// Names of the counters the subscription workflow emits itself through
// workflow.GetMetricsHandler(ctx). They reach Prometheus through SDKHandler, which appends
// "_total" to every counter, so WorkflowDunningEntered is scraped as
// paycycle_dunning_entered_total. The workflow SDK's handler is replay-aware: a replayed
// workflow task does not count twice.
const (
	// WorkflowDunningEntered counts cycles that entered dunning (first failed attempt of a
	// cycle). Label: LabelDeclineClass.
	WorkflowDunningEntered = billing.MetricDunningEntered
	// WorkflowDunningRecovered counts cycles paid after having entered dunning. Label:
	// LabelVia (how the recovering charge was made).
	WorkflowDunningRecovered = billing.MetricDunningRecovered
	// WorkflowDunningFinalAction counts dunning that ran out of retries and grace. Label:
	// LabelAction.
	WorkflowDunningFinalAction = billing.MetricDunningFinalAction
	// WorkflowCyclesCharged counts billing cycles settled as paid, once per cycle whatever the
	// number of attempts. Label: LabelMode.
	WorkflowCyclesCharged = billing.MetricCyclesCharged
	// WorkflowAttemptsWithheld counts charge attempts the attempt ceiling withheld (a refused
	// charge_now, a dunning retry or a cycle's charge held for the window). Label: LabelReason.
	WorkflowAttemptsWithheld = billing.MetricAttemptsWithheld
)

// Label keys used by the workflow-side counters, with their closed sets of values.
const (
	// LabelDeclineClass is one of DeclineClasses.
	LabelDeclineClass = "decline_class"
	// LabelVia is "again" or "schedule".
	LabelVia = "via"
	// LabelAction is the dunning final action: "cancel" or "pause".
	LabelAction = "action"
	// LabelMode is the subscription's charge mode: "again" or "schedule".
	LabelMode = "mode"
	// LabelReason is the ceiling that withheld an attempt: billing.CeilingDeclines24h or
	// billing.CeilingReattempts30d.
	LabelReason = "reason"
	// LabelGeneration is the PortOne API generation of a request: GenerationV1 or GenerationV2.
	LabelGeneration = "generation"
)

// PortOne API generations (label values of LabelGeneration): two values, never an id.
const (
	GenerationV1 = "v1"
	GenerationV2 = "v2"
)

// Decline classes: what kind of refusal a declined charge was. Bounded; derived from PortOne's
// fail reason by activities.DeclineClass.
const (
	// DeclineNone means not a decline (paid, mismatch, …).
	DeclineNone = "none"
	// DeclineInsufficientFunds means the balance was too low.
	DeclineInsufficientFunds = "insufficient_funds"
	// DeclineLimitExceeded means a card or account limit was reached.
	DeclineLimitExceeded = "limit_exceeded"
	// DeclineBillingKey means the billing key is unusable (a hard decline).
	DeclineBillingKey = "billing_key"
	// DeclinePGRefusal means the PG or card company refused without a more precise reason.
	DeclinePGRefusal = "pg_refusal"
	// DeclineOther means anything else.
	DeclineOther = "other"
)

// DeclineClasses lists every decline class.
var DeclineClasses = []string{DeclineNone, DeclineInsufficientFunds, DeclineLimitExceeded, DeclineBillingKey, DeclinePGRefusal, DeclineOther}

// Names of the metrics this package registers itself, as scraped.
const (
	// ChargesTotal counts settled charge attempts by outcome and decline class.
	ChargesTotal = "paycycle_charges_total"
	// ChargedKRWTotal adds up the KRW PortOne approved.
	ChargedKRWTotal = "paycycle_charged_krw_total"
	// RefundedKRWTotal adds up the KRW refunded.
	RefundedKRWTotal = "paycycle_refunded_krw_total"
	// ChargeLateness is the histogram of due instant → approval.
	ChargeLateness = "paycycle_charge_lateness_seconds"
	// PortOneRequestsTotal counts PortOne exchanges by route template and result class.
	PortOneRequestsTotal = "paycycle_portone_requests_total"
	// PortOneRequestSeconds is the histogram of PortOne exchange durations by route template.
	PortOneRequestSeconds = "paycycle_portone_request_duration_seconds"
	// ActivityQueueWait is the histogram of first attempts' scheduled → started wait.
	ActivityQueueWait = "paycycle_activity_queue_wait_seconds"
	// WebhooksTotal counts the edge's webhooks by verdict.
	WebhooksTotal = "paycycle_webhooks_total"
	// ParkedSubscriptions is the last visibility count of parked subscriptions.
	ParkedSubscriptions = "paycycle_parked_subscriptions"
	// ParkedCountErrors counts failed visibility counts.
	ParkedCountErrors = "paycycle_parked_count_errors_total"
	// ParkedCountedAt is the Unix time of the last successful count.
	ParkedCountedAt = "paycycle_parked_last_count_timestamp_seconds"
)
