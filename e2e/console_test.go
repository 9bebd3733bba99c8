package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/console"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/webhooks"
)

// TestConsoleCancelEndToEnd runs the console on a real Temporal server with the real worker:
// a subscription's merchant events reach the read model through the console's /events (signed
// by the worker's deliverer, verified by the receiver), its page shows the live state, and a
// cancel now from the console is the workflow's own cancel: the refund previewed is the refund
// made, at the emulator's ledger too, and the audit trail names the staff member; a twin
// canceled by its customer on the self-service page gets the same preview, refund and ledger.
func TestConsoleCancelEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := newConsoleStack(ctx, t)
	st, store, ts := cs.st, cs.store, cs.ts

	// A monthly subscription, charged at once.
	const id, customer = "console-e2e-1", "cust-console-e2e-1"
	_, err := st.RegisterCustomer(customer)
	require.NoError(t, err)
	in := billing.SubscriptionInput{SubscriptionID: id, CustomerUID: customer,
		Plan: billing.Plan{Name: "Console Monthly", Amount: 30000, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
	_, err = st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue}, billing.WorkflowType, in)
	require.NoError(t, err)
	// Its twin, canceled by the customer on the self-service page for comparison.
	const twin, twinCustomer = "console-e2e-twin", "cust-console-e2e-twin"
	_, err = st.RegisterCustomer(twinCustomer)
	require.NoError(t, err)
	twinIn := in
	twinIn.SubscriptionID, twinIn.CustomerUID = twin, twinCustomer
	_, err = st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(twin), TaskQueue: billing.TaskQueue}, billing.WorkflowType, twinIn)
	require.NoError(t, err)
	for _, sub := range []string{id, twin} {
		eventually(t, time.Minute, "the first charge of "+sub+" projected", func() bool {
			row, err := store.Subscription(ctx, sub)
			return err == nil && row.Status == billing.StatusActive && row.TotalPaid == 30000
		})
	}

	// Log in and open the subscription's page.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	read := func(resp *http.Response, err error) (int, string) {
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return read(c.Get(ts.URL + path)) }
	post := func(path string, form url.Values) (int, string) { return read(c.PostForm(ts.URL+path, form)) }
	value := func(re, body string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(body)
		require.NotNil(t, m, "%s in:\n%s", re, body)
		return m[1]
	}
	_, page := get("/login")
	status, body := post("/login", url.Values{"csrf": {value(`name="csrf" value="([^"]+)"`, page)}, "login": {"kim"}, "password": {"kim-password"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	status, body = get("/subscriptions/" + id)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-status="active"`)
	require.Contains(t, body, `id="row-paid" data-value="30000"`)
	require.Contains(t, body, `data-delivery="delivered"`, "the outbox's delivery state beside the events")

	// Cancel now: preview, confirm, receipt.
	status, body = get("/subscriptions/" + id + "/confirm?action=cancel_now")
	require.Equal(t, http.StatusOK, status, body)
	preview := value(`id="preview-refund" data-amount="(\d+)"`, body)
	form := url.Values{"csrf": {value(`name="csrf" value="([^"]+)"`, body)}, "nonce": {value(`name="nonce" value="([^"]+)"`, body)},
		"action": {"cancel_now"}, "reason": {"고객 요청으로 해지"}}
	status, body = post("/subscriptions/"+id+"/actions", form)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `data-outcome="done"`)
	require.Equal(t, preview, value(`id="refund" data-amount="(\d+)"`, body), "the refund made is the one previewed")
	require.NotEqual(t, "0", preview, "a month just paid has unused days")

	// The workflow's state and the emulator's ledger agree with the console.
	v, err := st.Client.QueryWorkflow(ctx, billing.WorkflowID(id), "", billing.QueryState)
	var state billing.State
	if err == nil {
		err = v.Get(&state)
	}
	if err != nil {
		// Canceled: the run completed, its result is the final state.
		err = st.Client.GetWorkflow(ctx, billing.WorkflowID(id), "").Get(ctx, &state)
	}
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, state.Status)
	require.Len(t, state.Refunds, 1)
	require.Equal(t, preview, fmt.Sprint(state.Refunds[0].Amount))
	require.Equal(t, billing.RequesterAdmin, state.Refunds[0].Requester)
	require.True(t, strings.HasSuffix(state.Refunds[0].Reason, "(staff:kim)"), state.Refunds[0].Reason)
	var audited bool
	for _, e := range state.Events {
		audited = audited || (e.Kind == "cancel_requested" && e.Requester == "admin" && strings.Contains(e.Detail, "staff:kim"))
	}
	require.True(t, audited, "the audit trail names the staff member: %+v", state.Events)
	var refundedAtPortOne int64
	for _, l := range st.Emulator.Ledger() {
		if l.CustomerUID == customer {
			refundedAtPortOne += l.CancelAmount
		}
	}
	require.Equal(t, preview, fmt.Sprint(refundedAtPortOne))

	// The projection follows: canceled, the refund counted.
	eventually(t, time.Minute, "the cancel projected", func() bool {
		row, err := store.Subscription(ctx, id)
		return err == nil && row.Status == billing.StatusCanceled && fmt.Sprint(row.TotalRefunded) == preview
	})
	status, body = get("/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `id="status-canceled" data-value="1"`)

	// The self-service path on the twin: the same rule, the same refund, the same ledger.
	keys, err := signedlink.NewKeys(strings.Repeat("console-e2e-link-", 3))
	require.NoError(t, err)
	edgeSrv := httptest.NewUnstartedServer(nil)
	ed, err := edge.New(edge.Config{PublicURL: "http://" + edgeSrv.Listener.Addr().String(), IMPCode: "imp00000000", LinkKeys: keys},
		edge.Deps{Workflows: st.Client, PortOne: st.Gateway, Logger: zap.NewNop()})
	require.NoError(t, err)
	edgeSrv.Config.Handler = ed.Handler()
	edgeSrv.Start()
	defer edgeSrv.Close()
	tok, err := keys.Sign(signedlink.Manage, twin, time.Now().Add(time.Hour), time.Now())
	require.NoError(t, err)
	manage := signedlink.URL(edgeSrv.URL, signedlink.Manage, tok)
	status, body = read(c.Get(manage + "/confirm?option=now"))
	require.Equal(t, http.StatusOK, status, body)
	selfPreview := value(`id="confirm-refund" data-amount="(\d+)"`, body)
	selfForm := url.Values{"option": {"now"}, "reason": {"not_using"}}
	for _, f := range []string{"nonce", "issued", "mac"} {
		selfForm.Set(f, value(`name="`+f+`" value="([^"]+)"`, body))
	}
	status, body = read(c.PostForm(edgeSrv.URL+value(`<form id="cancel-form" method="post" action="([^"]+)"`, body), selfForm))
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, preview, selfPreview, "the console previews what the self-service page previews")
	require.Equal(t, preview, value(`id="refund-amount" data-amount="(\d+)"`, body), "and the same refund is made")
	var twinRefunded int64
	for _, l := range st.Emulator.Ledger() {
		if l.CustomerUID == twinCustomer {
			twinRefunded += l.CancelAmount
		}
	}
	require.Equal(t, preview, fmt.Sprint(twinRefunded), "the ledgers agree")

	// The same confirmation submitted again sends nothing more.
	status, body = post("/subscriptions/"+id+"/actions", form)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `data-repeat="true"`)
	require.False(t, errors.Is(ctx.Err(), context.DeadlineExceeded))
}

// consoleStack is a real Temporal server with the real worker whose merchant events go to a
// console's /events, the console's read model on SQLite, and a staff login "kim" (operator).
type consoleStack struct {
	st    *stacktest.Stack
	store *readmodel.Store
	ts    *httptest.Server
}

func newConsoleStack(ctx context.Context, t *testing.T) *consoleStack {
	t.Helper()
	testgate.Slow(t, "starts a Temporal server")
	// The console listens first: the worker's deliverer needs its URL.
	var handler atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handler.Load().(http.Handler)
		if !ok {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	secret := webhooks.NewSecret()
	eps, err := webhooks.ParseEndpoints(ts.URL + "/events")
	require.NoError(t, err)
	signer, err := webhooks.ParseSecrets(secret)
	require.NoError(t, err)
	st := stacktest.New(t, stacktest.Options{
		Activities: activities.Config{Events: true},
		Deliverer:  &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 5 * time.Second}},
	})
	store, err := readmodel.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "readmodel.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	recv, err := readmodel.NewReceiver(store, secret)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("kim-password"), bcrypt.MinCost)
	require.NoError(t, err)
	staff, err := console.ParseStaff("kim:operator:" + string(hash))
	require.NoError(t, err)
	srv, err := console.New(ctx, console.Config{PublicURL: ts.URL, Staff: staff}, console.Deps{Store: store, Workflows: st.Client, Events: recv})
	require.NoError(t, err)
	handler.Store(srv.Handler())
	return &consoleStack{st: st, store: store, ts: ts}
}

// staffClient is a logged-in staff browser of a consoleStack.
type staffClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (cs *consoleStack) login(t *testing.T) *staffClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	sc := &staffClient{t: t, base: cs.ts.URL, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, page := sc.get("/login")
	status, body := sc.post("/login", url.Values{"csrf": {sc.find(`name="csrf" value="([^"]+)"`, page)}, "login": {"kim"}, "password": {"kim-password"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	return sc
}

func (sc *staffClient) read(resp *http.Response, err error) (int, string) {
	sc.t.Helper()
	require.NoError(sc.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(sc.t, err)
	return resp.StatusCode, string(b)
}

func (sc *staffClient) get(path string) (int, string) { return sc.read(sc.c.Get(sc.base + path)) }
func (sc *staffClient) post(path string, form url.Values) (int, string) {
	return sc.read(sc.c.PostForm(sc.base+path, form))
}

func (sc *staffClient) find(re, body string) string {
	sc.t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	require.NotNil(sc.t, m, "%s in:\n%s", re, body)
	return m[1]
}

// act confirms and submits an action from a subscription's page.
func (sc *staffClient) act(id, action, reason string) string {
	sc.t.Helper()
	status, body := sc.get("/subscriptions/" + id + "/confirm?action=" + action)
	require.Equal(sc.t, http.StatusOK, status, body)
	form := url.Values{"csrf": {sc.find(`name="csrf" value="([^"]+)"`, body)}, "nonce": {sc.find(`name="nonce" value="([^"]+)"`, body)},
		"action": {action}, "reason": {reason}}
	status, body = sc.post("/subscriptions/"+id+"/actions", form)
	require.Equal(sc.t, http.StatusOK, status, body)
	require.Contains(sc.t, body, `data-outcome="done"`)
	return body
}

// TestConsoleOverviewEqualsWorkflowsAndLedger: after a small mixed day on a real server (new,
// declined into dunning, canceled now with a refund and paused from the console), the
// overview's figures are the workflows' states and the emulator's ledger, and the past-due
// queue shows the decline the workflow recorded.
func TestConsoleOverviewEqualsWorkflowsAndLedger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := newConsoleStack(ctx, t)
	st := cs.st
	ids := []string{"mix-new", "mix-declined", "mix-canceled", "mix-paused"}
	for _, id := range ids {
		_, err := st.RegisterCustomer("cust-" + id)
		require.NoError(t, err)
	}
	st.Emulator.AddFault(portonetest.Fault{CustomerUID: "cust-mix-declined", Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족"})
	for i, id := range ids {
		in := billing.SubscriptionInput{SubscriptionID: id, CustomerUID: "cust-" + id,
			Plan: billing.Plan{Name: "Mixed", Amount: int64(10000 * (i + 1)), Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}}
		_, err := st.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID(id), TaskQueue: billing.TaskQueue}, billing.WorkflowType, in)
		require.NoError(t, err)
	}
	state := func(id string) billing.State {
		var s billing.State
		v, err := st.Client.QueryWorkflow(ctx, billing.WorkflowID(id), "", billing.QueryState)
		if err == nil {
			err = v.Get(&s)
		}
		if err != nil {
			err = st.Client.GetWorkflow(ctx, billing.WorkflowID(id), "").Get(ctx, &s)
		}
		require.NoError(t, err, id)
		return s
	}
	eventually(t, time.Minute, "first charges settled", func() bool {
		return state("mix-new").Status == billing.StatusActive && state("mix-canceled").Status == billing.StatusActive &&
			state("mix-paused").Status == billing.StatusActive && state("mix-declined").Status == billing.StatusPastDue
	})
	sc := cs.login(t)
	sc.act("mix-canceled", "cancel_now", "테스트 해지")
	sc.act("mix-paused", "pause_now", "휴가")

	// The truth: the workflows' states and the emulator's ledger.
	byStatus := map[billing.Status]int{}
	var mrr int64
	for _, id := range ids {
		s := state(id)
		byStatus[s.Status]++
		if s.Cycle >= 1 && (s.Status == billing.StatusActive || s.Status == billing.StatusPastDue) {
			mrr += readmodel.MonthlyAmount(s.Plan.Amount, s.Plan.Interval.Unit, s.Plan.Interval.Count)
		}
	}
	require.Equal(t, map[billing.Status]int{billing.StatusActive: 1, billing.StatusPastDue: 1, billing.StatusCanceled: 1, billing.StatusPaused: 1}, byStatus)
	var charged, refunded int64
	for _, l := range st.Emulator.Ledger() {
		if strings.HasPrefix(l.CustomerUID, "cust-mix-") && l.Usage != "issue" && l.Status != "failed" {
			charged += l.Amount
			refunded += l.CancelAmount
		}
	}
	require.Positive(t, refunded)

	// The console, once the projection has caught up with the events.
	var body string
	eventually(t, time.Minute, "the overview to show the workflows' statuses", func() bool {
		_, body = sc.get("/")
		for s, n := range byStatus {
			if !strings.Contains(body, fmt.Sprintf(`id="status-%s" data-value="%d"`, s, n)) {
				return false
			}
		}
		return strings.Contains(body, fmt.Sprintf(`id="refunded" data-value="%d"`, refunded))
	})
	for _, want := range []string{
		fmt.Sprintf(`id="active" data-value="%d"`, byStatus[billing.StatusActive]),
		fmt.Sprintf(`id="charged" data-value="%d"`, charged),
		fmt.Sprintf(`id="net" data-value="%d"`, charged-refunded),
		fmt.Sprintf(`id="mrr" data-value="%d"`, mrr),
	} {
		require.Contains(t, body, want)
	}
	decl := state("mix-declined")
	require.NotNil(t, decl.DunningState)
	_, body = sc.get("/queues/past_due")
	require.Contains(t, body, `data-id="mix-declined"`)
	require.Contains(t, body, `<td class="reason">`+decl.DunningState.LastReason+`</td>`)
	if !decl.DunningState.NextRetryAt.IsZero() {
		require.Contains(t, body, `<td class="retry">`+decl.DunningState.NextRetryAt.In(calendar.Seoul).Format("2006-01-02 15:04 KST")+`</td>`)
	}
}
