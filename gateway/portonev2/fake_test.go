package portonev2

// The client's unit tests talk to fakePortOne, an httptest server that holds every request the
// client sends to PortOne's own V2 OpenAPI document (kin-openapi's ValidateRequest: path,
// query, the ?requestBody= JSON, the body, the Authorization scheme) and, unless a test
// deliberately sends something PortOne has not published yet (new fields, enum values, oneOf
// cases), holds its own answers to the document too (ValidateResponse), so that what the
// client is tested on is what PortOne documents.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

// specPath is PortOne's V2 OpenAPI document in the shared research folder beside the
// repository (never copied into it).
const specPath = "../../../shared/portone/v2.openapi.json"

// specServer is the document's server; requests are matched against it.
const specServer = "https://api.portone.io"

// usedOperations are the operations this package calls: the document is pruned to them (the
// rest, B2B tax invoices, platform settlements and so on, only slows loading).
var usedOperations = []string{
	"POST /payments/{paymentId}/billing-key",
	"GET /payments/{paymentId}",
	"GET /payments",
	"POST /payments/{paymentId}/schedule",
	"GET /payment-schedules",
	"DELETE /payment-schedules",
	"POST /payments/{paymentId}/cancel",
	"GET /billing-keys/{billingKey}",
	"DELETE /billing-keys/{billingKey}",
}

type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// loadSpec loads the document once per test binary.
func loadSpec(t *testing.T) *spec {
	t.Helper()
	specOnce.Do(func() {
		raw, err := os.ReadFile(specPath)
		if err != nil {
			specErr = err
			return
		}
		var m map[string]any
		if specErr = json.Unmarshal(raw, &m); specErr != nil {
			return
		}
		paths := m["paths"].(map[string]any)
		kept := map[string]any{}
		for _, op := range usedOperations {
			method, p, _ := strings.Cut(op, " ")
			item, ok := paths[p].(map[string]any)
			if !ok || item[strings.ToLower(method)] == nil {
				specErr = fmt.Errorf("the document no longer has %s", op)
				return
			}
			if kept[p] == nil {
				kept[p] = map[string]any{}
			}
			kept[p].(map[string]any)[strings.ToLower(method)] = item[strings.ToLower(method)]
		}
		m["paths"] = kept
		b, err := json.Marshal(m)
		if err != nil {
			specErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(b)
		if err != nil {
			specErr = err
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		specVal = &spec{doc: doc, router: router}
	})
	if errors.Is(specErr, fs.ErrNotExist) {
		t.Skipf("PortOne's V2 OpenAPI document is not at %s (it lives in the shared research folder next to the repository); the contract tests need it", specPath)
	}
	require.NoError(t, specErr)
	return specVal
}

// authenticate accepts the portOne scheme ("Authorization: PortOne <secret>") and refuses
// bearerJwt, which this client never uses.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if in.SecuritySchemeName == "portOne" && strings.HasPrefix(h, "PortOne ") && len(h) > len("PortOne ") {
		return nil
	}
	return fmt.Errorf("no %s credentials", in.SecuritySchemeName)
}

// answer is what a fake route answers.
type answer struct {
	status int
	body   any
	// unpublished marks an answer PortOne has not published (yet): not held to the document.
	unpublished bool
	// hang makes the server stall past the client's timeout (a lost answer).
	hang bool
}

// seen is one request as the server received it.
type seen struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
	// RequestBody is the decoded ?requestBody= of the list operations.
	RequestBody map[string]any
}

// fakePortOne answers by route key ("POST /payments/{paymentId}/billing-key") and checks
// everything against the document.
type fakePortOne struct {
	t      *testing.T
	spec   *spec
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]func(s seen) answer
	log    []seen
	// violations are the departures from the document seen so far; each fails the test at
	// its end unless the test takes them (takeViolations).
	violations []string
}

// fail records a departure from the document (or a broken test setup).
func (f *fakePortOne) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

// takeViolations returns the departures seen so far and forgets them.
func (f *fakePortOne) takeViolations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.violations
	f.violations = nil
	return v
}

func newFake(t *testing.T) *fakePortOne {
	f := &fakePortOne{t: t, spec: loadSpec(t), routes: map[string]func(seen) answer{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		for _, v := range f.takeViolations() {
			t.Error(v)
		}
	})
	return f
}

// on sets the answer of a route.
func (f *fakePortOne) on(route string, h func(s seen) answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// requests returns what the server received so far.
func (f *fakePortOne) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.log...)
}

func (f *fakePortOne) gateway(t *testing.T, cfg Config) *Gateway {
	if cfg.BaseURL == "" {
		cfg.BaseURL = f.srv.URL
	}
	if cfg.Secret == "" {
		cfg.Secret = "test-secret-v2"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	g, err := New(cfg)
	require.NoError(t, err)
	return g
}

// checkRequest matches r (whose body was read into body) against the document and validates it;
// it returns the route and the validation input for the answer's check.
func (sp *spec) checkRequest(r *http.Request, body []byte) (*routers.Route, *openapi3filter.RequestValidationInput, error) {
	req, err := http.NewRequest(r.Method, specServer+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("rebuilding the request: %w", err)
	}
	req.Header = r.Header.Clone()
	route, pathParams, err := sp.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s is no operation of PortOne's V2 document: %w", r.Method, r.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate, MultiError: true}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		return route, in, fmt.Errorf("%s %s does not match PortOne's V2 document: %w", r.Method, route.Path, err)
	}
	return route, in, nil
}

// validating puts the document's request check in front of next (the emulator in the
// conformance run): every request the client sends is reported to fail when it departs.
func validating(sp *spec, fail func(format string, args ...any), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			fail("reading the request: %v", err)
			return
		}
		if _, _, err := sp.checkRequest(r, body); err != nil {
			fail("%v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func (f *fakePortOne) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail("reading the request: %v", err)
		return
	}
	route, in, err := f.spec.checkRequest(r, body)
	if err != nil {
		f.fail("%v", err)
	}
	if route == nil {
		http.Error(w, "no route", http.StatusNotFound)
		return
	}
	s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &s.Body); err != nil {
			f.fail("%s %s: the body is not a JSON object: %v", r.Method, route.Path, err)
		}
	}
	if rb := r.URL.Query().Get("requestBody"); rb != "" {
		if err := json.Unmarshal([]byte(rb), &s.RequestBody); err != nil {
			f.fail("%s %s: requestBody is not a JSON object: %v", r.Method, route.Path, err)
		}
	}
	key := r.Method + " " + route.Path
	f.mu.Lock()
	f.log = append(f.log, s)
	h := f.routes[key]
	f.mu.Unlock()
	if h == nil {
		f.fail("the test gave no answer for %s", key)
		http.Error(w, "no answer", http.StatusInternalServerError)
		return
	}
	a := h(s)
	if a.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	out, err := json.Marshal(a.body)
	if err != nil {
		f.fail("encoding the answer: %v", err)
		return
	}
	if a.body == nil {
		out = nil
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if !a.unpublished {
		rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: hdr,
			Body: io.NopCloser(bytes.NewReader(out)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
			f.fail("the fake's own %d answer to %s is not PortOne's: %v", a.status, key, err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(out)
}

// ---- spec-valid answers ----

const (
	t0 = "2025-04-01T01:00:00Z"
	t1 = "2025-04-01T01:00:01Z"
)

func ok(body any) answer { return answer{status: http.StatusOK, body: body} }

// typedError is PortOne's typed error body at the status the document gives the type.
func typedError(status int, typ string) answer {
	b := map[string]any{"type": typ, "message": "message of " + typ}
	switch typ {
	case "PG_PROVIDER":
		b["pgCode"], b["pgMessage"] = "P001", "[네이버페이] 잔액이 부족합니다."
	case "CHANNEL_SPECIFIC":
		b["failures"], b["succeededChannels"] = []any{}, []any{}
	}
	return answer{status: status, body: b}
}

func paymentBase(status, id, tx string, total int64) map[string]any {
	return map[string]any{
		"status": status, "id": id, "transactionId": tx, "merchantId": "merchant-1", "storeId": "store-1",
		"channel": map[string]any{"type": "TEST", "pgProvider": "NAVERPAY", "pgMerchantId": "np-1"},
		"version": "V2", "billingKey": "bk-1", "requestedAt": t0, "updatedAt": t1, "statusChangedAt": t1,
		"orderName": "월 구독", "currency": "KRW", "customer": map[string]any{}, "customData": `{"cycle":1}`,
		"origin": map[string]any{"platformType": "API", "ipAddress": "127.0.0.1"},
		"amount": map[string]any{"total": total, "taxFree": 0, "discount": 0, "paid": total, "cancelled": 0, "cancelledTaxFree": 0},
	}
}

func paidPayment(id, tx string, total int64) map[string]any {
	p := paymentBase("PAID", id, tx, total)
	p["paidAt"], p["disputes"], p["receiptUrl"] = t1, []any{}, "https://receipt.example/"+tx
	return p
}

func failedPayment(id, tx string, total int64) map[string]any {
	p := paymentBase("FAILED", id, tx, total)
	p["failedAt"] = t1
	p["failure"] = map[string]any{"reason": "PG 실패", "pgCode": "P001", "pgMessage": "[네이버페이] 잔액이 부족합니다."}
	return p
}

func cancelledPayment(id, tx string, total, cancelled int64) map[string]any {
	status := "CANCELLED"
	if cancelled < total {
		status = "PARTIAL_CANCELLED"
	}
	p := paymentBase(status, id, tx, total)
	p["paidAt"], p["disputes"], p["cancelledAt"] = t0, []any{}, t1
	p["amount"].(map[string]any)["cancelled"] = cancelled
	p["cancellations"] = []any{map[string]any{"status": "SUCCEEDED", "id": "c-1", "totalAmount": cancelled, "taxFreeAmount": 0,
		"vatAmount": 0, "reason": "환불", "requestedAt": t1, "cancelledAt": t1}}
	return p
}

func scheduleOf(status, id, paymentID string, total int64, at string) map[string]any {
	s := map[string]any{"status": status, "id": id, "merchantId": "merchant-1", "storeId": "store-1", "paymentId": paymentID,
		"billingKey": "bk-1", "orderName": "월 구독", "isCulturalExpense": false, "isEscrow": false, "customer": map[string]any{},
		"customData": "", "totalAmount": total, "currency": "KRW", "createdAt": t0, "timeToPay": at}
	switch status {
	case "SUCCEEDED", "FAILED":
		s["startedAt"], s["completedAt"] = at, at
	case "REVOKED":
		s["revokedAt"] = t1
	}
	return s
}

func issuedKey(key string) map[string]any {
	return map[string]any{"status": "ISSUED", "billingKey": key, "merchantId": "merchant-1", "storeId": "store-1",
		"channels":  []any{map[string]any{"type": "LIVE", "pgProvider": "NAVERPAY", "pgMerchantId": "np-1"}},
		"customer":  map[string]any{},
		"methods":   []any{map[string]any{"type": "BillingKeyPaymentMethodEasyPay", "provider": "NAVERPAY"}},
		"issueId":   "issue-1",
		"issueName": "월 구독",
		"issuedAt":  t0}
}

func page(items []any) map[string]any {
	return map[string]any{"items": items, "page": map[string]any{"number": 0, "size": len(items), "totalCount": len(items)}}
}
