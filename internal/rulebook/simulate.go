package rulebook

import (
	"slices"
	"sort"
	"time"
)

// dunningState is an unpaid cycle's dunning.
type dunningState struct {
	cycle       int
	dueAt       time.Time
	graceEnd    time.Time
	retriesUsed int
	nextRetry   time.Time
	hard        bool
	// held: the next retry is an attempt the ceiling withheld, made late (it consumes no policy
	// retry); heldAmount is the amount of a cycle's first charge withheld.
	held       bool
	heldAmount int64
}

// pauseState is a pause asked for (pending: at period end) or in force.
type pauseState struct {
	pending  bool
	resumeAt time.Time
}

// sim is the state of one simulated subscription.
type sim struct {
	tl          Timeline
	now         time.Time
	plan        Plan
	pendingPlan *Plan
	policy      policy
	cal         schedule
	nextIndex   int
	cycle       int
	current     *span
	paidThrough time.Time
	nextCharge  time.Time
	// credit is KRW owed to the customer for unused paid days given back, taken off the next
	// charges; creditFrom is the cycle whose payment it is drawn from.
	credit     int64
	creditFrom int
	// cyclePrice is the plan price of the latest cycle begun, paidPrice that of the latest cycle
	// paid: a charge at a price above paidPrice is a rise (consent.go).
	cyclePrice int64
	paidPrice  int64
	status     Status
	customer   string
	keys       map[string]bool // registered and usable
	dunning    *dunningState
	cancelAt   *Cancel // pending cancel at period end
	pause      *pauseState
	res        Result
	// during holds the messages sent while an attempt was in flight, by attempt.
	during map[Attempt][]int
	// afterSettle delivers them once the attempt settled.
	afterSettle func()
	// attempts is the ceiling's log of attempts on the card (ceilings.go); parked says the
	// subscription was parked for a person (needs_attention).
	attempts []cardAttempt
	parked   bool
	// trialEnd is when a free trial ends (zero: none running); freeTrial says the subscription
	// began with one (its first price is a rise from 0).
	trialEnd  time.Time
	freeTrial bool
	// firstAtAnchor is first_charge "anchor", until an end_trial asks to pay now.
	firstAtAnchor bool
	// consent is the consent on record for the coming rise (consent.go).
	consent *consentRec
	// given is the credit each cycle gave back (Result.Periods' CreditGiven).
	given map[int]int64
	// sources are the credits the cycles' periods took, by cycle (refund.go walks them).
	sources map[int]creditSource
	// unmade are the attempts of immediate upgrades that were not paid: the plan stayed, and the
	// cycle number they used is the next regular cycle's, whose retries ask for its own amount.
	unmade map[Attempt]bool
	// inFlight are messages that arrived at the instant of a due action (DueFirst), waiting
	// for that instant's charge.
	inFlight []int
}

// clone copies the state that decides whether a message is admitted.
func (s *sim) clone() *sim {
	c := *s
	c.keys = map[string]bool{}
	for k, v := range s.keys {
		c.keys[k] = v
	}
	c.res.Charges = slices.Clone(s.res.Charges)
	c.attempts = slices.Clone(s.attempts)
	c.res.Refunds = slices.Clone(s.res.Refunds)
	c.res.Refused = nil
	c.res.Periods = map[int]CyclePeriod{}
	if s.dunning != nil {
		d := *s.dunning
		c.dunning = &d
	}
	if s.pause != nil {
		p := *s.pause
		c.pause = &p
	}
	if s.consent != nil {
		k := *s.consent
		c.consent = &k
	}
	c.during, c.afterSettle, c.inFlight = map[Attempt][]int{}, nil, nil
	c.given = map[int]int64{}
	c.sources = map[int]creditSource{}
	for k, v := range s.sources {
		c.sources[k] = v
	}
	c.unmade = map[Attempt]bool{}
	for k, v := range s.unmade {
		c.unmade[k] = v
	}
	return &c
}

// Run computes what the rules say for tl.
func Run(tl Timeline) Result {
	plan, pol := withDefaults(tl.Input)
	s := &sim{tl: tl, now: tl.Start, plan: plan, policy: pol, customer: tl.Input.Customer, keys: map[string]bool{}, unmade: map[Attempt]bool{},
		given: map[int]int64{}, sources: map[int]creditSource{}}
	s.res.Periods = map[int]CyclePeriod{}
	s.firstAtAnchor = tl.Input.FirstChargeAtAnchor
	for _, k := range tl.Keys {
		s.keys[k] = true
	}
	s.during = map[Attempt][]int{}
	var timed []int
	for i, m := range tl.Messages {
		if m.During != nil {
			s.during[*m.During] = append(s.during[*m.During], i)
		} else {
			timed = append(timed, i)
		}
	}
	sort.SliceStable(timed, func(a, b int) bool { return tl.Messages[timed[a]].At.Before(tl.Messages[timed[b]].At) })
	s.startBilling()
	s.updateConsent()
	var steppedAt time.Time // the instant of the last due action
	for guard := 0; guard < 100000 && !s.status.ended(); guard++ {
		due, ok := s.nextDue()
		// Messages before the next due instant come first; at the same instant the message is
		// handled first too, or (DueFirst) meets the due action in flight.
		if len(timed) > 0 && (!ok || tl.Messages[timed[0]].At.Before(due) || !tl.Messages[timed[0]].At.After(s.now) ||
			(tl.Messages[timed[0]].At.Equal(due) && (!tl.DueFirst || steppedAt.Equal(due)))) {
			i := timed[0]
			timed = timed[1:]
			s.now = later(s.now, tl.Messages[i].At)
			s.message(i, tl.Messages[i])
			s.updateConsent()
			continue
		}
		if !ok || due.After(tl.End) {
			break
		}
		s.now = later(s.now, due)
		if tl.DueFirst {
			// The messages of this very instant arrive while its first charge is in flight.
			for len(timed) > 0 && tl.Messages[timed[0]].At.Equal(due) {
				s.inFlight = append(s.inFlight, timed[0])
				timed = timed[1:]
			}
		}
		s.step()
		steppedAt = due
		// When no charge at this instant met them, they are handled after its due actions.
		if next, more := s.nextDue(); len(s.inFlight) > 0 && (!more || next.After(s.tl.Messages[s.inFlight[0]].At) || s.status.ended()) {
			pending := s.inFlight
			s.inFlight = nil
			for _, i := range pending {
				s.message(i, tl.Messages[i])
				// As after any message: a rise it made known opens its window now, before a
				// later pause would hide it (seed 900024899).
				s.updateConsent()
			}
		}
	}
	// Whatever arrives after the end is refused (the subscription has ended).
	for _, i := range timed {
		if s.status.ended() {
			s.res.Refused = append(s.res.Refused, i)
		}
	}
	for c, g := range s.given {
		if p, ok := s.res.Periods[c]; ok {
			p.CreditGiven = g
			s.res.Periods[c] = p
		}
	}
	s.res.Status = s.status
	return s.res
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// startBilling begins a subscription whose key is registered: charged now (pro rata up to the
// anchor day when the anchor is not today), or first on the first anchor date.
func (s *sim) startBilling() {
	if s.plan.TrialDays > 0 {
		s.startTrial()
		return
	}
	s.status = Active
	s.startCalendar()
}

// startCalendar makes the charge calendar from today (a sign-up, a trial's end) and charges
// now, pro rata up to the anchor, or first on the first anchor date.
func (s *sim) startCalendar() {
	today := DateOf(s.now)
	anchor, first := 0, today
	if s.plan.Unit == Month || s.plan.Unit == Year {
		anchor = today.Day
		if s.plan.AnchorDay != 0 {
			anchor, first = s.plan.AnchorDay, firstAnchorDate(today, s.plan.AnchorDay)
		}
	}
	s.cal = newSchedule(s.plan, first, anchor, s.now)
	switch {
	case s.firstAtAnchor:
		s.nextCharge = s.cal.at(0)
	case first == today:
		s.nextCharge = s.now
	default:
		// Sign-up before the anchor day: the stub up to the anchor, pro rata, now. The stub is
		// part of the full period that ends the day before the first anchor date.
		s.nextCharge = s.cal.at(0)
		full := s.cal.period(-1)
		stub := span{cycle: s.cycle + 1, start: s.now, end: s.cal.at(0), first: today, last: first.AddDays(-1), stub: true}
		s.partial(stub, stubAmount(s.plan.price(s.cycle+1), today, first, full), full.days())
	}
}

// nextDue is the next instant at which the subscription acts by itself: a due action, or a
// consent window opening.
func (s *sim) nextDue() (time.Time, bool) {
	due, ok := s.dueAction()
	if opens := s.consentOpensAt(); s.consentLive() && opens.After(s.now) && (!ok || opens.Before(due)) {
		return opens, true
	}
	return due, ok
}

// dueAction is the next instant at which the subscription charges, retries, ends or resumes.
func (s *sim) dueAction() (time.Time, bool) {
	switch s.status {
	case Paused:
		if s.pause != nil && !s.pause.resumeAt.IsZero() {
			return s.pause.resumeAt, true
		}
	case PastDue, PaymentMethodRequired:
		if d := s.dunning; d != nil {
			if !d.nextRetry.IsZero() {
				return d.nextRetry, true
			}
			return d.graceEnd, true
		}
	case Active:
		if !s.nextCharge.IsZero() {
			return s.nextCharge, true
		}
	}
	return time.Time{}, false
}

// step does what is due now.
func (s *sim) step() {
	s.updateConsent()
	if due, ok := s.dueAction(); !ok || due.After(s.now) {
		return // only a consent window opened
	}
	switch s.status {
	case Paused:
		s.resume(Keep)
	case PastDue, PaymentMethodRequired:
		d := s.dunning
		if !d.nextRetry.IsZero() {
			if !d.held {
				d.retriesUsed++
			}
			s.retry()
			return
		}
		s.finalAction()
	case Active:
		switch {
		case s.cancelAt != nil:
			s.cancelNow(*s.cancelAt)
		case s.pause != nil && s.pause.pending:
			s.pause.pending = false
			s.nextCharge = time.Time{}
			s.status = Paused
		case !s.trialEnd.IsZero():
			s.endTrial()
		default:
			s.beginCycle()
		}
	}
}

func (s *sim) applyPendingPlan() {
	if s.pendingPlan != nil {
		s.plan, s.pendingPlan = *s.pendingPlan, nil
	}
}

// beginCycle charges the next period of the calendar, less any restart credit.
func (s *sim) beginCycle() {
	if s.endsForNoConsent() {
		return
	}
	s.applyPendingPlan()
	idx := s.nextIndex
	per := s.cal.period(idx)
	per.cycle = s.cycle + 1
	if s.now.Before(per.start) {
		per.start = s.now // charged before the day's charge time: service starts now
	}
	s.nextIndex = idx + 1
	s.nextCharge = s.cal.at(idx + 1)
	amount := s.plan.price(per.cycle)
	if s.credit > 0 {
		// What this charge cannot take is kept for the next ones, never dropped.
		applied := min(s.credit, amount)
		per.credit, per.creditFrom = applied, s.creditFrom
		s.credit -= applied
		if s.credit == 0 {
			s.creditFrom = 0
		}
		s.partial(per, amount-applied, per.days())
		return
	}
	s.begin(per, per.days())
	s.chargeCycle(per, amount)
}

// begin makes per the current cycle, billed at the plan's price; fullDays is the length of the
// full period it is (part of).
func (s *sim) begin(per span, fullDays int) {
	s.cycle = per.cycle
	s.current = &per
	s.cyclePrice = s.plan.price(per.cycle)
	s.sources[per.cycle] = creditSource{amount: per.credit, from: per.creditFrom}
	if !s.plan.Unit.short() {
		s.res.Periods[per.cycle] = CyclePeriod{Cycle: per.cycle, First: per.first, Last: per.last, Price: s.plan.price(per.cycle), FullDays: fullDays,
			Credit: per.credit, CreditFrom: per.creditFrom}
	}
}

// partial charges a prorated period, or records it covered but unpaid below the minimum.
func (s *sim) partial(per span, amount int64, fullDays int) {
	s.begin(per, fullDays)
	if amount < s.plan.minimum() {
		s.paidThrough = per.end
		return
	}
	s.chargeCycle(per, amount)
}

func (s *sim) nextAttempt(cycle int) int {
	n := 1
	for _, c := range s.res.Charges {
		if c.Cycle == cycle && c.Attempt >= n {
			n = c.Attempt + 1
		}
	}
	return n
}

// charge makes the next attempt of a cycle and returns its outcome.
func (s *sim) charge(per span, amount int64) Outcome {
	a := Attempt{Cycle: per.cycle, Attempt: s.nextAttempt(per.cycle)}
	c := Charge{At: s.now, Cycle: a.Cycle, Attempt: a.Attempt, Customer: s.customer, Amount: amount, TaxFree: chargeTaxFree(s.plan, amount)}
	ans := s.tl.Answers[a]
	if ans == UnknownPaid || ans == UnknownAbsent {
		// The answer is lost: the activity tries again after its first retry interval, and the
		// charge is in flight until then (messages arriving meanwhile are handled after it).
		if ans == UnknownAbsent {
			c.At = s.now.Add(ActivityRetryInterval) // nothing was charged the first time
		}
		s.now = s.now.Add(ActivityRetryInterval)
	}
	if s.plan.UseCfmPeriodEnd {
		// The period's last day, but never before the payment day (NaverPay refuses that).
		last := per.last
		if today := DateOf(c.At); today.After(last) {
			last = today
		}
		c.NaverUseCfm = last.yyyymmdd()
	}
	switch {
	case !s.keys[s.customer]:
		c.Outcome = OutcomeDeclinedHard
	case ans == SoftDecline:
		c.Outcome = OutcomeDeclined
	case ans == HardDecline:
		c.Outcome = OutcomeDeclinedHard
		delete(s.keys, s.customer) // PortOne marks the key unusable
	default:
		c.Outcome = OutcomePaid
	}
	s.logAttempt(c)
	s.res.Charges = append(s.res.Charges, c)
	// Messages that met this charge in flight: those of the due instant, then those sent
	// during it. They are admitted (or refused) on arrival against the state before the charge;
	// what they ask is done at arrival for the messages that only record something, and after
	// the charge settled for the others (see inFlight).
	early, before := s.inFlight, s.clone()
	if s.tl.AfterSettle {
		early = nil // they arrive once this charge settled, after the due action
	} else {
		s.inFlight = nil
	}
	s.afterSettle = func() { s.settleInFlight(append(early, s.during[a]...), before); delete(s.during, a) }
	return c.Outcome
}

// flushInFlight handles the messages that met the attempt just settled.
func (s *sim) flushInFlight() {
	if f := s.afterSettle; f != nil {
		s.afterSettle = nil
		f()
	}
}

// settle moves the subscription on after an attempt: paid, or into dunning.
func (s *sim) settle(per span, outcome Outcome) {
	defer s.flushInFlight()
	switch outcome {
	case OutcomePaid:
		s.paidThrough = per.end
		s.paidPrice = s.cyclePrice
		s.dunning = nil
		s.status = Active
	case OutcomeDeclinedHard:
		d := s.dunningFor(per)
		d.hard = true
		d.nextRetry = time.Time{}
		s.status = PaymentMethodRequired
	default:
		d := s.dunningFor(per)
		d.hard = false
		s.scheduleRetry(d)
		s.status = PastDue
	}
}

// cancelNow ends the subscription, refunding the current period as asked and the credit still
// pending (an unpaid cycle's credit included) in any case (refund.go).
func (s *sim) cancelNow(req Cancel) {
	s.returnUnpaidCredit()
	if req.Refund != "" && req.Refund != RefundNone && s.current != nil {
		s.refundPeriod(req.Refund)
	}
	s.refundPendingCredit()
	s.cancelAt, s.pause, s.dunning = nil, nil, nil
	s.status = Canceled
	s.res.EndedAt = s.now
	s.nextCharge = time.Time{}
}

func (s *sim) paidCharge(cycle int) *Charge {
	for i := len(s.res.Charges) - 1; i >= 0; i-- {
		if c := &s.res.Charges[i]; c.Cycle == cycle && c.Outcome == OutcomePaid {
			return c
		}
	}
	return nil
}

func (s *sim) refunded(cycle int) (amount, taxFree int64) {
	for _, f := range s.res.Refunds {
		if f.Cycle == cycle {
			amount += f.Amount
			taxFree += f.TaxFree
		}
	}
	return amount, taxFree
}
