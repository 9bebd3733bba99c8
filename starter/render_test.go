package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/textfmt"
)

func kstTime(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, calendar.Seoul).UTC()
}

func TestFormatKRW(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 10: "10", 999: "999", 1000: "1,000", 9900: "9,900", 123456: "123,456", 100000000: "100,000,000", -4950: "-4,950"} {
		require.Equal(t, want, textfmt.FormatKRW(n), n)
	}
}

func TestRelative(t *testing.T) {
	now := kstTime(2026, 1, 15, 10, 0)
	require.Equal(t, "now", relative(now, now.Add(300*time.Millisecond)))
	require.Equal(t, "in 45s", relative(now, now.Add(45*time.Second)))
	require.Equal(t, "in 5m0s", relative(now, now.Add(5*time.Minute)))
	require.Equal(t, "in 26h0m", relative(now, now.Add(26*time.Hour)))
	require.Equal(t, "in 31d0h", relative(now, now.AddDate(0, 0, 31)))
	require.Equal(t, "2h0m ago", relative(now, now.Add(-2*time.Hour)))
	require.Equal(t, "-", kst(time.Time{}))
	require.Equal(t, "2026-01-15 10:00:00 KST", kst(now))
}

// pastDueState is a subscription in dunning with a pending plan change and a refund.
func pastDueState() billing.State {
	return billing.State{
		SubscriptionID: "sub-1001",
		CustomerUID:    "cust-1001",
		Status:         billing.StatusPastDue,
		StatusReason:   "cycle 3 declined: 잔액부족",
		Entitled:       true,
		Plan: billing.Plan{Name: "Pro monthly", Code: "pro", Amount: 9900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1},
			AnchorDay: 15, ChargeTime: "10:00", ChargeMode: billing.ChargeModeAgain},
		PendingPlan: &billing.Plan{Name: "Pro monthly", Code: "pro", Amount: 12900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1},
			AnchorDay: 15, ChargeTime: "10:00"},
		Buyer:     billing.Buyer{Name: "홍길동", Tel: "010-1234-5678", Email: "buyer@example.com"},
		Dunning:   billing.DunningPolicy{RetryAfter: []billing.Duration{days(1), days(3), days(5), days(7)}, Grace: ptr(days(7)), FinalAction: billing.FinalActionCancel},
		StartedAt: kstTime(2025, 11, 15, 9, 12),
		Cycle:     3,
		CurrentPeriod: &billing.Period{Cycle: 3, Start: kstTime(2026, 1, 15, 10, 0), End: kstTime(2026, 2, 15, 10, 0),
			FirstDay: calendar.Date{Year: 2026, Month: 1, Day: 15}, LastDay: calendar.Date{Year: 2026, Month: 2, Day: 14}},
		PaidThrough:  kstTime(2026, 1, 15, 10, 0),
		NextChargeAt: kstTime(2026, 2, 15, 10, 0),
		DunningState: &billing.DunningState{Cycle: 3, DueAt: kstTime(2026, 1, 15, 10, 0), Attempts: 2, RetriesUsed: 1,
			NextRetryAt: kstTime(2026, 1, 18, 10, 0), GraceEndsAt: kstTime(2026, 1, 22, 10, 0), LastReason: "잔액부족"},
		Charges: []billing.ChargeRecord{
			{Cycle: 1, Attempt: 1, MerchantUID: "sub-1001-k3xq-1-1", ImpUID: "imp_100000000001", Amount: 9900, Outcome: billing.OutcomePaid, At: kstTime(2025, 11, 15, 9, 12)},
			{Cycle: 2, Attempt: 1, MerchantUID: "sub-1001-k3xq-2-1", ImpUID: "imp_100000000002", Amount: 9900, Outcome: billing.OutcomePaid, At: kstTime(2025, 12, 15, 10, 0)},
			{Cycle: 3, Attempt: 1, MerchantUID: "sub-1001-k3xq-3-1", ImpUID: "imp_100000000003", Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "잔액부족", At: kstTime(2026, 1, 15, 10, 0)},
			{Cycle: 3, Attempt: 2, MerchantUID: "sub-1001-k3xq-3-2", ImpUID: "imp_100000000004", Amount: 9900, Outcome: billing.OutcomeDeclined, Reason: "잔액부족", At: kstTime(2026, 1, 16, 10, 0)},
		},
		Refunds: []billing.RefundRecord{
			{Cycle: 1, ImpUID: "imp_100000000001", MerchantUID: "sub-1001-k3xq-1-1", Amount: 4950, Reason: "partial service outage", Requester: billing.RequesterAdmin, At: kstTime(2025, 11, 20, 14, 0), Outcome: "refunded"},
		},
		Events: func() []billing.Event {
			var ev []billing.Event
			for i := range 12 {
				ev = append(ev, billing.Event{At: kstTime(2026, 1, 1+i, 10, 0), Kind: "event", Detail: "detail " + string(rune('a'+i))})
			}
			return ev
		}(),
		Runs: 2,
	}
}

func TestRenderState(t *testing.T) {
	var b bytes.Buffer
	now := kstTime(2026, 1, 17, 10, 0)
	renderState(&b, pastDueState(), workflowInfo{WorkflowID: "subscription/sub-1001", Status: "Running"}, now, showOptions{Charges: 24, Events: 10})
	out := b.String()
	for _, want := range []string{
		"Subscription sub-1001\n",
		"subscription/sub-1001 (Running, run 2)",
		"past_due: cycle 3 declined: 잔액부족",
		"Pro monthly · 9,900 KRW every 1 month · anchor day 15 · at 10:00 KST · code pro",
		"9,900 KRW per cycle",
		"from cycle 4: Pro monthly · 12,900 KRW",
		"2026-01-15 .. 2026-02-14 (KST)",
		// In dunning the next charge is the next retry, not the next cycle's (billing.State.NextCharge).
		"Next charge:     2026-01-18 10:00:00 KST (in 24h0m)",
		"cycle 3 unpaid since 2026-01-15 10:00:00 KST; 2 attempts, 1 of 4 retries used; next retry 2026-01-18 10:00:00 KST; grace ends 2026-01-22 10:00:00 KST; last decline: 잔액부족",
		"홍** · ***-****-5678 · b****@example.com",
		"Charge attempts (4)",
		"Refunds (1)",
		"4,950",
		"Last 10 events",
		"detail l",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "010-1234-5678")
	require.NotContains(t, out, "detail b", "only the last 10 events")

	// The charge table: a header and one aligned row per attempt.
	lines := strings.Split(out, "\n")
	var header, declined string
	for _, l := range lines {
		if strings.Contains(l, "MERCHANT_UID") && header == "" {
			header = l
		}
		if strings.Contains(l, "sub-1001-k3xq-3-2") {
			declined = l
		}
	}
	require.Regexp(t, `^\s+CYCLE\s+ATTEMPT\s+MERCHANT_UID\s+IMP_UID\s+AMOUNT\s+OUTCOME\s+REASON\s+TIME \(KST\)$`, header)
	require.Regexp(t, `^\s+3\s+2\s+sub-1001-k3xq-3-2\s+imp_100000000004\s+9,900\s+declined\s+잔액부족\s+2026-01-16 10:00:00$`, declined)
	require.Equal(t, strings.Index(header, "MERCHANT_UID"), strings.Index(declined, "sub-1001"), "columns align")
}

func TestRenderStateLimitsCharges(t *testing.T) {
	var b bytes.Buffer
	st := pastDueState()
	st.ChargesOmitted = 10
	renderState(&b, st, workflowInfo{WorkflowID: "subscription/sub-1001"}, time.Now(), showOptions{Charges: 2, Events: 10})
	out := b.String()
	require.Contains(t, out, "Charge attempts (14)")
	require.Contains(t, out, "12 older attempts not shown")
	require.NotContains(t, out, "imp_100000000002")
	require.Contains(t, out, "sub-1001-k3xq-3-2")
}

func TestRenderStateAwaitingRegistration(t *testing.T) {
	var b bytes.Buffer
	st := billing.State{
		SubscriptionID: "sub-2", CustomerUID: "c2", Status: billing.StatusAwaitingRegistration,
		Plan:         billing.Plan{Name: "Demo", Amount: 1000, Interval: calendar.Interval{Unit: calendar.Second, Count: 30}},
		Registration: billing.RegistrationState{Deadline: kstTime(2026, 1, 18, 10, 0), LastError: "user closed the window"},
		PendingCancel: &billing.CancelRequest{Reason: "duplicate signup", Requester: billing.RequesterAdmin,
			RequestedAt: kstTime(2026, 1, 15, 11, 0)},
		Pause: &billing.PauseState{Pending: true, Reason: "travel", ResumeAt: kstTime(2026, 3, 1, 0, 0)},
	}
	renderState(&b, st, workflowInfo{WorkflowID: "subscription/sub-2"}, time.Now(), showOptions{Events: 10})
	out := b.String()
	require.Contains(t, out, "Demo · 1,000 KRW every 30 seconds\n")
	require.Contains(t, out, "waiting for the customer's NaverPay registration, until 2026-01-18 10:00:00 KST; last error: user closed the window")
	require.Contains(t, out, "Next charge:     none planned")
	require.Contains(t, out, "at period end, requested by admin at 2026-01-15 11:00:00 KST: duplicate signup")
	require.Contains(t, out, "pending: pauses at the end of the current period; resumes 2026-03-01 00:00:00 KST; reason: travel")
	require.Contains(t, out, "Charge attempts (0)\n  none yet")
	require.NotContains(t, out, "Buyer:")
}

func TestRenderReceipt(t *testing.T) {
	now := kstTime(2026, 1, 17, 10, 0)
	var b bytes.Buffer
	renderReceipt(&b, "cancel", "sub-1001", billing.Receipt{
		Message: "subscription canceled", Status: billing.StatusCanceled,
		Refund: &billing.RefundRecord{Cycle: 3, ImpUID: "imp_1", Amount: 4950, Requester: billing.RequesterCustomer, Outcome: "refunded"},
	}, "req-1", now)
	require.Equal(t, `cancel: subscription canceled
  Subscription:  sub-1001
  Status:        canceled
  Next charge:   none planned
  Refund:        4,950 KRW of imp_1 (cycle 3, customer, refunded)
  Request ID:    req-1
`, b.String())

	b.Reset()
	renderReceipt(&b, "change", "sub-1001", billing.Receipt{
		Message: "duplicate request: already applied", Status: billing.StatusActive,
		NextChargeAt: kstTime(2026, 2, 15, 10, 0), Duplicate: true,
	}, "req-2", now)
	require.Equal(t, `change: duplicate request: already applied
  Subscription:  sub-1001
  Status:        active
  Next charge:   2026-02-15 10:00:00 KST (in 29d0h)
  Request ID:    req-2
  Note: this request ID was already applied earlier; nothing was done twice.
`, b.String())
}

func ptr[T any](v T) *T { return &v }
