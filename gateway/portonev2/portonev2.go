// Package portonev2 is PortOne V2 behind the billing gateway contract (package gateway): a
// small HTTP client for the V2 REST API (Authorization: PortOne <secret>) and its mapping to
// the contract's words and classes.
//
// Words: Key is the billingKey, PaymentID the paymentId (one per billing cycle, reused by the
// cycle's retries: V2 lets many attempts run under one paymentId and only one of them
// succeed, so a second success is the gateway's own impossibility), TxID the transactionId of
// an attempt.
//
// One paymentId, one payment object: GET /payments/{paymentId} shows the payment's current
// state, carried by its latest attempt (transactionId). Payments therefore returns that one
// object, not every attempt: what billing asks of Payments (was the cycle paid; if not, how
// did the last attempt end) is exactly what it says. The attempt list,
// GET /payments/{paymentId}/transactions, is an UNSTABLE operation (outside PortOne's
// compatibility promise), so nothing here depends on it.
//
// Errors: PortOne's typed errors ({"type": ..., "message": ...}) map to the contract's
// classes by type (see errorTypes); 502 PG_PROVIDER on a charge is a decline, a result;
// a timeout or another 5xx is an unknown outcome for writes and "unavailable" for reads.
package portonev2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// Gateway is PortOne V2 as a gateway.Gateway. It is safe for concurrent use.
type Gateway struct {
	c *client
}

var _ gateway.Gateway = (*Gateway)(nil)

// New returns the gateway cfg describes. It does not contact PortOne.
func New(cfg Config) (*Gateway, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Gateway{c: c}, nil
}

// String describes the gateway without its secret.
func (g *Gateway) String() string { return fmt.Sprintf("portonev2.Gateway{BaseURL:%s}", g.c.base) }

// Operations, named by their V2 route.
const (
	opPay            = "POST /payments/{paymentId}/billing-key"
	opGetPayment     = "GET /payments/{paymentId}"
	opGetPayments    = "GET /payments"
	opSchedule       = "POST /payments/{paymentId}/schedule"
	opGetSchedules   = "GET /payment-schedules"
	opRevoke         = "DELETE /payment-schedules"
	opCancel         = "POST /payments/{paymentId}/cancel"
	opGetBillingKey  = "GET /billing-keys/{billingKey}"
	opDeleteBillingK = "DELETE /billing-keys/{billingKey}"
)

// Wire inputs (BillingKeyPaymentInput and friends), with only the fields paycycle sends.
type (
	amountInput struct {
		Total   int64 `json:"total"`
		TaxFree int64 `json:"taxFree,omitempty"`
	}
	customerInput struct {
		Name        *customerName `json:"name,omitempty"`
		Email       string        `json:"email,omitempty"`
		PhoneNumber string        `json:"phoneNumber,omitempty"`
	}
	customerName struct {
		Full string `json:"full"`
	}
	paymentInput struct {
		StoreID    string         `json:"storeId,omitempty"`
		BillingKey string         `json:"billingKey"`
		ChannelKey string         `json:"channelKey,omitempty"`
		OrderName  string         `json:"orderName"`
		Customer   *customerInput `json:"customer,omitempty"`
		CustomData string         `json:"customData,omitempty"`
		Amount     amountInput    `json:"amount"`
		Currency   string         `json:"currency"`
		NoticeURLs []string       `json:"noticeUrls,omitempty"`
		Bypass     *bypass        `json:"bypass,omitempty"`
	}
	// bypass is PG-specific input. NaverPay's 이용완료일 is bypass.naverpay.useCfmYmdt
	// (YYYYMMDD): the OpenAPI types bypass as a free object, and PortOne's browser-SDK schema
	// (v2-browser-sdk.yml, NaverpayPaymentBypass) names the field.
	bypass struct {
		Naverpay *naverpayBypass `json:"naverpay,omitempty"`
	}
	naverpayBypass struct {
		UseCfmYmdt string `json:"useCfmYmdt,omitempty"`
	}
	pageInput struct {
		Number int `json:"number"`
		Size   int `json:"size"`
	}
)

// input builds the wire input of a charge.
func (g *Gateway) input(req gateway.ChargeRequest) paymentInput {
	in := paymentInput{StoreID: g.c.storeID, BillingKey: req.Key, ChannelKey: g.c.channelKey, OrderName: req.Name,
		CustomData: req.CustomData, Amount: amountInput{Total: req.Amount, TaxFree: req.TaxFree}, Currency: "KRW"}
	if b := req.Buyer; b.Name != "" || b.Email != "" || b.Tel != "" {
		in.Customer = &customerInput{Email: b.Email, PhoneNumber: b.Tel}
		if b.Name != "" {
			in.Customer.Name = &customerName{Full: b.Name}
		}
	}
	if req.NaverUseCfm != "" {
		in.Bypass = &bypass{Naverpay: &naverpayBypass{UseCfmYmdt: req.NaverUseCfm}}
	}
	if req.NoticeURL != "" {
		in.NoticeURLs = []string{req.NoticeURL}
	}
	return in
}

// check refuses a charge PortOne would refuse, before anything is sent.
func check(op string, req gateway.ChargeRequest) error {
	switch {
	case req.Key == "":
		return gateway.InvalidRequest(op, "key", "is required")
	case req.PaymentID == "":
		return gateway.InvalidRequest(op, "payment id", "is required")
	case req.Amount <= 0:
		return gateway.InvalidRequest(op, "amount", fmt.Sprintf("%d must be positive", req.Amount))
	case req.TaxFree < 0 || req.TaxFree > req.Amount:
		return gateway.InvalidRequest(op, "tax free", fmt.Sprintf("%d is not within the amount %d", req.TaxFree, req.Amount))
	case req.Name == "":
		return gateway.InvalidRequest(op, "name", "is required (orderName)")
	case req.NaverUseCfm != "" && !isYMD(req.NaverUseCfm):
		return gateway.InvalidRequest(op, "naver use cfm", fmt.Sprintf("%q is not yyyyMMdd", req.NaverUseCfm))
	}
	return nil
}

func isYMD(s string) bool {
	_, err := time.Parse("20060102", s)
	return len(s) == 8 && err == nil
}

// Charge is POST /payments/{paymentId}/billing-key, then GET /payments/{paymentId}: the
// charge's answer carries only pgTxId and paidAt, and the contract's Payment needs the
// transactionId and the amount PortOne charged. A lost lookup after a successful charge is an
// unknown outcome (the caller's lookup finds the payment paid), never a second charge. With
// req.AnswerOnly the approval is the whole answer: one request, the Payment paid for the
// amount asked, without its transactionId.
//
// 502 PG_PROVIDER is the PG's decline: a Payment in StatusFailed whose FailReason is the PG's
// message and code, completed by the lookup with the attempt's transactionId when PortOne
// shows it (the decline stands without it).
func (g *Gateway) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.Payment, error) {
	if err := check("Charge", req); err != nil {
		return gateway.Payment{}, err
	}
	path := "/payments/" + seg(req.PaymentID)
	var paid struct {
		Payment struct {
			PaidAt wireTime `json:"paidAt"`
		} `json:"payment"`
	}
	err := g.c.do(ctx, call{op: opPay, method: http.MethodPost, path: path + "/billing-key", body: g.input(req), write: true}, &paid)
	var ae *apiError
	if errors.As(err, &ae) && ae.Type == "PG_PROVIDER" {
		d := gateway.Payment{PaymentID: req.PaymentID, Key: req.Key, Status: gateway.StatusFailed, Amount: req.Amount,
			FailReason: failReason(ae.PgCode, ae.PgMessage, ae.Message), Usage: gateway.UsageCharge}
		if w, lerr := g.get(ctx, req.PaymentID); lerr == nil && w.Status == "FAILED" {
			d.TxID, d.FailedAt, d.StartedAt = w.TransactionID, w.FailedAt.Time, w.RequestedAt.Time
		}
		return d, nil
	}
	if err != nil {
		return gateway.Payment{}, classify(opPay, true, err, nil)
	}
	if req.AnswerOnly {
		// The 200 is PortOne's approval of this request's amount.total; only the
		// transactionId is left to learn (ChargeRequest.AnswerOnly).
		return gateway.Payment{PaymentID: req.PaymentID, Key: req.Key, Status: gateway.StatusPaid, Amount: req.Amount,
			PaidAt: paid.Payment.PaidAt.Time, Usage: gateway.UsageCharge}, nil
	}
	w, err := g.get(ctx, req.PaymentID)
	if err != nil {
		return gateway.Payment{}, gateway.UnknownOutcome("Charge", req.PaymentID,
			fmt.Errorf("PortOne approved the charge but the lookup failed: %w", err))
	}
	return w.payment(), nil
}

// get is GET /payments/{paymentId}.
func (g *Gateway) get(ctx context.Context, paymentID string) (*wirePayment, error) {
	var w wirePayment
	q := g.storeQuery()
	if err := g.c.do(ctx, call{op: opGetPayment, method: http.MethodGet, path: "/payments/" + seg(paymentID), query: q}, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

func (g *Gateway) storeQuery() map[string][]string {
	if g.c.storeID == "" {
		return nil
	}
	return map[string][]string{"storeId": {g.c.storeID}}
}

// Payments is GET /payments/{paymentId}: the one payment object of paymentID, in its current
// state (see the package comment); none when PortOne holds none (PAYMENT_NOT_FOUND).
func (g *Gateway) Payments(ctx context.Context, paymentID string) ([]gateway.Payment, error) {
	w, err := g.get(ctx, paymentID)
	if err != nil {
		err = classify(opGetPayment, false, err, nil)
		if errors.Is(err, gateway.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return []gateway.Payment{w.payment()}, nil
}

// v2Epoch starts the window of lookups by transactionId: V2 has no route from a transactionId
// to its payment, so Payment searches GET /payments by TX_ID, whose window defaults to the last
// 90 days; PortOne V2 opened in 2023, so nothing of ours is older.
var v2Epoch = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

type paymentsBody struct {
	Page   pageInput     `json:"page"`
	Filter paymentFilter `json:"filter"`
}

type paymentFilter struct {
	StoreID       string       `json:"storeId,omitempty"`
	TimestampType string       `json:"timestampType,omitempty"`
	From          string       `json:"from,omitempty"`
	Until         string       `json:"until,omitempty"`
	Status        []string     `json:"status,omitempty"`
	SortBy        string       `json:"sortBy,omitempty"`
	SortOrder     string       `json:"sortOrder,omitempty"`
	TextSearch    []textSearch `json:"textSearch,omitempty"`
}

type textSearch struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type paymentsAnswer struct {
	Items []wirePayment `json:"items"`
	Page  pageInfo      `json:"page"`
}

func (g *Gateway) list(ctx context.Context, body paymentsBody) (*paymentsAnswer, error) {
	q, err := queryBody(body)
	if err != nil {
		return nil, &wireError{Op: opGetPayments, Err: err}
	}
	var out paymentsAnswer
	if err := g.c.do(ctx, call{op: opGetPayments, method: http.MethodGet, path: "/payments", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Payment finds the payment whose current attempt is txID: GET /payments with a TX_ID text
// search (created since V2 opened). ErrNotFound when no payment's transactionId is txID
// (including an earlier attempt of a payment that has been tried again since).
func (g *Gateway) Payment(ctx context.Context, txID string) (gateway.Payment, error) {
	w, err := g.byTxID(ctx, txID)
	if err != nil {
		return gateway.Payment{}, err
	}
	return w.payment(), nil
}

func (g *Gateway) byTxID(ctx context.Context, txID string) (*wirePayment, error) {
	if txID == "" {
		return nil, gateway.InvalidRequest("Payment", "tx id", "is required")
	}
	ans, err := g.list(ctx, paymentsBody{Page: pageInput{Size: 10}, Filter: paymentFilter{StoreID: g.c.storeID,
		TimestampType: "CREATED_AT", From: v2Epoch.Format(time.RFC3339), TextSearch: []textSearch{{Field: "TX_ID", Value: txID}}}})
	if err != nil {
		return nil, classify(opGetPayments, false, err, nil)
	}
	for i := range ans.Items {
		if ans.Items[i].TransactionID == txID {
			return &ans.Items[i], nil
		}
	}
	return nil, &gateway.Error{Op: opGetPayments, Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNotFound}, Answered: true,
		Err: fmt.Errorf("%s: no payment with transactionId %q", opGetPayments, txID)}
}

// Schedule is POST /payments/{paymentId}/schedule with timeToPay.
func (g *Gateway) Schedule(ctx context.Context, req gateway.ScheduleRequest) error {
	if err := check("Schedule", req.ChargeRequest); err != nil {
		return err
	}
	if req.At.IsZero() {
		return gateway.InvalidRequest("Schedule", "at", "is required")
	}
	in := g.input(req.ChargeRequest)
	body := struct {
		Payment   paymentInput `json:"payment"`
		TimeToPay string       `json:"timeToPay"`
	}{in, req.At.UTC().Format(time.RFC3339)}
	err := g.c.do(ctx, call{op: opSchedule, method: http.MethodPost, path: "/payments/" + seg(req.PaymentID) + "/schedule", body: body, write: true}, nil)
	if err != nil {
		return classify(opSchedule, true, err, nil)
	}
	return nil
}

// scheduleWindowEnd ends the timeToPay window of the schedule lookups: PortOne's default
// window is the last 90 days, which would hide every future schedule, and a cycle is never
// scheduled a century ahead.
var scheduleWindowEnd = v2Epoch.AddDate(100, 0, 0)

// maxKeySchedulePages bounds the pages ScheduleOf reads of one key's schedules (one schedule a
// cycle: 1,000 of them is decades of monthly billing).
const maxKeySchedulePages = 10

// schedulesBody is GetPaymentSchedulesBody.
type schedulesBody struct {
	Page   pageInput      `json:"page"`
	Sort   scheduleSort   `json:"sort"`
	Filter scheduleFilter `json:"filter"`
}

type scheduleSort struct {
	By    string `json:"by"`
	Order string `json:"order"`
}

type scheduleFilter struct {
	StoreID    string   `json:"storeId,omitempty"`
	BillingKey string   `json:"billingKey,omitempty"`
	From       string   `json:"from"`
	Until      string   `json:"until"`
	Status     []string `json:"status,omitempty"`
}

// schedules is GET /payment-schedules?requestBody=.
func (g *Gateway) schedules(ctx context.Context, body schedulesBody) ([]wireSchedule, error) {
	q, err := queryBody(body)
	if err != nil {
		return nil, &wireError{Op: opGetSchedules, Err: err}
	}
	var ans struct {
		Items []wireSchedule `json:"items"`
		Page  pageInfo       `json:"page"`
	}
	if err := g.c.do(ctx, call{op: opGetSchedules, method: http.MethodGet, path: "/payment-schedules", query: q}, &ans); err != nil {
		return nil, err
	}
	return ans.Items, nil
}

// ScheduleOf finds the newest schedule of paymentID among key's: V2 lists schedules by key and
// time, not by paymentId (GET /payment-schedules?requestBody= with filter.billingKey, every
// status, newest created first). A schedule that ran names its attempt through the payment:
// TxID is GET /payments/{paymentId}'s transactionId ("" when the execution failed without an
// attempt, as for a deleted key). ErrNotFound when key holds no schedule of paymentID.
func (g *Gateway) ScheduleOf(ctx context.Context, key, paymentID string) (gateway.Schedule, error) {
	sc, _, err := g.scheduleOf(ctx, key, paymentID)
	return sc, err
}

func (g *Gateway) scheduleOf(ctx context.Context, key, paymentID string) (gateway.Schedule, string, error) {
	switch {
	case key == "":
		return gateway.Schedule{}, "", gateway.InvalidRequest("ScheduleOf", "key", "is required: V2 lists schedules by billing key")
	case paymentID == "":
		return gateway.Schedule{}, "", gateway.InvalidRequest("ScheduleOf", "payment id", "is required")
	}
	var found *wireSchedule
	for page := 0; page < maxKeySchedulePages && found == nil; page++ {
		items, err := g.schedules(ctx, schedulesBody{Page: pageInput{Number: page, Size: listPageSize}, Sort: scheduleSort{"CREATED_AT", "DESC"},
			Filter: scheduleFilter{StoreID: g.c.storeID, BillingKey: key, From: v2Epoch.Format(time.RFC3339), Until: scheduleWindowEnd.Format(time.RFC3339)}})
		if err != nil {
			return gateway.Schedule{}, "", classify(opGetSchedules, false, err, nil)
		}
		for i := range items {
			if items[i].PaymentID == paymentID {
				found = &items[i]
				break
			}
		}
		if len(items) < listPageSize {
			break
		}
	}
	if found == nil {
		return gateway.Schedule{}, "", &gateway.Error{Op: opGetSchedules, Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNotFound},
			Answered: true, Err: fmt.Errorf("%s: the billing key holds no schedule of payment %q", opGetSchedules, paymentID)}
	}
	sc := found.schedule()
	if sc.Status == gateway.ScheduleExecuted {
		p, err := g.get(ctx, paymentID)
		switch {
		case err == nil:
			sc.TxID = p.TransactionID
		case !errors.Is(classify(opGetPayment, false, err, nil), gateway.ErrNotFound):
			return gateway.Schedule{}, "", classify(opGetPayment, false, err, nil)
		}
	}
	return sc, found.ID, nil
}

// Revoke finds the schedule (as ScheduleOf) and revokes it by its ID:
// DELETE /payment-schedules?requestBody={"scheduleIds":[...]}. A schedule that is not pending
// (ran, revoked, none) is ErrNothingToRevoke; so are PortOne's PAYMENT_SCHEDULE_ALREADY_PROCESSED,
// _ALREADY_REVOKED and _NOT_FOUND when the state changed in between.
func (g *Gateway) Revoke(ctx context.Context, key, paymentID string) error {
	sc, id, err := g.scheduleOf(ctx, key, paymentID)
	if errors.Is(err, gateway.ErrNotFound) {
		return &gateway.Error{Op: opRevoke, Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNothingToRevoke}, Answered: true,
			Err: fmt.Errorf("%s: no schedule under payment %q: %w", opRevoke, paymentID, err)}
	}
	if err != nil {
		return err
	}
	if sc.Status != gateway.SchedulePending {
		return &gateway.Error{Op: opRevoke, Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNothingToRevoke}, Answered: true,
			Err: fmt.Errorf("%s: the schedule of payment %q is %s, not pending", opRevoke, paymentID, sc.Status)}
	}
	q, err := queryBody(struct {
		StoreID     string   `json:"storeId,omitempty"`
		ScheduleIDs []string `json:"scheduleIds"`
	}{g.c.storeID, []string{id}})
	if err != nil {
		return classify(opRevoke, true, &wireError{Op: opRevoke, Err: err}, nil)
	}
	var out struct {
		RevokedScheduleIDs []string `json:"revokedScheduleIds"`
	}
	if err := g.c.do(ctx, call{op: opRevoke, method: http.MethodDelete, path: "/payment-schedules", query: q, write: true}, &out); err != nil {
		return classify(opRevoke, true, err, map[string][]error{"PAYMENT_SCHEDULE_NOT_FOUND": {gateway.ErrNothingToRevoke}})
	}
	return nil
}

// requester is CancelRequester / BillingKeyDeleteRequester.
func requester(r billing.Requester) string {
	if r == billing.RequesterCustomer {
		return "CUSTOMER"
	}
	return "ADMIN"
}

// Refund is POST /payments/{paymentId}/cancel with currentCancellableAmount =
// req.ExpectedRemaining: PortOne's compare-and-set, so a refund that raced another (or a retry
// of one whose answer was lost) is refused with CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN and
// changes nothing. The paymentId is req.PaymentID, or found from the TxID (see Payment); the
// payment is read again after the cancel for the contract's totals.
//
// A cancellation PortOne answers as REQUESTED (an asynchronous cancel, finished later and
// reported by a Transaction.CancelPending/Cancelled webhook) has not given anything back yet:
// it is an unknown outcome, settled by looking the payment up.
func (g *Gateway) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.Payment, error) {
	switch {
	case req.Amount < 0:
		return gateway.Payment{}, gateway.InvalidRequest("Refund", "amount", "must not be negative")
	case req.TaxFree < 0 || (req.Amount > 0 && req.TaxFree > req.Amount):
		return gateway.Payment{}, gateway.InvalidRequest("Refund", "tax free", "is not within the amount")
	case req.ExpectedRemaining < 0:
		return gateway.Payment{}, gateway.InvalidRequest("Refund", "expected remaining", "must not be negative")
	case req.Reason == "":
		return gateway.Payment{}, gateway.InvalidRequest("Refund", "reason", "is required")
	}
	paymentID := req.PaymentID
	if paymentID == "" {
		w, err := g.byTxID(ctx, req.TxID)
		if err != nil {
			return gateway.Payment{}, err
		}
		paymentID = w.ID
	}
	body := struct {
		StoreID                  string `json:"storeId,omitempty"`
		Amount                   int64  `json:"amount,omitempty"`
		TaxFreeAmount            int64  `json:"taxFreeAmount,omitempty"`
		Reason                   string `json:"reason"`
		Requester                string `json:"requester"`
		CurrentCancellableAmount int64  `json:"currentCancellableAmount"`
	}{g.c.storeID, req.Amount, req.TaxFree, req.Reason, requester(req.Requester), req.ExpectedRemaining}
	var out struct {
		Cancellation wireCancellation `json:"cancellation"`
	}
	err := g.c.do(ctx, call{op: opCancel, method: http.MethodPost, path: "/payments/" + seg(paymentID) + "/cancel", body: body, write: true}, &out)
	if err != nil {
		return gateway.Payment{}, classify(opCancel, true, err, nil)
	}
	switch out.Cancellation.Status {
	case "SUCCEEDED":
	case "FAILED":
		return gateway.Payment{}, &gateway.Error{Op: opCancel, Class: gateway.ErrRefused, Answered: true,
			Err: fmt.Errorf("%s: cancellation %s of payment %q failed at the PG", opCancel, out.Cancellation.ID, paymentID)}
	default: // REQUESTED, or a status added later: not finished
		return gateway.Payment{}, gateway.UnknownOutcome("Refund", paymentID,
			&gateway.RequestedCancellation{ID: out.Cancellation.ID, Status: out.Cancellation.Status})
	}
	after, err := g.get(ctx, paymentID)
	if err != nil {
		return gateway.Payment{}, gateway.UnknownOutcome("Refund", paymentID, fmt.Errorf("the cancel succeeded but the lookup failed: %w", err))
	}
	return after.payment(), nil
}

// BillingKey is GET /billing-keys/{billingKey}. A DELETED key is ErrKeyNotFound: the contract's
// "held" means usable. Any other status (ISSUED, one added later) is reported as held.
func (g *Gateway) BillingKey(ctx context.Context, key string) (gateway.BillingKey, error) {
	if key == "" {
		return gateway.BillingKey{}, gateway.InvalidRequest("BillingKey", "key", "is required")
	}
	var w wireBillingKey
	if err := g.c.do(ctx, call{op: opGetBillingKey, method: http.MethodGet, path: "/billing-keys/" + seg(key), query: g.storeQuery()}, &w); err != nil {
		return gateway.BillingKey{}, classify(opGetBillingKey, false, err, nil)
	}
	if w.Status == "DELETED" {
		return gateway.BillingKey{}, &gateway.Error{Op: opGetBillingKey, Class: gateway.ErrRefused, Kinds: []error{gateway.ErrKeyNotFound},
			Answered: true, Err: fmt.Errorf("%s: the billing key is deleted", opGetBillingKey)}
	}
	k := w.billingKey()
	if k.Key == "" {
		k.Key = key
	}
	return k, nil
}

// DeleteBillingKey is DELETE /billing-keys/{billingKey}?reason=&requester= (NaverPay requires
// both). BILLING_KEY_ALREADY_DELETED and BILLING_KEY_NOT_FOUND are ErrKeyNotFound.
func (g *Gateway) DeleteBillingKey(ctx context.Context, req gateway.DeleteKeyRequest) error {
	switch {
	case req.Key == "":
		return gateway.InvalidRequest("DeleteBillingKey", "key", "is required")
	case req.Reason == "":
		return gateway.InvalidRequest("DeleteBillingKey", "reason", "is required (NaverPay's review)")
	}
	q := map[string][]string{"reason": {req.Reason}, "requester": {requester(req.Requester)}}
	if g.c.storeID != "" {
		q["storeId"] = []string{g.c.storeID}
	}
	if err := g.c.do(ctx, call{op: opDeleteBillingK, method: http.MethodDelete, path: "/billing-keys/" + seg(req.Key), query: q, write: true}, nil); err != nil {
		return classify(opDeleteBillingK, true, err, nil)
	}
	return nil
}

// listPageSize is the page size of the list reads (PortOne caps (number+1)*size at 60,000).
const listPageSize = 100

// maxPages is the deepest page the 60,000-item cap allows at listPageSize.
const maxPages = 60000 / listPageSize

func pageCursor(op, cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 1 || n >= maxPages {
		return 0, gateway.InvalidRequest(op, "cursor", fmt.Sprintf("%q is not a cursor this gateway gave", cursor))
	}
	return n, nil
}

// ListPayments is GET /payments?requestBody= with timestampType STATUS_CHANGED_AT over
// [From, To), statuses PAID, PARTIAL_CANCELLED, CANCELLED and FAILED, oldest status change
// first; the cursor is the page number.
//
// Why this list and not GET /payment-events-by-cursor: that one is UNSTABLE (exempt from
// PortOne's compatibility promise: it may change or go without notice, which a nightly
// reconciliation cannot afford), and it lists events, one payment many times, where the
// contract lists each settled payment once under its current status at that status's time.
// STATUS_CHANGED_AT is exactly that rule ("paid -> 결제 완료 시점, cancelled -> 결제 취소 시점,
// failed -> 결제 실패 시점"), the same V1 follows. The price is V1's too: a payment refunded on
// day 3 is listed on day 3 only, as cancelled. PortOne's until is inclusive; an entry at To
// exactly is dropped here.
func (g *Gateway) ListPayments(ctx context.Context, q gateway.ListQuery) (gateway.PaymentPage, error) {
	page, err := pageCursor("ListPayments", q.Cursor)
	if err != nil {
		return gateway.PaymentPage{}, err
	}
	ans, err := g.list(ctx, paymentsBody{Page: pageInput{Number: page, Size: listPageSize}, Filter: paymentFilter{StoreID: g.c.storeID,
		TimestampType: "STATUS_CHANGED_AT", From: q.From.UTC().Format(time.RFC3339Nano), Until: q.To.UTC().Format(time.RFC3339Nano),
		Status: []string{"PAID", "PARTIAL_CANCELLED", "CANCELLED", "FAILED"}, SortBy: "STATUS_CHANGED_AT", SortOrder: "ASC"}})
	if err != nil {
		return gateway.PaymentPage{}, classify(opGetPayments, false, err, nil)
	}
	out := gateway.PaymentPage{Payments: make([]gateway.Payment, 0, len(ans.Items))}
	for i := range ans.Items {
		w := &ans.Items[i]
		if at := w.StatusChangedAt.Time; !at.IsZero() && !at.Before(q.To) {
			continue
		}
		out.Payments = append(out.Payments, w.payment())
	}
	if len(ans.Items) >= listPageSize && page+1 < maxPages {
		out.Next = strconv.Itoa(page + 1)
	}
	return out, nil
}

// PendingSchedules is GET /payment-schedules?requestBody= with status SCHEDULED and timeToPay
// in [From, To) (PortOne's default window is the last 90 days, so both ends are always sent),
// earliest first; the cursor is the page number.
func (g *Gateway) PendingSchedules(ctx context.Context, q gateway.ListQuery) (gateway.SchedulePage, error) {
	page, err := pageCursor("PendingSchedules", q.Cursor)
	if err != nil {
		return gateway.SchedulePage{}, err
	}
	items, err := g.schedules(ctx, schedulesBody{Page: pageInput{Number: page, Size: listPageSize}, Sort: scheduleSort{"TIME_TO_PAY", "ASC"},
		Filter: scheduleFilter{StoreID: g.c.storeID, From: q.From.UTC().Format(time.RFC3339Nano), Until: q.To.UTC().Format(time.RFC3339Nano),
			Status: []string{"SCHEDULED"}}})
	if err != nil {
		return gateway.SchedulePage{}, classify(opGetSchedules, false, err, nil)
	}
	out := gateway.SchedulePage{Schedules: make([]gateway.Schedule, 0, len(items))}
	for i := range items {
		sc := items[i].schedule()
		if sc.Status != gateway.SchedulePending || sc.At.Before(q.From) || !sc.At.Before(q.To) {
			continue
		}
		out.Schedules = append(out.Schedules, sc)
	}
	if len(items) >= listPageSize && page+1 < maxPages {
		out.Next = strconv.Itoa(page + 1)
	}
	return out, nil
}

// BillingKeys reads each key with GET /billing-keys/{billingKey}: the list operation searches
// one BILLING_KEY text at a time, so a read per key is as many requests and simpler. A key
// PortOne does not hold, or holds deleted, is absent.
func (g *Gateway) BillingKeys(ctx context.Context, keys []string) ([]gateway.BillingKey, error) {
	if len(keys) > gateway.MaxKeysPerCall {
		return nil, gateway.InvalidRequest("BillingKeys", "keys", fmt.Sprintf("%d keys; at most %d a call", len(keys), gateway.MaxKeysPerCall))
	}
	var out []gateway.BillingKey
	for _, k := range keys {
		bk, err := g.BillingKey(ctx, k)
		if errors.Is(err, gateway.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, bk)
	}
	return out, nil
}
