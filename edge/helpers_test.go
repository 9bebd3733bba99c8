package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// sentSignal is one signal the fake Temporal client received.
type sentSignal struct {
	WorkflowID string
	Name       string
	Arg        any
}

// startCall is one ExecuteWorkflow call the fake received.
type startCall struct {
	Options  client.StartWorkflowOptions
	Workflow any
	Args     []any
}

// fakeWorkflows stands in for the Temporal client: a workflow "exists" when it has a state,
// signals and starts are recorded, and failures are injected per method.
type fakeWorkflows struct {
	mu          sync.Mutex
	states      map[string]billing.State // by workflow ID
	signals     []sentSignal
	starts      []startCall
	signalErr   error
	queryErr    error
	startErr    error
	healthErr   error
	healthBlock bool
	queryPanic  bool
	updates     []sentUpdate
	updateErr   error
	// updateGate, when set, holds every cancel update until it is closed (a slow refund).
	updateGate chan struct{}
	now        func() time.Time
	// otherCancel plays a cancel from elsewhere already in flight: the update answers "in
	// progress" and that other cancel then ends the subscription with this refund.
	otherCancel *billing.RefundRecord
	// listErr fails ListWorkflow; lists counts the calls.
	listErr error
	lists   int
}

// customerUIDQuery finds the CustomerUID condition of a visibility query.
var customerUIDQuery = regexp.MustCompile(`CustomerUID='((?:[^'\\]|\\.)*)'`)

// ListWorkflow plays visibility for the one query the edge makes: running subscriptions by
// customer_uid (every state the fake holds is running).
func (f *fakeWorkflows) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.listErr != nil {
		return nil, f.listErr
	}
	m := customerUIDQuery.FindStringSubmatch(req.GetQuery())
	if m == nil || !strings.Contains(req.GetQuery(), "ExecutionStatus='Running'") {
		return nil, fmt.Errorf("fake visibility: unexpected query %q", req.GetQuery())
	}
	uid := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[1])
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	ids := make([]string, 0, len(f.states))
	for id, st := range f.states {
		if st.CustomerUID == uid {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-1"}})
	}
	return resp, nil
}

// sentUpdate is one update the fake received.
type sentUpdate struct {
	WorkflowID string
	Name       string
	UpdateID   string
	Arg        billing.CancelRequest
}

func newFakeWorkflows() *fakeWorkflows {
	return &fakeWorkflows{states: map[string]billing.State{}}
}

func (f *fakeWorkflows) setState(st billing.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[billing.WorkflowID(st.SubscriptionID)] = st
}

func (f *fakeWorkflows) set(apply func(f *fakeWorkflows)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	apply(f)
}

func (f *fakeWorkflows) sent() []sentSignal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentSignal(nil), f.signals...)
}

func (f *fakeWorkflows) started() []startCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startCall(nil), f.starts...)
}

func (f *fakeWorkflows) SignalWorkflow(_ context.Context, workflowID, _, signalName string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signalErr != nil {
		return f.signalErr
	}
	if _, ok := f.states[workflowID]; !ok {
		return serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	f.signals = append(f.signals, sentSignal{WorkflowID: workflowID, Name: signalName, Arg: arg})
	return nil
}

func (f *fakeWorkflows) QueryWorkflow(_ context.Context, workflowID, _, queryType string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queryPanic {
		panic("query exploded")
	}
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	if queryType != billing.QueryState {
		return nil, fmt.Errorf("unknown query %q", queryType)
	}
	st, ok := f.states[workflowID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return jsonValue{v: st}, nil
}

func (f *fakeWorkflows) ExecuteWorkflow(_ context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	if _, ok := f.states[options.ID]; ok && options.WorkflowExecutionErrorWhenAlreadyStarted {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", "run-0")
	}
	f.starts = append(f.starts, startCall{Options: options, Workflow: workflow, Args: args})
	st := billing.State{Status: billing.StatusAwaitingRegistration}
	if len(args) == 1 {
		if in, ok := args[0].(billing.SubscriptionInput); ok {
			st.SubscriptionID, st.CustomerUID, st.Plan, st.Buyer, st.Gateway = in.SubscriptionID, in.CustomerUID, in.Plan, in.Buyer, in.Gateway
		}
	}
	f.states[options.ID] = st
	return fakeRun{id: options.ID}, nil
}

func (f *fakeWorkflows) sentUpdates() []sentUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentUpdate(nil), f.updates...)
}

// UpdateWorkflow plays the workflow's cancel update closely enough for the edge's tests: the
// request ID dedupes, an ended subscription refuses, a cancel at period end becomes pending and
// a cancel now refunds (by the same calendar rule) and ends the subscription.
func (f *fakeWorkflows) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	gate := f.updateGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	st, ok := f.states[o.WorkflowID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + o.WorkflowID)
	}
	req, ok := o.Args[0].(billing.CancelRequest)
	if o.UpdateName != billing.MsgCancel || !ok {
		return fakeUpdate{err: fmt.Errorf("unexpected update %q", o.UpdateName)}, nil
	}
	f.updates = append(f.updates, sentUpdate{WorkflowID: o.WorkflowID, Name: o.UpdateName, UpdateID: o.UpdateID, Arg: req})
	if err := req.Validate(); err != nil {
		return fakeUpdate{err: temporal.NewApplicationError(err.Error(), billing.ErrorTypeInvalidInput)}, nil
	}
	if st.Status.Terminal() {
		return fakeUpdate{err: temporal.NewApplicationError("the subscription has ended ("+string(st.Status)+")", billing.ErrorTypeInvalidInput)}, nil
	}
	if slices.Contains(st.RecentRequestIDs, req.RequestID) {
		return fakeUpdate{receipt: billing.Receipt{Message: "duplicate request: already applied", Status: st.Status, Duplicate: true}}, nil
	}
	st.RecentRequestIDs = append(st.RecentRequestIDs, req.RequestID)
	if f.otherCancel != nil && req.When == billing.Now {
		answer := billing.Receipt{Message: "a cancel is already in progress", Status: st.Status}
		st.Status, st.Refunds = billing.StatusCanceled, append(st.Refunds, *f.otherCancel)
		f.states[o.WorkflowID] = st
		return fakeUpdate{receipt: answer}, nil
	}
	now := time.Now()
	if f.now != nil {
		now = f.now()
	}
	if req.When == billing.AtPeriodEnd {
		st.PendingCancel = &req
		f.states[o.WorkflowID] = st
		return fakeUpdate{receipt: billing.Receipt{Message: "pending", Status: st.Status, NextChargeAt: st.NextChargeAt}}, nil
	}
	var rec *billing.RefundRecord
	if p := st.CurrentPeriod; p != nil && req.Refund != billing.RefundNone {
		for _, c := range st.Charges {
			if c.Cycle == p.Cycle && c.Outcome == billing.OutcomePaid {
				amount := c.Amount
				if req.Refund == billing.RefundProrata {
					amount = calendar.UnusedRefund(c.Amount, calendar.Period{Unit: st.Plan.Interval.Unit, Start: p.Start, End: p.End, FirstDay: p.FirstDay, LastDay: p.LastDay}, now)
				}
				rec = &billing.RefundRecord{Cycle: c.Cycle, ImpUID: c.ImpUID, Amount: amount, Requester: req.Requester, Reason: req.Reason, At: now, Outcome: "refunded"}
				st.Refunds = append(st.Refunds, *rec)
			}
		}
	}
	st.Status = billing.StatusCanceled
	f.states[o.WorkflowID] = st
	return fakeUpdate{receipt: billing.Receipt{Message: "subscription canceled", Status: st.Status, Refund: rec}}, nil
}

type fakeUpdate struct {
	receipt billing.Receipt
	err     error
}

func (u fakeUpdate) WorkflowID() string { return "" }
func (u fakeUpdate) RunID() string      { return "" }
func (u fakeUpdate) UpdateID() string   { return "" }
func (u fakeUpdate) Get(_ context.Context, ptr any) error {
	if u.err != nil {
		return u.err
	}
	*ptr.(*billing.Receipt) = u.receipt
	return nil
}

func (f *fakeWorkflows) CheckHealth(ctx context.Context, _ *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	f.mu.Lock()
	block, err := f.healthBlock, f.healthErr
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return &client.CheckHealthResponse{}, nil
}

// jsonValue is an EncodedValue that round-trips through JSON, as Temporal's converter does.
type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return j.v != nil }

func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

// testEnv is an edge served on loopback, backed by the PortOne emulator (through the real
// client) and the fake Temporal client.
type testEnv struct {
	t    *testing.T
	emu  *portonetest.Emulator
	pc   *portone.Client
	wf   *fakeWorkflows
	srv  *edge.Server
	url  string
	http *http.Client
	logs *observer.ObservedLogs
	keys *signedlink.Keys
	// clock is the edge's (and the fake workflow's) now; tests move it.
	clock *testClock
}

// testClock is a settable clock shared by the edge and the fake workflow.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testLinkSecret signs the test edge's links.
const testLinkSecret = "test-link-secret-0123456789abcdefghijklmnop"

// link mints a signed link path for the test edge.
func (e *testEnv) link(p signedlink.Purpose, subscriptionID string, ttl time.Duration) string {
	e.t.Helper()
	now := e.clock.Now()
	tok, err := e.keys.Sign(p, subscriptionID, now.Add(ttl), now)
	require.NoError(e.t, err)
	return p.Route() + tok
}

func (e *testEnv) registerLink(subscriptionID string) string {
	return e.link(signedlink.Register, subscriptionID, time.Hour)
}

// basicPlan is the plan used by most tests.
var basicPlan = billing.Plan{
	Name: "베이직 월간 구독", Code: "basic-monthly", Amount: 9900,
	Interval: calendar.Interval{Unit: calendar.Month, Count: 1},
}

func newEnv(t *testing.T, configure func(*edge.Config)) *testEnv {
	t.Helper()
	emu, emuSrv := portonetest.NewServer(t, portonetest.Options{})
	pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(emuSrv.URL), portone.WithTimeout(3*time.Second))
	require.NoError(t, err)
	return newEnvWith(t, emu, pc, configure)
}

func newEnvWith(t *testing.T, emu *portonetest.Emulator, lookup edge.PaymentLookup, configure func(*edge.Config)) *testEnv {
	t.Helper()
	return newEnvDeps(t, emu, lookup, configure, nil)
}

// newEnvDeps is newEnvWith with a hook that can add optional collaborators to the edge.
func newEnvDeps(t *testing.T, emu *portonetest.Emulator, lookup edge.PaymentLookup, configure func(*edge.Config), withDeps func(*edge.Deps)) *testEnv {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	wf := newFakeWorkflows()
	clock := &testClock{t: time.Now()}
	wf.now = clock.Now
	keys, err := signedlink.NewKeys(testLinkSecret)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	cfg := edge.Config{
		PublicURL:       "http://" + ts.Listener.Addr().String(),
		IMPCode:         "imp12345678",
		UpstreamTimeout: 3 * time.Second,
		ReadyTimeout:    200 * time.Millisecond,
		LinkKeys:        keys,
	}
	if configure != nil {
		configure(&cfg)
	}
	deps := edge.Deps{Workflows: wf, PortOne: lookup, Logger: zap.New(core), Now: clock.Now}
	if withDeps != nil {
		withDeps(&deps)
	}
	srv, err := edge.New(cfg, deps)
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	e := &testEnv{
		t: t, wf: wf, srv: srv, url: ts.URL, logs: logs, emu: emu, keys: keys, clock: clock,
		http: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if pc, ok := lookup.(*portone.Client); ok {
		e.pc = pc
	}
	return e
}

// subscription makes the fake know an open subscription awaiting registration.
func (e *testEnv) subscription(id, customerUID string) {
	e.wf.setState(billing.State{
		SubscriptionID: id, CustomerUID: customerUID, Status: billing.StatusAwaitingRegistration, Plan: basicPlan,
	})
}

// register creates a billing key and its registration record at the emulator, as NaverPay's
// window does, for the registration merchant_uid of subscriptionID.
func (e *testEnv) register(subscriptionID, nonce, customerUID string) portonetest.RegisteredCustomer {
	e.t.Helper()
	reg, err := e.emu.RegisterCustomer("", portonetest.CustomerSeed{
		CustomerUID:             customerUID,
		RegistrationMerchantUID: billing.RegistrationMerchantUID(subscriptionID, nonce),
	})
	require.NoError(e.t, err)
	return reg
}

// charge makes a charge at the emulator with the real client; decline makes the card company
// decline it.
func (e *testEnv) charge(customerUID, merchantUID string, decline bool) *portone.Payment {
	e.t.Helper()
	if decline {
		e.emu.AddFault(portonetest.Fault{CustomerUID: customerUID, Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := e.pc.Again(ctx, portone.AgainRequest{CustomerUID: customerUID, MerchantUID: merchantUID, Amount: 9900, Name: basicPlan.Name})
	require.NoError(e.t, err)
	if decline {
		require.Equal(e.t, portone.StatusFailed, p.Status)
	} else {
		require.Equal(e.t, portone.StatusPaid, p.Status)
	}
	return p
}

// do sends a request and returns the status, the body and the response.
func (e *testEnv) do(method, path, contentType string, body io.Reader) (int, string, *http.Response) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(e.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res.StatusCode, string(b), res
}

func (e *testEnv) get(path string) (int, string, *http.Response) {
	return e.do(http.MethodGet, path, "", nil)
}

func (e *testEnv) postJSON(path string, v any) (int, string, *http.Response) {
	b, err := json.Marshal(v)
	require.NoError(e.t, err)
	return e.do(http.MethodPost, path, "application/json", strings.NewReader(string(b)))
}

func (e *testEnv) postForm(path string, v url.Values) (int, string, *http.Response) {
	return e.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

// webhookAnswer decodes the webhook's JSON answer.
func webhookAnswer(t *testing.T, body string) edge.WebhookAnswer {
	t.Helper()
	var a edge.WebhookAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &a), body)
	return a
}

// warnings returns the messages of warning logs.
func (e *testEnv) warnings() []string {
	var out []string
	for _, l := range e.logs.FilterLevelExact(zapcore.WarnLevel).All() {
		out = append(out, l.Message)
	}
	return out
}

var impConfigRE = regexp.MustCompile(`(?s)<script type="application/json" id="imp-config">(.*?)</script>`)

// impConfig is the registration page's JSON block as its script reads it.
type impConfig struct {
	IMPCode     string         `json:"imp_code"`
	CompleteURL string         `json:"complete_url"`
	Params      map[string]any `json:"params"`
}

func parseIMPConfig(t *testing.T, html string) impConfig {
	t.Helper()
	m := impConfigRE.FindStringSubmatch(html)
	require.NotNil(t, m, "no imp-config block in page:\n%s", html)
	var c impConfig
	require.NoError(t, json.Unmarshal([]byte(m[1]), &c), m[1])
	return c
}

// chargeUID is the merchant_uid of a subscription's charge attempt.
func chargeUID(subscriptionID string, cycle, attempt int) string {
	return billing.ChargeUID{SubscriptionID: subscriptionID, Tag: "k3xq", Cycle: cycle, Attempt: attempt}.String()
}

// portonetestSeed is a billing key registered under an arbitrary registration merchant_uid.
func portonetestSeed(customerUID, registrationMerchantUID string) portonetest.CustomerSeed {
	return portonetest.CustomerSeed{CustomerUID: customerUID, RegistrationMerchantUID: registrationMerchantUID}
}
