package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
)

// PortOne V2 from versionCyclePayment: a cycle's attempts are transactions under one paymentId,
// the cycle's (billing.CyclePaymentID), so that PortOne refuses a cycle's second success by
// itself (activities/cyclepayment.go). Each attempt keeps its merchant_uid as its identity in
// state, events and the audit trail; its record says the paymentId it was made under
// (ChargeRecord.PaymentID) and its transactionId (ImpUID). V1 runs never ask the question, and
// V2 runs that took the old branch charge each attempt under its own merchant_uid.

// cyclePayments reports whether this run charges a V2 cycle's attempts under the cycle's
// paymentId. It asks versionCyclePayment once, the first time a V2 run needs a paymentId.
func (r *runner) cyclePayments() bool {
	if !r.s.Gateway.IsV2() {
		return false
	}
	return r.askOnce(&r.cyclePay, changeCyclePayment, versionCyclePayment)
}

// askOnce is whether this run takes version v of change, asking GetVersion the first time only
// and keeping the answer in *cached (1 taken, -1 not, 0 not asked yet): a change asked where a
// V2 run first needs it, not at the run's start, so that V1 runs never record its marker.
func (r *runner) askOnce(cached *int8, change string, v workflow.Version) bool {
	if *cached == 0 {
		*cached = -1
		if workflow.GetVersion(r.ctx, change, workflow.DefaultVersion, v) >= v {
			*cached = 1
		}
	}
	return *cached > 0
}

// setCyclePayment fills in's V2 payment fields when the run charges under cycle paymentIds:
// the cycle's current paymentId, its other paymentIds to look up first and the transactionIds
// its attempts recorded.
func (r *runner) setCyclePayment(in *activities.ChargeInput) {
	if !r.cyclePayments() {
		return
	}
	in.PaymentID = r.cyclePaymentID(in.Cycle)
	in.PriorPaymentIDs, in.PriorTxIDs = r.cyclePaymentHistory(in.Cycle, in.PaymentID)
}

// cyclePaymentID is the paymentId of a cycle's next attempt: the newest generation its
// records name (the cycle moved there when PortOne closed the one before), else the first.
func (r *runner) cyclePaymentID(cycle int) string {
	id := billing.CyclePaymentID{SubscriptionID: r.s.SubscriptionID, Tag: r.s.Tag, Cycle: cycle, Gen: 1}
	for _, c := range r.s.Charges {
		if c.Cycle != cycle || c.PaymentID == "" {
			continue
		}
		if p, err := billing.ParseMerchantUID(c.PaymentID); err == nil && p.Kind == billing.KindCyclePayment && p.Payment.Gen > id.Gen {
			id = p.Payment
		}
	}
	return id.String()
}

// cyclePaymentHistory returns the cycle's recorded paymentIds other than current (earlier
// generations, and the per-attempt ones of runs before versionCyclePayment) and the
// transactionIds its attempts recorded.
func (r *runner) cyclePaymentHistory(cycle int, current string) (prior, txIDs []string) {
	for _, c := range r.s.Charges {
		if c.Cycle != cycle {
			continue
		}
		if id := c.GatewayPaymentID(); id != current && !slices.Contains(prior, id) {
			prior = append(prior, id)
		}
		if c.ImpUID != "" && !slices.Contains(txIDs, c.ImpUID) {
			txIDs = append(txIDs, c.ImpUID)
		}
	}
	return prior, txIDs
}

// sharedPaymentID reports whether id is a cycle's shared V2 paymentId: one whose attempts
// PortOne lets succeed only once, so a failed attempt under it can never be paid later while
// the cycle's success stands (recovery.go).
func sharedPaymentID(id string) bool {
	p, err := billing.ParseMerchantUID(id)
	return err == nil && p.Kind == billing.KindCyclePayment
}
