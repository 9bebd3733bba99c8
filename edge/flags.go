package edge

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/paycycle/paycycle/portone"
)

// Environment variables read by Flags. Flags default to them (12-factor); the PortOne key and
// secret are read from the environment only, so they never show in a process listing.
const (
	EnvAddr           = "BILLING_EDGE_ADDR"
	EnvPublicURL      = "BILLING_EDGE_PUBLIC_URL"
	EnvIMPCode        = "PORTONE_IMP_CODE"
	EnvIMPScriptURL   = "PORTONE_IMP_SCRIPT_URL"
	EnvPG             = "PORTONE_PG"
	EnvNaverChainID   = "NAVERPAY_CHAIN_ID"
	EnvDemo           = "BILLING_DEMO_MODE"
	EnvPortOneURL     = "PORTONE_BASE_URL"
	EnvPortOneSandbox = "PORTONE_INCLUDE_SANDBOX"
	EnvPortOneKey     = "PORTONE_API_KEY"
	EnvPortOneSecret  = "PORTONE_API_SECRET"
)

// DefaultAddr is where the edge listens by default: loopback, because in production a
// reverse proxy (TLS, the public host name) sits in front of it.
const DefaultAddr = "127.0.0.1:7790"

// Flags are the edge's settings as command-line flags with environment defaults. The
// edgeserver binary uses them on their own; the worker binary can register them too (with a
// prefix such as "edge-" so they do not clash with its own) and serve the edge beside the
// worker with Run, passing its Temporal client and, if it has one, its PortOne client.
type Flags struct {
	// Addr is the listen address (-addr, BILLING_EDGE_ADDR, default DefaultAddr).
	Addr string
	// PublicURL is Config.PublicURL (-public-url, BILLING_EDGE_PUBLIC_URL, default
	// "http://" + the address actually listened on).
	PublicURL string
	// IMPCode is Config.IMPCode (-imp-code, PORTONE_IMP_CODE, default "imp00000000").
	IMPCode string
	// IMPScriptURL is Config.IMPScriptURL (-imp-script-url, PORTONE_IMP_SCRIPT_URL).
	IMPScriptURL string
	// PG is Config.PG (-pg, PORTONE_PG, default "naverpay").
	PG string
	// NaverChainID is Config.NaverChainID (-naver-chain-id, NAVERPAY_CHAIN_ID).
	NaverChainID string
	// Demo is Config.Demo (-demo, BILLING_DEMO_MODE).
	Demo bool
	// PortOneURL is the PortOne API origin (-portone-url, PORTONE_BASE_URL, default
	// portone.DefaultBaseURL); point it at the emulator in development.
	PortOneURL string
	// PortOneIncludeSandbox makes payment lookups see test-channel payments
	// (-portone-include-sandbox, PORTONE_INCLUDE_SANDBOX). PortOne hides them by default, and
	// the edge would then treat every test registration as forged.
	PortOneIncludeSandbox bool
	// PortOne holds the REST API key pair, from PORTONE_API_KEY and PORTONE_API_SECRET only.
	// Its formatting never prints the secret.
	PortOne portone.Credentials

	envErrs []error
}

// RegisterFlags adds the edge's flags to fs under their plain names (-addr, -public-url, ...),
// with defaults from the environment.
func (f *Flags) RegisterFlags(fs *flag.FlagSet) { f.RegisterFlagsWithPrefix(fs, "") }

// RegisterFlagsWithPrefix adds the edge's flags to fs with prefix before each name, for a
// binary that has flags of its own (the worker uses "edge-": -edge-addr, -edge-demo, ...).
func (f *Flags) RegisterFlagsWithPrefix(fs *flag.FlagSet, prefix string) {
	f.envErrs = nil
	fs.StringVar(&f.Addr, prefix+"addr", env(EnvAddr, DefaultAddr), "edge listen address host:port (env "+EnvAddr+")")
	fs.StringVar(&f.PublicURL, prefix+"public-url", env(EnvPublicURL, ""), "base URL browsers and PortOne use to reach the edge (env "+EnvPublicURL+"; default http://<listen address>)")
	fs.StringVar(&f.IMPCode, prefix+"imp-code", env(EnvIMPCode, "imp00000000"), "PortOne merchant code for IMP.init (env "+EnvIMPCode+")")
	fs.StringVar(&f.IMPScriptURL, prefix+"imp-script-url", env(EnvIMPScriptURL, DefaultIMPScriptURL), "URL of PortOne's browser SDK (env "+EnvIMPScriptURL+")")
	fs.StringVar(&f.PG, prefix+"pg", env(EnvPG, DefaultPG), "IMP.request_pay pg value (env "+EnvPG+")")
	fs.StringVar(&f.NaverChainID, prefix+"naver-chain-id", env(EnvNaverChainID, ""), "NaverPay naverChainId, for group merchants only (env "+EnvNaverChainID+")")
	fs.BoolVar(&f.Demo, prefix+"demo", f.envBool(EnvDemo), "serve the demo start page /register/new (env "+EnvDemo+")")
	fs.StringVar(&f.PortOneURL, prefix+"portone-url", env(EnvPortOneURL, portone.DefaultBaseURL), "PortOne API origin (env "+EnvPortOneURL+")")
	fs.BoolVar(&f.PortOneIncludeSandbox, prefix+"portone-include-sandbox", f.envBool(EnvPortOneSandbox), "let payment lookups see test-channel payments (env "+EnvPortOneSandbox+")")
	f.PortOne = portone.Credentials{Key: os.Getenv(EnvPortOneKey), Secret: os.Getenv(EnvPortOneSecret)}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envBool reads a boolean variable; a value that is not a boolean is reported by Config
// rather than silently read as false.
func (f *Flags) envBool(name string) bool {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		f.envErrs = append(f.envErrs, fmt.Errorf("%s=%q is not a boolean (use true or false)", name, v))
	}
	return b
}

// Config returns the edge configuration the flags describe. listenAddr is the address
// actually listened on (it fills the default public URL, port included); it may be nil when
// PublicURL is set.
func (f *Flags) Config(listenAddr net.Addr) (Config, error) {
	if err := errors.Join(f.envErrs...); err != nil {
		return Config{}, fmt.Errorf("edge: %w", err)
	}
	public := f.PublicURL
	if public == "" {
		if listenAddr == nil {
			return Config{}, errors.New("edge: the public URL is required when the listen address is unknown")
		}
		public = "http://" + reachableAddr(listenAddr.String())
	}
	cfg := Config{
		PublicURL:    public,
		IMPCode:      f.IMPCode,
		IMPScriptURL: f.IMPScriptURL,
		PG:           f.PG,
		NaverChainID: f.NaverChainID,
		Demo:         f.Demo,
	}
	return cfg.withDefaults()
}

// reachableAddr turns a wildcard listen address (":7790", "0.0.0.0:7790", "[::]:7790") into
// one a browser on the same machine can open.
func reachableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// NewPortOneClient returns the PortOne client the flags describe, with the edge's upstream
// timeout. It fails when PORTONE_API_KEY or PORTONE_API_SECRET is unset.
func (f *Flags) NewPortOneClient(opts ...portone.Option) (*portone.Client, error) {
	if f.PortOne.Key == "" || f.PortOne.Secret == "" {
		return nil, fmt.Errorf("edge: %s and %s must be set (the PortOne REST API key pair)", EnvPortOneKey, EnvPortOneSecret)
	}
	base := []portone.Option{portone.WithBaseURL(f.PortOneURL), portone.WithTimeout(DefaultUpstreamTimeout),
		portone.WithIncludeSandbox(f.PortOneIncludeSandbox)}
	c, err := portone.NewClient(f.PortOne, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("edge: PortOne client: %w", err)
	}
	return c, nil
}

// Build returns a Server configured by the flags. deps.Workflows is required; when
// deps.PortOne is nil a PortOne client is made with NewPortOneClient.
func (f *Flags) Build(listenAddr net.Addr, deps Deps) (*Server, error) {
	cfg, err := f.Config(listenAddr)
	if err != nil {
		return nil, err
	}
	if deps.PortOne == nil {
		var opts []portone.Option
		if deps.PortOneObserver != nil {
			opts = append(opts, portone.WithObserver(deps.PortOneObserver))
		}
		c, err := f.NewPortOneClient(opts...)
		if err != nil {
			return nil, err
		}
		deps.PortOne = c
	}
	return New(cfg, deps)
}

// Run listens on Addr, builds the Server, calls ready (if not nil) with the URL it listens
// on, and serves until ctx ends, then shuts down gracefully (see Serve). This is the whole
// edge for a binary: the edgeserver calls it alone, the worker beside its worker loop.
func (f *Flags) Run(ctx context.Context, deps Deps, ready func(listenURL string)) error {
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return fmt.Errorf("edge: listen on %s: %w", f.Addr, err)
	}
	srv, err := f.Build(ln.Addr(), deps)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if ready != nil {
		ready("http://" + reachableAddr(ln.Addr().String()))
	}
	return Serve(ctx, ln, srv.Handler(), deps.Logger)
}
