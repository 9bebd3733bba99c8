package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// saCache is what this run knows of its search attributes on the server, so that it upserts
// only the ones that changed (each upsert is a command and a visibility write).
type saCache struct {
	// last is the values last upserted (or, in a continued compact run, carried by the server).
	last saSnapshot
	// detailsSet is true once this run set the Web UI summary.
	detailsSet bool
}

// saSnapshot is the search-attribute values last upserted.
type saSnapshot struct {
	set      bool
	status   billing.Status
	customer string
	next     time.Time
	plan     string
	cycle    int
	amount   int64
	// attention is written only once it has been true, so runs that never park issue the same
	// commands as before the attribute existed.
	attention bool
	// consent and phase, likewise, only once they have a value (versionConsentGate).
	consent string
	phase   string
}

// seedSearchAttributes starts a continued run from the search attributes the server carried
// across continue-as-new, so that its first refresh upserts only what changed.
func (r *runner) seedSearchAttributes() {
	sa := workflow.GetTypedSearchAttributes(r.ctx)
	last := saSnapshot{set: true}
	last.status = billing.Status(getKeyword(sa, billing.SABillingStatus))
	last.customer = getKeyword(sa, billing.SACustomerUID)
	if t, ok := sa.GetTime(billing.SANextChargeAt); ok {
		last.next = t
	}
	last.plan = getKeyword(sa, billing.SAPlanName)
	if v, ok := sa.GetInt64(billing.SABillingCycle); ok {
		last.cycle = int(v)
	}
	if v, ok := sa.GetInt64(billing.SAAmountKRW); ok {
		last.amount = v
	}
	if v, ok := sa.GetBool(billing.SANeedsAttention); ok {
		last.attention = v
	}
	last.consent = getKeyword(sa, billing.SAConsentStatus)
	last.phase = getKeyword(sa, billing.SABillingPhase)
	r.sa.last = last
}

func getKeyword(sa temporal.SearchAttributes, key temporal.SearchAttributeKeyKeyword) string {
	v, _ := sa.GetKeyword(key)
	return v
}

// upsertSearchAttributes upserts the search attributes whose value changed, so that operators'
// list queries (BillingStatus='past_due', NextChargeAt < ...) see the subscription as it is.
func (r *runner) upsertSearchAttributes() {
	cur := saSnapshot{
		set: true, status: r.s.Status, customer: r.s.CustomerUID, next: r.nextChargeShown(),
		plan: r.s.Plan.Name, cycle: r.s.Cycle, amount: r.s.Plan.Amount, attention: r.s.Attention != nil,
	}
	if r.features.consentGate {
		if c := r.s.Consent; c != nil {
			cur.consent = string(c.Status)
		} else if last := r.sa.last.consent; last != "" {
			cur.consent = "none"
		}
		if r.s.Plan.Trial != nil {
			cur.phase = r.s.Phase
		}
	}
	cycleSAs := !r.settings.NoCycleSearchAttributes
	if !cycleSAs {
		// Only the status-level attributes: NextChargeAt and BillingCycle would cost one
		// visibility write every cycle. A run that finds them carried from before is the one
		// that removes them.
		cur.next, cur.cycle = time.Time{}, 0
	}
	last := r.sa.last
	var ups []temporal.SearchAttributeUpdate
	if !last.set || last.status != cur.status {
		ups = append(ups, billing.SABillingStatus.ValueSet(string(cur.status)))
	}
	if !last.set || last.customer != cur.customer {
		ups = append(ups, billing.SACustomerUID.ValueSet(cur.customer))
	}
	if !cycleSAs {
		if last.set && !last.next.IsZero() {
			ups = append(ups, billing.SANextChargeAt.ValueUnset())
		}
	} else if !last.set || !last.next.Equal(cur.next) {
		if cur.next.IsZero() {
			ups = append(ups, billing.SANextChargeAt.ValueUnset())
		} else {
			ups = append(ups, billing.SANextChargeAt.ValueSet(cur.next))
		}
	}
	if !last.set || last.plan != cur.plan {
		ups = append(ups, billing.SAPlanName.ValueSet(cur.plan))
	}
	if !cycleSAs {
		if last.set && last.cycle != 0 {
			ups = append(ups, billing.SABillingCycle.ValueUnset())
		}
	} else if !last.set || last.cycle != cur.cycle {
		ups = append(ups, billing.SABillingCycle.ValueSet(int64(cur.cycle)))
	}
	if !last.set || last.amount != cur.amount {
		ups = append(ups, billing.SAAmountKRW.ValueSet(cur.amount))
	}
	if (!last.set && cur.attention) || (last.set && last.attention != cur.attention) {
		ups = append(ups, billing.SANeedsAttention.ValueSet(cur.attention))
	}
	if cur.consent != last.consent && cur.consent != "" {
		ups = append(ups, billing.SAConsentStatus.ValueSet(cur.consent))
	}
	if cur.phase != last.phase && cur.phase != "" {
		ups = append(ups, billing.SABillingPhase.ValueSet(cur.phase))
	}
	if len(ups) == 0 {
		if !cycleSAs {
			// The Web UI's summary shows the cycle and the next charge; it is no command, so it
			// is kept current without the attributes.
			workflow.SetCurrentDetails(r.ctx, r.details())
			return
		}
		if !r.sa.detailsSet && r.features.compact {
			// A continued run that upserted nothing still shows its summary in the Web UI.
			r.sa.detailsSet = true
			workflow.SetCurrentDetails(r.ctx, r.details())
		}
		return
	}
	r.sa.detailsSet = true
	if err := workflow.UpsertTypedSearchAttributes(r.ctx, ups...); err != nil {
		// Only an unregistered attribute makes this fail; billing goes on regardless.
		r.log.Error("upsert search attributes failed; register them on the server (see README)", "error", err)
		return
	}
	r.sa.last = cur
	workflow.SetCurrentDetails(r.ctx, r.details())
}

// details is the Markdown summary the Web UI shows on the workflow page.
func (r *runner) details() string {
	s := r.s
	out := "**" + string(s.Status) + "** · " + s.Plan.Name + " · " + textfmt.FormatKRW(s.Plan.Amount) + " KRW · cycle " + itoa(s.Cycle)
	if next := r.nextChargeShown(); !next.IsZero() {
		out += "\n\nnext charge: " + next.In(seoul()).Format("2006-01-02 15:04 MST")
	}
	if s.StatusReason != "" {
		out += "\n\n" + s.StatusReason
	}
	return out
}

func seoul() *time.Location { return calendar.Seoul }
