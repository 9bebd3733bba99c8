package portone_test

// Integration tests: the real PortOne client driven against the real PortOne emulator
// (portonetest), over loopback HTTP. Each endpoint is checked twice: what the client decoded,
// and what the emulator recorded (ledger, schedules, webhooks, the requests it saw). This file
// holds the environment and helpers they share; the tests are split per resource like the unit
// tests: client_emulator_{auth,customers,identifiers,payments,schedules}_test.go, and the faults
// in client_emulator_faults_test.go.
//
// Every subtest owns its emulator, manual clock and client, so subtests run in parallel. The
// top-level tests deliberately do not call t.Parallel: TestClientEmulator_ErrorsNeverLeakSecrets
// is declared here, in the file that sorts after every other client_emulator_*_test.go (go test
// runs files in name order), so it runs after every other client-emulator test and also
// re-checks the errors they collected. A new file of these tests must sort before this one.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

const (
	// The merchant's credentials are long so that the client's redaction applies to them.
	emuKey    = "imp-key-integration-5820193746"
	emuSecret = "imp-secret-integration-Zr7Kq2Lm9Xv4Tn8Bw3Hj6Pd1"

	// Customer uids are long enough that the client's masking (last 4 characters) hides
	// most of them; no merchant_uid contains one.
	custA        = "cust-naver-a-0000012345"
	custB        = "cust-naver-b-0000067890"
	custUnknown  = "cust-naver-x-0000099999"
	custUnknown2 = "cust-naver-y-0000088888"
	// custOdd needs escaping in a path and in a query.
	custOdd = "cust/naver 고객#?&=%-0000054321"

	unknownImpUID = "imp_000000000000"
	orderName     = "월간 구독 (베이직)"

	opAgain          = "POST /subscribe/payments/again"
	opCancel         = "POST /payments/cancel"
	opSchedule       = "POST /subscribe/payments/schedule"
	opUnschedule     = "POST /subscribe/payments/unschedule"
	opDeleteCustomer = "DELETE /subscribe/customers/{customer_uid}"
	opGetToken       = "POST /users/getToken"

	pathAgain    = "/subscribe/payments/again"
	pathGetToken = "/users/getToken"
)

var (
	kst = time.FixedZone("KST", 9*60*60)
	// t0 is 10:00 in Korea on 2026-11-02 (01:00 UTC, the same calendar day).
	t0            = time.Date(2026, 11, 2, 10, 0, 0, 0, kst)
	impUIDPattern = regexp.MustCompile(`^imp_[0-9]{12}$`)
)

// ---- the environment: emulator + observing server + client ----

// exchange is one HTTP exchange the emulator served.
type exchange struct {
	method, path string
	// status is 0 when the emulator answered nothing (connection dropped, or the client
	// gave up while the emulator was holding the answer).
	status int
	token  string
}

type envConfig struct {
	emu             portonetest.Options
	client          []portone.Option
	realClientClock bool
	sandbox         bool
}

type envOption func(*envConfig)

// customerNotFoundStatus sets the emulator's HTTP status for an unknown customer_uid.
func customerNotFoundStatus(status int) envOption {
	return func(c *envConfig) { c.emu.CustomerNotFoundStatus = status }
}

// clientTimeout sets the client's per-exchange timeout (the default here is 5 s).
func clientTimeout(d time.Duration) envOption {
	return func(c *envConfig) { c.client = append(c.client, portone.WithTimeout(d)) }
}

// realClientClock leaves the client on time.Now, so that it only learns of an expired token
// from a 401. By default the client reads the emulator's manual clock.
func realClientClock() envOption {
	return func(c *envConfig) { c.realClientClock = true }
}

// sandboxMerchant makes the merchant's channel a test channel: its payments are hidden from
// lookups without include_sandbox=true.
func sandboxMerchant() envOption {
	return func(c *envConfig) { c.sandbox = true }
}

// webhookRetries turns on PortOne's optional webhook retries in the emulator.
func webhookRetries() envOption {
	return func(c *envConfig) { c.emu.WebhookRetries = true }
}

// api is a client whose every error is recorded for the leak check. env embeds the default
// one, so tests write e.Again(...).
type api struct {
	e *env
	c *portone.Client
}

type env struct {
	api
	t    *testing.T
	ctx  context.Context
	emu  *portonetest.Emulator
	clk  *portonetest.ManualClock
	base string // the emulator's origin
	// hookURL is the webhook receiver's origin; the console URL is hookURL+"/webhooks/portone".
	hookURL string

	mu        sync.Mutex
	exchanges []exchange
	tokens    map[string]bool
	hooks     []string // webhook bodies the receiver got
	errs      []string // every error text (whole chain) the client returned
}

// newEnv starts an emulator on a manual clock at t0 behind a loopback server that records
// every exchange, a webhook receiver (the console's notice URL), and a client for them.
// Everything is closed when the test ends, after the leak check.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, clk: portonetest.NewManualClock(t0), tokens: map[string]bool{}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx

	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		e.mu.Lock()
		e.hooks = append(e.hooks, string(body))
		e.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hooks.Close)

	cfg.emu.Clock = e.clk
	cfg.emu.Merchants = []portonetest.Merchant{{Key: emuKey, Secret: emuSecret, Sandbox: cfg.sandbox}}
	e.hookURL = hooks.URL
	cfg.emu.DefaultNoticeURL = hooks.URL + "/webhooks/portone"
	e.emu = portonetest.New(cfg.emu)
	srv := httptest.NewServer(e.observe(e.emu))
	e.base = srv.URL
	t.Cleanup(func() {
		// The emulator first: it releases handlers held by latency faults.
		e.emu.Close()
		srv.Close()
	})

	copts := []portone.Option{portone.WithTimeout(5 * time.Second)}
	if cfg.realClientClock {
		copts = append(copts, portone.WithClock(time.Now))
	}
	e.api = e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, append(copts, cfg.client...)...)

	t.Cleanup(func() {
		leaks := e.leaks()
		fileErrors.add(e.errorCount(), leaks)
		assert.Empty(t, leaks, "error strings leak a secret, a token, a URL or a full customer_uid")
	})
	return e
}

// client returns another client for the same emulator, on the emulator's clock unless opts
// say otherwise (options apply in order, so later ones win).
func (e *env) client(creds portone.Credentials, opts ...portone.Option) api {
	e.t.Helper()
	opts = append([]portone.Option{portone.WithBaseURL(e.base), portone.WithClock(e.clk.Now)}, opts...)
	c, err := portone.NewClient(creds, opts...)
	require.NoError(e.t, err)
	return api{e: e, c: c}
}

// observe records every exchange and every token presented, then lets the emulator answer.
// An answered exchange is recorded before its first byte leaves, so a test that has its answer
// also has its record. The emulator gets a writer that unwraps to the server's own, so that
// commit_then_drop can still hijack the connection.
func (e *env) observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimSpace(r.Header.Get("Authorization"))
		tok = strings.TrimSpace(strings.TrimPrefix(tok, "Bearer "))
		record := func(status int) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.exchanges = append(e.exchanges, exchange{method: r.Method, path: r.URL.Path, status: status, token: tok})
		}
		if tok != "" {
			e.mu.Lock()
			e.tokens[tok] = true
			e.mu.Unlock()
		}
		rec := &statusRecorder{ResponseWriter: w, record: record}
		h.ServeHTTP(rec, r)
		if !rec.recorded {
			record(0) // dropped, or abandoned by the client
		}
	})
}

// statusRecorder records the exchange when the emulator starts answering. Only the handler's
// goroutine touches it.
type statusRecorder struct {
	http.ResponseWriter
	record   func(status int)
	recorded bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.recorded {
		s.recorded = true
		s.record(code)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.recorded {
		s.recorded = true
		s.record(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// rec records err's text and its whole chain for the leak check, and returns err.
func (e *env) rec(err error) error {
	if err == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for x := err; x != nil; x = errors.Unwrap(x) {
		e.errs = append(e.errs, x.Error())
	}
	return err
}

func (e *env) errorCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.errs)
}

// forbidden lists what no error may contain: the credentials, every access token the client
// presented, every customer_uid of this file, and the emulator's URL.
func (e *env) forbidden() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []string{emuSecret, emuKey, custA, custB, custUnknown, custUnknown2, custOdd, e.base}
	for tok := range e.tokens {
		out = append(out, tok)
	}
	return out
}

// leaks returns the recorded error texts that contain a forbidden string.
func (e *env) leaks() []string {
	forbidden := e.forbidden()
	e.mu.Lock()
	defer e.mu.Unlock()
	return findLeaks(e.errs, forbidden)
}

func findLeaks(texts, forbidden []string) []string {
	var out []string
	for _, s := range texts {
		for _, f := range forbidden {
			if f != "" && strings.Contains(s, f) {
				out = append(out, fmt.Sprintf("%q contains %q", s, f))
			}
		}
	}
	return out
}

// errorAggregate gathers the leak checks of every env of the two client-emulator files.
type errorAggregate struct {
	sync.Mutex
	count int
	leaks []string
}

func (a *errorAggregate) add(n int, leaks []string) {
	a.Lock()
	defer a.Unlock()
	a.count += n
	a.leaks = append(a.leaks, leaks...)
}

var fileErrors errorAggregate

// ---- the client's methods, with errors recorded ----

func (a api) GetCustomer(uid string) (*portone.Customer, error) {
	v, err := a.c.GetCustomer(a.e.ctx, uid)
	return v, a.e.rec(err)
}

func (a api) GetCustomers(uids []string) ([]portone.Customer, error) {
	v, err := a.c.GetCustomers(a.e.ctx, uids)
	return v, a.e.rec(err)
}

func (a api) DeleteCustomer(uid string, req portone.DeleteCustomerRequest) (*portone.Customer, error) {
	v, err := a.c.DeleteCustomer(a.e.ctx, uid, req)
	return v, a.e.rec(err)
}

func (a api) CustomerPayments(uid string, page int) (*portone.Page[portone.Payment], error) {
	v, err := a.c.CustomerPayments(a.e.ctx, uid, page)
	return v, a.e.rec(err)
}

func (a api) Again(req portone.AgainRequest) (*portone.Payment, error) {
	v, err := a.c.Again(a.e.ctx, req)
	return v, a.e.rec(err)
}

func (a api) Schedule(req portone.ScheduleRequest) ([]portone.ScheduleResult, error) {
	v, err := a.c.Schedule(a.e.ctx, req)
	return v, a.e.rec(err)
}

func (a api) Unschedule(req portone.UnscheduleRequest) ([]portone.ScheduleResult, error) {
	v, err := a.c.Unschedule(a.e.ctx, req)
	return v, a.e.rec(err)
}

func (a api) GetSchedule(muid string) (*portone.ScheduleResult, error) {
	v, err := a.c.GetSchedule(a.e.ctx, muid)
	return v, a.e.rec(err)
}

func (a api) SchedulesByCustomer(uid string, q portone.ScheduleQuery) (*portone.Page[portone.ScheduleResult], error) {
	v, err := a.c.SchedulesByCustomer(a.e.ctx, uid, q)
	return v, a.e.rec(err)
}

func (a api) Schedules(q portone.ScheduleRangeQuery) (*portone.Page[portone.ScheduleResult], error) {
	v, err := a.c.Schedules(a.e.ctx, q)
	return v, a.e.rec(err)
}

func (a api) GetPayment(impUID string) (*portone.Payment, error) {
	v, err := a.c.GetPayment(a.e.ctx, impUID)
	return v, a.e.rec(err)
}

func (a api) FindPayment(muid string, status portone.PaymentStatus) (*portone.Payment, error) {
	v, err := a.c.FindPayment(a.e.ctx, muid, status)
	return v, a.e.rec(err)
}

func (a api) FindAllPayments(muid string, q portone.FindAllQuery) (*portone.Page[portone.Payment], error) {
	v, err := a.c.FindAllPayments(a.e.ctx, muid, q)
	return v, a.e.rec(err)
}

func (a api) CancelPayment(req portone.CancelRequest) (*portone.Payment, error) {
	v, err := a.c.CancelPayment(a.e.ctx, req)
	return v, a.e.rec(err)
}

// ---- helpers ----

// register stores a NaverPay billing key, as the NaverPay window would.
func (e *env) register(uid string) portonetest.RegisteredCustomer {
	e.t.Helper()
	reg, err := e.emu.RegisterCustomer(emuKey, portonetest.CustomerSeed{
		CustomerUID: uid, CustomerName: "김결제", CustomerTel: "01012345678", CustomerEmail: "buyer@example.com",
	})
	require.NoError(e.t, err)
	return reg
}

func charge(uid, muid string, amount portone.KRW) portone.AgainRequest {
	return portone.AgainRequest{CustomerUID: uid, MerchantUID: muid, Amount: amount, Name: orderName}
}

// pay charges and requires an approval.
func (e *env) pay(uid, muid string, amount portone.KRW) *portone.Payment {
	e.t.Helper()
	p, err := e.Again(charge(uid, muid, amount))
	require.NoError(e.t, err)
	require.Equal(e.t, portone.StatusPaid, p.Status)
	return p
}

func entry(muid string, at time.Time, amount portone.KRW) portone.ScheduleEntry {
	return portone.ScheduleEntry{MerchantUID: muid, ScheduleAt: at, Amount: amount, Name: orderName}
}

// ledgerFor returns the emulator's payment records with merchantUID.
func (e *env) ledgerFor(muid string) []portonetest.LedgerEntry {
	var out []portonetest.LedgerEntry
	for _, le := range e.emu.Ledger() {
		if le.MerchantUID == muid {
			out = append(out, le)
		}
	}
	return out
}

// scheduleRecord returns the emulator's schedule with merchantUID.
func (e *env) scheduleRecord(muid string) portonetest.ScheduleRecord {
	e.t.Helper()
	for _, s := range e.emu.Schedules() {
		if s.MerchantUID == muid {
			return s
		}
	}
	require.Failf(e.t, "no schedule", "the emulator has no schedule %q", muid)
	return portonetest.ScheduleRecord{}
}

func (e *env) seen() []exchange {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]exchange(nil), e.exchanges...)
}

// requests counts the exchanges with method and path.
func (e *env) requests(method, path string) int {
	n := 0
	for _, x := range e.seen() {
		if x.method == method && x.path == path {
			n++
		}
	}
	return n
}

// statuses counts the exchanges answered with status.
func (e *env) statuses(status int) int {
	n := 0
	for _, x := range e.seen() {
		if x.status == status {
			n++
		}
	}
	return n
}

// answers returns the HTTP statuses the emulator gave to method and path, in order.
func (e *env) answers(method, path string) []int {
	var out []int
	for _, x := range e.seen() {
		if x.method == method && x.path == path {
			out = append(out, x.status)
		}
	}
	return out
}

func (e *env) tokenCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.tokens)
}

// token returns the access token the client has presented (the only one so far).
func (e *env) token() string {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Len(e.t, e.tokens, 1)
	for tok := range e.tokens {
		return tok
	}
	return ""
}

func (e *env) webhookBodies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.hooks...)
}

// waitWebhooks waits (bounded) until the emulator has made n delivery attempts.
func (e *env) waitWebhooks(n int) []portonetest.WebhookDelivery {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	d, err := e.emu.WaitWebhooks(ctx, n)
	require.NoError(e.t, err)
	return d
}

// requireRefusal asserts that err is PortOne refusing the request: an *APIError, never an
// unknown outcome. sentinel may be nil.
func requireRefusal(t *testing.T, err error, httpStatus, code int, sentinel error) *portone.APIError {
	t.Helper()
	require.Error(t, err)
	var apiErr *portone.APIError
	require.ErrorAs(t, err, &apiErr)
	require.NotErrorIs(t, err, portone.ErrUnknownOutcome)
	require.Equal(t, httpStatus, apiErr.HTTPStatus, "HTTP status of %v", err)
	require.Equal(t, code, apiErr.Code, "envelope code of %v", err)
	if sentinel != nil {
		require.ErrorIs(t, err, sentinel)
	}
	return apiErr
}

// requireUnknown asserts that err is an unknown outcome of op for merchantUID, and that
// nothing in it could be mistaken for a refusal.
func requireUnknown(t *testing.T, err error, op, merchantUID string) *portone.UnknownOutcomeError {
	t.Helper()
	require.ErrorIs(t, err, portone.ErrUnknownOutcome)
	var u *portone.UnknownOutcomeError
	require.ErrorAs(t, err, &u)
	var apiErr *portone.APIError
	require.False(t, errors.As(err, &apiErr), "an unknown outcome must never look like a refusal: %v", err)
	var te *portone.TransportError
	require.False(t, errors.As(err, &te), "an unknown outcome must never look safe to resend: %v", err)
	require.Equal(t, op, u.Op)
	require.Equal(t, merchantUID, u.MerchantUID)
	return u
}

// requireTransport asserts that err is a transport failure of a request that is safe to
// send again.
func requireTransport(t *testing.T, err error, op string) *portone.TransportError {
	t.Helper()
	var te *portone.TransportError
	require.ErrorAs(t, err, &te)
	require.NotErrorIs(t, err, portone.ErrUnknownOutcome)
	var apiErr *portone.APIError
	require.False(t, errors.As(err, &apiErr))
	require.Equal(t, op, te.Op)
	return te
}

func requireValidation(t *testing.T, err error, field string) {
	t.Helper()
	var ve *portone.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, field, ve.Field)
	require.NotErrorIs(t, err, portone.ErrUnknownOutcome)
}

// ---- 1. every endpoint ----

// TestClientEmulator_ErrorsNeverLeakSecrets makes the emulator echo the secret, the key, the
// token and full customer_uids in its messages, on every error path, and checks every error
// text (whole chain). Every env of the two client-emulator files runs the same check on all the
// errors its client returned when its test ends; run last, this test also asserts on their
// aggregate.
func TestClientEmulator_ErrorsNeverLeakSecrets(t *testing.T) {
	e := newEnv(t, clientTimeout(300*time.Millisecond))
	e.register(custA)
	_, err := e.GetCustomer(custA) // fetches the token the hostile messages will echo
	require.NoError(t, err)
	token := e.token()
	require.Len(t, token, 40)
	hostile := fmt.Sprintf("customer_uid(%s) %s secret=%s key=%s token=%s Bearer %s", custA, custA, emuSecret, emuKey, token, token)
	// For requests that do not name the customer the client can only recognise PortOne's
	// "customer_uid(...)" pattern, which is how PortOne's messages carry one.
	hostileNoUID := fmt.Sprintf("customer_uid(%s) secret=%s key=%s token=%s", custA, emuSecret, emuKey, token)
	p := e.pay(custA, "ord-leak-paid", 1000)
	_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-leak-s", t0.Add(time.Hour), 1000)}})
	require.NoError(t, err)

	fault := func(f portonetest.Fault) { f.Times = 1; e.emu.AddFault(f) }
	var errs []error
	try := func(err error) {
		require.Error(t, err)
		errs = append(errs, err)
	}

	fault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDeclineCode, Reason: hostile})
	_, err = e.Again(charge(custA, "ord-leak-1", 1000))
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.Again(charge(custA, "ord-leak-2", 1000))
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultCommitThenDrop})
	_, err = e.Again(charge(custA, "ord-leak-3", 1000))
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatencyAfterCommit, Latency: 5 * time.Second})
	_, err = e.Again(charge(custA, "ord-leak-4", 1000))
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile, HTTPStatus: http.StatusServiceUnavailable})
	_, err = e.GetCustomer(custA)
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.GetCustomers([]string{custA, custB})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.SchedulesByCustomer(custA, portone.ScheduleQuery{From: t0, To: t0.Add(time.Hour)})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, Reason: hostileNoUID})
	_, err = e.GetPayment(p.ImpUID)
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultLatency, Latency: 5 * time.Second})
	_, err = e.CustomerPayments(custA, 1)
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpCancel, Action: portonetest.FaultDeclineCode, Reason: hostileNoUID})
	_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: "x", Requester: portone.RequesterAdmin})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpSchedule, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-leak-s2", t0.Add(time.Hour), 1000)}})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpUnschedule, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpDeleteCustomer, Action: portonetest.FaultErrorBeforeCommit, Reason: hostile})
	_, err = e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "탈퇴", Requester: portone.RequesterCustomer})
	try(err)
	fault(portonetest.Fault{Op: portonetest.OpDeleteCustomer, Action: portonetest.FaultLatencyAfterCommit, Latency: 5 * time.Second})
	_, err = e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "탈퇴", Requester: portone.RequesterCustomer})
	try(err)
	_, err = e.GetCustomer(custUnknown)
	try(err)
	_, err = e.Again(charge(custUnknown, "ord-leak-5", 1000))
	try(err)
	_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custUnknown2, Schedules: []portone.ScheduleEntry{entry("ord-leak-s3", t0.Add(time.Hour), 1000)}})
	try(err)
	bad := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret + "x"})
	_, err = bad.GetCustomer(custA)
	try(err)
	// A token fetch that fails under a write: the write was never sent.
	fault(portonetest.Fault{Op: portonetest.OpGetToken, Action: portonetest.FaultErrorBeforeCommit, Reason: "imp_secret=" + emuSecret})
	fresh := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret})
	_, err = fresh.Again(charge(custA, "ord-leak-6", 1000))
	try(err)

	var texts []string
	for _, err := range errs {
		for x := err; x != nil; x = errors.Unwrap(x) {
			texts = append(texts, x.Error())
		}
	}
	leaks := findLeaks(texts, e.forbidden())
	require.Empty(t, leaks)
	all := strings.Join(texts, "\n")
	require.Contains(t, all, "****2345", "a masked customer_uid keeps errors useful")
	require.Contains(t, all, "[REDACTED]")

	// The aggregate of every env that already finished in the two files.
	fileErrors.Lock()
	defer fileErrors.Unlock()
	t.Logf("%d error strings checked by the envs of the other client-emulator tests", fileErrors.count)
	require.Empty(t, fileErrors.leaks)
}
