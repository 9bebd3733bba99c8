package portone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClient_Invalid(t *testing.T) {
	t.Parallel()
	good := Credentials{Key: testKey, Secret: testSecret}
	tests := []struct {
		name      string
		creds     Credentials
		opts      []Option
		wantField string
	}{
		{"no key", Credentials{Secret: testSecret}, nil, "imp_key"},
		{"no secret", Credentials{Key: testKey}, nil, "imp_secret"},
		{"base URL scheme", good, []Option{WithBaseURL("ftp://api.iamport.kr")}, "base URL"},
		{"base URL relative", good, []Option{WithBaseURL("/v1")}, "base URL"},
		{"base URL with query", good, []Option{WithBaseURL("https://api.iamport.kr/?x=1")}, "base URL"},
		{"base URL with user info", good, []Option{WithBaseURL("https://u:p@api.iamport.kr")}, "base URL"},
		{"nil HTTP client", good, []Option{WithHTTPClient(nil)}, "HTTP client"},
		{"zero timeout", good, []Option{WithTimeout(0)}, "timeout"},
		{"nil clock", good, []Option{WithClock(nil)}, "clock"},
		{"negative minimum", good, []Option{WithMinimumAmount(-1)}, "minimum amount"},
		{"tier with line break", good, []Option{WithTier("a\r\nX-Evil: 1")}, "tier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.creds, tt.opts...)
			collect(err)
			require.Nil(t, c)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantField, ve.Field)
			require.Equal(t, "NewClient", ve.Op)
		})
	}
}

func TestNewClient_Defaults(t *testing.T) {
	t.Parallel()
	c, err := NewClient(Credentials{Key: testKey, Secret: testSecret})
	require.NoError(t, err)
	require.Equal(t, DefaultBaseURL, c.base)
	require.Equal(t, DefaultTimeout, c.timeout)
	require.Equal(t, DefaultMinimumAmount, c.minAmount)
	require.False(t, c.includeSandbox)
}

func TestCredentials_NeverPrintSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		writeOK(w, paidPaymentJSON)
	})
	// Fetch a token so that the client holds one.
	_, err := f.client.GetPayment(context.Background(), "imp_1")
	require.NoError(t, err)

	creds := Credentials{Key: testKey, Secret: testSecret}
	wrapped := struct {
		Name  string
		Creds Credentials
		Ptr   *Credentials
	}{"x", creds, &creds}
	// A Client nested in unexported fields is printed by reflection, field
	// by field; a bad verb even dereferences pointers.
	hidden := struct {
		c *Client
		v Client
	}{f.client, *f.client}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out,
			fmt.Sprintf(verb, creds), fmt.Sprintf(verb, &creds), fmt.Sprintf(verb, wrapped),
			fmt.Sprintf(verb, f.client), fmt.Sprintf(verb, *f.client), fmt.Sprintf(verb, hidden))
	}
	out = append(out, creds.String(), creds.GoString(), f.client.String())
	for _, s := range out {
		require.NotContains(t, s, testSecret)
		require.NotContains(t, s, testToken)
		require.NotContains(t, s, testKey)
	}
	require.Contains(t, creds.String(), "[REDACTED]")
	require.Contains(t, creds.String(), "****3015", "the key's last 4 characters help tell key pairs apart")
}

func TestBaseURL_TrailingSlashAndPrefix(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		assert.True(t, strings.HasPrefix(r.RequestURI, basePath+"/payments/imp_1"), r.RequestURI)
		writeOK(w, paidPaymentJSON)
	})
	c, err := NewClient(Credentials{Key: testKey, Secret: testSecret}, WithBaseURL(f.server.URL+basePath+"/"))
	require.NoError(t, err)
	_, err = c.GetPayment(context.Background(), "imp_1")
	require.NoError(t, err)
}

func TestToken_RequestShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		assert.Empty(t, r.Header.Get("Authorization"), "no token to send yet")
		assert.Empty(t, r.Header.Get("Tier"), "the token belongs to the agency's own keys")
		testJSONBody(t, r, fmt.Sprintf(`{"imp_key":%q,"imp_secret":%q}`, testKey, testSecret))
		now := time.Now().Unix()
		writeOK(w, fmt.Sprintf(`{"access_token":%q,"expired_at":%d,"now":%d}`, testToken, now+1800, now))
	}
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		testAuth(t, r)
		writeOK(w, paidPaymentJSON)
	})
	_, err := f.client.GetPayment(context.Background(), "imp_1")
	require.NoError(t, err)
	_, err = f.client.GetPayment(context.Background(), "imp_1")
	require.NoError(t, err)
	require.EqualValues(t, 1, f.tokenCalls.Load(), "the token is cached")
}

func TestToken_SharedByConcurrentCallers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	inner := f.tokenHandler
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		select { // hold the fetch until every caller is waiting (bounded)
		case <-release:
		case <-time.After(2 * time.Second):
		}
		inner(w, r)
	}
	var apiCalls atomic.Int64
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		testAuth(t, r)
		writeOK(w, paidPaymentJSON)
	})

	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.client.GetPayment(context.Background(), "imp_1")
		}()
	}
	// Wait (bounded) until the one fetch is in flight, then let it finish.
	for i := 0; i < 200 && f.tokenCalls.Load() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, f.tokenCalls.Load(), "one getToken for all callers")
	require.EqualValues(t, n, apiCalls.Load())
}

func TestToken_FetchSurvivesCallerCancellation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	inner := f.tokenHandler
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(2 * time.Second):
		}
		inner(w, r)
	}
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		writeOK(w, paidPaymentJSON)
	})

	ctxA, cancelA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() {
		_, err := f.client.GetPayment(ctxA, "imp_1")
		doneA <- err
	}()
	for i := 0; i < 200 && f.tokenCalls.Load() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	doneB := make(chan error, 1)
	go func() {
		_, err := f.client.GetPayment(context.Background(), "imp_1")
		doneB <- err
	}()
	cancelA()
	errA := collect(<-doneA)
	var te *TransportError
	require.ErrorAs(t, errA, &te)
	require.ErrorIs(t, errA, context.Canceled)

	close(release)
	require.NoError(t, <-doneB, "the fetch outlives the caller that started it")
	require.EqualValues(t, 1, f.tokenCalls.Load())
}

func TestToken_RefreshBeforeExpiryOnServerClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		skew time.Duration // server clock minus local clock
	}{
		{"server clock agrees", 0},
		{"server clock 5h ahead", 5 * time.Hour},
		{"server clock 5h behind", -5 * time.Hour},
		{"server clock 3 days ahead", 72 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			f := newFixture(t, WithClock(clock.Now))
			f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
				serverNow := clock.Now().Add(tt.skew).Unix()
				tok := fmt.Sprintf("tok-gen-%d-0123456789", f.tokenCalls.Load())
				writeOK(w, fmt.Sprintf(`{"access_token":%q,"expired_at":%d,"now":%d}`, tok, serverNow+1800, serverNow))
			}
			var auths []string
			var mu sync.Mutex
			f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auths = append(auths, r.Header.Get("Authorization"))
				mu.Unlock()
				writeOK(w, paidPaymentJSON)
			})
			call := func() {
				t.Helper()
				_, err := f.client.GetPayment(context.Background(), "imp_1")
				require.NoError(t, collect(err))
			}

			call()
			require.EqualValues(t, 1, f.tokenCalls.Load())
			call()
			require.EqualValues(t, 1, f.tokenCalls.Load(), "fresh token reused")

			clock.Advance(1700 * time.Second) // 100 s left on the server's clock
			call()
			require.EqualValues(t, 1, f.tokenCalls.Load(), "still more than 60 s left")

			clock.Advance(45 * time.Second) // 55 s left: inside the refresh margin
			call()
			require.EqualValues(t, 2, f.tokenCalls.Load(), "refreshed within 60 s of expired_at")
			call()
			require.EqualValues(t, 2, f.tokenCalls.Load(), "the new token is cached")

			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []string{
				"Bearer tok-gen-1-0123456789", "Bearer tok-gen-1-0123456789", "Bearer tok-gen-1-0123456789",
				"Bearer tok-gen-2-0123456789", "Bearer tok-gen-2-0123456789",
			}, auths)
		})
	}
}

func TestToken_RefreshOnceOn401(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Unix()
		tok := fmt.Sprintf("tok-%d-abcdefghijklmnop", f.tokenCalls.Load())
		writeOK(w, fmt.Sprintf(`{"access_token":%q,"expired_at":%d,"now":%d}`, tok, now+1800, now))
	}
	var calls atomic.Int64
	var lastAuth atomic.Value
	f.mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		lastAuth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer tok-1-abcdefghijklmnop" {
			writeFail(w, http.StatusUnauthorized, -1, "Unauthorized")
			return
		}
		testJSONBody(t, r, `{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c3-a1",
			"amount":9900,"tax_free":0,"name":"월간 구독 3회차"}`)
		writeOK(w, paidPaymentJSON)
	})
	p, err := f.client.Again(context.Background(), againReq())
	require.NoError(t, collect(err))
	require.Equal(t, StatusPaid, p.Status)
	require.EqualValues(t, 2, f.tokenCalls.Load(), "one refresh")
	require.EqualValues(t, 2, calls.Load(), "one retry")
	require.Equal(t, "Bearer tok-2-abcdefghijklmnop", lastAuth.Load())
}

func TestToken_Second401IsUnauthorized(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int64
	f.mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeFail(w, http.StatusUnauthorized, -1, "Unauthorized")
	})
	p, err := f.client.Again(context.Background(), againReq())
	collect(err)
	require.Nil(t, p)
	require.ErrorIs(t, err, ErrUnauthorized)
	require.NotErrorIs(t, err, ErrUnknownOutcome, "a 401 means nothing was done")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.HTTPStatus)
	require.Equal(t, opAgain, apiErr.Op)
	require.EqualValues(t, 2, calls.Load(), "no loop: one call and one retry")
	require.EqualValues(t, 2, f.tokenCalls.Load())
}

func TestToken_BadCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusUnauthorized, -1, "Unauthorized")
	}
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("API called without a token: %s", r.URL.Path)
	})
	_, err := f.client.Again(context.Background(), againReq())
	collect(err)
	require.ErrorIs(t, err, ErrUnauthorized)
	require.NotErrorIs(t, err, ErrUnknownOutcome, "the charge was never sent")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, opGetToken, apiErr.Op)
	require.EqualValues(t, 1, f.tokenCalls.Load())
}

func TestToken_MissingParametersMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusOK, -1, "imp_key, imp_secret 파라메터가 누락되었습니다.")
	}
	_, err := f.client.GetPayment(context.Background(), "imp_1")
	collect(err)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, -1, apiErr.Code)
	require.Contains(t, apiErr.Message, "누락")
}

func TestTierHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, WithTier("tier-77"))
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "tier-77", r.Header.Get("Tier"))
		writeOK(w, paidPaymentJSON)
	})
	_, err := f.client.GetPayment(context.Background(), "imp_1")
	require.NoError(t, err)
}

func TestContextDoneBeforeCall(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("nothing should be sent: %s", r.URL.Path)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client.Again(ctx, againReq())
	collect(err)
	var te *TransportError
	require.ErrorAs(t, err, &te, "provably not sent, so not unknown")
	require.NotErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, context.Canceled)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestConnectionRefused_IsTransportError(t *testing.T) {
	t.Parallel()
	t.Run("before the token", func(t *testing.T) {
		c, err := NewClient(Credentials{Key: testKey, Secret: testSecret},
			WithBaseURL("http://"+closedAddr(t)+basePath))
		require.NoError(t, err)
		_, err = c.Again(context.Background(), againReq())
		collect(err)
		var te *TransportError
		require.ErrorAs(t, err, &te)
		require.NotErrorIs(t, err, ErrUnknownOutcome)
	})
	t.Run("with a cached token", func(t *testing.T) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true // a fresh dial for the write, so it is refused
		f := newFixture(t, WithHTTPClient(&http.Client{Transport: tr}))
		f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
			writeOK(w, paidPaymentJSON)
		})
		_, err := f.client.GetPayment(context.Background(), "imp_1")
		require.NoError(t, err)
		f.server.Close()

		_, err = f.client.Again(context.Background(), againReq())
		collect(err)
		var te *TransportError
		require.ErrorAs(t, err, &te, "connection refused: the charge was never sent")
		require.Equal(t, opAgain, te.Op)
		require.NotErrorIs(t, err, ErrUnknownOutcome)
		require.True(t, isDialError(err))
	})
}

func TestWriteTimeout_IsUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, WithTimeout(60*time.Millisecond))
	f.mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select { // hang until the client gives up (bounded)
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	start := time.Now()
	_, err := f.client.Again(context.Background(), againReq())
	collect(err)
	require.Less(t, time.Since(start), time.Second)
	var ue *UnknownOutcomeError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, "sub-42-c3-a1", ue.MerchantUID)
	require.Contains(t, err.Error(), "call FindAllPayments with this merchant_uid")
	var apiErr *APIError
	require.False(t, errors.As(err, &apiErr), "an unknown outcome is never a refusal")
}

func TestCallerCancelDuringWrite_IsUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	arrived := make(chan struct{})
	f.mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-arrived:
		case <-time.After(2 * time.Second):
		}
		cancel()
	}()
	_, err := f.client.Again(ctx, againReq())
	collect(err)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	require.ErrorIs(t, err, context.Canceled)
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	big := `{"code":0,"message":null,"response":{"status":"paid","name":"` + strings.Repeat("x", maxBody) + `"}}`
	f.mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(big))
	})
	f.mux.HandleFunc("/payments/imp_1", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(big))
	})
	_, err := f.client.Again(context.Background(), againReq())
	collect(err)
	require.ErrorIs(t, err, ErrUnknownOutcome)

	_, err = f.client.GetPayment(context.Background(), "imp_1")
	collect(err)
	var te *TransportError
	require.ErrorAs(t, err, &te)
}
