package billing

import (
	"fmt"
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
	// OutcomeScheduled is a record state only: a charge handed to PortOne's scheduler, until
	// it runs. No activity returns it (one Outcome type serves activities and records).
	OutcomeScheduled Outcome = "scheduled"
	OutcomeRevoked   Outcome = "revoked"
	// OutcomeDuplicate is a second payment of a cycle that already had its kept payment: PortOne
	// charged an earlier attempt's merchant_uid by itself after another attempt was paid (its
	// console 리커버리 re-running a failed schedule). The workflow refunds it in full at once;
	// the refund is in Refunds.
	OutcomeDuplicate Outcome = "duplicate"
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
	Cycle   int `json:"cycle"`
	Attempt int `json:"attempt"`
	// MerchantUID is the attempt's own id (ChargeUID), on every gateway: events, refunds and
	// the audit trail name the attempt by it.
	MerchantUID string `json:"merchant_uid"`
	// ImpUID is the gateway's id of the attempt: V1's imp_uid, V2's transactionId.
	ImpUID string `json:"imp_uid,omitempty"`
	// PaymentID is the PortOne V2 paymentId the attempt was made under: the cycle's
	// (CyclePaymentID), shared by the cycle's attempts, or the attempt's merchant_uid in runs
	// before versionCyclePayment. Empty on V1, where the merchant_uid is the payment's id.
	// Read it through GatewayPaymentID.
	PaymentID string `json:"payment_id,omitempty"`
	Amount    int64  `json:"amount"`
	// TaxFree is the tax-exempt part of Amount that was asked for.
	TaxFree     int64     `json:"tax_free,omitempty"`
	Outcome     Outcome   `json:"outcome"`
	Reason      string    `json:"reason,omitempty"`
	Via         Via       `json:"via"`
	At          time.Time `json:"at"`
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	ReceiptURL  string    `json:"receipt_url,omitempty"`
	// FirstDay..LastDay are the KST days of service the charge pays for (its period's), and
	// Credit the KRW of earlier unused paid days taken off it, drawn from the payment
	// CreditFrom (a merchant_uid): the charge is worth Amount + Credit for those days. Runs
	// before versionNoDayTwice leave them empty.
	FirstDay   calendar.Date `json:"first_day,omitzero"`
	LastDay    calendar.Date `json:"last_day,omitzero"`
	Credit     int64         `json:"credit,omitempty"`
	CreditFrom string        `json:"credit_from,omitempty"`
	// Gateway is the gateway the charge was made through when it is not the subscription's
	// (State.Gateway): set on the V1 charges of a subscription that moved to a V2 key, so
	// that a later refund or lookup of them goes to V1. Empty otherwise.
	Gateway GatewayName `json:"gateway,omitempty"`
}

// GatewayPaymentID is the id the gateway knows the attempt's payment by: the V2 paymentId, or
// the merchant_uid (V1, and records made before PaymentID existed). With ImpUID it names the
// attempt at the gateway: several attempts of a V2 cycle share one PaymentID.
func (c ChargeRecord) GatewayPaymentID() string {
	if c.PaymentID != "" {
		return c.PaymentID
	}
	return c.MerchantUID
}

// PaymentKey names the payment a charge's money is in, for the bookkeeping of its refunds: its
// ImpUID, or while that is unknown its merchant_uid, which is the attempt's own. A PortOne V2
// charge answered by the approval alone (versionAnswerOnlyCharge) is recorded paid before its
// transactionId is known (learned from the verified webhook), and two such charges must not
// share one refund tally; the workflow fills the ImpUID of a charge and of its refunds at once,
// so both keys change together.
func (c ChargeRecord) PaymentKey() string { return paymentKey(c.ImpUID, c.MerchantUID) }

// PaymentKey names the payment the refund gave back from (ChargeRecord.PaymentKey).
func (f RefundRecord) PaymentKey() string { return paymentKey(f.ImpUID, f.MerchantUID) }

func paymentKey(impUID, merchantUID string) string {
	if impUID != "" {
		return impUID
	}
	return "merchant_uid:" + merchantUID
}

// RefundRecord is one refund (PortOne cancel) the workflow made.
type RefundRecord struct {
	Cycle       int    `json:"cycle"`
	ImpUID      string `json:"imp_uid"`
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
	// TaxFree is the tax-exempt part of Amount.
	TaxFree   int64     `json:"tax_free,omitempty"`
	Reason    string    `json:"reason"`
	Requester Requester `json:"requester"`
	At        time.Time `json:"at"`
	Outcome   string    `json:"outcome"`
	// Via names the credits a refund drawn along a credit's chain gives back (RefundShare.Via):
	// the merchant_uids of the charges whose Credit it passed through, newest first, or
	// ViaCurrentPeriod for the credit of a current period paid wholly by credit. Empty for a
	// refund of a period's own payment and for a pending credit's first payment.
	Via []string `json:"via,omitempty"`
	// CheckAt is when the workflow looks a requested refund (Outcome RefundRequested) up next
	// (zero: not followed any more, handed to a person); Looks counts the looks made.
	CheckAt time.Time `json:"check_at,omitzero"`
	Looks   int       `json:"looks,omitempty"`
	// CancellationID is PortOne V2's ID of the cancellation a requested refund is held under,
	// when PortOne named it: the looks follow that cancellation, as two refunds of one payment
	// held at once finish apart.
	CancellationID string `json:"cancellation_id,omitempty"`
}

// Refund outcomes (RefundRecord.Outcome). RefundMade is a refund PortOne gave back.
// RefundRequested is one PortOne holds as asked for and not finished (a V2 cancel still
// REQUESTED, versionRequestedRefund): the workflow looks again at CheckAt; it counts against
// the payment's refundable balance, as PortOne counts it, and screens and receipts say
// "requested, not yet confirmed"; reconciliation compares only made ones with PortOne's
// cancelled amounts. RefundFailed is one PortOne ended FAILED that could not be made again:
// nothing was given back, it counts nowhere, and the subscription was parked for a person.
const (
	RefundMade      = "refunded"
	RefundRequested = "requested"
	RefundFailed    = "failed"
)

// Counts reports whether the refund counts against the payment's refundable balance: made or
// still requested at PortOne, not failed.
func (f RefundRecord) Counts() bool { return f.Outcome != RefundFailed }

// Confirmed reports whether PortOne gave the refund back: neither requested nor failed (records
// made before versionRequestedRefund all are).
func (f RefundRecord) Confirmed() bool {
	return f.Outcome != RefundRequested && f.Outcome != RefundFailed
}

// ViaCurrentPeriod in a refund's Via stands for the credit of the current period when that
// period has no paid charge of its own (paid wholly by credit).
const ViaCurrentPeriod = "current_period"

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
	// Credit is the KRW of earlier unused paid days taken off this period's charge, drawn from
	// the payment CreditFrom (a merchant_uid).
	Credit     int64  `json:"credit,omitempty"`
	CreditFrom string `json:"credit_from,omitempty"`
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
	// Held is true while the next retry is an attempt the attempt ceiling withheld, waiting
	// for NextRetryAt, when the ceiling allows it: made then, it consumes no further policy retry.
	Held bool `json:"held,omitempty"`
	// HeldAmount is the amount of a cycle's first charge the ceiling held (a prorated charge
	// keeps its own amount when it is made later).
	HeldAmount int64 `json:"held_amount,omitempty"`
}

// ScheduledCharge is a cycle's charge registered with PortOne's scheduler and not yet settled.
type ScheduledCharge struct {
	Cycle       int    `json:"cycle"`
	Attempt     int    `json:"attempt"`
	MerchantUID string `json:"merchant_uid"`
	// PaymentID is the V2 paymentId the schedule was made under ("" on V1: the merchant_uid).
	PaymentID   string    `json:"payment_id,omitempty"`
	ScheduleAt  time.Time `json:"schedule_at"`
	Amount      int64     `json:"amount"`
	CustomerUID string    `json:"customer_uid"`
	// Checks counts the lookups made after schedule_at while PortOne had not executed it yet.
	Checks int `json:"checks,omitempty"`
}

// RecoveryWatch is a failed scheduled attempt of a cycle that another attempt paid: PortOne's
// 리커버리 may still charge its merchant_uid, so the workflow looks it up again at NextCheckAt
// (a bounded number of times) and refunds such a second payment.
type RecoveryWatch struct {
	Cycle int `json:"cycle"`
	// MerchantUID and Attempt are the failed scheduled attempt's; Amount and TaxFree what it asked.
	MerchantUID string `json:"merchant_uid"`
	Attempt     int    `json:"attempt"`
	Amount      int64  `json:"amount"`
	TaxFree     int64  `json:"tax_free,omitempty"`
	// KeptMerchantUID and KeptImpUID are the cycle's kept payment.
	KeptMerchantUID string `json:"kept_merchant_uid"`
	KeptImpUID      string `json:"kept_imp_uid"`
	// NextCheckAt is the next lookup; Checks counts those made.
	NextCheckAt time.Time `json:"next_check_at"`
	Checks      int       `json:"checks,omitempty"`
	// Gateway is the watched schedule's gateway when it is not the subscription's: a V1
	// schedule watched when the subscription moved to a V2 key. Empty otherwise.
	Gateway GatewayName `json:"gateway,omitempty"`
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
	// MovedFrom is the gateway the subscription left when replace_billing_key moved it to a V2
	// key (MovedAt): that key is a new NaverPay registration, made under IssueID, with the
	// customer's new consent to recurring payments; the old key's consent ended with it.
	MovedFrom GatewayName `json:"moved_from,omitempty"`
	MovedAt   time.Time   `json:"moved_at,omitzero"`
	IssueID   string      `json:"issue_id,omitempty"`
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
	SubscriptionID string `json:"subscription_id"`
	CustomerUID    string `json:"customer_uid"`
	// Gateway is the input's gateway ("" for V1), carried across continue-as-new.
	Gateway GatewayName `json:"gateway,omitempty"`
	// BillingKey is a V2 subscription's billing key as PortOne issued it, recorded once the
	// server verified it: issued, NaverPay, and carrying this subscription's issueId (the
	// customer_uid, which the registration page sends as issueId), or, for a key issued
	// beforehand and named as the customer_uid itself, that key. Empty on V1, whose
	// customer_uid is the key.
	BillingKey   string        `json:"billing_key,omitempty"`
	Status       Status        `json:"status"`
	StatusReason string        `json:"status_reason,omitempty"`
	Entitled     bool          `json:"entitled"`
	Tag          string        `json:"tag"`
	Plan         Plan          `json:"plan"`
	PendingPlan  *Plan         `json:"pending_plan,omitempty"`
	Buyer        Buyer         `json:"buyer,omitzero"`
	Dunning      DunningPolicy `json:"dunning_policy"`
	StartedAt    time.Time     `json:"started_at"`
	EndedAt      time.Time     `json:"ended_at,omitzero"`

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
	// Shown are NextCharge() and PaidUntil() as of the state query that answered: filled in by
	// the query alone (never carried across continue-as-new), so that a reader of the JSON
	// gets the figures the screens show without reimplementing them.
	Shown *ShownFigures `json:"shown,omitempty"`
	// Credit is KRW owed to the customer (unused paid days when a resume restarted the anchor),
	// taken off the next charge.
	Credit int64 `json:"credit,omitempty"`
	// CreditFrom is the merchant_uid of the payment whose unused days Credit gives back.
	CreditFrom string `json:"credit_from,omitempty"`

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
	// Attention is set while the subscription is parked for a person (see Attention).
	Attention *Attention `json:"attention,omitempty"`

	// EventSeq is the Seq of the latest merchant event made (0: none yet).
	EventSeq int64 `json:"event_seq,omitempty"`
	// PendingEvents are merchant events made but not yet handed to the subscription's outbox
	// workflow; they are carried across continue-as-new so none is lost.
	PendingEvents []MerchantEvent `json:"pending_events,omitempty"`
	// EventsDropped counts pending events dropped beyond MaxPendingEvents.
	EventsDropped int `json:"events_dropped,omitempty"`
	// RenewalNoticeFor is the charge instant whose renewal.upcoming event was made, so that it
	// is made once.
	RenewalNoticeFor time.Time `json:"renewal_notice_for,omitzero"`

	// TrialEndsAt is the end of a free trial (zero: none, or over: billing started).
	TrialEndsAt time.Time `json:"trial_ends_at,omitzero"`
	// FreeTrial is true once a free trial started: the price before the first paid cycle is 0.
	FreeTrial bool `json:"free_trial,omitempty"`
	// FirstCharge is the input's first_charge when it is "anchor" and billing has not started
	// by the calendar yet (a free trial running): carried across continue-as-new so that the
	// trial's end still waits for the anchor date. Empty is "now".
	FirstCharge FirstCharge `json:"first_charge,omitempty"`
	// CyclePrice is the plan price of the latest cycle begun; PaidPrice that of the latest cycle
	// paid, the baseline a rise is measured against (prorated stubs and credits do not count).
	CyclePrice int64 `json:"cycle_price,omitempty"`
	PaidPrice  int64 `json:"paid_price,omitempty"`
	// Consent is the coming price rise and its consent, if any.
	Consent *ConsentState `json:"consent,omitempty"`
	// ConsentHistory are the latest settled consents (granted and charged, refused, withdrawn).
	ConsentHistory []ConsentState `json:"consent_history,omitempty"`
	// ConversionNoticeFor is the conversion instant whose trial.ending notice was made (from
	// the known-rises version on, the instant of any rise whose 7-day notice was made).
	ConversionNoticeFor time.Time `json:"conversion_notice_for,omitzero"`
	// PlanChangedAt is when the pending plan change was asked for: a rise it makes is known
	// from then (its notice is short, not late, when that was less than 7 days ahead).
	PlanChangedAt time.Time `json:"plan_changed_at,omitzero"`
	// Phase is PricingPhase, as of the latest step.
	Phase string `json:"phase,omitempty"`
	// RecoveryWatches are failed scheduled attempts of paid cycles still looked up for a second
	// payment (PortOne's 리커버리), see RecoveryWatch.
	RecoveryWatches []RecoveryWatch `json:"recovery_watches,omitempty"`
	// CardAttempts is the attempt log the attempt ceiling counts (see AttemptCeiling), pruned to
	// what its windows need (PruneCardAttempts).
	CardAttempts []CardAttempt `json:"card_attempts,omitempty"`
}

// ShownFigures are the next charge and the paid-through instant as every screen shows them.
type ShownFigures struct {
	NextCharge time.Time `json:"next_charge,omitzero"`
	PaidUntil  time.Time `json:"paid_until,omitzero"`
}

// PricingPhase says where a subscription is in its pricing: "trial" (free), "intro" (cycle k of n at
// the introductory price) or "regular".
func (s *State) PricingPhase() string {
	switch {
	case !s.TrialEndsAt.IsZero():
		return "trial"
	case s.Plan.Trial != nil && s.Plan.Trial.Cycles > 0 && s.Cycle <= s.Plan.Trial.Cycles && s.Cycle > 0:
		return fmt.Sprintf("intro %d/%d", s.Cycle, s.Plan.Trial.Cycles)
	default:
		return "regular"
	}
}

// Limits that keep the carried state far below Temporal's 2 MB payload limit.
const (
	MaxChargeRecords = 240
	MaxEvents        = 100
	MaxRequestIDs    = 64
)

// ValidateCarried checks a state carried across continue-as-new before the workflow trusts it:
// the state must be one the workflow itself could have produced (a run continues as new only
// while billing, never before its billing key was verified or after it ended). It returns an
// *InputError naming the first impossible field under "continued.".
func (s *State) ValidateCarried() error {
	if err := ValidateSubscriptionID(s.SubscriptionID); err != nil {
		return &InputError{Field: "continued.subscription_id", Reason: err.Error()}
	}
	if err := ValidateCustomerUID(s.CustomerUID); err != nil {
		return &InputError{Field: "continued.customer_uid", Reason: err.Error()}
	}
	switch s.Status {
	case StatusActive, StatusPastDue, StatusPaymentMethodRequired, StatusPaused:
	default:
		return inputErr("continued.status", "a run continues as new only while billing, not when %q", s.Status)
	}
	if len(s.Tag) != TagLen {
		return inputErr("continued.tag", "must be %d characters", TagLen)
	}
	if err := s.Gateway.Validate("continued.gateway"); err != nil {
		return err
	}
	if err := s.Plan.Validate("continued.plan"); err != nil {
		return err
	}
	if s.PendingPlan != nil {
		if err := s.PendingPlan.Validate("continued.pending_plan"); err != nil {
			return err
		}
		if s.PendingPlan.Interval != s.Plan.Interval {
			return inputErr("continued.pending_plan.interval", "a plan change never changes the interval")
		}
	}
	if err := s.Dunning.validate("continued.dunning_policy"); err != nil {
		return err
	}
	if s.Recurrence == nil && s.TrialEndsAt.IsZero() {
		return inputErr("continued.recurrence", "is required once billing started")
	}
	switch s.FirstCharge {
	case "", FirstChargeNow, FirstChargeAnchor:
	default:
		return inputErr("continued.first_charge", `must be "now" or "anchor", got %q`, s.FirstCharge)
	}
	// During a free trial there is no calendar yet: it starts when the trial ends.
	if s.Recurrence != nil {
		if err := s.Recurrence.Validate(); err != nil {
			return inputErr("continued.recurrence", "%v", err)
		}
		if s.Recurrence.Interval != s.Plan.Interval {
			return inputErr("continued.recurrence.interval", "must be the plan's interval %s, got %s", s.Plan.Interval, s.Recurrence.Interval)
		}
	}
	if s.CyclePrice < 0 || s.PaidPrice < 0 || s.CyclePrice > MaxAmountKRW || s.PaidPrice > MaxAmountKRW {
		return inputErr("continued.paid_price", "is impossible")
	}
	if s.Cycle < 0 || s.NextIndex < 0 || s.Runs < 1 || s.ChargesOmitted < 0 {
		return inputErr("continued", "cycle, next_index, charges_omitted must not be negative and runs must be at least 1")
	}
	if s.PendingCancel != nil {
		if err := s.PendingCancel.Validate(); err != nil {
			return &InputError{Field: "continued.pending_cancel." + fieldOf(err), Reason: reasonOf(err)}
		}
	}
	if s.EventSeq < 0 || len(s.PendingEvents) > MaxPendingEvents {
		return inputErr("continued.event_seq", "must not be negative, and at most %d events may be pending", MaxPendingEvents)
	}
	for i, e := range s.PendingEvents {
		if e.SubscriptionID != s.SubscriptionID || e.Seq < 1 || e.Seq > s.EventSeq || e.ID != EventID(s.SubscriptionID, s.Tag, e.Seq) {
			return inputErr(fmt.Sprintf("continued.pending_events[%d]", i), "is not one of this subscription's events")
		}
	}
	for i, c := range s.Charges {
		if c.Cycle < 0 || c.Cycle > s.Cycle+1 || c.Amount < 0 || c.Amount > MaxAmountKRW {
			return inputErr(fmt.Sprintf("continued.charges[%d]", i), "cycle %d or amount %d is impossible", c.Cycle, c.Amount)
		}
		uid, err := ParseMerchantUID(c.MerchantUID)
		if err != nil || uid.SubscriptionID != s.SubscriptionID || uid.Charge.Tag != s.Tag || uid.Charge.Cycle != c.Cycle {
			return inputErr(fmt.Sprintf("continued.charges[%d].merchant_uid", i), "%q is not one of this subscription's", c.MerchantUID)
		}
		if c.PaymentID != "" && c.PaymentID != c.MerchantUID {
			pid, err := ParseMerchantUID(c.PaymentID)
			if err != nil || pid.Kind != KindCyclePayment || pid.SubscriptionID != s.SubscriptionID || pid.Charge.Tag != s.Tag || pid.Charge.Cycle != c.Cycle {
				return inputErr(fmt.Sprintf("continued.charges[%d].payment_id", i), "%q is not this subscription's paymentId for cycle %d", c.PaymentID, c.Cycle)
			}
		}
		if err := c.Gateway.Validate(fmt.Sprintf("continued.charges[%d].gateway", i)); err != nil {
			return err
		}
	}
	if sc := s.Scheduled; sc != nil && sc.PaymentID != "" && sc.PaymentID != sc.MerchantUID {
		// The schedule is revoked and looked up under it: it must be this subscription's.
		pid, err := ParseMerchantUID(sc.PaymentID)
		if err != nil || pid.Kind != KindCyclePayment || pid.SubscriptionID != s.SubscriptionID || pid.Charge.Tag != s.Tag || pid.Charge.Cycle != sc.Cycle {
			return inputErr("continued.scheduled.payment_id", "%q is not this subscription's paymentId for cycle %d", sc.PaymentID, sc.Cycle)
		}
	}
	if len(s.RecoveryWatches) > MaxRecoveryWatches {
		return inputErr("continued.recovery_watches", "at most %d, got %d", MaxRecoveryWatches, len(s.RecoveryWatches))
	}
	for i, w := range s.RecoveryWatches {
		if err := w.Gateway.Validate(fmt.Sprintf("continued.recovery_watches[%d].gateway", i)); err != nil {
			return err
		}
		// The watch refunds what it finds under these merchant_uids: both must be this
		// subscription's, of the watched cycle.
		for _, m := range []string{w.MerchantUID, w.KeptMerchantUID} {
			uid, err := ParseMerchantUID(m)
			if err != nil || uid.SubscriptionID != s.SubscriptionID || uid.Charge.Tag != s.Tag || uid.Charge.Cycle != w.Cycle {
				return inputErr(fmt.Sprintf("continued.recovery_watches[%d]", i), "%q is not one of this subscription's for cycle %d", m, w.Cycle)
			}
		}
	}
	return nil
}

// MaxRecoveryWatches bounds the watched failed schedules a carried state may hold (each cycle
// adds at most one, and each ends after a few days).
const MaxRecoveryWatches = 16

func fieldOf(err error) string {
	if ie, ok := err.(*InputError); ok {
		return ie.Field
	}
	return ""
}

func reasonOf(err error) string {
	if ie, ok := err.(*InputError); ok {
		return ie.Reason
	}
	return err.Error()
}
