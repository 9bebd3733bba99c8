package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/server/temporaltest"
	"golang.org/x/crypto/bcrypt"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/webhooks"
)

// freePort returns a loopback port that was free a moment ago (Prometheus cannot listen on
// port 0 and report the port).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRealPrometheusScrapesTheWorker runs the worker binary's run() against a real Temporal
// server and the emulator, with its merchant event stream going to a real consoleserver (built
// and run on loopback over SQLite), charges one real subscription, starts Debian's prometheus on
// loopback with a scrape config pointed at the worker's /metrics, the console's and the
// project's alerting rules, and queries Prometheus's API for our metrics, the SDK's, the read
// model's stock gauges (the charged subscription, through the stream) and the loaded rules.
func TestRealPrometheusScrapesTheWorker(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server, builds and runs consoleserver, and runs Prometheus")
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not found: install Debian's prometheus package (apt-get install prometheus) for this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ts := temporaltest.NewServer(temporaltest.WithT(t))
	require.NoError(t, temporalconn.RegisterSearchAttributes(ctx, ts.GetDefaultClient(), ts.GetDefaultNamespace()))
	emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})
	_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "prom-cust-1"})
	require.NoError(t, err)

	dir := t.TempDir()
	secret := webhooks.NewSecret()
	consoleURL, consoleMetrics := startConsole(ctx, t, dir, secret, ts.GetFrontendHostPort(), ts.GetDefaultNamespace())

	health := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	t.Setenv("PORTONE_API_KEY", portonetest.DefaultKey)
	t.Setenv("PORTONE_API_SECRET", portonetest.DefaultSecret)
	t.Setenv("PAYCYCLE_WEBHOOK_SECRETS", secret)
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(wctx, []string{"-temporal-address", ts.GetFrontendHostPort(), "-namespace", ts.GetDefaultNamespace(),
			"-portone-url", emuSrv.URL, "-health-addr", health, "-portone-rate", "5", "-parked-count-interval", "1s", "-log-level", "warn",
			"-webhook-urls", consoleURL + "/events"}, io.Discard)
	}()
	t.Cleanup(func() { stopWorker(); <-done })
	waitHTTP(t, "http://"+health+"/healthz")

	in := billing.SubscriptionInput{SubscriptionID: "prom-1", CustomerUID: "prom-cust-1",
		Plan: billing.Plan{Name: "Prom", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	_, err = ts.GetDefaultClient().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(in.SubscriptionID), TaskQueue: billing.TaskQueue},
		billing.WorkflowType, in)
	require.NoError(t, err)

	// A parked subscription: a Subscription run flagged NeedsAttention, on a queue nobody polls
	// (the workflow itself sets the flag once the lead's change lands).
	_, err = ts.GetDefaultClient().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "subscription/parked-1", TaskQueue: "nobody-polls",
		TypedSearchAttributes: sdktemporal.NewSearchAttributes(billing.SANeedsAttention.ValueSet(true))}, billing.WorkflowType, in)
	require.NoError(t, err)

	rules, err := filepath.Abs("../deploy/prometheus/alerts.yml")
	require.NoError(t, err)
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: paycycle-worker
    static_configs:
      - targets: [%q]
  - job_name: paycycle-console
    static_configs:
      - targets: [%q]
`, rules, health, consoleMetrics)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600))
	var promLog strings.Builder
	cmd := exec.CommandContext(ctx, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promLog.String())
		}
	})

	// Each query must return at least one series with a value ≥ min, within the deadline.
	queries := []struct {
		q   string
		min float64
	}{
		{`up{job="paycycle-worker"}`, 1},
		{`paycycle_charges_total{outcome="paid",decline_class="none"}`, 1},
		{`paycycle_charged_krw_total`, 9900},
		{`sum(paycycle_portone_requests_total{op="POST /subscribe/payments/again",result="ok"})`, 1},
		{`sum(paycycle_activity_queue_wait_seconds_count{activity="Charge"})`, 1},
		{`paycycle_parked_last_count_timestamp_seconds`, 1},
		{`paycycle_parked_subscriptions`, 1},
		{`sum(temporal_request_total)`, 1},                            // the SDK's client metrics
		{`sum(temporal_activity_execution_latency_seconds_count)`, 1}, // the SDK's worker metrics
		// The console's stock gauges: the subscription the worker charged, projected from the
		// worker's event stream into the console's read model.
		{`up{job="paycycle-console"}`, 1},
		{`paycycle_readmodel_up{job="paycycle-console"}`, 1},
		{`paycycle_readmodel_subscriptions{job="paycycle-console",status="active"}`, 1},
		{`paycycle_readmodel_mrr_krw{job="paycycle-console"}`, 9900},
		{`paycycle_readmodel_charges_due_next_24h{job="paycycle-console"}`, 0},
	}
	api := "http://" + promAddr + "/api/v1/query?query="
	for _, q := range queries {
		var last string
		ok := eventually(ctx, 90*time.Second, func() bool {
			v, body := promQuery(api + url.QueryEscape(q.q))
			last = body
			return v >= q.min
		})
		require.True(t, ok, "query %s: no series ≥ %v; last answer %s", q.q, q.min, last)
	}
	// The alerting rules are loaded, and none fires for a healthy worker.
	res, err := http.Get("http://" + promAddr + "/api/v1/rules")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, name := range []string{"PaycycleChargesFailing", "PaycycleChargesLate", "PaycycleSubscriptionsParked", "PaycyclePortOneErrors", "PaycycleWorkerDown", "PaycycleNoWorker"} {
		require.Contains(t, string(b), name)
	}
	require.NotContains(t, string(b), `"state":"firing"`)

	checkDashboardAndRules(t, "http://"+promAddr)
}

// emittedOnEventOnly are metric names that exist only once something happened: the workflow's
// own counters (emitted by workflow code) and the SDK's failure counter.
var emittedOnEventOnly = map[string]bool{
	"paycycle_dunning_entered_total": true, "paycycle_dunning_recovered_total": true,
	"paycycle_dunning_final_action_total": true, "paycycle_cycles_charged_total": true,
	"paycycle_attempts_withheld_total": true,
	"temporal_request_failure_total":   true,
}

var metricName = regexp.MustCompile(`\b(?:paycycle|temporal)_[a-z_]+\b`)

// consoleJob is the console's scrape job (deploy/prometheus/prometheus.yml).
const consoleJob = "paycycle-console"

// checkDashboardAndRules runs every query of the Grafana dashboard against the real Prometheus
// (it must be valid PromQL) and checks that every metric the dashboard and the alerting rules
// name is one the worker or the console exports (the read model's gauges: from the console's
// job itself), so that a renamed metric cannot leave a panel or an alert silently empty.
func checkDashboardAndRules(t *testing.T, prom string) {
	t.Helper()
	known := map[string]bool{}
	res, err := http.Get(prom + "/api/v1/label/__name__/values")
	require.NoError(t, err)
	var names struct {
		Data []string `json:"data"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&names))
	res.Body.Close()
	for _, n := range names.Data {
		known[n] = true
	}
	raw, err := os.ReadFile("../deploy/grafana/paycycle.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	rules, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	require.NoError(t, err)
	var exprs []string
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			q := strings.ReplaceAll(tg.Expr, "$__rate_interval", "1m")
			_, body := promQuery(prom + "/api/v1/query?query=" + url.QueryEscape(q))
			require.Contains(t, body, `"status":"success"`, "panel %q: %s", p.Title, q)
			exprs = append(exprs, q)
		}
	}
	exprs = append(exprs, string(rules))
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			if emittedOnEventOnly[n] {
				continue
			}
			require.True(t, known[n] || known[n+"_bucket"], "metric %s (in the dashboard or the rules) is not exported by the worker or the console", n)
			if strings.HasPrefix(n, "paycycle_readmodel_") {
				v, body := promQuery(prom + "/api/v1/query?query=" + url.QueryEscape(fmt.Sprintf(`count(%s{job=%q})`, n, consoleJob)))
				require.GreaterOrEqual(t, v, 1.0, "metric %s is the console's, but its job does not export it: %s", n, body)
			}
		}
	}
}

// startConsole builds consoleserver and runs it on loopback over SQLite in dir, with the stream's
// secret and a staff login, and returns its URL and its metrics address.
func startConsole(ctx context.Context, t *testing.T, dir, secret, temporalAddr, namespace string) (string, string) {
	t.Helper()
	bin := filepath.Join(dir, "consoleserver")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../consoleserver").CombinedOutput()
	require.NoError(t, err, "go build ../consoleserver: %s", out)
	hash, err := bcrypt.GenerateFromPassword([]byte("prometheus-test"), bcrypt.MinCost)
	require.NoError(t, err)
	addr, metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.CommandContext(ctx, bin, "-addr", addr, "-metrics-addr", metricsAddr, "-readmodel", "sqlite:"+filepath.Join(dir, "readmodel.db"),
		"-temporal-address", temporalAddr, "-namespace", namespace, "-log-level", "warn")
	cmd.Env = append(os.Environ(), "PAYCYCLE_CONSOLE_STAFF=ops:viewer:"+string(hash), "PAYCYCLE_WEBHOOK_SECRETS="+secret)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("consoleserver output:\n%s", log.String())
		}
	})
	waitHTTP(t, "http://"+addr+"/healthz")
	return "http://" + addr, metricsAddr
}

// promQuery runs an instant query and returns the largest sample value (-1 when none).
func promQuery(u string) (float64, string) {
	res, err := http.Get(u)
	if err != nil {
		return -1, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &out) != nil || out.Status != "success" {
		return -1, string(b)
	}
	best := -1.0
	for _, r := range out.Data.Result {
		var v float64
		if s, ok := r.Value[1].(string); ok {
			_, _ = fmt.Sscan(s, &v)
			best = max(best, v)
		}
	}
	return best, string(b)
}

func eventually(ctx context.Context, limit time.Duration, f func() bool) bool {
	deadline := time.Now().Add(limit)
	for i := 0; i < 1000 && time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		if f() {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

func waitHTTP(t *testing.T, u string) {
	t.Helper()
	ok := eventually(context.Background(), 60*time.Second, func() bool {
		res, err := http.Get(u)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	require.True(t, ok, "%s never answered 200", u)
}
