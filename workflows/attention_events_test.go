package workflows_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// Issue 23: a park and its clearing are events (versionAttentionEvents), so that the read
// model's needs-attention queue is fed from the stream, not only from workflow states.

// attentionRun runs a monthly subscription with the event stream on (or off), marks it for a
// person twice on day 5 and 6 and clears it on day 9 when mark is true, and cancels it on day 40.
// asked counts the attention-events questions; old answers DefaultVersion (a run recorded
// before the change).
func attentionRun(t *testing.T, events, mark, old bool) (st billing.State, got []billing.MerchantEvent, asked int) {
	t.Helper()
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	var sink *outboxSink
	if events {
		sink = enableEvents(t, b, 0)
	}
	answer := workflow.Version(1)
	if old {
		answer = workflow.DefaultVersion
	}
	env.OnGetVersion("attention-events", workflow.DefaultVersion, workflow.Version(1)).Run(func(mock.Arguments) { asked++ }).Return(answer)
	day := 24 * time.Hour
	if mark {
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgMarkAttention, billing.AttentionRequest{RequestID: "mark-1", Kind: billing.AttentionReconciliation,
				Finding: "state_drift", Detail: "cycle 1: PortOne says cancelled (imp_1)"})
		}, 5*day)
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgMarkAttention, billing.AttentionRequest{RequestID: "mark-2", Kind: billing.AttentionOperator, Detail: "also this"})
		}, 6*day)
		env.RegisterDelayedCallback(func() {
			signal(env, billing.MsgClearAttention, billing.ClearAttentionRequest{RequestID: "clear-1", Note: "refunded by hand; called 010-1234-5678"})
		}, 9*day)
	}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 40*day)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st = result(t, env)
	b.checkInvariants(st)
	if sink != nil {
		got = sink.got
	}
	return st, got, asked
}

func eventsOf(got []billing.MerchantEvent, typ billing.EventType) []billing.MerchantEvent {
	var out []billing.MerchantEvent
	for _, e := range got {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// TestParkAndClearAreEvents: the first mark makes subscription.needs_attention with the flag
// (kind, finding, detail, when); a second mark while the flag stands makes none (the flag keeps
// the first); the clear makes subscription.attention_cleared with the cleared flag and without
// the operator's free-text note. The stream stays numbered without gaps.
func TestParkAndClearAreEvents(t *testing.T) {
	st, got, asked := attentionRun(t, true, true, false)
	requireWellNumbered(t, st, got)
	parked, cleared := eventsOf(got, billing.EventNeedsAttention), eventsOf(got, billing.EventAttentionCleared)
	require.Len(t, parked, 1)
	require.Len(t, cleared, 1)
	require.Less(t, parked[0].Seq, cleared[0].Seq)
	require.Positive(t, asked)

	var d billing.EventData
	require.NoError(t, json.Unmarshal(parked[0].Data, &d))
	require.NotNil(t, d.Attention)
	require.Equal(t, billing.AttentionReconciliation, d.Attention.Kind)
	require.Equal(t, "state_drift", d.Attention.Finding)
	require.Equal(t, "cycle 1: PortOne says cancelled (imp_1)", d.Attention.Detail)
	require.Equal(t, kst(2025, time.March, 15, 10, 0).UTC(), d.Attention.MarkedAt)
	require.Equal(t, billing.StatusActive, d.Subscription.Status)
	require.Equal(t, "reconciliation state_drift", d.Detail)

	require.NoError(t, json.Unmarshal(cleared[0].Data, &d))
	require.Equal(t, "state_drift", d.Attention.Finding, "the flag that was cleared")
	require.Equal(t, "cleared: reconciliation state_drift", d.Detail)
	require.NotContains(t, string(cleared[0].Data), "010-1234-5678", "the operator's note stays in the audit trail")
	require.Nil(t, st.Attention)
}

// TestAttentionEventsAskedOnlyOnThePath: a run that never parks, and a run without webhook
// endpoints that parks, never ask the attention-events question (nothing new recorded in their
// histories); a run recorded before the change (DefaultVersion) parks without the events.
func TestAttentionEventsAskedOnlyOnThePath(t *testing.T) {
	for _, tc := range []struct {
		name              string
		events, mark, old bool
		wantAsked         bool
	}{
		{name: "events on, never parked", events: true},
		{name: "no endpoints, parked", mark: true},
		{name: "recorded before the change, parked", events: true, mark: true, old: true, wantAsked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, got, asked := attentionRun(t, tc.events, tc.mark, tc.old)
			require.Equal(t, tc.wantAsked, asked > 0, "asked %d times", asked)
			parkedInAudit := false
			for _, e := range st.Events {
				parkedInAudit = parkedInAudit || e.Kind == "needs_attention"
			}
			require.Equal(t, tc.mark, parkedInAudit, "the run parked")
			require.Empty(t, eventsOf(got, billing.EventNeedsAttention))
			require.Empty(t, eventsOf(got, billing.EventAttentionCleared))
			if tc.events {
				requireWellNumbered(t, st, got)
			} else {
				require.Zero(t, st.EventSeq)
			}
		})
	}
}
