// Command worker runs the billing worker: it polls the "billing" task queue and executes the
// subscription workflow and its activities against PortOne.
//
// Configuration comes from flags with environment defaults (12-factor); the PortOne key and
// secret and the payload-encryption keys come from the environment only, so they never show in
// a process listing. See docs/operators.md ("Configuration").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/gateway/portonev1"
	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/portoneconf"
	"github.com/paycycle/paycycle/logging"
	"github.com/paycycle/paycycle/metrics"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/workerset"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// config is the worker's configuration.
type config struct {
	temporal            temporalconn.Config
	taskQueue           string
	portone             portoneconf.Settings
	portoneV2           portoneconf.V2Settings
	demo                bool
	noticeURL           string
	noticeURLV2         string
	scheduleSettleDelay time.Duration
	activityTimeout     time.Duration
	healthAddr          string
	logLevel            string
	logFormat           string
	maxActivities       int
	stopTimeout         time.Duration
	serveEdge           bool
	edge                edge.Flags
	portoneTaskQueue    string
	portoneRate         float64
	cycleSAs            bool
	ceilingDeclines     int
	ceilingReattempts   int
	parkedInterval      time.Duration
	reconcile           reconcileConfig
	readModel           readModelConfig
	versioning          versioningFlags
	webhooks            webhookConfig
}

// activitiesConfig is what the activities (and, through the Settings local activity, the
// workflow) are told of this worker's configuration.
func (c config) activitiesConfig() activities.Config {
	return activities.Config{
		DemoMode: c.demo, NoticeURL: c.noticeURL, NoticeURLV2: c.noticeURLV2, ScheduleSettleDelay: c.scheduleSettleDelay, ActivityTimeout: c.activityTimeout,
		PortOneTaskQueue: c.portoneTaskQueue, Events: c.webhooks.enabled(), RenewalNotice: c.webhooks.renewalNotice,
		NoCycleSearchAttributes: !c.cycleSAs,
		AttemptCeiling:          billing.AttemptCeiling{Declines24h: ceilingSetting(c.ceilingDeclines), Reattempts30d: ceilingSetting(c.ceilingReattempts)},
	}
}

// ceilingSetting turns a ceiling flag (0: off) into the activities' setting (negative: off).
func ceilingSetting(v int) int {
	if v == 0 {
		return -1
	}
	return v
}

// parseFlags reads flags with environment defaults through lookup (os.LookupEnv in main).
func parseFlags(args []string, out io.Writer, lookup cfgpkg.Lookup) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(out)
	s := cfgpkg.New(fs, lookup)
	c.temporal.Register(s)
	c.portone.Register(s)
	c.portoneV2.Register(s)
	s.String(&c.taskQueue, "task-queue", "BILLING_TASK_QUEUE", billing.TaskQueue, "task queue to poll")
	s.Bool(&c.demo, "demo", "BILLING_DEMO_MODE", false, "allow demo plans with second and minute intervals")
	s.URL(&c.noticeURL, "notice-url", "BILLING_NOTICE_URL", "", "webhook URL given to PortOne for scheduled charges, the edge's /portone/webhook")
	s.URL(&c.noticeURLV2, "v2-notice-url", "BILLING_V2_NOTICE_URL", "", "webhook URL given to PortOne V2 for scheduled charges and charges, the edge's /portone/v2/webhook (empty: the V2 console's)")
	s.Duration(&c.scheduleSettleDelay, "schedule-settle-delay", "BILLING_SCHEDULE_SETTLE_DELAY", activities.DefaultScheduleSettleDelay,
		"wait after a scheduled charge's time before asking PortOne when no webhook came")
	s.Duration(&c.activityTimeout, "activity-timeout", "BILLING_ACTIVITY_TIMEOUT", activities.DefaultActivityTimeout,
		"start-to-close timeout of one PortOne activity: how soon a crashed worker's charge is retried elsewhere; must exceed -portone-timeout")
	s.Addr(&c.healthAddr, "health-addr", "BILLING_WORKER_HEALTH_ADDR", "", "serve GET /healthz on this address once polling (empty: off)")
	s.String(&c.logLevel, "log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&c.logFormat, "log-format", "LOG_FORMAT", "json", "json or console")
	s.Int(&c.maxActivities, "max-concurrent-activities", "BILLING_MAX_CONCURRENT_ACTIVITIES", 200,
		"activities run at once by this worker on each of its task queues: the per-worker bound on concurrent PortOne calls")
	s.String(&c.portoneTaskQueue, "portone-task-queue", "BILLING_PORTONE_TASK_QUEUE", workerset.DefaultPortOneTaskQueue,
		"task queue of the activities that call PortOne, rate-limited across all workers by -portone-rate (empty: no dedicated queue)")
	s.Float64(&c.portoneRate, "portone-rate", "BILLING_PORTONE_RATE", workerset.DefaultPortOneRate,
		"PortOne activities started per second across ALL workers (Temporal's task-queue-wide limit; every worker must use the same value; 0: unlimited)")
	s.Bool(&c.cycleSAs, "cycle-search-attributes", "BILLING_CYCLE_SEARCH_ATTRIBUTES", true,
		"upsert NextChargeAt and BillingCycle every cycle (one visibility write per cycle); false: subscriptions started or continued from now on keep only status-level search attributes")
	s.Int(&c.ceilingDeclines, "ceiling-declines-24h", "BILLING_CEILING_DECLINES_24H", billing.DefaultDeclines24h,
		"declines a billing key may have had in 24 hours before further attempts on it are withheld (Mastercard: 10); 0: no ceiling")
	s.Int(&c.ceilingReattempts, "ceiling-reattempts-30d", "BILLING_CEILING_REATTEMPTS_30D", billing.DefaultReattempts30d,
		"reattempts of declined charges a billing key may have had in 30 days before further ones are withheld (Visa: 20); 0: no ceiling")
	s.Duration(&c.parkedInterval, "parked-count-interval", "BILLING_PARKED_COUNT_INTERVAL", time.Minute,
		"how often to count parked (needs_attention) subscriptions for the metrics; 0: never")
	s.Duration(&c.stopTimeout, "stop-timeout", "BILLING_WORKER_STOP_TIMEOUT", 30*time.Second, "on SIGTERM, how long running activities get to finish")
	s.Bool(&c.serveEdge, "edge", "BILLING_WORKER_SERVE_EDGE", false,
		"also serve the HTTP edge (PortOne webhooks, registration) in this process, with this worker's PortOne client; its settings are the -edge-* flags")
	c.edge.Register(s, "edge-")
	c.reconcile.register(s)
	c.readModel.register(s)
	c.versioning.register(s)
	c.webhooks.register(s)
	if err := s.Parse(args); err != nil {
		return c, err
	}
	if err := c.webhooks.validate(); err != nil {
		return c, err
	}
	if err := c.versioning.validate(); err != nil {
		return c, err
	}
	if err := c.readModel.validate(); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.portone.Validate(); err != nil {
		return c, err
	}
	if err := c.portoneV2.Validate(); err != nil {
		return c, err
	}
	switch {
	case c.taskQueue == "":
		return c, errors.New("-task-queue (BILLING_TASK_QUEUE) must not be empty")
	case c.ceilingDeclines < 0:
		return c, fmt.Errorf("-ceiling-declines-24h (BILLING_CEILING_DECLINES_24H) must be 0 (no ceiling) or positive, got %d", c.ceilingDeclines)
	case c.ceilingReattempts < 0:
		return c, fmt.Errorf("-ceiling-reattempts-30d (BILLING_CEILING_REATTEMPTS_30D) must be 0 (no ceiling) or positive, got %d", c.ceilingReattempts)
	case c.maxActivities < 1:
		return c, fmt.Errorf("-max-concurrent-activities (BILLING_MAX_CONCURRENT_ACTIVITIES) must be at least 1, got %d", c.maxActivities)
	case c.portoneRate < 0:
		return c, fmt.Errorf("-portone-rate (BILLING_PORTONE_RATE) must be 0 (unlimited) or positive, got %v", c.portoneRate)
	case c.portoneTaskQueue == c.taskQueue:
		return c, fmt.Errorf("-portone-task-queue (BILLING_PORTONE_TASK_QUEUE) %q must differ from -task-queue: the rate limit needs a queue of its own (empty: no dedicated queue)", c.portoneTaskQueue)
	case c.activityTimeout <= c.portone.Timeout:
		return c, fmt.Errorf("-activity-timeout (%s) must be longer than -portone-timeout (%s), or Temporal would retry a charge that is still waiting for PortOne", c.activityTimeout, c.portone.Timeout)
	case c.portoneV2.Enabled() && c.activityTimeout <= 2*c.portoneV2.Timeout:
		// A V2 charge is two requests (the charge, then the payment's read).
		return c, fmt.Errorf("-activity-timeout (%s) must be longer than twice -portone-v2-timeout (%s): a V2 charge is a charge and a read", c.activityTimeout, c.portoneV2.Timeout)
	}
	return c, c.reconcile.validate(c.taskQueue)
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr, os.LookupEnv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log, err := logging.New(cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	reg := metrics.New()
	gateway, err := cfg.portone.NewClient(portone.WithObserver(reg.ObservePortOne))
	if err != nil {
		return err
	}
	if cfg.temporal.CodecKeys == "" {
		log.Warn("PAYCYCLE_CODEC_KEYS is not set: workflow payloads, including buyer data, are stored in clear")
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg.temporal.MetricsHandler = reg.SDKHandler()
	c, err := cfg.temporal.Dial(dialCtx, logging.Temporal(log))
	if err != nil {
		return err
	}
	defer c.Close()

	acts := &activities.Activities{Gateway: portonev1.New(gateway), Observer: reg, Config: cfg.activitiesConfig()}
	if cfg.portoneV2.Enabled() {
		v2, err := cfg.portoneV2.NewObservedV2Gateway(reg.ObservePortOneV2)
		if err != nil {
			return err
		}
		acts.GatewayV2 = v2
	}
	projection := cfg.readModel.projection()
	if closer, ok := projection.(interface{ Close() error }); ok {
		defer func() { _ = closer.Close() }()
	}
	workers, err := workerset.Start(c, workerset.Options{
		TaskQueue: cfg.taskQueue, PortOneTaskQueue: cfg.portoneTaskQueue, PortOneRate: cfg.portoneRate,
		MaxConcurrentActivities: cfg.maxActivities, StopTimeout: cfg.stopTimeout,
		Interceptors: []interceptor.WorkerInterceptor{reg.WorkerInterceptor()},
		Deployment:   cfg.versioning.options(),
		Webhooks:     cfg.webhooks.options(),
	}, acts, func(r sdkworker.Registry) { registerReconcile(r, c, gateway, acts, projection, log) })
	if err != nil {
		return err
	}
	defer func() {
		for _, w := range workers {
			w.Stop()
		}
	}()
	ensureReconcileSchedule(ctx, c, cfg.reconcile, cfg.taskQueue, log)
	log.Info("worker polling",
		zap.String("temporal", cfg.temporal.Address), zap.String("namespace", cfg.temporal.Namespace),
		zap.String("task_queue", cfg.taskQueue), zap.String("portone_task_queue", cfg.portoneTaskQueue),
		zap.Float64("portone_rate", cfg.portoneRate), zap.Int("max_concurrent_activities", cfg.maxActivities),
		zap.String("portone", cfg.portone.BaseURL), zap.Bool("portone_v2", cfg.portoneV2.Enabled()), zap.Bool("demo", cfg.demo), zap.Int("webhook_endpoints", len(cfg.webhooks.endpoints)),
		zap.String("deployment", cfg.versioning.deploymentName), zap.String("build_id", cfg.versioning.buildID))
	go reg.WatchParked(ctx, c, cfg.temporal.Namespace, cfg.parkedInterval, func(err error) {
		log.Warn("parked subscriptions not counted", zap.Error(err))
	})

	var ready atomic.Bool
	ready.Store(true)
	if cfg.healthAddr != "" {
		srv, err := serveHealth(cfg.healthAddr, &ready, reg.Handler())
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("health and metrics endpoint", zap.String("healthz", "http://"+srv.Addr+"/healthz"), zap.String("metrics", "http://"+srv.Addr+"/metrics"))
	}
	edgeDone := make(chan error, 1)
	if cfg.serveEdge {
		go func() {
			deps := edge.Deps{Workflows: c, PortOne: gateway, Logger: log.Named("edge"), WebhookVerdict: reg.Webhook}
			// The embedded edge speaks V2 exactly when the worker does, with the worker's settings
			// and gateway (its V2 webhooks, registration page and re-fetches).
			cfg.edge.PortOneV2 = cfg.portoneV2
			if acts.GatewayV2 != nil {
				deps.PortOneV2 = acts.GatewayV2
			}
			edgeDone <- cfg.edge.Run(ctx, deps, func(url string) {
				log.Info("edge listening", zap.String("url", url))
			})
		}()
	}
	select {
	case <-ctx.Done():
		if cfg.serveEdge {
			// The edge finishes its in-flight requests (bounded by its shutdown timeout). We are
			// stopping anyway, so its error is logged rather than returned.
			if err := <-edgeDone; err != nil {
				log.Warn("edge stopped with an error", zap.Error(err))
			}
		}
	case err := <-edgeDone:
		if err != nil {
			return fmt.Errorf("edge: %w", err)
		}
	}
	ready.Store(false)
	log.Info("stopping: letting running activities finish", zap.Duration("timeout", cfg.stopTimeout))
	return nil
}

// serveHealth answers GET /healthz with 200 while the worker polls, so supervisors (the dev
// server, Kubernetes) know it is ready, and serves the Prometheus metrics at GET /metrics (one
// port to expose per pod).
func serveHealth(addr string, ready *atomic.Bool, metricsHandler http.Handler) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
