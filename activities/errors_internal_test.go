package activities

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/gateway"
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
		{"a request the gateway would refuse", gateway.InvalidRequest("charge", "amount", "must be positive"), ErrTypeInvalidRequest, true},
		{"a definite refusal", &gateway.Error{Op: "charge", Class: gateway.ErrRefused, Answered: true, Message: "거절"}, ErrTypeGatewayRejected, true},
		{"a wrapped refusal", fmt.Errorf("charge: %w", &gateway.Error{Op: "refund", Class: gateway.ErrRefused, Kinds: []error{gateway.ErrAlreadyCancelled}}), ErrTypeGatewayRejected, true},
		{"an unknown outcome", fmt.Errorf("again: %w", gateway.UnknownOutcome("charge", "sub-1-abcd-1-1", errors.New("EOF"))), ErrTypeOutcomeUnknown, false},
		{"bad credentials", &gateway.Error{Op: "charge", Class: gateway.ErrUnauthorized}, ErrTypeUnauthorized, false},
		{"the gateway down", &gateway.Error{Op: "charge", Class: gateway.ErrUnavailable}, ErrTypeGatewayUnavailable, false},
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
