package edge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/browsertest"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestV2RegistrationInARealBrowser drives the V2 registration page in headless Chromium with
// the emulator's stand-in of PortOne's V2 browser SDK: requestIssueBillingKey opens the emulated
// NaverPay window (a popup on PC, a redirection on mobile), the customer agrees, the key is
// issued under the subscription's customer_uid, and the edge, having re-fetched it, signals
// `registered` with it and shows the result page.
func TestV2RegistrationInARealBrowser(t *testing.T) {
	for _, mode := range []string{"pc-popup", "mobile-redirection"} {
		t.Run(mode, func(t *testing.T) {
			ctx := browsertest.New(t, 60*time.Second)
			e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) {
				v.SDKScriptURL = emulatorURL + "/__emulator/v2/browser-sdk.js"
			})
			e.v2Subscription("sub1", "cust-"+mode)
			link := e.url + e.registerLink("sub1")

			if mode == "mobile-redirection" {
				require.NoError(t, chromedp.Do(ctx, chromedp.Emulate(device.IPhoneX)))
			}
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(link),
				chromedp.WaitVisible(chromedp.ID("register")),
				chromedp.SendKeys(chromedp.ID("buyer_name"), "김철수"),
				chromedp.SendKeys(chromedp.ID("buyer_tel"), "010-4444-1111"),
			))
			browsertest.Screenshot(ctx, t, "v2-registration-page-"+mode+".png")
			if mode == "pc-popup" {
				opened := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
				require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("register"))))
				var popupID target.ID
				select {
				case popupID = <-opened:
				case <-ctx.Done():
					t.Fatalf("the NaverPay popup did not open: %v", ctx.Err())
				}
				popup, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
				defer cancelPopup()
				require.NoError(t, chromedp.Do(popup, chromedp.WaitVisible(chromedp.ID("naver-agree"))))
				browsertest.Screenshot(popup, t, "v2-naverpay-window-"+mode+".png")
				require.NoError(t, chromedp.Do(popup, chromedp.Click(chromedp.ID("naver-agree"))))
			} else {
				require.NoError(t, chromedp.Do(ctx,
					chromedp.Click(chromedp.ID("register")),
					chromedp.WaitVisible(chromedp.ID("naver-agree")),
				))
				browsertest.Screenshot(ctx, t, "v2-naverpay-window-"+mode+".png")
				require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("naver-agree"))))
			}
			// The page navigates several times (window, edge, result): poll across navigations.
			outcome := ""
			deadline := time.Now().Add(20 * time.Second)
			for outcome == "" && time.Now().Before(deadline) {
				v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('outcome') || {dataset: {}}).dataset.outcome || ''`))
				if err == nil {
					outcome = v
				}
				if outcome == "" {
					time.Sleep(100 * time.Millisecond)
				}
			}
			loc, err := chromedp.Run(ctx, chromedp.Location())
			require.NoError(t, err)
			require.Equal(t, edge.OutcomeRegistered, outcome, loc)
			require.True(t, strings.HasPrefix(loc, e.url+"/registration/result"), loc)
			browsertest.Screenshot(ctx, t, "v2-registration-result-"+mode+".png")

			sent := e.wf.sent()
			require.Len(t, sent, 1)
			reg, ok := sent[0].Arg.(billing.RegisteredSignal)
			require.True(t, ok, "%+v", sent[0])
			k, ok := e.emu.BillingKeyV2(reg.BillingKey)
			require.True(t, ok, "the signalled key is one the emulator issued")
			require.Equal(t, "cust-"+mode, k.IssueID, "issued under the subscription's customer_uid")
			require.Equal(t, basicPlan.Name, k.IssueName)
		})
	}
}
