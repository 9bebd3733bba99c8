package portone

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetCustomer(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	mux.HandleFunc("/subscribe/customers/"+custUID, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testAuth(t, r)
		testQuery(t, r, nil)
		writeOK(w, customerJSON)
	})
	c, err := client.GetCustomer(context.Background(), custUID)
	require.NoError(t, err)
	require.Equal(t, &Customer{
		CustomerUID: custUID, PGProvider: "naverpay", PGID: "np_mid", Sandbox: true,
		CustomerName: "홍길동", CustomerTel: "010-1234-5678", Inserted: 1704000000, Updated: 1704000000,
	}, c)
}

func TestGetCustomer_NotFound(t *testing.T) {
	t.Parallel()
	msg := "요청하신 customer_uid(" + custUID + ")로 등록된 정보를 찾을 수 없습니다."
	tests := []struct {
		name   string
		status int
		code   int
	}{
		{"documented: HTTP 404", http.StatusNotFound, 1},
		{"observed: HTTP 200 with code 1", http.StatusOK, 1},
		{"observed: HTTP 200 with code -1", http.StatusOK, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/customers/"+custUID, func(w http.ResponseWriter, r *http.Request) {
				writeFail(w, tt.status, tt.code, msg)
			})
			c, err := client.GetCustomer(context.Background(), custUID)
			collect(err)
			require.Nil(t, c)
			require.ErrorIs(t, err, ErrNotFound)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tt.status, apiErr.HTTPStatus)
			require.Equal(t, opGetCustomer, apiErr.Op)
			require.NotContains(t, apiErr.Message, custUID, "customer_uid is masked")
			require.Contains(t, apiErr.Message, "customer_uid(****2345)")
		})
	}
}

func TestGetCustomers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   int
	}{
		{"all found", http.StatusOK, `[` + customerJSON + `]`, 1},
		{"some missing: 207", http.StatusMultiStatus, `[` + customerJSON + `]`, 1},
		{"none found", http.StatusOK, `[]`, 0},
		{"null list", http.StatusOK, `null`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/customers", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, map[string][]string{"customer_uid[]": {custUID, custUID2}})
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"code":0,"message":null,"response":` + tt.body + `}`))
			})
			got, err := client.GetCustomers(context.Background(), []string{custUID, custUID2})
			require.NoError(t, err)
			require.Len(t, got, tt.want)
			require.NotNil(t, got)
		})
	}
}

func TestDeleteCustomer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		give      DeleteCustomerRequest
		wantQuery map[string][]string
	}{
		{"NaverPay review fields", DeleteCustomerRequest{Reason: "구독 해지", Requester: RequesterCustomer},
			map[string][]string{"reason": {"구독 해지"}, "extra[requester]": {"customer"}}},
		{"no fields", DeleteCustomerRequest{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/customers/"+custUID, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodDelete)
				testAuth(t, r)
				testQuery(t, r, tt.wantQuery)
				writeOK(w, customerJSON)
			})
			c, err := client.DeleteCustomer(context.Background(), custUID, tt.give)
			require.NoError(t, err)
			require.Equal(t, custUID, c.CustomerUID)
		})
	}
}

func TestDeleteCustomer_Outcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{"unknown customer",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeFail(w, http.StatusOK, 1, "요청하신 customer_uid("+custUID+")로 등록된 정보를 찾을 수 없습니다.")
				}
			},
			func(t *testing.T, err error) {
				require.ErrorIs(t, err, ErrNotFound)
				require.NotErrorIs(t, err, ErrUnknownOutcome)
			}},
		{"connection dropped",
			hijackClose,
			func(t *testing.T, err error) {
				var ue *UnknownOutcomeError
				require.ErrorAs(t, err, &ue)
				require.Empty(t, ue.MerchantUID)
				require.Contains(t, err.Error(), "GetCustomer")
			}},
		{"502",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "bad gateway", http.StatusBadGateway)
				}
			},
			func(t *testing.T, err error) { require.ErrorIs(t, err, ErrUnknownOutcome) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/customers/"+custUID, tt.handler(t))
			_, err := client.DeleteCustomer(context.Background(), custUID,
				DeleteCustomerRequest{Reason: "구독 해지", Requester: RequesterAdmin})
			collect(err)
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestCustomerPayments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		page      int
		wantQuery map[string][]string
		body      string
		wantTotal int
	}{
		{"first page by default", 0, nil,
			`{"total":2,"previous":0,"next":0,"list":[` + paidPaymentJSON + `,` + declinedPaymentJSON + `]}`, 2},
		{"page 3", 3, map[string][]string{"page": {"3"}},
			`{"total":45,"previous":2,"next":0,"list":[` + paidPaymentJSON + `]}`, 45},
		{"unknown customer: empty list", 0, nil, `{"total":0,"previous":0,"next":0,"list":[]}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/customers/"+custUID+"/payments", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, tt.wantQuery)
				writeOK(w, tt.body)
			})
			page, err := client.CustomerPayments(context.Background(), custUID, tt.page)
			require.NoError(t, err)
			require.Equal(t, tt.wantTotal, page.Total)
			require.NotNil(t, page.List)
		})
	}
}
