package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway"
)

// ChargeInput asks for one charge attempt of a billing cycle.
type ChargeInput struct {
	SubscriptionID string `json:"subscription_id"`
	Cycle          int    `json:"cycle"`
	Attempt        int    `json:"attempt"`
	CustomerUID    string `json:"customer_uid"`
	// MerchantUID is this attempt's merchant_uid.
	MerchantUID string `json:"merchant_uid"`
	// PriorMerchantUIDs are the cycle's earlier attempts (and its PortOne schedule, if any). They
	// are looked up first: if any of them was paid, that payment is the cycle's and nothing is
	// charged, which is what makes "at most one paid charge per cycle" hold even when an earlier
	// answer was lost.
	PriorMerchantUIDs []string      `json:"prior_merchant_uids,omitempty"`
	Amount            int64         `json:"amount"`
	TaxFree           int64         `json:"tax_free,omitempty"`
	Name              string        `json:"name"`
	Buyer             billing.Buyer `json:"buyer,omitzero"`
	NaverUseCfm       string        `json:"naver_use_cfm,omitempty"`
	// DueAt is the cycle's due instant, for the charge-lateness metric only (never for a
	// decision). Zero: unknown, no lateness is recorded.
	DueAt time.Time `json:"due_at,omitzero"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
	// PaymentID is the PortOne V2 paymentId to charge under when it is not MerchantUID: the
	// cycle's (billing.CyclePaymentID), shared by the cycle's attempts (cyclepayment.go). Empty
	// on V1 and in V2 runs before versionCyclePayment: the attempt's merchant_uid is its payment.
	PaymentID string `json:"payment_id,omitempty"`
	// PriorPaymentIDs are the cycle's other paymentIds, looked up before a charge as
	// PriorMerchantUIDs are on V1: earlier generations of the cycle's paymentId and the
	// per-attempt paymentIds of runs before versionCyclePayment. Only with PaymentID.
	PriorPaymentIDs []string `json:"prior_payment_ids,omitempty"`
	// PriorTxIDs are the transactionIds the workflow recorded for the cycle's attempts: a
	// transaction under PaymentID that is not among them was made by this attempt (a lost
	// answer), one among them by an earlier attempt. Only with PaymentID.
	PriorTxIDs []string `json:"prior_tx_ids,omitempty"`
	// AnswerOnly takes PortOne's approval as the whole answer (gateway.ChargeRequest.AnswerOnly):
	// one request per approved V2 charge, whose result is paid for the amount asked without
	// its transactionId (ImpUID), which the workflow learns from the verified webhook. Set by
	// runs from versionAnswerOnlyCharge, with PaymentID.
	AnswerOnly bool `json:"answer_only,omitempty"`
}

// ChargeResult is the settled outcome of a charge attempt. A decline is a result, not an error.
type ChargeResult struct {
	Outcome billing.Outcome `json:"outcome"`
	// MerchantUID is the merchant_uid that settled the cycle: the attempt's own, or a prior one
	// that turned out to be paid.
	MerchantUID string    `json:"merchant_uid"`
	ImpUID      string    `json:"imp_uid,omitempty"`
	Amount      int64     `json:"amount"`
	Reason      string    `json:"reason,omitempty"`
	ReceiptURL  string    `json:"receipt_url,omitempty"`
	At          time.Time `json:"at,omitzero"`
	// Adopted is true when no new charge was made because a payment already existed.
	Adopted bool `json:"adopted,omitempty"`
	// Attempt is the attempt number of MerchantUID (for an adopted payment, the earlier attempt's
	// own), and Via the PortOne operation that made the charge: again for Charge and Lookup,
	// schedule for the schedule activities. Both are 0/"" in results recorded before they
	// existed, so a reader of old histories falls back to what it knew before.
	Attempt int         `json:"attempt,omitempty"`
	Via     billing.Via `json:"via,omitempty"`
	// PaymentID is the V2 paymentId the attempt was made under when it is not MerchantUID (a
	// cycle's shared paymentId, ChargeInput.PaymentID, or the next generation of it the charge
	// moved to); ImpUID is then the attempt's transactionId under it.
	PaymentID string `json:"payment_id,omitempty"`
}

// customData is stored on every PortOne payment so that the console shows what it was for. It
// carries no personal data.
func customData(in ChargeInput) string {
	b, _ := json.Marshal(map[string]any{"subscription_id": in.SubscriptionID, "cycle": in.Cycle, "attempt": in.Attempt})
	return string(b)
}

// Charge makes one charge attempt through Gateway.Charge, safely:
//  1. when an earlier try could have charged (mayHaveCharged: an activity retry, or earlier
//     attempts of the cycle), it looks up this attempt's and the cycle's earlier merchant_uids;
//     a paid one is adopted, and an attempt already declined is reported as declined without
//     charging again. A first try of a cycle's first attempt skips the lookup: nothing can
//     exist under its merchant_uid yet, so it costs PortOne one request, not two;
//  2. otherwise it charges; PortOne refuses a merchant_uid that was already paid, and that
//     refusal is settled by a lookup (the safety net for a try nobody knew about);
//  3. a paid amount that differs from the requested amount is refunded at once and reported as
//     amount_mismatch;
//  4. a decline is classified soft or hard; when the lost answer leaves the outcome unknown the
//     activity fails with a retryable GatewayOutcomeUnknown error and the retry starts at step 1.
func (a *Activities) Charge(ctx context.Context, in ChargeInput) (ChargeResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return ChargeResult{}, gerr
	}
	res, err := a.charge(ctx, in)
	if err == nil && res.Adopted && res.Outcome == billing.OutcomePaid && res.Amount != in.Amount && ownAdopted(in, res) {
		// A payment of this attempt found by the look-first for another amount than asked:
		// the try that made it had begun cancelling it (the mismatch rule) and did not see the
		// cancel through. It is held to the same rule, never adopted as paid.
		res, err = a.refundAdopted(ctx, in, res)
	}
	if err != nil {
		return ChargeResult{}, err
	}
	var late time.Duration
	if !in.DueAt.IsZero() && !res.At.IsZero() {
		late = res.At.Sub(in.DueAt)
	}
	a.observer().Charge(res.Outcome, DeclineClass(res.Outcome, res.Reason), res.Amount, late, !in.DueAt.IsZero() && !res.At.IsZero())
	return stamp(res, in.Attempt, billing.ViaAgain), nil
}

func (a *Activities) charge(ctx context.Context, in ChargeInput) (ChargeResult, error) {
	if in.cyclePayment() {
		return a.chargeCycle(ctx, in)
	}
	if mayHaveCharged(ctx, in) {
		if prior, ok, err := a.lookup(ctx, in.PriorMerchantUIDs, in.MerchantUID); err != nil || ok {
			return prior, err
		}
	}
	p, err := a.Gateway.Charge(ctx, chargeRequest(in, naverUseCfmNotBefore(in.NaverUseCfm, a.now())))
	switch {
	case err == nil:
		// A decline is a failed payment here, whether the PG stored an attempt or only refused
		// with its text (the gateway tells the two apart, not us).
		return a.settle(ctx, in.MerchantUID, in.Amount, p)
	case errors.Is(err, gateway.ErrKeyNotFound):
		return ChargeResult{Outcome: billing.OutcomeDeclinedHard, MerchantUID: in.MerchantUID, Amount: in.Amount,
			Reason: "billing key is not registered at PortOne: " + gateway.Message(err)}, nil
	case errors.Is(err, gateway.ErrAlreadyPaid):
		// Another attempt of ours got there first (a lost answer). The lookup settles it.
		if prior, ok, lerr := a.lookup(ctx, nil, in.MerchantUID); lerr != nil || ok {
			return prior, lerr
		}
		return ChargeResult{}, gatewayError(gateway.UnknownOutcome("charge", in.MerchantUID, err))
	}
	// A refusal here refused our request, not the customer's card: gatewayError decides.
	return ChargeResult{}, gatewayError(err)
}

// chargeRequest is the gateway's request for in, with NaverPay's 이용완료일 cfm.
func chargeRequest(in ChargeInput, cfm string) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		Key:         in.CustomerUID,
		PaymentID:   in.MerchantUID,
		Amount:      in.Amount,
		TaxFree:     in.TaxFree,
		Name:        in.Name,
		Buyer:       in.Buyer,
		CustomData:  customData(in),
		NaverUseCfm: cfm,
		AnswerOnly:  in.AnswerOnly,
	}
}

// mayHaveCharged reports whether an earlier try could have charged one of the cycle's
// merchant_uids, so that Charge must look before it charges:
//   - Temporal retries this activity (attempt > 1): the earlier try may have reached PortOne
//     and lost its answer (a timeout after PortOne committed, a worker killed mid-request), and
//     a lost decline must not be charged again under the same merchant_uid, which PortOne would
//     accept (it refuses only merchant_uids that were paid);
//   - the cycle had earlier attempts (PriorMerchantUIDs, or an attempt number above 1): one of
//     them may have been paid after all (an unknown outcome, a PortOne schedule that ran), and a
//     new merchant_uid is not protected by PortOne's duplicate check.
//
// Only the first try of a cycle's first attempt skips the lookup. Outside an activity (a
// direct call, as in benchmarks) there is no retry to know about, and the input decides.
func mayHaveCharged(ctx context.Context, in ChargeInput) bool {
	if len(in.PriorMerchantUIDs) > 0 || in.Attempt > 1 {
		return true
	}
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
}

func declined(merchantUID string, amount int64, reason string) ChargeResult {
	outcome := billing.OutcomeDeclined
	if IsHardDecline(reason) {
		outcome = billing.OutcomeDeclinedHard
	}
	if reason == "" {
		reason = "declined without a reason"
	}
	return ChargeResult{Outcome: outcome, MerchantUID: merchantUID, Amount: amount, Reason: reason}
}

// settle turns a payment the gateway answered for merchantUID into a result, refunding a
// payment whose amount differs from what was asked.
func (a *Activities) settle(ctx context.Context, merchantUID string, want int64, p gateway.Payment) (ChargeResult, error) {
	res := ChargeResult{MerchantUID: merchantUID, ImpUID: p.TxID, Amount: p.Amount, ReceiptURL: p.ReceiptURL}
	switch p.Status {
	case gateway.StatusPaid:
		res.At = p.PaidAt
		if p.Amount != want {
			return a.refundMismatch(ctx, res, want, p)
		}
		res.Outcome = billing.OutcomePaid
		return res, nil
	case gateway.StatusFailed:
		d := declined(merchantUID, want, p.FailReason)
		d.ImpUID, d.At = p.TxID, p.FailedAt
		return d, nil
	case gateway.StatusCancelled:
		res.Outcome = billing.OutcomeAmountMismatch
		res.Reason = fmt.Sprintf("payment %s was cancelled at PortOne (cancelled amount %d)", p.TxID, p.Cancelled)
		return res, nil
	default:
		// A pending attempt ("ready") never happens for billing-key charges; treat it as not
		// settled yet.
		return ChargeResult{}, gatewayError(gateway.UnknownOutcome("charge", merchantUID,
			fmt.Errorf("payment %s in status %q", p.TxID, p.Status)))
	}
}

// refundMismatch cancels a payment whose paid amount differs from the amount requested: the seed
// guide's rule is never to keep money the customer did not agree to. What a cancel already asks
// (V2's REQUESTED, an asynchronous cancel) is not asked again: PortOne would refuse the stale
// expected remainder. A cancel PortOne answers REQUESTED is asked for, and said so.
func (a *Activities) refundMismatch(ctx context.Context, res ChargeResult, want int64, p gateway.Payment) (ChargeResult, error) {
	activity.GetLogger(ctx).Warn("paid amount differs from the amount requested; cancelling",
		"merchant_uid", res.MerchantUID, "imp_uid", p.TxID, "requested", want, "paid", p.Amount)
	requested := p.Pending > 0
	if balance := p.Amount - p.Cancelled - p.Pending; balance > 0 {
		_, err := a.Gateway.Refund(ctx, gateway.RefundRequest{
			TxID:              p.TxID,
			PaymentID:         p.PaymentID,
			ExpectedRemaining: balance,
			Reason:            fmt.Sprintf("결제 금액 불일치 (요청 %d원, 승인 %d원)", want, p.Amount),
			Requester:         billing.RequesterAdmin,
		})
		var asked *gateway.RequestedCancellation
		switch {
		case err == nil:
			a.observer().Refunded(balance)
		case errors.As(err, &asked):
			requested = true
		case !errors.Is(err, gateway.ErrAlreadyCancelled):
			return ChargeResult{}, gatewayError(err)
		}
	}
	res.Outcome = billing.OutcomeAmountMismatch
	res.Reason = fmt.Sprintf("paid amount %d differs from requested %d; the payment was cancelled", p.Amount, want)
	if requested {
		res.Reason = fmt.Sprintf("paid amount %d differs from requested %d; its cancel was requested at PortOne (REQUESTED, not finished yet; reconciliation compares it with PortOne's ledger)", p.Amount, want)
	}
	return res, nil
}

// ownAdopted reports whether an adopted payment is this attempt's own: its merchant_uid (V1,
// or a V2 attempt's own paymentId), or under the cycle's shared paymentId a transaction no
// recorded attempt holds. A recorded earlier attempt's payment keeps what it was asked.
func ownAdopted(in ChargeInput, res ChargeResult) bool {
	if in.cyclePayment() {
		return res.ImpUID != "" && !slices.Contains(in.PriorTxIDs, res.ImpUID)
	}
	return res.MerchantUID == in.MerchantUID
}

// refundAdopted holds an adopted payment of this attempt whose amount differs from the one asked
// to the mismatch rule: it reads the payment again (what is cancelled and asked already, also
// since the lookup) and cancels the rest, if any.
func (a *Activities) refundAdopted(ctx context.Context, in ChargeInput, res ChargeResult) (ChargeResult, error) {
	p, err := a.paymentOf(ctx, cmp.Or(res.PaymentID, res.MerchantUID), res.ImpUID)
	if err != nil {
		return ChargeResult{}, gatewayError(err)
	}
	return a.refundMismatch(ctx, res, in.Amount, p)
}

// lookup looks the given merchant_uids up. It reports ok when one of them settles the charge: a
// paid prior or current attempt, or the current attempt already declined or cancelled.
func (a *Activities) lookup(ctx context.Context, prior []string, current string) (ChargeResult, bool, error) {
	uids := append(append([]string(nil), prior...), current)
	for _, uid := range uids {
		payments, err := a.Gateway.Payments(ctx, uid)
		if err != nil {
			return ChargeResult{}, false, gatewayError(err)
		}
		var failed, cancelled *gateway.Payment
		for i := range payments {
			p := &payments[i]
			switch p.Status {
			case gateway.StatusPaid:
				res := ChargeResult{Outcome: billing.OutcomePaid, MerchantUID: uid, ImpUID: p.TxID, Amount: p.Amount,
					ReceiptURL: p.ReceiptURL, At: p.PaidAt, Adopted: true}
				return res, true, nil
			case gateway.StatusCancelled:
				cancelled = p
			case gateway.StatusFailed:
				if failed == nil || p.FailedAt.After(failed.FailedAt) {
					failed = p
				}
			}
		}
		if uid != current {
			continue // a prior attempt that failed or was refunded is already recorded
		}
		switch {
		case cancelled != nil:
			return ChargeResult{Outcome: billing.OutcomeAmountMismatch, MerchantUID: uid, ImpUID: cancelled.TxID, Amount: cancelled.Amount,
				Reason: "this attempt was already charged and cancelled", Adopted: true}, true, nil
		case failed != nil:
			d := declined(uid, failed.Amount, failed.FailReason)
			d.ImpUID, d.At, d.Adopted = failed.TxID, failed.FailedAt, true
			return d, true, nil
		}
	}
	return ChargeResult{}, false, nil
}

// LookupInput names merchant_uids to reconcile.
type LookupInput struct {
	MerchantUIDs []string `json:"merchant_uids"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
	// PaymentID, PriorPaymentIDs and PriorTxIDs are the cycle's V2 payment, as ChargeInput has
	// them: with PaymentID set, Lookup looks the cycle's paymentIds up (cyclepayment.go) and
	// the last of MerchantUIDs names the attempt a transaction nobody recorded belongs to.
	PaymentID       string   `json:"payment_id,omitempty"`
	PriorPaymentIDs []string `json:"prior_payment_ids,omitempty"`
	PriorTxIDs      []string `json:"prior_tx_ids,omitempty"`
}

// LookupResult says whether any of the merchant_uids exists at PortOne and how it settled.
type LookupResult struct {
	Found  bool         `json:"found"`
	Charge ChargeResult `json:"charge"`
}

// Lookup reconciles charges whose outcome stayed unknown: it reports the paid one if any, else
// the last one's decline, else not found. "Not found" is a definite answer: PortOne answered and
// holds no payment under any of these merchant_uids.
func (a *Activities) Lookup(ctx context.Context, in LookupInput) (LookupResult, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return LookupResult{}, gerr
	}
	if len(in.MerchantUIDs) == 0 {
		return LookupResult{}, gatewayError(gateway.InvalidRequest("Lookup", "merchant_uids", "empty"))
	}
	n := len(in.MerchantUIDs)
	if in.PaymentID != "" && in.PaymentID != in.MerchantUIDs[n-1] {
		// The lookup follows an unknown outcome: a transaction nobody recorded is this attempt's.
		cin := ChargeInput{MerchantUID: in.MerchantUIDs[n-1], PaymentID: in.PaymentID, PriorPaymentIDs: in.PriorPaymentIDs, PriorTxIDs: in.PriorTxIDs}
		res, ok, err := a.lookupCycle(ctx, cin, in.PaymentID, in.PriorPaymentIDs, true)
		if err != nil || !ok {
			return LookupResult{}, err
		}
		return LookupResult{Found: true, Charge: stamp(res, 0, billing.ViaAgain)}, nil
	}
	res, ok, err := a.lookup(ctx, in.MerchantUIDs[:n-1], in.MerchantUIDs[n-1])
	if err != nil || !ok {
		return LookupResult{}, err
	}
	return LookupResult{Found: true, Charge: stamp(res, 0, billing.ViaAgain)}, nil
}

// naverUseCfmNotBefore returns cfm (yyyyMMdd), or the KST date of at when cfm is before it:
// NaverPay refuses a 이용완료일 before the payment day, and an attempt retried after midnight
// would otherwise send yesterday's date computed by the workflow.
func naverUseCfmNotBefore(cfm string, at time.Time) string {
	if cfm == "" {
		return ""
	}
	if today := at.In(calendar.Seoul).Format("20060102"); cfm < today {
		return today
	}
	return cfm
}
