package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// This file is the workflow's version table: every change ID the subscription workflow asks
// workflow.GetVersion about, its version, what it changed, when it is asked, which bundle
// covers it and the condition under which its old branch may be deleted (retireWhen). A new
// change gets a constant pair below, a row in changeTable and, when it ships in a bundle, that
// bundle's number in the row; TestBundleContents pins what each bundle version stands for, so a
// change cannot slip into a bundle that running subscriptions already recorded.

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
	// versionMinuteLawDay (issue 23, asked once in newRunner by runs of minute-interval demo
	// plans with the consent gate): on a minute plan a law day (a trial's days, the 30-day
	// consent window, the 7-day notice) lasts a minute instead of a second, so that a demo trial
	// started by hand can be tried by hand: a 7-day demo trial ended no_consent 7 seconds after
	// it started. Second plans keep a second a day (the whole flow in a minute).
	changeMinuteLawDay  = "minute-law-day"
	versionMinuteLawDay = 1
	// versionAttentionEvents (issue 23): parking a subscription for a person and clearing the
	// flag make merchant events (subscription.needs_attention, subscription.attention_cleared),
	// so that the read model's needs-attention queue is fed from the stream. Asked where a park
	// sets the flag or a clear removes it, only in runs that make events for endpoints; in no
	// bundle.
	changeAttentionEvents  = "attention-events"
	versionAttentionEvents = 1
	// versionCyclePayment (issue 22, in no bundle): on PortOne V2 the attempts of a cycle share
	// one paymentId, the cycle's (billing.CyclePaymentID; its next generation once PortOne's
	// attempt cap closed it), so that PortOne itself refuses a cycle's second success; each
	// attempt keeps its merchant_uid in state and events and records its paymentId and
	// transactionId (ChargeRecord.PaymentID, ImpUID). Asked once per run, the first time a V2 run
	// charges, schedules or looks up a cycle (cyclePayments): V1 runs never ask. The old branch
	// charges each attempt under its own merchant_uid, as before.
	changeCyclePayment  = "v2-cycle-payment"
	versionCyclePayment = 1
	// versionReplaceToV2 (issue 22), asked when a replace_billing_key payload names gateway,
	// billing_key or issue_id: the message may name a PortOne V2 key, which moves a V1
	// subscription onto V2 (movekey.go). A run that recorded the message before reads those
	// fields as it did then: a strict run refused them as unknown, an older one ignored them.
	// Also asked when a replacement in the old form (customer_uid naming the new V2 key) is
	// carried out on a V2 subscription registered through the V2 page: the new key becomes its
	// billing_key (before, only the customer_uid changed and the old key went on being charged).
	changeReplaceToV2  = "replace-key-to-v2"
	versionReplaceToV2 = 1
	// versionRequestedRefund (issue 22, in no bundle), asked only when a V2 refund comes back
	// pending (activities.RefundResult.Pending: the cancel still REQUESTED at PortOne after the
	// activity's wait): the refund is recorded as requested, not made, and followed
	// (requestedrefund.go): looked up again after a timer, confirmed when PortOne gave it back,
	// made again with the compare-and-set remainder when PortOne ended it FAILED, and handed to
	// a person (needs_attention) when it cannot be made or stays REQUESTED past the bound; a run
	// that ends does not complete while one is followed. The old branch counts it made.
	changeRequestedRefund  = "v2-requested-refund"
	versionRequestedRefund = 1
	// versionAnswerOnlyCharge (issue 22, in no bundle): a V2 charge under a cycle paymentId is
	// one request, PortOne's approval taken as the whole answer (activities.ChargeInput.AnswerOnly),
	// where it was the charge and a read of the payment; the charge is recorded paid for the
	// amount asked and its transactionId learned from the verified webhook (answeronly.go),
	// a relayed amount that differs being settled by SettleAnswered. Asked once per run, the
	// first time a V2 run under cycle paymentIds charges (answerOnlyCharges). The old branch
	// reads the payment back in the charge activity.
	changeAnswerOnlyCharge  = "v2-answer-only-charge"
	versionAnswerOnlyCharge = 1
)

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

// changeRow is one row of the version table.
type changeRow struct {
	// id is the change ID, recorded in history (never rename one); version is the newest version.
	id      string
	version workflow.Version
	// bundle is the bundle version from which changeBundle covers this change (0: none).
	bundle workflow.Version
	// asked says when a run asks: where newRunner or run decide it once, or the first time the
	// code path runs (a run without the bundle records the marker there, so moving the question
	// elsewhere would change the commands of recorded histories).
	asked string
	// what is one line on what the change changed.
	what string
}

// changeTable is every change, oldest first. coveredByBundle is built from it.
var changeTable = []changeRow{
	{changeMessagesFirst, versionMessagesFirst, versionBundle, "run, once", "the loop lets a task's messages in before acting on a timer that fired in the same task"},
	{changeFinalActionPendingCancel, versionFinalActionPendingCancel, versionBundle, "when dunning gives up", "dunning that ends with a cancel at period end pending cancels even if the final action is pause"},
	{changePeriodStartsAtCharge, versionPeriodStartsAtCharge, versionBundle, "when a cycle is charged before its start", "a cycle charged early starts its service period at the charge"},
	{changeResumeBilling, versionResumeBilling, versionBundle, "on resume", "resume never bills a paid period, bills the unpaid rest pro rata (keep) and credits unused days (restart)"},
	{changeSkipPastRetries, versionSkipPastRetries, versionBundle, "when a dunning retry is planned", "dunning retries whose instant passed are skipped, not made late back to back"},
	{changeTaxFreeProrated, versionTaxFreeProrated, versionBundle, "on a prorated charge or refund", "a prorated amount carries tax_free in the same proportion"},
	{changeRunBehaviour, versionRunBehaviour, versionBundle, "newRunner, once", "unknown fields refused, cancellation request carried out as a billing cancel, needs_attention, unknown signals recorded"},
	{changeCANOnNewBuild, versionCANOnNewBuild, versionBundle, "at a cycle boundary after the deployment's target changed", "continue as new onto a new target build"},
	{changeEventStream, versionEventStream, versionBundle, "newRunner, once", "merchant events handed to the outbox workflow, renewal.upcoming timer"},
	{changeConsentGate, versionConsentGate, versionBundle, "newRunner, once", "trials, introductory prices and the consent gate for price rises"},
	{changeOneSignalReceiver, versionOneSignalReceiver, versionBundle, "newRunner, once", "one coroutine serves every signal name"},
	{changeCompactCarry, versionCompactCarry, versionBundle, "newRunner, once", "compact carried state; a continued run starts from the carried search attributes"},
	{changeLeanRun, versionLeanRun, versionLeanBundle, "newRunner, once (compact runs)", "leanCyclesPerRun cycles a run, leaner carried state and continue-as-new input"},
	{changeRecoveryWatch, versionRecoveryWatch, versionRound3Bundle, "newRunner, once (compact runs)", "a failed schedule's merchant_uid is watched and a 리커버리 payment there refunded"},
	{changeRefuseNullSignal, versionRefuseNullSignal, versionRound3Bundle, "newRunner, once (compact runs)", "a signal with a null payload is refused instead of read as {}"},
	{changeAttemptCeiling, versionAttemptCeiling, versionRound3Bundle, "newRunner, once (compact runs)", "attempts per billing key logged and held under the worker's ceiling"},
	{changeNoDayTwice, versionNoDayTwice, versionRound3Bundle, "newRunner, once (compact runs)", "no KST day is paid in two periods; charge records name their days and credit"},
	{changeMoneyScreens, versionMoneyScreens, versionRound3Bundle, "newRunner, once (compact runs)", "next charge and paid through come from one source everywhere"},
	{changeKnownRises, versionKnownRises, versionRound3Bundle, "newRunner, once (compact, consent-gate runs)", "consent window and notice follow the first known rise ahead"},
	{changeEarlyConversion, versionEarlyConversion, versionRound3Bundle, "newRunner, once (compact, consent-gate runs)", "end_trial may carry a consent dated now"},
	{changeChangeNow, versionChangeNow, versionRound3Bundle, "newRunner, once (compact, consent-gate runs)", "change_plan when now: the plan changes at once, pro rata"},
	{changeTrialFirstCharge, versionTrialFirstCharge, versionRound3Bundle, "newRunner, once (compact, consent-gate runs)", "first_charge carried across continue-as-new; a trial with anchor dates its rise on the first charge"},
	{changeMinuteLawDay, versionMinuteLawDay, 0, "newRunner, once (consent-gate runs of minute-interval plans)", "on a minute demo plan a law day lasts a minute, not a second"},
	{changeAttentionEvents, versionAttentionEvents, 0, "when a park sets the attention flag or a clear removes it (event-stream runs with endpoints)", "subscription.needs_attention and subscription.attention_cleared events"},
	{changeCyclePayment, versionCyclePayment, 0, "once per run, at a V2 run's first charge, schedule or cycle lookup", "on PortOne V2 a cycle's attempts share the cycle's paymentId; each records its paymentId and transactionId"},
	{changeReplaceToV2, versionReplaceToV2, 0, "when a replace_billing_key names gateway, billing_key or issue_id, or replaces a registered V2 subscription's key", "replace_billing_key may name a V2 key, moving a V1 subscription onto V2; a registered V2 subscription's new key is charged"},
	{changeRequestedRefund, versionRequestedRefund, 0, "when a V2 refund comes back still REQUESTED at PortOne", "a refund PortOne has not finished is recorded as requested and followed until it succeeds, is made again or is handed to a person"},
	{changeAnswerOnlyCharge, versionAnswerOnlyCharge, 0, "once per run, at a V2 run's first charge under cycle paymentIds", "a V2 charge is one request (PortOne's approval); its transactionId is learned from the verified webhook or read back after the next charge, and an amount that differs is cancelled"},
}

// coveredByBundle maps each bundled change to its version and the bundle version covering it.
var coveredByBundle = bundleMap(changeTable)

func bundleMap(rows []changeRow) map[string]bundledChange {
	m := make(map[string]bundledChange, len(rows))
	for _, c := range rows {
		if c.bundle > 0 {
			m[c.id] = bundledChange{version: c.version, since: c.bundle}
		}
	}
	return m
}

// markers are the TemporalChangeVersion values of a run that takes this change: the SDK
// records "<changeID>-<version>" for every GetVersion a new run asks (a KeywordList search
// attribute), so a run took the change if it recorded the change itself or a bundle covering it.
func (c changeRow) markers() []string {
	m := []string{fmt.Sprintf("%s-%d", c.id, c.version)}
	if c.bundle > 0 {
		for b := c.bundle; b <= versionRound3Bundle; b++ {
			m = append(m, fmt.Sprintf("%s-%d", changeBundle, b))
		}
	}
	return m
}

// retireWhen is the condition under which the change's old branch (and the question itself)
// may be deleted: no open subscription run lacks all of its markers, and the replay fixtures
// recorded before it are retired with it (a run that recorded none of them replays the old
// branch; a run not yet at the question records the newest version when it gets there, so the
// query is conservative). A run that recorded no marker at all has no TemporalChangeVersion,
// which NOT IN does not match on SQL visibility stores (NOT of NULL): IS NULL counts it.
func (c changeRow) retireWhen() string {
	quoted := make([]string, 0, 4)
	for _, m := range c.markers() {
		quoted = append(quoted, fmt.Sprintf("%q", m))
	}
	return fmt.Sprintf("bin/temporal workflow count --query 'WorkflowType=%q AND ExecutionStatus=\"Running\" AND (TemporalChangeVersion IS NULL OR TemporalChangeVersion NOT IN (%s))' answers 0, and the fixtures recorded before it are retired",
		billing.WorkflowType, strings.Join(quoted, ", "))
}

// features are the versioned behaviours a run took, decided once, first thing in newRunner
// (messagesFirst: first thing in run), so that the rest of the workflow reads a field instead
// of asking GetVersion. Changes asked lazily, where their code path first runs (changeTable's
// asked column), stay questions (runner.atLeast): asking them here would move their markers in
// the histories of runs recorded without a bundle.
type features struct {
	// bundle is the bundle version the run took (0: none): every change it covers applies.
	bundle workflow.Version
	// behaviour is true from versionRunBehaviour on (see there).
	behaviour bool
	// messagesFirst is true from versionMessagesFirst on: the loop lets the messages of the
	// current workflow task in before deciding (see letMessagesIn). It is decided first thing
	// in run, after newRunner's settings activity, where runs recorded without a bundle asked.
	messagesFirst bool
	// eventStream is true from versionEventStream on: the run makes merchant events (events.go).
	eventStream bool
	// consentGate is true from versionConsentGate on (consent.go).
	consentGate bool
	// oneReceiver is true from versionOneSignalReceiver on (startSignalReceiver).
	oneReceiver bool
	// compact is true from versionCompactCarry on (compactCarried, seedSearchAttributes).
	compact bool
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
	// minuteLawDay is true from versionMinuteLawDay on (lawDays); asked only by runs of a
	// minute-interval plan.
	minuteLawDay bool
}

// decideFeatures asks the run-level questions in the order runs have always recorded them:
// the bundle first, then each change (a change the bundle covers is not asked). The order and
// the short-circuits are part of recorded histories: a run without the bundle records a marker
// per question asked.
func decideFeatures(ctx workflow.Context) features {
	var f features
	f.bundle = workflow.GetVersion(ctx, changeBundle, workflow.DefaultVersion, versionRound3Bundle)
	at := func(change string, v workflow.Version) bool { return atLeast(ctx, f.bundle, change, v) }
	f.behaviour = at(changeRunBehaviour, versionRunBehaviour)
	if !f.behaviour {
		return f
	}
	f.eventStream = at(changeEventStream, versionEventStream)
	f.consentGate = at(changeConsentGate, versionConsentGate)
	f.oneReceiver = at(changeOneSignalReceiver, versionOneSignalReceiver)
	f.compact = at(changeCompactCarry, versionCompactCarry)
	f.lean = f.compact && at(changeLeanRun, versionLeanRun)
	f.recoveryWatch = f.compact && at(changeRecoveryWatch, versionRecoveryWatch)
	f.refuseNull = f.compact && at(changeRefuseNullSignal, versionRefuseNullSignal)
	f.ceiling = f.compact && at(changeAttemptCeiling, versionAttemptCeiling)
	f.noDayTwice = f.compact && at(changeNoDayTwice, versionNoDayTwice)
	f.screens = f.compact && at(changeMoneyScreens, versionMoneyScreens)
	f.knownRises = f.compact && f.consentGate && at(changeKnownRises, versionKnownRises)
	f.earlyConversion = f.compact && f.consentGate && at(changeEarlyConversion, versionEarlyConversion)
	f.changeNow = f.compact && f.consentGate && at(changeChangeNow, versionChangeNow)
	f.trialFirstCharge = f.compact && f.consentGate && at(changeTrialFirstCharge, versionTrialFirstCharge)
	return f
}

// atLeast reports whether this run takes version v of change (recording the newest version the
// first time a new run asks).
func (r *runner) atLeast(change string, v workflow.Version) bool {
	return atLeast(r.ctx, r.features.bundle, change, v)
}

// atLeast reports whether a run that took bundle takes version v of change: the bundle covers
// it, or GetVersion says so (recording the newest version the first time a new run asks).
func atLeast(ctx workflow.Context, bundle workflow.Version, change string, v workflow.Version) bool {
	if b, ok := coveredByBundle[change]; ok && bundle >= b.since && b.version >= v {
		return true
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, v) >= v
}
