package activities_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// BenchmarkChargeAgainstEmulator measures one Charge activity body end to end over loopback
// HTTP: a cycle's first attempt, so one again request and no lookup, through the real client
// and the emulator. It bounds what one worker can push per core when PortOne itself is instant.
func BenchmarkChargeAgainstEmulator(b *testing.B) {
	emu := portonetest.New(portonetest.Options{})
	defer emu.Close()
	srv := httptest.NewServer(emu)
	defer srv.Close()
	if _, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "bench-cust"}); err != nil {
		b.Fatal(err)
	}
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret}, portone.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	acts := &activities.Activities{Gateway: portonev1.New(gw)}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		res, err := acts.Charge(ctx, activities.ChargeInput{SubscriptionID: "bench", Cycle: i, Attempt: 1, CustomerUID: "bench-cust",
			MerchantUID: fmt.Sprintf("bench-abcd-%d-1", i), Amount: 9900, Name: "Bench"})
		if err != nil || res.Outcome != billing.OutcomePaid {
			b.Fatal(err, res.Outcome)
		}
	}
}
