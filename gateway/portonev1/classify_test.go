package portonev1

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/portone"
)

// TestClassify pins how V1's errors fall into the contract's classes: the same decisions the
// activities made on the client's errors before the seam (a validation error, an unknown
// outcome, bad credentials, a definite refusal, and everything else as unavailable), and the
// refusals each operation names.
func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		k     kinds
		class error
		kind  error
		msg   string
	}{
		{"a request PortOne would refuse", &portone.ValidationError{Op: opAgain, Field: "amount", Reason: "must be positive"}, nil, gateway.ErrInvalidRequest, nil, ""},
		{"a definite refusal", &portone.APIError{Op: opAgain, HTTPStatus: http.StatusBadRequest, Code: 1, Message: "거절"}, nil, gateway.ErrRefused, nil, "거절"},
		{"a wrapped refusal", fmt.Errorf("x: %w", &portone.APIError{Op: "POST /payments/cancel", HTTPStatus: http.StatusOK, Code: -1, Message: "취소 불가"}), nil, gateway.ErrRefused, nil, "취소 불가"},
		{"an unknown outcome", fmt.Errorf("again: %w", portone.ErrUnknownOutcome), nil, gateway.ErrUnknownOutcome, nil, ""},
		{"bad credentials", &portone.APIError{Op: opAgain, HTTPStatus: http.StatusUnauthorized}, nil, gateway.ErrUnauthorized, nil, ""},
		{"PortOne down", &portone.APIError{Op: opAgain, HTTPStatus: http.StatusServiceUnavailable}, nil, gateway.ErrUnavailable, nil, ""},
		{"a transport failure", errors.New("dial tcp 127.0.0.1:1: connection refused"), nil, gateway.ErrUnavailable, nil, ""},
		{"an unregistered buyer", &portone.APIError{Op: opAgain, HTTPStatus: http.StatusOK, Code: -1, Message: "등록되지 않은 구매자입니다."},
			kinds{portone.ErrCustomerNotRegistered: gateway.ErrKeyNotFound}, gateway.ErrRefused, gateway.ErrKeyNotFound, "등록되지 않은 구매자입니다."},
		{"a paid merchant_uid", &portone.APIError{Op: opAgain, HTTPStatus: http.StatusOK, Code: 1, Message: "이미 주문이 이루어진 건입니다."},
			kinds{portone.ErrMerchantUIDUsed: gateway.ErrAlreadyPaid}, gateway.ErrRefused, gateway.ErrAlreadyPaid, "이미 주문이 이루어진 건입니다."},
		{"nothing to unschedule", &portone.APIError{Op: opUnschedule, HTTPStatus: http.StatusOK, Code: 1, Message: "취소할 예약결제 기록이 존재하지 않습니다."},
			kinds{portone.ErrNothingToUnschedule: gateway.ErrNothingToRevoke}, gateway.ErrRefused, gateway.ErrNothingToRevoke, "취소할 예약결제 기록이 존재하지 않습니다."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classify("op", tt.err, tt.k)
			if !errors.Is(err, tt.class) {
				t.Fatalf("classify(%v) = %v, not in class %v", tt.err, err, tt.class)
			}
			for _, other := range []error{gateway.ErrInvalidRequest, gateway.ErrRefused, gateway.ErrUnknownOutcome, gateway.ErrUnauthorized, gateway.ErrUnavailable} {
				if other != tt.class && errors.Is(err, other) {
					t.Fatalf("classify(%v) is also in class %v", tt.err, other)
				}
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("classify(%v) does not stand for %v", tt.err, tt.kind)
			}
			if err.Error() != tt.err.Error() {
				t.Fatalf("text %q, want the client's %q", err.Error(), tt.err.Error())
			}
			if tt.msg != "" && gateway.Message(err) != tt.msg {
				t.Fatalf("Message = %q, want %q", gateway.Message(err), tt.msg)
			}
		})
	}
}
