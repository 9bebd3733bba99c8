package gateway

import (
	"errors"
	"fmt"
	"slices"
)

// Error classes: every error a Gateway returns is in exactly one of them, and the class alone
// decides what the caller does next. Match them with errors.Is.
var (
	// ErrUnknownOutcome: a write was sent and no trustworthy answer came back; it may have
	// taken effect. Look the payment or schedule up before writing again.
	ErrUnknownOutcome = errors.New("gateway: outcome unknown")
	// ErrRefused: the gateway answered and definitely refused the request on its merits;
	// nothing was done, and sending it again unchanged is refused again.
	ErrRefused = errors.New("gateway: refused")
	// ErrInvalidRequest: the implementation refused the input before sending anything.
	ErrInvalidRequest = errors.New("gateway: invalid request")
	// ErrUnauthorized: the gateway refused our credentials; an operator must fix them, after
	// which the same request may succeed.
	ErrUnauthorized = errors.New("gateway: unauthorized")
	// ErrUnavailable: a transport failure or a temporary gateway error; trying again is safe.
	ErrUnavailable = errors.New("gateway: unavailable")
)

// Refusals that callers act on, each also in class ErrRefused.
var (
	// ErrNotFound: the gateway holds no such payment or schedule.
	ErrNotFound = errors.New("gateway: not found")
	// ErrKeyNotFound: the billing key is unknown or deleted.
	ErrKeyNotFound = errors.New("gateway: billing key not found")
	// ErrAlreadyPaid: the PaymentID was already paid; nothing was charged. Look it up.
	ErrAlreadyPaid = errors.New("gateway: payment already paid")
	// ErrNothingToRevoke: no schedule was pending under the PaymentID.
	ErrNothingToRevoke = errors.New("gateway: nothing to revoke")
	// ErrAlreadyCancelled: the payment is already refunded in full.
	ErrAlreadyCancelled = errors.New("gateway: already cancelled")
	// ErrAttemptsExhausted: the gateway allows no further attempt under this PaymentID (PortOne
	// V2's MAX_TRANSACTION_COUNT_REACHED); nothing was charged. Retrying the same PaymentID is
	// refused again, whatever the key or the time: the caller stops retrying it and settles the
	// cycle as not paid (or, if it may, continues under a new PaymentID, giving up the
	// gateway's one-success-per-PaymentID protection for the attempts that follow).
	ErrAttemptsExhausted = errors.New("gateway: no attempts left under this payment id")
)

// Error is a Gateway's error: a class, the refusals it stands for, and the gateway's own message.
type Error struct {
	// Op names the gateway operation, for example "POST /subscribe/payments/again".
	Op string
	// Class is one of ErrUnknownOutcome, ErrRefused, ErrInvalidRequest, ErrUnauthorized and
	// ErrUnavailable.
	Class error
	// Kinds are the refusals (ErrNotFound, ErrKeyNotFound, ...) the error stands for.
	Kinds []error
	// Answered is true when the gateway itself answered (Message is then its text, possibly
	// empty); false for failures on our side of the wire.
	Answered bool
	// Message is the gateway's own text (never secrets): what a decline reason quotes.
	Message string
	// Err is the implementation's error; Error() is its text.
	Err error
}

// Error returns the implementation's text, or the class and message when there is none.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	if e.Message != "" {
		return fmt.Sprintf("%v: %s: %s", e.Class, e.Op, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Class, e.Op)
}

// Is matches the class and the kinds.
func (e *Error) Is(target error) bool { return target == e.Class || slices.Contains(e.Kinds, target) }

// Unwrap returns the implementation's error.
func (e *Error) Unwrap() error { return e.Err }

// UnknownOutcome is an ErrUnknownOutcome for op on paymentID, for a caller that finds an answer
// it cannot settle (for example a payment in a status that is not final).
func UnknownOutcome(op, paymentID string, cause error) error {
	return &Error{Op: op, Class: ErrUnknownOutcome,
		Err: fmt.Errorf("%s: outcome unknown for payment %q: %w; look it up before sending it again", op, paymentID, cause)}
}

// InvalidRequest is an ErrInvalidRequest naming the offending field.
func InvalidRequest(op, field, reason string) error {
	return &Error{Op: op, Class: ErrInvalidRequest, Err: fmt.Errorf("%s: invalid %s: %s", op, field, reason)}
}

// Message is the gateway's own text of err (what a decline reason quotes), or err's text when
// the gateway said nothing.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Answered {
		return e.Message
	}
	return err.Error()
}

// IsRefusal reports whether err is a definite refusal (class ErrRefused).
func IsRefusal(err error) bool { return errors.Is(err, ErrRefused) }
