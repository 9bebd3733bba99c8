package activities

// PortOne V2, one paymentId per billing cycle: every attempt of a cycle is a transaction under
// the cycle's paymentId (billing.CyclePaymentID), and PortOne lets only one transaction of a
// paymentId succeed (a second pay is 409 ALREADY_PAID). "At most one paid charge per cycle" is
// then PortOne's own rule; the look-before-charge below is what makes a retried attempt adopt
// its own lost answer instead of being refused, and what tells an earlier attempt's decline from
// this attempt's.
//
// A paymentId that can take no more attempts is closed: PortOne's attempt cap
// (MAX_TRANSACTION_COUNT_REACHED), or a success that was refunded since (an amount mismatch
// cancelled at once: PortOne still answers ALREADY_PAID). The cycle then moves to its next
// paymentId (CyclePaymentID.Next, "...-c12p2"), deterministically, after PortOne confirmed the
// closed one holds no paid transaction, and looks the next one up before charging it (a try
// that moved there may have lost its answer). The result names the paymentId used, and the
// workflow's next attempt starts from it.

import (
	"context"
	"errors"
	"slices"

	"go.temporal.io/sdk/activity"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// cyclePayment reports whether the attempt is a transaction under a paymentId it shares with
// the cycle's other attempts, rather than a payment of its own.
func (in ChargeInput) cyclePayment() bool {
	return in.PaymentID != "" && in.PaymentID != in.MerchantUID
}

// chargeCycle is Charge under the cycle's shared paymentId. The lookup first runs when
// mayHaveCharged says so (as on V1); a transaction no attempt recorded counts as this attempt's
// only on a retried try, since the first try of an attempt cannot have made one yet.
func (a *Activities) chargeCycle(ctx context.Context, in ChargeInput) (ChargeResult, error) {
	if mayHaveCharged(ctx, in) {
		retried := activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
		if res, ok, err := a.lookupCycle(ctx, in, in.PaymentID, in.PriorPaymentIDs, retried); err != nil || ok {
			return res, err
		}
	}
	return a.chargeUnder(ctx, in, in.PaymentID)
}

// chargeUnder charges in under paymentID, moving to the cycle's next paymentId when this one
// is closed.
func (a *Activities) chargeUnder(ctx context.Context, in ChargeInput, paymentID string) (ChargeResult, error) {
	req := chargeRequest(in, naverUseCfmNotBefore(in.NaverUseCfm, a.now()))
	req.PaymentID = paymentID
	if in.AnswerOnly {
		// The webhook that names the transactionId goes to this worker's edge, as a
		// schedule's does (an empty NoticeURLV2 leaves it to the console's URL).
		req.NoticeURL = a.Config.NoticeURL
	}
	p, err := a.Gateway.Charge(ctx, req)
	switch {
	case err == nil:
		res, serr := a.settle(ctx, in.MerchantUID, in.Amount, p)
		res.PaymentID = paymentID
		return res, serr
	case errors.Is(err, gateway.ErrKeyNotFound):
		return ChargeResult{Outcome: billing.OutcomeDeclinedHard, MerchantUID: in.MerchantUID, PaymentID: paymentID, Amount: in.Amount,
			Reason: "billing key is not registered at PortOne: " + gateway.Message(err)}, nil
	case errors.Is(err, gateway.ErrAlreadyPaid):
		// A success already happened under the paymentId: ours (a racing or lost try) is
		// adopted, never charged again. A refunded one closed the paymentId.
		ps, lerr := a.Gateway.Payments(ctx, paymentID)
		if lerr != nil {
			return ChargeResult{}, gatewayError(lerr)
		}
		if paid := paidOf(ps); paid != nil {
			return adopted(in, paymentID, *paid), nil
		}
		if !slices.ContainsFunc(ps, func(p gateway.Payment) bool { return p.Status == gateway.StatusCancelled }) {
			return ChargeResult{}, gatewayError(gateway.UnknownOutcome("charge", paymentID, err))
		}
		return a.chargeNext(ctx, in, paymentID, err)
	case errors.Is(err, gateway.ErrAttemptsExhausted):
		return a.chargeNext(ctx, in, paymentID, err)
	}
	return ChargeResult{}, gatewayError(err)
}

// chargeNext moves the attempt from the closed paymentID to the cycle's next paymentId: after
// PortOne confirmed that paymentID holds no paid transaction, it looks the next one up (a try
// that moved there before may have lost its answer) and charges there. A paymentId that is not
// a cycle's, or the last generation, leaves closed's refusal as it is.
func (a *Activities) chargeNext(ctx context.Context, in ChargeInput, paymentID string, closed error) (ChargeResult, error) {
	parsed, perr := billing.ParseMerchantUID(paymentID)
	if perr != nil || parsed.Kind != billing.KindCyclePayment {
		return ChargeResult{}, gatewayError(closed)
	}
	next, ok := parsed.Payment.Next()
	if !ok {
		return ChargeResult{}, gatewayError(closed)
	}
	ps, err := a.Gateway.Payments(ctx, paymentID)
	if err != nil {
		return ChargeResult{}, gatewayError(err)
	}
	if paid := paidOf(ps); paid != nil {
		return adopted(in, paymentID, *paid), nil
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Info("paymentId closed; the cycle moves to its next paymentId",
			"payment_id", paymentID, "next_payment_id", next.String(), "why", gateway.Message(closed))
	}
	if res, found, err := a.lookupCycle(ctx, in, next.String(), nil, true); err != nil || found {
		return res, err
	}
	return a.chargeUnder(ctx, in, next.String())
}

// lookupCycle looks the cycle's payments up: the prior paymentIds, then paymentID. A paid
// transaction anywhere settles the charge (adopted). Under paymentID, a failed or refunded
// transaction the workflow has not recorded (not in in.PriorTxIDs) settles it as this attempt's
// own outcome when own says this attempt may already have reached PortOne; recorded ones are
// earlier attempts', already settled, and the charge goes on.
func (a *Activities) lookupCycle(ctx context.Context, in ChargeInput, paymentID string, prior []string, own bool) (ChargeResult, bool, error) {
	for _, id := range append(slices.Clone(prior), paymentID) {
		ps, err := a.Gateway.Payments(ctx, id)
		if err != nil {
			return ChargeResult{}, false, gatewayError(err)
		}
		if paid := paidOf(ps); paid != nil {
			return adopted(in, id, *paid), true, nil
		}
		if id != paymentID || !own {
			continue
		}
		var last *gateway.Payment
		for i := range ps {
			if p := &ps[i]; p.TxID != "" && !slices.Contains(in.PriorTxIDs, p.TxID) && (p.Status == gateway.StatusFailed || p.Status == gateway.StatusCancelled) {
				last = p
			}
		}
		switch {
		case last == nil:
		case last.Status == gateway.StatusCancelled:
			return ChargeResult{Outcome: billing.OutcomeAmountMismatch, MerchantUID: in.MerchantUID, PaymentID: id, ImpUID: last.TxID,
				Amount: last.Amount, Reason: "this attempt was already charged and cancelled", Adopted: true}, true, nil
		default:
			d := declined(in.MerchantUID, last.Amount, last.FailReason)
			d.ImpUID, d.At, d.Adopted, d.PaymentID = last.TxID, last.FailedAt, true, id
			return d, true, nil
		}
	}
	return ChargeResult{}, false, nil
}

// paidOf is the paid transaction among ps, or nil.
func paidOf(ps []gateway.Payment) *gateway.Payment {
	for i := range ps {
		if ps[i].Status == gateway.StatusPaid {
			return &ps[i]
		}
	}
	return nil
}

// adopted is the result of a paid transaction found under paymentID: the cycle's payment,
// recorded for this attempt (a paymentId of an older run's attempt names that attempt instead,
// as on V1), never charged again.
func adopted(in ChargeInput, paymentID string, p gateway.Payment) ChargeResult {
	uid := in.MerchantUID
	if parsed, err := billing.ParseMerchantUID(paymentID); err == nil && parsed.Kind == billing.KindCharge {
		uid = paymentID
	}
	res := ChargeResult{Outcome: billing.OutcomePaid, MerchantUID: uid, PaymentID: paymentID, ImpUID: p.TxID, Amount: p.Amount,
		ReceiptURL: p.ReceiptURL, At: p.PaidAt, Adopted: true}
	if uid == paymentID {
		res.PaymentID = ""
	}
	return res
}
