package portonetest

import (
	"context"
	"encoding/json"
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
	// timeout. A 10-second per-attempt timeout is applied either way.
	HTTPClient *http.Client

	// Logger receives structured logs. Optional: defaults to discarding them. The emulator
	// never logs secrets or tokens and masks buyer phone numbers and e-mail addresses.
	Logger *slog.Logger

	// SchedulerInterval is how often due schedules and webhook retries are checked on a clock
	// that is not a *ManualClock. Optional: defaults to 200ms. With a *ManualClock nothing
	// polls: due work runs when the clock is moved, or when RunDue is called.
	SchedulerInterval time.Duration
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
	routes     []route

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
		e.httpClient = &http.Client{Timeout: webhookTimeout}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.routes = e.portoneRoutes()
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

// ---- HTTP plumbing ----

// envelope is PortOne's response wrapper. Message is null on success.
type envelope struct {
	Code     int     `json:"code"`
	Message  *string `json:"message"`
	Response any     `json:"response"`
}

// result is what a PortOne route handler decides; ServeHTTP turns it into a response.
type result struct {
	status int // HTTP status
	code   int
	msg    string
	resp   any
	// after is a fault that acts once the handler has committed its change: drop the
	// connection (commit_then_drop) or hold the answer back (latency_after_commit).
	after *Fault
}

func ok(resp any) result { return result{status: http.StatusOK, resp: resp} }

func refuse(status, code int, msg string) result {
	return result{status: status, code: code, msg: msg}
}

// call is one authenticated PortOne request being handled.
type call struct {
	e    *Emulator
	r    *http.Request
	m    *merchant
	p    params            // body merged with query (body wins)
	q    params            // query only
	vars map[string]string // path variables
	op   FaultOp
}

type route struct {
	method  string
	pattern string
	segs    []string
	op      FaultOp
	auth    bool
	handle  func(*call) result
}

func newRoute(method, pattern string, op FaultOp, auth bool, h func(*call) result) route {
	return route{method: method, pattern: pattern, segs: splitPath(pattern), op: op, auth: auth, handle: h}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (e *Emulator) portoneRoutes() []route {
	return []route{
		newRoute(http.MethodPost, "/users/getToken", OpGetToken, false, e.handleGetToken),

		newRoute(http.MethodGet, "/subscribe/customers", OpLookup, true, e.handleGetCustomers),
		newRoute(http.MethodGet, "/subscribe/customers/{customer_uid}", OpLookup, true, e.handleGetCustomer),
		newRoute(http.MethodPost, "/subscribe/customers/{customer_uid}", OpIssue, true, e.handleIssueCustomer),
		newRoute(http.MethodDelete, "/subscribe/customers/{customer_uid}", OpDeleteCustomer, true, e.handleDeleteCustomer),
		newRoute(http.MethodGet, "/subscribe/customers/{customer_uid}/payments", OpLookup, true, e.handleCustomerPayments),
		newRoute(http.MethodGet, "/subscribe/customers/{customer_uid}/schedules", OpLookup, true, e.handleSchedulesByCustomer),

		newRoute(http.MethodPost, "/subscribe/payments/again", OpAgain, true, e.handleAgain),
		newRoute(http.MethodPost, "/subscribe/payments/schedule", OpSchedule, true, e.handleSchedule),
		newRoute(http.MethodGet, "/subscribe/payments/schedule", OpLookup, true, e.handleSchedulesByRange),
		newRoute(http.MethodPost, "/subscribe/payments/unschedule", OpUnschedule, true, e.handleUnschedule),
		newRoute(http.MethodGet, "/subscribe/payments/schedule/{merchant_uid}", OpLookup, true, e.handleGetSchedule),
		newRoute(http.MethodGet, "/subscribe/payments/schedule/customers/{customer_uid}", OpLookup, true, e.handleSchedulesByCustomer),

		newRoute(http.MethodGet, "/payments", OpLookup, true, e.handleGetPayments),
		newRoute(http.MethodGet, "/payments/{imp_uid}", OpLookup, true, e.handleGetPayment),
		newRoute(http.MethodGet, "/payments/find/{merchant_uid}", OpLookup, true, e.handleFindPayment),
		newRoute(http.MethodGet, "/payments/find/{merchant_uid}/{payment_status}", OpLookup, true, e.handleFindPayment),
		newRoute(http.MethodGet, "/payments/findAll/{merchant_uid}", OpLookup, true, e.handleFindAllPayments),
		newRoute(http.MethodGet, "/payments/findAll/{merchant_uid}/{payment_status}", OpLookup, true, e.handleFindAllPayments),
		newRoute(http.MethodPost, "/payments/cancel", OpCancel, true, e.handleCancel),
		newRoute(http.MethodGet, "/payments/status/{payment_status}", OpLookup, true, e.handlePaymentsByStatus), // status.go
	}
}

// matchRoute finds the most specific pattern that matches the path (a literal segment beats
// a variable, left to right, as in net/http.ServeMux) and then the route for the method. It
// returns the allowed methods when the path matches but the method does not.
func (e *Emulator) matchRoute(method string, segs []string) (*route, map[string]string, []string) {
	var best []string
	for i := range e.routes {
		rt := &e.routes[i]
		if _, ok := matchSegs(rt.segs, segs); !ok {
			continue
		}
		if best == nil || moreSpecific(rt.segs, best) {
			best = rt.segs
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	var allowed []string
	for i := range e.routes {
		rt := &e.routes[i]
		if strings.Join(rt.segs, "/") != strings.Join(best, "/") {
			continue
		}
		if rt.method == method {
			vars, _ := matchSegs(rt.segs, segs)
			return rt, vars, nil
		}
		allowed = append(allowed, rt.method)
	}
	return nil, nil, allowed
}

func matchSegs(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			vars[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

func moreSpecific(a, b []string) bool {
	for i := range a {
		av, bv := strings.HasPrefix(a[i], "{"), strings.HasPrefix(b[i], "{")
		if av != bv {
			return !av
		}
	}
	return false
}

// pathSegments splits the escaped path and unescapes each segment, so that a merchant_uid
// containing an encoded "/" stays one segment.
func pathSegments(r *http.Request) ([]string, error) {
	raw := splitPath(r.URL.EscapedPath())
	out := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 before the first body bytes.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (for Hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP serves PortOne's V1 REST routes and the control API under /__emulator/.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	pattern := "unmatched"
	defer func() {
		// Only the route pattern is logged: paths and queries carry customer and order ids,
		// and headers carry tokens.
		e.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", pattern),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
	}
	if p := browserRoutePattern(r.URL.Path); p != "" {
		pattern = p
		e.serveBrowser(sw, r)
		return
	}
	if r.URL.Path == "/__emulator" || strings.HasPrefix(r.URL.Path, "/__emulator/") {
		pattern = "/__emulator/"
		e.serveControl(sw, r)
		return
	}
	segs, err := pathSegments(r)
	if err != nil {
		writeEnvelope(sw, http.StatusBadRequest, 1, "요청 경로를 해석할 수 없습니다.", nil)
		return
	}
	rt, vars, allowed := e.matchRoute(r.Method, segs)
	if rt == nil {
		if len(allowed) > 0 {
			sw.Header().Set("Allow", strings.Join(allowed, ", "))
			writeEnvelope(sw, http.StatusMethodNotAllowed, -1, fmt.Sprintf("허용되지 않은 메서드입니다. (%s)", strings.Join(allowed, ", ")), nil)
			return
		}
		writeEnvelope(sw, http.StatusNotFound, -1, "존재하지 않는 API입니다. (emulator: route not found)", nil)
		return
	}
	pattern = rt.method + " " + rt.pattern
	e.serveRoute(sw, r, rt, vars)
}

func (e *Emulator) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, vars map[string]string) {
	c := &call{e: e, r: r, vars: vars, op: rt.op}
	if rt.auth {
		m, ok := e.authenticate(r)
		if !ok {
			// "Unauthorized" is observed; Guess: code -1 (not confirmed).
			writeEnvelope(w, http.StatusUnauthorized, -1, "Unauthorized", nil)
			return
		}
		c.m = m
	}
	query, err := decodeBracketForm(r.URL.RawQuery)
	if err != nil {
		writeEnvelope(w, http.StatusBadRequest, 1, "요청 파라메터를 해석할 수 없습니다: "+err.Error(), nil)
		return
	}
	c.q = newParams(query)
	merged := map[string]any{}
	for k, v := range query {
		merged[k] = v
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		body, err := decodeBody(r)
		if errors.Is(err, errBodyTooLarge) {
			writeEnvelope(w, http.StatusRequestEntityTooLarge, 1, fmt.Sprintf("요청 본문이 너무 큽니다. (최대 %d bytes)", maxBodyBytes), nil)
			return
		}
		if err != nil {
			writeEnvelope(w, http.StatusBadRequest, 1, "요청 본문을 해석할 수 없습니다: "+err.Error(), nil)
			return
		}
		for k, v := range body {
			merged[k] = v
		}
	}
	c.p = newParams(merged)

	// Faults that act before anything is decided: an injected delay, then an injected error.
	subj := c.subject()
	if f := e.fire(c.op, subj, FaultLatency); f != nil {
		if !e.sleep(r.Context(), f.Latency) {
			return // the client went away (or the emulator closed): nothing was done
		}
	}
	if f := e.fire(c.op, subj, FaultErrorBeforeCommit); f != nil {
		status := f.HTTPStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		msg := f.Reason
		if msg == "" {
			msg = defaultErrorBeforeCommitMessage
		}
		writeEnvelope(w, status, -1, msg, nil)
		return
	}

	res := rt.handle(c)

	if f := res.after; f != nil {
		switch f.Action {
		case FaultCommitThenDrop:
			e.log.Info("fault: dropping the connection after commit", slog.String("route", rt.pattern))
			dropConnection(w)
			return
		case FaultLatencyAfterCommit:
			if !e.sleep(r.Context(), f.Latency) {
				return
			}
		}
	}
	writeEnvelope(w, res.status, res.code, res.msg, res.resp)
}

// sleep waits for d, the request's cancellation or the emulator's Close, whichever comes
// first, and reports whether the full delay elapsed.
func (e *Emulator) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-e.ctx.Done():
		return false
	}
}

// dropConnection closes the client's connection without writing a response, which is what a
// client sees when PortOne committed a charge and the network failed before the answer
// arrived. When the writer cannot be hijacked (HTTP/2, a ResponseRecorder) it aborts the
// handler with http.ErrAbortHandler, which net/http turns into a reset stream.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

const jsonContentType = "application/json; charset=utf-8"

// writeEnvelope writes PortOne's {code, message, response} envelope. Success (code 0) has a
// null message; an error has a null response.
func writeEnvelope(w http.ResponseWriter, status, code int, msg string, resp any) {
	env := envelope{Code: code, Response: resp}
	if code != 0 {
		env.Response = nil
	}
	if msg != "" || code != 0 {
		m := msg
		env.Message = &m
	}
	writeJSON(w, status, env)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// subject identifies what a request is about, for matching faults.
func (c *call) subject() subject {
	s := subject{merchant: c.m.keyOrEmpty()}
	if c.m == nil { // getToken: the merchant is whoever the credentials name
		s.merchant, _, _ = c.p.str("imp_key")
	}
	s.customerUID = c.vars["customer_uid"]
	if s.customerUID == "" {
		if list, err := c.p.strList("customer_uid"); err == nil && len(list) > 0 {
			s.customerUID = list[0]
		}
	}
	s.merchantUID = c.vars["merchant_uid"]
	if s.merchantUID == "" {
		if list, err := c.p.strList("merchant_uid"); err == nil && len(list) > 0 {
			s.merchantUID = list[0]
		}
	}
	if s.merchantUID == "" {
		// POST /subscribe/payments/schedule carries it per entry: match on the first, as the
		// faults that act after the commit already do.
		if entries, ok, err := c.p.listObjects("schedules"); err == nil && ok && len(entries) > 0 {
			s.merchantUID, _, _ = entries[0].str("merchant_uid")
		}
	}
	impUID := c.vars["imp_uid"]
	if impUID == "" {
		impUID, _, _ = c.p.str("imp_uid")
	}
	if impUID != "" && c.m != nil {
		c.e.mu.Lock()
		if p := c.m.byImp[impUID]; p != nil {
			if s.customerUID == "" {
				s.customerUID = p.customerUID
			}
			if s.merchantUID == "" {
				s.merchantUID = p.merchantUID
			}
		}
		c.e.mu.Unlock()
	}
	return s
}

func (m *merchant) keyOrEmpty() string {
	if m == nil {
		return ""
	}
	return m.key
}
