package readmodel

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/paycycle/paycycle/billing"
)

// kst is Korea's offset: fixed (no daylight saving since 1988), so a KST day is plain integer
// arithmetic on Unix nanoseconds in SQL, the same on both databases.
const kst = 9 * time.Hour

// dayNS is a day in nanoseconds.
const dayNS = int64(24 * time.Hour)

// liveCharging is the condition of the statuses in which a charge can still come. On SQLite the
// unary + keeps the planner, which has no statistics on a fresh database, from choosing the
// status index over the covering index on the next charge (a week's charges of 100,000
// subscriptions: 0.2 s against 1 ms).
func (s *Store) liveCharging() string {
	if s.dialect == sqlite {
		return `+status IN ('active', 'past_due', 'payment_method_required')`
	}
	return `status IN ('active', 'past_due', 'payment_method_required')`
}

// Overview answers the console's overview as of now.
func (s *Store) Overview(ctx context.Context, now time.Time) (Overview, error) {
	var o Overview
	var err error
	if o.ByStatus, o.Total, err = s.byStatus(ctx); err != nil {
		return o, err
	}
	o.Active = o.ByStatus[billing.StatusActive]
	since, nowNS := ns(now.Add(-30*24*time.Hour)), ns(now)
	err = s.db.QueryRowContext(ctx, s.q(`SELECT
		(SELECT COALESCE(SUM(mrr), 0) FROM subscriptions),
		(SELECT COALESCE(SUM(delta), 0) FROM mrr_changes WHERE at <= ?),
		(SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind <> 'refund' AND at > ? AND at <= ?),
		(SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE kind = 'refund' AND at > ? AND at <= ?),
		(SELECT COUNT(*) FROM dunning WHERE ended_at > ? AND ended_at <= ? AND outcome = 'recovered'),
		(SELECT COUNT(*) FROM dunning WHERE ended_at > ? AND ended_at <= ? AND outcome NOT IN ('recovered', 'open')),
		(SELECT COUNT(*) FROM subscriptions WHERE consent_status = 'required' AND status NOT IN ('canceled', 'expired')),
		(SELECT COUNT(*) FROM subscriptions WHERE attention_kind > '')`),
		since, since, nowNS, since, nowNS, since, nowNS, since, nowNS).Scan(
		&o.MRR, &o.MRR30DaysAgo, &o.Charged30d, &o.Refunded30d, &o.DunningRecovered30d, &o.DunningLost30d, &o.ConsentPending, &o.NeedsAttention)
	if err != nil {
		return o, fmt.Errorf("readmodel: overview: %w", err)
	}
	o.Net30d = o.Charged30d - o.Refunded30d
	if o.Gaps, err = s.gaps(ctx); err != nil {
		return o, err
	}
	o.Lag, err = s.lag(ctx, now)
	return o, err
}

func (s *Store) byStatus(ctx context.Context) (map[billing.Status]int, int, error) {
	out := map[billing.Status]int{}
	for _, st := range billing.AllStatuses {
		out[st] = 0
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM subscriptions GROUP BY status`)
	if err != nil {
		return nil, 0, fmt.Errorf("readmodel: count by status: %w", err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, 0, err
		}
		out[billing.Status(st)] += n
		total += n
	}
	return out, total, rows.Err()
}

func (s *Store) gaps(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT subscription_id) FROM events WHERE applied_at = 0`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("readmodel: count gaps: %w", err)
	}
	return n, nil
}

// lag measures the latest applied event and the hour before now.
func (s *Store) lag(ctx context.Context, now time.Time) (Lag, error) {
	var l Lag
	var applied, ts int64
	err := s.db.QueryRowContext(ctx, `SELECT applied_at, ts FROM events WHERE applied_at > 0 ORDER BY applied_at DESC LIMIT 1`).Scan(&applied, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("readmodel: lag: %w", err)
	}
	l.Last, l.LastAppliedAt = time.Duration(max(0, applied-ts)), tm(applied)
	var maxLag int64
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(applied_at - ts), 0), COUNT(*) FROM events WHERE applied_at > ? AND applied_at <= ?`),
		ns(now.Add(-time.Hour)), ns(now)).Scan(&maxLag, &l.Events); err != nil {
		return l, fmt.Errorf("readmodel: lag: %w", err)
	}
	l.Max = time.Duration(max(0, maxLag))
	return l, nil
}

// Upcoming lists the charges due from from on, over days KST days (the day of from first), by
// day; days without a charge are listed with zero. A charge due is a live subscription's next
// charge (a dunning retry included) at its NextChargeAmount.
func (s *Store) Upcoming(ctx context.Context, from time.Time, days int) ([]UpcomingDay, error) {
	if days < 1 || days > 366 {
		return nil, fmt.Errorf("readmodel: upcoming: days must be 1..366, got %d", days)
	}
	first := (ns(from) + int64(kst)) / dayNS // the KST day number of from
	end := (first+int64(days))*dayNS - int64(kst)
	// The KST day number is a constant expression (PostgreSQL groups by an expression only when
	// the select list has the very same one, parameters included).
	dayExpr := fmt.Sprintf("(next_charge_at + %d) / %d", int64(kst), dayNS)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+dayExpr+`, COUNT(*), COALESCE(SUM(next_charge_amount), 0) FROM subscriptions
		WHERE `+s.liveCharging()+` AND next_charge_at >= ? AND next_charge_at < ? GROUP BY `+dayExpr),
		ns(from), end)
	if err != nil {
		return nil, fmt.Errorf("readmodel: upcoming: %w", err)
	}
	defer rows.Close()
	out := make([]UpcomingDay, days)
	for i := range out {
		out[i].Day = time.Unix(0, (first+int64(i))*dayNS).UTC().Format(time.DateOnly)
	}
	for rows.Next() {
		var day int64
		var d UpcomingDay
		if err := rows.Scan(&day, &d.Charges, &d.Amount); err != nil {
			return nil, err
		}
		if i := day - first; i >= 0 && i < int64(days) {
			out[i].Charges, out[i].Amount = d.Charges, d.Amount
		}
	}
	return out, rows.Err()
}

// DueWithin lists the live subscriptions whose next charge falls in [now, now+d), soonest
// first, with the cycle it is for: the question the per-cycle search attributes answer.
func (s *Store) DueWithin(ctx context.Context, now time.Time, d time.Duration) ([]Due, error) {
	return s.dueWithin(ctx, now, d, 0)
}

// DueWithinFirst is DueWithin's first n charges (1..MaxLimit) and how many there are in all, for
// a page: a bill day of a large book has thousands.
func (s *Store) DueWithinFirst(ctx context.Context, now time.Time, d time.Duration, n int) ([]Due, int, error) {
	if n < 1 || n > MaxLimit {
		return nil, 0, fmt.Errorf("readmodel: due within: n must be 1..%d, got %d", MaxLimit, n)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM subscriptions WHERE `+s.liveCharging()+` AND next_charge_at >= ? AND next_charge_at < ?`),
		ns(now), ns(now.Add(d))).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("readmodel: due within: %w", err)
	}
	due, err := s.dueWithin(ctx, now, d, n)
	return due, total, err
}

func (s *Store) dueWithin(ctx context.Context, now time.Time, d time.Duration, limit int) ([]Due, error) {
	query := `SELECT subscription_id, next_charge_at, cycle, dunning_cycle, next_charge_amount, status FROM subscriptions
		WHERE ` + s.liveCharging() + ` AND next_charge_at >= ? AND next_charge_at < ? ORDER BY next_charge_at, subscription_id` + s.collateC()
	args := []any{ns(now), ns(now.Add(d))}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("readmodel: due within: %w", err)
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var (
			x           Due
			at          int64
			cycle, dcyc int
			status      string
		)
		if err := rows.Scan(&x.SubscriptionID, &at, &cycle, &dcyc, &x.Amount, &status); err != nil {
			return nil, err
		}
		x.At, x.Status, x.Cycle = tm(at), billing.Status(status), cycle+1
		if dcyc != 0 {
			x.Cycle = dcyc // a dunning retry charges the unpaid cycle
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// Gauges answers the stock gauges as of now.
func (s *Store) Gauges(ctx context.Context, now time.Time) (Gauges, error) {
	var g Gauges
	var err error
	if g.ByStatus, _, err = s.byStatus(ctx); err != nil {
		return g, err
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT (SELECT COALESCE(SUM(mrr), 0) FROM subscriptions),
		(SELECT COUNT(*) FROM subscriptions WHERE `+s.liveCharging()+` AND next_charge_at >= ? AND next_charge_at < ?),
		(SELECT COALESCE(SUM(next_charge_amount), 0) FROM subscriptions WHERE `+s.liveCharging()+` AND next_charge_at >= ? AND next_charge_at < ?)`),
		ns(now), ns(now.Add(24*time.Hour)), ns(now), ns(now.Add(24*time.Hour))).Scan(&g.MRR, &g.DueNext24h, &g.DueNext24hAmount); err != nil {
		return g, fmt.Errorf("readmodel: gauges: %w", err)
	}
	if g.Gaps, err = s.gaps(ctx); err != nil {
		return g, err
	}
	l, err := s.lag(ctx, now)
	g.Lag = l.Last
	return g, err
}

// queueWhere is each queue's condition and the column its "since" sort key means.
var queueWhere = map[Queue]struct{ where, since string }{
	PastDue:               {`status = 'past_due'`, "past_due_since"},
	PaymentMethodRequired: {`status = 'payment_method_required'`, "past_due_since"},
	NeedsAttention:        {`attention_kind > ''`, "attention_at"},
	ConsentPending:        {`consent_status = 'required' AND status NOT IN ('canceled', 'expired')`, "consent_deadline"},
}

// sortColumns maps the sort keys to columns ("since" is the queue's own).
var sortColumns = map[string]string{
	"subscription_id": "subscription_id", "status": "status", "plan": "plan_name", "price": "price", "mrr": "mrr",
	"next_charge_at": "next_charge_at", "next_retry_at": "dunning_next_retry_at", "decline_reason": "last_decline_reason",
	"consent_deadline": "consent_deadline", "attention_at": "attention_at", "updated_at": "updated_at",
}

// textColumns are the sort columns holding text. On PostgreSQL they sort COLLATE "C", byte
// order as SQLite's: a production database takes the server's locale (en-US, ko-KR), whose
// linguistic order ignores case and punctuation, so the console's lists and pages would differ
// from SQLite's.
var textColumns = map[string]bool{"subscription_id": true, "status": true, "plan_name": true, "last_decline_reason": true}

// clause validates a page and returns its ORDER BY, LIMIT and OFFSET; collate follows every
// text column (` COLLATE "C"` on PostgreSQL).
func (p Page) clause(since, collate string) (string, error) {
	key := p.Sort
	if key == "" {
		key = SortKeys[0]
	}
	col := sortColumns[key]
	if key == "since" {
		col = since
	}
	if col == "" {
		return "", fmt.Errorf("readmodel: page: sort must be one of %v, got %q", SortKeys, p.Sort)
	}
	limit, err := p.limit()
	if err != nil {
		return "", err
	}
	dir := "ASC"
	if p.Desc {
		dir = "DESC"
	}
	if textColumns[col] {
		col += collate
	}
	return fmt.Sprintf(" ORDER BY %s %s, subscription_id%s %s LIMIT %d OFFSET %d", col, dir, collate, dir, limit, p.Offset), nil
}

func (p Page) limit() (int, error) {
	switch {
	case p.Offset < 0:
		return 0, fmt.Errorf("readmodel: page: offset must not be negative, got %d", p.Offset)
	case p.Limit == 0:
		return DefaultLimit, nil
	case p.Limit < 0 || p.Limit > MaxLimit:
		return 0, fmt.Errorf("readmodel: page: limit must be 1..%d, got %d", MaxLimit, p.Limit)
	}
	return p.Limit, nil
}

// collateC is what follows a text column in ORDER BY so that it sorts in byte order, as on
// SQLite (see textColumns).
func (s *Store) collateC() string {
	if s.dialect == postgres {
		return ` COLLATE "C"`
	}
	return ""
}

// Queue returns one page of a queue and the queue's total length.
func (s *Store) Queue(ctx context.Context, q Queue, p Page) ([]Row, int, error) {
	qw, ok := queueWhere[q]
	if !ok {
		return nil, 0, fmt.Errorf("readmodel: queue must be one of %v, got %q", Queues, q)
	}
	clause, err := p.clause(qw.since, s.collateC())
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE `+qw.where).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("readmodel: queue %s: %w", q, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+rowColumns+` FROM subscriptions WHERE `+qw.where+clause)
	if err != nil {
		return nil, 0, fmt.Errorf("readmodel: queue %s: %w", q, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r.Row)
	}
	return out, total, rows.Err()
}

// Subscription returns one subscription's row, or ErrNotFound.
func (s *Store) Subscription(ctx context.Context, id string) (Row, error) {
	r, found, err := s.loadRow(ctx, s.db, id)
	switch {
	case err != nil:
		return Row{}, fmt.Errorf("readmodel: subscription %s: %w", id, err)
	case !found:
		return Row{}, ErrNotFound
	}
	return r.Row, nil
}

// Events returns one page of a subscription's received events, newest first (p.Sort "seq" or
// "timestamp"; Desc is ignored for the default), and their total, every incarnation included.
func (s *Store) Events(ctx context.Context, id string, p Page) ([]EventRow, int, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, 0, err
	}
	order := "ts DESC, seq DESC"
	switch p.Sort {
	case "":
	case "seq", "timestamp":
		dir := "ASC"
		if p.Desc {
			dir = "DESC"
		}
		order = fmt.Sprintf("ts %s, seq %s", dir, dir)
		if p.Sort == "seq" {
			order = fmt.Sprintf("seq %s, ts %s", dir, dir)
		}
	default:
		return nil, 0, fmt.Errorf(`readmodel: events page: sort must be "seq" or "timestamp", got %q`, p.Sort)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events WHERE subscription_id = ?`), id).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("readmodel: events of %s: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT stream, seq, event_id, type, ts, received_at, applied_at, data FROM events
		WHERE subscription_id = ? ORDER BY %s LIMIT %d OFFSET %d`, order, limit, p.Offset)), id)
	if err != nil {
		return nil, 0, fmt.Errorf("readmodel: events of %s: %w", id, err)
	}
	defer rows.Close()
	out := []EventRow{}
	for rows.Next() {
		e := EventRow{SubscriptionID: id}
		var typ, data string
		var ts, recv, applied int64
		if err := rows.Scan(&e.Stream, &e.Seq, &e.ID, &typ, &ts, &recv, &applied, &data); err != nil {
			return nil, 0, err
		}
		e.Type, e.Timestamp, e.ReceivedAt, e.AppliedAt, e.Data = billing.EventType(typ), tm(ts), tm(recv), tm(applied), []byte(data)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// parseMonth reads YYYY-MM.
func parseMonth(field, m string) (time.Time, error) {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return t, fmt.Errorf("readmodel: revenue: %s must be a month YYYY-MM, got %q", field, m)
	}
	return t, nil
}

// Revenue returns the KST months from..to (YYYY-MM, both included, at most 120), every month
// listed even without money.
func (s *Store) Revenue(ctx context.Context, from, to string) ([]RevenueMonth, error) {
	f, err := parseMonth("from", from)
	if err != nil {
		return nil, err
	}
	t, err := parseMonth("to", to)
	if err != nil {
		return nil, err
	}
	if t.Before(f) || t.After(f.AddDate(0, 119, 0)) {
		return nil, fmt.Errorf("readmodel: revenue: to must be from..from+119 months, got %s..%s", from, to)
	}
	var out []RevenueMonth
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		out = append(out, RevenueMonth{Month: m.Format("2006-01")})
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT month, gross, refunds, tax_free_gross, tax_free_refunds, charges, refund_count FROM revenue_months
		WHERE month >= ? AND month <= ?`), from, to)
	if err != nil {
		return nil, fmt.Errorf("readmodel: revenue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m RevenueMonth
		var tfGross, tfRefunds int64
		if err := rows.Scan(&m.Month, &m.Gross, &m.Refunds, &tfGross, &tfRefunds, &m.Charges, &m.RefundCount); err != nil {
			return nil, err
		}
		m.Net, m.TaxFree = m.Gross-m.Refunds, tfGross-tfRefunds
		m.Taxable = m.Net - m.TaxFree
		if i := slices.IndexFunc(out, func(x RevenueMonth) bool { return x.Month == m.Month }); i >= 0 {
			out[i] = m
		}
	}
	return out, rows.Err()
}

// RevenueCSVHeader is the CSV's header row.
var RevenueCSVHeader = []string{"month", "gross_krw", "refunds_krw", "net_krw", "taxable_krw", "tax_free_krw", "charges", "refunds"}

// WriteRevenueCSV writes months as CSV with a header row (RevenueCSVHeader), amounts in whole
// KRW.
func WriteRevenueCSV(w io.Writer, months []RevenueMonth) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(RevenueCSVHeader); err != nil {
		return err
	}
	for _, m := range months {
		i := func(v int64) string { return strconv.FormatInt(v, 10) }
		if err := cw.Write([]string{m.Month, i(m.Gross), i(m.Refunds), i(m.Net), i(m.Taxable), i(m.TaxFree),
			strconv.Itoa(m.Charges), strconv.Itoa(m.RefundCount)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
