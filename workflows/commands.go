package workflows

import (
	"encoding/json"

	"github.com/paycycle/paycycle/billing"
)

// messageTable is every message the subscription workflow reads, in the order registerHandlers
// installs them (the order is part of recorded histories: it is the order in which signals that
// arrive together are handled). From it come the signal names (signalNames: what is not on it
// is an unknown signal, refused with a suggestion from it), the update names with their
// validators and descriptions, and the README's message table (TestREADMEMessageTable).
//
// A command is a signal and an update of the same name and payload: apply validates it
// (dryRun, the update's validator) and applies it. A signal-only message (signalOnly) is one the
// edge sends after verifying a callback; it has no update, and receive handles it.
var messageTable = []messageSpec{
	{name: billing.MsgCancel, apply: (*runner).onCancel},
	{name: billing.MsgUndoCancel, apply: (*runner).onUndoCancel},
	{name: billing.MsgPause, apply: (*runner).onPause},
	{name: billing.MsgResume, apply: (*runner).onResume},
	{name: billing.MsgChangePlan, apply: (*runner).onChangePlan},
	{name: billing.MsgReplaceBillingKey, apply: (*runner).onReplaceBillingKey},
	{name: billing.MsgChargeNow, apply: (*runner).onChargeNow},
	{name: billing.MsgMarkAttention, apply: (*runner).onMarkAttention, handled: behaviourRuns},
	{name: billing.MsgClearAttention, apply: (*runner).onClearAttention, handled: behaviourRuns},
	{name: billing.MsgConsent, apply: (*runner).onConsent, handled: consentGateRuns},
	{name: billing.MsgEndTrial, apply: (*runner).onEndTrial, handled: consentGateRuns},
	{name: billing.SignalRegistered, signalOnly: true, receive: (*runner).onRegistered},
	{name: billing.SignalRegistrationFailed, signalOnly: true, receive: (*runner).onRegistrationFailed},
	{name: billing.SignalPaymentNotification, signalOnly: true, receive: (*runner).onPaymentNotification},
}

// messageSpec is one row of messageTable.
type messageSpec struct {
	name string
	// signalOnly is true for a message that exists only as a signal, sent by the edge.
	signalOnly bool
	// handled says which runs handle the message (nil: every run). A run that does not keeps it
	// waiting unread, as the runs recorded before the message existed did.
	handled func(features) bool
	// apply is a command's handler: it validates the payload against the state and, unless
	// dryRun, applies it.
	apply func(r *runner, raw json.RawMessage, dryRun bool) (reply, error)
	// receive is a signal-only message's handler.
	receive func(r *runner, raw json.RawMessage)
}

func behaviourRuns(f features) bool   { return f.behaviour }
func consentGateRuns(f features) bool { return f.consentGate }

// signalNames are every signal the subscription workflow reads (every message is a signal).
// Anything else that arrives (a misspelt "cancell") is accepted by Temporal and would vanish
// unread; the workflow records it as refused (refuseUnknownSignals).
var signalNames = func() []string {
	names := make([]string, len(messageTable))
	for i, m := range messageTable {
		names[i] = m.name
	}
	return names
}()

// updateNames are the messages that exist as updates too.
var updateNames = func() []string {
	var names []string
	for _, m := range messageTable {
		if !m.signalOnly {
			names = append(names, m.name)
		}
	}
	return names
}()
