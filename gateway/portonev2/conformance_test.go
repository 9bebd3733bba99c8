package portonev2

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/gateway/gatewaytest"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestConformance runs the gateway conformance suite against PortOne V2 and the V2 side of the
// emulator, every request the client sends on the way held to PortOne's V2 document (the
// emulator's answers are held to it by the emulator's own contract tests).
func TestConformance(t *testing.T) {
	gatewaytest.Run(t, newV2)
}

// v2Bank is the V2 emulator as the suite's Bank.
type v2Bank struct {
	emu  *portonetest.Emulator
	clk  *portonetest.ManualClock
	keys int
}

func newV2(t *testing.T) gatewaytest.Setup {
	clk := portonetest.NewManualClock(time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC))
	emu := portonetest.New(portonetest.Options{Clock: clk})
	var mu sync.Mutex
	var departures []string
	srv := httptest.NewServer(validating(loadSpec(t), func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		departures = append(departures, fmt.Sprintf(format, args...))
	}, emu.V2Handler()))
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, d := range departures {
			t.Error(d)
		}
	})
	g, err := New(Config{BaseURL: srv.URL, Secret: portonetest.DefaultV2Secret, StoreID: portonetest.DefaultStoreID,
		ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 10 * time.Second})
	require.NoError(t, err)
	return gatewaytest.Setup{Gateway: g, Bank: &v2Bank{emu: emu, clk: clk}}
}

func (b *v2Bank) NewKey(t *testing.T) string {
	b.keys++
	k, err := b.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: fmt.Sprintf("gwt-issue-%d", b.keys), IssueName: "conformance",
		NaverAccount: fmt.Sprintf("naver-%d", b.keys), Customer: portonetest.V2Customer{Name: "홍길동", PhoneNumber: "010-1234-5678"}})
	require.NoError(t, err)
	return k.BillingKey
}

func (b *v2Bank) Arrange(t *testing.T, paymentID string, f gatewaytest.Fault) {
	fault := portonetest.Fault{MerchantUID: paymentID, Times: 1}
	switch f {
	case gatewaytest.SoftDecline:
		fault.Action = portonetest.FaultDecline
	case gatewaytest.HardDecline:
		fault.Action, fault.Hard = portonetest.FaultDecline, true
	case gatewaytest.LostAnswer:
		fault.Op, fault.Action = portonetest.OpV2Pay, portonetest.FaultCommitThenDrop
	case gatewaytest.FailBeforeCommit:
		fault.Op, fault.Action = portonetest.OpV2Pay, portonetest.FaultErrorBeforeCommit
	case gatewaytest.AmountMismatch:
		fault.Action = portonetest.FaultAmountMismatch
	default:
		t.Fatalf("the V2 bank cannot arrange %v", f)
	}
	b.emu.AddFault(fault)
}

func (b *v2Bank) Advance(_ *testing.T, d time.Duration) {
	b.clk.Advance(d)
	b.emu.RunDue()
}

func (b *v2Bank) Now() time.Time { return b.clk.Now() }

// ArrangeAsyncCancel makes the emulator answer the next cancels REQUESTED, finished after d.
func (b *v2Bank) ArrangeAsyncCancel(_ *testing.T, d time.Duration, fail bool) {
	b.emu.SetV2AsyncCancel(true, d)
	b.emu.SetV2AsyncCancelFail(fail)
}
