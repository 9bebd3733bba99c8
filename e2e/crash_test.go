package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/ledgercheck"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds the project's commands once per test run and returns the path of one.
func binary(t *testing.T, name string) string {
	t.Helper()
	testgate.Slow(t, "builds and runs the project's binaries")
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "paycycle-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "../worker", "../emulator", "../edgeserver", "../consoleserver", "../devserver", "../starter")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = err
			t.Logf("go build: %s", out.String())
		}
	})
	require.NoError(t, buildErr)
	return filepath.Join(binDir, name)
}

// workerProcess runs the worker binary against the stack.
func (s *stack) workerProcess(t *testing.T, logName string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t, "worker"), "-log-format", "console", "-log-level", "info")
	cmd.Env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE="+s.ns,
		"PORTONE_BASE_URL="+s.emuURL,
		"PORTONE_API_KEY="+portonetest.DefaultKey,
		"PORTONE_API_SECRET="+portonetest.DefaultSecret,
		"PORTONE_TIMEOUT=3s",
		"PORTONE_V2_BASE_URL="+s.st.EmulatorV2URL,
		"PORTONE_V2_API_SECRET="+portonetest.DefaultV2Secret,
		"PORTONE_V2_STORE_ID="+portonetest.DefaultStoreID,
		"PORTONE_V2_CHANNEL_KEY="+portonetest.DefaultV2ChannelKey,
		"PORTONE_V2_TIMEOUT=2s", // the activity timeout (5 s) must cover a V2 charge and its read
		"BILLING_ACTIVITY_TIMEOUT=5s",
		"BILLING_DEMO_MODE=true",
		"PAYCYCLE_CODEC_KEYS="+s.codecKey,
	)
	logf, err := os.Create(filepath.Join(t.TempDir(), logName))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s:\n%s", logName, b)
		}
	})
	return cmd
}

// TestWorkerCrashAfterPortOneCommitted kills the worker (SIGKILL) while a charge that PortOne
// already committed is in flight, on each PortOne generation: V1's POST
// /subscribe/payments/again and V2's POST /payments/{paymentId}/billing-key. A new worker picks
// the activity up after its start-to-close timeout; the retry looks the payment up and adopts
// it. The ledger holds exactly one paid charge for that cycle, made through the subscription's
// generation, and the workflow's state agrees.
//
// The fault is installed once cycle 1 is paid and names the subscription's billing key, not a
// payment id, so that it catches cycle 2's first charge whatever shape the payment id has.
func TestWorkerCrashAfterPortOneCommitted(t *testing.T) {
	tests := []struct {
		gateway billing.GatewayName
		op      portonetest.FaultOp
	}{
		{billing.GatewayPortOneV1, portonetest.OpAgain},
		{billing.GatewayPortOneV2, portonetest.OpV2Pay},
	}
	for _, tt := range tests {
		t.Run(string(tt.gateway), func(t *testing.T) {
			s := newStack(t, stackOptions{noWorker: true})
			id := "crash-" + strings.TrimPrefix(string(tt.gateway), "portone_")
			key := "crash-cust"
			if tt.gateway == billing.GatewayPortOneV2 {
				var err error
				key, err = s.st.IssueV2Key("crash-v2-issue")
				require.NoError(t, err)
			} else {
				s.register(key)
			}
			first := s.workerProcess(t, "worker-1.log")

			in := demoInput(id, key, 8*time.Second)
			in.Gateway = tt.gateway
			run := s.start(in)
			eventually(t, 40*time.Second, "cycle 1 paid", func() bool { return len(keptCycles(s.emu.Ledger(), id)[1]) == 1 })
			// PortOne commits cycle 2, then holds the answer far longer than anyone waits.
			s.emu.AddFault(portonetest.Fault{CustomerUID: key, Op: tt.op, Action: portonetest.FaultLatencyAfterCommit, Latency: 2 * time.Minute, Times: 1})

			eventually(t, 40*time.Second, "PortOne to commit cycle 2", func() bool { return len(keptCycles(s.emu.Ledger(), id)[2]) == 1 })
			cycle2 := keptCycles(s.emu.Ledger(), id)[2][0]
			require.NoError(t, first.Process.Signal(syscall.SIGKILL))
			_, _ = first.Process.Wait()

			s.workerProcess(t, "worker-2.log")
			eventually(t, 60*time.Second, "cycle 2 settled by the new worker", func() bool {
				st, err := s.tryState(id)
				if err != nil {
					return false
				}
				for _, c := range st.Charges {
					if c.MerchantUID == cycle2.MerchantUID && c.Outcome == billing.OutcomePaid {
						return true
					}
				}
				return false
			})
			eventually(t, 30*time.Second, "cycle 3", func() bool { return len(keptCycles(s.emu.Ledger(), id)[3]) == 1 })
			_, err := s.update(id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var final billing.State
			require.NoError(t, run.Get(ctx, &final))

			require.Len(t, keptCycles(s.emu.Ledger(), id)[2], 1, "exactly one paid charge for the cycle in flight at the crash")
			require.Equal(t, 1, s.emu.PaidCount(cycle2.MerchantUID))
			require.Equal(t, ledgercheck.Version(tt.gateway), cycle2.Version)
			for _, c := range final.Charges {
				if c.Cycle == 2 {
					require.Equal(t, cycle2.MerchantUID, c.MerchantUID, "no second payment was made for cycle 2")
					require.Equal(t, cycle2.ImpUID, c.ImpUID, "the committed attempt was adopted")
					require.Equal(t, billing.OutcomePaid, c.Outcome)
				}
			}
			s.checkMoneyInvariants(final)
		})
	}
}

// keptCycles is the subscription's kept payments by cycle, read from the ledger alone (the
// cycle parsed from the payment id).
func keptCycles(ledger []portonetest.LedgerEntry, id string) map[int][]portonetest.LedgerEntry {
	return ledgercheck.KeptByCycle(ledger, ledgercheck.Subscription{ID: id})
}
