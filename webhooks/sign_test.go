package webhooks_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/webhooks"
)

func TestParseSecretsRefusesWeakOrMalformedSecrets(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("too short"))
	for _, tc := range []struct{ name, list, want string }{
		{"empty", "  ", "no webhook signing secret"},
		{"no prefix", strings.TrimPrefix(webhooks.NewSecret(), "whsec_"), "must start with whsec_"},
		{"not base64", "whsec_!!!", "not base64"},
		{"too short", short, "at least 24"},
		{"second of two bad", webhooks.NewSecret() + " whsec_???", "secret 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webhooks.ParseSecrets(tc.list)
			require.ErrorContains(t, err, tc.want)
			if raw := strings.TrimSpace(strings.TrimPrefix(tc.list, "whsec_")); len(raw) > 8 {
				require.NotContains(t, err.Error(), raw[:8], "never echoes a secret")
			}
		})
	}
}

func TestHeadersVerifyWithTheStandardLibraryForEverySecret(t *testing.T) {
	a, b := webhooks.NewSecret(), webhooks.NewSecret()
	s, err := webhooks.ParseSecrets(a + "," + b)
	require.NoError(t, err)
	body := []byte(`{"id":"evt_1","type":"charge.succeeded"}`)
	h, err := s.Headers("evt_1", time.Now(), body)
	require.NoError(t, err)
	require.Len(t, strings.Fields(h.Get("webhook-signature")), 2, "one v1 signature per secret")
	for _, secret := range []string{a, b} {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(body, h))
		require.Error(t, wh.Verify([]byte(`{"id":"evt_1","type":"charge.refunded"}`), h), "a tampered body fails")
		stale := h.Clone()
		old, _ := s.Headers("evt_1", time.Now().Add(-time.Hour), body)
		stale.Set("webhook-timestamp", old.Get("webhook-timestamp"))
		stale.Set("webhook-signature", old.Get("webhook-signature"))
		require.Error(t, wh.Verify(body, stale), "a replayed old delivery fails the timestamp tolerance")
	}
	other, _ := standardwebhooks.NewWebhook(webhooks.NewSecret())
	require.Error(t, other.Verify(body, h))
}

func TestParseEndpoints(t *testing.T) {
	eps, err := webhooks.ParseEndpoints("https://shop.example/hooks?token=s3cret, http://127.0.0.1:8080/pay")
	require.NoError(t, err)
	require.Equal(t, []string{"shop.example/hooks", "127.0.0.1:8080/pay"}, []string{eps[0].Name, eps[1].Name}, "names never carry the query")
	for _, bad := range []string{"ftp://x/y", "/relative", "https://", "https://a/x https://a/x"} {
		_, err := webhooks.ParseEndpoints(bad)
		require.Error(t, err, bad)
	}
	_, err = webhooks.ParseEndpoints("https://user:pw@shop.example/h?token=s3cret ftp://x")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	none, err := webhooks.ParseEndpoints("")
	require.NoError(t, err)
	require.Empty(t, none)
}
