// Package portonev1 is PortOne V1 behind the billing gateway contract (package gateway): it
// adapts a portone.Client, maps V1's words (customer_uid, merchant_uid, imp_uid) to the
// contract's (Key, PaymentID, TxID), and sorts V1's errors into the contract's classes.
package portonev1

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/portone"
)

// Client is the part of the PortOne V1 client the gateway uses. *portone.Client implements it;
// tests may wrap it to lose answers.
type Client interface {
	GetCustomer(ctx context.Context, customerUID string) (*portone.Customer, error)
	GetCustomers(ctx context.Context, customerUIDs []string) ([]portone.Customer, error)
	Schedules(ctx context.Context, q portone.ScheduleRangeQuery) (*portone.Page[portone.ScheduleResult], error)
	DeleteCustomer(ctx context.Context, customerUID string, req portone.DeleteCustomerRequest) (*portone.Customer, error)
	Again(ctx context.Context, req portone.AgainRequest) (*portone.Payment, error)
	Schedule(ctx context.Context, req portone.ScheduleRequest) ([]portone.ScheduleResult, error)
	Unschedule(ctx context.Context, req portone.UnscheduleRequest) ([]portone.ScheduleResult, error)
	GetSchedule(ctx context.Context, merchantUID string) (*portone.ScheduleResult, error)
	GetPayment(ctx context.Context, impUID string) (*portone.Payment, error)
	FindAllPayments(ctx context.Context, merchantUID string, q portone.FindAllQuery) (*portone.Page[portone.Payment], error)
	CancelPayment(ctx context.Context, req portone.CancelRequest) (*portone.Payment, error)
	PaymentsByStatus(ctx context.Context, status portone.PaymentStatus, q portone.StatusQuery) (*portone.Page[portone.Payment], error)
}

var _ Client = (*portone.Client)(nil)

// Gateway is PortOne V1 as a gateway.Gateway.
type Gateway struct {
	c Client
}

var _ gateway.Gateway = (*Gateway)(nil)

// New adapts c.
func New(c Client) *Gateway { return &Gateway{c: c} }

// Operations, named by their V1 route as the client names them.
const (
	opAgain      = "POST /subscribe/payments/again"
	opUnschedule = "POST /subscribe/payments/unschedule"
)

// Charge is POST /subscribe/payments/again. An envelope refusal other than an unknown billing
// key or a paid merchant_uid is the PG's decline (code -1 with the card company's text, or
// code 1): it is answered as a failed attempt without a TxID, as before the seam.
func (g *Gateway) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.Payment, error) {
	p, err := g.c.Again(ctx, portone.AgainRequest{
		CustomerUID: req.Key,
		MerchantUID: req.PaymentID,
		Amount:      portone.KRW(req.Amount),
		TaxFree:     portone.KRW(req.TaxFree),
		Name:        req.Name,
		Buyer:       portone.Buyer{Name: req.Buyer.Name, Tel: req.Buyer.Tel, Email: req.Buyer.Email},
		CustomData:  req.CustomData,
		NaverUseCfm: req.NaverUseCfm,
	})
	if err == nil {
		return payment(p), nil
	}
	var apiErr *portone.APIError
	if !errors.Is(err, portone.ErrCustomerNotRegistered) && !errors.Is(err, portone.ErrMerchantUIDUsed) &&
		portone.IsRefusal(err) && errors.As(err, &apiErr) && apiErr.Code != 0 {
		return gateway.Payment{PaymentID: req.PaymentID, Key: req.Key, Status: gateway.StatusFailed, Amount: req.Amount,
			FailReason: apiErr.Message}, nil
	}
	return gateway.Payment{}, classify(opAgain, err, kinds{
		portone.ErrCustomerNotRegistered: gateway.ErrKeyNotFound,
		portone.ErrMerchantUIDUsed:       gateway.ErrAlreadyPaid,
	})
}

// Payments is GET /payments/findAll/{merchant_uid} (up to 100 attempts, more than a cycle makes).
func (g *Gateway) Payments(ctx context.Context, paymentID string) ([]gateway.Payment, error) {
	page, err := g.c.FindAllPayments(ctx, paymentID, portone.FindAllQuery{Limit: 100})
	if errors.Is(err, portone.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("GET /payments/findAll/{merchant_uid}", err, nil)
	}
	out := make([]gateway.Payment, 0, len(page.List))
	for i := range page.List {
		out = append(out, payment(&page.List[i]))
	}
	return out, nil
}

// Payment is GET /payments/{imp_uid}.
func (g *Gateway) Payment(ctx context.Context, txID string) (gateway.Payment, error) {
	p, err := g.c.GetPayment(ctx, txID)
	if err != nil {
		return gateway.Payment{}, classify("GET /payments/{imp_uid}", err, kinds{portone.ErrNotFound: gateway.ErrNotFound})
	}
	return payment(p), nil
}

// Schedule is POST /subscribe/payments/schedule with one entry.
func (g *Gateway) Schedule(ctx context.Context, req gateway.ScheduleRequest) error {
	_, err := g.c.Schedule(ctx, portone.ScheduleRequest{
		CustomerUID: req.Key,
		Schedules: []portone.ScheduleEntry{{
			MerchantUID: req.PaymentID,
			ScheduleAt:  req.At,
			Amount:      portone.KRW(req.Amount),
			TaxFree:     portone.KRW(req.TaxFree),
			Name:        req.Name,
			Buyer:       portone.Buyer{Name: req.Buyer.Name, Tel: req.Buyer.Tel, Email: req.Buyer.Email},
			CustomData:  req.CustomData,
			NoticeURL:   req.NoticeURL,
			NaverUseCfm: req.NaverUseCfm,
		}},
	})
	if err != nil {
		return classify("POST /subscribe/payments/schedule", err, kinds{portone.ErrCustomerNotRegistered: gateway.ErrKeyNotFound})
	}
	return nil
}

// ScheduleOf is GET /subscribe/payments/schedule/{merchant_uid}; V1 finds a schedule by its
// merchant_uid alone, so the key is not needed.
func (g *Gateway) ScheduleOf(ctx context.Context, _, paymentID string) (gateway.Schedule, error) {
	s, err := g.c.GetSchedule(ctx, paymentID)
	if err != nil {
		return gateway.Schedule{}, classify("GET /subscribe/payments/schedule/{merchant_uid}", err, kinds{portone.ErrNotFound: gateway.ErrNotFound})
	}
	return schedule(s), nil
}

func schedule(s *portone.ScheduleResult) gateway.Schedule {
	return gateway.Schedule{PaymentID: s.MerchantUID, Key: s.CustomerUID, Amount: int64(s.Amount), Status: gateway.ScheduleStatus(s.ScheduleStatus),
		At: unix(s.ScheduleAt), TxID: s.ImpUID, RevokedAt: unix(s.RevokedAt)}
}

// PendingSchedules walks GET /subscribe/payments/schedule (schedule_status scheduled, oldest
// first, 1,000 a page); the cursor is the page number. An entry PortOne lists in another
// status is dropped.
func (g *Gateway) PendingSchedules(ctx context.Context, q gateway.ListQuery) (gateway.SchedulePage, error) {
	page := 1
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 1 {
			return gateway.SchedulePage{}, gateway.InvalidRequest("PendingSchedules", "cursor", fmt.Sprintf("%q is not a cursor this gateway gave", q.Cursor))
		}
		page = n
	}
	res, err := g.c.Schedules(ctx, portone.ScheduleRangeQuery{From: q.From, To: q.To, Status: portone.ScheduleScheduled,
		Page: page, Limit: listPageSize, Sorting: "scheduled"})
	if err != nil {
		return gateway.SchedulePage{}, classify("GET /subscribe/payments/schedule", err, nil)
	}
	out := gateway.SchedulePage{Schedules: make([]gateway.Schedule, 0, len(res.List))}
	for i := range res.List {
		if res.List[i].ScheduleStatus == portone.ScheduleScheduled {
			out.Schedules = append(out.Schedules, schedule(&res.List[i]))
		}
	}
	if res.Next > page && len(res.List) > 0 {
		out.Next = strconv.Itoa(res.Next)
	}
	return out, nil
}

// BillingKeys is GET /subscribe/customers?customer_uid[]=…; PortOne leaves unknown ones out.
func (g *Gateway) BillingKeys(ctx context.Context, keys []string) ([]gateway.BillingKey, error) {
	if len(keys) > gateway.MaxKeysPerCall {
		return nil, gateway.InvalidRequest("BillingKeys", "keys", fmt.Sprintf("%d keys; at most %d a call", len(keys), gateway.MaxKeysPerCall))
	}
	cs, err := g.c.GetCustomers(ctx, keys)
	if errors.Is(err, portone.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("GET /subscribe/customers", err, nil)
	}
	out := make([]gateway.BillingKey, 0, len(cs))
	for _, c := range cs {
		out = append(out, gateway.BillingKey{Key: c.CustomerUID, PGProvider: c.PGProvider, CardName: c.CardName})
	}
	return out, nil
}

// Revoke is POST /subscribe/payments/unschedule for one merchant_uid.
func (g *Gateway) Revoke(ctx context.Context, key, paymentID string) error {
	_, err := g.c.Unschedule(ctx, portone.UnscheduleRequest{CustomerUID: key, MerchantUIDs: []string{paymentID}})
	if err != nil {
		return classify(opUnschedule, err, kinds{
			portone.ErrNothingToUnschedule:   gateway.ErrNothingToRevoke,
			portone.ErrCustomerNotRegistered: gateway.ErrKeyNotFound,
		})
	}
	return nil
}

// Refund is POST /payments/cancel with the checksum; Amount 0 is V1's full cancel.
func (g *Gateway) Refund(ctx context.Context, req gateway.RefundRequest) (gateway.Payment, error) {
	checksum := portone.KRW(req.ExpectedRemaining)
	p, err := g.c.CancelPayment(ctx, portone.CancelRequest{
		ImpUID:    req.TxID,
		Amount:    portone.KRW(req.Amount),
		TaxFree:   portone.KRW(req.TaxFree),
		Checksum:  &checksum,
		Reason:    req.Reason,
		Requester: portone.Requester(req.Requester),
	})
	if err != nil {
		return gateway.Payment{}, classify("POST /payments/cancel", err, kinds{portone.ErrAlreadyCancelled: gateway.ErrAlreadyCancelled})
	}
	return payment(p), nil
}

// BillingKey is GET /subscribe/customers/{customer_uid}.
func (g *Gateway) BillingKey(ctx context.Context, key string) (gateway.BillingKey, error) {
	c, err := g.c.GetCustomer(ctx, key)
	if err != nil {
		return gateway.BillingKey{}, classify("GET /subscribe/customers/{customer_uid}", err, kinds{portone.ErrNotFound: gateway.ErrKeyNotFound})
	}
	return gateway.BillingKey{Key: c.CustomerUID, PGProvider: c.PGProvider, CardName: c.CardName}, nil
}

// DeleteBillingKey is DELETE /subscribe/customers/{customer_uid} with reason and requester.
func (g *Gateway) DeleteBillingKey(ctx context.Context, req gateway.DeleteKeyRequest) error {
	_, err := g.c.DeleteCustomer(ctx, req.Key, portone.DeleteCustomerRequest{Reason: req.Reason, Requester: portone.Requester(req.Requester)})
	if err != nil {
		return classify("DELETE /subscribe/customers/{customer_uid}", err, kinds{
			portone.ErrNotFound:              gateway.ErrKeyNotFound,
			portone.ErrCustomerNotRegistered: gateway.ErrKeyNotFound,
		})
	}
	return nil
}

// listStatuses are the statuses ListPayments walks, in cursor order: V1 lists by status only.
var listStatuses = []portone.PaymentStatus{portone.StatusPaid, portone.StatusCancelled, portone.StatusFailed}

// listPageSize is the page size of ListPayments (V1's maximum).
const listPageSize = 1000

// ListPayments walks GET /payments/status/{paid,cancelled,failed} over [From, To) (V1's To is
// inclusive, to the second), oldest first so that pages stay stable while payments are added:
// the cursor is "<status index>:<page>". A status's list ends at a page without a next one,
// an empty page, or a "next" that does not move forward (a server that keeps answering "next"
// cannot loop the caller).
func (g *Gateway) ListPayments(ctx context.Context, q gateway.ListQuery) (gateway.PaymentPage, error) {
	si, page := 0, 1
	if q.Cursor != "" {
		a, b, ok := strings.Cut(q.Cursor, ":")
		i, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || i < 0 || i >= len(listStatuses) || n < 1 {
			return gateway.PaymentPage{}, gateway.InvalidRequest("ListPayments", "cursor", fmt.Sprintf("%q is not a cursor this gateway gave", q.Cursor))
		}
		si, page = i, n
	}
	res, err := g.c.PaymentsByStatus(ctx, listStatuses[si], portone.StatusQuery{From: q.From, To: q.To.Add(-time.Second), Page: page,
		Limit: listPageSize, Sorting: "started"})
	if err != nil {
		return gateway.PaymentPage{}, classify("GET /payments/status/{payment_status}", err, nil)
	}
	out := gateway.PaymentPage{Payments: make([]gateway.Payment, 0, len(res.List))}
	for i := range res.List {
		out.Payments = append(out.Payments, payment(&res.List[i]))
	}
	switch {
	case res.Next > page && len(res.List) > 0:
		out.Next = fmt.Sprintf("%d:%d", si, res.Next)
	case si+1 < len(listStatuses):
		out.Next = fmt.Sprintf("%d:1", si+1)
	}
	return out, nil
}

// payment converts a V1 payment. Unix 0 is "never".
func payment(p *portone.Payment) gateway.Payment {
	out := gateway.Payment{PaymentID: p.MerchantUID, TxID: p.ImpUID, Key: p.CustomerUID, Status: gateway.Status(p.Status),
		Amount: int64(p.Amount), Cancelled: int64(p.CancelAmount), FailReason: p.FailReason, ReceiptURL: p.ReceiptURL,
		Usage: gateway.Usage(p.CustomerUIDUsage), StartedAt: unix(p.StartedAt), PaidAt: unix(p.PaidAt), FailedAt: unix(p.FailedAt),
		CancelledAt: unix(p.CancelledAt)}
	for _, c := range p.CancelHistory {
		out.Refunds = append(out.Refunds, gateway.Refund{Amount: int64(c.Amount), At: unix(c.CancelledAt)})
	}
	return out
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// kinds maps the client's sentinels to the refusals an operation reports.
type kinds map[error]error

// classify sorts a client error into the contract's classes, in the order the activities
// always decided retries: a validation error, an unknown outcome, bad credentials, a definite
// refusal, and everything else (transport failures, 5xx, 429) as unavailable.
func classify(op string, err error, k kinds) error {
	e := &gateway.Error{Op: op, Err: err, Message: err.Error()}
	var apiErr *portone.APIError
	if errors.As(err, &apiErr) {
		e.Answered, e.Message = true, apiErr.Message
	}
	var verr *portone.ValidationError
	switch {
	case errors.As(err, &verr):
		e.Class = gateway.ErrInvalidRequest
	case errors.Is(err, portone.ErrUnknownOutcome):
		e.Class = gateway.ErrUnknownOutcome
	case errors.Is(err, portone.ErrUnauthorized):
		e.Class = gateway.ErrUnauthorized
	case portone.IsRefusal(err):
		e.Class = gateway.ErrRefused
	default:
		e.Class = gateway.ErrUnavailable
	}
	for from, to := range k {
		if errors.Is(err, from) {
			e.Kinds = append(e.Kinds, to)
		}
	}
	return e
}
