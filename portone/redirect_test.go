package portone

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRedirectIsNeverFollowed: PortOne does not redirect, so a 3xx comes from something between
// us and PortOne (a proxy, a moved base URL). Following it would send a charge (or the API key)
// to a URL the answer chose and read that URL's answer as PortOne's. It is not followed, with the
// default client or a caller's: after a write it is an unknown outcome (the charge may have
// reached PortOne before the redirect; the lookup settles it), never a refusal that could read as
// a decline; after a read it is a transport failure, safe to retry, never "not found".
func TestRedirectIsNeverFollowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		opts   []Option
	}{
		{"302 bare", http.StatusFound, "", nil},
		{"302 with a decline-shaped envelope", http.StatusFound, `{"code":-1,"message":"카드한도초과","response":null}`, nil},
		{"303", http.StatusSeeOther, "", nil},
		{"307 caller's client that follows", http.StatusTemporaryRedirect, "", []Option{WithHTTPClient(&http.Client{})}},
		{"308 caller's client that follows", http.StatusPermanentRedirect, `{"code":1,"message":"찾을 수 없습니다","response":null}`, []Option{WithHTTPClient(&http.Client{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts...)
			var elsewhere atomic.Int32
			redirect := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", basePath+"/elsewhere?token=x")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}
			f.mux.HandleFunc("/subscribe/payments/again", redirect)
			f.mux.HandleFunc("/payments/imp_1", redirect)
			f.mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
				writeOK(w, paidPaymentJSON)
			})

			_, err := f.client.Again(context.Background(), againReq())
			collect(err)
			require.ErrorIs(t, err, ErrUnknownOutcome, "a redirected charge: %v", err)
			var u *UnknownOutcomeError
			require.ErrorAs(t, err, &u)
			require.Equal(t, againReq().MerchantUID, u.MerchantUID)
			require.False(t, IsRefusal(err), "a redirect is no refusal, so never a decline: %v", err)
			var apiErr *APIError
			require.False(t, errors.As(err, &apiErr), "%v", err)
			require.ErrorContains(t, err, "redirect")

			_, err = f.client.GetPayment(context.Background(), "imp_1")
			collect(err)
			var te *TransportError
			require.ErrorAs(t, err, &te, "a redirected read: %v", err)
			require.NotErrorIs(t, err, ErrNotFound)
			require.False(t, IsRefusal(err))
			require.Zero(t, elsewhere.Load(), "the redirect was followed")
		})
	}
}
