package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// CancelRefund: without a credit it is the period's paid charge alone (calendar.UnusedRefund less
// what was refunded); with a restart's credit it refunds what the period is worth, from its own
// payment first, then from the credit's, never more of that than the credit.
func TestCancelRefund(t *testing.T) {
	kst := func(m time.Month, d, h int) time.Time { return time.Date(2025, m, d, h, 0, 0, 0, calendar.Seoul) }
	day := func(m time.Month, d int) calendar.Date { return calendar.Date{Year: 2025, Month: m, Day: d} }
	jan10 := billing.ChargeRecord{Cycle: 1, MerchantUID: "m1", ImpUID: "imp_1", Amount: 31000, Outcome: billing.OutcomePaid}
	jan15 := billing.ChargeRecord{Cycle: 2, MerchantUID: "m2", ImpUID: "imp_2", Amount: 5000, Outcome: billing.OutcomePaid}
	plain := billing.State{
		Plan:          billing.Plan{Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
		CurrentPeriod: &billing.Period{Cycle: 1, Start: kst(1, 10, 10), End: kst(2, 10, 10), FirstDay: day(1, 10), LastDay: day(2, 9)},
		Charges:       []billing.ChargeRecord{jan10},
	}
	credited := plain
	credited.CurrentPeriod = &billing.Period{Cycle: 2, Start: kst(1, 15, 12), End: kst(2, 15, 12), FirstDay: day(1, 15), LastDay: day(2, 14),
		Credit: 26000, CreditFrom: "m1"}
	credited.Charges = []billing.ChargeRecord{jan10, jan15}
	allCredit := credited
	allCredit.Charges = []billing.ChargeRecord{jan10}
	allCredit.CurrentPeriod = &billing.Period{Cycle: 2, Start: kst(1, 15, 12), End: kst(2, 15, 12), FirstDay: day(1, 15), LastDay: day(2, 14),
		Credit: 31000, CreditFrom: "m1"}
	withRefunds := func(s billing.State, f ...billing.RefundRecord) billing.State {
		s.Refunds = f
		return s
	}
	// PortOne V2 charges answered by the approval alone: recorded before their transactionIds
	// are known (versionAnswerOnlyCharge), each payment's refunds tallied under its merchant_uid.
	unknownTx := credited
	unknownTx.Charges = []billing.ChargeRecord{jan10, jan15}
	unknownTx.Charges[0].ImpUID, unknownTx.Charges[1].ImpUID = "", ""
	type got map[string]int64
	tests := []struct {
		name   string
		st     billing.State
		policy billing.RefundPolicy
		at     time.Time
		want   got
	}{
		{"none", plain, billing.RefundNone, kst(1, 20, 12), got{}},
		{"prorata, no credit", plain, billing.RefundProrata, kst(1, 20, 12), got{"m1": 20000}},
		{"full, no credit", plain, billing.RefundFull, kst(1, 20, 12), got{"m1": 31000}},
		{"prorata, part refunded before", withRefunds(plain, billing.RefundRecord{ImpUID: "imp_1", Amount: 1000}), billing.RefundProrata, kst(1, 20, 12), got{"m1": 19000}},
		{"prorata, credited", credited, billing.RefundProrata, kst(1, 20, 12), got{"m2": 5000, "m1": 20000}},
		{"full, credited", credited, billing.RefundFull, kst(1, 20, 12), got{"m2": 5000, "m1": 26000}},
		{"full, credited, transactionIds unknown, the credit's payment refunded in part", withRefunds(unknownTx, billing.RefundRecord{MerchantUID: "m1", Amount: 1000}),
			billing.RefundFull, kst(1, 20, 12), got{"m2": 5000, "m1": 26000}},
		{"full, credited, transactionIds unknown, the period's payment refunded in part", withRefunds(unknownTx, billing.RefundRecord{MerchantUID: "m2", Amount: 1000}),
			billing.RefundFull, kst(1, 20, 12), got{"m2": 4000, "m1": 26000}},
		{"prorata, credited, a share already made (a retried cancel)", withRefunds(credited, billing.RefundRecord{ImpUID: "imp_2", Amount: 5000}),
			billing.RefundProrata, kst(1, 20, 12), got{"m1": 20000}},
		{"prorata late in the period: from its own payment only", credited, billing.RefundProrata, kst(2, 12, 12), got{"m2": 2000}},
		{"full, nothing but credit", allCredit, billing.RefundFull, kst(1, 20, 12), got{"m1": 31000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := got{}
			for _, sh := range tc.st.CancelRefund(tc.policy, tc.at) {
				out[sh.Charge.MerchantUID] += sh.Amount
			}
			require.Equal(t, tc.want, out)
		})
	}
}
