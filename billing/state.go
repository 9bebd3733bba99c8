package billing

import (
	"time"

	"github.com/paycycle/paycycle/calendar"
)

// Status is where a subscription is in its life. It is also the BillingStatus search attribute.
type Status string

// Subscription statuses. Transitions: awaiting_registration → active ⇄ past_due → canceled;
// active ⇄ paused; past_due → payment_method_required after a hard decline; awaiting_registration
// → expired when nobody registered in time.
const (
	StatusAwaitingRegistration  Status = "awaiting_registration"
	StatusActive                Status = "active"
	StatusPastDue               Status = "past_due"
	StatusPaymentMethodRequired Status = "payment_method_required"
	StatusPaused                Status = "paused"
	StatusCanceled              Status = "canceled"
	StatusExpired               Status = "expired"
)

// AllStatuses lists every status, for documentation and CLI validation.
var AllStatuses = []Status{
	StatusAwaitingRegistration, StatusActive, StatusPastDue, StatusPaymentMethodRequired,
	StatusPaused, StatusCanceled, StatusExpired,
}

// Terminal reports whether no further charge can happen in this status.
func (s Status) Terminal() bool { return s == StatusCanceled || s == StatusExpired }

// Outcome is the result of one charge attempt.
type Outcome string

// Charge outcomes. Paid, declined (soft: retried later; hard: a new billing key is needed) and
// unknown (no trustworthy answer yet: looked up before anything else) never blur.
const (
	OutcomePaid           Outcome = "paid"
	OutcomeDeclined       Outcome = "declined"
	OutcomeDeclinedHard   Outcome = "declined_hard"
	OutcomeRejected       Outcome = "rejected"
	OutcomeAmountMismatch Outcome = "amount_mismatch"
	OutcomeUnknown        Outcome = "unknown"
	OutcomeScheduled      Outcome = "scheduled"
	OutcomeRevoked        Outcome = "revoked"
)

// Via says which PortOne operation made (or was asked to make) a charge.
type Via string

// Charge channels.
const (
	ViaAgain    Via = "again"
	ViaSchedule Via = "schedule"
)

// ChargeRecord is one charge attempt as the workflow knows it.
type ChargeRecord struct {
	Cycle       int       `json:"cycle"`
	Attempt     int       `json:"attempt"`
	MerchantUID string    `json:"merchant_uid"`
	ImpUID      string    `json:"imp_uid,omitempty"`
	Amount      int64     `json:"amount"`
	Outcome     Outcome   `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	Via         Via       `json:"via"`
	At          time.Time `json:"at"`
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	ReceiptURL  string    `json:"receipt_url,omitempty"`
}

// RefundRecord is one refund (PortOne cancel) the workflow made.
type RefundRecord struct {
	Cycle       int       `json:"cycle"`
	ImpUID      string    `json:"imp_uid"`
	MerchantUID string    `json:"merchant_uid"`
	Amount      int64     `json:"amount"`
	Reason      string    `json:"reason"`
	Requester   Requester `json:"requester"`
	At          time.Time `json:"at"`
	Outcome     string    `json:"outcome"`
}

// Period is one billing cycle's service period: charged at Start, access until End (exclusive);
// FirstDay..LastDay are its local dates in Asia/Seoul.
type Period struct {
	Cycle    int           `json:"cycle"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	FirstDay calendar.Date `json:"first_day"`
	LastDay  calendar.Date `json:"last_day"`
	// Stub marks the pro-rata first period between sign-up and the first anchor date.
	Stub bool `json:"stub,omitempty"`
}

// DunningState tracks the retries of one unpaid cycle.
type DunningState struct {
	Cycle int `json:"cycle"`
	// DueAt is the cycle's original due time; retry offsets count from it.
	DueAt time.Time `json:"due_at"`
	// Attempts made so far for this cycle (the first charge included).
	Attempts int `json:"attempts"`
	// RetriesUsed counts the policy's retries consumed.
	RetriesUsed int `json:"retries_used"`
	// NextRetryAt is when the next retry runs; zero when none is left or a new key is awaited.
	NextRetryAt time.Time `json:"next_retry_at,omitzero"`
	// GraceEndsAt is when access stops and the final action runs if still unpaid.
	GraceEndsAt time.Time `json:"grace_ends_at"`
	// LastReason is the last decline's reason.
	LastReason string `json:"last_reason,omitempty"`
	// Hard is true after a hard decline: no retry until a new billing key arrives.
	Hard bool `json:"hard,omitempty"`
}

// ScheduledCharge is a cycle's charge registered with PortOne's scheduler and not yet settled.
type ScheduledCharge struct {
	Cycle       int       `json:"cycle"`
	Attempt     int       `json:"attempt"`
	MerchantUID string    `json:"merchant_uid"`
	ScheduleAt  time.Time `json:"schedule_at"`
	Amount      int64     `json:"amount"`
	CustomerUID string    `json:"customer_uid"`
	// Checks counts the lookups made after schedule_at while PortOne had not executed it yet.
	Checks int `json:"checks,omitempty"`
}

// PauseState describes a pause in effect or pending.
type PauseState struct {
	// Pending is true while the pause waits for the current period's end.
	Pending   bool      `json:"pending,omitempty"`
	RequestAt time.Time `json:"requested_at"`
	PausedAt  time.Time `json:"paused_at,omitzero"`
	ResumeAt  time.Time `json:"resume_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
	// ByDunning is true when dunning's final action paused the subscription.
	ByDunning bool `json:"by_dunning,omitempty"`
}

// RegistrationState is what the workflow knows about the billing key's registration.
type RegistrationState struct {
	Deadline   time.Time `json:"deadline,omitzero"`
	ImpUID     string    `json:"imp_uid,omitempty"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// Event is one entry of the subscription's audit trail: who asked for what and why.
type Event struct {
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Requester string    `json:"requester,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// State is the subscription's complete state: the "state" query's answer, and what
// continue-as-new carries to the next run.
type State struct {
	SubscriptionID string        `json:"subscription_id"`
	CustomerUID    string        `json:"customer_uid"`
	Status         Status        `json:"status"`
	StatusReason   string        `json:"status_reason,omitempty"`
	Entitled       bool          `json:"entitled"`
	Tag            string        `json:"tag"`
	Plan           Plan          `json:"plan"`
	PendingPlan    *Plan         `json:"pending_plan,omitempty"`
	Buyer          Buyer         `json:"buyer,omitzero"`
	Dunning        DunningPolicy `json:"dunning_policy"`
	StartedAt      time.Time     `json:"started_at"`
	EndedAt        time.Time     `json:"ended_at,omitzero"`

	// Recurrence is the calendar of regular charges; NextIndex is the recurrence index of the
	// next regular charge.
	Recurrence *calendar.Recurrence `json:"recurrence,omitempty"`
	NextIndex  int                  `json:"next_index"`
	// Cycle is the number of the latest cycle billed (1 for the first), 0 before any.
	Cycle int `json:"cycle"`
	// CurrentPeriod is the latest cycle's service period.
	CurrentPeriod *Period `json:"current_period,omitempty"`
	// PaidThrough is the end of the last paid period: access ends there unless renewed.
	PaidThrough  time.Time `json:"paid_through,omitzero"`
	NextChargeAt time.Time `json:"next_charge_at,omitzero"`

	// Scheduled is the charge registered with PortOne's scheduler (schedule mode), if any.
	Scheduled     *ScheduledCharge  `json:"scheduled,omitempty"`
	DunningState  *DunningState     `json:"dunning,omitempty"`
	PendingCancel *CancelRequest    `json:"pending_cancel,omitempty"`
	Pause         *PauseState       `json:"pause,omitempty"`
	Registration  RegistrationState `json:"registration"`
	Charges       []ChargeRecord    `json:"charges"`
	Refunds       []RefundRecord    `json:"refunds,omitempty"`
	Events        []Event           `json:"events,omitempty"`
	// ChargesOmitted counts the oldest charge records dropped to keep the state small; they stay
	// in earlier runs' histories.
	ChargesOmitted int `json:"charges_omitted,omitempty"`
	// RecentRequestIDs remembers recent message request IDs so a duplicated message is harmless.
	RecentRequestIDs []string `json:"recent_request_ids,omitempty"`
	// Runs counts workflow runs (continue-as-new) of this subscription.
	Runs int `json:"runs"`
}

// Limits that keep the carried state far below Temporal's 2 MB payload limit.
const (
	MaxChargeRecords = 240
	MaxEvents        = 100
	MaxRequestIDs    = 64
)
