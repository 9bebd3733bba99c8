package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReconcileFlags: everything the reconcile commands refuse is refused before dialing.
func TestReconcileFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"reconcile"}, "-from and -to are required"},
		{[]string{"reconcile", "-from", "yesterday", "-to", "2026-11-02"}, "-from: want a KST date"},
		{[]string{"reconcile", "-from", "2026-11-03", "-to", "2026-11-01"}, "to: must be after from"},
		{[]string{"reconcile", "-from", "2026-01-01", "-to", "2026-11-01"}, "at most 90 days"},
		{[]string{"reconcile", "-from", "2026-11-01", "-to", "2026-11-01", "-rate", "0"}, "-rate: must be positive"},
		{[]string{"reconcile", "show"}, "give -id or -latest"},
		{[]string{"reconcile", "show", "-id", "x", "-latest"}, "give -id or -latest"},
		{[]string{"reconcile", "schedule", "-at", "25:00"}, "BILLING_RECONCILE_AT: want HH:MM"},
		{[]string{"reconcile", "schedule", "-overlap", "-1h"}, "BILLING_RECONCILE_OVERLAP"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			require.Equal(t, exitRefused, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.want)
		})
	}
	r := runCLI(t, "help", "reconcile")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "Usage: starter reconcile -from")
	r = runCLI(t, "reconcile", "show", "-h")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "Usage: starter reconcile show")
}
