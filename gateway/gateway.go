// Package gateway is the billing-level contract between paycycle and a payment gateway: charge a
// billing key for a cycle attempt, look an attempt up, schedule and revoke a cycle's charge,
// refund against the balance the caller expects, verify and delete a billing key, and list the
// payments of a period for reconciliation. The activities speak only this contract; each
// gateway generation (PortOne V1, gateway/portonev1; PortOne V2, gateway/portonev2) adapts its own client to it
// and proves itself with the conformance suite in gateway/gatewaytest.
//
// The words are the gateway's neutral ones, mapped by each implementation:
//
//	this package   PortOne V1      PortOne V2
//	Key            customer_uid    billingKey
//	PaymentID      merchant_uid    paymentId
//	TxID           imp_uid         transactionId
//
// A decline is a Payment in StatusFailed, never an error; an error says the request itself did
// not settle, and its class (ErrUnknownOutcome, ErrRefused, ...) tells the caller what to do next.
package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/paycycle/paycycle/billing"
)

// Gateway is one payment gateway as billing needs it. Every method is safe to call again after
// an error: writes that may have taken effect fail with ErrUnknownOutcome, and the caller looks
// the payment or schedule up before it writes again.
type Gateway interface {
	// Charge charges req.Key once under req.PaymentID. A decline is a Payment in StatusFailed.
	// A PaymentID that was already paid fails with ErrAlreadyPaid (nothing is charged), an
	// unknown or deleted key with ErrKeyNotFound.
	Charge(ctx context.Context, req ChargeRequest) (Payment, error)
	// Payments returns every attempt made under paymentID, in the gateway's order; none (and no
	// error) when the gateway holds none: that is a definite answer.
	Payments(ctx context.Context, paymentID string) ([]Payment, error)
	// Payment returns one attempt by its TxID; ErrNotFound when the gateway holds none.
	Payment(ctx context.Context, txID string) (Payment, error)
	// Schedule asks the gateway's scheduler to charge req at req.At. ErrKeyNotFound when the
	// key is gone.
	Schedule(ctx context.Context, req ScheduleRequest) error
	// ScheduleOf reports the schedule of paymentID on key (the key it charges: V2 lists
	// schedules by key and time, not by paymentId, and V1 ignores it); ErrNotFound when there
	// is none.
	ScheduleOf(ctx context.Context, key, paymentID string) (Schedule, error)
	// Revoke revokes the pending schedule of paymentID. ErrNothingToRevoke means none was
	// pending: it already ran, or was revoked, or never existed; ScheduleOf says which.
	// ErrKeyNotFound means the key is gone (and with it every schedule on it).
	Revoke(ctx context.Context, key, paymentID string) error
	// Refund gives back part or all of a paid attempt, provided its refundable balance is
	// still req.ExpectedRemaining (a refund that raced another is refused with ErrRefused, never
	// made twice). ErrAlreadyCancelled means nothing was left to refund.
	Refund(ctx context.Context, req RefundRequest) (Payment, error)
	// BillingKey reports a billing key; ErrKeyNotFound when the gateway holds none.
	BillingKey(ctx context.Context, key string) (BillingKey, error)
	// DeleteBillingKey deletes a billing key with the reason and requester NaverPay's review
	// requires. ErrKeyNotFound means it was already gone.
	DeleteBillingKey(ctx context.Context, req DeleteKeyRequest) error
	// ListPayments returns one page of the attempts paid, cancelled or failed within
	// [q.From, q.To), for reconciliation; Next is "" after the last page.
	ListPayments(ctx context.Context, q ListQuery) (PaymentPage, error)
	// PendingSchedules returns one page of the schedules still pending whose time lies in
	// [q.From, q.To) (V1 allows a window of three months), for reconciliation.
	PendingSchedules(ctx context.Context, q ListQuery) (SchedulePage, error)
	// BillingKeys returns those of keys (at most MaxKeysPerCall) the gateway holds; a key it
	// does not hold is absent, not an error. For reconciliation.
	BillingKeys(ctx context.Context, keys []string) ([]BillingKey, error)
}

// MaxKeysPerCall bounds BillingKeys (V1 answers up to 100 customer_uids a request).
const MaxKeysPerCall = 100

// Status is how an attempt stands at the gateway.
type Status string

// Attempt statuses. A gateway may answer another value for an attempt that has not settled;
// callers treat it as not settled yet.
const (
	// StatusPaid: approved. A partly refunded payment stays paid (Cancelled < Amount).
	StatusPaid Status = "paid"
	// StatusFailed: declined; FailReason says why.
	StatusFailed Status = "failed"
	// StatusCancelled: approved and then refunded in full.
	StatusCancelled Status = "cancelled"
)

// Payment is one attempt under a PaymentID.
type Payment struct {
	// PaymentID is the caller's id of the charge (V1 merchant_uid, V2 paymentId).
	PaymentID string
	// TxID is the gateway's id of this attempt (V1 imp_uid, V2 transactionId); empty for a
	// decline the gateway answered without storing an attempt.
	TxID string
	// Key is the billing key charged (V1 customer_uid, V2 billingKey).
	Key    string
	Status Status
	// Amount is the amount the gateway charged (for a decline: the amount asked), in KRW. It
	// may differ from the amount asked; the caller checks.
	Amount int64
	// Cancelled is the total refunded so far, in KRW.
	Cancelled int64
	// Pending is what refunds asked for and not finished yet hold, in KRW: V2's REQUESTED
	// cancellations (an asynchronous cancel), spoken for but not given back, not in Cancelled.
	// V1 cancels at once and has none.
	Pending int64
	// FailReason is the PG's decline text (free text, never a metric label).
	FailReason string
	ReceiptURL string
	// Usage says what made the attempt.
	Usage Usage
	// StartedAt, PaidAt, FailedAt and CancelledAt (the last refund) are zero when not
	// applicable or unknown.
	StartedAt   time.Time
	PaidAt      time.Time
	FailedAt    time.Time
	CancelledAt time.Time
	// Refunds are the refunds made so far, oldest first; their sum is Cancelled.
	Refunds []Refund
	// Cancellations are every refund asked of the payment as the gateway lists them, each with
	// its own ID and state, oldest first: V2's cancellations (REQUESTED, SUCCEEDED, FAILED).
	// With two refunds asked at once, the totals (Cancelled, Pending) cannot say which of them
	// PortOne finished; the ID can. V1 cancels at once and lists none.
	Cancellations []Cancellation
}

// Cancellation is one refund asked of a payment, as the gateway tracks it.
type Cancellation struct {
	// ID is the gateway's cancellation ID (V2 cancellation id).
	ID     string
	Status CancellationStatus
	// Amount is what it asks back (given back once it succeeded), in KRW.
	Amount      int64
	RequestedAt time.Time
}

// CancellationStatus is where a refund asked of the gateway stands.
type CancellationStatus string

// Cancellation statuses. A status the gateway adds later is passed on lower-cased: callers treat
// it as not finished.
const (
	// CancellationRequested: asked for and not finished (V2's asynchronous cancel).
	CancellationRequested CancellationStatus = "requested"
	// CancellationSucceeded: given back.
	CancellationSucceeded CancellationStatus = "succeeded"
	// CancellationFailed: ended without giving anything back; the amount is cancellable again.
	CancellationFailed CancellationStatus = "failed"
)

// Cancellation returns the payment's cancellation with the given ID.
func (p Payment) Cancellation(id string) (Cancellation, bool) {
	for _, c := range p.Cancellations {
		if id != "" && c.ID == id {
			return c, true
		}
	}
	return Cancellation{}, false
}

// RequestedCancellation is the cause of a Refund's ErrUnknownOutcome when the gateway accepted
// the refund and has not finished it (V2 answered the cancel REQUESTED): its ID lets the caller
// follow this very cancellation, not the payment's totals.
type RequestedCancellation struct {
	ID     string
	Status string
}

func (e *RequestedCancellation) Error() string {
	return fmt.Sprintf("cancellation %s is %s, not finished", e.ID, e.Status)
}

// Usage is what made an attempt. The strings are V1's customer_uid_usage, so that
// reconciliation reports read the same before and after the seam.
type Usage string

// Usages.
const (
	// UsageRegistration: the billing key's registration (NaverPay's registration record).
	UsageRegistration Usage = "issue"
	// UsageCharge: a charge made by Charge.
	UsageCharge Usage = "payment"
	// UsageScheduled: a charge made by the gateway's scheduler.
	UsageScheduled Usage = "payment.scheduled"
)

// Refund is one refund of a payment.
type Refund struct {
	Amount int64
	At     time.Time
}

// ChargeRequest is one charge attempt of a billing cycle.
type ChargeRequest struct {
	Key       string
	PaymentID string
	Amount    int64
	// TaxFree is the tax-exempt part of Amount.
	TaxFree int64
	Name    string
	Buyer   billing.Buyer
	// CustomData is shown in the gateway's console; it carries no personal data.
	CustomData string
	// NaverUseCfm is NaverPay's 이용완료일 (yyyyMMdd, KST), "" for none.
	NaverUseCfm string
	// NoticeURL is where the gateway reports the charge's outcome ("" for the console's URL; a
	// gateway that takes its webhook URL from its console only ignores it).
	NoticeURL string
	// AnswerOnly takes the charge's own answer as the Payment, without reading the payment
	// back: one request per approved charge. A gateway whose answer does not name the attempt
	// (PortOne V2's carries only pgTxId and paidAt) then returns it paid with an empty TxID and
	// the amount asked (V2 approves the amount of the request or declines), and the caller
	// learns the TxID later, from a verified webhook or a listing. A gateway whose answer is
	// complete (V1) ignores it.
	AnswerOnly bool
}

// ScheduleRequest asks the gateway's scheduler to make a charge at At.
type ScheduleRequest struct {
	ChargeRequest
	At time.Time
}

// ScheduleStatus is how a schedule stands.
type ScheduleStatus string

// Schedule statuses.
const (
	// SchedulePending: the gateway will charge at At.
	SchedulePending ScheduleStatus = "scheduled"
	// ScheduleExecuted: the scheduler ran it; TxID names the attempt it made.
	ScheduleExecuted ScheduleStatus = "executed"
	// ScheduleRevoked: revoked before it ran; nothing was charged.
	ScheduleRevoked ScheduleStatus = "revoked"
)

// Schedule is one scheduled charge.
type Schedule struct {
	PaymentID string
	// Key is the billing key it charges, Amount what it charges (KRW).
	Key    string
	Amount int64
	Status ScheduleStatus
	At     time.Time
	// TxID is the attempt the execution made ("" before it ran).
	TxID string
	// RevokedAt is when it was revoked, zero if it was not.
	RevokedAt time.Time
}

// RefundRequest refunds part or all of a paid attempt.
type RefundRequest struct {
	TxID string
	// PaymentID is TxID's PaymentID when the caller knows it ("" otherwise). V2 cancels by
	// paymentId and otherwise searches for it by transactionId; V1 ignores it.
	PaymentID string
	// Amount to refund in KRW; 0 refunds everything that remains.
	Amount int64
	// TaxFree is the tax-exempt part of Amount.
	TaxFree int64
	// ExpectedRemaining is the refundable balance the caller believes the payment has before
	// this refund (V1's checksum, V2's currentCancellableAmount). The gateway refuses the
	// refund when it differs, which is what makes a retried or racing refund safe.
	ExpectedRemaining int64
	Reason            string
	Requester         billing.Requester
}

// BillingKey is what the gateway says about a billing key.
type BillingKey struct {
	Key        string
	PGProvider string
	CardName   string
	// IssueID is the merchant's issue ID the key was issued under (V2's issueId; "" on
	// gateways without one, V1). A V2 subscription trusts a key only with its own.
	IssueID string
}

// DeleteKeyRequest deletes a billing key.
type DeleteKeyRequest struct {
	Key       string
	Reason    string
	Requester billing.Requester
}

// ListQuery bounds ListPayments: an attempt is listed under its current status when the time of
// that status (paid, refunded, declined) lies in [From, To), so an attempt paid on day 1 and
// refunded on day 3 is listed on day 3 only, as cancelled.
type ListQuery struct {
	From, To time.Time
	// Cursor is "" for the first page, else the Next of the page before.
	Cursor string
}

// SchedulePage is one page of PendingSchedules.
type SchedulePage struct {
	Schedules []Schedule
	// Next is the cursor of the next page, "" after the last.
	Next string
}

// PaymentPage is one page of ListPayments.
type PaymentPage struct {
	Payments []Payment
	// Next is the cursor of the next page, "" after the last.
	Next string
}
