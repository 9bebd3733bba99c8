package activities

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/portone"
)

// TestNonRetryableTypesAreNonRetryableAtTheSource: every error type in NonRetryableErrorTypes is
// raised as a non-retryable application error by the activity itself, so no retry depends on a
// workflow's retry policy naming it (runs from versionLeanRun on schedule activities without the
// list, issue 15: history bytes). The retryable types stay retryable.
func TestNonRetryableTypesAreNonRetryableAtTheSource(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantType     string
		nonRetryable bool
	}{
		{"a request PortOne would refuse", &portone.ValidationError{Op: "POST /subscribe/payments/again", Field: "amount", Reason: "must be positive"}, ErrTypeInvalidRequest, true},
		{"a definite refusal", &portone.APIError{Op: "POST /subscribe/payments/again", HTTPStatus: http.StatusBadRequest, Code: 1, Message: "거절"}, ErrTypeGatewayRejected, true},
		{"a wrapped refusal", fmt.Errorf("charge: %w", &portone.APIError{Op: "POST /payments/cancel", HTTPStatus: http.StatusOK, Code: -1, Message: "취소 불가"}), ErrTypeGatewayRejected, true},
		{"an unknown outcome", fmt.Errorf("again: %w", portone.ErrUnknownOutcome), ErrTypeOutcomeUnknown, false},
		{"PortOne down", &portone.APIError{Op: "POST /subscribe/payments/again", HTTPStatus: http.StatusServiceUnavailable}, ErrTypeGatewayUnavailable, false},
		{"a transport failure", errors.New("dial tcp 127.0.0.1:1: connection refused"), ErrTypeGatewayUnavailable, false},
	}
	listed := map[string]bool{}
	for _, typ := range NonRetryableErrorTypes {
		listed[typ] = true
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var appErr *temporal.ApplicationError
			if !errors.As(gatewayError(tt.err), &appErr) {
				t.Fatalf("gatewayError(%v) is not an application error", tt.err)
			}
			if appErr.Type() != tt.wantType {
				t.Fatalf("type %q, want %q", appErr.Type(), tt.wantType)
			}
			if appErr.NonRetryable() != tt.nonRetryable {
				t.Fatalf("%s: NonRetryable() = %v, want %v", tt.wantType, appErr.NonRetryable(), tt.nonRetryable)
			}
			if listed[tt.wantType] != tt.nonRetryable {
				t.Fatalf("%s: in NonRetryableErrorTypes = %v, but non-retryable = %v", tt.wantType, listed[tt.wantType], tt.nonRetryable)
			}
			seen[tt.wantType] = true
		})
	}
	for typ := range listed {
		if !seen[typ] {
			t.Errorf("no case raises %s", typ)
		}
	}
}
