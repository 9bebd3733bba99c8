package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// The tests in this file prove that skipping the lookup on a first try is safe. They run Charge
// the way Temporal does, through a test workflow environment whose retries carry real attempt
// numbers (the activity environment always says attempt 1), against the emulator's faults, and
// count every HTTP request PortOne receives.

// requestCounter counts the requests the emulator receives, by method and path.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if len(r.URL.Path) > len("/payments/findAll/") && r.URL.Path[:len("/payments/findAll/")] == "/payments/findAll/" {
			key = r.Method + " /payments/findAll/{merchant_uid}"
		}
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// counts returns the counts without the token request, which the client makes once and reuses.
func (c *requestCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		if k != "POST /users/getToken" {
			out[k] = v
		}
	}
	return out
}

const (
	reqAgain   = "POST /subscribe/payments/again"
	reqFindAll = "GET /payments/findAll/{merchant_uid}"
)

// loseAnswers passes every call through to PortOne but throws the answer of the first n again
// calls away, as a connection that breaks after PortOne answered: whatever PortOne did (paid or
// declined) happened, and the activity cannot know it.
type loseAnswers struct {
	portonev1.Client
	mu sync.Mutex
	n  int
}

func (g *loseAnswers) Again(ctx context.Context, req portone.AgainRequest) (*portone.Payment, error) {
	p, err := g.Client.Again(ctx, req)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n > 0 {
		g.n--
		return nil, &portone.UnknownOutcomeError{Op: "POST /subscribe/payments/again", MerchantUID: req.MerchantUID, Err: errors.New("answer lost (test)")}
	}
	return p, err
}

type retryFixture struct {
	emu  *portonetest.Emulator
	reqs *requestCounter
	gw   portonev1.Client
}

func newRetryFixture(t *testing.T, timeout time.Duration) *retryFixture {
	t.Helper()
	emu := portonetest.New(portonetest.Options{})
	reqs := &requestCounter{n: map[string]int{}}
	srv := httptest.NewServer(reqs.wrap(emu))
	t.Cleanup(func() { emu.Close(); srv.Close() })
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(timeout))
	require.NoError(t, err)
	_, err = emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "cust-1", CustomerTel: "010-1234-5678"})
	require.NoError(t, err)
	return &retryFixture{emu: emu, reqs: reqs, gw: gw}
}

// chargeWithRetries runs Charge as the subscription workflow does: Temporal retries it (up to
// five tries here) while it fails with a retryable error. It returns the result and the number
// of tries.
func (f *retryFixture) chargeWithRetries(t *testing.T, gw portonev1.Client, in activities.ChargeInput) (activities.ChargeResult, int, error) {
	t.Helper()
	acts := &activities.Activities{Gateway: portonev1.New(gw)}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second}) // a busy machine is not a deadlock (workflows/busy_test.go)
	tries := 0
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) { tries++ })
	env.RegisterActivity(acts)
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in activities.ChargeInput) (activities.ChargeResult, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5,
				NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
		})
		var res activities.ChargeResult
		err := workflow.ExecuteActivity(ctx, acts.Charge, in).Get(ctx, &res)
		return res, err
	}, workflow.RegisterOptions{Name: "ChargeWithRetries"})
	env.ExecuteWorkflow("ChargeWithRetries", in)
	require.True(t, env.IsWorkflowCompleted())
	var res activities.ChargeResult
	if err := env.GetWorkflowError(); err != nil {
		return res, tries, err
	}
	require.NoError(t, env.GetWorkflowResult(&res))
	return res, tries, nil
}

// TestFirstTryOfFirstAttemptIsOneRequest: a cycle's first attempt, answered at once, costs
// PortOne exactly one request (the charge) besides the reused access token.
func TestFirstTryOfFirstAttemptIsOneRequest(t *testing.T) {
	f := newRetryFixture(t, 5*time.Second)
	for i, uid := range []string{"sub-1-abcd-1-1", "sub-1-abcd-2-1", "sub-1-abcd-3-1"} {
		in := chargeIn(uid, 1)
		in.Cycle = i + 1
		res, tries, err := f.chargeWithRetries(t, f.gw, in)
		require.NoError(t, err)
		require.Equal(t, billing.OutcomePaid, res.Outcome)
		require.False(t, res.Adopted)
		require.Equal(t, 1, tries)
	}
	require.Equal(t, map[string]int{reqAgain: 3}, f.reqs.counts(), "one request per first-attempt charge")
	require.Len(t, paidEntries(f.emu), 3)
}

// TestARetryLooksFirst is the heart of exactly-once charging. It covers every way a first try
// can reach PortOne and lose its answer: PortOne commits the charge and the connection drops
// before the answer, or the answer of a payment or a decline is lost on the way back. The
// activity fails with a retryable "outcome unknown" error; Temporal's retry (attempt 2) looks
// the merchant_uid up first and settles from what it finds: the ledger holds exactly one paid
// charge, or exactly one declined payment and no second try.
func TestARetryLooksFirst(t *testing.T) {
	tests := []struct {
		name      string
		fault     *portonetest.Fault
		lose      int // again answers thrown away after PortOne answered
		wantOut   billing.Outcome
		adopted   bool
		wantPaid  int
		wantReqs  map[string]int
		wantTries int
	}{
		{name: "PortOne commits, then the connection drops",
			fault:   &portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultCommitThenDrop, Times: 1},
			wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 1, reqFindAll: 1}},
		{name: "PortOne commits and answers after the client timed out",
			fault:   &portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatencyAfterCommit, Latency: 3 * time.Second, Times: 1},
			wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 1, reqFindAll: 1}},
		{name: "a paid answer is lost", lose: 1,
			wantOut: billing.OutcomePaid, adopted: true, wantPaid: 1, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 1, reqFindAll: 1}},
		{name: "a decline's answer is lost: the decline stands, nothing is charged again", lose: 1,
			fault:   &portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1},
			wantOut: billing.OutcomeDeclined, adopted: true, wantPaid: 0, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 1, reqFindAll: 1}},
		{name: "a 5xx before anything was stored: the retry finds nothing and charges",
			fault:   &portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultErrorBeforeCommit, Times: 1},
			wantOut: billing.OutcomePaid, wantPaid: 1, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 2, reqFindAll: 1}},
		{name: "slow PortOne: the client gives up before anything was stored",
			fault:   &portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultLatency, Latency: 3 * time.Second, Times: 1},
			wantOut: billing.OutcomePaid, wantPaid: 1, wantTries: 2,
			wantReqs: map[string]int{reqAgain: 2, reqFindAll: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRetryFixture(t, time.Second)
			if tt.fault != nil {
				f.emu.AddFault(*tt.fault)
			}
			gw := &loseAnswers{Client: f.gw, n: tt.lose}
			in := chargeIn("sub-1-abcd-1-1", 1)
			res, tries, err := f.chargeWithRetries(t, gw, in)
			require.NoError(t, err)
			require.Equal(t, tt.wantOut, res.Outcome)
			require.Equal(t, tt.adopted, res.Adopted)
			require.Equal(t, in.MerchantUID, res.MerchantUID)
			require.Equal(t, tt.wantTries, tries)
			require.Equal(t, tt.wantPaid, f.emu.PaidCount(in.MerchantUID))
			require.Len(t, paidEntries(f.emu), tt.wantPaid, "nothing else was charged")
			require.Equal(t, tt.wantReqs, f.reqs.counts())
			if tt.wantOut == billing.OutcomeDeclined {
				var payments int
				for _, e := range f.emu.Ledger() {
					if e.Usage == "payment" {
						payments++
					}
				}
				require.Equal(t, 1, payments, "one declined payment, no second try at PortOne")
			}
		})
	}
}

// TestATryNobodyKnewAboutIsAdopted: a first try whose merchant_uid was already paid (a workflow
// reset replaying the charge, an activity whose completion was lost with its history) does not
// look first, but PortOne refuses the duplicate merchant_uid and the lookup that follows adopts
// the payment. One paid charge.
func TestATryNobodyKnewAboutIsAdopted(t *testing.T) {
	f := newRetryFixture(t, 5*time.Second)
	in := chargeIn("sub-1-abcd-1-1", 1)
	first, _, err := f.chargeWithRetries(t, f.gw, in)
	require.NoError(t, err)
	require.Equal(t, billing.OutcomePaid, first.Outcome)
	res, tries, err := f.chargeWithRetries(t, f.gw, in)
	require.NoError(t, err)
	require.Equal(t, 1, tries)
	require.Equal(t, billing.OutcomePaid, res.Outcome)
	require.True(t, res.Adopted)
	require.Equal(t, first.ImpUID, res.ImpUID)
	require.Equal(t, 1, f.emu.PaidCount(in.MerchantUID))
	require.Equal(t, map[string]int{reqAgain: 2, reqFindAll: 1}, f.reqs.counts())
}

// TestALaterAttemptLooksFirst: an attempt after earlier ones of the cycle looks them up before
// charging even on its first try, because a new merchant_uid is not covered by PortOne's
// duplicate check: an earlier attempt whose outcome was unknown may have been paid.
func TestALaterAttemptLooksFirst(t *testing.T) {
	f := newRetryFixture(t, time.Second)
	f.emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, Action: portonetest.FaultCommitThenDrop, Times: 1})
	// Attempt 1 is paid at PortOne, but its answer is lost; the workflow gave up on it.
	_, err := f.gw.Again(context.Background(), portone.AgainRequest{CustomerUID: "cust-1", MerchantUID: "sub-1-abcd-1-1", Amount: 9900, Name: "Premium"})
	require.ErrorIs(t, err, portone.ErrUnknownOutcome)
	res, tries, err := f.chargeWithRetries(t, f.gw, chargeIn("sub-1-abcd-1-2", 2, "sub-1-abcd-1-1"))
	require.NoError(t, err)
	require.Equal(t, 1, tries)
	require.Equal(t, billing.OutcomePaid, res.Outcome)
	require.True(t, res.Adopted)
	require.Equal(t, "sub-1-abcd-1-1", res.MerchantUID)
	require.Zero(t, f.emu.PaidCount("sub-1-abcd-1-2"))
	require.Len(t, paidEntries(f.emu), 1)
	require.Equal(t, map[string]int{reqAgain: 1, reqFindAll: 1}, f.reqs.counts(), "the prior attempt was found; no second charge was sent")

	// An attempt number above 1 looks first even if the workflow sent no prior merchant_uids.
	g := newRetryFixture(t, 5*time.Second)
	_, _, err = g.chargeWithRetries(t, g.gw, chargeIn("sub-1-abcd-1-2", 2))
	require.NoError(t, err)
	require.Equal(t, map[string]int{reqAgain: 1, reqFindAll: 1}, g.reqs.counts())
}
