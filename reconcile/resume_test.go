package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/portone"
)

// flakyPortOne fails the failOn-th PaymentsByStatus call and counts the pages asked for.
type flakyPortOne struct {
	portonev1.Client
	mu     sync.Mutex
	calls  int
	failOn int
	pages  []string
}

func (f *flakyPortOne) PaymentsByStatus(ctx context.Context, s portone.PaymentStatus, q portone.StatusQuery) (*portone.Page[portone.Payment], error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.pages = append(f.pages, fmt.Sprintf("%s/%d", s, q.Page))
	f.mu.Unlock()
	if n == f.failOn {
		return nil, &portone.TransportError{Op: "GET /payments/status/{payment_status}", Err: errors.New("injected: connection reset")}
	}
	return f.Client.PaymentsByStatus(ctx, s, q)
}

// TestGatherResumesFromItsHeartbeat: a Gather that fails on the second page of paid payments
// is retried with its last heartbeat and resumes there: our subscriptions are not read again,
// page 1 is not fetched again, and the findings are the same as an uninterrupted run's.
func TestGatherResumesFromItsHeartbeat(t *testing.T) {
	l := seedLedger(t, 1500)
	flaky := &flakyPortOne{Client: l.b.c, failOn: 2}
	a := &Activities{Gateway: portonev1.New(flaky), Subscriptions: l.subs}
	_, beats, err := runGather(t, a, gatherInput())
	require.ErrorContains(t, err, "injected: connection reset")
	require.NotEmpty(t, beats)
	last := beats[len(beats)-1]
	require.Equal(t, phasePayments, last.Phase)
	require.Equal(t, "0:2", last.Cursor, "V1's cursor: paid, page 2")
	require.Len(t, last.Snap.Payments, 1000)
	require.Len(t, last.Snap.Subs, 1500+8)
	stateCalls := l.subs.calls

	flaky.pages = nil
	r, _, err := runGather(t, a, gatherInput(), last)
	require.NoError(t, err)
	require.Equal(t, stateCalls, l.subs.calls, "subscriptions were not read again")
	require.Equal(t, []string{"paid/2", "cancelled/1", "failed/1"}, flaky.pages)
	require.Equal(t, l.want, names(r))
}

// TestGatherRestartsPaymentsFromAHeartbeatBeforeTheSeam: a Gather retried with a heartbeat
// recorded before the gateway seam (its V1 status_idx and page decode to nothing: no cursor)
// lists the payments again from the start over the partial list it has, and finds exactly what
// an uninterrupted run finds (nothing counted twice).
func TestGatherRestartsPaymentsFromAHeartbeatBeforeTheSeam(t *testing.T) {
	l := seedLedger(t, 1500)
	flaky := &flakyPortOne{Client: l.b.c, failOn: 2}
	a := &Activities{Gateway: portonev1.New(flaky), Subscriptions: l.subs}
	_, beats, err := runGather(t, a, gatherInput())
	require.ErrorContains(t, err, "injected: connection reset")
	old := beats[len(beats)-1]
	require.Len(t, old.Snap.Payments, 1000)
	old.Cursor = "" // {"status_idx":0,"page":2} as the old code recorded it decodes to this

	flaky.pages = nil
	r, _, err := runGather(t, a, gatherInput(), old)
	require.NoError(t, err)
	require.Equal(t, []string{"paid/1", "paid/2", "cancelled/1", "failed/1"}, flaky.pages)
	require.Equal(t, l.want, names(r))
}

// TestGatherRespectsTheRate: at 20 requests/s, n PortOne requests take at least (n-1)/20 s.
func TestGatherRespectsTheRate(t *testing.T) {
	l := seedLedger(t, 0)
	in := gatherInput()
	in.Rate = 20
	start := time.Now()
	r, _, err := runGather(t, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs}, in)
	require.NoError(t, err)
	elapsed := time.Since(start)
	require.GreaterOrEqual(t, r.Requests, 6)
	require.GreaterOrEqual(t, elapsed, time.Duration(r.Requests-1)*time.Second/20, "%d requests in %s", r.Requests, elapsed)
	t.Logf("%d PortOne requests in %s at 20/s", r.Requests, elapsed)
}

// TestGatherIgnoresALivenessOnlyHeartbeat: a retry after an oversized (liveness-only) heartbeat,
// or after one for another window, starts afresh and still finds everything.
func TestGatherIgnoresALivenessOnlyHeartbeat(t *testing.T) {
	l := seedLedger(t, 10)
	for _, saved := range []progress{
		{Phase: phaseLookups, Oversized: true},
		{Phase: phaseDone, Snap: snapshot{From: asOf, To: asOf.Add(time.Hour)}},
	} {
		l.subs.calls = 0
		r, _, err := runGather(t, &Activities{Gateway: portonev1.New(l.b.c), Subscriptions: l.subs}, gatherInput(), saved)
		require.NoError(t, err)
		require.Equal(t, l.want, names(r))
		require.Equal(t, 10+8, l.subs.calls, "every subscription read again")
	}
}
