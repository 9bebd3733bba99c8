// Command devserver runs the whole paycycle product on one machine, for the README's first
// command (make run): an embedded Temporal server with its Web UI (SQLite in the data dir), the
// payload codec endpoint the UI decrypts through, and the PortOne emulator, HTTP edge and worker
// as child processes built by make build. It prints where everything is and a ready-to-paste
// subscription, and runs until Ctrl-C. Running it again keeps every workflow.
//
// Everything listens on 127.0.0.1 only. See devserver/README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paycycle/paycycle/internal/signedlink"
	"github.com/paycycle/paycycle/localtemporal"
)

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	code := 0
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		code = 2
	case errors.Is(err, errInterrupted):
		code = 130
	default:
		fmt.Fprintln(os.Stderr, "devserver:", err)
		code = 1
	}
	os.Exit(code)
}

var (
	// errUsage is a flag error; the flag package has already printed it with the usage.
	errUsage = errors.New("usage")
	// errInterrupted is Ctrl-C before the stack was ready.
	errInterrupted = errors.New("interrupted during start-up")
)

// Child process names: the binaries make build puts in the bin dir.
const (
	nameEmulator = "emulator"
	nameEdge     = "edgeserver"
	nameWorker   = "worker"
	nameConsole  = "consoleserver"
)

var childNames = []string{nameEmulator, nameEdge, nameWorker, nameConsole}

// demoCustomers are seeded in the emulator so the banner's subscriptions charge at once.
const demoCustomers = "demo-cust-1,demo-cust-2,demo-cust-3"

// The local PortOne V2 store (issue 22): the emulator serves it with these credentials and the
// edge and worker use them, so that V2 subscriptions run in make run beside V1 ones. Demo values
// in PortOne's formats, never a real store's. demoV2Keys are V2 billing keys the emulator issues
// at start (issueId seed-<key>), for V2 subscriptions started without a registration.
const (
	demoV2Secret        = "paycycle_demo_v2_api_secret"
	demoV2StoreID       = "store-00000000-0000-0000-0000-00000000d3e0"
	demoV2ChannelKey    = "channel-key-00000000-0000-0000-0000-00000000d3e0"
	demoV2WebhookSecret = "whsec_cGF5Y3ljbGUtZGVtby12Mi13ZWJob29rLXNlY3JldA=="
	demoV2Keys          = "demo-v2-key-1,demo-v2-key-2"
)

// config is the command line.
type config struct {
	dataDir, binDir string
	reset, yes      bool

	temporalPort, uiPort, codecPort, emulatorPort, emulatorV2Port, edgePort, workerHealthPort, consolePort int

	noUI          bool
	skip          []string
	verbose       bool
	readyTimeout  time.Duration
	stopTimeout   time.Duration
	logLevel      string
	retention     time.Duration
	seedCustomers string
}

// portFlag pairs a port with the flag that sets it and what uses it, for checks and messages.
type portFlag struct {
	port int
	flag string
	what string
}

func (c *config) ports() []portFlag {
	ps := []portFlag{
		{c.temporalPort, "-temporal-port", "Temporal frontend"},
		{c.codecPort, "-codec-port", "codec endpoint"},
	}
	if !c.noUI {
		ps = append(ps, portFlag{c.uiPort, "-ui-port", "Temporal Web UI"})
	}
	if !c.skipped(nameEmulator) {
		ps = append(ps, portFlag{c.emulatorPort, "-emulator-port", "PortOne emulator"},
			portFlag{c.emulatorV2Port, "-emulator-v2-port", "PortOne emulator (V2)"})
	}
	if !c.skipped(nameEdge) {
		ps = append(ps, portFlag{c.edgePort, "-edge-port", "HTTP edge"})
	}
	if !c.skipped(nameWorker) {
		ps = append(ps, portFlag{c.workerHealthPort, "-worker-health-port", "worker health endpoint"})
	}
	if !c.skipped(nameConsole) {
		ps = append(ps, portFlag{c.consolePort, "-console-port", "staff console"})
	}
	return ps
}

func (c *config) skipped(name string) bool { return slices.Contains(c.skip, name) }

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: devserver [flags]\n\n"+
			"Runs Temporal (with its Web UI), the codec endpoint, the PortOne emulator, the HTTP edge\n"+
			"and the worker on 127.0.0.1 until Ctrl-C. Data stays in -data-dir between runs.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.dataDir, "data-dir", ".data", "`dir`ectory for the Temporal database, the codec key and the logs")
	fs.StringVar(&c.binDir, "bin-dir", "bin", "`dir`ectory with the emulator, edgeserver and worker binaries (make build)")
	fs.BoolVar(&c.reset, "reset", false, "delete the data dir first (all workflows, the codec key, the logs); needs -yes unless run in a terminal")
	fs.BoolVar(&c.yes, "yes", false, "confirm -reset without asking")
	fs.IntVar(&c.temporalPort, "temporal-port", 7233, "Temporal frontend gRPC `port`")
	fs.IntVar(&c.uiPort, "ui-port", 8233, "Temporal Web UI `port`")
	fs.IntVar(&c.codecPort, "codec-port", 8234, "payload codec endpoint `port` (used by the Web UI and the temporal CLI)")
	fs.IntVar(&c.emulatorPort, "emulator-port", 7780, "PortOne emulator `port`")
	fs.IntVar(&c.emulatorV2Port, "emulator-v2-port", 7781, "PortOne emulator's V2 API `port` (V2 is served at the root of its own address)")
	fs.IntVar(&c.edgePort, "edge-port", 7790, "HTTP edge `port` (webhooks, registration pages)")
	fs.IntVar(&c.workerHealthPort, "worker-health-port", 7791, "worker health endpoint `port`")
	fs.IntVar(&c.consolePort, "console-port", 7792, "staff console `port` (its /events receives the worker's merchant event stream)")
	fs.BoolVar(&c.noUI, "no-ui", false, "do not serve the Temporal Web UI")
	skip := fs.String("skip", "", "comma-separated `children` not to start (emulator, edgeserver, worker, consoleserver), e.g. to run the worker in a debugger")
	fs.BoolVar(&c.verbose, "verbose", false, "also print the children's output, prefixed with their names")
	fs.DurationVar(&c.readyTimeout, "ready-timeout", 60*time.Second, "how long each child may take to become ready")
	fs.DurationVar(&c.stopTimeout, "stop-timeout", 10*time.Second, "how long a child may take to stop after SIGTERM before it is killed")
	fs.StringVar(&c.logLevel, "temporal-log-level", "info", "Temporal server log `level` (debug, info, warn, error); the log goes to <data-dir>/temporal.log")
	fs.DurationVar(&c.retention, "retention", localtemporal.DefaultRetention, "how long Temporal keeps closed workflows (at least 24h)")
	fs.StringVar(&c.seedCustomers, "seed-customers", demoCustomers, "customer_uids the emulator registers at start (comma-separated)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	fail := func(format string, a ...any) (*config, error) {
		fmt.Fprintf(stderr, "devserver: "+format+"\n", a...)
		fs.Usage()
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, s := range strings.Split(*skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(childNames, s) {
			return fail("-skip %q: want some of %s", s, strings.Join(childNames, ", "))
		}
		c.skip = append(c.skip, s)
	}
	seen := map[int]string{}
	for _, p := range c.ports() {
		if p.port < 1 || p.port > 65535 {
			return fail("%s %d: want a port 1..65535", p.flag, p.port)
		}
		if other, dup := seen[p.port]; dup {
			return fail("%s and %s are both %d; each needs its own port", other, p.flag, p.port)
		}
		seen[p.port] = p.flag
	}
	if c.readyTimeout <= 0 || c.stopTimeout <= 0 {
		return fail("-ready-timeout and -stop-timeout must be positive")
	}
	if c.dataDir == "" || c.binDir == "" {
		return fail("-data-dir and -bin-dir must not be empty")
	}
	return c, nil
}

// checkPorts fails if any port is taken, naming the port, what needs it and the flag to change.
func (c *config) checkPorts() error {
	for _, p := range c.ports() {
		ln, err := net.Listen("tcp", addr(p.port))
		if err != nil {
			return fmt.Errorf("port %d (%s) is already in use on 127.0.0.1; is another devserver running? "+
				"Stop it, or choose another port with %s", p.port, p.what, p.flag)
		}
		_ = ln.Close()
	}
	return nil
}

// binaryPath is where make build puts a child's binary.
func (c *config) binaryPath(name string) string {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(c.binDir, name)
}

// checkBinaries fails if a child's binary is missing, before anything is started.
func (c *config) checkBinaries() error {
	var missing []string
	for _, name := range childNames {
		if c.skipped(name) {
			continue
		}
		p := c.binaryPath(name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found or not executable: run make build first (or point -bin-dir at the binaries)",
			strings.Join(missing, ", "))
	}
	return nil
}

// stack is what run started, in start order, so shutdown can stop it in reverse.
type stack struct {
	cfg      *config
	out      *syncWriter
	temporal *localtemporal.Server
	codec    *codecServer
	mu       sync.Mutex
	children []*child
	exits    chan *child
	timings  []timing
	// linkSecret is the edge's PAYCYCLE_LINK_SECRET (link.key in the data dir).
	linkSecret string
	// webhookSecret signs the worker's merchant events and verifies them at the console's
	// /events (webhook.key in the data dir); consoleStaff is the console's demo login.
	webhookSecret string
	consoleStaff  string
}

type timing struct {
	what string
	took time.Duration
}

// syncWriter serialises progress lines written from parallel start-up goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, a...)
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *stack) ready(what string, took time.Duration) {
	s.mu.Lock()
	s.timings = append(s.timings, timing{what, took})
	s.mu.Unlock()
	s.out.printf("  ok  %-22s %6.2fs\n", what, took.Seconds())
}

// shutdown stops the children (in parallel: SIGTERM, then SIGKILL after -stop-timeout), then the
// codec endpoint, then the Web UI and Temporal, so the worker can finish its tasks while the
// server is still up.
func (s *stack) shutdown() {
	s.mu.Lock()
	children := slices.Clone(s.children)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop(s.cfg.stopTimeout)
		}()
	}
	wg.Wait()
	if s.codec != nil {
		s.codec.stop()
	}
	if s.temporal != nil {
		_ = s.temporal.Stop()
	}
}

// startChild starts one child and waits until it is ready.
func (s *stack) startChild(ctx context.Context, c *child, echo *lineEcho) error {
	begin := time.Now()
	if err := c.start(echo, s.exits); err != nil {
		return err
	}
	s.mu.Lock()
	s.children = append(s.children, c)
	s.mu.Unlock()
	if err := c.waitReady(ctx, s.cfg.readyTimeout); err != nil {
		return err
	}
	s.ready(c.name, time.Since(begin))
	return nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	begin := time.Now()

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	go func() {
		// After the first Ctrl-C, a second one ends devserver at once (the kernel then sends the
		// children SIGTERM on Linux).
		<-ctx.Done()
		stopSignals()
	}()

	if err := cfg.checkBinaries(); err != nil {
		return err
	}
	if err := cfg.checkPorts(); err != nil {
		return err
	}
	if cfg.reset {
		if err := confirmReset(cfg, stdin, stdout); err != nil {
			return err
		}
		if err := resetDataDir(cfg.dataDir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Deleted %s.\n", cfg.dataDir)
	}
	logDir := filepath.Join(cfg.dataDir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	keys, created, err := loadOrCreateCodecKey(filepath.Join(cfg.dataDir, "codec.key"))
	if err != nil {
		return err
	}

	linkSecret, _, err := loadOrCreateLinkSecret(filepath.Join(cfg.dataDir, linkKeyFile))
	if err != nil {
		return err
	}
	webhookSecret, err := loadOrCreateWebhookSecret(filepath.Join(cfg.dataDir, webhookKeyFile))
	if err != nil {
		return err
	}
	consoleStaff, err := demoStaff()
	if err != nil {
		return err
	}

	out := &syncWriter{w: stdout}
	s := &stack{cfg: cfg, out: out, exits: make(chan *child, len(childNames)), linkSecret: linkSecret,
		webhookSecret: webhookSecret, consoleStaff: consoleStaff}
	var echo *lineEcho
	if cfg.verbose {
		echo = &lineEcho{out: out}
	}
	out.printf("Starting the paycycle dev stack (data in %s)\n", cfg.dataDir)
	if created {
		out.printf("  new codec key in %s\n", filepath.Join(cfg.dataDir, "codec.key"))
	}

	err = s.start(ctx, keys, echo)
	if err == nil {
		// A child that died while another was starting.
		select {
		case c := <-s.exits:
			err = unexpectedExit(c)
		default:
		}
	}
	if err != nil {
		s.shutdown()
		if ctx.Err() != nil {
			out.printf("Interrupted; everything started was stopped.\n")
			return errInterrupted
		}
		return err
	}

	printBanner(out, cfg, s, time.Since(begin))

	select {
	case <-ctx.Done():
		out.printf("\nStopping (press Ctrl-C again to force)...\n")
		stopBegin := time.Now()
		s.shutdown()
		out.printf("Stopped in %.1fs. Data kept in %s; run again to continue, or add -reset -yes to start over.\n",
			time.Since(stopBegin).Seconds(), cfg.dataDir)
		return nil
	case c := <-s.exits:
		s.shutdown()
		return unexpectedExit(c)
	}
}

func unexpectedExit(c *child) error {
	return fmt.Errorf("%s exited unexpectedly (%s), so devserver stopped everything; see its log %s%s",
		c.name, c.exitDescription(), c.logPath, c.logTail())
}

// start brings the stack up: the codec endpoint; Temporal and the emulator in parallel (neither
// needs the other); then the edge beside the console and then the worker (the worker sends the
// merchant event stream to the console's /events).
func (s *stack) start(ctx context.Context, keys string, echo *lineEcho) error {
	cfg := s.cfg
	uiOrigins := []string{"http://" + addr(cfg.uiPort), "http://localhost:" + strconv.Itoa(cfg.uiPort)}
	cs, err := startCodecServer(addr(cfg.codecPort), keys, uiOrigins)
	if err != nil {
		return fmt.Errorf("codec endpoint on %s: %w", addr(cfg.codecPort), err)
	}
	s.codec = cs

	var wg sync.WaitGroup
	var temporalErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		begin := time.Now()
		srv, err := localtemporal.Start(ctx, localtemporal.Options{
			DataDir:       cfg.dataDir,
			FrontendAddr:  addr(cfg.temporalPort),
			UIAddr:        addr(cfg.uiPort),
			DisableUI:     cfg.noUI,
			Retention:     cfg.retention,
			CodecEndpoint: "http://" + addr(cfg.codecPort),
			LogLevel:      cfg.logLevel,
			StartTimeout:  cfg.readyTimeout,
		})
		if err != nil {
			var pe *localtemporal.PortInUseError
			if errors.As(err, &pe) {
				flagName := "-temporal-port"
				if pe.Option == "Options.UIAddr" {
					flagName = "-ui-port"
				}
				err = fmt.Errorf("%s is already in use (%s); choose another port with %s", pe.Addr, pe.Service, flagName)
			}
			temporalErr = err
			return
		}
		s.mu.Lock()
		s.temporal = srv
		s.mu.Unlock()
		what := "Temporal + Web UI"
		if cfg.noUI {
			what = "Temporal"
		}
		s.ready(what, time.Since(begin))
	}()
	var emuErr error
	if !cfg.skipped(nameEmulator) {
		emuErr = s.startChild(ctx, s.emulator(), echo)
	}
	wg.Wait()
	if err := errors.Join(temporalErr, emuErr); err != nil {
		return err
	}

	var edgeErr, workerErr, consoleErr error
	if !cfg.skipped(nameEdge) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			edgeErr = s.startChild(ctx, s.edge(keys), echo)
		}()
	}
	if !cfg.skipped(nameConsole) {
		// Before the worker's first event, so that the stream's first delivery finds it.
		consoleErr = s.startChild(ctx, s.console(keys), echo)
	}
	if !cfg.skipped(nameWorker) {
		workerErr = s.startChild(ctx, s.worker(keys), echo)
	}
	wg.Wait()
	return errors.Join(edgeErr, consoleErr, workerErr)
}

func (s *stack) logPath(name string) string {
	return filepath.Join(s.cfg.dataDir, "logs", name+".log")
}

func (s *stack) emulator() *child {
	cfg := s.cfg
	return &child{
		name: nameEmulator,
		path: cfg.binaryPath(nameEmulator),
		args: []string{
			"-addr", addr(cfg.emulatorPort),
			"-seed-customers", cfg.seedCustomers,
			"-notice-url", "http://" + addr(cfg.edgePort) + "/portone/webhook",
			"-v2-addr", addr(cfg.emulatorV2Port),
			"-v2-secret", demoV2Secret, "-v2-store-id", demoV2StoreID, "-v2-channel-key", demoV2ChannelKey,
			"-v2-webhook-url", "http://" + addr(cfg.edgePort) + "/portone/v2/webhook",
			"-v2-webhook-secrets", demoV2WebhookSecret,
			"-v2-seed-billing-keys", demoV2Keys,
			// Billing keys registered through the demo page, and the ledger, survive a restart.
			"-state-file", filepath.Join(cfg.dataDir, "emulator.json"),
		},
		healthURL: "http://" + addr(cfg.emulatorPort) + "/__emulator/health",
		logPath:   s.logPath(nameEmulator),
	}
}

// edgeEnv is the edge's configuration (its contract with devserver). keys and linkSecret may
// be shell expressions when printed for a person.
func (s *stack) edgeEnv(keys, linkSecret string) []string {
	cfg := s.cfg
	return slices.Concat([]string{
		"BILLING_EDGE_ADDR=" + addr(cfg.edgePort),
		"BILLING_EDGE_PUBLIC_URL=http://" + addr(cfg.edgePort),
		"PORTONE_BASE_URL=http://" + addr(cfg.emulatorPort),
		"PORTONE_API_KEY=imp_test_key",
		"PORTONE_API_SECRET=imp_test_secret",
		"PORTONE_IMP_SCRIPT_URL=http://" + addr(cfg.emulatorPort) + "/__emulator/iamport.js",
		"PORTONE_V2_SDK_URL=http://" + addr(cfg.emulatorPort) + "/__emulator/v2/browser-sdk.js",
	}, s.v2Env(), []string{
		"BILLING_DEMO_MODE=true",
		"TEMPORAL_ADDRESS=" + addr(cfg.temporalPort),
		"TEMPORAL_NAMESPACE=" + localtemporal.DefaultNamespace,
		"PAYCYCLE_CODEC_KEYS=" + keys,
		signedlink.EnvSecret + "=" + linkSecret,
	})
}

// v2Env is the local PortOne V2 store's settings, the same for the edge and the worker.
func (s *stack) v2Env() []string {
	return []string{
		"PORTONE_V2_BASE_URL=http://" + addr(s.cfg.emulatorV2Port),
		"PORTONE_V2_API_SECRET=" + demoV2Secret,
		"PORTONE_V2_STORE_ID=" + demoV2StoreID,
		"PORTONE_V2_CHANNEL_KEY=" + demoV2ChannelKey,
		"PORTONE_V2_WEBHOOK_SECRETS=" + demoV2WebhookSecret,
	}
}

// workerEnv is the worker's configuration (its contract with devserver).
func (s *stack) workerEnv(keys, webhookSecret string) []string {
	cfg := s.cfg
	return append([]string{
		"TEMPORAL_ADDRESS=" + addr(cfg.temporalPort),
		"TEMPORAL_NAMESPACE=" + localtemporal.DefaultNamespace,
		"PORTONE_BASE_URL=http://" + addr(cfg.emulatorPort),
		"PORTONE_API_KEY=imp_test_key",
		"PORTONE_API_SECRET=imp_test_secret",
		"BILLING_DEMO_MODE=true",
		"BILLING_NOTICE_URL=http://" + addr(cfg.edgePort) + "/portone/webhook",
		"BILLING_V2_NOTICE_URL=http://" + addr(cfg.edgePort) + "/portone/v2/webhook",
		"BILLING_WORKER_HEALTH_ADDR=" + addr(cfg.workerHealthPort),
		"PAYCYCLE_CODEC_KEYS=" + keys,
		// The merchant event stream goes to the console's read model, so that make run has an
		// event sink to watch and the console has numbers.
		"BILLING_WEBHOOK_URLS=http://" + addr(cfg.consolePort) + "/events",
		envWebhookSecrets + "=" + webhookSecret,
		// The console's read model, which the nightly reconciliation compares with every
		// workflow's state (its projection check).
		"PAYCYCLE_READMODEL_DSN=sqlite:" + filepath.Join(cfg.dataDir, readModelFile),
	}, s.v2Env()...)
}

// consoleEnv is the console's configuration (its contract with devserver). keys, webhookSecret
// and staff may be shell expressions when printed for a person.
func (s *stack) consoleEnv(keys, webhookSecret, staff string) []string {
	cfg := s.cfg
	return []string{
		"PAYCYCLE_CONSOLE_ADDR=" + addr(cfg.consolePort),
		"PAYCYCLE_CONSOLE_PUBLIC_URL=http://" + addr(cfg.consolePort),
		"PAYCYCLE_READMODEL_DSN=sqlite:" + filepath.Join(cfg.dataDir, readModelFile),
		"PAYCYCLE_CONSOLE_STAFF=" + staff,
		envWebhookSecrets + "=" + webhookSecret,
		"TEMPORAL_ADDRESS=" + addr(cfg.temporalPort),
		"TEMPORAL_NAMESPACE=" + localtemporal.DefaultNamespace,
		"PAYCYCLE_CODEC_KEYS=" + keys,
	}
}

func (s *stack) console(keys string) *child {
	return &child{
		name:      nameConsole,
		path:      s.cfg.binaryPath(nameConsole),
		env:       s.consoleEnv(keys, s.webhookSecret, s.consoleStaff),
		healthURL: "http://" + addr(s.cfg.consolePort) + "/healthz",
		logPath:   s.logPath(nameConsole),
	}
}

func (s *stack) edge(keys string) *child {
	return &child{
		name:      nameEdge,
		path:      s.cfg.binaryPath(nameEdge),
		env:       s.edgeEnv(keys, s.linkSecret),
		healthURL: "http://" + addr(s.cfg.edgePort) + "/healthz",
		logPath:   s.logPath(nameEdge),
	}
}

func (s *stack) worker(keys string) *child {
	return &child{
		name:      nameWorker,
		path:      s.cfg.binaryPath(nameWorker),
		env:       s.workerEnv(keys, s.webhookSecret),
		healthURL: "http://" + addr(s.cfg.workerHealthPort) + "/healthz",
		logPath:   s.logPath(nameWorker),
	}
}

// confirmReset asks before -reset deletes data, unless -yes was given. Without a person to answer
// (standard input is not a terminal, or gives no answer), -yes is required.
func confirmReset(cfg *config, stdin io.Reader, stdout io.Writer) error {
	if cfg.yes {
		return nil
	}
	needYes := errors.New("-reset deletes " + cfg.dataDir + " (all workflows, the codec key, the logs): add -yes to confirm")
	f, ok := stdin.(*os.File)
	if !ok {
		return needYes
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return needYes
	}
	fmt.Fprintf(stdout, "Delete %s (all workflows, the codec key, the logs)? [y/N] ", cfg.dataDir)
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(stdout)
		return needYes // /dev/null is a character device too, but nobody answers
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errors.New("reset not confirmed; nothing was deleted")
	}
	return nil
}

// dataDirEntries are the names devserver and localtemporal create in the data dir. -reset
// deletes a data dir only if it holds nothing else, so a mistyped -data-dir cannot wipe a
// directory devserver does not own.
var dataDirEntries = []string{
	localtemporal.DBFileName, localtemporal.DBFileName + "-wal", localtemporal.DBFileName + "-shm",
	localtemporal.DBFileName + "-journal", localtemporal.LogFileName, localtemporal.LockFileName,
	"codec.key", "logs", "emulator.json", linkKeyFile, webhookKeyFile,
	readModelFile, readModelFile + "-wal", readModelFile + "-shm", readModelFile + "-journal",
}

func resetDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	var foreign []string
	for _, e := range entries {
		if !slices.Contains(dataDirEntries, e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("reset: refusing to delete %s: it holds %s, which devserver did not create; delete it yourself if you mean it",
			dir, strings.Join(foreign, ", "))
	}
	if dataDirInUse(filepath.Join(dir, localtemporal.LockFileName)) {
		return fmt.Errorf("reset: %s is in use by a running devserver; stop it first", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}
