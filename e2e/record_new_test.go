package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// TestRecordUnbundledChangeHistories records the fixtures of the changes made after bundle 3
// that no bundle covers, each into the folder of the marker its histories first record
// (workflows/testdata/README.md): PortOne V2 subscriptions with one paymentId per cycle
// (v2-cycle-payment-1), a V2 refund PortOne holds REQUESTED past the activity's wait and then
// confirms (v2-requested-refund-1), a V1 subscription moved onto a V2 key (replace-key-to-v2-1), a park and
// its clearing as merchant events (attention-events-1) and a demo trial on a minute plan
// (minute-law-day-1). Like TestRecordReplayHistories it runs only
// with RECORD_HISTORIES=1, and it never overwrites a fixture: re-recording one would hide the
// incompatibility it exists to catch.
func TestRecordUnbundledChangeHistories(t *testing.T) {
	if os.Getenv("RECORD_HISTORIES") != "1" {
		t.Skip("set RECORD_HISTORIES=1 to record replay fixtures into workflows/testdata/")
	}
	s, _ := recordingStack(t, stackOptions{cancelSettleWait: 2 * time.Second})
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	save := func(folder, name string, run client.WorkflowRun) {
		dir := filepath.Join("..", "workflows", "testdata", folder)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		path := filepath.Join(dir, name+".json")
		if fileExists(path) {
			t.Logf("%s exists: kept as recorded", path)
			return
		}
		writeFile(t, path, s.historyJSON(run.GetID(), run.GetRunID()))
	}
	finish := func(run client.WorkflowRun) billing.State {
		var st billing.State
		require.NoError(t, run.Get(ctx, &st))
		return st
	}
	yes := true

	// v2-cycle-payment-1: a V2 subscription whose second cycle is declined once and paid by a
	// dunning retry under the same paymentId, paused and resumed, then cancelled now with a
	// full refund (compare-and-set cancel).
	key, err := s.st.IssueV2Key("rec-v2-issue-1")
	require.NoError(t, err)
	in := demoInput("rec-v2", key, 4*time.Second)
	in.Gateway = billing.GatewayPortOneV2
	retry := billing.Duration(time.Second)
	grace := billing.Duration(20 * time.Second)
	in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{retry}, Grace: &grace}
	run := s.start(in)
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-v2-")) >= 1 })
	s.emu.AddFault(portonetest.Fault{CustomerUID: key, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	eventually(t, 30*time.Second, "second cycle recovered", func() bool { return len(s.paid("rec-v2-")) >= 2 })
	_, err = s.update("rec-v2", billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
	require.NoError(t, err)
	_, err = s.update("rec-v2", billing.MsgResume, billing.ResumeRequest{Reason: "돌아옴"})
	require.NoError(t, err)
	_, err = s.update("rec-v2", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "해지",
		Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	final := finish(run)
	s.checkMoneyInvariants(final)
	requireCyclePayments(t, final)
	save("v2-cycle-payment-1", "v2_again_decline_retry_pause_resume_full_refund", run)

	// v2-cycle-payment-1: V2 schedule mode, three cycles charged by V2's scheduler or the
	// workflow under each cycle's paymentId, then cancelled now.
	key2, err := s.st.IssueV2Key("rec-v2-issue-2")
	require.NoError(t, err)
	sin := demoInput("rec-v2s", key2, 4*time.Second)
	sin.Gateway = billing.GatewayPortOneV2
	sin.Plan.ChargeMode = billing.ChargeModeSchedule
	run = s.start(sin)
	eventually(t, 40*time.Second, "three cycles", func() bool { return len(s.paid("rec-v2s-")) >= 3 })
	_, err = s.update("rec-v2s", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	final = finish(run)
	s.checkMoneyInvariants(final)
	requireCyclePayments(t, final)
	save("v2-cycle-payment-1", "v2_schedule_mode_three_cycles_cancel", run)

	// v2-requested-refund-1: a V2 subscription cancelled now with a full refund whose cancel
	// PortOne holds REQUESTED longer than the Refund activity waits: recorded as requested,
	// looked up again (15 s on a demo plan) and confirmed; the run completes after that.
	key3, err := s.st.IssueV2Key("rec-v2-issue-3")
	require.NoError(t, err)
	ain := demoInput("rec-v2a", key3, 5*time.Second)
	ain.Gateway = billing.GatewayPortOneV2
	run = s.start(ain)
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-v2a-")) >= 1 })
	s.emu.SetV2AsyncCancel(true, 6*time.Second)
	_, err = s.update("rec-v2a", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "해지",
		Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	final = finish(run)
	s.emu.SetV2AsyncCancel(false, 0)
	require.NotEmpty(t, final.Refunds)
	require.Equal(t, billing.RefundMade, final.Refunds[len(final.Refunds)-1].Outcome, "the requested refund was confirmed before the run ended")
	s.checkMoneyInvariants(final)
	save("v2-requested-refund-1", "v2_cancel_refund_requested_then_confirmed", run)

	// replace-key-to-v2-1: a V1 subscription paid twice, moved onto a V2 key (verified with its
	// issueId, the V1 key deleted), its next cycle charged through V2, then cancelled now with a
	// full refund of that V2 payment.
	s.register("rec-cust-22")
	run = s.start(demoInput("rec-move", "rec-cust-22", 4*time.Second))
	eventually(t, 30*time.Second, "two V1 cycles", func() bool { return len(s.paid("rec-move-")) >= 2 })
	v2key, err := s.st.IssueV2Key("rec-move-issue")
	require.NoError(t, err)
	_, err = s.update("rec-move", billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2,
		BillingKey: v2key, IssueID: "rec-move-issue", Reason: "V2로 재등록"})
	require.NoError(t, err)
	eventually(t, 30*time.Second, "a cycle through V2", func() bool {
		for _, e := range s.paid("rec-move-") {
			if e.Version == portonetest.VersionV2 {
				return true
			}
		}
		return false
	})
	_, err = s.update("rec-move", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "해지",
		Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	final = finish(run)
	require.Equal(t, billing.GatewayPortOneV2, final.Gateway)
	s.checkMoneyInvariants(final)
	save("replace-key-to-v2-1", "v1_moved_to_v2_key_then_cancel_full_refund", run)

	// v2-answer-only-charge-1: a V2 subscription charged in one request a cycle (PortOne's
	// approval, no transactionId). Cycle 1 learns its transactionId from a payment_notification
	// (sent here as the edge relays PortOne's Transaction.Paid); cycle 2 is approved for another
	// amount, which its notification shows, so the workflow reads the payment and cancels it
	// (SettleAnswered) and parks; cycle 3's webhook never comes, it is refunded in full by a
	// cancel now, and the run reads its transactionId back as it completes.
	key4, err := s.st.IssueV2Key("rec-v2-issue-4")
	require.NoError(t, err)
	oin := demoInput("rec-v2o", key4, 4*time.Second)
	oin.Gateway = billing.GatewayPortOneV2
	run = s.start(oin)
	cycleEntry := func(cycle int) (portonetest.LedgerEntry, bool) {
		for _, e := range s.emu.Ledger() {
			if p, err := billing.ParseMerchantUID(e.MerchantUID); err == nil && p.Kind == billing.KindCyclePayment &&
				p.SubscriptionID == "rec-v2o" && p.Charge.Cycle == cycle && e.Status != "failed" {
				return e, true
			}
		}
		return portonetest.LedgerEntry{}, false
	}
	notify := func(cycle int) {
		e, ok := cycleEntry(cycle)
		require.True(t, ok)
		require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("rec-v2o"), "", billing.SignalPaymentNotification,
			billing.PaymentNotification{ImpUID: e.ImpUID, MerchantUID: e.MerchantUID, Status: e.Status, Amount: e.Amount}))
	}
	eventually(t, 20*time.Second, "first cycle", func() bool { _, ok := cycleEntry(1); return ok })
	s.emu.AddFault(portonetest.Fault{CustomerUID: key4, Op: portonetest.OpV2Pay, Action: portonetest.FaultAmountMismatch, PaidAmount: 10900, Times: 1})
	notify(1)
	eventually(t, 20*time.Second, "second cycle", func() bool { _, ok := cycleEntry(2); return ok })
	notify(2)
	eventually(t, 20*time.Second, "the mismatch cancelled", func() bool { e, _ := cycleEntry(2); return e.CancelAmount == e.Amount })
	eventually(t, 20*time.Second, "third cycle", func() bool { _, ok := cycleEntry(3); return ok })
	_, err = s.update("rec-v2o", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundFull, Reason: "해지",
		Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	final = finish(run)
	require.NotNil(t, final.Attention)
	require.Equal(t, billing.AttentionAmountMismatch, final.Attention.Kind)
	for _, c := range final.Charges {
		require.NotEmpty(t, c.ImpUID, "cycle %d attempt %d", c.Cycle, c.Attempt)
	}
	s.checkMoneyInvariants(final)
	requireCyclePayments(t, final)
	save("v2-answer-only-charge-1", "v2_one_request_charges_webhook_mismatch_and_read_back", run)

	// attention-events-1: an operator parks a subscription and clears it; both are merchant
	// events from this change on.
	s.register("rec-cust-20")
	run = s.start(demoInput("rec-attn", "rec-cust-20", 5*time.Second))
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-attn-")) >= 1 })
	_, err = s.update("rec-attn", billing.MsgMarkAttention, billing.AttentionRequest{Kind: billing.AttentionOperator, Detail: "recorded for the fixture"})
	require.NoError(t, err)
	_, err = s.update("rec-attn", billing.MsgClearAttention, billing.ClearAttentionRequest{Note: "done"})
	require.NoError(t, err)
	_, err = s.update("rec-attn", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("attention-events-1", "mark_and_clear_attention_cancel", run)

	// minute-law-day-1: a 7-day free trial on a minute demo plan lasts 7 minutes with its
	// consent window open at once; it is ended early with the consent to a conversion dated now.
	s.register("rec-cust-21")
	tin := demoInput("rec-minute", "rec-cust-21", 0)
	tin.Plan.Interval = calendar.Interval{Unit: calendar.Minute, Count: 5}
	tin.Plan.Trial = &billing.Trial{Days: 7}
	run = s.start(tin)
	eventually(t, 20*time.Second, "the consent window open in the trial", func() bool {
		st, err := s.tryState("rec-minute")
		return err == nil && st.Consent != nil && st.Consent.Status == billing.ConsentRequired
	})
	time.Sleep(1500 * time.Millisecond) // a consent must come after the sign-up, at a later second
	_, err = s.update("rec-minute", billing.MsgEndTrial, billing.EndTrialRequest{Reason: "지금 시작",
		Consent: &billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app", ShownText: "오늘부터 9,900원",
			AmountBefore: 0, AmountAfter: 9900, ChangeDate: calendar.DateOf(time.Now()), RecordID: "rec-consent-21"}})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the first paid cycle", func() bool { return len(s.paid("rec-minute-")) >= 1 })
	_, err = s.update("rec-minute", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("minute-law-day-1", "minute_plan_trial_ended_early_with_consent", run)
}

// requireCyclePayments checks that a V2 run charged under one paymentId per cycle: every
// attempt records its cycle's paymentId beside its own merchant_uid.
func requireCyclePayments(t *testing.T, st billing.State) {
	t.Helper()
	require.NotEmpty(t, st.Charges)
	for _, c := range st.Charges {
		if c.ImpUID == "" {
			continue
		}
		p, err := billing.ParseMerchantUID(c.GatewayPaymentID())
		require.NoError(t, err)
		require.Equal(t, billing.KindCyclePayment, p.Kind, "cycle %d attempt %d charged under %s", c.Cycle, c.Attempt, c.GatewayPaymentID())
		require.Equal(t, c.Cycle, p.Charge.Cycle)
	}
}
