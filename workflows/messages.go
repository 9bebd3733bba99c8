package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// registerHandlers installs the query, the signal receivers and the update handlers. Signals and
// updates share names and payloads; both go through the same validation, so a malformed or
// out-of-place signal is refused exactly like the update would be, recorded in the audit trail
// and otherwise ignored. Handlers only record intent; the main loop acts on it.
func (r *runner) registerHandlers() error {
	if err := workflow.SetQueryHandler(r.ctx, billing.QueryState, func() (billing.State, error) {
		st := *r.s
		// A query answer is no command: the figures every screen shows ride along.
		st.Shown = &billing.ShownFigures{NextCharge: st.NextCharge(), PaidUntil: st.PaidUntil()}
		return st, nil
	}); err != nil {
		return err
	}
	for _, m := range messageTable {
		if m.handled != nil && !m.handled(r.features) {
			continue
		}
		if m.signalOnly {
			receive := m.receive
			r.receiveSignals(m.name, func(raw json.RawMessage) { receive(r, raw) })
			continue
		}
		if err := r.registerCommand(m); err != nil {
			return err
		}
	}
	r.startSignalReceiver()
	return nil
}

// registerCommand installs a command's signal receiver and its update handler, both applying
// the same function: the update's validator runs it as a dry run.
func (r *runner) registerCommand(m messageSpec) error {
	name, apply := m.name, m.apply
	r.receiveSignals(name, func(raw json.RawMessage) {
		if _, err := apply(r, raw, false); err != nil {
			r.refused(name, err)
		}
	})
	validate := func(ctx workflow.Context, raw json.RawMessage) error {
		if billing.IsNullPayload(raw) {
			// Refused in every run: validators do not run on replay, and a rejected
			// update is not written to history, so no recorded run can change.
			return nullPayload()
		}
		_, err := apply(r, raw, true)
		return err
	}
	handle := func(ctx workflow.Context, raw json.RawMessage) (billing.Receipt, error) {
		rep, err := apply(r, raw, false)
		if err != nil || !rep.later {
			return rep.receipt, err
		}
		return r.mailbox.await(ctx, rep.token)
	}
	return workflow.SetUpdateHandlerWithOptions(r.ctx, name, handle, workflow.UpdateHandlerOptions{
		Validator:   validate,
		Description: updateDescription(name),
	})
}

// updateDescriptions are the update handlers' descriptions (the Web UI shows them), made once
// for the process so that a cached subscription does not hold its own copy of each. Read-only
// after package initialisation.
var updateDescriptions = func() map[string]string {
	m := map[string]string{}
	for _, name := range updateNames {
		m[name] = describeUpdate(name)
	}
	return m
}()

func updateDescription(name string) string {
	if d, ok := updateDescriptions[name]; ok {
		return d
	}
	return describeUpdate(name)
}

func describeUpdate(name string) string {
	return "same payload as the " + name + " signal; answers with a receipt"
}

// receiveSignals runs a receiver for one signal name. Payloads arrive raw so that a malformed one
// is reported in the audit trail instead of being dropped silently. From versionRefuseNullSignal
// on, a null payload is refused here for every signal, before its handler sees it.
func (r *runner) receiveSignals(name string, handle func(json.RawMessage)) {
	fn := handle
	if r.features.refuseNull {
		fn = func(raw json.RawMessage) {
			if billing.IsNullPayload(raw) {
				r.refused(name, nullPayload())
				return
			}
			handle(raw)
		}
	}
	ch := workflow.GetSignalChannel(r.ctx, name)
	if r.features.oneReceiver {
		r.mailbox.signalReceivers = append(r.mailbox.signalReceivers, signalReceiver{ch: ch, fn: fn})
		return
	}
	workflow.Go(r.ctx, func(ctx workflow.Context) {
		for {
			var raw json.RawMessage
			if !ch.Receive(ctx, &raw) {
				return
			}
			fn(raw)
			r.mailbox.dirty = true
		}
	})
}

// startSignalReceiver runs every signal handler from one coroutine (versionOneSignalReceiver):
// a cached idle subscription holds two coroutines (the main loop and this), not one per signal
// name. It handles every signal that is ready before it yields, as the per-name receivers did.
func (r *runner) startSignalReceiver() {
	if !r.features.oneReceiver || len(r.mailbox.signalReceivers) == 0 {
		return
	}
	receivers := r.mailbox.signalReceivers
	workflow.Go(r.ctx, func(ctx workflow.Context) {
		done := false
		sel := workflow.NewSelector(ctx)
		for _, sr := range receivers {
			sr := sr
			sel.AddReceive(sr.ch, func(c workflow.ReceiveChannel, more bool) {
				var raw json.RawMessage
				if !more || !c.ReceiveAsync(&raw) {
					return
				}
				sr.fn(raw)
				r.mailbox.dirty = true
			})
		}
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { done = true })
		for !done {
			sel.Select(ctx)
		}
	})
}

// refused records a refused signal.
func (r *runner) refused(name string, err error) {
	r.log.Warn("message refused", "message", name, "error", err)
	r.event("refused", "", fmt.Sprintf("%s: %v", name, err))
	r.mailbox.dirty = true
}

// nullPayload is the refusal of a message whose payload is the JSON literal null.
func nullPayload() error {
	return temporal.NewApplicationError("malformed payload: "+billing.NullPayloadError().Error(), billing.ErrorTypeInvalidInput)
}

// decode parses a message payload, naming the problem for the sender. From versionRunBehaviour
// on, a field the message does not have is refused (a "whenn": "now" must not become a cancel at
// period end).
//
// An absent payload means {}. A null one means {} here too, for the runs recorded before
// versionRefuseNullSignal; newer runs refuse null before decode is reached (the validators, and
// receiveSignals).
func (r *runner) decode(raw json.RawMessage, v any) error {
	return r.decodeWithout(raw, v, r.newerFields(v))
}

// decodeWithout is decode with the newer fields given: those this run reads as the version
// that recorded it did.
func (r *runner) decodeWithout(raw json.RawMessage, v any, newer []string) error {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	var err error
	if r.features.behaviour {
		//workflowcheck:ignore decoding JSON into structs is deterministic
		err = billing.DecodeStrict(raw, v)
		if err == nil {
			err = refuseNewerFields(raw, newer)
		}
	} else {
		//workflowcheck:ignore
		err = json.Unmarshal(withoutFields(raw, newer), v)
	}
	if err != nil {
		return temporal.NewApplicationError("malformed payload: "+err.Error(), billing.ErrorTypeInvalidInput)
	}
	return nil
}

// newerFields are the fields of v's payload that a later version than this run's added: a
// recorded message carrying one must act on replay as it did when this run's version decoded
// it. A strict run (versionRunBehaviour) refused it as an unknown field, whatever its value; an
// older run ignored it, whatever its value or the case of its name (json.Unmarshal).
func (r *runner) newerFields(v any) []string {
	switch v.(type) {
	case *billing.ChangePlanRequest:
		if !r.features.changeNow {
			return []string{"when", "consent"}
		}
	case *billing.EndTrialRequest:
		if !r.features.earlyConversion {
			return []string{"consent"}
		}
	}
	return nil
}

// refuseNewerFields is a strict run's refusal of a payload carrying one of fields (exact names,
// as billing.DecodeStrict matches them), the first in fields' order.
func refuseNewerFields(raw json.RawMessage, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	//workflowcheck:ignore decoding JSON is deterministic; the map is only looked up
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	for _, f := range fields {
		if _, ok := obj[f]; ok {
			return fmt.Errorf("json: unknown field %q", f)
		}
	}
	return nil
}

// withoutFields is raw without the keys that match one of fields case-insensitively, as
// json.Unmarshal matches them; raw itself when it has none (or is no JSON object: the decode
// reports that as before).
func withoutFields(raw json.RawMessage, fields []string) json.RawMessage {
	if len(fields) == 0 {
		return raw
	}
	var obj map[string]json.RawMessage
	//workflowcheck:ignore decoding JSON is deterministic
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return raw
	}
	found := false
	//workflowcheck:ignore deleting keys in any order leaves the same map
	for k := range obj {
		if slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(k, f) }) {
			delete(obj, k)
			found = true
		}
	}
	if !found {
		return raw
	}
	// A map's keys are marshalled in sorted order: deterministic.
	//workflowcheck:ignore
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// refuse wraps a validation failure as a non-retryable application error with a clear message.
func refuse(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), billing.ErrorTypeInvalidInput)
}

func refuseInput(err error) error {
	var ie *billing.InputError
	if errors.As(err, &ie) {
		if ie.Field == "" {
			return refuse("%s", ie.Reason)
		}
		return refuse("%s: %s", ie.Field, ie.Reason)
	}
	return refuse("%v", err)
}

// seen reports whether a request ID was already applied (a duplicated message), and otherwise
// remembers it unless dryRun.
func (r *runner) seen(id string, dryRun bool) bool {
	if id == "" {
		return false
	}
	if slices.Contains(r.s.RecentRequestIDs, id) {
		return true
	}
	if !dryRun {
		r.s.RecentRequestIDs = append(r.s.RecentRequestIDs, id)
		if n := len(r.s.RecentRequestIDs); n > billing.MaxRequestIDs {
			r.s.RecentRequestIDs = append([]string(nil), r.s.RecentRequestIDs[n-billing.MaxRequestIDs:]...)
		}
	}
	return false
}

func (r *runner) duplicate() billing.Receipt {
	rc := r.receipt("duplicate request: already applied")
	rc.Duplicate = true
	return rc
}

func (r *runner) receipt(msg string) billing.Receipt {
	if r.features.screens {
		return billing.Receipt{Message: msg, Status: r.s.Status, NextChargeAt: r.s.NextCharge(), PaidThrough: r.s.PaidUntil()}
	}
	return billing.Receipt{Message: msg, Status: r.s.Status, NextChargeAt: r.s.NextChargeAt}
}

// nextChargeShown is the next charge as answers and screens show it: from versionMoneyScreens
// on the one billing.State.NextCharge (none while a cancel or pause at period end is pending).
func (r *runner) nextChargeShown() time.Time {
	if r.features.screens {
		return r.s.NextCharge()
	}
	return r.s.NextChargeAt
}

func (r *runner) notEnded() error {
	if r.s.Status.Terminal() {
		return refuse("the subscription has ended (%s)", r.s.Status)
	}
	return nil
}

// command is a message payload with an idempotency key.
type command interface{ ID() string }

// admit decodes a command's payload into req and runs check (normalize and validate; nil for
// none), refuses it when the subscription has ended, and reports whether its request ID was
// already applied. It changes nothing, so validators may call it.
func (r *runner) admit(raw json.RawMessage, req command, check func() error) (duplicate bool, err error) {
	return r.admitWithout(raw, req, check, r.newerFields(req))
}

// admitWithout is admit with the newer fields given (decodeWithout).
func (r *runner) admitWithout(raw json.RawMessage, req command, check func() error, newer []string) (duplicate bool, err error) {
	if err := r.decodeWithout(raw, req, newer); err != nil {
		return false, err
	}
	if check != nil {
		if err := check(); err != nil {
			return false, refuseInput(err)
		}
	}
	if err := r.notEnded(); err != nil {
		return false, err
	}
	_, isCancel := req.(*billing.CancelRequest)
	_, isUndo := req.(*billing.UndoCancelRequest) // it says why itself (the cancel is taking effect)
	if r.cancelling && !isCancel && !isUndo {
		// The cancel's refund or key deletion is in flight: the subscription is ending, so a
		// command that would act after it can only be refused (or it would wait for ever).
		return false, refuse("the subscription is being canceled")
	}
	return r.seen(req.ID(), true), nil
}

// refusedOrDuplicate is the answer of a command admit did not let through.
func (r *runner) refusedOrDuplicate(duplicate bool, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return answered(r.duplicate()), nil
}

// Each on* function validates a message against the current state and, unless dryRun, applies it.
// Its reply is a receipt given now, or the token of the intent it queued, on which the main loop
// answers later (reply.later).

func (r *runner) onCancel(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.CancelRequest
	if dup, err := r.admit(raw, &req, func() error { req.Normalize(); return req.Validate() }); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	immediate := req.When == billing.Now || r.s.Status == billing.StatusAwaitingRegistration || r.s.Status == billing.StatusPaused
	if !immediate && r.s.PendingCancel != nil {
		return answered(r.receipt("a cancel at period end is already pending")), nil
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	req.RequestedAt = r.now()
	r.mailbox.dirty = true
	if immediate {
		if r.mailbox.queued(intentCancel) {
			return answered(r.receipt("a cancel is already in progress")), nil
		}
		token := r.mailbox.enqueue(intent{kind: intentCancel, cancel: req})
		r.event("cancel_requested", string(req.Requester), fmt.Sprintf("now, refund %s: %s", req.Refund, req.Reason))
		return queued(token), nil
	}
	r.s.PendingCancel = &req
	r.event("cancel_requested", string(req.Requester), "at period end: "+req.Reason)
	r.publish(billing.EventCancelScheduled, billing.EventData{Detail: req.Reason})
	msg := "the subscription will be canceled at the end of the current period"
	if !r.s.NextChargeAt.IsZero() {
		msg += " (" + r.s.NextChargeAt.In(seoul()).Format("2006-01-02 15:04 MST") + "); no further charge"
	}
	return answered(r.receipt(msg)), nil
}

func (r *runner) onUndoCancel(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.UndoCancelRequest
	if dup, err := r.admit(raw, &req, nil); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	if r.s.PendingCancel == nil {
		return reply{}, refuse("there is no pending cancel to undo")
	}
	if r.cancelling {
		return reply{}, refuse("the cancel is already taking effect and can no longer be undone")
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.s.PendingCancel = nil
	r.mailbox.dirty = true
	r.event("cancel_undone", "", req.Reason)
	r.publish(billing.EventCancelUndone, billing.EventData{Detail: req.Reason})
	return answered(r.receipt("the pending cancel was withdrawn; billing continues")), nil
}

func (r *runner) onPause(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.PauseRequest
	if dup, err := r.admit(raw, &req, func() error { req.Normalize(); return req.Validate() }); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	switch {
	case r.s.Status == billing.StatusPaused || r.mailbox.queued(intentPause):
		return reply{}, refuse("the subscription is already paused")
	case r.s.Pause != nil && r.s.Pause.Pending:
		return reply{}, refuse("a pause at period end is already pending")
	case r.s.Status != billing.StatusActive:
		return reply{}, refuse("only an active subscription can be paused; it is %s", r.s.Status)
	case !r.s.TrialEndsAt.IsZero():
		return reply{}, refuse("a free trial cannot be paused; a cancel during the trial costs nothing")
	case !req.ResumeAt.IsZero() && !req.ResumeAt.After(r.now()):
		return reply{}, refuse("resume_at %s is not in the future", req.ResumeAt.Format(time.RFC3339))
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	if req.When == billing.Now {
		// Applied by the main loop at a safe point: a charge in flight settles first, and
		// must not turn the subscription back to active afterwards.
		token := r.mailbox.enqueue(intent{kind: intentPause, pause: req})
		r.event("pause_requested", "", "now: "+req.Reason)
		return queued(token), nil
	}
	r.s.Pause = &billing.PauseState{RequestAt: r.now(), ResumeAt: req.ResumeAt.UTC(), Reason: req.Reason, Pending: true}
	r.event("pause_requested", "", "at period end: "+req.Reason)
	return answered(r.receipt("the subscription will pause at the end of the current period")), nil
}

func (r *runner) onResume(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ResumeRequest
	if dup, err := r.admit(raw, &req, func() error { req.Normalize(); return req.Validate() }); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	pendingPause := r.s.Pause != nil && r.s.Pause.Pending
	if r.s.Status != billing.StatusPaused && !pendingPause {
		return reply{}, refuse("the subscription is not paused (it is %s)", r.s.Status)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	if pendingPause {
		r.s.Pause = nil
		r.event("pause_withdrawn", "", req.Reason)
		return answered(r.receipt("the pending pause was withdrawn")), nil
	}
	return queued(r.mailbox.enqueue(intent{kind: intentResume, resume: req})), nil
}

func (r *runner) onChangePlan(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ChangePlanRequest
	base := r.nextPlan()
	check := func() error {
		// Before versionChangeNow the payload had neither "when" nor "consent": decode
		// treats them as that version did (newerFields).
		plan := base
		if req.When == billing.Now {
			plan = r.s.Plan // an immediate change replaces a pending one
		}
		if err := req.Validate(plan); err != nil {
			return err
		}
		// V2's minimum (a V1 subscription has no other check than before).
		next := req.Apply(plan)
		return next.ValidateForGateway("amount", r.s.Gateway)
	}
	if dup, err := r.admit(raw, &req, check); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	if req.When == billing.Now && r.s.Status != billing.StatusAwaitingRegistration {
		return r.onChangePlanNow(req, dryRun)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	next := req.Apply(base)
	r.s.PendingPlan = &next
	if r.features.knownRises {
		r.s.PlanChangedAt = r.now()
	}
	r.event("plan_change_requested", "", fmt.Sprintf("from cycle %d: %q %d KRW (tax free %d) %s", r.s.Cycle+1, next.Name, next.Amount, next.TaxFree, req.Reason))
	if r.s.Cycle == 0 && r.s.Status == billing.StatusAwaitingRegistration {
		r.s.Plan, r.s.PendingPlan = next, nil
		return answered(r.receipt("plan changed before the first charge")), nil
	}
	return answered(r.receipt(fmt.Sprintf("the new plan applies from cycle %d", r.s.Cycle+1))), nil
}

func (r *runner) onReplaceBillingKey(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ReplaceBillingKeyRequest
	if dup, err := r.admitWithout(raw, &req, func() error { return r.checkReplace(&req) }, r.replaceNewerFields(raw, dryRun)); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	return queued(r.mailbox.enqueue(intent{kind: intentReplaceKey, replace: req})), nil
}

func (r *runner) onChargeNow(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ChargeNowRequest
	if dup, err := r.admit(raw, &req, nil); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	switch r.s.Status {
	case billing.StatusPastDue:
	case billing.StatusPaymentMethodRequired:
		return reply{}, refuse("the billing key was declined for good; send %s with a newly registered customer_uid", billing.MsgReplaceBillingKey)
	default:
		next := "no charge is planned"
		if at := r.nextChargeShown(); !at.IsZero() {
			next = "the next charge is at " + at.In(seoul()).Format("2006-01-02 15:04 MST")
		}
		return reply{}, refuse("nothing is due: the subscription is %s and %s", r.s.Status, next)
	}
	if d := r.s.DunningState; d != nil && d.Attempts >= billing.MaxAttempt {
		return reply{}, refuse("cycle %d reached the limit of %d attempts", d.Cycle, billing.MaxAttempt)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	return queued(r.mailbox.enqueue(intent{kind: intentChargeNow})), nil
}

func (r *runner) onRegistered(raw json.RawMessage) {
	var sig billing.RegisteredSignal
	if err := r.decode(raw, &sig); err != nil || (sig.ImpUID == "" && !r.s.Gateway.IsV2()) {
		r.refused(billing.SignalRegistered, fmt.Errorf("imp_uid is required (payload %s)", textfmt.Truncate(string(raw), 120)))
		return
	}
	if r.s.Gateway.IsV2() && sig.BillingKey == "" {
		// A V2 key is issued without a registration payment: the key itself is what is verified.
		r.refused(billing.SignalRegistered, fmt.Errorf("billing_key is required on a portone_v2 subscription (payload %s)", textfmt.Truncate(string(raw), 120)))
		return
	}
	if r.s.Status != billing.StatusAwaitingRegistration {
		r.event("registered_ignored", "", fmt.Sprintf("imp_uid %s: the subscription is %s", sig.ImpUID, r.s.Status))
		return
	}
	r.mailbox.registrations = append(r.mailbox.registrations, sig)
}

func (r *runner) onRegistrationFailed(raw json.RawMessage) {
	var sig billing.RegistrationFailedSignal
	if err := r.decode(raw, &sig); err != nil {
		r.refused(billing.SignalRegistrationFailed, err)
		return
	}
	r.s.Registration.LastError = textfmt.Truncate(sig.Error, 300)
	r.event("registration_failed", "customer", textfmt.Truncate(sig.Error, 300))
	r.publish(billing.EventRegistrationFailed, billing.EventData{Detail: sig.Error})
}

func (r *runner) onPaymentNotification(raw json.RawMessage) {
	var n billing.PaymentNotification
	if err := r.decode(raw, &n); err != nil || n.MerchantUID == "" {
		r.refused(billing.SignalPaymentNotification, fmt.Errorf("merchant_uid is required"))
		return
	}
	parsed, err := billing.ParseMerchantUID(n.MerchantUID)
	if err != nil || parsed.Charge.Tag != r.s.Tag || parsed.SubscriptionID != r.s.SubscriptionID {
		r.event("notification_ignored", "", fmt.Sprintf("%s does not belong to this subscription", n.MerchantUID))
		return
	}
	r.mailbox.notified[n.MerchantUID] = true
	r.event("payment_notification", "portone", fmt.Sprintf("%s %s (imp_uid %s)", n.MerchantUID, n.Status, n.ImpUID))
	r.learnFrom(n)
}

func (r *runner) onMarkAttention(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.AttentionRequest
	if dup, err := r.admit(raw, &req, req.Validate); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	r.park(req.Kind, req.Finding, req.Detail)
	return answered(r.receipt("the subscription is marked as needing attention")), nil
}

func (r *runner) onClearAttention(raw json.RawMessage, dryRun bool) (reply, error) {
	var req billing.ClearAttentionRequest
	if dup, err := r.admit(raw, &req, req.Validate); err != nil || dup {
		return r.refusedOrDuplicate(dup, err)
	}
	if r.s.Attention == nil {
		return reply{}, refuse("the subscription does not need attention")
	}
	if dryRun {
		return reply{}, nil
	}
	r.seen(req.RequestID, false)
	r.mailbox.dirty = true
	r.event("attention_cleared", string(billing.RequesterAdmin), fmt.Sprintf("%s: %s", r.s.Attention.Kind, textfmt.Truncate(req.Note, 300)))
	r.publishAttention(billing.EventAttentionCleared, *r.s.Attention)
	r.s.Attention = nil
	return answered(r.receipt("attention cleared")), nil
}

// park flags the subscription for a person (state, audit trail, the NeedsAttention search
// attribute). Billing goes on where it safely can; the flag stays until an operator clears it.
func (r *runner) park(kind, finding, detail string) {
	detail = textfmt.Truncate(detail, 500)
	r.log.Warn("subscription needs attention", "kind", kind, "finding", finding)
	r.event("needs_attention", "", strings.TrimSpace(kind+" "+finding+": "+detail))
	if r.s.Attention == nil {
		r.s.Attention = &billing.Attention{Kind: kind, Finding: finding, Detail: detail, MarkedAt: r.now()}
		r.publishAttention(billing.EventNeedsAttention, *r.s.Attention)
	}
}

// unknownSignals reports whether signals of names the workflow does not handle are waiting.
func (r *runner) unknownSignals() bool {
	if !r.features.behaviour {
		return false
	}
	for _, name := range workflow.GetUnhandledSignalNames(r.ctx) {
		if !slices.Contains(signalNames, name) {
			return true
		}
	}
	return false
}

// refuseUnknownSignals records every waiting signal of an unknown name (a misspelt "cancell")
// as refused, so the sender finds its mistake in the audit trail and the worker's log, instead
// of the signal vanishing.
func (r *runner) refuseUnknownSignals() {
	if !r.features.behaviour {
		return
	}
	for _, name := range workflow.GetUnhandledSignalNames(r.ctx) {
		if slices.Contains(signalNames, name) {
			continue
		}
		ch := workflow.GetSignalChannel(r.ctx, name)
		for {
			var raw json.RawMessage
			if !ch.ReceiveAsync(&raw) {
				break
			}
			r.log.Warn("unknown signal refused", "signal", textfmt.Truncate(name, 60))
			r.event("refused", "", billing.UnknownSignalDetail(name, signalNames))
			r.mailbox.dirty = true
		}
	}
}
