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

	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/activities"
	"github.com/paycycle/paycycle/billing"
	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/logging"
	"github.com/paycycle/paycycle/portone"
	"github.com/paycycle/paycycle/temporalconn"
	"github.com/paycycle/paycycle/workflows"
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
	stopTimeout         time.Duration
	serveEdge           bool
	edge                edge.Flags
	versioning          versioningFlags
}

func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
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
	fs.IntVar(&c.maxActivities, "max-concurrent-activities", 200, "activities run at once by this worker; bounds the load on PortOne")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 30*time.Second, "on SIGTERM, how long running activities get to finish")
	fs.BoolVar(&c.serveEdge, "edge", envBool("BILLING_WORKER_SERVE_EDGE"),
		"also serve the HTTP edge (PortOne webhooks, registration) in this process; its settings are the -edge-* flags (env BILLING_WORKER_SERVE_EDGE)")
	c.edge.RegisterFlagsWithPrefix(fs, "edge-")
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
	case c.activityTimeout <= c.portoneTimeout:
		return c, fmt.Errorf("-activity-timeout (%s) must be longer than -portone-timeout (%s), or Temporal would retry a charge that is still waiting for PortOne", c.activityTimeout, c.portoneTimeout)
	}
	return c, nil
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

	gateway, err := portone.NewClient(portone.Credentials{Key: cfg.portoneKey, Secret: cfg.portoneSecret},
		portone.WithBaseURL(cfg.portoneURL), portone.WithTimeout(cfg.portoneTimeout))
	if err != nil {
		return fmt.Errorf("PortOne client: %w", err)
	}
	if cfg.temporal.CodecKeys == "" {
		log.Warn("PAYCYCLE_CODEC_KEYS is not set: workflow payloads, including buyer data, are stored in clear")
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := cfg.temporal.Dial(dialCtx, logging.Temporal(log))
	if err != nil {
		return err
	}
	defer c.Close()

	acts := &activities.Activities{Gateway: gateway, Config: activities.Config{
		DemoMode: cfg.demo, NoticeURL: cfg.noticeURL, ScheduleSettleDelay: cfg.scheduleSettleDelay, ActivityTimeout: cfg.activityTimeout,
	}}
	w := worker.New(c, cfg.taskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.maxActivities,
		WorkerStopTimeout:                  cfg.stopTimeout,
		DeploymentOptions:                  cfg.versioning.options(),
	})
	workflows.Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	log.Info("worker polling",
		zap.String("temporal", cfg.temporal.Address), zap.String("namespace", cfg.temporal.Namespace),
		zap.String("task_queue", cfg.taskQueue), zap.String("portone", cfg.portoneURL), zap.Bool("demo", cfg.demo),
		zap.String("deployment", cfg.versioning.deploymentName), zap.String("build_id", cfg.versioning.buildID))

	var ready atomic.Bool
	ready.Store(true)
	if cfg.healthAddr != "" {
		srv, err := serveHealth(cfg.healthAddr, &ready)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("health endpoint", zap.String("addr", "http://"+cfg.healthAddr+"/healthz"))
	}
	edgeDone := make(chan error, 1)
	if cfg.serveEdge {
		go func() {
			edgeDone <- cfg.edge.Run(ctx, edge.Deps{Workflows: c, Logger: log.Named("edge")}, func(url string) {
				log.Info("edge listening", zap.String("url", url))
			})
		}()
	}
	select {
	case <-ctx.Done():
		if cfg.serveEdge {
			<-edgeDone // the edge finishes its in-flight requests (bounded by its shutdown timeout)
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
// server, Kubernetes) know it is ready.
func serveHealth(addr string, ready *atomic.Bool) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
