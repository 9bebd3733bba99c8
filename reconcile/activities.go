package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// Activity names. They are registered under these names (not the method names) so that they
// can never collide with the subscription workflow's activities on the same task queue.
const (
	ActivityGather          = "ReconcileGather"
	ActivityMarkAttention   = "ReconcileMarkAttention"
	ActivityRefundDuplicate = "ReconcileRefundDuplicate"
)

// errNoGateway is a worker without a payment gateway: a configuration error no retry mends.
var errNoGateway = temporal.NewNonRetryableApplicationError("reconcile: no payment gateway configured", "Config", nil)

// Execution is one subscription workflow run as visibility lists it.
type Execution struct {
	WorkflowID string
	RunID      string
	// ContinuedAsNew runs are skipped: their successor carries their state.
	ContinuedAsNew bool
}

// Subscriptions is our side: the subscription workflows. TemporalSubscriptions is the real one.
type Subscriptions interface {
	// List returns one page of subscription executions matching the visibility query, and the
	// token of the next page (nil after the last).
	List(ctx context.Context, query string, token []byte) ([]Execution, []byte, error)
	// State reads one run's state (billing.QueryState, or the result of a completed run).
	State(ctx context.Context, workflowID, runID string) (billing.State, error)
	// Mark sends billing.MsgMarkAttention to the subscription's current run.
	Mark(ctx context.Context, workflowID string, req billing.AttentionRequest) error
}

// ErrEnded is what Subscriptions.Mark returns when the subscription's workflow has ended and
// cannot be signalled: the finding stays in the report, unmarked.
var ErrEnded = errors.New("the subscription's workflow has ended")

// Activities are reconciliation's side effects. Register them with Register.
type Activities struct {
	// Gateway is the payment gateway read (payments, pending schedules, billing keys) and, for
	// the opt-in duplicate refund, written: gateway/portonev1 for PortOne V1.
	Gateway       gateway.Gateway
	Subscriptions Subscriptions
	// Logger receives one structured line per finding. Optional: the activity logger.
	Logger *zap.Logger
	// Projection is the read model the projection check compares (projection.go); nil: the
	// check is reported as skipped.
	Projection Projection
}

// GatherInput is the Gather activity's input.
type GatherInput struct {
	From          time.Time     `json:"from"`
	To            time.Time     `json:"to"`
	AsOf          time.Time     `json:"as_of"`
	Rate          float64       `json:"rate"`
	StopTolerance time.Duration `json:"stop_tolerance"`
	// RepairProjection is Input.RepairProjection.
	RepairProjection bool `json:"repair_projection,omitempty"`
}

// Gather phases, in order. A retried Gather resumes at the phase and page its last heartbeat
// recorded.
const (
	phaseOurs = iota
	phasePayments
	phaseSchedules
	phaseKeys
	phaseLookups
	phaseDone
)

// progress is Gather's heartbeat: how far it got and what it has so far.
type progress struct {
	Phase int    `json:"phase"`
	Token []byte `json:"token,omitempty"`
	// Cursor is the gateway's cursor of the next payments page ("" before the first). A
	// heartbeat from before the seam has none (its status_idx and page are dropped): its
	// payments phase lists again from the start, and dedupe drops what it listed twice.
	Cursor   string   `json:"cursor,omitempty"`
	Requests int      `json:"requests"`
	Resumed  int      `json:"resumed"`
	Snap     snapshot `json:"snap"`
	// Oversized marks a liveness-only heartbeat: the progress was too big to record, so a
	// retry starts afresh.
	Oversized bool `json:"oversized,omitempty"`
	// Proj is the projection check's progress (projection.go).
	Proj projProgress `json:"proj,omitzero"`
}

// maxHeartbeatBytes keeps heartbeat details well under Temporal's 2 MB payload limit: past it
// (roughly 3,000 subscriptions and payments together), Gather heartbeats for liveness only and
// a retry restarts instead of resuming.
const maxHeartbeatBytes = 1 << 20

// Bounds that keep every loop finite whatever a server answers.
const (
	maxListPages   = 100000
	maxStatusPages = 10000
	keysPerCall    = gateway.MaxKeysPerCall
)

// visibilityQuery selects the subscriptions that can own a payment in the window: running ones,
// and those closed since a week before it.
func visibilityQuery(from time.Time) string {
	return fmt.Sprintf("WorkflowType = '%s' AND (ExecutionStatus = 'Running' OR CloseTime >= '%s')",
		billing.WorkflowType, from.Add(-7*24*time.Hour).UTC().Format(time.RFC3339))
}

// Gather reads both sides and runs the checks. It only reads. Its result, recorded in the
// workflow's history, is the evidence every later step (marks, refunds) relies on.
func (a *Activities) Gather(ctx context.Context, in GatherInput) (Report, error) {
	if a.Gateway == nil {
		return Report{}, errNoGateway
	}
	prog := progress{Snap: snapshot{From: in.From, To: in.To, AsOf: in.AsOf, StopTolerance: in.StopTolerance, KeysFound: map[string]bool{}}}
	if activity.HasHeartbeatDetails(ctx) {
		var saved progress
		if err := activity.GetHeartbeatDetails(ctx, &saved); err == nil && !saved.Oversized && saved.Snap.From.Equal(in.From) && saved.Snap.To.Equal(in.To) {
			prog = saved
			prog.Resumed++
			if prog.Snap.KeysFound == nil {
				prog.Snap.KeysFound = map[string]bool{}
			}
		}
	}
	lim := rate.NewLimiter(rate.Limit(cmpOr(in.Rate, DefaultRate)), 1)
	call := func() error {
		prog.Requests++
		return lim.Wait(ctx)
	}
	beat := func() {
		if b, err := json.Marshal(prog); err == nil && len(b) > maxHeartbeatBytes {
			activity.RecordHeartbeat(ctx, progress{Phase: prog.Phase, Requests: prog.Requests, Oversized: true})
			return
		}
		activity.RecordHeartbeat(ctx, prog)
	}

	if prog.Phase == phaseOurs {
		if err := a.gatherOurs(ctx, &prog, beat); err != nil {
			return Report{}, err
		}
		prog.Phase, prog.Token = phasePayments, nil
		beat()
	}
	if prog.Phase == phasePayments {
		if err := a.gatherPayments(ctx, &prog, call, beat); err != nil {
			return Report{}, err
		}
		prog.Phase = phaseSchedules
		prog.Snap.Payments = dedupe(prog.Snap.Payments)
		beat()
	}
	if prog.Phase == phaseSchedules {
		if err := a.gatherSchedules(ctx, &prog, call); err != nil {
			return Report{}, err
		}
		prog.Phase = phaseKeys
		beat()
	}
	if prog.Phase == phaseKeys {
		if err := a.gatherKeys(ctx, &prog, call, beat); err != nil {
			return Report{}, err
		}
		prog.Phase = phaseLookups
		beat()
	}
	if prog.Phase == phaseLookups {
		if err := a.gatherLookups(ctx, &prog, call, beat); err != nil {
			return Report{}, err
		}
		prog.Phase = phaseDone
		beat()
	}
	if err := a.settleProjection(ctx, &prog.Proj, prog.Snap.Subs, in.RepairProjection, beat); err != nil {
		return Report{}, err
	}
	r := check(prog.Snap)
	a.addProjection(&r, prog.Proj)
	r.Requests = prog.Requests
	a.logReport(ctx, r)
	if len(r.Findings) > maxReportFindings {
		r.Truncated = len(r.Findings) - maxReportFindings
		r.Findings = r.Findings[:maxReportFindings]
	}
	return r, nil
}

// maxReportFindings bounds the report (an activity result and the workflow's result, both under
// Temporal's 2 MB limit). Counts still count every finding and every one is logged; only the
// first ones, in check order, are kept with their evidence and marked.
const maxReportFindings = 500

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (a *Activities) gatherOurs(ctx context.Context, prog *progress, beat func()) error {
	if a.Subscriptions == nil {
		return temporal.NewNonRetryableApplicationError("reconcile: no subscription source configured", "Config", nil)
	}
	q := visibilityQuery(prog.Snap.From)
	for range maxListPages {
		execs, next, err := a.Subscriptions.List(ctx, q, prog.Token)
		if err != nil {
			return fmt.Errorf("list subscriptions: %w", err)
		}
		for _, e := range execs {
			if e.ContinuedAsNew {
				continue
			}
			st, err := a.Subscriptions.State(ctx, e.WorkflowID, e.RunID)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.logger(ctx).Warn("reconcile: subscription state unreadable", zap.String("workflow_id", e.WorkflowID), zap.Error(err))
				prog.Snap.Unreadable = append(prog.Snap.Unreadable, e.WorkflowID)
				continue
			}
			if err := a.compareProjection(ctx, &prog.Proj, e.WorkflowID, e.RunID, st); err != nil {
				return err
			}
			prog.Snap.Subs = append(prog.Snap.Subs, subOf(e.WorkflowID, e.RunID, st))
		}
		prog.Token = next
		beat()
		if len(next) == 0 {
			return nil
		}
	}
	return errors.New("reconcile: too many visibility pages")
}

// gatherPayments lists the window's settled payments (every final status, each on its own
// timestamp; joined by imp_uid in dedupe), one gateway page per heartbeat.
func (a *Activities) gatherPayments(ctx context.Context, prog *progress, call func() error, beat func()) error {
	for range maxStatusPages {
		if err := call(); err != nil {
			return err
		}
		page, err := a.Gateway.ListPayments(ctx, gateway.ListQuery{From: prog.Snap.From, To: prog.Snap.To, Cursor: prog.Cursor})
		if err != nil {
			return fmt.Errorf("PortOne payments, cursor %q: %w", prog.Cursor, err)
		}
		for _, p := range page.Payments {
			prog.Snap.Payments = append(prog.Snap.Payments, payOf(p))
		}
		if page.Next == "" {
			prog.Cursor = ""
			return nil
		}
		prog.Cursor = page.Next
		beat()
	}
	return errors.New("reconcile: too many payment pages")
}

// dedupe keeps one entry per imp_uid (the last listed): a payment whose status changed while
// the lists were read can show in two of them.
func dedupe(ps []pay) []pay {
	idx := map[string]int{}
	out := ps[:0:0]
	for _, p := range ps {
		if i, ok := idx[p.ImpUID]; ok {
			out[i] = p
			continue
		}
		idx[p.ImpUID] = len(out)
		out = append(out, p)
	}
	return out
}

// schedule window: PortOne allows three months; this covers the schedules that matter now
// (the last two weeks, for ones that should have run, and the next 75 days).
const (
	schedBack    = 14 * 24 * time.Hour
	schedForward = 75 * 24 * time.Hour
)

func (a *Activities) gatherSchedules(ctx context.Context, prog *progress, call func() error) error {
	from, to := prog.Snap.AsOf.Add(-schedBack).Truncate(time.Second), prog.Snap.AsOf.Add(schedForward).Truncate(time.Second)
	prog.Snap.SchedFrom, prog.Snap.SchedTo = from, to
	prog.Snap.Schedules = nil
	cursor := ""
	for range maxStatusPages {
		if err := call(); err != nil {
			return err
		}
		page, err := a.Gateway.PendingSchedules(ctx, gateway.ListQuery{From: from, To: to, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("PortOne schedules, cursor %q: %w", cursor, err)
		}
		for _, s := range page.Schedules {
			prog.Snap.Schedules = append(prog.Snap.Schedules, sched{MerchantUID: s.PaymentID, CustomerUID: s.Key, ScheduleAt: unixOf(s.At), Amount: s.Amount})
		}
		if page.Next == "" {
			return nil
		}
		cursor = page.Next
	}
	return errors.New("reconcile: too many schedule pages")
}

func (a *Activities) gatherKeys(ctx context.Context, prog *progress, call func() error, beat func()) error {
	var want []string
	for _, sb := range prog.Snap.Subs {
		if chargingStatus(sb.Status) && sb.CustomerUID != "" && !slices.Contains(want, sb.CustomerUID) {
			want = append(want, sb.CustomerUID)
		}
	}
	slices.Sort(want)
	for len(prog.Snap.KeysAsked) < len(want) {
		chunk := want[len(prog.Snap.KeysAsked):min(len(prog.Snap.KeysAsked)+keysPerCall, len(want))]
		if err := call(); err != nil {
			return err
		}
		found, err := a.Gateway.BillingKeys(ctx, chunk)
		if err != nil {
			return fmt.Errorf("PortOne billing keys: %w", err)
		}
		for _, k := range found {
			prog.Snap.KeysFound[k.Key] = true
		}
		prog.Snap.KeysAsked = append(prog.Snap.KeysAsked, chunk...)
		beat()
	}
	return nil
}

// lookupsNeeded lists the payments the checks need beyond the window's lists: refunds our
// states recorded in the window (a partial refund of an older payment shows in no list), and
// the other paid records of a cycle that has a kept payment in the window (a duplicate across
// days).
func lookupsNeeded(s snapshot) []string {
	have := map[string]bool{}
	for _, p := range s.Payments {
		have[p.ImpUID] = true
	}
	for _, p := range s.Extra {
		have[p.ImpUID] = true
	}
	var out []string
	need := func(imp string) {
		if imp != "" && !have[imp] {
			have[imp] = true
			out = append(out, imp)
		}
	}
	// A V2 charge whose transactionId our state has not learned yet (answered by the approval
	// alone, its webhook lost) is looked up by its paymentId.
	havePayment := map[string]bool{}
	for _, p := range append(slices.Clone(s.Payments), s.Extra...) {
		havePayment[p.MerchantUID] = true
	}
	needCharge := func(sb *sub, r billing.ChargeRecord) {
		if r.ImpUID != "" {
			need(r.ImpUID)
			return
		}
		if pid := r.GatewayPaymentID(); answeredAlone(r) && !havePayment[pid] {
			havePayment[pid] = true
			out = append(out, lookupByPaymentID+pid)
		}
	}
	byKey := map[string]*sub{}
	for i := range s.Subs {
		sb := &s.Subs[i]
		byKey[subKey(sb.ID, sb.Tag)] = sb
		for _, r := range sb.Refunds {
			if r.Outcome == "refunded" && !r.At.Before(s.From) && r.At.Before(s.To) {
				if c := chargeOfRefund(sb, r); r.ImpUID == "" && c != nil {
					needCharge(sb, *c)
				} else {
					need(r.ImpUID)
				}
			}
		}
	}
	for _, p := range s.Payments {
		parsed, err := billing.ParseMerchantUID(p.MerchantUID)
		if err != nil || !parsed.OfCycle() || !p.kept() {
			continue
		}
		if sb := byKey[subKey(parsed.Charge.SubscriptionID, parsed.Charge.Tag)]; sb != nil {
			for _, r := range sb.Charges {
				if r.Cycle == parsed.Charge.Cycle && r.Outcome == billing.OutcomePaid {
					needCharge(sb, r)
				}
			}
		}
	}
	return out
}

func (a *Activities) gatherLookups(ctx context.Context, prog *progress, call func() error, beat func()) error {
	for _, imp := range lookupsNeeded(prog.Snap) {
		if err := call(); err != nil {
			return err
		}
		if pid, ok := strings.CutPrefix(imp, lookupByPaymentID); ok {
			ps, err := a.Gateway.Payments(ctx, pid)
			if err != nil {
				return fmt.Errorf("PortOne payment lookup: %w", err)
			}
			for _, p := range ps {
				prog.Snap.Extra = append(prog.Snap.Extra, payOf(p))
			}
			beat()
			continue
		}
		p, err := a.Gateway.Payment(ctx, imp)
		switch {
		case errors.Is(err, gateway.ErrNotFound):
			prog.Snap.Extra = append(prog.Snap.Extra, pay{ImpUID: imp, Status: "not_found"})
		case err != nil:
			return fmt.Errorf("PortOne payment lookup: %w", err)
		default:
			prog.Snap.Extra = append(prog.Snap.Extra, payOf(p))
		}
		beat()
	}
	return nil
}

func (a *Activities) logger(ctx context.Context) *zap.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return zap.NewNop()
}

func (a *Activities) logReport(ctx context.Context, r Report) {
	log := a.logger(ctx)
	for _, f := range r.Findings {
		log.Warn("reconcile finding", zap.String("finding", f.Name), zap.String("subscription_id", f.SubscriptionID),
			zap.Int("cycle", f.Cycle), zap.String("merchant_uid", f.MerchantUID), zap.String("imp_uid", f.ImpUID),
			zap.String("detail", f.Detail))
	}
	fields := []zap.Field{zap.Time("from", r.From), zap.Time("to", r.To), zap.Int("subscriptions", r.Subscriptions),
		zap.Int("payments", r.Payments), zap.Int("schedules", r.Schedules), zap.Int("requests", r.Requests),
		zap.Int("unreadable", len(r.Unreadable)), zap.Int("findings", len(r.Findings))}
	for _, n := range FindingNames {
		fields = append(fields, zap.Int(n, r.Counts[n]))
	}
	log.Info("reconcile gathered", fields...)
}

// Mark is one attention signal to send.
type Mark struct {
	WorkflowID string                   `json:"workflow_id"`
	Request    billing.AttentionRequest `json:"request"`
}

// MarkResult is one Mark's outcome.
type MarkResult struct {
	Marked bool   `json:"marked"`
	Error  string `json:"error,omitempty"`
}

// MarkAttention signals each subscription (billing.MsgMarkAttention). The request IDs make a
// retried activity harmless; an ended subscription is reported, not retried.
func (a *Activities) MarkAttention(ctx context.Context, marks []Mark) ([]MarkResult, error) {
	out := make([]MarkResult, len(marks))
	for i, m := range marks {
		err := a.Subscriptions.Mark(ctx, m.WorkflowID, m.Request)
		switch {
		case errors.Is(err, ErrEnded):
			out[i] = MarkResult{Error: err.Error()}
		case err != nil:
			return nil, fmt.Errorf("mark %s: %w", m.WorkflowID, err)
		default:
			out[i] = MarkResult{Marked: true}
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return out, nil
}

// RefundDuplicateInput names the unrecorded payment of a duplicate to refund and the recorded
// one that stays.
type RefundDuplicateInput struct {
	SubscriptionID string `json:"subscription_id"`
	Cycle          int    `json:"cycle"`
	ImpUID         string `json:"imp_uid"`
	Amount         int64  `json:"amount"`
	KeptImpUID     string `json:"kept_imp_uid"`
}

// RefundDuplicate refunds a duplicate's unrecorded payment in full, through the subscription
// activities' Refund (checksum, reason, requester admin), after proving again at PortOne that
// it is still a duplicate: both payments paid, the one to refund untouched and of the amount
// the evidence says.
func (a *Activities) RefundDuplicate(ctx context.Context, in RefundDuplicateInput) (RefundOutcome, error) {
	out := RefundOutcome{ImpUID: in.ImpUID, Amount: in.Amount}
	gw := a.Gateway
	if gw == nil {
		return out, errNoGateway
	}
	p, err := gw.Payment(ctx, in.ImpUID)
	if err != nil {
		return out, fmt.Errorf("look the duplicate up: %w", err)
	}
	kept, err := gw.Payment(ctx, in.KeptImpUID)
	if err != nil {
		return out, fmt.Errorf("look the recorded payment up: %w", err)
	}
	switch {
	case kept.Status != gateway.StatusPaid || kept.Cancelled != 0:
		out.Skipped = fmt.Sprintf("the recorded payment %s is no longer paid in full (status %s, cancel_amount %d)", kept.TxID, kept.Status, kept.Cancelled)
		return out, nil
	case p.Status == gateway.StatusCancelled:
		out.Skipped = "already refunded at PortOne"
		return out, nil
	case p.Status != gateway.StatusPaid || p.Cancelled != 0 || p.Amount != in.Amount:
		out.Skipped = fmt.Sprintf("no longer the payment the evidence shows (status %s, amount %d, cancel_amount %d)", p.Status, p.Amount, p.Cancelled)
		return out, nil
	}
	refunder := &activities.Activities{Gateway: gw}
	res, err := refunder.Refund(ctx, activities.RefundInput{
		ImpUID: in.ImpUID, Amount: in.Amount, PaymentAmount: in.Amount,
		Reason:    fmt.Sprintf("중복 결제 환불 (대사: 구독 %s %d회차)", in.SubscriptionID, in.Cycle),
		Requester: billing.RequesterAdmin,
	})
	if err != nil {
		return out, err
	}
	out.Refunded = res.Refunded == in.Amount
	a.logger(ctx).Warn("reconcile refunded a duplicate", zap.String("subscription_id", in.SubscriptionID), zap.Int("cycle", in.Cycle),
		zap.String("imp_uid", in.ImpUID), zap.Int64("amount", in.Amount), zap.Bool("already_done", res.AlreadyDone))
	return out, nil
}
