package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/reconcile"
)

// TestWorkerBinaryKeepsTheReconcileSchedule: the worker binary creates the nightly schedule at
// its configured KST time, a restart with another time updates it, and "off" deletes it.
func TestWorkerBinaryKeepsTheReconcileSchedule(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	runWorker := func(env ...string) string {
		t.Helper()
		cmd := exec.Command(binary(t, "worker"), "-health-addr", "127.0.0.1:0")
		cmd.Env = append(append(cleanEnv(),
			"TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+s.ns,
			"PORTONE_BASE_URL="+s.emuURL, "PORTONE_API_KEY="+portonetest.DefaultKey, "PORTONE_API_SECRET="+portonetest.DefaultSecret,
			"PAYCYCLE_CODEC_KEYS="+s.codecKey), env...)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		eventually(t, 20*time.Second, "the reconcile schedule log line", func() bool { return strings.Contains(out.String(), "reconcile schedule") })
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, out.String())
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("worker did not stop within 40s of SIGTERM")
		}
		return out.String()
	}
	describe := func() (hour, minute int, overlap time.Duration, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := s.c.ScheduleClient().GetHandle(ctx, reconcile.ScheduleID).Describe(ctx)
		if err != nil {
			return 0, 0, 0, err
		}
		cal := d.Schedule.Spec.Calendars[0]
		require.Equal(t, "Asia/Seoul", d.Schedule.Spec.TimeZoneName)
		return cal.Hour[0].Start, cal.Minute[0].Start, 0, nil
	}

	logs := runWorker()
	require.Contains(t, logs, `"state":"created"`)
	h, m, _, err := describe()
	require.NoError(t, err)
	require.Equal(t, []int{4, 0}, []int{h, m}, "default 04:00 KST")

	logs = runWorker("BILLING_RECONCILE_AT=05:30", "BILLING_RECONCILE_OVERLAP=72h", "BILLING_RECONCILE_RATE=2")
	require.Contains(t, logs, `"state":"updated"`)
	h, m, _, err = describe()
	require.NoError(t, err)
	require.Equal(t, []int{5, 30}, []int{h, m})

	logs = runWorker("BILLING_RECONCILE_AT=off")
	require.Contains(t, logs, `"state":"off"`)
	_, _, _, err = describe()
	var nf *serviceerror.NotFound
	require.True(t, errors.As(err, &nf), "the schedule is gone: %v", err)
}

func TestWorkerBinaryRefusesBadReconcileSettings(t *testing.T) {
	tests := []struct{ env, want string }{
		{"BILLING_RECONCILE_AT=4am", "BILLING_RECONCILE_AT: want HH:MM"},
		{"BILLING_RECONCILE_RATE=-1", "BILLING_RECONCILE_RATE"},
		{"BILLING_RECONCILE_OVERLAP=-5h", "BILLING_RECONCILE_OVERLAP"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cmd := exec.Command(binary(t, "worker"))
			cmd.Env = append(cleanEnv(), "PORTONE_API_KEY=k", "PORTONE_API_SECRET=s", tt.env)
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), tt.want)
		})
	}
}
