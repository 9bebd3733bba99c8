package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// An immediate upgrade charges the billing key like every other path (README "Dunning"): the
// attempt ceiling gates it, every attempt that reached the card is logged, and its declined
// attempts are bounded per period, since they use the next cycle's attempt numbers (a renewal
// whose numbers are used up is rejected unmade and dunning ends the subscription).

// bankAttempts counts the attempts of cycle the bank saw in [from, to).
func bankAttempts(b *bank, cycle int, from, to time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, at := range b.ledger {
		if at.in.Cycle == cycle && !at.at.Before(from) && at.at.Before(to) {
			n++
		}
	}
	return n
}

func TestChangeNowAttemptsAreGated(t *testing.T) {
	start := kst(2025, time.January, 10, 10, 0)
	tests := []struct {
		name string
		// prepare sets the bank's answers; before are updates sent before the changes.
		prepare func(b *bank)
		before  []time.Time // charge_now updates
		first   time.Time   // the first change now, then one a minute
		changes int
		cycle   int // the cycle number an immediate upgrade uses
		// made is how many change-now attempts reached the bank; refused what the later
		// ones are told.
		made    int
		refused []string
		logged  int // declines in the ceiling's log after the changes
	}{
		{
			// 15 declined upgrades in 15 minutes: 3 are made, the others refused; the renewal
			// of cycle 2 keeps its attempt numbers.
			name:    "declined upgrades are bounded per period",
			prepare: func(b *bank) { b.decide = declineAmount(20000) },
			first:   kst(2025, time.January, 20, 15, 0),
			changes: 15,
			cycle:   2,
			made:    3,
			refused: []string{"when: 3 upgrades now were not paid in this period", "change with when \"period_end\""},
			logged:  3,
		},
		{
			// Cycle 2's renewal declined 8 times (the renewal and 7 charge_now), paid by the 8th
			// charge_now: two declined upgrades reach 10 declines in 24 hours, the third is
			// not made.
			name: "the ceiling gates an upgrade now",
			prepare: func(b *bank) {
				b.decide = func(in activities.ChargeInput) (billing.Outcome, string) {
					if in.Cycle == 3 || (in.Cycle == 2 && in.Attempt <= 8) {
						return billing.OutcomeDeclined, "한도초과"
					}
					return billing.OutcomePaid, ""
				}
			},
			before: func() []time.Time {
				var out []time.Time
				for i := range 8 {
					out = append(out, kst(2025, time.February, 10, 10, 30).Add(time.Duration(i)*30*time.Minute))
				}
				return out
			}(),
			first:   kst(2025, time.February, 10, 15, 0),
			changes: 4,
			cycle:   3,
			made:    2,
			refused: []string{"when: ", "10 declines in 24 hours", "2025-02-11 10:00:00 KST"},
			logged:  10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			b := newBank(t, env, "cust-1")
			tc.prepare(b)
			for _, at := range tc.before {
				env.RegisterDelayedCallback(func() { update(env, billing.MsgChargeNow, billing.ChargeNowRequest{}, &updateResult{}) }, at.Sub(start))
			}
			day := calendar.DateOf(tc.first)
			answers := make([]updateResult, tc.changes)
			for i := range tc.changes {
				at := tc.first.Add(time.Duration(i) * time.Minute)
				change := billing.ChangePlanRequest{Amount: 62000, When: billing.Now, Consent: ptr(consentRequest(true, 31000, 62000, day, at.Add(-time.Minute)))}
				env.RegisterDelayedCallback(func() { update(env, billing.MsgChangePlan, change, &answers[i]) }, at.Sub(start))
			}
			var after, renewed billing.State
			end := tc.first.Add(time.Duration(tc.changes)*time.Minute + time.Hour)
			env.RegisterDelayedCallback(func() { after = query(t, env) }, end.Sub(start))
			env.RegisterDelayedCallback(func() { renewed = query(t, env) }, kst(2025, time.February, 10, 10, 1).Sub(start))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.March, 15, 0, 0).Sub(start))
			env.ExecuteWorkflow(billing.WorkflowType, monthly31())
			st := result(t, env)

			require.Equal(t, tc.made, bankAttempts(b, tc.cycle, tc.first, end), "upgrade attempts that reached the card")
			for i, a := range answers {
				require.True(t, a.done, "change %d answered", i+1)
				err := refusal(a)
				require.Error(t, err, "change %d", i+1)
				if i < tc.made {
					require.ErrorContains(t, err, "was not paid", "change %d was made and declined", i+1)
					continue
				}
				for _, want := range tc.refused {
					require.ErrorContains(t, err, want, "change %d", i+1)
				}
			}
			declines := 0
			for _, a := range after.CardAttempts {
				if a.Declined {
					declines++
				}
			}
			require.Equal(t, tc.logged, declines, "every declined attempt is in the ceiling's log")
			require.Equal(t, "Premium", after.Plan.Name, "the plan did not change")
			require.Empty(t, ceilingViolations(b))
			if tc.cycle == 2 {
				// The renewal of cycle 2 is made after the change-now attempts, at the old price.
				require.Equal(t, []int64{31000, 31000, 31000}, bankPaidAmounts(b))
				// It is cycle 2's first attempt, not a reattempt of the declined upgrades
				// (another transaction, of another amount).
				last := renewed.CardAttempts[len(renewed.CardAttempts)-1]
				require.False(t, last.Declined)
				require.False(t, last.Retry, "the renewal is no reattempt of the declined upgrades")
			}
			b.checkInvariants(st)
		})
	}
}
