package billing_test

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/paycycle/paycycle/billing"
)

func TestStartOptions(t *testing.T) {
	in := billing.SubscriptionInput{SubscriptionID: "sub-1", CustomerUID: "cust-1", Plan: billing.Plan{Name: "Pro", Amount: 9900}}
	tests := []struct {
		queue, want string
	}{{"", billing.TaskQueue}, {"billing-canary", "billing-canary"}}
	for _, tt := range tests {
		o := billing.StartOptions(in, tt.queue)
		if o.ID != "subscription/sub-1" || o.TaskQueue != tt.want {
			t.Fatalf("ID %q queue %q", o.ID, o.TaskQueue)
		}
		if !o.WorkflowExecutionErrorWhenAlreadyStarted || o.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL {
			t.Fatal("a second start of a running subscription must be refused")
		}
		sa := o.TypedSearchAttributes
		if v, _ := sa.GetKeyword(billing.SACustomerUID); v != "cust-1" {
			t.Fatalf("CustomerUID = %q", v)
		}
		if v, _ := sa.GetInt64(billing.SAAmountKRW); v != 9900 {
			t.Fatalf("AmountKRW = %d", v)
		}
		if v, _ := sa.GetKeyword(billing.SABillingStatus); v != string(billing.StatusAwaitingRegistration) {
			t.Fatalf("BillingStatus = %q", v)
		}
	}
}
