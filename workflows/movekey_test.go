package workflows_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// emulatorBankV1V2 makes the PortOne emulator the bank of a test environment on both
// generations, as a worker with V1 and V2 settings sees it: V1 at one listener, V2 at the root of
// another, one clock and one ledger. Due work (schedules, asynchronous cancels) is run before
// every V2 request, as PortOne would have done it by then. keys are V1 customer_uids registered
// beforehand.
func emulatorBankV1V2(t *testing.T, env *testsuite.TestWorkflowEnvironment, keys ...string) *portonetest.Emulator {
	t.Helper()
	emu := portonetest.New(portonetest.Options{Clock: envClock{env}})
	srv := httptest.NewServer(emu)
	v2h := emu.V2Handler()
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emu.RunDue()
		v2h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv2.Close(); srv.Close(); emu.Close() })
	v1, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(srv.URL), portone.WithTimeout(10*time.Second))
	require.NoError(t, err)
	v2, err := portonev2.New(portonev2.Config{BaseURL: srv2.URL, Secret: portonetest.DefaultV2Secret, Timeout: 10 * time.Second})
	require.NoError(t, err)
	for _, k := range keys {
		_, err := emu.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: k})
		require.NoError(t, err)
	}
	env.RegisterActivity(&activities.Activities{Gateway: portonev1.New(v1), GatewayV2: v2,
		Config: activities.Config{ScheduleSettleDelay: time.Minute}, Now: env.Now})
	relayV2Webhooks(env, emu)
	return emu
}

// ledgerOf is the emulator's charges (no registration records) of one generation, as
// "c<cycle> <status> <billing key>" in ledger order.
func ledgerOf(t *testing.T, emu *portonetest.Emulator, version string) []string {
	t.Helper()
	var out []string
	for _, le := range emu.Ledger() {
		if le.Usage == "issue" || le.Version != version {
			continue
		}
		uid, err := billing.ParseMerchantUID(le.MerchantUID)
		require.NoError(t, err)
		out = append(out, "c"+itoa(uid.Charge.Cycle)+" "+le.Status+" "+le.CustomerUID)
	}
	return out
}

func eventKinds(st billing.State) []string {
	var out []string
	for _, e := range st.Events {
		out = append(out, e.Kind)
	}
	return out
}

// TestReplaceV1KeyWithV2Key: replace_billing_key naming a V2 key moves a V1 subscription onto
// PortOne V2 once PortOne V2 confirmed the key (issued, NaverPay's, under the issueId named):
// the next cycles are charged on V2 alone, the V1 key is deleted at V1 with its reason and
// requester, a pending V1 schedule is revoked first, a past-due cycle recovers on the new key,
// and a V1 charge made before the move is refunded on V1. A key PortOne V2 does not confirm
// changes nothing.
func TestReplaceV1KeyWithV2Key(t *testing.T) {
	const v2Key = "billing-key-moved-1"
	start := kst(2025, time.April, 1, 10, 0)
	for _, tc := range []struct {
		name string
		// schedule runs the subscription in schedule mode.
		schedule bool
		// declineV1From declines every V1 charge from this instant on, hard (the V1 key became
		// unusable), when set.
		declineV1From time.Time
		// issueID is the V2 key's issueId at PortOne; req the message sent at replaceAt.
		issueID   string
		deleted   bool // the V2 key was deleted at PortOne before the message
		req       billing.ReplaceBillingKeyRequest
		replaceAt time.Time
		// cancelAt ends the test with a cancel now; refund is its refund policy.
		cancelAt time.Time
		refund   billing.RefundPolicy
		// want: refused (the message's error contains it) or moved; the ledgers after the test.
		refused      string
		wantV1       []string
		wantV2       []string
		wantRefundV1 int64
	}{
		{
			name:    "two V1 cycles, then V2 from cycle 3 (issueId defaults to the customer_uid)",
			issueID: "cust-1", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key, Reason: "네이버페이 재등록"},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.June, 10, 0, 0), refund: billing.RefundNone,
			wantV1: []string{"c1 paid cust-1", "c2 paid cust-1"},
			wantV2: []string{"c3 paid " + v2Key},
		},
		{
			name:    "an explicit issue_id becomes the customer_uid; a V1 charge is refunded on V1 after the move",
			issueID: "cust-1-v2", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key, IssueID: "cust-1-v2"},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.May, 20, 0, 0), refund: billing.RefundFull,
			wantV1:       []string{"c1 paid cust-1", "c2 cancelled cust-1"},
			wantRefundV1: 9900,
		},
		{
			name:     "schedule mode: the V1 schedule of cycle 3 is revoked, cycle 3 is scheduled and charged on V2",
			schedule: true,
			issueID:  "cust-1", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.June, 10, 0, 0), refund: billing.RefundNone,
			wantV1: []string{"c1 paid cust-1", "c2 paid cust-1"},
			wantV2: []string{"c3 paid " + v2Key},
		},
		{
			name:          "past due on a V1 key declined for good: the replacement retries at once on V2",
			declineV1From: kst(2025, time.April, 2, 0, 0),
			issueID:       "cust-1", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key},
			replaceAt: kst(2025, time.May, 3, 12, 0), cancelAt: kst(2025, time.May, 20, 0, 0), refund: billing.RefundNone,
			wantV1: []string{"c1 paid cust-1", "c2 failed cust-1"},
			wantV2: []string{"c2 paid " + v2Key},
		},
		{
			name:    "a key issued under another issueId is refused: nothing changes",
			issueID: "someone-else", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.June, 10, 0, 0), refund: billing.RefundNone,
			refused: "billing_key: the billing key was issued for another registration",
			wantV1:  []string{"c1 paid cust-1", "c2 paid cust-1", "c3 paid cust-1"},
		},
		{
			name:    "a key PortOne V2 never issued (forged) is refused: nothing changes",
			issueID: "cust-1", req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: "billing-key-forged"},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.June, 10, 0, 0), refund: billing.RefundNone,
			refused: "billing_key: PortOne holds no issued billing key",
			wantV1:  []string{"c1 paid cust-1", "c2 paid cust-1", "c3 paid cust-1"},
		},
		{
			name:    "a deleted V2 key is refused: nothing changes",
			issueID: "cust-1", deleted: true, req: billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key},
			replaceAt: kst(2025, time.May, 10, 12, 0), cancelAt: kst(2025, time.June, 10, 0, 0), refund: billing.RefundNone,
			refused: "billing_key: PortOne holds no issued billing key",
			wantV1:  []string{"c1 paid cust-1", "c2 paid cust-1", "c3 paid cust-1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			emu := emulatorBankV1V2(t, env, "cust-1")
			_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: tc.issueID, IssueName: "Premium", NaverAccount: "naver-cust-1", BillingKey: v2Key})
			require.NoError(t, err)
			if tc.deleted {
				require.NoError(t, emu.DeleteBillingKeyV2(v2Key))
			}
			if tc.schedule {
				// PortOne's schedulers run half a minute after each cycle's due time.
				for _, due := range []time.Time{kst(2025, time.May, 1, 10, 0), kst(2025, time.June, 1, 10, 0)} {
					env.RegisterDelayedCallback(func() { emu.RunDue() }, due.Sub(start)+30*time.Second)
				}
			}
			if !tc.declineV1From.IsZero() {
				env.RegisterDelayedCallback(func() {
					emu.AddFault(portonetest.Fault{Op: portonetest.OpAgain, CustomerUID: "cust-1", Action: portonetest.FaultDecline, Hard: true})
				}, tc.declineV1From.Sub(start))
			}
			var before, after billing.State
			var replaced updateResult
			env.RegisterDelayedCallback(func() {
				before = query(t, env)
				update(env, billing.MsgReplaceBillingKey, tc.req, &replaced)
			}, tc.replaceAt.Sub(start))
			env.RegisterDelayedCallback(func() { after = query(t, env) }, tc.replaceAt.Sub(start)+time.Minute)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Refund: tc.refund, Reason: "test over"})
			}, tc.cancelAt.Sub(start))
			in := monthly()
			if tc.schedule {
				in = scheduleMode()
			}
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)

			require.True(t, replaced.done, "the update was answered")
			require.NoError(t, replaced.rejected)
			require.Equal(t, tc.wantV1, ledgerOf(t, emu, portonetest.VersionV1), "V1 ledger")
			require.Equal(t, tc.wantV2, ledgerOf(t, emu, portonetest.VersionV2), "V2 ledger")
			ledgerInvariants(t, emu, st)
			require.Empty(t, emu.Warnings(), "every cancel and deletion carried its reason and requester")
			if tc.refused != "" {
				require.ErrorContains(t, replaced.err, tc.refused)
				require.Equal(t, billing.GatewayName(""), st.Gateway)
				require.Equal(t, "cust-1", st.CustomerUID)
				require.Empty(t, st.BillingKey)
				require.True(t, emu.HasCustomer("", "cust-1"), "the V1 key is kept")
				require.Contains(t, eventKinds(st), "replace_billing_key_refused")
				require.NotContains(t, eventKinds(st), "gateway_changed")
				require.Equal(t, before.Gateway, after.Gateway)
				return
			}
			require.NoError(t, replaced.err)
			require.Equal(t, billing.GatewayName(""), before.Gateway)
			require.Equal(t, billing.GatewayPortOneV2, after.Gateway, "the state shows the move at once")
			require.Equal(t, billing.GatewayPortOneV2, st.Gateway)
			issueID := tc.req.IssueID
			if issueID == "" {
				issueID = "cust-1"
			}
			require.Equal(t, issueID, st.CustomerUID, "a V2 subscription's customer_uid is its key's issueId")
			require.Equal(t, v2Key, st.BillingKey)
			require.Equal(t, billing.GatewayPortOneV1, st.Registration.MovedFrom)
			require.Equal(t, tc.replaceAt, st.Registration.MovedAt.In(tc.replaceAt.Location()))
			for _, kind := range []string{"billing_key_replaced", "gateway_changed", "naverpay_consent_renewed"} {
				require.Contains(t, eventKinds(after), kind)
			}
			require.False(t, emu.HasCustomer("", "cust-1"), "the V1 key is deleted at PortOne V1")
			k, ok := emu.BillingKeyV2(v2Key)
			require.True(t, ok)
			require.Equal(t, "ISSUED", k.Status, "the new key is kept")
			// Every charge record names where it was made: V1's (payments and schedules) keep
			// "portone_v1", the others are the subscription's gateway's, V2. A payment is known
			// by its imp_uid (V2: transactionId); a schedule that never ran by its merchant_uid.
			v1Imp, v2Imp, v1Sched := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for _, le := range emu.Ledger() {
				map[bool]map[string]bool{true: v1Imp, false: v2Imp}[le.Version == portonetest.VersionV1][le.ImpUID] = true
			}
			for _, s := range emu.Schedules() {
				v1Sched[s.MerchantUID] = true
			}
			for _, c := range st.Charges {
				onV1 := (c.ImpUID != "" && v1Imp[c.ImpUID]) || (c.ImpUID == "" && v1Sched[c.MerchantUID])
				onV2 := c.ImpUID != "" && v2Imp[c.ImpUID]
				if c.Gateway == billing.GatewayPortOneV1 {
					require.True(t, onV1 && !onV2, "charge %s (%s) is marked V1", c.MerchantUID, c.Outcome)
				} else {
					require.Empty(t, c.Gateway)
					require.False(t, onV1, "charge %s (%s) is the subscription's (V2)", c.MerchantUID, c.Outcome)
					require.True(t, onV2 || c.ImpUID == "", "charge %s (%s) is at V2", c.MerchantUID, c.Outcome)
				}
			}
			if tc.wantRefundV1 > 0 {
				var refunded int64
				for _, le := range emu.Ledger() {
					if le.Version == portonetest.VersionV1 {
						refunded += le.CancelAmount
					}
				}
				require.Equal(t, tc.wantRefundV1, refunded, "the V1 charge is refunded on V1")
			}
			if tc.schedule {
				var v1Revoked bool
				for _, s := range emu.Schedules() {
					require.NotEqual(t, "scheduled", s.Status, "no V1 schedule is left pending: %+v", s)
					if s.Status == "revoked" {
						v1Revoked = true
						require.Equal(t, "cust-1", s.CustomerUID)
					}
				}
				require.True(t, v1Revoked, "the V1 schedule of cycle 3 was revoked")
				v2s := emu.V2Schedules()
				require.NotEmpty(t, v2s)
				require.True(t, slices.ContainsFunc(v2s, func(s portonetest.V2ScheduleRecord) bool { return s.BillingKey == v2Key && s.TransactionID != "" }),
					"cycle 3 ran from a V2 schedule on the new key: %+v", v2s)
			}
			if !tc.declineV1From.IsZero() {
				require.Contains(t, replaced.receipt.Message, "paid")
				require.Equal(t, billing.StatusPaymentMethodRequired, before.Status)
				require.Equal(t, billing.StatusActive, after.Status, "recovered on V2 at once")
			}
		})
	}
}

// TestReplaceBillingKeyV2Refusals: what replace_billing_key refuses before anything happens,
// each naming the field: a V2 subscription moving back to V1, a V2 key on a worker without V2
// settings, an unknown gateway, misspelt or mixed fields, a plan below V2's minimum.
func TestReplaceBillingKeyV2Refusals(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	for _, tc := range []struct {
		name   string
		v2Sub  bool // the subscription is a V2 one
		noV2   bool // the worker has no V2 settings
		amount int64
		req    any
		want   string
	}{
		{name: "V2 to V1", v2Sub: true, req: map[string]any{"gateway": "portone_v1", "customer_uid": "cust-9"}, want: "gateway: this subscription is on portone_v2 and cannot move back to a V1 key"},
		{name: "no V2 settings", noV2: true, req: map[string]any{"gateway": "portone_v2", "billing_key": "billing-key-x"}, want: "gateway: \"portone_v2\", but this worker has no PortOne V2 settings"},
		{name: "unknown gateway", req: map[string]any{"gateway": "portone_v3", "billing_key": "billing-key-x"}, want: `gateway: must be "portone_v1" or "portone_v2", got "portone_v3"`},
		{name: "misspelt billing_key", req: map[string]any{"gateway": "portone_v2", "billing_kye": "billing-key-x"}, want: `billing_kye: unknown field (did you mean "billing_key"?)`},
		{name: "V2 key without its gateway", req: map[string]any{"billing_key": "billing-key-x"}, want: `billing_key: names a PortOne V2 key`},
		{name: "V2 key named as customer_uid", req: map[string]any{"gateway": "portone_v2", "customer_uid": "billing-key-x"}, want: "customer_uid: names a V1 billing key"},
		{name: "V2 without a key", req: map[string]any{"gateway": "portone_v2"}, want: "billing_key: must not be empty"},
		{name: "plan below V2's minimum", amount: 50, req: map[string]any{"gateway": "portone_v2", "billing_key": "billing-key-x"}, want: "must be at least 100 KRW on portone_v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			var emu *portonetest.Emulator
			if tc.noV2 {
				emu = emulatorBank(t, env, "cust-1")
			} else {
				emu = emulatorBankV1V2(t, env, "cust-1")
			}
			in := monthly()
			if tc.amount > 0 {
				in.Plan.Amount = tc.amount
			}
			if tc.v2Sub {
				_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-v2", IssueName: "Premium", BillingKey: "billing-key-v2sub"})
				require.NoError(t, err)
				in.Gateway, in.CustomerUID = billing.GatewayPortOneV2, "billing-key-v2sub"
			}
			var got updateResult
			var st0 billing.State
			env.RegisterDelayedCallback(func() {
				st0 = query(t, env)
				update(env, billing.MsgReplaceBillingKey, tc.req, &got)
			}, 24*time.Hour)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, 48*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.True(t, got.done)
			require.ErrorContains(t, got.rejected, tc.want, "refused by the validator")
			require.Equal(t, st0.Gateway, st.Gateway)
			require.Equal(t, st0.CustomerUID, st.CustomerUID)
			require.NotContains(t, eventKinds(st), "billing_key_replaced")
		})
	}
}

// TestReplaceToV2IsAskedOnlyWithItsFields: versionReplaceToV2 is asked only when a
// replace_billing_key payload names gateway, billing_key or issue_id, and a run that did not take
// it (a recorded history) reads those fields as its version did: a strict run refused them as
// unknown fields, whatever their value; a run from before strict decoding ignored them, so the
// payload was a V1 replacement by its customer_uid.
func TestReplaceToV2IsAskedOnlyWithItsFields(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	for _, tc := range []struct {
		name    string
		run     string // "new", "strict" (bundle 2, without the change) or "lax" (no bundle, no strict decoding)
		payload string
		asked   bool
		refused string // a refusal recorded in the state's events
		want    string // the customer_uid after the message
	}{
		{name: "new run, V1 replacement", run: "new", payload: `{"customer_uid": "cust-2"}`, want: "cust-2"},
		{name: "new run, V2 key", run: "new", payload: `{"gateway": "portone_v2", "billing_key": "billing-key-moved-1"}`, asked: true, want: "cust-1"},
		{name: "new run, explicit V1 gateway", run: "new", payload: `{"gateway": "portone_v1", "customer_uid": "cust-2"}`, asked: true, want: "cust-2"},
		{name: "strict run, V2 key", run: "strict", payload: `{"gateway": "portone_v2", "billing_key": "billing-key-moved-1"}`, asked: true, refused: `unknown field "gateway"`, want: "cust-1"},
		{name: "strict run, an empty issue_id", run: "strict", payload: `{"customer_uid": "cust-2", "issue_id": ""}`, asked: true, refused: `unknown field "issue_id"`, want: "cust-1"},
		{name: "lax run, V2 fields beside a customer_uid", run: "lax", payload: `{"customer_uid": "cust-2", "Gateway": "portone_v2", "billing_key": 5}`, asked: true, want: "cust-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			emu := emulatorBankV1V2(t, env, "cust-1", "cust-2")
			_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: "Premium", BillingKey: "billing-key-moved-1"})
			require.NoError(t, err)
			asked := 0
			count := func(mock.Arguments) { asked++ }
			switch tc.run {
			case "new":
				env.OnGetVersion("replace-key-to-v2", workflow.DefaultVersion, workflow.Version(1)).Run(count).Return(workflow.Version(1))
			case "strict":
				env.OnGetVersion("paycycle-bundle-2026-12", workflow.DefaultVersion, workflow.Version(3)).Return(workflow.Version(2))
				env.OnGetVersion("replace-key-to-v2", workflow.DefaultVersion, workflow.Version(1)).Run(count).Return(workflow.DefaultVersion)
			case "lax":
				env.OnGetVersion("paycycle-bundle-2026-12", workflow.DefaultVersion, workflow.Version(3)).Return(workflow.DefaultVersion)
				env.OnGetVersion("run-behaviour-2026-12", workflow.DefaultVersion, workflow.Version(1)).Return(workflow.DefaultVersion)
				env.OnGetVersion("replace-key-to-v2", workflow.DefaultVersion, workflow.Version(1)).Run(count).Return(workflow.DefaultVersion)
			}
			var after billing.State
			env.RegisterDelayedCallback(func() { signal(env, billing.MsgReplaceBillingKey, json.RawMessage(tc.payload)) }, time.Hour)
			env.RegisterDelayedCallback(func() {
				after = query(t, env)
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, 2*time.Hour)
			env.ExecuteWorkflow(billing.WorkflowType, monthly())
			result(t, env)
			require.Equal(t, tc.asked, asked > 0, "asked %d times", asked)
			var refusals []string
			for _, e := range after.Events {
				if e.Kind == "refused" {
					refusals = append(refusals, e.Detail)
				}
			}
			require.Equal(t, tc.want, after.CustomerUID)
			if tc.refused != "" {
				require.Len(t, refusals, 1)
				require.Contains(t, refusals[0], tc.refused)
				return
			}
			require.Empty(t, refusals)
			if strings.Contains(tc.payload, "billing_key") && tc.run == "new" {
				require.Equal(t, billing.GatewayPortOneV2, after.Gateway)
			} else {
				require.Equal(t, billing.GatewayName(""), after.Gateway)
			}
		})
	}
}

// TestReplaceOnARegisteredV2Subscription: a V2 subscription registered through the V2 page
// (customer_uid is the issueId, the key PortOne issued is billing_key) replaces its key with
// another V2 key: the next charge is on the new key, and the old key is deleted at V2 with its
// reason and requester. The V2 form (gateway, billing_key, issue_id) and the form the message
// always took on a V2 subscription (customer_uid naming the new V2 key) both.
func TestReplaceOnARegisteredV2Subscription(t *testing.T) {
	start := kst(2025, time.April, 1, 10, 0)
	for _, tc := range []struct {
		name string
		req  any
		// wantUID is the customer_uid after the replacement.
		wantUID string
	}{
		{name: "V2 form", req: map[string]any{"gateway": "portone_v2", "billing_key": "billing-key-new", "issue_id": "cust-v2-b"}, wantUID: "cust-v2-b"},
		{name: "customer_uid naming the new V2 key", req: map[string]any{"customer_uid": "billing-key-new"}, wantUID: "cust-v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, start)
			emu := emulatorBankV1V2(t, env)
			_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-v2", IssueName: "Premium", NaverAccount: "naver-a", BillingKey: "billing-key-old"})
			require.NoError(t, err)
			_, err = emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-v2-b", IssueName: "Premium", NaverAccount: "naver-a", BillingKey: "billing-key-new"})
			require.NoError(t, err)
			env.RegisterDelayedCallback(func() {
				signal(env, billing.SignalRegistered, billing.RegisteredSignal{BillingKey: "billing-key-old"})
			}, time.Minute)
			var replaced updateResult
			env.RegisterDelayedCallback(func() { update(env, billing.MsgReplaceBillingKey, tc.req, &replaced) }, kst(2025, time.April, 10, 0, 0).Sub(start))
			env.RegisterDelayedCallback(func() {
				signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
			}, kst(2025, time.May, 10, 0, 0).Sub(start))
			in := monthly()
			in.Gateway, in.CustomerUID = billing.GatewayPortOneV2, "cust-v2"
			env.ExecuteWorkflow(billing.WorkflowType, in)
			st := result(t, env)
			require.True(t, replaced.done)
			require.NoError(t, replaced.rejected)
			require.NoError(t, replaced.err)
			require.Equal(t, []string{"c1 paid billing-key-old", "c2 paid billing-key-new"}, ledgerOf(t, emu, portonetest.VersionV2))
			require.Equal(t, "billing-key-new", st.BillingKey)
			require.Equal(t, tc.wantUID, st.CustomerUID)
			old, ok := emu.BillingKeyV2("billing-key-old")
			require.True(t, ok)
			require.Equal(t, "DELETED", old.Status, "the old V2 key is deleted")
			require.True(t, strings.EqualFold(string(billing.RequesterCustomer), old.DeleteRequester), "requester %q", old.DeleteRequester)
			require.NotEmpty(t, old.DeleteReason)
			require.Empty(t, emu.Warnings())
		})
	}
}

// TestRecoveryWatchStaysOnV1AfterTheMove: schedule mode with PortOne V1's 리커버리 on. Cycle 2's
// V1 schedule declines, our retry pays it, and the subscription moves to a V2 key before
// 리커버리 re-executes the failed V1 schedule (the V1 key kept): the watch still looks the
// schedule up at V1 and refunds the second payment there, so the cycle keeps one payment.
func TestRecoveryWatchStaysOnV1AfterTheMove(t *testing.T) {
	const v2Key = "billing-key-moved-1"
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV1V2(t, env, "cust-1")
	_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: "Premium", BillingKey: v2Key})
	require.NoError(t, err)
	due := kst(2025, time.May, 1, 10, 0)
	emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, Action: portonetest.FaultRecovery, Every: 24 * time.Hour})
	scheduled := "sub-1-" + tagForTest() + "-2-1"
	emu.AddFault(portonetest.Fault{Op: portonetest.OpScheduleExecution, MerchantUID: scheduled, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	runSchedulerEvery(env, emu, due.Sub(start)+30*time.Second, due.Sub(start)+10*24*time.Hour, 30*time.Minute)
	var replaced updateResult
	var moved billing.State
	env.RegisterDelayedCallback(func() {
		moved = query(t, env)
		// The V1 key is kept (delete_old false): 리커버리 cannot charge a deleted key.
		keep := false
		update(env, billing.MsgReplaceBillingKey, billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key, DeleteOld: &keep}, &replaced)
	}, kst(2025, time.May, 1, 20, 0).Sub(start))
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 20, 0, 0).Sub(start))
	in := scheduleMode()
	in.Dunning = &billing.DunningPolicy{RetryAfter: []billing.Duration{billing.Duration(6 * time.Hour)}}
	env.ExecuteWorkflow(billing.WorkflowType, in)
	st := result(t, env)

	require.True(t, replaced.done)
	require.NoError(t, replaced.err)
	require.Len(t, moved.RecoveryWatches, 1, "the failed V1 schedule was watched when the subscription moved")
	require.Equal(t, billing.GatewayPortOneV2, st.Gateway)
	require.Contains(t, eventKinds(st), "duplicate_refunded")
	var refundedOnV1 int64
	for _, le := range emu.Ledger() {
		if le.Version == portonetest.VersionV1 && le.MerchantUID == scheduled {
			refundedOnV1 += le.CancelAmount
		}
	}
	require.Equal(t, int64(9900), refundedOnV1, "리커버리's second payment is refunded at V1")
	ledgerInvariants(t, emu, st)
}

// TestReplaceToV2WhileAwaitingRegistrationAndAgain: a V1 subscription still awaiting its V1
// registration may be given a V2 key instead (billing starts on V2, no V1 key to delete), and
// the same key sent again changes nothing and deletes nothing.
func TestReplaceToV2WhileAwaitingRegistrationAndAgain(t *testing.T) {
	const v2Key = "billing-key-moved-1"
	start := kst(2025, time.April, 1, 10, 0)
	env := newEnv(t, start)
	emu := emulatorBankV1V2(t, env) // cust-1 never registered at V1
	_, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: "Premium", BillingKey: v2Key})
	require.NoError(t, err)
	var first, again updateResult
	var awaiting billing.State
	req := billing.ReplaceBillingKeyRequest{Gateway: billing.GatewayPortOneV2, BillingKey: v2Key}
	env.RegisterDelayedCallback(func() {
		awaiting = query(t, env)
		update(env, billing.MsgReplaceBillingKey, req, &first)
	}, time.Hour)
	env.RegisterDelayedCallback(func() { update(env, billing.MsgReplaceBillingKey, req, &again) }, 3*time.Hour)
	env.RegisterDelayedCallback(func() {
		signal(env, billing.MsgCancel, billing.CancelRequest{When: billing.Now, Reason: "test over"})
	}, kst(2025, time.May, 10, 0, 0).Sub(start))
	env.ExecuteWorkflow(billing.WorkflowType, monthly())
	st := result(t, env)
	require.Equal(t, billing.StatusAwaitingRegistration, awaiting.Status)
	require.NoError(t, first.err)
	require.Equal(t, "billing key verified", first.receipt.Message)
	require.NoError(t, again.err)
	require.Equal(t, "billing key replaced", again.receipt.Message)
	require.Equal(t, billing.GatewayPortOneV2, st.Gateway)
	require.Equal(t, []string{"c1 paid " + v2Key, "c2 paid " + v2Key}, ledgerOf(t, emu, portonetest.VersionV2))
	require.Empty(t, ledgerOf(t, emu, portonetest.VersionV1))
	require.NotContains(t, eventKinds(st), "billing_key_deleted")
	k, ok := emu.BillingKeyV2(v2Key)
	require.True(t, ok)
	require.Equal(t, "ISSUED", k.Status)
	n := 0
	for _, e := range st.Events {
		if e.Kind == "gateway_changed" {
			n++
		}
	}
	require.Equal(t, 1, n, "one move")
}
