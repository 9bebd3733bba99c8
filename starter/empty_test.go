package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/reconcile"
	"github.com/paycycle/paycycle/webhooks"
)

// TestEmptyListsSayTheyAreEmpty: every listing the starter prints says so in a sentence when it
// has nothing to list, instead of printing a table header over nothing (which reads like a
// failure to fetch, not like "none").
func TestEmptyListsSayTheyAreEmpty(t *testing.T) {
	window := func(r reconcile.Report) reconcile.Report {
		r.From = time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC)
		r.To = r.From.Add(24 * time.Hour)
		r.Counts = map[string]int{}
		return r
	}
	cases := []struct {
		name   string
		render func(*bytes.Buffer)
		want   string
		header string // a header that must not be printed alone
	}{
		{"list, nothing matches", func(b *bytes.Buffer) { renderList(b, nil) }, "No subscriptions match.", "SUBSCRIPTION"},
		{"events, none yet", func(b *bytes.Buffer) {
			renderOutbox(b, webhooks.OutboxState{SubscriptionID: "sub-1"}, workflowInfo{}, nil, "")
		}, "No events yet.", "SEQ"},
		{"events, none of a status", func(b *bytes.Buffer) {
			renderOutbox(b, webhooks.OutboxState{SubscriptionID: "sub-1"}, workflowInfo{}, nil, webhooks.StatusFailed)
		}, "No failed deliveries.", "SEQ"},
		{"reconcile show, a clean night", func(b *bytes.Buffer) {
			renderReport(b, "reconcile/x", window(reconcile.Report{Phase: "done"}))
		}, "No findings: PortOne's records and the subscriptions agree over the window.", ""},
		{"reconcile show, still gathering", func(b *bytes.Buffer) {
			renderReport(b, "reconcile/x", window(reconcile.Report{Phase: "gathering"}))
		}, "No findings yet: the reconciliation is still gathering", ""},
		{"reconcile show, no day totals yet", func(b *bytes.Buffer) {
			renderReport(b, "reconcile/x", window(reconcile.Report{Phase: "gathering"}))
		}, "No day totals yet", "day (KST)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.render(&b)
			out := b.String()
			require.Contains(t, out, tc.want, out)
			if tc.header != "" {
				require.NotContains(t, out, tc.header, "a header over nothing:\n%s", out)
			}
			require.False(t, strings.HasSuffix(strings.TrimRight(out, "\n"), ":"), out)
		})
	}
}
