package portoneconf

import (
	"encoding/base64"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/config"
)

func v2From(t *testing.T, env map[string]string, args ...string) (V2Settings, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	s := config.New(fs, config.MapLookup(env))
	var p V2Settings
	p.Register(s)
	if err := s.Parse(args); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// TestV2Settings: V2 is off without its variables; with them, each malformed one is refused by
// name, secrets without their value.
func TestV2Settings(t *testing.T) {
	hook := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	hook2 := "whsec_" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	good := map[string]string{
		EnvV2APISecret:      "Zk9xQ2J3dGhpc2lzYXRlc3RzZWNyZXQ",
		EnvV2StoreID:        "store-4f6a3a2e-1c0b-4d6e-9a57-0123456789ab",
		EnvV2ChannelKey:     "channel-key-9b8c7d6e-5f4a-4b3c-8d2e-fedcba987654",
		EnvV2WebhookSecrets: hook + " " + hook2,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" for valid
		// hidden must not appear in the error.
		hidden string
	}{
		{"nothing set: V2 off", map[string]string{}, "", ""},
		{"all good", good, "", ""},
		{"only the secret", map[string]string{EnvV2APISecret: good[EnvV2APISecret]}, "", ""},
		{"a store without the secret", with(EnvV2APISecret, "<unset>"), EnvV2APISecret, ""},
		{"a secret with a space", with(EnvV2APISecret, "has a space in it somewhere"), EnvV2APISecret, "has a space"},
		{"a short secret", with(EnvV2APISecret, "short"), EnvV2APISecret, "short"},
		{"a store ID without its prefix", with(EnvV2StoreID, "4f6a3a2e-1c0b-4d6e-9a57-0123456789ab"), EnvV2StoreID, ""},
		{"a channel key that is a store ID", with(EnvV2ChannelKey, good[EnvV2StoreID]), EnvV2ChannelKey, ""},
		{"three webhook secrets", with(EnvV2WebhookSecrets, hook+","+hook2+","+hook), EnvV2WebhookSecrets, ""},
		{"a webhook secret without whsec_", with(EnvV2WebhookSecrets, "c2VjcmV0c2VjcmV0c2VjcmV0"), EnvV2WebhookSecrets, "c2VjcmV0c2VjcmV0c2VjcmV0"},
		{"a webhook secret that is not base64", with(EnvV2WebhookSecrets, "whsec_not*base64!"), EnvV2WebhookSecrets, "not*base64"},
		{"a webhook secret too short", with(EnvV2WebhookSecrets, "whsec_"+base64.StdEncoding.EncodeToString([]byte("tiny"))), EnvV2WebhookSecrets, ""},
		{"a timeout without unit", with(EnvV2Timeout, "15"), EnvV2Timeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v2From(t, tt.env)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.Equal(t, len(tt.env) > 0, p.Enabled())
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			if tt.hidden != "" {
				require.NotContains(t, err.Error(), tt.hidden)
			}
		})
	}
}

// TestV2SettingsBuildTheGateway: the settings make a gateway; their formatting hides the
// secrets; a timeout flag wins over the environment.
func TestV2SettingsBuildTheGateway(t *testing.T) {
	secret := "Zk9xQ2J3dGhpc2lzYXRlc3RzZWNyZXQ"
	hook := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	p, err := v2From(t, map[string]string{EnvV2APISecret: secret, EnvV2WebhookSecrets: hook, EnvV2BaseURL: "http://127.0.0.1:8099"},
		"-portone-v2-timeout=3s")
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, p.Timeout)
	require.Equal(t, []string{hook}, p.WebhookSecrets())
	g, err := p.NewV2Gateway()
	require.NoError(t, err)
	require.Contains(t, g.String(), "http://127.0.0.1:8099")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, p)
		require.NotContains(t, out, secret, verb)
		require.NotContains(t, out, strings.TrimPrefix(hook, "whsec_"), verb)
	}
	off, err := v2From(t, map[string]string{})
	require.NoError(t, err)
	_, err = off.NewV2Gateway()
	require.ErrorContains(t, err, EnvV2APISecret)
}
