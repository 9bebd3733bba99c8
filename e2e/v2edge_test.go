package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

// TestV2RegistrationWebhookThroughTheEdge is a V2 registration on the real stack: a
// portone_v2 subscription waits; NaverPay's V2 window (the emulator) issues a key under the
// subscription's customer_uid and PortOne sends BillingKey.Issued, signed, to the edge; the edge
// verifies it, re-fetches the key, finds the subscription through Temporal's visibility store
// (CustomerUID) and signals `registered`; the workflow verifies the key at PortOne V2 and makes
// the first charge through V2.
func TestV2RegistrationWebhookThroughTheEdge(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	v2Srv := httptest.NewServer(s.emu.V2Handler())
	t.Cleanup(v2Srv.Close)
	gw, err := portonev2.New(portonev2.Config{BaseURL: v2Srv.URL, Secret: portonetest.DefaultV2Secret,
		StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 3 * time.Second})
	require.NoError(t, err)

	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	// The worker asks PortOne to report its V2 charges to the edge (BILLING_V2_NOTICE_URL), so
	// the transactionId a charge's approval does not name comes back by the verified webhook.
	acts := &activities.Activities{Gateway: portonev1.New(s.gateway),
		GatewayV2: gw,
		Config: activities.Config{DemoMode: true, ActivityTimeout: 10 * time.Second, ScheduleSettleDelay: 2 * time.Second,
			NoticeURLV2: srv.URL + edge.V2WebhookRoute}}
	w := worker.New(s.c, billing.TaskQueue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	workflows.Register(w, acts)
	webhooks.Register(w, &webhooks.Publisher{Client: s.c, TaskQueue: billing.TaskQueue, DeliveryTaskQueue: webhooks.DefaultDeliveryTaskQueue})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	keys, err := edge.ParseV2WebhookSecrets([]string{portonetest.DefaultV2WebhookSecret})
	require.NoError(t, err)
	e, err := edge.New(edge.Config{PublicURL: srv.URL, IMPCode: "imp00000000",
		V2: &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}},
		edge.Deps{Workflows: s.c, PortOne: s.gateway, PortOneV2: gw, Logger: zap.NewNop()})
	require.NoError(t, err)
	h = e.Handler()

	in := demoInput("v2-reg-1", "v2-cust-1", 30*time.Second)
	in.Gateway = billing.GatewayPortOneV2
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = s.c.ExecuteWorkflow(ctx, billing.StartOptions(in, billing.TaskQueue), billing.WorkflowType, in)
	require.NoError(t, err)
	eventually(t, 20*time.Second, "awaiting registration", func() bool {
		st, err := s.tryState("v2-reg-1")
		return err == nil && st.Status == billing.StatusAwaitingRegistration
	})

	key, err := s.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "v2-cust-1", IssueName: in.Plan.Name,
		NoticeURLs: []string{srv.URL + edge.V2WebhookRoute}})
	require.NoError(t, err)
	deliveries, err := s.emu.WaitWebhooks(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, deliveries[0].StatusCode, "%s %s", deliveries[0].Err, deliveries[0].Body)

	eventually(t, 30*time.Second, "registered and charged through V2", func() bool {
		st, err := s.tryState("v2-reg-1")
		return err == nil && st.Status == billing.StatusActive && st.BillingKey == key.BillingKey
	})
	eventually(t, 30*time.Second, "the charge's transactionId, from Transaction.Paid through the edge", func() bool {
		st, err := s.tryState("v2-reg-1")
		return err == nil && len(st.Charges) > 0 && st.Charges[0].ImpUID != ""
	})
	st := s.state("v2-reg-1")
	require.Equal(t, "v2-cust-1", st.CustomerUID)
	paid := 0
	for _, c := range st.Charges {
		if c.Outcome == billing.OutcomePaid {
			paid++
			// Under the cycle's paymentId (shared by its attempts), with the recorded transaction.
			attempts := s.emu.V2Attempts(c.GatewayPaymentID())
			require.NotEmpty(t, attempts, "the charge went through V2")
			require.Equal(t, c.ImpUID, attempts[len(attempts)-1].ImpUID)
		}
	}
	require.Equal(t, 1, paid, "one first charge")
}
