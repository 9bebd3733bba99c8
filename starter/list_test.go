package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestBuildListQuery(t *testing.T) {
	tests := []struct {
		name string
		f    listFilter
		want string
	}{
		{"all subscriptions", listFilter{}, "WorkflowType='Subscription'"},
		{"past due", listFilter{status: "past_due"}, "WorkflowType='Subscription' AND BillingStatus='past_due'"},
		{"every filter", listFilter{status: "active", customer: "cust-1", plan: "Pro monthly", open: true, raw: "NextChargeAt < '2026-03-01T00:00:00+09:00'"},
			"WorkflowType='Subscription' AND BillingStatus='active' AND CustomerUID='cust-1' AND PlanName='Pro monthly' AND ExecutionStatus='Running' AND (NextChargeAt < '2026-03-01T00:00:00+09:00')"},
		{"raw query is parenthesised", listFilter{raw: " AmountKRW > 10000 OR BillingCycle > 12 "},
			"WorkflowType='Subscription' AND (AmountKRW > 10000 OR BillingCycle > 12)"},
		{"quotes cannot end the literal", listFilter{plan: `Tom's plan`, customer: `a\'b`},
			`WorkflowType='Subscription' AND CustomerUID='a\\\'b' AND PlanName='Tom\'s plan'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildListQuery(tt.f)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := buildListQuery(listFilter{status: "pastdue"})
	require.ErrorContains(t, err, `-status: "pastdue" is not a status; one of awaiting_registration, active, past_due, payment_method_required, paused, canceled, expired`)
}

func TestListRowsFromVisibility(t *testing.T) {
	dc := converter.GetDefaultDataConverter()
	payload := func(v any) *commonpb.Payload {
		p, err := dc.ToPayload(v)
		require.NoError(t, err)
		return p
	}
	next := kstTime(2026, 2, 15, 10, 0)
	e := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "subscription/sub-1001", RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		StartTime: timestamppb.New(kstTime(2025, 11, 15, 9, 0)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			"BillingStatus": payload("past_due"),
			"CustomerUID":   payload("cust-1001"),
			"PlanName":      payload("Pro monthly"),
			"AmountKRW":     payload(int64(12900)),
			"BillingCycle":  payload(int64(3)),
			"NextChargeAt":  payload(next),
		}},
	}
	r := rowFrom(e)
	require.Equal(t, listRow{
		SubscriptionID: "sub-1001", WorkflowID: "subscription/sub-1001", RunID: "run-1", Status: "past_due",
		CustomerUID: "cust-1001", Plan: "Pro monthly", Amount: 12900, Cycle: 3, NextChargeAt: next,
		WorkflowStatus: "Running", StartedAt: kstTime(2025, 11, 15, 9, 0),
	}, r)

	var b bytes.Buffer
	renderList(&b, []listRow{r, {SubscriptionID: "sub-2", WorkflowID: "subscription/sub-2", WorkflowStatus: "Completed", Status: "canceled", Plan: "Basic", Amount: 4900, Cycle: 12, ClosedAt: time.Now()}})
	require.Equal(t, `SUBSCRIPTION  STATUS    PLAN         AMOUNT  CYCLE  NEXT CHARGE (KST)    WORKFLOW
sub-1001      past_due  Pro monthly  12,900  3      2026-02-15 10:00:00  Running
sub-2         canceled  Basic        4,900   12     -                    Completed
`, b.String())
}
