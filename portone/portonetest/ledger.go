package portonetest

import (
	"log/slog"
	"strings"
	"time"
)

// LedgerEntry is one payment record as it stands now. The ledger is the emulator's ground
// truth: a test asserts on it to prove what was really charged, whatever the client saw.
//
// V1 and V2 payments share it: on a V2 entry (Version VersionV2) ImpUID is the attempt's
// transactionId, MerchantUID the paymentId and CustomerUID the billingKey, so checks keyed on
// merchant_uid (PaidCount, "one paid charge per cycle") hold across generations.
type LedgerEntry struct {
	// Merchant is the key of the merchant that owns the payment.
	Merchant string `json:"merchant"`
	// Version is the API generation the payment was made through: VersionV1 or VersionV2.
	Version string `json:"version"`
	// ImpUID is PortOne's payment id (V2: the attempt's transactionId).
	ImpUID string `json:"imp_uid"`
	// MerchantUID is the merchant's order id (V2: the paymentId).
	MerchantUID string `json:"merchant_uid"`
	// CustomerUID is the billing key the payment used (V2: the billingKey).
	CustomerUID string `json:"customer_uid"`
	// ScheduleID is the V2 schedule that made the attempt, if any.
	ScheduleID string `json:"schedule_id,omitempty"`
	// PGCode is a declined V2 attempt's pgCode.
	PGCode string `json:"pg_code,omitempty"`
	// Usage is customer_uid_usage: "issue" (registration record), "payment" (again) or
	// "payment.scheduled" (an executed schedule).
	Usage string `json:"usage"`
	// Amount is the charged amount in KRW.
	Amount int64 `json:"amount"`
	// CancelAmount is the refunded part of Amount.
	CancelAmount int64 `json:"cancel_amount"`
	// Status is paid, failed or cancelled (fully refunded).
	Status string `json:"status"`
	// FailReason is the decline reason of a failed payment.
	FailReason string `json:"fail_reason,omitempty"`
	// Sandbox reports whether the merchant is a sandbox merchant.
	Sandbox bool `json:"sandbox"`
	// CreatedAt is when the payment was created, on the emulator's clock.
	CreatedAt time.Time `json:"created_at"`
	// PaidAt is when it was approved; zero if never.
	PaidAt time.Time `json:"paid_at"`
	// TaxFree is the tax-exempt part the charge was asked with.
	TaxFree int64 `json:"tax_free"`
	// NaverUseCfm is the extra.naverUseCfm the charge was asked with.
	NaverUseCfm string `json:"naver_use_cfm,omitempty"`
	// Cancels are the refunds made on it, in order.
	Cancels []LedgerCancel `json:"cancels,omitempty"`
}

// LedgerCancel is one refund (cancel) of a payment.
type LedgerCancel struct {
	Amount  int64     `json:"amount"`
	TaxFree int64     `json:"tax_free"`
	At      time.Time `json:"at"`
	// RequestedAt is when the refund was asked for: At, except for a V2 cancel PortOne finished
	// asynchronously (V2Options.AsyncCancel), asked for at RequestedAt and done at At.
	RequestedAt time.Time `json:"requested_at"`
}

func (p *payment) ledgerEntry() LedgerEntry {
	le := LedgerEntry{
		Merchant: p.m.key, ImpUID: p.impUID, MerchantUID: p.merchantUID, CustomerUID: p.customerUID,
		Usage: p.usage, Amount: p.amount, CancelAmount: p.cancelAmount, Status: p.status,
		FailReason: p.failReason, Sandbox: p.m.sandbox, CreatedAt: p.createdAt,
		TaxFree: p.taxFree, NaverUseCfm: p.naverUseCfm,
	}
	for _, c := range p.cancels {
		at, asked := time.Unix(c.cancelledAt, 0), time.Unix(c.requestedAt, 0)
		if c.requestedAt == 0 {
			asked = at
		}
		le.Cancels = append(le.Cancels, LedgerCancel{Amount: c.amount, TaxFree: c.taxFree, At: at, RequestedAt: asked})
	}
	if p.paidAt != 0 {
		le.PaidAt = time.Unix(p.paidAt, 0)
	}
	le.Version = VersionV1
	if p.v2 != nil {
		le.Version, le.ScheduleID, le.PGCode = VersionV2, p.v2.scheduleID, p.v2.pgCode
	}
	return le
}

// Ledger returns every payment ever created, across merchants, in creation order:
// registration records, approved and declined charges, and executed schedules.
func (e *Emulator) Ledger() []LedgerEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]LedgerEntry, 0, len(e.payments))
	for _, p := range e.payments {
		out = append(out, p.ledgerEntry())
	}
	return out
}

// PaidCount returns how many charges with merchantUID were approved, across all merchants.
// A charge counts when it is a payment ("payment" or "payment.scheduled" usage, not a
// registration record) that was approved at some point: its status is paid, or it was paid
// and then partly or fully cancelled. Declined attempts never count. Tests use it to assert
// "exactly one successful charge per merchant_uid"; the emulator itself refuses a second
// approval of a merchant_uid, so any value above 1 means the emulator has a bug.
func (e *Emulator) PaidCount(merchantUID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, p := range e.payments {
		if p.merchantUID == merchantUID && p.usage != usageIssue && p.wasPaid() {
			n++
		}
	}
	return n
}

// ReviewWarning records a NaverPay request that PortOne accepts but NaverPay's review would
// flag: a cancel or billing-key deletion without a reason or without extra.requester.
type ReviewWarning struct {
	// Merchant is the merchant key.
	Merchant string `json:"merchant"`
	// Route is the PortOne route, e.g. "POST /payments/cancel".
	Route string `json:"route"`
	// CustomerUID is the billing key concerned.
	CustomerUID string `json:"customer_uid,omitempty"`
	// ImpUID is the payment concerned (cancels only).
	ImpUID string `json:"imp_uid,omitempty"`
	// Missing lists the missing fields: "reason", "extra.requester".
	Missing []string `json:"missing"`
	// At is when it happened, on the emulator's clock.
	At time.Time `json:"at"`
}

func (e *Emulator) reviewWarningLocked(m *merchant, route, customerUID, impUID, reason string, hasRequester bool) {
	var missing []string
	if strings.TrimSpace(reason) == "" {
		missing = append(missing, "reason")
	}
	if !hasRequester {
		missing = append(missing, "extra.requester")
	}
	if len(missing) == 0 {
		return
	}
	w := ReviewWarning{Merchant: m.key, Route: route, CustomerUID: customerUID, ImpUID: impUID, Missing: missing, At: e.clock.Now()}
	e.warnings = append(e.warnings, w)
	e.log.Warn("NaverPay review: request lacks fields NaverPay requires",
		slog.String("route", route), slog.String("customer_uid", customerUID),
		slog.String("imp_uid", impUID), slog.String("missing", strings.Join(missing, ",")))
}

// Warnings returns the NaverPay review warnings recorded so far, oldest first.
func (e *Emulator) Warnings() []ReviewWarning {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ReviewWarning(nil), e.warnings...)
}
