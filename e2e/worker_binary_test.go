package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone/portonetest"
)

func TestWorkerBinaryRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no PortOne secret", nil, []string{"PORTONE_API_KEY=k"}, "PORTONE_API_KEY and PORTONE_API_SECRET must be set"},
		{"timeouts inverted", []string{"-activity-timeout", "5s", "-portone-timeout", "10s"},
			[]string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s"}, "-activity-timeout (5s) must be longer than -portone-timeout (10s)"},
		{"bad log level", []string{"-log-level", "loud"}, []string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s"}, "log level"},
		// Malformed variables used to fall back to their defaults without a word.
		{"demo mode not a boolean", nil, []string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s", "BILLING_DEMO_MODE=yes"},
			`BILLING_DEMO_MODE="yes" is not valid: want true or false`},
		{"duration without a unit", nil, []string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s", "BILLING_ACTIVITY_TIMEOUT=90"},
			`BILLING_ACTIVITY_TIMEOUT="90" is not valid: want a duration with a unit`},
		{"count not a number", nil, []string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s", "BILLING_MAX_CONCURRENT_ACTIVITIES=lots"},
			`BILLING_MAX_CONCURRENT_ACTIVITIES="lots" is not valid: want a whole number`},
		{"TLS key without certificate", nil, []string{"PORTONE_API_KEY=k", "PORTONE_API_SECRET=s", "TEMPORAL_TLS_CLIENT_KEY_PATH=/nonexistent.key"},
			"mutual TLS needs both -tls-cert-path (TEMPORAL_TLS_CLIENT_CERT_PATH) and -tls-key-path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary(t, "worker"), tt.args...)
			cmd.Env = append(cleanEnv(), tt.env...)
			out, err := cmd.CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), tt.want)
			require.NotContains(t, string(out), "=s", "the secret is never echoed")
		})
	}
}

// TestWorkerBinaryStopsCleanlyOnSIGTERM checks the 12-factor contract: configuration from the
// environment, ready on /healthz, a clean exit 0 on SIGTERM, and no secret in its logs.
func TestWorkerBinaryStopsCleanlyOnSIGTERM(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	edgePort := freePort(t)
	cmd := exec.Command(binary(t, "worker"), "-health-addr", "127.0.0.1:0", "-edge", "-edge-addr", fmt.Sprintf("127.0.0.1:%d", edgePort))
	cmd.Env = append(cleanEnv(),
		"TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+s.ns,
		"PORTONE_BASE_URL="+s.emuURL, "PORTONE_API_KEY="+portonetest.DefaultKey, "PORTONE_API_SECRET="+portonetest.DefaultSecret,
		"PAYCYCLE_CODEC_KEYS="+s.codecKey)
	out := &syncBuffer{} // written by exec's copying goroutine while the test reads it
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	eventually(t, 20*time.Second, "worker polling", func() bool { return strings.Contains(out.String(), "worker polling") })
	// -edge serves the HTTP edge in the same process.
	eventually(t, 10*time.Second, "the edge in the worker", func() bool {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", edgePort))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
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
	logs := out.String()
	require.Contains(t, logs, "stopping")
	require.NotContains(t, logs, portonetest.DefaultSecret)
	require.NotContains(t, logs, strings.SplitN(s.codecKey, ":", 2)[1])
}

// cleanEnv is the environment without any of the project's settings, so a developer's shell
// cannot leak into a test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PORTONE_") || strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "BILLING_") || strings.HasPrefix(k, "PAYCYCLE_") || strings.HasPrefix(k, "LOG_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
