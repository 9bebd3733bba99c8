package portonetest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// threeAttempts charges "multi" three times: failed, failed, paid, one minute apart.
func threeAttempts(t *testing.T, h *harness) []string {
	t.Helper()
	h.emu.AddFault(Fault{MerchantUID: "multi", Action: FaultDecline, Times: 2})
	var imps []string
	for i := range 3 {
		r := h.again("c1", "multi", 1000)
		require.Equal(t, 0, r.Code)
		imps = append(imps, r.obj(t)["imp_uid"].(string))
		if i < 2 {
			h.clk.Advance(time.Minute)
		}
	}
	return imps
}

func TestFindPayment(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	imps := threeAttempts(t, h)
	tests := []struct {
		path    string
		wantImp string
	}{
		{"/payments/find/multi", imps[2]},
		{"/payments/find/multi?sorting=-started", imps[2]},
		{"/payments/find/multi?sorting=started", imps[0]},
		{"/payments/find/multi/failed", imps[1]},
		{"/payments/find/multi/failed?sorting=started", imps[0]},
		{"/payments/find/multi/paid", imps[2]},
		{"/payments/find/multi?sorting=paid", imps[0]},
		{"/payments/find/multi?sorting=-paid", imps[2]},
		{"/payments/find/multi?sorting=-updated", imps[2]},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := h.do(http.MethodGet, tt.path, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, tt.wantImp, r.obj(t)["imp_uid"])
		})
	}
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/payments/find/ghost", http.StatusNotFound},
		{"/payments/find/multi/cancelled", http.StatusNotFound},
		{"/payments/find/multi/refunded", http.StatusBadRequest},
		{"/payments/find/multi?sorting=amount", http.StatusBadRequest},
	} {
		r := h.do(http.MethodGet, tt.path, nil)
		require.Equal(t, tt.status, r.Status, tt.path)
		require.NotEqual(t, 0, r.Code)
		if tt.status == http.StatusNotFound {
			require.Equal(t, "존재하지 않는 결제정보입니다.", r.msg())
		}
	}
}

func TestFindAllPayments(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	imps := threeAttempts(t, h)
	var pg testPage[testPayment]
	h.do(http.MethodGet, "/payments/findAll/multi", nil).into(t, &pg)
	require.Equal(t, 3, pg.Total)
	require.Equal(t, []string{imps[2], imps[1], imps[0]}, []string{pg.List[0].ImpUID, pg.List[1].ImpUID, pg.List[2].ImpUID})

	pg = testPage[testPayment]{}
	h.do(http.MethodGet, "/payments/findAll/multi/failed?limit=1&page=2&sorting=started", nil).into(t, &pg)
	require.Equal(t, 2, pg.Total)
	require.Equal(t, 1, pg.Previous)
	require.Equal(t, 0, pg.Next)
	require.Equal(t, imps[1], pg.List[0].ImpUID)

	pg = testPage[testPayment]{}
	h.do(http.MethodGet, "/payments/findAll/multi?limit=2", nil).into(t, &pg)
	require.Equal(t, 2, pg.Next)
	require.Len(t, pg.List, 2)

	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/findAll/ghost", nil).Status)
	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/findAll/multi/cancelled", nil).Status)
	for _, bad := range []string{"?limit=0", "?limit=1001", "?page=0", "?sorting=x", "/nope"} {
		require.Equal(t, http.StatusBadRequest, h.do(http.MethodGet, "/payments/findAll/multi"+bad, nil).Status, bad)
	}
}

func TestGetPayments(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	a := h.again("c1", "a", 1000).obj(t)["imp_uid"].(string)
	b := h.again("c1", "b", 1000).obj(t)["imp_uid"].(string)
	tests := []struct {
		query      string
		wantStatus int
		wantImps   []string
	}{
		{"imp_uid[]=" + a + "&imp_uid[]=" + b, http.StatusOK, []string{a, b}},
		{"imp_uid[]=" + a + "&imp_uid[]=imp_000000000000", http.StatusMultiStatus, []string{a}},
		{"imp_uid[]=" + a + "&merchant_uid[]=b", http.StatusOK, []string{a, b}},
		{"merchant_uid[]=zz&merchant_uid[]=b", http.StatusMultiStatus, []string{b}},
	}
	for _, tt := range tests {
		r := h.do(http.MethodGet, "/payments?"+tt.query, nil)
		require.Equal(t, tt.wantStatus, r.Status, tt.query)
		var list []testPayment
		r.into(t, &list)
		var got []string
		for _, p := range list {
			got = append(got, p.ImpUID)
		}
		require.Equal(t, tt.wantImps, got, tt.query)
	}
	r := h.do(http.MethodGet, "/payments?imp_uid[]=imp_000000000000", nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, http.StatusBadRequest, h.do(http.MethodGet, "/payments", nil).Status)
	q := ""
	for i := range 101 {
		q += fmt.Sprintf("imp_uid[]=imp_%012d&", i)
	}
	require.Equal(t, http.StatusBadRequest, h.do(http.MethodGet, "/payments?"+q, nil).Status)
	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/imp_000000000000", nil).Status)
}

func TestCancel(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t)
	h.register("c1")
	imp := h.again("c1", "order", 10000, map[string]any{"notice_url": rc.URL}).obj(t)["imp_uid"].(string)
	h.waitHooks(1)

	cancel := func(body map[string]any) apiResponse {
		return h.do(http.MethodPost, "/payments/cancel", body)
	}
	// Partial cancel by imp_uid with the right checksum.
	r := cancel(map[string]any{"imp_uid": imp, "amount": 3000, "checksum": 10000, "reason": "부분환불", "extra": map[string]any{"requester": "customer"}})
	require.Equal(t, 0, r.Code, r.Raw)
	var p testPayment
	r.into(t, &p)
	require.Equal(t, "paid", p.Status, "a partial cancel keeps the payment paid")
	require.EqualValues(t, 3000, p.CancelAmount)
	require.Len(t, p.CancelHistory, 1)
	ch := p.CancelHistory[0]
	require.EqualValues(t, 3000, ch.Amount)
	require.Equal(t, "부분환불", ch.Reason)
	require.Equal(t, t0.Unix(), ch.CancelledAt)
	require.NotEmpty(t, ch.CancellationID)
	require.NotEmpty(t, ch.PGTID)
	require.NotEmpty(t, ch.ReceiptURL)
	require.Empty(t, h.emu.Warnings())

	// A stale checksum (the caller did not see the first cancel) is refused.
	r = cancel(map[string]any{"imp_uid": imp, "amount": 1000, "checksum": 10000, "reason": "x", "extra": map[string]any{"requester": "admin"}})
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.msg(), "checksum(10000)")
	// Over-cancel is refused.
	r = cancel(map[string]any{"imp_uid": imp, "amount": 7001, "reason": "x", "extra": map[string]any{"requester": "admin"}})
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.msg(), "취소 가능 잔액(7000)")
	// A second partial cancel by merchant_uid, as a form.
	r = h.do(http.MethodPost, "/payments/cancel", "merchant_uid=order&amount=2000&checksum=7000&reason=r2&extra[requester]=admin")
	require.Equal(t, 0, r.Code, r.Raw)
	p = testPayment{}
	r.into(t, &p)
	require.EqualValues(t, 5000, p.CancelAmount)
	require.Len(t, p.CancelHistory, 2)
	// The rest: amount omitted means everything left; imp_uid wins over merchant_uid.
	r = cancel(map[string]any{"imp_uid": imp, "merchant_uid": "ignored", "reason": "전액", "enable_webhook": true, "extra": map[string]any{"requester": "admin"}})
	require.Equal(t, 0, r.Code, r.Raw)
	p = testPayment{}
	r.into(t, &p)
	require.Equal(t, "cancelled", p.Status)
	require.EqualValues(t, 10000, p.CancelAmount)
	require.Equal(t, t0.Unix(), p.CancelledAt)
	require.Len(t, p.CancelHistory, 3)
	require.EqualValues(t, 5000, p.CancelHistory[2].Amount)

	d := h.waitHooks(2)
	require.Len(t, d, 2, "only the cancel with enable_webhook=true notified")
	require.Equal(t, "cancelled", d[1].Status)
	require.Equal(t, p.CancelHistory[2].CancellationID, d[1].CancellationID)
	require.JSONEq(t, fmt.Sprintf(`{"imp_uid":%q,"merchant_uid":"order","status":"cancelled","cancellation_id":%q}`, imp, p.CancelHistory[2].CancellationID), rc.hooks()[1].Body)

	r = cancel(map[string]any{"imp_uid": imp})
	require.Equal(t, 1, r.Code)
	require.Equal(t, "이미 전액취소된 주문입니다.", r.msg())
	r = cancel(map[string]any{"merchant_uid": "order"})
	require.Equal(t, "이미 전액취소된 주문입니다.", r.msg())

	// The charge still counts as charged, and its merchant_uid stays used.
	require.Equal(t, 1, h.emu.PaidCount("order"))
	require.Equal(t, msgMerchantUIDUsed, h.again("c1", "order", 1000).msg())
	le := h.emu.Ledger()
	require.Equal(t, "cancelled", le[len(le)-1].Status)
	require.EqualValues(t, 10000, le[len(le)-1].CancelAmount)
}

func TestCancelRefusals(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	paid := h.again("c1", "p", 1000).obj(t)["imp_uid"].(string)
	h.emu.AddFault(Fault{MerchantUID: "f", Action: FaultDecline, Times: 1})
	failed := h.again("c1", "f", 1000).obj(t)["imp_uid"].(string)
	reg := h.register("c2")
	tests := []struct {
		name string
		body any
		want string
	}{
		{"no id", map[string]any{"amount": 100}, msgCancelNoID},
		{"unknown imp_uid", map[string]any{"imp_uid": "imp_000000000000"}, msgNothingToCancel},
		{"unknown merchant_uid", map[string]any{"merchant_uid": "ghost"}, msgNothingToCancel},
		{"failed payment", map[string]any{"imp_uid": failed}, msgNothingToCancel},
		{"failed merchant_uid", map[string]any{"merchant_uid": "f"}, msgNothingToCancel},
		{"registration record", map[string]any{"imp_uid": reg.RegistrationImpUID}, msgCancelNothingLeft},
		{"negative amount", map[string]any{"imp_uid": paid, "amount": -1}, "amount 파라메터는 0 이상이어야 합니다."},
		{"bad requester", map[string]any{"imp_uid": paid, "extra": map[string]any{"requester": "bot"}}, msgCancelBadRequester},
		{"bad amount", map[string]any{"imp_uid": paid, "amount": "x"}, "amount 파라메터의 형식이 올바르지 않습니다. (정수이어야 합니다)"},
		{"tax_free above cancel", map[string]any{"imp_uid": paid, "amount": 100, "tax_free": 200}, "tax_free(200)는 0 이상이며 취소 요청금액(100)보다 클 수 없습니다."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/payments/cancel", tt.body)
			require.Equal(t, http.StatusOK, r.Status)
			require.Equal(t, 1, r.Code, r.Raw)
			require.Equal(t, tt.want, r.msg())
		})
	}
	require.Equal(t, "paid", h.do(http.MethodGet, "/payments/"+paid, nil).obj(t)["status"])
}

func TestCancelNaverPayReviewWarning(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	imp := h.again("c1", "p", 1000).obj(t)["imp_uid"].(string)
	r := h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": imp, "amount": 100})
	require.Equal(t, 0, r.Code, "accepted: PortOne does not enforce NaverPay's review")
	ws := h.emu.Warnings()
	require.Len(t, ws, 1)
	require.Equal(t, []string{"reason", "extra.requester"}, ws[0].Missing)
	require.Equal(t, imp, ws[0].ImpUID)
	require.Equal(t, "POST /payments/cancel", ws[0].Route)
}

func TestCancelExecutedSchedule(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, 0, h.schedule("c1", entry("s", t0.Add(time.Minute), 1000)).Code)
	h.clk.Advance(time.Minute)
	require.Equal(t, 0, h.do(http.MethodPost, "/payments/cancel", map[string]any{"merchant_uid": "s", "reason": "x", "extra": map[string]any{"requester": "admin"}}).Code)
	s := h.do(http.MethodGet, "/subscribe/payments/schedule/s", nil).obj(t)
	require.Equal(t, "executed", s["schedule_status"])
	require.Equal(t, "cancelled", s["payment_status"], "a refunded scheduled payment shows cancelled")
}
