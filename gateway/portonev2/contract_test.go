package portonev2

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestContractCheckerCatchesDepartures proves the fake's checks can fail: requests PortOne's
// document refuses (no PortOne credentials, a charge without currency, a list filter with an
// enum value the document does not have, a cancel whose reason is missing) are each reported,
// and a well-formed one is not.
func TestContractCheckerCatchesDepartures(t *testing.T) {
	f := newFake(t)
	f.on("POST /payments/{paymentId}/billing-key", func(seen) answer {
		return ok(map[string]any{"payment": map[string]any{"pgTxId": "pg-1", "paidAt": t1}})
	})
	f.on("GET /payments", func(seen) answer { return ok(page([]any{})) })
	f.on("POST /payments/{paymentId}/cancel", func(seen) answer { return typedError(404, "PAYMENT_NOT_FOUND") })
	good := map[string]any{"billingKey": "bk-1", "orderName": "월 구독", "amount": map[string]any{"total": 1000}, "currency": "KRW"}
	send := func(method, path, auth string, body any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, err := http.NewRequest(method, f.srv.URL+path, rd)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
	cases := []struct {
		name             string
		method, path     string
		auth             string
		body             any
		wantViolationHas string
	}{
		{"well formed", "POST", "/payments/p-1/billing-key", "PortOne s", good, ""},
		{"no credentials", "POST", "/payments/p-1/billing-key", "", good, "security"},
		{"bearer instead of PortOne", "POST", "/payments/p-1/billing-key", "Bearer s", good, "security"},
		{"no currency", "POST", "/payments/p-1/billing-key", "PortOne s",
			map[string]any{"billingKey": "bk-1", "orderName": "x", "amount": map[string]any{"total": 1000}}, "currency"},
		{"amount as a string", "POST", "/payments/p-1/billing-key", "PortOne s",
			map[string]any{"billingKey": "bk-1", "orderName": "x", "amount": map[string]any{"total": "1000"}, "currency": "KRW"}, "total"},
		{"a list filter with an unknown enum value", "GET", "/payments?requestBody=" +
			url.QueryEscape(`{"filter":{"timestampType":"WHENEVER"}}`), "PortOne s", nil, "WHENEVER"},
		{"a cancel without its reason", "POST", "/payments/p-1/cancel", "PortOne s", map[string]any{"currentCancellableAmount": 1000}, "reason"},
	}
	for _, c := range cases {
		send(c.method, c.path, c.auth, c.body)
		v := f.takeViolations()
		if c.wantViolationHas == "" {
			require.Empty(t, v, c.name)
			continue
		}
		require.NotEmpty(t, v, "%s: the checker saw nothing wrong", c.name)
		require.Contains(t, strings.Join(v, "\n"), c.wantViolationHas, c.name)
	}
}

// TestEveryErrorTypeIsMapped: every error type the operations this package calls can answer,
// per the document's discriminator mappings, is in errorTypes or handled by name (PG_PROVIDER
// on a charge is a decline; CHANNEL_SPECIFIC is a 5xx-like partial failure). A new type in a
// newer document shows up here.
func TestEveryErrorTypeIsMapped(t *testing.T) {
	s := loadSpec(t)
	var missing []string
	for _, op := range usedOperations {
		method, path, _ := strings.Cut(op, " ")
		operation := s.doc.Paths.Value(path).GetOperation(method)
		require.NotNil(t, operation, op)
		for code, resp := range operation.Responses.Map() {
			if strings.HasPrefix(code, "2") || resp.Value == nil || resp.Value.Content["application/json"] == nil {
				continue
			}
			schema := resp.Value.Content["application/json"].Schema.Value
			if schema.Discriminator == nil {
				continue
			}
			for typ := range schema.Discriminator.Mapping {
				if _, ok := errorTypes[typ]; !ok && typ != "CHANNEL_SPECIFIC" && !slices.Contains(missing, typ) {
					missing = append(missing, typ)
				}
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "error types with no class")
}
