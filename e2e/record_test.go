package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/webhooks/webhookstest"
	"github.com/paycycle/paycycle/workflows"
)

// recordDir is the folder of workflows/testdata the histories are recorded into, named after
// the version marker a new run records (the newest bundle). Change it with every new bundle
// version, so that the histories of earlier versions stay as fixtures, and add the folder's
// line to workflows/testdata/README.md (TestFixtureFolders checks both).
const recordDir = "paycycle-bundle-2026-12-3"

// TestRecordReplayHistories produces the histories in workflows/testdata/ that the replay test
// replays on every CI run, so that an incompatible workflow change fails CI. It runs real
// workflows on a real server and saves their histories as `temporal workflow show --output
// json` would. It only runs with RECORD_HISTORIES=1: recorded histories are fixtures, and
// re-recording them after a workflow change would hide exactly the incompatibility they exist
// to catch. Record new ones (new file names) when the workflow gains behaviour.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// recordingStack is the stack the recording tests run on: the event stream on, delivered to a
// local receiver (returned, to wait for deliveries), demo timings short; opts adds its own.
func recordingStack(t *testing.T, opts stackOptions) (*stack, *webhookstest.Receiver) {
	t.Helper()
	secret := webhooks.NewSecret()
	recv, err := webhookstest.New(secret)
	require.NoError(t, err)
	url, closeRecv := recv.Serve()
	t.Cleanup(closeRecv)
	eps, err := webhooks.ParseEndpoints(url)
	require.NoError(t, err)
	signer, err := webhooks.ParseSecrets(secret)
	require.NoError(t, err)
	opts.plain, opts.settleDelay, opts.renewalNotice = true, time.Second, 2*time.Second
	opts.deliverer = &webhooks.Deliverer{Endpoints: eps, Signer: signer, Client: &http.Client{Timeout: 5 * time.Second}}
	return newStack(t, opts), recv
}

func TestRecordReplayHistories(t *testing.T) {
	if os.Getenv("RECORD_HISTORIES") != "1" {
		t.Skip("set RECORD_HISTORIES=1 to record replay fixtures into workflows/testdata/")
	}
	dir := filepath.Join("..", "workflows", "testdata", recordDir)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	// From event-stream-1 on the event stream is on (versionEventStream): the histories carry the
	// hand-over markers and the renewal-notice timers.
	s, recv := recordingStack(t, stackOptions{})
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	save := func(name string, run client.WorkflowRun) {
		writeFile(t, filepath.Join(dir, name+".json"), s.historyJSON(run.GetID(), run.GetRunID()))
	}
	finish := func(run client.WorkflowRun) billing.State {
		var st billing.State
		require.NoError(t, run.Get(ctx, &st))
		return st
	}

	// Again mode: three cycles, a plan change, a cancel now with a pro-rata refund.
	s.register("rec-cust-1")
	run := s.start(demoInput("rec-again", "rec-cust-1", 3*time.Second))
	eventually(t, 30*time.Second, "two cycles", func() bool { return len(s.paid("rec-again-")) >= 2 })
	// From consent-gate-2026-12-1 on a rise needs the customer's consent (the rec-trial scenario has one); this
	// plan change is a decrease, which needs none.
	_, err = s.update("rec-again", billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 8900, Name: "E2E Lite"})
	require.NoError(t, err)
	eventually(t, 30*time.Second, "third cycle", func() bool { return len(s.paid("rec-again-")) >= 3 })
	_, err = s.update("rec-again", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "중도 해지", Requester: billing.RequesterCustomer})
	require.NoError(t, err)
	finish(run)
	save("again_plan_change_prorata_cancel", run)
	// Its outbox, once every event was delivered, is the outbox workflow's replay fixture.
	eventually(t, 60*time.Second, "rec-again's events delivered", func() bool {
		return slices.ContainsFunc(recv.Stats().Events, func(e billing.MerchantEvent) bool {
			return e.SubscriptionID == "rec-again" && e.Type == billing.EventSubscriptionCanceled
		})
	})
	time.Sleep(time.Second) // the outbox's task after the last delivery
	// Recorded once: re-recording a fixture would hide the incompatibility it exists to catch.
	if outbox := filepath.Join("..", "webhooks", "testdata", "unversioned", "outbox_again_plan_change_prorata_cancel.json"); !fileExists(outbox) {
		writeFile(t, outbox, s.historyJSON(billing.EventsWorkflowID("rec-again"), ""))
	}

	// Dunning: a soft decline, a retry that pays, a hard decline, a new key, cancel at period end.
	s.register("rec-cust-2")
	s.register("rec-cust-2b")
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-2", Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	in := demoInput("rec-dunning", "rec-cust-2", 10*time.Second)
	run = s.start(in)
	eventually(t, 30*time.Second, "recovery", func() bool { return len(s.paid("rec-dunning-")) >= 1 })
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-2", Action: portonetest.FaultDecline, Hard: true, Times: 1})
	eventually(t, 30*time.Second, "payment method required", func() bool {
		st, err := s.tryState("rec-dunning")
		return err == nil && st.Status == billing.StatusPaymentMethodRequired
	})
	_, err = s.update("rec-dunning", billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{CustomerUID: "rec-cust-2b"})
	require.NoError(t, err)
	_, err = s.update("rec-dunning", billing.MsgCancel, billing.CancelRequest{Reason: "기간 만료 후 해지"})
	require.NoError(t, err)
	finish(run)
	save("dunning_soft_hard_replace_key_cancel_at_period_end", run)

	// Registration: no key yet; the customer registers; the edge signals; first charge.
	run = s.start(demoInput("rec-reg", "rec-cust-3", 5*time.Second))
	eventually(t, 10*time.Second, "awaiting registration", func() bool {
		st, err := s.tryState("rec-reg")
		return err == nil && st.Status == billing.StatusAwaitingRegistration
	})
	reg := s.register("rec-cust-3")
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("rec-reg"), "", billing.SignalRegistered,
		billing.RegisteredSignal{ImpUID: reg.RegistrationImpUID, MerchantUID: reg.RegistrationMerchantUID}))
	eventually(t, 30*time.Second, "first charge", func() bool { return len(s.paid("rec-reg-")) >= 1 })
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("rec-reg"), "", billing.MsgCancel,
		billing.CancelRequest{When: billing.Now, Reason: "signal cancel"}))
	finish(run)
	save("registration_signal_then_cancel_signal", run)

	// Schedule mode: PortOne's scheduler charges cycles 2 and 3; cancel revokes cycle 4.
	s.register("rec-cust-4")
	sin := demoInput("rec-schedule", "rec-cust-4", 4*time.Second)
	sin.Plan.ChargeMode = billing.ChargeModeSchedule
	run = s.start(sin)
	eventually(t, 40*time.Second, "three cycles", func() bool { return len(s.paid("rec-schedule-")) >= 3 })
	_, err = s.update("rec-schedule", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	finish(run)
	save("schedule_mode_three_cycles_cancel", run)

	// Continue-as-new after workflows.CyclesPerRun cycles.
	s.register("rec-cust-5")
	run = s.start(demoInput("rec-can", "rec-cust-5", 1*time.Second))
	eventually(t, 90*time.Second, "the second run's first cycle", func() bool { return len(s.paid("rec-can-")) >= workflows.CyclesPerRun+1 })
	first := s.historyJSON(run.GetID(), run.GetRunID())
	writeFile(t, filepath.Join(dir, "continue_as_new_first_run.json"), first)
	_, err = s.update("rec-can", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	last := s.c.GetWorkflow(ctx, billing.WorkflowID("rec-can"), "")
	final := finish(last)
	require.Equal(t, 2, final.Runs)
	save("continue_as_new_second_run", last)
	s.checkMoneyInvariants(final)

	// run-behaviour-2026-12-1 on: pause now and resume keep inside the paid period, pause again past it, resume with a
	// new anchor (credit); the run-level version and resume-billing markers.
	s.register("rec-cust-6")
	run = s.start(demoInput("rec-resume", "rec-cust-6", 6*time.Second))
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-resume-")) >= 1 })
	_, err = s.update("rec-resume", billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "여행"})
	require.NoError(t, err)
	_, err = s.update("rec-resume", billing.MsgResume, billing.ResumeRequest{Reason: "돌아옴"})
	require.NoError(t, err)
	_, err = s.update("rec-resume", billing.MsgPause, billing.PauseRequest{When: billing.Now, Reason: "다시 여행"})
	require.NoError(t, err)
	_, err = s.update("rec-resume", billing.MsgResume, billing.ResumeRequest{Anchor: billing.ResumeRestartAnchor, Reason: "새 기준일"})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the restarted cycle", func() bool { return len(s.paid("rec-resume-")) >= 2 })
	_, err = s.update("rec-resume", billing.MsgMarkAttention, billing.AttentionRequest{Kind: billing.AttentionOperator, Detail: "recorded for the fixture"})
	require.NoError(t, err)
	_, err = s.update("rec-resume", billing.MsgClearAttention, billing.ClearAttentionRequest{Note: "done"})
	require.NoError(t, err)
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("rec-resume"), "", "cancell", billing.CancelRequest{Reason: "오타"}))
	// A null pause signal, recorded as refused from refuse-null-signal (bundle 3) on.
	require.NoError(t, s.c.SignalWorkflow(ctx, billing.WorkflowID("rec-resume"), "", billing.MsgPause, json.RawMessage("null")))
	_, err = s.update("rec-resume", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("pause_resume_keep_restart_attention_cancel", run)

	// run-behaviour-2026-12-1 on: a hard decline, a new key found late that soft-declines: the missed retries are
	// skipped (skip-past-retries), then one pays.
	s.register("rec-cust-7")
	s.register("rec-cust-7b")
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-7", Action: portonetest.FaultDecline, Hard: true, Times: 1})
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-7b", Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	run = s.start(demoInput("rec-skip", "rec-cust-7", 20*time.Second))
	eventually(t, 20*time.Second, "payment method required", func() bool {
		st, err := s.tryState("rec-skip")
		return err == nil && st.Status == billing.StatusPaymentMethodRequired
	})
	time.Sleep(7 * time.Second) // past the D+1 and D+3 (2 s and 6 s) retries of the 20 s demo plan
	_, err = s.update("rec-skip", billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{CustomerUID: "rec-cust-7b"})
	require.NoError(t, err)
	eventually(t, 30*time.Second, "recovered", func() bool { return len(s.paid("rec-skip-")) >= 1 })
	_, err = s.update("rec-skip", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("hard_decline_late_new_key_skips_missed_retries", run)

	// run-behaviour-2026-12-1 on: a monthly plan whose charge time is still ahead today, anchored on another day:
	// the first charge is a stub with prorated tax_free; cancel now with a pro-rata refund.
	s.register("rec-cust-8")
	monthly := demoInput("rec-monthly", "rec-cust-8", time.Second)
	monthly.Plan.Interval = calendar.Interval{Unit: calendar.Month, Count: 1}
	monthly.Plan.TaxFree = 4950
	monthly.Plan.ChargeTime = "23:59"
	monthly.Plan.AnchorDay = billing.AnchorDay(calendar.DateOf(time.Now()).AddDays(10).Day)
	run = s.start(monthly)
	eventually(t, 20*time.Second, "the stub", func() bool { return len(s.paid("rec-monthly-")) >= 1 })
	_, err = s.update("rec-monthly", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "중도 해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("monthly_stub_tax_free_prorata_cancel", run)

	// consent-gate-2026-12-1 on: a free trial (demo: 10 "days" are 10 s), the consent asked for at once, the 7-day notice,
	// the consent given, billing from the trial's end; then a plan rise nobody consents to ends
	// the subscription (no_consent).
	s.register("rec-cust-10")
	trial := demoInput("rec-trial", "rec-cust-10", 5*time.Second)
	trial.Plan.Trial = &billing.Trial{Days: 10}
	run = s.start(trial)
	eventually(t, 20*time.Second, "consent required", func() bool {
		st, err := s.tryState("rec-trial")
		return err == nil && st.Consent != nil && st.Consent.Status == billing.ConsentRequired
	})
	c := s.state("rec-trial").Consent
	yes := true
	_, err = s.update("rec-trial", billing.MsgConsent, billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app",
		ShownText: "체험 종료 후 9,900원이 결제됩니다", AmountBefore: c.AmountBefore, AmountAfter: c.AmountAfter, ChangeDate: c.ChangeDate, RecordID: "rec-consent-1"})
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the first paid cycle", func() bool { return len(s.paid("rec-trial-")) >= 1 })
	_, err = s.update("rec-trial", billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900, Name: "E2E Plus"})
	require.NoError(t, err)
	trialEnd := finish(run)
	require.Equal(t, billing.ReasonNoConsent, trialEnd.StatusReason)
	s.checkMoneyInvariants(trialEnd)
	save("free_trial_consent_then_rise_without_consent", run)

	// run-behaviour-2026-12-1 on: the Web UI's Request Cancellation (a Temporal cancellation request) is a billing cancel.
	s.register("rec-cust-9")
	run = s.start(demoInput("rec-uicancel", "rec-cust-9", 5*time.Second))
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-uicancel-")) >= 1 })
	require.NoError(t, s.c.CancelWorkflow(ctx, billing.WorkflowID("rec-uicancel"), ""))
	st := finish(run)
	require.Equal(t, billing.StatusCanceled, st.Status)
	save("temporal_cancellation_request_is_a_billing_cancel", run)

	// paycycle-bundle-2026-12-3 on (issue 20, item 6): the attempt ceiling. Cycle 2 declines and no policy retry is left;
	// charge_now until the ceiling refuses one (the 10th decline in 24 hours was the last
	// attempt made); cancel now. The history carries the card-attempt log and the refusal.
	s.register("rec-cust-11")
	ceiling := demoInput("rec-ceiling", "rec-cust-11", 40*time.Second)
	grace := billing.Duration(30 * time.Second)
	ceiling.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{}, Grace: &grace}
	run = s.start(ceiling)
	eventually(t, 20*time.Second, "first cycle", func() bool { return len(s.paid("rec-ceiling-")) >= 1 })
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-11", Action: portonetest.FaultDecline, Reason: "잔액부족"})
	eventually(t, 60*time.Second, "past due", func() bool {
		st, err := s.tryState("rec-ceiling")
		return err == nil && st.Status == billing.StatusPastDue
	})
	refused := false
	for i := 0; i < 12 && !refused; i++ {
		_, err = s.update("rec-ceiling", billing.MsgChargeNow, billing.ChargeNowRequest{})
		refused = err != nil && strings.Contains(err.Error(), "ceiling")
	}
	require.True(t, refused, "charge_now refused by the attempt ceiling (last error: %v)", err)
	_, err = s.update("rec-ceiling", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("attempt_ceiling_charge_now_refused", run)

	// paycycle-bundle-2026-12-3 on (issue 20, items 1 and 2): introductory price, its rise known in advance (the consent
	// window opens at once, 30 "days" ahead on a demo plan), the consent given; after the rise, an
	// upgrade now with the consent it needs; cancel now with a pro-rata refund.
	s.register("rec-cust-12")
	intro := demoInput("rec-intro", "rec-cust-12", 10*time.Second)
	intro.Plan.Trial = &billing.Trial{Cycles: 2, Amount: 4900}
	run = s.start(intro)
	eventually(t, 20*time.Second, "consent required for the rise after the intro", func() bool {
		st, err := s.tryState("rec-intro")
		return err == nil && st.Consent != nil && st.Consent.Status == billing.ConsentRequired
	})
	ic := s.state("rec-intro").Consent
	_, err = s.update("rec-intro", billing.MsgConsent, billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app",
		ShownText: "소개 가격 종료 후 9,900원이 결제됩니다", AmountBefore: ic.AmountBefore, AmountAfter: ic.AmountAfter, ChangeDate: ic.ChangeDate, RecordID: "rec-consent-2"})
	require.NoError(t, err)
	eventually(t, 40*time.Second, "the first full-price cycle", func() bool { return len(s.paid("rec-intro-")) >= 3 })
	_, err = s.update("rec-intro", billing.MsgChangePlan, billing.ChangePlanRequest{Amount: 12900, Name: "E2E Plus", When: billing.Now,
		Consent: &billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app", ShownText: "지금부터 12,900원",
			AmountBefore: 9900, AmountAfter: 12900, ChangeDate: calendar.DateOf(time.Now()), RecordID: "rec-consent-3"}})
	require.NoError(t, err)
	_, err = s.update("rec-intro", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: billing.RefundProrata, Reason: "중도 해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("intro_known_rise_consent_upgrade_now_prorata_cancel", run)

	// paycycle-bundle-2026-12-3 on (issue 20, item 2): a long free trial ended early with the consent to a conversion
	// dated now; the first cycle is charged at once; cancel now.
	s.register("rec-cust-13")
	early := demoInput("rec-early", "rec-cust-13", 10*time.Second)
	early.Plan.Trial = &billing.Trial{Days: 200}
	run = s.start(early)
	eventually(t, 20*time.Second, "trialing", func() bool {
		st, err := s.tryState("rec-early")
		return err == nil && !st.TrialEndsAt.IsZero()
	})
	_, err = s.update("rec-early", billing.MsgEndTrial, billing.EndTrialRequest{Reason: "지금 시작",
		Consent: &billing.ConsentRequest{Granted: &yes, At: time.Now(), Channel: "app", ShownText: "오늘부터 9,900원",
			AmountBefore: 0, AmountAfter: 9900, ChangeDate: calendar.DateOf(time.Now()), RecordID: "rec-consent-4"}})
	require.NoError(t, err)
	eventually(t, 20*time.Second, "the first paid cycle", func() bool { return len(s.paid("rec-early-")) >= 1 })
	_, err = s.update("rec-early", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("trial_ended_early_with_consent", run)

	// paycycle-bundle-2026-12-3 on (issue 20, item 8): schedule mode with PortOne's 리커버리 on: the scheduled cycle 2
	// declines, our retry pays it, 리커버리 pays the schedule's merchant_uid again; the workflow
	// finds that second payment and refunds it with the evidence; cancel now.
	s.register("rec-cust-14")
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-14", Op: portonetest.OpScheduleExecution, Action: portonetest.FaultRecovery, Every: 8 * time.Second, Retries: 2})
	s.emu.AddFault(portonetest.Fault{CustomerUID: "rec-cust-14", Op: portonetest.OpScheduleExecution, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	rin := demoInput("rec-recovery", "rec-cust-14", 30*time.Second)
	rin.Plan.ChargeMode = billing.ChargeModeSchedule
	rgrace := billing.Duration(20 * time.Second)
	rin.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(2 * time.Second)}, Grace: &rgrace}
	run = s.start(rin)
	eventually(t, 90*time.Second, "the duplicate refunded", func() bool {
		st, err := s.tryState("rec-recovery")
		return err == nil && slices.ContainsFunc(st.Events, func(e billing.Event) bool { return e.Kind == "duplicate_refunded" })
	})
	_, err = s.update("rec-recovery", billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "해지"})
	require.NoError(t, err)
	s.checkMoneyInvariants(finish(run))
	save("schedule_mode_recovery_duplicate_refunded", run)
}
