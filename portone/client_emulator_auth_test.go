package portone_test

// Client against emulator: access tokens (issue, reuse, expiry, refresh).

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
)

func TestClientEmulator_Tokens(t *testing.T) {
	t.Run("expiry on the client's (emulator) clock refreshes before sending", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(31 * time.Minute)
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Zero(t, e.statuses(http.StatusUnauthorized), "no request went out with the expired token")
		require.Equal(t, 2, e.tokenCount(), "a new token after expiry")
	})

	t.Run("expiry unnoticed by the client costs one 401, then it refreshes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, realClientClock())
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(31 * time.Minute)
		p, err := e.Again(charge(custA, "ord-after-expiry", 1000))
		require.NoError(t, err, "the refresh is transparent, even on a write")
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized))
		require.Equal(t, 2, e.requests(http.MethodPost, pathAgain), "the refused attempt and the retry")
		require.Equal(t, 1, e.emu.PaidCount("ord-after-expiry"), "the 401 charged nothing")
		require.Equal(t, 2, e.tokenCount())
	})

	t.Run("asking in the last minute extends the same token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(29*time.Minute + 30*time.Second) // inside the client's 60 s margin
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		e.clk.Advance(2 * time.Minute) // past the original expiry, inside the extension
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Equal(t, 1, e.tokenCount(), "PortOne extends the token instead of replacing it")
		require.Zero(t, e.statuses(http.StatusUnauthorized))
	})

	t.Run("RevokeTokens costs exactly one 401", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.emu.RevokeTokens("")
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized))
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken))
		require.Equal(t, 2, e.tokenCount())
		_, err = e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, 1, e.statuses(http.StatusUnauthorized), "the new token sticks")
	})

	t.Run("concurrent callers share one token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.GetCustomer(custA)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, e.requests(http.MethodPost, pathGetToken))
	})

	t.Run("concurrent callers after a revoke refresh once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		_, err := e.GetCustomer(custA)
		require.NoError(t, err)
		e.emu.RevokeTokens(emuKey)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.Again(charge(custA, fmt.Sprintf("ord-c%d", i), 1000))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err)
			require.Equal(t, 1, e.emu.PaidCount(fmt.Sprintf("ord-c%d", i)))
		}
		require.Equal(t, 2, e.requests(http.MethodPost, pathGetToken), "one fetch, one refresh")
		require.Equal(t, 2, e.tokenCount())
	})

	t.Run("wrong credentials are ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		bad := e.client(portone.Credentials{Key: emuKey, Secret: emuSecret + "-rotated"})
		_, err := bad.GetCustomer(custA)
		apiErr := requireRefusal(t, err, http.StatusUnauthorized, -1, portone.ErrUnauthorized)
		require.Equal(t, opGetToken, apiErr.Op)
		require.NotContains(t, err.Error(), "-rotated")
		_, err = bad.Again(charge(custA, "ord-bad-creds", 1000))
		requireRefusal(t, err, http.StatusUnauthorized, -1, portone.ErrUnauthorized)
		require.Zero(t, e.requests(http.MethodPost, pathAgain), "the charge was never sent")
	})
}

// ---- 3. no secret in any error ----
