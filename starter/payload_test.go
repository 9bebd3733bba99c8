package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

// TestCheckPayloadRefusesNull: the subscription refuses a null payload, so the starter never sends
// one; a payload that would encode as null is stopped before dialing, naming the message.
func TestCheckPayloadRefusesNull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload any
		ok      bool
	}{
		{"nil", nil, false},
		{"nil pointer", (*billing.PauseRequest)(nil), false},
		{"raw null", []byte(nil), false},
		{"zero pause", billing.PauseRequest{}, true},
		{"pointer to a request", &billing.ResumeRequest{RequestID: "r"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPayload(message{name: billing.MsgPause, payload: tc.payload})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "pause payload is null")
		})
	}
}
