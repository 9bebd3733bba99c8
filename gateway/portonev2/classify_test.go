package portonev2

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

var classes = []error{gateway.ErrUnknownOutcome, gateway.ErrRefused, gateway.ErrInvalidRequest, gateway.ErrUnauthorized, gateway.ErrUnavailable}

// operation is one gateway call and the route whose answer the table sets.
type operation struct {
	route string
	run   func(g *Gateway) error
}

var ops = map[string]operation{
	"charge": {"POST /payments/{paymentId}/billing-key", func(g *Gateway) error {
		_, err := g.Charge(ctx, chargeReq())
		return err
	}},
	"schedule": {"POST /payments/{paymentId}/schedule", func(g *Gateway) error {
		return g.Schedule(ctx, gateway.ScheduleRequest{ChargeRequest: chargeReq(), At: mustTime(t1)})
	}},
	"revoke": {"DELETE /payment-schedules", func(g *Gateway) error { return g.Revoke(ctx, "bk-1", "sub-1-c2") }},
	"cancel": {"POST /payments/{paymentId}/cancel", func(g *Gateway) error {
		_, err := g.Refund(ctx, gateway.RefundRequest{TxID: "tx-2", Amount: 100, ExpectedRemaining: 9900, Reason: "환불", Requester: billing.RequesterAdmin})
		return err
	}},
	"delete key": {"DELETE /billing-keys/{billingKey}", func(g *Gateway) error {
		return g.DeleteBillingKey(ctx, gateway.DeleteKeyRequest{Key: "bk-1", Reason: "해지", Requester: billing.RequesterCustomer})
	}},
	"get payment": {"GET /payments/{paymentId}", func(g *Gateway) error {
		_, err := g.Payments(ctx, "sub-1-c1") // PAYMENT_NOT_FOUND is "none" there: TestPaymentsIsThePaymentObject
		return err
	}},
	"get key": {"GET /billing-keys/{billingKey}", func(g *Gateway) error {
		_, err := g.BillingKey(ctx, "bk-1")
		return err
	}},
	"list payments": {"GET /payments", func(g *Gateway) error {
		_, err := g.ListPayments(ctx, gateway.ListQuery{From: mustTime(t0), To: mustTime(t1)})
		return err
	}},
	"list schedules": {"GET /payment-schedules", func(g *Gateway) error {
		_, err := g.PendingSchedules(ctx, gateway.ListQuery{From: mustTime(t0), To: mustTime(t1)})
		return err
	}},
}

// baseline answers every route as success, so that the table's route is the one that fails.
func baseline(f *fakePortOne) {
	f.on("GET /payments", func(seen) answer { return ok(page([]any{paidPayment("sub-1-c1", "tx-2", 9900)})) })
	f.on("GET /payment-schedules", func(seen) answer {
		return ok(page([]any{scheduleOf("SCHEDULED", "sch-1", "sub-1-c2", 9900, t1)}))
	})
}

// TestErrorMapping is the error table of v2-api.md (every type each operation's document
// lists, at the status the document gives it) and the failures without a typed answer, each
// sorted into exactly one class with the refusals callers act on.
func TestErrorMapping(t *testing.T) {
	refused, unknown, unauthorized := gateway.ErrRefused, gateway.ErrUnknownOutcome, gateway.ErrUnauthorized
	tests := []struct {
		op     string
		status int
		typ    string
		class  error
		kind   error
	}{
		// payWithBillingKey (PG_PROVIDER is a decline: TestDeclineIsAResult)
		{"charge", 400, "INVALID_REQUEST", refused, nil},
		{"charge", 400, "PROMOTION_PAY_METHOD_DOES_NOT_MATCH", refused, nil},
		{"charge", 400, "DISCOUNT_AMOUNT_EXCEEDS_TOTAL_AMOUNT", refused, nil},
		{"charge", 400, "MAX_TRANSACTION_COUNT_REACHED", refused, gateway.ErrAttemptsExhausted},
		{"charge", 401, "UNAUTHORIZED", unauthorized, nil},
		{"charge", 403, "FORBIDDEN", unauthorized, nil},
		{"charge", 404, "BILLING_KEY_NOT_FOUND", refused, gateway.ErrKeyNotFound},
		{"charge", 404, "CHANNEL_NOT_FOUND", refused, nil},
		{"charge", 409, "ALREADY_PAID", refused, gateway.ErrAlreadyPaid},
		{"charge", 409, "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT", refused, nil},
		{"charge", 409, "BILLING_KEY_ALREADY_DELETED", refused, gateway.ErrKeyNotFound},
		{"charge", 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS", refused, nil},
		// createPaymentSchedule
		{"schedule", 409, "ALREADY_PAID_OR_WAITING", refused, gateway.ErrAlreadyPaid},
		{"schedule", 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS", refused, nil},
		{"schedule", 404, "BILLING_KEY_NOT_FOUND", refused, gateway.ErrKeyNotFound},
		{"schedule", 409, "BILLING_KEY_ALREADY_DELETED", refused, gateway.ErrKeyNotFound},
		{"schedule", 400, "INVALID_REQUEST", refused, nil},
		{"schedule", 409, "SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT", refused, nil},
		// revokePaymentSchedules
		{"revoke", 409, "PAYMENT_SCHEDULE_ALREADY_PROCESSED", refused, gateway.ErrNothingToRevoke},
		{"revoke", 409, "PAYMENT_SCHEDULE_ALREADY_REVOKED", refused, gateway.ErrNothingToRevoke},
		{"revoke", 404, "PAYMENT_SCHEDULE_NOT_FOUND", refused, gateway.ErrNothingToRevoke},
		{"revoke", 409, "BILLING_KEY_ALREADY_DELETED", refused, gateway.ErrKeyNotFound},
		{"revoke", 404, "BILLING_KEY_NOT_FOUND", refused, gateway.ErrKeyNotFound},
		// cancelPayment
		{"cancel", 409, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", refused, nil},
		{"cancel", 409, "PAYMENT_ALREADY_CANCELLED", refused, gateway.ErrAlreadyCancelled},
		{"cancel", 409, "PAYMENT_NOT_PAID", refused, nil},
		{"cancel", 404, "PAYMENT_NOT_FOUND", refused, gateway.ErrNotFound},
		{"cancel", 409, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", refused, nil},
		{"cancel", 409, "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT", refused, nil},
		{"cancel", 409, "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT", refused, nil},
		{"cancel", 409, "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT", refused, nil},
		{"cancel", 409, "MAX_CANCEL_COUNT_REACHED", refused, nil},
		{"cancel", 400, "NEGATIVE_PROMOTION_ADJUSTED_CANCEL_AMOUNT", refused, nil},
		{"cancel", 400, "PROMOTION_DISCOUNT_RETAIN_OPTION_SHOULD_NOT_BE_CHANGED", refused, nil},
		{"cancel", 502, "PG_PROVIDER", refused, nil},
		// deleteBillingKey
		{"delete key", 409, "BILLING_KEY_ALREADY_DELETED", refused, gateway.ErrKeyNotFound},
		{"delete key", 404, "BILLING_KEY_NOT_FOUND", refused, gateway.ErrKeyNotFound},
		{"delete key", 404, "BILLING_KEY_NOT_ISSUED", refused, gateway.ErrKeyNotFound},
		{"delete key", 409, "PAYMENT_SCHEDULE_ALREADY_EXISTS", refused, nil},
		{"delete key", 502, "PG_PROVIDER", refused, nil},
		{"delete key", 502, "CHANNEL_SPECIFIC", unknown, nil},
		// reads
		{"get payment", 403, "FORBIDDEN", unauthorized, nil},
		{"get key", 404, "BILLING_KEY_NOT_FOUND", refused, gateway.ErrKeyNotFound},
		{"get key", 403, "FORBIDDEN", unauthorized, nil},
		{"list payments", 400, "INVALID_REQUEST", refused, nil},
		{"list schedules", 401, "UNAUTHORIZED", unauthorized, nil},
	}
	for _, tt := range tests {
		t.Run(tt.op+" "+tt.typ, func(t *testing.T) {
			f := newFake(t)
			baseline(f)
			f.on(ops[tt.op].route, func(seen) answer { return typedError(tt.status, tt.typ) })
			err := ops[tt.op].run(f.gateway(t, Config{}))
			requireClass(t, err, tt.class, tt.kind)
			want := "message of " + tt.typ
			if tt.typ == "PG_PROVIDER" {
				want = "[네이버페이] 잔액이 부족합니다." // the PG's own text
			}
			require.Equal(t, want, gateway.Message(err), "the gateway's own text")
		})
	}
}

func requireClass(t *testing.T, err, class, kind error) {
	t.Helper()
	require.Error(t, err)
	for _, c := range classes {
		require.Equal(t, c == class, errors.Is(err, c), "%v: class %v, want %v", err, c, class)
	}
	if kind != nil {
		require.ErrorIs(t, err, kind)
	}
}

// TestFailuresWithoutATypedAnswer: a timeout, another 5xx, a proxy's page, a connection
// refused: writes that may have reached PortOne are unknown outcomes, reads are unavailable.
func TestFailuresWithoutATypedAnswer(t *testing.T) {
	proxyPage := answer{status: http.StatusBadGateway, body: "<html>bad gateway</html>", unpublished: true}
	tests := []struct {
		name  string
		op    string
		ans   answer
		class error
	}{
		{"charge timed out", "charge", answer{hang: true}, gateway.ErrUnknownOutcome},
		{"charge 500 typed unknown", "charge", answer{status: 500, body: map[string]any{"type": "INTERNAL", "message": "x"}, unpublished: true}, gateway.ErrUnknownOutcome},
		{"charge 502 from a proxy", "charge", proxyPage, gateway.ErrUnknownOutcome},
		{"charge 503", "charge", answer{status: 503, unpublished: true}, gateway.ErrUnknownOutcome},
		{"charge 429", "charge", answer{status: 429, body: map[string]any{"message": "slow down"}, unpublished: true}, gateway.ErrUnavailable},
		{"charge 200 unreadable", "charge", answer{status: 200, body: "not json", unpublished: true}, gateway.ErrUnknownOutcome},
		{"schedule timed out", "schedule", answer{hang: true}, gateway.ErrUnknownOutcome},
		{"cancel 500", "cancel", answer{status: 500, unpublished: true}, gateway.ErrUnknownOutcome},
		{"revoke 503", "revoke", answer{status: 503, unpublished: true}, gateway.ErrUnknownOutcome},
		{"delete key timed out", "delete key", answer{hang: true}, gateway.ErrUnknownOutcome},
		{"get payment 500", "get payment", answer{status: 500, unpublished: true}, gateway.ErrUnavailable},
		{"get payment timed out", "get payment", answer{hang: true}, gateway.ErrUnavailable},
		{"get key 502 from a proxy", "get key", proxyPage, gateway.ErrUnavailable},
		{"list payments 503", "list payments", answer{status: 503, unpublished: true}, gateway.ErrUnavailable},
		{"list schedules 200 unreadable", "list schedules", answer{status: 200, body: "[", unpublished: true}, gateway.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			baseline(f)
			f.on(ops[tt.op].route, func(seen) answer { return tt.ans })
			err := ops[tt.op].run(f.gateway(t, Config{Timeout: 300 * time.Millisecond}))
			requireClass(t, err, tt.class, nil)
		})
	}
	t.Run("connection refused: nothing was sent", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		g, err := New(Config{BaseURL: "http://" + addr, Secret: "s", Timeout: time.Second})
		require.NoError(t, err)
		_, err = g.Charge(ctx, chargeReq())
		requireClass(t, err, gateway.ErrUnavailable, nil)
	})
}
