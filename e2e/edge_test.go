package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// withEdge serves the HTTP edge for the stack and returns its URL and its log observer.
func (s *stack) withEdge(t *testing.T) (string, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e, err := edge.New(edge.Config{PublicURL: srv.URL, IMPCode: "imp00000000", Demo: true},
		edge.Deps{Workflows: s.c, PortOne: s.gateway, Logger: zap.New(core)})
	require.NoError(t, err)
	h = e.Handler()
	return srv.URL, logs
}

func (s *stack) settledBy(id, merchantUID string) (billing.ChargeRecord, bool) {
	st, err := s.tryState(id)
	if err != nil {
		return billing.ChargeRecord{}, false
	}
	for _, c := range st.Charges {
		if c.MerchantUID == merchantUID && c.Outcome != billing.OutcomeScheduled {
			return c, true
		}
	}
	return billing.ChargeRecord{}, false
}

// settledEntry is the state's record of the attempt a ledger entry is: the same payment id as
// PortOne knows it (V1 merchant_uid, V2 paymentId, which a V2 cycle's attempts share) and the
// same imp_uid / transactionId.
func (s *stack) settledEntry(id string, e portonetest.LedgerEntry) (billing.ChargeRecord, bool) {
	st, err := s.tryState(id)
	if err != nil {
		return billing.ChargeRecord{}, false
	}
	for _, c := range st.Charges {
		if c.GatewayPaymentID() == e.MerchantUID && c.ImpUID == e.ImpUID && c.Outcome != billing.OutcomeScheduled {
			return c, true
		}
	}
	return billing.ChargeRecord{}, false
}

func hasEvent(st billing.State, kind, contains string) bool {
	for _, e := range st.Events {
		if e.Kind == kind && strings.Contains(e.Detail, contains) {
			return true
		}
	}
	return false
}

// TestScheduleModeThroughPortOnesSchedulerAndTheEdge is issue #4's end-to-end path: PortOne's
// scheduler (the emulator's) charges the cycles at schedule_at and posts webhooks to the HTTP
// edge, which verifies them at PortOne and signals the workflow. A lost webhook is settled by
// the fallback lookup; a late one changes nothing; a cancel between schedule and execution
// revokes the schedule and nothing more is charged.
func TestScheduleModeThroughPortOnesSchedulerAndTheEdge(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	edgeURL, _ := s.withEdge(t)
	s.startWorker(stackOptions{settleDelay: 3 * time.Second, noticeURL: edgeURL + "/portone/webhook"})
	s.register("sched-cust")
	in := demoInput("sched-1", "sched-cust", 8*time.Second)
	in.Plan.ChargeMode = billing.ChargeModeSchedule
	run := s.start(in)
	tag := billing.IncarnationTag(run.GetRunID())
	uid := func(cycle, attempt int) string {
		return billing.ChargeUID{SubscriptionID: "sched-1", Tag: tag, Cycle: cycle, Attempt: attempt}.String()
	}
	// Cycle 4's webhook will be lost.
	s.emu.AddFault(portonetest.Fault{MerchantUID: uid(4, 1), Action: portonetest.FaultWebhookFail})

	for cycle := 2; cycle <= 4; cycle++ {
		eventually(t, 30*time.Second, "cycle settled", func() bool { _, ok := s.settledBy("sched-1", uid(cycle, 1)); return ok })
	}
	st := s.state("sched-1")
	for cycle := 2; cycle <= 4; cycle++ {
		c, _ := s.settledBy("sched-1", uid(cycle, 1))
		require.Equal(t, billing.ViaSchedule, c.Via, "cycle %d charged by PortOne's scheduler", cycle)
		require.Equal(t, billing.OutcomePaid, c.Outcome)
	}
	require.True(t, hasEvent(st, "payment_notification", uid(2, 1)), "cycle 2 was settled from the edge's verified webhook")
	require.True(t, hasEvent(st, "payment_notification", uid(3, 1)))
	require.False(t, hasEvent(st, "payment_notification", uid(4, 1)), "cycle 4's webhook was lost")
	var delivered, failed int
	for _, w := range s.emu.Webhooks() {
		switch {
		case w.MerchantUID == uid(4, 1):
			failed++
		case w.OK():
			delivered++
		}
	}
	require.GreaterOrEqual(t, delivered, 2)
	require.Equal(t, 1, failed)

	// The late webhook for cycle 4 (as if PortOne retried it much later) changes nothing.
	before := s.state("sched-1").Charges
	var p4 string
	for _, e := range s.emu.Ledger() {
		if e.MerchantUID == uid(4, 1) {
			p4 = e.ImpUID
		}
	}
	res, err := http.Post(edgeURL+"/portone/webhook", "application/json",
		strings.NewReader(mustJSON(map[string]string{"imp_uid": p4, "merchant_uid": uid(4, 1), "status": "paid"})))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	eventually(t, 10*time.Second, "the late notification recorded", func() bool {
		st, err := s.tryState("sched-1")
		return err == nil && hasEvent(st, "payment_notification", uid(4, 1))
	})
	after := s.state("sched-1")
	settledUpTo4 := func(cs []billing.ChargeRecord) []billing.ChargeRecord {
		var out []billing.ChargeRecord
		for _, c := range cs {
			if c.Cycle <= 4 {
				out = append(out, c)
			}
		}
		return out
	}
	require.Equal(t, settledUpTo4(before), settledUpTo4(after.Charges), "nothing about the settled cycles changed")

	// Cancel between schedule and execution: the next cycle is registered with PortOne; revoke it.
	var pending *billing.ScheduledCharge
	eventually(t, 20*time.Second, "the next cycle scheduled", func() bool {
		st, err := s.tryState("sched-1")
		if err == nil && st.Scheduled != nil && time.Until(st.Scheduled.ScheduleAt) > 2*time.Second {
			pending = st.Scheduled
			return true
		}
		return false
	})
	_, err = s.update("sched-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	final := s.state("sched-1")
	require.Equal(t, billing.StatusCanceled, final.Status)
	var revoked bool
	for _, sc := range s.emu.Schedules() {
		if sc.MerchantUID == pending.MerchantUID {
			revoked = sc.Status == "revoked"
		}
	}
	require.True(t, revoked, "the pending schedule was revoked at PortOne")
	paidAtCancel := len(s.paid("sched-1-"))
	time.Sleep(time.Until(pending.ScheduleAt) + time.Second) // past its schedule_at
	require.Zero(t, s.emu.PaidCount(pending.MerchantUID), "nothing charged after the cancel")
	require.Len(t, s.paid("sched-1-"), paidAtCancel)
	s.checkMoneyInvariants(final)
}

// TestRegistrationRedirect drives the edge's m_redirect_url endpoint the way NaverPay's window
// does: a failed registration leaves the subscription waiting with the error recorded and shown
// verbatim; a successful one makes it active and takes the first charge.
func TestRegistrationRedirect(t *testing.T) {
	s := newStack(t, stackOptions{})
	edgeURL, _ := s.withEdge(t)
	run := s.start(demoInput("reg-1", "reg-cust", 30*time.Second))
	eventually(t, 10*time.Second, "awaiting registration", func() bool {
		st, err := s.tryState("reg-1")
		return err == nil && st.Status == billing.StatusAwaitingRegistration
	})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	complete := func(q url.Values) (int, string) {
		res, err := noRedirect.Get(edgeURL + "/registration/complete?" + q.Encode())
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		loc, err := res.Location()
		require.NoError(t, err)
		page, err := http.Get(loc.String())
		require.NoError(t, err)
		defer page.Body.Close()
		b, _ := io.ReadAll(page.Body)
		return page.StatusCode, string(b)
	}

	// The customer closes NaverPay's window.
	code, page := complete(url.Values{"merchant_uid": {billing.RegistrationMerchantUID("reg-1", "first")}, "imp_success": {"false"},
		"error_msg": {"[네이버페이] 사용자가 결제를 취소하였습니다"}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "[네이버페이] 사용자가 결제를 취소하였습니다", "NaverPay's message is shown verbatim")
	require.Contains(t, page, `data-outcome="failed"`)
	eventually(t, 10*time.Second, "the failure recorded", func() bool {
		st, err := s.tryState("reg-1")
		return err == nil && strings.Contains(st.Registration.LastError, "사용자가 결제를 취소")
	})
	require.Equal(t, billing.StatusAwaitingRegistration, s.state("reg-1").Status, "still waiting")

	// A forged success for an imp_uid PortOne does not know changes nothing.
	code, page = complete(url.Values{"imp_uid": {"imp_000000000001"}, "merchant_uid": {billing.RegistrationMerchantUID("reg-1", "forged")}, "imp_success": {"true"}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, `data-outcome="failed"`, "a forged success is shown as a failure")

	// The customer registers (the emulator plays NaverPay's window) and is redirected back.
	reg, err := s.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: "reg-cust",
		RegistrationMerchantUID: billing.RegistrationMerchantUID("reg-1", "second"), CustomerTel: "010-2222-3333"})
	require.NoError(t, err)
	code, page = complete(url.Values{"imp_uid": {reg.RegistrationImpUID}, "merchant_uid": {reg.RegistrationMerchantUID}, "imp_success": {"true"}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, `data-outcome="registered"`)
	eventually(t, 20*time.Second, "the first charge", func() bool { return len(s.paid("reg-1-")) == 1 })
	st := s.state("reg-1")
	require.Equal(t, billing.StatusActive, st.Status)
	require.Equal(t, reg.RegistrationImpUID, st.Registration.ImpUID)
	require.Empty(t, st.Registration.LastError)
	_, err = s.update("reg-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	s.checkMoneyInvariants(final)
}

// TestForgedDuplicatedAndMalformedWebhooksChangeNothing posts what an attacker or a confused
// network might send to the edge while a schedule-mode subscription is running: a notification
// claiming "paid" for a payment PortOne declined, the same genuine notification twice, one for a
// merchant_uid nobody issued, one for an imp_uid PortOne does not know, and malformed bodies.
// The subscription's state must not change wrongly, and the edge must say why in its logs.
func TestForgedDuplicatedAndMalformedWebhooksChangeNothing(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	edgeURL, logs := s.withEdge(t)
	s.startWorker(stackOptions{settleDelay: 2 * time.Second, noticeURL: edgeURL + "/portone/webhook"})
	s.register("forge-cust")
	in := demoInput("forge-1", "forge-cust", 60*time.Second)
	in.Plan.ChargeMode = billing.ChargeModeSchedule
	run := s.start(in)
	eventually(t, 20*time.Second, "first charge", func() bool { return len(s.paid("forge-1-")) == 1 })
	tag := billing.IncarnationTag(run.GetRunID())
	genuine := s.paid("forge-1-")[0]

	// A declined payment of the same customer under a merchant_uid of this subscription.
	declinedUID := billing.ChargeUID{SubscriptionID: "forge-1", Tag: tag, Cycle: 9, Attempt: 1}.String()
	s.emu.AddFault(portonetest.Fault{MerchantUID: declinedUID, Action: portonetest.FaultDecline, Reason: "잔액부족"})
	p, err := s.gateway.Again(context.Background(), againRequest("forge-cust", declinedUID))
	require.NoError(t, err)
	require.Equal(t, "failed", string(p.Status))

	var before billing.State
	eventually(t, 10*time.Second, "cycle 2 registered with PortOne's scheduler", func() bool {
		st, err := s.tryState("forge-1")
		before = st
		return err == nil && st.Scheduled != nil
	})
	post := func(contentType, body string) int {
		res, err := http.Post(edgeURL+"/portone/webhook", contentType, strings.NewReader(body))
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	jsonBody := func(imp, muid, status string) string {
		return mustJSON(map[string]string{"imp_uid": imp, "merchant_uid": muid, "status": status})
	}
	tests := []struct {
		name, contentType, body string
		want                    int
	}{
		{"forged paid for a declined payment", "application/json", jsonBody(p.ImpUID, declinedUID, "paid"), http.StatusOK},
		{"duplicate genuine", "application/json", jsonBody(genuine.ImpUID, genuine.MerchantUID, "paid"), http.StatusOK},
		{"duplicate genuine again, as a form", "application/x-www-form-urlencoded", "imp_uid=" + genuine.ImpUID + "&merchant_uid=" + genuine.MerchantUID + "&status=paid", http.StatusOK},
		{"unknown merchant_uid", "application/json", jsonBody(genuine.ImpUID, "order_8237352", "paid"), http.StatusOK},
		{"imp_uid unknown to PortOne", "application/json", jsonBody("imp_000000000042", genuine.MerchantUID, "paid"), http.StatusOK},
		{"merchant_uid of another payment", "application/json", jsonBody(genuine.ImpUID, declinedUID, "paid"), http.StatusOK},
		{"malformed JSON", "application/json", `{"imp_uid":`, http.StatusBadRequest},
		{"missing fields", "application/json", `{"status":"paid"}`, http.StatusBadRequest},
		{"wrong content type", "text/plain", "imp_uid=x", http.StatusBadRequest},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, post(tt.contentType, tt.body), tt.name)
	}
	time.Sleep(time.Second) // let any (wrong) signal reach the workflow
	after := s.state("forge-1")
	require.Equal(t, before.Status, after.Status)
	require.Equal(t, before.Charges, after.Charges, "no charge record changed")
	require.Equal(t, before.Cycle, after.Cycle)
	require.Len(t, s.paid("forge-1-"), 1)
	for _, e := range after.Events {
		if e.Kind == "payment_notification" {
			require.NotContains(t, e.Detail, declinedUID+" paid", "a forged 'paid' never reaches the workflow as paid")
		}
	}
	var warned []string
	for _, e := range logs.All() {
		if e.Level >= zap.WarnLevel {
			warned = append(warned, e.Message)
		}
	}
	require.NotEmpty(t, warned, "the edge logs what it refused")
	_, err = s.update("forge-1", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "e2e over"})
	require.NoError(t, err)
}
