package portone

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// KRW is an amount of Korean won. The won has no minor unit, so an amount is
// always a whole number and int64 is exact where a float would not be.
//
// PortOne declares amounts as JSON numbers; KRW decodes 1000, 1000.0 and
// "1000" alike, and null as 0, because different PortOne endpoints and client
// libraries have written all of these. It always encodes as an integer.
type KRW int64

// UnmarshalJSON decodes a JSON number, a numeric string or null. A value with a
// fractional part is refused: there is no such thing as half a won, and
// rounding it silently would hide a bug on one side or the other.
func (k *KRW) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*k = 0
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("portone: KRW: %w", err)
		}
		s = strings.TrimSpace(str)
		if s == "" {
			*k = 0
			return nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*k = KRW(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("portone: KRW: %q is not a number", s)
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || f > math.MaxInt64 || f < math.MinInt64 {
		return fmt.Errorf("portone: KRW: %q is not a whole number of won", s)
	}
	*k = KRW(f)
	return nil
}

// MarshalJSON encodes the amount as a JSON integer.
func (k KRW) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(k), 10), nil
}

// PaymentStatus is Payment.status. A billing-key charge ends as StatusPaid or
// StatusFailed; StatusReady is only seen for virtual accounts.
type PaymentStatus string

// Payment statuses, as PortOne spells them.
const (
	// StatusReady means not paid yet (for example an issued virtual account).
	StatusReady PaymentStatus = "ready"
	// StatusPaid means the PG approved the payment.
	StatusPaid PaymentStatus = "paid"
	// StatusFailed means the PG or card company declined the payment.
	StatusFailed PaymentStatus = "failed"
	// StatusCancelled means the payment was refunded in full.
	StatusCancelled PaymentStatus = "cancelled"
)

func (s PaymentStatus) valid() bool {
	switch s {
	case StatusReady, StatusPaid, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// ScheduleStatus is ScheduleResult.schedule_status.
type ScheduleStatus string

// Schedule statuses, as PortOne spells them.
const (
	// ScheduleScheduled means the charge is waiting for its schedule_at.
	ScheduleScheduled ScheduleStatus = "scheduled"
	// ScheduleExecuted means PortOne attempted the charge; see PaymentStatus
	// on the ScheduleResult for whether it was paid.
	ScheduleExecuted ScheduleStatus = "executed"
	// ScheduleRevoked means the schedule was cancelled before it ran.
	ScheduleRevoked ScheduleStatus = "revoked"
)

func (s ScheduleStatus) valid() bool {
	switch s {
	case ScheduleScheduled, ScheduleExecuted, ScheduleRevoked:
		return true
	}
	return false
}

// Requester says who asked for a refund or a billing-key deletion. NaverPay
// requires it (sent as extra.requester / extra[requester]) and reviews that it
// matches reality; PortOne defaults to RequesterAdmin when it is omitted.
type Requester string

// Requester values accepted by PortOne.
const (
	// RequesterCustomer means the buyer asked for it.
	RequesterCustomer Requester = "customer"
	// RequesterAdmin means the merchant decided it.
	RequesterAdmin Requester = "admin"
)

func (r Requester) valid() bool {
	return r == RequesterCustomer || r == RequesterAdmin
}

// Buyer holds the optional buyer_* fields of a charge. For NaverPay they are
// optional; on a schedule, PortOne fills omitted ones from the Customer.
type Buyer struct {
	// Name is buyer_name (at most 16 characters).
	Name string
	// Email is buyer_email (at most 64 characters).
	Email string
	// Tel is buyer_tel (at most 16 characters).
	Tel string
	// Addr is buyer_addr (at most 128 characters).
	Addr string
	// Postcode is buyer_postcode (at most 8 characters).
	Postcode string
}

// Payment is PortOne's PaymentAnnotation: one payment attempt with its own
// imp_uid. Several Payments may share a merchant_uid (for example a failed
// attempt and a later one). Strings that PortOne sends as null decode to "";
// timestamps are Unix seconds and 0 when the event has not happened.
type Payment struct {
	// ImpUID is PortOne's id of this payment (imp_ + 12 digits).
	ImpUID string `json:"imp_uid"`
	// MerchantUID is the merchant's order id sent with the request.
	MerchantUID string `json:"merchant_uid"`
	// PayMethod is the payment method (card, naverpay, point, ...).
	PayMethod string `json:"pay_method"`
	// Channel is pc, mobile or api (api for billing-key charges).
	Channel string `json:"channel"`
	// PGProvider is the PG, for example naverpay.
	PGProvider string `json:"pg_provider"`
	// EmbPGProvider is the embedded easy-pay provider, if any.
	EmbPGProvider string `json:"emb_pg_provider"`
	// PGTID is the PG's transaction id.
	PGTID string `json:"pg_tid"`
	// PGID is the PG merchant id (MID).
	PGID string `json:"pg_id"`
	// Sandbox is true for payments made on a test channel.
	Sandbox bool `json:"sandbox"`
	// Escrow is true for escrow payments.
	Escrow bool `json:"escrow"`
	// ApplyNum is the card approval number.
	ApplyNum string `json:"apply_num"`
	// BankCode is the bank code (bank transfers).
	BankCode string `json:"bank_code"`
	// BankName is the bank name (bank transfers).
	BankName string `json:"bank_name"`
	// CardCode is the KFTC card company code.
	CardCode string `json:"card_code"`
	// CardName is the card company name.
	CardName string `json:"card_name"`
	// CardIssuerCode is the issuer code (some PGs only).
	CardIssuerCode string `json:"card_issuer_code"`
	// CardIssuerName is the issuer name (some PGs only).
	CardIssuerName string `json:"card_issuer_name"`
	// CardPublisherCode is the publisher code (some PGs only).
	CardPublisherCode string `json:"card_publisher_code"`
	// CardPublisherName is the publisher name (some PGs only).
	CardPublisherName string `json:"card_publisher_name"`
	// CardQuota is the number of instalments; 0 means lump sum.
	CardQuota int `json:"card_quota"`
	// CardNumber is the masked card number.
	CardNumber string `json:"card_number"`
	// CardType is 0 for credit, 1 for check cards, nil when the PG does not say.
	CardType *int `json:"card_type"`
	// VbankCode is the virtual account bank code.
	VbankCode string `json:"vbank_code"`
	// VbankName is the virtual account bank name.
	VbankName string `json:"vbank_name"`
	// VbankNum is the virtual account number.
	VbankNum string `json:"vbank_num"`
	// VbankHolder is the virtual account holder.
	VbankHolder string `json:"vbank_holder"`
	// VbankDate is the virtual account deposit deadline (Unix seconds).
	VbankDate int64 `json:"vbank_date"`
	// VbankIssuedAt is when the virtual account was issued (Unix seconds).
	VbankIssuedAt int64 `json:"vbank_issued_at"`
	// Name is the order name.
	Name string `json:"name"`
	// Amount is the charged amount.
	Amount KRW `json:"amount"`
	// CancelAmount is the total refunded so far.
	CancelAmount KRW `json:"cancel_amount"`
	// Currency is the currency code, KRW for everything this project does.
	Currency string `json:"currency"`
	// BuyerName is buyer_name.
	BuyerName string `json:"buyer_name"`
	// BuyerEmail is buyer_email.
	BuyerEmail string `json:"buyer_email"`
	// BuyerTel is buyer_tel.
	BuyerTel string `json:"buyer_tel"`
	// BuyerAddr is buyer_addr.
	BuyerAddr string `json:"buyer_addr"`
	// BuyerPostcode is buyer_postcode.
	BuyerPostcode string `json:"buyer_postcode"`
	// CustomData is the custom_data sent with the request, as text. If PortOne
	// ever returns it as a JSON object, it holds that object's JSON text.
	CustomData string `json:"custom_data"`
	// UserAgent is the buyer's user agent (empty for API charges).
	UserAgent string `json:"user_agent"`
	// Status is the payment status; a decline is StatusFailed, not an error.
	Status PaymentStatus `json:"status"`
	// StartedAt is when the payment was started (Unix seconds).
	StartedAt int64 `json:"started_at"`
	// PaidAt is when it was approved (Unix seconds, 0 if never).
	PaidAt int64 `json:"paid_at"`
	// FailedAt is when it was declined (Unix seconds, 0 if never).
	FailedAt int64 `json:"failed_at"`
	// CancelledAt is when it was last refunded (Unix seconds, 0 if never).
	CancelledAt int64 `json:"cancelled_at"`
	// FailReason is the PG's decline text; no fixed catalogue exists.
	FailReason string `json:"fail_reason"`
	// CancelReason is the reason of the last refund.
	CancelReason string `json:"cancel_reason"`
	// ReceiptURL is the sales slip URL.
	ReceiptURL string `json:"receipt_url"`
	// CancelHistory lists full and partial refunds, oldest first.
	CancelHistory []CancelHistory `json:"cancel_history"`
	// CancelReceiptURLs is deprecated by PortOne in favour of CancelHistory.
	CancelReceiptURLs []string `json:"cancel_receipt_urls"`
	// CashReceiptIssued is true when a cash receipt was issued.
	CashReceiptIssued bool `json:"cash_receipt_issued"`
	// CustomerUID is the billing key used, empty for one-off payments.
	CustomerUID string `json:"customer_uid"`
	// CustomerUIDUsage is issue, payment or payment.scheduled (empty for one-off payments).
	CustomerUIDUsage string `json:"customer_uid_usage"`
	// Promotion is the card promotion applied, if any.
	Promotion *Promotion `json:"promotion"`
}

// UnmarshalJSON decodes a PaymentAnnotation, tolerating custom_data sent as
// a JSON value other than a string.
func (p *Payment) UnmarshalJSON(b []byte) error {
	type plain Payment
	aux := struct {
		*plain
		CustomData json.RawMessage `json:"custom_data"`
	}{plain: (*plain)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.CustomData = flexText(aux.CustomData)
	return nil
}

// CancelHistory is one refund of a Payment (PaymentCancelAnnotation).
type CancelHistory struct {
	// PGTID is the PG's id of the refund.
	PGTID string `json:"pg_tid"`
	// Amount is the refunded amount.
	Amount KRW `json:"amount"`
	// CancelledAt is when the refund happened (Unix seconds).
	CancelledAt int64 `json:"cancelled_at"`
	// Reason is the refund reason sent with the request.
	Reason string `json:"reason"`
	// CancellationID is PortOne's id of this refund (also sent in webhooks).
	CancellationID string `json:"cancellation_id"`
	// ReceiptURL is the refund slip URL.
	ReceiptURL string `json:"receipt_url"`
}

// Promotion is a card promotion applied to a Payment.
type Promotion struct {
	// ID is the promotion id (promotion-id-...).
	ID string `json:"id"`
	// Discount is the amount taken off the order.
	Discount KRW `json:"discount"`
}

// Customer is PortOne's CustomerAnnotation: one billing key, named by the
// merchant's customer_uid.
type Customer struct {
	// CustomerUID is the merchant's name for the billing key.
	CustomerUID string `json:"customer_uid"`
	// PGProvider is the PG holding the key, for example naverpay.
	PGProvider string `json:"pg_provider"`
	// PGID is the PG merchant id (MID).
	PGID string `json:"pg_id"`
	// Sandbox is true for keys issued on a test channel.
	Sandbox bool `json:"sandbox"`
	// CustomerID is the merchant's customer id, if sent at issue.
	CustomerID string `json:"customer_id"`
	// CardName is the card company name.
	CardName string `json:"card_name"`
	// CardCode is the KFTC card company code.
	CardCode string `json:"card_code"`
	// CardIssuerCode is the issuer code (some PGs only).
	CardIssuerCode string `json:"card_issuer_code"`
	// CardIssuerName is the issuer name (some PGs only).
	CardIssuerName string `json:"card_issuer_name"`
	// CardPublisherCode is the publisher code (some PGs only).
	CardPublisherCode string `json:"card_publisher_code"`
	// CardPublisherName is the publisher name (some PGs only).
	CardPublisherName string `json:"card_publisher_name"`
	// CardNumber is the masked card number.
	CardNumber string `json:"card_number"`
	// CardType is 0 for credit, 1 for check cards, nil when the PG does not say.
	CardType *int `json:"card_type"`
	// CustomerName is customer_name.
	CustomerName string `json:"customer_name"`
	// CustomerTel is customer_tel.
	CustomerTel string `json:"customer_tel"`
	// CustomerEmail is customer_email.
	CustomerEmail string `json:"customer_email"`
	// CustomerAddr is customer_addr.
	CustomerAddr string `json:"customer_addr"`
	// CustomerPostcode is customer_postcode.
	CustomerPostcode string `json:"customer_postcode"`
	// Inserted is when the key was issued (Unix seconds).
	Inserted int64 `json:"inserted"`
	// Updated is when the key was last replaced (Unix seconds).
	Updated int64 `json:"updated"`
}

// ScheduleResult is PortOne's ScheduleResultAnnotation: one scheduled charge.
// PaymentStatus is "" until the schedule has run (PortOne sends null).
type ScheduleResult struct {
	// CustomerUID is the billing key to be charged.
	CustomerUID string `json:"customer_uid"`
	// MerchantUID is the order id the charge will use.
	MerchantUID string `json:"merchant_uid"`
	// ImpUID is the resulting payment, empty until executed.
	ImpUID string `json:"imp_uid"`
	// PGProvider is the PG holding the key.
	PGProvider string `json:"pg_provider"`
	// PGID is the PG merchant id (MID).
	PGID string `json:"pg_id"`
	// CustomerID is the merchant's customer id, if any.
	CustomerID string `json:"customer_id"`
	// ScheduleAt is when the charge is due (Unix seconds).
	ScheduleAt int64 `json:"schedule_at"`
	// ExecutedAt is when it ran (Unix seconds, 0 if not yet).
	ExecutedAt int64 `json:"executed_at"`
	// RevokedAt is when it was revoked (Unix seconds, 0 if not).
	RevokedAt int64 `json:"revoked_at"`
	// Amount is the amount to charge.
	Amount KRW `json:"amount"`
	// Currency is the currency code.
	Currency string `json:"currency"`
	// Name is the order name.
	Name string `json:"name"`
	// BuyerName is buyer_name.
	BuyerName string `json:"buyer_name"`
	// BuyerEmail is buyer_email.
	BuyerEmail string `json:"buyer_email"`
	// BuyerTel is buyer_tel.
	BuyerTel string `json:"buyer_tel"`
	// BuyerAddr is buyer_addr.
	BuyerAddr string `json:"buyer_addr"`
	// BuyerPostcode is buyer_postcode.
	BuyerPostcode string `json:"buyer_postcode"`
	// CustomData is the custom_data that the executed Payment will carry.
	CustomData string `json:"custom_data"`
	// ScheduleStatus is scheduled, executed or revoked.
	ScheduleStatus ScheduleStatus `json:"schedule_status"`
	// PaymentStatus is the executed payment's status, "" before execution.
	PaymentStatus PaymentStatus `json:"payment_status"`
	// FailReason is the decline text when the executed payment failed.
	FailReason string `json:"fail_reason"`
	// PromotionID is the promotion applied, if any.
	PromotionID string `json:"promotion_id"`
}

// UnmarshalJSON decodes a ScheduleResultAnnotation, tolerating custom_data
// sent as a JSON value other than a string.
func (s *ScheduleResult) UnmarshalJSON(b []byte) error {
	type plain ScheduleResult
	aux := struct {
		*plain
		CustomData json.RawMessage `json:"custom_data"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.CustomData = flexText(aux.CustomData)
	return nil
}

// Page is one page of a PortOne list. Previous and Next are page numbers, 0
// when there is no such page. When PortOne answers a list endpoint with a bare
// array instead of a paged object, Total is the array's length and Previous
// and Next are 0.
type Page[T any] struct {
	// Total is the number of items across all pages.
	Total int `json:"total"`
	// Previous is the previous page number, 0 if none.
	Previous int `json:"previous"`
	// Next is the next page number, 0 if none.
	Next int `json:"next"`
	// List is this page's items; never nil.
	List []T `json:"list"`
}

// AgainRequest is the body of POST /subscribe/payments/again.
type AgainRequest struct {
	// CustomerUID names the billing key to charge (required, at most 80 characters).
	CustomerUID string
	// MerchantUID is the order id (required, at most 40 characters). Use a
	// fresh one for every attempt: PortOne refuses a merchant_uid that was
	// already paid or cancelled.
	MerchantUID string
	// Amount to charge (required; at least the client's minimum, 10 KRW for NaverPay).
	Amount KRW
	// TaxFree is the tax-exempt part of Amount (0 means VAT applies to all of it).
	TaxFree KRW
	// Name is the order name (required, at most 40 characters).
	Name string
	// Buyer holds the optional buyer_* fields.
	Buyer Buyer
	// CustomData is stored on the Payment and echoed back.
	CustomData string
	// NoticeURL overrides the console webhook URL for this payment.
	NoticeURL string
	// NaverUseCfm is NaverPay's service-completion date (yyyyMMdd), sent as
	// extra.naverUseCfm; leave it empty unless the NaverPay contract requires it.
	NaverUseCfm string
}

// ScheduleRequest is the body of POST /subscribe/payments/schedule.
type ScheduleRequest struct {
	// CustomerUID names the billing key to charge (required).
	CustomerUID string
	// Schedules are the charges to schedule, each with its own merchant_uid.
	Schedules []ScheduleEntry
}

// ScheduleEntry is one element of ScheduleRequest.Schedules.
type ScheduleEntry struct {
	// MerchantUID is the order id of this charge (required, unique).
	MerchantUID string
	// ScheduleAt is when PortOne should charge (required; sent as Unix seconds).
	ScheduleAt time.Time
	// Amount to charge (required; at least the client's minimum).
	Amount KRW
	// TaxFree is the tax-exempt part of Amount.
	TaxFree KRW
	// Name is the order name (required, at most 40 characters).
	Name string
	// Buyer holds the optional buyer_* fields; PortOne fills omitted ones
	// from the Customer.
	Buyer Buyer
	// CustomData becomes the executed Payment's custom_data.
	CustomData string
	// NoticeURL receives the webhook when the schedule runs.
	NoticeURL string
	// NaverUseCfm is NaverPay's service-completion date (yyyyMMdd), sent as
	// extra.naverUseCfm; it must not be before ScheduleAt's day in Korea.
	NaverUseCfm string
}

// UnscheduleRequest is the body of POST /subscribe/payments/unschedule. With
// only CustomerUID, PortOne revokes every pending schedule of that billing
// key; with MerchantUIDs, only those.
type UnscheduleRequest struct {
	// CustomerUID names the billing key.
	CustomerUID string
	// MerchantUIDs are the schedules to revoke (sent as a JSON array).
	MerchantUIDs []string
}

// CancelRequest is the body of POST /payments/cancel (a full or partial refund).
type CancelRequest struct {
	// ImpUID names the payment; it wins over MerchantUID when both are set.
	ImpUID string
	// MerchantUID names the payment when ImpUID is empty.
	MerchantUID string
	// Amount to refund; 0 refunds everything that is left.
	Amount KRW
	// TaxFree is the tax-exempt part of Amount.
	TaxFree KRW
	// Checksum is the refundable balance the caller believes is left
	// (amount - cancel_amount); PortOne refuses the refund if it differs,
	// which guards against refunding twice. nil omits the check.
	Checksum *KRW
	// Reason is the refund reason (NaverPay reviews it).
	Reason string
	// Requester is sent as extra.requester (NaverPay; PortOne's default is admin).
	Requester Requester
	// EnableWebhook asks PortOne to send a webhook for this refund.
	EnableWebhook bool
}

// DeleteCustomerRequest holds the query of DELETE /subscribe/customers/{customer_uid}.
// NaverPay's review requires both fields.
type DeleteCustomerRequest struct {
	// Reason is why the billing key is deleted.
	Reason string
	// Requester is who asked for it, sent as extra[requester].
	Requester Requester
}

// ScheduleQuery filters GET /subscribe/payments/schedule/customers/{customer_uid}.
type ScheduleQuery struct {
	// From is the inclusive start of the schedule_at window (required).
	From time.Time
	// To is the exclusive end of the window (required; PortOne allows at most 3 months).
	To time.Time
	// Page is the page number from 1; 0 means PortOne's default (1).
	Page int
	// Status filters by schedule status; "" means all.
	Status ScheduleStatus
}

// ScheduleRangeQuery filters GET /subscribe/payments/schedule.
type ScheduleRangeQuery struct {
	// From is the inclusive start of the schedule_at window (required).
	From time.Time
	// To is the exclusive end of the window (required; PortOne allows at most 3 months).
	To time.Time
	// Status filters by schedule status; "" means all.
	Status ScheduleStatus
	// Page is the page number from 1; 0 means PortOne's default (1).
	Page int
	// Limit is the page size, at most 1000; 0 means PortOne's default (20).
	Limit int
	// Sorting is PortOne's sorting value: "" (newest schedule first) or
	// "scheduled" (oldest first).
	Sorting string
}

// FindAllQuery filters GET /payments/findAll/{merchant_uid}.
type FindAllQuery struct {
	// Status filters by payment status; "" means all.
	Status PaymentStatus
	// Page is the page number from 1; 0 means PortOne's default (1).
	Page int
	// Limit is the page size, at most 1000; 0 means PortOne's default (20).
	Limit int
	// Sorting is one of -started (PortOne's default), started, -paid, paid,
	// -updated, updated.
	Sorting string
}

// flexText turns a JSON value into text: a string is unquoted, null is "",
// and anything else keeps its JSON spelling.
func flexText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	return string(raw)
}

// decodePage decodes a list answer that may be a paged object or a bare array.
func decodePage[T any](raw json.RawMessage) (*Page[T], error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return &Page[T]{List: []T{}}, nil
	}
	if raw[0] == '[' {
		var list []T
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		if list == nil {
			list = []T{}
		}
		return &Page[T]{Total: len(list), List: list}, nil
	}
	var p Page[T]
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	if p.List == nil {
		p.List = []T{}
	}
	return &p, nil
}
