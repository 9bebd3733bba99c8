package reconcile

import (
	"time"
)

// Names shared with the worker, the starter and operators.
const (
	// WorkflowType is the reconciliation workflow's registered name.
	WorkflowType = "Reconcile"
	// QueryReport answers the Report as it stands (findings once gathered, marks and refunds
	// as they happen).
	QueryReport = "report"
	// ScheduleID is the Temporal Schedule that starts the nightly run.
	ScheduleID = "reconcile-nightly"
	// WorkflowIDPrefix starts every reconciliation workflow ID; the schedule's runs are
	// ScheduleID plus the scheduled time, manual runs "reconcile/<from>_<to>".
	WorkflowIDPrefix = "reconcile"
)

// Defaults of Input's options.
const (
	// DefaultOverlap is how far before the previous KST day the window starts, to catch
	// late status changes (a refund or a retry recorded the day after).
	DefaultOverlap = 24 * time.Hour
	// DefaultRate is the PortOne requests per second a run may make.
	DefaultRate = 5.0
	// DefaultStopTolerance is how far past its NextChargeAt an active subscription may be
	// with no attempt before it counts as a silent stop.
	DefaultStopTolerance = time.Hour
)

// Finding names: one per check. They are stable (operators grep logs and reports for them).
const (
	// FindingOrphan is a payment at PortOne whose merchant_uid is ours but that no
	// subscription's state records (a console 재시도 or 리커버리, a manual payment, a lost
	// answer never settled, a terminated workflow).
	FindingOrphan = "orphan"
	// FindingDuplicate is two or more kept (paid, not fully refunded) payments for one
	// subscription cycle.
	FindingDuplicate = "duplicate"
	// FindingDrift is a charge our state records that PortOne reports differently: status,
	// amount, cancel_amount or paid date in KST.
	FindingDrift = "state_drift"
	// FindingRefund is a refund our state records that PortOne's cancel_history does not
	// show, or a payment whose partial cancels do not add up to its cancel_amount.
	FindingRefund = "refund_mismatch"
	// FindingSchedule is schedule drift: a pending PortOne schedule for a canceled, paused or
	// unknown subscription or not the one the state expects, one missing for a schedule-mode
	// subscription, or one at another time or amount.
	FindingSchedule = "schedule_drift"
	// FindingSilentStop is an active subscription whose NextChargeAt passed more than the
	// tolerance ago with no charge attempt since.
	FindingSilentStop = "silent_stop"
	// FindingKeyGone is an active subscription whose billing key PortOne no longer has.
	FindingKeyGone = "billing_key_gone"
	// FindingRecovery is a payment PortOne made by itself under the merchant_uid of one of our
	// scheduled attempts that the state records as failed, with another imp_uid: the console's
	// 리커버리 (or a person's 즉시 재시도) re-ran a failed schedule. 리커버리 must be off for
	// paycycle; a paid one is also a duplicate when the cycle was paid by our own retry.
	FindingRecovery = "portone_recovery"
	// FindingProjection is a field where the read model's row of a subscription disagrees with
	// its workflow's state (projection.go). It is the read model's fault, never the
	// subscription's: it is not marked, and it never changes money.
	FindingProjection = "projection"
)

// FindingNames lists every finding, in check order.
var FindingNames = []string{FindingOrphan, FindingDuplicate, FindingDrift, FindingRefund, FindingSchedule, FindingSilentStop, FindingKeyGone, FindingRecovery, FindingProjection}

// Input starts a reconciliation. The zero value is a nightly run: the window is derived from
// the time the schedule fired and every option takes its default.
type Input struct {
	// From and To bound the window (PortOne's status timestamps, From inclusive, To
	// exclusive). Both zero: the previous KST day of the scheduled time, extended back by
	// Overlap.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Overlap extends a derived window back in time (default DefaultOverlap; negative: none).
	Overlap time.Duration `json:"overlap,omitempty"`
	// EndAtFireTime ends a derived window at the time the schedule fired instead of at the
	// KST midnight before it: an intraday check (a schedule every few hours), and how the
	// end-to-end test sees today's payments.
	EndAtFireTime bool `json:"end_at_fire_time,omitempty"`
	// AutoRefundDuplicates refunds the unrecorded payment of a proven duplicate (off by
	// default; the evidence is recorded first).
	AutoRefundDuplicates bool `json:"auto_refund_duplicates,omitempty"`
	// Rate is PortOne requests per second (default DefaultRate).
	Rate float64 `json:"rate,omitempty"`
	// StopTolerance is the silent-stop tolerance (default DefaultStopTolerance).
	StopTolerance time.Duration `json:"stop_tolerance,omitempty"`
	// NoMarks leaves subscriptions unmarked (a dry run: the report only).
	NoMarks bool `json:"no_marks,omitempty"`
	// RepairProjection sets the read model's row of each subscription the projection check
	// finds differing from its workflow's state (readmodel's ApplyState), after recording the
	// difference. Off by default: the check reports only.
	RepairProjection bool `json:"repair_projection,omitempty"`
}

// Evidence is one PortOne payment as a finding cites it. Times are KST wall-clock text, so a
// person reads them as the merchant's console shows them.
type Evidence struct {
	ImpUID       string `json:"imp_uid"`
	MerchantUID  string `json:"merchant_uid"`
	Status       string `json:"status"`
	Amount       int64  `json:"amount"`
	CancelAmount int64  `json:"cancel_amount,omitempty"`
	PaidAt       string `json:"paid_at,omitempty"`
	CancelledAt  string `json:"cancelled_at,omitempty"`
	FailedAt     string `json:"failed_at,omitempty"`
	// Usage is payment (again) or payment.scheduled (PortOne's scheduler).
	Usage string `json:"usage,omitempty"`
	// Recorded says whether the subscription's state records this payment.
	Recorded bool `json:"recorded"`
}

// Finding is one disagreement, with what PortOne says and what our state says.
type Finding struct {
	// Name is one of FindingNames.
	Name string `json:"name"`
	// SubscriptionID and WorkflowID name the subscription concerned; empty when the
	// merchant_uid names a subscription that does not exist.
	SubscriptionID string `json:"subscription_id,omitempty"`
	WorkflowID     string `json:"workflow_id,omitempty"`
	// Cycle is the billing cycle concerned, 0 when none.
	Cycle       int    `json:"cycle,omitempty"`
	MerchantUID string `json:"merchant_uid,omitempty"`
	ImpUID      string `json:"imp_uid,omitempty"`
	// PortOne is the PortOne side: the payments involved (a duplicate has several).
	PortOne []Evidence `json:"portone,omitempty"`
	// Ours is what the subscription's state says.
	Ours string `json:"ours"`
	// Detail is the one-line evidence sent with the attention mark (no personal data).
	Detail string `json:"detail"`
	// RequestID makes the attention mark idempotent: stable per finding.
	RequestID string `json:"request_id"`
	// Marked is true once the subscription accepted the attention signal; MarkError says why
	// not otherwise (for example an ended subscription).
	Marked    bool   `json:"marked,omitempty"`
	MarkError string `json:"mark_error,omitempty"`
	// Refund is the outcome of the opt-in automatic refund of a duplicate.
	Refund *RefundOutcome `json:"refund,omitempty"`
	// Projection is the difference a projection finding reports (FindingProjection only).
	Projection *ProjectionDifference `json:"projection,omitempty"`
}

// RefundOutcome reports the automatic refund of a duplicate's unrecorded payment.
type RefundOutcome struct {
	ImpUID   string `json:"imp_uid"`
	Amount   int64  `json:"amount"`
	Refunded bool   `json:"refunded"`
	// Skipped says why no refund was made (not provable any more, both recorded, ...).
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// DayTotals are one KST day's PortOne figures (check 8). Gross counts payments approved that
// day whatever happened later; Refunds the cancels made that day; Net = Gross - Refunds.
type DayTotals struct {
	Day       string `json:"day"`
	Paid      int    `json:"paid"`
	Failed    int    `json:"failed"`
	Cancels   int    `json:"cancels"`
	Gross     int64  `json:"gross"`
	Refunds   int64  `json:"refunds"`
	Net       int64  `json:"net"`
	Ours      int    `json:"ours"`
	Foreign   int    `json:"foreign"`
	Scheduled int    `json:"scheduled"`
}

// Report is the workflow's result and the answer of QueryReport.
type Report struct {
	// Phase is gathering, marking, refunding or done.
	Phase string    `json:"phase"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	AsOf  time.Time `json:"as_of"`
	// Counts is the number of findings by name (every name present, zeros included).
	Counts   map[string]int `json:"counts"`
	Findings []Finding      `json:"findings"`
	Days     []DayTotals    `json:"days"`
	// Subscriptions read, PortOne payments listed, pending schedules listed, PortOne requests made.
	Subscriptions int `json:"subscriptions"`
	Payments      int `json:"payments"`
	Schedules     int `json:"schedules"`
	Requests      int `json:"requests"`
	// Unreadable lists subscription workflows whose state could not be read; their payments
	// are not judged (no false orphan), and a person should look at them.
	Unreadable []string `json:"unreadable,omitempty"`
	Marked     int      `json:"marked"`
	Refunded   int      `json:"refunded"`
	// Truncated counts the findings left out of Findings (past the first 500); they are in
	// Counts and in the worker's logs.
	Truncated int `json:"truncated,omitempty"`
	// Projection is the account of the projection check (projection.go): nil in reports made
	// before it existed.
	Projection *ProjectionCheck `json:"projection_check,omitempty"`
}
