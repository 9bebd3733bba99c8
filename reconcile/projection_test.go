package reconcile

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/readmodel"
)

// storeProjection is the worker's adapter over a real readmodel.Store (worker/readmodel.go),
// with a hook run after each Compare: where a test changes the database between the looks.
type storeProjection struct {
	s         *readmodel.Store
	mu        sync.Mutex
	compares  map[string]int
	afterEach func(id string, n int)
}

func (p *storeProjection) Compare(ctx context.Context, id string, st billing.State) ([]ProjectionDifference, error) {
	ds, err := p.s.Compare(ctx, id, st)
	if err != nil {
		return nil, err
	}
	out := []ProjectionDifference{}
	for _, d := range ds {
		out = append(out, ProjectionDifference{Field: d.Field, Projection: d.Projection, Workflow: d.Workflow})
	}
	p.mu.Lock()
	p.compares[id]++
	n := p.compares[id]
	p.mu.Unlock()
	if p.afterEach != nil {
		p.afterEach(id, n)
	}
	return out, nil
}

func (p *storeProjection) Repair(ctx context.Context, st billing.State) error {
	return p.s.ApplyState(ctx, st, time.Now())
}

// projectionFixture is a clean day whose subscriptions are projected into a real SQLite read
// model from their states (as a seeded fleet is), and a second connection to edit its rows.
type projectionFixture struct {
	l     *ledger
	store *readmodel.Store
	db    *sql.DB
	proj  *storeProjection
}

func newProjectionFixture(t *testing.T, clean int) *projectionFixture {
	t.Helper()
	l := seedClean(t, clean)
	path := filepath.Join(t.TempDir(), "readmodel.db")
	store, err := readmodel.Open(context.Background(), "sqlite:"+path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	for _, id := range l.subs.ids {
		// The stream from its first event (a paid charge: the money), then the state (the
		// rest), so that every field, money too, is compared.
		st := l.subs.states[id]
		st.Plan.Interval = calendar.Interval{Unit: calendar.Month, Count: 1}
		st.EventSeq = 1
		l.subs.states[id] = st
		c := st.Charges[0]
		data, err := json.Marshal(billing.EventData{
			Subscription: billing.EventSubscription{Status: st.Status, Plan: st.Plan.Name, Amount: st.Plan.Amount, Currency: "KRW", Interval: "1 month", Cycle: st.Cycle},
			Charge:       &billing.EventCharge{Cycle: c.Cycle, Attempt: c.Attempt, MerchantUID: c.MerchantUID, ImpUID: c.ImpUID, Amount: c.Amount, Outcome: c.Outcome, At: c.At.UTC()},
		})
		require.NoError(t, err)
		_, err = store.Accept(context.Background(), billing.MerchantEvent{ID: billing.EventID(st.SubscriptionID, st.Tag, 1), Type: billing.EventChargeSucceeded,
			SubscriptionID: st.SubscriptionID, Seq: 1, Timestamp: c.At.UTC(), Data: data})
		require.NoError(t, err)
		require.NoError(t, store.ApplyState(context.Background(), st, asOf.Add(-time.Hour)))
	}
	db, err := sql.Open("sqlite", path) // the driver readmodel registers
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return &projectionFixture{l: l, store: store, db: db, proj: &storeProjection{s: store, compares: map[string]int{}}}
}

// edit changes one row behind the projection's back: drift.
func (f *projectionFixture) edit(t *testing.T, id, set string, args ...any) {
	t.Helper()
	res, err := f.db.Exec(`UPDATE subscriptions SET `+set+` WHERE subscription_id = ?`, append(args, id)...)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func (f *projectionFixture) gather(t *testing.T, repair bool) Report {
	t.Helper()
	in := gatherInput()
	in.RepairProjection = repair
	r, _, err := runGather(t, &Activities{Gateway: portonev1.New(f.l.b.c), Subscriptions: f.l.subs, Projection: f.proj}, in)
	require.NoError(t, err)
	return r
}

func projectionFindings(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Name == FindingProjection {
			d := f.Projection
			out = append(out, f.SubscriptionID+" "+d.Field+" "+d.Projection+" / "+d.Workflow)
		}
	}
	sort.Strings(out)
	return out
}

// TestProjectionCheckReportsExactlyTheDrift: rows edited in the store are reported field by
// field, projection against workflow, and nothing else is: the other subscriptions agree and the
// PortOne checks find nothing. Projection findings name no workflow, so the reconcile workflow
// never marks a subscription for the read model's fault.
func TestProjectionCheckReportsExactlyTheDrift(t *testing.T) {
	f := newProjectionFixture(t, 5)
	f.edit(t, "clean-00001", "status = ?", "paused")
	f.edit(t, "clean-00003", "price = ?, mrr = ?", 12900, 12900)

	r := f.gather(t, false)
	require.Equal(t, []string{
		"clean-00001 status paused / active",
		"clean-00003 mrr 12900 / 9900",
		"clean-00003 price 12900 / 9900",
	}, projectionFindings(r))
	require.Len(t, r.Findings, 3, "only the projection's findings: PortOne and the states agree")
	require.Equal(t, 3, r.Counts[FindingProjection])
	for _, fd := range r.Findings {
		require.Empty(t, fd.WorkflowID, "a projection finding is never marked")
		require.Contains(t, fd.Detail, "the read model says")
	}
	require.Equal(t, &ProjectionCheck{Compared: 5, Differing: 2}, r.Projection)
	require.Equal(t, "5 subscriptions compared with the read model, 2 differ", r.Projection.Summary())
	require.Equal(t, 2, f.proj.compares["clean-00001"], "a differing row is looked at twice")
	require.Equal(t, 1, f.proj.compares["clean-00000"], "an agreeing one once")

	// Reporting changed nothing: the rows still differ.
	st := f.l.subs.states[billing.WorkflowID("clean-00001")]
	d, err := f.store.Compare(context.Background(), "clean-00001", st)
	require.NoError(t, err)
	require.NotEmpty(t, d)
}

// TestProjectionCheckSkippedWithoutReadModel: a worker without PAYCYCLE_READMODEL_DSN reports
// the check as skipped, with why, instead of passing it.
func TestProjectionCheckSkippedWithoutReadModel(t *testing.T) {
	l := seedClean(t, 3)
	r, _, err := runGather(t, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs}, gatherInput())
	require.NoError(t, err)
	require.NotNil(t, r.Projection)
	require.Contains(t, r.Projection.Skipped, "PAYCYCLE_READMODEL_DSN")
	require.Zero(t, r.Projection.Compared)
	require.Equal(t, "skipped: "+projectionSkipped, r.Projection.Summary())
	require.Empty(t, r.Findings)
	require.Equal(t, "not part of this report (made before the check existed)", (*ProjectionCheck)(nil).Summary())
}

// TestProjectionCheckSecondLook: a row behind its workflow at the first look (events on their
// way) that catches up before the second is no finding; one still behind is, as last_seq.
func TestProjectionCheckSecondLook(t *testing.T) {
	f := newProjectionFixture(t, 3)
	for _, id := range []string{"clean-00000", "clean-00002"} {
		st := f.l.subs.states[billing.WorkflowID(id)]
		st.EventSeq = 3 // two events made since, not delivered yet
		f.l.subs.states[billing.WorkflowID(id)] = st
	}
	f.proj.afterEach = func(id string, n int) {
		if id == "clean-00000" && n == 1 {
			// The outbox delivers them between the looks.
			f.edit(t, id, "last_seq = ?", 3)
		}
	}
	r := f.gather(t, false)
	require.Equal(t, []string{"clean-00002 last_seq 1 / 3"}, projectionFindings(r))
	require.Equal(t, &ProjectionCheck{Compared: 3, Differing: 1, Behind: 1}, r.Projection)
	require.Contains(t, r.Findings[0].Detail, "the read model is behind")
}

// TestProjectionCheckRepair: with RepairProjection the row is set from the workflow's state
// after the difference is recorded; money (totals, from events only) is not repaired and is
// reported as still differing.
func TestProjectionCheckRepair(t *testing.T) {
	f := newProjectionFixture(t, 3)
	f.edit(t, "clean-00000", "status = ?, attention_kind = ?", "canceled", "operator")
	f.edit(t, "clean-00002", "total_paid = ?", 19800)

	r := f.gather(t, true)
	require.Equal(t, []string{
		"clean-00000 attention operator / ",
		"clean-00000 status canceled / active",
		"clean-00002 total_paid 19800 / 9900",
	}, projectionFindings(r))
	for _, fd := range r.Findings {
		require.Equal(t, fd.SubscriptionID == "clean-00000", fd.Projection.Repaired, "%s %s", fd.SubscriptionID, fd.Projection.Field)
	}
	require.Equal(t, &ProjectionCheck{Compared: 3, Differing: 2, Repaired: 1, RepairFailed: 1}, r.Projection)

	st := f.l.subs.states[billing.WorkflowID("clean-00000")]
	d, err := f.store.Compare(context.Background(), "clean-00000", st)
	require.NoError(t, err)
	require.Empty(t, d, "the repaired row agrees with the workflow")
	row, err := f.store.Subscription(context.Background(), "clean-00000")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, row.Status)
}

// TestProjectionCheckReadModelDown: a read model that does not answer is counted and named in
// the report, never a pass; the PortOne checks go on.
func TestProjectionCheckReadModelDown(t *testing.T) {
	f := newProjectionFixture(t, 2)
	require.NoError(t, f.store.Close())
	r := f.gather(t, false)
	require.Equal(t, 2, r.Projection.Errors)
	require.Zero(t, r.Projection.Compared)
	require.Contains(t, r.Projection.Summary(), "2 NOT compared, the read model did not answer")
	require.Empty(t, r.Findings)
}

// TestProjectionCheckOtherIncarnation: a subscription ID reused after its end has two states in
// the run. The row belongs to the new incarnation, which agrees: the ended one's state against
// it is no difference. A row still of the ended incarnation while the new one runs (its events
// not arrived) is one, and so is a row of an incarnation the run did not read.
func TestProjectionCheckOtherIncarnation(t *testing.T) {
	f := newProjectionFixture(t, 3)
	old := f.l.subs.states[billing.WorkflowID("clean-00000")]
	old.Tag, old.Status, old.Charges = "zzzz", billing.StatusCanceled, nil
	f.l.subs.ids = append(f.l.subs.ids, "old-run-0")
	f.l.subs.states["old-run-0"] = old

	// clean-00002: the row is the ended incarnation's; the new one runs.
	ended := f.l.subs.states[billing.WorkflowID("clean-00002")]
	ended.Tag, ended.Status, ended.Charges = "yyyy", billing.StatusCanceled, nil
	f.l.subs.ids = append(f.l.subs.ids, "old-run-2")
	f.l.subs.states["old-run-2"] = ended
	require.NoError(t, f.store.ApplyState(context.Background(), ended, asOf.Add(-time.Hour)))

	f.edit(t, "clean-00001", "stream = ?", "gone")

	r := f.gather(t, false)
	require.Equal(t, []string{"clean-00001 stream gone / abcd", "clean-00002 stream yyyy / abcd"}, projectionFindings(r))
	require.Equal(t, &ProjectionCheck{Compared: 5, Differing: 2}, r.Projection)
}

// TestWorkflowProjectionFindingsAreNotMarked runs the Reconcile workflow with a read model that
// drifted: the projection finding is in the result beside a PortOne one, the subscription with
// the PortOne finding is marked and the one whose row drifted is not, and Input.RepairProjection
// reaches the Gather activity (the row agrees after the run).
func TestWorkflowProjectionFindingsAreNotMarked(t *testing.T) {
	f := newProjectionFixture(t, 3)
	f.edit(t, "clean-00001", "cycle = ?", 7)
	// A PortOne finding too: clean-00002's billing key is gone.
	st := f.l.subs.states[billing.WorkflowID("clean-00002")]
	st.CustomerUID = "cust-nobody"
	f.l.subs.states[billing.WorkflowID("clean-00002")] = st

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second})
	Register(env, &Activities{Gateway: portonev1.New(f.l.b.c), Subscriptions: f.l.subs, Projection: f.proj})
	env.SetStartTime(asOf)
	env.ExecuteWorkflow(WorkflowType, Input{Rate: 1000, RepairProjection: true})
	require.NoError(t, env.GetWorkflowError())
	var r Report
	require.NoError(t, env.GetWorkflowResult(&r))

	require.Equal(t, []string{"clean-00001 cycle 7 / 2"}, projectionFindings(r))
	require.Equal(t, 1, r.Counts[FindingKeyGone])
	require.True(t, find(r, FindingKeyGone, "clean-00002").Marked)
	require.False(t, find(r, FindingProjection, "clean-00001").Marked)
	require.Empty(t, f.l.subs.marks[billing.WorkflowID("clean-00001")], "the read model's fault marks no subscription")
	require.Equal(t, 1, r.Marked)
	require.Equal(t, &ProjectionCheck{Compared: 3, Differing: 1, Repaired: 1}, r.Projection)
	d, err := f.store.Compare(context.Background(), "clean-00001", f.l.subs.states[billing.WorkflowID("clean-00001")])
	require.NoError(t, err)
	require.Empty(t, d)
}
