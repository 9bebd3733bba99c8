package readmodel

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// Source is what a rebuild projects: events (any order; duplicates are dropped) and, after
// them, workflow states (each applied as ApplyState does, read at StatesAt).
type Source struct {
	Events   iter.Seq2[billing.MerchantEvent, error]
	States   iter.Seq2[billing.State, error]
	StatesAt time.Time
}

// projectionTables are emptied by a rebuild (schema_version stays).
var projectionTables = []string{"subscriptions", "events", "ledger", "revenue_months", "mrr_changes", "dunning"}

// Rebuild empties the projection and projects src again, in one transaction: readers see the
// old projection until it commits, and a failed rebuild leaves the old one in place. Rebuilt
// events count as applied at their own time (no lag). Live deliveries wait for it (SQLite's
// busy timeout, PostgreSQL's locks) or are refused and retried by the outbox.
func (s *Store) Rebuild(ctx context.Context, src Source) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range projectionTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return err
			}
		}
		if src.Events != nil {
			for e, err := range src.Events {
				if err != nil {
					return err
				}
				stream, d, err := validate(e)
				if err != nil {
					return err
				}
				if err := s.lock(ctx, tx, e.SubscriptionID); err != nil {
					return err
				}
				if _, err := s.acceptAt(ctx, tx, e, stream, d, e.Timestamp); err != nil {
					return fmt.Errorf("%s: %w", e.ID, err)
				}
			}
		}
		if src.States != nil {
			for st, err := range src.States {
				if err != nil {
					return err
				}
				if err := s.applyStateTx(ctx, tx, st, src.StatesAt); err != nil {
					return fmt.Errorf("state of %s: %w", st.SubscriptionID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("readmodel: rebuild: %w", err)
	}
	return nil
}

// EventsOf yields the events of outbox delivery records (webhooks.OutboxState.Deliveries, the
// deliveries query's answer): a rebuild's event source. An outbox keeps its latest
// webhooks.MaxDeliveries events; a subscription whose earlier ones were dropped needs its
// workflow state too (Source.States).
func EventsOf(outboxes ...webhooks.OutboxState) iter.Seq2[billing.MerchantEvent, error] {
	return func(yield func(billing.MerchantEvent, error) bool) {
		for _, o := range outboxes {
			for _, d := range o.Deliveries {
				if !yield(d.Event, nil) {
					return
				}
			}
		}
	}
}
