package console_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/webhooks"
)

// confirm opens an action's confirmation page and returns the form's values.
func (b *browser) confirm(id, action, event string) (url.Values, string) {
	b.t.Helper()
	v := url.Values{"action": {action}}
	if event != "" {
		v.Set("event", event)
	}
	status, _, body := b.get("/subscriptions/" + id + "/confirm?" + v.Encode())
	require.Equal(b.t, http.StatusOK, status, body)
	return url.Values{"csrf": {field(b.t, csrfField, body)}, "nonce": {field(b.t, nonceField, body)}, "action": {action}, "event": {event}}, body
}

// TestCancelNowFromConsole: the confirmation previews the workflow's own refund; the cancel is
// the workflow's cancel update with requester admin and the staff login in the reason; a second
// submit of the same page sends nothing.
func TestCancelNowFromConsole(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	st := activeState("sub-a")
	var want int64
	for _, sh := range st.EndRefund(billing.RefundProrata, testNow) {
		want += sh.Amount
	}
	require.Positive(t, want)
	require.Less(t, want, int64(9900))

	b := e.browser()
	b.login("kim")
	form, body := b.confirm("sub-a", "cancel_now", "")
	contains(t, body, fmt.Sprintf(`id="preview-refund" data-amount="%d"`, want), "staff:kim")

	// No reason: refused with the field named, nothing sent, the same form kept.
	status, _, body := b.post("/subscriptions/sub-a/actions", form)
	require.Equal(t, http.StatusBadRequest, status)
	contains(t, body, "reason: required", form.Get("nonce"))
	require.Empty(t, e.wf.sent())

	form.Set("reason", "고객 전화 요청")
	type answer struct {
		status int
		body   string
	}
	answers := make([]answer, 3)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, body := b.post("/subscriptions/sub-a/actions", form)
			answers[i] = answer{s, body}
		}()
	}
	wg.Wait()
	repeats := 0
	for _, a := range answers {
		require.Equal(t, http.StatusOK, a.status, a.body)
		contains(t, a.body, `data-outcome="done"`, fmt.Sprintf(`id="refund" data-amount="%d"`, want))
		if strings.Contains(a.body, `data-repeat="true"`) {
			repeats++
		}
	}
	require.Equal(t, 2, repeats, "one submit applied, two shown its answer")
	sent := e.wf.sent()
	require.Len(t, sent, 1, "a double submit is one update")
	u := sent[0]
	require.Equal(t, billing.WorkflowID("sub-a"), u.WorkflowID)
	require.Equal(t, billing.MsgCancel, u.Name)
	req := u.Arg.(billing.CancelRequest)
	require.Equal(t, billing.CancelRequest{RequestID: u.UpdateID, When: billing.Now, Refund: billing.RefundProrata, Requester: billing.RequesterAdmin, Reason: "고객 전화 요청 (staff:kim)"}, req)
	require.True(t, strings.HasPrefix(req.RequestID, "console:kim:"), req.RequestID)

	// The audit trail on the page names the staff member, and so do the recent request IDs.
	_, _, body = b.get("/subscriptions/sub-a")
	contains(t, body, `data-kind="cancel_requested"`, "고객 전화 요청 (staff:kim)", `data-status="canceled"`, "<dd>"+req.RequestID+"</dd>")
	require.NotContains(t, body, `id="actions"`, "nothing left to do on a canceled subscription")

	// Another submit of the same page, now that the subscription ended: the remembered answer.
	status, _, body = b.post("/subscriptions/sub-a/actions", form)
	require.Equal(t, http.StatusOK, status)
	contains(t, body, `data-repeat="true"`)
	require.Len(t, e.wf.sent(), 1)
}

// TestActionsRefused: forged or missing CSRF tokens, another session's token, a viewer, an
// action the state does not allow: 403 or 409, and nothing sent.
func TestActionsRefused(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	kim := e.browser()
	kim.login("kim")
	form, _ := kim.confirm("sub-a", "pause_now", "")
	lee := e.browser()
	lee.login("lee")
	leeToken := lee.csrf()
	viewer := e.browser()
	viewer.login("viewer")

	tests := []struct {
		name   string
		b      *browser
		csrf   string
		action string
		origin string
		status int
	}{
		{"missing token", kim, "", "pause_now", "", http.StatusForbidden},
		{"forged token", kim, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "pause_now", "", http.StatusForbidden},
		{"another session's token", kim, leeToken, "pause_now", "", http.StatusForbidden},
		{"a cross-site origin", kim, form.Get("csrf"), "pause_now", "https://evil.example", http.StatusForbidden},
		{"viewer with their own token", viewer, viewer.csrf(), "pause_now", "", http.StatusForbidden},
		{"an action the state does not allow", kim, form.Get("csrf"), "resume", "", http.StatusConflict},
		{"charge now without dunning", kim, form.Get("csrf"), "charge_now", "", http.StatusConflict},
		{"unknown action", kim, form.Get("csrf"), "refund_everything", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{"csrf": {tt.csrf}, "nonce": {form.Get("nonce")}, "action": {tt.action}, "reason": {"테스트"}}
			req, err := http.NewRequest(http.MethodPost, e.url+"/subscriptions/sub-a/actions", strings.NewReader(f.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := tt.b.http.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, tt.status, resp.StatusCode)
			require.Empty(t, e.wf.sent(), "nothing reaches the workflow")
		})
	}
	// Unknown subscription: a clear 404 on the confirmation and on a post.
	status, _, body := kim.get("/subscriptions/ghost/confirm?action=cancel_now")
	require.Equal(t, http.StatusNotFound, status)
	contains(t, body, "No such subscription")
	status, _, _ = kim.post("/subscriptions/ghost/actions", url.Values{"csrf": {form.Get("csrf")}, "nonce": {form.Get("nonce")}, "action": {"cancel_now"}, "reason": {"x"}})
	require.Equal(t, http.StatusNotFound, status)
	require.Empty(t, e.wf.sent())
}

// TestEveryActionIsTheWorkflowsUpdate: pause, resume, charge now and redeliver send the
// backend's own updates, the staff login in each reason the payload has.
func TestEveryActionIsTheWorkflowsUpdate(t *testing.T) {
	e := newTestEnv(t, nil)
	e.mixedBook()
	b := e.browser()
	b.login("kim")
	do := func(action, event, reason string) string {
		form, _ := b.confirm("sub-a", action, event)
		form.Set("reason", reason)
		status, _, body := b.post("/subscriptions/sub-a/actions", form)
		require.Equal(t, http.StatusOK, status, body)
		contains(t, body, `data-outcome="done"`)
		return body
	}
	do("cancel_end", "", "고객 요청")
	do("undo_cancel", "", "고객이 마음을 바꿈")
	do("pause_now", "", "휴가")
	do("resume", "", "")
	st := activeState("sub-a")
	st.Status = billing.StatusPastDue
	st.DunningState = &billing.DunningState{Cycle: 2, Attempts: 1, NextRetryAt: day(1), GraceEndsAt: day(7), LastReason: "잔액 부족"}
	e.wf.setState(st)
	do("charge_now", "", "")
	evt := billing.EventID("sub-a", "t1", 3)
	body := do("redeliver", evt, "")
	contains(t, body, "Queued", evt)

	sent := e.wf.sent()
	require.Len(t, sent, 6)
	require.Equal(t, billing.MsgCancel, sent[0].Name)
	require.Equal(t, billing.MsgUndoCancel, sent[1].Name)
	require.Equal(t, billing.UndoCancelRequest{RequestID: sent[1].UpdateID, Reason: "고객이 마음을 바꿈 (staff:kim)"}, sent[1].Arg)
	sent = sent[2:]
	require.Equal(t, billing.MsgPause, sent[0].Name)
	require.Equal(t, billing.PauseRequest{RequestID: sent[0].UpdateID, When: billing.Now, Reason: "휴가 (staff:kim)"}, sent[0].Arg)
	require.Equal(t, billing.MsgResume, sent[1].Name)
	require.Equal(t, billing.ResumeRequest{RequestID: sent[1].UpdateID, Anchor: billing.ResumeKeepAnchor, Reason: "staff:kim"}, sent[1].Arg)
	require.Equal(t, billing.MsgChargeNow, sent[2].Name)
	require.Equal(t, billing.ChargeNowRequest{RequestID: sent[2].UpdateID}, sent[2].Arg)
	require.True(t, strings.HasPrefix(sent[2].UpdateID, "console:kim:"), "the request ID names the staff member")
	require.Equal(t, billing.EventsWorkflowID("sub-a"), sent[3].WorkflowID)
	require.Equal(t, billing.UpdateRedeliver, sent[3].Name)
	require.Equal(t, webhooks.RedeliverRequest{EventIDs: []string{evt}}, sent[3].Arg)
	require.True(t, strings.HasPrefix(sent[3].UpdateID, billing.UpdateRedeliver+":console:kim:"))
}

// TestActionTemporalDown: an update Temporal does not answer is a 503 that says resubmitting
// is safe, and the resubmit (same request ID) is sent again rather than answered from memory.
func TestActionTemporalDown(t *testing.T) {
	e := newTestEnv(t, func(c *consoleConfig) { c.ActionTimeout = 2 * time.Second })
	e.mixedBook()
	b := e.browser()
	b.login("kim")
	form, _ := b.confirm("sub-a", "cancel_end", "")
	form.Set("reason", "이전 요청")
	e.wf.mu.Lock()
	e.wf.updateErr = errors.New("connection refused")
	e.wf.mu.Unlock()
	status, _, body := b.post("/subscriptions/sub-a/actions", form)
	require.Equal(t, http.StatusServiceUnavailable, status)
	contains(t, body, `data-outcome="unavailable"`, "submitting the same confirmation page again is safe")
	e.wf.mu.Lock()
	e.wf.updateErr = nil
	e.wf.mu.Unlock()
	status, _, body = b.post("/subscriptions/sub-a/actions", form)
	require.Equal(t, http.StatusOK, status, body)
	contains(t, body, `data-outcome="done"`, `data-repeat="false"`)
	sent := e.wf.sent()
	require.Len(t, sent, 1)
	require.Equal(t, billing.AtPeriodEnd, sent[0].Arg.(billing.CancelRequest).When)
}
