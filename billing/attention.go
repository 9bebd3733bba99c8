package billing

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Parked subscriptions. Some situations need a person, not a retry: a charge whose outcome stays
// unknown past a bound, an amount mismatch, activity retries exhausted, or a reconciliation
// finding. The subscription is then flagged needs_attention (state, search attribute
// SANeedsAttention, metrics) until an operator clears it. Billing goes on where it safely can:
// the flag is for people; it never charges or refunds by itself.

const (
	// MsgMarkAttention flags the subscription for a human (signal and update, payload
	// AttentionRequest). Sent by the reconciliation workflow and by operators.
	MsgMarkAttention = "mark_attention"
	// MsgClearAttention clears the flag once a person has dealt with it (signal and update,
	// payload ClearAttentionRequest).
	MsgClearAttention = "clear_attention"
)

// Attention kinds: why a subscription was parked. Bounded on purpose (they are metric labels).
const (
	AttentionUnknownOutcome   = "unknown_outcome"
	AttentionAmountMismatch   = "amount_mismatch"
	AttentionRetriesExhausted = "retries_exhausted"
	AttentionReconciliation   = "reconciliation"
	AttentionOperator         = "operator"
)

// AttentionKinds lists every attention kind, for validation and metrics.
var AttentionKinds = []string{AttentionUnknownOutcome, AttentionAmountMismatch, AttentionRetriesExhausted, AttentionReconciliation, AttentionOperator,
	AttentionAttemptCeiling}

// AttentionRequest is the payload of MsgMarkAttention.
type AttentionRequest struct {
	// Kind is one of AttentionKinds.
	Kind string `json:"kind"`
	// Finding names the finding (for reconciliation: orphan, duplicate, drift, …).
	Finding string `json:"finding,omitempty"`
	// Detail is the evidence a person needs: merchant_uid, imp_uid, amounts, times. No personal data.
	Detail string `json:"detail"`
	// RequestID makes a repeated mark apply once.
	RequestID string `json:"request_id,omitempty"`
}

// ID implements the workflow's idempotency key.
func (r *AttentionRequest) ID() string { return r.RequestID }

// Validate checks the request.
func (r *AttentionRequest) Validate() error {
	known := false
	for _, k := range AttentionKinds {
		known = known || r.Kind == k
	}
	if !known {
		return &InputError{Field: "kind", Reason: fmt.Sprintf("must be one of %v, got %q", AttentionKinds, r.Kind)}
	}
	if utf8.RuneCountInString(r.Detail) > 1000 {
		return &InputError{Field: "detail", Reason: "at most 1000 characters"}
	}
	return nil
}

// ClearAttentionRequest is the payload of MsgClearAttention.
type ClearAttentionRequest struct {
	// Note says what the operator did about it (required: it is the audit trail).
	Note      string `json:"note"`
	RequestID string `json:"request_id,omitempty"`
}

// ID implements the workflow's idempotency key.
func (r *ClearAttentionRequest) ID() string { return r.RequestID }

// Validate checks the request.
func (r *ClearAttentionRequest) Validate() error {
	if r.Note == "" {
		return &InputError{Field: "note", Reason: "is required: say what was done"}
	}
	return nil
}

// Attention is a subscription's open attention flag, in State.
type Attention struct {
	Kind     string    `json:"kind"`
	Finding  string    `json:"finding,omitempty"`
	Detail   string    `json:"detail"`
	MarkedAt time.Time `json:"marked_at"`
}

// Names of the counters the subscription workflow emits through its SDK metrics handler (they
// reach Prometheus with "_total" appended; see package metrics). They live here, in the shared
// contract, so that workflow code names them without importing the metrics library.
const (
	// MetricDunningEntered counts cycles that entered dunning. Tag: decline_class.
	MetricDunningEntered = "paycycle_dunning_entered"
	// MetricDunningRecovered counts cycles paid after dunning. Tag: via.
	MetricDunningRecovered = "paycycle_dunning_recovered"
	// MetricDunningFinalAction counts dunning that ran its final action. Tag: action.
	MetricDunningFinalAction = "paycycle_dunning_final_action"
	// MetricCyclesCharged counts cycles settled paid, once per cycle. Tag: mode.
	MetricCyclesCharged = "paycycle_cycles_charged"
)
