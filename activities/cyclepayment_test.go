package activities_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// cycleBank is the V2 emulator with one NaverPay key and activities speaking V2 only.
type cycleBank struct {
	emu  *portonetest.Emulator
	acts *activities.Activities
	key  string
	// pays counts the charge requests (POST /payments/{paymentId}/billing-key) PortOne got.
	pays *atomic.Int64
	env  *testsuite.TestActivityEnvironment
}

// charge runs the Charge activity (its first try) with in.
func (b *cycleBank) charge(t *testing.T, in activities.ChargeInput) (activities.ChargeResult, error) {
	t.Helper()
	return run[activities.ChargeResult](t, b.env, b.acts.Charge, in)
}

func newCycleBank(t *testing.T, maxAttempts int) *cycleBank {
	t.Helper()
	clk := portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))
	emu := portonetest.New(portonetest.Options{Clock: clk, V2: portonetest.V2Options{MaxAttempts: maxAttempts}})
	pays := new(atomic.Int64)
	v2 := emu.V2Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/billing-key") {
			pays.Add(1)
		}
		v2.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	k, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-1", IssueName: "월 구독", NaverAccount: "naver-1"})
	require.NoError(t, err)
	gw, err := portonev2.New(portonev2.Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, Timeout: 5 * time.Second})
	require.NoError(t, err)
	acts := &activities.Activities{GatewayV2: gw, Now: clk.Now}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &cycleBank{emu: emu, acts: acts, key: k.BillingKey, pays: pays, env: env}
}

var cyclePID = billing.CyclePaymentID{SubscriptionID: "sub-1", Tag: "abcd", Cycle: 1}

// attempt is the input of attempt n of cycle 1 under paymentID, knowing the transactions txs.
func (b *cycleBank) attempt(n int, paymentID string, txs []string) activities.ChargeInput {
	in := activities.ChargeInput{SubscriptionID: "sub-1", Cycle: 1, Attempt: n, CustomerUID: b.key,
		MerchantUID: billing.ChargeUID{SubscriptionID: "sub-1", Tag: "abcd", Cycle: 1, Attempt: n}.String(),
		Amount:      9900, Name: "월 구독", Gateway: billing.GatewayPortOneV2, PaymentID: paymentID, PriorTxIDs: txs}
	for i := 1; i < n; i++ {
		in.PriorMerchantUIDs = append(in.PriorMerchantUIDs, billing.ChargeUID{SubscriptionID: "sub-1", Tag: "abcd", Cycle: 1, Attempt: i}.String())
	}
	return in
}

// ledgerOf is the emulator's V2 charges, by paymentId.
func (b *cycleBank) ledgerOf() map[string][]portonetest.LedgerEntry {
	out := map[string][]portonetest.LedgerEntry{}
	for _, le := range b.emu.Ledger() {
		if le.Version == portonetest.VersionV2 && le.Usage == "payment" {
			out[le.MerchantUID] = append(out[le.MerchantUID], le)
		}
	}
	return out
}

// TestCyclePaymentDeclinedTwiceThenPaid: three attempts of a cycle are three transactions of
// one V2 payment, each reported with its own transactionId under the cycle's paymentId, and an
// earlier attempt's recorded decline is never taken for the next attempt's.
func TestCyclePaymentDeclinedTwiceThenPaid(t *testing.T) {
	b := newCycleBank(t, 0)
	pid := cyclePID.String()
	b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 2})
	var txs []string
	for n, want := range []billing.Outcome{billing.OutcomeDeclined, billing.OutcomeDeclined, billing.OutcomePaid} {
		res, err := b.charge(t, b.attempt(n+1, pid, txs))
		require.NoError(t, err, "attempt %d", n+1)
		require.Equal(t, want, res.Outcome, "attempt %d: %+v", n+1, res)
		require.False(t, res.Adopted, "attempt %d made its own transaction", n+1)
		require.Equal(t, pid, res.PaymentID)
		require.Equal(t, b.attempt(n+1, pid, nil).MerchantUID, res.MerchantUID, "the attempt keeps its merchant_uid")
		require.NotEmpty(t, res.ImpUID)
		require.NotContains(t, txs, res.ImpUID)
		txs = append(txs, res.ImpUID)
	}
	led := b.ledgerOf()
	require.Len(t, led, 1, "one V2 payment for the cycle")
	require.Len(t, led[pid], 3, "with three transactions")
	for i, le := range led[pid] {
		require.Equal(t, txs[i], le.ImpUID)
	}
}

// TestCyclePaymentAlreadyPaidIsAdopted: a try that charges a paymentId already paid (a racing
// try whose look-first ran before the other's charge, or none ran) gets 409 ALREADY_PAID and
// adopts the paid transaction; PortOne holds one paid transaction.
func TestCyclePaymentAlreadyPaidIsAdopted(t *testing.T) {
	b := newCycleBank(t, 0)
	pid := cyclePID.String()
	first, err := b.charge(t, b.attempt(1, pid, nil))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, first.Outcome)
	// The first try of attempt 1 skips the look-first: it goes straight to PortOne.
	again, err := b.charge(t, b.attempt(1, pid, nil))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, again.Outcome)
	require.True(t, again.Adopted)
	require.Equal(t, first.ImpUID, again.ImpUID)
	require.Equal(t, pid, again.PaymentID)
	led := b.ledgerOf()[pid]
	require.Len(t, led, 1, "ALREADY_PAID made no transaction")
	require.Equal(t, int64(2), b.pays.Load(), "the second try was refused by PortOne, not by a look-first")
}

// TestCyclePaymentMovesOnWhenClosed: PortOne's attempt cap (MAX_TRANSACTION_COUNT_REACHED),
// and a refunded success (ALREADY_PAID on a cancelled payment), close a paymentId; the attempt
// moves to the cycle's next paymentId and says so.
func TestCyclePaymentMovesOnWhenClosed(t *testing.T) {
	pid := cyclePID.String()
	next, _ := cyclePID.Next()
	t.Run("attempt cap", func(t *testing.T) {
		b := newCycleBank(t, 2)
		b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 2})
		var txs []string
		for n := 1; n <= 2; n++ {
			res, err := b.charge(t, b.attempt(n, pid, txs))
			require.NoError(t, err)
			require.Equal(t, billing.OutcomeDeclined, res.Outcome)
			txs = append(txs, res.ImpUID)
		}
		res, err := b.charge(t, b.attempt(3, pid, txs))
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, res.Outcome, "%+v", res)
		require.Equal(t, next.String(), res.PaymentID)
		led := b.ledgerOf()
		require.Len(t, led[pid], 2)
		require.Len(t, led[next.String()], 1)
		// The next attempt starts from the new paymentId; the old one is looked up first.
		in := b.attempt(4, next.String(), append(txs, res.ImpUID))
		in.PriorPaymentIDs = []string{pid}
		again, err := b.charge(t, in)
		require.NoError(t, err)
		require.True(t, again.Adopted, "the cycle is paid: never charged again")
		require.Equal(t, res.ImpUID, again.ImpUID)
	})
	t.Run("refunded success", func(t *testing.T) {
		b := newCycleBank(t, 0)
		b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultAmountMismatch, Times: 1})
		first, err := b.charge(t, b.attempt(1, pid, nil))
		require.NoError(t, err)
		require.Equal(t, billing.OutcomeAmountMismatch, first.Outcome, "%+v", first)
		res, err := b.charge(t, b.attempt(2, pid, []string{first.ImpUID}))
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, res.Outcome, "%+v", res)
		require.False(t, res.Adopted)
		require.Equal(t, next.String(), res.PaymentID)
	})
	t.Run("last generation", func(t *testing.T) {
		b := newCycleBank(t, 1)
		last := cyclePID
		last.Gen = billing.MaxPaymentGen
		b.emu.AddFault(portonetest.Fault{MerchantUID: last.String(), Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 1})
		first, err := b.charge(t, b.attempt(1, last.String(), nil))
		require.NoError(t, err)
		require.Equal(t, billing.OutcomeDeclined, first.Outcome)
		_, err = b.charge(t, b.attempt(2, last.String(), []string{first.ImpUID}))
		require.Error(t, err, "no paymentId after the last generation: PortOne's refusal stands")
	})
}

// TestCyclePaymentLookupTellsAttemptsApart: after an unknown outcome, a transaction under the
// cycle's paymentId that no attempt recorded is the attempt's own; a recorded one is an earlier
// attempt's and the attempt was not made.
func TestCyclePaymentLookupTellsAttemptsApart(t *testing.T) {
	b := newCycleBank(t, 0)
	pid := cyclePID.String()
	b.emu.AddFault(portonetest.Fault{MerchantUID: pid, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 1})
	first, err := b.charge(t, b.attempt(1, pid, nil))
	require.NoError(t, err)
	require.Equal(t, billing.OutcomeDeclined, first.Outcome)
	uid2 := b.attempt(2, pid, nil).MerchantUID

	tests := []struct {
		name  string
		known []string
		found bool
	}{
		{"recorded by attempt 1", []string{first.ImpUID}, false},
		{"recorded by nobody", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr, err := b.acts.Lookup(context.Background(), activities.LookupInput{MerchantUIDs: []string{uid2}, Gateway: billing.GatewayPortOneV2,
				PaymentID: pid, PriorTxIDs: tc.known})
			require.NoError(t, err)
			require.Equal(t, tc.found, lr.Found)
			if tc.found {
				require.Equal(t, billing.OutcomeDeclined, lr.Charge.Outcome)
				require.Equal(t, uid2, lr.Charge.MerchantUID)
				require.Equal(t, 2, lr.Charge.Attempt)
				require.Equal(t, first.ImpUID, lr.Charge.ImpUID)
			}
		})
	}
}
