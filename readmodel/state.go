package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// ApplyState sets a subscription's row from its workflow's state (the "state" query's answer)
// when the state is at or past the row's last event (st.EventSeq ≥ LastSeq; an older state is
// ignored): the fields no event carries (plan code, attention) come only this way, events held
// behind a gap at or below st.EventSeq stop waiting (their money is still recorded when they
// arrive) and those after it are applied. at is when the state was read. Money (the ledger,
// revenue and totals) comes from events only.
func (s *Store) ApplyState(ctx context.Context, st billing.State, at time.Time) error {
	if err := billing.ValidateSubscriptionID(st.SubscriptionID); err != nil {
		return &BadEventError{Field: "subscription_id", Reason: err.Error()}
	}
	if st.Status == "" {
		return &BadEventError{Field: "status", Reason: "is required"}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lock(ctx, tx, st.SubscriptionID); err != nil {
			return err
		}
		return s.applyStateTx(ctx, tx, st, at)
	})
	if err != nil {
		return fmt.Errorf("readmodel: apply the state of %s: %w", st.SubscriptionID, err)
	}
	return nil
}

func (s *Store) applyStateTx(ctx context.Context, tx *sql.Tx, st billing.State, at time.Time) error {
	r, found, err := s.loadRow(ctx, tx, st.SubscriptionID)
	if err != nil {
		return err
	}
	if found && r.Stream == st.Tag && st.EventSeq < r.LastSeq {
		return nil // older than what the events said
	}
	if !found || r.Stream != st.Tag {
		if found && r.MRR != 0 {
			if err := s.mrrChange(ctx, tx, r.SubscriptionID, r.Stream, -1, at, -r.MRR); err != nil {
				return err
			}
		}
		r = row{Row: Row{SubscriptionID: st.SubscriptionID, Stream: st.Tag, StartedAt: utc(st.StartedAt)}}
	}
	oldMRR, wasCycle := r.MRR, r.DunningCycle
	fromState(&r, st, at)
	if d := st.DunningState; d != nil {
		if _, err := s.exec(ctx, tx, sqlOpenDunning, r.SubscriptionID, r.Stream, d.Cycle, ns(r.PastDueSince)); err != nil {
			return err
		}
	}
	if wasCycle != 0 && r.DunningCycle != wasCycle {
		if _, err := s.exec(ctx, tx, sqlEndDunningByState,
			ns(at), r.SubscriptionID, r.Stream, wasCycle); err != nil {
			return err
		}
	}
	if r.MRR != oldMRR {
		if err := s.mrrChange(ctx, tx, r.SubscriptionID, r.Stream, r.LastSeq, at, r.MRR-oldMRR); err != nil {
			return err
		}
	}
	// Held events the state covers: their money only.
	rows, err := tx.QueryContext(ctx, s.q(`SELECT seq, event_id, type, ts, data FROM events WHERE subscription_id = ? AND stream = ? AND seq <= ? AND applied_at = 0 ORDER BY seq`),
		r.SubscriptionID, r.Stream, r.LastSeq)
	if err != nil {
		return err
	}
	var covered []billing.MerchantEvent
	for rows.Next() {
		e := billing.MerchantEvent{SubscriptionID: r.SubscriptionID}
		var typ, data string
		var ts int64
		if err := rows.Scan(&e.Seq, &e.ID, &typ, &ts, &data); err != nil {
			_ = rows.Close()
			return err
		}
		e.Type, e.Timestamp, e.Data = billing.EventType(typ), tm(ts), json.RawMessage(data)
		covered = append(covered, e)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	now := s.now()
	for _, e := range covered {
		var d eventData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return err
		}
		if err := s.money(ctx, tx, &r, e, d); err != nil {
			return err
		}
		if err := s.markApplied(ctx, tx, r.SubscriptionID, r.Stream, e.Seq, now); err != nil {
			return err
		}
	}
	if err := s.drain(ctx, tx, &r, now); err != nil {
		return err
	}
	return s.writeRow(ctx, tx, &r)
}

// fromState sets the row's fields from a workflow state, as the events would have.
func fromState(r *row, st billing.State, at time.Time) {
	r.LastSeq = max(r.LastSeq, st.EventSeq)
	r.UpdatedAt = at.UTC()
	r.Status, r.StatusReason = st.Status, textfmt.Truncate(st.StatusReason, 200)
	r.PlanName, r.PlanCode, r.Price, r.Currency = st.Plan.Name, st.Plan.Code, st.Plan.Amount, "KRW"
	r.IntervalUnit, r.IntervalCount = st.Plan.Interval.Unit, st.Plan.Interval.Count
	r.Cycle, r.PaidThrough, r.NextChargeAt = st.Cycle, utc(st.PaidUntil()), utc(st.NextCharge())
	r.CustomerUIDMasked, r.CancelAtPeriodEnd = textfmt.MaskUID(st.CustomerUID), st.PendingCancel != nil
	if c, ok := lastSettled(st.Charges); ok {
		r.LastChargeAt, r.LastChargeAmount, r.LastChargeOutcome = utc(c.At), c.Amount, c.Outcome
		r.LastDeclineReason = ""
		if c.Outcome != billing.OutcomePaid {
			r.LastDeclineReason = textfmt.Truncate(c.Reason, 200)
		}
	}
	if d := st.DunningState; d != nil {
		if r.DunningCycle != d.Cycle || r.PastDueSince.IsZero() {
			r.PastDueSince = at.UTC()
		}
		r.DunningCycle, r.DunningAttempts, r.DunningNextRetryAt, r.DunningGraceEndsAt, r.DunningHard = d.Cycle, d.Attempts, utc(d.NextRetryAt), utc(d.GraceEndsAt), d.Hard
	} else {
		clearDunning(r)
	}
	switch c := st.Consent; {
	case c != nil:
		r.ConsentStatus, r.ConsentDeadline, r.ConsentAmountAfter, r.ConsentWhy = c.Status, utc(c.ChangeAt), c.AmountAfter, c.Why
	case r.ConsentStatus == billing.ConsentRequired:
		// Settled since (into the history): no longer pending.
		r.ConsentStatus = ""
	}
	if a := st.Attention; a != nil {
		r.AttentionKind, r.AttentionFinding, r.AttentionDetail, r.AttentionAt = a.Kind, a.Finding, textfmt.Truncate(a.Detail, 300), utc(a.MarkedAt)
	} else {
		r.AttentionKind, r.AttentionFinding, r.AttentionDetail, r.AttentionAt = "", "", "", time.Time{}
	}
	r.NextChargeAmount = nextAmount(r)
	r.MRR = contributes(r.Status, r.Cycle, MonthlyAmount(r.Price, r.IntervalUnit, r.IntervalCount))
}

// lastSettled is the latest charge attempt an event would have reported (not a scheduled one,
// not a duplicate payment, which no charge event reports).
func lastSettled(cs []billing.ChargeRecord) (billing.ChargeRecord, bool) {
	for i := len(cs) - 1; i >= 0; i-- {
		if o := cs[i].Outcome; o != billing.OutcomeScheduled && o != billing.OutcomeDuplicate {
			return cs[i], true
		}
	}
	return billing.ChargeRecord{}, false
}

// Compare lists where the subscription's row disagrees with its workflow's state st (empty:
// they agree), for reconciliation. A projection behind the workflow (st.EventSeq > LastSeq:
// events not delivered yet) is one difference, "last_seq", and nothing else is compared; a
// subscription the projection does not know is one difference, "row". Money is compared when
// the state still holds every charge (ChargesOmitted 0) and the projection received the stream
// from its first event: a row seeded from a state (ApplyState, a rebuild from states or from an
// outbox that kept only its latest events) knows no money before the seed, which is no
// disagreement.
func (s *Store) Compare(ctx context.Context, id string, st billing.State) ([]Difference, error) {
	r, found, err := s.loadRow(ctx, s.db, id)
	if err != nil {
		return nil, fmt.Errorf("readmodel: compare %s: %w", id, err)
	}
	if !found {
		return []Difference{{Field: "row", Projection: "none", Workflow: string(st.Status)}}, nil
	}
	if r.Stream != st.Tag {
		return []Difference{{Field: "stream", Projection: r.Stream, Workflow: st.Tag}}, nil
	}
	if st.EventSeq > r.LastSeq {
		return []Difference{{Field: "last_seq", Projection: strconv.FormatInt(r.LastSeq, 10), Workflow: strconv.FormatInt(st.EventSeq, 10)}}, nil
	}
	var want row
	want.Row = r.Row
	want.announcedAt, want.announcedAmount = r.announcedAt, r.announcedAmount
	fromState(&want, st, r.UpdatedAt)
	var out []Difference
	add := func(field string, got, exp any) {
		g, w := fmt.Sprint(got), fmt.Sprint(exp)
		if g != w {
			out = append(out, Difference{Field: field, Projection: g, Workflow: w})
		}
	}
	t := func(x time.Time) string {
		if x.IsZero() {
			return "none"
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	add("status", r.Status, want.Status)
	add("status_reason", r.StatusReason, want.StatusReason)
	add("plan", r.PlanName, want.PlanName)
	add("price", r.Price, want.Price)
	add("interval", fmt.Sprint(r.IntervalCount, " ", r.IntervalUnit), fmt.Sprint(want.IntervalCount, " ", want.IntervalUnit))
	add("cycle", r.Cycle, want.Cycle)
	add("mrr", r.MRR, want.MRR)
	add("paid_through", t(r.PaidThrough), t(want.PaidThrough))
	add("next_charge_at", t(r.NextChargeAt), t(want.NextChargeAt))
	add("cancel_at_period_end", r.CancelAtPeriodEnd, want.CancelAtPeriodEnd)
	add("dunning_cycle", r.DunningCycle, want.DunningCycle)
	add("dunning_next_retry_at", t(r.DunningNextRetryAt), t(want.DunningNextRetryAt))
	add("consent_pending", r.ConsentStatus == billing.ConsentRequired, want.ConsentStatus == billing.ConsentRequired)
	add("attention", r.AttentionKind, want.AttentionKind)
	whole, err := s.hasFirstEvent(ctx, r.SubscriptionID, r.Stream)
	if err != nil {
		return nil, fmt.Errorf("readmodel: compare %s: %w", id, err)
	}
	if st.ChargesOmitted == 0 && whole {
		var paid, refunded int64
		for _, c := range st.Charges {
			if c.Outcome == billing.OutcomePaid || c.Outcome == billing.OutcomeDuplicate {
				paid += c.Amount
			}
		}
		for _, f := range st.Refunds {
			if f.Confirmed() { // charge.refunded is published when PortOne gave it back
				refunded += f.Amount
			}
		}
		add("total_paid", r.TotalPaid, paid)
		add("total_refunded", r.TotalRefunded, refunded)
	}
	return out, nil
}

// hasFirstEvent says whether the projection received the stream's first event: its money is
// then known from the start.
func (s *Store) hasFirstEvent(ctx context.Context, id, stream string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events WHERE subscription_id = ? AND stream = ? AND seq = 1`), id, stream).Scan(&n)
	return n > 0, err
}
