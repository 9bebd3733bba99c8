package billing

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paycycle/paycycle/calendar"
)

// Trial is an introductory phase before the regular price: either Days free (the billing key
// is verified, nothing is charged) or Cycles charged at the lower Amount.
//
// Korean law (전자상거래법 §13⑥ and its 시행령, in force 2025-02-14) requires the customer's
// separate consent before a free or discounted period turns paid, and the card rules a notice at
// least 7 days before; the workflow enforces both (ConsentState, EventTrialEnding).
type Trial struct {
	// Days of free use before billing starts (7–365; with demo second/minute intervals, seconds).
	Days int `json:"days,omitempty"`
	// Cycles charged at Amount before the regular amount (1–36).
	Cycles int `json:"cycles,omitempty"`
	// Amount is the introductory price per cycle, below the plan's amount.
	Amount int64 `json:"amount,omitempty"`
}

// MinTrialDays is the shortest free trial: the 7-day pre-conversion notice must fit in it.
const MinTrialDays = 7

func (t *Trial) validate(prefix string, p *Plan) error {
	switch {
	case t.Days > 0 && t.Cycles > 0:
		return inputErr(prefix, "is either days free or cycles at an introductory amount, not both")
	case t.Days > 0:
		if t.Amount != 0 {
			return inputErr(prefix+".amount", "applies to an introductory price (cycles), not to a free trial (days)")
		}
		if t.Days < MinTrialDays && !p.Interval.Unit.IsShort() {
			return inputErr(prefix+".days", "must be at least %d: the notice before a free period turns paid must come 7 days ahead (여신전문금융업감독규정)", MinTrialDays)
		}
		if t.Days > 365 {
			return inputErr(prefix+".days", "must be at most 365, got %d", t.Days)
		}
	case t.Cycles > 0:
		if t.Cycles > 36 {
			return inputErr(prefix+".cycles", "must be at most 36, got %d", t.Cycles)
		}
		if t.Amount < MinAmountKRW || t.Amount >= p.Amount {
			return inputErr(prefix+".amount", "must be at least %d KRW and below the plan's amount %d, got %d", MinAmountKRW, p.Amount, t.Amount)
		}
		if p.TaxFree > t.Amount {
			return inputErr(prefix+".amount", "must not be below the plan's tax_free %d", p.TaxFree)
		}
	default:
		return inputErr(prefix, `needs "days" (a free trial) or "cycles" and "amount" (an introductory price)`)
	}
	return nil
}

// Price is the plan's price of cycle (1 for the first): the introductory amount during an
// introductory price's cycles, the regular amount otherwise.
func (p Plan) Price(cycle int) int64 {
	if t := p.Trial; t != nil && t.Cycles > 0 && cycle <= t.Cycles {
		return t.Amount
	}
	return p.Amount
}

// ConsentStatus is where a price rise's consent stands. It is also the ConsentStatus search
// attribute.
type ConsentStatus string

// Consent statuses.
const (
	// ConsentRequired: a rise is coming and no valid consent is on record yet.
	ConsentRequired ConsentStatus = "required"
	// ConsentGranted: the customer consented to exactly this change.
	ConsentGranted ConsentStatus = "granted"
	// ConsentRefused: the customer said no; the subscription ends when the change would have
	// taken effect.
	ConsentRefused ConsentStatus = "refused"
)

// ConsentWindowDays is how many days before a rise its consent may be collected (§13⑥ 시행령).
const ConsentWindowDays = 30

// ReasonNoConsent is the status reason of a subscription ended because a rise had no consent.
const ReasonNoConsent = "no_consent"

// ConsentState is a coming price rise and its consent, kept in the state for audit.
type ConsentState struct {
	Status ConsentStatus `json:"status"`
	// ChangeAt is when the higher price would first be charged; ChangeDate its KST date.
	ChangeAt   time.Time     `json:"change_at"`
	ChangeDate calendar.Date `json:"change_date"`
	// AmountBefore is the price last paid (0 after a free trial); AmountAfter the new price.
	AmountBefore int64 `json:"amount_before"`
	AmountAfter  int64 `json:"amount_after"`
	// PaymentMethod is how it would be charged (NaverPay, with the masked customer_uid).
	PaymentMethod string `json:"payment_method"`
	// Why is what raises the price: trial_end, intro_end, plan_change.
	Why string `json:"why"`
	// OpenedAt is when the workflow asked for consent (the window's start, or at once).
	OpenedAt time.Time `json:"opened_at"`
	// Evidence is the consent or refusal on record.
	Evidence *ConsentEvidence `json:"evidence,omitempty"`
}

// ConsentEvidence is the backend's record of what the customer agreed to (or refused).
type ConsentEvidence struct {
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	// ShownSHA256 is the hash of exactly what the customer was shown.
	ShownSHA256 string    `json:"shown_sha256"`
	RecordID    string    `json:"record_id"`
	RecordedAt  time.Time `json:"recorded_at"`
}

// ConsentRequest is the payload of MsgConsent: a consent (or refusal) collected by the
// merchant's own channel, with its evidence. It must name exactly the pending change.
type ConsentRequest struct {
	RequestID string `json:"request_id,omitempty"`
	// Granted is required: true for consent, false for a refusal. Silence is never consent.
	Granted *bool `json:"granted"`
	// At is when the customer answered (RFC 3339).
	At time.Time `json:"at"`
	// Channel is where: app, web, sms, kakao, email, phone …
	Channel string `json:"channel"`
	// ShownText is what the customer was shown (stored as its SHA-256), or ShownSHA256 its
	// hash (hex) when the text stays in the merchant's records.
	ShownText   string `json:"shown_text,omitempty"`
	ShownSHA256 string `json:"shown_sha256,omitempty"`
	// AmountBefore, AmountAfter and ChangeDate are what the customer consented to; they must
	// match the pending change.
	AmountBefore int64         `json:"amount_before"`
	AmountAfter  int64         `json:"amount_after"`
	ChangeDate   calendar.Date `json:"change_date"`
	// RecordID identifies the consent record in the merchant's systems.
	RecordID string `json:"record_id"`
}

// ID returns the request's deduplication ID.
func (r *ConsentRequest) ID() string { return r.RequestID }

// Validate checks a consent request on its own (the workflow then checks it against the
// pending change).
func (r *ConsentRequest) Validate() error {
	if r.Granted == nil {
		return inputErr("granted", "is required: true for a consent, false for a refusal (silence or a closed dialog is not consent)")
	}
	if r.At.IsZero() {
		return inputErr("at", "is required: when the customer answered (RFC 3339)")
	}
	if c := strings.TrimSpace(r.Channel); c == "" || utf8.RuneCountInString(c) > 40 {
		return inputErr("channel", "is required (app, web, sms, kakao, …), at most 40 characters")
	}
	switch {
	case r.ShownText == "" && r.ShownSHA256 == "":
		return inputErr("shown_text", "or shown_sha256 is required: what exactly the customer was shown")
	case r.ShownText != "" && r.ShownSHA256 != "":
		return inputErr("shown_sha256", "give shown_text or its hash, not both")
	case r.ShownSHA256 != "":
		if b, err := hex.DecodeString(r.ShownSHA256); err != nil || len(b) != sha256.Size {
			return inputErr("shown_sha256", "must be a SHA-256 in hex (64 characters)")
		}
	case utf8.RuneCountInString(r.ShownText) > 4000:
		return inputErr("shown_text", "is over 4000 characters; send its shown_sha256 instead")
	}
	if id := strings.TrimSpace(r.RecordID); id == "" || len(id) > 100 {
		return inputErr("record_id", "is required: the consent record's ID in your systems (at most 100 characters)")
	}
	if r.ChangeDate.IsZero() {
		return inputErr("change_date", "is required: the date of the change the customer consented to (YYYY-MM-DD, KST)")
	}
	if r.AmountBefore < 0 || r.AmountAfter <= r.AmountBefore {
		return inputErr("amount_after", "must be above amount_before: consent is for a rise")
	}
	return validateRequestID(r.RequestID)
}

// ShownHash is the SHA-256 (hex) of what the customer was shown.
func (r *ConsentRequest) ShownHash() string {
	if r.ShownSHA256 != "" {
		return strings.ToLower(r.ShownSHA256)
	}
	sum := sha256.Sum256([]byte(r.ShownText))
	return hex.EncodeToString(sum[:])
}

// EndTrialRequest is the payload of MsgEndTrial.
type EndTrialRequest struct {
	RequestID string `json:"request_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Consent is the customer's consent to being charged from now (amount_before 0, the first
	// paid price, change_date today in KST), collected with the request to start paying early:
	// the trial's own consent window may not be open yet. Without it, the consent given for the
	// trial's end must be on record.
	Consent *ConsentRequest `json:"consent,omitempty"`
}

// ID returns the request's deduplication ID.
func (r *EndTrialRequest) ID() string { return r.RequestID }

// Validate checks an end_trial request.
func (r *EndTrialRequest) Validate() error {
	if r.Reason != "" {
		if err := validateReason(r.Reason); err != nil {
			return err
		}
	}
	if err := r.Consent.ValidateImmediate(); err != nil {
		return err
	}
	return validateRequestID(r.RequestID)
}

// ValidateImmediate checks a consent carried by a request that raises the price now (end_trial,
// change_plan with when "now"): a consent on its own, naming its fields under "consent.", and a
// consent, not a refusal (a customer who refuses simply does not ask). A nil consent is valid.
func (r *ConsentRequest) ValidateImmediate() error {
	if r == nil {
		return nil
	}
	if r.RequestID != "" {
		return inputErr("consent.request_id", "belongs to the request, not to its consent")
	}
	if err := r.Validate(); err != nil {
		if ie, ok := err.(*InputError); ok {
			return &InputError{Field: "consent." + ie.Field, Reason: ie.Reason}
		}
		return err
	}
	if !*r.Granted {
		return inputErr("consent.granted", "must be true: a request to be charged more now carries the customer's consent, not a refusal")
	}
	return nil
}
