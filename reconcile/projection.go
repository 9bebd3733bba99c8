package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
)

// The projection check (issue 23): the read model (package readmodel, the staff console's
// source) must agree with every workflow's state, since the workflows stay the authority. Gather
// compares each state it reads with the subscription's row as it reads it (the same states the
// other checks use, no second listing), then, once the PortOne side is gathered, reads the
// differing subscriptions again and compares once more, so that events still on their way to the
// read model when the state was first read (a projection behind, "last_seq") do not count. What
// still differs is a FindingProjection per field. Those findings are never marked (an attention
// mark would put the subscription in the people's queue, and into the projection, for the read
// model's fault), and the check never touches money: with Input.RepairProjection the row is set
// from the workflow's state (readmodel's ApplyState, which takes no money), after the difference
// is recorded.

// Projection is the read model as reconciliation reads it. The worker adapts readmodel.Store to
// it (a package reconcile does not import, so that the starter, which shows reports, does not
// link the read model's database drivers).
type Projection interface {
	// Compare lists the fields where the subscription's row disagrees with st (readmodel's
	// Store.Compare): empty when they agree.
	Compare(ctx context.Context, subscriptionID string, st billing.State) ([]ProjectionDifference, error)
	// Repair sets the subscription's row from st (readmodel's Store.ApplyState).
	Repair(ctx context.Context, st billing.State) error
}

// ProjectionDifference is one field where the read model and a workflow's state disagree, each
// side's value as text (times RFC 3339 UTC, "none" for no time).
type ProjectionDifference struct {
	Field      string `json:"field"`
	Projection string `json:"projection"`
	Workflow   string `json:"workflow"`
	// Repaired is true when Input.RepairProjection set the row from the state and the field
	// agrees since.
	Repaired bool `json:"repaired,omitempty"`
}

// ProjectionCheck is the report's account of the projection check. A check that did not run
// says why in Skipped; one that could not read the read model for some subscriptions counts them
// in Errors: it never passes silently.
type ProjectionCheck struct {
	// Skipped says why the check did not run (no read model configured); empty when it ran.
	Skipped string `json:"skipped,omitempty"`
	// Compared counts the states compared with their rows; Differing the subscriptions that
	// still differed at the second look (each field is a finding), Behind those of them whose
	// only difference is events not yet applied (last_seq).
	Compared  int `json:"compared"`
	Differing int `json:"differing"`
	Behind    int `json:"behind,omitempty"`
	// Repaired counts the rows set from their workflow's state (Input.RepairProjection) that
	// agree since; RepairFailed those that still differ after it (money is never repaired:
	// totals come from the events only).
	Repaired     int `json:"repaired,omitempty"`
	RepairFailed int `json:"repair_failed,omitempty"`
	// Errors counts the subscriptions whose row could not be read (the read model unreachable),
	// FirstError says why.
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	// Unsettled counts the differing subscriptions left at their first look: past
	// maxProjectionRechecks, or their state unreadable the second time.
	Unsettled int `json:"unsettled,omitempty"`
}

// projectionSkipped is the report's word for a worker without a read model.
const projectionSkipped = "no read model configured: set PAYCYCLE_READMODEL_DSN on the worker to compare it with every workflow's state"

// maxProjectionRechecks bounds the second looks (each a state query and a row read).
const maxProjectionRechecks = 2000

// projEntry is a subscription whose row differed at the first look.
type projEntry struct {
	WorkflowID string                 `json:"workflow_id"`
	RunID      string                 `json:"run_id"`
	ID         string                 `json:"id"`
	Tag        string                 `json:"tag"`
	Status     billing.Status         `json:"status"`
	Diffs      []ProjectionDifference `json:"diffs"`
	// Settled: the second look was made (Diffs are its answer).
	Settled bool `json:"settled,omitempty"`
}

// projProgress is the projection check's part of Gather's heartbeat.
type projProgress struct {
	Compared   int         `json:"compared,omitempty"`
	Errors     int         `json:"errors,omitempty"`
	FirstError string      `json:"first_error,omitempty"`
	Entries    []projEntry `json:"entries,omitempty"`
	// Checked: the second looks are done (a resumed Gather does not repeat them).
	Checked      bool `json:"checked,omitempty"`
	Repaired     int  `json:"repaired,omitempty"`
	RepairFailed int  `json:"repair_failed,omitempty"`
	Unsettled    int  `json:"unsettled,omitempty"`
}

// compareProjection is the first look at one state's row, as gatherOurs reads the state.
func (a *Activities) compareProjection(ctx context.Context, p *projProgress, workflowID, runID string, st billing.State) error {
	if a.Projection == nil {
		return nil
	}
	diffs, err := a.Projection.Compare(ctx, st.SubscriptionID, st)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.Errors++
		if p.FirstError == "" {
			p.FirstError = fmt.Sprintf("%s: %v", st.SubscriptionID, err)
		}
		return nil
	}
	p.Compared++
	if len(diffs) > 0 {
		p.Entries = append(p.Entries, projEntry{WorkflowID: workflowID, RunID: runID, ID: st.SubscriptionID, Tag: st.Tag, Status: st.Status, Diffs: diffs})
	}
	return nil
}

// otherIncarnation: the only difference is the row's stream, the state is of an ended
// incarnation, and the row is of another incarnation of the ID that this run read too (compared
// on its own): an ended incarnation's state against the row its successor now owns is no
// difference. A live state against an ended incarnation's row is one (the successor's events
// have not arrived).
func otherIncarnation(e projEntry, subs []sub) bool {
	if len(e.Diffs) != 1 || e.Diffs[0].Field != "stream" || !e.Status.Terminal() {
		return false
	}
	return slices.ContainsFunc(subs, func(s sub) bool { return s.ID == e.ID && s.Tag == e.Diffs[0].Projection })
}

// settleProjection takes the second look at every subscription that differed: its state read
// again and compared again (a projection that was behind has usually caught up), and, with
// repair, the row set from the state and compared once more.
func (a *Activities) settleProjection(ctx context.Context, p *projProgress, subs []sub, repair bool, beat func()) error {
	if a.Projection == nil || p.Checked {
		return nil
	}
	p.Entries = slices.DeleteFunc(p.Entries, func(e projEntry) bool { return otherIncarnation(e, subs) })
	for i := range p.Entries {
		e := &p.Entries[i]
		if e.Settled {
			continue
		}
		if i >= maxProjectionRechecks {
			p.Unsettled++
			continue
		}
		st, err := a.Subscriptions.State(ctx, e.WorkflowID, e.RunID)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.Unsettled++
			e.Settled = true
			continue
		}
		diffs, err := a.Projection.Compare(ctx, e.ID, st)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.Unsettled++
			e.Settled = true
			continue
		}
		e.Status = st.Status
		if len(diffs) > 0 && repair && !otherIncarnation(projEntry{ID: e.ID, Status: st.Status, Diffs: diffs}, subs) {
			if err := a.Projection.Repair(ctx, st); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.logger(ctx).Warn("reconcile: projection not repaired", zap.String("subscription_id", e.ID), zap.Error(err))
			}
			after, err := a.Projection.Compare(ctx, e.ID, st)
			if err == nil && len(after) == 0 {
				p.Repaired++
			} else {
				p.RepairFailed++
			}
			for j := range diffs {
				diffs[j].Repaired = err == nil && !slices.ContainsFunc(after, func(d ProjectionDifference) bool { return d.Field == diffs[j].Field })
			}
		}
		e.Diffs, e.Settled = diffs, true
		beat()
	}
	p.Entries = slices.DeleteFunc(p.Entries, func(e projEntry) bool { return len(e.Diffs) == 0 || otherIncarnation(e, subs) })
	p.Checked = true
	return nil
}

// addProjection puts the check's findings and account in the report, after the other checks'
// (FindingProjection is last in FindingNames, so the report's bound drops these first).
func (a *Activities) addProjection(r *Report, p projProgress) {
	if a.Projection == nil {
		r.Projection = &ProjectionCheck{Skipped: projectionSkipped}
		return
	}
	pc := &ProjectionCheck{Compared: p.Compared, Errors: p.Errors, FirstError: p.FirstError,
		Repaired: p.Repaired, RepairFailed: p.RepairFailed, Unsettled: p.Unsettled}
	for _, e := range p.Entries {
		pc.Differing++
		if len(e.Diffs) == 1 && e.Diffs[0].Field == "last_seq" {
			pc.Behind++
		}
		for _, d := range e.Diffs {
			detail := fmt.Sprintf("%s: the read model says %s, the workflow %s", d.Field, d.Projection, d.Workflow)
			switch {
			case d.Field == "last_seq":
				detail = fmt.Sprintf("the read model is behind: it applied events up to %s, the workflow made %s (events not delivered or held behind a gap)", d.Projection, d.Workflow)
			case d.Field == "row":
				detail = "the read model has no row for this subscription (its events never arrived; seed it from the state)"
			}
			if d.Repaired {
				detail += "; repaired from the workflow's state"
			}
			r.Findings = append(r.Findings, Finding{Name: FindingProjection, SubscriptionID: e.ID,
				Ours: d.Field + " " + d.Workflow, Detail: strings.TrimSpace(detail), Projection: &d})
			r.Counts[FindingProjection]++
		}
	}
	r.Projection = pc
}

// Summary is the check's account in one line, as `starter reconcile show` prints it.
func (pc *ProjectionCheck) Summary() string {
	if pc == nil {
		return "not part of this report (made before the check existed)"
	}
	if pc.Skipped != "" {
		return "skipped: " + pc.Skipped
	}
	s := fmt.Sprintf("%d subscriptions compared with the read model, %d differ", pc.Compared, pc.Differing)
	if pc.Behind > 0 {
		s += fmt.Sprintf(" (%d only behind)", pc.Behind)
	}
	if pc.Repaired+pc.RepairFailed > 0 {
		s += fmt.Sprintf("; %d repaired, %d still differ after repair", pc.Repaired, pc.RepairFailed)
	}
	if pc.Unsettled > 0 {
		s += fmt.Sprintf("; %d left at their first look", pc.Unsettled)
	}
	if pc.Errors > 0 {
		s += fmt.Sprintf("; %d NOT compared, the read model did not answer (%s)", pc.Errors, pc.FirstError)
	}
	return s
}
