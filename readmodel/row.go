package readmodel

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
)

// rowColumns are the subscriptions table's columns in the order scanRow and writeRow use.
const rowColumns = `subscription_id, stream, last_seq, status, status_reason, plan_name, plan_code, price, currency,
	interval_unit, interval_count, mrr, cycle, next_charge_at, next_charge_amount, announced_at, announced_amount,
	paid_through, cancel_at_period_end, customer_uid_masked, last_charge_at, last_charge_amount, last_charge_outcome,
	last_decline_reason, dunning_cycle, dunning_attempts, dunning_next_retry_at, dunning_grace_ends_at, dunning_hard,
	past_due_since, consent_status, consent_deadline, consent_amount_after, consent_why, attention_kind,
	attention_finding, attention_detail, attention_at, total_paid, total_refunded, total_tax_free, started_at, updated_at`

// row is a Row with the bookkeeping that only the projection needs.
type row struct {
	Row
	// announcedAt and announcedAmount are the latest renewal notice's charge instant and amount.
	announcedAt     time.Time
	announcedAmount int64
}

// ns is a time as stored: Unix nanoseconds, 0 for the zero time.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// tm is a stored time back (UTC).
func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRow(sc scanner) (row, error) {
	var (
		r                                                                          row
		status, unit, outcome, consent                                             string
		next, announced, paid, lastAt, retry, grace, since, deadline, attAt, start int64
		updated                                                                    int64
		cancel, hard                                                               int
	)
	err := sc.Scan(&r.SubscriptionID, &r.Stream, &r.LastSeq, &status, &r.StatusReason, &r.PlanName, &r.PlanCode, &r.Price, &r.Currency,
		&unit, &r.IntervalCount, &r.MRR, &r.Cycle, &next, &r.NextChargeAmount, &announced, &r.announcedAmount,
		&paid, &cancel, &r.CustomerUIDMasked, &lastAt, &r.LastChargeAmount, &outcome,
		&r.LastDeclineReason, &r.DunningCycle, &r.DunningAttempts, &retry, &grace, &hard,
		&since, &consent, &deadline, &r.ConsentAmountAfter, &r.ConsentWhy, &r.AttentionKind,
		&r.AttentionFinding, &r.AttentionDetail, &attAt, &r.TotalPaid, &r.TotalRefunded, &r.TotalTaxFree, &start, &updated)
	if err != nil {
		return row{}, err
	}
	r.Status, r.IntervalUnit, r.LastChargeOutcome, r.ConsentStatus = billing.Status(status), calendar.Unit(unit), billing.Outcome(outcome), billing.ConsentStatus(consent)
	r.NextChargeAt, r.announcedAt, r.PaidThrough, r.LastChargeAt = tm(next), tm(announced), tm(paid), tm(lastAt)
	r.DunningNextRetryAt, r.DunningGraceEndsAt, r.PastDueSince, r.ConsentDeadline = tm(retry), tm(grace), tm(since), tm(deadline)
	r.AttentionAt, r.StartedAt, r.UpdatedAt = tm(attAt), tm(start), tm(updated)
	r.CancelAtPeriodEnd, r.DunningHard = cancel != 0, hard != 0
	return r, nil
}

func (r *row) values() []any {
	return []any{r.SubscriptionID, r.Stream, r.LastSeq, string(r.Status), r.StatusReason, r.PlanName, r.PlanCode, r.Price, r.Currency,
		string(r.IntervalUnit), r.IntervalCount, r.MRR, r.Cycle, ns(r.NextChargeAt), r.NextChargeAmount, ns(r.announcedAt), r.announcedAmount,
		ns(r.PaidThrough), b2i(r.CancelAtPeriodEnd), r.CustomerUIDMasked, ns(r.LastChargeAt), r.LastChargeAmount, string(r.LastChargeOutcome),
		r.LastDeclineReason, r.DunningCycle, r.DunningAttempts, ns(r.DunningNextRetryAt), ns(r.DunningGraceEndsAt), b2i(r.DunningHard),
		ns(r.PastDueSince), string(r.ConsentStatus), ns(r.ConsentDeadline), r.ConsentAmountAfter, r.ConsentWhy, r.AttentionKind,
		r.AttentionFinding, r.AttentionDetail, ns(r.AttentionAt), r.TotalPaid, r.TotalRefunded, r.TotalTaxFree, ns(r.StartedAt), ns(r.UpdatedAt)}
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// loadRow reads a subscription's row; found is false when there is none.
func (s *Store) loadRow(ctx context.Context, q querier, id string) (r row, found bool, err error) {
	r, err = scanRow(s.queryRow(ctx, q, sqlLoadRow, id))
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, false, nil
	}
	return r, err == nil, err
}

// writeRow inserts or replaces a subscription's row.
func (s *Store) writeRow(ctx context.Context, q querier, r *row) error {
	_, err := s.exec(ctx, q, upsertRow, r.values()...)
	return err
}

// upsertRow writes every column of a row, inserting it or replacing the one there.
var upsertRow = func() string {
	cols := strings.Split(strings.Join(strings.Fields(rowColumns), ""), ",")
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	set := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		set = append(set, c+" = excluded."+c)
	}
	return `INSERT INTO subscriptions (` + strings.Join(cols, ", ") + `) VALUES (` + marks + `) ON CONFLICT (subscription_id) DO UPDATE SET ` + strings.Join(set, ", ")
}()
