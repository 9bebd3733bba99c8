package workflows_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// envClock lets the emulator read the test environment's (skipped) time.
type envClock struct {
	env *testsuite.TestWorkflowEnvironment
}

func (c envClock) Now() time.Time { return c.env.Now() }

// emulatorBank makes the PortOne emulator the bank of a test environment: the activities talk
// HTTP to it, its clock is the environment's, and its scheduler runs at the instants given
// (RunDue), as PortOne's would.
func emulatorBank(t *testing.T, env *testsuite.TestWorkflowEnvironment, keys ...string) *portonetest.Emulator {
	t.Helper()
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	gateway, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	for _, k := range keys {
		_, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: k})
		require.NoError(t, err)
	}
	env.RegisterActivity(&activities.Activities{Gateway: portonev1.New(gateway), Config: activities.Config{ScheduleSettleDelay: time.Minute}, Now: env.Now})
	return emu
}

// runSchedulerEvery runs the emulator's scheduler every step from start for span.
func runSchedulerEvery(env *testsuite.TestWorkflowEnvironment, emu *portonetest.Emulator, from, span, step time.Duration) {
	for d := from; d <= span; d += step {
		env.RegisterDelayedCallback(func() { emu.RunDue() }, d)
	}
}

// ledgerInvariants checks the money invariants against the emulator's ledger: at most one kept
// (paid, not fully refunded) payment per cycle, refunds never above what was paid, and every
// payment of ours in the state with its imp_uid and outcome (state equal to the ledger).
func ledgerInvariants(t *testing.T, emu *portonetest.Emulator, st billing.State) {
	t.Helper()
	kept := map[int][]string{}
	for _, le := range emu.Ledger() {
		if le.Usage == "issue" {
			continue
		}
		parsed, err := billing.ParseMerchantUID(le.MerchantUID)
		require.NoError(t, err)
		require.LessOrEqual(t, le.CancelAmount, le.Amount, "refund above the payment %s", le.ImpUID)
		if !le.PaidAt.IsZero() && le.CancelAmount < le.Amount {
			kept[parsed.Charge.Cycle] = append(kept[parsed.Charge.Cycle], le.MerchantUID+"/"+le.ImpUID)
		}
	}
	for cycle, k := range kept {
		require.LessOrEqual(t, len(k), 1, "cycle %d is paid more than once: %v", cycle, k)
	}
	for _, le := range emu.Ledger() {
		if le.Usage == "issue" {
			continue
		}
		if le.Status == "failed" && le.Usage == "payment.scheduled" && !slices.ContainsFunc(st.Charges, func(c billing.ChargeRecord) bool { return c.ImpUID == le.ImpUID }) {
			// A 리커버리 re-execution that failed: PortOne's attempt, not ours (see README).
			continue
		}
		i := slices.IndexFunc(st.Charges, func(c billing.ChargeRecord) bool { return c.ImpUID == le.ImpUID })
		require.GreaterOrEqual(t, i, 0, "payment %s %s (%s, %d KRW) is not in the state", le.MerchantUID, le.ImpUID, le.Status, le.Amount)
		var refunded int64
		for _, f := range st.Refunds {
			if f.ImpUID == le.ImpUID {
				refunded += f.Amount
			}
		}
		require.Equal(t, le.CancelAmount, refunded, "refunds of %s: ledger and state", le.ImpUID)
	}
}

// TestRecoveryPaysADunnedCycleTwice: schedule mode, PortOne's 리커버리 on. The scheduled charge of
// cycle 2 declines; our dunning retries it through again under a new merchant_uid and it is paid;
// then 리커버리 re-executes the scheduled merchant_uid and it is paid too. The cycle must end with
// one kept payment: the workflow finds the second one and refunds it, recording both.
func TestRecoveryPaysADunnedCycleTwice(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter []billing.Duration
		// every is 리커버리's interval.
		every time.Duration
	}{
		{name: "retry at 6h, recovery a day after the failure", retryAfter: []billing.Duration{billing.Duration(6 * time.Hour)}, every: 24 * time.Hour},
		{name: "retry at D+1, recovery half an hour later", retryAfter: nil, every: 24*time.Hour + 30*time.Minute},
		{name: "retry at 6h, recovery two days later", retryAfter: []billing.Duration{billing.Duration(6 * time.Hour)}, every: 47 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			env := newEnv(t, start)
			emu := emulatorBank(t, env, "cust-1")
			due := kst(2025, time.May, 1, 10, 0)
			emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, Action: portonetest.FaultRecovery, Every: tc.every})
			scheduled := "sub-1-" + tagForTest() + "-2-1"
			emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, MerchantUID: scheduled, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
			// PortOne's scheduler runs half a minute after each due time, then every 30 minutes.
			runSchedulerEvery(env, emu, due.Sub(start)+30*time.Second, due.Sub(start)+10*24*time.Hour, 30*time.Minute)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.May, 20, 0, 0).Sub(start))
			var mid billing.State
			env.RegisterDelayedCallback(func() { mid = query(t, env) }, kst(2025, time.May, 2, 9, 0).Sub(start))
			in := scheduleMode()
			d := billing.DunningPolicy{RetryAfter: tc.retryAfter}
			in.Dunning = &d
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			if tc.retryAfter != nil {
				// Between our paid retry and 리커버리: the watch is in the state, and a carried
				// state passes the next run's check only with this subscription's merchant_uids.
				require.Len(t, mid.RecoveryWatches, 1)
				require.Equal(t, scheduled, mid.RecoveryWatches[0].MerchantUID)
				require.NoError(t, mid.ValidateCarried())
				forged := mid
				forged.RecoveryWatches = []billing.RecoveryWatch{mid.RecoveryWatches[0]}
				forged.RecoveryWatches[0].MerchantUID = "sub-2-" + tagForTest() + "-2-1"
				require.ErrorContains(t, forged.ValidateCarried(), "continued.recovery_watches[0]")
			}
			var recovered int
			for _, s := range emu.Schedules() {
				if s.MerchantUID == scheduled {
					recovered = s.Recoveries
				}
			}
			require.Equal(t, 1, recovered, "리커버리 re-executed the failed schedule once")
			require.Equal(t, 1, emu.PaidCount(scheduled), "and it was paid")
			require.Equal(t, 1, emu.PaidCount("sub-1-"+tagForTest()+"-2-2"), "our retry was paid")
			ledgerInvariants(t, emu, st)

			// The evidence: both payments, their merchant_uids, imp_uids and amounts.
			var ev []string
			for _, e := range st.Events {
				if e.Kind == "duplicate_refunded" {
					ev = append(ev, e.Detail)
				}
			}
			require.Len(t, ev, 1, "%v", vias(st))
			var dupImp, keptImp string
			for _, le := range emu.Ledger() {
				if le.MerchantUID == scheduled && !le.PaidAt.IsZero() {
					dupImp = le.ImpUID
				}
				if le.MerchantUID == "sub-1-"+tagForTest()+"-2-2" {
					keptImp = le.ImpUID
				}
			}
			for _, want := range []string{scheduled, dupImp, "sub-1-" + tagForTest() + "-2-2", keptImp, "9,900"} {
				require.Contains(t, ev[0], want)
			}
			require.Contains(t, strings.Join(vias(st), "\n"), "c2a1 schedule duplicate", fmt.Sprint(vias(st)))
		})
	}
}

// TestRecoveryWatchIsBounded: the watch of a failed schedule ends after its lookups when nothing
// more is charged (리커버리 off), and is not started when the failed schedule itself was paid
// first (리커버리 before our retry: the retry's look-first adopts it). Either way one payment is
// kept, nothing is refunded, and the next cycle is charged as usual.
func TestRecoveryWatchIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		// every is 리커버리's interval; 0: 리커버리 off.
		every      time.Duration
		wantEvents []string
	}{
		{name: "리커버리 off", wantEvents: []string{"recovery_watch", "recovery_watch_ended"}},
		{name: "리커버리 pays before our retry", every: 12 * time.Hour, wantEvents: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := kst(2025, time.April, 1, 10, 0)
			env := newEnv(t, start)
			emu := emulatorBank(t, env, "cust-1")
			due := kst(2025, time.May, 1, 10, 0)
			if tc.every > 0 {
				emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, Action: portonetest.FaultRecovery, Every: tc.every})
			}
			scheduled := "sub-1-" + tagForTest() + "-2-1"
			emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, MerchantUID: scheduled, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
			runSchedulerEvery(env, emu, due.Sub(start)+30*time.Second, due.Sub(start)+10*24*time.Hour, 30*time.Minute)
			runSchedulerEvery(env, emu, kst(2025, time.June, 1, 10, 0).Sub(start)+30*time.Second, kst(2025, time.June, 1, 10, 0).Sub(start)+time.Hour, 30*time.Minute)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.June, 5, 0, 0).Sub(start))
			in := scheduleMode()
			in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(24 * time.Hour)}}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			ledgerInvariants(t, emu, st)
			require.Empty(t, st.Refunds)
			require.Empty(t, st.RecoveryWatches)
			var kinds []string
			for _, e := range st.Events {
				if strings.HasPrefix(e.Kind, "recovery_watch") || e.Kind == "duplicate_refunded" {
					kinds = append(kinds, e.Kind)
				}
			}
			require.Equal(t, tc.wantEvents, kinds)
			require.Contains(t, vias(st), "c3a1 schedule paid", "the next cycle is charged as usual")
		})
	}
}
