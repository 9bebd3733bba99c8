package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// Schedule mode: each cycle's charge is registered with PortOne's scheduler ahead of time, so
// PortOne charges at the due time even while our side is down, and reports by webhook. The
// workflow settles the cycle from PortOne's own answer (a webhook only makes it look sooner).
// Never both: a cycle is charged through again only after PortOne confirmed that its schedule
// was revoked, or executed and failed; dunning retries go through again (our policy, our time).

// maxScheduleChecks is how many times the workflow asks about a schedule that PortOne has not
// executed yet before it revokes it and charges itself.
const maxScheduleChecks = 5

func (r *runner) isScheduleMode() bool { return r.s.Plan.ChargeMode == billing.ChargeModeSchedule }

// scheduleLead is the least time between now and the due time for a charge to be handed to
// PortOne's scheduler; closer than that, the workflow charges itself at the due time.
func (r *runner) scheduleLead() time.Duration {
	if r.s.Plan.Interval.Unit.IsShort() {
		return 2 * time.Second
	}
	return time.Minute
}

// scheduledSettleAt is when the workflow next asks PortOne about a scheduled charge: at the due
// time once a webhook said it ran, otherwise after the settle delay (growing with each check).
func (r *runner) scheduledSettleAt(sc *billing.ScheduledCharge) time.Time {
	if r.mailbox.notified[sc.MerchantUID] || (sc.PaymentID != "" && r.mailbox.notified[sc.PaymentID]) {
		return sc.ScheduleAt
	}
	return sc.ScheduleAt.Add(time.Duration(sc.Checks+1) * r.settings.ScheduleSettleDelay)
}

// nextPlan is the plan the next cycle will charge.
func (r *runner) nextPlan() billing.Plan {
	if r.s.PendingPlan != nil {
		return *r.s.PendingPlan
	}
	return r.s.Plan
}

// maintainSchedule keeps PortOne's schedule in line with the subscription: it revokes a schedule
// that no longer matches (cancel or pause pending, plan or key changed, calendar moved) and
// registers the next cycle's charge when none is registered.
func (r *runner) maintainSchedule() (bool, error) {
	next := r.nextPlan()
	if sc := r.s.Scheduled; sc != nil {
		stale := r.s.Status != billing.StatusActive || r.s.PendingCancel != nil || r.s.Pause != nil ||
			sc.Amount != r.price(next, sc.Cycle) || sc.CustomerUID != r.key() || !sc.ScheduleAt.Equal(r.s.NextChargeAt)
		if !stale {
			return false, nil
		}
		_, err := r.revokeSchedule(sc)
		return true, err
	}
	cycle := r.s.Cycle + 1
	if r.s.Status != billing.StatusActive || r.s.PendingCancel != nil || r.s.Pause != nil || r.s.NextChargeAt.IsZero() ||
		!r.s.NextChargeAt.After(r.now().Add(r.scheduleLead())) || r.noScheduleFor == cycle {
		return false, nil
	}
	if (r.features.noDayTwice || r.features.changeNow) && r.s.Credit > 0 {
		// A cycle that takes a credit (a restart's, or a decrease made now) is charged through
		// again, at the lower amount (beginCycle): PortOne's scheduler would charge the full price.
		return false, nil
	}
	if r.features.consentGate && (!r.s.TrialEndsAt.IsZero() || r.risingWithoutConsent(r.s.NextChargeAt, next.Price(cycle))) {
		// Nothing is scheduled during a free trial, nor a rise without consent: PortOne would
		// charge it by itself.
		return false, nil
	}
	if r.features.ceiling {
		if _, withheld := r.ceilingAt(cycle, r.s.NextChargeAt); withheld {
			// PortOne would make an attempt the ceiling forbids: the cycle is charged through
			// again when due, where the ceiling holds it back.
			return false, nil
		}
	}
	amount := r.price(next, cycle)
	_, attempt := r.cycleAttempts(cycle)
	if attempt > billing.MaxAttempt {
		return false, nil
	}
	merchantUID := r.chargeUID(cycle, attempt)
	in := activities.ScheduleChargeInput{
		ChargeInput: r.chargeInput(cycle, attempt, next, amount, r.recurrence().Period(r.s.NextIndex).LastDay),
		ScheduleAt:  r.s.NextChargeAt,
	}
	var st activities.ScheduleState
	if err := workflow.ExecuteActivity(r.activity(writeOptions), acts.ScheduleCharge, in).Get(r.actx, &st); err != nil {
		return true, err
	}
	if st.Refused() {
		// PortOne refused to schedule (the billing key is gone): charge through again when due,
		// which records the hard decline and starts dunning.
		r.noScheduleFor = cycle
		r.event("schedule_refused", "", fmt.Sprintf("cycle %d: %s", cycle, st.Charge.Reason))
		return true, nil
	}
	r.s.Charges = append(r.s.Charges, billing.ChargeRecord{
		Cycle: cycle, Attempt: attempt, MerchantUID: merchantUID, PaymentID: in.PaymentID, Amount: amount, TaxFree: in.TaxFree,
		Outcome: billing.OutcomeScheduled, Via: billing.ViaSchedule, At: r.now(), ScheduledAt: r.s.NextChargeAt,
	})
	r.s.Scheduled = &billing.ScheduledCharge{
		Cycle: cycle, Attempt: attempt, MerchantUID: merchantUID, PaymentID: in.PaymentID, ScheduleAt: r.s.NextChargeAt,
		Amount: amount, CustomerUID: r.key(),
	}
	r.event("scheduled", "", fmt.Sprintf("cycle %d (%s) at %s for %d KRW", cycle, merchantUID, r.s.NextChargeAt.Format(time.RFC3339), amount))
	if st.Executed() {
		// A retry after a lost answer found the schedule already run.
		return true, r.adoptScheduled(r.s.Scheduled, *st.Charge)
	}
	return true, nil
}

// revokeSchedule revokes PortOne's pending schedule. It reports ran when PortOne had already
// executed it; that charge then becomes the next cycle's charge, never charged again.
func (r *runner) revokeSchedule(sc *billing.ScheduledCharge) (bool, error) {
	var st activities.ScheduleState
	err := workflow.ExecuteActivity(r.activity(writeOptions), acts.Unschedule, activities.SettleScheduleInput{
		CustomerUID: sc.CustomerUID, MerchantUID: sc.MerchantUID, Amount: sc.Amount, Gateway: r.s.Gateway, PaymentID: sc.PaymentID,
	}).Get(r.actx, &st)
	if err != nil {
		return false, err
	}
	if st.Executed() {
		return true, r.adoptScheduled(sc, *st.Charge)
	}
	r.markRevoked(sc)
	return false, nil
}

func (r *runner) markRevoked(sc *billing.ScheduledCharge) {
	r.recordCharge(sc.Cycle, sc.Attempt, activities.ChargeResult{
		Outcome: billing.OutcomeRevoked, MerchantUID: sc.MerchantUID, PaymentID: sc.PaymentID, Amount: sc.Amount, Reason: "revoked before execution",
	}, billing.ViaSchedule)
	r.event("unscheduled", "", fmt.Sprintf("cycle %d (%s) revoked at PortOne", sc.Cycle, sc.MerchantUID))
	r.s.Scheduled = nil
}

// adoptScheduled settles the cycle PortOne's scheduler charged.
func (r *runner) adoptScheduled(sc *billing.ScheduledCharge, res activities.ChargeResult) error {
	r.s.Scheduled = nil
	if res.MerchantUID == "" {
		res.MerchantUID = sc.MerchantUID
	}
	if res.PaymentID == "" && res.MerchantUID == sc.MerchantUID {
		res.PaymentID = sc.PaymentID
	}
	return r.beginCycle(&chargeOutcome{res: res, attempt: sc.Attempt, via: billing.ViaSchedule})
}

// settleScheduledCycle asks PortOne how the due cycle's scheduled charge went and settles it.
func (r *runner) settleScheduledCycle() error {
	sc := r.s.Scheduled
	var st activities.ScheduleState
	err := workflow.ExecuteActivity(r.activity(readOptions), acts.ScheduleStatus, activities.SettleScheduleInput{
		CustomerUID: sc.CustomerUID, MerchantUID: sc.MerchantUID, Amount: sc.Amount, Gateway: r.s.Gateway, PaymentID: sc.PaymentID,
	}).Get(r.actx, &st)
	if err != nil {
		return err
	}
	switch {
	case st.Executed():
		return r.adoptScheduled(sc, *st.Charge)
	case st.Pending():
		sc.Checks++
		if sc.Checks < maxScheduleChecks {
			r.event("schedule_pending", "", fmt.Sprintf("cycle %d (%s) not executed yet at PortOne; check %d", sc.Cycle, sc.MerchantUID, sc.Checks))
			return nil
		}
		// PortOne's scheduler is late beyond our patience: revoke it, then charge ourselves.
		ran, err := r.revokeSchedule(sc)
		if err != nil || ran {
			return err
		}
	default:
		// Revoked at PortOne by someone else, or unknown to PortOne: nothing will run it.
		r.markRevoked(sc)
	}
	return r.beginCycle(nil)
}
