package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// v2Gateway stands for a configured PortOne V2 gateway: the workflow only asks, through the
// Settings local activity, whether the worker has one; the bank's mocks answer the calls.
type v2Gateway struct{ gateway.Gateway }

// TestV2SubscriptionNamesItsGatewayOnEveryActivity: a subscription whose input names
// portone_v2 sends that name with every gateway activity (charge, refund, key deletion), and
// carries it in its state; an input without the field stays V1 and sends none.
func TestV2SubscriptionNamesItsGatewayOnEveryActivity(t *testing.T) {
	for _, gw := range []billing.GatewayName{"", billing.GatewayPortOneV2} {
		t.Run(string(cmpOr(gw, "v1 by default")), func(t *testing.T) {
			env := newEnv(t, kst(2025, time.April, 1, 9, 0))
			b := newBank(t, env, "cust-1")
			// A second registration overrides the settings of newBank: a worker with V2.
			env.RegisterActivity(&activities.Activities{GatewayV2: v2Gateway{}, Config: activities.Config{DemoMode: true, ScheduleSettleDelay: time.Minute}})
			in := monthly()
			in.Gateway = gw
			in.Plan.DeleteBillingKeyOnEnd = true
			var mid billing.State
			env.RegisterDelayedCallback(func() { mid = query(t, env) }, 2*time.Hour)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "고객 요청", Refund: billing.RefundFull})
			}, 3*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.Equal(t, billing.StatusCanceled, st.Status)
			require.Equal(t, gw, mid.Gateway)

			require.NotEmpty(t, b.ledger)
			for _, a := range b.ledger {
				require.Equal(t, gw, a.in.Gateway, "charge %s", a.in.MerchantUID)
			}
			require.NotEmpty(t, b.refunds)
			for _, r := range b.refunds {
				require.Equal(t, gw, r.Gateway)
				// V2 cancels by paymentId; V1's refund inputs stay as histories recorded them.
				require.Equal(t, gw.IsV2(), r.MerchantUID != "", "refund input %+v", r)
			}
			require.NotEmpty(t, b.deleted)
			for _, d := range b.deleted {
				require.Equal(t, gw, d.Gateway)
			}
		})
	}
}

func cmpOr(g billing.GatewayName, def string) billing.GatewayName {
	if g == "" {
		return billing.GatewayName(def)
	}
	return g
}

// TestV2MinimumOnPlanChanges: on V2 a plan change below 100 KRW (V2's NaverPay minimum) is
// refused naming the amount; the same change on V1 (minimum 10) is accepted as before.
func TestV2MinimumOnPlanChanges(t *testing.T) {
	for _, tt := range []struct {
		gw      billing.GatewayName
		refused bool
	}{{"", false}, {billing.GatewayPortOneV2, true}} {
		t.Run(string(cmpOr(tt.gw, "v1 by default")), func(t *testing.T) {
			env := newEnv(t, kst(2025, time.April, 1, 9, 0))
			newBank(t, env, "cust-1")
			env.RegisterActivity(&activities.Activities{GatewayV2: v2Gateway{}, Config: activities.Config{DemoMode: true, ScheduleSettleDelay: time.Minute}})
			in := monthly()
			in.Gateway = tt.gw
			var res updateResult
			env.RegisterDelayedCallback(func() {
				update(env, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 99, Reason: "할인"}, &res)
			}, time.Hour)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, 2*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, in)
			result(t, env)
			err := firstErr(res.rejected, res.err)
			if !tt.refused {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "amount: must be at least 100 KRW on portone_v2")
		})
	}
}
