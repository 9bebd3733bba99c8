package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/logging"
)

// kstLayout shows seconds because demo plans charge seconds apart; "MST" prints the zone's
// abbreviation, KST.
const kstLayout = "2006-01-02 15:04:05 MST"

// kst formats an instant in Asia/Seoul, the zone every billing date lives in; "-" for none.
func kst(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(calendar.Seoul).Format(kstLayout)
}

// relative says how far t is from now, coarsely, e.g. "in 3d4h" or "12m ago".
func relative(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := t.Sub(now)
	if d > -time.Second && d < time.Second {
		return "now"
	}
	suffix := ""
	prefix := "in "
	if d < 0 {
		d, prefix, suffix = -d, "", " ago"
	}
	var s string
	switch {
	case d < time.Minute:
		s = strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		s = fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
	return prefix + s + suffix
}

// planLine is a one-line plan summary.
func planLine(p billing.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %s KRW", p.Name, textfmt.FormatKRW(p.Amount))
	if p.TaxFree > 0 {
		fmt.Fprintf(&b, " (tax free %s)", textfmt.FormatKRW(p.TaxFree))
	}
	fmt.Fprintf(&b, " every %s", formatInterval(p.Interval))
	if p.Interval.Unit == calendar.Month || p.Interval.Unit == calendar.Year {
		if p.AnchorDay == 0 {
			b.WriteString(" · anchor: start day")
		} else {
			fmt.Fprintf(&b, " · anchor day %d", p.AnchorDay)
		}
	}
	if !p.Interval.Unit.IsShort() && p.ChargeTime != "" {
		fmt.Fprintf(&b, " · at %s KST", p.ChargeTime)
	}
	if p.ChargeMode != "" && p.ChargeMode != billing.ChargeModeAgain {
		fmt.Fprintf(&b, " · %s mode", p.ChargeMode)
	}
	if p.Code != "" && p.Code != p.Name {
		fmt.Fprintf(&b, " · code %s", p.Code)
	}
	return b.String()
}

// workflowInfo is what show knows about the workflow besides its state.
type workflowInfo struct {
	WorkflowID string
	RunID      string
	Status     string
}

// showOptions tune the state summary.
type showOptions struct {
	// Charges is how many of the latest charge attempts to list; 0 lists all.
	Charges int
	// Events is how many of the latest audit events to list.
	Events int
}

// renderState writes a person-readable summary of a subscription's state.
func renderState(w io.Writer, st billing.State, wf workflowInfo, now time.Time, opt showOptions) {
	tw := newTable(w)
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "  %s:\t%s\n", k, fmt.Sprintf(format, args...)) }

	fmt.Fprintf(tw, "Subscription %s\n", st.SubscriptionID)
	wfLine := wf.WorkflowID
	if wf.Status != "" {
		wfLine += " (" + wf.Status
		if st.Runs > 1 {
			wfLine += fmt.Sprintf(", run %d", st.Runs)
		}
		wfLine += ")"
	}
	line("Workflow", "%s", wfLine)
	status := string(st.Status)
	if st.StatusReason != "" {
		status += ": " + st.StatusReason
	}
	line("Status", "%s", status)
	entitled := "no"
	if st.Entitled {
		entitled = "yes"
	}
	line("Access", "%s", entitled)
	line("Billing key", "%s", st.CustomerUID)
	if b := st.Buyer; b != (billing.Buyer{}) {
		// Buyer data is personal: shown masked here; -json prints it for those entitled to it.
		line("Buyer", "%s", strings.Join(nonEmpty(logging.MaskName(b.Name), logging.MaskTel(b.Tel), logging.MaskEmail(b.Email)), " · "))
	}
	line("Plan", "%s", planLine(st.Plan))
	line("Amount", "%s KRW per cycle", textfmt.FormatKRW(st.Plan.Amount))
	if p := st.PendingPlan; p != nil {
		line("Plan change", "from cycle %d: %s", st.Cycle+1, planLine(*p))
	}
	line("Cycle", "%d", st.Cycle)
	if p := st.CurrentPeriod; p != nil {
		stub := ""
		if p.Stub {
			stub = " (pro-rata first period)"
		}
		if st.Plan.Interval.Unit.IsShort() {
			// Demo periods last seconds: their dates say nothing, their instants do.
			line("Current period", "%s .. %s%s", kst(p.Start), kst(p.End), stub)
		} else {
			line("Current period", "%s .. %s (KST)%s", p.FirstDay, p.LastDay, stub)
		}
	}
	// Both from the one source the workflow's events, answers and search attributes use
	// (billing.State.NextCharge and PaidUntil), whatever version the worker runs.
	if until := st.PaidUntil(); !until.IsZero() {
		line("Paid through", "%s", kst(until))
	}
	if next := st.NextCharge(); next.IsZero() {
		line("Next charge", "%s", noChargeWhy(st))
	} else {
		line("Next charge", "%s (%s)", kst(next), relative(now, next))
	}
	if st.Status == billing.StatusAwaitingRegistration {
		reg := "waiting for the customer's NaverPay registration"
		if !st.Registration.Deadline.IsZero() {
			reg += ", until " + kst(st.Registration.Deadline)
		}
		if st.Registration.LastError != "" {
			reg += "; last error: " + st.Registration.LastError
		}
		line("Registration", "%s", reg)
	}
	if st.Phase != "" && st.Phase != "regular" {
		phase := st.Phase
		if !st.TrialEndsAt.IsZero() {
			phase += ", free until " + kst(st.TrialEndsAt)
		}
		line("Pricing", "%s", phase)
	}
	if c := st.Consent; c != nil {
		line("Price rise", "%s → %s KRW from %s (%s): consent %s", textfmt.FormatKRW(c.AmountBefore), textfmt.FormatKRW(c.AmountAfter), c.ChangeDate, c.Why, c.Status)
	}
	if c := st.PendingCancel; c != nil {
		line("Pending cancel", "at period end, requested by %s at %s: %s", c.Requester, kst(c.RequestedAt), c.Reason)
	}
	if p := st.Pause; p != nil {
		var s string
		switch {
		case p.Pending:
			s = "pending: pauses at the end of the current period"
		case !p.PausedAt.IsZero():
			s = "paused since " + kst(p.PausedAt)
		}
		if !p.ResumeAt.IsZero() {
			s += "; resumes " + kst(p.ResumeAt)
		}
		if p.ByDunning {
			s += "; by dunning"
		}
		if p.Reason != "" {
			s += "; reason: " + p.Reason
		}
		line("Pause", "%s", s)
	}
	if d := st.DunningState; d != nil {
		s := fmt.Sprintf("cycle %d unpaid since %s; %d attempts, %d of %d retries used",
			d.Cycle, kst(d.DueAt), d.Attempts, d.RetriesUsed, len(st.Dunning.RetryAfter))
		if !d.NextRetryAt.IsZero() {
			s += "; next retry " + kst(d.NextRetryAt)
		}
		if d.Hard {
			s += "; waiting for a new billing key (hard decline)"
		}
		s += "; grace ends " + kst(d.GraceEndsAt)
		if d.LastReason != "" {
			s += "; last decline: " + d.LastReason
		}
		line("Dunning", "%s", s)
	}
	if sc := st.Scheduled; sc != nil {
		line("Scheduled", "cycle %d %s at %s (%s KRW, PortOne scheduler)", sc.Cycle, sc.MerchantUID, kst(sc.ScheduleAt), textfmt.FormatKRW(sc.Amount))
	}
	line("Started", "%s", kst(st.StartedAt))
	if !st.EndedAt.IsZero() {
		line("Ended", "%s", kst(st.EndedAt))
	}
	tw.Flush()

	renderCharges(w, st, opt.Charges)
	renderRefunds(w, st.Refunds)
	renderEvents(w, st.Events, opt.Events)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func renderCharges(w io.Writer, st billing.State, limit int) {
	charges := st.Charges
	omitted := st.ChargesOmitted
	if limit > 0 && len(charges) > limit {
		omitted += len(charges) - limit
		charges = charges[len(charges)-limit:]
	}
	fmt.Fprintf(w, "\nCharge attempts (%d)\n", len(st.Charges)+st.ChargesOmitted)
	if omitted > 0 {
		fmt.Fprintf(w, "  %d older attempts not shown (-charges 0 lists what the state holds; older runs' histories hold the rest)\n", omitted)
	}
	if len(charges) == 0 {
		fmt.Fprintln(w, "  none yet")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "  CYCLE\tATTEMPT\tMERCHANT_UID\tIMP_UID\tAMOUNT\tOUTCOME\tREASON\tTIME (KST)")
	for _, c := range charges {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Cycle, c.Attempt, c.MerchantUID, dash(c.ImpUID), textfmt.FormatKRW(c.Amount), c.Outcome, dash(c.Reason), kstShort(c.At))
	}
	tw.Flush()
}

func renderRefunds(w io.Writer, refunds []billing.RefundRecord) {
	if len(refunds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nRefunds (%d)\n", len(refunds))
	tw := newTable(w)
	fmt.Fprintln(tw, "  CYCLE\tIMP_UID\tMERCHANT_UID\tAMOUNT\tOUTCOME\tREQUESTER\tREASON\tTIME (KST)")
	for _, r := range refunds {
		outcome := dash(r.Outcome)
		switch r.Outcome {
		case billing.RefundRequested:
			outcome = "requested, not yet confirmed"
		case billing.RefundFailed:
			outcome = "failed, not refunded"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Cycle, r.ImpUID, r.MerchantUID, textfmt.FormatKRW(r.Amount), outcome, r.Requester, dash(r.Reason), kstShort(r.At))
	}
	tw.Flush()
}

func renderEvents(w io.Writer, events []billing.Event, limit int) {
	if len(events) == 0 {
		return
	}
	shown := events
	if limit > 0 && len(shown) > limit {
		shown = shown[len(shown)-limit:]
	}
	fmt.Fprintf(w, "\nLast %d events\n", len(shown))
	tw := newTable(w)
	for _, e := range shown {
		who := ""
		if e.Requester != "" {
			who = " (" + e.Requester + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\t%s\n", kstShort(e.At), e.Kind, who, e.Detail)
	}
	tw.Flush()
}

// kstShort is kst without the zone, for tables whose header says KST.
func kstShort(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(calendar.Seoul).Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// noChargeWhy says why no charge will come.
func noChargeWhy(st billing.State) string {
	switch {
	case st.Status.Terminal():
		return "none: the subscription ended"
	case st.Status != billing.StatusActive && st.Status != billing.StatusPaused && st.Status != billing.StatusPastDue &&
		st.Status != billing.StatusPaymentMethodRequired:
		return "none planned"
	case st.PendingCancel != nil:
		return "none: canceled at the end of the period (" + kst(st.NextChargeAt) + ")"
	case st.Pause != nil && st.Pause.Pending:
		return "none: pausing at the end of the period (" + kst(st.NextChargeAt) + ")"
	case st.Status == billing.StatusPaused:
		return "none while paused"
	case st.Status == billing.StatusPastDue || st.Status == billing.StatusPaymentMethodRequired:
		return "none: no retry left (see Dunning)"
	}
	return "none planned"
}

// renderReceipt writes an update's answer under the command's name.
func renderReceipt(w io.Writer, cmd, id string, r billing.Receipt, requestID string, now time.Time) {
	text := r.Message
	if text == "" {
		text = "done"
	}
	fmt.Fprintf(w, "%s: %s\n", cmd, text)
	tw := newTable(w)
	fmt.Fprintf(tw, "  Subscription:\t%s\n", id)
	fmt.Fprintf(tw, "  Status:\t%s\n", r.Status)
	if r.NextChargeAt.IsZero() {
		fmt.Fprintf(tw, "  Next charge:\tnone planned\n")
	} else {
		fmt.Fprintf(tw, "  Next charge:\t%s (%s)\n", kst(r.NextChargeAt), relative(now, r.NextChargeAt))
	}
	if !r.PaidThrough.IsZero() {
		fmt.Fprintf(tw, "  Paid through:\t%s\n", kst(r.PaidThrough))
	}
	if f := r.Refund; f != nil {
		outcome := ""
		if f.Outcome != "" {
			outcome = ", " + f.Outcome
		}
		fmt.Fprintf(tw, "  Refund:\t%s KRW of %s (cycle %d, %s%s)\n", textfmt.FormatKRW(f.Amount), f.ImpUID, f.Cycle, f.Requester, outcome)
	}
	if requestID != "" {
		fmt.Fprintf(tw, "  Request ID:\t%s\n", requestID)
	}
	tw.Flush()
	if r.Duplicate {
		fmt.Fprintln(w, "  Note: this request ID was already applied earlier; nothing was done twice.")
	}
}
