package webhooks_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// TestRedeliverRefusesNullAndMisspeltFields: the redeliver update is a message like the
// subscription's: a null payload and a field it does not have are refused naming the problem
// (a misspelt "too" used to be dropped, turning "from..to" into "from on"), and nothing is queued.
func TestRedeliverRefusesNullAndMisspeltFields(t *testing.T) {
	secret := webhooks.NewSecret()
	o := newOutboxEnv(t, []string{secret}, []string{secret})
	t0 := o.start
	tests := []struct {
		name    string
		payload any
		want    string
	}{
		{"null", json.RawMessage("null"), "got null"},
		{"misspelt field", json.RawMessage(`{"from":"2026-03-01T00:00:00Z","too":"2026-03-02T00:00:00Z"}`), `too: unknown field (did you mean "to"?)`},
		{"misspelt list", json.RawMessage(`{"event_id":["evt_x"]}`), `did you mean "event_ids"?`},
	}
	rejected := make([]error, len(tests))
	o.at(time.Minute, func() { o.send(event(1, billing.EventChargeSucceeded, t0)) })
	o.at(time.Hour, func() {
		for i, tt := range tests {
			o.env.UpdateWorkflow(billing.UpdateRedeliver, "r-"+tt.name, &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { rejected[i] = err },
				OnComplete: func(any, error) {},
			}, tt.payload)
		}
	})
	o.at(2*time.Hour, func() { o.send(event(2, billing.EventSubscriptionCanceled, t0)) })
	st := o.run(webhooks.OutboxInput{SubscriptionID: subID})
	for i, tt := range tests {
		require.Error(t, rejected[i], tt.name)
		require.ErrorContains(t, rejected[i], "malformed payload", tt.name)
		require.ErrorContains(t, rejected[i], tt.want, tt.name)
	}
	for _, d := range st.Deliveries {
		require.Equal(t, 1, d.Queued, "nothing was queued again: %s", d.Event.ID)
	}
}
