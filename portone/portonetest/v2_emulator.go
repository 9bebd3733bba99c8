package portonetest

// PortOne V2 beside V1 in the same emulator: one clock, one ledger, one fault list, one
// persistence and one control API. V2 is served by a second handler (V2Handler) at the root of
// its own base URL, because PortOne's official server SDKs resolve every path against the
// origin and V2's GET /payments/{paymentId} would collide with V1's GET /payments/{imp_uid}.
// This file holds the V2 options, the V2 state and the Go API; v2_http.go the plumbing, and
// one v2_*.go file per resource.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// Defaults of the first merchant's V2 store. A zero Options gives the first merchant these, so
// a V2 test needs no configuration: point the client at NewV2Server's URL with DefaultV2Secret.
const (
	// DefaultV2Secret is the first merchant's V2 API secret (Authorization: PortOne <secret>).
	DefaultV2Secret = "portone_test_v2_api_secret"
	// DefaultStoreID is the first merchant's V2 store id.
	DefaultStoreID = "store-00000000-0000-0000-0000-000000000000"
	// DefaultV2ChannelKey is the key of the first merchant's NaverPay V2 channel.
	DefaultV2ChannelKey = "channel-key-00000000-0000-0000-0000-000000000000"
	// DefaultV2WebhookSecret signs V2 webhooks when V2Options.WebhookSecrets is empty (Standard
	// Webhooks format: whsec_ and base64 of 32 bytes).
	DefaultV2WebhookSecret = "whsec_cGF5Y3ljbGUtZW11bGF0b3ItdjItd2ViaG9vay1rZXk="
	// DefaultV2MaxAttempts is the per-paymentId attempt cap behind MAX_TRANSACTION_COUNT_REACHED.
	// PortOne documents the error but not its value (v2-api.md §4 and §5: [unconfirmed]); 10
	// is the emulator's choice, configurable with V2Options.MaxAttempts.
	DefaultV2MaxAttempts = 10
	// DefaultV2AsyncCancelDelay is how long an asynchronous cancel stays REQUESTED on the
	// emulator's clock before it succeeds.
	DefaultV2AsyncCancelDelay = time.Minute
	// V2NaverPayMinAmount is NaverPay's minimum charge on V2 (V2's NaverPay guide: 100 KRW;
	// V1 documents 10).
	V2NaverPayMinAmount = 100
)

// Generations, as PortOne's PortOneVersion enum spells them: a LedgerEntry's Version.
const (
	// VersionV1 marks a payment made through the V1 API.
	VersionV1 = "V1"
	// VersionV2 marks a payment made through the V2 API.
	VersionV2 = "V2"
)

// V2Options configures the V2 side of an Emulator. The zero value works.
type V2Options struct {
	// WebhookURL stands for the V2 webhook URL set in PortOne's console (webhook version
	// 2024-04-25). A request's noticeUrls take precedence. Optional: when empty and a request
	// names none, no webhook is sent.
	WebhookURL string
	// WebhookSecrets sign V2 webhooks (Standard Webhooks, "whsec_" and base64); PortOne allows
	// two per environment for rotation and every delivery carries one signature per secret.
	// Optional: defaults to DefaultV2WebhookSecret; at most two.
	WebhookSecrets []string
	// AsyncCancel makes every cancel asynchronous, as some PGs are: the answer is REQUESTED
	// (and Transaction.CancelPending is sent), and the cancellation succeeds AsyncCancelDelay
	// later on the emulator's clock. SetV2AsyncCancel changes it at run time.
	AsyncCancel bool
	// AsyncCancelDelay defaults to DefaultV2AsyncCancelDelay.
	AsyncCancelDelay time.Duration
	// MaxAttempts is the number of attempts one paymentId may have before
	// MAX_TRANSACTION_COUNT_REACHED. Optional: defaults to DefaultV2MaxAttempts.
	MaxAttempts int
}

func (o V2Options) validate() error {
	if len(o.WebhookSecrets) > 2 {
		return fmt.Errorf("portonetest: V2 accepts at most two webhook secrets, got %d", len(o.WebhookSecrets))
	}
	for i, s := range o.WebhookSecrets {
		if _, err := decodeWebhookSecret(s); err != nil {
			return fmt.Errorf("portonetest: V2 webhook secret %d: %w", i+1, err)
		}
	}
	if o.AsyncCancelDelay < 0 || o.MaxAttempts < 0 {
		return errors.New("portonetest: V2 AsyncCancelDelay and MaxAttempts must not be negative")
	}
	if o.WebhookURL != "" && !absoluteHTTPURL(o.WebhookURL) {
		return fmt.Errorf("portonetest: V2 WebhookURL %q is not an absolute http(s) URL", o.WebhookURL)
	}
	return nil
}

// V2Customer is a V2 customer as the billing key and its payments carry it.
type V2Customer struct {
	// ID is the merchant's customer id.
	ID string `json:"id,omitempty"`
	// Name is the customer's full name.
	Name string `json:"name,omitempty"`
	// Email is the customer's e-mail address.
	Email string `json:"email,omitempty"`
	// PhoneNumber is the customer's phone number.
	PhoneNumber string `json:"phone_number,omitempty"`
}

// V2BillingKeySeed describes a NaverPay billing key issued as NaverPay's window issues it on
// V2 (PortOne.requestIssueBillingKey with billingKeyMethod EASY_PAY): it is what the browser
// stand-in calls, and what tests call directly.
type V2BillingKeySeed struct {
	// Merchant is the V1 key of the merchant whose store gets the key; empty for the first.
	Merchant string `json:"merchant,omitempty"`
	// IssueID is the merchant's id of this issuance. Required: NaverPay needs it, and one
	// Naver account can never use the same issueId twice.
	IssueID string `json:"issue_id"`
	// IssueName is the issuance's name shown to the customer. Required by NaverPay.
	IssueName string `json:"issue_name"`
	// NaverAccount identifies the Naver user who agreed in the window. Optional: defaults to
	// Customer.PhoneNumber, else to one shared test account.
	NaverAccount string `json:"naver_account,omitempty"`
	// Customer is stored on the key. Optional.
	Customer V2Customer `json:"customer"`
	// CustomData is stored on the key. Optional.
	CustomData string `json:"custom_data,omitempty"`
	// ChannelKey must be the store's channel key when given. Optional.
	ChannelKey string `json:"channel_key,omitempty"`
	// NoticeURLs receive the BillingKey.Issued webhook instead of V2Options.WebhookURL.
	NoticeURLs []string `json:"notice_urls,omitempty"`
	// BillingKey fixes the key's value, for seeded keys a demo or a test names in advance.
	// Optional: PortOne's shape, "billing-key-" and a UUID, is generated. It must be unused.
	BillingKey string `json:"billing_key,omitempty"`
}

// V2BillingKey is a V2 billing key as the emulator holds it.
type V2BillingKey struct {
	// BillingKey is PortOne's key ("billing-key-" and a UUID).
	BillingKey string `json:"billing_key"`
	// Merchant is the V1 key of the owning merchant; StoreID its V2 store.
	Merchant string `json:"merchant"`
	StoreID  string `json:"store_id"`
	// Status is ISSUED or DELETED.
	Status string `json:"status"`
	// IssueID and IssueName are as issued.
	IssueID   string `json:"issue_id"`
	IssueName string `json:"issue_name"`
	// ChannelKey is the NaverPay channel the key belongs to.
	ChannelKey string `json:"channel_key"`
	// Customer is the customer stored on the key.
	Customer V2Customer `json:"customer"`
	// IssuedAt and DeletedAt are on the emulator's clock; DeletedAt is zero while issued.
	IssuedAt  time.Time `json:"issued_at"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// DeleteReason and DeleteRequester are what the deletion was asked with.
	DeleteReason    string `json:"delete_reason,omitempty"`
	DeleteRequester string `json:"delete_requester,omitempty"`
}

// Billing-key statuses (BillingKeyInfo discriminator).
const (
	v2KeyIssued  = "ISSUED"
	v2KeyDeleted = "DELETED"
)

// v2Key is one stored V2 billing key.
type v2Key struct {
	seq                    int64
	m                      *merchant
	billingKey             string
	issueID, issueName     string
	naverAccount           string
	customer               V2Customer
	customData             string
	channelKey             string
	issuedAt, deletedAt    time.Time
	deleteReason, deleteBy string
	// invalidReason is set when a hard decline made the key unusable (the user ended the
	// recurring registration in the Naver app); every later charge fails with it.
	invalidReason string
}

func (k *v2Key) public() V2BillingKey {
	status := v2KeyIssued
	if !k.deletedAt.IsZero() {
		status = v2KeyDeleted
	}
	return V2BillingKey{
		BillingKey: k.billingKey, Merchant: k.m.key, StoreID: k.m.storeID, Status: status,
		IssueID: k.issueID, IssueName: k.issueName, ChannelKey: k.channelKey, Customer: k.customer,
		IssuedAt: k.issuedAt, DeletedAt: k.deletedAt, DeleteReason: k.deleteReason, DeleteRequester: k.deleteBy,
	}
}

// v2State is a merchant's V2 store.
type v2State struct {
	keys     map[string]*v2Key
	keyOrder []*v2Key
	// issueIDs holds naverAccount + "\x00" + issueID of every issuance, deleted keys included:
	// NaverPay never lets one Naver account reuse an issueId.
	issueIDs map[string]bool
	// attempts holds every attempt (transaction) of each paymentId, oldest first.
	attempts   map[string][]*payment
	paymentIDs []string // first-attempt order
	byTx       map[string]*payment
	schedules  []*v2Schedule
	scheduleID map[string]*v2Schedule
}

func newV2State() v2State {
	return v2State{
		keys: map[string]*v2Key{}, issueIDs: map[string]bool{}, attempts: map[string][]*payment{},
		byTx: map[string]*payment{}, scheduleID: map[string]*v2Schedule{},
	}
}

// v2Attempt is what a V2 attempt adds to the shared payment record. In the record itself
// impUID is the transactionId, merchantUID the paymentId, customerUID the billingKey and name
// the orderName, so the shared ledger, PaidCount and the faults see V2 payments as they see V1.
type v2Attempt struct {
	scheduleID      string
	vat             int64
	customer        V2Customer
	noticeURLs      []string
	pgCode          string
	pgMessage       string
	ipAddress       string
	requestedAt     time.Time
	statusChangedAt time.Time
	cancellations   []*v2Cancellation
	hooks           []*v2Hook // the webhooks sent about this attempt (not kept by Snapshot)
}

// v2Cancellation is one cancel of a V2 payment.
type v2Cancellation struct {
	id          string
	pgID        string
	status      string // REQUESTED, SUCCEEDED, FAILED
	total       int64
	taxFree     int64
	vat         int64
	reason      string
	requester   string
	requestedAt time.Time
	cancelledAt time.Time
	dueAt       time.Time // when a REQUESTED one succeeds
	noticeURLs  []string
	skipWebhook bool
}

// Cancellation statuses.
const (
	v2CancelRequested = "REQUESTED"
	v2CancelSucceeded = "SUCCEEDED"
	v2CancelFailed    = "FAILED"
)

// v2Schedule is one V2 payment schedule.
type v2Schedule struct {
	seq         int64
	m           *merchant
	id          string
	paymentID   string
	billingKey  string
	orderName   string
	amount      int64
	taxFree     int64
	vat         int64
	currency    string
	customer    V2Customer
	customData  string
	noticeURLs  []string
	naverUseCfm string
	timeToPay   time.Time
	createdAt   time.Time
	startedAt   time.Time
	completedAt time.Time
	revokedAt   time.Time
	status      string
	payment     *payment
}

// Schedule statuses (PaymentSchedule discriminator).
const (
	v2SchedScheduled = "SCHEDULED"
	v2SchedSucceeded = "SUCCEEDED"
	v2SchedFailed    = "FAILED"
	v2SchedRevoked   = "REVOKED"
)

// V2ScheduleRecord is one V2 schedule as the Go API and the control API report it.
type V2ScheduleRecord struct {
	ID          string    `json:"id"`
	Merchant    string    `json:"merchant"`
	PaymentID   string    `json:"payment_id"`
	BillingKey  string    `json:"billing_key"`
	Amount      int64     `json:"amount"`
	Status      string    `json:"status"`
	TimeToPay   time.Time `json:"time_to_pay"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	// TransactionID is the attempt the execution made; empty before it ran.
	TransactionID string `json:"transaction_id,omitempty"`
	// NoticeURLs are the schedule's noticeUrls: where its execution's webhooks go (empty: the
	// console's V2 webhook URL, V2Options.WebhookURL).
	NoticeURLs []string `json:"notice_urls,omitempty"`
}

// V2Handler serves PortOne's V2 REST API at its root (GET /payments/{paymentId}, ...), plus
// the control API under /__emulator/ and the V2 browser stand-in, so a V2 client or SDK can
// be pointed at the origin of a server running it.
func (e *Emulator) V2Handler() http.Handler { return e.v2 }

// NewV2Server starts an emulator with its V2 API at the root of an httptest.Server and closes
// both when the test ends. The V1 API stays reachable through the emulator itself (an
// http.Handler) for tests that need both generations: httptest.NewServer(emu).
func NewV2Server(t testing.TB, opts Options) (*Emulator, *httptest.Server) {
	t.Helper()
	e := New(opts)
	srv := httptest.NewServer(e.V2Handler())
	t.Cleanup(func() {
		e.Close()
		srv.Close()
	})
	return e, srv
}

// IssueBillingKeyV2 issues a NaverPay billing key as NaverPay's window does after the customer
// agreed, and sends BillingKey.Issued. It refuses a seed without IssueID or IssueName, and an
// IssueID the same Naver account already used (NaverPay: "하나의 네이버 계정에 대해서 같은
// issueId를 재사용할 수 없습니다"), even for a deleted key.
func (e *Emulator) IssueBillingKeyV2(seed V2BillingKeySeed) (V2BillingKey, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, err := e.issueV2KeyLocked(seed)
	if err != nil {
		return V2BillingKey{}, err
	}
	return k.public(), nil
}

// Errors of IssueBillingKeyV2, for callers (the browser stand-in) that map them to codes.
var (
	// ErrV2IssueIDReused: the Naver account already used this issueId.
	ErrV2IssueIDReused = errors.New("portonetest: this Naver account already used the issueId (NaverPay never accepts one twice)")
	// ErrV2NoStore: the merchant has no V2 store.
	ErrV2NoStore = errors.New("portonetest: the merchant has no V2 store (Merchant.V2Secret)")
)

func (e *Emulator) issueV2KeyLocked(seed V2BillingKeySeed) (*v2Key, error) {
	m, err := e.merchantFor(seed.Merchant)
	if err != nil {
		return nil, err
	}
	if m.v2Secret == "" {
		return nil, ErrV2NoStore
	}
	switch {
	case strings.TrimSpace(seed.IssueID) == "":
		return nil, errors.New("portonetest: issueId is required for NaverPay billing keys")
	case strings.TrimSpace(seed.IssueName) == "":
		return nil, errors.New("portonetest: issueName is required for NaverPay billing keys")
	case seed.ChannelKey != "" && seed.ChannelKey != m.channelKey:
		return nil, fmt.Errorf("portonetest: channelKey %q is not the store's NaverPay channel", seed.ChannelKey)
	}
	for _, u := range seed.NoticeURLs {
		if !absoluteHTTPURL(u) {
			return nil, fmt.Errorf("portonetest: noticeUrl %q is not an absolute http(s) URL", u)
		}
	}
	account := seed.NaverAccount
	if account == "" {
		account = seed.Customer.PhoneNumber
	}
	if account == "" {
		account = "naver-test-account"
	}
	used := account + "\x00" + seed.IssueID
	if m.v2.issueIDs[used] {
		return nil, ErrV2IssueIDReused
	}
	key := seed.BillingKey
	if key == "" {
		key = "billing-key-" + newUUID()
	}
	if len(key) > 200 || strings.ContainsAny(key, "/?#% ") {
		return nil, fmt.Errorf("portonetest: billing key %q must be at most 200 characters without '/', '?', '#', '%%' or spaces", key)
	}
	for _, other := range e.merchantOrder {
		if e.merchants[other].v2.keys[key] != nil {
			return nil, fmt.Errorf("portonetest: billing key %q already exists", key)
		}
	}
	now := e.clock.Now()
	k := &v2Key{
		seq: e.nextSeq(), m: m, billingKey: key, issueID: seed.IssueID, issueName: seed.IssueName,
		naverAccount: account, customer: seed.Customer, customData: seed.CustomData, channelKey: m.channelKey, issuedAt: now,
	}
	m.v2.issueIDs[used] = true
	m.v2.keys[k.billingKey] = k
	m.v2.keyOrder = append(m.v2.keyOrder, k)
	e.enqueueV2WebhookLocked(m, seed.NoticeURLs, v2Event{Type: "BillingKey.Issued", BillingKey: k.billingKey}, subject{merchant: m.key, customerUID: k.billingKey}, OpV2Issue)
	e.log.Info("v2 billing key issued", "merchant", maskKey(m.key), "billing_key", k.billingKey)
	return k, nil
}

// BillingKeyV2 returns a V2 billing key of any merchant.
func (e *Emulator) BillingKeyV2(billingKey string) (V2BillingKey, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, key := range e.merchantOrder {
		if k := e.merchants[key].v2.keys[billingKey]; k != nil {
			return k.public(), true
		}
	}
	return V2BillingKey{}, false
}

// DeleteBillingKeyV2 deletes a V2 key as the console would (no reason needed, schedules
// kept), and sends BillingKey.Deleted.
func (e *Emulator) DeleteBillingKeyV2(billingKey string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, key := range e.merchantOrder {
		m := e.merchants[key]
		if k := m.v2.keys[billingKey]; k != nil {
			if !k.deletedAt.IsZero() {
				return fmt.Errorf("portonetest: billing key %s is already deleted", billingKey)
			}
			k.deletedAt = e.clock.Now()
			k.deleteReason = "console"
			e.enqueueV2WebhookLocked(m, nil, v2Event{Type: "BillingKey.Deleted", BillingKey: k.billingKey}, subject{merchant: m.key, customerUID: k.billingKey}, OpV2DeleteBillingKey)
			return nil
		}
	}
	return fmt.Errorf("portonetest: no V2 billing key %s", billingKey)
}

// V2Attempts returns every attempt (transaction) made under paymentID, oldest first, as
// ledger entries: ImpUID is each attempt's transactionId.
func (e *Emulator) V2Attempts(paymentID string) []LedgerEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []LedgerEntry
	for _, key := range e.merchantOrder {
		for _, p := range e.merchants[key].v2.attempts[paymentID] {
			out = append(out, p.ledgerEntry())
		}
	}
	return out
}

// V2Schedules returns every V2 schedule, creation order.
func (e *Emulator) V2Schedules() []V2ScheduleRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []*v2Schedule
	for _, key := range e.merchantOrder {
		all = append(all, e.merchants[key].v2.schedules...)
	}
	slices.SortFunc(all, func(a, b *v2Schedule) int { return int(a.seq - b.seq) })
	out := []V2ScheduleRecord{}
	for _, s := range all {
		r := V2ScheduleRecord{ID: s.id, Merchant: s.m.key, PaymentID: s.paymentID, BillingKey: s.billingKey, Amount: s.amount,
			Status: s.status, TimeToPay: s.timeToPay, CompletedAt: s.completedAt, RevokedAt: s.revokedAt, NoticeURLs: slices.Clone(s.noticeURLs)}
		if s.payment != nil {
			r.TransactionID = s.payment.impUID
		}
		out = append(out, r)
	}
	return out
}

// SetV2AsyncCancel turns asynchronous cancels on or off from now on (V2Options.AsyncCancel);
// delay 0 keeps the configured delay.
func (e *Emulator) SetV2AsyncCancel(on bool, delay time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.v2AsyncCancel = on
	if delay > 0 {
		e.v2AsyncDelay = delay
	}
}

// newUUID returns a random RFC 4122 version-4 UUID, the shape of V2's ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
