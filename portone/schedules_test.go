package portone

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	scheduleAt  = time.Date(2024, 2, 1, 0, 0, 0, 0, kst) // 1706713200
	scheduleAt2 = time.Date(2024, 3, 1, 0, 0, 0, 0, kst) // 1709218800
)

func TestSchedule_RequestShape(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	mux.HandleFunc("/subscribe/payments/schedule", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testAuth(t, r)
		testQuery(t, r, nil)
		testJSONBody(t, r, `{"customer_uid":"cust-naver-0000012345","schedules":[
			{"merchant_uid":"sub-42-c4-a1","schedule_at":1706713200,"amount":9900,"tax_free":0,
			 "name":"월간 구독 4회차","notice_url":"https://edge.example.test/wh",
			 "custom_data":"{\"cycle\":4}","extra":{"naverUseCfm":"20240201"}},
			{"merchant_uid":"sub-42-c5-a1","schedule_at":1709218800,"amount":9900,"tax_free":900,
			 "name":"월간 구독 5회차","buyer_tel":"010-1234-5678"}]}`)
		writeOK(w, `[`+scheduledJSON+`,`+scheduledJSON+`]`)
	})
	got, err := client.Schedule(context.Background(), ScheduleRequest{
		CustomerUID: custUID,
		Schedules: []ScheduleEntry{
			{MerchantUID: "sub-42-c4-a1", ScheduleAt: scheduleAt, Amount: 9900, Name: "월간 구독 4회차",
				NoticeURL: "https://edge.example.test/wh", CustomData: `{"cycle":4}`, NaverUseCfm: "20240201"},
			{MerchantUID: "sub-42-c5-a1", ScheduleAt: scheduleAt2, Amount: 9900, TaxFree: 900,
				Name: "월간 구독 5회차", Buyer: Buyer{Tel: "010-1234-5678"}},
		},
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, ScheduleScheduled, got[0].ScheduleStatus)
	require.Equal(t, PaymentStatus(""), got[0].PaymentStatus, "null payment_status decodes to empty")
	require.Empty(t, got[0].ImpUID)
	require.Equal(t, int64(1706745600), got[0].ScheduleAt)
}

func TestSchedule_Outcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		check   func(t *testing.T, got []ScheduleResult, err error)
	}{
		{"unknown customer",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeFail(w, http.StatusOK, 1, "등록된 고객정보가 없습니다.")
				}
			},
			func(t *testing.T, got []ScheduleResult, err error) {
				require.ErrorIs(t, err, ErrCustomerNotRegistered)
			}},
		{"duplicate merchant_uid: code 1, no sentinel",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeFail(w, http.StatusOK, 1, "이미 예약된 merchant_uid입니다.")
				}
			},
			func(t *testing.T, got []ScheduleResult, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, 1, apiErr.Code)
			}},
		{"dropped connection: unknown, names every merchant_uid",
			hijackClose,
			func(t *testing.T, got []ScheduleResult, err error) {
				var ue *UnknownOutcomeError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, "sub-42-c4-a1,sub-42-c5-a1", ue.MerchantUID)
				require.Contains(t, err.Error(), "GetSchedule")
			}},
		{"code 0 with null response: unknown",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { writeOK(w, "null") }
			},
			func(t *testing.T, got []ScheduleResult, err error) {
				require.ErrorIs(t, err, ErrUnknownOutcome)
			}},
		{"answered as a paged object",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeOK(w, `{"total":1,"previous":0,"next":0,"list":[`+scheduledJSON+`]}`)
				}
			},
			func(t *testing.T, got []ScheduleResult, err error) {
				require.NoError(t, err)
				require.Len(t, got, 1)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/schedule", tt.handler(t))
			got, err := client.Schedule(context.Background(), ScheduleRequest{
				CustomerUID: custUID,
				Schedules: []ScheduleEntry{
					{MerchantUID: "sub-42-c4-a1", ScheduleAt: scheduleAt, Amount: 9900, Name: "4회차"},
					{MerchantUID: "sub-42-c5-a1", ScheduleAt: scheduleAt2, Amount: 9900, Name: "5회차"},
				},
			})
			collect(err)
			tt.check(t, got, err)
		})
	}
}

func TestUnschedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		give     UnscheduleRequest
		wantBody string
	}{
		{"by merchant_uid: a JSON array",
			UnscheduleRequest{CustomerUID: custUID, MerchantUIDs: []string{"sub-42-c4-a1", "sub-42-c5-a1"}},
			`{"customer_uid":"cust-naver-0000012345","merchant_uid":["sub-42-c4-a1","sub-42-c5-a1"]}`},
		{"every pending schedule of a customer",
			UnscheduleRequest{CustomerUID: custUID},
			`{"customer_uid":"cust-naver-0000012345"}`},
		{"merchant_uids only",
			UnscheduleRequest{MerchantUIDs: []string{"sub-42-c4-a1"}},
			`{"merchant_uid":["sub-42-c4-a1"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/unschedule", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testAuth(t, r)
				testJSONBody(t, r, tt.wantBody)
				writeOK(w, `[{"customer_uid":"cust-naver-0000012345","merchant_uid":"sub-42-c4-a1",
					"schedule_status":"revoked","revoked_at":1704100000,"payment_status":null}]`)
			})
			got, err := client.Unschedule(context.Background(), tt.give)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, ScheduleRevoked, got[0].ScheduleStatus)
		})
	}
}

func TestUnschedule_Outcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{"nothing to revoke",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeFail(w, http.StatusOK, 1, "취소할 예약결제 기록이 존재하지 않습니다.")
				}
			},
			func(t *testing.T, err error) {
				require.ErrorIs(t, err, ErrNothingToUnschedule)
				require.NotErrorIs(t, err, ErrNotFound)
			}},
		{"500: unknown",
			func(t *testing.T) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeFail(w, http.StatusInternalServerError, -1, "internal")
				}
			},
			func(t *testing.T, err error) {
				var ue *UnknownOutcomeError
				require.ErrorAs(t, err, &ue)
				require.Equal(t, "sub-42-c4-a1", ue.MerchantUID)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/unschedule", tt.handler(t))
			_, err := client.Unschedule(context.Background(),
				UnscheduleRequest{CustomerUID: custUID, MerchantUIDs: []string{"sub-42-c4-a1"}})
			collect(err)
			tt.check(t, err)
		})
	}
}

func TestGetSchedule(t *testing.T) {
	t.Parallel()
	client, mux := setup(t)
	mux.HandleFunc("/subscribe/payments/schedule/sub-42-c3-a1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		testAuth(t, r)
		testQuery(t, r, nil)
		writeOK(w, executedJSON)
	})
	mux.HandleFunc("/subscribe/payments/schedule/nope", func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusNotFound, 1, "결제예약정보가 존재하지 않습니다.")
	})
	s, err := client.GetSchedule(context.Background(), "sub-42-c3-a1")
	require.NoError(t, err)
	require.Equal(t, ScheduleExecuted, s.ScheduleStatus)
	require.Equal(t, StatusPaid, s.PaymentStatus)
	require.Equal(t, KRW(9900), s.Amount)
	require.Equal(t, "imp_448280090638", s.ImpUID)

	_, err = client.GetSchedule(context.Background(), "nope")
	collect(err)
	require.ErrorIs(t, err, ErrNotFound)
}

// listShapes are the two answers PortOne's list endpoints have been seen to give.
var listShapes = []struct {
	name      string
	body      string
	wantTotal int
	wantNext  int
}{
	{"paged object", `{"total":41,"previous":1,"next":3,"list":[` + scheduledJSON + `,` + executedJSON + `]}`, 41, 3},
	{"bare array", `[` + scheduledJSON + `,` + executedJSON + `]`, 2, 0},
}

func TestSchedulesByCustomer(t *testing.T) {
	t.Parallel()
	for _, shape := range listShapes {
		t.Run(shape.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/schedule/customers/"+custUID, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, map[string][]string{
					"from": {"1706713200"}, "to": {"1709218800"}, "page": {"2"},
					"schedule-status": {"scheduled"}, // hyphen on this route
				})
				writeOK(w, shape.body)
			})
			page, err := client.SchedulesByCustomer(context.Background(), custUID,
				ScheduleQuery{From: scheduleAt, To: scheduleAt2, Page: 2, Status: ScheduleScheduled})
			require.NoError(t, err)
			require.Equal(t, shape.wantTotal, page.Total)
			require.Equal(t, shape.wantNext, page.Next)
			require.Len(t, page.List, 2)
			require.Equal(t, ScheduleExecuted, page.List[1].ScheduleStatus)
		})
	}
	t.Run("minimal query, empty answer", func(t *testing.T) {
		t.Parallel()
		client, mux := setup(t)
		mux.HandleFunc("/subscribe/payments/schedule/customers/"+custUID, func(w http.ResponseWriter, r *http.Request) {
			testQuery(t, r, map[string][]string{"from": {"1706713200"}, "to": {"1709218800"}})
			writeOK(w, `[]`)
		})
		page, err := client.SchedulesByCustomer(context.Background(), custUID, ScheduleQuery{From: scheduleAt, To: scheduleAt2})
		require.NoError(t, err)
		require.Equal(t, 0, page.Total)
		require.NotNil(t, page.List)
	})
}

func TestSchedules(t *testing.T) {
	t.Parallel()
	for _, shape := range listShapes {
		t.Run(shape.name, func(t *testing.T) {
			t.Parallel()
			client, mux := setup(t)
			mux.HandleFunc("/subscribe/payments/schedule", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testAuth(t, r)
				testQuery(t, r, map[string][]string{
					"schedule_from": {"1706713200"}, "schedule_to": {"1709218800"},
					"schedule_status": {"executed"}, // underscore on this route
					"page":            {"1"}, "limit": {"100"}, "sorting": {"scheduled"},
				})
				writeOK(w, shape.body)
			})
			page, err := client.Schedules(context.Background(), ScheduleRangeQuery{
				From: scheduleAt, To: scheduleAt2, Status: ScheduleExecuted, Page: 1, Limit: 100, Sorting: "scheduled",
			})
			require.NoError(t, err)
			require.Equal(t, shape.wantTotal, page.Total)
			require.Len(t, page.List, 2)
		})
	}
	t.Run("400 on bad parameters", func(t *testing.T) {
		t.Parallel()
		client, mux := setup(t)
		mux.HandleFunc("/subscribe/payments/schedule", func(w http.ResponseWriter, r *http.Request) {
			writeFail(w, http.StatusBadRequest, 1, "조회 기간은 최대 3개월입니다.")
		})
		_, err := client.Schedules(context.Background(), ScheduleRangeQuery{From: scheduleAt, To: scheduleAt2.AddDate(1, 0, 0)})
		collect(err)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.HTTPStatus)
		require.False(t, apiErr.Temporary())
	})
}
