package metrics

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
)

// LatenessBuckets are the charge-lateness histogram's buckets, in seconds: from "on time"
// (tens of milliseconds) to a day late (a worker down overnight).
var LatenessBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}

// LatencyBuckets are the buckets of request and queue-wait histograms, in seconds.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// maxOps bounds the number of distinct PortOne operations kept as label values. The client's
// route templates are far fewer; the bound guards against a future caller passing raw paths.
const maxOps = 40

// Registry is one process's metrics: a Prometheus registry with the Go and process collectors,
// the billing metrics, and whatever the Temporal SDK registers through SDKHandler.
type Registry struct {
	reg *prometheus.Registry

	charges      *prometheus.CounterVec
	chargedKRW   prometheus.Counter
	refundedKRW  prometheus.Counter
	lateness     prometheus.Histogram
	requests     *prometheus.CounterVec
	requestSecs  *prometheus.HistogramVec
	queueWait    *prometheus.HistogramVec
	webhooks     *prometheus.CounterVec
	parked       prometheus.Gauge
	parkedErrors prometheus.Counter
	parkedAt     prometheus.Gauge

	opsMu sync.Mutex
	ops   map[string]bool

	sdk *sdkMetrics
}

// New returns a Registry with every billing metric registered (at zero where the label set is
// known, so dashboards and alerts see a series before the first event).
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), ops: map[string]bool{}}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{r.reg}
	r.charges = f.counterVec(ChargesTotal, "Charge attempts settled by the Charge activity, by outcome and decline class.", "outcome", LabelDeclineClass)
	r.chargedKRW = f.counter(ChargedKRWTotal, "KRW approved by PortOne for charges (adopted payments included).")
	r.refundedKRW = f.counter(RefundedKRWTotal, "KRW refunded through PortOne (customer refunds and amount-mismatch cancels).")
	r.lateness = f.histogram(ChargeLateness, "From a cycle's due instant to PortOne's approval of its charge.", LatenessBuckets)
	r.requests = f.counterVec(PortOneRequestsTotal, "HTTP exchanges with PortOne, by API generation, route template and result class.", LabelGeneration, "op", "result")
	r.requestSecs = f.histogramVec(PortOneRequestSeconds, "Duration of HTTP exchanges with PortOne, by API generation and route template.", LatencyBuckets, LabelGeneration, "op")
	r.queueWait = f.histogramVec(ActivityQueueWait,
		"From an activity attempt's scheduling to its start on a worker: the time spent behind the task queue's rate limit and the workers' slots.",
		LatencyBuckets, "activity")
	r.webhooks = f.counterVec(WebhooksTotal, "PortOne webhooks received by the edge, by verdict.", "verdict")
	r.parked = f.gauge(ParkedSubscriptions, "Running subscriptions flagged needs_attention (visibility count; see billing.SANeedsAttention).")
	r.parkedErrors = f.counter(ParkedCountErrors, "Failed visibility counts of parked subscriptions.")
	r.parkedAt = f.gauge(ParkedCountedAt, "Unix time of the last successful count of parked subscriptions.")
	for _, o := range []billing.Outcome{billing.OutcomePaid, billing.OutcomeDeclined, billing.OutcomeDeclinedHard, billing.OutcomeAmountMismatch} {
		r.charges.WithLabelValues(string(o), DeclineNone)
	}
	for _, v := range WebhookVerdicts {
		r.webhooks.WithLabelValues(v)
	}
	r.sdk = newSDKMetrics(r.reg)
	return r
}

// Handler serves the registry in Prometheus's exposition format (GET /metrics).
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorLog: nil, Registry: r.reg})
}

// Prometheus returns the underlying registry, for tests and extra collectors.
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

var knownOutcomes = map[billing.Outcome]bool{
	billing.OutcomePaid: true, billing.OutcomeDeclined: true, billing.OutcomeDeclinedHard: true,
	billing.OutcomeRejected: true, billing.OutcomeAmountMismatch: true, billing.OutcomeUnknown: true,
}

// Charge records one settled charge attempt. lateness is from the cycle's due instant to the
// approval; it is observed only for paid charges with a known due instant (due > 0).
func (r *Registry) Charge(outcome billing.Outcome, declineClass string, amount int64, lateness time.Duration, due bool) {
	o := string(outcome)
	if !knownOutcomes[outcome] {
		o = "other"
	}
	r.charges.WithLabelValues(o, oneOf(declineClass, DeclineClasses, DeclineOther)).Inc()
	if outcome == billing.OutcomePaid {
		if amount > 0 {
			r.chargedKRW.Add(float64(amount))
		}
		if due {
			r.lateness.Observe(max(lateness, 0).Seconds())
		}
	}
}

// Refunded records a refund of amount KRW.
func (r *Registry) Refunded(amount int64) {
	if amount > 0 {
		r.refundedKRW.Add(float64(amount))
	}
}

// ActivityStarted records how long an activity attempt waited between scheduling and start.
// activityType is the registered activity name (a bounded set).
func (r *Registry) ActivityStarted(activityType string, wait time.Duration) {
	r.queueWait.WithLabelValues(activityType).Observe(max(wait, 0).Seconds())
}

// Webhook verdicts of the edge (label values of paycycle_webhooks_total).
const (
	VerdictAccepted        = "accepted"
	VerdictDuplicate       = "duplicate"
	VerdictRejected        = "rejected"
	VerdictForeign         = "ignored_foreign"
	VerdictUnknownPayment  = "ignored_unknown_payment"
	VerdictMismatch        = "ignored_mismatch"
	VerdictUnfinished      = "ignored_unfinished_registration"
	VerdictNoSubscription  = "ignored_no_subscription"
	VerdictPortOneDown     = "retry_portone"
	VerdictTemporalFailure = "retry_temporal"
	// V2 webhooks only (Standard Webhooks signatures, typed events).
	VerdictBadSignature = "rejected_signature"
	VerdictStale        = "rejected_stale"
	VerdictUnknownType  = "ignored_unknown_type"
	VerdictUnusedType   = "ignored_type"
	VerdictUnknownKey   = "ignored_unknown_billing_key"
)

// WebhookVerdicts lists every verdict.
var WebhookVerdicts = []string{VerdictAccepted, VerdictDuplicate, VerdictRejected, VerdictForeign, VerdictUnknownPayment,
	VerdictMismatch, VerdictUnfinished, VerdictNoSubscription, VerdictPortOneDown, VerdictTemporalFailure,
	VerdictBadSignature, VerdictStale, VerdictUnknownType, VerdictUnusedType, VerdictUnknownKey}

// Webhook records one webhook's verdict (one of WebhookVerdicts; others count as "other").
func (r *Registry) Webhook(verdict string) {
	r.webhooks.WithLabelValues(oneOf(verdict, WebhookVerdicts, "other")).Inc()
}

// PortOne result classes (label values of paycycle_portone_requests_total).
const (
	ResultOK             = "ok"
	ResultNotFound       = "not_found"
	ResultRefused        = "refused"
	ResultUnauthorized   = "unauthorized"
	ResultRateLimited    = "rate_limited"
	ResultServerError    = "server_error"
	ResultBadAnswer      = "bad_answer"
	ResultTimeout        = "timeout"
	ResultTransportError = "transport_error"
)

// ResultClass classifies one PortOne exchange. A 404 is its own class because a lookup that
// finds nothing is the normal first step of every charge, not an error.
func ResultClass(e portone.Exchange) string {
	switch {
	case e.Err != nil && (errors.Is(e.Err, context.DeadlineExceeded) || isTimeout(e.Err)):
		return ResultTimeout
	case e.Err != nil || e.HTTPStatus == 0:
		return ResultTransportError
	case e.HTTPStatus == http.StatusNotFound:
		return ResultNotFound
	case e.HTTPStatus == http.StatusUnauthorized:
		return ResultUnauthorized
	case e.HTTPStatus == http.StatusTooManyRequests:
		return ResultRateLimited
	case e.HTTPStatus >= 500:
		return ResultServerError
	case e.HTTPStatus >= 400:
		return ResultRefused
	case !e.HasCode:
		return ResultBadAnswer
	case e.Code != 0:
		return ResultRefused
	}
	return ResultOK
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ObservePortOne records one V1 exchange; pass it to portone.WithObserver.
func (r *Registry) ObservePortOne(e portone.Exchange) {
	op := r.boundOp(GenerationV1, e.Op)
	r.requests.WithLabelValues(GenerationV1, op, ResultClass(e)).Inc()
	r.requestSecs.WithLabelValues(GenerationV1, op).Observe(e.Duration.Seconds())
}

// ObservePortOneV2 records one V2 exchange; pass it as portonev2.Config.Observer.
func (r *Registry) ObservePortOneV2(e portonev2.Exchange) {
	op := r.boundOp(GenerationV2, e.Op)
	r.requests.WithLabelValues(GenerationV2, op, ResultClassV2(e)).Inc()
	r.requestSecs.WithLabelValues(GenerationV2, op).Observe(e.Duration.Seconds())
}

// ResultClassV2 classifies one V2 exchange into the classes V1's use. V2 answers with typed
// errors instead of V1's envelope codes: a decline is HTTP 502 PG_PROVIDER, which is the PG's
// refusal of that charge, not PortOne failing, so it counts as refused (the PortOne error-rate
// alert must not fire on declines); every other 5xx is a server error.
func ResultClassV2(e portonev2.Exchange) string {
	switch {
	case e.Err != nil && e.HTTPStatus >= 200 && e.HTTPStatus <= 299:
		return ResultBadAnswer
	case e.Err != nil && (errors.Is(e.Err, context.DeadlineExceeded) || isTimeout(e.Err)):
		return ResultTimeout
	case e.Err != nil || e.HTTPStatus == 0:
		return ResultTransportError
	case e.HTTPStatus == http.StatusNotFound:
		return ResultNotFound
	case e.HTTPStatus == http.StatusUnauthorized:
		return ResultUnauthorized
	case e.HTTPStatus == http.StatusTooManyRequests:
		return ResultRateLimited
	case e.ErrorType == "PG_PROVIDER":
		return ResultRefused
	case e.HTTPStatus >= 500:
		return ResultServerError
	case e.HTTPStatus >= 400:
		return ResultRefused
	case e.HTTPStatus >= 300:
		return ResultBadAnswer
	}
	return ResultOK
}

// boundOp keeps at most maxOps operations (both generations together) as label values.
func (r *Registry) boundOp(generation, op string) string {
	r.opsMu.Lock()
	defer r.opsMu.Unlock()
	key := generation + " " + op
	if r.ops[key] {
		return op
	}
	if len(r.ops) >= maxOps {
		return "other"
	}
	r.ops[key] = true
	return op
}

func oneOf(v string, allowed []string, otherwise string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return otherwise
}

// factory registers metrics on one registry.
type factory struct{ reg prometheus.Registerer }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}
