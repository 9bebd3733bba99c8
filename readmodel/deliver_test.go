package readmodel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/webhooks"
)

// TestTheOutboxDelivererFeedsTheReceiver runs the outbox's real delivery activity (signing with
// two secrets, as during a rotation) against the Receiver, configured with only the new one:
// every event is applied, and a second delivery is a duplicate.
func TestTheOutboxDelivererFeedsTheReceiver(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	oldSecret, newSecret := webhooks.NewSecret(), webhooks.NewSecret()
	rv, err := readmodel.NewReceiver(s, newSecret)
	require.NoError(t, err)
	srv := httptest.NewServer(rv)
	defer srv.Close()
	signer, err := webhooks.ParseSecrets(oldSecret + "," + newSecret)
	require.NoError(t, err)
	eps, err := webhooks.ParseEndpoints(srv.URL + "/events")
	require.NoError(t, err)
	d := &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 5 * time.Second}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(d.Deliver)
	feed := flat(mixedFeed())
	for _, e := range append(feed, feed[0]) {
		_, err := env.ExecuteActivity(d.Deliver, webhooks.DeliverInput{Event: e})
		require.NoError(t, err, "%s", e.ID)
	}
	ref := openSQLite(t)
	applyAll(t, ref, feed)
	require.Equal(t, dump(t, ref), dump(t, s))
	evs, total, err := s.Events(ctx, feed[0].SubscriptionID, readmodel.Page{})
	require.NoError(t, err)
	require.Equal(t, len(mixedFeed()[0]), total, "the second delivery of the first event stored nothing")
	require.NotEmpty(t, evs)
}
