package rulebook

import "time"

// Unit is a billing interval's unit, spelt as in the README's plan.interval.
type Unit string

// The interval units. Second and Minute exist in demo mode only.
const (
	Day    Unit = "day"
	Week   Unit = "week"
	Month  Unit = "month"
	Year   Unit = "year"
	Minute Unit = "minute"
	Second Unit = "second"
)

// short reports whether u is a demo unit (no calendar days).
func (u Unit) short() bool { return u == Second || u == Minute }

// Plan is what a subscription sells, in the README's terms. Zero values mean the README's
// defaults.
type Plan struct {
	Amount  int64
	TaxFree int64
	Unit    Unit
	Count   int
	// AnchorDay is plan.anchor_day for month and year plans, 1..31; 0 is "today".
	AnchorDay int
	// ChargeTime is plan.charge_time, "HH:MM" in KST; "" is 10:00.
	ChargeTime string
	// UseCfmPeriodEnd is plan.naver_use_cfm "period_end".
	UseCfmPeriodEnd bool
	// TrialDays is plan.trial.days: free days before billing starts (0: none).
	TrialDays int
	// IntroCycles and IntroAmount are plan.trial.cycles and .amount: the first IntroCycles
	// cycles are charged IntroAmount (0: no introductory price).
	IntroCycles int
	IntroAmount int64
	// minCharge is the gateway's smallest charge (Input.MinCharge, filled by withDefaults): it
	// travels with the plan so that the rules that read a plan (proration, change_plan's bounds)
	// see the subscription's gateway without knowing it.
	minCharge int64
}

// minimum is the smallest charge the plan's gateway makes: MinCharge (V1) unless the input said
// otherwise.
func (p Plan) minimum() int64 {
	if p.minCharge > 0 {
		return p.minCharge
	}
	return MinCharge
}

// price is the plan's price of a cycle (1 for the first): the introductory amount during the
// introductory cycles, the amount otherwise.
func (p Plan) price(cycle int) int64 {
	if p.IntroCycles > 0 && cycle <= p.IntroCycles {
		return p.IntroAmount
	}
	return p.Amount
}

// Dunning is the input's dunning policy; nil fields take the README's defaults.
type Dunning struct {
	// RetryAfter are offsets from the due time; nil is 1d, 3d, 5d, 7d, empty is no retry.
	RetryAfter []time.Duration
	// Grace is access kept while past due; nil is 7d.
	Grace *time.Duration
	// FinalActionPause is final_action "pause" (default "cancel").
	FinalActionPause bool
}

// Input is the subscription's input as the merchant typed it (before defaults).
type Input struct {
	Customer string
	Plan     Plan
	// FirstChargeAtAnchor is first_charge "anchor" (default "now").
	FirstChargeAtAnchor bool
	Dunning             Dunning
	// MinCharge is NaverPay's smallest charge on the subscription's gateway, the one difference
	// between the gateways the rules know: 0 means PortOne V1's MinCharge (10 KRW); PortOne V2's
	// NaverPay takes MinChargeV2 (100 KRW). It bounds plan.amount and a change_plan's amount, and
	// a prorated charge or a change now's difference below it is not made.
	MinCharge int64
}

// Message names, as in the README's message table.
const (
	MsgCancel     = "cancel"
	MsgUndoCancel = "undo_cancel"
	MsgPause      = "pause"
	MsgResume     = "resume"
	MsgChangePlan = "change_plan"
	MsgReplaceKey = "replace_billing_key"
	MsgChargeNow  = "charge_now"
	MsgConsent    = "consent"
	MsgEndTrial   = "end_trial"
)

// Payload words, as in the README's message table.
const (
	Now           = "now"
	PeriodEnd     = "period_end"
	RefundNone    = "none"
	RefundProrata = "prorata"
	RefundFull    = "full"
	Customer      = "customer"
	Admin         = "admin"
	Keep          = "keep"
	Restart       = "restart"
)

// Cancel is the cancel payload; "" fields take the defaults (period_end, admin, none).
type Cancel struct{ When, Reason, Requester, Refund string }

// Pause is the pause payload; When "" is period_end, a zero ResumeAt is no automatic resume.
type Pause struct {
	When     string
	ResumeAt time.Time
	Reason   string
}

// Resume is the resume payload; Anchor "" is keep.
type Resume struct{ Anchor, Reason string }

// ChangePlan is the change_plan payload; omitted (zero, nil) fields stay unchanged. When "" is
// period_end; Consent goes with When "now" for a rise.
type ChangePlan struct {
	Name    string
	Amount  int64
	TaxFree *int64
	Reason  string
	When    string
	Consent *Consent
}

// Consent is the evidence of a customer's consent to a rise, as a request carries it (the
// fields the rules check; the evidence itself is the merchant's).
type Consent struct {
	Granted      bool
	At           time.Time
	AmountBefore int64
	AmountAfter  int64
	ChangeDate   Date
}

// ReplaceKey is the replace_billing_key payload; DeleteOld nil is true.
type ReplaceKey struct {
	Customer  string
	DeleteOld *bool
}

// Undo is the undo_cancel payload.
type Undo struct{ Reason string }

// Answer is how the bank answers one charge attempt.
type Answer string

// Bank answers. The two unknown answers end like paid: the charge activity looks the
// merchant_uid up before it charges again, so a lost answer is never a second charge.
const (
	Paid          Answer = "paid"
	SoftDecline   Answer = "soft"
	HardDecline   Answer = "hard"
	UnknownPaid   Answer = "unknown_then_paid"
	UnknownAbsent Answer = "unknown_then_absent"
)

// ActivityRetryInterval is how long a charge whose answer was lost stays in flight: the charge
// activity's first retry interval. The sweep asserts it equals the workflow's.
const ActivityRetryInterval = 2 * time.Second

// Attempt names one charge attempt: the attempt-th try of a cycle.
type Attempt struct{ Cycle, Attempt int }

// Message is one command sent to the subscription at an instant. At most one payload is set,
// the one Name calls for (charge_now has none). A payload that is missing is refused like a
// malformed one.
type Message struct {
	At time.Time
	// During, when set, delivers the message while that attempt's charge is in flight: it is
	// handled once the charge settled, at the same instant.
	During *Attempt
	// Update says the message is sent as an update (its refusal is an error the sender sees)
	// rather than a signal.
	Update bool
	Name   string
	// Null says the payload was a literal JSON null: malformed for every message, charge_now
	// included (no payload at all means {}, which is not this).
	Null       bool
	Cancel     *Cancel
	Pause      *Pause
	Resume     *Resume
	ChangePlan *ChangePlan
	Replace    *ReplaceKey
	Undo       *Undo
	Consent    *Consent
	EndTrial   *EndTrial
}

// EndTrial is the end_trial payload: the consent to being charged from today, or nil when the
// consent for the trial's end is on record.
type EndTrial struct {
	Reason  string
	Consent *Consent
}

// Timeline is one scenario.
type Timeline struct {
	// Start is the sign-up instant.
	Start time.Time
	Input Input
	// Keys are the billing keys registered at PortOne (Input.Customer among them).
	Keys []string
	// Answers are the bank's answers by attempt; an attempt not listed is paid.
	Answers map[Attempt]Answer
	// Messages in time order.
	Messages []Message
	// End is when the scenario stops looking: the last message is expected to end it.
	End time.Time
	// DueFirst orders a message that arrives at exactly the instant something falls due after
	// the timer. The rules leave such a tie open: the message is not "before" the due time, and
	// the engine may deliver the timer and the message in one workflow task (the message is
	// handled first) or the timer first. Then the message arrives while that instant's charge is
	// in flight: it is admitted (or refused) against the state before the charge and carried
	// out once the charge settled, ahead of the messages sent during the charge; when the due
	// action makes no charge, it is handled after it. Run a timeline both ways to get the two
	// acceptable results.
	DueFirst bool
	// AfterSettle, with DueFirst, is the third order the tie allows: the due action's charge
	// settles before the message arrives (a charge that answered at once), so the message is
	// admitted against the state after it and handled after the due action.
	AfterSettle bool
}

// Outcome is how a charge attempt ended, spelt as in the state's charge records.
type Outcome string

// Outcomes.
const (
	OutcomePaid         Outcome = "paid"
	OutcomeDeclined     Outcome = "declined"
	OutcomeDeclinedHard Outcome = "declined_hard"
)

// Status is the subscription's status, spelt as in the README's Statuses.
type Status string

// Statuses the simulation reaches.
const (
	Active                Status = "active"
	PastDue               Status = "past_due"
	PaymentMethodRequired Status = "payment_method_required"
	Paused                Status = "paused"
	Canceled              Status = "canceled"
)

// ended reports whether nothing more happens.
func (s Status) ended() bool { return s == Canceled }

// Charge is one charge attempt the bank sees.
type Charge struct {
	At          time.Time
	Cycle       int
	Attempt     int
	Customer    string
	Amount      int64
	TaxFree     int64
	NaverUseCfm string
	Outcome     Outcome
}

// Refund is one refund of a paid charge.
type Refund struct {
	At      time.Time
	Cycle   int
	Amount  int64
	TaxFree int64
}

// CyclePeriod is the service period a cycle was billed for, with what a full period costs: what
// an invariant needs to turn the money kept for a cycle back into days.
type CyclePeriod struct {
	Cycle int
	// First and Last are the KST dates of service, inclusive.
	First, Last Date
	// Price is the plan's price of a full period; FullDays the days of the full period the
	// cycle is (part of): a stub's price per day is Price ÷ FullDays.
	Price    int64
	FullDays int
	// Credit is the KRW of earlier unused paid days taken off the cycle's charge, drawn from the
	// payment of cycle CreditFrom: the cycle is worth its kept payment plus Credit.
	Credit     int64
	CreditFrom int
	// CreditGiven is the KRW of this cycle's unused days it gave back as credit (a restart, an
	// immediate change), taken off later charges or still waiting: the cycle is worth that less.
	CreditGiven int64
}

// Result is what the rules say must happen.
type Result struct {
	Charges []Charge
	Refunds []Refund
	// Refused lists the indexes (into Timeline.Messages) of the messages the subscription must
	// refuse.
	Refused []int
	Status  Status
	EndedAt time.Time
	// Periods are the cycles begun, by cycle number (calendar units only).
	Periods map[int]CyclePeriod
}
