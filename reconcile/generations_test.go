package reconcile

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestReconcileReadsV1AndV2AsOne: a fleet charging through both generations is reconciled in
// one pass over both. Twelve V1 and twelve V2 subscriptions each paid on the day as recorded
// make a clean night through Generations (more than a V2 list page, so the cursor crosses
// pages and generations); read through V1 alone, every V2 payment would be reported missing
// at PortOne. A V2 payment no workflow recorded is an orphan like a V1 one.
func TestReconcileReadsV1AndV2AsOne(t *testing.T) {
	l := seedClean(t, 12)
	b, subs := l.b, l.subs
	v2srv := httptest.NewServer(b.emu.V2Handler())
	t.Cleanup(v2srv.Close)
	v2, err := portonev2.New(portonev2.Config{BaseURL: v2srv.URL, Secret: portonetest.DefaultV2Secret, StoreID: portonetest.DefaultStoreID,
		ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 10 * time.Second})
	require.NoError(t, err)
	charge := func(id string, cycle int, key string) billing.ChargeRecord {
		p, err := v2.Charge(context.Background(), gateway.ChargeRequest{Key: key, PaymentID: muid(id, cycle, 1), Amount: 9900, Name: "Pro"})
		require.NoError(t, err)
		require.Equal(t, gateway.StatusPaid, p.Status)
		return paidRecord(id, cycle, 1, p.TxID, 9900, b.clk.Now())
	}
	b.clk.Set(kstAt(2, 9, 0))
	for i := range 12 {
		id := fmt.Sprintf("v2-%02d", i)
		k, err := b.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-" + id, IssueName: "Pro", NaverAccount: "naver-" + id})
		require.NoError(t, err)
		st := subState(id, k.BillingKey, 2)
		st.Gateway = billing.GatewayPortOneV2
		st.Charges = []billing.ChargeRecord{charge(id, 2, k.BillingKey)}
		subs.add(st)
		b.clk.Advance(time.Minute)
	}
	b.clk.Set(asOf)

	r, _, err := runGather(t, &Activities{Gateway: Generations{portonev1.New(b.c), v2}, Subscriptions: subs}, gatherInput())
	require.NoError(t, err)
	require.Empty(t, names(r), "a clean night on both generations")
	require.Equal(t, 24, r.Payments)

	r, _, err = runGather(t, &Activities{Gateway: portonev1.New(b.c), Subscriptions: subs}, gatherInput())
	require.NoError(t, err)
	require.NotEmpty(t, r.Findings, "read through V1 alone, the V2 payments look missing")

	// A V2 payment of a cycle no state recorded: an orphan.
	b.clk.Set(kstAt(2, 12, 0))
	k, err := b.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "issue-v2-orphan", IssueName: "Pro", NaverAccount: "naver-orphan"})
	require.NoError(t, err)
	st := subState("v2-orphan", k.BillingKey, 1)
	st.Gateway = billing.GatewayPortOneV2
	subs.add(st)
	charge("v2-orphan", 2, k.BillingKey)
	b.clk.Set(asOf)
	r, _, err = runGather(t, &Activities{Gateway: Generations{portonev1.New(b.c), v2}, Subscriptions: subs}, gatherInput())
	require.NoError(t, err)
	require.Equal(t, []string{FindingOrphan + " v2-orphan"}, names(r))
}
