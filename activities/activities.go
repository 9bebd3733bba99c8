// Package activities holds every side effect of the subscription workflow: the payment gateway
// calls (through the gateway.Gateway seam) and the classification of their outcomes into paid,
// declined (soft or hard) and unknown.
//
// Every activity is safe to retry. Charges are made idempotent by the deterministic
// merchant_uid: a retried charge, or a later attempt of a cycle, looks its merchant_uids up
// before charging, and the gateway itself refuses a merchant_uid that was paid; refunds by the
// expected remaining balance (PortOne's checksum); schedules by looking the schedule up before
// creating it. Activities never log secrets, billing keys or buyer data.
package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/gateway"
)

// Config is the worker-side configuration the activities need. It is never workflow input.
type Config struct {
	// DemoMode allows plans with second and minute intervals.
	DemoMode bool
	// NoticeURL is the webhook URL given to PortOne for scheduled charges (the HTTP edge's
	// /portone/webhook). Empty means PortOne's console URL.
	NoticeURL string
	// NoticeURLV2 is the same for PortOne V2's schedules and its charges answered by the
	// approval alone (the edge's /portone/v2/webhook, whose Transaction.Paid brings the
	// transactionId): V2 sends Standard Webhooks bodies that V1's route refuses, so V2 never
	// gets NoticeURL. Empty means the V2 console's webhook URL.
	NoticeURLV2 string
	// ScheduleSettleDelay is how long after schedule_at the workflow waits for a webhook before
	// asking PortOne itself.
	ScheduleSettleDelay time.Duration
	// CancelSettleWait is how long one Refund attempt looks a V2 payment up again (with
	// backoff, heartbeating) for a cancel PortOne answered REQUESTED to end SUCCEEDED or FAILED;
	// still REQUESTED after it, the refund is counted made as asked (Activities.settleCancel).
	// Zero means DefaultCancelSettleWait; negative, no wait: the REQUESTED answer is an unknown
	// outcome and the retry counts the pending cancel made, as before the wait existed (a test
	// whose clock is skipped, where nothing finishes in real time).
	CancelSettleWait time.Duration
	// ActivityTimeout is the start-to-close timeout of one PortOne activity attempt: how long
	// Temporal waits before it presumes a worker dead and retries elsewhere. It must exceed the
	// PortOne client's request timeout. Zero means DefaultActivityTimeout.
	ActivityTimeout time.Duration
	// PortOneTaskQueue is the task queue on which the worker registers every activity that calls
	// PortOne, so that Temporal's task-queue-wide activity rate
	// (worker.Options.TaskQueueActivitiesPerSecond) bounds PortOne requests across all workers.
	// Empty means the workflow's own task queue (the behaviour before the dedicated queue).
	PortOneTaskQueue string
	// Events is true when the worker has merchant webhook endpoints: subscriptions then make
	// merchant events and hand them to their outbox workflows.
	Events bool
	// RenewalNotice is how long before each renewal charge renewal.upcoming is made (0: never).
	RenewalNotice time.Duration
	// NoCycleSearchAttributes stops the per-cycle search attributes (NextChargeAt and
	// BillingCycle): a subscription then writes its search attributes only when its status,
	// plan or flags change, one visibility write per cycle fewer (issue 15), and operators lose
	// the NextChargeAt list query and starter list's next-charge and cycle columns. The state
	// query, the merchant events and reconciliation do not use them.
	NoCycleSearchAttributes bool
	// AttemptCeiling limits the attempts per billing key (see billing.AttemptCeiling): 0 means
	// the default, negative turns a ceiling off.
	AttemptCeiling billing.AttemptCeiling
}

// DefaultCancelSettleWait is Config.CancelSettleWait's default: well inside an activity
// attempt's start-to-close timeout (the wait also stops short of the attempt's deadline).
const DefaultCancelSettleWait = 20 * time.Second

// DefaultActivityTimeout is the default start-to-close timeout of a PortOne activity.
const DefaultActivityTimeout = time.Minute

// Activities is registered with the worker; the workflow calls its methods by reference.
type Activities struct {
	// Gateway is the payment gateway (gateway/portonev1 adapts the PortOne V1 client). The
	// activities name no gateway's endpoint or field: the JSON names of their inputs and
	// results (customer_uid, merchant_uid, imp_uid) are V1's only because recorded histories
	// carry them.
	Gateway gateway.Gateway
	// GatewayV2 is PortOne V2 (gateway/portonev2), for subscriptions whose input names
	// "portone_v2"; nil on a worker without V2 settings, where such a subscription is refused.
	GatewayV2 gateway.Gateway
	Config    Config
	// Now is the clock of the request-time rules (NaverPay's 이용완료일 may not be before the
	// payment day). Optional: defaults to time.Now; tests that skip time set their clock.
	Now func() time.Time
	// Observer receives charge and refund outcomes for metrics. Optional.
	Observer Observer
	// bound is the gateway name a copy made by on is bound to ("" for the original: V1).
	bound billing.GatewayName
}

// on returns the activities bound to the gateway a subscription names: itself for V1 ("" or
// "portone_v1"), a copy on GatewayV2 for "portone_v2". A V2 subscription on a worker without
// V2 settings is refused as invalid input (non-retryable: retrying on this worker cannot help).
func (a *Activities) on(name billing.GatewayName) (*Activities, error) {
	if !name.IsV2() {
		return a, nil
	}
	if a.GatewayV2 == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"gateway: %q, but this worker has no PortOne V2 settings (PORTONE_V2_API_SECRET)", name), billing.ErrorTypeInvalidInput, nil)
	}
	b := *a
	b.Gateway, b.bound = a.GatewayV2, name
	b.Config.NoticeURL = a.Config.NoticeURLV2
	return &b, nil
}

// paymentOf looks the attempt txID of paymentID up. On V2 it reads the payment by its
// paymentId when the caller knows it (V2 names payments by paymentId; a transactionId needs a
// search of the payment list), falling back to the search when that payment's current attempt
// is another; V1 reads by txID (imp_uid) as it always did.
func (a *Activities) paymentOf(ctx context.Context, paymentID, txID string) (gateway.Payment, error) {
	if a.bound.IsV2() && paymentID != "" {
		ps, err := a.Gateway.Payments(ctx, paymentID)
		if err != nil {
			return gateway.Payment{}, err
		}
		for _, p := range ps {
			// No txID: a charge answered by the approval alone, whose transactionId is not
			// known yet (ChargeInput.AnswerOnly); V2's one payment object of the paymentId is it.
			if p.TxID == txID || txID == "" {
				return p, nil
			}
		}
		if txID == "" {
			return gateway.Payment{}, &gateway.Error{Op: "Payments", Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNotFound}, Answered: true,
				Err: fmt.Errorf("PortOne holds no payment %q", paymentID)}
		}
	}
	p, err := a.Gateway.Payment(ctx, txID)
	if err == nil && a.bound.IsV2() && paymentID != "" && p.PaymentID != paymentID {
		// The transaction is another payment's: this one's state is not what it says, and
		// the other's (its refunds above all) must never be read as this one's.
		return gateway.Payment{}, &gateway.Error{Op: "Payment", Class: gateway.ErrRefused, Kinds: []error{gateway.ErrNotFound}, Answered: true,
			Err: fmt.Errorf("transaction %q is not payment %q's but %q's", txID, paymentID, p.PaymentID)}
	}
	return p, err
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Observer is told about settled charges and refunds, for metrics. *metrics.Registry implements
// it; the activities package does not import metrics so that it keeps one job. Calls are made
// when an activity has its answer, so a charge whose completion is lost (worker crash) and then
// adopted by the retry is counted twice; a charge whose answer was lost is counted once.
type Observer interface {
	// Charge reports a settled charge attempt: its outcome, decline class (DeclineClass), the
	// amount and, when the cycle's due instant is known (due), how late PortOne approved it.
	Charge(outcome billing.Outcome, declineClass string, amount int64, lateness time.Duration, due bool)
	// Refunded reports KRW given back through PortOne.
	Refunded(amount int64)
}

type nopObserver struct{}

func (nopObserver) Charge(billing.Outcome, string, int64, time.Duration, bool) {}
func (nopObserver) Refunded(int64)                                             {}

func (a *Activities) observer() Observer {
	if a.Observer == nil {
		return nopObserver{}
	}
	return a.Observer
}

// Settings is what the workflow learns about the worker's configuration. It is recorded in
// history (a local activity), so replays see the value the run first saw.
type Settings struct {
	DemoMode bool `json:"demo_mode"`
	// PortOneV2 says whether the worker has PortOne V2 settings: a subscription naming
	// "portone_v2" is refused at start on a worker without them.
	PortOneV2           bool          `json:"portone_v2,omitempty"`
	ScheduleSettleDelay time.Duration `json:"schedule_settle_delay"`
	ActivityTimeout     time.Duration `json:"activity_timeout"`
	// PortOneTaskQueue is where the workflow sends its PortOne activities; empty: its own task
	// queue. See Config.PortOneTaskQueue.
	PortOneTaskQueue string `json:"portone_task_queue,omitempty"`
	// Events and RenewalNotice: see Config.
	Events        bool          `json:"events,omitempty"`
	RenewalNotice time.Duration `json:"renewal_notice,omitempty"`
	// NoCycleSearchAttributes: see Config. False (the zero value, and every Settings recorded
	// before it existed) keeps the per-cycle search attributes.
	NoCycleSearchAttributes bool `json:"no_cycle_search_attributes,omitempty"`
	// AttemptCeiling: see Config, with the defaults filled in, so that a run replays with the
	// ceiling it recorded. Zero (Settings recorded before it existed) means the defaults.
	AttemptCeiling billing.AttemptCeiling `json:"attempt_ceiling,omitzero"`
}

// DefaultScheduleSettleDelay is the default wait after schedule_at before the workflow asks
// PortOne about a scheduled charge whose webhook has not arrived.
const DefaultScheduleSettleDelay = 2 * time.Minute

// Settings returns the worker's settings that shape workflow decisions.
func (a *Activities) Settings(context.Context) (Settings, error) {
	d := a.Config.ScheduleSettleDelay
	if d <= 0 {
		d = DefaultScheduleSettleDelay
	}
	t := a.Config.ActivityTimeout
	if t <= 0 {
		t = DefaultActivityTimeout
	}
	return Settings{PortOneV2: a.GatewayV2 != nil, DemoMode: a.Config.DemoMode, ScheduleSettleDelay: d, ActivityTimeout: t, PortOneTaskQueue: a.Config.PortOneTaskQueue,
		Events: a.Config.Events, RenewalNotice: a.Config.RenewalNotice, NoCycleSearchAttributes: a.Config.NoCycleSearchAttributes,
		AttemptCeiling: a.Config.AttemptCeiling.Resolved()}, nil
}
