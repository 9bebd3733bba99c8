package edge_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/metrics"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestWebhookVerdictsReachMetrics sends webhooks of several kinds and checks the verdict each
// reports and that the edge's /metrics shows them, with no ID in any label.
func TestWebhookVerdictsReachMetrics(t *testing.T) {
	reg := metrics.New()
	var mu sync.Mutex
	var verdicts []string
	emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})
	pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(emuSrv.URL), portone.WithTimeout(3*time.Second), portone.WithObserver(reg.ObservePortOne))
	require.NoError(t, err)
	e := newEnvDeps(t, emu, pc, nil, func(d *edge.Deps) {
		d.Metrics = reg.Handler()
		d.WebhookVerdict = func(v string) {
			mu.Lock()
			verdicts = append(verdicts, v)
			mu.Unlock()
			reg.Webhook(v)
		}
	})
	e.subscription("sub1", "cust-1")
	e.register("sub1", "n0000001", "cust-1")
	p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)

	e.webhook(webhookBody{p.ImpUID, p.MerchantUID, "paid"}, false)
	e.webhook(webhookBody{p.ImpUID, p.MerchantUID, "paid"}, false)
	e.webhook(webhookBody{p.ImpUID, "order-from-another-system", "paid"}, false)
	e.webhook(webhookBody{"imp_999999999999", chargeUID("sub1", 2, 1), "paid"}, false)
	status, _, _ := e.do(http.MethodPost, "/portone/webhook", "text/plain", strings.NewReader("x"))
	require.Equal(t, http.StatusBadRequest, status)

	mu.Lock()
	assert.Equal(t, []string{edge.VerdictAccepted, edge.VerdictDuplicate, edge.VerdictForeign, edge.VerdictUnknownPayment, edge.VerdictRejected}, verdicts)
	mu.Unlock()

	status, body, _ := e.get("/metrics")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		`paycycle_webhooks_total{verdict="accepted"} 1`,
		`paycycle_webhooks_total{verdict="duplicate"} 1`,
		`paycycle_webhooks_total{verdict="ignored_foreign"} 1`,
		`paycycle_webhooks_total{verdict="ignored_unknown_payment"} 1`,
		`paycycle_webhooks_total{verdict="rejected"} 1`,
		`paycycle_portone_requests_total{generation="v1",op="GET /payments/{imp_uid}",result="ok"}`,
		`paycycle_portone_requests_total{generation="v1",op="GET /payments/{imp_uid}",result="not_found"}`,
	} {
		assert.Contains(t, body, want)
	}
	for _, id := range []string{p.ImpUID, p.MerchantUID, "cust-1", "sub1"} {
		assert.NotContains(t, body, id, "no ID may reach a metric label")
	}
}

// TestVerdictNamesMatchMetrics keeps the edge's verdicts and the metrics package's pre-registered
// label values the same set.
func TestVerdictNamesMatchMetrics(t *testing.T) {
	assert.ElementsMatch(t, metrics.WebhookVerdicts, []string{edge.VerdictAccepted, edge.VerdictDuplicate, edge.VerdictRejected,
		edge.VerdictForeign, edge.VerdictUnknownPayment, edge.VerdictMismatch, edge.VerdictUnfinished, edge.VerdictNoSubscription,
		edge.VerdictPortOneDown, edge.VerdictTemporalFailure,
		edge.VerdictBadSignature, edge.VerdictStale, edge.VerdictUnknownType, edge.VerdictUnusedType, edge.VerdictUnknownKey})
}
