package workflows_test

import (
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/rulebook"
)

// The sweep speaks billing's types to the workflow and the rulebook's own types to the rulebook,
// which shares no code with the workflow. This file is the one place that translates.

// scenario is one sweep timeline as the workflow receives it.
type scenario struct {
	Start time.Time
	// Input is the workflow input, normalized; Raw the same input as the merchant typed it,
	// for the rulebook (which fills the README's defaults itself).
	Input       billing.SubscriptionInput
	Raw         rulebook.Input
	Keys        []string
	Answers     map[rulebook.Attempt]rulebook.Answer
	Messages    []sweepMessage
	End         time.Time
	DueFirst    bool
	AfterSettle bool
	// AsyncCancel, on V2, is how long after a cancel is asked for PortOne finishes it (0: at
	// once; otherwise the cancel answers REQUESTED).
	AsyncCancel time.Duration
	// LostCancelAnswers, on V2, loses PortOne's answer to the first two cancels it made.
	LostCancelAnswers bool
	// FailFirstCancels, on V2 with AsyncCancel, makes the first cancel asked of each payment
	// end FAILED when PortOne finishes it (nothing given back); the workflow makes it again.
	FailFirstCancels bool
}

// sweepMessage is one message of a scenario, with billing's payloads.
type sweepMessage struct {
	At     time.Time
	During *rulebook.Attempt
	Update bool
	Name   string
	// Null sends a literal JSON null as the payload.
	Null       bool
	Cancel     *billing.CancelRequest
	Pause      *billing.PauseRequest
	Resume     *billing.ResumeRequest
	ChangePlan *billing.ChangePlanRequest
	Replace    *billing.ReplaceBillingKeyRequest
	Undo       *billing.UndoCancelRequest
	Consent    *billing.ConsentRequest
	EndTrial   *billing.EndTrialRequest
}

// rulebookInput translates a workflow input as typed (before Normalize).
func rulebookInput(in billing.SubscriptionInput) rulebook.Input {
	p := in.Plan
	out := rulebook.Input{
		Customer: in.CustomerUID,
		Plan: rulebook.Plan{Amount: p.Amount, TaxFree: p.TaxFree, Unit: rulebook.Unit(p.Interval.Unit), Count: p.Interval.Count,
			AnchorDay: int(p.AnchorDay), ChargeTime: p.ChargeTime, UseCfmPeriodEnd: p.NaverUseCfm == billing.NaverUseCfmPeriodEnd},
		FirstChargeAtAnchor: in.FirstCharge == billing.FirstChargeAnchor,
	}
	if in.Gateway.IsV2() {
		out.MinCharge = rulebook.MinChargeV2
	}
	if t := p.Trial; t != nil {
		out.Plan.TrialDays, out.Plan.IntroCycles, out.Plan.IntroAmount = t.Days, t.Cycles, t.Amount
	}
	if d := in.Dunning; d != nil {
		if d.RetryAfter != nil {
			out.Dunning.RetryAfter = []time.Duration{}
			for _, r := range d.RetryAfter {
				out.Dunning.RetryAfter = append(out.Dunning.RetryAfter, r.Std())
			}
		}
		if d.Grace != nil {
			g := d.Grace.Std()
			out.Dunning.Grace = &g
		}
		out.Dunning.FinalActionPause = d.FinalAction == billing.FinalActionPause
	}
	return out
}

// rulebook translates the scenario into the rulebook's timeline.
func (sc scenario) rulebook() rulebook.Timeline {
	tl := rulebook.Timeline{Start: sc.Start, Input: sc.Raw, Keys: sc.Keys, Answers: sc.Answers, End: sc.End, DueFirst: sc.DueFirst, AfterSettle: sc.AfterSettle}
	for _, m := range sc.Messages {
		r := rulebook.Message{At: m.At, During: m.During, Update: m.Update, Name: m.Name, Null: m.Null}
		if c := m.Cancel; c != nil {
			r.Cancel = &rulebook.Cancel{When: string(c.When), Reason: c.Reason, Requester: string(c.Requester), Refund: string(c.Refund)}
		}
		if p := m.Pause; p != nil {
			r.Pause = &rulebook.Pause{When: string(p.When), ResumeAt: p.ResumeAt, Reason: p.Reason}
		}
		if x := m.Resume; x != nil {
			r.Resume = &rulebook.Resume{Anchor: string(x.Anchor), Reason: x.Reason}
		}
		if c := m.ChangePlan; c != nil {
			r.ChangePlan = &rulebook.ChangePlan{Name: c.Name, Amount: c.Amount, TaxFree: c.TaxFree, Reason: c.Reason, When: string(c.When)}
			if k := c.Consent; k != nil {
				r.ChangePlan.Consent = rulebookConsent(*k)
			}
		}
		if k := m.Replace; k != nil {
			r.Replace = &rulebook.ReplaceKey{Customer: k.CustomerUID, DeleteOld: k.DeleteOld}
		}
		if u := m.Undo; u != nil {
			r.Undo = &rulebook.Undo{Reason: u.Reason}
		}
		if k := m.Consent; k != nil {
			r.Consent = rulebookConsent(*k)
		}
		if e := m.EndTrial; e != nil {
			r.EndTrial = &rulebook.EndTrial{Reason: e.Reason}
			if e.Consent != nil {
				r.EndTrial.Consent = rulebookConsent(*e.Consent)
			}
		}
		tl.Messages = append(tl.Messages, r)
	}
	return tl
}

// rulebookConsent translates a consent's checked fields.
func rulebookConsent(k billing.ConsentRequest) *rulebook.Consent {
	return &rulebook.Consent{Granted: k.Granted != nil && *k.Granted, At: k.At, AmountBefore: k.AmountBefore, AmountAfter: k.AmountAfter,
		ChangeDate: rulebook.Date{Year: k.ChangeDate.Year, Month: k.ChangeDate.Month, Day: k.ChangeDate.Day}}
}
