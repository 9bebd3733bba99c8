package portonetest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone/portonetest"
)

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	a := portonetest.New(portonetest.Options{})
	defer a.Close()
	for _, uid := range []string{"cust-1", "cust-2"} {
		_, err := a.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: uid, CustomerTel: "010-0000-0000"})
		require.NoError(t, err)
	}
	snap, err := a.Snapshot()
	require.NoError(t, err)

	b := portonetest.New(portonetest.Options{})
	defer b.Close()
	require.NoError(t, b.Restore(snap))
	again, err := b.Snapshot()
	require.NoError(t, err)
	require.JSONEq(t, string(snap), string(again))
	la, _ := json.Marshal(a.Ledger())
	lb, _ := json.Marshal(b.Ledger())
	require.JSONEq(t, string(la), string(lb), "the ledger survives (times compared as instants)")
	require.Len(t, b.Ledger(), 2)
	require.True(t, b.HasCustomer("", "cust-2"))
	require.False(t, b.HasCustomer("", "cust-3"))

	other := portonetest.New(portonetest.Options{Merchants: []portonetest.Merchant{{Key: "k2", Secret: "s2"}}})
	defer other.Close()
	require.ErrorContains(t, other.Restore(snap), "not configured")
	require.ErrorContains(t, other.Restore([]byte(`{"version":99}`)), "state version 99")
}
