package reconcile

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// ledger seeds the emulator and our states with one of each finding, over a clean day of
// `clean` subscriptions (each paid once on 2026-11-02, as recorded).
type ledger struct {
	b    *bank
	subs *fakeSubs
	// want lists the expected findings as "name subscription".
	want []string
	// dupRecorded and dupExtra are the duplicate's payments.
	dupRecorded, dupExtra string
}

func seedLedger(t *testing.T, clean int) *ledger {
	t.Helper()
	l := seedClean(t, clean)
	l.seedFindings(t)
	return l
}

// seedClean seeds `clean` subscriptions, each paid once on 2026-11-02 and recorded as such.
func seedClean(t *testing.T, clean int) *ledger {
	t.Helper()
	l := &ledger{b: newBank(t), subs: newFakeSubs()}
	b, subs := l.b, l.subs
	day2 := func(i int) time.Time { return kstAt(2, 0, 0).Add(time.Duration(i) * 20 * time.Second) }

	for i := range clean {
		id := fmt.Sprintf("clean-%05d", i)
		cust := "cust-" + id
		b.key(t, cust)
		imp := b.pay(t, portonetest.PaymentSeed{MerchantUID: muid(id, 2, 1), CustomerUID: cust, Amount: 9900, At: day2(i)})
		st := subState(id, cust, 2)
		st.Charges = []billing.ChargeRecord{paidRecord(id, 2, 1, imp, 9900, day2(i).Add(time.Second))}
		subs.add(st)
	}
	return l
}

func (l *ledger) seedFindings(t *testing.T) {
	t.Helper()
	b, subs := l.b, l.subs

	// 1. orphan: cycle 2 paid at PortOne (a console 재시도), our state knows cycle 1 only.
	b.key(t, "cust-orphan")
	imp := b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("orphan", 1, 1), CustomerUID: "cust-orphan", Amount: 9900, At: kstAt(1, 10, 0)})
	b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("orphan", 2, 1), CustomerUID: "cust-orphan", Amount: 9900, At: kstAt(2, 10, 0)})
	st := subState("orphan", "cust-orphan", 1)
	st.Charges = []billing.ChargeRecord{paidRecord("orphan", 1, 1, imp, 9900, kstAt(1, 10, 0))}
	subs.add(st)
	// A payment for a subscription that does not exist at all (a terminated, deleted workflow).
	b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("ghost", 4, 1), Amount: 4900, At: kstAt(2, 11, 0)})
	l.want = append(l.want, "orphan orphan", "orphan ")

	// 2. duplicate: cycle 3 paid by us (attempt 1, the day before the window: found through
	// the lookup) and again by a manual payment with attempt 2 in the window.
	b.key(t, "cust-dup")
	l.dupRecorded = b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("dup", 3, 1), CustomerUID: "cust-dup", Amount: 9900, At: kstAt(1, 0, 0).Add(-time.Hour)})
	l.dupExtra = b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("dup", 3, 2), CustomerUID: "cust-dup", Amount: 9900, At: kstAt(2, 12, 0)})
	st = subState("dup", "cust-dup", 3)
	st.Charges = []billing.ChargeRecord{paidRecord("dup", 3, 1, l.dupRecorded, 9900, kstAt(1, 0, 0).Add(-time.Hour))}
	subs.add(st)
	l.want = append(l.want, "duplicate dup", "orphan dup")

	// 3. drift: PortOne charged 9000, our record says 9900.
	b.key(t, "cust-drift")
	imp = b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("drift", 1, 1), CustomerUID: "cust-drift", Amount: 9000, At: kstAt(2, 13, 0)})
	st = subState("drift", "cust-drift", 1)
	st.Charges = []billing.ChargeRecord{paidRecord("drift", 1, 1, imp, 9900, kstAt(2, 13, 0))}
	subs.add(st)
	l.want = append(l.want, "state_drift drift")

	// 4. missing refund: we recorded a 3000 KRW refund yesterday of a charge paid last month;
	// PortOne shows none (it is in no list of the window: found by the lookup).
	b.key(t, "cust-refund")
	imp = b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("refund", 1, 1), CustomerUID: "cust-refund", Amount: 9900, At: kstAt(2, 0, 0).AddDate(0, -1, 0)})
	st = subState("refund", "cust-refund", 1)
	st.Charges = []billing.ChargeRecord{paidRecord("refund", 1, 1, imp, 9900, kstAt(2, 0, 0).AddDate(0, -1, 0))}
	st.Refunds = []billing.RefundRecord{{Cycle: 1, ImpUID: imp, MerchantUID: muid("refund", 1, 1), Amount: 3000, Reason: "부분 환불", Requester: billing.RequesterCustomer, At: kstAt(2, 14, 0), Outcome: "refunded"}}
	subs.add(st)
	l.want = append(l.want, "refund_mismatch refund")

	// 5. stray schedule: PortOne will still charge a canceled subscription in two days.
	b.key(t, "cust-stray")
	_, err := b.c.Schedule(t.Context(), portone.ScheduleRequest{CustomerUID: "cust-stray", Schedules: []portone.ScheduleEntry{{
		MerchantUID: muid("stray", 5, 1), ScheduleAt: asOf.Add(48 * time.Hour), Amount: 9900, Name: "Pro"}}})
	require.NoError(t, err)
	st = subState("stray", "cust-stray", 4)
	st.Status, st.NextChargeAt = billing.StatusCanceled, time.Time{}
	subs.add(st)
	l.want = append(l.want, "schedule_drift stray")

	// 6. silent stop: due three hours ago, last attempt a month ago.
	b.key(t, "cust-stop")
	imp = b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("stop", 1, 1), CustomerUID: "cust-stop", Amount: 9900, At: asOf.Add(-3*time.Hour).AddDate(0, -1, 0)})
	st = subState("stop", "cust-stop", 1)
	st.NextChargeAt = asOf.Add(-3 * time.Hour)
	st.Charges = []billing.ChargeRecord{paidRecord("stop", 1, 1, imp, 9900, asOf.Add(-3*time.Hour).AddDate(0, -1, 0))}
	subs.add(st)
	l.want = append(l.want, "silent_stop stop")

	// 7. billing key gone: registered, then deleted in the console.
	b.key(t, "cust-gone")
	require.NoError(t, b.emu.DeleteCustomer("", "cust-gone"))
	subs.add(subState("gone", "cust-gone", 1))
	l.want = append(l.want, "billing_key_gone gone")

	// Noise that must not be a finding: a foreign payment, a declined attempt we recorded,
	// a refund we recorded and PortOne shows, and a registration record.
	b.pay(t, portonetest.PaymentSeed{MerchantUID: "shop-order-778", Amount: 12000, At: kstAt(2, 15, 0)})
	b.key(t, "cust-ok")
	failed := b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("ok", 1, 1), CustomerUID: "cust-ok", Amount: 9900, Status: "failed", At: kstAt(2, 9, 0)})
	paid := b.pay(t, portonetest.PaymentSeed{MerchantUID: muid("ok", 1, 2), CustomerUID: "cust-ok", Amount: 9900, CancelAmount: 2000, At: kstAt(2, 10, 0), CancelledAt: kstAt(2, 16, 0)})
	st = subState("ok", "cust-ok", 1)
	st.Charges = []billing.ChargeRecord{
		{Cycle: 1, Attempt: 1, MerchantUID: muid("ok", 1, 1), ImpUID: failed, Amount: 9900, Outcome: billing.OutcomeDeclined, At: kstAt(2, 9, 0)},
		paidRecord("ok", 1, 2, paid, 9900, kstAt(2, 10, 0)),
	}
	st.Refunds = []billing.RefundRecord{{Cycle: 1, ImpUID: paid, MerchantUID: muid("ok", 1, 2), Amount: 2000, At: kstAt(2, 16, 0), Outcome: "refunded"}}
	subs.add(st)
	sort.Strings(l.want)
}

func runGather(t *testing.T, a *Activities, in GatherInput, details ...any) (Report, []progress, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(a.Gather, activity.RegisterOptions{Name: ActivityGather})
	if len(details) > 0 {
		env.SetHeartbeatDetails(details[0])
	}
	var beats []progress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p progress
		if d.Get(&p) == nil {
			beats = append(beats, p)
		}
	})
	v, err := env.ExecuteActivity(ActivityGather, in)
	if err != nil {
		return Report{}, beats, err
	}
	var r Report
	require.NoError(t, v.Get(&r))
	return r, beats, nil
}

func gatherInput() GatherInput {
	from, to, _ := Window(Input{}, asOf)
	return GatherInput{From: from, To: to, AsOf: asOf, Rate: 10000, StopTolerance: DefaultStopTolerance}
}

func names(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Name+" "+f.SubscriptionID)
	}
	sort.Strings(out)
	return out
}

func find(r Report, name, sub string) Finding {
	for _, f := range r.Findings {
		if f.Name == name && f.SubscriptionID == sub {
			return f
		}
	}
	return Finding{}
}

// TestGatherFindsEachFindingOverACleanDay: 2,500 clean subscriptions (three pages of paid
// payments) and one of each finding; exactly the seeded findings come out, with their evidence.
func TestGatherFindsEachFindingOverACleanDay(t *testing.T) {
	l := seedLedger(t, 2500)
	r, _, err := runGather(t, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs}, gatherInput())
	require.NoError(t, err)
	require.Equal(t, l.want, names(r))
	require.Equal(t, 2500+8, r.Subscriptions)
	require.Empty(t, r.Unreadable)

	tests := []struct {
		name, sub string
		check     func(t *testing.T, f Finding)
	}{
		{FindingOrphan, "orphan", func(t *testing.T, f Finding) {
			require.Equal(t, muid("orphan", 2, 1), f.MerchantUID)
			require.Equal(t, 2, f.Cycle)
			require.Equal(t, "2026-11-02 10:00:00 KST", f.PortOne[0].PaidAt)
			require.Contains(t, f.Ours, "no charge record")
			require.Equal(t, "reconcile:orphan:"+f.MerchantUID+":"+f.ImpUID, f.RequestID)
		}},
		{FindingOrphan, "", func(t *testing.T, f Finding) {
			require.Equal(t, muid("ghost", 4, 1), f.MerchantUID)
			require.Contains(t, f.Ours, "no subscription ghost")
		}},
		{FindingDuplicate, "dup", func(t *testing.T, f Finding) {
			require.Equal(t, 3, f.Cycle)
			require.Len(t, f.PortOne, 2)
			require.Equal(t, l.dupRecorded, f.PortOne[0].ImpUID)
			require.True(t, f.PortOne[0].Recorded)
			require.Equal(t, l.dupExtra, f.PortOne[1].ImpUID)
			require.False(t, f.PortOne[1].Recorded)
			require.Equal(t, "reconcile:duplicate:dup-abcd:3", f.RequestID)
		}},
		{FindingDrift, "drift", func(t *testing.T, f Finding) {
			require.Contains(t, f.Detail, "amount: ours 9900, PortOne 9000")
			require.EqualValues(t, 9000, f.PortOne[0].Amount)
		}},
		{FindingRefund, "refund", func(t *testing.T, f Finding) {
			require.Contains(t, f.Detail, "cancel_history sums to 0, ours 3000")
		}},
		{FindingSchedule, "stray", func(t *testing.T, f Finding) {
			require.Contains(t, f.Detail, "stray schedule for a canceled subscription")
			require.Contains(t, f.Detail, `schedule_at="2026-11-05 04:00:00 KST"`)
		}},
		{FindingSilentStop, "stop", func(t *testing.T, f Finding) {
			require.Contains(t, f.Detail, "due 3h0m0s ago")
		}},
		{FindingKeyGone, "gone", func(t *testing.T, f Finding) {
			require.Contains(t, f.Ours, "****gone")
			require.NotContains(t, f.Detail, "cust-gone")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.sub, func(t *testing.T) {
			f := find(r, tc.name, tc.sub)
			require.Equal(t, tc.name, f.Name, "finding present")
			require.NotEmpty(t, f.Detail)
			require.LessOrEqual(t, len(f.Detail), 1000)
			require.NotContains(t, f.Detail, "홍길동")
			tc.check(t, f)
		})
	}

	t.Run("day totals", func(t *testing.T) {
		require.Len(t, r.Days, 2)
		d := r.Days[1]
		require.Equal(t, "2026-11-02", d.Day)
		// clean 2500 + orphan + ghost + dup extra + drift + foreign + ok = 2506 paid.
		require.Equal(t, 2506, d.Paid)
		require.EqualValues(t, 2500*9900+9900+4900+9900+9000+12000+9900, d.Gross)
		require.Equal(t, 1, d.Failed)
		require.Equal(t, 1, d.Cancels)
		require.EqualValues(t, 2000, d.Refunds)
		require.Equal(t, d.Gross-2000, d.Net)
		require.Equal(t, 1, d.Foreign)
		require.Equal(t, "2026-11-01", r.Days[0].Day)
		require.Equal(t, 1, r.Days[0].Paid) // the orphan subscription's recorded cycle 1
	})
}

// TestGatherCleanDayHasNoFindings: thousands of clean payments, no finding at all.
func TestGatherCleanDayHasNoFindings(t *testing.T) {
	clean := seedClean(t, 3000)
	start := time.Now()
	r, _, err := runGather(t, &Activities{Gateway: portonev1.New(clean.b.c), Subscriptions: clean.subs}, gatherInput())
	require.NoError(t, err)
	t.Logf("gathered and checked %d subscriptions and %d payments in %s with %d PortOne requests", r.Subscriptions, r.Payments, time.Since(start).Round(time.Millisecond), r.Requests)
	require.Empty(t, r.Findings)
	require.Equal(t, 3000, r.Subscriptions)
	require.Equal(t, 3000, r.Payments)
	for _, n := range FindingNames {
		require.Zero(t, r.Counts[n], n)
	}
}
