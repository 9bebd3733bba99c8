package portonetest

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/browsertest"
)

// v2ShopTemplate is a merchant page on its own origin that registers a NaverPay key through
// the V2 SDK stand-in, as the edge's registration page does.
var v2ShopTemplate = template.Must(template.New("v2shop").Parse(`<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>Shop V2</title>
<script src="{{.Emulator}}/__emulator/v2/browser-sdk.js"></script>
</head><body>
<button id="issue" type="button">네이버페이 정기결제 등록 (V2)</button>
<pre id="result"></pre>
<script>
  var req = {{.Request}};
  document.getElementById('issue').addEventListener('click', function () {
    PortOne.requestIssueBillingKey(req).then(function (rsp) {
      document.getElementById('result').textContent = JSON.stringify(rsp);
    });
  });
</script>
</body></html>`))

// newV2Shop serves the merchant page (its request built from the shop's own URL, for
// redirectUrl) and the redirectUrl receiver.
func newV2Shop(t *testing.T, emulatorURL string, build func(self string) map[string]any) (*httptest.Server, chan url.Values) {
	t.Helper()
	returns := make(chan url.Values, 4)
	var self string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = v2ShopTemplate.Execute(w, map[string]any{"Emulator": emulatorURL, "Request": build(self)})
	})
	mux.HandleFunc("GET /return", func(w http.ResponseWriter, r *http.Request) {
		select {
		case returns <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!DOCTYPE html><html><body><h1 id="returned">ok</h1></body></html>`))
	})
	srv := httptest.NewServer(mux)
	self = srv.URL
	t.Cleanup(srv.Close)
	return srv, returns
}

// TestV2BrowserChromium drives the V2 SDK stand-in and its NaverPay window in a real Chromium:
// a popup on PC that resolves requestIssueBillingKey's promise, and a redirection on mobile.
func TestV2BrowserChromium(t *testing.T) {
	t.Run("PC popup", func(t *testing.T) {
		h := newV2Harness(t)
		shop, _ := newV2Shop(t, h.srv.URL, func(string) map[string]any {
			return v2IssueRequest(func(b map[string]any) { delete(b, "redirectUrl") })
		})
		ctx := newChromium(t)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(shop.URL+"/page"), chromedp.WaitVisible(chromedp.ID("issue"))))
		opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("issue"))))
		var popupID target.ID
		select {
		case popupID = <-opened:
		case <-ctx.Done():
			t.Fatalf("no popup opened: %v", ctx.Err())
		}
		popupCtx, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
		defer cancelPopup()
		require.NoError(t, chromedp.Do(popupCtx, chromedp.WaitVisible(chromedp.ID("naver-agree"))))
		browsertest.Screenshot(popupCtx, t, "naverpay-v2-window-popup.png")
		require.NoError(t, chromedp.Do(popupCtx, chromedp.Click(chromedp.ID("naver-agree"))))
		raw, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById('result').textContent`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		require.NoError(t, err)
		var rsp v2IssueResponse
		require.NoError(t, json.Unmarshal([]byte(raw), &rsp), raw)
		require.Equal(t, v2IssueTxType, rsp.TransactionType)
		require.Empty(t, rsp.Code, raw)
		k, ok := h.emu.BillingKeyV2(rsp.BillingKey)
		require.True(t, ok, raw)
		require.Equal(t, "sub-1-reg-1", k.IssueID)
	})

	t.Run("mobile redirection", func(t *testing.T) {
		h := newV2Harness(t)
		shop, returns := newV2Shop(t, h.srv.URL, func(self string) map[string]any {
			return v2IssueRequest(func(b map[string]any) { b["redirectUrl"] = self + "/return" })
		})
		ctx := newChromium(t)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Emulate(device.IPhoneX),
			chromedp.Navigate(shop.URL+"/page"),
			chromedp.Click(chromedp.ID("issue")),
			chromedp.WaitVisible(chromedp.ID("naver-agree")),
		))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(loc, h.srv.URL+v2RegisterPath), loc)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("naver-agree")), chromedp.WaitVisible(chromedp.ID("returned"))))
		var q url.Values
		select {
		case q = <-returns:
		case <-ctx.Done():
			t.Fatal("redirectUrl was not called")
		}
		require.Equal(t, v2IssueTxType, q.Get("transactionType"))
		_, ok := h.emu.BillingKeyV2(q.Get("billingKey"))
		require.True(t, ok, "%v", q)
	})
}
