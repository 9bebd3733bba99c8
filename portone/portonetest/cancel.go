package portonetest

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
)

// Guessed cancel refusals: the rules are documented, the texts are not.
const (
	msgCancelNoID         = "imp_uid 또는 merchant_uid 중 하나는 지정해주셔야합니다."
	msgCancelNothingLeft  = "취소 가능한 잔액이 없습니다."
	msgCancelPGRefused    = "[네이버페이] 결제 취소 요청이 거절되었습니다."
	msgCancelBadRequester = "extra.requester는 customer 또는 admin 이어야 합니다."
)

// handleCancel serves POST /payments/cancel: a full or partial refund of a paid payment.
func (e *Emulator) handleCancel(c *call) result {
	impUID, _, err := c.p.str("imp_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	merchantUID, _, err := c.p.str("merchant_uid")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	amount, _, err := c.p.int("amount")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	checksum, hasChecksum, err := c.p.int("checksum")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	taxFree, _, err := c.p.int("tax_free")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	reason, _, err := c.p.str("reason")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	enableWebhook, _, err := c.p.boolean("enable_webhook")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	extra, _, err := c.p.obj("extra")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	requester, hasRequester, err := extra.str("requester")
	if err != nil {
		return refuse(http.StatusOK, 1, err.Error())
	}
	if impUID == "" && merchantUID == "" {
		return refuse(http.StatusOK, 1, msgCancelNoID)
	}
	if hasRequester && !slices.Contains(requesters, requester) {
		return refuse(http.StatusOK, 1, msgCancelBadRequester)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	var p *payment
	if impUID != "" { // imp_uid wins when both are given
		p = c.m.byImp[impUID]
	} else {
		// Prefer the approved record: failed attempts may share its merchant_uid.
		ps := c.m.paymentsByMUIDLocked(merchantUID, "", true)
		sortPayments(ps, "-started")
		for _, cand := range ps {
			if cand.wasPaid() {
				p = cand
				break
			}
		}
	}
	switch {
	case p == nil:
		return refuse(http.StatusOK, 1, msgNothingToCancel)
	case p.status == statusCancelled:
		return refuse(http.StatusOK, 1, msgAlreadyCancelled)
	case p.status != statusPaid:
		// Guess: a failed or unpaid payment has nothing to cancel.
		return refuse(http.StatusOK, 1, msgNothingToCancel)
	}
	left := p.remaining()
	if left <= 0 {
		return refuse(http.StatusOK, 1, msgCancelNothingLeft)
	}
	if amount < 0 {
		return refuse(http.StatusOK, 1, "amount 파라메터는 0 이상이어야 합니다.")
	}
	cancelAmt := amount
	if cancelAmt == 0 {
		cancelAmt = left // omitted or 0 means everything that is left
	}
	if hasChecksum && checksum != left {
		// Guess at the text; the rule (checksum = amount - cancel_amount) is documented.
		return refuse(http.StatusOK, 1, fmt.Sprintf("checksum(%d)이 취소 가능 잔액(%d)과 일치하지 않습니다. 이미 취소된 내역이 있는지 확인해주세요.", checksum, left))
	}
	if cancelAmt > left {
		return refuse(http.StatusOK, 1, fmt.Sprintf("취소 요청금액(%d)이 취소 가능 잔액(%d)보다 큽니다.", cancelAmt, left))
	}
	if taxFree < 0 || taxFree > cancelAmt {
		return refuse(http.StatusOK, 1, fmt.Sprintf("tax_free(%d)는 0 이상이며 취소 요청금액(%d)보다 클 수 없습니다.", taxFree, cancelAmt))
	}
	subj := subject{merchant: c.m.key, customerUID: p.customerUID, merchantUID: p.merchantUID}
	if f := e.fireLocked(OpCancel, subj, FaultDecline, FaultDeclineCode); f != nil {
		msg := f.Reason
		if msg == "" {
			msg = msgCancelPGRefused
		}
		return refuse(http.StatusOK, -1, msg)
	}
	if p.pgProvider == PGNaverPay {
		e.reviewWarningLocked(c.m, "POST /payments/cancel", p.customerUID, p.impUID, reason, hasRequester)
	}

	cr := cancelRecord{
		pgTID:          fmt.Sprintf("%sC%s", now.In(kst).Format("20060102"), randomDigits(11)),
		amount:         cancelAmt,
		taxFree:        taxFree,
		cancelledAt:    now.Unix(),
		reason:         reason,
		cancellationID: randomBase32(26),
		receiptURL:     receiptURL(p.impUID) + "/cancel/" + fmt.Sprint(len(p.cancels)+1),
	}
	p.cancels = append(p.cancels, cr)
	p.cancelAmount += cancelAmt
	// Guess: cancelled_at and cancel_reason track the latest cancel, partial ones included.
	p.cancelledAt = now.Unix()
	p.cancelReason = reason
	p.updatedAt = now.Unix()
	if p.remaining() == 0 {
		p.status = statusCancelled
	}
	e.log.Info("cancel", slog.String("merchant", maskKey(c.m.key)), slog.String("imp_uid", p.impUID),
		slog.String("merchant_uid", p.merchantUID), slog.Int64("amount", cancelAmt),
		slog.Int64("cancel_amount", p.cancelAmount), slog.String("status", p.status))
	if enableWebhook {
		e.enqueueWebhookLocked(c.m, e.noticeURL(p.noticeURL), p, statusCancelled, cr.cancellationID, OpCancel)
	}
	res := ok(p.wire())
	res.after = e.fireLocked(c.op, subj, FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}
