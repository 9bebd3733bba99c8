package portonetest

// V2 cancels: POST /payments/{paymentId}/cancel with compare-and-set on
// currentCancellableAmount, synchronous (SUCCEEDED) or, with the async option, REQUESTED now
// and SUCCEEDED later on the emulator's clock.

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// v2Cancellable returns what can still be cancelled: total and tax-free parts, net of
// succeeded cancels and of cancels still REQUESTED (their amounts are spoken for).
func (p *payment) v2Cancellable() (total, taxFree int64) {
	total, taxFree = p.amount, p.taxFree
	for _, cn := range p.v2.cancellations {
		if cn.status == v2CancelSucceeded || cn.status == v2CancelRequested {
			total -= cn.total
			taxFree -= cn.taxFree
		}
	}
	return total, taxFree
}

// v2Cancel serves POST /payments/{paymentId}/cancel. Amount omitted: everything left,
// tax-free part included. Amount given and taxFreeAmount omitted: a fully taxable cancel, as
// the document says ("값을 입력하지 않으면 전액 과세 취소됩니다"). vatAmount omitted: computed
// (1/11 of the taxable part; the rest of the VAT on the last cancel).
func (e *Emulator) v2Cancel(c *v2Call) v2Result {
	b := c.body
	reason, _, err := b.str("reason")
	if err != nil {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
	}
	if reason == "" {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "reason: required")
	}
	requester, _, err := b.str("requester")
	if err != nil || (requester != "" && requester != "CUSTOMER" && requester != "ADMIN") {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "requester: must be CUSTOMER or ADMIN")
	}
	amount, amountGiven, err1 := b.int("amount")
	taxFree, taxFreeGiven, err2 := b.int("taxFreeAmount")
	vat, vatGiven, err3 := b.int("vatAmount")
	current, currentGiven, err4 := b.int("currentCancellableAmount")
	skip, _, err5 := b.boolean("skipWebhook")
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return v2Fail(http.StatusBadRequest, v2InvalidRequest, "%s", err.Error())
		}
	}
	if (amountGiven && amount <= 0) || taxFree < 0 || vat < 0 {
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "amount must be positive; taxFreeAmount and vatAmount must not be negative")
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	p := v2Current(c.m.v2.attempts[c.r.PathValue("paymentId")])
	switch {
	case p == nil:
		return v2Fail(http.StatusNotFound, v2PaymentNotFound, "결제 건이 존재하지 않습니다.")
	case !p.wasPaid():
		return v2Fail(http.StatusConflict, v2PaymentNotPaid, "결제가 완료되지 않은 건입니다.")
	}
	left, leftTaxFree := p.v2Cancellable()
	if left == 0 {
		return v2Fail(http.StatusConflict, v2PaymentAlreadyCancelled, "이미 취소된 결제 건입니다.")
	}
	if currentGiven && current != left {
		return v2Fail(http.StatusConflict, v2ConsistencyBroken, "취소 가능 잔액 검증에 실패했습니다. (currentCancellableAmount %d, 실제 %d)", current, left)
	}
	if !amountGiven {
		amount = left
		if !taxFreeGiven {
			taxFree = leftTaxFree
		}
	}
	switch {
	case amount > left:
		return v2Fail(http.StatusConflict, v2CancelExceeds, "취소 금액(%d)이 취소 가능 금액(%d)을 초과합니다.", amount, left)
	case taxFree > amount:
		return v2Fail(http.StatusBadRequest, v2InvalidRequest, "taxFreeAmount(%d) exceeds the cancel amount (%d)", taxFree, amount)
	case taxFree > leftTaxFree:
		return v2Fail(http.StatusConflict, v2CancelTaxFreeExceeds, "면세 취소 금액(%d)이 취소 가능 면세 금액(%d)을 초과합니다.", taxFree, leftTaxFree)
	case amount-taxFree > left-leftTaxFree:
		return v2Fail(http.StatusConflict, "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT", "과세 취소 금액(%d)이 취소 가능 과세 금액(%d)을 초과합니다.", amount-taxFree, left-leftTaxFree)
	}
	if !vatGiven {
		vat = (amount - taxFree) / 11
		if amount == left {
			vat = p.v2.vat
			for _, cn := range p.v2.cancellations {
				if cn.status != v2CancelFailed {
					vat -= cn.vat
				}
			}
			vat = max(vat, 0)
		}
	}
	if requester == "" {
		e.reviewWarningLocked(c.m, "POST /payments/{paymentId}/cancel", p.customerUID, p.impUID, reason, false)
	}
	if f := e.fireLocked(c.op, p.v2Subject(), FaultDecline, FaultDeclineCode); f != nil {
		msg := f.Reason
		if msg == "" {
			msg = "[네이버페이] 취소에 실패했습니다."
		}
		code := f.PGCode
		if code == "" {
			code = V2PGCodeError
		}
		return v2Result{status: http.StatusBadGateway, body: v2Error{Type: v2PGProvider, Message: msg, PGCode: code, PGMessage: msg}}
	}
	cn := &v2Cancellation{
		id: newUUID(), pgID: fmt.Sprintf("%sC%s", now.In(kst).Format("20060102"), randomDigits(11)), status: v2CancelRequested,
		total: amount, taxFree: taxFree, vat: vat, reason: reason, requester: requester, requestedAt: now,
		noticeURLs: p.v2.noticeURLs, skipWebhook: skip,
	}
	p.v2.cancellations = append(p.v2.cancellations, cn)
	if e.v2AsyncCancel {
		cn.dueAt, cn.failLater = now.Add(e.v2AsyncDelay), e.v2AsyncFail
		if !skip {
			ev := v2PaymentEvent("Transaction.CancelPending", p)
			ev.CancellationID = cn.id
			e.enqueueV2WebhookLocked(c.m, cn.noticeURLs, ev, p.v2Subject(), OpV2Cancel)
		}
	} else {
		e.v2CompleteCancelLocked(p, cn, now)
	}
	res := v2OK(map[string]any{"cancellation": cn.wire()})
	res.after = e.fireLocked(c.op, p.v2Subject(), FaultCommitThenDrop, FaultLatencyAfterCommit)
	return res
}

// v2CompleteCancelLocked makes a REQUESTED cancellation SUCCEEDED: the refund reaches the
// shared ledger and Transaction.Cancelled (or PartialCancelled) goes out.
func (e *Emulator) v2CompleteCancelLocked(p *payment, cn *v2Cancellation, now time.Time) {
	cn.status, cn.cancelledAt = v2CancelSucceeded, now
	p.cancelAmount += cn.total
	p.cancels = append(p.cancels, cancelRecord{pgTID: cn.pgID, amount: cn.total, taxFree: cn.taxFree, cancelledAt: now.Unix(), requestedAt: cn.requestedAt.Unix(),
		reason: cn.reason, cancellationID: cn.id})
	p.cancelledAt, p.cancelReason, p.updatedAt = now.Unix(), cn.reason, now.Unix()
	typ := "Transaction.PartialCancelled"
	if p.remaining() == 0 {
		p.status = statusCancelled
		typ = "Transaction.Cancelled"
	}
	if !cn.skipWebhook {
		ev := v2PaymentEvent(typ, p)
		ev.CancellationID = cn.id
		if !cn.dueAt.IsZero() {
			ev.trigger = "ASYNC_CANCEL_APPROVED"
		}
		e.enqueueV2WebhookLocked(p.m, cn.noticeURLs, ev, p.v2Subject(), OpV2Cancel)
	}
	e.log.Info("v2 cancel", slog.String("payment_id", p.merchantUID), slog.String("transaction_id", p.impUID),
		slog.Int64("amount", cn.total), slog.String("status", p.v2Status()))
}

// v2FailCancelLocked makes a REQUESTED cancellation FAILED (SetV2AsyncCancelFail): nothing
// reaches the ledger, and its amount is cancellable again (v2Cancellable counts only
// SUCCEEDED and REQUESTED ones). PortOne documents no webhook for a failed cancellation; none
// is sent, the payment is as it was.
func (e *Emulator) v2FailCancelLocked(p *payment, cn *v2Cancellation) {
	cn.status = v2CancelFailed
	e.log.Info("v2 cancel failed", slog.String("payment_id", p.merchantUID), slog.String("transaction_id", p.impUID),
		slog.Int64("amount", cn.total), slog.String("status", p.v2Status()))
}

// runDueV2CancelsLocked completes (or fails) the asynchronous cancels whose time has come.
func (e *Emulator) runDueV2CancelsLocked(now time.Time) int {
	n := 0
	for _, key := range e.merchantOrder {
		m := e.merchants[key]
		for _, id := range m.v2.paymentIDs {
			for _, p := range m.v2.attempts[id] {
				for _, cn := range p.v2.cancellations {
					if cn.status == v2CancelRequested && !cn.dueAt.After(now) {
						if cn.failLater {
							e.v2FailCancelLocked(p, cn)
						} else {
							e.v2CompleteCancelLocked(p, cn, now)
						}
						n++
					}
				}
			}
		}
	}
	return n
}
