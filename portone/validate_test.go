package portone

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	long := func(n int) string { return strings.Repeat("가", n) } // n characters, 3n bytes
	again := func(mod func(r *AgainRequest)) func(c *Client) error {
		return func(c *Client) error {
			r := againReq()
			mod(&r)
			_, err := c.Again(ctx, r)
			return err
		}
	}
	entry := func() ScheduleEntry {
		return ScheduleEntry{MerchantUID: "m-1", ScheduleAt: scheduleAt, Amount: 9900, Name: "4회차"}
	}
	schedule := func(mod func(r *ScheduleRequest)) func(c *Client) error {
		return func(c *Client) error {
			r := ScheduleRequest{CustomerUID: custUID, Schedules: []ScheduleEntry{entry()}}
			mod(&r)
			_, err := c.Schedule(ctx, r)
			return err
		}
	}
	cancel := func(r CancelRequest) func(c *Client) error {
		return func(c *Client) error { _, err := c.CancelPayment(ctx, r); return err }
	}
	neg := KRW(-1)

	tests := []struct {
		name      string
		opts      []Option
		call      func(c *Client) error
		wantField string
	}{
		// Again
		{"again: customer_uid empty", nil, again(func(r *AgainRequest) { r.CustomerUID = "" }), "customer_uid"},
		{"again: customer_uid over 80", nil, again(func(r *AgainRequest) { r.CustomerUID = long(81) }), "customer_uid"},
		{"again: merchant_uid empty", nil, again(func(r *AgainRequest) { r.MerchantUID = "" }), "merchant_uid"},
		{"again: merchant_uid over 40 characters", nil, again(func(r *AgainRequest) { r.MerchantUID = long(41) }), "merchant_uid"},
		{"again: merchant_uid dot segment", nil, again(func(r *AgainRequest) { r.MerchantUID = ".." }), "merchant_uid"},
		{"again: name empty", nil, again(func(r *AgainRequest) { r.Name = "" }), "name"},
		{"again: name over 40", nil, again(func(r *AgainRequest) { r.Name = long(41) }), "name"},
		{"again: buyer_name over 16", nil, again(func(r *AgainRequest) { r.Buyer.Name = long(17) }), "buyer_name"},
		{"again: buyer_tel over 16", nil, again(func(r *AgainRequest) { r.Buyer.Tel = strings.Repeat("1", 17) }), "buyer_tel"},
		{"again: buyer_email over 64", nil, again(func(r *AgainRequest) { r.Buyer.Email = strings.Repeat("a", 65) }), "buyer_email"},
		{"again: buyer_addr over 128", nil, again(func(r *AgainRequest) { r.Buyer.Addr = long(129) }), "buyer_addr"},
		{"again: buyer_postcode over 8", nil, again(func(r *AgainRequest) { r.Buyer.Postcode = "123456789" }), "buyer_postcode"},
		{"again: amount below NaverPay minimum", nil, again(func(r *AgainRequest) { r.Amount = 9 }), "amount"},
		{"again: amount zero", nil, again(func(r *AgainRequest) { r.Amount = 0 }), "amount"},
		{"again: amount negative", []Option{WithMinimumAmount(0)}, again(func(r *AgainRequest) { r.Amount = -5 }), "amount"},
		{"again: amount below custom minimum", []Option{WithMinimumAmount(100)}, again(func(r *AgainRequest) { r.Amount = 99 }), "amount"},
		{"again: tax_free negative", nil, again(func(r *AgainRequest) { r.TaxFree = -1 }), "tax_free"},
		{"again: tax_free over amount", nil, again(func(r *AgainRequest) { r.TaxFree = r.Amount + 1 }), "tax_free"},
		{"again: naverUseCfm wrong format", nil, again(func(r *AgainRequest) { r.NaverUseCfm = "2024-01-31" }), "extra.naverUseCfm"},
		{"again: naverUseCfm too short", nil, again(func(r *AgainRequest) { r.NaverUseCfm = "2024131" }), "extra.naverUseCfm"},
		{"again: naverUseCfm not a calendar date", nil, again(func(r *AgainRequest) { r.NaverUseCfm = "20230229" }), "extra.naverUseCfm"},
		{"again: notice_url not absolute", nil, again(func(r *AgainRequest) { r.NoticeURL = "/webhooks" }), "notice_url"},

		// Schedule
		{"schedule: customer_uid empty", nil, schedule(func(r *ScheduleRequest) { r.CustomerUID = "" }), "customer_uid"},
		{"schedule: no entries", nil, schedule(func(r *ScheduleRequest) { r.Schedules = nil }), "schedules"},
		{"schedule: duplicate merchant_uid", nil, schedule(func(r *ScheduleRequest) {
			r.Schedules = append(r.Schedules, entry())
		}), "schedules[1].merchant_uid"},
		{"schedule: zero schedule_at", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].ScheduleAt = time.Time{} }), "schedules[0].schedule_at"},
		{"schedule: entry merchant_uid empty", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].MerchantUID = "" }), "schedules[0].merchant_uid"},
		{"schedule: entry name empty", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].Name = "" }), "schedules[0].name"},
		{"schedule: entry amount below minimum", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].Amount = 5 }), "schedules[0].amount"},
		{"schedule: entry tax_free over amount", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].TaxFree = 10000 }), "schedules[0].tax_free"},
		{"schedule: entry buyer_tel over 16", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].Buyer.Tel = strings.Repeat("1", 17) }), "schedules[0].buyer_tel"},
		{"schedule: naverUseCfm invalid", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].NaverUseCfm = "20241301" }), "schedules[0].extra.naverUseCfm"},
		{"schedule: naverUseCfm before the payment day", nil, schedule(func(r *ScheduleRequest) { r.Schedules[0].NaverUseCfm = "20240131" }), "schedules[0].extra.naverUseCfm"},

		// Unschedule
		{"unschedule: neither customer_uid nor merchant_uid", nil, func(c *Client) error {
			_, err := c.Unschedule(ctx, UnscheduleRequest{})
			return err
		}, "customer_uid"},
		{"unschedule: empty merchant_uid", nil, func(c *Client) error {
			_, err := c.Unschedule(ctx, UnscheduleRequest{MerchantUIDs: []string{"m-1", ""}})
			return err
		}, "merchant_uid[1]"},
		{"unschedule: customer_uid over 80", nil, func(c *Client) error {
			_, err := c.Unschedule(ctx, UnscheduleRequest{CustomerUID: long(81)})
			return err
		}, "customer_uid"},

		// CancelPayment
		{"cancel: neither imp_uid nor merchant_uid", nil, cancel(CancelRequest{Reason: "r"}), "imp_uid"},
		{"cancel: imp_uid over 32", nil, cancel(CancelRequest{ImpUID: strings.Repeat("1", 33)}), "imp_uid"},
		{"cancel: negative amount", nil, cancel(CancelRequest{ImpUID: "imp_1", Amount: -1}), "amount"},
		{"cancel: negative tax_free", nil, cancel(CancelRequest{ImpUID: "imp_1", TaxFree: -1}), "tax_free"},
		{"cancel: tax_free over amount", nil, cancel(CancelRequest{ImpUID: "imp_1", Amount: 100, TaxFree: 101}), "tax_free"},
		{"cancel: negative checksum", nil, cancel(CancelRequest{ImpUID: "imp_1", Checksum: &neg}), "checksum"},
		{"cancel: invalid requester", nil, cancel(CancelRequest{ImpUID: "imp_1", Requester: "merchant"}), "extra.requester"},

		// DeleteCustomer and other customer calls
		{"delete: customer_uid empty", nil, func(c *Client) error {
			_, err := c.DeleteCustomer(ctx, "", DeleteCustomerRequest{})
			return err
		}, "customer_uid"},
		{"delete: invalid requester", nil, func(c *Client) error {
			_, err := c.DeleteCustomer(ctx, custUID, DeleteCustomerRequest{Requester: "Customer"})
			return err
		}, "extra[requester]"},
		{"get customer: empty", nil, func(c *Client) error { _, err := c.GetCustomer(ctx, ""); return err }, "customer_uid"},
		{"get customer: dot segment", nil, func(c *Client) error { _, err := c.GetCustomer(ctx, "."); return err }, "customer_uid"},
		{"get customers: none", nil, func(c *Client) error { _, err := c.GetCustomers(ctx, nil); return err }, "customer_uid[]"},
		{"get customers: empty element", nil, func(c *Client) error {
			_, err := c.GetCustomers(ctx, []string{custUID, ""})
			return err
		}, "customer_uid[1]"},
		{"customer payments: negative page", nil, func(c *Client) error {
			_, err := c.CustomerPayments(ctx, custUID, -1)
			return err
		}, "page"},

		// Payment lookups
		{"get payment: empty imp_uid", nil, func(c *Client) error { _, err := c.GetPayment(ctx, ""); return err }, "imp_uid"},
		{"find payment: empty merchant_uid", nil, func(c *Client) error {
			_, err := c.FindPayment(ctx, "", StatusPaid)
			return err
		}, "merchant_uid"},
		{"find payment: unknown status", nil, func(c *Client) error {
			_, err := c.FindPayment(ctx, "m-1", "refunded")
			return err
		}, "payment_status"},
		{"find all: unknown status", nil, func(c *Client) error {
			_, err := c.FindAllPayments(ctx, "m-1", FindAllQuery{Status: "PAID"})
			return err
		}, "payment_status"},
		{"find all: limit over 1000", nil, func(c *Client) error {
			_, err := c.FindAllPayments(ctx, "m-1", FindAllQuery{Limit: 1001})
			return err
		}, "limit"},
		{"find all: unknown sorting", nil, func(c *Client) error {
			_, err := c.FindAllPayments(ctx, "m-1", FindAllQuery{Sorting: "newest"})
			return err
		}, "sorting"},

		// Schedule lookups
		{"get schedule: empty", nil, func(c *Client) error { _, err := c.GetSchedule(ctx, ""); return err }, "merchant_uid"},
		{"by customer: no from", nil, func(c *Client) error {
			_, err := c.SchedulesByCustomer(ctx, custUID, ScheduleQuery{To: scheduleAt})
			return err
		}, "from"},
		{"by customer: to not after from", nil, func(c *Client) error {
			_, err := c.SchedulesByCustomer(ctx, custUID, ScheduleQuery{From: scheduleAt, To: scheduleAt})
			return err
		}, "to"},
		{"by customer: unknown status", nil, func(c *Client) error {
			_, err := c.SchedulesByCustomer(ctx, custUID, ScheduleQuery{From: scheduleAt, To: scheduleAt2, Status: "done"})
			return err
		}, "schedule-status"},
		{"range: no to", nil, func(c *Client) error {
			_, err := c.Schedules(ctx, ScheduleRangeQuery{From: scheduleAt})
			return err
		}, "schedule_to"},
		{"range: negative page", nil, func(c *Client) error {
			_, err := c.Schedules(ctx, ScheduleRangeQuery{From: scheduleAt, To: scheduleAt2, Page: -1})
			return err
		}, "page"},
		{"range: limit over 1000", nil, func(c *Client) error {
			_, err := c.Schedules(ctx, ScheduleRangeQuery{From: scheduleAt, To: scheduleAt2, Limit: 5000})
			return err
		}, "limit"},
		{"range: unknown status", nil, func(c *Client) error {
			_, err := c.Schedules(ctx, ScheduleRangeQuery{From: scheduleAt, To: scheduleAt2, Status: "Scheduled"})
			return err
		}, "schedule_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.opts...)
			f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("invalid input was sent: %s %s", r.Method, r.URL.Path)
			})
			err := collect(tt.call(f.client))
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.wantField, ve.Field)
			require.NotEmpty(t, ve.Op)
			require.NotEmpty(t, ve.Reason)
			require.Contains(t, err.Error(), tt.wantField)
			require.NotErrorIs(t, err, ErrUnknownOutcome)
			require.Zero(t, f.tokenCalls.Load(), "validation happens before any request")
		})
	}
}

func TestValidation_Accepts(t *testing.T) {
	t.Parallel()
	client, mux := setup(t, WithMinimumAmount(0))
	mux.HandleFunc("/subscribe/payments/again", func(w http.ResponseWriter, r *http.Request) {
		writeOK(w, `{"merchant_uid":"`+strings.Repeat("가", 40)+`","status":"paid"}`)
	})
	// 40 characters are 120 bytes: PortOne counts characters.
	r := againReq()
	r.MerchantUID = strings.Repeat("가", 40)
	r.Name = strings.Repeat("나", 40)
	r.Amount = 1 // minimum 0 still needs a positive amount
	r.TaxFree = 1
	r.NaverUseCfm = "20240229" // a leap day
	_, err := client.Again(context.Background(), r)
	require.NoError(t, err)
}
