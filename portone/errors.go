package portone

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Match them with errors.Is; *APIError and
// *UnknownOutcomeError say which ones they stand for.
var (
	// ErrNotFound means PortOne does not know the payment, schedule or billing
	// key (HTTP 404, or a "찾을 수 없습니다" / "존재하지 않는 결제정보" message).
	ErrNotFound = errors.New("portone: not found")
	// ErrUnauthorized means PortOne refused the credentials or the token (HTTP 401),
	// even after the one token refresh the client does by itself.
	ErrUnauthorized = errors.New("portone: unauthorized")
	// ErrCustomerNotRegistered means the customer_uid has no billing key
	// ("등록되지 않은 구매자" on again, "등록된 고객정보가 없습니다" on schedule).
	ErrCustomerNotRegistered = errors.New("portone: customer_uid not registered")
	// ErrMerchantUIDUsed means a payment with this merchant_uid was already paid
	// or cancelled ("이미 주문이 이루어진 건"). The earlier payment is the one to
	// look at: find it with FindAllPayments.
	ErrMerchantUIDUsed = errors.New("portone: merchant_uid already used")
	// ErrNothingToUnschedule means there was no pending schedule to revoke
	// ("취소할 예약결제 기록이 존재하지 않습니다").
	ErrNothingToUnschedule = errors.New("portone: nothing to unschedule")
	// ErrNothingToCancel means no payment matched the refund request
	// ("취소할 결제건이 존재하지 않습니다").
	ErrNothingToCancel = errors.New("portone: nothing to cancel")
	// ErrAlreadyCancelled means the payment is already refunded in full
	// ("이미 전액취소된 주문입니다").
	ErrAlreadyCancelled = errors.New("portone: already cancelled")
	// ErrUnknownOutcome means a write may or may not have taken effect; see
	// UnknownOutcomeError.
	ErrUnknownOutcome = errors.New("portone: outcome unknown")
)

// APIError means PortOne answered and refused the request: the envelope code
// was not 0, or the HTTP status was 4xx (or 5xx on a read). Nothing was done.
// Message is PortOne's own text with any customer_uid masked.
type APIError struct {
	// Op is the route template, for example "POST /subscribe/payments/again".
	Op string
	// HTTPStatus is the HTTP status of the answer.
	HTTPStatus int
	// Code is the envelope code (PortOne uses 1 and -1; do not branch on it).
	Code int
	// Message is PortOne's message, "" when the body was not an envelope.
	Message string
}

// Error describes the refusal without secrets, URLs or full customer_uids.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("portone: %s: HTTP %d, code %d: %s", e.Op, e.HTTPStatus, e.Code, msg)
}

// Temporary reports whether trying again later may succeed: PortOne failed
// internally (5xx) or asked the caller to slow down (429). A refusal such as
// a duplicate merchant_uid is not temporary.
func (e *APIError) Temporary() bool {
	return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
}

// Refusal reports whether PortOne definitely refused the request on its merits: it answered, the
// failure is not temporary, and it is not a credentials problem (ErrUnauthorized), which an
// operator fixes and after which the same request may succeed. Nothing was done, and sending the
// request again unchanged will be refused again.
func (e *APIError) Refusal() bool {
	return !e.Temporary() && e.HTTPStatus != http.StatusUnauthorized
}

// IsRefusal reports whether err is a definite refusal by PortOne (see APIError.Refusal). It is
// false for an unknown outcome, a transport failure and a validation error: none of them is an
// *APIError, so none of them can be mistaken for a refusal.
func IsRefusal(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Refusal() && !errors.Is(err, ErrUnauthorized)
}

// messageRules maps PortOne's (undocumented, Korean) messages to sentinels.
// Matching ignores white space because PortOne's spacing has varied.
var messageRules = []struct {
	fragment string
	target   error
}{
	{"찾을 수 없습니다", ErrNotFound},
	{"존재하지 않는 결제정보", ErrNotFound},
	{"등록되지 않은 구매자", ErrCustomerNotRegistered},
	{"등록된 고객정보가 없습니다", ErrCustomerNotRegistered},
	{"이미 주문이 이루어진 건", ErrMerchantUIDUsed},
	{"취소할 예약결제 기록이 존재하지 않습니다", ErrNothingToUnschedule},
	{"취소할 결제건이 존재하지 않습니다", ErrNothingToCancel},
	{"이미 전액취소된 주문입니다", ErrAlreadyCancelled},
}

// Is matches ErrNotFound (HTTP 404 or a not-found message), ErrUnauthorized
// (HTTP 401) and the message-based sentinels listed with messageRules.
func (e *APIError) Is(target error) bool {
	switch {
	case target == ErrNotFound && e.HTTPStatus == http.StatusNotFound:
		return true
	case target == ErrUnauthorized:
		return e.HTTPStatus == http.StatusUnauthorized
	}
	msg := squash(e.Message)
	for _, r := range messageRules {
		if r.target == target && strings.Contains(msg, squash(r.fragment)) {
			return true
		}
	}
	return false
}

// squash removes white space so that message matching survives re-spacing.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// UnknownOutcomeError means a write (Again, Schedule, Unschedule,
// CancelPayment, DeleteCustomer) may have reached PortOne but no trustworthy
// answer came back: a timeout, a reset or closed connection, a 5xx, or a body
// that could not be read or decoded. The write may or may not have taken
// effect. Look it up (for a charge: FindAllPayments with MerchantUID) before
// doing anything else; never send a charge again blindly.
type UnknownOutcomeError struct {
	// Op is the route template of the write.
	Op string
	// MerchantUID is the merchant_uid to look up; for a Schedule or Unschedule
	// of several, they are joined with commas. Empty for DeleteCustomer and
	// for an Unschedule or CancelPayment that named none.
	MerchantUID string
	// Err is what went wrong; it is never an *APIError, so that errors.As
	// cannot mistake an unknown outcome for a refusal.
	Err error

	// next tells the caller how to settle the question.
	next string
}

// Error says what failed and how to find out what happened.
func (e *UnknownOutcomeError) Error() string {
	var b strings.Builder
	b.WriteString("portone: ")
	b.WriteString(e.Op)
	b.WriteString(": outcome unknown")
	if e.MerchantUID != "" {
		fmt.Fprintf(&b, " for merchant_uid %q", e.MerchantUID)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	b.WriteString("; the request may have taken effect: ")
	if e.next != "" {
		b.WriteString(e.next)
	} else {
		b.WriteString("look the merchant_uid up before sending it again")
	}
	return b.String()
}

// Is matches ErrUnknownOutcome.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// Unwrap returns the underlying failure (for example context.DeadlineExceeded or io.EOF).
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// TransportError means the request failed without an answer from PortOne,
// in a way that makes sending it again safe: any failure of a read, or a
// failure of a write that provably happened before a byte was sent (for
// example connection refused, or a context already done).
type TransportError struct {
	// Op is the route template. When the access token could not be fetched
	// it is "POST /users/getToken", and the call itself was never sent.
	Op string
	// Err is the underlying failure, with URLs stripped.
	Err error
}

// Error describes the failure without URLs or secrets.
func (e *TransportError) Error() string {
	return fmt.Sprintf("portone: %s: %v", e.Op, e.Err)
}

// Unwrap returns the underlying failure.
func (e *TransportError) Unwrap() error { return e.Err }

// ValidationError means the client refused the input before sending anything.
// Sending it again unchanged will fail again.
type ValidationError struct {
	// Op is the route template, or "NewClient" for construction.
	Op string
	// Field is the wire name of the offending field, for example
	// "merchant_uid" or "schedules[1].schedule_at".
	Field string
	// Reason says what is wrong; it never repeats the value.
	Reason string
}

// Error describes the invalid field.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("portone: %s: invalid %s: %s", e.Op, e.Field, e.Reason)
}

// statusError is the cause inside an UnknownOutcomeError for a 5xx answer
// to a write. It deliberately is not an *APIError (see UnknownOutcomeError.Err).
type statusError struct {
	status  int
	code    int
	message string
}

func (e *statusError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return fmt.Sprintf("HTTP %d, code %d: %s", e.status, e.code, e.message)
}

// redactedError carries a sanitised message for an error whose own text
// could contain secrets or URLs, while keeping errors.Is/As working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// maskUID keeps only the last 4 characters of a customer_uid, which is enough
// to tell keys apart in an error without disclosing the billing key's name.
func maskUID(uid string) string {
	n := utf8.RuneCountInString(uid)
	if n <= 4 {
		return "****"
	}
	r := []rune(uid)
	return "****" + string(r[n-4:])
}
