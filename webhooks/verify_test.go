package webhooks

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVerifyAcceptsAnyConfiguredSecret signs with one secret and verifies with lists that do
// and do not hold it, and refuses a tampered body, a stale timestamp and missing headers.
func TestVerifyAcceptsAnyConfiguredSecret(t *testing.T) {
	oldSecret, newSecret, other := NewSecret(), NewSecret(), NewSecret()
	signer, err := ParseSecrets(newSecret)
	require.NoError(t, err)
	body := []byte(`{"id":"evt_x_abcd_1"}`)
	now := time.Now()
	h, err := signer.Headers("evt_x_abcd_1", now, body)
	require.NoError(t, err)
	stale, err := signer.Headers("evt_x_abcd_1", now.Add(-time.Hour), body)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		secrets string
		body    []byte
		h       http.Header
		ok      bool
	}{
		{"the signing secret", newSecret, body, h, true},
		{"old and new during a rotation", oldSecret + "," + newSecret, body, h, true},
		{"another secret", other, body, h, false},
		{"tampered body", newSecret, []byte(`{"id":"evt_x_abcd_2"}`), h, false},
		{"stale timestamp", newSecret, body, stale, false},
		{"no headers", newSecret, body, http.Header{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseSecrets(tc.secrets)
			require.NoError(t, err)
			err = v.Verify(tc.body, tc.h)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrBadSignature)
			}
		})
	}
}
