package readmodel

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paycycle/paycycle/billing"
)

// Names of the stock gauges, as scraped. Their only label is the status (a closed set).
const (
	GaugeSubscriptions    = "paycycle_readmodel_subscriptions"
	GaugeMRR              = "paycycle_readmodel_mrr_krw"
	GaugeDueNext24h       = "paycycle_readmodel_charges_due_next_24h"
	GaugeDueNext24hAmount = "paycycle_readmodel_charges_due_next_24h_krw"
	GaugeGaps             = "paycycle_readmodel_gaps"
	GaugeLag              = "paycycle_readmodel_lag_seconds"
	GaugeUp               = "paycycle_readmodel_up"
)

// Collector is a prometheus.Collector that reads the gauges from the projection at each scrape
// (bounded by a timeout), so that the figures are the database's, whichever process wrote them.
type Collector struct {
	store   *Store
	timeout time.Duration
	now     func() time.Time

	subs, mrr, due, dueAmount, gaps, lag, up *prometheus.Desc
}

// NewCollector returns the gauges' collector; a scrape waits at most timeout (0: 5 s) for the
// database, and reports paycycle_readmodel_up 0 when it fails.
func NewCollector(s *Store, timeout time.Duration) *Collector {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Collector{
		store: s, timeout: timeout, now: time.Now,
		subs:      prometheus.NewDesc(GaugeSubscriptions, "Subscriptions in the read model by status.", []string{"status"}, nil),
		mrr:       prometheus.NewDesc(GaugeMRR, "Monthly recurring revenue in KRW (active and past-due subscriptions, monthly-normalised).", nil, nil),
		due:       prometheus.NewDesc(GaugeDueNext24h, "Charges due in the next 24 hours.", nil, nil),
		dueAmount: prometheus.NewDesc(GaugeDueNext24hAmount, "KRW of the charges due in the next 24 hours.", nil, nil),
		gaps:      prometheus.NewDesc(GaugeGaps, "Subscriptions whose events wait behind a missing one.", nil, nil),
		lag:       prometheus.NewDesc(GaugeLag, "Lag of the latest applied event: its time to when it was applied.", nil, nil),
		up:        prometheus.NewDesc(GaugeUp, "1 when the read model answered the last scrape.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.subs, c.mrr, c.due, c.dueAmount, c.gaps, c.lag, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	g, err := c.store.Gauges(ctx, c.now())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, st := range billing.AllStatuses {
		ch <- prometheus.MustNewConstMetric(c.subs, prometheus.GaugeValue, float64(g.ByStatus[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.mrr, prometheus.GaugeValue, float64(g.MRR))
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(g.DueNext24h))
	ch <- prometheus.MustNewConstMetric(c.dueAmount, prometheus.GaugeValue, float64(g.DueNext24hAmount))
	ch <- prometheus.MustNewConstMetric(c.gaps, prometheus.GaugeValue, float64(g.Gaps))
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, g.Lag.Seconds())
}

// SetClock sets the clock a scrape asks the gauges at (tests; nil: time.Now).
func (c *Collector) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	c.now = now
}
