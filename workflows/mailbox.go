package workflows

import (
	"encoding/json"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
)

// mailbox is what this run's messages left for the loop: the intents admitted and waiting, the
// registrations and webhook notifications received, the answers owed to update handlers (by
// token) and the signal receivers one coroutine serves. Handlers write to it and set dirty; the
// loop reads it at a safe point. It does not survive continue-as-new: the run continues only once
// every handler finished and no intent is queued.
type mailbox struct {
	// dirty is set by every message so that the main loop wakes up and looks again.
	dirty bool
	// intents are the admitted commands waiting for the main loop (intents.go).
	intents []intent
	// registrations are the registered signals waiting for the registration loop.
	registrations []billing.RegisteredSignal
	// notified are the merchant_uids PortOne's webhook said something about.
	notified map[string]bool
	// learned are verified notifications that may name the transactionId of a charge answered
	// by the approval alone, and mismatched the merchant_uids of such charges whose payment
	// holds another amount than the one asked, waiting for settlement (answeronly.go).
	learned    []billing.PaymentNotification
	mismatched []string
	// done holds the answers for update handlers waiting on the loop, by token.
	done      map[int]doneResult
	nextToken int
	// signalReceivers are the handlers that one coroutine serves (startSignalReceiver) in runs
	// that have features.oneReceiver.
	signalReceivers []signalReceiver
}

// doneResult is the loop's answer to one update.
type doneResult struct {
	receipt billing.Receipt
	err     error
}

func newMailbox() mailbox {
	return mailbox{notified: map[string]bool{}, done: map[int]doneResult{}}
}

// enqueue records an intent and returns the token its update handler waits on.
func (m *mailbox) enqueue(in intent) int {
	in.token = m.newToken()
	m.intents = append(m.intents, in)
	return in.token
}

// queued reports whether an intent of kind is waiting.
func (m *mailbox) queued(kind intentKind) bool {
	return slices.ContainsFunc(m.intents, func(in intent) bool { return in.kind == kind })
}

// nextIntent is the index of the intent the loop carries out next: the highest priority, first
// come first served within a kind.
func (m *mailbox) nextIntent() (int, bool) {
	best := -1
	for i, in := range m.intents {
		if best < 0 || in.kind < m.intents[best].kind {
			best = i
		}
	}
	return best, best >= 0
}

func (m *mailbox) dropIntent(i int) { m.intents = slices.Delete(m.intents, i, i+1) }

func (m *mailbox) newToken() int {
	m.nextToken++
	return m.nextToken
}

// post leaves the loop's answer for the update waiting on token.
func (m *mailbox) post(token int, receipt billing.Receipt, err error) {
	m.done[token] = doneResult{receipt: receipt, err: err}
}

// await is an update handler's wait for the loop's answer on token.
func (m *mailbox) await(ctx workflow.Context, token int) (billing.Receipt, error) {
	if err := workflow.Await(ctx, func() bool { _, ok := m.done[token]; return ok }); err != nil {
		return billing.Receipt{}, err
	}
	res := m.done[token]
	delete(m.done, token)
	return res.receipt, res.err
}

// signalReceiver is one signal name's channel and handler.
type signalReceiver struct {
	ch workflow.ReceiveChannel
	fn func(json.RawMessage)
}

// reply is a message handler's answer: a receipt now, or, when the handler queued an intent
// for the loop (later), the token on which the loop answers the waiting update.
type reply struct {
	receipt billing.Receipt
	later   bool
	token   int
}

// answered is a reply given at once (the zero reply: answered now with an empty receipt).
func answered(rc billing.Receipt) reply { return reply{receipt: rc} }

// queued is the reply of a handler that queued an intent: the loop answers on token.
func queued(token int) reply { return reply{later: true, token: token} }
