package edge

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/paycycle/paycycle/internal/config"
	"github.com/paycycle/paycycle/internal/portoneconf"
	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/portone"
)

// Environment variables read by Flags. Flags default to them (12-factor); the PortOne settings
// and key pair are portoneconf's (PORTONE_BASE_URL, PORTONE_API_KEY, ...), shared with the worker.
const (
	EnvAddr         = "BILLING_EDGE_ADDR"
	EnvPublicURL    = "BILLING_EDGE_PUBLIC_URL"
	EnvIMPCode      = "PORTONE_IMP_CODE"
	EnvIMPScriptURL = "PORTONE_IMP_SCRIPT_URL"
	EnvPG           = "PORTONE_PG"
	EnvNaverChainID = "NAVERPAY_CHAIN_ID"
	EnvDemo         = "BILLING_DEMO_MODE"
	// EnvFullRefundDays is Config.FullRefundDays.
	EnvFullRefundDays = "PAYCYCLE_SELF_SERVICE_FULL_REFUND_DAYS"
	// EnvLinkSecret holds the signed links' secrets (signedlink.EnvSecret), environment only.
	EnvLinkSecret = signedlink.EnvSecret
	// EnvV2SDKScriptURL is Config.V2.SDKScriptURL: where the registration page loads PortOne's
	// V2 browser SDK (or the emulator's stand-in) from.
	EnvV2SDKScriptURL = "PORTONE_V2_SDK_URL"
)

// DefaultAddr is where the edge listens by default: loopback, because in production a
// reverse proxy (TLS, the public host name) sits in front of it.
const DefaultAddr = "127.0.0.1:7790"

// Flags are the edge's settings as command-line flags with environment defaults. The
// edgeserver binary uses them on their own (with RegisterPortOne); the worker binary registers
// them with a prefix such as "edge-" and serves the edge beside the worker with Run, passing
// its own Temporal and PortOne clients, so one process has one PortOne client.
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
	// FullRefundDays is Config.FullRefundDays (-self-service-full-refund-days,
	// PAYCYCLE_SELF_SERVICE_FULL_REFUND_DAYS, default 0: off).
	FullRefundDays int
	// LinkKeys are PAYCYCLE_LINK_SECRET's secrets as read by Register (never a flag: it would
	// show in ps), nil when unset. They are kept parsed, never as text, so that printing Flags
	// cannot print a secret.
	LinkKeys *signedlink.Keys
	// linkErr is why PAYCYCLE_LINK_SECRET did not parse; Config reports it.
	linkErr error
	// PortOne describes the PortOne client Build makes when Deps.PortOne is nil; filled by
	// RegisterPortOne.
	PortOne portoneconf.Settings
	// PortOneV2 describes PortOne V2 (PORTONE_V2_API_SECRET, PORTONE_V2_STORE_ID,
	// PORTONE_V2_CHANNEL_KEY, PORTONE_V2_WEBHOOK_SECRETS, ...); filled by RegisterPortOne, or set
	// by a binary that reads them itself. V2 is on when any of its variables is set, and then
	// Config refuses to start unless every one the edge needs is there and well formed.
	PortOneV2 portoneconf.V2Settings
	// V2SDKScriptURL is Config.V2.SDKScriptURL (-portone-v2-sdk-url, PORTONE_V2_SDK_URL).
	V2SDKScriptURL string
}

// Register adds the edge's flags to s with prefix before each name ("" for the edgeserver,
// "edge-" in the worker: -edge-addr, -edge-demo, ...). Malformed variables are reported by
// s.Parse.
func (f *Flags) Register(s *config.Set, prefix string) {
	s.Addr(&f.Addr, prefix+"addr", EnvAddr, DefaultAddr, "edge listen address host:port")
	s.URL(&f.PublicURL, prefix+"public-url", EnvPublicURL, "", "base URL browsers and PortOne use to reach the edge (default http://<listen address>)")
	s.String(&f.IMPCode, prefix+"imp-code", EnvIMPCode, "imp00000000", "PortOne merchant code for IMP.init")
	s.URL(&f.IMPScriptURL, prefix+"imp-script-url", EnvIMPScriptURL, DefaultIMPScriptURL, "URL of PortOne's browser SDK")
	s.String(&f.PG, prefix+"pg", EnvPG, DefaultPG, "IMP.request_pay pg value")
	s.String(&f.NaverChainID, prefix+"naver-chain-id", EnvNaverChainID, "", "NaverPay naverChainId, for group merchants only")
	s.Bool(&f.Demo, prefix+"demo", EnvDemo, false, "serve the demo start page /register/new")
	s.URL(&f.V2SDKScriptURL, prefix+"portone-v2-sdk-url", EnvV2SDKScriptURL, "",
		"URL of PortOne's V2 browser SDK (or the emulator's stand-in) for V2 registration; empty: the page offers no V2 registration")
	s.Int(&f.FullRefundDays, prefix+"self-service-full-refund-days", EnvFullRefundDays, 0,
		"offer a full refund on the self-service cancel page within this many days of a charge (0: off)")
	f.LinkKeys, f.linkErr = nil, nil
	if v := s.Secret(EnvLinkSecret); v != "" {
		f.LinkKeys, f.linkErr = signedlink.ParseSecrets(v)
	}
}

// RegisterPortOne adds the PortOne client flags (-portone-url, ..., -portone-v2-url) and reads
// V2's settings, for a binary that runs the edge without PortOne clients of its own.
func (f *Flags) RegisterPortOne(s *config.Set) {
	f.PortOne.Register(s)
	f.PortOneV2.Register(s)
}

// Config returns the edge configuration the flags describe. listenAddr is the address
// actually listened on (it fills the default public URL, port included); it may be nil when
// PublicURL is set.
func (f *Flags) Config(listenAddr net.Addr) (Config, error) {
	public := f.PublicURL
	if public == "" {
		if listenAddr == nil {
			return Config{}, errors.New("edge: the public URL is required when the listen address is unknown")
		}
		public = "http://" + reachableAddr(listenAddr.String())
	}
	cfg := Config{
		PublicURL:      public,
		IMPCode:        f.IMPCode,
		IMPScriptURL:   f.IMPScriptURL,
		PG:             f.PG,
		NaverChainID:   f.NaverChainID,
		Demo:           f.Demo,
		FullRefundDays: f.FullRefundDays,
	}
	if f.linkErr != nil {
		// Strict: a malformed secret refuses to start, rather than serving links nobody can
		// open (or, worse, signing them with a weak secret).
		return Config{}, fmt.Errorf("edge: %w", f.linkErr)
	}
	cfg.LinkKeys = f.LinkKeys
	v2, err := f.v2Config()
	if err != nil {
		return Config{}, err
	}
	cfg.V2 = v2
	return cfg.withDefaults()
}

// v2Config is Config.V2 from PortOneV2: nil when V2 is off; an error naming every malformed
// or missing variable when it is on.
func (f *Flags) v2Config() (*V2Config, error) {
	if !f.PortOneV2.Enabled() {
		return nil, nil
	}
	if err := f.PortOneV2.Validate(); err != nil {
		return nil, fmt.Errorf("edge: PortOne V2: %w", err)
	}
	v2 := &V2Config{StoreID: f.PortOneV2.StoreID, ChannelKey: f.PortOneV2.ChannelKey, SDKScriptURL: f.V2SDKScriptURL}
	if secrets := f.PortOneV2.WebhookSecrets(); len(secrets) > 0 {
		keys, err := ParseV2WebhookSecrets(secrets)
		if err != nil {
			return nil, fmt.Errorf("edge: %s: %w", portoneconf.EnvV2WebhookSecrets, err)
		}
		v2.WebhookKeys = keys
	}
	// check (in withDefaults) names what the edge needs and V2Settings leaves optional.
	return v2, nil
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

// NewPortOneClient returns the PortOne client f.PortOne describes; opts add to it (an observer
// for metrics). It fails when PORTONE_API_KEY or PORTONE_API_SECRET is unset.
func (f *Flags) NewPortOneClient(opts ...portone.Option) (*portone.Client, error) {
	c, err := f.PortOne.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
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
	if cfg.V2 != nil && deps.PortOneV2 == nil {
		g, err := f.PortOneV2.NewObservedV2Gateway(deps.PortOneV2Observer)
		if err != nil {
			return nil, fmt.Errorf("edge: %w", err)
		}
		deps.PortOneV2 = g
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
