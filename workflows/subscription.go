package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// Subscription is the subscription workflow, registered as billing.WorkflowType. It returns the
// final state when the subscription ends (canceled or expired) and continues as new every
// leanCyclesPerRun cycles (cyclesPerRun in runs recorded before versionLeanRun), carrying its
// state.
//
// The input arrives raw so that a field the workflow does not know (a misspelt "anchorday")
// is refused, naming it, instead of being dropped silently.
func Subscription(ctx workflow.Context, raw json.RawMessage) (billing.State, error) {
	r, err := newRunner(ctx, raw)
	if err != nil {
		return billing.State{}, err
	}
	err = r.run()
	if err != nil && r.features.behaviour && temporal.IsCanceledError(err) && ctx.Err() != nil {
		// "Request Cancellation" in the Web UI, or temporal workflow cancel.
		err = r.cancelOnRequest()
	}
	if err != nil {
		return billing.State{}, err
	}
	// The final state is copied once, here: the loop's functions return only an error, so that
	// none of their stack frames holds a State while the coroutine is parked (issue 15: memory
	// per cached subscription).
	return *r.s, nil
}

// runner is one run of the subscription workflow: the billing loop (run, step and the cycle,
// dunning, consent and refund code on it) over the subscription's state, with one part per job
// beside it, each its own struct:
//
//   - features: the versioned behaviours the run took, decided once (versions.go);
//   - mailbox: what messages left for the loop, intents and update answers (mailbox.go);
//   - outbox: the hand-over of merchant events to the outbox workflow (events.go);
//   - sa: the search attributes last upserted (searchattrs.go).
//
// r.s is the subscription's state: it survives continue-as-new (it is the next run's input) and
// is what the state query answers. Everything else is this run's; a message that is waiting
// when the run continues as new cannot exist, because the run continues only once every handler
// finished and no intent is queued.
type runner struct {
	ctx workflow.Context
	// actx is the context activities run in (see activity).
	actx workflow.Context
	// features are the versioned behaviours this run took (versions.go), decided once.
	features features
	s        *billing.State
	settings activities.Settings
	log      log.Logger
	// firstRun is true for the subscription's first run (not a continue-as-new).
	firstRun      bool
	firstCharge   billing.FirstCharge
	regTimeout    time.Duration
	cyclesThisRun int

	// mailbox is what messages left for the loop (mailbox.go).
	mailbox mailbox
	// cancelling is true while a cancel is being carried out (its refund or key deletion is in
	// flight), so that an undo arriving then is refused instead of promised in vain.
	cancelling bool
	// noScheduleFor is a cycle PortOne refused to schedule; it is charged through again instead.
	noScheduleFor int
	// cyclePay caches versionCyclePayment once a V2 run asked it: 1 taken, -1 not, 0 not
	// asked yet (cyclepayment.go).
	cyclePay int8
	// answerOnly caches versionAnswerOnlyCharge the same way (answeronly.go), and readBack
	// holds the charges this run read back already.
	answerOnly int8
	readBack   map[string]bool
	// idle is true while the loop waits for its next event: a message handler may then change
	// charge and refund records at once (answeronly.go), as no step holds a copy of them.
	idle bool

	// sa is the search-attribute cache (searchattrs.go).
	sa saCache

	// outbox is the hand-over of this run's merchant events (events.go).
	outbox outbox
}

// trustContinued accepts a carried state only on a real continue-as-new of this very
// subscription: anyone allowed to start workflows (the Web UI) could otherwise hand a run a
// forged state and charge another subscription's billing key under its merchant_uids. The
// state is then checked as if it were input, since a state the workflow could never have
// produced must never be charged.
func trustContinued(info *workflow.Info, s *billing.State) error {
	if info.ContinuedExecutionRunID == "" {
		return &billing.InputError{Field: "continued", Reason: "is carried by the workflow itself across continue-as-new and is refused on a start; remove it"}
	}
	if want := billing.WorkflowID(s.SubscriptionID); info.WorkflowExecution.ID != want {
		return &billing.InputError{Field: "continued.subscription_id", Reason: fmt.Sprintf("belongs to workflow %q, not %q", want, info.WorkflowExecution.ID)}
	}
	if want := billing.IncarnationTag(info.FirstRunID); s.Tag != want {
		return &billing.InputError{Field: "continued.tag", Reason: "does not belong to this workflow's first run"}
	}
	return s.ValidateCarried()
}

// invalidInput fails the workflow at once: retrying a malformed input cannot help.
func invalidInput(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid workflow input: "+err.Error(), billing.ErrorTypeInvalidInput, nil)
}

func newRunner(ctx workflow.Context, raw json.RawMessage) (*runner, error) {
	info := workflow.GetInfo(ctx)
	r := &runner{
		ctx:     ctx,
		actx:    ctx,
		log:     workflow.GetLogger(ctx),
		mailbox: newMailbox(),
	}
	// First, before any message can be handled: which run-level behaviour this run has.
	r.features = decideFeatures(ctx)
	if r.features.behaviour {
		r.actx, _ = workflow.NewDisconnectedContext(ctx)
	}
	var in billing.SubscriptionInput
	// Decoding JSON into structs is deterministic (maps are walked in sorted order).
	//workflowcheck:ignore
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, invalidInput(fmt.Errorf("malformed JSON: %v", err))
	}
	if in.Continued == nil && r.features.behaviour {
		//workflowcheck:ignore
		if err := billing.DecodeStrict(raw, &billing.SubscriptionInput{}); err != nil {
			return nil, invalidInput(err)
		}
	}
	if in.Continued != nil {
		if err := trustContinued(info, in.Continued); err != nil {
			return nil, invalidInput(err)
		}
		r.s = in.Continued
		r.s.Runs++
		if r.features.trialFirstCharge {
			// Carried from the first run (versionTrialFirstCharge); empty is "now".
			r.firstCharge = r.s.FirstCharge
		}
	} else {
		in.Normalize()
		if err := in.Validate(); err != nil {
			return nil, invalidInput(err)
		}
		if want := billing.WorkflowID(in.SubscriptionID); info.WorkflowExecution.ID != want {
			return nil, invalidInput(fmt.Errorf("workflow ID must be %q for subscription_id %q, got %q (one workflow per subscription)",
				want, in.SubscriptionID, info.WorkflowExecution.ID))
		}
		r.firstRun = true
		r.firstCharge = in.FirstCharge
		r.regTimeout = in.RegistrationTimeout.Std()
		r.s = &billing.State{
			SubscriptionID: in.SubscriptionID,
			CustomerUID:    in.CustomerUID,
			Gateway:        in.Gateway,
			Status:         billing.StatusAwaitingRegistration,
			Tag:            billing.IncarnationTag(info.FirstRunID),
			Plan:           in.Plan,
			Buyer:          in.Buyer,
			Dunning:        *in.Dunning,
			StartedAt:      workflow.Now(ctx).UTC(),
			Charges:        []billing.ChargeRecord{},
			Runs:           1,
		}
		if t := in.Plan.Trial; r.features.trialFirstCharge && in.FirstCharge == billing.FirstChargeAnchor && t != nil && t.Days > 0 {
			// Needed when the trial ends, possibly in a later run.
			r.s.FirstCharge = in.FirstCharge
		}
	}
	if err := r.registerHandlers(); err != nil {
		return nil, err
	}
	if r.features.compact && !r.firstRun {
		r.seedSearchAttributes()
	}
	lctx := workflow.WithLocalActivityOptions(ctx, settingsOptions)
	var a *activities.Activities
	if err := workflow.ExecuteLocalActivity(lctx, a.Settings).Get(ctx, &r.settings); err != nil {
		return nil, fmt.Errorf("read worker settings: %w", err)
	}
	if r.s.Gateway.IsV2() && !r.settings.PortOneV2 {
		return nil, invalidInput(&billing.InputError{Field: "gateway",
			Reason: fmt.Sprintf("%q, but this worker has no PortOne V2 settings (start it with PORTONE_V2_API_SECRET)", r.s.Gateway)})
	}
	if r.s.Plan.Interval.Unit.IsShort() && !r.settings.DemoMode {
		return nil, invalidInput(&billing.InputError{Field: "plan.interval",
			Reason: fmt.Sprintf("unit %q is for demos and tests; this worker is not in demo mode (start it with -demo)", r.s.Plan.Interval.Unit)})
	}
	if r.features.consentGate && r.s.Plan.Interval.Unit == calendar.Minute {
		// Asked here, after the input is known, and only by minute plans: no other run
		// records the marker.
		r.features.minuteLawDay = r.atLeast(changeMinuteLawDay, versionMinuteLawDay)
	}
	return r, nil
}

// continueAsNewOptions moves the next run to the deployment's current build when that changed
// (auto-upgrade); otherwise the next run keeps the worker's default behaviour.
func (r *runner) continueAsNewOptions() workflow.ContinueAsNewErrorOptions {
	if workflow.GetInfo(r.ctx).GetTargetWorkerDeploymentVersionChanged() {
		return workflow.ContinueAsNewErrorOptions{InitialVersioningBehavior: workflow.ContinueAsNewVersioningBehaviorAutoUpgrade}
	}
	return workflow.ContinueAsNewErrorOptions{}
}

// run is the subscription's main loop.
func (r *runner) run() error {
	r.features.messagesFirst = r.atLeast(changeMessagesFirst, versionMessagesFirst)
	r.seedPaidPrice()
	if r.firstRun {
		if ok, err := r.begin(); err != nil || !ok {
			return r.finish(err)
		}
	}
	// An ended subscription whose refund PortOne has not finished waits for it, bounded
	// (requestedrefund.go), before the run completes.
	for !r.s.Status.Terminal() || r.followingRefunds() {
		acted, err := r.tick(r.step)
		if err != nil {
			return r.finish(err)
		}
		if acted {
			continue
		}
		if r.shouldContinueAsNew() {
			if err := workflow.Await(r.ctx, func() bool { return workflow.AllHandlersFinished(r.ctx) }); err != nil {
				return r.finish(err)
			}
			if !r.mailbox.dirty {
				return r.continueAsNew()
			}
			continue
		}
		if err := r.waitForNextEvent(); err != nil {
			return r.finish(err)
		}
	}
	return r.finish(nil)
}

// begin is the first run's start: registration, then the first charge or the trial. It
// reports false when the subscription ended before billing began. The loop's helpers (begin,
// continueAsNew) keep their temporaries off run's own stack frame, which stays on the
// coroutine's stack while the subscription sleeps.
func (r *runner) begin() (bool, error) {
	r.publish(billing.EventSubscriptionStarted, billing.EventData{})
	if ok, err := r.awaitRegistration(); err != nil || !ok {
		return false, err
	}
	r.publish(billing.EventRegistrationCompleted, billing.EventData{})
	if t := r.s.Plan.Trial; r.features.consentGate && t != nil && t.Days > 0 {
		r.startTrial()
	} else if err := r.startBilling(); err != nil {
		return false, err
	}
	r.flushEvents()
	return true, nil
}

// continueAsNew ends the run with a continue-as-new carrying the state.
func (r *runner) continueAsNew() error {
	r.applyLearned()
	r.event("continue_as_new", "", fmt.Sprintf("run %d handled %d cycles", r.s.Runs, r.cyclesThisRun))
	r.flushEvents()
	r.trimState()
	next := billing.SubscriptionInput{SubscriptionID: r.s.SubscriptionID, Continued: r.carried()}
	if !r.features.lean {
		next.CustomerUID, next.Plan = r.s.CustomerUID, r.s.Plan
	}
	return workflow.NewContinueAsNewErrorWithOptions(r.ctx, r.continueAsNewOptions(), billing.WorkflowType, next)
}

// cancelOnRequest carries out a Temporal cancellation request (the Web UI's "Request
// Cancellation", temporal workflow cancel) as a billing cancel: at once, no refund, requested by
// an admin, with the same steps as the cancel message (PortOne's schedule revoked, the billing
// key deleted when the plan says so, final search attributes), and the run completes with the
// final state. Whatever was in flight settled first (activities outlive the request).
func (r *runner) cancelOnRequest() error {
	r.ctx, _ = workflow.NewDisconnectedContext(r.ctx)
	if r.s.Status.Terminal() {
		if r.followingRefunds() {
			// Ended and waiting for a refund PortOne has not finished: the request ends the
			// wait, and a person settles the refund.
			r.handOverRequestedRefunds("the run was asked to end (Temporal cancellation request)")
		}
		return r.finish(nil)
	}
	r.event("cancellation_requested", string(billing.RequesterAdmin), "Temporal cancellation request: carried out as a cancel now without refund")
	req := billing.TemporalCancellationRequest()
	req.RequestedAt = r.now()
	for {
		_, err := r.applyCancel(&req)
		if err == nil {
			return r.finish(nil)
		}
		if !recoverable(err) {
			return err
		}
		if err := r.backOff(err); err != nil {
			return err
		}
	}
}

// tick is one turn of a loop (the main loop and the registration wait): it lets the current
// workflow task's messages in, records unknown signals, refreshes the derived state and runs
// step; an activity that ran out of retries is recorded and waited out (backOff) rather than
// failing the subscription. acted is true when step acted or the loop backed off: look again
// before waiting.
func (r *runner) tick(step func() (bool, error)) (acted bool, err error) {
	if err := r.letMessagesIn(); err != nil {
		return false, err
	}
	r.refuseUnknownSignals()
	r.mailbox.dirty = false
	r.applyLearned()
	r.refresh()
	acted, err = step()
	r.applyLearned()
	r.flushEvents()
	if err == nil {
		return acted, nil
	}
	if !recoverable(err) {
		return false, err
	}
	return true, r.backOff(err)
}

// finish ends the run: it lets update handlers answer and leaves the final state in r.s (err:
// the run fails or continues as new with it).
func (r *runner) finish(err error) error {
	if err != nil {
		return err
	}
	r.applyLearned()
	r.settleUnknownTxIDs()
	r.refresh()
	r.refuseQueued()
	_ = workflow.Await(r.ctx, func() bool { return workflow.AllHandlersFinished(r.ctx) })
	r.flushEvents()
	r.trimState()
	return nil
}

func (r *runner) shouldContinueAsNew() bool {
	if r.s.Status.Terminal() {
		return false
	}
	info := workflow.GetInfo(r.ctx)
	atBoundary := r.s.DunningState == nil && len(r.mailbox.intents) == 0
	if !atBoundary {
		return false
	}
	if r.cyclesThisRun >= r.cyclesPerRun() || info.GetContinueAsNewSuggested() {
		return true
	}
	// A new build became the deployment's target (Worker Versioning): move to it at this cycle
	// boundary rather than in up to twelve cycles.
	return info.GetTargetWorkerDeploymentVersionChanged() && r.atLeast(changeCANOnNewBuild, versionCANOnNewBuild)
}

// nextEvent is the next instant at which the loop has something to do, and why.
type nextEvent struct {
	at     time.Time
	reason string
}

// waitForNextEvent sleeps on a durable timer until the next due instant, or until a message
// makes the loop look again.
func (r *runner) waitForNextEvent() error {
	ev, ok := r.nextEvent()
	cond := r.wake
	r.idle = true
	defer func() { r.idle = false }()
	if !ok {
		return workflow.Await(r.ctx, cond)
	}
	d := ev.at.Sub(workflow.Now(r.ctx))
	if d <= 0 {
		return nil
	}
	_, err := workflow.AwaitWithOptions(r.ctx, workflow.AwaitOptions{
		Timeout:      d,
		TimerOptions: workflow.TimerOptions{Summary: ev.reason},
	}, cond)
	return err
}

// letMessagesIn lets every signal and update delivered with the current workflow task be
// handled before the loop decides anything. Without it, a timer that fired in the same task as a
// cancel would wake the main loop first (it runs before the message coroutines), and the cycle
// would be charged although the cancel was accepted before it was due. The helper coroutine is
// scheduled after every message coroutine, so once it ran, they all did. It issues no command.
func (r *runner) letMessagesIn() error {
	if !r.features.messagesFirst {
		return nil
	}
	ran := false
	workflow.Go(r.ctx, func(workflow.Context) { ran = true })
	return workflow.Await(r.ctx, func() bool { return ran })
}

// wake reports whether the loop must look again: a message changed something, or signals of
// unknown names wait to be recorded.
func (r *runner) wake() bool { return r.mailbox.dirty || r.unknownSignals() }

// recoverable reports whether err is an activity that ran out of its retry budget (PortOne
// unreachable for long): the subscription must not fail for that; the loop tries again later.
func recoverable(err error) bool {
	var actErr *temporal.ActivityError
	return errors.As(err, &actErr) && !temporal.IsCanceledError(err)
}

// errorBackOff is how long the loop waits before trying a failed step again.
func (r *runner) errorBackOff() time.Duration {
	if r.s.Plan.Interval.Unit.IsShort() {
		return 5 * time.Second
	}
	return 5 * time.Minute
}

// backOff records a failed step and waits before the loop tries again (a message wakes it).
func (r *runner) backOff(err error) error {
	r.log.Warn("step failed; retrying later", "error", err)
	r.event("deferred", "", textfmt.Truncate(err.Error(), 300))
	if r.features.behaviour && r.s.Attention == nil {
		// PortOne stayed unreachable for an activity's whole retry budget: a person should know.
		r.park(billing.AttentionRetriesExhausted, "", textfmt.Truncate(err.Error(), 300))
		r.refresh()
	}
	r.mailbox.dirty = false
	_, werr := workflow.AwaitWithOptions(r.ctx, workflow.AwaitOptions{
		Timeout:      r.errorBackOff(),
		TimerOptions: workflow.TimerOptions{Summary: "retry after error"},
	}, r.wake)
	return werr
}

// now is the workflow's deterministic clock in UTC.
func (r *runner) now() time.Time { return workflow.Now(r.ctx).UTC() }

// event appends an audit-trail entry.
func (r *runner) event(kind, requester, detail string) {
	r.s.Events = append(r.s.Events, billing.Event{At: r.now(), Kind: kind, Requester: requester, Detail: detail})
	if n := len(r.s.Events); n > billing.MaxEvents {
		r.s.Events = append([]billing.Event(nil), r.s.Events[n-billing.MaxEvents:]...)
	}
}

// setStatus changes the status and records why.
func (r *runner) setStatus(st billing.Status, reason string) {
	if r.s.Status == st && r.s.StatusReason == reason {
		return
	}
	if r.s.Status == st {
		r.event("status", "", fmt.Sprintf("%s: %s", st, reason))
	} else {
		r.event("status", "", fmt.Sprintf("%s → %s: %s", r.s.Status, st, reason))
		r.publishStatus(r.s.Status, st, reason)
	}
	r.s.Status, r.s.StatusReason = st, reason
	if st.Terminal() {
		r.s.EndedAt = r.now()
		r.s.NextChargeAt = time.Time{}
	}
}

// Compact carried state (versionCompactCarry).
const (
	// carryChargeWindow is how far back the carried state keeps charges and refunds: past the
	// nightly reconciliation's window and a monthly cycle's refund arithmetic.
	carryChargeWindow = 35 * 24 * time.Hour
	// carryEvents is how many audit events the carried state keeps; leanCarryEvents with
	// versionLeanRun (older ones are in earlier runs' histories and state queries).
	carryEvents     = 20
	leanCarryEvents = 5
)

// carried is the state the next run gets. From versionCompactCarry on it drops what the next
// run does not need: charges and refunds older than carryChargeWindow unless of the current or
// previous cycle (the cycle's earlier merchant_uids, the paid charge a refund is figured on, the
// last amount paid all stay, and from versionNoDayTwice every payment a credit draws on), and all but the last carryEvents audit events. They remain in this
// run's history (and in its state query until it closes).
func (r *runner) carried() *billing.State {
	if !r.features.compact {
		return r.s
	}
	cp := *r.s
	s := &cp
	cutoff := r.now().Add(-carryChargeWindow)
	keepCycle := func(cycle int, at time.Time) bool {
		if cycle >= s.Cycle-1 {
			return true
		}
		return !s.Plan.Interval.Unit.IsShort() && !at.Before(cutoff)
	}
	// The payments a credit may still be refunded from (the current period's and the pending
	// credit's chains, billing.State.CreditChain) stay, with their refunds, however old
	// (versionNoDayTwice): dropping one would lose what the credit draws on.
	chain := map[string]bool{}
	if r.features.noDayTwice {
		var roots []string
		if p := s.CurrentPeriod; p != nil {
			roots = append(roots, p.CreditFrom)
			if paid := r.paidCharge(p.Cycle); paid != nil {
				roots = append(roots, paid.MerchantUID)
			}
		}
		roots = append(roots, s.CreditFrom)
		for _, root := range roots {
			for _, uid := range s.CreditChain(root) {
				chain[uid] = true
			}
		}
	}
	// A refund PortOne has not finished stays with its charge, however old
	// (versionRequestedRefund): the next run goes on following it.
	requested := map[string]bool{}
	for _, f := range s.Refunds {
		if f.Outcome == billing.RefundRequested {
			requested[f.PaymentKey()] = true
		}
	}
	kept := make([]billing.ChargeRecord, 0, len(s.Charges))
	inChain := map[string]bool{}
	for _, c := range s.Charges {
		final := c.Outcome != billing.OutcomeUnknown && c.Outcome != billing.OutcomeScheduled
		if keepCycle(c.Cycle, c.At) || !final || chain[c.MerchantUID] || requested[c.PaymentKey()] {
			kept = append(kept, c)
		}
		if chain[c.MerchantUID] {
			inChain[c.PaymentKey()] = true
		}
	}
	s.ChargesOmitted += len(s.Charges) - len(kept)
	s.Charges = kept
	refunds := make([]billing.RefundRecord, 0, len(s.Refunds))
	for _, f := range s.Refunds {
		if keepCycle(f.Cycle, f.At) || inChain[f.PaymentKey()] || requested[f.PaymentKey()] {
			refunds = append(refunds, f)
		}
	}
	s.Refunds = refunds
	if r.features.ceiling {
		s.CardAttempts = billing.PruneCardAttempts(s.CardAttempts, r.now())
	}
	keepEvents := carryEvents
	if r.features.lean {
		keepEvents = leanCarryEvents
	}
	if n := len(s.Events); n > keepEvents {
		s.Events = append([]billing.Event(nil), s.Events[n-keepEvents:]...)
	}
	return s
}

// trimState keeps the carried state bounded.
func (r *runner) trimState() {
	if n := len(r.s.Charges); n > billing.MaxChargeRecords {
		drop := n - billing.MaxChargeRecords
		r.s.ChargesOmitted += drop
		r.s.Charges = append([]billing.ChargeRecord(nil), r.s.Charges[drop:]...)
	}
}

// refresh recomputes derived fields (entitlement) and upserts search attributes that changed.
func (r *runner) refresh() {
	now := r.now()
	switch r.s.Status {
	case billing.StatusActive:
		r.s.Entitled = true
	case billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		r.s.Entitled = r.s.DunningState != nil && now.Before(r.s.DunningState.GraceEndsAt)
	default:
		r.s.Entitled = false
	}
	if r.features.consentGate {
		r.s.Phase = r.s.PricingPhase()
	}
	r.upsertSearchAttributes()
}

// recurrence returns the subscription's billing calendar.
func (r *runner) recurrence() calendar.Recurrence { return *r.s.Recurrence }
