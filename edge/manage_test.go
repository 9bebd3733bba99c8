package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/signedlink"
)

// activeState is a monthly subscription in its second cycle, charged daysAgo days before now.
func activeState(id string, now time.Time, daysAgo int) billing.State {
	start := now.Add(-time.Duration(daysAgo) * 24 * time.Hour)
	end := start.AddDate(0, 1, 0)
	period := billing.Period{Cycle: 2, Start: start, End: end, FirstDay: calendar.DateOf(start), LastDay: calendar.DateOf(end).AddDays(-1)}
	return billing.State{
		SubscriptionID: id, CustomerUID: "cust-secret-4242", Status: billing.StatusActive, Plan: basicPlan,
		Buyer:         billing.Buyer{Name: "홍길동", Tel: "010-3333-4444"},
		CurrentPeriod: &period, PaidThrough: end, NextChargeAt: end, Cycle: 2,
		Charges: []billing.ChargeRecord{
			{Cycle: 1, Attempt: 1, MerchantUID: chargeUID(id, 1, 1), ImpUID: "imp_c1", Amount: 9900, Outcome: billing.OutcomePaid, At: start.AddDate(0, -1, 0)},
			{Cycle: 2, Attempt: 1, MerchantUID: chargeUID(id, 2, 1), ImpUID: "imp_c2", Amount: 9900, Outcome: billing.OutcomePaid, At: start},
		},
	}
}

// prorata is the workflow's refund of a cancel now of st at now.
func prorata(st billing.State, now time.Time) int64 {
	p := st.CurrentPeriod
	return calendar.UnusedRefund(9900, calendar.Period{Unit: calendar.Month, Start: p.Start, End: p.End, FirstDay: p.FirstDay, LastDay: p.LastDay}, now)
}

func (e *testEnv) manageLink(id string) string { return e.link(signedlink.Manage, id, time.Hour) }

var (
	hiddenRE  = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
	actionRE  = regexp.MustCompile(`<form id="cancel-form" method="post" action="([^"]+)">`)
	outcomeRE = regexp.MustCompile(`id="outcome" data-outcome="([a-z_]+)"`)
)

// confirmForm opens the confirmation page of option and returns the form's action and fields.
func (e *testEnv) confirmForm(manageLink, option string) (string, url.Values, string) {
	e.t.Helper()
	status, page, _ := e.get(manageLink + "/confirm?option=" + option)
	require.Equal(e.t, http.StatusOK, status, page)
	m := actionRE.FindStringSubmatch(page)
	require.NotNil(e.t, m, page)
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(h[1], h[2])
	}
	require.Equal(e.t, option, form.Get("option"))
	return m[1], form, page
}

func amountIn(t *testing.T, page, id string) int64 {
	t.Helper()
	m := regexp.MustCompile(`id="` + id + `" data-amount="(\d+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "no %s in page:\n%s", id, page)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n
}

func outcomeOf(t *testing.T, page string) string {
	t.Helper()
	m := outcomeRE.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	return m[1]
}

func TestManagePageShowsPlanPaymentsAndBothWaysOut(t *testing.T) {
	e := newEnv(t, nil)
	now := e.clock.Now()
	st := activeState("sub1", now, 10)
	e.wf.setState(st)

	status, page, res := e.get(e.manageLink("sub1"))
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Contains(t, page, basicPlan.Name)
	require.Contains(t, page, "9,900원")
	require.Contains(t, page, "매월")
	require.Contains(t, page, `data-status="active"`)
	require.Contains(t, page, "1회차 결제")
	require.Contains(t, page, "2회차 결제")
	require.Regexp(t, `id="total-paid">19,800원<`, page)
	require.Contains(t, page, `id="next-charge">`+st.NextChargeAt.In(calendar.Seoul).Format("2006-01-02 15:04 KST"))

	// 일반해지 and 중도해지 side by side, with the same markup: neither is more prominent.
	require.Contains(t, page, `id="option-end"`)
	require.Contains(t, page, `id="option-now"`)
	require.Contains(t, page, "일반해지")
	require.Contains(t, page, "중도해지")
	require.Regexp(t, `<a class="choice" id="choose-end" href="[^"]+/confirm\?option=end">`, page)
	require.Regexp(t, `<a class="choice" id="choose-now" href="[^"]+/confirm\?option=now">`, page)
	require.Equal(t, int64(0), amountIn(t, page, "refund-end"))
	want := prorata(st, now)
	require.Greater(t, want, int64(0))
	require.Equal(t, want, amountIn(t, page, "refund-now"), "the pro-rata refund is shown before anything is confirmed")
	require.NotContains(t, page, `id="option-full"`, "the full refund is off by default")

	// Personal data is not shown: whoever holds a forwarded link sees the plan, not the buyer.
	for _, secret := range []string{"cust-secret-4242", "홍길동", "010-3333-4444", "imp_c2", "sub1"} {
		require.NotContains(t, page, secret)
	}
}

func TestManageLinksThatDoNotOpen(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.setState(activeState("sub1", e.clock.Now(), 3))
	good := e.manageLink("sub1")
	token := strings.TrimPrefix(good, "/manage/")
	enc, mac, _ := strings.Cut(token, ".")
	swap := byte('A')
	if enc[len(enc)-2] == swap {
		swap = 'B'
	}
	// The second-last character is always all payload bits (the last may hold padding bits).
	tampered := "/manage/" + enc[:len(enc)-2] + string(swap) + enc[len(enc)-1:] + "." + mac
	cases := []struct {
		name, path string
		status     int
		ko, en     string
	}{
		{"bare", "/manage", http.StatusBadRequest, "링크가 올바르지 않습니다", "incomplete"},
		{"a subscription ID", "/manage/sub1", http.StatusBadRequest, "링크가 올바르지 않습니다", "incomplete"},
		{"tampered", tampered, http.StatusForbidden, "확인할 수 없는 링크입니다", "could not be verified"},
		{"a registration link", "/manage/" + strings.TrimPrefix(e.registerLink("sub1"), "/register/"), http.StatusForbidden, "확인할 수 없는 링크입니다", "not for this page"},
		{"another secret's", "/manage/" + func() string {
			k, _ := signedlink.NewKeys(strings.Repeat("z", 40))
			tok, _ := k.Sign(signedlink.Manage, "sub1", e.clock.Now().Add(time.Hour), e.clock.Now())
			return tok
		}(), http.StatusForbidden, "확인할 수 없는 링크입니다", "could not be verified"},
	}
	for _, c := range cases {
		for _, suffix := range []string{"", "/confirm?option=now"} {
			if c.path == "/manage" && suffix != "" {
				continue
			}
			status, page, _ := e.get(c.path + suffix)
			require.Equal(t, c.status, status, "%s%s: %s", c.name, suffix, page)
			require.Contains(t, page, c.ko, c.name)
			require.Contains(t, page, c.en, c.name)
			require.NotContains(t, page, basicPlan.Name, "%s: no subscription data", c.name)
		}
	}
	// Expired: the same genuine link an hour and a second later.
	e.clock.Set(e.clock.Now().Add(time.Hour + time.Second))
	status, page, _ := e.get(good)
	require.Equal(t, http.StatusGone, status, page)
	require.Contains(t, page, "링크의 유효 기간이 지났습니다")
	require.Contains(t, page, "expired")
	require.NotContains(t, page, basicPlan.Name)
	require.Contains(t, e.warnings(), "link refused", "a forged link is worth a warning")
	for _, l := range e.logs.All() {
		require.NotContains(t, l.Message+fmt.Sprint(l.ContextMap()), token, "a link is a bearer credential and is never logged")
	}

	// Without a secret (and outside demo mode) no link opens.
	e2 := newEnv(t, func(c *edge.Config) { c.LinkKeys = nil })
	status, page, _ = e2.get(good)
	require.Equal(t, http.StatusServiceUnavailable, status, page)
	require.Contains(t, page, "열 수 없습니다")
}

func TestManageCancelAtPeriodEnd(t *testing.T) {
	e := newEnv(t, nil)
	st := activeState("sub1", e.clock.Now(), 10)
	e.wf.setState(st)
	link := e.manageLink("sub1")
	action, form, page := e.confirmForm(link, "end")
	require.Contains(t, page, "일반해지")
	require.Equal(t, int64(0), amountIn(t, page, "confirm-refund"))
	require.Regexp(t, `<input type="radio" id="reason-not_using" name="reason" value="not_using" required>`, page, "no reason is chosen for the customer")

	form.Set("reason", "not_using")
	status, done, _ := e.postForm(action, form)
	require.Equal(t, http.StatusOK, status, done)
	require.Equal(t, "pending_cancel", outcomeOf(t, done))
	require.Contains(t, done, "해지가 예약되었습니다")
	require.Equal(t, int64(0), amountIn(t, done, "refund-amount"))

	ups := e.wf.sentUpdates()
	require.Len(t, ups, 1)
	u := ups[0]
	require.Equal(t, billing.WorkflowID("sub1"), u.WorkflowID)
	require.Equal(t, billing.MsgCancel, u.Name)
	require.Equal(t, billing.AtPeriodEnd, u.Arg.When)
	require.Equal(t, billing.RefundNone, u.Arg.Refund)
	require.Equal(t, billing.RequesterCustomer, u.Arg.Requester)
	require.Equal(t, "더 이상 이용하지 않아요", u.Arg.Reason)
	require.Regexp(t, `^self-[0-9a-f]{24}$`, u.Arg.RequestID)
	require.Equal(t, u.Arg.RequestID, u.UpdateID, "Temporal dedupes the update by the same ID")

	// Submitting the same form again (a reload, the back button) shows the same and sends nothing.
	status, again, _ := e.postForm(action, form)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, done, again)
	require.Len(t, e.wf.sentUpdates(), 1)

	// The page now says a cancel is pending instead of offering the buttons.
	_, page, _ = e.get(link)
	require.Contains(t, page, "해지가 예약되어 있습니다")
	require.NotContains(t, page, `id="option-now"`)
}

func TestManageCancelNowRefundsWhatWasShown(t *testing.T) {
	e := newEnv(t, nil)
	st := activeState("sub1", e.clock.Now(), 10)
	e.wf.setState(st)
	action, form, page := e.confirmForm(e.manageLink("sub1"), "now")
	shown := amountIn(t, page, "confirm-refund")
	require.Equal(t, prorata(st, e.clock.Now()), shown)

	form.Set("reason", "other")
	form.Set("reason_other", "  이사 가요  ")
	status, done, _ := e.postForm(action, form)
	require.Equal(t, http.StatusOK, status, done)
	require.Equal(t, "canceled", outcomeOf(t, done))
	require.Equal(t, shown, amountIn(t, done, "refund-amount"), "the receipt's refund, equal to what was shown")
	u := e.wf.sentUpdates()[0]
	require.Equal(t, billing.Now, u.Arg.When)
	require.Equal(t, billing.RefundProrata, u.Arg.Refund)
	require.Equal(t, "이사 가요", u.Arg.Reason, "the typed reason, normalized like the workflow does")
}

func TestManageDoubleSubmitCancelsOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.setState(activeState("sub1", e.clock.Now(), 10))
	action, form, _ := e.confirmForm(e.manageLink("sub1"), "now")
	form.Set("reason", "too_expensive")
	gate := make(chan struct{})
	e.wf.set(func(f *fakeWorkflows) { f.updateGate = gate })

	var wg sync.WaitGroup
	pages := make([]string, 2)
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, pages[i], _ = e.postForm(action, form)
		}()
	}
	time.Sleep(200 * time.Millisecond) // both submits are in: the first holds the update
	close(gate)
	wg.Wait()
	require.Len(t, e.wf.sentUpdates(), 1, "one cancel for two submits")
	require.Equal(t, pages[0], pages[1], "both submits show the same result")
	require.Equal(t, "canceled", outcomeOf(t, pages[0]))
	e.wf.mu.Lock()
	refunds := e.wf.states[billing.WorkflowID("sub1")].Refunds
	e.wf.mu.Unlock()
	require.Len(t, refunds, 1, "one refund")
}

func TestManageFullRefundWithinTheWindow(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) { c.FullRefundDays = 7 })
	e.wf.setState(activeState("recent", e.clock.Now(), 3))
	e.wf.setState(activeState("older", e.clock.Now(), 8))

	_, page, _ := e.get(e.manageLink("recent"))
	require.Contains(t, page, `id="option-full"`)
	require.Equal(t, int64(9900), amountIn(t, page, "refund-full"))
	_, page, _ = e.get(e.manageLink("older"))
	require.NotContains(t, page, `id="option-full"`, "past the window")
	status, _, _ := e.get(e.manageLink("older") + "/confirm?option=full")
	require.Equal(t, http.StatusBadRequest, status)

	// A full-refund form whose window closed before it was submitted cancels nothing.
	action, form, _ := e.confirmForm(e.manageLink("recent"), "full")
	form.Set("reason", "not_using")
	e.clock.Set(e.clock.Now().Add(4*24*time.Hour + time.Minute))
	status, page, _ = e.postForm(action, form)
	require.Equal(t, http.StatusGone, status, "a form older than an hour is refused: %s", page)
	require.Empty(t, e.wf.sentUpdates())

	e2 := newEnv(t, func(c *edge.Config) { c.FullRefundDays = 7 })
	st := activeState("edge", e2.clock.Now(), 7)
	st.Charges[1].At = e2.clock.Now().Add(-7*24*time.Hour + 30*time.Minute)
	e2.wf.setState(st)
	action, form, _ = e2.confirmForm(e2.manageLink("edge"), "full")
	form.Set("reason", "not_using")
	e2.clock.Set(e2.clock.Now().Add(31 * time.Minute))
	status, page, _ = e2.postForm(action, form)
	require.Equal(t, http.StatusConflict, status, page)
	require.Contains(t, page, "더 이상 선택할 수 없습니다")
	require.Empty(t, e2.wf.sentUpdates())

	// V2 charges answered by PortOne's approval alone, whose transactionIds are not learned
	// yet: a refund of cycle 1's payment is not cycle 2's, which is still offered in full.
	e4 := newEnv(t, func(c *edge.Config) { c.FullRefundDays = 7 })
	st = activeState("v2", e4.clock.Now(), 3)
	st.Charges[0].ImpUID, st.Charges[1].ImpUID = "", ""
	st.Refunds = []billing.RefundRecord{{Cycle: 1, MerchantUID: st.Charges[0].MerchantUID, Amount: 1000, Outcome: billing.RefundMade,
		At: st.Charges[0].At.Add(time.Hour)}}
	e4.wf.setState(st)
	_, page, _ = e4.get(e4.manageLink("v2"))
	require.Contains(t, page, `id="option-full"`, "cycle 1's refund is not cycle 2's")
	require.Equal(t, int64(9900), amountIn(t, page, "refund-full"))

	// Within the window, the whole charge comes back.
	e3 := newEnv(t, func(c *edge.Config) { c.FullRefundDays = 7 })
	e3.wf.setState(activeState("ok", e3.clock.Now(), 2))
	action, form, _ = e3.confirmForm(e3.manageLink("ok"), "full")
	form.Set("reason", "switching")
	status, page, _ = e3.postForm(action, form)
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, int64(9900), amountIn(t, page, "refund-amount"))
	require.Equal(t, billing.RefundFull, e3.wf.sentUpdates()[0].Arg.Refund)
}

func TestManageFormIsBoundToItsLinkAndChoice(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.setState(activeState("sub1", e.clock.Now(), 10))
	e.wf.setState(activeState("sub2", e.clock.Now(), 10))
	action, form, _ := e.confirmForm(e.manageLink("sub1"), "end")
	form.Set("reason", "not_using")
	post := func(action string, f url.Values, origin string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, e.url+action, strings.NewReader(f.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := e.http.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range form {
			c[kk] = append([]string(nil), vv...)
		}
		c.Set(k, v)
		return c
	}
	sub2Action := e.manageLink("sub2") + "/cancel"
	cases := []struct {
		name   string
		action string
		form   url.Values
		origin string
		status int
	}{
		{"a 일반해지 form posted as 중도해지", action, with("option", "now"), "", http.StatusForbidden},
		{"a 일반해지 form posted as a full refund", action, with("option", "full"), "", http.StatusForbidden},
		{"another nonce", action, with("nonce", "aaaaaaaaaaaaaaaaaaaa"), "", http.StatusForbidden},
		{"no MAC", action, with("mac", ""), "", http.StatusForbidden},
		{"another subscription's link", sub2Action, form, "", http.StatusForbidden},
		{"a foreign origin", action, form, "https://evil.example", http.StatusForbidden},
		{"an empty reason", action, with("reason", ""), "", http.StatusBadRequest},
		{"other, typed nothing", action, with("reason", "other"), "", http.StatusBadRequest},
	}
	for _, c := range cases {
		status, page := post(c.action, c.form, c.origin)
		require.Equal(t, c.status, status, "%s: %s", c.name, page)
	}
	require.Empty(t, e.wf.sentUpdates(), "nothing was canceled")

	// A bad reason gets the same form back (same nonce: still the same request) with the rule.
	long := with("reason", "other")
	long.Set("reason_other", strings.Repeat("가", billing.MaxReasonRunes+1))
	status, page := post(action, long, "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, page, `id="error"`)
	require.Contains(t, page, strconv.Itoa(billing.MaxReasonRunes))
	require.Contains(t, page, `value="`+form.Get("nonce")+`"`)
	ctl := with("reason", "other")
	ctl.Set("reason_other", "bad\x07reason")
	status, _ = post(action, ctl, "")
	require.Equal(t, http.StatusBadRequest, status)

	// The edge's own origin passes.
	status, page = post(action, form, e.url)
	require.Equal(t, http.StatusOK, status, page)
	require.Len(t, e.wf.sentUpdates(), 1)
}

func TestManageAlreadyCanceled(t *testing.T) {
	e := newEnv(t, nil)
	st := activeState("sub1", e.clock.Now(), 10)
	link := e.manageLink("sub1")
	action, form, _ := e.confirmForm2(st, link)
	st.Status = billing.StatusCanceled
	st.Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_c2", Amount: 6000, Requester: billing.RequesterCustomer, At: e.clock.Now()}}
	e.wf.setState(st)

	_, page, _ := e.get(link)
	require.Contains(t, page, "이미 해지된 구독입니다")
	require.NotContains(t, page, `id="option-end"`)
	require.NotContains(t, page, `id="option-now"`)
	require.Contains(t, page, "2회차 환불")

	// A confirmation page left open elsewhere shows what happened and sends nothing.
	form.Set("reason", "not_using")
	status, done, _ := e.postForm(action, form)
	require.Equal(t, http.StatusOK, status, done)
	require.Equal(t, "canceled", outcomeOf(t, done))
	require.Equal(t, int64(6000), amountIn(t, done, "refund-amount"))
	require.Empty(t, e.wf.sentUpdates())
}

// confirmForm2 opens a confirmation page while st is still active.
func (e *testEnv) confirmForm2(st billing.State, link string) (string, url.Values, string) {
	e.wf.setState(st)
	return e.confirmForm(link, "now")
}

func TestManageCancelWhenTemporalFails(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.setState(activeState("sub1", e.clock.Now(), 10))
	action, form, _ := e.confirmForm(e.manageLink("sub1"), "now")
	form.Set("reason", "break")
	e.wf.set(func(f *fakeWorkflows) { f.updateErr = serviceerror.NewUnavailable("down") })
	status, page, _ := e.postForm(action, form)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, page, "두 번 해지되거나 두 번 환불되지 않습니다")

	// The same form again, once Temporal is back, cancels (the failure was not remembered).
	e.wf.set(func(f *fakeWorkflows) { f.updateErr = nil })
	status, page, _ = e.postForm(action, form)
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "canceled", outcomeOf(t, page))
}

func TestManageCancelNowWhileAnotherIsInFlight(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.setState(activeState("sub1", e.clock.Now(), 10))
	action, form, _ := e.confirmForm(e.manageLink("sub1"), "now")
	form.Set("reason", "break")
	e.wf.set(func(f *fakeWorkflows) {
		f.otherCancel = &billing.RefundRecord{Cycle: 2, ImpUID: "imp_c2", Amount: 4321, Requester: billing.RequesterCustomer, At: e.clock.Now()}
	})
	status, page, _ := e.postForm(action, form)
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "canceled", outcomeOf(t, page), "not \"scheduled\": the other cancel ended it")
	require.Equal(t, int64(4321), amountIn(t, page, "refund-amount"), "the refund the state records")
}

func TestManagePageForSubscriptionsWithoutARunningPeriod(t *testing.T) {
	e := newEnv(t, nil)
	paused := activeState("paused", e.clock.Now(), 10)
	paused.Status = billing.StatusPaused
	e.wf.setState(paused)
	e.wf.setState(billing.State{SubscriptionID: "new", Status: billing.StatusAwaitingRegistration, Plan: basicPlan})

	_, page, _ := e.get(e.manageLink("paused"))
	require.Contains(t, page, "해지는 바로 적용됩니다", "일반해지 cannot wait for a period that is not running")
	require.Contains(t, page, `id="option-end"`)
	require.Contains(t, page, `id="option-now"`)

	_, page, _ = e.get(e.manageLink("new"))
	require.Contains(t, page, "아직 결제된 금액이 없습니다")
	require.Equal(t, int64(0), amountIn(t, page, "refund-now"))
	require.NotContains(t, page, `id="next-charge"`)

	e.wf.set(func(f *fakeWorkflows) { f.queryErr = serviceerror.NewUnavailable("down") })
	status, page, _ := e.get(e.manageLink("new"))
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, page, "불러올 수 없습니다")
	status, _, _ = e.get(e.manageLink("ghost"))
	require.Equal(t, http.StatusServiceUnavailable, status, "the query error wins while Temporal is down")
	e.wf.set(func(f *fakeWorkflows) { f.queryErr = nil })
	status, page, _ = e.get(e.manageLink("ghost"))
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, page, "구독을 찾을 수 없습니다")
}

// A period paid wholly by credit (a restart's, drawn from cycle 1's payment) is refunded on what
// it is worth, and a credit pending for the next charges is refunded too: the page shows the
// workflow's figure (billing.State.EndRefund), not "no refund".
func TestManageRefundOfAPeriodPaidByCredit(t *testing.T) {
	e := newEnv(t, nil)
	st := activeState("sub1", e.clock.Now(), 10)
	st.Charges = st.Charges[:1]
	st.CurrentPeriod.Credit, st.CurrentPeriod.CreditFrom = 9900, chargeUID("sub1", 1, 1)
	st.Credit, st.CreditFrom = 1000, chargeUID("sub1", 1, 1)
	e.wf.setState(st)
	_, _, page := e.confirmForm(e.manageLink("sub1"), "now")
	require.Equal(t, prorata(st, e.clock.Now())+1000, amountIn(t, page, "confirm-refund"))
	_, _, page = e.confirmForm(e.manageLink("sub1"), "end")
	require.Equal(t, int64(1000), amountIn(t, page, "confirm-refund"), "the pending credit is refunded at the end")
}

// TestManageRefundRequestedIsNotShownAsMade: a refund PortOne still holds REQUESTED (V2, an
// asynchronous cancel) is shown as "requested, not yet confirmed" and not taken off the total
// paid until PortOne gives it back; one that ended failed is shown as not refunded. Before, the
// page took every refund record off the total: 19,800 − 6,000 = 13,800 while nothing had come
// back.
func TestManageRefundRequestedIsNotShownAsMade(t *testing.T) {
	for _, tc := range []struct {
		outcome   string
		wantLabel string
		wantTotal string
	}{
		{billing.RefundMade, "2회차 환불 <span", "13,800원"},
		{billing.RefundRequested, "2회차 환불 (요청됨, 아직 확인되지 않음)", "19,800원"},
		{billing.RefundFailed, "2회차 환불 (실패, 환불되지 않음)", "19,800원"},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			e := newEnv(t, nil)
			st := activeState("sub1", e.clock.Now(), 10)
			link := e.manageLink("sub1")
			action, form, _ := e.confirmForm2(st, link)
			st.Status = billing.StatusCanceled
			st.Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_c2", Amount: 6000, Requester: billing.RequesterCustomer, At: e.clock.Now(), Outcome: tc.outcome}}
			e.wf.setState(st)

			_, page, _ := e.get(link)
			require.Contains(t, page, tc.wantLabel)
			require.Regexp(t, `id="total-paid">`+tc.wantTotal+`<`, page)

			form.Set("reason", "not_using")
			_, done, _ := e.postForm(action, form)
			require.Equal(t, tc.outcome == billing.RefundRequested, strings.Contains(done, `id="refund-requested"`), done)
		})
	}
}
