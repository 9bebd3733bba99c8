package portonetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// v2Harness is an emulator on a manual clock with its V2 API behind an httptest server.
type v2Harness struct {
	t   *testing.T
	emu *Emulator
	srv *httptest.Server
	clk *ManualClock
	// check, when set, sees every request and answer (the contract tests validate them).
	check func(req *http.Request, reqBody []byte, status int, header http.Header, body []byte)
}

func newV2Harness(t *testing.T, opts ...func(*Options)) *v2Harness {
	t.Helper()
	clk := NewManualClock(t0)
	o := Options{Clock: clk}
	for _, f := range opts {
		f(&o)
	}
	emu, srv := NewV2Server(t, o)
	return &v2Harness{t: t, emu: emu, srv: srv, clk: clk}
}

// v2Resp is one V2 answer.
type v2Resp struct {
	Status int
	Header http.Header
	Raw    []byte
}

func (r v2Resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Raw, &m), "%s", r.Raw)
	return m
}

// typ is an error answer's type.
func (r v2Resp) typ(t *testing.T) string {
	t.Helper()
	s, _ := r.obj(t)["type"].(string)
	return s
}

// do sends a V2 request with the default secret. body may be nil, a string (sent verbatim,
// without Content-Type, as the JavaScript SDK does) or a value sent as JSON.
func (h *v2Harness) do(method, path string, body any, hdr ...func(*http.Request)) v2Resp {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(h.t, err)
	}
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	if _, isString := body.(string); raw != nil && !isString {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "PortOne "+DefaultV2Secret)
	for _, f := range hdr {
		f(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	if h.check != nil {
		h.check(req, raw, resp.StatusCode, resp.Header, out)
	}
	return v2Resp{Status: resp.StatusCode, Header: resp.Header, Raw: out}
}

// query is path with ?requestBody=<JSON of v>.
func query(path string, v any) string {
	b, _ := json.Marshal(v)
	return path + "?requestBody=" + url.QueryEscape(string(b))
}

// issueKey issues a NaverPay key for issueID and returns it.
func (h *v2Harness) issueKey(issueID string) string {
	h.t.Helper()
	k, err := h.emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: issueID, IssueName: "월간 구독",
		Customer: V2Customer{ID: "cust-" + issueID, Name: "홍길동", PhoneNumber: "01012345678"}, NaverAccount: "naver-" + issueID})
	require.NoError(h.t, err)
	return k.BillingKey
}

// payBody is a BillingKeyPaymentInput.
func payBody(key string, total int64, extra ...func(map[string]any)) map[string]any {
	b := map[string]any{"billingKey": key, "orderName": "월간 구독", "amount": map[string]any{"total": total}, "currency": "KRW"}
	for _, f := range extra {
		f(b)
	}
	return b
}

func (h *v2Harness) pay(paymentID, key string, total int64, extra ...func(map[string]any)) v2Resp {
	h.t.Helper()
	return h.do(http.MethodPost, "/payments/"+url.PathEscape(paymentID)+"/billing-key", payBody(key, total, extra...))
}
