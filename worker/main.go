// Command worker runs the billing worker: it polls the "billing" task queue and executes the
// subscription workflow and its activities against PortOne.
//
// Configuration comes from flags with environment defaults (12-factor); the PortOne key and
// secret and the payload-encryption keys come from the environment only, so they never show in
// a process listing. See README.md ("Configuration").
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
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
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
	portoneURL          string
	portoneKey          string
	portoneSecret       string
	portoneTimeout      time.Duration
	demo                bool
	noticeURL           string
	scheduleSettleDelay time.Duration
	activityTimeout     time.Duration
	healthAddr          string
	logLevel            string
	logFormat           string
	maxActivities       int
	portoneTaskQueue    string
	portoneRate         float64
	parkedInterval      time.Duration
	stopTimeout         time.Duration
	serveEdge           bool
	edge                edge.Flags
	reconcile           reconcileConfig
	versioning          versioningFlags
}

func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if f, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return f
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(out)
	c.temporal.RegisterFlags(fs)
	fs.StringVar(&c.taskQueue, "task-queue", temporalconn.Env("BILLING_TASK_QUEUE", billing.TaskQueue), "task queue to poll (env BILLING_TASK_QUEUE)")
	fs.StringVar(&c.portoneURL, "portone-url", temporalconn.Env("PORTONE_BASE_URL", portone.DefaultBaseURL), "PortOne V1 API base URL (env PORTONE_BASE_URL)")
	fs.DurationVar(&c.portoneTimeout, "portone-timeout", envDuration("PORTONE_TIMEOUT", 15*time.Second), "timeout of one PortOne request (env PORTONE_TIMEOUT)")
	fs.BoolVar(&c.demo, "demo", envBool("BILLING_DEMO_MODE"), "allow demo plans with second and minute intervals (env BILLING_DEMO_MODE)")
	fs.StringVar(&c.noticeURL, "notice-url", os.Getenv("BILLING_NOTICE_URL"), "webhook URL given to PortOne for scheduled charges, the edge's /portone/webhook (env BILLING_NOTICE_URL)")
	fs.DurationVar(&c.scheduleSettleDelay, "schedule-settle-delay", envDuration("BILLING_SCHEDULE_SETTLE_DELAY", activities.DefaultScheduleSettleDelay),
		"wait after a scheduled charge's time before asking PortOne when no webhook came (env BILLING_SCHEDULE_SETTLE_DELAY)")
	fs.DurationVar(&c.activityTimeout, "activity-timeout", envDuration("BILLING_ACTIVITY_TIMEOUT", activities.DefaultActivityTimeout),
		"start-to-close timeout of one PortOne activity: how soon a crashed worker's charge is retried elsewhere; must exceed -portone-timeout (env BILLING_ACTIVITY_TIMEOUT)")
	fs.StringVar(&c.healthAddr, "health-addr", os.Getenv("BILLING_WORKER_HEALTH_ADDR"), "serve GET /healthz on this address once polling (env BILLING_WORKER_HEALTH_ADDR; empty: off)")
	fs.StringVar(&c.logLevel, "log-level", temporalconn.Env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", temporalconn.Env("LOG_FORMAT", "json"), "json or console (env LOG_FORMAT)")
	fs.IntVar(&c.maxActivities, "max-concurrent-activities", envInt("BILLING_MAX_CONCURRENT_ACTIVITIES", 200),
		"activities run at once by this worker on each of its task queues: the per-worker bound on concurrent PortOne calls (env BILLING_MAX_CONCURRENT_ACTIVITIES)")
	fs.StringVar(&c.portoneTaskQueue, "portone-task-queue", temporalconn.Env("BILLING_PORTONE_TASK_QUEUE", workerset.DefaultPortOneTaskQueue),
		"task queue of the activities that call PortOne, rate-limited across all workers by -portone-rate (env BILLING_PORTONE_TASK_QUEUE)")
	fs.Float64Var(&c.portoneRate, "portone-rate", envFloat("BILLING_PORTONE_RATE", workerset.DefaultPortOneRate),
		"PortOne activities started per second across ALL workers (Temporal's task-queue-wide limit; every worker must use the same value; 0: unlimited) (env BILLING_PORTONE_RATE)")
	fs.DurationVar(&c.parkedInterval, "parked-count-interval", envDuration("BILLING_PARKED_COUNT_INTERVAL", time.Minute),
		"how often to count parked (needs_attention) subscriptions for the metrics; 0: never (env BILLING_PARKED_COUNT_INTERVAL)")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long running activities get to finish")
	fs.BoolVar(&c.serveEdge, "edge", envBool("BILLING_WORKER_SERVE_EDGE"),
		"also serve the HTTP edge (PortOne webhooks, registration) in this process; its settings are the -edge-* flags (env BILLING_WORKER_SERVE_EDGE)")
	c.edge.RegisterFlagsWithPrefix(fs, "edge-")
	c.reconcile.registerFlags(fs)
	c.versioning.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := c.versioning.validate(); err != nil {
		return c, err
	}
	c.portoneKey = os.Getenv("PORTONE_API_KEY")
	c.portoneSecret = os.Getenv("PORTONE_API_SECRET")
	switch {
	case c.portoneKey == "" || c.portoneSecret == "":
		return c, errors.New("PORTONE_API_KEY and PORTONE_API_SECRET must be set in the environment (never as flags: they would show in ps)")
	case c.taskQueue == "":
		return c, errors.New("-task-queue must not be empty")
	case c.portoneRate < 0:
		return c, fmt.Errorf("-portone-rate (BILLING_PORTONE_RATE) must be 0 (unlimited) or positive, got %v", c.portoneRate)
	case c.maxActivities < 1:
		return c, fmt.Errorf("-max-concurrent-activities (BILLING_MAX_CONCURRENT_ACTIVITIES) must be at least 1, got %d", c.maxActivities)
	case c.portoneTaskQueue == c.taskQueue:
		return c, fmt.Errorf("-portone-task-queue (BILLING_PORTONE_TASK_QUEUE) %q must differ from -task-queue: the rate limit needs a queue of its own (empty: no dedicated queue)", c.portoneTaskQueue)
	case c.activityTimeout <= c.portoneTimeout:
		return c, fmt.Errorf("-activity-timeout (%s) must be longer than -portone-timeout (%s), or Temporal would retry a charge that is still waiting for PortOne", c.activityTimeout, c.portoneTimeout)
	}
	return c, c.reconcile.validate(c.taskQueue)
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
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
	gateway, err := portone.NewClient(portone.Credentials{Key: cfg.portoneKey, Secret: cfg.portoneSecret},
		portone.WithBaseURL(cfg.portoneURL), portone.WithTimeout(cfg.portoneTimeout), portone.WithObserver(reg.ObservePortOne))
	if err != nil {
		return fmt.Errorf("PortOne client: %w", err)
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

	acts := &activities.Activities{Gateway: gateway, Observer: reg, Config: activities.Config{
		DemoMode: cfg.demo, NoticeURL: cfg.noticeURL, ScheduleSettleDelay: cfg.scheduleSettleDelay, ActivityTimeout: cfg.activityTimeout,
		PortOneTaskQueue: cfg.portoneTaskQueue,
	}}
	workers, err := workerset.Start(c, workerset.Options{
		TaskQueue: cfg.taskQueue, PortOneTaskQueue: cfg.portoneTaskQueue, PortOneRate: cfg.portoneRate,
		MaxConcurrentActivities: cfg.maxActivities, StopTimeout: cfg.stopTimeout,
		Interceptors: []interceptor.WorkerInterceptor{reg.WorkerInterceptor()},
		Deployment:   cfg.versioning.options(),
	}, acts, func(r sdkworker.Registry) { registerReconcile(r, c, gateway, log) })
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
		zap.String("portone", cfg.portoneURL), zap.Bool("demo", cfg.demo),
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
			deps := edge.Deps{Workflows: c, Logger: log.Named("edge"), WebhookVerdict: reg.Webhook, PortOneObserver: reg.ObservePortOne}
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
