package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// kstText formats Unix seconds as KST wall-clock text; 0 is "".
func kstText(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).In(calendar.Seoul).Format("2006-01-02 15:04:05 KST")
}

func kstDay(t time.Time) string { return t.In(calendar.Seoul).Format("2006-01-02") }

func evidenceOf(p pay, recorded bool) Evidence {
	return Evidence{
		ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Status: p.Status, Amount: p.Amount, CancelAmount: p.CancelAmount,
		PaidAt: kstText(p.PaidAt), CancelledAt: kstText(p.CancelledAt), FailedAt: kstText(p.FailedAt), Usage: p.Usage, Recorded: recorded,
	}
}

func (e Evidence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "merchant_uid=%s imp_uid=%s status=%s amount=%d", e.MerchantUID, e.ImpUID, e.Status, e.Amount)
	if e.CancelAmount != 0 {
		fmt.Fprintf(&b, " cancel_amount=%d", e.CancelAmount)
	}
	for _, kv := range [][2]string{{"paid_at", e.PaidAt}, {"cancelled_at", e.CancelledAt}, {"failed_at", e.FailedAt}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	return b.String()
}

// recordLag is how far our charge record's time may trail PortOne's paid_at across a KST
// midnight before the paid dates count as different.
const recordLag = time.Minute

// checker holds the indexes the checks share.
type checker struct {
	s        snapshot
	subs     map[string]*sub // by subscription ID + "/" + tag
	subsByID map[string][]*sub
	byImp    map[string]pay // every payment known: window lists and lookups
	findings []Finding
}

func subKey(id, tag string) string { return id + "/" + tag }

// check runs the checks over a gathered snapshot. It is a pure function of it.
func check(s snapshot) Report {
	s = learnTxIDs(s)
	c := &checker{s: s, subs: map[string]*sub{}, subsByID: map[string][]*sub{}, byImp: map[string]pay{}}
	for i := range s.Subs {
		sb := &s.Subs[i]
		c.subs[subKey(sb.ID, sb.Tag)] = sb
		c.subsByID[sb.ID] = append(c.subsByID[sb.ID], sb)
	}
	for _, p := range s.Extra {
		c.byImp[p.ImpUID] = p
	}
	for _, p := range s.Payments {
		c.byImp[p.ImpUID] = p
	}
	unreadable := map[string]bool{}
	for _, id := range s.Unreadable {
		unreadable[id] = true
	}
	c.payments(unreadable)
	c.refunds()
	c.schedules()
	c.silentStops()
	c.keys()

	slices.SortStableFunc(c.findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(slices.Index(FindingNames, a.Name), slices.Index(FindingNames, b.Name)),
			cmp.Compare(a.SubscriptionID, b.SubscriptionID), cmp.Compare(a.MerchantUID, b.MerchantUID))
	})
	r := Report{
		Phase: "gathered", From: s.From, To: s.To, AsOf: s.AsOf, Counts: map[string]int{},
		Findings: c.findings, Days: c.totals(), Subscriptions: len(s.Subs), Payments: len(s.Payments),
		Schedules: len(s.Schedules), Unreadable: s.Unreadable,
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, n := range FindingNames {
		r.Counts[n] = 0
	}
	for _, f := range r.Findings {
		r.Counts[f.Name]++
	}
	return r
}

func (c *checker) add(f Finding, sb *sub) {
	if sb != nil {
		f.SubscriptionID, f.WorkflowID = sb.ID, sb.WorkflowID
	}
	if len(f.Detail) > 1000 {
		f.Detail = f.Detail[:997] + "..."
	}
	c.findings = append(c.findings, f)
}

// record returns the charge record of sb for the payment: same merchant_uid and either the
// same imp_uid or none recorded yet. A V2 cycle's paymentId is shared by the cycle's attempts,
// so there an attempt is the pair (paymentId, transactionId): the record with the payment's
// transactionId, else one under the paymentId that recorded none yet (the newest).
func record(sb *sub, p pay) *billing.ChargeRecord {
	if parsed, err := billing.ParseMerchantUID(p.MerchantUID); err == nil && parsed.Kind == billing.KindCyclePayment {
		var pending *billing.ChargeRecord
		for i := range sb.Charges {
			r := &sb.Charges[i]
			switch {
			case r.GatewayPaymentID() != p.MerchantUID:
			case r.ImpUID != "" && r.ImpUID == p.ImpUID:
				return r
			case r.ImpUID == "":
				pending = r
			}
		}
		return pending
	}
	for i := range sb.Charges {
		r := &sb.Charges[i]
		if r.MerchantUID == p.MerchantUID && (r.ImpUID == "" || r.ImpUID == p.ImpUID) {
			return r
		}
	}
	return nil
}

// unverifiable: the state dropped its oldest records and this cycle is older than the ones kept.
func unverifiable(sb *sub, cycle int) bool {
	if sb.ChargesOmitted == 0 || len(sb.Charges) == 0 {
		return false
	}
	oldest := sb.Charges[0].Cycle
	for _, r := range sb.Charges {
		oldest = min(oldest, r.Cycle)
	}
	return cycle <= oldest
}

func (c *checker) refunded(sb *sub, impUID string) int64 {
	var n int64
	for _, r := range sb.Refunds {
		if r.ImpUID == impUID && r.Outcome == "refunded" {
			n += r.Amount
		}
	}
	return n
}

// payments runs checks 1 (orphan), 2 (duplicate) and 3 (drift) over the window's payments.
func (c *checker) payments(unreadable map[string]bool) {
	type cycleKey struct {
		key   string
		cycle int
	}
	kept := map[cycleKey][]pay{}
	var order []cycleKey
	for _, p := range c.s.Payments {
		parsed, err := billing.ParseMerchantUID(p.MerchantUID)
		if err != nil || !parsed.OfCycle() || p.Usage == "issue" {
			continue
		}
		uid := parsed.Charge
		sb := c.subs[subKey(uid.SubscriptionID, uid.Tag)]
		if sb == nil && unreadableSub(unreadable, uid.SubscriptionID) {
			continue // its state could not be read: not judged, listed in Report.Unreadable
		}
		if p.kept() && sb != nil {
			k := cycleKey{subKey(uid.SubscriptionID, uid.Tag), uid.Cycle}
			if kept[k] == nil {
				order = append(order, k)
			}
			kept[k] = append(kept[k], p)
		}
		if !p.wasPaid() {
			if sb != nil {
				if r := record(sb, p); r != nil && r.Outcome == billing.OutcomePaid {
					c.drift(sb, p, r, []string{fmt.Sprintf("status: ours paid, PortOne %s", p.Status)})
				} else if r == nil && !unverifiable(sb, uid.Cycle) {
					c.recovery(sb, uid.Cycle, p)
				}
			}
			continue
		}
		if sb == nil {
			ours := "no subscription " + uid.SubscriptionID + " with tag " + uid.Tag
			if others := c.subsByID[uid.SubscriptionID]; len(others) > 0 {
				ours += " (the subscription ID exists under another incarnation)"
			}
			c.add(Finding{Name: FindingOrphan, Cycle: uid.Cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
				PortOne: []Evidence{evidenceOf(p, false)}, Ours: ours,
				Detail:    fmt.Sprintf("orphan payment at PortOne: %s; ours: %s", evidenceOf(p, false), ours),
				RequestID: "reconcile:" + FindingOrphan + ":" + p.MerchantUID + ":" + p.ImpUID}, nil)
			continue
		}
		r := record(sb, p)
		if r == nil {
			if unverifiable(sb, uid.Cycle) || c.recovery(sb, uid.Cycle, p) {
				continue
			}
			ours := fmt.Sprintf("no charge record with this merchant_uid and imp_uid (state at cycle %d, status %s)", sb.Cycle, sb.Status)
			c.add(Finding{Name: FindingOrphan, Cycle: uid.Cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
				PortOne: []Evidence{evidenceOf(p, false)}, Ours: ours,
				Detail:    fmt.Sprintf("orphan payment at PortOne: %s; ours: %s", evidenceOf(p, false), ours),
				RequestID: "reconcile:" + FindingOrphan + ":" + p.MerchantUID + ":" + p.ImpUID}, sb)
			continue
		}
		var diffs []string
		switch r.Outcome {
		case billing.OutcomePaid:
			if p.Status == string(gateway.StatusCancelled) && c.refunded(sb, p.ImpUID) < p.Amount {
				diffs = append(diffs, "status: ours paid, PortOne cancelled")
			}
			if r.Amount != p.Amount {
				diffs = append(diffs, fmt.Sprintf("amount: ours %d, PortOne %d", r.Amount, p.Amount))
			}
			if ours := c.refunded(sb, p.ImpUID); p.CancelAmount > ours {
				diffs = append(diffs, fmt.Sprintf("cancel_amount: ours %d, PortOne %d", ours, p.CancelAmount))
			}
			// Our record's time is when the workflow heard the answer, a moment after PortOne's
			// paid_at: a charge at 23:59:59.9 KST recorded after midnight is not a drift.
			if paid := time.Unix(p.PaidAt, 0); !r.At.IsZero() && p.PaidAt != 0 && kstDay(r.At) != kstDay(paid) && r.At.Sub(paid).Abs() > recordLag {
				diffs = append(diffs, fmt.Sprintf("paid date: ours %s, PortOne %s", kstDay(r.At), kstDay(time.Unix(p.PaidAt, 0))))
			}
		case billing.OutcomeAmountMismatch:
			if p.kept() {
				diffs = append(diffs, "status: ours amount_mismatch (cancelled at once), PortOne still paid")
			}
		case billing.OutcomeDeclined, billing.OutcomeDeclinedHard, billing.OutcomeRejected:
			diffs = append(diffs, fmt.Sprintf("status: ours %s, PortOne %s (approved)", r.Outcome, p.Status))
		case billing.OutcomeUnknown, billing.OutcomeScheduled:
			if c.s.AsOf.Sub(time.Unix(p.PaidAt, 0)) > c.s.StopTolerance {
				diffs = append(diffs, fmt.Sprintf("status: ours %s, PortOne %s since %s", r.Outcome, p.Status, kstText(p.PaidAt)))
			}
		case billing.OutcomeRevoked:
			diffs = append(diffs, fmt.Sprintf("status: ours revoked schedule, PortOne %s", p.Status))
		}
		if len(diffs) > 0 {
			c.drift(sb, p, r, diffs)
		}
	}
	for _, k := range order {
		c.duplicate(c.subs[k.key], k.cycle, kept[k])
	}
}

// recovery reports p as FindingRecovery when it is a scheduled payment the state does not
// record under a merchant_uid whose scheduled attempt the state records as failed (another
// imp_uid): PortOne ran the failed schedule again by itself. It reports whether it did.
func (c *checker) recovery(sb *sub, cycle int, p pay) bool {
	if p.Usage != "payment.scheduled" {
		return false
	}
	i := slices.IndexFunc(sb.Charges, func(r billing.ChargeRecord) bool {
		return r.GatewayPaymentID() == p.MerchantUID && r.Via == billing.ViaSchedule && r.ImpUID != p.ImpUID &&
			(r.Outcome == billing.OutcomeDeclined || r.Outcome == billing.OutcomeDeclinedHard || r.Outcome == billing.OutcomeRejected)
	})
	if i < 0 {
		return false
	}
	r := sb.Charges[i]
	ours := fmt.Sprintf("cycle %d attempt %d scheduled, %s (imp_uid %s)", r.Cycle, r.Attempt, r.Outcome, r.ImpUID)
	what := "charged it"
	if !p.wasPaid() {
		what = "tried it again (failed)"
	}
	c.add(Finding{Name: FindingRecovery, Cycle: cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
		PortOne: []Evidence{evidenceOf(p, false)}, Ours: ours,
		Detail: fmt.Sprintf("PortOne %s by itself after the scheduled attempt failed: 리커버리 (or a console retry) is on and must be off for paycycle: %s; ours: %s",
			what, evidenceOf(p, false), ours),
		RequestID: "reconcile:" + FindingRecovery + ":" + p.MerchantUID + ":" + p.ImpUID}, sb)
	return true
}

func unreadableSub(unreadable map[string]bool, subID string) bool {
	return unreadable[billing.WorkflowID(subID)]
}

func (c *checker) drift(sb *sub, p pay, r *billing.ChargeRecord, diffs []string) {
	ours := fmt.Sprintf("cycle %d attempt %d %s amount=%d at %s", r.Cycle, r.Attempt, r.Outcome, r.Amount, r.At.In(calendar.Seoul).Format("2006-01-02 15:04:05 KST"))
	c.add(Finding{Name: FindingDrift, Cycle: r.Cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
		PortOne: []Evidence{evidenceOf(p, true)}, Ours: ours,
		Detail:    fmt.Sprintf("state and PortOne disagree (%s): %s; ours: %s", strings.Join(diffs, "; "), evidenceOf(p, true), ours),
		RequestID: "reconcile:" + FindingDrift + ":" + p.MerchantUID + ":" + p.ImpUID}, sb)
}

// duplicate runs check 2 for one cycle: the window's kept payments plus the kept payments our
// state records for the cycle elsewhere (looked up by imp_uid during gathering).
func (c *checker) duplicate(sb *sub, cycle int, inWindow []pay) {
	all := slices.Clone(inWindow)
	for _, r := range sb.Charges {
		if r.Cycle != cycle || r.Outcome != billing.OutcomePaid || r.ImpUID == "" || slices.ContainsFunc(all, func(p pay) bool { return p.ImpUID == r.ImpUID }) {
			continue
		}
		if p, ok := c.byImp[r.ImpUID]; ok && p.kept() {
			all = append(all, p)
		}
	}
	if len(all) < 2 {
		return
	}
	slices.SortFunc(all, func(a, b pay) int { return cmp.Or(cmp.Compare(a.PaidAt, b.PaidAt), cmp.Compare(a.ImpUID, b.ImpUID)) })
	var ev []Evidence
	var uids []string
	recorded := 0
	for _, p := range all {
		r := record(sb, p)
		isRec := r != nil && r.Outcome == billing.OutcomePaid
		if isRec {
			recorded++
		}
		ev = append(ev, evidenceOf(p, isRec))
		uids = append(uids, p.MerchantUID+"/"+p.ImpUID)
	}
	ours := fmt.Sprintf("%d of the %d kept payments recorded as paid for cycle %d", recorded, len(all), cycle)
	c.add(Finding{Name: FindingDuplicate, Cycle: cycle, MerchantUID: all[0].MerchantUID, ImpUID: all[0].ImpUID,
		PortOne: ev, Ours: ours,
		Detail:    fmt.Sprintf("%d kept payments for cycle %d: %s; ours: %s", len(all), cycle, strings.Join(uids, ", "), ours),
		RequestID: fmt.Sprintf("reconcile:%s:%s:%d", FindingDuplicate, sb.ID+"-"+sb.Tag, cycle)}, sb)
}

// refunds runs check 4: every refund our state recorded in the window must show in PortOne's
// cancel_history, and every payment's partial cancels must add up.
func (c *checker) refunds() {
	for i := range c.s.Subs {
		sb := &c.s.Subs[i]
		seen := map[string]bool{}
		for _, r := range sb.Refunds {
			if r.Outcome != "refunded" || seen[r.ImpUID] || r.At.Before(c.s.From) || !r.At.Before(c.s.To) {
				continue
			}
			seen[r.ImpUID] = true
			ours := c.refunded(sb, r.ImpUID)
			p, ok := c.byImp[r.ImpUID]
			if !ok {
				continue // the lookup failed; Gather reports that as an error, not a finding
			}
			if got := p.historySum(); got < ours {
				o := fmt.Sprintf("refunds recorded for imp_uid %s: %d KRW (cycle %d)", r.ImpUID, ours, r.Cycle)
				c.add(Finding{Name: FindingRefund, Cycle: r.Cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
					PortOne: []Evidence{evidenceOf(p, true)}, Ours: o,
					Detail:    fmt.Sprintf("refund missing at PortOne: cancel_history sums to %d, ours %d: %s", got, ours, evidenceOf(p, true)),
					RequestID: "reconcile:" + FindingRefund + ":" + p.MerchantUID + ":" + p.ImpUID}, sb)
			}
		}
	}
	for _, p := range c.s.Payments {
		if sum := p.historySum(); sum != p.CancelAmount || p.CancelAmount > p.Amount {
			parsed, _ := billing.ParseMerchantUID(p.MerchantUID)
			var sb *sub
			if parsed.OfCycle() {
				sb = c.subs[subKey(parsed.Charge.SubscriptionID, parsed.Charge.Tag)]
			}
			c.add(Finding{Name: FindingRefund, Cycle: parsed.Charge.Cycle, MerchantUID: p.MerchantUID, ImpUID: p.ImpUID,
				PortOne: []Evidence{evidenceOf(p, sb != nil)}, Ours: "-",
				Detail:    fmt.Sprintf("partial cancels do not add up: cancel_history sums to %d, cancel_amount %d, amount %d: %s", sum, p.CancelAmount, p.Amount, evidenceOf(p, sb != nil)),
				RequestID: "reconcile:" + FindingRefund + ":sum:" + p.MerchantUID + ":" + p.ImpUID}, sb)
		}
	}
}

// schedules runs check 5 over PortOne's pending schedules and the schedule-mode subscriptions.
func (c *checker) schedules() {
	pending := map[string]sched{}
	for _, s := range c.s.Schedules {
		pending[s.MerchantUID] = s
		parsed, err := billing.ParseMerchantUID(s.MerchantUID)
		if err != nil || !parsed.OfCycle() {
			continue
		}
		sb := c.subs[subKey(parsed.Charge.SubscriptionID, parsed.Charge.Tag)]
		at := kstText(s.ScheduleAt)
		var why, ours string
		switch {
		case sb == nil:
			why, ours = "stray schedule: no such subscription", "no subscription "+parsed.Charge.SubscriptionID+" with tag "+parsed.Charge.Tag
		case sb.Status.Terminal() || sb.Status == billing.StatusPaused:
			why, ours = "stray schedule for a "+string(sb.Status)+" subscription", "status "+string(sb.Status)
		case sb.Scheduled == nil || scheduledID(sb.Scheduled) != s.MerchantUID:
			why, ours = "stray schedule: not the one the state expects", "expected "+scheduledText(sb.Scheduled)
		case sb.Scheduled.ScheduleAt.Unix() != s.ScheduleAt || sb.Scheduled.Amount != s.Amount:
			why, ours = "schedule at another time or amount", "expected "+scheduledText(sb.Scheduled)
		default:
			continue
		}
		c.add(Finding{Name: FindingSchedule, Cycle: parsed.Charge.Cycle, MerchantUID: s.MerchantUID, Ours: ours,
			Detail:    fmt.Sprintf("%s: PortOne schedule merchant_uid=%s schedule_at=%q amount=%d; ours: %s", why, s.MerchantUID, at, s.Amount, ours),
			RequestID: "reconcile:" + FindingSchedule + ":" + s.MerchantUID}, sb)
	}
	for i := range c.s.Subs {
		sb := &c.s.Subs[i]
		if sb.Scheduled == nil || sb.Status.Terminal() || sb.Status == billing.StatusPaused {
			continue
		}
		at := sb.Scheduled.ScheduleAt
		// Only a future schedule must still be pending; a past one is being settled by the
		// workflow (a stop there is check 6's business).
		if _, ok := pending[scheduledID(sb.Scheduled)]; ok || !at.After(c.s.AsOf) || at.Before(c.s.SchedFrom) || !at.Before(c.s.SchedTo) {
			continue
		}
		ours := "expected " + scheduledText(sb.Scheduled)
		c.add(Finding{Name: FindingSchedule, Cycle: sb.Scheduled.Cycle, MerchantUID: sb.Scheduled.MerchantUID, Ours: ours,
			Detail:    "schedule missing at PortOne for a schedule-mode subscription; ours: " + ours,
			RequestID: "reconcile:" + FindingSchedule + ":missing:" + sb.Scheduled.MerchantUID}, sb)
	}
}

// scheduledID is the id the gateway knows a scheduled charge by: its V2 paymentId when it has
// one of its own (a cycle's, shared by the cycle's attempts), else its merchant_uid.
func scheduledID(s *billing.ScheduledCharge) string {
	if s.PaymentID != "" {
		return s.PaymentID
	}
	return s.MerchantUID
}

func scheduledText(s *billing.ScheduledCharge) string {
	if s == nil {
		return "no pending schedule"
	}
	return fmt.Sprintf("merchant_uid=%s schedule_at=%q amount=%d", s.MerchantUID, s.ScheduleAt.In(calendar.Seoul).Format("2006-01-02 15:04:05 KST"), s.Amount)
}

// chargingStatus: statuses in which the subscription must keep charging on its own.
func chargingStatus(s billing.Status) bool {
	return s == billing.StatusActive || s == billing.StatusPastDue
}

// silentStops runs check 6.
func (c *checker) silentStops() {
	for i := range c.s.Subs {
		sb := &c.s.Subs[i]
		if !chargingStatus(sb.Status) {
			continue
		}
		due := sb.NextChargeAt
		if !sb.NextRetryAt.IsZero() && (due.IsZero() || sb.NextRetryAt.Before(due)) {
			due = sb.NextRetryAt
		}
		if due.IsZero() || c.s.AsOf.Sub(due) <= c.s.StopTolerance {
			continue
		}
		if slices.ContainsFunc(sb.Charges, func(r billing.ChargeRecord) bool { return !r.At.Before(due.Add(-time.Minute)) }) {
			continue
		}
		ours := fmt.Sprintf("status %s, cycle %d, next charge %s, no attempt since", sb.Status, sb.Cycle, due.In(calendar.Seoul).Format("2006-01-02 15:04:05 KST"))
		c.add(Finding{Name: FindingSilentStop, Cycle: sb.Cycle + 1, Ours: ours,
			Detail:    fmt.Sprintf("silent stop: due %s ago with no charge attempt; ours: %s", c.s.AsOf.Sub(due).Round(time.Minute), ours),
			RequestID: fmt.Sprintf("reconcile:%s:%s:%d", FindingSilentStop, sb.ID+"-"+sb.Tag, due.Unix())}, sb)
	}
}

// keys runs check 7 over the keys Gather asked PortOne about.
func (c *checker) keys() {
	asked := map[string]bool{}
	for _, k := range c.s.KeysAsked {
		asked[k] = true
	}
	for i := range c.s.Subs {
		sb := &c.s.Subs[i]
		if !chargingStatus(sb.Status) || !asked[sb.CustomerUID] || c.s.KeysFound[sb.CustomerUID] {
			continue
		}
		ours := fmt.Sprintf("status %s, customer_uid ending %s", sb.Status, textfmt.MaskUID(sb.CustomerUID))
		c.add(Finding{Name: FindingKeyGone, Cycle: sb.Cycle, Ours: ours,
			Detail:    "billing key not found at PortOne for an active subscription; ours: " + ours,
			RequestID: fmt.Sprintf("reconcile:%s:%s:%d", FindingKeyGone, sb.ID+"-"+sb.Tag, sb.Cycle)}, sb)
	}
}

// totals runs check 8: per KST day of the window, from the window's payment lists.
func (c *checker) totals() []DayTotals {
	days := map[string]*DayTotals{}
	var order []string
	day := func(unix int64) *DayTotals {
		t := time.Unix(unix, 0)
		if t.Before(c.s.From) || !t.Before(c.s.To) {
			return nil
		}
		k := kstDay(t)
		if days[k] == nil {
			days[k] = &DayTotals{Day: k}
			order = append(order, k)
		}
		return days[k]
	}
	for d := c.s.From; d.Before(c.s.To); d = d.Add(24 * time.Hour) {
		day(d.Unix())
	}
	for _, p := range c.s.Payments {
		if p.Usage == "issue" {
			continue
		}
		parsed, err := billing.ParseMerchantUID(p.MerchantUID)
		ours := err == nil && parsed.OfCycle()
		if d := day(p.PaidAt); d != nil {
			d.Paid++
			d.Gross += p.Amount
			if ours {
				d.Ours++
			} else {
				d.Foreign++
			}
			if p.Usage == "payment.scheduled" {
				d.Scheduled++
			}
		}
		if d := day(p.FailedAt); d != nil && p.Status == string(gateway.StatusFailed) {
			d.Failed++
		}
		for _, ce := range p.Cancels {
			if d := day(ce.At); d != nil {
				d.Cancels++
				d.Refunds += ce.Amount
			}
		}
	}
	slices.Sort(order)
	out := make([]DayTotals, 0, len(order))
	for _, k := range order {
		d := days[k]
		d.Net = d.Gross - d.Refunds
		out = append(out, *d)
	}
	return out
}

// lookupByPaymentID marks a lookup (lookupsNeeded) of a paymentId rather than a transactionId.
const lookupByPaymentID = "payment_id:"

// answeredAlone reports whether r is a paid V2 charge answered by the approval alone whose
// transactionId the workflow has not learned yet (its webhook not relayed): one under a cycle's
// shared paymentId, which PortOne lets succeed once, so the paymentId names its payment.
func answeredAlone(r billing.ChargeRecord) bool {
	if r.ImpUID != "" || r.Outcome != billing.OutcomePaid {
		return false
	}
	p, err := billing.ParseMerchantUID(r.GatewayPaymentID())
	return err == nil && p.Kind == billing.KindCyclePayment
}

// chargeOfRefund is the charge record a refund was made from: same transactionId, or while that
// is unknown the same merchant_uid (billing.RefundRecord.PaymentKey).
func chargeOfRefund(sb *sub, f billing.RefundRecord) *billing.ChargeRecord {
	for i := range sb.Charges {
		if r := &sb.Charges[i]; r.PaymentKey() == f.PaymentKey() {
			return r
		}
	}
	return nil
}

// learnTxIDs fills, in a copy of s, the transactionId of every charge answered by the approval
// alone (answeredAlone) from PortOne's payment of its paymentId, and of the refunds tallied
// under its merchant_uid, as the workflow does when the webhook comes: the checks then match
// such a charge by transactionId as every other. One whose payment the snapshot lacks is left
// as it is (record matches it by paymentId).
func learnTxIDs(s snapshot) snapshot {
	byPayment := map[string]string{}
	for _, p := range append(slices.Clone(s.Extra), s.Payments...) {
		if p.ImpUID != "" && p.wasPaid() {
			byPayment[p.MerchantUID] = p.ImpUID
		}
	}
	subs := slices.Clone(s.Subs)
	for i := range subs {
		sb := &subs[i]
		cloned := false
		for j := range sb.Charges {
			r := sb.Charges[j]
			tx, ok := byPayment[r.GatewayPaymentID()]
			if !answeredAlone(r) || !ok {
				continue
			}
			if !cloned {
				sb.Charges, sb.Refunds, cloned = slices.Clone(sb.Charges), slices.Clone(sb.Refunds), true
			}
			for k := range sb.Refunds {
				if f := &sb.Refunds[k]; f.ImpUID == "" && f.MerchantUID == r.MerchantUID {
					f.ImpUID = tx
				}
			}
			sb.Charges[j].ImpUID = tx
		}
	}
	s.Subs = subs
	return s
}
