package portonetest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetCustomer(t *testing.T) {
	h := newHarness(t)
	h.register("c1", func(s *CustomerSeed) { s.CardName = "네이버페이" })
	r := h.do(http.MethodGet, "/subscribe/customers/c1", nil)
	require.Equal(t, http.StatusOK, r.Status)
	c := r.obj(t)
	require.Equal(t, "c1", c["customer_uid"])
	require.Equal(t, "naverpay", c["pg_provider"])
	require.Equal(t, defaultNaverPayMID, c["pg_id"])
	require.Equal(t, "네이버페이", c["card_name"])
	require.Nil(t, c["card_number"], "NaverPay does not disclose the card")
	require.Equal(t, "01012345678", c["customer_tel"])
	require.EqualValues(t, t0.Unix(), c["inserted"])
	require.Equal(t, false, c["sandbox"])
}

func TestCustomerNotFoundStatus(t *testing.T) {
	for _, status := range []int{0, http.StatusOK, http.StatusNotFound} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.CustomerNotFoundStatus = status })
			want := status
			if want == 0 {
				want = http.StatusOK
			}
			for _, method := range []string{http.MethodGet, http.MethodDelete} {
				r := h.do(method, "/subscribe/customers/ghost", nil)
				require.Equal(t, want, r.Status)
				require.Equal(t, 1, r.Code)
				require.Equal(t, "요청하신 customer_uid(ghost)로 등록된 정보를 찾을 수 없습니다.", r.msg())
				require.Equal(t, "null", string(r.Response))
			}
		})
	}
}

func TestGetCustomers(t *testing.T) {
	h := newHarness(t)
	h.register("a")
	h.register("b")
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantUIDs   []string
	}{
		{"all found", "customer_uid[]=a&customer_uid[]=b", http.StatusOK, []string{"a", "b"}},
		{"partial", "customer_uid[]=a&customer_uid[]=zz", http.StatusMultiStatus, []string{"a"}},
		{"none found", "customer_uid[]=x&customer_uid[]=y", http.StatusMultiStatus, nil},
		{"without brackets", "customer_uid=b", http.StatusOK, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodGet, "/subscribe/customers?"+tt.query, nil)
			require.Equal(t, tt.wantStatus, r.Status, r.Raw)
			require.Equal(t, 0, r.Code)
			var list []wireCustomer
			r.into(t, &list)
			var uids []string
			for _, c := range list {
				uids = append(uids, c.CustomerUID)
			}
			require.Equal(t, tt.wantUIDs, uids)
		})
	}
	r := h.do(http.MethodGet, "/subscribe/customers", nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "customer_uid[] 파라메터가 누락되었습니다.", r.msg())
}

func TestIssueCustomerRefusedForNaverPay(t *testing.T) {
	h := newHarness(t)
	for _, body := range []any{
		map[string]any{"pg": "naverpay", "card_number": "1234-1234-1234-1234", "expiry": "2030-01"},
		map[string]any{"card_number": "1234-1234-1234-1234", "expiry": "2030-01"},
		"pg=naverpay.np_mid&card_number=1234",
	} {
		r := h.do(http.MethodPost, "/subscribe/customers/new", body)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, 1, r.Code)
		require.Contains(t, r.msg(), "네이버페이는 API를 통한 빌링키 발급을 지원하지 않습니다")
	}
	r := h.do(http.MethodPost, "/subscribe/customers/new", map[string]any{"pg": "nice"})
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.msg(), "nice")
	require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/new", nil).Code, "nothing was stored")
}

func TestDeleteCustomer(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		wantMissing []string
	}{
		{"reason and requester", "?reason=%ED%95%B4%EC%A7%80&extra[requester]=customer", nil},
		{"no requester", "?reason=x", []string{"extra.requester"}},
		{"no reason", "?extra%5Brequester%5D=admin", []string{"reason"}},
		{"neither", "", []string{"reason", "extra.requester"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("c1")
			r := h.do(http.MethodDelete, "/subscribe/customers/c1"+tt.query, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, 0, r.Code, "NaverPay's review fields are not enforced by PortOne")
			require.Equal(t, "c1", r.obj(t)["customer_uid"], "the deleted customer is returned")
			require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/c1", nil).Code, "deleted")
			ws := h.emu.Warnings()
			if tt.wantMissing == nil {
				require.Empty(t, ws)
				return
			}
			require.Len(t, ws, 1)
			require.Equal(t, tt.wantMissing, ws[0].Missing)
			require.Equal(t, "c1", ws[0].CustomerUID)
			_, body := h.control(http.MethodGet, "/__emulator/warnings", nil)
			require.Len(t, body["warnings"], 1)
		})
	}
	t.Run("body form is read too", func(t *testing.T) {
		h := newHarness(t)
		h.register("c1")
		r := h.do(http.MethodDelete, "/subscribe/customers/c1", "reason=x&extra[requester]=admin")
		require.Equal(t, 0, r.Code)
		require.Empty(t, h.emu.Warnings())
	})
	t.Run("invalid requester", func(t *testing.T) {
		h := newHarness(t)
		h.register("c1")
		r := h.do(http.MethodDelete, "/subscribe/customers/c1?reason=x&extra[requester]=robot", nil)
		require.Equal(t, 1, r.Code)
		require.Equal(t, 0, h.do(http.MethodGet, "/subscribe/customers/c1", nil).Code, "not deleted")
	})
}

func TestRegistrationRecord(t *testing.T) {
	h := newHarness(t)
	reg := h.register("c1", func(s *CustomerSeed) { s.RegistrationMerchantUID = "reg-1" })
	require.Regexp(t, `^imp_[0-9]{12}$`, reg.RegistrationImpUID)
	require.Equal(t, "reg-1", reg.RegistrationMerchantUID)

	r := h.do(http.MethodGet, "/payments/"+reg.RegistrationImpUID, nil)
	require.Equal(t, http.StatusOK, r.Status)
	var p testPayment
	r.into(t, &p)
	require.Equal(t, "paid", p.Status, "status paid means the registration succeeded")
	require.EqualValues(t, 0, p.Amount, "nothing is charged at registration")
	require.Equal(t, "issue", str(p.CustomerUIDUsage))
	require.Equal(t, "c1", str(p.CustomerUID))
	require.Equal(t, "reg-1", p.MerchantUID)
	require.Equal(t, "naverpay", str(p.PGProvider))

	// The registration's merchant_uid is used: a charge cannot reuse it.
	r = h.again("c1", "reg-1", 1000)
	require.Equal(t, "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)", r.msg())
	require.Equal(t, 0, h.emu.PaidCount("reg-1"), "registration records are not charges")

	// A generated registration merchant_uid when none is given.
	reg2 := h.register("c2")
	require.NotEmpty(t, reg2.RegistrationMerchantUID)
	require.LessOrEqual(t, len(reg2.RegistrationMerchantUID), 40)

	// Errors.
	_, err := h.emu.RegisterCustomer("nope", CustomerSeed{CustomerUID: "x"})
	require.ErrorContains(t, err, "unknown merchant")
	_, err = h.emu.RegisterCustomer("", CustomerSeed{})
	require.ErrorContains(t, err, "CustomerUID is required")
	_, err = h.emu.RegisterCustomer("", CustomerSeed{CustomerUID: "c3", RegistrationMerchantUID: "reg-1"})
	require.ErrorContains(t, err, "already used")
}

func TestRegisterCustomerViaControlAPI(t *testing.T) {
	h := newHarness(t)
	status, body := h.control(http.MethodPost, "/__emulator/customers", map[string]any{
		"customer_uid": "ctl-1", "customer_tel": "01099998888", "registration_merchant_uid": "reg-ctl",
	})
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "reg-ctl", body["registration_merchant_uid"])
	require.Regexp(t, `^imp_[0-9]{12}$`, body["registration_imp_uid"])
	require.Equal(t, "naverpay", body["customer"].(map[string]any)["pg_provider"])
	require.Equal(t, 0, h.do(http.MethodGet, "/subscribe/customers/ctl-1", nil).Code)

	status, body = h.control(http.MethodGet, "/__emulator/customers", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["customers"], 1)

	status, body = h.control(http.MethodPost, "/__emulator/customers", map[string]any{"customer_uid": ""})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body["error"], "CustomerUID is required")
	status, _ = h.control(http.MethodPost, "/__emulator/customers", map[string]any{"customer_uid": "x", "bogus": 1})
	require.Equal(t, http.StatusBadRequest, status, "unknown fields are refused so typos surface")

	status, _ = h.control(http.MethodDelete, "/__emulator/customers/ctl-1", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 1, h.do(http.MethodGet, "/subscribe/customers/ctl-1", nil).Code)
	status, _ = h.control(http.MethodDelete, "/__emulator/customers/ctl-1", nil)
	require.Equal(t, http.StatusNotFound, status)
}

func TestCustomerPayments(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.register("c2")
	for i := range 22 {
		require.Equal(t, 0, h.again("c1", fmt.Sprintf("m-%02d", i), 1000).Code)
	}
	h.again("c2", "other", 1000)

	r := h.do(http.MethodGet, "/subscribe/customers/c1/payments", nil)
	var pg testPage[testPayment]
	r.into(t, &pg)
	require.Equal(t, 23, pg.Total, "22 charges and the registration record")
	require.Equal(t, 0, pg.Previous)
	require.Equal(t, 2, pg.Next)
	require.Len(t, pg.List, 20)
	require.Equal(t, "m-21", pg.List[0].MerchantUID, "newest first")

	r = h.do(http.MethodGet, "/subscribe/customers/c1/payments?page=2", nil)
	pg = testPage[testPayment]{}
	r.into(t, &pg)
	require.Equal(t, 1, pg.Previous)
	require.Equal(t, 0, pg.Next)
	require.Len(t, pg.List, 3)
	require.Equal(t, "issue", str(pg.List[2].CustomerUIDUsage))

	r = h.do(http.MethodGet, "/subscribe/customers/ghost/payments", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.JSONEq(t, `{"total":0,"previous":0,"next":0,"list":[]}`, string(r.Response))

	r = h.do(http.MethodGet, "/subscribe/customers/c1/payments?page=0", nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
}
