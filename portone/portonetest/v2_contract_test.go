package portonetest

// V2 contract tests: every request the tests send and every answer the V2 emulator gives is
// validated against PortOne's own V2 OpenAPI document (OpenAPI 3.0.3) with kin-openapi, and
// beyond the document's schemas: no undeclared field anywhere, and an error's type is one the
// operation declares, under the HTTP status PortOne gives that type (x-portone-status-code).
// Departures are named below.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

// v2SpecPath is PortOne's V2 OpenAPI document in the shared research folder, next to the
// repository rather than in it.
const v2SpecPath = "../../../shared/portone/v2.openapi.json"

// v2SpecHost is the document's server; request URLs are rewritten to it to find routes.
const v2SpecHost = "https://api.portone.io"

// v2StatusDepartures: statuses the emulator answers that the document does not declare for
// the operation, and why.
var v2StatusDepartures = map[string]string{
	"POST /payments/{paymentId}/billing-key 500": "an injected error_before_commit fault (PortOne's 5xx bodies are undocumented)",
	"GET /payments/{paymentId} 500":              "an injected error_before_commit fault on a lookup",
	"POST /payments/{paymentId}/billing-key 413": "a body over the emulator's 1 MiB bound",
}

// v2StatusesNotProduced: statuses the document declares for a served operation that no
// scenario produces, and why.
var v2StatusesNotProduced = map[string]string{
	"DELETE /billing-keys/{billingKey} 502":          "NaverPay's key deletion never fails at the PG in the emulator (no fault applies to it as a decline)",
	"GET /payment-schedules/{paymentScheduleId} 400": "no parameter of it can be malformed in a way the router passes (the id is any string)",
	"GET /payments/{paymentId} 400":                  "as above",
	"GET /payments/{paymentId}/transactions 400":     "as above",
	"GET /billing-keys/{billingKey} 400":             "as above",
	"POST /payments/{paymentId}/cancel 403":          "403 is a foreign storeId, one check shared by every route (v2RouteHandler); produced on pay, schedule, revoke and the reads",
	"GET /payment-schedules/{paymentScheduleId} 403": "as above",
	"GET /payments/{paymentId}/transactions 403":     "as above",
	"DELETE /billing-keys/{billingKey} 403":          "as above",
}

type v2Contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadV2Contract(t *testing.T) *v2Contract {
	t.Helper()
	if _, err := os.Stat(v2SpecPath); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("PortOne's V2 OpenAPI document is not at %s (it lives in the shared research folder next to the repository); the V2 contract tests need it", v2SpecPath)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(v2SpecPath)
	require.NoError(t, err)
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return &v2Contract{doc: doc, router: router}
}

// v2Auth checks the document's two schemes as PortOne would: "PortOne <secret>" or a bearer
// token.
func v2Auth(_ context.Context, ai *openapi3filter.AuthenticationInput) error {
	h := ai.RequestValidationInput.Request.Header.Get("Authorization")
	switch ai.SecuritySchemeName {
	case "portOne":
		if strings.HasPrefix(h, "PortOne ") {
			return nil
		}
	case "bearerJwt":
		if strings.HasPrefix(h, "Bearer ") {
			return nil
		}
	}
	return fmt.Errorf("no %s credentials", ai.SecuritySchemeName)
}

func (c *v2Contract) route(method, pathAndQuery string, header http.Header, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	req, err := http.NewRequest(method, v2SpecHost+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		return nil, nil, nil, err
	}
	req.Header = header.Clone()
	if len(body) > 0 {
		// Requests sent without a Content-Type (as PortOne's JavaScript SDK sends them) are
		// JSON all the same, and validated as JSON.
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := c.router.FindRoute(req)
	return req, route, params, err
}

// checkRequest validates a request the tests sent.
func (c *v2Contract) checkRequest(method, pathAndQuery string, header http.Header, body []byte) error {
	req, route, params, err := c.route(method, pathAndQuery, header, body)
	if err != nil {
		return fmt.Errorf("%s %s is not in the document: %w", method, pathAndQuery, err)
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: v2Auth},
	})
}

// checkResponse validates one answer and returns its route key ("GET /payments/{paymentId}").
func (c *v2Contract) checkResponse(method, pathAndQuery string, status int, header http.Header, body []byte) (string, error) {
	if ct := header.Get("Content-Type"); ct != jsonContentType {
		return "", fmt.Errorf("Content-Type %q, want %q", ct, jsonContentType)
	}
	req, route, params, err := c.route(method, pathAndQuery, http.Header{}, nil)
	if err != nil {
		return method + " (not in the document)", checkV2ErrorShape(body)
	}
	key := method + " " + route.Path
	respRef := route.Operation.Responses.Status(status)
	if respRef == nil {
		if _, ok := v2StatusDepartures[fmt.Sprintf("%s %d", key, status)]; !ok {
			return key, fmt.Errorf("%s answered %d, which the document does not declare and v2StatusDepartures does not list", key, status)
		}
		return key, checkV2ErrorShape(body)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return key, fmt.Errorf("%s %d does not match the document: %w", key, status, err)
	}
	schema := respRef.Value.Content.Get("application/json").Schema.Value
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return key, err
	}
	var extra []string
	undeclaredV2(schema, generic, "$", &extra)
	if len(extra) > 0 {
		sort.Strings(extra)
		return key, fmt.Errorf("%s %d emits fields the document does not declare: %v", key, status, extra)
	}
	if status >= 300 {
		// The error's type must be one the operation declares, with PortOne's status for it.
		typ, _ := generic.(map[string]any)["type"].(string)
		branch := discriminated(schema, generic.(map[string]any))
		if branch == nil {
			return key, fmt.Errorf("%s %d: error type %q is not one the operation declares", key, status, typ)
		}
		want, ok := branch.Extensions["x-portone-status-code"]
		if ok && fmt.Sprint(want) != fmt.Sprint(status) {
			return key, fmt.Errorf("%s: error type %q comes with HTTP %v on PortOne, not %d", key, typ, want, status)
		}
	}
	return key, nil
}

// checkV2ErrorShape checks an answer outside the document: {type, message}.
func checkV2ErrorShape(body []byte) error {
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("not a JSON object: %s", body)
	}
	if typ, _ := e["type"].(string); typ == "" {
		return fmt.Errorf("an error needs a type: %s", body)
	}
	for k := range e {
		if k != "type" && k != "message" {
			return fmt.Errorf("an error outside the document has field %q", k)
		}
	}
	return nil
}

// discriminated picks the oneOf branch a value's discriminator names, or nil.
func discriminated(s *openapi3.Schema, v map[string]any) *openapi3.Schema {
	if s.Discriminator == nil || len(s.OneOf) == 0 {
		return nil
	}
	val, _ := v[s.Discriminator.PropertyName].(string)
	ref, ok := s.Discriminator.Mapping[val]
	if !ok {
		return nil
	}
	for _, o := range s.OneOf {
		if o.Ref == ref.Ref {
			return o.Value
		}
	}
	return nil
}

// undeclaredV2 collects the paths of object fields the schema does not declare. oneOf with a
// discriminator follows the named branch; a free-form object (no properties) is not checked.
func undeclaredV2(s *openapi3.Schema, v any, path string, out *[]string) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if b := discriminated(s, x); b != nil {
			s = b
		}
		props := map[string]*openapi3.Schema{}
		collectProps(s, props)
		if len(props) == 0 {
			return
		}
		for k, val := range x {
			ps, ok := props[k]
			if !ok {
				*out = append(*out, path+"."+k)
				continue
			}
			undeclaredV2(ps, val, path+"."+k, out)
		}
	case []any:
		if s.Items == nil {
			return
		}
		for i, e := range x {
			undeclaredV2(s.Items.Value, e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// v2Scenario is one request whose request and answer are checked against the document.
type v2Scenario struct {
	name   string
	method string
	path   string // may hold {placeholders} from the fixture
	body   any    // nil, a string sent verbatim without Content-Type, or JSON
	setup  func(*v2Harness, map[string]string)
	// auth replaces the default Authorization header ("" = none).
	auth *string
	// badRequest: the request itself departs from the document on purpose (the emulator must
	// refuse it), so its validation must fail.
	badRequest bool
	wantStatus int
	wantType   string // the error type, or "" on success
}

func strp(s string) *string { return &s }

// v2ContractFixture builds the state the scenarios read and returns its placeholder values.
func v2ContractFixture(t *testing.T, h *v2Harness) map[string]string {
	t.Helper()
	v := map[string]string{}
	v["k1"] = h.issueKey("fx-1")
	v["kDel"] = h.issueKey("fx-del")
	v["kSched"] = h.issueKey("fx-sched")
	v["kRevoke"] = h.issueKey("fx-revoke")
	v["kRevokeDel"] = h.issueKey("fx-revoke-del")
	require.NoError(t, h.emu.DeleteBillingKeyV2(v["kRevokeDel"]))
	require.Equal(t, 200, h.do("DELETE", "/billing-keys/"+v["kDel"]+"?reason=r&requester=CUSTOMER", nil).Status)

	require.Equal(t, 200, h.pay("pay-paid", v["k1"], 10000, func(b map[string]any) {
		b["customData"] = `{"sub":"1"}`
		b["customer"] = map[string]any{"id": "c-1", "name": map[string]any{"full": "홍길동"}, "email": "a@b.kr", "phoneNumber": "01012345678"}
		b["bypass"] = map[string]any{"naverpay": map[string]any{"useCfmYmdt": kstDate(t0)}}
	}).Status)
	h.emu.AddFault(Fault{MerchantUID: "pay-failed", Op: OpV2Pay, Action: FaultDecline, Times: 1})
	require.Equal(t, 502, h.pay("pay-failed", v["k1"], 1000).Status)
	require.Equal(t, 200, h.pay("pay-partial", v["k1"], 5000).Status)
	require.Equal(t, 200, h.do("POST", "/payments/pay-partial/cancel", map[string]any{"reason": "부분", "amount": 1000, "requester": "ADMIN"}).Status)
	require.Equal(t, 200, h.pay("pay-cancelled", v["k1"], 3000).Status)
	require.Equal(t, 200, h.do("POST", "/payments/pay-cancelled/cancel", map[string]any{"reason": "전액", "requester": "CUSTOMER"}).Status)
	require.Equal(t, 200, h.pay("pay-taxfree", v["k1"], 1100, func(b map[string]any) { b["amount"] = map[string]any{"total": 1100, "taxFree": 100} }).Status)

	sched := func(paymentID, key string, at time.Time) string {
		r := h.do("POST", "/payments/"+paymentID+"/schedule", map[string]any{"payment": payBody(key, 2000), "timeToPay": at.Format(time.RFC3339)})
		require.Equal(t, 200, r.Status, "%s", r.Raw)
		return r.obj(t)["schedule"].(map[string]any)["id"].(string)
	}
	v["sSucceeded"] = sched("pay-sched-ok", v["k1"], t0.Add(time.Minute))
	h.emu.AddFault(Fault{MerchantUID: "pay-sched-failed", Op: OpV2ScheduleExecution, Action: FaultDecline, Times: 1})
	v["sFailed"] = sched("pay-sched-failed", v["k1"], t0.Add(time.Minute))
	v["sScheduled"] = sched("pay-sched-later", v["kSched"], t0.Add(48*time.Hour))
	v["sRevoked"] = sched("pay-sched-revoked", v["k1"], t0.Add(48*time.Hour))
	v["sToRevoke"] = sched("pay-sched-to-revoke", v["k1"], t0.Add(48*time.Hour))
	sched("pay-sched-by-key", v["kRevoke"], t0.Add(48*time.Hour))
	require.Equal(t, 200, h.do("DELETE", query("/payment-schedules", map[string]any{"scheduleIds": []string{v["sRevoked"]}}), nil).Status)
	h.clk.Advance(time.Minute)
	// Let every webhook so far be delivered, so that payments show them with their outcome.
	ds := waitV2(t, h.emu, 16) // 5 issued, 2 deleted, 7 from payments and cancels, 2 from schedules
	v["hookPaid"] = ds[0].Header.Get("webhook-id")
	for _, d := range ds {
		if d.MerchantUID == "pay-paid" {
			v["hookPaid"] = d.Header.Get("webhook-id")
		}
	}
	v["from"] = t0.Add(-time.Hour).Format(time.RFC3339)
	v["until"] = t0.Add(72 * time.Hour).Format(time.RFC3339)
	return v
}

func v2ContractScenarios() []v2Scenario {
	paid := func(id string) map[string]any { return payBody("{k1}", 1000, func(b map[string]any) { _ = id }) }
	window := map[string]any{"from": "{from}", "until": "{until}"}
	return []v2Scenario{
		// login
		{name: "login", method: "POST", path: "/login/api-secret", body: map[string]any{"apiSecret": DefaultV2Secret}, auth: strp(""), wantStatus: 200},
		{name: "login wrong secret", method: "POST", path: "/login/api-secret", body: map[string]any{"apiSecret": "nope"}, auth: strp(""), wantStatus: 401, wantType: "UNAUTHORIZED"},
		{name: "login without secret", method: "POST", path: "/login/api-secret", body: map[string]any{}, auth: strp(""), badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},

		// billing keys
		{name: "key issued", method: "GET", path: "/billing-keys/{k1}", wantStatus: 200},
		{name: "key deleted", method: "GET", path: "/billing-keys/{kDel}?storeId=" + DefaultStoreID, wantStatus: 200},
		{name: "key unknown", method: "GET", path: "/billing-keys/billing-key-none", wantStatus: 404, wantType: "BILLING_KEY_NOT_FOUND"},
		{name: "key other store", method: "GET", path: "/billing-keys/{k1}?storeId=store-other", wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "keys", method: "GET", path: "/billing-keys", wantStatus: 200},
		{name: "keys filtered", method: "GET", path: "/billing-keys", body: map[string]any{"page": map[string]any{"number": 0, "size": 2},
			"sort": map[string]any{"by": "STATUS_TIMESTAMP", "order": "ASC"}, "filter": map[string]any{"timeRangeField": "ISSUED_AT", "from": "{from}", "until": "{until}", "status": []string{"ISSUED", "DELETED"}, "version": "V2"}}, wantStatus: 200},
		{name: "keys deleted", method: "GET", path: "/billing-keys", body: map[string]any{"filter": map[string]any{"timeRangeField": "DELETED_AT", "from": "{from}", "status": []string{"DELETED"}}}, wantStatus: 200},
		{name: "keys bad sort", method: "GET", path: "/billing-keys", body: map[string]any{"sort": map[string]any{"by": "AMOUNT"}}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "keys other store", method: "GET", path: "/billing-keys", body: map[string]any{"filter": map[string]any{"storeId": "store-other"}}, wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "delete key without reason", method: "DELETE", path: "/billing-keys/{kRevoke}?requester=ADMIN", wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "delete key without requester", method: "DELETE", path: "/billing-keys/{kRevoke}?reason=r", wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "delete key bad requester", method: "DELETE", path: "/billing-keys/{kRevoke}?reason=r&requester=ROBOT", badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "delete key with schedules", method: "DELETE", path: "/billing-keys/{kSched}?reason=r&requester=ADMIN", wantStatus: 409, wantType: "PAYMENT_SCHEDULE_ALREADY_EXISTS"},
		{name: "delete key deleted", method: "DELETE", path: "/billing-keys/{kDel}?reason=r&requester=ADMIN", wantStatus: 409, wantType: "BILLING_KEY_ALREADY_DELETED"},
		{name: "delete key unknown", method: "DELETE", path: "/billing-keys/billing-key-none?reason=r&requester=ADMIN", wantStatus: 404, wantType: "BILLING_KEY_NOT_FOUND"},

		// pay
		{name: "pay", method: "POST", path: "/payments/new-1/billing-key", body: paid("new-1"), wantStatus: 200},
		{name: "pay without Content-Type", method: "POST", path: "/payments/new-2/billing-key", body: `{"billingKey":"{k1}","orderName":"n","amount":{"total":1000,"taxFree":100,"vat":80},"currency":"KRW","bypass":{"naverpay":{"useCfmYmdt":"20261130"}},"noticeUrls":["https://shop.example/hook"],"skipWebhook":true}`, wantStatus: 200},
		{name: "pay already paid", method: "POST", path: "/payments/pay-paid/billing-key", body: paid("pay-paid"), wantStatus: 409, wantType: "ALREADY_PAID"},
		{name: "pay declined", method: "POST", path: "/payments/new-3/billing-key", body: paid("new-3"),
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.AddFault(Fault{MerchantUID: "new-3", Action: FaultDecline, PGCode: "NP_LIMIT", Reason: "한도 초과", Times: 1})
			}, wantStatus: 502, wantType: "PG_PROVIDER"},
		{name: "pay max attempts", method: "POST", path: "/payments/new-4/billing-key", body: paid("new-4"),
			setup: func(h *v2Harness, v map[string]string) {
				h.emu.AddFault(Fault{MerchantUID: "new-4", Action: FaultDecline, Times: DefaultV2MaxAttempts})
				for range DefaultV2MaxAttempts {
					require.Equal(h.t, 502, h.pay("new-4", v["k1"], 1000).Status)
				}
			}, wantStatus: 400, wantType: "MAX_TRANSACTION_COUNT_REACHED"},
		{name: "pay unknown key", method: "POST", path: "/payments/new-5/billing-key", body: payBody("billing-key-none", 1000), wantStatus: 404, wantType: "BILLING_KEY_NOT_FOUND"},
		{name: "pay deleted key", method: "POST", path: "/payments/new-6/billing-key", body: payBody("{kDel}", 1000), wantStatus: 409, wantType: "BILLING_KEY_ALREADY_DELETED"},
		{name: "pay scheduled paymentId", method: "POST", path: "/payments/pay-sched-later/billing-key", body: payBody("{kSched}", 1000), wantStatus: 409, wantType: "PAYMENT_SCHEDULE_ALREADY_EXISTS"},
		{name: "pay under NaverPay minimum", method: "POST", path: "/payments/new-7/billing-key", body: payBody("{k1}", 99), wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "pay taxFree over total", method: "POST", path: "/payments/new-7/billing-key", body: payBody("{k1}", 1000, func(b map[string]any) { b["amount"] = map[string]any{"total": 1000, "taxFree": 1001} }), wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "pay useCfmYmdt in the past", method: "POST", path: "/payments/new-7/billing-key", body: payBody("{k1}", 1000, func(b map[string]any) {
			b["bypass"] = map[string]any{"naverpay": map[string]any{"useCfmYmdt": "20261101"}}
		}), wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "pay without currency", method: "POST", path: "/payments/new-7/billing-key", body: map[string]any{"billingKey": "{k1}", "orderName": "n", "amount": map[string]any{"total": 1000}}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "pay malformed JSON", method: "POST", path: "/payments/new-7/billing-key", body: `{"billingKey":`, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "pay unknown channel", method: "POST", path: "/payments/new-7/billing-key", body: payBody("{k1}", 1000, func(b map[string]any) { b["channelKey"] = "channel-key-other" }), wantStatus: 404, wantType: "CHANNEL_NOT_FOUND"},
		{name: "pay other store", method: "POST", path: "/payments/new-7/billing-key", body: payBody("{k1}", 1000, func(b map[string]any) { b["storeId"] = "store-other" }), wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "pay injected 500", method: "POST", path: "/payments/new-8/billing-key", body: paid("new-8"),
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.AddFault(Fault{Op: OpV2Pay, Action: FaultErrorBeforeCommit, Times: 1})
			}, wantStatus: 500, wantType: "INTERNAL_SERVER_ERROR"},

		// payment reads
		{name: "payment paid", method: "GET", path: "/payments/pay-paid", wantStatus: 200},
		{name: "payment failed", method: "GET", path: "/payments/pay-failed", wantStatus: 200},
		{name: "payment partial", method: "GET", path: "/payments/pay-partial", wantStatus: 200},
		{name: "payment cancelled", method: "GET", path: "/payments/pay-cancelled", wantStatus: 200},
		{name: "payment scheduled", method: "GET", path: "/payments/pay-sched-ok", wantStatus: 200},
		{name: "payment schedule failed", method: "GET", path: "/payments/pay-sched-failed", wantStatus: 200},
		{name: "payment unknown", method: "GET", path: "/payments/none", wantStatus: 404, wantType: "PAYMENT_NOT_FOUND"},
		{name: "payment other store", method: "GET", path: "/payments/pay-paid?storeId=store-other", wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "payment injected 500", method: "GET", path: "/payments/pay-paid",
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.AddFault(Fault{Op: OpV2Lookup, Action: FaultErrorBeforeCommit, Times: 1})
			}, wantStatus: 500, wantType: "INTERNAL_SERVER_ERROR"},
		{name: "transactions", method: "GET", path: "/payments/new-4/transactions", wantStatus: 200},
		{name: "transactions, a failed one then a paid one", method: "GET", path: "/payments/new-3/transactions",
			setup: func(h *v2Harness, v map[string]string) { require.Equal(h.t, 200, h.pay("new-3", v["k1"], 1000).Status) }, wantStatus: 200},
		{name: "transactions of a cancelled payment", method: "GET", path: "/payments/pay-cancelled/transactions", wantStatus: 200},
		{name: "transactions unknown", method: "GET", path: "/payments/none/transactions", wantStatus: 404, wantType: "PAYMENT_NOT_FOUND"},
		{name: "payments default window", method: "GET", path: "/payments", wantStatus: 200},
		{name: "payments filtered", method: "GET", path: "/payments", body: map[string]any{"page": map[string]any{"number": 0, "size": 3},
			"filter": map[string]any{"from": "{from}", "until": "{until}", "timestampType": "STATUS_CHANGED_AT", "status": []string{"PAID", "PARTIAL_CANCELLED", "CANCELLED", "FAILED"}, "isScheduled": false, "version": "V2", "sortOrder": "ASC"}}, wantStatus: 200},
		{name: "payments page 2", method: "GET", path: "/payments", body: map[string]any{"page": map[string]any{"number": 1, "size": 3}, "filter": window}, wantStatus: 200},
		{name: "payments bad size", method: "GET", path: "/payments", body: map[string]any{"page": map[string]any{"size": 0}}, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "payments bad timestampType", method: "GET", path: "/payments", body: map[string]any{"filter": map[string]any{"timestampType": "PAID_AT"}}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "payments other store", method: "GET", path: "/payments", body: map[string]any{"filter": map[string]any{"storeId": "store-other"}}, wantStatus: 403, wantType: "FORBIDDEN"},

		{name: "payments by webhook status", method: "GET", path: "/payments", body: map[string]any{"filter": map[string]any{"webhookStatus": "SUCCEEDED", "from": "{from}", "until": "{until}"}}, wantStatus: 200},
		{name: "resend the latest webhook", method: "POST", path: "/payments/pay-partial/resend-webhook", body: map[string]any{}, wantStatus: 200},
		{name: "resend a webhook by id", method: "POST", path: "/payments/pay-paid/resend-webhook", body: map[string]any{"webhookId": "{hookPaid}"}, wantStatus: 200},
		{name: "resend an unknown webhook", method: "POST", path: "/payments/pay-paid/resend-webhook", body: map[string]any{"webhookId": "msg_none"}, wantStatus: 404, wantType: "WEBHOOK_NOT_FOUND"},
		{name: "resend for an unknown payment", method: "POST", path: "/payments/none/resend-webhook", body: map[string]any{}, wantStatus: 404, wantType: "PAYMENT_NOT_FOUND"},
		{name: "resend too often", method: "POST", path: "/payments/pay-paid/resend-webhook", body: map[string]any{"webhookId": "{hookPaid}"},
			setup: func(h *v2Harness, v map[string]string) {
				for range maxManualResends - 1 {
					require.Equal(h.t, 200, h.do("POST", "/payments/pay-paid/resend-webhook", map[string]any{"webhookId": v["hookPaid"]}).Status)
				}
			}, wantStatus: 400, wantType: "MAX_WEBHOOK_RETRY_COUNT_REACHED"},
		{name: "resend other store", method: "POST", path: "/payments/pay-paid/resend-webhook", body: map[string]any{"storeId": "store-other"}, wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "payments by cursor", method: "GET", path: "/payments-by-cursor", wantStatus: 200},
		{name: "payments by cursor, a page", method: "GET", path: "/payments-by-cursor", body: map[string]any{"from": "{from}", "until": "{until}", "size": 2}, wantStatus: 200},
		{name: "payments by cursor, the next page", method: "GET", path: "/payments-by-cursor", body: map[string]any{"cursor": "cursor-1", "size": 1000}, wantStatus: 200},
		{name: "payments by cursor, bad cursor", method: "GET", path: "/payments-by-cursor", body: map[string]any{"cursor": "x"}, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "payments by cursor, bad size", method: "GET", path: "/payments-by-cursor", body: map[string]any{"size": 1001}, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "payments by cursor, other store", method: "GET", path: "/payments-by-cursor", body: map[string]any{"storeId": "store-other"}, wantStatus: 403, wantType: "FORBIDDEN"},

		// cancel
		{name: "cancel with the right remainder", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"reason": "r", "amount": 1000, "currentCancellableAmount": 10000, "requester": "CUSTOMER"}, wantStatus: 200},
		{name: "cancel with a stale remainder", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"reason": "r", "amount": 1000, "currentCancellableAmount": 10000, "requester": "CUSTOMER"}, wantStatus: 409, wantType: "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"},
		{name: "cancel over the remainder", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"reason": "r", "amount": 9001, "requester": "ADMIN"}, wantStatus: 409, wantType: "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"},
		{name: "cancel tax-free over", method: "POST", path: "/payments/pay-taxfree/cancel", body: map[string]any{"reason": "r", "amount": 500, "taxFreeAmount": 101, "requester": "ADMIN"}, wantStatus: 409, wantType: "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT"},
		{name: "cancel taxable over", method: "POST", path: "/payments/pay-taxfree/cancel", body: map[string]any{"reason": "r", "amount": 1100, "requester": "ADMIN"}, wantStatus: 409, wantType: "CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT"},
		{name: "cancel PG refusal", method: "POST", path: "/payments/pay-taxfree/cancel", body: map[string]any{"reason": "r", "requester": "ADMIN"},
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.AddFault(Fault{MerchantUID: "pay-taxfree", Op: OpV2Cancel, Action: FaultDecline, Times: 1})
			}, wantStatus: 502, wantType: "PG_PROVIDER"},
		{name: "cancel the rest, tax-free included", method: "POST", path: "/payments/pay-taxfree/cancel", body: map[string]any{"reason": "r", "currentCancellableAmount": 1100, "requester": "ADMIN", "skipWebhook": true}, wantStatus: 200},
		{name: "cancel cancelled", method: "POST", path: "/payments/pay-cancelled/cancel", body: map[string]any{"reason": "r"}, wantStatus: 409, wantType: "PAYMENT_ALREADY_CANCELLED"},
		{name: "cancel failed", method: "POST", path: "/payments/pay-failed/cancel", body: map[string]any{"reason": "r"}, wantStatus: 409, wantType: "PAYMENT_NOT_PAID"},
		{name: "cancel unknown", method: "POST", path: "/payments/none/cancel", body: map[string]any{"reason": "r"}, wantStatus: 404, wantType: "PAYMENT_NOT_FOUND"},
		{name: "cancel without reason", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"amount": 100}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "cancel asynchronous", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"reason": "r", "amount": 500, "requester": "ADMIN"},
			setup: func(h *v2Harness, _ map[string]string) { h.emu.SetV2AsyncCancel(true, time.Hour) }, wantStatus: 200},
		{name: "payment with a requested cancel", method: "GET", path: "/payments/pay-paid",
			setup: func(h *v2Harness, _ map[string]string) { h.emu.SetV2AsyncCancel(false, 0) }, wantStatus: 200},
		{name: "cancel asynchronous, failed later", method: "POST", path: "/payments/pay-paid/cancel", body: map[string]any{"reason": "r", "amount": 700, "requester": "ADMIN"},
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.SetV2AsyncCancel(true, time.Hour)
				h.emu.SetV2AsyncCancelFail(true)
			}, wantStatus: 200},
		{name: "payment with a failed cancel", method: "GET", path: "/payments/pay-paid",
			setup: func(h *v2Harness, _ map[string]string) {
				h.emu.SetV2AsyncCancel(false, 0)
				h.emu.SetV2AsyncCancelFail(false)
				h.clk.Advance(2 * time.Hour)
				h.emu.RunDue()
			}, wantStatus: 200},

		// schedules
		{name: "schedule", method: "POST", path: "/payments/new-s1/schedule", body: map[string]any{"payment": payBody("{k1}", 1000, func(b map[string]any) {
			b["noticeUrls"] = []string{"https://shop.example/hook"}
			b["customer"] = map[string]any{"id": "c-1"}
		}), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 200},
		{name: "schedule taken paymentId", method: "POST", path: "/payments/new-s1/schedule", body: map[string]any{"payment": payBody("{k1}", 1000), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 409, wantType: "PAYMENT_SCHEDULE_ALREADY_EXISTS"},
		{name: "schedule paid paymentId", method: "POST", path: "/payments/pay-partial/schedule", body: map[string]any{"payment": payBody("{k1}", 1000), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 409, wantType: "ALREADY_PAID_OR_WAITING"},
		{name: "schedule unknown key", method: "POST", path: "/payments/new-s2/schedule", body: map[string]any{"payment": payBody("billing-key-none", 1000), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 404, wantType: "BILLING_KEY_NOT_FOUND"},
		{name: "schedule deleted key", method: "POST", path: "/payments/new-s2/schedule", body: map[string]any{"payment": payBody("{kDel}", 1000), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 409, wantType: "BILLING_KEY_ALREADY_DELETED"},
		{name: "schedule without timeToPay", method: "POST", path: "/payments/new-s2/schedule", body: map[string]any{"payment": payBody("{k1}", 1000)}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "schedule bad timeToPay", method: "POST", path: "/payments/new-s2/schedule", body: map[string]any{"payment": payBody("{k1}", 1000), "timeToPay": "tomorrow"}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "schedule scheduled", method: "GET", path: "/payment-schedules/{sScheduled}", wantStatus: 200},
		{name: "schedule succeeded", method: "GET", path: "/payment-schedules/{sSucceeded}", wantStatus: 200},
		{name: "schedule failed", method: "GET", path: "/payment-schedules/{sFailed}", wantStatus: 200},
		{name: "schedule revoked", method: "GET", path: "/payment-schedules/{sRevoked}", wantStatus: 200},
		{name: "schedule unknown", method: "GET", path: "/payment-schedules/none", wantStatus: 404, wantType: "PAYMENT_SCHEDULE_NOT_FOUND"},
		{name: "schedules default window", method: "GET", path: "/payment-schedules", wantStatus: 200},
		{name: "schedules of a key", method: "GET", path: "/payment-schedules", body: map[string]any{"page": map[string]any{"number": 0, "size": 2},
			"sort": map[string]any{"by": "TIME_TO_PAY", "order": "ASC"}, "filter": map[string]any{"billingKey": "{k1}", "from": "{from}", "until": "{until}", "status": []string{"SCHEDULED", "SUCCEEDED", "FAILED", "REVOKED"}}}, wantStatus: 200},
		{name: "schedules by completion", method: "GET", path: "/payment-schedules", body: map[string]any{"sort": map[string]any{"by": "COMPLETED_AT"}, "filter": window}, wantStatus: 200},
		{name: "schedules other store", method: "GET", path: "/payment-schedules", body: map[string]any{"filter": map[string]any{"storeId": "store-other"}}, wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "schedule other store", method: "POST", path: "/payments/new-s2/schedule", body: map[string]any{"payment": payBody("{k1}", 1000, func(b map[string]any) { b["storeId"] = "store-other" }), "timeToPay": "2026-11-05T10:00:00+09:00"}, wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "revoke other store", method: "DELETE", path: "/payment-schedules", body: map[string]any{"storeId": "store-other", "billingKey": "{k1}"}, wantStatus: 403, wantType: "FORBIDDEN"},
		{name: "schedules bad sort", method: "GET", path: "/payment-schedules", body: map[string]any{"sort": map[string]any{"by": "AMOUNT"}}, badRequest: true, wantStatus: 400, wantType: "INVALID_REQUEST"},
		{name: "revoke by id", method: "DELETE", path: "/payment-schedules", body: map[string]any{"scheduleIds": []string{"{sToRevoke}"}}, wantStatus: 200},
		{name: "revoke by key", method: "DELETE", path: "/payment-schedules", body: map[string]any{"billingKey": "{kRevoke}"}, wantStatus: 200},
		{name: "revoke unknown id", method: "DELETE", path: "/payment-schedules", body: map[string]any{"scheduleIds": []string{"none"}}, wantStatus: 404, wantType: "PAYMENT_SCHEDULE_NOT_FOUND"},
		{name: "revoke revoked", method: "DELETE", path: "/payment-schedules", body: map[string]any{"scheduleIds": []string{"{sRevoked}"}}, wantStatus: 409, wantType: "PAYMENT_SCHEDULE_ALREADY_REVOKED"},
		{name: "revoke executed", method: "DELETE", path: "/payment-schedules", body: map[string]any{"scheduleIds": []string{"{sSucceeded}"}}, wantStatus: 409, wantType: "PAYMENT_SCHEDULE_ALREADY_PROCESSED"},
		{name: "revoke unknown key", method: "DELETE", path: "/payment-schedules", body: map[string]any{"billingKey": "billing-key-none"}, wantStatus: 404, wantType: "BILLING_KEY_NOT_FOUND"},
		{name: "revoke deleted key", method: "DELETE", path: "/payment-schedules", body: map[string]any{"billingKey": "{kRevokeDel}"}, wantStatus: 409, wantType: "BILLING_KEY_ALREADY_DELETED"},
		{name: "revoke nothing", method: "DELETE", path: "/payment-schedules", body: map[string]any{}, wantStatus: 400, wantType: "INVALID_REQUEST"},

		// a deletion that goes through, after its key's schedules were revoked
		{name: "delete key", method: "DELETE", path: "/billing-keys/{kRevoke}?reason=r&requester=ADMIN&skipWebhook=false", wantStatus: 200},

		// outside the document
		{name: "unknown route", method: "GET", path: "/no/such/route", wantStatus: 404, wantType: "INVALID_REQUEST", badRequest: true},
	}
}

var placeholder = regexp.MustCompile(`\{[a-zA-Z0-9]+\}`)

// fillV2 replaces {placeholders} in a string or, recursively, in a JSON-able value.
func fillV2(v any, vars map[string]string) any {
	switch x := v.(type) {
	case string:
		return placeholder.ReplaceAllStringFunc(x, func(m string) string {
			if r, ok := vars[strings.Trim(m, "{}")]; ok {
				return r
			}
			return m
		})
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = fillV2(e, vars)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fillV2(e, vars).(string)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fillV2(e, vars)
		}
		return out
	default:
		return v
	}
}

func TestV2Contract(t *testing.T) {
	c := loadV2Contract(t)
	seen := map[string]bool{}
	rec := newV2Receiver(t)
	h := newV2Harness(t, func(o *Options) { o.V2.WebhookURL = rec.srv.URL })
	// Every request the fixture and the scenarios send is validated too.
	var reqErrs []string
	h.check = func(req *http.Request, body []byte, _ int, _ http.Header, _ []byte) {
		if err := c.checkRequest(req.Method, req.URL.RequestURI(), req.Header, body); err != nil {
			reqErrs = append(reqErrs, fmt.Sprintf("%s %s: %v", req.Method, req.URL.RequestURI(), err))
		}
	}
	vars := v2ContractFixture(t, h)
	require.Empty(t, reqErrs, "the fixture's requests follow the document")

	for _, sc := range v2ContractScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			reqErrs = nil
			if sc.setup != nil {
				sc.setup(h, vars)
			}
			reqErrs = nil
			path := fillV2(sc.path, vars).(string)
			body := fillV2(sc.body, vars)
			if sc.method == http.MethodGet || sc.method == http.MethodDelete {
				if body != nil {
					path = query(path, body) // the ?requestBody= form, as the SDKs send it
					body = nil
				}
			}
			var hdr []func(*http.Request)
			if sc.auth != nil {
				hdr = append(hdr, func(r *http.Request) {
					r.Header.Del("Authorization")
					if *sc.auth != "" {
						r.Header.Set("Authorization", *sc.auth)
					}
				})
			}
			r := h.do(sc.method, path, body, hdr...)
			require.Equal(t, sc.wantStatus, r.Status, "%s", r.Raw)
			if sc.badRequest {
				require.NotEmpty(t, reqErrs, "the request departs from the document on purpose, yet it validated")
			} else {
				require.Empty(t, reqErrs)
			}
			if sc.wantType != "" {
				require.Equal(t, sc.wantType, r.typ(t), "%s", r.Raw)
			}
			key, err := c.checkResponse(sc.method, path, r.Status, r.Header, r.Raw)
			require.NoError(t, err)
			seen[fmt.Sprintf("%s %d", key, r.Status)] = true
		})
	}
	h.check = nil

	t.Run("401 on every authenticated route", func(t *testing.T) {
		for _, rt := range h.emu.v2Routes {
			if !rt.auth {
				continue
			}
			path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.pattern, "x")
			for _, auth := range []string{"", "PortOne wrong-secret", "Bearer wrong-token", "Basic abc"} {
				r := h.do(rt.method, path, nil, func(req *http.Request) {
					req.Header.Del("Authorization")
					if auth != "" {
						req.Header.Set("Authorization", auth)
					}
				})
				require.Equal(t, http.StatusUnauthorized, r.Status, "%s %s with %q", rt.method, path, auth)
				key, err := c.checkResponse(rt.method, path, r.Status, r.Header, r.Raw)
				require.NoError(t, err)
				seen[fmt.Sprintf("%s %d", key, r.Status)] = true
			}
		}
	})

	t.Run("a bearer token from login works and V1 refuses it", func(t *testing.T) {
		r := h.do("POST", "/login/api-secret", map[string]any{"apiSecret": DefaultV2Secret})
		require.Equal(t, 200, r.Status)
		tok := r.obj(t)["accessToken"].(string)
		got := h.do("GET", "/payments/pay-paid", nil, func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+tok) })
		require.Equal(t, 200, got.Status, "%s", got.Raw)
		_, err := c.checkResponse("GET", "/payments/pay-paid", got.Status, got.Header, got.Raw)
		require.NoError(t, err)
		m, ok := h.emu.authenticate(&http.Request{Header: http.Header{"Authorization": {"Bearer " + tok}}})
		require.False(t, ok, "a V2 token is not a V1 token: %v", m)
	})

	t.Run("413 on an oversized body", func(t *testing.T) {
		big := `{"orderName":"` + strings.Repeat("x", maxBodyBytes) + `"}`
		r := h.do("POST", "/payments/big/billing-key", big)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
		key, err := c.checkResponse("POST", "/payments/big/billing-key", r.Status, r.Header, r.Raw)
		require.NoError(t, err)
		seen[fmt.Sprintf("%s %d", key, r.Status)] = true
	})

	t.Run("every declared status of a served operation is produced or explained", func(t *testing.T) {
		var missing []string
		for _, rt := range h.emu.v2Routes {
			op := c.doc.Paths.Find(rt.pattern).GetOperation(rt.method)
			require.NotNil(t, op, "%s %s is in the document", rt.method, rt.pattern)
			for status := range op.Responses.Map() {
				key := fmt.Sprintf("%s %s %s", rt.method, rt.pattern, status)
				if !seen[key] && v2StatusesNotProduced[key] == "" {
					missing = append(missing, key)
				}
			}
		}
		sort.Strings(missing)
		require.Empty(t, missing, "declared statuses no scenario produced")
	})
}

// TestV2ContractCheckerCatchesDepartures proves the checker is not vacuous: each mutation of a
// valid answer is rejected.
func TestV2ContractCheckerCatchesDepartures(t *testing.T) {
	c := loadV2Contract(t)
	h := newV2Harness(t)
	key := h.issueKey("chk")
	require.Equal(t, 200, h.pay("chk-1", key, 1000).Status)
	r := h.do("GET", "/payments/chk-1", nil)
	require.Equal(t, 200, r.Status)
	_, err := c.checkResponse("GET", "/payments/chk-1", 200, r.Header, r.Raw)
	require.NoError(t, err, "the unmutated answer passes")
	mutate := func(f func(p map[string]any)) []byte {
		var p map[string]any
		require.NoError(t, json.Unmarshal(r.Raw, &p))
		f(p)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		{"total as a string", 200, mutate(func(p map[string]any) { p["amount"].(map[string]any)["total"] = "1000" }), "does not match the document"},
		{"required paidAt missing", 200, mutate(func(p map[string]any) { delete(p, "paidAt") }), "does not match the document"},
		{"unknown status", 200, mutate(func(p map[string]any) { p["status"] = "DONE" }), "does not match the document"},
		{"undeclared field", 200, mutate(func(p map[string]any) { p["imp_uid"] = "x" }), "does not declare: [$.imp_uid]"},
		{"undeclared nested field", 200, mutate(func(p map[string]any) { p["customer"].(map[string]any)["tel"] = "x" }), "does not declare: [$.customer.tel]"},
		{"error type the operation lacks", 404, []byte(`{"type":"BILLING_KEY_NOT_FOUND","message":"x"}`), "does not match the document"},
		{"error under the wrong status", 400, []byte(`{"type":"PAYMENT_NOT_FOUND","message":"x"}`), "comes with HTTP 404"},
		{"undeclared status", 201, r.Raw, "does not declare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.checkResponse("GET", "/payments/chk-1", tt.status, r.Header, tt.body)
			require.ErrorContains(t, err, tt.want)
		})
	}
	t.Run("a request without reason is refused by the checker", func(t *testing.T) {
		err := c.checkRequest("POST", "/payments/chk-1/cancel", http.Header{"Authorization": {"PortOne x"}}, []byte(`{"amount":1}`))
		require.Error(t, err)
		err = c.checkRequest("POST", "/payments/chk-1/cancel", http.Header{}, []byte(`{"reason":"r"}`))
		require.Error(t, err, "no credentials")
	})
}
