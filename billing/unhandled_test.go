package billing_test

import (
	"strings"
	"testing"

	"github.com/paycycle/paycycle/billing"
)

func TestUnknownSignalDetail(t *testing.T) {
	known := []string{billing.MsgCancel, billing.MsgChargeNow, billing.MsgPause, billing.SignalRegistered}
	tests := []struct{ name, want string }{
		{"cancell", `unknown signal "cancell" (did you mean "cancel"?)`},
		{"ChargeNow", `(did you mean "charge_now"?)`},
		{"registerd", `(did you mean "registered"?)`},
		{"hello", "known signals: ["},
		{strings.Repeat("가", 100), "…"},
	}
	for _, tt := range tests {
		got := billing.UnknownSignalDetail(tt.name, known)
		if !strings.Contains(got, tt.want) || !strings.Contains(got, "nothing changed") {
			t.Errorf("UnknownSignalDetail(%.10q) = %q, want it to contain %q", tt.name, got, tt.want)
		}
		if !strings.Contains(got, "…") && len(tt.name) > 64 {
			t.Errorf("a long name is not cut: %q", got)
		}
	}
}

func TestTemporalCancellationRequestIsAValidCancel(t *testing.T) {
	r := billing.TemporalCancellationRequest()
	r.Normalize()
	if err := r.Validate(); err != nil {
		t.Fatalf("the workflow would refuse its own cancel: %v", err)
	}
	if r.When != billing.Now || r.Refund != billing.RefundNone || r.Requester != billing.RequesterAdmin {
		t.Fatalf("%+v", r)
	}
}
