package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

func TestMalformedInputFailsAtOnceNamingTheField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*billing.SubscriptionInput)
		want   string
	}{
		{"no subscription id", func(in *billing.SubscriptionInput) { in.SubscriptionID = "" }, "subscription_id: must not be empty"},
		{"subscription id too long", func(in *billing.SubscriptionInput) { in.SubscriptionID = "sub-0123456789012345678901" }, "subscription_id"},
		{"no customer_uid", func(in *billing.SubscriptionInput) { in.CustomerUID = "" }, "customer_uid: must not be empty"},
		{"no plan name", func(in *billing.SubscriptionInput) { in.Plan.Name = "" }, "plan.name"},
		{"amount too small", func(in *billing.SubscriptionInput) { in.Plan.Amount = 9 }, "plan.amount: must be at least 10 KRW"},
		{"tax free above amount", func(in *billing.SubscriptionInput) { in.Plan.TaxFree = 10000 }, "plan.tax_free"},
		{"no interval", func(in *billing.SubscriptionInput) { in.Plan.Interval = calendar.Interval{} }, "plan.interval: is required"},
		{"bad unit", func(in *billing.SubscriptionInput) { in.Plan.Interval.Unit = "fortnight" }, "plan.interval"},
		{"anchor day 32", func(in *billing.SubscriptionInput) { in.Plan.AnchorDay = 32 }, "plan.anchor_day"},
		{"anchor on weekly", func(in *billing.SubscriptionInput) {
			in.Plan.Interval.Unit = calendar.Week
			in.Plan.AnchorDay = 3
		}, "plan.anchor_day: applies to month and year intervals only"},
		{"bad charge time", func(in *billing.SubscriptionInput) { in.Plan.ChargeTime = "25:00" }, "plan.charge_time"},
		{"bad first charge", func(in *billing.SubscriptionInput) { in.FirstCharge = "later" }, "first_charge"},
		{"bad mode", func(in *billing.SubscriptionInput) { in.Plan.ChargeMode = "cron" }, "plan.charge_mode"},
		{"bad naverUseCfm", func(in *billing.SubscriptionInput) { in.Plan.NaverUseCfm = "always" }, "plan.naver_use_cfm"},
		{"bad email", func(in *billing.SubscriptionInput) { in.Buyer.Email = "nobody" }, "buyer.email"},
		{"decreasing retries", func(in *billing.SubscriptionInput) {
			in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(48 * time.Hour), billing.Duration(24 * time.Hour)}}
		}, "dunning.retry_after[1]"},
		{"bad final action", func(in *billing.SubscriptionInput) { in.Dunning = &billing.DunningPolicy{FinalAction: "explode"} }, "dunning.final_action"},
		{"unknown gateway", func(in *billing.SubscriptionInput) { in.Gateway = "portone_v3" }, `gateway: must be "portone_v1" or "portone_v2"`},
		{"below V2's minimum", func(in *billing.SubscriptionInput) {
			in.Gateway = billing.GatewayPortOneV2
			in.Plan.Amount = 99
		}, "plan.amount: must be at least 100 KRW on portone_v2"},
		{"V2 on a worker without V2 settings", func(in *billing.SubscriptionInput) { in.Gateway = billing.GatewayPortOneV2 },
			`gateway: "portone_v2", but this worker has no PortOne V2 settings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, kst(2025, time.April, 1, 9, 0))
			b := newBank(t, env, "cust-1")
			in := monthly()
			tt.mutate(&in)
			env.ExecuteWorkflow(billing.WorkflowType, in)
			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			require.Equal(t, billing.ErrorTypeInvalidInput, appErr.Type())
			require.True(t, appErr.NonRetryable())
			require.Contains(t, appErr.Error(), tt.want)
			require.Empty(t, b.ledger)
		})
	}
}

func TestWorkflowIDMustMatchSubscription(t *testing.T) {
	env := newEnv(t, kst(2025, time.April, 1, 9, 0))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "subscription/other"})
	newBank(t, env, "cust-1")
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), `workflow ID must be "subscription/sub-1"`)
}

func TestShortIntervalsNeedDemoMode(t *testing.T) {
	env := newEnv(t, kst(2025, time.April, 1, 9, 0))
	b := newBank(t, env, "cust-1")
	_ = b
	// A second registration overrides the demo-mode settings of newBank.
	env.RegisterActivity(&activities.Activities{Config: activities.Config{DemoMode: false}})
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Second, Count: 30}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "plan.interval")
	require.Contains(t, err.Error(), "demo mode")
}

func TestShortIntervalsInDemoMode(t *testing.T) {
	start := kst(2025, time.April, 1, 9, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Second, Count: 30}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "demo over"})
	}, 100*time.Second)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Equal(t, []string{"2025-04-01 09:00", "2025-04-01 09:00", "2025-04-01 09:01", "2025-04-01 09:01"}, b.paidDates())
	require.Equal(t, 4, st.Cycle)
	b.checkInvariants(st)
}
