package localtemporal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/localtemporal"
)

const (
	testQueue    = "localtemporal-test"
	testWorkflow = "LocalTemporalTimer"
	testTimer    = 10 * time.Second
)

// timerWorkflow sleeps on a durable timer, then upserts two of the project's search attributes,
// one of which is registered only on the second start: it proves both the timer and the
// attribute registration survive a restart.
func timerWorkflow(ctx workflow.Context, d time.Duration) (string, error) {
	if err := workflow.Sleep(ctx, d); err != nil {
		return "", err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		billing.SABillingStatus.ValueSet("active"),
		billing.SAAmountKRW.ValueSet(9900),
	); err != nil {
		return "", err
	}
	return "fired", nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func quietLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }

func startServer(ctx context.Context, t *testing.T, opts localtemporal.Options) *localtemporal.Server {
	t.Helper()
	begin := time.Now()
	s, err := localtemporal.Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("localtemporal.Start took %s (data dir %s)", time.Since(begin).Round(time.Millisecond), opts.DataDir)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func startWorker(ctx context.Context, t *testing.T, s *localtemporal.Server) (client.Client, worker.Worker) {
	t.Helper()
	c, err := s.Dial(ctx, client.Options{Logger: quietLogger()})
	require.NoError(t, err)
	w := worker.New(c, testQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(timerWorkflow, workflow.RegisterOptions{Name: testWorkflow})
	require.NoError(t, w.Start())
	return c, w
}

func historyHas(ctx context.Context, c client.Client, id string, et enumspb.EventType) (bool, error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false, err
		}
		if ev.GetEventType() == et {
			return true, nil
		}
	}
	return false, nil
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s (last error: %v)", what, timeout, lastErr)
}

func searchAttributes(ctx context.Context, t *testing.T, c client.Client, ns string) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	return resp.GetCustomAttributes()
}

func TestServerSurvivesRestartWithPendingTimer(t *testing.T) {
	testgate.Slow(t, "starts a Temporal server twice")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := t.TempDir()
	opts := localtemporal.Options{
		DataDir:       dir,
		FrontendAddr:  freeAddr(t),
		UIAddr:        freeAddr(t),
		CodecEndpoint: "http://127.0.0.1:8234",
		// The first start registers only some attributes, as an older version of the project
		// would have; the second start must add the rest to the existing namespace.
		SearchAttributes: billing.SearchAttributes[:3],
	}
	s := startServer(ctx, t, opts)
	require.Equal(t, opts.FrontendAddr, s.FrontendAddr())
	require.Equal(t, "http://"+opts.UIAddr, s.UIURL())
	require.Equal(t, "default", s.Namespace())

	c, w := startWorker(ctx, t, s)

	// Namespace and search attributes.
	desc, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	require.NoError(t, err)
	require.Equal(t, localtemporal.DefaultRetention, desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration())
	sas := searchAttributes(ctx, t, c, "default")
	for _, d := range billing.SearchAttributes[:3] {
		require.Contains(t, sas, d.Name)
		require.Equal(t, d.Type, sas[d.Name].String(), d.Name)
	}
	require.NotContains(t, sas, billing.SAAmountKRW.GetName())

	// Web UI: HTML at /, settings with Start Workflow enabled and the codec endpoint.
	checkUI(ctx, t, s.UIURL(), opts.CodecEndpoint)

	// A second server on the same ports, or on the same data dir, fails at once and says why.
	t.Run("occupied port", func(t *testing.T) {
		begin := time.Now()
		_, err := localtemporal.Start(ctx, localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: opts.FrontendAddr, DisableUI: true})
		var pe *localtemporal.PortInUseError
		require.ErrorAs(t, err, &pe)
		_, port, _ := net.SplitHostPort(opts.FrontendAddr)
		require.Contains(t, err.Error(), "port "+port+" is already in use")
		require.Contains(t, err.Error(), "Options.FrontendAddr")
		require.Less(t, time.Since(begin), 5*time.Second)

		_, err = localtemporal.Start(ctx, localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: freeAddr(t), UIAddr: opts.UIAddr})
		require.ErrorAs(t, err, &pe)
		require.Contains(t, err.Error(), "Options.UIAddr")
	})
	t.Run("data dir in use", func(t *testing.T) {
		_, err := localtemporal.Start(ctx, localtemporal.Options{DataDir: dir, FrontendAddr: freeAddr(t), DisableUI: true})
		require.ErrorContains(t, err, "is in use by")
	})

	// A workflow waits on a timer.
	const id = "localtemporal-restart"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: testQueue}, testWorkflow, testTimer)
	require.NoError(t, err)
	startedAt := time.Now()
	eventually(t, 30*time.Second, "timer started", func() (bool, error) {
		return historyHas(ctx, c, id, enumspb.EVENT_TYPE_TIMER_STARTED)
	})
	fired, err := historyHas(ctx, c, id, enumspb.EVENT_TYPE_TIMER_FIRED)
	require.NoError(t, err)
	require.False(t, fired, "the timer must still be pending when the server stops")

	// Stop everything while the timer is pending.
	w.Stop()
	c.Close()
	begin := time.Now()
	require.NoError(t, s.Stop())
	t.Logf("Stop took %s", time.Since(begin).Round(time.Millisecond))
	require.NoError(t, s.Stop(), "Stop is idempotent")
	_, err = net.DialTimeout("tcp", opts.FrontendAddr, time.Second)
	require.Error(t, err, "the frontend must be closed after Stop")

	// Start again on the same data dir, now with every project search attribute.
	opts.SearchAttributes = nil
	s2 := startServer(ctx, t, opts)
	c2, w2 := startWorker(ctx, t, s2)
	defer w2.Stop()
	defer c2.Close()

	sas = searchAttributes(ctx, t, c2, "default")
	for _, d := range billing.SearchAttributes {
		require.Contains(t, sas, d.Name)
		require.Equal(t, d.Type, sas[d.Name].String(), d.Name)
	}

	// The timer fires after the restart and the workflow completes.
	waitCtx, waitCancel := context.WithTimeout(ctx, 90*time.Second)
	defer waitCancel()
	var result string
	require.NoError(t, c2.GetWorkflow(waitCtx, id, run.GetRunID()).Get(waitCtx, &result))
	require.Equal(t, "fired", result)
	require.GreaterOrEqual(t, time.Since(startedAt), testTimer)
	fired, err = historyHas(ctx, c2, id, enumspb.EVENT_TYPE_TIMER_FIRED)
	require.NoError(t, err)
	require.True(t, fired)
	t.Logf("workflow completed %s after it started (timer %s)", time.Since(startedAt).Round(time.Millisecond), testTimer)

	// The attribute registered on the second start is indexed and queryable.
	eventually(t, 20*time.Second, "workflow found by search attributes", func() (bool, error) {
		resp, err := c2.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "AmountKRW = 9900 AND BillingStatus = 'active' AND WorkflowId = '" + id + "'",
		})
		if err != nil {
			return false, err
		}
		return len(resp.GetExecutions()) == 1, nil
	})
}

func checkUI(ctx context.Context, t *testing.T, base, codecEndpoint string) {
	t.Helper()
	get := func(path string) (*http.Response, []byte) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		require.NoError(t, err)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
	resp, body := get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	require.Contains(t, strings.ToLower(string(body)), "<html")

	resp, body = get("/api/v1/settings")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var settings struct {
		DefaultNamespace      string
		StartWorkflowDisabled bool
		DisableWriteActions   bool
		Codec                 struct{ Endpoint string }
	}
	require.NoError(t, json.Unmarshal(body, &settings), string(body))
	require.False(t, settings.StartWorkflowDisabled, "the billing team starts subscriptions from the UI")
	require.False(t, settings.DisableWriteActions)
	require.Equal(t, codecEndpoint, settings.Codec.Endpoint)
	require.Equal(t, "default", settings.DefaultNamespace)
}

func TestOptionsAreChecked(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		opts localtemporal.Options
		want string
	}{
		"no data dir":      {localtemporal.Options{}, "DataDir is required"},
		"public frontend":  {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "0.0.0.0:7233"}, "only loopback"},
		"no host":          {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: ":7233"}, "only loopback"},
		"public UI":        {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:7233", UIAddr: "192.168.1.10:8233"}, "only loopback"},
		"bad port":         {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:99999"}, "1..65535"},
		"short retention":  {localtemporal.Options{DataDir: t.TempDir(), Retention: time.Hour}, "minimum of 24h"},
		"unknown SA type":  {localtemporal.Options{DataDir: t.TempDir(), SearchAttributes: []billing.SearchAttributeDef{{Name: "X", Type: "Number"}}}, `unknown type "Number"`},
		"same addr twice":  {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: "127.0.0.1:7233", UIAddr: "localhost:7233"}, "cannot share"},
		"unknown loglevel": {localtemporal.Options{DataDir: t.TempDir(), FrontendAddr: freeAddr(t), DisableUI: true, LogLevel: "loud"}, "log level"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := localtemporal.Start(ctx, tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestPortInUseErrorNamesPortAndOption(t *testing.T) {
	err := error(&localtemporal.PortInUseError{Service: "Temporal frontend", Addr: "127.0.0.1:7233", Option: "-temporal-port", Err: errors.New("bind")})
	require.Equal(t, "localtemporal: port 7233 is already in use, so the Temporal frontend cannot listen on 127.0.0.1:7233 "+
		"(is another dev server or temporal server running?); stop it or choose another port with -temporal-port", err.Error())
}
