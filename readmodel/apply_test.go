package readmodel_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/readmodel"
)

var t0 = time.Date(2026, 3, 31, 16, 0, 0, 0, time.UTC) // 2026-04-01 01:00 KST

// mixedFeed is a few subscriptions' streams: renewed, declined and recovered, declined and
// canceled while past due, canceled with a refund in a later month, yearly and weekly plans.
func mixedFeed() [][]billing.MerchantEvent {
	month := 30 * 24 * time.Hour
	a := newSub("sub-renewed", t0, "Basic", 9900, "1 month")
	a.start(t0.Add(month))
	a.advance(month).paid(t0.Add(2 * month))

	b := newSub("sub-recovered", t0.Add(time.Hour), "Pro", 19900, "1 month")
	b.start(t0.Add(month))
	b.advance(month).declined(t0.Add(month+24*time.Hour), "잔액부족")
	b.advance(24 * time.Hour).recovered(t0.Add(2 * month))

	c := newSub("sub-lost", t0.Add(2*time.Hour), "Pro", 19900, "1 month")
	c.start(t0.Add(month))
	c.advance(month).declined(t0.Add(month+24*time.Hour), "한도초과")
	c.advance(time.Hour).canceled("customer")

	d := newSub("sub-refunded", t0.Add(3*time.Hour), "Yearly", 120000, "1 year")
	d.start(t0.Add(365 * 24 * time.Hour))
	d.advance(40*24*time.Hour).refunded(1, 30000, "imp_sub-refunded_1")
	d.canceled("refunded")

	e := newSub("sub-weekly", t0.Add(4*time.Hour), "Weekly", 1000, "1 week")
	e.start(t0.Add(7 * 24 * time.Hour))
	return [][]billing.MerchantEvent{a.out, b.out, c.out, d.out, e.out}
}

func flat(streams [][]billing.MerchantEvent) []billing.MerchantEvent {
	var out []billing.MerchantEvent
	for _, s := range streams {
		out = append(out, s...)
	}
	return out
}

// TestDuplicatesReorderingAndReplayChangeNothing applies the mixed feed in order, then, in a
// second store, shuffled with every event delivered up to three times, then replays it all
// again: both projections are equal, table for table, and the second pass applied nothing.
func TestDuplicatesReorderingAndReplayChangeNothing(t *testing.T) {
	ctx := context.Background()
	feed := flat(mixedFeed())
	want := openSQLite(t)
	applyAll(t, want, feed)

	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var noisy []billing.MerchantEvent
	for _, e := range feed {
		for range 1 + rng.IntN(3) {
			noisy = append(noisy, e)
		}
	}
	rng.Shuffle(len(noisy), func(i, j int) { noisy[i], noisy[j] = noisy[j], noisy[i] })
	got := openSQLite(t)
	counts := map[readmodel.ApplyResult]int{}
	for _, e := range noisy {
		r, err := got.Accept(ctx, e)
		require.NoError(t, err)
		counts[r]++
	}
	require.Equal(t, len(noisy)-len(feed), counts[readmodel.Duplicate], "every extra delivery is a duplicate")
	require.Equal(t, len(feed), counts[readmodel.Applied]+counts[readmodel.Held])
	require.Empty(t, diffDumps(dump(t, want), dump(t, got)))
	require.Equal(t, dump(t, want), dump(t, got))

	before := dump(t, got)
	for _, e := range feed {
		applied, err := got.Apply(ctx, e)
		require.NoError(t, err)
		require.False(t, applied, "replayed %s applied again", e.ID)
	}
	require.Equal(t, before, dump(t, got))
}

// TestGapIsHeldUntilFilled delivers 1, 3, 4 and then 2: 3 and 4 wait (the overview counts the
// gap), and 2 applies all three in order.
func TestGapIsHeldUntilFilled(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-gap", t0, "Basic", 9900, "1 month")
	x.start(t0.Add(30 * 24 * time.Hour))
	x.advance(time.Hour).canceled("customer")
	ev := x.out
	require.Len(t, ev, 4)
	for _, step := range []struct {
		e    billing.MerchantEvent
		want readmodel.ApplyResult
		last int64
		held int
	}{
		{ev[0], readmodel.Applied, 1, 0},
		{ev[2], readmodel.Held, 1, 1},
		{ev[3], readmodel.Held, 1, 1},
		{ev[2], readmodel.Duplicate, 1, 1},
		{ev[1], readmodel.Applied, 4, 0},
	} {
		r, err := s.Accept(ctx, step.e)
		require.NoError(t, err)
		require.Equal(t, step.want, r, "event %d", step.e.Seq)
		row, err := s.Subscription(ctx, "sub-gap")
		require.NoError(t, err)
		require.Equal(t, step.last, row.LastSeq)
		o, err := s.Overview(ctx, t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.Equal(t, step.held, o.Gaps)
	}
	row, err := s.Subscription(ctx, "sub-gap")
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, row.Status)
	require.Equal(t, int64(9900), row.TotalPaid)
}

// TestBadEventsAreRefusedNamingTheField stores nothing for a malformed event.
func TestBadEventsAreRefusedNamingTheField(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	x := newSub("sub-bad", t0, "Basic", 9900, "1 month")
	good := x.emit(billing.EventSubscriptionStarted, billing.EventData{}, nil)
	for _, tc := range []struct {
		name  string
		edit  func(*billing.MerchantEvent)
		field string
	}{
		{"no subscription", func(e *billing.MerchantEvent) { e.SubscriptionID = "" }, "subscription_id"},
		{"sequence 0", func(e *billing.MerchantEvent) { e.Seq = 0 }, "sequence"},
		{"id of another subscription", func(e *billing.MerchantEvent) { e.ID = billing.EventID("other", "ab12", 1) }, "id"},
		{"id of another sequence", func(e *billing.MerchantEvent) { e.ID = billing.EventID("sub-bad", "ab12", 2) }, "id"},
		{"no type", func(e *billing.MerchantEvent) { e.Type = "" }, "type"},
		{"no timestamp", func(e *billing.MerchantEvent) { e.Timestamp = time.Time{} }, "timestamp"},
		{"data not JSON", func(e *billing.MerchantEvent) { e.Data = json.RawMessage(`"x"`) }, "data"},
		{"no status", func(e *billing.MerchantEvent) { e.Data = json.RawMessage(`{"subscription":{}}`) }, "data.subscription.status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			tc.edit(&e)
			_, err := s.Apply(ctx, e)
			var bad *readmodel.BadEventError
			require.True(t, errors.As(err, &bad), "%v", err)
			require.Equal(t, tc.field, bad.Field)
		})
	}
	_, err := s.Subscription(ctx, "sub-bad")
	require.ErrorIs(t, err, readmodel.ErrNotFound)
	n, total, err := s.Events(ctx, "sub-bad", readmodel.Page{})
	require.NoError(t, err)
	require.Empty(t, n)
	require.Zero(t, total)
}

// TestANewIncarnationReplacesTheRow reuses an ID after its end: the new stream starts at 1 and
// replaces the row; a late event of the old stream is recorded but changes the row not.
func TestANewIncarnationReplacesTheRow(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	old := newSub("sub-reused", t0, "Basic", 9900, "1 month")
	old.start(t0.Add(30 * 24 * time.Hour))
	old.advance(time.Hour).canceled("customer")
	late := old.out[len(old.out)-1]
	applyAll(t, s, old.out[:len(old.out)-1])
	fresh := newSub("sub-reused", t0.Add(48*time.Hour), "Pro", 19900, "1 month")
	fresh.tag = "cd34"
	fresh.start(t0.Add(32 * 24 * time.Hour))
	applyAll(t, s, fresh.out)
	r, err := s.Accept(ctx, late)
	require.NoError(t, err)
	require.Equal(t, readmodel.Superseded, r)
	row, err := s.Subscription(ctx, "sub-reused")
	require.NoError(t, err)
	require.Equal(t, "cd34", row.Stream)
	require.Equal(t, "Pro", row.PlanName)
	require.Equal(t, billing.StatusActive, row.Status)
	require.Equal(t, int64(19900), row.MRR)
	o, err := s.Overview(ctx, t0.Add(49*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(19900), o.MRR, "the old incarnation's MRR ended")
	require.Equal(t, int64(9900+19900), o.Charged30d)
}

// TestMonthlyAmount normalises each interval to a month, rounding half up.
func TestMonthlyAmount(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		unit   calendar.Unit
		count  int
		want   int64
	}{
		{9900, calendar.Month, 1, 9900},
		{9900, calendar.Month, 3, 3300},
		{10000, calendar.Month, 3, 3333},  // 3333.33
		{20000, calendar.Month, 3, 6667},  // 6666.67
		{120000, calendar.Year, 1, 10000}, // yearly/12
		{100000, calendar.Year, 1, 8333},  // 8333.33
		{100010, calendar.Year, 1, 8334},  // 8334.17
		{1000, calendar.Week, 1, 4333},    // ×52/12 = 4333.33
		{1000, calendar.Week, 2, 2167},    // 2166.67
		{1000, calendar.Day, 1, 30417},    // ×365/12 = 30416.67
		{6, calendar.Month, 4, 2},         // 1.5 rounds up
		{10, calendar.Second, 30, 876000}, // 10 every 30 s over an average month
		{10, calendar.Minute, 1, 5256000 / 12},
		{9900, calendar.Month, 0, 0},
		{9900, "fortnight", 1, 0},
	} {
		require.Equal(t, tc.want, readmodel.MonthlyAmount(tc.amount, tc.unit, tc.count), "%d every %d %s", tc.amount, tc.count, tc.unit)
	}
}

// TestMigrationsAreIdempotent opens one database twice: the schema version stays the newest.
func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + t.TempDir() + "/m.db"
	for range 2 {
		s, err := readmodel.Open(ctx, dsn)
		require.NoError(t, err)
		v, err := s.SchemaVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, v)
		require.NoError(t, s.Close())
	}
	_, err := readmodel.Open(ctx, "mysql://x")
	require.ErrorContains(t, err, `"sqlite:<path>" or "postgres://…"`)
	for _, dsn := range []string{"sqlite:", "sqlite::memory:", "sqlite:file::memory:?cache=shared"} {
		_, err = readmodel.Open(ctx, dsn)
		require.ErrorContains(t, err, "needs a file path", dsn)
	}
}

// TestV2ChargesWithoutTransactionIDCountOnce: a V2 subscription's charge.succeeded events name
// no imp_uid (PortOne's approval is the whole answer; the transactionId comes later), nor does a
// refund made before the transactionId was learned. Each charge counts once, the refund is
// taken off the payment it came from and not mistaken for a payment no event reported, and
// delivering the stream again changes nothing.
func TestV2ChargesWithoutTransactionIDCountOnce(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	month := 30 * 24 * time.Hour
	v2 := newSub("sub-v2", t0, "Pro", 19900, "1 month")
	v2.answerOnly = true
	v2.start(t0.Add(month))
	v2.advance(month).paid(t0.Add(2 * month))
	v2.advance(time.Hour).refunded(2, 19900, "")
	v2.canceled("refunded")
	applyAll(t, s, v2.out)
	applyAll(t, s, v2.out)
	row, err := s.Subscription(ctx, "sub-v2")
	require.NoError(t, err)
	require.Equal(t, int64(2*19900), row.TotalPaid, "two charges, each once")
	require.Equal(t, int64(19900), row.TotalRefunded)
}
