package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runCLI runs the CLI without a Temporal server: everything here must be decided before dialing,
// or fail to dial.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now}
	return result{code: a.run(t.Context(), args), stdout: out.String(), stderr: errb.String()}
}

func TestHelp(t *testing.T) {
	r := runCLI(t, "help")
	require.Equal(t, exitOK, r.code)
	for _, c := range commands() {
		require.Contains(t, r.stdout, "  "+c.name+" ")
		require.NotEmpty(t, c.examples, "%s has examples", c.name)
		require.NotEmpty(t, c.about, "%s is described", c.name)
	}
	require.Contains(t, r.stdout, "Exit codes:")

	r = runCLI(t)
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, "Usage: starter <command>")

	for _, args := range [][]string{{"help", "cancel"}, {"cancel", "-h"}, {"cancel", "--help"}} {
		r = runCLI(t, args...)
		require.Equal(t, exitOK, r.code, args)
		require.Contains(t, r.stdout, "Usage: starter cancel -id ID -reason TEXT")
		require.Contains(t, r.stdout, "Examples:\n  starter cancel -id sub-1001")
		require.Contains(t, r.stdout, "-refund string")
		require.Contains(t, r.stdout, "-temporal-address string", "Temporal flags on every command")
		require.Contains(t, r.stdout, "-namespace string")
		require.Empty(t, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"; run 'starter help' for the list`},
		{"unknown help topic", []string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"show", "-idd", "x"}, "flag provided but not defined: -idd\nRun 'starter show -h' for usage."},
		{"positional ID", []string{"show", "sub-1"}, `unexpected argument "sub-1" (did you mean -id sub-1?)`},
		{"missing id", []string{"show"}, "-id is required"},
		{"workflow ID for id", []string{"pause", "-id", "subscription/sub-1"}, "-id takes the subscription ID, not the workflow ID: use -id sub-1"},
		{"malformed id", []string{"retry", "-id", "a b"}, "-id:"},
		{"cancel needs a reason", []string{"cancel", "-id", "sub-1"}, "-reason is required: NaverPay's review requires the real reason on every cancel"},
		{"refund needs now", []string{"cancel", "-id", "sub-1", "-reason", "x", "-refund", "prorata"}, "-refund prorata needs -now"},
		{"bad refund", []string{"cancel", "-id", "sub-1", "-reason", "x", "-now", "-refund", "half"}, `-refund must be "none", "prorata" or "full", got "half"`},
		{"bad requester", []string{"cancel", "-id", "sub-1", "-reason", "x", "-requester", "bot"}, `-requester must be "customer" or "admin", got "bot"`},
		{"bad resume-at", []string{"pause", "-id", "sub-1", "-resume-at", "tomorrow"}, "-resume-at:"},
		{"nothing to change", []string{"change", "-id", "sub-1", "-reason", "x"}, "nothing to change: give -name, -code, -amount or -tax-free"},
		{"bad change amount", []string{"change", "-id", "sub-1", "-amount", "lots"}, "-amount:"},
		{"zero change amount", []string{"change", "-id", "sub-1", "-amount", "0"}, "-amount: must be at least 10 KRW"},
		{"consent without now", []string{"change", "-id", "sub-1", "-amount", "12900", "-consent-at", "2026-12-01T14:03:00+09:00"}, "-consent-*: a consent goes with -now"},
		{"change now consent time", []string{"change", "-id", "sub-1", "-amount", "12900", "-now", "-consent-at", "today"}, "-consent-at: want an RFC 3339 time"},
		{"change now consent record", []string{"change", "-id", "sub-1", "-amount", "12900", "-now", "-consent-at", "2026-12-01T14:03:00+09:00",
			"-consent-channel", "app", "-consent-shown-text", "x", "-consent-amount-before", "9900", "-consent-amount-after", "12900", "-consent-change-date", "2026-12-01"},
			"-consent-record-id is required"},
		{"end trial consent not a rise", []string{"end-trial", "-id", "sub-1", "-consent-at", "2026-12-01T14:03:00+09:00", "-consent-channel", "app",
			"-consent-shown-text", "x", "-consent-amount-before", "0", "-consent-amount-after", "0", "-consent-change-date", "2026-12-01", "-consent-record-id", "r"},
			"-consent-amount-after must be above amount_before"},
		{"replace-key needs customer", []string{"replace-key", "-id", "sub-1"}, "-customer must not be empty"},
		{"replace-key issue id without a V2 key", []string{"replace-key", "-id", "sub-1", "-customer", "c", "-issue-id", "i"}, "-issue-id goes with a PortOne V2 key"},
		{"replace-key V2 key and customer", []string{"replace-key", "-id", "sub-1", "-customer", "c", "-v2-key", "billing-key-1"}, "-customer names a V1 billing key"},
		{"replace-key bad V2 key", []string{"replace-key", "-id", "sub-1", "-v2-key", "billing key"}, "-v2-key must not contain"},
		{"bad list status", []string{"list", "-status", "late"}, `-status: "late" is not a status`},
		{"bad list limit", []string{"list", "-limit", "0"}, "-limit must be at least 1"},
		{"bad timeout", []string{"show", "-id", "x", "-timeout", "0s"}, "-timeout must be positive"},
		{"long request id", []string{"retry", "-id", "sub-1", "-request-id", strings.Repeat("r", 129)}, "-request-id is 129 characters; at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append(tt.args, "-temporal-address", "127.0.0.1:1")...)
			require.Equal(t, exitRefused, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.want)
			require.Empty(t, r.stdout)
			n := 0
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(l, "starter") {
					n++
				}
			}
			require.Equal(t, 1, n, "one error, reported once: %q", r.stderr)
		})
	}
}

func TestTemporalUnreachable(t *testing.T) {
	for _, args := range [][]string{
		{"show", "-id", "sub-1"},
		{"list"},
		{"cancel", "-id", "sub-1", "-reason", "x"},
		{"start", "-id", "sub-1", "-customer", "c", "-plan-name", "P", "-amount", "100", "-interval", "1 month", "-allow-plaintext"},
	} {
		r := runCLI(t, append(args, "-temporal-address", "127.0.0.1:1", "-namespace", "billing-test")...)
		require.Equal(t, exitFailure, r.code, args)
		require.Contains(t, r.stderr, `cannot reach Temporal at 127.0.0.1:1 (namespace "billing-test")`, args)
		require.Contains(t, r.stderr, "TEMPORAL_ADDRESS")
	}
}

func TestCodecKeysAreChecked(t *testing.T) {
	t.Setenv("PAYCYCLE_CODEC_KEYS", "not-a-key")
	r := runCLI(t, "show", "-id", "sub-1", "-temporal-address", "127.0.0.1:1")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stderr, "PAYCYCLE_CODEC_KEYS")
}

func TestFlagForField(t *testing.T) {
	for field, want := range map[string]string{
		"subscription_id": "-id", "plan.amount": "-amount", "plan.interval": "-interval", "dunning.retry_after[3]": "-retry-after",
		"dunning.grace": "-grace", "buyer.tel": "-buyer-tel", "plan.charge_mode": "-mode", "continued": "",
	} {
		require.Equal(t, want, flagForField(field), field)
	}
}
