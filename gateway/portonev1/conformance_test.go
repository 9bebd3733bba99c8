package portonev1_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/gateway/gatewaytest"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestConformance runs the gateway conformance suite against PortOne V1 and its emulator.
func TestConformance(t *testing.T) {
	gatewaytest.Run(t, newV1)
}

// v1Bank is the V1 emulator as the suite's Bank.
type v1Bank struct {
	emu  *portonetest.Emulator
	clk  *portonetest.ManualClock
	keys int
}

func newV1(t *testing.T) gatewaytest.Setup {
	clk := portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))
	emu, srv := portonetest.NewServer(t, portonetest.Options{Clock: clk})
	c, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	return gatewaytest.Setup{Gateway: portonev1.New(c), Bank: &v1Bank{emu: emu, clk: clk}}
}

func (b *v1Bank) NewKey(t *testing.T) string {
	b.keys++
	uid := fmt.Sprintf("gwt-key-%d", b.keys)
	_, err := b.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: uid, CustomerTel: "010-1234-5678"})
	require.NoError(t, err)
	return uid
}

func (b *v1Bank) Arrange(t *testing.T, merchantUID string, f gatewaytest.Fault) {
	fault := portonetest.Fault{MerchantUID: merchantUID, Times: 1}
	switch f {
	case gatewaytest.SoftDecline:
		fault.Action = portonetest.FaultDecline
	case gatewaytest.HardDecline:
		fault.Action, fault.Hard = portonetest.FaultDecline, true
	case gatewaytest.LostAnswer:
		fault.Op, fault.Action = portonetest.OpAgain, portonetest.FaultCommitThenDrop
	case gatewaytest.FailBeforeCommit:
		fault.Op, fault.Action = portonetest.OpAgain, portonetest.FaultErrorBeforeCommit
	case gatewaytest.AmountMismatch:
		fault.Action = portonetest.FaultAmountMismatch
	default:
		t.Fatalf("the V1 bank cannot arrange %v", f)
	}
	b.emu.AddFault(fault)
}

func (b *v1Bank) Advance(_ *testing.T, d time.Duration) {
	b.clk.Advance(d)
	b.emu.RunDue()
}

func (b *v1Bank) Now() time.Time { return b.clk.Now() }
