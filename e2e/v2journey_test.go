package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/reconcile"
)

// journeyEvery is the demo interval of the journey's plans: long enough that a change_plan and
// its consent fit between two charges on a loaded machine, short enough for a quick test (the
// dunning retries come a tenth of it after the due time).
const journeyEvery = 5 * time.Second

// journeyWait bounds every wait of the journey: a few cycles on a loaded 2-core machine.
const journeyWait = 45 * time.Second

// Amounts of the journey's plan before and after the rise.
const (
	journeyPrice = 9900
	journeyRise  = 12900
)

// TestV2Journey is issue 22's "Done when" on the real stack: one PortOne V2 subscription
// registers through the edge (the registration page's request, the browser SDK stand-in's
// NaverPay window on mobile, the redirect back to the edge, and BillingKey.Issued to the
// edge's webhook; a key issued for someone else is refused by the edge and by the workflow),
// is charged its first cycle and renews, meets a decline that a dunning retry recovers, is
// paused and resumed, gets a consent-gated rise charged only after the consent, and is
// cancelled now with a full refund through V2's compare-and-set cancel. A second subscription
// makes the same charge steps in schedule mode, its decline on V2's scheduler. Then a
// reconciliation night over both generations finds nothing. Every step is checked against the
// emulator's V2 ledger by cycle (one PAID transaction per cycle, whether a cycle's retries are
// new paymentIds or attempts under one) and against the money invariants.
func TestV2Journey(t *testing.T) {
	started := time.Now()
	var err error
	var edgeHandler http.Handler
	edgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { edgeHandler.ServeHTTP(w, r) }))
	t.Cleanup(edgeSrv.Close)
	opts := stackOptions{settleDelay: time.Second, noWorker: true,
		emulator: portonetest.Options{V2: portonetest.V2Options{WebhookURL: edgeSrv.URL + edge.V2WebhookRoute}}}
	s := newStack(t, opts)
	// The worker reaches V2 through a recorder, so the test sees what it asked PortOne (the
	// key's verification, every pay, the cancel's expected remainder); the edge and the
	// reconciliation use the stack's own V2 gateway.
	v2gw := s.st.GatewayV2
	rec := &v2Recorder{next: s.emu.V2Handler()}
	recSrv := httptest.NewServer(rec)
	t.Cleanup(recSrv.Close)
	s.st.GatewayV2, err = portonev2.New(portonev2.Config{BaseURL: recSrv.URL, Secret: portonetest.DefaultV2Secret,
		StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 3 * time.Second})
	require.NoError(t, err)
	s.startWorker(opts)
	linkKeys, err := signedlink.NewKeys("e2e-v2-journey-link-secret-0123456789abcdef")
	require.NoError(t, err)
	whKeys, err := edge.ParseV2WebhookSecrets([]string{portonetest.DefaultV2WebhookSecret})
	require.NoError(t, err)
	e, err := edge.New(edge.Config{PublicURL: edgeSrv.URL, IMPCode: "imp00000000", LinkKeys: linkKeys,
		V2: &edge.V2Config{WebhookKeys: whKeys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey,
			SDKScriptURL: s.emuURL + "/__emulator/v2/browser-sdk.js"}},
		edge.Deps{Workflows: s.c, PortOne: s.gateway, PortOneV2: v2gw, Logger: zap.NewNop()})
	require.NoError(t, err)
	edgeHandler = e.Handler()

	// 1. Registration through the edge's V2 path.
	in := demoInput("v2j-again", "v2j-cust-1", journeyEvery)
	in.Gateway = billing.GatewayPortOneV2
	run := s.start(in)
	j := &v2Journey{t: t, s: s, id: in.SubscriptionID, run: run, rec: rec}
	j.key = j.registerThroughEdge(edgeSrv.URL, linkKeys, in)
	j.chargeSteps()
	finalAgain := j.cancelWithRefund()

	// The same charge steps in schedule mode, on a key issued beforehand (the registration
	// path is the first journey's).
	key2, err := s.st.IssueV2Key("v2j-sched-issue")
	require.NoError(t, err)
	in2 := demoInput("v2j-sched", key2, journeyEvery)
	in2.Gateway = billing.GatewayPortOneV2
	in2.Plan.ChargeMode = billing.ChargeModeSchedule
	j2 := &v2Journey{t: t, s: s, id: in2.SubscriptionID, key: key2, run: s.start(in2), schedule: true, rec: rec}
	j2.waitActive()
	j2.chargeSteps()
	finalSched := j2.cancelWithRefund()
	require.Positive(t, j2.scheduledPaid(), "at least one cycle was charged by V2's scheduler")
	for _, sc := range s.emu.V2Schedules() {
		if sc.BillingKey == key2 {
			require.NotEqual(t, "SCHEDULED", sc.Status, "schedule %s left pending after the cancel", sc.ID)
		}
	}

	// Every V2 webhook reached the edge and was taken (verified, re-fetched, acted on or
	// ignored as not ours).
	for _, d := range s.emu.Webhooks() {
		require.Equal(t, http.StatusOK, d.StatusCode, "%s %s: %s", d.URL, d.Body, d.Err)
	}

	// 7. A reconciliation night over both generations, as the worker binary runs it.
	rep := runReconcile(t, s, v2gw, started.Add(-time.Minute), time.Now().Add(2*time.Second))
	require.Empty(t, rep.Findings, "a clean night: %s", mustJSON(rep.Findings))
	require.GreaterOrEqual(t, rep.Subscriptions, 2)
	require.GreaterOrEqual(t, rep.Payments, len(j.paidByCycle())+len(j2.paidByCycle()), "every paid cycle was listed")
	for _, st := range []billing.State{finalAgain, finalSched} {
		require.Nil(t, st.Attention, "%s ended without being parked for a person", st.SubscriptionID)
	}
	t.Logf("journey took %s; reconciliation saw %d subscriptions and %d payments with %d requests",
		time.Since(started).Round(time.Second), rep.Subscriptions, rep.Payments, rep.Requests)
}

// v2Journey is one V2 subscription going through the journey's steps.
type v2Journey struct {
	t        *testing.T
	s        *stack
	id       string
	key      string
	run      client.WorkflowRun
	schedule bool
	// rec holds what the worker asked PortOne V2.
	rec *v2Recorder
	// riseCycle is the first cycle charged at the higher price; consentAt when the workflow
	// recorded the consent.
	riseCycle int
	consentAt time.Time
}

// registerThroughEdge drives the V2 registration of a subscription awaiting it as a phone
// would: the edge's registration page gives requestIssueBillingKey's request, the SDK
// stand-in opens NaverPay's window (REDIRECTION on mobile), the customer agrees, the window
// redirects to the edge's completion route with the key, and BillingKey.Issued reaches the
// edge's webhook. It returns the key.
func (j *v2Journey) registerThroughEdge(edgeURL string, linkKeys *signedlink.Keys, in billing.SubscriptionInput) string {
	t, s := j.t, j.s
	eventually(t, journeyWait, "awaiting registration", func() bool {
		st, err := s.tryState(j.id)
		return err == nil && st.Status == billing.StatusAwaitingRegistration
	})
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (int, string, string) {
		t.Helper()
		resp, err := hc.Get(u)
		require.NoError(t, err)
		defer func() { require.NoError(t, resp.Body.Close()) }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	resultOutcome := func(loc string) string {
		t.Helper()
		require.NotEmpty(t, loc, "a redirect to the result page")
		code, _, page := get(edgeURL + strings.TrimPrefix(loc, edgeURL))
		require.Equal(t, http.StatusOK, code, page)
		m := regexp.MustCompile(`data-outcome="([a-z_]+)"`).FindStringSubmatch(page)
		require.NotNil(t, m, page)
		return m[1]
	}
	now := time.Now()
	tok, err := linkKeys.Sign(signedlink.Register, j.id, now.Add(time.Hour), now)
	require.NoError(t, err)

	// A key NaverPay issued for another registration (another issueId) is refused by the edge
	// and by the workflow's own check at PortOne; the subscription keeps waiting.
	foreign, err := s.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "v2j-someone-else", IssueName: in.Plan.Name, NaverAccount: "naver-other"})
	require.NoError(t, err)
	code, loc, body := get(edgeURL + edge.V2CompleteRoute + "?" + url.Values{"link": {tok}, "billingKey": {foreign.BillingKey}, "transactionType": {"ISSUE_BILLING_KEY"}}.Encode())
	require.Equal(t, http.StatusSeeOther, code, body)
	require.Equal(t, edge.OutcomeFailed, resultOutcome(loc), "the edge refuses a key issued under another issueId")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID(j.id), "", billing.SignalRegistered, billing.RegisteredSignal{BillingKey: foreign.BillingKey}))
	eventually(t, journeyWait, "the foreign key rejected by the workflow", func() bool {
		st, err := s.tryState(j.id)
		return err == nil && hasEvent(st, "registration_rejected", "")
	})
	st := s.state(j.id)
	require.Equal(t, billing.StatusAwaitingRegistration, st.Status)
	require.Empty(t, st.BillingKey, "a key that did not verify is never trusted")

	// The registration page, as the browser gets it.
	code, _, page := get(edgeURL + signedlink.Register.Route() + tok)
	require.Equal(t, http.StatusOK, code, page)
	m := regexp.MustCompile(`(?s)<script type="application/json" id="v2-config">(.*?)</script>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the V2 registration page carries its request")
	var cfg struct {
		Ready   bool           `json:"ready"`
		Request map[string]any `json:"request"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[1]), &cfg))
	require.True(t, cfg.Ready, "the page offers V2 registration")
	require.Equal(t, in.CustomerUID, cfg.Request["issueId"], "issueId is the subscription's customer_uid")
	require.Equal(t, "EASY_PAY", cfg.Request["billingKeyMethod"])

	// requestIssueBillingKey on a phone: the stand-in opens NaverPay's window as a redirection.
	req := cfg.Request
	req["customer"] = map[string]string{"fullName": "홍길동", "phoneNumber": "010-5555-1234"}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	sessReq, err := http.NewRequest(http.MethodPost, s.emuURL+"/__emulator/v2/naverpay/session", strings.NewReader(string(b)))
	require.NoError(t, err)
	sessReq.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
	resp, err := hc.Do(sessReq)
	require.NoError(t, err)
	var sess struct {
		SessionID string `json:"session_id"`
		WindowURL string `json:"window_url"`
		Popup     bool   `json:"popup"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.False(t, sess.Popup, "REDIRECTION on mobile")
	code, _, window := get(s.emuURL + sess.WindowURL)
	require.Equal(t, http.StatusOK, code, window)
	resp, err = hc.PostForm(s.emuURL+"/__emulator/v2/naverpay/register", url.Values{"session": {sess.SessionID}, "action": {"agree"}, "naver_account": {"naver-v2j-1"}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	key := back.Query().Get("billingKey")
	require.NotEmpty(t, key, "NaverPay's window redirects back with the key: %s", back)
	require.True(t, strings.HasPrefix(back.String(), edgeURL+edge.V2CompleteRoute), back.String())
	code, loc, body = get(back.String())
	require.Equal(t, http.StatusSeeOther, code, body)
	require.Equal(t, edge.OutcomeRegistered, resultOutcome(loc))

	// BillingKey.Issued reached the edge too, verified; both make one `registered`.
	eventually(t, journeyWait, "BillingKey.Issued delivered to the edge", func() bool {
		for _, d := range s.emu.Webhooks() {
			if strings.Contains(d.Body, key) && strings.Contains(d.Body, "BillingKey.Issued") {
				return d.StatusCode == http.StatusOK
			}
		}
		return false
	})
	j.key = key
	j.waitActive()
	st = s.state(j.id)
	require.Equal(t, key, st.BillingKey)
	require.Equal(t, in.CustomerUID, st.CustomerUID)
	require.True(t, slices.ContainsFunc(st.Events, func(ev billing.Event) bool {
		return ev.Kind == "registered" && strings.Contains(ev.Detail, "verified at PortOne") && strings.Contains(ev.Detail, "issueId "+in.CustomerUID)
	}), "the workflow verified the key at PortOne V2: %s", mustJSON(st.Events))
	k, ok := s.emu.BillingKeyV2(key)
	require.True(t, ok)
	require.Equal(t, in.CustomerUID, k.IssueID)
	// The workflow looked both keys up at PortOne itself, charged only the verified one, and
	// only after verifying it.
	require.GreaterOrEqual(t, j.rec.index(http.MethodGet, "/billing-keys/"+foreign.BillingKey), 0, "the foreign key was checked at PortOne")
	verified := j.rec.index(http.MethodGet, "/billing-keys/"+key)
	require.GreaterOrEqual(t, verified, 0, "the key was checked at PortOne")
	pays := j.rec.requests(http.MethodPost, "/payments/", "/billing-key")
	require.NotEmpty(t, pays)
	for _, p := range pays {
		require.NotEqual(t, foreign.BillingKey, p.Body["billingKey"], "the foreign key is never charged")
	}
	require.Less(t, verified, j.rec.index(http.MethodPost, pays[0].Path), "verified before the first charge")
	return key
}

// waitActive waits for the first charge: active with a paid cycle 1.
func (j *v2Journey) waitActive() {
	j.t.Helper()
	eventually(j.t, journeyWait, j.id+" active and its first cycle paid", func() bool {
		st, err := j.s.tryState(j.id)
		return err == nil && st.Status == billing.StatusActive && len(j.paidByCycle()) >= 1
	})
}

// chargeSteps are steps 2–5 of the journey.
func (j *v2Journey) chargeSteps() {
	t, s := j.t, j.s

	// 2. The first charge and a renewal.
	j.waitPaidCycles(2)
	j.checkLedger()

	// 3. A decline of the next cycle's first attempt (at V2's scheduler in schedule mode),
	// recovered by a dunning retry through POST /payments/{paymentId}/billing-key.
	next := j.paidCycles() + 1
	op := portonetest.OpV2Pay
	if j.schedule {
		op = portonetest.OpV2ScheduleExecution
		eventually(t, journeyWait, fmt.Sprintf("cycle %d scheduled at V2", next), func() bool { return j.pendingSchedule(next) != nil })
	}
	faultID := s.emu.AddFault(portonetest.Fault{CustomerUID: j.key, Op: op, Action: portonetest.FaultDecline, Times: 1})
	j.waitPaidCycles(next)
	require.False(t, slices.ContainsFunc(s.emu.Faults(), func(f portonetest.ActiveFault) bool { return f.ID == faultID }), "the decline fired")
	var declined, paid []portonetest.LedgerEntry
	for _, e := range j.attemptsByCycle()[next] {
		if e.PaidAt.IsZero() {
			declined = append(declined, e)
		} else {
			paid = append(paid, e)
		}
	}
	require.Len(t, declined, 1, "cycle %d declined once: %s", next, mustJSON(declined))
	require.Equal(t, portonetest.V2PGCodeDecline, declined[0].PGCode)
	require.Len(t, paid, 1, "cycle %d paid once", next)
	require.Empty(t, paid[0].ScheduleID, "the recovery is the workflow's own retry")
	if j.schedule {
		require.NotEmpty(t, declined[0].ScheduleID, "the declined attempt was V2's scheduler's")
	}
	st := s.state(j.id)
	require.True(t, hasEvent(st, "recovered", ""), "the dunning retry recovered cycle %d: %s", next, mustJSON(st.Events))
	require.Nil(t, st.DunningState)
	j.checkLedger()

	// 4. Pause now and resume on the anchor: nothing is charged while paused.
	st = s.state(j.id)
	due := st.NextChargeAt
	before := j.paidCycles()
	r, err := s.update(j.id, billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "E2E 일시정지"})
	require.NoError(t, err)
	require.Equal(t, billing.StatusPaused, r.Status)
	if j.schedule {
		eventually(t, journeyWait, "the pending schedule revoked by the pause", func() bool { return j.pendingSchedule(0) == nil })
	}
	// Past the due time the pause skipped, and a retry's time after it: still nothing.
	for time.Now().Before(due.Add(journeyEvery / 2)) {
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, before, j.paidCycles(), "nothing is charged while paused")
	require.Equal(t, billing.StatusPaused, s.state(j.id).Status)
	r, err = s.update(j.id, billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeKeepAnchor, Reason: "E2E 재개"})
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, r.Status)
	j.waitPaidCycles(before + 1)
	j.checkLedger()

	// 5. A rise at the next cycle: consent is asked for at once (the cycle is nearer than the
	// 30-"day" window); the higher price is charged only after the consent. The change is
	// made with at least half a cycle to go, so the consent surely comes before the due time.
	eventually(t, 3*journeyEvery, "half a cycle ahead to change the plan in", func() bool {
		st, err := s.tryState(j.id)
		return err == nil && time.Until(st.NextChargeAt) >= journeyEvery/2
	})
	_, err = s.update(j.id, billing.MsgChangePlan, billing.ChangePlanRequest{Amount: journeyRise, Name: "E2E Plus", Reason: "E2E 인상"})
	require.NoError(t, err)
	// The window opens in the workflow's next steps (in schedule mode after the revoke of the
	// cycle scheduled at the old price), well before the due time.
	eventually(t, journeyEvery, "the rise asks for consent", func() bool {
		st, err = s.tryState(j.id)
		return err == nil && st.Consent != nil
	})
	c := st.Consent
	require.Equal(t, billing.ConsentRequired, c.Status)
	require.EqualValues(t, journeyPrice, c.AmountBefore)
	require.EqualValues(t, journeyRise, c.AmountAfter)
	j.riseCycle = st.Cycle + 1
	_, err = s.update(j.id, billing.MsgConsent, consentFor(c, journeyRise))
	require.NoError(t, err)
	st = s.state(j.id)
	require.NotNil(t, st.Consent)
	require.Equal(t, billing.ConsentGranted, st.Consent.Status)
	j.consentAt = st.Consent.Evidence.RecordedAt
	j.waitPaidCycles(j.riseCycle)
	j.checkLedger()
	require.EqualValues(t, journeyRise, j.paidByCycle()[j.riseCycle].Amount, "cycle %d charged at the higher price", j.riseCycle)
}

// cancelWithRefund is step 6: cancel now with a full refund of the cycle paid last, through
// V2's compare-and-set cancel; it returns the final state.
func (j *v2Journey) cancelWithRefund() billing.State {
	t, s := j.t, j.s
	last := j.paidCycles()
	r, err := s.update(j.id, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "E2E 해지", Requester: billing.RequesterCustomer, Refund: billing.RefundFull})
	require.NoError(t, err)
	require.Equal(t, billing.StatusCanceled, r.Status)
	require.NotNil(t, r.Refund, "the cancel refunded")
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	var final billing.State
	require.NoError(t, j.run.Get(ctx, &final))
	require.Equal(t, billing.StatusCanceled, final.Status)
	require.Equal(t, billing.GatewayPortOneV2, final.Gateway)
	require.NotEmpty(t, final.Refunds)
	paid := j.paidByCycle()
	require.Len(t, paid, last, "no cycle charged after the cancel")
	for cycle, e := range paid {
		want := int64(0)
		if cycle == last {
			want = e.Amount
		}
		require.Equal(t, want, e.CancelAmount, "cycle %d refunded %d", cycle, want)
	}
	require.Len(t, paid[last].Cancels, 1, "the refund was made once")
	require.EqualValues(t, journeyRise, paid[last].CancelAmount)
	cancels := j.rec.requests(http.MethodPost, "/payments/"+paid[last].MerchantUID+"/cancel", "")
	require.Len(t, cancels, 1, "one cancel request")
	require.EqualValues(t, journeyRise, cancels[0].Body["currentCancellableAmount"], "compare-and-set: the remainder it expects")
	require.Equal(t, "CUSTOMER", cancels[0].Body["requester"])
	require.NotEmpty(t, cancels[0].Body["reason"])
	require.Empty(t, s.emu.Warnings(), "nothing NaverPay's review would flag")
	j.checkLedger()
	s.checkMoneyInvariants(final)
	// Every attempt, declined ones and V2's scheduler's included, is in the state with its
	// transactionId; the consent the rise was charged on is in the audit trail.
	txIDs := map[string]bool{}
	for _, c := range s.allCharges(final) {
		txIDs[c.ImpUID] = true
	}
	for cycle, attempts := range j.attemptsByCycle() {
		for _, e := range attempts {
			require.True(t, txIDs[e.ImpUID], "cycle %d: attempt %s (%s, paid %t) recorded with its transactionId", cycle, e.ImpUID, e.MerchantUID, !e.PaidAt.IsZero())
		}
	}
	consents := append([]billing.ConsentState(nil), final.ConsentHistory...)
	if final.Consent != nil {
		consents = append(consents, *final.Consent)
	}
	require.True(t, slices.ContainsFunc(consents, func(c billing.ConsentState) bool {
		return c.Status == billing.ConsentGranted && c.AmountAfter == journeyRise && c.Evidence != nil && c.Evidence.RecordID == "rec-1"
	}), "the consent is on record: %s", mustJSON(consents))
	return final
}

// checkLedger holds at every step: every attempt of the subscription went through V2 on its
// key, each cycle has exactly one PAID transaction (whatever paymentIds its retries used), the
// cycles are numbered without gaps, and the rise's price is charged only after its consent.
func (j *v2Journey) checkLedger() {
	j.t.Helper()
	for cycle, attempts := range j.attemptsByCycle() {
		paid := 0
		for _, e := range attempts {
			require.Equal(j.t, portonetest.VersionV2, e.Version, "%s went through V2", e.MerchantUID)
			require.Equal(j.t, j.key, e.CustomerUID, "%s charged the subscription's key", e.MerchantUID)
			if e.PaidAt.IsZero() {
				continue
			}
			paid++
			switch {
			case j.riseCycle == 0 || cycle < j.riseCycle:
				require.EqualValues(j.t, journeyPrice, e.Amount, "cycle %d before the rise", cycle)
			default:
				require.EqualValues(j.t, journeyRise, e.Amount, "cycle %d after the rise", cycle)
				require.False(j.t, e.PaidAt.Before(j.consentAt.Truncate(time.Second)), "cycle %d charged %d at %s, before the consent at %s",
					cycle, e.Amount, e.PaidAt, j.consentAt)
			}
		}
		require.LessOrEqual(j.t, paid, 1, "cycle %d has %d PAID transactions", cycle, paid)
	}
	if j.rec != nil {
		// Each pay the worker sent made one attempt: none lost, none doubled.
		attempts, requests := 0, 0
		for _, list := range j.attemptsByCycle() {
			for _, e := range list {
				if e.ScheduleID == "" {
					attempts++
				}
			}
		}
		for _, q := range j.rec.requests(http.MethodPost, "/payments/", "/billing-key") {
			if p, err := billing.ParseMerchantUID(strings.TrimSuffix(strings.TrimPrefix(q.Path, "/payments/"), "/billing-key")); err == nil && p.SubscriptionID == j.id {
				requests++
			}
		}
		require.Equal(j.t, attempts, requests, "one V2 pay request per attempt in the ledger")
	}
	n := j.paidCycles()
	for cycle := 1; cycle <= n; cycle++ {
		require.Contains(j.t, j.paidByCycle(), cycle, "cycles paid without a gap")
	}
}

// attemptsByCycle is the subscription's V2 charge attempts in the emulator's ledger by cycle,
// the cycle read from the paymentId.
func (j *v2Journey) attemptsByCycle() map[int][]portonetest.LedgerEntry {
	out := map[int][]portonetest.LedgerEntry{}
	for _, e := range j.s.emu.Ledger() {
		p, err := billing.ParseMerchantUID(e.MerchantUID)
		if err != nil || p.Kind != billing.KindCharge || p.SubscriptionID != j.id {
			continue
		}
		out[p.Charge.Cycle] = append(out[p.Charge.Cycle], e)
	}
	return out
}

// paidByCycle is each cycle's PAID transaction (checkLedger proves there is at most one).
func (j *v2Journey) paidByCycle() map[int]portonetest.LedgerEntry {
	out := map[int]portonetest.LedgerEntry{}
	for cycle, attempts := range j.attemptsByCycle() {
		for _, e := range attempts {
			if !e.PaidAt.IsZero() {
				out[cycle] = e
			}
		}
	}
	return out
}

func (j *v2Journey) paidCycles() int { return len(j.paidByCycle()) }

// scheduledPaid counts the cycles V2's scheduler paid.
func (j *v2Journey) scheduledPaid() int {
	n := 0
	for _, e := range j.paidByCycle() {
		if e.ScheduleID != "" {
			n++
		}
	}
	return n
}

func (j *v2Journey) waitPaidCycles(n int) {
	j.t.Helper()
	eventually(j.t, journeyWait, fmt.Sprintf("%s: %d paid cycles", j.id, n), func() bool { return j.paidCycles() >= n })
}

// pendingSchedule is the subscription's SCHEDULED V2 schedule for cycle (0: any cycle).
func (j *v2Journey) pendingSchedule(cycle int) *portonetest.V2ScheduleRecord {
	for _, sc := range j.s.emu.V2Schedules() {
		p, err := billing.ParseMerchantUID(sc.PaymentID)
		if sc.BillingKey != j.key || sc.Status != "SCHEDULED" || err != nil || p.SubscriptionID != j.id {
			continue
		}
		if cycle == 0 || p.Charge.Cycle == cycle {
			return &sc
		}
	}
	return nil
}

// runReconcile runs the Reconcile workflow over [from, to) on a worker of its own that reads
// both generations as one (reconcile.Generations), as the worker binary does with V2 set.
func runReconcile(t *testing.T, s *stack, v2 *portonev2.Gateway, from, to time.Time) reconcile.Report {
	t.Helper()
	const queue = "v2journey-reconcile"
	w := worker.New(s.c, queue, worker.Options{WorkflowPanicPolicy: worker.FailWorkflow})
	reconcile.Register(w, &reconcile.Activities{Gateway: reconcile.Generations{portonev1.New(s.gateway), v2},
		Subscriptions: reconcile.TemporalSubscriptions{Client: s.c}})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: reconcile.WorkflowIDPrefix + "/v2journey", TaskQueue: queue},
		reconcile.WorkflowType, reconcile.Input{From: from, To: to, Rate: 100})
	require.NoError(t, err)
	var rep reconcile.Report
	require.NoError(t, run.Get(ctx, &rep))
	require.Equal(t, "done", rep.Phase)
	return rep
}

// v2Recorder passes requests to the emulator's V2 API and keeps each one's method, path and
// body.
type v2Recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []v2Request
}

// v2Request is one request the worker sent to PortOne V2.
type v2Request struct {
	Method, Path string
	Body         map[string]any
}

func (r *v2Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var body map[string]any
	if len(b) > 0 && json.Unmarshal(b, &body) != nil {
		body = map[string]any{"_raw": string(b)}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, v2Request{Method: req.Method, Path: req.URL.Path, Body: body})
	r.mu.Unlock()
	req.Body = io.NopCloser(strings.NewReader(string(b)))
	r.next.ServeHTTP(w, req)
}

// requests returns the recorded requests whose method and path match (path by prefix and
// suffix).
func (r *v2Recorder) requests(method, prefix, suffix string) []v2Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []v2Request
	for _, q := range r.reqs {
		if q.Method == method && strings.HasPrefix(q.Path, prefix) && strings.HasSuffix(q.Path, suffix) {
			out = append(out, q)
		}
	}
	return out
}

// index is the position of the first recorded request matching, -1 when none.
func (r *v2Recorder) index(method, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.IndexFunc(r.reqs, func(q v2Request) bool { return q.Method == method && q.Path == path })
}
