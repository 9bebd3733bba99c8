package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/temporaltest"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/metrics"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// scrape fetches /metrics over HTTP, as Prometheus does, and parses the exposition.
func scrape(t *testing.T, r *metrics.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err, "exposition must parse")
	return fams
}

// value returns the value of the series of family name whose labels include want, or -1.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestBillingMetricsInTheScrape(t *testing.T) {
	r := metrics.New()
	r.Charge(billing.OutcomePaid, metrics.DeclineNone, 9900, 120*time.Millisecond, true)
	r.Charge(billing.OutcomePaid, metrics.DeclineNone, 100, 0, false)
	r.Charge(billing.OutcomeDeclined, metrics.DeclineInsufficientFunds, 9900, 0, true)
	r.Charge(billing.OutcomeDeclinedHard, "some-customer-specific-text", 9900, 0, true)
	r.Charge("made_up", metrics.DeclineNone, 1, 0, false)
	r.Refunded(4000)
	r.Refunded(-5) // ignored: a counter never goes down
	r.Webhook(metrics.VerdictAccepted)
	r.Webhook("sub-1001-k3xq-12-1") // an ID must never become a label value
	r.ActivityStarted("Charge", 3*time.Second)

	fams := scrape(t, r)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{metrics.ChargesTotal, map[string]string{"outcome": "paid", "decline_class": "none"}, 2},
		{metrics.ChargesTotal, map[string]string{"outcome": "declined", "decline_class": "insufficient_funds"}, 1},
		{metrics.ChargesTotal, map[string]string{"outcome": "declined_hard", "decline_class": "other"}, 1},
		{metrics.ChargesTotal, map[string]string{"outcome": "amount_mismatch", "decline_class": "none"}, 0},
		{metrics.ChargesTotal, map[string]string{"outcome": "other"}, 1},
		{metrics.ChargedKRWTotal, nil, 10000},
		{metrics.RefundedKRWTotal, nil, 4000},
		{metrics.ChargeLateness, nil, 1},
		{metrics.WebhooksTotal, map[string]string{"verdict": "accepted"}, 1},
		{metrics.WebhooksTotal, map[string]string{"verdict": "other"}, 1},
		{metrics.WebhooksTotal, map[string]string{"verdict": "retry_portone"}, 0},
		{metrics.ActivityQueueWait, map[string]string{"activity": "Charge"}, 1},
		{metrics.ParkedSubscriptions, nil, 0},
		{"go_goroutines", nil, -2}, // present, any value
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := value(fams, tt.name, tt.labels)
			if tt.want == -2 {
				assert.GreaterOrEqual(t, got, 0.0)
				return
			}
			assert.Equal(t, tt.want, got, "%s%v", tt.name, tt.labels)
		})
	}
	// The lateness observation fell in the right bucket.
	h := fams[metrics.ChargeLateness].GetMetric()[0].GetHistogram()
	assert.InDelta(t, 0.12, h.GetSampleSum(), 1e-9)
}

func TestPortOneResultClasses(t *testing.T) {
	tests := []struct {
		name string
		e    portone.Exchange
		want string
	}{
		{"accepted", portone.Exchange{HTTPStatus: 200, HasCode: true}, metrics.ResultOK},
		{"refused in the envelope", portone.Exchange{HTTPStatus: 200, HasCode: true, Code: -1}, metrics.ResultRefused},
		{"not an envelope", portone.Exchange{HTTPStatus: 200}, metrics.ResultBadAnswer},
		{"lookup miss", portone.Exchange{HTTPStatus: 404, HasCode: true, Code: 1}, metrics.ResultNotFound},
		{"bad request", portone.Exchange{HTTPStatus: 400, HasCode: true, Code: 1}, metrics.ResultRefused},
		{"token refused", portone.Exchange{HTTPStatus: 401}, metrics.ResultUnauthorized},
		{"throttled", portone.Exchange{HTTPStatus: 429}, metrics.ResultRateLimited},
		{"gateway down", portone.Exchange{HTTPStatus: 503}, metrics.ResultServerError},
		{"connection refused", portone.Exchange{Err: errors.New("dial tcp: connection refused")}, metrics.ResultTransportError},
		{"deadline", portone.Exchange{Err: context.DeadlineExceeded}, metrics.ResultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, metrics.ResultClass(tt.e))
		})
	}
}

func TestPortOneOpsAreBounded(t *testing.T) {
	r := metrics.New()
	r.ObservePortOne(portone.Exchange{Op: "POST /subscribe/payments/again", HTTPStatus: 200, HasCode: true, Duration: 3 * time.Millisecond})
	for i := range 100 {
		r.ObservePortOne(portone.Exchange{Op: "GET /payments/imp_" + strings.Repeat("9", i%50+1), HTTPStatus: 404})
	}
	fams := scrape(t, r)
	assert.Equal(t, 1.0, value(fams, metrics.PortOneRequestsTotal, map[string]string{"op": "POST /subscribe/payments/again", "result": "ok"}))
	assert.Equal(t, 1.0, value(fams, metrics.PortOneRequestSeconds, map[string]string{"op": "POST /subscribe/payments/again"}))
	assert.LessOrEqual(t, len(fams[metrics.PortOneRequestsTotal].GetMetric()), 41, "op label values are capped")
	assert.Positive(t, value(fams, metrics.PortOneRequestsTotal, map[string]string{"op": "other"}))
}

func TestSDKHandlerCountersGaugesTimers(t *testing.T) {
	r := metrics.New()
	h := r.SDKHandler().WithTags(map[string]string{"namespace": "default", "task_queue": "billing", "workflow_type": billing.WorkflowType})
	h.WithTags(map[string]string{metrics.LabelMode: "again"}).Counter(metrics.WorkflowCyclesCharged).Inc(2)
	h.WithTags(map[string]string{metrics.LabelMode: "again"}).Counter(metrics.WorkflowCyclesCharged).Inc(1)
	// A later use with a missing and an extra tag lands in the same family, not a panic.
	h.WithTags(map[string]string{"surprise": "x"}).Counter(metrics.WorkflowCyclesCharged).Inc(1)
	h.Gauge("temporal_num_pollers").Update(3)
	h.Timer("temporal_activity_execution_latency").Record(250 * time.Millisecond)
	// A name that clashes with one of ours is dropped, not a panic.
	r.SDKHandler().Gauge(metrics.ParkedSubscriptions).Update(99)

	fams := scrape(t, r)
	assert.Equal(t, 3.0, value(fams, metrics.WorkflowCyclesCharged+"_total", map[string]string{"mode": "again", "task_queue": "billing"}))
	assert.Equal(t, 1.0, value(fams, metrics.WorkflowCyclesCharged+"_total", map[string]string{"mode": ""}))
	assert.Equal(t, 3.0, value(fams, "temporal_num_pollers", map[string]string{"namespace": "default"}))
	assert.Equal(t, 1.0, value(fams, "temporal_activity_execution_latency_seconds", nil))
	assert.Equal(t, 0.0, value(fams, metrics.ParkedSubscriptions, nil))
}

type fakeCounter struct {
	n     int64
	err   error
	query string
}

func (f *fakeCounter) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.query = req.GetQuery()
	if f.err != nil {
		return nil, f.err
	}
	return &workflowservice.CountWorkflowExecutionsResponse{Count: f.n}, nil
}

func TestCountParked(t *testing.T) {
	r := metrics.New()
	c := &fakeCounter{n: 4}
	n, err := r.CountParked(context.Background(), c, "default")
	require.NoError(t, err)
	assert.Equal(t, int64(4), n)
	assert.Contains(t, c.query, "NeedsAttention = true")
	c.err = errors.New("visibility unavailable")
	_, err = r.CountParked(context.Background(), c, "default")
	require.Error(t, err)
	fams := scrape(t, r)
	assert.Equal(t, 4.0, value(fams, metrics.ParkedSubscriptions, nil), "a failed count keeps the last value")
	assert.Equal(t, 1.0, value(fams, metrics.ParkedCountErrors, nil))
	assert.Positive(t, value(fams, metrics.ParkedCountedAt, nil))
}

// The registry is what the activities report to.
var _ activities.Observer = (*metrics.Registry)(nil)

// TestDeclineClassesAgree keeps activities.DeclineClass within the label values this package
// pre-registers and documents.
func TestDeclineClassesAgree(t *testing.T) {
	reasons := []string{"", "[네이버페이] 결제수단의 잔액이 부족합니다.", "한도초과", "승인거부", "유효하지 않은 빌링키", "whatever"}
	for _, o := range []billing.Outcome{billing.OutcomePaid, billing.OutcomeDeclined, billing.OutcomeDeclinedHard, billing.OutcomeAmountMismatch} {
		for _, r := range reasons {
			assert.Contains(t, metrics.DeclineClasses, activities.DeclineClass(o, r), "%s %q", o, r)
		}
	}
}

// TestWorkflowCounterThroughTheSDK runs a real workflow on a real Temporal server whose client
// has the registry's SDK handler, emits a counter through workflow.GetMetricsHandler as the
// subscription workflow will, and finds it, with the SDK's own metrics, in the scrape.
func TestWorkflowCounterThroughTheSDK(t *testing.T) {
	r := metrics.New()
	ts := temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{MetricsHandler: r.SDKHandler()}))
	wf := func(ctx workflow.Context) error {
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelMode: "again"}).Counter(metrics.WorkflowCyclesCharged).Inc(1)
		return workflow.Sleep(ctx, time.Millisecond)
	}
	ts.NewWorker("metrics-test", func(reg worker.Registry) {
		reg.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "EmitsCounter"})
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := ts.GetDefaultClient().ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "metrics-test"}, "EmitsCounter")
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))

	fams := scrape(t, r)
	// Exactly once per emission, with the workflow's own tags added by the SDK.
	assert.Equal(t, 1.0, value(fams, metrics.WorkflowCyclesCharged+"_total", map[string]string{"mode": "again", "workflow_type": "EmitsCounter"}))
	assert.Positive(t, value(fams, "temporal_workflow_completed_total", nil), "the SDK's own metrics are there too")
}

type countingCounter struct {
	fakeCounter
	calls chan struct{}
}

func (c *countingCounter) CountWorkflow(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	select {
	case c.calls <- struct{}{}:
	default:
	}
	return c.fakeCounter.CountWorkflow(ctx, req)
}

// TestWatchParkedCountsUntilCancelled: the loop counts at once, then every interval, reports
// failures, and returns when its context ends.
func TestWatchParkedCountsUntilCancelled(t *testing.T) {
	r := metrics.New()
	c := &countingCounter{fakeCounter: fakeCounter{n: 2}, calls: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var errs int
	go func() {
		defer close(done)
		r.WatchParked(ctx, c, "default", 5*time.Millisecond, func(error) { errs++ })
	}()
	for i := range 3 {
		select {
		case <-c.calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("count %d never came", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchParked did not return after cancel")
	}
	assert.Equal(t, 0, errs)
	assert.Equal(t, 2.0, value(scrape(t, r), metrics.ParkedSubscriptions, nil))
}

func TestResultClassV2(t *testing.T) {
	tests := []struct {
		name string
		e    portonev2.Exchange
		want string
	}{
		{"paid", portonev2.Exchange{HTTPStatus: 200}, metrics.ResultOK},
		{"payment not found", portonev2.Exchange{HTTPStatus: 404, ErrorType: "PAYMENT_NOT_FOUND"}, metrics.ResultNotFound},
		{"declined by the PG", portonev2.Exchange{HTTPStatus: 502, ErrorType: "PG_PROVIDER"}, metrics.ResultRefused},
		{"already paid", portonev2.Exchange{HTTPStatus: 409, ErrorType: "ALREADY_PAID"}, metrics.ResultRefused},
		{"secret refused", portonev2.Exchange{HTTPStatus: 401, ErrorType: "UNAUTHORIZED"}, metrics.ResultUnauthorized},
		{"throttled", portonev2.Exchange{HTTPStatus: 429}, metrics.ResultRateLimited},
		{"gateway down", portonev2.Exchange{HTTPStatus: 503}, metrics.ResultServerError},
		{"a proxy's 502 page", portonev2.Exchange{HTTPStatus: 502}, metrics.ResultServerError},
		{"a redirect", portonev2.Exchange{HTTPStatus: 302}, metrics.ResultBadAnswer},
		{"unreadable 200", portonev2.Exchange{HTTPStatus: 200, Err: errors.New("decoding")}, metrics.ResultBadAnswer},
		{"connection refused", portonev2.Exchange{Err: errors.New("dial tcp: connection refused")}, metrics.ResultTransportError},
		{"deadline", portonev2.Exchange{Err: context.DeadlineExceeded}, metrics.ResultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, metrics.ResultClassV2(tt.e))
		})
	}
}

// TestPortOneRequestsByGeneration drives the real V2 client against the emulator's V2 API and
// the real V1 client against its V1 API, both observed by one registry: each exchange is
// counted under its generation, route template and result class (a PG decline as refused),
// and no billing key, payment id or transaction id reaches a label.
func TestPortOneRequestsByGeneration(t *testing.T) {
	r := metrics.New()
	emu := portonetest.New(portonetest.Options{})
	defer emu.Close()
	v2 := httptest.NewServer(emu.V2Handler())
	defer v2.Close()
	v1 := httptest.NewServer(emu)
	defer v1.Close()
	g2, err := portonev2.New(portonev2.Config{BaseURL: v2.URL, Secret: portonetest.DefaultV2Secret, StoreID: portonetest.DefaultStoreID,
		ChannelKey: portonetest.DefaultV2ChannelKey, Observer: r.ObservePortOneV2})
	require.NoError(t, err)
	g1, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(v1.URL), portone.WithObserver(r.ObservePortOne))
	require.NoError(t, err)
	key, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "metrics-issue", IssueName: "Plan", NaverAccount: "naver-metrics"})
	require.NoError(t, err)
	ctx := context.Background()

	_, err = g2.Charge(ctx, gateway.ChargeRequest{Key: key.BillingKey, PaymentID: "pay-metrics-1", Amount: 9900, Name: "Plan"})
	require.NoError(t, err)
	emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 1})
	p, err := g2.Charge(ctx, gateway.ChargeRequest{Key: key.BillingKey, PaymentID: "pay-metrics-2", Amount: 9900, Name: "Plan"})
	require.NoError(t, err, "a decline is an outcome, not an error")
	require.Equal(t, gateway.StatusFailed, p.Status)
	_, err = g1.FindPayment(ctx, "order-nobody-made", "")
	require.Error(t, err)

	fams := scrape(t, r)
	pay := map[string]string{metrics.LabelGeneration: metrics.GenerationV2, "op": "POST /payments/{paymentId}/billing-key"}
	assert.Equal(t, 1.0, value(fams, metrics.PortOneRequestsTotal, with(pay, "result", metrics.ResultOK)))
	assert.Equal(t, 1.0, value(fams, metrics.PortOneRequestsTotal, with(pay, "result", metrics.ResultRefused)), "the PG's decline")
	assert.Equal(t, 2.0, value(fams, metrics.PortOneRequestSeconds, pay))
	assert.Positive(t, value(fams, metrics.PortOneRequestsTotal, map[string]string{metrics.LabelGeneration: metrics.GenerationV2, "op": "GET /payments/{paymentId}", "result": metrics.ResultOK}),
		"the read after each pay")
	assert.Equal(t, 1.0, value(fams, metrics.PortOneRequestsTotal, map[string]string{metrics.LabelGeneration: metrics.GenerationV1, "op": "GET /payments/find/{merchant_uid}", "result": metrics.ResultNotFound}))
	for _, m := range fams[metrics.PortOneRequestsTotal].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == metrics.LabelGeneration {
				assert.Contains(t, []string{metrics.GenerationV1, metrics.GenerationV2}, l.GetValue())
			}
			for _, id := range []string{key.BillingKey, "pay-metrics", "order-nobody-made", p.TxID} {
				if id != "" {
					assert.NotContains(t, l.GetValue(), id, "no id in a label")
				}
			}
		}
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}
