package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
)

func TestRegistrationBySignalThenFirstCharge(t *testing.T) {
	start := kst(2025, time.April, 1, 9, 0)
	env := newEnv(t, start)
	b := newBank(t, env) // no billing key yet
	b.regs["imp_000000000777"] = "cust-1"
	b.regs["imp_000000000666"] = "someone-else"
	var waiting, afterBad billing.State
	env.RegisterDelayedCallback(func() { waiting = query(t, env) }, time.Minute)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.SignalRegistrationFailed, billing.RegistrationFailedSignal{Error: "사용자가 결제를 취소하였습니다"})
		signal(env, billing.SignalRegistered, billing.RegisteredSignal{ImpUID: "imp_000000000666"})
	}, 5*time.Minute)
	env.RegisterDelayedCallback(func() { afterBad = query(t, env) }, 6*time.Minute)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.SignalRegistered, billing.RegisteredSignal{ImpUID: "imp_000000000777"})
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)

	require.Equal(t, billing.StatusAwaitingRegistration, waiting.Status)
	require.False(t, waiting.Entitled)
	require.Equal(t, start.Add(72*time.Hour).UTC(), waiting.Registration.Deadline.UTC())
	require.Equal(t, billing.StatusAwaitingRegistration, afterBad.Status, "a registration of another key is refused")
	require.Contains(t, afterBad.Registration.LastError, "another billing key")
	require.Equal(t, "imp_000000000777", st.Registration.ImpUID)
	require.Equal(t, []string{"2025-04-01 09:10"}, b.paidDates(), "the first charge follows the registration at once")
	b.checkInvariants(st)
}

func TestRegistrationTimesOut(t *testing.T) {
	env := newEnv(t, kst(2025, time.April, 1, 9, 0))
	b := newBank(t, env)
	in := monthly()
	in.RegistrationTimeout = billing.Duration(2 * time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)
	require.Equal(t, billing.StatusExpired, st.Status)
	require.Contains(t, st.StatusReason, "2h")
	require.Empty(t, b.ledger)
}

func TestRegistrationFoundByPeriodicCheck(t *testing.T) {
	start := kst(2025, time.April, 1, 9, 0)
	env := newEnv(t, start)
	b := newBank(t, env)
	// The key appears at PortOne but the edge's message is lost.
	env.RegisterDelayedCallback(func() {
		b.mu.Lock()
		b.keys["cust-1"] = true
		b.mu.Unlock()
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, 24*time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, []string{"2025-04-01 09:43"}, b.paidDates(), "found at the first periodic check: 72h/100 = 43m12s")
	b.checkInvariants(st)
}

func TestCancelWhileAwaitingRegistration(t *testing.T) {
	env := newEnv(t, kst(2025, time.April, 1, 9, 0))
	b := newBank(t, env)
	var r updateResult
	env.RegisterDelayedCallback(func() {
		update(env, billing.MsgCancel, billing.CancelRequest{Reason: "가입 취소", Requester: billing.RequesterCustomer}, &r)
	}, time.Hour)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.NoError(t, r.err)
	require.Equal(t, billing.StatusCanceled, r.receipt.Status)
	require.Equal(t, billing.StatusCanceled, st.Status)
	require.Empty(t, b.ledger)
}
