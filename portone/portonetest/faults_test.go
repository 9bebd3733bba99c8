package portonetest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawPost sends a JSON POST with a client timeout and returns the transport error, if any.
func (h *harness) rawPost(path string, body any, timeout time.Duration) (*http.Response, error) {
	h.t.Helper()
	js, err := json.Marshal(body)
	require.NoError(h.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+path, bytes.NewReader(js))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", h.token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	return resp, err
}

func againBody(customerUID, merchantUID string) map[string]any {
	return map[string]any{"customer_uid": customerUID, "merchant_uid": merchantUID, "amount": 1000, "name": "월간 구독"}
}

func TestFaultErrorBeforeCommit(t *testing.T) {
	for _, tt := range []struct {
		name       string
		fault      Fault
		wantStatus int
		wantMsg    string
	}{
		{"default", Fault{Op: OpAgain, Action: FaultErrorBeforeCommit}, 500, defaultErrorBeforeCommitMessage},
		{"custom status and message", Fault{Op: OpAgain, Action: FaultErrorBeforeCommit, HTTPStatus: 503, Reason: "점검 중"}, 503, "점검 중"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("c1")
			before := len(h.emu.Ledger())
			h.emu.AddFault(tt.fault)
			r := h.again("c1", "e-1", 1000)
			require.Equal(t, tt.wantStatus, r.Status)
			require.Equal(t, -1, r.Code)
			require.Equal(t, tt.wantMsg, r.msg())
			require.Len(t, h.emu.Ledger(), before, "nothing stored")
			require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/find/e-1", nil).Status)
			fs := h.emu.FaultFirings()
			require.Len(t, fs, 1)
			require.Equal(t, FaultErrorBeforeCommit, fs[0].Action)
			require.Equal(t, OpAgain, fs[0].Op)
			require.Equal(t, "e-1", fs[0].MerchantUID)
			require.Equal(t, "c1", fs[0].CustomerUID)
		})
	}
}

func TestFaultCommitThenDrop(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, func(o *Options) { o.DefaultNoticeURL = rc.URL })
	h.register("c1")
	h.emu.AddFault(Fault{CustomerUID: "c1", Op: OpAgain, Action: FaultCommitThenDrop, Times: 1})
	_, err := h.rawPost("/subscribe/payments/again", againBody("c1", "drop-1"), 5*time.Second)
	require.Error(t, err, "the client sees a dropped connection, not an answer")

	require.Equal(t, 1, h.emu.PaidCount("drop-1"), "but the charge was committed")
	var charges []LedgerEntry
	for _, le := range h.emu.Ledger() {
		if le.MerchantUID == "drop-1" {
			charges = append(charges, le)
		}
	}
	require.Len(t, charges, 1)
	require.Equal(t, "paid", charges[0].Status)
	// The client's recovery path: look the merchant_uid up, and a retry is refused.
	found := h.do(http.MethodGet, "/payments/find/drop-1/paid", nil)
	require.Equal(t, charges[0].ImpUID, found.obj(t)["imp_uid"])
	require.Equal(t, msgMerchantUIDUsed, h.again("c1", "drop-1", 1000).msg())
	require.Equal(t, 1, h.emu.PaidCount("drop-1"))
	d := h.waitHooks(1)
	require.Equal(t, "paid", d[0].Status, "PortOne notifies the committed payment")
}

func TestFaultCommitThenDropOnOtherWrites(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	paid := h.again("c1", "p-1", 1000).obj(t)["imp_uid"].(string)
	h.emu.AddFault(Fault{Action: FaultCommitThenDrop})

	_, err := h.rawPost("/payments/cancel", map[string]any{"imp_uid": paid}, 5*time.Second)
	require.Error(t, err)
	require.Equal(t, "cancelled", h.do(http.MethodGet, "/payments/"+paid, nil).obj(t)["status"], "cancel committed")

	_, err = h.rawPost("/subscribe/payments/schedule", map[string]any{"customer_uid": "c1",
		"schedules": []any{map[string]any{"merchant_uid": "s-1", "schedule_at": t0.Add(time.Hour).Unix(), "amount": 1000, "name": "n"}}}, 5*time.Second)
	require.Error(t, err)
	require.Equal(t, "scheduled", h.do(http.MethodGet, "/subscribe/payments/schedule/s-1", nil).obj(t)["schedule_status"], "schedule committed")

	_, err = h.rawPost("/subscribe/payments/unschedule", map[string]any{"customer_uid": "c1"}, 5*time.Second)
	require.Error(t, err)
	require.Equal(t, "revoked", h.do(http.MethodGet, "/subscribe/payments/schedule/s-1", nil).obj(t)["schedule_status"], "unschedule committed")

	// Reads are unaffected by a commit_then_drop fault.
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/payments/"+paid, nil).Status)
}

func TestFaultLatency(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	t.Run("client gives up: nothing happens", func(t *testing.T) {
		h.emu.AddFault(Fault{MerchantUID: "slow-1", Action: FaultLatency, Latency: time.Minute, Times: 1})
		start := time.Now()
		_, err := h.rawPost("/subscribe/payments/again", againBody("c1", "slow-1"), 100*time.Millisecond)
		require.Error(t, err)
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, 0, h.emu.PaidCount("slow-1"))
		require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/find/slow-1", nil).Status)
	})
	t.Run("patient client gets the answer", func(t *testing.T) {
		h.emu.AddFault(Fault{MerchantUID: "slow-2", Action: FaultLatency, Latency: 150 * time.Millisecond, Times: 1})
		start := time.Now()
		r := h.again("c1", "slow-2", 1000)
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
		require.Equal(t, "paid", r.obj(t)["status"])
	})
	t.Run("lookups", func(t *testing.T) {
		h.emu.AddFault(Fault{Op: OpLookup, Action: FaultLatency, Latency: time.Minute, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+"/payments/find/slow-2", nil)
		req.Header.Set("Authorization", h.token)
		_, err := http.DefaultClient.Do(req)
		require.Error(t, err)
	})
}

func TestFaultLatencyAfterCommit(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	h.emu.AddFault(Fault{Op: OpAgain, Action: FaultLatencyAfterCommit, Latency: time.Minute})
	_, err := h.rawPost("/subscribe/payments/again", againBody("c1", "inflight-1"), 200*time.Millisecond)
	require.Error(t, err, "the worker gave up (or was killed) while the answer was held back")
	require.Equal(t, 1, h.emu.PaidCount("inflight-1"), "the charge is committed")

	h.emu.ClearFaults()
	h.emu.AddFault(Fault{Op: OpAgain, Action: FaultLatencyAfterCommit, Latency: 100 * time.Millisecond})
	r := h.again("c1", "inflight-2", 1000)
	require.Equal(t, "paid", r.obj(t)["status"], "a patient client gets the answer")

	// Declines are not commits of a charge: the answer is not held back.
	h.emu.ClearFaults()
	h.emu.AddFault(Fault{Op: OpAgain, Action: FaultDecline, Times: 1})
	h.emu.AddFault(Fault{Op: OpAgain, Action: FaultLatencyAfterCommit, Latency: time.Minute})
	start := time.Now()
	require.Equal(t, "failed", h.again("c1", "inflight-3", 1000).obj(t)["status"])
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestFaultWebhookFail(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t)
	h.register("c1")
	h.emu.AddFault(Fault{MerchantUID: "wh-1", Action: FaultWebhookFail})
	require.Equal(t, "paid", h.again("c1", "wh-1", 1000, map[string]any{"notice_url": rc.URL}).obj(t)["status"])
	require.Equal(t, "paid", h.again("c1", "wh-2", 1000, map[string]any{"notice_url": rc.URL}).obj(t)["status"])
	d := h.waitHooks(2)
	byMUID := map[string]WebhookDelivery{}
	for _, x := range d {
		byMUID[x.MerchantUID] = x
	}
	require.False(t, byMUID["wh-1"].OK())
	require.Contains(t, byMUID["wh-1"].Err, "webhook_fail")
	require.Zero(t, byMUID["wh-1"].StatusCode)
	require.True(t, byMUID["wh-2"].OK())
	hooks := rc.hooks()
	require.Len(t, hooks, 1, "the suppressed webhook never reached the receiver")
	require.Contains(t, hooks[0].Body, "wh-2")
}

func TestFaultMatching(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Merchants = []Merchant{{Key: DefaultKey, Secret: DefaultSecret}, {Key: "k2", Secret: "s2"}}
	})
	h.register("c1")
	h.register("c2")
	_, err := h.emu.RegisterCustomer("k2", CustomerSeed{CustomerUID: "c1"})
	require.NoError(t, err)
	tok2 := h.getToken("k2", "s2")

	h.emu.AddFault(Fault{Merchant: "k2", CustomerUID: "c1", MerchantUID: "target", Op: OpAgain, Action: FaultDecline, Reason: "matched"})
	status := func(customerUID, merchantUID string, tok string) string {
		r := h.do(http.MethodPost, "/subscribe/payments/again", againBody(customerUID, merchantUID), withToken(tok))
		require.Equal(t, 0, r.Code, r.Raw)
		return r.obj(t)["status"].(string)
	}
	require.Equal(t, "paid", status("c1", "target", h.token), "other merchant")
	require.Equal(t, "paid", status("c1", "other", tok2), "other merchant_uid")
	require.Equal(t, "failed", status("c1", "target", tok2), "all filters match")
	require.Equal(t, "failed", status("c1", "target", tok2), "Times 0 fires until removed")

	// An action fires only where it applies, even with Op any.
	h.emu.ClearFaults()
	h.emu.AddFault(Fault{Action: FaultDecline})
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/subscribe/customers/c1", nil).Status)
	require.Empty(t, h.emu.FaultFirings()[2:], "a decline does not fire on a lookup")
	require.Equal(t, "failed", status("c2", "any-op", h.token))

	// Lookups by imp_uid match faults by the payment's merchant_uid.
	h.emu.ClearFaults()
	imp := h.again("c2", "lk-1", 1000).obj(t)["imp_uid"].(string)
	h.emu.AddFault(Fault{MerchantUID: "lk-1", Op: OpLookup, Action: FaultErrorBeforeCommit, HTTPStatus: 502})
	require.Equal(t, 502, h.do(http.MethodGet, "/payments/"+imp, nil).Status)
	require.Equal(t, 502, h.do(http.MethodGet, "/payments/find/lk-1", nil).Status)
	require.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/payments/find/lk-2", nil).Status)
}

func TestFaultTimesAndRemoval(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	id := h.emu.AddFault(Fault{Action: FaultDecline, Times: 2})
	other := h.emu.AddFault(Fault{Op: OpGetToken, Action: FaultErrorBeforeCommit})
	require.NotEqual(t, id, other)
	fs := h.emu.Faults()
	require.Len(t, fs, 2)
	require.Equal(t, OpAny, fs[0].Fault.Op, "an empty Op means any")
	require.Equal(t, "failed", h.again("c1", "t-1", 1000).obj(t)["status"])
	require.Equal(t, 1, h.emu.Faults()[0].Fired)
	require.Equal(t, "failed", h.again("c1", "t-2", 1000).obj(t)["status"])
	require.Equal(t, "paid", h.again("c1", "t-3", 1000).obj(t)["status"], "used up after Times firings")
	require.Len(t, h.emu.Faults(), 1)

	r := h.do(http.MethodPost, "/users/getToken", map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret}, noAuth())
	require.Equal(t, 500, r.Status, "getToken faults")
	require.True(t, h.emu.RemoveFault(other))
	require.False(t, h.emu.RemoveFault(other))
	r = h.do(http.MethodPost, "/users/getToken", map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret}, noAuth())
	require.Equal(t, 200, r.Status)

	h.emu.AddFault(Fault{Action: FaultDecline})
	h.emu.ClearFaults()
	require.Empty(t, h.emu.Faults())
	require.Len(t, h.emu.FaultFirings(), 3, "firings survive ClearFaults")
}

func TestFaultValidation(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  string
	}{
		{"unknown action", Fault{Action: "explode"}, "unknown fault action"},
		{"action not applicable", Fault{Op: OpLookup, Action: FaultDecline}, "does not apply"},
		{"negative times", Fault{Action: FaultDecline, Times: -1}, "Times"},
		{"latency without duration", Fault{Action: FaultLatency}, "positive Latency"},
		{"bad status", Fault{Action: FaultErrorBeforeCommit, HTTPStatus: 200}, "HTTPStatus"},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.fault.Validate(), tt.want)
			require.Panics(t, func() { h.emu.AddFault(tt.fault) })
			status, body := h.control(http.MethodPost, "/__emulator/faults", tt.fault)
			require.Equal(t, http.StatusBadRequest, status)
			require.Contains(t, body["error"], tt.want)
		})
	}
}

func TestFaultsControlAPI(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	status, body := h.control(http.MethodPost, "/__emulator/faults", map[string]any{
		"customer_uid": "c1", "op": "again", "action": "latency", "latency": "10ms", "times": 1,
	})
	require.Equal(t, http.StatusOK, status, body)
	latencyID := body["id"].(string)
	status, body = h.control(http.MethodPost, "/__emulator/faults", map[string]any{"action": "decline", "reason": "잔액부족", "hard": true})
	require.Equal(t, http.StatusOK, status, body)
	declineID := body["id"].(string)

	_, body = h.control(http.MethodGet, "/__emulator/faults", nil)
	faults := body["faults"].([]any)
	require.Len(t, faults, 2)
	first := faults[0].(map[string]any)
	require.Equal(t, latencyID, first["id"])
	require.Equal(t, "10ms", first["latency"])
	require.Equal(t, true, faults[1].(map[string]any)["hard"])

	r := h.again("c1", "ctl-1", 1000)
	require.Equal(t, "잔액부족", r.obj(t)["fail_reason"])
	_, body = h.control(http.MethodGet, "/__emulator/faults", nil)
	require.Len(t, body["faults"], 1, "the latency fault was used up")
	firings := body["firings"].([]any)
	require.Len(t, firings, 2)
	require.Equal(t, "latency", firings[0].(map[string]any)["action"])
	require.Equal(t, "ctl-1", firings[1].(map[string]any)["merchant_uid"])

	status, _ = h.control(http.MethodDelete, "/__emulator/faults/"+declineID, nil)
	require.Equal(t, http.StatusOK, status)
	status, _ = h.control(http.MethodDelete, "/__emulator/faults/"+declineID, nil)
	require.Equal(t, http.StatusNotFound, status)
	h.control(http.MethodPost, "/__emulator/faults", map[string]any{"action": "decline"})
	status, _ = h.control(http.MethodDelete, "/__emulator/faults", nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, h.emu.Faults())

	status, body = h.control(http.MethodPost, "/__emulator/faults", map[string]any{"action": "latency", "latency": "soon"})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, body["error"], "latency")
}

func TestFaultOnCancel(t *testing.T) {
	h := newHarness(t)
	h.register("c1")
	imp := h.again("c1", "c-1", 1000).obj(t)["imp_uid"].(string)
	h.emu.AddFault(Fault{Op: OpCancel, Action: FaultDeclineCode, Reason: "PG 취소 거절", Times: 1})
	r := h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": imp})
	require.Equal(t, -1, r.Code)
	require.Equal(t, "PG 취소 거절", r.msg())
	require.Equal(t, "paid", h.do(http.MethodGet, "/payments/"+imp, nil).obj(t)["status"], "nothing cancelled")
	h.emu.AddFault(Fault{Op: OpCancel, Action: FaultDecline, Times: 1})
	r = h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": imp})
	require.Equal(t, -1, r.Code)
	require.Equal(t, msgCancelPGRefused, r.msg())
	r = h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": imp})
	require.Equal(t, "cancelled", r.obj(t)["status"])
}

// TestFaultAmountMismatch: the fault approves another amount than the one requested, on a
// charge and on a scheduled execution, and the answer, the lookups and the ledger all show the
// amount approved; the payment can then be cancelled in full like any other.
func TestFaultAmountMismatch(t *testing.T) {
	tests := []struct {
		name     string
		fault    Fault
		schedule bool
		wantPaid int64
	}{
		{"again, default delta", Fault{Op: OpAgain, Action: FaultAmountMismatch, Times: 1}, false, 1000 + DefaultMismatchDelta},
		{"again, chosen amount", Fault{Op: OpAgain, Action: FaultAmountMismatch, PaidAmount: 900, Times: 1}, false, 900},
		{"scheduled execution", Fault{Op: OpScheduleExecution, Action: FaultAmountMismatch, PaidAmount: 1500, Times: 1}, true, 1500},
		{"any op reaches a charge", Fault{Action: FaultAmountMismatch, Times: 1}, false, 1000 + DefaultMismatchDelta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("c1")
			h.emu.AddFault(tt.fault)
			var impUID string
			if tt.schedule {
				at := t0.Add(time.Hour)
				require.Equal(t, 0, h.schedule("c1", entry("mm-1", at, 1000)).Code)
				h.clk.Advance(time.Hour)
				h.token = h.getToken(DefaultKey, DefaultSecret)
				s := h.do(http.MethodGet, "/subscribe/payments/schedule/mm-1", nil).obj(t)
				require.Equal(t, "executed", s["schedule_status"])
				impUID = s["imp_uid"].(string)
			} else {
				r := h.again("c1", "mm-1", 1000)
				require.Equal(t, 0, r.Code, r.Raw)
				o := r.obj(t)
				require.Equal(t, "paid", o["status"])
				require.EqualValues(t, tt.wantPaid, o["amount"], "the answer shows the amount approved")
				impUID = o["imp_uid"].(string)
			}
			var p testPayment
			h.do(http.MethodGet, "/payments/"+impUID, nil).into(t, &p)
			require.Equal(t, "paid", p.Status)
			require.EqualValues(t, tt.wantPaid, p.Amount)
			var le []LedgerEntry
			for _, e := range h.emu.Ledger() {
				if e.MerchantUID == "mm-1" {
					le = append(le, e)
				}
			}
			require.Len(t, le, 1)
			require.Equal(t, tt.wantPaid, le[0].Amount)
			fs := h.emu.FaultFirings()
			require.Len(t, fs, 1)
			require.Equal(t, FaultAmountMismatch, fs[0].Action)

			// The next charge is approved as requested (Times 1), and the mismatched payment
			// cancels in full against its own amount.
			require.EqualValues(t, 1000, h.again("c1", "mm-2", 1000).obj(t)["amount"])
			c := h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": impUID, "checksum": tt.wantPaid, "reason": "금액 불일치"})
			require.Equal(t, 0, c.Code, c.Raw)
			require.Equal(t, "cancelled", c.obj(t)["status"])
		})
	}
}

func TestFaultAmountMismatchValidation(t *testing.T) {
	require.ErrorContains(t, Fault{Action: FaultAmountMismatch, PaidAmount: -1}.Validate(), "PaidAmount")
	require.ErrorContains(t, Fault{Action: FaultDecline, PaidAmount: 100}.Validate(), "PaidAmount")
	require.ErrorContains(t, Fault{Op: OpCancel, Action: FaultAmountMismatch}.Validate(), "does not apply")
	var f Fault
	require.NoError(t, json.Unmarshal([]byte(`{"op":"again","action":"amount_mismatch","paid_amount":900}`), &f))
	require.Equal(t, Fault{Op: OpAgain, Action: FaultAmountMismatch, PaidAmount: 900}, f)
	b, err := json.Marshal(f)
	require.NoError(t, err)
	require.Contains(t, string(b), `"paid_amount":900`)
}
