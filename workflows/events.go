package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/webhooks"
)

// The merchant event stream (versionEventStream). The workflow numbers its events and hands
// them, after each step, to the subscription's outbox workflow through a local activity; the
// outbox delivers them. Nothing here waits on a receiver: a hand-over that fails (Temporal
// unreachable from the worker) leaves the events pending in the state, carried across
// continue-as-new, and is tried again a minute later while billing goes on.

// publishOptions bound one hand-over: a signal to the local Temporal frontend.
var publishOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout:    10 * time.Second,
	ScheduleToCloseTimeout: 30 * time.Second,
	RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
}

// outbox is this run's side of the hand-over to the subscription's outbox workflow: the events
// the current step made (sealed into the state's PendingEvents once the step is over) and the
// back-off of a failed hand-over. The pending events themselves live in the state, so that they
// survive continue-as-new; the back-off starts afresh in every run.
type outbox struct {
	// made are the current step's events, sealed once the step is over.
	made []madeEvent
	// retryAt is when a failed hand-over of pending events is tried again, after failures
	// failures in a row.
	retryAt  time.Time
	failures int
}

// waiting reports whether a failed hand-over's back-off still runs at now.
func (o *outbox) waiting(now time.Time) bool {
	return !o.retryAt.IsZero() && now.Before(o.retryAt)
}

// failed records a failed hand-over: the next is tried after retryDelay.
func (o *outbox) failed(now time.Time, short bool) {
	o.failures++
	o.retryAt = now.Add(o.retryDelay(short))
}

// delivered records a hand-over that went through: the back-off ends.
func (o *outbox) delivered() { o.retryAt, o.failures = time.Time{}, 0 }

// retryDelay is how long a failed hand-over waits: a minute, doubling up to an hour (short
// intervals, demos and tests: 5 seconds up to a minute), so that an outbox unreachable for weeks
// costs the history a few events an hour, not a spin.
func (o *outbox) retryDelay(short bool) time.Duration {
	base, limit := time.Minute, time.Hour
	if short {
		base, limit = 5*time.Second, time.Minute
	}
	d := base << min(o.failures-1, 10)
	return min(d, limit)
}

// madeEvent is an event made during the current step, whose subscription summary is filled in
// once the step is over (so that it shows the state the step left).
type madeEvent struct {
	typ  billing.EventType
	data billing.EventData
}

// publish makes a merchant event. It does nothing in runs before versionEventStream.
func (r *runner) publish(typ billing.EventType, data billing.EventData) {
	if !r.features.eventStream {
		return
	}
	data.Detail = textfmt.Truncate(data.Detail, 300)
	r.outbox.made = append(r.outbox.made, madeEvent{typ: typ, data: data})
}

// publishStatus makes the event of a status change.
func (r *runner) publishStatus(from, to billing.Status, reason string) {
	var typ billing.EventType
	switch {
	case to == billing.StatusPaused:
		typ = billing.EventSubscriptionPaused
	case from == billing.StatusPaused && to == billing.StatusActive:
		typ = billing.EventSubscriptionResumed
	case to == billing.StatusCanceled:
		typ = billing.EventSubscriptionCanceled
	case to == billing.StatusExpired:
		typ = billing.EventSubscriptionExpired
	case from == billing.StatusAwaitingRegistration && to == billing.StatusActive:
		typ = billing.EventSubscriptionActivated
	default:
		return // past_due and payment_method_required come with their dunning events
	}
	r.publish(typ, billing.EventData{Detail: reason})
}

// publishCharge makes the event of a settled charge attempt.
func (r *runner) publishCharge(c billing.ChargeRecord) {
	typ := billing.EventChargeDeclined
	switch c.Outcome {
	case billing.OutcomePaid:
		typ = billing.EventChargeSucceeded
	case billing.OutcomeDeclinedHard:
		typ = billing.EventChargeDeclinedHard
	}
	ec := &billing.EventCharge{
		Cycle: c.Cycle, Attempt: c.Attempt, MerchantUID: c.MerchantUID, ImpUID: c.ImpUID, PaymentID: c.PaymentID, Amount: c.Amount, TaxFree: c.TaxFree,
		Outcome: c.Outcome, Reason: textfmt.Truncate(c.Reason, 200), At: utc(c.At), ReceiptURL: c.ReceiptURL,
	}
	if c.Outcome != billing.OutcomePaid {
		ec.DeclineClass = activities.DeclineClass(c.Outcome, c.Reason)
	}
	r.publish(typ, billing.EventData{Charge: ec})
}

// publishAttention makes the event of the attention flag set or cleared (versionAttentionEvents),
// asked only in runs whose events reach an endpoint: the question records a marker, and runs
// that make no events have nothing to change. The operator's note of a clear stays in the audit
// trail: it is free text, and events carry no personal data.
func (r *runner) publishAttention(typ billing.EventType, a billing.Attention) {
	if !r.features.eventStream || !r.settings.Events || !r.atLeast(changeAttentionEvents, versionAttentionEvents) {
		return
	}
	a.Detail, a.MarkedAt = textfmt.Truncate(a.Detail, 300), utc(a.MarkedAt)
	// detail is the one line a receiver that reads only detail shows (the console's event list).
	detail := strings.TrimSpace(a.Kind + " " + a.Finding)
	if typ == billing.EventAttentionCleared {
		detail = "cleared: " + detail
	}
	r.publish(typ, billing.EventData{Attention: &a, Detail: detail})
}

// eventDunning describes the dunning state for an event.
func eventDunning(d *billing.DunningState) *billing.EventDunning {
	if d == nil {
		return nil
	}
	return &billing.EventDunning{Cycle: d.Cycle, Attempts: d.Attempts, RetriesUsed: d.RetriesUsed, NextRetryAt: utc(d.NextRetryAt), GraceEndsAt: utc(d.GraceEndsAt), Hard: d.Hard}
}

// summary is the subscription as every event shows it.
func (r *runner) summary() billing.EventSubscription {
	s := r.s
	sum := billing.EventSubscription{
		Status: s.Status, StatusReason: textfmt.Truncate(s.StatusReason, 200), Plan: s.Plan.Name, Amount: s.Plan.Amount, Currency: "KRW",
		Interval: intervalText(s.Plan.Interval.Count, string(s.Plan.Interval.Unit)), Cycle: s.Cycle,
		PaidThrough: utc(s.PaidThrough), NextChargeAt: utc(s.NextChargeAt), CustomerUID: textfmt.MaskUID(s.CustomerUID),
		CancelAtPeriodEnd: s.PendingCancel != nil,
	}
	if r.features.screens {
		// The figures the state query's readers show (billing.State.NextCharge, PaidUntil): no
		// next charge after a cancel at period end, no paid_through past a refund or the end.
		sum.PaidThrough, sum.NextChargeAt = utc(s.PaidUntil()), utc(s.NextCharge())
	}
	return sum
}

// intervalText is the plan's interval as events show it: "1 month", "3 months", "20 seconds".
func intervalText(count int, unit string) string {
	if count == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", count, unit)
}

// utc shows an instant in UTC, as every event time is (zero stays zero).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// sealEvents numbers the events the step made and queues them for the outbox.
func (r *runner) sealEvents() {
	if len(r.outbox.made) == 0 {
		return
	}
	sum := r.summary()
	for _, m := range r.outbox.made {
		m.data.Subscription = sum
		// Encoding a struct without maps is deterministic (fields in declaration order).
		//workflowcheck:ignore
		data, err := json.Marshal(m.data)
		if err != nil {
			r.log.Error("merchant event not encoded", "type", m.typ, "error", err)
			continue
		}
		r.s.EventSeq++
		r.s.PendingEvents = append(r.s.PendingEvents, billing.MerchantEvent{
			ID: billing.EventID(r.s.SubscriptionID, r.s.Tag, r.s.EventSeq), Type: m.typ, SubscriptionID: r.s.SubscriptionID,
			Seq: r.s.EventSeq, Timestamp: r.now(), Data: data,
		})
	}
	r.outbox.made = nil
	if n := len(r.s.PendingEvents); n > billing.MaxPendingEvents {
		drop := n - billing.MaxPendingEvents
		r.s.EventsDropped += drop
		r.s.PendingEvents = append([]billing.MerchantEvent(nil), r.s.PendingEvents[drop:]...)
		r.event("events_dropped", "", fmt.Sprintf("%d merchant events could not be handed to the outbox and were dropped", drop))
	}
}

// flushEvents seals the step's events and hands every pending one to the outbox. A failed
// hand-over keeps them pending and is tried again after outbox.retryDelay (see nextPublishAt).
func (r *runner) flushEvents() {
	if !r.features.eventStream {
		return
	}
	if !r.settings.Events {
		// This worker has no webhook endpoint: there is nobody to tell, so nothing is numbered.
		r.outbox.made, r.s.PendingEvents = nil, nil
		return
	}
	r.sealEvents()
	if len(r.s.PendingEvents) == 0 {
		return
	}
	if r.outbox.waiting(r.now()) {
		return
	}
	lctx := workflow.WithLocalActivityOptions(r.actx, publishOptions)
	err := workflow.ExecuteLocalActivity(lctx, webhooks.PublishActivityName, webhooks.PublishInput{
		SubscriptionID: r.s.SubscriptionID, Events: r.s.PendingEvents,
	}).Get(r.actx, nil)
	if err != nil {
		r.log.Warn("merchant events not handed to the outbox; trying again later", "pending", len(r.s.PendingEvents), "error", err)
		r.outbox.failed(r.now(), r.s.Plan.Interval.Unit.IsShort())
		return
	}
	r.s.PendingEvents = nil
	r.outbox.delivered()
}

// nextPublishAt is when pending events are to be handed over again (zero: none pending).
func (r *runner) nextPublishAt() time.Time {
	if !r.features.eventStream || len(r.s.PendingEvents) == 0 {
		return time.Time{}
	}
	return r.outbox.retryAt
}

// renewalNoticeAt is when the renewal.upcoming event of the next charge is due (zero: none).
// A renewal is a charge of a cycle after the first one that the subscription will make unless
// something changes: not while a cancel or pause at period end is pending.
func (r *runner) renewalNoticeAt() time.Time {
	lead := r.settings.RenewalNotice
	s := r.s
	if !r.features.eventStream || !r.settings.Events || lead <= 0 || s.Status != billing.StatusActive || s.NextChargeAt.IsZero() ||
		s.Cycle < 1 || s.PendingCancel != nil || (s.Pause != nil && s.Pause.Pending) || s.RenewalNoticeFor.Equal(s.NextChargeAt) {
		return time.Time{}
	}
	at := s.NextChargeAt.Add(-lead)
	if s.CurrentPeriod != nil && at.Before(s.CurrentPeriod.Start) {
		// A notice lead longer than the period: the notice follows the period's own charge.
		at = s.CurrentPeriod.Start
	}
	return at
}

// renewalNotice makes the renewal.upcoming event when it is due. A notice that came due while
// the worker was down is still made, before the charge, as long as the charge has not begun.
func (r *runner) renewalNotice() bool {
	at := r.renewalNoticeAt()
	if at.IsZero() || !r.dueNow(at) {
		return false
	}
	next := r.nextPlan()
	amount := max(0, next.Amount-r.s.Credit)
	r.s.RenewalNoticeFor = r.s.NextChargeAt
	r.publish(billing.EventRenewalUpcoming, billing.EventData{Renewal: &billing.EventRenewal{
		ChargeAt: utc(r.s.NextChargeAt), Amount: amount, Plan: next.Name, Cycle: r.s.Cycle + 1,
	}})
	return true
}
