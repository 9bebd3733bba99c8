package portonetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default merchant credentials. A zero Options configures exactly one merchant with these,
// so most tests never need to think about merchants.
const (
	// DefaultKey is the imp_key of the default merchant.
	DefaultKey = "imp_test_key"
	// DefaultSecret is the imp_secret of the default merchant.
	DefaultSecret = "imp_test_secret"
)

// Webhook body formats. PortOne lets a merchant choose one of the two in its console.
const (
	// WebhookJSON sends webhooks as application/json.
	WebhookJSON = "json"
	// WebhookForm sends webhooks as application/x-www-form-urlencoded.
	WebhookForm = "form"
)

// Merchant is one PortOne merchant account, identified by its REST API key pair. State
// (tokens, billing keys, payments, schedules) is never shared between merchants, as on PortOne.
type Merchant struct {
	// Key is the imp_key (REST API key).
	Key string `json:"key"`
	// Secret is the imp_secret (REST API secret).
	Secret string `json:"-"`
	// Sandbox marks the merchant's channel as a test channel: its billing keys and payments
	// carry sandbox=true, and payment lookups hide them unless include_sandbox=true, which is
	// what PortOne's documentation implies for test-channel payments.
	Sandbox bool `json:"sandbox"`
	// IMPCode is the merchant's 가맹점 식별코드, the public id a web page passes to IMP.init
	// of the browser SDK stand-in (browser.go); it is how the NaverPay registration window
	// knows which merchant gets the billing key. Optional: the first merchant defaults to
	// DefaultIMPCode, and another merchant without one cannot register keys from a browser.
	IMPCode string `json:"imp_code,omitempty"`
	// V2Secret is the store's V2 API secret (Authorization: PortOne <secret>). Optional: the
	// first merchant defaults to DefaultV2Secret; another merchant without one has no V2 store.
	V2Secret string `json:"-"`
	// StoreID is the V2 store id. Optional: the first merchant defaults to DefaultStoreID,
	// another with a V2Secret to one derived from its key.
	StoreID string `json:"store_id,omitempty"`
	// V2ChannelKey is the key of the store's NaverPay V2 channel. Optional: the first
	// merchant defaults to DefaultV2ChannelKey, another to one derived from its key.
	V2ChannelKey string `json:"v2_channel_key,omitempty"`
}

// Options configures an Emulator. The zero value is a working emulator with one merchant
// (DefaultKey/DefaultSecret) on the real clock.
type Options struct {
	// Clock is the emulator's time source. Optional: defaults to the real clock. Pass a
	// *ManualClock to control token expiry and schedule execution from the test.
	Clock Clock

	// Merchants lists the merchant accounts. Optional: defaults to one merchant with
	// DefaultKey and DefaultSecret.
	Merchants []Merchant

	// CustomerNotFoundStatus is the HTTP status of GET/DELETE /subscribe/customers/{uid} for
	// an unknown customer_uid: 200 (with code 1, what live-API test suites observed) or 404
	// (what PortOne's OpenAPI documents). Optional: defaults to 200.
	CustomerNotFoundStatus int

	// WebhookFormat is WebhookJSON or WebhookForm. Optional: defaults to WebhookJSON.
	WebhookFormat string

	// DefaultNoticeURL stands for the webhook URL set in PortOne's console; it is used when a
	// request carries no notice_url. Optional: when empty such webhooks are not sent.
	DefaultNoticeURL string

	// WebhookRetries turns on PortOne's optional retry policy: up to 5 more attempts at
	// 1-minute intervals (on the emulator's clock) after a network error or a 5xx answer.
	// Optional: defaults to a single attempt, PortOne's default.
	WebhookRetries bool

	// HTTPClient delivers webhooks. Optional: defaults to a client with PortOne's 10-second
	// timeout that does not follow redirects (a 3xx is a failed delivery, so a test sees a
	// redirecting notification URL instead of a webhook quietly turned into a GET). A 10-second
	// per-attempt timeout is applied either way.
	HTTPClient *http.Client

	// Logger receives structured logs. Optional: defaults to discarding them. The emulator
	// never logs secrets or tokens and masks buyer phone numbers and e-mail addresses.
	Logger *slog.Logger

	// SchedulerInterval is how often due schedules and webhook retries are checked on a clock
	// that is not a *ManualClock. Optional: defaults to 200ms. With a *ManualClock nothing
	// polls: due work runs when the clock is moved, or when RunDue is called.
	SchedulerInterval time.Duration

	// V2 configures the V2 API (v2_emulator.go). Optional.
	V2 V2Options
}

// Validate reports whether the options are usable. New panics on options that fail it, so a
// program that takes options from flags should call Validate first.
func (o Options) Validate() error {
	switch o.CustomerNotFoundStatus {
	case 0, http.StatusOK, http.StatusNotFound:
	default:
		return fmt.Errorf("portonetest: CustomerNotFoundStatus must be 200 or 404, got %d", o.CustomerNotFoundStatus)
	}
	switch o.WebhookFormat {
	case "", WebhookJSON, WebhookForm:
	default:
		return fmt.Errorf("portonetest: WebhookFormat must be %q or %q, got %q", WebhookJSON, WebhookForm, o.WebhookFormat)
	}
	if o.SchedulerInterval < 0 {
		return errors.New("portonetest: SchedulerInterval must not be negative")
	}
	if o.DefaultNoticeURL != "" {
		if u, err := url.Parse(o.DefaultNoticeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("portonetest: DefaultNoticeURL %q is not an absolute http(s) URL", o.DefaultNoticeURL)
		}
	}
	if err := validateIMPCodes(o.Merchants); err != nil {
		return err
	}
	if err := o.V2.validate(); err != nil {
		return err
	}
	v2seen := map[string]bool{}
	for _, m := range withV2Defaults(o.Merchants) {
		for _, v := range []string{"secret " + m.V2Secret, "store " + m.StoreID, "channel " + m.V2ChannelKey} {
			if m.V2Secret == "" {
				break
			}
			if v2seen[v] {
				return fmt.Errorf("portonetest: two merchants have the same V2 %s", strings.Fields(v)[0])
			}
			v2seen[v] = true
		}
	}
	seen := map[string]bool{}
	for _, m := range o.Merchants {
		if m.Key == "" || m.Secret == "" {
			return errors.New("portonetest: every merchant needs a Key and a Secret")
		}
		if seen[m.Key] {
			return fmt.Errorf("portonetest: merchant key %q configured twice", m.Key)
		}
		seen[m.Key] = true
	}
	return nil
}

// Emulator is a stateful PortOne V1 emulator. Create it with New; it is an http.Handler.
type Emulator struct {
	opts       Options
	clock      Clock
	log        *slog.Logger
	httpClient *http.Client
	routes     []route        // PortOne's routes (portoneRoutes)
	mux        *http.ServeMux // every route: PortOne's, the control API's, the browser stand-in's (http.go)

	ctx         context.Context // cancelled by Close; bounds background work
	cancel      context.CancelFunc
	wg          sync.WaitGroup // background goroutines: scheduler, webhook deliveries
	unsubscribe func()
	closeOnce   sync.Once

	mu            sync.Mutex
	closed        bool
	merchants     map[string]*merchant
	merchantOrder []string
	tokens        map[string]*token // access token -> token
	payments      []*payment        // every payment of every merchant, in creation order
	impUIDs       map[string]bool
	seq           int64 // creation order of payments and schedules
	faults        []*activeFault
	faultSeq      int
	firings       []FaultFiring
	deliveries    []WebhookDelivery
	retries       []*webhookJob
	webhookSignal chan struct{} // closed and replaced whenever a delivery is recorded
	warnings      []ReviewWarning
	browser       browserState // the NaverPay window stand-in's sessions (browser.go)

	v2            http.Handler // the V2 API's handler (v2_http.go)
	v2Routes      []v2Route
	v2AsyncCancel bool
	v2AsyncDelay  time.Duration
	// v2AsyncFail makes the asynchronous cancels asked while it is set end FAILED when due
	// instead of SUCCEEDED (SetV2AsyncCancelFail).
	v2AsyncFail bool
	v2Secrets   [][]byte // decoded webhook signing secrets
}

var _ http.Handler = (*Emulator)(nil)

// New returns an emulator configured by opts. With a real clock it starts a goroutine that
// runs due schedules every SchedulerInterval; call Close to stop it. New panics if
// opts.Validate fails, because a misconfigured emulator would make every test meaningless.
func New(opts Options) *Emulator {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.CustomerNotFoundStatus == 0 {
		opts.CustomerNotFoundStatus = http.StatusOK
	}
	if opts.WebhookFormat == "" {
		opts.WebhookFormat = WebhookJSON
	}
	if opts.SchedulerInterval == 0 {
		opts.SchedulerInterval = 200 * time.Millisecond
	}
	if len(opts.Merchants) == 0 {
		opts.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret}}
	}
	opts.Merchants = withV2Defaults(opts.Merchants)
	e := &Emulator{
		opts:          opts,
		clock:         opts.Clock,
		log:           opts.Logger,
		httpClient:    opts.HTTPClient,
		webhookSignal: make(chan struct{}),
	}
	if e.clock == nil {
		e.clock = realClock{}
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.httpClient == nil {
		e.httpClient = &http.Client{Timeout: webhookTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.routes = e.portoneRoutes()
	e.mux = e.newMux()
	e.initV2()
	e.resetLocked()

	if mc, ok := e.clock.(*ManualClock); ok {
		e.unsubscribe = mc.subscribe(func() { e.RunDue() })
	} else {
		e.wg.Add(1)
		go e.pollDue(opts.SchedulerInterval)
	}
	return e
}

// NewServer starts an emulator behind an httptest.Server and closes both when the test ends.
func NewServer(t testing.TB, opts Options) (*Emulator, *httptest.Server) {
	t.Helper()
	e := New(opts)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		// Close the emulator first: it cancels handlers still sleeping on an injected latency,
		// so that the server's Close does not wait for them.
		e.Close()
		srv.Close()
	})
	return e, srv
}

// Close stops the scheduler, cancels webhook deliveries in flight and waits for background
// goroutines. The handler keeps answering requests after Close, but nothing runs in the
// background any more. Close is idempotent.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		if e.unsubscribe != nil {
			e.unsubscribe()
		}
		e.cancel()
		e.wg.Wait()
	})
}

func (e *Emulator) pollDue(interval time.Duration) {
	defer e.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.RunDue()
		}
	}
}

// Reset forgets every billing key, payment, schedule, token, fault, webhook delivery and
// warning, keeping the configured merchants and options. It is the Go twin of
// POST /__emulator/reset, for test suites that share one emulator.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

func (e *Emulator) resetLocked() {
	e.merchants = map[string]*merchant{}
	e.merchantOrder = nil
	for _, m := range e.opts.Merchants {
		e.merchants[m.Key] = newMerchant(m)
		e.merchantOrder = append(e.merchantOrder, m.Key)
	}
	e.tokens = map[string]*token{}
	e.payments = nil
	e.impUIDs = map[string]bool{}
	e.faults = nil
	e.firings = nil
	e.deliveries = nil
	e.retries = nil
	e.warnings = nil
	e.browser.resetLocked()
	close(e.webhookSignal)
	e.webhookSignal = make(chan struct{})
}

// merchantFor returns the merchant with key, or the first configured merchant when key is
// empty.
func (e *Emulator) merchantFor(key string) (*merchant, error) {
	if key == "" {
		key = e.merchantOrder[0]
	}
	m, ok := e.merchants[key]
	if !ok {
		return nil, fmt.Errorf("portonetest: unknown merchant key %q", key)
	}
	return m, nil
}

func (e *Emulator) nextSeq() int64 {
	e.seq++
	return e.seq
}
