package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// ScheduleChargeInput asks PortOne's scheduler to charge a cycle at ScheduleAt.
type ScheduleChargeInput struct {
	ChargeInput
	ScheduleAt time.Time `json:"schedule_at"`
}

// ScheduleStatus is how PortOne stands on one scheduled charge. It is owned here, not taken from
// the client, because the workflow must not import portone; the strings are PortOne's.
type ScheduleStatus string

// Schedule statuses.
const (
	// ScheduleNone means PortOne holds no schedule under the merchant_uid: it never had one,
	// or, with ScheduleState.Charge set, it refused to create one (ScheduleState.Refused).
	ScheduleNone ScheduleStatus = ""
	// SchedulePending means PortOne will charge at ScheduleAt; nothing was charged yet.
	SchedulePending ScheduleStatus = "scheduled"
	// ScheduleExecuted means PortOne's scheduler ran it; ScheduleState.Charge says how it went.
	ScheduleExecuted ScheduleStatus = "executed"
	// ScheduleRevoked means it was revoked before it ran; nothing was charged.
	ScheduleRevoked ScheduleStatus = "revoked"
)

// ScheduleState is what PortOne says about one scheduled charge. Read it through its methods;
// the JSON fields stay as they were so that recorded workflow histories decode unchanged, and the
// methods are derived from them for the same reason (an old history has no new field to read).
type ScheduleState struct {
	// Status is "scheduled", "executed", "revoked", or "" when PortOne has no such schedule
	// (the same JSON strings as before this package owned the type).
	Status     ScheduleStatus `json:"status"`
	ScheduleAt time.Time      `json:"schedule_at,omitzero"`
	// Charge is set once the schedule executed (or for a revoked schedule, Outcome revoked), and
	// when PortOne refused to schedule (Status "").
	Charge *ChargeResult `json:"charge,omitempty"`
}

// State is the schedule's status as this package's type.
func (s ScheduleState) State() ScheduleStatus { return s.Status }

// Executed reports whether PortOne's scheduler ran the charge; Charge then holds its result.
func (s ScheduleState) Executed() bool { return s.State() == ScheduleExecuted && s.Charge != nil }

// Pending reports whether the charge is still scheduled and has not run.
func (s ScheduleState) Pending() bool { return s.State() == SchedulePending }

// Refused reports whether PortOne refused to schedule the charge (the billing key is gone);
// Charge then holds the hard decline to record when the cycle falls due.
func (s ScheduleState) Refused() bool { return s.State() == ScheduleNone && s.Charge != nil }

// Revoked reports whether the schedule was revoked at PortOne before it ran.
func (s ScheduleState) Revoked() bool { return s.State() == ScheduleRevoked }

// NotFound reports whether PortOne holds no schedule under the merchant_uid (and did not refuse
// one just now).
func (s ScheduleState) NotFound() bool { return s.State() == ScheduleNone && s.Charge == nil }

// ScheduleCharge registers a cycle's charge with the gateway's scheduler (Gateway.Schedule).
// It is idempotent: it looks the merchant_uid up first and returns an existing schedule as is,
// so a retry after a lost answer never schedules twice (PortOne would refuse the duplicate
// merchant_uid anyway).
func (a *Activities) ScheduleCharge(ctx context.Context, in ScheduleChargeInput) (ScheduleState, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return ScheduleState{}, gerr
	}
	if in.cyclePayment() {
		if st, ours, err := a.cycleScheduleOf(ctx, in); err != nil || ours {
			return st, err
		}
	} else if st, err := a.scheduleState(ctx, in.CustomerUID, in.MerchantUID, "", in.Amount); err != nil || !st.NotFound() {
		return st, err
	}
	req := chargeRequest(in.ChargeInput, in.NaverUseCfm)
	if in.cyclePayment() {
		req.PaymentID = in.PaymentID
	}
	req.NoticeURL = a.Config.NoticeURL
	err := a.Gateway.Schedule(ctx, gateway.ScheduleRequest{ChargeRequest: req, At: in.ScheduleAt})
	if err != nil {
		if errors.Is(err, gateway.ErrKeyNotFound) {
			r := declined(in.MerchantUID, in.Amount, "billing key is not registered at PortOne: "+gateway.Message(err))
			r.Outcome = billing.OutcomeDeclinedHard
			if in.cyclePayment() {
				r.PaymentID = in.PaymentID
			}
			r = stamp(r, in.Attempt, billing.ViaSchedule)
			return ScheduleState{Status: ScheduleNone, Charge: &r}, nil
		}
		return ScheduleState{}, gatewayError(err)
	}
	return ScheduleState{Status: SchedulePending, ScheduleAt: in.ScheduleAt.UTC()}, nil
}

// SettleScheduleInput names a scheduled charge.
type SettleScheduleInput struct {
	CustomerUID string `json:"customer_uid"`
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
	// Gateway is the subscription's gateway ("" for V1).
	Gateway billing.GatewayName `json:"gateway,omitempty"`
	// PaymentID is the V2 paymentId the schedule was made under when it is not MerchantUID
	// (the cycle's, shared by its attempts: ChargeInput.PaymentID).
	PaymentID string `json:"payment_id,omitempty"`
}

// ScheduleStatus asks the gateway how a scheduled charge stands (Gateway.ScheduleOf, then the
// payment). A webhook never settles a charge by itself: this lookup does.
func (a *Activities) ScheduleStatus(ctx context.Context, in SettleScheduleInput) (ScheduleState, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return ScheduleState{}, gerr
	}
	return a.scheduleState(ctx, in.CustomerUID, in.MerchantUID, in.PaymentID, in.Amount)
}

// Unschedule revokes a scheduled charge (Gateway.Revoke). If PortOne already
// executed it, the executed charge is returned instead, so the caller takes it into account and
// never charges that cycle a second time.
func (a *Activities) Unschedule(ctx context.Context, in SettleScheduleInput) (ScheduleState, error) {
	a, gerr := a.on(in.Gateway)
	if gerr != nil {
		return ScheduleState{}, gerr
	}
	err := a.Gateway.Revoke(ctx, in.CustomerUID, cmp.Or(in.PaymentID, in.MerchantUID))
	if err != nil && !errors.Is(err, gateway.ErrNothingToRevoke) && !errors.Is(err, gateway.ErrKeyNotFound) {
		return ScheduleState{}, gatewayError(err)
	}
	st, serr := a.scheduleState(ctx, in.CustomerUID, in.MerchantUID, in.PaymentID, in.Amount)
	if serr != nil {
		return ScheduleState{}, serr
	}
	if st.Pending() {
		// PortOne said it revoked it (or that nothing was left to revoke) yet still lists it as
		// scheduled: the answer cannot be trusted yet; retry.
		return ScheduleState{}, gatewayError(gateway.UnknownOutcome("revoke", in.MerchantUID,
			fmt.Errorf("schedule still pending after unschedule")))
	}
	return st, nil
}

// cycleScheduleOf is ScheduleCharge's look-first under a cycle's shared paymentId, which may
// hold the cycle's earlier schedules too (revoked, or run and recorded): only a pending one
// (the workflow revokes a schedule before it makes another) or one that ran with a transaction
// no attempt recorded is this attempt's, made by an earlier try whose answer was lost.
func (a *Activities) cycleScheduleOf(ctx context.Context, in ScheduleChargeInput) (ScheduleState, bool, error) {
	s, err := a.Gateway.ScheduleOf(ctx, in.CustomerUID, in.PaymentID)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		return ScheduleState{}, false, nil
	case err != nil:
		return ScheduleState{}, false, gatewayError(err)
	case s.Status == gateway.SchedulePending,
		s.Status == gateway.ScheduleExecuted && s.TxID != "" && !slices.Contains(in.PriorTxIDs, s.TxID):
		st, err := a.scheduleState(ctx, in.CustomerUID, in.MerchantUID, in.PaymentID, in.Amount)
		return st, err == nil, err
	}
	return ScheduleState{}, false, nil
}

// scheduleState is how the schedule of merchantUID stands: the schedule under paymentID when
// it is set (a cycle's shared V2 paymentId), else under merchantUID itself. The result is the
// attempt's, merchantUID's.
func (a *Activities) scheduleState(ctx context.Context, customerUID, merchantUID, paymentID string, want int64) (ScheduleState, error) {
	id := cmp.Or(paymentID, merchantUID)
	if id == merchantUID {
		paymentID = ""
	}
	s, err := a.Gateway.ScheduleOf(ctx, customerUID, id)
	if errors.Is(err, gateway.ErrNotFound) {
		return ScheduleState{}, nil
	}
	if err != nil {
		return ScheduleState{}, gatewayError(err)
	}
	st := ScheduleState{Status: ScheduleStatus(s.Status), ScheduleAt: s.At}
	switch s.Status {
	case gateway.ScheduleRevoked:
		res := stamp(ChargeResult{Outcome: billing.OutcomeRevoked, MerchantUID: merchantUID, PaymentID: paymentID, Amount: want, At: s.RevokedAt},
			attemptOf(merchantUID), billing.ViaSchedule)
		st.Charge = &res
	case gateway.ScheduleExecuted:
		var p gateway.Payment
		if s.TxID != "" {
			p, err = a.paymentOf(ctx, id, s.TxID)
		} else {
			err = fmt.Errorf("executed schedule without imp_uid")
		}
		if err != nil {
			return ScheduleState{}, gatewayError(err)
		}
		res, err := a.settle(ctx, merchantUID, want, p)
		if err != nil {
			return ScheduleState{}, err
		}
		res.PaymentID = paymentID
		res = stamp(res, attemptOf(merchantUID), billing.ViaSchedule)
		st.Charge = &res
	}
	return st, nil
}
