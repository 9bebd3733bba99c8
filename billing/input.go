package billing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paycycle/paycycle/calendar"
)

// SubscriptionInput is the subscription workflow's single input: plain JSON that a person can
// type into the Temporal Web UI's "Start Workflow" form. The README documents every field.
type SubscriptionInput struct {
	// SubscriptionID is the merchant's subscription ID; the workflow ID must be
	// WorkflowID(SubscriptionID).
	SubscriptionID string `json:"subscription_id"`
	// CustomerUID is the PortOne billing key handle (customer_uid) registered, or to be
	// registered, through the NaverPay recurring window.
	CustomerUID string `json:"customer_uid"`
	// Plan says what is charged and when.
	Plan Plan `json:"plan"`
	// Buyer is sent with each charge. Optional: PortOne falls back to the billing key's customer
	// record. It is personal data, which is why workflow payloads are encrypted (see README).
	Buyer Buyer `json:"buyer,omitempty"`
	// FirstCharge is "now" (default: charge at once, pro-rata up to the anchor day when the anchor
	// is not today) or "anchor" (first charge on the first anchor date at the charge time).
	FirstCharge FirstCharge `json:"first_charge,omitempty"`
	// Dunning is the retry policy after a failed charge; defaults apply when omitted.
	Dunning *DunningPolicy `json:"dunning,omitempty"`
	// RegistrationTimeout is how long to wait for the customer to register the billing key
	// before the subscription ends as expired. Default 72h.
	RegistrationTimeout Duration `json:"registration_timeout,omitempty"`
	// Gateway names the payment gateway of the subscription: "portone_v1" (default, and what
	// every input without the field means) or "portone_v2" (CustomerUID is then a V2
	// billingKey). It never changes during the subscription.
	Gateway GatewayName `json:"gateway,omitempty"`

	// Continued carries the state across continue-as-new. People never set it.
	Continued *State `json:"continued,omitempty"`
}

// Plan is what a subscription charges and on which calendar.
type Plan struct {
	// Name is the order name PortOne shows the buyer (at most 40 characters).
	Name string `json:"name"`
	// Code is the merchant's product code, sent as NaverPay's naverProductCode at registration so
	// the same buyer cannot register the same product twice. Defaults to Name.
	Code string `json:"code,omitempty"`
	// Amount is the price per cycle in whole KRW (at least 10, NaverPay's minimum).
	Amount int64 `json:"amount"`
	// TaxFree is the tax-exempt part of Amount in whole KRW.
	TaxFree int64 `json:"tax_free,omitempty"`
	// Interval is the billing interval, e.g. {"unit":"month","count":1}. The units "second" and
	// "minute" are for demos and tests and are refused unless the worker runs in demo mode.
	Interval calendar.Interval `json:"interval"`
	// AnchorDay is the billing day of month (1–31; 29–31 clamp to the month's last day) or
	// "today" (default). Used by month and year intervals.
	AnchorDay AnchorDay `json:"anchor_day,omitempty"`
	// ChargeTime is the local time of day (Asia/Seoul) of every charge, "HH:MM". Default "10:00".
	ChargeTime string `json:"charge_time,omitempty"`
	// NaverUseCfm is "none" (default) or "period_end": send the period's last day as NaverPay's
	// naverUseCfm (이용완료일), when the merchant's NaverPay contract requires it.
	NaverUseCfm NaverUseCfmMode `json:"naver_use_cfm,omitempty"`
	// ChargeMode is "again" (default: the workflow charges when due) or "schedule" (PortOne's
	// scheduler charges at the due time and reports by webhook).
	ChargeMode ChargeMode `json:"charge_mode,omitempty"`
	// DeleteBillingKeyOnEnd deletes the billing key at PortOne when the subscription ends.
	DeleteBillingKeyOnEnd bool `json:"delete_billing_key_on_end,omitempty"`
	// Trial is an optional free trial or introductory price before Amount (see Trial).
	Trial *Trial `json:"trial,omitempty"`
}

// Buyer is the optional buyer information sent with charges.
type Buyer struct {
	Name  string `json:"name,omitempty"`
	Tel   string `json:"tel,omitempty"`
	Email string `json:"email,omitempty"`
}

// GatewayName names a payment gateway generation.
type GatewayName string

// Gateways.
const (
	// GatewayPortOneV1 is PortOne's V1 API (customer_uid, merchant_uid, imp_uid); "" means it.
	GatewayPortOneV1 GatewayName = "portone_v1"
	// GatewayPortOneV2 is PortOne's V2 API (billingKey, paymentId, transactionId).
	GatewayPortOneV2 GatewayName = "portone_v2"
)

// MinAmountKRWV2 is NaverPay's minimum charge on PortOne V2: V2's NaverPay guide says 100 KRW
// where V1's says 10. The stricter figure is enforced for V2 subscriptions, since a charge
// below it would be refused by PortOne on every cycle.
const MinAmountKRWV2 = 100

// Validate checks a gateway name ("" is V1); field is the JSON path used in errors.
func (g GatewayName) Validate(field string) error {
	switch g {
	case "", GatewayPortOneV1, GatewayPortOneV2:
		return nil
	}
	return inputErr(field, "must be %q or %q, got %q", GatewayPortOneV1, GatewayPortOneV2, g)
}

// IsV2 reports whether the gateway is PortOne V2.
func (g GatewayName) IsV2() bool { return g == GatewayPortOneV2 }

// MinAmount is the smallest charge on the gateway: MinAmountKRWV2 on V2, MinAmountKRW on V1.
func (g GatewayName) MinAmount() int64 {
	if g.IsV2() {
		return MinAmountKRWV2
	}
	return MinAmountKRW
}

// ValidateForGateway checks what depends on the gateway, V2's higher minimum amount, on the
// plan's amount and its introductory price (both are charged); field names the amount's JSON
// path in errors ("plan.amount" makes the introductory price's "plan.trial.amount").
func (p *Plan) ValidateForGateway(field string, g GatewayName) error {
	if !g.IsV2() {
		return nil
	}
	if p.Amount < MinAmountKRWV2 {
		return inputErr(field, "must be at least %d KRW on %s (NaverPay's V2 minimum), got %d", MinAmountKRWV2, g, p.Amount)
	}
	if t := p.Trial; t != nil && t.Cycles > 0 && t.Amount < MinAmountKRWV2 {
		return inputErr(strings.TrimSuffix(field, "amount")+"trial.amount", "must be at least %d KRW on %s (NaverPay's V2 minimum), got %d",
			MinAmountKRWV2, g, t.Amount)
	}
	return nil
}

// FirstCharge says when the first cycle is charged.
type FirstCharge string

// First-charge choices.
const (
	FirstChargeNow    FirstCharge = "now"
	FirstChargeAnchor FirstCharge = "anchor"
)

// NaverUseCfmMode says whether charges carry NaverPay's naverUseCfm.
type NaverUseCfmMode string

// naverUseCfm choices.
const (
	NaverUseCfmNone      NaverUseCfmMode = "none"
	NaverUseCfmPeriodEnd NaverUseCfmMode = "period_end"
)

// ChargeMode says who triggers each cycle's charge.
type ChargeMode string

// Charge modes.
const (
	ChargeModeAgain    ChargeMode = "again"
	ChargeModeSchedule ChargeMode = "schedule"
)

// FinalAction is what dunning does when every retry failed and the grace period is over.
type FinalAction string

// Final actions.
const (
	FinalActionCancel FinalAction = "cancel"
	FinalActionPause  FinalAction = "pause"
)

// DunningPolicy is the retry schedule after a failed charge. Offsets count from the cycle's due
// time, so with the default charge time "1d" is D+1 at 10:00 KST.
type DunningPolicy struct {
	// RetryAfter lists the retries' offsets from the due time, increasing. Default (when omitted)
	// ["1d","3d","5d","7d"]; an explicit [] means no retries. Retries at or after the next
	// cycle's due time are dropped, and so are retries whose instant passed while nothing could
	// be charged (a hard decline waiting for a new key, a worker down).
	RetryAfter []Duration `json:"retry_after"`
	// Grace is how long access is kept while past due, from the due time. Default (when
	// omitted) "7d"; an explicit "0s" means none. It never extends past the next cycle's due
	// time. It may end before the last retry: retries go on without access, and the final
	// action runs once the last retry failed.
	Grace *Duration `json:"grace,omitempty"`
	// FinalAction is "cancel" (default) or "pause".
	FinalAction FinalAction `json:"final_action,omitempty"`
}

// DefaultRegistrationTimeout is how long a subscription waits for its billing key by default.
const DefaultRegistrationTimeout = 72 * time.Hour

// MinAmountKRW is NaverPay's minimum charge since 2024-01-24.
const MinAmountKRW = 10

// MaxAmountKRW bounds a plan's amount to catch typing mistakes (an extra zero or two).
const MaxAmountKRW = 100_000_000

// AnchorDay is a billing day of month 1–31, or 0 for "today". In JSON it is a number, a numeric
// string, or "today".
type AnchorDay int

// MarshalJSON writes "today" for 0 and the day number otherwise.
func (a AnchorDay) MarshalJSON() ([]byte, error) {
	if a == 0 {
		return []byte(`"today"`), nil
	}
	return []byte(strconv.Itoa(int(a))), nil
}

// UnmarshalJSON accepts 1..31 (number or string) and "today".
func (a *AnchorDay) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf(`anchor_day must be a day of month 1..31 or "today"`)
		}
		*a = AnchorDay(n)
		return nil
	}
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "today" {
		*a = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf(`anchor_day must be a day of month 1..31 or "today", got %q`, s)
	}
	*a = AnchorDay(n)
	return nil
}

// InputError is a malformed workflow input or message payload. Field names the offending JSON
// field with its path, so the person who typed it knows what to fix.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Reason }

func inputErr(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ErrorTypeInvalidInput is the Temporal application error type of a malformed input or message.
const ErrorTypeInvalidInput = "InvalidInput"

// Normalize fills defaults in place. It is deterministic so the workflow may call it.
func (in *SubscriptionInput) Normalize() {
	in.SubscriptionID = strings.TrimSpace(in.SubscriptionID)
	in.CustomerUID = strings.TrimSpace(in.CustomerUID)
	if in.FirstCharge == "" {
		in.FirstCharge = FirstChargeNow
	}
	if in.RegistrationTimeout == 0 {
		in.RegistrationTimeout = Duration(DefaultRegistrationTimeout)
	}
	in.Plan.Normalize()
	if in.Dunning == nil {
		in.Dunning = &DunningPolicy{}
	}
	in.Dunning.normalize(in.Plan.Interval)
}

// Normalize fills a plan's defaults in place.
func (p *Plan) Normalize() {
	p.Name = strings.TrimSpace(p.Name)
	if p.Code == "" {
		p.Code = p.Name
	}
	if p.ChargeTime == "" {
		p.ChargeTime = calendar.DefaultChargeTime.String()
	}
	if p.NaverUseCfm == "" {
		p.NaverUseCfm = NaverUseCfmNone
	}
	if p.ChargeMode == "" {
		p.ChargeMode = ChargeModeAgain
	}
}

func (d *DunningPolicy) normalize(iv calendar.Interval) {
	if d.FinalAction == "" {
		d.FinalAction = FinalActionCancel
	}
	if iv.Unit.IsShort() {
		// Demo plans run in seconds or minutes: the default policy keeps its shape (four retries
		// and a grace period inside the cycle) scaled to a tenth of the interval per "day".
		step := shortUnitDuration(iv) / 10
		if d.RetryAfter == nil {
			d.RetryAfter = []Duration{Duration(step), Duration(3 * step), Duration(5 * step), Duration(7 * step)}
		}
		if d.Grace == nil {
			g := Duration(7 * step)
			d.Grace = &g
		}
		return
	}
	day := Duration(24 * time.Hour)
	if d.RetryAfter == nil {
		d.RetryAfter = []Duration{day, 3 * day, 5 * day, 7 * day}
	}
	if d.Grace == nil {
		g := 7 * day
		d.Grace = &g
	}
}

// GraceDuration is the grace period (0 when none).
func (d DunningPolicy) GraceDuration() time.Duration {
	if d.Grace == nil {
		return 0
	}
	return d.Grace.Std()
}

func shortUnitDuration(iv calendar.Interval) time.Duration {
	unit := time.Second
	if iv.Unit == calendar.Minute {
		unit = time.Minute
	}
	return time.Duration(iv.Count) * unit
}

// Validate checks a normalized input and returns an *InputError naming the first bad field.
func (in *SubscriptionInput) Validate() error {
	if err := ValidateSubscriptionID(in.SubscriptionID); err != nil {
		return &InputError{Field: "subscription_id", Reason: err.Error()}
	}
	if err := ValidateCustomerUID(in.CustomerUID); err != nil {
		return &InputError{Field: "customer_uid", Reason: err.Error()}
	}
	if err := in.Gateway.Validate("gateway"); err != nil {
		return err
	}
	if err := in.Plan.Validate("plan"); err != nil {
		return err
	}
	if err := in.Plan.ValidateForGateway("plan.amount", in.Gateway); err != nil {
		return err
	}
	if err := in.Buyer.validate("buyer"); err != nil {
		return err
	}
	switch in.FirstCharge {
	case FirstChargeNow, FirstChargeAnchor:
	default:
		return inputErr("first_charge", `must be "now" or "anchor", got %q`, in.FirstCharge)
	}
	if in.RegistrationTimeout < 0 {
		return inputErr("registration_timeout", "must be positive")
	}
	if in.Dunning != nil {
		if err := in.Dunning.validate("dunning"); err != nil {
			return err
		}
	}
	return nil
}

// ValidateCustomerUID checks a PortOne customer_uid (1–80 characters).
func ValidateCustomerUID(uid string) error {
	switch n := utf8.RuneCountInString(uid); {
	case n == 0:
		return fmt.Errorf("must not be empty: it is the PortOne billing key handle registered through NaverPay")
	case n > 80:
		return fmt.Errorf("is %d characters; PortOne allows at most 80", n)
	case strings.ContainsAny(uid, "/?#%\\ \t\n"):
		return fmt.Errorf("must not contain '/', '?', '#', '%%', '\\' or spaces")
	}
	return nil
}

// Validate checks a normalized plan; prefix is the JSON path used in errors.
func (p *Plan) Validate(prefix string) error {
	if p.Name == "" {
		return inputErr(prefix+".name", "must not be empty (it is the order name the buyer sees)")
	}
	if n := utf8.RuneCountInString(p.Name); n > 40 {
		return inputErr(prefix+".name", "is %d characters; PortOne allows at most 40", n)
	}
	if n := utf8.RuneCountInString(p.Code); n > 64 {
		return inputErr(prefix+".code", "is %d characters; at most 64 are allowed", n)
	}
	if p.Amount < MinAmountKRW {
		return inputErr(prefix+".amount", "must be at least %d KRW (NaverPay minimum), got %d", MinAmountKRW, p.Amount)
	}
	if p.Amount > MaxAmountKRW {
		return inputErr(prefix+".amount", "must be at most %d KRW, got %d", MaxAmountKRW, p.Amount)
	}
	if p.TaxFree < 0 || p.TaxFree > p.Amount {
		return inputErr(prefix+".tax_free", "must be between 0 and amount (%d), got %d", p.Amount, p.TaxFree)
	}
	if p.Interval.Unit == "" {
		return inputErr(prefix+".interval", `is required, e.g. {"unit":"month","count":1}`)
	}
	if p.Interval.Count == 0 {
		return inputErr(prefix+".interval.count", `is required and at least 1, e.g. {"unit":%q,"count":1}`, p.Interval.Unit)
	}
	if err := p.Interval.Validate(); err != nil {
		return inputErr(prefix+".interval", "%v", err)
	}
	if p.AnchorDay < 0 || p.AnchorDay > 31 {
		return inputErr(prefix+".anchor_day", `must be a day of month 1..31 or "today", got %d`, p.AnchorDay)
	}
	if p.AnchorDay != 0 && p.Interval.Unit != calendar.Month && p.Interval.Unit != calendar.Year {
		return inputErr(prefix+".anchor_day", `applies to month and year intervals only; use "today" for %s`, p.Interval.Unit)
	}
	if _, err := calendar.ParseTimeOfDay(p.ChargeTime); err != nil {
		return inputErr(prefix+".charge_time", `must be "HH:MM" in Asia/Seoul, got %q`, p.ChargeTime)
	}
	switch p.NaverUseCfm {
	case NaverUseCfmNone, NaverUseCfmPeriodEnd:
	default:
		return inputErr(prefix+".naver_use_cfm", `must be "none" or "period_end", got %q`, p.NaverUseCfm)
	}
	switch p.ChargeMode {
	case ChargeModeAgain, ChargeModeSchedule:
	default:
		return inputErr(prefix+".charge_mode", `must be "again" or "schedule", got %q`, p.ChargeMode)
	}
	if p.Trial != nil {
		return p.Trial.validate(prefix+".trial", p)
	}
	return nil
}

func (b Buyer) validate(prefix string) error {
	if n := utf8.RuneCountInString(b.Name); n > 16 {
		return inputErr(prefix+".name", "is %d characters; PortOne allows at most 16", n)
	}
	if n := utf8.RuneCountInString(b.Tel); n > 16 {
		return inputErr(prefix+".tel", "is %d characters; PortOne allows at most 16", n)
	}
	if n := utf8.RuneCountInString(b.Email); n > 64 {
		return inputErr(prefix+".email", "is %d characters; PortOne allows at most 64", n)
	}
	if b.Email != "" && !strings.Contains(b.Email, "@") {
		return inputErr(prefix+".email", "is not an e-mail address")
	}
	return nil
}

func (d *DunningPolicy) validate(prefix string) error {
	if len(d.RetryAfter) > 10 {
		return inputErr(prefix+".retry_after", "at most 10 retries, got %d", len(d.RetryAfter))
	}
	var prev Duration
	for i, r := range d.RetryAfter {
		if r <= prev {
			return inputErr(fmt.Sprintf("%s.retry_after[%d]", prefix, i), "offsets must be positive and increasing, got %s after %s", r, prev)
		}
		prev = r
	}
	if d.Grace != nil && *d.Grace < 0 {
		return inputErr(prefix+".grace", "must not be negative")
	}
	switch d.FinalAction {
	case FinalActionCancel, FinalActionPause:
	default:
		return inputErr(prefix+".final_action", `must be "cancel" or "pause", got %q`, d.FinalAction)
	}
	return nil
}
