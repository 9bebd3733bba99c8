package readmodel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/readmodel"
)

// TestAttentionEventsFeedTheQueue: subscription.needs_attention puts the subscription in the
// needs-attention queue with its finding (no workflow state needed), a redelivery changes
// nothing, subscription.attention_cleared takes it out, and Compare agrees with the workflow's
// state at each step.
func TestAttentionEventsFeedTheQueue(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-parked", t0, "Basic", 9900, "1 month")
	x.start(t0.Add(30 * day))
	other := newSub("sub-fine", t0, "Basic", 9900, "1 month")
	other.start(t0.Add(30 * day))
	applyAll(t, s, other.out)

	marked := t0.Add(2 * time.Hour)
	x.advance(2 * time.Hour)
	att := billing.Attention{Kind: billing.AttentionReconciliation, Finding: "duplicate", Detail: "cycle 1 paid twice: imp_a, imp_b", MarkedAt: marked}
	park := x.emit(billing.EventNeedsAttention, billing.EventData{Attention: &att}, nil)
	applyAll(t, s, x.out)

	queue := func() []readmodel.Row {
		rows, n, err := s.Queue(ctx, readmodel.NeedsAttention, readmodel.Page{})
		require.NoError(t, err)
		require.Len(t, rows, n)
		return rows
	}
	rows := queue()
	require.Len(t, rows, 1)
	require.Equal(t, "sub-parked", rows[0].SubscriptionID)
	require.Equal(t, billing.AttentionReconciliation, rows[0].AttentionKind)
	require.Equal(t, "duplicate", rows[0].AttentionFinding)
	require.Equal(t, att.Detail, rows[0].AttentionDetail)
	require.True(t, marked.Equal(rows[0].AttentionAt))
	o, err := s.Overview(ctx, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, o.NeedsAttention)

	st := stateOf(x)
	st.PaidThrough, st.NextChargeAt = t0.Add(30*day), t0.Add(30*day)
	st.Charges = []billing.ChargeRecord{{Cycle: 1, Attempt: 1, Amount: 9900, Outcome: billing.OutcomePaid, At: t0}}
	st.Attention = &att
	d, err := s.Compare(ctx, x.id, st)
	require.NoError(t, err)
	require.Empty(t, d, "the row fed by the event agrees with the parked workflow's state")

	res, err := s.Accept(ctx, park)
	require.NoError(t, err)
	require.Equal(t, readmodel.Duplicate, res)
	require.Len(t, queue(), 1)

	x.advance(time.Hour)
	x.emit(billing.EventAttentionCleared, billing.EventData{Attention: &att}, nil)
	applyAll(t, s, x.out[len(x.out)-1:])
	require.Empty(t, queue())
	st.Attention, st.EventSeq = nil, x.seq
	d, err = s.Compare(ctx, x.id, st)
	require.NoError(t, err)
	require.Empty(t, d)
}
