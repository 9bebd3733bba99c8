package edge_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// The customer's page takes "paid through" and "next charge" from billing.State.PaidUntil and
// NextCharge (issue 20, item 4): after a 중도해지 it showed the refunded period's end as a future
// "Paid through"; after a cancel at period end no next charge is shown.
func TestManagePageShowsWhatWillHappen(t *testing.T) {
	shown := func(page, id string) string {
		m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return m[1]
	}
	kstText := func(t time.Time) string { return t.In(calendar.Seoul).Format("2006-01-02 15:04 KST") }
	tests := []struct {
		name      string
		change    func(st *billing.State, now time.Time)
		paidUntil func(st billing.State, now time.Time) time.Time
		next      bool
	}{
		{"active", func(*billing.State, time.Time) {}, func(st billing.State, _ time.Time) time.Time { return st.PaidThrough }, true},
		{"cancel at period end", func(st *billing.State, now time.Time) {
			st.PendingCancel = &billing.CancelRequest{When: billing.AtPeriodEnd, Reason: "x", RequestedAt: now}
		}, func(st billing.State, _ time.Time) time.Time { return st.PaidThrough }, false},
		{"canceled now with a prorata refund", func(st *billing.State, now time.Time) {
			st.Status, st.EndedAt = billing.StatusCanceled, now
			st.Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_c2", Amount: prorata(*st, now), At: now}}
		}, func(_ billing.State, now time.Time) time.Time { return now }, false},
		{"canceled now with a full refund", func(st *billing.State, now time.Time) {
			st.Status, st.EndedAt = billing.StatusCanceled, now
			st.Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_c2", Amount: 9900, At: now}}
		}, func(st billing.State, _ time.Time) time.Time { return st.CurrentPeriod.Start }, false},
		{"paused", func(st *billing.State, now time.Time) {
			st.Status, st.Pause = billing.StatusPaused, &billing.PauseState{RequestAt: now, PausedAt: now}
		}, func(st billing.State, _ time.Time) time.Time { return st.PaidThrough }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			now := e.clock.Now()
			st := activeState("sub1", now, 10)
			tc.change(&st, now)
			e.wf.setState(st)
			_, page, _ := e.get(e.manageLink("sub1"))
			require.Equal(t, kstText(tc.paidUntil(st, now)), shown(page, "paid-through"), page)
			if tc.next {
				require.Equal(t, kstText(st.NextChargeAt), shown(page, "next-charge"))
			} else {
				require.NotContains(t, page, `id="next-charge"`)
			}
		})
	}
}
