package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/internal/stacktest"
	"github.com/paycycle/paycycle/internal/testgate"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// e2e is a real Temporal server, the real workflow and activities on a worker, and the PortOne
// emulator behind the real PortOne client: everything the CLI talks to, in process.
type e2e struct {
	t    *testing.T
	st   *stacktest.Stack
	addr string
	ns   string
	c    client.Client
	emu  *portonetest.Emulator
}

// waitLimit bounds every wait in these tests.
const waitLimit = 30 * time.Second

func newE2E(t *testing.T) *e2e {
	t.Helper()
	testgate.Slow(t, "starts a Temporal server")
	// Payloads are encrypted as in production, so the CLI's codec path (PAYCYCLE_CODEC_KEYS,
	// including refused updates' messages) is what gets tested. The CLI's first request relies
	// on the search attributes everywhere, hence SettleSearchAttributes.
	st := stacktest.New(t, stacktest.Options{SettleSearchAttributes: true})
	t.Setenv("PAYCYCLE_CODEC_KEYS", st.CodecKey)
	return &e2e{t: t, st: st, addr: st.Server.GetFrontendHostPort(), ns: st.Namespace, c: st.Client, emu: st.Emulator}
}

// result is one CLI invocation's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI as a person would, against the test server.
func (h *e2e) cli(args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	full := append(append([]string{}, args...), "-temporal-address", h.addr, "-namespace", h.ns)
	code := run(context.Background(), full, &out, &errb)
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	h.t.Logf("$ starter %s\n→ exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// ok runs the CLI and requires success.
func (h *e2e) ok(args ...string) result {
	h.t.Helper()
	r := h.cli(args...)
	require.Equal(h.t, exitOK, r.code, "starter %v: %s", args, r.stderr)
	return r
}

// state reads a subscription's state through 'show -json'.
func (h *e2e) state(id string) billing.State {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"show", "-id", id, "-json", "-temporal-address", h.addr, "-namespace", h.ns}, &out, &errb)
	require.Equal(h.t, exitOK, code, errb.String())
	var st billing.State
	require.NoError(h.t, json.Unmarshal(out.Bytes(), &st))
	return st
}

// waitFor polls cond until it holds, failing the test after waitLimit with cond's last word.
func (h *e2e) waitFor(what string, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(200 * time.Millisecond)
	}
	h.t.Fatalf("timed out after %s waiting for %s: %s", waitLimit, what, last)
}

func (h *e2e) waitStatus(id string, want billing.Status) billing.State {
	h.t.Helper()
	var st billing.State
	h.waitFor("subscription "+id+" to be "+string(want), func() (bool, string) {
		st = h.state(id)
		return st.Status == want, "status " + string(st.Status)
	})
	return st
}

// paidCharges returns the state's paid charge attempts.
func paidCharges(st billing.State) []billing.ChargeRecord {
	var out []billing.ChargeRecord
	for _, c := range st.Charges {
		if c.Outcome == billing.OutcomePaid {
			out = append(out, c)
		}
	}
	return out
}

// requireLedgerAgrees checks the emulator's ledger against the workflow's record for a
// customer: the same payments, each approved exactly once, with the same imp_uid and amount.
func (h *e2e) requireLedgerAgrees(st billing.State, customer string) {
	h.t.Helper()
	byUID := map[string]portonetest.LedgerEntry{}
	paid := 0
	for _, e := range h.emu.Ledger() {
		if e.CustomerUID != customer || e.Usage == "issue" {
			continue
		}
		byUID[e.MerchantUID] = e
		if e.Status == "paid" || e.CancelAmount > 0 {
			paid++
		}
	}
	charges := paidCharges(st)
	require.Len(h.t, charges, paid, "paid charges in the state vs the emulator's ledger")
	for _, c := range charges {
		e, ok := byUID[c.MerchantUID]
		require.True(h.t, ok, "ledger has no payment %s", c.MerchantUID)
		require.Equal(h.t, c.ImpUID, e.ImpUID, c.MerchantUID)
		require.Equal(h.t, c.Amount, e.Amount, c.MerchantUID)
		require.Equal(h.t, 1, h.emu.PaidCount(c.MerchantUID), c.MerchantUID)
	}
}

// TestEndToEnd drives the CLI through a subscription's life on a real Temporal server.
func TestEndToEnd(t *testing.T) {
	h := newE2E(t)
	const id, customer = "cli-e2e-1", "cust-cli-e2e-1"
	_, err := h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customer, CustomerTel: "010-1234-5678"})
	require.NoError(t, err)

	// A two-minute demo interval: long enough that no second cycle starts by itself while the
	// test runs, so every charge below is one the test caused and can be counted exactly.
	start := []string{"start", "-id", id, "-customer", customer, "-plan-name", "CLI Demo", "-amount", "9,900", "-interval", "2 minutes", "-buyer-tel", "010-1234-5678"}
	r := h.ok(start...)
	require.Contains(t, r.stdout, "Workflow ID: subscription/"+id)
	require.Regexp(t, `Run ID:\s+[0-9a-f-]{36}`, r.stdout)
	require.Contains(t, r.stdout, "starter show -id "+id)

	t.Run("duplicate start is refused", func(t *testing.T) {
		r := h.cli(start...)
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "subscription "+id+" is already running (workflow subscription/"+id)
		require.Contains(t, r.stderr, "use `starter show -id "+id+"`")
	})

	st := h.waitStatus(id, billing.StatusActive)
	h.waitFor("the first charge", func() (bool, string) {
		st = h.state(id)
		return len(paidCharges(st)) == 1, fmt.Sprintf("%d charge attempts, status %s", len(st.Charges), st.Status)
	})
	first := paidCharges(st)[0]
	h.requireLedgerAgrees(st, customer)

	t.Run("show summarizes the state", func(t *testing.T) {
		r := h.ok("show", "-id", id)
		for _, want := range []string{
			"Subscription " + id, "subscription/" + id + " (Running)", "active", "CLI Demo", "9,900 KRW",
			"Cycle:", "Next charge:", "KST", "CYCLE", "MERCHANT_UID", first.MerchantUID, first.ImpUID, "paid",
			"***-****-5678", "Last ",
		} {
			require.Contains(t, r.stdout, want)
		}
		require.NotContains(t, r.stdout, "010-1234-5678", "the buyer's phone is masked")
	})

	t.Run("list finds it by status", func(t *testing.T) {
		h.waitFor("list -status active to show "+id, func() (bool, string) {
			r := h.cli("list", "-status", "active")
			return r.code == exitOK && strings.Contains(r.stdout, id), r.stdout + r.stderr
		})
		r := h.ok("list", "-status", "active", "-customer", customer)
		require.Contains(t, r.stdout, "Query: WorkflowType='Subscription' AND BillingStatus='active' AND CustomerUID='"+customer+"'")
		require.Contains(t, r.stdout, "temporal workflow list --query")
		require.Regexp(t, id+`\s+active\s+CLI Demo\s+9,900\s+1\s+\d{4}-\d\d-\d\d`, r.stdout)
		require.Contains(t, r.stdout, "Running")

		r = h.ok("list", "-status", "active", "-json")
		var rows []listRow
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
		require.NotEmpty(t, rows)
		require.Equal(t, id, rows[0].SubscriptionID)
		require.Equal(t, int64(9900), rows[0].Amount)

		r = h.ok("list", "-status", "past_due")
		require.Contains(t, r.stdout, "No subscriptions match.")
	})

	t.Run("retry is refused while active", func(t *testing.T) {
		r := h.cli("retry", "-id", id)
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "nothing is due: the subscription is active and the next charge is at")
	})

	t.Run("cancel at period end, then undo", func(t *testing.T) {
		r := h.cli("undo-cancel", "-id", id)
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "there is no pending cancel to undo")

		r = h.ok("cancel", "-id", id, "-reason", "trial over")
		require.Contains(t, r.stdout, "will be canceled at the end of the current period")
		require.Contains(t, h.ok("show", "-id", id).stdout, "Pending cancel:")
		r = h.ok("undo-cancel", "-id", id, "-reason", "changed their mind")
		require.Contains(t, r.stdout, "the pending cancel was withdrawn")
		require.Nil(t, h.state(id).PendingCancel)
	})

	t.Run("change applies from the next cycle, once per request ID", func(t *testing.T) {
		r := h.ok("change", "-id", id, "-amount", "12,900", "-reason", "price increase", "-request-id", "chg-1")
		require.Contains(t, r.stdout, "change: the new plan applies from cycle 2")
		require.Contains(t, r.stdout, "Status:")
		require.Regexp(t, `Request ID:\s+chg-1`, r.stdout)
		// The same request again (a retried command) must not apply twice.
		h.ok("change", "-id", id, "-amount", "12,900", "-reason", "price increase", "-request-id", "chg-1")
		st := h.state(id)
		require.NotNil(t, st.PendingPlan)
		require.Equal(t, int64(12900), st.PendingPlan.Amount)
		n := 0
		for _, e := range st.Events {
			if e.Kind == "plan_change_requested" {
				n++
			}
		}
		require.Equal(t, 1, n, "plan change recorded once")
		require.Contains(t, h.ok("show", "-id", id).stdout, "Plan change:")
	})

	t.Run("a rise waits for the customer's consent", func(t *testing.T) {
		// The consent window opens 30 law days (seconds, on this demo plan) before the rise.
		var c *billing.ConsentState
		deadline := time.Now().Add(150 * time.Second)
		for c == nil || c.Status != billing.ConsentRequired {
			require.True(t, time.Now().Before(deadline), "the consent window for the rise to 12,900 never opened")
			time.Sleep(500 * time.Millisecond)
			c = h.state(id).Consent
		}
		require.Equal(t, int64(9900), c.AmountBefore)
		require.Equal(t, int64(12900), c.AmountAfter)
		require.Contains(t, h.ok("show", "-id", id).stdout, "consent required")
		wrong := h.cli("consent", "-id", id, "-granted", "true", "-at", time.Now().Format(time.RFC3339Nano), "-channel", "app",
			"-shown-text", "월 13,900원으로 변경", "-amount-before", "9900", "-amount-after", "13900", "-change-date", c.ChangeDate.String(), "-record-id", "c-0")
		require.Equal(t, exitRefused, wrong.code, "a consent for other amounts is refused")
		require.Contains(t, wrong.stderr, "amount_before/amount_after")
		h.ok("consent", "-id", id, "-granted", "true", "-at", time.Now().Format(time.RFC3339Nano), "-channel", "app",
			"-shown-text", "다음 결제부터 월 12,900원(현재 9,900원)이 네이버페이로 결제됩니다.", "-amount-before", "9900", "-amount-after", "12900",
			"-change-date", c.ChangeDate.String(), "-record-id", "c-1")
		require.Equal(t, billing.ConsentGranted, h.state(id).Consent.Status)
	})

	t.Run("pause and resume", func(t *testing.T) {
		r := h.ok("pause", "-id", id, "-now", "-reason", "customer travels")
		require.Contains(t, r.stdout, "pause: paused now")
		require.Regexp(t, `Status:\s+paused`, r.stdout)
		require.Contains(t, h.ok("show", "-id", id).stdout, "paused since")

		r = h.cli("pause", "-id", id, "-now")
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "the subscription is already paused")

		// -restart charges a full cycle now, at the changed price, less the unused paid days
		// of the paused cycle (credited, so no day is paid twice).
		r = h.ok("resume", "-id", id, "-restart", "-reason", "back")
		require.Contains(t, r.stdout, "resume: resumed")
		require.Regexp(t, `Status:\s+active`, r.stdout)
		var st billing.State
		h.waitFor("the restarted cycle's charge", func() (bool, string) {
			st = h.state(id)
			return len(paidCharges(st)) == 2, fmt.Sprintf("%d charge attempts, status %s", len(st.Charges), st.Status)
		})
		second := paidCharges(st)[1]
		first := paidCharges(st)[0]
		require.Less(t, second.Amount, int64(12900), "the unused part of the paid cycle is credited")
		require.GreaterOrEqual(t, second.Amount, int64(12900)-first.Amount, "the credit never exceeds what was paid")
		require.True(t, hasEvent(st, "credit_applied"), "the credit is in the audit trail")
		require.Equal(t, 2, second.Cycle)
		require.Equal(t, int64(12900), st.Plan.Amount)
		h.requireLedgerAgrees(st, customer)
	})

	t.Run("unknown subscription", func(t *testing.T) {
		r := h.cli("show", "-id", "nope")
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, "no subscription nope (workflow subscription/nope not found)")
		r = h.cli("pause", "-id", "nope", "-now")
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, "no subscription nope (workflow subscription/nope not found)")
		r = h.cli("cancel", "-id", "nope", "-reason", "x", "-signal")
		require.Equal(t, exitNotFound, r.code)
	})

	t.Run("a workflow that failed at once shows why", func(t *testing.T) {
		// Started behind the CLI's back with an ID that does not match the input: the workflow
		// refuses it, and show must say so rather than "query failed".
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		run, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: billing.WorkflowID("cli-e2e-bad"), TaskQueue: billing.TaskQueue},
			billing.WorkflowType, billing.SubscriptionInput{SubscriptionID: "someone-else", CustomerUID: customer,
				Plan: billing.Plan{Name: "Bad", Amount: 1000, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}}})
		require.NoError(t, err)
		require.Error(t, run.Get(ctx, nil))
		r := h.cli("show", "-id", "cli-e2e-bad")
		require.Equal(t, exitFailure, r.code)
		require.Contains(t, r.stderr, "subscription cli-e2e-bad did not run: its workflow subscription/cli-e2e-bad is Failed")
		require.Contains(t, r.stderr, `workflow ID must be "subscription/someone-else"`)
	})

	t.Run("cancel now ends it", func(t *testing.T) {
		r := h.ok("cancel", "-id", id, "-now", "-reason", "고객 요청", "-requester", "customer")
		require.Contains(t, r.stdout, "cancel: subscription canceled")
		require.Regexp(t, `Status:\s+canceled`, r.stdout)
		st := h.waitStatus(id, billing.StatusCanceled)
		require.Len(t, paidCharges(st), 2, "no charge after the cancel")
		h.requireLedgerAgrees(st, customer)

		r = h.ok("show", "-id", id)
		require.Contains(t, r.stdout, "canceled: 고객 요청")
		require.Contains(t, r.stdout, "Completed")

		r = h.cli("pause", "-id", id, "-now")
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "subscription "+id+" has ended")

		h.waitFor("list -status canceled to show "+id, func() (bool, string) {
			r := h.cli("list", "-status", "canceled")
			return r.code == exitOK && strings.Contains(r.stdout, id), r.stdout
		})
	})
}

// TestEndToEndShortCycles runs a 2-second plan: the workflow's timers charge cycle after cycle,
// and a signal (fire and forget) cancels it.
func TestEndToEndShortCycles(t *testing.T) {
	h := newE2E(t)
	const id, customer = "cli-e2e-fast", "cust-cli-e2e-fast"
	_, err := h.emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customer})
	require.NoError(t, err)

	// Through -f - (stdin) with a flag override, as 'example-input | start -f -' is documented.
	input := `{"subscription_id":"` + id + `","customer_uid":"` + customer + `","plan":{"name":"Fast","amount":1000,"interval":{"unit":"second","count":2}}}`
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(input), stdout: &out, stderr: &errb, now: time.Now}
	code := a.run(context.Background(), []string{"start", "-f", "-", "-amount", "1,100", "-temporal-address", h.addr, "-namespace", h.ns})
	require.Equal(t, exitOK, code, errb.String())

	var st billing.State
	h.waitFor("three paid cycles", func() (bool, string) {
		st = h.state(id)
		return len(paidCharges(st)) >= 3, fmt.Sprintf("cycle %d, status %s", st.Cycle, st.Status)
	})
	for i, c := range paidCharges(st)[:3] {
		require.Equal(t, i+1, c.Cycle)
		require.Equal(t, int64(1100), c.Amount)
	}

	r := h.ok("cancel", "-id", id, "-now", "-reason", "demo over", "-signal")
	require.Contains(t, r.stdout, "Signal cancel sent to subscription/"+id)
	st = h.waitStatus(id, billing.StatusCanceled)
	h.requireLedgerAgrees(st, customer)

	// With no worker left: an ended subscription is still shown (from the workflow's result),
	// and a message to a running one times out with a way to get its answer later.
	h.st.StopWorkers()
	r = h.ok("show", "-id", id)
	require.Contains(t, r.stdout, "canceled: demo over")

	h.ok("start", "-id", "cli-e2e-idle", "-customer", customer, "-plan-name", "Idle", "-amount", "1000", "-interval", "1 month")
	r = h.cli("pause", "-id", "cli-e2e-idle", "-now", "-timeout", "3s", "-request-id", "pause-idle-1")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stderr, "waiting for the update pause of subscription cli-e2e-idle: is a billing worker running on task queue \"billing\"?")
	require.Contains(t, r.stderr, "re-run with -request-id pause-idle-1")
}

func hasEvent(st billing.State, kind string) bool {
	for _, e := range st.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}
