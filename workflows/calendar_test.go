package workflows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/workflows"
)

// runRuns executes the subscription through continue-as-new runs until it has made want paid
// charges, carrying the state from run to run as Temporal would, and returns the bank and the
// last state.
func runRuns(t *testing.T, start time.Time, in billing.SubscriptionInput, want int, maxRuns int) (*bank, []billing.SubscriptionInput) {
	t.Helper()
	var b *bank
	var keys = map[string]bool{in.CustomerUID: true}
	var ledger []attempt
	var carried []billing.SubscriptionInput
	now := start
	for run := 0; run < maxRuns; run++ {
		env := newEnv(t, now)
		b = newBank(t, env)
		b.keys = keys
		b.ledger = ledger
		for i := range ledger {
			b.byUID[ledger[i].in.MerchantUID] = &ledger[i]
		}
		b.seq = len(ledger)
		if run > 0 {
			env.SetContinuedExecutionRunID(fmt.Sprintf("run-%d", run-1)) // as the server sets it
		}
		env.ExecuteWorkflow(billing.WorkflowType, in)
		ledger = b.ledger
		in = continued(t, env)
		carried = append(carried, in)
		if len(b.paid()) >= want {
			return b, carried
		}
		now = env.Now()
	}
	t.Fatalf("did not reach %d paid charges in %d runs", want, maxRuns)
	return nil, nil
}

func TestMonthlyFromJan31TwoYears(t *testing.T) {
	in := monthly()
	b, carried := runRuns(t, kst(2025, time.January, 31, 9, 0), in, 2*workflows.CyclesPerRun, 2)
	got := b.paidDates()[:25]
	require.Equal(t, []string{
		"2025-01-31 09:00", // first charge at sign-up
		"2025-02-28 10:00", "2025-03-31 10:00", "2025-04-30 10:00", "2025-05-31 10:00", "2025-06-30 10:00",
		"2025-07-31 10:00", "2025-08-31 10:00", "2025-09-30 10:00", "2025-10-31 10:00", "2025-11-30 10:00",
		"2025-12-31 10:00", "2026-01-31 10:00", "2026-02-28 10:00", "2026-03-31 10:00", "2026-04-30 10:00",
		"2026-05-31 10:00", "2026-06-30 10:00", "2026-07-31 10:00", "2026-08-31 10:00", "2026-09-30 10:00",
		"2026-10-31 10:00", "2026-11-30 10:00", "2026-12-31 10:00", "2027-01-31 10:00",
	}, got)
	// Continue-as-new after every CyclesPerRun (48) cycles carried the state; merchant_uids
	// stay unique.
	require.Len(t, carried, 2)
	st := *carried[len(carried)-1].Continued
	require.Equal(t, 2*workflows.CyclesPerRun, st.Cycle)
	require.Equal(t, billing.StatusActive, st.Status)
	require.Equal(t, 2, st.Runs, "the state handed on by the second run")
	require.Equal(t, workflows.CyclesPerRun, (*carried[0].Continued).Cycle)
	require.Len(t, st.Events, 5, "a run carries the last five audit events, not its 48 cycles' (versionLeanRun)")
	require.Equal(t, "continue_as_new", st.Events[4].Kind)
	require.Zero(t, carried[1].Plan, "the next run's input is the carried state alone")
	b.checkInvariants(st)
	// The service period of cycle 2 is Feb 28 .. Mar 30.
	for _, c := range st.Charges {
		require.Equal(t, billing.OutcomePaid, c.Outcome)
	}
	require.Equal(t, "2032-12-31", st.CurrentPeriod.FirstDay.String())
	require.Equal(t, "2033-01-30", st.CurrentPeriod.LastDay.String())
}

func TestYearlyFromFeb29(t *testing.T) {
	in := monthly()
	in.Plan.Interval = calendar.Interval{Unit: calendar.Year, Count: 1}
	in.Plan.Amount = 99000
	b, _ := runRuns(t, kst(2024, time.February, 29, 10, 0), in, 6, 1)
	require.Equal(t, []string{
		"2024-02-29 10:00", "2025-02-28 10:00", "2026-02-28 10:00", "2027-02-28 10:00", "2028-02-29 10:00", "2029-02-28 10:00",
	}, b.paidDates()[:6])
}

func TestContinueAsNewWhenTheServerSuggestsIt(t *testing.T) {
	env := newEnv(t, kst(2025, time.January, 15, 10, 0))
	b := newBank(t, env, "cust-1")
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	in := continued(t, env)
	// It continued at the first cycle boundary, carrying everything the next run needs.
	st := in.Continued
	require.Equal(t, 1, st.Cycle)
	require.Len(t, b.paid(), 1)
	require.Equal(t, billing.StatusActive, st.Status)
	require.Equal(t, kst(2025, time.February, 15, 10, 0).UTC(), st.NextChargeAt.UTC())
	require.NotEmpty(t, st.Tag)
	require.Equal(t, "sub-1", in.SubscriptionID)
	want := monthly()
	want.Plan.Normalize()
	require.Equal(t, want.Plan, st.Plan)
	require.Zero(t, in.Plan, "the next run's input is the carried state alone (versionLeanRun)")
	require.Empty(t, in.CustomerUID)
	var kinds []string
	for _, e := range st.Events {
		kinds = append(kinds, e.Kind)
	}
	require.Contains(t, kinds, "continue_as_new")
	require.LessOrEqual(t, len(st.Events), 5, "a new run carries only the last five audit events (versionLeanRun)")
}
