package readmodel_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/readmodel"
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

// wfRun is one real subscription workflow run in the SDK test environment with the PortOne
// emulator as the bank, its published events captured as the outbox receives them.
type wfRun struct {
	t         *testing.T
	env       *testsuite.TestWorkflowEnvironment
	emu       *portonetest.Emulator
	mu        sync.Mutex
	published []billing.MerchantEvent
	// checks are the Compare results at each checkpoint (empty: agreed); checked counts them.
	checks  []string
	checked int
}

// action is something a scenario does at a time after the start.
type action struct {
	after time.Duration
	do    func(r *wfRun)
}

func (r *wfRun) signal(name string, payload any) { r.env.SignalWorkflow(name, payload) }

func (r *wfRun) state() billing.State {
	v, err := r.env.QueryWorkflow(billing.QueryState)
	require.NoError(r.t, err)
	var st billing.State
	require.NoError(r.t, v.Get(&st))
	return st
}

// checkpoint projects the events published so far into a fresh store and compares the row with
// the workflow's state at this instant.
func (r *wfRun) checkpoint() {
	st := r.state()
	r.mu.Lock()
	evs := append([]billing.MerchantEvent(nil), r.published...)
	r.mu.Unlock()
	s := openSQLite(r.t)
	applyAll(r.t, s, evs)
	d, err := s.Compare(context.Background(), st.SubscriptionID, st)
	require.NoError(r.t, err)
	r.checked++
	if len(d) > 0 {
		r.checks = append(r.checks, fmt.Sprintf("%s (%s, %d events): %+v", r.env.Now().Format(time.RFC3339), st.Status, len(evs), d))
	}
}

// attentionQueue projects the events published so far and checks the needs-attention queue:
// fed from the stream alone, no workflow state applied.
func (r *wfRun) attentionQueue(want int, finding string) {
	r.mu.Lock()
	evs := append([]billing.MerchantEvent(nil), r.published...)
	r.mu.Unlock()
	s := openSQLite(r.t)
	applyAll(r.t, s, evs)
	rows, n, err := s.Queue(context.Background(), readmodel.NeedsAttention, readmodel.Page{})
	require.NoError(r.t, err)
	require.Equal(r.t, want, n, "the needs-attention queue from the events")
	if want > 0 {
		require.Equal(r.t, finding, rows[0].AttentionFinding)
		require.Equal(r.t, billing.AttentionReconciliation, rows[0].AttentionKind)
	}
	r.checked++
}

func runWorkflow(t *testing.T, start time.Time, in billing.SubscriptionInput, keys []string, actions []action) *wfRun {
	clk := &envClock{now: func() time.Time { return start }}
	emu := portonetest.New(portonetest.Options{Clock: clk})
	t.Cleanup(emu.Close)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	for _, k := range keys {
		_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: k})
		require.NoError(t, err)
	}
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	r := &wfRun{t: t, env: ts.NewTestWorkflowEnvironment(), emu: emu}
	env := r.env
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.WorkflowID(in.SubscriptionID), TaskQueue: billing.TaskQueue})
	env.SetTestTimeout(60 * time.Second)
	clk.mu.Lock()
	clk.now = env.Now
	clk.mu.Unlock()
	workflows.RegisterWorkflow(env)
	env.RegisterActivityWithOptions(&activities.Activities{Gateway: portonev1.New(gw), Now: clk.Now,
		Config: activities.Config{ScheduleSettleDelay: time.Minute, Events: true, RenewalNotice: 72 * time.Hour}},
		activity.RegisterOptions{SkipInvalidStructFunctions: true})
	env.RegisterActivityWithOptions(func(_ context.Context, in webhooks.PublishInput) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range in.Events {
			if len(r.published) == 0 || e.Seq > r.published[len(r.published)-1].Seq {
				r.published = append(r.published, e)
			}
		}
		return nil
	}, activity.RegisterOptions{Name: webhooks.PublishActivityName})
	for _, a := range actions {
		env.RegisterDelayedCallback(func() { a.do(r) }, a.after)
	}
	// A checkpoint every 4 days (and a half, so that it falls between the steps).
	for at := 4*day + 12*time.Hour; at < 200*day; at += 4 * day {
		env.RegisterDelayedCallback(func() {
			if !env.IsWorkflowCompleted() {
				r.checkpoint()
			}
		}, at)
	}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	return r
}

func monthly(id, customer string) billing.SubscriptionInput {
	return billing.SubscriptionInput{SubscriptionID: id, CustomerUID: customer,
		Plan: billing.Plan{Name: "Basic", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
}

func trial(id, customer string) billing.SubscriptionInput {
	in := monthly(id, customer)
	in.Plan.Trial = &billing.Trial{Days: 14}
	return in
}

func decline(hard bool) func(r *wfRun) {
	return func(r *wfRun) {
		f := portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Hard: hard, Times: 1}
		if !hard {
			f.Reason = "잔액부족"
		}
		r.emu.AddFault(f)
	}
}

func cancelNow(refund billing.RefundPolicy) func(r *wfRun) {
	return func(r *wfRun) {
		r.signal(billing.MsgCancel, billing.CancelRequest{RequestID: "cancel-1", When: billing.Now, Reason: "moving away", Requester: billing.RequesterCustomer, Refund: refund})
	}
}

// TestProjectionOfRealWorkflows runs real subscription workflows (SDK test environment, time
// skipping, the PortOne emulator as the bank) through mixed lives. At a checkpoint every four
// days, the events published so far, projected, give a row that Compare finds equal to the
// workflow's state at that instant; at the end the money equals the emulator's ledger. This is
// what proves the projection reads the events the workflow really makes.
func TestProjectionOfRealWorkflows(t *testing.T) {
	start := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		in      billing.SubscriptionInput
		keys    []string
		actions []action
		want    []billing.EventType
	}{
		{"declined, recovered, canceled now with a prorated refund", monthly("sub-wf-1", "cust-1"), []string{"cust-1"},
			[]action{{20 * day, decline(false)}, {75 * day, cancelNow(billing.RefundProrata)}},
			[]billing.EventType{billing.EventChargeDeclined, billing.EventDunningStarted, billing.EventDunningRecovered, billing.EventChargeRefunded, billing.EventRenewalUpcoming}},
		{"hard decline, new billing key, paused and resumed, canceled at period end", monthly("sub-wf-2", "cust-2"), []string{"cust-2", "cust-2b"},
			[]action{
				{20 * day, decline(true)},
				{33 * day, func(r *wfRun) {
					r.signal(billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{RequestID: "key-1", CustomerUID: "cust-2b", Reason: "new card"})
				}},
				{40 * day, func(r *wfRun) {
					r.signal(billing.MsgPause, billing.PauseRequest{RequestID: "pause-1", When: billing.Now, Reason: "holiday"})
				}},
				{55 * day, func(r *wfRun) {
					r.signal(billing.MsgResume, billing.ResumeRequest{RequestID: "resume-1", Anchor: billing.ResumeKeepAnchor})
				}},
				{70 * day, func(r *wfRun) {
					r.signal(billing.MsgCancel, billing.CancelRequest{RequestID: "cancel-2", When: billing.AtPeriodEnd, Reason: "done", Requester: billing.RequesterCustomer})
				}},
			},
			[]billing.EventType{billing.EventChargeDeclinedHard, billing.EventBillingKeyReplaced, billing.EventSubscriptionPaused, billing.EventSubscriptionResumed, billing.EventCancelScheduled}},
		{"a soft decline never recovered: the final action", monthly("sub-wf-3", "cust-3"), []string{"cust-3"},
			[]action{{20 * day, func(r *wfRun) {
				r.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 20})
			}}},
			[]billing.EventType{billing.EventDunningRetryScheduled, billing.EventDunningFinalAction}},
		{"a free trial, consent to the first charge, renewed", trial("sub-wf-4", "cust-4"), []string{"cust-4"},
			[]action{{3 * day, func(r *wfRun) {
				st := r.state()
				require.NotNil(r.t, st.Consent, "a consent is required for the trial's end")
				granted := true
				r.signal(billing.MsgConsent, billing.ConsentRequest{RequestID: "consent-1", Granted: &granted, At: r.env.Now(), Channel: "app",
					ShownText: "14일 무료 체험 후 매월 9,900원", AmountBefore: st.Consent.AmountBefore, AmountAfter: st.Consent.AmountAfter,
					ChangeDate: st.Consent.ChangeDate, RecordID: "rec-1"})
			}}, {100 * day, cancelNow(billing.RefundNone)}},
			[]billing.EventType{billing.EventConsentRequired, billing.EventConsentGranted, billing.EventTrialEnding, billing.EventChargeSucceeded}},
		{"parked for a person by reconciliation, in the queue from the events, cleared", monthly("sub-wf-5", "cust-5"), []string{"cust-5"},
			[]action{
				{10 * day, func(r *wfRun) {
					r.signal(billing.MsgMarkAttention, billing.AttentionRequest{RequestID: "mark-1", Kind: billing.AttentionReconciliation,
						Finding: "state_drift", Detail: "cycle 1: PortOne says cancelled"})
				}},
				{15 * day, func(r *wfRun) { r.attentionQueue(1, "state_drift") }},
				{25 * day, func(r *wfRun) {
					r.signal(billing.MsgClearAttention, billing.ClearAttentionRequest{RequestID: "clear-1", Note: "refunded by hand at PortOne"})
				}},
				{26 * day, func(r *wfRun) { r.attentionQueue(0, "") }},
				{100 * day, cancelNow(billing.RefundNone)},
			},
			[]billing.EventType{billing.EventNeedsAttention, billing.EventAttentionCleared}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runWorkflow(t, start, tc.in, tc.keys, tc.actions)
			var st billing.State
			require.NoError(t, r.env.GetWorkflowResult(&st))
			types := map[billing.EventType]int{}
			for _, e := range r.published {
				types[e.Type]++
			}
			t.Logf("%s after %d events %v; %d checkpoints differed", st.Status, len(r.published), types, len(r.checks))
			for _, typ := range tc.want {
				require.NotZero(t, types[typ], "the scenario makes %s", typ)
			}
			require.Greater(t, r.checked, 5, "checkpoints ran")
			require.Empty(t, r.checks, "the projection disagreed with the workflow at some checkpoint")

			ctx := context.Background()
			s := openSQLite(t)
			applyAll(t, s, r.published)
			d, err := s.Compare(ctx, tc.in.SubscriptionID, st)
			require.NoError(t, err)
			require.Empty(t, d, "the projection agrees with the workflow's final state")

			var paid, refunded int64
			for _, l := range r.emu.Ledger() {
				if !l.PaidAt.IsZero() {
					paid += l.Amount
				}
				refunded += l.CancelAmount
			}
			row, err := s.Subscription(ctx, tc.in.SubscriptionID)
			require.NoError(t, err)
			require.Equal(t, paid, row.TotalPaid, "paid equals the emulator's ledger")
			require.Equal(t, refunded, row.TotalRefunded, "refunded equals the emulator's ledger")
			months, err := s.Revenue(ctx, "2026-04", "2026-12")
			require.NoError(t, err)
			var gross, refunds int64
			for _, m := range months {
				gross, refunds = gross+m.Gross, refunds+m.Refunds
			}
			require.Equal(t, paid, gross)
			require.Equal(t, refunded, refunds)
			o, err := s.Overview(ctx, r.env.Now())
			require.NoError(t, err)
			require.Equal(t, 1, o.ByStatus[st.Status])
			require.Zero(t, o.Gaps)
		})
	}
}
