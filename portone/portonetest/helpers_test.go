package portonetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is the tests' starting time: a Monday morning in Seoul.
var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, kst)

// harness is an emulator on a manual clock behind an httptest server, with a token for the
// default merchant.
type harness struct {
	t     *testing.T
	emu   *Emulator
	srv   *httptest.Server
	clk   *ManualClock
	token string
}

func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	clk := NewManualClock(t0)
	o := Options{Clock: clk}
	for _, f := range opts {
		f(&o)
	}
	emu, srv := NewServer(t, o)
	h := &harness{t: t, emu: emu, srv: srv, clk: clk}
	h.token = h.getToken(DefaultKey, DefaultSecret)
	return h
}

// apiResponse is a decoded PortOne envelope plus its HTTP status.
type apiResponse struct {
	Status   int
	Header   http.Header
	Code     int             `json:"code"`
	Message  *string         `json:"message"`
	Response json.RawMessage `json:"response"`
	Raw      string
}

func (r apiResponse) msg() string {
	if r.Message == nil {
		return ""
	}
	return *r.Message
}

// into decodes response into v.
func (r apiResponse) into(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Response, v), "response: %s", r.Raw)
}

// obj decodes response as a generic object.
func (r apiResponse) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.into(t, &m)
	return m
}

type reqOpt func(*http.Request)

func withToken(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func noAuth() reqOpt { return func(r *http.Request) { r.Header.Del("Authorization") } }

// do sends a request. body may be nil, a string (sent as a form), or anything else (JSON).
func (h *harness) do(method, path string, body any, opts ...reqOpt) apiResponse {
	h.t.Helper()
	return doRequest(h.t, h.srv.URL, method, path, body, append([]reqOpt{withToken(h.token)}, opts...)...)
}

func doRequest(t *testing.T, base, method, path string, body any, opts ...reqOpt) apiResponse {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd, ct = bytes.NewReader(js), "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	require.NoError(t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := apiResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	require.NoError(t, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
}

func (h *harness) getToken(key, secret string) string {
	h.t.Helper()
	r := doRequest(h.t, h.srv.URL, http.MethodPost, "/users/getToken", map[string]string{"imp_key": key, "imp_secret": secret})
	require.Equal(h.t, http.StatusOK, r.Status, r.Raw)
	var a authResponse
	r.into(h.t, &a)
	return a.AccessToken
}

func (h *harness) register(uid string, opts ...func(*CustomerSeed)) RegisteredCustomer {
	h.t.Helper()
	seed := CustomerSeed{CustomerUID: uid, CustomerName: "홍길동", CustomerTel: "01012345678", CustomerEmail: "hong@example.com"}
	for _, f := range opts {
		f(&seed)
	}
	reg, err := h.emu.RegisterCustomer(DefaultKey, seed)
	require.NoError(h.t, err)
	return reg
}

// again charges customerUID; extra fields override the defaults.
func (h *harness) again(customerUID, merchantUID string, amount int64, extra ...map[string]any) apiResponse {
	h.t.Helper()
	body := map[string]any{"customer_uid": customerUID, "merchant_uid": merchantUID, "amount": amount, "name": "월간 구독"}
	for _, e := range extra {
		for k, v := range e {
			body[k] = v
		}
	}
	return h.do(http.MethodPost, "/subscribe/payments/again", body)
}

// control sends a control-API request and decodes the JSON answer.
func (h *harness) control(method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		require.NoError(h.t, err)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

// payment is the subset of PaymentAnnotation the tests read.
type testPayment struct {
	ImpUID           string  `json:"imp_uid"`
	MerchantUID      string  `json:"merchant_uid"`
	PayMethod        *string `json:"pay_method"`
	Channel          *string `json:"channel"`
	PGProvider       *string `json:"pg_provider"`
	ApplyNum         *string `json:"apply_num"`
	Amount           int64   `json:"amount"`
	CancelAmount     int64   `json:"cancel_amount"`
	Status           string  `json:"status"`
	PaidAt           int64   `json:"paid_at"`
	FailedAt         int64   `json:"failed_at"`
	CancelledAt      int64   `json:"cancelled_at"`
	FailReason       *string `json:"fail_reason"`
	CustomerUID      *string `json:"customer_uid"`
	CustomerUIDUsage *string `json:"customer_uid_usage"`
	BuyerName        *string `json:"buyer_name"`
	BuyerTel         *string `json:"buyer_tel"`
	BuyerEmail       *string `json:"buyer_email"`
	CustomData       *string `json:"custom_data"`
	ReceiptURL       *string `json:"receipt_url"`
	Sandbox          bool    `json:"sandbox"`
	Name             *string `json:"name"`
	CancelHistory    []struct {
		PGTID          string `json:"pg_tid"`
		Amount         int64  `json:"amount"`
		CancelledAt    int64  `json:"cancelled_at"`
		Reason         string `json:"reason"`
		CancellationID string `json:"cancellation_id"`
		ReceiptURL     string `json:"receipt_url"`
	} `json:"cancel_history"`
}

type testPage[T any] struct {
	Total    int `json:"total"`
	Previous int `json:"previous"`
	Next     int `json:"next"`
	List     []T `json:"list"`
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// receiver is a webhook endpoint that records what it receives.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []receivedHook
}

type receivedHook struct {
	ContentType string
	Body        string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedHook{ContentType: r.Header.Get("Content-Type"), Body: string(b)})
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setStatus(s int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = s
}

func (rc *receiver) hooks() []receivedHook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedHook(nil), rc.got...)
}

// waitHooks waits (at most 5 s) for n webhook attempts to be recorded by the emulator.
func (h *harness) waitHooks(n int) []WebhookDelivery {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := h.emu.WaitWebhooks(ctx, n)
	require.NoError(h.t, err)
	return d
}
