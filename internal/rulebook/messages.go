package rulebook

import "sort"

// messageRule is everything the rules say about one message. A new message is one rule in
// messageRules, its functions in the file of its concern.
type messageRule struct {
	// malformed names the faulty field of a payload refused whatever the state, or "" (validity.go).
	malformed func(m Message, base Plan) string
	// refused reports that there is nothing for a well-formed message to act on (validity.go).
	refused func(s *sim, m Message) bool
	// apply does what an accepted message asks.
	apply func(s *sim, m Message)
	// attempt, when set, is apply for a message that may still fail once admitted (an immediate
	// plan change whose charge is not paid): it reports whether it was carried out.
	attempt func(s *sim, m Message) bool
	// deferred reports whether the workflow carries the message out in its main loop, so that
	// one arriving while a charge is in flight waits for the charge to settle; the others take
	// effect on arrival. nil: never deferred.
	deferred func(s *sim, m Message) bool
	// carryOut does a deferred message once the charge settled, and reports whether it was
	// accepted then; order is its place in the main loop.
	carryOut func(s *sim, m Message) bool
	order    int
}

// messageRules are the messages of the README's table (set in init: replace_billing_key's
// carryOut admits the message again through accept, which reads the table).
var messageRules map[string]messageRule

func init() {
	messageRules = map[string]messageRule{
		MsgCancel: {malformed: cancelProblem, refused: never, apply: applyCancel, order: 0,
			deferred: func(s *sim, m Message) bool { return m.Cancel.When == Now || s.status == Paused },
			carryOut: func(s *sim, m Message) bool { s.cancelNow(*m.Cancel); return true }},
		MsgUndoCancel: {malformed: undoProblem, refused: nothingToUndo,
			apply: func(s *sim, _ Message) { s.cancelAt = nil }},
		MsgPause: {malformed: pauseProblem, refused: cannotPause, apply: applyPause, order: 2,
			deferred: func(_ *sim, m Message) bool { return m.Pause.When == Now },
			carryOut: func(s *sim, m Message) bool {
				if s.status == Active {
					s.pauseNow(m.Pause.ResumeAt)
				}
				return true
			}},
		MsgResume: {malformed: resumeProblem, refused: nothingToResume, apply: applyResume, order: 3,
			deferred: func(s *sim, _ Message) bool { return s.status == Paused },
			carryOut: func(s *sim, m Message) bool {
				if s.status == Paused {
					s.resume(m.Resume.Anchor)
				}
				return true
			}},
		MsgChangePlan: {malformed: changePlanProblem, refused: cannotChangeNow, order: 5,
			apply:    func(s *sim, m Message) { p := applyChange(s.base(), *m.ChangePlan); s.pendingPlan = &p }, // from the next cycle
			attempt:  attemptChangePlan,
			deferred: func(_ *sim, m Message) bool { return m.ChangePlan.When == Now },
			carryOut: func(s *sim, m Message) bool { return s.accept(m) }}, // admitted again once the charge settled
		MsgReplaceKey: {malformed: replaceKeyProblem, refused: keyNotRegistered, order: 1,
			apply:    func(s *sim, m Message) { s.replaceKey(*m.Replace) },
			deferred: func(*sim, Message) bool { return true },
			carryOut: func(s *sim, m Message) bool { return s.accept(m) }}, // verified again once the charge settled
		MsgConsent:  {malformed: consentProblem, refused: consentRefused, apply: applyConsent},
		MsgEndTrial: {malformed: endTrialProblem, refused: cannotEndTrial, apply: applyEndTrial},
		MsgChargeNow: {malformed: noPayload, refused: nothingDue, order: 4,
			apply:    func(s *sim, m Message) { chargeNow(s, m) },
			attempt:  chargeNow,
			deferred: func(*sim, Message) bool { return true },
			carryOut: func(s *sim, m Message) bool {
				if s.status == PastDue && s.dunning != nil {
					return chargeNow(s, m)
				}
				return true
			}},
	}
}

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

// baseFor is the plan a message's payload is checked against: an immediate change replaces a
// pending one, so it changes the plan in force; a change at period end changes the pending one.
func (s *sim) baseFor(m Message) Plan {
	if m.ChangePlan != nil && m.ChangePlan.When == Now {
		return s.plan
	}
	return s.base()
}

// accept applies m and reports whether the subscription accepted it: nothing is accepted after
// the end or under an unknown name, a malformed payload is refused whatever the state, and a
// well-formed one when there is nothing for it to act on.
func (s *sim) accept(m Message) bool {
	r, known := messageRules[m.Name]
	if !known || !s.admits(m) {
		return false
	}
	if r.attempt != nil {
		return r.attempt(s, m)
	}
	r.apply(s, m)
	return true
}

// admits reports whether the subscription admits m in its present state (without doing it).
func (s *sim) admits(m Message) bool {
	r, known := messageRules[m.Name]
	return !s.status.ended() && known && problem(r, m, s.baseFor(m)) == "" && !r.refused(s, m)
}

// deferred reports whether m, arriving now, waits for a charge in flight to settle.
func (s *sim) deferred(m Message) bool {
	r, known := messageRules[m.Name]
	return known && r.deferred != nil && problem(r, m, s.baseFor(m)) == "" && r.deferred(s, m)
}

// problem names the faulty field of a message refused whatever the state, or says "": a null
// payload for every message, then the message's own payload rules.
func problem(r messageRule, m Message, base Plan) string {
	if m.Null {
		return "payload"
	}
	return r.malformed(m, base)
}

// settleInFlight handles the messages that arrived while a charge was in flight, as the
// workflow does: each is admitted against the state it met (before), those that only record
// something (a cancel or pause at period end, a plan change, an undo, withdrawing a pending
// pause) take effect on arrival, and the others run once the charge settled, in the main loop's
// order (cancel, new key, pause, resume, charge now, change now); once the subscription has ended, the rest
// is refused.
func (s *sim) settleInFlight(msgs []int, before *sim) {
	var waiting []int
	for _, i := range msgs {
		m := s.tl.Messages[i]
		if before.deferred(m) {
			if !before.admits(m) {
				s.res.Refused = append(s.res.Refused, i)
				continue
			}
			waiting = append(waiting, i)
			continue
		}
		if !before.accept(m) {
			s.res.Refused = append(s.res.Refused, i)
			continue
		}
		messageRules[m.Name].apply(s, m)
	}
	sort.SliceStable(waiting, func(x, y int) bool {
		return messageRules[s.tl.Messages[waiting[x]].Name].order < messageRules[s.tl.Messages[waiting[y]].Name].order
	})
	for _, i := range waiting {
		m := s.tl.Messages[i]
		if s.status.ended() || !messageRules[m.Name].carryOut(s, m) {
			s.res.Refused = append(s.res.Refused, i)
		}
	}
}

// applyCancel ends now (asked, or while paused) or at the period's end.
func applyCancel(s *sim, m Message) {
	req := *m.Cancel
	if req.When == Now || s.status == Paused {
		s.cancelNow(req)
	} else if s.cancelAt == nil {
		s.cancelAt = &req
	}
}

// applyPause pauses now or at the period's end.
func applyPause(s *sim, m Message) {
	if m.Pause.When == Now {
		s.pauseNow(m.Pause.ResumeAt)
	} else {
		s.pause = &pauseState{pending: true, resumeAt: m.Pause.ResumeAt}
	}
}

// applyResume withdraws a pause asked for the period's end, or ends the pause.
func applyResume(s *sim, m Message) {
	if s.status != Paused {
		s.pause = nil
	} else {
		s.resume(m.Resume.Anchor)
	}
}

// chargeNow retries the unpaid cycle at once, or is refused when the attempt ceiling forbids
// the attempt (nothing else changes: dunning goes on).
func chargeNow(s *sim, _ Message) bool {
	if _, hit := s.ceilingAt(s.dunning.cycle, s.now); hit {
		return false
	}
	s.retry()
	return true
}
