package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/webhooks"
)

// consoleStores are the read model's two databases, each giving a fresh, empty database's DSN:
// SQLite (make run and the tests) and PostgreSQL 15 (production), started on loopback as the
// cluster test starts it.
var consoleStores = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/readmodel.db" }},
	{"postgresql", func(t *testing.T) string {
		testgate.Slow(t, "starts PostgreSQL 15")
		if _, err := cluster.FindPostgresBin(); err != nil {
			t.Skip(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pg, err := cluster.StartPostgres(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, pg.Stop()) })
		// As a Korean merchant's server would create it: the database takes a linguistic
		// collation (the console must still list rows in SQLite's order).
		dsn, err := pg.CreateDatabase(ctx, "console", "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'ko-KR' LOCALE 'C'")
		require.NoError(t, err)
		return dsn
	}},
}

// deliverThroughReceiver makes feed hand every event to the console's /events as the worker
// does: the outbox's own delivery activity, signing with the stream's secret.
func (e *testEnv) deliverThroughReceiver() {
	e.t.Helper()
	signer, err := webhooks.ParseSecrets(testWebhookSecret)
	require.NoError(e.t, err)
	eps, err := webhooks.ParseEndpoints(e.url + "/events")
	require.NoError(e.t, err)
	d := &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 10 * time.Second}}
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(d.Deliver)
	e.deliver = func(x billing.MerchantEvent) error {
		_, err := env.ExecuteActivity(d.Deliver, webhooks.DeliverInput{Event: x})
		return err
	}
}

// mixedDay is mixedBook and the rest of a day's kinds: a renewal, a decline recovered by its
// retry, a pause, a new subscription, a yearly plan with a tax-free part, and one redelivery.
func (e *testEnv) mixedDay() {
	e.t.Helper()
	e.mixedBook()
	paid := func(id string, cycle, attempt int, amount, taxFree int64, at time.Time) func(*billing.EventData) {
		return func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: cycle, Attempt: attempt, MerchantUID: fmt.Sprintf("m-%s-%d-%d", id, cycle, attempt),
				ImpUID: fmt.Sprintf("imp_%s_%d_%d", id, cycle, attempt), Amount: amount, TaxFree: taxFree, Outcome: billing.OutcomePaid, At: at}
		}
	}
	started := func(id string, at time.Time, sum func(billing.Status, int, time.Time, time.Time) billing.EventSubscription, amount, taxFree int64, next time.Time) {
		e.feed(
			ev(id, 1, billing.EventSubscriptionStarted, at.Add(-time.Minute), sum(billing.StatusAwaitingRegistration, 0, time.Time{}, time.Time{}), nil),
			ev(id, 2, billing.EventSubscriptionActivated, at, sum(billing.StatusActive, 1, next, next), nil),
			ev(id, 3, billing.EventChargeSucceeded, at, sum(billing.StatusActive, 1, next, next), paid(id, 1, 1, amount, taxFree, at)),
		)
	}
	// sub-r: renewed this morning (its second cycle).
	r0 := day(-31)
	r1, r2 := r0.AddDate(0, 1, 0), r0.AddDate(0, 2, 0)
	started("sub-r", r0, monthly, 9900, 0, r1)
	e.feed(ev("sub-r", 4, billing.EventChargeSucceeded, r1, monthly(billing.StatusActive, 2, r2, r2), paid("sub-r", 2, 1, 9900, 0, r1)))
	// sub-f: its renewal declined three days ago, recovered by yesterday's retry.
	f0 := day(-33)
	f1, f2 := f0.AddDate(0, 1, 0), f0.AddDate(0, 2, 0)
	started("sub-f", f0, monthly, 9900, 0, f1)
	pd := monthly(billing.StatusPastDue, 2, f1, day(-1))
	e.feed(
		ev("sub-f", 4, billing.EventChargeDeclined, f1, pd, func(d *billing.EventData) {
			d.Charge = &billing.EventCharge{Cycle: 2, Attempt: 1, MerchantUID: "m-sub-f-2-1", Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "한도 초과", At: f1}
		}),
		ev("sub-f", 5, billing.EventDunningStarted, f1, pd, func(d *billing.EventData) {
			d.Dunning = &billing.EventDunning{Cycle: 2, Attempts: 1, NextRetryAt: day(-1), GraceEndsAt: day(4)}
		}),
		ev("sub-f", 6, billing.EventChargeSucceeded, day(-1), monthly(billing.StatusActive, 2, f2, f2), paid("sub-f", 2, 2, 9900, 0, day(-1))),
		ev("sub-f", 7, billing.EventDunningRecovered, day(-1), monthly(billing.StatusActive, 2, f2, f2), func(d *billing.EventData) {
			d.Dunning = &billing.EventDunning{Cycle: 2, Attempts: 2}
		}),
	)
	// sub-p: paused this morning.
	p0 := day(-15)
	started("sub-p", p0, monthly, 9900, 0, p0.AddDate(0, 1, 0))
	e.feed(ev("sub-p", 4, billing.EventSubscriptionPaused, day(-0.2), monthly(billing.StatusPaused, 1, p0.AddDate(0, 1, 0), time.Time{}), nil))
	// sub-n: new an hour ago; sub-y: a yearly plan of 99,000 KRW, 33,000 of it tax-free, at a
	// sub-millisecond instant (both databases keep nanoseconds).
	started("sub-n", day(-1.0/24), monthly, 9900, 0, day(-1.0/24).AddDate(0, 1, 0))
	yearly := func(st billing.Status, cycle int, paidThrough, next time.Time) billing.EventSubscription {
		s := monthly(st, cycle, paidThrough, next)
		s.Plan, s.Amount, s.Interval = "연간 플랜", 99000, "1 year"
		return s
	}
	y0 := day(-2).Add(123456789 * time.Nanosecond)
	started("sub-y", y0, yearly, 99000, 33000, y0.AddDate(1, 0, 0))
	// The stream delivers at least once: a redelivery changes nothing.
	e.feed(ev("sub-y", 3, billing.EventChargeSucceeded, y0, yearly(billing.StatusActive, 1, y0.AddDate(1, 0, 0), y0.AddDate(1, 0, 0)), paid("sub-y", 1, 1, 99000, 33000, y0)))
}

var (
	// volatile are the parts of a page that differ between two runs of the same book: the
	// session's tokens, an action's random request ID and the projection's lag (a measurement
	// of this run's clock).
	volatile = []*regexp.Regexp{
		regexp.MustCompile(`name="(csrf|nonce)" value="[^"]+"`),
		regexp.MustCompile(`(console:kim:)[0-9a-f]+`),
		regexp.MustCompile(`(Projection lag</span>: )[^<·]+`),
	}
	dataValue = regexp.MustCompile(`id="([a-z0-9_-]+)" data-value="(-?\d+)"`)
)

// normalized is a page without its volatile parts.
func normalized(body string) string {
	for _, re := range volatile {
		body = re.ReplaceAllString(body, "$1 …")
	}
	return body
}

// renderAll fetches the pages as b's staff member sees them, normalized, by path.
func (e *testEnv) renderAll(b *browser, paths []string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		resp, err := b.http.Get(e.url + p)
		require.NoError(e.t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(e.t, err)
		require.NoError(e.t, resp.Body.Close())
		require.Equal(e.t, http.StatusOK, resp.StatusCode, "%s: %s", p, body)
		out[p] = normalized(string(body))
	}
	return out
}

// consolePaths are the pages compared: the overview, the upcoming charges, every queue sorted
// by each key that has values in it, subscription pages and the revenue table and CSV.
var consolePaths = []string{
	"/", "/upcoming",
	"/queues/past_due", "/queues/past_due?sort=next_retry_at&desc=1", "/queues/consent_pending?sort=consent_deadline",
	"/queues/payment_method_required", "/queues/needs_attention",
	"/subscriptions/sub-a", "/subscriptions/sub-c", "/subscriptions/sub-e", "/subscriptions/sub-f", "/subscriptions/sub-y",
	"/revenue?from=2026-01&to=2026-12", "/revenue.csv?from=2026-01&to=2026-12",
}

// TestConsoleOnEveryStore runs the console over each database, fed the same mixed day through
// its signed event receiver, and checks that every page shows the read model's own figures and
// that PostgreSQL's pages are SQLite's, byte for byte but for tokens and lag; then an operator's
// cancel with a refund, and the events the workflow emits for it, change both alike.
func TestConsoleOnEveryStore(t *testing.T) {
	pages := map[string]map[string]string{}
	for _, sc := range consoleStores {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newTestEnvOn(t, sc.dsn(t), nil)
			e.deliverThroughReceiver()
			e.mixedDay()
			e.wf.setState(activeState("sub-f"))

			o, err := e.store.Overview(ctx, testNow)
			require.NoError(t, err)
			// The book's own facts, so that equal pages are not two equally empty ones.
			require.Equal(t, map[billing.Status]int{billing.StatusAwaitingRegistration: 0, billing.StatusActive: 7, billing.StatusPastDue: 1,
				billing.StatusPaymentMethodRequired: 0, billing.StatusPaused: 1, billing.StatusCanceled: 1, billing.StatusExpired: 0}, o.ByStatus)
			require.Equal(t, int64(7*9900+99000/12), o.MRR, "six active monthly plans and past-due sub-c at 9,900, the yearly one at 8,250")
			require.Equal(t, int64(1), int64(o.DunningRecovered30d))
			require.Equal(t, 1, o.ConsentPending)

			b := e.browser()
			b.login("kim")
			before := e.renderAll(b, consolePaths)
			figures := map[string]string{}
			for _, m := range dataValue.FindAllStringSubmatch(before["/"], -1) {
				figures[m[1]] = m[2]
			}
			require.Equal(t, map[string]string{
				"active": fmt.Sprint(o.Active), "mrr": fmt.Sprint(o.MRR), "mrr-change": fmt.Sprint(o.MRR - o.MRR30DaysAgo),
				"charged": fmt.Sprint(o.Charged30d), "refunded": fmt.Sprint(o.Refunded30d), "net": fmt.Sprint(o.Net30d),
				"consent-pending": "1", "needs-attention": "0",
				"status-awaiting_registration": "0", "status-active": "7", "status-past_due": "1", "status-payment_method_required": "0",
				"status-paused": "1", "status-canceled": "1", "status-expired": "0",
			}, figures)
			contains(t, before["/revenue.csv?from=2026-01&to=2026-12"], "2026-12,", ",33000,")
			contains(t, before["/subscriptions/sub-y"], `id="row-mrr" data-value="8250"`, `id="row-paid" data-value="99000"`)
			contains(t, before["/queues/past_due"], `data-id="sub-c"`, `data-total="1"`)

			// The action: cancel sub-f now with the workflow's own refund, then the events its
			// workflow emits for it come down the stream.
			st := activeState("sub-f")
			var refund int64
			for _, sh := range st.EndRefund(billing.RefundProrata, testNow) {
				refund += sh.Amount
			}
			require.Positive(t, refund)
			form, body := b.confirm("sub-f", "cancel_now", "")
			contains(t, body, fmt.Sprintf(`id="preview-refund" data-amount="%d"`, refund))
			form.Set("reason", "고객 전화 요청")
			status, _, body := b.post("/subscriptions/sub-f/actions", form)
			require.Equal(t, http.StatusOK, status, body)
			contains(t, body, `data-outcome="done"`, fmt.Sprintf(`id="refund" data-amount="%d"`, refund))
			require.Len(t, e.wf.sent(), 1)
			f2 := day(-33).AddDate(0, 2, 0)
			e.feed(
				ev("sub-f", 8, billing.EventChargeRefunded, testNow, monthly(billing.StatusActive, 2, f2, f2), func(d *billing.EventData) {
					d.Refund = &billing.EventRefund{Cycle: 2, MerchantUID: "m-sub-f-2-2", ImpUID: "imp_sub-f_2_2", Amount: refund, Reason: "고객 전화 요청 (staff:kim)", Requester: billing.RequesterAdmin, At: testNow}
				}),
				ev("sub-f", 9, billing.EventSubscriptionCanceled, testNow, monthly(billing.StatusCanceled, 2, time.Time{}, time.Time{}), nil),
			)
			after, err := e.store.Overview(ctx, testNow)
			require.NoError(t, err)
			require.Equal(t, o.Refunded30d+refund, after.Refunded30d)
			require.Equal(t, o.MRR-9900, after.MRR)
			require.Equal(t, 2, after.ByStatus[billing.StatusCanceled])
			afterPages := e.renderAll(b, []string{"/", "/subscriptions/sub-f", "/revenue.csv?from=2026-01&to=2026-12"})
			contains(t, afterPages["/"], fmt.Sprintf(`id="refunded" data-value="%d"`, after.Refunded30d), `id="status-canceled" data-value="2"`)
			contains(t, afterPages["/subscriptions/sub-f"], fmt.Sprintf(`id="row-refunded" data-value="%d"`, refund), "고객 전화 요청 (staff:kim)")
			for p, body := range afterPages {
				before["after "+p] = body
			}
			pages[sc.name] = before
		})
	}
	if len(pages) < len(consoleStores) {
		return // a store was skipped (under -short, or no PostgreSQL): nothing to compare
	}
	for _, p := range consolePaths {
		require.Equal(t, strings.Split(pages["sqlite"][p], "\n"), strings.Split(pages["postgresql"][p], "\n"), "%s on PostgreSQL versus SQLite", p)
	}
	require.Equal(t, pages["sqlite"], pages["postgresql"])
}
