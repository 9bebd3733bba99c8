package portonetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgainApproved(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t)
	h.register("c1")
	r := h.again("c1", "order-1", 9900, map[string]any{
		"notice_url": rc.URL + "/hook", "custom_data": `{"plan":"basic"}`, "buyer_name": "김철수",
		"extra": map[string]any{"naverUseCfm": kstDate(t0)},
	})
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, 0, r.Code)
	require.Nil(t, r.Message, "success has a null message")
	var p testPayment
	r.into(t, &p)
	require.Regexp(t, `^imp_[0-9]{12}$`, p.ImpUID)
	require.Equal(t, "order-1", p.MerchantUID)
	require.Equal(t, "paid", p.Status)
	require.EqualValues(t, 9900, p.Amount)
	require.Equal(t, t0.Unix(), p.PaidAt)
	require.Zero(t, p.FailedAt)
	require.Regexp(t, `^[0-9]{8}$`, str(p.ApplyNum))
	require.Equal(t, "api", str(p.Channel))
	require.Equal(t, "naverpay", str(p.PayMethod))
	require.Equal(t, "naverpay", str(p.PGProvider))
	require.Equal(t, "c1", str(p.CustomerUID))
	require.Equal(t, "payment", str(p.CustomerUIDUsage))
	require.Equal(t, "김철수", str(p.BuyerName), "buyer_* given in the request wins")
	require.Equal(t, "01012345678", str(p.BuyerTel), "missing buyer_* fall back to the customer's")
	require.Equal(t, `{"plan":"basic"}`, str(p.CustomData))
	require.NotEmpty(t, str(p.ReceiptURL))
	require.Nil(t, p.FailReason)

	d := h.waitHooks(1)
	require.Equal(t, rc.URL+"/hook", d[0].URL)
	require.True(t, d[0].OK(), d[0].Err)
	require.Equal(t, 1, d[0].Attempt)
	hooks := rc.hooks()
	require.Len(t, hooks, 1)
	require.Equal(t, "application/json", hooks[0].ContentType)
	require.JSONEq(t, `{"imp_uid":"`+p.ImpUID+`","merchant_uid":"order-1","status":"paid"}`, hooks[0].Body)

	// The stored payment is what lookups return.
	got := h.do(http.MethodGet, "/payments/"+p.ImpUID, nil)
	require.JSONEq(t, string(r.Response), string(got.Response))
	require.Equal(t, 1, h.emu.PaidCount("order-1"))
}

func TestAgainFormBody(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = "http://127.0.0.1:1/unused" })
	h.register("c1")
	form := url.Values{}
	form.Set("customer_uid", "c1")
	form.Set("merchant_uid", "form-1")
	form.Set("amount", "1000")
	form.Set("name", "정기결제")
	form.Set("extra[naverUseCfm]", kstDate(t0.AddDate(0, 0, 1)))
	form.Set("custom_data", "x=1")
	r := h.do(http.MethodPost, "/subscribe/payments/again", form.Encode())
	require.Equal(t, 0, r.Code, r.Raw)
	require.Equal(t, "paid", r.obj(t)["status"])
	require.Equal(t, "x=1", r.obj(t)["custom_data"])

	form.Set("merchant_uid", "form-2")
	form.Set("extra[naverUseCfm]", "2026-11-02")
	r = h.do(http.MethodPost, "/subscribe/payments/again", form.Encode())
	require.Equal(t, -1, r.Code, "bracket-notation extra is read and validated")
}

func TestAgainCustomDataObject(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	r := h.again("c1", "o", 1000, map[string]any{"custom_data": map[string]any{"plan": "pro"}})
	require.Equal(t, 0, r.Code, r.Raw)
	require.JSONEq(t, `{"plan":"pro"}`, r.obj(t)["custom_data"].(string), "objects are stored serialised")
}

func TestAgainRefusals(t *testing.T) {
	base := map[string]any{"customer_uid": "c1", "merchant_uid": "m-new", "amount": 1000, "name": "월간 구독"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name     string
		body     map[string]any
		wantCode int
		wantMsg  string
	}{
		{"unknown customer", with("customer_uid", "ghost"), -1, "등록되지 않은 구매자입니다."},
		{"merchant_uid already paid", with("merchant_uid", "paid-1"), 1, "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)"},
		{"merchant_uid already cancelled", with("merchant_uid", "cancelled-1"), 1, "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)"},
		{"merchant_uid pending in a schedule", with("merchant_uid", "sched-1"), 1, msgMerchantUIDScheduled},
		{"missing customer_uid", with("customer_uid", nil), 1, "customer_uid 파라메터가 누락되었습니다."},
		{"missing merchant_uid", with("merchant_uid", nil), 1, "merchant_uid 파라메터가 누락되었습니다."},
		{"missing amount", with("amount", nil), 1, "amount 파라메터가 누락되었습니다."},
		{"missing name", with("name", nil), 1, "name 파라메터가 누락되었습니다."},
		{"empty name", with("name", ""), 1, "name 파라메터가 누락되었습니다."},
		{"non-numeric amount", with("amount", "lots"), 1, "amount 파라메터의 형식이 올바르지 않습니다. (정수이어야 합니다)"},
		{"fractional amount", with("amount", 10.5), 1, "amount 파라메터의 형식이 올바르지 않습니다. (정수이어야 합니다)"},
		{"zero amount", with("amount", 0), 1, "amount 파라메터는 0보다 큰 금액이어야 합니다."},
		{"negative amount", with("amount", -5), 1, "amount 파라메터는 0보다 큰 금액이어야 합니다."},
		{"naverpay minimum", with("amount", 9), -1, msgNaverPayMinAmount},
		{"tax_free above amount", with("tax_free", 1001), 1, "tax_free(1001)는 0 이상이며 결제금액 amount(1000)보다 클 수 없습니다."},
		{"naverUseCfm yesterday", with("extra", map[string]any{"naverUseCfm": kstDate(t0.AddDate(0, 0, -1))}), -1, msgNaverUseCfm},
		{"naverUseCfm malformed", with("extra", map[string]any{"naverUseCfm": "2026-11-02"}), -1, msgNaverUseCfm},
		{"naverUseCfm impossible date", with("extra", map[string]any{"naverUseCfm": "20261331"}), -1, msgNaverUseCfm},
		{"merchant_uid too long", with("merchant_uid", "m-0123456789012345678901234567890123456789"), 1, "merchant_uid 파라메터는 최대 40자까지 입력 가능합니다. (42자)"},
		{"name too long", with("name", "가나다라마바사아자차카타파하가나다라마바사아자차카타파하가나다라마바사아자차카타파"), 1, "name 파라메터는 최대 40자까지 입력 가능합니다. (41자)"},
		{"foreign currency", with("currency", "USD"), 1, "currency: 지원하지 않는 통화입니다. (네이버페이는 KRW만 지원합니다)"},
		{"extra not an object", with("extra", []any{"x"}), 1, "extra 파라메터의 형식이 올바르지 않습니다. (객체이어야 합니다)"},
	}
	h := newHarness(t)
	h.register("c1")
	require.Equal(t, 0, h.again("c1", "paid-1", 1000).Code)
	cancelled := h.again("c1", "cancelled-1", 1000)
	require.Equal(t, 0, h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": cancelled.obj(t)["imp_uid"]}).Code)
	require.Equal(t, 0, h.do(http.MethodPost, "/subscribe/payments/schedule", map[string]any{"customer_uid": "c1",
		"schedules": []any{map[string]any{"merchant_uid": "sched-1", "schedule_at": t0.Add(time.Hour).Unix(), "amount": 1000, "name": "n"}}}).Code)
	before := len(h.emu.Ledger())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/subscribe/payments/again", tt.body)
			require.Equal(t, http.StatusOK, r.Status)
			require.Equal(t, tt.wantCode, r.Code, r.Raw)
			require.Equal(t, tt.wantMsg, r.msg())
			require.Equal(t, "null", string(r.Response))
		})
	}
	require.Len(t, h.emu.Ledger(), before, "refusals store nothing")
}

func TestAgainNaverUseCfmToday(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	// Late evening UTC is already tomorrow in Seoul: "today" is the KST date.
	h.clk.Set(time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC)) // 2026-11-03 01:00 KST
	h.token = h.getToken(DefaultKey, DefaultSecret)
	r := h.again("c1", "cfm-1", 1000, map[string]any{"extra": map[string]any{"naverUseCfm": "20261102"}})
	require.Equal(t, -1, r.Code, "yesterday in KST")
	r = h.again("c1", "cfm-2", 1000, map[string]any{"extra": map[string]any{"naverUseCfm": "20261103"}})
	require.Equal(t, 0, r.Code, "today in KST")
}

func TestAgainOtherPGSkipsNaverPayRules(t *testing.T) {
	h := newHarness(t)
	h.register("card", func(s *CustomerSeed) { s.PGProvider = "nice"; s.CardName = "신한카드" })
	r := h.again("card", "nice-1", 5, map[string]any{"extra": map[string]any{"naverUseCfm": "garbage"}})
	require.Equal(t, 0, r.Code, r.Raw)
	require.Equal(t, "card", r.obj(t)["pay_method"])
	require.Equal(t, "신한카드", r.obj(t)["card_name"])
}

func TestAgainRetryAfterFailure(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.emu.AddFault(Fault{CustomerUID: "c1", Action: FaultDecline, Reason: "잔액부족", Times: 1})
	first := h.again("c1", "retry-1", 1000)
	require.Equal(t, "failed", first.obj(t)["status"])
	second := h.again("c1", "retry-1", 1000)
	require.Equal(t, 0, second.Code)
	require.Equal(t, "paid", second.obj(t)["status"], "a merchant_uid whose attempts all failed may be charged again")
	require.NotEqual(t, first.obj(t)["imp_uid"], second.obj(t)["imp_uid"], "with a new imp_uid")
	third := h.again("c1", "retry-1", 1000)
	require.Equal(t, msgMerchantUIDUsed, third.msg())
	require.Equal(t, 1, h.emu.PaidCount("retry-1"))
	require.Len(t, h.emu.Ledger(), 3, "registration, failed attempt, paid attempt")
}

func TestAgainDeclines(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantCode   int
		wantReason string
	}{
		{"decline with reason", Fault{Action: FaultDecline, Reason: "한도초과"}, 0, "한도초과"},
		{"decline default reason", Fault{Action: FaultDecline}, 0, DefaultDeclineReason},
		{"decline_code", Fault{Action: FaultDeclineCode, Reason: "카드정보 인증에 실패하였습니다. [F113]거래거절"}, -1, "카드정보 인증에 실패하였습니다. [F113]거래거절"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t)
			h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL })
			h.register("c1")
			h.emu.AddFault(tt.fault)
			r := h.again("c1", "d-1", 1000)
			require.Equal(t, http.StatusOK, r.Status)
			require.Equal(t, tt.wantCode, r.Code, r.Raw)
			var impUID string
			if tt.wantCode == 0 {
				var p testPayment
				r.into(t, &p)
				require.Equal(t, "failed", p.Status)
				require.Equal(t, tt.wantReason, str(p.FailReason))
				require.Equal(t, t0.Unix(), p.FailedAt)
				require.Zero(t, p.PaidAt)
				require.Nil(t, p.ApplyNum)
				impUID = p.ImpUID
			} else {
				require.Equal(t, tt.wantReason, r.msg())
				require.Equal(t, "null", string(r.Response))
			}
			led := h.emu.Ledger()
			last := led[len(led)-1]
			require.Equal(t, "failed", last.Status, "the failed payment is stored either way")
			require.Equal(t, tt.wantReason, last.FailReason)
			if impUID != "" {
				require.Equal(t, impUID, last.ImpUID)
			}
			found := h.do(http.MethodGet, "/payments/find/d-1", nil)
			require.Equal(t, "failed", found.obj(t)["status"], "and can be looked up")
			require.Equal(t, 0, h.emu.PaidCount("d-1"))
			// No webhook for a failed again: prove it by sending a paid one and seeing only that.
			h.emu.ClearFaults()
			require.Equal(t, "paid", h.again("c1", "ok-1", 1000).obj(t)["status"])
			d := h.waitHooks(1)
			require.Len(t, d, 1)
			require.Equal(t, "ok-1", d[0].MerchantUID)
		})
	}
}

func TestAgainHardDecline(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.register("c2")
	h.emu.AddFault(Fault{CustomerUID: "c1", Action: FaultDecline, Hard: true, Times: 1})
	r := h.again("c1", "h-1", 1000)
	require.Equal(t, "failed", r.obj(t)["status"])
	require.Equal(t, DefaultHardDeclineReason, r.obj(t)["fail_reason"])
	require.Empty(t, h.emu.Faults(), "the fault is used up ...")
	for _, muid := range []string{"h-2", "h-3"} {
		r = h.again("c1", muid, 1000)
		require.Equal(t, "failed", r.obj(t)["status"], "... but the key stays unusable")
		require.Equal(t, DefaultHardDeclineReason, r.obj(t)["fail_reason"])
	}
	require.Equal(t, "paid", h.again("c2", "other", 1000).obj(t)["status"], "other keys are unaffected")
	h.register("c1")
	require.Equal(t, "paid", h.again("c1", "h-4", 1000).obj(t)["status"], "re-registering makes the key usable again")

	h.emu.AddFault(Fault{CustomerUID: "c2", Action: FaultDeclineCode, Hard: true, Reason: "해지된 빌링키", Times: 1})
	r = h.again("c2", "h-5", 1000)
	require.Equal(t, -1, r.Code)
	r = h.again("c2", "h-6", 1000)
	require.Equal(t, 0, r.Code, "later charges decline as failed payments")
	require.Equal(t, "해지된 빌링키", r.obj(t)["fail_reason"])
}

func TestSandboxMerchant(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret, Sandbox: true}} })
	reg := h.register("c1")
	r := h.again("c1", "sb-1", 1000)
	require.Equal(t, true, r.obj(t)["sandbox"])
	impUID := r.obj(t)["imp_uid"].(string)
	require.Equal(t, true, h.do(http.MethodGet, "/subscribe/customers/c1", nil).obj(t)["sandbox"])

	for _, path := range []string{"/payments/" + impUID, "/payments/" + reg.RegistrationImpUID, "/payments/find/sb-1", "/payments/findAll/sb-1", "/payments?imp_uid[]=" + impUID} {
		r := h.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusNotFound, r.Status, "%s hidden without include_sandbox", path)
		sep := "?"
		if len(path) > 9 && path[:10] == "/payments?" {
			sep = "&"
		}
		r = h.do(http.MethodGet, path+sep+"include_sandbox=true", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s visible with include_sandbox=true", path)
	}
	require.Equal(t, http.StatusBadRequest, h.do(http.MethodGet, "/payments/"+impUID+"?include_sandbox=maybe", nil).Status)
	led := h.emu.Ledger()
	require.True(t, led[len(led)-1].Sandbox)
}

func TestAgainJSONNumbersAsStrings(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"customer_uid":"c1","merchant_uid":"s-1","amount":"1000","name":"n","tax_free":"0"}`), &body))
	r := h.do(http.MethodPost, "/subscribe/payments/again", body)
	require.Equal(t, 0, r.Code, r.Raw)
	require.EqualValues(t, 1000, r.obj(t)["amount"])
	r = h.again("c1", "s-2", 0, map[string]any{"amount": 1000.0})
	require.Equal(t, 0, r.Code, r.Raw)
}
