package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/gateway"
)

// Temporal application error types raised by the activities. The non-retryable ones are raised
// non-retryable here, at the source (runs of the subscription workflow from its lean-run version
// on no longer name them in their retry policies); the strings are constants so that renaming a
// Go type never silently changes retry behaviour.
const (
	// ErrTypeInvalidRequest is a request PortOne would refuse as malformed; retrying cannot help.
	ErrTypeInvalidRequest = "InvalidGatewayRequest"
	// ErrTypeOutcomeUnknown means a write was sent and no trustworthy answer came back; the next
	// attempt looks the merchant_uid up before anything else.
	ErrTypeOutcomeUnknown = "GatewayOutcomeUnknown"
	// ErrTypeGatewayUnavailable is a transport failure or a temporary PortOne error.
	ErrTypeGatewayUnavailable = "GatewayUnavailable"
	// ErrTypeGatewayRejected is a definite PortOne refusal that is not a charge decline.
	ErrTypeGatewayRejected = "GatewayRejected"
	// ErrTypeUnauthorized means PortOne refused the API key or secret: a configuration problem
	// that an operator must fix; retried so the work resumes once fixed.
	ErrTypeUnauthorized = "GatewayUnauthorized"
)

// NonRetryableErrorTypes lists the error types the workflow must not retry.
var NonRetryableErrorTypes = []string{ErrTypeInvalidRequest, ErrTypeGatewayRejected}

// gatewayError maps a gateway error's class (package gateway) to a Temporal application error,
// keeping retry decisions in one place. The message is the gateway's, which never contains
// secrets.
func gatewayError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, gateway.ErrInvalidRequest):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidRequest, nil)
	case errors.Is(err, gateway.ErrUnknownOutcome):
		return temporal.NewApplicationError(err.Error(), ErrTypeOutcomeUnknown)
	case errors.Is(err, gateway.ErrUnauthorized):
		return temporal.NewApplicationError(err.Error(), ErrTypeUnauthorized)
	case gateway.IsRefusal(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeGatewayRejected, nil)
	default:
		// Transport failures and temporary PortOne errors (5xx, 429 on reads).
		return temporal.NewApplicationError(err.Error(), ErrTypeGatewayUnavailable)
	}
}
