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
	if err != nil && r.behaviour && temporal.IsCanceledError(err) && ctx.Err() != nil {
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

// runner is one run of the subscription workflow: its state plus the intents that messages
// recorded and the loop has yet to carry out.
//
// r.s is the subscription's state: it survives continue-as-new (it is the next run's input) and
// is what the state query answers. Everything else is this run's: intents waiting for the loop
// (intents, registrations), update tokens, the
// webhook notifications seen, the search attributes last upserted and the settings; a message
// that is waiting when the run continues as new cannot exist, because the run continues only
// once every handler finished and no intent is queued.
type runner struct {
	ctx workflow.Context
	// actx is the context activities run in (see activity).
	actx workflow.Context
	// behaviour is true from versionRunBehaviour on (see there).
	behaviour bool
	s         *billing.State
	settings  activities.Settings
	log       log.Logger
	// firstRun is true for the subscription's first run (not a continue-as-new).
	firstRun      bool
	firstCharge   billing.FirstCharge
	regTimeout    time.Duration
	cyclesThisRun int

	// dirty is set by every message so that the main loop wakes up and looks again.
	dirty bool
	// messagesFirst is true from workflow version 1 on: the loop lets the messages of the
	// current workflow task in before deciding (see letMessagesIn).
	messagesFirst bool
	// intents are the admitted commands waiting for the main loop (intents.go).
	intents []intent
	// cancelling is true while a cancel is being carried out (its refund or key deletion is in
	// flight), so that an undo arriving then is refused instead of promised in vain.
	cancelling    bool
	registrations []billing.RegisteredSignal
	notified      map[string]bool
	// noScheduleFor is a cycle PortOne refused to schedule; it is charged through again instead.
	noScheduleFor int

	// done holds the answers for update handlers waiting on the loop, by token.
	done      map[int]doneResult
	nextToken int
	// lastSA remembers the search attributes last upserted, to upsert only changes.
	lastSA saSnapshot

	// eventStream is true from versionEventStream on: the run makes merchant events (events.go).
	eventStream bool
	// consentGate is true from versionConsentGate on (consent.go).
	consentGate bool
	// oneReceiver is true from versionOneSignalReceiver on; signalReceivers are the handlers
	// that one coroutine serves (startSignalReceiver).
	oneReceiver     bool
	signalReceivers []signalReceiver
	// bundle is the bundle version the run took (0: none): every change it covers applies.
	bundle workflow.Version
	// compact is true from versionCompactCarry on (compactCarried, seedSearchAttributes);
	// detailsSet once this run set the Web UI summary.
	compact    bool
	detailsSet bool
	// lean is true from versionLeanRun on (cyclesPerRun, carried, the continue-as-new input).
	lean bool
	// recoveryWatch is true from versionRecoveryWatch on (recovery.go).
	recoveryWatch bool
	// refuseNull is true from versionRefuseNullSignal on (receiveSignals).
	refuseNull bool
	// ceiling is true from versionAttemptCeiling on (ceiling.go).
	ceiling bool
	// noDayTwice is true from versionNoDayTwice on (resumeRestart, beginCycle, settle).
	noDayTwice bool
	// screens is true from versionMoneyScreens on (upsertSearchAttributes, summary, answer).
	screens bool
	// knownRises is true from versionKnownRises on (consent.go: knownRise).
	knownRises bool
	// earlyConversion is true from versionEarlyConversion on (onEndTrial with a consent).
	earlyConversion bool
	// changeNow is true from versionChangeNow on (changenow.go).
	changeNow bool
	// trialFirstCharge is true from versionTrialFirstCharge on (trialChargeAt, newRunner).
	trialFirstCharge bool
	// made are the current step's events, sealed once the step is over.
	made []madeEvent
	// publishRetryAt is when a failed hand-over of pending events is tried again, after
	// publishFailures failures in a row.
	publishRetryAt  time.Time
	publishFailures int
}

type doneResult struct {
	receipt billing.Receipt
	err     error
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
		ctx:      ctx,
		actx:     ctx,
		log:      workflow.GetLogger(ctx),
		notified: map[string]bool{},
		done:     map[int]doneResult{},
	}
	// First, before any message can be handled: which run-level behaviour this run has.
	r.bundle = workflow.GetVersion(ctx, changeBundle, workflow.DefaultVersion, versionRound3Bundle)
	r.behaviour = r.atLeast(changeRunBehaviour, versionRunBehaviour)
	if r.behaviour {
		r.actx, _ = workflow.NewDisconnectedContext(ctx)
		r.eventStream = r.atLeast(changeEventStream, versionEventStream)
		r.consentGate = r.atLeast(changeConsentGate, versionConsentGate)
		r.oneReceiver = r.atLeast(changeOneSignalReceiver, versionOneSignalReceiver)
		r.compact = r.atLeast(changeCompactCarry, versionCompactCarry)
		r.lean = r.compact && r.atLeast(changeLeanRun, versionLeanRun)
		r.recoveryWatch = r.compact && r.atLeast(changeRecoveryWatch, versionRecoveryWatch)
		r.refuseNull = r.compact && r.atLeast(changeRefuseNullSignal, versionRefuseNullSignal)
		r.ceiling = r.compact && r.atLeast(changeAttemptCeiling, versionAttemptCeiling)
		r.noDayTwice = r.compact && r.atLeast(changeNoDayTwice, versionNoDayTwice)
		r.screens = r.compact && r.atLeast(changeMoneyScreens, versionMoneyScreens)
		r.knownRises = r.compact && r.consentGate && r.atLeast(changeKnownRises, versionKnownRises)
		r.earlyConversion = r.compact && r.consentGate && r.atLeast(changeEarlyConversion, versionEarlyConversion)
		r.changeNow = r.compact && r.consentGate && r.atLeast(changeChangeNow, versionChangeNow)
		r.trialFirstCharge = r.compact && r.consentGate && r.atLeast(changeTrialFirstCharge, versionTrialFirstCharge)
	}
	var in billing.SubscriptionInput
	// Decoding JSON into structs is deterministic (maps are walked in sorted order).
	//workflowcheck:ignore
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, invalidInput(fmt.Errorf("malformed JSON: %v", err))
	}
	if in.Continued == nil && r.behaviour {
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
		if r.trialFirstCharge {
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
			Status:         billing.StatusAwaitingRegistration,
			Tag:            billing.IncarnationTag(info.FirstRunID),
			Plan:           in.Plan,
			Buyer:          in.Buyer,
			Dunning:        *in.Dunning,
			StartedAt:      workflow.Now(ctx).UTC(),
			Charges:        []billing.ChargeRecord{},
			Runs:           1,
		}
		if t := in.Plan.Trial; r.trialFirstCharge && in.FirstCharge == billing.FirstChargeAnchor && t != nil && t.Days > 0 {
			// Needed when the trial ends, possibly in a later run.
			r.s.FirstCharge = in.FirstCharge
		}
	}
	if err := r.registerHandlers(); err != nil {
		return nil, err
	}
	if r.compact && !r.firstRun {
		r.seedSearchAttributes()
	}
	lctx := workflow.WithLocalActivityOptions(ctx, settingsOptions)
	var a *activities.Activities
	if err := workflow.ExecuteLocalActivity(lctx, a.Settings).Get(ctx, &r.settings); err != nil {
		return nil, fmt.Errorf("read worker settings: %w", err)
	}
	if r.s.Plan.Interval.Unit.IsShort() && !r.settings.DemoMode {
		return nil, invalidInput(&billing.InputError{Field: "plan.interval",
			Reason: fmt.Sprintf("unit %q is for demos and tests; this worker is not in demo mode (start it with -demo)", r.s.Plan.Interval.Unit)})
	}
	return r, nil
}

// Workflow versions (workflow.GetVersion), oldest first. Histories recorded before a change
// replay with the old behaviour; new runs take the newest. Each change has its own change ID
// (the GetVersion key, recorded in history: never rename one) and its version.
const (
	// versionMessagesFirst: the loop handles messages delivered with a workflow task before
	// acting on a timer that fired in the same task.
	changeMessagesFirst  = "messages-first"
	versionMessagesFirst = 1
	// versionFinalActionPendingCancel: when dunning ends while a cancel at period end is pending,
	// the subscription is canceled even if the final action is pause.
	changeFinalActionPendingCancel  = "final-action-pending-cancel"
	versionFinalActionPendingCancel = 1
	// versionPeriodStartsAtCharge: a cycle charged before its nominal start (a sign-up before
	// the day's charge time) starts its service period at the charge, so that the cancel day
	// counts as used and a refund never exceeds the unused share.
	changePeriodStartsAtCharge  = "period-starts-at-charge"
	versionPeriodStartsAtCharge = 1
	// versionResumeBilling: resume never bills a period that was already paid, bills a period
	// that starts at the resume instant, bills the unpaid rest of a period pro rata (keep), and
	// credits the unused paid days (restart).
	changeResumeBilling  = "resume-billing"
	versionResumeBilling = 1
	// versionSkipPastRetries: dunning retries whose instant passed while nothing could be
	// charged are skipped instead of made late, back to back.
	changeSkipPastRetries  = "skip-past-retries"
	versionSkipPastRetries = 1
	// versionTaxFreeProrated: a prorated charge or refund carries tax_free in the same
	// proportion as its amount.
	changeTaxFreeProrated  = "tax-free-prorated"
	versionTaxFreeProrated = 1
	// versionRunBehaviour is decided once, first thing in every run, for behaviours that apply
	// to the whole run: unknown fields in the input and in message payloads are refused;
	// activities are not canceled by a Temporal cancellation request, which is carried out as a
	// billing cancel (cancelOnRequest); charges that need a person park the subscription
	// (needs_attention); signals of unknown names are recorded as refused.
	changeRunBehaviour  = "run-behaviour-2026-12"
	versionRunBehaviour = 1
	// versionCANOnNewBuild: a run continues as new at the next cycle boundary when Worker
	// Versioning says a new build became the deployment's target, starting the next run on it.
	changeCANOnNewBuild  = "can-on-target-version-change"
	versionCANOnNewBuild = 1
	// versionEventStream is decided once, first thing in every run (after versionRunBehaviour):
	// the run makes merchant events and hands them to the subscription's outbox workflow after
	// each step (a local activity), and makes renewal.upcoming before each renewal (a timer),
	// when the worker has webhook endpoints.
	changeEventStream  = "event-stream"
	versionEventStream = 1
	// versionConsentGate is decided once, first thing in every run (after versionEventStream):
	// free trials and introductory prices, and the consent gate (consent.go): no price rise is
	// charged without a matching consent; without one the subscription ends with reason
	// no_consent. Also the 7-day notice before a trial or introductory price turns paid.
	changeConsentGate  = "consent-gate-2026-12"
	versionConsentGate = 1
	// versionOneSignalReceiver is decided once, first thing in every run: one coroutine serves
	// every signal name instead of one coroutine each (issue 15: coroutines per cached idle
	// subscription). Signals delivered in one task may be handled in another order than before.
	changeOneSignalReceiver  = "one-signal-receiver"
	versionOneSignalReceiver = 1
	// versionCompactCarry is decided once, first thing in every run: continue-as-new carries a
	// compact state (charges and refunds of the last 35 days and at least the current and
	// previous cycle, the last 20 audit events; older ones stay in earlier runs' histories), and
	// a continued run starts from the search attributes the server carried instead of upserting
	// them all again (issue 15: history bytes and visibility writes per cycle).
	changeCompactCarry  = "compact-carry"
	versionCompactCarry = 1
	// versionLeanRun is decided once, first thing in every run that has versionCompactCarry: a
	// run handles leanCyclesPerRun cycles before continuing as new instead of cyclesPerRun, the
	// carried state keeps the last leanCarryEvents audit events instead of carryEvents, the next
	// run's input is the carried state alone (its plan and customer were copied beside it), and
	// activities are scheduled without the non-retryable error types in their retry policy (the
	// activities raise those as non-retryable themselves). Issue 15: the carried state, written
	// twice per run, was a quarter of the history bytes per cycle.
	changeLeanRun  = "lean-run"
	versionLeanRun = 1
	// versionRecoveryWatch is decided once, first thing in every run that has
	// versionCompactCarry (issue 20, item 8): once a cycle whose scheduled attempt failed is paid
	// by another attempt, the run looks the failed schedule's merchant_uid up again (a bounded
	// number of times, a day apart) and refunds in full a payment PortOne's 리커버리 made there,
	// recording it (recovery.go).
	changeRecoveryWatch  = "recovery-watch"
	versionRecoveryWatch = 1
	// versionRefuseNullSignal is decided once, first thing in every run that has
	// versionCompactCarry (issue 20, item 7): a signal whose payload is the JSON literal null is
	// recorded as refused ("malformed payload") and changes nothing; before, null decoded as {}
	// (a null pause was a pause at period end, a null registration_failed a recorded failure).
	// The update of the same name is refused by its validator in every run: validators do not
	// run on replay and a rejected update is not written to history, so that needs no version.
	changeRefuseNullSignal  = "refuse-null-signal"
	versionRefuseNullSignal = 1
	// versionAttemptCeiling is decided once, first thing in every run that has
	// versionCompactCarry (issue 20, item 6): every attempt on a billing key is logged in the
	// state (CardAttempts, carried across continue-as-new), and an attempt that would pass the
	// worker's ceiling (Settings.AttemptCeiling: declines per 24 hours, reattempts per 30 days) is
	// not made: charge_now is refused, a dunning retry or a cycle's charge waits on a timer for
	// the window or parks the subscription (attempt_ceiling), and no schedule is registered for
	// an instant the ceiling forbids (ceiling.go).
	changeAttemptCeiling  = "attempt-ceiling"
	versionAttemptCeiling = 1
	// versionNoDayTwice: no KST day is paid in two periods (issue 20, item 3). A resume that
	// restarts the anchor credits the paused period's unused share from the restart day on (the
	// new period pays for that day); the credit is worth the period's charge plus any credit
	// taken off it; a credit larger than the next charge is kept for the charges after it; every
	// charge record says which days it pays for and what credit it took (ChargeRecord.FirstDay).
	changeNoDayTwice  = "no-day-twice"
	versionNoDayTwice = 1
	// versionMoneyScreens: "next charge" and "paid through" come from one source,
	// billing.State.NextCharge and PaidThroughNow (issue 20, item 4): the NextChargeAt search
	// attribute is unset when no charge will come (a cancel or pause at period end pending,
	// paused, no retry left), events' data.subscription and update receipts carry the same
	// values, and a refunded or ended period no longer shows as paid through.
	changeMoneyScreens  = "money-screens"
	versionMoneyScreens = 1
	// versionKnownRises (issue 20, decided once in every run that has versionCompactCarry and
	// versionConsentGate): the consent window and the 7-day notice follow the first rise ahead
	// whose date is known (an introductory price's end several cycles ahead, a plan change during
	// the introductory cycles), not only a rise at the next charge; every kind of rise gets its
	// notice (price.rising when it is not a trial's or an introductory price's end); a notice is
	// labelled late only when the worker was late; a consent sent before its window opens is
	// told when it opens; a rise that took effect closes its consent saying so.
	changeKnownRises  = "known-rises"
	versionKnownRises = 1
	// versionEarlyConversion (issue 20): end_trial may carry the customer's consent to a
	// conversion dated now, so a free trial can end early before its consent window opens.
	changeEarlyConversion  = "early-conversion"
	versionEarlyConversion = 1
	// versionChangeNow (issue 20): change_plan with "when": "now" changes the plan at once,
	// charging the rest of the current period at the new price less the unused part of what was
	// paid for it (a new, pro-rata cycle), or crediting a decrease to the next charge
	// (changenow.go).
	changeChangeNow  = "change-plan-now"
	versionChangeNow = 1
	// versionTrialFirstCharge (issue 20): first_charge survives continue-as-new (carried in
	// billing.State.FirstCharge; before, a run continued during a free trial forgot "anchor" and
	// charged a stub at once at the trial's end); with "anchor" the rise from 0 is dated on the
	// first charge, the first anchor date from the trial's end (its consent window and
	// change_date), the trial's end itself is not gated, and an end_trial charges at once.
	changeTrialFirstCharge  = "trial-first-charge"
	versionTrialFirstCharge = 1
)

// continueAsNewOptions moves the next run to the deployment's current build when that changed
// (auto-upgrade); otherwise the next run keeps the worker's default behaviour.
func (r *runner) continueAsNewOptions() workflow.ContinueAsNewErrorOptions {
	if workflow.GetInfo(r.ctx).GetTargetWorkerDeploymentVersionChanged() {
		return workflow.ContinueAsNewErrorOptions{InitialVersioningBehavior: workflow.ContinueAsNewVersioningBehaviorAutoUpgrade}
	}
	return workflow.ContinueAsNewErrorOptions{}
}

// atLeast reports whether this run takes version v of change (recording the newest version the
// first time a new run asks).
func (r *runner) atLeast(change string, v workflow.Version) bool {
	if b, ok := coveredByBundle[change]; ok && r.bundle >= b.since && b.version >= v {
		return true
	}
	return workflow.GetVersion(r.ctx, change, workflow.DefaultVersion, v) >= v
}

// The bundle stands for every change below at the version given: a run that takes it asks no
// other of them, so that it records one version marker (and one TemporalChangeVersion upsert, a
// visibility write) instead of one per change (issue 15). Each bundle version covers the
// changes of the versions before it and those marked with its own number: a run recorded with
// bundle 1 asks a change bundle 2 folded in by itself (and, replaying, does not take it). Runs
// recorded before any bundle (no bundle marker) ask each change as before.
const (
	changeBundle  = "paycycle-bundle-2026-12"
	versionBundle = 1
	// versionLeanBundle folds in versionLeanRun.
	versionLeanBundle = 2
	// versionRound3Bundle folds in the issue-20 changes (money, law and delivery, round 3):
	// each has its own change ID below, covered from this bundle version on. A run recorded with
	// bundle 1 or 2 asks each of them by itself.
	versionRound3Bundle = 3
)

// bundledChange is a change a bundle covers: at version, from bundle version since on.
type bundledChange struct {
	version workflow.Version
	since   workflow.Version
}

var coveredByBundle = map[string]bundledChange{
	changeMessagesFirst:            {versionMessagesFirst, versionBundle},
	changeFinalActionPendingCancel: {versionFinalActionPendingCancel, versionBundle},
	changePeriodStartsAtCharge:     {versionPeriodStartsAtCharge, versionBundle},
	changeResumeBilling:            {versionResumeBilling, versionBundle},
	changeSkipPastRetries:          {versionSkipPastRetries, versionBundle},
	changeTaxFreeProrated:          {versionTaxFreeProrated, versionBundle},
	changeRunBehaviour:             {versionRunBehaviour, versionBundle},
	changeCANOnNewBuild:            {versionCANOnNewBuild, versionBundle},
	changeEventStream:              {versionEventStream, versionBundle},
	changeConsentGate:              {versionConsentGate, versionBundle},
	changeOneSignalReceiver:        {versionOneSignalReceiver, versionBundle},
	changeCompactCarry:             {versionCompactCarry, versionBundle},
	changeLeanRun:                  {versionLeanRun, versionLeanBundle},
	changeRecoveryWatch:            {versionRecoveryWatch, versionRound3Bundle},
	changeRefuseNullSignal:         {versionRefuseNullSignal, versionRound3Bundle},
	changeAttemptCeiling:           {versionAttemptCeiling, versionRound3Bundle},
	changeNoDayTwice:               {versionNoDayTwice, versionRound3Bundle},
	changeMoneyScreens:             {versionMoneyScreens, versionRound3Bundle},
	changeKnownRises:               {versionKnownRises, versionRound3Bundle},
	changeEarlyConversion:          {versionEarlyConversion, versionRound3Bundle},
	changeChangeNow:                {versionChangeNow, versionRound3Bundle},
	changeTrialFirstCharge:         {versionTrialFirstCharge, versionRound3Bundle},
}

// run is the subscription's main loop.
func (r *runner) run() error {
	r.messagesFirst = r.atLeast(changeMessagesFirst, versionMessagesFirst)
	r.seedPaidPrice()
	if r.firstRun {
		if ok, err := r.begin(); err != nil || !ok {
			return r.finish(err)
		}
	}
	for !r.s.Status.Terminal() {
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
			if !r.dirty {
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
	if t := r.s.Plan.Trial; r.consentGate && t != nil && t.Days > 0 {
		r.startTrial()
	} else if err := r.startBilling(); err != nil {
		return false, err
	}
	r.flushEvents()
	return true, nil
}

// continueAsNew ends the run with a continue-as-new carrying the state.
func (r *runner) continueAsNew() error {
	r.event("continue_as_new", "", fmt.Sprintf("run %d handled %d cycles", r.s.Runs, r.cyclesThisRun))
	r.flushEvents()
	r.trimState()
	next := billing.SubscriptionInput{SubscriptionID: r.s.SubscriptionID, Continued: r.carried()}
	if !r.lean {
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
	r.dirty = false
	r.refresh()
	acted, err = step()
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
	atBoundary := r.s.DunningState == nil && len(r.intents) == 0
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
	if !r.messagesFirst {
		return nil
	}
	ran := false
	workflow.Go(r.ctx, func(workflow.Context) { ran = true })
	return workflow.Await(r.ctx, func() bool { return ran })
}

// wake reports whether the loop must look again: a message changed something, or signals of
// unknown names wait to be recorded.
func (r *runner) wake() bool { return r.dirty || r.unknownSignals() }

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
	if r.behaviour && r.s.Attention == nil {
		// PortOne stayed unreachable for an activity's whole retry budget: a person should know.
		r.park(billing.AttentionRetriesExhausted, "", textfmt.Truncate(err.Error(), 300))
		r.refresh()
	}
	r.dirty = false
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
	if !r.compact {
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
	if r.noDayTwice {
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
	kept := make([]billing.ChargeRecord, 0, len(s.Charges))
	inChain := map[string]bool{}
	for _, c := range s.Charges {
		final := c.Outcome != billing.OutcomeUnknown && c.Outcome != billing.OutcomeScheduled
		if keepCycle(c.Cycle, c.At) || !final || chain[c.MerchantUID] {
			kept = append(kept, c)
		}
		if chain[c.MerchantUID] && c.ImpUID != "" {
			inChain[c.ImpUID] = true
		}
	}
	s.ChargesOmitted += len(s.Charges) - len(kept)
	s.Charges = kept
	refunds := make([]billing.RefundRecord, 0, len(s.Refunds))
	for _, f := range s.Refunds {
		if keepCycle(f.Cycle, f.At) || inChain[f.ImpUID] {
			refunds = append(refunds, f)
		}
	}
	s.Refunds = refunds
	if r.ceiling {
		s.CardAttempts = billing.PruneCardAttempts(s.CardAttempts, r.now())
	}
	keepEvents := carryEvents
	if r.lean {
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
	if r.consentGate {
		r.s.Phase = r.s.PricingPhase()
	}
	r.upsertSearchAttributes()
}

// recurrence returns the subscription's billing calendar.
func (r *runner) recurrence() calendar.Recurrence { return *r.s.Recurrence }
