package portone_test

// Integration tests: the real PortOne client driven against the real PortOne emulator
// (portonetest), over loopback HTTP. Each endpoint is checked twice: what the client decoded,
// and what the emulator recorded (ledger, schedules, webhooks, the requests it saw). Faults are
// in client_emulator_faults_test.go.
//
// Every subtest owns its emulator, manual clock and client, so subtests run in parallel. The
// top-level tests deliberately do not call t.Parallel: TestClientEmulator_ErrorsNeverLeakSecrets
// is declared last (and the faults file sorts first), so it runs after every other test of the
// two files and also re-checks the errors they collected.

import (
	"context"
	"encoding/json"
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

func TestClientEmulator_Customers(t *testing.T) {
	t.Run("GetCustomer returns the registered key", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		reg := e.register(custA)

		got, err := e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, custA, got.CustomerUID)
		require.Equal(t, portonetest.PGNaverPay, got.PGProvider)
		require.NotEmpty(t, got.PGID)
		require.False(t, got.Sandbox)
		require.Equal(t, "김결제", got.CustomerName)
		require.Equal(t, "01012345678", got.CustomerTel)
		require.Equal(t, "buyer@example.com", got.CustomerEmail)
		require.Equal(t, t0.Unix(), got.Inserted)
		require.Equal(t, t0.Unix(), got.Updated)
		require.Nil(t, got.CardType, "NaverPay discloses no card")

		// The registration left its record (amount 0, usage issue), found by imp_uid.
		p, err := e.GetPayment(reg.RegistrationImpUID)
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, portone.KRW(0), p.Amount)
		require.Equal(t, "issue", p.CustomerUIDUsage)
		require.Equal(t, custA, p.CustomerUID)
		require.Equal(t, reg.RegistrationMerchantUID, p.MerchantUID)
		require.Equal(t, 0, e.emu.PaidCount(reg.RegistrationMerchantUID), "a registration is not a charge")
	})

	for _, status := range []int{http.StatusOK, http.StatusNotFound} {
		t.Run(fmt.Sprintf("unknown customer_uid answered with HTTP %d is ErrNotFound", status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, customerNotFoundStatus(status))
			e.register(custA)

			_, err := e.GetCustomer(custUnknown)
			apiErr := requireRefusal(t, err, status, 1, portone.ErrNotFound)
			require.Contains(t, apiErr.Message, "****9999", "the masked uid keeps the message useful")

			_, err = e.DeleteCustomer(custUnknown, portone.DeleteCustomerRequest{Reason: "탈퇴", Requester: portone.RequesterAdmin})
			requireRefusal(t, err, status, 1, portone.ErrNotFound)

			_, err = e.GetCustomer(custA)
			require.NoError(t, err, "the known key is untouched")
		})
	}

	t.Run("GetCustomers", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name       string
			ask        []string
			want       []string
			wantStatus int
		}{
			{name: "all found", ask: []string{custA, custB}, want: []string{custA, custB}, wantStatus: http.StatusOK},
			{name: "partial", ask: []string{custUnknown, custB}, want: []string{custB}, wantStatus: http.StatusMultiStatus},
			{name: "none", ask: []string{custUnknown, custUnknown2}, want: []string{}, wantStatus: http.StatusMultiStatus},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				e.register(custB)

				got, err := e.GetCustomers(tt.ask)
				require.NoError(t, err)
				uids := []string{}
				for _, c := range got {
					uids = append(uids, c.CustomerUID)
					require.Equal(t, portonetest.PGNaverPay, c.PGProvider)
				}
				require.ElementsMatch(t, tt.want, uids)
				require.Equal(t, []int{tt.wantStatus}, e.answers(http.MethodGet, "/subscribe/customers"), "the emulator's HTTP status")
			})
		}
	})

	t.Run("DeleteCustomer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)

		got, err := e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "구독 해지 요청", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, custA, got.CustomerUID)
		require.Equal(t, "01012345678", got.CustomerTel, "the key is returned as it was")
		require.Empty(t, e.emu.Warnings(), "reason and requester satisfy NaverPay's review")

		_, err = e.GetCustomer(custA)
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
		_, err = e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "again", Requester: portone.RequesterAdmin})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
		_, err = e.Again(charge(custA, "ord-after-delete", 1000))
		requireRefusal(t, err, http.StatusOK, -1, portone.ErrCustomerNotRegistered)
		_, err = e.GetCustomer(custB)
		require.NoError(t, err, "only the named key is deleted")

		// A schedule left pending on a deleted key fails when it runs.
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-orphan", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)

		// Without reason and requester PortOne accepts it, but NaverPay's review would not.
		_, err = e.DeleteCustomer(custB, portone.DeleteCustomerRequest{})
		require.NoError(t, err)
		w := e.emu.Warnings()
		require.Len(t, w, 1)
		require.ElementsMatch(t, []string{"reason", "extra.requester"}, w[0].Missing)

		e.clk.Advance(time.Hour)
		s, err := e.GetSchedule("ord-orphan")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleExecuted, s.ScheduleStatus)
		require.Equal(t, portone.StatusFailed, s.PaymentStatus)
		require.Contains(t, s.FailReason, "등록되지 않은 구매자")
		require.Zero(t, e.emu.PaidCount("ord-orphan"))
	})

	t.Run("CustomerPayments pages newest first", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		const charges = 22 // + the registration record = 23: pages of 20 and 3
		for i := 1; i <= charges; i++ {
			e.clk.Advance(time.Second) // distinct started_at
			e.pay(custA, fmt.Sprintf("ord-page-%02d", i), portone.KRW(1000+i))
		}
		e.pay(custB, "ord-other-customer", 5000)

		first, err := e.CustomerPayments(custA, 0)
		require.NoError(t, err)
		require.Equal(t, charges+1, first.Total)
		require.Len(t, first.List, 20)
		require.Equal(t, 0, first.Previous)
		require.Equal(t, 2, first.Next)
		require.Equal(t, "ord-page-22", first.List[0].MerchantUID, "newest first")
		require.Equal(t, portone.KRW(1022), first.List[0].Amount)

		second, err := e.CustomerPayments(custA, 2)
		require.NoError(t, err)
		require.Equal(t, charges+1, second.Total)
		require.Len(t, second.List, 3)
		require.Equal(t, 1, second.Previous)
		require.Equal(t, 0, second.Next)
		last := second.List[2]
		require.Equal(t, "issue", last.CustomerUIDUsage, "the registration record is the oldest")

		// Every page item is the customer's, and together they are the ledger's records.
		var fromPages, fromLedger []string
		for _, p := range append(first.List, second.List...) {
			require.Equal(t, custA, p.CustomerUID)
			fromPages = append(fromPages, p.ImpUID)
		}
		for _, le := range e.emu.Ledger() {
			if le.CustomerUID == custA {
				fromLedger = append(fromLedger, le.ImpUID)
			}
		}
		require.ElementsMatch(t, fromLedger, fromPages)

		empty, err := e.CustomerPayments(custUnknown, 0)
		require.NoError(t, err)
		require.Equal(t, 0, empty.Total)
		require.Empty(t, empty.List)
	})
}

// TestClientEmulator_OddIdentifiers sends identifiers that need escaping (a slash, a space,
// Korean, '#', '?', '&', '=', '%') through every route that carries one in its path or query.
func TestClientEmulator_OddIdentifiers(t *testing.T) {
	const muid, muid2 = "sub-1/2026-11/1 결제#?&=%", "sub-1/2026-12/1 결제#?&=%"
	e := newEnv(t)
	e.register(custOdd)

	c, err := e.GetCustomer(custOdd)
	require.NoError(t, err)
	require.Equal(t, custOdd, c.CustomerUID)
	cs, err := e.GetCustomers([]string{custOdd, custA})
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, custOdd, cs[0].CustomerUID)

	p := e.pay(custOdd, muid, 1000)
	require.Equal(t, muid, p.MerchantUID)
	require.Equal(t, custOdd, p.CustomerUID)
	for _, status := range []portone.PaymentStatus{"", portone.StatusPaid} {
		got, err := e.FindPayment(muid, status)
		require.NoError(t, err)
		require.Equal(t, p.ImpUID, got.ImpUID)
	}
	all, err := e.FindAllPayments(muid, portone.FindAllQuery{})
	require.NoError(t, err)
	require.Len(t, all.List, 1)
	pays, err := e.CustomerPayments(custOdd, 1)
	require.NoError(t, err)
	require.Equal(t, 2, pays.Total, "the registration and the charge")

	_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custOdd, Schedules: []portone.ScheduleEntry{entry(muid2, t0.Add(time.Hour), 1000)}})
	require.NoError(t, err)
	s, err := e.GetSchedule(muid2)
	require.NoError(t, err)
	require.Equal(t, custOdd, s.CustomerUID)
	page, err := e.SchedulesByCustomer(custOdd, portone.ScheduleQuery{From: t0, To: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, page.List, 1)
	revoked, err := e.Unschedule(portone.UnscheduleRequest{CustomerUID: custOdd})
	require.NoError(t, err)
	require.Len(t, revoked, 1)

	cancelled, err := e.CancelPayment(portone.CancelRequest{MerchantUID: muid, Reason: "환불", Requester: portone.RequesterCustomer})
	require.NoError(t, err)
	require.Equal(t, portone.StatusCancelled, cancelled.Status)

	_, err = e.DeleteCustomer(custOdd, portone.DeleteCustomerRequest{Reason: "탈퇴 & 삭제?", Requester: portone.RequesterCustomer})
	require.NoError(t, err)
	require.Empty(t, e.emu.Warnings(), "reason and requester arrived intact")
	_, err = e.GetCustomer(custOdd)
	apiErr := requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
	require.Contains(t, apiErr.Message, "****4321")
}

func TestClientEmulator_Again(t *testing.T) {
	t.Run("paid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)

		req := charge(custA, "ord-paid-1", 9900)
		req.TaxFree = 900
		req.Buyer = portone.Buyer{Name: "홍길동"}
		req.CustomData = `{"plan":"basic"}`
		req.NaverUseCfm = "20261102"
		p, err := e.Again(req)
		require.NoError(t, err)

		require.Equal(t, portone.StatusPaid, p.Status)
		require.Regexp(t, impUIDPattern, p.ImpUID)
		require.Equal(t, "ord-paid-1", p.MerchantUID)
		require.Equal(t, portone.KRW(9900), p.Amount)
		require.Equal(t, portone.KRW(0), p.CancelAmount)
		require.Equal(t, "KRW", p.Currency)
		require.Equal(t, orderName, p.Name)
		require.Equal(t, custA, p.CustomerUID)
		require.Equal(t, "payment", p.CustomerUIDUsage)
		require.Equal(t, "api", p.Channel)
		require.Equal(t, "naverpay", p.PayMethod)
		require.Equal(t, portonetest.PGNaverPay, p.PGProvider)
		require.NotEmpty(t, p.ApplyNum)
		require.NotEmpty(t, p.PGTID)
		require.Equal(t, t0.Unix(), p.PaidAt)
		require.Equal(t, t0.Unix(), p.StartedAt)
		require.Zero(t, p.FailedAt)
		require.Empty(t, p.FailReason)
		require.Equal(t, "홍길동", p.BuyerName, "the request's buyer wins")
		require.Equal(t, "01012345678", p.BuyerTel, "missing buyer fields come from the customer")
		require.Equal(t, `{"plan":"basic"}`, p.CustomData)
		require.Empty(t, p.CancelHistory)

		// The emulator's side: one paid charge in the ledger, one webhook to the console URL.
		led := e.ledgerFor("ord-paid-1")
		require.Len(t, led, 1)
		require.Equal(t, p.ImpUID, led[0].ImpUID)
		require.Equal(t, "paid", led[0].Status)
		require.Equal(t, int64(9900), led[0].Amount)
		require.Equal(t, "payment", led[0].Usage)
		require.Equal(t, custA, led[0].CustomerUID)
		require.Equal(t, 1, e.emu.PaidCount("ord-paid-1"))

		d := e.waitWebhooks(1)
		require.Len(t, d, 1)
		require.True(t, d[0].OK(), d[0].Err)
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.Equal(t, "paid", d[0].Status)
		var body map[string]string
		require.NoError(t, json.Unmarshal([]byte(e.webhookBodies()[0]), &body))
		require.Equal(t, map[string]string{"imp_uid": p.ImpUID, "merchant_uid": "ord-paid-1", "status": "paid"}, body)

		// What Again answered is what a lookup answers.
		again, err := e.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, p, again)
	})

	t.Run("extra.naverUseCfm", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			cfm   string
			check func(t *testing.T, e *env, p *portone.Payment, err error)
		}{
			{name: "the payment day (KST) is accepted", cfm: "20261102", check: wantPaid},
			{name: "a later day is accepted", cfm: "20261231", check: wantPaid},
			{name: "a past day is refused by PortOne", cfm: "20261101", check: func(t *testing.T, e *env, p *portone.Payment, err error) {
				apiErr := requireRefusal(t, err, http.StatusOK, -1, nil)
				require.Contains(t, apiErr.Message, "naverUseCfm")
				require.Empty(t, e.ledgerFor("ord-cfm"), "nothing was charged")
				require.Equal(t, 1, e.requests(http.MethodPost, pathAgain))
			}},
			{name: "not yyyyMMdd is refused by the client", cfm: "2026-11-02", check: func(t *testing.T, e *env, p *portone.Payment, err error) {
				requireValidation(t, err, "extra.naverUseCfm")
				require.Empty(t, e.seen(), "nothing was sent")
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				req := charge(custA, "ord-cfm", 1000)
				req.NaverUseCfm = tt.cfm
				p, err := e.Again(req)
				tt.check(t, e, p, err)
			})
		}
	})

	t.Run("an amount below NaverPay's minimum is refused before sending", func(t *testing.T) {
		t.Parallel()
		for _, amount := range []portone.KRW{9, 0, -100} {
			t.Run(fmt.Sprint(amount), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				_, err := e.Again(charge(custA, "ord-small", amount))
				requireValidation(t, err, "amount")
				require.Empty(t, e.seen(), "no request (not even for a token) reached the emulator")
				led := e.emu.Ledger()
				require.Len(t, led, 1, "the ledger holds only the registration")
				require.Equal(t, "issue", led[0].Usage)
			})
		}
		t.Run("10 is the minimum", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			p := e.pay(custA, "ord-ten", 10)
			require.Equal(t, portone.KRW(10), p.Amount)
		})
		t.Run("the emulator refuses it too", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.register(custA)
			lax := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, portone.WithMinimumAmount(1))
			_, err := lax.Again(charge(custA, "ord-small", 9))
			apiErr := requireRefusal(t, err, http.StatusOK, -1, nil)
			require.Contains(t, apiErr.Message, "10원")
			require.Empty(t, e.ledgerFor("ord-small"))
		})
	})

	t.Run("a paid merchant_uid is never charged again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		first := e.pay(custA, "ord-dup", 1000)

		_, err := e.Again(charge(custA, "ord-dup", 1000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)
		_, err = e.Again(charge(custA, "ord-dup", 2000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)

		require.Equal(t, 1, e.emu.PaidCount("ord-dup"))
		led := e.ledgerFor("ord-dup")
		require.Len(t, led, 1)
		require.Equal(t, first.ImpUID, led[0].ImpUID)
	})

	t.Run("notice_url overrides the console URL", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		req := charge(custA, "ord-notice", 1000)
		req.NoticeURL = e.hookURL + "/hooks/order"
		p, err := e.Again(req)
		require.NoError(t, err)
		d := e.waitWebhooks(1)
		require.Equal(t, req.NoticeURL, d[0].URL)
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.True(t, d[0].OK(), d[0].Err)
	})

	t.Run("unknown customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Again(charge(custUnknown, "ord-nobody", 1000))
		apiErr := requireRefusal(t, err, http.StatusOK, -1, portone.ErrCustomerNotRegistered)
		require.False(t, apiErr.Temporary())
		require.Empty(t, e.ledgerFor("ord-nobody"))
	})
}

func wantPaid(t *testing.T, e *env, p *portone.Payment, err error) {
	t.Helper()
	require.NoError(t, err)
	require.Equal(t, portone.StatusPaid, p.Status)
	require.Equal(t, 1, e.emu.PaidCount(p.MerchantUID))
}

func TestClientEmulator_Schedule(t *testing.T) {
	t.Run("several entries", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		at := []time.Time{t0.Add(time.Hour), t0.AddDate(0, 1, 0), t0.AddDate(0, 2, 0)}
		req := portone.ScheduleRequest{CustomerUID: custA}
		for i, a := range at {
			en := entry(fmt.Sprintf("ord-sch-%d", i+1), a, portone.KRW(9900+i))
			en.CustomData = fmt.Sprintf("cycle-%d", i+1)
			req.Schedules = append(req.Schedules, en)
		}
		got, err := e.Schedule(req)
		require.NoError(t, err)
		require.Len(t, got, 3)
		for i, s := range got {
			require.Equal(t, custA, s.CustomerUID)
			require.Equal(t, fmt.Sprintf("ord-sch-%d", i+1), s.MerchantUID)
			require.Equal(t, at[i].Unix(), s.ScheduleAt)
			require.Equal(t, portone.KRW(9900+i), s.Amount)
			require.Equal(t, portone.ScheduleScheduled, s.ScheduleStatus)
			require.Empty(t, s.PaymentStatus, "null until executed")
			require.Empty(t, s.ImpUID)
			require.Zero(t, s.ExecutedAt)
			require.Zero(t, s.RevokedAt)
			require.Equal(t, fmt.Sprintf("cycle-%d", i+1), s.CustomData)

			rec := e.scheduleRecord(s.MerchantUID)
			require.Equal(t, "scheduled", rec.Status)
			require.Equal(t, at[i].Unix(), rec.ScheduleAt.Unix())
			require.Equal(t, int64(9900+i), rec.Amount)

			one, err := e.GetSchedule(s.MerchantUID)
			require.NoError(t, err)
			require.Equal(t, s, *one)
		}
		require.Empty(t, e.emu.Ledger()[1:], "scheduling charges nothing")
	})

	t.Run("a merchant_uid already scheduled is refused, nothing stored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-s1", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)

		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-s2", t0.Add(2*time.Hour), 1000), entry("ord-s1", t0.Add(3*time.Hour), 1000),
		}})
		apiErr := requireRefusal(t, err, http.StatusOK, 1, nil)
		require.Contains(t, apiErr.Message, "ord-s1")
		require.Len(t, e.emu.Schedules(), 1, "the batch is all or nothing")
		_, err = e.GetSchedule("ord-s2")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		// A paid merchant_uid cannot be scheduled either.
		e.pay(custA, "ord-paid", 1000)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-paid", t0.Add(time.Hour), 1000)}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)

		// A duplicate inside one batch never leaves the client.
		before := len(e.seen())
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-s3", t0.Add(time.Hour), 1000), entry("ord-s3", t0.Add(2*time.Hour), 1000),
		}})
		requireValidation(t, err, "schedules[1].merchant_uid")
		require.Len(t, e.seen(), before)
	})

	t.Run("unknown customer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custUnknown, Schedules: []portone.ScheduleEntry{entry("ord-s1", t0.Add(time.Hour), 1000)}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrCustomerNotRegistered)
		require.Empty(t, e.emu.Schedules())
	})

	t.Run("GetSchedule of an unknown merchant_uid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.GetSchedule("ord-never-scheduled")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})
}

func TestClientEmulator_ScheduleQueries(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// custA: ord-a1 at +1h, ord-a2 at +2h (revoked), ord-a3 at +3h; custB: ord-b1 at +2h.
	seed := func(t *testing.T) *env {
		t.Helper()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-a1", h(1), 1000), entry("ord-a2", h(2), 1000), entry("ord-a3", h(3), 1000),
		}})
		require.NoError(t, err)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-b1", h(2), 1000)}})
		require.NoError(t, err)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-a2"}})
		require.NoError(t, err)
		return e
	}
	uids := func(p *portone.Page[portone.ScheduleResult]) []string {
		out := []string{}
		for _, s := range p.List {
			out = append(out, s.MerchantUID)
		}
		return out
	}

	byCustomer := []struct {
		name string
		uid  string
		q    portone.ScheduleQuery
		want []string // in order
	}{
		{name: "window, newest first", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{"ord-a3", "ord-a2", "ord-a1"}},
		{name: "to is exclusive", uid: custA, q: portone.ScheduleQuery{From: h(1), To: h(3)}, want: []string{"ord-a2", "ord-a1"}},
		{name: "from is inclusive", uid: custA, q: portone.ScheduleQuery{From: h(3), To: h(3).Add(time.Second)}, want: []string{"ord-a3"}},
		{name: "one second after from", uid: custA, q: portone.ScheduleQuery{From: h(1).Add(time.Second), To: h(3)}, want: []string{"ord-a2"}},
		{name: "status scheduled", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleScheduled}, want: []string{"ord-a3", "ord-a1"}},
		{name: "status revoked", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleRevoked}, want: []string{"ord-a2"}},
		{name: "status executed", uid: custA, q: portone.ScheduleQuery{From: t0, To: h(4), Status: portone.ScheduleExecuted}, want: []string{}},
		{name: "other customer", uid: custB, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{"ord-b1"}},
		{name: "unknown customer", uid: custUnknown, q: portone.ScheduleQuery{From: t0, To: h(4)}, want: []string{}},
	}
	for _, tt := range byCustomer {
		t.Run("SchedulesByCustomer/"+tt.name, func(t *testing.T) {
			t.Parallel()
			e := seed(t)
			got, err := e.SchedulesByCustomer(tt.uid, tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, uids(got))
			require.Equal(t, len(tt.want), got.Total)
		})
	}

	byRange := []struct {
		name      string
		q         portone.ScheduleRangeQuery
		want      []string
		wantTotal int
		wantPrev  int
		wantNext  int
	}{
		{name: "window across customers", q: portone.ScheduleRangeQuery{From: t0, To: h(4)}, want: []string{"ord-a3", "ord-b1", "ord-a2", "ord-a1"}, wantTotal: 4},
		{name: "to is exclusive", q: portone.ScheduleRangeQuery{From: h(2), To: h(3)}, want: []string{"ord-b1", "ord-a2"}, wantTotal: 2},
		{name: "status scheduled", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Status: portone.ScheduleScheduled}, want: []string{"ord-a3", "ord-b1", "ord-a1"}, wantTotal: 3},
		{name: "oldest first, second page of 2", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Sorting: "scheduled", Limit: 2, Page: 2}, want: []string{"ord-b1", "ord-a3"}, wantTotal: 4, wantPrev: 1},
		{name: "first page of 3", q: portone.ScheduleRangeQuery{From: t0, To: h(4), Limit: 3}, want: []string{"ord-a3", "ord-b1", "ord-a2"}, wantTotal: 4, wantNext: 2},
	}
	for _, tt := range byRange {
		t.Run("Schedules/"+tt.name, func(t *testing.T) {
			t.Parallel()
			e := seed(t)
			got, err := e.Schedules(tt.q)
			require.NoError(t, err)
			require.Equal(t, tt.want, uids(got))
			require.Equal(t, tt.wantTotal, got.Total)
			require.Equal(t, tt.wantPrev, got.Previous)
			require.Equal(t, tt.wantNext, got.Next)
		})
	}

	t.Run("paging over 25 schedules", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		req := portone.ScheduleRequest{CustomerUID: custA}
		for i := 1; i <= 25; i++ {
			req.Schedules = append(req.Schedules, entry(fmt.Sprintf("ord-p%02d", i), t0.Add(time.Duration(i)*time.Hour), 1000))
		}
		_, err := e.Schedule(req)
		require.NoError(t, err)
		q := portone.ScheduleQuery{From: t0, To: t0.AddDate(0, 1, 0)}

		p1, err := e.SchedulesByCustomer(custA, q)
		require.NoError(t, err)
		require.Equal(t, 25, p1.Total)
		require.Len(t, p1.List, 20)
		require.Equal(t, "ord-p25", p1.List[0].MerchantUID)
		require.Equal(t, 0, p1.Previous)
		require.Equal(t, 2, p1.Next)

		q.Page = 2
		p2, err := e.SchedulesByCustomer(custA, q)
		require.NoError(t, err)
		require.Equal(t, []string{"ord-p05", "ord-p04", "ord-p03", "ord-p02", "ord-p01"}, uids(p2))
		require.Equal(t, 1, p2.Previous)
		require.Equal(t, 0, p2.Next)

		r3, err := e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 1, 0), Limit: 10, Page: 3})
		require.NoError(t, err)
		require.Equal(t, 25, r3.Total)
		require.Len(t, r3.List, 5)
		require.Equal(t, 2, r3.Previous)
		require.Equal(t, 0, r3.Next)
	})

	t.Run("a window over 3 months is refused by PortOne", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.SchedulesByCustomer(custA, portone.ScheduleQuery{From: t0, To: t0.AddDate(0, 3, 1)})
		apiErr := requireRefusal(t, err, http.StatusBadRequest, 1, nil)
		require.False(t, apiErr.Temporary())
		_, err = e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 3, 1)})
		requireRefusal(t, err, http.StatusBadRequest, 1, nil)
		_, err = e.Schedules(portone.ScheduleRangeQuery{From: t0, To: t0.AddDate(0, 3, 0)})
		require.NoError(t, err, "exactly 3 months is allowed")
	})
}

func TestClientEmulator_ScheduleExecution(t *testing.T) {
	t.Run("advancing past schedule_at executes the charge", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		at := t0.Add(time.Hour)
		en := entry("ord-run-1", at, 9900)
		en.CustomData = "cycle-1"
		en.NoticeURL = e.hookURL + "/hooks/schedule"
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{en, entry("ord-run-2", at.AddDate(0, 1, 0), 9900)}})
		require.NoError(t, err)

		e.clk.Advance(59 * time.Minute)
		s, err := e.GetSchedule("ord-run-1")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleScheduled, s.ScheduleStatus, "not due yet")
		_, err = e.FindPayment("ord-run-1", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		e.clk.Advance(time.Minute) // exactly schedule_at: due
		s, err = e.GetSchedule("ord-run-1")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleExecuted, s.ScheduleStatus)
		require.Equal(t, portone.StatusPaid, s.PaymentStatus)
		require.Equal(t, at.Unix(), s.ExecutedAt)
		require.Regexp(t, impUIDPattern, s.ImpUID)

		p, err := e.FindPayment("ord-run-1", "")
		require.NoError(t, err)
		require.Equal(t, s.ImpUID, p.ImpUID)
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, "payment.scheduled", p.CustomerUIDUsage)
		require.Equal(t, portone.KRW(9900), p.Amount)
		require.Equal(t, at.Unix(), p.PaidAt)
		require.Equal(t, "cycle-1", p.CustomData)
		require.Equal(t, "01012345678", p.BuyerTel, "buyer fields come from the customer")
		paid, err := e.FindPayment("ord-run-1", portone.StatusPaid)
		require.NoError(t, err)
		require.Equal(t, p, paid)

		require.Equal(t, 1, e.emu.PaidCount("ord-run-1"))
		require.Equal(t, "executed", e.scheduleRecord("ord-run-1").Status)
		require.Equal(t, "scheduled", e.scheduleRecord("ord-run-2").Status, "the next month's is still pending")

		d := e.waitWebhooks(1)
		require.Equal(t, "ord-run-1", d[0].MerchantUID)
		require.Equal(t, en.NoticeURL, d[0].URL, "the schedule's own notice_url")
		require.Equal(t, p.ImpUID, d[0].ImpUID)
		require.Equal(t, "paid", d[0].Status)
		require.True(t, d[0].OK(), d[0].Err)
		require.Len(t, e.webhookBodies(), 1)

		// The client's token expired on the way (1 h > 30 min); it refreshed on its own.
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Zero(t, e.statuses(http.StatusUnauthorized))

		// Nothing runs twice.
		e.clk.Advance(time.Minute)
		require.Equal(t, 1, e.emu.PaidCount("ord-run-1"))
		require.Len(t, e.ledgerFor("ord-run-1"), 1)
	})
}

func TestClientEmulator_Unschedule(t *testing.T) {
	t.Run("by merchant_uids, by customer, then nothing left", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{
			entry("ord-u1", t0.Add(time.Hour), 1000), entry("ord-u2", t0.Add(2*time.Hour), 1000),
			entry("ord-u3", t0.Add(3*time.Hour), 1000), entry("ord-u4", t0.Add(4*time.Hour), 1000),
		}})
		require.NoError(t, err)
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-b1", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)
		e.clk.Advance(10 * time.Minute)

		got, err := e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA, MerchantUIDs: []string{"ord-u1", "ord-u2"}})
		require.NoError(t, err)
		require.Len(t, got, 2)
		for _, s := range got {
			require.Equal(t, portone.ScheduleRevoked, s.ScheduleStatus)
			require.Equal(t, t0.Add(10*time.Minute).Unix(), s.RevokedAt)
			require.Equal(t, "revoked", e.scheduleRecord(s.MerchantUID).Status)
		}
		require.Equal(t, "scheduled", e.scheduleRecord("ord-u3").Status)

		got, err = e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA})
		require.NoError(t, err)
		var revoked []string
		for _, s := range got {
			revoked = append(revoked, s.MerchantUID)
		}
		require.ElementsMatch(t, []string{"ord-u3", "ord-u4"}, revoked, "only what was still pending")
		require.Equal(t, "scheduled", e.scheduleRecord("ord-b1").Status, "another customer's schedules stay")

		_, err = e.Unschedule(portone.UnscheduleRequest{CustomerUID: custA})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-u1"}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)

		// Revoked schedules never run.
		e.clk.Advance(5 * time.Hour)
		for _, m := range []string{"ord-u1", "ord-u2", "ord-u3", "ord-u4"} {
			require.Empty(t, e.ledgerFor(m))
		}
		require.Equal(t, 1, e.emu.PaidCount("ord-b1"))
	})

	t.Run("an executed schedule cannot be revoked", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.Schedule(portone.ScheduleRequest{CustomerUID: custA, Schedules: []portone.ScheduleEntry{entry("ord-done", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)
		e.clk.Advance(time.Hour)
		_, err = e.Unschedule(portone.UnscheduleRequest{MerchantUIDs: []string{"ord-done"}})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToUnschedule)
		require.Equal(t, "executed", e.scheduleRecord("ord-done").Status)
	})
}

func TestClientEmulator_PaymentLookups(t *testing.T) {
	// ord-retry: a declined attempt, then a paid one a minute later (a failed merchant_uid
	// may be charged again).
	seed := func(t *testing.T) (e *env, failed, paid *portone.Payment) {
		t.Helper()
		e = newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-retry", Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "한도초과", Times: 1})
		failed, err := e.Again(charge(custA, "ord-retry", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, failed.Status)
		e.clk.Advance(time.Minute)
		paid = e.pay(custA, "ord-retry", 1000)
		require.NotEqual(t, failed.ImpUID, paid.ImpUID)
		return e, failed, paid
	}

	t.Run("GetPayment", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		for _, want := range []*portone.Payment{failed, paid} {
			got, err := e.GetPayment(want.ImpUID)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		_, err := e.GetPayment(unknownImpUID)
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})

	t.Run("FindPayment", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		tests := []struct {
			status portone.PaymentStatus
			want   *portone.Payment // nil: not found
		}{
			{status: "", want: paid}, // the most recently started
			{status: portone.StatusPaid, want: paid},
			{status: portone.StatusFailed, want: failed},
			{status: portone.StatusCancelled},
		}
		for _, tt := range tests {
			got, err := e.FindPayment("ord-retry", tt.status)
			if tt.want == nil {
				requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
				continue
			}
			require.NoError(t, err, "status %q", tt.status)
			require.Equal(t, tt.want, got, "status %q", tt.status)
		}
		_, err := e.FindPayment("ord-never", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
	})

	t.Run("FindAllPayments", func(t *testing.T) {
		t.Parallel()
		e, failed, paid := seed(t)
		imps := func(p *portone.Page[portone.Payment]) []string {
			out := []string{}
			for _, x := range p.List {
				out = append(out, x.ImpUID)
			}
			return out
		}
		tests := []struct {
			name      string
			q         portone.FindAllQuery
			want      []string
			wantTotal int
			wantPrev  int
			wantNext  int
		}{
			{name: "all, newest first", want: []string{paid.ImpUID, failed.ImpUID}, wantTotal: 2},
			{name: "oldest first", q: portone.FindAllQuery{Sorting: "started"}, want: []string{failed.ImpUID, paid.ImpUID}, wantTotal: 2},
			{name: "failed only", q: portone.FindAllQuery{Status: portone.StatusFailed}, want: []string{failed.ImpUID}, wantTotal: 1},
			{name: "page 2 of 1", q: portone.FindAllQuery{Limit: 1, Page: 2}, want: []string{failed.ImpUID}, wantTotal: 2, wantPrev: 1},
			{name: "page 1 of 1", q: portone.FindAllQuery{Limit: 1}, want: []string{paid.ImpUID}, wantTotal: 2, wantNext: 2},
		}
		for _, tt := range tests {
			got, err := e.FindAllPayments("ord-retry", tt.q)
			require.NoError(t, err, tt.name)
			require.Equal(t, tt.want, imps(got), tt.name)
			require.Equal(t, tt.wantTotal, got.Total, tt.name)
			require.Equal(t, tt.wantPrev, got.Previous, tt.name)
			require.Equal(t, tt.wantNext, got.Next, tt.name)
		}
		_, err := e.FindAllPayments("ord-retry", portone.FindAllQuery{Status: portone.StatusCancelled})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindAllPayments("ord-never", portone.FindAllQuery{})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		// The ledger agrees: two records, one charge.
		led := e.ledgerFor("ord-retry")
		require.Len(t, led, 2)
		require.Equal(t, "failed", led[0].Status)
		require.Equal(t, "한도초과", led[0].FailReason)
		require.Equal(t, "paid", led[1].Status)
		require.Equal(t, 1, e.emu.PaidCount("ord-retry"))
	})
}

func TestClientEmulator_SandboxLookups(t *testing.T) {
	t.Run("test-channel payments need WithIncludeSandbox", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, sandboxMerchant())
		e.register(custA)
		p := e.pay(custA, "ord-sandbox", 1000)
		require.True(t, p.Sandbox)

		_, err := e.GetPayment(p.ImpUID)
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindPayment("ord-sandbox", "")
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)
		_, err = e.FindAllPayments("ord-sandbox", portone.FindAllQuery{})
		requireRefusal(t, err, http.StatusNotFound, 1, portone.ErrNotFound)

		sb := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret}, portone.WithIncludeSandbox(true))
		got, err := sb.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, p, got)
		got, err = sb.FindPayment("ord-sandbox", portone.StatusPaid)
		require.NoError(t, err)
		require.Equal(t, p, got)
		all, err := sb.FindAllPayments("ord-sandbox", portone.FindAllQuery{})
		require.NoError(t, err)
		require.Len(t, all.List, 1)
		require.True(t, e.emu.Ledger()[1].Sandbox)
	})
}

func TestClientEmulator_Cancel(t *testing.T) {
	ptr := func(k portone.KRW) *portone.KRW { return &k }

	t.Run("partial, wrong checksum, full, already cancelled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		p := e.pay(custA, "ord-refund", 1000)
		e.clk.Advance(time.Hour)

		part, err := e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Amount: 300, Checksum: ptr(1000),
			Reason: "부분 환불", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, part.Status, "a partial refund leaves the payment paid")
		require.Equal(t, portone.KRW(300), part.CancelAmount)
		require.Len(t, part.CancelHistory, 1)
		h := part.CancelHistory[0]
		require.Equal(t, portone.KRW(300), h.Amount)
		require.Equal(t, "부분 환불", h.Reason)
		require.NotEmpty(t, h.CancellationID)
		require.NotEmpty(t, h.PGTID)
		require.Equal(t, t0.Add(time.Hour).Unix(), h.CancelledAt)
		require.Equal(t, int64(300), e.ledgerFor("ord-refund")[0].CancelAmount)

		// The caller still believes 1000 is refundable: PortOne refuses, nothing moves.
		_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Amount: 300, Checksum: ptr(1000), Reason: "중복 요청", Requester: portone.RequesterAdmin})
		apiErr := requireRefusal(t, err, http.StatusOK, 1, nil)
		require.Contains(t, apiErr.Message, "checksum")
		require.Equal(t, int64(300), e.ledgerFor("ord-refund")[0].CancelAmount)

		// The rest, named by merchant_uid, with the right checksum.
		full, err := e.CancelPayment(portone.CancelRequest{MerchantUID: "ord-refund", Checksum: ptr(700), Reason: "해지", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, portone.StatusCancelled, full.Status)
		require.Equal(t, portone.KRW(1000), full.CancelAmount)
		require.Len(t, full.CancelHistory, 2)
		require.Equal(t, portone.KRW(700), full.CancelHistory[1].Amount)
		require.NotEqual(t, full.CancelHistory[0].CancellationID, full.CancelHistory[1].CancellationID)
		led := e.ledgerFor("ord-refund")
		require.Len(t, led, 1)
		require.Equal(t, "cancelled", led[0].Status)
		require.Equal(t, int64(1000), led[0].CancelAmount)
		require.Equal(t, 1, e.emu.PaidCount("ord-refund"), "a refunded charge still happened")
		require.Empty(t, e.emu.Warnings())

		got, err := e.GetPayment(p.ImpUID)
		require.NoError(t, err)
		require.Equal(t, full, got)

		_, err = e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: "again", Requester: portone.RequesterAdmin})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrAlreadyCancelled)
		_, err = e.Again(charge(custA, "ord-refund", 1000))
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrMerchantUIDUsed)
	})

	t.Run("nothing to cancel", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.emu.AddFault(portonetest.Fault{MerchantUID: "ord-declined", Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Times: 1})
		declined, err := e.Again(charge(custA, "ord-declined", 1000))
		require.NoError(t, err)
		require.Equal(t, portone.StatusFailed, declined.Status)

		for _, req := range []portone.CancelRequest{
			{ImpUID: unknownImpUID, Reason: "x", Requester: portone.RequesterAdmin},
			{MerchantUID: "ord-never", Reason: "x", Requester: portone.RequesterAdmin},
			{ImpUID: declined.ImpUID, Reason: "x", Requester: portone.RequesterAdmin},
		} {
			_, err := e.CancelPayment(req)
			requireRefusal(t, err, http.StatusOK, 1, portone.ErrNothingToCancel)
		}
	})

	t.Run("enable_webhook sends a cancel notification", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		p := e.pay(custA, "ord-hook", 1000)
		e.waitWebhooks(1)
		full, err := e.CancelPayment(portone.CancelRequest{ImpUID: p.ImpUID, Reason: "해지", Requester: portone.RequesterCustomer, EnableWebhook: true})
		require.NoError(t, err)
		d := e.waitWebhooks(2)
		require.Equal(t, "cancelled", d[1].Status)
		require.Equal(t, full.CancelHistory[0].CancellationID, d[1].CancellationID)
	})
}

func TestClientEmulator_Tokens(t *testing.T) {
	t.Run("expiry on the client's (emulator) clock refreshes before sending", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(31 * time.Minute)
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Zero(t, e.statuses(http.StatusUnauthorized), "no request went out with the expired token")
		require.Equal(t, 2, e.tokenCount(), "a new token after expiry")
	})

	t.Run("expiry unnoticed by the client costs one 401, then it refreshes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, realClientClock())
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(31 * time.Minute)
		p, err := e.Again(charge(custA, "ord-after-expiry", 1000))
		require.NoError(t, err, "the refresh is transparent, even on a write")
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized))
		require.Equal(t, 2, e.requests(http.MethodPost, pathAgain), "the refused attempt and the retry")
		require.Equal(t, 1, e.emu.PaidCount("ord-after-expiry"), "the 401 charged nothing")
		require.Equal(t, 2, e.tokenCount())
	})

	t.Run("asking in the last minute extends the same token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(29*time.Minute + 30*time.Second) // inside the client's 60 s margin
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(2 * time.Minute) // past the original expiry, inside the extension
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Equal(t, 1, e.tokenCount(), "PortOne extends the token instead of replacing it")
		require.Zero(t, e.statuses(http.StatusUnauthorized))
	})

	t.Run("RevokeTokens costs exactly one 401", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.emu.RevokeTokens("")
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized))
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Equal(t, 2, e.tokenCount())
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized), "the new token sticks")
	})

	t.Run("concurrent callers share one token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.GetCustomer(custA)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, e.requests(http.MethodPost, pathGetToken))
	})

	t.Run("concurrent callers after a revoke refresh once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.emu.RevokeTokens(emuKey)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.Again(charge(custA, fmt.Sprintf("ord-c%d", i), 1000))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err)
			require.Equal(t, 1, e.emu.PaidCount(fmt.Sprintf("ord-c%d", i)))
		}
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken), "one fetch, one refresh")
		require.Equal(t, 2, e.tokenCount())
	})

	t.Run("wrong credentials are ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		bad := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret + "-rotated"})
		_, err := bad.GetCustomer(custA)
		apiErr := requireRefusal(t, err, http.StatusUnauthorized, -1, portone.ErrUnauthorized)
		require.Equal(t, opGetToken, apiErr.Op)
		require.NotContains(t, err.Error(), "-rotated")
		_, err = bad.Again(charge(custA, "ord-bad-creds", 1000))
		requireRefusal(t, err, http.StatusUnauthorized, -1, portone.ErrUnauthorized)
		require.Zero(t, e.requests(http.MethodPost, pathAgain), "the charge was never sent")
	})
}

// ---- 3. no secret in any error ----

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
