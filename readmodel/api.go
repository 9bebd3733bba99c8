package readmodel

import (
	"errors"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// ErrNotFound is returned for a subscription the projection does not know.
var ErrNotFound = errors.New("readmodel: subscription not found")

// Row is one subscription as the projection knows it: the latest incarnation of its ID. Times
// are UTC; a zero time means "none". Amounts are whole KRW.
type Row struct {
	SubscriptionID string
	// Stream is the incarnation tag from the event IDs (a subscription ID reused after its end
	// starts a new stream).
	Stream string
	// LastSeq is the sequence of the latest event applied; Held counts events received beyond a
	// gap (a missing sequence), waiting for it.
	LastSeq int64
	Held    int

	Status       billing.Status
	StatusReason string
	PlanName     string
	// PlanCode is known only from a workflow state (ApplyState): events carry the plan's name.
	PlanCode string
	// Price is the plan's regular price per interval; Currency is always KRW today.
	Price         int64
	Currency      string
	IntervalUnit  calendar.Unit
	IntervalCount int
	// MRR is the monthly-normalised price this subscription contributes (see MonthlyAmount): 0
	// unless active or past due with a cycle begun.
	MRR int64
	// Cycle is the latest cycle billed (0 before any).
	Cycle int

	NextChargeAt time.Time
	// NextChargeAmount is the amount announced for NextChargeAt by a renewal.upcoming,
	// trial.ending or price.rising event, else the plan's price (credits and introductory prices
	// without a notice are not known from events).
	NextChargeAmount  int64
	PaidThrough       time.Time
	CancelAtPeriodEnd bool
	// CustomerUIDMasked is the billing key's customer_uid as events carry it: masked.
	CustomerUIDMasked string

	LastChargeAt      time.Time
	LastChargeAmount  int64
	LastChargeOutcome billing.Outcome
	// LastDeclineReason is the reason of the latest declined attempt, cleared by a paid one.
	LastDeclineReason string

	// Dunning of the unpaid cycle, if any (DunningCycle 0: none).
	DunningCycle       int
	DunningAttempts    int
	DunningNextRetryAt time.Time
	DunningGraceEndsAt time.Time
	DunningHard        bool
	// PastDueSince is when the current dunning started.
	PastDueSince time.Time

	// Consent of a coming price rise (ConsentStatus empty: none). ConsentDeadline is when the
	// higher price would first be charged: without consent by then the subscription ends.
	ConsentStatus      billing.ConsentStatus
	ConsentDeadline    time.Time
	ConsentAmountAfter int64
	ConsentWhy         string

	// Attention is the flag of a subscription parked for a person: from the
	// subscription.needs_attention and subscription.attention_cleared events (workflows from
	// versionAttentionEvents on), or from a workflow state (ApplyState) for older runs.
	AttentionKind    string
	AttentionFinding string
	AttentionDetail  string
	AttentionAt      time.Time

	// Totals of this incarnation's payments and refunds (duplicates refunded count in both).
	// TaxFree is the tax-exempt part of TotalPaid − TotalRefunded, when the events carry it.
	TotalPaid     int64
	TotalRefunded int64
	TotalTaxFree  int64

	// StartedAt is the first event's time; UpdatedAt the latest applied event's (or state's).
	StartedAt time.Time
	UpdatedAt time.Time
}

// Overview is the console's first page: the business at a glance.
type Overview struct {
	// ByStatus counts subscriptions per status (every status present, zero or not).
	ByStatus map[billing.Status]int
	Total    int
	Active   int
	// MRR now and 30 days before now (sum of each subscription's rounded MRR).
	MRR          int64
	MRR30DaysAgo int64
	// Charged, Refunded and Net over the 30 days before now (duplicates refunded count in both).
	Charged30d  int64
	Refunded30d int64
	Net30d      int64
	// Dunning episodes that ended in the last 30 days: recovered, and ended otherwise (final
	// action, or the subscription canceled while past due).
	DunningRecovered30d int
	DunningLost30d      int
	// ConsentPending counts live subscriptions whose price-rise consent is required.
	ConsentPending int
	// NeedsAttention counts subscriptions with an attention flag.
	NeedsAttention int
	// Gaps counts subscriptions holding events beyond a missing one.
	Gaps int
	Lag  Lag
}

// RecoveryRate is the share of dunning episodes ended in the last 30 days that were recovered;
// ok is false when none ended.
func (o Overview) RecoveryRate() (rate float64, ok bool) {
	n := o.DunningRecovered30d + o.DunningLost30d
	if n == 0 {
		return 0, false
	}
	return float64(o.DunningRecovered30d) / float64(n), true
}

// Lag is how far the projection runs behind the events: an event's own time against the time it
// was applied.
type Lag struct {
	// Last is the lag of the latest applied event, LastAppliedAt when that was.
	Last          time.Duration
	LastAppliedAt time.Time
	// Max is the largest lag of the events applied in the hour before now; Events their count.
	Max    time.Duration
	Events int
}

// UpcomingDay is the charges due on one KST day.
type UpcomingDay struct {
	// Day is the KST date, YYYY-MM-DD.
	Day     string
	Charges int
	Amount  int64
}

// Due is one charge due soon: DueWithin's answer.
type Due struct {
	SubscriptionID string
	At             time.Time
	// Cycle is the cycle the charge is for (the latest billed + 1).
	Cycle  int
	Amount int64
	Status billing.Status
}

// Queue names a work queue of the console.
type Queue string

// The queues.
const (
	// PastDue: in dunning (status past_due), with the decline reason and next retry.
	PastDue Queue = "past_due"
	// PaymentMethodRequired: a hard decline, waiting for a new billing key.
	PaymentMethodRequired Queue = "payment_method_required"
	// NeedsAttention: parked for a person, with the finding.
	NeedsAttention Queue = "needs_attention"
	// ConsentPending: a price rise's consent is required, with its deadline.
	ConsentPending Queue = "consent_pending"
)

// Queues lists every queue.
var Queues = []Queue{PastDue, PaymentMethodRequired, NeedsAttention, ConsentPending}

// Page is one page of a list: Offset rows skipped, at most Limit rows (1..MaxLimit; 0 means
// DefaultLimit), sorted by Sort (one of SortKeys; empty: the queue's default) ascending, or
// descending with Desc. Ties are broken by subscription ID, so pages never overlap.
type Page struct {
	Offset int
	Limit  int
	Sort   string
	Desc   bool
}

// Paging bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// SortKeys are the sort keys a queue page accepts; the first is the default.
var SortKeys = []string{"since", "subscription_id", "status", "plan", "price", "mrr", "next_charge_at",
	"next_retry_at", "decline_reason", "consent_deadline", "attention_at", "updated_at"}

// EventRow is one event the projection received.
type EventRow struct {
	SubscriptionID string
	Stream         string
	Seq            int64
	ID             string
	Type           billing.EventType
	Timestamp      time.Time
	ReceivedAt     time.Time
	// AppliedAt is when it was applied; zero while it is held behind a gap.
	AppliedAt time.Time
	// Data is the event's data object as received.
	Data []byte
}

// RevenueMonth is one KST month's money, what a Korean merchant files for 부가세: Gross charged
// (duplicate payments included), Refunds made in the month (whatever month the charge was),
// Net = Gross − Refunds, TaxFree the tax-exempt part of Net and Taxable = Net − TaxFree.
type RevenueMonth struct {
	// Month is YYYY-MM in KST.
	Month   string
	Gross   int64
	Refunds int64
	Net     int64
	Taxable int64
	TaxFree int64
	// Charges and RefundCount count the payments and refunds.
	Charges     int
	RefundCount int
}

// Gauges are the stock figures Prometheus scrapes (Collector).
type Gauges struct {
	ByStatus map[billing.Status]int
	MRR      int64
	// DueNext24h counts the charges due in the 24 hours after now; DueNext24hAmount their sum.
	DueNext24h       int
	DueNext24hAmount int64
	Gaps             int
	Lag              time.Duration
}

// Difference is one field where the projection and a workflow's state disagree.
type Difference struct {
	Field      string
	Projection string
	Workflow   string
}

// ApplyResult says what Accept did with an event.
type ApplyResult int

// Apply results.
const (
	// Applied: the event (and any held events it unblocked) changed the projection.
	Applied ApplyResult = iota + 1
	// Duplicate: the event was already received; nothing changed.
	Duplicate
	// Held: the event follows a missing one; it is stored and applied when the gap fills.
	Held
	// Superseded: a workflow state already covered the event; only its money was recorded.
	Superseded
)

// String names the result.
func (r ApplyResult) String() string {
	switch r {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Held:
		return "held"
	case Superseded:
		return "superseded"
	}
	return "unknown"
}
