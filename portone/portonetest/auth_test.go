package portonetest

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func tokenOf(t *testing.T, r apiResponse) authResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 0, r.Code)
	require.Nil(t, r.Message)
	var a authResponse
	r.into(t, &a)
	return a
}

func TestGetTokenBodies(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		body any
	}{
		{"json", map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret}},
		{"form", "imp_key=" + DefaultKey + "&imp_secret=" + DefaultSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/users/getToken", tt.body, noAuth())
			a := tokenOf(t, r)
			require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{40}$`), a.AccessToken)
			require.Equal(t, t0.Unix(), a.Now, "now comes from the emulator's clock")
			require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		})
	}
}

func TestGetTokenErrors(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantMsg    string
	}{
		{"wrong secret", map[string]string{"imp_key": DefaultKey, "imp_secret": "nope"}, http.StatusUnauthorized, "Unauthorized"},
		{"unknown key", map[string]string{"imp_key": "other", "imp_secret": DefaultSecret}, http.StatusUnauthorized, "Unauthorized"},
		{"missing secret", map[string]string{"imp_key": DefaultKey}, http.StatusBadRequest, "imp_key, imp_secret 파라메터가 누락되었습니다."},
		{"empty body", map[string]string{}, http.StatusBadRequest, "imp_key, imp_secret 파라메터가 누락되었습니다."},
		{"object instead of string", map[string]any{"imp_key": map[string]any{}, "imp_secret": "x"}, http.StatusBadRequest, "imp_key, imp_secret 파라메터가 누락되었습니다."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/users/getToken", tt.body, noAuth())
			require.Equal(t, tt.wantStatus, r.Status)
			require.Equal(t, -1, r.Code)
			require.Equal(t, tt.wantMsg, r.msg())
			require.Equal(t, "null", string(r.Response))
		})
	}
}

func TestTokenLifecycle(t *testing.T) {
	h := newHarness(t)
	get := func() authResponse {
		return tokenOf(t, h.do(http.MethodPost, "/users/getToken", map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret}, noAuth()))
	}
	first := get()
	require.Equal(t, first.AccessToken, h.token, "the harness's token is the merchant's current token")
	require.Equal(t, t0.Add(30*time.Minute).Unix(), first.ExpiredAt, "30-minute lifetime")

	h.clk.Advance(10 * time.Minute)
	again := get()
	require.Equal(t, first.AccessToken, again.AccessToken, "same token while valid")
	require.Equal(t, first.ExpiredAt, again.ExpiredAt, "same expiry while valid")
	require.Equal(t, t0.Add(10*time.Minute).Unix(), again.Now)

	h.clk.Set(t0.Add(29*time.Minute + 30*time.Second)) // within the last minute
	ext := get()
	require.Equal(t, first.AccessToken, ext.AccessToken)
	require.Equal(t, first.ExpiredAt+5*60, ext.ExpiredAt, "extended by 5 minutes in the last minute")

	h.clk.Set(t0.Add(30*time.Minute + 30*time.Second)) // past the original expiry, within the extension
	r := h.do(http.MethodGet, "/subscribe/customers/nobody", nil)
	require.Equal(t, http.StatusOK, r.Status, "the extended token is still valid")

	h.clk.Set(time.Unix(ext.ExpiredAt, 0)) // expiry instant: expired
	r = h.do(http.MethodGet, "/subscribe/customers/nobody", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	fresh := get()
	require.NotEqual(t, first.AccessToken, fresh.AccessToken, "a new token after expiry")
	require.Equal(t, ext.ExpiredAt+30*60, fresh.ExpiredAt)
}

func TestTokenHeaderForms(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	tests := []struct {
		name string
		opt  reqOpt
		want int
	}{
		{"bearer", withHeader("Authorization", "Bearer "+h.token), http.StatusOK},
		{"bearer lower case", withHeader("Authorization", "bearer "+h.token), http.StatusOK},
		{"bare authorization", withHeader("Authorization", h.token), http.StatusOK},
		{"X-ImpTokenHeader", func(r *http.Request) { r.Header.Del("Authorization"); r.Header.Set("X-ImpTokenHeader", h.token) }, http.StatusOK},
		{"missing", noAuth(), http.StatusUnauthorized},
		{"unknown", withHeader("Authorization", "Bearer 0123456789012345678901234567890123456789"), http.StatusUnauthorized},
		{"empty bearer", withHeader("Authorization", "Bearer "), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodGet, "/subscribe/customers/c1", nil, tt.opt)
			require.Equal(t, tt.want, r.Status, r.Raw)
			if tt.want == http.StatusUnauthorized {
				require.JSONEq(t, `{"code":-1,"message":"Unauthorized","response":null}`, r.Raw)
			}
		})
	}
}

func TestEveryRouteRequiresAuth(t *testing.T) {
	h := newHarness(t)
	for _, rt := range h.emu.routes {
		if !rt.auth {
			continue
		}
		path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.pattern, "x")
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			r := h.do(rt.method, path, nil, noAuth())
			require.Equal(t, http.StatusUnauthorized, r.Status)
			require.JSONEq(t, `{"code":-1,"message":"Unauthorized","response":null}`, r.Raw)
		})
	}
}

func TestRevokeTokens(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/subscribe/customers/x", nil).Status)
	h.emu.RevokeTokens("")
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/subscribe/customers/x", nil).Status)

	tok := h.getToken(DefaultKey, DefaultSecret)
	require.NotEqual(t, h.token, tok, "a new token after revocation")
	h.token = tok
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/subscribe/customers/x", nil).Status)

	status, _ := h.control(http.MethodPost, "/__emulator/tokens/revoke", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/subscribe/customers/x", nil).Status)
}

func TestMerchantIsolation(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret}, {Key: "other_key", Secret: "other_secret"}}
	})
	other := h.getToken("other_key", "other_secret")
	require.NotEqual(t, h.token, other)

	h.register("shared")
	_, err := h.emu.RegisterCustomer("other_key", CustomerSeed{CustomerUID: "only_other"})
	require.NoError(t, err)
	paid := h.again("shared", "order-1", 1000)
	require.Equal(t, "paid", paid.obj(t)["status"])
	impUID := paid.obj(t)["imp_uid"].(string)
	sched := h.do(http.MethodPost, "/subscribe/payments/schedule", map[string]any{
		"customer_uid": "shared", "schedules": []any{map[string]any{"merchant_uid": "s-1", "schedule_at": t0.Add(time.Hour).Unix(), "amount": 1000, "name": "n"}},
	})
	require.Equal(t, 0, sched.Code, sched.Raw)

	as := func(tok string) reqOpt { return withToken(tok) }
	// The other merchant sees none of the default merchant's state ...
	r := h.do(http.MethodGet, "/subscribe/customers/shared", nil, as(other))
	require.Equal(t, 1, r.Code)
	r = h.do(http.MethodGet, "/payments/"+impUID, nil, as(other))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do(http.MethodGet, "/payments/find/order-1", nil, as(other))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do(http.MethodGet, "/subscribe/payments/schedule/s-1", nil, as(other))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do(http.MethodPost, "/subscribe/payments/again", map[string]any{"customer_uid": "shared", "merchant_uid": "o-1", "amount": 1000, "name": "n"}, as(other))
	require.Equal(t, "등록되지 않은 구매자입니다.", r.msg())
	r = h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": impUID}, as(other))
	require.Equal(t, "취소할 결제건이 존재하지 않습니다.", r.msg())
	// ... and may reuse the same merchant_uid, because order ids are per merchant.
	_, err = h.emu.RegisterCustomer("other_key", CustomerSeed{CustomerUID: "shared"})
	require.NoError(t, err)
	r = h.do(http.MethodPost, "/subscribe/payments/again", map[string]any{"customer_uid": "shared", "merchant_uid": "order-1", "amount": 1000, "name": "n"}, as(other))
	require.Equal(t, "paid", r.obj(t)["status"])
	// The default merchant cannot see the other's key.
	r = h.do(http.MethodGet, "/subscribe/customers/only_other", nil)
	require.Equal(t, 1, r.Code)
	// PaidCount counts across merchants; the ledger says whose each charge is.
	require.Equal(t, 2, h.emu.PaidCount("order-1"))
	var owners []string
	for _, le := range h.emu.Ledger() {
		if le.MerchantUID == "order-1" {
			owners = append(owners, le.Merchant)
		}
	}
	require.Equal(t, []string{DefaultKey, "other_key"}, owners)
}
