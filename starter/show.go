package main

import (
	"context"
	"errors"
	"flag"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
)

func showCommand() *command {
	return &command{
		name:    "show",
		summary: "show a subscription: status, plan, next charge, dunning, charges, refunds, events",
		usage:   "starter show -id ID [-json] [-charges N] [-events N] [flags]",
		about: `Ask the subscription for its state (query "state") and print a summary: status and why, plan and
amount, cycle and current period, next charge (KST), pending cancel, pause or plan change, dunning,
then its charge attempts (merchant_uid, imp_uid, outcome), refunds and latest events. For an
ended subscription the final state is read from the workflow's result, which needs no worker.
-json prints the raw state, as 'temporal workflow query --type state' would.`,
		examples: []string{
			`starter show -id sub-1001`,
			`starter show -id sub-1001 -json | jq '.charges[] | select(.outcome != "paid")'`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			id := fs.String("id", "", "subscription ID (required)")
			asJSON := fs.Bool("json", false, "print the raw state JSON")
			charges := fs.Int("charges", 24, "show the latest N charge attempts (0: all the state holds)")
			events := fs.Int("events", 10, "show the latest N events")
			return func(ctx context.Context) error {
				if err := checkID(*id); err != nil {
					return err
				}
				st, wf, err := a.fetchState(ctx, *id)
				if err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(a.stdout, st)
				}
				renderState(a.stdout, st, wf, a.now(), showOptions{Charges: max(*charges, 0), Events: *events})
				return nil
			}
		},
	}
}

// fetchState reads a subscription's state: from the query while the workflow runs, from its
// result once it completed (so ended subscriptions can be shown with no worker running).
func (a *app) fetchState(ctx context.Context, id string) (billing.State, workflowInfo, error) {
	var st billing.State
	c, err := a.dial(ctx)
	if err != nil {
		return st, workflowInfo{}, err
	}
	defer c.Close()
	wfID := billing.WorkflowID(id)
	desc, err := c.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		return st, workflowInfo{}, a.explain(err, id, "lookup")
	}
	info := desc.GetWorkflowExecutionInfo()
	wf := workflowInfo{WorkflowID: wfID, RunID: info.GetExecution().GetRunId(), Status: info.GetStatus().String()}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := c.GetWorkflow(ctx, wfID, wf.RunID).Get(ctx, &st); err == nil {
			return st, wf, nil
		}
		// Fall through to the query, which replays the history on a worker.
	}
	v, err := c.QueryWorkflow(ctx, wfID, wf.RunID, billing.QueryState)
	if err != nil {
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			// A workflow that failed at once (an input the worker refuses, such as a demo interval
			// on a worker not in demo mode) has no state to query; its failure is the answer.
			if runErr := c.GetWorkflow(ctx, wfID, wf.RunID).Get(ctx, nil); runErr != nil {
				why := rootCause(runErr).Error()
				var appErr *temporal.ApplicationError
				if errors.As(runErr, &appErr) {
					why = appErr.Message()
				}
				return st, wf, failed("subscription %s did not run: its workflow %s is %s: %s", id, wfID, info.GetStatus(), why)
			}
		}
		return st, wf, a.explain(err, id, "state query")
	}
	if err := v.Get(&st); err != nil {
		return st, wf, failed("decode the state of %s: %v (is PAYCYCLE_CODEC_KEYS the worker's?)", id, err)
	}
	return st, wf, nil
}
