package portone_test

// Client against emulator: billing keys (customers). The environment and helpers are in
// client_emulator_test.go.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

func TestClientEmulator_Customers(t *testing.T) {
	t.Run("GetCustomer returns the registered key", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		reg := e.register(custA)

		got, err := e.GetCustomer(custA)
		require.NoError(t, err)
		require.Equal(t, custA, got.CustomerUID)
		require.Equal(t, portonetest.PGNaverPay, got.PGProvider)
		require.NotEmpty(t, got.PGID)
		require.False(t, got.Sandbox)
		require.Equal(t, "김결제", got.CustomerName)
		require.Equal(t, "01012345678", got.CustomerTel)
		require.Equal(t, "buyer@example.com", got.CustomerEmail)
		require.Equal(t, t0.Unix(), got.Inserted)
		require.Equal(t, t0.Unix(), got.Updated)
		require.Nil(t, got.CardType, "NaverPay discloses no card")

		// The registration left its record (amount 0, usage issue), found by imp_uid.
		p, err := e.GetPayment(reg.RegistrationImpUID)
		require.NoError(t, err)
		require.Equal(t, portone.StatusPaid, p.Status)
		require.Equal(t, portone.KRW(0), p.Amount)
		require.Equal(t, "issue", p.CustomerUIDUsage)
		require.Equal(t, custA, p.CustomerUID)
		require.Equal(t, reg.RegistrationMerchantUID, p.MerchantUID)
		require.Equal(t, 0, e.emu.PaidCount(reg.RegistrationMerchantUID), "a registration is not a charge")
	})

	for _, status := range []int{http.StatusOK, http.StatusNotFound} {
		t.Run(fmt.Sprintf("unknown customer_uid answered with HTTP %d is ErrNotFound", status), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, customerNotFoundStatus(status))
			e.register(custA)

			_, err := e.GetCustomer(custUnknown)
			apiErr := requireRefusal(t, err, status, 1, portone.ErrNotFound)
			require.Contains(t, apiErr.Message, "****9999", "the masked uid keeps the message useful")

			_, err = e.DeleteCustomer(custUnknown, portone.DeleteCustomerRequest{Reason: "탈퇴", Requester: portone.RequesterAdmin})
			requireRefusal(t, err, status, 1, portone.ErrNotFound)

			_, err = e.GetCustomer(custA)
			require.NoError(t, err, "the known key is untouched")
		})
	}

	t.Run("GetCustomers", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name       string
			ask        []string
			want       []string
			wantStatus int
		}{
			{name: "all found", ask: []string{custA, custB}, want: []string{custA, custB}, wantStatus: http.StatusOK},
			{name: "partial", ask: []string{custUnknown, custB}, want: []string{custB}, wantStatus: http.StatusMultiStatus},
			{name: "none", ask: []string{custUnknown, custUnknown2}, want: []string{}, wantStatus: http.StatusMultiStatus},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				e.register(custA)
				e.register(custB)

				got, err := e.GetCustomers(tt.ask)
				require.NoError(t, err)
				uids := []string{}
				for _, c := range got {
					uids = append(uids, c.CustomerUID)
					require.Equal(t, portonetest.PGNaverPay, c.PGProvider)
				}
				require.ElementsMatch(t, tt.want, uids)
				require.Equal(t, []int{tt.wantStatus}, e.answers(http.MethodGet, "/subscribe/customers"), "the emulator's HTTP status")
			})
		}
	})

	t.Run("DeleteCustomer", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)

		got, err := e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "구독 해지 요청", Requester: portone.RequesterCustomer})
		require.NoError(t, err)
		require.Equal(t, custA, got.CustomerUID)
		require.Equal(t, "01012345678", got.CustomerTel, "the key is returned as it was")
		require.Empty(t, e.emu.Warnings(), "reason and requester satisfy NaverPay's review")

		_, err = e.GetCustomer(custA)
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
		_, err = e.DeleteCustomer(custA, portone.DeleteCustomerRequest{Reason: "again", Requester: portone.RequesterAdmin})
		requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
		_, err = e.Again(charge(custA, "ord-after-delete", 1000))
		requireRefusal(t, err, http.StatusOK, -1, portone.ErrCustomerNotRegistered)
		_, err = e.GetCustomer(custB)
		require.NoError(t, err, "only the named key is deleted")

		// A schedule left pending on a deleted key fails when it runs.
		_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custB, Schedules: []portone.ScheduleEntry{entry("ord-orphan", t0.Add(time.Hour), 1000)}})
		require.NoError(t, err)

		// Without reason and requester PortOne accepts it, but NaverPay's review would not.
		_, err = e.DeleteCustomer(custB, portone.DeleteCustomerRequest{})
		require.NoError(t, err)
		w := e.emu.Warnings()
		require.Len(t, w, 1)
		require.ElementsMatch(t, []string{"reason", "extra.requester"}, w[0].Missing)

		e.clk.Advance(time.Hour)
		s, err := e.GetSchedule("ord-orphan")
		require.NoError(t, err)
		require.Equal(t, portone.ScheduleExecuted, s.ScheduleStatus)
		require.Equal(t, portone.StatusFailed, s.PaymentStatus)
		require.Contains(t, s.FailReason, "등록되지 않은 구매자")
		require.Zero(t, e.emu.PaidCount("ord-orphan"))
	})

	t.Run("CustomerPayments pages newest first", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.register(custA)
		e.register(custB)
		const charges = 22 // + the registration record = 23: pages of 20 and 3
		for i := 1; i <= charges; i++ {
			e.clk.Advance(time.Second) // distinct started_at
			e.pay(custA, fmt.Sprintf("ord-page-%02d", i), portone.KRW(1000+i))
		}
		e.pay(custB, "ord-other-customer", 5000)

		first, err := e.CustomerPayments(custA, 0)
		require.NoError(t, err)
		require.Equal(t, charges+1, first.Total)
		require.Len(t, first.List, 20)
		require.Equal(t, 0, first.Previous)
		require.Equal(t, 2, first.Next)
		require.Equal(t, "ord-page-22", first.List[0].MerchantUID, "newest first")
		require.Equal(t, portone.KRW(1022), first.List[0].Amount)

		second, err := e.CustomerPayments(custA, 2)
		require.NoError(t, err)
		require.Equal(t, charges+1, second.Total)
		require.Len(t, second.List, 3)
		require.Equal(t, 1, second.Previous)
		require.Equal(t, 0, second.Next)
		last := second.List[2]
		require.Equal(t, "issue", last.CustomerUIDUsage, "the registration record is the oldest")

		// Every page item is the customer's, and together they are the ledger's records.
		var fromPages, fromLedger []string
		for _, p := range append(first.List, second.List...) {
			require.Equal(t, custA, p.CustomerUID)
			fromPages = append(fromPages, p.ImpUID)
		}
		for _, le := range e.emu.Ledger() {
			if le.CustomerUID == custA {
				fromLedger = append(fromLedger, le.ImpUID)
			}
		}
		require.ElementsMatch(t, fromLedger, fromPages)

		empty, err := e.CustomerPayments(custUnknown, 0)
		require.NoError(t, err)
		require.Equal(t, 0, empty.Total)
		require.Empty(t, empty.List)
	})
}
