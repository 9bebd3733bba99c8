package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/logging"
	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/webhooks"
)

// eventsPerPage bounds the merchant events listed on a subscription's page.
const eventsPerPage = 50

// maxIDLength bounds a subscription ID in a URL (the workflow's own limit is lower).
const maxIDLength = 200

// liveState is what Temporal says about a subscription now.
type liveState struct {
	State    billing.State
	Workflow string // the run's execution status, e.g. "Running", "Completed"
	RunID    string
}

// errNoWorkflow is a subscription Temporal does not know.
var errNoWorkflow = errors.New("no workflow")

// fetchState reads the live state: the result of a completed run (no worker needed), else the
// state query, exactly as `starter show` does.
func (s *Server) fetchState(ctx context.Context, id string) (liveState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	var ls liveState
	wfID := billing.WorkflowID(id)
	desc, err := s.wf.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return ls, errNoWorkflow
		}
		return ls, err
	}
	info := desc.GetWorkflowExecutionInfo()
	ls.RunID = info.GetExecution().GetRunId()
	ls.Workflow = strings.TrimPrefix(info.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := s.wf.GetWorkflow(ctx, wfID, ls.RunID).Get(ctx, &ls.State); err == nil {
			return ls, nil
		}
	}
	v, err := s.wf.QueryWorkflow(ctx, wfID, ls.RunID, billing.QueryState)
	if err != nil {
		return ls, err
	}
	if err := v.Get(&ls.State); err != nil {
		return ls, fmt.Errorf("decode the state (are PAYCYCLE_CODEC_KEYS the worker's?): %w", err)
	}
	return ls, nil
}

// fetchDeliveries reads the subscription's outbox (the deliveries query); it fails when there
// is none to ask (no webhook endpoint configured, or its retention ended).
func (s *Server) fetchDeliveries(ctx context.Context, id string) (webhooks.OutboxState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	var out webhooks.OutboxState
	v, err := s.wf.QueryWorkflow(ctx, billing.EventsWorkflowID(id), "", billing.QueryDeliveries)
	if err != nil {
		return out, err
	}
	return out, v.Get(&out)
}

// eventLine is one merchant event with its delivery state.
type eventLine struct {
	readmodel.EventRow
	Delivery    string
	Attempts    int32
	LastError   string
	DeliveredAt string
	Queued      int
	Redeliver   string
	// Summary is what the event says about money or dunning: a charge of an earlier run shows
	// here, where the current state no longer holds it.
	Summary string
}

// eventSummary reads an event's charge, refund or dunning part.
func eventSummary(raw []byte) string {
	var d billing.EventData
	if json.Unmarshal(raw, &d) != nil {
		return ""
	}
	switch {
	case d.Charge != nil:
		c := d.Charge
		out := fmt.Sprintf("cycle %d.%d %s원 %s", c.Cycle, c.Attempt, textfmt.FormatKRW(c.Amount), c.Outcome)
		if c.Reason != "" {
			out += ": " + c.Reason
		}
		return out
	case d.Refund != nil:
		return fmt.Sprintf("refund cycle %d %s원 (%s: %s)", d.Refund.Cycle, textfmt.FormatKRW(d.Refund.Amount), d.Refund.Requester, d.Refund.Reason)
	case d.Dunning != nil:
		out := fmt.Sprintf("cycle %d, %d attempts", d.Dunning.Cycle, d.Dunning.Attempts)
		if !d.Dunning.NextRetryAt.IsZero() {
			out += ", next retry " + kst(d.Dunning.NextRetryAt)
		}
		return out
	}
	return d.Detail
}

// actionLink is a button to an action's confirmation page.
type actionLink struct {
	Action string
	Ko, En string
	URL    string
}

type subscriptionPage struct {
	ID       string
	Live     *liveState
	LiveErr  string
	Row      *readmodel.Row
	Buyer    string
	Billing  string
	Facts    [][2]string
	Charges  []billing.ChargeRecord
	Refunds  []billing.RefundRecord
	Audit    []billing.Event
	Events   []eventLine
	EventsN  int
	Outbox   string
	Actions  []actionLink
	Operator bool
}

func (p subscriptionPage) title() string { return "구독 " + p.ID + " · Subscription" }

// checkID refuses an ID no subscription can have, before it reaches Temporal.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLength {
		return fmt.Errorf("want 1 to %d characters", maxIDLength)
	}
	for _, c := range id {
		if c < 0x21 || c == 0x7f {
			return errors.New("contains spaces or control characters")
		}
	}
	return nil
}

// handleFind is GET /subscriptions?id=…: the lookup box in the header.
func (s *Server) handleFind(w http.ResponseWriter, r *http.Request, ss *session) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	if err := checkID(id); err != nil {
		s.badInput(w, r, ss, "id", err.Error())
		return
	}
	http.Redirect(w, r, "/subscriptions/"+url.PathEscape(id), http.StatusSeeOther)
}

// loadPage gathers a subscription's page; found is false when neither the read model nor
// Temporal knows the ID.
func (s *Server) loadPage(ctx context.Context, id string, ss *session) (subscriptionPage, bool, error) {
	p := subscriptionPage{ID: id, Operator: ss.has(RoleOperator)}
	row, err := s.store.Subscription(ctx, id)
	switch {
	case err == nil:
		p.Row = &row
	case errors.Is(err, readmodel.ErrNotFound):
	default:
		return p, false, err
	}
	live, err := s.fetchState(ctx, id)
	switch {
	case err == nil:
		p.Live = &live
	case errors.Is(err, errNoWorkflow):
		if p.Row == nil {
			return p, false, nil
		}
		p.LiveErr = "Temporal has no workflow for this subscription (its history was deleted after the namespace's retention); the read model's row is all that is left."
	default:
		s.log.Warn("console: state query failed", zap.String("subscription_id", id), zap.Error(err))
		p.LiveErr = "the state query did not answer: " + err.Error()
	}
	evs, n, err := s.store.Events(ctx, id, readmodel.Page{Limit: eventsPerPage, Desc: true})
	if err != nil {
		return p, false, err
	}
	p.EventsN = n
	out, oerr := s.fetchDeliveries(ctx, id)
	byID := map[string]webhooks.Delivery{}
	if oerr != nil {
		p.Outbox = "no outbox answered (no webhook endpoint configured, or its retention ended)"
	} else {
		for _, d := range out.Deliveries {
			byID[d.Event.ID] = d
		}
		p.Outbox = fmt.Sprintf("%d events kept, %d queued, %d omitted", len(out.Deliveries), len(out.Queue), out.Omitted)
	}
	for _, e := range evs {
		l := eventLine{EventRow: e, Delivery: "unknown", Summary: eventSummary(e.Data)}
		if d, ok := byID[e.ID]; ok {
			l.Delivery, l.Attempts, l.LastError, l.DeliveredAt, l.Queued = string(d.Status), d.Attempts, d.LastError, kst(d.DeliveredAt), d.Queued
			if p.Operator {
				l.Redeliver = confirmURL(id, actRedeliver, e.ID)
			}
		}
		p.Events = append(p.Events, l)
	}
	if p.Live != nil {
		st := p.Live.State
		p.Buyer = buyerLine(st.Buyer, ss.has(RolePII))
		p.Billing = textfmt.MaskUID(st.CustomerUID)
		if ss.has(RolePII) {
			p.Billing = st.CustomerUID
		}
		p.Facts = facts(st, s.cfg.Now())
		p.Charges = slices.Clone(st.Charges)
		slices.Reverse(p.Charges)
		p.Refunds = slices.Clone(st.Refunds)
		slices.Reverse(p.Refunds)
		p.Audit = slices.Clone(st.Events)
		slices.Reverse(p.Audit)
		if p.Operator {
			for _, a := range availableActions(st) {
				p.Actions = append(p.Actions, actionLink{Action: a, Ko: actionNames[a][0], En: actionNames[a][1], URL: confirmURL(id, a, "")})
			}
		}
	}
	return p, true, nil
}

// buyerLine is the buyer's details, masked as the starter prints them unless the role allows.
func buyerLine(b billing.Buyer, pii bool) string {
	if b == (billing.Buyer{}) {
		return ""
	}
	if pii {
		return strings.Join(nonEmpty(b.Name, b.Tel, b.Email), " · ")
	}
	return strings.Join(nonEmpty(logging.MaskName(b.Name), logging.MaskTel(b.Tel), logging.MaskEmail(b.Email)), " · ")
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

// facts are the lines `starter show` prints, label first.
func facts(st billing.State, now time.Time) [][2]string {
	var f [][2]string
	add := func(k, v string) { f = append(f, [2]string{k, v}) }
	status := string(st.Status)
	if st.StatusReason != "" {
		status += ": " + st.StatusReason
	}
	add("상태 Status", status)
	add("이용 가능 Access", map[bool]string{true: "yes", false: "no"}[st.Entitled])
	plan := st.Plan.Name
	if st.Plan.Code != "" {
		plan += " (" + st.Plan.Code + ")"
	}
	add("요금제 Plan", plan+", "+st.Plan.Interval.String())
	amount := textfmt.FormatKRW(st.Plan.Amount) + "원 per cycle"
	if st.Plan.TaxFree > 0 {
		amount += ", tax free " + textfmt.FormatKRW(st.Plan.TaxFree) + "원"
	}
	add("금액 Amount", amount)
	if p := st.PendingPlan; p != nil {
		add("요금제 변경 Plan change", fmt.Sprintf("from cycle %d: %s %s원", st.Cycle+1, p.Name, textfmt.FormatKRW(p.Amount)))
	}
	add("회차 Cycle", fmt.Sprintf("%d (run %d)", st.Cycle, st.Runs))
	if p := st.CurrentPeriod; p != nil {
		add("현재 기간 Current period", kst(p.Start)+" .. "+kst(p.End))
	}
	if t := st.PaidUntil(); !t.IsZero() {
		add("이용 기한 Paid through", kst(t))
	}
	if t := st.NextCharge(); !t.IsZero() {
		add("다음 결제 Next charge", kst(t)+" ("+t.Sub(now).Round(time.Minute).String()+")")
	} else {
		add("다음 결제 Next charge", "none")
	}
	if st.Status == billing.StatusAwaitingRegistration && !st.Registration.Deadline.IsZero() {
		add("등록 기한 Registration", "until "+kst(st.Registration.Deadline)+" "+st.Registration.LastError)
	}
	if st.Phase != "" && st.Phase != "regular" {
		v := st.Phase
		if !st.TrialEndsAt.IsZero() {
			v += ", free until " + kst(st.TrialEndsAt)
		}
		add("가격 단계 Pricing", v)
	}
	if c := st.Consent; c != nil {
		add("가격 인상 Price rise", fmt.Sprintf("%s → %s원 from %s (%s): consent %s", textfmt.FormatKRW(c.AmountBefore), textfmt.FormatKRW(c.AmountAfter), c.ChangeDate, c.Why, c.Status))
	}
	if c := st.PendingCancel; c != nil {
		add("해지 예약 Pending cancel", fmt.Sprintf("at period end, requested by %s at %s: %s", c.Requester, kst(c.RequestedAt), c.Reason))
	}
	if p := st.Pause; p != nil {
		v := "paused since " + kst(p.PausedAt)
		if p.Pending {
			v = "pending: pauses at the end of the current period"
		}
		if !p.ResumeAt.IsZero() {
			v += "; resumes " + kst(p.ResumeAt)
		}
		if p.Reason != "" {
			v += "; reason: " + p.Reason
		}
		add("일시 정지 Pause", v)
	}
	if d := st.DunningState; d != nil {
		v := fmt.Sprintf("cycle %d unpaid since %s; %d attempts, %d of %d retries used", d.Cycle, kst(d.DueAt), d.Attempts, d.RetriesUsed, len(st.Dunning.RetryAfter))
		if !d.NextRetryAt.IsZero() {
			v += "; next retry " + kst(d.NextRetryAt)
		}
		if d.Hard {
			v += "; waiting for a new billing key (hard decline)"
		}
		v += "; grace ends " + kst(d.GraceEndsAt)
		if d.LastReason != "" {
			v += "; last decline: " + d.LastReason
		}
		add("연체 Dunning", v)
	}
	if a := st.Attention; a != nil {
		add("확인 필요 Attention", fmt.Sprintf("%s %s: %s (since %s)", a.Kind, a.Finding, a.Detail, kst(a.MarkedAt)))
	}
	if st.Credit > 0 {
		add("크레딧 Credit", textfmt.FormatKRW(st.Credit)+"원")
	}
	add("시작 Started", kst(st.StartedAt))
	if !st.EndedAt.IsZero() {
		add("종료 Ended", kst(st.EndedAt))
	}
	var console []string
	for _, id := range st.RecentRequestIDs {
		if strings.HasPrefix(id, "console:") {
			console = append(console, id)
		}
	}
	if len(console) > 0 {
		// The staff behind recent actions whose audit entries name no one (charge now).
		add("콘솔 요청 Console requests", strings.Join(console, ", "))
	}
	if st.ChargesOmitted > 0 {
		add("이전 결제 Older charges", fmt.Sprintf("%d older attempts are in earlier runs' histories; the merchant events below list every run's", st.ChargesOmitted))
	}
	return f
}

func (s *Server) handleSubscription(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		s.badInput(w, r, ss, "id", err.Error())
		return
	}
	p, found, err := s.loadPage(r.Context(), id, ss)
	if err != nil {
		s.readFailed(w, r, ss, "subscription", err)
		return
	}
	if !found {
		s.notFound(w, r, ss, id)
		return
	}
	s.render(w, r, ss, http.StatusOK, "subscription.html", p)
}

// notFound is the clear answer for an ID nobody knows.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, ss *session, id string) {
	s.renderMessage(w, r, ss, http.StatusNotFound, notFoundPage(id))
}

func notFoundPage(id string) messagePage {
	return messagePage{
		HeadingKo: "구독을 찾을 수 없습니다.", HeadingEn: "No such subscription.",
		TextKo: "구독 ID " + id + "는 읽기 모델에도 Temporal에도 없습니다.",
		TextEn: "Neither the read model nor Temporal knows subscription " + id + ".",
		Link:   "/", LinkText: "개요 · Overview",
	}
}
