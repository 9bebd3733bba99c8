package portone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAPIError_Is(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		message string
		want    error // nil: matches no sentinel
	}{
		{"404", http.StatusNotFound, "", ErrNotFound},
		{"customer not found", http.StatusOK, "요청하신 customer_uid(****2345)로 등록된 정보를 찾을 수 없습니다.", ErrNotFound},
		{"payment not found", http.StatusOK, "존재하지 않는 결제정보입니다.", ErrNotFound},
		{"401", http.StatusUnauthorized, "Unauthorized", ErrUnauthorized},
		{"unknown buyer", http.StatusOK, "등록되지 않은 구매자입니다.", ErrCustomerNotRegistered},
		{"no customer info", http.StatusOK, "등록된 고객정보가 없습니다.", ErrCustomerNotRegistered},
		{"merchant_uid used", http.StatusOK, "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)", ErrMerchantUIDUsed},
		{"nothing to unschedule", http.StatusOK, "취소할 예약결제 기록이 존재하지 않습니다.", ErrNothingToUnschedule},
		{"nothing to cancel", http.StatusOK, "취소할 결제건이 존재하지 않습니다.", ErrNothingToCancel},
		{"already cancelled", http.StatusOK, "이미 전액취소된 주문입니다.", ErrAlreadyCancelled},
		{"spacing differs", http.StatusOK, "이미  전액 취소된 주문입니다.", ErrAlreadyCancelled},
		{"PG text", http.StatusOK, "카드정보 인증에 실패하였습니다.", nil},
		{"400", http.StatusBadRequest, "잘못된 요청", nil},
		{"500", http.StatusInternalServerError, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := error(&APIError{Op: opAgain, HTTPStatus: tt.status, Code: 1, Message: tt.message})
			for _, s := range allSentinels {
				if s == tt.want {
					require.ErrorIs(t, err, s)
				} else {
					require.NotErrorIs(t, err, s)
				}
			}
		})
	}
}

func TestAPIError_Temporary(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 429: true, 500: true, 503: true} {
		require.Equal(t, want, (&APIError{HTTPStatus: status}).Temporary(), status)
	}
}

func TestIsRefusal(t *testing.T) {
	t.Parallel()
	declined := &APIError{Op: opAgain, HTTPStatus: 200, Code: -1, Message: "한도초과"}
	tests := []struct {
		name string
		give error
		want bool
	}{
		{"nil", nil, false},
		{"PG refusal, code -1", declined, true},
		{"wrapped refusal", fmt.Errorf("charge: %w", declined), true},
		{"duplicate merchant_uid", &APIError{Op: opAgain, HTTPStatus: 200, Code: 1, Message: "이미 주문이 이루어진 건입니다"}, true},
		{"HTTP 400", &APIError{Op: opAgain, HTTPStatus: 400}, true},
		{"HTTP 404", &APIError{Op: opAgain, HTTPStatus: 404}, true},
		{"HTTP 401 is a configuration problem", &APIError{Op: opAgain, HTTPStatus: 401}, false},
		{"HTTP 429 is temporary", &APIError{Op: opAgain, HTTPStatus: 429}, false},
		{"HTTP 503 on a read is temporary", &APIError{Op: opAgain, HTTPStatus: 503}, false},
		{"unknown outcome", &UnknownOutcomeError{Op: opAgain, MerchantUID: "m1", Err: &statusError{status: 400}}, false},
		{"transport", &TransportError{Op: opAgain, Err: io.ErrUnexpectedEOF}, false},
		{"validation", &ValidationError{Op: opAgain, Field: "amount", Reason: "must be positive"}, false},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, IsRefusal(tt.give))
			var apiErr *APIError
			if errors.As(tt.give, &apiErr) {
				require.Equal(t, tt.want, apiErr.Refusal())
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		give error
		want string
	}{
		{"API error", &APIError{Op: opAgain, HTTPStatus: 200, Code: -1, Message: "등록되지 않은 구매자입니다."},
			"portone: POST /subscribe/payments/again: HTTP 200, code -1: 등록되지 않은 구매자입니다."},
		{"API error without message", &APIError{Op: opGetPayment, HTTPStatus: 502},
			"portone: GET /payments/{imp_uid}: HTTP 502, code 0: (no message)"},
		{"unknown outcome", &UnknownOutcomeError{Op: opAgain, MerchantUID: "m-1", Err: io.EOF,
			next: "call FindPayment with this merchant_uid before charging again"},
			`portone: POST /subscribe/payments/again: outcome unknown for merchant_uid "m-1": EOF; ` +
				"the request may have taken effect: call FindPayment with this merchant_uid before charging again"},
		{"unknown outcome, zero value hint", &UnknownOutcomeError{Op: opAgain},
			"portone: POST /subscribe/payments/again: outcome unknown; the request may have taken effect: " +
				"look the merchant_uid up before sending it again"},
		{"transport", &TransportError{Op: opGetPayment, Err: context.DeadlineExceeded},
			"portone: GET /payments/{imp_uid}: context deadline exceeded"},
		{"validation", &ValidationError{Op: opAgain, Field: "amount", Reason: "must be at least 10 KRW (got 9)"},
			"portone: POST /subscribe/payments/again: invalid amount: must be at least 10 KRW (got 9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.give.Error())
		})
	}
	ue := &UnknownOutcomeError{Op: opAgain, Err: io.EOF}
	require.ErrorIs(t, ue, io.EOF)
	require.ErrorIs(t, ue, ErrUnknownOutcome)
}

func TestMaskUID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "****2345", maskUID(custUID))
	require.Equal(t, "****", maskUID("abcd"))
	require.Equal(t, "****객번호다", maskUID("한국고객번호다"))
}

// TestErrorsDoNotLeakSecrets drives the failure paths most likely to echo
// sensitive data and checks every error string. (TestMain also checks every
// error collected by the other tests.)
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	t.Parallel()
	odd := "고객/uid with?query=1&x"
	forbid(odd)
	echo := func(w http.ResponseWriter, r *http.Request) {
		// A hostile or buggy server echoing everything it was given.
		writeFail(w, http.StatusOK, -1, "bad request "+r.URL.String()+" token "+r.Header.Get("Authorization")+
			" customer_uid("+custUID+") key "+testKey+" secret "+testSecret)
	}
	var errs []error
	ctx := context.Background()

	f := newFixture(t)
	f.mux.HandleFunc("/", echo)
	_, err := f.client.GetCustomer(ctx, custUID)
	errs = append(errs, err)
	_, err = f.client.GetCustomers(ctx, []string{custUID, custUID2})
	errs = append(errs, err)
	_, err = f.client.DeleteCustomer(ctx, custUID, DeleteCustomerRequest{Reason: "구독 해지", Requester: RequesterCustomer})
	errs = append(errs, err)
	_, err = f.client.Again(ctx, againReq())
	errs = append(errs, err)
	_, err = f.client.SchedulesByCustomer(ctx, odd, ScheduleQuery{From: scheduleAt, To: scheduleAt2, Status: ScheduleScheduled})
	errs = append(errs, err)

	// Transport failures: *url.Error carries the full URL with its query.
	g := newFixture(t, WithTimeout(50*time.Millisecond), WithIncludeSandbox(true))
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	_, err = g.client.DeleteCustomer(ctx, odd, DeleteCustomerRequest{Reason: "구독 해지", Requester: RequesterAdmin})
	errs = append(errs, err)
	_, err = g.client.GetCustomers(ctx, []string{custUID, custUID2})
	errs = append(errs, err)
	_, err = g.client.GetPayment(ctx, "imp_1")
	errs = append(errs, err)

	c, err := NewClient(Credentials{Key: testKey, Secret: testSecret}, WithBaseURL("http://"+closedAddr(t)+basePath))
	require.NoError(t, err)
	_, err = c.SchedulesByCustomer(ctx, custUID, ScheduleQuery{From: scheduleAt, To: scheduleAt2})
	errs = append(errs, err)

	var texts []string
	for _, err := range errs {
		require.Error(t, err)
		collect(err)
		texts = append(texts, err.Error())
		// The whole chain, not only the top message.
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			texts = append(texts, e.Error())
		}
	}
	require.Empty(t, leaks(texts))
	require.Contains(t, strings.Join(texts, "\n"), "****2345", "a masked customer_uid remains useful")
	require.Contains(t, strings.Join(texts, "\n"), "[REDACTED]")
}
