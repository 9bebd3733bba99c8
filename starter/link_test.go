package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/signedlink"
)

const testSecret = "starter-test-link-secret-0123456789abcdef"

func runLink(t *testing.T, env map[string]string, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: func() time.Time { return now }, lookup: config.MapLookup(env)}
	return result{code: a.run(t.Context(), append([]string{"link"}, args...)), stdout: out.String(), stderr: errb.String()}
}

func TestLinkMintsWhatTheEdgeVerifies(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 30, 0, 500, time.UTC)
	env := map[string]string{envLinkSecret: "new-" + testSecret + "," + testSecret, envEdgePublicURL: "https://billing.example.com/pay/"}
	keys, err := signedlink.ParseSecrets(testSecret) // the old secret alone: rotation means the first signs
	require.NoError(t, err)
	newKeys, err := signedlink.ParseSecrets("new-" + testSecret)
	require.NoError(t, err)

	r := runLink(t, env, now, "-subscription", "sub-1001")
	require.Equal(t, exitOK, r.code, r.stderr)
	link := strings.TrimSpace(r.stdout)
	require.True(t, strings.HasPrefix(link, "https://billing.example.com/pay/manage/"), link)
	require.NotContains(t, link, "sub-1001", "never a bare subscription ID")
	token := strings.TrimPrefix(link, "https://billing.example.com/pay/manage/")
	l, err := newKeys.Verify(token, signedlink.Manage, now)
	require.NoError(t, err)
	require.Equal(t, "sub-1001", l.SubscriptionID)
	require.Equal(t, now.Add(defaultLinkTTL).Truncate(time.Second), l.Expires)
	_, err = keys.Verify(token, signedlink.Manage, now)
	require.ErrorIs(t, err, signedlink.ErrBadSignature, "the first secret signs")
	require.Contains(t, r.stderr, "valid until 2026-03-08T09:30:00Z")

	r = runLink(t, env, now, "-id", "sub-1001", "-purpose", "register", "-ttl", "2h", "-o", "json", "-public-url", "http://127.0.0.1:7790")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ans linkAnswer
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ans))
	require.Equal(t, "register", ans.Purpose)
	require.Equal(t, now.Add(2*time.Hour).Truncate(time.Second), ans.ExpiresAt)
	require.True(t, strings.HasPrefix(ans.URL, "http://127.0.0.1:7790/register/"), ans.URL)
	_, err = newKeys.Verify(strings.TrimPrefix(ans.URL, "http://127.0.0.1:7790/register/"), signedlink.Register, now.Add(2*time.Hour-time.Second))
	require.NoError(t, err)
	_, err = newKeys.Verify(strings.TrimPrefix(ans.URL, "http://127.0.0.1:7790/register/"), signedlink.Register, now.Add(2*time.Hour))
	require.ErrorIs(t, err, signedlink.ErrExpired)
}

func TestLinkRefusals(t *testing.T) {
	now := time.Now()
	good := map[string]string{envLinkSecret: testSecret, envEdgePublicURL: "https://b.example.com"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no subscription", good, nil, "-subscription is required"},
		{"bad subscription", good, []string{"-subscription", "a b"}, "-subscription:"},
		{"bad purpose", good, []string{"-subscription", "s1", "-purpose", "admin"}, "-purpose"},
		{"ttl too long", good, []string{"-subscription", "s1", "-ttl", "2400h"}, "-ttl"},
		{"negative ttl", good, []string{"-subscription", "s1", "-ttl", "-1h"}, "-ttl"},
		{"no public URL", map[string]string{envLinkSecret: testSecret}, []string{"-subscription", "s1"}, "-public-url"},
		{"no secret", map[string]string{envEdgePublicURL: "https://b.example.com"}, []string{"-subscription", "s1"}, envLinkSecret + " is not set"},
		{"short secret", map[string]string{envLinkSecret: "short", envEdgePublicURL: "https://b.example.com"}, []string{"-subscription", "s1"}, "at least 32"},
		{"secret as a flag", good, []string{"-subscription", "s1", "-link-secret", "x"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runLink(t, tt.env, now, tt.args...)
			require.Equal(t, exitRefused, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.want)
			require.Empty(t, r.stdout)
			require.NotContains(t, r.stderr, testSecret)
		})
	}
}
