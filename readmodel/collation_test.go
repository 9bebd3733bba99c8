package readmodel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/cluster"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/readmodel"
)

// TestQueueOrderIgnoresTheServersCollation: a production PostgreSQL database is created with the
// server's locale (ICU or libc, en-US or ko-KR), where case and punctuation sort differently from
// SQLite's byte order; the console's sorted, paged queues must list the same rows in the same
// order on both, whatever the database's collation.
func TestQueueOrderIgnoresTheServersCollation(t *testing.T) {
	testgate.Slow(t, "starts PostgreSQL 15")
	if _, err := cluster.FindPostgresBin(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := cluster.StartPostgres(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, pg.Stop()) }()

	// IDs, plans and decline reasons that differ by case and punctuation: byte order and a
	// linguistic collation disagree on them.
	var feed []billing.MerchantEvent
	ids := []string{"sub-b", "Sub_a", "sub_c", "SUB-d", "sub--e", "sub-A"}
	plans := []string{"basic", "Basic", "pro-plus", "Pro", "_legacy", "pro_max"}
	reasons := []string{"잔액 부족", "limit", "Limit-2", "card_expired", "Card expired", "한도 초과"}
	at := t0
	for i, id := range ids {
		s := newSub(id, at.Add(time.Duration(i)*time.Minute), plans[i], 9900, "1 month")
		s.start(at.AddDate(0, 1, 0))
		s.advance(31*day).declined(at.AddDate(0, 1, 2), reasons[i])
		feed = append(feed, s.out...)
	}
	ref := openSQLite(t)
	applyAll(t, ref, feed)
	for _, icu := range []string{"en-US", "ko-KR"} {
		t.Run(icu, func(t *testing.T) {
			dsn, err := pg.CreateDatabase(ctx, "collation_"+map[string]string{"en-US": "en", "ko-KR": "ko"}[icu],
				fmt.Sprintf("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '%s' LOCALE 'C'", icu))
			require.NoError(t, err)
			s, err := readmodel.Open(ctx, dsn)
			require.NoError(t, err)
			defer s.Close()
			applyAll(t, s, feed)
			for _, key := range []string{"subscription_id", "plan", "decline_reason", "status", "since"} {
				for _, desc := range []bool{false, true} {
					var want, got []string
					for off := 0; off < len(ids); off += 4 {
						p := readmodel.Page{Offset: off, Limit: 4, Sort: key, Desc: desc}
						w, _, err := ref.Queue(ctx, readmodel.PastDue, p)
						require.NoError(t, err)
						g, _, err := s.Queue(ctx, readmodel.PastDue, p)
						require.NoError(t, err)
						for i := range w {
							want = append(want, w[i].SubscriptionID)
						}
						for i := range g {
							got = append(got, g[i].SubscriptionID)
						}
					}
					require.Len(t, want, len(ids))
					require.Equal(t, want, got, "past_due by %s (desc %v) on a database collated %s", key, desc, icu)
				}
			}
			// Every retry falls due at the same instant: ties go by subscription ID.
			now := at.AddDate(0, 1, 1)
			wd, err := ref.DueWithin(ctx, now, 2*day)
			require.NoError(t, err)
			gd, err := s.DueWithin(ctx, now, 2*day)
			require.NoError(t, err)
			require.Len(t, wd, len(ids))
			require.Equal(t, wd, gd, "due within on a database collated %s", icu)
		})
	}
}
