package edge_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/portoneconf"
	"github.com/paycycle/paycycle/portone"
)

func TestHealthAndReadiness(t *testing.T) {
	tests := []struct {
		name            string
		healthErr       error
		block           bool
		wantStatus      int
		wantStatusField string
	}{
		{"Temporal answers", nil, false, http.StatusOK, "ready"},
		{"Temporal refuses", errors.New("connection refused"), false, http.StatusServiceUnavailable, "unavailable"},
		{"Temporal hangs", nil, true, http.StatusServiceUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.wf.set(func(f *fakeWorkflows) { f.healthErr, f.healthBlock = tt.healthErr, tt.block })

			status, body, _ := e.get("/healthz")
			require.Equal(t, http.StatusOK, status, "liveness never depends on Temporal")
			require.JSONEq(t, `{"status":"ok"}`, body)

			start := time.Now()
			status, body, _ = e.get("/readyz")
			require.Equal(t, tt.wantStatus, status, body)
			require.Contains(t, body, `"status":"`+tt.wantStatusField+`"`)
			if tt.wantStatus != http.StatusOK {
				require.Contains(t, body, "Temporal health check failed")
			}
			require.Less(t, time.Since(start), 2*time.Second, "readiness is bounded by ReadyTimeout")
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil)
	for _, req := range []struct{ method, path string }{
		{http.MethodPut, "/register"},
		{http.MethodDelete, "/healthz"},
		{http.MethodPost, "/registration/result"},
		{http.MethodPatch, "/registration/complete"},
	} {
		status, _, _ := e.do(req.method, req.path, "", nil)
		require.Equal(t, http.StatusMethodNotAllowed, status, "%s %s", req.method, req.path)
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	e := newEnv(t, nil)
	e.wf.set(func(f *fakeWorkflows) { f.queryPanic = true })
	status, _, _ := e.get(e.registerLink("sub1"))
	require.Equal(t, http.StatusInternalServerError, status)
	panics := e.logs.FilterMessage("panic while serving a request").All()
	require.Len(t, panics, 1)
	require.Equal(t, zapcore.ErrorLevel, panics[0].Level)
	require.Equal(t, "GET /register/{token}", panics[0].ContextMap()["route"])

	// The server keeps serving.
	status, _, _ = e.get("/healthz")
	require.Equal(t, http.StatusOK, status)
}

func TestAccessLogsCarryNoPersonalData(t *testing.T) {
	e := newEnv(t, func(c *edge.Config) { c.Demo = true })
	const (
		tel         = "010-9876-5432"
		email       = "secret.buyer@example.com"
		customerUID = "cust-topsecret-7731"
		errorMsg    = "고객님의 카드 한도 초과"
	)
	e.wf.setState(billing.State{
		SubscriptionID: "sub1", CustomerUID: customerUID, Status: billing.StatusAwaitingRegistration, Plan: basicPlan,
		Buyer: billing.Buyer{Tel: tel, Email: email},
	})
	reg := e.register("sub1", "a1b2c3d4", customerUID)

	status, _, _ := e.postForm("/register/start", url.Values{
		"plan": {"basic-monthly"}, "subscription_id": {"demo-logs1"}, "customer_uid": {customerUID},
		"buyer_tel": {tel}, "buyer_email": {email},
	})
	require.Equal(t, http.StatusSeeOther, status)
	link := e.registerLink("sub1")
	token := strings.TrimPrefix(link, "/register/")
	status, page, _ := e.get(link + "?buyer_tel=" + url.QueryEscape(tel))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, customerUID)
	status, _, _ = e.get("/registration/complete?" + url.Values{
		"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {reg.RegistrationMerchantUID}, "imp_success": {"true"},
	}.Encode())
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = e.get("/registration/result?" + url.Values{"outcome": {"failed"}, "error_msg": {errorMsg}, "email": {email}}.Encode())
	require.Equal(t, http.StatusOK, status)
	status, _, _ = e.postJSON("/portone/webhook", map[string]string{"imp_uid": "imp_1", "merchant_uid": "order-1", "buyer_tel": tel, "buyer_email": email})
	require.Equal(t, http.StatusOK, status)

	access := e.logs.FilterMessage("request").All()
	require.Len(t, access, 5)
	routes := map[string]bool{}
	for _, entry := range access {
		fields := entry.ContextMap()
		for _, k := range []string{"method", "route", "status", "bytes", "duration", "remote_ip"} {
			require.Contains(t, fields, k)
		}
		routes[fields["route"].(string)] = true
		require.Equal(t, "127.0.0.1", fields["remote_ip"])
	}
	require.Equal(t, map[string]bool{
		"POST /register/start": true, "GET /register/{token}": true, "GET /registration/complete": true,
		"GET /registration/result": true, "POST /portone/webhook": true,
	}, routes)

	for _, entry := range e.logs.All() {
		line := entry.Message + " " + fmt.Sprint(entry.ContextMap())
		for _, secret := range []string{tel, "9876-5432", email, customerUID, errorMsg, "subscription_id=", "imp_success", "error_msg", token} {
			require.NotContains(t, line, secret, "log line %q leaks %q", entry.Message, secret)
		}
	}
}

func TestNewHTTPServerSetsEveryTimeout(t *testing.T) {
	srv := edge.NewHTTPServer("127.0.0.1:0", http.NotFoundHandler())
	require.Equal(t, "127.0.0.1:0", srv.Addr)
	require.Positive(t, srv.ReadHeaderTimeout)
	require.Positive(t, srv.ReadTimeout)
	require.Greater(t, srv.WriteTimeout, edge.DefaultRequestTimeout)
	require.Positive(t, srv.IdleTimeout)
	require.Positive(t, srv.MaxHeaderBytes)
}

func TestNewRefusesBadConfig(t *testing.T) {
	pc, err := portone.NewClient(portone.Credentials{Key: "k", Secret: "s"})
	require.NoError(t, err)
	good := edge.Config{PublicURL: "http://127.0.0.1:7790", IMPCode: "imp00000000"}
	deps := edge.Deps{Workflows: newFakeWorkflows(), PortOne: pc}
	tests := []struct {
		name   string
		modify func(c *edge.Config, d *edge.Deps)
		want   string
	}{
		{"no public URL", func(c *edge.Config, _ *edge.Deps) { c.PublicURL = "" }, "public URL"},
		{"relative public URL", func(c *edge.Config, _ *edge.Deps) { c.PublicURL = "/billing" }, "absolute"},
		{"public URL with a query", func(c *edge.Config, _ *edge.Deps) { c.PublicURL = "https://x.example?a=1" }, "query"},
		{"no IMP code", func(c *edge.Config, _ *edge.Deps) { c.IMPCode = " " }, "IMP code"},
		{"bad script URL", func(c *edge.Config, _ *edge.Deps) { c.IMPScriptURL = "javascript:alert(1)" }, "IMP script URL"},
		{"duplicate plan code", func(c *edge.Config, _ *edge.Deps) {
			c.Plans = []edge.PlanOption{edge.DefaultPlans()[0], edge.DefaultPlans()[0]}
		}, "twice"},
		{"invalid plan", func(c *edge.Config, _ *edge.Deps) {
			p := edge.DefaultPlans()[0]
			p.Amount = 5
			c.Plans = []edge.PlanOption{p}
		}, "amount"},
		{"no Temporal", func(_ *edge.Config, d *edge.Deps) { d.Workflows = nil }, "Workflows"},
		{"no PortOne", func(_ *edge.Config, d *edge.Deps) { d.PortOne = nil }, "PortOne"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, d := good, deps
			tt.modify(&c, &d)
			_, err := edge.New(c, d)
			require.ErrorContains(t, err, tt.want)
		})
	}
	srv, err := edge.New(good, deps)
	require.NoError(t, err)
	cfg := srv.Config()
	require.Equal(t, edge.DefaultIMPScriptURL, cfg.IMPScriptURL)
	require.Equal(t, edge.DefaultPG, cfg.PG)
	require.Equal(t, billing.TaskQueue, cfg.TaskQueue)
	require.Equal(t, edge.DefaultPlans(), cfg.Plans)
}

func TestFlags(t *testing.T) {
	env := map[string]string{
		edge.EnvAddr:             "127.0.0.1:0",
		edge.EnvPublicURL:        "",
		edge.EnvIMPCode:          "imp11112222",
		edge.EnvNaverChainID:     "chain-1",
		edge.EnvDemo:             "true",
		portoneconf.EnvAPIKey:    "key-from-env",
		portoneconf.EnvAPISecret: "secret-from-env",
		edge.EnvLinkSecret:       " link-secret-from-env-0123456789abcdef , older-link-secret-0123456789abcdefghij ",
		edge.EnvFullRefundDays:   "7",
	}
	parse := func(t *testing.T, env map[string]string, prefix string, args ...string) (*edge.Flags, *flag.FlagSet, error) {
		t.Helper()
		var f edge.Flags
		fs := flag.NewFlagSet("edge", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		s := config.New(fs, config.MapLookup(env))
		f.Register(s, prefix)
		f.RegisterPortOne(s)
		return &f, fs, s.Parse(args)
	}
	f, fs, err := parse(t, env, "edge-", "-edge-pg", "naverpay_test")
	require.NoError(t, err)
	require.Nil(t, fs.Lookup("addr"), "the prefix applies to every edge flag")
	require.NotNil(t, fs.Lookup("edge-addr"))
	require.Equal(t, "key-from-env", f.PortOne.Credentials.Key)
	require.NotContains(t, fmt.Sprintf("%v %+v", f, f), "secret-from-env")
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", f, f, f), "link-secret")
	require.Nil(t, fs.Lookup("edge-link-secret"), "secrets never get a flag")

	cfg, err := f.Config(&net.TCPAddr{IP: net.IPv4zero, Port: 7791})
	require.NoError(t, err)
	require.Equal(t, "http://127.0.0.1:7791", cfg.PublicURL, "a wildcard listen address becomes a reachable URL")
	require.Equal(t, "imp11112222", cfg.IMPCode)
	require.Equal(t, "naverpay_test", cfg.PG)
	require.Equal(t, "chain-1", cfg.NaverChainID)
	require.True(t, cfg.Demo)
	require.Equal(t, edge.DefaultIMPScriptURL, cfg.IMPScriptURL)
	require.Equal(t, 7, cfg.FullRefundDays)
	require.Equal(t, 2, cfg.LinkKeys.Len(), "rotation: both secrets verify")

	for name, value := range map[string]string{"short": "too-short", "a stray comma": strings.Repeat("s", 40) + ","} {
		bad, _, err := parse(t, map[string]string{edge.EnvLinkSecret: value}, "")
		require.NoError(t, err, name)
		_, err = bad.Config(&net.TCPAddr{IP: net.IPv4zero, Port: 7791})
		require.ErrorContains(t, err, edge.EnvLinkSecret, name)
		require.NotContains(t, err.Error(), value, "%s: the error never repeats the secret", name)
	}
	_, _, err = parse(t, map[string]string{edge.EnvFullRefundDays: "seven"}, "")
	require.ErrorContains(t, err, edge.EnvFullRefundDays)
	tooLong, _, err := parse(t, map[string]string{edge.EnvFullRefundDays: "60"}, "")
	require.NoError(t, err)
	_, err = tooLong.Config(&net.TCPAddr{IP: net.IPv4zero, Port: 7791})
	require.ErrorContains(t, err, "full-refund window")

	pc, err := f.NewPortOneClient()
	require.NoError(t, err)
	require.NotContains(t, pc.String(), "secret-from-env")

	_, _, err = parse(t, map[string]string{edge.EnvDemo: "maybe"}, "")
	require.ErrorContains(t, err, edge.EnvDemo)

	nokey, _, err := parse(t, map[string]string{portoneconf.EnvAPISecret: "s"}, "")
	require.NoError(t, err)
	_, err = nokey.NewPortOneClient()
	require.ErrorContains(t, err, portoneconf.EnvAPIKey)
}

func TestFlagsRunServesUntilCanceled(t *testing.T) {
	var f edge.Flags
	s := config.New(flag.NewFlagSet("edgeserver", flag.ContinueOnError),
		config.MapLookup(map[string]string{portoneconf.EnvAPIKey: "k", portoneconf.EnvAPISecret: "s"}))
	f.Register(s, "")
	f.RegisterPortOne(s)
	require.NoError(t, s.Parse(nil))
	f.Addr = "127.0.0.1:0"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, edge.Deps{Workflows: newFakeWorkflows(), Logger: zap.NewNop()}, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not become ready")
	}
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"))
	res, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusOK, res.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(edge.ShutdownTimeout + time.Second):
		t.Fatal("Run did not stop after its context ended")
	}
}
