package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/textfmt"
)

// listFilter is what 'starter list' filters on.
type listFilter struct {
	status   string
	customer string
	plan     string
	open     bool
	raw      string
}

// quote writes a visibility-query string literal. Backslashes and single quotes are escaped so a
// value can never end the literal and change the query.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// buildListQuery turns the filters into a Temporal visibility query over the project's search
// attributes, the same text an operator can pass to 'temporal workflow list --query'.
func buildListQuery(f listFilter) (string, error) {
	parts := []string{"WorkflowType=" + quote(billing.WorkflowType)}
	if f.status != "" {
		if !slices.Contains(billing.AllStatuses, billing.Status(f.status)) {
			names := make([]string, len(billing.AllStatuses))
			for i, s := range billing.AllStatuses {
				names[i] = string(s)
			}
			return "", refused("-status: %q is not a status; one of %s", f.status, strings.Join(names, ", "))
		}
		parts = append(parts, billing.SABillingStatus.GetName()+"="+quote(f.status))
	}
	if f.customer != "" {
		parts = append(parts, billing.SACustomerUID.GetName()+"="+quote(f.customer))
	}
	if f.plan != "" {
		parts = append(parts, billing.SAPlanName.GetName()+"="+quote(f.plan))
	}
	if f.open {
		parts = append(parts, "ExecutionStatus='Running'")
	}
	if raw := strings.TrimSpace(f.raw); raw != "" {
		parts = append(parts, "("+raw+")")
	}
	return strings.Join(parts, " AND "), nil
}

// listRow is one subscription as the visibility store sees it (search attributes, which lag the
// workflow's state by a moment).
type listRow struct {
	SubscriptionID string    `json:"subscription_id"`
	WorkflowID     string    `json:"workflow_id"`
	RunID          string    `json:"run_id"`
	Status         string    `json:"status"`
	CustomerUID    string    `json:"customer_uid"`
	Plan           string    `json:"plan"`
	Amount         int64     `json:"amount"`
	Cycle          int64     `json:"cycle"`
	NextChargeAt   time.Time `json:"next_charge_at,omitzero"`
	WorkflowStatus string    `json:"workflow_status"`
	StartedAt      time.Time `json:"started_at"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
}

func rowFrom(e *workflowpb.WorkflowExecutionInfo) listRow {
	sa := decodeSearchAttributes(e.GetSearchAttributes())
	id, _ := billing.SubscriptionIDFromWorkflowID(e.GetExecution().GetWorkflowId())
	r := listRow{
		SubscriptionID: id,
		WorkflowID:     e.GetExecution().GetWorkflowId(),
		RunID:          e.GetExecution().GetRunId(),
		Status:         sa.status,
		CustomerUID:    sa.customer,
		Plan:           sa.plan,
		Amount:         sa.amount,
		Cycle:          sa.cycle,
		NextChargeAt:   sa.next,
		WorkflowStatus: e.GetStatus().String(),
		StartedAt:      e.GetStartTime().AsTime(),
	}
	if e.GetCloseTime() != nil {
		r.ClosedAt = e.GetCloseTime().AsTime()
	}
	return r
}

func renderList(w io.Writer, rows []listRow) {
	if len(rows) == 0 {
		// A header over nothing reads like a failed fetch; say that nothing matched.
		fmt.Fprintln(w, "No subscriptions match.")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "SUBSCRIPTION\tSTATUS\tPLAN\tAMOUNT\tCYCLE\tNEXT CHARGE (KST)\tWORKFLOW")
	for _, r := range rows {
		id := r.SubscriptionID
		if id == "" {
			id = r.WorkflowID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", id, dash(r.Status), dash(r.Plan), textfmt.FormatKRW(r.Amount), r.Cycle, kstShort(r.NextChargeAt), r.WorkflowStatus)
	}
	tw.Flush()
}

func listCommand() *command {
	return &command{
		name:    "list",
		summary: "list subscriptions by status, customer or plan (search attributes)",
		usage:   "starter list [-status S] [-customer UID] [-plan NAME] [-open] [-query Q] [-limit N] [-json] [flags]",
		about: `List subscriptions through Temporal's visibility store, filtered by the search attributes the
workflow maintains (BillingStatus, CustomerUID, PlanName, NextChargeAt, BillingCycle, AmountKRW).
The query used is printed so it can be reused with 'temporal workflow list --query'. -query adds
a raw visibility condition, ANDed with the others. Visibility lags the workflows by a moment.`,
		examples: []string{
			`starter list -status past_due`,
			`starter list -customer cust-1001`,
			`starter list -open -query "NextChargeAt < '2026-03-01T00:00:00+09:00'"`,
			`starter list -status active -plan "Pro monthly" -json | jq -r '.[].subscription_id'`,
		},
		setup: func(fs *flag.FlagSet, a *app) func(ctx context.Context) error {
			var f listFilter
			names := make([]string, len(billing.AllStatuses))
			for i, s := range billing.AllStatuses {
				names[i] = string(s)
			}
			fs.StringVar(&f.status, "status", "", "billing status: "+strings.Join(names, ", "))
			fs.StringVar(&f.customer, "customer", "", "billing key (customer_uid)")
			fs.StringVar(&f.plan, "plan", "", "plan name (exact)")
			fs.BoolVar(&f.open, "open", false, "only running workflows (subscriptions that have not ended)")
			fs.StringVar(&f.raw, "query", "", "extra raw visibility query, ANDed with the other filters")
			limit := fs.Int("limit", 100, "list at most N subscriptions")
			asJSON := fs.Bool("json", false, "print JSON (the query goes to stderr)")
			return func(ctx context.Context) error {
				q, err := buildListQuery(f)
				if err != nil {
					return err
				}
				if *limit < 1 {
					return refused("-limit must be at least 1, got %d", *limit)
				}
				queryOut := a.stdout
				if *asJSON {
					queryOut = a.stderr
				}
				fmt.Fprintf(queryOut, "Query: %s\n  (temporal workflow list --query %q)\n", q, q)
				rows, more, err := a.list(ctx, q, *limit)
				if err != nil {
					return err
				}
				if *asJSON {
					if rows == nil {
						rows = []listRow{}
					}
					return writeJSON(a.stdout, rows)
				}
				fmt.Fprintln(a.stdout)
				renderList(a.stdout, rows)
				if len(rows) == 0 {
					return nil
				}
				fmt.Fprintf(a.stdout, "\n%d subscription(s)", len(rows))
				if more {
					fmt.Fprintf(a.stdout, "; more match (raise -limit)")
				}
				fmt.Fprintln(a.stdout)
				return nil
			}
		},
	}
}

// list pages through ListWorkflow until limit rows; more reports that rows were left out.
func (a *app) list(ctx context.Context, query string, limit int) (rows []listRow, more bool, err error) {
	c, err := a.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize:      int32(min(limit-len(rows), 1000)),
			NextPageToken: token,
			Query:         query,
		})
		if err != nil {
			return nil, false, a.explain(err, "", "list")
		}
		for _, e := range resp.GetExecutions() {
			if len(rows) == limit {
				return rows, true, nil
			}
			rows = append(rows, rowFrom(e))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return rows, false, nil
		}
		if len(rows) >= limit {
			return rows, true, nil
		}
	}
}
