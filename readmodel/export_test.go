package readmodel

import (
	"context"
	"fmt"
	"strings"
)

// dumpQueries read every projection table in key order, without received_at and applied_at.
var dumpQueries = map[string]string{
	"subscriptions":  `SELECT ` + rowColumns + ` FROM subscriptions ORDER BY subscription_id`,
	"events":         `SELECT subscription_id, stream, seq, event_id, type, ts, data, CASE WHEN applied_at = 0 THEN 1 ELSE 0 END AS held FROM events ORDER BY subscription_id, stream, seq`,
	"ledger":         `SELECT * FROM ledger ORDER BY subscription_id, stream, seq, kind`,
	"revenue_months": `SELECT * FROM revenue_months ORDER BY month`,
	"mrr_changes":    `SELECT * FROM mrr_changes ORDER BY subscription_id, stream, seq`,
	"dunning":        `SELECT * FROM dunning ORDER BY subscription_id, stream, cycle`,
}

// DumpForTest reads every table as text rows, for comparing two projections.
func DumpForTest(ctx context.Context, s *Store) (map[string][]string, error) {
	out := map[string][]string{}
	for table, q := range dumpQueries {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
