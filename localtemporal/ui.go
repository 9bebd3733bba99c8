package localtemporal

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"

	"github.com/paycycle/paycycle/internal/nofollow"
)

// uiServer is the Temporal Web UI (ui-server with its embedded assets) in this process.
type uiServer struct {
	srv  *uiserver.Server
	done chan struct{}
}

// uiConfig is the Web UI's configuration. Start Workflow stays enabled: the billing team starts
// subscriptions from the UI. Nothing is fetched from the Internet (no news feed), and the CSRF
// cookie works over plain http on loopback.
func uiConfig(uiAddr, frontendAddr string, o Options) (*uiconfig.Config, error) {
	host, portStr, err := net.SplitHostPort(uiAddr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		host = "[" + host + "]" // ui-server joins host and port with a plain colon
	}
	return &uiconfig.Config{
		TemporalGRPCAddress:   frontendAddr,
		Host:                  host,
		Port:                  port,
		EnableUI:              true,
		DefaultNamespace:      o.Namespace,
		Codec:                 uiconfig.Codec{Endpoint: o.CodecEndpoint},
		CORS:                  uiconfig.CORS{CookieInsecure: true},
		HideLogs:              true,
		DisableNewsFetch:      true,
		StartWorkflowDisabled: false,
	}, nil
}

// startUI starts the Web UI and waits until it answers its health check. The port was checked
// free just before; ui-server cannot take a listener, so a port stolen in between would end the
// process from inside ui-server (it exits on listen errors), which is why the check runs first.
func startUI(ctx context.Context, uiAddr, frontendAddr string, o Options) (_ *uiServer, err error) {
	cfg, err := uiConfig(uiAddr, frontendAddr, o)
	if err != nil {
		return nil, fmt.Errorf("localtemporal: Web UI address %q: %w", uiAddr, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("localtemporal: Web UI config: %w", err)
	}
	if err := checkFree(uiAddr, "Temporal Web UI", "Options.UIAddr"); err != nil {
		return nil, err
	}
	defer func() {
		// ui-server panics on configuration errors; report them like any other error.
		if r := recover(); r != nil {
			err = fmt.Errorf("localtemporal: start Web UI: %v", r)
		}
	}()
	u := &uiServer{
		srv:  uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg)),
		done: make(chan struct{}),
	}
	go func() {
		defer close(u.done)
		_ = u.srv.Start()
	}()

	url := "http://" + uiAddr + "/healthz"
	hc := nofollow.Client(2 * time.Second) // a redirect is "not ready", not someone else's 200
	err = waitFor(ctx, o.StartTimeout, "wait for the Web UI at "+url, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		u.stop()
		return nil, err
	}
	return u, nil
}

// stop closes the UI's listener and waits (briefly) for its serve loop to return.
func (u *uiServer) stop() {
	u.srv.Stop()
	select {
	case <-u.done:
	case <-time.After(5 * time.Second):
	}
}
