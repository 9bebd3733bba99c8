package portonetest

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func entry(merchantUID string, at time.Time, amount int64, extra ...map[string]any) map[string]any {
	e := map[string]any{"merchant_uid": merchantUID, "schedule_at": at.Unix(), "amount": amount, "name": "월간 구독"}
	for _, x := range extra {
		for k, v := range x {
			e[k] = v
		}
	}
	return e
}

func (h *harness) schedule(customerUID string, entries ...map[string]any) apiResponse {
	h.t.Helper()
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = e
	}
	return h.do(http.MethodPost, "/subscribe/payments/schedule", map[string]any{"customer_uid": customerUID, "schedules": list})
}

func TestScheduleResponse(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	r := h.schedule("c1", entry("s-1", t0.Add(time.Hour), 1000), entry("s-2", t0.Add(2*time.Hour), 2000, map[string]any{"custom_data": "cd"}))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, 0, r.Code, r.Raw)
	var list []map[string]any
	r.into(t, &list)
	require.Len(t, list, 2)
	for i, s := range list {
		require.Equal(t, fmt.Sprintf("s-%d", i+1), s["merchant_uid"])
		require.Equal(t, "c1", s["customer_uid"])
		require.Equal(t, "scheduled", s["schedule_status"])
		require.Contains(t, s, "payment_status")
		require.Nil(t, s["payment_status"], "a real JSON null, not the string")
		require.Contains(t, s, "imp_uid")
		require.Nil(t, s["imp_uid"])
		require.EqualValues(t, 0, s["executed_at"])
		require.EqualValues(t, 0, s["revoked_at"])
		require.Equal(t, "KRW", s["currency"])
		require.Equal(t, "naverpay", s["pg_provider"])
	}
	require.EqualValues(t, t0.Add(2*time.Hour).Unix(), list[1]["schedule_at"])
	require.EqualValues(t, 2000, list[1]["amount"])
	require.Equal(t, "cd", list[1]["custom_data"])
}

func TestScheduleFormBody(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	f := url.Values{}
	f.Set("customer_uid", "c1")
	f.Set("schedules[0][merchant_uid]", "f-1")
	f.Set("schedules[0][schedule_at]", fmt.Sprint(t0.Add(time.Hour).Unix()))
	f.Set("schedules[0][amount]", "1000")
	f.Set("schedules[0][name]", "월간 구독")
	f.Set("schedules[0][extra][naverUseCfm]", kstDate(t0))
	f.Set("schedules[1][merchant_uid]", "f-2")
	f.Set("schedules[1][schedule_at]", fmt.Sprint(t0.Add(2*time.Hour).Unix()))
	f.Set("schedules[1][amount]", "2000")
	f.Set("schedules[1][name]", "월간 구독")
	r := h.do(http.MethodPost, "/subscribe/payments/schedule", f.Encode())
	require.Equal(t, 0, r.Code, r.Raw)
	var list []wireSchedule
	r.into(t, &list)
	require.Len(t, list, 2)
	require.Equal(t, "f-1", list[0].MerchantUID)
	require.Equal(t, "f-2", list[1].MerchantUID)
	require.EqualValues(t, 2000, list[1].Amount)

	// schedules serialised as a JSON string inside a form.
	f = url.Values{}
	f.Set("customer_uid", "c1")
	f.Set("schedules", fmt.Sprintf(`[{"merchant_uid":"f-3","schedule_at":%d,"amount":500,"name":"n"}]`, t0.Add(time.Hour).Unix()))
	r = h.do(http.MethodPost, "/subscribe/payments/schedule", f.Encode())
	require.Equal(t, 0, r.Code, r.Raw)
}

func TestScheduleRefusals(t *testing.T) {
	later := t0.Add(time.Hour)
	tests := []struct {
		name     string
		customer string
		entries  []map[string]any
		wantMsg  string
	}{
		{"unknown customer", "ghost", []map[string]any{entry("n-1", later, 1000)}, "등록된 고객정보가 없습니다."},
		{"already scheduled", "c1", []map[string]any{entry("taken", later, 1000)}, "이미 결제예약에 사용된 merchant_uid입니다. (taken)"},
		{"already revoked", "c1", []map[string]any{entry("revoked", later, 1000)}, "이미 결제예약에 사용된 merchant_uid입니다. (revoked)"},
		{"already paid", "c1", []map[string]any{entry("paid", later, 1000)}, msgMerchantUIDUsed},
		{"duplicate in batch", "c1", []map[string]any{entry("d", later, 1000), entry("d", later, 1000)}, "schedules 안에 중복된 merchant_uid가 있습니다. (d)"},
		{"one bad entry rejects the batch", "c1", []map[string]any{entry("ok-1", later, 1000), entry("bad", later, 5)}, msgNaverPayMinAmount},
		{"missing schedule_at", "c1", []map[string]any{{"merchant_uid": "x", "amount": 1000, "name": "n"}}, "schedules[0][schedule_at] 파라메터가 누락되었습니다."},
		{"missing amount", "c1", []map[string]any{{"merchant_uid": "x", "schedule_at": later.Unix(), "name": "n"}}, "schedules[0][amount] 파라메터가 누락되었습니다."},
		{"missing name", "c1", []map[string]any{entry("ok-1", later, 1000), {"merchant_uid": "x", "schedule_at": later.Unix(), "amount": 1000}}, "schedules[1][name] 파라메터가 누락되었습니다."},
		{"missing merchant_uid", "c1", []map[string]any{{"schedule_at": later.Unix(), "amount": 1000, "name": "n"}}, "schedules[0][merchant_uid] 파라메터가 누락되었습니다."},
		{"tax_free above amount", "c1", []map[string]any{entry("x", later, 1000, map[string]any{"tax_free": 2000})}, "schedules[0][tax_free](2000)는 0 이상이며 결제금액 schedules[0][amount](1000)보다 클 수 없습니다."},
		{"naverUseCfm before the schedule day", "c1", []map[string]any{entry("x", t0.AddDate(0, 0, 3), 1000, map[string]any{"extra": map[string]any{"naverUseCfm": kstDate(t0.AddDate(0, 0, 2))}})}, msgNaverUseCfm},
		{"no schedules", "c1", nil, "schedules 파라메터가 누락되었습니다."},
	}
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, 0, h.schedule("c1", entry("taken", later, 1000), entry("revoked", later, 1000)).Code)
	require.Equal(t, 0, h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"revoked"}}).Code)
	require.Equal(t, 0, h.again("c1", "paid", 1000).Code)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.schedule(tt.customer, tt.entries...)
			require.Equal(t, http.StatusOK, r.Status)
			require.Equal(t, 1, r.Code, r.Raw)
			require.Equal(t, tt.wantMsg, r.msg())
			require.Equal(t, "null", string(r.Response))
		})
	}
	require.Len(t, h.emu.Schedules(), 2, "nothing was stored by any refused batch")
	r := h.do(http.MethodPost, "/subscribe/payments/schedule", map[string]any{"schedules": []any{entry("x", later, 1000)}})
	require.Equal(t, "customer_uid 파라메터가 누락되었습니다.", r.msg())
	r = h.do(http.MethodPost, "/subscribe/payments/schedule", map[string]any{"customer_uid": "c1", "schedules": "nope"})
	require.Equal(t, 1, r.Code)
}

func TestSchedulerExecutesExactlyOnce(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t)
	h.register("c1")
	at := t0.Add(time.Hour)
	r := h.schedule("c1", entry("run-1", at, 4900, map[string]any{"notice_url": rc.URL + "/n", "custom_data": "cd", "extra": map[string]any{"naverUseCfm": kstDate(at)}}))
	require.Equal(t, 0, r.Code, r.Raw)

	h.clk.Advance(59*time.Minute + 59*time.Second)
	require.Equal(t, "scheduled", h.emu.Schedules()[0].Status, "not before schedule_at")
	require.Equal(t, 0, h.emu.PaidCount("run-1"))

	h.clk.Advance(time.Second) // exactly schedule_at
	h.token = h.getToken(DefaultKey, DefaultSecret)
	s := h.do(http.MethodGet, "/subscribe/payments/schedule/run-1", nil).obj(t)
	require.Equal(t, "executed", s["schedule_status"])
	require.Equal(t, "paid", s["payment_status"])
	require.EqualValues(t, at.Unix(), s["executed_at"])
	require.Nil(t, s["fail_reason"])
	impUID := s["imp_uid"].(string)
	require.Regexp(t, `^imp_[0-9]{12}$`, impUID)

	var p testPayment
	h.do(http.MethodGet, "/payments/"+impUID, nil).into(t, &p)
	require.Equal(t, "paid", p.Status)
	require.Equal(t, "payment.scheduled", str(p.CustomerUIDUsage))
	require.Equal(t, "run-1", p.MerchantUID)
	require.EqualValues(t, 4900, p.Amount)
	require.Equal(t, "cd", str(p.CustomData))
	require.Equal(t, "01012345678", str(p.BuyerTel), "buyer filled from the customer")
	require.Equal(t, "api", str(p.Channel))

	// More clock movement, RunDue and the control API never run it again.
	h.clk.Advance(time.Hour)
	require.Equal(t, 0, h.emu.RunDue())
	status, body := h.control(http.MethodPost, "/__emulator/run-due", nil)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 0, body["executed"])
	require.Equal(t, 1, h.emu.PaidCount("run-1"))

	d := h.waitHooks(1)
	require.Len(t, d, 1)
	require.Equal(t, rc.URL+"/n", d[0].URL)
	require.JSONEq(t, `{"imp_uid":"`+impUID+`","merchant_uid":"run-1","status":"paid"}`, rc.hooks()[0].Body)
}

func TestSchedulerFailedExecutionNotifiesInForm(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, func(o *Options) { o.WebhookFormat = WebhookForm; o.DefaultNoticeURL = rc.URL + "/console" })
	h.register("c1")
	h.emu.AddFault(Fault{Op: OpScheduleExecution, MerchantUID: "f-1", Action: FaultDecline, Reason: "한도초과"})
	require.Equal(t, 0, h.schedule("c1", entry("f-1", t0.Add(time.Minute), 1000), entry("f-2", t0.Add(time.Minute), 1000)).Code)
	h.clk.Advance(time.Minute)

	recs := h.emu.Schedules()
	require.Equal(t, "failed", recs[0].PaymentStatus)
	require.Equal(t, "한도초과", recs[0].FailReason)
	require.Equal(t, "paid", recs[1].PaymentStatus)

	d := h.waitHooks(2)
	for _, x := range d {
		require.Equal(t, rc.URL+"/console", x.URL, "DefaultNoticeURL when the schedule has none")
		require.Equal(t, WebhookForm, x.Format)
	}
	bodies := map[string]string{}
	for _, hk := range rc.hooks() {
		require.Equal(t, "application/x-www-form-urlencoded", hk.ContentType)
		v, err := url.ParseQuery(hk.Body)
		require.NoError(t, err)
		bodies[v.Get("merchant_uid")] = v.Get("status")
		require.Equal(t, []string{"imp_uid", "merchant_uid", "status"}, sortedKeys(v))
	}
	require.Equal(t, map[string]string{"f-1": "failed", "f-2": "paid"}, bodies, "scheduled attempts notify paid and failed")
}

func sortedKeys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func TestSchedulerExecutionFaultsAndEdgeCases(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.register("gone")
	h.register("hard")
	h.emu.AddFault(Fault{MerchantUID: "x-err", Op: OpScheduleExecution, Action: FaultErrorBeforeCommit})
	h.emu.AddFault(Fault{MerchantUID: "x-code", Action: FaultDeclineCode, Reason: "코드 거절"})
	h.emu.AddFault(Fault{CustomerUID: "hard", Action: FaultDecline, Hard: true, Times: 1})
	at := t0.Add(time.Minute)
	require.Equal(t, 0, h.schedule("c1", entry("x-err", at, 1000), entry("x-code", at, 1000),
		entry("x-cfm", t0.AddDate(0, 0, 2), 1000, map[string]any{"extra": map[string]any{"naverUseCfm": kstDate(t0.AddDate(0, 0, 2))}})).Code)
	require.Equal(t, 0, h.schedule("gone", entry("x-gone", at, 1000)).Code)
	require.Equal(t, 0, h.schedule("hard", entry("x-hard-1", at, 1000), entry("x-hard-2", at.Add(time.Minute), 1000)).Code)
	require.Equal(t, 0, h.do(http.MethodDelete, "/subscribe/customers/gone?reason=x&extra[requester]=admin", nil).Code)

	h.clk.Advance(2 * time.Minute)
	got := map[string]ScheduleRecord{}
	for _, s := range h.emu.Schedules() {
		got[s.MerchantUID] = s
	}
	require.Equal(t, "failed", got["x-err"].PaymentStatus)
	require.Equal(t, defaultErrorBeforeCommitMessage, got["x-err"].FailReason)
	require.Equal(t, "failed", got["x-code"].PaymentStatus)
	require.Equal(t, "코드 거절", got["x-code"].FailReason)
	require.Equal(t, "failed", got["x-gone"].PaymentStatus, "a deleted key fails at execution")
	require.Equal(t, deletedKeyReason, got["x-gone"].FailReason)
	require.NotEmpty(t, got["x-gone"].ImpUID, "and leaves a failed payment record")
	require.Equal(t, DefaultHardDeclineReason, got["x-hard-1"].FailReason)
	require.Equal(t, DefaultHardDeclineReason, got["x-hard-2"].FailReason, "a hard decline poisons later executions")
	require.Equal(t, "scheduled", got["x-cfm"].Status)

	// naverUseCfm is checked against the execution day (KST): an execution that only runs
	// the next day (t0+2d 10:00 is due, the clock jumps to 06:00 KST a day later) fails.
	h.clk.Set(t0.AddDate(0, 0, 2).Add(20 * time.Hour))
	for _, s := range h.emu.Schedules() {
		if s.MerchantUID == "x-cfm" {
			require.Equal(t, "executed", s.Status)
			require.Equal(t, "failed", s.PaymentStatus)
			require.Equal(t, msgNaverUseCfm, s.FailReason)
		}
	}
}

func TestSchedulerRunsLateAndPastSchedules(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, 0, h.schedule("c1", entry("past", t0.Add(-time.Hour), 1000)).Code, "schedule_at in the past is accepted")
	require.Equal(t, "scheduled", h.emu.Schedules()[0].Status, "until the next scheduler pass")
	require.Equal(t, 1, h.emu.RunDue())
	require.Equal(t, "paid", h.emu.Schedules()[0].PaymentStatus)
}

func TestSchedulerWithRealClock(t *testing.T) {
	emu, srv := NewServer(t, Options{SchedulerInterval: 10 * time.Millisecond})
	_, err := emu.RegisterCustomer("", CustomerSeed{CustomerUID: "c1"})
	require.NoError(t, err)
	tok := doRequest(t, srv.URL, http.MethodPost, "/users/getToken", map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret})
	var a authResponse
	tok.into(t, &a)
	r := doRequest(t, srv.URL, http.MethodPost, "/subscribe/payments/schedule", map[string]any{"customer_uid": "c1",
		"schedules": []any{entry("rt-1", time.Now(), 1000)}}, withToken(a.AccessToken))
	require.Equal(t, 0, r.Code, r.Raw)
	require.Eventually(t, func() bool { return emu.PaidCount("rt-1") == 1 }, 5*time.Second, 10*time.Millisecond)
	status, body := func() (int, map[string]any) {
		h := &harness{t: t, srv: srv}
		return h.control(http.MethodPost, "/__emulator/clock", map[string]any{"advance": "1m"})
	}()
	require.Equal(t, http.StatusConflict, status, "the real clock cannot be moved")
	require.Contains(t, body["error"], "real clock")
}

func TestUnschedule(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.register("c1")
		h.register("c2")
		require.Equal(t, 0, h.schedule("c1", entry("a", t0.Add(time.Hour), 1000), entry("b", t0.Add(2*time.Hour), 1000), entry("done", t0.Add(time.Minute), 1000)).Code)
		require.Equal(t, 0, h.schedule("c2", entry("z", t0.Add(time.Hour), 1000)).Code)
		h.clk.Advance(time.Minute) // "done" executes
		h.clk.Advance(-time.Minute)
		return h
	}
	revoked := func(t *testing.T, r apiResponse) []string {
		require.Equal(t, 0, r.Code, r.Raw)
		var list []wireSchedule
		r.into(t, &list)
		var out []string
		for _, s := range list {
			require.Equal(t, "revoked", s.ScheduleStatus)
			require.Equal(t, t0.Unix(), s.RevokedAt)
			out = append(out, s.MerchantUID)
		}
		return out
	}
	t.Run("by customer revokes all pending", func(t *testing.T) {
		h := setup(t)
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"customer_uid": "c1"})
		require.Equal(t, []string{"a", "b"}, revoked(t, r), "executed schedules stay executed")
		require.Equal(t, "scheduled", h.do(http.MethodGet, "/subscribe/payments/schedule/z", nil).obj(t)["schedule_status"])
		r = h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"customer_uid": "c1"})
		require.Equal(t, 1, r.Code)
		require.Equal(t, "취소할 예약결제 기록이 존재하지 않습니다.", r.msg())
	})
	t.Run("by merchant_uid list", func(t *testing.T) {
		h := setup(t)
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"b", "z", "done", "ghost"}})
		require.Equal(t, []string{"b", "z"}, revoked(t, r))
		require.Equal(t, "scheduled", h.do(http.MethodGet, "/subscribe/payments/schedule/a", nil).obj(t)["schedule_status"])
	})
	t.Run("merchant_uid scoped to customer_uid", func(t *testing.T) {
		h := setup(t)
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"customer_uid": "c1", "merchant_uid": []string{"a", "z"}})
		require.Equal(t, []string{"a"}, revoked(t, r))
	})
	t.Run("form with brackets", func(t *testing.T) {
		h := setup(t)
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", "customer_uid=c1&merchant_uid[]=a&merchant_uid[]=b")
		require.Equal(t, []string{"a", "b"}, revoked(t, r))
	})
	t.Run("single merchant_uid string", func(t *testing.T) {
		h := setup(t)
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": "a"})
		require.Equal(t, []string{"a"}, revoked(t, r))
	})
	t.Run("nothing to revoke", func(t *testing.T) {
		h := setup(t)
		for _, body := range []map[string]any{{"customer_uid": "ghost"}, {"merchant_uid": []string{"done"}}} {
			r := h.do(http.MethodPost, "/subscribe/payments/unschedule", body)
			require.Equal(t, http.StatusOK, r.Status)
			require.Equal(t, 1, r.Code)
			require.Equal(t, "취소할 예약결제 기록이 존재하지 않습니다.", r.msg())
		}
		r := h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{})
		require.Equal(t, 1, r.Code)
	})
	t.Run("revoked schedules never run", func(t *testing.T) {
		h := setup(t)
		require.Equal(t, 0, h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"customer_uid": "c1"}).Code)
		h.clk.Advance(24 * time.Hour)
		require.Equal(t, 0, h.emu.PaidCount("a"))
		require.Equal(t, 1, h.emu.PaidCount("z"))
	})
}

func TestScheduleQueries(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.register("c2")
	var entries []map[string]any
	for i := range 25 {
		entries = append(entries, entry(fmt.Sprintf("q-%02d", i), t0.Add(time.Duration(i+1)*time.Hour), 1000))
	}
	require.Equal(t, 0, h.schedule("c1", entries...).Code)
	require.Equal(t, 0, h.schedule("c2", entry("other", t0.Add(time.Hour), 1000)).Code)
	require.Equal(t, 0, h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"q-24"}}).Code)
	h.clk.Advance(time.Hour) // q-00 and "other" execute
	h.token = h.getToken(DefaultKey, DefaultSecret)

	from, to := t0.Unix(), t0.Add(25*time.Hour).Unix() // q-24 is at t0+25h: excluded, half-open
	for _, base := range []string{"/subscribe/payments/schedule/customers/c1", "/subscribe/customers/c1/schedules"} {
		t.Run(base, func(t *testing.T) {
			var pg testPage[wireSchedule]
			r := h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d", base, from, to), nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			r.into(t, &pg)
			require.Equal(t, 24, pg.Total)
			require.Equal(t, 0, pg.Previous)
			require.Equal(t, 2, pg.Next)
			require.Len(t, pg.List, 20)
			require.Equal(t, "q-23", pg.List[0].MerchantUID, "newest schedule_at first")

			pg = testPage[wireSchedule]{}
			h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d&page=2", base, from, to), nil).into(t, &pg)
			require.Equal(t, 1, pg.Previous)
			require.Equal(t, 0, pg.Next)
			require.Len(t, pg.List, 4)
			require.Equal(t, "q-00", pg.List[3].MerchantUID)

			pg = testPage[wireSchedule]{}
			h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d&schedule-status=executed", base, from, to+1), nil).into(t, &pg)
			require.Equal(t, 1, pg.Total, "schedule-status with a hyphen filters")
			require.Equal(t, "q-00", pg.List[0].MerchantUID)
			require.Equal(t, "paid", str(pg.List[0].PaymentStatus))

			pg = testPage[wireSchedule]{}
			h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d&schedule_status=executed", base, from, to+1), nil).into(t, &pg)
			require.Equal(t, 25, pg.Total, "an underscore is ignored on this route, as on PortOne")

			pg = testPage[wireSchedule]{}
			h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d", base, t0.Add(time.Hour).Unix(), t0.Add(2*time.Hour).Unix()), nil).into(t, &pg)
			require.Equal(t, 1, pg.Total, "from is inclusive, to exclusive")
			require.Equal(t, "q-00", pg.List[0].MerchantUID)

			r = h.do(http.MethodGet, fmt.Sprintf("/subscribe/customers/ghost/schedules?from=%d&to=%d", from, to), nil)
			require.JSONEq(t, `{"total":0,"previous":0,"next":0,"list":[]}`, string(r.Response), "unknown customer: empty list")

			for _, q := range []string{
				"", fmt.Sprintf("?from=%d", from), fmt.Sprintf("?to=%d", to), "?from=x&to=y",
				fmt.Sprintf("?from=%d&to=%d", to, from),
				fmt.Sprintf("?from=%d&to=%d", from, t0.AddDate(0, 3, 0).Add(time.Second).Unix()),
				fmt.Sprintf("?from=%d&to=%d&schedule-status=done", from, to),
				fmt.Sprintf("?from=%d&to=%d&page=0", from, to),
			} {
				r := h.do(http.MethodGet, base+q, nil)
				require.Equal(t, http.StatusBadRequest, r.Status, "query %q", q)
				require.Equal(t, 1, r.Code)
			}
			r = h.do(http.MethodGet, fmt.Sprintf("%s?from=%d&to=%d", base, from, t0.AddDate(0, 3, 0).Unix()), nil)
			require.Equal(t, http.StatusOK, r.Status, "exactly 3 months is allowed")
		})
	}

	t.Run("range", func(t *testing.T) {
		q := fmt.Sprintf("/subscribe/payments/schedule?schedule_from=%d&schedule_to=%d", from, t0.Add(26*time.Hour).Unix())
		var pg testPage[wireSchedule]
		h.do(http.MethodGet, q, nil).into(t, &pg)
		require.Equal(t, 26, pg.Total, "every customer of the merchant")
		require.Len(t, pg.List, 20, "limit defaults to 20")
		require.Equal(t, "q-24", pg.List[0].MerchantUID)

		pg = testPage[wireSchedule]{}
		h.do(http.MethodGet, q+"&limit=5&page=2&sorting=scheduled", nil).into(t, &pg)
		require.Len(t, pg.List, 5)
		require.Equal(t, 1, pg.Previous)
		require.Equal(t, 3, pg.Next)
		require.Equal(t, "q-04", pg.List[0].MerchantUID, "oldest first with sorting=scheduled (q-00 and other share t0+1h)")

		pg = testPage[wireSchedule]{}
		h.do(http.MethodGet, q+"&schedule_status=revoked", nil).into(t, &pg)
		require.Equal(t, 1, pg.Total)
		require.Equal(t, "q-24", pg.List[0].MerchantUID)

		pg = testPage[wireSchedule]{}
		h.do(http.MethodGet, q+"&limit=1000", nil).into(t, &pg)
		require.Len(t, pg.List, 26)

		for _, bad := range []string{"&limit=0", "&limit=1001", "&sorting=newest", "&schedule_status=gone", "&page=-1"} {
			r := h.do(http.MethodGet, q+bad, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, bad)
		}
		r := h.do(http.MethodGet, "/subscribe/payments/schedule", nil)
		require.Equal(t, http.StatusBadRequest, r.Status)
	})

	t.Run("single", func(t *testing.T) {
		r := h.do(http.MethodGet, "/subscribe/payments/schedule/q-03", nil)
		require.Equal(t, "q-03", r.obj(t)["merchant_uid"])
		r = h.do(http.MethodGet, "/subscribe/payments/schedule/ghost", nil)
		require.Equal(t, http.StatusNotFound, r.Status)
		require.Equal(t, 1, r.Code)
		require.Equal(t, msgScheduleNotFound, r.msg())
	})
}

func TestSchedulesControlAPI(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, 0, h.schedule("c1", entry("s-1", t0.Add(time.Hour), 1000)).Code)
	_, body := h.control(http.MethodGet, "/__emulator/schedules", nil)
	list := body["schedules"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, "scheduled", list[0].(map[string]any)["status"])

	status, body := h.control(http.MethodPost, "/__emulator/clock", map[string]any{"advance": "90m"})
	require.Equal(t, http.StatusOK, status, body)
	require.EqualValues(t, t0.Add(90*time.Minute).Unix(), body["now"])
	require.Equal(t, 1, h.emu.PaidCount("s-1"), "advancing through the control API runs due schedules")

	status, body = h.control(http.MethodPost, "/__emulator/clock", map[string]any{"set": t0.Unix()})
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, t0.Unix(), body["now"])
	for _, bad := range []any{map[string]any{}, map[string]any{"advance": "-1m"}, map[string]any{"advance": "x"}, map[string]any{"set": 1, "advance": "1m"}} {
		status, _ = h.control(http.MethodPost, "/__emulator/clock", bad)
		require.Equal(t, http.StatusBadRequest, status, bad)
	}
	status, body = h.control(http.MethodGet, "/__emulator/clock", nil)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, t0.Unix(), body["now"])
}
