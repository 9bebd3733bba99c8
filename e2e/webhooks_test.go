package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/webhooks/webhookstest"
)

// TestMerchantEventStreamEndToEnd runs the worker binary as a merchant would configure it
// (webhook URL and signing secrets in the environment) on a real server and the emulator, and
// checks at a reference receiver, which verifies with the Standard Webhooks library, that every
// state change arrives signed, in order and once, through a receiver outage, a slow receiver and
// a secret rotation in progress, while the charges keep their times.
func TestMerchantEventStreamEndToEnd(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	oldSecret, newSecret := webhooks.NewSecret(), webhooks.NewSecret()
	recv, err := webhookstest.New(oldSecret) // the receiver has not moved to the new secret yet
	require.NoError(t, err)
	url, closeRecv := recv.Serve()
	defer closeRecv()

	cmd := exec.Command(binary(t, "worker"), "-demo")
	cmd.Env = append(cleanEnv(),
		"TEMPORAL_ADDRESS="+s.ts.GetFrontendHostPort(), "TEMPORAL_NAMESPACE="+s.ns,
		"PORTONE_BASE_URL="+s.emuURL, "PORTONE_API_KEY="+portonetest.DefaultKey, "PORTONE_API_SECRET="+portonetest.DefaultSecret,
		"PAYCYCLE_CODEC_KEYS="+s.codecKey,
		"BILLING_WEBHOOK_URLS="+url, "PAYCYCLE_WEBHOOK_SECRETS="+newSecret+" "+oldSecret,
		"BILLING_WEBHOOK_TIMEOUT=1s", "BILLING_RENEWAL_NOTICE=5s", "BILLING_ACTIVITY_TIMEOUT=10s", "PORTONE_TIMEOUT=3s")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the worker's output:\n%s", out.String())
		}
		require.NotContains(t, out.String(), strings.TrimPrefix(newSecret, "whsec_"), "no secret in the logs")
	}()
	eventually(t, 30*time.Second, "worker polling", func() bool {
		if cmd.ProcessState != nil || strings.Contains(out.String(), "worker:") {
			t.Fatalf("the worker did not start:\n%s", out.String())
		}
		return strings.Contains(out.String(), "worker polling")
	})

	s.register("cust-events")
	in := demoInput("events-1", "cust-events", 20*time.Second)
	s.start(in)
	eventually(t, 60*time.Second, "the first charge's event", func() bool { return hasType(recv.Stats().Events, billing.EventChargeSucceeded) })

	// The receiver goes down, then is slow (over the 1 s webhook timeout): the second charge
	// is made on time all the same.
	recv.SetDown(true)
	first := s.state("events-1").Charges[0].At
	eventually(t, 60*time.Second, "the second charge", func() bool { return len(s.state("events-1").Charges) >= 2 })
	second := s.state("events-1").Charges[1].At
	require.Less(t, second.Sub(first), 30*time.Second, "billing never waits on the receiver")
	recv.SetDown(false)
	recv.SetDelay(2 * time.Second)
	time.Sleep(3 * time.Second)
	recv.SetDelay(0)

	receipt, err := s.update("events-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "고객 요청", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	eventually(t, 120*time.Second, "the cancel's event", func() bool { return hasType(recv.Stats().Events, billing.EventSubscriptionCanceled) })

	got := recv.Stats()
	st := s.state("events-1")
	require.Zero(t, got.BadSignatures, "every delivery verified with the receiver's (old) secret during the rotation; refused: %q", got.Refusals)
	require.Empty(t, got.OutOfOrder)
	for i, e := range got.Events {
		require.Equal(t, int64(i+1), e.Seq, "no gap: %s", e.Type)
	}
	require.Equal(t, st.EventSeq, int64(len(got.Events)))
	types := eventTypes(got.Events)
	want := []billing.EventType{billing.EventSubscriptionStarted, billing.EventRegistrationCompleted, billing.EventSubscriptionActivated,
		billing.EventChargeSucceeded, billing.EventRenewalUpcoming, billing.EventChargeSucceeded}
	require.Equal(t, want, types[:len(want)], "got %v", types)
	require.Equal(t, billing.EventSubscriptionCanceled, types[len(types)-1])
	if receipt.Refund != nil {
		require.Contains(t, types, billing.EventChargeRefunded)
	}
	for _, e := range got.Events {
		require.NotContains(t, string(e.Data), "cust-events", "customer_uid is masked")
		require.NotContains(t, string(e.Data), "010-5555-1234", "no buyer data")
		require.NotContains(t, string(e.Data), "홍길동", "no buyer data")
	}

	// The outbox shows every delivery as delivered.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.c.QueryWorkflow(ctx, billing.EventsWorkflowID("events-1"), "", billing.QueryDeliveries)
	require.NoError(t, err)
	var ob webhooks.OutboxState
	require.NoError(t, v.Get(&ob))
	require.Len(t, ob.Deliveries, len(got.Events))
	for _, d := range ob.Deliveries {
		require.Equal(t, webhooks.StatusDelivered, d.Status, d.Event.ID)
	}
	b, _ := json.MarshalIndent(got.Events[3], "", "  ")
	t.Logf("a charge.succeeded event as delivered:\n%s", b)
	s.checkMoneyInvariants(st)
}

func hasType(evs []billing.MerchantEvent, typ billing.EventType) bool {
	return slices.ContainsFunc(evs, func(e billing.MerchantEvent) bool { return e.Type == typ })
}

func eventTypes(evs []billing.MerchantEvent) []billing.EventType {
	var out []billing.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
