package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// withV2Edge serves the HTTP edge with PortOne V2 on (its Standard Webhooks route verifying
// with the emulator's secret, re-fetches through the stack's V2 gateway) and returns its URL
// and its log observer.
func (s *stack) withV2Edge(t *testing.T) (string, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	keys, err := edge.ParseV2WebhookSecrets([]string{portonetest.DefaultV2WebhookSecret})
	require.NoError(t, err)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e, err := edge.New(edge.Config{PublicURL: srv.URL, IMPCode: "imp00000000", Demo: true,
		V2: &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}},
		edge.Deps{Workflows: s.c, PortOne: s.gateway, PortOneV2: s.st.GatewayV2, Logger: zap.New(core)})
	require.NoError(t, err)
	h = e.Handler()
	return srv.URL, logs
}

// signV2 signs body as Standard Webhooks does (what PortOne V2 sends), with secret (whsec_...)
// at instant at.
func signV2(t *testing.T, secret, id string, at time.Time, body []byte) http.Header {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/json")
	return h
}

// TestV2WebhooksLostDuplicatedLateAndForged is V1's webhook fault tests on PortOne V2: a
// schedule-mode V2 subscription whose cycles PortOne V2's scheduler charges and notifies through
// the edge's Standard Webhooks route, while PortOne loses one cycle's Transaction.Paid (settled
// by the fallback lookup), delivers the next one's twice with one webhook-id (acted on once) and
// holds the one after back until its cycle was settled without it (the late one changes
// nothing). Then forged ones: unsigned, signed with another secret, signed but stale, and a
// genuinely signed one claiming Transaction.Paid for a payment PortOne declined; each is refused
// or, re-fetched, found untrue, and changes nothing. The ledger's V2 entries keep the money
// invariants.
func TestV2WebhooksLostDuplicatedLateAndForged(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	edgeURL, logs := s.withV2Edge(t)
	// V2 schedules carry the edge's V2 route as their noticeUrls, V1's its V1 route.
	s.startWorker(stackOptions{settleDelay: 3 * time.Second, noticeURL: edgeURL + "/portone/webhook", noticeURLV2: edgeURL + edge.V2WebhookRoute})
	key, err := s.st.IssueV2Key("v2-hooks-issue")
	require.NoError(t, err)
	in := demoInput("v2-hooks", key, 8*time.Second)
	in.Gateway = billing.GatewayPortOneV2
	in.Plan.ChargeMode = billing.ChargeModeSchedule
	run := s.start(in)
	kept := func(cycle int) []portonetest.LedgerEntry { return keptCycles(s.emu.Ledger(), "v2-hooks")[cycle] }
	settled := func(cycle int) (billing.ChargeRecord, bool) {
		if len(kept(cycle)) == 0 {
			return billing.ChargeRecord{}, false
		}
		return s.settledEntry("v2-hooks", kept(cycle)[0])
	}

	// Each fault names the billing key and catches the next scheduled execution's webhook:
	// cycle 2's is lost, cycle 3's duplicated, cycle 4's late (held past its settling).
	faults := []struct {
		cycle  int
		action portonetest.FaultAction
	}{
		{2, portonetest.FaultWebhookFail},
		{3, portonetest.FaultWebhookDuplicate},
		{4, portonetest.FaultWebhookDelay},
	}
	eventually(t, 30*time.Second, "cycle 1 paid", func() bool { _, ok := settled(1); return ok })
	for _, f := range faults {
		eventually(t, 20*time.Second, "the cycle registered with V2's scheduler", func() bool {
			st, err := s.tryState("v2-hooks")
			return err == nil && st.Scheduled != nil && st.Scheduled.Cycle == f.cycle
		})
		s.emu.AddFault(portonetest.Fault{CustomerUID: key, Op: portonetest.OpV2ScheduleExecution, Action: f.action, Times: 1, Latency: 30 * time.Second})
		eventually(t, 40*time.Second, "cycle settled", func() bool { _, ok := settled(f.cycle); return ok })
	}
	st := s.state("v2-hooks")
	for cycle := 2; cycle <= 4; cycle++ {
		c, _ := settled(cycle)
		require.Equal(t, billing.ViaSchedule, c.Via, "cycle %d charged by V2's scheduler", cycle)
		require.Equal(t, billing.OutcomePaid, c.Outcome)
		require.Len(t, kept(cycle), 1, "cycle %d paid once", cycle)
		require.Equal(t, portonetest.VersionV2, kept(cycle)[0].Version)
	}
	hooks := func(cycle int) (delivered, failed int) {
		for _, w := range s.emu.Webhooks() {
			if w.MerchantUID == kept(cycle)[0].MerchantUID && strings.Contains(w.Body, "Transaction.Paid") {
				if w.OK() {
					delivered++
				} else {
					failed++
				}
			}
		}
		return
	}
	d2, f2 := hooks(2)
	require.Equal(t, 0, d2, "cycle 2's Transaction.Paid was lost")
	require.Positive(t, f2)
	d3, _ := hooks(3)
	require.Equal(t, 2, d3, "cycle 3's Transaction.Paid delivered twice")
	var dupSeen bool
	for _, e := range logs.All() {
		dupSeen = dupSeen || strings.Contains(e.Message, "V2 webhook duplicate")
	}
	require.True(t, dupSeen, "the edge recognised the second delivery by its webhook-id")
	c3 := 0
	for _, c := range st.Charges {
		if c.Cycle == 3 {
			c3++
		}
	}
	require.Equal(t, 1, c3, "cycle 3 recorded once")

	// Cycle 4's webhook arrives late (30 s after its execution), after the cycle was settled by
	// the lookup: nothing about the settled cycles changes.
	before := settledUpTo(s.state("v2-hooks").Charges, 4)
	eventually(t, 45*time.Second, "the late webhook delivered", func() bool { d, _ := hooks(4); return d == 1 })
	time.Sleep(time.Second)
	require.Equal(t, before, settledUpTo(s.state("v2-hooks").Charges, 4), "the late webhook changed nothing")

	// Forged: a declined V2 payment under a paymentId of this subscription, then webhooks about
	// it and about a genuine one. Its cycle is one the subscription never reaches in this test
	// (cycle 9 did, 8 s apart, and its own charge then shared the forged one's paymentId).
	tag := billing.IncarnationTag(run.GetRunID())
	declined := billing.CyclePaymentID{SubscriptionID: "v2-hooks", Tag: tag, Cycle: 999}.String()
	s.emu.AddFault(portonetest.Fault{MerchantUID: declined, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Times: 1})
	p, err := s.st.GatewayV2.Charge(context.Background(), gateway.ChargeRequest{Key: key, PaymentID: declined, Amount: 9900, Name: "forged"})
	require.NoError(t, err)
	require.Equal(t, gateway.StatusFailed, p.Status)
	genuine := kept(2)[0]
	body := func(typ, paymentID, txID string) []byte {
		return []byte(mustJSON(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]string{"storeId": portonetest.DefaultStoreID, "paymentId": paymentID, "transactionId": txID}}))
	}
	beforeForged := s.state("v2-hooks")
	now := time.Now()
	tests := []struct {
		name   string
		body   []byte
		header http.Header
		want   int
	}{
		{"unsigned", body("Transaction.Paid", declined, p.TxID), http.Header{"Content-Type": {"application/json"}}, http.StatusUnauthorized},
		{"signed with another secret", body("Transaction.Paid", declined, p.TxID),
			signV2(t, "whsec_"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), "msg_forged_1", now, body("Transaction.Paid", declined, p.TxID)), http.StatusUnauthorized},
		{"replayed: stale timestamp", body("Transaction.Paid", genuine.MerchantUID, genuine.ImpUID),
			signV2(t, portonetest.DefaultV2WebhookSecret, "msg_stale_1", now.Add(-10*time.Minute), body("Transaction.Paid", genuine.MerchantUID, genuine.ImpUID)), http.StatusUnauthorized},
		{"signed, claiming paid for a declined payment", body("Transaction.Paid", declined, p.TxID),
			signV2(t, portonetest.DefaultV2WebhookSecret, "msg_claim_1", now, body("Transaction.Paid", declined, p.TxID)), http.StatusOK},
		{"signed, a paymentId nobody issued", body("Transaction.Paid", "order_8237352", "tx-none"),
			signV2(t, portonetest.DefaultV2WebhookSecret, "msg_foreign_1", now, body("Transaction.Paid", "order_8237352", "tx-none")), http.StatusOK},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, edgeURL+edge.V2WebhookRoute, bytes.NewReader(tt.body))
		require.NoError(t, err)
		req.Header = tt.header
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, tt.want, res.StatusCode, tt.name)
	}
	time.Sleep(time.Second) // let any (wrong) signal reach the workflow
	afterForged := s.state("v2-hooks")
	require.Equal(t, settledUpTo(beforeForged.Charges, beforeForged.Cycle), settledUpTo(afterForged.Charges, beforeForged.Cycle), "no settled charge changed")
	for _, c := range afterForged.Charges {
		require.NotEqual(t, declined, c.GatewayPaymentID(), "the declined payment was never taken for a cycle's")
	}
	require.Zero(t, s.emu.PaidCount(declined), "the declined payment stays declined")

	_, err = s.update("v2-hooks", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "E2E 종료", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var final billing.State
	require.NoError(t, run.Get(ctx, &final))
	// The declined cycle-9 payment was made by the test, not the workflow: every other attempt
	// must be the workflow's.
	var problems []string
	for _, pr := range ledgerProblems(s, final) {
		if !strings.Contains(pr, declined) {
			problems = append(problems, pr)
		}
	}
	require.Empty(t, problems)
}

// settledUpTo is the charge records of cycles up to last.
func settledUpTo(cs []billing.ChargeRecord, last int) []billing.ChargeRecord {
	var out []billing.ChargeRecord
	for _, c := range cs {
		if c.Cycle <= last && c.Outcome != billing.OutcomeScheduled {
			out = append(out, c)
		}
	}
	return out
}
