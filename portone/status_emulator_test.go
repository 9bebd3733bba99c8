package portone_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestPaymentsByStatusAgainstEmulator pages a day of 2,500 paid payments plus a refund made
// days after its payment: the paging helper visits each page once, in order, and the refund is
// found under cancelled on its refund day, not under paid on its payment day.
func TestPaymentsByStatusAgainstEmulator(t *testing.T) {
	e := newEnv(t)
	day := t0.Add(-24 * time.Hour)
	const n = 2500
	for i := range n {
		_, err := e.emu.CreatePayment(portonetest.PaymentSeed{MerchantUID: fmt.Sprintf("day-%04d", i), Amount: 1000,
			At: day.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
	}
	refund, err := e.emu.CreatePayment(portonetest.PaymentSeed{MerchantUID: "late-refund", Amount: 5000, Status: "cancelled",
		At: day.Add(-72 * time.Hour), CancelledAt: day.Add(time.Hour)})
	require.NoError(t, err)

	q := portone.StatusQuery{From: day, To: day.Add(24*time.Hour - time.Second), Sorting: "paid"}
	var pages []int
	var uids []string
	require.NoError(t, e.api.c.EachPaymentByStatus(e.ctx, portone.StatusPaid, q, func(pageNo int, p *portone.Page[portone.Payment]) error {
		pages = append(pages, pageNo)
		require.Equal(t, n, p.Total)
		for _, pay := range p.List {
			uids = append(uids, pay.MerchantUID)
		}
		return nil
	}))
	require.Equal(t, []int{1, 2, 3}, pages)
	require.Len(t, uids, n)
	for i, u := range uids {
		require.Equal(t, fmt.Sprintf("day-%04d", i), u)
	}

	got, err := e.api.c.PaymentsByStatus(e.ctx, portone.StatusCancelled, q)
	require.NoError(t, err)
	require.Len(t, got.List, 1)
	require.Equal(t, refund.ImpUID, got.List[0].ImpUID)
	require.EqualValues(t, 5000, got.List[0].CancelAmount)
	require.Len(t, got.List[0].CancelHistory, 1)

	// Resuming from page 3 visits page 3 only.
	pages = nil
	q.Page = 3
	require.NoError(t, e.api.c.EachPaymentByStatus(e.ctx, portone.StatusPaid, q, func(pageNo int, _ *portone.Page[portone.Payment]) error {
		pages = append(pages, pageNo)
		return nil
	}))
	require.Equal(t, []int{3}, pages)

	// A visit error stops the paging and is returned as is.
	stop := errors.New("stop")
	q.Page = 0
	require.ErrorIs(t, e.api.c.EachPaymentByStatus(e.ctx, portone.StatusPaid, q, func(int, *portone.Page[portone.Payment]) error { return stop }), stop)
}

func TestPaymentsByStatusValidation(t *testing.T) {
	e := newEnv(t)
	from := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		status portone.PaymentStatus
		q      portone.StatusQuery
		field  string
	}{
		{"unknown status", "refunded", portone.StatusQuery{From: from, To: t0}, "payment_status"},
		{"no from", portone.StatusPaid, portone.StatusQuery{To: t0}, "from"},
		{"no to", portone.StatusPaid, portone.StatusQuery{From: from}, "to"},
		{"to before from", portone.StatusPaid, portone.StatusQuery{From: t0, To: from}, "to"},
		{"over 90 days", portone.StatusAll, portone.StatusQuery{From: t0.AddDate(0, 0, -91), To: t0}, "to"},
		{"limit over 1000", portone.StatusFailed, portone.StatusQuery{From: from, To: t0, Limit: 1001}, "limit"},
		{"bad sorting", portone.StatusCancelled, portone.StatusQuery{From: from, To: t0, Sorting: "amount"}, "sorting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.api.c.PaymentsByStatus(e.ctx, tc.status, tc.q)
			var ve *portone.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Field)
			require.Equal(t, "GET /payments/status/{payment_status}", ve.Op)
		})
	}
}
