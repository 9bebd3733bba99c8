package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
	"github.com/paycycle/paycycle/webhooks"
)

// The subscription page's actions. Each is one of the updates the backend sends (billing.Msg*
// and the outbox's redeliver), with requester "admin" and the staff member's login in the
// reason, which the workflow writes into the subscription's audit trail.
const (
	actCancelEnd  = "cancel_end"
	actCancelNow  = "cancel_now"
	actCancelFull = "cancel_full"
	actUndoCancel = "undo_cancel"
	actPauseEnd   = "pause_end"
	actPauseNow   = "pause_now"
	actResume     = "resume"
	actChargeNow  = "charge_now"
	actRedeliver  = "redeliver"
)

var actionNames = map[string][2]string{
	actCancelEnd:  {"기간 종료 시 해지", "Cancel at period end"},
	actCancelNow:  {"지금 해지 (일할 환불)", "Cancel now, pro-rata refund"},
	actCancelFull: {"지금 해지 (전액 환불)", "Cancel now, full refund"},
	actUndoCancel: {"해지 예약 취소", "Undo the scheduled cancel"},
	actPauseEnd:   {"기간 종료 시 일시 정지", "Pause at period end"},
	actPauseNow:   {"지금 일시 정지", "Pause now"},
	actResume:     {"재개", "Resume"},
	actChargeNow:  {"지금 결제 재시도", "Charge now"},
	actRedeliver:  {"이벤트 재전송", "Redeliver event"},
}

// availableActions are the actions the state allows; the workflow checks again.
func availableActions(st billing.State) []string {
	if st.Status.Terminal() {
		return nil
	}
	var out []string
	if st.PendingCancel == nil {
		out = append(out, actCancelEnd, actCancelNow, actCancelFull)
	} else {
		out = append(out, actUndoCancel, actCancelNow, actCancelFull)
	}
	switch {
	case st.Pause != nil:
		out = append(out, actResume)
	case st.Status == billing.StatusActive && st.PendingCancel == nil:
		out = append(out, actPauseEnd, actPauseNow)
	}
	if st.DunningState != nil {
		out = append(out, actChargeNow)
	}
	return out
}

func confirmURL(id, action, event string) string {
	v := url.Values{"action": {action}}
	if event != "" {
		v.Set("event", event)
	}
	return "/subscriptions/" + url.PathEscape(id) + "/confirm?" + v.Encode()
}

// refundPreview is what a cancel refunds by the workflow's own rule (billing.State.EndRefund,
// the figure the self-service page shows too) at now.
func refundPreview(st billing.State, action string, now time.Time) int64 {
	var policy billing.RefundPolicy
	switch action {
	case actCancelNow:
		policy = billing.RefundProrata
	case actCancelFull:
		policy = billing.RefundFull
	default:
		// A cancel at period end refunds only the credit still pending.
		policy = billing.RefundNone
	}
	var n int64
	for _, sh := range st.EndRefund(policy, now) {
		n += sh.Amount
	}
	return n
}

type confirmPage struct {
	ID        string
	Action    string
	Ko, En    string
	TextKo    string
	TextEn    string
	Refund    int64
	HasRefund bool
	Event     string
	Nonce     string
	Reason    string
	NeedsWhy  bool
	Error     string
	PostURL   string
	Back      string
}

func (p confirmPage) title() string { return p.Ko + " 확인 · Confirm" }

func (s *Server) confirmOf(id, action, event string, st billing.State) (confirmPage, bool) {
	names, ok := actionNames[action]
	if !ok {
		return confirmPage{}, false
	}
	if action == actRedeliver {
		// The outbox's validator says whether it knows the event; this only keeps junk out.
		if checkID(event) != nil {
			return confirmPage{}, false
		}
	} else if !slices.Contains(availableActions(st), action) {
		return confirmPage{}, false
	}
	p := confirmPage{
		ID: id, Action: action, Ko: names[0], En: names[1], Event: event, Nonce: randomToken(),
		PostURL: "/subscriptions/" + url.PathEscape(id) + "/actions", Back: "/subscriptions/" + url.PathEscape(id),
	}
	now := s.cfg.Now()
	switch action {
	case actCancelEnd, actCancelNow, actCancelFull:
		p.NeedsWhy, p.HasRefund, p.Refund = true, true, refundPreview(st, action, now)
		p.TextKo, p.TextEn = "해지 사유는 감사 기록과 PortOne(네이버페이 검수)에 남습니다.", "The reason goes into the audit trail and to PortOne (NaverPay's review)."
		if action == actCancelEnd {
			p.TextKo = "이용 기간이 끝나면 해지되고 더 이상 결제되지 않습니다. " + p.TextKo
			p.TextEn = "Ends when the paid period ends; nothing more is charged. " + p.TextEn
		} else {
			p.TextKo = "지금 해지되고 이용이 끝납니다. 환불 금액은 워크플로의 규칙으로 계산한 값입니다. " + p.TextKo
			p.TextEn = "Ends now, access ends now. The refund is the workflow's own rule at this instant. " + p.TextEn
		}
	case actPauseEnd, actPauseNow:
		p.TextKo, p.TextEn = "재개할 때까지 결제되지 않습니다.", "Nothing is charged until it is resumed."
	case actResume:
		p.TextKo, p.TextEn = "다음 결제일에 결제가 다시 시작됩니다.", "Billing restarts on the next anchor date."
	case actUndoCancel:
		p.TextKo, p.TextEn = "예약된 해지를 철회하고 결제를 계속합니다.", "The scheduled cancel is withdrawn and billing continues."
	case actChargeNow:
		p.TextKo, p.TextEn = "연체된 회차를 지금 다시 결제합니다.", "The unpaid cycle is charged again now."
	case actRedeliver:
		p.TextKo, p.TextEn = "이벤트 "+event+"를 같은 webhook-id로 다시 보냅니다.", "Event "+event+" is sent again with the same webhook-id."
	}
	return p, true
}

// handleConfirm is GET /subscriptions/{id}/confirm?action=…: the confirmation step.
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		s.badInput(w, r, ss, "id", err.Error())
		return
	}
	live, err := s.fetchState(r.Context(), id)
	if errors.Is(err, errNoWorkflow) {
		s.notFound(w, r, ss, id)
		return
	}
	if err != nil {
		s.readFailed(w, r, ss, "state query", err)
		return
	}
	q := r.URL.Query()
	p, ok := s.confirmOf(id, q.Get("action"), q.Get("event"), live.State)
	if !ok {
		s.renderMessage(w, r, ss, http.StatusConflict, messagePage{
			HeadingKo: "지금은 할 수 없는 작업입니다.", HeadingEn: "This action is not available now.",
			TextEn: fmt.Sprintf("action %q on a subscription that is %s", q.Get("action"), live.State.Status),
			Link:   "/subscriptions/" + url.PathEscape(id), LinkText: "구독으로 돌아가기 · Back",
		})
		return
	}
	s.render(w, r, ss, http.StatusOK, "confirm.html", p)
}

// requestIDFor is an action's idempotency key: every submit of one confirmation page (a double
// click, a re-post) is one request, which the workflow and Temporal apply once. The login is
// in it, so the subscription's recent request IDs name who asked even for actions whose
// payload has no reason (charge now).
func requestIDFor(login, id, action, event, nonce string) string {
	h := sha256.Sum256([]byte("console\n" + login + "\n" + id + "\n" + action + "\n" + event + "\n" + nonce))
	return "console:" + login + ":" + hex.EncodeToString(h[:12])
}

// staffReason is the reason the workflow records: the staff member's words and login.
func staffReason(reason, login string) string {
	reason = strings.TrimSpace(reason)
	tag := "staff:" + login
	if reason == "" {
		return tag
	}
	return reason + " (" + tag + ")"
}

type resultPage struct {
	ID        string
	Action    string
	Ko, En    string
	Outcome   string // "done", "refused", "unavailable"
	Message   string
	Status    string
	Refund    int64
	HasRefund bool
	Preview   int64
	Queued    []string
	Back      string
	Repeat    bool
}

func (p resultPage) title() string { return p.Ko + " · " + p.En }

// actionResults remembers the answers of submitted confirmation pages, so that a second
// submit shows the first one's answer and sends nothing; concurrent submits of one page wait
// for the first.
type actionResults struct {
	mu    sync.Mutex
	done  map[string]*actionCall
	order []string
}

// answer is a rendered answer: a template, its data and the status.
type answer struct {
	tmpl   string
	data   any
	status int
	// keep says the answer is the action's outcome (sent and answered by the workflow); other
	// answers (a reason to correct, Temporal down) are not remembered, so the same page may be
	// submitted again.
	keep bool
}

type actionCall struct {
	wait chan struct{}
	a    answer
}

// maxActionResults bounds the remembered answers.
const maxActionResults = 2000

func newActionResults() *actionResults { return &actionResults{done: map[string]*actionCall{}} }

// do runs f once per key at a time; repeat says the answer is an earlier submit's.
func (r *actionResults) do(key string, f func() answer) (answer, bool) {
	for {
		r.mu.Lock()
		c, ok := r.done[key]
		if !ok {
			break
		}
		r.mu.Unlock()
		<-c.wait
		if c.a.keep {
			return c.a, true
		}
		// The earlier submit left nothing to remember: this one runs itself.
	}
	c := &actionCall{wait: make(chan struct{})}
	r.done[key] = c
	r.order = append(r.order, key)
	if len(r.order) > maxActionResults {
		delete(r.done, r.order[0])
		r.order = r.order[1:]
	}
	r.mu.Unlock()
	c.a = f()
	if !c.a.keep {
		r.mu.Lock()
		if r.done[key] == c {
			delete(r.done, key)
		}
		r.mu.Unlock()
	}
	close(c.wait)
	return c.a, false
}

// handleAction is POST /subscriptions/{id}/actions (CSRF checked by staff()).
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		s.badInput(w, r, ss, "id", err.Error())
		return
	}
	form := r.PostForm
	action, event, nonce := form.Get("action"), form.Get("event"), form.Get("nonce")
	if _, ok := actionNames[action]; !ok {
		s.badInput(w, r, ss, "action", fmt.Sprintf("unknown action %q", action))
		return
	}
	if len(nonce) < 20 || len(nonce) > 64 {
		s.badInput(w, r, ss, "nonce", "missing or malformed: submit the confirmation page")
		return
	}
	reqID := requestIDFor(ss.Login, id, action, event, nonce)
	a, repeat := s.actions.do(reqID, func() answer { return s.act(r, ss, id, action, event, nonce, reqID) })
	if p, ok := a.data.(resultPage); ok {
		p.Repeat = repeat
		a.data = p
	}
	s.render(w, r, ss, a.status, a.tmpl, a.data)
}

// act checks the action against the live state and sends it.
func (s *Server) act(r *http.Request, ss *session, id, action, event, nonce, reqID string) answer {
	back := "/subscriptions/" + url.PathEscape(id)
	live, err := s.fetchState(r.Context(), id)
	if errors.Is(err, errNoWorkflow) {
		return answer{tmpl: "message.html", status: http.StatusNotFound, data: notFoundPage(id)}
	}
	if err != nil {
		s.log.Error("console: state query failed", zap.String("subscription_id", id), zap.Error(err))
		return answer{tmpl: "message.html", status: http.StatusServiceUnavailable, data: messagePage{
			HeadingKo: "상태를 읽지 못했습니다.", HeadingEn: "The state query did not answer.",
			TextKo: "아무것도 변경되지 않았습니다.", TextEn: "Nothing was changed: " + err.Error(), Link: back, LinkText: "구독으로 돌아가기 · Back",
		}}
	}
	cp, ok := s.confirmOf(id, action, event, live.State)
	if !ok {
		return answer{tmpl: "message.html", status: http.StatusConflict, data: messagePage{
			HeadingKo: "지금은 할 수 없는 작업입니다.", HeadingEn: "This action is not available now.",
			TextKo: "아무것도 변경되지 않았습니다.", TextEn: fmt.Sprintf("Nothing was changed: %s on a subscription that is %s.", action, live.State.Status),
			Link: back, LinkText: "구독으로 돌아가기 · Back",
		}}
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	full := staffReason(reason, ss.Login)
	if msg := validateAction(action, reason, full); msg != "" {
		cp.Nonce, cp.Reason, cp.Error = nonce, reason, msg
		return answer{tmpl: "confirm.html", status: http.StatusBadRequest, data: cp}
	}
	p, status := s.send(r.Context(), ss, id, action, event, reqID, full, cp)
	return answer{tmpl: "result.html", status: status, data: p, keep: status < 500}
}

// validateAction checks the reason by the workflow's own rules before anything is sent.
func validateAction(action, reason, full string) string {
	var err error
	switch action {
	case actCancelEnd, actCancelNow, actCancelFull:
		if reason == "" {
			return "해지 사유를 입력해 주세요. / reason: required on every cancel (NaverPay's review)."
		}
		req := billing.CancelRequest{Reason: full, Requester: billing.RequesterAdmin, When: billing.Now, Refund: billing.RefundProrata}
		err = req.Validate()
	case actPauseEnd, actPauseNow:
		req := billing.PauseRequest{Reason: full, When: billing.Now}
		err = req.Validate()
	case actResume:
		req := billing.ResumeRequest{Reason: full, Anchor: billing.ResumeKeepAnchor}
		err = req.Validate()
	case actUndoCancel:
		req := billing.UndoCancelRequest{Reason: full}
		err = req.Validate()
	}
	if err != nil {
		return "사유를 확인해 주세요. / " + err.Error()
	}
	return ""
}

// send sends the action's update and turns its answer into the result page.
func (s *Server) send(ctx context.Context, ss *session, id, action, event, reqID, reason string, cp confirmPage) (resultPage, int) {
	// The browser may give up; the update it asked for still finishes and is remembered.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ActionTimeout)
	defer cancel()
	p := resultPage{ID: id, Action: action, Ko: cp.Ko, En: cp.En, Back: "/subscriptions/" + url.PathEscape(id), Preview: cp.Refund}
	log := s.log.With(zap.String("subscription_id", id), zap.String("action", action), zap.String("login", ss.Login), zap.String("request_id", reqID))
	opts := client.UpdateWorkflowOptions{WorkflowID: billing.WorkflowID(id), UpdateID: reqID, WaitForStage: client.WorkflowUpdateStageCompleted}
	switch action {
	case actCancelEnd, actCancelNow, actCancelFull:
		req := billing.CancelRequest{RequestID: reqID, Requester: billing.RequesterAdmin, Reason: reason, When: billing.Now}
		switch action {
		case actCancelEnd:
			req.When, req.Refund = billing.AtPeriodEnd, billing.RefundNone
		case actCancelNow:
			req.Refund = billing.RefundProrata
		case actCancelFull:
			req.Refund = billing.RefundFull
		}
		opts.UpdateName, opts.Args = billing.MsgCancel, []any{req}
	case actPauseEnd, actPauseNow:
		req := billing.PauseRequest{RequestID: reqID, Reason: reason, When: billing.AtPeriodEnd}
		if action == actPauseNow {
			req.When = billing.Now
		}
		opts.UpdateName, opts.Args = billing.MsgPause, []any{req}
	case actResume:
		opts.UpdateName, opts.Args = billing.MsgResume, []any{billing.ResumeRequest{RequestID: reqID, Reason: reason, Anchor: billing.ResumeKeepAnchor}}
	case actUndoCancel:
		opts.UpdateName, opts.Args = billing.MsgUndoCancel, []any{billing.UndoCancelRequest{RequestID: reqID, Reason: reason}}
	case actChargeNow:
		opts.UpdateName, opts.Args = billing.MsgChargeNow, []any{billing.ChargeNowRequest{RequestID: reqID}}
	case actRedeliver:
		opts.WorkflowID = billing.EventsWorkflowID(id)
		opts.UpdateName, opts.UpdateID = billing.UpdateRedeliver, billing.UpdateRedeliver+":"+reqID
		opts.Args = []any{webhooks.RedeliverRequest{EventIDs: []string{event}}}
	}
	h, err := s.wf.UpdateWorkflow(ctx, opts)
	if err == nil && action == actRedeliver {
		var res webhooks.RedeliverResult
		if err = h.Get(ctx, &res); err == nil {
			log.Info("console: action applied")
			p.Outcome, p.Queued, p.Message = "done", res.Queued, fmt.Sprintf("%d event(s) queued again", len(res.Queued))
			return p, http.StatusOK
		}
	} else if err == nil {
		var rc billing.Receipt
		if err = h.Get(ctx, &rc); err == nil {
			log.Info("console: action applied", zap.String("status", string(rc.Status)), zap.Bool("duplicate", rc.Duplicate))
			p.Outcome, p.Message, p.Status = "done", rc.Message, string(rc.Status)
			if rc.Duplicate {
				p.Message = "already applied (the same request): " + rc.Message
			}
			if rc.Refund != nil {
				p.HasRefund, p.Refund = true, rc.Refund.Amount
			}
			return p, http.StatusOK
		}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		log.Warn("console: action refused by the workflow", zap.String("why", appErr.Message()))
		p.Outcome, p.Message = "refused", appErr.Message()
		return p, http.StatusConflict
	}
	log.Error("console: action not confirmed: Temporal did not answer", zap.Error(err))
	p.Outcome = "unavailable"
	p.Message = "Temporal did not answer; submitting the same confirmation page again is safe (one request ID): " + textfmt.Truncate(err.Error(), 300)
	return p, http.StatusServiceUnavailable
}
