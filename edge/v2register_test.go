package edge_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/portone/portonetest"
)

var v2ConfigRE = regexp.MustCompile(`(?s)<script type="application/json" id="v2-config">(.*?)</script>`)

// v2PageConfig is the V2 registration page's JSON block as its script reads it.
type v2PageConfig struct {
	Ready       bool           `json:"ready"`
	CompleteURL string         `json:"complete_url"`
	Request     map[string]any `json:"request"`
}

func parseV2Config(t *testing.T, page string) v2PageConfig {
	t.Helper()
	m := v2ConfigRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no v2-config block in page:\n%s", page)
	var c v2PageConfig
	require.NoError(t, json.Unmarshal([]byte(m[1]), &c), m[1])
	return c
}

const testSDKURL = "http://127.0.0.1:7781/browser-sdk.js"

func TestV2RegisterPageCallsRequestIssueBillingKey(t *testing.T) {
	e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) { v.SDKScriptURL = testSDKURL })
	e.v2Subscription("sub1", "cust-1")
	link := e.registerLink("sub1")
	token := strings.TrimPrefix(link, "/register/")

	status, page, _ := e.get(link)
	require.Equal(t, http.StatusOK, status, page)
	cfg := parseV2Config(t, page)
	require.True(t, cfg.Ready)
	require.Equal(t, edge.V2CompleteRoute+"?link="+token, cfg.CompleteURL)
	require.Equal(t, map[string]any{
		"storeId":          portonetest.DefaultStoreID,
		"channelKey":       portonetest.DefaultV2ChannelKey,
		"billingKeyMethod": "EASY_PAY",
		"issueId":          "cust-1", // the workflow accepts only a key issued under its customer_uid
		"issueName":        basicPlan.Name,
		"redirectUrl":      e.url + edge.V2CompleteRoute + "?link=" + token,
		"windowType":       map[string]any{"pc": "POPUP", "mobile": "REDIRECTION"},
	}, cfg.Request)
	require.Contains(t, page, `<script src="`+testSDKURL+`"></script>`)
	require.Contains(t, page, "PortOne.requestIssueBillingKey(req)")
	require.NotContains(t, page, "IMP.request_pay", "a V2 subscription never opens V1's window")
	require.NotContains(t, page, `id="v2-off"`)
	require.NotRegexp(t, `id="register"[^>]* disabled`, page)
}

func TestV2RegisterPageOffWithoutSDKOrV2(t *testing.T) {
	t.Run("no browser SDK configured: shown switched off", func(t *testing.T) {
		e := newV2Env(t, portonetest.Options{})
		e.v2Subscription("sub1", "cust-1")
		status, page, _ := e.get(e.registerLink("sub1"))
		require.Equal(t, http.StatusOK, status, page)
		require.False(t, parseV2Config(t, page).Ready)
		require.Contains(t, page, `id="v2-off"`)
		require.Contains(t, page, "V2 registration is switched off")
		require.Contains(t, page, "emulator's SDK stand-in")
		require.Regexp(t, `id="register"[^>]* disabled`, page)
		require.NotContains(t, page, "<script src=")
	})
	t.Run("edge without V2", func(t *testing.T) {
		e := newEnv(t, nil)
		e.wf.setState(billing.State{SubscriptionID: "sub1", CustomerUID: "cust-1", Gateway: billing.GatewayPortOneV2,
			Status: billing.StatusAwaitingRegistration, Plan: basicPlan})
		status, page, _ := e.get(e.registerLink("sub1"))
		require.Equal(t, http.StatusServiceUnavailable, status, page)
		require.Contains(t, page, "PortOne V2")
		require.NotContains(t, page, "IMP.request_pay")
	})
	t.Run("V1 subscription on an edge with V2", func(t *testing.T) {
		e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) { v.SDKScriptURL = testSDKURL })
		e.subscription("sub1", "cust-1")
		status, page, _ := e.get(e.registerLink("sub1"))
		require.Equal(t, http.StatusOK, status, page)
		require.Equal(t, "cust-1", parseIMPConfig(t, page).Params["customer_uid"])
		require.NotContains(t, page, "requestIssueBillingKey")
	})
}

func TestV2RegistrationCompletion(t *testing.T) {
	type claim struct {
		billingKey, code, message string
	}
	tests := []struct {
		name string
		// setup prepares PortOne and Temporal and returns what the browser reports, and the
		// signal a correct edge sends (nil: none).
		setup       func(e *v2Env) (claim, any)
		badLink     bool
		wantOutcome string
	}{
		{
			name: "key issued under the subscription's customer_uid",
			setup: func(e *v2Env) (claim, any) {
				key := e.issueKey("cust-1")
				return claim{billingKey: key}, billing.RegisteredSignal{BillingKey: key}
			},
			wantOutcome: edge.OutcomeRegistered,
		},
		{
			name: "key issued for another registration (another issueId)",
			setup: func(e *v2Env) (claim, any) {
				return claim{billingKey: e.issueKey("cust-other")}, nil
			},
			wantOutcome: edge.OutcomeFailed,
		},
		{
			name: "a key PortOne does not hold",
			setup: func(*v2Env) (claim, any) {
				return claim{billingKey: "billing-key-00000000-0000-0000-0000-000000000099"}, nil
			},
			wantOutcome: edge.OutcomeFailed,
		},
		{
			name: "NaverPay's window failed: the message is recorded",
			setup: func(*v2Env) (claim, any) {
				return claim{code: "FAILURE_TYPE_PG", message: "사용자가 결제를 취소하였습니다"},
					billing.RegistrationFailedSignal{Error: "사용자가 결제를 취소하였습니다"}
			},
			wantOutcome: edge.OutcomeFailed,
		},
		{
			name: "PortOne V2 down: pending, nothing signalled",
			setup: func(e *v2Env) (claim, any) {
				key := e.issueKey("cust-1")
				e.emu.AddFault(portonetest.Fault{Op: portonetest.OpV2Lookup, Action: portonetest.FaultErrorBeforeCommit, HTTPStatus: 503})
				return claim{billingKey: key}, nil
			},
			wantOutcome: edge.OutcomePending,
		},
		{
			name: "Temporal down: pending",
			setup: func(e *v2Env) (claim, any) {
				key := e.issueKey("cust-1")
				e.wf.set(func(f *fakeWorkflows) { f.signalErr = serviceerror.NewUnavailable("frontend unavailable") })
				return claim{billingKey: key}, nil
			},
			wantOutcome: edge.OutcomePending,
		},
		{
			name:    "a key without a valid registration link: pending, the webhook will bring it",
			badLink: true,
			setup: func(e *v2Env) (claim, any) {
				return claim{billingKey: e.issueKey("cust-1")}, nil
			},
			wantOutcome: edge.OutcomePending,
		},
	}
	for _, tt := range tests {
		for _, mode := range []string{"redirect", "popup"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) { v.SDKScriptURL = testSDKURL })
				e.v2Subscription("sub1", "cust-1")
				c, want := tt.setup(e)
				token := strings.TrimPrefix(e.registerLink("sub1"), "/register/")
				if tt.badLink {
					token = token[:len(token)-2] + "xx"
				}
				var location string
				if mode == "redirect" {
					q := url.Values{"link": {token}}
					for k, v := range map[string]string{"billingKey": c.billingKey, "code": c.code, "message": c.message} {
						if v != "" {
							q.Set(k, v)
						}
					}
					status, body, res := e.get(edge.V2CompleteRoute + "?" + q.Encode())
					require.Equal(t, http.StatusSeeOther, status, body)
					location = res.Header.Get("Location")
				} else {
					status, body, _ := e.postJSON(edge.V2CompleteRoute+"?link="+url.QueryEscape(token),
						map[string]string{"transactionType": "ISSUE_BILLING_KEY", "billingKey": c.billingKey, "code": c.code, "message": c.message})
					require.Equal(t, http.StatusOK, status, body)
					var a edge.CompletionAnswer
					require.NoError(t, json.Unmarshal([]byte(body), &a))
					location = a.Redirect
				}
				outcome, page := e.followResult(location)
				require.Equal(t, tt.wantOutcome, outcome, page)
				sent := e.wf.sent()
				if want == nil {
					require.Empty(t, sent)
					return
				}
				require.Len(t, sent, 1)
				require.Equal(t, billing.WorkflowID("sub1"), sent[0].WorkflowID)
				require.Equal(t, want, sent[0].Arg)
				if c.message != "" {
					require.Contains(t, page, c.message, "NaverPay's message is shown verbatim")
				}
			})
		}
	}
}

func TestV2RegistrationBrowserAndWebhookMakeOneSignal(t *testing.T) {
	e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) { v.SDKScriptURL = testSDKURL })
	e.v2Subscription("sub1", "cust-1")
	key := e.issueKey("cust-1")
	token := strings.TrimPrefix(e.registerLink("sub1"), "/register/")

	status, _, _ := e.get(edge.V2CompleteRoute + "?" + url.Values{"link": {token}, "billingKey": {key}}.Encode())
	require.Equal(t, http.StatusSeeOther, status)
	code, answer := e.send(e.signed("msg_issued", v2Body("BillingKey.Issued", map[string]string{"billingKey": key})))
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, answer.Reason, "already relayed")
	require.Len(t, e.wf.sent(), 1)
}

func TestV2RegistrationPopupRejectsMalformedBodies(t *testing.T) {
	e := newV2Env(t, portonetest.Options{})
	e.v2Subscription("sub1", "cust-1")
	token := strings.TrimPrefix(e.registerLink("sub1"), "/register/")
	for _, tt := range []struct{ contentType, body string }{
		{"text/plain", `{"billingKey":"x"}`},
		{"application/json", `{"billingKey":`},
		{"application/json", `["billingKey"]`},
		{"application/json", `{"billingKey":42}`},
	} {
		status, body, _ := e.do(http.MethodPost, edge.V2CompleteRoute+"?link="+token, tt.contentType, strings.NewReader(tt.body))
		require.Equal(t, http.StatusBadRequest, status, "%s %s: %s", tt.contentType, tt.body, body)
	}
	require.Empty(t, e.wf.sent())
}

func TestDemoStartOffersV2OnlyWhenConfigured(t *testing.T) {
	form := func(gw string) url.Values {
		v := url.Values{"plan": {"basic-monthly"}, "subscription_id": {"demo-v2"}, "customer_uid": {"cust-v2"}}
		if gw != "" {
			v.Set("gateway", gw)
		}
		return v
	}
	t.Run("edge without V2: no choice, and V2 refused", func(t *testing.T) {
		e := newEnv(t, func(c *edge.Config) { c.Demo = true })
		_, page, _ := e.get("/register/new")
		require.NotContains(t, page, `name="gateway"`)
		status, page, _ := e.postForm("/register/start", form("portone_v2"))
		require.Equal(t, http.StatusBadRequest, status, page)
		require.Contains(t, page, "PortOne V2 is not configured")
		require.Empty(t, e.wf.started())
	})
	t.Run("edge with V2", func(t *testing.T) {
		tests := []struct {
			gw         string
			wantStatus int
			want       billing.GatewayName
		}{
			{"", http.StatusSeeOther, ""},
			{"portone_v1", http.StatusSeeOther, billing.GatewayPortOneV1},
			{"portone_v2", http.StatusSeeOther, billing.GatewayPortOneV2},
			{"portone_v3", http.StatusBadRequest, ""},
		}
		for _, tt := range tests {
			e := newV2EnvWith(t, portonetest.Options{}, func(v *edge.V2Config) { v.SDKScriptURL = testSDKURL })
			_, page, _ := e.get("/register/new")
			require.Contains(t, page, `id="gateway-v2"`)
			status, body, res := e.postForm("/register/start", form(tt.gw))
			require.Equal(t, tt.wantStatus, status, "%q: %s", tt.gw, body)
			if tt.wantStatus != http.StatusSeeOther {
				require.Contains(t, body, "gateway")
				require.Empty(t, e.wf.started())
				continue
			}
			starts := e.wf.started()
			require.Len(t, starts, 1)
			in := starts[0].Args[0].(billing.SubscriptionInput)
			require.Equal(t, tt.want, in.Gateway)
			// The registration link opens the page of the chosen generation.
			_, page, _ = e.get(res.Header.Get("Location"))
			if tt.want.IsV2() {
				require.Equal(t, "cust-v2", parseV2Config(t, page).Request["issueId"])
			} else {
				require.Equal(t, "cust-v2", parseIMPConfig(t, page).Params["customer_uid"])
			}
		}
	})
}
