package billing

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names a merchant event: what happened to a subscription. The names are the
// webhook contract documented in the README; never rename one.
type EventType string

// Merchant event types.
const (
	EventSubscriptionStarted   EventType = "subscription.started"
	EventSubscriptionActivated EventType = "subscription.activated"
	EventSubscriptionPaused    EventType = "subscription.paused"
	EventSubscriptionResumed   EventType = "subscription.resumed"
	EventSubscriptionCanceled  EventType = "subscription.canceled"
	EventSubscriptionExpired   EventType = "subscription.expired"
	// EventCancelScheduled: a cancel at period end was accepted (access until paid_through).
	EventCancelScheduled EventType = "subscription.cancel_scheduled"
	// EventCancelUndone: a cancel at period end was withdrawn.
	EventCancelUndone EventType = "subscription.cancel_undone"

	EventChargeSucceeded    EventType = "charge.succeeded"
	EventChargeDeclined     EventType = "charge.declined"
	EventChargeDeclinedHard EventType = "charge.declined_hard"
	EventChargeRefunded     EventType = "charge.refunded"

	EventDunningStarted        EventType = "dunning.started"
	EventDunningRetryScheduled EventType = "dunning.retry_scheduled"
	EventDunningRecovered      EventType = "dunning.recovered"
	EventDunningFinalAction    EventType = "dunning.final_action"

	EventBillingKeyReplaced EventType = "billing_key.replaced"
	// EventRenewalUpcoming is sent a configured time before each renewal charge, for the
	// merchant's own pre-charge notice (결제 예정 알림).
	EventRenewalUpcoming EventType = "renewal.upcoming"

	EventRegistrationCompleted EventType = "registration.completed"
	EventRegistrationFailed    EventType = "registration.failed"

	// EventConsentRequired: a price rise is coming and needs the customer's consent (§13⑥);
	// data.consent says what to ask for.
	EventConsentRequired EventType = "consent.required"
	EventConsentGranted  EventType = "consent.granted"
	EventConsentRefused  EventType = "consent.refused"
	// EventTrialEnding is the notice 7 days before a free or discounted period turns paid:
	// the merchant sends the customer a text (여신전문금융업감독규정).
	EventTrialEnding EventType = "trial.ending"
	// EventPriceRising is the same notice 7 days before any other rise (a raising plan change),
	// or at once when the rise was made nearer than that.
	EventPriceRising EventType = "price.rising"
	// EventNeedsAttention: the subscription was parked for a person (an unknown charge outcome,
	// an amount mismatch, retries exhausted, a reconciliation finding, an operator's mark);
	// data.attention says why. Sent when the flag is set, not again while it stays set.
	EventNeedsAttention EventType = "subscription.needs_attention"
	// EventAttentionCleared: a person cleared that flag (clear_attention); data.attention is
	// the flag that was cleared.
	EventAttentionCleared EventType = "subscription.attention_cleared"
)

// AllEventTypes lists every event type, for documentation and tests.
var AllEventTypes = []EventType{
	EventSubscriptionStarted, EventSubscriptionActivated, EventSubscriptionPaused, EventSubscriptionResumed,
	EventSubscriptionCanceled, EventSubscriptionExpired, EventCancelScheduled, EventCancelUndone,
	EventChargeSucceeded, EventChargeDeclined, EventChargeDeclinedHard, EventChargeRefunded,
	EventDunningStarted, EventDunningRetryScheduled, EventDunningRecovered, EventDunningFinalAction,
	EventBillingKeyReplaced, EventRenewalUpcoming, EventRegistrationCompleted, EventRegistrationFailed,
	EventConsentRequired, EventConsentGranted, EventConsentRefused, EventTrialEnding, EventPriceRising,
	EventNeedsAttention, EventAttentionCleared,
}

// MerchantEvent is one event of a subscription's event stream, as the merchant's webhook
// endpoint receives it (the JSON body). Seq numbers a subscription's events from 1 without gaps,
// so a receiver can order them and notice one it missed; ID is stable across redeliveries, so a
// receiver can drop duplicates (it is also the webhook-id header). Payloads carry no card data
// and only masked personal data.
type MerchantEvent struct {
	ID             string          `json:"id"`
	Type           EventType       `json:"type"`
	SubscriptionID string          `json:"subscription_id"`
	Seq            int64           `json:"sequence"`
	Timestamp      time.Time       `json:"timestamp"`
	Data           json.RawMessage `json:"data"`
}

// EventID is the stable ID of a subscription incarnation's seq-th event. The incarnation tag
// keeps the IDs of a subscription ID reused after its end distinct.
func EventID(subscriptionID, tag string, seq int64) string {
	return fmt.Sprintf("evt_%s_%s_%d", subscriptionID, tag, seq)
}

// EventSubscription is the subscription summary every event carries in data.subscription.
type EventSubscription struct {
	Status       Status    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	Plan         string    `json:"plan"`
	Amount       int64     `json:"amount"`
	Currency     string    `json:"currency"`
	Interval     string    `json:"interval"`
	Cycle        int       `json:"cycle"`
	PaidThrough  time.Time `json:"paid_through,omitzero"`
	NextChargeAt time.Time `json:"next_charge_at,omitzero"`
	// CustomerUID is the billing key's customer_uid, masked.
	CustomerUID string `json:"customer_uid_masked"`
	// CancelAtPeriodEnd is true while a cancel at period end is pending.
	CancelAtPeriodEnd bool `json:"cancel_at_period_end,omitempty"`
}

// EventCharge describes a charge attempt in charge.* and dunning.* events.
type EventCharge struct {
	Cycle       int    `json:"cycle"`
	Attempt     int    `json:"attempt"`
	MerchantUID string `json:"merchant_uid"`
	ImpUID      string `json:"imp_uid,omitempty"`
	// PaymentID is the PortOne V2 paymentId the attempt was made under when it is not
	// MerchantUID (a cycle's attempts share one, CyclePaymentID): what a merchant's backend
	// looks the payment up by at PortOne V2, where ImpUID is the attempt's transactionId.
	// Absent on V1 and on V2 runs whose attempts each had their own paymentId.
	PaymentID string `json:"payment_id,omitempty"`
	Amount    int64  `json:"amount"`
	// TaxFree is the tax-exempt part of Amount (부가세 면세분): what a VAT return splits by.
	// Absent from events made before it was added; a zero is also omitted.
	TaxFree      int64     `json:"tax_free,omitempty"`
	Outcome      Outcome   `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
	DeclineClass string    `json:"decline_class,omitempty"`
	At           time.Time `json:"at"`
	ReceiptURL   string    `json:"receipt_url,omitempty"`
}

// EventRefund describes a refund in charge.refunded.
type EventRefund struct {
	Cycle       int    `json:"cycle"`
	MerchantUID string `json:"merchant_uid"`
	ImpUID      string `json:"imp_uid"`
	// PaymentID is the refunded payment's PortOne V2 paymentId, as EventCharge.PaymentID.
	PaymentID string `json:"payment_id,omitempty"`
	Amount    int64  `json:"amount"`
	// TaxFree is the tax-exempt part of Amount, as the refund was made (see EventCharge.TaxFree).
	TaxFree   int64     `json:"tax_free,omitempty"`
	Reason    string    `json:"reason"`
	Requester Requester `json:"requester"`
	At        time.Time `json:"at"`
}

// EventDunning describes the dunning of an unpaid cycle in dunning.* events.
type EventDunning struct {
	Cycle       int       `json:"cycle"`
	Attempts    int       `json:"attempts"`
	RetriesUsed int       `json:"retries_used"`
	NextRetryAt time.Time `json:"next_retry_at,omitzero"`
	GraceEndsAt time.Time `json:"grace_ends_at"`
	Hard        bool      `json:"hard,omitempty"`
	// FinalAction is set on dunning.final_action: "cancel" or "pause".
	FinalAction FinalAction `json:"final_action,omitempty"`
}

// EventRenewal describes the coming charge in renewal.upcoming.
type EventRenewal struct {
	ChargeAt time.Time `json:"charge_at"`
	Amount   int64     `json:"amount"`
	Plan     string    `json:"plan"`
	Cycle    int       `json:"cycle"`
}

// EventData is the data object of a merchant event: the subscription summary and the part
// the event is about.
type EventData struct {
	Subscription EventSubscription `json:"subscription"`
	Charge       *EventCharge      `json:"charge,omitempty"`
	Refund       *EventRefund      `json:"refund,omitempty"`
	Dunning      *EventDunning     `json:"dunning,omitempty"`
	Renewal      *EventRenewal     `json:"renewal,omitempty"`
	Consent      *ConsentState     `json:"consent,omitempty"`
	// Attention is the attention flag of subscription.needs_attention and
	// subscription.attention_cleared (kind, finding, detail: ids and amounts, no buyer data).
	Attention *Attention `json:"attention,omitempty"`
	// Detail is a short human-readable explanation (a cancel's reason, a failed registration's
	// message), bounded and free of personal data.
	Detail string `json:"detail,omitempty"`
}

// Final reports whether no event can follow this one (the subscription ended).
func (e MerchantEvent) Final() bool {
	return e.Type == EventSubscriptionCanceled || e.Type == EventSubscriptionExpired
}

// The per-subscription event outbox workflow: it receives a subscription's events in order and
// delivers them to the merchant's webhook endpoints, so that a slow or failing receiver never
// holds up billing.
const (
	// EventsWorkflowType is the registered name of the outbox workflow.
	EventsWorkflowType = "SubscriptionEvents"
	// EventsWorkflowIDPrefix starts every outbox's workflow ID (one outbox per subscription).
	EventsWorkflowIDPrefix = "subscription-events/"
	// SignalEvents carries a batch of MerchantEvent (in Seq order) to the outbox.
	SignalEvents = "events"
	// QueryDeliveries answers the outbox's delivery state.
	QueryDeliveries = "deliveries"
	// UpdateRedeliver queues events again for delivery (by ID or time range).
	UpdateRedeliver = "redeliver"
)

// EventsWorkflowID returns the workflow ID of a subscription's event outbox.
func EventsWorkflowID(subscriptionID string) string { return EventsWorkflowIDPrefix + subscriptionID }

// MaxPendingEvents bounds the events a subscription keeps while they cannot be handed to its
// outbox (Temporal unreachable from the worker); the oldest beyond it are dropped and counted.
const MaxPendingEvents = 200
