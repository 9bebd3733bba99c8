package portonetest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPaymentsByStatus checks that each status is filtered on its own timestamp: a payment
// paid on day 1 and refunded on day 3 is listed under cancelled for day 3 only.
func TestPaymentsByStatus(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	mk := func(seed PaymentSeed) string {
		le, err := h.emu.CreatePayment(seed)
		require.NoError(t, err)
		return le.ImpUID
	}
	paid1 := mk(PaymentSeed{MerchantUID: "p-1", CustomerUID: "c1", Amount: 1000, At: day(-3)})
	refunded := mk(PaymentSeed{MerchantUID: "r-1", CustomerUID: "c1", Amount: 2000, Status: "cancelled", At: day(-3), CancelledAt: day(-1)})
	partial := mk(PaymentSeed{MerchantUID: "pp-1", Amount: 3000, CancelAmount: 500, At: day(-1)})
	failed := mk(PaymentSeed{MerchantUID: "f-1", CustomerUID: "c1", Amount: 1000, Status: "failed", At: day(-1)})

	win := func(from, to time.Time) string { return fmt.Sprintf("from=%d&to=%d", from.Unix(), to.Unix()) }
	d3 := win(day(-3).Add(-time.Hour), day(-3).Add(time.Hour))
	d1 := win(day(-1).Add(-time.Hour), day(-1).Add(time.Hour))
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"paid on day -3 lists the still-paid one only", "/payments/status/paid?" + d3, []string{paid1}},
		{"cancelled on day -3 is empty: it was cancelled later", "/payments/status/cancelled?" + d3, nil},
		{"cancelled on day -1", "/payments/status/cancelled?" + d1, []string{refunded}},
		{"partly refunded stays paid, on its paid day", "/payments/status/paid?" + d1, []string{partial}},
		{"failed on day -1", "/payments/status/failed?" + d1, []string{failed}},
		{"all on day -1, sorted started ascending", "/payments/status/all?sorting=started&" + d1, []string{refunded, partial, failed}},
		{"to is inclusive", fmt.Sprintf("/payments/status/paid?from=%d&to=%d", day(-3).Unix()-10, day(-3).Unix()), []string{paid1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodGet, tc.path, nil)
			require.Equal(t, http.StatusOK, r.Status, r.msg())
			var pg testPage[testPayment]
			r.into(t, &pg)
			var got []string
			for _, p := range pg.List {
				got = append(got, p.ImpUID)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, len(tc.want), pg.Total)
		})
	}

	t.Run("refusals", func(t *testing.T) {
		for _, path := range []string{
			"/payments/status/refunded",
			"/payments/status/paid?limit=1001",
			"/payments/status/paid?sorting=amount",
			fmt.Sprintf("/payments/status/paid?from=%d&to=%d", day(-100).Unix(), day(-1).Unix()),
			fmt.Sprintf("/payments/status/paid?from=%d&to=%d", day(-1).Unix(), day(-2).Unix()),
			"/payments/status/paid?" + d1 + "&page=2",
		} {
			r := h.do(http.MethodGet, path, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, path)
			require.Equal(t, 1, r.Code, path)
		}
	})
}

// TestPaymentsByStatusPaging pages 2,345 payments at 1,000 a page: every payment once, in order.
func TestPaymentsByStatusPaging(t *testing.T) {
	h := newHarness(t)
	const n = 2345
	for i := range n {
		_, err := h.emu.CreatePayment(PaymentSeed{MerchantUID: fmt.Sprintf("m-%d", i), Amount: 1000, At: t0.Add(-time.Duration(n-i) * time.Second)})
		require.NoError(t, err)
	}
	seen := map[string]bool{}
	var last string
	next := 1
	for pages := 0; next != 0; pages++ {
		require.Less(t, pages, 4)
		r := h.do(http.MethodGet, fmt.Sprintf("/payments/status/paid?from=%d&to=%d&limit=1000&sorting=paid&page=%d", t0.Add(-time.Hour).Unix(), t0.Unix(), next), nil)
		require.Equal(t, http.StatusOK, r.Status, r.msg())
		var pg testPage[testPayment]
		r.into(t, &pg)
		require.Equal(t, n, pg.Total)
		for _, p := range pg.List {
			require.False(t, seen[p.MerchantUID], "%s twice", p.MerchantUID)
			seen[p.MerchantUID] = true
			last = p.MerchantUID
		}
		next = pg.Next
	}
	require.Len(t, seen, n)
	require.Equal(t, fmt.Sprintf("m-%d", n-1), last)
}

func TestCreatePaymentControl(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"orphan", map[string]any{"merchant_uid": "sub-1-abcd-3-9", "customer_uid": "c1", "amount": 9900}, 200},
		{"missing merchant_uid", map[string]any{"amount": 9900}, 400},
		{"unknown customer", map[string]any{"merchant_uid": "x", "customer_uid": "ghost", "amount": 9900}, 400},
		{"zero amount", map[string]any{"merchant_uid": "x", "amount": 0}, 400},
		{"bad status", map[string]any{"merchant_uid": "x", "amount": 10, "status": "ready"}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.control(http.MethodPost, "/__emulator/payments", tc.body)
			require.Equal(t, tc.status, status, "%v", body)
		})
	}
	var found bool
	for _, le := range h.emu.Ledger() {
		if le.MerchantUID == "sub-1-abcd-3-9" {
			found = le.Status == "paid" && le.Amount == 9900 && le.CustomerUID == "c1" && le.Usage == "payment"
		}
	}
	require.True(t, found, "the orphan is in the ledger")
}
