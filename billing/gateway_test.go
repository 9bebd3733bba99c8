package billing_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// TestGatewayField: the input names its gateway; none means V1 (every input before the field
// existed); an unknown one is refused naming the field; V2 enforces NaverPay's V2 minimum.
func TestGatewayField(t *testing.T) {
	tests := []struct {
		name      string
		gateway   string // "" leaves the field out
		amount    int64
		wantField string // "" for valid
	}{
		{"no gateway is V1", "", 10, ""},
		{"portone_v1", "portone_v1", 10, ""},
		{"portone_v2", "portone_v2", 100, ""},
		{"an unknown gateway", "portone_v3", 1000, "gateway"},
		{"a V1 spelling mistake", "PortOne_V1", 1000, "gateway"},
		{"below V2's minimum", "portone_v2", 99, "plan.amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]any{"subscription_id": "sub-1", "customer_uid": "bk-1",
				"plan": map[string]any{"name": "월 구독", "amount": tt.amount, "interval": map[string]any{"unit": "month", "count": 1}}}
			if tt.gateway != "" {
				raw["gateway"] = tt.gateway
			}
			b, err := json.Marshal(raw)
			require.NoError(t, err)
			require.NoError(t, billing.DecodeStrict(b, &billing.SubscriptionInput{}), "the field is known to the strict decoder")
			var in billing.SubscriptionInput
			require.NoError(t, json.Unmarshal(b, &in))
			in.Normalize()
			err = in.Validate()
			if tt.wantField == "" {
				require.NoError(t, err)
				require.Equal(t, tt.gateway == "portone_v2", in.Gateway.IsV2())
				return
			}
			var ie *billing.InputError
			require.True(t, errors.As(err, &ie), "%v", err)
			require.Equal(t, tt.wantField, ie.Field)
		})
	}
}
