package reconcile

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paycycle/paycycle/billing"
)

// TemporalSubscriptions reads the subscription workflows through a Temporal client. Give it
// the worker's own client: it carries the codec data converter, so encrypted states decode.
type TemporalSubscriptions struct {
	Client client.Client
	// PageSize is the visibility page size (default 500).
	PageSize int32
}

var _ Subscriptions = TemporalSubscriptions{}

// List implements Subscriptions through ListWorkflowExecutions.
func (t TemporalSubscriptions) List(ctx context.Context, query string, token []byte) ([]Execution, []byte, error) {
	size := t.PageSize
	if size <= 0 {
		size = 500
	}
	resp, err := t.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: size, NextPageToken: token, Query: query})
	if err != nil {
		return nil, nil, err
	}
	out := make([]Execution, 0, len(resp.GetExecutions()))
	for _, e := range resp.GetExecutions() {
		out = append(out, Execution{
			WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
			ContinuedAsNew: e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
		})
	}
	return out, resp.GetNextPageToken(), nil
}

// State implements Subscriptions: the result of a completed run (no worker needed), otherwise
// the state query (a closed run is replayed by a worker to answer it).
func (t TemporalSubscriptions) State(ctx context.Context, workflowID, runID string) (billing.State, error) {
	var st billing.State
	desc, err := t.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return st, err
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := t.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &st); err == nil && st.SubscriptionID != "" {
			return st, nil
		}
	}
	v, err := t.Client.QueryWorkflow(ctx, workflowID, runID, billing.QueryState)
	if err != nil {
		return st, err
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode the state of %s: %w", workflowID, err)
	}
	return st, nil
}

// Mark implements Subscriptions with the mark_attention signal to the current run.
func (t TemporalSubscriptions) Mark(ctx context.Context, workflowID string, req billing.AttentionRequest) error {
	err := t.Client.SignalWorkflow(ctx, workflowID, "", billing.MsgMarkAttention, req)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %s", ErrEnded, workflowID)
	}
	return err
}
