package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/browsertest"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// selfServiceEdge serves the edge with a link secret for the stack, counting the cancel form's
// submits so that a test can tell a double submit really reached the server twice.
type selfServiceEdge struct {
	url     string
	keys    *signedlink.Keys
	submits atomic.Int64
}

func (s *stack) withSelfServiceEdge(t *testing.T, configure ...func(*edge.Config)) *selfServiceEdge {
	t.Helper()
	keys, err := signedlink.NewKeys(strings.Repeat("self-service-e2e-", 3))
	require.NoError(t, err)
	se := &selfServiceEdge{keys: keys}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cancel") {
			se.submits.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := edge.Config{PublicURL: srv.URL, IMPCode: "imp00000000", LinkKeys: keys}
	for _, c := range configure {
		c(&cfg)
	}
	e, err := edge.New(cfg, edge.Deps{Workflows: s.c, PortOne: s.gateway, Logger: zap.NewNop()})
	require.NoError(t, err)
	h = e.Handler()
	se.url = srv.URL
	return se
}

// manageURL is the customer's link, as 'starter link' prints it.
func (se *selfServiceEdge) manageURL(t *testing.T, id string) string {
	t.Helper()
	tok, err := se.keys.Sign(signedlink.Manage, id, time.Now().Add(time.Hour), time.Now())
	require.NoError(t, err)
	return signedlink.URL(se.url, signedlink.Manage, tok)
}

// monthlyInput is a real-world monthly plan: the pro-rata refund then counts KST days, so the
// amount shown and the amount refunded agree unless the test straddles midnight KST.
func monthlyInput(id, customer string) billing.SubscriptionInput {
	in := demoInput(id, customer, time.Second)
	in.Plan.Interval = calendar.Interval{Unit: calendar.Month, Count: 1}
	return in
}

// startPaid starts a monthly subscription for a registered customer and waits for its first
// charge.
func (s *stack) startPaid(t *testing.T, id string) {
	t.Helper()
	s.register(id + "-cust")
	s.start(monthlyInput(id, id+"-cust"))
	eventually(t, 20*time.Second, "the first charge of "+id, func() bool {
		st, err := s.tryState(id)
		return err == nil && st.Status == billing.StatusActive && len(st.Charges) == 1 && st.Charges[0].Outcome == billing.OutcomePaid
	})
}

func attr(ctx context.Context, t *testing.T, id, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID(id), name))
	require.NoError(t, err)
	require.True(t, v.Exists, "#%s has no %s", id, name)
	return v.Value
}

func dataAmount(ctx context.Context, t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(attr(ctx, t, id, "data-amount"), 10, 64)
	require.NoError(t, err, "data-amount of #%s", id)
	return n
}

func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err)
	return v
}

// refundsIn returns the emulator's cancels of a subscription's payments.
func (s *stack) refundsIn(id string) []int64 {
	var out []int64
	for _, e := range s.emu.Ledger() {
		if strings.HasPrefix(e.MerchantUID, id+"-") {
			for _, c := range e.Cancels {
				out = append(out, c.Amount)
			}
		}
	}
	return out
}

// TestSelfServiceCancelPageInARealBrowser is issue #13's customer path, in headless Chromium on
// a real server, worker and emulator: 중도해지 refunds exactly the amount shown, 일반해지 leaves
// access until the period ends, a double submit cancels and refunds once, the merchant's full
// refund window refunds the whole charge, expired and tampered links open nothing, and an
// already canceled subscription says so instead of offering buttons.
func TestSelfServiceCancelPageInARealBrowser(t *testing.T) {
	s := newStack(t, stackOptions{})
	se := s.withSelfServiceEdge(t)

	t.Run("cancel now refunds the amount shown", func(t *testing.T) {
		id := "ss-now"
		s.startPaid(t, id)
		ctx := browsertest.New(t, 90*time.Second)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(se.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("options"))))
		browsertest.Screenshot(ctx, t, "selfservice-overview.png")
		require.Contains(t, text(ctx, t, "#plan-name"), "E2E Plan")
		require.Contains(t, text(ctx, t, "#payments"), "9,900원")
		require.NotEmpty(t, text(ctx, t, "#next-charge"))
		require.Contains(t, text(ctx, t, "#option-end"), "일반해지")
		require.Contains(t, text(ctx, t, "#option-now"), "중도해지")
		shown := dataAmount(ctx, t, "refund-now")
		require.Greater(t, shown, int64(0), "a charge made today leaves most of the month to refund")
		require.Less(t, shown, int64(9900))

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("choose-now")), chromedp.WaitVisible(chromedp.ID("confirm"))))
		require.Equal(t, shown, dataAmount(ctx, t, "confirm-refund"), "the confirmation restates the amount")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("reason-too_expensive"))))
		browsertest.Screenshot(ctx, t, "selfservice-confirm-now.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("outcome"))))
		browsertest.Screenshot(ctx, t, "selfservice-done-now.png")
		require.Equal(t, "canceled", attr(ctx, t, "outcome", "data-outcome"))
		require.Equal(t, shown, dataAmount(ctx, t, "refund-amount"), "the receipt's refund is the amount shown")

		eventually(t, 10*time.Second, "the canceled state", func() bool {
			st, err := s.tryState(id)
			return err == nil && st.Status == billing.StatusCanceled
		})
		st := s.state(id)
		require.Len(t, st.Refunds, 1)
		require.Equal(t, shown, st.Refunds[0].Amount)
		require.Equal(t, billing.RequesterCustomer, st.Refunds[0].Requester)
		require.Equal(t, "가격이 부담돼요", st.Refunds[0].Reason)
		require.Equal(t, []int64{shown}, s.refundsIn(id), "PortOne refunded exactly that, once")
		s.checkMoneyInvariants(st)

		// Opened again, the page says it has ended, and offers nothing.
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(se.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("ended"))))
		browsertest.Screenshot(ctx, t, "selfservice-already-canceled.png")
		require.Contains(t, text(ctx, t, "#ended"), "이미 해지된 구독입니다")
		buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.choice').length`))
		require.NoError(t, err)
		require.Zero(t, buttons)
	})

	t.Run("cancel at period end keeps access", func(t *testing.T) {
		id := "ss-end"
		s.startPaid(t, id)
		paidThrough := s.state(id).PaidThrough
		ctx := browsertest.New(t, 90*time.Second)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(se.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("options")),
			chromedp.Click(chromedp.ID("choose-end")), chromedp.WaitVisible(chromedp.ID("confirm")),
			chromedp.Click(chromedp.ID("reason-other")),
			chromedp.SendKeys(chromedp.ID("reason-other-text"), "해외로 이사합니다"),
		))
		require.Zero(t, dataAmount(ctx, t, "confirm-refund"))
		browsertest.Screenshot(ctx, t, "selfservice-confirm-end.png")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("outcome"))))
		browsertest.Screenshot(ctx, t, "selfservice-done-end.png")
		require.Equal(t, "pending_cancel", attr(ctx, t, "outcome", "data-outcome"))
		require.Contains(t, text(ctx, t, "#done-ko"), paidThrough.In(calendar.Seoul).Format("2006-01-02"))

		st := s.state(id)
		require.Equal(t, billing.StatusActive, st.Status, "access continues until the period ends")
		require.True(t, st.Entitled)
		require.NotNil(t, st.PendingCancel)
		require.Equal(t, billing.AtPeriodEnd, st.PendingCancel.When)
		require.Equal(t, billing.RequesterCustomer, st.PendingCancel.Requester)
		require.Equal(t, "해외로 이사합니다", st.PendingCancel.Reason)
		require.Empty(t, st.Refunds)
		require.Empty(t, s.refundsIn(id))

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(se.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("ended"))))
		require.Contains(t, text(ctx, t, "#ended"), "해지가 예약되어 있습니다")
		browsertest.Screenshot(ctx, t, "selfservice-pending-cancel.png")
		_, err := s.update(id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
		require.NoError(t, err)
	})

	t.Run("a double submit cancels and refunds once", func(t *testing.T) {
		id := "ss-dbl"
		s.startPaid(t, id)
		ctx := browsertest.New(t, 90*time.Second)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(se.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("options")),
			chromedp.Click(chromedp.ID("choose-now")), chromedp.WaitVisible(chromedp.ID("confirm")),
			chromedp.Click(chromedp.ID("reason-not_using")),
		))
		shown := dataAmount(ctx, t, "confirm-refund")
		before := se.submits.Load()
		// Two submits of the same form at the same instant (what an impatient double click on a
		// slow connection sends), then a real double click on the button.
		dup, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
			const f = document.getElementById('cancel-form');
			const send = () => fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))}).then(r => r.text());
			return Promise.all([send(), send()]);
		})()`, chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		require.Len(t, dup, 2)
		require.NoError(t, chromedp.Do(ctx, chromedp.DoubleClick(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("outcome"))))
		browsertest.Screenshot(ctx, t, "selfservice-double-click.png")
		require.GreaterOrEqual(t, se.submits.Load()-before, int64(3), "the server saw every submit")
		final, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.ID("outcome")))
		require.NoError(t, err)
		for _, page := range dup {
			require.Contains(t, page, `data-outcome="canceled"`)
			require.Contains(t, page, `id="refund-amount" data-amount="`+strconv.FormatInt(shown, 10)+`"`, "every submit shows the same refund")
		}
		require.Contains(t, final, `data-outcome="canceled"`)
		require.Contains(t, final, `data-amount="`+strconv.FormatInt(shown, 10)+`"`)

		eventually(t, 10*time.Second, "the canceled state", func() bool {
			st, err := s.tryState(id)
			return err == nil && st.Status == billing.StatusCanceled
		})
		st := s.state(id)
		require.Len(t, st.Refunds, 1, "one refund")
		require.Equal(t, []int64{shown}, s.refundsIn(id), "one refund at PortOne")
		canceled := 0
		for _, e := range st.Events {
			if e.Kind == "cancel_requested" {
				canceled++
			}
		}
		require.Equal(t, 1, canceled, "one cancel")
		s.checkMoneyInvariants(st)
	})

	t.Run("a full refund within the merchant's window", func(t *testing.T) {
		id := "ss-full"
		s.startPaid(t, id)
		full := s.withSelfServiceEdge(t, func(c *edge.Config) { c.FullRefundDays = 7 })
		ctx := browsertest.New(t, 60*time.Second)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(full.manageURL(t, id)), chromedp.WaitVisible(chromedp.ID("option-full"))))
		browsertest.Screenshot(ctx, t, "selfservice-overview-full-refund.png")
		require.Equal(t, int64(9900), dataAmount(ctx, t, "refund-full"))
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("choose-full")), chromedp.WaitVisible(chromedp.ID("confirm")),
			chromedp.Click(chromedp.ID("reason-switching")),
			chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("outcome")),
		))
		require.Equal(t, "canceled", attr(ctx, t, "outcome", "data-outcome"))
		require.Equal(t, int64(9900), dataAmount(ctx, t, "refund-amount"))
		eventually(t, 10*time.Second, "the canceled state", func() bool {
			st, err := s.tryState(id)
			return err == nil && st.Status == billing.StatusCanceled
		})
		st := s.state(id)
		require.Len(t, st.Refunds, 1)
		require.Equal(t, int64(9900), st.Refunds[0].Amount)
		require.Equal(t, []int64{9900}, s.refundsIn(id))
		s.checkMoneyInvariants(st)
	})

	t.Run("expired and tampered links open nothing", func(t *testing.T) {
		id := "ss-links"
		s.startPaid(t, id)
		past := time.Now().Add(-2 * time.Hour)
		expired, err := se.keys.Sign(signedlink.Manage, id, past.Add(time.Hour), past)
		require.NoError(t, err)
		good := strings.TrimPrefix(se.manageURL(t, id), se.url+"/manage/")
		enc, mac, _ := strings.Cut(good, ".")
		swap := byte('A')
		if enc[1] == swap {
			swap = 'B'
		}
		tampered := enc[:1] + string(swap) + enc[2:] + "." + mac
		ctx := browsertest.New(t, 60*time.Second)
		for _, c := range []struct {
			name, token string
			status      int
			ko, en      string
		}{
			{"expired", expired, http.StatusGone, "링크의 유효 기간이 지났습니다.", "This link has expired."},
			{"tampered", tampered, http.StatusForbidden, "확인할 수 없는 링크입니다.", "This link could not be verified."},
			{"bare", id, http.StatusBadRequest, "링크가 올바르지 않습니다.", "This link is incomplete."},
		} {
			res, err := http.Get(se.url + "/manage/" + c.token)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, c.status, res.StatusCode, c.name)
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(se.url+"/manage/"+c.token), chromedp.WaitVisible(chromedp.ID("heading"))))
			browsertest.Screenshot(ctx, t, "selfservice-link-"+c.name+".png")
			require.Equal(t, c.ko, text(ctx, t, "#heading"), c.name)
			body := text(ctx, t, "body")
			require.Contains(t, body, c.en)
			require.NotContains(t, body, "E2E Plan", "%s: no subscription data", c.name)
			require.NotContains(t, body, "9,900")
		}
		st := s.state(id)
		require.Equal(t, billing.StatusActive, st.Status)
		require.Nil(t, st.PendingCancel)
		_, err = s.update(id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
		require.NoError(t, err)
	})
}
