package portonetest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeBracketForm checks that no form, however malformed, panics the decoder.
func FuzzDecodeBracketForm(f *testing.F) {
	for _, s := range []string{"a=1", "a[b][0][]=x", "a[]=1&a[0]=2", "a[=1", "[x]=1", "a[b]c=1", "a=%zz", "a[0][1][2][3][4][5][6][7]=x", "a&&b=&=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeBracketForm(s)
	})
}

// FuzzAgainBody checks that no request body, however malformed, panics the handler or
// produces anything but a JSON envelope.
func FuzzAgainBody(f *testing.F) {
	for _, s := range []string{
		`{"customer_uid":"c1","merchant_uid":"m","amount":1000,"name":"n"}`,
		`{"customer_uid":["c1"],"amount":{"x":1},"extra":"[]"}`,
		`customer_uid=c1&merchant_uid=m&amount=1e400&name=n&extra[naverUseCfm]=20261102`,
		`schedules[0][amount]=x&customer_uid=c1`,
		`{"amount":-9223372036854775808,"tax_free":"NaN"}`,
	} {
		f.Add(s, "application/json")
		f.Add(s, "application/x-www-form-urlencoded")
	}
	emu := New(Options{Clock: NewManualClock(t0)})
	defer emu.Close()
	_, _ = emu.RegisterCustomer("", CustomerSeed{CustomerUID: "c1"})
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/users/getToken", strings.NewReader("imp_key="+DefaultKey+"&imp_secret="+DefaultSecret)))
	tok := strings.Split(strings.Split(rec.Body.String(), `"access_token":"`)[1], `"`)[0]
	paths := []string{"/subscribe/payments/again", "/subscribe/payments/schedule", "/subscribe/payments/unschedule", "/payments/cancel"}
	f.Fuzz(func(t *testing.T, body, ct string) {
		for _, p := range paths {
			req := httptest.NewRequest(http.MethodPost, p, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", tok)
			rec := httptest.NewRecorder()
			emu.ServeHTTP(rec, req)
			if got := rec.Header().Get("Content-Type"); got != jsonContentType {
				t.Fatalf("%s: Content-Type %q", p, got)
			}
			if !strings.HasPrefix(rec.Body.String(), `{"code":`) {
				t.Fatalf("%s: not an envelope: %s", p, rec.Body.String())
			}
		}
	})
}
