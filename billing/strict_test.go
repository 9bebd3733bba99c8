package billing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paycycle/paycycle/billing"
)

func TestDecodeStrictRefusesWhatJSONForgives(t *testing.T) {
	tests := []struct {
		name      string
		into      func() any
		raw       string
		wantField string
		want      string
	}{
		{"misspelt message field", func() any { return &billing.CancelRequest{} }, `{"whenn":"now","reason":"x"}`,
			"whenn", `unknown field (did you mean "when"?)`},
		{"input field without underscore", func() any { return &billing.SubscriptionInput{} },
			`{"subscription_id":"s1","customer_uid":"c1","plan":{"name":"P","amount":9900,"anchorday":15,"interval":{"unit":"month","count":1}}}`,
			"plan.anchorday", `did you mean "anchor_day"?`},
		{"top-level field", func() any { return &billing.SubscriptionInput{} }, `{"subscription_id":"s1","firstcharge":"anchor"}`,
			"firstcharge", `did you mean "first_charge"?`},
		{"case differs", func() any { return &billing.SubscriptionInput{} }, `{"Subscription_ID":"s1"}`,
			"Subscription_ID", `did you mean "subscription_id"?`},
		{"nothing close", func() any { return &billing.CancelRequest{} }, `{"colour":"red"}`,
			"colour", "known fields: "},
		{"nested object", func() any { return &billing.SubscriptionInput{} },
			`{"buyer":{"name":"n","tell":"010"}}`, "buyer.tell", `did you mean "tel"?`},
		{"wrong type names the field", func() any { return &billing.SubscriptionInput{} }, `{"plan":{"amount":"lots"}}`,
			"plan.amount", "must be a whole number"},
		{"two values", func() any { return &billing.CancelRequest{} }, `{"reason":"a"} {"reason":"b"}`,
			"(input)", "more than one JSON value"},
		{"not JSON", func() any { return &billing.CancelRequest{} }, "{\n\"reason\": }", "(input)", "not valid JSON at line 2"},
		{"empty", func() any { return &billing.CancelRequest{} }, "", "(input)", "empty"},
		{"null message", func() any { return &billing.PauseRequest{} }, "null", "(input)", "must be a JSON object, got null"},
		{"null with white space", func() any { return &billing.ResumeRequest{} }, " null\n", "(input)", "got null"},
		{"null input file", func() any { return &billing.SubscriptionInput{} }, "null", "(input)", "got null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := billing.DecodeStrict([]byte(tt.raw), tt.into())
			var ie *billing.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("DecodeStrict(%s) = %v, want an *InputError", tt.raw, err)
			}
			if ie.Field != tt.wantField || !strings.Contains(ie.Reason, tt.want) {
				t.Fatalf("got field %q reason %q, want field %q reason containing %q", ie.Field, ie.Reason, tt.wantField, tt.want)
			}
		})
	}
}

func TestDecodeStrictAcceptsWhatMarshalWrites(t *testing.T) {
	var in billing.SubscriptionInput
	raw := `{"subscription_id":"s1","customer_uid":"c1","first_charge":"anchor",
	  "plan":{"name":"P","amount":9900,"anchor_day":15,"interval":{"unit":"month","count":1}},
	  "buyer":{"name":"홍길동","tel":"010-1234-5678"},"dunning":{"retry_after":["1d","3d"]}}`
	if err := billing.DecodeStrict([]byte(raw), &in); err != nil {
		t.Fatalf("DecodeStrict: %v", err)
	}
	if in.Plan.AnchorDay != 15 || in.FirstCharge != "anchor" || len(in.Dunning.RetryAfter) != 2 {
		t.Fatalf("decoded %+v", in)
	}
	var c billing.CancelRequest
	if err := billing.DecodeStrict([]byte(`{"when":"now","reason":"중도 해지","requester":"customer","refund":"prorata"}`), &c); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if err := billing.DecodeStrict([]byte(`{}`), nil); err == nil {
		t.Fatal("a nil target was accepted")
	}
}
