package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// TestCycleSearchAttributes: with the worker's default every cycle upserts NextChargeAt and
// BillingCycle; with -cycle-search-attributes=false (Settings.NoCycleSearchAttributes) a
// subscription writes its search attributes only when something besides the cycle changes (here
// three times: the start, active once the key is verified, canceled), one visibility write per
// cycle fewer, and it never names NextChargeAt or BillingCycle. Billing is the same either way.
func TestCycleSearchAttributes(t *testing.T) {
	tests := []struct {
		name         string
		noCycleSAs   bool
		wantUpserts  int
		wantCycleSAs bool
	}{
		{"per-cycle attributes (the default)", false, 3 + 6, true},
		{"status-level attributes only", true, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, kst(2025, time.January, 15, 10, 0))
			b := newBank(t, env, "cust-1")
			env.OnActivity(a.Settings, mock.Anything).Return(activities.Settings{
				DemoMode: true, ScheduleSettleDelay: time.Minute, ActivityTimeout: time.Minute, NoCycleSearchAttributes: tt.noCycleSAs,
			}, nil)
			var upserts int
			var named []string
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				upserts++
				for k := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
					named = append(named, k.GetName())
				}
			}).Return(nil)
			var st billing.State
			env.RegisterDelayedCallback(func() { st = query(t, env); env.CancelWorkflow() }, 155*24*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, monthly())
			require.Len(t, b.paid(), 6, "Jan 15 and five renewals")
			require.Equal(t, 6, st.Cycle)
			require.Equal(t, tt.wantUpserts, upserts, "search-attribute upserts over six cycles")
			require.Equal(t, tt.wantCycleSAs, contains(named, billing.SANextChargeAt.GetName()), "NextChargeAt written: %v", named)
			require.Equal(t, tt.wantCycleSAs, contains(named, billing.SABillingCycle.GetName()), "BillingCycle written: %v", named)
			require.Contains(t, named, billing.SABillingStatus.GetName())
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
