package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/calendar"
	"github.com/paycycle/paycycle/gateway"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/portone"
)

// Defaults applied by New to a zero Config field.
const (
	// DefaultIMPScriptURL is PortOne's V1 browser SDK.
	DefaultIMPScriptURL = "https://cdn.iamport.kr/v1/iamport.js"
	// DefaultPG is the PortOne pg value that opens NaverPay (결제형).
	DefaultPG = "naverpay"
	// DefaultUpstreamTimeout bounds each call to PortOne or Temporal. PortOne's webhook
	// retries allow 15 s in total, so a lookup and a signal must fit in that together.
	DefaultUpstreamTimeout = 5 * time.Second
	// DefaultReadyTimeout bounds the Temporal health check behind /readyz.
	DefaultReadyTimeout = 2 * time.Second
	// DefaultRequestTimeout bounds every request as a whole.
	DefaultRequestTimeout = 20 * time.Second
	// DefaultRegisterLinkTTL is how long the registration link minted by the demo start page
	// lives: long enough to finish a registration interrupted by a phone call, short enough that
	// a link left in a browser history soon opens nothing.
	DefaultRegisterLinkTTL = 24 * time.Hour
	// DefaultCancelTimeout bounds the cancel update of the self-service page: a cancel now waits
	// for the refund at PortOne and the billing-key deletion, so it gets more than one upstream
	// call's time, and still less than DefaultRequestTimeout so the customer gets a page.
	DefaultCancelTimeout = 15 * time.Second
	// MaxFullRefundDays bounds Config.FullRefundDays. Korean law's withdrawal window is 7 days;
	// a merchant may be more generous, but a month is where "a full refund of an unused period"
	// stops being believable.
	MaxFullRefundDays = 31
	// MaxBodyBytes is the largest request body accepted. PortOne's webhook bodies and the
	// popup callback are a few hundred bytes; anything near the limit is not from them.
	MaxBodyBytes = 64 << 10
)

// Workflows is the part of the Temporal client the edge uses. client.Client satisfies it;
// tests pass a fake that records signals and starts and answers queries.
type Workflows interface {
	// SignalWorkflow relays a verified webhook or registration to a subscription.
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	// QueryWorkflow reads a subscription's state for the registration page.
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	// ExecuteWorkflow starts a subscription from the demo start page.
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	// UpdateWorkflow sends the self-service page's cancel: the same update backends send, so
	// every rule and invariant of the workflow holds.
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	// CheckHealth backs the readiness probe.
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// PaymentLookup fetches a payment from PortOne by imp_uid; *portone.Client satisfies it. It is
// the only PortOne call the edge makes, because the edge verifies but never charges.
type PaymentLookup interface {
	GetPayment(ctx context.Context, impUID string) (*portone.Payment, error)
}

// V2Lookup re-fetches what a PortOne V2 webhook claims: the payment by paymentId and the billing
// key by its name. The V2 gateway (gateway/portonev2) satisfies it; like PaymentLookup, it is
// all the edge asks of PortOne V2, because the edge verifies but never charges.
type V2Lookup interface {
	Payments(ctx context.Context, paymentID string) ([]gateway.Payment, error)
	BillingKey(ctx context.Context, key string) (gateway.BillingKey, error)
}

// WorkflowLister lists workflows through Temporal's visibility store; client.Client satisfies
// it. The edge uses it only to find the subscription a V2 BillingKey.Issued webhook is for (by
// the key's issueId, which is the subscription's customer_uid: the CustomerUID search
// attribute). A Workflows without it leaves that one webhook unrelayed.
type WorkflowLister interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

var (
	_ Workflows      = client.Client(nil)
	_ WorkflowLister = client.Client(nil)
	_ PaymentLookup  = (*portone.Client)(nil)
)

// Deps are the edge's collaborators.
type Deps struct {
	// Workflows reaches the subscription workflows. Required.
	Workflows Workflows
	// PortOne verifies payments. Required.
	PortOne PaymentLookup
	// PortOneV2 re-fetches what V2 webhooks claim. Required when Config.V2 is set, unused
	// otherwise.
	PortOneV2 V2Lookup
	// Logger receives access logs and warnings. Optional: nothing is logged without it.
	Logger *zap.Logger
	// WebhookVerdict is told the verdict of every webhook (one of the Verdict* constants), for
	// metrics. Optional.
	WebhookVerdict func(verdict string)
	// Metrics, when set, is served at GET /metrics (Prometheus). Optional: the edge faces the
	// internet, so serve metrics here only where the edge's port is private or filtered.
	Metrics http.Handler
	// PortOneObserver, when set and PortOne is built by Flags.Build, observes every PortOne
	// exchange (portone.WithObserver). Optional.
	PortOneObserver func(portone.Exchange)
	// PortOneV2Observer, when set and PortOneV2 is built by Flags.Build, observes every
	// PortOne V2 exchange (metrics).
	PortOneV2Observer func(portonev2.Exchange)
	// Now is the clock for link expiry and the pro-rata refund shown before a cancel. Optional:
	// time.Now; tests move it.
	Now func() time.Time
}

// PlanOption is one entry of the demo start page's plan catalog.
type PlanOption struct {
	// Code is the merchant product code; it becomes the plan's code and NaverPay's
	// naverProductCode, and identifies the option in the start form.
	Code string `json:"code"`
	// Name is the order name the buyer sees (at most 40 characters).
	Name string `json:"name"`
	// Amount is the price per cycle in whole KRW.
	Amount int64 `json:"amount"`
	// Interval is the billing interval; second and minute intervals need a worker in demo mode.
	Interval calendar.Interval `json:"interval"`
	// ChargeMode is "again" (default) or "schedule".
	ChargeMode billing.ChargeMode `json:"charge_mode,omitempty"`
}

// Plan returns the normalized billing plan the option stands for.
func (p PlanOption) Plan() billing.Plan {
	plan := billing.Plan{
		Name:       p.Name,
		Code:       p.Code,
		Amount:     p.Amount,
		Interval:   p.Interval,
		ChargeMode: p.ChargeMode,
	}
	plan.Normalize()
	return plan
}

// DefaultPlans is the built-in demo catalog: two real-world plans and three demo plans that
// charge every few seconds, so that a whole subscription lifecycle (charges, a decline,
// dunning) can be watched in minutes. The demo plans need a worker in demo mode.
func DefaultPlans() []PlanOption {
	return []PlanOption{
		{Code: "basic-monthly", Name: "베이직 월간 구독", Amount: 9_900, Interval: calendar.Interval{Unit: calendar.Month, Count: 1}},
		{Code: "premium-yearly", Name: "프리미엄 연간 구독", Amount: 99_000, Interval: calendar.Interval{Unit: calendar.Year, Count: 1}},
		{Code: "demo-30s", Name: "데모 30초 구독", Amount: 1_000, Interval: calendar.Interval{Unit: calendar.Second, Count: 30}},
		{Code: "demo-60s", Name: "데모 60초 구독", Amount: 500, Interval: calendar.Interval{Unit: calendar.Second, Count: 60}},
		{Code: "demo-45s-schedule", Name: "데모 45초 구독 (예약 결제)", Amount: 1_500, Interval: calendar.Interval{Unit: calendar.Second, Count: 45}, ChargeMode: billing.ChargeModeSchedule},
	}
}

// Config configures a Server. Zero fields take the defaults documented on each.
type Config struct {
	// PublicURL is the base URL browsers and PortOne use to reach the edge, for example
	// "https://billing.example.com" or "https://example.com/billing". NaverPay's redirect
	// (m_redirect_url) is built from it, and its path is the prefix of every link the pages
	// write. Required.
	PublicURL string
	// IMPCode is the PortOne merchant code passed to IMP.init, for example "imp00000000".
	// Required.
	IMPCode string
	// IMPScriptURL is where the registration page loads PortOne's browser SDK from. Default
	// DefaultIMPScriptURL; in local development the emulator's stand-in.
	IMPScriptURL string
	// PG is IMP.request_pay's pg. Default DefaultPG.
	PG string
	// NaverChainID is NaverPay's naverChainId, only for group merchants with several services
	// under one partner ID. Optional.
	NaverChainID string
	// Demo turns on the demo start page (GET /register/new, POST /register/start) and
	// pre-fills the registration page's buyer fields from the subscription.
	Demo bool
	// TaskQueue is where the demo start page starts workflows. Default billing.TaskQueue.
	TaskQueue string
	// Plans is the demo start page's catalog. Default DefaultPlans().
	Plans []PlanOption

	// LinkKeys verify the signed links of the registration and self-service pages (and sign the
	// one the demo start page redirects to); see internal/signedlink. Without them those pages
	// answer 503, except in demo mode, where New makes an ephemeral secret (links die with the
	// process) so that a demo needs no setup.
	LinkKeys *signedlink.Keys
	// RegisterLinkTTL is the lifetime of the registration link the demo start page mints.
	// Default DefaultRegisterLinkTTL.
	RegisterLinkTTL time.Duration
	// FullRefundDays offers, on the self-service page, a full refund with a cancel now within
	// this many days of the current period's charge, for merchants whose service allows it (the
	// 7-day withdrawal of unused digital content: the edge cannot know use, the merchant does).
	// 0 (default) offers none; at most MaxFullRefundDays.
	FullRefundDays int
	// CancelTimeout bounds the self-service cancel update. Default DefaultCancelTimeout.
	CancelTimeout time.Duration

	// V2 turns on PortOne V2 at the edge (POST /portone/v2/webhook and V2 registration). nil:
	// V2 is off, and the V2 webhook route answers 404 saying so.
	V2 *V2Config

	// UpstreamTimeout bounds each PortOne lookup and each Temporal call. Default
	// DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// ReadyTimeout bounds the Temporal health check of /readyz. Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// RequestTimeout bounds each request as a whole. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// V2Config is PortOne V2 at the edge.
type V2Config struct {
	// WebhookKeys verify V2 webhooks (ParseV2WebhookSecrets: one or two "whsec_" secrets, as
	// PortOne's console shows them). Required.
	WebhookKeys *V2WebhookKeys
	// StoreID is the V2 store ("store-" and a UUID): requestIssueBillingKey's storeId, and the
	// store a webhook's data.storeId must name. Required.
	StoreID string
	// ChannelKey is NaverPay's V2 channel ("channel-key-" and a UUID): requestIssueBillingKey's
	// channelKey. Required.
	ChannelKey string
	// SDKScriptURL is where the registration page loads PortOne's V2 browser SDK (or a local
	// stand-in) from. Optional: without it the page does not offer V2 registration.
	SDKScriptURL string
}

// check refuses a V2 configuration the edge cannot serve, naming the field.
func (v *V2Config) check() error {
	switch {
	case v.WebhookKeys == nil || v.WebhookKeys.Len() == 0:
		return errors.New("edge: V2: webhook secrets are required (PORTONE_V2_WEBHOOK_SECRETS): without them no V2 webhook can be verified")
	case strings.TrimSpace(v.StoreID) == "":
		return errors.New("edge: V2: the store ID is required (PORTONE_V2_STORE_ID): the browser SDK needs it and webhooks name it")
	case strings.TrimSpace(v.ChannelKey) == "":
		return errors.New("edge: V2: the NaverPay channel key is required (PORTONE_V2_CHANNEL_KEY): the browser SDK needs it")
	}
	if v.SDKScriptURL != "" {
		if err := checkHTTPURL(v.SDKScriptURL); err != nil {
			return fmt.Errorf("edge: V2 SDK script URL: %w", err)
		}
	}
	return nil
}

// withDefaults fills zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	if c.IMPScriptURL == "" {
		c.IMPScriptURL = DefaultIMPScriptURL
	}
	if c.PG == "" {
		c.PG = DefaultPG
	}
	if c.TaskQueue == "" {
		c.TaskQueue = billing.TaskQueue
	}
	if c.Plans == nil {
		c.Plans = DefaultPlans()
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.RegisterLinkTTL == 0 {
		c.RegisterLinkTTL = DefaultRegisterLinkTTL
	}
	if c.CancelTimeout == 0 {
		c.CancelTimeout = DefaultCancelTimeout
	}
	c.PublicURL = strings.TrimRight(strings.TrimSpace(c.PublicURL), "/")
	if err := checkHTTPURL(c.PublicURL); err != nil {
		return c, fmt.Errorf("edge: public URL: %w", err)
	}
	if err := checkHTTPURL(c.IMPScriptURL); err != nil {
		return c, fmt.Errorf("edge: IMP script URL: %w", err)
	}
	if strings.TrimSpace(c.IMPCode) == "" {
		return c, errors.New("edge: IMP code (PortOne merchant code, e.g. imp00000000) is required")
	}
	if c.UpstreamTimeout < 0 || c.ReadyTimeout < 0 || c.RequestTimeout < 0 || c.CancelTimeout < 0 {
		return c, errors.New("edge: timeouts must be positive")
	}
	if c.RegisterLinkTTL < 0 || c.RegisterLinkTTL > signedlink.MaxTTL {
		return c, fmt.Errorf("edge: the registration link lifetime must be between 0 and %s", signedlink.MaxTTL)
	}
	if c.FullRefundDays < 0 || c.FullRefundDays > MaxFullRefundDays {
		return c, fmt.Errorf("edge: the self-service full-refund window is %d days; it must be 0 (off) to %d", c.FullRefundDays, MaxFullRefundDays)
	}
	if c.V2 != nil {
		if err := c.V2.check(); err != nil {
			return c, err
		}
	}
	seen := map[string]bool{}
	for i, p := range c.Plans {
		plan := p.Plan()
		if p.Code == "" {
			return c, fmt.Errorf("edge: plan %d: code is required", i)
		}
		if seen[p.Code] {
			return c, fmt.Errorf("edge: plan code %q listed twice", p.Code)
		}
		seen[p.Code] = true
		if err := plan.Validate("plans[" + p.Code + "]"); err != nil {
			return c, fmt.Errorf("edge: %w", err)
		}
	}
	return c, nil
}

func checkHTTPURL(s string) error {
	if s == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must not carry a query, a fragment or user info", s)
	}
	return nil
}
