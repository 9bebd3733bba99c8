package portonev2

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

var ctx = context.Background()

func chargeReq() gateway.ChargeRequest {
	return gateway.ChargeRequest{Key: "bk-1", PaymentID: "sub-1-c1", Amount: 9900, TaxFree: 900, Name: "월 구독",
		Buyer: billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "hong@example.com"}, CustomData: `{"cycle":1}`, NaverUseCfm: "20250430"}
}

// TestChargeSendsWhatTheSpecAndNaverPayAsk pins the charge's wire: the PortOne scheme with the
// secret, the paymentId in the path (escaped), amount.total and amount.taxFree, KRW, the order
// name, the store and channel, NaverPay's 이용완료일 as bypass.naverpay.useCfmYmdt; then the
// lookup that gives the contract its transactionId and charged amount.
func TestChargeSendsWhatTheSpecAndNaverPayAsk(t *testing.T) {
	f := newFake(t)
	f.on("POST /payments/{paymentId}/billing-key", func(seen) answer {
		return ok(map[string]any{"payment": map[string]any{"pgTxId": "pg-1", "paidAt": t1}})
	})
	f.on("GET /payments/{paymentId}", func(s seen) answer {
		return ok(paidPayment("sub-1/c1", "tx-1", 9900))
	})
	g := f.gateway(t, Config{StoreID: "store-1", ChannelKey: "channel-key-1", Secret: "sek"})
	req := chargeReq()
	req.PaymentID = "sub-1/c1" // a slash must stay one path segment
	p, err := g.Charge(ctx, req)
	require.NoError(t, err)
	require.Equal(t, gateway.Payment{PaymentID: "sub-1/c1", TxID: "tx-1", Key: "bk-1", Status: gateway.StatusPaid, Amount: 9900,
		ReceiptURL: "https://receipt.example/tx-1", Usage: gateway.UsageCharge, StartedAt: mustTime(t0), PaidAt: mustTime(t1)}, p)

	rs := f.requests()
	require.Len(t, rs, 2, "one charge and one lookup")
	pay := rs[0]
	require.Equal(t, "PortOne sek", pay.Auth)
	require.Equal(t, "/payments/sub-1/c1/billing-key", pay.Path) // decoded by the server; sent as %2F
	require.Equal(t, map[string]any{
		"storeId": "store-1", "billingKey": "bk-1", "channelKey": "channel-key-1", "orderName": "월 구독",
		"customer":   map[string]any{"name": map[string]any{"full": "홍길동"}, "email": "hong@example.com", "phoneNumber": "010-1234-5678"},
		"customData": `{"cycle":1}`, "amount": map[string]any{"total": 9900.0, "taxFree": 900.0}, "currency": "KRW",
		"bypass": map[string]any{"naverpay": map[string]any{"useCfmYmdt": "20250430"}},
	}, pay.Body)
	require.Equal(t, "GET", rs[1].Method)
	require.Equal(t, "storeId=store-1", rs[1].Query)
}

// TestChargeAnsweredByTheApprovalAlone: with AnswerOnly the approval is the whole answer, one
// request (no lookup after it: a failing lookup would show), the Payment paid for the amount
// asked with PortOne's paidAt and no transactionId; the webhook that names it is asked for at
// NoticeURL.
func TestChargeAnsweredByTheApprovalAlone(t *testing.T) {
	f := newFake(t)
	f.on("POST /payments/{paymentId}/billing-key", func(seen) answer {
		return ok(map[string]any{"payment": map[string]any{"pgTxId": "pg-1", "paidAt": t1}})
	})
	f.on("GET /payments/{paymentId}", func(seen) answer {
		return answer{status: 503, body: map[string]any{"message": "busy"}, unpublished: true}
	})
	req := chargeReq()
	req.AnswerOnly, req.NoticeURL = true, "https://edge.example/portone/v2/webhook"
	p, err := f.gateway(t, Config{}).Charge(ctx, req)
	require.NoError(t, err)
	require.Equal(t, gateway.Payment{PaymentID: req.PaymentID, Key: "bk-1", Status: gateway.StatusPaid, Amount: 9900,
		Usage: gateway.UsageCharge, PaidAt: mustTime(t1)}, p)
	rs := f.requests()
	require.Len(t, rs, 1, "the charge alone")
	require.Equal(t, []any{"https://edge.example/portone/v2/webhook"}, rs[0].Body["noticeUrls"])
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestDeclineIsAResult: 502 PG_PROVIDER is the PG's decline, answered as a failed attempt with
// the PG's message and code, completed with the attempt's transactionId by the lookup; the
// decline stands when the lookup fails.
func TestDeclineIsAResult(t *testing.T) {
	for _, lookupFails := range []bool{false, true} {
		f := newFake(t)
		f.on("POST /payments/{paymentId}/billing-key", func(seen) answer { return typedError(502, "PG_PROVIDER") })
		f.on("GET /payments/{paymentId}", func(seen) answer {
			if lookupFails {
				return typedError(401, "UNAUTHORIZED")
			}
			return ok(failedPayment("sub-1-c1", "tx-9", 9900))
		})
		p, err := f.gateway(t, Config{}).Charge(ctx, chargeReq())
		require.NoError(t, err, "a decline is a result")
		require.Equal(t, gateway.StatusFailed, p.Status)
		require.Equal(t, "[네이버페이] 잔액이 부족합니다. [P001]", p.FailReason)
		require.EqualValues(t, 9900, p.Amount)
		if lookupFails {
			require.Empty(t, p.TxID)
		} else {
			require.Equal(t, "tx-9", p.TxID)
			require.Equal(t, mustTime(t1), p.FailedAt)
		}
	}
}

// TestLostLookupAfterApprovalIsUnknown: PortOne approved, the lookup failed: the caller must
// look up, never charge again.
func TestLostLookupAfterApprovalIsUnknown(t *testing.T) {
	f := newFake(t)
	f.on("POST /payments/{paymentId}/billing-key", func(seen) answer {
		return ok(map[string]any{"payment": map[string]any{"pgTxId": "pg-1", "paidAt": t1}})
	})
	f.on("GET /payments/{paymentId}", func(seen) answer {
		return answer{status: 503, body: map[string]any{"message": "busy"}, unpublished: true}
	})
	_, err := f.gateway(t, Config{}).Charge(ctx, chargeReq())
	require.ErrorIs(t, err, gateway.ErrUnknownOutcome)
}

// TestChargeRefusedBeforeSending: what PortOne would refuse is refused here, naming the field.
func TestChargeRefusedBeforeSending(t *testing.T) {
	f := newFake(t)
	g := f.gateway(t, Config{})
	for _, tc := range []struct {
		field string
		edit  func(r *gateway.ChargeRequest)
	}{
		{"amount", func(r *gateway.ChargeRequest) { r.Amount = 0 }},
		{"tax free", func(r *gateway.ChargeRequest) { r.TaxFree = r.Amount + 1 }},
		{"key", func(r *gateway.ChargeRequest) { r.Key = "" }},
		{"payment id", func(r *gateway.ChargeRequest) { r.PaymentID = "" }},
		{"name", func(r *gateway.ChargeRequest) { r.Name = "" }},
		{"naver use cfm", func(r *gateway.ChargeRequest) { r.NaverUseCfm = "2025-04-30" }},
	} {
		r := chargeReq()
		tc.edit(&r)
		_, err := g.Charge(ctx, r)
		require.ErrorIs(t, err, gateway.ErrInvalidRequest, tc.field)
		require.Contains(t, err.Error(), tc.field)
	}
	require.Empty(t, f.requests(), "nothing was sent")
}

// TestPaymentsIsThePaymentObject: Payments answers the one payment object of the paymentId;
// PAYMENT_NOT_FOUND is the definite "none".
func TestPaymentsIsThePaymentObject(t *testing.T) {
	f := newFake(t)
	found := true
	f.on("GET /payments/{paymentId}", func(seen) answer {
		if !found {
			return typedError(404, "PAYMENT_NOT_FOUND")
		}
		return ok(cancelledPayment("sub-1-c1", "tx-2", 9900, 4000))
	})
	g := f.gateway(t, Config{})
	ps, err := g.Payments(ctx, "sub-1-c1")
	require.NoError(t, err)
	require.Len(t, ps, 1)
	p := ps[0]
	require.Equal(t, gateway.StatusPaid, p.Status, "a partly cancelled payment stays paid")
	require.EqualValues(t, 4000, p.Cancelled)
	require.Equal(t, []gateway.Refund{{Amount: 4000, At: mustTime(t1)}}, p.Refunds)
	found = false
	ps, err = g.Payments(ctx, "sub-1-c1")
	require.NoError(t, err)
	require.Empty(t, ps)
}

// TestPaymentByTxID searches GET /payments by TX_ID, since V2's paths name payments by paymentId.
func TestPaymentByTxID(t *testing.T) {
	f := newFake(t)
	f.on("GET /payments", func(s seen) answer {
		search := s.RequestBody["filter"].(map[string]any)["textSearch"].([]any)[0].(map[string]any)
		if search["value"] == "tx-2" {
			return ok(page([]any{paidPayment("sub-1-c1", "tx-2", 9900)}))
		}
		return ok(page([]any{}))
	})
	g := f.gateway(t, Config{})
	p, err := g.Payment(ctx, "tx-2")
	require.NoError(t, err)
	require.Equal(t, "sub-1-c1", p.PaymentID)
	_, err = g.Payment(ctx, "tx-none")
	require.ErrorIs(t, err, gateway.ErrNotFound)
	rb := f.requests()[0].RequestBody
	require.Equal(t, map[string]any{"timestampType": "CREATED_AT", "from": "2023-01-01T00:00:00Z",
		"textSearch": []any{map[string]any{"field": "TX_ID", "value": "tx-2"}}}, rb["filter"])
}

// TestRefundIsCompareAndSet: the cancel carries currentCancellableAmount = ExpectedRemaining,
// the reason and the requester; Amount 0 (everything) sends no amount.
func TestRefundIsCompareAndSet(t *testing.T) {
	f := newFake(t)
	f.on("GET /payments", func(seen) answer { return ok(page([]any{paidPayment("sub-1-c1", "tx-2", 9900)})) })
	f.on("POST /payments/{paymentId}/cancel", func(seen) answer {
		return ok(map[string]any{"cancellation": map[string]any{"status": "SUCCEEDED", "id": "c-1", "totalAmount": 4000,
			"taxFreeAmount": 0, "vatAmount": 364, "reason": "부분 환불", "requestedAt": t1, "cancelledAt": t1}})
	})
	f.on("GET /payments/{paymentId}", func(seen) answer { return ok(cancelledPayment("sub-1-c1", "tx-2", 9900, 4000)) })
	g := f.gateway(t, Config{})
	p, err := g.Refund(ctx, gateway.RefundRequest{TxID: "tx-2", Amount: 4000, ExpectedRemaining: 9900, Reason: "부분 환불",
		Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	require.EqualValues(t, 4000, p.Cancelled)
	cancel := f.requests()[1]
	require.Equal(t, "/payments/sub-1-c1/cancel", cancel.Path)
	require.Equal(t, map[string]any{"amount": 4000.0, "reason": "부분 환불", "requester": "CUSTOMER", "currentCancellableAmount": 9900.0}, cancel.Body)

	_, err = g.Refund(ctx, gateway.RefundRequest{TxID: "tx-2", ExpectedRemaining: 5900, Reason: "해지", Requester: billing.RequesterAdmin})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"reason": "해지", "requester": "ADMIN", "currentCancellableAmount": 5900.0}, f.requests()[4].Body)
}

// TestRefundWithItsPaymentID: a caller that knows the paymentId spares the search.
func TestRefundWithItsPaymentID(t *testing.T) {
	f := newFake(t)
	f.on("POST /payments/{paymentId}/cancel", func(seen) answer {
		return ok(map[string]any{"cancellation": map[string]any{"status": "SUCCEEDED", "id": "c-1", "totalAmount": 9900,
			"taxFreeAmount": 0, "vatAmount": 900, "reason": "해지", "requestedAt": t1, "cancelledAt": t1}})
	})
	f.on("GET /payments/{paymentId}", func(seen) answer { return ok(cancelledPayment("sub-1-c1", "tx-2", 9900, 9900)) })
	p, err := f.gateway(t, Config{}).Refund(ctx, gateway.RefundRequest{TxID: "tx-2", PaymentID: "sub-1-c1", ExpectedRemaining: 9900, Reason: "해지"})
	require.NoError(t, err)
	require.Equal(t, gateway.StatusCancelled, p.Status)
	rs := f.requests()
	require.Len(t, rs, 2, "the cancel and the read, no search")
	require.Equal(t, "/payments/sub-1-c1/cancel", rs[0].Path)
}

// TestAsynchronousCancelIsUnknown: a REQUESTED cancellation has given nothing back yet.
func TestAsynchronousCancelIsUnknown(t *testing.T) {
	f := newFake(t)
	f.on("GET /payments", func(seen) answer { return ok(page([]any{paidPayment("sub-1-c1", "tx-2", 9900)})) })
	f.on("POST /payments/{paymentId}/cancel", func(seen) answer {
		return ok(map[string]any{"cancellation": map[string]any{"status": "REQUESTED", "id": "c-1", "totalAmount": 9900,
			"taxFreeAmount": 0, "vatAmount": 900, "reason": "해지", "requestedAt": t1}})
	})
	_, err := f.gateway(t, Config{}).Refund(ctx, gateway.RefundRequest{TxID: "tx-2", ExpectedRemaining: 9900, Reason: "해지"})
	require.ErrorIs(t, err, gateway.ErrUnknownOutcome)
}

// TestSchedules: create with timeToPay; find among the key's schedules (newest first); the
// attempt of one that ran through its payment; revoke by schedule ID with the ?requestBody=
// form; list pending ones over an explicit window.
func TestSchedules(t *testing.T) {
	f := newFake(t)
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	state := "SCHEDULED"
	f.on("POST /payments/{paymentId}/schedule", func(seen) answer { return ok(map[string]any{"schedule": map[string]any{"id": "sch-1"}}) })
	f.on("GET /payments/{paymentId}", func(seen) answer {
		p := paidPayment("sub-1-c2", "tx-3", 9900)
		p["scheduleId"] = "sch-1"
		return ok(p)
	})
	f.on("GET /payment-schedules", func(s seen) answer {
		if s.RequestBody["filter"].(map[string]any)["billingKey"] == "bk-1" {
			return ok(page([]any{scheduleOf("SCHEDULED", "sch-9", "sub-1-c3", 9900, at.Format(time.RFC3339)),
				scheduleOf(state, "sch-1", "sub-1-c2", 9900, at.Format(time.RFC3339)),
				scheduleOf("REVOKED", "sch-0", "sub-1-c2", 9900, at.Format(time.RFC3339))}))
		}
		return ok(page([]any{scheduleOf("SCHEDULED", "sch-1", "sub-1-c2", 9900, at.Format(time.RFC3339)),
			scheduleOf("SCHEDULED", "sch-2", "sub-2-c2", 9900, at.Add(48*time.Hour).Format(time.RFC3339))}))
	})
	f.on("DELETE /payment-schedules", func(seen) answer {
		return ok(map[string]any{"revokedScheduleIds": []any{"sch-1"}, "revokedAt": t1})
	})
	g := f.gateway(t, Config{})
	cr := chargeReq()
	cr.NoticeURL = "https://hooks.example/portone"
	req := gateway.ScheduleRequest{ChargeRequest: cr, At: at}
	req.PaymentID = "sub-1-c2"
	require.NoError(t, g.Schedule(ctx, req))
	rs := f.requests()
	require.Equal(t, "2025-05-01T00:00:00Z", rs[0].Body["timeToPay"])
	require.Equal(t, []any{"https://hooks.example/portone"}, rs[0].Body["payment"].(map[string]any)["noticeUrls"])

	sc, err := g.ScheduleOf(ctx, "bk-1", "sub-1-c2")
	require.NoError(t, err)
	require.Equal(t, gateway.Schedule{PaymentID: "sub-1-c2", Key: "bk-1", Amount: 9900, Status: gateway.SchedulePending, At: at}, sc,
		"the newest schedule of the payment, not the revoked one before it")
	rs = f.requests()
	require.Equal(t, map[string]any{
		"page": map[string]any{"number": 0.0, "size": 100.0}, "sort": map[string]any{"by": "CREATED_AT", "order": "DESC"},
		"filter": map[string]any{"billingKey": "bk-1", "from": "2023-01-01T00:00:00Z", "until": "2123-01-01T00:00:00Z"},
	}, rs[len(rs)-1].RequestBody)

	require.NoError(t, g.Revoke(ctx, "bk-1", "sub-1-c2"))
	rs = f.requests()
	del := rs[len(rs)-1]
	require.Equal(t, "DELETE", del.Method)
	require.Equal(t, map[string]any{"scheduleIds": []any{"sch-1"}}, del.RequestBody)

	state = "SUCCEEDED"
	sc, err = g.ScheduleOf(ctx, "bk-1", "sub-1-c2")
	require.NoError(t, err)
	require.Equal(t, gateway.ScheduleExecuted, sc.Status)
	require.Equal(t, "tx-3", sc.TxID)
	require.ErrorIs(t, g.Revoke(ctx, "bk-1", "sub-1-c2"), gateway.ErrNothingToRevoke)

	_, err = g.ScheduleOf(ctx, "bk-1", "sub-1-c7")
	require.ErrorIs(t, err, gateway.ErrNotFound)
	require.ErrorIs(t, g.Revoke(ctx, "bk-1", "sub-1-c7"), gateway.ErrNothingToRevoke)
	_, err = g.ScheduleOf(ctx, "", "sub-1-c2")
	require.ErrorIs(t, err, gateway.ErrInvalidRequest)

	pg, err := g.PendingSchedules(ctx, gateway.ListQuery{From: at.Add(-time.Hour), To: at.Add(24 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, pg.Schedules, 1, "the one past To is dropped")
	require.Empty(t, pg.Next)
	rs = f.requests()
	require.Equal(t, map[string]any{
		"page": map[string]any{"number": 0.0, "size": 100.0}, "sort": map[string]any{"by": "TIME_TO_PAY", "order": "ASC"},
		"filter": map[string]any{"from": "2025-04-30T23:00:00Z", "until": "2025-05-02T00:00:00Z", "status": []any{"SCHEDULED"}},
	}, rs[len(rs)-1].RequestBody)
}

// TestScheduleThatRanWithoutAnAttempt: an execution that failed before any attempt (the key was
// deleted) leaves no payment: the schedule ran, with no TxID.
func TestScheduleThatRanWithoutAnAttempt(t *testing.T) {
	f := newFake(t)
	f.on("GET /payment-schedules", func(seen) answer { return ok(page([]any{scheduleOf("FAILED", "sch-1", "sub-1-c1", 9900, t1)})) })
	f.on("GET /payments/{paymentId}", func(seen) answer { return typedError(404, "PAYMENT_NOT_FOUND") })
	sc, err := f.gateway(t, Config{}).ScheduleOf(ctx, "bk-1", "sub-1-c1")
	require.NoError(t, err)
	require.Equal(t, gateway.ScheduleExecuted, sc.Status)
	require.Empty(t, sc.TxID)
}

// TestBillingKeys: a key is read, deleted with reason and requester, and a deleted one is gone.
func TestBillingKeys(t *testing.T) {
	f := newFake(t)
	f.on("GET /billing-keys/{billingKey}", func(s seen) answer {
		switch {
		case strings.HasSuffix(s.Path, "/bk-1"):
			return ok(issuedKey("bk-1"))
		case strings.HasSuffix(s.Path, "/bk-deleted"):
			k := issuedKey("bk-deleted")
			k["status"], k["deletedAt"] = "DELETED", t1
			return ok(k)
		}
		return typedError(404, "BILLING_KEY_NOT_FOUND")
	})
	f.on("DELETE /billing-keys/{billingKey}", func(seen) answer { return ok(map[string]any{"deletedAt": t1}) })
	g := f.gateway(t, Config{})
	k, err := g.BillingKey(ctx, "bk-1")
	require.NoError(t, err)
	require.Equal(t, gateway.BillingKey{Key: "bk-1", PGProvider: "naverpay", CardName: "NAVERPAY", IssueID: "issue-1"}, k, "the issueId is what a V2 registration is verified by")
	_, err = g.BillingKey(ctx, "bk-deleted")
	require.ErrorIs(t, err, gateway.ErrKeyNotFound)
	ks, err := g.BillingKeys(ctx, []string{"bk-1", "bk-deleted", "bk-none"})
	require.NoError(t, err)
	require.Equal(t, []gateway.BillingKey{k}, ks)

	require.NoError(t, g.DeleteBillingKey(ctx, gateway.DeleteKeyRequest{Key: "bk-1", Reason: "구독 해지", Requester: billing.RequesterCustomer}))
	rs := f.requests()
	q, err := url.ParseQuery(rs[len(rs)-1].Query)
	require.NoError(t, err)
	require.Equal(t, url.Values{"reason": {"구독 해지"}, "requester": {"CUSTOMER"}}, q)
	err = g.DeleteBillingKey(ctx, gateway.DeleteKeyRequest{Key: "bk-1"})
	require.ErrorIs(t, err, gateway.ErrInvalidRequest, "NaverPay needs a reason")
}

// TestListPayments: the stable list with STATUS_CHANGED_AT over [From, To), settled statuses,
// oldest first, pages by number until a short page.
func TestListPayments(t *testing.T) {
	f := newFake(t)
	from := mustTime(t0)
	f.on("GET /payments", func(s seen) answer {
		n := int(s.RequestBody["page"].(map[string]any)["number"].(float64))
		if n == 0 {
			items := make([]any, 0, listPageSize)
			for i := range listPageSize {
				items = append(items, paidPayment("p-"+string(rune('a'+i%26))+"-"+time.Duration(i).String(), "tx-"+time.Duration(i).String(), 1000))
			}
			return ok(page(items))
		}
		late := failedPayment("p-late", "tx-late", 1000)
		late["statusChangedAt"] = from.Add(time.Hour).Format(time.RFC3339) // == To: outside
		return ok(page([]any{failedPayment("p-f", "tx-f", 1000), late}))
	})
	g := f.gateway(t, Config{})
	q := gateway.ListQuery{From: from, To: from.Add(time.Hour)}
	first, err := g.ListPayments(ctx, q)
	require.NoError(t, err)
	require.Len(t, first.Payments, listPageSize)
	require.Equal(t, "1", first.Next)
	q.Cursor = first.Next
	second, err := g.ListPayments(ctx, q)
	require.NoError(t, err)
	require.Len(t, second.Payments, 1)
	require.Equal(t, gateway.StatusFailed, second.Payments[0].Status)
	require.Empty(t, second.Next)
	require.Equal(t, map[string]any{"timestampType": "STATUS_CHANGED_AT", "from": "2025-04-01T01:00:00Z", "until": "2025-04-01T02:00:00Z",
		"status": []any{"PAID", "PARTIAL_CANCELLED", "CANCELLED", "FAILED"}, "sortBy": "STATUS_CHANGED_AT", "sortOrder": "ASC"},
		f.requests()[0].RequestBody["filter"])
	_, err = g.ListPayments(ctx, gateway.ListQuery{From: from, To: from, Cursor: "x"})
	require.ErrorIs(t, err, gateway.ErrInvalidRequest)
}

// TestTolerantDecoding: PortOne's compatibility rule says fields, enum values and oneOf cases
// may be added at any time. Answers carrying each are read without error, the known parts
// intact, the unknown statuses passed on as not settled.
func TestTolerantDecoding(t *testing.T) {
	newer := func(p map[string]any) map[string]any {
		p["someNewField"] = map[string]any{"nested": []any{1, "x"}}
		p["currency"] = "XTS"                                                          // a new enum value
		p["method"] = map[string]any{"type": "PaymentMethodHologram", "beam": "green"} // a new oneOf case
		p["channel"].(map[string]any)["pgProvider"] = "NEW_PG"
		return p
	}
	tests := []struct {
		name  string
		body  map[string]any
		check func(t *testing.T, p gateway.Payment)
	}{
		{"a paid payment with new fields and values", newer(paidPayment("sub-1-c1", "tx-1", 9900)), func(t *testing.T, p gateway.Payment) {
			require.Equal(t, gateway.StatusPaid, p.Status)
			require.EqualValues(t, 9900, p.Amount)
			require.Equal(t, "tx-1", p.TxID)
		}},
		{"a new payment status (a new oneOf case of Payment)", newer(func() map[string]any {
			p := paymentBase("AWAITING_HOLOGRAM", "sub-1-c1", "tx-1", 9900)
			p["hologramAt"] = t1
			return p
		}()), func(t *testing.T, p gateway.Payment) {
			require.Equal(t, gateway.Status("awaiting_hologram"), p.Status, "not settled: callers treat it as such")
		}},
		{"a new cancellation status", newer(func() map[string]any {
			p := cancelledPayment("sub-1-c1", "tx-1", 9900, 9900)
			p["cancellations"] = append(p["cancellations"].([]any), map[string]any{"status": "ESCALATED", "id": "c-2", "totalAmount": 1})
			return p
		}()), func(t *testing.T, p gateway.Payment) {
			require.Equal(t, gateway.StatusCancelled, p.Status)
			require.Equal(t, []gateway.Refund{{Amount: 9900, At: mustTime(t1)}}, p.Refunds, "only succeeded cancellations gave money back")
		}},
		{"an unreadable timestamp", func() map[string]any {
			p := paidPayment("sub-1-c1", "tx-1", 9900)
			p["paidAt"] = "yesterday-ish"
			return p
		}(), func(t *testing.T, p gateway.Payment) {
			require.True(t, p.PaidAt.IsZero())
			require.Equal(t, gateway.StatusPaid, p.Status)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on("GET /payments/{paymentId}", func(seen) answer { return answer{status: 200, body: tt.body, unpublished: true} })
			ps, err := f.gateway(t, Config{}).Payments(ctx, "sub-1-c1")
			require.NoError(t, err)
			require.Len(t, ps, 1)
			tt.check(t, ps[0])
		})
	}
	t.Run("a new billing-key status and method", func(t *testing.T) {
		f := newFake(t)
		k := issuedKey("bk-1")
		k["status"], k["frozenAt"] = "FROZEN", t1
		k["methods"] = []any{map[string]any{"type": "BillingKeyPaymentMethodTelepathy"}}
		f.on("GET /billing-keys/{billingKey}", func(seen) answer { return answer{status: 200, body: k, unpublished: true} })
		got, err := f.gateway(t, Config{}).BillingKey(ctx, "bk-1")
		require.NoError(t, err)
		require.Equal(t, "naverpay", got.PGProvider)
	})
	t.Run("a new schedule status", func(t *testing.T) {
		f := newFake(t)
		sch := scheduleOf("SCHEDULED", "sch-1", "sub-1-c2", 9900, t1)
		sch["status"], sch["pausedAt"] = "PAUSED", t1
		f.on("GET /payment-schedules", func(seen) answer { return answer{status: 200, body: page([]any{sch}), unpublished: true} })
		sc, err := f.gateway(t, Config{}).ScheduleOf(ctx, "bk-1", "sub-1-c2")
		require.NoError(t, err)
		require.Equal(t, gateway.ScheduleStatus("paused"), sc.Status)
	})
	t.Run("a new error type", func(t *testing.T) {
		f := newFake(t)
		f.on("POST /payments/{paymentId}/billing-key", func(seen) answer {
			return answer{status: 409, body: map[string]any{"type": "HOLOGRAM_NOT_ALIGNED", "message": "새 오류", "extra": 1}, unpublished: true}
		})
		_, err := f.gateway(t, Config{}).Charge(ctx, chargeReq())
		require.ErrorIs(t, err, gateway.ErrRefused, "PortOne answered definitely")
		require.Equal(t, "새 오류", gateway.Message(err))
	})
}

// TestSecretNeverShows: the secret is in no error and not in the gateway's description.
func TestSecretNeverShows(t *testing.T) {
	f := newFake(t)
	f.on("GET /payments/{paymentId}", func(seen) answer { return typedError(401, "UNAUTHORIZED") })
	g := f.gateway(t, Config{Secret: "very-secret-value"})
	_, err := g.Payments(ctx, "sub-1-c1")
	require.ErrorIs(t, err, gateway.ErrUnauthorized)
	require.NotContains(t, err.Error(), "very-secret-value")
	require.NotContains(t, g.String(), "very-secret-value")
	require.NotContains(t, errors.Unwrap(err).Error(), "very-secret-value")
}
