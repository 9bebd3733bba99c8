package activities_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/portone"
)

func TestScheduleStateFlags(t *testing.T) {
	t.Parallel()
	charge := &activities.ChargeResult{Outcome: billing.OutcomePaid}
	type flags struct{ executed, pending, refused, revoked, notFound bool }
	tests := []struct {
		name string
		give activities.ScheduleState
		want flags
	}{
		{"unknown to PortOne", activities.ScheduleState{}, flags{notFound: true}},
		{"refused to schedule", activities.ScheduleState{Charge: &activities.ChargeResult{Outcome: billing.OutcomeDeclinedHard}}, flags{refused: true}},
		{"pending", activities.ScheduleState{Status: activities.SchedulePending}, flags{pending: true}},
		{"executed", activities.ScheduleState{Status: activities.ScheduleExecuted, Charge: charge}, flags{executed: true}},
		{"executed without a result is not adoptable", activities.ScheduleState{Status: activities.ScheduleExecuted}, flags{}},
		{"revoked", activities.ScheduleState{Status: activities.ScheduleRevoked, Charge: &activities.ChargeResult{Outcome: billing.OutcomeRevoked}}, flags{revoked: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := flags{tt.give.Executed(), tt.give.Pending(), tt.give.Refused(), tt.give.Revoked(), tt.give.NotFound()}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestScheduleStatusStringsArePortOnes pins the owned constants to the client's: the workflow
// compares what the activity recorded in history, so the strings must never differ.
func TestScheduleStatusStringsArePortOnes(t *testing.T) {
	t.Parallel()
	require.Equal(t, string(portone.ScheduleScheduled), string(activities.SchedulePending))
	require.Equal(t, string(portone.ScheduleExecuted), string(activities.ScheduleExecuted))
	require.Equal(t, string(portone.ScheduleRevoked), string(activities.ScheduleRevoked))
	require.Equal(t, "", string(activities.ScheduleNone))
	require.Equal(t, activities.ScheduleExecuted, activities.ScheduleState{Status: activities.ScheduleExecuted}.State())
}

// TestRecordedJSONStillDecodes decodes results written before the new fields existed (as the
// replay fixtures hold them) and checks that today's encoding only adds fields.
func TestRecordedJSONStillDecodes(t *testing.T) {
	t.Parallel()
	old := `{"status":"executed","schedule_at":"2025-04-01T02:00:00Z","charge":{"outcome":"paid","merchant_uid":"sub-1-abcd-2-1","imp_uid":"imp_1","amount":9900,"at":"2025-04-01T02:00:00Z"}}`
	var st activities.ScheduleState
	require.NoError(t, json.Unmarshal([]byte(old), &st))
	require.True(t, st.Executed())
	require.Zero(t, st.Charge.Attempt, "absent in old histories")
	require.Empty(t, st.Charge.Via)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	require.JSONEq(t, old, string(b))

	refused := `{"status":"","charge":{"outcome":"declined_hard","merchant_uid":"m","amount":1}}`
	require.NoError(t, json.Unmarshal([]byte(refused), &st))
	require.True(t, st.Refused())
}

func TestResultsCarryAttemptAndVia(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	first, err := f.charge(chargeIn("sub-1-abcd-1-1", 1))
	require.NoError(t, err)
	require.Equal(t, 1, first.Attempt)
	require.Equal(t, billing.ViaAgain, first.Via)

	// An adopted payment carries the attempt of the merchant_uid that was paid, not the one asked.
	adopted, err := f.charge(chargeIn("sub-1-abcd-1-2", 2, "sub-1-abcd-1-1"))
	require.NoError(t, err)
	require.True(t, adopted.Adopted)
	require.Equal(t, 1, adopted.Attempt)
	require.Equal(t, billing.ViaAgain, adopted.Via)

	v, err := f.env.ExecuteActivity(f.acts.Lookup, activities.LookupInput{MerchantUIDs: []string{"sub-1-abcd-1-1", "sub-1-abcd-1-2"}})
	require.NoError(t, err)
	var lr activities.LookupResult
	require.NoError(t, v.Get(&lr))
	require.Equal(t, 1, lr.Charge.Attempt)
	require.Equal(t, billing.ViaAgain, lr.Charge.Via)

	in := activities.ScheduleChargeInput{ChargeInput: chargeIn("sub-1-abcd-2-3", 3), ScheduleAt: f.clk.Now().Add(time.Hour)}
	_, err = f.env.ExecuteActivity(f.acts.ScheduleCharge, in)
	require.NoError(t, err)
	f.clk.Advance(2 * time.Hour)
	f.emu.RunDue()
	v, err = f.env.ExecuteActivity(f.acts.ScheduleStatus, activities.SettleScheduleInput{CustomerUID: "cust-1", MerchantUID: in.MerchantUID, Amount: 9900})
	require.NoError(t, err)
	var st activities.ScheduleState
	require.NoError(t, v.Get(&st))
	require.True(t, st.Executed())
	require.Equal(t, 3, st.Charge.Attempt)
	require.Equal(t, billing.ViaSchedule, st.Charge.Via)
}
