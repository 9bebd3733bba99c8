package portone

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgain_RequestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		give     AgainRequest
		wantBody string
	}{
		{
			name: "minimal, no extra",
			give: againReq(),
			wantBody: `{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c3-a1",
				"amount":9900,"tax_free":0,"name":"월간 구독 3회차"}`,
		},
		{
			name: "every field",
			give: AgainRequest{
				CustomerUID: custUID,
				MerchantUID: "sub-42-c3-a1",
				Amount:      11000,
				TaxFree:     1000,
				Name:        "월간 구독 3회차",
				Buyer: Buyer{
					Name: "홍길동", Email: "hong@example.test", Tel: "010-1234-5678",
					Addr: "서울특별시 중구", Postcode: "04524",
				},
				CustomData:  `{"cycle":3}`,
				NoticeURL:   "https://edge.example.test/webhooks/portone",
				NaverUseCfm: "20240131",
			},
			wantBody: `{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c3-a1",
				"amount":11000,"tax_free":1000,"name":"월간 구독 3회차",
				"buyer_name":"홍길동","buyer_email":"hong@example.test","buyer_tel":"010-1234-5678",
				"buyer_addr":"서울특별시 중구","buyer_postcode":"04524",
				"custom_data":"{\"cycle\":3}","notice_url":"https://edge.example.test/webhooks/portone",
				"extra":{"naverUseCfm":"20240131"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testAuth(t, r)
				testQuery(t, r, nil)
				testJSONBody(t, r, tt.wantBody)
				writeOK(w, paidPaymentJSON)
			})
			p, err := client.Again(context.Background(), tt.give)
			require.NoError(t, err)
			require.Equal(t, StatusPaid, p.Status)
		})
	}
}

// outcome checks the result of a call.
type outcome func(t *testing.T, p *Payment, err error)

func wantPaymentStatus(s PaymentStatus) outcome {
	return func(t *testing.T, p *Payment, err error) {
		t.Helper()
		require.NoError(t, err)
		require.NotNil(t, p)
		require.Equal(t, s, p.Status)
	}
}

// wantRefusal expects an *APIError that matches sentinel (nil: none of them).
func wantRefusal(status, code int, sentinel error) outcome {
	return func(t *testing.T, p *Payment, err error) {
		t.Helper()
		require.Nil(t, p)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, status, apiErr.HTTPStatus)
		require.Equal(t, code, apiErr.Code)
		require.NotErrorIs(t, err, ErrUnknownOutcome)
		for _, s := range allSentinels {
			if s == sentinel {
				require.ErrorIs(t, err, s)
			} else {
				require.NotErrorIs(t, err, s)
			}
		}
	}
}

func wantUnknown(t *testing.T, p *Payment, err error) {
	t.Helper()
	require.Nil(t, p)
	var ue *UnknownOutcomeError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, ErrUnknownOutcome)
	var apiErr *APIError
	require.False(t, errors.As(err, &apiErr), "an unknown outcome must not look like a refusal")
	var te *TransportError
	require.False(t, errors.As(err, &te))
	require.Equal(t, "sub-42-c3-a1", ue.MerchantUID)
	require.Contains(t, err.Error(), "call FindAllPayments with this merchant_uid")
}

var allSentinels = []error{
	ErrNotFound, ErrUnauthorized, ErrCustomerNotRegistered, ErrMerchantUIDUsed,
	ErrNothingToUnschedule, ErrNothingToCancel, ErrAlreadyCancelled, ErrUnknownOutcome,
}

func TestAgain_Outcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    outcome
	}{
		{
			name:    "paid",
			handler: func(w http.ResponseWriter, r *http.Request) { writeOK(w, paidPaymentJSON) },
			want:    wantPaymentStatus(StatusPaid),
		},
		{
			name:    "declined: code 0, status failed, is a payment and no error",
			handler: func(w http.ResponseWriter, r *http.Request) { writeOK(w, declinedPaymentJSON) },
			want: func(t *testing.T, p *Payment, err error) {
				wantPaymentStatus(StatusFailed)(t, p, err)
				require.Equal(t, "[1003] 잔액이 부족합니다", p.FailReason)
				require.Equal(t, KRW(9900), p.Amount)
			},
		},
		{
			name: "PG refusal with code -1",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusOK, -1, "카드정보 인증에 실패하였습니다. [F113]거래거절 카드번호틀림")
			},
			want: wantRefusal(http.StatusOK, -1, nil),
		},
		{
			name: "unknown customer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusOK, -1, "등록되지 않은 구매자입니다.")
			},
			want: wantRefusal(http.StatusOK, -1, ErrCustomerNotRegistered),
		},
		{
			name: "merchant_uid already paid or cancelled",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusOK, 1, "이미 주문이 이루어진 건입니다. (동일한 merchant_uid로 결제 또는 취소된 기록이 있습니다)")
			},
			want: wantRefusal(http.StatusOK, 1, ErrMerchantUIDUsed),
		},
		{
			name: "400 with a message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusBadRequest, 1, "이니시스 빌링결제는 상품명이 필수입니다.")
			},
			want: wantRefusal(http.StatusBadRequest, 1, nil),
		},
		{
			name: "429 is a refusal and temporary",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "slow down", http.StatusTooManyRequests)
			},
			want: func(t *testing.T, p *Payment, err error) {
				wantRefusal(http.StatusTooManyRequests, 0, nil)(t, p, err)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.True(t, apiErr.Temporary())
			},
		},
		{
			name: "redirect is not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			},
			// Not PortOne's answer: the charge may have reached PortOne before a proxy
			// redirected it, so only a lookup can tell (it used to be a refusal, which the
			// activity could read as a decline).
			want: wantUnknown,
		},
		{
			name: "500 envelope",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusInternalServerError, -1, "PG사 응답 지연")
			},
			want: wantUnknown,
		},
		{
			name: "502 from a proxy, not JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			},
			want: wantUnknown,
		},
		{
			name: "500 whose message mentions not-found still is unknown",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusInternalServerError, 1, "존재하지 않는 결제정보입니다.")
			},
			want: func(t *testing.T, p *Payment, err error) {
				wantUnknown(t, p, err)
				require.NotErrorIs(t, err, ErrNotFound)
			},
		},
		{
			name:    "connection closed after the request was read",
			handler: nil, // hijackClose, set below (needs t)
			want:    wantUnknown,
		},
		{
			name: "garbage body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("<html>maintenance</html>"))
			},
			want: wantUnknown,
		},
		{
			name: "truncated JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"code":0,"message":null,"response":{"status":"pa`))
			},
			want: wantUnknown,
		},
		{
			name: "envelope without code",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"response":{"status":"paid"}}`))
			},
			want: wantUnknown,
		},
		{
			name: "code 0 with null response",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeOK(w, "null")
			},
			want: wantUnknown,
		},
		{
			name: "code 0 with a payment without status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeOK(w, `{"imp_uid":"imp_1","merchant_uid":"sub-42-c3-a1"}`)
			},
			want: wantUnknown,
		},
		{
			name: "code 0 with another merchant_uid",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeOK(w, `{"imp_uid":"imp_1","merchant_uid":"someone-else","status":"paid"}`)
			},
			want: wantUnknown,
		},
		{
			name: "amount that is not whole won",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeOK(w, `{"imp_uid":"imp_1","merchant_uid":"sub-42-c3-a1","status":"paid","amount":99.5}`)
			},
			want: wantUnknown,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			h := tt.handler
			if h == nil {
				h = hijackClose(t)
			}
			mux.HandleFunc("/subscribe/payments/again", h)
			p, err := client.Again(context.Background(), againReq())
			collect(err)
			tt.want(t, p, err)
		})
	}
}

func TestCancelPayment_RequestShape(t *testing.T) {
	t.Parallel()
	balance := KRW(9900)
	tests := []struct {
		name     string
		give     CancelRequest
		wantBody string
	}{
		{
			name:     "full refund by imp_uid",
			give:     CancelRequest{ImpUID: "imp_448280090638"},
			wantBody: `{"imp_uid":"imp_448280090638"}`,
		},
		{
			name: "partial refund by merchant_uid, NaverPay fields",
			give: CancelRequest{
				MerchantUID: "sub-42-c3-a1", Amount: 5000, TaxFree: 500, Checksum: &balance,
				Reason: "고객 요청", Requester: RequesterCustomer, EnableWebhook: true,
			},
			wantBody: `{"merchant_uid":"sub-42-c3-a1","amount":5000,"tax_free":500,"checksum":9900,
				"reason":"고객 요청","enable_webhook":true,"extra":{"requester":"customer"}}`,
		},
		{
			name:     "zero checksum is sent",
			give:     CancelRequest{ImpUID: "imp_448280090638", Checksum: new(KRW), Requester: RequesterAdmin},
			wantBody: `{"imp_uid":"imp_448280090638","checksum":0,"extra":{"requester":"admin"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/payments/cancel", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testAuth(t, r)
				testJSONBody(t, r, tt.wantBody)
				writeOK(w, cancelledPaymentJSON)
			})
			p, err := client.CancelPayment(context.Background(), tt.give)
			require.NoError(t, err)
			require.Equal(t, StatusCancelled, p.Status)
			require.Equal(t, KRW(9900), p.CancelAmount)
			require.Len(t, p.CancelHistory, 1)
			require.Equal(t, "cncl_01", p.CancelHistory[0].CancellationID)
		})
	}
}

func TestCancelPayment_Outcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    outcome
	}{
		{"nothing to cancel", func(w http.ResponseWriter, r *http.Request) {
			writeFail(w, http.StatusOK, 1, "취소할 결제건이 존재하지 않습니다.")
		}, wantRefusal(http.StatusOK, 1, ErrNothingToCancel)},
		{"already cancelled", func(w http.ResponseWriter, r *http.Request) {
			writeFail(w, http.StatusOK, 1, "이미 전액취소된 주문입니다.")
		}, wantRefusal(http.StatusOK, 1, ErrAlreadyCancelled)},
		{"PG refusal", func(w http.ResponseWriter, r *http.Request) {
			writeFail(w, http.StatusOK, -1, "PG사 취소 실패")
		}, wantRefusal(http.StatusOK, -1, nil)},
		{"503 is unknown", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}, func(t *testing.T, p *Payment, err error) {
			require.ErrorIs(t, err, ErrUnknownOutcome)
			require.Contains(t, err.Error(), "cancel_history")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/payments/cancel", tt.handler)
			p, err := client.CancelPayment(context.Background(), CancelRequest{MerchantUID: "sub-42-c3-a1", Reason: "r"})
			collect(err)
			tt.want(t, p, err)
		})
	}
}

func TestPaymentLookups_RequestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []Option
		path      string
		wantQuery map[string][]string
		call      func(c *Client) (*Payment, error)
	}{
		{
			name: "GetPayment",
			path: "/payments/imp_448280090638",
			call: func(c *Client) (*Payment, error) { return c.GetPayment(context.Background(), "imp_448280090638") },
		},
		{
			name:      "GetPayment include_sandbox",
			opts:      []Option{WithIncludeSandbox(true)},
			path:      "/payments/imp_448280090638",
			wantQuery: map[string][]string{"include_sandbox": {"true"}},
			call:      func(c *Client) (*Payment, error) { return c.GetPayment(context.Background(), "imp_448280090638") },
		},
		{
			name: "FindPayment any status",
			path: "/payments/find/sub-42-c3-a1",
			call: func(c *Client) (*Payment, error) { return c.FindPayment(context.Background(), "sub-42-c3-a1", "") },
		},
		{
			name:      "FindPayment paid, include_sandbox",
			opts:      []Option{WithIncludeSandbox(true)},
			path:      "/payments/find/sub-42-c3-a1/paid",
			wantQuery: map[string][]string{"include_sandbox": {"true"}},
			call: func(c *Client) (*Payment, error) {
				return c.FindPayment(context.Background(), "sub-42-c3-a1", StatusPaid)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t, tt.opts...)
			mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, tt.wantQuery)
				assert.Empty(t, r.Header.Get("Content-Type"), "GET has no body")
				writeOK(w, paidPaymentJSON)
			})
			p, err := tt.call(client)
			require.NoError(t, err)
			require.Equal(t, "imp_448280090638", p.ImpUID)
		})
	}
}

func TestFindAllPayments_RequestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []Option
		give      FindAllQuery
		path      string
		wantQuery map[string][]string
	}{
		{"defaults", nil, FindAllQuery{}, "/payments/findAll/sub-42-c3-a1", nil},
		{
			"status, paging and sorting", []Option{WithIncludeSandbox(true)},
			FindAllQuery{Status: StatusFailed, Page: 2, Limit: 50, Sorting: "-updated"},
			"/payments/findAll/sub-42-c3-a1/failed",
			map[string][]string{"page": {"2"}, "limit": {"50"}, "sorting": {"-updated"}, "include_sandbox": {"true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t, tt.opts...)
			mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, tt.wantQuery)
				writeOK(w, `{"total":2,"previous":1,"next":3,"list":[`+declinedPaymentJSON+`,`+paidPaymentJSON+`]}`)
			})
			page, err := client.FindAllPayments(context.Background(), "sub-42-c3-a1", tt.give)
			require.NoError(t, err)
			require.Equal(t, 2, page.Total)
			require.Equal(t, 1, page.Previous)
			require.Equal(t, 3, page.Next)
			require.Len(t, page.List, 2)
			require.Equal(t, StatusFailed, page.List[0].Status)
			require.Equal(t, StatusPaid, page.List[1].Status)
		})
	}
}

func TestPaymentLookups_Errors(t *testing.T) {
	t.Parallel()
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusNotFound, 1, "존재하지 않는 결제정보입니다.")
	}
	tests := []struct {
		name    string
		path    string
		handler http.HandlerFunc
		call    func(c *Client) error
		check   func(t *testing.T, err error)
	}{
		{"GetPayment 404", "/payments/imp_1", notFound,
			func(c *Client) error { _, err := c.GetPayment(context.Background(), "imp_1"); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrNotFound) }},
		{"FindPayment 404", "/payments/find/m-1/paid", notFound,
			func(c *Client) error { _, err := c.FindPayment(context.Background(), "m-1", StatusPaid); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrNotFound) }},
		{"FindAllPayments 404", "/payments/findAll/m-1", notFound,
			func(c *Client) error {
				_, err := c.FindAllPayments(context.Background(), "m-1", FindAllQuery{})
				return err
			},
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrNotFound) }},
		{"GetPayment 500 is a temporary refusal", "/payments/imp_1",
			func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, http.StatusInternalServerError, -1, "일시적 오류")
			},
			func(c *Client) error { _, err := c.GetPayment(context.Background(), "imp_1"); return err },
			func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.True(t, apiErr.Temporary())
				require.Equal(t, http.StatusInternalServerError, apiErr.HTTPStatus)
				require.NotErrorIs(t, err, ErrUnknownOutcome, "reads have no unknown outcome")
			}},
		{"GetPayment 404 is not temporary", "/payments/imp_1", notFound,
			func(c *Client) error { _, err := c.GetPayment(context.Background(), "imp_1"); return err },
			func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.False(t, apiErr.Temporary())
			}},
		{"FindPayment connection dropped", "/payments/find/m-1", nil,
			func(c *Client) error { _, err := c.FindPayment(context.Background(), "m-1", ""); return err },
			func(t *testing.T, err error) {
				var te *TransportError
				require.ErrorAs(t, err, &te)
				require.NotErrorIs(t, err, ErrUnknownOutcome)
			}},
		{"GetPayment garbage", "/payments/imp_1",
			func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("not json")) },
			func(c *Client) error { _, err := c.GetPayment(context.Background(), "imp_1"); return err },
			func(t *testing.T, err error) {
				var te *TransportError
				require.ErrorAs(t, err, &te)
				require.Equal(t, opGetPayment, te.Op)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			h := tt.handler
			if h == nil {
				h = hijackClose(t)
			}
			mux.HandleFunc(tt.path, h)
			err := collect(tt.call(client))
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	var mu sync.Mutex
	var got []string
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath())
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/subscribe/customers/") {
			writeOK(w, customerJSON)
			return
		}
		writeOK(w, paidPaymentJSON)
	})
	_, err := client.FindPayment(context.Background(), "a/b?c#d %", "")
	require.NoError(t, err)
	_, err = client.GetCustomer(context.Background(), "고객/1")
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{
		"/payments/find/a%2Fb%3Fc%23d%20%25",
		"/subscribe/customers/%EA%B3%A0%EA%B0%9D%2F1",
	}, got)
}
