package portonetest

// Contract tests: every emulator response, success and error, is checked against PortOne's
// own OpenAPI (Swagger 2.0) document with kin-openapi, so that a client tested against the
// emulator is tested against PortOne's published shapes. The emulator departs from the
// document only where PortOne itself is known to (or where the emulator had to choose), and
// each departure is a named, commented entry below; everything else is asserted strictly,
// including that the emulator emits no field the document does not declare.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
)

// specPath is PortOne's V1 OpenAPI document in the shared research folder, which sits next
// to the repository rather than inside it.
const specPath = "../../../shared/portone/v1.openapi.json"

// specHost is the document's host; request URLs are rewritten to it to find routes.
const specHost = "https://api.iamport.kr"

// servedOperations are the document's operations the emulator serves. The rest of the
// document (other PGs, receipts, escrow, rescheduling, ...) is pruned before conversion: it
// is irrelevant here and carries schema defects that only make conversion noisier.
var servedOperations = []string{
	"POST /users/getToken",
	"GET /subscribe/customers",
	"GET /subscribe/customers/{customer_uid}",
	"POST /subscribe/customers/{customer_uid}",
	"DELETE /subscribe/customers/{customer_uid}",
	"GET /subscribe/customers/{customer_uid}/payments",
	"GET /subscribe/customers/{customer_uid}/schedules",
	"POST /subscribe/payments/again",
	"GET /subscribe/payments/schedule",
	"POST /subscribe/payments/schedule",
	"POST /subscribe/payments/unschedule",
	"GET /subscribe/payments/schedule/{merchant_uid}",
	"GET /subscribe/payments/schedule/customers/{customer_uid}",
	"GET /payments",
	"GET /payments/{imp_uid}",
	"GET /payments/find/{merchant_uid}/{payment_status}",
	"GET /payments/findAll/{merchant_uid}/{payment_status}",
	"POST /payments/cancel",
	"GET /payments/status/{payment_status}",
}

// ---- Departures from the document (the exception list) ----

// nullableExceptions: properties the document types as a plain string/integer/object (Swagger
// 2.0 has no null) but that PortOne returns as JSON null when there is no value, and so does
// the emulator. Sources: v1-api.md §2 ("message null on success"), §10 ("payment_status:
// null (real JSON null)"), §11 ("most strings are nullable in practice, e.g. card_name: null,
// customer_uid: null"), and the document's own prose (ScheduleResult.imp_uid "is null until
// executed", card_type "null for some PGs"). CustomerAnnotation.card_name is even listed as
// required, yet PortOne documents it as null for PGs that disclose no card (paypal_v2);
// NaverPay discloses none either. Any property not listed must match its declared type.
//
// The list is exactly what the emulator emits as null: TestContract fails if an entry is
// never seen null (so the list cannot grow stale and hide a regression), and a null
// anywhere else fails validation.
var nullableExceptions = map[string][]string{
	"ResponseAnnotation": {"message"},
	"CustomerAnnotation": {"customer_id", "card_name", "card_code", "card_issuer_code", "card_issuer_name",
		"card_publisher_code", "card_publisher_name", "card_number", "card_type",
		"customer_name", "customer_tel", "customer_email", "customer_addr", "customer_postcode"},
	"PaymentAnnotation": {"emb_pg_provider", "pg_tid", "apply_num", "bank_code", "bank_name",
		"card_code", "card_name", "card_issuer_code", "card_issuer_name",
		"card_publisher_code", "card_publisher_name", "card_number", "card_type",
		"vbank_code", "vbank_name", "vbank_num", "vbank_holder",
		"buyer_name", "buyer_email", "buyer_tel", "buyer_addr", "buyer_postcode",
		"custom_data", "user_agent", "fail_reason", "cancel_reason", "receipt_url", "promotion"},
	"ScheduleResultAnnotation": {"imp_uid", "customer_id", "buyer_name", "buyer_email", "buyer_tel",
		"buyer_addr", "buyer_postcode", "custom_data", "payment_status", "fail_reason", "promotion_id"},
}

// pagedScheduleOperations: the document says the three schedule queries return an array of
// ScheduleResult, but PortOne's official Node and Java clients decode the paged object
// {total, previous, next, list} (v1-api.md §6), so the emulator returns that. Their 200
// schema is replaced by a paged one; the list items are still ScheduleResultAnnotation.
var pagedScheduleOperations = [][2]string{
	{"/subscribe/payments/schedule", "get"},
	{"/subscribe/payments/schedule/customers/{customer_uid}", "get"},
	{"/subscribe/customers/{customer_uid}/schedules", "get"},
}

// customerEitherOperations: the document's 200 schema for these is an object whose
// *properties* are named CustomerResponse and SuperBillingKeyResponse, i.e. an attempt at
// "one of the two" that validates anything. The emulator only has ordinary billing keys,
// so the schema is replaced by CustomerResponse itself, which is strict.
var customerEitherOperations = [][2]string{
	{"/subscribe/customers/{customer_uid}", "get"},
	{"/subscribe/customers/{customer_uid}", "post"},
	{"/subscribe/customers/{customer_uid}", "delete"},
}

// optionalStatusSegment: the document only has /payments/find/{merchant_uid}/{payment_status}
// and the findAll twin, with the path parameter marked "required: false" (impossible in a
// path); clients call both forms (v1-api.md §7). The form without the segment is added as an
// alias of the same operation.
var optionalStatusSegment = []string{
	"/payments/find/{merchant_uid}/{payment_status}",
	"/payments/findAll/{merchant_uid}/{payment_status}",
}

// statusDepartures: HTTP statuses the emulator returns that the document does not declare
// for the operation. Each is an emulator choice where PortOne's status is unknown.
var statusDepartures = map[string]string{
	"POST /users/getToken 400":                               "missing imp_key/imp_secret: the message is observed, the status is not (v1-api.md §1)",
	"GET /subscribe/customers 400":                           "customer_uid[] missing: PortOne's reaction is undocumented",
	"GET /subscribe/customers/{customer_uid}/payments 400":   "page is not a positive integer",
	"GET /payments/{imp_uid} 400":                            "include_sandbox is not a boolean",
	"GET /payments 400":                                      "no ids, or more than the documented 100",
	"GET /payments/find/{merchant_uid}/{payment_status} 400": "payment_status or sorting outside the documented enum",
	"POST /subscribe/payments/again 400":                     "malformed body: PortOne's answer to unparseable JSON is undocumented",
	"POST /subscribe/payments/again 500":                     "an injected error_before_commit fault",
	"POST /subscribe/payments/again 413":                     "a body over the emulator's 1 MiB bound",
}

// undeclaredStatusesNotProduced: statuses the document declares for a served operation that
// no scenario produces, and why.
var undeclaredStatusesNotProduced = map[string]string{
	"GET /subscribe/customers 404":                         "live-API tests saw unknown customer_uids answered with an empty list, so the emulator answers 207 with the found ones (possibly none)",
	"GET /subscribe/customers/{customer_uid}/payments 404": "the official Go client's live test saw an unknown customer_uid answered with an empty page",
}

// ---- Loading ----

type contract struct {
	doc    *openapi3.T
	router routers.Router
	// nullSeen records the property schemas seen holding null in a valid success answer.
	nullSeen map[*openapi3.Schema]bool
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("PortOne's OpenAPI document is not at %s (it lives in the shared research folder next to the repository, not in it); the contract tests need it", specPath)
	}
	require.NoError(t, err)
	var spec map[string]any
	require.NoError(t, json.Unmarshal(raw, &spec))

	paths := spec["paths"].(map[string]any)
	kept := map[string]any{}
	for _, op := range servedOperations {
		method, p, _ := strings.Cut(op, " ")
		item, ok := paths[p].(map[string]any)
		require.True(t, ok, "the document no longer has %s", p)
		operation, ok := item[strings.ToLower(method)]
		require.True(t, ok, "the document no longer has %s", op)
		if kept[p] == nil {
			kept[p] = map[string]any{}
		}
		kept[p].(map[string]any)[strings.ToLower(method)] = operation
	}
	spec["paths"] = kept
	repairSpec(spec)
	applyDepartures(t, spec)

	b, err := json.Marshal(spec)
	require.NoError(t, err)
	var doc2 openapi2.T
	require.NoError(t, json.Unmarshal(b, &doc2))
	doc3, err := openapi2conv.ToV3(&doc2)
	require.NoError(t, err)
	router, err := gorillamux.NewRouter(doc3)
	require.NoError(t, err)
	return &contract{doc: doc3, router: router, nullSeen: map[*openapi3.Schema]bool{}}
}

// repairSpec fixes the document's mechanical defects, which are not departures in meaning:
// numbers written as strings ("maxLength": "80") and array items written as a bare type
// name ("items": "string").
func repairSpec(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum":
				if s, ok := e.(string); ok {
					if f, err := strconv.ParseFloat(s, 64); err == nil {
						x[k] = f
						continue
					}
				}
			case "items":
				if s, ok := e.(string); ok {
					x[k] = map[string]any{"type": s}
					continue
				}
			}
			repairSpec(e)
		}
	case []any:
		for _, e := range x {
			repairSpec(e)
		}
	}
}

func applyDepartures(t *testing.T, spec map[string]any) {
	t.Helper()
	defs := spec["definitions"].(map[string]any)
	for def, props := range nullableExceptions {
		d, ok := defs[def].(map[string]any)
		require.True(t, ok, "nullableExceptions names definition %s, which the document no longer has", def)
		properties := d["properties"].(map[string]any)
		for _, p := range props {
			prop, ok := properties[p].(map[string]any)
			require.True(t, ok, "nullableExceptions names %s.%s, which the document no longer has", def, p)
			prop["x-nullable"] = true
		}
	}

	defs["EmulatorPagedScheduleResponse"] = map[string]any{
		"allOf": []any{
			map[string]any{"$ref": "#/definitions/ResponseAnnotation"},
			map[string]any{"properties": map[string]any{"response": map[string]any{
				"required": []any{"total", "previous", "next", "list"},
				"properties": map[string]any{
					"total":    map[string]any{"type": "integer"},
					"previous": map[string]any{"type": "integer"},
					"next":     map[string]any{"type": "integer"},
					"list":     map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/ScheduleResultAnnotation"}},
				},
			}}},
		},
	}
	paths := spec["paths"].(map[string]any)
	setSchema := func(path, method, ref string) {
		op := paths[path].(map[string]any)[method].(map[string]any)
		ok := op["responses"].(map[string]any)["200"].(map[string]any)
		ok["schema"] = map[string]any{"$ref": ref}
	}
	for _, pm := range pagedScheduleOperations {
		setSchema(pm[0], pm[1], "#/definitions/EmulatorPagedScheduleResponse")
	}
	for _, pm := range customerEitherOperations {
		setSchema(pm[0], pm[1], "#/definitions/CustomerResponse")
	}
	for _, p := range optionalStatusSegment {
		var item map[string]any
		b, _ := json.Marshal(paths[p])
		require.NoError(t, json.Unmarshal(b, &item))
		for _, op := range item {
			opm, ok := op.(map[string]any)
			if !ok {
				continue
			}
			var kept []any
			for _, prm := range opm["parameters"].([]any) {
				if prm.(map[string]any)["name"] != "payment_status" {
					kept = append(kept, prm)
				}
			}
			opm["parameters"] = kept
			if id, ok := opm["operationId"].(string); ok {
				opm["operationId"] = id + "WithoutStatus"
			}
		}
		paths[strings.TrimSuffix(p, "/{payment_status}")] = item
	}
}

// ---- Checking ----

// routeKey names an operation by method and document path, e.g. "GET /payments/{imp_uid}".
// The status-less aliases count as their original operation.
func routeKey(method, path string) string {
	for _, p := range optionalStatusSegment {
		if path == strings.TrimSuffix(p, "/{payment_status}") {
			path = p
		}
	}
	return method + " " + path
}

// check validates one response and returns its route key, or an error describing every way
// the response departs from the document (beyond the listed departures).
func (c *contract) check(method, path string, status int, header http.Header, body []byte) (string, error) {
	if ct := header.Get("Content-Type"); ct != jsonContentType {
		return "", fmt.Errorf("Content-Type %q, want %q", ct, jsonContentType)
	}
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return "", fmt.Errorf("the body is not a JSON object: %w: %s", err, body)
	}
	if k := keys(env); !slices.Equal(k, []string{"code", "message", "response"}) {
		return "", fmt.Errorf("the envelope has fields %v, want exactly code, message, response", k)
	}
	num, isNum := env["code"].(json.Number)
	code, err := num.Int64()
	if !isNum || err != nil {
		return "", fmt.Errorf("code %v is not an integer", env["code"])
	}

	req, err := http.NewRequest(method, specHost+path, nil)
	if err != nil {
		return "", err
	}
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		if code == 0 {
			return "", fmt.Errorf("%s %s is not in the document, yet answered a success", method, path)
		}
		return method + " (not in the document)", checkErrorEnvelope(env)
	}
	key := routeKey(method, route.Path)
	respRef := route.Operation.Responses.Status(status)
	if respRef == nil {
		if _, ok := statusDepartures[fmt.Sprintf("%s %d", key, status)]; !ok {
			return key, fmt.Errorf("%s answered %d, which the document does not declare and statusDepartures does not list", key, status)
		}
		return key, checkErrorEnvelope(env)
	}
	if code != 0 {
		// PortOne answers errors with response: null, under HTTP 200 for most business errors;
		// the document's schemas describe successes only. The envelope itself is checked.
		return key, checkErrorEnvelope(env)
	}
	if status != http.StatusOK && status != http.StatusMultiStatus {
		return key, fmt.Errorf("a success envelope came with HTTP %d", status)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return key, fmt.Errorf("%s %d does not match the document: %w", key, status, err)
	}

	// The reverse direction: no field the document does not declare.
	mt := respRef.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return key, fmt.Errorf("%s %d has no JSON schema to check a success against", key, status)
	}
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return key, err
	}
	var extra []string
	c.undeclared(mt.Schema.Value, generic, "$", &extra)
	if len(extra) > 0 {
		sort.Strings(extra)
		return key, fmt.Errorf("%s %d emits fields the document does not declare: %v", key, status, extra)
	}
	return key, nil
}

// checkErrorEnvelope asserts PortOne's error shape: a non-zero integer code, a non-empty
// message, and a null response.
func checkErrorEnvelope(env map[string]any) error {
	code, _ := env["code"].(json.Number).Int64()
	if code == 0 {
		return errors.New("an error must carry a non-zero code")
	}
	if msg, ok := env["message"].(string); !ok || msg == "" {
		return fmt.Errorf("an error must carry a non-empty message, got %v", env["message"])
	}
	if env["response"] != nil {
		return fmt.Errorf("an error must carry a null response, got %v", env["response"])
	}
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// undeclared collects the paths of object fields that the schema does not declare.
// Free-form objects (a schema without properties, like Payment.promotion) are not checked.
func (c *contract) undeclared(s *openapi3.Schema, v any, path string, out *[]string) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
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
			if val == nil {
				c.nullSeen[ps] = true
			}
			c.undeclared(ps, val, path+"."+k, out)
		}
	case []any:
		items := s.Items
		if items == nil {
			for _, a := range s.AllOf {
				if a.Value != nil && a.Value.Items != nil {
					items = a.Value.Items
				}
			}
		}
		if items == nil {
			return
		}
		for i, e := range x {
			c.undeclared(items.Value, e, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func collectProps(s *openapi3.Schema, into map[string]*openapi3.Schema) {
	for name, ref := range s.Properties {
		if prev, ok := into[name]; ok && ref.Value != nil && len(ref.Value.Properties) == 0 && len(ref.Value.AllOf) == 0 {
			_ = prev // keep the richer schema when allOf parts redeclare a property loosely
			continue
		}
		into[name] = ref.Value
	}
	for _, a := range s.AllOf {
		if a.Value != nil {
			collectProps(a.Value, into)
		}
	}
}

// ---- Scenarios ----

// contractScenario is one request whose answer is checked against the document.
type contractScenario struct {
	name       string
	method     string
	path       string // may contain {imp_paid}, {imp_reg}, ... placeholders from the fixture
	body       any
	setup      func(*harness)
	noAuth     bool
	wantStatus int
	wantCode   *int // nil: any
}

func code(c int) *int { return &c }

// contractFixture builds the state the scenarios read and returns its placeholder values.
func contractFixture(t *testing.T, h *harness) map[string]string {
	t.Helper()
	v := map[string]string{}
	reg := h.register("c1", func(s *CustomerSeed) { s.RegistrationMerchantUID = "reg-c1" })
	v["imp_reg"] = reg.RegistrationImpUID
	h.register("c2")
	h.register("to-delete")
	// A key registered with nothing but its uid: every optional customer_*/buyer_* is null.
	_, err := h.emu.RegisterCustomer("", CustomerSeed{CustomerUID: "bare"})
	require.NoError(t, err)
	v["imp_bare"] = h.again("bare", "bare-1", 1000).obj(t)["imp_uid"].(string)
	v["imp_paid"] = h.again("c1", "paid-1", 10000, map[string]any{"custom_data": "cd", "extra": map[string]any{"naverUseCfm": kstDate(t0)}}).obj(t)["imp_uid"].(string)
	h.emu.AddFault(Fault{MerchantUID: "failed-1", Action: FaultDecline, Times: 1})
	v["imp_failed"] = h.again("c1", "failed-1", 1000).obj(t)["imp_uid"].(string)
	v["imp_cancelled"] = h.again("c1", "cancelled-1", 3000).obj(t)["imp_uid"].(string)
	require.Equal(t, 0, h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": v["imp_cancelled"], "amount": 1000, "reason": "부분", "extra": map[string]any{"requester": "admin"}}).Code)
	require.Equal(t, 0, h.do(http.MethodPost, "/payments/cancel", map[string]any{"imp_uid": v["imp_cancelled"], "reason": "전액", "extra": map[string]any{"requester": "admin"}}).Code)
	require.Equal(t, 0, h.schedule("c1", entry("s-exec", t0.Add(time.Minute), 1000), entry("s-pending", t0.Add(48*time.Hour), 1000),
		entry("s-revoked", t0.Add(48*time.Hour), 1000, map[string]any{"buyer_name": "김"})).Code)
	require.Equal(t, 0, h.do(http.MethodPost, "/subscribe/payments/unschedule", map[string]any{"merchant_uid": []string{"s-revoked"}}).Code)
	h.clk.Advance(time.Minute)
	h.clk.Advance(-time.Minute) // back to t0, so the harness token stays valid
	v["from"] = strconv.FormatInt(t0.Add(-time.Hour).Unix(), 10)
	v["to"] = strconv.FormatInt(t0.AddDate(0, 1, 0).Unix(), 10)
	return v
}

func contractScenarios() []contractScenario {
	tok := map[string]string{"imp_key": DefaultKey, "imp_secret": DefaultSecret}
	againOK := map[string]any{"customer_uid": "c2", "merchant_uid": "new-1", "amount": 1000, "name": "n"}
	return []contractScenario{
		// getToken
		{name: "token json", method: "POST", path: "/users/getToken", body: tok, noAuth: true, wantStatus: 200, wantCode: code(0)},
		{name: "token form", method: "POST", path: "/users/getToken", body: "imp_key=" + DefaultKey + "&imp_secret=" + DefaultSecret, noAuth: true, wantStatus: 200, wantCode: code(0)},
		{name: "token wrong secret", method: "POST", path: "/users/getToken", body: map[string]string{"imp_key": DefaultKey, "imp_secret": "x"}, noAuth: true, wantStatus: 401},
		{name: "token missing fields", method: "POST", path: "/users/getToken", body: map[string]string{}, noAuth: true, wantStatus: 400},

		// customers
		{name: "customer", method: "GET", path: "/subscribe/customers/c1", wantStatus: 200, wantCode: code(0)},
		{name: "customer without details", method: "GET", path: "/subscribe/customers/bare", wantStatus: 200, wantCode: code(0)},
		{name: "customer unknown (200 mode)", method: "GET", path: "/subscribe/customers/ghost", wantStatus: 200, wantCode: code(1)},
		{name: "customers all", method: "GET", path: "/subscribe/customers?customer_uid[]=c1&customer_uid[]=c2", wantStatus: 200, wantCode: code(0)},
		{name: "customers partial", method: "GET", path: "/subscribe/customers?customer_uid[]=c1&customer_uid[]=ghost", wantStatus: 207, wantCode: code(0)},
		{name: "customers none", method: "GET", path: "/subscribe/customers?customer_uid[]=ghost", wantStatus: 207, wantCode: code(0)},
		{name: "customers missing param", method: "GET", path: "/subscribe/customers", wantStatus: 400},
		{name: "issue refused", method: "POST", path: "/subscribe/customers/new", body: map[string]any{"pg": "naverpay"}, wantStatus: 200, wantCode: code(1)},
		{name: "delete customer", method: "DELETE", path: "/subscribe/customers/to-delete?reason=x&extra[requester]=admin", wantStatus: 200, wantCode: code(0)},
		{name: "delete unknown (200 mode)", method: "DELETE", path: "/subscribe/customers/ghost", wantStatus: 200, wantCode: code(1)},
		{name: "customer payments", method: "GET", path: "/subscribe/customers/c1/payments", wantStatus: 200, wantCode: code(0)},
		{name: "customer payments unknown", method: "GET", path: "/subscribe/customers/ghost/payments?page=1", wantStatus: 200, wantCode: code(0)},
		{name: "customer payments bad page", method: "GET", path: "/subscribe/customers/c1/payments?page=x", wantStatus: 400},
		{name: "customer schedules", method: "GET", path: "/subscribe/customers/c1/schedules?from={from}&to={to}", wantStatus: 200, wantCode: code(0)},
		{name: "customer schedules filtered", method: "GET", path: "/subscribe/customers/c1/schedules?from={from}&to={to}&schedule-status=executed", wantStatus: 200, wantCode: code(0)},
		{name: "customer schedules bad window", method: "GET", path: "/subscribe/customers/c1/schedules?from={to}&to={from}", wantStatus: 400},

		// again
		{name: "again paid", method: "POST", path: "/subscribe/payments/again", body: againOK, wantStatus: 200, wantCode: code(0)},
		{name: "again paid form", method: "POST", path: "/subscribe/payments/again", body: "customer_uid=c2&merchant_uid=new-2&amount=1000&name=n&extra[naverUseCfm]=" + kstDate(t0), wantStatus: 200, wantCode: code(0)},
		{name: "again declined", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c2", "merchant_uid": "new-3", "amount": 1000, "name": "n"},
			setup: func(h *harness) { h.emu.AddFault(Fault{MerchantUID: "new-3", Action: FaultDecline, Times: 1}) }, wantStatus: 200, wantCode: code(0)},
		{name: "again decline_code", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c2", "merchant_uid": "new-4", "amount": 1000, "name": "n"},
			setup: func(h *harness) { h.emu.AddFault(Fault{MerchantUID: "new-4", Action: FaultDeclineCode, Times: 1}) }, wantStatus: 200, wantCode: code(-1)},
		{name: "again unknown customer", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "ghost", "merchant_uid": "x", "amount": 1000, "name": "n"}, wantStatus: 200, wantCode: code(-1)},
		{name: "again duplicate", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c1", "merchant_uid": "paid-1", "amount": 1000, "name": "n"}, wantStatus: 200, wantCode: code(1)},
		{name: "again missing name", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c1", "merchant_uid": "x", "amount": 1000}, wantStatus: 200, wantCode: code(1)},
		{name: "again under NaverPay minimum", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c1", "merchant_uid": "x", "amount": 9, "name": "n"}, wantStatus: 200, wantCode: code(-1)},
		{name: "again malformed", method: "POST", path: "/subscribe/payments/again", body: rawJSON(`{"customer_uid":`), wantStatus: 400},
		{name: "again injected 500", method: "POST", path: "/subscribe/payments/again", body: map[string]any{"customer_uid": "c2", "merchant_uid": "new-5", "amount": 1000, "name": "n"},
			setup: func(h *harness) { h.emu.AddFault(Fault{Op: OpAgain, Action: FaultErrorBeforeCommit, Times: 1}) }, wantStatus: 500},

		// payments
		{name: "payment paid", method: "GET", path: "/payments/{imp_paid}", wantStatus: 200, wantCode: code(0)},
		{name: "payment without buyer", method: "GET", path: "/payments/{imp_bare}", wantStatus: 200, wantCode: code(0)},
		{name: "payment registration", method: "GET", path: "/payments/{imp_reg}", wantStatus: 200, wantCode: code(0)},
		{name: "payment failed", method: "GET", path: "/payments/{imp_failed}", wantStatus: 200, wantCode: code(0)},
		{name: "payment cancelled", method: "GET", path: "/payments/{imp_cancelled}?include_sandbox=true", wantStatus: 200, wantCode: code(0)},
		{name: "payment unknown", method: "GET", path: "/payments/imp_000000000000", wantStatus: 404},
		{name: "payment bad include_sandbox", method: "GET", path: "/payments/{imp_paid}?include_sandbox=maybe", wantStatus: 400},
		{name: "payments all", method: "GET", path: "/payments?imp_uid[]={imp_paid}&merchant_uid[]=cancelled-1", wantStatus: 200, wantCode: code(0)},
		{name: "payments partial", method: "GET", path: "/payments?imp_uid[]={imp_paid}&imp_uid[]=imp_000000000000", wantStatus: 207, wantCode: code(0)},
		{name: "payments none", method: "GET", path: "/payments?imp_uid[]=imp_000000000000", wantStatus: 404},
		{name: "payments no ids", method: "GET", path: "/payments", wantStatus: 400},
		{name: "find", method: "GET", path: "/payments/find/paid-1", wantStatus: 200, wantCode: code(0)},
		{name: "find with status", method: "GET", path: "/payments/find/failed-1/failed?sorting=started", wantStatus: 200, wantCode: code(0)},
		{name: "find unknown", method: "GET", path: "/payments/find/ghost", wantStatus: 404},
		{name: "find bad status", method: "GET", path: "/payments/find/paid-1/refunded", wantStatus: 400},
		{name: "findAll", method: "GET", path: "/payments/findAll/paid-1", wantStatus: 200, wantCode: code(0)},
		{name: "findAll with status", method: "GET", path: "/payments/findAll/cancelled-1/cancelled?limit=5&page=1", wantStatus: 200, wantCode: code(0)},
		{name: "findAll unknown", method: "GET", path: "/payments/findAll/ghost", wantStatus: 404},
		{name: "findAll bad limit", method: "GET", path: "/payments/findAll/paid-1?limit=0", wantStatus: 400},
		{name: "by status paid", method: "GET", path: "/payments/status/paid?from={from}&to={to}&limit=1000&sorting=paid", wantStatus: 200, wantCode: code(0)},
		{name: "by status all, defaults", method: "GET", path: "/payments/status/all", wantStatus: 200, wantCode: code(0)},
		{name: "by status cancelled", method: "GET", path: "/payments/status/cancelled?from={from}&to={to}&page=1&limit=1", wantStatus: 200, wantCode: code(0)},
		{name: "by status bad status", method: "GET", path: "/payments/status/refunded", wantStatus: 400},
		{name: "by status page past the end", method: "GET", path: "/payments/status/failed?from={from}&to={to}&page=9", wantStatus: 400},

		// cancel
		{name: "cancel partial", method: "POST", path: "/payments/cancel", body: map[string]any{"imp_uid": "{imp_paid}", "amount": 1000, "checksum": 10000, "reason": "r", "extra": map[string]any{"requester": "customer"}}, wantStatus: 200, wantCode: code(0)},
		{name: "cancel rest by merchant_uid", method: "POST", path: "/payments/cancel", body: "merchant_uid=paid-1&reason=r&extra[requester]=admin", wantStatus: 200, wantCode: code(0)},
		{name: "cancel already cancelled", method: "POST", path: "/payments/cancel", body: map[string]any{"imp_uid": "{imp_cancelled}"}, wantStatus: 200, wantCode: code(1)},
		{name: "cancel nothing", method: "POST", path: "/payments/cancel", body: map[string]any{"merchant_uid": "ghost"}, wantStatus: 200, wantCode: code(1)},
		{name: "cancel no id", method: "POST", path: "/payments/cancel", body: map[string]any{}, wantStatus: 200, wantCode: code(1)},

		// schedules
		{name: "schedule", method: "POST", path: "/subscribe/payments/schedule", body: map[string]any{"customer_uid": "c2",
			"schedules": []any{entry("s-new", t0.Add(time.Hour), 1000, map[string]any{"buyer_email": "a@b.c", "custom_data": "x"})}}, wantStatus: 200, wantCode: code(0)},
		{name: "schedule form", method: "POST", path: "/subscribe/payments/schedule", body: fmt.Sprintf("customer_uid=c2&schedules[0][merchant_uid]=s-form&schedules[0][schedule_at]=%d&schedules[0][amount]=1000&schedules[0][name]=n", t0.Add(time.Hour).Unix()), wantStatus: 200, wantCode: code(0)},
		{name: "schedule duplicate", method: "POST", path: "/subscribe/payments/schedule", body: map[string]any{"customer_uid": "c1",
			"schedules": []any{entry("s-pending", t0.Add(time.Hour), 1000)}}, wantStatus: 200, wantCode: code(1)},
		{name: "schedule unknown customer", method: "POST", path: "/subscribe/payments/schedule", body: map[string]any{"customer_uid": "ghost",
			"schedules": []any{entry("s-x", t0.Add(time.Hour), 1000)}}, wantStatus: 200, wantCode: code(1)},
		{name: "unschedule", method: "POST", path: "/subscribe/payments/unschedule", body: map[string]any{"customer_uid": "c2", "merchant_uid": []string{"s-new"}}, wantStatus: 200, wantCode: code(0)},
		{name: "unschedule nothing", method: "POST", path: "/subscribe/payments/unschedule", body: map[string]any{"customer_uid": "ghost"}, wantStatus: 200, wantCode: code(1)},
		{name: "schedule executed", method: "GET", path: "/subscribe/payments/schedule/s-exec", wantStatus: 200, wantCode: code(0)},
		{name: "schedule pending", method: "GET", path: "/subscribe/payments/schedule/s-pending", wantStatus: 200, wantCode: code(0)},
		{name: "schedule revoked", method: "GET", path: "/subscribe/payments/schedule/s-revoked", wantStatus: 200, wantCode: code(0)},
		{name: "schedule unknown", method: "GET", path: "/subscribe/payments/schedule/ghost", wantStatus: 404},
		{name: "schedules by customer", method: "GET", path: "/subscribe/payments/schedule/customers/c1?from={from}&to={to}&page=1", wantStatus: 200, wantCode: code(0)},
		{name: "schedules by customer unknown", method: "GET", path: "/subscribe/payments/schedule/customers/ghost?from={from}&to={to}", wantStatus: 200, wantCode: code(0)},
		{name: "schedules by customer missing to", method: "GET", path: "/subscribe/payments/schedule/customers/c1?from={from}", wantStatus: 400},
		{name: "schedules by range", method: "GET", path: "/subscribe/payments/schedule?schedule_from={from}&schedule_to={to}&limit=2", wantStatus: 200, wantCode: code(0)},
		{name: "schedules by range revoked", method: "GET", path: "/subscribe/payments/schedule?schedule_from={from}&schedule_to={to}&schedule_status=revoked&sorting=scheduled", wantStatus: 200, wantCode: code(0)},
		{name: "schedules by range bad", method: "GET", path: "/subscribe/payments/schedule?schedule_from={from}", wantStatus: 400},

		// outside the document
		{name: "unknown route", method: "GET", path: "/subscribe/payments/onetime", wantStatus: 404},
		{name: "wrong method", method: "PUT", path: "/payments/cancel", wantStatus: 405},
	}
}

// rawJSON is a request body sent verbatim as JSON.
type rawJSON string

func TestContract(t *testing.T) {
	c := loadContract(t)
	seen := map[string]bool{}
	record := func(key string, status int) { seen[fmt.Sprintf("%s %d", key, status)] = true }

	h := newHarness(t)
	vars := contractFixture(t, h)
	for _, sc := range contractScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			if sc.setup != nil {
				sc.setup(h)
			}
			path := fill(sc.path, vars)
			status, header, body := contractDo(t, h, sc.method, path, fillBody(sc.body, vars), sc.noAuth)
			require.Equal(t, sc.wantStatus, status, "%s", body)
			if sc.wantCode != nil {
				var env struct{ Code int }
				require.NoError(t, json.Unmarshal(body, &env))
				require.Equal(t, *sc.wantCode, env.Code, "%s", body)
			}
			key, err := c.check(sc.method, strings.SplitN(path, "?", 2)[0], status, header, body)
			require.NoError(t, err)
			record(key, status)
		})
	}

	t.Run("401 on every authenticated route", func(t *testing.T) {
		for _, rt := range h.emu.routes {
			if !rt.auth {
				continue
			}
			path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.pattern, "x")
			status, header, body := contractDo(t, h, rt.method, path, nil, true)
			require.Equal(t, http.StatusUnauthorized, status)
			key, err := c.check(rt.method, path, status, header, body)
			require.NoError(t, err)
			record(key, status)
		}
	})

	t.Run("404 mode for unknown customers", func(t *testing.T) {
		h404 := newHarness(t, func(o *Options) { o.CustomerNotFoundStatus = http.StatusNotFound })
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			status, header, body := contractDo(t, h404, method, "/subscribe/customers/ghost", nil, false)
			require.Equal(t, http.StatusNotFound, status)
			key, err := c.check(method, "/subscribe/customers/ghost", status, header, body)
			require.NoError(t, err)
			record(key, status)
		}
	})

	t.Run("413 on an oversized body", func(t *testing.T) {
		big := rawJSON(`{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`)
		status, header, body := contractDo(t, h, http.MethodPost, "/subscribe/payments/again", big, false)
		require.Equal(t, http.StatusRequestEntityTooLarge, status)
		key, err := c.check(http.MethodPost, "/subscribe/payments/again", status, header, body)
		require.NoError(t, err)
		record(key, status)
	})

	t.Run("every nullable exception is needed", func(t *testing.T) {
		for def, props := range nullableExceptions {
			for _, p := range props {
				ps := c.doc.Components.Schemas[def].Value.Properties[p].Value
				require.True(t, c.nullSeen[ps], "nullableExceptions lists %s.%s, but no answer had it null: remove it", def, p)
			}
		}
	})

	t.Run("every declared status is produced or explained", func(t *testing.T) {
		var missing []string
		for path, item := range c.doc.Paths.Map() {
			for method, op := range item.Operations() {
				for status := range op.Responses.Map() {
					key := fmt.Sprintf("%s %s", routeKey(method, path), status)
					if !seen[key] && undeclaredStatusesNotProduced[key] == "" {
						missing = append(missing, key)
					}
				}
			}
		}
		sort.Strings(missing)
		require.Empty(t, slices.Compact(missing), "declared statuses no scenario produced")
	})
}

func fill(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func fillBody(b any, vars map[string]string) any {
	switch x := b.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range x {
			if s, ok := v.(string); ok {
				v = fill(s, vars)
			}
			out[k] = v
		}
		return out
	default:
		return b
	}
}

func contractDo(t *testing.T, h *harness, method, path string, body any, noAuth bool) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case rawJSON:
		rd, ct = strings.NewReader(string(b)), "application/json"
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		js, err := json.Marshal(b)
		require.NoError(t, err)
		rd, ct = bytes.NewReader(js), "application/json"
	}
	u, err := url.Parse(h.srv.URL + path)
	require.NoError(t, err)
	req, err := http.NewRequest(method, u.String(), rd)
	require.NoError(t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if !noAuth {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// TestContractCheckerCatchesDepartures proves the checker is not vacuous: each mutation of a
// valid answer must be rejected.
func TestContractCheckerCatchesDepartures(t *testing.T) {
	c := loadContract(t)
	h := newHarness(t)
	h.register("c1")
	r := h.again("c1", "m-1", 1000)
	require.Equal(t, 0, r.Code)
	path := "/subscribe/payments/again"
	_, err := c.check(http.MethodPost, path, r.Status, r.Header, []byte(r.Raw))
	require.NoError(t, err, "the unmutated answer passes")

	mutate := func(f func(env, payment map[string]any)) []byte {
		var env map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.Raw), &env))
		f(env, env["response"].(map[string]any))
		b, err := json.Marshal(env)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name   string
		status int
		body   []byte
		header http.Header
		want   string
	}{
		{"amount as a string", 200, mutate(func(_, p map[string]any) { p["amount"] = "1000" }), nil, "does not match the document"},
		{"required imp_uid missing", 200, mutate(func(_, p map[string]any) { delete(p, "imp_uid") }), nil, "does not match the document"},
		{"status null (not a listed exception)", 200, mutate(func(_, p map[string]any) { p["status"] = nil }), nil, "does not match the document"},
		{"paid_at null (timestamps are 0, never null)", 200, mutate(func(_, p map[string]any) { p["paid_at"] = nil }), nil, "does not match the document"},
		{"undeclared field", 200, mutate(func(_, p map[string]any) { p["customer_email"] = "x" }), nil, "does not declare: [$.response.customer_email]"},
		{"undeclared envelope field", 200, mutate(func(env, _ map[string]any) { env["extra"] = 1 }), nil, "exactly code, message, response"},
		{"undeclared status", 201, []byte(r.Raw), nil, "does not declare"},
		{"error with a response", 200, mutate(func(env, _ map[string]any) { env["code"] = 1; env["message"] = "x" }), nil, "null response"},
		{"error without message", 200, mutate(func(env, _ map[string]any) { env["code"] = 1; env["message"] = nil; env["response"] = nil }), nil, "non-empty message"},
		{"wrong content type", 200, []byte(r.Raw), http.Header{"Content-Type": {"text/plain"}}, "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := tt.header
			if hdr == nil {
				hdr = r.Header
			}
			_, err := c.check(http.MethodPost, path, tt.status, hdr, tt.body)
			require.ErrorContains(t, err, tt.want)
		})
	}

	// Schedule queries must be paged objects, not the document's array.
	var list []any
	_, err = c.check(http.MethodGet, "/subscribe/payments/schedule", 200, r.Header, mustJSON(t, map[string]any{"code": 0, "message": nil, "response": list}))
	require.ErrorContains(t, err, "does not match the document")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
