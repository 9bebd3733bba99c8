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
	testgate.Slow(t, "starts a Temporal server")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

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
	defer ts.Close()
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
	defer store.Close()
	recv, err := readmodel.NewReceiver(store, secret)
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("kim-password"), bcrypt.MinCost)
	require.NoError(t, err)
	staff, err := console.ParseStaff("kim:operator:" + string(hash))
	require.NoError(t, err)
	srv, err := console.New(ctx, console.Config{PublicURL: ts.URL, Staff: staff}, console.Deps{Store: store, Workflows: st.Client, Events: recv})
	require.NoError(t, err)
	handler.Store(srv.Handler())

	// A monthly subscription, charged at once.
	const id, customer = "console-e2e-1", "cust-console-e2e-1"
	_, err = st.RegisterCustomer(customer)
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
