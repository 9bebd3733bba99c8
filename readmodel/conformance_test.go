package readmodel_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/readmodel"
)

// conformance runs what both databases must do alike: migrations applied once, concurrent
// noisy delivery equal to in-order delivery, every query equal to SQLite's answers, rebuild.
// newDSN names a fresh, empty database.
func conformance(t *testing.T, newDSN func(t *testing.T) string) {
	ctx := context.Background()
	// open returns a store on a fresh database, and its DSN (to open it again).
	open := func(t *testing.T) (*readmodel.Store, string) {
		dsn := newDSN(t)
		s, err := readmodel.Open(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s, dsn
	}
	ref := openSQLite(t)
	applyAll(t, ref, flat(mixedFeed()))

	t.Run("migrations once", func(t *testing.T) {
		s, dsn := open(t)
		require.NoError(t, s.Close())
		for range 2 {
			again, err := readmodel.Open(ctx, dsn)
			require.NoError(t, err)
			v, err := again.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, 3, v)
			require.NoError(t, again.Close())
		}
	})

	// Replicas of the console start together on a fresh database (a Deployment's rollout):
	// each Open migrates or waits for the one that does, none fails.
	t.Run("concurrent opens migrate once", func(t *testing.T) {
		for round := range 5 {
			dsn := newDSN(t)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Go(func() {
					s, err := readmodel.Open(ctx, dsn)
					if err != nil {
						errs <- err
						return
					}
					v, err := s.SchemaVersion(ctx)
					if err == nil && v != 3 {
						err = fmt.Errorf("schema version %d", v)
					}
					errs <- errors.Join(err, s.Close())
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err, "round %d", round)
			}
		}
	})

	t.Run("concurrent noisy delivery equals in order", func(t *testing.T) {
		inOrder, _ := open(t)
		applyAll(t, inOrder, flat(mixedFeed()))
		require.Equal(t, dump(t, ref), dump(t, inOrder), "the same tables as SQLite's")
		noisy, _ := open(t)
		seed := time.Now().UnixNano()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(uint64(seed), 2))
		var evs []billing.MerchantEvent
		for _, e := range flat(mixedFeed()) {
			for range 1 + rng.IntN(3) {
				evs = append(evs, e)
			}
		}
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(len(evs)) {
						return
					}
					if _, err := noisy.Accept(ctx, evs[i]); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Empty(t, diffDumps(dump(t, inOrder), dump(t, noisy)))
	})

	t.Run("queries answer as SQLite does", func(t *testing.T) {
		s, _ := open(t)
		applyAll(t, s, flat(mixedFeed()))
		for _, now := range []time.Time{t0, t0.Add(11 * day), t0.Add(41 * day)} {
			want, err := ref.Overview(ctx, now)
			require.NoError(t, err)
			got, err := s.Overview(ctx, now)
			require.NoError(t, err)
			want.Lag, got.Lag = readmodel.Lag{}, readmodel.Lag{}
			require.Equal(t, want, got)
			wu, err := ref.Upcoming(ctx, now, 40)
			require.NoError(t, err)
			gu, err := s.Upcoming(ctx, now, 40)
			require.NoError(t, err)
			require.Equal(t, wu, gu)
			wg, err := ref.Gauges(ctx, now)
			require.NoError(t, err)
			gg, err := s.Gauges(ctx, now)
			require.NoError(t, err)
			wg.Lag, gg.Lag = 0, 0
			require.Equal(t, wg, gg)
		}
		wr, err := ref.Revenue(ctx, "2026-01", "2026-12")
		require.NoError(t, err)
		gr, err := s.Revenue(ctx, "2026-01", "2026-12")
		require.NoError(t, err)
		require.Equal(t, wr, gr)
		for _, id := range []string{"sub-renewed", "sub-lost", "sub-refunded"} {
			w, err := ref.Subscription(ctx, id)
			require.NoError(t, err)
			g, err := s.Subscription(ctx, id)
			require.NoError(t, err)
			require.Equal(t, w, g)
			we, wn, err := ref.Events(ctx, id, readmodel.Page{Sort: "seq"})
			require.NoError(t, err)
			ge, gn, err := s.Events(ctx, id, readmodel.Page{Sort: "seq"})
			require.NoError(t, err)
			require.Equal(t, wn, gn)
			for i := range we {
				we[i].ReceivedAt, we[i].AppliedAt, ge[i].ReceivedAt, ge[i].AppliedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			}
			require.Equal(t, we, ge)
		}
		_, err = s.Subscription(ctx, "nobody")
		require.ErrorIs(t, err, readmodel.ErrNotFound)
		for _, q := range readmodel.Queues {
			for _, key := range readmodel.SortKeys {
				p := readmodel.Page{Limit: 2, Sort: key, Desc: true}
				w, wn, err := ref.Queue(ctx, q, p)
				require.NoError(t, err)
				g, gn, err := s.Queue(ctx, q, p)
				require.NoError(t, err)
				require.Equal(t, wn, gn)
				require.Equal(t, w, g, "%s by %s", q, key)
			}
		}
	})

	t.Run("compare and the attention queue answer as SQLite does", func(t *testing.T) {
		s, _ := open(t)
		ref2 := openSQLite(t)
		x := newSub("sub-att", t0, "Basic", 9900, "1 month")
		x.start(t0.Add(30 * day))
		x.advance(time.Hour).emit(billing.EventNeedsAttention, billing.EventData{Attention: &billing.Attention{
			Kind: billing.AttentionUnknownOutcome, Detail: "sub-att_1_1 (9900 KRW): timeout", MarkedAt: t0.Add(time.Hour)}}, nil)
		seeded := stateOf(newSub("sub-seed", t0, "Pro", 19900, "1 month"))
		seeded.Status, seeded.EventSeq = billing.StatusActive, 7
		seeded.Charges = []billing.ChargeRecord{{Cycle: 1, Attempt: 1, Amount: 19900, Outcome: billing.OutcomePaid, At: t0}}
		for _, st := range []*readmodel.Store{ref2, s} {
			applyAll(t, st, x.out)
			require.NoError(t, st.ApplyState(ctx, seeded, t0.Add(2*time.Hour)))
		}
		wq, wn, err := ref2.Queue(ctx, readmodel.NeedsAttention, readmodel.Page{})
		require.NoError(t, err)
		gq, gn, err := s.Queue(ctx, readmodel.NeedsAttention, readmodel.Page{})
		require.NoError(t, err)
		require.Equal(t, 1, wn)
		require.Equal(t, wn, gn)
		require.Equal(t, wq, gq)
		xs := stateOf(x)
		xs.Attention = &billing.Attention{Kind: billing.AttentionUnknownOutcome}
		xs.Charges = []billing.ChargeRecord{{Cycle: 1, Attempt: 1, Amount: 12900, Outcome: billing.OutcomePaid, At: t0}}
		for _, tc := range []struct {
			id string
			st billing.State
		}{{x.id, xs}, {"sub-seed", seeded}} {
			want, err := ref2.Compare(ctx, tc.id, tc.st)
			require.NoError(t, err)
			got, err := s.Compare(ctx, tc.id, tc.st)
			require.NoError(t, err)
			require.Equal(t, want, got, tc.id)
		}
		got, err := s.Compare(ctx, x.id, xs)
		require.NoError(t, err)
		require.Contains(t, got, readmodel.Difference{Field: "total_paid", Projection: "9900", Workflow: "12900"}, "money compared: the stream from its first event")
		got, err = s.Compare(ctx, "sub-seed", seeded)
		require.NoError(t, err)
		require.Empty(t, got, "a seeded row's money before the seed is not compared")
	})

	t.Run("rebuild", func(t *testing.T) {
		s, _ := open(t)
		applyAll(t, s, flat(mixedFeed())[:5])
		require.NoError(t, s.Rebuild(ctx, readmodel.Source{Events: seq(flat(mixedFeed()))}))
		require.Equal(t, dump(t, ref), dump(t, s))
	})
}

// TestConformanceSQLite runs the conformance suite on SQLite (against itself: the reference
// for the other database).
func TestConformanceSQLite(t *testing.T) {
	n := 0
	conformance(t, func(t *testing.T) string {
		n++
		return fmt.Sprintf("sqlite:%s/c%d.db", t.TempDir(), n)
	})
}

// TestConformancePostgreSQL runs the conformance suite on a real PostgreSQL 15, started on
// loopback as the cluster test starts it, one database per subtest.
func TestConformancePostgreSQL(t *testing.T) {
	testgate.Slow(t, "starts PostgreSQL 15")
	if _, err := cluster.FindPostgresBin(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	pg, err := cluster.StartPostgres(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, pg.Stop()) }()
	n := 0
	conformance(t, func(t *testing.T) string {
		n++
		dsn, err := pg.CreateDatabase(ctx, fmt.Sprintf("readmodel_%d", n))
		require.NoError(t, err)
		return dsn
	})
	_, err = readmodel.Open(ctx, "postgres://"+pg.User+":wrong-password-123@"+pg.Addr()+"/postgres?sslmode=disable")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "wrong-password-123", "the password never reaches an error")
}
