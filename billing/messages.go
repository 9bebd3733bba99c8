package billing

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Message names. Each command exists as a signal (fire and forget) and as an update with the
// same name and payload (validated, answers with a Receipt). Backend services in any language
// use these names; the README documents them.
const (
	// MsgCancel cancels at the period's end (default) or now, optionally refunding.
	MsgCancel = "cancel"
	// MsgUndoCancel withdraws a pending cancel-at-period-end.
	MsgUndoCancel = "undo_cancel"
	// MsgPause pauses now or at the period's end.
	MsgPause = "pause"
	// MsgResume ends a pause.
	MsgResume = "resume"
	// MsgChangePlan changes name, amount or tax_free from the next cycle.
	MsgChangePlan = "change_plan"
	// MsgReplaceBillingKey switches to a new customer_uid; when past due, it retries at once.
	MsgReplaceBillingKey = "replace_billing_key"
	// MsgChargeNow retries an unpaid cycle at once.
	MsgChargeNow = "charge_now"
	// MsgConsent records the customer's consent (or refusal) to a coming price rise.
	MsgConsent = "consent"
	// MsgEndTrial ends a free trial early (its consent must be on record).
	MsgEndTrial = "end_trial"

	// SignalRegistered tells a subscription awaiting registration that the customer registered
	// (sent by the HTTP edge after the NaverPay redirect or popup callback).
	SignalRegistered = "registered"
	// SignalRegistrationFailed records a failed registration attempt's message.
	SignalRegistrationFailed = "registration_failed"
	// SignalPaymentNotification relays a PortOne webhook (schedule mode) after the edge verified it.
	SignalPaymentNotification = "payment_notification"

	// QueryState answers the full State.
	QueryState = "state"
)

// Requester says who asked for a cancel, refund or billing-key deletion; NaverPay's review
// requires it on every cancel and deletion.
type Requester string

// Requesters.
const (
	RequesterCustomer Requester = "customer"
	RequesterAdmin    Requester = "admin"
)

// CancelWhen says when a cancel takes effect.
type CancelWhen string

// Cancel timings.
const (
	AtPeriodEnd CancelWhen = "period_end"
	Now         CancelWhen = "now"
)

// RefundPolicy says what a cancel refunds.
type RefundPolicy string

// Refund policies. Pro-rata refunds the unused whole KST days of the current period, floored to
// the won (see calendar.Prorate).
const (
	RefundNone    RefundPolicy = "none"
	RefundProrata RefundPolicy = "prorata"
	RefundFull    RefundPolicy = "full"
)

// CancelRequest is the payload of MsgCancel.
type CancelRequest struct {
	RequestID string       `json:"request_id,omitempty"`
	When      CancelWhen   `json:"when,omitempty"`
	Reason    string       `json:"reason"`
	Requester Requester    `json:"requester,omitempty"`
	Refund    RefundPolicy `json:"refund,omitempty"`
	// RequestedAt is set by the workflow when it accepts the request.
	RequestedAt time.Time `json:"requested_at,omitzero"`
}

// UndoCancelRequest is the payload of MsgUndoCancel.
type UndoCancelRequest struct {
	RequestID string `json:"request_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// PauseRequest is the payload of MsgPause.
type PauseRequest struct {
	RequestID string     `json:"request_id,omitempty"`
	When      CancelWhen `json:"when,omitempty"`
	ResumeAt  time.Time  `json:"resume_at,omitzero"`
	Reason    string     `json:"reason,omitempty"`
}

// ResumeAnchor says how billing restarts after a pause.
type ResumeAnchor string

// Resume choices.
const (
	// ResumeKeepAnchor resumes access at once and charges on the next anchor date.
	ResumeKeepAnchor ResumeAnchor = "keep"
	// ResumeRestartAnchor charges a full cycle at once and makes today the new anchor.
	ResumeRestartAnchor ResumeAnchor = "restart"
)

// ResumeRequest is the payload of MsgResume.
type ResumeRequest struct {
	RequestID string       `json:"request_id,omitempty"`
	Anchor    ResumeAnchor `json:"anchor,omitempty"`
	Reason    string       `json:"reason,omitempty"`
}

// ChangePlanRequest is the payload of MsgChangePlan; omitted fields stay as they are. The change
// applies from the next cycle, or with When "now" at once: the rest of the current period is
// charged at the new price less the unused part of what was paid for it, or a decrease is
// credited to the next charge (the README's consent section has every rule).
type ChangePlanRequest struct {
	RequestID string `json:"request_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Code      string `json:"code,omitempty"`
	Amount    int64  `json:"amount,omitempty"`
	TaxFree   *int64 `json:"tax_free,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// When is "period_end" (default: from the next cycle) or "now".
	When CancelWhen `json:"when,omitempty"`
	// Consent is the customer's consent to a rise taking effect now (change_date today); only
	// with When "now" and a higher price.
	Consent *ConsentRequest `json:"consent,omitempty"`
}

// ReplaceBillingKeyRequest is the payload of MsgReplaceBillingKey. It names the new key one of
// two ways: a customer_uid of the subscription's own gateway (what the message always took), or,
// with Gateway "portone_v2", a PortOne V2 billing key (BillingKey) and the issueId it was issued
// under (IssueID). The second moves a V1 subscription onto V2: the V2 key is a new NaverPay
// registration, with the customer's new consent to recurring payments; a V1 key itself never
// becomes a V2 key (PortOne documents no in-place migration), and nothing moves back to V1.
type ReplaceBillingKeyRequest struct {
	RequestID   string `json:"request_id,omitempty"`
	CustomerUID string `json:"customer_uid,omitempty"`
	// DeleteOld deletes the previous billing key at PortOne once the new one is verified
	// (default true; never when the customer_uid did not change).
	DeleteOld *bool  `json:"delete_old,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Gateway is the new key's gateway: "" (the subscription's own), "portone_v1" (a V1
	// subscription's customer_uid) or "portone_v2" (BillingKey names a V2 key).
	Gateway GatewayName `json:"gateway,omitempty"`
	// BillingKey is the V2 billing key PortOne issued (with Gateway "portone_v2"). The workflow
	// trusts it only after PortOne V2 confirmed it: issued, NaverPay's, under IssueID.
	BillingKey string `json:"billing_key,omitempty"`
	// IssueID is the issueId the V2 key was issued under (requestIssueBillingKey's issueId):
	// the key must carry it, and it becomes the subscription's customer_uid, as on every V2
	// subscription. Default: the subscription's current customer_uid.
	IssueID string `json:"issue_id,omitempty"`
}

// ReplaceV2Fields are the JSON names of the fields that name a V2 key in a replace_billing_key
// payload (added with the move to V2; a run recorded before it reads them as it did then).
var ReplaceV2Fields = []string{"gateway", "billing_key", "issue_id"}

// ToV2 reports whether the request names a PortOne V2 key (BillingKey, with Gateway
// "portone_v2").
func (r *ReplaceBillingKeyRequest) ToV2() bool { return r.Gateway.IsV2() }

// ChargeNowRequest is the payload of MsgChargeNow.
type ChargeNowRequest struct {
	RequestID string `json:"request_id,omitempty"`
}

// RegisteredSignal is the payload of SignalRegistered.
type RegisteredSignal struct {
	ImpUID      string `json:"imp_uid"`
	MerchantUID string `json:"merchant_uid,omitempty"`
	// BillingKey is the key PortOne V2 issued (a V2 subscription's registration has no
	// registration payment, so ImpUID is empty then). The workflow verifies it before use.
	BillingKey string `json:"billing_key,omitempty"`
}

// RegistrationFailedSignal is the payload of SignalRegistrationFailed.
type RegistrationFailedSignal struct {
	MerchantUID string `json:"merchant_uid,omitempty"`
	Error       string `json:"error"`
}

// PaymentNotification is the payload of SignalPaymentNotification: a webhook the edge verified by
// fetching the payment from PortOne. The workflow still settles the charge through its own
// lookup, so a notification can only make it look sooner, never change what it finds. The one
// thing it records (PortOne V2, versionAnswerOnlyCharge) is the transactionId of a charge PortOne
// approved without naming it; an Amount other than the one asked is not taken from the message
// either: the workflow reads the payment itself and applies the mismatch rule.
type PaymentNotification struct {
	ImpUID      string `json:"imp_uid"`
	MerchantUID string `json:"merchant_uid"`
	Status      string `json:"status"`
	Amount      int64  `json:"amount,omitempty"`
}

// Receipt is an update's answer.
type Receipt struct {
	Message string `json:"message"`
	Status  Status `json:"status"`
	// NextChargeAt is the next charge (State.NextCharge): zero when none will come, as after a
	// cancel at period end.
	NextChargeAt time.Time `json:"next_charge_at,omitzero"`
	// PaidThrough is the end of the service paid for and kept (State.PaidUntil); answers of
	// workers before versionMoneyScreens leave it out.
	PaidThrough time.Time     `json:"paid_through,omitzero"`
	Refund      *RefundRecord `json:"refund,omitempty"`
	Duplicate   bool          `json:"duplicate,omitempty"`
}

// Normalize fills defaults: at period end, requested by an admin, no refund.
func (r *CancelRequest) Normalize() {
	if r.When == "" {
		r.When = AtPeriodEnd
	}
	if r.Requester == "" {
		r.Requester = RequesterAdmin
	}
	if r.Refund == "" {
		r.Refund = RefundNone
	}
	r.Reason = strings.TrimSpace(r.Reason)
}

// Validate checks a normalized cancel request.
func (r *CancelRequest) Validate() error {
	switch r.When {
	case AtPeriodEnd, Now:
	default:
		return inputErr("when", `must be "period_end" or "now", got %q`, r.When)
	}
	if err := r.Requester.Validate(); err != nil {
		return &InputError{Field: "requester", Reason: err.Error()}
	}
	switch r.Refund {
	case RefundNone, RefundProrata, RefundFull:
	default:
		return inputErr("refund", `must be "none", "prorata" or "full", got %q`, r.Refund)
	}
	if r.When == AtPeriodEnd && r.Refund != RefundNone {
		return inputErr("refund", "a cancel at period end leaves nothing unused to refund; cancel with when=\"now\" to refund")
	}
	if !hasVisibleText(r.Reason) {
		return inputErr("reason", "is required: NaverPay's review requires the real reason on every cancel (control or invisible characters alone are not a reason)")
	}
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// MaxReasonRunes bounds every free-text reason in a message: it is stored in the audit trail and
// sent to PortOne (NaverPay reviews it).
const MaxReasonRunes = 200

// validateReason bounds a reason's length and refuses control characters (other than none at
// all): they would corrupt the audit trail and what NaverPay's review sees.
func validateReason(reason string) error {
	if n := utf8.RuneCountInString(reason); n > MaxReasonRunes {
		return inputErr("reason", "is %d characters; at most %d", n, MaxReasonRunes)
	}
	for _, c := range reason {
		if unicode.IsControl(c) {
			return inputErr("reason", "contains the control character %U", c)
		}
	}
	return nil
}

// hasVisibleText reports whether s contains at least one letter, digit, mark, punctuation or
// symbol: a reason made only of spaces, control or format characters (zero-width spaces, BOMs)
// says nothing.
func hasVisibleText(s string) bool {
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsPunct(c) || unicode.IsSymbol(c) || (unicode.IsMark(c) && !unicode.Is(unicode.Cf, c)) {
			return true
		}
	}
	return false
}

// Validate reports whether r is "customer" or "admin".
func (r Requester) Validate() error {
	switch r {
	case RequesterCustomer, RequesterAdmin:
		return nil
	}
	return fmt.Errorf(`must be "customer" or "admin", got %q`, r)
}

// Normalize fills defaults: pause at period end.
func (r *PauseRequest) Normalize() {
	if r.When == "" {
		r.When = AtPeriodEnd
	}
	r.Reason = strings.TrimSpace(r.Reason)
}

// Validate checks a normalized pause request.
func (r *PauseRequest) Validate() error {
	switch r.When {
	case AtPeriodEnd, Now:
	default:
		return inputErr("when", `must be "period_end" or "now", got %q`, r.When)
	}
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// Normalize fills defaults: keep the anchor.
func (r *ResumeRequest) Normalize() {
	if r.Anchor == "" {
		r.Anchor = ResumeKeepAnchor
	}
}

// Validate checks a normalized resume request.
func (r *ResumeRequest) Validate() error {
	switch r.Anchor {
	case ResumeKeepAnchor, ResumeRestartAnchor:
	default:
		return inputErr("anchor", `must be "keep" or "restart", got %q`, r.Anchor)
	}
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// Validate checks an undo-cancel request.
func (r *UndoCancelRequest) Validate() error {
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// Validate checks a change-plan request against the plan it would change.
func (r *ChangePlanRequest) Validate(current Plan) error {
	if r.Name == "" && r.Code == "" && r.Amount == 0 && r.TaxFree == nil {
		return inputErr("", "nothing to change: give name, code, amount or tax_free")
	}
	switch r.When {
	case "", AtPeriodEnd, Now:
	default:
		return inputErr("when", `must be "period_end" or "now", got %q`, r.When)
	}
	if r.Consent != nil && r.When != Now {
		return inputErr("consent", `goes with when "now"; a rise at period end is consented to with the consent message inside its window`)
	}
	if err := r.Consent.ValidateImmediate(); err != nil {
		return err
	}
	next := r.Apply(current)
	if err := next.Validate(""); err != nil {
		if ie, ok := err.(*InputError); ok {
			ie.Field = strings.TrimPrefix(ie.Field, ".")
		}
		return err
	}
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// Apply returns the plan with the request's changes.
func (r *ChangePlanRequest) Apply(p Plan) Plan {
	if r.Name != "" {
		p.Name = strings.TrimSpace(r.Name)
	}
	if r.Code != "" {
		p.Code = r.Code
	}
	if r.Amount != 0 {
		p.Amount = r.Amount
	}
	if r.TaxFree != nil {
		p.TaxFree = *r.TaxFree
	}
	return p
}

// Validate checks a replace-billing-key request on its own (what depends on the subscription,
// its gateway and the worker's settings, the workflow checks).
func (r *ReplaceBillingKeyRequest) Validate() error {
	r.CustomerUID = strings.TrimSpace(r.CustomerUID)
	r.BillingKey = strings.TrimSpace(r.BillingKey)
	r.IssueID = strings.TrimSpace(r.IssueID)
	if err := r.Gateway.Validate("gateway"); err != nil {
		return err
	}
	if err := r.validateKey(); err != nil {
		return err
	}
	if err := validateReason(r.Reason); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// validateKey checks that the request names its key in the form of its gateway.
func (r *ReplaceBillingKeyRequest) validateKey() error {
	if !r.ToV2() {
		switch {
		case r.BillingKey != "":
			return inputErr("billing_key", "names a PortOne V2 key: send it with \"gateway\": %q (and customer_uid for a V1 key)", GatewayPortOneV2)
		case r.IssueID != "":
			return inputErr("issue_id", "goes with a PortOne V2 key: send it with \"gateway\": %q and billing_key", GatewayPortOneV2)
		}
		if err := ValidateCustomerUID(r.CustomerUID); err != nil {
			return &InputError{Field: "customer_uid", Reason: err.Error()}
		}
		return nil
	}
	if r.CustomerUID != "" {
		return inputErr("customer_uid", "names a V1 billing key; a V2 key is named by billing_key and issue_id (the issueId it was issued under, which becomes the customer_uid)")
	}
	if err := ValidateV2BillingKey(r.BillingKey); err != nil {
		return &InputError{Field: "billing_key", Reason: err.Error()}
	}
	if r.IssueID != "" {
		if err := ValidateCustomerUID(r.IssueID); err != nil {
			return &InputError{Field: "issue_id", Reason: err.Error() + " (it becomes the customer_uid)"}
		}
	}
	return nil
}

// ValidateV2BillingKey checks the form of a PortOne V2 billing key named in a message: present,
// bounded, and safe in a URL path (GET /billing-keys/{billingKey}).
func ValidateV2BillingKey(key string) error {
	switch n := utf8.RuneCountInString(key); {
	case n == 0:
		return fmt.Errorf("must not be empty: it is the billing key PortOne V2 issued (requestIssueBillingKey's billingKey)")
	case n > 200:
		return fmt.Errorf("is %d characters; at most 200", n)
	case strings.ContainsAny(key, "/?#%\\ \t\n"):
		return fmt.Errorf("must not contain '/', '?', '#', '%%', '\\' or spaces")
	}
	return nil
}

func validateRequestID(id string) error {
	if len(id) > 128 {
		return inputErr("request_id", "is %d characters; at most 128", len(id))
	}
	return nil
}

// ID returns the request's idempotency key (RequestID); every command payload has one.
func (r *CancelRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *UndoCancelRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *PauseRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *ResumeRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *ChangePlanRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *ReplaceBillingKeyRequest) ID() string { return r.RequestID }

// ID returns the request's idempotency key.
func (r *ChargeNowRequest) ID() string { return r.RequestID }

// PlaintextPayload marks a Receipt as free of personal data (message, status, dates, refund
// amounts and IDs), so the payload codec stores it unencrypted and `temporal workflow update
// execute` can print it without the codec endpoint (codec.Plaintext).
func (Receipt) PlaintextPayload() {}
