package workflows

import (
	"fmt"
	"time"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// The attempt ceiling (versionAttemptCeiling; billing.AttemptCeiling): every attempt on a
// billing key is logged in the state (billing.State.CardAttempts, pruned to the windows), and an
// attempt that would pass the worker's ceiling is not made. What happens instead depends on who
// asked:
//   - charge_now (a person or the merchant's backend): refused, naming the ceiling and when the
//     next attempt is allowed; nothing else changes;
//   - change_plan with "when": "now" (an upgrade's charge): refused the same way, the plan and
//     PortOne's schedule unchanged; at most maxChangeNowUnpaid upgrades per period go unpaid
//     (changeNowChargeGate);
//   - a dunning retry, the retry after replace_billing_key, a cycle's first charge (a renewal, a
//     resume's or plan change's charge): dunning waits for the window on its durable timer
//     (NextRetryAt, the attempt held), or, when the window opens only after the dunning's end,
//     the subscription is parked (needs_attention, attempt_ceiling) and dunning goes on to its
//     final action without that attempt.

// ceilingGate reports whether an attempt on the current billing key now, of cycle, would pass
// the ceiling.
func (r *runner) ceilingGate(cycle int) (billing.CeilingHit, bool) {
	if !r.features.ceiling {
		return billing.CeilingHit{}, false
	}
	return r.ceilingAt(cycle, r.now())
}

// ceilingAt is ceilingGate for an attempt at at (a scheduled charge's instant).
func (r *runner) ceilingAt(cycle int, at time.Time) (billing.CeilingHit, bool) {
	return r.settings.AttemptCeiling.Check(r.s.CardAttempts, billing.KeyFingerprint(r.key()), r.reattempt(cycle), at)
}

// reattempt reports whether an attempt of cycle is a reattempt: the cycle was already declined
// (Visa counts reattempts of a declined transaction). A declined upgrade now used the cycle's
// number before its period began; the cycle's own charge is another transaction, so once the
// cycle began such an attempt makes no reattempt (unmadeChangeNow); before, a further upgrade
// is a reattempt of it.
func (r *runner) reattempt(cycle int) bool {
	for _, c := range r.s.Charges {
		if c.Cycle == cycle && (c.Outcome == billing.OutcomeDeclined || c.Outcome == billing.OutcomeDeclinedHard) && !r.unmadeChangeNow(c) {
			return true
		}
	}
	return false
}

// logAttempt adds a settled attempt to the ceiling's log, before the attempt's record is written
// (so that reattempt still sees the cycle as it was). Only attempts that reached the card count:
// paid, declined, or paid with another amount; an adopted payment found under an earlier
// merchant_uid was no new attempt.
func (r *runner) logAttempt(cycle int, out chargeOutcome) {
	if !r.features.ceiling {
		return
	}
	res := out.res
	switch res.Outcome {
	case billing.OutcomePaid, billing.OutcomeDeclined, billing.OutcomeDeclinedHard, billing.OutcomeAmountMismatch:
	default:
		return
	}
	if res.Adopted && out.via != billing.ViaSchedule && res.MerchantUID != r.chargeUID(cycle, out.attempt) {
		return
	}
	now := r.now()
	at := res.At.UTC()
	if at.IsZero() || at.After(now) {
		at = now
	}
	declined := res.Outcome == billing.OutcomeDeclined || res.Outcome == billing.OutcomeDeclinedHard
	r.s.CardAttempts = append(billing.PruneCardAttempts(r.s.CardAttempts, now), billing.CardAttempt{
		At: at, Key: billing.KeyFingerprint(r.key()), Declined: declined, Retry: r.reattempt(cycle),
	})
}

// ceilingRefusal is the answer to a caller whose attempt the ceiling withheld.
func (r *runner) ceilingRefusal(what string, hit billing.CeilingHit) error {
	r.noteWithheld(what, hit)
	return refuse("%s not made: %s", what, hit)
}

// noteWithheld records an attempt the ceiling withheld: audit trail and metric (by reason only).
func (r *runner) noteWithheld(what string, hit billing.CeilingHit) {
	r.count(billing.MetricAttemptsWithheld, "reason", hit.Reason)
	r.event("attempt_withheld", "", fmt.Sprintf("%s not made: %s", what, hit))
}

// withhold holds back an attempt of period's cycle that dunning (or a cycle's first charge, of
// amount) would have made: dunning waits until the ceiling allows it, or parks the subscription
// when that is after the dunning's end.
func (r *runner) withhold(period billing.Period, dueAt time.Time, amount int64, what string, hit billing.CeilingHit) {
	r.noteWithheld(what, hit)
	newDunning := r.s.DunningState == nil || r.s.DunningState.Cycle != period.Cycle
	d := r.dunning(period, dueAt)
	if newDunning {
		d.HeldAmount = amount
		r.count(billing.MetricDunningEntered, "decline_class", activities.DeclineClass(billing.OutcomeRejected, ""))
		r.publish(billing.EventDunningStarted, billing.EventData{Dunning: eventDunning(d)})
	}
	d.NextRetryAt = time.Time{}
	if end := r.dunningEnd(d); hit.NextAllowedAt.Before(end) {
		d.NextRetryAt, d.Held = hit.NextAllowedAt, true
	} else {
		d.Held = false
		d.RetriesUsed = len(r.s.Dunning.RetryAfter)
		r.park(billing.AttentionAttemptCeiling, hit.Reason, fmt.Sprintf("cycle %d: %s; dunning ends at %s before that",
			period.Cycle, hit, end.In(seoul()).Format("2006-01-02 15:04 MST")))
	}
	if r.s.Status != billing.StatusPaymentMethodRequired {
		r.setStatus(billing.StatusPastDue, fmt.Sprintf("cycle %d unpaid: %s withheld by the attempt ceiling", period.Cycle, what))
	}
	if !d.NextRetryAt.IsZero() {
		r.publish(billing.EventDunningRetryScheduled, billing.EventData{Dunning: eventDunning(d)})
	}
}

// dunningEnd is when the dunning of d ends at the latest: after its last policy retry and its
// grace, and never at or after the next cycle's charge.
func (r *runner) dunningEnd(d *billing.DunningState) time.Time {
	end := d.GraceEndsAt
	if n := len(r.s.Dunning.RetryAfter); n > 0 {
		if last := d.DueAt.Add(r.s.Dunning.RetryAfter[n-1].Std()); last.After(end) {
			end = last
		}
	}
	if next := r.s.NextChargeAt; !next.IsZero() && next.Before(end) {
		end = next
	}
	return end
}

// maxChangeNowUnpaid is how many attempts of immediate upgrades (change_plan "now") may go
// unpaid in one period. They use the next cycle's attempt numbers (changeNowPeriod) before that
// cycle's renewal does; without a bound, declined upgrades could use up billing.MaxAttempt and
// leave the renewal nothing but rejections, so that dunning ends the subscription.
const maxChangeNowUnpaid = 3

// changeNowChargeGate says why the charge of an immediate upgrade, an attempt of cycle, is not
// made (nil: it may be): the period's unpaid upgrades reached maxChangeNowUnpaid, or the attempt
// would pass the attempt ceiling. A refusal names the field "when", the limit and when the
// next attempt is allowed, as charge_now's does; a withheld attempt is in the audit trail and
// the metric.
func (r *runner) changeNowChargeGate(cycle int) error {
	unpaid := 0
	for _, c := range r.s.Charges {
		if c.Cycle == cycle && c.Via == billing.ViaAgain && c.Outcome != billing.OutcomePaid {
			unpaid++
		}
	}
	if unpaid >= maxChangeNowUnpaid {
		return refuse(`when: %d upgrades now were not paid in this period, the most one period allows (their attempts use cycle %d's numbers, which its renewal needs); change with when "period_end", or now again from the next period on`,
			unpaid, cycle)
	}
	if hit, ok := r.ceilingGate(cycle); ok {
		const what = "the upgrade's charge for the rest of the period"
		r.noteWithheld(what, hit)
		return refuse("when: %s not made: %s; the plan was not changed", what, hit)
	}
	return nil
}
