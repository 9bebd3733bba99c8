package webhooks_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// TestOutboxRedirectIsAFailureNotADelivery: a receiver that answers 3xx has not received the
// event. Following the redirect would turn the POST into a GET without the body (but with the
// signed headers) at whatever URL the receiver names, and count its 200 as a delivery. Every
// redirect status is refused, whatever client the worker hands the deliverer, and the answer's
// status and Location are the failure the outbox records.
func TestOutboxRedirectIsAFailureNotADelivery(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var redirected, elsewhere atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/hooks", func(w http.ResponseWriter, r *http.Request) {
				redirected.Add(1)
				w.Header().Set("Location", "/elsewhere?token=secret")
				w.WriteHeader(status)
			})
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
				w.WriteHeader(http.StatusOK)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			start := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
			env.SetStartTime(start)
			env.SetTestTimeout(60 * time.Second)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.EventsWorkflowID(subID), TaskQueue: "billing"})
			eps, err := webhooks.ParseEndpoints(srv.URL + "/hooks")
			require.NoError(t, err)
			signer, err := webhooks.ParseSecrets(webhooks.NewSecret())
			require.NoError(t, err)
			webhooks.RegisterWorkflow(env)
			// A client as a worker builds it, with Go's default redirect policy (follow up to 10).
			webhooks.RegisterDelivery(env, &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 500 * time.Millisecond}})
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(billing.SignalEvents, []billing.MerchantEvent{event(1, billing.EventChargeSucceeded, start)})
			}, time.Minute)
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(billing.SignalEvents, []billing.MerchantEvent{event(2, billing.EventSubscriptionCanceled, start)})
			}, 3*time.Hour)
			env.ExecuteWorkflow(billing.EventsWorkflowType, webhooks.OutboxInput{SubscriptionID: subID, DeliveryWindow: billing.Duration(time.Hour)})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var st webhooks.OutboxState
			require.NoError(t, env.GetWorkflowResult(&st))

			require.Len(t, st.Deliveries, 2)
			for _, d := range st.Deliveries {
				require.Equal(t, webhooks.StatusFailed, d.Status, "%s: recorded %s after a %d", d.Event.ID, d.Status, status)
				require.Empty(t, d.Endpoints)
				require.Contains(t, d.LastError, "a redirect not followed (Location: /elsewhere)", d.Event.ID)
				require.NotContains(t, d.LastError, "secret", "a Location's query may carry a token")
				require.Contains(t, d.LastError, "answered "+strconv.Itoa(status), d.Event.ID)
			}
			require.Zero(t, elsewhere.Load(), "the redirect's target got a request: the redirect was followed")
			require.Greater(t, redirected.Load(), int32(1), "a redirect is retried like any other non-2xx answer")
		})
	}
}
