package portonetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// received is one webhook a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// v2Receiver is a webhook receiver that records what it gets.
type v2Receiver struct {
	mu  sync.Mutex
	got []received
	srv *httptest.Server
}

func newV2Receiver(t *testing.T) *v2Receiver {
	r := &v2Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b})
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitV2 waits for n deliveries and returns them decoded.
func waitV2(t *testing.T, emu *Emulator, n int) []WebhookDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := emu.WaitWebhooks(ctx, n)
	require.NoError(t, err)
	return ds
}

func types(ds []WebhookDelivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Type)
	}
	return out
}

func TestV2OneSuccessPerPaymentID(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("one")

	h.emu.AddFault(Fault{MerchantUID: "cycle-1", Op: OpV2Pay, Action: FaultDecline, Times: 1})
	r := h.pay("cycle-1", key, 9900)
	require.Equal(t, http.StatusBadGateway, r.Status)
	require.Equal(t, "PG_PROVIDER", r.typ(t))
	require.Equal(t, V2PGCodeDecline, r.obj(t)["pgCode"])
	require.Equal(t, DefaultDeclineReason, r.obj(t)["pgMessage"])
	got := h.do("GET", "/payments/cycle-1", nil).obj(t)
	require.Equal(t, "FAILED", got["status"])
	require.Equal(t, V2PGCodeDecline, got["failure"].(map[string]any)["pgCode"])

	r = h.pay("cycle-1", key, 9900) // the retry reuses the paymentId
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = h.pay("cycle-1", key, 9900)
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "ALREADY_PAID", r.typ(t))

	attempts := h.emu.V2Attempts("cycle-1")
	require.Len(t, attempts, 2, "the refused third call made no attempt")
	require.NotEqual(t, attempts[0].ImpUID, attempts[1].ImpUID, "each attempt has its own transactionId")
	require.Equal(t, []string{statusFailed, statusPaid}, []string{attempts[0].Status, attempts[1].Status})
	require.Equal(t, VersionV2, attempts[1].Version)
	require.Equal(t, 1, h.emu.PaidCount("cycle-1"))
	got = h.do("GET", "/payments/cycle-1", nil).obj(t)
	require.Equal(t, "PAID", got["status"])
	require.Equal(t, attempts[1].ImpUID, got["transactionId"], "the payment shows its successful attempt")

	tx := h.do("GET", "/payments/cycle-1/transactions", nil).obj(t)["items"].([]any)
	require.Len(t, tx, 2)
	require.Equal(t, attempts[0].ImpUID, tx[0].(map[string]any)["id"])
}

func TestV2PayRules(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(h *v2Harness, key string)
		body       func(key string) map[string]any
		wantStatus int
		wantType   string
		wantPaid   int
	}{
		{"hard decline makes the key decline forever", func(h *v2Harness, key string) {
			h.emu.AddFault(Fault{CustomerUID: key, Op: OpV2Pay, Action: FaultDecline, Hard: true, Times: 1})
			require.Equal(t, V2PGCodeHardDecline, h.pay("other", key, 1000).obj(h.t)["pgCode"])
		}, func(key string) map[string]any { return payBody(key, 1000) }, http.StatusBadGateway, "PG_PROVIDER", 0},
		{"decline_code is a decline too", func(h *v2Harness, key string) {
			h.emu.AddFault(Fault{MerchantUID: "p", Action: FaultDeclineCode, PGCode: "X1", Times: 1})
		}, func(key string) map[string]any { return payBody(key, 1000) }, http.StatusBadGateway, "PG_PROVIDER", 0},
		{"amount mismatch is paid for the other amount", func(h *v2Harness, _ string) {
			h.emu.AddFault(Fault{MerchantUID: "p", Action: FaultAmountMismatch, PaidAmount: 1234, Times: 1})
		}, func(key string) map[string]any { return payBody(key, 1000) }, http.StatusOK, "", 1},
		{"a key deleted by the console", func(h *v2Harness, key string) { require.NoError(h.t, h.emu.DeleteBillingKeyV2(key)) },
			func(key string) map[string]any { return payBody(key, 1000) }, http.StatusConflict, "BILLING_KEY_ALREADY_DELETED", 0},
		{"a missing orderName", nil, func(key string) map[string]any {
			b := payBody(key, 1000)
			delete(b, "orderName")
			return b
		}, http.StatusBadRequest, "INVALID_REQUEST", 0},
		{"USD", nil, func(key string) map[string]any {
			return payBody(key, 1000, func(b map[string]any) { b["currency"] = "USD" })
		},
			http.StatusBadRequest, "INVALID_REQUEST", 0},
		{"exactly the NaverPay minimum", nil, func(key string) map[string]any { return payBody(key, V2NaverPayMinAmount) }, http.StatusOK, "", 1},
		{"a 이용완료일 on the payment day", nil, func(key string) map[string]any {
			return payBody(key, 1000, func(b map[string]any) {
				b["bypass"] = map[string]any{"naverpay": map[string]any{"useCfmYmdt": kstDate(t0)}}
			})
		}, http.StatusOK, "", 1},
		{"a 이용완료일 that is not a date", nil, func(key string) map[string]any {
			return payBody(key, 1000, func(b map[string]any) {
				b["bypass"] = map[string]any{"naverpay": map[string]any{"useCfmYmdt": "20261131"}}
			})
		}, http.StatusBadRequest, "INVALID_REQUEST", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV2Harness(t)
			h.allowBadRequests() // a missing orderName breaks the document on purpose
			key := h.issueKey("rules")
			if tt.setup != nil {
				tt.setup(h, key)
			}
			r := h.do("POST", "/payments/p/billing-key", tt.body(key))
			require.Equal(t, tt.wantStatus, r.Status, "%s", r.Raw)
			if tt.wantType != "" {
				require.Equal(t, tt.wantType, r.typ(t))
			}
			require.Equal(t, tt.wantPaid, h.emu.PaidCount("p"))
		})
	}
}

func TestV2AmountsReachTheLedger(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("amounts")
	cfm := kstDate(t0.AddDate(0, 0, 30))
	r := h.pay("tf-1", key, 11000, func(b map[string]any) {
		b["amount"] = map[string]any{"total": 11000, "taxFree": 1000}
		b["bypass"] = map[string]any{"naverpay": map[string]any{"useCfmYmdt": cfm}}
	})
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	le := h.emu.V2Attempts("tf-1")[0]
	require.Equal(t, int64(11000), le.Amount)
	require.Equal(t, int64(1000), le.TaxFree)
	require.Equal(t, cfm, le.NaverUseCfm)
	amt := h.do("GET", "/payments/tf-1", nil).obj(t)["amount"].(map[string]any)
	require.EqualValues(t, 1000, amt["taxFree"])
	require.EqualValues(t, 909, amt["vat"], "vat defaults to (total - taxFree) / 11")
}

func TestV2MaxAttempts(t *testing.T) {
	h := newV2Harness(t, func(o *Options) { o.V2.MaxAttempts = 3 })
	key := h.issueKey("max")
	h.emu.AddFault(Fault{MerchantUID: "m", Action: FaultDecline})
	for i := range 3 {
		require.Equal(t, http.StatusBadGateway, h.pay("m", key, 1000).Status, "attempt %d", i+1)
	}
	r := h.pay("m", key, 1000)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "MAX_TRANSACTION_COUNT_REACHED", r.typ(t))
	require.Len(t, h.emu.V2Attempts("m"), 3)
	h.emu.ClearFaults()
	require.Equal(t, http.StatusOK, h.pay("m-next", key, 1000).Status, "another paymentId is not capped")
}

func TestV2LostAnswerIsFoundByTheLookup(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("lost")
	h.emu.AddFault(Fault{MerchantUID: "lost-1", Op: OpV2Pay, Action: FaultCommitThenDrop, Times: 1})
	req, err := http.NewRequest("POST", h.srv.URL+"/payments/lost-1/billing-key", strings.NewReader(mustJSONString(payBody(key, 1000))))
	require.NoError(t, err)
	req.Header.Set("Authorization", "PortOne "+DefaultV2Secret)
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err, "the answer is lost")
	require.Equal(t, "PAID", h.do("GET", "/payments/lost-1", nil).obj(t)["status"])
	r := h.pay("lost-1", key, 1000)
	require.Equal(t, "ALREADY_PAID", r.typ(t), "a retry after a lost answer never charges twice")
	require.Equal(t, 1, h.emu.PaidCount("lost-1"))

	h.emu.AddFault(Fault{MerchantUID: "lost-2", Op: OpV2Pay, Action: FaultErrorBeforeCommit, Times: 1})
	r = h.pay("lost-2", key, 1000)
	require.Equal(t, http.StatusInternalServerError, r.Status)
	require.Equal(t, http.StatusNotFound, h.do("GET", "/payments/lost-2", nil).Status, "nothing was stored")
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestV2NaverPayIssueIDIsNeverReused(t *testing.T) {
	h := newV2Harness(t)
	seed := V2BillingKeySeed{IssueID: "reg-1", IssueName: "월간", NaverAccount: "naver-a"}
	k1, err := h.emu.IssueBillingKeyV2(seed)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k1.BillingKey, "billing-key-"))
	_, err = h.emu.IssueBillingKeyV2(seed)
	require.ErrorIs(t, err, ErrV2IssueIDReused)
	require.NoError(t, h.emu.DeleteBillingKeyV2(k1.BillingKey))
	_, err = h.emu.IssueBillingKeyV2(seed)
	require.ErrorIs(t, err, ErrV2IssueIDReused, "not even after the key was deleted")
	other := seed
	other.NaverAccount = "naver-b"
	_, err = h.emu.IssueBillingKeyV2(other)
	require.NoError(t, err, "another Naver account may use the same issueId")
	named, err := h.emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: "reg-2", IssueName: "월간", BillingKey: "billing-key-demo"})
	require.NoError(t, err)
	require.Equal(t, "billing-key-demo", named.BillingKey)
	_, err = h.emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: "reg-3", IssueName: "월간", BillingKey: "billing-key-demo"})
	require.ErrorContains(t, err, "already exists")
	_, err = h.emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: "reg-4", IssueName: "월간", BillingKey: "a/b"})
	require.Error(t, err)
	for _, bad := range []V2BillingKeySeed{{IssueName: "x"}, {IssueID: "x"}, {IssueID: "y", IssueName: "y", ChannelKey: "channel-key-other"}} {
		_, err := h.emu.IssueBillingKeyV2(bad)
		require.Error(t, err, "%+v", bad)
	}
}

func TestV2BillingKeyDeletion(t *testing.T) {
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
	key := h.issueKey("del")
	r := h.do("POST", "/payments/d-1/schedule", map[string]any{"payment": payBody(key, 1000), "timeToPay": t0.Add(time.Hour).Format(time.RFC3339)})
	require.Equal(t, 200, r.Status)
	r = h.do("DELETE", "/billing-keys/"+key+"?reason=해지&requester=CUSTOMER", nil)
	require.Equal(t, http.StatusConflict, r.Status, "a pending schedule blocks the deletion")
	require.Equal(t, 200, h.do("DELETE", query("/payment-schedules", map[string]any{"billingKey": key}), nil).Status)
	r = h.do("DELETE", "/billing-keys/"+key+"?reason=해지&requester=CUSTOMER", nil)
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	k, ok := h.emu.BillingKeyV2(key)
	require.True(t, ok)
	require.Equal(t, "DELETED", k.Status)
	require.Equal(t, "해지", k.DeleteReason)
	require.Equal(t, "CUSTOMER", k.DeleteRequester)
	got := h.do("GET", "/billing-keys/"+key, nil).obj(t)
	require.Equal(t, "DELETED", got["status"])
	require.NotEmpty(t, got["deletedAt"])
	ds := waitV2(t, h.emu, 2)
	require.ElementsMatch(t, []string{"BillingKey.Issued", "BillingKey.Deleted"}, types(ds))
	h.clk.Advance(2 * time.Hour)
	require.Equal(t, v2SchedRevoked, h.emu.V2Schedules()[0].Status, "the revoked schedule did not run")
	require.Empty(t, h.emu.V2Attempts("d-1"))
}

func TestV2SchedulesRunAtTimeToPay(t *testing.T) {
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
	key := h.issueKey("sched")
	at := t0.Add(90 * time.Minute)
	for _, id := range []string{"s-ok", "s-fail"} {
		r := h.do("POST", "/payments/"+id+"/schedule", map[string]any{"payment": payBody(key, 1000), "timeToPay": at.Format(time.RFC3339)})
		require.Equal(t, 200, r.Status, "%s", r.Raw)
	}
	h.emu.AddFault(Fault{MerchantUID: "s-fail", Op: OpV2ScheduleExecution, Action: FaultErrorBeforeCommit, Times: 1})
	h.clk.Advance(89 * time.Minute)
	require.Empty(t, h.emu.V2Attempts("s-ok"), "nothing runs before timeToPay")
	h.clk.Advance(time.Minute)
	ok, failed := h.emu.V2Attempts("s-ok"), h.emu.V2Attempts("s-fail")
	require.Len(t, ok, 1)
	require.Equal(t, statusPaid, ok[0].Status)
	require.Equal(t, usageScheduled, ok[0].Usage)
	require.NotEmpty(t, ok[0].ScheduleID)
	require.Len(t, failed, 1)
	require.Equal(t, V2PGCodeError, failed[0].PGCode, "an injected PG error fails the scheduled attempt")
	ds := waitV2(t, h.emu, 3)
	require.ElementsMatch(t, []string{"BillingKey.Issued", "Transaction.Paid", "Transaction.Failed"}, types(ds))

	// Listing future schedules needs an explicit window: the default one ends now.
	list := h.do("GET", query("/payment-schedules", map[string]any{"filter": map[string]any{"billingKey": key}}), nil).obj(t)
	require.EqualValues(t, 2, list["page"].(map[string]any)["totalCount"])
	h.clk.Advance(time.Hour)
	require.Len(t, h.emu.V2Attempts("s-ok"), 1, "a schedule runs once")
}

// TestV2AsyncCancelFailsLater: with SetV2AsyncCancelFail, a cancel PortOne accepted as
// REQUESTED ends FAILED at its due time: the payment shows the cancellation FAILED, nothing was
// given back, and its amount is cancellable again (a second cancel against the whole remainder
// is accepted).
func TestV2AsyncCancelFailsLater(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("cancel-fail")
	require.Equal(t, 200, h.pay("cf-1", key, 10000).Status)
	h.emu.SetV2AsyncCancel(true, 10*time.Minute)
	h.emu.SetV2AsyncCancelFail(true)
	r := h.do("POST", "/payments/cf-1/cancel", map[string]any{"reason": "환불", "amount": 4000, "currentCancellableAmount": 10000, "requester": "CUSTOMER"})
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	require.Equal(t, "REQUESTED", r.obj(t)["cancellation"].(map[string]any)["status"])
	h.emu.SetV2AsyncCancel(false, 0)
	h.emu.SetV2AsyncCancelFail(false)
	r = h.do("POST", "/payments/cf-1/cancel", map[string]any{"reason": "again", "amount": 4000, "currentCancellableAmount": 10000, "requester": "CUSTOMER"})
	require.Equal(t, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", r.typ(t), "while REQUESTED the amount is spoken for")

	h.clk.Advance(10 * time.Minute)
	h.emu.RunDue()
	p := h.do("GET", "/payments/cf-1", nil).obj(t)
	require.Equal(t, "PAID", p["status"])
	cns := p["cancellations"].([]any)
	require.Len(t, cns, 1)
	require.Equal(t, "FAILED", cns[0].(map[string]any)["status"])
	le := h.emu.V2Attempts("cf-1")[0]
	require.Zero(t, le.CancelAmount, "nothing was given back")
	r = h.do("POST", "/payments/cf-1/cancel", map[string]any{"reason": "다시", "amount": 4000, "currentCancellableAmount": 10000, "requester": "CUSTOMER"})
	require.Equal(t, 200, r.Status, "the failed amount is cancellable again: %s", r.Raw)
	require.Equal(t, int64(4000), h.emu.V2Attempts("cf-1")[0].CancelAmount)
}

func TestV2CancelCompareAndSetAndAsync(t *testing.T) {
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
	key := h.issueKey("cancel")
	require.Equal(t, 200, h.pay("c-1", key, 10000).Status)

	r := h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "부분", "amount": 3000, "currentCancellableAmount": 10000, "requester": "ADMIN"})
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	// A retry of the same refund with the same (now stale) remainder changes nothing.
	r = h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "부분", "amount": 3000, "currentCancellableAmount": 10000, "requester": "ADMIN"})
	require.Equal(t, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", r.typ(t))
	require.Equal(t, int64(3000), h.emu.V2Attempts("c-1")[0].CancelAmount)

	h.emu.SetV2AsyncCancel(true, 10*time.Minute)
	r = h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "둘째", "amount": 2000, "currentCancellableAmount": 7000, "requester": "CUSTOMER"})
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	require.Equal(t, "REQUESTED", r.obj(t)["cancellation"].(map[string]any)["status"])
	require.Equal(t, int64(3000), h.emu.V2Attempts("c-1")[0].CancelAmount, "a requested cancel is not a refund yet")
	r = h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "again", "amount": 2000, "currentCancellableAmount": 7000, "requester": "CUSTOMER"})
	require.Equal(t, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", r.typ(t), "the pending amount is spoken for")
	r = h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "나머지", "currentCancellableAmount": 5000, "requester": "CUSTOMER"})
	require.Equal(t, 200, r.Status, "%s", r.Raw)
	r = h.do("POST", "/payments/c-1/cancel", map[string]any{"reason": "more", "requester": "CUSTOMER"})
	require.Equal(t, "PAYMENT_ALREADY_CANCELLED", r.typ(t), "nothing is left once every won is being cancelled")
	require.Equal(t, "PARTIAL_CANCELLED", h.do("GET", "/payments/c-1", nil).obj(t)["status"])

	h.clk.Advance(10 * time.Minute)
	le := h.emu.V2Attempts("c-1")[0]
	require.Equal(t, int64(10000), le.CancelAmount)
	require.Equal(t, statusCancelled, le.Status)
	require.Len(t, le.Cancels, 3)
	p := h.do("GET", "/payments/c-1", nil).obj(t)
	require.Equal(t, "CANCELLED", p["status"])
	require.Equal(t, "SUCCEEDED", p["cancellations"].([]any)[2].(map[string]any)["status"])
	ds := waitV2(t, h.emu, 7)
	// Deliveries are recorded as they complete, so their order is not the events' order.
	require.ElementsMatch(t, []string{"BillingKey.Issued", "Transaction.Paid", "Transaction.PartialCancelled", "Transaction.CancelPending",
		"Transaction.CancelPending", "Transaction.PartialCancelled", "Transaction.Cancelled"}, types(ds))
	for _, d := range ds {
		if !strings.Contains(d.Type, "Cancel") {
			continue
		}
		var body v2WebhookBody
		require.NoError(t, json.Unmarshal([]byte(d.Body), &body))
		require.NotEmpty(t, body.Data.CancellationID, d.Type)
	}
}

func TestV2WebhooksAreStandardWebhooksSignedWithEverySecret(t *testing.T) {
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"}
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookSecrets = secrets })
	key := h.issueKey("wh") // no URL: no webhook for the issuance
	r := h.pay("wh-1", key, 1000, func(b map[string]any) { b["noticeUrls"] = []string{rec.srv.URL} })
	require.Equal(t, 200, r.Status)
	d := waitV2(t, h.emu, 1)[0]
	require.True(t, d.OK(), "%+v", d)
	require.Equal(t, "Transaction.Paid", d.Type)
	require.Equal(t, "wh-1", d.MerchantUID)

	rec.mu.Lock()
	got := rec.got[0]
	rec.mu.Unlock()
	var body map[string]any
	require.NoError(t, json.Unmarshal(got.body, &body))
	require.Equal(t, "Transaction.Paid", body["type"])
	require.Equal(t, "2026-11-02T01:00:00.000Z", body["timestamp"])
	require.Equal(t, map[string]any{"storeId": DefaultStoreID, "paymentId": "wh-1", "transactionId": h.emu.V2Attempts("wh-1")[0].ImpUID}, body["data"])
	require.Equal(t, strconv.FormatInt(t0.Unix(), 10), got.header.Get("webhook-timestamp"), "signed at the emulator's time")
	require.Len(t, strings.Fields(got.header.Get("webhook-signature")), 2, "one signature per secret")
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		require.NoError(t, wh.VerifyIgnoringTimestamp(got.body, got.header), "secret %d verifies (independent implementation)", i+1)
	}
	wrong, err := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("A", 32))
	require.NoError(t, err)
	require.Error(t, wrong.VerifyIgnoringTimestamp(got.body, got.header))
	tampered := append([]byte(nil), got.body...)
	tampered[len(tampered)-2] ^= 1
	wh, _ := standardwebhooks.NewWebhook(secrets[0])
	require.Error(t, wh.VerifyIgnoringTimestamp(tampered, got.header))
}

func TestV2WebhookOnTheRealClockPassesTheTolerance(t *testing.T) {
	rec := newV2Receiver(t)
	emu, srv := NewV2Server(t, Options{V2: V2Options{WebhookURL: rec.srv.URL}})
	_ = srv
	_, err := emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: "rc", IssueName: "n"})
	require.NoError(t, err)
	waitV2(t, emu, 1)
	rec.mu.Lock()
	got := rec.got[0]
	rec.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(DefaultV2WebhookSecret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(got.body, got.header))
}

func TestV2WebhookFaultsAndRetries(t *testing.T) {
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL; o.WebhookRetries = true })
	key := h.issueKey("retry")
	waitV2(t, h.emu, 1)
	h.emu.AddFault(Fault{MerchantUID: "r-1", Op: OpV2Pay, Action: FaultWebhookFail, Times: 1})
	require.Equal(t, 200, h.pay("r-1", key, 1000).Status)
	ds := waitV2(t, h.emu, 2)
	require.NotEmpty(t, ds[1].Err)
	h.clk.Advance(time.Minute)
	ds = waitV2(t, h.emu, 3)
	require.True(t, ds[2].OK())
	require.Equal(t, ds[1].Header.Get("webhook-id"), ds[2].Header.Get("webhook-id"), "a retry keeps its message id")
	require.Equal(t, ds[1].Body, ds[2].Body, "and its body (timestamp included)")
	require.NotEqual(t, ds[1].Header.Get("webhook-timestamp"), ds[2].Header.Get("webhook-timestamp"), "it is signed again when sent")
}

func TestV2AcceptsJSONWithoutContentType(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("noct")
	for i, ct := range []string{"", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"} {
		req, err := http.NewRequest("POST", fmt.Sprintf("%s/payments/noct-%d/billing-key", h.srv.URL, i), strings.NewReader(mustJSONString(payBody(key, 1000))))
		require.NoError(t, err)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Authorization", "PortOne "+DefaultV2Secret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "Content-Type %q", ct)
	}
}

func TestV2IsSeparateFromV1(t *testing.T) {
	h := newV2Harness(t)
	h.allowBadRequests() // V1's getToken is not in V2's document
	key := h.issueKey("sep")
	require.Equal(t, 200, h.pay("sep-1", key, 1000).Status)
	tx := h.emu.V2Attempts("sep-1")[0].ImpUID

	v1 := httptest.NewServer(h.emu)
	t.Cleanup(v1.Close)
	v1h := &harness{t: t, emu: h.emu, srv: v1, clk: h.clk}
	v1h.token = v1h.getToken(DefaultKey, DefaultSecret)
	require.Equal(t, http.StatusNotFound, v1h.do(http.MethodGet, "/payments/"+tx, nil).Status, "V1 does not see V2 transactions")
	require.Equal(t, 1, v1h.do(http.MethodGet, "/payments/find/sep-1", nil).Code, "nor V2 paymentIds")
	// The V2 listener does not serve V1's routes, and V1's does not serve V2's.
	require.Equal(t, http.StatusNotFound, h.do(http.MethodPost, "/users/getToken", map[string]any{}).Status)
	var ledgerVersions []string
	for _, le := range h.emu.Ledger() {
		ledgerVersions = append(ledgerVersions, le.Version)
	}
	require.Equal(t, []string{VersionV2}, ledgerVersions)
}

func TestV2StateSurvivesSnapshotRestore(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("state")
	require.Equal(t, 200, h.pay("st-1", key, 5000).Status)
	require.Equal(t, 200, h.do("POST", "/payments/st-1/cancel", map[string]any{"reason": "r", "amount": 1000}).Status)
	require.Equal(t, 200, h.do("POST", "/payments/st-2/schedule", map[string]any{"payment": payBody(key, 1000), "timeToPay": t0.Add(time.Hour).Format(time.RFC3339)}).Status)
	snap, err := h.emu.Snapshot()
	require.NoError(t, err)

	h2 := newV2Harness(t)
	require.NoError(t, h2.emu.Restore(snap))
	again, err := h2.emu.Snapshot()
	require.NoError(t, err)
	require.JSONEq(t, string(snap), string(again))
	require.Equal(t, h.do("GET", "/payments/st-1", nil).obj(t), h2.do("GET", "/payments/st-1", nil).obj(t))
	require.Equal(t, "ISSUED", h2.do("GET", "/billing-keys/"+key, nil).obj(t)["status"])
	_, err = h2.emu.IssueBillingKeyV2(V2BillingKeySeed{IssueID: "state", IssueName: "n", NaverAccount: "naver-state"})
	require.ErrorIs(t, err, ErrV2IssueIDReused, "the used issueIds are kept")
	h2.clk.Advance(time.Hour)
	require.Len(t, h2.emu.V2Attempts("st-2"), 1, "a restored schedule runs")
}

func TestV2ControlAPI(t *testing.T) {
	h := newV2Harness(t)
	post := func(path, body string) (int, map[string]any) {
		resp, err := http.Post(h.srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	get := func(path string) map[string]any {
		resp, err := http.Get(h.srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return m
	}
	status, k := post("/__emulator/v2/billing-keys", `{"issue_id":"ctl-1","issue_name":"월간","customer":{"id":"c1","phone_number":"01011112222"}}`)
	require.Equal(t, 200, status, "%v", k)
	key := k["billing_key"].(string)
	status, _ = post("/__emulator/v2/billing-keys", `{"issue_id":"ctl-1","issue_name":"월간","customer":{"phone_number":"01011112222"}}`)
	require.Equal(t, http.StatusConflict, status, "same Naver account (by phone), same issueId")
	status, _ = post("/__emulator/v2/billing-keys", `{"issue_name":"월간"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Len(t, get("/__emulator/v2/billing-keys")["billing_keys"], 1)

	require.Equal(t, 200, h.pay("ctl-p", key, 1000).Status)
	att := get("/__emulator/v2/attempts?payment_id=ctl-p")
	require.EqualValues(t, 1, att["paid_count"])
	require.Len(t, att["attempts"], 1)

	status, m := post("/__emulator/v2/async-cancel", `{"on":true,"delay":"5m"}`)
	require.Equal(t, 200, status)
	require.Equal(t, map[string]any{"on": true, "delay": "5m0s", "fail": false}, m)
	status, m = post("/__emulator/v2/async-cancel", `{"on":true,"fail":true}`)
	require.Equal(t, 200, status)
	require.Equal(t, map[string]any{"on": true, "delay": "5m0s", "fail": true}, m, "a REQUESTED cancel asked now ends FAILED")
	status, _ = post("/__emulator/v2/async-cancel", `{"on":true,"fial":true}`)
	require.Equal(t, http.StatusBadRequest, status, "a misspelt field is refused")
	status, m = post("/__emulator/v2/async-cancel", `{"on":true,"delay":"5m"}`)
	require.Equal(t, 200, status)
	require.Equal(t, false, m["fail"], "absent fail turns it off")
	require.Equal(t, "REQUESTED", h.do("POST", "/payments/ctl-p/cancel", map[string]any{"reason": "r", "requester": "ADMIN"}).obj(t)["cancellation"].(map[string]any)["status"])

	status, _ = post("/__emulator/faults", `{"op":"v2_pay","action":"decline","pg_code":"NP_X","times":1}`)
	require.Equal(t, 200, status)
	require.Equal(t, "NP_X", h.pay("ctl-q", key, 1000).obj(t)["pgCode"])
	status, _ = post("/__emulator/faults", `{"op":"v2_lookup","action":"decline"}`)
	require.Equal(t, http.StatusBadRequest, status, "a decline does not apply to lookups")

	req, err := http.NewRequest(http.MethodDelete, h.srv.URL+"/__emulator/v2/billing-keys/"+key, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Len(t, get("/__emulator/v2/schedules")["schedules"], 0)
}

// TestV2RacingAttemptsPayOnce sends concurrent attempts under one paymentId, some of them
// declined, many times over: exactly one is paid, every other one is declined or refused with
// ALREADY_PAID, and the ledger agrees.
func TestV2RacingAttemptsPayOnce(t *testing.T) {
	h := newV2Harness(t, func(o *Options) { o.V2.MaxAttempts = 100 })
	key := h.issueKey("race")
	const rounds, racers = 20, 8
	for round := range rounds {
		id := fmt.Sprintf("race-%d", round)
		if declines := round % 3; declines > 0 {
			h.emu.AddFault(Fault{MerchantUID: id, Op: OpV2Pay, Action: FaultDecline, Times: declines})
		}
		statuses := make(chan int, racers)
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() { statuses <- h.pay(id, key, 1000).Status })
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		require.Equal(t, 1, count[http.StatusOK], "round %d: %v", round, count)
		require.Equal(t, racers, count[http.StatusOK]+count[http.StatusConflict]+count[http.StatusBadGateway], "round %d: %v", round, count)
		require.Equal(t, 1, h.emu.PaidCount(id))
		require.Len(t, h.emu.V2Attempts(id), 1+count[http.StatusBadGateway], "refusals make no attempt")
	}
}

// TestV2FaultsShareV1Machinery: V1's timeouts, bursts and held answers act on V2 routes.
func TestV2FaultsShareV1Machinery(t *testing.T) {
	short := &http.Client{Timeout: 300 * time.Millisecond}
	send := func(h *v2Harness, c *http.Client, paymentID, key string) (int, error) {
		req, err := http.NewRequest("POST", h.srv.URL+"/payments/"+paymentID+"/billing-key", strings.NewReader(mustJSONString(payBody(key, 1000))))
		require.NoError(t, err)
		req.Header.Set("Authorization", "PortOne "+DefaultV2Secret)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	tests := []struct {
		name     string
		fault    Fault
		calls    int
		wantErrs int // calls that time out
		want5xx  int
		wantPaid int
		firings  int
	}{
		{"a slow PortOne the client gave up on charged nothing", Fault{Op: OpV2Pay, Action: FaultLatency, Latency: 5 * time.Second, Times: 1}, 1, 1, 0, 0, 1},
		{"a held answer after the charge: paid all the same", Fault{Op: OpV2Pay, Action: FaultLatencyAfterCommit, Latency: 5 * time.Second, Times: 1}, 1, 1, 0, 1, 1},
		{"a burst of three 503s, then the charge", Fault{Op: OpV2Pay, Action: FaultErrorBeforeCommit, HTTPStatus: 503, Times: 3}, 4, 0, 3, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newV2Harness(t)
			key := h.issueKey("faults")
			h.emu.AddFault(tt.fault)
			var errs, fivexx int
			for range tt.calls {
				status, err := send(h, short, "f-1", key)
				switch {
				case err != nil:
					errs++
				case status >= 500:
					fivexx++
				}
			}
			require.Equal(t, tt.wantErrs, errs)
			require.Equal(t, tt.want5xx, fivexx)
			require.Equal(t, tt.wantPaid, h.emu.PaidCount("f-1"))
			require.Len(t, h.emu.FaultFirings(), tt.firings)
		})
	}
}

func TestV2PaymentsByCursorWalksEverything(t *testing.T) {
	h := newV2Harness(t)
	key := h.issueKey("cursor")
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("cur-%d", i)
		require.Equal(t, 200, h.pay(id, key, 1000).Status)
		want = append(want, id)
		h.clk.Advance(time.Minute)
	}
	var got []string
	cursor := ""
	for page := 0; page < 10; page++ { // bounded: 7 payments, 3 a page
		body := map[string]any{"size": 3}
		if cursor != "" {
			body["cursor"] = cursor
		}
		items := h.do("GET", query("/payments-by-cursor", body), nil).obj(t)["items"].([]any)
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			m := it.(map[string]any)
			got = append(got, m["payment"].(map[string]any)["id"].(string))
			cursor = m["cursor"].(string)
		}
	}
	require.Equal(t, want, got, "every payment once, oldest first")
}

func TestV2PaymentWebhooksAndResend(t *testing.T) {
	var mu sync.Mutex
	fail := true
	var ids []string
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, r.Header.Get("webhook-id"))
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rec.Close)
	h := newV2Harness(t)
	key := h.issueKey("hooks")
	require.Equal(t, 200, h.pay("h-1", key, 1000, func(b map[string]any) { b["noticeUrls"] = []string{rec.URL} }).Status)
	waitV2(t, h.emu, 1)
	hooks := h.do("GET", "/payments/h-1", nil).obj(t)["webhooks"].([]any)
	require.Len(t, hooks, 1)
	hook := hooks[0].(map[string]any)
	require.Equal(t, "FAILED_NOT_OK_RESPONSE", hook["status"])
	require.Equal(t, "PAID", hook["paymentStatus"])
	require.EqualValues(t, 1, hook["currentExecutionCount"])
	require.Equal(t, "500", hook["response"].(map[string]any)["code"])

	r := h.do("GET", query("/payments", map[string]any{"filter": map[string]any{"webhookStatus": "FAILED_NOT_OK_RESPONSE"}}), nil).obj(t)
	require.EqualValues(t, 1, r["page"].(map[string]any)["totalCount"], "reconciliation can find payments whose webhook failed")

	mu.Lock()
	fail = false
	mu.Unlock()
	r = h.do("POST", "/payments/h-1/resend-webhook", map[string]any{}).obj(t)
	require.Equal(t, "MANUAL", r["webhook"].(map[string]any)["trigger"], "%v", r)
	ds := waitV2(t, h.emu, 2)
	require.True(t, ds[1].OK())
	mu.Lock()
	require.Equal(t, []string{ids[0], ids[0]}, ids, "a resend is the same message: a receiver de-duplicates it by webhook-id")
	mu.Unlock()
	hook = h.do("GET", "/payments/h-1", nil).obj(t)["webhooks"].([]any)[0].(map[string]any)
	require.Equal(t, "SUCCEEDED", hook["status"])
	require.EqualValues(t, 2, hook["currentExecutionCount"])

	h.emu.AddFault(Fault{MerchantUID: "h-2", Op: OpV2Pay, Action: FaultWebhookFail, Times: 1})
	require.Equal(t, 200, h.pay("h-2", key, 1000, func(b map[string]any) { b["noticeUrls"] = []string{rec.URL} }).Status)
	waitV2(t, h.emu, 3)
	hook = h.do("GET", "/payments/h-2", nil).obj(t)["webhooks"].([]any)[0].(map[string]any)
	require.Equal(t, "FAILED_UNEXPECTED_ERROR", hook["status"])
}

// TestWebhookDuplicateAndDelayFaults: a webhook sent twice (same webhook-id on V2) and one that
// arrives late, after the clock moved on; on V1 and V2.
func TestWebhookDuplicateAndDelayFaults(t *testing.T) {
	t.Run("V2", func(t *testing.T) {
		rec := newV2Receiver(t)
		h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
		key := h.issueKey("dup")
		waitV2(t, h.emu, 1)
		h.emu.AddFault(Fault{MerchantUID: "dup-1", Op: OpV2Pay, Action: FaultWebhookDuplicate, Times: 1})
		require.Equal(t, 200, h.pay("dup-1", key, 1000).Status)
		ds := waitV2(t, h.emu, 3)
		require.Equal(t, ds[1].Header.Get("webhook-id"), ds[2].Header.Get("webhook-id"))
		require.Equal(t, ds[1].Body, ds[2].Body)
		require.True(t, ds[2].Duplicate)

		h.emu.AddFault(Fault{MerchantUID: "late-1", Op: OpV2Pay, Action: FaultWebhookDelay, Latency: 10 * time.Minute, Times: 1})
		require.Equal(t, 200, h.pay("late-1", key, 1000).Status)
		require.Equal(t, 200, h.do("POST", "/payments/late-1/cancel", map[string]any{"reason": "r", "requester": "ADMIN"}).Status)
		ds = waitV2(t, h.emu, 4)
		require.Equal(t, "Transaction.Cancelled", ds[3].Type, "the cancel's webhook overtakes the held payment's")
		h.clk.Advance(10 * time.Minute)
		ds = waitV2(t, h.emu, 5)
		require.Equal(t, "Transaction.Paid", ds[4].Type)
		require.Equal(t, t0.Add(10*time.Minute), ds[4].At)
	})
	t.Run("V1", func(t *testing.T) {
		var mu sync.Mutex
		var bodies []string
		rec := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
		}))
		t.Cleanup(rec.Close)
		h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rec.URL })
		h.register("c1")
		h.emu.AddFault(Fault{MerchantUID: "v1-dup", Action: FaultWebhookDuplicate, Times: 1})
		require.Equal(t, 0, h.again("c1", "v1-dup", 1000).Code)
		ds := waitV2(t, h.emu, 2)
		require.Equal(t, ds[0].Body, ds[1].Body)
		h.emu.AddFault(Fault{MerchantUID: "v1-late", Action: FaultWebhookDelay, Latency: time.Hour, Times: 1})
		require.Equal(t, 0, h.again("c1", "v1-late", 1000).Code)
		require.Len(t, h.emu.Webhooks(), 2, "held back")
		h.clk.Advance(time.Hour)
		ds = waitV2(t, h.emu, 3)
		require.Equal(t, "v1-late", ds[2].MerchantUID)
		require.Error(t, Fault{Action: FaultWebhookDelay}.Validate(), "a delay needs its Latency")
		mu.Lock()
		require.Len(t, bodies, 3)
		mu.Unlock()
	})
}

func TestV2ListBillingKeys(t *testing.T) {
	h := newV2Harness(t)
	a := h.issueKey("list-a")
	h.clk.Advance(time.Minute)
	b := h.issueKey("list-b")
	require.NoError(t, h.emu.DeleteBillingKeyV2(a))
	list := func(body map[string]any) []string {
		r := h.do("GET", query("/billing-keys", body), nil).obj(t)
		var out []string
		for _, it := range r["items"].([]any) {
			out = append(out, it.(map[string]any)["billingKey"].(string))
		}
		return out
	}
	require.Equal(t, []string{b, a}, list(map[string]any{}), "newest first")
	require.Equal(t, []string{a, b}, list(map[string]any{"sort": map[string]any{"order": "ASC"}}))
	require.Equal(t, []string{a}, list(map[string]any{"filter": map[string]any{"status": []string{"DELETED"}}}))
	require.Equal(t, []string{b}, list(map[string]any{"filter": map[string]any{"customerId": "cust-list-b"}}))
	require.Equal(t, []string{b}, list(map[string]any{"filter": map[string]any{"from": t0.Add(30 * time.Second).Format(time.RFC3339)}}))
}

func TestV2OptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"three webhook secrets", Options{V2: V2Options{WebhookSecrets: []string{DefaultV2WebhookSecret, DefaultV2WebhookSecret, DefaultV2WebhookSecret}}}, "at most two"},
		{"a secret without whsec_", Options{V2: V2Options{WebhookSecrets: []string{"abc"}}}, "whsec_"},
		{"a relative webhook URL", Options{V2: V2Options{WebhookURL: "/hook"}}, "WebhookURL"},
		{"a negative cap", Options{V2: V2Options{MaxAttempts: -1}}, "negative"},
		{"two stores, one secret", Options{Merchants: []Merchant{{Key: "a", Secret: "a"}, {Key: "b", Secret: "b", V2Secret: DefaultV2Secret}}}, "same V2 secret"},
		{"two stores, one store id", Options{Merchants: []Merchant{{Key: "a", Secret: "a"}, {Key: "b", Secret: "b", V2Secret: "s2", StoreID: DefaultStoreID}}}, "same V2 store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.opts.Validate(), tt.want)
		})
	}
	require.NoError(t, Options{Merchants: []Merchant{{Key: "a", Secret: "a"}, {Key: "b", Secret: "b", V2Secret: "s2"}}}.Validate())
}

func TestV2SecondStore(t *testing.T) {
	h := newV2Harness(t, func(o *Options) {
		o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret}, {Key: "k2", Secret: "s2", V2Secret: "v2-secret-2"}}
	})
	k, err := h.emu.IssueBillingKeyV2(V2BillingKeySeed{Merchant: "k2", IssueID: "i", IssueName: "n"})
	require.NoError(t, err)
	require.Equal(t, "store-k2", k.StoreID)
	other := func(r *http.Request) { r.Header.Set("Authorization", "PortOne v2-secret-2") }
	require.Equal(t, 200, h.do("GET", "/billing-keys/"+k.BillingKey, nil, other).Status)
	require.Equal(t, 404, h.do("GET", "/billing-keys/"+k.BillingKey, nil).Status, "stores never share keys")
	_, err = h.emu.IssueBillingKeyV2(V2BillingKeySeed{Merchant: "k3", IssueID: "i", IssueName: "n"})
	require.Error(t, err)
}

// settableClock is a clock a test moves without the emulator's lock (a ManualClock's Advance
// runs the emulator's due work, which takes it).
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *settableClock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// TestWebhookDelayCountsFromTheEvent: a webhook_delay fault holds a webhook back for its Latency
// from when the payment triggered it, whenever the delivery goroutine gets to run. Here it runs
// only after the clock moved past the hold (as it may on a loaded machine: CI saw it once);
// before, the hold was counted from then, so the webhook was held for ever and never sent.
func TestWebhookDelayCountsFromTheEvent(t *testing.T) {
	var mu sync.Mutex
	var got int
	rec := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); got++; mu.Unlock() }))
	t.Cleanup(rec.Close)
	clk := &settableClock{now: t0}
	emu, _ := NewServer(t, Options{Clock: clk, DefaultNoticeURL: rec.URL, SchedulerInterval: 10 * time.Millisecond})
	emu.AddFault(Fault{MerchantUID: "held", Action: FaultWebhookDelay, Latency: time.Hour, Times: 1})
	emu.mu.Lock()
	emu.startDeliveryLocked(&webhookJob{url: rec.URL, format: WebhookJSON, attempt: 1, origin: OpAgain,
		subj: subject{merchant: DefaultKey, merchantUID: "held"}, payload: webhookPayload{ImpUID: "imp_held", MerchantUID: "held", Status: "paid"}})
	clk.set(t0.Add(time.Hour)) // the delivery goroutine waits on the lock until now
	emu.mu.Unlock()
	ds := waitV2(t, emu, 1)
	require.Equal(t, "held", ds[0].MerchantUID)
	mu.Lock()
	require.Equal(t, 1, got)
	mu.Unlock()
}
