package portonetest

// V2 payments: POST /payments/{paymentId}/billing-key (many attempts per paymentId, one
// success), GET /payments/{paymentId}, GET /payments (the paged list reconciliation reads) and
// GET /payments/{paymentId}/transactions (every attempt).

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Decline codes of the V2 emulator's PG_PROVIDER errors. NaverPay's own codes are not
// published with PortOne's V2 documents (v2-api.md names pgCode, not its values): these are
// the emulator's, stable so that a client can be tested on classifying them. Guess.
const (
	// V2PGCodeDecline is the pgCode of a soft decline (default reason DefaultDeclineReason).
	V2PGCodeDecline = "NAVERPAY_INSUFFICIENT_BALANCE"
	// V2PGCodeHardDecline is the pgCode of a hard decline: the key can never pay again.
	V2PGCodeHardDecline = "NAVERPAY_RECURRENT_TERMINATED"
	// V2PGCodeError is the pgCode of an injected PG error on a scheduled execution.
	V2PGCodeError = "NAVERPAY_SYSTEM_ERROR"
)

// v2Status is an attempt's V2 status.
func (p *payment) v2Status() string {
	switch {
	case p.status == statusFailed:
		return "FAILED"
	case p.status == statusReady:
		return "READY"
	case p.cancelAmount > 0 && p.cancelAmount >= p.amount:
		return "CANCELLED"
	case p.cancelAmount > 0:
		return "PARTIAL_CANCELLED"
	default:
		return "PAID"
	}
}

// v2Current is the attempt GET /payments/{paymentId} shows: the one that was paid, else the
// latest.
func v2Current(attempts []*payment) *payment {
	for _, p := range attempts {
		if p.wasPaid() {
			return p
		}
	}
	if len(attempts) == 0 {
		return nil
	}
	return attempts[len(attempts)-1]
}

// v2ChargeInput is a validated BillingKeyPaymentInput.
type v2ChargeInput struct {
	billingKey  string
	orderName   string
	total       int64
	taxFree     int64
	vat         int64
	hasVat      bool
	currency    string
	customer    V2Customer
	customData  string
	noticeURLs  []string
	naverUseCfm string
	skipWebhook bool
}

// readV2ChargeInput reads BillingKeyPaymentInput (or BillingKeyPaymentScheduleInput) and
// returns an INVALID_REQUEST message naming the field when it is malformed.
func readV2ChargeInput(p params, now time.Time) (v2ChargeInput, string) {
	var in v2ChargeInput
	var err error
	str := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, _, err = p.str(key)
		return v
	}
	in.billingKey = str("billingKey")
	in.orderName = str("orderName")
	in.currency = str("currency")
	in.customData = str("customData")
	if err != nil {
		return in, err.Error()
	}
	switch {
	case in.billingKey == "":
		return in, p.name("billingKey") + ": required"
	case strings.TrimSpace(in.orderName) == "":
		return in, p.name("orderName") + ": required"
	case in.currency == "":
		return in, p.name("currency") + ": required"
	case in.currency != "KRW":
		return in, fmt.Sprintf("%s: NaverPay charges KRW only, got %q", p.name("currency"), in.currency)
	}
	amt, ok, aerr := p.obj("amount")
	if aerr != nil {
		return in, aerr.Error()
	}
	if !ok {
		return in, p.name("amount") + ": required"
	}
	var given bool
	if in.total, given, err = amt.int("total"); err != nil || !given {
		if err != nil {
			return in, err.Error()
		}
		return in, amt.name("total") + ": required"
	}
	if in.taxFree, _, err = amt.int("taxFree"); err != nil {
		return in, err.Error()
	}
	if in.vat, in.hasVat, err = amt.int("vat"); err != nil {
		return in, err.Error()
	}
	switch {
	case in.total <= 0:
		return in, fmt.Sprintf("%s: must be positive, got %d", amt.name("total"), in.total)
	case in.total < V2NaverPayMinAmount:
		// Guess: the 100 KRW minimum is NaverPay's (V2 guide); PortOne's error for it is not
		// documented, INVALID_REQUEST is the emulator's choice.
		return in, fmt.Sprintf("%s: NaverPay's minimum charge is %d KRW, got %d", amt.name("total"), V2NaverPayMinAmount, in.total)
	case in.taxFree < 0 || in.taxFree > in.total:
		return in, fmt.Sprintf("%s: must be within 0..%d, got %d", amt.name("taxFree"), in.total, in.taxFree)
	case in.hasVat && (in.vat < 0 || in.vat > in.total-in.taxFree):
		return in, fmt.Sprintf("%s: must be within 0..%d, got %d", amt.name("vat"), in.total-in.taxFree, in.vat)
	}
	if !in.hasVat {
		in.vat = (in.total - in.taxFree) / 11
	}
	if cust, ok, cerr := p.obj("customer"); cerr != nil {
		return in, cerr.Error()
	} else if ok {
		in.customer.ID, _, _ = cust.str("id")
		in.customer.Email, _, _ = cust.str("email")
		in.customer.PhoneNumber, _, _ = cust.str("phoneNumber")
		if name, ok, _ := cust.obj("name"); ok {
			in.customer.Name, _, _ = name.str("full")
		}
	}
	urls, uerr := p.strList("noticeUrls")
	if uerr != nil {
		return in, uerr.Error()
	}
	for _, u := range urls {
		if !absoluteHTTPURL(u) {
			return in, fmt.Sprintf("%s: %q is not an absolute http(s) URL", p.name("noticeUrls"), u)
		}
	}
	in.noticeURLs = urls
	if in.skipWebhook, _, err = p.boolean("skipWebhook"); err != nil {
		return in, err.Error()
	}
	// NaverPay's 이용완료일 travels as bypass.naverpay.useCfmYmdt (yyyyMMdd), V2's twin of V1's
	// extra.naverUseCfm (v2-api.md §4).
	if bypass, ok, berr := p.obj("bypass"); berr != nil {
		return in, berr.Error()
	} else if ok {
		if np, ok, nerr := bypass.obj("naverpay"); nerr != nil {
			return in, nerr.Error()
		} else if ok {
			if in.naverUseCfm, _, err = np.str("useCfmYmdt"); err != nil {
				return in, err.Error()
			}
			if in.naverUseCfm != "" && !checkNaverUseCfm(in.naverUseCfm, now) {
				return in, fmt.Sprintf("%s: NaverPay's 이용완료일 must be yyyyMMdd, on or after the payment day, got %q", np.name("useCfmYmdt"), in.naverUseCfm)
			}
		}
	}
	return in, ""
}

// v2Pay serves POST /payments/{paymentId}/billing-key.
func (e *Emulator) v2Pay(c *v2Call) v2Result {
	paymentID := c.r.PathValue("paymentId")
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	in, msg := readV2ChargeInput(c.body, now)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	if ck, _, _ := c.body.str("channelKey"); ck != "" && ck != c.m.channelKey {
		return v2Fail(http.StatusNotFound, "CHANNEL_NOT_FOUND", "channelKey %s is not a channel of this store", ck)
	}
	k := c.m.v2.keys[in.billingKey]
	if k == nil {
		return v2Fail(http.StatusNotFound, v2KeyNotFound, "빌링키가 존재하지 않습니다.")
	}
	if !k.deletedAt.IsZero() {
		return v2Fail(http.StatusConflict, v2KeyAlreadyDeleted, "이미 삭제된 빌링키입니다.")
	}
	attempts := c.m.v2.attempts[paymentID]
	if cur := v2Current(attempts); cur != nil && cur.wasPaid() {
		return v2Fail(http.StatusConflict, v2AlreadyPaid, "이미 결제가 완료된 paymentId입니다.")
	}
	if slices.ContainsFunc(c.m.v2.schedules, func(s *v2Schedule) bool { return s.paymentID == paymentID && s.status == v2SchedScheduled }) {
		return v2Fail(http.StatusConflict, v2ScheduleExists, "paymentId에 예약된 결제가 있습니다.")
	}
	if len(attempts) >= e.v2MaxAttempts() {
		return v2Fail(http.StatusBadRequest, v2MaxTransactions, "결제 혹은 본인인증 시도 횟수가 최대에 도달했습니다.")
	}
	p := e.v2ChargeLocked(c.m, k, paymentID, in, "", usagePayment, OpV2Pay, remoteIP(c.r), now)
	if p.status == statusFailed {
		if !in.skipWebhook {
			e.enqueueV2WebhookLocked(c.m, in.noticeURLs, v2PaymentEvent("Transaction.Failed", p), p.v2Subject(), OpV2Pay)
		}
		return v2Result{status: http.StatusBadGateway, body: v2Error{Type: v2PGProvider, Message: p.failReason, PGCode: p.v2.pgCode, PGMessage: p.v2.pgMessage}}
	}
	if !in.skipWebhook {
		e.enqueueV2WebhookLocked(c.m, in.noticeURLs, v2PaymentEvent("Transaction.Paid", p), p.v2Subject(), OpV2Pay)
	}
	res := v2OK(map[string]any{"payment": map[string]string{"pgTxId": p.pgTID, "paidAt": v2Time(p.v2.statusChangedAt)}})
	res.after = e.fireLocked(c.op, p.v2Subject(), FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

func (e *Emulator) v2MaxAttempts() int {
	if n := e.opts.V2.MaxAttempts; n > 0 {
		return n
	}
	return DefaultV2MaxAttempts
}

// v2Subject is the fault subject of a V2 attempt.
func (p *payment) v2Subject() subject {
	return subject{merchant: p.m.key, customerUID: p.customerUID, merchantUID: p.merchantUID}
}

// v2ChargeLocked makes one attempt under paymentID and approves or declines it, with the same
// fault machinery as V1's charges (decline, hard decline, amount mismatch; on a scheduled
// execution an injected PG error is a failed attempt).
func (e *Emulator) v2ChargeLocked(m *merchant, k *v2Key, paymentID string, in v2ChargeInput, scheduleID, usage string, op FaultOp, ip string, now time.Time) *payment {
	p := &payment{
		seq: e.nextSeq(), m: m, impUID: newUUID(), merchantUID: paymentID, payMethod: "naverpay", channel: "api",
		pgProvider: PGNaverPay, pgID: v2NaverPayMID, name: in.orderName, amount: in.total, taxFree: in.taxFree,
		currency: "KRW", status: statusReady, startedAt: now.Unix(), updatedAt: now.Unix(),
		customerUID: k.billingKey, usage: usage, naverUseCfm: in.naverUseCfm, createdAt: now,
		v2: &v2Attempt{scheduleID: scheduleID, vat: in.vat, customer: in.customer, noticeURLs: in.noticeURLs,
			ipAddress: ip, requestedAt: now, statusChangedAt: now},
	}
	if in.customData != "" {
		cd := in.customData
		p.customData = &cd
	}
	if p.v2.customer == (V2Customer{}) {
		p.v2.customer = k.customer
	}
	m.v2.attempts[paymentID] = append(m.v2.attempts[paymentID], p)
	if len(m.v2.attempts[paymentID]) == 1 {
		m.v2.paymentIDs = append(m.v2.paymentIDs, paymentID)
	}
	m.v2.byTx[p.impUID] = p
	e.payments = append(e.payments, p)

	decline := func(reason, code string) {
		e.failLocked(p, now, reason)
		p.v2.pgCode, p.v2.pgMessage = code, reason
	}
	if k.invalidReason != "" {
		decline(k.invalidReason, V2PGCodeHardDecline)
	} else {
		actions := []FaultAction{FaultDecline, FaultDeclineCode, FaultAmountMismatch}
		if op == OpV2ScheduleExecution {
			actions = append(actions, FaultErrorBeforeCommit)
		}
		f := e.fireLocked(op, p.v2Subject(), actions...)
		switch {
		case f == nil:
			e.approveLocked(p, now)
		case f.Action == FaultAmountMismatch:
			p.amount = f.PaidAmount
			if p.amount == 0 {
				p.amount = in.total + DefaultMismatchDelta
			}
			p.taxFree = min(p.taxFree, p.amount)
			p.v2.vat = (p.amount - p.taxFree) / 11
			e.approveLocked(p, now)
		default:
			reason, code := f.Reason, f.PGCode
			switch {
			case f.Hard:
				reason, code = cmp.Or(reason, DefaultHardDeclineReason), cmp.Or(code, V2PGCodeHardDecline)
				k.invalidReason = reason
			case f.Action == FaultErrorBeforeCommit:
				reason, code = cmp.Or(reason, defaultErrorBeforeCommitMessage), cmp.Or(code, V2PGCodeError)
			default:
				reason, code = cmp.Or(reason, DefaultDeclineReason), cmp.Or(code, V2PGCodeDecline)
			}
			decline(reason, code)
		}
	}
	p.v2.statusChangedAt = now
	e.log.Info("v2 charge", slog.String("merchant", maskKey(m.key)), slog.String("usage", usage),
		slog.String("transaction_id", p.impUID), slog.String("payment_id", paymentID),
		slog.String("billing_key", k.billingKey), slog.Int64("amount", p.amount),
		slog.String("status", p.v2Status()), slog.String("pg_code", p.v2.pgCode))
	return p
}

// ---- the Payment read model ----

// v2WireAmount is PaymentAmount.
type v2WireAmount struct {
	Total            int64 `json:"total"`
	TaxFree          int64 `json:"taxFree"`
	Vat              int64 `json:"vat"`
	Supply           int64 `json:"supply"`
	Discount         int64 `json:"discount"`
	Paid             int64 `json:"paid"`
	Cancelled        int64 `json:"cancelled"`
	CancelledTaxFree int64 `json:"cancelledTaxFree"`
}

// v2WireMethod is PaymentMethodEasyPay.
type v2WireMethod struct {
	Type     string `json:"type"`
	Provider string `json:"provider"`
}

// v2WireOrigin is PaymentOrigin.
type v2WireOrigin struct {
	PlatformType string `json:"platformType"`
	IPAddress    string `json:"ipAddress"`
}

// v2WireFailure is PaymentFailure.
type v2WireFailure struct {
	Reason    string `json:"reason,omitempty"`
	PGCode    string `json:"pgCode,omitempty"`
	PGMessage string `json:"pgMessage,omitempty"`
}

// v2WireCancellation is Requested/Succeeded/FailedPaymentCancellation.
type v2WireCancellation struct {
	Status           string `json:"status"`
	ID               string `json:"id"`
	PGCancellationID string `json:"pgCancellationId,omitempty"`
	TotalAmount      int64  `json:"totalAmount"`
	TaxFreeAmount    int64  `json:"taxFreeAmount"`
	VatAmount        int64  `json:"vatAmount"`
	Reason           string `json:"reason"`
	CancelledAt      string `json:"cancelledAt,omitempty"`
	RequestedAt      string `json:"requestedAt"`
	Trigger          string `json:"trigger"`
}

func (cn *v2Cancellation) wire() v2WireCancellation {
	w := v2WireCancellation{Status: cn.status, ID: cn.id, PGCancellationID: cn.pgID, TotalAmount: cn.total,
		TaxFreeAmount: cn.taxFree, VatAmount: cn.vat, Reason: cn.reason, RequestedAt: v2Time(cn.requestedAt), Trigger: "API"}
	if !cn.cancelledAt.IsZero() {
		w.CancelledAt = v2Time(cn.cancelledAt)
	}
	return w
}

// v2WirePayment is every Payment case the emulator produces (PAID, FAILED,
// PARTIAL_CANCELLED, CANCELLED); omitempty leaves out what a case does not have. With
// paymentID set it is a PaymentTransaction (GET /payments/{paymentId}/transactions).
type v2WirePayment struct {
	Status          string               `json:"status"`
	ID              string               `json:"id"`
	PaymentID       string               `json:"paymentId,omitempty"`
	TransactionID   string               `json:"transactionId,omitempty"`
	MerchantID      string               `json:"merchantId"`
	StoreID         string               `json:"storeId"`
	Method          v2WireMethod         `json:"method"`
	Channel         v2WireChannel        `json:"channel"`
	Version         string               `json:"version"`
	ScheduleID      string               `json:"scheduleId,omitempty"`
	BillingKey      string               `json:"billingKey"`
	Webhooks        []v2WireHook         `json:"webhooks"`
	RequestedAt     string               `json:"requestedAt"`
	UpdatedAt       string               `json:"updatedAt"`
	StatusChangedAt string               `json:"statusChangedAt"`
	OrderName       string               `json:"orderName"`
	Amount          v2WireAmount         `json:"amount"`
	Currency        string               `json:"currency"`
	Customer        v2WireCustomer       `json:"customer"`
	Origin          *v2WireOrigin        `json:"origin,omitempty"`
	IsCultural      bool                 `json:"isCulturalExpense"`
	CustomData      string               `json:"customData,omitempty"`
	PaidAt          string               `json:"paidAt,omitempty"`
	PGTxID          string               `json:"pgTxId,omitempty"`
	ReceiptURL      string               `json:"receiptUrl,omitempty"`
	Disputes        *[]any               `json:"disputes,omitempty"` // PAID only, and required there
	Cancellations   []v2WireCancellation `json:"cancellations,omitempty"`
	CancelledAt     string               `json:"cancelledAt,omitempty"`
	FailedAt        string               `json:"failedAt,omitempty"`
	Failure         *v2WireFailure       `json:"failure,omitempty"`
}

// wireV2 renders an attempt as Payment (asTransaction false) or PaymentTransaction (true).
func (p *payment) wireV2(asTransaction bool) v2WirePayment {
	a := p.v2
	updated := a.statusChangedAt
	w := v2WirePayment{
		Status: p.v2Status(), MerchantID: p.m.merchantID, StoreID: p.m.storeID,
		Method: v2WireMethod{Type: "PaymentMethodEasyPay", Provider: "NAVERPAY"}, Channel: p.m.v2Channel(), Version: VersionV2,
		ScheduleID: a.scheduleID, BillingKey: p.customerUID, Webhooks: []v2WireHook{}, RequestedAt: v2Time(a.requestedAt),
		StatusChangedAt: v2Time(a.statusChangedAt), OrderName: p.name, Currency: p.currency, Customer: a.customer.wire(),
		Amount: v2WireAmount{Total: p.amount, TaxFree: p.taxFree, Vat: a.vat, Supply: p.amount - p.taxFree - a.vat},
	}
	for _, h := range a.hooks {
		w.Webhooks = append(w.Webhooks, h.wire())
	}
	if asTransaction {
		w.ID, w.PaymentID = p.impUID, p.merchantUID
	} else {
		w.ID, w.TransactionID = p.merchantUID, p.impUID
		w.Origin = &v2WireOrigin{PlatformType: "API", IPAddress: a.ipAddress}
	}
	if p.customData != nil {
		w.CustomData = *p.customData
	}
	if p.status == statusFailed {
		w.FailedAt = v2Time(time.Unix(p.failedAt, 0))
		w.Failure = &v2WireFailure{Reason: p.failReason, PGCode: a.pgCode, PGMessage: a.pgMessage}
		w.UpdatedAt = v2Time(updated)
		return w
	}
	w.Amount.Paid = p.amount
	w.PaidAt = v2Time(time.Unix(p.paidAt, 0))
	w.PGTxID = p.pgTID
	w.ReceiptURL = receiptURL(p.impUID)
	if w.Status == "PAID" && !asTransaction { // PaidPaymentTransaction has no disputes
		w.Disputes = &[]any{}
	}
	var cancelledTaxFree int64
	for _, cn := range a.cancellations {
		w.Cancellations = append(w.Cancellations, cn.wire())
		if cn.status == v2CancelSucceeded {
			cancelledTaxFree += cn.taxFree
			w.CancelledAt = v2Time(cn.cancelledAt)
			updated = later(updated, cn.cancelledAt)
		} else {
			updated = later(updated, cn.requestedAt)
		}
	}
	w.Amount.Cancelled, w.Amount.CancelledTaxFree = p.cancelAmount, cancelledTaxFree
	if w.Cancellations == nil && w.Status != "PAID" {
		w.Cancellations = []v2WireCancellation{}
	}
	w.UpdatedAt = v2Time(updated)
	return w
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// v2GetPayment serves GET /payments/{paymentId}.
func (e *Emulator) v2GetPayment(c *v2Call) v2Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := v2Current(c.m.v2.attempts[c.r.PathValue("paymentId")])
	if p == nil {
		return v2Fail(http.StatusNotFound, v2PaymentNotFound, "결제 건이 존재하지 않습니다.")
	}
	return v2OK(p.wireV2(false))
}

// v2GetTransactions serves GET /payments/{paymentId}/transactions (UNSTABLE on PortOne):
// every attempt, oldest first.
func (e *Emulator) v2GetTransactions(c *v2Call) v2Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	attempts := c.m.v2.attempts[c.r.PathValue("paymentId")]
	if len(attempts) == 0 {
		return v2Fail(http.StatusNotFound, v2PaymentNotFound, "결제 건이 존재하지 않습니다.")
	}
	items := make([]v2WirePayment, 0, len(attempts))
	for _, p := range attempts {
		items = append(items, p.wireV2(true))
	}
	return v2OK(map[string]any{"items": items})
}

// v2PageInfo is PageInfo.
type v2PageInfo struct {
	Number     int `json:"number"`
	Size       int `json:"size"`
	TotalCount int `json:"totalCount"`
}

// readV2Page reads PageInput: number is 0-based, size defaults to 10. Guess: sizes above 1000
// are refused (PortOne documents no maximum for this list).
func readV2Page(body params) (number, size int, msg string) {
	pg, _, err := body.obj("page")
	if err != nil {
		return 0, 0, err.Error()
	}
	n, _, err1 := pg.int("number")
	s, given, err2 := pg.int("size")
	switch {
	case err1 != nil:
		return 0, 0, err1.Error()
	case err2 != nil:
		return 0, 0, err2.Error()
	case n < 0:
		return 0, 0, pg.name("number") + ": must not be negative"
	case given && (s < 1 || s > 1000):
		return 0, 0, pg.name("size") + ": must be within 1..1000"
	}
	if !given {
		s = 10
	}
	return int(n), int(s), ""
}

// readV2Window reads filter.from and filter.until (RFC 3339).
func readV2Window(filter params) (from, until time.Time, msg string) {
	for _, f := range []struct {
		key string
		dst *time.Time
	}{{"from", &from}, {"until", &until}} {
		v, given, err := filter.str(f.key)
		if err != nil {
			return from, until, err.Error()
		}
		if !given {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return from, until, fmt.Sprintf("%s: not an RFC 3339 date-time: %q", filter.name(f.key), v)
		}
		*f.dst = t
	}
	return from, until, ""
}

// v2GetPayments serves GET /payments?requestBody={page, filter}: one Payment per paymentId
// (its current attempt), newest first. filter.from/until bound the timestamp named by
// filter.timestampType (both ends inclusive, as V1's status lists; Guess): the payment's creation (CREATED_AT, the default) or its
// last status change (STATUS_CHANGED_AT); status[], isScheduled, version, webhookStatus (the
// status of the payment's latest webhook; Guess) and sortOrder are honoured. Without until the window ends now, without from it starts 90 days before until,
// as the document says.
func (e *Emulator) v2GetPayments(c *v2Call) v2Result {
	number, size, msg := readV2Page(c.body)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	filter, _, err := c.body.obj("filter")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	from, until, msg := readV2Window(filter)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	tsType, _, _ := filter.str("timestampType")
	if tsType != "" && tsType != "CREATED_AT" && tsType != "STATUS_CHANGED_AT" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s: must be CREATED_AT or STATUS_CHANGED_AT", filter.name("timestampType"))
	}
	statuses, err := filter.strList("status")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	isScheduled, schedGiven, err := filter.boolean("isScheduled")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	version, _, _ := filter.str("version")
	webhookStatus, _, _ := filter.str("webhookStatus")
	order, _, _ := filter.str("sortOrder")
	if order != "" && order != "ASC" && order != "DESC" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s: must be ASC or DESC", filter.name("sortOrder"))
	}
	searches, _, err := filter.listObjects("textSearch")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	var search []v2TextSearch
	for _, ts := range searches {
		field, _, _ := ts.str("field")
		value, _, _ := ts.str("value")
		if !slices.Contains(v2SearchFields, field) {
			// A field the emulator cannot search is refused, never ignored: ignoring it would
			// answer a lookup with payments it did not ask for.
			return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s: the emulator searches %v only, got %q", ts.name("field"), v2SearchFields, field)
		}
		search = append(search, v2TextSearch{field, value})
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if until.IsZero() {
		until = e.clock.Now()
	}
	if from.IsZero() {
		from = until.AddDate(0, 0, -90)
	}
	type row struct {
		p  *payment
		at time.Time
	}
	var rows []row
	for _, id := range c.m.v2.paymentIDs {
		attempts := c.m.v2.attempts[id]
		p := v2Current(attempts)
		at := attempts[0].v2.requestedAt
		if tsType == "STATUS_CHANGED_AT" {
			at = p.v2LastChange()
		}
		switch {
		case at.Before(from), at.After(until):
			continue
		case len(statuses) > 0 && !slices.Contains(statuses, p.v2Status()):
			continue
		case schedGiven && isScheduled != (p.v2.scheduleID != ""):
			continue
		case version != "" && version != VersionV2:
			continue
		case webhookStatus != "" && (len(p.v2.hooks) == 0 || p.v2.hooks[len(p.v2.hooks)-1].status != webhookStatus):
			continue
		case !v2Matches(attempts, search):
			continue
		}
		rows = append(rows, row{p, at})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		r := cmp.Or(a.at.Compare(b.at), cmp.Compare(a.p.seq, b.p.seq))
		if order == "ASC" {
			return r
		}
		return -r
	})
	items := []v2WirePayment{}
	for i := number * size; i < len(rows) && i < (number+1)*size; i++ {
		items = append(items, rows[i].p.wireV2(false))
	}
	return v2OK(map[string]any{"items": items, "page": v2PageInfo{Number: number, Size: size, TotalCount: len(rows)}})
}

// v2LastChange is when the attempt's status last changed (a cancel's request or success).
func (p *payment) v2LastChange() time.Time {
	t := p.v2.statusChangedAt
	for _, cn := range p.v2.cancellations {
		t = later(t, cn.requestedAt)
		t = later(t, cn.cancelledAt)
	}
	return t
}

// v2GetPaymentsByCursor serves GET /payments-by-cursor?requestBody={from, until, cursor, size}
// (UNSTABLE on PortOne): every payment created in [from, until] (defaults: until now, from 90
// days before), oldest first, each with the cursor that continues after it. Guess: the cursor
// is opaque and stays valid; a malformed one is 400.
func (e *Emulator) v2GetPaymentsByCursor(c *v2Call) v2Result {
	from, until, msg := readV2Window(c.body)
	if msg != "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", msg)
	}
	size, given, err := c.body.int("size")
	switch {
	case err != nil:
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	case !given:
		size = 10
	case size < 1 || size > 1000:
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "size: must be within 1..1000")
	}
	cursor, _, err := c.body.str("cursor")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	var after int64
	if cursor != "" {
		seq, ok := strings.CutPrefix(cursor, "cursor-")
		n, perr := strconv.ParseInt(seq, 10, 64)
		if !ok || perr != nil || n < 0 {
			return v2Fail(http.StatusBadRequest, v2InvalidRequest, "cursor: not a cursor this API gave")
		}
		after = n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if until.IsZero() {
		until = e.clock.Now()
	}
	if from.IsZero() {
		from = until.AddDate(0, 0, -90)
	}
	type item struct {
		Payment v2WirePayment `json:"payment"`
		Cursor  string        `json:"cursor"`
	}
	items := []item{}
	for _, id := range c.m.v2.paymentIDs { // first-attempt order: creation order
		attempts := c.m.v2.attempts[id]
		first := attempts[0]
		if first.seq <= after || first.v2.requestedAt.Before(from) || first.v2.requestedAt.After(until) {
			continue
		}
		if int64(len(items)) == size {
			break
		}
		items = append(items, item{Payment: v2Current(attempts).wireV2(false), Cursor: "cursor-" + strconv.FormatInt(first.seq, 10)})
	}
	return v2OK(map[string]any{"items": items})
}

// v2SearchFields are the filter.textSearch fields (PaymentTextSearchField) the emulator
// searches: the identifiers a server looks its payments up by.
var v2SearchFields = []string{"ALL", "PAYMENT_ID", "TX_ID", "SCHEDULE_ID", "BILLING_KEY"}

// v2TextSearch is one filter.textSearch entry.
type v2TextSearch struct{ field, value string }

// v2Matches reports whether a payment (its attempts) matches every search: an exact match of
// the paymentId, any attempt's transactionId, its schedule ID or its billing key (ALL: any).
func v2Matches(attempts []*payment, search []v2TextSearch) bool {
	for _, ts := range search {
		found := false
		for _, a := range attempts {
			byField := map[string]string{"PAYMENT_ID": a.merchantUID, "TX_ID": a.impUID, "SCHEDULE_ID": a.v2.scheduleID, "BILLING_KEY": a.customerUID}
			if ts.field == "ALL" {
				for _, v := range byField {
					found = found || (v != "" && v == ts.value)
				}
			} else if v := byField[ts.field]; v != "" && v == ts.value {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
