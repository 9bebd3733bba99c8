package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/paycycle/paycycle/console"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/testgate"
)

// TestRunRefusesBadSettings: every refusal names the flag or the variable.
func TestRunRefusesBadSettings(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	require.NoError(t, err)
	staff := "kim:operator:" + string(hash)
	db := "sqlite:" + filepath.Join(t.TempDir(), "rm.db")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"no read model", nil, map[string]string{console.EnvStaff: staff}, "-readmodel (PAYCYCLE_READMODEL_DSN) is required"},
		{"bad read model", []string{"-readmodel", "mysql://x"}, map[string]string{console.EnvStaff: staff}, "-readmodel (PAYCYCLE_READMODEL_DSN)"},
		{"no login", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, nil, "no way to log in: set PAYCYCLE_CONSOLE_STAFF"},
		{"bad staff", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, map[string]string{console.EnvStaff: "kim:root:" + string(hash)}, `PAYCYCLE_CONSOLE_STAFF entry 1 (login "kim"): roles: unknown role "root"`},
		{"oidc without client", []string{"-readmodel", db, "-addr", "127.0.0.1:0", "-oidc-issuer", "http://127.0.0.1:1"}, nil, "-oidc-client-id (PAYCYCLE_CONSOLE_OIDC_CLIENT_ID) is required"},
		{"idle over max", []string{"-readmodel", db, "-addr", "127.0.0.1:0", "-session-idle", "2h", "-session-max", "1h"}, map[string]string{console.EnvStaff: staff}, "-session-idle (PAYCYCLE_CONSOLE_SESSION_IDLE)"},
		{"bad duration variable", []string{"-readmodel", db}, map[string]string{console.EnvStaff: staff, EnvSessionIdle: "30"}, "PAYCYCLE_CONSOLE_SESSION_IDLE"},
		{"bad webhook secrets", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, map[string]string{console.EnvStaff: staff, EnvWebhookSecrets: "not-a-secret"}, "PAYCYCLE_WEBHOOK_SECRETS"},
		{"listen address without a port", []string{"-readmodel", db}, map[string]string{console.EnvStaff: staff, EnvAddr: "0.0.0.0"}, "PAYCYCLE_CONSOLE_ADDR"},
		{"metrics address that is a URL", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, map[string]string{console.EnvStaff: staff, EnvMetricsAddr: "http://127.0.0.1:9464/metrics"}, "PAYCYCLE_CONSOLE_METRICS_ADDR"},
		{"public URL without a scheme", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, map[string]string{console.EnvStaff: staff, EnvPublicURL: "console.example"}, "PAYCYCLE_CONSOLE_PUBLIC_URL"},
		{"issuer without a scheme", []string{"-readmodel", db, "-addr", "127.0.0.1:0"}, map[string]string{console.EnvStaff: staff, EnvOIDCIssuer: "accounts.example.com"}, "PAYCYCLE_CONSOLE_OIDC_ISSUER"},
		{"stray argument", []string{"serve"}, nil, "unexpected arguments"},
		{"proxy without trusted peers", []string{"-readmodel", db, "-addr", "127.0.0.1:0", "-proxy-header", "X-Forwarded-Email"}, nil, "-proxy-trusted (PAYCYCLE_CONSOLE_PROXY_TRUSTED) is required"},
		{"proxy with a host name", []string{"-readmodel", db, "-addr", "127.0.0.1:0", "-proxy-header", "X-Forwarded-Email", "-proxy-trusted", "proxy.internal"}, nil, `-proxy-trusted (PAYCYCLE_CONSOLE_PROXY_TRUSTED): "proxy.internal"`},
		{"proxy with an unknown role", []string{"-readmodel", db, "-addr", "127.0.0.1:0", "-proxy-header", "X-Forwarded-Email", "-proxy-trusted", "127.0.0.1", "-proxy-default-roles", "boss"}, nil, `unknown role "boss"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, tt.args, strings.NewReader(""), io.Discard, io.Discard, config.MapLookup(tt.env))
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), string(hash), "a hash never prints")
		})
	}
}

// TestHashPassword prints a hash ParseStaff accepts and that checks the password.
func TestHashPassword(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-hash-password"}, strings.NewReader("s3cret-password\n"), &out, io.Discard, config.MapLookup(nil)))
	h := strings.TrimSpace(out.String())
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret-password")))
	_, err := console.ParseStaff("kim::" + h)
	require.NoError(t, err)
	require.ErrorContains(t, run(context.Background(), []string{"-hash-password"}, strings.NewReader("short\n"), io.Discard, io.Discard, config.MapLookup(nil)), "at least 8")
}

// TestRunServes starts the console on loopback over SQLite, with Temporal unreachable: the
// login page answers, pages need a session, /events refuses an unsigned event, and it stops
// when the context ends.
func TestRunServes(t *testing.T) {
	testgate.Slow(t, "serves the console on loopback")
	hash, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	require.NoError(t, err)
	env := map[string]string{
		console.EnvStaff: "kim:operator:" + string(hash), EnvWebhookSecrets: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"TEMPORAL_ADDRESS": "127.0.0.1:1",
	}
	metricsAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startRun(ctx, t, []string{"-addr", "127.0.0.1:0", "-metrics-addr", metricsAddr, "-readmodel", "sqlite:" + filepath.Join(t.TempDir(), "rm.db"), "-log-format", "console"}, env)
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/healthz": 200, "/login": 200, "/": http.StatusSeeOther, "/revenue.csv": http.StatusSeeOther} {
		resp, err := c.Get(base + path)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, want, resp.StatusCode, path)
	}
	resp, err := c.Post(base+"/events", "application/json", strings.NewReader(`{"id":"evt_x_t_1"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.GreaterOrEqual(t, resp.StatusCode, 400, "an unsigned event is refused")
	resp, err = c.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Contains(t, string(metrics), "paycycle_readmodel_up 1")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the console did not stop")
	}
}

// freeAddr is a loopback address that was free a moment ago (for -metrics-addr, which reports
// no port of its own).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// running is one run() of the console in the test's process.
type running struct {
	out  *syncBuffer
	done chan error
}

// launch starts run() until ctx ends.
func launch(ctx context.Context, args []string, env map[string]string) *running {
	r := &running{out: &syncBuffer{}, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, args, nil, r.out, io.Discard, config.MapLookup(env)) }()
	return r
}

// url waits for the line run() prints once listening and returns the console's URL.
func (r *running) url(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`console listening on (http://\S+)`)
	for range 200 {
		if m := re.FindStringSubmatch(r.out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-r.done:
			t.Fatalf("the console stopped before listening: %v\n%s", err, r.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("the console did not start in 10 s: %s", r.out.String())
	return ""
}

// startRun launches run() and waits until it listens.
func startRun(ctx context.Context, t *testing.T, args []string, env map[string]string) (string, <-chan error) {
	t.Helper()
	r := launch(ctx, args, env)
	return r.url(t), r.done
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
