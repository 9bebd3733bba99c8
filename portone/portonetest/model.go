package portonetest

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// merchant is one merchant's private state.
type merchant struct {
	key, secret string
	sandbox     bool
	token       *token

	customers      map[string]*customer
	payments       []*payment // creation order
	byImp          map[string]*payment
	schedules      []*schedule // creation order
	scheduleByMUID map[string]*schedule

	// The merchant's V2 store (v2_emulator.go); v2Secret is empty when it has none.
	v2Secret, storeID, channelKey, merchantID string
	v2                                        v2State
}

func newMerchant(m Merchant) *merchant {
	return &merchant{
		key: m.Key, secret: m.Secret, sandbox: m.Sandbox,
		customers:      map[string]*customer{},
		byImp:          map[string]*payment{},
		scheduleByMUID: map[string]*schedule{},
		v2Secret:       m.V2Secret, storeID: m.StoreID, channelKey: m.V2ChannelKey,
		merchantID: "merchant-" + strings.TrimPrefix(m.StoreID, "store-"),
		v2:         newV2State(),
	}
}

// buyer holds the buyer_* fields of a payment or schedule.
type buyer struct {
	name, email, tel, addr, postcode string
}

// orFrom fills the fields b leaves empty from the customer's customer_* fields, which is how
// PortOne fills a billing payment's buyer (buyer_* wins when both are given).
func (b buyer) orFrom(c *customer) buyer {
	if c == nil {
		return b
	}
	pick := func(a, z string) string {
		if a != "" {
			return a
		}
		return z
	}
	return buyer{
		name:     pick(b.name, c.name),
		email:    pick(b.email, c.email),
		tel:      pick(b.tel, c.tel),
		addr:     pick(b.addr, c.addr),
		postcode: pick(b.postcode, c.postcode),
	}
}

// customer is a stored billing key.
type customer struct {
	uid                string
	pgProvider, pgID   string
	customerID         string
	cardName, cardCode string
	cardNumber         string
	cardType           *int
	name, tel, email   string
	addr, postcode     string
	inserted, updated  int64
	// invalidReason is set when a hard decline made the key unusable; every later charge
	// fails with it until the key is registered again.
	invalidReason string
}

// payment is one PortOne payment record (a registration, a charge or a scheduled charge).
type payment struct {
	seq                 int64
	m                   *merchant
	impUID, merchantUID string
	payMethod, channel  string
	pgProvider, pgID    string
	pgTID, applyNum     string
	cardName, cardCode  string
	cardNumber          string
	cardType            *int
	name                string
	amount, taxFree     int64
	cancelAmount        int64
	currency            string
	buyer               buyer
	customData          *string
	status              string
	startedAt, paidAt   int64
	failedAt            int64
	cancelledAt         int64
	updatedAt           int64
	failReason          string
	cancelReason        string
	receiptURL          string
	cancels             []cancelRecord
	customerUID, usage  string
	noticeURL           string
	// naverUseCfm is the extra.naverUseCfm the charge was asked with (for tests' ledgers).
	naverUseCfm string
	createdAt   time.Time
	// v2 is set on a V2 attempt (v2_emulator.go).
	v2 *v2Attempt
}

// Payment statuses (PaymentAnnotation.status).
const (
	statusReady     = "ready"
	statusPaid      = "paid"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// customer_uid_usage values.
const (
	usageIssue     = "issue"
	usagePayment   = "payment"
	usageScheduled = "payment.scheduled"
)

type cancelRecord struct {
	pgTID       string
	amount      int64
	taxFree     int64
	cancelledAt int64
	// requestedAt is when a V2 cancel was asked for (unix seconds), earlier than cancelledAt
	// for an asynchronous one; 0 when asked and done at once.
	requestedAt    int64
	reason         string
	cancellationID string
	receiptURL     string
}

// remaining is what can still be refunded.
func (p *payment) remaining() int64 { return p.amount - p.cancelAmount }

// wasPaid reports whether the payment was ever approved: paid, or paid and then (partly or
// fully) cancelled.
func (p *payment) wasPaid() bool {
	return p.paidAt != 0 || p.status == statusPaid || p.status == statusCancelled
}

// schedule is one scheduled charge.
type schedule struct {
	seq                   int64
	m                     *merchant
	customerUID           string
	merchantUID           string
	pgProvider, pgID      string
	customerID            string
	scheduleAt            int64
	executedAt, revokedAt int64
	amount, taxFree       int64
	currency, name        string
	buyer                 buyer
	customData            *string
	noticeURL             string
	naverUseCfm           string
	status                string
	payment               *payment
	createdAt             time.Time
	// recovery is set while 리커버리 (FaultRecovery) will execute the failed schedule again.
	recovery *recovery
	// recoveries counts the re-executions 리커버리 made.
	recoveries int
}

// recovery is a failed schedule's pending re-executions under FaultRecovery.
type recovery struct {
	every time.Duration
	left  int
	next  int64
}

// Schedule statuses (ScheduleResultAnnotation.schedule_status).
const (
	scheduleScheduled = "scheduled"
	scheduleExecuted  = "executed"
	scheduleRevoked   = "revoked"
)

// ---- identifiers ----

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

const base32Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func randomBase32(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(int64(len(base32Alphabet))))
		b.WriteByte(base32Alphabet[d.Int64()])
	}
	return b.String()
}

// newImpUIDLocked returns a fresh imp_uid, unique across all merchants: "imp_" + 12 digits,
// the shape PortOne uses.
func (e *Emulator) newImpUIDLocked() string {
	for {
		id := "imp_" + randomDigits(12)
		if !e.impUIDs[id] {
			e.impUIDs[id] = true
			return id
		}
	}
}

// receiptURL is a plausible receipt link that can never resolve (.invalid is reserved).
func receiptURL(impUID string) string {
	return "https://portone-emulator.invalid/receipts/" + impUID
}

// ---- wire structs ----

// nullable returns nil for "", so that absent strings are JSON null as on PortOne.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// wireCustomer is CustomerAnnotation.
type wireCustomer struct {
	CustomerUID       string  `json:"customer_uid"`
	PGProvider        string  `json:"pg_provider"`
	PGID              string  `json:"pg_id"`
	Sandbox           bool    `json:"sandbox"`
	CustomerID        *string `json:"customer_id"`
	CardName          *string `json:"card_name"`
	CardCode          *string `json:"card_code"`
	CardIssuerCode    *string `json:"card_issuer_code"`
	CardIssuerName    *string `json:"card_issuer_name"`
	CardPublisherCode *string `json:"card_publisher_code"`
	CardPublisherName *string `json:"card_publisher_name"`
	CardNumber        *string `json:"card_number"`
	CardType          *int    `json:"card_type"`
	CustomerName      *string `json:"customer_name"`
	CustomerTel       *string `json:"customer_tel"`
	CustomerEmail     *string `json:"customer_email"`
	CustomerAddr      *string `json:"customer_addr"`
	CustomerPostcode  *string `json:"customer_postcode"`
	Inserted          int64   `json:"inserted"`
	Updated           int64   `json:"updated"`
}

func (c *customer) wire(m *merchant) wireCustomer {
	return wireCustomer{
		CustomerUID:      c.uid,
		PGProvider:       c.pgProvider,
		PGID:             c.pgID,
		Sandbox:          m.sandbox,
		CustomerID:       nullable(c.customerID),
		CardName:         nullable(c.cardName),
		CardCode:         nullable(c.cardCode),
		CardNumber:       nullable(c.cardNumber),
		CardType:         c.cardType,
		CustomerName:     nullable(c.name),
		CustomerTel:      nullable(c.tel),
		CustomerEmail:    nullable(c.email),
		CustomerAddr:     nullable(c.addr),
		CustomerPostcode: nullable(c.postcode),
		Inserted:         c.inserted,
		Updated:          c.updated,
	}
}

// wirePayment is PaymentAnnotation.
type wirePayment struct {
	ImpUID            string         `json:"imp_uid"`
	MerchantUID       string         `json:"merchant_uid"`
	PayMethod         *string        `json:"pay_method"`
	Channel           *string        `json:"channel"`
	PGProvider        *string        `json:"pg_provider"`
	EmbPGProvider     *string        `json:"emb_pg_provider"`
	PGTID             *string        `json:"pg_tid"`
	PGID              *string        `json:"pg_id"`
	Sandbox           bool           `json:"sandbox"`
	Escrow            bool           `json:"escrow"`
	ApplyNum          *string        `json:"apply_num"`
	BankCode          *string        `json:"bank_code"`
	BankName          *string        `json:"bank_name"`
	CardCode          *string        `json:"card_code"`
	CardName          *string        `json:"card_name"`
	CardIssuerCode    *string        `json:"card_issuer_code"`
	CardIssuerName    *string        `json:"card_issuer_name"`
	CardPublisherCode *string        `json:"card_publisher_code"`
	CardPublisherName *string        `json:"card_publisher_name"`
	CardQuota         int            `json:"card_quota"`
	CardNumber        *string        `json:"card_number"`
	CardType          *int           `json:"card_type"`
	VbankCode         *string        `json:"vbank_code"`
	VbankName         *string        `json:"vbank_name"`
	VbankNum          *string        `json:"vbank_num"`
	VbankHolder       *string        `json:"vbank_holder"`
	VbankDate         int64          `json:"vbank_date"`
	VbankIssuedAt     int64          `json:"vbank_issued_at"`
	Name              *string        `json:"name"`
	Amount            int64          `json:"amount"`
	CancelAmount      int64          `json:"cancel_amount"`
	Currency          string         `json:"currency"`
	BuyerName         *string        `json:"buyer_name"`
	BuyerEmail        *string        `json:"buyer_email"`
	BuyerTel          *string        `json:"buyer_tel"`
	BuyerAddr         *string        `json:"buyer_addr"`
	BuyerPostcode     *string        `json:"buyer_postcode"`
	CustomData        *string        `json:"custom_data"`
	UserAgent         *string        `json:"user_agent"`
	Status            string         `json:"status"`
	StartedAt         int64          `json:"started_at"`
	PaidAt            int64          `json:"paid_at"`
	FailedAt          int64          `json:"failed_at"`
	CancelledAt       int64          `json:"cancelled_at"`
	FailReason        *string        `json:"fail_reason"`
	CancelReason      *string        `json:"cancel_reason"`
	ReceiptURL        *string        `json:"receipt_url"`
	CancelHistory     []wireCancel   `json:"cancel_history"`
	CancelReceiptURLs []string       `json:"cancel_receipt_urls"`
	CashReceiptIssued bool           `json:"cash_receipt_issued"`
	CustomerUID       *string        `json:"customer_uid"`
	CustomerUIDUsage  *string        `json:"customer_uid_usage"`
	Promotion         map[string]any `json:"promotion"`
}

// wireCancel is PaymentCancelAnnotation.
type wireCancel struct {
	PGTID          string  `json:"pg_tid"`
	Amount         int64   `json:"amount"`
	CancelledAt    int64   `json:"cancelled_at"`
	Reason         string  `json:"reason"`
	CancellationID string  `json:"cancellation_id"`
	ReceiptURL     *string `json:"receipt_url"`
}

func (p *payment) wire() wirePayment {
	w := wirePayment{
		ImpUID:            p.impUID,
		MerchantUID:       p.merchantUID,
		PayMethod:         nullable(p.payMethod),
		Channel:           nullable(p.channel),
		PGProvider:        nullable(p.pgProvider),
		PGTID:             nullable(p.pgTID),
		PGID:              nullable(p.pgID),
		Sandbox:           p.m.sandbox,
		ApplyNum:          nullable(p.applyNum),
		CardCode:          nullable(p.cardCode),
		CardName:          nullable(p.cardName),
		CardNumber:        nullable(p.cardNumber),
		CardType:          p.cardType,
		Name:              nullable(p.name),
		Amount:            p.amount,
		CancelAmount:      p.cancelAmount,
		Currency:          p.currency,
		BuyerName:         nullable(p.buyer.name),
		BuyerEmail:        nullable(p.buyer.email),
		BuyerTel:          nullable(p.buyer.tel),
		BuyerAddr:         nullable(p.buyer.addr),
		BuyerPostcode:     nullable(p.buyer.postcode),
		CustomData:        p.customData,
		Status:            p.status,
		StartedAt:         p.startedAt,
		PaidAt:            p.paidAt,
		FailedAt:          p.failedAt,
		CancelledAt:       p.cancelledAt,
		FailReason:        nullable(p.failReason),
		CancelReason:      nullable(p.cancelReason),
		ReceiptURL:        nullable(p.receiptURL),
		CancelHistory:     []wireCancel{},
		CancelReceiptURLs: []string{},
		CustomerUID:       nullable(p.customerUID),
		CustomerUIDUsage:  nullable(p.usage),
	}
	for _, c := range p.cancels {
		w.CancelHistory = append(w.CancelHistory, wireCancel{
			PGTID: c.pgTID, Amount: c.amount, CancelledAt: c.cancelledAt, Reason: c.reason,
			CancellationID: c.cancellationID, ReceiptURL: nullable(c.receiptURL),
		})
		if c.receiptURL != "" {
			w.CancelReceiptURLs = append(w.CancelReceiptURLs, c.receiptURL)
		}
	}
	return w
}

// wireSchedule is ScheduleResultAnnotation.
type wireSchedule struct {
	CustomerUID    string  `json:"customer_uid"`
	MerchantUID    string  `json:"merchant_uid"`
	ImpUID         *string `json:"imp_uid"`
	PGProvider     *string `json:"pg_provider"`
	PGID           *string `json:"pg_id"`
	CustomerID     *string `json:"customer_id"`
	ScheduleAt     int64   `json:"schedule_at"`
	ExecutedAt     int64   `json:"executed_at"`
	RevokedAt      int64   `json:"revoked_at"`
	Amount         int64   `json:"amount"`
	Currency       string  `json:"currency"`
	Name           *string `json:"name"`
	BuyerName      *string `json:"buyer_name"`
	BuyerEmail     *string `json:"buyer_email"`
	BuyerTel       *string `json:"buyer_tel"`
	BuyerAddr      *string `json:"buyer_addr"`
	BuyerPostcode  *string `json:"buyer_postcode"`
	CustomData     *string `json:"custom_data"`
	ScheduleStatus string  `json:"schedule_status"`
	PaymentStatus  *string `json:"payment_status"`
	FailReason     *string `json:"fail_reason"`
	PromotionID    *string `json:"promotion_id"`
}

func (s *schedule) wire() wireSchedule {
	w := wireSchedule{
		CustomerUID:    s.customerUID,
		MerchantUID:    s.merchantUID,
		PGProvider:     nullable(s.pgProvider),
		PGID:           nullable(s.pgID),
		CustomerID:     nullable(s.customerID),
		ScheduleAt:     s.scheduleAt,
		ExecutedAt:     s.executedAt,
		RevokedAt:      s.revokedAt,
		Amount:         s.amount,
		Currency:       s.currency,
		Name:           nullable(s.name),
		BuyerName:      nullable(s.buyer.name),
		BuyerEmail:     nullable(s.buyer.email),
		BuyerTel:       nullable(s.buyer.tel),
		BuyerAddr:      nullable(s.buyer.addr),
		BuyerPostcode:  nullable(s.buyer.postcode),
		CustomData:     s.customData,
		ScheduleStatus: s.status,
	}
	if p := s.payment; p != nil {
		w.ImpUID = nullable(p.impUID)
		// Derived from the payment, so a refund of an executed schedule shows "cancelled",
		// as PortOne documents.
		w.PaymentStatus = nullable(p.status)
		w.FailReason = nullable(p.failReason)
	}
	return w
}

// page is PortOne's paged list: previous/next are page numbers, 0 when there is none.
type page[T any] struct {
	Total    int `json:"total"`
	Previous int `json:"previous"`
	Next     int `json:"next"`
	List     []T `json:"list"`
}

// paginate cuts one page (1-based) of at most limit items.
func paginate[T any](items []T, pageNo, limit int) page[T] {
	total := len(items)
	start := (pageNo - 1) * limit
	out := page[T]{Total: total, List: []T{}}
	if start < total {
		end := min(start+limit, total)
		out.List = append(out.List, items[start:end]...)
	}
	if pageNo > 1 {
		out.Previous = pageNo - 1
	}
	if pageNo*limit < total {
		out.Next = pageNo + 1
	}
	return out
}

// kstDate formats t's calendar date in Korea as yyyyMMdd.
func kstDate(t time.Time) string { return t.In(kst).Format("20060102") }

// maskTel and maskEmail keep logs useful without leaking a buyer's contact details.
func maskTel(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

func maskEmail(s string) string {
	local, domain, found := strings.Cut(s, "@")
	if !found || local == "" {
		return maskTel(s)
	}
	return fmt.Sprintf("%c***@%s", local[0], domain)
}
