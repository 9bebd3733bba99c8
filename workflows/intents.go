package workflows

import (
	"github.com/paycycle/paycycle/billing"
)

// Intents: commands that a message handler admits and the main loop carries out at a safe point
// (never in the middle of a charge). A new command is one kind here, one case in carryOut, and
// its handler's enqueue call.

// intentKind is what an intent asks for. The order of the constants is the loop's priority: a
// cancel comes before anything else, then a new billing key, then pause, resume and charge now.
type intentKind int

const (
	intentCancel intentKind = iota
	intentReplaceKey
	intentPause
	intentResume
	intentChargeNow
	intentChangeNow
)

// intent is one admitted command waiting for the loop, with the token its update waits on.
type intent struct {
	kind    intentKind
	token   int
	cancel  billing.CancelRequest
	replace billing.ReplaceBillingKeyRequest
	pause   billing.PauseRequest
	resume  billing.ResumeRequest
	change  billing.ChangePlanRequest
}

// carryOut does intent i and answers its update. An intent whose step failed on an activity
// stays queued (with what it decided so far), so that the loop tries it again later.
func (r *runner) carryOut(i int) (refused bool, err error) {
	in := &r.mailbox.intents[i]
	token := in.token
	switch in.kind {
	case intentCancel:
		receipt, err := r.applyCancel(&in.cancel)
		if err != nil {
			return false, err
		}
		r.mailbox.dropIntent(i)
		r.answer(token, receipt, nil)
	case intentReplaceKey:
		receipt, refusal, err := r.applyReplaceKey(in.replace)
		if err != nil {
			return false, err
		}
		r.mailbox.dropIntent(i)
		r.answer(token, receipt, refusal)
		return refusal != nil, nil
	case intentPause:
		req := in.pause
		r.mailbox.dropIntent(i)
		r.answer(token, r.applyPauseNow(req), nil)
	case intentResume:
		req := in.resume
		r.mailbox.dropIntent(i)
		receipt, err := r.applyResume(req)
		r.answer(token, receipt, err)
	case intentChargeNow:
		r.mailbox.dropIntent(i)
		receipt, refusal, err := r.applyChargeNow()
		r.answer(token, receipt, refusal)
		return refusal != nil, err
	case intentChangeNow:
		receipt, refusal, err := r.applyChangeNow(in.change)
		if err != nil {
			return false, err
		}
		r.mailbox.dropIntent(i)
		r.answer(token, receipt, refusal)
		return refusal != nil, nil
	}
	return false, nil
}

// refuseQueued answers every intent still waiting when the subscription ends, so that no
// update is left unanswered and the run can close.
func (r *runner) refuseQueued() {
	err := refuse("the subscription has ended (%s) before this command could be carried out", r.s.Status)
	for _, in := range r.mailbox.intents {
		if in.kind == intentCancel {
			r.answer(in.token, billing.Receipt{Message: "subscription already " + string(r.s.Status)}, nil)
			continue
		}
		r.answer(in.token, billing.Receipt{}, err)
	}
	r.mailbox.intents = nil
}
