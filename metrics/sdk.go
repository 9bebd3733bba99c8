package metrics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// SDKHandler returns a Temporal SDK metrics handler that records into this registry. Give it to
// client.Options.MetricsHandler: the SDK's own client and worker metrics and the counters the
// workflow emits through workflow.GetMetricsHandler(ctx) then appear at /metrics.
//
// Mapping (the same as the SDK's tally contrib with tally's Prometheus reporter, plus
// Prometheus's suffix conventions): a counter named n becomes the counter n_total, a gauge n the
// gauge n, a timer n the histogram n_seconds (LatencyBuckets). A metric's label keys are the tag
// keys of its first use; a later use fills missing keys with "" and drops extra ones, because a
// Prometheus metric has one fixed label set.
func (r *Registry) SDKHandler() client.MetricsHandler {
	return sdkHandler{m: r.sdk}
}

type sdkMetrics struct {
	reg      prometheus.Registerer
	mu       sync.Mutex
	counters map[string]*sdkVec
	gauges   map[string]*sdkVec
	timers   map[string]*sdkVec
}

// sdkVec is one Prometheus metric family created for an SDK metric name; exactly one of the
// vectors is set (nil for all when registration failed, and the metric is then dropped).
type sdkVec struct {
	labels  []string
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	hist    *prometheus.HistogramVec
}

func newSDKMetrics(reg prometheus.Registerer) *sdkMetrics {
	return &sdkMetrics{reg: reg, counters: map[string]*sdkVec{}, gauges: map[string]*sdkVec{}, timers: map[string]*sdkVec{}}
}

type sdkHandler struct {
	m    *sdkMetrics
	tags map[string]string
}

var _ client.MetricsHandler = sdkHandler{}

// WithTags implements client.MetricsHandler.
func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[sanitize(k)] = v
	}
	return sdkHandler{m: h.m, tags: merged}
}

// Counter implements client.MetricsHandler.
func (h sdkHandler) Counter(name string) client.MetricsCounter {
	v := h.m.vec(h.m.counters, name, h.tags, func(n string, labels []string) *sdkVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: n + "_total", Help: "Temporal SDK or workflow counter " + n + "."}, labels)
		return &sdkVec{counter: c}
	})
	if v.counter == nil {
		return client.MetricsNopHandler.Counter(name)
	}
	c := v.counter.WithLabelValues(v.values(h.tags)...)
	return counterFunc(func(d int64) {
		if d > 0 {
			c.Add(float64(d))
		}
	})
}

// Gauge implements client.MetricsHandler.
func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	v := h.m.vec(h.m.gauges, name, h.tags, func(n string, labels []string) *sdkVec {
		return &sdkVec{gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: n, Help: "Temporal SDK gauge " + n + "."}, labels)}
	})
	if v.gauge == nil {
		return client.MetricsNopHandler.Gauge(name)
	}
	g := v.gauge.WithLabelValues(v.values(h.tags)...)
	return gaugeFunc(g.Set)
}

// Timer implements client.MetricsHandler.
func (h sdkHandler) Timer(name string) client.MetricsTimer {
	v := h.m.vec(h.m.timers, name, h.tags, func(n string, labels []string) *sdkVec {
		return &sdkVec{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: n + "_seconds", Help: "Temporal SDK timer " + n + ".", Buckets: LatencyBuckets}, labels)}
	})
	if v.hist == nil {
		return client.MetricsNopHandler.Timer(name)
	}
	o := v.hist.WithLabelValues(v.values(h.tags)...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

// vec returns the family for name, creating and registering it on first use.
func (m *sdkMetrics) vec(in map[string]*sdkVec, name string, tags map[string]string, mk func(string, []string) *sdkVec) *sdkVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := in[name]; ok {
		return v
	}
	labels := make([]string, 0, len(tags))
	for k := range tags {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	v := mk(sanitize(name), labels)
	v.labels = labels
	var c prometheus.Collector
	switch {
	case v.counter != nil:
		c = v.counter
	case v.gauge != nil:
		c = v.gauge
	default:
		c = v.hist
	}
	if err := m.reg.Register(c); err != nil {
		// A name clash with one of our own metrics: drop the SDK's rather than panic.
		v = &sdkVec{labels: labels}
	}
	in[name] = v
	return v
}

func (v *sdkVec) values(tags map[string]string) []string {
	out := make([]string, len(v.labels))
	for i, k := range v.labels {
		out[i] = tags[k]
	}
	return out
}

// sanitize makes s a valid Prometheus metric or label name.
func sanitize(s string) string {
	var b strings.Builder
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(d float64) { f(d) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
