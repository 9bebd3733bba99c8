package portonetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

// v2Harness is an emulator on a manual clock with its V2 API behind an httptest server.
type v2Harness struct {
	t   *testing.T
	emu *Emulator
	srv *httptest.Server
	clk *ManualClock
	// check sees every request and answer. By default it holds both to PortOne's V2 document
	// (when the shared folder has it): every answer of every V2 test must validate, and so
	// must every request unless the test called allowBadRequests.
	check func(req *http.Request, reqBody []byte, status int, header http.Header, body []byte)
	// badRequests collects requests that depart from the document.
	badRequests []string
	allowBad    bool
}

var (
	sharedV2ContractOnce sync.Once
	sharedV2Contract     *v2Contract
)

// v2ContractFor loads the V2 document once per test binary; nil when it is absent.
func v2ContractFor(t *testing.T) *v2Contract {
	sharedV2ContractOnce.Do(func() {
		if _, err := os.Stat(v2SpecPath); err != nil {
			return
		}
		doc, err := openapi3.NewLoader().LoadFromFile(v2SpecPath)
		if err != nil {
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			return
		}
		sharedV2Contract = &v2Contract{doc: doc, router: router}
	})
	if sharedV2Contract == nil {
		t.Log("V2 OpenAPI document absent: answers are not validated")
	}
	return sharedV2Contract
}

func newV2Harness(t *testing.T, opts ...func(*Options)) *v2Harness {
	t.Helper()
	clk := NewManualClock(t0)
	o := Options{Clock: clk}
	for _, f := range opts {
		f(&o)
	}
	emu, srv := NewV2Server(t, o)
	h := &v2Harness{t: t, emu: emu, srv: srv, clk: clk}
	if c := v2ContractFor(t); c != nil {
		var mu sync.Mutex
		h.check = func(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
			if strings.HasPrefix(req.URL.Path, controlPrefix) {
				return
			}
			if _, err := c.checkResponse(req.Method, req.URL.RequestURI(), status, header, body); err != nil {
				t.Errorf("answer to %s %s departs from PortOne's V2 document: %v", req.Method, req.URL.Path, err)
			}
			if err := c.checkRequest(req.Method, req.URL.RequestURI(), req.Header, reqBody); err != nil {
				mu.Lock()
				h.badRequests = append(h.badRequests, fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err))
				mu.Unlock()
			}
		}
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			if !h.allowBad && len(h.badRequests) > 0 {
				t.Errorf("requests that depart from PortOne's V2 document (call allowBadRequests if on purpose): %v", h.badRequests)
			}
		})
	}
	return h
}

// allowBadRequests lets a test send requests that break the document on purpose.
func (h *v2Harness) allowBadRequests() { h.allowBad = true }

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
