package edge_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// webhookBody is what a webhook claims.
type webhookBody struct {
	ImpUID      string `json:"imp_uid"`
	MerchantUID string `json:"merchant_uid"`
	Status      string `json:"status"`
}

func (b webhookBody) form() url.Values {
	return url.Values{"imp_uid": {b.ImpUID}, "merchant_uid": {b.MerchantUID}, "status": {b.Status}}
}

func (e *testEnv) webhook(b webhookBody, form bool) (int, edge.WebhookAnswer) {
	e.t.Helper()
	var status int
	var body string
	if form {
		status, body, _ = e.postForm("/portone/webhook", b.form())
	} else {
		status, body, _ = e.postJSON("/portone/webhook", b)
	}
	return status, webhookAnswer(e.t, body)
}

func TestWebhookVerifiesBeforeRelaying(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares PortOne and Temporal and returns the webhook body to send and the
		// notification a correct edge relays (nil: nothing).
		setup      func(e *testEnv) (webhookBody, any)
		form       bool
		wantStatus int
		wantResult string
		wantWarn   string
	}{
		{
			name: "genuine paid notification, JSON",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"},
					billing.PaymentNotification{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Status: "paid", Amount: 9900}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted,
		},
		{
			name: "genuine paid notification, form",
			form: true,
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 2, 1), false)
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"},
					billing.PaymentNotification{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Status: "paid", Amount: 9900}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted,
		},
		{
			name: "forged: claims paid for a declined payment, PortOne's failed is relayed",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 1, 1), true)
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"},
					billing.PaymentNotification{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Status: "failed", Amount: 9900}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted,
			wantWarn: "claimed status differs",
		},
		{
			name: "imp_uid unknown to PortOne",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				return webhookBody{"imp_000000000001", chargeUID("sub1", 1, 1), "paid"}, nil
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored,
			wantWarn: "does not know the imp_uid",
		},
		{
			name: "merchant_uid does not match PortOne's record",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.subscription("sub2", "cust-2")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
				return webhookBody{p.ImpUID, chargeUID("sub2", 1, 1), "paid"}, nil
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored,
			wantWarn: "does not match",
		},
		{
			name: "foreign merchant_uid (another system on the same PortOne account)",
			setup: func(e *testEnv) (webhookBody, any) {
				e.register("shop", "n0000001", "cust-shop")
				p := e.charge("cust-shop", "order_20260101_0001", false)
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"}, nil
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored,
		},
		{
			name: "unknown subscription: no workflow",
			setup: func(e *testEnv) (webhookBody, any) {
				e.register("gone", "n0000001", "cust-gone")
				p := e.charge("cust-gone", chargeUID("gone", 1, 1), false)
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"}, nil
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultIgnored,
			wantWarn: "no open workflow",
		},
		{
			name: "Temporal failing transiently",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
				e.wf.set(func(f *fakeWorkflows) { f.signalErr = serviceerror.NewUnavailable("frontend unavailable") })
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"}, nil
			},
			wantStatus: http.StatusServiceUnavailable, wantResult: edge.ResultRetry,
		},
		{
			name: "PortOne failing",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				e.register("sub1", "n0000001", "cust-1")
				p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
				e.emu.AddFault(portonetest.Fault{Op: portonetest.OpLookup, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 502})
				return webhookBody{p.ImpUID, p.MerchantUID, "paid"}, nil
			},
			wantStatus: http.StatusServiceUnavailable, wantResult: edge.ResultRetry,
		},
		{
			name: "registration record arriving as a webhook",
			setup: func(e *testEnv) (webhookBody, any) {
				e.subscription("sub1", "cust-1")
				reg := e.register("sub1", "n0000001", "cust-1")
				return webhookBody{reg.RegistrationImpUID, reg.RegistrationMerchantUID, "paid"},
					billing.RegisteredSignal{ImpUID: reg.RegistrationImpUID, MerchantUID: reg.RegistrationMerchantUID}
			},
			wantStatus: http.StatusOK, wantResult: edge.ResultAccepted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body, want := tt.setup(e)
			status, answer := e.webhook(body, tt.form)
			require.Equal(t, tt.wantStatus, status, answer)
			require.Equal(t, tt.wantResult, answer.Result)

			sent := e.wf.sent()
			if want == nil {
				require.Empty(t, sent)
			} else {
				require.Len(t, sent, 1)
				require.Equal(t, billing.WorkflowID("sub1"), sent[0].WorkflowID)
				require.Equal(t, want, sent[0].Arg)
				switch want.(type) {
				case billing.PaymentNotification:
					require.Equal(t, billing.SignalPaymentNotification, sent[0].Name)
				case billing.RegisteredSignal:
					require.Equal(t, billing.SignalRegistered, sent[0].Name)
				}
			}
			for _, s := range sent {
				if n, ok := s.Arg.(billing.PaymentNotification); ok && body.Status == "paid" && tt.wantWarn != "" {
					require.NotEqual(t, "paid", n.Status, "a forged status must never be relayed")
				}
			}
			if tt.wantWarn != "" {
				require.NotEmpty(t, e.warnings())
				require.Contains(t, strings.Join(e.warnings(), "\n"), tt.wantWarn)
			}
		})
	}
}

func TestWebhookRejectsMalformedBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
	}{
		{"JSON without imp_uid", "application/json", `{"merchant_uid":"sub1-k3xq-1-1","status":"paid"}`, http.StatusBadRequest},
		{"JSON without merchant_uid", "application/json", `{"imp_uid":"imp_1","status":"paid"}`, http.StatusBadRequest},
		{"JSON that is not an object of strings", "application/json", `{"imp_uid":123,"merchant_uid":"sub1-k3xq-1-1"}`, http.StatusBadRequest},
		{"broken JSON", "application/json; charset=utf-8", `{"imp_uid":`, http.StatusBadRequest},
		{"empty JSON", "application/json", ``, http.StatusBadRequest},
		{"form without merchant_uid", "application/x-www-form-urlencoded", `imp_uid=imp_1&status=paid`, http.StatusBadRequest},
		{"bad form encoding", "application/x-www-form-urlencoded", `imp_uid=%zz&merchant_uid=x`, http.StatusBadRequest},
		{"text/plain", "text/plain", `imp_uid=imp_1&merchant_uid=sub1-k3xq-1-1`, http.StatusBadRequest},
		{"no content type", "", `{"imp_uid":"imp_1","merchant_uid":"sub1-k3xq-1-1"}`, http.StatusBadRequest},
		{"absurdly long imp_uid", "application/json", `{"imp_uid":"` + strings.Repeat("9", 200) + `","merchant_uid":"sub1-k3xq-1-1"}`, http.StatusBadRequest},
		{"oversize body", "application/json", `{"imp_uid":"imp_1","merchant_uid":"sub1-k3xq-1-1","pad":"` + strings.Repeat("x", edge.MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
	}
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := e.do(http.MethodPost, "/portone/webhook", tt.contentType, strings.NewReader(tt.body))
			require.Equal(t, tt.wantStatus, status, body)
			require.Equal(t, edge.ResultRejected, webhookAnswer(t, body).Result)
		})
	}
	require.Empty(t, e.wf.sent())

	status, _, res := e.get("/portone/webhook")
	require.Equal(t, http.StatusMethodNotAllowed, status)
	require.Contains(t, res.Header.Get("Allow"), http.MethodPost)
}

func TestWebhookDuplicatesAreRelayedOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	e.register("sub1", "n0000001", "cust-1")
	p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
	body := webhookBody{p.ImpUID, p.MerchantUID, "paid"}

	for i, form := range []bool{false, false, true} {
		status, answer := e.webhook(body, form)
		require.Equal(t, http.StatusOK, status, "delivery %d", i)
		require.Equal(t, edge.ResultAccepted, answer.Result, "delivery %d", i)
		if i > 0 {
			require.Contains(t, answer.Reason, "duplicate")
		}
	}
	require.Len(t, e.wf.sent(), 1)
}

func TestWebhookOutOfOrderDeliveries(t *testing.T) {
	// One charge attempt declined, then paid under the same merchant_uid; PortOne delivers the
	// paid notification first and the failed one last. Each is relayed with its own verified
	// status; the workflow settles the attempt by its own lookup.
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	e.register("sub1", "n0000001", "cust-1")
	muid := chargeUID("sub1", 3, 1)
	failed := e.charge("cust-1", muid, true)
	paid := e.charge("cust-1", muid, false)
	require.NotEqual(t, failed.ImpUID, paid.ImpUID)

	for _, b := range []webhookBody{{paid.ImpUID, muid, "paid"}, {failed.ImpUID, muid, "failed"}, {paid.ImpUID, muid, "paid"}} {
		status, answer := e.webhook(b, false)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, edge.ResultAccepted, answer.Result)
	}
	sent := e.wf.sent()
	require.Len(t, sent, 2)
	require.Equal(t, billing.PaymentNotification{ImpUID: paid.ImpUID, MerchantUID: muid, Status: "paid", Amount: 9900}, sent[0].Arg)
	require.Equal(t, billing.PaymentNotification{ImpUID: failed.ImpUID, MerchantUID: muid, Status: "failed", Amount: 9900}, sent[1].Arg)
}

func TestWebhookRetriedAfterTransientFailureIsRelayed(t *testing.T) {
	e := newEnv(t, nil)
	e.subscription("sub1", "cust-1")
	e.register("sub1", "n0000001", "cust-1")
	p := e.charge("cust-1", chargeUID("sub1", 1, 1), false)
	body := webhookBody{p.ImpUID, p.MerchantUID, "paid"}

	e.wf.set(func(f *fakeWorkflows) { f.signalErr = serviceerror.NewUnavailable("frontend unavailable") })
	status, answer := e.webhook(body, false)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, edge.ResultRetry, answer.Result)

	e.wf.set(func(f *fakeWorkflows) { f.signalErr = nil })
	status, answer = e.webhook(body, false)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, edge.ResultAccepted, answer.Result)
	require.NotContains(t, answer.Reason, "duplicate")
	require.Len(t, e.wf.sent(), 1)
}

func TestWebhookPortOneUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadURL := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(deadURL), portone.WithTimeout(time.Second))
	require.NoError(t, err)
	e := newEnvWith(t, nil, pc, nil)
	e.subscription("sub1", "cust-1")

	status, answer := e.webhook(webhookBody{"imp_123456789012", chargeUID("sub1", 1, 1), "paid"}, false)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, edge.ResultRetry, answer.Result)
	require.Empty(t, e.wf.sent())
}

func TestWebhookFromTheEmulator(t *testing.T) {
	// The emulator delivers a real webhook after a charge, in both of PortOne's formats.
	for _, format := range []string{portonetest.WebhookJSON, portonetest.WebhookForm} {
		t.Run(format, func(t *testing.T) {
			emu, emuSrv := portonetest.NewServer(t, portonetest.Options{WebhookFormat: format})
			pc, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
				portone.WithBaseURL(emuSrv.URL), portone.WithTimeout(3*time.Second))
			require.NoError(t, err)
			e := newEnvWith(t, emu, pc, nil)
			e.subscription("sub1", "cust-1")
			e.register("sub1", "n0000001", "cust-1")

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := pc.Again(ctx, portone.AgainRequest{
				CustomerUID: "cust-1", MerchantUID: chargeUID("sub1", 1, 1), Amount: 9900, Name: basicPlan.Name,
				NoticeURL: e.url + "/portone/webhook",
			})
			require.NoError(t, err)
			deliveries, err := emu.WaitWebhooks(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, deliveries[0].StatusCode, deliveries[0].Err)
			require.Equal(t, []sentSignal{{
				WorkflowID: billing.WorkflowID("sub1"),
				Name:       billing.SignalPaymentNotification,
				Arg:        billing.PaymentNotification{ImpUID: p.ImpUID, MerchantUID: p.MerchantUID, Status: "paid", Amount: 9900},
			}}, e.wf.sent())
		})
	}
}
