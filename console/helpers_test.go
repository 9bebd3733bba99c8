package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/bcrypt"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/console"
	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/webhooks"
)

// sentUpdate is one update the fake Temporal client received.
type sentUpdate struct {
	WorkflowID string
	Name       string
	UpdateID   string
	Arg        any
}

// fakeWorkflows stands in for the Temporal client in the handler tests (as edge's tests do):
// states answer the state query, outboxes the deliveries query, and updates are recorded and
// answered by the billing package's own validation. The e2e test runs the real workflows.
type fakeWorkflows struct {
	mu        sync.Mutex
	states    map[string]billing.State
	outboxes  map[string]webhooks.OutboxState
	updates   []sentUpdate
	updateErr error
	// down plays Temporal unreachable: reads wait for their deadline.
	down bool
	now  func() time.Time
}

func newFakeWorkflows(now func() time.Time) *fakeWorkflows {
	return &fakeWorkflows{states: map[string]billing.State{}, outboxes: map[string]webhooks.OutboxState{}, now: now}
}

func (f *fakeWorkflows) setState(st billing.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[billing.WorkflowID(st.SubscriptionID)] = st
}

func (f *fakeWorkflows) sent() []sentUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.updates)
}

func (f *fakeWorkflows) DescribeWorkflowExecution(ctx context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if _, ok := f.states[workflowID]; !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}, nil
}

func (f *fakeWorkflows) GetWorkflow(context.Context, string, string) client.WorkflowRun { return nil }

func (f *fakeWorkflows) QueryWorkflow(ctx context.Context, workflowID, _, queryType string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	switch queryType {
	case billing.QueryState:
		if st, ok := f.states[workflowID]; ok {
			return jsonValue{st}, nil
		}
	case billing.QueryDeliveries:
		if o, ok := f.outboxes[workflowID]; ok {
			return jsonValue{o}, nil
		}
	}
	return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
}

// UpdateWorkflow records the update and answers as the workflow's validator would: the
// request's own Validate, the request ID deduplicating, an ended subscription refusing.
func (f *fakeWorkflows) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	f.updates = append(f.updates, sentUpdate{WorkflowID: o.WorkflowID, Name: o.UpdateName, UpdateID: o.UpdateID, Arg: o.Args[0]})
	if o.UpdateName == billing.UpdateRedeliver {
		req := o.Args[0].(webhooks.RedeliverRequest)
		return fakeUpdate{v: webhooks.RedeliverResult{Queued: req.EventIDs}}, nil
	}
	st, ok := f.states[o.WorkflowID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + o.WorkflowID)
	}
	refuse := func(err error) (client.WorkflowUpdateHandle, error) {
		return fakeUpdate{err: temporal.NewApplicationError(err.Error(), billing.ErrorTypeInvalidInput)}, nil
	}
	if st.Status.Terminal() {
		return refuse(fmt.Errorf("the subscription has ended (%s)", st.Status))
	}
	switch req := o.Args[0].(type) {
	case billing.CancelRequest:
		if err := req.Validate(); err != nil {
			return refuse(err)
		}
		if slices.Contains(st.RecentRequestIDs, req.RequestID) {
			return fakeUpdate{v: billing.Receipt{Message: "duplicate", Status: st.Status, Duplicate: true}}, nil
		}
		st.RecentRequestIDs = append(st.RecentRequestIDs, req.RequestID)
		st.Events = append(st.Events, billing.Event{At: f.now(), Kind: "cancel_requested", Requester: string(req.Requester), Detail: req.Reason})
		if req.When == billing.AtPeriodEnd {
			st.PendingCancel = &req
			f.states[o.WorkflowID] = st
			return fakeUpdate{v: billing.Receipt{Message: "cancel scheduled", Status: st.Status}}, nil
		}
		var refund int64
		for _, sh := range st.EndRefund(req.Refund, f.now()) {
			refund += sh.Amount
		}
		rec := &billing.RefundRecord{Amount: refund, Requester: req.Requester, Reason: req.Reason, At: f.now()}
		st.Status, st.Refunds = billing.StatusCanceled, append(st.Refunds, *rec)
		f.states[o.WorkflowID] = st
		return fakeUpdate{v: billing.Receipt{Message: "subscription canceled", Status: st.Status, Refund: rec}}, nil
	case billing.PauseRequest:
		if err := req.Validate(); err != nil {
			return refuse(err)
		}
		st.Pause = &billing.PauseState{Pending: req.When == billing.AtPeriodEnd, Reason: req.Reason}
		f.states[o.WorkflowID] = st
		return fakeUpdate{v: billing.Receipt{Message: "pause requested", Status: st.Status}}, nil
	case billing.ResumeRequest:
		if err := req.Validate(); err != nil {
			return refuse(err)
		}
		st.Pause = nil
		f.states[o.WorkflowID] = st
		return fakeUpdate{v: billing.Receipt{Message: "resumed", Status: billing.StatusActive}}, nil
	case billing.UndoCancelRequest:
		if err := req.Validate(); err != nil {
			return refuse(err)
		}
		if st.PendingCancel == nil {
			return refuse(fmt.Errorf("there is no pending cancel to undo"))
		}
		st.PendingCancel = nil
		st.Events = append(st.Events, billing.Event{At: f.now(), Kind: "cancel_undone", Detail: req.Reason})
		f.states[o.WorkflowID] = st
		return fakeUpdate{v: billing.Receipt{Message: "the pending cancel was withdrawn; billing continues", Status: st.Status}}, nil
	case billing.ChargeNowRequest:
		return fakeUpdate{v: billing.Receipt{Message: "charging now", Status: st.Status}}, nil
	}
	return fakeUpdate{err: fmt.Errorf("unexpected update %q", o.UpdateName)}, nil
}

type fakeUpdate struct {
	v   any
	err error
}

func (u fakeUpdate) WorkflowID() string { return "" }
func (u fakeUpdate) RunID() string      { return "" }
func (u fakeUpdate) UpdateID() string   { return "" }
func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	if u.err != nil {
		return u.err
	}
	return jsonValue{u.v}.Get(ptr)
}

// jsonValue round-trips through JSON, as Temporal's converter does.
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }
func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

// testClock is the console's and the fake workflow's now; tests move it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testPassword is every test login's password.
const testPassword = "correct horse battery"

// testEnv is a console on loopback over the real read model (SQLite in a temporary directory
// unless the test names another database, fed the subscriptions' events) and the fake Temporal
// client. The read model's receiver is served at /events, as consoleserver serves it.
type testEnv struct {
	t     testing.TB
	store *readmodel.Store
	wf    *fakeWorkflows
	clock *testClock
	srv   *console.Server
	url   string
	// deliver, when set, is how feed hands events over: the worker's signed delivery to /events.
	deliver func(billing.MerchantEvent) error
}

// staffConfig is the PAYCYCLE_CONSOLE_STAFF value of the tests: a viewer, an operator and
// an operator allowed personal data. bcrypt.MinCost keeps the tests fast.
func staffConfig(t testing.TB) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	require.NoError(t, err)
	return fmt.Sprintf("viewer::%s, kim:operator:%s, lee:operator+pii:%s", h, h, h)
}

// testNow is the tests' fixed "now": a Monday noon KST.
var testNow = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

// testWebhookSecret signs the event stream the tests deliver to /events.
const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newTestEnv(t testing.TB, mutate func(*console.Config)) *testEnv {
	t.Helper()
	return newTestEnvOn(t, "sqlite:"+t.TempDir()+"/readmodel.db", mutate)
}

// newTestEnvOn is newTestEnv over the read model at dsn (migrated by Open).
func newTestEnvOn(t testing.TB, dsn string, mutate func(*console.Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	store, err := readmodel.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	rv, err := readmodel.NewReceiver(store, testWebhookSecret)
	require.NoError(t, err)
	clock := &testClock{t: testNow}
	wf := newFakeWorkflows(clock.Now)
	staff, err := console.ParseStaff(staffConfig(t))
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	cfg := console.Config{PublicURL: "http://" + ts.Listener.Addr().String(), Staff: staff, Now: clock.Now, PageSize: 2}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := console.New(ctx, cfg, console.Deps{Store: store, Workflows: wf, Events: rv})
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return &testEnv{t: t, store: store, wf: wf, clock: clock, srv: srv, url: ts.URL}
}

// browser is one staff member's browser: a cookie jar, redirects not followed so that tests
// see them.
type browser struct {
	t    testing.TB
	env  *testEnv
	http *http.Client
}

func (e *testEnv) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &browser{t: e.t, env: e, http: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get fetches a path and returns the status, the Location and the body.
func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.http.Get(b.env.url + path)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.env.url+path, form)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var (
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nonceField = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
)

func field(t testing.TB, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	require.NotNil(t, m, "no %s in the page:\n%s", re, body)
	return m[1]
}

// login logs in with the password form, as a browser does.
func (b *browser) login(login string) {
	b.t.Helper()
	status, _, body := b.get("/login")
	require.Equal(b.t, http.StatusOK, status)
	status, loc, body := b.post("/login", url.Values{"csrf": {field(b.t, csrfField, body)}, "login": {login}, "password": {testPassword}, "next": {"/"}})
	require.Equal(b.t, http.StatusSeeOther, status, body)
	require.Equal(b.t, "/", loc)
}

// csrf reads the session's CSRF token from a page.
func (b *browser) csrf() string {
	b.t.Helper()
	_, _, body := b.get("/upcoming")
	return field(b.t, csrfField, body)
}

// ev builds the seq-th merchant event of a subscription as the workflow makes it.
func ev(id string, seq int64, typ billing.EventType, at time.Time, sub billing.EventSubscription, mod func(*billing.EventData)) billing.MerchantEvent {
	d := billing.EventData{Subscription: sub}
	if mod != nil {
		mod(&d)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return billing.MerchantEvent{ID: billing.EventID(id, "t1", seq), Type: typ, SubscriptionID: id, Seq: seq, Timestamp: at, Data: raw}
}

// feed applies events to the read model: through deliver when the test set it, else
// straight to the store.
func (e *testEnv) feed(events ...billing.MerchantEvent) {
	e.t.Helper()
	for _, x := range events {
		if e.deliver != nil {
			require.NoError(e.t, e.deliver(x), "event %s", x.ID)
			continue
		}
		_, err := e.store.Accept(context.Background(), x)
		require.NoError(e.t, err, "event %s", x.ID)
	}
}

// monthly is a plan's event summary: 9,900 KRW a month.
func monthly(status billing.Status, cycle int, paidThrough, next time.Time) billing.EventSubscription {
	return billing.EventSubscription{Status: status, Plan: "프리미엄", Amount: 9900, Currency: "KRW", Interval: "1 month", Cycle: cycle,
		PaidThrough: paidThrough, NextChargeAt: next, CustomerUID: "cus_****1234"}
}

// activeState is a subscription paid for the period around testNow, as the workflow states it.
func activeState(id string) billing.State {
	start := testNow.Add(-10 * 24 * time.Hour)
	end := start.AddDate(0, 1, 0)
	p := &billing.Period{Cycle: 1, Start: start, End: end, FirstDay: calendar.DateOf(start), LastDay: calendar.DateOf(end.Add(-time.Second))}
	return billing.State{
		SubscriptionID: id, CustomerUID: "cus_live_1234", Status: billing.StatusActive, Entitled: true,
		Plan:      billing.Plan{Name: "프리미엄", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
		Buyer:     billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "gildong@example.com"},
		StartedAt: start, Cycle: 1, CurrentPeriod: p, PaidThrough: end, NextChargeAt: end,
		Charges: []billing.ChargeRecord{{Cycle: 1, Attempt: 1, MerchantUID: "m-" + id + "-1", ImpUID: "imp_" + id, Amount: 9900, Outcome: billing.OutcomePaid, At: start, FirstDay: p.FirstDay, LastDay: p.LastDay}},
		Runs:    1,
	}
}

func contains(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		require.True(t, strings.Contains(body, w), "the page lacks %q:\n%s", w, body)
	}
}

var (
	rowID    = regexp.MustCompile(`<tr class="row" data-id="([^"]+)"`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)" id="next">`)
)

type consoleConfig = console.Config
