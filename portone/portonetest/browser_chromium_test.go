package portonetest

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/browsertest"
)

// These tests drive iamport.js and the NaverPay window stand-in in a real Chromium, from a
// merchant page on another origin, the way a buyer's browser would.

// browserBudget bounds each subtest's browser: every wait of the subtest ends by then.
const browserBudget = 30 * time.Second

// newChromium starts a headless Chromium for one subtest (skipping without one).
func newChromium(t *testing.T) context.Context { return browsertest.New(t, browserBudget) }

// shop is a merchant's web site on its own origin: a page with a registration button that
// loads the emulator's iamport.js, and the m_redirect_url receiver.
type shop struct {
	*httptest.Server
	emulatorURL string
	mu          sync.Mutex
	pages       map[string]shopPage
	returns     chan url.Values
}

// shopPage configures /page/{name}.
type shopPage struct {
	IMPCode  string
	Params   map[string]any
	Callback bool // pass a callback to request_pay (redirect mode works without one)
}

var shopTemplate = template.Must(template.New("shop").Parse(`<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>Shop</title>
<script src="{{.Emulator}}/__emulator/iamport.js"></script>
</head><body>
<h1>구독하기</h1>
<button id="pay" type="button">네이버페이 정기결제 등록</button>
<pre id="result"></pre>
<script>
  IMP.init({{.Page.IMPCode}});
  var params = {{.Page.Params}};
  var useCallback = {{.Page.Callback}};
  document.getElementById('pay').addEventListener('click', function () {
    if (useCallback) {
      IMP.request_pay(params, function (rsp) {
        document.getElementById('result').textContent = JSON.stringify(rsp);
      });
    } else {
      IMP.request_pay(params);
    }
  });
</script>
</body></html>`))

func newShop(t *testing.T, emulatorURL string) *shop {
	t.Helper()
	s := &shop{emulatorURL: emulatorURL, pages: map[string]shopPage{}, returns: make(chan url.Values, 8)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		p, ok := s.pages[r.PathValue("name")]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = shopTemplate.Execute(w, map[string]any{"Emulator": s.emulatorURL, "Page": p})
	})
	mux.HandleFunc("GET /return", func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.returns <- r.URL.Query():
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!DOCTYPE html><html><body><h1 id="returned">` +
			template.HTMLEscapeString(r.URL.RawQuery) + `</h1></body></html>`))
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *shop) addPage(name string, p shopPage) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[name] = p
	return s.URL + "/page/" + name
}

// registrationParams is the request_pay call of the shop's page.
func (s *shop) registrationParams(customerUID, merchantUID string, popup bool) map[string]any {
	return map[string]any{
		"pg":               "naverpay",
		"customer_uid":     customerUID,
		"merchant_uid":     merchantUID,
		"name":             "월간 구독 (Basic)",
		"amount":           9900,
		"buyer_name":       "홍길동",
		"buyer_tel":        "010-1234-5678",
		"buyer_email":      "hong@example.com",
		"naverPopupMode":   popup,
		"m_redirect_url":   s.URL + "/return",
		"naverProductCode": "plan-basic",
	}
}

// waitReturn waits for the receiver to be called.
func (s *shop) waitReturn(ctx context.Context, t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-s.returns:
		return q
	case <-ctx.Done():
		t.Fatalf("m_redirect_url was not called: %v", ctx.Err())
		return nil
	}
}

// requireRegistered checks, through the REST API, that imp_uid is the registration record of
// customerUID's new billing key.
func requireRegistered(t *testing.T, h *harness, impUID, customerUID, merchantUID string) {
	t.Helper()
	r := h.do(http.MethodGet, "/payments/"+impUID, nil)
	require.Equal(t, 0, r.Code, r.Raw)
	var p testPayment
	r.into(t, &p)
	require.Equal(t, "paid", p.Status)
	require.Equal(t, int64(0), p.Amount)
	require.Equal(t, "issue", str(p.CustomerUIDUsage))
	require.Equal(t, customerUID, str(p.CustomerUID))
	require.Equal(t, merchantUID, p.MerchantUID)
	c := h.do(http.MethodGet, "/subscribe/customers/"+customerUID, nil)
	require.Equal(t, 0, c.Code, c.Raw)
	require.Equal(t, "010-1234-5678", c.obj(t)["customer_tel"])
}

func TestBrowserChromium(t *testing.T) {
	t.Run("redirect mode", func(t *testing.T) {
		h := newHarness(t)
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("redirect", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c1", "reg-br-1", false)})

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(page),
			chromedp.Click(chromedp.ID("pay")),
			chromedp.WaitVisible(chromedp.ID("naver-agree")),
		))
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(loc, h.srv.URL+naverRegisterPath+"?session="), loc)
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("buyer-tel")))
		require.NoError(t, err)
		require.Equal(t, "*********5678", text)
		browsertest.Screenshot(ctx, t, "naverpay-window-redirect.png")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("naver-agree")),
			chromedp.WaitVisible(chromedp.ID("returned")),
		))
		q := sh.waitReturn(ctx, t)
		require.Equal(t, "true", q.Get("imp_success"))
		require.Equal(t, "reg-br-1", q.Get("merchant_uid"))
		requireRegistered(t, h, q.Get("imp_uid"), "br-c1", "reg-br-1")
		loc, err = chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(loc, sh.URL+"/return?"), loc)
	})

	t.Run("popup mode", func(t *testing.T) {
		h := newHarness(t)
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("popup", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c2", "reg-br-2", true), Callback: true})
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("pay"))))

		opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("pay"))))
		var popupID target.ID
		select {
		case popupID = <-opened:
		case <-ctx.Done():
			t.Fatalf("no popup opened: %v", ctx.Err())
		}
		require.NotEmpty(t, popupID, "the popup was not opened (blocked?)")
		popupCtx, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
		defer cancelPopup()
		require.NoError(t, chromedp.Do(popupCtx, chromedp.WaitVisible(chromedp.ID("naver-agree"))))
		browsertest.Screenshot(popupCtx, t, "naverpay-window-popup.png")
		require.NoError(t, chromedp.Do(popupCtx, chromedp.Click(chromedp.ID("naver-agree"))))

		// The window posts the result to the opener and closes; the callback writes it.
		raw, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById('result').textContent`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		require.NoError(t, err)
		var rsp map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &rsp), raw)
		require.Equal(t, true, rsp["success"], raw)
		require.Equal(t, true, rsp["imp_success"])
		require.Equal(t, "reg-br-2", rsp["merchant_uid"])
		require.Equal(t, "br-c2", rsp["customer_uid"])
		require.Equal(t, "naverpay", rsp["pay_method"])
		require.Equal(t, "naverpay", rsp["pg_provider"])
		require.Equal(t, "paid", rsp["status"])
		require.Equal(t, float64(0), rsp["paid_amount"])
		requireRegistered(t, h, rsp["imp_uid"].(string), "br-c2", "reg-br-2")

		closed, err := chromedp.Detached(popupCtx)
		require.NoError(t, err)
		select {
		case <-closed:
		case <-ctx.Done():
			t.Fatal("the NaverPay window did not close itself")
		}
		select {
		case q := <-sh.returns:
			t.Fatalf("popup mode with a callback must not use m_redirect_url, got %v", q)
		default:
		}
	})

	t.Run("cancel in redirect mode", func(t *testing.T) {
		h := newHarness(t)
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("cancel", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c3", "reg-br-3", false)})
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(page),
			chromedp.Click(chromedp.ID("pay")),
			chromedp.WaitVisible(chromedp.ID("naver-cancel")),
			chromedp.Click(chromedp.ID("naver-cancel")),
			chromedp.WaitVisible(chromedp.ID("returned")),
		))
		q := sh.waitReturn(ctx, t)
		require.Equal(t, "false", q.Get("imp_success"))
		require.Equal(t, "", q.Get("imp_uid"))
		require.Equal(t, "reg-br-3", q.Get("merchant_uid"))
		require.Equal(t, msgUserCancelled, q.Get("error_msg"))
		require.Empty(t, h.emu.Ledger())
	})

	t.Run("popup closed by the buyer", func(t *testing.T) {
		h := newHarness(t)
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("close", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c4", "reg-br-4", true), Callback: true})
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("pay"))))
		opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("pay"))))
		var popupID target.ID
		select {
		case popupID = <-opened:
		case <-ctx.Done():
			t.Fatalf("no popup opened: %v", ctx.Err())
		}
		popupCtx, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
		require.NoError(t, chromedp.Do(popupCtx, chromedp.WaitVisible(chromedp.ID("naver-agree"))))
		cancelPopup() // closes the window, like the buyer clicking its close button

		raw, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById('result').textContent`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		require.NoError(t, err)
		var rsp map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &rsp), raw)
		require.Equal(t, false, rsp["imp_success"])
		require.Equal(t, "USER_CANCEL", rsp["error_code"])
		require.Equal(t, msgUserCancelled, rsp["error_msg"])
		require.Empty(t, h.emu.Ledger())
	})

	t.Run("popup blocked falls back to redirect", func(t *testing.T) {
		h := newHarness(t)
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("blocked", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c5", "reg-br-5", true), Callback: true})
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("pay"))))
		// Without a user gesture Chromium blocks window.open; iamport.js continues in the page's
		// own window and the result comes back through m_redirect_url.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`IMP.request_pay(params, function () {})`))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("naver-agree")),
			chromedp.Click(chromedp.ID("naver-agree")),
			chromedp.WaitVisible(chromedp.ID("returned")),
		))
		q := sh.waitReturn(ctx, t)
		require.Equal(t, "true", q.Get("imp_success"))
		requireRegistered(t, h, q.Get("imp_uid"), "br-c5", "reg-br-5")
	})

	t.Run("checks before opening", func(t *testing.T) {
		h := newHarness(t)
		h.register("seeded", func(s *CustomerSeed) { s.RegistrationMerchantUID = "reg-used" })
		sh := newShop(t, h.srv.URL)
		ctx := newChromium(t)
		page := sh.addPage("checks", shopPage{IMPCode: DefaultIMPCode, Params: sh.registrationParams("br-c6", "reg-br-6", true), Callback: true})
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("pay"))))

		console := chromedp.Console(ctx)
		results, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]map[string]any](`(async () => {
			const call = (p) => new Promise((resolve) => IMP.request_pay(p, resolve));
			const without = (k) => { const p = Object.assign({}, params); delete p[k]; return p; };
			const out = {};
			out.pg = await call(Object.assign({}, params, { pg: 'kakaopay' }));
			out.noPG = await call(without('pg'));
			out.customerUID = await call(without('customer_uid'));
			out.merchantUID = await call(without('merchant_uid'));
			out.buyerTel = await call(without('buyer_tel'));
			out.amount = await call(Object.assign({}, params, { amount: '9900' }));
			out.redirectURL = await call(Object.assign({}, params, { naverPopupMode: false, m_redirect_url: undefined }));
			out.relativeRedirect = await call(Object.assign({}, params, { m_redirect_url: '/return' }));
			out.usedMerchantUID = await call(Object.assign(without('naverProductCode'), { merchant_uid: 'reg-used' }));
			IMP.init('imp12345678');
			out.unknownIMPCode = await call(params);
			IMP.init('not a code');
			out.notInitialized = await call(params);
			return out;
		})()`, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		want := map[string]string{
			"pg": "UNSUPPORTED_PG", "noPG": "UNSUPPORTED_PG", "customerUID": "CUSTOMER_UID_REQUIRED",
			"merchantUID": "INVALID_PARAMETER", "buyerTel": "INVALID_PARAMETER", "amount": "INVALID_PARAMETER",
			"redirectURL": "INVALID_PARAMETER", "relativeRedirect": "INVALID_PARAMETER",
			"usedMerchantUID": "MERCHANT_UID_USED", "unknownIMPCode": "UNKNOWN_IMP_CODE", "notInitialized": "NOT_INITIALIZED",
		}
		for name, code := range want {
			rsp := results[name]
			require.NotNil(t, rsp, name)
			require.Equal(t, false, rsp["success"], name)
			require.Equal(t, false, rsp["imp_success"], name)
			require.Equal(t, code, rsp["error_code"], "%s: %v", name, rsp)
			require.NotEmpty(t, rsp["error_msg"], name)
		}
		require.Contains(t, results["customerUID"]["error_msg"], "일반결제")
		require.Equal(t, "reg-br-6", results["pg"]["merchant_uid"])

		// The missing naverProductCode was warned about in the console.
		warned := false
		for msg, err := range console {
			require.NoError(t, err)
			if strings.Contains(msg.Text, "naverProductCode") {
				warned = true
				break
			}
		}
		require.True(t, warned)

		// Without a callback a failed check is reported through m_redirect_url.
		_, err = chromedp.Run(ctx, chromedp.Evaluate[any](`IMP.init('imp00000000'); IMP.request_pay(Object.assign({}, params, { customer_uid: '' }))`))
		require.NoError(t, err)
		q := sh.waitReturn(ctx, t)
		require.Equal(t, "false", q.Get("imp_success"))
		require.Equal(t, "CUSTOMER_UID_REQUIRED", q.Get("error_code"))
		require.Equal(t, "reg-br-6", q.Get("merchant_uid"))
		require.Empty(t, h.emu.Ledger()[1:], "only the seeded registration")
	})
}
