package localtemporal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporal"

	"github.com/paycycle/paycycle/billing"
)

// Defaults, exported so that callers (devserver, docs, tests) print the same values Start uses.
const (
	// DefaultFrontendAddr is the Temporal frontend's usual address, the one every SDK and the
	// temporal CLI try first.
	DefaultFrontendAddr = "127.0.0.1:7233"
	// DefaultUIAddr is where the temporal CLI's dev server serves its Web UI, so bookmarks work.
	DefaultUIAddr = "127.0.0.1:8233"
	// DefaultNamespace is the namespace the worker, edge and starter use by default.
	DefaultNamespace = "default"
	// DefaultRetention keeps closed workflows for three days: long enough to inspect last
	// week-end's demo runs on Monday, short enough that the SQLite file stays small.
	DefaultRetention = 72 * time.Hour
	// DefaultStartTimeout bounds Start's waits (frontend ready, namespace, search attributes, UI).
	DefaultStartTimeout = 60 * time.Second
	// DBFileName is the SQLite file inside the data dir.
	DBFileName = "temporal.db"
	// LogFileName is the server's log file inside the data dir.
	LogFileName = "temporal.log"
)

// Options configures Start. Only DataDir is required.
type Options struct {
	// DataDir holds the SQLite database, the server log and a lock file. It is created if
	// missing. Starting again on the same DataDir keeps namespaces, search attributes and
	// workflows.
	DataDir string
	// FrontendAddr is the frontend's gRPC host:port (default DefaultFrontendAddr). The host must
	// be a loopback address.
	FrontendAddr string
	// UIAddr is the Web UI's host:port (default DefaultUIAddr), loopback only.
	UIAddr string
	// DisableUI skips the Web UI, for tests that only need the frontend.
	DisableUI bool
	// Namespace is created if missing (default DefaultNamespace) and is the UI's default.
	Namespace string
	// Retention is how long closed workflows are kept (default DefaultRetention, at least 24h).
	// An existing namespace's retention is updated to it.
	Retention time.Duration
	// SearchAttributes are registered on Namespace if missing. Nil means
	// billing.SearchAttributes; an empty non-nil slice registers none.
	SearchAttributes []billing.SearchAttributeDef
	// CodecEndpoint is the payload codec server's URL the Web UI calls from the browser to
	// decode (and encode) payloads, e.g. "http://127.0.0.1:8234". Empty means none.
	CodecEndpoint string
	// DynamicConfig overrides server dynamic config by key, on top of DefaultDynamicConfig,
	// e.g. {"frontend.namespaceRPS.visibility": 50}. Values use the setting's Go type (bool,
	// int, float64, string, time.Duration).
	DynamicConfig map[string]any
	// LogLevel is the server log level: debug, info (default), warn or error.
	LogLevel string
	// LogFile receives the server's JSON log lines (default <DataDir>/temporal.log, appended).
	// "-" means standard error.
	LogFile string
	// StartTimeout bounds each readiness wait in Start (default DefaultStartTimeout).
	StartTimeout time.Duration
}

// DefaultDynamicConfig returns the dynamic config Start applies before Options.DynamicConfig.
// Each value is there because local use needs it:
//
//   - system.forceSearchAttributesCacheRefreshOnRead=true: a search attribute registered a
//     moment ago is usable at once (upstream's development setting; not for production).
//   - frontend.namespaceRPS.visibility=100: the Web UI lists and counts workflows on every page;
//     the default of 10 per second throttles it with a handful of tabs open.
func DefaultDynamicConfig() map[string]any {
	return map[string]any{
		"system.forceSearchAttributesCacheRefreshOnRead": true,
		"frontend.namespaceRPS.visibility":               100,
	}
}

// PortInUseError reports that an address Start must listen on is taken, typically by another
// dev server. Callers that expose the address under another name (a flag) can match it with
// errors.As and say which flag changes it.
type PortInUseError struct {
	// Service is what wanted the address: "Temporal frontend" or "Temporal Web UI".
	Service string
	// Addr is the host:port that is taken.
	Addr string
	// Option names the Options field that changes the address.
	Option string
	// Err is the listen error.
	Err error
}

// Error names the port, what needed it and the option that changes it, so the reader can act.
func (e *PortInUseError) Error() string {
	_, port, _ := net.SplitHostPort(e.Addr)
	return fmt.Sprintf("localtemporal: port %s is already in use, so the %s cannot listen on %s "+
		"(is another dev server or temporal server running?); stop it or choose another port with %s",
		port, e.Service, e.Addr, e.Option)
}

// Unwrap returns the listen error.
func (e *PortInUseError) Unwrap() error { return e.Err }

// Server is a running local Temporal server and Web UI. Stop it with Stop.
type Server struct {
	opts         Options
	frontendAddr string
	uiAddr       string
	dbFile       string
	logFile      string

	server temporal.Server
	ui     *uiServer
	admin  client.Client
	lock   *dirLock
	logs   *logSink

	stopOnce sync.Once
	stopErr  error
}

// Start starts the server and, unless disabled, the Web UI, and returns when both answer and
// the namespace and search attributes are in place. ctx bounds the start-up only; stop the
// server with Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, frontendAddr: opts.FrontendAddr, uiAddr: opts.UIAddr}
	if opts.DisableUI {
		s.uiAddr = ""
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("localtemporal: create data dir: %w", err)
	}
	s.dbFile = filepath.Join(opts.DataDir, DBFileName)

	lock, err := lockDir(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()

	if err := checkFree(s.frontendAddr, "Temporal frontend", "Options.FrontendAddr"); err != nil {
		return nil, err
	}
	if s.uiAddr != "" {
		if err := checkFree(s.uiAddr, "Temporal Web UI", "Options.UIAddr"); err != nil {
			return nil, err
		}
	}

	s.logs, err = openLogSink(opts)
	if err != nil {
		return nil, err
	}
	s.logFile = s.logs.path

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	srv, err := s.newTemporalServer()
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		// A failed Start may leave some services running; Stop releases them.
		_ = srv.Stop()
		return nil, s.startError(err)
	}
	s.server = srv

	if err := s.prepareNamespace(ctx); err != nil {
		return nil, err
	}
	if !opts.DisableUI {
		ui, err := startUI(ctx, s.uiAddr, s.frontendAddr, opts)
		if err != nil {
			return nil, err
		}
		s.ui = ui
	}
	ok = true
	return s, nil
}

// startError turns a server start failure into an actionable message: a port grabbed between
// the check and the start is the one failure a person can fix.
func (s *Server) startError(err error) error {
	if strings.Contains(err.Error(), "address already in use") {
		return &PortInUseError{Service: "Temporal server", Addr: s.frontendAddr, Option: "Options.FrontendAddr", Err: err}
	}
	return fmt.Errorf("localtemporal: start Temporal server (log: %s): %w", s.logFile, err)
}

// Stop stops the Web UI, then the server, and releases the data dir. It is safe to call more
// than once and from several goroutines; later calls return the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.ui != nil {
			s.ui.stop()
		}
		if s.admin != nil {
			s.admin.Close()
		}
		if s.server != nil {
			if err := s.server.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("localtemporal: stop server: %w", err))
			}
		}
		if s.logs != nil {
			if err := s.logs.close(); err != nil {
				errs = append(errs, err)
			}
		}
		if s.lock != nil {
			if err := s.lock.release(); err != nil {
				errs = append(errs, err)
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// FrontendAddr is the frontend's host:port, for client.Options.HostPort and TEMPORAL_ADDRESS.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// UIURL is the Web UI's base URL (e.g. "http://127.0.0.1:8233"), or "" when the UI is disabled.
func (s *Server) UIURL() string {
	if s.uiAddr == "" {
		return ""
	}
	return "http://" + s.uiAddr
}

// Namespace is the namespace Start prepared, for client.Options.Namespace.
func (s *Server) Namespace() string { return s.opts.Namespace }

// DataDir is the absolute data directory.
func (s *Server) DataDir() string { return s.opts.DataDir }

// DBFile is the SQLite database file, for people who want to look inside (sqlite3 works while
// the server runs, thanks to WAL).
func (s *Server) DBFile() string { return s.dbFile }

// LogFile is where the server logs go ("-" for standard error), to point people at it when
// something fails.
func (s *Server) LogFile() string { return s.logFile }

// Dial returns an SDK client for this server: opts.HostPort and an empty opts.Namespace are
// filled in. Tests and tools use it so they never hard-code the address.
func (s *Server) Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	opts.HostPort = s.frontendAddr
	if opts.Namespace == "" {
		opts.Namespace = s.opts.Namespace
	}
	return client.DialContext(ctx, opts)
}

func (o *Options) normalize() error {
	if o.DataDir == "" {
		return errors.New("localtemporal: Options.DataDir is required (where the SQLite database lives)")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("localtemporal: data dir: %w", err)
	}
	if strings.ContainsAny(abs, "?#") {
		return fmt.Errorf("localtemporal: data dir %q must not contain '?' or '#' (SQLite URI)", abs)
	}
	o.DataDir = abs
	if o.FrontendAddr == "" {
		o.FrontendAddr = DefaultFrontendAddr
	}
	if o.FrontendAddr, err = loopbackAddr(o.FrontendAddr, "Options.FrontendAddr"); err != nil {
		return err
	}
	if o.UIAddr == "" {
		o.UIAddr = DefaultUIAddr
	}
	if !o.DisableUI {
		if o.UIAddr, err = loopbackAddr(o.UIAddr, "Options.UIAddr"); err != nil {
			return err
		}
		if o.UIAddr == o.FrontendAddr {
			return fmt.Errorf("localtemporal: the frontend and the Web UI cannot share %s", o.UIAddr)
		}
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < 24*time.Hour {
		return fmt.Errorf("localtemporal: Options.Retention %s is below Temporal's minimum of 24h", o.Retention)
	}
	if o.SearchAttributes == nil {
		o.SearchAttributes = billing.SearchAttributes
	}
	if _, err := searchAttributeTypes(o.SearchAttributes); err != nil {
		return err
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	return nil
}

// loopbackAddr checks that addr is host:port on a loopback address and returns it with
// "localhost" spelled 127.0.0.1, so nothing this package starts is reachable from the network.
func loopbackAddr(addr, option string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("localtemporal: %s %q: want host:port, e.g. 127.0.0.1:7233", option, addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("localtemporal: %s %q: port must be 1..65535", option, addr)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("localtemporal: %s %q: only loopback addresses (127.0.0.1, ::1) are allowed; this server has no authentication", option, addr)
	}
	return net.JoinHostPort(host, port), nil
}

// checkFree fails with a *PortInUseError when addr cannot be listened on.
func checkFree(addr, service, option string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return &PortInUseError{Service: service, Addr: addr, Option: option, Err: err}
	}
	return ln.Close()
}

// freeLoopbackPort asks the kernel for an unused port on host.
func freeLoopbackPort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitFor calls try until it succeeds, ctx ends or timeout passes, and returns the last error.
func waitFor(ctx context.Context, timeout time.Duration, what string, try func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 50 * time.Millisecond
	for {
		attemptCtx, attemptCancel := context.WithTimeout(ctx, 5*time.Second)
		err := try(attemptCtx)
		attemptCancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localtemporal: %s: gave up after %s: %w", what, timeout, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
