package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	cfg, err := parseConfig(nil, io.Discard, getenv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7780", cfg.addr)
	require.Equal(t, portonetest.WebhookJSON, cfg.webhookFormat)
	require.Equal(t, 200, cfg.customerNotFoundStatus)
	require.Nil(t, cfg.manualClock)
	require.Equal(t, portonetest.DefaultKey, cfg.key)
	require.Equal(t, portonetest.DefaultSecret, cfg.secret)
	require.Equal(t, "127.0.0.1:7781", cfg.v2Addr, "V2 defaults to the next port")
	require.Equal(t, []string{portonetest.DefaultV2WebhookSecret}, cfg.v2WebhookSecrets)

	env["PORTONE_EMULATOR_ADDR"] = "127.0.0.1:9999"
	env["PORTONE_EMULATOR_SEED_CUSTOMERS"] = " c1, c2 ,,"
	env["PORTONE_EMULATOR_WEBHOOK_FORMAT"] = "form"
	env["PORTONE_EMULATOR_MANUAL_CLOCK"] = "1793581200"
	env["PORTONE_EMULATOR_WEBHOOK_RETRIES"] = "true"
	cfg, err = parseConfig(nil, io.Discard, getenv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", cfg.addr, "environment fallback")
	require.Equal(t, []string{"c1", "c2"}, cfg.seedCustomers)
	require.Equal(t, "form", cfg.webhookFormat)
	require.True(t, cfg.webhookRetries)
	require.Equal(t, int64(1793581200), cfg.manualClock.Unix())

	cfg, err = parseConfig([]string{"-addr", "127.0.0.1:1", "-manual-clock", "2026-11-02T10:00:00+09:00", "-customer-not-found-status", "404"}, io.Discard, getenv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1", cfg.addr, "flags win over the environment")
	require.Equal(t, int64(1793581200), cfg.manualClock.Unix())
	require.Equal(t, 404, cfg.customerNotFoundStatus)
	require.Equal(t, "127.0.0.1:2", cfg.v2Addr)

	cfg, err = parseConfig([]string{"-addr", "127.0.0.1:0", "-v2-webhook-secrets", "whsec_QUFB, whsec_QkJC", "-v2-async-cancel"}, io.Discard, getenv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:0", cfg.v2Addr, "port 0 stays 0")
	require.Equal(t, []string{"whsec_QUFB", "whsec_QkJC"}, cfg.v2WebhookSecrets)
	require.True(t, cfg.v2AsyncCancel)
	env["PORTONE_EMULATOR_V2_ADDR"] = "127.0.0.1:9998"
	cfg, err = parseConfig(nil, io.Discard, getenv)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9998", cfg.v2Addr, "environment fallback")
	delete(env, "PORTONE_EMULATOR_V2_ADDR")

	for _, args := range [][]string{
		{"-manual-clock", "tomorrow"},
		{"-customer-not-found-status", "x"},
		{"-webhook-retries", "maybe"},
		{"-nope"},
		{"extra"},
		{"-addr", "nohost"},
		{"-notice-url", "edge.example/portone/webhook"},
		{"-v2-webhook-url", "ftp://edge.example/portone/v2/webhook"},
	} {
		_, err := parseConfig(args, io.Discard, getenv)
		require.Error(t, err, "%v", args)
	}
}

// TestParseConfigRefusesMalformedURLs: a console-level webhook URL that is no absolute http(s)
// URL stops the emulator at start, naming its variable, instead of failing every notification.
func TestParseConfigRefusesMalformedURLs(t *testing.T) {
	for _, name := range []string{"PORTONE_EMULATOR_NOTICE_URL", "PORTONE_EMULATOR_V2_WEBHOOK_URL"} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{name: "edge.example/portone/webhook"}
			_, err := parseConfig(nil, io.Discard, func(k string) string { return env[k] })
			require.ErrorContains(t, err, name)
		})
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	getenv := func(string) string { return "" }
	err := run(context.Background(), []string{"-webhook-format", "xml"}, io.Discard, io.Discard, getenv)
	require.ErrorContains(t, err, "WebhookFormat")
	err = run(context.Background(), []string{"-customer-not-found-status", "500"}, io.Discard, io.Discard, getenv)
	require.ErrorContains(t, err, "CustomerNotFoundStatus")
	err = run(context.Background(), []string{"-v2-webhook-secrets", "not-a-secret"}, io.Discard, io.Discard, getenv)
	require.ErrorContains(t, err, "V2 webhook secret 1: must start with whsec_")
	require.NoError(t, run(context.Background(), []string{"-h"}, io.Discard, io.Discard, getenv), "-h is not an error")
}

func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-seed-customers", "c1", "-v2-seed-billing-keys", "billing-key-demo-1"}, stdout, io.Discard, func(string) string { return "" })
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "v2 listening on http://") }, 10*time.Second, 10*time.Millisecond)
	base, v2base := listenURLs(t, stdout.String())
	resp, err := http.Get(base + "/__emulator/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// V2 at the root of its own listener: authenticated by the store's secret.
	req, err := http.NewRequest(http.MethodGet, v2base+"/payments/no-such-payment", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "PortOne "+portonetest.DefaultV2Secret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.JSONEq(t, `{"type":"PAYMENT_NOT_FOUND","message":"결제 건이 존재하지 않습니다."}`, string(body))
	req, err = http.NewRequest(http.MethodGet, v2base+"/billing-keys/billing-key-demo-1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "PortOne "+portonetest.DefaultV2Secret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the seeded V2 key is issued")
	resp, err = http.Get(v2base + "/__emulator/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the control API is on the V2 listener too")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
}

// listenURLs reads the V1 and V2 base URLs from the "listening on" lines.
func listenURLs(t *testing.T, out string) (v1, v2 string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if u, ok := strings.CutPrefix(line, "v2 listening on "); ok {
			v2 = strings.TrimSpace(u)
		} else if u, ok := strings.CutPrefix(line, "listening on "); ok {
			v1 = strings.TrimSpace(u)
		}
	}
	require.NotEmpty(t, v1, out)
	return v1, v2
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBinary builds the emulator, runs it as a real process on a free loopback port, drives
// it over HTTP as curl would, and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	testgate.Slow(t, "builds and runs the emulator binary")
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH, so the binary cannot be built")
	}
	bin := filepath.Join(t.TempDir(), "emulator")
	// Compiling is not a wait on the emulator; it gets a longer bound for cold caches.
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelBuild()
	out, err := exec.CommandContext(buildCtx, goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-seed-customers", "seed-1,seed-2", "-manual-clock", "2026-11-02T10:00:00+09:00")
	cmd.Env = append(os.Environ(), "PORTONE_EMULATOR_WEBHOOK_FORMAT=form")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default: // the test failed before stopping it
			_ = cmd.Process.Kill()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
			}
		}
	})

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var base string
	select {
	case line := <-lines:
		require.True(t, strings.HasPrefix(line, "listening on http://127.0.0.1:"), line)
		base = strings.TrimPrefix(line, "listening on ")
	case <-exited:
		t.Fatalf("the emulator exited before it was ready: %v\n%s", waitErr, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("the emulator was not ready within 10s\n%s", stderr.String())
	}

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, contentType, body, token string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}

	// curl -d imp_key=... -d imp_secret=... $BASE/users/getToken
	status, tok := call("POST", "/users/getToken", "application/x-www-form-urlencoded", "imp_key=imp_test_key&imp_secret=imp_test_secret", "")
	require.Equal(t, http.StatusOK, status, tok)
	token := tok["response"].(map[string]any)["access_token"].(string)
	require.EqualValues(t, 1793581200, tok["response"].(map[string]any)["now"], "the manual clock")

	status, seeded := call("GET", "/subscribe/customers/seed-2", "", "", token)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 0, seeded["code"], "seeded from the flag")

	status, reg := call("POST", "/__emulator/customers", "application/json", `{"customer_uid":"cust-1","customer_tel":"01012345678"}`, "")
	require.Equal(t, http.StatusOK, status, reg)

	status, paid := call("POST", "/subscribe/payments/again", "application/json",
		`{"customer_uid":"cust-1","merchant_uid":"order-1","amount":1000,"name":"월간 구독"}`, "Bearer "+token)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 0, paid["code"], paid)
	require.Equal(t, "paid", paid["response"].(map[string]any)["status"])

	status, ledger := call("GET", "/__emulator/ledger?merchant_uid=order-1", "", "", "")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, ledger["paid_count"])
	require.Len(t, ledger["entries"], 1)

	status, clock := call("POST", "/__emulator/clock", "application/json", `{"advance":"1h"}`, "")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1793581200+3600, clock["now"])

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
		require.NoError(t, waitErr, "a clean exit (status 0) on SIGTERM\n%s", stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not exit within 10s of SIGTERM")
	}

	logs := stderr.String()
	require.Contains(t, logs, `"msg":"shutting down"`)
	require.NotContains(t, logs, token, "tokens are never logged")
	require.NotContains(t, logs, "imp_test_secret", "secrets are never logged")
	require.NotContains(t, logs, "01012345678", "phone numbers are masked")
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "every log line is JSON: %q", line)
	}
}
