package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStartRefusesPlaintextUnlessAllowed(t *testing.T) {
	t.Setenv("PAYCYCLE_CODEC_KEYS", "")
	start := []string{"start", "-id", "sub-1", "-customer", "cust-1", "-plan-name", "P", "-amount", "9900", "-interval", "1 month",
		"-buyer-tel", "010-1234-5678", "-temporal-address", "127.0.0.1:1", "-timeout", "2s"}
	r := runCLI(t, start...)
	require.Equal(t, exitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "PAYCYCLE_CODEC_KEYS is not set")
	require.Contains(t, r.stderr, "-allow-plaintext")
	require.NotContains(t, r.stderr, "cannot reach Temporal", "refused before dialing")

	r = runCLI(t, append(start, "-allow-plaintext")...)
	require.Contains(t, r.stderr, "warning: PAYCYCLE_CODEC_KEYS is not set")
	require.Contains(t, r.stderr, "cannot reach Temporal", "with -allow-plaintext it goes on to dial")
}

func TestOutputFlagAndVersion(t *testing.T) {
	r := runCLI(t, "-version")
	require.Equal(t, exitOK, r.code)
	require.True(t, strings.HasPrefix(r.stdout, "starter "), r.stdout)
	require.Contains(t, r.stdout, "Temporal Go SDK")

	r = runCLI(t, "show", "-id", "x", "-o", "yaml")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, `-o "yaml": want table or json`)

	r = runCLI(t, "start", "-id", "x", "-o", "json")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, "has no JSON output")
}

func TestBadEnvironmentIsRefusedByName(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "yes")
	r := runCLI(t, "show", "-id", "x")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, `TEMPORAL_TLS="yes" is not valid: want true or false`)
}
