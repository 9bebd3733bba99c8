package portonetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The handler tests of the browser stand-in drive its routes over HTTP the way iamport.js and
// the window page do. browser_chromium_test.go drives the same flow in a real browser.

const shopOrigin = "http://shop.test:8080"

// naverParams returns a valid redirect-mode request_pay call as iamport.js posts it; each
// override replaces a field, and an empty value removes it.
func naverParams(overrides map[string]string) url.Values {
	v := url.Values{
		"imp_code":         {DefaultIMPCode},
		"pg":               {"naverpay"},
		"customer_uid":     {"np-c1"},
		"merchant_uid":     {"reg-np-c1"},
		"name":             {"월간 구독 (Basic)"},
		"amount":           {"9900"},
		"buyer_name":       {"홍길동"},
		"buyer_tel":        {"010-1234-5678"},
		"buyer_email":      {"hong@example.com"},
		"naverPopupMode":   {"false"},
		"m_redirect_url":   {shopOrigin + "/return?order=42"},
		"naverProductCode": {"plan-basic"},
		"origin":           {shopOrigin},
	}
	for k, val := range overrides {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	return v
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type pageResponse struct {
	Status   int
	Header   http.Header
	Body     string
	Location *url.URL
}

func (h *harness) browserDo(method, path string, form url.Values, header map[string]string) pageResponse {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	require.NoError(h.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	out := pageResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	if loc := resp.Header.Get("Location"); loc != "" {
		out.Location, err = url.Parse(loc)
		require.NoError(h.t, err)
	}
	return out
}

// openWindow creates a window session and returns its id; it fails the test if refused.
func (h *harness) openWindow(v url.Values) string {
	h.t.Helper()
	r := h.browserDo(http.MethodPost, naverSessionPath, v, nil)
	require.Equal(h.t, http.StatusCreated, r.Status, r.Body)
	var got sessionCreated
	require.NoError(h.t, json.Unmarshal([]byte(r.Body), &got))
	require.True(h.t, got.Success)
	require.Equal(h.t, naverRegisterPath+"?session="+got.SessionID, got.WindowURL)
	return got.SessionID
}

// refusedWindow posts a session request that must be refused and returns the failure.
func (h *harness) refusedWindow(v url.Values, header map[string]string) map[string]any {
	h.t.Helper()
	r := h.browserDo(http.MethodPost, naverSessionPath, v, header)
	require.Equal(h.t, http.StatusBadRequest, r.Status, r.Body)
	var got map[string]any
	require.NoError(h.t, json.Unmarshal([]byte(r.Body), &got))
	require.Equal(h.t, false, got["success"])
	require.Equal(h.t, false, got["imp_success"])
	require.Nil(h.t, got["imp_uid"])
	return got
}

func (h *harness) decide(sessionID, action string) pageResponse {
	h.t.Helper()
	return h.browserDo(http.MethodPost, naverRegisterPath, url.Values{"session": {sessionID}, "action": {action}}, nil)
}

// requireRedirectResult checks a 303 to the shop's m_redirect_url and returns its query.
func requireRedirectResult(t *testing.T, r pageResponse, success bool) url.Values {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)
	require.NotNil(t, r.Location)
	require.Equal(t, "http://shop.test:8080/return", r.Location.Scheme+"://"+r.Location.Host+r.Location.Path)
	q := r.Location.Query()
	require.Equal(t, "42", q.Get("order"), "the merchant's own query survives")
	require.Equal(t, map[bool]string{true: "true", false: "false"}[success], q.Get("imp_success"))
	return q
}

func TestBrowserScript(t *testing.T) {
	h := newHarness(t)
	r := h.browserDo(http.MethodGet, browserScriptPath, nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "text/javascript; charset=utf-8", r.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
	for _, want := range []string{"request_pay", "init:", "window.IMP", "naverpay/session", "addEventListener('message'", "naverProductCode"} {
		require.Contains(t, r.Body, want)
	}

	head := h.browserDo(http.MethodHead, browserScriptPath, nil, nil)
	require.Equal(t, http.StatusOK, head.Status)
	require.Empty(t, head.Body)

	post := h.browserDo(http.MethodPost, browserScriptPath, url.Values{}, nil)
	require.Equal(t, http.StatusMethodNotAllowed, post.Status)
	require.Equal(t, "GET, HEAD", post.Header.Get("Allow"))
}

func TestBrowserWindowPage(t *testing.T) {
	h := newHarness(t)
	id := h.openWindow(naverParams(map[string]string{
		"name":         `<script>alert("x")</script>`,
		"pg":           "naverpay.np_partner_1",
		"naverChainId": "chain-<b>",
	}))
	require.Len(t, id, 32)

	r := h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Body)
	require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
	require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	require.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
	for _, want := range []string{
		`id="naver-agree"`, `id="naver-cancel"`, "동의하고 등록", "취소",
		"등록 시 결제되지 않습니다", "No charge now",
		"9,900원", "*********5678", // masked buyer_tel
		DefaultIMPCode, "np_partner_1", "plan-basic", "np-c1",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "chain-&lt;b&gt;",
		`name="session" value="` + id + `"`,
	} {
		require.Contains(t, r.Body, want)
	}
	require.NotContains(t, r.Body, "010-1234-5678", "the phone number is masked")
	require.NotContains(t, r.Body, `<script>alert`, "merchant input is escaped")

	// Looking at the window does not use it up.
	require.Equal(t, http.StatusOK, h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil).Status)

	unknown := h.browserDo(http.MethodGet, naverRegisterPath+"?session=nope", nil, nil)
	require.Equal(t, http.StatusNotFound, unknown.Status)
	require.Contains(t, unknown.Body, "찾을 수 없습니다")
}

func TestBrowserAgreeRedirect(t *testing.T) {
	h := newHarness(t)
	id := h.openWindow(naverParams(map[string]string{"pg": "naverpay.np_partner_1", "buyer_addr": "서울시 중구", "buyer_postcode": "04524"}))

	q := requireRedirectResult(t, h.decide(id, "agree"), true)
	impUID := q.Get("imp_uid")
	require.Regexp(t, `^imp_[0-9]{12}$`, impUID)
	require.Equal(t, "reg-np-c1", q.Get("merchant_uid"))
	require.Empty(t, q.Get("error_msg"))

	// The registration record, as the merchant's server verifies it.
	r := h.do(http.MethodGet, "/payments/"+impUID, nil)
	require.Equal(t, 0, r.Code, r.Raw)
	var p testPayment
	r.into(t, &p)
	require.Equal(t, "paid", p.Status)
	require.Equal(t, int64(0), p.Amount, "registration charges nothing; amount 9900 was display only")
	require.Equal(t, "issue", str(p.CustomerUIDUsage))
	require.Equal(t, "np-c1", str(p.CustomerUID))
	require.Equal(t, "reg-np-c1", p.MerchantUID)
	require.Equal(t, "naverpay", str(p.PayMethod))
	require.Equal(t, "naverpay", str(p.PGProvider))
	require.Equal(t, "월간 구독 (Basic)", str(p.Name))
	require.Equal(t, "010-1234-5678", str(p.BuyerTel))
	require.Equal(t, "홍길동", str(p.BuyerName))

	// The billing key.
	r = h.do(http.MethodGet, "/subscribe/customers/np-c1", nil)
	require.Equal(t, 0, r.Code, r.Raw)
	cust := r.obj(t)
	require.Equal(t, "naverpay", cust["pg_provider"])
	require.Equal(t, "np_partner_1", cust["pg_id"])
	require.Equal(t, "홍길동", cust["customer_name"])
	require.Equal(t, "010-1234-5678", cust["customer_tel"])
	require.Equal(t, "hong@example.com", cust["customer_email"])
	require.Equal(t, "서울시 중구", cust["customer_addr"])
	require.Equal(t, "04524", cust["customer_postcode"])

	// The ledger has the record and no money moved; the key can be charged.
	led := h.emu.Ledger()
	require.Len(t, led, 1)
	require.Equal(t, DefaultKey, led[0].Merchant)
	require.Equal(t, impUID, led[0].ImpUID)
	require.Equal(t, "np-c1", led[0].CustomerUID)
	require.Equal(t, "issue", led[0].Usage)
	require.Equal(t, int64(0), led[0].Amount)
	require.Equal(t, "paid", led[0].Status)
	require.True(t, led[0].PaidAt.Equal(t0))
	require.Zero(t, h.emu.PaidCount("reg-np-c1"))
	charge := h.again("np-c1", "order-1", 9900)
	require.Equal(t, 0, charge.Code, charge.Raw)
	require.Equal(t, 1, h.emu.PaidCount("order-1"))

	// The session is used up: a replayed form finds nothing.
	again := h.decide(id, "agree")
	require.Equal(t, http.StatusNotFound, again.Status)
	require.Len(t, h.emu.Ledger(), 2)
}

func TestBrowserAgreePopup(t *testing.T) {
	h := newHarness(t)
	v := naverParams(map[string]string{"naverPopupMode": "true", "m_redirect_url": "", "origin": ""})
	// The origin comes from the browser's Origin header; the form field is only a fallback.
	r := h.browserDo(http.MethodPost, naverSessionPath, v, map[string]string{"Origin": shopOrigin})
	require.Equal(t, http.StatusCreated, r.Status, r.Body)
	require.Equal(t, "*", r.Header.Get("Access-Control-Allow-Origin"))
	var s sessionCreated
	require.NoError(t, json.Unmarshal([]byte(r.Body), &s))

	page := h.browserDo(http.MethodGet, s.WindowURL, nil, nil)
	require.Contains(t, page.Body, "팝업 모드")

	res := h.decide(s.SessionID, "agree")
	require.Equal(t, http.StatusOK, res.Status, res.Body)
	require.Contains(t, res.Body, "window.opener.postMessage(message, origin)")
	require.Contains(t, res.Body, `"http://shop.test:8080"`, "posted to the opener's origin only")
	msg := scriptMessage(t, res.Body)
	require.Equal(t, naverMessageType, msg["type"])
	require.Equal(t, s.SessionID, msg["session_id"])
	rsp := msg["rsp"].(map[string]any)
	require.Equal(t, true, rsp["success"])
	require.Equal(t, true, rsp["imp_success"])
	require.Equal(t, "reg-np-c1", rsp["merchant_uid"])
	require.Equal(t, "np-c1", rsp["customer_uid"])
	require.Equal(t, "naverpay", rsp["pay_method"])
	require.Equal(t, "naverpay", rsp["pg_provider"])
	require.Equal(t, "paid", rsp["status"])
	require.Equal(t, float64(0), rsp["paid_amount"])
	require.Nil(t, rsp["error_msg"])
	impUID := rsp["imp_uid"].(string)

	got := h.do(http.MethodGet, "/payments/"+impUID, nil)
	require.Equal(t, 0, got.Code, got.Raw)
	require.Equal(t, "paid", got.obj(t)["status"])
}

// scriptMessage extracts the object result.html posts to its opener.
func scriptMessage(t *testing.T, body string) map[string]any {
	t.Helper()
	_, after, found := strings.Cut(body, "var message = ")
	require.True(t, found, body)
	js, _, found := strings.Cut(after, ";\n")
	require.True(t, found)
	var msg map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &msg), js)
	return msg
}

func TestBrowserCancel(t *testing.T) {
	h := newHarness(t)
	t.Run("redirect", func(t *testing.T) {
		id := h.openWindow(naverParams(nil))
		q := requireRedirectResult(t, h.decide(id, "cancel"), false)
		require.Equal(t, "", q.Get("imp_uid"))
		require.True(t, q.Has("imp_uid"))
		require.Equal(t, "reg-np-c1", q.Get("merchant_uid"))
		require.Equal(t, msgUserCancelled, q.Get("error_msg"))
		require.Equal(t, "USER_CANCEL", q.Get("error_code"))
	})
	t.Run("popup", func(t *testing.T) {
		id := h.openWindow(naverParams(map[string]string{"naverPopupMode": "true", "merchant_uid": "reg-popup"}))
		res := h.decide(id, "cancel")
		require.Equal(t, http.StatusOK, res.Status)
		rsp := scriptMessage(t, res.Body)["rsp"].(map[string]any)
		require.Equal(t, false, rsp["success"])
		require.Equal(t, false, rsp["imp_success"])
		require.Nil(t, rsp["imp_uid"])
		require.Equal(t, "reg-popup", rsp["merchant_uid"])
		require.Equal(t, msgUserCancelled, rsp["error_msg"])
	})
	require.Empty(t, h.emu.Ledger(), "a cancelled window leaves no payment")
	r := h.do(http.MethodGet, "/subscribe/customers/np-c1", nil)
	require.Equal(t, 1, r.Code, "no billing key")

	bad := h.browserDo(http.MethodPost, naverRegisterPath, url.Values{"session": {"x"}, "action": {"maybe"}}, nil)
	require.Equal(t, http.StatusBadRequest, bad.Status)
}

func TestBrowserParameterChecks(t *testing.T) {
	h := newHarness(t)
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		overrides map[string]string
		code      string
		msg       string
	}{
		{"init not called", map[string]string{"imp_code": ""}, "NOT_INITIALIZED", "IMP.init"},
		{"unknown IMP code", map[string]string{"imp_code": "imp12345678"}, "UNKNOWN_IMP_CODE", "등록되지 않은 가맹점 식별코드입니다"},
		{"no pg and no channelKey", map[string]string{"pg": ""}, "UNSUPPORTED_PG", "pg 또는 channelKey"},
		{"another PG", map[string]string{"pg": "html5_inicis"}, "UNSUPPORTED_PG", "html5_inicis"},
		{"naverpay lookalike", map[string]string{"pg": "naverpayx"}, "UNSUPPORTED_PG", "naverpay"},
		{"one-off payment", map[string]string{"customer_uid": ""}, "CUSTOMER_UID_REQUIRED", "일반결제"},
		{"merchant_uid missing", map[string]string{"merchant_uid": ""}, "INVALID_PARAMETER", "merchant_uid 파라메터가 누락되었습니다."},
		{"buyer_tel missing", map[string]string{"buyer_tel": ""}, "INVALID_PARAMETER", "buyer_tel 파라메터가 누락되었습니다."},
		{"buyer_tel not a phone", map[string]string{"buyer_tel": "call me"}, "INVALID_PARAMETER", "전화번호"},
		{"amount missing", map[string]string{"amount": ""}, "INVALID_PARAMETER", "amount 파라메터가 누락되었습니다."},
		{"amount not a number", map[string]string{"amount": "9,900"}, "INVALID_PARAMETER", "amount"},
		{"amount fractional", map[string]string{"amount": "99.5"}, "INVALID_PARAMETER", "amount"},
		{"amount negative", map[string]string{"amount": "-1"}, "INVALID_PARAMETER", "amount"},
		{"amount huge", map[string]string{"amount": "100000000000"}, "INVALID_PARAMETER", "amount"},
		{"naverPopupMode not a boolean", map[string]string{"naverPopupMode": "sometimes"}, "INVALID_PARAMETER", "naverPopupMode"},
		{"redirect mode without m_redirect_url", map[string]string{"m_redirect_url": ""}, "INVALID_PARAMETER", "m_redirect_url이 필요합니다"},
		{"naverPopupMode absent means redirect", map[string]string{"naverPopupMode": "", "m_redirect_url": ""}, "INVALID_PARAMETER", "m_redirect_url이 필요합니다"},
		{"popup without origin", map[string]string{"naverPopupMode": "true", "origin": ""}, "INVALID_PARAMETER", "origin"},
		{"popup with a bad origin", map[string]string{"naverPopupMode": "true", "origin": "http://shop.test/path"}, "INVALID_PARAMETER", "origin"},
		{"bad notice_url", map[string]string{"notice_url": "/hooks"}, "INVALID_PARAMETER", "notice_url"},
		{"customer_uid too long", map[string]string{"customer_uid": long(81)}, "INVALID_PARAMETER", "customer_uid 파라메터는 최대 80자"},
		{"merchant_uid too long", map[string]string{"merchant_uid": long(41)}, "INVALID_PARAMETER", "merchant_uid 파라메터는 최대 40자"},
		{"name too long", map[string]string{"name": strings.Repeat("가", 41)}, "INVALID_PARAMETER", "name 파라메터는 최대 40자"},
		{"buyer_tel of 16 chars", map[string]string{"buyer_tel": "010-1234-5678-99"}, "", ""},
		{"buyer_tel 17 chars", map[string]string{"buyer_tel": "010-1234-5678-999"}, "INVALID_PARAMETER", "buyer_tel 파라메터는 최대 16자"},
		{"buyer_email too long", map[string]string{"buyer_email": long(60) + "@x.kr"}, "INVALID_PARAMETER", "buyer_email"},
		{"naverProductCode too long", map[string]string{"naverProductCode": long(65)}, "INVALID_PARAMETER", "naverProductCode"},
		{"field of the wrong type", map[string]string{"customer_uid[a]": "b", "customer_uid": ""}, "INVALID_PARAMETER", "customer_uid"},
		{"channelKey instead of pg", map[string]string{"pg": "", "channelKey": "channel-key-abc"}, "", ""},
		{"naverpay with MID", map[string]string{"pg": "naverpay.np_mid"}, "", ""},
		{"no naverProductCode (a console warning only)", map[string]string{"naverProductCode": ""}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := naverParams(tt.overrides)
			if tt.code == "" {
				h.openWindow(v)
				return
			}
			got := h.refusedWindow(v, nil)
			require.Equal(t, tt.code, got["error_code"], got)
			require.Contains(t, got["error_msg"], tt.msg)
		})
	}
	require.Empty(t, h.emu.Ledger())

	t.Run("merchant_uid already paid", func(t *testing.T) {
		h.register("seeded", func(s *CustomerSeed) { s.RegistrationMerchantUID = "reg-used" })
		got := h.refusedWindow(naverParams(map[string]string{"merchant_uid": "reg-used"}), nil)
		require.Equal(t, "MERCHANT_UID_USED", got["error_code"])
		require.Equal(t, msgMerchantUIDUsed, got["error_msg"])
		require.Equal(t, "reg-used", got["merchant_uid"])
	})
	t.Run("malformed body", func(t *testing.T) {
		resp, err := noRedirect.Post(h.srv.URL+naverSessionPath, "text/xml", strings.NewReader("<pay/>"))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		var got map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		require.Equal(t, "INVALID_PARAMETER", got["error_code"])
	})
}

func TestBrowserBadRedirectURL(t *testing.T) {
	h := newHarness(t)
	for _, bad := range []string{
		"/return", "return?x=1", "javascript:alert(1)", "ftp://shop.test/return", "http:///nohost",
		"https://user:pw@shop.test/return", "data:text/html,hi", "http://shop.test/" + strings.Repeat("a", 2048),
	} {
		t.Run(bad[:min(len(bad), 30)], func(t *testing.T) {
			got := h.refusedWindow(naverParams(map[string]string{"m_redirect_url": bad}), nil)
			require.Equal(t, "INVALID_PARAMETER", got["error_code"])
			require.Contains(t, got["error_msg"], "m_redirect_url")
		})
	}
	// Popup mode checks it too, because a blocked popup falls back to it.
	got := h.refusedWindow(naverParams(map[string]string{"naverPopupMode": "true", "m_redirect_url": "javascript:alert(1)"}), nil)
	require.Contains(t, got["error_msg"], "m_redirect_url")
}

func TestBrowserDuplicateProduct(t *testing.T) {
	other := Merchant{Key: "other_key", Secret: "other_secret", IMPCode: "imp99999999"}
	h := newHarness(t, func(o *Options) {
		o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret}, other}
	})
	register := func(uid, muid, tel, product, impCode string) pageResponse {
		t.Helper()
		id := h.openWindow(naverParams(map[string]string{"customer_uid": uid, "merchant_uid": muid, "buyer_tel": tel,
			"naverProductCode": product, "imp_code": impCode}))
		return h.decide(id, "agree")
	}
	requireRedirectResult(t, register("dup-1", "reg-d1", "010-1234-5678", "plan-basic", DefaultIMPCode), true)

	// The same buyer (same phone, however written) and the same product: NaverPay refuses.
	q := requireRedirectResult(t, register("dup-2", "reg-d2", "01012345678", "plan-basic", DefaultIMPCode), false)
	require.Equal(t, msgAlreadyRegistered, q.Get("error_msg"))
	require.Equal(t, "ALREADY_REGISTERED", q.Get("error_code"))
	require.Equal(t, "reg-d2", q.Get("merchant_uid"))
	require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/dup-2", nil).Code, "no key was created")

	// Another product, another buyer, or another merchant is fine.
	requireRedirectResult(t, register("dup-3", "reg-d3", "010-1234-5678", "plan-pro", DefaultIMPCode), true)
	requireRedirectResult(t, register("dup-4", "reg-d4", "010-9999-0000", "plan-basic", DefaultIMPCode), true)
	requireRedirectResult(t, register("dup-5", "reg-d5", "010-1234-5678", "plan-basic", other.IMPCode), true)
	// The other merchant's key is the other merchant's.
	require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/dup-5", nil).Code)
	otherTok := h.getToken(other.Key, other.Secret)
	require.Equal(t, 0, h.do(http.MethodGet, "/subscribe/customers/dup-5", nil, withToken(otherTok)).Code)

	// Without naverProductCode nothing stops duplicates (PortOne's default code is random).
	requireRedirectResult(t, register("dup-6", "reg-d6", "010-1234-5678", "", DefaultIMPCode), true)
	requireRedirectResult(t, register("dup-7", "reg-d7", "010-1234-5678", "", DefaultIMPCode), true)

	// Once the first key is gone, the buyer may register the product again.
	r := h.do(http.MethodDelete, "/subscribe/customers/dup-1?reason=cancelled&extra[requester]=customer", nil)
	require.Equal(t, 0, r.Code, r.Raw)
	requireRedirectResult(t, register("dup-8", "reg-d8", "010-1234-5678", "plan-basic", DefaultIMPCode), true)
	// A key replaced outside the window (re-seeded) no longer counts either.
	h.register("dup-8", func(s *CustomerSeed) { s.RegistrationMerchantUID = "reg-reseed" })
	requireRedirectResult(t, register("dup-9", "reg-d9", "010-1234-5678", "plan-basic", DefaultIMPCode), true)
}

func TestBrowserFault(t *testing.T) {
	h := newHarness(t)
	// A decline fault without an op means charges; it leaves the window alone.
	h.emu.AddFault(Fault{CustomerUID: "np-c1", Action: FaultDecline})
	// The control API accepts a window fault, as JSON.
	st, body := h.control(http.MethodPost, "/__emulator/faults",
		map[string]any{"customer_uid": "np-c1", "op": "issue", "action": "decline", "reason": "[네이버페이] 등록할 수 없는 결제수단입니다.", "times": 1})
	require.Equal(t, http.StatusOK, st, body)

	id := h.openWindow(naverParams(nil))
	q := requireRedirectResult(t, h.decide(id, "agree"), false)
	require.Equal(t, "[네이버페이] 등록할 수 없는 결제수단입니다.", q.Get("error_msg"))
	require.Equal(t, "REGISTRATION_DECLINED", q.Get("error_code"))
	require.Empty(t, h.emu.Ledger(), "a refused registration leaves no payment")
	firings := h.emu.FaultFirings()
	require.Len(t, firings, 1)
	require.Equal(t, OpIssue, firings[0].Op)
	require.Equal(t, "np-c1", firings[0].CustomerUID)
	require.Equal(t, "reg-np-c1", firings[0].MerchantUID)

	// Times: 1 is used up; the next attempt (same merchant_uid, nothing was paid) works.
	id = h.openWindow(naverParams(nil))
	requireRedirectResult(t, h.decide(id, "agree"), true)

	// error_before_commit with op issue fails the window too, with a default text.
	h.emu.AddFault(Fault{Op: OpIssue, Action: FaultErrorBeforeCommit, MerchantUID: "reg-np-c2"})
	id = h.openWindow(naverParams(map[string]string{"customer_uid": "np-c2", "merchant_uid": "reg-np-c2", "naverProductCode": "p2"}))
	q = requireRedirectResult(t, h.decide(id, "agree"), false)
	require.Equal(t, defaultErrorBeforeCommitMessage, q.Get("error_msg"))

	// A decline without a reason uses the default text.
	h.emu.ClearFaults()
	h.emu.AddFault(Fault{Op: OpIssue, Action: FaultDecline, Times: 1})
	id = h.openWindow(naverParams(map[string]string{"customer_uid": "np-c3", "merchant_uid": "reg-np-c3", "naverProductCode": "p3"}))
	q = requireRedirectResult(t, h.decide(id, "agree"), false)
	require.Equal(t, msgRegistrationDecline, q.Get("error_msg"))

	// Cancelling does not consume a window fault.
	h.emu.AddFault(Fault{Op: OpIssue, Action: FaultDecline, Times: 1})
	id = h.openWindow(naverParams(map[string]string{"customer_uid": "np-c4", "merchant_uid": "reg-np-c4", "naverProductCode": "p4"}))
	requireRedirectResult(t, h.decide(id, "cancel"), false)
	require.Len(t, h.emu.Faults(), 1)

	// Other actions still do not apply to op issue.
	require.ErrorContains(t, Fault{Op: OpIssue, Action: FaultDeclineCode}.Validate(), "does not apply")
}

func TestBrowserExpiredSession(t *testing.T) {
	h := newHarness(t)
	t.Run("window opened late", func(t *testing.T) {
		id := h.openWindow(naverParams(nil))
		h.clk.Advance(naverSessionTTL + time.Second)
		q := requireRedirectResult(t, h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil), false)
		require.Equal(t, "SESSION_EXPIRED", q.Get("error_code"))
		require.Equal(t, msgSessionExpired, q.Get("error_msg"))
		// Reported once; afterwards the session is gone.
		require.Equal(t, http.StatusNotFound, h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil).Status)
	})
	t.Run("agree clicked late", func(t *testing.T) {
		id := h.openWindow(naverParams(map[string]string{"naverPopupMode": "true", "merchant_uid": "reg-late"}))
		require.Equal(t, http.StatusOK, h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil).Status)
		h.clk.Advance(naverSessionTTL + time.Second)
		res := h.decide(id, "agree")
		require.Equal(t, http.StatusOK, res.Status)
		rsp := scriptMessage(t, res.Body)["rsp"].(map[string]any)
		require.Equal(t, "SESSION_EXPIRED", rsp["error_code"])
	})
	t.Run("just in time", func(t *testing.T) {
		id := h.openWindow(naverParams(map[string]string{"merchant_uid": "reg-in-time"}))
		h.clk.Advance(naverSessionTTL)
		requireRedirectResult(t, h.decide(id, "agree"), true)
	})
	require.Len(t, h.emu.Ledger(), 1)
}

func TestBrowserWebhook(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL + "/console" })
	id := h.openWindow(naverParams(nil))
	q := requireRedirectResult(t, h.decide(id, "agree"), true)
	d := h.waitHooks(1)
	require.Equal(t, rc.URL+"/console", d[0].URL)
	require.Equal(t, q.Get("imp_uid"), d[0].ImpUID)
	require.Equal(t, "reg-np-c1", d[0].MerchantUID)
	require.Equal(t, "paid", d[0].Status)
	require.True(t, d[0].OK())

	// notice_url on the request wins over the console URL; a cancel sends nothing.
	id = h.openWindow(naverParams(map[string]string{"merchant_uid": "reg-cancel"}))
	requireRedirectResult(t, h.decide(id, "cancel"), false)
	id = h.openWindow(naverParams(map[string]string{"customer_uid": "np-c2", "merchant_uid": "reg-np-c2",
		"naverProductCode": "p2", "notice_url": rc.URL + "/request"}))
	requireRedirectResult(t, h.decide(id, "agree"), true)
	d = h.waitHooks(2)
	require.Equal(t, rc.URL+"/request", d[1].URL)
	require.Equal(t, "reg-np-c2", d[1].MerchantUID)
	require.Len(t, rc.hooks(), 2)
}

func TestBrowserNoWebhookWithoutURL(t *testing.T) {
	h := newHarness(t)
	id := h.openWindow(naverParams(nil))
	requireRedirectResult(t, h.decide(id, "agree"), true)
	// With no URL no delivery is even started (enqueueWebhookLocked returns at once), so an
	// empty list right away is the final answer.
	require.Empty(t, h.emu.Webhooks(), "no notice_url and no console URL: nothing is sent")
}

func TestBrowserIMPCodeOptions(t *testing.T) {
	require.NoError(t, Options{Merchants: []Merchant{{Key: "a", Secret: "s"}, {Key: "b", Secret: "s", IMPCode: "imp11111111"}}}.Validate())
	require.ErrorContains(t, Options{Merchants: []Merchant{{Key: "a", Secret: "s"}, {Key: "b", Secret: "s", IMPCode: DefaultIMPCode}}}.Validate(), "two merchants")
	require.ErrorContains(t, Options{Merchants: []Merchant{{Key: "a", Secret: "s", IMPCode: "imp 1"}}}.Validate(), "IMPCode")

	// The first merchant's own code replaces the default; a merchant without one is not
	// reachable from a browser.
	h := newHarness(t, func(o *Options) {
		o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret, IMPCode: "imp10000001"}, {Key: "b", Secret: "s"}}
	})
	got := h.refusedWindow(naverParams(nil), nil)
	require.Equal(t, "UNKNOWN_IMP_CODE", got["error_code"])
	h.openWindow(naverParams(map[string]string{"imp_code": "imp10000001"}))
}

func TestBrowserSessionBound(t *testing.T) {
	h := newHarness(t)
	first := h.openWindow(naverParams(nil))
	h.clk.Advance(time.Second)
	second := h.openWindow(naverParams(nil))
	h.emu.mu.Lock()
	for i := range maxNaverSessions - 1 {
		h.emu.storeSessionLocked(&naverSession{id: "filler-" + strconv.Itoa(i), created: h.clk.Now()}, h.clk.Now())
	}
	n := len(h.emu.browser.sessions)
	_, firstKept := h.emu.browser.sessions[first]
	_, secondKept := h.emu.browser.sessions[second]
	h.emu.mu.Unlock()
	require.Equal(t, maxNaverSessions, n)
	require.False(t, firstKept, "the oldest session made room")
	require.True(t, secondKept)

	// Sessions long past their expiry are dropped when a new one is stored.
	h.clk.Advance(2*naverSessionTTL + time.Second)
	h.openWindow(naverParams(nil))
	h.emu.mu.Lock()
	n = len(h.emu.browser.sessions)
	h.emu.mu.Unlock()
	require.Equal(t, 1, n)
}

func TestBrowserReset(t *testing.T) {
	h := newHarness(t)
	id := h.openWindow(naverParams(nil))
	h.emu.Reset()
	require.Equal(t, http.StatusNotFound, h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id, nil, nil).Status)
	require.Equal(t, http.StatusNotFound, h.decide(id, "agree").Status)
}

func TestBrowserCORSAndMethods(t *testing.T) {
	h := newHarness(t)
	pre := h.browserDo(http.MethodOptions, naverSessionPath, nil, map[string]string{
		"Origin": shopOrigin, "Access-Control-Request-Method": "POST",
	})
	require.Equal(t, http.StatusNoContent, pre.Status)
	require.Equal(t, "*", pre.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "POST")

	// JSON bodies work too (a client other than iamport.js).
	r := doRequestRaw(t, h.srv.URL+naverSessionPath, `{"imp_code":"imp00000000","pg":"naverpay","customer_uid":"j1","merchant_uid":"reg-j1","amount":1000,"buyer_tel":"01000000000","naverPopupMode":true,"origin":"http://shop.test"}`)
	require.Equal(t, http.StatusCreated, r)

	get := h.browserDo(http.MethodGet, naverSessionPath, nil, nil)
	require.Equal(t, http.StatusMethodNotAllowed, get.Status)
	put := h.browserDo(http.MethodPut, naverRegisterPath, url.Values{}, nil)
	require.Equal(t, http.StatusMethodNotAllowed, put.Status)
	require.Equal(t, "GET, POST", put.Header.Get("Allow"))
}

func doRequestRaw(t *testing.T, target, jsonBody string) int {
	t.Helper()
	resp, err := noRedirect.Post(target, "application/json", strings.NewReader(jsonBody))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.NotEmpty(t, b)
	return resp.StatusCode
}

func TestBrowserPopupBlockedFallback(t *testing.T) {
	h := newHarness(t)
	id := h.openWindow(naverParams(map[string]string{"naverPopupMode": "true"}))
	// iamport.js could not open the popup and navigated its own window with mode=redirect.
	page := h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id+"&mode=redirect", nil, nil)
	require.Contains(t, page.Body, "리디렉션 모드")
	requireRedirectResult(t, h.decide(id, "agree"), true)

	// Without m_redirect_url there is nowhere to go: mode=redirect is ignored.
	id = h.openWindow(naverParams(map[string]string{"naverPopupMode": "true", "m_redirect_url": "", "merchant_uid": "reg-p2", "customer_uid": "np-p2", "naverProductCode": "p2"}))
	page = h.browserDo(http.MethodGet, naverRegisterPath+"?session="+id+"&mode=redirect", nil, nil)
	require.Contains(t, page.Body, "팝업 모드")
	res := h.decide(id, "agree")
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, true, scriptMessage(t, res.Body)["rsp"].(map[string]any)["imp_success"])
}

func TestBrowserFormatWon(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 10: "10", 999: "999", 1000: "1,000", 9900: "9,900", 1234567: "1,234,567", -5000: "-5,000"} {
		require.Equal(t, want, formatWon(in))
	}
}

// FuzzBrowserSession checks that no session request, however malformed, panics the handler
// or gets an answer other than a created session or a JSON failure.
func FuzzBrowserSession(f *testing.F) {
	for _, s := range []string{
		naverParams(nil).Encode(),
		naverParams(map[string]string{"naverPopupMode": "true", "amount": "1e400"}).Encode(),
		"imp_code[]=a&pg[x]=1&customer_uid=%zz",
		`{"imp_code":"imp00000000","pg":"naverpay","customer_uid":["a"],"amount":{"x":1}}`,
		`{"imp_code":"imp00000000","pg":"naverpay.m","customer_uid":"c","merchant_uid":"m","amount":-0.0,"buyer_tel":"+82 10","naverPopupMode":true,"origin":"https://a.b"}`,
	} {
		f.Add(s)
	}
	emu := New(Options{Clock: NewManualClock(t0)})
	defer emu.Close()
	f.Fuzz(func(t *testing.T, body string) {
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
			req := httptest.NewRequest(http.MethodPost, naverSessionPath, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			rec := httptest.NewRecorder()
			emu.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated && rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %s", rec.Body.String())
			}
			if rec.Code == http.StatusCreated {
				win := httptest.NewRecorder()
				emu.ServeHTTP(win, httptest.NewRequest(http.MethodGet, got["window_url"].(string), nil))
				if win.Code != http.StatusOK {
					t.Fatalf("window: %d", win.Code)
				}
			}
		}
	})
}
