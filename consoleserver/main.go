// Command consoleserver runs the billing team's staff console (package console) with the read
// model it shows: it opens the read model's database, serves the console, receives the
// worker's signed merchant event stream at /events (readmodel.Receiver) and reaches Temporal
// for the subscription page's live state and actions. docs/console.md is the guide.
//
// Usage:
//
//	PAYCYCLE_CONSOLE_STAFF='kim:operator:$2a$10$...' PAYCYCLE_WEBHOOK_SECRETS=whsec_... \
//	  consoleserver -readmodel sqlite:readmodel.db [-addr 127.0.0.1:7792] ...
//	consoleserver -hash-password < password.txt   # a bcrypt hash for PAYCYCLE_CONSOLE_STAFF
//
// Every flag defaults from an environment variable (run with -h for the list); the staff
// logins, the OIDC client secret, the webhook secrets and the codec keys come from the
// environment only. The process starts even when Temporal is down (the subscription page then
// says so) and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/paycycle/paycycle/console"
	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/logging"
	"github.com/paycycle/paycycle/readmodel"
	"github.com/paycycle/paycycle/temporalconn"
)

// Environment variables of the console's own settings.
const (
	EnvAddr             = "PAYCYCLE_CONSOLE_ADDR"
	EnvPublicURL        = "PAYCYCLE_CONSOLE_PUBLIC_URL"
	EnvReadModel        = "PAYCYCLE_READMODEL_DSN"
	EnvOIDCIssuer       = "PAYCYCLE_CONSOLE_OIDC_ISSUER"
	EnvOIDCClientID     = "PAYCYCLE_CONSOLE_OIDC_CLIENT_ID"
	EnvOIDCClientSecret = "PAYCYCLE_CONSOLE_OIDC_CLIENT_SECRET"
	EnvOIDCRolesClaim   = "PAYCYCLE_CONSOLE_OIDC_ROLES_CLAIM"
	EnvOIDCRolesPrefix  = "PAYCYCLE_CONSOLE_OIDC_ROLES_PREFIX"
	EnvOIDCDefaultRoles = "PAYCYCLE_CONSOLE_OIDC_DEFAULT_ROLES"
	EnvProxyHeader      = "PAYCYCLE_CONSOLE_PROXY_HEADER"
	EnvProxyRolesHeader = "PAYCYCLE_CONSOLE_PROXY_ROLES_HEADER"
	EnvProxyRolesPrefix = "PAYCYCLE_CONSOLE_PROXY_ROLES_PREFIX"
	EnvProxyRoles       = "PAYCYCLE_CONSOLE_PROXY_DEFAULT_ROLES"
	EnvProxyTrusted     = "PAYCYCLE_CONSOLE_PROXY_TRUSTED"
	EnvMetricsAddr      = "PAYCYCLE_CONSOLE_METRICS_ADDR"
	EnvSessionIdle      = "PAYCYCLE_CONSOLE_SESSION_IDLE"
	EnvSessionMax       = "PAYCYCLE_CONSOLE_SESSION_MAX"
	// EnvWebhookSecrets are the secrets the worker signs the event stream with (the worker's
	// variable of the same name): /events verifies with them.
	EnvWebhookSecrets = "PAYCYCLE_WEBHOOK_SECRETS"
)

// DefaultAddr is the console's listen address.
const DefaultAddr = "127.0.0.1:7792"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	code := 0
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "consoleserver:", err)
		code = 1
	}
	os.Exit(code)
}

// settings are the parsed flags.
type settings struct {
	addr, publicURL, readModel                      string
	oidcIssuer, oidcClientID, oidcClaim, oidcPrefix string
	oidcDefault                                     string
	proxyHeader, proxyRolesHeader, proxyPrefix      string
	proxyRoles, proxyTrusted                        string
	metricsAddr                                     string
	idle, maxAge                                    time.Duration
	hashPassword                                    bool
	logLevel, logFormat                             string
	staff, oidcSecret, webhookSecrets               string
	temporal                                        temporalconn.Config
}

func parse(args []string, stderr io.Writer, lookup config.Lookup) (*settings, error) {
	fs := flag.NewFlagSet("consoleserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	st := &settings{}
	s := config.New(fs, lookup)
	s.Addr(&st.addr, "addr", EnvAddr, DefaultAddr, "listen address host:port")
	s.URL(&st.publicURL, "public-url", EnvPublicURL, "", "URL browsers reach the console at (default http://<listen address>); https makes cookies Secure")
	s.String(&st.readModel, "readmodel", EnvReadModel, "", `the read model's database: "sqlite:<path>" or "postgres://…" (required)`)
	s.URL(&st.oidcIssuer, "oidc-issuer", EnvOIDCIssuer, "", "OpenID Connect issuer URL (empty: no single sign-on); the client secret comes from "+EnvOIDCClientSecret)
	s.String(&st.oidcClientID, "oidc-client-id", EnvOIDCClientID, "", "OpenID Connect client ID")
	s.String(&st.oidcClaim, "oidc-roles-claim", EnvOIDCRolesClaim, "roles", "ID token claim listing the console roles")
	s.String(&st.oidcPrefix, "oidc-roles-prefix", EnvOIDCRolesPrefix, "", `prefix of the claim's console roles (e.g. "paycycle-console-")`)
	s.String(&st.oidcDefault, "oidc-default-roles", EnvOIDCDefaultRoles, "", "roles everyone the provider authenticates gets, joined by + (empty: only the claim's)")
	s.String(&st.proxyHeader, "proxy-header", EnvProxyHeader, "", "trust this identity header of a company SSO proxy (e.g. X-Forwarded-Email), only from -proxy-trusted (empty: off)")
	s.String(&st.proxyRolesHeader, "proxy-roles-header", EnvProxyRolesHeader, "", "the proxy's header listing the console roles (e.g. X-Forwarded-Groups)")
	s.String(&st.proxyPrefix, "proxy-roles-prefix", EnvProxyRolesPrefix, "", "prefix of the proxy's console roles")
	s.String(&st.proxyRoles, "proxy-default-roles", EnvProxyRoles, "", "roles everyone the proxy names gets, joined by +")
	s.String(&st.proxyTrusted, "proxy-trusted", EnvProxyTrusted, "", "the proxies' addresses or CIDR prefixes, comma-separated: the header is ignored from any other peer")
	s.Addr(&st.metricsAddr, "metrics-addr", EnvMetricsAddr, "", "serve the read model's stock gauges (subscriptions by status, MRR, charges due in 24 h, lag) for Prometheus at http://<addr>/metrics (empty: off)")
	s.Duration(&st.idle, "session-idle", EnvSessionIdle, 30*time.Minute, "a session unused this long ends")
	s.Duration(&st.maxAge, "session-max", EnvSessionMax, 12*time.Hour, "a session ends this long after its login")
	fs.BoolVar(&st.hashPassword, "hash-password", false, "read a password from standard input, print its bcrypt hash for "+console.EnvStaff+", and exit")
	st.temporal.Register(s)
	s.String(&st.logLevel, "log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&st.logFormat, "log-format", "LOG_FORMAT", "json", "json or console")
	st.staff = s.Secret(console.EnvStaff)
	st.oidcSecret = s.Secret(EnvOIDCClientSecret)
	st.webhookSecrets = s.Secret(EnvWebhookSecrets)
	if err := s.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return st, nil
}

// consoleConfig turns the settings into the console's configuration, naming the setting that
// is wrong.
func (st *settings) consoleConfig(listen net.Addr) (console.Config, error) {
	cfg := console.Config{PublicURL: st.publicURL, SessionIdle: st.idle, SessionMax: st.maxAge}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + listen.String()
	}
	staff, err := console.ParseStaff(st.staff)
	if err != nil {
		return cfg, err
	}
	cfg.Staff = staff
	if st.idle <= 0 || st.maxAge < st.idle {
		return cfg, fmt.Errorf("-session-idle (%s) must be positive and at most -session-max (%s)", EnvSessionIdle, EnvSessionMax)
	}
	if st.oidcIssuer != "" {
		if st.oidcClientID == "" {
			return cfg, fmt.Errorf("-oidc-client-id (%s) is required with -oidc-issuer", EnvOIDCClientID)
		}
		cfg.OIDC = &console.OIDCConfig{Issuer: st.oidcIssuer, ClientID: st.oidcClientID, ClientSecret: st.oidcSecret,
			RolesClaim: st.oidcClaim, RolesPrefix: st.oidcPrefix, DefaultRoles: splitRoles(st.oidcDefault)}
	}
	if st.proxyHeader != "" {
		trusted, err := console.ParseTrusted(st.proxyTrusted)
		if err != nil {
			return cfg, fmt.Errorf("-proxy-trusted (%s): %w", EnvProxyTrusted, err)
		}
		if len(trusted) == 0 {
			return cfg, fmt.Errorf("-proxy-trusted (%s) is required with -proxy-header: only the proxies may name staff", EnvProxyTrusted)
		}
		cfg.Proxy = &console.ProxyConfig{Header: st.proxyHeader, RolesHeader: st.proxyRolesHeader, RolesPrefix: st.proxyPrefix, DefaultRoles: splitRoles(st.proxyRoles), Trusted: trusted}
	}
	if len(cfg.Staff) == 0 && cfg.OIDC == nil && cfg.Proxy == nil {
		return cfg, fmt.Errorf("no way to log in: set %s (login:roles:bcrypt-hash, see -hash-password), -oidc-issuer (%s) or -proxy-header (%s)", console.EnvStaff, EnvOIDCIssuer, EnvProxyHeader)
	}
	return cfg, nil
}

// splitRoles reads "viewer+pii".
func splitRoles(s string) []console.Role {
	var out []console.Role
	for _, r := range strings.Split(s, "+") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, console.Role(r))
		}
	}
	return out
}

// hashFrom reads one line and prints its bcrypt hash.
func hashFrom(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password: %w", err)
	}
	h, err := console.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, h)
	return err
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup config.Lookup) error {
	st, err := parse(args, stderr, lookup)
	if err != nil {
		return err
	}
	if st.hashPassword {
		return hashFrom(stdin, stdout)
	}
	if st.readModel == "" {
		return fmt.Errorf(`-readmodel (%s) is required: "sqlite:<path>" or "postgres://…"`, EnvReadModel)
	}
	logger, err := logging.New(st.logLevel, st.logFormat)
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()

	ln, err := net.Listen("tcp", st.addr)
	if err != nil {
		return fmt.Errorf("-addr (%s): %w", EnvAddr, err)
	}
	defer func() { _ = ln.Close() }()
	cfg, err := st.consoleConfig(ln.Addr())
	if err != nil {
		return err
	}

	store, err := readmodel.Open(ctx, st.readModel)
	if err != nil {
		return fmt.Errorf("-readmodel (%s): %w", EnvReadModel, err)
	}
	defer func() { _ = store.Close() }()
	var events http.Handler
	if st.webhookSecrets != "" {
		rv, err := readmodel.NewReceiver(store, st.webhookSecrets)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvWebhookSecrets, err)
		}
		events = rv
	} else {
		logger.Warn("no " + EnvWebhookSecrets + ": /events is not served and the read model receives no events")
	}

	if st.temporal.Identity == "" {
		host, _ := os.Hostname()
		st.temporal.Identity = fmt.Sprintf("consoleserver@%d@%s", os.Getpid(), host)
	}
	opts, err := st.temporal.Options(logging.Temporal(logger.Named("temporal")))
	if err != nil {
		return err
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", st.temporal.Address, err)
	}
	defer tc.Close()

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	srv, err := console.New(startCtx, cfg, console.Deps{Store: store, Workflows: tc, Logger: logger.Named("console"), Events: events})
	cancel()
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: zap.NewStdLog(logger.Named("http")),
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if st.metricsAddr != "" {
		// On its own address: the gauges are the business's figures, for Prometheus, not for
		// whoever reaches the console.
		reg := prometheus.NewRegistry()
		if err := reg.Register(readmodel.NewCollector(store, 5*time.Second)); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		mln, err := net.Listen("tcp", st.metricsAddr)
		if err != nil {
			return fmt.Errorf("-metrics-addr (%s): %w", EnvMetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.Serve(mln) }()
		defer func() { _ = ms.Close() }()
		logger.Info("read model gauges served", zap.String("url", "http://"+mln.Addr().String()+"/metrics"))
	}
	logger.Info("console listening", zap.String("url", cfg.PublicURL), zap.String("temporal_address", st.temporal.Address),
		zap.Int("staff_logins", len(cfg.Staff)), zap.Bool("oidc", cfg.OIDC != nil), zap.Bool("events", events != nil))
	fmt.Fprintf(stdout, "console listening on %s\n", cfg.PublicURL)
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}
