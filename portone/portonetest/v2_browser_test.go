package portonetest

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	pcUA    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
)

// v2IssueRequest is a requestIssueBillingKey call as the stand-in script posts it.
func v2IssueRequest(extra ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"storeId": DefaultStoreID, "channelKey": DefaultV2ChannelKey, "billingKeyMethod": "EASY_PAY",
		"issueId": "sub-1-reg-1", "issueName": "월간 구독", "displayAmount": 9900, "currency": "KRW",
		"customer":   map[string]any{"customerId": "sub-1", "fullName": "홍길동", "phoneNumber": "01012345678"},
		"windowType": map[string]any{"pc": "POPUP", "mobile": "REDIRECTION"}, "easyPay": map[string]any{"easyPayProvider": "NAVERPAY"},
		"redirectUrl": "https://shop.example/v2/return?x=1", "customData": map[string]any{"plan": "basic"},
	}
	for _, f := range extra {
		f(b)
	}
	return b
}

func (h *v2Harness) browserDo(method, path, ua string, body io.Reader, form bool) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	require.NoError(h.t, err)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Origin", "https://shop.example")
	if form {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirect.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp, string(b)
}

// openV2Window creates a session and returns its id, or the refusal.
func (h *v2Harness) openV2Window(ua string, req map[string]any) (string, v2IssueResponse, int) {
	h.t.Helper()
	resp, body := h.browserDo("POST", v2SessionPath, ua, strings.NewReader(mustJSONString(req)), false)
	var created v2SessionCreated
	var refused v2IssueResponse
	if resp.StatusCode == http.StatusCreated {
		require.NoError(h.t, json.Unmarshal([]byte(body), &created))
		return created.SessionID, refused, resp.StatusCode
	}
	require.NoError(h.t, json.Unmarshal([]byte(body), &refused), body)
	return "", refused, resp.StatusCode
}

func (h *v2Harness) decide(ua, session, action, account string) (*http.Response, string) {
	h.t.Helper()
	form := url.Values{"session": {session}, "action": {action}, "naver_account": {account}}
	return h.browserDo("POST", v2RegisterPath, ua, strings.NewReader(form.Encode()), true)
}

var postedMessage = regexp.MustCompile(`var message = (\{.*\});`)

// popupResult reads the message a popup's result page posts to its opener.
func popupResult(t *testing.T, page string) v2IssueResponse {
	t.Helper()
	m := postedMessage.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	var msg struct {
		Type string          `json:"type"`
		Rsp  v2IssueResponse `json:"rsp"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[1]), &msg), m[1])
	require.Equal(t, v2NaverMessage, msg.Type)
	return msg.Rsp
}

func TestV2BrowserSessionChecks(t *testing.T) {
	tests := []struct {
		name     string
		ua       string
		req      map[string]any
		wantCode string
	}{
		{"PC popup", pcUA, v2IssueRequest(), ""},
		{"mobile redirection", phoneUA, v2IssueRequest(), ""},
		{"no issueId", pcUA, v2IssueRequest(func(b map[string]any) { delete(b, "issueId") }), v2CodeBadRequest},
		{"no issueName", pcUA, v2IssueRequest(func(b map[string]any) { b["issueName"] = " " }), v2CodeBadRequest},
		{"card, not easy pay", pcUA, v2IssueRequest(func(b map[string]any) { b["billingKeyMethod"] = "CARD" }), v2CodeBadRequest},
		{"another easy pay", pcUA, v2IssueRequest(func(b map[string]any) { b["easyPay"] = map[string]any{"easyPayProvider": "KAKAOPAY"} }), v2CodeBadRequest},
		{"redirection on PC", pcUA, v2IssueRequest(func(b map[string]any) { b["windowType"] = map[string]any{"pc": "REDIRECTION"} }), v2CodeBadRequest},
		{"popup on mobile", phoneUA, v2IssueRequest(func(b map[string]any) { b["windowType"] = map[string]any{"mobile": "POPUP"} }), v2CodeBadRequest},
		{"mobile without redirectUrl", phoneUA, v2IssueRequest(func(b map[string]any) { delete(b, "redirectUrl") }), v2CodeBadRequest},
		{"relative redirectUrl", pcUA, v2IssueRequest(func(b map[string]any) { b["redirectUrl"] = "/return" }), v2CodeBadRequest},
		{"unknown store", pcUA, v2IssueRequest(func(b map[string]any) { b["storeId"] = "store-other" }), v2CodeStoreNotFound},
		{"foreign channel", pcUA, v2IssueRequest(func(b map[string]any) { b["channelKey"] = "channel-key-other" }), v2CodeChannel},
		{"USD", pcUA, v2IssueRequest(func(b map[string]any) { b["currency"] = "USD" }), v2CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV2Harness(t)
			id, refused, status := h.openV2Window(tt.ua, tt.req)
			if tt.wantCode == "" {
				require.Equal(t, http.StatusCreated, status, "%+v", refused)
				require.NotEmpty(t, id)
				return
			}
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, tt.wantCode, refused.Code, refused.Message)
			require.Equal(t, v2IssueTxType, refused.TransactionType)
		})
	}
}

func TestV2BrowserPopupIssuesAKey(t *testing.T) {
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
	id, _, status := h.openV2Window(pcUA, v2IssueRequest())
	require.Equal(t, http.StatusCreated, status)
	resp, page := h.browserDo("GET", v2RegisterPath+"?session="+id, pcUA, nil, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	for _, want := range []string{"월간 구독", "sub-1-reg-1", "9,900원", "*******5678", "POPUP"} {
		require.Contains(t, html.UnescapeString(page), want)
	}
	require.NotContains(t, page, "01012345678", "the phone number is masked")

	resp, page = h.decide(pcUA, id, "agree", "naver-hong")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rsp := popupResult(t, page)
	require.Empty(t, rsp.Code)
	require.Equal(t, v2IssueTxType, rsp.TransactionType)
	k, ok := h.emu.BillingKeyV2(rsp.BillingKey)
	require.True(t, ok)
	require.Equal(t, "ISSUED", k.Status)
	require.Equal(t, "sub-1-reg-1", k.IssueID)
	require.Equal(t, V2Customer{ID: "sub-1", Name: "홍길동", PhoneNumber: "01012345678"}, k.Customer)
	got := h.do("GET", "/billing-keys/"+rsp.BillingKey, nil).obj(t)
	require.Equal(t, `{"plan":"basic"}`, got["customData"])
	d := waitV2(t, h.emu, 1)[0]
	require.Equal(t, "BillingKey.Issued", d.Type)
	require.Equal(t, rsp.BillingKey, d.BillingKey)

	resp, _ = h.decide(pcUA, id, "agree", "naver-hong")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "one decision per window")

	// The same Naver account cannot use the issueId again; another account can.
	id, _, _ = h.openV2Window(pcUA, v2IssueRequest())
	_, page = h.decide(pcUA, id, "agree", "naver-hong")
	again := popupResult(t, page)
	require.Equal(t, v2CodePG, again.Code)
	require.Equal(t, "NAVERPAY_DUPLICATE_ISSUE_ID", again.PGCode)
	id, _, _ = h.openV2Window(pcUA, v2IssueRequest())
	_, page = h.decide(pcUA, id, "agree", "naver-kim")
	require.NotEmpty(t, popupResult(t, page).BillingKey)
}

func TestV2BrowserMobileRedirects(t *testing.T) {
	tests := []struct {
		name   string
		action string
		fault  *Fault
		want   url.Values
	}{
		{"agree", "agree", nil, url.Values{"transactionType": {v2IssueTxType}}},
		{"cancel", "cancel", nil, url.Values{"transactionType": {v2IssueTxType}, "code": {v2CodeCancelled}, "message": {msgUserCancelled}}},
		{"NaverPay refuses", "agree", &Fault{Op: OpV2Issue, Action: FaultDecline, PGCode: "NP_LIMIT", Reason: "등록 한도 초과", Times: 1},
			url.Values{"transactionType": {v2IssueTxType}, "code": {v2CodePG}, "message": {"등록 한도 초과"}, "pgCode": {"NP_LIMIT"}, "pgMessage": {"등록 한도 초과"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV2Harness(t)
			if tt.fault != nil {
				h.emu.AddFault(*tt.fault)
			}
			id, _, status := h.openV2Window(phoneUA, v2IssueRequest())
			require.Equal(t, http.StatusCreated, status)
			resp, _ := h.decide(phoneUA, id, tt.action, "")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "shop.example", loc.Host)
			q := loc.Query()
			require.Equal(t, "1", q.Get("x"), "the redirectUrl's own query is kept")
			q.Del("x")
			if key := q.Get("billingKey"); key != "" {
				_, ok := h.emu.BillingKeyV2(key)
				require.True(t, ok)
				q.Del("billingKey")
				require.Equal(t, "agree", tt.action)
			}
			require.Equal(t, tt.want, q)
		})
	}
}

func TestV2BrowserScriptIsServed(t *testing.T) {
	h := newV2Harness(t)
	resp, body := h.browserDo("GET", v2ScriptPath, pcUA, nil, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, body, "requestIssueBillingKey")
	resp, _ = h.browserDo("OPTIONS", v2SessionPath, pcUA, nil, false)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
}
