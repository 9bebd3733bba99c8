package billing_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// TestGatewayInput: a subscription names its gateway generation; omitted means PortOne V1 (every
// input written before V2), a misspelt one is refused naming the field, and each generation is
// held to the minimum its own NaverPay documentation states (V1 10 KRW, V2 100 KRW).
func TestGatewayInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gateway string
		amount  int64
		trial   string
		field   string // "" when valid
	}{
		{"omitted is V1", "", 10, "", ""},
		{"V1 by name", `"portone_v1"`, 10, "", ""},
		{"V2 at its minimum", `"portone_v2"`, 100, "", ""},
		{"V2 below its minimum", `"portone_v2"`, 99, "", "plan.amount"},
		{"V2 intro price below its minimum", `"portone_v2"`, 9900, `, "trial": {"cycles": 2, "amount": 50}`, "plan.trial.amount"},
		{"V1 intro price of 50 is fine", `"portone_v1"`, 9900, `, "trial": {"cycles": 2, "amount": 50}`, ""},
		{"misspelt", `"portone-v2"`, 9900, "", "gateway"},
		{"V2 in capitals", `"PORTONE_V2"`, 9900, "", "gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := ""
			if tc.gateway != "" {
				gw = `, "gateway": ` + tc.gateway
			}
			raw := `{"subscription_id": "sub-1", "customer_uid": "issue-1"` + gw + `,
			  "plan": {"name": "P", "amount": ` + jsonInt(tc.amount) + `, "interval": {"unit": "month", "count": 1}` + tc.trial + `}}`
			require.NoError(t, billing.DecodeStrict([]byte(raw), &billing.SubscriptionInput{}), "the field is part of the input")
			var in billing.SubscriptionInput
			require.NoError(t, json.Unmarshal([]byte(raw), &in))
			in.Normalize()
			err := in.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ie *billing.InputError
			require.True(t, errors.As(err, &ie), "got %v", err)
			require.Equal(t, tc.field, ie.Field, ie.Reason)
		})
	}
}

func TestGatewayNames(t *testing.T) {
	require.Equal(t, billing.GatewayPortOneV1, billing.GatewayName("").Resolved())
	require.False(t, billing.GatewayName("").IsV2())
	require.True(t, billing.GatewayPortOneV2.IsV2())
	require.Equal(t, int64(10), billing.GatewayName("").MinAmountKRW())
	require.Equal(t, int64(100), billing.GatewayPortOneV2.MinAmountKRW())
	// A change of plan on V2 is held to V2's minimum; on V1 nothing more than Plan.Validate.
	require.Error(t, billing.ValidateGatewayPlan(billing.GatewayPortOneV2, billing.Plan{Amount: 50}))
	require.NoError(t, billing.ValidateGatewayPlan(billing.GatewayPortOneV1, billing.Plan{Amount: 50}))
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
