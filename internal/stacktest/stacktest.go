// Package stacktest assembles the in-process billing stack used by end-to-end tests and the load
// command: a real Temporal server (temporaltest: SQLite in memory, one shard), the project's
// search attributes registered and usable, the PortOne emulator on a loopback port behind the
// real PortOne client, the payload codec, and the billing worker running the real workflow and
// activity code. It was built three times (e2e, starter, loadtest), each a little differently.
//
// It imports go.temporal.io/server, so only tests and the load command may use it.
package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/codec"
	"github.com/paycycle/paycycle/gateway/portonev1"
	"github.com/paycycle/paycycle/gateway/portonev2"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/portone/portonetest"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/webhooks"
	"github.com/paycycle/paycycle/workflows"
)

// Options shape the stack. The zero value is an encrypted stack with a demo-mode worker.
type Options struct {
	// Plain stores payloads in clear (for histories saved as replay fixtures).
	Plain bool
	// NoWorker leaves the worker to the caller (StartWorker).
	NoWorker bool
	// Worker are the worker's options.
	Worker worker.Options
	// Activities configures the activities; DemoMode is always on, ActivityTimeout defaults
	// to 10 s and ScheduleSettleDelay to 2 s.
	Activities activities.Config
	// Emulator configures the PortOne emulator.
	Emulator portonetest.Options
	// PortOneTimeout bounds one PortOne request (default 5 s).
	PortOneTimeout time.Duration
	// Deliverer, when set, delivers the merchant events (a worker on the webhook task queue);
	// set Activities.Events too so that subscriptions make them.
	Deliverer *webhooks.Deliverer
	// DeliveryWindow is how long one event is retried before it is marked failed (zero: the
	// outbox's default, 72 h); tests of failed deliveries shorten it to seconds.
	DeliveryWindow time.Duration
	// SettleSearchAttributes waits out the history and matching services' 2-second namespace
	// cache refresh after registering the search attributes, for tests whose very first
	// request relies on them everywhere (the starter's). Others save the 2.5 s.
	SettleSearchAttributes bool
}

// Stack is one running environment. Close stops it (New with a *testing.T closes it itself).
type Stack struct {
	Server    *temporaltest.TestServer
	Client    client.Client
	Namespace string
	// Codec and CodecKey are nil and "" with Options.Plain.
	Codec       *codec.Codec
	CodecKey    string
	Emulator    *portonetest.Emulator
	EmulatorURL string
	Gateway     *portone.Client
	// EmulatorV2URL is the emulator's PortOne V2 API (at the root of its own URL), and
	// GatewayV2 the V2 gateway on it, which every worker of the stack has beside V1.
	EmulatorV2URL string
	GatewayV2     *portonev2.Gateway
	// ServerLog is the path of the server's log file (internal/testlogs), "" outside tests:
	// a test may read why the server failed a workflow task ("Failing the workflow task.").
	ServerLog string

	opts     Options
	emuSrv   *httptest.Server
	emuV2Srv *httptest.Server
	workers  []worker.Worker
	// deliverer delivers merchant events (Options.Deliverer).
	deliverer *webhooks.Deliverer
}

// New starts a stack for a test and stops it when the test ends.
func New(t *testing.T, o Options) *Stack {
	t.Helper()
	s, err := start(t, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a stack outside tests (the load command); call Close.
func Start(o Options) (*Stack, error) { return start(nil, o) }

func start(t *testing.T, o Options) (*Stack, error) {
	s := &Stack{opts: o, deliverer: o.Deliverer}
	copts := client.Options{}
	if !o.Plain {
		key, err := codec.NewKeyString("e2e")
		if err != nil {
			return nil, err
		}
		// The same settings every binary gets from temporalconn: the encrypting data converter
		// and readable failure messages.
		tc := temporalconn.Config{CodecKeys: key}
		if copts, err = tc.Options(nil); err != nil {
			return nil, err
		}
		if s.Codec, err = tc.Codec(); err != nil {
			return nil, err
		}
		s.CodecKey = key
	}
	var serverOpts []temporaltest.TestServerOption
	if t != nil {
		// The worker's and the server's logs go to files that a failing test keeps as CI
		// artifacts (internal/testlogs); the worker's warnings and errors also reach t's output.
		logger, serverLogger, serverLog, err := testLoggers(t)
		if err != nil {
			return nil, err
		}
		s.ServerLog = serverLog
		copts.Logger = logger
		serverOpts = append(serverOpts, temporaltest.WithT(t), temporaltest.WithBaseServerOptions(temporal.WithLogger(serverLogger)))
	}
	serverOpts = append(serverOpts, temporaltest.WithBaseClientOptions(copts))
	s.Server = temporaltest.NewServer(serverOpts...)
	s.Client = s.Server.GetDefaultClient()
	s.Namespace = s.Server.GetDefaultNamespace()
	if err := s.registerSearchAttributes(); err != nil {
		s.Close()
		return nil, err
	}
	s.Emulator = portonetest.New(o.Emulator)
	s.emuSrv = httptest.NewServer(s.Emulator)
	s.EmulatorURL = s.emuSrv.URL
	timeout := o.PortOneTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	gw, err := portone.NewClient(portone.Credentials{Key: portonetest.DefaultKey, Secret: portonetest.DefaultSecret},
		portone.WithBaseURL(s.EmulatorURL), portone.WithTimeout(timeout))
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Gateway = gw
	s.emuV2Srv = httptest.NewServer(s.Emulator.V2Handler())
	s.EmulatorV2URL = s.emuV2Srv.URL
	if s.GatewayV2, err = portonev2.New(portonev2.Config{BaseURL: s.EmulatorV2URL, Secret: portonetest.DefaultV2Secret,
		StoreID: portonetest.DefaultStoreID, ChannelKey: portonetest.DefaultV2ChannelKey, Timeout: timeout}); err != nil {
		s.Close()
		return nil, err
	}
	if !o.NoWorker {
		if _, err := s.StartWorker(o.Worker, o.Activities); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// StartWorker runs another billing worker in this process (demo mode; ActivityTimeout defaults
// to 10 s and ScheduleSettleDelay to 2 s). Close stops it.
func (s *Stack) StartWorker(wo worker.Options, cfg activities.Config) (worker.Worker, error) {
	cfg.DemoMode = true
	if cfg.ActivityTimeout == 0 {
		cfg.ActivityTimeout = 10 * time.Second
	}
	if cfg.ScheduleSettleDelay == 0 {
		cfg.ScheduleSettleDelay = 2 * time.Second
	}
	acts := &activities.Activities{Gateway: portonev1.New(s.Gateway), GatewayV2: s.GatewayV2, Config: cfg}
	// temporaltest's worker fails a workflow on a panic or non-determinism (FailWorkflow), so a
	// broken change fails the test at once instead of retrying the task until a timeout.
	wo.WorkflowPanicPolicy = worker.FailWorkflow
	w := worker.New(s.Client, billing.TaskQueue, wo)
	workflows.Register(w, acts)
	webhooks.Register(w, &webhooks.Publisher{Client: s.Client, TaskQueue: billing.TaskQueue, DeliveryTaskQueue: webhooks.DefaultDeliveryTaskQueue,
		DeliveryWindow: s.opts.DeliveryWindow})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	s.workers = append(s.workers, w)
	if s.deliverer != nil {
		dw := worker.New(s.Client, webhooks.DefaultDeliveryTaskQueue, worker.Options{DisableWorkflowWorker: true})
		webhooks.RegisterDelivery(dw, s.deliverer)
		if err := dw.Start(); err != nil {
			return nil, fmt.Errorf("start delivery worker: %w", err)
		}
		s.workers = append(s.workers, dw)
	}
	return w, nil
}

// IssueV2Key issues a NaverPay V2 billing key in the emulator (as NaverPay's window would) and
// returns it.
func (s *Stack) IssueV2Key(issueID string) (string, error) {
	k, err := s.Emulator.IssueBillingKeyV2(portonetest.V2BillingKeySeed{IssueID: issueID, IssueName: "E2E Plan", NaverAccount: "naver-" + issueID,
		Customer: portonetest.V2Customer{PhoneNumber: "010-9876-5432"}})
	return k.BillingKey, err
}

// RegisterCustomer seeds a NaverPay billing key in the emulator.
func (s *Stack) RegisterCustomer(customerUID string) (portonetest.RegisteredCustomer, error) {
	return s.Emulator.RegisterCustomer(portonetest.DefaultKey, portonetest.CustomerSeed{CustomerUID: customerUID, CustomerTel: "010-9876-5432"})
}

// StopWorkers stops every worker StartWorker (or New) started, e.g. to test what people see
// when no worker runs.
func (s *Stack) StopWorkers() {
	for _, w := range s.workers {
		w.Stop()
	}
	s.workers = nil
}

// Close stops the workers, the emulator and the server.
func (s *Stack) Close() {
	s.StopWorkers()
	if s.emuSrv != nil {
		s.emuSrv.Close()
	}
	if s.emuV2Srv != nil {
		s.emuV2Srv.Close()
	}
	if s.Emulator != nil {
		s.Emulator.Close()
	}
	if s.Server != nil {
		s.Server.Stop()
	}
}

// registerSearchAttributes registers the project's attributes and waits until the server both
// lists them and accepts queries on them (and, with SettleSearchAttributes, past the cache
// refresh).
func (s *Stack) registerSearchAttributes() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := temporalconn.RegisterSearchAttributes(ctx, s.Client, s.Namespace); err != nil {
		return err
	}
	types, err := temporalconn.SearchAttributeTypes()
	if err != nil {
		return err
	}
	var last error
	for ctx.Err() == nil {
		last = nil
		resp, err := s.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.Namespace})
		if err != nil {
			last = err
		} else {
			for name := range types {
				if _, ok := resp.GetCustomAttributes()[name]; !ok {
					last = errors.New(name + " not listed yet")
				}
			}
		}
		if last == nil {
			_, last = s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.Namespace, Query: "BillingStatus='active' AND AmountKRW > 0"})
		}
		if last == nil {
			if s.opts.SettleSearchAttributes {
				time.Sleep(2500 * time.Millisecond)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("search attributes not usable after 30s: %w", last)
}
