package portonev2

import (
	"errors"
	"net/http"

	"github.com/paycycle/paycycle/gateway"
)

// class is where one PortOne error type falls in the contract: its class and the refusals it
// stands for.
type class struct {
	class error
	kinds []error
}

func refused(kinds ...error) class { return class{class: gateway.ErrRefused, kinds: kinds} }

// errorTypes maps every error type the operations this package calls can answer (v2.openapi.json,
// the discriminator mappings of PayWithBillingKeyError, GetPaymentError, GetPaymentsError,
// CreatePaymentScheduleError, GetPaymentSchedule(s)Error, RevokePaymentSchedulesError,
// CancelPaymentError, GetBillingKeyInfoError and DeleteBillingKeyError) to the contract.
// PG_PROVIDER on a charge is not here: it is a decline, a result (see Gateway.Charge).
// CHANNEL_SPECIFIC (some channels of a multi-channel request failed) is not here either: it
// may have taken effect on the others, so it is classified like a 5xx.
//
// A type not in the table is PortOne's definite answer all the same (its compatibility rule
// says new types appear): a 4xx with an unknown type is a plain refusal.
var errorTypes = map[string]class{
	"UNAUTHORIZED":    {class: gateway.ErrUnauthorized},
	"FORBIDDEN":       {class: gateway.ErrUnauthorized},
	"INVALID_REQUEST": refused(),
	// A success already happened under the paymentId: look it up, never charge again.
	"ALREADY_PAID": refused(gateway.ErrAlreadyPaid),
	// createPaymentSchedule: the paymentId is paid or a payment under it is in flight.
	"ALREADY_PAID_OR_WAITING":     refused(gateway.ErrAlreadyPaid),
	"BILLING_KEY_NOT_FOUND":       refused(gateway.ErrKeyNotFound),
	"BILLING_KEY_ALREADY_DELETED": refused(gateway.ErrKeyNotFound),
	// deleteBillingKey on a key whose issuance never completed: not a usable key either.
	"BILLING_KEY_NOT_ISSUED":        refused(gateway.ErrKeyNotFound),
	"MAX_TRANSACTION_COUNT_REACHED": refused(gateway.ErrAttemptsExhausted),
	// payWithBillingKey: a schedule holds the paymentId; createPaymentSchedule: one exists;
	// deleteBillingKey: schedules remain on the key.
	"PAYMENT_SCHEDULE_ALREADY_EXISTS":      refused(),
	"CHANNEL_NOT_FOUND":                    refused(),
	"DISCOUNT_AMOUNT_EXCEEDS_TOTAL_AMOUNT": refused(),
	"PROMOTION_PAY_METHOD_DOES_NOT_MATCH":  refused(),
	"SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT":    refused(),
	"PAYMENT_NOT_FOUND":                    refused(gateway.ErrNotFound),
	"PAYMENT_SCHEDULE_NOT_FOUND":           refused(gateway.ErrNotFound),
	// revokePaymentSchedules: the schedule ran, or was revoked, already.
	"PAYMENT_SCHEDULE_ALREADY_PROCESSED": refused(gateway.ErrNothingToRevoke),
	"PAYMENT_SCHEDULE_ALREADY_REVOKED":   refused(gateway.ErrNothingToRevoke),
	// cancelPayment with a stale currentCancellableAmount: a refund that raced another.
	"CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN":                      refused(),
	"CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT":                   refused(),
	"CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT":           refused(),
	"CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT": refused(),
	"NEGATIVE_PROMOTION_ADJUSTED_CANCEL_AMOUNT":                  refused(),
	"PROMOTION_DISCOUNT_RETAIN_OPTION_SHOULD_NOT_BE_CHANGED":     refused(),
	"SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT":                         refused(),
	"MAX_CANCEL_COUNT_REACHED":                                   refused(),
	"PAYMENT_NOT_PAID":                                           refused(),
	"PAYMENT_ALREADY_CANCELLED":                                  refused(gateway.ErrAlreadyCancelled),
	// PG_PROVIDER outside a charge (a cancel or a key deletion the PG refused): PortOne's
	// typed, definite answer; the PG's text is the message.
	"PG_PROVIDER": refused(),
}

// classify sorts an error of the HTTP client into the contract's classes. write says whether
// the request was a write, for the failures without a trustworthy answer: a write that may
// have reached PortOne is an unknown outcome (settled by GET /payments/{paymentId} or the
// schedule's lookup), a read is simply unavailable. more adds refusals an operation knows
// for a type (a revoke's PAYMENT_SCHEDULE_NOT_FOUND is also "nothing to revoke").
func classify(op string, write bool, err error, more map[string][]error) error {
	e := &gateway.Error{Op: op, Err: err}
	var ae *apiError
	var we *wireError
	switch {
	case errors.As(err, &ae):
		e.Answered, e.Message = true, ae.Message
		if ae.Type == "PG_PROVIDER" && ae.PgMessage != "" {
			e.Message = ae.PgMessage
		}
		c, typed := errorTypes[ae.Type]
		switch {
		case typed:
			e.Class, e.Kinds = c.class, append([]error(nil), c.kinds...)
		case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
			e.Class = gateway.ErrUnauthorized
		case ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusRequestTimeout:
			e.Class = gateway.ErrUnavailable
			if write && ae.Status == http.StatusRequestTimeout {
				e.Class = gateway.ErrUnknownOutcome
			}
		case ae.Status >= 500 || ae.Status < 400 || (ae.Type == "" && ae.Status != http.StatusNotFound):
			// A 5xx (CHANNEL_SPECIFIC included), a redirect we do not follow, or a 4xx
			// without PortOne's typed body (a proxy's page): no trustworthy answer.
			e.Class = gateway.ErrUnavailable
			if write {
				e.Class = gateway.ErrUnknownOutcome
			}
		default:
			e.Class = gateway.ErrRefused
		}
		if e.Class == gateway.ErrRefused {
			e.Kinds = append(e.Kinds, more[ae.Type]...)
		}
	case errors.As(err, &we):
		e.Class = gateway.ErrUnavailable
		if write && we.Sent {
			e.Class = gateway.ErrUnknownOutcome
		}
	default:
		e.Class = gateway.ErrUnavailable
	}
	return e
}
