package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/webhooks"
)

// day is testNow moved by n days.
func day(n float64) time.Time { return testNow.Add(time.Duration(n * float64(24*time.Hour))) }

// mixedBook feeds the read model a small business: two active subscriptions, one past due
// after a decline, one whose price rise waits for consent, one canceled with a refund, and
// sets the live states of the ones the tests open.
func (e *testEnv) mixedBook() {
	e.t.Helper()
	paid := func(id string, cycle int, amount int64, at time.Time) func(*billing.EventData) {
		return func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: cycle, Attempt: 1, MerchantUID: fmt.Sprintf("m-%s-%d", id, cycle), ImpUID: fmt.Sprintf("imp_%s_%d", id, cycle), Amount: amount, Outcome: billing.OutcomePaid, At: at}
		}
	}
	start := func(id string, at time.Time) []billing.MerchantEvent {
		end := at.AddDate(0, 1, 0)
		return []billing.MerchantEvent{
			ev(id, 1, billing.EventSubscriptionStarted, at.Add(-time.Minute), monthly(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), nil),
			ev(id, 2, billing.EventSubscriptionActivated, at, monthly(billing.StatusActive, 1, end, end), nil),
			ev(id, 3, billing.EventChargeSucceeded, at, monthly(billing.StatusActive, 1, end, end), paid(id, 1, 9900, at)),
		}
	}
	e.feed(start("sub-a", day(-10))...)
	e.feed(start("sub-b", day(-20))...)
	// sub-c: paid 40 days ago, its renewal declined 5 days ago, in dunning.
	e.feed(start("sub-c", day(-40))...)
	due := day(-40).AddDate(0, 1, 0)
	pd := monthly(billing.StatusPastDue, 2, due, day(2))
	e.feed(
		ev("sub-c", 4, billing.EventChargeDeclined, due, pd, func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: 2, Attempt: 1, MerchantUID: "m-sub-c-2", Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "잔액 부족", At: due}
		}),
		ev("sub-c", 5, billing.EventDunningStarted, due, pd, func(d *billing.EventData) {
			d.Dunning = &billing.EventDunning{Cycle: 2, Attempts: 1, NextRetryAt: day(2), GraceEndsAt: day(9)}
		}),
	)
	// sub-d: active, a price rise to 12,900 waiting for consent until 10 days from now.
	e.feed(start("sub-d", day(-25))...)
	change := day(-25).AddDate(0, 1, 0)
	e.feed(ev("sub-d", 4, billing.EventConsentRequired, day(-1), monthly(billing.StatusActive, 1, change, change), func(d *billing.EventData) {
		d.Consent = &billing.ConsentState{Status: billing.ConsentRequired, ChangeAt: change, ChangeDate: calendar.DateOf(change), AmountBefore: 9900, AmountAfter: 12900, Why: "plan_change", OpenedAt: day(-1)}
	}))
	// sub-e: canceled now 3 days ago with a 5,000 KRW refund.
	e.feed(start("sub-e", day(-12))...)
	e.feed(
		ev("sub-e", 4, billing.EventChargeRefunded, day(-3), monthly(billing.StatusActive, 1, time.Time{}, time.Time{}), func(d *billing.EventData) {
			d.Refund = &billing.EventRefund{Cycle: 1, MerchantUID: "m-sub-e-1", ImpUID: "imp_sub-e_1", Amount: 5000, Reason: "고객 요청", Requester: billing.RequesterCustomer, At: day(-3)}
		}),
		ev("sub-e", 5, billing.EventSubscriptionCanceled, day(-3), monthly(billing.StatusCanceled, 1, time.Time{}, time.Time{}), nil),
	)
	e.wf.setState(activeState("sub-a"))
	e.wf.mu.Lock()
	e.wf.outboxes[billing.EventsWorkflowID("sub-a")] = webhooks.OutboxState{SubscriptionID: "sub-a", Deliveries: []webhooks.Delivery{
		{Event: billing.MerchantEvent{ID: billing.EventID("sub-a", "t1", 1)}, Status: webhooks.StatusDelivered, Attempts: 1, DeliveredAt: day(-10)},
		{Event: billing.MerchantEvent{ID: billing.EventID("sub-a", "t1", 3)}, Status: webhooks.StatusFailed, Attempts: 9, LastError: "HTTP 500"},
	}}
	e.wf.mu.Unlock()
}

// TestOverviewShowsTheReadModel: the overview's figures are the read model's, for the book fed.
func TestOverviewShowsTheReadModel(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	o, err := e.store.Overview(context.Background(), testNow)
	require.NoError(t, err)
	// The book's own facts, so that the comparison below is not of two empty pages.
	require.Equal(t, 3, o.ByStatus[billing.StatusActive], "sub-a, sub-b, sub-d")
	require.Equal(t, 1, o.ByStatus[billing.StatusPastDue])
	require.Equal(t, 1, o.ByStatus[billing.StatusCanceled])
	require.Equal(t, 1, o.ConsentPending)
	require.Equal(t, int64(5000), o.Refunded30d)

	b := e.browser()
	b.login("viewer")
	status, _, body := b.get("/")
	require.Equal(t, http.StatusOK, status)
	contains(t, body,
		fmt.Sprintf(`id="active" data-value="%d"`, o.Active),
		fmt.Sprintf(`id="mrr" data-value="%d"`, o.MRR),
		fmt.Sprintf(`id="mrr-change" data-value="%d"`, o.MRR-o.MRR30DaysAgo),
		fmt.Sprintf(`id="charged" data-value="%d"`, o.Charged30d),
		fmt.Sprintf(`id="refunded" data-value="%d"`, o.Refunded30d),
		fmt.Sprintf(`id="net" data-value="%d"`, o.Net30d),
		fmt.Sprintf(`id="consent-pending" data-value="%d"`, o.ConsentPending),
		`id="status-past_due" data-value="1"`, `id="status-canceled" data-value="1"`,
		"개요", "Overview",
	)

	// sub-f renews in 12 hours: the list of who is charged within a day is not tested empty.
	soon := day(0.5).AddDate(0, -1, 0)
	e.feed(
		ev("sub-f", 1, billing.EventSubscriptionStarted, soon.Add(-time.Minute), monthly(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), nil),
		ev("sub-f", 2, billing.EventSubscriptionActivated, soon, monthly(billing.StatusActive, 1, day(0.5), day(0.5)), nil),
	)
	status, _, body = b.get("/upcoming")
	require.Equal(t, http.StatusOK, status)
	days, err := e.store.Upcoming(context.Background(), testNow, 7)
	require.NoError(t, err)
	var n int
	var amount int64
	for _, d := range days {
		n += d.Charges
		amount += d.Amount
		contains(t, body, `data-day="`+d.Day+`"`)
	}
	require.Positive(t, n, "sub-c's retry in 2 days at least")
	contains(t, body, fmt.Sprintf(`id="upcoming-count">%d<`, n), fmt.Sprintf(`id="upcoming-amount" data-value="%d"`, amount))

	// Who is charged in the next 24 hours, at which cycle: the question the per-cycle search
	// attributes answer in the Web UI.
	due, err := e.store.DueWithin(context.Background(), testNow, 24*time.Hour)
	require.NoError(t, err)
	contains(t, body, fmt.Sprintf(`id="due-total" data-value="%d"`, len(due)))
	for _, d := range due {
		contains(t, body, `<tr class="due" data-id="`+d.SubscriptionID+`">`, fmt.Sprintf(`data-value="%d">%d<`, d.Cycle, d.Cycle))
	}
	require.Equal(t, "sub-f", due[0].SubscriptionID, "sub-f renews within the day")
}

// TestQueues: each queue lists its subscriptions with the facts it exists for, sorted and
// paged (two rows a page in these tests), and bad parameters are named.
func TestQueues(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	b := e.browser()
	b.login("viewer")

	status, _, body := b.get("/queues/past_due")
	require.Equal(t, http.StatusOK, status)
	contains(t, body, `data-id="sub-c"`, `<td class="reason">잔액 부족</td>`, `<td class="retry">`+kstOf(day(2))+`</td>`)
	require.NotContains(t, body, `data-id="sub-a"`)

	status, _, body = b.get("/queues/consent_pending")
	require.Equal(t, http.StatusOK, status)
	contains(t, body, `data-id="sub-d"`, "12,900원")

	for _, q := range []string{"payment_method_required", "needs_attention"} {
		status, _, body = b.get("/queues/" + q)
		require.Equal(t, http.StatusOK, status, q)
		contains(t, body, `id="empty"`)
	}

	tests := []struct {
		path    string
		status  int
		mention string
	}{
		{"/queues/past_due?sort=bogus", http.StatusBadRequest, `sort: unknown sort key &#34;bogus&#34;`},
		{"/queues/past_due?page=0", http.StatusBadRequest, "page: want a page number"},
		{"/queues/past_due?page=x", http.StatusBadRequest, "page: want a page number"},
		{"/queues/everything", http.StatusNotFound, "queue: want past_due"},
	}
	for _, tt := range tests {
		status, _, body = b.get(tt.path)
		require.Equal(t, tt.status, status, tt.path)
		contains(t, body, tt.mention)
	}
}

// TestQueuePaging pages a queue of five by two, both ways, with every row seen once.
func TestQueuePaging(t *testing.T) {
	e := newTestEnv(t, nil)
	for i := range 5 {
		id := fmt.Sprintf("pd-%d", i)
		at := day(-float64(35 + i))
		due := at.AddDate(0, 1, 0)
		e.feed(
			ev(id, 1, billing.EventSubscriptionStarted, at, monthly(billing.StatusActive, 1, due, due), nil),
			ev(id, 2, billing.EventChargeDeclined, due, monthly(billing.StatusPastDue, 2, due, day(1)), func(d *billing.EventData) {
				d.Charge = &billing.EventCharge{Cycle: 2, Attempt: 1, MerchantUID: "m-" + id, Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "한도 초과 " + id, At: due}
			}),
			ev(id, 3, billing.EventDunningStarted, due, monthly(billing.StatusPastDue, 2, due, day(1)), func(d *billing.EventData) {
				d.Dunning = &billing.EventDunning{Cycle: 2, Attempts: 1, NextRetryAt: day(float64(i)), GraceEndsAt: day(9)}
			}),
		)
	}
	b := e.browser()
	b.login("viewer")
	for _, desc := range []bool{false, true} {
		var seen []string
		path := "/queues/past_due?sort=subscription_id"
		if desc {
			path += "&desc=1"
		}
		for page := 1; page <= 4 && path != ""; page++ {
			status, _, body := b.get(path)
			require.Equal(t, http.StatusOK, status)
			contains(t, body, `data-total="5"`)
			for _, m := range rowID.FindAllStringSubmatch(body, -1) {
				seen = append(seen, m[1])
			}
			path = ""
			if m := nextLink.FindStringSubmatch(body); m != nil {
				path = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		want := []string{"pd-0", "pd-1", "pd-2", "pd-3", "pd-4"}
		if desc {
			want = []string{"pd-4", "pd-3", "pd-2", "pd-1", "pd-0"}
		}
		require.Equal(t, want, seen, "desc=%v", desc)
	}
}

// TestSubscriptionPage: what `starter show` shows, the read model's row, the events with their
// delivery, masking by role, and a clear 404 for an unknown ID.
func TestSubscriptionPage(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	tests := []struct {
		login     string
		buyer     string
		notBuyer  string
		actions   bool
		billingID string
	}{
		{"viewer", "홍** · ***-****-5678 · g******@example.com", "홍길동", false, "****1234"},
		{"kim", "홍** · ***-****-5678", "gildong@example.com", true, "****1234"},
		{"lee", "홍길동 · 010-1234-5678 · gildong@example.com", "홍**", true, "cus_live_1234"},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			b := e.browser()
			b.login(tt.login)
			status, _, body := b.get("/subscriptions/sub-a")
			require.Equal(t, http.StatusOK, status)
			contains(t, body, `data-status="active"`, "프리미엄", "9,900원", `id="row-paid" data-value="9900"`,
				`data-id="`+billing.EventID("sub-a", "t1", 1)+`" data-delivery="delivered"`,
				`data-id="`+billing.EventID("sub-a", "t1", 3)+`" data-delivery="failed"`, "HTTP 500", tt.buyer,
				`<td class="summary">cycle 1.1 9,900원 paid</td>`)
			require.NotContains(t, body, tt.notBuyer)
			mb := maskedBuyer(body)
			require.Contains(t, mb, tt.buyer)
			require.Contains(t, body, `id="billing-key">`+tt.billingID+`<`)
			if tt.actions {
				contains(t, body, `id="action-cancel_now"`, `id="action-pause_now"`, `class="redeliver"`)
			} else {
				require.NotContains(t, body, `id="actions"`)
				require.NotContains(t, body, `class="redeliver"`)
				status, _, _ = b.get("/subscriptions/sub-a/confirm?action=cancel_now")
				require.Equal(t, http.StatusForbidden, status, "a viewer cannot act")
			}
		})
	}
	b := e.browser()
	b.login("viewer")
	status, _, body := b.get("/subscriptions/no-such-sub")
	require.Equal(t, http.StatusNotFound, status)
	contains(t, body, "구독을 찾을 수 없습니다", "Neither the read model nor Temporal knows subscription no-such-sub")
	// Known to the read model only (its workflow gone): the row is shown, and says why.
	status, _, body = b.get("/subscriptions/sub-e")
	require.Equal(t, http.StatusOK, status)
	contains(t, body, `id="live-error"`, `id="row-refunded" data-value="5000"`,
		`<td class="summary">refund cycle 1 5,000원 (customer: 고객 요청)</td>`, "every run")
	status, loc, _ := b.get("/subscriptions?id=" + url.QueryEscape(" sub-a "))
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/subscriptions/sub-a", loc)
}

func maskedBuyer(body string) string {
	i := strings.Index(body, `id="buyer"`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+200)]
}

// TestRevenueCSV: the table and the CSV carry the read model's months; bad months are named.
func TestRevenueCSV(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	b := e.browser()
	b.login("viewer")
	months, err := e.store.Revenue(context.Background(), "2026-10", "2026-12")
	require.NoError(t, err)
	var gross int64
	for _, m := range months {
		gross += m.Gross
	}
	require.Equal(t, int64(5*9900), gross, "five first charges")

	status, _, body := b.get("/revenue?from=2026-10&to=2026-12")
	require.Equal(t, http.StatusOK, status)
	for _, m := range months {
		contains(t, body, `data-month="`+m.Month+`"`, fmt.Sprintf(`data-value="%d"`, m.Net))
	}

	resp, err := b.http.Get(e.url + "/revenue.csv?from=2026-10&to=2026-12")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), `attachment; filename="paycycle-revenue-2026-10-2026-12.csv"`)
	records, err := csv.NewReader(resp.Body).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"month", "gross_krw", "refunds_krw", "net_krw", "taxable_krw", "tax_free_krw", "charges", "refunds"}, records[0])
	require.Len(t, records, len(months)+1)
	for i, m := range months {
		r := records[i+1]
		require.Equal(t, m.Month, r[0])
		for j, v := range []int64{m.Gross, m.Refunds, m.Net, m.Taxable, m.TaxFree} {
			require.Equal(t, strconv.FormatInt(v, 10), r[j+1])
		}
	}

	for _, tt := range []struct{ q, mention string }{
		{"from=2026-13", "from: want a month YYYY-MM"},
		{"to=last", "to: want a month YYYY-MM"},
		{"from=2026-12&to=2026-01", "from: 2026-12 is after to"},
	} {
		status, _, body = b.get("/revenue.csv?" + tt.q)
		require.Equal(t, http.StatusBadRequest, status, tt.q)
		contains(t, body, tt.mention)
	}
}

func kstOf(t time.Time) string { return t.In(calendar.Seoul).Format("2006-01-02 15:04 KST") }

// TestTemporalDown: with Temporal unreachable the subscription page still answers within the
// query timeout, with the read model's row and a clear note; actions are refused, nothing sent.
func TestTemporalDown(t *testing.T) {
	e := newTestEnv(t, func(c *consoleConfig) { c.QueryTimeout = 300 * time.Millisecond })
	e.mixedBook()
	b := e.browser()
	b.login("kim")
	e.wf.mu.Lock()
	e.wf.down = true
	e.wf.mu.Unlock()
	begin := time.Now()
	status, _, body := b.get("/subscriptions/sub-a")
	require.Equal(t, http.StatusOK, status)
	require.Less(t, time.Since(begin), 5*time.Second)
	contains(t, body, `id="live-error"`, "the state query did not answer", `id="row-paid" data-value="9900"`)
	require.NotContains(t, body, `id="actions"`)
	status, _, _ = b.get("/subscriptions/sub-a/confirm?action=cancel_now")
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, _, _ = b.get("/")
	require.Equal(t, http.StatusOK, status, "the read model's pages need no Temporal")
	require.Empty(t, e.wf.sent())
}
