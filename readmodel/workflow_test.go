package readmodel_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

// envClock is the emulator's clock: the test environment's (time-skipping) one.
type envClock struct {
	mu  sync.Mutex
	now func() time.Time
}

func (c *envClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

// TestProjectionOfARealWorkflow runs the real subscription workflow (SDK test environment, time
// skipping) with the PortOne emulator as the bank: renewed, declined and recovered, then
// canceled now with a prorated refund. The events it really published, applied to the
// projection, give a row that Compare finds equal to the workflow's final state and money equal
// to the emulator's ledger.
func TestProjectionOfARealWorkflow(t *testing.T) {
	start := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	clk := &envClock{now: func() time.Time { return start }}
	emu := portonetest.New(portonetest.Options{Clock: clk})
	defer emu.Close()
	srv := httptest.NewServer(emu)
	defer srv.Close()
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-readmodel-1"})
	require.NoError(t, err)

	var mu sync.Mutex
	var published []billing.MerchantEvent
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.WorkflowID("sub-wf"), TaskQueue: billing.TaskQueue})
	env.SetTestTimeout(60 * time.Second)
	clk.mu.Lock()
	clk.now = env.Now
	clk.mu.Unlock()
	workflows.RegisterWorkflow(env)
	env.RegisterActivityWithOptions(&activities.Activities{Gateway: portonev1.New(gw), Now: clk.Now,
		Config: activities.Config{ScheduleSettleDelay: time.Minute, Events: true, RenewalNotice: 72 * time.Hour}},
		activity.RegisterOptions{SkipInvalidStructFunctions: true})
	env.RegisterActivityWithOptions(func(_ context.Context, in webhooks.PublishInput) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range in.Events {
			if len(published) == 0 || e.Seq > published[len(published)-1].Seq {
				published = append(published, e)
			}
		}
		return nil
	}, activity.RegisterOptions{Name: webhooks.PublishActivityName})
	// The second cycle's first attempt is declined (잔액부족); dunning retries it.
	env.RegisterDelayedCallback(func() {
		emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	}, 20*day)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(billing.MsgCancel, billing.CancelRequest{RequestID: "cancel-1", When: billing.Now, Reason: "moving away",
			Requester: billing.RequesterCustomer, Refund: billing.RefundProrata})
	}, 75*day)
	env.ExecuteWorkflow(billing.WorkflowType, billing.SubscriptionInput{
		SubscriptionID: "sub-wf", CustomerUID: "cust-readmodel-1",
		Plan: billing.Plan{Name: "Basic", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
	})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st billing.State
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, billing.StatusCanceled, st.Status)

	types := map[billing.EventType]int{}
	for _, e := range published {
		types[e.Type]++
	}
	t.Logf("%d events: %v", len(published), types)
	for _, typ := range []billing.EventType{billing.EventSubscriptionActivated, billing.EventChargeSucceeded, billing.EventChargeDeclined,
		billing.EventDunningStarted, billing.EventDunningRecovered, billing.EventChargeRefunded, billing.EventSubscriptionCanceled, billing.EventRenewalUpcoming} {
		require.NotZero(t, types[typ], "the scenario makes %s", typ)
	}

	ctx := context.Background()
	s := openSQLite(t)
	applyAll(t, s, published)
	d, err := s.Compare(ctx, "sub-wf", st)
	require.NoError(t, err)
	require.Empty(t, d, "the projection agrees with the workflow's state")

	var paid, refunded int64
	for _, l := range emu.Ledger() {
		if !l.PaidAt.IsZero() {
			paid += l.Amount
		}
		refunded += l.CancelAmount
	}
	require.NotZero(t, refunded)
	row, err := s.Subscription(ctx, "sub-wf")
	require.NoError(t, err)
	require.Equal(t, paid, row.TotalPaid, "paid equals the emulator's ledger")
	require.Equal(t, refunded, row.TotalRefunded, "refunded equals the emulator's ledger")
	months, err := s.Revenue(ctx, "2026-04", "2026-07")
	require.NoError(t, err)
	var gross, refunds int64
	for _, m := range months {
		gross, refunds = gross+m.Gross, refunds+m.Refunds
	}
	require.Equal(t, paid, gross)
	require.Equal(t, refunded, refunds)
	o, err := s.Overview(ctx, env.Now())
	require.NoError(t, err)
	require.Equal(t, 1, o.ByStatus[billing.StatusCanceled])
	require.Zero(t, o.MRR)
	require.Zero(t, o.Gaps)
	for _, e := range published {
		if e.Type == billing.EventDunningRecovered {
			o, err := s.Overview(ctx, e.Timestamp.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, 1, o.DunningRecovered30d)
			require.Equal(t, int64(9900), o.MRR30DaysAgo, "active a month before the recovery")
		}
	}
}
