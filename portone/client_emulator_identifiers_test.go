package portone_test

// Client against emulator: identifiers that need escaping, through every route that carries one.

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
)

// TestClientEmulator_OddIdentifiers sends identifiers that need escaping (a slash, a space,
// Korean, '#', '?', '&', '=', '%') through every route that carries one in its path or query.
func TestClientEmulator_OddIdentifiers(t *testing.T) {
	const muid, muid2 = "sub-1/2026-11/1 결제#?&=%", "sub-1/2026-12/1 결제#?&=%"
	e := newEnv(t)
	e.register(custOdd)

	c, err := e.GetCustomer(custOdd)
	require.NoError(t, err)
	require.Equal(t, custOdd, c.CustomerUID)
	cs, err := e.GetCustomers([]string{custOdd, custA})
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, custOdd, cs[0].CustomerUID)

	p := e.pay(custOdd, muid, 1000)
	require.Equal(t, muid, p.MerchantUID)
	require.Equal(t, custOdd, p.CustomerUID)
	for _, status := range []portone.PaymentStatus{"", portone.StatusPaid} {
		got, err := e.FindPayment(muid, status)
		require.NoError(t, err)
		require.Equal(t, p.ImpUID, got.ImpUID)
	}
	all, err := e.FindAllPayments(muid, portone.FindAllQuery{})
	require.NoError(t, err)
	require.Len(t, all.List, 1)
	pays, err := e.CustomerPayments(custOdd, 1)
	require.NoError(t, err)
	require.Equal(t, 2, pays.Total, "the registration and the charge")

	_, err = e.Schedule(portone.ScheduleRequest{CustomerUID: custOdd, Schedules: []portone.ScheduleEntry{entry(muid2, t0.Add(time.Hour), 1000)}})
	require.NoError(t, err)
	s, err := e.GetSchedule(muid2)
	require.NoError(t, err)
	require.Equal(t, custOdd, s.CustomerUID)
	page, err := e.SchedulesByCustomer(custOdd, portone.ScheduleQuery{From: t0, To: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, page.List, 1)
	revoked, err := e.Unschedule(portone.UnscheduleRequest{CustomerUID: custOdd})
	require.NoError(t, err)
	require.Len(t, revoked, 1)

	cancelled, err := e.CancelPayment(portone.CancelRequest{MerchantUID: muid, Reason: "환불", Requester: portone.RequesterCustomer})
	require.NoError(t, err)
	require.Equal(t, portone.StatusCancelled, cancelled.Status)

	_, err = e.DeleteCustomer(custOdd, portone.DeleteCustomerRequest{Reason: "탈퇴 & 삭제?", Requester: portone.RequesterCustomer})
	require.NoError(t, err)
	require.Empty(t, e.emu.Warnings(), "reason and requester arrived intact")
	_, err = e.GetCustomer(custOdd)
	apiErr := requireRefusal(t, err, http.StatusOK, 1, portone.ErrNotFound)
	require.Contains(t, apiErr.Message, "****4321")
}
