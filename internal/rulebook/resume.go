package rulebook

import "time"

// pauseNow stops billing at once until resumed (at resumeAt when set).
func (s *sim) pauseNow(resumeAt time.Time) {
	s.pause = &pauseState{resumeAt: resumeAt}
	s.nextCharge = time.Time{}
	s.status = Paused
}

// resume ends a pause, by the README's resume rules.
func (s *sim) resume(anchor string) {
	s.pause = nil
	s.status = Active
	if anchor == Restart {
		s.restart()
		return
	}
	s.resumeKeep()
}

// restart makes today the anchor and charges a full cycle now, less the unused paid days of the
// paused period. The restart day belongs to the new period, which is charged that day, so the
// paused period gives it back: the credit is its share from the restart day on (that day
// included) of what it is worth (its paid charge plus any credit taken off it), by the floor
// rule, less what was refunded of it. The credit adds to any credit still waiting and is taken
// off the next charges (beginCycle); it is drawn from the paused period's payment, or, when the
// period was paid by credit alone, from the payment that credit came from.
func (s *sim) restart() {
	if s.current != nil && s.now.Before(s.paidThrough) {
		worth, from, refunded := s.current.credit, s.current.creditFrom, int64(0)
		if paid := s.paidCharge(s.current.cycle); paid != nil {
			worth += paid.Amount
			refunded, _ = s.refunded(paid.Cycle)
			from = paid.Cycle
		}
		if credit := max(0, shareFrom(worth, *s.current, s.plan.Unit, s.now)-refunded); worth > 0 && credit > 0 {
			s.credit += credit
			s.creditFrom = from
			s.given[s.current.cycle] += credit
		}
	}
	today := DateOf(s.now)
	anchor := 0
	if s.plan.Unit == Month || s.plan.Unit == Year {
		anchor = today.Day
	}
	s.cal = newSchedule(s.plan, today, anchor, s.now)
	s.nextIndex, s.nextCharge = 0, s.now
}

// resumeKeep goes on where billing stopped: inside a period already billed, at the next anchor;
// exactly on an anchor instant, that cycle in full now; inside a period nobody paid, its rest
// (today through the day before the next anchor) pro rata now, then at the anchor.
func (s *sim) resumeKeep() {
	i := s.cal.indexAt(s.now)
	if s.now.Before(s.paidThrough) || i < s.nextIndex {
		s.nextCharge = s.cal.at(s.nextIndex)
		return
	}
	if s.cal.at(i).Equal(s.now) {
		s.nextIndex, s.nextCharge = i, s.now
		return
	}
	s.nextIndex, s.nextCharge = i+1, s.cal.at(i+1)
	today, next := DateOf(s.now), s.cal.date(i+1)
	if !today.Before(next) {
		return // demo units: billed from the next boundary
	}
	if s.endsForNoConsent() {
		return
	}
	s.applyPendingPlan()
	full := s.cal.period(i)
	rest := span{cycle: s.cycle + 1, start: s.now, end: s.cal.at(i + 1), first: today, last: next.AddDays(-1), stub: true}
	s.partial(rest, stubAmount(s.plan.price(s.cycle+1), today, next, full), full.days())
}
