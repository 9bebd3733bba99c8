package portonetest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// statusListWindow is PortOne's widest from/to window on GET /payments/status/{status} and its
// default when from is omitted (v1.openapi.json, getPaymentsByStatus).
const statusListWindow = 90 * 24 * time.Hour

// statusTime is the timestamp GET /payments/status/{status} filters a payment on: the one of
// its current status (ready: started_at, paid: paid_at, cancelled: cancelled_at, failed:
// failed_at), as PortOne's document says.
func (p *payment) statusTime() int64 {
	switch p.status {
	case statusPaid:
		return p.paidAt
	case statusCancelled:
		return p.cancelledAt
	case statusFailed:
		return p.failedAt
	default:
		return p.startedAt
	}
}

// handlePaymentsByStatus serves GET /payments/status/{payment_status}: the merchant's payments
// whose current status is payment_status (all: any) and whose status timestamp lies in
// [from, to] (both inclusive; defaults: to = now, from = to - 90 days; wider than 90 days is
// 400), sorted (default -started), paged (limit default 20, at most 1000). A page past the
// last one is 400, as the document declares; page 1 of nothing is an empty page.
func (e *Emulator) handlePaymentsByStatus(c *call) result {
	status := c.vars["payment_status"]
	if status != "all" && !slices.Contains(paymentStatuses, status) {
		return refuse(http.StatusBadRequest, 1, fmt.Sprintf("payment_status는 all, %v 중 하나여야 합니다.", paymentStatuses))
	}
	_, sorting, sandbox, res, bad := findParams(&call{q: c.q, vars: map[string]string{}})
	if bad {
		return res
	}
	pageNo, res, bad := pageParam(c.q, "page")
	if bad {
		return res
	}
	limit, res, bad := limitParam(c.q, "limit")
	if bad {
		return res
	}
	from, hasFrom, err1 := c.q.int("from")
	to, hasTo, err2 := c.q.int("to")
	if err1 != nil || err2 != nil {
		return refuse(http.StatusBadRequest, 1, "from, to 파라메터는 unix timestamp(초)여야 합니다.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !hasTo {
		to = e.clock.Now().Unix()
	}
	if !hasFrom {
		from = to - int64(statusListWindow/time.Second)
	}
	switch {
	case to < from:
		return refuse(http.StatusBadRequest, 1, "to는 from보다 작을 수 없습니다.")
	case to-from > int64(statusListWindow/time.Second):
		return refuse(http.StatusBadRequest, 1, "검색기간은 최대 90일까지 가능합니다.")
	}
	var ps []*payment
	for _, p := range c.m.payments {
		if (status == "all" || p.status == status) && visible(p, sandbox) {
			if t := p.statusTime(); t >= from && t <= to {
				ps = append(ps, p)
			}
		}
	}
	if pageNo > 1 && (pageNo-1)*limit >= len(ps) {
		return refuse(http.StatusBadRequest, 1, fmt.Sprintf("page(%d)가 데이터 범위를 넘어섰습니다.", pageNo))
	}
	sortPayments(ps, sorting)
	list := make([]wirePayment, 0, len(ps))
	for _, p := range ps {
		list = append(list, p.wire())
	}
	return ok(paginate(list, pageNo, limit))
}

// PaymentSeed is a payment made outside the subscription API: what a merchant's console
// makes (a manual payment, a 재시도 or 리커버리 retry), or an orphan for reconciliation tests.
type PaymentSeed struct {
	// Merchant is the merchant key. Optional: defaults to the first merchant.
	Merchant string `json:"merchant,omitempty"`
	// MerchantUID is the order id (required). Unlike again, an already paid merchant_uid is
	// accepted: a console retry or a PortOne-side bug is exactly how duplicates happen.
	MerchantUID string `json:"merchant_uid"`
	// CustomerUID is the billing key charged. Optional; when set it must be registered, and
	// the payment carries its PG and card fields.
	CustomerUID string `json:"customer_uid,omitempty"`
	// Usage is customer_uid_usage: "payment" (default) or "payment.scheduled".
	Usage string `json:"usage,omitempty"`
	// Name is the order name. Optional.
	Name string `json:"name,omitempty"`
	// Amount in KRW (required, > 0).
	Amount int64 `json:"amount"`
	// TaxFree is the tax-exempt part of Amount.
	TaxFree int64 `json:"tax_free,omitempty"`
	// Status is paid (default), failed or cancelled (paid, then refunded in full at
	// CancelledAt).
	Status string `json:"status,omitempty"`
	// CancelAmount refunds part of a paid payment at CancelledAt (status stays paid).
	CancelAmount int64 `json:"cancel_amount,omitempty"`
	// At is when the payment was started and paid or failed. Optional: defaults to the
	// emulator's clock.
	At time.Time `json:"at,omitzero"`
	// CancelledAt is when a cancelled or partly refunded payment was refunded. Optional:
	// defaults to At.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
}

// CreatePayment records a payment directly in the ledger, as PortOne's console would, and
// returns its ledger entry. No fault fires and no webhook is sent.
func (e *Emulator) CreatePayment(seed PaymentSeed) (LedgerEntry, error) {
	switch {
	case seed.MerchantUID == "":
		return LedgerEntry{}, errors.New("portonetest: PaymentSeed.MerchantUID is required")
	case len(seed.MerchantUID) > 40:
		return LedgerEntry{}, errors.New("portonetest: PaymentSeed.MerchantUID is longer than 40 characters")
	case seed.Amount <= 0:
		return LedgerEntry{}, fmt.Errorf("portonetest: PaymentSeed.Amount must be positive, got %d", seed.Amount)
	case seed.TaxFree < 0 || seed.TaxFree > seed.Amount:
		return LedgerEntry{}, fmt.Errorf("portonetest: PaymentSeed.TaxFree must be within 0..Amount, got %d", seed.TaxFree)
	case seed.CancelAmount < 0 || seed.CancelAmount >= seed.Amount && seed.CancelAmount != 0:
		return LedgerEntry{}, fmt.Errorf("portonetest: PaymentSeed.CancelAmount must be within 0..Amount-1 (use Status cancelled for a full refund), got %d", seed.CancelAmount)
	}
	switch seed.Status {
	case "":
		seed.Status = statusPaid
	case statusPaid, statusFailed, statusCancelled:
	default:
		return LedgerEntry{}, fmt.Errorf("portonetest: PaymentSeed.Status must be paid, failed or cancelled, got %q", seed.Status)
	}
	if seed.Status == statusFailed && seed.CancelAmount != 0 {
		return LedgerEntry{}, errors.New("portonetest: PaymentSeed.CancelAmount needs a paid payment")
	}
	switch seed.Usage {
	case "":
		seed.Usage = usagePayment
	case usagePayment, usageScheduled:
	default:
		return LedgerEntry{}, fmt.Errorf("portonetest: PaymentSeed.Usage must be payment or payment.scheduled, got %q", seed.Usage)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.merchantFor(seed.Merchant)
	if err != nil {
		return LedgerEntry{}, err
	}
	cust := &customer{pgProvider: PGNaverPay, pgID: defaultNaverPayMID}
	if seed.CustomerUID != "" {
		if cust = m.customers[seed.CustomerUID]; cust == nil {
			return LedgerEntry{}, fmt.Errorf("portonetest: customer_uid %q is not registered", seed.CustomerUID)
		}
	}
	at := seed.At
	if at.IsZero() {
		at = e.clock.Now()
	}
	name := seed.Name
	if name == "" {
		name = "console payment"
	}
	p := e.newPaymentLocked(m, at, cust, seed.MerchantUID, name, seed.Amount, seed.TaxFree, buyer{}.orFrom(cust.orNil()), nil, "", seed.Usage)
	if seed.Status == statusFailed {
		e.failLocked(p, at, "console: declined")
		return p.ledgerEntry(), nil
	}
	e.approveLocked(p, at)
	refund := seed.CancelAmount
	if seed.Status == statusCancelled {
		refund = seed.Amount
	}
	if refund > 0 {
		ct := seed.CancelledAt
		if ct.IsZero() {
			ct = at
		}
		p.cancels = append(p.cancels, cancelRecord{
			pgTID: fmt.Sprintf("%sC%s", ct.In(kst).Format("20060102"), randomDigits(11)), amount: refund,
			cancelledAt: ct.Unix(), reason: "console refund", cancellationID: randomBase32(26),
			receiptURL: receiptURL(p.impUID) + "/cancel/1",
		})
		p.cancelAmount, p.cancelledAt, p.cancelReason, p.updatedAt = refund, ct.Unix(), "console refund", ct.Unix()
		if p.remaining() == 0 {
			p.status = statusCancelled
		}
	}
	return p.ledgerEntry(), nil
}

// orNil lets a synthetic customer (no uid) fill nothing into the buyer.
func (c *customer) orNil() *customer {
	if c == nil || c.uid == "" {
		return nil
	}
	return c
}

func (e *Emulator) ctlCreatePayment(w http.ResponseWriter, r *http.Request) {
	var seed PaymentSeed
	if err := decodeControl(r, &seed); err != nil {
		controlFail(w, http.StatusBadRequest, "invalid body: %v", err)
		return
	}
	le, err := e.CreatePayment(seed)
	if err != nil {
		controlFail(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, le)
}
