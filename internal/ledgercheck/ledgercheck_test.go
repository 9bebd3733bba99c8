package ledgercheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/portone/portonetest"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func uid(cycle, attempt int) string {
	return billing.ChargeUID{SubscriptionID: "sub-1", Tag: "k3xq", Cycle: cycle, Attempt: attempt}.String()
}

func entry(version, payment, tx string, paid bool, cancel int64) portonetest.LedgerEntry {
	e := portonetest.LedgerEntry{Version: version, MerchantUID: payment, ImpUID: tx, Usage: "payment", Amount: 9900,
		CancelAmount: cancel, Status: "failed", CreatedAt: t0}
	if paid {
		e.PaidAt, e.Status = t0, "paid"
	}
	if cancel > 0 {
		e.Cancels = []portonetest.LedgerCancel{{Amount: cancel, At: t0}}
	}
	return e
}

// cycleRec is a record as V2 runs with one paymentId per cycle write it: the attempt's own
// merchant_uid, the cycle's shared paymentId beside it.
func cycleRec(cycle, attempt int, tx string, o billing.Outcome) billing.ChargeRecord {
	r := rec(cycle, attempt, uid(cycle, attempt), tx, o)
	r.PaymentID = cyclePID(cycle)
	return r
}

func cyclePID(cycle int) string {
	return billing.CyclePaymentID{SubscriptionID: "sub-1", Tag: "k3xq", Cycle: cycle}.String()
}

func rec(cycle, attempt int, payment, tx string, o billing.Outcome) billing.ChargeRecord {
	return billing.ChargeRecord{Cycle: cycle, Attempt: attempt, MerchantUID: payment, ImpUID: tx, Amount: 9900, Outcome: o}
}

// TestCheck: each invariant is found broken by the ledger or state that breaks it, on either
// generation and with either shape of V2 payment id (one per attempt, or one per cycle whose
// retries are transactions under it, in an id the parser may not know).
func TestCheck(t *testing.T) {
	v1, v2 := portonetest.VersionV1, portonetest.VersionV2
	perCycle := "sub-1-k3xq-c2" // a per-cycle paymentId the parser does not know: the recorded cycle counts
	tests := []struct {
		name    string
		gateway billing.GatewayName
		ledger  []portonetest.LedgerEntry
		charges []billing.ChargeRecord
		refunds []billing.RefundRecord
		ended   time.Time
		want    string // "" for no problem, else a piece of the first problem
	}{
		{name: "V1 clean: a decline, its retry paid, a full refund of a duplicate",
			ledger: []portonetest.LedgerEntry{entry(v1, uid(1, 1), "imp_1", true, 0), entry(v1, uid(2, 1), "imp_2", false, 0),
				entry(v1, uid(2, 2), "imp_3", true, 0), entry(v1, uid(2, 3), "imp_4", true, 9900)},
			charges: []billing.ChargeRecord{rec(1, 1, uid(1, 1), "imp_1", billing.OutcomePaid), rec(2, 1, uid(2, 1), "imp_2", billing.OutcomeDeclined),
				rec(2, 2, uid(2, 2), "imp_3", billing.OutcomePaid), rec(2, 3, uid(2, 3), "imp_4", billing.OutcomeDuplicate)}},
		{name: "V2 clean, one payment id per attempt", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, uid(1, 1), "tx-1", true, 0), entry(v2, uid(2, 1), "tx-2", true, 4000)},
			charges: []billing.ChargeRecord{rec(1, 1, uid(1, 1), "tx-1", billing.OutcomePaid), rec(2, 1, uid(2, 1), "tx-2", billing.OutcomePaid)},
			refunds: []billing.RefundRecord{{Cycle: 2, MerchantUID: uid(2, 1), ImpUID: "tx-2", Amount: 4000, Outcome: "done"}}},
		{name: "V2 clean, one payment id per cycle with its retries as transactions", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", false, 0), entry(v2, perCycle, "tx-2", false, 0), entry(v2, perCycle, "tx-3", true, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomeDeclined), rec(2, 2, perCycle, "tx-2", billing.OutcomeDeclined), rec(2, 3, perCycle, "tx-3", billing.OutcomePaid)}},
		{name: "V2 clean as recorded: attempts' merchant_uids beside the cycle's paymentId, a refund", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, cyclePID(1), "tx-1", false, 0), entry(v2, cyclePID(1), "tx-2", true, 9900)},
			charges: []billing.ChargeRecord{cycleRec(1, 1, "tx-1", billing.OutcomeDeclined), cycleRec(1, 2, "tx-2", billing.OutcomePaid)},
			refunds: []billing.RefundRecord{{Cycle: 1, MerchantUID: uid(1, 2), ImpUID: "tx-2", Amount: 9900, Outcome: "done"}}},
		{name: "V2 as recorded: a refund above the payment is seen through the paymentId", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, cyclePID(1), "tx-2", true, 9900)},
			charges: []billing.ChargeRecord{cycleRec(1, 2, "tx-2", billing.OutcomePaid)},
			refunds: []billing.RefundRecord{{Cycle: 1, MerchantUID: uid(1, 2), ImpUID: "tx-2", Amount: 9900, Outcome: "done"}, {Cycle: 1, MerchantUID: uid(1, 2), ImpUID: "tx-2", Amount: 1, Outcome: "done"}},
			want:    "the state refunded 9901"},
		{name: "V2 as recorded: an approved transaction the state does not know", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, cyclePID(3), "tx-1", false, 0), entry(v2, cyclePID(3), "tx-9", true, 0)},
			charges: []billing.ChargeRecord{cycleRec(3, 1, "tx-1", billing.OutcomeDeclined)},
			want:    "approved attempt " + cyclePID(3) + "/tx-9 missing"},
		{name: "V2 as recorded: a paid charge not approved at PortOne", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, cyclePID(2), "tx-1", false, 0)},
			charges: []billing.ChargeRecord{cycleRec(2, 1, "tx-1", billing.OutcomePaid)},
			want:    "is not approved in the ledger"},
		{name: "moved onto a V2 key: the V1 charges recorded as V1's, the next through V2", gateway: billing.GatewayPortOneV2,
			ledger: []portonetest.LedgerEntry{entry(v1, uid(1, 1), "imp_1", true, 0), entry(v2, cyclePID(2), "tx-2", true, 0)},
			charges: []billing.ChargeRecord{func() billing.ChargeRecord {
				r := rec(1, 1, uid(1, 1), "imp_1", billing.OutcomePaid)
				r.Gateway = billing.GatewayPortOneV1
				return r
			}(), cycleRec(2, 1, "tx-2", billing.OutcomePaid)}},
		{name: "moved onto a V2 key: a V1 charge not recorded as V1's", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v1, uid(1, 1), "imp_1", true, 0)},
			charges: []billing.ChargeRecord{rec(1, 1, uid(1, 1), "imp_1", billing.OutcomePaid)},
			want:    "went through V1"},
		{name: "two kept payments in one cycle (V1)",
			ledger:  []portonetest.LedgerEntry{entry(v1, uid(2, 1), "imp_1", true, 0), entry(v1, uid(2, 2), "imp_2", true, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, uid(2, 1), "imp_1", billing.OutcomePaid), rec(2, 2, uid(2, 2), "imp_2", billing.OutcomePaid)},
			want:    "cycle 2 has 2 kept payments"},
		{name: "two kept payments in one cycle (V2, per-cycle id, two payment ids)", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", true, 0), entry(v2, perCycle+"b", "tx-2", true, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomePaid), rec(2, 2, perCycle+"b", "tx-2", billing.OutcomePaid)},
			want:    "cycle 2 has 2 kept payments"},
		{name: "a V2 payment id approved twice", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", true, 9900), entry(v2, perCycle, "tx-2", true, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomeDuplicate), rec(2, 2, perCycle, "tx-2", billing.OutcomePaid)},
			want:    "approved 2 times"},
		{name: "a payment through the other generation", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v1, uid(1, 1), "imp_1", true, 0)},
			charges: []billing.ChargeRecord{rec(1, 1, uid(1, 1), "imp_1", billing.OutcomePaid)},
			want:    "went through V1"},
		{name: "a payment after the end",
			ledger:  []portonetest.LedgerEntry{entry(v1, uid(3, 1), "imp_1", true, 0)},
			charges: []billing.ChargeRecord{rec(3, 1, uid(3, 1), "imp_1", billing.OutcomePaid)},
			ended:   t0.Add(-time.Second), want: "after the subscription ended"},
		{name: "a refund above the payment in the state", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", true, 9900)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomePaid)},
			refunds: []billing.RefundRecord{{MerchantUID: perCycle, ImpUID: "tx-1", Amount: 9900, Outcome: "done"}, {MerchantUID: perCycle, ImpUID: "tx-1", Amount: 1, Outcome: "done"}},
			want:    "the state refunded 9901"},
		{name: "an approved transaction the state does not know", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", false, 0), entry(v2, perCycle, "tx-2", true, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomeUnknown)},
			want:    "approved attempt " + perCycle + "/tx-2 missing"},
		{name: "a declined attempt the state does not know",
			ledger: []portonetest.LedgerEntry{entry(v1, uid(4, 1), "imp_9", false, 0)},
			want:   "declined attempt"},
		{name: "the state's paid charge not approved at PortOne", gateway: billing.GatewayPortOneV2,
			ledger:  []portonetest.LedgerEntry{entry(v2, perCycle, "tx-1", false, 0)},
			charges: []billing.ChargeRecord{rec(2, 1, perCycle, "tx-1", billing.OutcomePaid)},
			want:    "is not approved in the ledger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Another subscription's payments and registration records never count.
			ledger := append([]portonetest.LedgerEntry{{Version: portonetest.VersionV1, MerchantUID: "sub-10-k3xq-2-1", ImpUID: "imp_x", Usage: "payment",
				Amount: 9900, PaidAt: t0, CreatedAt: t0.Add(time.Hour)}, {MerchantUID: "sub-1-reg-abc", Usage: "issue", CreatedAt: t0.Add(time.Hour)}}, tt.ledger...)
			got := ledgercheck.Check(ledger, ledgercheck.Subscription{ID: "sub-1", Gateway: tt.gateway, EndedAt: tt.ended, Charges: tt.charges, Refunds: tt.refunds})
			if tt.want == "" {
				require.Empty(t, got)
				return
			}
			require.NotEmpty(t, got, "want a problem with %q", tt.want)
			require.True(t, strings.Contains(strings.Join(got, "\n"), tt.want), "got %v, want %q", got, tt.want)
		})
	}
}

// TestKeptByCycle groups kept payments by the cycle in the id or the recorded one.
func TestKeptByCycle(t *testing.T) {
	ledger := []portonetest.LedgerEntry{entry(portonetest.VersionV1, uid(1, 1), "imp_1", true, 0),
		entry(portonetest.VersionV2, "sub-1-k3xq-c2", "tx-1", false, 0), entry(portonetest.VersionV2, "sub-1-k3xq-c2", "tx-2", true, 0),
		entry(portonetest.VersionV1, uid(3, 1), "imp_3", true, 9900)}
	got := ledgercheck.KeptByCycle(ledger, ledgercheck.Subscription{ID: "sub-1",
		Charges: []billing.ChargeRecord{rec(2, 2, "sub-1-k3xq-c2", "tx-2", billing.OutcomePaid)}})
	require.Len(t, got[1], 1)
	require.Len(t, got[2], 1)
	require.Equal(t, "tx-2", got[2][0].ImpUID)
	require.Empty(t, got[3], "refunded in full: not kept")
}
