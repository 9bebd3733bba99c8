package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/reconcile"
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

// TestRenderReportProjection: `reconcile show` says what the projection check did: skipped and
// why, the counts, and each difference as the read model's (never marked); a report from before
// the check says so instead of nothing.
func TestRenderReportProjection(t *testing.T) {
	base := reconcile.Report{Phase: "done", Counts: map[string]int{}}
	diff := reconcile.ProjectionDifference{Field: "status", Projection: "paused", Workflow: "active"}
	for _, tc := range []struct {
		name string
		r    func(reconcile.Report) reconcile.Report
		want []string
		not  []string
	}{
		{"skipped", func(r reconcile.Report) reconcile.Report {
			r.Projection = &reconcile.ProjectionCheck{Skipped: "no read model configured: set PAYCYCLE_READMODEL_DSN on the worker"}
			return r
		}, []string{"Projection   skipped: no read model configured: set PAYCYCLE_READMODEL_DSN"}, []string{"The read model agrees"}},
		{"agrees", func(r reconcile.Report) reconcile.Report {
			r.Projection = &reconcile.ProjectionCheck{Compared: 12}
			return r
		}, []string{"Projection   12 subscriptions compared with the read model, 0 differ", "The read model agrees with every subscription's state."}, nil},
		{"differs", func(r reconcile.Report) reconcile.Report {
			r.Projection = &reconcile.ProjectionCheck{Compared: 12, Differing: 1}
			r.Counts[reconcile.FindingProjection] = 1
			r.Findings = []reconcile.Finding{{Name: reconcile.FindingProjection, SubscriptionID: "sub-7", Projection: &diff,
				Detail: "status: the read model says paused, the workflow active"}}
			return r
		}, []string{"1 differ", "projection 1", "projection  sub-7  cycle 0  the read model's (never marked)\n  status: the read model says paused, the workflow active"}, []string{"No findings"}},
		{"read model down", func(r reconcile.Report) reconcile.Report {
			r.Projection = &reconcile.ProjectionCheck{Errors: 3, FirstError: "sub-1: connection refused"}
			return r
		}, []string{"3 NOT compared, the read model did not answer (sub-1: connection refused)"}, []string{"The read model agrees"}},
		{"an older report", func(r reconcile.Report) reconcile.Report { return r },
			[]string{"Projection   not part of this report (made before the check existed)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			renderReport(&b, "reconcile/x", tc.r(base))
			for _, w := range tc.want {
				require.Contains(t, b.String(), w)
			}
			for _, n := range tc.not {
				require.NotContains(t, b.String(), n)
			}
		})
	}
}
