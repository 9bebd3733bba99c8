package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// RefundInput asks to refund part or all of a paid charge.
type RefundInput struct {
	ImpUID string `json:"imp_uid"`
	// Amount to refund now, in KRW (> 0).
	Amount int64 `json:"amount"`
	// PaymentAmount is the charge's paid amount and PriorCancelled what the workflow knows was
	// refunded before; together they make PortOne's checksum, which is what makes a retried
	// refund after a lost answer safe: PortOne refuses a second refund whose checksum no longer
	// matches the balance.
	PaymentAmount  int64             `json:"payment_amount"`
	PriorCancelled int64             `json:"prior_cancelled"`
	Reason         string            `json:"reason"`
	Requester      billing.Requester `json:"requester"`
	// TaxFree is the tax-exempt part of Amount, in the payment's own proportion (PortOne splits
	// a partial refund's VAT by it); PaymentTaxFree is the payment's tax-exempt part.
	TaxFree        int64 `json:"tax_free,omitempty"`
	PaymentTaxFree int64 `json:"payment_tax_free,omitempty"`
	// MerchantUID is the charge's merchant_uid (V2's paymentId), sent for V2 subscriptions only
	// (V1's inputs stay as recorded histories carry them): V2 cancels and reads by paymentId.
	MerchantUID string `json:"merchant_uid,omitempty"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
}

// RefundResult reports a refund.
type RefundResult struct {
	Refunded int64 `json:"refunded"`
	// CancelledTotal is the payment's cancelled amount after the refund.
	CancelledTotal int64 `json:"cancelled_total"`
	// AlreadyDone is true when the refund was found already made (a retry after a lost answer).
	AlreadyDone bool `json:"already_done,omitempty"`
	// Pending is true when PortOne holds the refund as asked for and not finished (a V2 cancel
	// still REQUESTED when the activity's wait was over): Refunded is what was asked, and
	// PortOne may still end it FAILED. The workflow follows it (RefundStatus) instead of
	// counting it made; CancelledTotal then counts the pending amount too.
	Pending bool `json:"pending,omitempty"`
	// CancellationID is PortOne V2's ID of the cancellation that holds this refund, when known:
	// the workflow follows that very cancellation (RefundStatusInput.CancellationID), as two
	// refunds of one payment may be held REQUESTED at once and finish apart.
	CancellationID string `json:"cancellation_id,omitempty"`
}

// Refund cancels Amount of a paid charge against the balance the workflow expects (the
// gateway refuses a refund that raced another), with a reason and the requester (NaverPay's
// review requires both).
func (a *Activities) Refund(ctx context.Context, in RefundInput) (RefundResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return RefundResult{}, gerr
	}
	if in.Amount <= 0 || in.Amount > in.PaymentAmount-in.PriorCancelled {
		return RefundResult{}, gatewayError(gateway.InvalidRequest("Refund", "amount",
			fmt.Sprintf("%d is not within the refundable balance %d", in.Amount, in.PaymentAmount-in.PriorCancelled)))
	}
	if done, ok, err := a.refundDone(ctx, in); err != nil || ok {
		return done, err
	}
	req := gateway.RefundRequest{
		TxID:              in.ImpUID,
		PaymentID:         in.MerchantUID,
		Amount:            in.Amount,
		ExpectedRemaining: in.PaymentAmount - in.PriorCancelled,
		Reason:            in.Reason,
		Requester:         in.Requester,
		TaxFree:           in.TaxFree,
	}
	if in.Amount == in.PaymentAmount-in.PriorCancelled && in.PriorCancelled == 0 {
		req.Amount = 0 // a full cancel: everything that remains
	}
	p, err := a.Gateway.Refund(ctx, req)
	if err == nil {
		a.observer().Refunded(in.Amount)
		return RefundResult{Refunded: in.Amount, CancelledTotal: p.Cancelled}, nil
	}
	if a.bound.IsV2() && errors.Is(err, gateway.ErrUnknownOutcome) && a.Config.CancelSettleWait >= 0 {
		// REQUESTED (an asynchronous cancel) or an answer lost: settle it by looking, at this
		// very cancellation when PortOne named it.
		var requested *gateway.RequestedCancellation
		if errors.As(err, &requested) {
			done, lerr := a.settleCancel(ctx, in, requested.ID)
			return done, lerr
		}
		if done, ok, lerr := a.refundDone(ctx, in); lerr != nil || ok {
			return done, lerr
		}
	}
	if errors.Is(err, gateway.ErrAlreadyCancelled) || gateway.IsRefusal(err) {
		// A checksum mismatch or "already cancelled" may mean our own earlier try succeeded.
		if done, ok, lerr := a.refundDone(ctx, in); lerr != nil || ok {
			return done, lerr
		}
	}
	return RefundResult{}, gatewayError(err)
}

// refundDone reports whether the payment already shows this refund.
func (a *Activities) refundDone(ctx context.Context, in RefundInput) (RefundResult, bool, error) {
	p, err := a.paymentOf(ctx, in.MerchantUID, in.ImpUID)
	if err != nil {
		return RefundResult{}, false, gatewayError(err)
	}
	if p.Cancelled >= in.PriorCancelled+in.Amount {
		done := RefundResult{Refunded: in.Amount, CancelledTotal: p.Cancelled, AlreadyDone: true}
		if a.bound.IsV2() {
			// A V2 cancel may finish asynchronously, after the workflow asked again with the
			// refund recomputed for a later day: what PortOne gave back is the earlier request's
			// amount, everything cancelled beyond what the workflow knew of.
			done.Refunded = p.Cancelled - in.PriorCancelled
		}
		return done, true, nil
	}
	if a.bound.IsV2() && p.Pending > 0 && p.Cancelled+p.Pending >= in.PriorCancelled+in.Amount {
		// Asked for and still REQUESTED (an asynchronous cancel): a second one would be
		// refused, its expected remainder spoken for by the first, and the first may still end
		// FAILED. Wait a while for PortOne's verdict.
		res, err := a.settleCancel(ctx, in, "")
		return res, err == nil, err
	}
	return RefundResult{}, false, nil
}

// ownCancellation is the payment's cancellation that holds the refund in asks: the one named
// id, or without an id the one cancellation asking exactly in.Amount when only one does, or
// when every one that does stands alike (their status is then the answer). ok is false when it
// cannot be told, and the caller reads the payment's totals as before.
func ownCancellation(p gateway.Payment, id string, amount int64) (gateway.Cancellation, bool) {
	if id != "" {
		return p.Cancellation(id)
	}
	var own gateway.Cancellation
	n := 0
	for _, c := range p.Cancellations {
		if c.Amount != amount {
			continue
		}
		if n > 0 && c.Status != own.Status {
			return gateway.Cancellation{}, false
		}
		own, n = c, n+1
	}
	if n > 1 {
		own.ID = "" // their status answers; which of them is this refund's is not known
	}
	return own, n > 0
}

// settleCancel waits for a V2 cancel PortOne holds as REQUESTED to end: it looks the payment up
// again with backoff (heartbeating) for at most Config.CancelSettleWait and never past the
// attempt's deadline, reading the refund's own cancellation (id, as PortOne named it in its
// answer, or the one cancellation of the refund's amount; ownCancellation) and, when that
// cannot be told, the payment's totals. SUCCEEDED is the refund made (what PortOne gave back
// for it). FAILED (the pending amount gone and nothing given back) is a refusal,
// ErrTypeGatewayRejected, as a cancel PortOne answered FAILED at once: nothing was refunded,
// and the workflow parks the subscription for a person and tries the cancel again later.
// Still REQUESTED when the wait is
// over, the refund is answered as asked for and Pending (sending it again would be refused): the
// workflow's retry of the activity recomputes a refund, which past a day boundary may come to
// nothing and lose a refund PortOne then gives back (sweep seed 253894713), so the activity does
// not fail to be retried; the workflow records the refund as requested and follows it with
// RefundStatus (versionRequestedRefund), making it again if PortOne ends it FAILED.
func (a *Activities) settleCancel(ctx context.Context, in RefundInput, id string) (RefundResult, error) {
	budget := a.Config.CancelSettleWait
	if budget == 0 {
		budget = DefaultCancelSettleWait
	}
	deadline := time.Now().Add(max(budget, 0))
	if d, ok := ctx.Deadline(); ok && d.Add(-5*time.Second).Before(deadline) {
		deadline = d.Add(-5 * time.Second)
	}
	wait := 500 * time.Millisecond
	failed := func(cancelled int64) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"Refund: the cancel of %d KRW PortOne accepted as REQUESTED on payment %q ended FAILED: nothing was refunded (%d KRW cancelled in all); the cancel is tried again later",
			in.Amount, in.MerchantUID, cancelled), ErrTypeGatewayRejected, nil)
	}
	for look := 1; ; look++ {
		p, err := a.paymentOf(ctx, in.MerchantUID, in.ImpUID)
		if err != nil {
			return RefundResult{}, gatewayError(err)
		}
		if c, ok := ownCancellation(p, id, in.Amount); ok {
			// This refund's own cancellation: the other refunds of the payment, finished or
			// not, say nothing of it.
			switch c.Status {
			case gateway.CancellationSucceeded:
				return RefundResult{Refunded: c.Amount, CancelledTotal: p.Cancelled, AlreadyDone: true, CancellationID: c.ID}, nil
			case gateway.CancellationFailed:
				return RefundResult{}, failed(p.Cancelled)
			}
			if time.Until(deadline) < wait {
				return RefundResult{Refunded: c.Amount, CancelledTotal: p.Cancelled + p.Pending, AlreadyDone: true, Pending: true, CancellationID: c.ID}, nil
			}
		} else {
			switch {
			case p.Cancelled >= in.PriorCancelled+in.Amount:
				// SUCCEEDED: what PortOne gave back beyond what the workflow knew of (see refundDone).
				return RefundResult{Refunded: p.Cancelled - in.PriorCancelled, CancelledTotal: p.Cancelled, AlreadyDone: true}, nil
			case p.Pending <= 0 || p.Cancelled+p.Pending < in.PriorCancelled+in.Amount:
				return RefundResult{}, failed(p.Cancelled)
			case time.Until(deadline) < wait:
				// Still REQUESTED: asked for and not finished. Pending says so: a workflow that
				// follows requested refunds (versionRequestedRefund) records it as requested and
				// looks again later; an older one counts it made, as before.
				return RefundResult{Refunded: p.Cancelled + p.Pending - in.PriorCancelled, CancelledTotal: p.Cancelled + p.Pending, AlreadyDone: true, Pending: true}, nil
			}
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, look)
		}
		select {
		case <-ctx.Done():
			return RefundResult{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// RefundStatusInput asks what became of a refund PortOne held as REQUESTED (a V2 asynchronous
// cancel): Amount asked on the payment, of which PriorCancelled was refunded (or asked) before.
type RefundStatusInput struct {
	ImpUID         string              `json:"imp_uid"`
	MerchantUID    string              `json:"merchant_uid"`
	Amount         int64               `json:"amount"`
	PriorCancelled int64               `json:"prior_cancelled"`
	Gateway        billing.GatewayName `json:"gateway,omitempty"`
	// CancellationID is the refund's own cancellation (RefundResult.CancellationID), when the
	// workflow recorded it.
	CancellationID string `json:"cancellation_id,omitempty"`
}

// Refund statuses RefundStatus answers.
const (
	// RefundSucceeded: PortOne gave the refund back (the cancellation SUCCEEDED).
	RefundSucceeded = "succeeded"
	// RefundRequested: still asked for and not finished (REQUESTED).
	RefundRequested = "requested"
	// RefundFailed: PortOne ended it FAILED: nothing was given back and the amount is
	// cancellable again.
	RefundFailed = "failed"
)

// RefundStatusResult is what became of a requested refund.
type RefundStatusResult struct {
	Status string `json:"status"`
	// Cancelled and Pending are the payment's given-back and still-requested amounts.
	Cancelled int64 `json:"cancelled"`
	Pending   int64 `json:"pending"`
}

// RefundStatus looks the payment up (V2: GET /payments/{paymentId}) once, without waiting, and
// says whether a refund PortOne held as REQUESTED has SUCCEEDED, FAILED or is still REQUESTED:
// from its own cancellation when it can be told (CancellationID, or the one cancellation of its
// amount), else from the payment's amounts: given back beyond PriorCancelled+Amount is
// succeeded; still held as pending is requested; neither is failed (PortOne releases a FAILED
// cancel's amount). The amounts cannot tell two refunds held at once apart.
func (a *Activities) RefundStatus(ctx context.Context, in RefundStatusInput) (RefundStatusResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return RefundStatusResult{}, gerr
	}
	if in.Amount <= 0 {
		return RefundStatusResult{}, gatewayError(gateway.InvalidRequest("RefundStatus", "amount", fmt.Sprintf("%d is not positive", in.Amount)))
	}
	p, err := a.paymentOf(ctx, in.MerchantUID, in.ImpUID)
	if err != nil {
		return RefundStatusResult{}, gatewayError(err)
	}
	res := RefundStatusResult{Cancelled: p.Cancelled, Pending: p.Pending}
	if c, ok := ownCancellation(p, in.CancellationID, in.Amount); ok {
		// Its own cancellation: two refunds of the payment held at once finish apart, and the
		// totals cannot say which of them did.
		switch c.Status {
		case gateway.CancellationSucceeded:
			res.Status = RefundSucceeded
		case gateway.CancellationFailed:
			res.Status = RefundFailed
		default:
			res.Status = RefundRequested
		}
		return res, nil
	}
	switch {
	case p.Cancelled >= in.PriorCancelled+in.Amount:
		res.Status = RefundSucceeded
	case p.Pending > 0 && p.Cancelled+p.Pending >= in.PriorCancelled+in.Amount:
		res.Status = RefundRequested
	default:
		res.Status = RefundFailed
	}
	return res, nil
}
