// Package rulebook is the executable specification of paycycle's billing rules: the README's
// calendar, money, dunning and message rules written as a plain simulation, with no Temporal,
// no activities and no PortOne. Given a subscription's input, the bank's answer to each charge
// attempt and a timeline of messages, Run says what must be charged (when, how much, with which
// tax_free and naverUseCfm), what must be refunded, which messages must be refused, and how the
// subscription ends. The randomized sweep in workflows/ runs the same timelines through the real
// workflow, the real activities and the PortOne emulator and compares the two.
//
// It covers again mode with calendar plans whose billing key is registered from the start; schedule
// mode, registration and demo (second/minute) plans are tested elsewhere.
package rulebook

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// Answer is how the bank answers one charge attempt.
type Answer string

// Bank answers. The two unknown answers end like paid: the charge activity looks the
// merchant_uid up before it charges again, so a lost answer is never a second charge.
const (
	Paid          Answer = "paid"
	SoftDecline   Answer = "soft"
	HardDecline   Answer = "hard"
	UnknownPaid   Answer = "unknown_then_paid"
	UnknownAbsent Answer = "unknown_then_absent"
)

// ActivityRetryInterval is the charge activity's first retry interval (workflows' write
// options): how long a charge whose answer was lost stays in flight.
const ActivityRetryInterval = 2 * time.Second

// Attempt names one charge attempt: the attempt-th try of a cycle.
type Attempt struct{ Cycle, Attempt int }

// Message is one command sent to the subscription at an instant. Exactly one payload is set,
// the one Name calls for (charge_now has none).
type Message struct {
	At time.Time
	// During, when set, delivers the message while that attempt's charge is in flight: it is
	// handled once the charge settled, at the same instant.
	During *Attempt
	// Update says the message is sent as an update (its refusal is an error the sender sees)
	// rather than a signal.
	Update     bool
	Name       string
	Cancel     *billing.CancelRequest
	Pause      *billing.PauseRequest
	Resume     *billing.ResumeRequest
	ChangePlan *billing.ChangePlanRequest
	Replace    *billing.ReplaceBillingKeyRequest
	Undo       *billing.UndoCancelRequest
}

// Timeline is one scenario.
type Timeline struct {
	// Start is the sign-up instant.
	Start time.Time
	// Input is the workflow input (normalized and valid).
	Input billing.SubscriptionInput
	// Keys are the billing keys registered at PortOne (Input.CustomerUID among them).
	Keys []string
	// Answers are the bank's answers by attempt; an attempt not listed is paid.
	Answers map[Attempt]Answer
	// Messages in time order.
	Messages []Message
	// End is when the scenario stops looking: the last message is expected to end it.
	End time.Time
	// DueFirst orders a message that arrives at exactly the instant something falls due after
	// the timer. The rules leave such a tie open: the message is not "before" the due time, and
	// the engine may deliver the timer and the message in one workflow task (the message is
	// handled first) or the timer first. Then the message arrives while that instant's charge is
	// in flight: it is admitted (or refused) against the state before the charge and carried
	// out once the charge settled, ahead of the messages sent during the charge; when the due
	// action makes no charge, it is handled after it. Run a timeline both ways to get the two
	// acceptable results.
	DueFirst bool
}

// Charge is one charge attempt the bank sees.
type Charge struct {
	At          time.Time
	Cycle       int
	Attempt     int
	Customer    string
	Amount      int64
	TaxFree     int64
	NaverUseCfm string
	Outcome     billing.Outcome
}

// Refund is one refund of a paid charge.
type Refund struct {
	At      time.Time
	Cycle   int
	Amount  int64
	TaxFree int64
}

// Result is what the rules say must happen.
type Result struct {
	Charges []Charge
	Refunds []Refund
	// Refused lists the indexes (into Timeline.Messages) of the messages the subscription must
	// refuse.
	Refused []int
	Status  billing.Status
	EndedAt time.Time
}

type period struct {
	cycle             int
	start, end        time.Time
	firstDay, lastDay calendar.Date
}

type dunning struct {
	cycle       int
	dueAt       time.Time
	graceEnd    time.Time
	retriesUsed int
	nextRetry   time.Time
	hard        bool
}

type pause struct {
	pending  bool
	resumeAt time.Time
}

// sim is the state of one simulated subscription.
type sim struct {
	tl          Timeline
	now         time.Time
	plan        billing.Plan
	pendingPlan *billing.Plan
	policy      billing.DunningPolicy
	rec         calendar.Recurrence
	nextIndex   int
	cycle       int
	current     *period
	paidThrough time.Time
	nextCharge  time.Time
	credit      int64
	// cyclePrice is the plan price of the latest cycle begun, paidPrice that of the latest cycle
	// paid: a charge at a price above paidPrice is a rise, which needs the customer's consent
	// (전자상거래법 §13⑥); the sweep never consents, so a rise ends the subscription instead.
	cyclePrice int64
	paidPrice  int64
	status     billing.Status
	customer   string
	keys       map[string]bool // registered and usable
	dunning    *dunning
	cancelAt   *billing.CancelRequest // pending cancel at period end
	pause      *pause
	res        Result
	// during holds the messages sent while an attempt was in flight, by attempt.
	during map[Attempt][]int
	// afterSettle delivers them once the attempt settled.
	afterSettle func()
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
	c.res.Refunds = slices.Clone(s.res.Refunds)
	c.res.Refused = nil
	if s.dunning != nil {
		d := *s.dunning
		c.dunning = &d
	}
	if s.pause != nil {
		p := *s.pause
		c.pause = &p
	}
	c.during, c.afterSettle, c.inFlight = map[Attempt][]int{}, nil, nil
	return &c
}

// Run computes what the rules say for tl.
func Run(tl Timeline) Result {
	in := tl.Input
	s := &sim{tl: tl, now: tl.Start, plan: in.Plan, policy: *in.Dunning, customer: in.CustomerUID, keys: map[string]bool{}}
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
	s.startBilling(in.FirstCharge)
	var steppedAt time.Time // the instant of the last due action
	for guard := 0; guard < 100000 && !s.status.Terminal(); guard++ {
		due, ok := s.nextDue()
		// Messages before the next due instant come first; at the same instant the message is
		// handled first too, or (DueFirst) meets the due action in flight.
		if len(timed) > 0 && (!ok || tl.Messages[timed[0]].At.Before(due) || !tl.Messages[timed[0]].At.After(s.now) ||
			(tl.Messages[timed[0]].At.Equal(due) && (!tl.DueFirst || steppedAt.Equal(due)))) {
			i := timed[0]
			timed = timed[1:]
			s.now = maxTime(s.now, tl.Messages[i].At)
			s.message(i, tl.Messages[i])
			continue
		}
		if !ok || due.After(tl.End) {
			break
		}
		s.now = maxTime(s.now, due)
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
		if next, more := s.nextDue(); len(s.inFlight) > 0 && (!more || next.After(s.tl.Messages[s.inFlight[0]].At) || s.status.Terminal()) {
			pending := s.inFlight
			s.inFlight = nil
			for _, i := range pending {
				s.message(i, tl.Messages[i])
			}
		}
	}
	// Whatever arrives after the end is refused (the subscription has ended).
	for _, i := range timed {
		if s.status.Terminal() {
			s.res.Refused = append(s.res.Refused, i)
		}
	}
	s.res.Status = s.status
	return s.res
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

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
	order := map[string]int{billing.MsgCancel: 0, billing.MsgReplaceBillingKey: 1, billing.MsgPause: 2, billing.MsgResume: 3, billing.MsgChargeNow: 4}
	sort.SliceStable(intents, func(x, y int) bool {
		return order[s.tl.Messages[intents[x]].Name] < order[s.tl.Messages[intents[y]].Name]
	})
	for _, i := range intents {
		m := s.tl.Messages[i]
		switch {
		case s.status.Terminal():
			s.res.Refused = append(s.res.Refused, i)
		case m.Name == billing.MsgCancel:
			req := *m.Cancel
			req.Normalize()
			s.cancelNow(req)
		case m.Name == billing.MsgReplaceBillingKey:
			if !s.accept(m) {
				s.res.Refused = append(s.res.Refused, i)
			}
		case m.Name == billing.MsgPause:
			if s.status == billing.StatusActive {
				s.pause = &pause{resumeAt: m.Pause.ResumeAt}
				s.nextCharge = time.Time{}
				s.status = billing.StatusPaused
			}
		case m.Name == billing.MsgResume:
			if s.status == billing.StatusPaused {
				req := *m.Resume
				req.Normalize()
				s.resume(req.Anchor)
			}
		case m.Name == billing.MsgChargeNow:
			if s.status == billing.StatusPastDue && s.dunning != nil {
				s.retry()
			}
		}
	}
}

// isIntent reports whether the workflow carries m out in its main loop (rather than on arrival).
func (s *sim) isIntent(m Message) bool {
	switch m.Name {
	case billing.MsgCancel:
		return m.Cancel.When == billing.Now || s.status == billing.StatusPaused
	case billing.MsgPause:
		return m.Pause.When == billing.Now
	case billing.MsgResume:
		return s.status == billing.StatusPaused
	case billing.MsgReplaceBillingKey, billing.MsgChargeNow:
		return true
	}
	return false
}

// record does what an admitted message that only records something asks.
func (s *sim) record(m Message) {
	switch m.Name {
	case billing.MsgCancel:
		if s.cancelAt == nil {
			req := *m.Cancel
			req.Normalize()
			s.cancelAt = &req
		}
	case billing.MsgPause:
		s.pause = &pause{pending: true, resumeAt: m.Pause.ResumeAt}
	case billing.MsgResume:
		s.pause = nil
	case billing.MsgChangePlan:
		base := s.plan
		if s.pendingPlan != nil {
			base = *s.pendingPlan
		}
		p := m.ChangePlan.Apply(base)
		s.pendingPlan = &p
	case billing.MsgUndoCancel:
		s.cancelAt = nil
	}
}

func (s *sim) startBilling(first billing.FirstCharge) {
	s.status = billing.StatusActive
	today := calendar.DateOf(s.now)
	tod, _ := calendar.ParseTimeOfDay(s.plan.ChargeTime)
	anchor := int(s.plan.AnchorDay)
	start := today
	if s.plan.Interval.Unit == calendar.Month || s.plan.Interval.Unit == calendar.Year {
		if anchor == 0 {
			anchor = today.Day
		} else {
			start = calendar.FirstAnchorDate(today, anchor)
		}
	} else {
		anchor = 0
	}
	rec, err := calendar.NewRecurrence(s.plan.Interval, start, anchor, tod)
	if err != nil {
		panic(fmt.Sprintf("rulebook: the timeline's plan has no calendar: %v", err))
	}
	s.rec = rec
	switch {
	case first == billing.FirstChargeAnchor:
		s.nextCharge = rec.ChargeAt(0)
	case start == today:
		s.nextCharge = s.now
	default:
		// Sign-up before the anchor day: the stub up to the anchor, pro rata, now.
		s.nextCharge = rec.ChargeAt(0)
		amount, _ := rec.FirstStubCharge(s.plan.Amount, today)
		s.partial(period{cycle: s.cycle + 1, start: s.now, end: rec.ChargeAt(0), firstDay: today, lastDay: start.AddDays(-1)}, amount)
	}
}

// nextDue is the next instant at which the subscription acts by itself.
func (s *sim) nextDue() (time.Time, bool) {
	switch s.status {
	case billing.StatusPaused:
		if s.pause != nil && !s.pause.resumeAt.IsZero() {
			return s.pause.resumeAt, true
		}
	case billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		if d := s.dunning; d != nil {
			if !d.nextRetry.IsZero() {
				return d.nextRetry, true
			}
			return d.graceEnd, true
		}
	case billing.StatusActive:
		if !s.nextCharge.IsZero() {
			return s.nextCharge, true
		}
	}
	return time.Time{}, false
}

// step does what is due now.
func (s *sim) step() {
	switch s.status {
	case billing.StatusPaused:
		s.resume(billing.ResumeKeepAnchor)
	case billing.StatusPastDue, billing.StatusPaymentMethodRequired:
		d := s.dunning
		if !d.nextRetry.IsZero() {
			d.retriesUsed++
			s.retry()
			return
		}
		s.finalAction()
	case billing.StatusActive:
		switch {
		case s.cancelAt != nil:
			s.cancelNow(*s.cancelAt)
		case s.pause != nil && s.pause.pending:
			s.pause.pending = false
			s.nextCharge = time.Time{}
			s.status = billing.StatusPaused
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

// rises reports whether charging at price would raise it above the last paid price.
func (s *sim) rises(price int64) bool { return s.paidPrice > 0 && price > s.paidPrice }

// nextPrice is the price the next cycle would be charged at.
func (s *sim) nextPrice() int64 {
	if s.pendingPlan != nil {
		return s.pendingPlan.Amount
	}
	return s.plan.Amount
}

// endForNoConsent ends the subscription where a rise without consent would have been charged.
func (s *sim) endForNoConsent() {
	s.cancelNow(billing.CancelRequest{When: billing.Now, Reason: billing.ReasonNoConsent, Refund: billing.RefundNone})
}

func (s *sim) beginCycle() {
	if s.rises(s.nextPrice()) {
		s.endForNoConsent()
		return
	}
	s.applyPendingPlan()
	idx := s.nextIndex
	p := s.rec.Period(idx)
	per := period{cycle: s.cycle + 1, start: p.Start, end: p.End, firstDay: p.FirstDay, lastDay: p.LastDay}
	if s.now.Before(per.start) {
		per.start = s.now // charged before the day's charge time: service starts now
	}
	s.nextIndex = idx + 1
	s.nextCharge = s.rec.ChargeAt(idx + 1)
	amount := s.plan.Amount
	if s.credit > 0 {
		amount -= min(s.credit, amount)
		s.credit = 0
		s.partial(per, amount)
		return
	}
	s.cycle = per.cycle
	s.current = &per
	s.cyclePrice = s.plan.Amount
	s.settle(per, s.charge(per, amount))
}

// partial charges a prorated period, or records it unpaid-but-covered below the minimum.
func (s *sim) partial(per period, amount int64) {
	s.cycle = per.cycle
	s.current = &per
	s.cyclePrice = s.plan.Amount
	if amount < billing.MinAmountKRW {
		s.paidThrough = per.end
		return
	}
	s.settle(per, s.charge(per, amount))
}

// taxFree is the tax-exempt part of a charge of amount on the current plan: the same
// proportion as the amount.
func (s *sim) taxFree(amount int64) int64 {
	if s.plan.TaxFree == 0 || amount >= s.plan.Amount {
		return min(s.plan.TaxFree, amount)
	}
	tf, _ := calendar.Prorate(s.plan.TaxFree, amount, s.plan.Amount)
	return tf
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
func (s *sim) charge(per period, amount int64) billing.Outcome {
	a := Attempt{Cycle: per.cycle, Attempt: s.nextAttempt(per.cycle)}
	c := Charge{At: s.now, Cycle: a.Cycle, Attempt: a.Attempt, Customer: s.customer, Amount: amount, TaxFree: s.taxFree(amount)}
	ans := s.tl.Answers[a]
	if ans == UnknownPaid || ans == UnknownAbsent {
		// The answer is lost: the activity tries again after its first retry interval, and the
		// charge is in flight until then (messages arriving meanwhile are handled after it).
		if ans == UnknownAbsent {
			c.At = s.now.Add(ActivityRetryInterval) // nothing was charged the first time
		}
		s.now = s.now.Add(ActivityRetryInterval)
	}
	if s.plan.NaverUseCfm == billing.NaverUseCfmPeriodEnd {
		// The period's last day, but never before the payment day (NaverPay refuses that).
		last := per.lastDay
		if today := calendar.DateOf(c.At); today.After(last) {
			last = today
		}
		c.NaverUseCfm = last.NaverUseCfm()
	}
	switch {
	case !s.keys[s.customer]:
		c.Outcome = billing.OutcomeDeclinedHard
	case ans == SoftDecline:
		c.Outcome = billing.OutcomeDeclined
	case ans == HardDecline:
		c.Outcome = billing.OutcomeDeclinedHard
		delete(s.keys, s.customer) // PortOne marks the key unusable
	default:
		c.Outcome = billing.OutcomePaid
	}
	s.res.Charges = append(s.res.Charges, c)
	// Messages that met this charge in flight: those of the due instant, then those sent
	// during it. They are admitted (or refused) on arrival against the state before the charge;
	// what they ask is done at arrival for the messages that only record something, and after
	// the charge settled for the others (see inFlight).
	early, before := s.inFlight, s.clone()
	s.inFlight = nil
	s.afterSettle = func() { s.settleInFlight(append(early, s.during[a]...), before); delete(s.during, a) }
	return c.Outcome
}

func (s *sim) settle(per period, outcome billing.Outcome) {
	defer func() {
		if f := s.afterSettle; f != nil {
			s.afterSettle = nil
			f()
		}
	}()
	switch outcome {
	case billing.OutcomePaid:
		s.paidThrough = per.end
		s.paidPrice = s.cyclePrice
		s.dunning = nil
		s.status = billing.StatusActive
	case billing.OutcomeDeclinedHard:
		d := s.dunningFor(per)
		d.hard = true
		d.nextRetry = time.Time{}
		s.status = billing.StatusPaymentMethodRequired
	default:
		d := s.dunningFor(per)
		d.hard = false
		s.scheduleRetry(d)
		s.status = billing.StatusPastDue
	}
}

func (s *sim) dunningFor(per period) *dunning {
	if d := s.dunning; d != nil && d.cycle == per.cycle {
		return d
	}
	grace := per.start.Add(s.policy.GraceDuration())
	if !s.nextCharge.IsZero() && s.nextCharge.Before(grace) {
		grace = s.nextCharge
	}
	s.dunning = &dunning{cycle: per.cycle, dueAt: per.start, graceEnd: grace}
	return s.dunning
}

// scheduleRetry sets the next policy retry: retries already past are skipped, and a retry that
// would reach the next cycle's charge is dropped with all after it.
func (s *sim) scheduleRetry(d *dunning) {
	d.nextRetry = time.Time{}
	r := s.policy.RetryAfter
	for d.retriesUsed < len(r) && !d.dueAt.Add(r[d.retriesUsed].Std()).After(s.now) {
		d.retriesUsed++
	}
	if d.retriesUsed >= len(r) {
		return
	}
	at := d.dueAt.Add(r[d.retriesUsed].Std())
	if !s.nextCharge.IsZero() && !at.Before(s.nextCharge) {
		d.retriesUsed = len(r)
		return
	}
	d.nextRetry = at
}

// retry charges the unpaid cycle again, for the amount it was first asked.
func (s *sim) retry() {
	d := s.dunning
	d.nextRetry = time.Time{}
	per := *s.current
	amount := s.plan.Amount
	for _, c := range s.res.Charges {
		if c.Cycle == per.cycle && c.Amount > 0 {
			amount = c.Amount
			break
		}
	}
	s.settle(per, s.charge(per, amount))
}

func (s *sim) finalAction() {
	if s.policy.FinalAction == billing.FinalActionPause && s.cancelAt == nil {
		s.dunning = nil
		s.pause = &pause{}
		s.nextCharge = time.Time{}
		s.status = billing.StatusPaused
		return
	}
	s.cancelNow(billing.CancelRequest{When: billing.Now, Refund: billing.RefundNone, Requester: billing.RequesterAdmin})
}

// cancelNow ends the subscription, refunding the current period's paid charge as asked.
func (s *sim) cancelNow(req billing.CancelRequest) {
	if req.Refund != billing.RefundNone && s.current != nil {
		if paid := s.paidCharge(s.current.cycle); paid != nil {
			refunded, refundedTF := s.refunded(paid.Cycle)
			var amount int64
			switch req.Refund {
			case billing.RefundFull:
				amount = paid.Amount - refunded
			case billing.RefundProrata:
				p := s.current
				cp := calendar.Period{Unit: s.plan.Interval.Unit, Start: p.start, End: p.end, FirstDay: p.firstDay, LastDay: p.lastDay}
				amount = calendar.UnusedRefund(paid.Amount, cp, s.now) - refunded
			}
			if amount > 0 {
				s.res.Refunds = append(s.res.Refunds, Refund{At: s.now, Cycle: paid.Cycle, Amount: amount,
					TaxFree: refundTaxFree(paid.Amount, paid.TaxFree, refunded, refundedTF, amount)})
			}
		}
	}
	s.cancelAt, s.pause, s.dunning = nil, nil, nil
	s.status = billing.StatusCanceled
	s.res.EndedAt = s.now
	s.nextCharge = time.Time{}
}

// refundTaxFree: the payment's own proportion, and whatever is left on the last refund.
func refundTaxFree(paid, taxFree, refunded, refundedTF, amount int64) int64 {
	if taxFree <= 0 {
		return 0
	}
	if refunded+amount >= paid {
		return taxFree - refundedTF
	}
	tf, _ := calendar.Prorate(taxFree, amount, paid)
	return min(tf, taxFree-refundedTF, amount)
}

func (s *sim) paidCharge(cycle int) *Charge {
	for i := len(s.res.Charges) - 1; i >= 0; i-- {
		if c := &s.res.Charges[i]; c.Cycle == cycle && c.Outcome == billing.OutcomePaid {
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

// resume ends a pause (see the README's resume rules).
func (s *sim) resume(anchor billing.ResumeAnchor) {
	s.pause = nil
	s.status = billing.StatusActive
	if anchor == billing.ResumeRestartAnchor {
		credit := int64(0)
		if s.current != nil && s.now.Before(s.paidThrough) {
			if paid := s.paidCharge(s.current.cycle); paid != nil {
				refunded, _ := s.refunded(paid.Cycle)
				p := s.current
				cp := calendar.Period{Unit: s.plan.Interval.Unit, Start: p.start, End: p.end, FirstDay: p.firstDay, LastDay: p.lastDay}
				credit = calendar.UnusedRefund(paid.Amount-refunded, cp, s.now)
			}
		}
		plan := s.plan
		plan.AnchorDay = 0
		tod, _ := calendar.ParseTimeOfDay(plan.ChargeTime)
		today := calendar.DateOf(s.now)
		anchorDay := 0
		if plan.Interval.Unit == calendar.Month || plan.Interval.Unit == calendar.Year {
			anchorDay = today.Day
		}
		s.rec, _ = calendar.NewRecurrence(plan.Interval, today, anchorDay, tod)
		s.nextIndex, s.nextCharge, s.credit = 0, s.now, credit
		return
	}
	i := s.rec.IndexAt(s.now)
	if s.now.Before(s.paidThrough) || i < s.nextIndex {
		s.nextCharge = s.rec.ChargeAt(s.nextIndex)
		return
	}
	if s.rec.ChargeAt(i).Equal(s.now) {
		s.nextIndex, s.nextCharge = i, s.now
		return
	}
	s.nextIndex, s.nextCharge = i+1, s.rec.ChargeAt(i+1)
	today, nextDate := calendar.DateOf(s.now), s.rec.ChargeDate(i+1)
	if !today.Before(nextDate) {
		return
	}
	if s.rises(s.nextPrice()) {
		s.endForNoConsent()
		return
	}
	s.applyPendingPlan()
	amount, _ := calendar.StubCharge(s.plan.Amount, today, nextDate, s.rec.Period(i))
	s.partial(period{cycle: s.cycle + 1, start: s.now, end: s.rec.ChargeAt(i + 1), firstDay: today, lastDay: nextDate.AddDays(-1)}, amount)
}

// message applies message i, or records its refusal.
func (s *sim) message(i int, m Message) {
	if !s.accept(m) {
		s.res.Refused = append(s.res.Refused, i)
	}
}

// accept applies m and reports whether the subscription accepted it.
func (s *sim) accept(m Message) bool {
	if s.status.Terminal() {
		return false
	}
	switch m.Name {
	case billing.MsgCancel:
		req := *m.Cancel
		req.Normalize()
		if req.Validate() != nil {
			return false
		}
		if req.When == billing.Now || s.status == billing.StatusPaused {
			s.cancelNow(req)
			return true
		}
		if s.cancelAt == nil {
			s.cancelAt = &req
		}
		return true
	case billing.MsgUndoCancel:
		if s.cancelAt == nil {
			return false
		}
		s.cancelAt = nil
		return true
	case billing.MsgPause:
		req := *m.Pause
		req.Normalize()
		switch {
		case req.Validate() != nil, s.status == billing.StatusPaused, s.pause != nil && s.pause.pending,
			s.status != billing.StatusActive, !req.ResumeAt.IsZero() && !req.ResumeAt.After(s.now):
			return false
		}
		if req.When == billing.Now {
			s.pause = &pause{resumeAt: req.ResumeAt}
			s.nextCharge = time.Time{}
			s.status = billing.StatusPaused
			return true
		}
		s.pause = &pause{pending: true, resumeAt: req.ResumeAt}
		return true
	case billing.MsgResume:
		req := *m.Resume
		req.Normalize()
		if req.Validate() != nil {
			return false
		}
		if s.pause != nil && s.pause.pending && s.status != billing.StatusPaused {
			s.pause = nil
			return true
		}
		if s.status != billing.StatusPaused {
			return false
		}
		s.resume(req.Anchor)
		return true
	case billing.MsgChangePlan:
		base := s.plan
		if s.pendingPlan != nil {
			base = *s.pendingPlan
		}
		if m.ChangePlan.Validate(base) != nil {
			return false
		}
		p := m.ChangePlan.Apply(base)
		s.pendingPlan = &p
		return true
	case billing.MsgReplaceBillingKey:
		req := *m.Replace
		if req.Validate() != nil || !s.keys[req.CustomerUID] {
			return false
		}
		old := s.customer
		s.customer = req.CustomerUID
		if (req.DeleteOld == nil || *req.DeleteOld) && old != req.CustomerUID {
			delete(s.keys, old)
		}
		if s.dunning != nil && (s.status == billing.StatusPastDue || s.status == billing.StatusPaymentMethodRequired) {
			s.dunning.hard = false
			s.status = billing.StatusPastDue
			s.retry()
		}
		return true
	case billing.MsgChargeNow:
		if s.status != billing.StatusPastDue || s.dunning == nil {
			return false
		}
		s.retry()
		return true
	}
	return false
}

// KeptPayments sums, per cycle, the paid charges less their refunds: what the customer paid in
// the end. Useful for invariants.
func (r Result) KeptPayments() map[int]int64 {
	out := map[int]int64{}
	for _, c := range r.Charges {
		if c.Outcome == billing.OutcomePaid {
			out[c.Cycle] += c.Amount
		}
	}
	for _, f := range r.Refunds {
		out[f.Cycle] -= f.Amount
	}
	return out
}

// Summary is a stable text form of a result for comparisons and failure messages. Instants are
// given to the minute: a charge whose first answer was lost is retried by the activity a few
// seconds later, which the rules do not fix.
func (r Result) Summary() []string {
	var out []string
	for _, c := range r.Charges {
		out = append(out, fmt.Sprintf("charge %s c%da%d %s %d tf%d cfm%s %s", c.At.In(calendar.Seoul).Format("2006-01-02 15:04"),
			c.Cycle, c.Attempt, c.Customer, c.Amount, c.TaxFree, c.NaverUseCfm, c.Outcome))
	}
	for _, f := range r.Refunds {
		out = append(out, fmt.Sprintf("refund %s c%d %d tf%d", f.At.In(calendar.Seoul).Format("2006-01-02 15:04"), f.Cycle, f.Amount, f.TaxFree))
	}
	refused := slices.Clone(r.Refused)
	sort.Ints(refused)
	out = append(out, fmt.Sprintf("status %s refused %v", r.Status, refused))
	return out
}
