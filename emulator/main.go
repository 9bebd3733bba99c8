// Command emulator serves the PortOne emulator (package portonetest) on a loopback address,
// V1 on one listener and V2 at the root of a second one, for local development, docker
// compose and end-to-end tests that run the worker as a separate process.
//
// Usage:
//
//	emulator [-addr 127.0.0.1:7780] [-v2-addr 127.0.0.1:7781] [-seed-customers c1,c2] [-notice-url URL]
//	         [-webhook-format json|form] [-webhook-retries] [-customer-not-found-status 200|404]
//	         [-manual-clock 2026-11-02T10:00:00+09:00] [-imp-key K -imp-secret S]
//	         [-v2-secret S] [-v2-store-id ID] [-v2-channel-key K] [-v2-webhook-url URL]
//	         [-v2-webhook-secrets whsec_A,whsec_B] [-v2-async-cancel] [-v2-seed-billing-keys k1,k2]
//
// Every flag falls back to an environment variable (PORTONE_EMULATOR_ADDR, ...). The V1 routes
// need a token from POST /users/getToken, the V2 routes "Authorization: PortOne <secret>"; the
// control API under /__emulator/ (on both listeners) needs none (see
// portone/portonetest/README.md). Logs are JSON on stderr; the process prints
// "listening on http://ADDR" (V1) and then "v2 listening on http://ADDR" on stdout when it is
// ready, and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	cfgpkg "github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/portone/portonetest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr                   string
	seedCustomers          []string
	noticeURL              string
	webhookFormat          string
	webhookRetries         bool
	customerNotFoundStatus int
	manualClock            *time.Time
	key, secret            string
	stateFile              string

	v2Addr, v2Secret, v2StoreID, v2ChannelKey string
	v2WebhookURL                              string
	v2WebhookSecrets                          []string
	v2AsyncCancel                             bool
	v2SeedKeys                                []string
}

// envPrefix prefixes every environment fallback.
const envPrefix = "PORTONE_EMULATOR_"

// parseConfig reads flags, falling back to environment variables for flags not given. A set
// variable that does not parse refuses to start, naming it.
func parseConfig(args []string, stderr io.Writer, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := cfgpkg.New(fs, func(name string) (string, bool) { v := getenv(name); return v, v != "" })
	var (
		cfg           config
		seeds, manual string
	)
	s.Addr(&cfg.addr, "addr", envPrefix+"ADDR", "127.0.0.1:7780", "listen address")
	s.String(&seeds, "seed-customers", envPrefix+"SEED_CUSTOMERS", "", "comma-separated customer_uids to register as NaverPay billing keys at start")
	s.URL(&cfg.noticeURL, "notice-url", envPrefix+"NOTICE_URL", "", "webhook URL used when a request has no notice_url, like PortOne's console setting")
	s.String(&cfg.webhookFormat, "webhook-format", envPrefix+"WEBHOOK_FORMAT", portonetest.WebhookJSON, "webhook body format: json or form")
	s.Bool(&cfg.webhookRetries, "webhook-retries", envPrefix+"WEBHOOK_RETRIES", false, "retry failed webhooks 5 times at 1-minute intervals")
	s.Int(&cfg.customerNotFoundStatus, "customer-not-found-status", envPrefix+"CUSTOMER_NOT_FOUND_STATUS", 200, "HTTP status for an unknown customer_uid: 200 or 404")
	s.String(&manual, "manual-clock", envPrefix+"MANUAL_CLOCK", "", "start a manual clock at this time (RFC 3339 or unix seconds); time then moves only through POST /__emulator/clock")
	s.String(&cfg.key, "imp-key", envPrefix+"IMP_KEY", portonetest.DefaultKey, "the merchant's imp_key")
	s.String(&cfg.secret, "imp-secret", envPrefix+"IMP_SECRET", portonetest.DefaultSecret, "the merchant's imp_secret")
	var v2Secrets, v2Seeds string
	s.String(&v2Seeds, "v2-seed-billing-keys", envPrefix+"V2_SEED_BILLING_KEYS", "", "comma-separated V2 NaverPay billing keys to issue at start (issueId seed-<key>)")
	s.String(&cfg.v2Addr, "v2-addr", envPrefix+"V2_ADDR", "", "V2 API listen address (served at its root); default: -addr's host and port+1 (port 0 stays 0); \"off\" serves no V2")
	s.String(&cfg.v2Secret, "v2-secret", envPrefix+"V2_SECRET", portonetest.DefaultV2Secret, "the V2 store's API secret (Authorization: PortOne <secret>)")
	s.String(&cfg.v2StoreID, "v2-store-id", envPrefix+"V2_STORE_ID", portonetest.DefaultStoreID, "the V2 store id")
	s.String(&cfg.v2ChannelKey, "v2-channel-key", envPrefix+"V2_CHANNEL_KEY", portonetest.DefaultV2ChannelKey, "the V2 NaverPay channel key")
	s.URL(&cfg.v2WebhookURL, "v2-webhook-url", envPrefix+"V2_WEBHOOK_URL", "", "V2 webhook URL (2024-04-25 format) used when a request has no noticeUrls, like PortOne's console setting")
	s.String(&v2Secrets, "v2-webhook-secrets", envPrefix+"V2_WEBHOOK_SECRETS", portonetest.DefaultV2WebhookSecret, "comma-separated Standard Webhooks secrets (whsec_...) signing V2 webhooks, at most two")
	s.Bool(&cfg.v2AsyncCancel, "v2-async-cancel", envPrefix+"V2_ASYNC_CANCEL", false, "V2 cancels answer REQUESTED and succeed a minute later on the emulator's clock")
	registerStateFlag(s, &cfg)
	if err := s.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, id := range strings.Split(seeds, ",") {
		if id = strings.TrimSpace(id); id != "" {
			cfg.seedCustomers = append(cfg.seedCustomers, id)
		}
	}
	for _, k := range strings.Split(v2Seeds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			cfg.v2SeedKeys = append(cfg.v2SeedKeys, k)
		}
	}
	for _, sec := range strings.Split(v2Secrets, ",") {
		if sec = strings.TrimSpace(sec); sec != "" {
			cfg.v2WebhookSecrets = append(cfg.v2WebhookSecrets, sec)
		}
	}
	if cfg.v2Addr == "" {
		a, err := nextPort(cfg.addr)
		if err != nil {
			return config{}, fmt.Errorf("-v2-addr: cannot derive it from -addr %q: %w", cfg.addr, err)
		}
		cfg.v2Addr = a
	}
	if manual != "" {
		t, err := parseTime(manual)
		if err != nil {
			return config{}, fmt.Errorf("-manual-clock: %w", err)
		}
		cfg.manualClock = &t
	}
	return cfg, nil
}

// nextPort is addr with its port plus one, the V2 listener's default (port 0 stays 0, so a
// test that asks for any free port gets two).
func nextPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65534 {
		return "", fmt.Errorf("port %q is not a number below 65535", port)
	}
	if n > 0 {
		n++
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor unix seconds", s)
	}
	return t, nil
}

func (c config) options(log *slog.Logger) portonetest.Options {
	o := portonetest.Options{
		Merchants: []portonetest.Merchant{{Key: c.key, Secret: c.secret,
			V2Secret: c.v2Secret, StoreID: c.v2StoreID, V2ChannelKey: c.v2ChannelKey}},
		CustomerNotFoundStatus: c.customerNotFoundStatus,
		WebhookFormat:          c.webhookFormat,
		DefaultNoticeURL:       c.noticeURL,
		WebhookRetries:         c.webhookRetries,
		Logger:                 log,
		V2: portonetest.V2Options{WebhookURL: c.v2WebhookURL, WebhookSecrets: c.v2WebhookSecrets,
			AsyncCancel: c.v2AsyncCancel},
	}
	if c.manualClock != nil {
		o.Clock = portonetest.NewManualClock(*c.manualClock)
	}
	return o
}

// run serves until ctx is cancelled or SIGINT/SIGTERM arrives, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := parseConfig(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := cfg.options(log)
	if err := opts.Validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	emu := portonetest.New(opts)
	defer emu.Close()
	var keeper *stateKeeper
	if cfg.stateFile != "" {
		keeper = &stateKeeper{path: cfg.stateFile, emu: emu, log: log}
		restored, err := keeper.load()
		if err != nil {
			return err
		}
		log.Info("state file", slog.String("file", cfg.stateFile), slog.Bool("restored", restored))
	}
	for _, uid := range cfg.seedCustomers {
		if keeper != nil && emu.HasCustomer(cfg.key, uid) {
			continue // restored; registering again would add a registration to the ledger
		}
		// NaverPay's window requires buyer_tel, so seeded keys carry a placeholder.
		// The emulator logs each registration with its registration imp_uid.
		if _, err := emu.RegisterCustomer(cfg.key, portonetest.CustomerSeed{CustomerUID: uid, CustomerTel: "01000000000"}); err != nil {
			return fmt.Errorf("seeding %q: %w", uid, err)
		}
	}

	for _, key := range cfg.v2SeedKeys {
		if _, ok := emu.BillingKeyV2(key); ok {
			continue // restored from the state file
		}
		if _, err := emu.IssueBillingKeyV2(portonetest.V2BillingKeySeed{Merchant: cfg.key, BillingKey: key, IssueID: "seed-" + key,
			IssueName: "seeded billing key", NaverAccount: "seed-" + key, Customer: portonetest.V2Customer{PhoneNumber: "01000000000"}}); err != nil {
			return fmt.Errorf("seeding V2 billing key %q: %w", key, err)
		}
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(hostOf(ln.Addr().String())); ip == nil || !ip.IsLoopback() {
		log.Warn("listening on a non-loopback address: the control API has no authentication", slog.String("addr", ln.Addr().String()))
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var v2srv *http.Server
	var v2ln net.Listener
	if cfg.v2Addr != "off" {
		if v2ln, err = net.Listen("tcp", cfg.v2Addr); err != nil {
			_ = srv.Close()
			return fmt.Errorf("V2 listener (-v2-addr): %w", err)
		}
		v2srv = &http.Server{Handler: emu.V2Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { serveErr <- v2srv.Serve(v2ln) }()
	}

	clock := "real"
	if cfg.manualClock != nil {
		clock = "manual from " + cfg.manualClock.Format(time.RFC3339)
	}
	log.Info("ready", slog.String("addr", ln.Addr().String()), slog.String("clock", clock),
		slog.String("webhook_format", cfg.webhookFormat), slog.String("notice_url", cfg.noticeURL),
		slog.Int("customer_not_found_status", cfg.customerNotFoundStatus), slog.Int("seeded", len(cfg.seedCustomers)))
	keeperDone := make(chan struct{})
	keeperCtx, stopKeeper := context.WithCancel(ctx)
	defer stopKeeper()
	go func() {
		defer close(keeperDone)
		if keeper != nil {
			keeper.run(keeperCtx)
		}
	}()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	if v2ln != nil {
		log.Info("v2 ready", slog.String("addr", v2ln.Addr().String()), slog.String("v2_webhook_url", cfg.v2WebhookURL),
			slog.Bool("v2_async_cancel", cfg.v2AsyncCancel))
		fmt.Fprintf(stdout, "v2 listening on http://%s\n", v2ln.Addr())
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	emu.Close() // cancels handlers held by latency faults, so Shutdown does not wait on them
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if v2srv != nil {
		if err := v2srv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown (V2): %w", err)
		}
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	stopKeeper()
	<-keeperDone
	if keeper != nil {
		if err := keeper.save(); err != nil {
			return fmt.Errorf("saving the state to %s: %w", cfg.stateFile, err)
		}
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
