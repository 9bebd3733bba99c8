package readmodel_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/readmodel"
)

const day = 24 * time.Hour

// TestOverviewOfTheMixedFeed checks every overview figure against the feed worked out by hand.
func TestOverviewOfTheMixedFeed(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	applyAll(t, s, flat(mixedFeed()))
	now := t0.Add(41 * day)
	o, err := s.Overview(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 5, o.Total)
	require.Equal(t, 3, o.Active)
	require.Equal(t, 2, o.ByStatus[billing.StatusCanceled])
	require.Equal(t, 0, o.ByStatus[billing.StatusPastDue])
	require.Len(t, o.ByStatus, len(billing.AllStatuses))
	require.Equal(t, int64(9900+19900+4333), o.MRR, "renewed, recovered, weekly (1000×52/12)")
	require.Equal(t, int64(9900+19900+19900+10000+4333), o.MRR30DaysAgo, "the lost one and the yearly one (120000/12) still counted")
	require.Equal(t, int64(9900+19900), o.Charged30d, "the renewal and the recovering retry")
	require.Equal(t, int64(30000), o.Refunded30d)
	require.Equal(t, int64(-200), o.Net30d)
	require.Equal(t, 1, o.DunningRecovered30d)
	require.Equal(t, 1, o.DunningLost30d, "canceled while past due")
	rate, ok := o.RecoveryRate()
	require.True(t, ok)
	require.InDelta(t, 0.5, rate, 1e-9)
	require.Zero(t, o.Gaps)

	// Before anything happened: nothing.
	o, err = s.Overview(ctx, t0.Add(-day))
	require.NoError(t, err)
	require.Zero(t, o.MRR30DaysAgo)
	require.Zero(t, o.Charged30d)
	_, ok = o.RecoveryRate()
	require.False(t, ok)
}

// TestRevenueByKSTMonth puts a refund in the month it was made, not its charge's, and writes
// the CSV.
func TestRevenueByKSTMonth(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	applyAll(t, s, flat(mixedFeed()))
	months, err := s.Revenue(ctx, "2026-03", "2026-06")
	require.NoError(t, err)
	require.Equal(t, []readmodel.RevenueMonth{
		{Month: "2026-03"},
		// t0 is 2026-04-01 01:00 KST (still March in UTC): April in KST.
		{Month: "2026-04", Gross: 170700, Net: 170700, Taxable: 170700, Charges: 5},
		{Month: "2026-05", Gross: 29800, Refunds: 30000, Net: -200, Taxable: -200, Charges: 2, RefundCount: 1},
		{Month: "2026-06"},
	}, months)
	var b bytes.Buffer
	require.NoError(t, readmodel.WriteRevenueCSV(&b, months[1:3]))
	require.Equal(t, "month,gross_krw,refunds_krw,net_krw,taxable_krw,tax_free_krw,charges,refunds\n"+
		"2026-04,170700,0,170700,170700,0,5,0\n2026-05,29800,30000,-200,-200,0,2,1\n", b.String())
	for _, tc := range []struct{ from, to, msg string }{
		{"2026-13", "2026-12", "from must be a month"},
		{"2026-01", "26-02", "to must be a month"},
		{"2026-05", "2026-04", "to must be"},
		{"2000-01", "2026-04", "to must be"},
	} {
		_, err := s.Revenue(ctx, tc.from, tc.to)
		require.ErrorContains(t, err, tc.msg)
	}
}

// TestDuplicatePaymentRefundCountsInGrossAndRefunds: a refund of a payment no charge event
// reported (the workflow refunds a second payment of a paid cycle at once) shows in both.
func TestDuplicatePaymentRefundCountsInGrossAndRefunds(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-dup", t0, "Basic", 9900, "1 month")
	x.start(t0.Add(30 * day))
	x.advance(time.Hour).refunded(1, 9900, "imp_second_payment")
	applyAll(t, s, x.out)
	row, err := s.Subscription(ctx, "sub-dup")
	require.NoError(t, err)
	require.Equal(t, int64(19800), row.TotalPaid)
	require.Equal(t, int64(9900), row.TotalRefunded)
	m, err := s.Revenue(ctx, "2026-04", "2026-04")
	require.NoError(t, err)
	require.Equal(t, int64(19800), m[0].Gross)
	require.Equal(t, int64(9900), m[0].Net)
}

// TestUpcomingDueWithinAndGauges: the weekly plan's next charge is on 2026-04-08 KST.
func TestUpcomingDueWithinAndGauges(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	applyAll(t, s, flat(mixedFeed()))
	days, err := s.Upcoming(ctx, t0.Add(5*day), 7)
	require.NoError(t, err)
	require.Len(t, days, 7)
	require.Equal(t, "2026-04-06", days[0].Day)
	require.Equal(t, "2026-04-12", days[6].Day)
	for i, d := range days {
		if d.Day == "2026-04-08" {
			require.Equal(t, readmodel.UpcomingDay{Day: "2026-04-08", Charges: 1, Amount: 1000}, d)
			continue
		}
		require.Zero(t, d.Charges, "day %d", i)
	}
	days, err = s.Upcoming(ctx, t0.Add(50*day), 14)
	require.NoError(t, err)
	var n int
	var amount int64
	for _, d := range days {
		n, amount = n+d.Charges, amount+d.Amount
	}
	require.Equal(t, 2, n, "the two monthly renewals; the weekly one is before the window")
	require.Equal(t, int64(9900+19900), amount)
	_, err = s.Upcoming(ctx, t0, 0)
	require.ErrorContains(t, err, "days must be")

	due, err := s.DueWithin(ctx, t0.Add(6*day+12*time.Hour), day)
	require.NoError(t, err)
	require.Equal(t, []readmodel.Due{{SubscriptionID: "sub-weekly", At: t0.Add(7 * day), Cycle: 2, Amount: 1000, Status: billing.StatusActive}}, due)
	// The console's page of it: the first n and the total. Over 70 days all three are due.
	all, err := s.DueWithin(ctx, t0, 70*day)
	require.NoError(t, err)
	require.Len(t, all, 3)
	first, total, err := s.DueWithinFirst(ctx, t0, 70*day, 2)
	require.NoError(t, err)
	require.Equal(t, 3, total)
	require.Equal(t, all[:2], first, "soonest first, as DueWithin")
	_, _, err = s.DueWithinFirst(ctx, t0, day, 0)
	require.ErrorContains(t, err, "n must be 1..")

	g, err := s.Gauges(ctx, t0.Add(6*day+12*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, g.DueNext24h)
	require.Equal(t, int64(1000), g.DueNext24hAmount)
	require.Equal(t, 3, g.ByStatus[billing.StatusActive], "the projection is the current state, whatever now is")

	c := readmodel.NewCollector(s, time.Second)
	c.SetClock(func() time.Time { return t0.Add(6*day + 12*time.Hour) })
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	require.Equal(t, map[string]float64{
		readmodel.GaugeUp: 1, readmodel.GaugeMRR: 34133, readmodel.GaugeDueNext24h: 1, readmodel.GaugeDueNext24hAmount: 1000,
		readmodel.GaugeGaps: 0, readmodel.GaugeSubscriptions + "{status=active}": 3,
	}, scrape(t, reg, "{status=active}", readmodel.GaugeLag))
	require.NoError(t, s.Close())
	require.Equal(t, map[string]float64{readmodel.GaugeUp: 0}, scrape(t, reg, "", ""), "a closed database is reported down, not as zeros")
}

// scrape gathers reg: every unlabelled gauge, and the labelled ones whose labels are keep;
// skip names one left out (its value depends on the wall clock).
func scrape(t *testing.T, reg *prometheus.Registry, keep, skip string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue()
			}
			if labels != "" {
				labels = "{" + labels + "}"
			}
			if mf.GetName() == skip || (labels != "" && labels != keep) {
				continue
			}
			out[mf.GetName()+labels] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestQueuesPageAndSort: 7 past-due subscriptions in pages of 3, by next retry both ways; a
// consent pending and an attention flag (from a workflow state) in their queues.
func TestQueuesPageAndSort(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	var ids []string
	for i := range 7 {
		x := newSub(fmt.Sprintf("sub-pd-%d", i), t0, "Basic", 9900, "1 month")
		x.start(t0.Add(30 * day))
		// Retries in the reverse order of the IDs.
		x.advance(30*day).declined(t0.Add(40*day-time.Duration(i)*time.Hour), fmt.Sprintf("reason %d", i))
		applyAll(t, s, x.out)
		ids = append(ids, x.id)
	}
	page := func(p readmodel.Page) []string {
		rows, total, err := s.Queue(ctx, readmodel.PastDue, p)
		require.NoError(t, err)
		require.Equal(t, 7, total)
		var out []string
		for _, r := range rows {
			require.NotEmpty(t, r.LastDeclineReason)
			require.False(t, r.DunningNextRetryAt.IsZero())
			out = append(out, r.SubscriptionID)
		}
		return out
	}
	var asc, desc []string
	for off := 0; off < 7; off += 3 {
		asc = append(asc, page(readmodel.Page{Offset: off, Limit: 3, Sort: "next_retry_at"})...)
		desc = append(desc, page(readmodel.Page{Offset: off, Limit: 3, Sort: "next_retry_at", Desc: true})...)
	}
	require.Equal(t, []string{"sub-pd-6", "sub-pd-5", "sub-pd-4", "sub-pd-3", "sub-pd-2", "sub-pd-1", "sub-pd-0"}, asc)
	require.Equal(t, ids, desc)
	require.Equal(t, ids[:2], page(readmodel.Page{Limit: 2, Sort: "subscription_id"}))
	require.Equal(t, ids, page(readmodel.Page{Sort: "decline_reason"}))
	for _, p := range []readmodel.Page{{Sort: "price; DROP TABLE subscriptions"}, {Limit: -1}, {Limit: readmodel.MaxLimit + 1}, {Offset: -1}} {
		_, _, err := s.Queue(ctx, readmodel.PastDue, p)
		require.Error(t, err, "%+v", p)
	}
	_, _, err := s.Queue(ctx, "everything", readmodel.Page{})
	require.ErrorContains(t, err, "queue must be one of")

	// Consent pending, from its event; then attention, from a workflow state.
	c := newSub("sub-consent", t0, "Basic", 9900, "1 month")
	c.start(t0.Add(30 * day))
	c.emit(billing.EventConsentRequired, billing.EventData{Consent: &billing.ConsentState{
		Status: billing.ConsentRequired, ChangeAt: t0.Add(30 * day), AmountBefore: 9900, AmountAfter: 12900, Why: "plan_change",
	}}, nil)
	applyAll(t, s, c.out)
	rows, total, err := s.Queue(ctx, readmodel.ConsentPending, readmodel.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, t0.Add(30*day), rows[0].ConsentDeadline)
	require.Equal(t, int64(12900), rows[0].ConsentAmountAfter)

	st := stateOf(c)
	st.Attention = &billing.Attention{Kind: billing.AttentionReconciliation, Finding: "orphan", Detail: "imp_x", MarkedAt: t0.Add(day)}
	st.Consent = &billing.ConsentState{Status: billing.ConsentRequired, ChangeAt: t0.Add(30 * day), AmountBefore: 9900, AmountAfter: 12900, Why: "plan_change"}
	require.NoError(t, s.ApplyState(ctx, st, t0.Add(day)))
	rows, total, err = s.Queue(ctx, readmodel.NeedsAttention, readmodel.Page{Sort: "since", Desc: true})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, "orphan", rows[0].AttentionFinding)
	o, err := s.Overview(ctx, t0.Add(day))
	require.NoError(t, err)
	require.Equal(t, 1, o.NeedsAttention)
	require.Equal(t, 1, o.ConsentPending)
	require.Equal(t, 7, o.ByStatus[billing.StatusPastDue])
}

// TestEventsPage lists a subscription's events newest first and by sequence.
func TestEventsPage(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-ev", t0, "Basic", 9900, "1 month")
	x.start(t0.Add(30 * day))
	x.advance(30 * day).paid(t0.Add(60 * day))
	applyAll(t, s, x.out)
	evs, total, err := s.Events(ctx, "sub-ev", readmodel.Page{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 4, total)
	require.Equal(t, []int64{4, 3}, []int64{evs[0].Seq, evs[1].Seq})
	require.Equal(t, billing.EventChargeSucceeded, evs[0].Type)
	require.False(t, evs[0].AppliedAt.IsZero())
	evs, _, err = s.Events(ctx, "sub-ev", readmodel.Page{Offset: 1, Limit: 2, Sort: "seq"})
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3}, []int64{evs[0].Seq, evs[1].Seq})
	_, _, err = s.Events(ctx, "sub-ev", readmodel.Page{Sort: "type"})
	require.Error(t, err)
}

// stateOf is the workflow state the sub's latest event describes (for ApplyState and Compare).
func stateOf(x *sub) billing.State {
	unit, count := strings.TrimSuffix(strings.Fields(x.sum.Interval)[1], "s"), 1
	_, _ = fmt.Sscan(strings.Fields(x.sum.Interval)[0], &count)
	st := billing.State{
		SubscriptionID: x.id, Tag: x.tag, Status: x.sum.Status, StatusReason: x.sum.StatusReason, CustomerUID: "cust-1234",
		Cycle: x.sum.Cycle, PaidThrough: x.sum.PaidThrough, NextChargeAt: x.sum.NextChargeAt, EventSeq: x.seq,
	}
	st.Plan.Name, st.Plan.Code, st.Plan.Amount = x.sum.Plan, "code-"+x.sum.Plan, x.sum.Amount
	st.Plan.Interval.Unit, st.Plan.Interval.Count = calendarUnit(unit), count
	return st
}

// TestOnePaymentCountsOnce: two charge events reporting the same payment (imp_uid) count it
// once.
func TestOnePaymentCountsOnce(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-twice", t0, "Basic", 9900, "1 month")
	x.start(t0.Add(30 * day))
	again := x.out[len(x.out)-1]
	x.emit(again.Type, billing.EventData{Charge: &billing.EventCharge{Cycle: 1, Attempt: 1, ImpUID: "imp_sub-twice_1", Amount: 9900, Outcome: billing.OutcomePaid, At: t0}}, nil)
	applyAll(t, s, x.out)
	row, err := s.Subscription(ctx, "sub-twice")
	require.NoError(t, err)
	require.Equal(t, int64(9900), row.TotalPaid)
	m, err := s.Revenue(ctx, "2026-04", "2026-04")
	require.NoError(t, err)
	require.Equal(t, 1, m[0].Charges)
}
