package portonetest

// V2 plumbing: the V2 mux and its route table, authentication, the {type, message} error
// shape, request decoding (JSON with or without a JSON Content-Type, and the ?requestBody=
// query form of list and revoke) and the faults around each handler, shared with V1.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// V2 fault operations: a fault's Op names the V2 route it applies to. A fault with OpAny (or
// no Op) applies to V1 and V2 alike.
const (
	// OpV2Pay is POST /payments/{paymentId}/billing-key.
	OpV2Pay FaultOp = "v2_pay"
	// OpV2ScheduleExecution is the execution of a due V2 schedule.
	OpV2ScheduleExecution FaultOp = "v2_schedule_execution"
	// OpV2Cancel is POST /payments/{paymentId}/cancel.
	OpV2Cancel FaultOp = "v2_cancel"
	// OpV2Lookup is every V2 read (payment, payments, billing key, schedules).
	OpV2Lookup FaultOp = "v2_lookup"
	// OpV2Schedule is POST /payments/{paymentId}/schedule.
	OpV2Schedule FaultOp = "v2_schedule"
	// OpV2Revoke is DELETE /payment-schedules.
	OpV2Revoke FaultOp = "v2_revoke"
	// OpV2DeleteBillingKey is DELETE /billing-keys/{billingKey}.
	OpV2DeleteBillingKey FaultOp = "v2_delete_billing_key"
	// OpV2Issue is a V2 billing-key issuance (the browser stand-in's window, IssueBillingKeyV2).
	OpV2Issue FaultOp = "v2_issue"
	// OpV2Login is POST /login/api-secret.
	OpV2Login FaultOp = "v2_login"
)

func init() {
	// The V2 ops join the V1 table of where each action applies (faults.go).
	add := func(a FaultAction, ops ...FaultOp) { faultOps[a] = append(faultOps[a], ops...) }
	add(FaultDecline, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel, OpV2Issue)
	add(FaultDeclineCode, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel)
	add(FaultErrorBeforeCommit, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel, OpV2Lookup, OpV2Schedule, OpV2Revoke, OpV2DeleteBillingKey, OpV2Issue, OpV2Login)
	add(FaultCommitThenDrop, OpV2Pay, OpV2Cancel, OpV2Schedule, OpV2Revoke, OpV2DeleteBillingKey)
	add(FaultLatency, OpV2Pay, OpV2Cancel, OpV2Lookup, OpV2Schedule, OpV2Revoke, OpV2DeleteBillingKey, OpV2Login)
	add(FaultLatencyAfterCommit, OpV2Pay, OpV2Cancel, OpV2Schedule, OpV2Revoke, OpV2DeleteBillingKey)
	add(FaultWebhookFail, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel, OpV2Issue, OpV2DeleteBillingKey)
	add(FaultWebhookDuplicate, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel, OpV2Issue, OpV2DeleteBillingKey)
	add(FaultWebhookDelay, OpV2Pay, OpV2ScheduleExecution, OpV2Cancel, OpV2Issue, OpV2DeleteBillingKey)
	add(FaultAmountMismatch, OpV2Pay, OpV2ScheduleExecution)
}

// V2 error types the emulator answers (the `type` of V2's error bodies).
const (
	v2InvalidRequest          = "INVALID_REQUEST"
	v2Unauthorized            = "UNAUTHORIZED"
	v2Forbidden               = "FORBIDDEN"
	v2PGProvider              = "PG_PROVIDER"
	v2AlreadyPaid             = "ALREADY_PAID"
	v2AlreadyPaidOrWaiting    = "ALREADY_PAID_OR_WAITING"
	v2KeyNotFound             = "BILLING_KEY_NOT_FOUND"
	v2KeyAlreadyDeleted       = "BILLING_KEY_ALREADY_DELETED"
	v2MaxTransactions         = "MAX_TRANSACTION_COUNT_REACHED"
	v2ScheduleExists          = "PAYMENT_SCHEDULE_ALREADY_EXISTS"
	v2ScheduleNotFound        = "PAYMENT_SCHEDULE_NOT_FOUND"
	v2ScheduleProcessed       = "PAYMENT_SCHEDULE_ALREADY_PROCESSED"
	v2ScheduleRevoked         = "PAYMENT_SCHEDULE_ALREADY_REVOKED"
	v2PaymentNotFound         = "PAYMENT_NOT_FOUND"
	v2PaymentNotPaid          = "PAYMENT_NOT_PAID"
	v2PaymentAlreadyCancelled = "PAYMENT_ALREADY_CANCELLED"
	v2ConsistencyBroken       = "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"
	v2CancelExceeds           = "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"
	v2CancelTaxFreeExceeds    = "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"
	// v2Internal is the type of an injected 5xx (error_before_commit): PortOne's 5xx bodies
	// are undocumented. Guess.
	v2Internal = "INTERNAL_SERVER_ERROR"
)

// v2Error is V2's error body: {type, message} plus PG_PROVIDER's pgCode and pgMessage.
type v2Error struct {
	Type      string `json:"type"`
	Message   string `json:"message,omitempty"`
	PGCode    string `json:"pgCode,omitempty"`
	PGMessage string `json:"pgMessage,omitempty"`
}

// v2Result is what a V2 handler decides.
type v2Result struct {
	status int
	body   any
	// after is a fault that acts once the handler committed (as result.after in V1).
	after *Fault
}

func v2OK(body any) v2Result { return v2Result{status: http.StatusOK, body: body} }

func v2Fail(status int, typ, format string, args ...any) v2Result {
	return v2Result{status: status, body: v2Error{Type: typ, Message: fmt.Sprintf(format, args...)}}
}

// v2Call is one authenticated V2 request being handled.
type v2Call struct {
	e    *Emulator
	r    *http.Request
	m    *merchant
	body params // the JSON body, or the ?requestBody= query's JSON
	q    url.Values
	op   FaultOp
}

// v2Route is one V2 endpoint.
type v2Route struct {
	method  string
	pattern string
	op      FaultOp
	auth    bool
	handle  func(*v2Call) v2Result
}

func (rt v2Route) muxPattern() string { return rt.method + " " + rt.pattern }

// v2Routes lists the V2 routes the emulator serves: the one place to add one.
func (e *Emulator) v2RouteTable() []v2Route {
	return []v2Route{
		{http.MethodPost, "/login/api-secret", OpV2Login, false, e.v2Login},
		{http.MethodGet, "/billing-keys/{billingKey}", OpV2Lookup, true, e.v2GetBillingKey},
		{http.MethodDelete, "/billing-keys/{billingKey}", OpV2DeleteBillingKey, true, e.v2DeleteBillingKey},
		{http.MethodPost, "/payments/{paymentId}/billing-key", OpV2Pay, true, e.v2Pay},
		{http.MethodGet, "/payments/{paymentId}", OpV2Lookup, true, e.v2GetPayment},
		{http.MethodGet, "/payments", OpV2Lookup, true, e.v2GetPayments},
		{http.MethodGet, "/payments-by-cursor", OpV2Lookup, true, e.v2GetPaymentsByCursor},
		{http.MethodGet, "/payments/{paymentId}/transactions", OpV2Lookup, true, e.v2GetTransactions},
		{http.MethodPost, "/payments/{paymentId}/cancel", OpV2Cancel, true, e.v2Cancel},
		{http.MethodPost, "/payments/{paymentId}/resend-webhook", OpV2Lookup, true, e.v2ResendWebhook},
		{http.MethodPost, "/payments/{paymentId}/schedule", OpV2Schedule, true, e.v2CreateSchedule},
		{http.MethodGet, "/payment-schedules/{paymentScheduleId}", OpV2Lookup, true, e.v2GetSchedule},
		{http.MethodGet, "/payment-schedules", OpV2Lookup, true, e.v2GetSchedules},
		{http.MethodDelete, "/payment-schedules", OpV2Revoke, true, e.v2RevokeSchedules},
	}
}

// withV2Defaults gives the first merchant the default V2 store and fills the store id and
// channel key of every merchant with a V2 secret.
func withV2Defaults(ms []Merchant) []Merchant {
	out := append([]Merchant(nil), ms...)
	for i := range out {
		m := &out[i]
		if i == 0 && m.V2Secret == "" {
			m.V2Secret = DefaultV2Secret
		}
		if m.V2Secret == "" {
			continue
		}
		if m.StoreID == "" {
			m.StoreID = DefaultStoreID
			if i > 0 {
				m.StoreID = "store-" + m.Key
			}
		}
		if m.V2ChannelKey == "" {
			m.V2ChannelKey = DefaultV2ChannelKey
			if i > 0 {
				m.V2ChannelKey = "channel-key-" + m.Key
			}
		}
	}
	return out
}

// initV2 builds the V2 handler and reads the V2 options.
func (e *Emulator) initV2() {
	o := e.opts.V2
	e.v2AsyncCancel = o.AsyncCancel
	e.v2AsyncDelay = o.AsyncCancelDelay
	if e.v2AsyncDelay == 0 {
		e.v2AsyncDelay = DefaultV2AsyncCancelDelay
	}
	secrets := o.WebhookSecrets
	if len(secrets) == 0 {
		secrets = []string{DefaultV2WebhookSecret}
	}
	for _, s := range secrets {
		raw, _ := decodeWebhookSecret(s) // validated by Options.Validate
		e.v2Secrets = append(e.v2Secrets, raw)
	}
	e.v2Routes = e.v2RouteTable()
	mux := http.NewServeMux()
	var patterns []string
	for _, rt := range e.v2Routes {
		patterns = append(patterns, rt.muxPattern())
		mux.Handle(rt.muxPattern(), e.v2RouteHandler(rt))
	}
	// The control API and the browser stand-ins are the V1 mux's; V2's listener serves them
	// too, so a process that only knows the V2 URL can drive the emulator.
	mux.Handle(controlPrefix, e.mux)
	mux.Handle(strings.TrimSuffix(controlPrefix, "/"), e.mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(mux, r, patterns); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, v2Error{Type: v2InvalidRequest, Message: "method not allowed; use " + strings.Join(allowed, ", ")})
			return
		}
		writeJSON(w, http.StatusNotFound, v2Error{Type: v2InvalidRequest, Message: "no such API (emulator: route not found)"})
	})
	e.v2 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			pattern := r.Pattern
			if pattern == "" || pattern == "/" {
				pattern = "unmatched"
			}
			e.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("api", "v2"),
				slog.String("method", r.Method), slog.String("route", pattern),
				slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
		}
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && !strings.HasPrefix(p, controlPrefix) {
			r.URL.Path = strings.TrimSuffix(p, "/")
			r.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
		}
		mux.ServeHTTP(sw, r)
	})
}

// v2Authenticate resolves "Authorization: PortOne <secret>" (or "Bearer <access token>" from
// POST /login/api-secret) to its merchant.
func (e *Emulator) v2Authenticate(r *http.Request) (*merchant, bool) {
	scheme, value, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case strings.EqualFold(scheme, "PortOne"):
		for _, key := range e.merchantOrder {
			if m := e.merchants[key]; m.v2Secret != "" && m.v2Secret == value {
				return m, true
			}
		}
	case strings.EqualFold(scheme, "Bearer"):
		if t, ok := e.tokens[value]; ok && t.v2 && e.clock.Now().Before(t.expiresAt) {
			return t.merchant, true
		}
	}
	return nil, false
}

// readV2Body decodes a V2 request's JSON: the body (whatever its Content-Type says, as the
// JavaScript SDK sends none) or, when the body is empty, the requestBody query parameter.
func readV2Body(r *http.Request) (params, error) {
	var raw []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return params{}, errBodyTooLarge
			}
			return params{}, fmt.Errorf("reading body: %w", err)
		}
		raw = bytes.TrimSpace(b)
	}
	if len(raw) == 0 {
		raw = []byte(strings.TrimSpace(r.URL.Query().Get("requestBody")))
	}
	if len(raw) == 0 {
		return newParams(map[string]any{}), nil
	}
	m, err := decodeJSONObject(raw)
	if err != nil {
		return params{}, err
	}
	return newParams(m), nil
}

// v2RouteHandler serves one V2 route: authentication, decoding, faults, the handler.
func (e *Emulator) v2RouteHandler(rt v2Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &v2Call{e: e, r: r, op: rt.op, q: r.URL.Query()}
		if rt.auth {
			m, ok := e.v2Authenticate(r)
			if !ok {
				writeJSON(w, http.StatusUnauthorized, v2Error{Type: v2Unauthorized, Message: "인증 정보가 올바르지 않습니다. (Authorization: PortOne <API secret>)"})
				return
			}
			c.m = m
		}
		body, err := readV2Body(r)
		if errors.Is(err, errBodyTooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, v2Error{Type: v2InvalidRequest, Message: fmt.Sprintf("request body over %d bytes", maxBodyBytes)})
			return
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, v2Error{Type: v2InvalidRequest, Message: err.Error()})
			return
		}
		c.body = body
		if c.m != nil {
			// storeId names a sub-store; the emulator's stores have none, so only the
			// secret's own store is accessible.
			store, _, _ := c.body.str("storeId")
			if store == "" {
				store = c.q.Get("storeId")
			}
			if filter, ok, _ := c.body.obj("filter"); store == "" && ok {
				store, _, _ = filter.str("storeId")
			}
			if pay, ok, _ := c.body.obj("payment"); store == "" && ok {
				store, _, _ = pay.str("storeId")
			}
			if store != "" && store != c.m.storeID {
				writeJSON(w, http.StatusForbidden, v2Error{Type: v2Forbidden, Message: "storeId " + store + " is not this secret's store"})
				return
			}
		}

		subj := c.subject()
		if f := e.fire(c.op, subj, FaultLatency); f != nil {
			if !e.sleep(r.Context(), f.Latency) {
				return
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
			writeJSON(w, status, v2Error{Type: v2Internal, Message: msg})
			return
		}

		res := rt.handle(c)
		if f := res.after; f != nil {
			switch f.Action {
			case FaultCommitThenDrop:
				e.log.Info("fault: dropping the connection after commit", slog.String("route", rt.muxPattern()))
				dropConnection(w)
				return
			case FaultLatencyAfterCommit:
				if !e.sleep(r.Context(), f.Latency) {
					return
				}
			}
		}
		writeJSON(w, res.status, res.body)
	})
}

// subject identifies what a V2 request is about, for faults: the billing key as the
// customer_uid, the paymentId as the merchant_uid.
func (c *v2Call) subject() subject {
	s := subject{merchant: c.m.keyOrEmpty()}
	s.merchantUID = c.r.PathValue("paymentId")
	s.customerUID = c.r.PathValue("billingKey")
	if s.customerUID == "" {
		s.customerUID, _, _ = c.body.str("billingKey")
	}
	if s.customerUID == "" {
		if pay, ok, _ := c.body.obj("payment"); ok {
			s.customerUID, _, _ = pay.str("billingKey")
		}
	}
	if s.customerUID == "" && s.merchantUID != "" && c.m != nil {
		c.e.mu.Lock()
		if ps := c.m.v2.attempts[s.merchantUID]; len(ps) > 0 {
			s.customerUID = ps[len(ps)-1].customerUID
		}
		c.e.mu.Unlock()
	}
	return s
}

// v2Login serves POST /login/api-secret: a 30-minute access token (Bearer) and a refresh
// token; each login replaces the store's previous tokens.
func (e *Emulator) v2Login(c *v2Call) v2Result {
	secret, _, err := c.body.str("apiSecret")
	if err != nil || secret == "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "apiSecret is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, key := range e.merchantOrder {
		m := e.merchants[key]
		if m.v2Secret == "" || m.v2Secret != secret {
			continue
		}
		for v, t := range e.tokens {
			if t.v2 && t.merchant == m {
				delete(e.tokens, v)
			}
		}
		tok := &token{value: newTokenValue(), merchant: m, expiresAt: e.clock.Now().Add(tokenLifetime), v2: true}
		e.tokens[tok.value] = tok
		return v2OK(map[string]string{"accessToken": tok.value, "refreshToken": newTokenValue()})
	}
	return v2Fail(http.StatusUnauthorized, v2Unauthorized, "API secret이 올바르지 않습니다.")
}

// remoteIP is the caller's address for a payment's origin.ipAddress.
func remoteIP(r *http.Request) string {
	if r == nil {
		return "127.0.0.1"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || host == "" {
		return "127.0.0.1"
	}
	return host
}

// v2Time formats an instant as V2 does: RFC 3339 in UTC with milliseconds.
func v2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
