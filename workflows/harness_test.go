package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

var a *activities.Activities

// kst builds an instant in Asia/Seoul.
func kst(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, calendar.Seoul)
}

// attempt is one charge the fake bank saw, as PortOne would store it.
type attempt struct {
	in      activities.ChargeInput
	outcome billing.Outcome
	reason  string
	impUID  string
	at      time.Time
}

// bank is a stateful fake of PortOne behind the activity mocks. It keeps a ledger keyed by
// merchant_uid and implements the same look-before-charge contract as the real Charge activity,
// so the money invariants can be checked on it.
type bank struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu      sync.Mutex
	keys    map[string]bool
	ledger  []attempt
	byUID   map[string]*attempt
	decide  func(in activities.ChargeInput) (billing.Outcome, string)
	refunds []activities.RefundInput
	deleted []activities.DeleteBillingKeyInput
	regs    map[string]string // imp_uid → customer_uid of a paid registration
	seq     int
	// chargeHook runs inside the Charge activity before it answers (for races).
	chargeHook func(in activities.ChargeInput)
	// refundHook and deleteHook run inside the Refund and DeleteBillingKey activities before
	// they answer (messages arriving while a cancel is being carried out).
	refundHook func(in activities.RefundInput)
	deleteHook func(in activities.DeleteBillingKeyInput)
	// failCharge makes the Charge activity fail with a retryable error for these merchant_uids
	// after committing (commit-then-lose-the-answer).
	failCharge map[string]bool
	// schedules is the fake PortOne scheduler: it executes a schedule lazily, the first time it
	// is looked at on or after schedule_at, as PortOne would have at schedule_at.
	schedules map[string]*fakeSchedule
	// schedulerStuck makes the fake scheduler never execute (PortOne's scheduler late).
	schedulerStuck bool
	// outbox receives the merchant events when a test turned them on (enableEvents).
	outbox *outboxSink
}

type fakeSchedule struct {
	in     activities.ScheduleChargeInput
	status string
}

func newBank(t *testing.T, env *testsuite.TestWorkflowEnvironment, keys ...string) *bank {
	b := &bank{t: t, env: env, keys: map[string]bool{}, byUID: map[string]*attempt{}, regs: map[string]string{}, failCharge: map[string]bool{},
		schedules: map[string]*fakeSchedule{}}
	for _, k := range keys {
		b.keys[k] = true
	}
	b.decide = func(activities.ChargeInput) (billing.Outcome, string) { return billing.OutcomePaid, "" }
	b.install()
	return b
}

func (b *bank) install() {
	env := b.env
	env.RegisterActivity(&activities.Activities{Config: activities.Config{DemoMode: true, ScheduleSettleDelay: time.Minute}})
	env.RegisterActivityWithOptions(func(ctx context.Context, in webhooks.PublishInput) error {
		if b.outbox == nil {
			return errors.New("events handed over although the worker has no webhook endpoint")
		}
		return b.outbox.publish(ctx, in)
	}, activity.RegisterOptions{Name: webhooks.PublishActivityName})
	env.OnActivity(a.CheckBillingKey, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BillingKeyInput) (activities.BillingKeyResult, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			return activities.BillingKeyResult{Exists: b.keys[in.CustomerUID], PGProvider: "naverpay"}, nil
		})
	env.OnActivity(a.VerifyRegistration, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.VerifyRegistrationInput) (activities.VerifyRegistrationResult, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			owner, ok := b.regs[in.ImpUID]
			switch {
			case !ok:
				return activities.VerifyRegistrationResult{Reason: "PortOne has no payment " + in.ImpUID}, nil
			case owner != in.CustomerUID:
				return activities.VerifyRegistrationResult{Reason: "belongs to another billing key"}, nil
			}
			b.keys[in.CustomerUID] = true
			return activities.VerifyRegistrationResult{OK: true}, nil
		})
	env.OnActivity(a.Charge, mock.Anything, mock.Anything).Return(b.charge)
	env.OnActivity(a.ScheduleCharge, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ScheduleChargeInput) (activities.ScheduleState, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if sc, ok := b.schedules[in.MerchantUID]; ok {
				return b.scheduleStateLocked(sc), nil
			}
			if !b.keys[in.CustomerUID] {
				r := activities.ChargeResult{Outcome: billing.OutcomeDeclinedHard, Reason: "등록된 고객정보가 없습니다."}
				return activities.ScheduleState{Charge: &r}, nil
			}
			sc := &fakeSchedule{in: in, status: "scheduled"}
			b.schedules[in.MerchantUID] = sc
			return b.scheduleStateLocked(sc), nil
		})
	env.OnActivity(a.ScheduleStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SettleScheduleInput) (activities.ScheduleState, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			sc, ok := b.schedules[in.MerchantUID]
			if !ok {
				return activities.ScheduleState{}, nil
			}
			b.runDueLocked()
			return b.scheduleStateLocked(sc), nil
		})
	env.OnActivity(a.Unschedule, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SettleScheduleInput) (activities.ScheduleState, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.runDueLocked()
			sc, ok := b.schedules[in.MerchantUID]
			if !ok {
				return activities.ScheduleState{}, nil
			}
			if sc.status == "scheduled" {
				sc.status = "revoked"
			}
			return b.scheduleStateLocked(sc), nil
		})
	env.OnActivity(a.Lookup, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LookupInput) (activities.LookupResult, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if res, ok := b.lookupLocked(in.MerchantUIDs); ok {
				return activities.LookupResult{Found: true, Charge: res}, nil
			}
			return activities.LookupResult{}, nil
		})
	env.OnActivity(a.Refund, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RefundInput) (activities.RefundResult, error) {
			if b.refundHook != nil {
				b.refundHook(in)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.refunds = append(b.refunds, in)
			return activities.RefundResult{Refunded: in.Amount, CancelledTotal: in.PriorCancelled + in.Amount}, nil
		})
	env.OnActivity(a.DeleteBillingKey, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeleteBillingKeyInput) (activities.DeleteBillingKeyResult, error) {
			if b.deleteHook != nil {
				b.deleteHook(in)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.deleted = append(b.deleted, in)
			delete(b.keys, in.CustomerUID)
			return activities.DeleteBillingKeyResult{Deleted: true}, nil
		})
}

// runDueLocked executes every due schedule, as PortOne's scheduler did at schedule_at.
func (b *bank) runDueLocked() {
	if b.schedulerStuck {
		return
	}
	now := b.env.Now()
	for _, uid := range sortedKeys(b.schedules) {
		sc := b.schedules[uid]
		if sc.status != "scheduled" || now.Before(sc.in.ScheduleAt) {
			continue
		}
		sc.status = "executed"
		in := sc.in.ChargeInput
		outcome, reason := billing.OutcomePaid, ""
		if !b.keys[in.CustomerUID] {
			outcome, reason = billing.OutcomeDeclinedHard, "등록되지 않은 구매자입니다."
		} else if outcome, reason = b.decide(in); outcome == billing.OutcomeDeclined && activities.IsHardDecline(reason) {
			outcome = billing.OutcomeDeclinedHard
		}
		b.seq++
		at := &attempt{in: in, outcome: outcome, reason: reason, impUID: fmt.Sprintf("imp_%012d", b.seq), at: sc.in.ScheduleAt.UTC()}
		b.ledger = append(b.ledger, *at)
		b.byUID[in.MerchantUID] = at
	}
}

func (b *bank) scheduleStateLocked(sc *fakeSchedule) activities.ScheduleState {
	st := activities.ScheduleState{Status: activities.ScheduleStatus(sc.status), ScheduleAt: sc.in.ScheduleAt}
	switch sc.status {
	case "executed":
		at := b.byUID[sc.in.MerchantUID]
		st.Charge = &activities.ChargeResult{Outcome: at.outcome, MerchantUID: sc.in.MerchantUID, ImpUID: at.impUID, Amount: sc.in.Amount, Reason: at.reason, At: at.at}
	case "revoked":
		st.Charge = &activities.ChargeResult{Outcome: billing.OutcomeRevoked, MerchantUID: sc.in.MerchantUID, Amount: sc.in.Amount}
	}
	return st
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lookupLocked returns the settled result of the first paid merchant_uid, else the last one's.
func (b *bank) lookupLocked(uids []string) (activities.ChargeResult, bool) {
	for _, uid := range uids {
		if at, ok := b.byUID[uid]; ok && at.outcome == billing.OutcomePaid {
			return activities.ChargeResult{Outcome: at.outcome, MerchantUID: uid, ImpUID: at.impUID, Amount: at.in.Amount, At: at.at, Adopted: true}, true
		}
	}
	if at, ok := b.byUID[uids[len(uids)-1]]; ok {
		return activities.ChargeResult{Outcome: at.outcome, MerchantUID: at.in.MerchantUID, ImpUID: at.impUID, Amount: at.in.Amount, Reason: at.reason, Adopted: true}, true
	}
	return activities.ChargeResult{}, false
}

func (b *bank) charge(_ context.Context, in activities.ChargeInput) (activities.ChargeResult, error) {
	if b.chargeHook != nil {
		b.chargeHook(in)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runDueLocked()
	for _, uid := range append(append([]string(nil), in.PriorMerchantUIDs...), in.MerchantUID) {
		// Never both: charging through again while PortOne still holds a pending schedule for
		// the same cycle would be a double charge waiting to happen.
		if sc, ok := b.schedules[uid]; ok && sc.status == "scheduled" {
			b.t.Errorf("again for cycle %d while schedule %s is still pending", in.Cycle, uid)
		}
	}
	if res, ok := b.lookupLocked(append(append([]string(nil), in.PriorMerchantUIDs...), in.MerchantUID)); ok {
		return res, nil
	}
	if !b.keys[in.CustomerUID] {
		return b.store(in, billing.OutcomeDeclinedHard, "등록되지 않은 구매자입니다."), nil
	}
	outcome, reason := b.decide(in)
	if outcome == billing.OutcomeDeclined && activities.IsHardDecline(reason) {
		outcome = billing.OutcomeDeclinedHard // as the real Charge activity classifies it
	}
	res := b.store(in, outcome, reason)
	if b.failCharge[in.MerchantUID] {
		delete(b.failCharge, in.MerchantUID)
		return activities.ChargeResult{}, temporal.NewApplicationError("connection dropped after commit", activities.ErrTypeOutcomeUnknown)
	}
	return res, nil
}

func (b *bank) store(in activities.ChargeInput, outcome billing.Outcome, reason string) activities.ChargeResult {
	b.seq++
	at := &attempt{in: in, outcome: outcome, reason: reason, impUID: fmt.Sprintf("imp_%012d", b.seq), at: b.env.Now().UTC()}
	b.ledger = append(b.ledger, *at)
	b.byUID[in.MerchantUID] = at
	return activities.ChargeResult{Outcome: outcome, MerchantUID: in.MerchantUID, ImpUID: at.impUID, Amount: in.Amount, Reason: reason, At: at.at}
}

// paid returns the paid ledger entries in order.
func (b *bank) paid() []attempt {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []attempt
	for _, at := range b.ledger {
		if at.outcome == billing.OutcomePaid {
			out = append(out, at)
		}
	}
	return out
}

// paidDates returns the KST dates and times of the paid charges.
func (b *bank) paidDates() []string {
	var out []string
	for _, at := range b.paid() {
		out = append(out, at.at.In(calendar.Seoul).Format("2006-01-02 15:04"))
	}
	return out
}

// checkInvariants asserts the money invariants over the ledger: merchant_uids unique per attempt,
// at most one paid charge per (subscription, cycle), and no charge attempt at or after the
// instant the subscription was canceled.
func (b *bank) checkInvariants(st billing.State) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	paidPerCycle := map[int]int{}
	for _, at := range b.ledger {
		require.False(b.t, seen[at.in.MerchantUID], "merchant_uid %s charged twice", at.in.MerchantUID)
		seen[at.in.MerchantUID] = true
		require.LessOrEqual(b.t, len(at.in.MerchantUID), 40)
		if at.outcome == billing.OutcomePaid {
			paidPerCycle[at.in.Cycle]++
			require.Equal(b.t, 1, paidPerCycle[at.in.Cycle], "cycle %d paid twice", at.in.Cycle)
		}
		if st.Status == billing.StatusCanceled {
			require.True(b.t, at.at.Before(st.EndedAt) || at.at.Equal(st.EndedAt), "charge %s at %s after cancel at %s", at.in.MerchantUID, at.at, st.EndedAt)
		}
	}
	// No KST day is kept by two charges (daysPaid_test.go).
	require.Empty(b.t, daysPaidTwice(st), "days paid twice")
	requireCreditsCovered(b.t, st)
	// Every attempt the bank saw is in the workflow's state with the same outcome.
	recorded := map[string]billing.ChargeRecord{}
	for _, c := range st.Charges {
		recorded[c.MerchantUID] = c
	}
	if st.ChargesOmitted == 0 {
		for _, at := range b.ledger {
			c, ok := recorded[at.in.MerchantUID]
			require.True(b.t, ok, "attempt %s missing from state", at.in.MerchantUID)
			require.Equal(b.t, at.outcome, c.Outcome, "outcome of %s", at.in.MerchantUID)
		}
	}
}

// newEnv returns a test environment for subscription sub-1 starting at start.
func newEnv(t *testing.T, start time.Time) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	if os.Getenv("WF_DEBUG") == "" {
		s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	}
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	// The test environment times a run out after ten simulated years by default; yearly plans run longer.
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: billing.WorkflowID("sub-1"), TaskQueue: billing.TaskQueue})
	env.SetWorkflowRunTimeout(100 * 365 * 24 * time.Hour)
	env.RegisterWorkflowWithOptions(workflows.Subscription, workflowRegisterOptions())
	env.SetTestTimeout(30 * time.Second)
	// The SDK's deadlock detector counts wall time, 1 s by default: under make test (-race,
	// every package at once on two cores) a workflow task can be descheduled that long without
	// spinning (TestWorkflowTestsTolerateABusyMachine). A real spin still fails, after 10 s, as
	// in the sweep.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second})
	return env
}

// monthly is the input of a 9,900 KRW monthly plan for customer "cust-1".
func monthly() billing.SubscriptionInput {
	return billing.SubscriptionInput{
		SubscriptionID: "sub-1",
		CustomerUID:    "cust-1",
		Plan: billing.Plan{
			Name:     "Premium",
			Amount:   9900,
			Interval: calendar.Interval{Unit: calendar.Month, Count: 1},
		},
	}
}

// query returns the workflow's state through the "state" query.
func query(t *testing.T, env *testsuite.TestWorkflowEnvironment) billing.State {
	t.Helper()
	v, err := env.QueryWorkflow(billing.QueryState)
	require.NoError(t, err)
	var st billing.State
	require.NoError(t, v.Get(&st))
	return st
}

// signal sends a message as a signal with a JSON payload.
func signal(env *testsuite.TestWorkflowEnvironment, name string, payload any) {
	env.SignalWorkflow(name, payload)
}

// updateResult is what an update answered.
type updateResult struct {
	receipt  billing.Receipt
	err      error
	rejected error
	done     bool
}

// updateSeq numbers the updates the tests send. The test environment answers an update whose
// ID it has seen with the first one's result; an ID from the wall clock (as before) could repeat
// on a clock of coarse resolution and silently turn a second update into the first's duplicate.
var updateSeq atomic.Int64

// update sends a message as an update and records its answer.
func update(env *testsuite.TestWorkflowEnvironment, name string, payload any, out *updateResult) {
	env.UpdateWorkflow(name, fmt.Sprintf("%s-%d", name, updateSeq.Add(1)), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { out.rejected, out.done = err, true },
		OnComplete: func(v any, err error) {
			out.err, out.done = err, true
			if r, ok := v.(billing.Receipt); ok {
				out.receipt = r
			}
		},
	}, payload)
}

// result returns the final state of a workflow that completed.
func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) billing.State {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st billing.State
	require.NoError(t, env.GetWorkflowResult(&st))
	return st
}

// continued returns the state a continue-as-new carried.
func continued(t *testing.T, env *testsuite.TestWorkflowEnvironment) billing.SubscriptionInput {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	var can *workflowContinueAsNew
	require.ErrorAs(t, err, &can)
	var in billing.SubscriptionInput
	require.NoError(t, decodeCANInput(can, &in))
	require.NotNil(t, in.Continued)
	return in
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// consentRequest is a consent (or refusal) the merchant's backend collected at at, for the rise
// from before to after KRW on date.
func consentRequest(granted bool, before, after int64, date calendar.Date, at time.Time) billing.ConsentRequest {
	return billing.ConsentRequest{
		Granted: &granted, At: at, Channel: "app", ShownText: fmt.Sprintf("%s부터 월 %d원으로 변경됩니다. 동의하십니까?", date, after),
		AmountBefore: before, AmountAfter: after, ChangeDate: date, RecordID: fmt.Sprintf("consent-%s-%d", date, after),
	}
}

// requireCreditsCovered is the credits' money invariant over what the state records: the sum
// of the credits drawn from a payment and of its refunds never exceeds what it was worth, its
// amount plus the credit it was itself paid with; nothing is given back twice.
//
// A credit is an edge from the charge (or the current period paid wholly by credit, or the
// credit pending) that took it to the payment it was drawn from. A refund drawn along a credit's
// chain names the credits it gave back (RefundRecord.Via): each of those edges shrinks by the
// refund, never below zero. Then, for every paid payment P, its refunds plus the edges still
// drawn from it are at most P's amount plus what is left of its own edge; in all, the refunds
// plus the credit still pending never exceed what was paid. A period paid wholly by credit
// leaves no record once it is over, so its edge is seen only while it is the current period (the
// check is looser, never wrong, for older ones).
func requireCreditsCovered(t require.TestingT, st billing.State) {
	type edge struct {
		from   string
		amount int64
	}
	paid := map[string]billing.ChargeRecord{}
	byImp := map[string]string{}
	edges := map[string]edge{}
	var total int64
	for _, c := range st.Charges {
		if c.Outcome != billing.OutcomePaid {
			continue
		}
		paid[c.MerchantUID] = c
		byImp[c.ImpUID] = c.MerchantUID
		total += c.Amount
		if c.Credit > 0 {
			edges[c.MerchantUID] = edge{c.CreditFrom, c.Credit}
		}
	}
	if p := st.CurrentPeriod; p != nil && p.Credit > 0 {
		own := false
		for _, c := range st.Charges {
			own = own || (c.Cycle == p.Cycle && c.Outcome == billing.OutcomePaid)
		}
		if !own {
			edges[billing.ViaCurrentPeriod] = edge{p.CreditFrom, p.Credit}
		}
	}
	refunded := map[string]int64{}
	returned := map[string]int64{}
	var refunds int64
	for _, f := range st.Refunds {
		refunded[byImp[f.ImpUID]] += f.Amount
		refunds += f.Amount
		for _, v := range f.Via {
			returned[v] += f.Amount
		}
	}
	drawn := map[string]int64{}
	net := map[string]int64{}
	for key, e := range edges {
		n := e.amount - returned[key]
		require.GreaterOrEqual(t, n, int64(0), "the credit of %s (%d KRW from %s) given back %d KRW", key, e.amount, e.from, returned[key])
		net[key] = n
		drawn[e.from] += n
	}
	if st.Credit > 0 {
		drawn[st.CreditFrom] += st.Credit
	}
	for uid, c := range paid {
		require.LessOrEqual(t, refunded[uid], c.Amount, "%s refunded beyond its amount", uid)
		require.LessOrEqual(t, refunded[uid]+drawn[uid], c.Amount+net[uid],
			"%s (%d KRW, credit %d KRW left): refunded %d and drawn %d", uid, c.Amount, net[uid], refunded[uid], drawn[uid])
	}
	if st.ChargesOmitted == 0 {
		require.LessOrEqual(t, refunds+st.Credit, total, "refunds and pending credit beyond what was paid")
	}
}
