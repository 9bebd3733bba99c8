package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// freeAddr returns a loopback address nobody listens on: the fake Temporal.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// buildBinary compiles the edgeserver into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	testgate.Slow(t, "builds and runs the edgeserver binary")
	bin := filepath.Join(t.TempDir(), "edgeserver")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// baseEnv is the process environment without any variable the binary reads, so the test does
// not depend on the developer's shell.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "PORTONE_"), strings.HasPrefix(name, "BILLING_"), strings.HasPrefix(name, "TEMPORAL_"),
			strings.HasPrefix(name, "NAVERPAY_"), name == "PAYCYCLE_CODEC_KEYS", name == "LOG_LEVEL", name == "LOG_FORMAT":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// lockedBuffer collects a process's output safely across goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})

	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-log-format", "json")
	cmd.Env = baseEnv(
		"PORTONE_BASE_URL="+emuSrv.URL,
		"PORTONE_API_KEY="+portonetest.DefaultKey,
		"PORTONE_API_SECRET="+portonetest.DefaultSecret,
		"TEMPORAL_ADDRESS="+freeAddr(t),
	)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "edge listening on "); ok {
				listening <- u
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var base string
	select {
	case base = <-listening:
	case err := <-exited:
		t.Fatalf("edgeserver exited early (%v):\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("edgeserver did not start:\n%s", stderr.String())
	}
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)

	hc := &http.Client{Timeout: 15 * time.Second}
	get := func(path string) (int, string) {
		res, err := hc.Get(base + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	status, body := get("/healthz")
	require.Equal(t, http.StatusOK, status, body)
	status, body = get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status, "Temporal is not there: %s", body)

	// The binary verifies webhooks against the configured PortOne: a real payment is found at
	// the emulator, and relaying it fails because Temporal is down, so PortOne is asked to retry.
	_, err = emu.RegisterCustomer("", portonetest.CustomerSeed{CustomerUID: "cust-1"})
	require.NoError(t, err)
	pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret}, portone.WithBaseURL(emuSrv.URL))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	muid := billing.ChargeUID{SubscriptionID: "sub1", Tag: "k3xq", Cycle: 1, Attempt: 1}.String()
	p, err := pc.Again(ctx, portone.AgainRequest{CustomerUID: "cust-1", MerchantUID: muid, Amount: 1000, Name: "plan"})
	require.NoError(t, err)
	post := func(v any) (int, string) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		res, err := hc.Post(base+"/portone/webhook", "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(out)
	}
	status, body = post(map[string]string{"imp_uid": "imp_000000000001", "merchant_uid": muid, "status": "paid"})
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"ignored"`, "PortOne does not know that imp_uid")
	status, body = post(map[string]string{"imp_uid": p.ImpUID, "merchant_uid": muid, "status": "paid"})
	require.Equal(t, http.StatusServiceUnavailable, status, body)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "clean exit after SIGTERM:\n%s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("edgeserver did not stop after SIGTERM:\n%s", stderr.String())
	}
	logs := stderr.String()
	require.Contains(t, logs, `"msg":"edge listening"`)
	require.NotContains(t, logs, portonetest.DefaultSecret)
}

func TestBinaryRefusesToStartWithoutPortOneKeys(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Env = baseEnv("TEMPORAL_ADDRESS=" + freeAddr(t))
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	require.True(t, errors.As(err, &exitErr), "want a failed exit, got %v:\n%s", err, out)
	require.Equal(t, 1, exitErr.ExitCode())
	require.Contains(t, string(out), "PORTONE_API_KEY and PORTONE_API_SECRET must be set")
}

func TestRunRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"help", []string{"-h"}, nil, ""},
		{"unknown flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"stray argument", []string{"serve"}, nil, "unexpected arguments"},
		{"bad log format", []string{"-log-format", "xml"}, nil, "log format"},
		{"demo mode not a boolean", nil, map[string]string{"BILLING_DEMO_MODE": "yes"}, `BILLING_DEMO_MODE="yes" is not valid: want true or false`},
		{"TLS switch not a boolean", nil, map[string]string{"TEMPORAL_TLS": "on"}, "TEMPORAL_TLS"},
		{"PortOne timeout without unit", nil, map[string]string{"PORTONE_TIMEOUT": "15"}, "PORTONE_TIMEOUT"},
		// PortOne V2: on as soon as one of its variables is set, then every one is checked.
		{"V2 without its API secret", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_API_SECRET": ""}), "PORTONE_V2_API_SECRET must be set"},
		{"V2 store ID malformed", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_STORE_ID": "my-store"}), `PORTONE_V2_STORE_ID="my-store" is not valid`},
		{"V2 channel key malformed", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_CHANNEL_KEY": "naverpay"}), "PORTONE_V2_CHANNEL_KEY"},
		{"V2 webhook secret not whsec_", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_WEBHOOK_SECRETS": "not-a-secret-value"}), "PORTONE_V2_WEBHOOK_SECRETS: secret 1 of 1 is malformed"},
		{"V2 three webhook secrets", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_WEBHOOK_SECRETS": v2Secret + " " + v2Secret + " " + v2Secret}), "PORTONE_V2_WEBHOOK_SECRETS holds 3 secrets"},
		{"V2 without webhook secrets", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_WEBHOOK_SECRETS": ""}), "webhook secrets are required (PORTONE_V2_WEBHOOK_SECRETS)"},
		{"V2 without a store ID", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_STORE_ID": ""}), "the store ID is required (PORTONE_V2_STORE_ID)"},
		{"V2 without a channel key", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_CHANNEL_KEY": ""}), "the NaverPay channel key is required (PORTONE_V2_CHANNEL_KEY)"},
		{"V2 SDK URL relative", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_SDK_URL": "/sdk.js"}), `PORTONE_V2_SDK_URL="/sdk.js" is not valid`},
		// Every URL setting is refused by its name at start.
		{"listen address without a port", nil, map[string]string{"BILLING_EDGE_ADDR": "0.0.0.0"}, "BILLING_EDGE_ADDR"},
		{"public URL without a scheme", []string{"-addr", "127.0.0.1:0"}, map[string]string{"BILLING_EDGE_PUBLIC_URL": "edge.example"}, "BILLING_EDGE_PUBLIC_URL"},
		{"V1 SDK URL of another scheme", []string{"-addr", "127.0.0.1:0"}, map[string]string{"PORTONE_IMP_SCRIPT_URL": "ftp://cdn.example/iamport.js"}, "PORTONE_IMP_SCRIPT_URL"},
		{"V1 origin without a scheme", []string{"-addr", "127.0.0.1:0"}, map[string]string{"PORTONE_BASE_URL": "api.iamport.kr"}, "PORTONE_BASE_URL"},
		{"V2 origin without a scheme", []string{"-addr", "127.0.0.1:0"}, v2Env(map[string]string{"PORTONE_V2_BASE_URL": "api.portone.io"}), "PORTONE_V2_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr, config.MapLookup(tt.env))
			require.Error(t, err)
			if tt.want == "" {
				require.ErrorIs(t, err, flag.ErrHelp)
				require.Contains(t, stderr.String(), "-public-url")
				return
			}
			require.Contains(t, err.Error()+stderr.String(), tt.want)
			if v := tt.env["PORTONE_V2_API_SECRET"]; v != "" {
				require.NotContains(t, err.Error()+stderr.String()+stdout.String(), v, "a secret is never shown")
			}
			if v := tt.env["PORTONE_V2_WEBHOOK_SECRETS"]; v != "" {
				require.NotContains(t, err.Error()+stderr.String(), strings.Fields(v)[0], "a secret is never shown")
			}
		})
	}
}

// v2Secret is a well-formed V2 webhook secret (32 bytes).
const v2Secret = "whsec_dGVzdC12Mi13ZWJob29rLXNlY3JldC0zMi1ieXRlcyE="

// v2Env is a complete, valid V2 environment with V1 keys, changed by over (an empty value
// removes the variable).
func v2Env(over map[string]string) map[string]string {
	env := map[string]string{
		"PORTONE_API_KEY": portonetest.DefaultKey, "PORTONE_API_SECRET": portonetest.DefaultSecret,
		"PORTONE_V2_API_SECRET":      portonetest.DefaultV2Secret,
		"PORTONE_V2_STORE_ID":        portonetest.DefaultStoreID,
		"PORTONE_V2_CHANNEL_KEY":     portonetest.DefaultV2ChannelKey,
		"PORTONE_V2_WEBHOOK_SECRETS": v2Secret,
	}
	for k, v := range over {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// startRun runs the edge in process with env and returns its URL; it stops when the test ends.
func startRun(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-format", "json"}, &stdout, &stderr, config.MapLookup(env))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, stderr.String())
		case <-time.After(20 * time.Second):
			t.Errorf("the edge did not stop:\n%s", stderr.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if u, ok := strings.CutPrefix(strings.TrimSpace(stdout.String()), "edge listening on "); ok {
			return u
		}
		select {
		case err := <-done:
			t.Fatalf("the edge stopped: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the edge did not start:\n%s", stderr.String())
	return ""
}

// postV2 posts body to the V2 webhook route, signed with secret at at when secret is set.
func postV2(t *testing.T, base, id, secret string, at time.Time, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/portone/v2/webhook", bytes.NewReader(body))
	require.NoError(t, err)
	if secret != "" {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		sig, err := wh.Sign(id, at, body)
		require.NoError(t, err)
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
	}
	res, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(out)
}

// TestRunServesV2WebhooksOnlyWhenConfigured runs the edge as the binary wires it: with V2's
// variables the V2 route verifies signatures and re-fetches at the configured V2 API; without
// them it answers 404 saying so.
func TestRunServesV2WebhooksOnlyWhenConfigured(t *testing.T) {
	emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})
	v2Srv := httptest.NewServer(emu.V2Handler())
	t.Cleanup(v2Srv.Close)
	dead := freeAddr(t)

	off := startRun(t, map[string]string{"PORTONE_BASE_URL": emuSrv.URL, "PORTONE_API_KEY": portonetest.DefaultKey,
		"PORTONE_API_SECRET": portonetest.DefaultSecret, "TEMPORAL_ADDRESS": dead})
	status, body := postV2(t, off, "msg_1", v2Secret, time.Now(), []byte(`{"type":"Transaction.Paid","data":{}}`))
	require.Equal(t, http.StatusNotFound, status, body)
	require.Contains(t, body, "PortOne V2 is not configured")

	env := v2Env(map[string]string{"PORTONE_BASE_URL": emuSrv.URL, "PORTONE_V2_BASE_URL": v2Srv.URL, "TEMPORAL_ADDRESS": dead})
	on := startRun(t, env)
	key, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: "plan"})
	require.NoError(t, err)

	tests := []struct {
		name       string
		secret     string
		at         time.Time
		body       string
		wantStatus int
		want       string
	}{
		{"forged", "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!")), time.Now(),
			`{"type":"BillingKey.Issued","data":{"billingKey":"` + key.BillingKey + `"}}`, http.StatusUnauthorized, "no webhook-signature entry matches"},
		{"stale", v2Secret, time.Now().Add(-10 * time.Minute),
			`{"type":"BillingKey.Issued","data":{"billingKey":"` + key.BillingKey + `"}}`, http.StatusUnauthorized, "old"},
		{"unknown key, re-fetched at the V2 API", v2Secret, time.Now(),
			`{"type":"BillingKey.Issued","data":{"billingKey":"billing-key-none"}}`, http.StatusOK, "no issued billing key"},
		{"real key: verified, then Temporal is down", v2Secret, time.Now(),
			`{"type":"BillingKey.Issued","data":{"billingKey":"` + key.BillingKey + `"}}`, http.StatusServiceUnavailable, "retry"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postV2(t, on, fmt.Sprintf("msg_%d", i), tt.secret, tt.at, []byte(tt.body))
			require.Equal(t, tt.wantStatus, status, body)
			require.Contains(t, body, tt.want)
		})
	}
}
