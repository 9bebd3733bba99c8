package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// Issue 10 (strict input, unknown signals, the UI's cancel button) and issue 15 (parking), on the
// workflow side.

func TestUnknownInputFieldsAreRefusedNamingTheNearestField(t *testing.T) {
	for _, tc := range []struct{ raw, field, near string }{
		{`{"subscription_id":"sub-1","customer_uid":"cust-1","plan":{"name":"P","amount":9900,"interval":{"unit":"month","count":1},"anchorday":15}}`, "anchorday", "anchor_day"},
		{`{"subscription_id":"sub-1","customer_uid":"cust-1","firstcharge":"anchor","plan":{"name":"P","amount":9900,"interval":{"unit":"month","count":1}}}`, "firstcharge", "first_charge"},
		{`{"subscription_id":"sub-1","customer_uid":"cust-1","plan":{"name":"P","amount":9900,"interval":{"unit":"month","count":1}},"dunning":{"gracee":"1d"}}`, "gracee", "grace"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			env := newEnv(t, kst(2025, time.March, 10, 10, 0))
			b := newBank(t, env, "cust-1")
			env.ExecuteWorkflow(billing.WorkflowType, rawJSON(tc.raw))
			require.True(t, env.IsWorkflowCompleted())
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, env.GetWorkflowError(), &appErr)
			require.Equal(t, billing.ErrorTypeInvalidInput, appErr.Type())
			require.Contains(t, appErr.Error(), tc.field)
			require.Contains(t, appErr.Error(), `did you mean "`+tc.near+`"`)
			require.Empty(t, b.paid(), "nothing is charged on an input that was not understood")
		})
	}
}

// rawJSON is a payload the test environment sends as it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestUnknownMessageFieldsAreRefused(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var misspelt updateResult
	var st1 billing.State
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, rawJSON(`{"whenn":"now","reason":"고객 요청"}`), &misspelt)
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, rawJSON(`{"whenn":"now","reason":"고객 요청"}`))
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() { st1 = query(t, env) }, 3*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 4*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.Error(t, firstErr(misspelt.rejected, misspelt.err))
	require.Contains(t, firstErr(misspelt.rejected, misspelt.err).Error(), `whenn: unknown field (did you mean "when"?)`)
	require.Nil(t, st1.PendingCancel, "a misspelt cancel is not taken as a cancel at period end")
	require.Equal(t, billing.StatusActive, st1.Status)
	require.True(t, hasEventLike(st1, "refused", "whenn"), "the refused signal is in the audit trail")
	require.Len(t, b.paid(), 1)
	require.Equal(t, billing.StatusCanceled, st.Status)
}

func TestUnknownSignalNamesAreRecordedAsRefused(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	newBank(t, env, "cust-1")
	var st1 billing.State
	env.RegisterDelayedCallback(func() {
		signal(env, "cancell", billing.CancelRequest{When: billing.Now, Reason: "오타"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() { st1 = query(t, env) }, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 3*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	result(t, env)
	require.Equal(t, billing.StatusActive, st1.Status)
	require.True(t, hasEventLike(st1, "refused", `unknown signal "cancell" (did you mean "cancel"?)`), "events: %v", st1.Events)
}

func TestTemporalCancellationRequestIsABillingCancel(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	in := monthly()
	in.Plan.DeleteBillingKeyOnEnd = true
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, after(start, kst(2025, time.April, 20, 0, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, billing.StatusCanceled, st.Status, "the run ends as a billing cancel, not abandoned")
	require.Contains(t, st.StatusReason, "cancellation requested through Temporal")
	require.True(t, st.NextChargeAt.IsZero())
	require.Len(t, b.deleted, 1, "the billing key is deleted as the plan says")
	require.Empty(t, b.refunds, "no refund")
	require.Len(t, b.paid(), 2)
	b.checkInvariants(st)
}

func TestACancellationRequestDuringAChargeLetsTheChargeSettleFirst(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.chargeHook = func(in activities.ChargeInput) {
		if in.Cycle == 2 {
			env.CancelWorkflow()
		}
	}
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Len(t, b.paid(), 2, "the charge in flight completed at PortOne")
	b.checkInvariants(st) // and it is recorded in the state
}

func TestParkingAndClearingAttention(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Cycle == 2 && in.Attempt == 1 {
			return billing.OutcomeAmountMismatch, "paid 9,000 instead of 9,900: refunded"
		}
		return billing.OutcomePaid, ""
	}
	var parked, marked, cleared billing.State
	var clearNoNote, clearAgain updateResult
	env.RegisterDelayedCallback(func() { parked = query(t, env) }, after(start, kst(2025, time.April, 10, 12, 0)))
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgClearAttention, billing.ClearAttentionRequest{}, &clearNoNote)
		signal(env, billing.MsgClearAttention, billing.ClearAttentionRequest{Note: "checked the refund at PortOne"})
	}, after(start, kst(2025, time.April, 12, 0, 0)))
	env.RegisterDelayedCallback(func() {
		cleared = query(t, env)
		signal(env, billing.MsgMarkAttention, billing.AttentionRequest{Kind: billing.AttentionReconciliation, Finding: "duplicate", Detail: "two paid for cycle 2", RequestID: "reconcile:duplicate:x"})
		signal(env, billing.MsgMarkAttention, billing.AttentionRequest{Kind: billing.AttentionReconciliation, Finding: "duplicate", Detail: "two paid for cycle 2", RequestID: "reconcile:duplicate:x"})
	}, after(start, kst(2025, time.April, 13, 0, 0)))
	env.RegisterDelayedCallback(func() {
		marked = query(t, env)
		update(env, billing.MsgClearAttention, billing.ClearAttentionRequest{Note: "refunded by hand"}, &clearAgain)
	}, after(start, kst(2025, time.April, 14, 0, 0)))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, after(start, kst(2025, time.April, 20, 0, 0)))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.NotNil(t, parked.Attention, "an amount mismatch parks the subscription")
	require.Equal(t, billing.AttentionAmountMismatch, parked.Attention.Kind)
	require.Error(t, firstErr(clearNoNote.rejected, clearNoNote.err), "clearing needs a note")
	require.Nil(t, cleared.Attention)
	require.NotNil(t, marked.Attention)
	require.Equal(t, "duplicate", marked.Attention.Finding)
	require.Equal(t, 1, countEvents(marked, "needs_attention", "duplicate"), "a repeated request_id marks once")
	require.NoError(t, firstErr(clearAgain.rejected, clearAgain.err))
	require.Nil(t, st.Attention)
}

func hasEventLike(st billing.State, kind, detail string) bool {
	return countEvents(st, kind, detail) > 0
}

func countEvents(st billing.State, kind, detail string) int {
	n := 0
	for _, e := range st.Events {
		if e.Kind == kind && strings.Contains(e.Detail, detail) {
			n++
		}
	}
	return n
}
