package activities_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestActivitiesUseTheSubscriptionsGateway: every activity goes through the gateway its input
// names; an input without one is V1 (every history recorded before V2), and a generation the
// worker has no settings for fails at once, non-retryable, as an InvalidInput. Two emulators
// stand for two gateways, so the charge's ledger shows which one was used.
func TestActivitiesUseTheSubscriptionsGateway(t *testing.T) {
	gw := func() (*portonetest.Emulator, *portonev1.Gateway) {
		emu, srv := portonetest.NewServer(t, portonetest.Options{Clock: portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))})
		c, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret}, portone.WithBaseURL(srv.URL))
		require.NoError(t, err)
		_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-1"})
		require.NoError(t, err)
		return emu, portonev1.New(c)
	}
	v1emu, v1 := gw()
	v2emu, v2 := gw()
	both := &activities.Activities{Gateway: v1, Gateways: map[billing.GatewayName]gateway.Gateway{billing.GatewayPortOneV2: v2}}
	v1only := &activities.Activities{Gateway: v1}

	for _, tc := range []struct {
		name    string
		acts    *activities.Activities
		gateway billing.GatewayName
		uid     string
		on      *portonetest.Emulator
		errType string
	}{
		{"no gateway named is V1", both, "", "sub-1-abcd-1-1", v1emu, ""},
		{"V1 by name", both, billing.GatewayPortOneV1, "sub-1-abcd-2-1", v1emu, ""},
		{"V2", both, billing.GatewayPortOneV2, "sub-1-abcd-3-1", v2emu, ""},
		{"V2 on a V1-only worker", v1only, billing.GatewayPortOneV2, "sub-1-abcd-4-1", nil, billing.ErrorTypeInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(tc.acts)
			in := chargeIn(tc.uid, 1)
			in.Gateway = tc.gateway
			_, err := env.ExecuteActivity(tc.acts.Charge, in)
			if tc.errType != "" {
				require.Equal(t, tc.errType, errType(t, err))
				require.Contains(t, err.Error(), "no portone_v2 settings")
				require.Zero(t, v1emu.PaidCount(tc.uid)+v2emu.PaidCount(tc.uid), "nothing charged anywhere")
				return
			}
			require.NoError(t, err)
			other := v1emu
			if tc.on == v1emu {
				other = v2emu
			}
			require.Equal(t, 1, tc.on.PaidCount(tc.uid))
			require.Zero(t, other.PaidCount(tc.uid))
		})
	}
	settings, err := both.Settings(t.Context())
	require.NoError(t, err)
	require.Equal(t, []billing.GatewayName{billing.GatewayPortOneV1, billing.GatewayPortOneV2}, settings.Gateways)
	settings, err = v1only.Settings(t.Context())
	require.NoError(t, err)
	require.Equal(t, []billing.GatewayName{billing.GatewayPortOneV1}, settings.Gateways)
}
