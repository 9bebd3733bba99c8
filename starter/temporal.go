package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
)

// notFound is the message for a subscription Temporal does not know.
func notFound(id string) error {
	return &cliError{code: exitNotFound, msg: fmt.Sprintf("no subscription %s (workflow %s not found)", id, billing.WorkflowID(id))}
}

// explain turns an error from a Temporal call about subscription id into a cliError a person can
// act on. what names the call ("query", "update cancel") for timeouts.
func (a *app) explain(err error, id, what string) error {
	if err == nil {
		return nil
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	var (
		nf      *serviceerror.NotFound
		nsnf    *serviceerror.NamespaceNotFound
		unavail *serviceerror.Unavailable
		appErr  *temporal.ApplicationError
		qf      *serviceerror.QueryFailed
		invalid *serviceerror.InvalidArgument
	)
	switch {
	case errors.As(err, &appErr):
		// The workflow refused: its validator or handler message is the answer, verbatim.
		return refused("refused by subscription %s: %s", id, appErr.Message())
	case errors.As(err, &nf):
		return notFound(id)
	case errors.As(err, &nsnf):
		return failed("namespace %q does not exist on Temporal at %s; set -namespace or TEMPORAL_NAMESPACE", a.tc.Namespace, a.tc.Address)
	case errors.As(err, &qf):
		return failed("the workflow could not answer the %s: %s", what, qf.Message)
	case errors.As(err, &invalid):
		return refused("Temporal refused the %s: %s", what, invalid.Message)
	case errors.Is(err, context.DeadlineExceeded), isDeadline(err), isUpdateTimeout(err):
		if id == "" {
			return failed("timed out after %s waiting for the %s (raise -timeout to wait longer)", a.timeout, what)
		}
		// Queries and updates are answered by a worker, not by the server: no worker, no answer.
		return failed("timed out after %s waiting for the %s of subscription %s: is a billing worker running on task queue %q? (raise -timeout to wait longer)",
			a.timeout, what, id, billing.TaskQueue)
	case errors.As(err, &unavail):
		return failed("cannot reach Temporal at %s: %s", a.tc.Address, unavail.Message)
	case errors.Is(err, context.Canceled):
		return failed("interrupted")
	}
	if id == "" {
		return failed("%s failed: %v", what, err)
	}
	return failed("%s of subscription %s failed: %v", what, id, err)
}

func isUpdateTimeout(err error) bool {
	var te *client.WorkflowUpdateServiceTimeoutOrCanceledError
	return errors.As(err, &te) && !errors.Is(err, context.Canceled)
}

func isDeadline(err error) bool {
	var de *serviceerror.DeadlineExceeded
	return errors.As(err, &de)
}

// describeEnded is called after a message found no running workflow: it tells "never existed"
// (exit 3) from "has ended" (exit 2, with the final billing status), because the server answers
// NotFound for both.
func (a *app) describeEnded(ctx context.Context, c client.Client, id string) error {
	resp, err := c.DescribeWorkflowExecution(ctx, billing.WorkflowID(id), "")
	if err != nil {
		return a.explain(err, id, "lookup")
	}
	info := resp.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil
	}
	sa := decodeSearchAttributes(info.GetSearchAttributes())
	status := sa.status
	if status == "" {
		status = "unknown"
	}
	return refused("subscription %s has ended: its workflow %s is %s (billing status %s) since %s; start a new one with 'starter start'",
		id, billing.WorkflowID(id), info.GetStatus(), status, kst(info.GetCloseTime().AsTime()))
}

// saValues is the part of a workflow's search attributes the CLI shows.
type saValues struct {
	status   string
	customer string
	plan     string
	amount   int64
	cycle    int64
	next     time.Time
}

// decodeSearchAttributes reads the project's search attributes. They are never encrypted (the
// server must index them), so the default converter reads them even when payloads are encrypted.
func decodeSearchAttributes(sa *commonpb.SearchAttributes) saValues {
	var v saValues
	dc := converter.GetDefaultDataConverter()
	get := func(key string, out any) {
		if p, ok := sa.GetIndexedFields()[key]; ok && p != nil {
			_ = dc.FromPayload(p, out)
		}
	}
	get(billing.SABillingStatus.GetName(), &v.status)
	get(billing.SACustomerUID.GetName(), &v.customer)
	get(billing.SAPlanName.GetName(), &v.plan)
	get(billing.SAAmountKRW.GetName(), &v.amount)
	get(billing.SABillingCycle.GetName(), &v.cycle)
	get(billing.SANextChargeAt.GetName(), &v.next)
	return v
}
