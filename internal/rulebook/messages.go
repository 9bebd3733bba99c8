package rulebook

import (
	"sort"
	"time"
)

// message applies message i, or records its refusal.
func (s *sim) message(i int, m Message) {
	if !s.accept(m) {
		s.res.Refused = append(s.res.Refused, i)
	}
}

// base is the plan a change_plan changes: the pending one when there is one.
func (s *sim) base() Plan {
	if s.pendingPlan != nil {
		return *s.pendingPlan
	}
	return s.plan
}

// accept applies m and reports whether the subscription accepted it: nothing is accepted after
// the end, a malformed payload is refused whatever the state (validity.go), and a well-formed
// one when there is nothing for it to act on.
func (s *sim) accept(m Message) bool {
	if s.status.ended() || payloadProblem(m, s.base()) != "" || s.refusedInState(m) {
		return false
	}
	switch m.Name {
	case MsgCancel:
		req := *m.Cancel
		if req.When == Now || s.status == Paused {
			s.cancelNow(req)
		} else if s.cancelAt == nil {
			s.cancelAt = &req
		}
	case MsgUndoCancel:
		s.cancelAt = nil
	case MsgPause:
		if m.Pause.When == Now {
			s.pauseNow(m.Pause.ResumeAt)
		} else {
			s.pause = &pauseState{pending: true, resumeAt: m.Pause.ResumeAt}
		}
	case MsgResume:
		if s.status != Paused {
			s.pause = nil // withdraws the pause asked for the period's end
		} else {
			s.resume(m.Resume.Anchor)
		}
	case MsgChangePlan:
		p := applyChange(s.base(), *m.ChangePlan)
		s.pendingPlan = &p // from the next cycle
	case MsgReplaceKey:
		s.replaceKey(*m.Replace)
	case MsgChargeNow:
		s.retry()
	}
	return true
}

// pauseNow stops billing at once until resumed (at resumeAt when set).
func (s *sim) pauseNow(resumeAt time.Time) {
	s.pause = &pauseState{resumeAt: resumeAt}
	s.nextCharge = time.Time{}
	s.status = Paused
}

// replaceKey switches to a verified key, deletes the old one unless told not to, and retries an
// unpaid cycle at once.
func (s *sim) replaceKey(req ReplaceKey) {
	old := s.customer
	s.customer = req.Customer
	if (req.DeleteOld == nil || *req.DeleteOld) && old != req.Customer {
		delete(s.keys, old)
	}
	if s.dunning != nil && (s.status == PastDue || s.status == PaymentMethodRequired) {
		s.dunning.hard = false
		s.status = PastDue
		s.retry()
	}
}

// isIntent reports whether the workflow carries m out in its main loop (rather than on arrival).
func (s *sim) isIntent(m Message) bool {
	switch m.Name {
	case MsgCancel:
		return m.Cancel != nil && (m.Cancel.When == Now || s.status == Paused)
	case MsgPause:
		return m.Pause != nil && m.Pause.When == Now
	case MsgResume:
		return s.status == Paused
	case MsgReplaceKey, MsgChargeNow:
		return true
	}
	return false
}

// record does what an admitted message that only records something asks.
func (s *sim) record(m Message) {
	switch m.Name {
	case MsgCancel:
		if s.cancelAt == nil {
			req := *m.Cancel
			s.cancelAt = &req
		}
	case MsgPause:
		s.pause = &pauseState{pending: true, resumeAt: m.Pause.ResumeAt}
	case MsgResume:
		s.pause = nil
	case MsgChangePlan:
		p := applyChange(s.base(), *m.ChangePlan)
		s.pendingPlan = &p
	case MsgUndoCancel:
		s.cancelAt = nil
	}
}

// intentOrder is the order in which the workflow's main loop carries out what waited for a
// charge in flight.
var intentOrder = map[string]int{MsgCancel: 0, MsgReplaceKey: 1, MsgPause: 2, MsgResume: 3, MsgChargeNow: 4}

// settleInFlight handles the messages that arrived while a charge was in flight, as the
// workflow does: each is admitted against the state it met (before), those that only record
// something (a cancel or pause at period end, a plan change, an undo, withdrawing a pending
// pause) take effect on arrival, and the commands the main loop carries out run once the charge
// settled, in the loop's order (cancel, new key, pause, resume, charge now); once the
// subscription has ended, the rest is refused.
func (s *sim) settleInFlight(msgs []int, before *sim) {
	var intents []int
	for _, i := range msgs {
		m := s.tl.Messages[i]
		intent := before.isIntent(m)
		if !before.accept(m) {
			s.res.Refused = append(s.res.Refused, i)
			continue
		}
		if intent {
			intents = append(intents, i)
		} else {
			s.record(m)
		}
	}
	sort.SliceStable(intents, func(x, y int) bool {
		return intentOrder[s.tl.Messages[intents[x]].Name] < intentOrder[s.tl.Messages[intents[y]].Name]
	})
	for _, i := range intents {
		m := s.tl.Messages[i]
		switch {
		case s.status.ended():
			s.res.Refused = append(s.res.Refused, i)
		case m.Name == MsgCancel:
			s.cancelNow(*m.Cancel)
		case m.Name == MsgReplaceKey:
			if !s.accept(m) {
				s.res.Refused = append(s.res.Refused, i)
			}
		case m.Name == MsgPause:
			if s.status == Active {
				s.pauseNow(m.Pause.ResumeAt)
			}
		case m.Name == MsgResume:
			if s.status == Paused {
				s.resume(m.Resume.Anchor)
			}
		case m.Name == MsgChargeNow:
			if s.status == PastDue && s.dunning != nil {
				s.retry()
			}
		}
	}
}
