package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// TestPayloadFieldsNewerThanTheRunAreDecodedAsBefore: a message field added by a later version
// (change_plan's "when" and "consent", versionChangeNow) is treated in a run that took an older
// version as that version treated it, so that a recorded signal replays the same: a run from
// before the strict decoding (versionRunBehaviour) ignored it whatever its value or spelling; a
// strict run from before the field existed refused it as an unknown field, whatever its value.
func TestPayloadFieldsNewerThanTheRunAreDecodedAsBefore(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	tests := []struct {
		name    string
		strict  bool // the run took versionRunBehaviour (bundle 2), not versionChangeNow
		payload string
		refused string // "": the change is pending from the next cycle, as before
	}{
		{name: "lax: when now", payload: `{"amount": 19900, "when": "now"}`},
		{name: "lax: a misspelt when and a consent", payload: `{"amount": 19900, "When": "now", "consent": {"granted": true}}`},
		{name: "lax: values of another type", payload: `{"amount": 19900, "when": 5, "CONSENT": "yes"}`},
		{name: "strict: an empty when", strict: true, payload: `{"amount": 19900, "when": ""}`, refused: `unknown field "when"`},
		{name: "strict: a consent", strict: true, payload: `{"amount": 19900, "consent": {"granted": true}}`, refused: `unknown field "consent"`},
		{name: "strict: no new field", strict: true, payload: `{"amount": 19900}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			newBank(t, env, "cust-1")
			if tc.strict {
				env.OnGetVersion("paycycle-bundle-2026-12", workflow.DefaultVersion, workflow.Version(3)).Return(workflow.Version(2))
				env.OnGetVersion("change-plan-now", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
			} else {
				env.OnGetVersion("paycycle-bundle-2026-12", workflow.DefaultVersion, workflow.Version(3)).Return(workflow.DefaultVersion)
				env.OnGetVersion("run-behaviour-2026-12", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
			}
			var after billing.State
			env.RegisterDelayedCallback(func() { signal(env, billing.MsgChangePlan, json.RawMessage(tc.payload)) }, time.Hour)
			env.RegisterDelayedCallback(func() {
				after = query(t, env)
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, 2*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, monthly())
			result(t, env)
			var refusals []string
			for _, e := range after.Events {
				if e.Kind == "refused" {
					refusals = append(refusals, e.Detail)
				}
			}
			require.Equal(t, int64(9900), after.Plan.Amount, "nothing changed now")
			if tc.refused != "" {
				require.Nil(t, after.PendingPlan)
				require.Len(t, refusals, 1)
				require.Contains(t, refusals[0], tc.refused)
				return
			}
			require.Empty(t, refusals, strings.Join(refusals, "; "))
			require.NotNil(t, after.PendingPlan, "a change from the next cycle, as before")
			require.Equal(t, int64(19900), after.PendingPlan.Amount)
		})
	}
}
