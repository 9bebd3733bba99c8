package activities_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestARedirectedChargeIsSettledByLookup: something between the worker and PortOne (a proxy, a
// moved base URL) answers a charge with a 3xx after PortOne took it, with a body shaped like a
// decline. The redirect is not followed and is not a decline: the outcome is unknown, and
// Temporal's retry looks the merchant_uid up and finds the payment. One charge, one paid entry.
func TestARedirectedChargeIsSettledByLookup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		opts   []portone.Option
	}{
		{"302, the client's own HTTP client", http.StatusFound, nil},
		{"307, a caller's HTTP client that follows", http.StatusTemporaryRedirect, []portone.Option{portone.WithHTTPClient(&http.Client{})}},
	} {
		status := tc.status
		t.Run(tc.name, func(t *testing.T) {
			emu := portonetest.New(portonetest.Options{})
			reqs := &requestCounter{n: map[string]int{}}
			var redirected, elsewhere atomic.Int32
			front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/elsewhere":
					elsewhere.Add(1)
					w.WriteHeader(http.StatusOK)
				case r.Method == http.MethodPost && r.URL.Path == "/subscribe/payments/again" && redirected.Add(1) == 1:
					// PortOne charges; the answer the worker sees is the proxy's redirect.
					emu.ServeHTTP(httptest.NewRecorder(), r)
					w.Header().Set("Location", "/elsewhere")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					_, _ = w.Write([]byte(`{"code":-1,"message":"카드 한도초과","response":null}`))
				default:
					emu.ServeHTTP(w, r)
				}
			})
			srv := httptest.NewServer(reqs.wrap(front))
			t.Cleanup(func() { emu.Close(); srv.Close() })
			gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
				append([]portone.Option{portone.WithBaseURL(srv.URL), portone.WithTimeout(time.Second)}, tc.opts...)...)
			require.NoError(t, err)
			_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-1", CustomerTel: "010-1234-5678"})
			require.NoError(t, err)
			f := &retryFixture{emu: emu, reqs: reqs, gw: gw}

			res, tries, err := f.chargeWithRetries(t, gw, chargeIn("sub-1-abcd-1-1", 1))
			require.NoError(t, err)
			require.Equal(t, billing.OutcomePaid, res.Outcome, "a redirected charge read as %s: %s", res.Outcome, res.Reason)
			require.True(t, res.Adopted, "settled by the lookup")
			require.Equal(t, 2, tries)
			require.Len(t, paidEntries(emu), 1)
			require.Equal(t, map[string]int{reqAgain: 1, reqFindAll: 1}, reqs.counts())
			require.Zero(t, elsewhere.Load(), "the redirect was followed")
		})
	}
}
