package portonetest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecoveryReexecutesFailedSchedule: with 리커버리 on, a failed scheduled payment is executed
// again under the same merchant_uid every day until one is paid, each time a new imp_uid in the
// ledger and a webhook as for a scheduled execution; unschedule does not stop it, a schedule
// that was paid is never recovered, and the re-executions are bounded.
func TestRecoveryReexecutesFailedSchedule(t *testing.T) {
	for _, tc := range []struct {
		name string
		// declines is how many executions (the scheduled one included) decline.
		declines int
		retries  int
		// wantStatuses are the ledger statuses of r-1's payments, oldest first.
		wantStatuses []string
		wantRecovery int
	}{
		{name: "paid on the first recovery", declines: 1, wantStatuses: []string{"failed", "paid"}, wantRecovery: 1},
		{name: "paid on the third", declines: 3, wantStatuses: []string{"failed", "failed", "failed", "paid"}, wantRecovery: 3},
		{name: "bounded", declines: 10, retries: 2, wantStatuses: []string{"failed", "failed", "failed"}, wantRecovery: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL + "/console" })
			h.register("c1")
			h.emu.AddFault(Fault{Op: OpScheduleExecution, Action: FaultRecovery, Retries: tc.retries})
			h.emu.AddFault(Fault{Op: OpScheduleExecution, MerchantUID: "r-1", Action: FaultDecline, Reason: "잔액부족", Times: tc.declines})
			require.Equal(t, 0, h.schedule("c1", entry("r-1", t0.Add(time.Minute), 1000), entry("r-2", t0.Add(time.Minute), 1000)).Code)
			h.clk.Advance(time.Minute)
			// Our own retry would revoke it here; 리커버리 goes on regardless.
			require.Equal(t, 1, h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"r-1"}}).Code)
			for range 12 {
				h.clk.Advance(12 * time.Hour)
			}

			var statuses, imps, r2 []string
			for _, le := range h.emu.Ledger() {
				if le.MerchantUID == "r-2" {
					r2 = append(r2, le.Status)
				}
				if le.MerchantUID != "r-1" {
					continue
				}
				require.Equal(t, "payment.scheduled", le.Usage)
				require.NotContains(t, imps, le.ImpUID, "each re-execution is a new payment")
				statuses, imps = append(statuses, le.Status), append(imps, le.ImpUID)
			}
			require.Equal(t, tc.wantStatuses, statuses)
			require.Equal(t, []string{"paid"}, r2, "a schedule that was paid is never recovered")
			require.LessOrEqual(t, h.emu.PaidCount("r-1"), 1)
			recs := h.emu.Schedules()
			require.Equal(t, "executed", recs[0].Status)
			require.Equal(t, tc.wantRecovery, recs[0].Recoveries)
			require.Equal(t, imps[len(imps)-1], recs[0].ImpUID, "the schedule shows the latest attempt")
			require.True(t, recs[0].NextRecoveryAt.IsZero(), "nothing more is due")
			require.Zero(t, recs[1].Recoveries)
			// Recoveries run a day apart, on the emulator's clock.
			var at []time.Time
			for _, le := range h.emu.Ledger() {
				if le.MerchantUID == "r-1" {
					at = append(at, le.CreatedAt)
				}
			}
			for i := 1; i < len(at); i++ {
				require.Equal(t, DefaultRecoveryEvery, at[i].Sub(at[i-1]))
			}

			// Every attempt notified like a scheduled execution, with its own imp_uid.
			d := h.waitHooks(len(imps) + 1)
			var got []string
			for _, hk := range rc.hooks() {
				var body map[string]string
				require.NoError(t, json.Unmarshal([]byte(hk.Body), &body))
				if body["merchant_uid"] == "r-1" {
					got = append(got, body["imp_uid"]+" "+body["status"])
				}
			}
			var want []string
			for i := range imps {
				want = append(want, imps[i]+" "+statuses[i])
			}
			require.ElementsMatch(t, want, got)
			require.Len(t, d, len(imps)+1)
		})
	}
}

// TestRecoveryFaultValidation: the recovery fault applies to scheduled executions only, and its
// fields round-trip through the control API's JSON.
func TestRecoveryFaultValidation(t *testing.T) {
	require.Error(t, Fault{Op: OpAgain, Action: FaultRecovery}.Validate())
	require.Error(t, Fault{Action: FaultDecline, Every: time.Hour}.Validate(), "every belongs to recovery")
	require.Error(t, Fault{Action: FaultRecovery, Retries: -1}.Validate())
	f := Fault{Op: OpScheduleExecution, Action: FaultRecovery, Every: 36 * time.Hour, Retries: 3}
	require.NoError(t, f.Validate())
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.JSONEq(t, `{"op":"schedule_execution","action":"recovery","every":"36h0m0s","retries":3,"fired":0}`, string(b))
	var back Fault
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, f, back)
	h := newHarness(t)
	code, _ := h.control(http.MethodPost, "/__emulator/faults", map[string]any{"action": "recovery", "op": "again"})
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = h.control(http.MethodPost, "/__emulator/faults", map[string]any{"action": "recovery", "op": "schedule_execution", "every": "36h", "retries": 3})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []Fault{f}, []Fault{h.emu.Faults()[0].Fault})
}

// TestRecoverySurvivesRestart: a pending 리커버리 is part of the saved state (PortOne would not
// forget it because our emulator restarted), while the recovery fault itself, like every fault,
// is not.
func TestRecoverySurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.emu.AddFault(Fault{Op: OpScheduleExecution, Action: FaultRecovery})
	h.emu.AddFault(Fault{Op: OpScheduleExecution, Action: FaultDecline, Times: 1})
	require.Equal(t, 0, h.schedule("c1", entry("r-1", t0.Add(time.Minute), 1000)).Code)
	h.clk.Advance(time.Minute)
	snap, err := h.emu.Snapshot()
	require.NoError(t, err)

	clk := NewManualClock(h.clk.Now())
	b := New(Options{Clock: clk})
	defer b.Close()
	require.NoError(t, b.Restore(snap))
	require.Equal(t, h.clk.Now().Add(DefaultRecoveryEvery).Unix(), b.Schedules()[0].NextRecoveryAt.Unix())
	clk.Advance(DefaultRecoveryEvery)
	require.Equal(t, 1, b.PaidCount("r-1"))
	require.Equal(t, 1, b.Schedules()[0].Recoveries)
	again, err := b.Snapshot()
	require.NoError(t, err)
	c := New(Options{Clock: NewManualClock(clk.Now())})
	defer c.Close()
	require.NoError(t, c.Restore(again))
	require.Equal(t, 1, c.Schedules()[0].Recoveries)
	require.True(t, c.Schedules()[0].NextRecoveryAt.IsZero(), "paid: nothing more is due")
}
