package reconcile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// TestCheckCases covers the checks' branches that the emulator cannot produce (PortOne-side
// inconsistencies) or that need a precise state, one snapshot each.
func TestCheckCases(t *testing.T) {
	from, to, err := Window(Input{}, asOf)
	require.NoError(t, err)
	paidAt := kstAt(2, 10, 0)
	base := func() snapshot {
		st := subState("s1", "cust-s1", 2)
		st.Charges = []billing.ChargeRecord{paidRecord("s1", 2, 1, "imp_000000000001", 9900, paidAt)}
		return snapshot{From: from, To: to, AsOf: asOf, StopTolerance: time.Hour,
			SchedFrom: asOf.Add(-schedBack), SchedTo: asOf.Add(schedForward),
			Subs:      []sub{subOf(billing.WorkflowID("s1"), "r1", st)},
			Payments:  []pay{{ImpUID: "imp_000000000001", MerchantUID: muid("s1", 2, 1), Status: "paid", Amount: 9900, PaidAt: paidAt.Unix(), Usage: "payment"}},
			KeysAsked: []string{"cust-s1"}, KeysFound: map[string]bool{"cust-s1": true}}
	}
	tests := []struct {
		name   string
		mutate func(s *snapshot)
		want   []string // "name detail-substring"
	}{
		{"clean", func(*snapshot) {}, nil},
		{"ours paid, PortOne failed", func(s *snapshot) {
			s.Payments[0].Status, s.Payments[0].PaidAt, s.Payments[0].FailedAt = "failed", 0, paidAt.Unix()
		}, []string{"state_drift status: ours paid, PortOne failed"}},
		{"ours declined, PortOne paid", func(s *snapshot) {
			s.Subs[0].Charges[0].Outcome = billing.OutcomeDeclined
		}, []string{"state_drift status: ours declined, PortOne paid"}},
		{"paid date differs in KST", func(s *snapshot) {
			s.Subs[0].Charges[0].At = kstAt(1, 23, 59)
		}, []string{"state_drift paid date: ours 2026-11-01, PortOne 2026-11-02"}},
		{"recorded a moment after a midnight charge", func(s *snapshot) {
			s.Payments[0].PaidAt = kstAt(2, 0, 0).Add(-time.Second).Unix()
			s.Subs[0].Charges[0].At = kstAt(2, 0, 0).Add(time.Second)
		}, nil},
		{"console refund we do not know", func(s *snapshot) {
			s.Payments[0].CancelAmount = 1000
			s.Payments[0].Cancels = []cancelEntry{{Amount: 1000, At: kstAt(2, 11, 0).Unix()}}
		}, []string{"state_drift cancel_amount: ours 0, PortOne 1000"}},
		{"partial cancels do not add up", func(s *snapshot) {
			s.Payments[0].CancelAmount = 3000
			s.Payments[0].Cancels = []cancelEntry{{Amount: 1000, At: kstAt(2, 11, 0).Unix()}}
			s.Subs[0].Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_000000000001", Amount: 3000, At: kstAt(2, 11, 0), Outcome: "refunded"}}
		}, []string{"refund_mismatch cancel_history sums to 1000, ours 3000", "refund_mismatch partial cancels do not add up"}},
		{"V2 charge answered by the approval alone, its webhook lost: matched by paymentId, its refund too", func(s *snapshot) {
			pid := billing.CyclePaymentID{SubscriptionID: "s1", Tag: "abcd", Cycle: 2, Gen: 1}.String()
			s.Subs[0].Charges[0].ImpUID, s.Subs[0].Charges[0].PaymentID = "", pid
			s.Subs[0].Refunds = []billing.RefundRecord{{Cycle: 2, MerchantUID: muid("s1", 2, 1), Amount: 1000, At: kstAt(2, 11, 0), Outcome: "refunded"}}
			s.Payments[0].MerchantUID, s.Payments[0].CancelAmount = pid, 1000
			s.Payments[0].Cancels = []cancelEntry{{Amount: 1000, At: kstAt(2, 11, 0).Unix()}}
		}, nil},
		{"V2 charge answered by the approval alone, its refund missing at PortOne", func(s *snapshot) {
			pid := billing.CyclePaymentID{SubscriptionID: "s1", Tag: "abcd", Cycle: 2, Gen: 1}.String()
			s.Subs[0].Charges[0].ImpUID, s.Subs[0].Charges[0].PaymentID = "", pid
			s.Subs[0].Refunds = []billing.RefundRecord{{Cycle: 2, MerchantUID: muid("s1", 2, 1), Amount: 1000, At: kstAt(2, 11, 0), Outcome: "refunded"}}
			s.Payments[0].MerchantUID = pid
		}, []string{"refund_mismatch cancel_history sums to 0, ours 1000"}},
		{"amount_mismatch left paid", func(s *snapshot) {
			s.Subs[0].Charges[0].Outcome = billing.OutcomeAmountMismatch
		}, []string{"state_drift ours amount_mismatch"}},
		{"schedule at another time", func(s *snapshot) {
			s.Subs[0].Scheduled = &billing.ScheduledCharge{Cycle: 3, Attempt: 1, MerchantUID: muid("s1", 3, 1), ScheduleAt: asOf.Add(24 * time.Hour), Amount: 9900}
			s.Schedules = []sched{{MerchantUID: muid("s1", 3, 1), ScheduleAt: asOf.Add(25 * time.Hour).Unix(), Amount: 9900}}
		}, []string{"schedule_drift schedule at another time or amount"}},
		{"schedule missing at PortOne", func(s *snapshot) {
			s.Subs[0].Scheduled = &billing.ScheduledCharge{Cycle: 3, Attempt: 1, MerchantUID: muid("s1", 3, 1), ScheduleAt: asOf.Add(24 * time.Hour), Amount: 9900}
		}, []string{"schedule_drift schedule missing at PortOne"}},
		{"schedule of a paused subscription", func(s *snapshot) {
			s.Subs[0].Status = billing.StatusPaused
			s.Schedules = []sched{{MerchantUID: muid("s1", 3, 1), ScheduleAt: asOf.Add(24 * time.Hour).Unix(), Amount: 9900}}
		}, []string{"schedule_drift stray schedule for a paused subscription"}},
		{"past schedule being settled is not missing", func(s *snapshot) {
			s.Subs[0].Scheduled = &billing.ScheduledCharge{Cycle: 3, Attempt: 1, MerchantUID: muid("s1", 3, 1), ScheduleAt: asOf.Add(-time.Minute), Amount: 9900}
		}, nil},
		{"retry overdue while past due", func(s *snapshot) {
			s.Subs[0].Status = billing.StatusPastDue
			s.Subs[0].NextRetryAt = asOf.Add(-2 * time.Hour)
		}, []string{"silent_stop due 2h0m0s ago"}},
		{"within the tolerance is not a stop", func(s *snapshot) {
			s.Subs[0].NextChargeAt = asOf.Add(-59 * time.Minute)
		}, nil},
		{"paused subscriptions keep no key and charge nothing", func(s *snapshot) {
			s.Subs[0].Status = billing.StatusPaused
			s.Subs[0].NextChargeAt = asOf.Add(-48 * time.Hour)
			s.KeysFound = map[string]bool{}
		}, nil},
		{"unreadable subscription is not judged", func(s *snapshot) {
			s.Subs = nil
			s.Unreadable = []string{billing.WorkflowID("s1")}
		}, nil},
		{"older than the records kept is not an orphan", func(s *snapshot) {
			s.Subs[0].Charges[0].Cycle = 3
			s.Subs[0].Charges[0].MerchantUID = muid("s1", 3, 1)
			s.Subs[0].ChargesOmitted = 240
		}, nil},
		{"리커버리 paid a failed schedule that our retry had paid", func(s *snapshot) {
			recoveryBase(s, paidAt)
			s.Payments = append(s.Payments, pay{ImpUID: "imp_00000000000b", MerchantUID: muid("s1", 2, 1), Status: "paid", Amount: 9900,
				PaidAt: paidAt.Add(20 * time.Hour).Unix(), Usage: "payment.scheduled"})
		}, []string{"duplicate 2 kept payments for cycle 2", "portone_recovery PortOne charged it by itself after the scheduled attempt failed: 리커버리"}},
		{"리커버리 tried a failed schedule again and failed", func(s *snapshot) {
			recoveryBase(s, paidAt)
			s.Payments = append(s.Payments, pay{ImpUID: "imp_00000000000b", MerchantUID: muid("s1", 2, 1), Status: "failed", Amount: 9900,
				FailedAt: paidAt.Add(20 * time.Hour).Unix(), Usage: "payment.scheduled"})
		}, []string{"portone_recovery PortOne tried it again (failed) by itself"}},
		{"the workflow refunded 리커버리's payment and recorded it", func(s *snapshot) {
			recoveryBase(s, paidAt)
			at := paidAt.Add(20 * time.Hour)
			s.Payments = append(s.Payments, pay{ImpUID: "imp_00000000000b", MerchantUID: muid("s1", 2, 1), Status: "cancelled", Amount: 9900,
				PaidAt: at.Unix(), CancelAmount: 9900, Cancels: []cancelEntry{{Amount: 9900, At: at.Add(time.Hour).Unix()}}, Usage: "payment.scheduled"})
			s.Subs[0].Charges = append(s.Subs[0].Charges, billing.ChargeRecord{Cycle: 2, Attempt: 1, MerchantUID: muid("s1", 2, 1), ImpUID: "imp_00000000000b",
				Amount: 9900, Outcome: billing.OutcomeDuplicate, Via: billing.ViaSchedule, At: at})
			s.Subs[0].Refunds = []billing.RefundRecord{{Cycle: 2, ImpUID: "imp_00000000000b", MerchantUID: muid("s1", 2, 1), Amount: 9900, At: at.Add(time.Hour), Outcome: "refunded"}}
		}, nil},
		{"V2 cycle paymentId: declined then paid attempts under one payment", func(s *snapshot) {
			v2CycleBase(s, paidAt)
		}, nil},
		{"V2 cycle paymentId: PortOne paid a transaction no attempt recorded", func(s *snapshot) {
			v2CycleBase(s, paidAt)
			s.Subs[0].Charges = s.Subs[0].Charges[:1]
		}, []string{"orphan orphan payment at PortOne: merchant_uid=s1-abcd-c2 imp_uid=imp_000000000001"}},
		{"V2 cycle paymentId: our record of the paid transaction says declined", func(s *snapshot) {
			v2CycleBase(s, paidAt)
			s.Subs[0].Charges[1].Outcome = billing.OutcomeDeclined
		}, []string{"state_drift status: ours declined, PortOne paid"}},
		{"V2 cycle paymentId: the schedule the state expects", func(s *snapshot) {
			pid := billing.CyclePaymentID{SubscriptionID: "s1", Tag: "abcd", Cycle: 3}.String()
			s.Subs[0].Scheduled = &billing.ScheduledCharge{Cycle: 3, Attempt: 1, MerchantUID: muid("s1", 3, 1), PaymentID: pid, ScheduleAt: asOf.Add(24 * time.Hour), Amount: 9900}
			s.Schedules = []sched{{MerchantUID: pid, ScheduleAt: asOf.Add(24 * time.Hour).Unix(), Amount: 9900}}
		}, nil},
		{"foreign and registration payments are no business of ours", func(s *snapshot) {
			s.Payments = append(s.Payments,
				pay{ImpUID: "imp_000000000002", MerchantUID: "order-1", Status: "paid", Amount: 100, PaidAt: paidAt.Unix()},
				pay{ImpUID: "imp_000000000003", MerchantUID: "s1-reg-x1", Status: "paid", Usage: "issue", PaidAt: paidAt.Unix()})
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mutate(&s)
			r := check(s)
			require.Len(t, r.Findings, len(tc.want), "%+v", r.Findings)
			for i, w := range tc.want {
				name, sub, _ := cut(w)
				require.Equal(t, name, r.Findings[i].Name)
				require.Contains(t, r.Findings[i].Detail, sub)
			}
		})
	}
}

// recoveryBase makes cycle 2's scheduled attempt 1 a recorded decline and attempt 2 (our
// dunning retry through again) the recorded paid charge.
func recoveryBase(s *snapshot, paidAt time.Time) {
	failedAt := paidAt.Add(-6 * time.Hour)
	s.Subs[0].Charges = []billing.ChargeRecord{
		{Cycle: 2, Attempt: 1, MerchantUID: muid("s1", 2, 1), ImpUID: "imp_00000000000a", Amount: 9900, Outcome: billing.OutcomeDeclined,
			Reason: "잔액부족", Via: billing.ViaSchedule, At: failedAt},
		paidRecord("s1", 2, 2, "imp_000000000001", 9900, paidAt),
	}
	s.Payments = []pay{
		{ImpUID: "imp_00000000000a", MerchantUID: muid("s1", 2, 1), Status: "failed", Amount: 9900, FailedAt: failedAt.Unix(), Usage: "payment.scheduled"},
		{ImpUID: "imp_000000000001", MerchantUID: muid("s1", 2, 2), Status: "paid", Amount: 9900, PaidAt: paidAt.Unix(), Usage: "payment"},
	}
}

// v2CycleBase makes cycle 2 a V2 cycle whose attempts share the paymentId s1-abcd-c2: attempt 1
// declined (its transaction no longer shows: GET /payments lists a payment once, under its
// current transaction) and attempt 2 paid, both recorded with the paymentId and their
// transactionIds.
func v2CycleBase(s *snapshot, paidAt time.Time) {
	pid := billing.CyclePaymentID{SubscriptionID: "s1", Tag: "abcd", Cycle: 2}.String()
	paid := paidRecord("s1", 2, 2, "imp_000000000001", 9900, paidAt)
	paid.PaymentID = pid
	s.Subs[0].Charges = []billing.ChargeRecord{
		{Cycle: 2, Attempt: 1, MerchantUID: muid("s1", 2, 1), PaymentID: pid, ImpUID: "imp_00000000000a", Amount: 9900,
			Outcome: billing.OutcomeDeclined, Reason: "잔액부족", Via: billing.ViaAgain, At: paidAt.Add(-24 * time.Hour)},
		paid,
	}
	s.Payments = []pay{{ImpUID: "imp_000000000001", MerchantUID: pid, Status: "paid", Amount: 9900, PaidAt: paidAt.Unix(), Usage: "payment"}}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name     string
		in       Input
		base     time.Time
		from, to time.Time
		err      string
	}{
		{"nightly at 04:00 KST", Input{}, asOf, kstAt(1, 0, 0), kstAt(3, 0, 0), ""},
		{"at 00:30 KST the previous day is the KST one", Input{}, kstAt(3, 0, 30), kstAt(1, 0, 0), kstAt(3, 0, 0), ""},
		{"ending at the fire time", Input{EndAtFireTime: true}, asOf.Add(500 * time.Millisecond), asOf.Add(-48*time.Hour + time.Second), asOf.Add(time.Second), ""},
		{"no overlap", Input{Overlap: -1}, asOf, kstAt(2, 0, 0), kstAt(3, 0, 0), ""},
		{"three days overlap", Input{Overlap: 72 * time.Hour}, asOf, kstAt(2, 0, 0).Add(-72 * time.Hour), kstAt(3, 0, 0), ""},
		{"by hand", Input{From: kstAt(1, 0, 0), To: kstAt(1, 12, 0)}, asOf, kstAt(1, 0, 0), kstAt(1, 12, 0), ""},
		{"only from", Input{From: kstAt(1, 0, 0)}, asOf, time.Time{}, time.Time{}, "give both"},
		{"backwards", Input{From: kstAt(2, 0, 0), To: kstAt(1, 0, 0)}, asOf, time.Time{}, time.Time{}, "to: must be after from"},
		{"over 90 days", Input{From: kstAt(1, 0, 0).AddDate(0, -4, 0), To: kstAt(1, 0, 0)}, asOf, time.Time{}, time.Time{}, "at most 90 days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, to, err := Window(tc.in, tc.base)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.from.Equal(from), "from %s", from)
			require.True(t, tc.to.Equal(to), "to %s", to)
		})
	}
}

func TestParseAt(t *testing.T) {
	tests := []struct {
		in     string
		h, m   int
		on     bool
		hasErr bool
	}{
		{"04:00", 4, 0, true, false}, {"23:59", 23, 59, true, false}, {"off", 0, 0, false, false}, {"OFF", 0, 0, false, false},
		{"4", 0, 0, false, true}, {"24:00", 0, 0, false, true}, {"04:5", 0, 0, false, true}, {"", 0, 0, false, true},
	}
	for _, tc := range tests {
		h, m, on, err := ParseAt(tc.in)
		if tc.hasErr {
			require.ErrorContains(t, err, "BILLING_RECONCILE_AT", tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, []any{tc.h, tc.m, tc.on}, []any{h, m, on}, tc.in)
	}
}

// TestKeyCheckAsksForTheKeyChargesUse: the billing-key check asks PortOne for the key a
// subscription's charges use. On a V2 subscription registered through the V2 page, or moved
// onto a V2 key by replace_billing_key, that is state.billing_key; its customer_uid is the
// issueId, which PortOne holds no key by: asking for it reported every such subscription's key
// gone.
func TestKeyCheckAsksForTheKeyChargesUse(t *testing.T) {
	from, to, err := Window(Input{}, asOf)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		gateway billing.GatewayName
		key     string // state.billing_key
		want    string // the key asked for
	}{
		{name: "V1", want: "cust-s1"},
		{name: "V2, key named as the customer_uid", gateway: billing.GatewayPortOneV2, want: "cust-s1"},
		{name: "V2, registered or moved", gateway: billing.GatewayPortOneV2, key: "billing-key-1", want: "billing-key-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := subState("s1", "cust-s1", 2)
			st.Gateway, st.BillingKey = tc.gateway, tc.key
			// PortOne holds the key the charges use, and gather asks for the snapshot's key.
			s := snapshot{From: from, To: to, AsOf: asOf, StopTolerance: time.Hour, SchedFrom: asOf.Add(-schedBack), SchedTo: asOf.Add(schedForward),
				Subs: []sub{subOf(billing.WorkflowID("s1"), "r1", st)}, KeysFound: map[string]bool{tc.want: true}}
			s.KeysAsked = []string{s.Subs[0].CustomerUID}
			r := check(s)
			require.Zero(t, r.Counts["billing_key_gone"], "%+v", r.Findings)
			require.Equal(t, tc.want, s.Subs[0].CustomerUID)
		})
	}
}

// TestLookupsNeededAskByPaymentIDForAnUnknownTransaction: a refund recorded in the window of a
// V2 charge whose transactionId the state has not learned (answered by the approval alone, its
// webhook lost), of a payment no window list shows, is looked up by the charge's paymentId;
// one whose transactionId is known, by it.
func TestLookupsNeededAskByPaymentIDForAnUnknownTransaction(t *testing.T) {
	from, to, err := Window(Input{}, asOf)
	require.NoError(t, err)
	pid := billing.CyclePaymentID{SubscriptionID: "s1", Tag: "abcd", Cycle: 1, Gen: 1}.String()
	st := subState("s1", "cust-s1", 2)
	unknown := paidRecord("s1", 1, 1, "", 9900, kstAt(1, 10, 0).AddDate(0, -1, 0))
	unknown.PaymentID = pid
	known := paidRecord("s1", 2, 1, "imp_known", 9900, kstAt(1, 10, 0))
	st.Charges = []billing.ChargeRecord{unknown, known}
	st.Refunds = []billing.RefundRecord{
		{Cycle: 1, MerchantUID: unknown.MerchantUID, Amount: 1000, At: kstAt(2, 11, 0), Outcome: "refunded"},
		{Cycle: 2, ImpUID: "imp_known", MerchantUID: known.MerchantUID, Amount: 500, At: kstAt(2, 11, 0), Outcome: "refunded"},
	}
	s := snapshot{From: from, To: to, AsOf: asOf, Subs: []sub{subOf(billing.WorkflowID("s1"), "r1", st)}}
	require.Equal(t, []string{lookupByPaymentID + pid, "imp_known"}, lookupsNeeded(s))
}
