package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/browsertest"
)

// TestBrowserLoginOverviewAndCancel drives headless Chromium as a staff member: no page
// without a session, the login, the overview's figures (the read model's), a cancel now with
// its refund previewed and then made, and a form forged on another site refused.
func TestBrowserLoginOverviewAndCancel(t *testing.T) {
	ctx := browsertest.New(t, 60*time.Second)
	e := newTestEnv(t, nil)
	e.mixedBook()
	o, err := e.store.Overview(context.Background(), testNow)
	require.NoError(t, err)

	// No session: the overview is the login page.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(chromedp.ID("login-form"))))
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc, e.url+"/login?next="), loc)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("login"), "kim"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	))
	browsertest.ClickVisible(ctx, t, `#submit`, "", 10*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("active"))))
	attr := func(id, name string) string {
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID(id), name))
		require.NoError(t, err, "#%s[%s]", id, name)
		require.True(t, v.Exists, "#%s has no %s", id, name)
		return v.Value
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(o.Active), attr("active", "data-value"))
	require.Equal(t, strconv.FormatInt(o.MRR, 10), attr("mrr", "data-value"))
	require.Equal(t, strconv.FormatInt(o.Net30d, 10), attr("net", "data-value"))
	require.Equal(t, "kim", who)
	browsertest.Screenshot(ctx, t, "console-overview.png")

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/queues/past_due"), chromedp.WaitVisible(chromedp.ID("queue"))))
	browsertest.Screenshot(ctx, t, "console-queue.png")

	// Cancel now from the subscription page: the preview is the workflow's rule, the result the
	// receipt's.
	var want int64
	st := activeState("sub-a")
	for _, sh := range st.EndRefund(billing.RefundProrata, testNow) {
		want += sh.Amount
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/subscriptions/sub-a"), chromedp.WaitVisible(chromedp.ID("action-cancel_now"))))
	browsertest.Screenshot(ctx, t, "console-subscription.png")
	browsertest.ClickVisible(ctx, t, `#action-cancel_now`, "", 10*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("preview-refund")), chromedp.SendKeys(chromedp.ID("reason"), "고객 요청")))
	preview := attr("preview-refund", "data-amount")
	require.Equal(t, strconv.FormatInt(want, 10), preview)
	browsertest.Screenshot(ctx, t, "console-confirm.png")
	browsertest.ClickVisible(ctx, t, `#confirm`, "", 10*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("outcome"))))
	require.Equal(t, "done", attr("outcome", "data-outcome"))
	require.Equal(t, preview, attr("refund", "data-amount"))
	sent := e.wf.sent()
	require.Len(t, sent, 1)
	require.Equal(t, "고객 요청 (staff:kim)", sent[0].Arg.(billing.CancelRequest).Reason)

	// A form on another site, posted by the logged-in browser: refused, nothing sent.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/subscriptions/sub-b/actions">
<input type="hidden" name="action" value="cancel_full"><input type="hidden" name="reason" value="x">
<input type="hidden" name="nonce" value="%s"><input type="hidden" name="csrf" value="guessed">
<button id="go" type="submit">win a prize</button></form>`, e.url, strings.Repeat("n", 32))
	}))
	defer evil.Close()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("go"))))
	browsertest.ClickVisible(ctx, t, `#go`, "", 10*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("heading"))))
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("heading")))
	require.NoError(t, err)
	require.Equal(t, "확인할 수 없는 요청입니다.", heading)
	require.Len(t, e.wf.sent(), 1, "the forged form sent nothing")
}
