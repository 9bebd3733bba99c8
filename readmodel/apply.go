package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// BadEventError is an event the projection refuses: it names the field at fault. The receiver
// answers it with 400; nothing is stored.
type BadEventError struct {
	Field  string
	Reason string
}

func (e *BadEventError) Error() string { return "readmodel: bad event: " + e.Field + ": " + e.Reason }

// eventData is billing.EventData as the projection reads it, with the tax-exempt parts of a
// charge and a refund ("tax_free", as in the workflow's records) read when an event carries
// them: today's events do not, so the tax-free figures stay 0 until they do.
type eventData struct {
	Subscription billing.EventSubscription `json:"subscription"`
	Charge       *struct {
		billing.EventCharge
		TaxFree int64 `json:"tax_free"`
	} `json:"charge"`
	Refund *struct {
		billing.EventRefund
		TaxFree int64 `json:"tax_free"`
	} `json:"refund"`
	Dunning *billing.EventDunning `json:"dunning"`
	Renewal *billing.EventRenewal `json:"renewal"`
	Consent *billing.ConsentState `json:"consent"`
	// Attention is set on subscription.needs_attention and subscription.attention_cleared.
	Attention *billing.Attention `json:"attention"`
}

// streamOf parses the incarnation tag of an event ID, billing.EventID's evt_<id>_<tag>_<seq>.
func streamOf(e billing.MerchantEvent) (string, error) {
	rest, ok := strings.CutPrefix(e.ID, "evt_"+e.SubscriptionID+"_")
	suffix := "_" + strconv.FormatInt(e.Seq, 10)
	if !ok || !strings.HasSuffix(rest, suffix) || len(rest) == len(suffix) {
		return "", &BadEventError{Field: "id", Reason: fmt.Sprintf("%q is not evt_<subscription_id>_<tag>_<sequence> of subscription %q and sequence %d", e.ID, e.SubscriptionID, e.Seq)}
	}
	tag := strings.TrimSuffix(rest, suffix)
	if strings.Contains(tag, "_") {
		return "", &BadEventError{Field: "id", Reason: fmt.Sprintf("%q has an incarnation tag with an underscore", e.ID)}
	}
	return tag, nil
}

// validate checks an event before anything is stored and decodes its data.
func validate(e billing.MerchantEvent) (stream string, d eventData, err error) {
	if err := billing.ValidateSubscriptionID(e.SubscriptionID); err != nil {
		return "", d, &BadEventError{Field: "subscription_id", Reason: err.Error()}
	}
	if e.Seq < 1 {
		return "", d, &BadEventError{Field: "sequence", Reason: fmt.Sprintf("must be at least 1, got %d", e.Seq)}
	}
	if stream, err = streamOf(e); err != nil {
		return "", d, err
	}
	if e.Type == "" {
		return "", d, &BadEventError{Field: "type", Reason: "is required"}
	}
	if e.Timestamp.IsZero() {
		return "", d, &BadEventError{Field: "timestamp", Reason: "is required"}
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return "", d, &BadEventError{Field: "data", Reason: "does not decode: " + err.Error()}
	}
	if d.Subscription.Status == "" {
		return "", d, &BadEventError{Field: "data.subscription.status", Reason: "is required"}
	}
	return stream, d, nil
}

// Apply applies one event idempotently by (subscription, stream, sequence) in one transaction:
// applied is true when the projection changed (the event, and any held events it unblocked).
// A duplicate, or an event held behind a gap, answers false and no error; a malformed event is
// a *BadEventError naming the field, and nothing is stored.
func (s *Store) Apply(ctx context.Context, e billing.MerchantEvent) (applied bool, err error) {
	r, err := s.Accept(ctx, e)
	return r == Applied || r == Superseded, err
}

// Accept is Apply saying what it did with the event.
func (s *Store) Accept(ctx context.Context, e billing.MerchantEvent) (ApplyResult, error) {
	stream, d, err := validate(e)
	if err != nil {
		return 0, err
	}
	var res ApplyResult
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lock(ctx, tx, e.SubscriptionID); err != nil {
			return err
		}
		res, err = s.accept(ctx, tx, e, stream, d)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("readmodel: apply %s: %w", e.ID, err)
	}
	return res, nil
}

// lock serialises the transactions of one subscription on PostgreSQL (SQLite's IMMEDIATE
// transactions are serialised already).
func (s *Store) lock(ctx context.Context, tx *sql.Tx, id string) error {
	if s.dialect != postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, id)
	return err
}

// accept stores the event and applies it when it is next in its stream.
func (s *Store) accept(ctx context.Context, tx *sql.Tx, e billing.MerchantEvent, stream string, d eventData) (ApplyResult, error) {
	return s.acceptAt(ctx, tx, e, stream, d, s.now())
}

// acceptAt is accept with the time it counts as received and applied.
func (s *Store) acceptAt(ctx context.Context, tx *sql.Tx, e billing.MerchantEvent, stream string, d eventData, now time.Time) (ApplyResult, error) {
	res, err := s.exec(ctx, tx, sqlInsertEvent,
		e.SubscriptionID, stream, e.Seq, e.ID, string(e.Type), ns(e.Timestamp), ns(now), string(e.Data))
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return Duplicate, err
	}
	r, found, err := s.loadRow(ctx, tx, e.SubscriptionID)
	if err != nil {
		return 0, err
	}
	switch {
	case !found || r.Stream != stream:
		if found {
			old, err := s.streamApplied(ctx, tx, e.SubscriptionID, stream)
			if err != nil {
				return 0, err
			}
			if old {
				// A late event of an earlier incarnation: its money is recorded, the row (the
				// latest incarnation's) stays.
				var prev row
				prev.SubscriptionID, prev.Stream = e.SubscriptionID, stream
				if err := s.money(ctx, tx, &prev, e, d); err != nil {
					return 0, err
				}
				return Superseded, s.markApplied(ctx, tx, e.SubscriptionID, stream, e.Seq, now)
			}
		}
		if e.Seq != 1 {
			return Held, nil
		}
		if found && r.MRR != 0 {
			// The previous incarnation's final event never came: its MRR ends here.
			if err := s.mrrChange(ctx, tx, r.SubscriptionID, r.Stream, -1, e.Timestamp, -r.MRR); err != nil {
				return 0, err
			}
		}
		r = row{Row: Row{SubscriptionID: e.SubscriptionID, Stream: stream, StartedAt: e.Timestamp.UTC()}}
	case e.Seq <= r.LastSeq:
		// A workflow state already covered it (ApplyState): only its money is new.
		if err := s.money(ctx, tx, &r, e, d); err != nil {
			return 0, err
		}
		if err := s.writeRow(ctx, tx, &r); err != nil {
			return 0, err
		}
		return Superseded, s.markApplied(ctx, tx, e.SubscriptionID, stream, e.Seq, now)
	case e.Seq > r.LastSeq+1:
		return Held, nil
	}
	if err := s.applyOne(ctx, tx, &r, e, d, now); err != nil {
		return 0, err
	}
	if err := s.drain(ctx, tx, &r, now); err != nil {
		return 0, err
	}
	return Applied, s.writeRow(ctx, tx, &r)
}

// streamApplied reports whether any event of the stream was applied (an earlier incarnation).
func (s *Store) streamApplied(ctx context.Context, tx *sql.Tx, id, stream string) (bool, error) {
	var n int
	err := s.queryRow(ctx, tx, sqlStreamApplied, id, stream).Scan(&n)
	return n > 0, err
}

func (s *Store) markApplied(ctx context.Context, tx *sql.Tx, id, stream string, seq int64, now time.Time) error {
	_, err := s.exec(ctx, tx, sqlMarkApplied, ns(now), id, stream, seq)
	return err
}

// drain applies the held events that follow the row's last one, in order.
func (s *Store) drain(ctx context.Context, tx *sql.Tx, r *row, now time.Time) error {
	for {
		var (
			e    = billing.MerchantEvent{SubscriptionID: r.SubscriptionID, Seq: r.LastSeq + 1}
			typ  string
			ts   int64
			data string
		)
		err := s.queryRow(ctx, tx, sqlNextHeld,
			r.SubscriptionID, r.Stream, e.Seq).Scan(&e.ID, &typ, &ts, &data)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		e.Type, e.Timestamp, e.Data = billing.EventType(typ), tm(ts), json.RawMessage(data)
		var d eventData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return err
		}
		if err := s.applyOne(ctx, tx, r, e, d, now); err != nil {
			return err
		}
	}
}

// applyOne applies the next event of the row's stream: its money, then its state.
func (s *Store) applyOne(ctx context.Context, tx *sql.Tx, r *row, e billing.MerchantEvent, d eventData, now time.Time) error {
	if err := s.money(ctx, tx, r, e, d); err != nil {
		return err
	}
	oldMRR := r.MRR
	wasInDunning := r.DunningCycle
	applyState(r, e, d)
	if err := s.dunningEpisode(ctx, tx, r, e, d, wasInDunning); err != nil {
		return err
	}
	if r.MRR != oldMRR {
		if err := s.mrrChange(ctx, tx, r.SubscriptionID, r.Stream, e.Seq, e.Timestamp, r.MRR-oldMRR); err != nil {
			return err
		}
	}
	return s.markApplied(ctx, tx, r.SubscriptionID, r.Stream, e.Seq, now)
}

// applyState sets the row from an event: the subscription summary every event carries, then
// the part the event is about.
func applyState(r *row, e billing.MerchantEvent, d eventData) {
	sum := d.Subscription
	r.LastSeq = e.Seq
	r.UpdatedAt = e.Timestamp.UTC()
	r.Status, r.StatusReason, r.PlanName, r.Price, r.Currency = sum.Status, sum.StatusReason, sum.Plan, sum.Amount, sum.Currency
	r.IntervalUnit, r.IntervalCount = parseInterval(sum.Interval)
	r.Cycle, r.PaidThrough, r.NextChargeAt = sum.Cycle, utc(sum.PaidThrough), utc(sum.NextChargeAt)
	r.CustomerUIDMasked, r.CancelAtPeriodEnd = sum.CustomerUID, sum.CancelAtPeriodEnd
	switch e.Type {
	case billing.EventChargeSucceeded, billing.EventChargeDeclined, billing.EventChargeDeclinedHard:
		if c := d.Charge; c != nil {
			r.LastChargeAt, r.LastChargeAmount, r.LastChargeOutcome = utc(c.At), c.Amount, c.Outcome
			if c.Outcome == billing.OutcomePaid {
				r.LastDeclineReason = ""
			} else {
				r.LastDeclineReason = c.Reason
			}
		}
	case billing.EventDunningStarted, billing.EventDunningRetryScheduled:
		if dn := d.Dunning; dn != nil {
			if r.DunningCycle != dn.Cycle || r.PastDueSince.IsZero() {
				r.PastDueSince = e.Timestamp.UTC()
			}
			r.DunningCycle, r.DunningAttempts, r.DunningNextRetryAt, r.DunningGraceEndsAt, r.DunningHard = dn.Cycle, dn.Attempts, utc(dn.NextRetryAt), utc(dn.GraceEndsAt), dn.Hard
		}
	case billing.EventDunningRecovered, billing.EventDunningFinalAction:
		clearDunning(r)
	case billing.EventConsentRequired, billing.EventConsentGranted, billing.EventConsentRefused:
		if c := d.Consent; c != nil {
			r.ConsentStatus, r.ConsentDeadline, r.ConsentAmountAfter, r.ConsentWhy = c.Status, utc(c.ChangeAt), c.AmountAfter, c.Why
		}
	case billing.EventRenewalUpcoming, billing.EventTrialEnding, billing.EventPriceRising:
		if rn := d.Renewal; rn != nil {
			r.announcedAt, r.announcedAmount = utc(rn.ChargeAt), rn.Amount
		}
	case billing.EventNeedsAttention:
		if a := d.Attention; a != nil {
			r.AttentionKind, r.AttentionFinding, r.AttentionDetail, r.AttentionAt = a.Kind, a.Finding, textfmt.Truncate(a.Detail, 300), utc(orTime(a.MarkedAt, e.Timestamp))
		}
	case billing.EventAttentionCleared:
		r.AttentionKind, r.AttentionFinding, r.AttentionDetail, r.AttentionAt = "", "", "", time.Time{}
	}
	if r.Status.Terminal() || (r.Status != billing.StatusPastDue && r.Status != billing.StatusPaymentMethodRequired && r.DunningCycle != 0 &&
		e.Type != billing.EventDunningStarted && e.Type != billing.EventDunningRetryScheduled && !strings.HasPrefix(string(e.Type), "charge.")) {
		// Out of dunning without a dunning event saying so (a cancel while past due; a charge
		// event of the recovering step comes before its dunning.recovered, so it waits for it).
		clearDunning(r)
	}
	r.NextChargeAmount = nextAmount(r)
	r.MRR = contributes(r.Status, r.Cycle, MonthlyAmount(r.Price, r.IntervalUnit, r.IntervalCount))
}

func clearDunning(r *row) {
	r.DunningCycle, r.DunningAttempts, r.DunningNextRetryAt, r.DunningGraceEndsAt, r.DunningHard, r.PastDueSince = 0, 0, time.Time{}, time.Time{}, false, time.Time{}
}

// nextAmount is the announced amount of the next charge, else the plan's price.
func nextAmount(r *row) int64 {
	switch {
	case r.NextChargeAt.IsZero():
		return 0
	case r.announcedAt.Equal(r.NextChargeAt):
		return r.announcedAmount
	default:
		return r.Price
	}
}

// contributes is a subscription's MRR: its monthly amount while active or past due with a cycle
// begun (a free trial before its first paid cycle, a pause, a hard decline awaiting a new key
// and the end contribute nothing).
func contributes(st billing.Status, cycle int, monthly int64) int64 {
	if cycle < 1 || (st != billing.StatusActive && st != billing.StatusPastDue) {
		return 0
	}
	return monthly
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// parseInterval reads the events' interval text ("1 month", "3 months", "20 seconds").
func parseInterval(s string) (calendar.Unit, int) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return "", 0
	}
	return calendar.Unit(strings.TrimSuffix(unit, "s")), n
}

// MonthlyAmount normalises a price per interval to a month, in whole KRW rounded half up:
// amount × 12/(12·count) for months, ÷(12·count) for years, ×52/(12·count) for weeks,
// ×365/(12·count) for days, and for the demo units (seconds, minutes) the seconds of an average
// month (365 × 86400 / 12) over the interval's. An unknown unit or count gives 0.
func MonthlyAmount(amount int64, unit calendar.Unit, count int) int64 {
	if count < 1 || amount <= 0 {
		return 0
	}
	// num/den is the factor; the result is round(amount × num / den).
	var num, den int64
	c := int64(count)
	switch unit {
	case calendar.Month:
		num, den = 1, c
	case calendar.Year:
		num, den = 1, 12*c
	case calendar.Week:
		num, den = 52, 12*c
	case calendar.Day:
		num, den = 365, 12*c
	case calendar.Minute:
		num, den = 365*86400, 12*60*c
	case calendar.Second:
		num, den = 365*86400, 12*c
	default:
		return 0
	}
	return (2*amount*num + den) / (2 * den)
}

// money records a payment or a refund the event reports, once per event: in the ledger, the
// month's revenue and the row's totals. A refund of a payment no event reported (a second
// payment of a paid cycle, which the workflow records and refunds at once without a charge
// event) counts as that payment too, so that gross and refunds both show it and net does not.
func (s *Store) money(ctx context.Context, tx *sql.Tx, r *row, e billing.MerchantEvent, d eventData) error {
	switch {
	case e.Type == billing.EventChargeSucceeded && d.Charge != nil && d.Charge.Outcome == billing.OutcomePaid:
		c := d.Charge
		at := orTime(c.At, e.Timestamp)
		if c.ImpUID != "" {
			// One payment counts once, whichever events report it.
			var known int
			if err := s.queryRow(ctx, tx, sqlPaymentKnown,
				r.SubscriptionID, r.Stream, c.ImpUID).Scan(&known); err != nil || known > 0 {
				return err
			}
		}
		r.TotalPaid += c.Amount
		r.TotalTaxFree += c.TaxFree
		return s.ledger(ctx, tx, r, e.Seq, "charge", at, c.Amount, c.TaxFree, c.ImpUID, c.MerchantUID, c.Cycle)
	case e.Type == billing.EventChargeRefunded && d.Refund != nil:
		f := d.Refund
		at := orTime(f.At, e.Timestamp)
		var known int
		if err := s.queryRow(ctx, tx, sqlRefundedPaymentKnown,
			r.SubscriptionID, f.ImpUID).Scan(&known); err != nil {
			return err
		}
		if known == 0 && f.ImpUID != "" {
			r.TotalPaid += f.Amount
			r.TotalTaxFree += f.TaxFree
			if err := s.ledger(ctx, tx, r, e.Seq, "duplicate", at, f.Amount, f.TaxFree, f.ImpUID, f.MerchantUID, f.Cycle); err != nil {
				return err
			}
		}
		r.TotalRefunded += f.Amount
		r.TotalTaxFree -= f.TaxFree
		return s.ledger(ctx, tx, r, e.Seq, "refund", at, f.Amount, f.TaxFree, f.ImpUID, f.MerchantUID, f.Cycle)
	}
	return nil
}

func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def.UTC()
	}
	return t.UTC()
}

// monthOf is the KST month of an instant, YYYY-MM.
func monthOf(t time.Time) string { return t.In(calendar.Seoul).Format("2006-01") }

// ledger adds one ledger row and its month's revenue.
func (s *Store) ledger(ctx context.Context, tx *sql.Tx, r *row, seq int64, kind string, at time.Time, amount, taxFree int64, impUID, merchantUID string, cycle int) error {
	month := monthOf(at)
	res, err := s.exec(ctx, tx, sqlInsertLedger,
		r.SubscriptionID, r.Stream, seq, kind, ns(at), month, amount, taxFree, impUID, merchantUID, cycle)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	var gross, refunds, tfGross, tfRefunds, charges, refundCount int64
	if kind == "refund" {
		refunds, tfRefunds, refundCount = amount, taxFree, 1
	} else {
		gross, tfGross, charges = amount, taxFree, 1
	}
	_, err = s.exec(ctx, tx, sqlAddRevenue,
		month, gross, refunds, tfGross, tfRefunds, charges, refundCount)
	return err
}

// mrrChange records a change of a subscription's MRR at an instant (keyed by the event that
// made it; two changes under one key add up).
func (s *Store) mrrChange(ctx context.Context, tx *sql.Tx, id, stream string, seq int64, at time.Time, delta int64) error {
	_, err := s.exec(ctx, tx, sqlAddMRRChange,
		id, stream, seq, ns(at), delta)
	return err
}

// dunningEpisode keeps the dunning table: an episode opens with dunning.started and ends
// recovered, with the final action, or "ended" when the subscription ends while past due.
func (s *Store) dunningEpisode(ctx context.Context, tx *sql.Tx, r *row, e billing.MerchantEvent, d eventData, wasCycle int) error {
	var (
		outcome string
		cycle   = wasCycle
	)
	switch e.Type {
	case billing.EventDunningStarted:
		if d.Dunning == nil {
			return nil
		}
		_, err := s.exec(ctx, tx, sqlOpenDunning, r.SubscriptionID, r.Stream, d.Dunning.Cycle, ns(e.Timestamp))
		return err
	case billing.EventDunningRecovered:
		outcome = "recovered"
	case billing.EventDunningFinalAction:
		outcome = "final_action"
	default:
		if wasCycle == 0 || r.DunningCycle != 0 {
			return nil
		}
		outcome = "ended"
	}
	if d.Dunning != nil && d.Dunning.Cycle != 0 {
		cycle = d.Dunning.Cycle
	}
	_, err := s.exec(ctx, tx, sqlEndDunning,
		ns(e.Timestamp), outcome, r.SubscriptionID, r.Stream, cycle)
	return err
}
