package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConsentFlagsAreCheckedBeforeDialing: a consent the workflow would refuse anyway is refused
// by the starter at once, naming the flag, and nothing is sent (no Temporal runs here).
func TestConsentFlagsAreCheckedBeforeDialing(t *testing.T) {
	base := []string{"consent", "-id", "sub-1", "-granted", "true", "-at", "2026-12-01T14:03:00+09:00", "-channel", "app",
		"-shown-text", "12월 15일부터 12,900원", "-amount-before", "9900", "-amount-after", "12900", "-change-date", "2026-12-15", "-record-id", "r-1",
		"-temporal-address", "127.0.0.1:1", "-timeout", "2s"}
	with := func(flag, value string) []string {
		out := append([]string(nil), base...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"silence is not consent", with("-granted", "maybe"), "-granted: want true or false"},
		{"no time", with("-at", "yesterday"), "-at: want an RFC 3339 time"},
		{"no date", with("-change-date", "15 Dec"), "-change-date: want YYYY-MM-DD"},
		{"not a rise", with("-amount-after", "9900"), "amount_after: must be above amount_before"},
		{"no record", with("-record-id", ""), "record_id: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{stdout: &out, stderr: &errb, now: time.Now, lookup: func(string) (string, bool) { return "", false }}
			code := a.run(context.Background(), tc.args)
			require.Equal(t, exitRefused, code, errb.String())
			require.Contains(t, errb.String(), tc.want)
			require.False(t, strings.Contains(errb.String(), "dial"), "refused before dialing")
		})
	}
}
