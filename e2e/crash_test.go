package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
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
// already committed is in flight. A new worker picks the activity up after its start-to-close
// timeout; the retry looks the merchant_uid up and adopts the payment. The ledger holds exactly
// one paid charge for that cycle, and the workflow's state agrees.
func TestWorkerCrashAfterPortOneCommitted(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	s.register("crash-cust")
	first := s.workerProcess(t, "worker-1.log")

	run := s.start(demoInput("crash-1", "crash-cust", 8*time.Second))
	tag := billing.IncarnationTag(run.GetRunID())
	cycle2 := billing.ChargeUID{SubscriptionID: "crash-1", Tag: tag, Cycle: 2, Attempt: 1}.String()
	// PortOne commits cycle 2, then holds the answer far longer than anyone waits.
	s.emu.AddFault(portonetest.Fault{MerchantUID: cycle2, Op: portonetest.OpAgain, Action: portonetest.FaultLatencyAfterCommit, Latency: 2 * time.Minute, Times: 1})

	eventually(t, 40*time.Second, "PortOne to commit cycle 2", func() bool { return s.emu.PaidCount(cycle2) == 1 })
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_, _ = first.Process.Wait()

	s.workerProcess(t, "worker-2.log")
	eventually(t, 60*time.Second, "cycle 2 settled by the new worker", func() bool {
		st, err := s.tryState("crash-1")
		if err != nil {
			return false
		}
		for _, c := range st.Charges {
			if c.MerchantUID == cycle2 && c.Outcome == billing.OutcomePaid {
				return true
			}
		}
		return false
	})
	eventually(t, 30*time.Second, "cycle 3", func() bool { return len(s.paid("crash-1-")) >= 3 })
	_, err := s.update("crash-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))

	require.Equal(t, 1, s.emu.PaidCount(cycle2), "exactly one paid charge for the cycle in flight at the crash")
	for _, c := range final.Charges {
		if c.Cycle == 2 {
			require.Equal(t, cycle2, c.MerchantUID, "no second attempt was made for cycle 2")
			require.Equal(t, billing.OutcomePaid, c.Outcome)
		}
	}
	s.checkMoneyInvariants(final)
}
