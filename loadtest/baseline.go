package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.temporal.io/sdk/activity"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/internal/nofollow"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
)

// The baseline of the ABBA benchmark (loadtest abba): the same job as the subscription
// workflow, done naively, so that the ratio of ours to it says what our features cost. Per
// cycle: a durable timer until the cycle is due, then one activity that charges
// /subscribe/payments/again with the cycle's merchant_uid (with -gateway portone_v2: POST
// /payments/{paymentId}/billing-key with it as the paymentId); continue-as-new every PerRun
// cycles. No messages, no search attributes, no query, no lookup before the charge, no
// state beyond the next cycle and the calendar's origin. It runs on a task queue of its own.

const (
	baselineQueue        = "abba-baseline"
	baselineWorkflowName = "BaselineSubscription"
	baselineChargeName   = "BaselineCharge"
	// baselineTag is the incarnation tag of the baseline's merchant_uids, so that they parse
	// like ours (billing.ParseMerchantUID) and the same ledger checks apply to both.
	baselineTag = "base"
)

// baselineInput is the baseline's whole state; it is also its continue-as-new input and its
// result, from which the benchmark reads the calendar (Origin).
type baselineInput struct {
	SubscriptionID string `json:"subscription_id"`
	// CustomerUID is the billing key: a V1 customer_uid, or with V2 a V2 billingKey.
	CustomerUID string `json:"customer_uid"`
	// V2 charges through PortOne V2.
	V2       bool          `json:"v2,omitempty"`
	Amount   int64         `json:"amount"`
	Interval time.Duration `json:"interval"`
	// Cycles is how many cycles to charge before the workflow ends (the benchmark's bound).
	Cycles int `json:"cycles"`
	// PerRun is the number of cycles per run before continue-as-new (as ours: workflows.CyclesPerRun).
	PerRun int `json:"per_run"`
	// Next is the next cycle to charge (0 or 1 on the first run).
	Next int `json:"next,omitempty"`
	// Origin is when cycle 1 was charged; cycle k is due Origin + (k-1)·Interval.
	Origin time.Time `json:"origin,omitzero"`
}

// baselineCharge is one charge request of the baseline.
type baselineCharge struct {
	V2          bool   `json:"v2,omitempty"`
	CustomerUID string `json:"customer_uid"`
	MerchantUID string `json:"merchant_uid"`
	Amount      int64  `json:"amount"`
}

// baselineWorkflow charges in.Cycles cycles, one timer and one activity each.
func baselineWorkflow(ctx workflow.Context, in baselineInput) (baselineInput, error) {
	if in.PerRun < 1 || in.Cycles < 1 || in.Interval <= 0 {
		return in, sdktemporal.NewNonRetryableApplicationError("baseline: per_run, cycles and interval must be positive", "InvalidInput", nil)
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &sdktemporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	})
	if in.Next < 1 {
		in.Next = 1
	}
	for range in.PerRun {
		if in.Next > in.Cycles {
			return in, nil
		}
		if in.Next > 1 {
			if d := in.Origin.Add(time.Duration(in.Next-1) * in.Interval).Sub(workflow.Now(ctx)); d > 0 {
				if err := workflow.Sleep(ctx, d); err != nil {
					return in, err
				}
			}
		}
		req := baselineCharge{V2: in.V2, CustomerUID: in.CustomerUID, Amount: in.Amount,
			MerchantUID: billing.ChargeUID{SubscriptionID: in.SubscriptionID, Tag: baselineTag, Cycle: in.Next, Attempt: 1}.String()}
		var at time.Time
		if err := workflow.ExecuteActivity(ctx, baselineChargeName, req).Get(ctx, &at); err != nil {
			return in, err
		}
		if in.Next == 1 {
			in.Origin = at
		}
		in.Next++
	}
	if in.Next > in.Cycles {
		return in, nil
	}
	return in, workflow.NewContinueAsNewError(ctx, baselineWorkflowName, in)
}

// baselineActivities holds the baseline's one activity.
type baselineActivities struct {
	gw *portone.Client
	v2 *baselineV2
}

// Charge makes the charge and returns when it was sent. Nothing is looked up first: the naive
// way, one request per charge.
func (a *baselineActivities) Charge(ctx context.Context, req baselineCharge) (time.Time, error) {
	at := time.Now()
	if req.V2 {
		return at, a.v2.pay(ctx, req)
	}
	p, err := a.gw.Again(ctx, portone.AgainRequest{CustomerUID: req.CustomerUID, MerchantUID: req.MerchantUID,
		Amount: portone.KRW(req.Amount), Name: "Baseline"})
	if err != nil {
		return time.Time{}, err
	}
	if p.Status != portone.StatusPaid {
		return time.Time{}, errors.New(fmt.Sprint("baseline charge not paid: ", p.Status))
	}
	return at, nil
}

// registerBaseline registers the baseline workflow and activity on w.
func registerBaseline(w worker.Registry, acts *baselineActivities) {
	w.RegisterWorkflowWithOptions(baselineWorkflow, workflow.RegisterOptions{Name: baselineWorkflowName})
	w.RegisterActivityWithOptions(acts.Charge, activity.RegisterOptions{Name: baselineChargeName})
}

// baselineV2 is the baseline's PortOne V2 charge: one POST /payments/{paymentId}/billing-key
// with the emulator's default store, channel and secret, nothing else (no lookup, no typed
// errors: any answer but 200 fails the activity, which Temporal retries).
type baselineV2 struct {
	base string
	hc   *http.Client
}

func newBaselineV2(base string) *baselineV2 {
	return &baselineV2{base: base, hc: nofollow.Client(5 * time.Second)}
}

func (b *baselineV2) pay(ctx context.Context, req baselineCharge) error {
	body, err := json.Marshal(map[string]any{
		"storeId": portonetest.DefaultStoreID, "channelKey": portonetest.DefaultV2ChannelKey, "billingKey": req.CustomerUID,
		"orderName": "Baseline", "amount": map[string]int64{"total": req.Amount}, "currency": "KRW",
	})
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/payments/"+url.PathEscape(req.MerchantUID)+"/billing-key", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Authorization", "PortOne "+portonetest.DefaultV2Secret)
	hr.Header.Set("Content-Type", "application/json")
	res, err := b.hc.Do(hr)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("baseline V2 charge %s: HTTP %d: %s", req.MerchantUID, res.StatusCode, answer)
	}
	return nil
}
