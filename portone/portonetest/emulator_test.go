package portonetest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRoutingErrors(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantAllow    string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, ""},
		{http.MethodGet, "/subscribe/payments/onetime", http.StatusNotFound, ""},
		{http.MethodGet, "/subscribe/payments/again", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPut, "/subscribe/payments/schedule", http.StatusMethodNotAllowed, "POST, GET"},
		{http.MethodPost, "/payments/imp_123456789012", http.StatusMethodNotAllowed, "GET"},
		{http.MethodGet, "/payments/cancel", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPut, "/subscribe/customers/c1", http.StatusMethodNotAllowed, "GET, POST, DELETE"},
		{http.MethodGet, "/users/getToken", http.StatusMethodNotAllowed, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := h.do(tt.method, tt.path, nil)
			require.Equal(t, tt.wantStatus, r.Status)
			require.Equal(t, -1, r.Code)
			require.NotEmpty(t, r.msg())
			require.Equal(t, "null", string(r.Response))
			require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
			require.Equal(t, tt.wantAllow, r.Header.Get("Allow"))
		})
	}
}

func TestPathSegmentsAreUnescaped(t *testing.T) {
	h := newHarness(t)
	h.register("c/1")
	r := h.do(http.MethodGet, "/subscribe/customers/c%2F1", nil)
	require.Equal(t, 0, r.Code, r.Raw)
	require.Equal(t, "c/1", r.obj(t)["customer_uid"])
}

func TestBadBodies(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	send := func(ct string, body []byte) apiResponse {
		return doRequest(t, h.srv.URL, http.MethodPost, "/subscribe/payments/again", nil, withToken(h.token), func(r *http.Request) {
			r.Body = ioNopCloser(body)
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Type", ct)
		})
	}
	tests := []struct {
		name       string
		ct         string
		body       []byte
		wantStatus int
		wantMsg    string
	}{
		{"malformed json", "application/json", []byte(`{"customer_uid":`), http.StatusBadRequest, "요청 본문을 해석할 수 없습니다: malformed JSON"},
		{"json array", "application/json", []byte(`[]`), http.StatusBadRequest, "must be an object"},
		{"bad form", "application/x-www-form-urlencoded", []byte(`a[b=1`), http.StatusBadRequest, "unclosed"},
		{"unsupported type", "application/xml", []byte(`<a/>`), http.StatusBadRequest, "unsupported Content-Type"},
		{"too large", "application/json", bytes.Repeat([]byte(" "), maxBodyBytes+10), http.StatusRequestEntityTooLarge, "요청 본문이 너무 큽니다"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(tt.ct, tt.body)
			require.Equal(t, tt.wantStatus, r.Status)
			require.Equal(t, 1, r.Code)
			require.Contains(t, r.msg(), tt.wantMsg)
		})
	}
	r := h.do(http.MethodGet, "/payments?imp_uid[=1", nil)
	require.Equal(t, http.StatusBadRequest, r.Status, "malformed queries too")
}

func ioNopCloser(b []byte) *readCloser { return &readCloser{Reader: bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestRecorderWorks(t *testing.T) {
	// The handler is usable without a server, as reference-app's fraud tests do.
	emu := New(Options{Clock: NewManualClock(t0)})
	defer emu.Close()
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/users/getToken", strings.NewReader("imp_key="+DefaultKey+"&imp_secret="+DefaultSecret)))
	require.Equal(t, http.StatusOK, rec.Code, "a form sniffed without Content-Type")
	require.Contains(t, rec.Body.String(), `"access_token"`)
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"bad not-found status", Options{CustomerNotFoundStatus: 500}, "CustomerNotFoundStatus"},
		{"bad format", Options{WebhookFormat: "xml"}, "WebhookFormat"},
		{"negative interval", Options{SchedulerInterval: -1}, "SchedulerInterval"},
		{"relative notice url", Options{DefaultNoticeURL: "/hook"}, "DefaultNoticeURL"},
		{"merchant without secret", Options{Merchants: []Merchant{{Key: "k"}}}, "Secret"},
		{"duplicate merchant", Options{Merchants: []Merchant{{Key: "k", Secret: "s"}, {Key: "k", Secret: "t"}}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.opts.Validate(), tt.want)
			require.Panics(t, func() { New(tt.opts) })
		})
	}
	require.NoError(t, Options{}.Validate())
}

func TestControlAPIMisc(t *testing.T) {
	h := newHarness(t)
	status, body := h.control(http.MethodGet, "/__emulator/health", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
	require.Equal(t, "manual", body["clock"])
	require.EqualValues(t, t0.Unix(), body["now"])

	status, body = h.control(http.MethodGet, "/__emulator/nope", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body["error"], "unknown control endpoint")
	status, _ = h.control(http.MethodPost, "/__emulator/health", nil)
	require.Equal(t, http.StatusMethodNotAllowed, status)

	h.register("c1")
	h.register("c2")
	h.again("c1", "a", 1000)
	h.again("c2", "b", 1000)
	_, body = h.control(http.MethodGet, "/__emulator/ledger", nil)
	require.Len(t, body["entries"], 4)
	_, body = h.control(http.MethodGet, "/__emulator/ledger?customer_uid=c1", nil)
	require.Len(t, body["entries"], 2)
	_, body = h.control(http.MethodGet, "/__emulator/ledger?merchant_uid=a", nil)
	require.Len(t, body["entries"], 1)
	require.EqualValues(t, 1, body["paid_count"])
	entry := body["entries"].([]any)[0].(map[string]any)
	require.Equal(t, "paid", entry["status"])
	require.Equal(t, "payment", entry["usage"])
	require.Equal(t, DefaultKey, entry["merchant"])

	h.emu.AddFault(Fault{Action: FaultDecline})
	status, _ = h.control(http.MethodPost, "/__emulator/reset", nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, h.emu.Ledger())
	require.Empty(t, h.emu.Faults())
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/subscribe/customers/c1", nil).Status, "tokens are forgotten too")
	h.token = h.getToken(DefaultKey, DefaultSecret)
	require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/c1", nil).Code, "customers are forgotten")
}

func TestLedgerOrderAndPaidCount(t *testing.T) {
	h := newHarness(t)
	reg := h.register("c1")
	h.emu.AddFault(Fault{MerchantUID: "x", Action: FaultDecline, Times: 1})
	h.again("c1", "x", 1000)
	h.again("c1", "x", 1000)
	h.clk.Advance(time.Minute)
	h.token = h.getToken(DefaultKey, DefaultSecret)
	h.again("c1", "y", 500)
	led := h.emu.Ledger()
	require.Len(t, led, 4)
	require.Equal(t, reg.RegistrationImpUID, led[0].ImpUID)
	require.Equal(t, "issue", led[0].Usage)
	require.Equal(t, []string{"failed", "paid"}, []string{led[1].Status, led[2].Status})
	require.Equal(t, "y", led[3].MerchantUID)
	require.Equal(t, t0.Add(time.Minute), led[3].CreatedAt)
	require.Equal(t, "c1", led[3].CustomerUID)
	require.EqualValues(t, 500, led[3].Amount)
	require.Equal(t, 1, h.emu.PaidCount("x"))
	require.Equal(t, 0, h.emu.PaidCount("nope"))
}

func TestCloseIsIdempotentAndStopsBackgroundWork(t *testing.T) {
	emu := New(Options{SchedulerInterval: time.Millisecond})
	emu.Close()
	emu.Close()
	_, err := emu.RegisterCustomer("", CustomerSeed{CustomerUID: "c1"})
	require.NoError(t, err, "the Go API keeps working after Close")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = emu.WaitWebhooks(ctx, 1)
	require.Error(t, err)
}

func TestManualClock(t *testing.T) {
	c := NewManualClock(t0)
	require.Equal(t, t0, c.Now())
	require.Equal(t, t0.Add(time.Hour), c.Advance(time.Hour))
	c.Set(t0)
	require.Equal(t, t0, c.Now())
	var calls []int
	un1 := c.subscribe(func() { calls = append(calls, 1) })
	c.subscribe(func() { calls = append(calls, 2) })
	c.Advance(time.Second)
	un1()
	c.Set(t0)
	require.Equal(t, []int{1, 2, 2}, calls, "listeners run in subscription order, and can unsubscribe")
	var zero ManualClock
	zero.subscribe(func() {})
	zero.Advance(time.Second)
}
