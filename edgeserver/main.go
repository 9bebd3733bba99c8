// Command edgeserver runs the billing orchestrator's HTTP edge on its own: PortOne's webhooks,
// the NaverPay registration page and its completion, the customer's self-service cancel page,
// health and readiness (see edge/README.md).
//
// Usage:
//
//	PORTONE_API_KEY=... PORTONE_API_SECRET=... edgeserver [-addr 127.0.0.1:7790] [-demo] ...
//
// PortOne V2 (POST /portone/v2/webhook and V2 registration) is on when any PORTONE_V2_ variable
// is set; then PORTONE_V2_API_SECRET, PORTONE_V2_STORE_ID, PORTONE_V2_CHANNEL_KEY and
// PORTONE_V2_WEBHOOK_SECRETS are all required and each is refused at start by name when
// malformed (docs/portone-v2.md).
//
// Every flag defaults from an environment variable (run with -h for the list). The PortOne key
// and secret, the payload codec keys (PAYCYCLE_CODEC_KEYS) and the signed links' secret
// (PAYCYCLE_LINK_SECRET) come from the environment only.
// The process starts even when Temporal is down (/readyz then answers 503) and stops
// gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/edge"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/logging"
	"github.com/paycycle/paycycle/metrics"
	"github.com/paycycle/paycycle/temporalconn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	code := 0
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "edgeserver:", err)
		code = 1
	}
	os.Exit(code)
}

// run parses args (environment defaults through lookup), wires the edge and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup config.Lookup) error {
	fs := flag.NewFlagSet("edgeserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		edgeFlags edge.Flags
		temporal  temporalconn.Config
		logLevel  string
		logFormat string
	)
	s := config.New(fs, lookup)
	edgeFlags.Register(s, "")
	edgeFlags.RegisterPortOne(s)
	temporal.Register(s)
	s.String(&logLevel, "log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&logFormat, "log-format", "LOG_FORMAT", "json", "json or console")
	if err := s.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	logger, err := logging.New(logLevel, logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	if temporal.Identity == "" {
		host, _ := os.Hostname()
		temporal.Identity = fmt.Sprintf("edgeserver@%d@%s", os.Getpid(), host)
	}
	reg := metrics.New()
	temporal.MetricsHandler = reg.SDKHandler()
	opts, err := temporal.Options(logging.Temporal(logger.Named("temporal")))
	if err != nil {
		return err
	}
	// A lazy client connects on first use, so the edge starts (and /healthz answers) while
	// Temporal is still coming up; /readyz says when it is reachable.
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", temporal.Address, err)
	}
	defer tc.Close()

	deps := edge.Deps{Workflows: tc, Logger: logger, Metrics: reg.Handler(), WebhookVerdict: reg.Webhook, PortOneObserver: reg.ObservePortOne, PortOneV2Observer: reg.ObservePortOneV2}
	return edgeFlags.Run(ctx, deps, func(listenURL string) {
		logger.Info("edge listening", zap.String("url", listenURL),
			zap.String("temporal_address", temporal.Address), zap.String("namespace", temporal.Namespace),
			zap.String("portone_url", edgeFlags.PortOne.BaseURL), zap.Bool("portone_v2", edgeFlags.PortOneV2.Enabled()),
			zap.Bool("demo", edgeFlags.Demo))
		fmt.Fprintf(stdout, "edge listening on %s\n", listenURL)
	})
}
