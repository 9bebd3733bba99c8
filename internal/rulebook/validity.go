package rulebook

import (
	"fmt"
	"strings"
	"time"
)

// The README's input bounds.
const (
	minAmount = 10
	maxAmount = 100_000_000
)

// defaultRetries and defaultGrace are the README's dunning defaults.
var defaultRetries = []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 5 * 24 * time.Hour, 7 * 24 * time.Hour}

const defaultGrace = 7 * 24 * time.Hour

// policy is a dunning policy with its defaults filled.
type policy struct {
	retries     []time.Duration
	grace       time.Duration
	finalPauses bool
}

// withDefaults fills what the merchant left out, as the README's input table says.
func withDefaults(in Input) (Plan, policy) {
	p := in.Plan
	p.minCharge = in.MinCharge
	if p.Count == 0 {
		p.Count = 1
	}
	pol := policy{retries: in.Dunning.RetryAfter, grace: defaultGrace, finalPauses: in.Dunning.FinalActionPause}
	if pol.retries == nil {
		pol.retries = defaultRetries
	}
	if in.Dunning.Grace != nil {
		pol.grace = *in.Dunning.Grace
	}
	return p, pol
}

// CheckInput says why the README refuses an input (the field first), or nil. demo allows the
// second and minute units.
func CheckInput(in Input, demo bool) error {
	p := in.Plan
	p.minCharge = in.MinCharge
	switch {
	case strings.TrimSpace(in.Customer) == "":
		return fmt.Errorf("customer_uid: required")
	case p.Amount < p.minimum() || p.Amount > maxAmount:
		return fmt.Errorf("plan.amount: %d is not within %d … %d KRW", p.Amount, p.minimum(), maxAmount)
	case p.TaxFree < 0 || p.TaxFree > p.Amount:
		return fmt.Errorf("plan.tax_free: %d is not within 0 … the amount %d", p.TaxFree, p.Amount)
	case p.Count < 1:
		return fmt.Errorf("plan.interval.count: %d is below 1", p.Count)
	case p.AnchorDay < 0 || p.AnchorDay > 31:
		return fmt.Errorf("plan.anchor_day: %d is not within 1 … 31", p.AnchorDay)
	case p.TrialDays != 0 && (p.TrialDays < 7 || p.TrialDays > 365):
		return fmt.Errorf("plan.trial.days: %d is not within 7 … 365", p.TrialDays)
	case p.TrialDays != 0 && p.IntroCycles != 0:
		return fmt.Errorf("plan.trial: days free or cycles at an introductory amount, not both")
	case p.IntroCycles < 0 || p.IntroCycles > 36:
		return fmt.Errorf("plan.trial.cycles: %d is not within 1 … 36", p.IntroCycles)
	case p.IntroCycles > 0 && introProblem(p) != "":
		return fmt.Errorf("plan.trial.amount: %d is not within %d … below the amount %d, and not below the tax_free %d", p.IntroAmount, p.minimum(), p.Amount, p.TaxFree)
	}
	switch p.Unit {
	case Day, Week, Month, Year:
	case Second, Minute:
		if !demo {
			return fmt.Errorf("plan.interval.unit: %q is for demo mode only", p.Unit)
		}
	default:
		return fmt.Errorf("plan.interval.unit: %q is not day, week, month or year", p.Unit)
	}
	if _, _, err := chargeTime(p.ChargeTime); err != nil {
		return err
	}
	for _, r := range in.Dunning.RetryAfter {
		if r <= 0 {
			return fmt.Errorf("dunning.retry_after: %s is not after the due time", r)
		}
	}
	if g := in.Dunning.Grace; g != nil && *g < 0 {
		return fmt.Errorf("dunning.grace: %s is negative", *g)
	}
	return nil
}

// oneOf reports whether v is "" (the default) or one of the words.
func oneOf(v string, words ...string) bool {
	if v == "" {
		return true
	}
	for _, w := range words {
		if v == w {
			return true
		}
	}
	return false
}

// The payload rules, per message (the README's message table): each names the faulty field of a
// message that is malformed whatever the subscription's state, or says "". A missing (null)
// payload is malformed for every message that has one.

func cancelProblem(m Message, _ Plan) string {
	c := m.Cancel
	switch {
	case c == nil:
		return "payload"
	case !oneOf(c.When, PeriodEnd, Now):
		return "when"
	case !oneOf(c.Requester, Customer, Admin):
		return "requester"
	case !oneOf(c.Refund, RefundNone, RefundProrata, RefundFull):
		return "refund"
	case c.When != Now && c.Refund != "" && c.Refund != RefundNone:
		return "refund" // a refund needs when "now"
	case strings.TrimSpace(c.Reason) == "":
		return "reason" // NaverPay's review needs it
	}
	return ""
}

func undoProblem(m Message, _ Plan) string {
	if m.Undo == nil {
		return "payload"
	}
	return ""
}

func pauseProblem(m Message, _ Plan) string {
	switch {
	case m.Pause == nil:
		return "payload"
	case !oneOf(m.Pause.When, PeriodEnd, Now):
		return "when"
	}
	return ""
}

func resumeProblem(m Message, _ Plan) string {
	switch {
	case m.Resume == nil:
		return "payload"
	case !oneOf(m.Resume.Anchor, Keep, Restart):
		return "anchor"
	}
	return ""
}

// changePlanProblem: something must change, and the plan it makes keeps the input's bounds.
func changePlanProblem(m Message, base Plan) string {
	c := m.ChangePlan
	if c == nil || (c.Name == "" && c.Amount == 0 && c.TaxFree == nil) {
		return "payload"
	}
	switch {
	case !oneOf(c.When, PeriodEnd, Now):
		return "when"
	case c.Consent != nil && c.When != Now:
		return "consent" // a rise at period end is consented to inside its window
	case c.Consent != nil && !c.Consent.Granted:
		return "consent.granted"
	case c.Consent != nil && (c.Consent.AmountBefore < 0 || c.Consent.AmountAfter <= c.Consent.AmountBefore):
		return "consent.amount_after"
	}
	next := applyChange(base, *c)
	switch {
	case next.Amount < next.minimum() || next.Amount > maxAmount:
		return "amount"
	case next.TaxFree < 0 || next.TaxFree > next.Amount:
		return "tax_free"
	case next.IntroCycles > 0:
		return introProblem(next) // the introductory price stays below the amount, above tax_free
	}
	return ""
}

// introProblem: an introductory price is at least the minimum, below the amount and not below
// the tax_free part.
func introProblem(p Plan) string {
	switch {
	case p.IntroAmount < p.minimum() || p.IntroAmount >= p.Amount:
		return "amount"
	case p.TaxFree > p.IntroAmount:
		return "tax_free"
	}
	return ""
}

func replaceKeyProblem(m Message, _ Plan) string {
	if m.Replace == nil || strings.TrimSpace(m.Replace.Customer) == "" {
		return "customer_uid"
	}
	return ""
}

// noPayload is the rule of a message without a payload (charge_now): nothing to check beyond
// the null every message refuses (problem, messages.go).
func noPayload(Message, Plan) string { return "" }

// applyChange is the plan a change_plan makes: omitted fields unchanged.
func applyChange(p Plan, c ChangePlan) Plan {
	if c.Amount != 0 {
		p.Amount = c.Amount
	}
	if c.TaxFree != nil {
		p.TaxFree = *c.TaxFree
	}
	return p
}

// The state rules, per message: a well-formed message is refused when there is nothing for it
// to act on.

// nothingToUndo: undo_cancel needs a pending cancel.
func nothingToUndo(s *sim, _ Message) bool { return s.cancelAt == nil }

// cannotPause: only an active subscription pauses, once, not in a free trial (a cancel costs
// nothing then); an automatic resume must lie ahead.
func cannotPause(s *sim, m Message) bool {
	return s.status != Active || (s.pause != nil && s.pause.pending) || !s.trialEnd.IsZero() ||
		(!m.Pause.ResumeAt.IsZero() && !m.Pause.ResumeAt.After(s.now))
}

// nothingToResume: resume withdraws a pending pause, or ends a pause.
func nothingToResume(s *sim, _ Message) bool {
	return s.status != Paused && (s.pause == nil || !s.pause.pending)
}

// keyNotRegistered: a new key is verified at PortOne first.
func keyNotRegistered(s *sim, m Message) bool { return !s.keys[m.Replace.Customer] }

// nothingDue: charge_now retries an unpaid cycle.
func nothingDue(s *sim, _ Message) bool { return s.status != PastDue || s.dunning == nil }

// never is the state rule of a message every state admits.
func never(*sim, Message) bool { return false }
