package portonetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestV2PaymentsTextSearch: GET /payments honours filter.textSearch for the identifiers a
// server looks payments up by (PortOne's 통합검색: PAYMENT_ID, TX_ID, SCHEDULE_ID, BILLING_KEY
// and ALL). It was ignored, so a lookup by transactionId read the newest page of every payment
// and missed the one it wanted once there were more than a page of them.
func TestV2PaymentsTextSearch(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("search")
	other := h.issueKey("search-other")
	var firstTx string
	for i := range 12 {
		k := key
		if i == 11 {
			k = other
		}
		require.Equal(t, 200, h.pay(fmt.Sprintf("s-%d", i), k, 1000).Status)
		if i == 0 {
			firstTx = h.do("GET", "/payments/s-0", nil).obj(t)["transactionId"].(string)
		}
	}
	ids := func(field, value string) []string {
		r := h.do("GET", query("/payments", map[string]any{"page": map[string]any{"number": 0, "size": 5},
			"filter": map[string]any{"textSearch": []map[string]any{{"field": field, "value": value}}}}), nil).obj(t)
		var out []string
		for _, it := range r["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	require.Equal(t, []string{"s-0"}, ids("TX_ID", firstTx), "by transactionId, beyond the first page")
	require.Equal(t, []string{"s-3"}, ids("PAYMENT_ID", "s-3"))
	require.Equal(t, []string{"s-11"}, ids("BILLING_KEY", other))
	require.Equal(t, []string{"s-0"}, ids("ALL", firstTx))
	require.Empty(t, ids("TX_ID", "no-such-transaction"))
	h.allowBadRequests()
	r := h.do("GET", query("/payments", map[string]any{"filter": map[string]any{"textSearch": []map[string]any{{"field": "CARD_BIN", "value": "1234"}}}}), nil)
	require.Equal(t, 400, r.Status, "a field the emulator does not search is refused, never silently ignored")
}
