package edge_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/webhooks"
)

// Webhook secrets of the V2 tests: the current and the next one of a rotation (both configured
// at the edge), and one the edge does not know.
var (
	v2SecretCurrent = testSecret("current")
	v2SecretNext    = testSecret("next")
	v2SecretForeign = testSecret("foreign")
)

// testSecret is a fixed Standard Webhooks secret of 32 bytes derived from name.
func testSecret(name string) string {
	b := []byte(strings.Repeat(name+"-", 32))[:32]
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// v2Env is the edge with V2 on, the emulator's V2 API behind the real V2 gateway.
type v2Env struct {
	*testEnv
	gw *portonev2.Gateway
	// emuURL is the emulator's (V1) listener, which also serves the V2 browser stand-in.
	emuURL string
	// verdicts are the verdicts the edge reported.
	mu       sync.Mutex
	verdicts []string
}

func newV2Env(t *testing.T, emuOpts portonetest.Options) *v2Env {
	t.Helper()
	return newV2EnvWith(t, emuOpts, nil)
}

// newV2EnvWith is newV2Env with a hook that changes the edge's V2 configuration.
func newV2EnvWith(t *testing.T, emuOpts portonetest.Options, configure func(*edge.V2Config)) *v2Env {
	t.Helper()
	emu, emuSrv := portonetest.NewServer(t, emuOpts)
	v2Srv := httptest.NewServer(emu.V2Handler())
	t.Cleanup(v2Srv.Close)
	pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(emuSrv.URL), portone.WithTimeout(3*time.Second))
	require.NoError(t, err)
	gw, err := portonev2.New(portonev2.Config{BaseURL: v2Srv.URL, Secret: portonetest.DefaultV2Secret,
		StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: 3 * time.Second})
	require.NoError(t, err)
	keys, err := edge.ParseV2WebhookSecrets([]string{v2SecretCurrent, v2SecretNext})
	require.NoError(t, err)
	v := &v2Env{gw: gw, emuURL: emuSrv.URL}
	v.testEnv = newEnvDeps(t, emu, pc, func(c *edge.Config) {
		c.Demo = true // the demo start page offers V2 on such an edge
		c.V2 = &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}
		if configure != nil {
			configure(c.V2)
		}
		c.V2.SDKScriptURL = strings.ReplaceAll(c.V2.SDKScriptURL, emulatorURL, emuSrv.URL)
	}, func(d *edge.Deps) {
		d.PortOneV2 = gw
		d.WebhookVerdict = func(verdict string) {
			v.mu.Lock()
			defer v.mu.Unlock()
			v.verdicts = append(v.verdicts, verdict)
		}
	})
	return v
}

// emulatorURL in a V2Config's SDKScriptURL stands for the emulator's URL, known only once it runs.
const emulatorURL = "{emulator}"

func (e *v2Env) reported() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.verdicts...)
}

// v2Subscription makes the fake know an open V2 subscription awaiting registration.
func (e *v2Env) v2Subscription(id, customerUID string) {
	e.wf.setState(billing.State{SubscriptionID: id, CustomerUID: customerUID, Gateway: billing.GatewayPortOneV2,
		Status: billing.StatusAwaitingRegistration, Plan: basicPlan})
}

// issueKey issues a NaverPay V2 key at the emulator under issueID, as the V2 window does.
func (e *v2Env) issueKey(issueID string) string {
	e.t.Helper()
	k, err := e.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: issueID, IssueName: basicPlan.Name})
	require.NoError(e.t, err)
	return k.BillingKey
}

// chargeV2 charges key under paymentID through the V2 gateway; decline makes NaverPay decline.
func (e *v2Env) chargeV2(key, paymentID string, decline bool) gateway.Payment {
	e.t.Helper()
	if decline {
		e.emu.AddFault(portonetest.Fault{CustomerUID: key, Op: portonetest.OpV2Pay, Action: portonetest.FaultDecline, Reason: "잔액부족", Times: 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := e.gw.Charge(ctx, gateway.ChargeRequest{Key: key, PaymentID: paymentID, Amount: 9900, Name: basicPlan.Name})
	require.NoError(e.t, err)
	want := gateway.StatusPaid
	if decline {
		want = gateway.StatusFailed
	}
	require.Equal(e.t, want, p.Status)
	return p
}

// v2Body is a 2024-04-25 webhook body.
func v2Body(typ string, data map[string]string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "timestamp": "2026-12-07T00:00:00.000Z", "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

// v2Delivery is one signed delivery.
type v2Delivery struct {
	id      string
	at      time.Time
	body    []byte
	secrets []string // signing secrets; none: unsigned
}

// send posts d to the edge's V2 webhook route.
func (e *v2Env) send(d v2Delivery) (int, edge.WebhookAnswer) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+edge.V2WebhookRoute, strings.NewReader(string(d.body)))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if len(d.secrets) > 0 {
		signer, err := webhooks.ParseSecrets(strings.Join(d.secrets, " "))
		require.NoError(e.t, err)
		h, err := signer.Headers(d.id, d.at, d.body)
		require.NoError(e.t, err)
		for k, v := range h {
			req.Header[k] = v
		}
	}
	res, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	var a edge.WebhookAnswer
	require.NoError(e.t, json.NewDecoder(res.Body).Decode(&a))
	return res.StatusCode, a
}

// signed is a delivery of body signed now with the current secret.
func (e *v2Env) signed(id string, body []byte) v2Delivery {
	return v2Delivery{id: id, at: e.clock.Now(), body: body, secrets: []string{v2SecretCurrent}}
}

func TestV2WebhookVerifiesAndRefetchesBeforeRelaying(t *testing.T) {
	type setup struct {
		d    v2Delivery
		want any // the signal a correct edge relays; nil: none
	}
	tests := []struct {
		name        string
		setup       func(e *v2Env) setup
		wantStatus  int
		wantResult  string
		wantVerdict string
		wantWarn    string
	}{
		{
			name: "Transaction.Paid signed with the current secret",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				return setup{e.signed("msg_1", v2Body("Transaction.Paid", map[string]string{"storeId": portonetest.DefaultStoreID, "paymentId": p.PaymentID, "transactionId": p.TxID})),
					billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "signed with the next secret only (rotation)",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_2", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID, "transactionId": p.TxID}))
				d.secrets = []string{v2SecretNext}
				return setup{d, billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "signed with a foreign secret and a configured one: one entry matches",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_3", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))
				d.secrets = []string{v2SecretForeign, v2SecretNext}
				return setup{d, billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "wrong signature: a secret the edge does not hold",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_4", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))
				d.secrets = []string{v2SecretForeign}
				return setup{d: d}
			},
			wantStatus: http.StatusUnauthorized, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictBadSignature,
			wantWarn: "not verified",
		},
		{
			name: "unsigned",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				return setup{d: v2Delivery{body: v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID})}}
			},
			wantStatus: http.StatusUnauthorized, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictBadSignature,
		},
		{
			name: "stale: signed six minutes ago",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_5", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))
				d.at = d.at.Add(-6 * time.Minute)
				return setup{d: d}
			},
			wantStatus: http.StatusUnauthorized, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictStale,
		},
		{
			name: "future: signed six minutes ahead",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_6", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))
				d.at = d.at.Add(6 * time.Minute)
				return setup{d: d}
			},
			wantStatus: http.StatusUnauthorized, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictStale,
		},
		{
			name: "four minutes late is within the tolerance",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				d := e.signed("msg_7", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))
				d.at = d.at.Add(-4 * time.Minute)
				return setup{d, billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "oversized body",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				body := v2Body("Transaction.Paid", map[string]string{"paymentId": chargeUID("sub1", 1, 1), "pad": strings.Repeat("x", edge.MaxBodyBytes)})
				return setup{d: e.signed("msg_8", body)}
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictRejected,
		},
		{
			name: "unknown type: ignored and counted apart",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				return setup{d: e.signed("msg_9", v2Body("Transaction.Teleported", map[string]string{"paymentId": chargeUID("sub1", 1, 1)}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictUnknownType,
		},
		{
			name: "known type nothing acts on",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				return setup{d: e.signed("msg_10", v2Body("BillingKey.Deleted", map[string]string{"billingKey": e.issueKey("cust-1")}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictUnusedType,
		},
		{
			name: "malformed JSON, correctly signed",
			setup: func(e *v2Env) setup {
				return setup{d: e.signed("msg_11", []byte(`{"type":"Transaction.Paid","data":`))}
			},
			wantStatus: http.StatusBadRequest, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictRejected,
		},
		{
			name: "data that is not strings",
			setup: func(e *v2Env) setup {
				return setup{d: e.signed("msg_12", []byte(`{"type":"Transaction.Paid","data":{"paymentId":42}}`))}
			},
			wantStatus: http.StatusBadRequest, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictRejected,
		},
		{
			name: "Transaction type without paymentId",
			setup: func(e *v2Env) setup {
				return setup{d: e.signed("msg_13", v2Body("Transaction.Paid", map[string]string{"transactionId": "tx"}))}
			},
			wantStatus: http.StatusBadRequest, wantResult: edge.ResultRejected, wantVerdict: edge.VerdictRejected,
		},
		{
			name: "the re-fetch disagrees: claimed paid, PortOne says failed, failed is relayed",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), true)
				return setup{e.signed("msg_14", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID, "transactionId": p.TxID})),
					billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: p.PaymentID, Status: "failed", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
			wantWarn: "claim differs",
		},
		{
			name: "a cycle's paymentId, shared by its attempts: relayed to its subscription",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				key := e.issueKey("cust-1")
				pid := billing.CyclePaymentID{SubscriptionID: "sub1", Tag: "k3xq", Cycle: 2}.String()
				e.chargeV2(key, pid, true)
				p := e.chargeV2(key, pid, false)
				return setup{e.signed("msg_15b", v2Body("Transaction.Paid", map[string]string{"paymentId": pid, "transactionId": p.TxID})),
					billing.PaymentNotification{ImpUID: p.TxID, MerchantUID: pid, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "the re-fetch disagrees: the claimed transaction is not the current attempt",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				key := e.issueKey("cust-1")
				failed := e.chargeV2(key, chargeUID("sub1", 1, 1), true)
				paid := e.chargeV2(key, chargeUID("sub1", 1, 1), false)
				require.NotEqual(t, failed.TxID, paid.TxID)
				return setup{e.signed("msg_15", v2Body("Transaction.Failed", map[string]string{"paymentId": failed.PaymentID, "transactionId": failed.TxID})),
					billing.PaymentNotification{ImpUID: paid.TxID, MerchantUID: paid.PaymentID, Status: "paid", Amount: 9900}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
			wantWarn: "claim differs",
		},
		{
			name: "paymentId PortOne does not hold",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				return setup{d: e.signed("msg_16", v2Body("Transaction.Paid", map[string]string{"paymentId": chargeUID("sub1", 7, 1)}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictUnknownPayment,
			wantWarn: "PortOne holds no payment",
		},
		{
			name: "paymentId not issued by this project",
			setup: func(e *v2Env) setup {
				return setup{d: e.signed("msg_17", v2Body("Transaction.Paid", map[string]string{"paymentId": "order-20261207-0001"}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictForeign,
		},
		{
			name: "another store",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				return setup{d: e.signed("msg_18", v2Body("Transaction.Paid", map[string]string{"storeId": "store-11111111-1111-1111-1111-111111111111", "paymentId": p.PaymentID}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictForeign,
		},
		{
			name: "PortOne V2 down: retry",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				e.emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Lookup, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 503})
				return setup{d: e.signed("msg_19", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))}
			},
			wantStatus: http.StatusServiceUnavailable, wantResult: edge.ResultRetry, wantVerdict: edge.VerdictPortOneDown,
		},
		{
			name: "Temporal failing: retry",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
				e.wf.set(func(f *fakeWorkflows) { f.signalErr = serviceerror.NewUnavailable("frontend unavailable") })
				return setup{d: e.signed("msg_20", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))}
			},
			wantStatus: http.StatusServiceUnavailable, wantResult: edge.ResultRetry, wantVerdict: edge.VerdictTemporalFailure,
		},
		{
			name: "no open workflow for the paymentId's subscription",
			setup: func(e *v2Env) setup {
				p := e.chargeV2(e.issueKey("cust-gone"), chargeUID("gone", 1, 1), false)
				return setup{d: e.signed("msg_21", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictNoSubscription,
		},
		{
			name: "BillingKey.Issued: registered with the key, to the V2 subscription of its issueId",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				e.subscription("v1sub", "cust-1") // a V1 subscription sharing the customer_uid is left alone
				key := e.issueKey("cust-1")
				return setup{e.signed("msg_22", v2Body("BillingKey.Issued", map[string]string{"storeId": portonetest.DefaultStoreID, "billingKey": key})),
					billing.RegisteredSignal{BillingKey: key}}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted, wantVerdict: edge.VerdictAccepted,
		},
		{
			name: "BillingKey.Issued for a key PortOne does not hold",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				return setup{d: e.signed("msg_23", v2Body("BillingKey.Issued", map[string]string{"billingKey": "billing-key-00000000-0000-0000-0000-000000000099"}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictUnknownKey,
			wantWarn: "no issued billing key",
		},
		{
			name: "BillingKey.Issued for a deleted key",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				key := e.issueKey("cust-1")
				require.NoError(t, e.emu.DeleteBillingKeyV2(key))
				return setup{d: e.signed("msg_24", v2Body("BillingKey.Issued", map[string]string{"billingKey": key}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictUnknownKey,
		},
		{
			name: "BillingKey.Issued under an issueId no V2 subscription awaits",
			setup: func(e *v2Env) setup {
				e.subscription("v1sub", "cust-1")
				return setup{d: e.signed("msg_25", v2Body("BillingKey.Issued", map[string]string{"billingKey": e.issueKey("cust-1")}))}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored, wantVerdict: edge.VerdictNoSubscription,
		},
		{
			name: "BillingKey.Issued while visibility fails: retry",
			setup: func(e *v2Env) setup {
				e.v2Subscription("sub1", "cust-1")
				key := e.issueKey("cust-1")
				e.wf.set(func(f *fakeWorkflows) { f.listErr = serviceerror.NewUnavailable("visibility unavailable") })
				return setup{d: e.signed("msg_26", v2Body("BillingKey.Issued", map[string]string{"billingKey": key}))}
			},
			wantStatus: http.StatusServiceUnavailable, wantResult: edge.ResultRetry, wantVerdict: edge.VerdictTemporalFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newV2Env(t, portonetest.Options{})
			s := tt.setup(e)
			status, answer := e.send(s.d)
			require.Equal(t, tt.wantStatus, status, answer)
			require.Equal(t, tt.wantResult, answer.Result, answer.Reason)
			require.Equal(t, []string{tt.wantVerdict}, e.reported())

			sent := e.wf.sent()
			if s.want == nil {
				require.Empty(t, sent)
			} else {
				require.Len(t, sent, 1)
				require.Equal(t, billing.WorkflowID("sub1"), sent[0].WorkflowID)
				require.Equal(t, s.want, sent[0].Arg)
				switch s.want.(type) {
				case billing.PaymentNotification:
					require.Equal(t, billing.SignalPaymentNotification, sent[0].Name)
				case billing.RegisteredSignal:
					require.Equal(t, billing.SignalRegistered, sent[0].Name)
				}
			}
			if tt.wantWarn != "" {
				require.Contains(t, strings.Join(e.warnings(), "\n"), tt.wantWarn)
			}
		})
	}
}

func TestV2WebhookDuplicatesByWebhookID(t *testing.T) {
	e := newV2Env(t, portonetest.Options{})
	e.v2Subscription("sub1", "cust-1")
	p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
	body := v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID, "transactionId": p.TxID})

	first := e.signed("msg_dup", body)
	// PortOne's redelivery keeps the webhook-id and signs afresh a minute later.
	again := first
	again.at = first.at.Add(time.Minute)
	e.clock.Set(again.at)
	for i, d := range []v2Delivery{first, again, first} {
		status, answer := e.send(d)
		require.Equal(t, http.StatusOK, status, "delivery %d: %v", i, answer)
		require.Equal(t, edge.ResultAccepted, answer.Result, "delivery %d", i)
		if i > 0 {
			require.Contains(t, answer.Reason, "duplicate")
		}
	}
	require.Len(t, e.wf.sent(), 1)
	require.Equal(t, []string{edge.VerdictAccepted, edge.VerdictDuplicate, edge.VerdictDuplicate}, e.reported())

	// A new webhook-id about the same fact is re-fetched, and not relayed twice.
	status, answer := e.send(e.signed("msg_other", body))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, answer.Reason, "already relayed")
	require.Len(t, e.wf.sent(), 1)

	// Past the tolerance the replay is refused by its timestamp: changes nothing.
	e.clock.Set(first.at.Add(edge.V2WebhookTolerance + time.Second))
	status, _ = e.send(first)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Len(t, e.wf.sent(), 1)
}

func TestV2WebhookMalformedRedeliveryGetsTheSameAnswer(t *testing.T) {
	e := newV2Env(t, portonetest.Options{})
	d := e.signed("msg_bad", []byte(`{"data":{}}`))
	for i := range 2 {
		status, answer := e.send(d)
		require.Equal(t, http.StatusBadRequest, status, "delivery %d: %v", i, answer)
		require.Equal(t, "type is required", answer.Reason)
	}
	require.Equal(t, []string{edge.VerdictRejected, edge.VerdictRejected}, e.reported())
}

func TestV2WebhookRetriedAfterPortOneRecovers(t *testing.T) {
	e := newV2Env(t, portonetest.Options{})
	e.v2Subscription("sub1", "cust-1")
	p := e.chargeV2(e.issueKey("cust-1"), chargeUID("sub1", 1, 1), false)
	d := e.signed("msg_retry", v2Body("Transaction.Paid", map[string]string{"paymentId": p.PaymentID}))

	fault := e.emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Lookup, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 500})
	status, answer := e.send(d)
	require.Equal(t, http.StatusServiceUnavailable, status, answer)
	require.Empty(t, e.wf.sent())

	require.True(t, e.emu.RemoveFault(fault))
	status, answer = e.send(d)
	require.Equal(t, http.StatusOK, status, answer)
	require.Equal(t, edge.ResultAccepted, answer.Result)
	require.NotContains(t, answer.Reason, "duplicate", "a delivery answered 503 is handled afresh")
	require.Len(t, e.wf.sent(), 1)
}

// TestV2WebhookKnownAnswer checks the verification against the Standard Webhooks reference
// vector (the specification's libraries all test it): secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,
// id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, body {"test": 2432232314}, signature
// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=. The body verifies and is then refused as no
// 2024-04-25 webhook (400), while one changed bit of the signature is refused as unsigned (401).
func TestV2WebhookKnownAnswer(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		body   = `{"test": 2432232314}`
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	tests := []struct {
		name       string
		sig        string
		wantStatus int
	}{
		{"reference signature", sig, http.StatusBadRequest},
		{"reference signature among others", "v1,bm90IGEgc2lnbmF0dXJl " + sig, http.StatusBadRequest},
		{"one character changed", strings.Replace(sig, "g0hM", "g0hN", 1), http.StatusUnauthorized},
		{"another version", strings.Replace(sig, "v1,", "v2,", 1), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh edge each time: the vector's webhook-id would be a duplicate otherwise.
			keys, err := edge.ParseV2WebhookSecrets([]string{secret})
			require.NoError(t, err)
			e := newEnvDeps(t, nil, unusedV1{}, func(c *edge.Config) {
				c.V2 = &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}
			}, func(d *edge.Deps) { d.PortOneV2 = unusedV2{t} })
			e.clock.Set(time.Unix(1614265330, 0).Add(30 * time.Second))
			req, err := http.NewRequest(http.MethodPost, e.url+edge.V2WebhookRoute, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", tt.sig)
			res, err := e.http.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			var a edge.WebhookAnswer
			require.NoError(t, json.NewDecoder(res.Body).Decode(&a))
			require.Equal(t, tt.wantStatus, res.StatusCode, a)
			if tt.wantStatus == http.StatusBadRequest {
				require.Equal(t, "type is required", a.Reason, "verified, then refused as no 2024-04-25 body")
			}
			require.Empty(t, e.wf.sent())
		})
	}
}

// unusedV2 fails the test when the edge calls PortOne V2.
type unusedV2 struct{ t *testing.T }

func (u unusedV2) Payments(context.Context, string) ([]gateway.Payment, error) {
	u.t.Error("PortOne V2 was called")
	return nil, fmt.Errorf("unused")
}

func (u unusedV2) BillingKey(context.Context, string) (gateway.BillingKey, error) {
	u.t.Error("PortOne V2 was called")
	return gateway.BillingKey{}, fmt.Errorf("unused")
}

func TestV2WebhookRouteOffWithoutV2(t *testing.T) {
	e := newEnv(t, nil)
	status, body, _ := e.do(http.MethodPost, edge.V2WebhookRoute, "application/json", strings.NewReader(`{}`))
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, body, "PortOne V2 is not configured")
	require.Contains(t, body, "PORTONE_V2_WEBHOOK_SECRETS")
}

func TestV2ConfigRefusedByName(t *testing.T) {
	keys, err := edge.ParseV2WebhookSecrets([]string{v2SecretCurrent})
	require.NoError(t, err)
	good := func() *edge.V2Config {
		return &edge.V2Config{WebhookKeys: keys, StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey}
	}
	tests := []struct {
		name   string
		change func(v *edge.V2Config)
		noDeps bool
		want   string
	}{
		{"no webhook secrets", func(v *edge.V2Config) { v.WebhookKeys = nil }, false, "PORTONE_V2_WEBHOOK_SECRETS"},
		{"no store ID", func(v *edge.V2Config) { v.StoreID = "" }, false, "PORTONE_V2_STORE_ID"},
		{"no channel key", func(v *edge.V2Config) { v.ChannelKey = " " }, false, "PORTONE_V2_CHANNEL_KEY"},
		{"SDK URL not absolute", func(v *edge.V2Config) { v.SDKScriptURL = "/sdk.js" }, false, "V2 SDK script URL"},
		{"no V2 gateway", func(*edge.V2Config) {}, true, "Deps.PortOneV2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.change(v)
			deps := edge.Deps{Workflows: newFakeWorkflows(), PortOne: unusedV1{}, PortOneV2: unusedV2{t}}
			if tt.noDeps {
				deps.PortOneV2 = nil
			}
			_, err := edge.New(edge.Config{PublicURL: "http://127.0.0.1:1", IMPCode: "imp12345678", V2: v}, deps)
			require.ErrorContains(t, err, tt.want)
		})
	}

	for _, bad := range [][]string{nil, {"whsec_" + base64.StdEncoding.EncodeToString([]byte("short"))}, {"sec_abc"}, {"whsec_!!!"},
		{v2SecretCurrent, v2SecretNext, v2SecretForeign}} {
		_, err := edge.ParseV2WebhookSecrets(bad)
		require.Error(t, err, "%d secrets", len(bad))
		for _, s := range bad {
			if len(s) > 8 {
				require.NotContains(t, err.Error(), s[6:], "a secret must never be echoed")
			}
		}
	}
	require.Equal(t, "1 V2 webhook secret(s)", fmt.Sprintf("%v", keys))
	require.NotContains(t, fmt.Sprintf("%#v %+v", edge.V2Config{WebhookKeys: keys}, edge.V2Config{WebhookKeys: keys}), v2SecretCurrent[6:])
}

// unusedV1 is a V1 lookup the V2 tests never reach.
type unusedV1 struct{}

func (unusedV1) GetPayment(context.Context, string) (*portone.Payment, error) {
	return nil, fmt.Errorf("unused")
}

func TestV2WebhookFromTheEmulator(t *testing.T) {
	// The emulator signs and delivers BillingKey.Issued (2024-04-25, Standard Webhooks with both
	// secrets of a rotation) when NaverPay's V2 window issues a key; the edge verifies it,
	// re-fetches the key and wakes the subscription.
	e := newV2Env(t, portonetest.Options{V2: portonetest.V2Options{WebhookSecrets: []string{v2SecretNext, v2SecretForeign}}})
	e.v2Subscription("sub1", "cust-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := e.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: basicPlan.Name,
		NoticeURLs: []string{e.url + edge.V2WebhookRoute}})
	require.NoError(t, err)
	deliveries, err := e.emu.WaitWebhooks(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, deliveries[0].StatusCode, deliveries[0].Err)
	require.Equal(t, []sentSignal{{
		WorkflowID: billing.WorkflowID("sub1"),
		Name:       billing.SignalRegistered,
		Arg:        billing.RegisteredSignal{BillingKey: k.BillingKey},
	}}, e.wf.sent())
	require.Equal(t, []string{edge.VerdictAccepted}, e.reported())
}

func TestV2TransactionWebhooksFromTheEmulator(t *testing.T) {
	// The emulator's console webhook URL points at the edge (through a forwarder, as the edge's
	// URL is known only once it runs). A key is issued, a charge is declined and then paid under
	// one paymentId: PortOne sends BillingKey.Issued, Transaction.Failed and Transaction.Paid,
	// each signed; every one is verified, re-fetched and answered 200, and the subscription
	// hears of the key and of the paid payment.
	var edgeURL atomic.Value
	forward := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := url.Parse(edgeURL.Load().(string))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(forward.Close)
	e := newV2Env(t, portonetest.Options{V2: portonetest.V2Options{WebhookURL: forward.URL + edge.V2WebhookRoute,
		WebhookSecrets: []string{v2SecretCurrent}}})
	edgeURL.Store(e.url)
	e.v2Subscription("sub1", "cust-1")

	key := e.issueKey("cust-1")
	failed := e.chargeV2(key, chargeUID("sub1", 1, 1), true)
	paid := e.chargeV2(key, chargeUID("sub1", 1, 1), false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deliveries, err := e.emu.WaitWebhooks(ctx, 3)
	require.NoError(t, err)
	for _, d := range deliveries {
		require.Equal(t, http.StatusOK, d.StatusCode, "%s %s", d.Err, d.Body)
	}
	var registered, paidSeen int
	for _, s := range e.wf.sent() {
		require.Equal(t, billing.WorkflowID("sub1"), s.WorkflowID)
		switch arg := s.Arg.(type) {
		case billing.RegisteredSignal:
			require.Equal(t, billing.RegisteredSignal{BillingKey: key}, arg)
			registered++
		case billing.PaymentNotification:
			// Whatever order the deliveries arrive in, only PortOne's state is relayed: the
			// failed attempt while it was current, the paid one after.
			require.Contains(t, []billing.PaymentNotification{
				{ImpUID: failed.TxID, MerchantUID: failed.PaymentID, Status: "failed", Amount: 9900},
				{ImpUID: paid.TxID, MerchantUID: paid.PaymentID, Status: "paid", Amount: 9900},
			}, arg)
			if arg.Status == "paid" {
				paidSeen++
			}
		default:
			t.Fatalf("unexpected signal %+v", s)
		}
	}
	require.Equal(t, 1, registered)
	require.Equal(t, 1, paidSeen, "the paid payment is relayed once, however many deliveries name it")
}

func TestV2WebhookDuplicatedByPortOne(t *testing.T) {
	// PortOne (the emulator's webhook_duplicate fault) delivers BillingKey.Issued twice with one
	// webhook-id: the second is recognised by its webhook-id and changes nothing.
	e := newV2Env(t, portonetest.Options{V2: portonetest.V2Options{WebhookSecrets: []string{v2SecretCurrent}}})
	e.v2Subscription("sub1", "cust-1")
	e.emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Issue, Action: portonetest.FaultWebhookDuplicate})
	k, err := e.emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: "cust-1", IssueName: basicPlan.Name,
		NoticeURLs: []string{e.url + edge.V2WebhookRoute}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deliveries, err := e.emu.WaitWebhooks(ctx, 2)
	require.NoError(t, err)
	for _, d := range deliveries {
		require.Equal(t, http.StatusOK, d.StatusCode, "%s %s", d.Err, d.Body)
	}
	require.Equal(t, []sentSignal{{WorkflowID: billing.WorkflowID("sub1"), Name: billing.SignalRegistered,
		Arg: billing.RegisteredSignal{BillingKey: k.BillingKey}}}, e.wf.sent())
	require.ElementsMatch(t, []string{edge.VerdictAccepted, edge.VerdictDuplicate}, e.reported())
	require.Equal(t, 1, e.logs.FilterMessage("V2 webhook duplicate: this webhook-id was handled already").Len(),
		"recognised by its webhook-id, before any lookup")
}
