package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/browsertest"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// TestRegistrationInARealBrowser is issue #4's browser path: a customer opens the registration
// page, registers NaverPay recurring payment in the (emulated) NaverPay window, in redirect mode
// and in popup mode, lands on the result page, and the subscription's first charge is in the
// emulator's ledger.
func TestRegistrationInARealBrowser(t *testing.T) {
	s := newStack(t, stackOptions{})
	var h http.Handler
	edgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(edgeSrv.Close)
	keys, err := signedlink.NewKeys(strings.Repeat("e2e-link-secret-", 3))
	require.NoError(t, err)
	e, err := edge.New(edge.Config{PublicURL: edgeSrv.URL, IMPCode: "imp00000000", IMPScriptURL: s.emuURL + "/__emulator/iamport.js", LinkKeys: keys},
		edge.Deps{Workflows: s.c, PortOne: s.gateway, Logger: zap.NewNop()})
	require.NoError(t, err)
	h = e.Handler()

	for _, mode := range []string{"redirect", "popup"} {
		t.Run(mode, func(t *testing.T) {
			id, customer := "browser-"+mode, "browser-cust-"+mode
			run := s.start(demoInput(id, customer, 30*time.Second))
			eventually(t, 10*time.Second, "awaiting registration", func() bool {
				st, err := s.tryState(id)
				return err == nil && st.Status == billing.StatusAwaitingRegistration
			})
			token, err := keys.Sign(signedlink.Register, id, time.Now().Add(time.Hour), time.Now())
			require.NoError(t, err)
			ctx := browsertest.New(t, 60*time.Second)
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(signedlink.URL(edgeSrv.URL, signedlink.Register, token)),
				chromedp.WaitVisible(chromedp.ID("register")),
				chromedp.SendKeys(chromedp.ID("buyer_name"), "김철수"),
				chromedp.SendKeys(chromedp.ID("buyer_tel"), "010-4444-"+map[string]string{"redirect": "1111", "popup": "2222"}[mode]),
				chromedp.Click(chromedp.ID("mode-"+mode)),
			))
			browsertest.Screenshot(ctx, t, "registration-page-"+mode+".png")
			if mode == "redirect" {
				require.NoError(t, chromedp.Do(ctx,
					chromedp.Click(chromedp.ID("register")),
					chromedp.WaitVisible(chromedp.ID("naver-agree")),
				))
				browsertest.Screenshot(ctx, t, "naverpay-window-"+mode+".png")
				require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("naver-agree"))))
			} else {
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
				browsertest.Screenshot(popup, t, "naverpay-window-"+mode+".png")
				require.NoError(t, chromedp.Do(popup, chromedp.Click(chromedp.ID("naver-agree"))))
			}
			// Back on the merchant's side: the edge verified the registration and shows the result.
			// The page navigates several times (window, edge, result): poll across navigations.
			var outcome string
			eventually(t, 20*time.Second, "the result page", func() bool {
				v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('outcome') || {dataset: {}}).dataset.outcome || ''`))
				outcome = v
				return err == nil && v != ""
			})
			require.Equal(t, edge.OutcomeRegistered, outcome)
			loc, err := chromedp.Run(ctx, chromedp.Location())
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(loc, edgeSrv.URL+"/registration/result"), loc)
			browsertest.Screenshot(ctx, t, "registration-result-"+mode+".png")

			eventually(t, 20*time.Second, "the first charge in the ledger", func() bool { return len(s.paid(id+"-")) == 1 })
			st := s.state(id)
			require.Equal(t, billing.StatusActive, st.Status)
			require.NotEmpty(t, st.Registration.ImpUID)
			_, err = s.update(id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
			require.NoError(t, err)
			var final billing.State
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, run.Get(rctx, &final))
			s.checkMoneyInvariants(final)
		})
	}
}
