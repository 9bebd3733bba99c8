package portonetest

// HTTP plumbing: the one mux and its route tables, PortOne's envelope, the request pipeline
// (authentication, decoding, faults around the handler) and the status writer. The emulator's
// state and lifecycle are in emulator.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

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

// route is one PortOne endpoint: its method and net/http.ServeMux path pattern, its fault op,
// whether it needs an access token, and its handler.
type route struct {
	method  string
	pattern string
	op      FaultOp
	auth    bool
	handle  func(*call) result
}

// muxPattern is the route's pattern as the mux takes it: "GET /payments/{imp_uid}".
func (rt route) muxPattern() string { return rt.method + " " + rt.pattern }

// portoneRoutes lists PortOne's V1 REST routes that the emulator serves. It is the one place
// to add one: a line here and its handler in the resource's file.
func (e *Emulator) portoneRoutes() []route {
	return []route{
		{http.MethodPost, "/users/getToken", OpGetToken, false, e.handleGetToken},

		{http.MethodGet, "/subscribe/customers", OpLookup, true, e.handleGetCustomers},
		{http.MethodGet, "/subscribe/customers/{customer_uid}", OpLookup, true, e.handleGetCustomer},
		{http.MethodPost, "/subscribe/customers/{customer_uid}", OpIssue, true, e.handleIssueCustomer},
		{http.MethodDelete, "/subscribe/customers/{customer_uid}", OpDeleteCustomer, true, e.handleDeleteCustomer},
		{http.MethodGet, "/subscribe/customers/{customer_uid}/payments", OpLookup, true, e.handleCustomerPayments},
		{http.MethodGet, "/subscribe/customers/{customer_uid}/schedules", OpLookup, true, e.handleSchedulesByCustomer},

		{http.MethodPost, "/subscribe/payments/again", OpAgain, true, e.handleAgain},
		{http.MethodPost, "/subscribe/payments/schedule", OpSchedule, true, e.handleSchedule},
		{http.MethodGet, "/subscribe/payments/schedule", OpLookup, true, e.handleSchedulesByRange},
		{http.MethodPost, "/subscribe/payments/unschedule", OpUnschedule, true, e.handleUnschedule},
		{http.MethodGet, "/subscribe/payments/schedule/{merchant_uid}", OpLookup, true, e.handleGetSchedule},
		{http.MethodGet, "/subscribe/payments/schedule/customers/{customer_uid}", OpLookup, true, e.handleSchedulesByCustomer},

		{http.MethodGet, "/payments", OpLookup, true, e.handleGetPayments},
		{http.MethodGet, "/payments/{imp_uid}", OpLookup, true, e.handleGetPayment},
		{http.MethodGet, "/payments/find/{merchant_uid}", OpLookup, true, e.handleFindPayment},
		{http.MethodGet, "/payments/find/{merchant_uid}/{payment_status}", OpLookup, true, e.handleFindPayment},
		{http.MethodGet, "/payments/findAll/{merchant_uid}", OpLookup, true, e.handleFindAllPayments},
		{http.MethodGet, "/payments/findAll/{merchant_uid}/{payment_status}", OpLookup, true, e.handleFindAllPayments},
		{http.MethodGet, "/payments/status/{payment_status}", OpLookup, true, e.handlePaymentsByStatus}, // status.go
		{http.MethodPost, "/payments/cancel", OpCancel, true, e.handleCancel},
	}
}

// plainRoute is an endpoint of the control API or the browser stand-in, served as is.
type plainRoute struct {
	pattern string
	handle  http.HandlerFunc
}

// newMux registers every route on one net/http.ServeMux, which matches by method and
// wildcard with most-specific precedence and unescapes each path segment (an encoded "/" in a
// merchant_uid stays in its segment). Each family of routes gets a fallback that answers a
// wrong method (405, with Allow) or an unknown path in that family's own format: PortOne's
// envelope, the control API's JSON error, the browser stand-in's plain text.
func (e *Emulator) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	var portone, control, browser []string
	for _, rt := range e.routes {
		portone = append(portone, rt.muxPattern())
	}
	for _, rt := range e.routes {
		mux.Handle(rt.muxPattern(), e.portoneHandler(mux, portone, rt))
	}
	for _, rt := range e.controlRoutes() {
		mux.Handle(rt.pattern, rt.handle)
		control = append(control, rt.pattern)
	}
	for _, rt := range e.browserRoutes() {
		mux.Handle(rt.pattern, rt.handle)
		browser = append(browser, rt.pattern)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(mux, r, portone); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeEnvelope(w, http.StatusMethodNotAllowed, -1, fmt.Sprintf("허용되지 않은 메서드입니다. (%s)", strings.Join(allowed, ", ")), nil)
			return
		}
		writeEnvelope(w, http.StatusNotFound, -1, "존재하지 않는 API입니다. (emulator: route not found)", nil)
	})
	controlFallback := func(w http.ResponseWriter, r *http.Request) {
		if allowed := allowedMethods(mux, r, control); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			controlFail(w, http.StatusMethodNotAllowed, "%s %s is not supported (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", "))
			return
		}
		controlFail(w, http.StatusNotFound, "unknown control endpoint %s", r.URL.Path)
	}
	mux.HandleFunc(controlPrefix, controlFallback)
	mux.HandleFunc(strings.TrimSuffix(controlPrefix, "/"), controlFallback)
	seen := map[string]bool{}
	for _, p := range browser {
		path := p[strings.Index(p, " ")+1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			allowed := allowedMethods(mux, r, browser)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			http.Error(w, "method not allowed; use "+strings.Join(allowed, ", "), http.StatusMethodNotAllowed)
		})
	}
	return mux
}

// allowedMethods asks the mux which of patterns match r's path under another method, in the
// patterns' order, for the Allow header.
func allowedMethods(mux *http.ServeMux, r *http.Request, patterns []string) []string {
	var allowed []string
	for _, p := range patterns {
		method := p[:strings.Index(p, " ")]
		if slices.Contains(allowed, method) {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, got := mux.Handler(probe); got == p {
			allowed = append(allowed, method)
		}
	}
	return allowed
}

// portoneHandler serves one PortOne route: path wildcards become the call's vars.
//
// One rule of the old router is kept on purpose: a path that is a literal route under another
// method is that route's, so GET /payments/cancel answers 405 (Allow: POST), not a lookup of
// imp_uid "cancel". The mux alone would pick GET /payments/{imp_uid}, because it weighs the
// method and the path together.
func (e *Emulator) portoneHandler(mux *http.ServeMux, patterns []string, rt route) http.Handler {
	names := wildcards(rt.pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(names) > 0 {
			if allowed := literalElsewhere(mux, r, patterns, len(names)); len(allowed) > 0 {
				w.Header().Set("Allow", strings.Join(allowed, ", "))
				writeEnvelope(w, http.StatusMethodNotAllowed, -1, fmt.Sprintf("허용되지 않은 메서드입니다. (%s)", strings.Join(allowed, ", ")), nil)
				return
			}
		}
		vars := make(map[string]string, len(names))
		for _, n := range names {
			vars[n] = r.PathValue(n)
		}
		e.serveRoute(w, r, rt, vars)
	})
}

// literalElsewhere returns the methods under which r's path matches a pattern with fewer
// wildcards than the one that matched (nwild), in the patterns' order.
func literalElsewhere(mux *http.ServeMux, r *http.Request, patterns []string, nwild int) []string {
	var allowed []string
	for _, p := range patterns {
		method := p[:strings.Index(p, " ")]
		if method == r.Method || slices.Contains(allowed, method) || len(wildcards(p)) >= nwild {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, got := mux.Handler(probe); got == p {
			allowed = append(allowed, method)
		}
	}
	return allowed
}

// wildcards names the {wildcards} of a pattern.
func wildcards(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return names
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

// ServeHTTP serves PortOne's V1 REST routes, the control API under /__emulator/ and the
// browser stand-in, all through one net/http.ServeMux (newMux).
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		// Only the route pattern is logged: paths and queries carry customer and order ids,
		// and headers carry tokens.
		pattern := r.Pattern
		if pattern == "" || pattern == "/" {
			pattern = "unmatched"
		}
		e.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", pattern),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)))
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
	}
	if _, err := url.PathUnescape(r.URL.EscapedPath()); err != nil {
		writeEnvelope(sw, http.StatusBadRequest, 1, "요청 경로를 해석할 수 없습니다.", nil)
		return
	}
	// PortOne and the control API have always accepted a trailing slash; the mux would not.
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") && p != controlPrefix {
		r.URL.Path = strings.TrimSuffix(p, "/")
		if r.URL.RawPath != "" {
			r.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
		}
	}
	e.mux.ServeHTTP(sw, r)
}

func (e *Emulator) serveRoute(w http.ResponseWriter, r *http.Request, rt route, vars map[string]string) {
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
			e.log.Info("fault: dropping the connection after commit", slog.String("route", rt.muxPattern()))
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
