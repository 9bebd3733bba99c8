package workflows

import (
	"slices"

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

// enqueue records an intent and returns the token its update handler waits on.
func (r *runner) enqueue(in intent) int {
	in.token = r.newToken()
	r.intents = append(r.intents, in)
	return in.token
}

// queued reports whether an intent of kind is waiting.
func (r *runner) queued(kind intentKind) bool {
	return slices.ContainsFunc(r.intents, func(in intent) bool { return in.kind == kind })
}

// nextIntent is the index of the intent the loop carries out next: the highest priority, first
// come first served within a kind.
func (r *runner) nextIntent() (int, bool) {
	best := -1
	for i, in := range r.intents {
		if best < 0 || in.kind < r.intents[best].kind {
			best = i
		}
	}
	return best, best >= 0
}

func (r *runner) dropIntent(i int) { r.intents = slices.Delete(r.intents, i, i+1) }

// carryOut does intent i and answers its update. An intent whose step failed on an activity
// stays queued (with what it decided so far), so that the loop tries it again later.
func (r *runner) carryOut(i int) (refused bool, err error) {
	in := &r.intents[i]
	token := in.token
	switch in.kind {
	case intentCancel:
		receipt, err := r.applyCancel(&in.cancel)
		if err != nil {
			return false, err
		}
		r.dropIntent(i)
		r.answer(token, receipt, nil)
	case intentReplaceKey:
		receipt, refusal, err := r.applyReplaceKey(in.replace)
		if err != nil {
			return false, err
		}
		r.dropIntent(i)
		r.answer(token, receipt, refusal)
		return refusal != nil, nil
	case intentPause:
		req := in.pause
		r.dropIntent(i)
		r.answer(token, r.applyPauseNow(req), nil)
	case intentResume:
		req := in.resume
		r.dropIntent(i)
		receipt, err := r.applyResume(req)
		r.answer(token, receipt, err)
	case intentChargeNow:
		r.dropIntent(i)
		receipt, refusal, err := r.applyChargeNow()
		r.answer(token, receipt, refusal)
		return refusal != nil, err
	case intentChangeNow:
		receipt, refusal, err := r.applyChangeNow(in.change)
		if err != nil {
			return false, err
		}
		r.dropIntent(i)
		r.answer(token, receipt, refusal)
		return refusal != nil, nil
	}
	return false, nil
}

// refuseQueued answers every intent still waiting when the subscription ends, so that no
// update is left unanswered and the run can close.
func (r *runner) refuseQueued() {
	err := refuse("the subscription has ended (%s) before this command could be carried out", r.s.Status)
	for _, in := range r.intents {
		if in.kind == intentCancel {
			r.answer(in.token, billing.Receipt{Message: "subscription already " + string(r.s.Status)}, nil)
			continue
		}
		r.answer(in.token, billing.Receipt{}, err)
	}
	r.intents = nil
}
