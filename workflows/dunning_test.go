package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// declineCycle makes the given cycle's first n attempts decline with reason.
func declineCycle(cycle, n int, reason string) func(in activities.ChargeInput) (billing.Outcome, string) {
	return func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.Cycle == cycle && in.Attempt <= n {
			return billing.OutcomeDeclined, reason
		}
		return billing.OutcomePaid, ""
	}
}

func kstTimes(b *bank) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, at := range b.ledger {
		out = append(out, at.at.In(calendar.Seoul).Format("01-02 15:04")+" c"+itoa(at.in.Cycle)+"a"+itoa(at.in.Attempt)+" "+string(at.outcome))
	}
	return out
}

func itoa(n int) string { return mustJSON(n) }

func TestDunningSoftDeclineRecovers(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 2, "한도초과")
	var pastDue billing.State
	// 2025-04-10 12:00: cycle 2 declined once.
	env.RegisterDelayedCallback(func() { pastDue = query(t, env) }, kst(2025, time.April, 10, 12, 0).Sub(start))
	var recovered billing.State
	env.RegisterDelayedCallback(func() {
		recovered = query(t, env)
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.April, 20, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.Equal(t, billing.StatusPastDue, pastDue.Status)
	require.True(t, pastDue.Entitled, "access is kept during grace")
	require.Equal(t, kst(2025, time.April, 11, 10, 0).UTC(), pastDue.DunningState.NextRetryAt.UTC())
	require.Equal(t, kst(2025, time.April, 17, 10, 0).UTC(), pastDue.DunningState.GraceEndsAt.UTC())

	require.Equal(t, billing.StatusActive, recovered.Status)
	require.Nil(t, recovered.DunningState)
	require.Equal(t, kst(2025, time.May, 10, 10, 0).UTC(), recovered.NextChargeAt.UTC())
	require.Equal(t, []string{
		"03-10 10:00 c1a1 paid",
		"04-10 10:00 c2a1 declined",
		"04-11 10:00 c2a2 declined",
		"04-13 10:00 c2a3 paid",
	}, kstTimes(b))
	b.checkInvariants(st)
}

func TestDunningExhaustedCancels(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	in := monthly()
	in.Plan.DeleteBillingKeyOnEnd = true
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.April, 17, 10, 0).UTC(), st.EndedAt.UTC(), "canceled right after the D+7 retry failed, at the end of grace")
	require.Equal(t, []string{
		"03-10 10:00 c1a1 paid",
		"04-10 10:00 c2a1 declined",
		"04-11 10:00 c2a2 declined",
		"04-13 10:00 c2a3 declined",
		"04-15 10:00 c2a4 declined",
		"04-17 10:00 c2a5 declined",
	}, kstTimes(b))
	require.Len(t, b.deleted, 1, "the plan deletes the billing key at the end")
	require.Equal(t, billing.RequesterAdmin, b.deleted[0].Requester)
	require.Contains(t, b.deleted[0].Reason, "미납")
	b.checkInvariants(st)
}

func TestDunningFinalActionPauseThenRestart(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	in := monthly()
	in.Dunning = &billing.DunningPolicy{FinalAction: billing.FinalActionPause}
	var paused billing.State
	env.RegisterDelayedCallback(func() {
		paused = query(t, env)
		b.decide = declineCycle(0, 0, "")
		signal(env, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "customer topped up"})
	}, kst(2025, time.May, 2, 15, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.June, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.Equal(t, billing.StatusPaused, paused.Status)
	require.True(t, paused.Pause.ByDunning)
	require.False(t, paused.Entitled)
	require.True(t, paused.NextChargeAt.IsZero())
	// The restart charged a full cycle at once and made May 2 the new anchor (next: June 2).
	require.Equal(t, []string{
		"03-10 10:00 c1a1 paid",
		"04-10 10:00 c2a1 declined", "04-11 10:00 c2a2 declined", "04-13 10:00 c2a3 declined",
		"04-15 10:00 c2a4 declined", "04-17 10:00 c2a5 declined",
		"05-02 15:00 c3a1 paid",
		"06-02 10:00 c4a1 paid",
	}, kstTimes(b))
	b.checkInvariants(st)
}

func TestHardDeclineWaitsForNewKeyThenRetriesAtOnce(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
		if in.CustomerUID == "cust-1" && in.Cycle == 2 {
			return billing.OutcomeDeclinedHard, "유효하지 않은 빌링키입니다"
		}
		return billing.OutcomePaid, ""
	}
	var required billing.State
	var replaced updateResult
	env.RegisterDelayedCallback(func() {
		required = query(t, env)
		b.mu.Lock()
		b.keys["cust-1-new"] = true
		b.mu.Unlock()
		update(env, billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{CustomerUID: "cust-1-new", Reason: "카드 변경"}, &replaced)
	}, kst(2025, time.April, 12, 9, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.April, 20, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.Equal(t, billing.StatusPaymentMethodRequired, required.Status)
	require.True(t, required.DunningState.Hard)
	require.True(t, required.DunningState.NextRetryAt.IsZero(), "no retry on a hard decline")
	require.True(t, required.Entitled, "grace still applies")
	require.True(t, replaced.done)
	require.NoError(t, replaced.err)
	require.Contains(t, replaced.receipt.Message, "paid")
	require.Equal(t, []string{
		"03-10 10:00 c1a1 paid",
		"04-10 10:00 c2a1 declined_hard",
		"04-12 09:00 c2a2 paid",
	}, kstTimes(b))
	require.Equal(t, "cust-1-new", st.CustomerUID)
	require.Len(t, b.deleted, 1)
	require.Equal(t, "cust-1", b.deleted[0].CustomerUID, "the old key is deleted")
	require.Equal(t, billing.RequesterCustomer, b.deleted[0].Requester)
	b.checkInvariants(st)
}

func TestHardDeclineWithoutNewKeyCancelsAtGraceEnd(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "분실 신고된 카드입니다")
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.April, 17, 10, 0).UTC(), st.EndedAt.UTC())
	require.Equal(t, []string{"03-10 10:00 c1a1 paid", "04-10 10:00 c2a1 declined_hard"}, kstTimes(b))
	b.checkInvariants(st)
}

func TestWeeklyRetriesNeverReachNextCycle(t *testing.T) {
	start := kst(2025, time.March, 3, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Week, Count: 1}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	// The D+7 retry would coincide with cycle 3's charge: it is dropped and the subscription ends
	// at the end of grace, before cycle 3 could be charged.
	require.Equal(t, []string{
		"03-03 10:00 c1a1 paid",
		"03-10 10:00 c2a1 declined", "03-11 10:00 c2a2 declined", "03-13 10:00 c2a3 declined", "03-15 10:00 c2a4 declined",
	}, kstTimes(b))
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.March, 17, 10, 0).UTC(), st.EndedAt.UTC())
	b.checkInvariants(st)
}

func TestLostAnswerIsLookedUpNotChargedTwice(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	// The bank commits cycle 1 and the activity loses the answer: the retry must adopt it.
	b.failCharge["sub-1-"+tagForTest()+"-1-1"] = true
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Len(t, b.paid(), 1)
	require.Len(t, st.Charges, 1)
	require.Equal(t, billing.OutcomePaid, st.Charges[0].Outcome)
	b.checkInvariants(st)
}

// tagForTest is the incarnation tag in the test environment (its first run ID is empty).
func tagForTest() string { return billing.IncarnationTag("") }

func TestPendingCancelTurnsAFinalPauseIntoACancel(t *testing.T) {
	start := kst(2025, time.March, 10, 10, 0)
	env := newEnv(t, start)
	b := newBank(t, env, "cust-1")
	b.decide = declineCycle(2, 99, "잔액부족")
	in := monthly()
	in.Dunning = &billing.DunningPolicy{FinalAction: billing.FinalActionPause}
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{Reason: "더 이상 이용하지 않음", Requester: billing.RequesterCustomer})
	}, kst(2025, time.April, 12, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Equal(t, kst(2025, time.April, 17, 10, 0).UTC(), st.EndedAt.UTC())
	b.checkInvariants(st)
}
