package portone

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

const (
	opAgain            = "POST /subscribe/payments/again"
	opGetPayment       = "GET /payments/{imp_uid}"
	opFindPayment      = "GET /payments/find/{merchant_uid}"
	opFindPaymentBy    = "GET /payments/find/{merchant_uid}/{payment_status}"
	opFindAllPayments  = "GET /payments/findAll/{merchant_uid}"
	opFindAllPaymentBy = "GET /payments/findAll/{merchant_uid}/{payment_status}"
	opCancelPayment    = "POST /payments/cancel"
)

// buyerWire holds the buyer_* fields shared by again and schedule bodies.
type buyerWire struct {
	BuyerName     string `json:"buyer_name,omitempty"`
	BuyerEmail    string `json:"buyer_email,omitempty"`
	BuyerTel      string `json:"buyer_tel,omitempty"`
	BuyerAddr     string `json:"buyer_addr,omitempty"`
	BuyerPostcode string `json:"buyer_postcode,omitempty"`
}

func toBuyerWire(b Buyer) buyerWire {
	return buyerWire{b.Name, b.Email, b.Tel, b.Addr, b.Postcode}
}

// extraWire is the "extra" object: NaverPay's naverUseCfm on charges and
// requester on refunds.
type extraWire struct {
	NaverUseCfm string    `json:"naverUseCfm,omitempty"`
	Requester   Requester `json:"requester,omitempty"`
}

// extraOf returns nil when there is nothing to send, so that "extra" is omitted.
func extraOf(naverUseCfm string, requester Requester) *extraWire {
	if naverUseCfm == "" && requester == "" {
		return nil
	}
	return &extraWire{NaverUseCfm: naverUseCfm, Requester: requester}
}

type againWire struct {
	CustomerUID string `json:"customer_uid"`
	MerchantUID string `json:"merchant_uid"`
	Amount      KRW    `json:"amount"`
	TaxFree     KRW    `json:"tax_free"`
	Name        string `json:"name"`
	buyerWire
	CustomData string     `json:"custom_data,omitempty"`
	NoticeURL  string     `json:"notice_url,omitempty"`
	Extra      *extraWire `json:"extra,omitempty"`
}

type cancelWire struct {
	ImpUID        string     `json:"imp_uid,omitempty"`
	MerchantUID   string     `json:"merchant_uid,omitempty"`
	Amount        KRW        `json:"amount,omitempty"`
	TaxFree       KRW        `json:"tax_free,omitempty"`
	Checksum      *KRW       `json:"checksum,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	EnableWebhook bool       `json:"enable_webhook,omitempty"`
	Extra         *extraWire `json:"extra,omitempty"`
}

// Again charges the billing key req.CustomerUID now.
//
// The three outcomes must be handled apart:
//
//   - The PG answered: Again returns the *Payment and a nil error. Status is
//     StatusPaid when approved and StatusFailed when declined (limit
//     exceeded, insufficient balance, ...; see FailReason). A decline is an
//     answer, not an error.
//   - PortOne refused before reaching the PG (code != 0 or 4xx): an
//     *APIError, for example ErrCustomerNotRegistered or ErrMerchantUIDUsed.
//     Nothing was charged; whether to treat an unrecognised refusal as final
//     is the caller's decision.
//   - No trustworthy answer (timeout, reset, 5xx, unreadable body): an
//     *UnknownOutcomeError. The charge may exist. Call FindAllPayments with
//     the same merchant_uid before anything else (not FindPayment: it returns
//     only the newest payment, which may be a failed retry hiding a paid one),
//     and never call Again again blindly.
//
// A merchant_uid that was paid or cancelled can never be reused; use a new
// one for every attempt.
//
// PortOne API: POST /subscribe/payments/again
func (c *Client) Again(ctx context.Context, req AgainRequest) (*Payment, error) {
	op := opAgain
	if err := c.validateAgain(op, &req); err != nil {
		return nil, err
	}
	r := &request{
		op:     op,
		method: http.MethodPost,
		path:   "/subscribe/payments/again",
		body: againWire{
			CustomerUID: req.CustomerUID,
			MerchantUID: req.MerchantUID,
			Amount:      req.Amount,
			TaxFree:     req.TaxFree,
			Name:        req.Name,
			buyerWire:   toBuyerWire(req.Buyer),
			CustomData:  req.CustomData,
			NoticeURL:   req.NoticeURL,
			Extra:       extraOf(req.NaverUseCfm, ""),
		},
		auth:         true,
		write:        true,
		merchantUID:  req.MerchantUID,
		next:         "call FindAllPayments with this merchant_uid (every payment under it) before charging again",
		customerUIDs: []string{req.CustomerUID},
	}
	return c.paymentWrite(ctx, r, req.MerchantUID)
}

// CancelPayment refunds a payment in full (Amount 0) or in part and returns
// the updated Payment: CancelAmount grows and CancelHistory gains an entry;
// Status becomes StatusCancelled only after a full refund.
//
// Refusals are *APIError: ErrNothingToCancel, ErrAlreadyCancelled, a
// Checksum mismatch, or a PG refusal. If it returns *UnknownOutcomeError the
// refund may have happened: call GetPayment and check
// CancelHistory before refunding again. Setting Checksum makes a repeated
// refund fail instead of refunding twice.
//
// PortOne API: POST /payments/cancel
func (c *Client) CancelPayment(ctx context.Context, req CancelRequest) (*Payment, error) {
	op := opCancelPayment
	if err := validateCancel(op, &req); err != nil {
		return nil, err
	}
	r := &request{
		op:     op,
		method: http.MethodPost,
		path:   "/payments/cancel",
		body: cancelWire{
			ImpUID:        req.ImpUID,
			MerchantUID:   req.MerchantUID,
			Amount:        req.Amount,
			TaxFree:       req.TaxFree,
			Checksum:      req.Checksum,
			Reason:        req.Reason,
			EnableWebhook: req.EnableWebhook,
			Extra:         extraOf("", req.Requester),
		},
		auth:        true,
		write:       true,
		merchantUID: req.MerchantUID,
		next:        "call GetPayment and check cancel_history before cancelling again",
	}
	want := req.MerchantUID
	if req.ImpUID != "" {
		want = "" // imp_uid wins; the merchant_uid is not checked then
	}
	return c.paymentWrite(ctx, r, want)
}

// paymentWrite sends a write whose answer is a Payment. An answer without a
// status, or for another merchant_uid, is not trustworthy.
func (c *Client) paymentWrite(ctx context.Context, r *request, merchantUID string) (*Payment, error) {
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var p Payment
	if err := c.decode(r, raw, &p); err != nil {
		return nil, err
	}
	if p.Status == "" {
		return nil, c.undecodable(r, errors.New("the payment in the answer has no status"))
	}
	if merchantUID != "" && p.MerchantUID != "" && p.MerchantUID != merchantUID {
		return nil, c.undecodable(r, errors.New("the payment in the answer is for another merchant_uid"))
	}
	return &p, nil
}

// GetPayment returns the payment impUID. An unknown imp_uid returns an
// *APIError matching ErrNotFound. Payments on a test channel are only found
// with WithIncludeSandbox(true).
//
// PortOne API: GET /payments/{imp_uid}
func (c *Client) GetPayment(ctx context.Context, impUID string) (*Payment, error) {
	op := opGetPayment
	if err := checkID(op, "imp_uid", impUID, maxImpUID); err != nil {
		return nil, err
	}
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   "/payments/" + url.PathEscape(impUID),
		query:  c.sandboxQuery(),
		auth:   true,
	}
	return c.paymentRead(ctx, r)
}

// FindPayment returns one payment with merchantUID. When several payments
// share the merchant_uid (for example a failed attempt and a later one),
// PortOne returns the most recently started; with a status, the newest with
// that status. status "" means any status. None returns an *APIError matching
// ErrNotFound. Because it shows only one payment it is not the way to settle
// an *UnknownOutcomeError (use FindAllPayments); no production path calls it,
// and it is kept as PortOne's documented single lookup (docs/architecture.md,
// "Endpoints no production path calls").
//
// PortOne API: GET /payments/find/{merchant_uid}[/{payment_status}]
func (c *Client) FindPayment(ctx context.Context, merchantUID string, status PaymentStatus) (*Payment, error) {
	op := opFindPayment
	if status != "" {
		op = opFindPaymentBy
	}
	if err := checkID(op, "merchant_uid", merchantUID, maxMerchantUID); err != nil {
		return nil, err
	}
	path := "/payments/find/" + url.PathEscape(merchantUID)
	if status != "" {
		if !status.valid() {
			return nil, invalid(op, "payment_status", "must be ready, paid, failed or cancelled")
		}
		path += "/" + url.PathEscape(string(status))
	}
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   path,
		query:  c.sandboxQuery(),
		auth:   true,
	}
	return c.paymentRead(ctx, r)
}

// FindAllPayments returns every payment with merchantUID, including
// duplicates, one page at a time. None returns an *APIError matching
// ErrNotFound (PortOne answers 404).
//
// PortOne API: GET /payments/findAll/{merchant_uid}[/{payment_status}]
func (c *Client) FindAllPayments(ctx context.Context, merchantUID string, q FindAllQuery) (*Page[Payment], error) {
	op := opFindAllPayments
	if q.Status != "" {
		op = opFindAllPaymentBy
	}
	if err := checkID(op, "merchant_uid", merchantUID, maxMerchantUID); err != nil {
		return nil, err
	}
	path := "/payments/findAll/" + url.PathEscape(merchantUID)
	if q.Status != "" {
		if !q.Status.valid() {
			return nil, invalid(op, "payment_status", "must be ready, paid, failed or cancelled")
		}
		path += "/" + url.PathEscape(string(q.Status))
	}
	if err := checkPaging(op, q.Page, q.Limit); err != nil {
		return nil, err
	}
	switch q.Sorting {
	case "", "-started", "started", "-paid", "paid", "-updated", "updated":
	default:
		return nil, invalid(op, "sorting", "must be one of -started, started, -paid, paid, -updated, updated")
	}
	query := c.sandboxQuery()
	if query == nil {
		query = url.Values{}
	}
	setPaging(query, q.Page, q.Limit, q.Sorting)
	r := &request{
		op:     op,
		method: http.MethodGet,
		path:   path,
		query:  query,
		auth:   true,
	}
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return pageOf[Payment](c, r, raw)
}

func (c *Client) paymentRead(ctx context.Context, r *request) (*Payment, error) {
	raw, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var p Payment
	if err := c.decode(r, raw, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// sandboxQuery is include_sandbox=true when WithIncludeSandbox(true) is set.
// PortOne's spec declares the flag only on GET /payments/{imp_uid}; it is
// sent on the merchant_uid lookups too, where it is harmless, so that a test
// environment finds its payments whichever lookup it uses.
func (c *Client) sandboxQuery() url.Values {
	if !c.includeSandbox {
		return nil
	}
	return url.Values{"include_sandbox": {"true"}}
}

// setPaging adds the paged list queries' common parameters, leaving out the zero ones so that
// PortOne's defaults apply.
func setPaging(query url.Values, page, limit int, sorting string) {
	if page > 0 {
		query.Set("page", strconv.Itoa(page))
	}
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	if sorting != "" {
		query.Set("sorting", sorting)
	}
}
